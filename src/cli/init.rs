//! `coalmine init`: sets up canaries in a user's crate: a commented `harness.toml`, a
//! `tests/regression/canaries.rs` with one example canary, and the `[[test]]` entry that makes
//! it a `harness = false` test target. Nothing that exists is overwritten: if any of the three
//! is already there, nothing is written at all.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The commented harness.toml that `init` writes.
pub const HARNESS_TOML: &str = r#"# coalmine: how to run your recipe CI for each canary.
# Every key is documented in coalmine's README ("harness.toml").

[ci]
# The recipe CI's argv. It is never run through a shell: each element is one argument.
# Placeholders: {recipe} {rev} {canary} {run_id} {artifacts} (the run's own artifact folder).
command = ["my-recipe-ci", "{recipe}", "--ref", "{rev}", "--run-id", "{run_id}", "--out", "{artifacts}"]
# The results file the CI writes (relative paths are relative to `workdir`).
results = "{artifacts}/results.json"
# Its format: "cc-ci" (tiers, flags, stages with named tests).
format = "cc-ci"
# SIGTERM to the CI's process group after `timeout`, SIGKILL `grace` later.
timeout = "20m"
grace = "10s"
# Print a SLOW line for a canary still running after this long, and again each period.
slow = "60s"
# The CI's working directory (relative to this file's folder).
workdir = "."

# Extra environment for the CI; placeholders allowed.
[ci.env]
# MY_CI_LOG_DIR = "{artifacts}/logs"

[run]
# Each run gets <artifacts>/<run_id>/ with stdout.log, stderr.log and canary.json.
artifacts = "target/coalmine/runs"
# Canaries run at once by default (`--test-threads` overrides).
max_parallel = 2
"#;

/// The example canaries file that `init` writes.
pub const CANARIES_RS: &str = r#"//! Regression canaries for our recipe CI: pinned known-good targets must come out GREEN,
//! known-bad ones RED.
//!
//!     cargo test --test regression -- canary            # every canary
//!     cargo test --test regression -- canary example    # one canary
//!     cargo test --test regression -- teeth             # prove offline that every check can fail
//!     cargo test --test regression -- --list            # list them

coalmine::canary! {
    /// A known-good target: replace recipe and rev with one of yours.
    name: "example",
    recipe: "my-recipe",
    rev: "0123abcd",
    expect: Green,
    checks: [
        exit_code(0),
        tier("install").is(Pass),
        no_tier_failed(),
        stage("install").test("test_serving").passed(),
    ],
}

coalmine::main!();
"#;

/// The `[[test]]` entry appended to Cargo.toml.
pub const TEST_ENTRY: &str = r#"
[[test]]
name = "regression"
path = "tests/regression/canaries.rs"
harness = false
"#;

