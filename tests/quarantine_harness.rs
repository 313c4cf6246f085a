//! The harness honours quarantine: a canary named by a `[[quarantine]]` entry is ignored by
//! default (marked with its owner and date), listed by `--list --ignored` (what nextest asks),
//! run and recorded with `--include-ignored`; an entry naming no canary is reported.

use std::path::Path;
use std::process::Output;

use coalmine::history::History;

mod common;

const PASSING: &str = r#"{"results": {"install": "pass"}, "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass"}]}}}"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_script(
        &dir.path().join("ci"),
        &format!("#!/bin/sh\ncat > \"$1/results.json\" <<'EOF'\n{PASSING}\nEOF\n"),
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./ci\", \"{artifacts}\"]\nresults = \"{artifacts}/results.json\"\n\
         [run]\nartifacts = \"runs\"\n[history]\npath = \"history.db\"\n\n\
         [[quarantine]]\ntest = \"canary::good-simple\"\nowner = \"sig-storage\"\n\
         reason = \"upgrade race\"\nsince = \"2026-06-02\"\n\n\
         [[quarantine]]\ntest = \"canary::no-such-canary\"\nowner = \"sig-compute\"\nsince = \"2026-06-01\"\n",
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    common::regression_with(&dir.join("harness.toml"), args)
        .env_remove("COALMINE_HISTORY")
        .output()
        .unwrap()
}

#[test]
fn list_ignored_names_the_quarantined_canary() {
    let dir = project();
    let ignored = run(dir.path(), &["--list", "--format", "terse", "--ignored"]);
    assert_eq!(
        String::from_utf8_lossy(&ignored.stdout),
        "canary::good-simple: test\n"
    );
    let all = run(dir.path(), &["--list"]);
    assert!(String::from_utf8_lossy(&all.stdout).contains("canary::good-simple: test\n"));
}

#[test]
fn a_quarantined_canary_is_ignored_with_owner_and_date() {
    let dir = project();
    let output = run(dir.path(), &["canary", "good-simple"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("[QUARANTINE sig-storage since 2026-06-02] canary::good-simple")
            && stdout.contains("ignored"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the [[quarantine]] entry for `canary::no-such-canary`"),
        "{stderr}"
    );
    let runs: Vec<String> = std::fs::read_dir(dir.path().join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("good-simple-"))
        .collect();
    assert!(
        runs.is_empty(),
        "the quarantined canary must not run: {runs:?}"
    );
}

#[test]
fn include_ignored_runs_it_and_records_the_evidence() {
    let dir = project();
    let output = run(dir.path(), &["canary", "good-simple", "--include-ignored"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let history = History::open(&dir.path().join("history.db")).unwrap();
    let mut tests = Vec::new();
    history
        .for_each_result(None, |row| tests.push(row.test.clone()))
        .unwrap();
    assert!(
        tests.contains(&"canary::good-simple".to_owned()),
        "{tests:?}"
    );
}
