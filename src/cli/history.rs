//! `coalmine history merge INTO FROM...`: the histories of several machines or jobs (canaries
//! sharded with `cargo nextest run --partition`, CI jobs that each keep their own SQLite file)
//! merged into one (see [`crate::history::merge`] for what is the same run).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{EXIT_OK, Failure, exit_code};
use crate::history::merge::merge;

/// The `history` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum HistoryCommand {
    /// Merge the histories FROM into INTO (created if missing): runs, results, tests, tags,
    /// fixes and report files; a run INTO has already (the same ingest key) gets only what it
    /// lacks. All or nothing: on failure INTO is left as it was.
    Merge(MergeArgs),
}

/// `coalmine history merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The history to merge into.
    #[arg(value_name = "INTO")]
    pub into: PathBuf,
    /// The histories to merge from.
    #[arg(required = true, value_name = "FROM")]
    pub from: Vec<PathBuf>,
}

/// Runs a `history` subcommand; returns the exit code.
pub fn run(command: &HistoryCommand) -> u8 {
    match command {
        HistoryCommand::Merge(args) => exit_code(merge_command(args)),
    }
}

fn merge_command(args: &MergeArgs) -> Result<u8, Failure> {
    let merged = merge(&args.into, &args.from).map_err(|error| error.to_string())?;
    println!(
        "merged {} histor{} into {}: {} run(s) added, {} run(s) given results they lacked, {} \
         run(s) it had already; {} result(s) in {} batch(es) added; {} fix(es) read",
        args.from.len(),
        if args.from.len() == 1 { "y" } else { "ies" },
        args.into.display(),
        merged.runs_added,
        merged.runs_extended,
        merged.runs_already,
        merged.results_added,
        merged.batches_added,
        merged.fixes
    );
    Ok(EXIT_OK)
}
