//! The outcome history: every canary execution and every ingested test result, kept in a
//! SQLite database or on a PostgreSQL server so that flaky tests can be found and quarantined.
//!
//! [`History`] is the one store interface ([`backend`]: an enum over [`SqliteHistory`], see
//! [`store`] for how concurrent writers are kept safe and [`schema`] for the tables and their
//! versions, and [`pg::PgHistory`], see [`pg`]); [`statements`] holds the SQL both run;
//! [`model`] holds the rows they read and write; [`files`] knows which report files each
//! ingested run was read from; [`tags`] keeps each test's tags those of the most recent run that
//! reported them; [`packed`] writes and reads each recording's results as one batch (both stores);
//! [`merge`] merges histories (into a SQLite file or a server) and [`copy`] copies one between
//! backends; `tls` connects to the server with TLS as libpq's `sslmode` says. What writes into
//! it: the harness's recorder ([`crate::harness::recorder`]) and [`crate::ingest`].
//! The location comes from `[history] path` or `[history] url` in `harness.toml`, overridden by
//! the `COALMINE_HISTORY` environment variable ([`History::resolve_path`]).

pub mod backend;
pub mod copy;
pub mod error;
pub mod files;
pub mod merge;
pub(crate) mod merge_target;
pub mod model;
pub mod packed;
pub mod pg;
pub mod schema;
pub mod statements;
pub mod store;
pub mod tags;
mod tls;

#[cfg(test)]
pub(crate) mod tests;

pub use backend::History;
pub use error::HistoryError;
pub use files::FileDigest;
pub use model::{
    FixRow, NewResult, NewRun, OutcomeRow, Recorded, ResultRow, RunCounts, RunKind, RunRow,
    RunSummary, TestInfo,
};
pub use store::{DEFAULT_LOCK_TIMEOUT, DEFAULT_RELATIVE_PATH, HISTORY_ENV, SqliteHistory};
