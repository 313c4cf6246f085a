//! Secret redaction: replaces the values of secrets with [`REDACTED`] in text, in files and in
//! whole artifact folders.
//!
//! A [`Redactor`] is built once per run from the *values* of the environment variables named in
//! `[ci] secrets` and from the configured regex patterns. It is then applied to everything the
//! harness keeps or prints: captured logs, `canary.json`, failure messages, reports and history
//! messages.
//!
//! # What is redacted
//! - **Literal values**, byte for byte, and the forms they take when a program writes them into
//!   JSON (`"` → `\"`, `\` → `\\`, control characters, and the variants that common encoders
//!   produce: `\uXXXX` for non-ASCII as Python does, `\u003c` for `<`, `>`, `&` as Go does, `\/`
//!   as PHP does, upper- or lower-case hex) or percent-encode them into a URL or a form. Every
//!   byte covered by any occurrence of any of these is redacted: occurrences that overlap (one
//!   secret inside another, or the end of one being the start of the next) are merged into a
//!   single [`REDACTED`], so no tail of a longer secret survives. Values shorter than
//!   [`MIN_SECRET_LEN`] bytes (and values that are part of the marker itself, such as `DACT`) are
//!   not redacted, since they would redact ordinary text everywhere; [`Redactor::ignored`] says
//!   which, without saying what they are.
//! - **Patterns** (`regex::bytes` syntax, for example `ghp_[A-Za-z0-9]{36}`): each match is
//!   replaced by [`REDACTED`], or only the capture group named `secret` when the pattern has one
//!   (`password=(?<secret>\S+)` keeps `password=`). Patterns are applied after the literals, one
//!   line (`\n`-delimited, without the `\n`) at a time, so `^` and `$` mean the start and end of
//!   a line. Empty matches and matches that lie inside an existing [`REDACTED`] are left alone,
//!   so redacting twice changes nothing the second time.
//!
//! # Bounded memory
//! Files are streamed. Literal values are always caught, wherever the read buffer happens to
//! cut them. Patterns see a line at most [`MAX_LINE_CHUNK`] bytes at a time: a longer line is cut
//! into chunks of that size, and a pattern match that spans such a cut is **not** caught. Literal
//! values have no such limit.
//!
//! # Files
//! [`Redactor::redact_file`] first scans a file read-only and stops at the first thing to
//! redact; a file with nothing to redact is never written (its mtime, and its folder's, stay
//! as they were). Otherwise it writes the redacted content to a temporary file in the same
//! folder (mode `0600` while written, so it never holds more than the redacted text), copies the
//! owner (best effort) and permissions, syncs it and renames it over the original.
//! [`Redactor::redact_tree`] does this for every regular file under a folder, without following
//! symbolic links.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex::bytes::Regex;

/// What every secret is replaced by.
pub const REDACTED: &str = "[REDACTED]";

/// Literal values shorter than this many bytes are not redacted (see [`Redactor::ignored`]).
pub const MIN_SECRET_LEN: usize = 4;

/// The longest piece of a line that patterns are applied to at once, in bytes. A pattern match
/// that spans a cut in a longer line is not caught; literal values always are.
pub const MAX_LINE_CHUNK: usize = 1 << 20;

/// The read buffer of [`Redactor::redact_file`], in bytes (larger when a secret is longer than
/// half of it).
const STREAM_BUF: usize = 64 * 1024;

const MARKER: &[u8] = REDACTED.as_bytes();

/// Why a [`Redactor`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedactError {
    /// A secret pattern is not a valid regex.
    #[error("invalid secret pattern `{pattern}`: {error}")]
    InvalidPattern {
        /// The pattern as configured.
        pattern: String,
        /// What the regex parser or compiler said.
        error: regex::Error,
    },
    /// The literal values could not be compiled into one matcher (for example, too many or too
    /// long).
    #[error("cannot build the matcher for {count} secret value(s): {error}")]
    Literals {
        /// How many distinct byte strings (values and their encoded forms) were given.
        count: usize,
        /// What the Aho-Corasick builder said.
        error: aho_corasick::BuildError,
    },
}

/// Why one of the values given to [`Redactor::new`] is not redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// The value is the empty string (typically: the variable is set but empty).
    Empty,
    /// The value is shorter than [`MIN_SECRET_LEN`] bytes.
    TooShort,
    /// The value occurs inside [`REDACTED`] itself, so redacting it would never end.
    PartOfMarker,
}

/// A value given to [`Redactor::new`] that is not redacted. It tells the value's position and
/// length, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredValue {
    /// Its index among the values given to [`Redactor::new`], from 0.
    pub index: usize,
    /// Its length in bytes.
    pub len: usize,
    /// Why it is ignored.
    pub reason: IgnoreReason,
}

