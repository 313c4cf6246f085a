//! `harness.toml`: how to run the recipe CI (`[ci]`) and where runs go (`[run]`).
//!
//! The file is found by walking up from the working directory (`COALMINE_CONFIG` overrides).
//! Loading never panics: an unknown key, a wrong type, an unknown placeholder, a bad duration or
//! a missing file is a [`ConfigError`] naming the file, line and column, what was expected, and
//! the valid choices.

mod error;
mod raw;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, ConfigErrorKind, MINIMAL_EXAMPLE};
use raw::{RawConfig, Source};
pub use template::{Placeholder, Template, Vars};

use crate::history::RunKind;
use crate::quarantine::QuarantineConfig;
use crate::results::{Format, Staging};

/// The file name searched for.
pub const FILE_NAME: &str = "harness.toml";

/// The environment variable that points at a config file, overriding the search.
pub const CONFIG_ENV: &str = "COALMINE_CONFIG";

/// A loaded, validated harness.toml.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[ci]`: the recipe CI canaries use by default; `None` when the file has none (only
    /// canaries need one: `coalmine ingest`, `report` and `quarantine` do not). See
    /// [`Config::ci_for`].
    pub ci: Option<CiConfig>,
    /// `[profiles.<name>]`: other recipe CIs, chosen by a canary's `ci: "<name>"`.
    pub profiles: BTreeMap<String, CiConfig>,
    /// `[run]`.
    pub run: RunConfig,
    /// `[history]`.
    pub history: HistoryConfig,
    /// `[policy]`, `[owners]` and the `[[quarantine]]` entries.
    pub quarantine: QuarantineConfig,
    /// `[report]`.
    pub report: ReportConfig,
    /// `[[sources]]`: the test sources `quarantine apply` edits (none: it edits harness.toml
    /// alone).
    pub sources: Vec<SourcesConfig>,
}

/// One `[[sources]]` table: test sources that `coalmine quarantine apply` marks and unmarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesConfig {
    /// What the files are.
    pub kind: SourceKind,
    /// Folders or files (absolute, resolved against harness.toml's folder).
    pub paths: Vec<PathBuf>,
    /// The test ids this table holds: exact ids or `*`/`?` globs; empty: every test. A test no
    /// table holds is quarantined in harness.toml alone.
    pub tests: Vec<String>,
    /// `ginkgo` only: the import path of the package defining `Quarantine`, added to a file's
    /// imports when its first spec is quarantined.
    pub decorators_import: String,
}

/// `[[sources]] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Go files with Ginkgo v2 specs (`It`, `Specify`, `Entry` in containers).
    Ginkgo,
    /// Rust files with `#[test]` functions, found from the crate roots of each Cargo.toml.
    Rust,
}

impl SourcesConfig {
    /// Whether this table holds the test `test` (see [`SourcesConfig::tests`]).
    pub fn holds(&self, test: &str) -> bool {
        self.tests.is_empty()
            || self.tests.iter().any(|pattern| {
                let pattern: Vec<char> = pattern.chars().collect();
                let text: Vec<char> = test.chars().collect();
                glob(&pattern, &text)
            })
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one.
fn glob(pattern: &[char], text: &[char]) -> bool {
    // The classic two-pointer match with backtracking to the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

impl SourceKind {
    /// The name written in harness.toml.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Ginkgo => "ginkgo",
            SourceKind::Rust => "rust",
        }
    }
}

/// `[report]`: reports of a run written besides the terminal output.
#[derive(Debug, Clone, Default)]
pub struct ReportConfig {
    /// Where the JUnit report goes (relative to the config's folder); `--junit` overrides.
    pub junit: Option<PathBuf>,
}

/// `[history]`: where canary outcomes are recorded, and as what kind of run.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Whether the harness records canary executions.
    pub record: bool,
    /// The database, if set: a file (relative to the config's folder) or, from `[history] url`,
    /// a `postgres://` URL (`COALMINE_HISTORY` overrides).
    pub path: Option<PathBuf>,
    /// The lane recorded (`COALMINE_LANE` overrides).
    pub lane: String,
    /// The kind of run recorded (`COALMINE_RUN_KIND` overrides).
    pub kind: RunKind,
}

/// `[ci]`: how to run the recipe CI and read its results.
#[derive(Debug, Clone)]
pub struct CiConfig {
    /// The argv, one template per argument. Never run through a shell.
    pub command: Vec<Template>,
    /// Where the CI writes its results; relative paths are relative to `workdir`.
    pub results: Template,
    /// The results format.
    pub format: Format,
    /// How tests are grouped into stages (formats other than cc-ci).
    pub stages: Staging,
    /// How long a run may take before its process group gets SIGTERM.
    pub timeout: Duration,
    /// How long after SIGTERM before SIGKILL.
    pub grace: Duration,
    /// After how long a running canary is reported as slow, and how often again.
    pub slow: Duration,
    /// The working directory of the CI; a relative one is relative to the config's folder.
    pub workdir: Template,
    /// Extra environment for the CI.
    pub env: BTreeMap<String, Template>,
    /// Names of environment variables whose values are secrets: redacted from the artifact
    /// folder, canary.json, reports and output.
    pub secrets: Vec<String>,
    /// Regexes whose matches are secrets too (validated when the file is loaded).
    pub secret_patterns: Vec<String>,
    /// When the program is not installed, canaries using this CI are skipped (listed as
    /// ignored, so that nextest skips them too, and reported as ignored, with the reason)
    /// instead of failing; `COALMINE_REQUIRE_ALL=1` fails them anyway.
    pub optional: bool,
    /// What a secret found in the run's files (the CI leaked it) does to the canary.
    pub on_secret_leak: OnSecretLeak,
}

