//! The PostgreSQL store of the outcome history: [`PgHistory`] connects to a server given by a
//! libpq-style URL (`postgres://user@host:port/db`, `?host=/run/postgresql` for a unix socket,
//! `sslmode`), creates or migrates coalmine's tables in that database, records runs and reads
//! them back with the same answers as the SQLite store ([`super::store`]).
//!
//! Many CI machines write at once: every recording is one transaction (a run is recorded whole
//! or not at all, whatever happens to the connection), the run's identity (its ingest key) is a
//! unique constraint, so that concurrent ingests of the same run record it once, and a
//! transaction that the server aborts for a deadlock or a serialization failure is retried
//! whole. A recording's tests go in with `COPY … (FORMAT binary)` into a temporary table (each
//! test once, with the tags it reported last), one `INSERT … SELECT` adds the new ones (in name
//! order, so that concurrent writers never deadlock on them) and one query returns their ids;
//! the results themselves are stored packed, one `BYTEA` row per recorded batch
//! (`result_batches.data`, the text of [`super::packed`], as the SQLite store writes it): no
//! round trip and no row per result. The plan's read is one streamed query of about one row per
//! batch. (That layout replaced, at the same schema version 6 and without a migration, the
//! backend's first one of a row per result: no PostgreSQL history existed outside this
//! repository yet; a database of that first layout is not read.)
//!
//! The password, when the URL holds one, is shown as `***` in every message; without one it is
//! read from `PGPASSWORD`, else from the password file (`PGPASSFILE`, else `~/.pgpass`) as
//! libpq reads it (the `postgres` crate reads neither). TLS follows the URL's `sslmode` as in
//! libpq (`super::tls`): `prefer` by default, `require`, `verify-ca` and `verify-full` with
//! `sslrootcert`, and a client certificate (`sslcert`, `sslkey`) for `cert` authentication.
//!
//! This file holds the schema, [`PgHistory`] and its transactions, and `PgTransaction`, a
//! merge's handle; `connect` reaches the server (the URL, the password, what a failed connection
//! says), `read` and `write` are the queries and recordings run inside a transaction, and `rows`
//! what those two share.

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Transaction};

use super::error::HistoryError;
use super::files::FileDigest;
use super::merge_target::MergeTarget;
use super::model::{
    FixRow, NewResult, NewRun, OutcomeRow, Recorded, ResultRow, RunSummary, Target, TestInfo,
};
use super::schema::{CURRENT_VERSION, Found};
use super::statements as sql;
use super::store::{mask_url, refuse_found};
use crate::results::Outcome;

mod connect;
mod read;
mod rows;
mod write;

pub(crate) use connect::{check_url, url_of};
use connect::{connect_error, parse_url, password_for};
#[cfg(test)]
pub(crate) use connect::{libpq_url, password_in};
use read::{
    BATCHES_SINCE, for_each_packed, inspect, run_batches_in, run_with_key_in, summaries_in,
    test_names, test_of,
};
pub(crate) use rows::clean;
use rows::{PgFailure, parse_tags, retryable, since_ms, timestamp};
use write::{Prepared, add_files_in, check_fix, record_fix_in, write_run_in};

/// How long connecting waits for the server when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a merge into a server is tried, at least, when the server aborts it for a
/// serialization failure or a deadlock.
const MERGE_TRIES: u32 = 5;

/// The key of the advisory lock that serialises creating and migrating the tables.
const MIGRATION_LOCK: i64 = 0x636f_616c_6d69_6e65;

