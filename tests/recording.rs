//! The harness records canary outcomes in the history: every attempt of a canary, and the
//! recipe CI's own named tests, with the lane, kind and commit given by the environment; the
//! processes of one nextest run append to one run.

use std::path::Path;

use coalmine::history::{History, RunKind};
use coalmine::results::Outcome;

mod common;

const PASSING: &str = r#"{"results": {"install": "pass"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass"}]}}}"#;
const FAILING: &str = r#"{"results": {"install": "fail"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "fail", "message": "503"}]}}}"#;

/// A project whose CI fails on its first call and passes afterwards, retried once.
fn flaky_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_script(
        &dir.path().join("flaky-ci"),
        &format!(
            "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > count\n\
             if [ $n -ge 2 ]; then\ncat > \"$1/results.json\" <<'EOF'\n{PASSING}\nEOF\nexit 0\nfi\n\
             cat > \"$1/results.json\" <<'EOF'\n{FAILING}\nEOF\nexit 1\n"
        ),
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./flaky-ci\", \"{artifacts}\"]\nresults = \"{artifacts}/results.json\"\n\
         [run]\nartifacts = \"runs\"\nretries = 1\n[history]\nlane = \"lane-from-config\"\n",
    )
    .unwrap();
    dir
}

fn run(dir: &Path, history: &Path, env: &[(&str, &str)]) {
    let mut command =
        common::regression_with(&dir.join("harness.toml"), &["canary", "good-simple"]);
    command
        .env("COALMINE_HISTORY", history)
        .env_remove("NEXTEST_RUN_ID");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn every_attempt_and_every_named_test_is_recorded() {
    let dir = flaky_project();
    let db = dir.path().join("history.db");
    run(
        dir.path(),
        &db,
        &[
            ("COALMINE_LANE", "periodic-canaries"),
            ("COALMINE_RUN_KIND", "periodic"),
            ("COALMINE_COMMIT", "1a2b3c"),
        ],
    );
    let history = History::open(&db).unwrap();
    let runs = history.runs(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].lane, "periodic-canaries");
    assert_eq!(runs[0].kind, RunKind::Periodic);
    assert_eq!(runs[0].commit, "1a2b3c");
    let mut rows = Vec::new();
    history
        .for_each_result(None, |row| {
            rows.push((
                row.test.clone(),
                row.attempt,
                row.outcome,
                row.message.clone(),
            ))
        })
        .unwrap();
    rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2),
        ("canary::good-simple", 1, Outcome::Fail)
    );
    assert!(
        rows[0]
            .3
            .as_deref()
            .unwrap()
            .starts_with("5 of 7 checks failed"),
        "{rows:?}"
    );
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1, rows[1].2),
        ("canary::good-simple", 2, Outcome::Pass)
    );
    assert_eq!(
        (
            rows[2].0.as_str(),
            rows[2].1,
            rows[2].2,
            rows[2].3.as_deref()
        ),
        (
            "custom-html-tiny::install::test_serving",
            1,
            Outcome::Fail,
            Some("503")
        )
    );
    assert_eq!(
        (rows[3].0.as_str(), rows[3].1, rows[3].2),
        ("custom-html-tiny::install::test_serving", 2, Outcome::Pass)
    );
}

#[test]
fn the_config_gives_the_lane_and_nextest_processes_share_a_run() {
    let dir = flaky_project();
    let db = dir.path().join("history.db");
    // Two processes of one nextest run (the second passes at once: the counter is past 2).
    run(dir.path(), &db, &[("NEXTEST_RUN_ID", "run-42")]);
    run(dir.path(), &db, &[("NEXTEST_RUN_ID", "run-42")]);
    run(dir.path(), &db, &[]);
    let history = History::open(&db).unwrap();
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 2, "one nextest run and one plain invocation");
    assert!(runs.iter().all(
        |summary| summary.run.lane == "lane-from-config" && summary.run.kind == RunKind::Local
    ));
    let mut per_run = std::collections::BTreeMap::<i64, usize>::new();
    history
        .for_each_result(None, |row| *per_run.entry(row.run_id).or_default() += 1)
        .unwrap();
    let mut sizes: Vec<usize> = per_run.into_values().collect();
    sizes.sort();
    assert_eq!(
        sizes,
        [2, 6],
        "the nextest run holds both processes' results (4 + 2)"
    );
}

