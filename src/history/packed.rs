//! One run's results packed into one JSON text: an array of
//! `[test_id, attempt, outcome, duration, message, tagged]` arrays, written and read here
//! without going through SQL, and readable by SQLite's JSON functions (`json_each`,
//! `json_extract`, in every SQLite since 3.9 and so in the `sqlite3` and Python of any
//! current distribution), so that a `results` view keeps the rows queryable.
//!
//! The store writes every result this way (table `result_batches`, see
//! [`super::schema`]): a row per result capped recording at SQLite's row rate (0.45–0.54 M
//! rows/s on the benchmark machine) and reading a plan's 10 million results at 2–3 s; packed,
//! the same machine records 1.4 M results/s and plans over 10 M results in under a second
//! (BENCHMARKS.md).
//!
//! # The text
//! Compact JSON, as SQLite's `json_group_array(json_array(...))` writes it:
//! `[[12,1,"fail",1.5,"timed out",true],[13,1,"pass",null,null,null]]`. The test id and the
//! attempt are integers; the outcome is its kebab-case name; the duration is a number of
//! seconds or `null` (also for a duration that is not finite); the message a string or
//! `null`; tagged is `true` when the run reported the test's tags, else `null` (`false` is
//! read as not tagged). Strings escape `"`, `\` and control characters (RFC 8259); other
//! characters are written as they are (UTF-8). The reader takes what this writer and SQLite
//! write, with any whitespace between tokens, and refuses anything else with the byte offset.
//!
//! (JSON text rather than SQLite's binary JSONB: JSONB was measured about as fast here, but
//! an `sqlite3` older than 3.45, as Debian 12 ships, cannot read it.)

use std::borrow::Cow;
use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::error::{Failure, bad_value};
use crate::results::Outcome;

/// One result as packed.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedRow<'a> {
    /// The test's id in the `tests` table.
    pub test_id: i64,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The outcome.
    pub outcome: Outcome,
    /// The duration in seconds.
    pub duration_secs: Option<f64>,
    /// The message.
    pub message: Option<Cow<'a, str>>,
    /// Whether the run reported the test's tags.
    pub tagged: bool,
}

/// Appends an integer in decimal (ids and attempts are written for every result).
fn integer(out: &mut String, value: i64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
pub(crate) fn string(out: &mut String, text: &str) {
    out.push('"');
    if !text
        .bytes()
        .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\')
    {
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b'\x08' => "\\b",
            b'\x0c' => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        start = at + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Packs `rows` into `out` (cleared first) as one JSON array.
pub fn encode<'r>(rows: impl IntoIterator<Item = &'r PackedRow<'r>>, out: &mut String) {
    out.clear();
    let mut encoder = Encoder::new(std::mem::take(out));
    for packed in rows {
        encoder.push(packed);
    }
    *out = encoder.finish();
}

/// Packs rows one at a time, as they come, into the text [`encode`] writes.
pub struct Encoder {
    out: String,
    floats: zmij::Buffer,
    rows: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("rows", &self.rows)
            .field("bytes", &self.out.len())
            .finish()
    }
}

impl Encoder {
    /// An encoder writing after what `out` holds (usually nothing; reserve room in it for the
    /// rows to come).
    pub fn new(mut out: String) -> Encoder {
        out.push('[');
        Encoder {
            out,
            floats: zmij::Buffer::new(),
            rows: 0,
        }
    }

    /// Packs one more row.
    pub fn push(&mut self, packed: &PackedRow<'_>) {
        let out = &mut self.out;
        if self.rows > 0 {
            out.push(',');
        }
        self.rows += 1;
        out.push('[');
        integer(out, packed.test_id);
        out.push(',');
        integer(out, i64::from(packed.attempt));
        out.push_str(",\"");
        out.push_str(packed.outcome.as_str());
        out.push_str("\",");
        match packed.duration_secs.filter(|duration| duration.is_finite()) {
            // The shortest text that reads back the same (`2.0`, `1e-7`): a JSON number.
            Some(duration) => out.push_str(self.floats.format_finite(duration)),
            None => out.push_str("null"),
        }
        out.push(',');
        match &packed.message {
            Some(message) => string(out, message),
            None => out.push_str("null"),
        }
        out.push_str(if packed.tagged { ",true]" } else { ",null]" });
    }

    /// How many rows were packed.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The text: one JSON array of the rows packed.
    pub fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}

/// A reader over the text.
struct Reader<'b> {
    text: &'b str,
    at: usize,
}

