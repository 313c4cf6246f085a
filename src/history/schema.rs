//! The history database's schema, its versions and the migrations between them, and how a file
//! is recognised as a coalmine history (or refused as someone else's).
//!
//! A coalmine history has a `coalmine_schema` table holding one row: the schema version and the
//! coalmine version that last migrated it; its SQLite header's application id is
//! [`APPLICATION_ID`] (`coal`). Migration `n` (the `n`-th entry of `MIGRATIONS`, from 1) takes a
//! database from version `n - 1` to `n`, in one transaction; a new database runs them all. A
//! migration is never edited once released: a change to the schema is a new migration.
//!
//! # Tables (version 6)
//! - `runs`: one row per recorded run: `lane`, `kind` (`periodic`, `presubmit`, `merged`,
//!   `local`), `commit_sha`, `started_at`, `source`, `recorded_at`, the final counts `passed`,
//!   `failed`, `errored`, `skipped`, `tests` (see [`RunCounts`](super::RunCounts)) and the
//!   `ingest_key` (unique when set). Indexed by `(started_at, id)` for window queries.
//! - `tests`: one row per test name (`name` unique: the stable test id), with `tags` (a JSON
//!   array of the bracket tags of the most recent run that reported them, `NULL` if none did)
//!   and `tags_seen_at` (the start of the run that last wrote them; see [`super::tags`]).
//! - `result_batches`: the results, one row per recording transaction of a run (an ingest, or
//!   one harness process of a nextest run): `run_id` and `rows`, a JSON array of
//!   `[test_id, attempt, outcome, duration, message, tagged]` per test execution in recording
//!   order (see [`super::packed`]): `attempt` from 1, `outcome` kebab-case (e.g.
//!   `flaky-pass`), `duration` in seconds or null, `tagged` true when the run reported the
//!   test's tags, else null. Indexed by `(run_id, id)`. A run's results are read as a whole,
//!   and packing them is what makes recording and planning millions of them fast.
//! - `results` (a view): the same rows one per execution, `run_id, test_id, attempt, outcome,
//!   duration, message, tagged`, for SQL (`SELECT * FROM results WHERE run_id = 7`).
//! - `fixes`: one row per recorded fix: `test_id`, `commit_sha`, `fixed_at`, `recorded_at`;
//!   `(test_id, commit_sha)` unique.
//! - `ingested_files`: one row per report file an ingested run was read from: `digest` (the
//!   SHA-256 of its bytes) and `run_id`; `(digest, run_id)` unique. The same bytes may be a
//!   report of several runs: two distinct runs can write identical reports.
//!
//! Every time is an integer count of milliseconds since the Unix epoch (UTC).
//!
//! Foreign keys are declared but not enforced on each insert (see
//! [`History::open`](super::History::open)).
//!
//! Version 1 had `runs` without `ingest_key`, `tests` without tags, `results`; version 2 added
//! ingest keys, tags and `fixes`; version 3 added `results.tagged`; version 4 added
//! `ingested_files`; version 5 packed the results into `result_batches`, with a `results`
//! view; version 6 let one file's digest be kept for several runs.

use rusqlite::Connection;

/// The schema version this coalmine writes and reads.
pub const CURRENT_VERSION: u32 = 6;

/// The application id in the SQLite header of a coalmine history: `coal` in ASCII.
pub const APPLICATION_ID: i32 = 0x636f_616c;

/// Version 1: runs, tests, results.
///
/// The outcome check is a chain of `OR`s rather than `IN (...)`: SQLite evaluates the `IN` list
/// form far more slowly on every insert (it halved the ingest speed).
pub(crate) const V1: &str = "
CREATE TABLE coalmine_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    written_by TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    lane TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('periodic', 'presubmit', 'merged', 'local')),
    commit_sha TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    errored INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    tests INTEGER NOT NULL
);
CREATE INDEX runs_by_start ON runs (started_at, id);
CREATE TABLE tests (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    test_id INTEGER NOT NULL REFERENCES tests (id),
    attempt INTEGER NOT NULL CHECK (attempt >= 1),
    outcome TEXT NOT NULL CHECK (outcome = 'pass' OR outcome = 'fail' OR outcome = 'skip'
        OR outcome = 'error' OR outcome = 'flaky-pass' OR outcome = 'not-run'
        OR outcome = 'xfail' OR outcome = 'xpass'),
    duration REAL,
    message TEXT
);
CREATE INDEX results_by_run ON results (run_id);
";

/// Version 2: ingest keys, test tags, fixes.
pub(crate) const V2: &str = "
ALTER TABLE runs ADD COLUMN ingest_key TEXT;
CREATE UNIQUE INDEX runs_by_ingest_key ON runs (ingest_key);
ALTER TABLE tests ADD COLUMN tags TEXT;
ALTER TABLE tests ADD COLUMN tags_seen_at INTEGER;
CREATE TABLE fixes (
    id INTEGER PRIMARY KEY,
    test_id INTEGER NOT NULL REFERENCES tests (id),
    commit_sha TEXT NOT NULL,
    fixed_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (test_id, commit_sha)
);
";

