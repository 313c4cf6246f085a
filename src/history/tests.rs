//! Tests of the history store: round trips, duplicate ingests, migrations, refusing files that
//! are not a coalmine history (and leaving them as they were), WAL mode, lock handling, path
//! resolution. An ignored micro-benchmark measures ingest and read speed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rusqlite::Connection;

use super::schema::{self, CURRENT_VERSION};
use super::*;
use crate::results::Outcome;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + seconds).unwrap()
}

fn new_run(lane: &str, started: i64) -> NewRun {
    NewRun {
        lane: lane.to_string(),
        kind: RunKind::Periodic,
        commit: "abc123".to_string(),
        started_at: at(started),
        source: format!("{lane}.xml"),
        ingest_key: None,
    }
}

fn result(test: &str, outcome: Outcome) -> NewResult {
    NewResult::new(test, outcome)
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("history.db")
}

fn all_results(history: &History, since: Option<Timestamp>) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    history
        .for_each_result(since, |row| rows.push(row.clone()))
        .unwrap();
    rows
}

/// The files in a folder, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip_of_runs_results_tests_and_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    assert_eq!(history.schema_version(), CURRENT_VERSION);

    let mut flaky_first = result("vm::migrates", Outcome::Fail);
    flaky_first.message = Some("timed out after 300 s\nat vm.go:12".to_string());
    flaky_first.duration_secs = Some(300.5);
    flaky_first.tags = Some(vec!["sig-compute".to_string(), "test_id:1234".to_string()]);
    let mut flaky_second = flaky_first.clone();
    flaky_second.attempt = 2;
    flaky_second.outcome = Outcome::FlakyPass;
    flaky_second.message = None;
    let first = history
        .record_run(
            &new_run("periodic-e2e", 0),
            &[
                result("vm::starts", Outcome::Pass),
                flaky_first,
                flaky_second,
                result("net::dns", Outcome::Error),
                result("storage::snapshot", Outcome::Skip),
                result("storage::restore", Outcome::Xfail),
            ],
        )
        .unwrap();
    let Recorded::New { run_id, results } = first else {
        panic!("not recorded: {first:?}");
    };
    assert_eq!(results, 6);

    let mut presubmit = new_run("pull-e2e", 60);
    presubmit.kind = RunKind::Presubmit;
    presubmit.commit = "def456".to_string();
    let second = history
        .record_run(&presubmit, &[result("vm::starts", Outcome::Fail)])
        .unwrap();
    assert!(second.is_new());
    assert!(second.run_id() > run_id);

    let runs = history.runs(None).unwrap();
    assert_eq!(
        runs,
        vec![
            RunRow {
                id: run_id,
                lane: "periodic-e2e".to_string(),
                kind: RunKind::Periodic,
                commit: "abc123".to_string(),
                started_at: at(0),
                source: "periodic-e2e.xml".to_string(),
            },
            RunRow {
                id: second.run_id(),
                lane: "pull-e2e".to_string(),
                kind: RunKind::Presubmit,
                commit: "def456".to_string(),
                started_at: at(60),
                source: "pull-e2e.xml".to_string(),
            },
        ]
    );
    assert_eq!(history.runs(Some(at(30))).unwrap().len(), 1);

    let summaries = history.run_summaries(None).unwrap();
    assert_eq!(
        summaries[0].counts,
        RunCounts {
            passed: 2,
            failed: 0,
            errored: 1,
            skipped: 1,
            total: 5,
        },
        "the retried test counts once, by its last attempt"
    );
    assert_eq!(summaries[1].counts.failures(), 1);
    assert_eq!(summaries[0].ingest_key, None);

    let rows = all_results(&history, None);
    assert_eq!(rows.len(), 7);
    assert_eq!(
        rows[1],
        ResultRow {
            run_id,
            test: "vm::migrates".to_string(),
            outcome: Outcome::Fail,
            duration_secs: Some(300.5),
            attempt: 1,
            message: Some("timed out after 300 s\nat vm.go:12".to_string()),
        }
    );
    assert_eq!(rows[2].attempt, 2);
    assert_eq!(rows[2].outcome, Outcome::FlakyPass);
    assert_eq!(rows[2].message, None);
    assert_eq!(rows[6].run_id, second.run_id());
    assert_eq!(rows[6].test, "vm::starts");
    assert_eq!(all_results(&history, Some(at(30))).len(), 1);
    assert_eq!(all_results(&history, Some(at(61))).len(), 0);

    let tests = history.tests().unwrap();
    let names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "net::dns",
            "storage::restore",
            "storage::snapshot",
            "vm::migrates",
            "vm::starts"
        ]
    );
    let migrates = &tests[3];
    assert_eq!(migrates.tags, ["sig-compute", "test_id:1234"]);
    assert_eq!(migrates.attribute("test_id"), Some("1234"));
    assert!(migrates.has_tag("sig-compute"));
    assert!(tests[0].tags.is_empty());

    let mut outcomes = Vec::new();
    history
        .for_each_outcome(None, |row| outcomes.push(row))
        .unwrap();
    assert_eq!(outcomes.len(), 7);
    assert_eq!(outcomes[1].test_id, migrates.id);
    assert_eq!(outcomes[1].outcome, Outcome::Fail);

    history
        .record_fix("vm::migrates", "fff000", at(120))
        .unwrap();
    history
        .record_fix("vm::migrates", "fff000", at(999))
        .unwrap();
    history
        .record_fix("never::seen", "aaa111", at(100))
        .unwrap();
    let fixes = history.fixes().unwrap();
    assert_eq!(fixes.len(), 2, "the same fix twice is recorded once");
    assert_eq!(fixes[0].test, "never::seen");
    assert_eq!(fixes[1].test, "vm::migrates");
    assert_eq!(fixes[1].commit, "fff000");
    assert_eq!(fixes[1].at, at(120));

    // Everything is still there for another connection.
    drop(history);
    let reopened = History::open(&db(&dir)).unwrap();
    assert_eq!(reopened.runs(None).unwrap(), runs);
    assert_eq!(all_results(&reopened, None), rows);
    assert_eq!(reopened.fixes().unwrap(), fixes);
}

