//! One test, one id: a canary that runs real cargo-nextest (the `nextest-green` canary of
//! this project, over `fixtures/nextest-project`) records the tests of nextest's JUnit report
//! under exactly the ids that `coalmine ingest` gives the same report, so that the history
//! has one record per test, whichever way its outcomes came in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use coalmine::history::History;

mod common;

fn nextest_available() -> bool {
    let available = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
            "cargo-nextest is not installed and COALMINE_REQUIRE_ALL is set"
        );
        eprintln!("SKIPPED: cargo-nextest is not installed; .ci/run installs it");
    }
    available
}

/// The test ids the history holds for run `run_id`, other than the canary's own.
fn ids_of_run(history: &History, run_id: i64) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    history
        .for_each_result(None, |row| {
            if row.run_id == run_id && !row.test.starts_with("canary::") {
                ids.insert(row.test.clone());
            }
        })
        .unwrap();
    ids
}

fn junit_under(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let candidate = entry.path().join("project/target/nextest/ci/junit.xml");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    None
}

#[test]
fn a_canarys_named_tests_and_the_ingest_of_its_report_meet_in_one_id() {
    if !nextest_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let history_path = dir.path().join("history.db");
    // The project's nextest profile, with this test's own artifact folder and history.
    let config = dir.path().join("harness.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.nextest]\ncommand = [{ci:?}, \"{{rev}}\", \"{{artifacts}}\"]\n\
             results = \"{{artifacts}}/project/target/nextest/ci/junit.xml\"\nformat = \"junit\"\n\
             stages = {{ field = \"suite\", pattern = \"::(\\\\w+)$\" }}\ntimeout = \"5m\"\n\n\
             [run]\nartifacts = {runs:?}\n\n[history]\npath = {history:?}\nlane = \"canaries\"\n",
            ci = root
                .join("fixtures/nextest-project/ci.sh")
                .display()
                .to_string(),
            runs = dir.path().join("runs").display().to_string(),
            history = history_path.display().to_string(),
        ),
    )
    .unwrap();
    let canary = common::regression_with(&config, &["--exact", "canary::nextest-green"])
        .env_remove("COALMINE_HISTORY")
        .output()
        .unwrap();
    assert!(
        canary.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&canary.stdout),
        String::from_utf8_lossy(&canary.stderr)
    );
    let junit = junit_under(&dir.path().join("runs")).expect("nextest wrote its JUnit report");
    let mut ingest = Command::new(env!("CARGO_BIN_EXE_coalmine"));
    ingest
        .args(["ingest", "--history"])
        .arg(&history_path)
        .args(["--lane", "ingested", "--kind", "periodic", "--commit", "c1"])
        .arg(&junit)
        .env_remove("COALMINE_CONFIG");
    for name in coalmine::ingest::identity::variables() {
        ingest.env_remove(name);
    }
    let ingested = ingest.output().unwrap();
    assert!(
        ingested.status.success(),
        "{}",
        String::from_utf8_lossy(&ingested.stderr)
    );

    let history = History::open(&history_path).unwrap();
    let runs = history.runs(None).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let from_canary = ids_of_run(&history, runs[0].id);
    let from_ingest = ids_of_run(&history, runs[1].id);
    assert!(!from_canary.is_empty());
    assert_eq!(from_canary, from_ingest);
    // Each id is nextest's own for the test: `<binary id>::<test path>`, as its report gives
    // them (`classname` and `name`), with nothing put in front.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let nextest_ids: BTreeSet<String> = xml
        .split("<testcase ")
        .skip(1)
        .map(|tag| {
            let attribute = |key: &str| {
                let start = tag.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
                tag[start..start + tag[start..].find('"').unwrap()].to_owned()
            };
            format!("{}::{}", attribute("classname"), attribute("name"))
        })
        .collect();
    assert_eq!(from_ingest, nextest_ids);
    // One record per test: every test of the report is in the history once.
    let names: Vec<String> = history
        .tests()
        .unwrap()
        .into_iter()
        .map(|test| test.name)
        .collect();
    for id in &from_ingest {
        assert_eq!(names.iter().filter(|name| *name == id).count(), 1, "{id}");
    }
}