/// `[ci] on_secret_leak`: what happens when redaction finds a secret in a run's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnSecretLeak {
    /// The canary fails with `SECRET LEAK` (and results that claim `no_secret_leak: true`
    /// are a `CONTRADICTION`).
    #[default]
    Fail,
    /// The same lines are warnings (on standard error and in canary.json); the canary is
    /// judged on its checks alone. For CIs that print secrets on purpose.
    Warn,
}

/// `[run]`: where runs go and how many at once.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The root of the artifact folders (absolute).
    pub artifacts: PathBuf,
    /// How many canaries run at once by default.
    pub max_parallel: usize,
    /// How many times a failed canary is tried again (a canary's own `retries` and
    /// `--retries` override it).
    pub retries: u32,
    /// How a canary that passes only on a retry is counted.
    pub flaky: FlakyPolicy,
    /// How many run folders of each canary retention keeps (besides its last passing run).
    pub keep: usize,
    /// The most bytes of each of stdout.log and stderr.log kept after the CI exits: a longer
    /// log keeps its head and its tail (see [`crate::execute::logs`]).
    pub max_log_bytes: u64,
}

/// How a FLAKY canary (failed, then passed on a retry) is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlakyPolicy {
    /// As a pass (shown as FLAKY).
    #[default]
    Pass,
    /// As a failure.
    Fail,
}

/// Defaults, documented in the README.
pub mod defaults {
    use std::time::Duration;
    /// `[ci] timeout`.
    pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// `[ci] grace`.
    pub const GRACE: Duration = Duration::from_secs(10);
    /// `[ci] slow`.
    pub const SLOW: Duration = Duration::from_secs(60);
    /// `[run] artifacts`.
    pub const ARTIFACTS: &str = "target/coalmine/runs";
    /// `[run] keep`.
    pub const KEEP: usize = 20;
    /// `[run] max_log_bytes`: 64 MiB.
    pub const MAX_LOG_BYTES: u64 = 64 << 20;
    /// The smallest `[run] max_log_bytes` accepted.
    pub const MIN_LOG_BYTES: u64 = 4096;
    /// `[[sources]] decorators_import`: KubeVirt's package of Ginkgo decorators.
    pub const DECORATORS_IMPORT: &str = "kubevirt.io/kubevirt/tests/decorators";
}

impl Config {
    /// The recipe CI a canary uses: `[profiles.<name>]` for `ci: "<name>"`, else `[ci]`; why
    /// there is none, and what to add, when the file lacks it.
    pub fn ci_for(&self, profile: Option<&str>) -> Result<&CiConfig, String> {
        match profile {
            None => self.ci.as_ref().ok_or_else(|| {
                format!(
                    "{} has no [ci] table, and canaries run the recipe CI it names: add one, e.g. \
                     `[ci]` with `command = [\"my-ci\", \"{{recipe}}\", \"--ref\", \"{{rev}}\", \"--out\", \
                     \"{{artifacts}}\"]` and `results = \"{{artifacts}}/results.json\"` (see the README's \
                     harness.toml section), or give the canary `ci: \"<profile>\"` for a [profiles.<profile>] table",
                    self.path.display()
                )
            }),
            Some(name) => self.profiles.get(name).ok_or_else(|| {
                let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
                format!(
                    "no CI profile `{name}` in {}: add a [profiles.{name}] table, or use one of: {}",
                    self.path.display(),
                    if known.is_empty() { "(none)".to_owned() } else { known.join(", ") }
                )
            }),
        }
    }

    /// The table of harness.toml that holds a canary's recipe CI, as hints name it: `[ci]`, or
    /// `[profiles.<name>]` for `ci: "<name>"`.
    pub fn ci_table(profile: Option<&str>) -> String {
        match profile {
            None => "[ci]".to_owned(),
            Some(name) => format!("[profiles.{name}]"),
        }
    }

    /// The folder holding the config file; relative paths in it are relative to this folder.
    pub fn root(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Finds and loads the config: `COALMINE_CONFIG` if set, else the first `harness.toml` in
    /// `start` or one of its parents.
    pub fn discover(start: &Path) -> Result<Config, ConfigError> {
        let path = match std::env::var_os(CONFIG_ENV) {
            Some(path) if !path.is_empty() => {
                let path = start.join(path);
                if !path.is_file() {
                    return Err(ConfigError {
                        path,
                        kind: ConfigErrorKind::EnvNotFound,
                    });
                }
                path
            }
            _ => find_upwards(start).ok_or_else(|| ConfigError {
                path: start.join(FILE_NAME),
                kind: ConfigErrorKind::NotFound {
                    searched_from: start.to_owned(),
                },
            })?,
        };
        Config::load(&path)
    }

    /// Loads a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError {
            path: path.to_owned(),
            kind: ConfigErrorKind::Read(source),
        })?;
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Config::parse(&text, &path)
    }

    /// Parses config text as if read from `path` (relative paths resolve against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let source = Source { text, path };
        raw::check_quarantine_owners(&source)?;
        let raw: RawConfig = toml::from_str(text).map_err(|error| {
            source.error_at(
                error.span().map_or(0, |span| span.start),
                error.message().to_owned(),
            )
        })?;
        raw.validate(&source)
    }
}

fn find_upwards(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests;