#[test]
fn a_duplicate_ingest_key_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    let mut run = new_run("periodic-e2e", 0);
    run.ingest_key = Some("sha256:0123".to_string());
    let results = [result("a", Outcome::Pass), result("b", Outcome::Fail)];
    let first = history.record_run(&run, &results).unwrap();
    assert!(first.is_new());

    let again = History::open(&db(&dir))
        .unwrap()
        .record_run(&run, &results)
        .unwrap();
    assert_eq!(
        again,
        Recorded::AlreadyRecorded {
            run_id: first.run_id()
        }
    );
    assert_eq!(history.runs(None).unwrap().len(), 1);
    assert_eq!(all_results(&history, None).len(), 2);
    assert_eq!(
        history.run_summaries(None).unwrap()[0]
            .ingest_key
            .as_deref(),
        Some("sha256:0123")
    );

    run.ingest_key = Some("sha256:4567".to_string());
    assert!(history.record_run(&run, &results).unwrap().is_new());
    assert_eq!(all_results(&history, None).len(), 4);
}

/// Processes sharing a run (`nextest:…`, `shared:…`) add to it only when they say the same
/// lane, kind and commit: a shard of another commit is refused, and nothing of it is written.
#[test]
fn appending_to_a_run_of_another_lane_kind_or_commit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    let mut run = new_run("canaries", 0);
    run.ingest_key = Some("shared:ci-7".to_string());
    history
        .append_to_run(&run, &[result("canary::a", Outcome::Pass)])
        .unwrap();
    // Another start (each shard's own) and source are fine.
    let mut later = run.clone();
    later.started_at = at(60);
    later.source = "elsewhere".to_string();
    history
        .append_to_run(&later, &[result("canary::b", Outcome::Fail)])
        .unwrap();
    for (change, named) in [
        (
            (|run: &mut NewRun| run.commit = "def456".to_string()) as fn(&mut NewRun),
            "commit abc123, not def456",
        ),
        (
            |run: &mut NewRun| run.lane = "other".to_string(),
            "lane \"canaries\", not \"other\"",
        ),
        (
            |run: &mut NewRun| run.kind = RunKind::Presubmit,
            "kind periodic, not presubmit",
        ),
    ] {
        let mut other = run.clone();
        change(&mut other);
        let error = history
            .append_to_run(&other, &[result("canary::c", Outcome::Pass)])
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, HistoryError::InvalidInput { .. }), "{text}");
        assert!(
            text.contains("the run shared:ci-7 was recorded with"),
            "{text}"
        );
        assert!(text.contains(named), "{text}");
        assert!(text.contains("COALMINE_HISTORY_RUN"), "{text}");
    }
    let summaries = history.run_summaries(None).unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].counts.total, 2);
    assert_eq!(summaries[0].run.started_at, at(0));
    let tests: Vec<String> = all_results(&history, None)
        .into_iter()
        .map(|row| row.test)
        .collect();
    assert_eq!(tests, ["canary::a", "canary::b"]);
}

