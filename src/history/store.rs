//! The SQLite store of the outcome history: [`SqliteHistory`] opens (creating or migrating) the
//! database, records runs with their results and fixes, and reads them back, streaming results
//! so that millions of them fit in little memory.
//!
//! Many processes may write into one file at once (nextest runs each canary in its own
//! process): the database is in write-ahead-log mode, every write is one `BEGIN IMMEDIATE`
//! transaction, SQLite's busy handler waits on a lock, and a write that still finds the database
//! locked is retried whole with exponential backoff and jitter until the lock timeout (60 s by
//! default), after which it fails with [`HistoryError::Locked`]: a record is never dropped
//! silently.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};

use super::error::{Failure, HistoryError, bad_value, invalid};
use super::files::FileDigest;
use super::model::{
    FixRow, NewResult, NewRun, OutcomeRow, Recorded, ResultRow, RunCounts, RunKind, RunRow,
    RunSummary, Target, TestInfo,
};
use super::packed::{Encoder, PackedRow, for_each_batch};
use super::schema::{self, CURRENT_VERSION, Found};
use super::tags::{KnownTags, TagWriter};
use crate::results::Outcome;

/// The environment variable that overrides the configured history path.
pub const HISTORY_ENV: &str = "COALMINE_HISTORY";

/// Where the history lives when `harness.toml` does not say, relative to the project root.
pub const DEFAULT_RELATIVE_PATH: &str = ".coalmine/history.db";

/// How long a write waits for other writers by default before failing.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest single wait inside SQLite's busy handler before coalmine's own retry takes over.
const BUSY_HANDLER_WAIT: Duration = Duration::from_secs(5);

/// The first pause between two whole-transaction retries; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The outcome history: an open SQLite database.
///
/// Times are kept to the millisecond. A `SqliteHistory` is one connection: open one per thread or
/// process; any number of them may write into the same file at once.
pub struct SqliteHistory {
    conn: Connection,
    path: PathBuf,
    lock_timeout: Duration,
    /// Test name to id and what this connection last knew of its tags. Ids never change once
    /// committed, so the cache stays right whatever other writers do; tag knowledge is dropped
    /// whenever another connection has written.
    tests: TestCache,
    /// `PRAGMA data_version` when tag knowledge was last valid.
    data_version: Option<i64>,
    jitter: Jitter,
}

/// A hash map with foldhash's fast hasher: test names are hashed once per recorded result,
/// and SipHash showed in the ingest's profile.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Test name to what a connection knows of the test.
type TestCache = FastMap<String, CachedTest>;

#[derive(Debug, Clone)]
struct CachedTest {
    id: i64,
    /// The stored tags, when known to be current.
    tags: Option<KnownTags>,
}

impl std::fmt::Debug for SqliteHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteHistory")
            .field("path", &self.path)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

impl SqliteHistory {
    /// Opens the history database at `path`, creating it (and its parent folders) if absent.
    ///
    /// Puts the database in write-ahead-log mode, installs busy handling, and migrates an older
    /// schema forward. Refuses, with an error naming the file and leaving it untouched, a
    /// database of a newer schema ([`HistoryError::TooNew`]: upgrade coalmine), a file that is
    /// not SQLite ([`HistoryError::NotSqlite`]), another application's SQLite database
    /// ([`HistoryError::Foreign`]) and a damaged one ([`HistoryError::Corrupt`]). An empty
    /// (zero-byte) file is taken as a new database. The file is never replaced or deleted.
    pub fn open(path: &Path) -> Result<SqliteHistory, HistoryError> {
        Self::open_with_lock_timeout(path, DEFAULT_LOCK_TIMEOUT)
    }