impl fmt::Display for IgnoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "secret value #{} is not redacted: ", self.index)?;
        match self.reason {
            IgnoreReason::Empty => write!(f, "it is empty"),
            IgnoreReason::TooShort => write!(
                f,
                "it is {} byte(s) long, shorter than the minimum of {MIN_SECRET_LEN}",
                self.len
            ),
            IgnoreReason::PartOfMarker => write!(f, "it is part of the marker `{REDACTED}`"),
        }
    }
}

#[derive(Clone)]
struct Pattern {
    source: String,
    regex: Regex,
    /// The index of the capture group named `secret`, if any.
    secret_group: Option<usize>,
}

/// Replaces secret values and pattern matches with [`REDACTED`]; see the [module](self) docs.
///
/// Cheap to clone (the matchers are shared). Its `Debug` output shows counts and patterns, never
/// a secret value.
#[derive(Clone)]
pub struct Redactor {
    /// Every distinct byte string to redact (values and their encoded forms), or `None`.
    literals: Option<AhoCorasick>,
    /// The length of the longest of them (0 when there are none).
    max_literal_len: usize,
    /// How many values are redacted.
    values: usize,
    /// How many byte strings `literals` holds.
    needles: usize,
    patterns: Vec<Pattern>,
    ignored: Vec<IgnoredValue>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let patterns: Vec<&str> = self.patterns.iter().map(|p| p.source.as_str()).collect();
        f.debug_struct("Redactor")
            .field("values", &self.values)
            .field("encoded_forms", &self.needles)
            .field("patterns", &patterns)
            .field("ignored", &self.ignored.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor that redacts nothing.
    pub fn none() -> Redactor {
        Redactor {
            literals: None,
            max_literal_len: 0,
            values: 0,
            needles: 0,
            patterns: Vec::new(),
            ignored: Vec::new(),
        }
    }

    /// Builds a redactor from literal secret `values` and regex `patterns`.
    ///
    /// Empty values, values shorter than [`MIN_SECRET_LEN`] bytes and values that are part of
    /// [`REDACTED`] are skipped and listed by [`ignored`](Self::ignored). Duplicate values are
    /// fine.
    ///
    /// # Errors
    /// [`RedactError::InvalidPattern`] for the first pattern that does not compile, naming it;
    /// [`RedactError::Literals`] if the values cannot be compiled into a matcher.
    pub fn new(
        values: impl IntoIterator<Item = String>,
        patterns: &[String],
    ) -> Result<Redactor, RedactError> {
        let mut ignored = Vec::new();
        let mut needles = std::collections::BTreeSet::new();
        let mut kept = 0;
        for (index, value) in values.into_iter().enumerate() {
            let reason = if value.is_empty() {
                Some(IgnoreReason::Empty)
            } else if value.len() < MIN_SECRET_LEN {
                Some(IgnoreReason::TooShort)
            } else if REDACTED.contains(value.as_str()) {
                Some(IgnoreReason::PartOfMarker)
            } else {
                None
            };
            match reason {
                Some(reason) => ignored.push(IgnoredValue {
                    index,
                    len: value.len(),
                    reason,
                }),
                None => {
                    kept += 1;
                    needles.extend(encoded_forms(&value));
                }
            }
        }
        let max_literal_len = needles.iter().map(Vec::len).max().unwrap_or(0);
        let literals = if needles.is_empty() {
            None
        } else {
            // Standard semantics: the only kind that reports overlapping occurrences, which are
            // merged so that every byte of every occurrence is covered.
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&needles)
                .map_err(|error| RedactError::Literals {
                    count: needles.len(),
                    error,
                })?;
            Some(ac)
        };
        let patterns = patterns
            .iter()
            .map(|source| {
                let regex = Regex::new(source).map_err(|error| RedactError::InvalidPattern {
                    pattern: source.clone(),
                    error,
                })?;
                let secret_group = regex.capture_names().position(|n| n == Some("secret"));
                Ok(Pattern {
                    source: source.clone(),
                    regex,
                    secret_group,
                })
            })
            .collect::<Result<Vec<_>, RedactError>>()?;
        Ok(Redactor {
            literals,
            max_literal_len,
            values: kept,
            needles: needles.len(),
            patterns,
            ignored,
        })
    }

    /// True when there is nothing to redact: no usable value and no pattern.
    pub fn is_empty(&self) -> bool {
        self.literals.is_none() && self.patterns.is_empty()
    }

    /// The values given to [`new`](Self::new) that are not redacted, and why (warn about these).
    pub fn ignored(&self) -> &[IgnoredValue] {
        &self.ignored
    }

