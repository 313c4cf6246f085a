//! Helpers shared by the integration tests that drive cargo the way a user would.

pub mod postgres;

use std::path::Path;
use std::process::Command;

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
