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

// ---------------------------------------------------------------------------------------------
// What XML 1.0 allows in markup: names, references, attribute values, declarations.
//
// Every check here runs on bytes the reader already holds (one tag, one reference), and the
// common case (an ASCII name, a value with nothing to decode) costs one pass over a few bytes.

/// A well-formedness fault in a token: where it starts (a byte offset in the token) and what
/// it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    offset: usize,
    message: String,
}

impl Fault {
    fn new(offset: usize, message: impl Into<String>) -> Fault {
        Fault {
            offset,
            message: message.into(),
        }
    }

    /// The same fault, `by` bytes further into the token.
    fn shifted(self, by: usize) -> Fault {
        Fault {
            offset: self.offset + by,
            ..self
        }
    }
}

/// For each byte: [`NAME_START`] when it is an ASCII `NameStartChar`, [`NAME_CHAR`] when it
/// is an ASCII `NameChar` (so that checking a name costs one look-up a byte).
static ASCII_NAME: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 128 {
        let b = byte as u8;
        let start = b.is_ascii_alphabetic() || b == b'_' || b == b':';
        let char = start || b.is_ascii_digit() || b == b'-' || b == b'.';
        table[byte] = if start {
            NAME_START | NAME_CHAR
        } else if char {
            NAME_CHAR
        } else {
            0
        };
        byte += 1;
    }
    table
};
const NAME_START: u8 = 1;
const NAME_CHAR: u8 = 2;

fn is_ascii_name_start(byte: u8) -> bool {
    ASCII_NAME[usize::from(byte)] & NAME_START != 0
}

fn is_ascii_name_char(byte: u8) -> bool {
    ASCII_NAME[usize::from(byte)] & NAME_CHAR != 0
}

