//! The history commands of the `coalmine` binary, run as a user runs them, in temporary
//! folders with their own harness.toml: `ingest` (partial files of one run, a malformed file,
//! re-ingesting, tags), `quarantine plan` on a seeded history with a known answer, `apply`
//! (refusing without owners, then editing harness.toml and keeping its comments), `export` for
//! each runner, `fixed`, and the JSON shape of `report`.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use coalmine::config::Config;
use coalmine::history::History;
use serde_json::Value;

const NOW: &str = "2026-11-20T12:00:00Z";

/// The `coalmine` binary in `dir`, with no history or config from the environment.
fn coalmine(dir: &Path, args: &[&str]) -> Output {
    coalmine_with(dir, args, &[])
}

/// `coalmine` with `env` set, and none of the CI job variables a run id is read from (so
/// that these tests behave the same inside any CI).
fn coalmine_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = common::coalmine_command(dir, args);
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The harness.toml of the seeded project: a comment to keep, a history path, a batch due
/// today, one owner pattern, a quarantined test to release and one naming no test.
const HARNESS: &str = r#"# Team notes: keep this comment exactly as it is.
[ci]
command = ["true"] # a CI that does nothing
results = "{artifacts}/results.json"

[history]
path = "history.db"

[policy]
batch_anchor = "2026-11-20"

[owners]
"pkg.Suite::flaky_*" = "sig-network"

# Released soon.
[[quarantine]]
test = "pkg.Suite::old_flaky"
owner = "sig-compute"
reason = "timeouts"
since = "2026-10-01"
stable_by = "2026-11-01"

[[quarantine]]
test = "pkg.Suite::gone"
owner = "sig-compute"
since = "2026-10-01"
"#;

fn testcase(classname: &str, name: &str, run: usize, failed: bool) -> String {
    let body = if failed {
        "<failure message=\"boom\">trace</failure>"
    } else {
        ""
    };
    format!(
        "    <testcase classname=\"{classname}\" name=\"{name}\" time=\"0.{run:03}\">{body}</testcase>\n"
    )
}

