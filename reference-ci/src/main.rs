//! `reference-ci`: a reference recipe CI that needs no Docker. It deploys a recipe revision by
//! starting its services as real processes serving HTTP on loopback ports, runs the staged
//! tests (install, upgrade, backup, restore, custom) against them over real HTTP, tears
//! everything down, scans its own files for secret values, and writes a cc-ci shaped
//! `results.json`. See README.md for the command line, recipe format and bundled recipes.
//!
//! Exit status: 0 no tier failed, 1 a tier failed, 2 no verdict (usage error, unknown recipe
//! or revision, invalid recipe or environment, unusable artifacts dir).

mod checks;
mod cli;
mod deploy;
mod error;
mod http;
mod mime;
mod race;
mod recipe;
mod results;
mod run;
mod secrets;
mod serve;
mod service;
mod signals;
mod stages;
mod volumes;

use std::ffi::OsString;
use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match cli::parse(&args, |var| std::env::var(var).ok()) {
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Run(run_args)) => {
            // First thing: from here on a SIGTERM must take the services down with the CI.
            signals::install();
            match run::run(&run_args) {
                Ok(false) => ExitCode::SUCCESS,
                Ok(true) => ExitCode::from(1),
                Err(error) => {
                    eprintln!("reference-ci: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Ok(Command::Serve(serve_args)) => match serve::main(serve_args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                // stderr is the service's log file.
                eprintln!("reference-ci serve: {error}");
                ExitCode::from(2)
            }
        },
        Err(error) => {
            eprintln!("reference-ci: {error}");
            ExitCode::from(2)
        }
    }
}
