//! `go test -json` (and `go tool test2json`): one JSON event a line, each with an `Action`
//! (`start`, `run`, `pause`, `cont`, `output`, `pass`, `fail`, `skip`, `bench`, and since Go
//! 1.24 `build-output`/`build-fail`), a `Package`, a `Test` when it is about one test,
//! `Elapsed` seconds on results, and `Output` text.
//!
//! How it reads:
//! - A test's `pass`/`fail`/`skip` is its result; its `output` lines (less the `=== RUN`,
//!   `=== PAUSE`, `=== CONT`, `=== NAME` and `--- PASS/FAIL/SKIP` framing) become the message
//!   of a failure or skip, bounded.
//! - Identity: suite `[package]` and name `TestX`; a subtest `TestA/sub/case` has suite
//!   `[package, "TestA", "sub"]` and name `case` (its parents are reported as tests of their
//!   own, as Go reports them).
//! - Package-level failures are failures: a package that ends `fail` while tests are still
//!   running (a timeout panic, `os.Exit`, a crash) fails each of them, with their output and
//!   the package's (where `panic: test timed out` shows); a package that ends `fail` with no
//!   failed test gets a synthetic test named after the package (outcome error), whose message
//!   is the package's output; a failed build (Go 1.24 `build-fail`, joined to the package by
//!   its `FailedBuild`, or older Go's `FAIL pkg [build failed]` output) is such a synthetic
//!   test with raw status `build-fail` and the compiler's output as message.
//! - At the end of the stream, tests still running and packages started but not ended did not
//!   finish: errors. A `build-fail` no package claimed is an error too.
//! - Unknown actions (newer Go's `attr`, ...) are ignored: a test only passes on its `pass`.
//! - Lines that do not start with `{` are other output and ignored, as are JSON objects
//!   without an `Action`; a line that starts with `{` and is not JSON is an error with its
//!   line and column.
//!
//! Memory: every JSON string is cut to about [`MAX_MESSAGE_BYTES`] while it is read, a line
//! to 1 MiB (a longer JSON line is an error), each test's or package's kept output to
//! [`MAX_MESSAGE_BYTES`], all output kept for tests and packages not ended to 64 MiB (more
//! is cut) and their names to 16 MiB (more is an error).

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value;

use crate::results::ResultsErrorKind;
use crate::results::adapter::{Adapter, MAX_MESSAGE_BYTES, bounded_message};
use crate::results::json_stream::JsonLines;
use crate::results::model::{Outcome, TestCase};

/// The go-test-json format.
#[derive(Debug, Clone, Copy)]
pub struct GoTestJson;

/// The most bytes of names of tests, packages and builds kept at once.
const MAX_NAME_BYTES: usize = 16 << 20;

/// The most bytes of output kept at once for tests, packages and builds not ended.
const MAX_OUTPUT_BYTES: usize = 64 << 20;

impl Adapter for GoTestJson {
    fn name(&self) -> &'static str {
        "go-test-json"
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        head.split(|byte| *byte == b'\n').any(|line| {
            let line = line.trim_ascii_start();
            line.starts_with(b"{") && contains(line, b"\"Action\":")
        })
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Output kept for a test, a package or a build, bounded.
#[derive(Default)]
struct Capture {
    text: String,
    cut: u64,
}

impl Capture {
    /// Appends `output`, within this capture's bound and the shared `budget` of bytes.
    fn push(&mut self, output: &str, budget: &mut usize) {
        let room = (MAX_MESSAGE_BYTES - 64)
            .saturating_sub(self.text.len())
            .min(MAX_OUTPUT_BYTES.saturating_sub(*budget));
        let mut take = output.len().min(room);
        while !output.is_char_boundary(take) {
            take -= 1;
        }
        self.text.push_str(&output[..take]);
        *budget += take;
        self.cut += (output.len() - take) as u64;
    }

