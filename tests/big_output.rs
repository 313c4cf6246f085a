//! A recipe CI that prints 1 GB to standard output: the output goes to the log file, not into
//! the harness's memory (its peak RSS stays small), and the failure report shows the tail.

use std::fs::File;
use std::process::Stdio;

mod common;

#[test]
fn a_gigabyte_of_output_is_captured_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let ci = dir.path().join("chatty-ci");
    common::write_script(
        &ci,
        "#!/bin/sh\nyes 'building layer 42: still building' | head -c 1073741824\necho\necho 'LAST LINE: out of disk space'\nexit 1\n",
    );
    std::fs::write(
        dir.path().join("harness.toml"),
        "[ci]\ncommand = [\"./chatty-ci\"]\nresults = \"{artifacts}/results.json\"\n[run]\nartifacts = \"runs\"\n",
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

    let log = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
        .join("stdout.log");
    assert!(
        std::fs::metadata(&log).unwrap().len() > 1_073_741_824,
        "the whole output is in the log"
    );
    let report = std::fs::read_to_string(&stdout_path).unwrap();
    assert!(
        report.contains("  LAST LINE: out of disk space\n"),
        "{}",
        &report[..report.len().min(4000)]
    );
    assert!(
        report.len() < 64 * 1024,
        "the report shows a tail, not the output"
    );
}
