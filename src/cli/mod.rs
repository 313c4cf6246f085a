//! The history commands of the `coalmine` binary: `ingest`, `report` and `quarantine
//! plan|apply|explain|export|fixed`. They live in the library (not the binary) so that the binary,
//! the integration tests and the benchmarks share one code path: `src/main.rs` only declares
//! the subcommands (with the argument structs defined here) and calls each module's `run`.
//!
//! - [`ingest`]: JUnit XML files and folders into the history, as one run.
//! - [`report`]: flakiest tests, suite stability, lanes; [`html`]: the same as one
//!   self-contained HTML page (`--format html`).
//! - [`quarantine`]: the plan, `explain` (why a test is or is not a candidate) and `fixed`
//!   (records a fix), with [`apply`] (edits harness.toml) and [`export`] (skip lists for
//!   other runners).
//! - [`analysis`]: the plan computed from the history by streaming it into the policy's
//!   [`Aggregator`](crate::quarantine::Aggregator).
//! - [`output`]: text tables, Markdown and the plan's renderings.
//! - [`runs`]: `runs prune`, artifact retention on demand.
//! - [`history`]: `history merge`, several histories into one.
//! - [`init`]: `coalmine init`, which sets up canaries in a crate.
//!
//! # Exit codes
//! - `0`: done.
//! - `1`: failed; the reason is on standard error, and nothing was recorded or written.
//! - `2`: the command line was wrong (clap's usage error).
//! - `3`: done, but some inputs were skipped (`ingest`: a malformed file, a folder without XML
//!   files, each named on standard error with its line and column when it has one).
//!
//! # Where the history and harness.toml are
//! The history database is `--history PATH`, else `COALMINE_HISTORY`, else `[history] path` of
//! the harness.toml in use, else `.coalmine/history.db` beside that harness.toml, or in the
//! current folder when there is none. The harness.toml is `--config PATH`, else
//! `COALMINE_CONFIG`, else the first one found in the current folder or a parent.
//!
//! Times (`--at`, `--now`) are RFC 3339 (`2026-11-20T03:00:00Z`, `2026-11-20T04:00+01:00`),
//! also without seconds (`2026-11-20T03:00Z`), or a bare day (`2026-11-20`, 00:00 UTC).

pub mod analysis;
pub mod apply;
pub mod export;
pub mod history;
pub mod html;
pub mod ingest;
pub mod init;
pub mod output;
pub mod quarantine;
pub mod report;
pub mod runs;

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use jiff::Timestamp;

use crate::config::{Config, ConfigErrorKind};
use crate::history::History;
use crate::quarantine::QuarantineConfig;

/// Done.
pub const EXIT_OK: u8 = 0;
/// Failed; the reason is on standard error.
pub const EXIT_FAILED: u8 = 1;
/// The command line was wrong.
pub const EXIT_USAGE: u8 = 2;
/// Done, but some inputs were skipped or not recorded (each is named on standard error).
pub const EXIT_SKIPPED: u8 = 3;
/// The history's PostgreSQL server could not be reached; nothing was recorded or written.
pub const EXIT_UNREACHABLE: u8 = 4;

/// The exit codes, as `coalmine --help` shows them.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  done
  1  failed: the reason is on standard error; nothing was recorded or written
  2  the command line was wrong
  3  done, but some inputs were skipped or not recorded (each is named on standard error)
  4  the history's PostgreSQL server could not be reached (down, wrong host or port); nothing
     was recorded or written";

/// A command's failure: the message printed after `error: `, exit code 1.
pub type Failure = String;

/// Prints a failure and returns [`EXIT_FAILED`], or [`EXIT_UNREACHABLE`] when the failure is
/// that the history's server could not be reached.
pub fn fail(message: impl std::fmt::Display) -> u8 {
    let message = message.to_string();
    eprintln!("error: {message}");
    match message.contains(crate::history::error::UNREACHABLE) {
        true => EXIT_UNREACHABLE,
        false => EXIT_FAILED,
    }
}

/// Turns a command's result into its exit code, printing the failure.
pub fn exit_code(result: Result<u8, Failure>) -> u8 {
    result.unwrap_or_else(fail)
}

/// How a report or plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Aligned text tables for a terminal.
    #[default]
    Table,
    /// Markdown (for `quarantine plan`: the pull-request description, grouped by owner).
    Md,
    /// JSON, pretty-printed.
    Json,
}

