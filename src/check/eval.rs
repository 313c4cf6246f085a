//! Evaluating a check against a run: every outcome says what was expected and what was found,
//! and when a stage, test, tier or flag is missing, lists the names that do exist, closest first.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::select::{IdentityField, TestQualifier, by_test};
use super::{Check, CiRun, Exit, Expect, Stream, TestExpectation};
use crate::results::{RunResults, TestCase, TierStatus};
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
                qualifier,
                expect,
            } => {
                let subject = format!("test {test:?}{}", qualifier.describe());
                (
                    match expect {
                        TestExpectation::Present => format!("{subject} present in stage {stage:?}"),
                        TestExpectation::Passed => format!("{subject} passed in stage {stage:?}"),
                        TestExpectation::Failed => format!("{subject} failed in stage {stage:?}"),
                    },
                    with_results(run, |results| {
                        stage_test(
                            results,
                            &StageTest {
                                stage,
                                test,
                                qualifier,
                                expect: *expect,
                            },
                        )
                    }),
                )
            }
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

/// A stage-test check's parts, borrowed.
struct StageTest<'a> {
    stage: &'a str,
    test: &'a str,
    qualifier: &'a TestQualifier,
    expect: TestExpectation,
}

/// How many reports or tests a finding lists before "and N more".
const LISTED: usize = 10;

fn stage_test(results: &RunResults, check: &StageTest<'_>) -> Verdict {
    let StageTest {
        stage,
        test,
        qualifier,
        expect,
    } = *check;
    let Some(found_stage) = results.stage(stage) else {
        return Err(format!(
            "no stage {stage:?} in the results; stages reported (closest first): {}",
            listing(
                stage,
                results.stages.iter().map(|stage| stage.name.as_str())
            )
        ));
    };
    let named: Vec<&TestCase> = found_stage
        .tests
        .iter()
        .filter(|case| case.name == test)
        .collect();
    if named.is_empty() {
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
    }
    let subject = format!("test {test:?}{}", qualifier.describe());
    let matching: Vec<&TestCase> = named
        .iter()
        .copied()
        .filter(|case| qualifier.matches(case))
        .collect();
    if matching.is_empty() {
        return Err(format!(
            "no {subject} in stage {stage:?}; the tests named {test:?} there: {}",
            list_tests(&by_test(named))
        ));
    }
    let holds_for = |reports: &[&TestCase]| match expect {
        TestExpectation::Present => true,
        TestExpectation::Passed => reports.iter().all(|case| case.outcome.is_pass()),
        TestExpectation::Failed => reports.iter().any(|case| case.outcome.is_failure()),
    };
    let tests = by_test(matching);
    let holds = tests.iter().all(|reports| holds_for(reports));
    let found = match tests.as_slice() {
        [reports] if reports.len() == 1 => {
            format!("{subject} in stage {stage:?} is {}", outcome_of(reports[0]))
        }
        [reports] => format!(
            "{subject} in stage {stage:?} was reported {} times as the same test (a retry, or one \
             report read twice): {}",
            reports.len(),
            outcomes(reports)
        ),
        _ => {
            let mut found = format!(
                "AMBIGUOUS: {} tests named {test:?}{} in stage {stage:?}: {}",
                tests.len(),
                qualifier.describe(),
                list_tests(&tests)
            );
            if !holds {
                found.push_str(match expect {
                    TestExpectation::Passed => {
                        "; passed() needs each of them to have passed every time"
                    }
                    _ => "; failed() needs each of them to have failed",
                });
            }
            // Suggest naming one the check would hold for, when there is one.
            let mut order: Vec<usize> = (0..tests.len()).collect();
            order.sort_by_key(|index| !holds_for(&tests[*index]));
            match order.iter().find_map(|index| naming(&tests, *index)) {
                Some(naming) => {
                    let how: Vec<String> = naming
                        .pairs()
                        .iter()
                        .map(|(field, _)| format!(".{}(..)", field.name()))
                        .collect();
                    let mut example = qualifier.clone();
                    for (field, value) in naming.pairs() {
                        example = example.and(*field, value.clone());
                    }
                    found.push_str(&format!(
                        "; name one with {}, e.g. stage({stage:?}).test({test:?}){example}.{}()",
                        how.join(" and "),
                        expect.method()
                    ));
                }
                None => found.push_str(
                    "; no file, classname, suite or variant tells one of them from the others",
                ),
            }
            found
        }
    };
    judge(holds, found)
}