/// The schema on PostgreSQL, at [`CURRENT_VERSION`] (6): the tables of the SQLite schema
/// ([`super::schema`]) in PostgreSQL's types, with the results packed as on SQLite: one row of
/// `result_batches` per recorded batch, its `data` the UTF-8 text of [`super::packed`] (a JSON
/// array of `[test_id, attempt, outcome, duration, message, tagged]`) as `BYTEA`, stored out of
/// line without compression (`STORAGE EXTERNAL`: every plan reads it whole). A view
/// `results` (`batch_id, seq, run_id, test_id, attempt, outcome, duration, message, tagged`,
/// `seq` from 0 in recording order) unpacks them with the server's JSON functions, so that SQL
/// over the results keeps working; coalmine reads `data` itself. PostgreSQL histories start at
/// version 6; a later schema change is a migration of each dialect.
///
/// This layout replaced, still at version 6 and without a migration, the first one (a table
/// `results` of one row per execution), which no history outside this repository used: the
/// backend landed the same day. A database of that first layout is not read.
///
/// The packed test ids are not foreign keys: as on SQLite, every id a recording stores was
/// created or read by the same transaction and no test is ever deleted; the tests check them.
const PG_V6: &str = "
CREATE TABLE coalmine_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    written_by TEXT NOT NULL
);
CREATE TABLE runs (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    lane TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('periodic', 'presubmit', 'merged', 'local')),
    commit_sha TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    errored BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    tests BIGINT NOT NULL,
    ingest_key TEXT UNIQUE
);
CREATE INDEX runs_by_start ON runs (started_at, id);
CREATE TABLE tests (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    tags TEXT,
    tags_seen_at BIGINT
);
CREATE TABLE result_batches (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES runs (id),
    data BYTEA NOT NULL
);
ALTER TABLE result_batches ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX result_batches_by_run ON result_batches (run_id, id);
CREATE VIEW results (batch_id, seq, run_id, test_id, attempt, outcome, duration, message,
        tagged) AS
    SELECT batches.id, (result.ordinality - 1)::integer, batches.run_id,
        (result.value ->> 0)::bigint, (result.value ->> 1)::integer, result.value ->> 2,
        (result.value ->> 3)::double precision, result.value ->> 4,
        coalesce((result.value ->> 5)::boolean, false)
    FROM result_batches AS batches,
        json_array_elements(convert_from(batches.data, 'UTF8')::json) WITH ORDINALITY
            AS result (value, ordinality);
CREATE TABLE fixes (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    test_id BIGINT NOT NULL REFERENCES tests (id),
    commit_sha TEXT NOT NULL,
    fixed_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE (test_id, commit_sha)
);
CREATE TABLE ingested_files (
    digest BYTEA NOT NULL CHECK (length(digest) = 32),
    run_id BIGINT NOT NULL REFERENCES runs (id),
    PRIMARY KEY (digest, run_id)
);
";

/// The outcome history on a PostgreSQL server: one connection.
pub struct PgHistory {
    client: RefCell<Client>,
    /// The URL with its password masked: what every message names.
    shown: PathBuf,
    lock_timeout: Duration,
}

impl std::fmt::Debug for PgHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHistory")
            .field("url", &self.shown)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

