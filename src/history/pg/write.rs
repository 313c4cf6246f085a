//! The PostgreSQL store's writes inside a transaction: a recording (a new run, an append to a
//! run of the same lane, kind and commit, or a completion) with its results packed into one
//! batch row after the batch's tests are `COPY`ed in, report files, and fixes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::read::for_each_packed;
use super::rows::{PgFailure, clean, corrupt};
use crate::history::error::HistoryError;
use crate::history::files::FileDigest;
use crate::history::model::{NewResult, NewRun, Recorded, Target};
use crate::history::packed::{Encoder, PackedRow};
use crate::history::statements as sql;
use crate::history::store::{check_results, check_same_run, count};
use crate::history::tags::write_json;

/// Keeps `files` as report files of run `run_id`, in `tx`.
pub(super) fn add_files_in(
    tx: &mut Transaction<'_>,
    run_id: i64,
    files: &[FileDigest],
) -> Result<(), PgFailure> {
    for digest in files {
        tx.execute(sql::INSERT_FILE, &[&&digest[..], &run_id])?;
    }
    Ok(())
}

/// Refuses a fix that names no test or no commit.
pub(super) fn check_fix(shown: &Path, test: &str, commit: &str) -> Result<(), HistoryError> {
    let reason = match (test.is_empty(), commit.is_empty()) {
        (true, _) => "the fix names no test".to_owned(),
        (_, true) => format!("the fix for {test} names no commit"),
        _ => return Ok(()),
    };
    Err(HistoryError::InvalidInput {
        path: shown.to_path_buf(),
        reason,
    })
}

/// Records a fix of `test` at `commit` (checked by [`check_fix`]), once, in `tx`.
pub(super) fn record_fix_in(
    tx: &mut Transaction<'_>,
    test: &str,
    commit: &str,
    at: Timestamp,
) -> Result<(), PgFailure> {
    let id = test_id(tx, test)?;
    tx.execute(
        sql::INSERT_FIX,
        &[
            &id,
            &clean(commit),
            &at.as_millisecond(),
            &Timestamp::now().as_millisecond(),
        ],
    )?;
    Ok(())
}

/// A recording's results checked, counted, and each one's tags as stored (JSON): prepared once,
/// before the transaction that records them (which may be retried).
pub(super) struct Prepared {
    /// Passed, failed, errored, skipped, total.
    counts: [i64; 5],
    tags: Vec<Option<String>>,
}

impl Prepared {
    pub(super) fn new(shown: &Path, results: &[NewResult]) -> Result<Prepared, HistoryError> {
        check_results(shown, results)?;
        let counts = count(results);
        let mut scratch = Vec::new();
        let mut json = String::new();
        let tags = results
            .iter()
            .map(|result| {
                result.tags.as_deref().map(|tags| {
                    write_json(tags, &mut scratch, &mut json);
                    json.clone()
                })
            })
            .collect();
        Ok(Prepared {
            counts: [
                i64::from(counts.passed),
                i64::from(counts.failed),
                i64::from(counts.errored),
                i64::from(counts.skipped),
                i64::from(counts.total),
            ],
            tags,
        })
    }
}

