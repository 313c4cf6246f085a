//! [`History`], the one store interface every command and the harness's recorder use, over two
//! backends: the embedded SQLite file ([`SqliteHistory`], the default) and a PostgreSQL server
//! ([`PgHistory`], for a fleet of CI machines sharing one history).
//!
//! An enum rather than a trait object: the callers hold a concrete `History` (in a `Mutex` in
//! the recorder, by value in the commands), the streaming reads take closures (`impl FnMut`,
//! which a `dyn` trait cannot), and a `match` in every method makes each backend answer every
//! operation, checked by the compiler, with static dispatch and no generic parameter leaking
//! into the command code. Which backend a location names is decided once, here: a
//! `postgres://` or `postgresql://` URL (also as the last part of a configured path joined to
//! harness.toml's folder) is a server, anything else a file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use super::error::HistoryError;
use super::files::FileDigest;
use super::merge_target::MergeTarget;
use super::model::{
    FixRow, NewResult, NewRun, OutcomeRow, Recorded, ResultRow, RunRow, RunSummary, Target,
    TestInfo,
};
use super::pg::PgHistory;
use super::store::{DEFAULT_LOCK_TIMEOUT, DEFAULT_RELATIVE_PATH, HISTORY_ENV, SqliteHistory};

/// The outcome history, in a SQLite file or on a PostgreSQL server.
///
/// Times are kept to the millisecond. A `History` is one connection: open one per thread or
/// process; any number of them may write into the same history at once.
#[derive(Debug)]
pub struct History {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Sqlite(SqliteHistory),
    Postgres(PgHistory),
}

/// Calls the same method on whichever backend is open.
macro_rules! each {
    ($self:expr, $history:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($history) => $call,
            Backend::Postgres($history) => $call,
        }
    };
    (mut $self:expr, $history:ident => $call:expr) => {
        match &mut $self.backend {
            Backend::Sqlite($history) => $call,
            Backend::Postgres($history) => $call,
        }
    };
}

impl History {
    /// Opens the history at `location`: a SQLite file, created (with its parent folders) if
    /// absent (see [`SqliteHistory::open`]), or a `postgres://` URL, whose database must exist
    /// and is given coalmine's tables if it has none (see [`PgHistory::open`]). Either way an
    /// older schema is migrated forward, and a history of a newer schema or another
    /// application's database is refused untouched.
    pub fn open(location: &Path) -> Result<History, HistoryError> {
        Self::open_with_lock_timeout(location, DEFAULT_LOCK_TIMEOUT)
    }

    /// [`History::open`] with another lock timeout (see [`History::set_lock_timeout`]).
    pub fn open_with_lock_timeout(
        location: &Path,
        lock_timeout: Duration,
    ) -> Result<History, HistoryError> {
        let backend = match super::pg::url_of(location) {
            Some(url) => Backend::Postgres(PgHistory::open(&url, lock_timeout, true)?),
            None => Backend::Sqlite(SqliteHistory::open_with_lock_timeout(
                location,
                lock_timeout,
            )?),
        };
        Ok(History { backend })
    }

    /// [`History::open`] for the commands that only read: a server database without a history
    /// is refused with [`HistoryError::NoServerHistory`] rather than given empty tables. (A
    /// file that does not exist is the caller's to refuse, before opening it.)
    pub fn open_existing(location: &Path) -> Result<History, HistoryError> {
        match super::pg::url_of(location) {
            Some(url) => Ok(History {
                backend: Backend::Postgres(PgHistory::open(&url, DEFAULT_LOCK_TIMEOUT, false)?),
            }),
            None => Self::open(location),
        }
    }

    /// Whether `location` names a PostgreSQL server rather than a file.
    pub fn is_server(location: &Path) -> bool {
        super::pg::url_of(location).is_some()
    }

    /// The location from `COALMINE_HISTORY` if set (and not empty), else the configured path
    /// (`[history] path` in `harness.toml`) relative to `root`, else
    /// `root/.coalmine/history.db`. A relative `COALMINE_HISTORY` is taken as given, relative
    /// to the current folder; a URL is a URL wherever it comes from.
    pub fn resolve_path(configured: Option<&Path>, root: &Path) -> PathBuf {
        Self::resolve_path_from(std::env::var_os(HISTORY_ENV).as_deref(), configured, root)
    }

    /// [`History::resolve_path`] with the value of `COALMINE_HISTORY` given rather than read.
    pub fn resolve_path_from(
        env: Option<&OsStr>,
        configured: Option<&Path>,
        root: &Path,
    ) -> PathBuf {
        if let Some(value) = env.filter(|value| !value.is_empty()) {
            return PathBuf::from(value);
        }
        match configured {
            Some(path) if super::pg::url_of(path).is_some() => path.to_path_buf(),
            Some(path) => root.join(path),
            None => root.join(DEFAULT_RELATIVE_PATH),
        }
    }

