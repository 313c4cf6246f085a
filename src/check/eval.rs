//! Evaluating a check against a run: every outcome says what was expected and what was found,
//! and when a stage, test, tier or flag is missing, lists the names that do exist, closest first.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::{Check, CiRun, Exit, Expect, Stream, TestExpectation};
use crate::results::{RunResults, TierStatus};
use crate::suggest::shown;

/// The result of evaluating one check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckOutcome {
    /// The check as written, e.g. `tier("install").is(Pass)`.
    pub check: String,
    /// Whether it held.
    pub passed: bool,
    /// What the check requires.
    pub expected: String,
    /// What the run showed.
    pub found: String,
}

impl Check {
    /// Evaluates the check against a run.
    pub fn evaluate(&self, run: &CiRun<'_>) -> CheckOutcome {
        let (expected, verdict) = match self {
            Check::ExitCode(code) => (
                format!("exit code {code}"),
                judge(run.exit == super::Exit::Code(*code), run.exit.to_string()),
            ),
            Check::Tier { tier, status } => (
                format!("tier {tier:?} is {status}"),
                with_results(run, |results| tier_is(results, tier, *status)),
            ),
            Check::NoTierFailed => (
                "no tier has status fail".to_owned(),
                with_results(run, judge_no_tier_failed),
            ),
            Check::Flag { flag, value } => (
                format!("flag {flag:?} is {value}"),
                with_results(run, |results| flag_is(results, flag, *value)),
            ),
            Check::StageTest {
                stage,
                test,
                expect,
            } => (
                match expect {
                    TestExpectation::Present => format!("test {test:?} present in stage {stage:?}"),
                    TestExpectation::Passed => format!("test {test:?} passed in stage {stage:?}"),
                    TestExpectation::Failed => format!("test {test:?} failed in stage {stage:?}"),
                },
                with_results(run, |results| stage_test(results, stage, test, *expect)),
            ),
            Check::Output {
                stream,
                pattern,
                regex,
            } => (
                format!("a line of {} matches /{pattern}/", stream_name(*stream)),
                match regex {
                    Ok(regex) => search_output(run, *stream, regex),
                    Err(error) => Err(format!("the regex does not compile: {error}")),
                },
            ),
            Check::Custom { name, check } => (
                format!("custom check {name:?} holds"),
                match catch_unwind(AssertUnwindSafe(|| check(run))) {
                    Ok(Ok(())) => Ok("it holds".to_owned()),
                    Ok(Err(explanation)) => Err(explanation),
                    Err(panic) => Err(format!("the check panicked: {}", panic_message(&*panic))),
                },
            ),
        };
        let (passed, found) = match verdict {
            Ok(found) => (true, found),
            Err(found) => (false, found),
        };
        CheckOutcome {
            check: self.to_string(),
            passed,
            expected,
            found,
        }
    }
}

/// The implicit first check of every canary: GREEN means exit 0 and no tier failed (so a
/// run without readable results, or whose results hold no tier and no test, is never GREEN);
/// RED means a non-zero exit code (a signal is not a verdict).
pub fn verdict(expect: Expect, exit: Exit, results: Option<&RunResults>) -> CheckOutcome {
    match expect {
        Expect::Green => {
            let failed: Option<Vec<&str>> = results.map(|results| results.failed_tiers().collect());
            let empty = results.is_some_and(|results| {
                results.tiers.is_empty()
                    && results.stages.iter().all(|stage| stage.tests.is_empty())
            });
            CheckOutcome {
                check: "verdict GREEN".to_owned(),
                passed: exit.success() && !empty && failed.as_ref().is_some_and(Vec::is_empty),
                expected: "exit code 0 and no tier failed".to_owned(),
                found: match failed {
                    Some(_) if empty => format!("{exit}, but the results hold no tier and no test"),
                    Some(failed) if failed.is_empty() => format!("{exit}, no tier failed"),
                    Some(failed) => format!("{exit}, failed tiers: {}", failed.join(", ")),
                    None => format!("{exit}, no readable results"),
                },
            }
        }
        Expect::Red => CheckOutcome {
            check: "verdict RED".to_owned(),
            passed: matches!(exit, Exit::Code(code) if code != 0),
            expected: "a non-zero exit code".to_owned(),
            found: exit.to_string(),
        },
    }
}

/// `Ok(found)` when the check holds, `Err(found)` when it does not.
type Verdict = Result<String, String>;

fn judge(holds: bool, found: String) -> Verdict {
    if holds { Ok(found) } else { Err(found) }
}

fn with_results(run: &CiRun<'_>, check: impl FnOnce(&RunResults) -> Verdict) -> Verdict {
    match run.results {
        Some(results) => check(results),
        None => Err("no readable results to check".to_owned()),
    }
}

