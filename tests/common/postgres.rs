//! A real PostgreSQL server for the tests: the server whose URL is in
//! `COALMINE_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway cluster with
//! `.ci/postgres-cluster` and sets it). Each test creates a database of its own, with a unique
//! name, and drops it after, so that the tests run in parallel. Without the variable every test
//! skips with a line saying so, and fails instead under `COALMINE_REQUIRE_ALL=1` (as CI sets).
#![allow(dead_code)] // not every test file that includes this module uses all of it

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::Timestamp;

pub const URL_ENV: &str = "COALMINE_TEST_POSTGRES_URL";

/// The server's URL (of any database on it), or `None` after saying that the test skips.
pub fn server() -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
                "{URL_ENV} is not set and COALMINE_REQUIRE_ALL is set: start a server with \
                 .ci/postgres-cluster"
            );
            eprintln!(
                "SKIPPED: {URL_ENV} is not set (no PostgreSQL server); .ci/run starts one with \
                 .ci/postgres-cluster"
            );
            None
        }
    }
}

/// `url` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |at| at + 3);
    let path_start = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |at| scheme_end + at);
    let query_start = url[path_start..]
        .find('?')
        .map_or(url.len(), |at| path_start + at);
    format!("{}/{database}{}", &url[..path_start], &url[query_start..])
}

/// A database of one test, dropped when it goes out of scope.
pub struct TestDb {
    admin: String,
    /// The database's name.
    pub name: String,
    /// The URL of the database.
    pub url: String,
}

