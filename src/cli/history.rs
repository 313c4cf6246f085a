//! `coalmine history merge INTO FROM...`: the histories of several machines or jobs (canaries
//! sharded with `cargo nextest run --partition`, CI jobs that each keep their own SQLite file)
//! merged into one, a SQLite file or a PostgreSQL server (see [`crate::history::merge`] for
//! what is the same run); and
//! `coalmine history copy --from A --to B` between backends ([`crate::history::copy`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{EXIT_OK, Failure, exit_code};
use crate::history::History;
use crate::history::copy::{copy, open_source};
use crate::history::merge::merge;
use crate::history::store::mask_url;

/// The `history` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum HistoryCommand {
    /// Merge the histories FROM into INTO (a file, created if missing, or a postgres:// URL):
    /// runs, results, tests, tags, fixes and report files; a run INTO has already (the same
    /// ingest key) gets only what it lacks. All or nothing: on failure INTO is left as it was
    /// (on a server, the whole merge is one transaction).
    Merge(MergeArgs),
    /// Copy every run, result, test, tag, report file and fix of the history FROM into TO,
    /// between any two backends (a SQLite file, a postgres:// URL), then compare their counts
    /// (runs, results, tests, fixes). Each run is copied whole or not at all; copying again
    /// after a failure adds only what is missing.
    Copy(CopyArgs),
}

/// `coalmine history copy`.
#[derive(Debug, Clone, Args)]
pub struct CopyArgs {
    /// The history to copy from: a file or a postgres:// URL.
    #[arg(long, value_name = "HISTORY")]
    pub from: PathBuf,
    /// The history to copy into: a file (created if missing) or a postgres:// URL (the
    /// database must exist).
    #[arg(long, value_name = "HISTORY")]
    pub to: PathBuf,
}

/// `coalmine history merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The history to merge into: a file or a postgres:// URL.
    #[arg(value_name = "INTO")]
    pub into: PathBuf,
    /// The histories to merge from: files or postgres:// URLs.
    #[arg(required = true, value_name = "FROM")]
    pub from: Vec<PathBuf>,
}

/// Runs a `history` subcommand; returns the exit code.
pub fn run(command: &HistoryCommand) -> u8 {
    match command {
        HistoryCommand::Merge(args) => exit_code(merge_command(args)),
        HistoryCommand::Copy(args) => exit_code(copy_command(args)),
    }
}

fn merge_command(args: &MergeArgs) -> Result<u8, Failure> {
    let merged = merge(&args.into, &args.from).map_err(|error| error.to_string())?;
    println!(
        "merged {} histor{} into {}: {} run(s) added, {} run(s) given results they lacked, {} \
         run(s) it had already; {} result(s) in {} batch(es) added; {} fix(es) read",
        args.from.len(),
        if args.from.len() == 1 { "y" } else { "ies" },
        mask_url(&args.into.to_string_lossy()),
        merged.runs_added,
        merged.runs_extended,
        merged.runs_already,
        merged.results_added,
        merged.batches_added,
        merged.fixes
    );
    Ok(EXIT_OK)
}

fn copy_command(args: &CopyArgs) -> Result<u8, Failure> {
    let from = open_source(&args.from).map_err(|error| error.to_string())?;
    let mut to = History::open(&args.to).map_err(|error| error.to_string())?;
    let copied = copy(&from, &mut to).map_err(|error| error.to_string())?;
    println!(
        "copied {} into {}: {} run(s) added ({} there already), {} result(s) added; both now \
         hold {} run(s), {} result(s), {} test(s), {} fix(es): counts compared, equal",
        from.path().display(),
        to.path().display(),
        copied.merged.runs_added,
        copied.merged.runs_already,
        copied.merged.results_added,
        copied.runs,
        copied.results,
        copied.tests,
        copied.fixes
    );
    Ok(EXIT_OK)
}