    /// [`SqliteHistory::open`] with another lock timeout (see [`SqliteHistory::set_lock_timeout`]).
    pub fn open_with_lock_timeout(
        path: &Path,
        lock_timeout: Duration,
    ) -> Result<SqliteHistory, HistoryError> {
        if let Some(url) = url_in(path) {
            return Err(HistoryError::Url { url: url.into() });
        }
        check_file(path)?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
            && !dir.is_dir()
        {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| HistoryError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let mut history = SqliteHistory {
            conn,
            path: path.to_path_buf(),
            lock_timeout,
            tests: TestCache::default(),
            data_version: None,
            jitter: Jitter::new(),
        };
        history.set_busy_timeout()?;
        history.conn.set_prepared_statement_cache_capacity(32);

        // Look before touching anything: a foreign or newer database must stay as it is.
        let found = history.read_retry("opening", |conn| Ok(schema::inspect(conn)?))?;
        history.refuse(&found)?;

        let mode: String = history.read_retry("switching to write-ahead logging", |conn| {
            Ok(conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?)
        })?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(HistoryError::NoWal {
                path: history.path.clone(),
                mode,
            });
        }
        // In WAL mode, NORMAL never corrupts the database and loses no commit on a crash of the
        // process; only a power loss may lose the last commits. Foreign keys stay unenforced
        // (SQLite's default): every id a write stores was read or created by the same
        // transaction, no row that another row refers to is ever deleted (only the results of a
        // run completed with more files are replaced), and checking two parents per result batch
        // cost a third of the recording time. The tests check them with `PRAGMA foreign_key_check`.
        let settings = "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
                        PRAGMA cache_size = -32768;";
        history
            .conn
            .execute_batch(settings)
            .map_err(|source| HistoryError::from_sqlite(&history.path, "opening", source))?;

        if !matches!(
            found,
            Found::Coalmine {
                version: CURRENT_VERSION,
                ..
            }
        ) {
            let path = history.path.clone();
            let SqliteHistory {
                conn,
                lock_timeout,
                jitter,
                ..
            } = &mut history;
            write_retry(
                conn,
                &path,
                *lock_timeout,
                jitter,
                "upgrading the schema",
                |tx| {
                    // Another process may have created or migrated it meanwhile: look again.
                    let found = schema::inspect(tx)?;
                    refuse(&path, &found).map_err(Failure::History)?;
                    let from = match found {
                        Found::Coalmine { version, .. } => version,
                        _ => 0,
                    };
                    if from < CURRENT_VERSION {
                        schema::migrate(tx, from)?;
                    }
                    Ok(())
                },
            )?;
        }
        Ok(history)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (always the current one once opened).
    pub fn schema_version(&self) -> u32 {
        CURRENT_VERSION
    }

    /// How long a write waits for other writers before failing with [`HistoryError::Locked`]
    /// (60 s by default).
    pub fn set_lock_timeout(&mut self, timeout: Duration) -> Result<(), HistoryError> {
        self.lock_timeout = timeout;
        self.set_busy_timeout()
    }

    fn set_busy_timeout(&self) -> Result<(), HistoryError> {
        // Leave coalmine's own retry (with jitter) a few turns within the lock timeout.
        let wait = (self.lock_timeout / 4).min(BUSY_HANDLER_WAIT);
        self.conn
            .busy_timeout(wait)
            .map_err(|source| HistoryError::from_sqlite(&self.path, "opening", source))
    }

    fn refuse(&self, found: &Found) -> Result<(), HistoryError> {
        refuse(&self.path, found)
    }

    /// Records `results` into `target`, with the report files `files`, in one transaction:
    /// what [`History::record_run`](super::History::record_run) and its variants do.
    pub(crate) fn write_run(
        &mut self,
        target: Target<'_>,
        results: &[NewResult],
        files: &[FileDigest],
    ) -> Result<Recorded, HistoryError> {
        check_results(&self.path, results)?;
        let counts = count(results);

        let SqliteHistory {
            conn,
            path,
            lock_timeout,
            tests,
            data_version,
            jitter,
        } = self;
        let written = write_retry(conn, path, *lock_timeout, jitter, "recording a run", |tx| {
            let version: i64 = tx.query_row("PRAGMA data_version", [], |row| row.get(0))?;
            if *data_version != Some(version) {
                for test in tests.values_mut() {
                    test.tags = None;
                }
                *data_version = Some(version);
            }
            // The run to add to, to replace or to create, with its start.
            let (run_id, started) = match target {
                Target::Replace(run_id) => {
                    let started: Option<i64> = tx
                        .prepare_cached("SELECT started_at FROM runs WHERE id = ?1")?
                        .query_row([run_id], |row| row.get(0))
                        .optional()?;
                    let Some(started) = started else {
                        return Err(Failure::History(invalid(
                            path,
                            format!("there is no run {run_id} to add files to"),
                        )));
                    };
                    tx.prepare_cached("DELETE FROM result_batches WHERE run_id = ?1")?
                        .execute([run_id])?;
                    tx.prepare_cached(
                        "UPDATE runs SET passed = ?2, failed = ?3, errored = ?4, skipped = ?5, \
                         tests = ?6 WHERE id = ?1",
                    )?
                    .execute(rusqlite::params![
                        run_id,
                        counts.passed,
                        counts.failed,
                        counts.errored,
                        counts.skipped,
                        counts.total,
                    ])?;
                    (run_id, started)
                }
                Target::New(run) | Target::Append(run) => {
                    type Existing = (i64, i64, String, String, String);
                    let existing: Option<Existing> = match &run.ingest_key {
                        Some(key) => tx
                            .prepare_cached(
                                "SELECT id, started_at, lane, kind, commit_sha FROM runs \
                                 WHERE ingest_key = ?1",
                            )?
                            .query_row([key], |row| {
                                Ok((
                                    row.get(0)?,
                                    row.get(1)?,
                                    row.get(2)?,
                                    row.get(3)?,
                                    row.get(4)?,
                                ))
                            })
                            .optional()?,
                        None => None,
                    };
                    match existing {
                        Some((run_id, ..)) if matches!(target, Target::New(_)) => {
                            return Ok((Recorded::AlreadyRecorded { run_id }, Vec::new()));
                        }
                        Some((run_id, started, lane, kind, commit)) => {
                            let key = run.ingest_key.as_deref().unwrap_or_default();
                            check_same_run(path, key, (&lane, &kind, &commit), run)
                                .map_err(Failure::History)?;
                            tx.prepare_cached(
                                "UPDATE runs SET passed = passed + ?2, failed = failed + ?3, \
                                 errored = errored + ?4, skipped = skipped + ?5, \
                                 tests = tests + ?6 WHERE id = ?1",
                            )?
                            .execute(rusqlite::params![
                                run_id,
                                counts.passed,
                                counts.failed,
                                counts.errored,
                                counts.skipped,
                                counts.total,
                            ])?;
                            (run_id, started)
                        }
                        None => {
                            tx.prepare_cached(
                                "INSERT INTO runs (lane, kind, commit_sha, started_at, source, \
                                 recorded_at, passed, failed, errored, skipped, tests, \
                                 ingest_key) \
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                            )?
                            .execute(rusqlite::params![
                                run.lane,
                                run.kind.as_str(),
                                run.commit,
                                run.started_at.as_millisecond(),
                                run.source,
                                Timestamp::now().as_millisecond(),
                                counts.passed,
                                counts.failed,
                                counts.errored,
                                counts.skipped,
                                counts.total,
                                run.ingest_key,
                            ])?;
                            (tx.last_insert_rowid(), run.started_at.as_millisecond())
                        }
                    }
                }
            };

            super::files::add(tx, run_id, files)?;
            // The tests of this transaction that the cache does not hold (looked up in one
            // pass over `tests` for a large run, else one by one), or that it adds: only the
            // added ones join the cache, once the transaction commits.
            let mut local = join_tests(tx, path, tests, results)?;
            let mut tag_writer = TagWriter::new(tx, path, started)?;
            let mut rows = RowWriter::new(run_id, results.len());
            for (index, result) in results.iter().enumerate() {
                let name = result.test.as_str();
                let cached = match local.slot_of(index) {
                    Some(slot) => local.resolve(tx, path, slot, name)?,
                    None => match tests.get_mut(name) {
                        Some(cached) => cached,
                        None => {
                            let slot = local.slot_by_name(name);
                            local.resolve(tx, path, slot, name)?
                        }
                    },
                };
                if let Some(tags) = result.tags.as_deref() {
                    let known = match cached.tags.take() {
                        Some(known) => known,
                        None => stored_tags(tx, path, cached.id)?,
                    };
                    let known = cached.tags.insert(known);
                    tag_writer.report(tx, cached.id, known, tags)?;
                }
                rows.push(cached.id, result);
            }
            rows.finish(tx)?;
            let added = local.added();
            let recorded = if let Target::Replace(_) = target {
                Recorded::Completed {
                    run_id,
                    results: results.len(),
                }
            } else {
                Recorded::New {
                    run_id,
                    results: results.len(),
                }
            };
            Ok((recorded, added))
        });
        match written {
            Ok((recorded, added)) => {
                tests.extend(added);
                Ok(recorded)
            }
            Err(error) => {
                // Tag knowledge may have been updated by a transaction that rolled back.
                for test in tests.values_mut() {
                    test.tags = None;
                }
                Err(error)
            }
        }
    }

    /// Records that a fix for `test` landed at `commit` at time `at`. Recording the same test
    /// and commit again changes nothing. A test the history has not seen yet is added.
    pub fn record_fix(
        &mut self,
        test: &str,
        commit: &str,
        at: Timestamp,
    ) -> Result<(), HistoryError> {
        if test.is_empty() {
            return Err(self.invalid("the fix names no test".to_string()));
        }
        if commit.is_empty() {
            return Err(self.invalid(format!("the fix for {test} names no commit")));
        }
        let SqliteHistory {
            conn,
            path,
            lock_timeout,
            tests,
            jitter,
            ..
        } = self;
        let added = write_retry(conn, path, *lock_timeout, jitter, "recording a fix", |tx| {
            let (cached, added) = match tests.get(test) {
                Some(cached) => (cached.clone(), false),
                None => (test_id(tx, path, test)?, true),
            };
            tx.execute(
                super::statements::INSERT_FIX,
                rusqlite::params![
                    cached.id,
                    commit,
                    at.as_millisecond(),
                    Timestamp::now().as_millisecond()
                ],
            )?;
            Ok(added.then_some(cached))
        })?;
        if let Some(cached) = added {
            tests.insert(test.to_string(), cached);
        }
        Ok(())
    }

    /// The runs that started at or after `since` (all runs with `None`), oldest first.
    pub fn runs(&self, since: Option<Timestamp>) -> Result<Vec<RunRow>, HistoryError> {
        Ok(self
            .run_summaries(since)?
            .into_iter()
            .map(|summary| summary.run)
            .collect())
    }

    /// [`SqliteHistory::runs`] with each run's counts, ingest key and recording time.
    pub fn run_summaries(&self, since: Option<Timestamp>) -> Result<Vec<RunSummary>, HistoryError> {
        self.read_summaries(super::statements::RUNS_SINCE, since_ms(since))
    }

    /// The run with this id, with its counts, if there is one.
    pub fn run_summary(&self, id: i64) -> Result<Option<RunSummary>, HistoryError> {
        Ok(self.read_summaries(super::statements::RUN_BY_ID, id)?.pop())
    }

    /// The run recorded with this ingest key, if any.
    pub fn run_with_key(&self, key: &str) -> Result<Option<RunSummary>, HistoryError> {
        let id: Option<i64> = self.read_retry("looking up an ingest key", |conn| {
            Ok(conn
                .prepare_cached(super::statements::RUN_ID_BY_KEY)?
                .query_row([key], |row| row.get(0))
                .optional()?)
        })?;
        match id {
            Some(id) => self.run_summary(id),
            None => Ok(None),
        }
    }

    /// The runs selected by `filter` (an SQL `WHERE` clause with one parameter, and an order).
    fn read_summaries(&self, filter: &str, value: i64) -> Result<Vec<RunSummary>, HistoryError> {
        let path = &self.path;
        self.read_retry("reading runs", |conn| {
            let mut statement =
                conn.prepare_cached(&format!("{} {filter}", super::statements::SELECT_RUNS))?;
            let mut rows = statement.query([value])?;
            let mut runs = Vec::new();
            while let Some(row) = rows.next()? {
                let kind: String = row.get(2)?;
                let kind = RunKind::parse(&kind).ok_or_else(|| {
                    bad_value(path, format!("a run has the unknown kind {kind:?}"))
                })?;
                runs.push(RunSummary {
                    run: RunRow {
                        id: row.get(0)?,
                        lane: row.get(1)?,
                        kind,
                        commit: row.get(3)?,
                        started_at: timestamp(path, row.get(4)?)?,
                        source: row.get(5)?,
                    },
                    counts: RunCounts {
                        passed: row.get(6)?,
                        failed: row.get(7)?,
                        errored: row.get(8)?,
                        skipped: row.get(9)?,
                        total: row.get(10)?,
                    },
                    ingest_key: row.get(11)?,
                    recorded_at: timestamp(path, row.get(12)?)?,
                });
            }
            Ok(runs)
        })
    }

    /// Calls `f` with every result of the runs that started at or after `since` (all with
    /// `None`), ordered by run start, then run, then recording order. Streams: memory stays
    /// small whatever the number of results (`f` gets a row that is reused between calls).
    /// Reads one consistent snapshot, unaffected by concurrent writers.
    pub fn for_each_result(
        &self,
        since: Option<Timestamp>,
        mut f: impl FnMut(&ResultRow),
    ) -> Result<(), HistoryError> {
        let since = since_ms(since);
        let path = &self.path;
        let mut delivered = false;
        self.read_retry("reading results", |conn| {
            let tx = conn.unchecked_transaction()?;
            let names = TestNames::load(&tx)?;
            let mut current = ResultRow {
                run_id: 0,
                test: String::new(),
                outcome: Outcome::Pass,
                duration_secs: None,
                attempt: 1,
                message: None,
            };
            let mut stream = || -> Result<(), Failure> {
                for_each_batch(&tx, path, ">=", since, |run_id, row| {
                    current.run_id = run_id;
                    let name = names.get(row.test_id).ok_or_else(|| {
                        bad_value(
                            path,
                            format!("a result names the unknown test id {}", row.test_id),
                        )
                    })?;
                    current.test.clear();
                    current.test.push_str(name);
                    current.attempt = row.attempt;
                    current.outcome = row.outcome;
                    current.duration_secs = row.duration_secs;
                    match row.message {
                        Some(text) => {
                            let mut message = current.message.take().unwrap_or_default();
                            message.clear();
                            message.push_str(&text);
                            current.message = Some(message);
                        }
                        None => current.message = None,
                    }
                    delivered = true;
                    f(&current);
                    Ok(())
                })
            };
            match stream() {
                // Retrying after rows were delivered would deliver them twice.
                Err(Failure::Sqlite(error)) if delivered => Err(Failure::History(
                    HistoryError::from_sqlite(path, "reading results", error),
                )),
                other => other,
            }
        })
    }

    /// Calls `f` with the compact form of every result of the runs that started at or after
    /// `since`, in the order of [`SqliteHistory::for_each_result`]: no strings, the test as its
    /// [`TestInfo::id`]. The fastest way to read millions of results.
    pub fn for_each_outcome(
        &self,
        since: Option<Timestamp>,
        mut f: impl FnMut(OutcomeRow),
    ) -> Result<(), HistoryError> {
        let since = since_ms(since);
        let path = &self.path;
        self.read_retry("reading results", |conn| {
            for_each_batch(conn, path, ">=", since, |run_id, row| {
                f(OutcomeRow {
                    run_id,
                    test_id: row.test_id,
                    attempt: row.attempt,
                    outcome: row.outcome,
                });
                Ok(())
            })
        })
    }

    /// Every test the history has seen, by name, with its tags.
    pub fn tests(&self) -> Result<Vec<TestInfo>, HistoryError> {
        let path = &self.path;
        self.read_retry("reading tests", |conn| {
            let mut statement =
                conn.prepare_cached("SELECT id, name, tags FROM tests ORDER BY name")?;
            let mut rows = statement.query([])?;
            let mut tests = Vec::new();
            while let Some(row) = rows.next()? {
                let name: String = row.get(1)?;
                let tags: Option<String> = row.get(2)?;
                let tags = match tags {
                    None => Vec::new(),
                    Some(json) => serde_json::from_str(&json).map_err(|error| {
                        bad_value(
                            path,
                            format!("the tags of {name} are not readable: {error}"),
                        )
                    })?,
                };
                tests.push(TestInfo {
                    id: row.get(0)?,
                    name,
                    tags,
                });
            }
            Ok(tests)
        })
    }

    /// Every recorded fix, oldest first.
    pub fn fixes(&self) -> Result<Vec<FixRow>, HistoryError> {
        let path = &self.path;
        self.read_retry("reading fixes", |conn| {
            let mut statement = conn.prepare_cached(super::statements::SELECT_FIXES)?;
            let mut rows = statement.query([])?;
            let mut fixes = Vec::new();
            while let Some(row) = rows.next()? {
                fixes.push(FixRow {
                    test: row.get(0)?,
                    commit: row.get(1)?,
                    at: timestamp(path, row.get(2)?)?,
                    recorded_at: timestamp(path, row.get(3)?)?,
                });
            }
            Ok(fixes)
        })
    }

    fn invalid(&self, reason: String) -> HistoryError {
        invalid(&self.path, reason)
    }

    /// The run each file was recorded in, in the order of `files` (`None`: never ingested).
    /// Runs ingested before the history kept its files (schema version 3 and earlier) are
    /// recognised by their whole ingest key only ([`SqliteHistory::run_with_key`]).
    pub fn runs_of_files(&self, files: &[FileDigest]) -> Result<Vec<Vec<i64>>, HistoryError> {
        self.read_retry("looking up ingested files", |conn| {
            super::files::runs_of(conn, files)
        })
    }

    /// The results of run `run_id`, one list per recorded batch, in recording order (see
    /// [`SqliteHistory::ingested_results`] for the tags they carry).
    pub fn run_batches(&self, run_id: i64) -> Result<Vec<Vec<NewResult>>, HistoryError> {
        self.read_retry("reading a run's results", |conn| {
            super::files::batches_of(conn, &self.path, run_id)
        })
    }

    /// The digests of the report files run `run_id` was ingested from.
    pub fn files_of_run(&self, run_id: i64) -> Result<Vec<FileDigest>, HistoryError> {
        self.read_retry("reading a run's files", |conn| {
            super::files::digests_of(conn, run_id)
        })
    }

    /// Keeps `files` as report files of run `run_id` (those it has already are left as they
    /// are).
    pub fn add_files(&mut self, run_id: i64, files: &[FileDigest]) -> Result<(), HistoryError> {
        let SqliteHistory {
            conn,
            path,
            lock_timeout,
            jitter,
            ..
        } = self;
        write_retry(
            conn,
            path,
            *lock_timeout,
            jitter,
            "keeping report files",
            |tx| super::files::add(tx, run_id, files),
        )
    }

    /// The results of run `run_id` as [`NewResult`]s, in recording order: what
    /// [`History::complete_ingested_run`](super::History::complete_ingested_run) is given back, merged with new files. A result that
    /// reported its test's tags carries the test's stored tags (which are this run's, or a later
    /// run's that the run cannot override), so that recording it again changes no tags.
    pub fn ingested_results(&self, run_id: i64) -> Result<Vec<NewResult>, HistoryError> {
        self.read_retry("reading a run's results", |conn| {
            super::files::results_of(conn, &self.path, run_id)
        })
    }

    /// Runs a read, retrying it whole while the database is locked (rare in WAL mode: a
    /// recovery or a checkpoint in progress).
    pub(super) fn read_retry<T>(
        &self,
        doing: &'static str,
        mut read: impl FnMut(&Connection) -> Result<T, Failure>,
    ) -> Result<T, HistoryError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match read(&self.conn) {
                Ok(value) => return Ok(value),
                Err(failure) => {
                    settle(&self.path, doing, failure)?;
                    pause(started, self.lock_timeout, attempts, &self.jitter, || {
                        HistoryError::Locked {
                            path: self.path.clone(),
                            doing,
                            waited: started.elapsed(),
                            attempts,
                        }
                    })?;
                }
            }
        }
    }
}

