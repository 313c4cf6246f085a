//! JUnit XML, as the many tools that write it write it: Jenkins/Ant, Maven Surefire, pytest
//! (xunit1 and xunit2), nextest (quick-junit), go-junit-report v2, gotestsum, Ginkgo v2,
//! jest-junit, Karma, Mocha, PHPUnit, Catch2, CUnit, ...
//!
//! # What a test's outcome is
//!
//! Only the **direct** `failure`/`error`/`skipped` children of a `<testcase>` decide its status;
//! elements deeper down (a `<failure>` inside a custom child, inside `<system-out>`, ...) do not
//! count, nor do the declared `tests=`/`failures=`/`errors=`/`skipped=` counters (Surefire's
//! include flaky attempts, jest writes `tests="0"` around crashed suites, ...).
//!
//! | Direct children of `<testcase>` | [`Outcome`] | `raw_status` | `attempts` |
//! |---|---|---|---|
//! | a `<failure>` | `Fail` | `failure` | 1 + reruns + flaky |
//! | else an `<error>` | `Error` | `error` | 1 + reruns + flaky |
//! | else a `<skipped>` whose `type` contains `xfail` (any case, pytest's `pytest.xfail`) | `Xfail` | `skipped` | 1 |
//! | else a `<skipped>` | `Skip` | `skipped` | 1 |
//! | else `flakyFailure`/`flakyError` (Surefire, nextest: passed on a retry) | `FlakyPass` | the first one's name | 1 + flaky + reruns |
//! | else `rerunFailure`/`rerunError` alone (no tool writes this: Surefire puts them beside a `<failure>`/`<error>`) | `FlakyPass` | the first one's name | 1 + reruns |
//! | none of these | `Pass` | `passed` | 1 |
//!
//! The message is the deciding element's `message` attribute, or when it is absent or empty,
//! that element's own text (its text and CDATA, trimmed; text of elements nested in it, such as
//! Surefire's `<stackTrace>`, is not included), cut to
//! [`MAX_MESSAGE_BYTES`].
//!
//! # Identity
//!
//! - `suite`: the enclosing `<testsuite>` elements, outermost first, each named by its `name`
//!   attribute, or when that is absent or empty its `file`, then its `package` attribute; a
//!   suite with none of them (nette-tester's) contributes nothing. `<testsuites>` never
//!   contributes (its name is the tool's: "pytest tests", "jest tests", "nextest-run").
//! - `classname`: the `classname` attribute, else `class` (PHPUnit writes both).
//! - `file`: the testcase's `file` attribute, else the nearest enclosing suite's.
//! - `name`: the `name` attribute (empty when absent: jest writes `name=""` for a test with an
//!   empty title, so a nameless testcase is read, not refused); `variant` is left empty: pytest's
//!   `test_x[param]` keeps its brackets in the name, as the tool wrote it.
//! - `duration_secs`: the `time` attribute in seconds. `1.5`, ` 1.5 `, `1e-3` and Surefire's
//!   grouped `1,234.5` are accepted; anything else (`1,5`, `NaN`, negative, empty) is `None`,
//!   never an error.
//!
//! `<testcase>` elements are read at any depth under the root (in nested suites, directly under
//! `<testsuites>`, inside unknown wrapper elements), except inside another testcase: everything
//! in a testcase other than its status children is skipped.
//!
//! # Streaming and bounded memory
//!
//! The input is read through a 64 KiB window. quick-xml reads the markup; the content of
//! `<system-out>`, `<system-err>`, `<properties>` and every other element that is not structure
//! is skipped by a small scanner that keeps no text (it still checks that the tags inside nest
//! properly), and the text of status elements is kept only up to the message bound. What stays
//! in memory is one tag (at most [`MAX_TOKEN_BYTES`]), the open elements (at most
//! [`MAX_DEPTH`] levels), the suite path and the current test, whatever the size of the file.
//! Beyond these limits the file is reported as malformed, never read into memory.
//!
//! No XML entity is expanded: only the five predefined ones and character references are
//! decoded, an unknown `&name;` is kept as written, and a DOCTYPE that declares entities (the
//! "billion laughs" attack) is an error.
//!
//! The file must be UTF-8 (every tool above writes UTF-8): invalid UTF-8 in markup is an
//! error; in skipped output it does not matter, and in a kept message it becomes U+FFFD.
//!
//! Errors carry the 1-based line and column (in characters) where the problem starts: the `<`
//! of a bad or mismatched tag, or the end of the file for a truncated one. The position is
//! counted while streaming, so it costs no second pass.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use quick_xml::Reader;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};

use crate::results::ResultsErrorKind;
use crate::results::adapter::{Adapter, MAX_MESSAGE_BYTES, bounded_message};
use crate::results::model::{Outcome, TestCase};

/// The longest single tag, comment, declaration or DOCTYPE quick-xml may buffer.
pub const MAX_TOKEN_BYTES: u64 = 16 * 1024 * 1024;

/// The deepest nesting of elements accepted (structure and skipped content alike).
pub const MAX_DEPTH: usize = 256;

/// The most bytes the names of the open elements may add up to.
const MAX_OPEN_NAME_BYTES: usize = 64 * 1024;

/// The most bytes the suite path of one test may add up to.
const MAX_SUITE_PATH_BYTES: usize = 1024 * 1024;

/// The size of the read window.
const WINDOW: usize = 64 * 1024;

/// The JUnit XML format.
#[derive(Debug, Clone, Copy)]
pub struct Junit;

impl Adapter for Junit {
    fn name(&self) -> &'static str {
        "junit"
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        sink: &mut dyn FnMut(TestCase),
    ) -> Result<(), ResultsErrorKind> {
        Parser::new(input).run(&mut |case: JunitCase<'_>| sink(case.into_test_case()))
    }
}

impl Junit {
    /// [`Adapter::read`] without copying: each testcase is handed out as a [`JunitCase`] that
    /// borrows the reader's buffers, so that reading costs no allocation per testcase but its
    /// message's. What `coalmine ingest` uses; [`Adapter::read`] is this plus the copies.
    pub fn read_borrowed(
        &self,
        input: &mut dyn BufRead,
        sink: &mut dyn FnMut(JunitCase<'_>),
    ) -> Result<(), ResultsErrorKind> {
        Parser::new(input).run(sink)
    }
}

/// One testcase as [`Junit::read_borrowed`] hands it out: the fields of [`TestCase`], borrowed
/// from the reader (valid during the call), with the message owned.
#[derive(Debug, Clone, PartialEq)]
pub struct JunitCase<'c> {
    /// See [`TestCase::name`].
    pub name: &'c str,
    /// See [`TestCase::outcome`].
    pub outcome: Outcome,
    /// See [`TestCase::raw_status`].
    pub raw_status: &'static str,
    /// See [`TestCase::duration_secs`].
    pub duration_secs: Option<f64>,
    /// See [`TestCase::message`].
    pub message: Option<String>,
    /// See [`TestCase::suite`].
    pub suite: &'c [String],
    /// See [`TestCase::classname`].
    pub classname: Option<&'c str>,
    /// See [`TestCase::file`].
    pub file: Option<&'c str>,
    /// See [`TestCase::attempts`].
    pub attempts: u32,
}

impl JunitCase<'_> {
    /// The testcase as an owned [`TestCase`].
    pub fn into_test_case(self) -> TestCase {
        TestCase {
            name: self.name.to_owned(),
            outcome: self.outcome,
            raw_status: self.raw_status.to_owned(),
            duration_secs: self.duration_secs,
            message: self.message,
            suite: self.suite.to_vec(),
            classname: self.classname.map(str::to_owned),
            file: self.file.map(str::to_owned),
            variant: None,
            attempts: self.attempts,
        }
    }
}

/// True when the first content after a BOM, whitespace, XML declarations, processing
/// instructions and comments is a `<testsuites` or `<testsuite` tag.
fn sniff(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        rest = &rest[rest
            .iter()
            .position(|byte| !is_space(*byte))
            .unwrap_or(rest.len())..];
        let skip = if rest.starts_with(b"<?") {
            find_pattern(rest, b"?>").map(|index| index + 2)
        } else if rest.starts_with(b"<!--") {
            find_pattern(&rest[4..], b"-->").map(|index| index + 4 + 3)
        } else {
            break;
        };
        match skip {
            Some(skip) => rest = &rest[skip..],
            None => return false,
        }
    }
    [&b"<testsuites"[..], &b"<testsuite"[..]].iter().any(|tag| {
        rest.starts_with(tag)
            && rest
                .get(tag.len())
                .is_none_or(|next| is_space(*next) || *next == b'>' || *next == b'/')
    })
}

fn find_pattern(haystack: &[u8], pattern: &[u8]) -> Option<usize> {
    haystack
        .windows(pattern.len())
        .position(|window| window == pattern)
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

// ---------------------------------------------------------------------------------------------
// Positions

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

impl Pos {
    /// The position after `bytes`, starting here.
    fn advanced(mut self, bytes: &[u8]) -> Pos {
        match bytes.iter().rposition(|byte| *byte == b'\n') {
            Some(last) => {
                self.line += count_byte(b'\n', &bytes[..=last]);
                self.column = 1 + count_chars(&bytes[last + 1..]);
            }
            None => self.column += count_chars(bytes),
        }
        self
    }
}

fn count_byte(needle: u8, bytes: &[u8]) -> usize {
    bytes.iter().filter(|byte| **byte == needle).count()
}

/// Newlines and UTF-8 continuation bytes in `bytes`, in one pass the compiler vectorises.
fn tally(bytes: &[u8]) -> (usize, usize) {
    let (mut newlines, mut continuations) = (0usize, 0usize);
    for chunk in bytes.chunks(255) {
        let (mut chunk_newlines, mut chunk_continuations) = (0u8, 0u8);
        for &byte in chunk {
            chunk_newlines += u8::from(byte == b'\n');
            chunk_continuations += u8::from((byte as i8) < -0x40);
        }
        newlines += usize::from(chunk_newlines);
        continuations += usize::from(chunk_continuations);
    }
    (newlines, continuations)
}

/// Characters in UTF-8 `bytes`: the bytes that are not continuation bytes.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|byte| (**byte as i8) >= -0x40).count()
}

fn malformed(at: Pos, message: impl Into<String>) -> ResultsErrorKind {
    ResultsErrorKind::Malformed {
        line: at.line,
        column: at.column,
        message: message.into(),
    }
}

/// An open element, for the message when the file ends inside it.
#[derive(Clone, Copy)]
struct Open<'n> {
    name: &'n str,
    at: Pos,
}

