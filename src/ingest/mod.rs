//! JUnit XML files and folders into the outcome history: what `coalmine ingest` does.
//!
//! [`ingest`] takes files and folders (searched recursively for `*.xml`), reads every file with
//! the streaming [`Junit`](crate::results::formats::Junit) adapter ([`read_inputs`]), turns
//! each `<testcase>` into a [`NewResult`] with a normalised test id, and records all of them as
//! **one run** ([`record`](fn@record)).
//!
//! Each step is a submodule, its public items re-exported here: `files` reads the files
//! ([`collect_files`], [`read_files`], [`read_inputs`]), `id` makes each testcase's id and tags
//! ([`test_id`], [`normalise`]), `merge` makes one run from the rows of several files, and
//! `record` writes the run into the history ([`record`](fn@record)). What they share
//! ([`RunInfo`], [`Parsed`], [`Report`], [`IngestError`], …) is here, with [`ingest`].
//!
//! # Test ids
//! A test's id is `<classname>::<name>`, or `<suite>::<name>` when the classname is empty (the
//! innermost `<testsuite>` name), or the bare name when both are empty. A testcase without a
//! name (jest writes `name=""` for a test with an empty title) gets the name [`UNNAMED`], so
//! that no id is empty or ends in `::`. Each part is normalised by [`normalise`]:
//! - `[QUARANTINE]` (any case) is removed: being quarantined is what `harness.toml` says, not
//!   part of a test's identity.
//! - Bracket tags such as `[sig-compute]`, `[release-blocker]`, `[test_id:1234]`, or a Ginkgo
//!   label list `[sig-network, Serial]`, are removed from the id and kept as the test's tags
//!   ([`NewResult::tags`], without brackets). A bracket group is a tag only where a word starts
//!   (at the start of the part, after whitespace, or right after another tag) and when each of
//!   its comma-separated pieces is a single word; so pytest's parameters (`test_add[1-2]`) and
//!   bracketed prose (`handles [a b]`) stay in the id. Ginkgo's `[It]` node marker is removed
//!   without becoming a tag.
//! - Runs of whitespace become one space, and the ends are trimmed.
//!
//! # One run from several files
//! Every file given (and every `*.xml` under every folder given) belongs to the same run. A
//! test id that occurs in **more than one file** is recorded once, with the worst outcome
//! ("failure wins": fail, then error, flaky pass, xpass, pass, xfail, skip, not run) and that
//! outcome's message and duration: the files are partial reports of one run, e.g. a shard and
//! its rerun. Within **one file**, every `<testcase>` is an execution of its own, as the file
//! says it (a parametrised test whose parameters are not in its name appears several times),
//! so a single file is recorded with exactly the counts it declares by its elements.
//! Retries inside one testcase (Surefire's `flakyFailure`/`rerunFailure`) are already folded
//! by the adapter into one outcome (`flaky-pass` when it passed in the end); every row is
//! recorded as attempt 1, so the run's counts are the testcases' counts.
//!
//! # Run identity
//! A run is what the user says it is:
//! - **a run id**: `--run-id ID`, else the CI job's id read from the environment
//!   ([`identity`]: GitHub Actions, GitLab CI, Buildkite, Drone, Jenkins, Prow). Within a lane,
//!   the same id is the same run: its files again record nothing, files it lacks complete it,
//!   and the id given with another kind or commit is refused. Its ingest key is
//!   `run-id:<lane>\n<id>`.
//! - **else its details and its files**: lane, kind, commit, the start when `--at` is given,
//!   and the report files (each known to the history by the SHA-256 of its bytes, kept with
//!   its run in [`crate::history::files`], so the same file under another name is the same
//!   file). Its ingest key is `junit-run:<hex>`, the SHA-256 of all of them.
//!
//! So two distinct runs whose reports are byte for byte the same (durations written as 0, no
//! timestamp: common) are two runs, as long as something tells them apart: the commit, the
//! kind, `--at`, or a run id. [`record`](fn@record) looks the files up first; without a run id:
//! - none was recorded, or all were but only in runs with other details: a new run;
//! - all were, in the run with these details: nothing is recorded
//!   ([`Recorded::AlreadyRecorded`]);
//! - some were, in the run with these details: the others **complete** it. This is how a file
//!   that was skipped as malformed is added once fixed: ingest the same folder again, with the
//!   same lane, kind and commit, and the run gets the fixed file's results merged in ("failure
//!   wins", as if all files had been read together) instead of being recorded a second time
//!   ([`Recorded::Completed`]);
//! - some were, in a run with other details, and others are new: the recorded ones are taken
//!   for another run's report left beside the new ones, and refused ([`IngestError::OtherRun`]:
//!   a run id or `--at` says that they all are this run's);
//! - they were recorded in two runs with these details: refused ([`IngestError::SeveralRuns`]).
//!
//! Runs recorded under a run id are never the run of an ingest without one. Runs ingested
//! before the history kept its files (schema version 3 and earlier) are recognised by the key
//! of their files alone (`junit-sha256:<hex>`), with the same details.
//!
//! SHA-256 (the `sha2` crate of RustCrypto: pure Rust, maintained, using the CPU's SHA
//! instructions where present) is collision-resistant beyond any need here, and hashing is a
//! small part of the cost of an ingest (see `examples/ingest_bench.rs`).
//!
//! # Tags in the history
//! Every result reports its test's tags (an empty list when its name has none), and the history
//! keeps those of the most recent run, whatever the order in which reports are ingested (see
//! [`History::record_run`]).
//!
//! # Malformed files
//! A file the adapter cannot read is reported with its path, line and column
//! ([`Skipped`]) and left out whole (tests read before the error are dropped); the rest is
//! ingested. The caller decides what that means for its exit code (`coalmine ingest` exits 3).