/// Refuses what a coalmine history cannot be.
fn refuse(path: &Path, found: &Found) -> Result<(), HistoryError> {
    refuse_found(path, found, false)
}

/// Refuses what a coalmine history cannot be, in a SQLite file or (`server`) a PostgreSQL
/// database.
pub(crate) fn refuse_found(path: &Path, found: &Found, server: bool) -> Result<(), HistoryError> {
    match found {
        Found::Empty => Ok(()),
        Found::Coalmine {
            version,
            written_by,
        } => {
            if *version > CURRENT_VERSION {
                Err(HistoryError::TooNew {
                    path: path.to_path_buf(),
                    found: *version,
                    written_by: written_by.clone(),
                    supported: CURRENT_VERSION,
                })
            } else {
                Ok(())
            }
        }
        Found::Foreign(found) if server => Err(HistoryError::ForeignServer {
            url: path.to_path_buf(),
            found: found.clone(),
        }),
        Found::Foreign(found) => Err(HistoryError::Foreign {
            path: path.to_path_buf(),
            found: found.clone(),
        }),
        Found::Malformed(detail) => Err(HistoryError::Corrupt {
            path: path.to_path_buf(),
            detail: detail.clone(),
        }),
    }
}

/// The URL in a history path (`postgres://user:***@host/db`, password masked), when the path
/// is one: a scheme (a letter, then letters, digits, `+`, `-` or `.`) right before `://`,
/// after the start or a `/` (a configured URL is joined to harness.toml's folder).
pub fn url_in(path: &Path) -> Option<String> {
    url_text(path).map(|url| mask_url(&url))
}

