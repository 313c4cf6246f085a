//! A recipe CI that prints 1 GB to standard output: the output goes to the log file, not into
//! the harness's memory (its peak RSS stays small), the log is cut to `[run] max_log_bytes`
//! (its head and its tail, with a line saying what was cut), the work after the CI exits is
//! bounded by that size and not by the output's, and the failure report shows the tail.
//!
//! A secret printed exactly across a cut point leaves no byte of itself in the kept log.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

mod common;

/// `[run] max_log_bytes` when harness.toml does not set it.
const DEFAULT_MAX_LOG_BYTES: u64 = 64 << 20;

/// How many bytes of the head (and of the tail) a cut log keeps at most: README's formula.
fn kept_part(max_log_bytes: u64) -> u64 {
    (max_log_bytes - 1024) / 2
}

fn only_run_folder(runs: &Path) -> PathBuf {
    let folders: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders.into_iter().next().unwrap()
}

#[test]
fn a_gigabyte_of_output_is_captured_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let ci = dir.path().join("chatty-ci");
    common::write_script(
        &ci,
        "#!/bin/sh\necho \"FIRST LINE: deploying with $BIG_SECRET\"\n\
         yes 'building layer 42: still building' | head -c 1073741824\necho\n\
         echo \"LAST LINE: out of disk space ($BIG_SECRET)\"\nexit 1\n",
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./chatty-ci\"]\nresults = \"{artifacts}/results.json\"\n\
         secrets = [\"BIG_SECRET\"]\n[ci.env]\nBIG_SECRET = \"big-output-secret-7c1e\"\n\
         [run]\nartifacts = \"runs\"\n",
    )
    .unwrap();
    let stdout_path = dir.path().join("harness.out");
    // Reaped by wait4 below, which also reports the peak memory; `Child::wait` cannot.
    #[allow(clippy::zombie_processes)]
    let child =
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .stdout(Stdio::from(File::create(&stdout_path).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();

    // wait4 gives the harness's own peak resident set size (its children are separate).
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers.
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 101);
    let peak_kib = usage.ru_maxrss;
    eprintln!("harness peak RSS while the CI printed 1 GB: {peak_kib} KiB");
    assert!(
        peak_kib < 100 * 1024,
        "the harness peaked at {peak_kib} KiB while the CI printed 1 GB"
    );

    let run = only_run_folder(&dir.path().join("runs"));
    let written = "FIRST LINE: deploying with big-output-secret-7c1e\n".len() as u64
        + 1_073_741_824
        + 1
        + "LAST LINE: out of disk space (big-output-secret-7c1e)\n".len() as u64;
    let log = std::fs::read(run.join("stdout.log")).unwrap();
    assert!(
        log.len() as u64 <= DEFAULT_MAX_LOG_BYTES,
        "stdout.log holds {} bytes, more than max_log_bytes",
        log.len()
    );
    assert!(
        log.len() as u64 > DEFAULT_MAX_LOG_BYTES - (3 << 20),
        "stdout.log keeps about max_log_bytes: {}",
        log.len()
    );
    assert!(log.starts_with(b"FIRST LINE: deploying with [REDACTED]\nbuilding layer 42"));
    assert!(log.ends_with(b"\nLAST LINE: out of disk space ([REDACTED])\n"));
    // One line says what was cut, where: every line but it is the CI's own.
    let odd: Vec<String> = log
        .split(|byte| *byte == b'\n')
        .filter(|line| {
            !line.is_empty()
                // `head -c` cut the last of them short.
                && !b"building layer 42: still building".starts_with(line)
                && !line.starts_with(b"FIRST LINE")
                && !line.starts_with(b"LAST LINE")
        })
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect();
    assert_eq!(odd.len(), 1, "{odd:?}");

    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("canary.json")).unwrap()).unwrap();
    let stdout_record = &record["logs"]["stdout.log"];
    assert_eq!(stdout_record["written"], written, "{stdout_record}");
    assert_eq!(stdout_record["kept"], log.len(), "{stdout_record}");
    let cut = stdout_record["cut"]["bytes"].as_u64().unwrap();
    assert!(
        odd[0].starts_with(&format!("[coalmine: {cut} bytes of stdout.log cut here")),
        "{odd:?}"
    );
    // What is kept: all but the cut, the marker line, two secrets shortened to `[REDACTED]`.
    let redaction = 2 * ("big-output-secret-7c1e".len() - "[REDACTED]".len()) as u64;
    assert_eq!(
        log.len() as u64,
        written - cut + odd[0].len() as u64 + 1 - redaction
    );
    // The harness's work after the CI exited is bounded by max_log_bytes, not by 1 GB.
    let after = record["after_exit_secs"].as_f64().unwrap();
    eprintln!("the harness worked {after:.2}s after the CI exited");
    assert!(after < 10.0, "{after}s after the CI exited");

    let report = std::fs::read_to_string(&stdout_path).unwrap();
    assert!(
        report.contains("  LAST LINE: out of disk space ([REDACTED])\n"),
        "{}",
        &report[..report.len().min(4000)]
    );
    assert!(
        report.contains(&format!(
            "  note: stdout.log was cut to {} bytes: {cut} bytes in its middle",
            log.len()
        )),
        "{}",
        &report[..report.len().min(4000)]
    );
    assert!(
        report.contains("SECRET LEAK: the value of BIG_SECRET appeared 2 times (stdout.log)"),
        "{}",
        &report[..report.len().min(4000)]
    );
    assert!(
        report.len() < 64 * 1024,
        "the report shows a tail, not the output"
    );
}