impl PgHistory {
    /// Connects to the server of `url` and opens the history in its database, creating
    /// coalmine's tables when the database has no tables at all (the database itself must
    /// exist: create it with `createdb`). A database holding other tables, or a coalmine
    /// history of a newer schema, is refused untouched. A server that cannot be reached is
    /// [`HistoryError::Unreachable`], naming its host and port; nothing is written then.
    /// Without `create`, a database without tables is refused
    /// ([`HistoryError::NoServerHistory`]) rather than given coalmine's.
    pub fn open(
        url: &str,
        lock_timeout: Duration,
        create: bool,
    ) -> Result<PgHistory, HistoryError> {
        let shown = PathBuf::from(mask_url(url));
        let config_error = |reason: String| HistoryError::ServerConfig {
            url: shown.clone(),
            reason,
        };
        let from_env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let (mut config, tls) = parse_url(url, from_env).map_err(&config_error)?;
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_user().is_none()
            && let Ok(user) = whoami::username()
        {
            config.user(&user);
        }
        if config.get_password().is_none()
            && let Some(password) = password_for(&config)
        {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("coalmine");
        let unix_only = config
            .get_hosts()
            .iter()
            .all(|host| matches!(host, Host::Unix(_)));
        let connector = tls.connector(unix_only).map_err(&config_error)?;
        config.ssl_mode(connector.ssl_mode);
        let connected = match connector.tls {
            Some(make_tls) => config.connect(make_tls),
            None => config.connect(NoTls),
        };
        let client = connected.map_err(|error| connect_error(error, &config, &shown, tls.mode))?;
        let history = PgHistory {
            client: RefCell::new(client),
            shown,
            lock_timeout,
        };
        history.set_server_lock_timeout()?;
        // Look before touching anything: a foreign or newer database must stay as it is.
        let found = history.read("opening", inspect)?;
        refuse_found(&history.shown, &found, true)?;
        if !create && found == Found::Empty {
            return Err(HistoryError::NoServerHistory {
                url: history.shown.clone(),
            });
        }
        if !matches!(
            found,
            Found::Coalmine {
                version: CURRENT_VERSION,
                ..
            }
        ) {
            let shown = history.shown.clone();
            history.write("creating the tables", |tx| {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
                // Another process may have created them meanwhile: look again.
                let found = inspect(tx)?;
                refuse_found(&shown, &found, true)?;
                if let Found::Coalmine { version, .. } = found
                    && version < CURRENT_VERSION
                {
                    return Err(PgFailure::History(HistoryError::Corrupt {
                        path: shown.clone(),
                        detail: format!(
                            "it has schema version {version}, but PostgreSQL histories start at \
                             version {CURRENT_VERSION}: it was not written by coalmine"
                        ),
                    }));
                }
                if matches!(found, Found::Empty) {
                    tx.batch_execute(PG_V6)?;
                    tx.execute(
                        "INSERT INTO coalmine_schema (id, version, written_by) VALUES (1, $1, $2)",
                        &[&(CURRENT_VERSION as i32), &env!("CARGO_PKG_VERSION")],
                    )?;
                }
                Ok(())
            })?;
        }
        Ok(history)
    }

    /// The server's URL, its password masked.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The schema version of the open database (always the current one once opened).
    pub fn schema_version(&self) -> u32 {
        CURRENT_VERSION
    }

    /// Which server and database this is, as the server tells it: its start time, port and
    /// database name, the same for two URLs that reach one database by different hosts or a
    /// socket.
    pub(crate) fn server_identity(&self) -> Result<String, HistoryError> {
        self.read("identifying the server", |tx| {
            Ok(tx
                .query_one(
                    "SELECT pg_postmaster_start_time()::text || ' port ' || \
                     current_setting('port') || ' database ' || current_database()",
                    &[],
                )?
                .try_get(0)?)
        })
    }

    /// Runs `body` in one REPEATABLE READ transaction, committed when `body` returns `Ok`:
    /// what [`super::merge`] merges into a server in. Everything `body` reads through the
    /// [`PgTransaction`] sees one snapshot and its own writes, whatever others record
    /// meanwhile; nothing of it is seen by others, or kept, unless all of it is.
    ///
    /// Merges into one server follow one another: the transaction first takes a lock only
    /// merges take (`coalmine_schema` in SHARE UPDATE EXCLUSIVE mode, which recordings and
    /// reads do not conflict with), before its snapshot, so that a merge sees every merge
    /// committed before it and the same run is never merged twice at once. A recording that
    /// touches what the merge writes (the same run, a test's tags) makes the server abort the
    /// one of them that would overwrite the other's: the merge is then retried whole, as every
    /// write is, up to the lock timeout, and at least [`MERGE_TRIES`] times (a long merge
    /// takes longer than the lock timeout). Waiting longer than the lock timeout for a lock is
    /// [`HistoryError::Locked`]; any other failure of a server says that nothing was committed.
    pub(crate) fn merge_transaction<T>(
        &mut self,
        mut body: impl FnMut(&mut PgTransaction<'_, '_>) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let started = Instant::now();
        let shown = self.shown.clone();
        let mut attempts = 0;
        let isolation = Some(IsolationLevel::RepeatableRead);
        let result = self.transaction("merging", isolation, MERGE_TRIES, |tx| {
            attempts += 1;
            tx.batch_execute("LOCK TABLE coalmine_schema IN SHARE UPDATE EXCLUSIVE MODE")?;
            let mut handle = PgTransaction { tx, shown: &shown };
            Ok(body(&mut handle)?)
        });
        match result {
            Err(HistoryError::Postgres { source, .. })
                if source.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) =>
            {
                Err(HistoryError::Locked {
                    path: shown,
                    doing: "merging (another merge or a long recording held a lock)",
                    waited: started.elapsed(),
                    attempts,
                })
            }
            Err(HistoryError::Postgres { url, source, .. }) => Err(HistoryError::Postgres {
                url,
                doing: "merging (nothing of the merge was committed: run it again)",
                source,
            }),
            other => other,
        }
    }

    /// How long a write waits for a lock another writer holds (the server's `lock_timeout`),
    /// and for how long a transaction aborted by a deadlock is retried.
    pub fn set_lock_timeout(&mut self, timeout: Duration) -> Result<(), HistoryError> {
        self.lock_timeout = timeout;
        self.set_server_lock_timeout()
    }