#[test]
fn bad_records_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    let mut zero = result("a", Outcome::Pass);
    zero.attempt = 0;
    let error = history
        .record_run(&new_run("lane", 0), &[result("b", Outcome::Pass), zero])
        .unwrap_err();
    assert!(
        matches!(error, HistoryError::InvalidInput { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("attempt 0"), "{error}");
    let error = history
        .record_run(&new_run("lane", 0), &[result("", Outcome::Pass)])
        .unwrap_err();
    assert!(error.to_string().contains("empty test name"), "{error}");
    assert!(history.record_fix("", "abc", at(0)).is_err());
    assert!(history.record_fix("a", "", at(0)).is_err());
    assert!(history.runs(None).unwrap().is_empty());
    assert!(history.tests().unwrap().is_empty());

    // Odd but harmless values are stored as well as they can be.
    let mut odd = result("weird \0 name [x]", Outcome::NotRun);
    odd.duration_secs = Some(f64::NAN);
    odd.message = Some(String::new());
    history.record_run(&new_run("", 0), &[odd]).unwrap();
    let rows = all_results(&history, None);
    assert_eq!(rows[0].test, "weird \0 name [x]");
    assert_eq!(rows[0].duration_secs, None);
    assert_eq!(rows[0].message.as_deref(), Some(""));
    // A run with no results is a run too.
    history.record_run(&new_run("empty", 1), &[]).unwrap();
    assert_eq!(history.run_summaries(None).unwrap()[1].counts.total, 0);
}

#[test]
fn tags_follow_the_most_recent_run_that_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    let tagged = |tags: Option<&[&str]>| {
        let mut result = result("vm::starts", Outcome::Pass);
        result.tags = tags.map(|tags| tags.iter().map(|tag| tag.to_string()).collect());
        result
    };
    let tags = |history: &History| history.tests().unwrap()[0].tags.clone();

    history
        .record_run(
            &new_run("a", 20),
            &[tagged(Some(&[
                "sig-compute",
                "release-blocker",
                "sig-compute",
            ]))],
        )
        .unwrap();
    assert_eq!(tags(&history), ["release-blocker", "sig-compute"]);
    // An older file ingested later does not win.
    history
        .record_run(&new_run("b", 10), &[tagged(Some(&["sig-network"]))])
        .unwrap();
    assert_eq!(tags(&history), ["release-blocker", "sig-compute"]);
    // A source that says nothing about tags leaves them alone.
    history
        .record_run(&new_run("c", 30), &[tagged(None)])
        .unwrap();
    assert_eq!(tags(&history), ["release-blocker", "sig-compute"]);
    // Another writer's change is seen, and a newer run's empty list clears them.
    History::open(&db(&dir))
        .unwrap()
        .record_run(&new_run("d", 40), &[tagged(Some(&["sig-storage"]))])
        .unwrap();
    history
        .record_run(&new_run("e", 35), &[tagged(Some(&["sig-compute"]))])
        .unwrap();
    assert_eq!(tags(&history), ["sig-storage"]);
    history
        .record_run(&new_run("f", 50), &[tagged(Some(&[]))])
        .unwrap();
    assert!(tags(&history).is_empty());

    // A newer run with the same tags writes nothing, yet still outranks an older report
    // ingested after it.
    history
        .record_run(&new_run("g", 60), &[tagged(Some(&["sig-compute"]))])
        .unwrap();
    history
        .record_run(&new_run("h", 70), &[tagged(Some(&["sig-compute"]))])
        .unwrap();
    history
        .record_run(&new_run("i", 65), &[tagged(Some(&["sig-network"]))])
        .unwrap();
    assert_eq!(tags(&history), ["sig-compute"]);
    // The same through another connection, which knows nothing cached.
    History::open(&db(&dir))
        .unwrap()
        .record_run(&new_run("j", 66), &[tagged(Some(&["sig-storage"]))])
        .unwrap();
    assert_eq!(tags(&history), ["sig-compute"]);
    // A newer run that said nothing about tags does not outrank a back-filled report.
    history
        .record_run(&new_run("k", 90), &[tagged(None)])
        .unwrap();
    history
        .record_run(&new_run("l", 80), &[tagged(Some(&["sig-network"]))])
        .unwrap();
    assert_eq!(tags(&history), ["sig-network"]);
    // On equal starts, the run recorded last wins.
    history
        .record_run(&new_run("m", 80), &[tagged(Some(&["sig-storage"]))])
        .unwrap();
    assert_eq!(tags(&history), ["sig-storage"]);
    assert_foreign_keys_hold(&db(&dir));
}

/// A run of hundreds of tests that a connection does not know looks them up in one pass over
/// `tests` (the path every `coalmine ingest` takes): ids stay those of the tests, new tests are
/// added once, tags follow the newest report, and a back-filled older report changes nothing.
#[test]
fn a_large_run_finds_its_tests_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let tagged = |index: usize, tag: Option<&str>| {
        let mut result = result(&format!("suite::test_{index:03}"), Outcome::Pass);
        result.tags = tag.map(|tag| vec![tag.to_string()]);
        result
    };
    let mut first: Vec<NewResult> = (0..400).map(|i| tagged(i, Some("sig-a"))).collect();
    // A retried test: two rows, one test.
    let mut retry = tagged(0, Some("sig-a"));
    retry.attempt = 2;
    first.push(retry);
    let mut writer = History::open(&db(&dir)).unwrap();
    writer.record_run(&new_run("e2e", 10), &first).unwrap();
    let ids: HashMap<String, i64> = writer
        .tests()
        .unwrap()
        .into_iter()
        .map(|test| (test.name, test.id))
        .collect();
    assert_eq!(ids.len(), 400);

    // Another connection, knowing nothing: 300 known tests (test_002 with new tags, test_003
    // saying nothing about tags) and 120 new ones.
    let second: Vec<NewResult> = (100..520)
        .map(|i| match i {
            102 => tagged(i, Some("sig-b")),
            103 => tagged(i, None),
            _ => tagged(i, Some("sig-a")),
        })
        .collect();
    let run = History::open(&db(&dir))
        .unwrap()
        .record_run(&new_run("e2e", 20), &second)
        .unwrap()
        .run_id();
    // The first connection's cache is stale now: another writer wrote. A back-filled older
    // report must not win over the newer run.
    let backfill: Vec<NewResult> = (100..400).map(|i| tagged(i, Some("sig-c"))).collect();
    writer.record_run(&new_run("e2e", 15), &backfill).unwrap();

    let tests = writer.tests().unwrap();
    assert_eq!(tests.len(), 520);
    let tags_of = |index: usize| {
        let name = format!("suite::test_{index:03}");
        tests
            .iter()
            .find(|test| test.name == name)
            .unwrap()
            .tags
            .clone()
    };
    assert_eq!(tags_of(102), ["sig-b"]);
    // The newer run said nothing about test_003's tags: the back-filled report is the newest
    // that did.
    assert_eq!(tags_of(103), ["sig-c"]);
    assert_eq!(tags_of(104), ["sig-a"]);
    assert_eq!(tags_of(450), ["sig-a"]);
    for test in &tests {
        if let Some(id) = ids.get(&test.name) {
            assert_eq!(test.id, *id, "{}", test.name);
        }
    }
    let rows: Vec<String> = all_results(&writer, None)
        .into_iter()
        .filter(|row| row.run_id == run)
        .map(|row| row.test)
        .collect();
    let names: Vec<String> = second.into_iter().map(|result| result.test).collect();
    assert_eq!(rows, names);
    assert_foreign_keys_hold(&db(&dir));
}