/// What `init` wrote and what is left to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Steps the user still has to take.
    pub next_steps: Vec<String>,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The folder is not a crate.
    #[error(
        "{0}: no Cargo.toml here; run `coalmine init` in the folder of the crate that will hold the canaries"
    )]
    NotACrate(PathBuf),
    /// Cargo.toml is not valid TOML.
    #[error("{path}: cannot be parsed: {message}; fix it, then run `coalmine init` again")]
    BadManifest {
        /// Cargo.toml.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Something `init` would write already exists.
    #[error("refusing to overwrite what exists: {}; nothing was written (move them away, or add the missing pieces by hand: see coalmine's README)", .0.join("; "))]
    Exists(Vec<String>),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InitError + '_ {
    move |source| InitError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Sets up canaries in the crate at `dir`.
pub fn init(dir: &Path) -> Result<InitReport, InitError> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(InitError::NotACrate(dir.to_owned()));
    }
    let text = fs::read_to_string(&manifest).map_err(io_error(&manifest))?;
    let parsed: toml::Table = toml::from_str(&text).map_err(|error| InitError::BadManifest {
        path: manifest.clone(),
        message: error.to_string().trim().replace('\n', " "),
    })?;
    let harness = dir.join(crate::config::FILE_NAME);
    let canaries = dir.join("tests/regression/canaries.rs");

    let mut exists = Vec::new();
    if harness.exists() {
        exists.push(format!("{} exists", harness.display()));
    }
    if canaries.exists() {
        exists.push(format!("{} exists", canaries.display()));
    }
    let has_regression_test = parsed
        .get("test")
        .and_then(|tests| tests.as_array())
        .is_some_and(|tests| {
            tests
                .iter()
                .any(|test| test.get("name").and_then(|name| name.as_str()) == Some("regression"))
        });
    if has_regression_test {
        exists.push(format!(
            "{} already declares a [[test]] named \"regression\"",
            manifest.display()
        ));
    }
    if !exists.is_empty() {
        return Err(InitError::Exists(exists));
    }

    fs::write(&harness, HARNESS_TOML).map_err(io_error(&harness))?;
    let folder = dir.join("tests/regression");
    fs::create_dir_all(&folder).map_err(io_error(&folder))?;
    fs::write(&canaries, CANARIES_RS).map_err(io_error(&canaries))?;
    let mut updated = text;
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(TEST_ENTRY);
    fs::write(&manifest, updated).map_err(io_error(&manifest))?;

    let mut next_steps = Vec::new();
    let has_dev_dependency = parsed
        .get("dev-dependencies")
        .and_then(|deps| deps.get("coalmine"))
        .is_some();
    if !has_dev_dependency {
        next_steps.push("add coalmine as a dev-dependency: cargo add --dev coalmine".to_owned());
    }
    next_steps.push(format!(
        "set [ci] command in {} to your recipe CI, and the example canary's recipe and rev in {}",
        harness.display(),
        canaries.display()
    ));
    next_steps.push("run it: cargo test --test regression -- canary".to_owned());
    Ok(InitReport {
        written: vec![harness, canaries, manifest],
        next_steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_dir(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        dir
    }

    #[test]
    fn writes_the_three_pieces() {
        let dir = crate_dir("[package]\nname = \"mine\"\nversion = \"0.1.0\"\nedition = \"2024\"");
        let report = init(dir.path()).unwrap();
        assert_eq!(report.written.len(), 3);
        let manifest = fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert!(manifest.starts_with("[package]\nname = \"mine\""));
        let parsed: toml::Table = toml::from_str(&manifest).unwrap();
        assert_eq!(parsed["test"][0]["harness"].as_bool(), Some(false));
        assert_eq!(
            fs::read_to_string(dir.path().join("harness.toml")).unwrap(),
            HARNESS_TOML
        );
        assert!(report.next_steps[0].contains("cargo add --dev coalmine"));
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing() {
        let dir = crate_dir(
            "[package]\nname = \"mine\"\n\n[[test]]\nname = \"regression\"\npath = \"x.rs\"\n",
        );
        fs::write(dir.path().join("harness.toml"), "mine").unwrap();
        let error = init(dir.path()).unwrap_err().to_string();
        assert!(error.contains("harness.toml exists"), "{error}");
        assert!(error.contains("[[test]] named \"regression\""), "{error}");
        assert_eq!(
            fs::read_to_string(dir.path().join("harness.toml")).unwrap(),
            "mine"
        );
        assert!(!dir.path().join("tests").exists());
    }

    #[test]
    fn explains_a_missing_or_broken_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(init(dir.path()), Err(InitError::NotACrate(_))));
        let dir = crate_dir("[package\n");
        let error = init(dir.path()).unwrap_err().to_string();
        assert!(error.contains("cannot be parsed"), "{error}");
    }

    #[test]
    fn the_written_config_is_valid() {
        crate::config::Config::parse(HARNESS_TOML, Path::new("/x/harness.toml")).unwrap();
    }
}
