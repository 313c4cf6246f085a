//! `coalmine history merge INTO FROM...` with INTO (or FROM) a real PostgreSQL server (see
//! `tests/common/postgres.rs`: a database per test, skipped without a server): the same rule
//! of identity as the SQLite merge, byte-identical plans and reports, one transaction (a failure
//! anywhere leaves the server as it was), and correct while other jobs record into the server
//! or merge the same histories at once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use coalmine::history::{History, NewResult, NewRun};
use coalmine::results::Outcome;
use common::postgres::{
    HARNESS, NOW, TestDb, assert_same_answers, coalmine, command, generated_runs, ingest_args,
    junit, server, text,
};
use jiff::{SignedDuration, Timestamp};

fn merge(dir: &Path, into: &str, from: &[&str]) -> Output {
    let mut args = vec!["history", "merge", into];
    args.extend(from);
    coalmine(dir, &args)
}

/// The summary line of a merge that must have succeeded, from its first `: ` on (the part that
/// does not name INTO).
fn merged(output: Output) -> String {
    let said = common::succeeded(output);
    said.split_once(": ")
        .map_or(said.clone(), |(_, rest)| rest.trim().to_owned())
}

/// Two SQLite shard histories of one generated history: every run is in both, under its key,
/// each with half of its results (the shards of one nextest run); `shard-2` also has a fix and
/// a run of its own. Returns the two paths.
fn shards(dir: &Path, runs: usize) -> [PathBuf; 2] {
    let paths = [dir.join("shard-1.db"), dir.join("shard-2.db")];
    let mut histories = [
        History::open(&paths[0]).unwrap(),
        History::open(&paths[1]).unwrap(),
    ];
    let end = Timestamp::from_second(1_795_000_000).unwrap();
    for (new, rows) in generated_runs(7, 30, runs, "shared") {
        let (first, second) = rows.split_at(rows.len() / 2);
        histories[0].append_to_run(&new, first).unwrap();
        histories[1].append_to_run(&new, second).unwrap();
    }
    let own = NewRun {
        lane: "canaries".to_owned(),
        kind: coalmine::history::RunKind::Periodic,
        commit: "c9".to_owned(),
        started_at: end,
        source: "coalmine harness".to_owned(),
        ingest_key: Some("harness:own".to_owned()),
    };
    histories[1]
        .record_run(&own, &[NewResult::new("canary::good", Outcome::Pass)])
        .unwrap();
    histories[1]
        .record_fix("pkg.Suite::rare [sig-storage]", "abc", end)
        .unwrap();
    paths
}

/// Runs, batches, results, tests, fixes and files on the server: what a failed merge must
/// leave as it was.
fn counts(db: &TestDb) -> [i64; 6] {
    [
        db.count("SELECT count(*) FROM runs"),
        db.count("SELECT count(*) FROM result_batches"),
        db.count("SELECT count(*) FROM results"),
        db.count("SELECT count(*) FROM tests"),
        db.count("SELECT count(*) FROM fixes"),
        db.count("SELECT count(*) FROM ingested_files"),
    ]
}

/// No two batches of one run hold the same results, and every run's counts are its results'.
fn assert_no_batch_twice(db: &TestDb) {
    assert_eq!(
        db.count(
            "SELECT count(*) FROM (SELECT run_id, data FROM result_batches \
             GROUP BY run_id, data HAVING count(*) > 1) AS twice"
        ),
        0,
        "a batch recorded twice"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM runs WHERE tests <> (SELECT count(*) FROM results \
             WHERE results.run_id = runs.id)"
        ),
        0,
        "a run whose counts are not its results'"
    );
    db.assert_ids_hold();
}

