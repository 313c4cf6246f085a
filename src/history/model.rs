//! The rows of the outcome history, shared by the SQLite store (which reads and writes them)
//! and the quarantine policy (a pure function of them).

use jiff::Timestamp;

use crate::results::Outcome;

/// What kind of CI job a run was. Only trusted kinds count for flakiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A periodic job on the main branch: trusted.
    Periodic,
    /// A presubmit on a change not merged yet: not trusted (the change may be at fault).
    Presubmit,
    /// A presubmit that ran on merged code (a merge batch): trusted.
    Merged,
    /// A developer's local run: not trusted.
    Local,
}

impl RunKind {
    /// Every kind, as spelled on the command line and in the database.
    pub const NAMES: &'static [&'static str] = &["periodic", "presubmit", "merged", "local"];

    /// The spelling used on the command line and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Periodic => "periodic",
            RunKind::Presubmit => "presubmit",
            RunKind::Merged => "merged",
            RunKind::Local => "local",
        }
    }

    /// Parses a kind (exact spelling).
    pub fn parse(text: &str) -> Option<RunKind> {
        Some(match text {
            "periodic" => RunKind::Periodic,
            "presubmit" => RunKind::Presubmit,
            "merged" => RunKind::Merged,
            "local" => RunKind::Local,
            _ => return None,
        })
    }

    /// Whether runs of this kind count for flakiness (periodic jobs, presubmits on merged code).
    pub fn is_trusted(self) -> bool {
        matches!(self, RunKind::Periodic | RunKind::Merged)
    }
}

/// One recorded run of a suite: a CI job, a local `cargo test`, an ingested JUnit folder.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRow {
    /// The run's id in the history.
    pub id: i64,
    /// The CI job name, e.g. `periodic-e2e-sig-compute`.
    pub lane: String,
    /// The kind of job.
    pub kind: RunKind,
    /// The commit the run tested (`unknown` when not known).
    pub commit: String,
    /// When the run started.
    pub started_at: Timestamp,
    /// Where the records came from (`coalmine harness`, an ingested file path, ...).
    pub source: String,
}

/// One test execution within a run. A test retried within a run has one row per attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResultRow {
    /// The run it belongs to.
    pub run_id: i64,
    /// The test's stable id (its normalised name, e.g. `canary::good-simple` or
    /// `custom-html::custom::test_content_type_html_and_txt`).
    pub test: String,
    /// The outcome of this attempt.
    pub outcome: Outcome,
    /// How long it took, in seconds.
    pub duration_secs: Option<f64>,
    /// The attempt number within the run, from 1.
    pub attempt: u32,
    /// The failure message, when there is one (already redacted of secrets).
    pub message: Option<String>,
}
