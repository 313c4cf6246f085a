//! `coalmine report`: the flakiest tests, suite stability against the goal, and lanes, as
//! text, Markdown or JSON.
//!
//! The flakiest tests are those with a failed execution in the batch window (14 days by
//! default), counted by the policy itself ([`Plan::failing`]: trusted runs, systemic runs
//! left out, a flaky pass as one failure and one pass, a fixed breakage's failures left out),
//! highest failure rate first. Each has a status: `quarantined`
//! (a `[[quarantine]]` entry), `broken` (failing every run since a commit: never quarantined),
//! `quarantine-now`, `next-batch`, `deferred` (the plan's candidates), `not-shown-flaky` (over
//! a threshold, held back by `require_flip`), or `watch` (failing, under the thresholds), and
//! the commits it flipped on (passed and failed on one commit) of those it ran on. Broken
//! tests are listed first, as the plan lists them.
//!
//! The JSON shape:
//! ```json
//! {
//!   "now": "2026-11-20T12:00:00Z",
//!   "preset": "kubevirt",
//!   "broken": [{"test": "...", "owner": "sig-storage", "since_commit": "c25",
//!               "since": "...", "since_lane": "...", "last_pass_commit": "c24",
//!               "last_pass": "...", "failed_runs": 12, "latest_failure_run_id": 36,
//!               "latest_failure_message": "...", "reason": "..."}],
//!   "flakiest": {
//!     "window_days": 14,
//!     "tests": [{"test": "...", "owner": "sig-compute", "status": "quarantine-now",
//!                "rate": 0.5, "failed": 5, "executions": 10, "runs": 10,
//!                "flipped_commits": 4, "commits": 9}],
//!     "more": 0
//!   },
//!   "stability": {"window_days": 14, "projected": 0.5, "projected_after_plan": 1.0,
//!                 "projected_without_broken": 0.5, "measured_failed_runs": 5,
//!                 "broken_failed_runs": 0, "measured": 0.5, "measured_runs": 10, "goal": 0.9,
//!                 "projected_met": false, "measured_met": false},
//!   "lanes": [{"lane": "...", "required": false, "runs": 10, "failed_runs": 5, "rate": 0.5,
//!              "distinct_failing_tests": 1, "failing_tests": ["..."],
//!              "optional_candidate": false}],
//!   "quarantined": 1,
//!   "counts": {"runs": 10, "runs_after_now": 0, "runs_in_windows": 10, "results": 100,
//!              "orphan_results": 0, "tests": 10}
//! }
//! ```

use std::fmt::Write as _;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use jiff::Timestamp;
use serde::Serialize;

use super::analysis::{self, entry_of, flakiest, status};
use super::output::{NOTHING_MEASURED, Table, broken_section, code, stability_text};
use super::{EXIT_OK, Failure, Store, exit_code, parse_time, show_time};
use crate::quarantine::{
    Broken, Counts, LaneReport, Plan, Policy, QuarantineConfig, Stability, percent,
};

/// How `coalmine report` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReportFormat {
    /// Aligned text tables for a terminal.
    #[default]
    Table,
    /// Markdown.
    Md,
    /// JSON, pretty-printed.
    Json,
    /// One self-contained HTML page, written to `--output` (not printed).
    Html,
}

/// `coalmine report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// How to write it.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// With `--format html`: the file to write [default: coalmine-report.html in the current
    /// folder]; written whole or not at all.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The instant the report is computed for (runs after it are ignored), for reproducible
    /// output: RFC 3339 or a day [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<Timestamp>,
    /// How many of the flakiest tests to show (in `--format html`, in its table of them; its
    /// other caps are said on the page).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    #[command(flatten)]
    pub store: Store,
}

/// The report, as serialized to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The instant it is computed for.
    pub now: String,
    /// The policy preset.
    pub preset: String,
    /// Tests a change broke (failing every run since a commit), as the plan lists them.
    pub broken: Vec<Broken>,
    /// The flakiest tests.
    pub flakiest: Flakiest,
    /// Suite stability.
    pub stability: Stability,
    /// Every lane with runs in the lane window, and every required lane.
    pub lanes: Vec<LaneReport>,
    /// How many tests are in `[[quarantine]]`.
    pub quarantined: usize,
    /// What it was computed from.
    pub counts: Counts,
}

/// The flakiest tests over a window.
#[derive(Debug, Clone, Serialize)]
pub struct Flakiest {
    /// The window, in days.
    pub window_days: u32,
    /// The tests shown, highest failure rate first.
    pub tests: Vec<FlakyTest>,
    /// Tests with failures beyond those shown.
    pub more: usize,
}