/// 20 periodic runs 12 hours apart, the newest an hour before [`NOW`], each ingested from two
/// partial files:
/// - `pkg.Suite::flaky_now` (`[sig-compute]`, `[release-blocker]`) fails in the two newest runs:
///   2 of 6 in the last 3 days, to quarantine now;
/// - `pkg.Suite::flaky_batch` (owner by `[owners]`) fails in 2 of 20, none in 3 days: batch;
/// - `other.Thing::orphan_test` fails in 2 of 20 and has no owner;
/// - `pkg.Suite::old_flaky`, quarantined, always passes: released;
/// - two stable tests, one marked `[QUARANTINE]` in its name.
fn seed(dir: &Path) {
    write(&dir.join("harness.toml"), HARNESS);
    for run in 0..20usize {
        let folder = dir.join(format!("runs/r{run:02}"));
        let mut a =
            String::from("<?xml version=\"1.0\"?>\n<testsuites>\n  <testsuite name=\"a\">\n");
        a += &testcase("pkg.Suite", "[sig-compute] stable_1", run, false);
        a += &testcase(
            "pkg.Suite",
            "[QUARANTINE] [sig-compute] stable_2",
            run,
            false,
        );
        a += &testcase(
            "pkg.Suite",
            "[sig-compute][release-blocker] flaky_now",
            run,
            run < 2,
        );
        a += &testcase("pkg.Suite", "old_flaky", run, false);
        a += "  </testsuite>\n</testsuites>\n";
        let mut b = String::from("<testsuite name=\"b\">\n");
        b += &testcase(
            "pkg.Suite",
            "flaky_batch [test_id:42]",
            run,
            run == 10 || run == 15,
        );
        b += &testcase("other.Thing", "orphan_test", run, run == 12 || run == 13);
        b += "</testsuite>\n";
        write(&folder.join("a.xml"), &a);
        write(&folder.join("b.xml"), &b);
        let at = jiff::Timestamp::from_second(
            NOW.parse::<jiff::Timestamp>().unwrap().as_second() - 3600 * (1 + 12 * run as i64),
        )
        .unwrap()
        .to_string();
        let output = coalmine(
            dir,
            &[
                "ingest",
                "--lane",
                "periodic-e2e-sig-compute",
                "--kind",
                "periodic",
                "--commit",
                &format!("c{run:07}"),
                "--at",
                &at,
                folder.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    }
}

fn json(output: &Output) -> Value {
    assert_eq!(code(output), 0, "{}", stderr(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn tests_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["test"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&coalmine(dir.path(), &["--help"]));
    for line in [
        "0  done",
        "1  failed",
        "2  the command line was wrong",
        "3  done, but some inputs were skipped",
    ] {
        assert!(help.contains(line), "{help}");
    }
    for command in ["ingest", "report", "quarantine"] {
        assert!(help.contains(command), "{help}");
    }
}

const PART_A: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="pytest tests">
  <testsuite name="unit">
    <testsuite name="nested">
      <testcase classname="pkg.Vm" name="[sig-compute] starts [release-blocker] [test_id:1234]" time="1.5"/>
      <testcase classname="pkg.Vm" name="[QUARANTINE] migrates"><failure message="timeout">stack</failure></testcase>
      <testcase classname="pkg.Vm" name="stops"/>
      <testcase classname="pkg.Vm" name="skips"><skipped message="not here"/></testcase>
    </testsuite>
  </testsuite>
</testsuites>
"#;

const PART_B: &str = r#"<testsuite name="rerun">
  <testcase classname="pkg.Vm" name="stops"><error message="crash"/></testcase>
  <testcase classname="pkg.Vm" name="migrates"/>
  <testcase classname="pkg.Net" name="dns"><flakyFailure message="first try"/></testcase>
  <testcase classname="" name="suite_level"/>
</testsuite>
"#;

#[test]
fn ingest_merges_partial_files_skips_a_malformed_one_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("harness.toml"), HARNESS);
    write(&root.join("junit/a.xml"), PART_A);
    write(&root.join("junit/shard2/b.xml"), PART_B);
    write(
        &root.join("junit/shard3/c.xml"),
        "<testsuite name=\"c\">\n  <testcase name=\"x\">\n</testsuite>\n",
    );
    write(&root.join("junit/notes.txt"), "not a report");
    let args = [
        "ingest",
        "--lane",
        "periodic-e2e-sig-compute",
        "--kind",
        "periodic",
        "--commit",
        "1a2b3c4d",
        "--at",
        "2026-11-20T03:00Z",
        "junit",
    ];
    let output = coalmine(root, &args);
    assert_eq!(code(&output), 3, "{}{}", stdout(&output), stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("junit/shard3/c.xml:3:1: malformed JUnit XML"),
        "{err}"
    );
    let out = stdout(&output);
    assert!(
        out.contains("read 2 file(s), skipped 1: 8 testcase(s)"),
        "{out}"
    );
    assert!(out.contains("recorded run 1 into"), "{out}");
    assert!(out.contains("at 2026-11-20T03:00:00Z"), "{out}");
    // migrates: failure wins over the rerun's pass; stops: the error wins over the pass.
    assert!(
        out.contains(
            "tests in the files read: 3 passed (1 only on a retry), 1 failed, 1 errored, 1 skipped"
        ),
        "{out}"
    );

    let history = History::open(&root.join("history.db")).unwrap();
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run.lane, "periodic-e2e-sig-compute");
    assert_eq!(runs[0].run.commit, "1a2b3c4d");
    assert_eq!(runs[0].counts.total, 6);
    let tests = history.tests().unwrap();
    let names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "pkg.Net::dns",
            "pkg.Vm::migrates",
            "pkg.Vm::skips",
            "pkg.Vm::starts",
            "pkg.Vm::stops",
            "rerun::suite_level",
        ]
    );
    let starts = tests
        .iter()
        .find(|test| test.name == "pkg.Vm::starts")
        .unwrap();
    assert_eq!(
        starts.tags,
        ["release-blocker", "sig-compute", "test_id:1234"]
    );
    assert_eq!(starts.attribute("test_id"), Some("1234"));
    let mut outcomes = Vec::new();
    history
        .for_each_result(None, |row| {
            outcomes.push((
                row.test.clone(),
                row.outcome.as_str().to_owned(),
                row.message.clone(),
            ))
        })
        .unwrap();
    let migrates = outcomes
        .iter()
        .find(|row| row.0 == "pkg.Vm::migrates")
        .unwrap();
    assert_eq!(
        (migrates.1.as_str(), migrates.2.as_deref()),
        ("fail", Some("timeout"))
    );
    drop(history);

    // Again, from another folder name and with the files in another order: nothing new.
    std::fs::rename(root.join("junit"), root.join("copy")).unwrap();
    let mut again = args.to_vec();
    again[9] = "copy/shard2/b.xml";
    again.push("copy/a.xml");
    let output = coalmine(root, &again);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("already recorded as run 1"),
        "{}",
        stdout(&output)
    );
    let history = History::open(&root.join("history.db")).unwrap();
    assert_eq!(history.runs(None).unwrap().len(), 1);
    let mut rows = 0;
    history.for_each_result(None, |_| rows += 1).unwrap();
    assert_eq!(rows, 6);
    drop(history);

    // The malformed file, fixed, completes run 1 when the folder is ingested again: the files
    // recorded are recognised, and the fixed one's failure wins over run 1's skip.
    assert!(err.contains("run the same command again"), "{err}");
    write(
        &root.join("copy/shard3/c.xml"),
        "<testsuite name=\"c\">\n  <testcase name=\"x\"/>\n  <testcase classname=\"pkg.Vm\" \
         name=\"skips\"><failure message=\"late\"/></testcase>\n</testsuite>\n",
    );
    let mut fixed = args.to_vec();
    fixed[9] = "copy";
    let output = coalmine(root, &fixed);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("completed run 1 in") && out.contains("it now has 7 result(s)"),
        "{out}"
    );
    let output = coalmine(root, &fixed);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("already recorded as run 1"));
    let history = History::open(&root.join("history.db")).unwrap();
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 1, "not counted twice");
    assert_eq!(
        (
            runs[0].counts.total,
            runs[0].counts.failed,
            runs[0].counts.skipped
        ),
        (7, 2, 0)
    );
    let mut outcomes = Vec::new();
    history
        .for_each_result(None, |row| {
            outcomes.push((row.test.clone(), row.outcome.as_str().to_owned()))
        })
        .unwrap();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            ("c::x", "pass"),
            ("pkg.Net::dns", "flaky-pass"),
            ("pkg.Vm::migrates", "fail"),
            ("pkg.Vm::skips", "fail"),
            ("pkg.Vm::starts", "pass"),
            ("pkg.Vm::stops", "error"),
            ("rerun::suite_level", "pass"),
        ]
        .map(|(test, outcome)| (test.to_owned(), outcome.to_owned()))
    );
    let starts = history.tests().unwrap();
    let starts = starts
        .iter()
        .find(|test| test.name == "pkg.Vm::starts")
        .unwrap();
    assert_eq!(
        starts.tags,
        ["release-blocker", "sig-compute", "test_id:1234"],
        "completing the run keeps the tags"
    );
}

