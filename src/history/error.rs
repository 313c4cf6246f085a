//! What can go wrong with the history database. Every error names the database file and says
//! what to do; none of them is ever answered by replacing or deleting the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the message of [`HistoryError::Unreachable`] starts: what the command line looks for to
/// exit with code 4.
pub const UNREACHABLE: &str = "cannot reach the PostgreSQL server ";

/// An error opening, reading or writing the history database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The history was given as a URL of a kind coalmine cannot open (only `postgres://` and
    /// `postgresql://` name a server); the password, if the URL has one, is shown as `***`.
    #[error(
        "the history `{}` is a URL, but coalmine keeps its history in a SQLite file or on a \
         PostgreSQL server (postgres://user@host:port/db); give a file path or a postgres:// \
         URL in `[history] path`, COALMINE_HISTORY or --history; nothing was created",
        url.display()
    )]
    Url {
        /// The URL as given, its password masked (what [`HistoryError::path`] gives).
        url: PathBuf,
    },

    /// The PostgreSQL server of the history could not be reached (down, wrong host or port,
    /// refused, timed out); nothing was recorded. Commands exit with code 4 for it.
    #[error(
        "{UNREACHABLE}{server} for the history {}: {detail}; nothing was recorded: check that \
         the server is running and that the URL's host and port are right",
        url.display()
    )]
    Unreachable {
        /// The URL, its password masked.
        url: PathBuf,
        /// The host(s) and port, or the unix socket, that were tried.
        server: String,
        /// What the client said.
        detail: String,
    },

    /// The TLS connection to the server failed: its certificate was not accepted under the
    /// URL's `sslmode`, it offers no TLS where the mode requires it, or it refused the client's
    /// certificate. Nothing was recorded.
    #[error(
        "the TLS connection to {server} for the history {} failed (sslmode={mode}): {detail}; \
         {advice}; nothing was recorded",
        url.display()
    )]
    Tls {
        /// The URL, its password masked.
        url: PathBuf,
        /// The host(s) and port that were tried.
        server: String,
        /// The URL's `sslmode`.
        mode: &'static str,
        /// What the client said.
        detail: String,
        /// What to do about it.
        advice: &'static str,
    },

    /// The history's URL is not one coalmine can connect with.
    #[error("cannot use the history URL {}: {reason}; nothing was created", url.display())]
    ServerConfig {
        /// The URL, its password masked.
        url: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The database on the server holds another application's tables.
    #[error(
        "the database of {} is not a coalmine history ({found}); coalmine leaves it untouched: \
         give coalmine a database of its own (`createdb coalmine`) in the URL",
        url.display()
    )]
    ForeignServer {
        /// The URL, its password masked.
        url: PathBuf,
        /// What it holds instead.
        found: String,
    },

    /// A reading command was pointed at a server database that holds no history yet.
    #[error(
        "no history in the database of {}: record runs first (`coalmine ingest ...`, or run the \
         canaries with COALMINE_HISTORY set to this URL)",
        url.display()
    )]
    NoServerHistory {
        /// The URL, its password masked.
        url: PathBuf,
    },

    /// The PostgreSQL server refused or failed an operation (authentication, a missing
    /// database, a dropped connection); a recording that failed was not written at all.
    #[error(
        "the history {} on PostgreSQL failed while {doing}: {}",
        url.display(),
        server_said(source)
    )]
    Postgres {
        /// The URL, its password masked.
        url: PathBuf,
        /// What was being done.
        doing: &'static str,
        /// The client's error.
        source: postgres::Error,
    },

    /// The folder that should hold the database could not be created.
    #[error(
        "cannot create the folder {} for the history database {}: {source}; create it, or point \
         `[history] path` in harness.toml or COALMINE_HISTORY somewhere writable",
        dir.display(),
        path.display()
    )]
    CreateDir {
        /// The database file.
        path: PathBuf,
        /// The folder that could not be created.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The file could not be looked at before opening it.
    #[error(
        "cannot read the history database {}: {source}; check that it exists and that you may \
         read and write it",
        path.display()
    )]
    Io {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// SQLite could not open the file.
    #[error(
        "cannot open the history database {}: {source}; check the path and its permissions",
        path.display()
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },

    /// The file is not a SQLite database at all.
    #[error(
        "{} is not a SQLite database ({found}); coalmine keeps its history in SQLite and leaves \
         this file untouched: move it away, or point `[history] path` in harness.toml or \
         COALMINE_HISTORY to another file",
        path.display()
    )]
    NotSqlite {
        /// The file.
        path: PathBuf,
        /// What was found instead, e.g. `it starts with "hello"`.
        found: String,
    },

    /// The file is a SQLite database of some other application.
    #[error(
        "{} is a SQLite database of another application ({found}), not a coalmine history; \
         coalmine leaves it untouched: point `[history] path` in harness.toml or \
         COALMINE_HISTORY to another file",
        path.display()
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What it holds instead, e.g. `tables: accounts, orders`.
        found: String,
    },

    /// The file is a damaged SQLite database (truncated, overwritten, half-copied).
    #[error(
        "the history database {} is damaged ({detail}); coalmine will not repair or replace it: \
         restore it from a backup, or move it away to start a new history",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite or coalmine found wrong.
        detail: String,
    },

    /// The database was written by a newer coalmine with a schema this one does not know.
    #[error(
        "the history database {} has schema version {found}, written by a newer coalmine \
         ({written_by}); this coalmine ({ours}) reads versions up to {supported}: upgrade coalmine",
        path.display(),
        ours = env!("CARGO_PKG_VERSION")
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The coalmine version that last migrated it.
        written_by: String,
        /// The newest schema version this coalmine reads.
        supported: u32,
    },

    /// Other writers kept the database locked for longer than the lock timeout.
    #[error(
        "the history database {} stayed locked by other writers for {waited:?} ({attempts} \
         attempts) while {doing}; nothing was recorded: run again when the other writers are \
         done, or look for a process that holds the database open in a transaction",
        path.display()
    )]
    Locked {
        /// The file.
        path: PathBuf,
        /// What was being done.
        doing: &'static str,
        /// How long it was retried.
        waited: Duration,
        /// How many times.
        attempts: u32,
    },

    /// The database could not be put in write-ahead-log mode (e.g. on a network file system).
    #[error(
        "the history database {} cannot use write-ahead logging (journal mode stays \
         {mode:?}); put it on a local file system",
        path.display()
    )]
    NoWal {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },

    /// A record to write is not valid; nothing was written.
    #[error("nothing was recorded into {}: {reason}", path.display())]
    InvalidInput {
        /// The database file.
        path: PathBuf,
        /// What is wrong with the record.
        reason: String,
    },

    /// Any other SQLite failure.
    #[error("the history database {} failed while {doing}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        doing: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

