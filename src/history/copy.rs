//! Copying a history between backends: `coalmine history copy --from A --to B`, SQLite to
//! PostgreSQL for a team moving up to a server, and back. Every run with its batches of results
//! (tests and their tags come with them), its report files and every fix are recorded into B as
//! [`super::merge`] records them, so that a run B has already (the same ingest key and batch) is
//! not recorded twice: a copy that stopped half-way (each run is recorded whole or not at all)
//! is resumed by running it again. At the end the two histories are counted, runs, results (each
//! row read back), tests and fixes, and any difference is an error.

use std::path::Path;

use super::backend::History;
use super::error::HistoryError;
use super::merge::{Merged, merge_one};

/// What a copy found in both histories once done (equal, or the copy failed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Runs in the history copied to, as in the one copied from.
    pub runs: usize,
    /// Result rows.
    pub results: usize,
    /// Tests.
    pub tests: usize,
    /// Fixes.
    pub fixes: usize,
    /// What was recorded into the target by this copy (the rest it had already).
    pub merged: Merged,
}

/// The counts a copy compares.
fn counts(history: &History) -> Result<(usize, usize, usize, usize), HistoryError> {
    let runs = history.run_summaries(None)?.len();
    let mut results = 0usize;
    history.for_each_outcome(None, |_| results += 1)?;
    Ok((
        runs,
        results,
        history.tests()?.len(),
        history.fixes()?.len(),
    ))
}

/// Copies `from` (which must exist) into `to` (created when it is a file that does not exist;
/// a server database must exist), then compares their counts; see the module docs.
pub fn copy(from: &History, to: &mut History) -> Result<Copied, HistoryError> {
    if from.path() == to.path() {
        return Err(HistoryError::InvalidInput {
            path: to.path().to_path_buf(),
            reason: "--from and --to are the same history".to_owned(),
        });
    }
    let mut merged = Merged::default();
    merge_one(to, from, &mut merged)?;
    let source = counts(from)?;
    let target = counts(to)?;
    if source != target {
        return Err(HistoryError::InvalidInput {
            path: to.path().to_path_buf(),
            reason: format!(
                "the copy does not add up: {} has {} run(s), {} result(s), {} test(s), {} \
                 fix(es), the copy {} run(s), {} result(s), {} test(s), {} fix(es) (did it hold \
                 other runs before?); what was copied stays, and copying again adds only what \
                 is missing",
                from.path().display(),
                source.0,
                source.1,
                source.2,
                source.3,
                target.0,
                target.1,
                target.2,
                target.3
            ),
        });
    }
    Ok(Copied {
        runs: source.0,
        results: source.1,
        tests: source.2,
        fixes: source.3,
        merged,
    })
}

/// Opens the history `location` for [`copy`] to read: it must exist.
pub fn open_source(location: &Path) -> Result<History, HistoryError> {
    if !History::is_server(location) && !location.is_file() {
        return Err(HistoryError::InvalidInput {
            path: location.to_path_buf(),
            reason: "there is no history to copy from there: check --from".to_owned(),
        });
    }
    History::open_existing(location)
}