    /// Redacts `text`; borrows it back unchanged when there is nothing to redact.
    pub fn redact_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => match String::from_utf8(bytes) {
                Ok(s) => Cow::Owned(s),
                // Only a byte-level pattern (such as `(?-u:\xE2)`) can cut a character.
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        }
    }

    /// Redacts `bytes`; borrows them back unchanged when there is nothing to redact.
    pub fn redact_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let after_literals = self.redact_literals_in(bytes);
        match self.redact_patterns_in(&after_literals) {
            None => after_literals,
            Some(redacted) => Cow::Owned(redacted),
        }
    }

    /// Redacts the file at `path` in place and returns how many replacements were made.
    ///
    /// Memory stays bounded whatever the file's size or line length. A file with nothing to
    /// redact is only read, never written. Otherwise the redacted content goes to a temporary
    /// file in the same folder, which gets the original's permissions (and owner, when allowed)
    /// and is renamed over it; if anything fails the temporary file is removed and the original
    /// is left as it was. A symbolic link is followed and its target rewritten.
    ///
    /// # Errors
    /// The I/O error, with the path in its message; `InvalidInput` when `path` is not a regular
    /// file.
    pub fn redact_file(&self, path: &Path) -> io::Result<u64> {
        self.redact_file_inner(path)
            .map_err(|e| io::Error::new(e.kind(), format!("redacting {}: {e}", path.display())))
    }

    /// Redacts every regular file under `dir`, recursively, without following symbolic links
    /// (links are neither followed nor rewritten; other special files are skipped). Returns how
    /// many files were changed and how many replacements were made in all.
    ///
    /// A file that cannot be redacted does not stop the walk: every other file is still
    /// redacted, and then the first error is returned, saying how many files failed. Files that
    /// vanish during the walk are skipped.
    ///
    /// # Errors
    /// As above, or the error reading `dir` itself.
    pub fn redact_tree(&self, dir: &Path) -> io::Result<(usize, u64)> {
        let mut changed = 0;
        let mut replacements = 0;
        let mut failures: Vec<io::Error> = Vec::new();
        if self.is_empty() {
            // Still report an unreadable folder, as a non-empty redactor would.
            fs::read_dir(dir).map_err(|e| with_path(e, dir))?;
            return Ok((0, 0));
        }
        let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
        while let Some(folder) = stack.pop() {
            let entries =
                match fs::read_dir(&folder).and_then(|rd| rd.collect::<Result<Vec<_>, _>>()) {
                    Ok(entries) => entries,
                    Err(e) if folder == dir => return Err(with_path(e, dir)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        failures.push(with_path(e, &folder));
                        continue;
                    }
                };
            // Listed before anything is rewritten, so the temporary files never show up.
            let mut entries: Vec<(PathBuf, fs::FileType)> = entries
                .into_iter()
                .filter_map(|entry| match entry.file_type() {
                    Ok(kind) => Some((entry.path(), kind)),
                    Err(e) => {
                        if e.kind() != io::ErrorKind::NotFound {
                            failures.push(with_path(e, &entry.path()));
                        }
                        None
                    }
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (path, kind) in entries.into_iter().rev() {
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    match self.redact_file_inner(&path) {
                        Ok(0) => {}
                        Ok(n) => {
                            changed += 1;
                            replacements += n;
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => failures.push(with_path(e, &path)),
                    }
                }
            }
        }
        match failures.len() {
            0 => Ok((changed, replacements)),
            n => {
                let first = failures.swap_remove(0);
                Err(io::Error::new(
                    first.kind(),
                    format!("{n} file(s) or folder(s) could not be redacted; first: {first}"),
                ))
            }
        }
    }

    fn redact_file_inner(&self, path: &Path) -> io::Result<u64> {
        if self.is_empty() {
            return Ok(0);
        }
        let meta = fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let found = self.run(File::open(path)?, io::sink(), STREAM_BUF, true)?.1;
        if found == 0 {
            return Ok(0);
        }
        let target = if fs::symlink_metadata(path)?.file_type().is_symlink() {
            fs::canonicalize(path)?
        } else {
            path.to_path_buf()
        };
        let folder = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let (tmp_path, tmp) = create_temp(folder)?;
        let result = (|| {
            let source = File::open(&target)?;
            let writer = BufWriter::with_capacity(STREAM_BUF, tmp);
            let (writer, count) = self.run(source, writer, STREAM_BUF, false)?;
            let file = writer.into_inner().map_err(|e| e.into_error())?;
            // Best effort: only root may give a file away, and only to groups one belongs to.
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
            file.set_permissions(meta.permissions())?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp_path, &target)?;
            Ok(count)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp_path);
        }
        result
    }

    /// Streams `reader` through both stages into `writer`; returns the writer and the number of
    /// replacements. With `stop_early`, returns as soon as one replacement is known (scan mode).
    fn run<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
        buf_size: usize,
        stop_early: bool,
    ) -> io::Result<(W, u64)> {
        let mut lines = LineStage::new(&self.patterns, writer);
        let literal = self.stream_literals(reader, &mut lines, buf_size, stop_early)?;
        let (writer, pattern) = lines.finish()?;
        Ok((writer, literal + pattern))
    }

    /// The literal stage over a stream. Occurrences are merged across reads: the last
    /// `max_literal_len - 1` bytes of each buffer are kept for the next one (an occurrence that
    /// starts there may not be complete yet), and an open merged occurrence is carried over.
    fn stream_literals<R: Read, W: Write>(
        &self,
        mut reader: R,
        out: &mut LineStage<'_, W>,
        buf_size: usize,
        stop_early: bool,
    ) -> io::Result<u64> {
        let keep = self.max_literal_len.saturating_sub(1);
        let cap = buf_size.max(2 * self.max_literal_len).max(1);
        let mut buf = vec![0u8; cap];
        let mut filled = 0;
        // The end of a merged occurrence whose marker is already written, relative to `buf`.
        let mut open: Option<usize> = None;
        let mut count = 0;
        let mut intervals = Vec::new();
        loop {
            let mut eof = false;
            while filled < cap {
                match reader.read(&mut buf[filled..]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => filled += n.min(cap - filled),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            let Some(ac) = &self.literals else {
                out.write(&buf[..filled])?;
                filled = 0;
                if eof || (stop_early && out.count > 0) {
                    return Ok(0);
                }
                continue;
            };
            // Every occurrence starting before `safe` lies wholly in the buffer.
            let safe = if eof { filled } else { filled - keep };
            intervals.clear();
            merged_occurrences(ac, &buf[..filled], safe, &mut intervals)
                .map_err(io::Error::other)?;
            let mut cursor = 0;
            for &(start, end) in &intervals {
                if let Some(open_end) = open {
                    if start < open_end {
                        open = Some(open_end.max(end));
                        continue;
                    }
                    // Closed: it ends before this one starts.
                    cursor = open_end;
                }
                out.write(&buf[cursor..start])?;
                out.write(MARKER)?;
                count += 1;
                open = Some(end);
                if stop_early {
                    return Ok(count);
                }
            }
            match open {
                // Nothing that starts at or after `safe` can extend it: it is closed.
                Some(open_end) if open_end <= safe => {
                    out.write(&buf[open_end..safe])?;
                    open = None;
                }
                // Still open: the bytes up to `safe` are covered and swallowed.
                Some(_) => {}
                None => out.write(&buf[cursor..safe])?,
            }
            if eof || (stop_early && out.count > 0) {
                return Ok(count);
            }
            buf.copy_within(safe..filled, 0);
            filled -= safe;
            open = open.map(|end| end - safe);
        }
    }

    fn redact_literals_in<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(ac) = &self.literals else {
            return Cow::Borrowed(bytes);
        };
        let mut intervals = Vec::new();
        if merged_occurrences(ac, bytes, bytes.len(), &mut intervals).is_err() {
            // Cannot happen with this configuration; fail closed rather than leak.
            return Cow::Owned(MARKER.to_vec());
        }
        if intervals.is_empty() {
            return Cow::Borrowed(bytes);
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut cursor = 0;
        for (start, end) in intervals {
            out.extend_from_slice(&bytes[cursor..start]);
            out.extend_from_slice(MARKER);
            cursor = end;
        }
        out.extend_from_slice(&bytes[cursor..]);
        Cow::Owned(out)
    }

    /// The pattern stage on a whole text, chunked exactly as [`LineStage`] chunks a stream.
    /// `None` when nothing matched.
    fn redact_patterns_in(&self, text: &[u8]) -> Option<Vec<u8>> {
        if self.patterns.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        let mut count = 0;
        for line in text.split_inclusive(|&b| b == b'\n') {
            let (content, newline) = match line.split_last() {
                Some((b'\n', content)) => (content, true),
                _ => (line, false),
            };
            for chunk in content.chunks(MAX_LINE_CHUNK) {
                let (redacted, n) = redact_chunk(&self.patterns, chunk);
                out.extend_from_slice(&redacted);
                count += n;
            }
            if newline {
                out.push(b'\n');
            }
        }
        (count > 0).then_some(out)
    }
}

/// Fills `intervals` with the occurrences of the literals in `hay` that start before `limit`,
/// merged where they share at least one byte, sorted by start.
fn merged_occurrences(
    ac: &AhoCorasick,
    hay: &[u8],
    limit: usize,
    intervals: &mut Vec<(usize, usize)>,
) -> Result<(), aho_corasick::MatchError> {
    let mut sorted = true;
    for m in ac.try_find_overlapping_iter(Input::new(hay))? {
        let (start, end) = (m.start(), m.end());
        if start >= limit {
            continue;
        }
        // Occurrences come in order of their end; merge on the fly to keep this list short.
        match intervals.last_mut() {
            Some(last) if end >= last.1 => {
                if start < last.1 {
                    let mut merged = (start.min(last.0), end);
                    intervals.pop();
                    while let Some(prev) = intervals.last() {
                        if merged.0 < prev.1 {
                            merged.0 = merged.0.min(prev.0);
                            intervals.pop();
                        } else {
                            break;
                        }
                    }
                    intervals.push(merged);
                } else {
                    intervals.push((start, end));
                }
            }
            Some(_) => {
                sorted = false;
                intervals.push((start, end));
            }
            None => intervals.push((start, end)),
        }
    }
    if !sorted {
        intervals.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(intervals.len());
        for &(start, end) in intervals.iter() {
            match merged.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        *intervals = merged;
    }
    Ok(())
}

/// Applies every pattern, in order, to one chunk of a line.
fn redact_chunk<'a>(patterns: &[Pattern], chunk: &'a [u8]) -> (Cow<'a, [u8]>, u64) {
    let mut current = Cow::Borrowed(chunk);
    let mut count = 0;
    for pattern in patterns {
        if let Some((next, n)) = apply_pattern(pattern, &current) {
            current = Cow::Owned(next);
            count += n;
        }
    }
    (current, count)
}

fn apply_pattern(pattern: &Pattern, hay: &[u8]) -> Option<(Vec<u8>, u64)> {
    let ranges: Vec<(usize, usize)> = match pattern.secret_group {
        Some(group) => pattern
            .regex
            .captures_iter(hay)
            .filter_map(|caps| caps.get(group).map(|m| (m.start(), m.end())))
            .collect(),
        None => pattern
            .regex
            .find_iter(hay)
            .map(|m| (m.start(), m.end()))
            .collect(),
    };
    let mut out = Vec::new();
    let mut cursor = 0;
    let mut count = 0;
    for (start, end) in ranges {
        if start >= end || start < cursor || inside_marker(hay, start, end) {
            continue;
        }
        out.extend_from_slice(&hay[cursor..start]);
        out.extend_from_slice(MARKER);
        cursor = end;
        count += 1;
    }
    if count == 0 {
        return None;
    }
    out.extend_from_slice(&hay[cursor..]);
    Some((out, count))
}

/// Whether `hay[start..end]` lies within an occurrence of [`REDACTED`] in `hay`.
fn inside_marker(hay: &[u8], start: usize, end: usize) -> bool {
    end - start <= MARKER.len()
        && (end.saturating_sub(MARKER.len())..=start)
            .any(|p| hay.get(p..p + MARKER.len()) == Some(MARKER))
}

/// The pattern stage over a stream: collects `\n`-delimited lines, cut at [`MAX_LINE_CHUNK`]
/// bytes, applies the patterns and writes to `inner`. Without patterns it passes bytes through.
struct LineStage<'p, W> {
    patterns: &'p [Pattern],
    inner: W,
    line: Vec<u8>,
    count: u64,
}

