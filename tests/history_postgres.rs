//! The history on a real PostgreSQL server: the server whose URL is in
//! `COALMINE_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway cluster with
//! `.ci/postgres-cluster` and sets it). Each test creates a database of its own, with a unique
//! name, and drops it after, so that the tests run in parallel. Without the variable every test
//! skips with a line saying so, and fails instead under `COALMINE_REQUIRE_ALL=1` (as CI sets).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use coalmine::history::{History, HistoryError, NewResult, NewRun, Recorded};
use jiff::{SignedDuration, Timestamp};

mod common;

use common::postgres::{
    HARNESS, NOW, TestDb, assert_same_answers, coalmine, command, generated_runs, ingest_args,
    junit, server, text,
};

#[test]
fn the_schema_is_created_once_and_foreign_or_newer_databases_are_refused_untouched() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let history = History::open(Path::new(&db.url)).unwrap();
    assert_eq!(history.schema_version(), 6);
    assert!(history.on_server());
    drop(history);
    History::open(Path::new(&db.url)).unwrap();
    assert_eq!(db.count("SELECT count(*) FROM coalmine_schema"), 1);

    // A newer schema: refused, nothing changed.
    db.client()
        .batch_execute("UPDATE coalmine_schema SET version = 7, written_by = '9.9.9'")
        .unwrap();
    let error = History::open(Path::new(&db.url)).unwrap_err();
    assert!(
        matches!(error, HistoryError::TooNew { found: 7, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("upgrade coalmine"), "{error}");
    assert_eq!(db.count("SELECT version::bigint FROM coalmine_schema"), 7);
    // An older version than any PostgreSQL history had: not coalmine's, refused as it is.
    db.client()
        .batch_execute("UPDATE coalmine_schema SET version = 3")
        .unwrap();
    let error = History::open(Path::new(&db.url)).unwrap_err();
    assert!(matches!(error, HistoryError::Corrupt { .. }), "{error}");
    assert_eq!(db.count("SELECT version::bigint FROM coalmine_schema"), 3);

    // Another application's database: refused, no table added.
    let foreign = TestDb::new(&server);
    foreign
        .client()
        .batch_execute("CREATE TABLE accounts (id INTEGER)")
        .unwrap();
    let error = History::open(Path::new(&foreign.url)).unwrap_err();
    assert!(
        matches!(error, HistoryError::ForeignServer { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("accounts"), "{error}");
    assert_eq!(
        foreign
            .count("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"),
        1
    );

    // A reading command on an empty database says so and creates nothing.
    let empty = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let output = coalmine(dir.path(), &["report", "--history", &empty.url]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("no history in the database"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        empty.count("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"),
        0
    );
}

#[test]
fn a_server_that_is_down_exits_4_naming_it_and_never_its_password() {
    if server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    junit(&dir.path().join("a.xml"), 0, 3);
    let socket = tempfile::tempdir().unwrap();
    let on_socket = format!(
        "postgres://coalmine@localhost/h?host={}",
        socket.path().display()
    );
    for (url, named) in [
        (
            "postgres://coalmine:s3cret@127.0.0.1:1/h".to_owned(),
            "127.0.0.1:1".to_owned(),
        ),
        (
            on_socket,
            format!("{}/.s.PGSQL.5432", socket.path().display()),
        ),
    ] {
        for args in [
            ingest_args(&url, "c1", "a.xml"),
            vec!["report", "--history", &url],
        ] {
            let output = coalmine(dir.path(), &args);
            let said = text(&output.stderr);
            assert_eq!(output.status.code(), Some(4), "{args:?}: {said}");
            assert!(
                said.contains("cannot reach the PostgreSQL server"),
                "{said}"
            );
            assert!(said.contains(&named), "{said}");
            assert!(!said.contains("s3cret"), "{said}");
        }
    }
    assert_eq!(std::fs::read_dir(socket.path()).unwrap().count(), 0);
}

/// `server` as user `user` (with `password`) on database `database`.
fn url_as(server: &str, user: &str, password: &str, database: &str) -> String {
    let config: postgres::Config = server.parse().unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    // A `?host=/dir` parameter names the socket (beside the URL's own host, for this crate).
    let hosts = config.get_hosts();
    let host = hosts
        .iter()
        .find(|host| matches!(host, postgres::config::Host::Unix(_)))
        .or(hosts.first());
    match host {
        Some(postgres::config::Host::Unix(dir)) => format!(
            "postgres://{user}:{password}@localhost:{port}/{database}?host={}",
            dir.display()
        ),
        Some(postgres::config::Host::Tcp(host)) => {
            format!("postgres://{user}:{password}@{host}:{port}/{database}")
        }
        None => format!("postgres://{user}:{password}@localhost:{port}/{database}"),
    }
}

/// A password in the URL is sent and never printed: every message shows `***`. (The test
/// cluster trusts local connections, so the server does not check it; reading `PGPASSWORD` and
/// the password file is checked by the library's unit tests.)
#[test]
fn a_password_in_the_url_is_never_printed() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let role = format!("{}_pw", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw-9f3'; GRANT ALL ON SCHEMA public TO {role}; \
             GRANT ALL ON DATABASE {} TO {role}",
            db.name
        ))
        .unwrap();
    let url = url_as(&server, &role, "pw-9f3", &db.name);
    let dir = tempfile::tempdir().unwrap();
    junit(&dir.path().join("a.xml"), 0, 3);
    let output = coalmine(dir.path(), &ingest_args(&url, "c1", "a.xml"));
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(!said.contains("pw-9f3"), "{said}");
    assert!(said.contains(":***@"), "{said}");
    let wrong = url_as(&server, &role, "pw-9f3", "no_such_database_here");
    let output = coalmine(dir.path(), &["report", "--history", &wrong]);
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(!said.contains("pw-9f3") && said.contains(":***@"), "{said}");
    db.client()
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap_or(());
}

/// Records one generated history (flaky, stable and systemic runs, a fix) into `histories`.
fn seed(histories: &mut [&mut History]) {
    let end = Timestamp::from_second(1_795_000_000).unwrap();
    for (new, rows) in generated_runs(16, 40, 240, "gen") {
        for history in histories.iter_mut() {
            assert!(history.record_run(&new, &rows).unwrap().is_new());
        }
    }
    for history in histories.iter_mut() {
        history.record_fix("pkg.Suite::rare", "abc", end).unwrap();
    }
}

/// One generated history (flaky, stable and systemic runs, a quarantine list) recorded into
/// a SQLite file and into PostgreSQL gives byte-identical `plan --format json` and
/// `report --format json`.
#[test]
fn both_backends_give_byte_identical_plans_and_reports() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("harness.toml"), HARNESS).unwrap();
    let file = dir.path().join("history.db");
    seed(&mut [
        &mut History::open(&file).unwrap(),
        &mut History::open(Path::new(&db.url)).unwrap(),
    ]);
    let file = file.display().to_string();
    assert_same_answers(dir.path(), &file, &db.url);
}

