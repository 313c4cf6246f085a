//! Merging histories: `coalmine history merge INTO FROM...` adds what each FROM history holds
//! to INTO (runs and their results, tests with their tags, fixes, the report files of ingested
//! runs), with the run identity deciding what is the same run:
//! - a run with an ingest key (every run coalmine records has one: `run-id:…` and `junit-run:…`
//!   for ingests, `nextest:…` and `harness:…` for canary runs) is the run INTO has under that
//!   key, if any: the batches of results INTO's run does not have yet are added to it (the
//!   shards of one nextest run, recorded on several machines under one key, become one run),
//!   those it has are not added again, and the report files join it; a run of that key that
//!   says another lane, kind or commit fails the merge;
//! - a run without a key (histories of schema version 1) is the same as a run of INTO with
//!   the same lane, kind, commit, start, source and results, else a new run.
//!
//! A batch INTO has is known by its results as stored (whether each was tagged, not the tags,
//! which INTO's later runs may have changed; text as a server stores it, NUL as U+FFFD), so
//! merging the same history twice adds nothing. Fixes are merged as `quarantine fixed`
//! records them (the same test and commit once).
//!
//! INTO is a SQLite file or a PostgreSQL server (bringing per-shard or older SQLite histories
//! into the team's server); each FROM is either too, and is only read (opened as every command
//! opens a history: an older file is migrated; a server database without a history is refused).
//! A FROM that is INTO itself (the same file, or the same server and database, however the URL
//! reaches it) is refused. All or nothing, and checked (INTO's runs and results counted against
//! what was added), either way:
//! - into a file: INTO is copied beside itself, the copy is merged into, checked, and renamed
//!   over INTO; on any failure the copy is removed and INTO is as it was. Nothing may write INTO
//!   while it is merged into (a later CI job that merges the shards' histories, after they
//!   finished, is the setup this is for);
//! - into a server: the whole merge is one REPEATABLE READ transaction
//!   (`PgHistory::merge_transaction`), through `MergeTarget` as the file's copy is: a
//!   failure anywhere (a source that cannot be read, a dropped connection, a check that does
//!   not hold) commits nothing. Other jobs may record meanwhile: the merge sees one snapshot
//!   and its own writes, so its check counts only what it added; merges into one server follow
//!   one another (the same run is never merged twice at once), and a recording that touches
//!   what the merge writes makes the server abort one of them, the merge then retried whole.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::backend::History;
use super::error::HistoryError;
use super::merge_target::MergeTarget;
use super::model::{NewResult, NewRun, RunSummary};
use super::pg::{PgHistory, clean};
use super::store::{DEFAULT_LOCK_TIMEOUT, mask_url};

/// What a merge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Runs INTO did not have, added.
    pub runs_added: usize,
    /// Runs INTO had, to which batches of results were added.
    pub runs_extended: usize,
    /// Runs INTO had already, with every batch: nothing added.
    pub runs_already: usize,
    /// Result batches added (to new or existing runs).
    pub batches_added: usize,
    /// Results added.
    pub results_added: usize,
    /// Fixes read (recording one INTO has already changes nothing).
    pub fixes: usize,
}

/// Merges the histories `from` (SQLite files or `postgres://` URLs) into `into` (a SQLite file,
/// created when it does not exist, or a `postgres://` URL, whose database must exist); see the
/// module docs.
pub fn merge(into: &Path, from: &[PathBuf]) -> Result<Merged, HistoryError> {
    let invalid = |reason: String| HistoryError::InvalidInput {
        path: shown(into),
        reason,
    };
    if from.is_empty() {
        return Err(invalid("no history to merge from was given".to_owned()));
    }
    let same_file = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b))
    {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for source in from {
        if History::is_server(source) {
            continue;
        }
        if same_file(source, into) {
            return Err(invalid(format!(
                "{} is the history merged into: give the other histories",
                source.display()
            )));
        }
        if !source.is_file() {
            return Err(invalid(format!(
                "{} is not a history file: check the path",
                source.display()
            )));
        }
    }
    // Every source must open (a coalmine history) before INTO is touched.
    let mut sources = Vec::with_capacity(from.len());
    for source in from {
        sources.push(match History::is_server(source) {
            true => History::open_existing(source)?,
            false => History::open(source)?,
        });
    }
    match super::pg::url_of(into) {
        Some(url) => merge_into_server(&url, &sources),
        None => merge_into_file(into, &sources),
    }
}

/// A history's location as messages show it: a URL's password masked.
fn shown(location: &Path) -> PathBuf {
    PathBuf::from(mask_url(&location.to_string_lossy()))
}

/// The SQLite merge: into a copy of INTO, renamed over it once merged and checked.
fn merge_into_file(into: &Path, sources: &[History]) -> Result<Merged, HistoryError> {
    let copy = copy_path(into);
    match merge_into_copy(into, &copy, sources) {
        Ok(merged) => {
            std::fs::rename(&copy, into).map_err(|source| HistoryError::Io {
                path: into.to_path_buf(),
                source,
            })?;
            Ok(merged)
        }
        Err(error) => {
            remove_database(&copy);
            Err(error)
        }
    }
}

/// The merge into a server: one transaction ([`PgHistory::merge_transaction`]), committed only
/// when every source is merged and the check holds.
fn merge_into_server(url: &str, sources: &[History]) -> Result<Merged, HistoryError> {
    let mut target = PgHistory::open(url, DEFAULT_LOCK_TIMEOUT, true)?;
    let identity = target.server_identity()?;
    for source in sources {
        if source.server_identity()?.as_ref() == Some(&identity) {
            return Err(HistoryError::InvalidInput {
                path: target.path().to_path_buf(),
                reason: format!(
                    "{} is the database merged into (the same server and database): give the \
                     other histories",
                    source.path().display()
                ),
            });
        }
    }
    let shown = target.path().to_path_buf();
    target.merge_transaction(|tx| merge_checked(tx, sources, &shown))
}

