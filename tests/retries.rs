//! Retries and FLAKY: a recipe CI that fails on its first try and passes on the second (driven
//! by a counter file, so the flakiness is deterministic) is FLAKY, shown as such, and counted
//! as `[run] flaky` says; every try keeps its own artifact folder.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

const PASSING: &str = r#"{"results": {"install": "pass"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass"}]}}}"#;
const FAILING: &str = r#"{"results": {"install": "fail"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "fail", "message": "503"}]}}}"#;

/// A project whose CI fails until it has been called `passes_from` times.
fn project(passes_from: u32, run_section: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > count\n\
         if [ $n -ge {passes_from} ]; then\ncat > \"$1/results.json\" <<'EOF'\n{PASSING}\nEOF\nexit 0\nfi\n\
         cat > \"$1/results.json\" <<'EOF'\n{FAILING}\nEOF\nexit 1\n"
    );
    let ci = dir.path().join("flaky-ci");
    common::write_script(&ci, &script);
    std::fs::write(
        dir.path().join("harness.toml"),
        format!(
            "[ci]\ncommand = [\"./flaky-ci\", \"{{artifacts}}\"]\nresults = \"{{artifacts}}/results.json\"\n\
             [run]\nartifacts = \"runs\"\n{run_section}\n"
        ),
    )
    .unwrap();
    dir
}

fn run(dir: &Path, extra: &[&str]) -> Output {
    common::regression_with(&dir.join("harness.toml"), &["canary", "good-simple"])
        .args(extra)
        .output()
        .unwrap()
}

/// The attempt numbers recorded in the run folders, in order.
fn attempts(dir: &Path) -> Vec<u64> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    folders.sort();
    let mut attempts: Vec<u64> = folders
        .iter()
        .map(|folder| {
            let record: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(folder.join("canary.json")).unwrap())
                    .unwrap();
            record["attempt"].as_u64().unwrap()
        })
        .collect();
    attempts.sort();
    attempts
}

#[test]
fn a_pass_on_retry_is_flaky_and_counts_as_a_pass_by_default() {
    let dir = project(2, "retries = 1");
    let output = run(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("RETRY canary::good-simple: TRY 1 FAIL ("),
        "{stderr}"
    );
    assert!(
        stderr.contains("FLAKY canary::good-simple: TRY 1 FAIL (")
            && stderr.contains("TRY 2 PASS; counted as a pass"),
        "{stderr}"
    );
    assert_eq!(
        attempts(dir.path()),
        [1, 2],
        "each try keeps its own artifact folder"
    );
}

#[test]
fn flaky_fail_counts_a_pass_on_retry_as_a_failure() {
    let dir = project(2, "retries = 1\nflaky = \"fail\"");
    let output = run(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(stdout.contains("FLAKY: TRY 1 FAIL ("), "{stdout}");
}

#[test]
fn the_command_line_overrides_the_config() {
    let dir = project(2, "retries = 1");
    let output = run(dir.path(), &["--retries", "0"]);
    assert_eq!(output.status.code(), Some(101));
    assert_eq!(attempts(dir.path()), [1]);
}

#[test]
fn a_canary_that_always_fails_lists_every_try() {
    let dir = project(100, "retries = 2");
    let output = run(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(stdout.contains("  tries:\n    TRY 1 FAIL: "), "{stdout}");
    assert!(stdout.contains("    TRY 3 FAIL: "), "{stdout}");
    assert_eq!(attempts(dir.path()), [1, 2, 3]);
}
