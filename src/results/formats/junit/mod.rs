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
//! is skipped by a small scanner that keeps no text (it still checks that the markup inside is
//! well-formed, see below), and the text of status elements is kept only up to the message
//! bound. What stays in memory is one tag (at most [`MAX_TOKEN_BYTES`], in skipped content
//! too), the open elements (at most [`MAX_DEPTH`] levels), the suite path and the current test,
//! whatever the size of the file. Beyond these limits the file is reported as malformed, never
//! read into memory.
//!
//! # Well-formed XML only
//!
//! JUnit that is not well-formed XML is refused, with the line and column where it goes wrong,
//! as a conforming XML parser refuses it (a property test holds the reader to roxmltree on
//! generated and mutated JUnit documents). In markup, read by quick-xml or by the scanner:
//!
//! - element and attribute names are XML names; attributes are `name="value"` or
//!   `name='value'`, separated by whitespace, each name once per element;
//! - an attribute value holds no `<` (`time="<<computed>>"` is refused at its first `<`);
//! - a `&`, in a value or in text, starts a reference: `&amp;`, `&lt;`, `&gt;`, `&quot;`,
//!   `&apos;`, or `&#N;`/`&#xH;` naming a character XML allows. A report has no DTD, so no
//!   other entity exists: `&nbsp;` is an error, and so is a lone `&` (it must be `&amp;`);
//! - text holds no `]]>` outside a CDATA section, and a comment no `--` before its `-->`;
//! - the XML declaration (`version`, then optional `encoding` and `standalone`) comes first in
//!   the file, nothing before it but a byte order mark; a DOCTYPE comes once, before the root
//!   element; a processing instruction's target is a name other than `xml`; a CDATA section is
//!   inside the root element.
//!
//! The error names the attribute or the text and points at the offending byte, not at the
//! start of its tag: for `time="<<computed>>"` on a testcase, "a malformed attribute in
//! `<testcase>`: a `<` in the value of `time`", at the first `<` of the value.
//!
//! What is not checked: the characters of text and comments (a control character in captured
//! output is read, not refused; in attribute values it is refused), the content of a DOCTYPE
//! without entities (ignored), and namespace prefixes (XML 1.0 does not bind them).
//!
//! No XML entity is expanded: only the five predefined ones and character references are
//! decoded, and a DOCTYPE that declares entities (the "billion laughs" attack) is an error.
//!
//! The file must be UTF-8 (every tool above writes UTF-8): invalid UTF-8 in markup is an
//! error; in skipped output it does not matter, and in a kept message it becomes U+FFFD.
//!
//! Errors carry the 1-based line and column (in characters) where the problem starts: the
//! offending byte of a tag (an attribute, a name), the `<` of a mismatched tag, the `&` of a
//! bad reference, or the end of the file for a truncated one. The position is counted while
//! streaming, so it costs no second pass.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::results::ResultsErrorKind;
use crate::results::adapter::{Adapter, MAX_MESSAGE_BYTES, bounded_message};
use crate::results::model::{Outcome, TestCase};

use xml::*;

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

