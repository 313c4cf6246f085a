//! libtest's JSON event stream: what `cargo test -- -Z unstable-options --format json
//! --report-time` prints, and what `cargo nextest run --message-format libtest-json` imitates.
//!
//! One JSON object a line:
//! - `{"type":"suite","event":"started","test_count":N}`, then per test
//!   `{"type":"test","event":"started","name":"..."}` and one result
//!   `{"type":"test","name":"...","event":"ok"|"failed"|"ignored","exec_time":...}`, then
//!   `{"type":"suite","event":"ok"|"failed",...}`; benchmarks are `{"type":"bench",...}`.
//!
//! How it reads:
//! - `ok` is a pass, `failed` a failure whose message is the event's `message`/`reason` (if
//!   any) followed by its captured `stdout`, `ignored` a skip (message: its reason), a `bench`
//!   result a pass. Any other word for a test's result is an error: guessing could turn a
//!   failure into a pass.
//! - `exec_time` is read in both spellings: seconds as a number (`0.001`, current libtest) and
//!   as a string (`"0.001s"`, older libtest).
//! - `timeout` is libtest's warning that a test has run for over 60 s, not a result: the test
//!   stays running. A test that started (or was warned about) and has no result when the stream
//!   ends is an error, "did not finish": the binary crashed, hung or was killed.
//! - A suite that ends `failed` without any failed test since it started gets a synthetic
//!   failed test named `(suite)`, so that the run can never look green; so does a suite that
//!   started and never ended when no unfinished test already says so.
//! - Names: nextest writes `binary-id$path`; the binary id becomes the first suite. A path
//!   `mod::sub::test` is split into suite `["mod", "sub"]` (also the `classname`, `mod::sub`)
//!   and name `test`. Names with whitespace (doc tests such as `src/lib.rs - f (line 3)`,
//!   custom harnesses) are kept whole, since they are not Rust paths.
//! - Lines that do not start with `{` are other output (cargo's, a test's `--nocapture`
//!   prints) and are ignored, as are JSON objects without a known `type` (cargo's own
//!   `--message-format json` messages). A line that starts with `{` and is not JSON is an error
//!   with its line and column.
//!
//! Memory: every JSON string is cut to about [`MAX_MESSAGE_BYTES`](crate::results::adapter::MAX_MESSAGE_BYTES) while it is read, a line
//! to 1 MiB (a longer JSON line is an error), and the names of tests still running to 64 MiB
//! in all, so that no input costs more than a bounded amount of memory.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value;

use crate::results::ResultsErrorKind;
use crate::results::adapter::{Adapter, bounded_message};
use crate::results::json_stream::JsonLines;
use crate::results::model::{Outcome, TestCase};

/// The libtest-json format.
#[derive(Debug, Clone, Copy)]
pub struct LibtestJson;

/// The most bytes of names of tests still running that are kept at once.
const MAX_RUNNING_BYTES: usize = 64 << 20;

impl Adapter for LibtestJson {
    fn name(&self) -> &'static str {
        "libtest-json"
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        head.split(|byte| *byte == b'\n').any(is_suite_line)
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind> {
        let mut state = State::default();
        JsonLines::new(input).for_each_object(|value, number| state.event(value, number, sink))?;
        state.finish(sink);
        Ok(())
    }
}

/// Whether a line is a libtest suite event: `{"type":"suite"`, with any spacing.
fn is_suite_line(line: &[u8]) -> bool {
    let mut rest = line.trim_ascii_start();
    for token in [&b"{"[..], b"\"type\"", b":", b"\"suite\""] {
        match rest.strip_prefix(token) {
            Some(after) => rest = after.trim_ascii_start(),
            None => return false,
        }
    }
    true
}

/// A test that started and has no result yet.
struct Running {
    order: u64,
    warned_timeout: bool,
}

#[derive(Default)]
struct State {
    /// Tests started and not finished, by full name.
    running: HashMap<String, Running>,
    running_bytes: usize,
    next_order: u64,
    /// For each suite started and not ended, how many failures had been reported when it
    /// started (suites of nextest's several binaries may interleave; a stack is enough to
    /// know whether any failure was reported since).
    open_suites: Vec<u64>,
    failures: u64,
}