/// Where the history and harness.toml are; shared by every history command.
#[derive(Debug, Clone, Default, Args)]
pub struct Store {
    /// The history: a SQLite file, or a PostgreSQL server's postgres:// URL [default:
    /// COALMINE_HISTORY, else `[history] path` or `url` of harness.toml, else
    /// .coalmine/history.db beside harness.toml or in the current folder].
    #[arg(long, value_name = "PATH|URL")]
    pub history: Option<PathBuf>,
    /// The harness.toml to use [default: COALMINE_CONFIG, else the first harness.toml in the
    /// current folder or a parent].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl Store {
    /// The harness.toml in use, if any: `--config` (which must exist), else `COALMINE_CONFIG`,
    /// else the first one upwards from the current folder. An invalid file is a failure.
    pub fn config(&self) -> Result<Option<Config>, Failure> {
        if let Some(path) = &self.config {
            return Config::load(path)
                .map(Some)
                .map_err(|error| error.to_string());
        }
        let cwd = current_dir()?;
        match Config::discover(&cwd) {
            Ok(config) => Ok(Some(config)),
            Err(error) if matches!(error.kind, ConfigErrorKind::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    /// The harness.toml in use; a failure naming what to do when there is none.
    pub fn required_config(&self, command: &str) -> Result<Config, Failure> {
        match self.config()? {
            Some(config) => Ok(config),
            None => Err(format!(
                "no harness.toml in {} or any parent folder: `{command}` reads [[quarantine]] \
                 from it; run `coalmine init`, give --config PATH, or set COALMINE_CONFIG",
                current_dir()?.display()
            )),
        }
    }

    /// The history path, reading harness.toml only when neither `--history` nor
    /// `COALMINE_HISTORY` says it.
    pub fn history_path(&self, config: Option<&Config>) -> Result<PathBuf, Failure> {
        if let Some(path) = &self.history {
            return Ok(path.clone());
        }
        match config {
            Some(config) => Ok(History::resolve_path(
                config.history.path.as_deref(),
                config.root(),
            )),
            None => Ok(History::resolve_path(None, &current_dir()?)),
        }
    }

    /// What the reading commands (`plan`, `explain`, `report`) start from: the quarantine
    /// tables of harness.toml (empty without one), the history's path, and the history, which
    /// must exist.
    pub fn for_reading(&self) -> Result<(QuarantineConfig, PathBuf, History), Failure> {
        let config = self.config()?;
        let quarantine = config
            .as_ref()
            .map(|config| config.quarantine.clone())
            .unwrap_or_default();
        let path = self.history_path(config.as_ref())?;
        let history = open_existing(&path)?;
        // What messages name: the file, or the server's URL with its password masked.
        let path = history.path().to_path_buf();
        Ok((quarantine, path, history))
    }

    /// The history path without a harness.toml at hand: harness.toml is loaded only when
    /// `--history` and `COALMINE_HISTORY` are both absent.
    pub fn history_path_lazily(&self) -> Result<PathBuf, Failure> {
        let env = std::env::var_os(crate::history::HISTORY_ENV).filter(|value| !value.is_empty());
        if self.history.is_some() || env.is_some() {
            return self.history_path(None);
        }
        let config = self.config()?;
        self.history_path(config.as_ref())
    }
}

fn current_dir() -> Result<PathBuf, Failure> {
    std::env::current_dir().map_err(|error| format!("cannot read the current folder: {error}"))
}

/// Opens a history that must already exist (reading commands never create one).
pub fn open_existing(path: &Path) -> Result<History, Failure> {
    if History::is_server(path) {
        return History::open_existing(path).map_err(|error| error.to_string());
    }
    if let Some(url) = crate::history::store::url_in(path) {
        return Err(crate::history::HistoryError::Url { url: url.into() }.to_string());
    }
    if !path.exists() {
        return Err(format!(
            "no history database at {}: record runs first (`coalmine ingest ...`, or run the \
             canaries), or point --history, COALMINE_HISTORY or `[history] path` in \
             harness.toml at it",
            path.display()
        ));
    }
    History::open(path).map_err(|error| error.to_string())
}

/// Parses `--at` / `--now`: RFC 3339 with or without seconds, or a bare day (00:00 UTC).
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    let trimmed = text.trim();
    if let Ok(at) = trimmed.parse::<Timestamp>() {
        return Ok(at);
    }
    let has_time = trimmed.contains(['T', 't', ' ']);
    if !has_time && let Ok(day) = trimmed.parse::<jiff::civil::Date>() {
        return Ok(crate::quarantine::calendar::start_of_day(day));
    }
    let hint = if trimmed.parse::<jiff::civil::DateTime>().is_ok() {
        " (add `Z` for UTC or an offset such as `+02:00`)"
    } else {
        ""
    };
    Err(format!(
        "`{text}` is not a time{hint}: write RFC 3339 such as 2026-11-20T03:00:00Z or \
         2026-11-20T03:00Z, or a day such as 2026-11-20 (00:00 UTC)"
    ))
}

pub use crate::quarantine::calendar::show_time;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let at = |text: &str| parse_time(text).map(show_time);
        assert_eq!(at("2026-11-20T03:00Z").unwrap(), "2026-11-20T03:00:00Z");
        assert_eq!(at("2026-11-20T03:00:07Z").unwrap(), "2026-11-20T03:00:07Z");
        assert_eq!(
            at("2026-11-20T04:00+01:00").unwrap(),
            "2026-11-20T03:00:00Z"
        );
        assert_eq!(at("2026-11-20").unwrap(), "2026-11-20T00:00:00Z");
        assert!(at("2026-11-20T03:00").unwrap_err().contains("add `Z`"));
        assert!(at("yesterday").unwrap_err().contains("is not a time"));
    }
}