mod files;
mod id;
pub mod identity;
mod merge;
mod record;
#[cfg(test)]
mod tests;

pub use files::{collect_files, read_files, read_inputs};
pub use id::{normalise, test_id};
pub use identity::{CiRunId, ci_run_id};
pub use record::{DETAILS_PREFIX, RUN_ID_PREFIX, record, run_id_key};

use std::fmt;
use std::io;
use std::path::PathBuf;

use jiff::Timestamp;

use crate::history::{FileDigest, History, HistoryError, NewResult, Recorded, RunKind};
use crate::results::Outcome;

/// The prefix of the ingest keys written by [`ingest`].
pub const KEY_PREFIX: &str = "junit-sha256:";

/// The name part of the id of a testcase whose name is empty.
pub const UNNAMED: &str = "(unnamed)";

/// The run the files are recorded as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The CI job name, e.g. `periodic-e2e-sig-compute`.
    pub lane: String,
    /// The kind of job.
    pub kind: RunKind,
    /// The commit the run tested.
    pub commit: String,
    /// When the run started.
    pub started_at: Timestamp,
    /// Whether `started_at` was given (`--at`), so that it is part of the run's identity,
    /// rather than the time of the ingest.
    pub at_given: bool,
    /// The run's own id (`--run-id`, or a CI job id from the environment): when given, it is
    /// the run's identity, whatever its files.
    pub run_id: Option<String>,
}

/// A file left out of the run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file (or folder).
    pub path: PathBuf,
    /// The 1-based line and column of the problem, when it is in the content.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}; the file was skipped: fix or remove it",
                self.path.display(),
                self.reason
            ),
            None => write!(
                f,
                "{}: {}; it was skipped: fix it, or leave it out of the inputs",
                self.path.display(),
                self.reason
            ),
        }
    }
}

/// Outcome counts of the results recorded (after merging), as JUnit says them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Test results recorded.
    pub tests: u64,
    /// Passed, including flaky passes and unexpected passes (xpass).
    pub passed: u64,
    /// With a `<failure>`.
    pub failed: u64,
    /// With an `<error>`.
    pub errored: u64,
    /// With a `<skipped>` (pytest's xfail included, as JUnit writes it).
    pub skipped: u64,
    /// Among the passed: those that passed only on a retry (`flakyFailure`, `rerunFailure`).
    pub flaky: u64,
}

impl Tally {
    /// The counts of `results`.
    pub fn of(results: &[NewResult]) -> Tally {
        let mut tally = Tally::default();
        for result in results {
            tally.add(result.outcome);
        }
        tally
    }

    fn add(&mut self, outcome: Outcome) {
        self.tests += 1;
        match outcome {
            Outcome::Pass | Outcome::Xpass => self.passed += 1,
            Outcome::FlakyPass => {
                self.passed += 1;
                self.flaky += 1;
            }
            Outcome::Fail => self.failed += 1,
            Outcome::Error => self.errored += 1,
            Outcome::Skip | Outcome::Xfail | Outcome::NotRun => self.skipped += 1,
        }
    }
}

