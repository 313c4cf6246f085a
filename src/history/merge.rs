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
//! So merging the same history twice adds nothing. Fixes are merged as `quarantine fixed`
//! records them (the same test and commit once).
//!
//! Atomic: INTO is copied beside itself, the copy is merged into, checked (its runs and results
//! counted against what was added), and renamed over INTO; on any failure the copy is removed
//! and INTO is as it was. Nothing may write INTO while it is merged into (a later CI job that
//! merges the shards' histories, after they finished, is the setup this is for). FROM
//! histories are only read (opened as every command opens a history: an older one is migrated).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::backend::History;
use super::error::HistoryError;
use super::model::{NewResult, NewRun, RunSummary};

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

/// Merges the histories `from` into `into` (created when it does not exist); see the module
/// docs.
pub fn merge(into: &Path, from: &[PathBuf]) -> Result<Merged, HistoryError> {
    let invalid = |reason: String| HistoryError::InvalidInput {
        path: into.to_path_buf(),
        reason,
    };
    if from.is_empty() {
        return Err(invalid("no history to merge from was given".to_owned()));
    }
    if History::is_server(into) {
        return Err(HistoryError::InvalidInput {
            path: PathBuf::from(super::store::mask_url(&into.to_string_lossy())),
            reason: "`history merge` merges into a SQLite file (copied, merged and renamed over \
                     it); a PostgreSQL history needs no merge: record every job into it"
                .to_owned(),
        });
    }
    let same_file = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b))
    {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for source in from {
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
        sources.push(History::open(source)?);
    }
    let copy = copy_path(into);
    let result = merge_into_copy(into, &copy, &sources);
    match result {
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
    let (runs_before, results_before) = if into.exists() {
        // Opened and closed: migrated, and its write-ahead log folded into the file, so that
        // the file alone is the whole history.
        let history = History::open(into)?;
        let counts = totals(&history)?;
        drop(history);
        std::fs::copy(into, copy).map_err(|source| HistoryError::Io {
            path: into.to_path_buf(),
            source,
        })?;
        counts
    } else {
        (0, 0)
    };
    let mut target = History::open(copy)?;
    let mut merged = Merged::default();
    for source in sources {
        merge_one(&mut target, source, &mut merged)?;
    }
    let (runs_after, results_after) = totals(&target)?;
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
    drop(target);
    Ok(merged)
}

/// How many runs and results a history holds.
fn totals(history: &History) -> Result<(usize, usize), HistoryError> {
    let runs = history.run_summaries(None)?;
    let results = runs.iter().map(|run| run.counts.total as usize).sum();
    Ok((runs.len(), results))
}

/// A batch as text that is the same exactly when the batches are the same.
fn fingerprint(batch: &[NewResult]) -> String {
    let rows: Vec<_> = batch
        .iter()
        .map(|result| {
            (
                &result.test,
                &result.tags,
                result.outcome.as_str(),
                result.duration_secs.map(f64::to_bits),
                result.attempt,
                &result.message,
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

pub(crate) fn merge_one(
    target: &mut History,
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
                    if other.ingest_key.is_none()
                        && (
                            &other.run.lane,
                            other.run.kind,
                            &other.run.commit,
                            other.run.started_at,
                            &other.run.source,
                        ) == (
                            &summary.run.lane,
                            summary.run.kind,
                            &summary.run.commit,
                            summary.run.started_at,
                            &summary.run.source,
                        )
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