/// The names that exist, closest first, escaped and capped (see [`crate::suggest::listing`]).
fn listing<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> String {
    crate::suggest::listing(wanted, names)
}

fn tier_is(results: &RunResults, tier: &str, status: TierStatus) -> Verdict {
    match results.tier(tier) {
        Some(found) => judge(found == status, format!("tier {tier:?} is {found}")),
        None => Err(format!(
            "no tier {tier:?} in the results; tiers reported (closest first): {}",
            listing(tier, results.tiers.iter().map(|(name, _)| name.as_str()))
        )),
    }
}

fn judge_no_tier_failed(results: &RunResults) -> Verdict {
    let failed: Vec<&str> = results.failed_tiers().collect();
    if results.tiers.is_empty() {
        Ok("no tier failed: the results report no tier".to_owned())
    } else if failed.is_empty() {
        let all: Vec<String> = results
            .tiers
            .iter()
            .map(|(tier, status)| format!("{}={status}", shown(tier)))
            .collect();
        Ok(format!("no tier failed ({})", all.join(", ")))
    } else {
        let failed: Vec<_> = failed.into_iter().map(shown).collect();
        Err(format!("failed tiers: {}", failed.join(", ")))
    }
}

fn flag_is(results: &RunResults, flag: &str, value: bool) -> Verdict {
    match results.flag(flag) {
        Some(found) => judge(found == value, format!("flag {flag:?} is {found}")),
        None => Err(format!(
            "no flag {flag:?} in the results; flags reported (closest first): {}",
            listing(flag, results.flags.keys().map(String::as_str))
        )),
    }
}

fn stage_test(results: &RunResults, stage: &str, test: &str, expect: TestExpectation) -> Verdict {
    let Some(found_stage) = results.stage(stage) else {
        return Err(format!(
            "no stage {stage:?} in the results; stages reported (closest first): {}",
            listing(
                stage,
                results.stages.iter().map(|stage| stage.name.as_str())
            )
        ));
    };
    let Some(case) = found_stage.test(test) else {
        let elsewhere: Vec<_> = results
            .stages
            .iter()
            .filter(|other| other.test(test).is_some())
            .map(|other| shown(&other.name))
            .collect();
        let mut found = format!(
            "no test {test:?} in stage {stage:?}; tests there (closest first): {}",
            listing(
                test,
                found_stage.tests.iter().map(|case| case.name.as_str())
            )
        );
        if !elsewhere.is_empty() {
            found.push_str(&format!(
                "; {test:?} is in stage(s) {}",
                elsewhere.join(", ")
            ));
        }
        return Err(found);
    };
    let mut found = format!("test {test:?} in stage {stage:?} is {}", case.outcome);
    if let Some(message) = &case.message {
        found.push_str(&format!(" ({})", first_line(message)));
    }
    let holds = match expect {
        TestExpectation::Present => true,
        TestExpectation::Passed => case.outcome.is_pass(),
        TestExpectation::Failed => case.outcome.is_failure(),
    };
    judge(holds, found)
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Either => "stdout or stderr",
    }
}

fn search_output(run: &CiRun<'_>, stream: Stream, regex: &regex::Regex) -> Verdict {
    let logs: &[(&str, &Path)] = match stream {
        Stream::Stdout => &[("stdout.log", run.stdout_log)],
        Stream::Stderr => &[("stderr.log", run.stderr_log)],
        Stream::Either => &[
            ("stdout.log", run.stdout_log),
            ("stderr.log", run.stderr_log),
        ],
    };
    for (label, path) in logs {
        match find_line(path, regex) {
            Ok(Some((number, line))) => {
                return Ok(format!("{label}:{number}: {}", truncate(&line, 200)));
            }
            Ok(None) => {}
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
        }
    }
    Err(format!("no line of {} matches", stream_name(stream)))
}