impl State {
    fn event(
        &mut self,
        value: &Value,
        line: usize,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind> {
        let malformed = |message: String| ResultsErrorKind::Malformed {
            line,
            column: 1,
            message,
        };
        let kind = text(value, "type");
        let event = text(value, "event");
        match kind {
            Some("suite") => match event {
                // A pathological stream of starts without ends must not grow without bound.
                Some("started") if self.open_suites.len() < 1 << 16 => {
                    self.open_suites.push(self.failures);
                }
                Some(word @ ("ok" | "failed")) => {
                    let since = self.open_suites.pop().unwrap_or(0);
                    if word == "failed" && self.failures == since {
                        let mut test = TestCase::new("(suite)", Outcome::Error, "failed");
                        test.duration_secs = exec_time(value);
                        test.message = Some(format!(
                            "the test suite failed with no failed test ({})",
                            suite_counts(value)
                        ));
                        self.emit(test, sink);
                    }
                }
                _ => {}
            },
            Some("test") => {
                let Some(name) = text(value, "name") else {
                    return Err(malformed("a test event without a `name`".to_owned()));
                };
                let Some(event) = event else {
                    return Err(malformed(format!("test `{name}` has no `event`")));
                };
                match event {
                    "started" | "timeout" => {
                        if let Some(running) = self.running.get_mut(name) {
                            running.warned_timeout |= event == "timeout";
                        } else {
                            self.running_bytes += name.len();
                            if self.running_bytes > MAX_RUNNING_BYTES {
                                return Err(malformed(format!(
                                    "more than {MAX_RUNNING_BYTES} bytes of names of tests running at once"
                                )));
                            }
                            self.running.insert(
                                name.to_owned(),
                                Running {
                                    order: self.next_order,
                                    warned_timeout: event == "timeout",
                                },
                            );
                            self.next_order += 1;
                        }
                    }
                    "ok" | "failed" | "ignored" => {
                        if self.running.remove(name).is_some() {
                            self.running_bytes -= name.len();
                        }
                        let outcome = match event {
                            "ok" => Outcome::Pass,
                            "failed" => Outcome::Fail,
                            _ => Outcome::Skip,
                        };
                        let mut test = named(name, outcome, event);
                        test.duration_secs = exec_time(value);
                        test.message = match outcome {
                            Outcome::Fail => failure_message(value),
                            _ => text(value, "message")
                                .filter(|message| !message.is_empty())
                                .map(|message| bounded_message(message.to_owned())),
                        };
                        self.emit(test, sink);
                    }
                    other => {
                        return Err(malformed(format!(
                            "test `{name}` has the unknown result `{other}` (known: started, ok, failed, ignored, timeout)"
                        )));
                    }
                }
            }
            Some("bench") => {
                let Some(name) = text(value, "name") else {
                    return Err(malformed("a bench event without a `name`".to_owned()));
                };
                if self.running.remove(name).is_some() {
                    self.running_bytes -= name.len();
                }
                self.emit(named(name, Outcome::Pass, "bench"), sink);
            }
            _ => {}
        }
        Ok(())
    }

    fn emit(&mut self, test: TestCase, sink: &mut dyn FnMut(TestCase)) {
        if test.outcome.is_failure() {
            self.failures += 1;
        }
        sink(test);
    }

    /// At the end of the stream: tests without a result did not finish.
    fn finish(mut self, sink: &mut dyn FnMut(TestCase)) {
        let mut running: Vec<(String, Running)> =
            std::mem::take(&mut self.running).into_iter().collect();
        running.sort_by_key(|(_, running)| running.order);
        let unfinished = !running.is_empty();
        for (name, state) in running {
            let raw = if state.warned_timeout {
                "timeout"
            } else {
                "started"
            };
            let mut test = named(&name, Outcome::Error, raw);
            test.message = Some(if state.warned_timeout {
                "did not finish: the stream ended before its result (libtest had warned that it ran for over 60 seconds)".to_owned()
            } else {
                "did not finish: the stream ended before its result".to_owned()
            });
            self.emit(test, sink);
        }
        if !self.open_suites.is_empty() && !unfinished {
            let mut test = TestCase::new("(suite)", Outcome::Error, "started");
            test.message = Some(
                "the test suite did not finish: the stream ended before its result".to_owned(),
            );
            self.emit(test, sink);
        }
    }
}

/// A string field of an event, when it is a string.
fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// `exec_time` as seconds: a number (`0.001`) or a string (`"0.001s"`).
fn exec_time(value: &Value) -> Option<f64> {
    let seconds = match value.get("exec_time")? {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => {
            let text = text.trim();
            text.strip_suffix('s').unwrap_or(text).trim().parse().ok()?
        }
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

/// A failed test's message: libtest's `message` or `reason`, then its captured stdout.
fn failure_message(value: &Value) -> Option<String> {
    let parts: Vec<&str> = ["message", "reason", "stdout"]
        .into_iter()
        .filter_map(|key| text(value, key))
        .filter(|part| !part.is_empty())
        .collect();
    (!parts.is_empty()).then(|| bounded_message(parts.join("\n")))
}

/// The counts of a suite's end event, for the synthetic failure's message.
fn suite_counts(value: &Value) -> String {
    let counts: Vec<String> = ["passed", "failed", "ignored", "measured", "filtered_out"]
        .into_iter()
        .filter_map(|key| Some(format!("{key} {}", value.get(key)?.as_u64()?)))
        .collect();
    if counts.is_empty() {
        "no counts given".to_owned()
    } else {
        counts.join(", ")
    }
}

/// A test named by its libtest path: `binary$mod::sub::test` → suite `[binary, mod, sub]`,
/// classname `mod::sub`, name `test`.
fn named(full: &str, outcome: Outcome, raw: &str) -> TestCase {
    let (binary, path) = match full.split_once('$') {
        Some((binary, path)) if !binary.is_empty() && !path.is_empty() => (Some(binary), path),
        _ => (None, full),
    };
    let mut suite: Vec<String> = binary.map(str::to_owned).into_iter().collect();
    let splittable = !path.chars().any(char::is_whitespace);
    let mut test = match path.rsplit_once("::") {
        Some((module, name)) if splittable && !module.is_empty() && !name.is_empty() => {
            suite.extend(module.split("::").map(str::to_owned));
            let mut test = TestCase::new(name, outcome, raw);
            test.classname = Some(module.to_owned());
            test
        }
        _ => TestCase::new(path, outcome, raw),
    };
    test.suite = suite;
    test
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::adapter::MAX_MESSAGE_BYTES;
    use crate::results::json_stream::{MAX_LINE_BYTES, STRING_CAP};

    fn read(text: &str) -> Result<Vec<TestCase>, ResultsErrorKind> {
        read_bytes(text.as_bytes())
    }

    fn read_bytes(bytes: &[u8]) -> Result<Vec<TestCase>, ResultsErrorKind> {
        crate::results::adapter::testing::collect(&LibtestJson, bytes)
    }

    use crate::results::adapter::testing::summary;

    const CARGO_TEST: &str = r#"   Compiling demo v0.1.0 (/tmp/demo)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running unittests src/lib.rs (target/debug/deps/demo-0123456789abcdef)
{ "type": "suite", "event": "started", "test_count": 4 }
{ "type": "test", "event": "started", "name": "tests::adds" }
{ "type": "test", "event": "started", "name": "tests::fails" }
{ "type": "test", "event": "started", "name": "tests::ignored" }
{ "type": "test", "event": "started", "name": "parse::deep::reads" }
{ "type": "test", "name": "tests::adds", "event": "ok", "exec_time": 0.000123 }
{ "type": "test", "name": "tests::fails", "event": "failed", "exec_time": 0.5, "stdout": "thread 'tests::fails' panicked at src/lib.rs:9:9:\nassertion failed\n" }
{ "type": "test", "name": "tests::ignored", "event": "ignored", "message": "needs a network" }
{ "type": "test", "name": "parse::deep::reads", "event": "ok", "exec_time": "0.25s" }
{ "type": "suite", "event": "failed", "passed": 2, "failed": 1, "ignored": 1, "measured": 0, "filtered_out": 0, "exec_time": 0.6 }
error: test failed, to rerun pass `--lib`
"#;

    #[test]
    fn reads_a_cargo_test_stream_with_interleaved_cargo_output() {
        let tests = read(CARGO_TEST).unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("adds".to_owned(), Outcome::Pass),
                ("fails".to_owned(), Outcome::Fail),
                ("ignored".to_owned(), Outcome::Skip),
                ("reads".to_owned(), Outcome::Pass),
            ]
        );
        assert_eq!(tests[0].suite, vec!["tests"]);
        assert_eq!(tests[0].classname.as_deref(), Some("tests"));
        assert_eq!(tests[3].suite, vec!["parse", "deep"]);
        assert_eq!(tests[3].classname.as_deref(), Some("parse::deep"));
        assert!(
            tests[1]
                .message
                .as_deref()
                .unwrap()
                .contains("assertion failed")
        );
        assert_eq!(tests[1].raw_status, "failed");
        assert_eq!(tests[2].message.as_deref(), Some("needs a network"));
        assert_eq!(tests[2].raw_status, "ignored");
    }

    #[test]
    fn exec_time_in_both_spellings() {
        let tests = read(CARGO_TEST).unwrap();
        assert_eq!(tests[0].duration_secs, Some(0.000123));
        assert_eq!(tests[3].duration_secs, Some(0.25));
        assert_eq!(tests[2].duration_secs, None);
        let odd = read(
            r#"{"type":"test","name":"a","event":"ok","exec_time":"soon"}
{"type":"test","name":"b","event":"ok","exec_time":-1}
{"type":"test","name":"c","event":"ok","exec_time":" 1.5s "}"#,
        )
        .unwrap();
        let durations: Vec<Option<f64>> = odd.iter().map(|test| test.duration_secs).collect();
        assert_eq!(durations, vec![None, None, Some(1.5)]);
    }

    #[test]
    fn failure_messages_join_message_reason_and_stdout() {
        let tests = read(
            r#"{"type":"test","name":"slow","event":"failed","reason":"time limit exceeded"}
{"type":"test","name":"panics","event":"failed","message":"panic did not contain expected string","stdout":"out\n"}
{"type":"test","name":"quiet","event":"failed"}"#,
        )
        .unwrap();
        assert_eq!(tests[0].message.as_deref(), Some("time limit exceeded"));
        assert_eq!(
            tests[1].message.as_deref(),
            Some("panic did not contain expected string\nout\n")
        );
        assert_eq!(tests[2].message, None);
        assert!(tests.iter().all(|test| test.outcome == Outcome::Fail));
    }

    #[test]
    fn a_test_that_never_finished_is_an_error() {
        let tests = read(
            r#"{ "type": "suite", "event": "started", "test_count": 3 }
{ "type": "test", "event": "started", "name": "a::quick" }
{ "type": "test", "event": "started", "name": "a::hangs" }
{ "type": "test", "event": "started", "name": "a::crashes" }
{ "type": "test", "name": "a::quick", "event": "ok", "exec_time": 0.1 }
{ "type": "test", "event": "timeout", "name": "a::hangs" }"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("quick".to_owned(), Outcome::Pass),
                ("hangs".to_owned(), Outcome::Error),
                ("crashes".to_owned(), Outcome::Error),
            ]
        );
        assert_eq!(tests[1].raw_status, "timeout");
        assert!(tests[1].message.as_deref().unwrap().contains("60 seconds"));
        assert!(
            tests[2]
                .message
                .as_deref()
                .unwrap()
                .starts_with("did not finish")
        );
    }