/// One flaky test.
#[derive(Debug, Clone, Serialize)]
pub struct FlakyTest {
    /// Its id.
    pub test: String,
    /// Its owner, if known.
    pub owner: Option<String>,
    /// `quarantined`, `broken`, `quarantine-now`, `next-batch`, `deferred`, `not-shown-flaky`
    /// or `watch`.
    pub status: &'static str,
    /// `failed / executions`.
    pub rate: f64,
    /// Failed executions.
    pub failed: u64,
    /// Counted executions.
    pub executions: u64,
    /// Runs with an execution.
    pub runs: u64,
    /// Commits on which it both passed and failed in the window.
    pub flipped_commits: u64,
    /// Commits it ran on in the window.
    pub commits: u64,
}

/// Runs `coalmine report`; returns the exit code.
pub fn run(args: &ReportArgs) -> u8 {
    exit_code(report(args))
}

fn report(args: &ReportArgs) -> Result<u8, Failure> {
    let (quarantine, _, history) = args.store.for_reading()?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    if args.format == ReportFormat::Html {
        return html(args, &history, &quarantine, now);
    }
    if let Some(output) = &args.output {
        return Err(format!(
            "--output {} is for --format html; the other formats print to standard output",
            output.display()
        ));
    }
    let analysis =
        analysis::analyse(&history, &quarantine, now).map_err(|error| error.to_string())?;
    let report = build(&analysis.plan, &quarantine, &analysis.tests, args.top);
    let text = match args.format {
        ReportFormat::Json => {
            serde_json::to_string_pretty(&report).map_err(|error| error.to_string())? + "\n"
        }
        ReportFormat::Table | ReportFormat::Html => {
            text(&report, &analysis.plan, &quarantine.policy)
        }
        ReportFormat::Md => markdown(&report, &quarantine.policy),
    };
    print!("{text}");
    Ok(EXIT_OK)
}

/// `--format html`: the page, written to a temporary file beside `--output` and renamed.
fn html(
    args: &ReportArgs,
    history: &crate::history::History,
    quarantine: &QuarantineConfig,
    now: Timestamp,
) -> Result<u8, Failure> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(super::html::DEFAULT_OUTPUT));
    let started = std::time::Instant::now();
    let mut progress = |step: &str| {
        eprintln!(
            "coalmine report: {step} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    };
    let caps = super::html::Caps {
        flakiest: args.top,
        ..super::html::Caps::default()
    };
    let page = super::html::build(history, quarantine, now, &caps, &mut progress)
        .map_err(|error| format!("cannot build the HTML report: {error}"))?;
    super::html::write_atomically(&output, page.as_bytes()).map_err(|error| error.to_string())?;
    eprintln!(
        "coalmine report: wrote {} ({} KB) in {:.1} s",
        output.display(),
        page.len().div_ceil(1024),
        started.elapsed().as_secs_f64()
    );
    Ok(EXIT_OK)
}

fn build(
    plan: &Plan,
    config: &QuarantineConfig,
    tests: &[crate::quarantine::TestInfo],
    top: usize,
) -> Report {
    let failing = flakiest(plan);
    let shown = failing.len().min(top);
    let flaky = failing[..shown]
        .iter()
        .map(|rate| FlakyTest {
            test: rate.test.clone(),
            owner: entry_of(config, &rate.test)
                .map(|entry| entry.owner.clone())
                .or_else(|| analysis::owner(tests, config, &rate.test)),
            status: status(plan, config, &rate.test),
            rate: rate.rate,
            failed: rate.failed,
            executions: rate.failed + rate.passed,
            runs: rate.runs,
            flipped_commits: rate.flipped_commits,
            commits: rate.commits,
        })
        .collect();
    Report {
        now: show_time(plan.now),
        preset: plan.preset.to_string(),
        broken: plan.broken.clone(),
        flakiest: Flakiest {
            window_days: config.policy.batch_window_days,
            tests: flaky,
            more: failing.len() - shown,
        },
        stability: plan.stability.clone(),
        lanes: plan.lanes.clone(),
        quarantined: config.quarantine.len(),
        counts: plan.counts.clone(),
    }
}

const FLAKY_HEADERS: &[&str] = &[
    "TEST",
    "OWNER",
    "STATUS",
    "RATE",
    "FAILED/EXECUTIONS",
    "RUNS",
    "FLIPPED COMMITS",
];

const FLAKY_HEADERS_MD: &[&str] = &[
    "Test",
    "Owner",
    "Status",
    "Rate",
    "Failed/executions",
    "Runs",
    "Flipped commits",
];

fn flaky_table(report: &Report, name: impl Fn(&str) -> String, headers: &[&str]) -> Table {
    let mut table = Table::new(headers);
    for test in &report.flakiest.tests {
        table.row(vec![
            name(&test.test),
            test.owner.clone().unwrap_or_else(|| "(none)".to_owned()),
            test.status.to_owned(),
            percent(test.rate),
            format!("{}/{}", test.failed, test.executions),
            test.runs.to_string(),
            format!("{}/{}", test.flipped_commits, test.commits),
        ]);
    }
    table
}

fn lane_table(lanes: &[LaneReport]) -> Table {
    let mut table = Table::new(&[
        "LANE",
        "REQUIRED",
        "FAILED RUNS",
        "RATE",
        "FAILING TESTS",
        "OPTIONAL CANDIDATE",
    ]);
    for lane in lanes {
        table.row(vec![
            lane.lane.clone(),
            if lane.required { "yes" } else { "no" }.to_owned(),
            format!("{}/{}", lane.failed_runs, lane.runs),
            percent(lane.rate),
            lane.distinct_failing_tests.to_string(),
            match lane.deadline {
                Some(deadline) => format!("yes: fix due {deadline}"),
                None => "no".to_owned(),
            },
        ]);
    }
    table
}

fn text(report: &Report, plan: &Plan, policy: &Policy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Report as of {} (policy {}; {} runs in the windows, {} tests, {} quarantined)\n",
        report.now,
        report.preset,
        report.counts.runs_in_windows,
        report.counts.tests,
        report.quarantined
    );
    broken_section(&mut out, plan, policy);
    let flaky = flaky_table(report, str::to_owned, FLAKY_HEADERS);
    let title = format!(
        "Flakiest tests (trusted, non-systemic runs, last {} days)",
        report.flakiest.window_days
    );
    if flaky.is_empty() {
        let _ = writeln!(out, "{title}: no test failed\n");
    } else {
        let _ = writeln!(out, "{title}:");
        out.push_str(&flaky.text(2));
        if report.flakiest.more > 0 {
            let _ = writeln!(
                out,
                "  ... and {} more failing test(s) (--top N shows more)",
                report.flakiest.more
            );
        }
        out.push('\n');
    }
    out.push_str(&stability_text(plan));
    out.push('\n');
    let lanes = lane_table(&report.lanes);
    let title = format!("Lanes (last {} days)", policy.lane_window_days);
    if lanes.is_empty() {
        let _ = writeln!(out, "{title}: none");
    } else {
        let _ = writeln!(out, "{title}:");
        out.push_str(&lanes.text(2));
        let _ = writeln!(out, "  {LANES_LEAVE_OUT_QUARANTINE}");
    }
    out
}