#[test]
fn ingest_refuses_bad_inputs_and_bad_command_lines() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let base = [
        "ingest", "--lane", "l", "--kind", "periodic", "--commit", "c",
    ];
    let mut missing = base.to_vec();
    missing.push("nowhere");
    let output = coalmine(root, &missing);
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("nowhere"), "{}", stderr(&output));
    assert!(!root.join(".coalmine").exists(), "no history is created");

    write(&root.join("only/bad.xml"), "<html/>");
    let mut bad = base.to_vec();
    bad.push("only");
    let output = coalmine(root, &bad);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("only/bad.xml:1:1"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("nothing was recorded"),
        "{}",
        stderr(&output)
    );

    let mut bad_time = base.to_vec();
    bad_time.extend(["--at", "yesterday", "only"]);
    let output = coalmine(root, &bad_time);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("is not a time"),
        "{}",
        stderr(&output)
    );
    let output = coalmine(
        root,
        &[
            "ingest", "--lane", "l", "--kind", "nightly", "--commit", "c", "x",
        ],
    );
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("periodic, presubmit, merged, local"));

    // Without harness.toml, the history goes to .coalmine/history.db here.
    write(&root.join("ok/a.xml"), PART_B);
    let mut ok = base.to_vec();
    ok.push("ok");
    let output = coalmine(root, &ok);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(root.join(".coalmine/history.db").is_file());
}

#[test]
fn plan_apply_export_on_a_seeded_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);

    // A candidate without an owner: the plan is printed whole, and the exit code is 1.
    let output = coalmine(
        root,
        &["quarantine", "plan", "--format", "json", "--now", NOW],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("1 candidate(s) have no owner"),
        "{}",
        stderr(&output)
    );
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(tests_of(&plan["quarantine_now"]), ["pkg.Suite::flaky_now"]);
    assert_eq!(plan["quarantine_now"][0]["owner"], "sig-compute");
    assert_eq!(plan["quarantine_now"][0]["failed"], 2);
    assert_eq!(plan["quarantine_now"][0]["passed"], 4);
    assert_eq!(
        tests_of(&plan["next_batch"]),
        ["other.Thing::orphan_test", "pkg.Suite::flaky_batch"]
    );
    assert_eq!(plan["next_batch"][1]["owner"], "sig-network");
    assert_eq!(plan["batch"]["date"], "2026-11-20");
    assert_eq!(plan["batch"]["in_grace"], true);
    assert_eq!(
        plan["missing_owner"],
        serde_json::json!(["other.Thing::orphan_test"])
    );
    assert_eq!(tests_of(&plan["release"]), ["pkg.Suite::old_flaky"]);
    assert_eq!(
        plan["unknown_quarantine_entries"],
        serde_json::json!(["pkg.Suite::gone"])
    );
    let escalation = &plan["escalations"][0];
    assert_eq!(escalation["test"], "pkg.Suite::flaky_now");
    assert_eq!(escalation["owner"], "sig-compute");
    assert!(
        escalation["body"]
            .as_str()
            .unwrap()
            .contains("/release-blocker main")
    );
    assert_eq!(plan["lanes"][0]["lane"], "periodic-e2e-sig-compute");

    // The text form names the error with the test.
    let text = stdout(&coalmine(root, &["quarantine", "plan", "--now", NOW]));
    assert!(
        text.contains("error: `other.Thing::orphan_test` must be quarantined but has no owner"),
        "{text}"
    );

    // A candidate without an owner: apply refuses and writes nothing.
    let output = coalmine(
        root,
        &["quarantine", "apply", "--now", NOW, "--pr-body", "pr.md"],
    );
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(
        stderr(&output).contains("`other.Thing::orphan_test` must be quarantined but has no owner"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("nothing was written"));
    assert_eq!(
        std::fs::read_to_string(root.join("harness.toml")).unwrap(),
        HARNESS
    );
    assert!(!root.join("pr.md").exists());

    // With an owner for it, apply writes the entries and keeps the rest of the file.
    let owned = HARNESS.replace(
        "\"pkg.Suite::flaky_*\" = \"sig-network\"\n",
        "\"pkg.Suite::flaky_*\" = \"sig-network\"\n\"other.Thing::*\" = \"sig-storage\"\n",
    );
    write(&root.join("harness.toml"), &owned);
    let markdown = stdout(&coalmine(
        root,
        &["quarantine", "plan", "--format", "md", "--now", NOW],
    ));
    let output = coalmine(
        root,
        &["quarantine", "apply", "--now", NOW, "--pr-body", "pr.md"],
    );
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output).contains("3 added, 1 removed"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("pr.md")).unwrap(),
        markdown
    );
    let edited = std::fs::read_to_string(root.join("harness.toml")).unwrap();
    let kept = &owned[..owned.find("# Released soon.").unwrap()];
    assert!(edited.starts_with(kept), "{edited}");
    assert!(edited.contains("# Team notes: keep this comment exactly as it is.\n[ci]\ncommand = [\"true\"] # a CI that does nothing\n"));
    assert!(!edited.contains("old_flaky"), "{edited}");
    let config = Config::load(&root.join("harness.toml")).unwrap();
    let entries: Vec<(&str, &str)> = config
        .quarantine
        .quarantine
        .iter()
        .map(|entry| (entry.test.as_str(), entry.owner.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("pkg.Suite::gone", "sig-compute"),
            ("pkg.Suite::flaky_now", "sig-compute"),
            ("other.Thing::orphan_test", "sig-storage"),
            ("pkg.Suite::flaky_batch", "sig-network"),
        ]
    );
    let now_entry = &config.quarantine.quarantine[1];
    assert_eq!(now_entry.since.to_string(), "2026-11-20");
    assert_eq!(now_entry.stable_by, None);
    assert!(
        now_entry
            .reason
            .starts_with("immediate: failed 2 of 6 execution(s) (33.33 %)"),
        "{}",
        now_entry.reason
    );
    assert!(
        config.quarantine.quarantine[2]
            .reason
            .starts_with("batch: failed 2 of 20")
    );

    // A second apply changes nothing.
    let output = coalmine(root, &["quarantine", "apply", "--now", NOW]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("nothing to change"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("harness.toml")).unwrap(),
        edited
    );

    // Export for each runner.
    let export = |runner: &str| {
        let output = coalmine(root, &["quarantine", "export", "--for", runner]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        stdout(&output)
    };
    // nextest: binary_id terms only for the binaries the workspace has (here pkg.Suite).
    write(
        &root.join("binaries.json"),
        "{\"rust-binaries\": {\"pkg.Suite\": {\"binary-id\": \"pkg.Suite\"}}}",
    );
    let nextest = coalmine(
        root,
        &[
            "quarantine",
            "export",
            "--for",
            "nextest",
            "--binaries",
            "binaries.json",
        ],
    );
    assert_eq!(code(&nextest), 0, "{}", stderr(&nextest));
    assert_eq!(
        stdout(&nextest),
        "not (test(=other.Thing::orphan_test) | \
         test(=pkg.Suite::flaky_batch) | (binary_id(=pkg.Suite) & test(=flaky_batch)) | \
         test(=pkg.Suite::flaky_now) | (binary_id(=pkg.Suite) & test(=flaky_now)) | \
         test(=pkg.Suite::gone) | (binary_id(=pkg.Suite) & test(=gone)))\n"
    );
    assert!(
        stderr(&nextest).contains("other.Thing::orphan_test: no test binary of this workspace"),
        "{}",
        stderr(&nextest)
    );
    assert_eq!(
        export("pytest"),
        "--deselect=other.py::Thing::orphan_test\n--deselect=pkg.py::Suite::flaky_batch\n\
         --deselect=pkg.py::Suite::flaky_now\n--deselect=pkg.py::Suite::gone\n"
    );
    let spec = |suite: &str, name: &str| {
        let edge = r"(?:\s|\[[^\]]*\])*";
        format!(r"(?:^{edge}{suite}(?:\s|\[[^\]]*\])+{name}{edge}$)")
    };
    assert_eq!(
        export("ginkgo"),
        format!(
            "{}|{}|{}|{}\n",
            spec(r"other\.Thing", "orphan_test"),
            spec(r"pkg\.Suite", "flaky_batch"),
            spec(r"pkg\.Suite", "flaky_now"),
            spec(r"pkg\.Suite", "gone")
        )
    );
    assert_eq!(
        export("go"),
        "^orphan_test$|^flaky_batch$|^flaky_now$|^gone$\n"
    );
    assert_eq!(
        export("regex"),
        "^(?:other\\.Thing::orphan_test|pkg\\.Suite::flaky_batch|pkg\\.Suite::flaky_now|pkg\\.Suite::gone)$\n"
    );
    let output = coalmine(root, &["quarantine", "export", "--for", "junit"]);
    assert_eq!(code(&output), 2);
}

