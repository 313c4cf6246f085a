//! An optional recipe CI that is not installed: its canaries are skipped, never passed. Under
//! `cargo test` they are reported `ignored (SKIPPED: ...)`; nextest, which has no skip at run
//! time, learns of them from `--list --ignored` (so `cargo nextest run` skips them), and when
//! one runs anyway under nextest it fails with the reason. `COALMINE_REQUIRE_ALL=1` makes
//! them run, and fail.

use std::path::Path;
use std::process::{Command, Output};

mod common;

/// The canaries of the regression target that use `[ci]` (no profile).
const CI_CANARIES: &[&str] = &[
    "canary::bad-backup",
    "canary::bad-false-green",
    "canary::bad-install",
    "canary::bad-restore",
    "canary::bad-upgrade",
    "canary::good-significant",
    "canary::good-simple",
];

/// `[ci]` is optional and its program is missing; `[profiles.pytest]` is missing too, but not
/// optional; `[profiles.nextest]` is installed.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"coalmine-test-no-such-ci\", \"{artifacts}\"]\nresults = \"{artifacts}/r.json\"\noptional = true\n\
         [profiles.pytest]\ncommand = [\"coalmine-test-no-such-ci\"]\nresults = \"{artifacts}/r.json\"\n\
         [profiles.nextest]\ncommand = [\"sh\"]\nresults = \"{artifacts}/r.json\"\noptional = true\n\
         [run]\nartifacts = \"runs\"\n[history]\nrecord = false\n",
    )
    .unwrap();
    dir
}

fn regression(dir: &Path, args: &[&str]) -> Command {
    let mut command = common::regression_with(&dir.join("harness.toml"), args);
    command.env_remove("COALMINE_REQUIRE_ALL");
    command
}

/// The same command as nextest runs it: in a process of its own, with nextest's variables.
fn under_nextest(mut command: Command) -> Command {
    command
        .env("NEXTEST", "1")
        .env("NEXTEST_EXECUTION_MODE", "process-per-test")
        .env("NEXTEST_ATTEMPT", "1")
        .env("NEXTEST_TOTAL_ATTEMPTS", "1")
        .env("NEXTEST_RUN_ID", "optional-ci-test");
    command
}

fn listed(output: &Output) -> Vec<String> {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.strip_suffix(": test").unwrap().to_owned())
        .collect()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const REASON: &str = "SKIPPED: the recipe CI program \"coalmine-test-no-such-ci\" is not installed";

#[test]
fn list_ignored_names_the_canaries_whose_optional_ci_is_missing() {
    let dir = project();
    let ignored = ["--list", "--format", "terse", "--ignored"];
    let output = regression(dir.path(), &ignored).output().unwrap();
    assert_eq!(listed(&output), CI_CANARIES);
    // `--list` alone lists every trial, the ignored ones too, as libtest does.
    let all = listed(
        &regression(dir.path(), &["--list", "--format", "terse"])
            .output()
            .unwrap(),
    );
    assert_eq!(all.len(), 22, "{all:?}");
    assert!(
        CI_CANARIES
            .iter()
            .all(|name| all.iter().any(|listed| listed == name))
    );
    // With COALMINE_REQUIRE_ALL=1 nothing may be skipped: they are listed as tests to run.
    let required = regression(dir.path(), &ignored)
        .env("COALMINE_REQUIRE_ALL", "1")
        .output()
        .unwrap();
    assert_eq!(listed(&required), Vec::<String>::new());
    // nothing ran
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn under_cargo_test_a_canary_whose_ci_is_missing_is_skipped() {
    let dir = project();
    for args in [
        &["--exact", "canary::good-simple"][..],
        &["--exact", "canary::good-simple", "--ignored"],
    ] {
        let output = regression(dir.path(), args).output().unwrap();
        let all = text(&output);
        assert!(output.status.success(), "{args:?}: {all}");
        assert!(
            all.contains(&format!("test canary::good-simple ... ignored ({REASON}")),
            "{args:?}: {all}"
        );
    }
    let required = regression(dir.path(), &["--exact", "canary::good-simple"])
        .env("COALMINE_REQUIRE_ALL", "1")
        .output()
        .unwrap();
    let all = text(&required);
    assert_eq!(required.status.code(), Some(101), "{all}");
    assert!(all.contains(REASON), "{all}");
    assert!(
        all.contains("COALMINE_REQUIRE_ALL=1: a canary that cannot run here is a failure"),
        "{all}"
    );
}

#[test]
fn under_nextest_a_canary_whose_ci_is_missing_never_passes() {
    let dir = project();
    // Run anyway (`cargo nextest run --run-ignored ...` passes --ignored for an ignored test).
    let anyway = under_nextest(regression(
        dir.path(),
        &["--exact", "canary::good-simple", "--nocapture", "--ignored"],
    ))
    .output()
    .unwrap();
    let all = text(&anyway);
    assert_eq!(anyway.status.code(), Some(101), "{all}");
    assert!(all.contains(REASON), "{all}");
    assert!(
        all.contains("under nextest this is a failure, not a pass")
            && all.contains("it ran only because ignored tests were asked for (--run-ignored)"),
        "{all}"
    );
    // Run as a test that is not ignored (its program vanished after nextest listed it).
    let unlisted = under_nextest(regression(
        dir.path(),
        &["--exact", "canary::good-simple", "--nocapture"],
    ))
    .output()
    .unwrap();
    let all = text(&unlisted);
    assert_eq!(unlisted.status.code(), Some(101), "{all}");
    assert!(all.contains("since nextest listed the tests?"), "{all}");
    // A required CI that is missing fails as it always did, and an optional one that is
    // installed runs.
    let required = under_nextest(regression(
        dir.path(),
        &["--exact", "canary::pytest-green", "--nocapture"],
    ))
    .output()
    .unwrap();
    let all = text(&required);
    assert_eq!(required.status.code(), Some(101), "{all}");
    assert!(
        all.contains("recipe CI program \"coalmine-test-no-such-ci\" not found in PATH"),
        "{all}"
    );
}