impl<'p, W: Write> LineStage<'p, W> {
    fn new(patterns: &'p [Pattern], inner: W) -> Self {
        LineStage {
            patterns,
            inner,
            line: Vec::new(),
            count: 0,
        }
    }

    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        if self.patterns.is_empty() {
            return self.inner.write_all(data);
        }
        while !data.is_empty() {
            let room = MAX_LINE_CHUNK - self.line.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.line.extend_from_slice(&window[..i]);
                    self.flush_chunk()?;
                    self.inner.write_all(b"\n")?;
                    data = &data[i + 1..];
                }
                None => {
                    self.line.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.line.len() >= MAX_LINE_CHUNK {
                        self.flush_chunk()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let (redacted, n) = redact_chunk(self.patterns, &self.line);
        self.inner.write_all(&redacted)?;
        self.count += n;
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<(W, u64)> {
        self.flush_chunk()?;
        self.inner.flush()?;
        Ok((self.inner, self.count))
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Creates a new temporary file (mode `0600`) in `folder`.
fn create_temp(folder: &Path) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last_error = None;
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = folder.join(format!(".coalmine-redact-{}-{n}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("cannot create a temporary file")))
}

/// The value and the forms it takes inside JSON strings and URLs.
fn encoded_forms(value: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![value.as_bytes().to_vec()];
    for flags in 0..32u8 {
        let style = JsonStyle {
            ascii_only: flags & 1 != 0,
            html_safe: flags & 2 != 0,
            escape_slash: flags & 4 != 0,
            upper_hex: flags & 8 != 0,
            short_b_f: flags & 16 != 0,
        };
        forms.push(json_escape(value, style).into_bytes());
    }
    for (upper, plus) in [(true, false), (false, false), (true, true), (false, true)] {
        forms.push(percent_encode(value, upper, plus).into_bytes());
    }
    forms
}

/// The choices JSON encoders make differently.
#[derive(Clone, Copy)]
struct JsonStyle {
    /// `\uXXXX` for every non-ASCII character (Python's default).
    ascii_only: bool,
    /// `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029` (Go's default).
    html_safe: bool,
    /// `\/` (PHP's default).
    escape_slash: bool,
    /// `\u001F` rather than `\u001f`.
    upper_hex: bool,
    /// `\b` and `\f` rather than `\u0008` and `\u000c`.
    short_b_f: bool,
}

fn json_escape(value: &str, style: JsonStyle) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(value.len() + 8);
    let unit = |out: &mut String, u: u16| {
        let _ = if style.upper_hex {
            write!(out, "\\u{u:04X}")
        } else {
            write!(out, "\\u{u:04x}")
        };
    };
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if style.escape_slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' if style.short_b_f => out.push_str("\\b"),
            '\u{c}' if style.short_b_f => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style.html_safe => {
                unit(&mut out, c as u16)
            }
            c if (c as u32) < 0x20 => unit(&mut out, c as u16),
            c if style.ascii_only && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    unit(&mut out, *u);
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn percent_encode(value: &str, upper: bool, plus_for_space: bool) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ => {
                let _ = if upper {
                    write!(out, "%{b:02X}")
                } else {
                    write!(out, "%{b:02x}")
                };
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn redactor(values: &[&str], patterns: &[&str]) -> Redactor {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        Redactor::new(values.iter().map(|v| v.to_string()), &patterns).unwrap()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.len().min(self.step).min(buf.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn stream(r: &Redactor, data: &[u8], buf_size: usize, step: usize) -> (Vec<u8>, u64) {
        r.run(Trickle { data, step }, Vec::new(), buf_size, false)
            .unwrap()
    }

    #[test]
    fn literal_in_the_middle_of_text() {
        let r = redactor(&["hunter22"], &[]);
        assert_eq!(
            r.redact_str("login with hunter22 now"),
            "login with [REDACTED] now"
        );
        assert_eq!(
            &*r.redact_bytes(b"a hunter22\nhunter22"),
            b"a [REDACTED]\n[REDACTED]"
        );
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        let r = redactor(&["hunter22"], &["ghp_[A-Za-z0-9]{36}"]);
        assert!(matches!(r.redact_str("nothing here"), Cow::Borrowed(_)));
        assert!(matches!(r.redact_bytes(b"nor here\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn several_and_overlapping_secrets() {
        let r = redactor(&["secret", "secret-long", "abcdef", "defghi", "tok1"], &[]);
        // One inside another: the longer one wins, no tail is left.
        assert_eq!(r.redact_str("x secret-long y"), "x [REDACTED] y");
        assert_eq!(r.redact_str("x secret y"), "x [REDACTED] y");
        // Crossing occurrences are merged: neither leaves a piece behind.
        assert_eq!(r.redact_str("xxabcdefghiyy"), "xx[REDACTED]yy");
        // Adjacent occurrences stay separate.
        assert_eq!(
            r.redact_str("tok1tok1 secret"),
            "[REDACTED][REDACTED] [REDACTED]"
        );
    }

    #[test]
    fn empty_short_and_marker_values_are_ignored() {
        let r = redactor(&["", "abc", "DACT", "long-enough"], &[]);
        let ignored = r.ignored();
        assert_eq!(ignored.len(), 3);
        assert_eq!(
            ignored[0],
            IgnoredValue {
                index: 0,
                len: 0,
                reason: IgnoreReason::Empty
            }
        );
        assert_eq!(ignored[1].reason, IgnoreReason::TooShort);
        assert_eq!(ignored[2].reason, IgnoreReason::PartOfMarker);
        assert_eq!(ignored[1].index, 1);
        let message = ignored[1].to_string();
        assert!(
            message.contains("#1") && !message.contains("abc"),
            "{message}"
        );
        assert!(!r.is_empty());
        assert_eq!(r.redact_str("abc DACT long-enough"), "abc DACT [REDACTED]");
        let none = redactor(&["", "ab"], &[]);
        assert!(none.is_empty());
        assert!(matches!(none.redact_str("ab"), Cow::Borrowed("ab")));
    }

    #[test]
    fn json_escaped_secret_is_redacted() {
        let secret = r#"pa"ss\word"#;
        let r = redactor(&[secret], &[]);
        let doc = serde_json::json!({ "message": format!("login {secret} failed"), "n": 1 });
        let text = serde_json::to_string_pretty(&doc).unwrap();
        assert!(text.contains(r#"pa\"ss\\word"#));
        let redacted = r.redact_str(&text);
        assert!(!redacted.contains("ss\\\\word"), "{redacted}");
        let back: serde_json::Value = serde_json::from_str(&redacted).unwrap();
        assert_eq!(back["message"], "login [REDACTED] failed");
    }

    #[test]
    fn other_encoded_forms_are_redacted() {
        let r = redactor(&["tab\there", "pässwörd", "a b/c<d"], &[]);
        assert_eq!(
            r.redact_str(r#"{"v":"tab\there"}"#),
            r#"{"v":"[REDACTED]"}"#
        );
        // Python's ensure_ascii.
        assert_eq!(r.redact_str(r#""p\u00e4ssw\u00f6rd""#), r#""[REDACTED]""#);
        // Go's HTML-safe escaping, PHP's escaped slash, both.
        assert_eq!(r.redact_str(r#""a b/c\u003cd""#), r#""[REDACTED]""#);
        assert_eq!(r.redact_str(r#""a b\/c\u003cd""#), r#""[REDACTED]""#);
        // Percent-encoded, in a URL or a form.
        assert_eq!(r.redact_str("?p=a%20b%2Fc%3Cd&x"), "?p=[REDACTED]&x");
        assert_eq!(r.redact_str("?p=a+b%2fc%3cd&x"), "?p=[REDACTED]&x");
    }

    #[test]
    fn regex_patterns() {
        let token = format!("ghp_{}", "A1b2".repeat(9));
        let r = redactor(&[], &["ghp_[A-Za-z0-9]{36}", r"password=(?<secret>\S+)"]);
        assert_eq!(
            r.redact_str(&format!("push with {token} ok\npassword=xyzzy done")),
            "push with [REDACTED] ok\npassword=[REDACTED] done"
        );
        // Redacting again changes nothing, even for a pattern that matches the marker.
        let greedy = redactor(&["hunter22"], &[r"[A-Z]+", r"x*"]);
        let once = greedy.redact_str("pw hunter22 SECRET").into_owned();
        assert_eq!(once, "pw [REDACTED] [REDACTED]");
        assert!(matches!(greedy.redact_str(&once), Cow::Borrowed(_)));
    }

    #[test]
    fn patterns_apply_per_line() {
        let r = redactor(&[], &["^key:.*$"]);
        assert_eq!(
            r.redact_str("a\nkey: 1\nb key: 2\n"),
            "a\n[REDACTED]\nb key: 2\n"
        );
    }

    #[test]
    fn bad_regex_names_the_pattern() {
        let err = Redactor::new(Vec::new(), &["ok".to_string(), "tok_(unclosed".to_string()])
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`tok_(unclosed`"), "{message}");
        assert!(message.contains("unclosed group"), "{message}");
        assert!(
            matches!(err, RedactError::InvalidPattern { ref pattern, .. } if pattern == "tok_(unclosed")
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let r = redactor(&["sup3r-s3cret", "abc"], &["ghp_x+"]);
        let debug = format!("{r:?} {:?} {:#?}", r.ignored(), r.clone());
        assert!(
            !debug.contains("sup3r") && !debug.contains("abc"),
            "{debug}"
        );
        assert!(debug.contains("ghp_x+"), "{debug}");
    }

    #[test]
    fn unicode_text_stays_valid() {
        let r = redactor(&["ключ-секрет"], &[r"(?-u:\xD0)"]);
        assert_eq!(r.redact_str("é ключ-секрет ü"), "é [REDACTED] ü");
        // A byte-level pattern that cuts a character: still valid UTF-8, no panic.
        assert_eq!(
            r.redact_str("é ключ-секрет д"),
            "é [REDACTED] [REDACTED]\u{FFFD}"
        );
    }

    #[test]
    fn secret_straddling_the_read_buffer() {
        let secret = "straddling-secret";
        let r = redactor(&[secret], &[]);
        let dir = tempfile::tempdir().unwrap();
        for offset in [
            STREAM_BUF - 3,
            STREAM_BUF - 1,
            STREAM_BUF,
            2 * STREAM_BUF - 10,
        ] {
            let mut data = vec![b'.'; offset];
            data.extend_from_slice(secret.as_bytes());
            data.extend_from_slice(&vec![b','; STREAM_BUF]);
            let path = dir.path().join(format!("log-{offset}"));
            fs::write(&path, &data).unwrap();
            assert_eq!(r.redact_file(&path).unwrap(), 1, "offset {offset}");
            let out = fs::read(&path).unwrap();
            assert!(!contains(&out, b"straddling"), "offset {offset}");
            assert_eq!(&out[offset..offset + MARKER.len()], MARKER);
            assert_eq!(out.len(), data.len() - secret.len() + MARKER.len());
        }
    }

    /// Streaming, with any buffer size and any read sizes, gives exactly what redacting the
    /// whole text in memory gives.
    #[test]
    fn streaming_matches_in_memory() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // The longest forms must occur in the input for the kept tail to be exercised, so
        // one redactor has no value with a character that JSON or URLs would escape.
        let simple = redactor(&["abab", "babba", "aaaa"], &[]);
        let r = redactor(&["abab", "babba", "aaaa", "ab\nba"], &["b{5,}", "^ba"]);
        let plain = redactor(&["abab", "babba", "aaaa", "ab\nba"], &[]);
        for round in 0..400 {
            let len = (next() % 300) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| match next() % 7 {
                    0..=2 => b'a',
                    3..=5 => b'b',
                    _ => b'\n',
                })
                .collect();
            let buf_size = 1 + (next() % 40) as usize;
            let step = 1 + (next() % 50) as usize;
            for r in [&simple, &r, &plain] {
                let expected = r.redact_bytes(&data).into_owned();
                let (got, count) = stream(r, &data, buf_size, step);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected),
                    "round {round}, buffer {buf_size}, step {step}, input {:?}",
                    String::from_utf8_lossy(&data)
                );
                assert_eq!(count == 0, got == data, "round {round}");
                let (_, found) = r.run(&data[..], io::sink(), buf_size, true).unwrap();
                assert_eq!(found > 0, count > 0, "round {round}");
            }
        }
    }

    #[test]
    fn a_run_of_overlapping_occurrences_streams_in_bounded_memory() {
        // One merged occurrence far longer than the buffer.
        let r = redactor(&["aaaa"], &[]);
        let mut data = b"x".to_vec();
        data.extend(std::iter::repeat_n(b'a', 10_000));
        data.extend_from_slice(b"y");
        let (out, count) = stream(&r, &data, 16, 7);
        assert_eq!(out, b"x[REDACTED]y");
        assert_eq!(count, 1);
    }

    #[test]
    fn large_file_with_a_secret_near_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let line = b"an ordinary log line without anything in it at all, padded out\n";
        let mut file = BufWriter::new(File::create(&path).unwrap());
        let mut size = 0;
        while size < 20 << 20 {
            file.write_all(line).unwrap();
            size += line.len();
        }
        file.write_all(b"deploy key=zz-TOP-secret-zz\n").unwrap();
        file.write_all(line).unwrap();
        drop(file);
        let r = redactor(&["zz-TOP-secret-zz"], &["key=(?<secret>nothing)"]);
        assert_eq!(r.redact_file(&path).unwrap(), 1);
        let out = fs::read(&path).unwrap();
        assert!(!contains(&out[out.len() - 200..], b"TOP-secret"));
        assert!(contains(
            &out[out.len() - 200..],
            b"deploy key=[REDACTED]\n"
        ));
        assert_eq!(out.len(), size + 28 - 16 + MARKER.len() + line.len());
    }

    #[test]
    fn literal_in_a_line_longer_than_a_pattern_chunk() {
        let r = redactor(&["long-line-secret"], &["never-matches-[0-9]"]);
        let mut data = vec![b'-'; MAX_LINE_CHUNK - 5];
        data.extend_from_slice(b"long-line-secret");
        data.extend(vec![b'-'; MAX_LINE_CHUNK]);
        let expected = r.redact_bytes(&data).into_owned();
        assert!(!contains(&expected, b"line-secret"));
        let (got, count) = stream(&r, &data, STREAM_BUF, 10_000);
        assert_eq!(count, 1);
        assert!(got == expected);
    }

    #[test]
    fn file_without_secrets_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clean.log");
        fs::write(&path, "nothing to see\n").unwrap();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let r = redactor(&["hunter22"], &["ghp_[a-z]+"]);
        assert_eq!(r.redact_file(&path).unwrap(), 0);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn rewritten_file_keeps_permissions_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        fs::write(&path, "{\"token\":\"hunter22\"}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let r = redactor(&["hunter22"], &[]);
        assert_eq!(r.redact_file(&path).unwrap(), 1);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"token\":\"[REDACTED]\"}"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Second pass: nothing left.
        assert_eq!(r.redact_file(&path).unwrap(), 0);
    }

    #[test]
    fn redact_file_refuses_what_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let r = redactor(&["hunter22"], &[]);
        let err = r.redact_file(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(&dir.path().display().to_string()));
        let missing = r.redact_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn redact_tree_walks_nested_folders_without_following_links() {
        let secret = r#"tree"secret\value"#;
        let outside = tempfile::tempdir().unwrap();
        let outside_file = outside.path().join("elsewhere.log");
        fs::write(&outside_file, format!("outside {secret}\n")).unwrap();

        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("good-simple/run-1");
        fs::create_dir_all(run.join("logs/deep")).unwrap();
        fs::write(run.join("logs/stdout.log"), format!("echo {secret}\n")).unwrap();
        fs::write(
            run.join("logs/stderr.log"),
            format!("warn: {secret} {secret}\n"),
        )
        .unwrap();
        let results = serde_json::json!({ "tiers": { "install": "pass" }, "note": secret });
        fs::write(run.join("results.json"), results.to_string()).unwrap();
        fs::write(run.join("logs/deep/clean.txt"), "clean\n").unwrap();
        std::os::unix::fs::symlink(&outside_file, run.join("logs/link.log")).unwrap();
        std::os::unix::fs::symlink(outside.path(), run.join("linked-dir")).unwrap();

        let r = redactor(&[secret], &[]);
        assert_eq!(r.redact_tree(root.path()).unwrap(), (3, 4));

        let mut stack = vec![root.path().to_path_buf()];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    stack.push(entry.path());
                } else if kind.is_file() {
                    seen += 1;
                    let bytes = fs::read(entry.path()).unwrap();
                    assert!(!contains(&bytes, b"secret"), "{}", entry.path().display());
                }
            }
        }
        assert_eq!(seen, 4);
        // Links are not followed.
        assert!(fs::read_to_string(&outside_file).unwrap().contains(secret));
        // Nothing left the second time.
        assert_eq!(r.redact_tree(root.path()).unwrap(), (0, 0));
        assert!(r.redact_tree(&root.path().join("missing")).is_err());
    }
}