/// The URL in a history path as given (see [`url_in`]), its password in clear.
pub(crate) fn url_text(path: &Path) -> Option<String> {
    let text = path.to_string_lossy();
    let at = text.find("://")?;
    let start = text[..at].rfind('/').map_or(0, |slash| slash + 1);
    let scheme = &text[start..at];
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| text[start..].to_owned())
}

/// `url` with its password shown as `***`: the one of `user:password@` and the value of a
/// `password=` parameter.
pub fn mask_url(url: &str) -> String {
    let Some(at) = url.find("://") else {
        return url.to_owned();
    };
    let scheme = &url[..at];
    let rest = &url[at + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let mut masked = match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    if let Some(query) = masked.find('?') {
        let (head, params) = masked.split_at(query + 1);
        let params: Vec<String> = params
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => param.to_owned(),
            })
            .collect();
        masked = format!("{head}{}", params.join("&"));
    }
    masked
}

/// Checks, with plain file reads, that `path` is absent, empty, or starts like a SQLite
/// database, so that SQLite never touches anything else.
fn check_file(path: &Path) -> Result<(), HistoryError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(HistoryError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !metadata.is_file() {
        return Err(HistoryError::NotSqlite {
            path: path.to_path_buf(),
            found: if metadata.is_dir() {
                "it is a folder".to_string()
            } else {
                "it is not a regular file".to_string()
            },
        });
    }
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    std::fs::File::open(path)
        .and_then(|file| file.take(SQLITE_MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|source| HistoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    // A shorter head that matches may be a database being created by another process.
    if head[..] != SQLITE_MAGIC[..head.len()] {
        return Err(HistoryError::NotSqlite {
            path: path.to_path_buf(),
            found: format!(
                "it starts with {:?}",
                String::from_utf8_lossy(&head).escape_debug().to_string()
            ),
        });
    }
    Ok(())
}

/// Runs `body` in a `BEGIN IMMEDIATE` transaction and commits it, retrying the whole
/// transaction with exponential backoff and jitter while the database is locked, up to
/// `lock_timeout`.
fn write_retry<T>(
    conn: &mut Connection,
    path: &Path,
    lock_timeout: Duration,
    jitter: &Jitter,
    doing: &'static str,
    mut body: impl FnMut(&Transaction<'_>) -> Result<T, Failure>,
) -> Result<T, HistoryError> {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = body(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        match attempt {
            Ok(value) => return Ok(value),
            Err(failure) => {
                settle(path, doing, failure)?;
                pause(started, lock_timeout, attempts, jitter, || {
                    HistoryError::Locked {
                        path: path.to_path_buf(),
                        doing,
                        waited: started.elapsed(),
                        attempts,
                    }
                })?;
            }
        }
    }
}

/// Turns a failure into a final error, or says `Ok` for a lock, to retry.
fn settle(path: &Path, doing: &'static str, failure: Failure) -> Result<(), HistoryError> {
    match failure {
        Failure::History(error) => Err(error),
        Failure::Sqlite(error) if is_locked(&error) => Ok(()),
        Failure::Sqlite(error) => Err(HistoryError::from_sqlite(path, doing, error)),
    }
}

/// Sleeps before the next attempt, or fails with `locked()` when the time is up.
fn pause(
    started: Instant,
    lock_timeout: Duration,
    attempts: u32,
    jitter: &Jitter,
    locked: impl FnOnce() -> HistoryError,
) -> Result<(), HistoryError> {
    let elapsed = started.elapsed();
    if elapsed >= lock_timeout {
        return Err(locked());
    }
    let ceiling = FIRST_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    // Half fixed, half random, so that writers that collided spread out.
    let wait = ceiling / 2 + jitter.below(ceiling / 2);
    std::thread::sleep(wait.min(lock_timeout - elapsed));
    Ok(())
}

fn is_locked(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// The id of `name` and its stored tags, adding the test if the history has not seen it. Runs
/// inside a write transaction, so no other writer can add it meanwhile.
fn test_id(tx: &Connection, path: &Path, name: &str) -> Result<CachedTest, Failure> {
    let mut select =
        tx.prepare_cached("SELECT id, tags, tags_seen_at FROM tests WHERE name = ?1")?;
    let mut rows = select.query([name])?;
    if let Some(row) = rows.next()? {
        let id = row.get(0)?;
        let tags = known_tags(path, id, row.get_ref(1)?, row.get(2)?)?;
        return Ok(CachedTest {
            id,
            tags: Some(tags),
        });
    }
    tx.prepare_cached("INSERT INTO tests (name) VALUES (?1)")?
        .execute([name])?;
    Ok(CachedTest {
        id: tx.last_insert_rowid(),
        tags: Some(KnownTags::none()),
    })
}

/// The stored tags of the test `id`.
fn stored_tags(tx: &Connection, path: &Path, id: i64) -> Result<KnownTags, Failure> {
    let mut select = tx.prepare_cached("SELECT tags, tags_seen_at FROM tests WHERE id = ?1")?;
    let mut rows = select.query([id])?;
    match rows.next()? {
        Some(row) => known_tags(path, id, row.get_ref(0)?, row.get(1)?),
        None => Err(bad_value(path, format!("the test id {id} vanished"))),
    }
}

fn known_tags(
    path: &Path,
    id: i64,
    json: ValueRef<'_>,
    seen_at: Option<i64>,
) -> Result<KnownTags, Failure> {
    let json = match json {
        ValueRef::Null => None,
        ValueRef::Text(text) => Some(text_of(text)),
        other => {
            return Err(bad_value(
                path,
                format!(
                    "the tags of test id {id} are a {:?}, not text",
                    other.data_type()
                ),
            ));
        }
    };
    Ok(KnownTags { json, seen_at })
}

/// A test that one transaction resolved without the connection's cache.
struct Local<'r> {
    name: &'r str,
    test: CachedTest,
    state: Lookup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Found by [`join_tests`]; stays out of the cache (a connection that records one large
    /// run would only fill it to free it).
    Found,
    /// Not resolved yet (`test` means nothing): not looked up, or not found by the join.
    Absent,
    /// Resolved one by one by this transaction ([`test_id`]: found or added); joins the cache
    /// once the transaction commits.
    Added,
}

/// No slot: the result's test is resolved through the connection's cache.
const NO_SLOT: u32 = u32::MAX;

/// The tests of one transaction's results that the connection's cache does not hold, each in
/// a slot: looked up by [`join_tests`] or added.
struct LocalTests<'r> {
    /// For each result, the slot of its test, or [`NO_SLOT`]; empty when nothing was joined.
    slot_of: Vec<u32>,
    tests: Vec<Local<'r>>,
    /// The slot of each name.
    by_name: FastMap<&'r str, u32>,
}

impl<'r> LocalTests<'r> {
    fn new() -> LocalTests<'r> {
        LocalTests {
            slot_of: Vec::new(),
            tests: Vec::new(),
            by_name: FastMap::default(),
        }
    }

    /// The slot of the test of result `index`, when the join gave it one.
    fn slot_of(&self, index: usize) -> Option<u32> {
        self.slot_of
            .get(index)
            .copied()
            .filter(|slot| *slot != NO_SLOT)
    }

    /// The slot of `name`, a new one (to look up or add) when it has none yet.
    fn slot_by_name(&mut self, name: &'r str) -> u32 {
        *self.by_name.entry(name).or_insert_with(|| {
            self.tests.push(Local {
                name,
                test: CachedTest { id: 0, tags: None },
                state: Lookup::Absent,
            });
            (self.tests.len() - 1) as u32
        })
    }

    /// The test in `slot` (named `name`), added to the history if it is not there.
    fn resolve(
        &mut self,
        tx: &Connection,
        path: &Path,
        slot: u32,
        name: &str,
    ) -> Result<&mut CachedTest, Failure> {
        let local = &mut self.tests[slot as usize];
        if local.state == Lookup::Absent {
            local.test = test_id(tx, path, name)?;
            local.state = Lookup::Added;
        }
        Ok(&mut local.test)
    }

    /// The tests added, for the cache.
    fn added(self) -> Vec<(String, CachedTest)> {
        self.tests
            .into_iter()
            .filter(|local| local.state == Lookup::Added)
            .map(|local| (local.name.to_owned(), local.test))
            .collect()
    }
}

/// Looks up, in one pass over `tests` and without copying a name, the tests of `results` that
/// `cache` does not know (with their current tags), when that is cheaper than one lookup each:
/// when the cache misses many of them and the history holds not many more tests than the run
/// (ids are dense, so the largest id counts them).
fn join_tests<'r>(
    tx: &Connection,
    path: &Path,
    cache: &TestCache,
    results: &'r [NewResult],
) -> Result<LocalTests<'r>, Failure> {
    const WORTH_IT: usize = 256;
    let mut local = LocalTests::new();
    let unknown = |result: &NewResult| {
        cache
            .get(result.test.as_str())
            .is_none_or(|cached| cached.tags.is_none())
    };
    if results
        .iter()
        .filter(|result| unknown(result))
        .take(WORTH_IT)
        .count()
        < WORTH_IT
    {
        return Ok(local);
    }
    let largest: Option<i64> = tx.query_row("SELECT max(id) FROM tests", [], |row| row.get(0))?;
    let largest = usize::try_from(largest.unwrap_or(0)).unwrap_or(usize::MAX);
    if largest > results.len().saturating_mul(4) {
        return Ok(local);
    }
    local.by_name.reserve(results.len());
    local.tests.reserve(results.len());
    local.slot_of = results
        .iter()
        .map(|result| match unknown(result) {
            true => local.slot_by_name(result.test.as_str()),
            false => NO_SLOT,
        })
        .collect();
    let mut statement = tx.prepare_cached("SELECT id, name, tags, tags_seen_at FROM tests")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let ValueRef::Text(name) = row.get_ref(1)? else {
            let id: i64 = row.get(0)?;
            return Err(bad_value(path, format!("test id {id} has no name")));
        };
        // A name that is not UTF-8 is no name of a result (those are strings).
        let Some(slot) = std::str::from_utf8(name)
            .ok()
            .and_then(|name| local.by_name.get(name))
        else {
            continue;
        };
        let id: i64 = row.get(0)?;
        let found = &mut local.tests[*slot as usize];
        found.test = CachedTest {
            id,
            tags: Some(known_tags(path, id, row.get_ref(2)?, row.get(3)?)?),
        };
        found.state = Lookup::Found;
    }
    Ok(local)
}