    /// The kept text (with a marker when some was cut), giving its bytes back to `budget`.
    fn finish(self, budget: &mut usize) -> String {
        *budget = budget.saturating_sub(self.text.len());
        let mut text = self.text;
        if self.cut > 0 {
            text.push_str(&format!("… [{} more bytes cut]", self.cut));
        }
        text
    }
}

/// Whether an output line is go test's own framing rather than the test's output.
fn is_framing(line: &str) -> bool {
    let trimmed = line.trim_start();
    ["=== RUN", "=== PAUSE", "=== CONT", "=== NAME"]
        .iter()
        .any(|prefix| line.starts_with(prefix))
        || ["--- PASS:", "--- FAIL:", "--- SKIP:"]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix))
}

struct Running {
    order: u64,
    output: Capture,
}

#[derive(Default)]
struct Package {
    order: u64,
    /// Whether it said `start` (so it must also end).
    started: bool,
    /// How many of its tests failed.
    failures: u64,
    output: Capture,
}

struct Build {
    order: u64,
    output: Capture,
    failed: bool,
}

#[derive(Default)]
struct State {
    /// Tests running, by (package, test).
    running: HashMap<(String, String), Running>,
    /// Packages seen and not ended.
    packages: HashMap<String, Package>,
    /// Builds by import path.
    builds: HashMap<String, Build>,
    next_order: u64,
    /// Bytes of names kept in the three maps above.
    names: usize,
    /// Bytes of output kept in the three maps above.
    output: usize,
}

