//! CTRF, the Common Test Report Format (<https://ctrf.io>): one JSON document
//! `{"results": {"tool": {...}, "summary": {...}, "tests": [{...}, ...]}}` written by the
//! CTRF reporters of Jest, Playwright, Cypress, pytest, Go and others.
//!
//! How it reads:
//! - Each element of `results.tests` is a test: `name`, `status`, `duration` (milliseconds),
//!   `message` and `trace` (joined into the message), `suite`, `filePath`, `retries`,
//!   `flaky`, `rawStatus`, `parameters`; other fields are ignored.
//! - `passed` is a pass, `failed` a failure, `skipped` a skip. `pending` (not yet run, or
//!   waiting on a condition) and `other` (a status CTRF has no word for) are not run: neither
//!   counts as passed, so they can never make a run green. Any other status is an error,
//!   since guessing could turn a failure into a pass.
//! - A `passed` test with `flaky: true` or with `retries` > 0 passed after failing: a flaky
//!   pass, with `attempts` = `retries` + 1 (at least 2). Other statuses keep `attempts` =
//!   `retries` + 1 too.
//! - `suite` is an array of names, outermost first (current CTRF), or a string (older
//!   reporters), which is split on ` > `, the separator those reporters join nested suites
//!   with.
//! - `parameters` becomes the `variant`, as `key=value, ...` (strings bare, other values as
//!   compact JSON), cut to 1 KiB.
//! - `raw_status` is the tool's `rawStatus` when the file gives one, else the CTRF status.
//! - A document that is not JSON, has no `results` or no `results.tests`, or has a test
//!   without `name` or `status`, is an error with serde_json's line and column.
//!
//! Streaming: the `tests` array is read one element at a time through serde's `SeqAccess`
//! and each test handed on before the next is read; the document is never held whole. Every
//! JSON string is cut to about [`MAX_MESSAGE_BYTES`](crate::results::adapter::MAX_MESSAGE_BYTES) as it is read and nesting is limited to
//! 128 levels, so that memory stays bounded whatever the input.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::results::ResultsErrorKind;
use crate::results::adapter::{Adapter, bounded_message};
use crate::results::json_stream::{StringCap, json_message};
use crate::results::model::{Outcome, TestCase};

/// The ctrf format.
#[derive(Debug, Clone, Copy)]
pub struct Ctrf;

/// The deepest nesting of arrays and objects read.
const MAX_NESTING: usize = 128;

/// UTF-8's byte order mark, dropped at the start of a document.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest `variant` rendered from `parameters`.
const MAX_VARIANT_BYTES: usize = 1024;

/// The most suite names kept from a test's `suite` array.
const MAX_SUITE_NAMES: usize = 64;

