//! A real PostgreSQL server for the tests: the server whose URL is in
//! `COALMINE_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway cluster with
//! `.ci/postgres-cluster` and sets it). Each test creates a database of its own, with a unique
//! name, and drops it after, so that the tests run in parallel. Without the variable every test
//! skips with a line saying so, and fails instead under `COALMINE_REQUIRE_ALL=1` (as CI sets).
#![allow(dead_code)] // not every test file that includes this module uses all of it

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
