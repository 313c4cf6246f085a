//! Flaky or broken, from the outside: real JUnit reports ingested with the binary, then `plan`,
//! `report` and `apply` as a user runs them. A test a commit broke is listed first with its
//! culprit range and latest failure message, and never quarantined; a flaky one is proposed
//! with its same-commit flips.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

const NOW: &str = "2026-11-20T12:00:00Z";

fn coalmine(dir: &Path, args: &[&str]) -> Output {
    common::coalmine_in(dir, args)
}

fn ok(output: Output) -> String {
    common::succeeded(output)
}

const HARNESS: &str = r#"[history]
path = "history.db"

[owners]
"e2e::*" = "sig-compute"
"#;

/// 36 periodic runs an hour apart, two per commit, the newest an hour before [`NOW`]:
/// - `e2e::disk attaches` passes until commit c12 and fails on every run from c13 on (12 of
///   36 runs, 33 %), with the message `disk /dev/vdb not found` in the newest run;
/// - `e2e::vm migrates` fails the second run of every third commit: flips on 6 of 18 commits.
fn seed(dir: &Path) {
    std::fs::write(dir.join("harness.toml"), HARNESS).unwrap();
    for run in 0..36usize {
        let commit = run / 2;
        let newest = run == 35;
        let disk = if commit >= 12 {
            let message = if newest {
                "disk /dev/vdb not found"
            } else {
                "timed out"
            };
            format!("<failure message=\"{message}\">trace</failure>")
        } else {
            String::new()
        };
        let migrate = if commit % 3 == 0 && run % 2 == 1 {
            "<failure message=\"flaky\"/>"
        } else {
            ""
        };
        let report = format!(
            "<?xml version=\"1.0\"?>\n<testsuite name=\"e2e\">\n  \
             <testcase classname=\"e2e\" name=\"disk attaches\">{disk}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"vm migrates\">{migrate}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"vm starts\"/>\n</testsuite>\n"
        );
        let file = dir.join(format!("r{run:02}.xml"));
        std::fs::write(&file, report).unwrap();
        let at = jiff::Timestamp::from_second(
            NOW.parse::<jiff::Timestamp>().unwrap().as_second() - 3600 * (36 - run as i64),
        )
        .unwrap()
        .to_string();
        ok(coalmine(
            dir,
            &[
                "ingest",
                "--no-env-run-id",
                "--lane",
                "periodic-e2e",
                "--kind",
                "periodic",
                "--commit",
                &format!("c{:02}", commit + 1),
                "--at",
                &at,
                file.to_str().unwrap(),
            ],
        ));
    }
}