impl Adapter for Ctrf {
    fn name(&self) -> &'static str {
        "ctrf"
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let head = head.trim_ascii_start();
        head.starts_with(b"{")
            && contains(head, b"\"results\"")
            && (contains(head, b"\"tests\"")
                || contains(head, b"\"tool\"")
                || contains(head, b"\"CTRF\""))
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind> {
        let mut capped = CappedJson::new(input);
        let result = {
            let reader = BufReader::with_capacity(64 * 1024, &mut capped);
            let mut deserializer = serde_json::Deserializer::from_reader(reader);
            Document { sink }
                .deserialize(&mut deserializer)
                .and_then(|()| deserializer.end())
        };
        result.map_err(|error| {
            if error.is_io() {
                if let Some((line, column)) = capped.too_deep {
                    return ResultsErrorKind::Malformed {
                        line,
                        column,
                        message: format!("arrays and objects nested more than {MAX_NESTING} deep"),
                    };
                }
                return ResultsErrorKind::Read(io::Error::from(error));
            }
            ResultsErrorKind::Malformed {
                line: error.line().max(1),
                // serde_json says column 0 before the first character of a line (an empty
                // input, a document cut after a newline); positions here count from 1.
                column: error.column().max(1),
                message: json_message(&error),
            }
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The whole document: finds `results`.
struct Document<'s> {
    sink: &'s mut dyn FnMut(TestCase),
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CTRF document: an object with `results`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "results" {
                if seen {
                    return Err(de::Error::duplicate_field("results"));
                }
                seen = true;
                map.next_value_seed(Results {
                    sink: &mut *self.sink,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !seen {
            return Err(de::Error::missing_field("results"));
        }
        Ok(())
    }
}

/// `results`: finds `tests`.
struct Results<'s> {
    sink: &'s mut dyn FnMut(TestCase),
}

impl<'de> DeserializeSeed<'de> for Results<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Results<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`results`: an object with `tests`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "tests" {
                if seen {
                    return Err(de::Error::duplicate_field("tests"));
                }
                seen = true;
                map.next_value_seed(Tests {
                    sink: &mut *self.sink,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !seen {
            return Err(de::Error::missing_field("tests"));
        }
        Ok(())
    }
}

/// `results.tests`: each element in turn, handed on as soon as it is read.
struct Tests<'s> {
    sink: &'s mut dyn FnMut(TestCase),
}

impl<'de> DeserializeSeed<'de> for Tests<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Tests<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`results.tests`: an array of tests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<RawTest>()? {
            (self.sink)(raw.into_test().map_err(de::Error::custom)?);
        }
        Ok(())
    }
}

/// One element of `results.tests`, as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTest {
    name: String,
    status: String,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    trace: Option<String>,
    #[serde(default)]
    suite: Option<Suite>,
    #[serde(default)]
    file_path: Option<String>,
    #[serde(default)]
    retries: Option<u64>,
    #[serde(default)]
    flaky: Option<bool>,
    #[serde(default)]
    raw_status: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

impl RawTest {
    fn into_test(self) -> Result<TestCase, String> {
        let attempts =
            u32::try_from(self.retries.unwrap_or(0).saturating_add(1)).unwrap_or(u32::MAX);
        let flaky = self.flaky == Some(true) || attempts > 1;
        let outcome = match self.status.as_str() {
            "passed" if flaky => Outcome::FlakyPass,
            "passed" => Outcome::Pass,
            "failed" => Outcome::Fail,
            "skipped" => Outcome::Skip,
            "pending" | "other" => Outcome::NotRun,
            other => {
                return Err(format!(
                    "test `{}` has the unknown status `{other}` (known: passed, failed, skipped, pending, other)",
                    self.name
                ));
            }
        };
        let raw_status = self
            .raw_status
            .filter(|raw| !raw.is_empty())
            .unwrap_or(self.status);
        let mut test = TestCase::new(self.name, outcome, raw_status);
        test.attempts = if outcome == Outcome::FlakyPass {
            attempts.max(2)
        } else {
            attempts
        };
        test.duration_secs = self
            .duration
            .filter(|millis| millis.is_finite() && *millis >= 0.0)
            .map(|millis| millis / 1000.0);
        let parts: Vec<String> = [self.message, self.trace]
            .into_iter()
            .flatten()
            .filter(|part| !part.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            test.message = Some(bounded_message(parts.join("\n")));
        }
        test.suite = self.suite.map(|suite| suite.0).unwrap_or_default();
        test.file = self.file_path.filter(|path| !path.is_empty());
        test.variant = self.parameters.and_then(|parameters| parameters.0);
        Ok(test)
    }
}

/// `suite`: an array of names, or a string with ` > ` between nested names.
struct Suite(Vec<String>);

impl<'de> Deserialize<'de> for Suite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Suite, D::Error> {
        deserializer.deserialize_any(SuiteVisitor)
    }
}

struct SuiteVisitor;

impl<'de> Visitor<'de> for SuiteVisitor {
    type Value = Suite;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`suite`: an array of suite names or a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Suite, E> {
        Ok(Suite(
            text.split(" > ")
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .take(MAX_SUITE_NAMES)
                .map(str::to_owned)
                .collect(),
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Suite, A::Error> {
        let mut names = Vec::new();
        while names.len() < MAX_SUITE_NAMES {
            match seq.next_element::<String>()? {
                Some(name) => names.push(name),
                None => return Ok(Suite(names)),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Suite(names))
    }
}

/// `parameters`, rendered as the variant `key=value, ...` (none when empty).
struct Parameters(Option<String>);

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Parameters, D::Error> {
        let mut out = String::new();
        Render {
            out: &mut out,
            mode: Mode::Top,
        }
        .deserialize(deserializer)?;
        if out.len() > MAX_VARIANT_BYTES {
            let mut cut = MAX_VARIANT_BYTES;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
        }
        Ok(Parameters((!out.is_empty()).then_some(out)))
    }
}

/// How [`Render`] writes a value.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `parameters` itself: an object as `key=value, ...`, `null` as nothing.
    Top,
    /// A value of a top-level pair: a string bare, anything else as JSON.
    Bare,
    /// Compact JSON.
    Json,
}

/// Renders any JSON value into `out`, writing nothing more once `out` is over
/// [`MAX_VARIANT_BYTES`] (but still reading the value through).
struct Render<'a> {
    out: &'a mut String,
    mode: Mode,
}

impl Render<'_> {
    fn write(&mut self, text: &str) {
        if self.out.len() <= MAX_VARIANT_BYTES {
            self.out.push_str(text);
        }
    }

