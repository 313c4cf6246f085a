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
    /// The kind of run: periodic, presubmit, merged or local (periodic and merged runs count
    /// for flakiness).
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub kind: RunKind,
    /// The commit the run tested.
    #[arg(long, value_name = "SHA")]
    pub commit: String,
    /// When the run started: RFC 3339 (2026-11-20T03:00:00Z, 2026-11-20T03:00Z) or a day
    /// (00:00 UTC) [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<Timestamp>,
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

fn ingest_files(args: &IngestArgs) -> Result<u8, Failure> {
    if args.lane.trim().is_empty() {
        return Err("--lane is empty: give the CI job name, e.g. periodic-e2e".to_owned());
    }
    if args.commit.trim().is_empty() {
        return Err("--commit is empty: give the commit the run tested (or `unknown`)".to_owned());
    }
    // A mistyped path fails before the history is touched (or created).
    for input in &args.inputs {
        if let Err(source) = std::fs::metadata(input) {
            return Err(IngestError::Input {
                path: input.clone(),
                source,
            }
            .to_string());
        }
    }
    let path = args.store.history_path_lazily()?;
    let mut history = History::open(&path).map_err(|error| error.to_string())?;
    let run = RunInfo {
        lane: args.lane.trim().to_owned(),
        kind: args.kind,
        commit: args.commit.trim().to_owned(),
        started_at: args.at.unwrap_or_else(Timestamp::now),
    };
    let report = ingest::ingest(&mut history, &args.inputs, &run).map_err(|error| match error {
        IngestError::NothingRead { skipped } => {
            for skipped in &skipped {
                eprintln!("error: {skipped}");
            }
            format!(
                "none of the {} file(s) could be read (each is named above); nothing was recorded",
                skipped.len()
            )
        }
        other => other.to_string(),
    })?;
    let parsed = &report.parsed;
    for skipped in &parsed.skipped {
        eprintln!("warning: {skipped}");
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
            "recorded run {run_id} into {}: lane {}, kind {}, commit {}, at {}, {results} result(s)",
            path.display(),
            run.lane,
            run.kind.as_str(),
            run.commit,
            show_time(run.started_at)
        ),
        Some(Recorded::AlreadyRecorded { run_id }) => {
            println!(
                "already recorded as run {run_id} in {} (same file contents): nothing written",
                path.display()
            );
            let earlier = history
                .run_summaries(None)
                .map_err(|error| error.to_string())?
                .into_iter()
                .find(|summary| summary.run.id == run_id);
            if let Some(earlier) = earlier {
                let run_then = &earlier.run;
                if run_then.lane != run.lane || run_then.commit != run.commit {
                    eprintln!(
                        "warning: run {run_id} was recorded with lane {}, commit {}, at {}; if \
                         this is another run whose report is byte for byte the same, it was not \
                         recorded (reports usually differ in their durations)",
                        run_then.lane,
                        run_then.commit,
                        show_time(run_then.started_at)
                    );
                }
            }
        }
        None => println!("no testcase in the files: nothing recorded"),
    }
    let flaky = if tally.flaky > 0 {
        format!(" ({} only on a retry)", tally.flaky)
    } else {
        String::new()
    };
    println!(
        "tests: {} passed{flaky}, {} failed, {} errored, {} skipped",
        tally.passed, tally.failed, tally.errored, tally.skipped
    );
    if parsed.skipped.is_empty() {
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "{} input(s) skipped (listed above); the rest was ingested (exit code {EXIT_SKIPPED})",
            parsed.skipped.len()
        );
        Ok(EXIT_SKIPPED)
    }
}