/// What the files held, before anything is recorded: see [`read_files`].
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The results of the run, merged (see the module docs).
    pub results: Vec<NewResult>,
    /// The ingest key (`None` when no file could be read).
    pub key: Option<String>,
    /// The files read.
    pub files: Vec<PathBuf>,
    /// The files left out.
    pub skipped: Vec<Skipped>,
    /// Testcases read from the files read, before merging.
    pub testcases: u64,
    /// Testcases without a name (recorded as `<classname or suite>::(unnamed)`).
    pub unnamed: u64,
    /// The files that hold them.
    pub unnamed_in: Vec<PathBuf>,
    /// Counts of [`Parsed::results`].
    pub tally: Tally,
    /// The SHA-256 digest of each file read, in the order of [`Parsed::files`].
    pub digests: Vec<FileDigest>,
}

/// What [`ingest`] (or [`record`](fn@record)) did.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was read.
    pub parsed: Parsed,
    /// What the history did with it; `None` when there was nothing to record.
    pub recorded: Option<Recorded>,
    /// The files that were new to the history (all of them for a new run, the files added
    /// for a completed one, none when everything was recorded before).
    pub new_files: Vec<PathBuf>,
}

/// An ingest that could not start or could not record; nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A path given does not exist or cannot be looked at.
    #[error("{}: {source}; check the path (give JUnit XML files or folders holding them)", path.display())]
    Input {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// No `*.xml` file was found in anything given.
    #[error(
        "no JUnit XML file (*.xml) in {}; give the files or the folders the test runner wrote them to",
        list(paths)
    )]
    NoFiles {
        /// The paths given.
        paths: Vec<PathBuf>,
    },
    /// Every file found was skipped: nothing was read.
    #[error(
        "nothing could be read from the inputs: {}; nothing was recorded",
        skipped.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NothingRead {
        /// Each file (or empty folder) and why it was skipped.
        skipped: Vec<Skipped>,
    },
    /// The run id given names a run recorded with another kind or commit.
    #[error(
        "run id {id:?} of lane {lane} was recorded before as run {run_id} with kind {}, commit \
         {commit}, and is given now with kind {}, commit {given_commit}: nothing was recorded. \
         A run id names one run: give that run's details, or another id",
        kind.as_str(),
        given_kind.as_str()
    )]
    RunIdConflict {
        /// The run id.
        id: String,
        /// The lane.
        lane: String,
        /// The run recorded under it.
        run_id: i64,
        /// Its kind.
        kind: RunKind,
        /// Its commit.
        commit: String,
        /// The kind given now.
        given_kind: RunKind,
        /// The commit given now.
        given_commit: String,
    },
    /// Files given together were recorded before as parts of different runs.
    #[error(
        "these files were recorded before as parts of different runs: {}; nothing was \
         recorded: give the files of one run together (each run's files once)",
        files.iter().map(|(path, run)| format!("{} (run {run})", path.display())).collect::<Vec<_>>().join(", ")
    )]
    SeveralRuns {
        /// Each file recorded before, and its run.
        files: Vec<(PathBuf, i64)>,
    },
    /// Some files were recorded before as run `run_id`, the others are new, and the lane,
    /// kind or commit given are not that run's.
    #[error(
        "{recorded} of the files given were recorded before as run {run_id} (lane {lane}, \
         kind {}, commit {commit}) and {} file(s) are new ({}), but the run given is another: nothing was \
         recorded. If the new files belong to run {run_id} (skipped then, fixed since), give \
         --lane {lane} --kind {} --commit {commit}; if they are another run's report, ingest \
         them alone; if all of them are this run's reports, say which run it is with --run-id \
         (or --at)",
        kind.as_str(),
        new_files.len(),
        list(new_files),
        kind.as_str()
    )]
    OtherRun {
        /// The run recorded before.
        run_id: i64,
        /// Its lane.
        lane: String,
        /// Its kind.
        kind: RunKind,
        /// Its commit.
        commit: String,
        /// How many of the files given it was recorded from.
        recorded: usize,
        /// The files it does not have.
        new_files: Vec<PathBuf>,
    },
    /// A file changed (or vanished) while it was being ingested.
    #[error("{}: {detail}; nothing was recorded: ingest again once the files are final", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// What happened.
        detail: String,
    },
    /// The history refused or failed.
    #[error(transparent)]
    History(#[from] HistoryError),
}

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    names.join(", ")
}

/// Reads the JUnit files and folders `inputs` and records them as one run in `history`:
/// [`read_inputs`], then [`record`](fn@record).
pub fn ingest(
    history: &mut History,
    inputs: &[PathBuf],
    run: &RunInfo,
) -> Result<Report, IngestError> {
    let parsed = read_inputs(inputs)?;
    record(history, parsed, inputs, run)
}
