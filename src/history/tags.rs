//! How a test's tags are kept current while runs are recorded, in any order, without rewriting
//! every test's row for every run.
//!
//! **The rule.** A test's stored tags are those of the most recent run (by start time; on equal
//! starts, the one recorded last) whose result for the test reported tags
//! ([`NewResult::tags`](super::NewResult::tags) is `Some`). Runs may be recorded out of order:
//! an old report ingested today must not override what a newer run said.
//!
//! **How it stays exact and cheap.** `tests.tags_seen_at` is the start of the run that last
//! *wrote* the tags; since a run with the same tags writes nothing, a newer run may have
//! reported them since, so `tags_seen_at` is a lower bound of the newest reporter's start. Every
//! result row says whether its run reported tags (`results.tagged`). For a result with tags `T`
//! in a run that started at `S`:
//! 1. `S < tags_seen_at`: a newer run wrote them; nothing to do.
//! 2. `T` equals the stored tags: nothing to do, whichever run is newer.
//! 3. otherwise, when no run started after `S` (the usual case: runs recorded as they happen),
//!    or when no run that started after `S` reported tags for this test (a back-filled report,
//!    checked with one pass over the newer runs' results, made at most once per recorded run):
//!    store `T` with `tags_seen_at = S`. Else a newer report holds, and nothing changes.
//!
//! So a history recorded in order writes a test's row only when its tags change, and a
//! back-filled report costs one read of the results recorded after it.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension};

use super::error::Failure;

/// What a connection knows of a test's stored tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownTags {
    /// `tests.tags`: the JSON array as stored (see [`write_json`]); `None` when never reported.
    pub(crate) json: Option<String>,
    /// `tests.tags_seen_at`: the start (ms) of the run that last wrote them.
    pub(crate) seen_at: Option<i64>,
}

impl KnownTags {
    /// What a test added by this connection knows: nothing reported yet.
    pub(crate) fn none() -> KnownTags {
        KnownTags {
            json: None,
            seen_at: None,
        }
    }
}

/// Writes `tags` into `out` as stored: a JSON array of the tags trimmed, without empty ones,
/// sorted, without duplicates, written as `serde_json` writes it (so that what earlier versions
/// stored compares equal). `scratch` is reused between calls.
pub(crate) fn write_json<'a>(tags: &'a [String], scratch: &mut Vec<&'a str>, out: &mut String) {
    scratch.clear();
    scratch.extend(
        tags.iter()
            .map(|tag| tag.trim())
            .filter(|tag| !tag.is_empty()),
    );
    scratch.sort_unstable();
    scratch.dedup();
    out.clear();
    out.push('[');
    for (index, tag) in scratch.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        super::packed::string(out, tag);
    }
    out.push(']');
}

/// Applies the rule of the module docs for the results of one run, inside its write
/// transaction.
pub(crate) struct TagWriter<'r> {
    /// The history's file, for errors.
    path: std::path::PathBuf,
    /// The run's start (ms).
    started: i64,
    /// Whether any other run started after this one.
    newer_runs: bool,
    /// The tests that runs started after this one reported tags for, read when first needed.
    newer_reporters: Option<HashSet<i64>>,
    scratch: Vec<&'r str>,
    json: String,
}

impl<'r> TagWriter<'r> {
    /// For a run that started at `started` (ms), in the transaction `tx` that records it.
    pub(crate) fn new(
        tx: &Connection,
        path: &std::path::Path,
        started: i64,
    ) -> Result<TagWriter<'r>, Failure> {
        let newer_runs = tx
            .prepare_cached(super::statements::NEWER_RUN)?
            .query_row([started], |_| Ok(()))
            .optional()?
            .is_some();
        Ok(TagWriter {
            path: path.to_path_buf(),
            started,
            newer_runs,
            newer_reporters: None,
            scratch: Vec::new(),
            json: String::new(),
        })
    }

    /// Records that this run reported `tags` for the test `id`, whose stored tags are `known`
    /// (updated when they change).
    pub(crate) fn report(
        &mut self,
        tx: &Connection,
        id: i64,
        known: &mut KnownTags,
        tags: &'r [String],
    ) -> Result<(), Failure> {
        if known.seen_at.is_some_and(|seen_at| self.started < seen_at) {
            return Ok(());
        }
        write_json(tags, &mut self.scratch, &mut self.json);
        if known.json.as_deref() == Some(self.json.as_str()) {
            return Ok(());
        }
        if self.newer_runs && self.newer_reporters(tx)?.contains(&id) {
            return Ok(());
        }
        let json = self.json.clone();
        tx.prepare_cached("UPDATE tests SET tags = ?2, tags_seen_at = ?3 WHERE id = ?1")?
            .execute(rusqlite::params![id, json, self.started])?;
        *known = KnownTags {
            json: Some(json),
            seen_at: Some(self.started),
        };
        Ok(())
    }

    /// The tests for which a run that started after this one reported tags.
    fn newer_reporters(&mut self, tx: &Connection) -> Result<&HashSet<i64>, Failure> {
        if self.newer_reporters.is_none() {
            let mut ids = HashSet::new();
            super::packed::for_each_batch(tx, &self.path, ">", self.started, |_, row| {
                if row.tagged {
                    ids.insert(row.test_id);
                }
                Ok(())
            })?;
            self.newer_reporters = Some(ids);
        }
        Ok(self.newer_reporters.get_or_insert_default())
    }
}

#[cfg(test)]
mod tests {
    use super::write_json;

    proptest::proptest! {
        /// The stored form is byte for byte what `serde_json` writes (what earlier versions
        /// stored), so that unchanged tags compare equal and are not rewritten.
        #[test]
        fn tags_are_written_as_serde_json_writes_them(
            tags in proptest::collection::vec(
                proptest::string::string_regex(r#"[a-c\x00-\x1f\x7f"\\ é\u{2003}]{0,6}"#).unwrap(),
                0..5,
            )
        ) {
            let mut expected: Vec<&str> = tags.iter().map(|tag| tag.trim()).filter(|tag| !tag.is_empty()).collect();
            expected.sort_unstable();
            expected.dedup();
            let mut out = String::new();
            write_json(&tags, &mut Vec::new(), &mut out);
            proptest::prop_assert_eq!(out, serde_json::to_string(&expected).unwrap());
        }
    }
}