impl State {
    fn event(
        &mut self,
        value: &Value,
        line: usize,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind> {
        let Some(action) = text(value, "Action") else {
            return Ok(());
        };
        let package = text(value, "Package").unwrap_or("");
        let too_much = || ResultsErrorKind::Malformed {
            line,
            column: 1,
            message: format!(
                "more than {MAX_NAME_BYTES} bytes of names of tests and packages running at once"
            ),
        };

        if matches!(action, "build-output" | "build-fail") {
            let Some(import_path) = text(value, "ImportPath") else {
                return Ok(());
            };
            if !self.builds.contains_key(import_path) {
                self.charge(import_path.len()).ok_or_else(too_much)?;
                let order = self.order();
                self.builds.insert(
                    import_path.to_owned(),
                    Build {
                        order,
                        output: Capture::default(),
                        failed: false,
                    },
                );
            }
            let budget = &mut self.output;
            if let Some(build) = self.builds.get_mut(import_path) {
                match (action, text(value, "Output")) {
                    ("build-output", Some(output)) => build.output.push(output, budget),
                    ("build-fail", _) => build.failed = true,
                    _ => {}
                }
            }
            return Ok(());
        }

        if !self.packages.contains_key(package) {
            self.charge(package.len()).ok_or_else(too_much)?;
            let order = self.order();
            self.packages.insert(
                package.to_owned(),
                Package {
                    order,
                    ..Package::default()
                },
            );
        }

        match text(value, "Test").filter(|test| !test.is_empty()) {
            Some(test) => self.test_event(action, package, test, value, sink, too_much),
            None => {
                self.package_event(action, package, value, sink);
                Ok(())
            }
        }
    }

    fn order(&mut self) -> u64 {
        self.next_order += 1;
        self.next_order
    }

    /// Takes `bytes` of names from the budget, or `None` when there is no room.
    fn charge(&mut self, bytes: usize) -> Option<()> {
        if self.names + bytes > MAX_NAME_BYTES {
            return None;
        }
        self.names += bytes;
        Some(())
    }

    fn release(&mut self, bytes: usize) {
        self.names = self.names.saturating_sub(bytes);
    }

    fn test_event(
        &mut self,
        action: &str,
        package: &str,
        test: &str,
        value: &Value,
        sink: &mut dyn FnMut(TestCase),
        too_much: impl Fn() -> ResultsErrorKind,
    ) -> Result<(), ResultsErrorKind> {
        let key = (package.to_owned(), test.to_owned());
        match action {
            "run" if !self.running.contains_key(&key) => {
                self.charge(package.len() + test.len())
                    .ok_or_else(too_much)?;
                let order = self.order();
                self.running.insert(
                    key,
                    Running {
                        order,
                        output: Capture::default(),
                    },
                );
            }
            "output" => {
                let Some(output) = text(value, "Output") else {
                    return Ok(());
                };
                let budget = &mut self.output;
                if let Some(running) = self.running.get_mut(&key) {
                    if !is_framing(output) {
                        running.output.push(output, budget);
                    }
                } else if let Some(package) = self.packages.get_mut(package) {
                    // Output of a test that is not running (it ended, or the stream began
                    // after its start): keep it with the package's.
                    package.output.push(output, budget);
                }
            }
            "pass" | "fail" | "skip" => {
                let output = match self.running.remove(&key) {
                    Some(running) => {
                        self.release(package.len() + test.len());
                        running.output.finish(&mut self.output)
                    }
                    None => String::new(),
                };
                let outcome = match action {
                    "pass" => Outcome::Pass,
                    "fail" => Outcome::Fail,
                    _ => Outcome::Skip,
                };
                let mut case = named(package, test, outcome, action);
                case.duration_secs = elapsed(value);
                if outcome != Outcome::Pass && !output.trim().is_empty() {
                    case.message = Some(bounded_message(output));
                }
                if outcome.is_failure()
                    && let Some(state) = self.packages.get_mut(package)
                {
                    state.failures += 1;
                }
                sink(case);
            }
            _ => {}
        }
        Ok(())
    }

    fn package_event(
        &mut self,
        action: &str,
        package: &str,
        value: &Value,
        sink: &mut dyn FnMut(TestCase),
    ) {
        match action {
            "start" => {
                if let Some(state) = self.packages.get_mut(package) {
                    state.started = true;
                }
            }
            "output" => {
                if let (Some(output), Some(state)) =
                    (text(value, "Output"), self.packages.get_mut(package))
                {
                    state.output.push(output, &mut self.output);
                }
            }
            "pass" | "skip" | "fail" => {
                let Some(state) = self.packages.remove(package) else {
                    return;
                };
                self.release(package.len());
                let package_output = state.output.finish(&mut self.output);
                if action != "fail" {
                    // Tests still running when their package passed never said they passed.
                    self.end_running(
                        package,
                        Outcome::Error,
                        "did not finish: its package ended without its result",
                        sink,
                    );
                    return;
                }
                let why = format!(
                    "did not finish: the package failed while it was running\n{package_output}"
                );
                let failures =
                    state.failures + self.end_running(package, Outcome::Fail, &why, sink);
                if let Some(build) = text(value, "FailedBuild").filter(|build| !build.is_empty()) {
                    let build_output = match self.builds.remove(build) {
                        Some(state) => {
                            self.release(build.len());
                            state.output.finish(&mut self.output)
                        }
                        None => String::new(),
                    };
                    let message = if build_output.trim().is_empty() {
                        package_output
                    } else {
                        build_output
                    };
                    let mut case = package_case(package, "build-fail", message);
                    case.duration_secs = elapsed(value);
                    sink(case);
                } else if failures == 0 {
                    let raw = if package_output.contains("[build failed]") {
                        "build-fail"
                    } else {
                        "fail"
                    };
                    let mut case = package_case(package, raw, package_output);
                    case.duration_secs = elapsed(value);
                    sink(case);
                }
            }
            _ => {}
        }
    }

    /// Ends every test of `package` still running with `outcome`, `why` and its output;
    /// returns how many.
    fn end_running(
        &mut self,
        package: &str,
        outcome: Outcome,
        why: &str,
        sink: &mut dyn FnMut(TestCase),
    ) -> u64 {
        let keys: Vec<(String, String)> = self
            .running
            .keys()
            .filter(|(owner, _)| owner == package)
            .cloned()
            .collect();
        let mut ended: Vec<((String, String), Running)> = keys
            .into_iter()
            .filter_map(|key| self.running.remove_entry(&key))
            .collect();
        ended.sort_by_key(|(_, running)| running.order);
        let count = ended.len() as u64;
        for ((owner, test), running) in ended {
            self.release(owner.len() + test.len());
            let output = running.output.finish(&mut self.output);
            let mut case = named(&owner, &test, outcome, "fail");
            case.message = Some(bounded_message(with_reason(&output, why)));
            sink(case);
        }
        count
    }

    /// At the end of the stream: what is still running did not finish.
    fn finish(mut self, sink: &mut dyn FnMut(TestCase)) {
        let mut running: Vec<((String, String), Running)> =
            std::mem::take(&mut self.running).into_iter().collect();
        running.sort_by_key(|(_, running)| running.order);
        let mut unfinished_packages: Vec<String> = Vec::new();
        for ((package, test), running) in running {
            let mut case = named(&package, &test, Outcome::Error, "run");
            case.message = Some(bounded_message(with_reason(
                &running.output.text,
                "did not finish: the stream ended before its result",
            )));
            sink(case);
            unfinished_packages.push(package);
        }
        let mut packages: Vec<(String, Package)> = self.packages.into_iter().collect();
        packages.sort_by_key(|(_, package)| package.order);
        for (name, package) in packages {
            if package.started && !unfinished_packages.contains(&name) {
                let message = with_reason(
                    &package.output.text,
                    "did not finish: the stream ended before the package's result",
                );
                sink(package_case(&name, "start", message));
            }
        }
        let mut builds: Vec<(String, Build)> = self
            .builds
            .into_iter()
            .filter(|(_, build)| build.failed)
            .collect();
        builds.sort_by_key(|(_, build)| build.order);
        for (import_path, build) in builds {
            let package = import_path
                .split_once(" [")
                .map_or(import_path.as_str(), |(package, _)| package);
            let mut case = package_case(package, "build-fail", build.output.text);
            case.name = import_path.clone();
            sink(case);
        }
    }
}

/// `output` (when there is any), then `why` on a line of its own.
fn with_reason(output: &str, why: &str) -> String {
    if output.trim().is_empty() {
        why.trim_end().to_owned()
    } else if output.ends_with('\n') {
        format!("{output}{}", why.trim_end())
    } else {
        format!("{output}\n{}", why.trim_end())
    }
}

/// A string field of an event, when it is a string.
fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// `Elapsed` seconds, when given and sensible.
fn elapsed(value: &Value) -> Option<f64> {
    let seconds = value.get("Elapsed")?.as_f64()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

/// A test of `package` named by its Go path: `TestA/sub/case` → suite
/// `[package, "TestA", "sub"]`, name `case`.
fn named(package: &str, test: &str, outcome: Outcome, raw: &str) -> TestCase {
    let mut suite: Vec<String> = Vec::new();
    if !package.is_empty() {
        suite.push(package.to_owned());
    }
    let name = match test.rsplit_once('/') {
        Some((parents, name)) if !name.is_empty() => {
            suite.extend(parents.split('/').map(str::to_owned));
            name
        }
        _ => test,
    };
    let mut case = TestCase::new(name, outcome, raw);
    case.suite = suite;
    case
}

/// The synthetic test that stands for a package-level failure: an error named after the
/// package (`(package)` when the stream names none), in the package's suite.
fn package_case(package: &str, raw: &str, message: String) -> TestCase {
    let name = if package.is_empty() {
        "(package)"
    } else {
        package
    };
    let mut case = TestCase::new(name, Outcome::Error, raw);
    if !package.is_empty() {
        case.suite = vec![package.to_owned()];
    }
    case.message = Some(bounded_message(if message.trim().is_empty() {
        "the package failed with no failed test".to_owned()
    } else {
        message
    }));
    case
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<TestCase>, ResultsErrorKind> {
        read_bytes(text.as_bytes())
    }

    fn read_bytes(bytes: &[u8]) -> Result<Vec<TestCase>, ResultsErrorKind> {
        crate::results::adapter::testing::collect(&GoTestJson, bytes)
    }

    use crate::results::adapter::testing::summary;

    const RUN: &str = r#"{"Time":"2025-01-01T00:00:00Z","Action":"start","Package":"example.com/calc"}
{"Time":"2025-01-01T00:00:00Z","Action":"run","Package":"example.com/calc","Test":"TestAdd"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestAdd","Output":"=== RUN   TestAdd\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestAdd","Output":"--- PASS: TestAdd (0.00s)\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"pass","Package":"example.com/calc","Test":"TestAdd","Elapsed":0.001}
{"Time":"2025-01-01T00:00:00Z","Action":"run","Package":"example.com/calc","Test":"TestDiv"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestDiv","Output":"=== RUN   TestDiv\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"run","Package":"example.com/calc","Test":"TestDiv/by_zero"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestDiv/by_zero","Output":"=== RUN   TestDiv/by_zero\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestDiv/by_zero","Output":"    calc_test.go:20: expected an error\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestDiv/by_zero","Output":"    --- FAIL: TestDiv/by_zero (0.00s)\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"fail","Package":"example.com/calc","Test":"TestDiv/by_zero","Elapsed":0}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestDiv","Output":"--- FAIL: TestDiv (0.00s)\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"fail","Package":"example.com/calc","Test":"TestDiv","Elapsed":0.002}
{"Time":"2025-01-01T00:00:00Z","Action":"run","Package":"example.com/calc","Test":"TestLater"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Test":"TestLater","Output":"    calc_test.go:30: not on this platform\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"skip","Package":"example.com/calc","Test":"TestLater","Elapsed":0}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Output":"FAIL\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/calc","Output":"FAIL\texample.com/calc\t0.010s\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"fail","Package":"example.com/calc","Elapsed":0.01}
{"Time":"2025-01-01T00:00:00Z","Action":"start","Package":"example.com/empty"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/empty","Output":"?   \texample.com/empty\t[no test files]\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"skip","Package":"example.com/empty","Elapsed":0}
"#;