/// How lane counts treat quarantined tests, said under every lane table.
const LANES_LEAVE_OUT_QUARANTINE: &str = "(failed runs and failing tests leave out quarantined \
tests: a quarantined test fails nobody's change)";

fn markdown(report: &Report, policy: &Policy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Test suite report\n\nAs of {} (policy `{}`): {} runs in the windows, {} tests, {} \
         quarantined.\n",
        report.now,
        report.preset,
        report.counts.runs_in_windows,
        report.counts.tests,
        report.quarantined
    );
    let _ = writeln!(
        out,
        "### Flakiest tests (last {} days)\n",
        report.flakiest.window_days
    );
    if report.flakiest.tests.is_empty() {
        out.push_str("No test failed.\n\n");
    } else {
        // Test names as code, so that brackets and underscores stay literal.
        let table = flaky_table(report, code, FLAKY_HEADERS_MD);
        out.push_str(&table.markdown());
        if report.flakiest.more > 0 {
            let _ = writeln!(out, "\nAnd {} more failing test(s).", report.flakiest.more);
        }
        out.push('\n');
    }
    let stability = &report.stability;
    let _ = writeln!(
        out,
        "### Suite stability (last {} days, goal {})\n",
        stability.window_days,
        percent(stability.goal)
    );
    let met = |met: bool| {
        if met {
            "meets the goal"
        } else {
            "misses the goal"
        }
    };
    match stability.measured {
        Some(measured) => {
            let _ = writeln!(
                out,
                "- Projected pass rate: {} ({}); {} once the plan's candidates are quarantined",
                percent(stability.projected),
                met(stability.projected_met),
                percent(stability.projected_after_plan)
            );
            let _ = writeln!(
                out,
                "- Measured pass rate: {} over {} runs ({})\n",
                percent(measured),
                stability.measured_runs,
                met(measured >= stability.goal)
            );
        }
        None => {
            let _ = writeln!(out, "- {NOTHING_MEASURED}\n");
        }
    }
    let _ = writeln!(out, "### Lanes (last {} days)\n", policy.lane_window_days);
    let lanes = lane_table(&report.lanes);
    if lanes.is_empty() {
        out.push_str("No lane ran.\n");
    } else {
        out.push_str(&lanes.markdown());
        let _ = writeln!(out, "\n{LANES_LEAVE_OUT_QUARANTINE}");
    }
    out
}
