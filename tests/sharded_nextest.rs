//! Canaries sharded over several machines record into one history, as a CI fleet runs them:
//! `fixtures/sharded-crate` (a user's crate, two canary binaries) is built once into
//! `cargo nextest archive --archive-file shards.tar.zst`, and two "machines" (each its own
//! checkout of the crate, its own `--extract-to`, its own process and nextest run id) run
//! `cargo nextest run --archive-file shards.tar.zst --workspace-remap <checkout>
//! --partition count:K/2` at once, with `COALMINE_HISTORY` naming the PostgreSQL server and
//! the same `COALMINE_HISTORY_RUN` (the CI job's id). The server then holds exactly one run,
//! of the lane and commit configured, with every canary of `cargo nextest list` once and with
//! its right outcome; the same shards recorded into two SQLite files merged with
//! `coalmine history merge` give the same report. Without `COALMINE_HISTORY_RUN` the shards
//! record two runs (so the README's advice is needed, not decoration).
//!
//! Needs `COALMINE_TEST_POSTGRES_URL` (see tests/history_postgres.rs) and cargo-nextest; skips
//! with a line without either, and fails instead under `COALMINE_REQUIRE_ALL=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;

use coalmine::history::History;
use coalmine::results::Outcome;

mod common;

use common::postgres::{TestDb, server};

/// Every canary of the fixture and its outcome: the GREEN ones over passing recipes pass,
/// `broken-foxtrot` (GREEN expected, its recipe fails) fails, `broken-golf` (RED expected, its
/// recipe fails) passes.
const CANARIES: &[(&str, Outcome)] = &[
    ("alpha", Outcome::Pass),
    ("bravo", Outcome::Pass),
    ("broken-foxtrot", Outcome::Fail),
    ("broken-golf", Outcome::Pass),
    ("charlie", Outcome::Pass),
    ("delta", Outcome::Pass),
    ("echo", Outcome::Pass),
    ("smoke", Outcome::Pass),
];

/// The lane of the fixture's harness.toml, and the commit the shards are given.
const LANE: &str = "sharded-canaries";
const COMMIT: &str = "5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e5ab1e";

/// The fixture, built once into an archive, as a CI's build job leaves it.
struct Archive {
    /// The build job's checkout (and, beside it, the machines').
    dir: tempfile::TempDir,
    archive: PathBuf,
}

impl Archive {
    /// `None` (after saying why the test skips) without cargo-nextest.
    fn build() -> Option<Archive> {
        let dir = common::fixture_crate("sharded-crate");
        if !common::nextest_available(dir.path()) {
            return None;
        }
        let archive = dir.path().join("shards.tar.zst");
        let output = common::fixture_cargo(dir.path())
            .args(["nextest", "archive", "--offline", "--archive-file"])
            .arg(&archive)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(Archive { dir, archive })
    }

