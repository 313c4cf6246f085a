//! Helpers shared by the integration tests that drive cargo the way a user would.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod postgres;

/// A cargo command run in `dir`, with the variables of an enclosing nextest run removed so the
/// nested command behaves as if a user typed it.
pub fn cargo_in(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("NEXTEST") || key.starts_with("__NEXTEST") {
            command.env_remove(key.as_ref());
        }
    }
    command
}

/// The path of the built `regression` test binary of this package (built once per process).
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn regression_binary() -> &'static std::path::Path {
    static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        let output = cargo_in(Path::new(env!("CARGO_MANIFEST_DIR")))
            .args([
                "test",
                "--test",
                "regression",
                "--no-run",
                "--message-format=json",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["target"]["name"] == "regression")
            .find_map(|message| message["executable"].as_str().map(std::path::PathBuf::from))
            .expect("cargo reported no regression executable")
    })
}

/// Writes an executable script (a small recipe CI written for a test).
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The regression binary with `COALMINE_CONFIG` pointing at `config`, run from the package root,
/// without the variables of an enclosing nextest run (the harness reads `NEXTEST_ATTEMPT` and
/// others: a test that wants them sets them).
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn regression_with(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(regression_binary());
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COALMINE_CONFIG", config);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("NEXTEST") || key.starts_with("__NEXTEST") {
            command.env_remove(key.as_ref());
        }
    }
    command
}

/// The `coalmine` binary run in `dir` as a user runs it: none of `COALMINE_HISTORY`,
/// `COALMINE_CONFIG` or the CI job variables a run id is read from (so that a test behaves the
/// same inside any CI).
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn coalmine_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coalmine"));
    command
        .current_dir(dir)
        .args(args)
        .env_remove("COALMINE_HISTORY")
        .env_remove("COALMINE_CONFIG");
    for name in coalmine::ingest::identity::variables() {
        command.env_remove(name);
    }
    command
}

/// [`coalmine_command`], run to completion.
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn coalmine_in(dir: &Path, args: &[&str]) -> std::process::Output {
    coalmine_command(dir, args).output().unwrap()
}

/// The standard output of a run that must have exited 0 (its output shown when it did not).
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn succeeded(output: std::process::Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// A copy of `fixtures/<name>`, a user's crate depending on coalmine by path, in a fresh folder
/// (its artifacts and history stay out of the source tree), its dependency pointed at this
/// workspace and with this workspace's Cargo.lock so that it builds offline.
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn fixture_crate(name: &str) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("fixtures").join(name), dir.path());
    let manifest = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "coalmine = { path = \"../..\" }",
        &format!("coalmine = {{ path = {:?} }}", root.display().to_string()),
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    dir
}

/// Copies a fixture's files (not its build folder, history or lock file), permissions too: its
/// CI scripts stay executable.
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn copy_tree(from: &Path, to: &Path) {
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
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// cargo in a copy of a fixture crate ([`fixture_crate`]), as a user runs it: a build folder
/// that the fixtures share and that is kept between runs (coalmine and its dependencies are
/// built once for all of them), and none of coalmine's variables of the enclosing run.
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn fixture_cargo(dir: &Path) -> Command {
    let mut command = cargo_in(dir);
    command
        .env("CARGO_TARGET_DIR", fixture_target_dir())
        .env_remove("COALMINE_CONFIG")
        .env_remove("COALMINE_HISTORY")
        // A fixture's missing optional CI is missing on purpose: CI's own "never skip"
        // (`COALMINE_REQUIRE_ALL=1`, set by .ci/run) is not the fixture's.
        .env_remove("COALMINE_REQUIRE_ALL");
    command
}

/// The build folder of the fixture crates.
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn fixture_target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/outside-crate")
}

/// Whether `cargo nextest` is installed; when it is not, says that the test skips (a failure
/// instead under `COALMINE_REQUIRE_ALL=1`).
#[allow(dead_code)] // not every test file that includes this module uses it
pub fn nextest_available(dir: &Path) -> bool {
    let available = cargo_in(dir)
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