/// A secret printed across each cut point of a log with no line break near them: the cuts move
/// so that no byte of it is kept, and the leak is still reported.
#[test]
fn a_secret_across_a_cut_point_leaves_nothing_behind() {
    let max: u64 = 65536;
    let part = kept_part(max);
    let secret = "QWERTY-9876-zxcv";
    let total: u64 = 300_000;
    // One long line of `a`s with the secret across the end of the head, then `b`s with it
    // across the start of the tail, then a newline.
    let head_at = part - 7;
    let tail_at = total - part - 5;
    let script = format!(
        "#!/bin/sh\nhead -c {head_at} /dev/zero | tr '\\0' a\nprintf %s \"$SECRET\"\n\
         head -c {} /dev/zero | tr '\\0' b\nprintf %s \"$SECRET\"\n\
         head -c {} /dev/zero | tr '\\0' b\necho\nexit 1\n",
        tail_at - head_at - secret.len() as u64,
        total - 1 - tail_at - secret.len() as u64,
    );
    let dir = tempfile::tempdir().unwrap();
    common::write_script(&dir.path().join("cut-ci"), &script);
    std::fs::write(
        dir.path().join("harness.toml"),
        format!(
            "[ci]\ncommand = [\"./cut-ci\"]\nresults = \"{{artifacts}}/results.json\"\n\
             secrets = [\"SECRET\"]\n[ci.env]\nSECRET = \"{secret}\"\n\
             [run]\nartifacts = \"runs\"\nmax_log_bytes = {max}\n"
        ),
    )
    .unwrap();
    let output =
        common::regression_with(&dir.path().join("harness.toml"), &["canary", "good-simple"])
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    let run = only_run_folder(&dir.path().join("runs"));
    let log = std::fs::read(run.join("stdout.log")).unwrap();
    assert!(log.len() as u64 <= max, "{}", log.len());
    let lines: Vec<&[u8]> = log.split(|byte| *byte == b'\n').collect();
    // The head (a's), the line that says what was cut, the tail (b's), and the final newline.
    assert_eq!(lines.len(), 4, "{}", String::from_utf8_lossy(&log[..200]));
    assert!(
        lines[0].iter().all(|byte| *byte == b'a'),
        "the head keeps only a's"
    );
    assert_eq!(lines[0].len() as u64, head_at);
    assert!(
        lines[1].starts_with(b"[coalmine: "),
        "{:?}",
        String::from_utf8_lossy(lines[1])
    );
    assert!(
        lines[2].iter().all(|byte| *byte == b'b'),
        "the tail keeps only b's"
    );
    assert_eq!(
        lines[2].len() as u64,
        total - 1 - tail_at - secret.len() as u64
    );
    assert!(lines[3].is_empty());
    assert!(
        stdout.contains("SECRET LEAK: the value of SECRET appeared 2 times (stdout.log)"),
        "{stdout}"
    );
}

/// Results read from a log that was cut have a hole where a failure may have been: a CI whose
/// `go test -json` output is its stdout (piped through `tee`, so it exits 0), with the failing
/// package in the part that is cut, would otherwise be GREEN.
#[test]
fn results_read_from_a_cut_log_fail_the_canary() {
    use coalmine::Canary;
    use coalmine::Expect::Green;
    use coalmine::check::*;

    let package = |name: &str, test: &str, outcome: &str| {
        format!(
            "echo '{{\"Action\":\"start\",\"Package\":\"{name}\"}}'\n\
             echo '{{\"Action\":\"run\",\"Package\":\"{name}\",\"Test\":\"{test}\"}}'\n\
             echo '{{\"Action\":\"{outcome}\",\"Package\":\"{name}\",\"Test\":\"{test}\",\"Elapsed\":0}}'\n\
             echo '{{\"Action\":\"{outcome}\",\"Package\":\"{name}\",\"Elapsed\":0}}'\n"
        )
    };
    let filler = "seq 1 2000 | sed 's/^/building step /'\n";
    let script = format!(
        "#!/bin/sh\n{}{filler}{}{filler}{}",
        package("example.com/a", "TestA", "pass"),
        package("example.com/broken", "TestBroken", "fail"),
        package("example.com/c", "TestC", "pass"),
    );
    let dir = tempfile::tempdir().unwrap();
    common::write_script(&dir.path().join("go-ci"), &script);
    let toml = dir.path().join("harness.toml");
    std::fs::write(
        &toml,
        "[ci]\ncommand = [\"./go-ci\"]\nresults = \"{artifacts}/stdout.log\"\nformat = \"go-test-json\"\n\
         [run]\nartifacts = \"runs\"\nmax_log_bytes = 8192\n",
    )
    .unwrap();
    let config = coalmine::config::Config::load(&toml).unwrap();
    let canary = Canary::new("go-from-stdout")
        .recipe("r")
        .rev("1")
        .expect(Green)
        .check(exit_code(0))
        .check(no_tier_failed())
        .check(tier("example.com/a").is(Pass))
        .check(tier("example.com/c").is(Pass));
    let valid = canary.validate().unwrap();
    let run = coalmine::execute::run_canary(&valid, &config, 1, &mut |_, _| {});
    let log = std::fs::read_to_string(run.artifacts.join("stdout.log")).unwrap();
    assert!(
        !log.contains("TestBroken"),
        "the failure is in the cut part"
    );
    // Every check holds on what is left: only the cut fails the canary.
    assert!(
        run.record.checks.iter().all(|check| check.passed),
        "{}",
        run.report
    );
    assert!(!run.passed, "{}", run.report);
    assert!(
        run.report.starts_with(
            "TRUNCATED RESULTS: the results are read from stdout.log, which was cut to [run] \
             max_log_bytes = 8192"
        ),
        "{}",
        run.report
    );
}