#[test]
fn report_json_has_its_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);
    let report = json(&coalmine(
        root,
        &["report", "--format", "json", "--now", NOW],
    ));
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "broken",
            "counts",
            "flakiest",
            "lanes",
            "now",
            "preset",
            "quarantined",
            "stability"
        ]
    );
    assert_eq!(report["broken"], serde_json::json!([]));
    assert_eq!(report["now"], NOW);
    assert_eq!(report["preset"], "kubevirt");
    assert_eq!(report["quarantined"], 2);
    assert_eq!(report["flakiest"]["window_days"], 14);
    assert_eq!(report["flakiest"]["more"], 0);
    let flaky = &report["flakiest"]["tests"];
    assert_eq!(
        tests_of(flaky),
        [
            "other.Thing::orphan_test",
            "pkg.Suite::flaky_batch",
            "pkg.Suite::flaky_now"
        ]
    );
    let first = &flaky[0];
    assert_eq!(first["owner"], Value::Null);
    assert_eq!(first["status"], "next-batch");
    assert_eq!(first["rate"], 0.1);
    assert_eq!(first["failed"], 2);
    assert_eq!(first["executions"], 20);
    assert_eq!(first["runs"], 20);
    // One run per commit: never passed and failed on one.
    assert_eq!(
        (&first["flipped_commits"], &first["commits"]),
        (&0.into(), &20.into())
    );
    assert_eq!(flaky[2]["status"], "quarantine-now");
    assert_eq!(flaky[2]["owner"], "sig-compute");
    let stability = &report["stability"];
    assert_eq!(stability["goal"], 0.9);
    assert_eq!(stability["measured"], 0.7);
    assert_eq!(stability["measured_runs"], 20);
    assert_eq!(stability["projected_after_plan"], 1.0);
    assert_eq!(stability["projected_met"], false);
    let lane = &report["lanes"][0];
    assert_eq!(lane["lane"], "periodic-e2e-sig-compute");
    assert_eq!(lane["runs"], 14);
    assert_eq!(lane["failed_runs"], 5);
    assert_eq!(lane["distinct_failing_tests"], 3);
    assert_eq!(report["counts"]["runs"], 20);
    assert_eq!(report["counts"]["tests"], 6);

    // The other forms print the same figures.
    let text = stdout(&coalmine(root, &["report", "--now", NOW]));
    assert!(
        text.contains("pkg.Suite::flaky_now      sig-compute  quarantine-now  10 %  2/20"),
        "{text}"
    );
    assert!(
        text.contains("measured 70 % of 20 trusted runs passed (misses the goal)"),
        "{text}"
    );
    assert!(
        text.contains("leave out quarantined tests: a quarantined test fails nobody's change"),
        "{text}"
    );
    let markdown = stdout(&coalmine(root, &["report", "--format", "md", "--now", NOW]));
    assert!(
        markdown.contains(
            "| `pkg.Suite::flaky_now` | sig-compute | quarantine-now | 10 % | 2/20 | 20 | 0/20 |"
        ),
        "{markdown}"
    );
}