/// XML 1.0's `NameStartChar`.
fn is_name_start_char(ch: char) -> bool {
    matches!(ch,
        ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0's `NameChar`.
fn is_name_char(ch: char) -> bool {
    is_name_start_char(ch)
        || matches!(ch, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Where `name` stops being an XML `Name` (the offset of the first byte that does not belong),
/// or `None` when it is one. An empty name fails at 0; so does invalid UTF-8, at its first
/// byte.
fn name_fault(name: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = name.split_first() else {
        return Some(0);
    };
    // The common case, an ASCII name, in one look-up a byte; anything else (a non-ASCII byte
    // among them) takes the path below.
    if is_ascii_name_start(first) && rest.iter().all(|byte| is_ascii_name_char(*byte)) {
        return None;
    }
    if name.is_ascii() {
        if !is_ascii_name_start(first) {
            return Some(0);
        }
        return rest
            .iter()
            .position(|byte| !is_ascii_name_char(*byte))
            .map(|index| index + 1);
    }
    let text = match std::str::from_utf8(name) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&name[..error.valid_up_to()]).unwrap_or_default(),
    };
    text.char_indices()
        .find(|&(index, ch)| {
            if index == 0 {
                !is_name_start_char(ch)
            } else {
                !is_name_char(ch)
            }
        })
        .map(|(index, _)| index)
        .or((text.len() < name.len()).then_some(text.len()))
}

/// The longest reference read, `&` and `;` included: room for `&#x10FFFF;` with leading zeros
/// and for any entity name a message would show. A longer one is refused.
const MAX_REFERENCE_BYTES: usize = 64;

/// What is wrong with a `&` that does not start a reference XML accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadReference {
    /// `&` followed by neither `#` nor a name: a literal `&` that should be `&amp;`.
    Lone,
    /// `&name` or `&#65` with no `;` right after (the length of what is shown).
    Unterminated(usize),
    /// `&name;` for a name other than the five XML predefines.
    Undefined(usize),
    /// `&#...;` that is not decimal digits or `x` and hexadecimal digits.
    MalformedChar(usize),
    /// `&#N;` for a code point that is not an XML `Char`.
    NotXmlChar(usize, u32),
    /// Longer than [`MAX_REFERENCE_BYTES`] before its `;`.
    TooLong,
}

impl BadReference {
    /// The message, for the reference that `bytes` starts with, found `place` ("in the text of
    /// <failure>", "in the value of `name`").
    fn message(self, bytes: &[u8], place: &str) -> String {
        let shown = |length: usize| String::from_utf8_lossy(&bytes[..length.min(bytes.len())]);
        match self {
            BadReference::Lone => {
                format!("a `&` that starts no reference {place} (`&amp;` writes a `&`)")
            }
            BadReference::Unterminated(length) => format!(
                "the reference `{}` {place} does not end with `;` (`&amp;` writes a `&`)",
                shown(length)
            ),
            BadReference::Undefined(length) => format!(
                "the entity `{}` {place} is not defined: without a DTD (JUnit has none) XML defines only \
                 `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` and character references",
                shown(length)
            ),
            BadReference::MalformedChar(length) => format!(
                "the character reference `{}` {place} is malformed: `&#` takes decimal digits, `&#x` \
                 hexadecimal ones, then `;`",
                shown(length)
            ),
            BadReference::NotXmlChar(length, code) => format!(
                "the character reference `{}` {place} names U+{code:04X}, a character XML does not allow",
                shown(length)
            ),
            BadReference::TooLong => format!(
                "a reference {place} longer than {MAX_REFERENCE_BYTES} bytes (`&amp;` writes a `&`)"
            ),
        }
    }
}

/// The reference `bytes` starts with (at its `&`): the character it stands for and its length
/// in bytes. `bytes` holds the rest of the input, or at least [`MAX_REFERENCE_BYTES`] of it.
///
/// XML 1.0 without a DTD: the five predefined entities, `&#N;` and `&#xH;` (a lowercase `x`)
/// naming a character XML allows; nothing else.
#[inline]
fn read_reference(bytes: &[u8]) -> Result<(char, usize), BadReference> {
    debug_assert_eq!(bytes.first(), Some(&b'&'));
    // The references every tool writes, first.
    match bytes.get(1..4) {
        Some(b"amp") if bytes.get(4) == Some(&b';') => Ok(('&', 5)),
        Some(b"lt;") => Ok(('<', 4)),
        Some(b"gt;") => Ok(('>', 4)),
        Some(b"quo") if bytes.get(4..6) == Some(b"t;") => Ok(('"', 6)),
        _ => read_any_reference(bytes),
    }
}

/// [`read_reference`] beyond its common cases.
#[inline(never)]
fn read_any_reference(bytes: &[u8]) -> Result<(char, usize), BadReference> {
    let window = &bytes[..bytes.len().min(MAX_REFERENCE_BYTES)];
    let end = memchr::memchr(b';', window);
    if window.get(1) == Some(&b'#') {
        let (digits_start, radix) = match window.get(2) {
            Some(b'x') => (3, 16),
            _ => (2, 10),
        };
        let digits = window[digits_start..]
            .iter()
            .take_while(|byte| (**byte as char).is_digit(radix))
            .count();
        let digits_end = digits_start + digits;
        if digits == 0 {
            return Err(BadReference::MalformedChar(digits_end + 1));
        }
        if window.get(digits_end) != Some(&b';') {
            return Err(match window.get(digits_end) {
                None if window.len() == MAX_REFERENCE_BYTES => BadReference::TooLong,
                None => BadReference::Unterminated(digits_end),
                Some(_) => BadReference::MalformedChar(digits_end + 1),
            });
        }
        let code = window[digits_start..digits_end]
            .iter()
            .fold(0u32, |code, digit| {
                code.saturating_mul(radix)
                    .saturating_add((*digit as char).to_digit(radix).unwrap_or(0))
            });
        return match char::from_u32(code).filter(|ch| is_xml_char(*ch)) {
            Some(ch) => Ok((ch, digits_end + 1)),
            None => Err(BadReference::NotXmlChar(digits_end + 1, code)),
        };
    }
    let name_end = end.unwrap_or(window.len());
    let name = &window[1..name_end];
    match name_fault(name) {
        Some(0) => Err(BadReference::Lone),
        Some(bad) => Err(BadReference::Unterminated(1 + bad)),
        None if end.is_none() => Err(if window.len() == MAX_REFERENCE_BYTES {
            BadReference::TooLong
        } else {
            BadReference::Unterminated(window.len())
        }),
        None => match name {
            b"lt" => Ok(('<', 4)),
            b"gt" => Ok(('>', 4)),
            b"amp" => Ok(('&', 5)),
            b"apos" => Ok(('\'', 6)),
            b"quot" => Ok(('"', 6)),
            _ => Err(BadReference::Undefined(name_end + 1)),
        },
    }
}

/// Whether XML allows `ch` in a document (its `Char` production): not NUL nor the other
/// control characters but tab, line feed and carriage return, nor U+FFFE and U+FFFF.
fn is_xml_char(ch: char) -> bool {
    matches!(ch, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An attribute value as XML 1.0 reads it: refused when it holds a `<`, a `&` that starts no
/// reference to a character XML allows (see [`read_reference`]) or a character XML forbids;
/// else, with `decode`, with its references decoded and its tabs and line ends made spaces.
/// Borrowed when there is nothing to change (always, without `decode`). A fault's offset is in
/// `raw`.
fn attribute_value<'v>(raw: &'v str, key: &str, decode: bool) -> Result<Cow<'v, str>, Fault> {
    let bytes = raw.as_bytes();
    if !has_special_bytes(bytes) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let (replacement, length) = match bytes[at] {
            b'<' => {
                return Err(Fault::new(
                    at,
                    format!(
                        "a `<` in the value of `{key}`: XML does not allow one in an attribute value (`&lt;` writes it)"
                    ),
                ));
            }
            b'&' => read_reference(&bytes[at..]).map_err(|bad| {
                Fault::new(
                    at,
                    bad.message(&bytes[at..], &format!("in the value of `{key}`")),
                )
            })?,
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => (' ', 2),
            b'\t' | b'\n' | b'\r' => (' ', 1),
            control @ 0..0x20 => {
                return Err(Fault::new(
                    at,
                    format!(
                        "the control character U+{control:04X} in the value of `{key}`: XML does not allow it"
                    ),
                ));
            }
            0xEF if matches!(bytes.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF])) => {
                return Err(Fault::new(
                    at,
                    format!(
                        "the character U+FFF{:X} in the value of `{key}`: XML does not allow it",
                        bytes[at + 2] - 0xB0
                    ),
                ));
            }
            _ => {
                at += 1;
                continue;
            }
        };
        if decode {
            let out = out.get_or_insert_with(|| String::with_capacity(raw.len()));
            out.push_str(&raw[copied..at]);
            out.push(replacement);
        }
        at += length;
        copied = at;
    }
    Ok(match out {
        Some(mut out) => {
            out.push_str(&raw[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(raw),
    })
}

/// Whether an attribute value has a byte that [`attribute_value`] must look at: `&`, `<`, a
/// control character (`\t`, `\r` and `\n` among them) or a byte of a non-ASCII character
/// (U+FFFE and U+FFFF among them). Looks at 8 bytes at a time: values are short, and one pass
/// beats a search for each byte.
fn has_special_bytes(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // "Has a zero byte": (x - 1) & !x & HIGH, with the wanted bytes made zero bytes; "has a
    // byte below n": (x - n) & !x & HIGH; a byte from 0x80 has its high bit set.
    let special = |word: u64| {
        let zero = |word: u64| word.wrapping_sub(ONES) & !word;
        let below_space = word.wrapping_sub(ONES * 0x20) & !word;
        let found = below_space
            | zero(word ^ (ONES * u64::from(b'&')))
            | zero(word ^ (ONES * u64::from(b'<')))
            | word;
        found & HIGH != 0
    };
    let word_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    if bytes.len() < 8 {
        // Padded with a byte that is not special.
        let mut padded = [b'a'; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        return special(u64::from_le_bytes(padded));
    }
    // Whole words, then the last eight bytes (which may overlap the words before).
    (0..bytes.len() / 8).any(|index| special(word_at(index * 8)))
        || special(word_at(bytes.len() - 8))
}

/// The attributes of a start tag as XML 1.0 reads them, `raw` being what follows the element's
/// name: each `Name S? = S? "value"` (or `'value'`) after whitespace, no name twice. Hands each
/// to `each` as (name, its offset, raw value, its offset); the values are `each`'s to check.
/// Offsets are in `raw`.
fn scan_attributes<'r>(
    raw: &'r str,
    mut each: impl FnMut(&'r str, usize, &'r str, usize) -> Result<(), Fault>,
) -> Result<(), Fault> {
    let bytes = raw.as_bytes();
    let skip_spaces = |mut at: usize| {
        while at < bytes.len() && is_space(bytes[at]) {
            at += 1;
        }
        at
    };
    // The duplicate check: a bit for each name seen, from its length and first and last
    // bytes; only when a name's bit is already set are the names before it compared.
    let mut seen = 0u64;
    let mut at = 0;
    loop {
        let spaced = bytes.get(at).is_some_and(|byte| is_space(*byte));
        at = skip_spaces(at);
        if at == bytes.len() {
            return Ok(());
        }
        let key_start = at;
        // An ASCII name in one look-up a byte; anything else is checked by `name_fault`.
        while at < bytes.len() && is_ascii_name_char(bytes[at]) {
            at += 1;
        }
        let plain = is_ascii_name_start(bytes[key_start])
            && bytes
                .get(at)
                .is_none_or(|byte| *byte == b'=' || is_space(*byte));
        if !plain {
            while at < bytes.len() && bytes[at] != b'=' && !is_space(bytes[at]) {
                at += 1;
            }
        }
        let key = &raw[key_start..at];
        if !plain && let Some(bad) = name_fault(key.as_bytes()) {
            return Err(Fault::new(
                key_start + bad,
                format!("`{key}` is not an XML name"),
            ));
        }
        if !spaced {
            return Err(Fault::new(
                key_start,
                format!("no space between `{key}` and what comes before it"),
            ));
        }
        at = skip_spaces(at);
        if bytes.get(at) != Some(&b'=') {
            return Err(Fault::new(at, format!("`{key}` is not followed by `=`")));
        }
        at = skip_spaces(at + 1);
        let quote = match bytes.get(at) {
            Some(quote @ (b'"' | b'\'')) => *quote,
            Some(_) => {
                return Err(Fault::new(
                    at,
                    format!("the value of `{key}` is not in quotes"),
                ));
            }
            None => return Err(Fault::new(at, format!("`{key}=` has no value"))),
        };
        let value_start = at + 1;
        let Some(length) = find_either(quote, quote, &bytes[value_start..]) else {
            return Err(Fault::new(
                bytes.len(),
                format!("the value of `{key}` has no closing {}", quote as char),
            ));
        };
        let key_bytes = key.as_bytes();
        let bit = 1u64
            << ((key_bytes.len() * 7
                + usize::from(key_bytes[0]) * 3
                + usize::from(key_bytes[key_bytes.len() - 1]))
                % 64);
        if seen & bit != 0 && attribute_names(&raw[..key_start]).any(|other| other == key) {
            return Err(Fault::new(
                key_start,
                format!("`{key}` appears twice: XML allows an attribute once per element"),
            ));
        }
        seen |= bit;
        each(
            key,
            key_start,
            &raw[value_start..value_start + length],
            value_start,
        )?;
        at = value_start + length + 1;
    }
}

/// The names of the attributes in `raw`, which [`scan_attributes`] has read without fault.
fn attribute_names(raw: &str) -> impl Iterator<Item = &str> {
    let bytes = raw.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && is_space(bytes[at]) {
            at += 1;
        }
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        while at < bytes.len() && bytes[at] != b'=' && !is_space(bytes[at]) {
            at += 1;
        }
        let name = &raw[start..at];
        // Past `=` to the quote, then past the value and its closing quote.
        let quote = start
            + bytes[start..]
                .iter()
                .position(|byte| matches!(byte, b'"' | b'\''))?;
        let length = memchr::memchr(bytes[quote], &bytes[quote + 1..])?;
        at = quote + 1 + length + 1;
        Some(name)
    })
}