/// Finds the first matching line, reading the log line by line so a huge log is never held in
/// memory whole.
fn find_line(path: &Path, regex: &regex::Regex) -> std::io::Result<Option<(usize, String)>> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(None);
        }
        number += 1;
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        if regex.is_match(line) {
            return Ok(Some((number, line.to_owned())));
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "no message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::*;
    use crate::results::{Outcome, Stage, TestCase};

    fn results() -> RunResults {
        RunResults {
            tiers: vec![
                ("install".into(), TierStatus::Pass),
                ("custom".into(), TierStatus::Fail),
            ],
            flags: [("clean_teardown".to_owned(), true)].into_iter().collect(),
            stages: vec![Stage {
                name: "custom".into(),
                tests: vec![
                    TestCase {
                        message: Some("Content-Type was octet-stream\nmore".into()),
                        ..TestCase::new("test_content_type_html_and_txt", Outcome::Fail, "fail")
                    },
                    TestCase::new("test_content_roundtrip", Outcome::Pass, "pass"),
                ],
            }],
            ..RunResults::default()
        }
    }

    fn evaluate(check: impl Into<Check>, results: Option<&RunResults>, exit: Exit) -> CheckOutcome {
        let dir = std::env::temp_dir();
        let run = CiRun {
            exit,
            results,
            stdout_log: &dir.join("coalmine-no-such-stdout.log"),
            stderr_log: &dir.join("coalmine-no-such-stderr.log"),
            artifacts: &dir,
        };
        check.into().evaluate(&run)
    }

    #[test]
    fn each_check_passes_and_fails() {
        let r = results();
        let ok = Exit::Code(0);
        assert!(evaluate(exit_code(0), Some(&r), ok).passed);
        let failed = evaluate(exit_code(0), Some(&r), Exit::Signal(9));
        assert!(!failed.passed);
        assert_eq!(failed.found, "killed by signal 9 (SIGKILL)");
        assert!(evaluate(tier("install").is(Pass), Some(&r), ok).passed);
        assert!(!evaluate(tier("custom").is(Pass), Some(&r), ok).passed);
        assert!(!evaluate(no_tier_failed(), Some(&r), ok).passed);
        assert!(evaluate(flag("clean_teardown"), Some(&r), ok).passed);
        assert!(!evaluate(flag("clean_teardown").is(false), Some(&r), ok).passed);
        let test = stage("custom").test("test_content_type_html_and_txt");
        assert!(evaluate(test.clone().failed(), Some(&r), ok).passed);
        assert!(evaluate(test.clone().present(), Some(&r), ok).passed);
        let passed = evaluate(test.passed(), Some(&r), ok);
        assert!(!passed.passed);
        assert_eq!(
            passed.found,
            "test \"test_content_type_html_and_txt\" in stage \"custom\" is fail (Content-Type was octet-stream)"
        );
    }

    #[test]
    fn missing_names_list_what_exists_closest_first() {
        let r = results();
        let outcome = evaluate(
            stage("custom").test("test_content_type").failed(),
            Some(&r),
            Exit::Code(1),
        );
        assert!(!outcome.passed);
        assert_eq!(
            outcome.found,
            "no test \"test_content_type\" in stage \"custom\"; tests there (closest first): \
             test_content_type_html_and_txt, test_content_roundtrip"
        );
        let outcome = evaluate(stage("instal").test("x").present(), Some(&r), Exit::Code(1));
        assert_eq!(
            outcome.found,
            "no stage \"instal\" in the results; stages reported (closest first): custom"
        );
        let outcome = evaluate(tier("upgrade").is(Pass), Some(&r), Exit::Code(1));
        assert!(
            outcome.found.contains("tiers reported (closest first): "),
            "{}",
            outcome.found
        );
        let outcome = evaluate(flag("no_secret_leak"), Some(&r), Exit::Code(1));
        assert!(
            outcome
                .found
                .contains("flags reported (closest first): clean_teardown")
        );
    }

    #[test]
    fn result_checks_fail_without_results() {
        for check in [no_tier_failed(), tier("install").is(Pass), flag("x").into()] {
            let outcome = evaluate(check, None, Exit::Code(0));
            assert!(!outcome.passed);
            assert_eq!(outcome.found, "no readable results to check");
        }
    }

    #[test]
    fn output_checks_read_the_logs_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let stdout = dir.path().join("stdout.log");
        let stderr = dir.path().join("stderr.log");
        std::fs::write(&stdout, "deploying\nverdict: GREEN\n").unwrap();
        std::fs::write(&stderr, "warning: slow\n").unwrap();
        let run = CiRun {
            exit: Exit::Code(0),
            results: None,
            stdout_log: &stdout,
            stderr_log: &stderr,
            artifacts: dir.path(),
        };
        let found = output_matches("^verdict: GREEN$").evaluate(&run);
        assert!(found.passed);
        assert_eq!(found.found, "stdout.log:2: verdict: GREEN");
        assert!(stderr_matches("slow").evaluate(&run).passed);
        assert!(!stderr_matches("GREEN").evaluate(&run).passed);
        assert!(!stdout_matches("RED").evaluate(&run).passed);
    }

    #[test]
    fn custom_checks_and_their_panics() {
        let holds = custom("always", |_| Ok(()));
        assert!(evaluate(holds, None, Exit::Code(0)).passed);
        let panics = custom("boom", |_| panic!("kaput"));
        let outcome = evaluate(panics, None, Exit::Code(0));
        assert!(!outcome.passed);
        assert_eq!(outcome.found, "the check panicked: kaput");
    }
}