/// A report's outcome, with the first line of its message.
fn outcome_of(case: &TestCase) -> String {
    match &case.message {
        Some(message) => format!("{} ({})", case.outcome, first_line(message)),
        None => case.outcome.to_string(),
    }
}

/// The outcomes of a test's reports, in order: `pass, fail (boom)`.
fn outcomes(reports: &[&TestCase]) -> String {
    capped(reports.iter().map(|case| outcome_of(case)).collect())
}

/// Distinct tests sharing a name, each by what tells it from the others and its outcomes:
/// `tests/test_a.py (pass), tests/test_b.py (fail)`.
fn list_tests(tests: &[Vec<&TestCase>]) -> String {
    let telling = IdentityField::ALL.into_iter().find(|field| {
        let values: Vec<Option<String>> =
            tests.iter().map(|reports| field.of(reports[0])).collect();
        values.iter().all(Option::is_some)
            && values
                .iter()
                .enumerate()
                .all(|(index, value)| !values[..index].contains(value))
    });
    capped(
        tests
            .iter()
            .map(|reports| {
                let label = match telling {
                    Some(field) => field.of(reports[0]).unwrap_or_default(),
                    None => identity(reports[0]),
                };
                let outcomes: Vec<&str> =
                    reports.iter().map(|case| case.outcome.as_str()).collect();
                format!("{label} ({})", outcomes.join(", "))
            })
            .collect(),
    )
}

