//! The SQL text both backends run, written once: statements where SQLite's and PostgreSQL's
//! dialects agree. Parameters are written `$1`, `$2`, … in the order they first appear: that is
//! PostgreSQL's syntax, and SQLite numbers such named parameters by first appearance, so the
//! same positional values bind the same way.
//!
//! What cannot be shared, and why: the tables themselves (`INTEGER PRIMARY KEY` rowids, `BLOB`
//! and `WITHOUT ROWID` on SQLite; identity columns, `BYTEA`, `BOOLEAN` on PostgreSQL; see
//! [`super::schema`] and [`super::pg`]); the results, packed as JSON per batch on both
//! ([`super::packed`]) but as `TEXT` through SQLite's JSON functions and as `BYTEA` after a
//! `COPY` of the batch's tests on PostgreSQL; orderings by
//! name (`COLLATE "C"` on PostgreSQL, whose default collation depends on the server's locale,
//! SQLite's default binary collation otherwise); and what each server says about its own
//! catalogue (`sqlite_master` and `PRAGMA`s against `information_schema`).

/// Every column of a run, in the order both backends read them.
pub(crate) const SELECT_RUNS: &str = "SELECT id, lane, kind, commit_sha, started_at, source, \
     passed, failed, errored, skipped, tests, ingest_key, recorded_at FROM runs";

/// The filter and order of [`SELECT_RUNS`] for the runs that started at or after `$1` (ms).
pub(crate) const RUNS_SINCE: &str = "WHERE started_at >= $1 ORDER BY started_at, id";

/// The filter of [`SELECT_RUNS`] for the run with id `$1`.
pub(crate) const RUN_BY_ID: &str = "WHERE id = $1";

/// The id of the run recorded under the ingest key `$1`.
pub(crate) const RUN_ID_BY_KEY: &str = "SELECT id FROM runs WHERE ingest_key = $1";

/// Every fix with its test's name, oldest first.
pub(crate) const SELECT_FIXES: &str = "SELECT tests.name, fixes.commit_sha, fixes.fixed_at, \
     fixes.recorded_at FROM fixes JOIN tests ON tests.id = fixes.test_id \
     ORDER BY fixes.fixed_at, fixes.id";

/// Records a fix of test `$1` at commit `$2` (fixed at `$3`, recorded at `$4`, ms), once.
pub(crate) const INSERT_FIX: &str = "INSERT INTO fixes (test_id, commit_sha, fixed_at, \
     recorded_at) VALUES ($1, $2, $3, $4) ON CONFLICT (test_id, commit_sha) DO NOTHING";

/// Keeps the report file with digest `$1` as a file of run `$2`, once.
pub(crate) const INSERT_FILE: &str =
    "INSERT INTO ingested_files (digest, run_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// The runs a report file with digest `$1` was recorded in, ascending.
pub(crate) const RUNS_OF_FILE: &str =
    "SELECT run_id FROM ingested_files WHERE digest = $1 ORDER BY run_id";

/// The digests of the report files of run `$1`, ascending (bytewise on both).
pub(crate) const FILES_OF_RUN: &str =
    "SELECT digest FROM ingested_files WHERE run_id = $1 ORDER BY digest";

/// Whether any run started after `$1` (ms).
pub(crate) const NEWER_RUN: &str = "SELECT 1 FROM runs WHERE started_at > $1 LIMIT 1";