impl<'b> Reader<'b> {
    fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() && matches!(bytes[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    fn error(&self, expected: &str) -> String {
        match self
            .text
            .get(self.at..)
            .and_then(|rest| rest.chars().next())
        {
            Some(found) => format!("byte {}: expected {expected}, found {found:?}", self.at),
            None => format!("byte {}: expected {expected}, found the end", self.at),
        }
    }

    /// Skips whitespace, then takes `byte` if it is next.
    fn take(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.text.as_bytes().get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8, expected: &str) -> Result<(), String> {
        if self.take(byte) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// `null`, `true` or `false`, if next.
    fn literal(&mut self) -> Option<Option<bool>> {
        self.skip_space();
        let rest = self.text.get(self.at..).unwrap_or_default();
        let (value, length) = if rest.starts_with("null") {
            (None, 4)
        } else if rest.starts_with("true") {
            (Some(true), 4)
        } else if rest.starts_with("false") {
            (Some(false), 5)
        } else {
            return None;
        };
        self.at += length;
        Some(value)
    }

    /// The text of a JSON number.
    fn number(&mut self, expected: &str) -> Result<&'b str, String> {
        self.skip_space();
        let bytes = self.text.as_bytes();
        let start = self.at;
        while self.at < bytes.len()
            && matches!(
                bytes[self.at],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error(expected));
        }
        Ok(&self.text[start..self.at])
    }

    fn integer(&mut self, expected: &str) -> Result<i64, String> {
        let start = self.at;
        let text = self.number(expected)?;
        text.parse()
            .map_err(|_| format!("byte {start}: {text:?} is not {expected}"))
    }

    /// A JSON string, borrowed when it has no escape.
    fn string(&mut self, expected: &str) -> Result<Cow<'b, str>, String> {
        self.skip_space();
        let start = self.at;
        if !self.take(b'"') {
            return Err(self.error(expected));
        }
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            match bytes.get(self.at) {
                None => return Err(format!("byte {start}: a string that does not end")),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.at += 2;
                }
                Some(_) => self.at += 1,
            }
        }
        self.at += 1;
        if self.at > bytes.len() {
            return Err(format!("byte {start}: a string that does not end"));
        }
        let quoted = &self.text[start..self.at];
        if !escaped {
            return Ok(Cow::Borrowed(&quoted[1..quoted.len() - 1]));
        }
        serde_json::from_str::<String>(quoted)
            .map(Cow::Owned)
            .map_err(|error| format!("byte {start}: a string with a bad escape: {error}"))
    }
}

