//! Tests of whole ingests ([`ingest`]: reading the inputs, then recording them), and the report
//! files that the tests of the submodules share ([`PART_A`], [`PART_B`], [`write`]).

use std::path::Path;

use super::*;

pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

pub(super) const PART_A: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="a">
    <testcase classname="pkg.A" name="[sig-compute] one" time="0.5"/>
    <testcase classname="pkg.A" name="two"><failure message="boom">trace</failure></testcase>
    <testcase classname="pkg.A" name="dup"/>
    <testcase classname="pkg.A" name="dup"><skipped/></testcase>
  </testsuite>
</testsuites>
"#;

pub(super) const PART_B: &str = r#"<testsuite name="b">
  <testcase classname="pkg.A" name="one"><error message="crash"/></testcase>
  <testcase classname="pkg.A" name="two"/>
  <testcase classname="pkg.B" name="flaky"><flakyFailure message="first try"/></testcase>
  <testcase classname="" name="[QUARANTINE] three"/>
</testsuite>
"#;

#[test]
fn malformed_files_are_skipped_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.xml", PART_B);
    write(
        dir.path(),
        "bad.xml",
        "<testsuite name=\"s\">\n  <testcase name=\"a\"/>\n  <testcase name=\"b\">\n</testsuite>\n",
    );
    write(dir.path(), "empty/readme.md", "");
    let history_dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&history_dir.path().join("h.db")).unwrap();
    let run = RunInfo {
        lane: "periodic-e2e".to_owned(),
        kind: RunKind::Periodic,
        commit: "1a2b3c4".to_owned(),
        started_at: "2026-11-20T03:00:00Z".parse().unwrap(),
        at_given: true,
        run_id: None,
    };
    let inputs = [dir.path().to_path_buf(), dir.path().join("empty")];
    let report = ingest(&mut history, &inputs, &run).unwrap();
    assert_eq!(report.parsed.skipped.len(), 2);
    let bad = &report.parsed.skipped[0];
    assert!(bad.path.ends_with("bad.xml"));
    assert_eq!(bad.position, Some((4, 1)), "{bad}");
    assert!(
        bad.to_string().contains("bad.xml:4:1: malformed JUnit XML"),
        "{bad}"
    );
    assert!(report.parsed.skipped[1].path.ends_with("empty"));
    assert!(report.recorded.unwrap().is_new());
    assert_eq!(report.parsed.tally.tests, 4);
    // Again: nothing is recorded twice.
    let again = ingest(&mut history, &inputs, &run).unwrap();
    assert!(!again.recorded.unwrap().is_new());
    assert_eq!(history.runs(None).unwrap().len(), 1);
    let tests = history.tests().unwrap();
    let names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
    assert_eq!(
        names,
        ["b::three", "pkg.A::one", "pkg.A::two", "pkg.B::flaky"]
    );
}

#[test]
fn inputs_that_do_not_exist_or_hold_nothing_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    let run = RunInfo {
        lane: "l".to_owned(),
        kind: RunKind::Local,
        commit: "unknown".to_owned(),
        started_at: Timestamp::now(),
        at_given: true,
        run_id: None,
    };
    let missing = ingest(&mut history, &[dir.path().join("nope")], &run).unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
    std::fs::create_dir(dir.path().join("none")).unwrap();
    let none = ingest(&mut history, &[dir.path().join("none")], &run).unwrap_err();
    assert!(matches!(none, IngestError::NoFiles { .. }), "{none}");
    write(dir.path(), "only/bad.xml", "<html/>");
    let bad = ingest(&mut history, &[dir.path().join("only")], &run).unwrap_err();
    assert!(
        matches!(&bad, IngestError::NothingRead { skipped } if skipped.len() == 1),
        "{bad}"
    );
    assert!(bad.to_string().contains("bad.xml:1:1"), "{bad}");
    assert!(history.runs(None).unwrap().is_empty());
}