/// Checks what follows `xml` in an XML declaration (`<?xml version="1.0" encoding="UTF-8"
/// standalone="yes"?>`): `version` first, then `encoding`, then `standalone`, the last two
/// optional, each with a value of its grammar. Offsets are in `raw`.
fn check_declaration(raw: &str) -> Result<(), Fault> {
    // 0: `version` expected; 1: after it; 2: after `encoding`; 3: after `standalone`.
    let mut stage = 0;
    scan_attributes(raw, |key, key_at, value, value_at| {
        let valid = match (stage, key) {
            (0, "version") => {
                stage = 1;
                value.strip_prefix("1.").is_some_and(|digits| {
                    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
                })
            }
            (1, "encoding") => {
                stage = 2;
                let name = value.as_bytes();
                name.first().is_some_and(u8::is_ascii_alphabetic)
                    && name[1..].iter().all(|byte| {
                        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
                    })
            }
            (1 | 2, "standalone") => {
                stage = 3;
                matches!(value, "yes" | "no")
            }
            (0, _) => {
                return Err(Fault::new(
                    key_at,
                    format!("it starts with `{key}`, not `version`"),
                ));
            }
            _ => {
                return Err(Fault::new(
                    key_at,
                    format!(
                        "`{key}` where only `encoding`, then `standalone` may follow `version`"
                    ),
                ));
            }
        };
        if valid {
            Ok(())
        } else {
            Err(Fault::new(
                value_at,
                format!("`{key}` has a value its grammar does not allow: {value:?}"),
            ))
        }
    })?;
    if stage == 0 {
        return Err(Fault::new(raw.len(), "it has no `version`"));
    }
    Ok(())
}

