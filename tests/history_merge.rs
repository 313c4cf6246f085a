//! `coalmine history merge INTO FROM...`: per-machine histories merged into one, the run
//! identity deciding what is the same run; merging twice adds nothing; a failure leaves INTO
//! byte for byte as it was.

mod common;

use std::path::Path;
use std::process::Output;

use coalmine::history::{History, NewResult, NewRun, RunKind};
use coalmine::results::Outcome;
use jiff::Timestamp;

fn coalmine(dir: &Path, args: &[&str]) -> Output {
    common::coalmine_in(dir, args)
}

fn ingest(dir: &Path, history: &str, commit: &str, file: &str) {
    let output = coalmine(
        dir,
        &[
            "ingest",
            "--history",
            history,
            "--lane",
            "e2e",
            "--kind",
            "periodic",
            "--commit",
            commit,
            file,
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn result(test: &str, outcome: Outcome) -> NewResult {
    NewResult {
        test: test.to_owned(),
        tags: None,
        outcome,
        duration_secs: Some(0.5),
        attempt: 1,
        message: None,
    }
}

/// One shard of the sharded canary run `shared:run-7`, at `commit`: the canaries this machine
/// ran.
fn shard(path: &Path, commit: &str, canaries: &[(&str, Outcome)]) {
    let mut history = History::open(path).unwrap();
    let run = NewRun {
        lane: "canaries".to_owned(),
        kind: RunKind::Periodic,
        commit: commit.to_owned(),
        started_at: Timestamp::from_second(1_790_000_000).unwrap(),
        source: "coalmine harness".to_owned(),
        ingest_key: Some("shared:run-7".to_owned()),
    };
    let results: Vec<NewResult> = canaries
        .iter()
        .map(|(name, outcome)| result(&format!("canary::{name}"), *outcome))
        .collect();
    history.append_to_run(&run, &results).unwrap();
}

fn runs(path: &Path) -> Vec<(String, String, usize)> {
    History::open(path)
        .unwrap()
        .run_summaries(None)
        .unwrap()
        .into_iter()
        .map(|summary| {
            (
                summary.run.lane,
                summary.run.commit,
                summary.counts.total as usize,
            )
        })
        .collect()
}

#[test]
fn shards_and_jobs_merge_into_one_history_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("a.xml"),
        "<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"a\"/></testsuite>",
    )
    .unwrap();
    // Two machines: each ingested a run (identical reports of two commits) and ran one shard.
    ingest(root, "one.db", "c1", "a.xml");
    ingest(root, "two.db", "c2", "a.xml");
    shard(
        &root.join("one.db"),
        "c1",
        &[("good-simple", Outcome::Pass)],
    );
    shard(
        &root.join("two.db"),
        "c1",
        &[
            ("bad-install", Outcome::Pass),
            ("bad-upgrade", Outcome::Fail),
        ],
    );
    History::open(&root.join("two.db"))
        .unwrap()
        .record_fix(
            "pkg::a",
            "c2",
            Timestamp::from_second(1_790_000_100).unwrap(),
        )
        .unwrap();

    let merged = coalmine(root, &["history", "merge", "all.db", "one.db", "two.db"]);
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let said = String::from_utf8_lossy(&merged.stdout);
    assert!(
        said.contains("3 run(s) added, 1 run(s) given results they lacked, 0 run(s) it had already; 5 result(s) in 4 batch(es) added; 1 fix(es) read"),
        "{said}"
    );
    let mut all = runs(&root.join("all.db"));
    all.sort();
    assert_eq!(
        all,
        [
            ("canaries".to_owned(), "c1".to_owned(), 3),
            ("e2e".to_owned(), "c1".to_owned(), 1),
            ("e2e".to_owned(), "c2".to_owned(), 1),
        ],
        "the two shards are one run"
    );
    let history = History::open(&root.join("all.db")).unwrap();
    assert_eq!(history.fixes().unwrap().len(), 1);
    // The ingested file is known: ingesting it again as the c1 run records nothing.
    drop(history);
    let again = coalmine(
        root,
        &[
            "ingest",
            "--history",
            "all.db",
            "--lane",
            "e2e",
            "--kind",
            "periodic",
            "--commit",
            "c1",
            "a.xml",
        ],
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("already recorded"));

    // Merging the same histories again adds nothing.
    let twice = coalmine(root, &["history", "merge", "all.db", "one.db", "two.db"]);
    assert!(twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stdout)
            .contains("0 run(s) added, 0 run(s) given results they lacked, 4 run(s) it had already; 0 result(s)"),
        "{}",
        String::from_utf8_lossy(&twice.stdout)
    );
    assert_eq!(runs(&root.join("all.db")).len(), 3);
}