/// Version 3: whether each result's run reported tags for it (see [`super::tags`]). Every
/// result of an ingested run reported them (the ingest always parses them from the name);
/// canary recordings never did.
pub(crate) const V3: &str = "
ALTER TABLE results ADD COLUMN tagged INTEGER CHECK (tagged = 1);
UPDATE results SET tagged = 1
    WHERE run_id IN (SELECT id FROM runs WHERE ingest_key LIKE 'junit-sha256:%');
";

/// Version 4: the report files each ingested run was read from (see [`super::files`]). Runs
/// ingested before have none: they are recognised by their whole ingest key only.
pub(crate) const V4: &str = "
CREATE TABLE ingested_files (
    digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
    run_id INTEGER NOT NULL REFERENCES runs (id)
) WITHOUT ROWID;
";

/// Version 5: results packed per recorded batch (see [`super::packed`]): one
/// `result_batches` row holds every result one transaction recorded for a run (an ingest, or
/// one harness process of a nextest run), in recording order. The `results` table becomes a
/// view with the same columns but `id`, so that SQL over it keeps working. Existing results
/// move into one batch per run, in their order.
pub(crate) const V5: &str = "
CREATE TABLE result_batches (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    rows TEXT NOT NULL
);
CREATE INDEX result_batches_by_run ON result_batches (run_id, id);
INSERT INTO result_batches (run_id, rows)
    SELECT run_id, json_group_array(json_array(test_id, attempt, outcome, duration, message,
        CASE WHEN tagged = 1 THEN json('true') END) ORDER BY id)
    FROM results GROUP BY run_id ORDER BY min(id);
DROP INDEX results_by_run;
DROP TABLE results;
CREATE VIEW results (run_id, test_id, attempt, outcome, duration, message, tagged) AS
    SELECT batches.run_id, json_extract(result.value, '$[0]'),
        json_extract(result.value, '$[1]'), json_extract(result.value, '$[2]'),
        json_extract(result.value, '$[3]'), json_extract(result.value, '$[4]'),
        json_extract(result.value, '$[5]')
    FROM result_batches AS batches, json_each(batches.rows) AS result;
";

/// Version 6: a report file's digest may be kept for several runs (two distinct runs whose
/// reports are byte for byte the same are two runs), so `ingested_files` is keyed by
/// `(digest, run_id)`; every row is kept.
pub(crate) const V6: &str = "
CREATE TABLE ingested_files_v6 (
    digest BLOB NOT NULL CHECK (length(digest) = 32),
    run_id INTEGER NOT NULL REFERENCES runs (id),
    PRIMARY KEY (digest, run_id)
) WITHOUT ROWID;
INSERT INTO ingested_files_v6 (digest, run_id) SELECT digest, run_id FROM ingested_files;
DROP TABLE ingested_files;
ALTER TABLE ingested_files_v6 RENAME TO ingested_files;
";

/// The migrations, in order: entry `n - 1` takes version `n - 1` to `n`.
pub(crate) const MIGRATIONS: [&str; CURRENT_VERSION as usize] = [V1, V2, V3, V4, V5, V6];

/// What a database file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing yet: a new or empty file.
    Empty,
    /// A coalmine history at this schema version.
    Coalmine {
        /// Its schema version.
        version: u32,
        /// The coalmine that last migrated it.
        written_by: String,
    },
    /// Another application's database, described.
    Foreign(String),
    /// Something claiming to be a coalmine history that is not well formed, described.
    Malformed(String),
}

/// Looks at what the database holds without changing anything.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<Found> {
    let application_id: i32 = conn.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    let mut statement = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
         ESCAPE '\\' ORDER BY name",
    )?;
    let tables = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Ok(Found::Foreign(format!(
            "application id {application_id:#010x}, tables: {}",
            list(&tables)
        )));
    }
    if tables.is_empty() {
        return Ok(Found::Empty);
    }
    if !tables.iter().any(|table| table == "coalmine_schema") {
        return Ok(Found::Foreign(format!(
            "no coalmine_schema table; tables: {}",
            list(&tables)
        )));
    }
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, written_by FROM coalmine_schema WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map(Some)
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..) => Ok(Some((-1, String::new()))),
            other => Err(other),
        })?;
    Ok(match row {
        None => Found::Malformed("its coalmine_schema table holds no version".to_string()),
        Some((version, written_by)) => match u32::try_from(version) {
            Ok(version) if version >= 1 => Found::Coalmine {
                version,
                written_by,
            },
            _ => Found::Malformed(format!(
                "its coalmine_schema table holds no valid version ({version})"
            )),
        },
    })
}

/// Brings a database from `from` (0 for an empty one) to [`CURRENT_VERSION`]. Runs inside the
/// caller's write transaction, so that a failure leaves the database as it was.
pub(crate) fn migrate(conn: &Connection, from: u32) -> rusqlite::Result<()> {
    for migration in MIGRATIONS.iter().skip(from as usize) {
        conn.execute_batch(migration)?;
    }
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.execute(
        "INSERT INTO coalmine_schema (id, version, written_by) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, written_by = excluded.written_by",
        (CURRENT_VERSION, env!("CARGO_PKG_VERSION")),
    )?;
    Ok(())
}

fn list(tables: &[String]) -> String {
    const SHOWN: usize = 8;
    if tables.is_empty() {
        return "none".to_string();
    }
    let mut text = tables
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > SHOWN {
        text.push_str(&format!(" and {} more", tables.len() - SHOWN));
    }
    text
}