/// The shards of one run merged into a server are one run with every batch once; merging
/// again adds nothing; the server then plans and reports byte for byte as a SQLite merge of
/// the same shards, and says the same.
#[test]
fn shards_merged_into_a_server_are_one_run_and_plan_as_a_sqlite_merge() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("harness.toml"), HARNESS).unwrap();
    let [one, two] = shards(root, 120);
    let (one, two) = (one.display().to_string(), two.display().to_string());
    // Key-less runs (as histories of schema version 1 have them): compared by their details.
    let old = root.join("old.db");
    ingest_into_file(root, &old);
    let old = old.display().to_string();

    let file = root.join("merged.db").display().to_string();
    let into_file = merged(merge(root, &file, &[&one, &two, &old]));
    let into_server = merged(merge(root, &db.url, &[&one, &two, &old]));
    assert_eq!(into_server, into_file);
    assert!(
        into_server.starts_with(
            "122 run(s) added, 120 run(s) given results they lacked, 0 run(s) it had already; "
        ),
        "{into_server}"
    );
    assert_eq!(db.count("SELECT count(*) FROM runs"), 122);
    assert_eq!(db.count("SELECT count(*) FROM result_batches"), 242);
    assert_eq!(
        db.count("SELECT count(*) FROM runs WHERE ingest_key IS NULL"),
        1
    );
    assert_eq!(db.count("SELECT count(*) FROM fixes"), 1);
    assert_no_batch_twice(&db);

    let before = counts(&db);
    let again = merged(merge(root, &db.url, &[&one, &two, &old]));
    assert!(
        again.starts_with(
            "0 run(s) added, 0 run(s) given results they lacked, 242 run(s) it had already; 0 \
             result(s) in 0 batch(es) added"
        ),
        "{again}"
    );
    assert_eq!(counts(&db), before);

    assert_same_answers(root, &file, &db.url);
}

/// A SQLite history holding one ingested run whose ingest key is removed (a key-less run).
fn ingest_into_file(root: &Path, path: &Path) {
    junit(&root.join("old.xml"), 3, 20);
    let history = path.display().to_string();
    common::succeeded(coalmine(root, &ingest_args(&history, "c-old", "old.xml")));
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch("DELETE FROM ingested_files; UPDATE runs SET ingest_key = NULL")
        .unwrap();
}

/// A merge that fails, before the transaction (a FROM that is not a history, a foreign or
/// newer one) or inside it (a FROM whose results are corrupt after another was merged, the
/// connection killed while the merge writes), leaves the server exactly as it was; merging
/// again afterwards works. A password in INTO's URL is never printed.
#[test]
fn a_merge_that_fails_anywhere_leaves_the_server_as_it_was() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    junit(&root.join("a.xml"), 1, 50);
    common::succeeded(coalmine(root, &ingest_args(&db.url, "c0", "a.xml")));
    let [one, two] = shards(root, 20);
    let (one, two) = (one.display().to_string(), two.display().to_string());
    std::fs::write(root.join("notes.db"), "not a database at all, just text\n").unwrap();
    let foreign = root.join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER)")
        .unwrap();
    let newer = root.join("newer.db");
    std::fs::copy(&one, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("UPDATE coalmine_schema SET version = 99")
        .unwrap();
    let corrupt = root.join("corrupt.db");
    std::fs::copy(&two, &corrupt).unwrap();
    rusqlite::Connection::open(&corrupt)
        .unwrap()
        .execute_batch(
            "UPDATE result_batches SET rows = 'not packed' WHERE id = (SELECT max(id) FROM \
             result_batches)",
        )
        .unwrap();
    let before = counts(&db);
    for (bad, says) in [
        ("notes.db", "notes.db"),
        ("foreign.db", "foreign.db"),
        ("newer.db", "upgrade coalmine"),
        ("corrupt.db", "corrupt.db"),
    ] {
        let output = merge(root, &db.url, &[&one, bad]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{bad}: {}",
            text(&output.stdout)
        );
        assert!(
            text(&output.stderr).contains(says),
            "{bad}: {}",
            text(&output.stderr)
        );
        assert_eq!(counts(&db), before, "{bad} left something on the server");
    }

    // The connection killed while the merge waits for a lock, after it recorded the runs of
    // both shards (the fix comes last).
    let mut blocker = db.client();
    let mut lock = blocker.transaction().unwrap();
    lock.batch_execute("LOCK TABLE fixes IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let child = command(root, &["history", "merge", &db.url, &one, &two])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watcher = db.client();
    let pid = db.coalmine_waiting_on_a_lock("the merge");
    // It had written its runs, uncommitted.
    let pending: i64 = watcher
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND mode = 'RowExclusiveLock' \
             AND relation = 'result_batches'::regclass",
            &[&pid],
        )
        .unwrap()
        .get(0);
    assert_eq!(pending, 1, "the merge had not written batches yet");
    let terminated: bool = watcher
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(terminated);
    lock.rollback().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains("nothing of the merge was committed: run it again"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(counts(&db), before, "the killed merge left something");

    let said = merged(merge(root, &db.url, &[&one, &two]));
    assert!(said.starts_with("21 run(s) added"), "{said}");
    assert_no_batch_twice(&db);

    // A password in INTO's URL is masked, and a server that is down exits 4, nothing written.
    let down = format!(
        "postgres://someone:hunter2@localhost/db?host={}",
        root.join("no-server").display()
    );
    let output = merge(root, &down, &[&one]);
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!said.contains("hunter2"), "{said}");
    assert!(said.contains("someone:***@"), "{said}");
}

