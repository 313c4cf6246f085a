//! The report files each ingested run was read from: the SHA-256 digest of every file is kept
//! with its run (table `ingested_files`), so that a file ingested again is recognised, alone,
//! among other files of its run, or beside files that were skipped the first time and fixed
//! since (which then complete the run instead of recording it twice; see
//! [`History::complete_ingested_run`](super::History::complete_ingested_run)).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::model::NewResult;
use std::collections::HashMap;

use super::error::{Failure, bad_value};
use super::packed::decode;

/// The SHA-256 digest of a report file's bytes.
pub type FileDigest = [u8; 32];

/// Keeps `files` as files of `run_id`, inside the transaction recording it. The same bytes
/// may be kept for several runs (distinct runs can write identical reports); which run a
/// report belongs to is the ingest's decision ([`crate::ingest::record`]), made before.
pub(super) fn add(tx: &Transaction<'_>, run_id: i64, files: &[FileDigest]) -> Result<(), Failure> {
    if files.is_empty() {
        return Ok(());
    }
    // The same bytes under two names are one file.
    let mut insert = tx.prepare_cached(super::statements::INSERT_FILE)?;
    for digest in files {
        insert.execute(rusqlite::params![&digest[..], run_id])?;
    }
    Ok(())
}

/// The runs each file was recorded in, in the order of `files` (empty: never ingested), each
/// list in ascending order.
pub(super) fn runs_of(conn: &Connection, files: &[FileDigest]) -> Result<Vec<Vec<i64>>, Failure> {
    let mut find = conn.prepare_cached(super::statements::RUNS_OF_FILE)?;
    let mut runs = Vec::with_capacity(files.len());
    for digest in files {
        let found = find
            .query_map([&digest[..]], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        runs.push(found);
    }
    Ok(runs)
}

/// The results of run `run_id` as [`NewResult`]s, in recording order (see
/// [`History::ingested_results`](super::History::ingested_results)).
pub(super) fn results_of(
    conn: &Connection,
    path: &Path,
    run_id: i64,
) -> Result<Vec<NewResult>, Failure> {
    Ok(batches_of(conn, path, run_id)?
        .into_iter()
        .flatten()
        .collect())
}

/// The results of run `run_id`, one list per recorded batch (an ingest, or one harness process
/// of a nextest run), in recording order; as [`results_of`] gives them.
pub(super) fn batches_of(
    conn: &Connection,
    path: &Path,
    run_id: i64,
) -> Result<Vec<Vec<NewResult>>, Failure> {
    let mut batches =
        conn.prepare_cached("SELECT rows FROM result_batches WHERE run_id = ?1 ORDER BY id")?;
    let mut test = conn.prepare_cached("SELECT name, tags FROM tests WHERE id = ?1")?;
    let mut known: HashMap<i64, (String, Vec<String>)> = HashMap::new();
    let mut rows = batches.query([run_id])?;
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        let mut results = Vec::new();
        let text = row
            .get_ref(0)?
            .as_str()
            .map_err(|_| bad_value(path, format!("the results of run {run_id} are not text")))?;
        let mut packed = Vec::new();
        decode(text, |row| packed.push(row)).map_err(|error| {
            bad_value(
                path,
                format!("the results of run {run_id} are not readable: {error}"),
            )
        })?;
        for row in packed {
            let (name, tags) = match known.entry(row.test_id) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let (name, tags): (String, Option<String>) = test
                        .query_row([row.test_id], |found| Ok((found.get(0)?, found.get(1)?)))
                        .optional()?
                        .ok_or_else(|| {
                            bad_value(
                                path,
                                format!("a result names the unknown test id {}", row.test_id),
                            )
                        })?;
                    let tags = match tags {
                        None => Vec::new(),
                        Some(json) => serde_json::from_str(&json).map_err(|error| {
                            bad_value(
                                path,
                                format!("the tags of {name:?} are not a list: {error}"),
                            )
                        })?,
                    };
                    entry.insert((name, tags))
                }
            };
            results.push(NewResult {
                test: name.clone(),
                tags: row.tagged.then(|| tags.clone()),
                outcome: row.outcome,
                duration_secs: row.duration_secs,
                attempt: row.attempt,
                message: row.message.map(|message| message.into_owned()),
            });
        }
        all.push(results);
    }
    Ok(all)
}

/// The digests of the report files run `run_id` was read from.
pub(super) fn digests_of(conn: &Connection, run_id: i64) -> Result<Vec<FileDigest>, Failure> {
    let mut find = conn.prepare_cached(super::statements::FILES_OF_RUN)?;
    let digests = find
        .query_map([run_id], |row| row.get::<_, Vec<u8>>(0))?
        .collect::<rusqlite::Result<Vec<Vec<u8>>>>()?;
    Ok(digests
        .into_iter()
        .filter_map(|digest| FileDigest::try_from(digest.as_slice()).ok())
        .collect())
}