impl TestDb {
    pub fn new(server: &str) -> TestDb {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "coalmine_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Timestamp::now().as_millisecond() % 1_000_000
        );
        let mut client = postgres::Client::connect(server, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        TestDb {
            admin: server.to_owned(),
            url: with_database(server, &name),
            name,
        }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    pub fn count(&self, query: &str) -> i64 {
        self.client().query_one(query, &[]).unwrap().get(0)
    }
}

impl TestDb {
    /// The server process of the `coalmine` command (`what`, for the message) that waits for a
    /// lock in this database, once it waits (at most a minute).
    pub fn coalmine_waiting_on_a_lock(&self, what: &str) -> i32 {
        let mut watcher = self.client();
        let started = std::time::Instant::now();
        loop {
            let rows = watcher
                .query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                     AND application_name = 'coalmine' AND wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap();
            if let Some(row) = rows.first() {
                return row.get(0);
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "{what} never waited"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Every id a result stores names a run, a batch of that run and a test (the table
    /// declares no foreign keys: the store keeps them).
    pub fn assert_ids_hold(&self) {
        assert_eq!(
            self.count(
                "SELECT count(*) FROM results WHERE NOT EXISTS (SELECT 1 FROM runs \
                 WHERE runs.id = results.run_id) OR NOT EXISTS (SELECT 1 FROM tests \
                 WHERE tests.id = results.test_id) OR NOT EXISTS (SELECT 1 FROM result_batches \
                 WHERE result_batches.id = results.batch_id \
                 AND result_batches.run_id = results.run_id)"
            ),
            0,
            "results whose ids name nothing"
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// [`command`], run to completion.
pub fn coalmine(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap()
}

/// The `coalmine` binary run in `dir` as a user runs it ([`super::coalmine_command`]), without
/// `PGPASSWORD`.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = super::coalmine_command(dir, args);
    command.env_remove("PGPASSWORD");
    command
}

/// Bytes a process wrote, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A JUnit report of run `run` with `tests` tests `t0 [sig-a]`, …, every seventh failing.
pub fn junit(path: &Path, run: usize, tests: usize) {
    let mut xml = String::from("<testsuite name=\"s\">");
    for test in 0..tests {
        match (run + test) % 7 {
            0 => xml.push_str(&format!(
                "<testcase classname=\"pkg\" name=\"t{test} [sig-a]\"><failure message=\"boom {run}\"/></testcase>"
            )),
            _ => xml.push_str(&format!(
                "<testcase classname=\"pkg\" name=\"t{test} [sig-a]\" time=\"0.5\"/>"
            )),
        }
    }
    xml.push_str("</testsuite>");
    std::fs::write(path, xml).unwrap();
}

/// `coalmine ingest` of `file` into `url` at `commit` (lane e2e, periodic).
pub fn ingest_args<'a>(url: &'a str, commit: &'a str, file: &'a str) -> Vec<&'a str> {
    vec![
        "ingest",
        "--history",
        url,
        "--lane",
        "e2e",
        "--kind",
        "periodic",
        "--commit",
        commit,
        "--at",
        "2026-11-20T10:00:00Z",
        file,
    ]
}

/// The quarantine list and owners of the differential tests.
pub const HARNESS: &str = "[[quarantine]]\ntest = \"pkg.Suite::old_flaky\"\nowner = \"sig-compute\"\n\
     reason = \"timeouts\"\nsince = \"2026-10-01\"\n[owners]\n\"pkg.*\" = \"sig-compute\"\n";

/// When the differential tests look at the generated history.
pub const NOW: &str = "2026-11-17T00:00:00Z";

/// The runs of one generated history for the differential tests (flaky, rare and
/// quarantined tests, `stable` stable ones, `runs` runs 90 minutes apart, systemic runs and
/// skips, from `seed`), each with its results (a failure's message names its run) and the
/// ingest key `{key_prefix}:{run id}`.
pub fn generated_runs(
    seed: u64,
    stable: usize,
    runs: usize,
    key_prefix: &str,
) -> Vec<(coalmine::history::NewRun, Vec<coalmine::history::NewResult>)> {
    use coalmine::history::{NewResult, NewRun};
    let end = Timestamp::from_second(1_795_000_000).unwrap();
    let generated = coalmine::quarantine::generator::HistorySpec::new(seed, end)
        .test("pkg.Suite::flaky [sig-compute]", 0.3)
        .test("pkg.Suite::rare [sig-storage]", 0.04)
        .test("pkg.Suite::old_flaky", 0.2)
        .stable_tests("pkg.Stable::t", stable)
        .runs(runs, jiff::SignedDuration::from_mins(90))
        .systemic(0.05, 0.8)
        .skips(0.02)
        .generate();
    let results = generated.results();
    generated
        .runs
        .iter()
        .map(|run| {
            let new = NewRun {
                lane: run.lane.clone(),
                kind: run.kind,
                commit: run.commit.clone(),
                started_at: run.started_at,
                source: run.source.clone(),
                ingest_key: Some(format!("{key_prefix}:{}", run.id)),
            };
            let rows = results
                .iter()
                .filter(|row| row.run_id == run.id)
                .map(|row| {
                    let mut result = NewResult::new(row.test.clone(), row.outcome);
                    result.message = (row.outcome == coalmine::results::Outcome::Fail)
                        .then(|| format!("failed in run {}", run.id));
                    result.duration_secs = Some(1.25);
                    result
                })
                .collect();
            (new, rows)
        })
        .collect()
}

/// `quarantine plan` and `report` (`--format json`, as of [`NOW`]) run in `dir` give the same
/// bytes and exit code on the history `file` and on the server history `url`.
pub fn assert_same_answers(dir: &Path, file: &str, url: &str) {
    for args in [
        vec!["quarantine", "plan", "--format", "json", "--now", NOW],
        vec!["report", "--format", "json", "--now", NOW],
    ] {
        let run = |history: &str| {
            let mut all = args.clone();
            all.extend(["--history", history]);
            let output = coalmine(dir, &all);
            assert!(
                matches!(output.status.code(), Some(0 | 1)),
                "{all:?}: {}",
                text(&output.stderr)
            );
            (output.stdout, output.status.code())
        };
        let (from_file, file_code) = run(file);
        let (from_server, server_code) = run(url);
        assert!(from_file.len() > 500, "{}", text(&from_file));
        assert_eq!(file_code, server_code, "{args:?}");
        assert!(
            from_file == from_server,
            "{args:?} differs:\n--- sqlite\n{}\n--- postgres\n{}",
            text(&from_file),
            text(&from_server)
        );
    }
}