/// Checks a processing instruction's target: an XML name, and not `xml` in any case (XML
/// reserves it for the declaration at the start of the file). Offsets are in `target`.
fn check_pi_target(target: &[u8]) -> Result<(), Fault> {
    if let Some(bad) = name_fault(target) {
        return Err(Fault::new(
            bad,
            format!(
                "a processing instruction whose target `{}` is not an XML name",
                String::from_utf8_lossy(target)
            ),
        ));
    }
    if target.eq_ignore_ascii_case(b"xml") {
        return Err(Fault::new(
            0,
            format!(
                "a processing instruction named `{}`: XML reserves the name for the XML declaration, \
                 which may only be the very first thing in the file",
                String::from_utf8_lossy(target)
            ),
        ));
    }
    Ok(())
}

/// Where the text of a comment (between `<!--` and `-->`) breaks XML's rule that it holds no
/// `--` and does not end with `-`.
fn comment_fault(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'-', &text[from..]) {
        let at = from + found;
        if at + 1 == text.len() || text[at + 1] == b'-' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The message for a comment that breaks [`comment_fault`]'s rule.
const DOUBLE_HYPHEN: &str =
    "`--` inside a comment: XML allows it only in the `-->` that ends the comment";

/// The message for `]]>` in text.
fn cdata_end_in_text(place: &str) -> String {
    format!("`]]>` {place}: XML allows it only as the end of a CDATA section (`]]&gt;` writes it)")
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

#[cfg(test)]
mod differential;

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
    pub(super) fn parse_bytes(bytes: &[u8]) -> Result<Vec<TestCase>, ResultsErrorKind> {
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
        let decoded = |text: &str| read_reference(text.as_bytes());
        assert_eq!(decoded("&#65;"), Ok(('A', 5)));
        assert_eq!(decoded("&#x41;"), Ok(('A', 6)));
        assert_eq!(decoded("&#x0000000041;tail"), Ok(('A', 14)));
        assert_eq!(decoded("&#x1F600;"), Ok(('😀', 9)));
        assert_eq!(decoded("&#9;"), Ok(('\t', 4)));
        assert_eq!(decoded("&quot;"), Ok(('"', 6)));
        assert_eq!(decoded("&apos;x"), Ok(('\'', 6)));
        // A sign, no digit, a digit of another base, a capital `X`, or a character XML forbids
        // (NUL, other control characters, a surrogate, U+FFFF, beyond U+10FFFF): refused, as
        // XML 1.0 refuses them.
        for (refused, why) in [
            ("&#x+41;", BadReference::MalformedChar(4)),
            ("&#+65;", BadReference::MalformedChar(3)),
            ("&#-65;", BadReference::MalformedChar(3)),
            ("&#;", BadReference::MalformedChar(3)),
            ("&#x;", BadReference::MalformedChar(4)),
            ("&#x4G;", BadReference::MalformedChar(5)),
            ("&#6a;", BadReference::MalformedChar(4)),
            ("&#X41;", BadReference::MalformedChar(3)),
            ("&#0;", BadReference::NotXmlChar(4, 0)),
            ("&#x0;", BadReference::NotXmlChar(5, 0)),
            ("&#1;", BadReference::NotXmlChar(4, 1)),
            ("&#x1F;", BadReference::NotXmlChar(6, 0x1F)),
            ("&#xD800;", BadReference::NotXmlChar(8, 0xD800)),
            ("&#xFFFF;", BadReference::NotXmlChar(8, 0xFFFF)),
            ("&#x110000;", BadReference::NotXmlChar(10, 0x11_0000)),
            ("&#99999999999;", BadReference::NotXmlChar(14, u32::MAX)),
            ("&#65", BadReference::Unterminated(4)),
            ("&", BadReference::Lone),
            ("& b", BadReference::Lone),
            ("&;", BadReference::Lone),
            ("&1;", BadReference::Lone),
            ("&amp", BadReference::Unterminated(4)),
            ("&amp b;", BadReference::Unterminated(4)),
            ("&nbsp;", BadReference::Undefined(6)),
            ("&AMP;", BadReference::Undefined(5)),
        ] {
            assert_eq!(decoded(refused), Err(why), "{refused}");
        }
        let long = format!("&#{};", "0".repeat(MAX_REFERENCE_BYTES));
        assert_eq!(decoded(&long), Err(BadReference::TooLong));
        let long = format!("&{};", "a".repeat(MAX_REFERENCE_BYTES));
        assert_eq!(decoded(&long), Err(BadReference::TooLong));

        let tests = parse(
            r#"<testsuite><testcase name="a&#x42;c&#65;"><failure message="&#x42;&#10;"/></testcase></testsuite>"#,
        );
        assert_eq!(tests[0].name, "aBcA");
        assert_eq!(tests[0].message.as_deref(), Some("B\n"));
        let (line, column, message) =
            error("<testsuite>\n<testcase name=\"a&#x+41;\"/></testsuite>");
        assert_eq!((line, column), (2, 18), "{message}");
        assert_eq!(
            message,
            "a malformed attribute in <testcase>: the character reference `&#x+` in the value of `name` \
             is malformed: `&#` takes decimal digits, `&#x` hexadecimal ones, then `;`"
        );
        let (line, column, message) =
            error("<testsuite><testcase><failure>\n  &#0;</failure></testcase></testsuite>");
        assert_eq!((line, column), (2, 3), "{message}");
        assert_eq!(
            message,
            "the character reference `&#0;` in the text of <failure> names U+0000, a character XML does not allow"
        );
    }

    #[test]
    fn messages_from_cdata_entities_and_self_closing_elements() {
        let tests = parse(
            "<testsuite name=\"s\">\
<testcase name=\"cdata\"><failure><![CDATA[a < b && c]]> then &lt;d&gt; &#65;&#x42; ]] ]&gt;</failure></testcase>\
<testcase name=\"attribute\"><failure message=\"x &lt; y &amp;&amp; &quot;q&quot; &apos;s&apos; &#10;next&#x9;tab line\nbreak\"/></testcase>\
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
            Some("a < b && c then <d> AB ]] ]>")
        );
        assert_eq!(
            message("attribute").as_deref(),
            Some("x < y && \"q\" 's' \nnext\ttab line break")
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
        fn the_scan_for_special_bytes_finds_them(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    12 => 0x20u8..0x80,
                    1 => proptest::strategy::Just(b'&'),
                    1 => proptest::strategy::Just(b'<'),
                    1 => proptest::strategy::Just(0xEF),
                    1 => 0x1fu8..0x21,
                    1 => proptest::num::u8::ANY,
                ],
                0..24,
            )
        ) {
            let expected = bytes.iter().any(|byte| matches!(byte, b'&' | b'<' | 0..0x20 | 0x80..));
            proptest::prop_assert_eq!(has_special_bytes(&bytes), expected);
        }
    }

    /// quick-xml's attribute iterator (its duplicate check on), as `attributes` used it before
    /// scanning by itself, with the values decoded as `attributes` decodes them; `None` when it
    /// refuses the tag.
    fn attributes_by_quick_xml<const N: usize>(
        element: &BytesStart<'_>,
        keys: [&[u8]; N],
    ) -> Option<[Option<String>; N]> {
        let mut values = [const { None }; N];
        for attribute in element.attributes() {
            let attribute = attribute.ok()?;
            let key = attribute.key.local_name();
            if let Some(index) = keys
                .iter()
                .position(|wanted| *wanted == key.as_ref().as_bytes())
                && values[index].is_none()
            {
                let value = attribute_value(&attribute.value, "", true).ok()?;
                values[index] = Some(value.into_owned());
            }
        }
        Some(values)
    }

    proptest::proptest! {
        /// Whatever follows a tag's name, what the scan accepts quick-xml's iterator accepts
        /// too, with the same values (and so what the iterator refuses, the scan refuses). The
        /// scan refuses more: what XML 1.0 refuses and the iterator takes (`<` or a bad `&` in a
        /// value, no space between attributes, a name that is not an XML name).
        #[test]
        fn attributes_are_scanned_as_quick_xml_reads_them(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                " ", "  ", "\t", "\n", "\r", "=", " = ", "\"", "'", "name", "time", "ns:name",
                ":", "x", "é", "&amp;", "&", "\"v\"", "'w'", "name=\"a b\"", "time='1.5'",
                "<", ">", "/", " name='&lt;'", " x=\"&#10;\"",
            ]), 0..10)
        ) {
            let tag = format!("testcase{}", pieces.concat());
            let element = BytesStart::from_content(tag.as_str(), "testcase".len());
            let keys: [&[u8]; 3] = [b"name", b"time", b"x"];
            if let Ok(values) = attributes(element.attributes_raw(), keys) {
                let values = values.map(|value| value.map(Cow::into_owned));
                proptest::prop_assert_eq!(Some(values), attributes_by_quick_xml(&element, keys), "{:?}", tag);
            }
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
        assert_eq!(attribute_value("&amp; P&lt;é", "k", true).unwrap(), "& P<é");
        let fault = attribute_value("a & éééééé; b", "k", true).unwrap_err();
        assert_eq!(fault.offset, 2);
        assert_eq!(
            fault.message,
            "a `&` that starts no reference in the value of `k` (`&amp;` writes a `&`)"
        );
        // `&éééééé;` is a reference, to an entity nobody defined: refused, the name shown whole.
        let (line, column, message) = error(
            "<testsuite><testcase name=\"x&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};\"/></testsuite>",
        );
        assert_eq!((line, column), (1, 29), "{message}");
        assert!(
            message.contains("the entity `&éééééé;` in the value of `name` is not defined"),
            "{message}"
        );
        let (line, column, message) = error(
            "<testsuite><testcase><failure>é&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};</failure></testcase></testsuite>",
        );
        assert_eq!((line, column), (1, 32), "{message}");
        assert!(
            message.contains("the entity `&ééééé;` in the text of <failure> is not defined"),
            "{message}"
        );
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

        // Without the DOCTYPE, a reference to an entity nobody declared is refused, as XML 1.0
        // refuses it (before, it was kept as written).
        let (line, column, message) = error(
            "<testsuites><testsuite name=\"&lol9;\"><testcase name=\"&lol9;\"><failure>&lol9;</failure></testcase></testsuite></testsuites>",
        );
        assert_eq!((line, column), (1, 30), "{message}");
        assert!(
            message.contains("the entity `&lol9;` in the value of `name` is not defined"),
            "{message}"
        );
        let (line, column, message) = error(
            "<testsuites><testsuite><testcase><failure>\n&lol9;</failure></testcase></testsuite></testsuites>",
        );
        assert_eq!((line, column), (2, 1), "{message}");
        assert!(
            message.contains("the entity `&lol9;` in the text of <failure> is not defined"),
            "{message}"
        );
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
                (2, 16),
                "a malformed attribute in <testcase>: the value of `name` is not in quotes",
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

    // ---- well-formedness: what XML 1.0 refuses is refused, where it goes wrong

    /// Two files of a public corpus of JUnit reports (a reporter's expected output, its
    /// durations replaced by a placeholder) carry `time="<<computed>>"`: not XML, since a
    /// value may not hold `<`. Refused at the first `<` of the value, on the testsuite and on
    /// the testcase alike.
    #[test]
    fn computed_placeholders_of_a_public_corpus_are_refused_at_the_value() {
        let on_the_suite = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  \
            <testsuite name=\"Chrome_puppeteer\" id=\"0\" tests=\"1\" skipped=\"0\" errors=\"0\" failures=\"0\" time=\"<<computed>>\">\n    \
            <testcase name=\"passes\" classname=\"test/simple.test.js\" file=\"test/simple.test.js\"/>\n  \
            </testsuite>\n</testsuites>\n";
        assert_eq!(
            error(on_the_suite),
            (
                3,
                97,
                "a malformed attribute in <testsuite>: a `<` in the value of `time`: XML does not allow one \
                 in an attribute value (`&lt;` writes it)"
                    .to_owned()
            )
        );
        let on_the_case = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  \
            <testsuite name=\"Chrome_puppeteer\" id=\"0\" tests=\"1\" skipped=\"0\" errors=\"0\" failures=\"0\">\n  \
            <testcase name=\"passes\" classname=\"test/simple.test.js\" file=\"test/simple.test.js\" time=\"<<computed>>\"/>\n  \
            </testsuite>\n</testsuites>\n";
        assert_eq!(
            error(on_the_case),
            (
                4,
                92,
                "a malformed attribute in <testcase>: a `<` in the value of `time`: XML does not allow one \
                 in an attribute value (`&lt;` writes it)"
                    .to_owned()
            )
        );
        // As `coalmine ingest` and a canary name it.
        let explained = crate::results::ResultsError {
            path: "junit/report.xml".into(),
            format: crate::results::Format::Junit,
            kind: Junit
                .read(&mut on_the_case.as_bytes(), &mut |_| {})
                .unwrap_err(),
        }
        .explain(crate::results::ResultsKey {
            table: "[ci]",
            config: std::path::Path::new("harness.toml"),
        });
        assert!(
            explained.starts_with("malformed junit results in junit/report.xml:4:92: a malformed attribute in <testcase>"),
            "{explained}"
        );
    }

    #[test]
    fn xml_that_is_not_well_formed_is_refused_where_it_goes_wrong() {
        let s = "<testsuite><testcase>";
        let cases: &[(&str, (usize, usize), &str)] = &[
            // Attributes of the elements coalmine reads.
            (
                "<testsuite><testcase name=\"a\" name=\"b\"/></testsuite>",
                (1, 31),
                "a malformed attribute in <testcase>: `name` appears twice: XML allows an attribute once per element",
            ),
            (
                "<testsuite><testcase name=\"a\"time=\"1\"/></testsuite>",
                (1, 30),
                "a malformed attribute in <testcase>: no space between `time` and what comes before it",
            ),
            (
                "<testsuite><testcase name=\"a & b\"/></testsuite>",
                (1, 30),
                "a malformed attribute in <testcase>: a `&` that starts no reference in the value of `name` (`&amp;` writes a `&`)",
            ),
            (
                "<testsuite>\n<testcase classname=\"x\" name=\"&nbsp;\"/></testsuite>",
                (2, 31),
                "a malformed attribute in <testcase>: the entity `&nbsp;` in the value of `name` is not defined: \
                 without a DTD (JUnit has none) XML defines only `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` and character references",
            ),
            (
                "<testsuite><testcase name=\"a\u{1}\"/></testsuite>",
                (1, 29),
                "a malformed attribute in <testcase>: the control character U+0001 in the value of `name`: XML does not allow it",
            ),
            (
                "<testsuite><testcase 1name=\"x\"/></testsuite>",
                (1, 22),
                "a malformed attribute in <testcase>: `1name` is not an XML name",
            ),
            (
                "<testsuite><testcase name= /></testsuite>",
                (1, 28),
                "a malformed attribute in <testcase>: `name=` has no value",
            ),
            (
                "<testsuite><testcase name=x/></testsuite>",
                (1, 27),
                "a malformed attribute in <testcase>: the value of `name` is not in quotes",
            ),
            (
                "<testsuite><testcase name/></testsuite>",
                (1, 26),
                "a malformed attribute in <testcase>: `name` is not followed by `=`",
            ),
            // ... and of those it does not read: a bad value is refused whatever its name.
            (
                "<testsuites tests=\"<1>\"></testsuites>",
                (1, 20),
                "a malformed attribute in <testsuites>: a `<` in the value of `tests`",
            ),
            (
                "<testsuite><testcase><system-out a='&'/></testcase></testsuite>",
                (1, 37),
                "a malformed attribute in <system-out>: a `&` that starts no reference in the value of `a`",
            ),
            (
                "<testsuite><wrapper x=\"1\" x=\"1\"/></testsuite>",
                (1, 27),
                "a malformed attribute in <wrapper>: `x` appears twice",
            ),
            // Tags inside skipped content, which coalmine reads itself.
            (
                "<testsuite><testcase><system-out><a b=\"<\"/></system-out></testcase></testsuite>",
                (1, 40),
                "a malformed attribute in <a>: a `<` in the value of `b`",
            ),
            (
                "<testsuite><properties>\n  <property name=\"a\" value=\"1\" name=\"b\"/></properties></testsuite>",
                (2, 32),
                "a malformed attribute in <property>: `name` appears twice",
            ),
            (
                "<testsuite><testcase><failure><1a/></failure></testcase></testsuite>",
                (1, 32),
                "a malformed element name `1a` in <failure>: it is not an XML name",
            ),
            (
                "<testsuites><1testsuite/></testsuites>",
                (1, 14),
                "a malformed element name `1testsuite` in <testsuites>: it is not an XML name",
            ),
            (
                "<testsuite><testcase><failure>a < b</failure></testcase></testsuite>",
                (1, 34),
                "a `<` that starts no tag in <failure>",
            ),
            // Text: a `&` that starts no reference, and `]]>`, collected, skipped or between
            // elements.
            (
                "<testsuite><testcase><system-out>a && b</system-out></testcase></testsuite>",
                (1, 36),
                "a `&` that starts no reference in the text of <system-out> (`&amp;` writes a `&`)",
            ),
            (
                "<testsuite><testcase><failure>x ]]> y</failure></testcase></testsuite>",
                (1, 33),
                "`]]>` in the text of <failure>: XML allows it only as the end of a CDATA section (`]]&gt;` writes it)",
            ),
            (
                "<testsuite>\n]]></testsuite>",
                (2, 1),
                "`]]>` in the text of <testsuite>",
            ),
            (
                "<testsuites> & </testsuites>",
                (1, 14),
                "a `&` that starts no reference in the text of <testsuites>",
            ),
            (
                "<testsuite><testcase><system-out>&#x1B;[31m</system-out></testcase></testsuite>",
                (1, 34),
                "the character reference `&#x1B;` in the text of <system-out> names U+001B, a character XML does not allow",
            ),
            // Comments: no `--` inside, read by quick-xml or by coalmine.
            (
                "<testsuite><!-- a -- b --></testsuite>",
                (1, 19),
                "`--` inside a comment: XML allows it only in the `-->` that ends the comment",
            ),
            (
                "<testsuite><!-- a ---></testsuite>",
                (1, 19),
                "`--` inside a comment",
            ),
            (
                "<testsuite><testcase><system-out><!-- a -- b --></system-out></testcase></testsuite>",
                (1, 41),
                "`--` inside a comment",
            ),
            (
                "<testsuite><testcase><system-out><!-- a ---></system-out></testcase></testsuite>",
                (1, 41),
                "`--` inside a comment",
            ),
            // CDATA outside the root element.
            (
                "<testsuites/>\n<![CDATA[x]]>",
                (2, 1),
                "a CDATA section outside the root element",
            ),
            // The XML declaration: first, and as its grammar says.
            (
                " <?xml version=\"1.0\"?><testsuites/>",
                (1, 2),
                "an XML declaration (`<?xml ...?>`) that is not at the very start of the file",
            ),
            (
                "<testsuites/><?xml version=\"1.0\"?>",
                (1, 14),
                "an XML declaration (`<?xml ...?>`) that is not at the very start of the file",
            ),
            (
                "<?xml version=\"2.0\"?><testsuites/>",
                (1, 16),
                "a malformed XML declaration: `version` has a value its grammar does not allow: \"2.0\"",
            ),
            (
                "<?xml encoding=\"UTF-8\"?><testsuites/>",
                (1, 7),
                "a malformed XML declaration: it starts with `encoding`, not `version`",
            ),
            (
                "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?><testsuites/>",
                (1, 38),
                "a malformed XML declaration: `encoding` where only `encoding`, then `standalone` may follow `version`",
            ),
            (
                "<?xml version=\"1.0\" encoding=\"UTF 8\"?><testsuites/>",
                (1, 31),
                "a malformed XML declaration: `encoding` has a value its grammar does not allow",
            ),
            (
                "<?xml version=\"1.0\" standalone=\"maybe\"?><testsuites/>",
                (1, 33),
                "a malformed XML declaration: `standalone` has a value its grammar does not allow",
            ),
            (
                "<?xml?><testsuites/>",
                (1, 6),
                "a malformed XML declaration: it has no `version`",
            ),
            // Processing instructions: a name for a target, and not `xml`.
            (
                "<?XML version=\"1.0\"?><testsuites/>",
                (1, 3),
                "a processing instruction named `XML`: XML reserves the name",
            ),
            (
                "<testsuites><testcase><system-out><?xml version=\"1.0\"?></system-out></testcase></testsuites>",
                (1, 37),
                "a processing instruction named `xml`",
            ),
            (
                "<testsuites><testcase><system-out><?1pi x?></system-out></testcase></testsuites>",
                (1, 37),
                "a processing instruction whose target `1pi` is not an XML name",
            ),
            (
                "<testsuites><??></testsuites>",
                (1, 15),
                "a processing instruction whose target `` is not an XML name",
            ),
            // A DOCTYPE: only one, before the root element, spelled in capitals.
            (
                "<testsuites><!DOCTYPE x></testsuites>",
                (1, 13),
                "a DOCTYPE inside or after the root element",
            ),
            (
                "<!DOCTYPE a>\n<!DOCTYPE a><testsuites/>",
                (2, 1),
                "a second DOCTYPE",
            ),
            (
                "<!doctype testsuites><testsuites/>",
                (1, 1),
                "a DOCTYPE not spelled `<!DOCTYPE`",
            ),
        ];
        for (xml, position, fragment) in cases {
            let (line, column, message) = error(xml);
            assert!(
                message.contains(fragment),
                "{xml:?}: {message:?} lacks {fragment:?}"
            );
            assert_eq!((line, column), *position, "{xml:?}: {message}");
        }
        // Invalid UTF-8 in a tag of skipped content, as in one coalmine reads.
        let (line, column, message) = error(
            [
                s.as_bytes(),
                b"<system-out>\n<a b=\"\xFF\"/></system-out></testcase></testsuite>",
            ]
            .concat(),
        );
        assert_eq!(
            (line, column, message.as_str()),
            (2, 7, "invalid UTF-8 in a tag in <system-out>")
        );
    }

    /// What XML allows stays accepted: markup characters escaped, `>` and `]]` in text, `]]>`
    /// in a value, a declaration in any of its forms, processing instructions, namespaces
    /// (XML 1.0 does not check their prefixes, nor does coalmine).
    #[test]
    fn xml_that_is_well_formed_is_still_read() {
        for xml in [
            "<testsuite><testcase name=\"a &lt;&amp;&gt; b &#60; &#x3C;\" classname=']]>'/></testsuite>",
            "<testsuite><testcase><failure>a &gt; b > c ]] ]&gt; ]]]</failure></testcase></testsuite>",
            "<testsuite><testcase><system-out>]]]] &#x10FFFF; &#1114111; &#x0000041;</system-out></testcase></testsuite>",
            "<?xml version=\"1.0\"?><testsuites/>",
            "<?xml version='1.1' encoding='ISO-8859-1' standalone='no' ?>\n<testsuites/>",
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuites/>",
            "<?xml-stylesheet href=\"junit.xsl\"?><testsuites><?pi?><testcase><system-out><?pi data ?></system-out></testcase></testsuites>",
            "<!-- a - b --><testsuites><!----><testcase><system-out><!-- - --></system-out></testcase></testsuites>",
            "<testsuite xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:noNamespaceSchemaLocation=\"https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report.xsd\" \
             name=\"s\"><testcase name=\"t\" undeclared:prefix=\"1\"/></testsuite>",
            "<testsuite><testcase\n  name = 'a'\n  time\t=\t\"1\"\n/></testsuite >",
            "<testsuite><testcase><system-out><a\n b='1' c = \"2\" /><é/><_x.y-z/></system-out></testcase></testsuite>",
        ] {
            parse(xml);
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
            // A malformed attribute in a tag longer than the window: reported where it is.
            (
                format!(
                    "<testsuites>\n{filler}<testcase name=\"{long_name}\" broken/></testsuites>"
                ),
                "/></testsuites>",
            ),
            // The same in skipped content, where coalmine reads the tag itself.
            (
                format!(
                    "<testsuites>\n<testcase><system-out>{filler}<a name=\"{long_name}\" broken/></system-out></testcase></testsuites>"
                ),
                "/></system-out>",
            ),
            // A bad reference in skipped text just past a window.
            (
                format!(
                    "<testsuites>\n<testcase><system-out>{filler}&amp;&#0;</system-out></testcase></testsuites>"
                ),
                "&#0;",
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