    #[test]
    fn a_timeout_warning_followed_by_a_result_is_that_result() {
        let tests = read(
            r#"{ "type": "test", "event": "started", "name": "slow" }
{ "type": "test", "event": "timeout", "name": "slow" }
{ "type": "test", "name": "slow", "event": "ok", "exec_time": 61.0 }"#,
        )
        .unwrap();
        assert_eq!(summary(&tests), vec![("slow".to_owned(), Outcome::Pass)]);
    }

    #[test]
    fn a_suite_that_failed_with_no_failed_test_is_a_failure() {
        let tests = read(
            r#"{ "type": "suite", "event": "started", "test_count": 1 }
{ "type": "test", "name": "ok_one", "event": "ok" }
{ "type": "suite", "event": "failed", "passed": 1, "failed": 0, "ignored": 0, "measured": 0, "filtered_out": 0 }"#,
        )
        .unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[1].name, "(suite)");
        assert_eq!(tests[1].outcome, Outcome::Error);
        assert!(
            tests[1]
                .message
                .as_deref()
                .unwrap()
                .contains("passed 1, failed 0")
        );
        // With a failed test the suite's failure needs no synthetic test.
        assert_eq!(read(CARGO_TEST).unwrap().len(), 4);
    }

    #[test]
    fn a_suite_that_never_ended_is_an_error() {
        let tests = read(
            r#"{ "type": "suite", "event": "started", "test_count": 2 }
{ "type": "test", "name": "one", "event": "ok" }"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("one".to_owned(), Outcome::Pass),
                ("(suite)".to_owned(), Outcome::Error)
            ]
        );
    }

    #[test]
    fn nextest_binary_ids_become_the_first_suite() {
        let tests = read(
            r#"{"type":"suite","event":"started","test_count":1,"nextest":{"crate":"demo","test_binary":"demo","kind":"lib"}}
{"type":"test","event":"started","name":"demo::bin/cli$args::parses"}
{"type":"test","name":"demo::bin/cli$args::parses","event":"ok","exec_time":0.002}
{"type":"test","name":"demo$top","event":"ok"}
{"type":"suite","event":"ok","passed":2,"failed":0,"ignored":0,"measured":0,"filtered_out":0}"#,
        )
        .unwrap();
        assert_eq!(tests[0].suite, vec!["demo::bin/cli", "args"]);
        assert_eq!(tests[0].name, "parses");
        assert_eq!(tests[1].suite, vec!["demo"]);
        assert_eq!(tests[1].name, "top");
        assert_eq!(tests[1].classname, None);
    }

    #[test]
    fn names_with_spaces_are_kept_whole() {
        let tests = read(
            r#"{"type":"test","name":"src/lib.rs - results::Format::name (line 30)","event":"ok"}
{"type":"test","name":"canary good-simple","event":"ok"}
{"type":"bench","name":"bench::parse","median":10,"deviation":1}"#,
        )
        .unwrap();
        assert_eq!(
            tests[0].name,
            "src/lib.rs - results::Format::name (line 30)"
        );
        assert!(tests[0].suite.is_empty());
        assert_eq!(tests[1].name, "canary good-simple");
        assert_eq!(tests[2].name, "parse");
        assert_eq!(tests[2].raw_status, "bench");
        assert_eq!(tests[2].outcome, Outcome::Pass);
    }

    #[test]
    fn cargo_json_messages_and_other_objects_are_ignored() {
        let tests = read(
            r#"{"reason":"compiler-message","package_id":"demo","message":{"rendered":"warning: unused"}}
{"reason":"build-finished","success":true}
[1, 2, 3]
{"type":"test","name":"a","event":"ok"}"#,
        )
        .unwrap();
        assert_eq!(summary(&tests), vec![("a".to_owned(), Outcome::Pass)]);
    }

    #[test]
    fn a_broken_json_line_is_malformed_with_its_position() {
        let error = read(
            "{\"type\":\"suite\",\"event\":\"started\"}\nnot json\n  {\"type\": \"test\",, }\n",
        )
        .unwrap_err();
        match error {
            ResultsErrorKind::Malformed {
                line,
                column,
                message,
            } => {
                assert_eq!(line, 3);
                assert_eq!(column, 19);
                assert_eq!(message, "key must be a string");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_results_and_nameless_tests_are_malformed() {
        assert!(matches!(
            read(r#"{"type":"test","name":"a","event":"allowed_fail"}"#),
            Err(ResultsErrorKind::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            read("\n{\"type\":\"test\",\"event\":\"ok\"}"),
            Err(ResultsErrorKind::Malformed { line: 2, .. })
        ));
        assert!(matches!(
            read(r#"{"type":"test","name":"a"}"#),
            Err(ResultsErrorKind::Malformed { .. })
        ));
    }

    #[test]
    fn huge_strings_are_cut_while_reading() {
        let stdout = "x".repeat(3 * MAX_MESSAGE_BYTES);
        let text = format!(
            "{{\"type\":\"test\",\"name\":\"big\",\"event\":\"failed\",\"stdout\":\"{stdout}\\u00e9\"}}\n{{\"type\":\"test\",\"name\":\"next\",\"event\":\"ok\"}}"
        );
        let tests = read(&text).unwrap();
        assert_eq!(tests.len(), 2);
        let message = tests[0].message.as_deref().unwrap();
        assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
        assert!(
            message.ends_with("more bytes cut]"),
            "{}",
            &message[message.len() - 40..]
        );
    }

    #[test]
    fn cutting_keeps_escapes_and_surrogate_pairs_whole() {
        for pad in 0..8 {
            let mut body = "a".repeat(STRING_CAP - pad);
            body.push_str(&"\\ud83d\\ude00\\n\\\"é".repeat(4));
            let line = format!(
                "{{\"type\":\"test\",\"name\":\"n\",\"event\":\"failed\",\"stdout\":\"{body}\"}}"
            );
            let tests = read(&line).unwrap_or_else(|error| panic!("pad {pad}: {error:?}"));
            assert_eq!(tests[0].outcome, Outcome::Fail);
        }
    }

    #[test]
    fn an_overlong_json_line_is_malformed_and_other_long_lines_are_skipped() {
        let long_other = "y".repeat(MAX_LINE_BYTES + 10);
        let text = format!("{long_other}\n{{\"type\":\"test\",\"name\":\"a\",\"event\":\"ok\"}}\n");
        assert_eq!(read(&text).unwrap().len(), 1);
        let mut big = String::from("{\"type\":\"test\",\"name\":\"a\",\"event\":\"ok\",\"pad\":[");
        while big.len() <= MAX_LINE_BYTES {
            big.push_str("1,");
        }
        big.push_str("1]}");
        assert!(matches!(
            read(&big),
            Err(ResultsErrorKind::Malformed { line: 1, .. })
        ));
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_accepted() {
        let tests =
            read_bytes(b"\xEF\xBB\xBF{\"type\":\"test\",\"name\":\"a\",\"event\":\"ok\"}\r\n")
                .unwrap();
        assert_eq!(summary(&tests), vec![("a".to_owned(), Outcome::Pass)]);
    }

    #[test]
    fn sniffs_suite_lines() {
        assert!(
            LibtestJson.sniff(b"   Compiling x\n{ \"type\": \"suite\", \"event\": \"started\" }\n")
        );
        assert!(LibtestJson.sniff(b"{\"type\":\"suite\",\"event\":\"started\",\"test_count\":1}"));
        assert!(LibtestJson.sniff(b"\xEF\xBB\xBF{\"type\":\"suite\""));
        assert!(!LibtestJson.sniff(b"{\"Action\":\"start\",\"Package\":\"p\"}"));
        assert!(!LibtestJson.sniff(b"{\"type\":\"test\",\"name\":\"a\"}"));
        assert!(!LibtestJson.sniff(b""));
        assert!(!LibtestJson.sniff(b"{\"results\":{\"tests\":[]}}"));
    }

    /// Reads through a buffer of `capacity` bytes, so that every chunk boundary is tried.
    fn read_chunked(bytes: &[u8], capacity: usize) -> Result<Vec<TestCase>, String> {
        crate::results::adapter::testing::collect_chunked(&LibtestJson, bytes, capacity)
    }

    mod properties {
        use super::*;
        use crate::results::adapter::testing::{collect_partial, points_into};
        use proptest::prelude::*;

        fn fragment() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(r#"{"type":"suite","event":"started","test_count":2}"#.to_owned()),
                Just(r#"{"type":"suite","event":"failed","passed":0}"#.to_owned()),
                Just(r#"{"type":"suite","event":"ok"}"#.to_owned()),
                "[a-c:$ ]{0,6}".prop_map(|name| format!(
                    r#"{{"type":"test","event":"started","name":"{name}"}}"#
                )),
                ("[a-c:$ ]{0,6}", "(ok|failed|ignored|timeout|started)").prop_map(
                    |(name, event)| format!(
                        r#"{{"type":"test","name":"{name}","event":"{event}","exec_time":"0.1s"}}"#
                    )
                ),
                "[{}\":,a-z0-9 \\\\]{0,30}",
                Just("\u{feff}\r".to_owned()),
            ]
        }

        proptest! {
            #[test]
            fn the_same_in_any_chunking(parts in proptest::collection::vec(fragment(), 0..30), capacity in 1..8usize, bom in any::<bool>()) {
                let mut bytes = parts.join("\n").into_bytes();
                if bom {
                    bytes.splice(0..0, *b"\xEF\xBB\xBF");
                }
                prop_assert_eq!(read_chunked(&bytes, 1 << 16), read_chunked(&bytes, capacity));
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
                let _ = LibtestJson.sniff(&bytes[..bytes.len().min(4096)]);
                let (tests, result) = collect_partial(&LibtestJson, &bytes);
                // Each line yields at most one test, plus one for an unfinished suite
                // (before an error too).
                let lines = bytes.split(|byte| *byte == b'\n').count();
                prop_assert!(tests.len() <= lines + 1);
                if let Err(error) = result {
                    prop_assert!(points_into(&error, &bytes), "{:?}", error);
                }
            }

            #[test]
            fn event_soup_never_panics(lines in proptest::collection::vec(fragment(), 0..40)) {
                let text = lines.join("\n");
                let _ = LibtestJson.sniff(text.as_bytes());
                let (tests, result) = collect_partial(&LibtestJson, text.as_bytes());
                // Each line yields at most one test, plus one for an unfinished suite
                // (before an error too).
                prop_assert!(tests.len() <= lines.len() + 1);
                if let Err(error) = result {
                    prop_assert!(points_into(&error, text.as_bytes()), "{:?}", error);
                }
            }

            #[test]
            fn results_read_back(
                results in proptest::collection::vec(
                    ("[a-z_]{1,8}", "[a-z_]{1,8}", 0..3u8, any::<bool>(), 0..10_000u32),
                    0..20,
                )
            ) {
                let mut text = format!("{{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": {} }}\n", results.len());
                let mut any_failed = false;
                for (index, (module, name, kind, string_time, millis)) in results.iter().enumerate() {
                    let full = format!("{module}::t{index}_{name}");
                    let event = ["ok", "failed", "ignored"][usize::from(*kind)];
                    any_failed |= *kind == 1;
                    let seconds = f64::from(*millis) / 1000.0;
                    let time = if *string_time { format!("\"{seconds}s\"") } else { format!("{seconds}") };
                    text.push_str(&format!("{{ \"type\": \"test\", \"event\": \"started\", \"name\": \"{full}\" }}\n"));
                    text.push_str(&format!("{{ \"type\": \"test\", \"name\": \"{full}\", \"event\": \"{event}\", \"exec_time\": {time} }}\n"));
                }
                let end = if any_failed { "failed" } else { "ok" };
                text.push_str(&format!("{{ \"type\": \"suite\", \"event\": \"{end}\" }}\n"));
                let tests = read(&text).unwrap();
                prop_assert_eq!(tests.len(), results.len());
                for (index, (test, (module, name, kind, _, millis))) in tests.iter().zip(&results).enumerate() {
                    prop_assert_eq!(&test.name, &format!("t{index}_{name}"));
                    prop_assert_eq!(&test.suite, &vec![module.clone()]);
                    let expected = [Outcome::Pass, Outcome::Fail, Outcome::Skip][usize::from(*kind)];
                    prop_assert_eq!(test.outcome, expected);
                    let seconds = test.duration_secs.unwrap();
                    prop_assert!((seconds - f64::from(*millis) / 1000.0).abs() < 1e-9);
                }
            }
        }
    }
}