/// A merge while four processes ingest distinct runs into the same server (the same tests as
/// the merged histories, so that they contend): nothing lost, nothing twice, the merge
/// succeeds (retried when the server aborted it) and its check holds.
#[test]
fn merging_while_four_processes_ingest_loses_and_duplicates_nothing() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    History::open(Path::new(&db.url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    const TESTS: usize = 200;
    const INGESTS: usize = 5;
    // The merged histories: 30 ingested runs over the same tests.
    let sources: Vec<String> = (0..2)
        .map(|shard| {
            let path = root
                .join(format!("source-{shard}.db"))
                .display()
                .to_string();
            for run in 0..15 {
                let file = format!("source-{shard}-{run}.xml");
                junit(&root.join(&file), 100 + shard * 15 + run, TESTS);
                let commit = format!("s{shard}-{run}");
                common::succeeded(coalmine(root, &ingest_args(&path, &commit, &file)));
            }
            path
        })
        .collect();
    // The ingests span the merge: it starts once every process has recorded a run, and each
    // goes on recording until the merge has returned (then one more).
    let merge_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ingesters: Vec<_> = (0..4)
        .map(|process| {
            let url = db.url.clone();
            let root = root.to_path_buf();
            let merge_done = merge_done.clone();
            std::thread::spawn(move || {
                let mut run = 0;
                loop {
                    let done = merge_done.load(std::sync::atomic::Ordering::SeqCst);
                    let commit = format!("p{process}-{run}");
                    let file = format!("p{process}-{run}.xml");
                    junit(&root.join(&file), process * 1000 + run, TESTS);
                    let output = coalmine(&root, &ingest_args(&url, &commit, &file));
                    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
                    run += 1;
                    if done && run >= INGESTS {
                        return run;
                    }
                }
            })
        })
        .collect();
    while db.count("SELECT count(DISTINCT split_part(commit_sha, '-', 1)) FROM runs") < 4 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let from: Vec<&str> = sources.iter().map(String::as_str).collect();
    let said = merged(merge(root, &db.url, &from));
    merge_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let ingested: usize = ingesters
        .into_iter()
        .map(|ingester| ingester.join().unwrap())
        .sum();
    assert!(
        said.starts_with(
            "30 run(s) added, 0 run(s) given results they lacked, 0 run(s) it had \
             already; 6000 result(s) in 30 batch(es) added"
        ),
        "{said}"
    );
    let runs = 30 + ingested as i64;
    assert_eq!(db.count("SELECT count(*) FROM runs"), runs);
    assert_eq!(db.count("SELECT count(*) FROM result_batches"), runs);
    assert_eq!(
        db.count("SELECT count(*) FROM results"),
        runs * TESTS as i64
    );
    assert_eq!(db.count("SELECT count(*) FROM tests"), TESTS as i64);
    assert_eq!(db.count("SELECT count(*) FROM ingested_files"), runs);
    assert_no_batch_twice(&db);
}

/// Three merges of the same histories into one server at once: each batch is recorded once
/// (a key-less run too), and all succeed (the later ones add nothing the first added).
#[test]
fn two_merges_of_the_same_histories_at_once_record_each_batch_once() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    History::open(Path::new(&db.url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let [one, two] = shards(root, 60);
    let (one, two) = (one.display().to_string(), two.display().to_string());
    // A key-less run too: no unique constraint makes it once, only the merges' order.
    let old = root.join("old.db");
    ingest_into_file(root, &old);
    let old = old.display().to_string();
    let children: Vec<_> = (0..3)
        .map(|_| {
            command(root, &["history", "merge", &db.url, &one, &two, &old])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut added = 0;
    for child in children {
        let said = merged(child.wait_with_output().unwrap());
        added += said
            .split_once(" run(s) added")
            .and_then(|(count, _)| count.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("{said}"));
    }
    assert_eq!(added, 62, "the runs were added once in all");
    assert_eq!(db.count("SELECT count(*) FROM runs"), 62);
    assert_eq!(db.count("SELECT count(*) FROM result_batches"), 122);
    assert_no_batch_twice(&db);

    // Only the key-less run, into a server that has its tests already (so that the merges
    // touch no row in common): still once.
    let keyless = TestDb::new(&server);
    common::succeeded(coalmine(
        root,
        &ingest_args(&keyless.url, "c-seed", "old.xml"),
    ));
    let children: Vec<_> = (0..3)
        .map(|_| {
            command(root, &["history", "merge", &keyless.url, &old])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        merged(child.wait_with_output().unwrap());
    }
    assert_eq!(
        keyless.count("SELECT count(*) FROM runs WHERE ingest_key IS NULL"),
        1
    );
}

/// A server merged into a SQLite file and into another server's database: the same plan as
/// the server's; a FROM that is INTO's database, however its URL reaches it, is refused.
#[test]
fn a_server_merges_into_a_file_and_into_another_database_but_not_into_itself() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let other = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("harness.toml"), HARNESS).unwrap();
    let [one, two] = shards(root, 40);
    let (one, two) = (one.display().to_string(), two.display().to_string());
    merged(merge(root, &db.url, &[&one, &two]));
    let file = root.join("from-server.db").display().to_string();
    let into_file = merged(merge(root, &file, &[&db.url]));
    let into_other = merged(merge(root, &other.url, &[&db.url]));
    assert_eq!(into_file, into_other);
    assert!(
        into_file.starts_with("41 run(s) added, 0 run(s)"),
        "{into_file}"
    );
    let plan = |history: &str| {
        coalmine(
            root,
            &[
                "quarantine",
                "plan",
                "--format",
                "json",
                "--now",
                NOW,
                "--history",
                history,
            ],
        )
        .stdout
    };
    let original = plan(&db.url);
    assert!(original.len() > 500);
    assert!(
        plan(&file) == original,
        "the file merged from the server plans differently"
    );
    let from_other = plan(&other.url);
    assert!(
        from_other == original,
        "the other database plans differently:\n{}\n---\n{}",
        text(&original),
        text(&from_other)
    );

    let before = counts(&db);
    let spelled_otherwise = format!("{}&connect_timeout=7", db.url);
    for from in [db.url.as_str(), spelled_otherwise.as_str()] {
        let output = merge(root, &db.url, &[&one, from]);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
        assert!(
            text(&output.stderr).contains("is the database merged into"),
            "{}",
            text(&output.stderr)
        );
    }
    assert_eq!(counts(&db), before);
    // A server database without a history is not a history to merge from.
    let empty = TestDb::new(&server);
    let output = merge(root, &file, &[&empty.url]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no history"),
        "{}",
        text(&output.stderr)
    );
}

/// A file whose results hold a NUL character (which the server stores as U+FFFD), merged into
/// a server twice, and again after a later run changed the test's tags: the first merge adds
/// it, the others nothing.
#[test]
fn merging_again_after_nul_or_changed_tags_adds_nothing() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from.db");
    let at = Timestamp::from_second(1_790_000_000).unwrap();
    let run = |key: &str, at: Timestamp| NewRun {
        lane: "e2e".to_owned(),
        kind: coalmine::history::RunKind::Periodic,
        commit: "c1".to_owned(),
        started_at: at,
        source: "test".to_owned(),
        ingest_key: Some(key.to_owned()),
    };
    let result = |tag: &str, message: Option<&str>| NewResult {
        tags: Some(vec![tag.to_owned()]),
        message: message.map(str::to_owned),
        ..NewResult::new("pkg::t\0nul", Outcome::Fail)
    };
    History::open(&from)
        .unwrap()
        .record_run(&run("a", at), &[result("sig-a", Some("boom\0here"))])
        .unwrap();
    let from = from.display().to_string();
    let results = || db.count("SELECT count(*) FROM results");
    merged(merge(dir.path(), &db.url, &[&from]));
    assert_eq!(results(), 1);
    let again = merged(merge(dir.path(), &db.url, &[&from]));
    assert_eq!(results(), 1, "{again}");
    History::open(Path::new(&db.url))
        .unwrap()
        .record_run(
            &run("b", at + SignedDuration::from_hours(1)),
            &[result("sig-b", None)],
        )
        .unwrap();
    let again = merged(merge(dir.path(), &db.url, &[&from]));
    assert_eq!(results(), 2, "{again}");
}
