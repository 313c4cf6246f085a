//! The `coalmine` command line. Subcommands: `init` (set up canaries in a crate), `ingest`
//! (JUnit XML into the history), `report` (flakiest tests, suite stability, lanes) and
//! `quarantine plan|apply|export|fixed`, `runs prune` (artifact retention) and `history merge`. The history commands live in the library,
//! [`coalmine::cli`], shared with the tests and benchmarks.
//!
//! Exit codes: 0 success, 1 the command failed (the reason is on standard error), 2 the command
//! line was wrong, 3 done but some inputs were skipped (`ingest`: a malformed file, each named
//! on standard error with its line and column) or not recorded (see [`EXIT_CODES_HELP`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use coalmine::cli::history::HistoryCommand;
use coalmine::cli::ingest::IngestArgs;
use coalmine::cli::quarantine::QuarantineCommand;
use coalmine::cli::report::ReportArgs;
use coalmine::cli::runs::RunsCommand;
use coalmine::cli::{EXIT_CODES_HELP, EXIT_FAILED, EXIT_OK, EXIT_USAGE};

#[derive(Parser)]
#[command(
    name = "coalmine",
    version,
    about = "Regression canaries for recipe CIs, and flaky-test quarantine",
    long_about = None,
    after_help = EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set up canaries in a crate: harness.toml, tests/regression/canaries.rs, the [[test]]
    /// entry in Cargo.toml and `.coalmine/` (the history) in .gitignore. Refuses to overwrite
    /// anything that exists. In a virtual workspace's root, give --package.
    Init {
        /// The crate's folder (or the workspace's, with --package).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The workspace member to set up, by package name (required in a virtual workspace).
        #[arg(long, short = 'p', value_name = "NAME")]
        package: Option<String>,
    },
    /// Record JUnit XML files and folders (searched recursively for *.xml) in the history as
    /// one run; malformed files are named with their line and column and skipped (exit 3).
    #[command(after_help = EXIT_CODES_HELP)]
    Ingest(IngestArgs),
    /// The flakiest tests, suite stability against the goal, and lanes.
    #[command(after_help = EXIT_CODES_HELP)]
    Report(ReportArgs),
    /// Plan, apply and export the quarantine of flaky tests; record fixes.
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Quarantine(QuarantineCommand),
    /// Manage the canaries' run folders under `[run] artifacts`.
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Runs(RunsCommand),
    /// Merge histories (several machines', or CI jobs') into one; copy one between backends
    /// (a SQLite file, a PostgreSQL server).
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    History(HistoryCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // `--help` and `--version` are not errors.
            return ExitCode::from(if error.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            });
        }
    };
    match cli.command {
        Command::Init { dir, package } => init(&dir, package.as_deref()),
        Command::Ingest(args) => ExitCode::from(coalmine::cli::ingest::run(&args)),
        Command::Report(args) => ExitCode::from(coalmine::cli::report::run(&args)),
        Command::Quarantine(command) => ExitCode::from(coalmine::cli::quarantine::run(&command)),
        Command::Runs(command) => ExitCode::from(coalmine::cli::runs::run(&command)),
        Command::History(command) => ExitCode::from(coalmine::cli::history::run(&command)),
    }
}

/// `coalmine init`: prints what was written and the next steps, or the reason nothing was.
fn init(dir: &Path, package: Option<&str>) -> ExitCode {
    match coalmine::cli::init::init(dir, package) {
        Ok(report) => {
            for path in &report.written {
                println!("wrote {}", path.display());
            }
            println!("next:");
            for step in &report.next_steps {
                println!("  - {step}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