/// Records `results` (prepared as `prepared`) into `target`, with the report files `files`,
/// inside `tx`: [`PgHistory::write_run`]'s transaction, or a merge's.
pub(super) fn write_run_in(
    shown: &Path,
    tx: &mut Transaction<'_>,
    target: Target<'_>,
    results: &[NewResult],
    prepared: &Prepared,
    files: &[FileDigest],
) -> Result<Recorded, PgFailure> {
    let counts = &prepared.counts;
    let (run_id, started) = match target {
        Target::Replace(run_id) => {
            let row = tx.query_opt(
                "SELECT started_at FROM runs WHERE id = $1 FOR UPDATE",
                &[&run_id],
            )?;
            let Some(row) = row else {
                return Err(PgFailure::History(HistoryError::InvalidInput {
                    path: shown.to_path_buf(),
                    reason: format!("there is no run {run_id} to add files to"),
                }));
            };
            tx.execute("DELETE FROM result_batches WHERE run_id = $1", &[&run_id])?;
            tx.execute(
                "UPDATE runs SET passed = $2, failed = $3, errored = $4, skipped = $5, \
                 tests = $6 WHERE id = $1",
                &[
                    &run_id, &counts[0], &counts[1], &counts[2], &counts[3], &counts[4],
                ],
            )?;
            (run_id, row.try_get::<_, i64>(0)?)
        }
        Target::New(run) | Target::Append(run) => {
            let append = matches!(target, Target::Append(_));
            let key = run.ingest_key.as_deref().map(clean);
            // A batch for a run that exists grows it without an INSERT, which would take (and
            // lose) a run id on the conflict: run ids stay dense, as SQLite's are.
            // Only a run of the same lane, kind and commit grows (else: refused, below).
            let (lane, commit) = (clean(&run.lane), clean(&run.commit));
            let grow = |tx: &mut Transaction<'_>| match (append, &key) {
                (true, Some(key)) => tx.query_opt(
                    "UPDATE runs SET passed = passed + $2, failed = failed + $3, \
                     errored = errored + $4, skipped = skipped + $5, tests = tests + $6 \
                     WHERE ingest_key = $1 AND lane = $7 AND kind = $8 AND commit_sha = $9 \
                     RETURNING id, started_at",
                    &[
                        key,
                        &counts[0],
                        &counts[1],
                        &counts[2],
                        &counts[3],
                        &counts[4],
                        &lane,
                        &run.kind.as_str(),
                        &commit,
                    ],
                ),
                _ => Ok(None),
            };
            let mut row = grow(tx)?;
            if row.is_none() {
                row = tx.query_opt(
                    "INSERT INTO runs (lane, kind, commit_sha, started_at, source, \
                     recorded_at, passed, failed, errored, skipped, tests, ingest_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (ingest_key) DO NOTHING RETURNING id, started_at",
                    &[
                        &clean(&run.lane),
                        &run.kind.as_str(),
                        &clean(&run.commit),
                        &run.started_at.as_millisecond(),
                        &clean(&run.source),
                        &Timestamp::now().as_millisecond(),
                        &counts[0],
                        &counts[1],
                        &counts[2],
                        &counts[3],
                        &counts[4],
                        &key,
                    ],
                )?;
            }
            if row.is_none() {
                // Recorded meanwhile by a transaction that committed: an append grows it (this
                // statement sees it), a new run is not recorded again.
                row = grow(tx)?;
            }
            match row {
                Some(row) => (row.try_get::<_, i64>(0)?, row.try_get::<_, i64>(1)?),
                None if append => {
                    // The run of this key says another lane, kind or commit.
                    let found = tx.query_one(
                        "SELECT lane, kind, commit_sha FROM runs WHERE ingest_key = $1",
                        &[&key],
                    )?;
                    let found: (&str, &str, &str) =
                        (found.try_get(0)?, found.try_get(1)?, found.try_get(2)?);
                    let cleaned = NewRun {
                        lane: lane.into_owned(),
                        commit: commit.into_owned(),
                        ..run.clone()
                    };
                    check_same_run(shown, key.as_deref().unwrap_or_default(), found, &cleaned)?;
                    return Err(corrupt(
                        shown,
                        format!("the run {key:?} could be neither added nor grown"),
                    ));
                }
                None => {
                    let row = tx.query_one(sql::RUN_ID_BY_KEY, &[&key])?;
                    return Ok(Recorded::AlreadyRecorded {
                        run_id: row.try_get(0)?,
                    });
                }
            }
        }
    };
    for digest in files {
        tx.execute(sql::INSERT_FILE, &[&&digest[..], &run_id])?;
    }
    if !results.is_empty() {
        copy_results(shown, tx, results, &prepared.tags, run_id, started)?;
    }
    Ok(match target {
        Target::Replace(_) => Recorded::Completed {
            run_id,
            results: results.len(),
        },
        _ => Recorded::New {
            run_id,
            results: results.len(),
        },
    })
}

