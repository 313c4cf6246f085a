//! coalmine from outside: `fixtures/outside-crate` is a user's crate that depends on coalmine by
//! path and declares canaries as a CI maintainer would, each over a recipe CI that misbehaves
//! in one way (a script in its `ci/` folder). Run under `cargo test` (canaries in threads of one
//! process) and under `cargo nextest run` (a process per canary), every misbehaving CI must
//! fail its canary with the headline that names what it did, the controls (the honest CI;
//! a check that names one of two tests sharing a name) must pass, and a canary whose
//! optional CI is not installed must be skipped (libtest's `ignored`, nextest's skipped),
//! never counted as passed. Both runs retry once (`--retries 1`): the flaky CI passes on
//! its retry, and its two tries are recorded as attempts 1 and 2. No process of a run may
//! be left running afterwards.
//! A canary whose misbehaviour the fixture's harness.toml allows must pass, saying so on
//! standard error; no runner's output may ever show the value of the fixture's secret.
//!
//! To add a class of misbehaviour: a script `ci/<recipe>.sh`, a canary in the fixture's
//! `tests/regression/canaries.rs`, and a [`Case`] in [`CASES`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use coalmine::history::History;
use coalmine::results::Outcome;

mod common;

/// What a runner must make of a canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// It passes (the honest control; the flaky CI, on its retry).
    Pass,
    /// It fails, its report naming the misbehaviour.
    Fail,
    /// It does not run: libtest reports it `ignored` (with the reason), nextest skips it.
    Skipped,
}

/// One canary of the fixture and what must become of it.
struct Case {
    /// The canary's name.
    canary: &'static str,
    /// Whether it must pass, fail or be skipped.
    expect: Expected,
    /// Text its report must contain (the headline first), wherever the runner keeps one
    /// (nextest keeps nothing of a test it skipped); for a canary that passes, what the
    /// harness must say of it (its warnings).
    report: &'static [&'static str],
}

/// Every canary of `fixtures/outside-crate`.
const CASES: &[Case] = &[
    Case {
        canary: "honest",
        expect: Expected::Pass,
        report: &[],
    },
    Case {
        canary: "exit-contradicts",
        expect: Expected::Fail,
        report: &["CONTRADICTION: the recipe CI exited 1 but no tier failed in its results"],
    },
    Case {
        canary: "daemon-setsid",
        expect: Expected::Fail,
        report: &[
            "UNCLEAN TEARDOWN: the recipe CI left 1 process running after it exited (pid ",
            ", in its own session); it was killed",
            "CONTRADICTION: the results say clean_teardown: true, but the recipe CI left a process running",
        ],
    },
    Case {
        canary: "daemon-double-fork",
        expect: Expected::Fail,
        report: &[
            "UNCLEAN TEARDOWN: the recipe CI left 1 process running after it exited (pid ",
            ", in a new session); it was killed",
            "CONTRADICTION: the results say clean_teardown: true",
        ],
    },
    Case {
        canary: "status-upper-case",
        expect: Expected::Fail,
        report: &[
            "malformed cc-ci results in ",
            "results.json:2:31: unknown status \"PASS\" for tier \"install\"; did you mean \"pass\"? \
             (tier statuses are exactly \"pass\", \"fail\", \"skip\", \"unver\", in lower case)",
        ],
    },
    Case {
        canary: "retried-test",
        expect: Expected::Fail,
        report: &[
            "1 of 7 checks failed",
            "✗ stage(\"install\").test(\"test_serving\").passed()",
            "found:    test \"test_serving\" in stage \"install\" was reported 2 times as the same test \
             (a retry, or one report read twice): pass, fail (connection refused on the second try)",
        ],
    },
    Case {
        canary: "same-name-ambiguous",
        expect: Expected::Fail,
        report: &[
            "1 of 4 checks failed",
            "found:    AMBIGUOUS: 2 tests named \"test_it\" in stage \"pytest\": tests/test_b.py (fail), \
             tests/test_a.py (pass); failed() needs each of them to have failed; name one with .file(..), \
             e.g. stage(\"pytest\").test(\"test_it\").file(\"tests/test_b.py\").failed()",
        ],
    },
    Case {
        canary: "same-name-precise",
        expect: Expected::Pass,
        report: &[],
    },
    Case {
        canary: "optional-missing",
        expect: Expected::Skipped,
        report: &[
            "SKIPPED: the recipe CI program \"coalmine-outside-crate-no-such-ci\" is not installed",
        ],
    },
    Case {
        canary: "flaky",
        expect: Expected::Pass,
        report: &[],
    },
    Case {
        canary: "invisible-name",
        expect: Expected::Fail,
        report: &[
            "no test \"test_serving\" in stage \"install\"; tests there (closest first): \"test_\\u{200b}serving\"",
            "\"test_\\u{200b}serving\" differs from \"test_serving\" only in invisible characters",
        ],
    },
    Case {
        canary: "empty-results",
        expect: Expected::Fail,
        report: &[
            "EMPTY RESULTS: the results hold no tier and no test",
            "✗ verdict GREEN",
            "found:    exit code 0, but the results hold no tier and no test",
        ],
    },
    Case {
        canary: "results-folder",
        expect: Expected::Fail,
        report: &["/results.json is a folder, not a file (format cc-ci); `[ci] results` in "],
    },
    Case {
        canary: "late-results",
        expect: Expected::Fail,
        report: &[
            "LATE RESULTS: the results file ",
            "/results.json did not exist when the recipe CI exited",
        ],
    },
    Case {
        canary: "secret-leak",
        expect: Expected::Fail,
        report: &[
            "SECRET LEAK: the value of CI_SECRET_TOKEN appeared 3 times (stdout.log, stderr.log, results.json)",
            "CONTRADICTION: the results say no_secret_leak is true, but the value of CI_SECRET_TOKEN appeared 3 times",
            "deploying with token [REDACTED]",
        ],
    },
    Case {
        canary: "secret-leak-allowed",
        expect: Expected::Pass,
        report: &[
            "WARNING canary::secret-leak-allowed: SECRET LEAK: the value of CI_SECRET_TOKEN appeared 3 times (stdout.log, stderr.log, results.json)",
            "WARNING canary::secret-leak-allowed: CONTRADICTION: the results say no_secret_leak is true",
        ],
    },
];

