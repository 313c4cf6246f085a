//! `coalmine ingest`: JUnit XML files and folders into the history as one run (see
//! [`crate::ingest`] for test ids, merging and the ingest key).

use std::path::PathBuf;

use clap::Args;
use jiff::Timestamp;

use super::{EXIT_OK, EXIT_SKIPPED, Failure, Store, exit_code, parse_time, show_time};
use crate::history::{History, Recorded, RunKind};
use crate::ingest::{self, IngestError, RunInfo};

/// `coalmine ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The lane (CI job name) the run belongs to, e.g. periodic-e2e-sig-compute.
    #[arg(long, value_name = "LANE")]
    pub lane: String,
    /// The kind of run: periodic, presubmit, merged or local (by default periodic and merged
    /// runs count for flakiness: `[policy] trusted_kinds`).
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub kind: RunKind,
    /// The commit the run tested.
    #[arg(long, value_name = "SHA")]
    pub commit: String,
    /// When the run started: RFC 3339 (2026-11-20T03:00:00Z, 2026-11-20T03:00Z) or a day
    /// (00:00 UTC) [default: now]. Given, it is part of the run's identity.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<Timestamp>,
    /// The run's own id, e.g. the CI job's: the run's identity within its lane (the same id
    /// again is the same run) [default: the CI job id in the environment (GitHub Actions,
    /// GitLab CI, Buildkite, Drone, Jenkins, Prow), else none: the run is its lane, kind,
    /// commit, --at and files].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Do not take the run id from the CI job's environment (for a job that ingests several
    /// runs' reports, e.g. downloaded ones: give each its --run-id or --at).
    #[arg(long)]
    pub no_env_run_id: bool,
    #[command(flatten)]
    pub store: Store,
    /// JUnit XML files, and folders searched recursively for *.xml files. All of them are one
    /// run.
    #[arg(required = true, value_name = "FILES_OR_FOLDERS")]
    pub inputs: Vec<PathBuf>,
}

fn parse_kind(text: &str) -> Result<RunKind, String> {
    RunKind::parse(text.trim()).ok_or_else(|| {
        format!(
            "`{text}` is not a kind of run: use one of {}",
            RunKind::NAMES.join(", ")
        )
    })
}

/// Runs `coalmine ingest`; returns the exit code.
pub fn run(args: &IngestArgs) -> u8 {
    exit_code(ingest_files(args))
}

/// The failure when no input could be read: each problem is printed, then this sentence.
fn nothing_read(skipped: &[impl std::fmt::Display]) -> Failure {
    for skipped in skipped {
        eprintln!("error: {skipped}");
    }
    format!(
        "nothing could be read from the inputs ({} problem(s), each named above); nothing was \
         recorded",
        skipped.len()
    )
}