    /// A machine of the fleet: a fresh checkout of the crate and a folder to extract into.
    fn machine(&self, name: &str) -> Machine {
        let root = self.dir.path().join("machines").join(name);
        let checkout = root.join("checkout");
        common::copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sharded-crate"),
            &checkout,
        );
        let extract = root.join("extract");
        std::fs::create_dir_all(&extract).unwrap();
        Machine {
            root,
            checkout,
            extract,
        }
    }

    /// `cargo nextest` on the archive, as `machine` runs it.
    fn nextest(&self, machine: &Machine, args: &[&str]) -> std::process::Command {
        let mut command = common::fixture_cargo(&machine.root);
        command
            .args(["nextest"])
            .args(args)
            .arg("--archive-file")
            .arg(&self.archive)
            .arg("--workspace-remap")
            .arg(&machine.checkout)
            .arg("--extract-to")
            .arg(&machine.extract)
            .arg("--extract-overwrite")
            .env_remove("COALMINE_LANE")
            .env_remove("COALMINE_RUN_KIND")
            .env_remove("COALMINE_HISTORY_RUN")
            .env("COALMINE_COMMIT", COMMIT);
        command
    }

    /// The canaries `cargo nextest list` finds in the archive (of one partition, if given).
    fn list(&self, machine: &Machine, partition: Option<&str>) -> BTreeSet<String> {
        let mut args = vec!["list", "--message-format", "json"];
        if let Some(partition) = partition {
            args.extend(["--partition", partition]);
        }
        let output = self.nextest(machine, &args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut canaries = BTreeSet::new();
        for suite in list["rust-suites"].as_object().unwrap().values() {
            for (name, case) in suite["testcases"].as_object().unwrap() {
                let selected = case["filter-match"]["status"] == "matches";
                if let Some(name) = name.strip_prefix("canary::")
                    && selected
                {
                    canaries.insert(name.to_owned());
                }
            }
        }
        canaries
    }

    /// Runs partition K/2 on machine K, the two at once, each recording into the history
    /// `history(K)` under `ci_run` as `COALMINE_HISTORY_RUN` (none with `None`). Checks that
    /// each partition passed or failed as its canaries must, and returns what each ran.
    fn run_shards(
        &self,
        fleet: &str,
        history: impl Fn(&Machine) -> String,
        ci_run: Option<&str>,
    ) -> [BTreeSet<String>; 2] {
        let machines = [1, 2].map(|k| self.machine(&format!("{fleet}-{k}")));
        let partitions = ["count:1/2", "count:2/2"];
        let children: Vec<(Child, PathBuf)> = machines
            .iter()
            .zip(partitions)
            .map(|(machine, partition)| {
                let log = machine.root.join("nextest.log");
                let file = std::fs::File::create(&log).unwrap();
                let mut command = self.nextest(
                    machine,
                    &["run", "--no-fail-fast", "--partition", partition],
                );
                command
                    .env("COALMINE_HISTORY", history(machine))
                    .stdout(file.try_clone().unwrap())
                    .stderr(file);
                if let Some(id) = ci_run {
                    command.env("COALMINE_HISTORY_RUN", id);
                }
                (command.spawn().unwrap(), log)
            })
            .collect();
        let statuses: Vec<(std::process::ExitStatus, String)> = children
            .into_iter()
            .map(|(mut child, log)| {
                let status = child.wait().unwrap();
                (status, std::fs::read_to_string(log).unwrap_or_default())
            })
            .collect();
        let ran = [0, 1].map(|k| self.list(&machines[k], Some(partitions[k])));
        for (k, (status, log)) in statuses.iter().enumerate() {
            assert!(
                !ran[k].is_empty(),
                "partition {} ran no canary\n{log}",
                partitions[k]
            );
            // nextest exits 100 when a test failed.
            let must_fail = ran[k].contains("broken-foxtrot");
            assert_eq!(
                status.code(),
                Some(if must_fail { 100 } else { 0 }),
                "partition {} ({:?})\n{log}",
                partitions[k],
                ran[k]
            );
        }
        ran
    }
}

struct Machine {
    root: PathBuf,
    checkout: PathBuf,
    extract: PathBuf,
}

/// Every result of the history: `(test, outcome, attempt)`, sorted, and how many runs hold them.
fn results(history: &str) -> (Vec<(String, Outcome, u32)>, usize) {
    let history = History::open(Path::new(history)).unwrap();
    let mut rows = Vec::new();
    history
        .for_each_result(None, |row| {
            rows.push((row.test.clone(), row.outcome, row.attempt));
        })
        .unwrap();
    rows.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    let runs = history.run_summaries(None).unwrap().len();
    (rows, runs)
}

/// What the history must hold of one canary run: each canary once (attempt 1) with its
/// outcome, and once the test its recipe CI reported (`<recipe>::install::test_serving`,
/// failed by the broken recipes).
fn expected_results() -> Vec<(String, Outcome, u32)> {
    let mut rows = Vec::new();
    for (canary, outcome) in CANARIES {
        rows.push((format!("canary::{canary}"), *outcome, 1));
        let reported = match canary.starts_with("broken-") {
            true => Outcome::Fail,
            false => Outcome::Pass,
        };
        rows.push((format!("{canary}::install::test_serving"), reported, 1));
    }
    rows.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    rows
}

/// `coalmine report --format json` of a history, computed for an hour from now (for the same
/// instant every time in a process: reports of two histories are compared).
fn report(dir: &Path, history: &str) -> serde_json::Value {
    static NOW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let now = NOW.get_or_init(|| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1))
            .round(jiff::Unit::Second)
            .unwrap()
            .to_string()
    });
    let output = common::coalmine_in(
        dir,
        &[
            "report",
            "--format",
            "json",
            "--now",
            now,
            "--history",
            history,
        ],
    );
    serde_json::from_str(&common::succeeded(output)).unwrap()
}

/// Both partitions together run every canary of the archive, none twice.
fn check_partitions(archive: &Archive, ran: &[BTreeSet<String>; 2]) {
    let listed = archive.list(&archive.machine("lister"), None);
    let expected: BTreeSet<String> = CANARIES.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(listed, expected, "the fixture's canaries");
    assert!(ran[0].is_disjoint(&ran[1]), "{ran:?}");
    let union: BTreeSet<String> = ran[0].union(&ran[1]).cloned().collect();
    assert_eq!(union, listed, "{ran:?}");
}

