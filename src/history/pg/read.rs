//! The PostgreSQL store's reads inside a transaction: the packed result batches streamed in
//! the plan's order, the tests by id, run summaries, a run's batches, and what the database
//! holds before coalmine touches it ([`inspect`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use postgres::Transaction;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use super::rows::{PgFailure, corrupt, parse_tags, timestamp};
use crate::history::model::{NewResult, RunCounts, RunKind, RunRow, RunSummary};
use crate::history::packed::{PackedRow, decode_batch};
use crate::history::schema::Found;
use crate::history::statements as sql;

/// The packed batches of the runs that started at or after `$1`, in the order of every result
/// read: run start, run, then recording order (batch, then the order within the batch). One row
/// per batch, so the server sorts about a thousand rows for 10 M results.
pub(super) const BATCHES_SINCE: &str = "SELECT batches.run_id, batches.data FROM result_batches AS batches \
     JOIN runs ON runs.id = batches.run_id WHERE runs.started_at >= $1 \
     ORDER BY runs.started_at, runs.id, batches.id";

/// Calls `f` with the run and each result of every batch `rows` streams (run id, packed data),
/// in order; a batch that is not packed text as [`crate::history::packed`] writes it is corrupt.
pub(super) fn for_each_packed(
    shown: &Path,
    mut rows: postgres::RowIter<'_>,
    mut f: impl FnMut(i64, PackedRow<'_>) -> Result<(), PgFailure>,
) -> Result<(), PgFailure> {
    while let Some(row) = rows.next()? {
        let run_id: i64 = row.try_get(0)?;
        let data: &[u8] = row.try_get(1)?;
        decode_batch(
            run_id,
            data,
            |reason| corrupt(shown, reason),
            |packed| f(run_id, packed),
        )?;
    }
    Ok(())
}

/// Every test's name and stored tags (JSON) by id, read in the snapshot of the results.
pub(super) fn test_names(
    tx: &mut Transaction<'_>,
) -> Result<HashMap<i64, (String, Option<String>)>, PgFailure> {
    let rows = tx.query("SELECT id, name, tags FROM tests", &[])?;
    let mut tests = HashMap::with_capacity(rows.len());
    for row in rows {
        tests.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
    }
    Ok(tests)
}

/// The test of a packed result, which must be in `tests`.
pub(super) fn test_of<'t>(
    shown: &Path,
    tests: &'t HashMap<i64, (String, Option<String>)>,
    run_id: i64,
    test_id: i64,
) -> Result<&'t (String, Option<String>), PgFailure> {
    tests.get(&test_id).ok_or_else(|| {
        corrupt(
            shown,
            format!("a result of run {run_id} names test {test_id}, which is not in the history"),
        )
    })
}

/// The runs `SELECT_RUNS` with `filter` (one parameter, `value`) reads, in `tx`.
pub(super) fn summaries_in(
    shown: &Path,
    tx: &mut Transaction<'_>,
    filter: &str,
    value: i64,
) -> Result<Vec<RunSummary>, PgFailure> {
    let rows = tx.query(&format!("{} {filter}", sql::SELECT_RUNS), &[&value])?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: &str = row.try_get(2)?;
        let kind = RunKind::parse(kind)
            .ok_or_else(|| corrupt(shown, format!("a run has the unknown kind {kind:?}")))?;
        let number = |index: usize| -> Result<u32, PgFailure> {
            let value: i64 = row.try_get(index)?;
            u32::try_from(value)
                .map_err(|_| corrupt(shown, format!("a run has a count of {value}")))
        };
        runs.push(RunSummary {
            run: RunRow {
                id: row.try_get(0)?,
                lane: row.try_get(1)?,
                kind,
                commit: row.try_get(3)?,
                started_at: timestamp(shown, row.try_get(4)?)?,
                source: row.try_get(5)?,
            },
            counts: RunCounts {
                passed: number(6)?,
                failed: number(7)?,
                errored: number(8)?,
                skipped: number(9)?,
                total: number(10)?,
            },
            ingest_key: row.try_get(11)?,
            recorded_at: timestamp(shown, row.try_get(12)?)?,
        });
    }
    Ok(runs)
}

/// The run recorded with the ingest key `key`, if any, in `tx`.
pub(super) fn run_with_key_in(
    shown: &Path,
    tx: &mut Transaction<'_>,
    key: &str,
) -> Result<Option<RunSummary>, PgFailure> {
    let id = tx
        .query_opt(sql::RUN_ID_BY_KEY, &[&key])?
        .map(|row| row.try_get::<_, i64>(0))
        .transpose()?;
    match id {
        Some(id) => Ok(summaries_in(shown, tx, sql::RUN_BY_ID, id)?.pop()),
        None => Ok(None),
    }
}

/// The results of run `run_id`, one list per batch, in `tx`.
pub(super) fn run_batches_in(
    shown: &Path,
    tx: &mut Transaction<'_>,
    run_id: i64,
) -> Result<Vec<Vec<NewResult>>, PgFailure> {
    let tests = test_names(tx)?;
    let rows = tx.query_raw(
        "SELECT run_id, data FROM result_batches WHERE run_id = $1 ORDER BY id",
        [&run_id as &(dyn ToSql + Sync)],
    )?;
    let mut batches: Vec<Vec<NewResult>> = Vec::new();
    let mut rows = rows;
    while let Some(row) = rows.next()? {
        let data: &[u8] = row.try_get(1)?;
        let mut batch = Vec::new();
        decode_batch(
            run_id,
            data,
            |reason| corrupt(shown, reason),
            |packed| {
                let (name, tags) = test_of(shown, &tests, run_id, packed.test_id)?;
                let tags = match packed.tagged {
                    true => Some(parse_tags(shown, name, tags.clone())?),
                    false => None,
                };
                batch.push(NewResult {
                    test: name.clone(),
                    tags,
                    outcome: packed.outcome,
                    duration_secs: packed.duration_secs,
                    attempt: packed.attempt,
                    message: packed.message.map(Cow::into_owned),
                });
                Ok(())
            },
        )?;
        batches.push(batch);
    }
    Ok(batches)
}

/// What the database holds, without changing anything: its tables in the current schema.
pub(super) fn inspect(tx: &mut Transaction<'_>) -> Result<Found, PgFailure> {
    let tables: Vec<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if tables.is_empty() {
        return Ok(Found::Empty);
    }
    if !tables.iter().any(|table| table == "coalmine_schema") {
        return Ok(Found::Foreign(format!(
            "no coalmine_schema table; tables: {}",
            tables.join(", ")
        )));
    }
    let row = tx.query_opt(
        "SELECT version::bigint, written_by::text FROM coalmine_schema WHERE id = 1",
        &[],
    );
    let row = match row {
        Ok(row) => row,
        Err(error) if error.as_db_error().is_some() => {
            return Ok(Found::Malformed(format!(
                "its coalmine_schema table is not coalmine's: {error}"
            )));
        }
        Err(error) => return Err(error.into()),
    };
    Ok(match row {
        None => Found::Malformed("its coalmine_schema table holds no version".to_string()),
        Some(row) => {
            let version: i64 = row.try_get(0)?;
            match u32::try_from(version) {
                Ok(version) if version >= 1 => Found::Coalmine {
                    version,
                    written_by: row.try_get(1)?,
                },
                _ => Found::Malformed(format!(
                    "its coalmine_schema table holds no valid version ({version})"
                )),
            }
        }
    })
}