/// Where the copy of INTO is merged into: beside it, so that the rename is atomic.
fn copy_path(into: &Path) -> PathBuf {
    let name = into
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history.db".to_owned());
    into.with_file_name(format!(".{name}.merging-{}", std::process::id()))
}

fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
}

fn merge_into_copy(into: &Path, copy: &Path, sources: &[History]) -> Result<Merged, HistoryError> {
    remove_database(copy);
    if into.exists() {
        // Opened and closed: migrated, and its write-ahead log folded into the file, so that
        // the file alone is the whole history.
        drop(History::open(into)?);
        std::fs::copy(into, copy).map_err(|source| HistoryError::Io {
            path: into.to_path_buf(),
            source,
        })?;
    }
    let mut target = History::open(copy)?;
    merge_checked(&mut target, sources, into)
}

/// Merges every source into `target`, then checks that its runs and results are those it
/// had plus those added (`into` is what a failed check names).
fn merge_checked(
    target: &mut impl MergeTarget,
    sources: &[History],
    into: &Path,
) -> Result<Merged, HistoryError> {
    let (runs_before, results_before) = totals(target)?;
    let mut merged = Merged::default();
    for source in sources {
        merge_one(target, source, &mut merged)?;
    }
    let (runs_after, results_after) = totals(target)?;
    if runs_after != runs_before + merged.runs_added
        || results_after != results_before + merged.results_added
    {
        return Err(HistoryError::InvalidInput {
            path: into.to_path_buf(),
            reason: format!(
                "the merged history does not add up (runs {runs_before} + {} added = {runs_after}, \
                 results {results_before} + {} added = {results_after}); nothing was changed",
                merged.runs_added, merged.results_added
            ),
        });
    }
    Ok(merged)
}

/// How many runs and results a history holds.
fn totals(history: &mut impl MergeTarget) -> Result<(usize, usize), HistoryError> {
    let runs = history.run_summaries(None)?;
    let results = runs.iter().map(|run| run.counts.total as usize).sum();
    Ok((runs.len(), results))
}

/// A batch as text that is the same exactly when the batches are the same, as both backends
/// give them back: whether a result was tagged, not its tags (a stored result shows its test's
/// current tags, which a later run may have changed), and text as PostgreSQL stores it (NUL as
/// U+FFFD), so that a batch merged before is known again on either backend.
fn fingerprint(batch: &[NewResult]) -> String {
    let rows: Vec<_> = batch
        .iter()
        .map(|result| {
            (
                clean(&result.test),
                result.tags.is_some(),
                result.outcome.as_str(),
                result.duration_secs.map(f64::to_bits),
                result.attempt,
                result.message.as_deref().map(clean),
            )
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_default()
}

fn new_run(summary: &RunSummary) -> NewRun {
    NewRun {
        lane: summary.run.lane.clone(),
        kind: summary.run.kind,
        commit: summary.run.commit.clone(),
        started_at: summary.run.started_at,
        source: summary.run.source.clone(),
        ingest_key: summary.ingest_key.clone(),
    }
}

/// Merges `source` into `target` (see the module docs), adding what it did to `merged`.
pub(crate) fn merge_one(
    target: &mut impl MergeTarget,
    source: &History,
    merged: &mut Merged,
) -> Result<(), HistoryError> {
    for summary in source.run_summaries(None)? {
        let batches = source.run_batches(summary.run.id)?;
        let files = source.files_of_run(summary.run.id)?;
        let run = new_run(&summary);
        match &summary.ingest_key {
            Some(key) => {
                let existing = target.run_with_key(key)?;
                let have: HashSet<String> = match &existing {
                    Some(found) => target
                        .run_batches(found.run.id)?
                        .iter()
                        .map(|batch| fingerprint(batch))
                        .collect(),
                    None => HashSet::new(),
                };
                let mut added = 0;
                for batch in &batches {
                    if have.contains(&fingerprint(batch)) {
                        continue;
                    }
                    target.append_to_run(&run, batch)?;
                    added += 1;
                    merged.results_added += batch.len();
                }
                if batches.is_empty() && existing.is_none() {
                    target.record_run(&run, &[])?;
                }
                merged.batches_added += added;
                match (&existing, added) {
                    (None, _) => merged.runs_added += 1,
                    (Some(_), 0) => merged.runs_already += 1,
                    (Some(_), _) => merged.runs_extended += 1,
                }
                if !files.is_empty()
                    && let Some(found) = target.run_with_key(key)?
                {
                    target.add_files(found.run.id, &files)?;
                }
            }
            None => {
                let results: Vec<NewResult> = batches.into_iter().flatten().collect();
                let print = fingerprint(&results);
                let mut already = false;
                for other in target.run_summaries(None)? {
                    let details = |run: &super::model::RunRow| {
                        (
                            clean(&run.lane).into_owned(),
                            run.kind,
                            clean(&run.commit).into_owned(),
                            run.started_at,
                            clean(&run.source).into_owned(),
                        )
                    };
                    if other.ingest_key.is_none()
                        && details(&other.run) == details(&summary.run)
                        && fingerprint(&target.ingested_results(other.run.id)?) == print
                    {
                        already = true;
                        break;
                    }
                }
                if already {
                    merged.runs_already += 1;
                } else {
                    target.record_run(&run, &results)?;
                    merged.runs_added += 1;
                    merged.batches_added += 1;
                    merged.results_added += results.len();
                }
            }
        }
    }
    for fix in source.fixes()? {
        target.record_fix(&fix.test, &fix.commit, fix.at)?;
        merged.fixes += 1;
    }
    Ok(())
}