#[test]
fn a_failed_merge_leaves_into_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("a.xml"),
        "<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"a\"/></testsuite>",
    )
    .unwrap();
    ingest(root, "into.db", "c1", "a.xml");
    ingest(root, "good.db", "c2", "a.xml");
    std::fs::write(root.join("notes.db"), "not a database at all, just text\n").unwrap();
    let before = std::fs::read(root.join("into.db")).unwrap();
    let failed = coalmine(
        root,
        &["history", "merge", "into.db", "good.db", "notes.db"],
    );
    assert_eq!(failed.status.code(), Some(1));
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(said.contains("notes.db"), "{said}");
    assert_eq!(std::fs::read(root.join("into.db")).unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("merging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Into itself: refused.
    let itself = coalmine(root, &["history", "merge", "into.db", "into.db"]);
    assert_eq!(itself.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&itself.stderr).contains("is the history merged into"));
}

/// Shards that give their shared run two commits (one `COALMINE_HISTORY_RUN` reused for
/// another commit) are not merged into one run: the merge fails naming both, INTO as it was.
#[test]
fn shards_of_one_run_at_two_commits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    shard(
        &root.join("one.db"),
        "c1",
        &[("good-simple", Outcome::Pass)],
    );
    shard(
        &root.join("two.db"),
        "c2",
        &[("bad-install", Outcome::Pass)],
    );
    shard(
        &root.join("into.db"),
        "c1",
        &[("bad-upgrade", Outcome::Fail)],
    );
    let before = std::fs::read(root.join("into.db")).unwrap();
    let failed = coalmine(root, &["history", "merge", "into.db", "one.db", "two.db"]);
    assert_eq!(failed.status.code(), Some(1));
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(
        said.contains("the run shared:run-7 was recorded with commit c1, not c2"),
        "{said}"
    );
    assert_eq!(std::fs::read(root.join("into.db")).unwrap(), before);
}

/// A history merged again after INTO's later runs changed a test's tags, or whose results hold
/// a NUL character, adds nothing: a stored batch is known again by what was recorded, not by
/// the test's tags of today. (Into a server, where NUL is stored as U+FFFD, in
/// `history_merge_postgres.rs`.)
#[test]
fn merging_again_after_tags_changed_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (from, into) = (dir.path().join("from.db"), dir.path().join("into.db"));
    let at = Timestamp::from_second(1_790_000_000).unwrap();
    let run = |key: &str, at: Timestamp| NewRun {
        lane: "e2e".to_owned(),
        kind: RunKind::Periodic,
        commit: "c1".to_owned(),
        started_at: at,
        source: "test".to_owned(),
        ingest_key: Some(key.to_owned()),
    };
    let tagged = |tags: &[&str], message: Option<&str>| NewResult {
        tags: Some(tags.iter().map(|tag| tag.to_string()).collect()),
        message: message.map(str::to_owned),
        ..result("pkg::t", Outcome::Fail)
    };
    History::open(&from)
        .unwrap()
        .record_run(&run("a", at), &[tagged(&["sig-a"], Some("boom\0here"))])
        .unwrap();
    let merge = || {
        let text = common::succeeded(coalmine(
            dir.path(),
            &[
                "history",
                "merge",
                &into.display().to_string(),
                &from.display().to_string(),
            ],
        ));
        runs(&into)
            .iter()
            .map(|(_, _, n)| n)
            .sum::<usize>()
            .to_string()
            + " "
            + &text
    };
    assert!(merge().starts_with("1 "));
    // A later run in INTO gives the test other tags: every stored result now shows those.
    History::open(&into)
        .unwrap()
        .record_run(
            &run("b", at + jiff::SignedDuration::from_hours(1)),
            &[tagged(&["sig-b"], None)],
        )
        .unwrap();
    let again = merge();
    assert!(
        again.starts_with("2 "),
        "the batch was added again: {again}"
    );
}