#[test]
fn fixed_refuses_unknown_tests_and_records_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);
    let output = coalmine(
        root,
        &[
            "quarantine",
            "fixed",
            "pkg.Suite::flaky_bach",
            "--commit",
            "abc1234",
        ],
    );
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert!(
        err.contains("no test `pkg.Suite::flaky_bach` in the history"),
        "{err}"
    );
    assert!(
        err.contains("the closest known names:\n  pkg.Suite::flaky_batch\n"),
        "{err}"
    );
    let history = History::open(&root.join("history.db")).unwrap();
    assert!(history.fixes().unwrap().is_empty());

    // Bracket tags in the name given are ignored.
    let output = coalmine(
        root,
        &[
            "quarantine",
            "fixed",
            "[sig-network] pkg.Suite::flaky_batch",
            "--commit",
            "abc1234",
            "--at",
            "2026-11-20T06:00Z",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let fixes = history.fixes().unwrap();
    assert_eq!(fixes.len(), 1);
    assert_eq!(fixes[0].test, "pkg.Suite::flaky_batch");
    assert_eq!(fixes[0].commit, "abc1234");
    assert_eq!(fixes[0].at.to_string(), "2026-11-20T06:00:00Z");
}

/// A small history whose plan, as a pull-request description, is compared whole.
#[test]
fn plan_markdown_of_a_small_case() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("harness.toml"),
        "[ci]\ncommand = [\"true\"]\nresults = \"{artifacts}/r.json\"\n\n[history]\npath = \"h.db\"\n\n\
         [[quarantine]]\ntest = \"pkg.Disk::resize\"\nowner = \"sig-storage\"\nsince = \"2026-10-01\"\n\
         stable_by = \"2026-11-01\"\n",
    );
    for run in 0..5usize {
        let mut xml = String::from("<testsuite name=\"e2e\">\n");
        xml += &testcase("pkg.Net", "[sig-network] dns resolves", run, run < 2);
        xml += &testcase("pkg.Disk", "resize", run, false);
        xml += "</testsuite>\n";
        let file = root.join(format!("r{run}.xml"));
        write(&file, &xml);
        let at = format!("2026-11-{:02}T10:00Z", 20 - run);
        let output = coalmine(
            root,
            &[
                "ingest",
                "--lane",
                "periodic-net",
                "--kind",
                "periodic",
                "--commit",
                "abcdef0",
                "--at",
                &at,
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    }
    let markdown = stdout(&coalmine(
        root,
        &["quarantine", "plan", "--format", "md", "--now", NOW],
    ));
    let mut expected = String::new();
    let _ = write!(
        expected,
        "## Quarantine update\n\
         \n\
         Computed by `coalmine quarantine plan` as of 2026-11-20T12:00:00Z (policy `kubevirt`): \
         1 quarantined now, 0 in the batch, 1 released.\n\
         \n\
         ### sig-network\n\
         \n\
         - [QUARANTINE] [sig-network] `pkg.Net::dns resolves`: quarantine now; failed 2 of 3 \
         execution(s) (66.67 %) in 3 trusted run(s) over the last 3 days: over 20 %; flipped on 1 of \
         1 commit(s)\n\
         \n\
         ### sig-storage\n\
         \n\
         - [sig-storage] `pkg.Disk::resize`: release from quarantine; no failure in 5 \
         execution(s) on periodic runs in the last 14 days, all after `stable_by` 2026-11-01\n\
         \n\
         ### Suite stability\n\
         \n\
         Over the last 14 days, goal 90 %: projected pass rate 60 % (100 % after this change); \
         measured 60 % over 5 runs.\n"
    );
    assert_eq!(markdown, expected);
}

#[test]
fn reading_commands_need_a_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("harness.toml"), HARNESS);
    for args in [
        &["report"][..],
        &["quarantine", "plan"],
        &["quarantine", "apply"],
        &["quarantine", "fixed", "x", "--commit", "abc1234"],
    ] {
        let output = coalmine(root, args);
        assert_eq!(code(&output), 1, "{args:?}");
        assert!(
            stderr(&output).contains("no history database at"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(!root.join("history.db").exists());
}

/// `ingest` of inputs that hold nothing to record fails without creating the history, so
/// that the reading commands still say there is none (rather than report on an empty one).
#[test]
fn ingest_creates_no_history_when_nothing_can_be_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("empty")).unwrap();
    write(
        &root.join("bad/a.xml"),
        "<testsuite>\n  <testcase name=\"x\">\n",
    );
    let base = [
        "ingest", "--lane", "l", "--kind", "periodic", "--commit", "c",
    ];
    for inputs in [&["empty"][..], &["bad"], &["empty", "bad"]] {
        let mut args = base.to_vec();
        args.extend(inputs);
        let output = coalmine(root, &args);
        assert_eq!(code(&output), 1, "{inputs:?}: {}", stderr(&output));
        assert!(
            !root.join(".coalmine").exists(),
            "{inputs:?}: a history was created"
        );
    }
    // Each problem is named, and an empty folder is not counted as a file.
    let err = stderr(&coalmine(root, &[&base[..], &["empty", "bad"]].concat()));
    assert!(err.contains("bad/a.xml:3:1: malformed JUnit XML"), "{err}");
    assert!(err.contains("empty: no *.xml file in this folder"), "{err}");
    assert!(!err.contains("none of the 2 file(s)"), "{err}");
    assert!(err.contains("nothing was recorded"), "{err}");
    let output = coalmine(root, &["report"]);
    assert!(
        stderr(&output).contains("no history database at"),
        "{}",
        stderr(&output)
    );
}

/// The same report ingested again under other run details records nothing: that is said,
/// with the details that differ, and the exit code is 3, not 0.
#[test]
fn the_same_report_under_other_run_details_is_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("r/a.xml"), PART_B);
    let ingest = |kind: &str, at: &str| {
        coalmine(
            root,
            &[
                "ingest", "--lane", "l", "--kind", kind, "--commit", "c", "--at", at, "r",
            ],
        )
    };
    let output = ingest("presubmit", "2026-11-20T03:00Z");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // Again, as it was: nothing written, nothing to warn about.
    let output = ingest("presubmit", "2026-11-20T03:00Z");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("already recorded as run 1"),
        "{}",
        stdout(&output)
    );
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    // As a periodic run at another time: another run, whose report is byte for byte the same.
    let output = ingest("periodic", "2026-11-21T03:00Z");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("recorded run 2"),
        "{}",
        stdout(&output)
    );
    let history = History::open(&root.join(".coalmine/history.db")).unwrap();
    let runs = history.runs(None).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].kind.as_str(), "presubmit");
    assert_eq!(runs[1].kind.as_str(), "periodic");
}