    fn set_server_lock_timeout(&self) -> Result<(), HistoryError> {
        let millis = self.lock_timeout.as_millis().clamp(1, i32::MAX as u128);
        self.client
            .borrow_mut()
            .batch_execute(&format!("SET lock_timeout = {millis}"))
            .map_err(|source| self.error("opening", source))
    }

    fn error(&self, doing: &'static str, source: postgres::Error) -> HistoryError {
        HistoryError::Postgres {
            url: self.shown.clone(),
            doing,
            source,
        }
    }

    /// Runs `body` in one transaction and commits it, retrying it whole when the server aborts
    /// it for a deadlock or a serialization failure, up to the lock timeout.
    fn write<T>(
        &self,
        doing: &'static str,
        body: impl FnMut(&mut Transaction<'_>) -> Result<T, PgFailure>,
    ) -> Result<T, HistoryError> {
        self.transaction(doing, None, 1, body)
    }

    /// [`PgHistory::write`] at the isolation level `isolation` (the server's default, READ
    /// COMMITTED, with `None`), tried at least `tries` times (when the server aborts it) however
    /// long each try took.
    fn transaction<T>(
        &self,
        doing: &'static str,
        isolation: Option<IsolationLevel>,
        tries: u32,
        mut body: impl FnMut(&mut Transaction<'_>) -> Result<T, PgFailure>,
    ) -> Result<T, HistoryError> {
        let started = Instant::now();
        let mut client = self.client.borrow_mut();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let attempt = (|| {
                let mut builder = client.build_transaction();
                if let Some(level) = isolation {
                    builder = builder.isolation_level(level);
                }
                let mut tx = builder.start()?;
                let value = body(&mut tx)?;
                tx.commit()?;
                Ok(value)
            })();
            let (retry, error) = match attempt {
                Ok(value) => return Ok(value),
                Err(PgFailure::Pg(error)) => (retryable(&error), self.error(doing, error)),
                // A failure of the server inside a step that explained it (a merge's steps).
                Err(PgFailure::History(error)) => (
                    matches!(&error, HistoryError::Postgres { source, .. } if retryable(source)),
                    error,
                ),
            };
            if !retry || (attempts >= tries && started.elapsed() >= self.lock_timeout) {
                return Err(error);
            }
            let wait = Duration::from_millis(5u64 << attempts.min(7));
            std::thread::sleep(wait);
        }
    }

    /// Runs `body` in one read-only transaction that sees one snapshot.
    fn read<T>(
        &self,
        doing: &'static str,
        body: impl FnOnce(&mut Transaction<'_>) -> Result<T, PgFailure>,
    ) -> Result<T, HistoryError> {
        let mut client = self.client.borrow_mut();
        let attempt = (|| {
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let value = body(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })();
        match attempt {
            Ok(value) => Ok(value),
            Err(PgFailure::History(error)) => Err(error),
            Err(PgFailure::Pg(error)) => Err(self.error(doing, error)),
        }
    }

    /// Records `results` into `target`, with the report files `files`, in one transaction:
    /// what [`History::record_run`](super::History::record_run) and its variants do.
    pub(crate) fn write_run(
        &mut self,
        target: Target<'_>,
        results: &[NewResult],
        files: &[FileDigest],
    ) -> Result<Recorded, HistoryError> {
        let prepared = Prepared::new(&self.shown, results)?;
        let shown = self.shown.clone();
        self.write("recording a run", |tx| {
            write_run_in(&shown, tx, target, results, &prepared, files)
        })
    }

    /// See [`History::record_fix`](super::History::record_fix).
    pub fn record_fix(
        &mut self,
        test: &str,
        commit: &str,
        at: Timestamp,
    ) -> Result<(), HistoryError> {
        check_fix(&self.shown, test, commit)?;
        self.write("recording a fix", |tx| record_fix_in(tx, test, commit, at))
    }

    /// See [`History::run_summaries`](super::History::run_summaries).
    pub fn run_summaries(&self, since: Option<Timestamp>) -> Result<Vec<RunSummary>, HistoryError> {
        self.read_summaries(sql::RUNS_SINCE, since_ms(since))
    }

    /// See [`History::run_summary`](super::History::run_summary).
    pub fn run_summary(&self, id: i64) -> Result<Option<RunSummary>, HistoryError> {
        Ok(self.read_summaries(sql::RUN_BY_ID, id)?.pop())
    }

    /// See [`History::run_with_key`](super::History::run_with_key).
    pub fn run_with_key(&self, key: &str) -> Result<Option<RunSummary>, HistoryError> {
        let shown = &self.shown;
        self.read("looking up an ingest key", |tx| {
            run_with_key_in(shown, tx, key)
        })
    }

    fn read_summaries(&self, filter: &str, value: i64) -> Result<Vec<RunSummary>, HistoryError> {
        let shown = &self.shown;
        self.read("reading runs", |tx| summaries_in(shown, tx, filter, value))
    }

    /// See [`History::for_each_result`](super::History::for_each_result): one query of the
    /// batches, streamed and unpacked.
    pub fn for_each_result(
        &self,
        since: Option<Timestamp>,
        mut f: impl FnMut(&ResultRow),
    ) -> Result<(), HistoryError> {
        let since = since_ms(since);
        let shown = &self.shown;
        self.read("reading results", |tx| {
            let tests = test_names(tx)?;
            let rows = tx.query_raw(BATCHES_SINCE, [&since as &(dyn ToSql + Sync)])?;
            let mut current = ResultRow {
                run_id: 0,
                test: String::new(),
                outcome: Outcome::Pass,
                duration_secs: None,
                attempt: 1,
                message: None,
            };
            for_each_packed(shown, rows, |run_id, packed| {
                current.run_id = run_id;
                current.test.clear();
                current
                    .test
                    .push_str(&test_of(shown, &tests, run_id, packed.test_id)?.0);
                current.outcome = packed.outcome;
                current.duration_secs = packed.duration_secs;
                current.attempt = packed.attempt;
                current.message = packed.message.map(Cow::into_owned);
                f(&current);
                Ok(())
            })
        })
    }

    /// See [`History::for_each_outcome`](super::History::for_each_outcome): the plan's whole
    /// horizon in one query of the batches (about one row per recording), streamed.
    pub fn for_each_outcome(
        &self,
        since: Option<Timestamp>,
        mut f: impl FnMut(OutcomeRow),
    ) -> Result<(), HistoryError> {
        let since = since_ms(since);
        let shown = &self.shown;
        self.read("reading results", |tx| {
            let rows = tx.query_raw(BATCHES_SINCE, [&since as &(dyn ToSql + Sync)])?;
            for_each_packed(shown, rows, |run_id, packed| {
                f(OutcomeRow {
                    run_id,
                    test_id: packed.test_id,
                    attempt: packed.attempt,
                    outcome: packed.outcome,
                });
                Ok(())
            })
        })
    }

    /// See [`History::tests`](super::History::tests).
    pub fn tests(&self) -> Result<Vec<TestInfo>, HistoryError> {
        let shown = &self.shown;
        self.read("reading tests", |tx| {
            let rows = tx.query(
                "SELECT id, name, tags FROM tests ORDER BY name COLLATE \"C\"",
                &[],
            )?;
            let mut tests = Vec::with_capacity(rows.len());
            for row in rows {
                let name: String = row.try_get(1)?;
                let tags = parse_tags(shown, &name, row.try_get(2)?)?;
                tests.push(TestInfo {
                    id: row.try_get(0)?,
                    name,
                    tags,
                });
            }
            Ok(tests)
        })
    }

    /// See [`History::fixes`](super::History::fixes).
    pub fn fixes(&self) -> Result<Vec<FixRow>, HistoryError> {
        let shown = &self.shown;
        self.read("reading fixes", |tx| {
            let mut fixes = Vec::new();
            for row in tx.query(sql::SELECT_FIXES, &[])? {
                fixes.push(FixRow {
                    test: row.try_get(0)?,
                    commit: row.try_get(1)?,
                    at: timestamp(shown, row.try_get(2)?)?,
                    recorded_at: timestamp(shown, row.try_get(3)?)?,
                });
            }
            Ok(fixes)
        })
    }

    /// See [`History::runs_of_files`](super::History::runs_of_files).
    pub fn runs_of_files(&self, files: &[FileDigest]) -> Result<Vec<Vec<i64>>, HistoryError> {
        self.read("looking up ingested files", |tx| {
            let statement = tx.prepare(sql::RUNS_OF_FILE)?;
            let mut runs = Vec::with_capacity(files.len());
            for digest in files {
                let rows = tx.query(&statement, &[&&digest[..]])?;
                runs.push(
                    rows.iter()
                        .map(|row| row.try_get::<_, i64>(0))
                        .collect::<Result<Vec<i64>, _>>()?,
                );
            }
            Ok(runs)
        })
    }

    /// See [`History::run_batches`](super::History::run_batches).
    pub fn run_batches(&self, run_id: i64) -> Result<Vec<Vec<NewResult>>, HistoryError> {
        let shown = &self.shown;
        self.read("reading a run's results", |tx| {
            run_batches_in(shown, tx, run_id)
        })
    }

    /// See [`History::files_of_run`](super::History::files_of_run).
    pub fn files_of_run(&self, run_id: i64) -> Result<Vec<FileDigest>, HistoryError> {
        self.read("reading a run's files", |tx| {
            let rows = tx.query(sql::FILES_OF_RUN, &[&run_id])?;
            Ok(rows
                .iter()
                .filter_map(|row| {
                    row.try_get::<_, &[u8]>(0)
                        .ok()
                        .and_then(|digest| FileDigest::try_from(digest).ok())
                })
                .collect())
        })
    }

    /// See [`History::add_files`](super::History::add_files).
    pub fn add_files(&mut self, run_id: i64, files: &[FileDigest]) -> Result<(), HistoryError> {
        self.write("keeping report files", |tx| add_files_in(tx, run_id, files))
    }

    /// See [`History::ingested_results`](super::History::ingested_results).
    pub fn ingested_results(&self, run_id: i64) -> Result<Vec<NewResult>, HistoryError> {
        Ok(self.run_batches(run_id)?.into_iter().flatten().collect())
    }
}

/// The transaction a merge into a server runs in ([`PgHistory::merge_transaction`]): the
/// history's reads and writes, each a step of that one transaction.
pub(crate) struct PgTransaction<'a, 't> {
    tx: &'a mut Transaction<'t>,
    shown: &'a Path,
}

impl PgTransaction<'_, '_> {
    /// The outcome of a step, a failure of the server explained as `doing`.
    fn step<T>(
        &mut self,
        doing: &'static str,
        step: impl FnOnce(&Path, &mut Transaction<'_>) -> Result<T, PgFailure>,
    ) -> Result<T, HistoryError> {
        step(self.shown, self.tx).map_err(|failure| match failure {
            PgFailure::Pg(source) => HistoryError::Postgres {
                url: self.shown.to_path_buf(),
                doing,
                source,
            },
            PgFailure::History(error) => error,
        })
    }

    fn record(
        &mut self,
        target: Target<'_>,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        let prepared = Prepared::new(self.shown, results)?;
        self.step("merging a run", |shown, tx| {
            write_run_in(shown, tx, target, results, &prepared, &[])
        })
    }
}

impl MergeTarget for PgTransaction<'_, '_> {
    fn run_summaries(&mut self, since: Option<Timestamp>) -> Result<Vec<RunSummary>, HistoryError> {
        self.step("reading runs", |shown, tx| {
            summaries_in(shown, tx, sql::RUNS_SINCE, since_ms(since))
        })
    }

    fn run_with_key(&mut self, key: &str) -> Result<Option<RunSummary>, HistoryError> {
        self.step("looking up an ingest key", |shown, tx| {
            run_with_key_in(shown, tx, key)
        })
    }

    fn run_batches(&mut self, run_id: i64) -> Result<Vec<Vec<NewResult>>, HistoryError> {
        self.step("reading a run's results", |shown, tx| {
            run_batches_in(shown, tx, run_id)
        })
    }

    fn ingested_results(&mut self, run_id: i64) -> Result<Vec<NewResult>, HistoryError> {
        Ok(self.run_batches(run_id)?.into_iter().flatten().collect())
    }

    fn record_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        self.record(Target::New(run), results)
    }

    fn append_to_run(
        &mut self,
        run: &NewRun,
        results: &[NewResult],
    ) -> Result<Recorded, HistoryError> {
        self.record(Target::Append(run), results)
    }

    fn add_files(&mut self, run_id: i64, files: &[FileDigest]) -> Result<(), HistoryError> {
        self.step("keeping report files", |_, tx| {
            add_files_in(tx, run_id, files)
        })
    }

    fn record_fix(&mut self, test: &str, commit: &str, at: Timestamp) -> Result<(), HistoryError> {
        check_fix(self.shown, test, commit)?;
        self.step("recording a fix", |_, tx| {
            record_fix_in(tx, test, commit, at)
        })
    }
}
