//! Ctrl-C (SIGINT) or SIGTERM to the harness mid-run: the running recipe CI and all its
//! children are stopped (SIGTERM, grace, SIGKILL, even those that ignore SIGTERM), the canary
//! that had not started does not start, the interrupted run keeps its artifacts and says why,
//! and the harness exits non-zero (128 + the signal).

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

fn live_with_marker(marker: &str) -> usize {
    let wanted = format!("COALMINE_TEST_MARKER={marker}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'));
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            !zombie
                && environ
                    .split(|byte| *byte == 0)
                    .any(|item| item == wanted.as_bytes())
        })
        .count()
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the harness did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt_with(signal: i32, expected_code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("interrupt-{}-{signal}", std::process::id());
    let ci = dir.path().join("fake-ci");
    common::write_script(
        &ci,
        "#!/bin/sh\nsleep 60 &\n(trap '' TERM; sleep 61) &\necho started\nsleep 62\n",
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        format!(
            "[ci]\ncommand = [\"./fake-ci\"]\nresults = \"{{artifacts}}/results.json\"\ntimeout = \"60s\"\ngrace = \"300ms\"\n\
             [ci.env]\nCOALMINE_TEST_MARKER = \"{marker}\"\n[run]\nartifacts = \"runs\"\nmax_parallel = 1\n"
        ),
    )
    .unwrap();
    let mut harness = common::regression_with(
        &dir.path().join("harness.toml"),
        &[
            "canary",
            "good-simple",
            "bad-install",
            "--test-threads",
            "1",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let runs = dir.path().join("runs");
    let started = |runs: &Path| {
        std::fs::read_dir(runs)
            .map(|entries| {
                entries.flatten().any(|entry| {
                    std::fs::read_to_string(entry.path().join("stdout.log"))
                        .is_ok_and(|text| text.contains("started"))
                })
            })
            .unwrap_or(false)
    };
    wait_for(
        "the first recipe CI to start",
        Duration::from_secs(30),
        || started(&runs) && live_with_marker(&marker) >= 3,
    );

    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(harness.id() as i32, signal) };
    let status = wait_exit(&mut harness, Duration::from_secs(20));
    let output = harness.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        status.code(),
        Some(expected_code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("coalmine: received"), "{stderr}");
    assert_eq!(
        live_with_marker(&marker),
        0,
        "processes of the recipe CI survived the interrupt"
    );

    let folders: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert_eq!(
        folders.len(),
        1,
        "the second canary must not start: {folders:?}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folders[0].join("canary.json")).unwrap())
            .unwrap();
    assert!(
        record["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("INTERRUPTED: the harness received"),
        "{record}"
    );
    assert!(
        stdout.contains("INTERRUPTED: the harness received"),
        "{stdout}"
    );
    assert!(
        stdout.contains("before this canary started; it did not run"),
        "{stdout}"
    );
}

#[test]
fn sigint_stops_every_running_ci_and_exits_130() {
    interrupt_with(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_every_running_ci_and_exits_143() {
    interrupt_with(libc::SIGTERM, 143);
}
