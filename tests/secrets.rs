//! Secrets never leak: a recipe CI that prints its secret on stdout and stderr, writes it into
//! its results and into another file of its artifact folder, leaves no trace of it in any file
//! under the artifact root nor anywhere in the harness's output. Values of `[ci] secrets`
//! variables and matches of `[ci] secret_patterns` both become `[REDACTED]`.
//!
//! And a leak is never silent: the canary fails with `SECRET LEAK`, naming the variable (or
//! the pattern) and the files, never the value; results that claim `no_secret_leak: true` then
//! are a `CONTRADICTION`; `[ci] on_secret_leak = "warn"` lets the canary pass, saying so.

use std::path::Path;

mod common;

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn a_leaky_ci_leaves_no_secret_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let secret = format!("s3cr3t-\"value\"-{}", std::process::id());
    let token = "tok_abcdef123456";
    let script = r#"#!/bin/sh
echo "deploying with $COALMINE_TEST_SECRET"
echo "token tok_abcdef123456 in use" >&2
echo "debug: secret=$COALMINE_TEST_SECRET" >&2
mkdir -p "$1/services"
echo "web started, password $COALMINE_TEST_SECRET" > "$1/services/web.log"
python3 -c '
import json, os, sys
secret = os.environ["COALMINE_TEST_SECRET"]
json.dump({"results": {"install": "fail"}, "flags": {"clean_teardown": True, "no_secret_leak": False},
           "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "fail",
                                             "message": "login with " + secret + " refused"}]}}},
          open(sys.argv[1] + "/results.json", "w"))
' "$1"
exit 1
"#;
    let ci = dir.path().join("leaky-ci");
    common::write_script(&ci, script);
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./leaky-ci\", \"{artifacts}\"]\nresults = \"{artifacts}/results.json\"\n\
         secrets = [\"COALMINE_TEST_SECRET\"]\nsecret_patterns = [\"tok_[a-z0-9]{12}\"]\n\
         [run]\nartifacts = \"runs\"\n",
    )
    .unwrap();
    let output =
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .env("COALMINE_TEST_SECRET", &secret)
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(101),
        "the canary must fail: {stdout}"
    );
    assert!(stdout.contains("login with [REDACTED] refused"), "{stdout}");
    assert!(stdout.contains("deploying with [REDACTED]"), "{stdout}");
    assert!(stdout.contains("token [REDACTED] in use"), "{stdout}");

    let escaped = serde_json::to_string(&secret).unwrap();
    let escaped = escaped.trim_matches('"');
    for needle in [secret.as_str(), escaped, token] {
        assert!(
            !contains(&output.stdout, needle.as_bytes()),
            "{needle:?} leaked to stdout"
        );
        assert!(
            !contains(&output.stderr, needle.as_bytes()),
            "{needle:?} leaked to stderr"
        );
    }
    let files = files_under(&dir.path().join("runs"));
    assert!(
        files.len() >= 5,
        "stdout.log, stderr.log, canary.json, results.json, services/web.log: {files:?}"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for needle in [secret.as_str(), escaped, token] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{needle:?} leaked into {}",
                file.display()
            );
        }
    }
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            files
                .iter()
                .find(|file| file.ends_with("canary.json"))
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        record["results"]["stages"][0]["tests"][0]["message"],
        "login with [REDACTED] refused"
    );

    // The leak is the headline, naming the variable, the pattern and the files.
    let headline = stdout
        .lines()
        .find(|line| line.contains("SECRET LEAK"))
        .unwrap_or_else(|| panic!("no SECRET LEAK line: {stdout}"));
    assert_eq!(
        headline.trim(),
        format!(
            "SECRET LEAK: the value of COALMINE_TEST_SECRET appeared 4 times (stdout.log, stderr.log, \
             results.json, services/web.log); a match of secret pattern `tok_[a-z0-9]{{12}}` appeared 1 \
             time (stderr.log): the recipe CI leaked secrets into its output (coalmine redacted them); \
             if it prints them on purpose, set `on_secret_leak = \"warn\"` in [ci] of {}",
            dir.path().join("harness.toml").display()
        ),
        "{stdout}"
    );
    // The results admit the leak (no_secret_leak: false): no contradiction.
    assert!(!stdout.contains("CONTRADICTION"), "{stdout}");
    // canary.json counts each secret per file, and never holds its value.
    assert_eq!(
        record["secret_leaks"],
        serde_json::json!([
            {"secret": "COALMINE_TEST_SECRET", "kind": "variable", "count": 4, "files": [
                {"file": "stdout.log", "count": 1},
                {"file": "stderr.log", "count": 1},
                {"file": "results.json", "count": 1},
                {"file": "services/web.log", "count": 1},
            ]},
            {"secret": "tok_[a-z0-9]{12}", "kind": "pattern", "count": 1, "files": [
                {"file": "stderr.log", "count": 1},
            ]},
        ])
    );
    assert!(
        record["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("SECRET LEAK: the value of COALMINE_TEST_SECRET appeared 4 times")
    );
}