/// Every id a row stores names an existing row (the store does not make SQLite enforce it).
pub(crate) fn assert_foreign_keys_hold(path: &Path) {
    let raw = Connection::open(path).unwrap();
    let mut check = raw.prepare("PRAGMA foreign_key_check").unwrap();
    let broken: Vec<(String, i64, String)> = check
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(broken.is_empty(), "rows naming missing parents: {broken:?}");
    let results: i64 = raw
        .query_row("SELECT count(*) FROM results", [], |row| row.get(0))
        .unwrap();
    assert!(results > 0, "nothing to check");
}

#[test]
fn a_version_2_database_learns_which_results_reported_tags() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    {
        // Version 2, as its ingest left it: an ingested run at 30 s whose tags equalled those
        // of the run at 10 s, so the test's tags_seen_at still says 10 s; and a canary run.
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(schema::V1).unwrap();
        raw.execute_batch(schema::V2).unwrap();
        raw.execute_batch(
            "PRAGMA application_id = 1668243820;
             INSERT INTO coalmine_schema (id, version, written_by) VALUES (1, 2, '0.0.2');
             INSERT INTO runs (id, lane, kind, commit_sha, started_at, source, recorded_at,
                               passed, failed, errored, skipped, tests, ingest_key)
                 VALUES (1, 'e2e', 'periodic', 'a', 1780000010000, 'x', 0, 1, 0, 0, 0, 1,
                         'junit-sha256:01'),
                        (2, 'e2e', 'periodic', 'b', 1780000030000, 'x', 0, 1, 0, 0, 0, 1,
                         'junit-sha256:02'),
                        (3, 'local', 'local', 'c', 1780000040000, 'canary', 0, 1, 0, 0, 0, 1,
                         NULL);
             INSERT INTO tests (id, name, tags, tags_seen_at)
                 VALUES (1, 'vm::starts', '[\"sig-compute\"]', 1780000010000);
             INSERT INTO results (run_id, test_id, attempt, outcome)
                 VALUES (1, 1, 1, 'pass'), (2, 1, 1, 'pass'), (3, 1, 1, 'pass');",
        )
        .unwrap();
    }
    let mut history = History::open(&path).unwrap();
    assert_eq!(history.schema_version(), CURRENT_VERSION);
    let raw = Connection::open(&path).unwrap();
    let tagged: Vec<Option<i64>> = raw
        .prepare("SELECT tagged FROM results ORDER BY run_id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tagged, [Some(1), Some(1), None]);

    // A report from 20 s ingested now: the ingested run at 30 s reported newer tags.
    let mut late = result("vm::starts", Outcome::Pass);
    late.tags = Some(vec!["sig-network".to_string()]);
    history.record_run(&new_run("e2e", 20), &[late]).unwrap();
    assert_eq!(history.tests().unwrap()[0].tags, ["sig-compute"]);
}

#[test]
fn creates_parent_folders_and_takes_an_empty_file_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/.coalmine/history.db");
    History::open(&nested).unwrap();
    assert!(nested.is_file());

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let mut history = History::open(&empty).unwrap();
    history
        .record_run(&new_run("lane", 0), &[result("a", Outcome::Pass)])
        .unwrap();
}

#[test]
fn the_database_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let _history = History::open(&db(&dir)).unwrap();
    let raw = Connection::open(db(&dir)).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let id: i32 = raw
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .unwrap();
    assert_eq!(id, schema::APPLICATION_ID);
}