impl HistoryError {
    /// The database file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            HistoryError::CreateDir { path, .. }
            | HistoryError::Io { path, .. }
            | HistoryError::Open { path, .. }
            | HistoryError::NotSqlite { path, .. }
            | HistoryError::Foreign { path, .. }
            | HistoryError::Corrupt { path, .. }
            | HistoryError::TooNew { path, .. }
            | HistoryError::Locked { path, .. }
            | HistoryError::NoWal { path, .. }
            | HistoryError::InvalidInput { path, .. }
            | HistoryError::Sqlite { path, .. } => path,
            HistoryError::Url { url }
            | HistoryError::Unreachable { url, .. }
            | HistoryError::ServerConfig { url, .. }
            | HistoryError::Tls { url, .. }
            | HistoryError::ForeignServer { url, .. }
            | HistoryError::NoServerHistory { url }
            | HistoryError::Postgres { url, .. } => url,
        }
    }

    /// Turns a SQLite error into the clearest history error: damage becomes
    /// [`HistoryError::Corrupt`], everything else [`HistoryError::Sqlite`].
    pub(crate) fn from_sqlite(path: &Path, doing: &'static str, source: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) => HistoryError::Corrupt {
                path: path.to_path_buf(),
                detail: source.to_string(),
            },
            Some(ErrorCode::NotADatabase) => HistoryError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("{source}: its SQLite header is damaged"),
            },
            _ => HistoryError::Sqlite {
                path: path.to_path_buf(),
                doing,
                source,
            },
        }
    }
}

/// A failure inside a transaction: SQLite's (maybe a lock, to retry) or already explained.
pub(crate) enum Failure {
    Sqlite(rusqlite::Error),
    History(HistoryError),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure::Sqlite(error)
    }
}

/// A record the history refuses, and why.
pub(crate) fn invalid(path: &Path, reason: String) -> HistoryError {
    HistoryError::InvalidInput {
        path: path.to_path_buf(),
        reason,
    }
}

/// A value in the database that is not what coalmine writes: the history is damaged.
pub(crate) fn bad_value(path: &Path, detail: String) -> Failure {
    Failure::History(HistoryError::Corrupt {
        path: path.to_path_buf(),
        detail,
    })
}

/// What the PostgreSQL client's error says: for an error of the server, its message, detail and
/// hint (the client's own text is only "db error"); else the client's text and its cause.
pub(crate) fn server_said(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        None => match std::error::Error::source(error) {
            Some(cause) if !error.to_string().contains(&cause.to_string()) => {
                format!("{error}: {cause}")
            }
            _ => error.to_string(),
        },
    }
}