/// The other commands on the same history in both backends: `quarantine explain`, `fixed`,
/// `apply` (harness.toml and the pull-request body), `export`, `report --format html` and the
/// markdown plan print and write the same bytes (the history's location aside).
#[test]
fn explain_fixed_apply_export_and_html_do_the_same_on_both_backends() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let sqlite_dir = tempfile::tempdir().unwrap();
    let pg_dir = tempfile::tempdir().unwrap();
    let file = sqlite_dir.path().join("history.db");
    seed(&mut [
        &mut History::open(&file).unwrap(),
        &mut History::open(Path::new(&db.url)).unwrap(),
    ]);
    let file = file.display().to_string();
    let mut outputs = Vec::new();
    for (dir, location) in [
        (sqlite_dir.path(), file.as_str()),
        (pg_dir.path(), db.url.as_str()),
    ] {
        std::fs::write(dir.join("harness.toml"), HARNESS).unwrap();
        let mut said = String::new();
        for args in [
            vec![
                "quarantine",
                "explain",
                "pkg.Suite::flaky [sig-compute]",
                "--now",
                NOW,
            ],
            vec!["quarantine", "plan", "--format", "md", "--now", NOW],
            vec![
                "quarantine",
                "fixed",
                "pkg.Suite::old_flaky",
                "--commit",
                "f00d",
                "--at",
                "2026-11-16T00:00:00Z",
            ],
            vec![
                "quarantine",
                "explain",
                "pkg.Suite::flaky [sig-compute]",
                "--now",
                NOW,
            ],
            vec!["quarantine", "apply", "--now", NOW, "--pr-body", "pr.md"],
            vec!["quarantine", "export", "--for", "regex"],
            vec!["quarantine", "export", "--for", "pytest"],
            vec!["report", "--format", "html", "--now", NOW],
        ] {
            let mut all = args.clone();
            if args[1] != "export" {
                all.extend(["--history", location]);
            }
            let output = coalmine(dir, &all);
            said.push_str(&format!(
                "$ {args:?} -> {:?}\n{}{}",
                output.status.code(),
                text(&output.stdout),
                text(&output.stderr)
            ));
        }
        said.push_str(&std::fs::read_to_string(dir.join("harness.toml")).unwrap());
        said.push_str(&std::fs::read_to_string(dir.join("pr.md")).unwrap());
        said.push_str(&std::fs::read_to_string(dir.join("coalmine-report.html")).unwrap());
        // The report's progress lines carry timings.
        let said: String = said
            .lines()
            .filter(|line| !line.starts_with("coalmine report: "))
            .map(|line| format!("{line}\n"))
            .collect();
        outputs.push(
            said.replace(location, "HISTORY")
                .replace(&dir.display().to_string(), "DIR"),
        );
    }
    assert!(
        !outputs[0].contains("-> Some(1)") && !outputs[0].contains("-> Some(2)"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[0].contains("wrote DIR/harness.toml (2 added"),
        "{}",
        outputs[0]
    );
    let first_difference = outputs[0]
        .lines()
        .zip(outputs[1].lines())
        .position(|(a, b)| a != b);
    assert!(
        outputs[0] == outputs[1],
        "differ at line {first_difference:?}: sqlite {:?}, postgres {:?}",
        first_difference.and_then(|line| outputs[0].lines().nth(line)),
        first_difference.and_then(|line| outputs[1].lines().nth(line)),
    );
}

