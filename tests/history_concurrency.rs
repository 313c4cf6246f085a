//! Many processes recording into one history file at once, as nextest does when it runs each
//! canary in its own process: 16 writer processes (this test binary started again, acting as a
//! writer) record their runs at the same moment, and the database then holds exactly what they
//! wrote: no record lost, none duplicated. Some runs are recorded by every writer under the
//! same ingest key, and must appear once.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coalmine::history::{History, NewResult, NewRun, Recorded, RunKind};
use coalmine::results::Outcome;
use jiff::Timestamp;

const WRITERS: usize = 16;
const RUNS_PER_WRITER: usize = 50;
const RESULTS_PER_RUN: usize = 20;
/// Runs every writer tries to record under the same ingest key.
const SHARED_RUNS: usize = 5;

/// Set in a writer process: the database path.
const DB_ENV: &str = "COALMINE_TEST_WRITER_DB";
/// Set in a writer process: its index.
const INDEX_ENV: &str = "COALMINE_TEST_WRITER_INDEX";
/// Set in a writer process: a file whose appearance starts all writers at once.
const GO_ENV: &str = "COALMINE_TEST_WRITER_GO";

fn test_name(test: usize) -> String {
    format!("suite::stage::test_{test:02}")
}

fn outcome(writer: usize, run: usize, test: usize) -> Outcome {
    match (writer + run + test) % 10 {
        0 => Outcome::Fail,
        1 => Outcome::Skip,
        _ => Outcome::Pass,
    }
}

fn run_of(writer: usize, run: usize, key: Option<String>) -> NewRun {
    NewRun {
        lane: format!("lane-{writer}"),
        kind: RunKind::Periodic,
        commit: format!("{run:040x}"),
        started_at: Timestamp::from_second(1_780_000_000 + (run * 60) as i64).unwrap(),
        source: format!("writer-{writer}/run-{run}"),
        ingest_key: key,
    }
}

fn results_of(writer: usize, run: usize) -> Vec<NewResult> {
    (0..RESULTS_PER_RUN)
        .map(|test| {
            let mut result = NewResult::new(test_name(test), outcome(writer, run, test));
            result.tags = Some(vec![format!("sig-{}", test % 3)]);
            result.message = Some(format!("writer {writer} run {run} test {test}"));
            result
        })
        .collect()
}

/// The writer: does nothing unless started by [`sixteen_writer_processes_lose_and_duplicate_nothing`].
#[test]
fn writer_entry() {
    let (Some(db), Some(index)) = (std::env::var_os(DB_ENV), std::env::var_os(INDEX_ENV)) else {
        return;
    };
    let writer: usize = index.to_str().unwrap().parse().unwrap();
    if let Some(go) = std::env::var_os(GO_ENV) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !Path::new(&go).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let mut history = History::open(Path::new(&db)).unwrap();
    for run in 0..RUNS_PER_WRITER {
        let recorded = history
            .record_run(&run_of(writer, run, None), &results_of(writer, run))
            .unwrap();
        assert!(
            matches!(recorded, Recorded::New { results, .. } if results == RESULTS_PER_RUN),
            "{recorded:?}"
        );
        // Let the others in between runs, so that the writers interleave more.
        std::thread::sleep(Duration::from_micros(500));
        // Interleave the shared runs with the others so that they race too.
        if run % (RUNS_PER_WRITER / SHARED_RUNS) == 0 {
            let shared = run / (RUNS_PER_WRITER / SHARED_RUNS);
            let key = Some(format!("sha256:shared-{shared}"));
            history
                .record_run(&run_of(1000, shared, key), &results_of(1000, shared))
                .unwrap();
        }
    }
}

fn spawn_writer(db: &Path, go: &Path, writer: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "writer_entry", "--nocapture", "--test-threads=1"])
        .env(DB_ENV, db)
        .env(INDEX_ENV, writer.to_string())
        .env(GO_ENV, go)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sixteen_writer_processes_lose_and_duplicate_nothing() {
    if std::env::var_os(DB_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The writers create the database and its folder themselves, all at once.
    let db: PathBuf = dir.path().join(".coalmine/history.db");
    let go = dir.path().join("go");
    let children: Vec<Child> = (0..WRITERS)
        .map(|writer| spawn_writer(&db, &go, writer))
        .collect();
    std::fs::write(&go, b"").unwrap();
    for (writer, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "writer {writer} failed: {}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // The writer really ran (libtest says so when it does).
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("1 passed"), "writer {writer}: {stdout}");
    }

    let history = History::open(&db).unwrap();
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), WRITERS * RUNS_PER_WRITER + SHARED_RUNS);
    let sources: HashSet<&str> = runs.iter().map(|run| run.run.source.as_str()).collect();
    assert_eq!(sources.len(), runs.len(), "every run is recorded once");
    for writer in 0..WRITERS {
        for run in 0..RUNS_PER_WRITER {
            assert!(sources.contains(format!("writer-{writer}/run-{run}").as_str()));
        }
    }
    let keys: HashSet<&str> = runs
        .iter()
        .filter_map(|run| run.ingest_key.as_deref())
        .collect();
    assert_eq!(keys.len(), SHARED_RUNS);
    assert!(
        runs.iter()
            .all(|run| run.counts.total as usize == RESULTS_PER_RUN)
    );

    // Every result, once, in the run it belongs to, with what its writer wrote.
    let by_id: BTreeMap<i64, &str> = runs
        .iter()
        .map(|run| (run.run.id, run.run.source.as_str()))
        .collect();
    let mut seen = HashSet::new();
    let mut count = 0;
    history
        .for_each_result(None, |row| {
            count += 1;
            let source = by_id[&row.run_id];
            let (writer, run) = source
                .strip_prefix("writer-")
                .and_then(|rest| rest.split_once("/run-"))
                .unwrap();
            let (writer, run): (usize, usize) = (writer.parse().unwrap(), run.parse().unwrap());
            let test: usize = row.test.rsplit('_').next().unwrap().parse().unwrap();
            assert_eq!(row.outcome, outcome(writer, run, test), "{row:?}");
            assert_eq!(
                row.message.as_deref(),
                Some(format!("writer {writer} run {run} test {test}").as_str())
            );
            assert!(seen.insert((row.run_id, test)), "duplicated: {row:?}");
        })
        .unwrap();
    assert_eq!(
        count,
        (WRITERS * RUNS_PER_WRITER + SHARED_RUNS) * RESULTS_PER_RUN
    );

    // The writers raced to add the same tests: each exists once.
    let tests = history.tests().unwrap();
    assert_eq!(tests.len(), RESULTS_PER_RUN);
    for (test, info) in tests.iter().enumerate() {
        assert_eq!(info.name, test_name(test));
        assert_eq!(info.tags, [format!("sig-{}", test % 3)]);
    }
}
