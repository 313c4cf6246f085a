//! The regression test binary as users and tools drive it: libtest's `--list` formats, several
//! filters, `--exact`, errors for unknown flags and bad config, and nextest listing and running
//! it through its custom-harness protocol.

use std::path::Path;
use std::process::{Command, Output};

mod common;

const CANARIES: &[&str] = &[
    "canary::bad-backup",
    "canary::bad-false-green",
    "canary::bad-install",
    "canary::bad-restore",
    "canary::bad-upgrade",
    "canary::good-significant",
    "canary::good-simple",
    "canary::nextest-green",
    "canary::nextest-red",
    "canary::pytest-green",
    "canary::pytest-red",
];

const TEETH: &[&str] = &[
    "teeth::bad-backup",
    "teeth::bad-false-green",
    "teeth::bad-install",
    "teeth::bad-restore",
    "teeth::bad-upgrade",
    "teeth::good-significant",
    "teeth::good-simple",
    "teeth::nextest-green",
    "teeth::nextest-red",
    "teeth::pytest-green",
    "teeth::pytest-red",
];

fn every_trial() -> Vec<&'static str> {
    CANARIES.iter().chain(TEETH).copied().collect()
}

/// The canaries listed as ignored here: the pytest ones when pytest is not installed (its
/// profile is optional), unless `COALMINE_REQUIRE_ALL=1` forbids skipping them.
fn ignored_here() -> Vec<&'static str> {
    let required = std::env::var("COALMINE_REQUIRE_ALL").is_ok_and(|value| value == "1");
    let skipped = which::which("pytest").is_err() && !required;
    match skipped {
        true => vec!["canary::pytest-green", "canary::pytest-red"],
        false => Vec::new(),
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo() -> Command {
    common::cargo_in(root())
}

fn regression_binary() -> &'static Path {
    common::regression_binary()
}

fn regression(args: &[&str]) -> Output {
    Command::new(regression_binary())
        .args(args)
        .current_dir(root())
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn listed(args: &[&str]) -> Vec<String> {
    let output = regression(args);
    assert!(
        output.status.success(),
        "{:?}: {}",
        args,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
        .lines()
        .map(|line| {
            line.strip_suffix(": test")
                .unwrap_or_else(|| panic!("not a list line: {line:?}"))
                .to_owned()
        })
        .collect()
}

#[test]
fn list_prints_every_canary_sorted_in_libtest_format() {
    assert_eq!(listed(&["--list"]), every_trial());
    assert_eq!(listed(&["--list", "--format", "terse"]), every_trial());
    assert_eq!(
        listed(&["--list", "--format", "terse", "--ignored"]),
        ignored_here()
    );
}

#[test]
fn filters_select_by_kind_and_name() {
    assert_eq!(
        listed(&["--list", "canary", "good-simple"]),
        ["canary::good-simple"]
    );
    assert_eq!(
        listed(&["--list", "teeth", "good-simple"]),
        ["teeth::good-simple"]
    );
    assert_eq!(listed(&["--list", "canary"]), CANARIES);
    assert_eq!(listed(&["--list", "teeth"]), TEETH);
    assert_eq!(
        listed(&["--list", "canary", "good-simple", "bad-false-green"]),
        ["canary::bad-false-green", "canary::good-simple"]
    );
    assert_eq!(
        listed(&["--list", "good-simple", "bad-false-green"]),
        [
            "canary::bad-false-green",
            "canary::good-simple",
            "teeth::bad-false-green",
            "teeth::good-simple"
        ]
    );
    assert_eq!(
        listed(&["--list", "--exact", "canary::bad-install"]),
        ["canary::bad-install"]
    );
    assert_eq!(
        listed(&["--list", "--exact", "bad-install"]),
        ["canary::bad-install", "teeth::bad-install"]
    );
    assert!(listed(&["--list", "--exact", "bad"]).is_empty());
    assert_eq!(
        listed(&[
            "--list",
            "canary",
            "bad",
            "--skip",
            "bad-install",
            "--skip",
            "restore"
        ]),
        [
            "canary::bad-backup",
            "canary::bad-false-green",
            "canary::bad-upgrade"
        ]
    );
}

#[test]
fn unknown_flags_fail_like_libtest() {
    let output = regression(&["--frobnicate"]);
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: Unrecognized option: 'frobnicate'"),
        "{stderr}"
    );
    let help = regression(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("--test-threads"));
}

#[test]
fn a_bad_config_stops_the_run_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("harness.toml");
    std::fs::write(
        &config,
        "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r\"\ntimeout = \"soon\"\n",
    )
    .unwrap();
    let output = Command::new(regression_binary())
        .args(["canary", "good-simple"])
        .current_dir(root())
        .env("COALMINE_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:4:11: `ci.timeout` = \"soon\" is not a duration",
            config.display()
        )),
        "{stderr}"
    );
    // Listing needs no config at all.
    let output = Command::new(regression_binary())
        .arg("--list")
        .current_dir(dir.path())
        .env("COALMINE_CONFIG", dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(output.status.success());
}

#[test]
fn a_missing_config_shows_how_to_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(regression_binary())
        .args(["canary", "good-simple"])
        .current_dir(dir.path())
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(101));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no harness.toml found in"), "{stderr}");
    assert!(stderr.contains("[ci]\ncommand = ["), "{stderr}");
}

fn nextest_available() -> bool {
    let available = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        eprintln!(
            "SKIPPED: cargo-nextest is not installed (cargo install cargo-nextest); .ci/run installs it"
        );
    }
    available
}

#[test]
fn nextest_lists_and_runs_the_canaries() {
    if !nextest_available() {
        return;
    }
    let list = cargo()
        .args([
            "nextest",
            "list",
            "--test",
            "regression",
            "--message-format",
            "oneline",
            "--run-ignored",
            "all",
        ])
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let names: Vec<String> = stdout(&list)
        .lines()
        .filter_map(|line| line.strip_prefix("coalmine::regression "))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        names,
        every_trial(),
        "nextest list printed:\n{}",
        stdout(&list)
    );

    let run = cargo()
        .args([
            "nextest",
            "run",
            "--test",
            "regression",
            "--no-fail-fast",
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // A canary whose optional CI is missing is skipped, never counted as passed.
    let skipped = ignored_here().len();
    let ran = every_trial().len() - skipped;
    assert!(
        stderr.contains(&format!("{ran} tests run: {ran} passed")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!(", {skipped} skipped")), "{stderr}");
}