/// The position of byte `offset` of a token that starts `skip` characters after `at` (after
/// its `<`, `<?` or `<!--`).
fn in_token(at: Pos, skip: usize, token: &[u8], offset: usize) -> Pos {
    Pos {
        column: at.column + skip,
        ..at
    }
    .advanced(&token[..offset.min(token.len())])
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

/// The first index of `a`, `b` or `c`, eight bytes at a time: inline, which for the few bytes
/// between two tags or in an attribute value beats a call to memchr.
fn find_any3(a: u8, b: u8, c: u8, haystack: &[u8]) -> Option<usize> {
    let patterns = [a, b, c].map(|byte| LOW_BITS * u64::from(byte));
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // The lowest flagged byte is always a true match (false flags only sit above one).
        let mask = zero_byte_mask(word ^ patterns[0])
            | zero_byte_mask(word ^ patterns[1])
            | zero_byte_mask(word ^ patterns[2]);
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|byte| *byte == a || *byte == b || *byte == c)
        .map(|index| offset + index)
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
    /// The tag being read in skipped content (see [`Source::read_tag`]).
    tag: Vec<u8>,
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
            tag: Vec::new(),
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

    /// Skips text up to the next `<` (not consumed) or the end of the input, refusing what XML
    /// refuses in text: a `&` that starts no reference (see [`read_reference`]) and `]]>`.
    /// `inside` names the open element; without one, the text is outside the root element and
    /// must be whitespace.
    #[inline]
    fn skip_text(&mut self, inside: Option<&str>) -> Result<(), ResultsErrorKind> {
        // The common case inside the root element: a little text (whitespace), then `<`.
        let available = &self.window[self.start..self.end];
        let head = &available[..available.len().min(64)];
        if inside.is_some()
            && let Some(at) = find_any3(b'<', b'&', b']', head)
            && head[at] == b'<'
        {
            self.consume(at);
            return Ok(());
        }
        self.skip_any_text(inside)
    }

    /// [`Source::skip_text`] beyond its common case.
    #[inline(never)]
    fn skip_any_text(&mut self, inside: Option<&str>) -> Result<(), ResultsErrorKind> {
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Ok(());
            }
            let Some(inside) = inside else {
                // Outside the root element: whitespace up to a `<`, nothing else.
                let found = memchr::memchr(b'<', available);
                let text = found.unwrap_or(available.len());
                if let Some(index) = available[..text].iter().position(|byte| !is_space(*byte)) {
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
                continue;
            };
            if self.text_run(None, inside)? {
                return Ok(());
            }
        }
    }

    /// Reads text from the window up to the next `<` (not consumed), checking every `&` and
    /// `]` in it as [`Source::reference`] and [`Source::bracket`] do, and adds the text,
    /// decoded, to `collector`. True when it stopped before a `<`; false when the window's
    /// text is all read, or when it stopped before a `&` or `]` too close to the end of the
    /// window to be read here (which the caller reads with those two).
    ///
    /// One search for `<`, one for `]` and one pass over the `&`s, rather than a search after
    /// each: pytest's output has a reference every few words.
    fn text_run(
        &mut self,
        mut collector: Option<&mut Collector>,
        inside: &str,
    ) -> Result<bool, ResultsErrorKind> {
        if self.fill()?.is_empty() {
            return Ok(false);
        }
        let available = &self.window[self.start..self.end];
        let markup = memchr::memchr(b'<', available);
        let text = markup.unwrap_or(available.len());
        // Whether the window may end inside a reference or a `]]>` that more input completes.
        let cut_short = markup.is_none() && !self.eof;
        let place = || format!("in the text of <{inside}>");
        // The first `]]>`, or a `]` too close to the window's end to tell: `]` is rare in test
        // output, so this is one search, seldom more. `stop`: where the text read stops, with
        // the fault there (`None`: too close to the window's end, for the caller to read).
        let mut stop = None;
        if let Some(first) = memchr::memchr(b']', &available[..text]) {
            for hit in memchr::memchr_iter(b']', &available[first..text]) {
                let hit = first + hit;
                if cut_short && available.len() - hit < 3 {
                    stop = Some((hit, None));
                    break;
                }
                if available[hit..].starts_with(b"]]>") {
                    stop = Some((hit, Some(cdata_end_in_text(&place()))));
                    break;
                }
            }
        }
        // The references before it.
        let limit = stop.as_ref().map_or(text, |(at, _)| *at);
        let mut copied = 0;
        for hit in memchr::memchr_iter(b'&', &available[..limit]) {
            let rest = &available[hit..];
            if cut_short && rest.len() < MAX_REFERENCE_BYTES {
                stop = Some((hit, None));
                break;
            }
            match read_reference(rest) {
                Ok((ch, length)) => {
                    if let Some(collector) = collector.as_deref_mut() {
                        collector.push(&available[copied..hit]);
                        collector.push(ch.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    copied = hit + length;
                }
                Err(bad) => {
                    stop = Some((hit, Some(bad.message(rest, &place()))));
                    break;
                }
            }
        }
        // References end before the next `<` or `]` (they hold neither), inside the window.
        let read = stop.as_ref().map_or(text, |(at, _)| *at);
        if let Some(collector) = collector.as_deref_mut() {
            collector.push(&available[copied..read]);
        }
        self.consume(read);
        match stop {
            Some((_, Some(message))) => Err(malformed(self.here(), message)),
            Some((_, None)) => {
                if self.lookahead(1)?.first() == Some(&b'&') {
                    self.reference(collector, inside)?;
                } else {
                    self.bracket(collector, inside)?;
                }
                Ok(false)
            }
            None => Ok(markup.is_some()),
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
    /// that they are well-formed and nest. With `collect`, the element's own text and CDATA are
    /// kept (bounded).
    fn read_content(
        &mut self,
        open: Open<'_>,
        mut collect: Option<&mut Collector>,
    ) -> Result<(), ResultsErrorKind> {
        let mut nested = NameStack::default();
        loop {
            // Text up to the next markup, checking its references and `]]>`.
            let collecting = nested.is_empty() && collect.is_some();
            loop {
                if self.fill()?.is_empty() {
                    return Err(truncated(self.here(), open, ""));
                }
                let keep = if collecting {
                    collect.as_deref_mut()
                } else {
                    None
                };
                if self.text_run(keep, open.name)? {
                    break;
                }
            }
            self.set_mark();
            let head = self.lookahead(9)?;
            match head.get(1).copied() {
                None => return Err(truncated(self.here(), open, "")),
                Some(b'/') => {
                    if nested.is_empty() {
                        return Ok(());
                    }
                    self.consume(2);
                    let name = self.read_token(open, "a tag in ", |byte| {
                        is_space(byte) || byte == b'/' || byte == b'>'
                    })?;
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
                        self.skip_comment(open)?;
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
                    self.skip_pi(open)?;
                }
                Some(first) if first.is_ascii() && !is_ascii_name_char(first) => {
                    // Not even part of a name: say so rather than read on to a `>`.
                    let at = self.marked();
                    return Err(malformed(
                        in_token(at, 1, b"", 0),
                        format!("a `<` that starts no tag in <{}>", open.name),
                    ));
                }
                Some(_) => {
                    self.consume(1);
                    let empty = self.read_tag(open)?;
                    let tag = std::mem::take(&mut self.tag);
                    let checked = check_tag(&tag, Some(open.name));
                    let result = match checked {
                        Err(fault) => {
                            let at = self.marked();
                            Err(malformed(
                                in_token(at, 1, &tag, fault.offset),
                                fault.message,
                            ))
                        }
                        Ok(_) if empty => Ok(()),
                        Ok(name_length) => {
                            if nested.len() >= MAX_DEPTH
                                || nested.bytes() + name_length > MAX_OPEN_NAME_BYTES
                            {
                                Err(malformed(
                                    self.marked(),
                                    format!(
                                        "elements in <{}> nest deeper than {MAX_DEPTH} levels",
                                        open.name
                                    ),
                                ))
                            } else {
                                nested.push(&tag[..name_length]);
                                Ok(())
                            }
                        }
                    };
                    self.tag = tag;
                    result?;
                }
            }
        }
    }

    /// Reads bytes up to one that `stop` accepts (not consumed): an end tag's name or a
    /// processing instruction's target. `inside` says what the file ends inside, if it does.
    fn read_token(
        &mut self,
        open: Open<'_>,
        inside: &str,
        stop: fn(u8) -> bool,
    ) -> Result<Vec<u8>, ResultsErrorKind> {
        let mut name = Vec::new();
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(truncated(self.here(), open, inside));
            }
            let end = available.iter().position(|byte| stop(*byte));
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

    /// After a start tag's `<`: reads the tag up to its `>` (minding quotes, as quick-xml does)
    /// into `self.tag`, without the `>` and a `/` right before it. True when there was one (the
    /// tag closes itself). A tag may be at most [`MAX_TOKEN_BYTES`] long, as one that quick-xml
    /// reads.
    fn read_tag(&mut self, open: Open<'_>) -> Result<bool, ResultsErrorKind> {
        self.tag.clear();
        let mut quote: Option<u8> = None;
        loop {
            if self.fill()?.is_empty() {
                return Err(truncated(self.here(), open, "a tag in "));
            }
            let available = &self.window[self.start..self.end];
            let mut closed = None;
            for index in memchr::memchr3_iter(b'>', b'"', b'\'', available) {
                match (quote, available[index]) {
                    (None, b'>') => {
                        closed = Some(index);
                        break;
                    }
                    (None, byte) => quote = Some(byte),
                    (Some(open_quote), byte) if byte == open_quote => quote = None,
                    _ => {}
                }
            }
            let take = closed.unwrap_or(available.len());
            if (self.tag.len() + take) as u64 > MAX_TOKEN_BYTES {
                return Err(malformed(
                    self.marked(),
                    format!(
                        "a tag in <{}> longer than {} MiB: coalmine reads results in bounded memory \
                         and does not accept one this long",
                        open.name,
                        MAX_TOKEN_BYTES >> 20
                    ),
                ));
            }
            self.tag.extend_from_slice(&available[..take]);
            match closed {
                Some(_) => {
                    self.consume(take + 1);
                    break;
                }
                None => self.consume(take),
            }
        }
        let empty = self.tag.last() == Some(&b'/');
        if empty {
            self.tag.pop();
        }
        Ok(empty)
    }

    /// After `<!--`: skips the comment up to and including its `-->`, refusing a `--` inside
    /// it (and so a comment that ends with `--->`).
    fn skip_comment(&mut self, open: Open<'_>) -> Result<(), ResultsErrorKind> {
        loop {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(truncated(self.here(), open, "a comment in "));
            }
            let found = memchr::memchr(b'-', available);
            let text = found.unwrap_or(available.len());
            self.consume(text);
            if found.is_none() {
                continue;
            }
            let head = self.lookahead(3)?;
            if head.starts_with(b"-->") {
                self.consume(3);
                return Ok(());
            }
            if head.len() < 3 && b"-->".starts_with(head) {
                return Err(truncated(self.here(), open, "a comment in "));
            }
            if head.starts_with(b"--") {
                return Err(malformed(self.here(), DOUBLE_HYPHEN));
            }
            self.consume(1);
        }
    }

    /// After `<?`: checks the processing instruction's target and skips the rest up to and
    /// including `?>`.
    fn skip_pi(&mut self, open: Open<'_>) -> Result<(), ResultsErrorKind> {
        let inside = "a processing instruction in ";
        let target = self.read_token(open, inside, |byte| is_space(byte) || byte == b'?')?;
        if let Err(fault) = check_pi_target(&target) {
            let at = self.marked();
            return Err(malformed(
                in_token(at, 2, &target, fault.offset),
                fault.message,
            ));
        }
        let head = self.lookahead(2)?;
        if head.starts_with(b"?>") {
            self.consume(2);
            return Ok(());
        }
        if head.first().is_some_and(|byte| is_space(*byte)) {
            return self.skip_past(b"?>", open, inside, None);
        }
        if head.len() < 2 {
            return Err(truncated(self.here(), open, inside));
        }
        Err(malformed(
            self.here(),
            format!(
                "a processing instruction in <{}> whose target `{}` is followed by `?` but not `>`",
                open.name,
                String::from_utf8_lossy(&target)
            ),
        ))
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

    /// At `&` in text of the element named `inside`: reads the reference (refusing a bad one,
    /// see [`read_reference`]) and adds the character it stands for to `collector`, if any.
    fn reference(
        &mut self,
        collector: Option<&mut Collector>,
        inside: &str,
    ) -> Result<(), ResultsErrorKind> {
        let head = self.lookahead(MAX_REFERENCE_BYTES)?;
        match read_reference(head) {
            Ok((ch, length)) => {
                if let Some(collector) = collector {
                    collector.push(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                self.consume(length);
                Ok(())
            }
            Err(bad) => {
                let message = bad.message(head, &format!("in the text of <{inside}>"));
                Err(malformed(self.here(), message))
            }
        }
    }

    /// At `]` in text of the element named `inside`: refuses `]]>`, else adds the `]` to
    /// `collector`, if any.
    fn bracket(
        &mut self,
        collector: Option<&mut Collector>,
        inside: &str,
    ) -> Result<(), ResultsErrorKind> {
        if self.lookahead(3)?.starts_with(b"]]>") {
            return Err(malformed(
                self.here(),
                cdata_end_in_text(&format!("in the text of <{inside}>")),
            ));
        }
        if let Some(collector) = collector {
            collector.push(b"]");
        }
        self.consume(1);
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

/// The first value of each wanted attribute (by local name), decoded, borrowed from `raw` when
/// there was nothing to decode; `raw` is what follows the element's name in its start tag.
/// Every attribute, wanted or not, is checked as XML 1.0 reads it (see [`scan_attributes`] and
/// [`attribute_value`]); a fault's offset is in `raw`.
///
/// The attributes are scanned here rather than by quick-xml's iterator (a tenth of an
/// ingest's time in the profile), which refuses less: it takes `<` and any `&` in a value.
/// A property test holds the two together on what both accept, and another holds this scanner
/// to a conforming XML parser.
fn attributes<'e, const N: usize>(
    raw: &'e str,
    keys: [&[u8]; N],
) -> Result<[Option<Cow<'e, str>>; N], Fault> {
    let mut values = [const { None }; N];
    scan_attributes(raw, |key, _, value, value_at| {
        let key_bytes = key.as_bytes();
        // Names are short: a loop beats a call to memchr.
        let local = match key_bytes.iter().position(|byte| *byte == b':') {
            Some(colon) => &key_bytes[colon + 1..],
            None => key_bytes,
        };
        let wanted = keys
            .iter()
            .position(|wanted| *wanted == local)
            .filter(|index| values[*index].is_none());
        let value = attribute_value(value, key, wanted.is_some())
            .map_err(|fault| fault.shifted(value_at))?;
        if let Some(index) = wanted {
            values[index] = Some(value);
        }
        Ok(())
    })?;
    Ok(values)
}

/// The fault of an element name that is not an XML name (`name_fault`), for an element in
/// `parent`. A `<` followed by what cannot even be part of a name (whitespace, `=`, `&`, ...)
/// starts no tag.
fn element_name_fault(name: &[u8], parent: Option<&str>) -> Option<Fault> {
    let bad = name_fault(name)?;
    let parent = parent
        .map(|parent| format!(" in <{parent}>"))
        .unwrap_or_default();
    Some(Fault::new(
        bad,
        if name
            .first()
            .is_none_or(|first| first.is_ascii() && !is_ascii_name_char(*first))
        {
            format!("a `<` that starts no tag{parent}")
        } else {
            format!(
                "a malformed element name `{}`{parent}: it is not an XML name",
                String::from_utf8_lossy(name)
            )
        },
    ))
}

/// Checks a start tag in skipped content (`tag`: what follows its `<`, without `/>` or `>`)
/// as quick-xml's tags are checked: UTF-8, an XML name, attributes as [`attributes`] reads
/// them. The length of the element's name.
fn check_tag(tag: &[u8], parent: Option<&str>) -> Result<usize, Fault> {
    let text = std::str::from_utf8(tag).map_err(|error| {
        Fault::new(
            error.valid_up_to(),
            format!(
                "invalid UTF-8 in a tag{}",
                parent
                    .map(|parent| format!(" in <{parent}>"))
                    .unwrap_or_default()
            ),
        )
    })?;
    let name_length = tag
        .iter()
        .position(|byte| is_space(*byte))
        .unwrap_or(tag.len());
    if let Some(fault) = element_name_fault(&tag[..name_length], parent) {
        return Err(fault);
    }
    attributes(&text[name_length..], []).map_err(|fault| Fault {
        offset: fault.offset + name_length,
        message: format!(
            "a malformed attribute in <{}>: {}",
            &text[..name_length],
            fault.message
        ),
    })?;
    Ok(name_length)
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
        // Where an XML declaration may be: at the very start, after the byte order mark.
        let prolog_start = self.source().pos;
        let mut doctype_seen = false;
        let mut buf = Vec::with_capacity(1024);
        loop {
            let Parser { reader, frames, .. } = &mut self;
            reader
                .get_mut()
                .skip_text(frames.last().map(|frame| &*frame.name))?;
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
                    self.doctype(&buf, declares_entities, &mut doctype_seen)?;
                }
                Event::Eof => return self.eof(),
                Event::Text(_) | Event::GeneralRef(_) => {}
                other => self.other_event(&other, token_start == prolog_start)?,
            }
        }
    }

    /// Checks a DOCTYPE (`token`: as read, from its `<!`): one, before the root element, with
    /// no entity declared. Out of the loop of [`Parser::run`]: a report seldom has one.
    #[cold]
    #[inline(never)]
    fn doctype(
        &mut self,
        token: &[u8],
        declares_entities: bool,
        seen: &mut bool,
    ) -> Result<(), ResultsErrorKind> {
        let misplaced = if *seen {
            Some("a second DOCTYPE: XML allows one")
        } else if self.root != Root::NotSeen {
            Some("a DOCTYPE inside or after the root element: XML allows one only before it")
        } else if !token.starts_with(b"<!DOCTYPE") {
            Some("a DOCTYPE not spelled `<!DOCTYPE`: XML allows only capitals")
        } else {
            None
        };
        if let Some(message) = misplaced {
            return Err(self.here_malformed(message));
        }
        *seen = true;
        if declares_entities {
            return Err(self.here_malformed(
                "the DOCTYPE declares entities (<!ENTITY ...>): coalmine never expands XML entities \
                 (a \"billion laughs\" file would need unbounded memory), so it refuses such a file",
            ));
        }
        Ok(())
    }

    /// Checks an XML declaration (`at_start`: whether it is at the start of the file), a
    /// processing instruction, a comment or a CDATA section read by quick-xml. Out of the loop
    /// of [`Parser::run`], which has to do with tags.
    #[inline(never)]
    fn other_event(&mut self, event: &Event<'_>, at_start: bool) -> Result<(), ResultsErrorKind> {
        match event {
            Event::Decl(declaration) => {
                if !at_start {
                    return Err(self.here_malformed(
                        "an XML declaration (`<?xml ...?>`) that is not at the very start of the file: \
                         XML allows it only there, with nothing before it, not even whitespace",
                    ));
                }
                if let Err(fault) = check_declaration(&declaration[3..]) {
                    let at = self.source().marked();
                    return Err(malformed(
                        in_token(at, 2, declaration.as_bytes(), fault.offset + 3),
                        format!("a malformed XML declaration: {}", fault.message),
                    ));
                }
            }
            Event::PI(instruction) => {
                if let Err(fault) = check_pi_target(instruction.target().as_bytes()) {
                    let at = self.source().marked();
                    return Err(malformed(
                        in_token(at, 2, instruction.as_bytes(), fault.offset),
                        fault.message,
                    ));
                }
            }
            Event::Comment(text) => {
                if let Some(offset) = comment_fault(text.as_bytes()) {
                    let at = self.source().marked();
                    return Err(malformed(
                        in_token(at, 4, text.as_bytes(), offset),
                        DOUBLE_HYPHEN,
                    ));
                }
            }
            Event::CData(_) if self.frames.is_empty() => {
                return Err(self.here_malformed(
                    "a CDATA section outside the root element: XML allows one only inside an element",
                ));
            }
            _ => {}
        }
        Ok(())
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

    /// Checks that `element`'s name is an XML name; `known`: its local name `local` is one of
    /// the format's, so only a prefix could be wrong.
    #[inline]
    fn check_name(
        &mut self,
        element: &BytesStart<'_>,
        local: &[u8],
        known: bool,
    ) -> Result<(), ResultsErrorKind> {
        let name = element.name();
        let name = name.as_ref().as_bytes();
        if known && name.len() == local.len() {
            return Ok(());
        }
        let parent = self.frames.last().map(|frame| &*frame.name);
        match element_name_fault(name, parent) {
            Some(fault) => Err(self.tag_error(element, fault)),
            None => Ok(()),
        }
    }

    /// A fault in the start tag `element` just read, at its own position in the tag.
    fn tag_error(&mut self, element: &BytesStart<'_>, fault: Fault) -> ResultsErrorKind {
        let at = self.source().marked();
        malformed(
            in_token(at, 1, element.as_bytes(), fault.offset),
            fault.message,
        )
    }

    /// [`attributes`] of `element`, a fault reported where it is in the tag.
    fn read_attributes<'e, const N: usize>(
        &mut self,
        element: &'e BytesStart<'_>,
        keys: [&[u8]; N],
    ) -> Result<[Option<Cow<'e, str>>; N], ResultsErrorKind> {
        let name = element.name();
        attributes(element.attributes_raw(), keys).map_err(|fault| {
            let message = format!(
                "a malformed attribute in <{}>: {}",
                name.as_ref(),
                fault.message
            );
            self.tag_error(
                element,
                Fault::new(fault.offset + name.as_ref().len(), message),
            )
        })
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
                    self.check_name(element, local, false)?;
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
                self.check_name(element, local, true)?;
                self.read_attributes(element, [])?;
                if !empty {
                    self.push(Kind::Suites, local, None)?;
                }
            }
            b"testsuite" => {
                self.check_name(element, local, true)?;
                let [name, file, package] =
                    self.read_attributes(element, [b"name", b"file", b"package"])?;
                if !empty {
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
                self.check_name(element, local, true)?;
                let [name, classname, class, file, time] = self.read_attributes(
                    element,
                    [b"name", b"classname", b"class", b"file", b"time"],
                )?;
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
                self.check_name(element, local, true)?;
                self.read_attributes(element, [])?;
                if !empty {
                    self.push(Kind::Content, local, None)?;
                    self.skip_content(None)?;
                }
            }
            _ => {
                self.check_name(element, local, false)?;
                self.read_attributes(element, [])?;
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
            let known = matches!(local, b"system-out" | b"system-err" | b"properties");
            self.check_name(element, local, known)?;
            self.read_attributes(element, [])?;
            if !empty {
                self.push(Kind::Content, local, None)?;
                self.skip_content(None)?;
            }
            return Ok(());
        };
        self.check_name(element, local, true)?;
        let [message, kind] = self.read_attributes(element, [b"message", b"type"])?;
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

mod xml;

#[cfg(test)]
mod differential;

#[cfg(test)]
mod tests;
