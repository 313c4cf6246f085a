//! Secrets never leak: a recipe CI that prints its secret on stdout and stderr, writes it into
//! its results and into another file of its artifact folder, leaves no trace of it in any file
//! under the artifact root nor anywhere in the harness's output. Values of `[ci] secrets`
//! variables and matches of `[ci] secret_patterns` both become `[REDACTED]`.

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
}
