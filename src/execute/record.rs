//! `canary.json`: the record of one canary run, written into its artifact folder: what was run
//! (argv, working directory, names of the variables set), how it ended, the results as parsed,
//! the verdict and every check's outcome. Environment values are never written, only names.

use std::collections::BTreeMap;
use std::path::Path;

use crate::canary::ValidCanary;
use crate::check::{CheckOutcome, Exit};
use crate::execute::leaks::SecretLeak;
use crate::execute::logs::LogRecord;
use crate::execute::redact::Redactor;
use crate::results::RunResults;

/// The version of the `canary.json` layout.
pub const RECORD_VERSION: u32 = 1;

/// Everything known about one canary run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// Layout version.
    pub version: u32,
    /// The canary's name.
    pub canary: String,
    /// Where it was declared.
    pub declared_at: String,
    /// The recipe.
    pub recipe: String,
    /// The pinned revision.
    pub rev: String,
    /// `GREEN` or `RED`.
    pub expect: String,
    /// The canary's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The run id.
    pub run_id: String,
    /// Which try this run was (1 for the first; retries count up).
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// The artifact folder.
    pub artifacts: String,
    /// The argv as expanded.
    pub argv: Vec<String>,
    /// The program as resolved.
    pub program: Option<String>,
    /// The working directory.
    pub workdir: Option<String>,
    /// Names of the variables set for the CI (values are never recorded).
    pub env: Vec<String>,
    /// The CI's process id (and process group id).
    pub pid: Option<u32>,
    /// How it ended.
    pub exit: Option<Exit>,
    /// Whether it was stopped for running past its timeout.
    pub timed_out: bool,
    /// How many processes it left running after it exited (ended by the harness).
    pub leftover_processes: usize,
    /// Those processes, as found before they were ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<super::leftovers::Leftover>,
    /// Start, RFC 3339.
    pub started_at: Option<String>,
    /// End, RFC 3339.
    pub ended_at: Option<String>,
    /// Duration in seconds.
    pub duration_secs: Option<f64>,
    /// How long the harness worked after the CI exited (cutting and redacting the logs,
    /// redacting the other files, reading the results, evaluating the checks), in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_exit_secs: Option<f64>,
    /// What became of `stdout.log` and `stderr.log`: how much the CI wrote, how much is kept,
    /// what was cut (`[run] max_log_bytes`).
    #[serde(default)]
    pub logs: BTreeMap<String, LogRecord>,
    /// Secrets the CI leaked into the run's files (found and redacted by the harness): each
    /// variable or pattern with its count per file, never a value.
    #[serde(default)]
    pub secret_leaks: Vec<SecretLeak>,
    /// Where the results were read from.
    pub results_path: Option<String>,
    /// Why they could not be read.
    pub results_error: Option<String>,
    /// The results as parsed.
    pub results: Option<RunResults>,
    /// Causes that fail the run whatever the checks say (timeout, crash, contradiction, ...).
    pub problems: Vec<String>,
    /// What the harness reports without failing the run (a leak that `on_secret_leak = "warn"`
    /// allows, a run that took longer than its timeout after the CI exited).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The implicit verdict check.
    pub verdict: Option<CheckOutcome>,
    /// Every declared check's outcome.
    pub checks: Vec<CheckOutcome>,
    /// Whether the canary passed.
    pub passed: bool,
}

impl RunRecord {
    /// A record for a run that has not started yet.
    pub fn new(canary: &ValidCanary<'_>, run_id: &str, artifacts: &Path) -> RunRecord {
        let declared = canary.canary();
        RunRecord {
            version: RECORD_VERSION,
            canary: declared.name().to_owned(),
            declared_at: declared.location().to_string(),
            recipe: canary.recipe().to_owned(),
            rev: canary.rev().to_owned(),
            expect: canary.expect().to_string(),
            description: declared.description_text().map(str::to_owned),
            owner: declared.owner_name().map(str::to_owned),
            run_id: run_id.to_owned(),
            attempt: 1,
            artifacts: artifacts.display().to_string(),
            argv: Vec::new(),
            program: None,
            workdir: None,
            env: Vec::new(),
            pid: None,
            exit: None,
            timed_out: false,
            leftover_processes: 0,
            leftovers: Vec::new(),
            started_at: None,
            ended_at: None,
            duration_secs: None,
            after_exit_secs: None,
            logs: BTreeMap::new(),
            secret_leaks: Vec::new(),
            results_path: None,
            results_error: None,
            results: None,
            problems: Vec::new(),
            warnings: Vec::new(),
            verdict: None,
            checks: Vec::new(),
            passed: false,
        }
    }

    /// The record with every secret value and pattern replaced by `[REDACTED]`, in every
    /// field (argv, results, messages, checks).
    pub fn redacted(self, redactor: &Redactor) -> RunRecord {
        if redactor.is_empty() {
            return self;
        }
        let Ok(json) = serde_json::to_string(&self) else {
            return self;
        };
        let clean = redactor.redact_str(&json);
        // Redaction replaces whole JSON string contents with plain text, so the result parses;
        // if it somehow does not, keep nothing that could leak.
        serde_json::from_str(&clean).unwrap_or_else(|error| {
            let mut empty = RunRecord {
                problems: Vec::new(),
                ..self
            };
            empty.argv.clear();
            empty.results = None;
            empty.checks.clear();
            empty.problems.push(format!(
                "the record could not be redacted safely ({error}); its details were dropped"
            ));
            empty.passed = false;
            empty
        })
    }

    /// Writes the record as pretty JSON, atomically (a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, json)?;
        std::fs::rename(&temporary, path)
    }
}

fn first_attempt() -> u32 {
    1
}