    #[test]
    fn reads_tests_subtests_and_skips() {
        let tests = read(RUN).unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("TestAdd".to_owned(), Outcome::Pass),
                ("by_zero".to_owned(), Outcome::Fail),
                ("TestDiv".to_owned(), Outcome::Fail),
                ("TestLater".to_owned(), Outcome::Skip),
            ]
        );
        assert_eq!(tests[0].suite, vec!["example.com/calc"]);
        assert_eq!(tests[0].duration_secs, Some(0.001));
        assert_eq!(tests[0].message, None);
        assert_eq!(tests[1].suite, vec!["example.com/calc", "TestDiv"]);
        assert_eq!(
            tests[1].message.as_deref(),
            Some("    calc_test.go:20: expected an error\n")
        );
        assert_eq!(tests[1].raw_status, "fail");
        assert_eq!(tests[2].message, None);
        assert_eq!(
            tests[3].message.as_deref(),
            Some("    calc_test.go:30: not on this platform\n")
        );
    }

    #[test]
    fn a_failed_package_with_no_failed_test_is_a_failure() {
        let tests = read(
            r#"{"Action":"start","Package":"example.com/m"}
{"Action":"run","Package":"example.com/m","Test":"TestOk"}
{"Action":"pass","Package":"example.com/m","Test":"TestOk","Elapsed":0}
{"Action":"output","Package":"example.com/m","Output":"PASS\n"}
{"Action":"output","Package":"example.com/m","Output":"TestMain: leaked goroutines\n"}
{"Action":"output","Package":"example.com/m","Output":"FAIL\texample.com/m\t0.003s\n"}
{"Action":"fail","Package":"example.com/m","Elapsed":0.003}
"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("TestOk".to_owned(), Outcome::Pass),
                ("example.com/m".to_owned(), Outcome::Error),
            ]
        );
        assert_eq!(tests[1].suite, vec!["example.com/m"]);
        assert_eq!(tests[1].raw_status, "fail");
        assert!(
            tests[1]
                .message
                .as_deref()
                .unwrap()
                .contains("leaked goroutines")
        );
        assert_eq!(tests[1].duration_secs, Some(0.003));
    }

    #[test]
    fn a_package_failure_without_any_event_before_it_is_a_failure() {
        let tests = read(r#"{"Action":"fail","Package":"p","Elapsed":0}"#).unwrap();
        assert_eq!(summary(&tests), vec![("p".to_owned(), Outcome::Error)]);
        assert_eq!(
            tests[0].message.as_deref(),
            Some("the package failed with no failed test")
        );
    }

    #[test]
    fn build_fail_is_a_failure_with_the_compiler_output() {
        let tests = read(
            r##"{"ImportPath":"example.com/broken [example.com/broken.test]","Action":"build-output","Output":"# example.com/broken [example.com/broken.test]\n"}
{"ImportPath":"example.com/broken [example.com/broken.test]","Action":"build-output","Output":"./broken_test.go:8:2: declared and not used: a\n"}
{"ImportPath":"example.com/broken [example.com/broken.test]","Action":"build-fail"}
{"Time":"2025-01-01T00:00:00Z","Action":"start","Package":"example.com/broken"}
{"Time":"2025-01-01T00:00:00Z","Action":"output","Package":"example.com/broken","Output":"FAIL\texample.com/broken [build failed]\n"}
{"Time":"2025-01-01T00:00:00Z","Action":"fail","Package":"example.com/broken","Elapsed":0,"FailedBuild":"example.com/broken [example.com/broken.test]"}
"##,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![("example.com/broken".to_owned(), Outcome::Error)]
        );
        assert_eq!(tests[0].raw_status, "build-fail");
        assert!(
            tests[0]
                .message
                .as_deref()
                .unwrap()
                .contains("declared and not used: a")
        );
    }

    #[test]
    fn older_go_build_failures_are_package_failures() {
        let tests = read(
            r#"{"Action":"output","Package":"example.com/old","Output":"FAIL\texample.com/old [build failed]\n"}
{"Action":"fail","Package":"example.com/old","Elapsed":0}
"#,
        )
        .unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].raw_status, "build-fail");
        assert_eq!(tests[0].outcome, Outcome::Error);
    }

    #[test]
    fn a_build_fail_no_package_claims_is_an_error() {
        let tests = read(
            r#"{"ImportPath":"example.com/x [example.com/x.test]","Action":"build-output","Output":"x.go:1:1: expected 'package'\n"}
{"ImportPath":"example.com/x [example.com/x.test]","Action":"build-fail"}
{"ImportPath":"example.com/y","Action":"build-output","Output":"just a warning\n"}
"#,
        )
        .unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].name, "example.com/x [example.com/x.test]");
        assert_eq!(tests[0].suite, vec!["example.com/x"]);
        assert_eq!(tests[0].raw_status, "build-fail");
        assert!(
            tests[0]
                .message
                .as_deref()
                .unwrap()
                .contains("expected 'package'")
        );
    }

    #[test]
    fn a_timeout_panic_fails_the_running_test() {
        let tests = read(
            r#"{"Action":"start","Package":"example.com/slow"}
{"Action":"run","Package":"example.com/slow","Test":"TestFast"}
{"Action":"pass","Package":"example.com/slow","Test":"TestFast","Elapsed":0}
{"Action":"run","Package":"example.com/slow","Test":"TestHangs"}
{"Action":"output","Package":"example.com/slow","Test":"TestHangs","Output":"=== RUN   TestHangs\n"}
{"Action":"output","Package":"example.com/slow","Test":"TestHangs","Output":"waiting for the server\n"}
{"Action":"output","Package":"example.com/slow","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"example.com/slow","Output":"\trunning tests:\n\t\tTestHangs (1s)\n"}
{"Action":"output","Package":"example.com/slow","Output":"FAIL\texample.com/slow\t1.005s\n"}
{"Action":"fail","Package":"example.com/slow","Elapsed":1.005}
"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("TestFast".to_owned(), Outcome::Pass),
                ("TestHangs".to_owned(), Outcome::Fail),
            ]
        );
        let message = tests[1].message.as_deref().unwrap();
        assert!(message.starts_with("waiting for the server\n"), "{message}");
        assert!(
            message.contains("panic: test timed out after 1s"),
            "{message}"
        );
        assert!(message.contains("the package failed while it was running"));
    }

    #[test]
    fn a_timeout_panic_attributed_to_the_test_by_go_is_kept_in_its_message() {
        let tests = read(
            r#"{"Action":"run","Package":"p","Test":"TestHangs"}
{"Action":"output","Package":"p","Test":"TestHangs","Output":"panic: test timed out after 1s\n"}
{"Action":"fail","Package":"p","Test":"TestHangs","Elapsed":1}
{"Action":"fail","Package":"p","Elapsed":1}
"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![("TestHangs".to_owned(), Outcome::Fail)]
        );
        assert!(tests[0].message.as_deref().unwrap().contains("timed out"));
    }

    #[test]
    fn a_truncated_stream_leaves_unfinished_tests_and_packages_as_errors() {
        let tests = read(
            r#"{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestStuck"}
{"Action":"output","Package":"a","Test":"TestStuck","Output":"step 1\n"}
{"Action":"start","Package":"b"}
{"Action":"output","Package":"b","Output":"starting\n"}
{"Action":"output","Package":"c","Output":"stray\n"}
"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("TestStuck".to_owned(), Outcome::Error),
                ("b".to_owned(), Outcome::Error),
            ]
        );
        assert!(tests[0].message.as_deref().unwrap().contains("step 1"));
        assert!(
            tests[1]
                .message
                .as_deref()
                .unwrap()
                .contains("did not finish")
        );
    }

    #[test]
    fn parallel_tests_pause_and_continue() {
        let tests = read(
            r#"{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pause","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"pause","Package":"p","Test":"TestB"}
{"Action":"cont","Package":"p","Test":"TestA"}
{"Action":"cont","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== CONT  TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: boom\n"}
{"Action":"attr","Package":"p","Test":"TestA","Key":"k","Value":"v"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}
{"Action":"fail","Package":"p","Test":"TestB","Elapsed":0.1}
{"Action":"output","Package":"p","Test":"TestB","Output":"late line\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
"#,
        )
        .unwrap();
        assert_eq!(
            summary(&tests),
            vec![
                ("TestA".to_owned(), Outcome::Pass),
                ("TestB".to_owned(), Outcome::Fail),
            ]
        );
        assert_eq!(tests[1].message.as_deref(), Some("    b_test.go:3: boom\n"));
    }

    #[test]
    fn test2json_without_a_package_name() {
        let tests = read(
            r#"{"Action":"run","Test":"TestX"}
{"Action":"fail","Test":"TestX","Elapsed":0}
{"Action":"output","Output":"FAIL\n"}
{"Action":"fail","Elapsed":0}
{"Action":"fail","Elapsed":0}
"#,
        )
        .unwrap();
        assert_eq!(summary(&tests)[0], ("TestX".to_owned(), Outcome::Fail));
        assert!(tests[0].suite.is_empty());
        // The second package-level fail has no failed test since the first ended.
        assert_eq!(summary(&tests)[1], ("(package)".to_owned(), Outcome::Error));
    }

    #[test]
    fn non_json_lines_are_ignored_and_broken_json_is_malformed() {
        let tests = read("go: downloading x v1\n{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\n{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"T\"}\n{\"other\":true}\n").unwrap();
        assert_eq!(summary(&tests), vec![("T".to_owned(), Outcome::Pass)]);
        match read("\n\n{\"Action\":\"run\" \"Package\":\"p\"}\n").unwrap_err() {
            ResultsErrorKind::Malformed { line, column, .. } => {
                assert_eq!((line, column), (3, 17));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_is_bounded() {
        let mut text =
            String::from("{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestLoud\"}\n");
        let chunk = "y".repeat(1000);
        for _ in 0..200 {
            text.push_str(&format!(
                "{{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"TestLoud\",\"Output\":\"{chunk}\\n\"}}\n"
            ));
        }
        text.push_str("{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestLoud\"}\n");
        let tests = read(&text).unwrap();
        let message = tests[0].message.as_deref().unwrap();
        assert!(message.len() <= MAX_MESSAGE_BYTES);
        assert!(message.ends_with("more bytes cut]"));
    }

    #[test]
    fn sniffs_action_lines() {
        assert!(GoTestJson.sniff(b"{\"Time\":\"t\",\"Action\":\"start\",\"Package\":\"p\"}\n"));
        assert!(
            GoTestJson
                .sniff(b"go: downloading\n{\"ImportPath\":\"p\",\"Action\":\"build-output\"}")
        );
        assert!(!GoTestJson.sniff(b"{ \"type\": \"suite\", \"event\": \"started\" }"));
        assert!(!GoTestJson.sniff(b"Action: nothing"));
        assert!(!GoTestJson.sniff(b""));
    }

    /// Reads through a buffer of `capacity` bytes, so that every chunk boundary is tried.
    fn read_chunked(bytes: &[u8], capacity: usize) -> Result<Vec<TestCase>, String> {
        crate::results::adapter::testing::collect_chunked(&GoTestJson, bytes, capacity)
    }

    mod properties {
        use super::*;
        use crate::results::adapter::testing::{collect_partial, points_into};
        use proptest::prelude::*;

        fn fragment() -> impl Strategy<Value = String> {
            let action =
                "(start|run|pause|cont|output|pass|fail|skip|bench|build-output|build-fail|attr)";
            prop_oneof![
                (
                    action,
                    "[pq]?",
                    proptest::option::of("[TX/]{0,4}"),
                    proptest::option::of("[a-z\\[\\] ]{0,8}")
                )
                    .prop_map(|(action, package, test, output)| {
                        let mut event = serde_json::json!({"Action": action, "Package": package});
                        if let Some(test) = test {
                            event["Test"] = test.into();
                        }
                        if let Some(output) = output {
                            event["Output"] = output.clone().into();
                            event["ImportPath"] = output.into();
                            event["FailedBuild"] = package.into();
                        }
                        event.to_string()
                    }),
                "[{}\":,A-Za-z0-9 \\\\]{0,30}",
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
                let _ = GoTestJson.sniff(&bytes);
                let (tests, result) = collect_partial(&GoTestJson, &bytes);
                // At most one test a line, plus what the end of the stream adds
                // (before an error too).
                let lines = bytes.split(|byte| *byte == b'\n').count();
                prop_assert!(tests.len() <= 3 * lines + 1);
                if let Err(error) = result {
                    prop_assert!(points_into(&error, &bytes), "{:?}", error);
                }
            }

            #[test]
            fn event_soup_never_panics(lines in proptest::collection::vec(fragment(), 0..40)) {
                let text = lines.join("\n");
                let (tests, result) = collect_partial(&GoTestJson, text.as_bytes());
                // At most one test a line, plus what the end of the stream adds
                // (before an error too).
                prop_assert!(tests.len() <= 3 * lines.len() + 1);
                if let Err(error) = result {
                    prop_assert!(points_into(&error, text.as_bytes()), "{:?}", error);
                }
            }

            #[test]
            fn results_read_back(results in proptest::collection::vec(("[A-Z][a-z]{0,6}", 0..3u8, proptest::option::of("[a-z]{1,5}")), 0..20)) {
                let mut text = String::from("{\"Action\":\"start\",\"Package\":\"m/p\"}\n");
                let mut any_failed = false;
                let mut expected = Vec::new();
                for (index, (name, kind, sub)) in results.iter().enumerate() {
                    let test = match sub {
                        Some(sub) => format!("Test{index}{name}/{sub}"),
                        None => format!("Test{index}{name}"),
                    };
                    let action = ["pass", "fail", "skip"][usize::from(*kind)];
                    any_failed |= *kind == 1;
                    text.push_str(&format!("{{\"Action\":\"run\",\"Package\":\"m/p\",\"Test\":\"{test}\"}}\n"));
                    text.push_str(&format!("{{\"Action\":\"output\",\"Package\":\"m/p\",\"Test\":\"{test}\",\"Output\":\"note {index}\\n\"}}\n"));
                    text.push_str(&format!("{{\"Action\":\"{action}\",\"Package\":\"m/p\",\"Test\":\"{test}\",\"Elapsed\":0.5}}\n"));
                    let outcome = [Outcome::Pass, Outcome::Fail, Outcome::Skip][usize::from(*kind)];
                    let (suite, leaf) = match sub {
                        Some(sub) => (vec!["m/p".to_owned(), format!("Test{index}{name}")], sub.clone()),
                        None => (vec!["m/p".to_owned()], format!("Test{index}{name}")),
                    };
                    expected.push((leaf, suite, outcome));
                }
                let end = if any_failed { "fail" } else { "pass" };
                text.push_str(&format!("{{\"Action\":\"{end}\",\"Package\":\"m/p\",\"Elapsed\":1}}\n"));
                let tests = read(&text).unwrap();
                let got: Vec<(String, Vec<String>, Outcome)> = tests
                    .iter()
                    .map(|test| (test.name.clone(), test.suite.clone(), test.outcome))
                    .collect();
                prop_assert_eq!(got, expected);
                for (index, test) in tests.iter().enumerate() {
                    let note = format!("note {index}\n");
                    prop_assert_eq!(test.message.as_deref(), (test.outcome != Outcome::Pass).then_some(note.as_str()));
                    prop_assert_eq!(test.duration_secs, Some(0.5));
                }
            }
        }
    }
}