    fn json(&mut self) -> Render<'_> {
        Render {
            out: &mut *self.out,
            mode: Mode::Json,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Render<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Render<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(mut self, value: bool) -> Result<(), E> {
        self.write(if value { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, value: i64) -> Result<(), E> {
        self.write(&value.to_string());
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, value: u64) -> Result<(), E> {
        self.write(&value.to_string());
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, value: f64) -> Result<(), E> {
        self.write(&value.to_string());
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, value: &str) -> Result<(), E> {
        if self.mode != Mode::Json {
            self.write(value);
        } else if self.out.len() <= MAX_VARIANT_BYTES {
            self.write(&serde_json::to_string(value).unwrap_or_default());
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        if self.mode != Mode::Top {
            self.write("null");
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.write("[");
        let mut first = true;
        loop {
            // The comma is taken back when no element follows.
            let mark = self.out.len();
            if !first {
                self.write(",");
            }
            if seq.next_element_seed(self.json())?.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.write("]");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let top = self.mode == Mode::Top;
        if !top {
            self.write("{");
        }
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if !first {
                self.write(if top { ", " } else { "," });
            }
            first = false;
            if top {
                self.write(&key);
                self.write("=");
            } else if self.out.len() <= MAX_VARIANT_BYTES {
                self.write(&serde_json::to_string(&key).unwrap_or_default());
                self.write(":");
            }
            let mode = if top { Mode::Bare } else { Mode::Json };
            map.next_value_seed(Render {
                out: &mut *self.out,
                mode,
            })?;
        }
        if !top {
            self.write("}");
        }
        Ok(())
    }
}

/// Passes JSON text through, cutting every string to [`STRING_CAP`] bytes (with a marker,
/// so the text stays valid JSON), dropping a leading byte order mark, and stopping with an
/// error when arrays and objects nest deeper than [`MAX_NESTING`].
struct CappedJson<'a> {
    input: &'a mut dyn BufRead,
    cap: StringCap,
    out: Vec<u8>,
    at: usize,
    /// How many bytes of a leading byte order mark have been held back; 3 when done with it.
    bom: usize,
    depth: usize,
    line: usize,
    column: usize,
    /// Where the nesting went too deep, when it did.
    too_deep: Option<(usize, usize)>,
}

impl<'a> CappedJson<'a> {
    fn new(input: &'a mut dyn BufRead) -> Self {
        CappedJson {
            input,
            cap: StringCap::default(),
            out: Vec::new(),
            at: 0,
            bom: 0,
            depth: 0,
            line: 1,
            column: 0,
            too_deep: None,
        }
    }
}

impl Read for CappedJson<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.too_deep.is_some() {
                return Err(io::Error::other("nesting too deep"));
            }
            self.out.clear();
            self.at = 0;
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if chunk.is_empty() {
                if (1..BOM.len()).contains(&self.bom) {
                    // The input ended inside what looked like a byte order mark.
                    self.out.extend_from_slice(&BOM[..self.bom]);
                    self.bom = BOM.len();
                    continue;
                }
                return Ok(0);
            }
            let mut used = chunk.len();
            for (index, &byte) in chunk.iter().enumerate() {
                if self.bom < BOM.len() {
                    if byte == BOM[self.bom] {
                        self.bom += 1;
                        continue;
                    }
                    // Not a byte order mark after all: give back what was held.
                    self.out.extend_from_slice(&BOM[..self.bom]);
                    self.bom = BOM.len();
                }
                if byte == b'\n' {
                    self.line += 1;
                    self.column = 0;
                } else if byte & 0xC0 != 0x80 {
                    self.column += 1;
                }
                if !self.cap.in_string {
                    match byte {
                        b'{' | b'[' => {
                            self.depth += 1;
                            if self.depth > MAX_NESTING {
                                self.too_deep = Some((self.line, self.column));
                                used = index;
                                break;
                            }
                        }
                        b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                        _ => {}
                    }
                }
                self.cap.push(byte, &mut self.out);
            }
            self.input.consume(used);
        }
        let count = buf.len().min(self.out.len() - self.at);
        buf[..count].copy_from_slice(&self.out[self.at..self.at + count]);
        self.at += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::adapter::MAX_MESSAGE_BYTES;

    fn read(text: &str) -> Result<Vec<TestCase>, ResultsErrorKind> {
        read_bytes(text.as_bytes())
    }

    fn read_bytes(bytes: &[u8]) -> Result<Vec<TestCase>, ResultsErrorKind> {
        crate::results::adapter::testing::collect(&Ctrf, bytes)
    }

    use crate::results::adapter::testing::{collect_partial, summary};

    const REPORT: &str = r#"{
  "reportFormat": "CTRF",
  "specVersion": "0.0.0",
  "results": {
    "tool": { "name": "jest", "version": "29.7.0" },
    "summary": { "tests": 7, "passed": 2, "failed": 1, "skipped": 1, "pending": 1, "other": 1, "start": 1, "stop": 2 },
    "tests": [
      { "name": "adds", "status": "passed", "duration": 12, "suite": ["math", "add"], "filePath": "test/math.test.js" },
      { "name": "divides", "status": "failed", "duration": 3.5, "message": "expected 2, got 3", "trace": "at divide (math.js:4:9)", "suite": "math > divide" },
      { "name": "later", "status": "skipped", "duration": 0, "message": "not on CI" },
      { "name": "waiting", "status": "pending", "duration": 0 },
      { "name": "odd", "status": "other", "duration": 0, "rawStatus": "interrupted" },
      { "name": "retried", "status": "passed", "duration": 40, "retries": 2, "flaky": true, "tags": ["slow"], "extra": { "a": [1, 2] } },
      { "name": "login", "status": "passed", "duration": 40, "parameters": { "browser": "firefox", "width": 1280, "opts": { "headless": true, "args": ["-a", null] } } }
    ],
    "environment": { "appName": "demo" }
  }
}"#;

    #[test]
    fn reads_every_status_and_field() {
        let tests = read(REPORT).unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("adds".to_owned(), Outcome::Pass),
                ("divides".to_owned(), Outcome::Fail),
                ("later".to_owned(), Outcome::Skip),
                ("waiting".to_owned(), Outcome::NotRun),
                ("odd".to_owned(), Outcome::NotRun),
                ("retried".to_owned(), Outcome::FlakyPass),
                ("login".to_owned(), Outcome::Pass),
            ]
        );
        assert_eq!(tests[0].suite, vec!["math", "add"]);
        assert_eq!(tests[0].file.as_deref(), Some("test/math.test.js"));
        assert_eq!(tests[0].duration_secs, Some(0.012));
        assert_eq!(tests[0].attempts, 1);
        assert_eq!(tests[1].suite, vec!["math", "divide"]);
        assert_eq!(
            tests[1].message.as_deref(),
            Some("expected 2, got 3\nat divide (math.js:4:9)")
        );
        assert_eq!(tests[1].duration_secs, Some(0.0035));
        assert_eq!(tests[1].raw_status, "failed");
        assert_eq!(tests[2].message.as_deref(), Some("not on CI"));
        assert_eq!(tests[4].raw_status, "interrupted");
        assert!(!tests[3].outcome.is_pass() && !tests[4].outcome.is_pass());
        assert_eq!(
            tests[6].variant.as_deref(),
            Some(r#"browser=firefox, width=1280, opts={"headless":true,"args":["-a",null]}"#)
        );
        assert_eq!(tests[0].variant, None);
    }

