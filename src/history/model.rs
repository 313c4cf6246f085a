//! The rows of the outcome history, shared by the SQLite store (which reads and writes them)
//! and the quarantine policy (a pure function of them).

use jiff::Timestamp;

use crate::results::Outcome;

/// What kind of CI job a run was. Only trusted kinds count for flakiness.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
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

/// The final outcome counts of a run, stored on its row when it is recorded.
///
/// A test retried within the run counts once, by its last attempt (the highest attempt number);
/// when no result of the run has an attempt above 1, every result counts once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct RunCounts {
    /// Tests whose last attempt passed (`pass` or `flaky-pass`).
    pub passed: u32,
    /// Tests whose last attempt failed an assertion (`fail`).
    pub failed: u32,
    /// Tests whose last attempt could not run to an assertion (`error`).
    pub errored: u32,
    /// Tests skipped on purpose (`skip`).
    pub skipped: u32,
    /// Every test counted, including `xfail`, `xpass` and `not-run`, which have no column of
    /// their own.
    pub total: u32,
}

impl RunCounts {
    /// The tests that failed or errored: what decides whether a run is systemic.
    pub fn failures(&self) -> u32 {
        self.failed.saturating_add(self.errored)
    }
}

/// A run together with what the history keeps about it beyond [`RunRow`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// The run itself.
    pub run: RunRow,
    /// Its outcome counts.
    pub counts: RunCounts,
    /// The content hash it was ingested under, if any.
    pub ingest_key: Option<String>,
    /// When it was written into the history.
    pub recorded_at: Timestamp,
}

/// A run to record: see [`History::record_run`](crate::history::History::record_run).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// The CI job name, e.g. `periodic-e2e-sig-compute`.
    pub lane: String,
    /// The kind of job.
    pub kind: RunKind,
    /// The commit the run tested (`unknown` when not known).
    pub commit: String,
    /// When the run started (kept to the millisecond).
    pub started_at: Timestamp,
    /// Where the records came from (`coalmine harness`, an ingested file path, ...).
    pub source: String,
    /// A key that identifies the run's content, e.g. a hash of the ingested file. A second
    /// [`record_run`](crate::history::History::record_run) with a key already recorded records
    /// nothing and says [`Recorded::AlreadyRecorded`]. `None` for runs that cannot repeat
    /// (a live harness run).
    pub ingest_key: Option<String>,
}

/// One test execution to record within a [`NewRun`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewResult {
    /// The test's normalised name: its stable id across runs (`[QUARANTINE]` and bracket tags
    /// already stripped by the ingest).
    pub test: String,
    /// The test's bracket tags as the ingest parsed them, without brackets (`sig-compute`,
    /// `release-blocker`, `test_id:1234`). `None` when the source says nothing about tags (the
    /// stored tags are left alone); `Some` replaces the stored tags (an empty list clears them)
    /// unless a more recent run already set them.
    pub tags: Option<Vec<String>>,
    /// The outcome of this attempt.
    pub outcome: Outcome,
    /// How long it took, in seconds (a negative or non-finite value is stored as unknown).
    pub duration_secs: Option<f64>,
    /// The attempt number within the run, from 1.
    pub attempt: u32,
    /// The failure message, when there is one (already redacted of secrets).
    pub message: Option<String>,
}

impl NewResult {
    /// A first attempt of `test` with `outcome`, no tags, duration or message.
    pub fn new(test: impl Into<String>, outcome: Outcome) -> NewResult {
        NewResult {
            test: test.into(),
            tags: None,
            outcome,
            duration_secs: None,
            attempt: 1,
            message: None,
        }
    }
}

/// What [`History::record_run`](crate::history::History::record_run) and its variants did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Recorded {
    /// The run was recorded under this id, with this many results.
    New {
        /// The new run's id.
        run_id: i64,
        /// How many result rows were written.
        results: usize,
    },
    /// A run with the same ingest key was already recorded, under this id; nothing was written.
    AlreadyRecorded {
        /// The id of the run recorded earlier.
        run_id: i64,
    },
    /// Report files were added to an ingested run recorded earlier, whose results were
    /// replaced by the merge of what it had and the new files
    /// ([`History::complete_ingested_run`](crate::history::History::complete_ingested_run)).
    Completed {
        /// The run's id.
        run_id: i64,
        /// How many result rows the run has now.
        results: usize,
    },
}

impl Recorded {
    /// The run's id, new or earlier.
    pub fn run_id(self) -> i64 {
        match self {
            Recorded::New { run_id, .. }
            | Recorded::AlreadyRecorded { run_id }
            | Recorded::Completed { run_id, .. } => run_id,
        }
    }

    /// Whether this call wrote the run.
    pub fn is_new(self) -> bool {
        matches!(self, Recorded::New { .. })
    }
}

/// A test the history has seen, with its attributes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestInfo {
    /// The test's id in the history (stable; what [`OutcomeRow::test_id`] refers to).
    pub id: i64,
    /// Its normalised name.
    pub name: String,
    /// Its bracket tags as last reported, sorted, without brackets (`release-blocker`,
    /// `sig-compute`, `test_id:1234`).
    pub tags: Vec<String>,
}

impl TestInfo {
    /// Whether the test carries this exact tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|own| own == tag)
    }

    /// The value of a `key:value` tag (`attribute("test_id")` on `test_id:1234` is `1234`).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.tags.iter().find_map(|tag| {
            tag.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
        })
    }
}

/// A recorded fix: a change meant to fix a test landed at a commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FixRow {
    /// The test's normalised name.
    pub test: String,
    /// The commit the fix landed in.
    pub commit: String,
    /// When it landed (kept to the millisecond).
    pub at: Timestamp,
    /// When it was written into the history.
    pub recorded_at: Timestamp,
}

/// One test execution in its most compact form, for reading millions of them (see
/// [`History::for_each_outcome`](crate::history::History::for_each_outcome)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeRow {
    /// The run it belongs to.
    pub run_id: i64,
    /// The test's id ([`TestInfo::id`]).
    pub test_id: i64,
    /// The attempt number within the run, from 1.
    pub attempt: u32,
    /// The outcome of this attempt.
    pub outcome: Outcome,
}

/// What a recording writes into: how [`History::record_run`](crate::history::History::record_run)
/// and its variants reach each backend's one `write_run`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'r> {
    /// A new run; nothing is written when its ingest key is recorded already.
    New(&'r NewRun),
    /// Added to the run with the same ingest key, created when there is none.
    Append(&'r NewRun),
    /// The recorded run with this id, whose results are replaced.
    Replace(i64),
}