fn truncated(end: Pos, open: Open<'_>, inside: &str) -> ResultsErrorKind {
    malformed(
        end,
        format!(
            "the file ends inside {inside}<{}> opened at line {}, column {}: the results file is truncated",
            open.name, open.at.line, open.at.column
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Byte search without a dependency: eight bytes at a time.

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

fn zero_byte_mask(word: u64) -> u64 {
    word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS
}

/// The first index of `a` or `b` (pass the same byte twice to look for one).
fn find_either(a: u8, b: u8, haystack: &[u8]) -> Option<usize> {
    let (pattern_a, pattern_b) = (LOW_BITS * u64::from(a), LOW_BITS * u64::from(b));
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // The lowest flagged byte is always a true match (false flags only sit above one).
        let mask = zero_byte_mask(word ^ pattern_a) | zero_byte_mask(word ^ pattern_b);
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|byte| *byte == a || *byte == b)
        .map(|index| offset + index)
}

// ---------------------------------------------------------------------------------------------
// The input window: tracks the byte position, line and column of what was consumed, lets the
// scanner peek a few bytes ahead, and refuses to let quick-xml buffer one token without end.
//
// Lines and columns are counted lazily, in one pass over each stretch of the window (when a
// position is asked for, and before the window moves on), not at every `consume`. One position
// can be marked (the start of the token being read) and is resolved when it is needed or before
// the window drops it.

enum Failure {
    Io(io::Error),
    TokenTooLong,
}

#[derive(Clone, Copy)]
enum Mark {
    /// At this window index, not counted yet.
    Pending(usize),
    Resolved(Pos),
}

struct Source<'a> {
    inner: &'a mut dyn BufRead,
    window: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    pos: u64,
    /// The window index up to which `line` and `column` are counted.
    tracked: usize,
    line: usize,
    /// Characters since the start of the line.
    column: usize,
    mark: Mark,
    /// Where the token quick-xml is reading started, while it reads one.
    token_start: Option<u64>,
    failure: Option<Failure>,
}

impl<'a> Source<'a> {
    fn new(inner: &'a mut dyn BufRead) -> Source<'a> {
        Source {
            inner,
            window: vec![0; WINDOW].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            pos: 0,
            tracked: 0,
            line: 1,
            column: 0,
            mark: Mark::Resolved(Pos { line: 1, column: 1 }),
            token_start: None,
            failure: None,
        }
    }

    /// The position of the next byte.
    fn here(&mut self) -> Pos {
        self.track_to(self.start);
        self.tracked_pos()
    }

    fn tracked_pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column + 1,
        }
    }

    /// Marks the position of the next byte, to be resolved by [`Source::marked`] if needed.
    fn set_mark(&mut self) {
        self.mark = Mark::Pending(self.start);
    }

    /// The marked position.
    fn marked(&mut self) -> Pos {
        if let Mark::Pending(index) = self.mark {
            self.track_to(index.max(self.tracked));
        }
        match self.mark {
            Mark::Resolved(pos) => pos,
            Mark::Pending(_) => self.tracked_pos(),
        }
    }

    /// Counts lines and columns up to window index `to`, resolving the mark on the way.
    fn track_to(&mut self, to: usize) {
        if let Mark::Pending(index) = self.mark
            && (self.tracked..=to).contains(&index)
        {
            self.tally_to(index);
            self.mark = Mark::Resolved(self.tracked_pos());
        }
        self.tally_to(to);
    }

    fn tally_to(&mut self, to: usize) {
        let bytes = &self.window[self.tracked..to];
        let (newlines, continuations) = tally(bytes);
        if newlines == 0 {
            self.column += bytes.len() - continuations;
        } else {
            self.line += newlines;
            let last = bytes.iter().rposition(|byte| *byte == b'\n').unwrap_or(0);
            self.column = count_chars(&bytes[last + 1..]);
        }
        self.tracked = to;
    }

    /// Reads more into the window after `end`; false at the end of the input.
    fn read_more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        loop {
            match self.inner.read(&mut self.window[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(read) => {
                    self.end += read;
                    return Ok(true);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    let copy = io::Error::new(error.kind(), error.to_string());
                    self.failure = Some(Failure::Io(error));
                    return Err(copy);
                }
            }
        }
    }

    /// At least `count` bytes ahead (fewer only at the end of the input).
    fn peek(&mut self, count: usize) -> io::Result<&[u8]> {
        debug_assert!(count <= WINDOW);
        if self.end - self.start < count {
            self.track_to(self.start);
            self.window.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.tracked = 0;
            while self.end < count && self.read_more()? {}
        }
        Ok(&self.window[self.start..self.end])
    }

    /// Drops the first byte order mark, before anything else is read.
    fn skip_bom(&mut self) -> io::Result<()> {
        if self.peek(3)?.starts_with(b"\xEF\xBB\xBF") {
            self.start += 3;
            self.tracked = self.start;
            self.pos += 3;
        }
        Ok(())
    }

    /// Skips text up to the next `<` (not consumed) or the end of the input. With `outside`,
    /// the text is outside the root element and must be whitespace.
    fn skip_text(&mut self, outside: bool) -> Result<(), ResultsErrorKind> {
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Ok(());
            }
            let found = find_either(b'<', b'<', available);
            let text = found.unwrap_or(available.len());
            if outside
                && let Some(index) = available[..text].iter().position(|byte| !is_space(*byte))
            {
                self.consume(index);
                return Err(malformed(
                    self.here(),
                    "text outside the root element: this is not a JUnit XML report",
                ));
            }
            self.consume(text);
            if found.is_some() {
                return Ok(());
            }
        }
    }

    /// [`BufRead::fill_buf`], with the error as the adapter reports it.
    fn fill(&mut self) -> Result<&[u8], ResultsErrorKind> {
        if let Err(error) = self.fill_buf() {
            return Err(self.io_failure(error));
        }
        Ok(&self.window[self.start..self.end])
    }

    /// [`Source::peek`], with the error as the adapter reports it.
    fn lookahead(&mut self, count: usize) -> Result<&[u8], ResultsErrorKind> {
        if let Err(error) = self.peek(count) {
            return Err(self.io_failure(error));
        }
        Ok(&self.window[self.start..self.end])
    }

    fn io_failure(&mut self, error: io::Error) -> ResultsErrorKind {
        match self.failure.take() {
            Some(Failure::Io(error)) => ResultsErrorKind::Read(error),
            _ => ResultsErrorKind::Read(error),
        }
    }

    /// Reads the content of the element `open` (whose start tag was just read) up to, and not
    /// including, its end tag, which quick-xml reads next. Elements inside are skipped, checking
    /// only that they nest. With `collect`, the element's own text and CDATA are kept (bounded).
    fn read_content(
        &mut self,
        open: Open<'_>,
        mut collect: Option<&mut Collector>,
    ) -> Result<(), ResultsErrorKind> {
        let mut nested = NameStack::default();
        loop {
            // Text up to the next markup (or, when collecting, the next reference).
            let collecting = nested.is_empty() && collect.is_some();
            let stop_at = if collecting { b'&' } else { b'<' };
            loop {
                let available = self.fill()?;
                if available.is_empty() {
                    return Err(truncated(self.here(), open, ""));
                }
                let found = find_either(b'<', stop_at, available);
                let text = found.unwrap_or(available.len());
                if collecting && let Some(collector) = collect.as_deref_mut() {
                    collector.push(&available[..text]);
                }
                self.consume(text);
                if found.is_some() {
                    break;
                }
            }
            self.set_mark();
            let head = self.lookahead(9)?;
            if head[0] == b'&' {
                let collector = collect
                    .as_deref_mut()
                    .expect("only collected text stops at `&`");
                self.reference(collector)?;
                continue;
            }
            match head.get(1).copied() {
                None => return Err(truncated(self.here(), open, "")),
                Some(b'/') => {
                    if nested.is_empty() {
                        return Ok(());
                    }
                    self.consume(2);
                    let name = self.read_name(open)?;
                    let expected = nested.last();
                    if name != expected.as_bytes() {
                        return Err(malformed(
                            self.marked(),
                            format!(
                                "mismatched end tag in <{}>: expected </{expected}>, found </{}>",
                                open.name,
                                String::from_utf8_lossy(&name)
                            ),
                        ));
                    }
                    nested.pop();
                    self.finish_end_tag(open)?;
                }
                Some(b'!') => {
                    if head.starts_with(b"<!--") {
                        self.consume(4);
                        self.skip_past(b"-->", open, "a comment in ", None)?;
                    } else if head.starts_with(b"<![CDATA[") {
                        self.consume(9);
                        let keep = if nested.is_empty() {
                            collect.as_deref_mut()
                        } else {
                            None
                        };
                        self.skip_past(b"]]>", open, "a CDATA section in ", keep)?;
                    } else if head.len() < 9
                        && (b"<![CDATA[".starts_with(head) || b"<!--".starts_with(head))
                    {
                        return Err(truncated(self.here(), open, ""));
                    } else {
                        return Err(malformed(
                            self.marked(),
                            format!(
                                "unexpected `<!` in <{}>: only comments and CDATA sections may appear in an element",
                                open.name
                            ),
                        ));
                    }
                }
                Some(b'?') => {
                    self.consume(2);
                    self.skip_past(b"?>", open, "a processing instruction in ", None)?;
                }
                Some(_) => {
                    self.consume(1);
                    let name = self.read_name(open)?;
                    if name.is_empty() {
                        return Err(malformed(
                            self.marked(),
                            format!("a `<` that starts no tag in <{}>", open.name),
                        ));
                    }
                    if !self.skip_tag_rest(open)? {
                        if nested.len() >= MAX_DEPTH
                            || nested.bytes() + name.len() > MAX_OPEN_NAME_BYTES
                        {
                            return Err(malformed(
                                self.marked(),
                                format!(
                                    "elements in <{}> nest deeper than {MAX_DEPTH} levels",
                                    open.name
                                ),
                            ));
                        }
                        nested.push(&name);
                    }
                }
            }
        }
    }

    /// Reads an element name (up to whitespace, `/`, `>` or the end of the input).
    fn read_name(&mut self, open: Open<'_>) -> Result<Vec<u8>, ResultsErrorKind> {
        let mut name = Vec::new();
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(truncated(self.here(), open, "a tag in "));
            }
            let end = available
                .iter()
                .position(|byte| is_space(*byte) || *byte == b'/' || *byte == b'>');
            let take = end.unwrap_or(available.len());
            name.extend_from_slice(&available[..take]);
            self.consume(take);
            if name.len() > MAX_OPEN_NAME_BYTES {
                return Err(malformed(self.here(), "an element name longer than 64 KiB"));
            }
            if end.is_some() {
                return Ok(name);
            }
        }
    }

    /// After an end tag's name: optional whitespace and `>`.
    fn finish_end_tag(&mut self, open: Open<'_>) -> Result<(), ResultsErrorKind> {
        loop {
            let available = self.fill()?;
            let Some(&byte) = available.first() else {
                return Err(truncated(self.here(), open, "a tag in "));
            };
            self.consume(1);
            match byte {
                b'>' => return Ok(()),
                byte if is_space(byte) => {}
                _ => {
                    return Err(malformed(
                        self.marked(),
                        format!("a malformed end tag in <{}>", open.name),
                    ));
                }
            }
        }
    }

    /// After a start tag's name: the attributes up to `>`, minding quotes. True when the tag
    /// closes itself (`/>`).
    fn skip_tag_rest(&mut self, open: Open<'_>) -> Result<bool, ResultsErrorKind> {
        let mut quote: Option<u8> = None;
        let mut slash = false;
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(truncated(self.here(), open, "a tag in "));
            }
            let mut closed = None;
            for (index, &byte) in available.iter().enumerate() {
                match quote {
                    Some(q) if byte == q => quote = None,
                    Some(_) => {}
                    None => match byte {
                        b'"' | b'\'' => quote = Some(byte),
                        b'>' => {
                            closed = Some(index);
                            break;
                        }
                        _ => {}
                    },
                }
                slash = quote.is_none() && byte == b'/';
            }
            match closed {
                Some(index) => {
                    self.consume(index + 1);
                    return Ok(slash);
                }
                None => {
                    let all = available.len();
                    self.consume(all);
                }
            }
        }
    }

    /// Skips (or collects) everything up to and including `end` (`-->`, `]]>`, `?>`).
    fn skip_past(
        &mut self,
        end: &[u8],
        open: Open<'_>,
        inside: &str,
        mut collect: Option<&mut Collector>,
    ) -> Result<(), ResultsErrorKind> {
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(truncated(self.here(), open, inside));
            }
            let found = find_either(end[0], end[0], available);
            let text = found.unwrap_or(available.len());
            if let Some(collector) = collect.as_deref_mut() {
                collector.push(&available[..text]);
            }
            self.consume(text);
            if found.is_none() {
                continue;
            }
            let head = self.lookahead(end.len())?;
            if head.starts_with(end) {
                self.consume(end.len());
                return Ok(());
            }
            if head.len() < end.len() {
                return Err(truncated(self.here(), open, inside));
            }
            if let Some(collector) = collect.as_deref_mut() {
                collector.push(&head[..1]);
            }
            self.consume(1);
        }
    }

    /// At `&` in collected text: decodes a predefined entity or a character reference; keeps
    /// anything else as written (no entity is ever expanded).
    fn reference(&mut self, collector: &mut Collector) -> Result<(), ResultsErrorKind> {
        let head = self.lookahead(12)?;
        let decoded = head
            .iter()
            .position(|byte| *byte == b';')
            .and_then(|end| decode_reference(&head[1..end]).map(|ch| (ch, end + 1)));
        match decoded {
            Some((ch, length)) => {
                collector.push(ch.encode_utf8(&mut [0; 4]).as_bytes());
                self.consume(length);
            }
            None => {
                collector.push(b"&");
                self.consume(1);
            }
        }
        Ok(())
    }
}

impl Read for Source<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl BufRead for Source<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            if let Some(start) = self.token_start
                && self.pos - start > MAX_TOKEN_BYTES
            {
                self.failure = Some(Failure::TokenTooLong);
                return Err(io::Error::other("an XML token is too long"));
            }
            self.track_to(self.end);
            self.start = 0;
            self.end = 0;
            self.tracked = 0;
            self.read_more()?;
        }
        Ok(&self.window[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        debug_assert!(self.start + amount <= self.end);
        self.start += amount;
        self.pos += amount as u64;
    }
}

/// The names of the elements open inside skipped content.
#[derive(Default)]
struct NameStack {
    names: Vec<u8>,
    starts: Vec<usize>,
}

impl NameStack {
    fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn bytes(&self) -> usize {
        self.names.len()
    }

    fn push(&mut self, name: &[u8]) {
        self.starts.push(self.names.len());
        self.names.extend_from_slice(name);
    }

    fn last(&self) -> String {
        let start = self.starts.last().copied().unwrap_or(0);
        String::from_utf8_lossy(&self.names[start..]).into_owned()
    }

    fn pop(&mut self) {
        if let Some(start) = self.starts.pop() {
            self.names.truncate(start);
        }
    }
}

/// Text kept for a message: at most a little more than the message bound.
#[derive(Default)]
struct Collector {
    bytes: Vec<u8>,
    dropped: usize,
}

impl Collector {
    const KEEP: usize = MAX_MESSAGE_BYTES + 8;

    fn push(&mut self, data: &[u8]) {
        let room = Self::KEEP.saturating_sub(self.bytes.len());
        let take = room.min(data.len());
        self.bytes.extend_from_slice(&data[..take]);
        self.dropped += data.len() - take;
    }

    /// The trimmed text, cut as [`bounded_message`] cuts; `None` when empty.
    fn finish(self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.bytes);
        let trimmed = if self.dropped == 0 {
            text.trim()
        } else {
            text.trim_start()
        };
        if trimmed.is_empty() {
            return None;
        }
        if self.dropped == 0 {
            return Some(bounded_message(trimmed.to_owned()));
        }
        let mut cut = MAX_MESSAGE_BYTES.min(trimmed.len());
        while !trimmed.is_char_boundary(cut) {
            cut -= 1;
        }
        let dropped = trimmed.len() - cut + self.dropped;
        Some(format!("{}… [{dropped} more bytes cut]", &trimmed[..cut]))
    }
}

