//! Artifact retention, as a user meets it: the harness removes old run folders after a run
//! (`[run] keep`), and `coalmine runs prune` does it on demand. Runs in progress (their folder
//! locked by another process), the last passing run, symbolic links (at the root and inside a
//! run folder) and anything that is not a run folder survive.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

mod common;

const PASSING: &str = r#"{"recipe": "custom-html-tiny", "rev": "435df8fc",
  "results": {"install": "pass", "upgrade": "pass"},
  "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass"}]}}}"#;

/// A finished run folder of `canary`, `age` old, holding a `canary.json` and a log.
fn finished_run(root: &Path, canary: &str, stamp: &str, age: Duration) -> PathBuf {
    let dir = root.join(format!("{canary}-{stamp}-4242-0"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("canary.json"), "{}").unwrap();
    std::fs::write(dir.join("stdout.log"), "old run\n").unwrap();
    age_folder(&dir, age);
    dir
}

fn age_folder(dir: &Path, age: Duration) {
    let when = SystemTime::now() - age;
    std::fs::File::open(dir)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

const HOUR: Duration = Duration::from_secs(3600);

/// Another process holding the run folder's lock, as a harness running that canary does.
struct LockHolder(Child);

impl LockHolder {
    fn lock(dir: &Path) -> LockHolder {
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import fcntl, os, sys, time\n\
                 fd = os.open(sys.argv[1], os.O_RDONLY)\n\
                 fcntl.flock(fd, fcntl.LOCK_EX)\n\
                 print('locked', flush=True)\n\
                 time.sleep(120)\n",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line, "locked\n");
        LockHolder(child)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A folder outside the artifact root that symbolic links point at: it must survive whole.
fn outside_target(dir: &Path) -> PathBuf {
    let outside = dir.join("precious");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep-me.txt"), "mine\n").unwrap();
    outside
}

#[test]
fn the_harness_prunes_after_a_run_and_spares_runs_in_progress_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let ci = dir.path().join("fake-ci");
    common::write_script(
        &ci,
        &format!("#!/bin/sh\ncat > \"$1/results.json\" <<'EOF'\n{PASSING}\nEOF\n"),
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./fake-ci\", \"{artifacts}\"]\nresults = \"{artifacts}/results.json\"\n\
         [run]\nartifacts = \"runs\"\nkeep = 2\n",
    )
    .unwrap();
    let root = dir.path().join("runs");
    let oldest = finished_run(&root, "good-simple", "20260101T000000Z", 40 * HOUR);
    let older = finished_run(&root, "good-simple", "20260102T000000Z", 30 * HOUR);
    let old = finished_run(&root, "good-simple", "20260103T000000Z", 20 * HOUR);
    // Oldest of all, no canary.json yet, and locked by another process: in progress.
    let running = root.join("good-simple-20251201T000000Z-777-0");
    std::fs::create_dir_all(&running).unwrap();
    age_folder(&running, 50 * HOUR);
    let _holder = LockHolder::lock(&running);
    // A link named like a run, pointing out of the root.
    let outside = outside_target(dir.path());
    let link = root.join("good-simple-20250101T000000Z-1-0");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    // Another canary's old runs and a user's own files are not this run's business.
    let other = finished_run(&root, "bad-install", "20250101T000000Z", 90 * HOUR);
    std::fs::write(root.join("NOTES.txt"), "my notes\n").unwrap();

    let output = common::regression_with(
        &dir.path().join("harness.toml"),
        &["--exact", "canary::good-simple"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        stderr.contains(&format!(
            "coalmine: removed 2 old run folders under {} (keeping the newest 2 per canary",
            root.display()
        )),
        "{stderr}"
    );
    // Kept: the new run and the newest old one; the run in progress; the link and its target.
    assert!(
        !oldest.exists() && !older.exists(),
        "the two oldest runs are removed"
    );
    assert!(old.exists(), "the newest old run is kept");
    assert!(running.exists(), "a run in progress is never removed");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(outside.join("keep-me.txt")).unwrap(),
        "mine\n"
    );
    assert!(
        other.exists(),
        "another canary's runs are not pruned by this run"
    );
    assert!(root.join("NOTES.txt").exists());
    let new_runs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("good-simple-2026") && !name.starts_with("good-simple-202601")
        })
        .collect();
    assert_eq!(new_runs.len(), 1, "the run just made is kept");
}

#[test]
fn runs_prune_keeps_the_last_pass_and_never_follows_links() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("harness.toml"),
        "[run]\nartifacts = \"runs\"\n",
    )
    .unwrap();
    let root = dir.path().join("runs");
    let first = finished_run(&root, "x", "20260101T000000Z", 50 * HOUR);
    let second = finished_run(&root, "x", "20260102T000000Z", 40 * HOUR);
    let third = finished_run(&root, "x", "20260103T000000Z", 30 * HOUR);
    let newest = finished_run(&root, "x", "20260104T000000Z", 20 * HOUR);
    // The teeth trial's baseline is the oldest folder: kept whatever its age.
    std::fs::create_dir_all(root.join(".last-pass")).unwrap();
    std::fs::write(
        root.join(".last-pass/x"),
        format!("{}\n", first.file_name().unwrap().to_string_lossy()),
    )
    .unwrap();
    // A run folder holding a link out of the root: the folder goes, the target stays.
    let outside = outside_target(dir.path());
    std::os::unix::fs::symlink(&outside, second.join("escape")).unwrap();
    age_folder(&second, 40 * HOUR);
    // A finished run whose folder another process still holds.
    let held = finished_run(&root, "x", "20251201T000000Z", 60 * HOUR);
    let _holder = LockHolder::lock(&held);
    // Unfinished and unlocked: a dead run when old, a run just starting when young.
    let dead = root.join("x-20251101T000000Z-9-0");
    std::fs::create_dir_all(&dead).unwrap();
    age_folder(&dead, 70 * HOUR);
    let starting = root.join("x-20251102T000000Z-9-1");
    std::fs::create_dir_all(&starting).unwrap();
    age_folder(&starting, Duration::from_secs(5));

    let output = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["runs", "prune", "--keep", "1"])
        .current_dir(dir.path())
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // `starting` is the newest by time, so it is the one kept by --keep 1.
    assert!(starting.exists(), "a run just starting is kept");
    assert!(first.exists(), "the last passing run is kept");
    assert!(held.exists(), "a locked run is kept");
    assert!(stdout.contains(&format!("kept {} (its run is in progress)", held.display())));
    for gone in [&second, &third, &newest, &dead] {
        assert!(
            !gone.exists(),
            "{} should be removed\n{stdout}",
            gone.display()
        );
        assert!(
            stdout.contains(&format!("removed {}", gone.display())),
            "{stdout}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.join("keep-me.txt")).unwrap(),
        "mine\n"
    );
    assert!(
        stderr.contains("coalmine: removed 4 old run folders"),
        "{stderr}"
    );

    // Again: nothing left to do, and it says so.
    let again = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["runs", "prune", "--keep", "1"])
        .current_dir(dir.path())
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to remove"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn runs_prune_refuses_keep_zero_and_needs_a_harness_toml() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_coalmine"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("COALMINE_CONFIG")
            .output()
            .unwrap()
    };
    let zero = run(&["runs", "prune", "--keep", "0"]);
    assert_eq!(zero.status.code(), Some(2), "a usage error");
    let none = run(&["runs", "prune"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no harness.toml"));
    std::fs::write(dir.path().join("harness.toml"), "[run]\nkeep = 0\n").unwrap();
    let bad = run(&["runs", "prune"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("harness.toml:2:8") && stderr.contains("`run.keep` is 0"),
        "{stderr}"
    );
}
