//! What [`super::merge`] merges into: [`MergeTarget`], the few reads and writes a merge needs,
//! implemented by [`History`](super::History) (a SQLite copy of INTO, or the target of a
//! `history copy`) and by [`PgTransaction`](super::pg::PgTransaction), the one server
//! transaction a merge into PostgreSQL runs in (its reads see that transaction's snapshot and
//! its own writes; nothing is committed until the whole merge is).

use jiff::Timestamp;

use super::error::HistoryError;
use super::files::FileDigest;
use super::model::{NewResult, NewRun, Recorded, RunSummary};

/// A history a merge writes into; each method is the [`History`](super::History) method of the
/// same name.
pub(crate) trait MergeTarget {
    /// See [`History::run_summaries`](super::History::run_summaries).
    fn run_summaries(&mut self, since: Option<Timestamp>) -> Result<Vec<RunSummary>, HistoryError>;

    /// See [`History::run_with_key`](super::History::run_with_key).
    fn run_with_key(&mut self, key: &str) -> Result<Option<RunSummary>, HistoryError>;

    /// See [`History::run_batches`](super::History::run_batches).
    fn run_batches(&mut self, run_id: i64) -> Result<Vec<Vec<NewResult>>, HistoryError>;

    /// See [`History::ingested_results`](super::History::ingested_results).
    fn ingested_results(&mut self, run_id: i64) -> Result<Vec<NewResult>, HistoryError>;

    /// See [`History::record_run`](super::History::record_run).
    fn record_run(&mut self, run: &NewRun, results: &[NewResult])
    -> Result<Recorded, HistoryError>;

    /// See [`History::append_to_run`](super::History::append_to_run).
    fn append_to_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError>;

    /// See [`History::add_files`](super::History::add_files).
    fn add_files(&mut self, run_id: i64, files: &[FileDigest]) -> Result<(), HistoryError>;

    /// See [`History::record_fix`](super::History::record_fix).
    fn record_fix(&mut self, test: &str, commit: &str, at: Timestamp) -> Result<(), HistoryError>;
}