/// `amp`, `#65`, `#x41`, ... (without `&` and `;`); `None` for anything else.
fn decode_reference(name: &[u8]) -> Option<char> {
    let code = |digits: &[u8], radix: u32| {
        // Digits only: `from_str_radix` would also take a sign.
        if digits.is_empty() || !digits.iter().all(|digit| (*digit as char).is_digit(radix)) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix)
            .ok()
            .and_then(char::from_u32)
            .filter(|ch| is_xml_char(*ch))
    };
    match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"apos" => Some('\''),
        b"quot" => Some('"'),
        [b'#', b'x' | b'X', hex @ ..] => code(hex, 16),
        [b'#', decimal @ ..] => code(decimal, 10),
        _ => None,
    }
}

/// Whether XML allows `ch` in a document (its `Char` production): not NUL nor the other
/// control characters but tab, line feed and carriage return, nor U+FFFE and U+FFFF.
fn is_xml_char(ch: char) -> bool {
    matches!(ch, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An attribute value as XML means it: whitespace characters become spaces, predefined
/// entities and character references are decoded, anything else is kept as written. Borrowed
/// when there is nothing to decode.
fn attribute_value(raw: Cow<'_, str>) -> Cow<'_, str> {
    if !needs_decoding(raw.as_bytes()) {
        return raw;
    }
    let raw = raw.as_ref();
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(index) = rest.find(['&', '\t', '\r', '\n']) {
        out.push_str(&rest[..index]);
        let tail = &rest[index..];
        if let Some(after) = tail.strip_prefix("\r\n") {
            out.push(' ');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('&') {
            let decoded = after.as_bytes()[..after.len().min(11)]
                .iter()
                .position(|byte| *byte == b';')
                .and_then(|end| decode_reference(&after.as_bytes()[..end]).map(|ch| (ch, end + 1)));
            match decoded {
                Some((ch, length)) => {
                    out.push(ch);
                    rest = &after[length..];
                }
                None => {
                    out.push('&');
                    rest = after;
                }
            }
        } else {
            // One of `\t`, `\r`, `\n`: one byte each.
            out.push(' ');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether an attribute value has a byte that [`attribute_value`] may change: `&` or a control
/// character (`\t`, `\r` and `\n` among them). Looks at 8 bytes at a time: values are short,
/// and one pass beats a search for each byte.
fn needs_decoding(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // "Has a byte below n": (x - n) & !x & HIGH, with the `&`s made zero bytes.
        let below_space = word.wrapping_sub(ONES * 0x20) & !word;
        let ampersands = word ^ (ONES * u64::from(b'&'));
        let ampersand = ampersands.wrapping_sub(ONES) & !ampersands;
        if (below_space | ampersand) & HIGH != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|byte| *byte == b'&' || *byte < b' ')
}

/// Seconds from a `time` attribute; `None` when it is not a finite, non-negative number.
fn parse_seconds(raw: &str) -> Option<f64> {
    let text = raw.trim();
    let grouped;
    let text = if text.contains(',') {
        // Surefire writes `1,234.5` past a thousand seconds: commas only between groups of 3.
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let mut groups = whole.split(',');
        let first = groups.next()?;
        let valid_first =
            (1..=3).contains(&first.len()) && first.bytes().all(|byte| byte.is_ascii_digit());
        if !valid_first
            || !groups
                .all(|group| group.len() == 3 && group.bytes().all(|byte| byte.is_ascii_digit()))
        {
            return None;
        }
        grouped = format!("{}.{fraction}", whole.replace(',', ""));
        grouped.as_str()
    } else {
        text
    };
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

// ---------------------------------------------------------------------------------------------
// The document walk

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Failure,
    Error,
    Skipped,
    FlakyFailure,
    FlakyError,
    RerunFailure,
    RerunError,
}

impl Status {
    fn from_name(name: &[u8]) -> Option<Status> {
        Some(match name {
            b"failure" => Status::Failure,
            b"error" => Status::Error,
            b"skipped" => Status::Skipped,
            b"flakyFailure" => Status::FlakyFailure,
            b"flakyError" => Status::FlakyError,
            b"rerunFailure" => Status::RerunFailure,
            b"rerunError" => Status::RerunError,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Status::Failure => "failure",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::FlakyFailure => "flakyFailure",
            Status::FlakyError => "flakyError",
            Status::RerunFailure => "rerunFailure",
            Status::RerunError => "rerunError",
        }
    }
}

/// The first element of one status kind seen in a testcase.
struct Detail {
    status: Status,
    message: Option<String>,
    xfail: bool,
}

/// The testcase being read. Its strings are reused from one testcase to the next, so that
/// reading a testcase allocates nothing once they are large enough.
#[derive(Default)]
struct Case {
    name: String,
    /// The classname, when `has_classname`.
    classname: String,
    has_classname: bool,
    file: Option<String>,
    duration_secs: Option<f64>,
    failure: Option<Detail>,
    error: Option<Detail>,
    skipped: Option<Detail>,
    flaky: Option<Detail>,
    rerun: Option<Detail>,
    flaky_count: u32,
    rerun_count: u32,
}

impl Case {
    /// Starts reading a testcase with these attributes.
    fn begin(
        &mut self,
        name: Option<&str>,
        classname: Option<&str>,
        file: Option<String>,
        duration_secs: Option<f64>,
    ) {
        self.name.clear();
        self.name.push_str(name.unwrap_or_default());
        self.classname.clear();
        self.has_classname = classname.is_some();
        self.classname.push_str(classname.unwrap_or_default());
        self.file = file;
        self.duration_secs = duration_secs;
        self.failure = None;
        self.error = None;
        self.skipped = None;
        self.flaky = None;
        self.rerun = None;
        self.flaky_count = 0;
        self.rerun_count = 0;
    }

    fn slot(&mut self, status: Status) -> &mut Option<Detail> {
        match status {
            Status::Failure => &mut self.failure,
            Status::Error => &mut self.error,
            Status::Skipped => &mut self.skipped,
            Status::FlakyFailure | Status::FlakyError => &mut self.flaky,
            Status::RerunFailure | Status::RerunError => &mut self.rerun,
        }
    }

    /// The testcase read, in `suite`, inside the open elements `frames` (for the file it
    /// inherits). Takes the message out.
    fn finish<'c>(&'c mut self, suite: &'c [String], frames: &'c [Frame]) -> JunitCase<'c> {
        let retries = self.flaky_count.saturating_add(self.rerun_count);
        let (outcome, detail, attempts) = if let Some(detail) = self.failure.take() {
            (Outcome::Fail, Some(detail), 1u32.saturating_add(retries))
        } else if let Some(detail) = self.error.take() {
            (Outcome::Error, Some(detail), 1u32.saturating_add(retries))
        } else if let Some(detail) = self.skipped.take() {
            let outcome = if detail.xfail {
                Outcome::Xfail
            } else {
                Outcome::Skip
            };
            (outcome, Some(detail), 1)
        } else if let Some(detail) = self.flaky.take().or(self.rerun.take()) {
            (
                Outcome::FlakyPass,
                Some(detail),
                1u32.saturating_add(retries),
            )
        } else {
            (Outcome::Pass, None, 1)
        };
        let (raw_status, message) = match detail {
            Some(detail) => (detail.status.name(), detail.message),
            None => ("passed", None),
        };
        let inherited = || frames.iter().rev().find_map(|frame| frame.file.as_deref());
        JunitCase {
            name: &self.name,
            outcome,
            raw_status,
            duration_secs: self.duration_secs,
            message,
            suite,
            classname: self.has_classname.then_some(self.classname.as_str()),
            file: self.file.as_deref().or_else(inherited),
            attempts,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Suites,
    /// A testsuite; `named` when it added a name to the suite path.
    Suite {
        named: bool,
    },
    Case,
    /// An element whose content the scanner consumed; its end tag comes next.
    Content,
    /// An unknown element among the structure: walked into.
    Container,
}

struct Frame {
    kind: Kind,
    name: Cow<'static, str>,
    at: Pos,
    /// The suite's `file` attribute, inherited by its testcases.
    file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    NotSeen,
    Open,
    Closed,
}

struct Parser<'a> {
    reader: Reader<Source<'a>>,
    frames: Vec<Frame>,
    open_name_bytes: usize,
    suites: Vec<String>,
    suite_bytes: usize,
    /// The testcase being read, when `case_open`, else the last one (its buffers kept).
    case: Case,
    case_open: bool,
    root: Root,
}

fn element_name(local: &[u8]) -> Cow<'static, str> {
    match local {
        b"testsuites" => Cow::Borrowed("testsuites"),
        b"testsuite" => Cow::Borrowed("testsuite"),
        b"testcase" => Cow::Borrowed("testcase"),
        b"system-out" => Cow::Borrowed("system-out"),
        b"system-err" => Cow::Borrowed("system-err"),
        b"properties" => Cow::Borrowed("properties"),
        other => match Status::from_name(other) {
            Some(status) => Cow::Borrowed(status.name()),
            None => Cow::Owned(String::from_utf8_lossy(other).into_owned()),
        },
    }
}

/// The first value of each wanted attribute (by local name), decoded, borrowed from `element`
/// when there was nothing to decode. Any malformed attribute, wanted or not, is an error.
///
/// The attributes are scanned here rather than by quick-xml's iterator (a tenth of an
/// ingest's time in the profile), accepting and refusing exactly what it does with its checks
/// off (no duplicate check), with the same errors at the same positions: a property test holds
/// the two together.
fn attributes<'e, const N: usize>(
    element: &'e BytesStart<'_>,
    keys: [&[u8]; N],
) -> Result<[Option<Cow<'e, str>>; N], String> {
    let mut values = [const { None }; N];
    let raw = element.attributes_raw();
    // quick-xml counts positions from the start of the tag's name.
    let base = element.name().as_ref().len();
    let malformed = |error: AttrError| {
        format!(
            "a malformed attribute in <{}>: {error}",
            element.name().as_ref()
        )
    };
    let bytes = raw.as_bytes();
    let skip_spaces = |mut at: usize| {
        while at < bytes.len() && is_space(bytes[at]) {
            at += 1;
        }
        at
    };
    let mut at = skip_spaces(0);
    while at < bytes.len() {
        // The key's first byte is taken whatever it is (even `=`), as quick-xml does.
        let key_start = at;
        at += 1;
        while at < bytes.len() && bytes[at] != b'=' && !is_space(bytes[at]) {
            at += 1;
        }
        let key = &raw[key_start..at];
        at = skip_spaces(at);
        match bytes.get(at) {
            Some(b'=') => at = skip_spaces(at + 1),
            Some(_) => return Err(malformed(AttrError::ExpectedEq(base + at))),
            None => return Err(malformed(AttrError::ExpectedEq(base + bytes.len()))),
        }
        let quote = match bytes.get(at) {
            Some(quote @ (b'"' | b'\'')) => *quote,
            Some(_) => return Err(malformed(AttrError::UnquotedValue(base + at))),
            None => return Err(malformed(AttrError::ExpectedValue(base + bytes.len()))),
        };
        let Some(length) = memchr::memchr(quote, &bytes[at + 1..]) else {
            return Err(malformed(AttrError::ExpectedQuote(
                base + bytes.len(),
                quote,
            )));
        };
        let value = &raw[at + 1..at + 1 + length];
        at = skip_spaces(at + 1 + length + 1);
        let key = key.as_bytes();
        let local = match key.iter().position(|byte| *byte == b':') {
            Some(colon) => &key[colon + 1..],
            None => key,
        };
        if let Some(index) = keys.iter().position(|wanted| *wanted == local)
            && values[index].is_none()
        {
            values[index] = Some(attribute_value(Cow::Borrowed(value)));
        }
    }
    Ok(values)
}

fn non_empty(value: Option<Cow<'_, str>>) -> Option<String> {
    value.filter(|value| !value.is_empty()).map(Cow::into_owned)
}

impl<'a> Parser<'a> {
    fn new(input: &'a mut dyn BufRead) -> Parser<'a> {
        Parser {
            reader: Reader::from_reader(Source::new(input)),
            frames: Vec::new(),
            open_name_bytes: 0,
            suites: Vec::new(),
            suite_bytes: 0,
            case: Case::default(),
            case_open: false,
            root: Root::NotSeen,
        }
    }

    fn source(&mut self) -> &mut Source<'a> {
        self.reader.get_mut()
    }

    fn run(mut self, sink: &mut dyn FnMut(JunitCase<'_>)) -> Result<(), ResultsErrorKind> {
        self.source().skip_bom().map_err(ResultsErrorKind::Read)?;
        let mut buf = Vec::with_capacity(1024);
        loop {
            let outside = self.frames.is_empty();
            self.source().skip_text(outside)?;
            self.source().set_mark();
            let mark_offset = self.reader.buffer_position();
            buf.clear();
            let token_start = self.source().pos;
            self.source().token_start = Some(token_start);
            let event = self.reader.read_event_into(&mut buf);
            self.source().token_start = None;
            let event = match event {
                Ok(event) => event,
                Err(error) => return Err(self.xml_error(error, mark_offset, &buf)),
            };
            match event {
                Event::Start(element) => self.start(&element, false, sink)?,
                Event::Empty(element) => self.start(&element, true, sink)?,
                Event::End(_) => self.end(sink),
                Event::DocType(doctype) => {
                    let declares_entities = doctype
                        .as_bytes()
                        .windows(8)
                        .any(|window| window.eq_ignore_ascii_case(b"<!ENTITY"));
                    if declares_entities {
                        return Err(malformed(
                            self.source().marked(),
                            "the DOCTYPE declares entities (<!ENTITY ...>): coalmine never expands XML entities \
                             (a \"billion laughs\" file would need unbounded memory), so it refuses such a file",
                        ));
                    }
                }
                Event::Eof => return self.eof(),
                _ => {}
            }
        }
    }

    /// A quick-xml error at the position it names (inside the token read since `mark`).
    fn xml_error(
        &mut self,
        error: quick_xml::Error,
        mark_offset: u64,
        buf: &[u8],
    ) -> ResultsErrorKind {
        let mark = self.source().marked();
        match self.source().failure.take() {
            Some(Failure::Io(error)) => return ResultsErrorKind::Read(error),
            Some(Failure::TokenTooLong) => {
                return malformed(
                    mark,
                    format!(
                        "a tag, comment or declaration longer than {} MiB: coalmine reads results in bounded memory \
                         and does not accept one this long",
                        MAX_TOKEN_BYTES >> 20
                    ),
                );
            }
            None => {}
        }
        let error_offset = self.reader.error_position();
        let at = match error_offset.checked_sub(mark_offset) {
            Some(delta) if (delta as usize) <= buf.len() => mark.advanced(&buf[..delta as usize]),
            _ => mark,
        };
        malformed(at, error.to_string())
    }

    /// A malformed error at the start of the token just read.
    fn here_malformed(&mut self, message: impl Into<String>) -> ResultsErrorKind {
        malformed(self.source().marked(), message)
    }

    fn push(
        &mut self,
        kind: Kind,
        local: &[u8],
        file: Option<String>,
    ) -> Result<(), ResultsErrorKind> {
        let at = self.source().marked();
        let name = element_name(local);
        if self.frames.len() >= MAX_DEPTH || self.open_name_bytes + name.len() > MAX_OPEN_NAME_BYTES
        {
            return Err(malformed(
                at,
                format!("elements nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.open_name_bytes += name.len();
        self.frames.push(Frame {
            kind,
            name,
            at,
            file,
        });
        Ok(())
    }

    fn start(
        &mut self,
        element: &BytesStart<'_>,
        empty: bool,
        sink: &mut dyn FnMut(JunitCase<'_>),
    ) -> Result<(), ResultsErrorKind> {
        let local_name = element.local_name();
        let local = local_name.as_ref().as_bytes();
        match self.frames.last().map(|frame| frame.kind) {
            Some(Kind::Case) => return self.case_child(element, local, empty),
            Some(Kind::Content) => {
                // The scanner stops only before the element's own end tag.
                return Err(self.here_malformed("unexpected element after skipped content"));
            }
            Some(_) => {}
            None => match self.root {
                Root::Closed => {
                    return Err(self.here_malformed(format!(
                        "an element <{}> after the root element ended",
                        String::from_utf8_lossy(local)
                    )));
                }
                Root::NotSeen if local != b"testsuites" && local != b"testsuite" => {
                    return Err(self.here_malformed(
                        format!(
                            "the root element is <{}>, not <testsuites> or <testsuite>: this is not a JUnit XML report",
                            String::from_utf8_lossy(local)
                        ),
                    ));
                }
                _ => self.root = Root::Open,
            },
        }
        match local {
            b"testsuites" => {
                if !empty {
                    self.push(Kind::Suites, local, None)?;
                }
            }
            b"testsuite" => {
                if !empty {
                    let [name, file, package] = attributes(element, [b"name", b"file", b"package"])
                        .map_err(|message| self.here_malformed(message))?;
                    let file = non_empty(file);
                    let label = non_empty(name)
                        .or_else(|| file.clone())
                        .or_else(|| non_empty(package));
                    let named = label.is_some();
                    if let Some(label) = label {
                        if self.suite_bytes + label.len() > MAX_SUITE_PATH_BYTES {
                            return Err(
                                self.here_malformed("testsuite names add up to more than 1 MiB")
                            );
                        }
                        self.suite_bytes += label.len();
                        self.suites.push(label);
                    }
                    self.push(Kind::Suite { named }, local, file)?;
                }
            }
            b"testcase" => {
                let [name, classname, class, file, time] =
                    attributes(element, [b"name", b"classname", b"class", b"file", b"time"])
                        .map_err(|message| self.here_malformed(message))?;
                let duration = time.as_deref().and_then(parse_seconds);
                let classname = classname.or(class);
                self.case.begin(
                    name.as_deref(),
                    classname.as_deref(),
                    non_empty(file),
                    duration,
                );
                if empty {
                    sink(self.case.finish(&self.suites, &self.frames));
                } else {
                    self.case_open = true;
                    self.push(Kind::Case, local, None)?;
                }
            }
            b"properties" | b"system-out" | b"system-err" => {
                if !empty {
                    self.push(Kind::Content, local, None)?;
                    self.skip_content(None)?;
                }
            }
            _ => {
                if !empty {
                    self.push(Kind::Container, local, None)?;
                }
            }
        }
        if empty && self.frames.is_empty() {
            self.root = Root::Closed;
        }
        Ok(())
    }

    /// A direct child of the open testcase.
    fn case_child(
        &mut self,
        element: &BytesStart<'_>,
        local: &[u8],
        empty: bool,
    ) -> Result<(), ResultsErrorKind> {
        let Some(status) = Status::from_name(local) else {
            if !empty {
                self.push(Kind::Content, local, None)?;
                self.skip_content(None)?;
            }
            return Ok(());
        };
        let [message, kind] = attributes(element, [b"message", b"type"])
            .map_err(|message| self.here_malformed(message))?;
        let message = non_empty(message).map(bounded_message);
        let case = &mut self.case;
        match status {
            Status::FlakyFailure | Status::FlakyError => {
                case.flaky_count = case.flaky_count.saturating_add(1)
            }
            Status::RerunFailure | Status::RerunError => {
                case.rerun_count = case.rerun_count.saturating_add(1)
            }
            _ => {}
        }
        let first = case.slot(status).is_none();
        let mut message = message;
        if !empty {
            self.push(Kind::Content, local, None)?;
            if first && message.is_none() {
                let mut collector = Collector::default();
                self.skip_content(Some(&mut collector))?;
                message = collector.finish();
            } else {
                self.skip_content(None)?;
            }
        }
        if first {
            let xfail = kind.is_some_and(|kind| kind.to_ascii_lowercase().contains("xfail"));
            *self.case.slot(status) = Some(Detail {
                status,
                message,
                xfail,
            });
        }
        Ok(())
    }

    /// Reads the content of the element on top of the stack, up to its end tag.
    fn skip_content(&mut self, collect: Option<&mut Collector>) -> Result<(), ResultsErrorKind> {
        let frame = self.frames.last().expect("an element is open");
        let (name, at) = (frame.name.clone(), frame.at);
        self.reader
            .get_mut()
            .read_content(Open { name: &name, at }, collect)
    }

    fn end(&mut self, sink: &mut dyn FnMut(JunitCase<'_>)) {
        // quick-xml has checked that the end tag matches the open element.
        let Some(frame) = self.frames.pop() else {
            return;
        };
        self.open_name_bytes -= frame.name.len();
        match frame.kind {
            Kind::Case if std::mem::take(&mut self.case_open) => {
                sink(self.case.finish(&self.suites, &self.frames));
            }
            Kind::Suite { named: true } => {
                if let Some(label) = self.suites.pop() {
                    self.suite_bytes -= label.len();
                }
            }
            _ => {}
        }
        if self.frames.is_empty() {
            self.root = Root::Closed;
        }
    }

    fn eof(&mut self) -> Result<(), ResultsErrorKind> {
        let end = self.source().here();
        if let Some(frame) = self.frames.last() {
            return Err(truncated(
                end,
                Open {
                    name: &frame.name,
                    at: frame.at,
                },
                "",
            ));
        }
        if self.root == Root::NotSeen {
            return Err(malformed(
                end,
                "no <testsuites> or <testsuite> element: the file is empty or not a JUnit XML report",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor};

    use proptest::prelude::*;

    use super::*;
    use crate::results::adapter::testing::{collect_partial, points_into};

    /// A reader that hands out one byte per call, so that every token crosses a window edge.
    struct Trickle<'b>(&'b [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((first, rest)), Some(slot)) => {
                    *slot = *first;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn read_with(input: &mut dyn BufRead) -> Result<Vec<TestCase>, ResultsErrorKind> {
        let mut tests = Vec::new();
        Junit
            .read(input, &mut |test| tests.push(test))
            .map(|()| tests)
    }

    fn describe(result: &Result<Vec<TestCase>, ResultsErrorKind>) -> String {
        match result {
            Ok(tests) => format!("{tests:?}"),
            Err(error) => format!("{error:?}"),
        }
    }

    /// Parses `bytes` whole and one byte at a time, which must agree (errors included).
    fn parse_bytes(bytes: &[u8]) -> Result<Vec<TestCase>, ResultsErrorKind> {
        let whole = read_with(&mut Cursor::new(bytes));
        let trickled = read_with(&mut BufReader::with_capacity(1, Trickle(bytes)));
        assert_eq!(
            describe(&whole),
            describe(&trickled),
            "one byte at a time reads differently"
        );
        whole
    }

    fn parse(xml: &str) -> Vec<TestCase> {
        parse_bytes(xml.as_bytes()).unwrap_or_else(|error| panic!("{error}\n{xml}"))
    }

    fn error(xml: impl AsRef<[u8]>) -> (usize, usize, String) {
        match parse_bytes(xml.as_ref()) {
            Err(ResultsErrorKind::Malformed {
                line,
                column,
                message,
            }) => (line, column, message),
            other => panic!("expected a malformed error, got {}", describe(&other)),
        }
    }

    fn outcomes(tests: &[TestCase]) -> Vec<(&str, Outcome, &str, u32)> {
        tests
            .iter()
            .map(|test| {
                (
                    test.name.as_str(),
                    test.outcome,
                    test.raw_status.as_str(),
                    test.attempts,
                )
            })
            .collect()
    }

    fn by_name<'t>(tests: &'t [TestCase], name: &str) -> &'t TestCase {
        tests
            .iter()
            .find(|test| test.name == name)
            .unwrap_or_else(|| panic!("no test {name}"))
    }

    // ---- sniff

    #[test]
    fn sniffs_junit_after_bom_declaration_and_comments() {
        for head in [
            &b"<testsuites>"[..],
            b"<testsuite name=\"x\">",
            b"<testsuites/>",
            b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- generated -->\n  <testsuite\n name=\"x\">",
            b"<?xml version=\"1.0\"?><?xml-stylesheet href=\"a\"?><!-- a --><!-- b --><testsuites",
        ] {
            assert!(Junit.sniff(head), "{}", String::from_utf8_lossy(head));
        }
        for head in [
            &b""[..],
            b"{\"results\":{}}",
            b"TAP version 14\n",
            b"<testsuitesx>",
            b"<test>",
            b"<html><testsuites>",
            b"<!-- never closed <testsuites>",
            b"<?xml version=\"1.0\"",
            b"text <testsuites>",
            b"<!DOCTYPE x><testsuites>",
        ] {
            assert!(!Junit.sniff(head), "{}", String::from_utf8_lossy(head));
        }
    }

    // ---- dialects

    #[test]
    fn jenkins_ant() {
        let tests = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.CalcTest" tests="4" failures="1" errors="1" skipped="1" time="1.5" hostname="ci">
  <properties><property name="java.version" value="21"/></properties>
  <testcase name="adds" classname="com.example.CalcTest" time="0.012"/>
  <testcase name="divides" classname="com.example.CalcTest" time="0.5">
    <failure message="expected:&lt;2&gt; but was:&lt;3&gt;" type="junit.framework.AssertionFailedError">at CalcTest.divides(CalcTest.java:12)</failure>
    <system-out>dividing...</system-out>
  </testcase>
  <testcase name="crashes" classname="com.example.CalcTest" time="0.001">
    <error type="java.lang.NullPointerException">java.lang.NullPointerException
	at CalcTest.crashes(CalcTest.java:20)</error>
  </testcase>
  <testcase name="later" classname="com.example.CalcTest"><skipped/></testcase>
  <system-out><![CDATA[suite output]]></system-out>
  <system-err/>
</testsuite>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("adds", Outcome::Pass, "passed", 1),
                ("divides", Outcome::Fail, "failure", 1),
                ("crashes", Outcome::Error, "error", 1),
                ("later", Outcome::Skip, "skipped", 1),
            ]
        );
        let divides = by_name(&tests, "divides");
        assert_eq!(divides.message.as_deref(), Some("expected:<2> but was:<3>"));
        assert_eq!(divides.duration_secs, Some(0.5));
        assert_eq!(divides.suite, ["com.example.CalcTest"]);
        assert_eq!(divides.classname.as_deref(), Some("com.example.CalcTest"));
        let crashes = by_name(&tests, "crashes");
        assert_eq!(
            crashes.message.as_deref(),
            Some("java.lang.NullPointerException\n\tat CalcTest.crashes(CalcTest.java:20)")
        );
        assert_eq!(by_name(&tests, "later").duration_secs, None);
        assert_eq!(by_name(&tests, "later").message, None);
    }

    #[test]
    fn surefire_flaky_and_rerun() {
        // Surefire's counters include the flaky attempts; they are ignored.
        let tests = parse(
            r#"<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.FlakyTest" time="3" tests="3" errors="2" skipped="0" failures="4">
  <testcase name="flaky" classname="com.example.FlakyTest" time="0.2">
    <flakyFailure message="first try" type="java.lang.AssertionError">
      <stackTrace>java.lang.AssertionError: first try</stackTrace>
      <system-out>attempt 1</system-out>
    </flakyFailure>
    <flakyFailure message="second try" type="java.lang.AssertionError">
      <stackTrace><![CDATA[java.lang.AssertionError: second try]]></stackTrace>
    </flakyFailure>
    <system-out>attempt 3 passed</system-out>
  </testcase>
  <testcase name="flakyError" classname="com.example.FlakyTest" time="0.1">
    <flakyError type="java.io.IOException"><stackTrace>java.io.IOException</stackTrace></flakyError>
  </testcase>
  <testcase name="broken" classname="com.example.FlakyTest" time="0.3">
    <failure message="always" type="java.lang.AssertionError">trace 1</failure>
    <rerunFailure message="always" type="java.lang.AssertionError"><stackTrace>trace 2</stackTrace></rerunFailure>
    <rerunFailure message="always" type="java.lang.AssertionError"><stackTrace>trace 3</stackTrace></rerunFailure>
  </testcase>
  <testcase name="brokenError" classname="com.example.FlakyTest">
    <error message="boom" type="java.lang.IllegalStateException">trace</error>
    <rerunError message="boom again" type="java.lang.IllegalStateException"/>
  </testcase>
</testsuite>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("flaky", Outcome::FlakyPass, "flakyFailure", 3),
                ("flakyError", Outcome::FlakyPass, "flakyError", 2),
                ("broken", Outcome::Fail, "failure", 3),
                ("brokenError", Outcome::Error, "error", 2),
            ]
        );
        assert_eq!(
            by_name(&tests, "flaky").message.as_deref(),
            Some("first try")
        );
        // No message attribute: the element's own text, not its <stackTrace>'s.
        assert_eq!(by_name(&tests, "flakyError").message, None);
        assert_eq!(by_name(&tests, "broken").message.as_deref(), Some("always"));
        assert_eq!(
            by_name(&tests, "brokenError").message.as_deref(),
            Some("boom")
        );
    }

    #[test]
    fn rerun_elements_alone_are_a_flaky_pass() {
        let tests = parse(
            r#"<testsuite name="s"><testcase name="t"><rerunFailure message="once"/></testcase></testsuite>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [("t", Outcome::FlakyPass, "rerunFailure", 2)]
        );
        assert_eq!(tests[0].message.as_deref(), Some("once"));
    }

    #[test]
    fn pytest_xunit2() {
        let tests = parse(
            r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
  <testsuite name="pytest" errors="3" failures="1" skipped="2" tests="7" time="0.5" timestamp="2025-01-01T00:00:00" hostname="h">
    <testcase classname="tests.test_db" name="test_setup_fails" time="0.001">
      <error message="failed on setup with &quot;RuntimeError: no db&quot;">@pytest.fixture
def db():
&gt;   raise RuntimeError("no db")
E   RuntimeError: no db</error>
    </testcase>
    <testcase classname="tests.test_db" name="test_teardown_fails" time="0.002">
      <error message="failed on teardown with &quot;OSError: busy&quot;">teardown trace</error>
    </testcase>
    <testcase classname="tests.test_db" name="test_call_and_teardown" time="0.003">
      <failure message="assert 1 == 2">def test_call_and_teardown(db):
&gt;   assert 1 == 2
E   assert 1 == 2</failure>
      <error message="failed on teardown with &quot;OSError: busy&quot;">teardown trace</error>
    </testcase>
    <testcase classname="tests.test_db" name="test_expected" time="0.000">
      <skipped type="pytest.xfail" message="known bug #12"/>
    </testcase>
    <testcase classname="tests.test_db" name="test_skipped" time="0.000">
      <skipped type="pytest.skip" message="no network">tests/test_db.py:30: no network</skipped>
    </testcase>
    <testcase classname="tests.test_db" name="test_param[a-1]" time="0.000">
      <properties><property name="owner" value="db-team"/></properties>
    </testcase>
    <testcase classname="tests.test_db" name="test_xpass_strict" time="0.000">
      <failure message="[XPASS(strict)] known bug"/>
    </testcase>
  </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("test_setup_fails", Outcome::Error, "error", 1),
                ("test_teardown_fails", Outcome::Error, "error", 1),
                ("test_call_and_teardown", Outcome::Fail, "failure", 1),
                ("test_expected", Outcome::Xfail, "skipped", 1),
                ("test_skipped", Outcome::Skip, "skipped", 1),
                ("test_param[a-1]", Outcome::Pass, "passed", 1),
                ("test_xpass_strict", Outcome::Fail, "failure", 1),
            ]
        );
        assert_eq!(
            by_name(&tests, "test_setup_fails").message.as_deref(),
            Some("failed on setup with \"RuntimeError: no db\"")
        );
        assert_eq!(
            by_name(&tests, "test_call_and_teardown").message.as_deref(),
            Some("assert 1 == 2")
        );
        assert_eq!(
            by_name(&tests, "test_expected").message.as_deref(),
            Some("known bug #12")
        );
        // <testsuites name="pytest tests"> is the tool's name, not a suite.
        assert!(tests.iter().all(|test| test.suite == ["pytest"]));
        assert!(tests.iter().all(|test| test.variant.is_none()));
    }

    #[test]
    fn pytest_xunit1_and_unittest_xfail_spellings() {
        let tests = parse(
            r#"<testsuite name="pytest" tests="3">
  <testcase classname="tests.test_a" name="test_one" file="tests/test_a.py" line="3" time="0.1"/>
  <testcase classname="tests.test_a" name="test_two" file="tests/test_a.py" line="7" time="0.1">
    <skipped type="XFAIL" message="expected failure"/>
  </testcase>
  <testcase classname="tests.test_a" name="test_three" file="tests/test_a.py" line="9" time="0.1">
    <skipped type="Pytest.XFail"/>
  </testcase>
</testsuite>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("test_one", Outcome::Pass, "passed", 1),
                ("test_two", Outcome::Xfail, "skipped", 1),
                ("test_three", Outcome::Xfail, "skipped", 1),
            ]
        );
        assert_eq!(tests[0].file.as_deref(), Some("tests/test_a.py"));
    }

    #[test]
    fn nextest_quick_junit() {
        let tests = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3" failures="1" errors="0" uuid="0b6c9d7e" timestamp="2025-01-01T00:00:00.000+00:00" time="1.2">
    <testsuite name="fixture-crate" tests="3" disabled="0" errors="0" failures="1">
        <testcase name="tests::passes" classname="fixture-crate" timestamp="2025-01-01T00:00:00.000+00:00" time="0.004">
        </testcase>
        <testcase name="tests::flaky" classname="fixture-crate" timestamp="2025-01-01T00:00:00.000+00:00" time="0.010">
            <flakyFailure timestamp="2025-01-01T00:00:00.000+00:00" time="0.003" type="test failure">thread 'tests::flaky' panicked at src/lib.rs:9:9:
not yet
                <system-out></system-out>
                <system-err>thread 'tests::flaky' panicked</system-err>
            </flakyFailure>
        </testcase>
        <testcase name="tests::fails" classname="fixture-crate" timestamp="2025-01-01T00:00:00.000+00:00" time="0.020">
            <failure type="test failure">thread 'tests::fails' panicked at src/lib.rs:14:9:
assertion `left == right` failed</failure>
            <rerunFailure timestamp="2025-01-01T00:00:00.000+00:00" time="0.004" type="test failure">again</rerunFailure>
            <system-out></system-out>
            <system-err>thread 'tests::fails' panicked at src/lib.rs:14:9</system-err>
        </testcase>
    </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("tests::passes", Outcome::Pass, "passed", 1),
                ("tests::flaky", Outcome::FlakyPass, "flakyFailure", 2),
                ("tests::fails", Outcome::Fail, "failure", 2),
            ]
        );
        assert_eq!(
            by_name(&tests, "tests::flaky").message.as_deref(),
            Some("thread 'tests::flaky' panicked at src/lib.rs:9:9:\nnot yet")
        );
        assert_eq!(
            by_name(&tests, "tests::fails").message.as_deref(),
            Some(
                "thread 'tests::fails' panicked at src/lib.rs:14:9:\nassertion `left == right` failed"
            )
        );
        assert!(tests.iter().all(|test| test.suite == ["fixture-crate"]));
    }

    #[test]
    fn go_junit_report_and_gotestsum() {
        let tests = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" failures="2" errors="1" skipped="1">
	<testsuite name="example.com/pkg" tests="3" failures="1" errors="0" id="0" hostname="h" skipped="1" time="0.010" timestamp="2025-01-01T00:00:00Z">
		<properties>
			<property name="go.version" value="go1.22.0 linux/amd64"></property>
		</properties>
		<testcase name="TestAdd" classname="example.com/pkg" time="0.000"></testcase>
		<testcase name="TestSub" classname="example.com/pkg" time="0.001">
			<failure message="Failed"><![CDATA[    pkg_test.go:12: got 1, want 2]]></failure>
		</testcase>
		<testcase name="TestSkip" classname="example.com/pkg" time="0.000">
			<skipped message="pkg_test.go:20: not on linux"></skipped>
		</testcase>
	</testsuite>
	<testsuite name="example.com/broken" tests="1" failures="0" errors="1" id="1" hostname="h" time="0.000" timestamp="2025-01-01T00:00:00Z">
		<testcase name="[build failed]" classname="example.com/broken" time="0.000">
			<error message="Build error"><![CDATA[broken/x.go:3:1: syntax error]]></error>
		</testcase>
	</testsuite>
	<testsuite tests="1" failures="1" time="0.000000" name="example.com/timeout" timestamp="2025-01-01T00:00:00Z">
		<properties><property name="go.version" value="go1.22.0"></property></properties>
		<testcase classname="example.com/timeout" name="TestMain" time="0.000000">
			<failure message="Failed" type="">panic: test timed out after 10m0s</failure>
		</testcase>
	</testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("TestAdd", Outcome::Pass, "passed", 1),
                ("TestSub", Outcome::Fail, "failure", 1),
                ("TestSkip", Outcome::Skip, "skipped", 1),
                ("[build failed]", Outcome::Error, "error", 1),
                ("TestMain", Outcome::Fail, "failure", 1),
            ]
        );
        assert_eq!(
            by_name(&tests, "TestSkip").message.as_deref(),
            Some("pkg_test.go:20: not on linux")
        );
        assert_eq!(
            by_name(&tests, "[build failed]").suite,
            ["example.com/broken"]
        );
        assert_eq!(by_name(&tests, "TestMain").duration_secs, Some(0.0));
    }

    #[test]
    fn ginkgo_v2() {
        let tests = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
  <testsuites tests="4" disabled="1" errors="1" failures="1" time="0.05">
      <testsuite name="Books Suite" package="/home/u/books" tests="4" disabled="1" skipped="0" errors="1" failures="1" time="0.05" timestamp="2025-01-01T00:00:00">
          <properties>
              <property name="SuiteSucceeded" value="false"></property>
              <property name="SpecialSuiteFailureReason" value=""></property>
          </properties>
          <testcase name="[BeforeSuite]" classname="Books Suite" status="passed" time="0.001"></testcase>
          <testcase name="[It] Books can be loaded [fast]" classname="Books Suite" status="failed" time="0.01">
              <failure message="Expected &lt;int&gt;: 1 to equal &lt;int&gt;: 2" type="failed">[FAILED] Expected
      &lt;int&gt;: 1
  to equal
      &lt;int&gt;: 2
  In [It] at: /home/u/books/books_test.go:20</failure>
              <system-err>&gt; Enter [It] Books can be loaded</system-err>
          </testcase>
          <testcase name="[It] Books panics" classname="Books Suite" status="panicked" time="0.001">
              <error message="runtime error: index out of range" type="panicked">[PANICKED] Test Panicked</error>
          </testcase>
          <testcase name="[It] Books pending" classname="Books Suite" status="pending" time="0">
              <skipped message="pending"></skipped>
          </testcase>
      </testsuite>
  </testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("[BeforeSuite]", Outcome::Pass, "passed", 1),
                (
                    "[It] Books can be loaded [fast]",
                    Outcome::Fail,
                    "failure",
                    1
                ),
                ("[It] Books panics", Outcome::Error, "error", 1),
                ("[It] Books pending", Outcome::Skip, "skipped", 1),
            ]
        );
        assert_eq!(
            tests[1].message.as_deref(),
            Some("Expected <int>: 1 to equal <int>: 2")
        );
        assert!(tests.iter().all(|test| test.suite == ["Books Suite"]));
    }

    #[test]
    fn jest_karma_mocha() {
        let jest = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.2">
  <testsuite name="calc" errors="0" failures="1" skipped="1" timestamp="2025-01-01T00:00:00" time="0.5" tests="3">
    <testcase classname="calc adds" name="calc adds" time="0.002">
    </testcase>
    <testcase classname="calc divides" name="calc divides" time="0.003">
      <failure><![CDATA[Error: expect(received).toBe(expected)

Expected: 2
Received: 3]]></failure>
    </testcase>
    <testcase classname="calc later" name="calc later" time="0">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&jest),
            [
                ("calc adds", Outcome::Pass, "passed", 1),
                ("calc divides", Outcome::Fail, "failure", 1),
                ("calc later", Outcome::Skip, "skipped", 1),
            ]
        );
        assert_eq!(
            jest[1].message.as_deref(),
            Some("Error: expect(received).toBe(expected)\n\nExpected: 2\nReceived: 3")
        );

        let karma = parse(
            r#"<?xml version="1.0"?>
<testsuite name="Chrome Headless 120.0 (Linux x86_64)" package="" timestamp="2025-01-01T00:00:00" id="0" hostname="h" tests="2" errors="0" failures="1" time="0.02">
  <properties>
    <property name="browser.fullName" value="Mozilla/5.0 (X11; Linux x86_64)"/>
  </properties>
  <testcase name="App should create" time="0.01" classname="Chrome_Headless_120.0_(Linux_x86_64).App"/>
  <testcase name="App should render title" time="0.01" classname="Chrome_Headless_120.0_(Linux_x86_64).App">
    <failure type="">Expected 'a' to equal 'b'.
    at &lt;Jasmine&gt;</failure>
  </testcase>
  <system-out>
    <![CDATA[LOG: 'hello <testcase name="fake"/>'
]]>
  </system-out>
  <system-err/>
</testsuite>"#,
        );
        assert_eq!(
            outcomes(&karma),
            [
                ("App should create", Outcome::Pass, "passed", 1),
                ("App should render title", Outcome::Fail, "failure", 1),
            ]
        );
        assert_eq!(
            karma[1].message.as_deref(),
            Some("Expected 'a' to equal 'b'.\n    at <Jasmine>")
        );

        let mocha = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="Mocha Tests" time="0.01" tests="2" failures="1">
  <testsuite name="Root Suite" timestamp="2025-01-01T00:00:00" tests="0" file="test/a.spec.js" time="0.000" failures="0">
  </testsuite>
  <testsuite name="Array #indexOf()" timestamp="2025-01-01T00:00:00" tests="2" file="test/a.spec.js" time="0.01" failures="1">
    <testcase name="Array #indexOf() returns -1" time="0.001" classname="returns -1">
    </testcase>
    <testcase name="Array #indexOf() finds" time="0.002" classname="finds">
      <failure message="expected -1 to equal 0" type="AssertionError"><![CDATA[AssertionError: expected -1 to equal 0
    at Context.<anonymous> (test/a.spec.js:9:14)]]></failure>
    </testcase>
  </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&mocha),
            [
                ("Array #indexOf() returns -1", Outcome::Pass, "passed", 1),
                ("Array #indexOf() finds", Outcome::Fail, "failure", 1),
            ]
        );
        assert_eq!(mocha[1].message.as_deref(), Some("expected -1 to equal 0"));
        // The suite's file is inherited.
        assert_eq!(mocha[1].file.as_deref(), Some("test/a.spec.js"));
    }

    #[test]
    fn phpunit_nested_suites() {
        let tests = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="/app/phpunit.xml" tests="3" assertions="3" errors="0" failures="1" skipped="0" time="0.1">
    <testsuite name="Unit" tests="3" assertions="3" errors="0" failures="1" skipped="0" time="0.1">
      <testsuite name="App\Tests\MathTest" file="/app/tests/MathTest.php" tests="3" assertions="3" errors="0" failures="1" skipped="0" time="0.1">
        <testcase name="testAdd" file="/app/tests/MathTest.php" line="10" class="App\Tests\MathTest" classname="App.Tests.MathTest" assertions="1" time="0.01"/>
        <testsuite name="App\Tests\MathTest::testDivide" tests="2" assertions="2" errors="0" failures="1" skipped="0" time="0.02">
          <testcase name="testDivide with data set #0" class="App\Tests\MathTest" assertions="1" time="0.01"/>
          <testcase name="testDivide with data set #1" class="App\Tests\MathTest" assertions="1" time="0.01">
            <failure type="PHPUnit\Framework\ExpectationFailedException">App\Tests\MathTest::testDivide with data set #1
Failed asserting that 2 is identical to 3.

/app/tests/MathTest.php:22</failure>
          </testcase>
        </testsuite>
      </testsuite>
    </testsuite>
    <testsuite file="/app/tests/Nameless.php">
      <testcase name="nameless"/>
    </testsuite>
    <testsuite>
      <testcase name="bare"/>
    </testsuite>
  </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("testAdd", Outcome::Pass, "passed", 1),
                ("testDivide with data set #0", Outcome::Pass, "passed", 1),
                ("testDivide with data set #1", Outcome::Fail, "failure", 1),
                ("nameless", Outcome::Pass, "passed", 1),
                ("bare", Outcome::Pass, "passed", 1),
            ]
        );
        assert_eq!(
            tests[0].suite,
            ["/app/phpunit.xml", "Unit", "App\\Tests\\MathTest"]
        );
        assert_eq!(tests[0].classname.as_deref(), Some("App.Tests.MathTest"));
        assert_eq!(
            tests[1].suite,
            [
                "/app/phpunit.xml",
                "Unit",
                "App\\Tests\\MathTest",
                "App\\Tests\\MathTest::testDivide"
            ]
        );
        // classname falls back to `class`; file to the nearest suite's.
        assert_eq!(tests[1].classname.as_deref(), Some("App\\Tests\\MathTest"));
        assert_eq!(tests[1].file.as_deref(), Some("/app/tests/MathTest.php"));
        // A nameless suite is named by its file, or contributes nothing.
        assert_eq!(
            tests[3].suite,
            ["/app/phpunit.xml", "/app/tests/Nameless.php"]
        );
        assert_eq!(tests[4].suite, ["/app/phpunit.xml"]);
    }

    #[test]
    fn catch2_and_cunit() {
        let catch2 = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="tests" errors="0" failures="1" skipped="1" tests="3" hostname="tbd" time="0.002" timestamp="2025-01-01T00:00:00Z">
    <properties>
      <property name="random-seed" value="4021431869"/>
    </properties>
    <testcase classname="tests.global" name="Factorials are computed" time="0.001" status="run">
      <failure message="Factorial(0) == 1" type="REQUIRE">
FAILED:
  REQUIRE( Factorial(0) == 1 )
with expansion:
  0 == 1
at test.cpp:13
      </failure>
    </testcase>
    <testcase classname="tests.global" name="Vectors/resizing bigger" time="0" status="run"/>
    <testcase classname="tests.global" name="Skipped" time="0" status="run">
      <skipped message="SKIP(&quot;not today&quot;)" type="SKIP">at test.cpp:30</skipped>
    </testcase>
    <system-out/>
    <system-err/>
  </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&catch2),
            [
                ("Factorials are computed", Outcome::Fail, "failure", 1),
                ("Vectors/resizing bigger", Outcome::Pass, "passed", 1),
                ("Skipped", Outcome::Skip, "skipped", 1),
            ]
        );
        assert_eq!(catch2[2].message.as_deref(), Some("SKIP(\"not today\")"));

        let cunit = parse(
            r#"<?xml version="1.0" ?>
<testsuites>
  <testsuite errors="0" failures="1" tests="2" name="Suite_1">
    <testcase classname="Suite_1" name="test_of_fprintf" time="0"/>
    <testcase classname="Suite_1" name="test_of_fread" time="0">
      <failure message="CU_ASSERT_EQUAL(9,fread(buffer, sizeof(unsigned char), 20, temp_file))" type="Failure">
        Condition: CU_ASSERT_EQUAL(9,fread(buffer, sizeof(unsigned char), 20, temp_file))
        File     : basic.c
        Line     : 85
      </failure>
    </testcase>
  </testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&cunit),
            [
                ("test_of_fprintf", Outcome::Pass, "passed", 1),
                ("test_of_fread", Outcome::Fail, "failure", 1),
            ]
        );
    }

    // ---- what decides the status

    #[test]
    fn only_direct_children_decide() {
        let tests = parse(
            r#"<testsuites><testsuite name="s">
  <testcase name="nested-in-custom">
    <custom-report><failure message="not mine"/><error>nor this</error></custom-report>
  </testcase>
  <testcase name="nested-in-output">
    <system-out>log <failure message="printed"/> &lt;failure/&gt; <![CDATA[<error/>]]></system-out>
  </testcase>
  <testcase name="unknown-children">
    <properties><property name="a" value="b"/></properties>
    <attachments><attachment>file.png</attachment></attachments>
    <testcase name="inner"><failure/></testcase>
    text between
  </testcase>
  <testcase name="with-everything">
    <system-out>x</system-out>
    <skipped message="later"/>
    <error message="error wins over skipped"/>
    <failure message="failure wins over error"/>
  </testcase>
</testsuite></testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("nested-in-custom", Outcome::Pass, "passed", 1),
                ("nested-in-output", Outcome::Pass, "passed", 1),
                ("unknown-children", Outcome::Pass, "passed", 1),
                ("with-everything", Outcome::Fail, "failure", 1),
            ]
        );
        assert_eq!(tests[3].message.as_deref(), Some("failure wins over error"));
    }

    #[test]
    fn testcases_outside_suites_and_inside_wrappers() {
        let tests = parse(
            r#"<testsuites>
  <testcase name="top"/>
  <testsuite name="s"><group><testcase name="wrapped"><failure/></testcase></group></testsuite>
</testsuites>"#,
        );
        assert_eq!(
            outcomes(&tests),
            [
                ("top", Outcome::Pass, "passed", 1),
                ("wrapped", Outcome::Fail, "failure", 1)
            ]
        );
        assert!(tests[0].suite.is_empty());
        assert_eq!(tests[1].suite, ["s"]);
        assert_eq!(tests[1].message, None);
    }

    #[test]
    fn only_references_to_characters_xml_allows_are_decoded() {
        let decoded = |name: &str| decode_reference(name.as_bytes());
        assert_eq!(decoded("#65"), Some('A'));
        assert_eq!(decoded("#x41"), Some('A'));
        assert_eq!(decoded("#x1F600"), Some('😀'));
        assert_eq!(decoded("#9"), Some('\t'));
        // A sign, no digit, a digit of another base, or a character XML forbids (NUL, other
        // control characters, a surrogate, U+FFFF, beyond U+10FFFF): kept as written.
        for kept in [
            "#x+41",
            "#+65",
            "#-65",
            "#",
            "#x",
            "#x4G",
            "#6a",
            "#0",
            "#x0",
            "#1",
            "#x1F",
            "#xD800",
            "#xFFFF",
            "#x110000",
            "#99999999999",
        ] {
            assert_eq!(decoded(kept), None, "&{kept};");
        }
        let tests = parse(
            r#"<testsuite><testcase name="a&#x+41;b&#0;c&#65;"><failure message="&#x0;&#x42;"/></testcase></testsuite>"#,
        );
        assert_eq!(tests[0].name, "a&#x+41;b&#0;cA");
        assert_eq!(tests[0].message.as_deref(), Some("&#x0;B"));
    }

    #[test]
    fn messages_from_cdata_entities_and_self_closing_elements() {
        let tests = parse(
            "<testsuite name=\"s\">\
<testcase name=\"cdata\"><failure><![CDATA[a < b && c]]> then &lt;d&gt; &#65;&#x42; &unknown; &amp</failure></testcase>\
<testcase name=\"attribute\"><failure message=\"x &lt; y &amp;&amp; &quot;q&quot; &apos;s&apos; &#10;next&#x9;tab &custom; line\nbreak\"/></testcase>\
<testcase name=\"empty-message\"><failure message=\"\">the text</failure></testcase>\
<testcase name=\"self-closing\"><failure message=\"expected true\"/></testcase>\
<testcase name=\"nothing\"><failure/></testcase>\
<testcase name=\"whitespace\"><failure>   \n  </failure></testcase>\
<testcase name=\"split cdata\"><failure>one <![CDATA[two]]> <!-- no --> three<?pi x?></failure></testcase>\
</testsuite>",
        );
        let message = |name: &str| by_name(&tests, name).message.clone();
        assert_eq!(
            message("cdata").as_deref(),
            Some("a < b && c then <d> AB &unknown; &amp")
        );
        assert_eq!(
            message("attribute").as_deref(),
            Some("x < y && \"q\" 's' \nnext\ttab &custom; line break")
        );
        assert_eq!(message("empty-message").as_deref(), Some("the text"));
        assert_eq!(message("self-closing").as_deref(), Some("expected true"));
        assert_eq!(message("nothing"), None);
        assert_eq!(message("whitespace"), None);
        assert_eq!(message("split cdata").as_deref(), Some("one two  three"));
        assert!(tests.iter().all(|test| test.outcome == Outcome::Fail));
    }

    #[test]
    fn entity_escaped_identity_attributes() {
        let tests = parse(
            r#"<testsuite name="a &amp; b"><testcase name="x &lt;y&gt;" classname="C&#246;de" file="d&quot;e"/></testsuite>"#,
        );
        assert_eq!(tests[0].name, "x <y>");
        assert_eq!(tests[0].classname.as_deref(), Some("Cöde"));
        assert_eq!(tests[0].file.as_deref(), Some("d\"e"));
        assert_eq!(tests[0].suite, ["a & b"]);
    }

    proptest::proptest! {
        #[test]
        fn the_decoding_scan_finds_ampersands_and_control_characters(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    12 => 0x20u8..0x80,
                    1 => proptest::strategy::Just(b'&'),
                    1 => 0x1fu8..0x21,
                    1 => proptest::num::u8::ANY,
                ],
                0..24,
            )
        ) {
            let expected = bytes.iter().any(|byte| *byte == b'&' || *byte < b' ');
            proptest::prop_assert_eq!(needs_decoding(&bytes), expected);
        }
    }

    /// quick-xml's attribute iterator, as `attributes` used it before scanning by itself.
    fn attributes_by_quick_xml<const N: usize>(
        element: &BytesStart<'_>,
        keys: [&[u8]; N],
    ) -> Result<[Option<String>; N], String> {
        let mut values = [const { None }; N];
        let mut attributes = element.attributes();
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|error| {
                format!(
                    "a malformed attribute in <{}>: {error}",
                    element.name().as_ref()
                )
            })?;
            let key = attribute.key.local_name();
            if let Some(index) = keys
                .iter()
                .position(|wanted| *wanted == key.as_ref().as_bytes())
                && values[index].is_none()
            {
                values[index] = Some(attribute_value(attribute.value).into_owned());
            }
        }
        Ok(values)
    }

    proptest::proptest! {
        /// Whatever follows a tag's name, the scan finds the same values as quick-xml's
        /// iterator, or fails with the same error at the same position.
        #[test]
        fn attributes_are_scanned_as_quick_xml_reads_them(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                " ", "  ", "\t", "\n", "\r", "=", " = ", "\"", "'", "name", "time", "ns:name",
                ":", "x", "é", "&amp;", "&", "\"v\"", "'w'", "name=\"a b\"", "time='1.5'",
                "<", ">", "/",
            ]), 0..10)
        ) {
            let tag = format!("testcase{}", pieces.concat());
            let element = BytesStart::from_content(tag.as_str(), "testcase".len());
            let keys: [&[u8]; 3] = [b"name", b"time", b"x"];
            let scanned = attributes(&element, keys)
                .map(|values| values.map(|value| value.map(Cow::into_owned)));
            proptest::prop_assert_eq!(scanned, attributes_by_quick_xml(&element, keys), "{:?}", tag);
        }
    }

    /// The reader reuses one testcase's buffers for the next: nothing of a testcase may leak
    /// into the one after it, through either way of reading.
    #[test]
    fn a_testcase_inherits_nothing_from_the_one_before() {
        let xml = r#"<testsuites><testsuite name="s" file="s.py">
            <testcase name="first" classname="C" file="f.py" time="2.5">
              <failure message="boom"/><flakyFailure/><rerunFailure/>
            </testcase>
            <testcase name="second"/>
            <testcase classname="" time="x"><skipped/></testcase>
          </testsuite></testsuites>"#;
        let tests = parse(xml);
        assert_eq!(tests.len(), 3);
        assert_eq!(
            (
                tests[0].outcome,
                tests[0].attempts,
                tests[0].message.as_deref()
            ),
            (Outcome::Fail, 3, Some("boom"))
        );
        let second = &tests[1];
        assert_eq!(second.name, "second");
        assert_eq!(second.outcome, Outcome::Pass);
        assert_eq!(second.raw_status, "passed");
        assert_eq!((second.attempts, second.message.as_deref()), (1, None));
        assert_eq!(second.classname, None);
        assert_eq!(second.file.as_deref(), Some("s.py"));
        assert_eq!(second.duration_secs, None);
        let third = &tests[2];
        assert_eq!((third.name.as_str(), third.outcome), ("", Outcome::Skip));
        assert_eq!(third.classname.as_deref(), Some(""));

        let mut borrowed = Vec::new();
        Junit
            .read_borrowed(&mut xml.as_bytes(), &mut |case| {
                borrowed.push(case.into_test_case())
            })
            .unwrap();
        assert_eq!(borrowed, tests);
    }

    #[test]
    fn a_lone_ampersand_before_multibyte_text() {
        // Found by the round trip: looking for `;` after `&` must not cut a character.
        assert_eq!(attribute_value("&amp; P&lt;é".into()), "& P<é");
        assert_eq!(attribute_value("a & éééééé; b".into()), "a & éééééé; b");
        let tests = parse(
            "<testsuite><testcase name=\"&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};\"><failure>&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};</failure></testcase></testsuite>",
        );
        assert_eq!(tests[0].name, "&éééééé;");
        assert_eq!(tests[0].message.as_deref(), Some("&ééééé;"));
    }

    #[test]
    fn messages_are_bounded() {
        let long = "y".repeat(3 * MAX_MESSAGE_BYTES);
        let xml = format!(
            "<testsuite><testcase name=\"text\"><failure>{long}</failure></testcase>\
             <testcase name=\"cdata\"><failure><![CDATA[{long}]]></failure></testcase>\
             <testcase name=\"attr\"><failure message=\"{long}\"/></testcase></testsuite>"
        );
        let tests = parse(&xml);
        for test in &tests {
            let message = test.message.as_deref().unwrap();
            assert!(message.len() < MAX_MESSAGE_BYTES + 40, "{}", test.name);
            assert!(
                message.ends_with(&format!("… [{} more bytes cut]", 2 * MAX_MESSAGE_BYTES)),
                "{}: {}",
                test.name,
                &message[message.len() - 40..]
            );
        }
    }

    #[test]
    fn durations() {
        for (raw, seconds) in [
            ("1.5", Some(1.5)),
            (" 0.25 ", Some(0.25)),
            ("3", Some(3.0)),
            ("1e-3", Some(0.001)),
            ("1,234.5", Some(1234.5)),
            ("12,345,678", Some(12_345_678.0)),
            ("1,5", None),
            ("1,2345.0", None),
            (",123", None),
            ("", None),
            ("abc", None),
            ("NaN", None),
            ("inf", None),
            ("-1", None),
        ] {
            assert_eq!(parse_seconds(raw), seconds, "{raw:?}");
        }
        let tests = parse(
            r#"<testsuite><testcase name="a" time="soon"/><testcase name="b" time="1,234.5"/></testsuite>"#,
        );
        assert_eq!(tests[0].duration_secs, None);
        assert_eq!(tests[1].duration_secs, Some(1234.5));
    }

    #[test]
    fn empty_reports() {
        for xml in [
            "<testsuites/>",
            "<testsuites></testsuites>",
            "<?xml version=\"1.0\"?>\n<testsuites>\n</testsuites>\n",
            "<testsuite/>",
            "<testsuite name=\"empty\" tests=\"0\"></testsuite>",
            "<testsuites name=\"jest tests\"><testsuite name=\"x\" tests=\"0\"/></testsuites>",
            "\u{FEFF}<testsuites/>",
            "<!-- before --><testsuites/><!-- after -->\n",
        ] {
            assert!(parse(xml).is_empty(), "{xml}");
        }
    }

    #[test]
    fn a_doctype_without_entities_is_ignored() {
        let tests = parse(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE testsuites SYSTEM \"junit.dtd\">\n<testsuites><testcase name=\"a\"/></testsuites>",
        );
        assert_eq!(tests.len(), 1);
    }

    #[test]
    fn billion_laughs_is_an_error_and_nothing_is_expanded() {
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
        for level in 1..10 {
            let previous = if level == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", level - 1)
            };
            xml.push_str(&format!(
                " <!ENTITY lol{level} \"{}\">\n",
                format!("&{previous};").repeat(10)
            ));
        }
        xml.push_str("]>\n<testsuites><testsuite name=\"&lol9;\"><testcase name=\"&lol9;\"><failure>&lol9;</failure></testcase></testsuite></testsuites>\n");
        // Refused at the declaration, before any entity could be expanded: nothing reaches the
        // sink.
        let (line, column, message) = error(&xml);
        assert_eq!((line, column), (2, 1));
        assert!(message.contains("declares entities"), "{message}");
        let (tests, _) = collect_partial(&Junit, xml.as_bytes());
        assert!(tests.is_empty(), "{tests:?}");

        // Without the DOCTYPE, references to entities nobody declared stay as written.
        let tests = parse(
            "<testsuites><testsuite name=\"&lol9;\"><testcase name=\"&lol9;\"><failure>&lol9;</failure></testcase></testsuite></testsuites>",
        );
        assert_eq!(tests[0].name, "&lol9;");
        assert_eq!(tests[0].suite, ["&lol9;"]);
        assert_eq!(tests[0].message.as_deref(), Some("&lol9;"));
    }

    // ---- malformed input, with positions

    #[test]
    fn malformed_inputs_name_line_and_column() {
        let cases: &[(&str, (usize, usize), &str)] = &[
            (
                "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\">\n    </testsuite>\n</testsuites>",
                (4, 5),
                "expected `</testcase>`, but `</testsuite>` was found",
            ),
            (
                "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\">\n      <system-out>lots of output",
                (4, 33),
                "the file ends inside <system-out> opened at line 4, column 7",
            ),
            (
                "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\"/>\n",
                (4, 1),
                "the file ends inside <testsuite> opened at line 2, column 3",
            ),
            (
                "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a",
                (3, 5),
                "not closed",
            ),
            (
                "<testsuites>\n<testcase name=\"é\" classname=\"ü\"><failure>x</failur></testcase>",
                (2, 44),
                "expected `</failure>`",
            ),
            (
                "<testsuites><testcase name=\"a\"><system-out>\n  <b><i>x</b></i></system-out></testcase></testsuites>",
                (2, 10),
                "mismatched end tag in <system-out>: expected </i>, found </b>",
            ),
            (
                "<testsuites><testcase name=\"a\"><system-out>\n  <![CDATA[ never closed",
                (2, 25),
                "the file ends inside a CDATA section in <system-out>",
            ),
            (
                "<testsuites><testcase name=\"a\"><system-out><!DOCTYPE x></system-out></testcase></testsuites>",
                (1, 44),
                "unexpected `<!`",
            ),
            ("<html><body/></html>", (1, 1), "the root element is <html>"),
            (
                "<testsuites/>\n<testsuites/>",
                (2, 1),
                "after the root element ended",
            ),
            (
                "<testsuites/>\ntrailing",
                (2, 1),
                "text outside the root element",
            ),
            ("{\"tests\": []}", (1, 1), "text outside the root element"),
            ("", (1, 1), "no <testsuites> or <testsuite> element"),
            ("  \n", (2, 1), "no <testsuites> or <testsuite> element"),
            (
                "<?xml version=\"1.0\"?>\n",
                (2, 1),
                "no <testsuites> or <testsuite> element",
            ),
            (
                "<testsuites>\n<testcase name=a/>",
                (2, 1),
                "malformed attribute in <testcase>",
            ),
            (
                "<testsuites>\n</testsuite>",
                (2, 1),
                "expected `</testsuites>`, but `</testsuite>` was found",
            ),
        ];
        for (xml, position, fragment) in cases {
            let (line, column, message) = error(xml);
            assert_eq!((line, column), *position, "{xml:?}: {message}");
            assert!(
                message.contains(fragment),
                "{xml:?}: {message:?} lacks {fragment:?}"
            );
        }
    }

    #[test]
    fn positions_stay_exact_across_window_edges() {
        use crate::results::adapter::line_column;
        let filler = "line of output with ünïcödé\n".repeat(8_000);
        let long_name = "é".repeat(100_000);
        let cases = [
            // A mismatched tag in skipped content after more than a window of it.
            (
                format!(
                    "<testsuites><testcase name=\"a\"><system-out>{filler}<b></c></system-out></testcase></testsuites>"
                ),
                "</c>",
            ),
            // quick-xml's mismatch after a tag longer than the window.
            (
                format!("<testsuites>\n<testsuite name=\"{long_name}\">\n</testsuites>"),
                "</testsuites>",
            ),
            // A malformed attribute in a tag longer than the window: reported at its `<`.
            (
                format!(
                    "<testsuites>\n{filler}<testcase name=\"{long_name}\" broken/></testsuites>"
                ),
                "<testcase",
            ),
            // A DOCTYPE without a name: quick-xml reports just before its `>`.
            (format!("<!--{filler}-->\n<!DOCTYPE>"), ">"),
            // The end of a truncated file.
            (
                format!("<testsuites><testcase name=\"a\"><failure>{filler}"),
                "",
            ),
        ];
        for (xml, at) in cases {
            let offset = if at.is_empty() {
                xml.len()
            } else {
                xml.rfind(at).unwrap()
            };
            let (line, column, message) = error(xml.as_bytes());
            assert_eq!(
                (line, column),
                line_column(xml.as_bytes(), offset),
                "{message}"
            );
        }
    }

    #[test]
    fn invalid_utf8_in_markup_is_malformed_but_allowed_in_skipped_output() {
        let (line, column, _) = error(b"<testsuites>\n <testcase name=\"\xFF\"/></testsuites>");
        assert_eq!((line, column), (2, 2));
        let tests =
            parse_bytes(b"<testsuites><testcase name=\"a\"><system-out>\xFF\xFE binary</system-out><failure>\xFFx</failure></testcase></testsuites>")
                .unwrap();
        assert_eq!(tests[0].message.as_deref(), Some("\u{FFFD}x"));
    }

    #[test]
    fn io_errors_are_read_errors() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"))
            }
        }
        let result = read_with(&mut BufReader::new(Broken));
        assert!(
            matches!(result, Err(ResultsErrorKind::Read(ref error)) if error.kind() == io::ErrorKind::PermissionDenied)
        );
        let result = read_with(&mut BufReader::new(
            Cursor::new(b"<testsuites><testcase name=\"a\">".to_vec()).chain(Broken),
        ));
        assert!(
            matches!(result, Err(ResultsErrorKind::Read(_))),
            "{}",
            describe(&result)
        );
    }

    // ---- bounded memory

    /// A JUnit document made on the fly, never held whole: `cases` testcases, every 20th a
    /// failure, every other one with output, each `output` bytes long.
    struct Generated {
        cases: usize,
        output: usize,
        next: usize,
        chunk: Vec<u8>,
        offset: usize,
        finished: bool,
    }

    impl Generated {
        fn new(cases: usize, output: usize) -> Generated {
            Generated {
                cases,
                output,
                next: 0,
                chunk: b"<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"generated\">\n"
                    .to_vec(),
                offset: 0,
                finished: false,
            }
        }

        fn refill(&mut self) {
            self.chunk.clear();
            self.offset = 0;
            if self.next == self.cases {
                if !self.finished {
                    self.chunk
                        .extend_from_slice(b"</testsuite>\n</testsuites>\n");
                    self.finished = true;
                }
                return;
            }
            let index = self.next;
            self.next += 1;
            let mut case = format!(
                "<testcase name=\"test_{index:07}\" classname=\"pkg.Class{}\" time=\"0.001\">",
                index % 97
            );
            if index.is_multiple_of(20) {
                case.push_str(
                    "<failure message=\"assert 1 == 2\" type=\"AssertionError\">trace</failure>",
                );
            }
            if index.is_multiple_of(2) {
                case.push_str("<system-out>");
                case.push_str(&"log line &amp; more\n".repeat(self.output / 20));
                case.push_str("</system-out>");
            }
            case.push_str("</testcase>\n");
            self.chunk.extend_from_slice(case.as_bytes());
        }
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.offset == self.chunk.len() {
                self.refill();
            }
            let count = out.len().min(self.chunk.len() - self.offset);
            out[..count].copy_from_slice(&self.chunk[self.offset..self.offset + count]);
            self.offset += count;
            Ok(count)
        }
    }

    #[test]
    fn a_30_mb_document_streams_through_the_sink() {
        struct Counted<R> {
            inner: R,
            bytes: usize,
        }
        impl<R: Read> Read for Counted<R> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let count = self.inner.read(out)?;
                self.bytes += count;
                Ok(count)
            }
        }
        let cases = 60_000;
        let mut input = BufReader::new(Counted {
            inner: Generated::new(cases, 1000),
            bytes: 0,
        });
        let (mut total, mut failed, mut names_ok) = (0usize, 0usize, true);
        Junit
            .read(&mut input, &mut |test| {
                names_ok &= test.name == format!("test_{total:07}");
                total += 1;
                failed += usize::from(test.outcome == Outcome::Fail);
            })
            .unwrap();
        assert!(
            input.get_ref().bytes > 30_000_000,
            "{} bytes",
            input.get_ref().bytes
        );
        assert_eq!(total, cases);
        assert_eq!(failed, cases / 20);
        assert!(names_ok);
    }

    #[test]
    fn one_huge_output_is_skipped_not_buffered() {
        // 40 MB of output in one text node: more than a token may be, and it is fine.
        let mut input = BufReader::new(Generated::new(1, 40 * 1024 * 1024));
        let mut count = 0;
        Junit.read(&mut input, &mut |_| count += 1).unwrap();
        assert_eq!(count, 1);
    }

    #[test]
    fn limits_are_errors_not_allocations() {
        let huge_name = format!(
            "<testsuites>\n<testcase name=\"{}\"/></testsuites>",
            "n".repeat(MAX_TOKEN_BYTES as usize + WINDOW)
        );
        let (line, column, message) = error(huge_name.as_bytes());
        assert_eq!((line, column), (2, 1));
        assert!(message.contains("longer than 16 MiB"), "{message}");

        let deep = format!(
            "<testsuites>{}",
            "<testsuite name=\"s\">".repeat(MAX_DEPTH + 10)
        );
        let (_, _, message) = error(deep.as_bytes());
        assert!(message.contains("nest deeper"), "{message}");

        let deep_output = format!(
            "<testsuites><testcase><system-out>{}",
            "<a>".repeat(MAX_DEPTH + 10)
        );
        let (_, _, message) = error(deep_output.as_bytes());
        assert!(message.contains("nest deeper"), "{message}");
    }

    // ---- properties

    /// Pieces that make XML-ish text: tags of the format, broken ones, references, sections.
    fn xmlish() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "<testsuites>",
            "</testsuites>",
            "<testsuites/>",
            "<testsuite name=\"s\">",
            "<testsuite>",
            "</testsuite>",
            "<testcase name=\"t\" time=\"1,0\">",
            "<testcase/>",
            "</testcase>",
            "<failure message=\"m\">",
            "<failure/>",
            "</failure>",
            "<error>",
            "</error>",
            "<skipped type=\"xfail\"/>",
            "<flakyFailure>",
            "</flakyFailure>",
            "<rerunError/>",
            "<system-out>",
            "</system-out>",
            "<properties>",
            "</properties>",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "<?xml version=\"1.0\"?>",
            "<?pi",
            "?>",
            "<!DOCTYPE x>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]>",
            "&amp;",
            "&",
            "&#x41;",
            "&#99999999;",
            "&lol;",
            "<",
            ">",
            "/>",
            "\"",
            "'",
            "=",
            " ",
            "\n",
            "text",
            "é",
            "\u{FEFF}",
            "<a b='>'>",
            "</a>",
            "<x:y/>",
            "\r\n",
        ]);
        prop::collection::vec(pieces, 0..120).prop_map(|pieces| pieces.concat())
    }

    /// The fewest bytes a testcase takes: `<testcase/>`. Bounds what any input can yield, and so
    /// the work of reading it.
    const TESTCASE_BYTES: usize = "<testcase/>".len();

    /// What reading `bytes` hands to the sink (before an error too) is bounded by its size, and
    /// an error points into it.
    fn yields_in_bounds(bytes: &[u8]) -> Result<(), TestCaseError> {
        let (cases, result) = collect_partial(&Junit, bytes);
        prop_assert!(cases.len() <= bytes.len() / TESTCASE_BYTES);
        if let Err(error) = result {
            prop_assert!(points_into(&error, bytes), "{:?}", error);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse_bytes(&bytes);
            yields_in_bounds(&bytes)?;
            let _ = Junit.sniff(&bytes);
        }

        #[test]
        fn xmlish_text_never_panics_and_reads_the_same_in_any_chunking(text in xmlish()) {
            let _ = parse_bytes(text.as_bytes());
            yields_in_bounds(text.as_bytes())?;
            let _ = Junit.sniff(text.as_bytes());
        }

        #[test]
        fn a_truncated_report_is_an_error(tree in suite_tree(), cut in any::<prop::sample::Index>()) {
            let xml = serialize(&tree);
            let root_end = xml.trim_end().len();
            let cut = cut.index(root_end);
            prop_assert!(parse_bytes(&xml.as_bytes()[..cut]).is_err(), "{}", &xml[..cut]);
        }

        #[test]
        fn generated_reports_read_back(tree in suite_tree()) {
            let xml = serialize(&tree);
            let mut expected = Vec::new();
            expect(&tree, &mut Vec::new(), &mut expected);
            let tests = parse_bytes(xml.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}\n{xml}")))?;
            let actual: Vec<Expected> = tests
                .iter()
                .map(|test| Expected {
                    name: test.name.clone(),
                    classname: test.classname.clone(),
                    suite: test.suite.clone(),
                    outcome: test.outcome,
                    attempts: test.attempts,
                    message: test.message.clone(),
                })
                .collect();
            prop_assert_eq!(actual, expected, "{}", xml);
        }
    }

    // ---- the round trip's generator

    #[derive(Debug, Clone)]
    enum Made {
        Pass,
        Fail,
        Error,
        Skip,
        Xfail,
        Flaky(u32),
        FailRerun(u32),
    }

    #[derive(Debug, Clone, Copy)]
    enum MessageAs {
        Attribute,
        Text,
        Cdata,
    }

    #[derive(Debug, Clone)]
    struct MadeCase {
        name: String,
        classname: Option<String>,
        made: Made,
        message: String,
        message_as: MessageAs,
        output: Option<String>,
    }

    #[derive(Debug, Clone)]
    struct MadeSuite {
        name: Option<String>,
        cases: Vec<MadeCase>,
        children: Vec<MadeSuite>,
    }

    #[derive(Debug, PartialEq)]
    struct Expected {
        name: String,
        classname: Option<String>,
        suite: Vec<String>,
        outcome: Outcome,
        attempts: u32,
        message: Option<String>,
    }

    fn made_case() -> impl Strategy<Value = MadeCase> {
        let made = prop_oneof![
            Just(Made::Pass),
            Just(Made::Fail),
            Just(Made::Error),
            Just(Made::Skip),
            Just(Made::Xfail),
            (1u32..4).prop_map(Made::Flaky),
            (1u32..4).prop_map(Made::FailRerun),
        ];
        let message_as = prop_oneof![
            Just(MessageAs::Attribute),
            Just(MessageAs::Text),
            Just(MessageAs::Cdata)
        ];
        (
            "[a-zA-Z0-9_ <>&\"'.:\\[\\]é-]{0,16}",
            prop::option::of("[a-zA-Z0-9_.<&é]{0,10}"),
            made,
            "[a-zA-Z0-9<>&\"' é=]{0,24}",
            message_as,
            prop::option::of("[a-z <>&\n]{0,30}"),
        )
            .prop_map(
                |(name, classname, made, message, message_as, output)| MadeCase {
                    name,
                    classname,
                    made,
                    message,
                    message_as,
                    output,
                },
            )
    }

    fn suite_tree() -> impl Strategy<Value = MadeSuite> {
        let leaf = (
            prop::option::of("[a-zA-Z0-9 <&>\"é]{1,10}"),
            prop::collection::vec(made_case(), 0..5),
        )
            .prop_map(|(name, cases)| MadeSuite {
                name,
                cases,
                children: Vec::new(),
            });
        leaf.prop_recursive(3, 24, 4, |inner| {
            (
                prop::option::of("[a-zA-Z0-9 <&>\"é]{1,10}"),
                prop::collection::vec(made_case(), 0..4),
                prop::collection::vec(inner, 0..4),
            )
                .prop_map(|(name, cases, children)| MadeSuite {
                    name,
                    cases,
                    children,
                })
        })
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
            .replace('\n', "&#10;")
    }

    fn status_element(element: &str, extra: &str, message: &str, message_as: MessageAs) -> String {
        match message_as {
            MessageAs::Attribute => format!("<{element}{extra} message=\"{}\"/>", escape(message)),
            MessageAs::Text => format!("<{element}{extra}>{}</{element}>", escape(message)),
            MessageAs::Cdata => format!(
                "<{element}{extra}><![CDATA[{message}]]><stackTrace>not it</stackTrace></{element}>"
            ),
        }
    }

    fn serialize(tree: &MadeSuite) -> String {
        fn suite(node: &MadeSuite, out: &mut String) {
            match &node.name {
                Some(name) => out.push_str(&format!(
                    "<testsuite name=\"{}\" tests=\"999\">\n",
                    escape(name)
                )),
                None => out.push_str("<testsuite>\n"),
            }
            for case in &node.cases {
                out.push_str(&format!("<testcase name=\"{}\"", escape(&case.name)));
                if let Some(classname) = &case.classname {
                    out.push_str(&format!(" classname=\"{}\"", escape(classname)));
                }
                out.push_str(" time=\"0.5\">");
                let (message, how) = (&case.message, case.message_as);
                match case.made {
                    Made::Pass => {}
                    Made::Fail => out.push_str(&status_element("failure", "", message, how)),
                    Made::Error => out.push_str(&status_element("error", "", message, how)),
                    Made::Skip => out.push_str(&status_element(
                        "skipped",
                        " type=\"pytest.skip\"",
                        message,
                        how,
                    )),
                    Made::Xfail => out.push_str(&status_element(
                        "skipped",
                        " type=\"pytest.xfail\"",
                        message,
                        how,
                    )),
                    Made::Flaky(count) => {
                        for _ in 0..count {
                            out.push_str(&status_element("flakyFailure", "", message, how));
                        }
                    }
                    Made::FailRerun(count) => {
                        out.push_str(&status_element("failure", "", message, how));
                        for _ in 0..count {
                            out.push_str("<rerunFailure message=\"again\"><system-out>x</system-out></rerunFailure>");
                        }
                    }
                }
                if let Some(output) = &case.output {
                    out.push_str(&format!(
                        "<system-out>{}<failure message=\"printed\"/></system-out>",
                        escape(output)
                    ));
                }
                out.push_str("</testcase>\n");
            }
            for child in &node.children {
                suite(child, out);
            }
            out.push_str("</testsuite>\n");
        }
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tool\">\n",
        );
        suite(tree, &mut out);
        out.push_str("</testsuites>\n");
        out
    }

    fn expect(node: &MadeSuite, path: &mut Vec<String>, out: &mut Vec<Expected>) {
        if let Some(name) = &node.name {
            path.push(name.clone());
        }
        for case in &node.cases {
            let message = match case.message_as {
                MessageAs::Attribute => case.message.clone(),
                MessageAs::Text | MessageAs::Cdata => case.message.trim().to_owned(),
            };
            let message = (!message.is_empty()).then_some(message);
            let (outcome, attempts, message) = match case.made {
                Made::Pass => (Outcome::Pass, 1, None),
                Made::Fail => (Outcome::Fail, 1, message),
                Made::Error => (Outcome::Error, 1, message),
                Made::Skip => (Outcome::Skip, 1, message),
                Made::Xfail => (Outcome::Xfail, 1, message),
                Made::Flaky(count) => (Outcome::FlakyPass, 1 + count, message),
                Made::FailRerun(count) => (Outcome::Fail, 1 + count, message),
            };
            out.push(Expected {
                name: case.name.clone(),
                classname: case.classname.clone(),
                suite: path.clone(),
                outcome,
                attempts,
                message,
            });
        }
        for child in &node.children {
            expect(child, path, out);
        }
        if node.name.is_some() {
            path.pop();
        }
    }
}