    /// The database file, or the server's URL with its password masked.
    pub fn path(&self) -> &Path {
        each!(self, history => history.path())
    }

    /// Whether this history is on a PostgreSQL server.
    pub fn on_server(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Which server and database a PostgreSQL history is in, as the server tells it (the same
    /// text for two URLs that reach one database by different hosts or a socket); `None` for a
    /// SQLite file.
    pub(crate) fn server_identity(&self) -> Result<Option<String>, HistoryError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(history) => history.server_identity().map(Some),
        }
    }

    /// The schema version of the open database (always the current one once opened).
    pub fn schema_version(&self) -> u32 {
        each!(self, history => history.schema_version())
    }

    /// How long a write waits for other writers before failing with [`HistoryError::Locked`]
    /// (60 s by default).
    pub fn set_lock_timeout(&mut self, timeout: Duration) -> Result<(), HistoryError> {
        each!(mut self, history => history.set_lock_timeout(timeout))
    }

    /// Records a run and its results in one transaction, with the final counts on the run row.
    ///
    /// With an [`ingest_key`](NewRun::ingest_key) already recorded, writes nothing and returns
    /// [`Recorded::AlreadyRecorded`]. A result with an empty test name or an attempt of 0 is
    /// refused with [`HistoryError::InvalidInput`] before anything is written. Tests seen for
    /// the first time are added. A test's stored tags become those of a result that reports
    /// them ([`NewResult::tags`]) unless a run that started later reported them too: the most
    /// recent report wins, whatever the order of recording (see [`super::tags`]).
    pub fn record_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        each!(mut self, history => history.write_run(Target::New(run), results, &[]))
    }

    /// [`record_run`](Self::record_run) for a run read from report files whose SHA-256 digests
    /// are `files`: each digest is kept with the run ([`History::runs_of_files`]), so that the
    /// same file ingested again is recognised. Nothing is written when a run with the same
    /// ingest key was recorded (by another ingest that ran meanwhile).
    pub fn record_ingested_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
        files: &[FileDigest],
    ) -> Result<Recorded, HistoryError> {
        each!(mut self, history => history.write_run(Target::New(run), results, files))
    }

    /// Replaces the results of the ingested run `run_id` with `results` and adds the report
    /// files `files` to it: how files that were skipped when the run was ingested (malformed
    /// then, fixed since) complete it. `results` must be the whole run, merged by the caller
    /// from [`History::ingested_results`] and the new files. The run's counts become those of
    /// `results`; its lane, kind, commit and start stay. Refused, with nothing written, when
    /// the run does not exist.
    pub fn complete_ingested_run(
        &mut self,
        run_id: i64,
        results: &[NewResult],
        files: &[FileDigest],
    ) -> Result<Recorded, HistoryError> {
        each!(mut self, history => history.write_run(Target::Replace(run_id), results, files))
    }

    /// Adds results to the run whose ingest key is `run.ingest_key`, creating the run from
    /// `run` when no run has that key yet: how the processes of one test run (nextest starts one
    /// per test) record into a single run. The run's counts grow by this batch's counts; its
    /// start and source stay those of its first batch. A run of that key with another lane,
    /// kind or commit is refused ([`HistoryError::InvalidInput`]), nothing written. Without an
    /// ingest key this is [`record_run`](Self::record_run).
    pub fn append_to_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        each!(mut self, history => history.write_run(Target::Append(run), results, &[]))
    }

    /// Records that a fix for `test` landed at `commit` at time `at`. Recording the same test
    /// and commit again changes nothing. A test the history has not seen yet is added.
    pub fn record_fix(
        &mut self,
        test: &str,
        commit: &str,
        at: Timestamp,
    ) -> Result<(), HistoryError> {
        each!(mut self, history => history.record_fix(test, commit, at))
    }

    /// The runs that started at or after `since` (all runs with `None`), oldest first.
    pub fn runs(&self, since: Option<Timestamp>) -> Result<Vec<RunRow>, HistoryError> {
        Ok(self
            .run_summaries(since)?
            .into_iter()
            .map(|summary| summary.run)
            .collect())
    }

    /// [`History::runs`] with each run's counts, ingest key and recording time.
    pub fn run_summaries(&self, since: Option<Timestamp>) -> Result<Vec<RunSummary>, HistoryError> {
        each!(self, history => history.run_summaries(since))
    }

    /// The run with this id, with its counts, if there is one.
    pub fn run_summary(&self, id: i64) -> Result<Option<RunSummary>, HistoryError> {
        each!(self, history => history.run_summary(id))
    }

    /// The run recorded with this ingest key, if any.
    pub fn run_with_key(&self, key: &str) -> Result<Option<RunSummary>, HistoryError> {
        each!(self, history => history.run_with_key(key))
    }

    /// Calls `f` with every result of the runs that started at or after `since` (all with
    /// `None`), ordered by run start, then run, then recording order. Streams: memory stays
    /// small whatever the number of results (`f` gets a row that is reused between calls).
    /// Reads one consistent snapshot, unaffected by concurrent writers.
    pub fn for_each_result(
        &self,
        since: Option<Timestamp>,
        f: impl FnMut(&ResultRow),
    ) -> Result<(), HistoryError> {
        each!(self, history => history.for_each_result(since, f))
    }

    /// Calls `f` with the compact form of every result of the runs that started at or after
    /// `since`, in the order of [`History::for_each_result`]: no strings, the test as its
    /// [`TestInfo::id`]. The fastest way to read millions of results.
    pub fn for_each_outcome(
        &self,
        since: Option<Timestamp>,
        f: impl FnMut(OutcomeRow),
    ) -> Result<(), HistoryError> {
        each!(self, history => history.for_each_outcome(since, f))
    }

    /// Every test the history has seen, by name, with its tags.
    pub fn tests(&self) -> Result<Vec<TestInfo>, HistoryError> {
        each!(self, history => history.tests())
    }

    /// Every recorded fix, oldest first.
    pub fn fixes(&self) -> Result<Vec<FixRow>, HistoryError> {
        each!(self, history => history.fixes())
    }

    /// The runs each file was recorded in, in the order of `files` (empty: never ingested).
    /// Runs ingested before the history kept its files (schema version 3 and earlier) are
    /// recognised by their whole ingest key only ([`History::run_with_key`]).
    pub fn runs_of_files(&self, files: &[FileDigest]) -> Result<Vec<Vec<i64>>, HistoryError> {
        each!(self, history => history.runs_of_files(files))
    }

    /// The results of run `run_id`, one list per recorded batch, in recording order (see
    /// [`History::ingested_results`] for the tags they carry).
    pub fn run_batches(&self, run_id: i64) -> Result<Vec<Vec<NewResult>>, HistoryError> {
        each!(self, history => history.run_batches(run_id))
    }

    /// The digests of the report files run `run_id` was ingested from.
    pub fn files_of_run(&self, run_id: i64) -> Result<Vec<FileDigest>, HistoryError> {
        each!(self, history => history.files_of_run(run_id))
    }

    /// Keeps `files` as report files of run `run_id` (those it has already are left as they
    /// are).
    pub fn add_files(&mut self, run_id: i64, files: &[FileDigest]) -> Result<(), HistoryError> {
        each!(mut self, history => history.add_files(run_id, files))
    }

    /// The results of run `run_id` as [`NewResult`]s, in recording order: what
    /// [`History::complete_ingested_run`] is given back, merged with new files. A result that
    /// reported its test's tags carries the test's stored tags (which are this run's, or a later
    /// run's that the run cannot override), so that recording it again changes no tags.
    pub fn ingested_results(&self, run_id: i64) -> Result<Vec<NewResult>, HistoryError> {
        each!(self, history => history.ingested_results(run_id))
    }
}

/// A merge into a SQLite history (the copy of INTO) or a `history copy` writes through the
/// history's own methods, each its own transaction.
impl MergeTarget for History {
    fn run_summaries(&mut self, since: Option<Timestamp>) -> Result<Vec<RunSummary>, HistoryError> {
        History::run_summaries(self, since)
    }

    fn run_with_key(&mut self, key: &str) -> Result<Option<RunSummary>, HistoryError> {
        History::run_with_key(self, key)
    }

    fn run_batches(&mut self, run_id: i64) -> Result<Vec<Vec<NewResult>>, HistoryError> {
        History::run_batches(self, run_id)
    }

    fn ingested_results(&mut self, run_id: i64) -> Result<Vec<NewResult>, HistoryError> {
        History::ingested_results(self, run_id)
    }

    fn record_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        History::record_run(self, run, results)
    }

    fn append_to_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        History::append_to_run(self, run, results)
    }

    fn add_files(&mut self, run_id: i64, files: &[FileDigest]) -> Result<(), HistoryError> {
        History::add_files(self, run_id, files)
    }

    fn record_fix(&mut self, test: &str, commit: &str, at: Timestamp) -> Result<(), HistoryError> {
        History::record_fix(self, test, commit, at)
    }
}