/// A recipe CI that passes and prints its secret: the leak fails the canary, and its results,
/// which claim that no secret leaked, are a contradiction. With `on_secret_leak = "warn"` the
/// same run passes, and the harness says what leaked on standard error and in canary.json.
#[test]
fn a_leak_fails_a_passing_canary_unless_on_secret_leak_is_warn() {
    let secret = format!("pass-but-leak-{}", std::process::id());
    let script = r#"#!/bin/sh
echo "connecting with $COALMINE_TEST_SECRET"
cat > "$1/results.json" <<JSON
{"results": {"install": "pass", "upgrade": "pass"},
 "flags": {"clean_teardown": true, "no_secret_leak": true},
 "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass",
                                   "message": "token $COALMINE_TEST_SECRET"}]}}}
JSON
"#;
    for policy in [
        "",
        "on_secret_leak = \"fail\"\n",
        "on_secret_leak = \"warn\"\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        common::write_script(&dir.path().join("leaky-ci"), script);
        std::fs::write(
            dir.path().join("harness.toml"),
            format!(
                "[ci]\ncommand = [\"./leaky-ci\", \"{{artifacts}}\"]\nresults = \"{{artifacts}}/results.json\"\n\
                 secrets = [\"COALMINE_TEST_SECRET\"]\n{policy}[run]\nartifacts = \"runs\"\n"
            ),
        )
        .unwrap();
        let output =
            common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
                .env("COALMINE_TEST_SECRET", &secret)
                .output()
                .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !contains(&output.stdout, secret.as_bytes())
                && !contains(&output.stderr, secret.as_bytes()),
            "the secret was shown"
        );
        let leak = "SECRET LEAK: the value of COALMINE_TEST_SECRET appeared 2 times (stdout.log, \
                    results.json)";
        let contradiction = "CONTRADICTION: the results say no_secret_leak is true, but the value \
                             of COALMINE_TEST_SECRET appeared 2 times in the run's files";
        let record = files_under(&dir.path().join("runs"))
            .into_iter()
            .find(|file| file.ends_with("canary.json"))
            .unwrap();
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
        assert_eq!(record["secret_leaks"][0]["count"], 2, "{record}");
        if policy.contains("warn") {
            assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
            assert!(
                stderr.contains(&format!("WARNING canary::good-simple: {leak}")),
                "{stderr}"
            );
            assert!(
                stderr.contains(&format!("WARNING canary::good-simple: {contradiction}")),
                "{stderr}"
            );
            assert!(record["passed"].as_bool().unwrap());
            assert_eq!(record["problems"], serde_json::json!([]));
            let warnings = record["warnings"].as_array().unwrap();
            assert!(warnings[0].as_str().unwrap().starts_with(leak), "{record}");
            assert!(
                warnings[1].as_str().unwrap().starts_with(contradiction),
                "{record}"
            );
        } else {
            assert_eq!(output.status.code(), Some(101), "{stdout}\n{stderr}");
            let report = &stdout[stdout.find("---- canary::good-simple").unwrap()..];
            let mut lines = report.lines().skip(1);
            assert!(lines.next().unwrap().starts_with(leak), "{report}");
            assert!(
                report.contains(&format!("  also: {contradiction}")),
                "{report}"
            );
            // Every check of the canary passed: only the leak fails it.
            assert!(report.contains("✓ flag(\"no_secret_leak\")"), "{report}");
            assert!(!report.contains('✗'), "{report}");
        }
    }
}

/// Results the CI writes outside the artifact folder (a path made unique by `{run_id}`) are its
/// output too: redacted, and the leak found there reported with their path.
#[test]
fn a_leak_into_results_outside_the_artifact_folder_is_found() {
    let secret = format!("outside-leak-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    common::write_script(
        &dir.path().join("leaky-ci"),
        r#"#!/bin/sh
mkdir -p reports
cat > "reports/$1.json" <<JSON
{"results": {"install": "pass", "upgrade": "pass"},
 "flags": {"clean_teardown": true, "no_secret_leak": false},
 "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass",
                                   "message": "token $COALMINE_TEST_SECRET"}]}}}
JSON
"#,
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./leaky-ci\", \"{run_id}\"]\nresults = \"reports/{run_id}.json\"\n\
         secrets = [\"COALMINE_TEST_SECRET\"]\n[run]\nartifacts = \"runs\"\n",
    )
    .unwrap();
    let output =
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .env("COALMINE_TEST_SECRET", &secret)
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    let reports: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert_eq!(reports.len(), 1);
    assert!(!contains(
        &std::fs::read(&reports[0]).unwrap(),
        secret.as_bytes()
    ));
    assert!(
        stdout.contains(&format!(
            "SECRET LEAK: the value of COALMINE_TEST_SECRET appeared 1 time (reports/{}): ",
            reports[0].file_name().unwrap().to_string_lossy()
        )),
        "{stdout}"
    );
    assert!(!contains(&output.stdout, secret.as_bytes()));
}
