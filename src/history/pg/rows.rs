//! What the PostgreSQL store's reads and writes share: the failure inside a transaction (the
//! server's, maybe to retry, or an explained one), text as the server stores it, and the
//! conversions of stored values that name the history when they fail.

use std::path::Path;

use jiff::Timestamp;
use postgres::error::SqlState;

use crate::history::error::HistoryError;

/// A failure inside a transaction: the server's (maybe a deadlock, to retry) or explained.
pub(super) enum PgFailure {
    Pg(postgres::Error),
    History(HistoryError),
}

impl From<postgres::Error> for PgFailure {
    fn from(error: postgres::Error) -> Self {
        PgFailure::Pg(error)
    }
}

impl From<HistoryError> for PgFailure {
    fn from(error: HistoryError) -> Self {
        PgFailure::History(error)
    }
}

/// Whether the server aborted a transaction that may succeed when run again: a deadlock or a
/// serialization failure.
pub(super) fn retryable(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

/// Text for PostgreSQL, which refuses the NUL character in text: each one becomes U+FFFD.
pub(crate) fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    match text.contains('\0') {
        true => std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}")),
        false => std::borrow::Cow::Borrowed(text),
    }
}

pub(super) fn corrupt(shown: &Path, detail: String) -> PgFailure {
    PgFailure::History(HistoryError::Corrupt {
        path: shown.to_path_buf(),
        detail,
    })
}

pub(super) fn parse_tags(
    shown: &Path,
    name: &str,
    json: Option<String>,
) -> Result<Vec<String>, PgFailure> {
    match json {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json).map_err(|error| {
            corrupt(
                shown,
                format!("the tags of {name} are not readable: {error}"),
            )
        }),
    }
}

pub(super) fn since_ms(since: Option<Timestamp>) -> i64 {
    since.map_or(i64::MIN, Timestamp::as_millisecond)
}

pub(super) fn timestamp(shown: &Path, millis: i64) -> Result<Timestamp, PgFailure> {
    Timestamp::from_millisecond(millis).map_err(|error| {
        corrupt(
            shown,
            format!("a time of {millis} ms is out of range: {error}"),
        )
    })
}