fn ingest_files(args: &IngestArgs) -> Result<u8, Failure> {
    if args.lane.trim().is_empty() {
        return Err("--lane is empty: give the CI job name, e.g. periodic-e2e".to_owned());
    }
    if args.commit.trim().is_empty() {
        return Err("--commit is empty: give the commit the run tested (or `unknown`)".to_owned());
    }
    // Read before the history is opened: a mistyped path, folders without any XML file, or
    // files that cannot be read neither touch nor create it.
    let parsed = ingest::read_inputs(&args.inputs).map_err(|error| match error {
        IngestError::NothingRead { skipped } => nothing_read(&skipped),
        other => other.to_string(),
    })?;
    let (run_id, identity) = match &args.run_id {
        Some(id) if id.trim().is_empty() => {
            return Err(
                "--run-id is empty: give the run's id (e.g. the CI job's), or leave the \
                        option out"
                    .to_owned(),
            );
        }
        Some(id) => (
            Some(id.trim().to_owned()),
            format!("run id {:?} (--run-id)", id.trim()),
        ),
        None => match ingest::ci_run_id(|name| std::env::var(name).ok())
            .filter(|_| !args.no_env_run_id)
        {
            Some(found) => (
                Some(found.id.clone()),
                format!("run id {:?} (from {})", found.id, found.from),
            ),
            None => (
                None,
                match args.at {
                    Some(_) => "its lane, kind, commit, --at and files".to_owned(),
                    None => "its lane, kind, commit and files (no --run-id, no --at)".to_owned(),
                },
            ),
        },
    };
    let path = args.store.history_path_lazily()?;
    let mut history = History::open(&path).map_err(|error| error.to_string())?;
    // What messages name: the file, or the server's URL with its password masked.
    let path = history.path().to_path_buf();
    let run = RunInfo {
        lane: args.lane.trim().to_owned(),
        kind: args.kind,
        commit: args.commit.trim().to_owned(),
        started_at: args.at.unwrap_or_else(Timestamp::now),
        at_given: args.at.is_some(),
        run_id,
    };
    let report = ingest::record(&mut history, parsed, &args.inputs, &run)
        .map_err(|error| error.to_string())?;
    let parsed = &report.parsed;
    for skipped in &parsed.skipped {
        eprintln!("warning: {skipped}");
    }
    if parsed.unnamed > 0 {
        eprintln!(
            "warning: {} testcase(s) in {} have no name; each is recorded as `<classname or \
             suite>::{}` (give the tests names to tell them apart)",
            parsed.unnamed,
            parsed
                .unnamed_in
                .iter()
                .map(|file| file.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            ingest::UNNAMED
        );
    }
    let tally = parsed.tally;
    println!(
        "read {} file(s){}: {} testcase(s)",
        parsed.files.len(),
        if parsed.skipped.is_empty() {
            String::new()
        } else {
            format!(", skipped {}", parsed.skipped.len())
        },
        parsed.testcases
    );
    match report.recorded {
        Some(Recorded::New { run_id, results }) => println!(
            "recorded run {run_id} into {}: lane {}, kind {}, commit {}, at {}, {results} result(s); \
             identified by {identity}",
            path.display(),
            run.lane,
            run.kind.as_str(),
            run.commit,
            show_time(run.started_at)
        ),
        Some(Recorded::AlreadyRecorded { run_id }) => println!(
            "already recorded as run {run_id} in {}: this run is {identity}, and run {run_id} has \
             every file given; nothing written",
            path.display()
        ),
        Some(Recorded::Completed { run_id, results }) => {
            println!(
                "completed run {run_id} in {} with {} file(s) it did not have ({}); the other \
                 files were recorded with it before: it now has {results} result(s)",
                path.display(),
                report.new_files.len(),
                report
                    .new_files
                    .iter()
                    .map(|file| file.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        None => eprintln!(
            "warning: no testcase in the {} file(s) read: nothing was recorded (did the test \
             runner run any test?)",
            parsed.files.len()
        ),
    }
    let flaky = if tally.flaky > 0 {
        format!(" ({} only on a retry)", tally.flaky)
    } else {
        String::new()
    };
    println!(
        "tests in the files read: {} passed{flaky}, {} failed, {} errored, {} skipped",
        tally.passed, tally.failed, tally.errored, tally.skipped
    );
    if !parsed.skipped.is_empty() {
        let rest = match report.recorded {
            Some(Recorded::New { run_id, .. } | Recorded::Completed { run_id, .. }) => format!(
                "; the rest was recorded as run {run_id}. Once they are fixed, run the same \
                 command again: the files recorded now are recognised, and the fixed ones \
                 complete run {run_id} instead of counting it twice"
            ),
            _ => String::new(),
        };
        eprintln!(
            "{} input(s) skipped (listed above){rest} (exit code {EXIT_SKIPPED})",
            parsed.skipped.len()
        );
    }
    let code = if !parsed.skipped.is_empty() {
        EXIT_SKIPPED
    } else {
        EXIT_OK
    };
    // The process ends when this returns: the run's results (tens of thousands of
    // allocations) are left to the system to reclaim at once rather than freed one by one.
    std::mem::forget(report);
    Ok(code)
}