/// Text from the database as a string (SQLite does not check that text is UTF-8).
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Writes the results of one transaction as one batch of the run: one `result_batches` row
/// whose `rows` packs them all (see [`super::packed`]), packed as they come.
struct RowWriter {
    run_id: i64,
    encoder: Encoder,
}

impl RowWriter {
    /// For about `rows` results of the run `run_id`.
    fn new(run_id: i64, rows: usize) -> RowWriter {
        // About 40 bytes a row without a message: room for all of them at once.
        RowWriter {
            run_id,
            encoder: Encoder::new(String::with_capacity(rows.saturating_mul(48))),
        }
    }

    /// Adds the row of `result` for the test `test_id`.
    fn push(&mut self, test_id: i64, result: &NewResult) {
        self.encoder.push(&PackedRow {
            test_id,
            attempt: result.attempt,
            outcome: result.outcome,
            duration_secs: result
                .duration_secs
                .filter(|secs| secs.is_finite() && *secs >= 0.0),
            message: result.message.as_deref().map(std::borrow::Cow::Borrowed),
            tagged: result.tags.is_some(),
        });
    }

    /// Writes the batch (nothing when it is empty).
    fn finish(self, tx: &Connection) -> rusqlite::Result<()> {
        if self.encoder.rows() == 0 {
            return Ok(());
        }
        let text = self.encoder.finish();
        tx.prepare_cached("INSERT INTO result_batches (run_id, rows) VALUES (?1, ?2)")?
            .execute(rusqlite::params![self.run_id, text])?;
        Ok(())
    }
}