/// The harness records its canaries into the server: the two processes of one nextest run
/// append to one run.
#[test]
fn canaries_record_into_the_server_and_one_nextest_run_is_one_run() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    common::write_script(
        &dir.path().join("ci"),
        "#!/bin/sh\ncat > \"$1/results.json\" <<'EOF'\n{\"results\": {\"install\": \"pass\"}, \
         \"flags\": {\"clean_teardown\": true, \"no_secret_leak\": true}, \"stages\": {\"install\": \
         {\"tests\": [{\"name\": \"test_serving\", \"outcome\": \"pass\"}]}}}\nEOF\n",
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        format!(
            "[ci]\ncommand = [\"./ci\", \"{{artifacts}}\"]\nresults = \"{{artifacts}}/results.json\"\n\
             [run]\nartifacts = \"runs\"\n[history]\nurl = \"{}\"\nlane = \"canaries\"\n",
            db.url
        ),
    )
    .unwrap();
    let process = |commit: &str| {
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .env_remove("COALMINE_HISTORY")
            .env_remove("COALMINE_LANE")
            .env_remove("COALMINE_RUN_KIND")
            .env_remove("COALMINE_HISTORY_RUN")
            .env("COALMINE_COMMIT", commit)
            .env("NEXTEST_RUN_ID", "run-7")
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let output = process("c1");
        assert!(output.status.success(), "{}", text(&output.stdout));
    }
    // A process of the same run at another commit: its canary fails, saying why, and adds
    // nothing to the run.
    let output = process("c2");
    assert!(!output.status.success(), "{}", text(&output.stdout));
    let said = text(&output.stdout);
    assert!(
        said.contains("HISTORY: the outcome could not be recorded in")
            && said.contains("the run nextest:run-7 was recorded with commit c1, not c2"),
        "{said}"
    );
    let history = History::open(Path::new(&db.url)).unwrap();
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].run.lane, "canaries");
    assert_eq!(runs[0].run.commit, "c1");
    assert_eq!(runs[0].ingest_key.as_deref(), Some("nextest:run-7"));
    let mut tests = Vec::new();
    history
        .for_each_result(None, |row| tests.push((row.test.clone(), row.outcome)))
        .unwrap();
    assert_eq!(tests.len(), 4, "{tests:?}");
    assert!(
        tests.iter().any(|(name, _)| name == "canary::good-simple"),
        "{tests:?}"
    );
}

/// As in SQLite: a run is added to only by processes that say its lane, kind and commit.
#[test]
fn appending_to_a_run_of_another_lane_kind_or_commit_is_refused() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let mut history = History::open(Path::new(&db.url)).unwrap();
    let run = NewRun {
        lane: "canaries".into(),
        kind: coalmine::history::RunKind::Periodic,
        commit: "abc123".into(),
        started_at: Timestamp::from_second(1_790_000_000).unwrap(),
        source: "coalmine harness".into(),
        ingest_key: Some("shared:ci-7".into()),
    };
    let pass = |test: &str| NewResult::new(test, coalmine::results::Outcome::Pass);
    history.append_to_run(&run, &[pass("canary::a")]).unwrap();
    let later = NewRun {
        started_at: Timestamp::from_second(1_790_000_060).unwrap(),
        source: "elsewhere".into(),
        ..run.clone()
    };
    history.append_to_run(&later, &[pass("canary::b")]).unwrap();
    let others = [
        (
            NewRun {
                commit: "def456".into(),
                ..run.clone()
            },
            "commit abc123, not def456",
        ),
        (
            NewRun {
                lane: "other".into(),
                ..run.clone()
            },
            "lane \"canaries\", not \"other\"",
        ),
        (
            NewRun {
                kind: coalmine::history::RunKind::Presubmit,
                ..run.clone()
            },
            "kind periodic, not presubmit",
        ),
    ];
    for (other, named) in others {
        let error = history
            .append_to_run(&other, &[pass("canary::c")])
            .unwrap_err();
        let said = error.to_string();
        assert!(matches!(error, HistoryError::InvalidInput { .. }), "{said}");
        assert!(
            said.contains("the run shared:ci-7 was recorded with"),
            "{said}"
        );
        assert!(said.contains(named), "{said}");
    }
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].counts.total, 2);
    assert_eq!(runs[0].run.started_at, run.started_at);
    assert_eq!(db.count("SELECT count(*) FROM results"), 2);
    db.assert_ids_hold();
}