#[test]
fn a_broken_test_is_listed_first_with_its_culprit_range_and_never_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);

    let plan: Value = serde_json::from_str(&ok(coalmine(
        root,
        &["quarantine", "plan", "--format", "json", "--now", NOW],
    )))
    .unwrap();
    let broken = plan["broken"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "{plan:#}");
    let disk = &broken[0];
    assert_eq!(disk["test"], "e2e::disk attaches");
    assert_eq!(disk["owner"], "sig-compute");
    assert_eq!(disk["since_commit"], "c13");
    assert_eq!(disk["last_pass_commit"], "c12");
    assert_eq!(disk["failed_runs"], 12);
    assert_eq!(disk["since"], "2026-11-20T00:00:00Z");
    assert_eq!(disk["latest_failure_message"], "disk /dev/vdb not found");
    let proposed: Vec<&str> = ["quarantine_now", "next_batch"]
        .iter()
        .flat_map(|list| plan[list].as_array().unwrap())
        .map(|candidate| candidate["test"].as_str().unwrap())
        .collect();
    assert_eq!(proposed, ["e2e::vm migrates"]);
    let migrate = &plan["next_batch"][0];
    assert_eq!(migrate["flipped_commits"], 6);
    assert_eq!(migrate["commits"], 18);
    assert_eq!(plan["stability"]["broken_failed_runs"], 12);
    assert_eq!(plan["stability"]["measured_failed_runs"], 16);

    // The text lists it first, with the range and the message.
    let text = ok(coalmine(root, &["quarantine", "plan", "--now", NOW]));
    let broken_at = text.find("Broken, not flaky").expect(&text);
    assert!(broken_at < text.find("Quarantine now").unwrap(), "{text}");
    assert!(text.contains("c12 and c13"), "{text}");
    assert!(text.contains("disk /dev/vdb not found"), "{text}");
    assert!(text.contains("6/18 commits"), "{text}");
    assert!(
        text.contains("broken tests failed 12 of the 16 failed runs"),
        "{text}"
    );

    // The report says the same, and shows the flips.
    let report: Value = serde_json::from_str(&ok(coalmine(
        root,
        &["report", "--format", "json", "--now", NOW],
    )))
    .unwrap();
    assert_eq!(report["broken"][0]["test"], "e2e::disk attaches");
    let flakiest = report["flakiest"]["tests"].as_array().unwrap();
    let status = |test: &str| {
        flakiest
            .iter()
            .find(|row| row["test"] == test)
            .map(|row| (row["status"].clone(), row["flipped_commits"].clone()))
            .unwrap()
    };
    assert_eq!(status("e2e::disk attaches").0, "broken");
    assert_eq!(status("e2e::vm migrates").0, "next-batch");
    assert_eq!(status("e2e::vm migrates").1, 6);
    let text = ok(coalmine(root, &["report", "--now", NOW]));
    assert!(text.contains("Broken, not flaky"), "{text}");

    // The pull-request description names it, and apply leaves it out of the quarantine.
    let body = root.join("pr.md");
    ok(coalmine(
        root,
        &[
            "quarantine",
            "apply",
            "--now",
            NOW,
            "--pr-body",
            body.to_str().unwrap(),
        ],
    ));
    let harness = std::fs::read_to_string(root.join("harness.toml")).unwrap();
    assert!(!harness.contains("disk attaches"), "{harness}");
    let body = std::fs::read_to_string(body).unwrap();
    assert!(body.contains("### Broken, not quarantined"), "{body}");
    assert!(body.contains("`e2e::disk attaches`"), "{body}");
}

#[test]
fn explain_says_why_from_the_plans_own_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);
    let text = ok(coalmine(
        root,
        &["quarantine", "explain", "e2e::disk attaches", "--now", NOW],
    ));
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("e2e::disk attaches: broken, never quarantined:"),
        "{text}"
    );
    assert!(first.contains("broke between c12 and c13"), "{text}");
    assert!(
        text.contains("Owner: sig-compute (from the [owners] pattern \"e2e::*\")"),
        "{text}"
    );
    // A spelling with tags, as a report writes it, is the same test.
    let json: Value = serde_json::from_str(&ok(coalmine(
        root,
        &[
            "quarantine",
            "explain",
            "[sig-compute] e2e::vm migrates",
            "--format",
            "json",
            "--now",
            NOW,
        ],
    )))
    .unwrap();
    assert_eq!(json["test"], "e2e::vm migrates");
    assert_eq!(json["decision"], "next-batch");
    assert_eq!(json["rules"][1]["rule"], "batch");
    assert_eq!(json["rules"][1]["met"], true);
    assert_eq!(json["rules"][1]["flipped_commits"], 6);
    // The plan says the same.
    let plan: Value = serde_json::from_str(&ok(coalmine(
        root,
        &["quarantine", "plan", "--format", "json", "--now", NOW],
    )))
    .unwrap();
    assert_eq!(
        json["verdict"].as_str().unwrap(),
        format!(
            "quarantine in the next batch: {}",
            plan["next_batch"][0]["reason"].as_str().unwrap()
        )
    );
    // An unknown test names the closest ids, and fails.
    let output = coalmine(
        root,
        &["quarantine", "explain", "e2e::vm start", "--now", NOW],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no test `e2e::vm start`"), "{stderr}");
    assert!(stderr.contains("  e2e::vm starts"), "{stderr}");
}
