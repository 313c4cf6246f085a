//! `coalmine quarantine plan` over a large history: 10,000 tests x 1,000 runs (10 million
//! results) in a SQLite history, planned end to end the way the command does it
//! ([`coalmine::cli::analysis::analyse`]: the runs, tests and fixes read, every result streamed
//! from SQLite into the policy's aggregator). Goal: under 3 s and under 500 MB peak memory.
//!
//! ```sh
//! cargo run --release --example plan_bench                   # builds the history, then plans
//! cargo run --release --example plan_bench -- --db /tmp/h.db # keeps (and reuses) the history
//! cargo run --release --example plan_bench -- --db postgres://u@host/db  # on PostgreSQL
//! ```
//!
//! The history is [`HistorySpec::large`] (seed 7): 10 flaky tests among 10,000 named like
//! `[sig-compute] suite 001 should keep workload 57 running`, 2 % systemic runs, 1 % skips,
//! runs 20 minutes apart over 14 days, rotating through a periodic, a merged and a presubmit
//! lane. Building it takes a minute or two. Each plan runs in a child process of its own
//! (this program, with `--plan-only`), so that its peak resident memory (VmHWM) is the plan's
//! alone; `--rounds N` (default 5) plans are timed and the median and the largest peak are
//! reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use coalmine::cli::analysis::analyse;
use coalmine::history::History;
use coalmine::quarantine::QuarantineConfig;
use coalmine::quarantine::generator::HistorySpec;

const END: &str = "2026-06-15T12:00:00Z";
const SEED: u64 = 7;

fn end() -> jiff::Timestamp {
    END.parse().expect("a time")
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Writes the generated history into `path`, one transaction per run.
fn build(path: &Path) {
    let spec = HistorySpec::large(SEED, end());
    let generated = spec.generate();
    let started = Instant::now();
    let mut history = History::open(path).expect("opening the history");
    let written = generated
        .record_into(
            &mut history,
            "plan_bench",
            &format!("plan-bench:{SEED}"),
            |_, _| {},
        )
        .expect("recording");
    println!(
        "built {} ({} runs, {written} results) in {:.1} s",
        path.display(),
        generated.runs.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Plans once and prints `seconds peak_kib now batch release lanes` on one line.
fn plan_only(path: &Path) {
    let started = Instant::now();
    let history = History::open(path).expect("opening the history");
    let analysis = analyse(&history, &QuarantineConfig::default(), end()).expect("planning");
    let elapsed = started.elapsed().as_secs_f64();
    let plan = &analysis.plan;
    println!(
        "{elapsed} {} {} {} {} {} {}",
        peak_rss_kib().unwrap_or(0),
        plan.quarantine_now.len(),
        plan.next_batch.len(),
        plan.counts.results,
        plan.systemic_runs.len(),
        plan.lanes.len()
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut db: Option<PathBuf> = None;
    let mut rounds = 5usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--plan-only" => {
                let path = PathBuf::from(args.next().expect("--plan-only needs the database"));
                plan_only(&path);
                return;
            }
            "--db" => db = Some(PathBuf::from(args.next().expect("--db needs a path"))),
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|value| *value > 0)
                    .expect("--rounds needs a positive number")
            }
            other => {
                eprintln!("error: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let temporary = tempfile::tempdir().expect("a temporary folder");
    let path = db.unwrap_or_else(|| temporary.path().join("history.db"));
    // A postgres:// URL is a history on a server (its database must exist): built when empty.
    let exists = match History::is_server(&path) {
        true => !History::open(&path)
            .and_then(|history| history.run_summaries(None))
            .expect("opening the history")
            .is_empty(),
        false => path.exists(),
    };
    if exists {
        println!("reusing {}", path.display());
    } else {
        build(&path);
    }
    if !History::is_server(&path) {
        let size = std::fs::metadata(&path).map_or(0, |metadata| metadata.len());
        println!("database: {:.0} MB", size as f64 / 1e6);
    }

    let program = std::env::current_exe().expect("this program");
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for round in 0..rounds {
        let output = Command::new(&program)
            .arg("--plan-only")
            .arg(&path)
            .output()
            .expect("running a plan");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        let seconds: f64 = fields[0].parse().expect("seconds");
        let peak: u64 = fields[1].parse().expect("peak");
        println!(
            "round {}: {seconds:.3} s, peak {:.0} MB; quarantine now {}, next batch {}, {} results, {} systemic runs, {} lanes",
            round + 1,
            peak as f64 / 1024.0,
            fields[2],
            fields[3],
            fields[4],
            fields[5],
            fields[6]
        );
        times.push(seconds);
        peaks.push(peak);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let peak = peaks.iter().copied().max().unwrap_or(0) as f64 / 1024.0;
    println!();
    println!("| plan over 10,000 tests x 1,000 runs (10M results) | median of {rounds} | goal |");
    println!("|---|---|---|");
    println!(
        "| time, end to end (open, read, aggregate, plan) | {median:.3} s | under 3 s: {} |",
        if median < 3.0 { "met" } else { "MISSED" }
    );
    println!(
        "| peak resident memory (VmHWM, largest) | {peak:.0} MB | under 500 MB: {} |",
        if peak < 500.0 { "met" } else { "MISSED" }
    );
}
