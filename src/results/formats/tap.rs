//! TAP, the Test Anything Protocol, versions 13 and 14 (and the older unversioned TAP that
//! `prove` reads): a plan `1..N`, test points `ok`/`not ok` with an optional number,
//! description and directive, YAML diagnostic blocks, TAP 14 subtests, `Bail out!`.
//!
//! How it reads:
//! - `ok` is a pass and `not ok` a failure. `# SKIP` (any case, `skip`, `skipped`) is a skip,
//!   whether `ok` or `not ok`. `# TODO` is never a failure: `not ok ... # TODO` is an expected
//!   failure (xfail), `ok ... # TODO` an unexpected pass (xpass). The directive's reason is the
//!   message unless a YAML block gives one. `raw_status` is `ok`/`not ok`, then the directive
//!   word as written (`not ok # TODO`).
//! - The name is the description (after `-`, with TAP 14's `\#` and `\\` unescaped); a test
//!   point without one is named `test N` after its number.
//! - A YAML block (`  ---` ... `  ...`, two spaces deeper than its test point) gives the
//!   `message` key (plain, quoted, `|` or `>` block scalars) and `duration_ms`; node-tap's
//!   `# time=12ms` comment after a test point also gives the duration.
//! - Subtests (TAP 14, node-tap, Node's test runner) are indented four spaces a level, and
//!   announced by `# Subtest: name` at the parent's level; their tests have the suite path of
//!   their parents' names (`["outer", "inner"]`), and the parent's own test point, which ends
//!   the subtest, is reported as a test too. A subtest without the announcement is named
//!   `test N` after the parent test point that will close it.
//! - The plan is checked for every level when it ends: a plan whose count differs from the
//!   test points that ran, a level without a plan (a truncated run), or two plans, all add a
//!   synthetic failed test named `plan` (in that level's suite) whose message says what was
//!   expected, so that such a run can never be green. A plan may come first or last; `1..0`
//!   is an empty run.
//! - `Bail out!` stops the run: every test its open levels' plans still promised is reported
//!   not run (named `test N`; more than 1000 at one level as one `tests N..M`), then a
//!   synthetic test named `Bail out!` with the reason as message, an error, and reading stops.
//!   It is not a malformed file: the tests before it keep their outcomes.
//! - `TAP version` lines, `pragma` lines, comments and any other line are ignored, as TAP
//!   asks. TAP has no malformed input; only a failure to read is an error.
//!
//! Memory: lines are cut to 64 KiB, messages to [`MAX_MESSAGE_BYTES`], subtests nest at most
//! 64 deep (deeper lines are ignored); a YAML block is read line by line, never held whole.

use std::io::{self, BufRead};

use crate::results::ResultsErrorKind;
use crate::results::adapter::{Adapter, MAX_MESSAGE_BYTES, bounded_message};
use crate::results::model::{Outcome, TestCase};

/// The tap format.
#[derive(Debug, Clone, Copy)]
pub struct Tap;

/// The longest line kept; the rest of a longer one is dropped.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// The deepest subtest level read.
const MAX_DEPTH: usize = 64;

/// The most not-run tests reported one by one for a level after `Bail out!`.
const MAX_NOT_RUN_LISTED: u64 = 1000;

impl Adapter for Tap {
    fn name(&self) -> &'static str {
        "tap"
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let text = String::from_utf8_lossy(head);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            return line.starts_with("TAP version ")
                || parse_plan(line).is_some()
                || parse_test_point(line).is_some();
        }
        false
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind> {
        let mut reader = Reader::new(sink);
        let mut line = Vec::new();
        let mut first = true;
        while read_line(input, &mut line)? {
            let mut bytes = line.as_slice();
            if first {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                first = false;
            }
            let text = String::from_utf8_lossy(bytes);
            let text = text.strip_suffix('\r').unwrap_or(&text);
            if reader.line(text) == Flow::Stop {
                return Ok(());
            }
        }
        reader.finish();
        Ok(())
    }
}

/// Reads one line without its end into `line`, keeping at most [`MAX_LINE_BYTES`]. `false`
/// at the end of the input.
fn read_line(input: &mut dyn BufRead, line: &mut Vec<u8>) -> Result<bool, ResultsErrorKind> {
    line.clear();
    let mut read_any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(ResultsErrorKind::Read(error)),
        };
        if chunk.is_empty() {
            return Ok(read_any);
        }
        read_any = true;
        let (end, done) = match chunk.iter().position(|byte| *byte == b'\n') {
            Some(index) => (index, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..end.min(room)]);
        input.consume(if done { end + 1 } else { end });
        if done {
            return Ok(true);
        }
    }
}