/// Records `results` of run `run_id` (started at `started`, ms) as one batch: the batch's
/// tests (each once, with the tags it reported last) `COPY`ed into a temporary table, new tests
/// added (in name order), the tags rule of [`crate::history::tags`] applied for the whole batch, the
/// tests' ids read back, and the results stored packed in one row of `result_batches`.
pub(super) fn copy_results(
    shown: &Path,
    tx: &mut Transaction<'_>,
    results: &[NewResult],
    tags: &[Option<String>],
    run_id: i64,
    started: i64,
) -> Result<(), PgFailure> {
    // Each test once, in the order of its first result; a result's test is `tests[test_of[i]]`.
    let mut index: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(results.len());
    let mut names: Vec<(Cow<'_, str>, Option<&str>)> = Vec::new();
    let mut test_of = Vec::with_capacity(results.len());
    for (result, tags) in results.iter().zip(tags) {
        let name = clean(&result.test);
        let at = match index.get(&name) {
            Some(&at) => at,
            None => {
                index.insert(name.clone(), names.len());
                names.push((name, None));
                names.len() - 1
            }
        };
        if let Some(tags) = tags {
            names[at].1 = Some(tags);
        }
        test_of.push(at);
    }
    // One table per transaction, emptied for each batch (a merge records many in one).
    tx.batch_execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS coalmine_staged (ord INTEGER NOT NULL, \
         name TEXT NOT NULL, tags TEXT) ON COMMIT DROP; TRUNCATE coalmine_staged",
    )?;
    {
        let writer = tx.copy_in("COPY coalmine_staged FROM STDIN (FORMAT binary)")?;
        let types = [Type::INT4, Type::TEXT, Type::TEXT];
        let mut writer = BinaryCopyInWriter::new(writer, &types);
        for (ord, (name, tags)) in names.iter().enumerate() {
            let ord = i32::try_from(ord).unwrap_or(i32::MAX);
            writer.write(&[&ord, name, tags])?;
        }
        writer.finish()?;
    }
    tx.execute(
        "INSERT INTO tests (name) SELECT staged.name FROM coalmine_staged AS staged \
         WHERE NOT EXISTS (SELECT 1 FROM tests WHERE tests.name = staged.name) \
         ORDER BY 1 ON CONFLICT (name) DO NOTHING",
        &[],
    )?;
    // The tags rule: the last result of this run that reported tags for a test stores them,
    // unless a run that started later wrote or reported them. Whether a later run reported
    // them is looked up only when some run started later (a back-filled report) and some
    // tags would change, with one pass over the packed results of those runs only (decoded
    // here, as the SQLite store does: the server's JSON functions took ten times as long).
    let newer_runs = tx.query_opt(sql::NEWER_RUN, &[&started])?.is_some();
    let mut newer_reporters: Vec<i64> = Vec::new();
    if newer_runs {
        let candidates: std::collections::HashSet<i64> = tx
            .query(
                "SELECT tests.id FROM tests JOIN coalmine_staged AS staged \
                 ON tests.name = staged.name WHERE staged.tags IS NOT NULL \
                 AND (tests.tags_seen_at IS NULL OR tests.tags_seen_at <= $1) \
                 AND tests.tags IS DISTINCT FROM staged.tags",
                &[&started],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        if !candidates.is_empty() {
            let rows = tx.query_raw(
                "SELECT batches.run_id, batches.data FROM result_batches AS batches \
                 JOIN runs ON runs.id = batches.run_id WHERE runs.started_at > $1",
                [&started as &(dyn ToSql + Sync)],
            )?;
            let mut reported = std::collections::HashSet::new();
            for_each_packed(shown, rows, |_, packed| {
                if packed.tagged && candidates.contains(&packed.test_id) {
                    reported.insert(packed.test_id);
                }
                Ok(())
            })?;
            newer_reporters.extend(reported);
        }
    }
    tx.execute(
        "UPDATE tests SET tags = reported.tags, tags_seen_at = $1 \
         FROM (SELECT name, tags FROM coalmine_staged WHERE tags IS NOT NULL) AS reported \
         WHERE tests.name = reported.name \
           AND (tests.tags_seen_at IS NULL OR tests.tags_seen_at <= $1) \
           AND tests.tags IS DISTINCT FROM reported.tags AND NOT (tests.id = ANY($2))",
        &[&started, &newer_reporters],
    )?;
    let mut ids = vec![None; names.len()];
    for row in tx.query(
        "SELECT staged.ord, tests.id FROM coalmine_staged AS staged \
         JOIN tests ON tests.name = staged.name",
        &[],
    )? {
        let ord: i32 = row.try_get(0)?;
        if let Some(slot) = usize::try_from(ord).ok().and_then(|ord| ids.get_mut(ord)) {
            *slot = Some(row.try_get::<_, i64>(1)?);
        }
    }
    let mut encoder = Encoder::new(String::with_capacity(results.len() * 24));
    for ((result, tags), at) in results.iter().zip(tags).zip(&test_of) {
        let Some(test_id) = ids[*at] else {
            return Err(corrupt(
                shown,
                format!("the test {} was not added", result.test),
            ));
        };
        encoder.push(&PackedRow {
            test_id,
            attempt: result.attempt.min(i32::MAX as u32),
            outcome: result.outcome,
            duration_secs: result
                .duration_secs
                .filter(|secs| secs.is_finite() && *secs >= 0.0),
            message: result.message.as_deref().map(clean),
            tagged: tags.is_some(),
        });
    }
    let data = encoder.finish();
    tx.execute(
        "INSERT INTO result_batches (run_id, data) VALUES ($1, $2)",
        &[&run_id, &data.as_bytes()],
    )?;
    Ok(())
}

/// The id of the test `name`, added if the history has not seen it.
pub(super) fn test_id(tx: &mut Transaction<'_>, name: &str) -> Result<i64, PgFailure> {
    let name = clean(name);
    tx.execute(
        "INSERT INTO tests (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        &[&name],
    )?;
    Ok(tx
        .query_one("SELECT id FROM tests WHERE name = $1", &[&name])?
        .try_get(0)?)
}
