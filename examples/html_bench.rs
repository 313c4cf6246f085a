//! `coalmine report --format html` over a large history, against the plan in the same run:
//! the page built as the command builds it ([`coalmine::cli::html::build`], then written),
//! and the plan ([`coalmine::cli::analysis::analyse`]) as its baseline, alternately, in this
//! process; the medians, their ratio and the page's size are printed.
//!
//! ```sh
//! cargo run --release --example html_bench -- --db /tmp/h10.db               # 10 M results
//! cargo run --release --example html_bench -- --db /tmp/h100.db --shape 100m # 100 M results
//! ```
//!
//! `--shape 10m` (the default) is `plan_bench`'s history ([`HistorySpec::large`], seed 7:
//! 10,000 tests x 1,000 runs 20 minutes apart, so a database `plan_bench --db` built is
//! reused as it is). `--shape 100m` is a year of history: 2,000 tests x 50,000 runs 10
//! minutes apart (347 days), 20 of them flaky, 2 % systemic runs, 1 % skips; the page and the
//! plan read the policy's horizon of it (14 days, some 2,000 runs). A database is built when
//! the path does not exist, else reused.

use std::path::{Path, PathBuf};
use std::time::Instant;

use coalmine::cli::analysis::analyse;
use coalmine::cli::html::{Caps, build, write_atomically};
use coalmine::history::History;
use coalmine::quarantine::QuarantineConfig;
use coalmine::quarantine::generator::HistorySpec;
use jiff::SignedDuration;

const END: &str = "2026-06-15T12:00:00Z";
const SEED: u64 = 7;

fn end() -> jiff::Timestamp {
    END.parse().expect("a time")
}

fn spec(shape: &str) -> HistorySpec {
    match shape {
        "10m" => HistorySpec::large(SEED, end()),
        "100m" => HistorySpec::suite(
            SEED,
            end(),
            2_000,
            100,
            50_000,
            SignedDuration::from_mins(10),
        ),
        other => {
            eprintln!("error: --shape is 10m or 100m, not {other}");
            std::process::exit(2);
        }
    }
}

/// Writes the generated history into `path`, one transaction per run.
fn build_history(path: &Path, spec: &HistorySpec) {
    let generated = spec.generate();
    let started = Instant::now();
    let mut history = History::open(path).expect("opening the history");
    let progress = |run_id: i64, written: usize| {
        if run_id % 5_000 == 0 {
            eprintln!("  {run_id} runs, {written} results");
        }
    };
    let written = generated
        .record_into(
            &mut history,
            "plan_bench",
            &format!("plan-bench:{SEED}"),
            progress,
        )
        .expect("recording");
    println!(
        "built {} ({} runs, {written} results) in {:.1} s",
        path.display(),
        generated.runs.len(),
        started.elapsed().as_secs_f64()
    );
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut db: Option<PathBuf> = None;
    let mut shape = "10m".to_owned();
    let mut rounds = 3usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => db = Some(PathBuf::from(args.next().expect("--db needs a path"))),
            "--shape" => shape = args.next().expect("--shape needs 10m or 100m"),
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
    if path.exists() {
        println!("reusing {}", path.display());
    } else {
        build_history(&path, &spec(&shape));
    }
    let size = std::fs::metadata(&path).map_or(0, |metadata| metadata.len());
    println!("database: {:.0} MB", size as f64 / 1e6);
    let config = QuarantineConfig::default();
    let output = temporary.path().join("report.html");
    let mut plans = Vec::new();
    let mut pages = Vec::new();
    let mut page_size = 0;
    let mut results = 0;
    for round in 0..rounds {
        let started = Instant::now();
        let history = History::open(&path).expect("opening the history");
        let analysis = analyse(&history, &config, end()).expect("planning");
        let plan = started.elapsed().as_secs_f64();
        results = analysis.plan.counts.results;
        drop(history);

        let started = Instant::now();
        let history = History::open(&path).expect("opening the history");
        let page = build(&history, &config, end(), &Caps::default(), &mut |_| {}).expect("page");
        write_atomically(&output, page.as_bytes()).expect("writing the page");
        let html = started.elapsed().as_secs_f64();
        page_size = page.len();
        println!(
            "round {}: plan {plan:.3} s, page {html:.3} s ({:.2}x), {:.2} MB",
            round + 1,
            html / plan,
            page_size as f64 / 1e6
        );
        plans.push(plan);
        pages.push(html);
    }
    let (plan, page) = (median(plans), median(pages));
    println!();
    println!("| {shape} history, {results} results read (the horizon) | median of {rounds} |");
    println!("|---|---|");
    println!("| plan (the baseline) | {plan:.3} s |");
    println!(
        "| HTML page, built and written | {page:.3} s ({:.2}x the plan) |",
        page / plan
    );
    println!("| page size | {:.2} MB |", page_size as f64 / 1e6);
}