#[derive(PartialEq)]
enum Flow {
    Go,
    Stop,
}

/// A test point's directive.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Directive {
    Skip,
    Todo,
}

#[derive(Debug)]
struct TestPoint {
    ok: bool,
    number: Option<u64>,
    description: String,
    /// The directive, the word as written, and its reason.
    directive: Option<(Directive, String, String)>,
    /// A duration from a `# time=...` comment.
    duration_secs: Option<f64>,
}

/// `ok`/`not ok`, optional number, optional `- description`, optional `# directive`.
fn parse_test_point(line: &str) -> Option<TestPoint> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix("not ok") {
        (false, rest)
    } else {
        (true, line.strip_prefix("ok")?)
    };
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let mut rest = rest.trim_start();
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let mut number = None;
    if digits > 0
        && let Ok(parsed) = rest[..digits].parse::<u64>()
        && rest[digits..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
    {
        number = Some(parsed);
        rest = rest[digits..].trim_start();
    }
    if let Some(after) = rest.strip_prefix('-')
        && (after.is_empty() || after.starts_with(char::is_whitespace))
    {
        rest = after.trim_start();
    }
    // Split at the first unescaped `#`, unescaping `\#` and `\\` in the description.
    let mut description = String::new();
    let mut comment = None;
    let mut chars = rest.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => match rest[index + 1..].chars().next() {
                Some(next @ ('#' | '\\')) => {
                    description.push(next);
                    chars.next();
                }
                _ => description.push('\\'),
            },
            '#' => {
                comment = Some(&rest[index + 1..]);
                break;
            }
            _ => description.push(c),
        }
    }
    let description = description.trim().to_owned();
    let mut directive = None;
    let mut duration_secs = None;
    if let Some(comment) = comment {
        let comment = comment.trim();
        let word_len = comment.len()
            - comment
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let word = &comment[..word_len];
        let lower = word.to_ascii_lowercase();
        let kind = if lower.starts_with("skip") {
            Some(Directive::Skip)
        } else if lower.starts_with("todo") {
            Some(Directive::Todo)
        } else {
            None
        };
        match kind {
            Some(kind) => {
                let reason = comment[word_len..]
                    .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
                    .trim_end()
                    .to_owned();
                directive = Some((kind, word.to_owned(), reason));
            }
            None => duration_secs = time_comment(comment),
        }
    }
    Some(TestPoint {
        ok,
        number,
        description,
        directive,
        duration_secs,
    })
}

/// node-tap's `time=12.5ms` (or `time=1.2s`) comment, in seconds.
fn time_comment(comment: &str) -> Option<f64> {
    let value = comment
        .split_whitespace()
        .find_map(|word| word.strip_prefix("time="))?;
    let (number, scale) = if let Some(number) = value.strip_suffix("ms") {
        (number, 1e-3)
    } else if let Some(number) = value.strip_suffix('s') {
        (number, 1.0)
    } else {
        (value, 1e-3)
    };
    let seconds = number.parse::<f64>().ok()? * scale;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

/// `1..N`, optionally followed by a `# reason`: N.
fn parse_plan(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("1..")?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let after = rest[digits..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    rest[..digits].parse().ok()
}

/// One level of nesting: the root, or a subtest.
struct Level {
    /// The subtest's name (none for the root).
    name: Option<String>,
    plan: Option<u64>,
    plans: u32,
    count: u64,
    /// The last test point, held until we know whether a YAML block follows it.
    pending: Option<TestCase>,
    /// The name given by `# Subtest: name` for the child level about to start.
    announced: Option<String>,
}

impl Level {
    fn new(name: Option<String>) -> Level {
        Level {
            name,
            plan: None,
            plans: 0,
            count: 0,
            pending: None,
            announced: None,
        }
    }
}

/// A YAML diagnostic block being read.
struct Yaml {
    /// The indentation of its `---`.
    indent: usize,
    /// Whether it belongs to the pending test point of the top level.
    attached: bool,
    /// The indentation of its top-level keys, once seen.
    key_indent: Option<usize>,
    message: Option<String>,
    /// Reading a `|` or `>` block scalar for `message`: whether folded, and the indentation
    /// of its first line.
    block: Option<(bool, Option<usize>)>,
    duration_ms: Option<f64>,
}

impl Yaml {
    fn push_message(&mut self, text: &str, separator: &str) {
        let message = self.message.get_or_insert_with(String::new);
        if message.len() > MAX_MESSAGE_BYTES {
            return;
        }
        if !message.is_empty() {
            message.push_str(separator);
        }
        message.push_str(text);
    }

    /// Reads one line inside the block (not its closing `...`).
    fn line(&mut self, line: &str, indent: usize) {
        let content = line[indent..].trim_end();
        if let Some((folded, first_indent)) = self.block {
            let key_indent = self.key_indent.unwrap_or(self.indent);
            if content.is_empty() {
                self.push_message("", "\n");
                return;
            }
            if indent > key_indent {
                let first_indent = first_indent.unwrap_or(indent);
                self.block = Some((folded, Some(first_indent)));
                let text = line[first_indent.min(indent)..].trim_end();
                self.push_message(text, if folded { " " } else { "\n" });
                return;
            }
            self.block = None;
        }
        if content.is_empty() {
            return;
        }
        let key_indent = *self.key_indent.get_or_insert(indent);
        if indent != key_indent {
            return;
        }
        let Some((key, value)) = content.split_once(':') else {
            return;
        };
        let value = value.trim();
        match key.trim() {
            "message" => {
                self.message = None;
                if value.starts_with('|') || value.starts_with('>') {
                    self.block = Some((value.starts_with('>'), None));
                } else {
                    let text = unquote(value);
                    if !text.is_empty() {
                        self.push_message(&text, "");
                    }
                }
            }
            "duration_ms" => self.duration_ms = value.parse().ok(),
            _ => {}
        }
    }

    fn into_message(self) -> Option<String> {
        let message = self.message?;
        let message = message.trim_end_matches('\n');
        (!message.is_empty()).then(|| bounded_message(message.to_owned()))
    }
}

/// A YAML scalar on one line, unquoted: `"..."` with its escapes, `'...'` with `''`, or plain.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner.strip_suffix('"').unwrap_or(inner);
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        out
    } else if let Some(inner) = value.strip_prefix('\'') {
        inner.strip_suffix('\'').unwrap_or(inner).replace("''", "'")
    } else {
        value.to_owned()
    }
}

