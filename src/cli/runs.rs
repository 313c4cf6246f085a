//! `coalmine runs prune`: artifact retention on demand. Keeps the newest `[run] keep` (or
//! `--keep N`) run folders of every canary under `[run] artifacts`, and each canary's last
//! passing run, and removes the other run folders; runs in progress, symbolic links and
//! anything that is not a run folder are left alone (see [`crate::execute::retention`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{EXIT_FAILED, EXIT_OK, Failure, Store, exit_code};
use crate::execute::retention;

/// The `runs` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum RunsCommand {
    /// Remove old run folders under `[run] artifacts`: keep the newest `[run] keep` (20) of each
    /// canary and its last passing run; never a run in progress, a symbolic link, or anything
    /// that is not a run folder.
    Prune(PruneArgs),
}

/// `coalmine runs prune`.
#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// How many run folders of each canary to keep [default: `[run] keep` of harness.toml].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,
    /// The harness.toml to use [default: COALMINE_CONFIG, else the first harness.toml in the
    /// current folder or a parent].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Runs a `runs` subcommand; returns the exit code.
pub fn run(command: &RunsCommand) -> u8 {
    match command {
        RunsCommand::Prune(args) => exit_code(prune(args)),
    }
}

fn prune(args: &PruneArgs) -> Result<u8, Failure> {
    let store = Store {
        history: None,
        config: args.config.clone(),
    };
    let Some(config) = store.config()? else {
        return Err(
            "no harness.toml in the current folder or any parent: `runs prune` reads `[run] \
             artifacts` from it; run it in your crate, give --config PATH, or set COALMINE_CONFIG"
                .to_owned(),
        );
    };
    let keep = args.keep.map_or(config.run.keep, |keep| keep as usize);
    let root = &config.run.artifacts;
    let pruned = retention::prune(root, keep, None).map_err(|error| {
        format!(
            "cannot list the run folders under {}: {error}",
            root.display()
        )
    })?;
    for folder in &pruned.removed {
        println!("removed {}", folder.display());
    }
    for folder in &pruned.in_progress {
        println!("kept {} (its run is in progress)", folder.display());
    }
    match pruned.summary(root, keep) {
        Some(line) => eprintln!("{line}"),
        None => eprintln!(
            "coalmine: nothing to remove under {} (at most {keep} run folders per canary)",
            root.display()
        ),
    }
    Ok(if pruned.failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