/// A well-formed report without any testcase records nothing: a warning, on standard error.
#[test]
fn ingest_warns_about_a_report_without_testcases() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("r/a.xml"),
        "<testsuite name=\"s\" tests=\"0\"/>\n",
    );
    let output = coalmine(
        root,
        &[
            "ingest", "--lane", "l", "--kind", "periodic", "--commit", "c", "r",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("warning: no testcase in the 1 file(s) read: nothing was recorded"),
        "{}",
        stderr(&output)
    );
}

/// A small project whose plan changes nothing: one stable test in one periodic run.
fn quiet_project(root: &Path) {
    write(
        &root.join("harness.toml"),
        "[ci]\ncommand = [\"true\"]\nresults = \"{artifacts}/r.json\"\n\n[history]\npath = \"h.db\"\n",
    );
    write(
        &root.join("r/a.xml"),
        "<testsuite name=\"s\"><testcase classname=\"pkg.A\" name=\"t\"/></testsuite>\n",
    );
    let output = coalmine(
        root,
        &[
            "ingest",
            "--lane",
            "l",
            "--kind",
            "periodic",
            "--commit",
            "c",
            "--at",
            "2026-11-20T03:00Z",
            "r",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
}

/// `--pr-body` naming harness.toml or the history would replace it with Markdown: refused.
#[test]
fn apply_refuses_a_pr_body_that_is_harness_toml_or_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    quiet_project(root);
    let harness = std::fs::read_to_string(root.join("harness.toml")).unwrap();
    let history = std::fs::read(root.join("h.db")).unwrap();
    std::os::unix::fs::symlink(root.join("harness.toml"), root.join("link.md")).unwrap();
    for body in ["harness.toml", "./h.db", "link.md", "h.db-wal"] {
        let output = coalmine(
            root,
            &["quarantine", "apply", "--now", NOW, "--pr-body", body],
        );
        assert_eq!(code(&output), 1, "{body}: {}", stdout(&output));
        assert!(
            stderr(&output).contains("the pull-request description would replace it"),
            "{body}: {}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read_to_string(root.join("harness.toml")).unwrap(),
            harness
        );
        assert_eq!(std::fs::read(root.join("h.db")).unwrap(), history);
    }
    let output = coalmine(
        root,
        &["quarantine", "apply", "--now", NOW, "--pr-body", "pr.md"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(root.join("pr.md").is_file());
}

fn harness_with_entries(root: &Path, tests: &[&str]) {
    let mut text = String::from("[ci]\ncommand = [\"true\"]\nresults = \"{artifacts}/r.json\"\n");
    for test in tests {
        let _ = write!(
            text,
            "\n[[quarantine]]\ntest = \"{test}\"\nowner = \"sig-x\"\nsince = \"2026-10-01\"\n"
        );
    }
    write(&root.join("harness.toml"), &text);
}

/// An entry with nothing after its `::` would make Ginkgo skip every spec and pytest deselect
/// every test of a file: export refuses it, naming its line, and prints nothing.
#[test]
fn export_refuses_entries_that_would_skip_everything() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    harness_with_entries(root, &["pkg.A::t", "Suite::"]);
    for runner in ["ginkgo", "pytest", "go"] {
        let output = coalmine(root, &["quarantine", "export", "--for", runner]);
        assert_eq!(code(&output), 1, "{runner}: {}", stdout(&output));
        assert_eq!(stdout(&output), "", "{runner}");
        let err = stderr(&output);
        assert!(
            err.contains("harness.toml:11:8: [[quarantine]] test = \"Suite::\": "),
            "{runner}: {err}"
        );
    }
    // nextest with the workspace's binaries as `cargo nextest list` gives them (none here).
    write(
        &root.join("binaries.json"),
        "{\"rust-build-meta\": {}, \"rust-binaries\": {}}",
    );
    let output = coalmine(
        root,
        &[
            "quarantine",
            "export",
            "--for",
            "nextest",
            "--binaries",
            "binaries.json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "not (test(=Suite::) | test(=pkg.A::t))\n");
    // Without them, and nowhere to ask nextest: a failure that says what to do.
    let output = coalmine(root, &["quarantine", "export", "--for", "nextest"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(
        stderr(&output).contains("give --binaries FILE"),
        "{}",
        stderr(&output)
    );
    // pytest deselects by prefix: a bare `test_api` would take all of test_api.py.
    harness_with_entries(root, &["test_api"]);
    let output = coalmine(root, &["quarantine", "export", "--for", "pytest"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(
        stderr(&output)
            .contains("harness.toml:6:8: [[quarantine]] test = \"test_api\": it has no `::`"),
        "{}",
        stderr(&output)
    );
    let output = coalmine(root, &["quarantine", "export", "--for", "regex"]);
    assert_eq!(stdout(&output), "^(?:test_api)$\n");
}

/// Ginkgo matches `--skip` anywhere in `<suite> <spec text>`: the exported regex matches the
/// quarantined spec (with the tags its id lost) and not specs whose text merely contains it.
#[test]
fn ginkgo_export_matches_only_the_quarantined_spec() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    harness_with_entries(root, &["Tests Suite::VM starts"]);
    let output = coalmine(root, &["quarantine", "export", "--for", "ginkgo"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let skip = regex::Regex::new(stdout(&output).trim()).unwrap();
    for spec in [
        "Tests Suite VM starts",
        "Tests Suite [sig-compute]VM starts",
        "Tests Suite VM [test_id:1]starts [Serial]",
    ] {
        assert!(skip.is_match(spec), "{spec}");
    }
    for spec in [
        "Tests Suite VM starts twice",
        "Tests Suite the VM starts after a migration",
        "Tests Suite old VM starts",
        "Other Suite VM starts",
    ] {
        assert!(!skip.is_match(spec), "{spec}");
    }
}

/// Without a trusted run in the stability window nothing was measured: neither the report
/// nor the plan says the goal is met.
#[test]
fn stability_without_trusted_runs_claims_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    quiet_project(root);
    let later = "2027-01-01T00:00:00Z";
    for args in [
        &["report", "--now", later][..],
        &["report", "--format", "md", "--now", later],
        &["quarantine", "plan", "--now", later],
        &["quarantine", "plan", "--format", "md", "--now", later],
    ] {
        let output = coalmine(root, args);
        assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
        let out = stdout(&output);
        assert!(!out.contains("meets"), "{args:?}: {out}");
        assert!(
            out.contains("nothing was measured or projected"),
            "{args:?}: {out}"
        );
    }
    // With the run in the window, the figures are there, against "at most 10 % fail".
    let text = stdout(&coalmine(root, &["report", "--now", NOW]));
    assert!(
        text.contains("(goal: at least 90 % of runs pass, i.e. at most 10 % fail)")
            && text.contains("projected 100 % (meets the goal)"),
        "{text}"
    );
}

/// Under the auto-quarantine preset there are no batches: the plan shows none, says which rule
/// quarantines at once, lane by lane, notes that every lane counts without `required_lanes`,
/// and defers all but the test with the most recent failures.
#[test]
fn auto_quarantine_plans_show_no_batch() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);
    // The seed's runs are periodic, one every 12 hours: count them, and look back further.
    let harness = std::fs::read_to_string(root.join("harness.toml")).unwrap();
    write(
        &root.join("harness.toml"),
        &harness.replace(
            "[policy]\n",
            "[policy]\npreset = \"auto-quarantine\"\ntrusted_kinds = [\"periodic\"]\n\
             max_failure_age_hours = 200\nmin_failure_interval_hours = 12\n",
        ),
    );
    let output = coalmine(root, &["quarantine", "plan", "--now", NOW]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(!text.contains("next batch"), "{text}");
    assert!(
        text.contains(
            "Quarantine now (auto-quarantine of at most 1 per plan, the most recent failures \
             first: on one lane, failed in at least 5 % of its runs in the last 14 days, and at \
             least 2 times in the last 200 hours, at least 12 hours apart):\n  TEST"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Note: per-lane rule: `required_lanes` is empty, so every lane of periodic runs counts"
        ),
        "{text}"
    );
    assert!(
        text.contains("lane periodic-e2e-sig-compute: 2 recent failures, 12 h apart"),
        "{text}"
    );
    assert!(
        text.contains("Deferred to a later run (auto-quarantine limit):"),
        "{text}"
    );
    let plan = json(&coalmine(
        root,
        &["quarantine", "plan", "--format", "json", "--now", NOW],
    ));
    assert_eq!(tests_of(&plan["quarantine_now"]), ["pkg.Suite::flaky_now"]);
    assert_eq!(
        tests_of(&plan["deferred"]),
        ["other.Thing::orphan_test", "pkg.Suite::flaky_batch"]
    );
    assert_eq!(plan["quarantine_now"][0]["rule"], "per-lane");
}

/// jest writes `name=""` for a test with an empty title: recorded under its suite, with a
/// warning that names the file.
#[test]
fn nameless_testcases_are_recorded_under_their_suite_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("harness.toml"), HARNESS);
    write(
        &root.join("junit/jest.xml"),
        "<testsuites><testsuite name=\"e2e/promise.test.ts\">\
         <testcase classname=\"\" name=\"\"/><testcase classname=\"\" name=\"resolves\"/>\
         </testsuite></testsuites>",
    );
    let output = coalmine(
        root,
        &[
            "ingest", "--lane", "l", "--kind", "periodic", "--commit", "c", "junit",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("1 testcase(s) in junit/jest.xml have no name"),
        "{err}"
    );
    let history = History::open(&root.join("history.db")).unwrap();
    let names: Vec<String> = history
        .tests()
        .unwrap()
        .into_iter()
        .map(|test| test.name)
        .collect();
    assert_eq!(
        names,
        [
            "e2e/promise.test.ts::(unnamed)",
            "e2e/promise.test.ts::resolves"
        ]
    );
}

#[test]
fn an_unreachable_history_server_exits_4_naming_it_without_its_password_or_creating_folders() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("some.xml"),
        "<testsuite><testcase name=\"t\"/></testsuite>",
    );
    let url = "postgres://coalmine:s3cret-pw@db.example:5432/history";
    let from_config = "[history]\npath = \"postgresql://ci:hunter2@db.example/h\"\n";
    write(&dir.path().join("harness.toml"), from_config);
    for args in [
        vec!["report", "--history", url],
        vec![
            "ingest",
            "--history",
            url,
            "--lane",
            "l",
            "--kind",
            "periodic",
            "--commit",
            "c1",
            "some.xml",
        ],
        vec!["quarantine", "plan", "--history", url],
        vec!["report"],
    ] {
        let output = coalmine(dir.path(), &args);
        let said = stderr(&output);
        assert_eq!(code(&output), 4, "{args:?}: {said}");
        assert!(
            said.contains("cannot reach the PostgreSQL server db.example:5432"),
            "{args:?}: {said}"
        );
        assert!(
            !said.contains("s3cret-pw") && !said.contains("hunter2"),
            "{args:?}: {said}"
        );
        assert!(said.contains(":***@"), "{args:?}: {said}");
    }
    let entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.iter().all(|name| !name.contains(':')),
        "folders named after the URL were created: {entries:?}"
    );
}

/// The history's runs: (id, commit, results) in id order.
fn recorded_runs(dir: &Path) -> Vec<(i64, String, usize)> {
    let history = coalmine::history::History::open(&dir.join(".coalmine/history.db")).unwrap();
    history
        .run_summaries(None)
        .unwrap()
        .into_iter()
        .map(|summary| {
            (
                summary.run.id,
                summary.run.commit,
                summary.counts.total as usize,
            )
        })
        .collect()
}

#[test]
fn identical_reports_of_distinct_runs_are_distinct_runs() {
    let dir = tempfile::tempdir().unwrap();
    // What many runners write: no timestamp, durations rounded to 0.
    let report = "<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"a\" time=\"0\"/>\
                  <testcase classname=\"pkg\" name=\"b\" time=\"0\"/></testsuite>";
    write(&dir.path().join("junit.xml"), report);
    for commit in ["c1", "c2", "c3"] {
        let output = coalmine(
            dir.path(),
            &[
                "ingest",
                "--lane",
                "e2e",
                "--kind",
                "periodic",
                "--commit",
                commit,
                "junit.xml",
            ],
        );
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(
            stdout(&output).contains("identified by its lane, kind, commit and files"),
            "{}",
            stdout(&output)
        );
    }
    assert_eq!(
        recorded_runs(dir.path()),
        [
            (1, "c1".to_owned(), 2),
            (2, "c2".to_owned(), 2),
            (3, "c3".to_owned(), 2)
        ]
    );
    // The same run's files again: nothing written, exit 0, said so.
    let again = coalmine(
        dir.path(),
        &[
            "ingest",
            "--lane",
            "e2e",
            "--kind",
            "periodic",
            "--commit",
            "c2",
            "junit.xml",
        ],
    );
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(
        stdout(&again).contains("already recorded as run 2"),
        "{}",
        stdout(&again)
    );
    assert_eq!(recorded_runs(dir.path()).len(), 3);
    // With --at, the start is part of the identity: the same commit at another time is
    // another run (a rerun), and the same time again is the same run.
    let at = |time: &str| {
        coalmine(
            dir.path(),
            &[
                "ingest",
                "--lane",
                "e2e",
                "--kind",
                "periodic",
                "--commit",
                "c2",
                "--at",
                time,
                "junit.xml",
            ],
        )
    };
    assert_eq!(code(&at("2026-11-20T03:00Z")), 0);
    assert_eq!(code(&at("2026-11-20T04:00Z")), 0);
    let repeated = at("2026-11-20T04:00Z");
    assert!(
        stdout(&repeated).contains("already recorded as run 5"),
        "{}",
        stdout(&repeated)
    );
    assert_eq!(recorded_runs(dir.path()).len(), 5);
}

#[test]
fn a_run_id_is_the_run_whatever_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = "<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"a\"/></testsuite>";
    let b = "<testsuite name=\"t\"><testcase classname=\"pkg\" name=\"b\"><failure/></testcase></testsuite>";
    write(&dir.path().join("a.xml"), a);
    write(&dir.path().join("b.xml"), b);
    let ingest = |id: &str, commit: &str, file: &str| {
        coalmine(
            dir.path(),
            &[
                "ingest", "--lane", "e2e", "--kind", "periodic", "--commit", commit, "--run-id",
                id, file,
            ],
        )
    };
    // Two jobs with identical reports: two runs.
    assert_eq!(code(&ingest("job-1", "c1", "a.xml")), 0);
    assert_eq!(code(&ingest("job-2", "c1", "a.xml")), 0);
    assert_eq!(recorded_runs(dir.path()).len(), 2);
    // The same job again: nothing; with a file it lacked: completed, not a third run.
    let again = ingest("job-1", "c1", "a.xml");
    assert!(
        stdout(&again).contains("already recorded as run 1"),
        "{}",
        stdout(&again)
    );
    let completed = ingest("job-1", "c1", "b.xml");
    assert_eq!(code(&completed), 0, "{}", stderr(&completed));
    assert!(
        stdout(&completed).contains("completed run 1"),
        "{}",
        stdout(&completed)
    );
    assert_eq!(
        recorded_runs(dir.path()),
        [(1, "c1".to_owned(), 2), (2, "c1".to_owned(), 1)]
    );
    // An id names one run: given with another commit, it is refused.
    let conflict = ingest("job-1", "c9", "a.xml");
    assert_eq!(code(&conflict), 1);
    assert!(
        stderr(&conflict).contains("run id \"job-1\" of lane e2e was recorded before as run 1 with kind periodic, commit c1"),
        "{}",
        stderr(&conflict)
    );
    assert_eq!(recorded_runs(dir.path()).len(), 2);
    let empty = ingest(" ", "c1", "a.xml");
    assert_eq!(code(&empty), 1);
    assert!(stderr(&empty).contains("--run-id is empty"));
}

#[test]
fn the_ci_job_id_in_the_environment_is_the_run_id() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("a.xml"),
        "<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"a\"/></testsuite>",
    );
    let args = [
        "ingest", "--lane", "e2e", "--kind", "periodic", "--commit", "c1", "a.xml",
    ];
    let github = |run: &str| {
        [
            ("GITHUB_RUN_ID", run.to_owned()),
            ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
            ("GITHUB_JOB", "e2e".to_owned()),
        ]
    };
    let run = |env: &[(&str, String)], extra: &[&str]| {
        let env: Vec<(&str, &str)> = env
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        let mut all: Vec<&str> = args.to_vec();
        all.splice(1..1, extra.iter().copied());
        coalmine_with(dir.path(), &all, &env)
    };
    let first = run(&github("100"), &[]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(
        stdout(&first).contains("identified by run id \"github:100.1/e2e\" (from GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_JOB)"),
        "{}",
        stdout(&first)
    );
    // Another workflow run, the same report: another run. The same run again: nothing.
    assert_eq!(code(&run(&github("101"), &[])), 0);
    assert!(stdout(&run(&github("101"), &[])).contains("already recorded as run 2"));
    // --run-id wins over the environment; --no-env-run-id leaves it out.
    let given = run(&github("101"), &["--run-id", "mine"]);
    assert!(
        stdout(&given).contains("identified by run id \"mine\" (--run-id)"),
        "{}",
        stdout(&given)
    );
    let without = run(&github("101"), &["--no-env-run-id"]);
    assert!(
        stdout(&without).contains("already recorded as run 1")
            || stdout(&without).contains("identified by its lane, kind, commit and files"),
        "{}",
        stdout(&without)
    );
    assert_eq!(
        recorded_runs(dir.path()).len(),
        3 + usize::from(stdout(&without).contains("recorded run 4"))
    );
}
