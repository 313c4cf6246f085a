//! coalmine from outside: `fixtures/outside-crate` is a user's crate that depends on coalmine by
//! path and declares canaries as a CI maintainer would, each over a recipe CI that misbehaves
//! in one way (a script in its `ci/` folder). Run under `cargo test` (canaries in threads of one
//! process) and under `cargo nextest run` (a process per canary), every misbehaving CI must
//! fail its canary with the headline that names what it did, and the honest one must pass (as
//! must one whose misbehaviour the fixture's harness.toml allows, saying so on standard error).
//! No runner's output may ever show the value of the fixture's secret.
//!
//! To add a class of misbehaviour: a script `ci/<recipe>.sh`, a canary in the fixture's
//! `tests/regression/canaries.rs`, and a [`Case`] in [`CASES`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// One canary of the fixture and what must become of it.
struct Case {
    /// The canary's name.
    canary: &'static str,
    /// Whether it must pass (the honest control, and CIs whose misbehaviour the fixture's
    /// harness.toml allows).
    passes: bool,
    /// Text its report must contain (the headline first); for a canary that passes, what the
    /// harness must say of it on standard error.
    report: &'static [&'static str],
}

/// Every canary of `fixtures/outside-crate`.
const CASES: &[Case] = &[
    Case {
        canary: "honest",
        passes: true,
        report: &[],
    },
    Case {
        canary: "exit-contradicts",
        passes: false,
        report: &["CONTRADICTION: the recipe CI exited 1 but no tier failed in its results"],
    },
    Case {
        canary: "secret-leak",
        passes: false,
        report: &[
            "SECRET LEAK: the value of CI_SECRET_TOKEN appeared 3 times (stdout.log, stderr.log, results.json)",
            "CONTRADICTION: the results say no_secret_leak is true, but the value of CI_SECRET_TOKEN appeared 3 times",
            "deploying with token [REDACTED]",
        ],
    },
    Case {
        canary: "secret-leak-allowed",
        passes: true,
        report: &[
            "WARNING canary::secret-leak-allowed: SECRET LEAK: the value of CI_SECRET_TOKEN appeared 3 times (stdout.log, stderr.log, results.json)",
            "WARNING canary::secret-leak-allowed: CONTRADICTION: the results say no_secret_leak is true",
        ],
    },
];

/// The value of `CI_SECRET_TOKEN` in the fixture's harness.toml: it must never be shown.
const FIXTURE_SECRET: &str = "fixture-secret-4f9d2c7a81";

/// A copy of the fixture in a fresh folder (its artifacts and history stay out of the source
/// tree), with this workspace's Cargo.lock so that it builds offline.
fn fixture() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("fixtures/outside-crate"), dir.path());
    let manifest = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "coalmine = { path = \"../..\" }",
        &format!("coalmine = {{ path = {:?} }}", root.display().to_string()),
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "target" || name == ".coalmine" || name == "Cargo.lock" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            // Copies the permissions too: the CI scripts stay executable.
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// cargo in the fixture, with a build folder of its own kept between runs.
fn cargo(dir: &Path) -> Command {
    let mut command = common::cargo_in(dir);
    command
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/outside-crate"),
        )
        .env_remove("COALMINE_CONFIG")
        .env_remove("COALMINE_HISTORY");
    command
}

/// What a runner said of each canary: passed or not, and its output.
type Outcomes = BTreeMap<String, (bool, String)>;

/// Checks every case against what the runner said, listing every mismatch at once.
fn check(runner: &str, outcomes: &Outcomes, output: &str) {
    let mut wrong = Vec::new();
    for case in CASES {
        let Some((passed, report)) = outcomes.get(case.canary) else {
            wrong.push(format!("canary::{} did not run", case.canary));
            continue;
        };
        if *passed != case.passes {
            wrong.push(format!(
                "canary::{} {} (it must {})\n{report}",
                case.canary,
                if *passed { "PASSED" } else { "failed" },
                if case.passes { "pass" } else { "fail" },
            ));
            continue;
        }
        for needle in case.report {
            if !report.contains(needle) {
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

#[test]
fn misbehaving_cis_fail_under_cargo_test() {
    let dir = fixture();
    let output = cargo(dir.path())
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
        let name = name.trim();
        let passed = status.trim() == "ok";
        // A failing canary's report is in its section of stdout; what the harness says of a
        // passing one (warnings) is on stderr, on lines that name it.
        let report = if passed {
            let tag = format!("canary::{name}:");
            let lines: Vec<&str> = stderr.lines().filter(|line| line.contains(&tag)).collect();
            lines.join("\n")
        } else {
            section(&stdout, &format!("---- canary::{name} ----"))
        };
        outcomes.insert(name.to_owned(), (passed, report));
    }
    let all_pass = CASES.iter().all(|case| case.passes);
    assert_eq!(output.status.success(), all_pass, "{all}");
    check("cargo test", &outcomes, &all);
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
    let available = cargo(dir)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
            "cargo-nextest is not installed and COALMINE_REQUIRE_ALL is set"
        );
        eprintln!(
            "SKIPPED: cargo-nextest is not installed (cargo install cargo-nextest); .ci/run installs it"
        );
    }
    available
}

#[test]
fn misbehaving_cis_fail_under_nextest() {
    let dir = fixture();
    if !nextest_available(dir.path()) {
        return;
    }
    // nextest keeps its reports in the workspace's own target/nextest/<profile>/.
    let junit_path: PathBuf = dir.path().join("target/nextest/default/junit.xml");
    std::fs::create_dir_all(dir.path().join(".config")).unwrap();
    std::fs::write(
        dir.path().join(".config/nextest.toml"),
        "[profile.default.junit]\npath = \"junit.xml\"\nstore-failure-output = true\n\
         store-success-output = true\n",
    )
    .unwrap();
    let output = cargo(dir.path())
        .args([
            "nextest",
            "run",
            "--offline",
            "--test",
            "regression",
            "--no-fail-fast",
            "--test-threads",
            "4",
            "-E",
            "test(/^canary::/)",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let all = format!("{stdout}\n--- stderr ---\n{stderr}");
    let all_pass = CASES.iter().all(|case| case.passes);
    assert_eq!(output.status.success(), all_pass, "{all}");
    // nextest's own JUnit report, read as coalmine reads any JUnit: each canary's outcome and
    // the output nextest kept for it.
    let xml = std::fs::read_to_string(&junit_path)
        .unwrap_or_else(|error| panic!("{}: {error}\n{all}", junit_path.display()));
    let mut outcomes = Outcomes::new();
    let results = coalmine::results::Format::Junit
        .read_all(
            std::slice::from_ref(&junit_path),
            &coalmine::results::Staging::Default,
        )
        .unwrap_or_else(|error| panic!("{}: {error:?}", junit_path.display()));
    for stage in &results.stages {
        for test in &stage.tests {
            let Some(name) = test.name.strip_prefix("canary::") else {
                continue;
            };
            let passed = test.outcome == coalmine::results::Outcome::Pass;
            outcomes.insert(name.to_owned(), (passed, junit_case_text(&xml, &test.name)));
        }
    }
    check(
        "nextest",
        &outcomes,
        &format!("{all}\n--- junit.xml ---\n{xml}"),
    );
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