/// Calls `f` with each result of run `run_id`'s stored batch `data`, in order, stopping at the
/// first error it returns; bytes that are not UTF-8, or not packed as [`encode`] writes them,
/// are `corrupt(what is wrong)`. What both stores' reads of a batch go through.
pub(crate) fn decode_batch<'b, E>(
    run_id: i64,
    data: &'b [u8],
    corrupt: impl Fn(String) -> E,
    mut f: impl FnMut(PackedRow<'b>) -> Result<(), E>,
) -> Result<(), E> {
    let text = std::str::from_utf8(data).map_err(|error| {
        corrupt(format!(
            "the results of run {run_id} are not UTF-8: {error}"
        ))
    })?;
    let mut failure = None;
    decode(text, |packed| {
        if failure.is_none()
            && let Err(error) = f(packed)
        {
            failure = Some(error);
        }
    })
    .map_err(|error| {
        corrupt(format!(
            "the results of run {run_id} are not readable: {error}"
        ))
    })?;
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// Calls `row` with each result packed in `text`, in order. Fails, naming the byte offset and
/// what was expected, on anything that is not an array of rows as [`encode`] or SQLite
/// writes them.
pub fn decode<'b>(text: &'b str, mut row: impl FnMut(PackedRow<'b>)) -> Result<(), String> {
    let mut reader = Reader { text, at: 0 };
    reader.expect(b'[', "`[` opening the array of rows")?;
    if !reader.take(b']') {
        loop {
            reader.expect(b'[', "`[` opening a row")?;
            let test_id = reader.integer("a test id")?;
            reader.expect(b',', "`,` after the test id")?;
            let attempt = reader.integer("an attempt")?;
            let attempt = u32::try_from(attempt)
                .map_err(|_| format!("byte {}: attempt {attempt} is out of range", reader.at))?;
            reader.expect(b',', "`,` after the attempt")?;
            let at = reader.at;
            let name = reader.string("an outcome")?;
            let outcome = parse_outcome(name.as_bytes())
                .ok_or_else(|| format!("byte {at}: unknown outcome {name:?}"))?;
            reader.expect(b',', "`,` after the outcome")?;
            let duration_secs = match reader.literal() {
                Some(None) => None,
                Some(Some(_)) => return Err(reader.error("a duration or null")),
                None => {
                    let start = reader.at;
                    let text = reader.number("a duration or null")?;
                    Some(
                        text.parse::<f64>()
                            .map_err(|_| format!("byte {start}: {text:?} is not a duration"))?,
                    )
                }
            };
            reader.expect(b',', "`,` after the duration")?;
            let message = match reader.literal() {
                Some(None) => None,
                Some(Some(_)) => return Err(reader.error("a message or null")),
                None => Some(reader.string("a message or null")?),
            };
            reader.expect(b',', "`,` after the message")?;
            let tagged = match reader.literal() {
                Some(value) => value.unwrap_or(false),
                None => return Err(reader.error("true or null (tagged)")),
            };
            reader.expect(b']', "`]` closing the row (six fields)")?;
            row(PackedRow {
                test_id,
                attempt,
                outcome,
                duration_secs,
                message,
                tagged,
            });
            if reader.take(b']') {
                break;
            }
            reader.expect(b',', "`,` or `]` after a row")?;
        }
    }
    reader.skip_space();
    if reader.at != text.len() {
        return Err(format!("byte {}: text after the array of rows", reader.at));
    }
    Ok(())
}

/// Parses an outcome as stored (its kebab-case spelling).
pub(crate) fn parse_outcome(text: &[u8]) -> Option<Outcome> {
    Some(match text {
        b"pass" => Outcome::Pass,
        b"fail" => Outcome::Fail,
        b"error" => Outcome::Error,
        b"skip" => Outcome::Skip,
        b"xfail" => Outcome::Xfail,
        b"xpass" => Outcome::Xpass,
        b"flaky-pass" => Outcome::FlakyPass,
        b"not-run" => Outcome::NotRun,
        _ => return None,
    })
}

/// Calls `f` with every result of the runs whose start compares with `since` by `compare`
/// (`>=` or `>`), ordered by run start, then run, then recording order.
pub(crate) fn for_each_batch(
    conn: &Connection,
    path: &Path,
    compare: &'static str,
    since: i64,
    mut f: impl FnMut(i64, PackedRow<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT batches.run_id, batches.rows \
         FROM runs JOIN result_batches AS batches ON batches.run_id = runs.id \
         WHERE runs.started_at {compare} ?1 ORDER BY runs.started_at, runs.id, batches.id"
    ))?;
    let mut rows = statement.query([since])?;
    while let Some(row) = rows.next()? {
        let run_id: i64 = row.get(0)?;
        let ValueRef::Text(text) = row.get_ref(1)? else {
            return Err(bad_value(
                path,
                format!("the results of run {run_id} are not text"),
            ));
        };
        decode_batch(
            run_id,
            text,
            |reason| bad_value(path, reason),
            |packed| f(run_id, packed),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<PackedRow<'static>> {
        let outcomes = [
            Outcome::Pass,
            Outcome::Fail,
            Outcome::Error,
            Outcome::Skip,
            Outcome::Xfail,
            Outcome::Xpass,
            Outcome::FlakyPass,
            Outcome::NotRun,
        ];
        let long = "long message ".repeat(40);
        let messages = [
            None,
            Some("timed out".to_owned()),
            Some("quote \" backslash \\ newline \n tab \t é ∑ 🦀 \u{1}".to_owned()),
            Some(String::new()),
            Some(long),
        ];
        let durations = [
            None,
            Some(0.0),
            Some(1e-7),
            Some(2.0),
            Some(12345.678),
            Some(f64::NAN),
        ];
        (0..40)
            .map(|i| PackedRow {
                test_id: [1, 12, 123_456_789_012, i64::MAX, -5, i64::MIN, 0][i % 7],
                attempt: 1 + (i % 3) as u32,
                outcome: outcomes[i % outcomes.len()],
                duration_secs: durations[i % durations.len()],
                message: messages[i % messages.len()].clone().map(Cow::Owned),
                tagged: i % 2 == 0,
            })
            .collect()
    }

    fn expected(row: &PackedRow<'static>) -> PackedRow<'static> {
        PackedRow {
            duration_secs: row.duration_secs.filter(|duration| duration.is_finite()),
            ..row.clone()
        }
    }

    fn decoded(text: &str) -> Vec<PackedRow<'static>> {
        let mut out = Vec::new();
        decode(text, |row| {
            out.push(PackedRow {
                message: row.message.map(|message| Cow::Owned(message.into_owned())),
                ..row
            })
        })
        .unwrap();
        out
    }

    #[test]
    fn rows_read_back_as_written() {
        let rows = rows();
        let mut text = String::new();
        encode(&rows, &mut text);
        assert_eq!(
            decoded(&text),
            rows.iter().map(expected).collect::<Vec<_>>()
        );
        assert!(
            text.starts_with(r#"[[1,1,"pass",null,null,true],[12,2,"fail",0.0,"timed out",null],"#),
            "{text}"
        );
        encode(&[], &mut text);
        assert_eq!(text, "[]");
        assert!(decoded(&text).is_empty());
        // Whitespace between tokens, as a person or another tool may write it.
        let spaced = "[ [1, 2, \"pass\", 1.5, \"m\", false ] ,\n [3,1,\"skip\",null,null,null] ]";
        assert_eq!(decoded(spaced).len(), 2);
    }

    #[test]
    fn sqlite_reads_what_is_written_and_writes_what_is_read() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let rows = rows();
        let mut text = String::new();
        encode(&rows, &mut text);
        // SQLite reads each row's fields.
        let mut statement = conn
            .prepare(
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
                 json_extract(value, '$[2]'), json_extract(value, '$[3]'), \
                 json_extract(value, '$[4]'), json_extract(value, '$[5]') \
                 FROM json_each(?1) ORDER BY key",
            )
            .unwrap();
        type Fields = (i64, i64, String, Option<f64>, Option<String>, Option<i64>);
        let from_sqlite: Vec<Fields> = statement
            .query_map([&text], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(from_sqlite.len(), rows.len());
        for (row, sql) in rows.iter().map(expected).zip(&from_sqlite) {
            assert_eq!(sql.0, row.test_id);
            assert_eq!(sql.1, i64::from(row.attempt));
            assert_eq!(sql.2, row.outcome.as_str());
            assert_eq!(sql.3, row.duration_secs);
            assert_eq!(sql.4.as_deref(), row.message.as_deref());
            assert_eq!(sql.5, row.tagged.then_some(1));
        }
        // What SQLite packs from the same values (as a migration would) reads back the same.
        conn.execute_batch(
            "CREATE TABLE r (id INTEGER PRIMARY KEY, test_id INTEGER, attempt INTEGER, \
             outcome TEXT, duration REAL, message TEXT, tagged INTEGER);",
        )
        .unwrap();
        for row in &rows {
            conn.execute(
                "INSERT INTO r (test_id, attempt, outcome, duration, message, tagged) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    row.test_id,
                    row.attempt,
                    row.outcome.as_str(),
                    row.duration_secs.filter(|duration| duration.is_finite()),
                    row.message.as_deref(),
                    row.tagged.then_some(1),
                ],
            )
            .unwrap();
        }
        let packed: String = conn
            .query_row(
                "SELECT json_group_array(json_array(test_id, attempt, outcome, duration, \
                 message, CASE WHEN tagged = 1 THEN json('true') END) ORDER BY id) FROM r",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(
            decoded(&packed),
            rows.iter().map(expected).collect::<Vec<_>>()
        );
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        let rows = rows();
        let mut text = String::new();
        encode(&rows, &mut text);
        for cut in 0..text.len() {
            if let Some(cut_text) = text.get(..cut) {
                assert!(decode(cut_text, |_| {}).is_err(), "cut at {cut}");
            }
        }
        for (damaged, problem) in [
            ("[[1,1,\"pass\",null,null]]", "`,` after the message"),
            ("[[1,1,\"pass\",null,null,null,1]]", "`]` closing the row"),
            ("[[\"1\",1,\"pass\",null,null,null]]", "a test id"),
            ("[[1,0.5,\"pass\",null,null,null]]", "an attempt"),
            ("[[1,-1,\"pass\",null,null,null]]", "out of range"),
            ("[[1,1,\"passed\",null,null,null]]", "unknown outcome"),
            ("[[1,1,\"pass\",true,null,null]]", "a duration or null"),
            ("[[1,1,\"pass\",null,7,null]]", "a message or null"),
            ("[[1,1,\"pass\",null,\"a\\qb\",null]]", "bad escape"),
            ("[[1,1,\"pass\",null,null,1]]", "tagged"),
            ("[[1,1,\"pass\",null,null,null]] x", "text after the array"),
            ("{}", "`[` opening the array"),
            ("", "`[` opening the array"),
            ("[[1,1,\"pass\",null,\"\\é", "does not end"),
        ] {
            let error = decode(damaged, |_| {}).unwrap_err();
            assert!(error.contains(problem), "{damaged}: {error}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "[\\[\\]0-9a-z,.\"\\\\ é-]{0,200}") {
            let _ = decode(&text, |_| {});
        }
    }
}