/// 16 processes ingest 16 distinct runs into one server at once, and 16 more re-ingest one
/// same run: every distinct run is recorded once with all its results, the shared one once.
#[test]
fn sixteen_processes_ingesting_at_once_lose_and_duplicate_nothing() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    History::open(Path::new(&db.url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    const TESTS: usize = 300;
    for run in 0..16 {
        junit(&dir.path().join(format!("run{run}.xml")), run, TESTS);
    }
    junit(&dir.path().join("shared.xml"), 99, TESTS);
    let mut children = Vec::new();
    for run in 0..16 {
        let commit = format!("c{run}");
        let file = format!("run{run}.xml");
        children.push(
            command(dir.path(), &ingest_args(&db.url, &commit, &file))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        children.push(
            command(dir.path(), &ingest_args(&db.url, "shared", "shared.xml"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
    assert_eq!(db.count("SELECT count(*) FROM runs"), 17);
    assert_eq!(db.count("SELECT count(*) FROM results"), 17 * TESTS as i64);
    assert_eq!(db.count("SELECT count(*) FROM result_batches"), 17);
    assert_eq!(db.count("SELECT count(*) FROM tests"), TESTS as i64);
    assert_eq!(
        db.count("SELECT count(*) FROM runs WHERE commit_sha = 'shared'"),
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM (SELECT DISTINCT run_id, seq FROM results) AS r"),
        17 * TESTS as i64
    );
    db.assert_ids_hold();
    // Every run's counts are those of its results.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM runs WHERE tests <> (SELECT count(*) FROM results \
             WHERE results.run_id = runs.id)"
        ),
        0
    );
}

/// The connection dropped in the middle of an ingest (its backend terminated while it waits
/// for a lock, after writing the run row and copying its results): nothing of the run is
/// recorded, and the retry records it once.
#[test]
fn a_connection_dropped_mid_ingest_records_nothing_and_the_retry_records_it_once() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    History::open(Path::new(&db.url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    junit(&dir.path().join("a.xml"), 1, 500);
    let mut blocker = db.client();
    let mut lock = blocker.transaction().unwrap();
    lock.batch_execute("LOCK TABLE result_batches IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let child = command(dir.path(), &ingest_args(&db.url, "c1", "a.xml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watcher = db.client();
    let pid = db.coalmine_waiting_on_a_lock("the ingest");
    let terminated: bool = watcher
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(terminated);
    lock.rollback().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains("PostgreSQL"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(db.count("SELECT count(*) FROM runs"), 0);
    assert_eq!(db.count("SELECT count(*) FROM results"), 0);

    for expected_runs in [1, 1] {
        let output = coalmine(dir.path(), &ingest_args(&db.url, "c1", "a.xml"));
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert_eq!(db.count("SELECT count(*) FROM runs"), expected_runs);
        assert_eq!(db.count("SELECT count(*) FROM results"), 500);
    }
}

/// Appends (the processes of one nextest run) grow one run; a completed run's results are
/// replaced; files, fixes and tags read back as recorded.
#[test]
fn appends_completions_files_fixes_and_tags_read_back() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let mut history = History::open(Path::new(&db.url)).unwrap();
    let at = Timestamp::from_second(1_790_000_000).unwrap();
    let run = NewRun {
        lane: "l".into(),
        kind: coalmine::history::RunKind::Periodic,
        commit: "c".into(),
        started_at: at,
        source: "s".into(),
        ingest_key: Some("nextest:1".into()),
    };
    let mut first = NewResult::new("a", coalmine::results::Outcome::Pass);
    first.tags = Some(vec!["sig-b".into(), " sig-a".into(), "sig-b".into()]);
    let second = NewResult::new("b\0nul", coalmine::results::Outcome::Fail);
    let one = history.append_to_run(&run, &[first.clone()]).unwrap();
    let two = history.append_to_run(&run, &[second]).unwrap();
    assert_eq!(one.run_id(), two.run_id());
    let summary = history.run_with_key("nextest:1").unwrap().unwrap();
    assert_eq!((summary.counts.total, summary.counts.failed), (2, 1));
    assert_eq!(history.run_batches(one.run_id()).unwrap().len(), 2);
    let tests = history.tests().unwrap();
    assert_eq!(tests[0].name, "a");
    assert_eq!(tests[0].tags, ["sig-a", "sig-b"]);
    assert_eq!(tests[1].name, "b\u{fffd}nul");

    let digest = [7u8; 32];
    let key = NewRun {
        ingest_key: Some("junit-run:x".into()),
        ..run.clone()
    };
    let recorded = history
        .record_ingested_run(&key, &[first.clone()], &[digest])
        .unwrap();
    assert!(matches!(
        history
            .record_ingested_run(&key, &[first.clone()], &[digest])
            .unwrap(),
        Recorded::AlreadyRecorded { .. }
    ));
    assert_eq!(
        history.runs_of_files(&[digest]).unwrap(),
        [vec![recorded.run_id()]]
    );
    assert_eq!(history.files_of_run(recorded.run_id()).unwrap(), [digest]);
    let mut all = history.ingested_results(recorded.run_id()).unwrap();
    all.push(NewResult::new("c", coalmine::results::Outcome::Skip));
    history
        .complete_ingested_run(recorded.run_id(), &all, &[[8u8; 32]])
        .unwrap();
    assert_eq!(
        history.ingested_results(recorded.run_id()).unwrap().len(),
        2
    );
    assert_eq!(history.files_of_run(recorded.run_id()).unwrap().len(), 2);
    history.record_fix("a", "f1", at).unwrap();
    history.record_fix("a", "f1", at).unwrap();
    assert_eq!(history.fixes().unwrap().len(), 1);
    let mut seen = 0;
    history.for_each_result(None, |_| seen += 1).unwrap();
    assert_eq!(seen, 4);
    db.assert_ids_hold();

    // Results come in the order of their runs' starts, also when a run recorded later started
    // earlier (a back-fill: ids no longer follow starts).
    for (key, hours) in [("later", 1), ("back-filled", -1)] {
        let run = NewRun {
            ingest_key: Some(key.into()),
            started_at: at + SignedDuration::from_hours(hours),
            ..run.clone()
        };
        history
            .record_run(
                &run,
                &[NewResult::new("a", coalmine::results::Outcome::Fail)],
            )
            .unwrap();
    }
    let by_start: Vec<i64> = history
        .run_summaries(None)
        .unwrap()
        .iter()
        .filter(|summary| summary.counts.total > 0)
        .map(|summary| summary.run.id)
        .collect();
    for outcomes in [false, true] {
        let mut order: Vec<i64> = Vec::new();
        let mut push = |run_id: i64| {
            if order.last() != Some(&run_id) {
                order.push(run_id);
            }
        };
        match outcomes {
            true => history.for_each_outcome(None, |row| push(row.run_id)),
            false => history.for_each_result(None, |row| push(row.run_id)),
        }
        .unwrap();
        assert_eq!(order, by_start);
    }
    let back_filled = history.run_with_key("back-filled").unwrap().unwrap().run.id;
    assert_eq!(
        by_start.first(),
        Some(&back_filled),
        "the back-filled run first"
    );
    assert!(
        by_start.windows(2).any(|pair| pair[0] > pair[1]),
        "ids out of start order: {by_start:?}"
    );
}

/// `history copy` from SQLite to PostgreSQL and back: complete (counts compared), the same
/// plan from every copy, and copying again adds nothing.
#[test]
fn history_copy_goes_both_ways_and_checks_its_counts() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("harness.toml"), HARNESS).unwrap();
    let file = dir.path().join("history.db");
    seed(&mut [&mut History::open(&file).unwrap()]);
    let file = file.display().to_string();
    let back = dir.path().join("back.db").display().to_string();
    let copy = |from: &str, to: &str| {
        let output = coalmine(dir.path(), &["history", "copy", "--from", from, "--to", to]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let said = copy(&file, &db.url);
    assert!(
        said.contains("240 run(s) added (0 there already)"),
        "{said}"
    );
    assert!(said.contains("counts compared, equal"), "{said}");
    let said = copy(&file, &db.url);
    assert!(
        said.contains("0 run(s) added (240 there already), 0 result(s) added"),
        "{said}"
    );
    let said = copy(&db.url, &back);
    assert!(said.contains("240 run(s) added"), "{said}");
    let plan = |history: &str| {
        coalmine(
            dir.path(),
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
    let original = plan(&file);
    assert!(original.len() > 500);
    assert!(
        plan(&db.url) == original,
        "the server's copy plans differently"
    );
    assert!(plan(&back) == original, "the copy back plans differently");
    let missing = dir.path().join("missing.db").display().to_string();
    let output = coalmine(
        dir.path(),
        &["history", "copy", "--from", &missing, "--to", &back],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(!Path::new(&missing).exists());
}

/// The role that the test cluster (`.ci/postgres-cluster`) makes give a password.
const PASSWORD_ROLE: &str = "coalmine_password_test";

/// Without a password in the URL, it comes from `PGPASSWORD`, else from the password file
/// (`PGPASSFILE`), which is ignored when others may read it, as libpq does: checked against a
/// server that asks for the password.
#[test]
fn the_password_comes_from_pgpassword_or_the_password_file() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let asks: i64 = db.count(&format!(
        "SELECT count(*) FROM pg_hba_file_rules WHERE '{PASSWORD_ROLE}' = ANY(user_name) \
         AND auth_method = 'scram-sha-256'"
    ));
    if asks == 0 {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
            "the server does not ask {PASSWORD_ROLE} for a password and COALMINE_REQUIRE_ALL is set"
        );
        eprintln!(
            "SKIPPED: the server does not ask {PASSWORD_ROLE} for a password (.ci/postgres-cluster \
             sets that up)"
        );
        return;
    }
    let mut client = db.client();
    // The role is the cluster's, shared by every run of this test: made once, its password set.
    let _ = client.batch_execute(&format!("CREATE ROLE {PASSWORD_ROLE} LOGIN"));
    client
        .batch_execute(&format!(
            "ALTER ROLE {PASSWORD_ROLE} PASSWORD 'pw-from-env'; \
             GRANT ALL ON SCHEMA public TO {PASSWORD_ROLE}"
        ))
        .unwrap();
    let url = url_as(&server, PASSWORD_ROLE, "", &db.name).replacen(":@", "@", 1);
    assert!(!url.contains(":@"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let report = |env: &[(&str, &str)]| {
        let mut command = command(dir.path(), &["report", "--history", &url]);
        command.env_remove("PGPASSFILE").env("HOME", dir.path());
        command.envs(env.iter().copied());
        command.output().unwrap()
    };
    // Without a password: the server refuses (exit 1, not 4: it was reached).
    let output = report(&[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    // PGPASSWORD: accepted (the database holds no history yet, which is what it then says).
    let output = report(&[("PGPASSWORD", "pw-from-env")]);
    assert!(
        text(&output.stderr).contains("no history in the database"),
        "{}",
        text(&output.stderr)
    );
    assert!(!text(&output.stderr).contains("pw-from-env"));
    // The password file: used when only its owner may read it.
    let file = dir.path().join("pgpass");
    std::fs::write(
        &file,
        format!("# coalmine\n*:*:*:{PASSWORD_ROLE}:pw-from-env\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = file.display().to_string();
    let output = report(&[("PGPASSFILE", &file)]);
    assert!(
        text(&output.stderr).contains("no history in the database"),
        "{}",
        text(&output.stderr)
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = report(&[("PGPASSFILE", &file)]);
    assert!(
        !text(&output.stderr).contains("no history in the database"),
        "a password file others may read is ignored: {}",
        text(&output.stderr)
    );
    // Over TLS, SCRAM bound to the TLS session (channel_binding=require: SCRAM-SHA-256-PLUS,
    // which fails unless the client hashes the server's certificate as the server does).
    if let Some((tls, certs)) = tls_server() {
        let ca = certs.join("ca.crt").display().to_string();
        let url = tls_url(
            &tls,
            PASSWORD_ROLE,
            &db.name,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}&channel_binding=require"),
        );
        for (password, accepted) in [("pw-from-env", true), ("wrong", false)] {
            let output = report_over(dir.path(), dir.path(), &url, &[("PGPASSWORD", password)]);
            let said = text(&output.stderr);
            assert_eq!(
                said.contains("no history in the database"),
                accepted,
                "{said}"
            );
            assert!(!said.contains(password), "{said}");
        }
    }
    // ~/.pgpass without PGPASSFILE.
    std::fs::rename(&file, dir.path().join(".pgpass")).unwrap();
    std::fs::set_permissions(
        dir.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let output = report(&[]);
    assert!(
        text(&output.stderr).contains("no history in the database"),
        "{}",
        text(&output.stderr)
    );
}

/// A table altered by hand (a column of another type) is an error naming the history, not a
/// panic.
#[test]
fn a_column_of_another_type_is_an_error_not_a_panic() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let mut history = History::open(Path::new(&db.url)).unwrap();
    let run = NewRun {
        lane: "l".into(),
        kind: coalmine::history::RunKind::Periodic,
        commit: "c".into(),
        started_at: Timestamp::from_second(1_790_000_000).unwrap(),
        source: "s".into(),
        ingest_key: None,
    };
    history
        .record_run(
            &run,
            &[NewResult::new("a", coalmine::results::Outcome::Pass)],
        )
        .unwrap();
    db.client()
        .batch_execute(
            "ALTER TABLE runs ALTER COLUMN lane TYPE integer USING 1; \
             ALTER TABLE tests ALTER COLUMN name TYPE integer USING 1",
        )
        .unwrap();
    let history = History::open(Path::new(&db.url)).unwrap();
    let error = history.run_summaries(None).unwrap_err();
    assert!(error.to_string().contains(&db.name), "{error}");
    assert!(history.for_each_result(None, |_| ()).is_err());
    assert!(history.run_batches(1).is_err());
    assert!(
        history.for_each_outcome(None, |_| ()).is_ok(),
        "it reads no test name"
    );
    // The packed results as another type, or not packed text: an error naming the history.
    db.client()
        .batch_execute("UPDATE result_batches SET data = 'not packed'")
        .unwrap();
    let error = history.for_each_outcome(None, |_| ()).unwrap_err();
    assert!(error.to_string().contains(&db.name), "{error}");
    assert!(error.to_string().contains("not readable"), "{error}");
    db.client()
        .batch_execute(
            "DROP VIEW results; ALTER TABLE result_batches ALTER COLUMN data TYPE text \
             USING convert_from(data, 'UTF8')",
        )
        .unwrap();
    let error = history.for_each_outcome(None, |_| ()).unwrap_err();
    assert!(error.to_string().contains(&db.name), "{error}");
}

/// A test's name and the tags its result reports (`None`: says nothing about them).
type Tagged<'a> = (&'a str, Option<&'a [&'a str]>);

/// The tags rule with back-filled runs (an older report ingested after a newer one, tagged or
/// not), on both backends: the same tags after every recording.
#[test]
fn back_filled_tags_follow_the_same_rule_on_both_backends() {
    let Some(server) = server() else { return };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = History::open(&dir.path().join("h.db")).unwrap();
    let mut pg = History::open(Path::new(&db.url)).unwrap();
    let steps: &[(&str, i64, &[Tagged])] = &[
        (
            "a",
            20,
            &[("t1", Some(&["sig-compute", "x"])), ("t2", None)],
        ),
        (
            "b",
            10,
            &[("t1", Some(&["sig-network"])), ("t2", Some(&["old"]))],
        ),
        ("c", 30, &[("t1", None), ("t2", Some(&["new"]))]),
        (
            "d",
            25,
            &[("t2", Some(&["between"])), ("t3", Some(&["only"]))],
        ),
        ("e", 60, &[("t1", Some(&["sig-compute"]))]),
        (
            "f",
            70,
            &[("t1", Some(&["sig-compute"])), ("t1", Some(&["last"]))],
        ),
        (
            "g",
            65,
            &[("t1", Some(&["sig-network"])), ("t3", Some(&[]))],
        ),
        (
            "h",
            5,
            &[("t3", Some(&["oldest"])), ("t4", Some(&["fresh"]))],
        ),
        // A newer run with the same tags writes nothing, yet outranks an older report.
        ("i", 80, &[("t5", Some(&["same"]))]),
        ("j", 90, &[("t5", Some(&["same"])), ("t6", Some(&["six"]))]),
        ("k", 85, &[("t5", Some(&["other"])), ("t6", None)]),
    ];
    for (commit, minutes, results) in steps {
        let run = NewRun {
            lane: "l".into(),
            kind: coalmine::history::RunKind::Periodic,
            commit: (*commit).into(),
            started_at: Timestamp::from_second(1_790_000_000 + minutes * 60).unwrap(),
            source: "s".into(),
            ingest_key: None,
        };
        let results: Vec<NewResult> = results
            .iter()
            .map(|(name, tags)| {
                let mut result = NewResult::new(*name, coalmine::results::Outcome::Pass);
                result.tags = tags.map(|tags| tags.iter().map(|tag| tag.to_string()).collect());
                result
            })
            .collect();
        sqlite.record_run(&run, &results).unwrap();
        pg.record_run(&run, &results).unwrap();
        let tags = |history: &History| -> Vec<(String, Vec<String>)> {
            let mut tests: Vec<_> = history
                .tests()
                .unwrap()
                .into_iter()
                .map(|test| (test.name, test.tags))
                .collect();
            tests.sort();
            tests
        };
        assert_eq!(tags(&sqlite), tags(&pg), "after run {commit}");
        if *commit == "k" {
            let t5 = tags(&pg).into_iter().find(|(name, _)| name == "t5");
            assert_eq!(t5.unwrap().1, ["same"]);
        }
        assert_eq!(
            sqlite.ingested_results(1).unwrap(),
            pg.ingested_results(1).unwrap()
        );
    }
}

// TLS: the throwaway cluster also listens on 127.0.0.1 with TLS only (`.ci/postgres-cluster`:
// a certificate for `localhost` signed by a throwaway CA; plain TCP refused by `hostnossl
// reject`, so that a connection that works over TCP went over TLS).

const TLS_URL_ENV: &str = "COALMINE_TEST_POSTGRES_TLS_URL";
const TLS_DIR_ENV: &str = "COALMINE_TEST_POSTGRES_TLS_DIR";

/// The TLS listener's URL and the folder of its certificates, or `None` after saying that
/// the test skips (failing under `COALMINE_REQUIRE_ALL`).
fn tls_server() -> Option<(String, PathBuf)> {
    match (std::env::var(TLS_URL_ENV), std::env::var(TLS_DIR_ENV)) {
        (Ok(url), Ok(dir)) if !url.is_empty() && !dir.is_empty() => Some((url, dir.into())),
        _ => {
            assert!(
                std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
                "{TLS_URL_ENV} or {TLS_DIR_ENV} is not set and COALMINE_REQUIRE_ALL is set: \
                 start a server with .ci/postgres-cluster"
            );
            eprintln!(
                "SKIPPED: {TLS_URL_ENV} is not set (no PostgreSQL server with TLS); .ci/run \
                 starts one with .ci/postgres-cluster"
            );
            None
        }
    }
}

/// `coalmine report` on `url` from `dir`, with `home` as the home folder (where libpq's
/// `~/.postgresql/` files are looked for) and no `PGSSL*` variable unless given.
fn report_over(dir: &Path, home: &Path, url: &str, env: &[(&str, &str)]) -> Output {
    let mut command = command(dir, &["report", "--history", url]);
    command.env("HOME", home);
    for name in ["PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

/// The TLS listener's `url` as `user` (the cluster's own when empty) on `database`, by
/// `host`, with the query `query`.
fn tls_url(url: &str, user: &str, database: &str, host: &str, query: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (own, rest) = rest.split_once('@').unwrap();
    let port = rest.split_once(':').unwrap().1.split_once('/').unwrap().0;
    let user = if user.is_empty() { own } else { user };
    let url = format!("{scheme}://{user}@{host}:{port}/{database}");
    match query.is_empty() {
        true => url,
        false => format!("{url}?{query}"),
    }
}

#[test]
fn each_sslmode_checks_what_libpq_checks() {
    let Some(server) = server() else { return };
    let Some((tls, certs)) = tls_server() else {
        return;
    };
    let db = TestDb::new(&server);
    let dir = tempfile::tempdir().unwrap();
    junit(&dir.path().join("a.xml"), 0, 3);
    common::succeeded(coalmine(dir.path(), &ingest_args(&db.url, "c1", "a.xml")));
    let home = tempfile::tempdir().unwrap();
    let ca = certs.join("ca.crt").display().to_string();
    let other = certs.join("other-ca.crt").display().to_string();
    // The password is never shown, whatever fails.
    let with_password = |url: String| url.replacen("@", ":s3cret@", 1);
    let works = |url: String, env: &[(&str, &str)]| {
        let url = with_password(url);
        let output = report_over(dir.path(), home.path(), &url, env);
        let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert_eq!(output.status.code(), Some(0), "{url}: {said}");
        assert!(said.contains("1 run"), "{url}: {said}");
    };
    let fails = |url: String, env: &[(&str, &str)], expected: &[&str]| {
        let url = with_password(url);
        let output = report_over(dir.path(), home.path(), &url, env);
        let said = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{url}: {said}");
        for part in expected {
            assert!(said.contains(part), "{url}: expected {part:?} in: {said}");
        }
        assert!(!said.contains("s3cret"), "{said}");
        assert!(said.contains(":***@"), "{said}");
    };
    let name = db.name.as_str();
    // The server refuses TCP in the clear: what connects went over TLS.
    fails(
        tls_url(&tls, "", name, "localhost", "sslmode=disable"),
        &[],
        &["no encryption"],
    );
    fails(
        tls_url(&tls, "", name, "localhost", ""),
        &[("PGSSLMODE", "disable")],
        &["no encryption"],
    );
    // Encryption without checking: the default (prefer), allow and require.
    works(tls_url(&tls, "", name, "localhost", ""), &[]);
    works(tls_url(&tls, "", name, "127.0.0.1", "sslmode=allow"), &[]);
    works(tls_url(&tls, "", name, "127.0.0.1", "sslmode=require"), &[]);
    // Checked: by the CA only, then by the CA and the name.
    works(
        tls_url(
            &tls,
            "",
            name,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        &[],
    );
    works(
        tls_url(
            &tls,
            "",
            name,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        &[],
    );
    works(
        tls_url(&tls, "", name, "localhost", ""),
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
    );
    // The system's CAs (here a bundle holding only the test CA, or only the other).
    let system = || {
        tls_url(
            &tls,
            "",
            name,
            "localhost",
            "sslmode=verify-full&sslrootcert=system",
        )
    };
    works(system(), &[("SSL_CERT_FILE", &ca)]);
    fails(
        system(),
        &[("SSL_CERT_FILE", &other)],
        &["not signed by a CA"],
    );
    fails(
        tls_url(
            &tls,
            "",
            name,
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        &[],
        &[
            "the TLS connection to 127.0.0.1:",
            "sslmode=verify-full",
            "for another name",
            "nothing was recorded",
        ],
    );
    fails(
        tls_url(
            &tls,
            "",
            name,
            "localhost",
            &format!("sslmode=verify-ca&sslrootcert={other}"),
        ),
        &[],
        &[
            "sslmode=verify-ca",
            "not signed by a CA of the root certificates",
        ],
    );
    fails(
        tls_url(&tls, "", name, "localhost", "sslmode=verify-full"),
        &[],
        &[
            "no root certificate file",
            ".postgresql/root.crt",
            "sslrootcert=PATH",
        ],
    );
    // libpq's rule: with ~/.postgresql/root.crt, require checks the CA too.
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::copy(&other, home.path().join(".postgresql/root.crt")).unwrap();
    fails(
        tls_url(&tls, "", name, "localhost", "sslmode=require"),
        &[],
        &["sslmode=require", "root.crt"],
    );
    std::fs::copy(&ca, home.path().join(".postgresql/root.crt")).unwrap();
    works(tls_url(&tls, "", name, "127.0.0.1", "sslmode=require"), &[]);
    works(
        tls_url(&tls, "", name, "localhost", "sslmode=verify-full"),
        &[],
    );
    // A unix socket never uses TLS, as in libpq.
    works(format!("{}&sslmode=verify-full", db.url), &[]);
}

#[test]
fn a_client_certificate_authenticates_its_role() {
    let Some(server) = server() else { return };
    let Some((tls, certs)) = tls_server() else {
        return;
    };
    let db = TestDb::new(&server);
    db.client()
        .batch_execute(&format!(
            "ALTER DATABASE {} OWNER TO coalmine_cert_test",
            db.name
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    junit(&dir.path().join("a.xml"), 0, 3);
    let home = tempfile::tempdir().unwrap();
    // The client's files, readable only by the user who runs the test (as libpq requires).
    let cert = home.path().join("client.crt");
    let key = home.path().join("client.key");
    std::fs::copy(certs.join("client.crt"), &cert).unwrap();
    std::fs::copy(certs.join("client.key"), &key).unwrap();
    let set_mode = |mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    set_mode(0o600);
    let ca = certs.join("ca.crt").display().to_string();
    let as_cert_role =
        |query: &str| tls_url(&tls, "coalmine_cert_test", &db.name, "localhost", query);
    let with_cert = as_cert_role(&format!(
        "sslmode=verify-full&sslrootcert={ca}&sslcert={}&sslkey={}",
        cert.display(),
        key.display()
    ));
    let mut ingest = command(dir.path(), &ingest_args(&with_cert, "c1", "a.xml"));
    ingest.env("HOME", home.path());
    common::succeeded(ingest.output().unwrap());
    let output = report_over(dir.path(), home.path(), &with_cert, &[]);
    assert!(common::succeeded(output).contains("1 run"));
    // Without the certificate, the server refuses the role.
    let without = as_cert_role(&format!("sslmode=verify-full&sslrootcert={ca}"));
    let output = report_over(dir.path(), home.path(), &without, &[]);
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("certificate"), "{said}");
    // libpq's default files, ~/.postgresql/postgresql.crt and .key, are used when present.
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::copy(&cert, home.path().join(".postgresql/postgresql.crt")).unwrap();
    std::fs::rename(&key, home.path().join(".postgresql/postgresql.key")).unwrap();
    let output = report_over(dir.path(), home.path(), &without, &[]);
    assert!(common::succeeded(output).contains("1 run"));
    // A key others may read is refused before connecting, saying how to fix it.
    std::fs::rename(home.path().join(".postgresql/postgresql.key"), &key).unwrap();
    set_mode(0o644);
    let output = report_over(dir.path(), home.path(), &with_cert, &[]);
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("chmod 0600"), "{said}");
    // A certificate named but missing is an error, not a connection without one.
    let missing = with_cert.replace(&cert.display().to_string(), "/nonexistent/client.crt");
    let output = report_over(dir.path(), home.path(), &missing, &[]);
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("/nonexistent/client.crt (sslcert)"), "{said}");
}