/// The value of `CI_SECRET_TOKEN` in the fixture's harness.toml: it must never be shown.
const FIXTURE_SECRET: &str = "fixture-secret-4f9d2c7a81";

/// A copy of the fixture in a fresh folder.
fn fixture() -> tempfile::TempDir {
    common::fixture_crate("outside-crate")
}

/// cargo in the fixture, with a build folder of its own kept between runs.
fn cargo(dir: &Path) -> Command {
    common::fixture_cargo(dir)
}

/// What a runner said of each canary: its status, and its report when the runner kept one.
type Outcomes = BTreeMap<String, (Expected, Option<String>)>;

/// Live processes started for a run of the fixture in `dir` (their `COALMINE_ARTIFACTS` is
/// under it): every one of them must be gone once the runner is done.
fn survivors(dir: &Path) -> Vec<String> {
    let prefix = format!("COALMINE_ARTIFACTS={}", dir.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ
            .split(|byte| *byte == 0)
            .any(|var| var.starts_with(prefix.as_bytes()))
        {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "pid {pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}

/// Checks every case against what the runner said, listing every mismatch at once.
fn check(runner: &str, dir: &Path, outcomes: &Outcomes, output: &str) {
    let mut wrong = Vec::new();
    // The survivors' test has teeth only if the runs' artifacts are where it looks.
    let runs = dir.join("target/coalmine/runs");
    let run_folders = std::fs::read_dir(&runs).map_or(0, |entries| entries.count());
    assert!(run_folders > 0, "no run folder under {}", runs.display());
    let left = survivors(dir);
    if !left.is_empty() {
        wrong.push(format!("processes left running: {left:?}"));
    }
    for case in CASES {
        let Some((status, report)) = outcomes.get(case.canary) else {
            wrong.push(format!("canary::{} did not run", case.canary));
            continue;
        };
        let report = report.as_deref();
        if *status != case.expect {
            wrong.push(format!(
                "canary::{} {status:?} (it must {:?})\n{}",
                case.canary,
                case.expect,
                report.unwrap_or("(no report)")
            ));
            continue;
        }
        for needle in case.report {
            if let Some(report) = report.filter(|report| !report.contains(needle)) {
                wrong.push(format!(
                    "canary::{}: its report lacks {needle:?}\n{report}",
                    case.canary
                ));
            }
        }
    }
    let unknown: Vec<&String> = outcomes
        .keys()
        .filter(|name| !CASES.iter().any(|case| case.canary == name.as_str()))
        .collect();
    if !unknown.is_empty() {
        wrong.push(format!("canaries without a Case: {unknown:?}"));
    }
    if output.contains(FIXTURE_SECRET) {
        wrong.push("the value of CI_SECRET_TOKEN appears in the output".to_owned());
    }
    assert!(
        wrong.is_empty(),
        "under {runner}:\n{}\n\nwhole output:\n{output}",
        wrong.join("\n\n")
    );
}

/// Whether the runner's exit code must say success: when no case must fail.
fn all_pass() -> bool {
    CASES.iter().all(|case| case.expect != Expected::Fail)
}

/// Where the flaky CI counts its calls (outside any artifact folder, fresh for each run).
fn flaky_marker(dir: &Path) -> PathBuf {
    dir.join("flaky-calls")
}

/// `(attempt, passed)` of every run of `canary` in the fixture's artifact folder, in order.
fn recorded_attempts(dir: &Path, canary: &str) -> Vec<(u64, bool)> {
    let mut found = Vec::new();
    let runs = dir.join("target/coalmine/runs");
    for entry in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("canary.json")) else {
            continue;
        };
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        if record["canary"] == canary {
            found.push((
                record["attempt"].as_u64().unwrap(),
                record["passed"].as_bool().unwrap(),
            ));
        }
    }
    found.sort();
    found
}

/// `(attempt, outcome)` of every execution of `canary::<canary>` in the fixture's history.
fn history_attempts(dir: &Path, canary: &str) -> Vec<(u32, Outcome)> {
    let history = History::open(&dir.join(".coalmine/history.db")).unwrap();
    let test = format!("canary::{canary}");
    let mut rows = Vec::new();
    history
        .for_each_result(None, |row| {
            if row.test == test {
                rows.push((row.attempt, row.outcome));
            }
        })
        .unwrap();
    rows.sort_by_key(|(attempt, _)| *attempt);
    rows
}

/// The flaky CI failed once, then passed on the retry: two runs, attempts 1 and 2, in the
/// artifact folder and in the history alike.
fn check_flaky_attempts(runner: &str, dir: &Path, output: &str) {
    assert_eq!(
        recorded_attempts(dir, "flaky"),
        [(1, false), (2, true)],
        "under {runner}: the attempts in canary.json\n{output}"
    );
    assert_eq!(
        history_attempts(dir, "flaky"),
        [(1, Outcome::Fail), (2, Outcome::Pass)],
        "under {runner}: the attempts in the history\n{output}"
    );
}

#[test]
fn misbehaving_cis_fail_under_cargo_test() {
    let dir = fixture();
    let output = cargo(dir.path())
        .env("FLAKY_MARKER", flaky_marker(dir.path()))
        .args([
            "test",
            "--offline",
            "--quiet",
            "--test",
            "regression",
            "--",
            "canary",
            "--test-threads",
            "4",
            "--retries",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let all = format!("{stdout}\n--- stderr ---\n{stderr}");
    let mut outcomes = Outcomes::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test canary::") else {
            continue;
        };
        let Some((name, status)) = rest.split_once(" ... ") else {
            continue;
        };
        let (name, status) = (name.trim(), status.trim());
        let outcome = match status.strip_prefix("ignored") {
            // The reason is on the line: `ignored (SKIPPED: ...)`.
            Some(reason) => (Expected::Skipped, reason.trim().to_owned()),
            // What the harness says of a passing canary (its warnings) is on stderr, on lines
            // that name it.
            None if status == "ok" => {
                let tag = format!("canary::{name}:");
                let lines: Vec<&str> = stderr.lines().filter(|line| line.contains(&tag)).collect();
                (Expected::Pass, lines.join("\n"))
            }
            None => (
                Expected::Fail,
                section(&stdout, &format!("---- canary::{name} ----")),
            ),
        };
        outcomes.insert(name.to_owned(), (outcome.0, Some(outcome.1)));
    }
    assert_eq!(output.status.success(), all_pass(), "{all}");
    check("cargo test", dir.path(), &outcomes, &all);
    check_flaky_attempts("cargo test", dir.path(), &all);
}

/// The text after `heading`, up to the next libtest section.
fn section(stdout: &str, heading: &str) -> String {
    let Some(start) = stdout.find(heading) else {
        return String::new();
    };
    let rest = &stdout[start + heading.len()..];
    let end = ["\n---- ", "\nfailures:\n"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn nextest_available(dir: &Path) -> bool {
    common::nextest_available(dir)
}

/// Makes nextest write its JUnit report (with the output of failures); returns where.
fn nextest_junit(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join(".config")).unwrap();
    std::fs::write(
        dir.join(".config/nextest.toml"),
        "[profile.default.junit]\npath = \"junit.xml\"\nstore-failure-output = true\n\
         store-success-output = true\n",
    )
    .unwrap();
    // nextest keeps its reports in the workspace's own target/nextest/<profile>/.
    dir.join("target/nextest/default/junit.xml")
}

/// The canaries in nextest's JUnit report, read as coalmine reads any JUnit: each one that
/// ran, its outcome (`flaky-pass` when it passed on a retry) and all the report holds of it.
fn junit_outcomes(junit_path: &Path, all: &str) -> BTreeMap<String, (Outcome, String)> {
    let xml = std::fs::read_to_string(junit_path)
        .unwrap_or_else(|error| panic!("{}: {error}\n{all}", junit_path.display()));
    let results = coalmine::results::Format::Junit
        .read_all(
            &[junit_path.to_owned()],
            &coalmine::results::Staging::Default,
        )
        .unwrap_or_else(|error| panic!("{}: {error:?}", junit_path.display()));
    let mut outcomes = BTreeMap::new();
    for stage in &results.stages {
        for test in &stage.tests {
            if let Some(name) = test.name.strip_prefix("canary::") {
                outcomes.insert(
                    name.to_owned(),
                    (test.outcome, junit_case_text(&xml, &test.name)),
                );
            }
        }
    }
    outcomes
}

/// The canaries `cargo nextest list` marks as ignored (nextest skips them unless asked).
fn nextest_ignored(dir: &Path) -> Vec<String> {
    let output = cargo(dir)
        .args([
            "nextest",
            "list",
            "--offline",
            "--test",
            "regression",
            "--message-format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut ignored = Vec::new();
    for suite in list["rust-suites"].as_object().unwrap().values() {
        for (name, case) in suite["testcases"].as_object().unwrap() {
            if let Some(name) = name.strip_prefix("canary::")
                && case["ignored"] == true
            {
                ignored.push(name.to_owned());
            }
        }
    }
    ignored
}

#[test]
fn misbehaving_cis_fail_under_nextest() {
    let dir = fixture();
    if !nextest_available(dir.path()) {
        return;
    }
    let junit_path = nextest_junit(dir.path());
    let output = cargo(dir.path())
        .env("FLAKY_MARKER", flaky_marker(dir.path()))
        .args([
            "nextest",
            "run",
            "--offline",
            "--test",
            "regression",
            "--no-fail-fast",
            "--test-threads",
            "4",
            "--retries",
            "1",
            "-E",
            "test(/^canary::/)",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let all = format!("{stdout}\n--- stderr ---\n{stderr}");
    assert_eq!(output.status.success(), all_pass(), "{all}");
    // What nextest ran is in its JUnit report; what it skipped is not, and is what
    // `cargo nextest list` marks ignored.
    let ran = junit_outcomes(&junit_path, &all);
    let mut outcomes: Outcomes = ran
        .iter()
        .map(|(name, (outcome, text))| {
            let status = match outcome.is_pass() {
                true => Expected::Pass,
                false => Expected::Fail,
            };
            (name.clone(), (status, Some(text.clone())))
        })
        .collect();
    for name in nextest_ignored(dir.path()) {
        outcomes.entry(name).or_insert((Expected::Skipped, None));
    }
    let xml = std::fs::read_to_string(&junit_path).unwrap_or_default();
    check(
        "nextest",
        dir.path(),
        &outcomes,
        &format!("{all}\n--- junit.xml ---\n{xml}"),
    );
    assert_eq!(
        ran.get("flaky").map(|(outcome, _)| *outcome),
        Some(Outcome::FlakyPass),
        "nextest itself must have retried the flaky canary (its --retries replace coalmine's)\n{all}"
    );
    check_flaky_attempts("nextest", dir.path(), &all);
}

/// nextest has no skip at run time: a canary it lists as ignored, run anyway
/// (`--run-ignored`), must fail with the reason instead of passing.
#[test]
fn an_unavailable_canary_run_anyway_under_nextest_fails() {
    let dir = fixture();
    if !nextest_available(dir.path()) {
        return;
    }
    let junit_path = nextest_junit(dir.path());
    let output = cargo(dir.path())
        .args([
            "nextest",
            "run",
            "--offline",
            "--test",
            "regression",
            "--run-ignored",
            "only",
            "-E",
            "test(=canary::optional-missing)",
        ])
        .output()
        .unwrap();
    let all = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{all}");
    let ran = junit_outcomes(&junit_path, &all);
    let Some((outcome, text)) = ran.get("optional-missing") else {
        panic!("canary::optional-missing did not run\n{all}");
    };
    assert_eq!(*outcome, Outcome::Fail, "{text}\n{all}");
    assert!(
        text.contains(
            "SKIPPED: the recipe CI program \"coalmine-outside-crate-no-such-ci\" is not installed"
        ),
        "{text}"
    );
    assert!(text.contains("under nextest"), "{text}");
}

/// Everything nextest's JUnit report holds for one testcase (its failure and captured output).
fn junit_case_text(xml: &str, name: &str) -> String {
    let open = format!("name=\"{name}\"");
    let Some(start) = xml.find(&open) else {
        return String::new();
    };
    let rest = &xml[start..];
    let end = rest.find("</testcase>").unwrap_or(rest.len());
    rest[..end]
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