#[test]
fn a_version_1_database_is_migrated_forward() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    {
        // A database as coalmine's schema version 1 wrote it.
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(schema::V1).unwrap();
        raw.execute_batch(
            "PRAGMA application_id = 1668243820;
             INSERT INTO coalmine_schema (id, version, written_by) VALUES (1, 1, '0.0.1');
             INSERT INTO runs (id, lane, kind, commit_sha, started_at, source, recorded_at,
                               passed, failed, errored, skipped, tests)
                 VALUES (7, 'periodic-e2e', 'merged', 'old', 1780000000000, 'old.xml',
                         1780000001000, 1, 1, 0, 0, 2);
             INSERT INTO tests (id, name) VALUES (1, 'vm::starts'), (2, 'vm::stops');
             INSERT INTO results (run_id, test_id, attempt, outcome, duration, message)
                 VALUES (7, 1, 1, 'pass', 1.5, NULL), (7, 2, 1, 'fail', NULL, 'boom');",
        )
        .unwrap();
    }
    let mut history = History::open(&path).unwrap();
    assert_eq!(history.schema_version(), CURRENT_VERSION);
    let runs = history.runs(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, 7);
    assert_eq!(runs[0].kind, RunKind::Merged);
    assert_eq!(runs[0].started_at, at(0));
    let rows = all_results(&history, None);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].test, "vm::stops");
    assert_eq!(rows[1].message.as_deref(), Some("boom"));
    assert!(
        history
            .tests()
            .unwrap()
            .iter()
            .all(|test| test.tags.is_empty())
    );

    // What version 2 added works on the migrated database.
    let mut run = new_run("periodic-e2e", 60);
    run.ingest_key = Some("k".to_string());
    let mut tagged = result("vm::starts", Outcome::Pass);
    tagged.tags = Some(vec!["sig-compute".to_string()]);
    assert!(
        history
            .record_run(&run, &[tagged.clone()])
            .unwrap()
            .is_new()
    );
    assert!(!history.record_run(&run, &[tagged]).unwrap().is_new());
    history.record_fix("vm::stops", "fix1", at(30)).unwrap();
    assert_eq!(history.fixes().unwrap().len(), 1);
    assert_eq!(history.tests().unwrap()[0].tags, ["sig-compute"]);
    drop(history);

    let raw = Connection::open(&path).unwrap();
    let (version, written_by): (u32, String) = raw
        .query_row(
            "SELECT version, written_by FROM coalmine_schema",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(version, CURRENT_VERSION);
    assert_eq!(written_by, env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    History::open(&path).unwrap();
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute(
            "UPDATE coalmine_schema SET version = ?1, written_by = '9.0.0'",
            [CURRENT_VERSION + 1],
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let error = History::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::TooNew { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("written by a newer coalmine"), "{message}");
    assert!(message.contains("9.0.0"), "{message}");
    assert!(message.contains("upgrade coalmine"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_text_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let text = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let error = History::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::NotSqlite { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("is not a SQLite database"), "{message}");
    assert!(message.contains("these are my no"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), text);
    assert_eq!(listing(dir.path()), ["history.db"]);

    let short = dir.path().join("short.db");
    std::fs::write(&short, b"hi").unwrap();
    assert!(matches!(
        History::open(&short),
        Err(HistoryError::NotSqlite { .. })
    ));
    assert!(matches!(
        History::open(dir.path()),
        Err(HistoryError::NotSqlite { .. })
    ));
}

#[test]
fn a_foreign_database_is_refused_and_left_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT);
             INSERT INTO accounts (owner) VALUES ('alice'), ('bob');
             CREATE TABLE runs (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let error = History::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::Foreign { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("another application"), "{message}");
    assert!(message.contains("accounts, runs"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(listing(dir.path()), ["history.db"]);
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "its journal mode was not changed");

    // Another application's id, even with no tables yet.
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("PRAGMA application_id = 42; CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    let error = History::open(&other).unwrap_err();
    assert!(matches!(error, HistoryError::Foreign { .. }), "{error}");
}

/// A history with enough rows to span many pages, closed (its WAL checkpointed away).
fn filled_history(path: &Path) {
    let mut history = History::open(path).unwrap();
    for run in 0..50 {
        let results: Vec<NewResult> = (0..40)
            .map(|test| {
                let mut result = result(&format!("suite::test_{test}"), Outcome::Pass);
                result.message = Some("x".repeat(100));
                result
            })
            .collect();
        history.record_run(&new_run("lane", run), &results).unwrap();
    }
}

#[test]
fn a_truncated_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    filled_history(&path);
    assert_eq!(listing(dir.path()), ["history.db"]);
    let full = std::fs::read(&path).unwrap();
    let half = &full[..full.len() / 2];
    std::fs::write(&path, half).unwrap();

    let error = History::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::Corrupt { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains("restore it from a backup"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), half);
}

#[test]
fn a_damaged_header_or_schema_row_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    filled_history(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    // Keep the magic string, garble the rest of the header and the first page.
    for (index, byte) in bytes[16..4096].iter_mut().enumerate() {
        *byte = (index * 7 + 3) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let error = History::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::Corrupt { .. }), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let other = dir.path().join("no-version.db");
    History::open(&other).unwrap();
    Connection::open(&other)
        .unwrap()
        .execute("DELETE FROM coalmine_schema", [])
        .unwrap();
    let error = History::open(&other).unwrap_err();
    assert!(matches!(error, HistoryError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("holds no version"), "{error}");
}

#[test]
fn a_locked_database_is_waited_for_then_reported_never_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let mut history = History::open(&path).unwrap();
    history
        .set_lock_timeout(Duration::from_millis(400))
        .unwrap();

    let mut holder = Connection::open(&path).unwrap();
    let tx = holder
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let started = Instant::now();
    let error = history
        .record_run(&new_run("lane", 0), &[result("a", Outcome::Pass)])
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(400));
    let HistoryError::Locked { attempts, .. } = &error else {
        panic!("not a lock error: {error}");
    };
    assert!(*attempts > 1, "retried with backoff: {error}");
    assert!(
        error.to_string().contains("nothing was recorded"),
        "{error}"
    );
    // Readers are not blocked by a writer.
    assert!(history.runs(None).unwrap().is_empty());
    drop(tx);

    // A lock released while waiting is waited for.
    history.set_lock_timeout(DEFAULT_LOCK_TIMEOUT).unwrap();
    let released = std::thread::spawn(move || {
        let tx = holder
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        tx.commit().unwrap();
    });
    std::thread::sleep(Duration::from_millis(50));
    history
        .record_run(&new_run("lane", 0), &[result("a", Outcome::Pass)])
        .unwrap();
    released.join().unwrap();
    assert_eq!(history.runs(None).unwrap().len(), 1);
}

#[test]
fn the_path_comes_from_the_environment_then_the_config_then_the_default() {
    let root = Path::new("/project");
    let resolve = |env: Option<&str>, configured: Option<&str>| {
        History::resolve_path_from(env.map(OsStr::new), configured.map(Path::new), root)
    };
    assert_eq!(
        resolve(None, None),
        Path::new("/project/.coalmine/history.db")
    );
    assert_eq!(
        resolve(None, Some("var/h.db")),
        Path::new("/project/var/h.db")
    );
    assert_eq!(resolve(None, Some("/abs/h.db")), Path::new("/abs/h.db"));
    assert_eq!(
        resolve(Some("/tmp/env.db"), Some("var/h.db")),
        Path::new("/tmp/env.db")
    );
    assert_eq!(resolve(Some("rel.db"), None), Path::new("rel.db"));
    assert_eq!(
        resolve(Some(""), None),
        Path::new("/project/.coalmine/history.db"),
        "an empty variable counts as unset"
    );
    // The real variable, read once here (this is the only test that looks at it).
    let expected = match std::env::var_os(HISTORY_ENV).filter(|value| !value.is_empty()) {
        Some(value) => PathBuf::from(value),
        None => root.join(DEFAULT_RELATIVE_PATH),
    };
    assert_eq!(History::resolve_path(None, root), expected);
}

/// Ingest and read speed. `cargo test --release --lib history::tests::speed -- --ignored
/// --nocapture`; `COALMINE_BENCH_RESULTS` sets how many results (1,000,000 by default),
/// `COALMINE_BENCH_TAGS=1` gives every result tags (the slowest case: tags are kept current).
#[test]
#[ignore = "a micro-benchmark: run in release mode by hand"]
fn speed() {
    let total: usize = std::env::var("COALMINE_BENCH_RESULTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000);
    let tagged = std::env::var_os("COALMINE_BENCH_TAGS").is_some_and(|value| !value.is_empty());
    let per_run = 1_000;
    let pool = 10_000;
    let runs = total / per_run;
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let mut history = History::open(&path).unwrap();
    let names: Vec<String> = (0..pool)
        .map(|test| format!("custom-html::custom::test_number_{test:05}"))
        .collect();
    let tags = vec!["sig-compute".to_string(), "test_id:1234".to_string()];
    let batch = |run: usize| -> (NewRun, Vec<NewResult>) {
        let results = (0..per_run)
            .map(|index| {
                let test = (run * 7 + index * 10) % pool;
                let failed = (run * 31 + test).is_multiple_of(97);
                NewResult {
                    test: names[test].clone(),
                    tags: tagged.then(|| tags.clone()),
                    outcome: if failed { Outcome::Fail } else { Outcome::Pass },
                    duration_secs: Some(1.25),
                    attempt: 1,
                    message: failed.then(|| "assertion failed: left == right".to_string()),
                }
            })
            .collect();
        (new_run("periodic-e2e", run as i64 * 60), results)
    };
    // Only record_run is timed; the records are made outside the clock.
    let mut ingest = Duration::ZERO;
    for run in 0..runs {
        let (run, results) = batch(run);
        let started = Instant::now();
        history.record_run(&run, &results).unwrap();
        ingest += started.elapsed();
    }
    // Reset the peak memory so that it measures the reads alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let size = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(path.with_extension("db-wal")).map_or(0, |meta| meta.len());

    let started = Instant::now();
    let mut count = 0usize;
    let mut failures = 0usize;
    history
        .for_each_result(None, |row| {
            count += 1;
            failures += usize::from(row.outcome.is_failure());
        })
        .unwrap();
    let read = started.elapsed();
    assert_eq!(count, runs * per_run);

    let started = Instant::now();
    let mut compact = 0usize;
    history.for_each_outcome(None, |_| compact += 1).unwrap();
    let read_compact = started.elapsed();
    assert_eq!(compact, count);

    let started = Instant::now();
    let mut windowed = 0usize;
    let since = at((runs as i64 / 2) * 60);
    history
        .for_each_outcome(Some(since), |_| windowed += 1)
        .unwrap();
    let read_window = started.elapsed();

    let per_second = |n: usize, took: Duration| n as f64 / took.as_secs_f64();
    println!(
        "ingest: {count} results in {ingest:?} = {:.0} results/s (tags: {tagged}); database {:.1} MB",
        per_second(count, ingest),
        size as f64 / 1e6
    );
    println!(
        "for_each_result: {read:?} = {:.0} rows/s ({failures} failures)",
        per_second(count, read)
    );
    let peak = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("VmHWM"))
        .unwrap_or("VmHWM unknown")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    println!("peak memory while reading: {peak}");
    println!(
        "for_each_outcome: {read_compact:?} = {:.0} rows/s; half window: {windowed} rows in {read_window:?}",
        per_second(count, read_compact)
    );
}

#[test]
fn every_column_of_every_row_survives_the_batched_inserts() {
    // 70 rows: two full batches of 32 and a remainder of 6 written one by one.
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    let outcomes = [Outcome::Pass, Outcome::Fail, Outcome::Skip, Outcome::Error];
    let results: Vec<NewResult> = (0..70u32)
        .map(|index| NewResult {
            test: format!("suite::test_{index:02}"),
            tags: (index % 3 == 0).then(|| vec![format!("sig-{index}")]),
            outcome: outcomes[index as usize % outcomes.len()],
            duration_secs: (index % 5 != 0).then_some(f64::from(index) / 4.0),
            attempt: 1 + index % 2,
            message: (index % 2 == 1).then(|| format!("message {index}")),
        })
        .collect();
    let run_id = history
        .record_run(&new_run("e2e", 10), &results)
        .unwrap()
        .run_id();
    let rows = all_results(&history, None);
    assert_eq!(rows.len(), results.len());
    for (row, result) in rows.iter().zip(&results) {
        assert_eq!(row.run_id, run_id);
        assert_eq!(row.test, result.test);
        assert_eq!(row.outcome, result.outcome, "{}", result.test);
        assert_eq!(row.duration_secs, result.duration_secs, "{}", result.test);
        assert_eq!(row.attempt, result.attempt, "{}", result.test);
        assert_eq!(row.message, result.message, "{}", result.test);
    }
    let tests = history.tests().unwrap();
    let tagged = tests.iter().filter(|test| !test.tags.is_empty()).count();
    assert_eq!(tagged, 24);
    assert_eq!(tests[3].tags, ["sig-3"]);
    let raw = Connection::open(db(&dir)).unwrap();
    let marked: i64 = raw
        .query_row("SELECT count(*) FROM results WHERE tagged = 1", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(marked, 24);
    assert_foreign_keys_hold(&db(&dir));
}

/// Version 5 packs the results: a version 4 database's results move into one batch per run,
/// in order, every value intact (messages that need escapes, null durations, tags, a run
/// without results), and the `results` view shows them as the table did.
#[test]
fn a_version_4_database_has_its_results_packed() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let message = "quote \" backslash \\ newline \n tab \t é 🦀 \u{1}";
    {
        let raw = Connection::open(&path).unwrap();
        for migration in &schema::MIGRATIONS[..4] {
            raw.execute_batch(migration).unwrap();
        }
        raw.execute_batch(
            "PRAGMA application_id = 1668243820;
             INSERT INTO coalmine_schema (id, version, written_by) VALUES (1, 4, '0.1.0');
             INSERT INTO runs (id, lane, kind, commit_sha, started_at, source, recorded_at,
                               passed, failed, errored, skipped, tests)
                 VALUES (3, 'l', 'periodic', 'a', 1780000000000, 's', 1780000001000, 2, 1, 0, 1, 4),
                        (4, 'l', 'periodic', 'b', 1780000100000, 's', 1780000101000, 0, 0, 0, 0, 0),
                        (5, 'l', 'merged', 'c', 1780000200000, 's', 1780000201000, 1, 0, 0, 0, 1);
             INSERT INTO tests (id, name) VALUES (1, 'vm::starts'), (2, 'vm::stops'),
                                                 (3, 'net::dns');",
        )
        .unwrap();
        let mut insert = raw
            .prepare(
                "INSERT INTO results (run_id, test_id, attempt, outcome, duration, message, tagged)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .unwrap();
        type Row<'a> = (
            i64,
            i64,
            u32,
            &'a str,
            Option<f64>,
            Option<&'a str>,
            Option<i64>,
        );
        let rows: [Row<'_>; 5] = [
            (3, 2, 1, "fail", Some(1.5), Some(message), Some(1)),
            (5, 3, 1, "pass", None, None, None),
            (3, 1, 1, "pass", Some(0.25), None, Some(1)),
            (3, 2, 2, "flaky-pass", Some(2.0), Some(""), None),
            (3, 3, 1, "skip", None, Some("not here"), None),
        ];
        for row in rows {
            insert
                .execute(rusqlite::params![
                    row.0, row.1, row.2, row.3, row.4, row.5, row.6
                ])
                .unwrap();
        }
    }
    let history = History::open(&path).unwrap();
    assert_eq!(history.schema_version(), CURRENT_VERSION);
    let rows: Vec<_> = all_results(&history, None)
        .into_iter()
        .map(|row| {
            (
                row.run_id,
                row.test,
                row.attempt,
                row.outcome,
                row.duration_secs,
                row.message,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                3,
                "vm::stops".to_owned(),
                1,
                Outcome::Fail,
                Some(1.5),
                Some(message.to_owned())
            ),
            (
                3,
                "vm::starts".to_owned(),
                1,
                Outcome::Pass,
                Some(0.25),
                None
            ),
            (
                3,
                "vm::stops".to_owned(),
                2,
                Outcome::FlakyPass,
                Some(2.0),
                Some(String::new())
            ),
            (
                3,
                "net::dns".to_owned(),
                1,
                Outcome::Skip,
                None,
                Some("not here".to_owned())
            ),
            (5, "net::dns".to_owned(), 1, Outcome::Pass, None, None),
        ]
    );
    drop(history);
    let raw = Connection::open(&path).unwrap();
    let batches: i64 = raw
        .query_row("SELECT count(*) FROM result_batches", [], |row| row.get(0))
        .unwrap();
    assert_eq!(batches, 2, "one batch per run with results");
    type ViewRow = (
        i64,
        i64,
        i64,
        String,
        Option<f64>,
        Option<String>,
        Option<i64>,
    );
    let view: Vec<ViewRow> = raw
        .prepare("SELECT * FROM results WHERE run_id = 3")
        .unwrap()
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(view.len(), 4);
    assert_eq!(
        view[0],
        (
            3,
            2,
            1,
            "fail".to_owned(),
            Some(1.5),
            Some(message.to_owned()),
            Some(1)
        )
    );
    assert_eq!(view[2].6, None);
    assert_foreign_keys_hold(&path);
}

/// A damaged batch of results is reported as a damaged history, naming the run: never a panic,
/// never rows made up or silently skipped.
#[test]
fn a_damaged_batch_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let mut history = History::open(&path).unwrap();
    history
        .record_run(&new_run("l", 0), &[result("vm::starts", Outcome::Pass)])
        .unwrap();
    drop(history);
    let raw = Connection::open(&path).unwrap();
    raw.execute("UPDATE result_batches SET rows = '[[1,1,\"pass\"'", [])
        .unwrap();
    drop(raw);
    let history = History::open(&path).unwrap();
    let error = history.for_each_result(None, |_| {}).unwrap_err();
    assert!(matches!(error, HistoryError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("results of run 1"), "{error}");
    let error = history.for_each_outcome(None, |_| {}).unwrap_err();
    assert!(matches!(error, HistoryError::Corrupt { .. }), "{error}");
    assert!(history.ingested_results(1).is_err());
}

#[test]
fn urls_are_recognised_and_their_passwords_masked() {
    use crate::history::store::url_in;
    use std::path::Path;
    assert_eq!(
        url_in(Path::new("postgres://u:pw@host:5432/db")).as_deref(),
        Some("postgres://u:***@host:5432/db")
    );
    assert_eq!(
        url_in(Path::new("/crate/postgresql://u@host/db?sslmode=require")).as_deref(),
        Some("postgresql://u@host/db?sslmode=require")
    );
    assert_eq!(
        url_in(Path::new("postgres://host/db")).as_deref(),
        Some("postgres://host/db")
    );
    for path in [
        ".coalmine/history.db",
        "/tmp/1x://b",
        "/tmp/a:/b",
        "history.db",
    ] {
        assert_eq!(url_in(Path::new(path)), None, "{path}");
    }
    let dir = tempfile::tempdir().unwrap();
    // A postgres:// URL names a server (unreachable here); any other scheme is refused.
    let error = History::open(&dir.path().join("postgres://u:pw@h.invalid/db")).unwrap_err();
    assert!(matches!(error, HistoryError::Unreachable { .. }), "{error}");
    assert!(!error.to_string().contains(":pw@"), "{error}");
    assert!(error.to_string().contains("h.invalid:5432"), "{error}");
    let error = History::open(&dir.path().join("mysql://u:pw@h/db")).unwrap_err();
    assert!(matches!(error, HistoryError::Url { .. }), "{error}");
    assert!(!error.to_string().contains(":pw@"), "{error}");
    assert_eq!(
        crate::history::store::mask_url("postgres://u@h/db?sslmode=disable&password=pw"),
        "postgres://u@h/db?sslmode=disable&password=***"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created"
    );
}

/// Version 6 keys `ingested_files` by `(digest, run_id)`: a version 5 database keeps every file
/// row, and the same digest can then be kept for a second run.
#[test]
fn a_version_5_database_keeps_its_files_and_lets_a_digest_belong_to_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    {
        let raw = Connection::open(&path).unwrap();
        for migration in &schema::MIGRATIONS[..5] {
            raw.execute_batch(migration).unwrap();
        }
        raw.execute_batch(
            "PRAGMA application_id = 1668243820;
             INSERT INTO coalmine_schema (id, version, written_by) VALUES (1, 5, '0.1.0');
             INSERT INTO runs (id, lane, kind, commit_sha, started_at, source, recorded_at,
                               passed, failed, errored, skipped, tests, ingest_key)
                 VALUES (1, 'l', 'periodic', 'a', 1780000000000, 's', 1780000001000, 1, 0, 0, 0, 1, 'junit-sha256:aa'),
                        (2, 'l', 'periodic', 'b', 1780000100000, 's', 1780000101000, 1, 0, 0, 0, 1, 'junit-sha256:bb');
             INSERT INTO ingested_files (digest, run_id) VALUES
                 (zeroblob(32), 1), (x'0101010101010101010101010101010101010101010101010101010101010101', 2);",
        )
        .unwrap();
    }
    let history = History::open(&path).unwrap();
    assert_eq!(history.schema_version(), 6);
    let zero = [0u8; 32];
    let ones = [1u8; 32];
    assert_eq!(
        history.runs_of_files(&[zero, ones, [2u8; 32]]).unwrap(),
        [vec![1], vec![2], vec![]]
    );
    drop(history);
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO ingested_files (digest, run_id) VALUES (zeroblob(32), 2)",
        [],
    )
    .unwrap();
    let duplicate = raw.execute(
        "INSERT INTO ingested_files (digest, run_id) VALUES (zeroblob(32), 2)",
        [],
    );
    assert!(duplicate.is_err(), "one row per file and run");
    drop(raw);
    let history = History::open(&path).unwrap();
    assert_eq!(history.runs_of_files(&[zero]).unwrap(), [vec![1, 2]]);
}

#[test]
fn the_password_file_is_read_as_libpq_reads_it() {
    use crate::history::pg::password_in;
    let text = "# comment\nother:5432:*:*:no\nh:5432:db:u\\:x:first\n*:*:*:u:any\n";
    assert_eq!(
        password_in(text, "h", "5432", "db", "u:x").as_deref(),
        Some("first")
    );
    assert_eq!(
        password_in(text, "h", "5433", "db", "u").as_deref(),
        Some("any")
    );
    assert_eq!(password_in(text, "h", "5432", "db", "v"), None);
    assert_eq!(
        password_in("h:1:d:u:p\\:w\n", "h", "1", "d", "u").as_deref(),
        Some("p:w")
    );
}

#[test]
fn a_host_parameter_replaces_the_urls_host_as_in_libpq() {
    use crate::history::pg::libpq_url;
    assert_eq!(
        libpq_url("postgres://u:p@localhost:5433/db?host=/run/pg&sslmode=disable"),
        "postgres://u:p@/db?host=/run/pg&sslmode=disable&port=5433"
    );
    assert_eq!(
        libpq_url("postgres://localhost/db?host=/run/pg"),
        "postgres:///db?host=/run/pg"
    );
    assert_eq!(
        libpq_url("postgres://h:1/db?sslmode=disable"),
        "postgres://h:1/db?sslmode=disable"
    );
    for url in [
        "postgres://u@localhost:5433/db?host=/run/pg",
        "postgres:///db?host=/run/pg&port=5433",
    ] {
        let config: postgres::Config = libpq_url(url).parse().unwrap();
        assert_eq!(
            config.get_hosts(),
            [postgres::config::Host::Unix("/run/pg".into())],
            "{url}"
        );
        assert_eq!(config.get_ports(), [5433], "{url}");
    }
}