#[test]
fn a_bad_run_kind_stops_the_harness() {
    let dir = flaky_project();
    let output =
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .env("COALMINE_HISTORY", dir.path().join("history.db"))
            .env("COALMINE_RUN_KIND", "nightly")
            .output()
            .unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("COALMINE_RUN_KIND=\"nightly\" is not a kind of run; use one of: periodic, presubmit, merged, local"),
        "{stderr}"
    );
}

#[test]
fn an_unusable_history_fails_the_canary_and_says_what_to_do() {
    let dir = flaky_project();
    let db = dir.path().join("history.db");
    std::fs::write(&db, "not a database").unwrap();
    let output =
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .env("COALMINE_HISTORY", &db)
            .output()
            .unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("HISTORY: the outcome could not be recorded in"),
        "{stdout}"
    );
    assert!(stdout.contains("[history] record = false"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        "not a database",
        "never replaced"
    );
}

/// The attempt numbers of the run folders under `runs/`, in order.
fn recorded_attempts(dir: &Path) -> Vec<u64> {
    let mut attempts: Vec<u64> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("canary.json")).ok())
        .map(|text| {
            let record: serde_json::Value = serde_json::from_str(&text).unwrap();
            record["attempt"].as_u64().unwrap()
        })
        .collect();
    attempts.sort();
    attempts
}

/// nextest retries a failed test in a new process, telling it which attempt it is: the harness
/// records that number (not 1 each time), and does not retry within the process as well.
#[test]
fn nextest_attempts_are_recorded_as_nextest_numbers_them() {
    let dir = flaky_project();
    let db = dir.path().join("history.db");
    let attempt = |number: &str| {
        common::regression_with(
            &dir.path().join("harness.toml"),
            &["--exact", "canary::good-simple", "--nocapture"],
        )
        .env("COALMINE_HISTORY", &db)
        .env("NEXTEST", "1")
        .env("NEXTEST_EXECUTION_MODE", "process-per-test")
        .env("NEXTEST_RUN_ID", "run-7")
        .env("NEXTEST_ATTEMPT", number)
        .env("NEXTEST_TOTAL_ATTEMPTS", "2")
        .output()
        .unwrap()
    };
    // The first attempt fails, and [run] retries = 1 does not retry it: nextest will.
    let first = attempt("1");
    assert_eq!(
        first.status.code(),
        Some(101),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert_eq!(recorded_attempts(dir.path()), [1]);
    let second = attempt("2");
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert_eq!(recorded_attempts(dir.path()), [1, 2]);
    let history = History::open(&db).unwrap();
    let mut rows = Vec::new();
    history
        .for_each_result(None, |row| {
            if row.test == "canary::good-simple" {
                rows.push((row.attempt, row.outcome));
            }
        })
        .unwrap();
    rows.sort_by_key(|(attempt, _)| *attempt);
    assert_eq!(rows, [(1, Outcome::Fail), (2, Outcome::Pass)]);
    assert_eq!(history.runs(None).unwrap().len(), 1, "one nextest run");
}

/// `[run] flaky = "fail"` holds under nextest too: a pass on nextest's retry is a failure.
#[test]
fn a_pass_on_a_nextest_retry_fails_when_flaky_counts_as_failed() {
    let dir = flaky_project();
    let toml = dir.path().join("harness.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("retries = 1\n", "retries = 1\nflaky = \"fail\"\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("count"), "1\n").unwrap();
    let output = common::regression_with(&toml, &["--exact", "canary::good-simple", "--nocapture"])
        .env("COALMINE_HISTORY", dir.path().join("history.db"))
        .env("NEXTEST", "1")
        .env("NEXTEST_ATTEMPT", "2")
        .env("NEXTEST_TOTAL_ATTEMPTS", "2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(
        stdout.contains(
            "FLAKY: nextest attempt 2 of 2 passed after an earlier attempt failed; [run] flaky = \"fail\""
        ),
        "{stdout}"
    );
    assert_eq!(recorded_attempts(dir.path()), [2]);
}

/// An attempt number that makes no sense stops the harness before anything runs.
#[test]
fn a_nonsense_nextest_attempt_stops_the_harness() {
    let dir = flaky_project();
    let output = common::regression_with(
        &dir.path().join("harness.toml"),
        &["--exact", "canary::good-simple"],
    )
    .env("COALMINE_HISTORY", dir.path().join("history.db"))
    .env("NEXTEST", "1")
    .env("NEXTEST_ATTEMPT", "two")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: NEXTEST_ATTEMPT=\"two\" set by nextest is not a number"),
        "{stderr}"
    );
    assert!(!dir.path().join("runs").exists(), "something ran");
}