/// Refuses, before anything is written, a result with an empty test name or an attempt of 0.
pub(crate) fn check_results(path: &Path, results: &[NewResult]) -> Result<(), HistoryError> {
    for (index, result) in results.iter().enumerate() {
        if result.test.is_empty() {
            return Err(invalid(
                path,
                format!("result {} has an empty test name", index + 1),
            ));
        }
        if result.attempt == 0 {
            return Err(invalid(
                path,
                format!(
                    "result {} ({}) has attempt 0; attempts count from 1",
                    index + 1,
                    result.test
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses to add to the run recorded under `key` (of `lane`, `kind` and `commit`) results of a
/// run that says another lane, kind or commit: the processes that share a run (those of one
/// nextest run, or the shards given one `COALMINE_HISTORY_RUN`) must agree on what it is, or
/// a shard's results would be counted for another commit or lane than its own.
pub(crate) fn check_same_run(
    path: &Path,
    key: &str,
    (lane, kind, commit): (&str, &str, &str),
    run: &NewRun,
) -> Result<(), HistoryError> {
    let mut differ = Vec::new();
    if lane != run.lane {
        differ.push(format!("lane {lane:?}, not {:?}", run.lane));
    }
    if kind != run.kind.as_str() {
        differ.push(format!("kind {kind}, not {}", run.kind.as_str()));
    }
    if commit != run.commit {
        differ.push(format!("commit {commit}, not {}", run.commit));
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(invalid(
        path,
        format!(
            "the run {key} was recorded with {}: the processes and shards of one run must \
             record the same lane, kind and commit (give each CI run an id of its own in \
             COALMINE_HISTORY_RUN, and every shard of it the same COALMINE_COMMIT, \
             COALMINE_LANE and COALMINE_RUN_KIND)",
            differ.join(", ")
        ),
    ))
}

/// The final counts of a run: each test by its last attempt.
pub(crate) fn count(results: &[NewResult]) -> RunCounts {
    let mut counts = RunCounts::default();
    let mut add = |outcome: Outcome| {
        counts.total = counts.total.saturating_add(1);
        let column = match outcome {
            Outcome::Pass | Outcome::FlakyPass => &mut counts.passed,
            Outcome::Fail => &mut counts.failed,
            Outcome::Error => &mut counts.errored,
            Outcome::Skip => &mut counts.skipped,
            Outcome::Xfail | Outcome::Xpass | Outcome::NotRun => return,
        };
        *column = column.saturating_add(1);
    };
    if results.iter().all(|result| result.attempt <= 1) {
        results.iter().for_each(|result| add(result.outcome));
        return counts;
    }
    let mut last: HashMap<&str, (u32, usize)> = HashMap::new();
    let mut order = Vec::new();
    for (index, result) in results.iter().enumerate() {
        match last.entry(result.test.as_str()) {
            Entry::Vacant(entry) => {
                entry.insert((result.attempt, index));
                order.push(result.test.as_str());
            }
            Entry::Occupied(mut entry) => {
                if result.attempt >= entry.get().0 {
                    entry.insert((result.attempt, index));
                }
            }
        }
    }
    for test in order {
        add(results[last[test].1].outcome);
    }
    counts
}

/// Test names by id, for turning ids back into names while streaming: a vector indexed by id
/// (ids are dense, from 1), with a map for any id too large for it.
struct TestNames {
    dense: Vec<Option<String>>,
    sparse: HashMap<i64, String>,
}

impl TestNames {
    fn load(conn: &Connection) -> rusqlite::Result<TestNames> {
        let mut statement = conn.prepare_cached("SELECT id, name FROM tests")?;
        let mut rows = statement.query([])?;
        let mut names = TestNames {
            dense: Vec::new(),
            sparse: HashMap::new(),
        };
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let name: String = row.get(1)?;
            match usize::try_from(id) {
                Ok(index) if index < (1 << 24) => {
                    if index >= names.dense.len() {
                        names.dense.resize(index + 1, None);
                    }
                    names.dense[index] = Some(name);
                }
                _ => {
                    names.sparse.insert(id, name);
                }
            }
        }
        Ok(names)
    }

    fn get(&self, id: i64) -> Option<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|index| self.dense.get(index))
            .and_then(Option::as_deref)
            .or_else(|| self.sparse.get(&id).map(String::as_str))
    }
}

fn since_ms(since: Option<Timestamp>) -> i64 {
    since.map_or(i64::MIN, Timestamp::as_millisecond)
}

fn timestamp(path: &Path, millis: i64) -> Result<Timestamp, Failure> {
    Timestamp::from_millisecond(millis).map_err(|error| {
        bad_value(
            path,
            format!("a time of {millis} ms is out of range: {error}"),
        )
    })
}

/// A small pseudo-random source for backoff jitter (xorshift), seeded per process and time.
#[derive(Debug)]
struct Jitter(std::cell::Cell<u64>);

impl Jitter {
    fn new() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        Jitter(std::cell::Cell::new(
            (nanos ^ (u64::from(std::process::id()) << 32)) | 1,
        ))
    }

    fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x
    }

    /// A duration in `[0, bound)`.
    fn below(&self, bound: Duration) -> Duration {
        let nanos = bound.as_nanos() as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next() % nanos)
    }
}