    #[test]
    fn flaky_passes_count_their_attempts() {
        let tests = read(REPORT).unwrap();
        assert_eq!(tests[5].outcome, Outcome::FlakyPass);
        assert_eq!(tests[5].attempts, 3);
        let more = read(
            r#"{"results":{"tests":[
                {"name":"flag only","status":"passed","duration":1,"flaky":true},
                {"name":"retries only","status":"passed","duration":1,"retries":1},
                {"name":"failed after retries","status":"failed","duration":1,"retries":2,"flaky":true},
                {"name":"not flaky","status":"passed","duration":1,"retries":0,"flaky":false}
            ]}}"#,
        )
        .unwrap();
        let got: Vec<(Outcome, u32)> = more
            .iter()
            .map(|test| (test.outcome, test.attempts))
            .collect();
        assert_eq!(
            got,
            vec![
                (Outcome::FlakyPass, 2),
                (Outcome::FlakyPass, 2),
                (Outcome::Fail, 3),
                (Outcome::Pass, 1),
            ]
        );
    }

    #[test]
    fn tests_are_handed_on_one_at_a_time() {
        // The sink sees the first test before the parser reaches the error in the second.
        let mut seen = Vec::new();
        let mut input: &[u8] = br#"{"results":{"tests":[{"name":"first","status":"passed","duration":1},{"name":"second","status":"passed","duration":"#;
        let error = Ctrf
            .read(&mut input, &mut |test| seen.push(test.name))
            .unwrap_err();
        assert_eq!(seen, vec!["first"]);
        assert!(matches!(error, ResultsErrorKind::Malformed { .. }));
    }

    #[test]
    fn malformed_documents_have_positions() {
        match read("{\n  \"results\": {\n    \"tests\": [\n      {\"name\": \"a\", \"status\": passed}\n    ]\n  }\n}").unwrap_err() {
            ResultsErrorKind::Malformed { line, column, message } => {
                assert_eq!(line, 4);
                assert_eq!(column, 31);
                assert!(message.contains("expected value"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let missing = |text: &str, what: &str| match read(text).unwrap_err() {
            ResultsErrorKind::Malformed { message, .. } => {
                assert!(message.contains(what), "{message}");
            }
            other => panic!("{other:?}"),
        };
        missing(r#"{"tool":{}}"#, "missing field `results`");
        missing(
            r#"{"results":{"tool":{"name":"x"}}}"#,
            "missing field `tests`",
        );
        missing(
            r#"{"results":{"tests":[{"status":"passed"}]}}"#,
            "missing field `name`",
        );
        missing(
            r#"{"results":{"tests":[{"name":"a"}]}}"#,
            "missing field `status`",
        );
        missing(
            r#"{"results":{"tests":[{"name":"a","status":"broken"}]}}"#,
            "unknown status `broken`",
        );
        missing(r#"{"results":{"tests":{}}}"#, "an array of tests");
        missing(r#"[1]"#, "a CTRF document");
        missing(
            r#"{"results":{"tests":[]}} trailing"#,
            "trailing characters",
        );
        missing(
            r#"{"results":{"tests":[]},"results":{"tests":[]}}"#,
            "duplicate field `results`",
        );
        missing("", "EOF");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_blow_up() {
        let mut text = String::from(r#"{"results":{"tests":[],"extra":"#);
        text.push_str(&"[".repeat(100_000));
        match read(&text).unwrap_err() {
            ResultsErrorKind::Malformed {
                line,
                column,
                message,
            } => {
                assert_eq!(line, 1);
                assert_eq!(column, 32 + MAX_NESTING - 2);
                assert!(message.contains("nested"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Brackets inside strings do not count.
        let quoted = format!(
            r#"{{"results":{{"tests":[{{"name":"{}","status":"passed"}}]}}}}"#,
            "[".repeat(500)
        );
        assert_eq!(read(&quoted).unwrap().len(), 1);
    }

    #[test]
    fn huge_strings_are_cut_while_reading() {
        let trace = "t".repeat(4 * MAX_MESSAGE_BYTES);
        let text = format!(
            r#"{{"results":{{"tests":[{{"name":"big","status":"failed","duration":1,"trace":"{trace}"}}]}}}}"#
        );
        let tests = read(&text).unwrap();
        let message = tests[0].message.as_deref().unwrap();
        assert!(message.len() <= MAX_MESSAGE_BYTES);
        assert!(message.ends_with("more bytes cut]"));
    }

    #[test]
    fn positions_count_from_one() {
        for (input, position) in [
            (&b""[..], (1, 1)),
            (b"{\"results\":\n", (2, 1)),
            (b"\n\n", (3, 1)),
        ] {
            match collect_partial(&Ctrf, input).1 {
                Err(ResultsErrorKind::Malformed { line, column, .. }) => {
                    assert_eq!((line, column), position, "{input:?}")
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_and_odd_values() {
        let tests = read(
            "\u{feff}{\"results\":{\"tests\":[{\"name\":\"a\",\"status\":\"passed\",\"duration\":null,\"suite\":\"\",\"filePath\":\"\",\"message\":\"  \",\"parameters\":{}}]}}",
        )
        .unwrap();
        assert_eq!(tests[0].duration_secs, None);
        assert!(tests[0].suite.is_empty());
        assert_eq!(tests[0].file, None);
        assert_eq!(tests[0].message, None);
        assert_eq!(tests[0].variant, None);
        assert!(read(r#"{"results":{"tests":[]}}"#).unwrap().is_empty());
    }

    #[test]
    fn sniffs_ctrf_documents() {
        assert!(Ctrf.sniff(REPORT.as_bytes()));
        assert!(Ctrf.sniff(b"  {\"results\": {\"tool\": {\"name\": \"x\"}"));
        assert!(Ctrf.sniff(b"\xEF\xBB\xBF{\"reportFormat\":\"CTRF\",\"results\":{"));
        assert!(!Ctrf.sniff(b"{\"recipe\":\"x\",\"results\":{\"install\":\"pass\"}}"));
        assert!(
            !Ctrf.sniff(b"{\"Action\":\"output\",\"Output\":\"\\\"results\\\" \\\"tests\\\"\"}")
        );
        assert!(!Ctrf.sniff(b"<testsuites/>"));
        assert!(!Ctrf.sniff(b""));
    }

    /// Reads through a buffer of `capacity` bytes, so that every chunk boundary is tried.
    fn read_chunked(bytes: &[u8], capacity: usize) -> Result<Vec<TestCase>, String> {
        crate::results::adapter::testing::collect_chunked(&Ctrf, bytes, capacity)
    }

    mod properties {
        use super::*;
        use crate::results::adapter::testing::{collect_partial, points_into};
        use proptest::prelude::*;

        fn fragment() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(r#"{"results":{"tests":["#.to_owned()),
                Just(r#"{"name":"a","status":"passed","duration":1}"#.to_owned()),
                Just(r#"{"name":"b","status":"failed","suite":"x > y","parameters":{"k":[1,{"z":null}]}}"#.to_owned()),
                Just("]}}".to_owned()),
                "[\\[\\]{}\":,a-z0-9 \\\\]{0,12}",
            ]
        }

        proptest! {
            #[test]
            fn the_same_in_any_chunking(parts in proptest::collection::vec(fragment(), 0..30), capacity in 1..8usize, bom in any::<bool>()) {
                let mut bytes = parts.concat().into_bytes();
                if bom {
                    bytes.splice(0..0, *b"\xEF\xBB\xBF");
                }
                prop_assert_eq!(read_chunked(&bytes, 1 << 16), read_chunked(&bytes, capacity));
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
                let _ = Ctrf.sniff(&bytes);
                let (tests, result) = collect_partial(&Ctrf, &bytes);
                // Every test is an object of its own, before an error too.
                let objects = bytes.iter().filter(|byte| **byte == b'{').count();
                prop_assert!(tests.len() <= objects);
                if let Err(error) = result {
                    prop_assert!(points_into(&error, &bytes), "{:?}", error);
                }
            }

            #[test]
            fn json_soup_never_panics(parts in proptest::collection::vec(fragment(), 0..30)) {
                let text = parts.concat();
                let _ = Ctrf.sniff(text.as_bytes());
                // Only the test fragments are tests, before an error too.
                let (tests, result) = collect_partial(&Ctrf, text.as_bytes());
                prop_assert!(tests.len() <= parts.len());
                if let Err(error) = result {
                    prop_assert!(points_into(&error, text.as_bytes()), "{:?}", error);
                }
            }

            #[test]
            fn tests_read_back(
                tests in proptest::collection::vec(
                    (".{1,20}", 0..5usize, 0..3u64, any::<bool>(), proptest::collection::vec("[a-z ]{1,8}", 0..3), 0..100_000u32),
                    0..20,
                )
            ) {
                let statuses = ["passed", "failed", "skipped", "pending", "other"];
                let elements: Vec<serde_json::Value> = tests
                    .iter()
                    .map(|(name, status, retries, flaky, suite, millis)| {
                        serde_json::json!({
                            "name": name,
                            "status": statuses[*status],
                            "duration": millis,
                            "retries": retries,
                            "flaky": flaky,
                            "suite": suite,
                        })
                    })
                    .collect();
                let document = serde_json::json!({
                    "reportFormat": "CTRF",
                    "results": { "tool": { "name": "prop" }, "tests": elements },
                });
                let text = if tests.len() % 2 == 0 {
                    serde_json::to_string_pretty(&document).unwrap()
                } else {
                    document.to_string()
                };
                prop_assert!(Ctrf.sniff(&text.as_bytes()[..text.len().min(4096)]));
                let read_back = read(&text).unwrap();
                prop_assert_eq!(read_back.len(), tests.len());
                for (test, (name, status, retries, flaky, suite, millis)) in read_back.iter().zip(&tests) {
                    prop_assert_eq!(&test.name, name);
                    let expected = match *status {
                        0 if *flaky || *retries > 0 => Outcome::FlakyPass,
                        0 => Outcome::Pass,
                        1 => Outcome::Fail,
                        2 => Outcome::Skip,
                        _ => Outcome::NotRun,
                    };
                    prop_assert_eq!(test.outcome, expected);
                    prop_assert_eq!(&test.suite, suite);
                    prop_assert_eq!(test.duration_secs, Some(f64::from(*millis) / 1000.0));
                    let attempts = u32::try_from(*retries).unwrap() + 1;
                    let attempts = if expected == Outcome::FlakyPass { attempts.max(2) } else { attempts };
                    prop_assert_eq!(test.attempts, attempts);
                }
            }
        }
    }
}
