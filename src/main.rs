//! The `coalmine` command line. Subcommands: `init` (set up canaries in a crate).
//!
//! Exit codes: 0 success, 1 the command failed (the reason is on standard error), 2 the command
//! line was wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "coalmine", version, about = "Regression canaries for recipe CIs", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set up canaries in a crate: harness.toml, tests/regression/canaries.rs and the [[test]]
    /// entry in Cargo.toml. Refuses to overwrite anything that exists.
    Init {
        /// The crate's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Init { dir } => match coalmine::init::init(&dir) {
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
                ExitCode::from(1)
            }
        },
    }
}
