//! The harness's own reports: `--junit PATH` (quick-junit: one testcase per trial, the checks in
//! the failure message, the artifact folder as a property, earlier failed tries as
//! `flakyFailure` or `rerunFailure`) and `--format json` (libtest's event stream with a time for
//! every trial).

use std::path::Path;

mod common;

const PASSING: &str = r#"{"results": {"install": "pass"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass"}]}}}"#;
const FAILING: &str = r#"{"results": {"install": "fail"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "fail", "message": "503"}]}}}"#;

/// A project whose CI fails until it has been called `passes_from` times.
fn project(passes_from: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_script(
        &dir.path().join("flaky-ci"),
        &format!(
            "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > count\n\
             if [ $n -ge {passes_from} ]; then\ncat > \"$1/results.json\" <<'EOF'\n{PASSING}\nEOF\nexit 0\nfi\n\
             cat > \"$1/results.json\" <<'EOF'\n{FAILING}\nEOF\nexit 1\n"
        ),
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./flaky-ci\", \"{artifacts}\"]\nresults = \"{artifacts}/results.json\"\n\
         [run]\nartifacts = \"runs\"\nretries = 1\nmax_parallel = 1\n[history]\nrecord = false\n\
         [report]\njunit = \"reports/junit.xml\"\n",
    )
    .unwrap();
    dir
}

fn junit(dir: &Path, args: &[&str]) -> String {
    let output = common::regression_with(&dir.join("harness.toml"), args)
        .output()
        .unwrap();
    let report = dir.join("reports/junit.xml");
    assert!(
        report.is_file(),
        "no report: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    std::fs::read_to_string(report).unwrap()
}

#[test]
fn a_flaky_canary_is_a_success_with_flaky_failures() {
    let dir = project(2);
    let xml = junit(dir.path(), &["good-simple"]);
    assert!(xml.contains("<testsuite name=\"canary\""), "{xml}");
    assert!(xml.contains("<testsuite name=\"teeth\""), "{xml}");
    assert!(
        xml.contains("<testcase name=\"canary::good-simple\" classname=\"canary\""),
        "{xml}"
    );
    assert!(xml.contains("<flakyFailure "), "{xml}");
    assert!(
        xml.contains("message=\"5 of 7 checks failed\">5 of 7 checks failed\ncanary `good-simple`"),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"artifacts\" value=\""),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"attempts\" value=\"2\""),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
}

#[test]
fn a_failing_canary_has_its_checks_in_the_failure_and_reruns() {
    let dir = project(100);
    // --junit, relative to the working directory, overrides [report] junit.
    let path = dir.path().join("reports/junit.xml");
    let xml = junit(
        dir.path(),
        &["canary", "good-simple", "--junit", path.to_str().unwrap()],
    );
    assert!(
        xml.contains("<failure message=\"5 of 7 checks failed\""),
        "{xml}"
    );
    assert!(
        xml.contains("✗ tier(&quot;install&quot;).is(Pass)"),
        "{xml}"
    );
    assert!(xml.contains("<rerunFailure "), "{xml}");
}

#[test]
fn the_json_event_stream_times_every_trial() {
    let dir = project(1);
    let output = common::regression_with(
        &dir.path().join("harness.toml"),
        &["good-simple", "--format", "json"],
    )
    .output()
    .unwrap();
    assert!(output.status.success());
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{line:?}: {error}")))
        .collect();
    assert_eq!(
        events[0],
        serde_json::json!({"type": "suite", "event": "started", "test_count": 2})
    );
    let finished: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| event["type"] == "test" && event["event"] == "ok")
        .collect();
    assert_eq!(finished.len(), 2);
    assert!(
        finished
            .iter()
            .all(|event| event["exec_time"].as_f64().is_some())
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "ok");
    assert_eq!(last["passed"], 2);
    let listed = common::regression_with(&dir.path().join("harness.toml"), &["--list"])
        .output()
        .unwrap();
    let total = String::from_utf8_lossy(&listed.stdout).lines().count();
    assert_eq!(last["filtered_out"], total - 2);
}