/// Every part of a test's identity it has: `file "a.py", classname "a"`.
fn identity(case: &TestCase) -> String {
    let parts: Vec<String> = IdentityField::ALL
        .into_iter()
        .filter_map(|field| {
            field
                .of(case)
                .map(|value| format!("{} {value:?}", field.name()))
        })
        .collect();
    if parts.is_empty() {
        "no file, classname, suite or variant".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The fewest identity fields that name `tests[index]` and none of the other tests: one field
/// whose value no other test shares, else all of its fields; `None` when even those match
/// another test too.
fn naming(tests: &[Vec<&TestCase>], index: usize) -> Option<TestQualifier> {
    let case = tests[index][0];
    let others = || {
        tests
            .iter()
            .enumerate()
            .filter(move |(other, _)| *other != index)
            .map(|(_, reports)| reports[0])
    };
    IdentityField::ALL
        .into_iter()
        .find_map(|field| {
            let value = field.of(case)?;
            others()
                .all(|other| field.of(other).as_ref() != Some(&value))
                .then(|| TestQualifier::default().and(field, value))
        })
        .or_else(|| {
            let all = TestQualifier::of(case);
            (!all.is_empty() && others().all(|other| !all.matches(other))).then_some(all)
        })
}

/// The items joined with `, `, the first [`LISTED`] of them, then `and N more`.
fn capped(items: Vec<String>) -> String {
    let more = items.len().saturating_sub(LISTED);
    let mut shown = items;
    shown.truncate(LISTED);
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
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

    /// One stage holding the given tests.
    fn stage_of(name: &str, tests: Vec<TestCase>) -> RunResults {
        RunResults {
            tiers: vec![(name.into(), TierStatus::Pass)],
            stages: vec![Stage {
                name: name.into(),
                tests,
            }],
            ..RunResults::default()
        }
    }

    fn case(name: &str, outcome: Outcome) -> TestCase {
        TestCase::new(name, outcome, outcome.as_str())
    }

    fn in_file(name: &str, file: &str, outcome: Outcome) -> TestCase {
        TestCase {
            file: Some(file.into()),
            classname: Some(file.trim_end_matches(".py").replace('/', ".")),
            suite: vec!["pytest".into()],
            ..case(name, outcome)
        }
    }

    /// (passed, found) of `.present()`, `.passed()` and `.failed()` on the test.
    fn judge_all(test: StageTestRef, results: &RunResults) -> [(bool, String); 3] {
        [test.clone().present(), test.clone().passed(), test.failed()].map(|check| {
            let outcome = evaluate(check, Some(results), Exit::Code(0));
            (outcome.passed, outcome.found)
        })
    }

    #[test]
    fn a_test_reported_twice_passed_only_if_it_passed_every_time() {
        let twice = stage_of(
            "install",
            vec![
                case("test_serving", Outcome::Pass),
                case("test_serving", Outcome::Pass),
            ],
        );
        let found = "test \"test_serving\" in stage \"install\" was reported 2 times as the same test \
                     (a retry, or one report read twice): pass, pass";
        let [present, passed, failed] = judge_all(stage("install").test("test_serving"), &twice);
        assert_eq!(present, (true, found.to_owned()));
        assert_eq!(passed, (true, found.to_owned()));
        assert_eq!(failed, (false, found.to_owned()));

        // A retry that failed once: not passed, and failed.
        let retried = stage_of(
            "install",
            vec![
                case("test_serving", Outcome::Pass),
                TestCase {
                    message: Some("connection refused\nat line 3".into()),
                    ..case("test_serving", Outcome::Fail)
                },
                case("test_serving", Outcome::Pass),
            ],
        );
        let found = "test \"test_serving\" in stage \"install\" was reported 3 times as the same test \
                     (a retry, or one report read twice): pass, fail (connection refused), pass";
        let [present, passed, failed] = judge_all(stage("install").test("test_serving"), &retried);
        assert_eq!(present, (true, found.to_owned()));
        assert_eq!(passed, (false, found.to_owned()));
        assert_eq!(failed, (true, found.to_owned()));
    }

    #[test]
    fn a_flaky_pass_is_a_pass_but_a_failed_report_beside_it_is_not() {
        // The tool's own verdict, one report: it passed in the end.
        let flaky = stage_of("install", vec![case("t", Outcome::FlakyPass)]);
        let [_, passed, failed] = judge_all(stage("install").test("t"), &flaky);
        assert_eq!(
            passed,
            (
                true,
                "test \"t\" in stage \"install\" is flaky-pass".to_owned()
            )
        );
        assert!(!failed.0);
        // Two reports, one failed: coalmine cannot tell a retry from a second run, so it failed.
        let reported = stage_of(
            "install",
            vec![case("t", Outcome::Fail), case("t", Outcome::FlakyPass)],
        );
        let [_, passed, failed] = judge_all(stage("install").test("t"), &reported);
        assert!(!passed.0, "{}", passed.1);
        assert!(failed.0, "{}", failed.1);
        assert!(passed.1.ends_with(": fail, flaky-pass"), "{}", passed.1);
    }

    #[test]
    fn distinct_tests_sharing_a_name_are_ambiguous_and_judged_together() {
        let results = stage_of(
            "pytest",
            vec![
                in_file("test_it", "tests/test_a.py", Outcome::Pass),
                in_file("test_it", "tests/test_b.py", Outcome::Fail),
                in_file("test_other", "tests/test_b.py", Outcome::Pass),
            ],
        );
        let [present, passed, failed] = judge_all(stage("pytest").test("test_it"), &results);
        let listing = "AMBIGUOUS: 2 tests named \"test_it\" in stage \"pytest\": \
                       tests/test_a.py (pass), tests/test_b.py (fail)";
        assert_eq!(
            present,
            (
                true,
                format!(
                    "{listing}; name one with .file(..), e.g. \
                     stage(\"pytest\").test(\"test_it\").file(\"tests/test_a.py\").present()"
                )
            )
        );
        assert_eq!(
            passed,
            (
                false,
                format!(
                    "{listing}; passed() needs each of them to have passed every time; name one with .file(..), \
                     e.g. stage(\"pytest\").test(\"test_it\").file(\"tests/test_a.py\").passed()"
                )
            )
        );
        // failed() must hold whichever one was meant: test_a passed, so it does not.
        assert_eq!(
            failed,
            (
                false,
                format!(
                    "{listing}; failed() needs each of them to have failed; name one with .file(..), \
                     e.g. stage(\"pytest\").test(\"test_it\").file(\"tests/test_b.py\").failed()"
                )
            )
        );
    }

    #[test]
    fn a_qualified_check_names_one_of_the_tests_sharing_a_name() {
        let results = stage_of(
            "pytest",
            vec![
                in_file("test_it", "tests/test_a.py", Outcome::Pass),
                in_file("test_it", "tests/test_b.py", Outcome::Fail),
                in_file("test_it", "tests/test_b.py", Outcome::Pass),
            ],
        );
        let b = stage("pytest").test("test_it").file("tests/test_b.py");
        let [present, passed, failed] = judge_all(b, &results);
        let found = "test \"test_it\" with file \"tests/test_b.py\" in stage \"pytest\" was reported \
                     2 times as the same test (a retry, or one report read twice): fail, pass";
        assert_eq!(present, (true, found.to_owned()));
        assert_eq!(passed, (false, found.to_owned()));
        assert_eq!(failed, (true, found.to_owned()));
        let a = stage("pytest").test("test_it").classname("tests.test_a");
        let [_, passed, failed] = judge_all(a, &results);
        let found = "test \"test_it\" with classname \"tests.test_a\" in stage \"pytest\" is pass";
        assert_eq!(passed, (true, found.to_owned()));
        assert_eq!(failed, (false, found.to_owned()));
        let outcome = evaluate(
            stage("pytest")
                .test("test_it")
                .file("tests/test_a.py")
                .passed(),
            Some(&results),
            Exit::Code(0),
        );
        assert_eq!(
            outcome.expected,
            "test \"test_it\" with file \"tests/test_a.py\" passed in stage \"pytest\""
        );

        // A qualifier no test has: the tests that do have the name, by what tells them apart.
        let [present, ..] = judge_all(
            stage("pytest").test("test_it").file("tests/test_c.py"),
            &results,
        );
        assert_eq!(
            present,
            (
                false,
                "no test \"test_it\" with file \"tests/test_c.py\" in stage \"pytest\"; the tests named \
                 \"test_it\" there: tests/test_a.py (pass), tests/test_b.py (fail, pass)"
                    .to_owned()
            )
        );
        // A qualifier that several tests have is still ambiguous, and the example builds on it.
        let outcome = evaluate(
            stage("pytest").test("test_it").suite("pytest").failed(),
            Some(&results),
            Exit::Code(1),
        );
        assert!(!outcome.passed);
        assert_eq!(
            outcome.found,
            "AMBIGUOUS: 2 tests named \"test_it\" with suite \"pytest\" in stage \"pytest\": \
             tests/test_a.py (pass), tests/test_b.py (fail, pass); failed() needs each of them to have failed; \
             name one with .file(..), e.g. \
             stage(\"pytest\").test(\"test_it\").suite(\"pytest\").file(\"tests/test_b.py\").failed()"
        );
    }

    #[test]
    fn tests_no_single_field_tells_apart_are_named_by_their_whole_identity() {
        let test = |file: &str, classname: &str, outcome: Outcome| TestCase {
            file: Some(file.into()),
            classname: Some(classname.into()),
            ..case("t", outcome)
        };
        let results = stage_of(
            "s",
            vec![
                test("a.py", "x", Outcome::Pass),
                test("a.py", "y", Outcome::Fail),
                test("b.py", "x", Outcome::Fail),
                case("t", Outcome::Fail),
            ],
        );
        let outcome = evaluate(stage("s").test("t").passed(), Some(&results), Exit::Code(0));
        assert_eq!(
            outcome.found,
            "AMBIGUOUS: 4 tests named \"t\" in stage \"s\": file \"a.py\", classname \"x\" (pass), \
             file \"a.py\", classname \"y\" (fail), file \"b.py\", classname \"x\" (fail), \
             no file, classname, suite or variant (fail); passed() needs each of them to have passed \
             every time; name one with .file(..) and .classname(..), e.g. \
             stage(\"s\").test(\"t\").file(\"a.py\").classname(\"x\").passed()"
        );
        // A test with no identity at all cannot be named apart from the others.
        let results = stage_of(
            "s",
            vec![test("a.py", "x", Outcome::Fail), case("t", Outcome::Pass)],
        );
        let outcome = evaluate(stage("s").test("t").passed(), Some(&results), Exit::Code(0));
        assert!(
            outcome.found.ends_with(
                "; passed() needs each of them to have passed every time; name one with .file(..), \
                 e.g. stage(\"s\").test(\"t\").file(\"a.py\").passed()"
            ),
            "{}",
            outcome.found
        );
    }

    #[test]
    fn long_listings_are_capped() {
        let variants: Vec<TestCase> = (0..13)
            .map(|n| TestCase {
                variant: Some(format!("n={n}")),
                ..case("t", Outcome::Pass)
            })
            .collect();
        let outcome = evaluate(
            stage("s").test("t").passed(),
            Some(&stage_of("s", variants)),
            Exit::Code(0),
        );
        assert!(outcome.passed, "every one of them passed");
        assert!(
            outcome.found.starts_with(
                "AMBIGUOUS: 13 tests named \"t\" in stage \"s\": n=0 (pass), n=1 (pass), "
            ),
            "{}",
            outcome.found
        );
        assert!(
            outcome.found.contains(
                "n=9 (pass) and 3 more; name one with .variant(..), e.g. \
                                    stage(\"s\").test(\"t\").variant(\"n=0\").passed()"
            ),
            "{}",
            outcome.found
        );
        let retries = vec![case("t", Outcome::Pass); 12];
        let outcome = evaluate(
            stage("s").test("t").passed(),
            Some(&stage_of("s", retries)),
            Exit::Code(0),
        );
        assert!(
            outcome.found.ends_with(
                ": pass, pass, pass, pass, pass, pass, pass, pass, pass, pass and 2 more"
            ),
            "{}",
            outcome.found
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