struct Reader<'a> {
    sink: &'a mut dyn FnMut(TestCase),
    /// The open levels, root first; level `i` is indented `4 * i` spaces.
    levels: Vec<Level>,
    yaml: Option<Yaml>,
}

impl<'a> Reader<'a> {
    fn new(sink: &'a mut dyn FnMut(TestCase)) -> Reader<'a> {
        Reader {
            sink,
            levels: vec![Level::new(None)],
            yaml: None,
        }
    }

    fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// The suite path of the test points of the top level.
    fn path(&self) -> Vec<String> {
        self.levels
            .iter()
            .filter_map(|level| level.name.clone())
            .collect()
    }

    fn line(&mut self, line: &str) -> Flow {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(yaml) = &mut self.yaml {
            let blank = line.trim().is_empty();
            if !blank && indent < yaml.indent {
                // The block ended without its `...`: this line is not part of it.
                self.end_yaml();
            } else if indent == yaml.indent && line[indent..].trim_end() == "..." {
                self.end_yaml();
                return Flow::Go;
            } else {
                yaml.line(line, indent);
                return Flow::Go;
            }
        }
        let content = &line[indent..];
        if indent % 4 == 2 && content.trim_end() == "---" {
            let attached = indent == 4 * self.depth() + 2
                && self
                    .levels
                    .last()
                    .is_some_and(|level| level.pending.is_some());
            self.yaml = Some(Yaml {
                indent,
                attached,
                key_indent: None,
                message: None,
                block: None,
                duration_ms: None,
            });
            return Flow::Go;
        }
        if !indent.is_multiple_of(4) {
            return Flow::Go;
        }
        let depth = indent / 4;
        let content = content.trim_end();
        enum Kind {
            Point(TestPoint),
            Plan(u64),
            Subtest(String),
            Bail(String),
        }
        let kind = if let Some(point) = parse_test_point(content) {
            Kind::Point(point)
        } else if let Some(plan) = parse_plan(content) {
            Kind::Plan(plan)
        } else if let Some(rest) = content.strip_prefix("# Subtest") {
            match rest.strip_prefix(':') {
                Some(name) => Kind::Subtest(name.trim().to_owned()),
                None if rest.is_empty() => Kind::Subtest(String::new()),
                None => return Flow::Go,
            }
        } else if content
            .get(..9)
            .is_some_and(|start| start.eq_ignore_ascii_case("bail out!"))
        {
            Kind::Bail(content[9..].trim().to_owned())
        } else {
            // Version and pragma lines, comments and anything else.
            return Flow::Go;
        };
        if depth > MAX_DEPTH {
            return Flow::Go;
        }
        self.align(depth);
        match kind {
            Kind::Point(point) => self.test_point(point),
            Kind::Plan(plan) => {
                let level = self
                    .levels
                    .last_mut()
                    .expect("the root level is always open");
                level.plans += 1;
                if level.plan.is_none() {
                    level.plan = Some(plan);
                }
            }
            Kind::Subtest(name) => {
                let level = self
                    .levels
                    .last_mut()
                    .expect("the root level is always open");
                level.announced = (!name.is_empty()).then_some(name);
            }
            Kind::Bail(reason) => {
                self.bail_out(reason);
                return Flow::Stop;
            }
        }
        Flow::Go
    }

    /// Closes levels deeper than `depth` and opens levels down to it, flushing the pending
    /// test point of the level that stays on top.
    fn align(&mut self, depth: usize) {
        while self.depth() > depth {
            self.close_level();
        }
        self.flush_pending();
        while self.depth() < depth {
            let parent = self
                .levels
                .last_mut()
                .expect("the root level is always open");
            let name = parent
                .announced
                .take()
                .unwrap_or_else(|| format!("test {}", parent.count + 1));
            self.levels.push(Level::new(Some(name)));
        }
    }

    fn test_point(&mut self, point: TestPoint) {
        let path = self.path();
        let level = self
            .levels
            .last_mut()
            .expect("the root level is always open");
        level.count += 1;
        level.announced = None;
        let status = if point.ok { "ok" } else { "not ok" };
        let (outcome, raw, message) = match &point.directive {
            Some((Directive::Skip, word, reason)) => {
                (Outcome::Skip, format!("{status} # {word}"), reason.clone())
            }
            Some((Directive::Todo, word, reason)) => (
                if point.ok {
                    Outcome::Xpass
                } else {
                    Outcome::Xfail
                },
                format!("{status} # {word}"),
                reason.clone(),
            ),
            None => (
                if point.ok {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                status.to_owned(),
                String::new(),
            ),
        };
        let name = if point.description.is_empty() {
            format!("test {}", point.number.unwrap_or(level.count))
        } else {
            point.description
        };
        let mut test = TestCase::new(name, outcome, raw);
        test.suite = path;
        test.duration_secs = point.duration_secs;
        if !message.is_empty() {
            test.message = Some(bounded_message(message));
        }
        level.pending = Some(test);
    }

    fn flush_pending(&mut self) {
        if let Some(test) = self
            .levels
            .last_mut()
            .and_then(|level| level.pending.take())
        {
            (self.sink)(test);
        }
    }

    fn end_yaml(&mut self) {
        let Some(yaml) = self.yaml.take() else {
            return;
        };
        if !yaml.attached {
            return;
        }
        let duration_ms = yaml.duration_ms;
        let message = yaml.into_message();
        if let Some(test) = self
            .levels
            .last_mut()
            .and_then(|level| level.pending.as_mut())
        {
            if message.is_some() {
                test.message = message;
            }
            if let Some(ms) = duration_ms.filter(|ms| ms.is_finite() && *ms >= 0.0) {
                test.duration_secs = Some(ms / 1000.0);
            }
        }
        self.flush_pending();
    }

    /// Ends the top level: its pending test point, then its plan check.
    fn close_level(&mut self) {
        self.flush_pending();
        let path = self.path();
        let level = self.levels.pop().expect("the root level is always open");
        let problem = match (level.plan, level.plans) {
            (None, _) => Some((
                "no plan".to_owned(),
                format!("plan: no plan (1..N) found, ran {} tests", level.count),
            )),
            (Some(plan), plans) if plans > 1 => Some((
                format!("1..{plan}"),
                format!("plan: {plans} plans found, ran {} tests", level.count),
            )),
            (Some(plan), _) if plan != level.count => Some((
                format!("1..{plan}"),
                format!("plan: expected {plan} tests, ran {}", level.count),
            )),
            _ => None,
        };
        if let Some((raw, message)) = problem {
            let mut test = TestCase::new("plan", Outcome::Fail, raw);
            test.suite = path;
            test.message = Some(message);
            (self.sink)(test);
        }
    }

    /// `Bail out!`: the planned tests not run, then the bail out itself.
    fn bail_out(&mut self, reason: String) {
        let bail_path = self.path();
        while let Some(level) = self.levels.last() {
            let path = self.path();
            let count = level.count;
            let remaining = level.plan.map_or(0, |plan| plan.saturating_sub(count));
            let plan = level.plan.unwrap_or(0);
            self.flush_pending();
            if remaining > MAX_NOT_RUN_LISTED {
                let mut test = TestCase::new(
                    format!("tests {}..{plan}", count + 1),
                    Outcome::NotRun,
                    "Bail out!",
                );
                test.suite = path;
                test.message = Some(format!("{remaining} planned tests did not run"));
                (self.sink)(test);
            } else {
                for number in count + 1..=count + remaining {
                    let mut test =
                        TestCase::new(format!("test {number}"), Outcome::NotRun, "Bail out!");
                    test.suite = path.clone();
                    test.message = Some("not run: the run bailed out".to_owned());
                    (self.sink)(test);
                }
            }
            self.levels.pop();
        }
        let mut test = TestCase::new("Bail out!", Outcome::Error, "Bail out!");
        test.suite = bail_path;
        test.message = Some(if reason.is_empty() {
            "the run bailed out".to_owned()
        } else {
            bounded_message(reason)
        });
        (self.sink)(test);
    }

    /// At the end of the input: every open level ends.
    fn finish(mut self) {
        self.end_yaml();
        while !self.levels.is_empty() {
            self.close_level();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<TestCase> {
        read_bytes(text.as_bytes())
    }

    fn read_bytes(mut bytes: &[u8]) -> Vec<TestCase> {
        let mut tests = Vec::new();
        Tap.read(&mut bytes, &mut |test| tests.push(test)).unwrap();
        tests
    }

    use crate::results::adapter::testing::summary;

    fn pairs(expected: &[(&str, Outcome)]) -> Vec<(String, Outcome)> {
        expected
            .iter()
            .map(|(name, outcome)| ((*name).to_owned(), *outcome))
            .collect()
    }

    #[test]
    fn tap13_with_plan_first_skip_todo_and_yaml() {
        let tests = read(
            "TAP version 13
1..6
ok 1 - adds numbers
not ok 2 - divides by zero
  ---
  message: 'division by zero: expected an error'
  severity: fail
  data:
    got: 1
  duration_ms: 12.5
  ...
ok 3 - network # SKIP no network here
not ok 4 - known bug # TODO fix issue 7
ok 5 - fixed by accident # todo: drop the marker
not ok 6 # skip: not on this platform
# tests 6
",
        );
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("adds numbers", Outcome::Pass),
                ("divides by zero", Outcome::Fail),
                ("network", Outcome::Skip),
                ("known bug", Outcome::Xfail),
                ("fixed by accident", Outcome::Xpass),
                ("test 6", Outcome::Skip),
            ])
        );
        assert_eq!(
            tests[1].message.as_deref(),
            Some("division by zero: expected an error")
        );
        assert_eq!(tests[1].duration_secs, Some(0.0125));
        assert_eq!(tests[1].raw_status, "not ok");
        assert_eq!(tests[2].message.as_deref(), Some("no network here"));
        assert_eq!(tests[2].raw_status, "ok # SKIP");
        assert_eq!(tests[3].raw_status, "not ok # TODO");
        assert_eq!(tests[3].message.as_deref(), Some("fix issue 7"));
        assert_eq!(tests[4].raw_status, "ok # todo");
        assert_eq!(tests[4].message.as_deref(), Some("drop the marker"));
        assert_eq!(tests[5].message.as_deref(), Some("not on this platform"));
        assert!(tests.iter().all(|test| test.suite.is_empty()));
        assert!(
            !tests
                .iter()
                .any(|test| test.outcome.is_failure() && test.name != "divides by zero")
        );
    }

    #[test]
    fn todo_is_never_a_failure() {
        let tests = read("1..1\nnot ok 1 - flaky # TODO\n");
        assert_eq!(summary(&tests), pairs(&[("flaky", Outcome::Xfail)]));
        assert!(!tests[0].outcome.is_failure());
    }

    #[test]
    fn plan_at_the_end_and_unnumbered_points() {
        let tests = read("ok\nok - second\nnot ok third\n1..3\n");
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("test 1", Outcome::Pass),
                ("second", Outcome::Pass),
                ("third", Outcome::Fail),
            ])
        );
    }

    #[test]
    fn plan_mismatch_at_the_start_is_a_failure() {
        let tests = read("1..3\nok 1 - a\nok 2 - b\n");
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("a", Outcome::Pass),
                ("b", Outcome::Pass),
                ("plan", Outcome::Fail)
            ])
        );
        assert_eq!(
            tests[2].message.as_deref(),
            Some("plan: expected 3 tests, ran 2")
        );
        assert_eq!(tests[2].raw_status, "1..3");
    }

    #[test]
    fn plan_mismatch_at_the_end_is_a_failure() {
        let tests = read("ok 1 - a\nok 2 - b\nok 3 - c\n1..2\n");
        assert_eq!(tests.len(), 4);
        assert_eq!(tests[3].name, "plan");
        assert_eq!(tests[3].outcome, Outcome::Fail);
        assert_eq!(
            tests[3].message.as_deref(),
            Some("plan: expected 2 tests, ran 3")
        );
    }

    #[test]
    fn a_missing_plan_or_two_plans_are_failures() {
        let truncated = read("TAP version 14\nok 1 - a\n");
        assert_eq!(
            summary(&truncated),
            pairs(&[("a", Outcome::Pass), ("plan", Outcome::Fail)])
        );
        assert_eq!(
            truncated[1].message.as_deref(),
            Some("plan: no plan (1..N) found, ran 1 tests")
        );
        let empty = read("");
        assert_eq!(summary(&empty), pairs(&[("plan", Outcome::Fail)]));
        let twice = read("1..1\nok 1\n1..1\n");
        assert_eq!(twice[1].name, "plan");
        assert!(twice[1].message.as_deref().unwrap().contains("2 plans"));
    }

    #[test]
    fn an_empty_plan_is_an_empty_run() {
        assert!(read("1..0 # SKIP nothing to do on this platform\n").is_empty());
    }

    #[test]
    fn bail_out_reports_the_rest_not_run_and_stops() {
        let tests = read(
            "TAP version 13
1..4
ok 1 - connects
Bail out! the database is down
ok 3 - never read
",
        );
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("connects", Outcome::Pass),
                ("test 2", Outcome::NotRun),
                ("test 3", Outcome::NotRun),
                ("test 4", Outcome::NotRun),
                ("Bail out!", Outcome::Error),
            ])
        );
        assert_eq!(tests[4].message.as_deref(), Some("the database is down"));
        assert_eq!(tests[4].raw_status, "Bail out!");
    }

    #[test]
    fn bail_out_inside_a_subtest_and_with_a_huge_plan() {
        let tests = read(
            "1..2
# Subtest: outer
    1..3
    ok 1 - first
    Bail out!
",
        );
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("first", Outcome::Pass),
                ("test 2", Outcome::NotRun),
                ("test 3", Outcome::NotRun),
                ("test 1", Outcome::NotRun),
                ("test 2", Outcome::NotRun),
                ("Bail out!", Outcome::Error),
            ])
        );
        assert_eq!(tests[1].suite, vec!["outer"]);
        assert!(tests[3].suite.is_empty());
        assert_eq!(tests[5].suite, vec!["outer"]);
        assert_eq!(tests[5].message.as_deref(), Some("the run bailed out"));
        let huge = read("1..18446744073709551615\nbail out! gone\n");
        assert_eq!(
            summary(&huge),
            pairs(&[
                ("tests 1..18446744073709551615", Outcome::NotRun),
                ("Bail out!", Outcome::Error),
            ])
        );
    }

    #[test]
    fn tap14_subtests_with_announcements() {
        let tests = read(
            "TAP version 14
1..2

# Subtest: foo.tap
    1..2
    ok 1
    ok 2 - this passed
ok 1 - foo.tap

# Subtest: bar.tap
    ok 1 - object should be a Bar
    not ok 2 - object.isBar should return true
      ---
      found: false
      wanted: true
      at:
        file: test/bar.ts
        line: 43
      message: |-
        expected true
        got false
      ...
    ok 3 - object can bar bears # TODO
    1..3
not ok 2 - bar.tap
  ---
  fail: 1
  todo: 1
  ...
",
        );
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("test 1", Outcome::Pass),
                ("this passed", Outcome::Pass),
                ("foo.tap", Outcome::Pass),
                ("object should be a Bar", Outcome::Pass),
                ("object.isBar should return true", Outcome::Fail),
                ("object can bar bears", Outcome::Xpass),
                ("bar.tap", Outcome::Fail),
            ])
        );
        assert_eq!(tests[0].suite, vec!["foo.tap"]);
        assert!(tests[2].suite.is_empty());
        assert_eq!(tests[4].suite, vec!["bar.tap"]);
        assert_eq!(
            tests[4].message.as_deref(),
            Some("expected true\ngot false")
        );
        assert_eq!(tests[6].message, None);
    }

    #[test]
    fn node_test_runner_nested_subtests() {
        let tests = read(
            "TAP version 13
# Subtest: flat
ok 1 - flat
  ---
  duration_ms: 0.5
  ...
# Subtest: suite
    # Subtest: inner
        # Subtest: leaf
        not ok 1 - leaf
          ---
          duration_ms: 1.25
          failureType: 'testCodeFailure'
          error: 'boom'
          message: \"line one\\nline \\\"two\\\"\"
          ...
        1..1
    not ok 1 - inner
    1..1
not ok 2 - suite
1..2
# tests 4
# pass 1
",
        );
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("flat", Outcome::Pass),
                ("leaf", Outcome::Fail),
                ("inner", Outcome::Fail),
                ("suite", Outcome::Fail),
            ])
        );
        assert_eq!(tests[0].duration_secs, Some(0.0005));
        assert!(tests[0].suite.is_empty());
        assert_eq!(tests[1].suite, vec!["suite", "inner"]);
        assert_eq!(tests[1].message.as_deref(), Some("line one\nline \"two\""));
        assert_eq!(tests[1].duration_secs, Some(0.00125));
        assert_eq!(tests[2].suite, vec!["suite"]);
    }

    #[test]
    fn a_subtest_without_an_announcement_or_plan() {
        let tests = read(
            "1..1
    ok 1 - inner
ok 1 - outer # time=12.5ms
",
        );
        assert_eq!(
            summary(&tests),
            pairs(&[
                ("inner", Outcome::Pass),
                ("plan", Outcome::Fail),
                ("outer", Outcome::Pass),
            ])
        );
        assert_eq!(tests[0].suite, vec!["test 1"]);
        assert_eq!(tests[1].suite, vec!["test 1"]);
        assert_eq!(tests[2].duration_secs, Some(0.0125));
    }

    #[test]
    fn a_subtest_plan_mismatch_is_reported_in_its_suite() {
        let tests = read(
            "1..1
# Subtest: parent
    1..2
    ok 1 - only
ok 1 - parent
",
        );
        assert_eq!(tests[1].name, "plan");
        assert_eq!(tests[1].suite, vec!["parent"]);
        assert_eq!(
            tests[1].message.as_deref(),
            Some("plan: expected 2 tests, ran 1")
        );
        assert_eq!(tests.len(), 3);
    }

    #[test]
    fn yaml_blocks_folded_plain_and_unterminated() {
        let tests = read(
            "1..3
not ok 1 - folded
  ---
  message: >
    first half
    second half
  at: x
  ...
not ok 2 - plain
  ---
  message: just text
not ok 3 - no message
  ---
  stack: |
    at foo
  ...
",
        );
        assert_eq!(tests[0].message.as_deref(), Some("first half second half"));
        assert_eq!(tests[1].message.as_deref(), Some("just text"));
        assert_eq!(tests[2].message, None);
        assert_eq!(tests.len(), 3);
    }

    #[test]
    fn escapes_and_hashes_in_descriptions() {
        let tests = read("1..2\nok 1 - a \\# b \\\\ c # SKIP why\nok 2 - issue #12 fixed\n");
        assert_eq!(tests[0].name, "a # b \\ c");
        assert_eq!(tests[0].outcome, Outcome::Skip);
        assert_eq!(tests[1].name, "issue");
        assert_eq!(tests[1].outcome, Outcome::Pass);
    }

    #[test]
    fn garbage_pragmas_and_lookalikes_are_ignored() {
        let tests = read(
            "\u{feff}TAP version 14\r
pragma +strict\r
some compiler output\r
okay this is not a test\r
  stray indented line\r
1..1\r
ok 1 - real\r
not okay\r
",
        );
        assert_eq!(summary(&tests), pairs(&[("real", Outcome::Pass)]));
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "d".repeat(MAX_LINE_BYTES * 3);
        let tests = read(&format!("1..1\nok 1 - {long}\n"));
        assert_eq!(tests.len(), 1);
        assert!(tests[0].name.len() < MAX_LINE_BYTES);
    }

    #[test]
    fn sniffs_tap_starts() {
        assert!(Tap.sniff(b"TAP version 14\n1..1\n"));
        assert!(Tap.sniff(b"\n# comment\n1..3\n"));
        assert!(Tap.sniff(b"ok 1 - a\n"));
        assert!(Tap.sniff(b"not ok 1\n"));
        assert!(Tap.sniff(b"\xEF\xBB\xBFTAP version 13\n"));
        assert!(!Tap.sniff(b"<?xml version=\"1.0\"?>\n<testsuites/>"));
        assert!(!Tap.sniff(b"{\"results\":{}}"));
        assert!(!Tap.sniff(b"okay\n1..2\n"));
        assert!(!Tap.sniff(b""));
    }

    /// Reads through a buffer of `capacity` bytes, so that every chunk boundary is tried.
    fn read_chunked(bytes: &[u8], capacity: usize) -> Result<Vec<TestCase>, String> {
        crate::results::adapter::testing::collect_chunked(&Tap, bytes, capacity)
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn fragment() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("TAP version 14".to_owned()),
                "( {0,10})1\\.\\.[0-9]{1,3}",
                "( {0,10})(ok|not ok)( [0-9]{1,2})?( - [a-z#\\\\]{0,6})?( # (SKIP|TODO|time=3ms)[a-z ]{0,4})?",
                "( {0,10})# Subtest(: [a-z]{0,4})?",
                "( {0,10})(---|\\.\\.\\.|message: [|>'\"a-z]{0,5}|duration_ms: [0-9.]{0,3})",
                "( {0,10})[Bb]ail out!.{0,4}",
                ".{0,12}",
            ]
        }

        #[derive(Debug, Clone)]
        enum Kind {
            Pass,
            Fail,
            Skip(bool),
            Todo(bool),
        }

        fn kind() -> impl Strategy<Value = Kind> {
            prop_oneof![
                Just(Kind::Pass),
                Just(Kind::Fail),
                any::<bool>().prop_map(Kind::Skip),
                any::<bool>().prop_map(Kind::Todo),
            ]
        }

        proptest! {
            #[test]
            fn the_same_in_any_chunking(parts in proptest::collection::vec(fragment(), 0..40), capacity in 1..8usize, bom in any::<bool>()) {
                let mut bytes = parts.join("\n").into_bytes();
                if bom {
                    bytes.splice(0..0, *b"\xEF\xBB\xBF");
                }
                prop_assert_eq!(read_chunked(&bytes, 1 << 16), read_chunked(&bytes, capacity));
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
                let _ = Tap.sniff(&bytes);
                let tests = read_bytes(&bytes);
                // Work is bounded by the output: the not-run tests listed after a bail out by
                // the cap on each level's list (one plan a line), everything else by one test a
                // line.
                let lines = bytes.split(|byte| *byte == b'\n').count();
                let listed = usize::try_from(MAX_NOT_RUN_LISTED).unwrap();
                prop_assert!(tests.len() <= lines * (listed + 1));
            }

            #[test]
            fn line_soup_never_panics(lines in proptest::collection::vec(fragment(), 0..60)) {
                let text = lines.join("\n");
                let _ = Tap.sniff(text.as_bytes());
                let tests = read(&text);
                // Not-run tests after a bail out are bounded by the plans' sizes (at most
                // 999 each here, one level a line).
                prop_assert!(tests.len() <= (lines.len() + 1) * 1001);
            }

            #[test]
            fn outcomes_read_back(
                points in proptest::collection::vec(("[a-z][a-z _]{0,12}[a-z]", kind(), proptest::option::of("[a-z ]{1,20}")), 0..30),
                plan_first in any::<bool>(),
                nested in any::<bool>(),
            ) {
                let indent = if nested { "    " } else { "" };
                let mut text = String::from("TAP version 14\n");
                if nested {
                    text.push_str("1..1\n# Subtest: group\n");
                }
                if plan_first {
                    text.push_str(&format!("{indent}1..{}\n", points.len()));
                }
                let mut expected = Vec::new();
                for (index, (name, kind, message)) in points.iter().enumerate() {
                    let number = index + 1;
                    let (line, outcome) = match kind {
                        Kind::Pass => (format!("ok {number} - {name}"), Outcome::Pass),
                        Kind::Fail => (format!("not ok {number} - {name}"), Outcome::Fail),
                        Kind::Skip(ok) => (format!("{} {number} - {name} # SKIP later", if *ok { "ok" } else { "not ok" }), Outcome::Skip),
                        Kind::Todo(true) => (format!("ok {number} - {name} # TODO later"), Outcome::Xpass),
                        Kind::Todo(false) => (format!("not ok {number} - {name} # TODO later"), Outcome::Xfail),
                    };
                    text.push_str(&format!("{indent}{line}\n"));
                    if let Some(message) = message {
                        text.push_str(&format!("{indent}  ---\n{indent}  message: '{message}'\n{indent}  ...\n"));
                    }
                    let expected_message = message.clone().or_else(|| {
                        matches!(kind, Kind::Skip(_) | Kind::Todo(_)).then(|| "later".to_owned())
                    });
                    expected.push((name.clone(), outcome, expected_message));
                }
                if !plan_first {
                    text.push_str(&format!("{indent}1..{}\n", points.len()));
                }
                if nested {
                    text.push_str("ok 1 - group\n");
                }
                let tests = read(&text);
                let mut got: Vec<(String, Outcome, Option<String>)> = tests
                    .iter()
                    .map(|test| (test.name.clone(), test.outcome, test.message.clone()))
                    .collect();
                if nested {
                    prop_assert_eq!(got.pop(), Some(("group".to_owned(), Outcome::Pass, None)));
                    prop_assert!(tests[..tests.len() - 1].iter().all(|test| test.suite == vec!["group".to_owned()]));
                }
                prop_assert_eq!(got, expected);
            }
        }
    }
}
