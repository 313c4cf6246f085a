//! The one trait every results format implements: recognise the start of a file, then stream
//! its tests one at a time into a sink, so that a report of any size is read in bounded memory.
//! No adapter knows another; the normalised [`TestCase`] is all they share.

use std::io::BufRead;

use super::ResultsErrorKind;
use super::model::TestCase;

/// The longest message an adapter keeps for one test; longer ones are cut with a marker, so
/// that a test that printed a gigabyte does not cost a gigabyte.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A results format that yields tests one at a time.
pub trait Adapter: Sync {
    /// The format's name in harness.toml (`junit`, `tap`, ...).
    fn name(&self) -> &'static str;

    /// Whether a file starting with `head` (its first bytes, up to 4 KiB) looks like this
    /// format. Used by `format = "auto"`; must be cheap and must not panic on any input.
    fn sniff(&self, head: &[u8]) -> bool;

    /// Reads every test from `input`, in document order, handing each to `sink`. An input
    /// that does not follow the format is an error with its line and column; tests handed to
    /// the sink before the error stay handed (the caller decides what a partial read means).
    fn read(
        &self,
        input: &mut dyn BufRead,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind>;
}

/// Cuts a message to [`MAX_MESSAGE_BYTES`] at a character boundary, saying so.
pub fn bounded_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        let dropped = message.len() - cut;
        message.truncate(cut);
        message.push_str(&format!("… [{dropped} more bytes cut]"));
    }
    message
}

/// The 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.iter().filter(|byte| **byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |index| index + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Helpers for the adapters' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Adapter;
    use crate::results::ResultsErrorKind;
    use crate::results::model::{Outcome, TestCase};

    /// Every test an adapter reads from `bytes`, or its error.
    pub(crate) fn collect(
        adapter: &dyn Adapter,
        mut bytes: &[u8],
    ) -> Result<Vec<TestCase>, ResultsErrorKind> {
        let mut tests = Vec::new();
        adapter.read(&mut bytes, &mut |test| tests.push(test))?;
        Ok(tests)
    }

    /// Every test an adapter hands to the sink for `bytes`, those handed before an error
    /// included, and how the read ended: bounds on what a read yields hold whether it fails
    /// or not.
    pub(crate) fn collect_partial(
        adapter: &dyn Adapter,
        mut bytes: &[u8],
    ) -> (Vec<TestCase>, Result<(), ResultsErrorKind>) {
        let mut tests = Vec::new();
        let result = adapter.read(&mut bytes, &mut |test| tests.push(test));
        (tests, result)
    }

    /// Whether a malformed-input error points into `bytes`: at one of its lines, and at most
    /// one column past that line's end, counting lines and columns from 1 (other errors point
    /// nowhere, and pass).
    pub(crate) fn points_into(error: &ResultsErrorKind, bytes: &[u8]) -> bool {
        match error {
            ResultsErrorKind::Malformed { line, column, .. } => {
                *column >= 1
                    && bytes
                        .split(|byte| *byte == b'\n')
                        .nth(line.wrapping_sub(1))
                        .is_some_and(|text| *column <= text.len() + 1)
            }
            _ => true,
        }
    }

    /// Every test read through a buffer of `capacity` bytes (so every chunk boundary is
    /// tried), or the error as text, to compare with a read of the whole input.
    pub(crate) fn collect_chunked(
        adapter: &dyn Adapter,
        bytes: &[u8],
        capacity: usize,
    ) -> Result<Vec<TestCase>, String> {
        let mut input = std::io::BufReader::with_capacity(capacity, bytes);
        let mut tests = Vec::new();
        adapter
            .read(&mut input, &mut |test| tests.push(test))
            .map(|()| tests)
            .map_err(|error| format!("{error:?}"))
    }

    /// Names and outcomes, for compact assertions.
    pub(crate) fn summary(tests: &[TestCase]) -> Vec<(String, Outcome)> {
        tests
            .iter()
            .map(|test| (test.name.clone(), test.outcome))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded_at_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = bounded_message(long);
        assert!(cut.len() < MAX_MESSAGE_BYTES + 40);
        assert!(cut.ends_with("more bytes cut]"));
        assert_eq!(bounded_message("short".into()), "short");
    }

    #[test]
    fn positions() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column(b"ab", 0), (1, 1));
        assert_eq!(line_column("é\nx".as_bytes(), 2), (1, 2));
    }
}