/// The shards of one CI job, sharing `COALMINE_HISTORY_RUN`, record one run into the server:
/// every canary once with its outcome, the lane and commit configured. Recorded into a SQLite
/// file each and merged, they give the same report.
#[test]
fn shards_on_two_machines_record_one_run_into_the_server() {
    let Some(server) = server() else { return };
    let Some(archive) = Archive::build() else {
        return;
    };
    let db = TestDb::new(&server);
    let ran = archive.run_shards("pg", |_| db.url.clone(), Some("ci-job-4711"));
    check_partitions(&archive, &ran);

    let (rows, runs) = results(&db.url);
    assert_eq!(runs, 1, "{rows:?}");
    assert_eq!(rows, expected_results());
    let history = History::open(Path::new(&db.url)).unwrap();
    let run = history.run_with_key("shared:ci-job-4711").unwrap().unwrap();
    assert_eq!(run.run.lane, LANE);
    assert_eq!(run.run.commit, COMMIT);
    assert_eq!(run.run.kind.as_str(), "presubmit");
    assert_eq!(run.run.source, "coalmine harness");
    assert_eq!(
        (run.counts.passed, run.counts.failed, run.counts.total),
        (13, 3, 16),
        "{run:?}"
    );
    let on_server = report(archive.dir.path(), &db.url);
    assert_eq!(on_server["counts"]["runs"], 1, "{on_server:#}");
    assert_eq!(on_server["counts"]["results"], 16, "{on_server:#}");
    assert_eq!(on_server["lanes"][0]["lane"], LANE, "{on_server:#}");
    assert_eq!(on_server["lanes"][0]["runs"], 1, "{on_server:#}");
    assert_eq!(
        on_server["lanes"][0]["failing_tests"],
        serde_json::json!([
            "broken-foxtrot::install::test_serving",
            "broken-golf::install::test_serving",
            "canary::broken-foxtrot"
        ]),
        "{on_server:#}"
    );

    // The same job with a SQLite file on each machine, merged by a later job.
    let file = |machine: &Machine| machine.root.join("history.db").display().to_string();
    let shards = archive.run_shards("sqlite", file, Some("ci-job-4711"));
    assert_eq!(shards, ran, "the same partitions");
    let merged = archive.dir.path().join("merged.db");
    let mut args = vec!["history".to_owned(), "merge".to_owned()];
    args.push(merged.display().to_string());
    for k in 1..=2 {
        let shard = archive
            .dir
            .path()
            .join(format!("machines/sqlite-{k}/history.db"))
            .display()
            .to_string();
        // Each machine's file holds its partition's canaries, in one run.
        let (rows, runs) = results(&shard);
        let canaries: BTreeSet<String> = rows
            .iter()
            .filter_map(|(test, ..)| test.strip_prefix("canary::").map(str::to_owned))
            .collect();
        assert_eq!((&canaries, runs), (&ran[k - 1], 1), "{rows:?}");
        args.push(shard);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::succeeded(common::coalmine_in(archive.dir.path(), &args));
    let merged = merged.display().to_string();
    assert_eq!(results(&merged), (expected_results(), 1));
    assert_eq!(report(archive.dir.path(), &merged), on_server);
}

/// Without `COALMINE_HISTORY_RUN` each shard's nextest run is a run of its own: two runs,
/// which is why every shard of a CI job must be given the job's id.
#[test]
fn shards_without_a_shared_history_run_record_two_runs() {
    let Some(server) = server() else { return };
    let Some(archive) = Archive::build() else {
        return;
    };
    let db = TestDb::new(&server);
    let ran = archive.run_shards("apart", |_| db.url.clone(), None);
    check_partitions(&archive, &ran);

    let history = History::open(Path::new(&db.url)).unwrap();
    let runs = history.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let keys: BTreeSet<&str> = runs
        .iter()
        .map(|run| run.ingest_key.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter().all(|key| key.starts_with("nextest:")),
        "{keys:?}"
    );
    // Still every canary once, split over the two runs as the partitions split them.
    let (rows, _) = results(&db.url);
    assert_eq!(rows, expected_results());
    let mut per_run: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    history
        .for_each_result(None, |row| {
            if let Some(name) = row.test.strip_prefix("canary::") {
                per_run
                    .entry(row.run_id)
                    .or_default()
                    .insert(name.to_owned());
            }
        })
        .unwrap();
    let mut split: Vec<BTreeSet<String>> = per_run.into_values().collect();
    split.sort();
    let mut expected = ran.to_vec();
    expected.sort();
    assert_eq!(split, expected);
    let report = report(archive.dir.path(), &db.url);
    assert_eq!(report["counts"]["runs"], 2, "{report:#}");
    assert_eq!(report["lanes"][0]["runs"], 2, "{report:#}");
}
