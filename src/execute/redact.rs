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
//! # Counting
//! Every redaction says what it replaced ([`Counts`]): how many [`REDACTED`] markers it wrote,
//! and for each value (by its index among the values given to [`Redactor::new`]) and each
//! pattern (by its index) how many of them stood for it. A marker that stands for merged
//! occurrences counts once for each value among them, so a value inside another one that
//! leaked counts as leaked too (its bytes were there). [`Redactor::redact_tree`] gives these
//! counts per file, which is how a run tells which secret its recipe CI leaked, and where.
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
use std::collections::BTreeMap;
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

/// What a redaction replaced; see the [module](self) docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// How many [`REDACTED`] markers were written (merged occurrences and pattern matches).
    pub total: u64,
    /// For each value that was found, by its index among the values given to
    /// [`Redactor::new`]: how many markers stand for (an encoded form of) it.
    pub values: BTreeMap<usize, u64>,
    /// For each pattern that matched, by its index among the patterns: how many matches were
    /// replaced.
    pub patterns: BTreeMap<usize, u64>,
}

impl Counts {
    /// True when nothing was replaced.
    pub fn is_empty(&self) -> bool {
        self.total == 0 && self.values.is_empty() && self.patterns.is_empty()
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.total += other.total;
        for (index, count) in &other.values {
            *self.values.entry(*index).or_default() += count;
        }
        for (index, count) in &other.patterns {
            *self.patterns.entry(*index).or_default() += count;
        }
    }
}

/// What [`Redactor::redact_tree`] replaced, file by file.
#[derive(Debug, Default)]
pub struct TreeRedaction {
    /// Every file in which something was replaced, with what; sorted by path.
    pub files: Vec<(PathBuf, Counts)>,
}

impl TreeRedaction {
    /// How many files were changed.
    pub fn changed(&self) -> usize {
        self.files.len()
    }

    /// How many markers were written in all.
    pub fn total(&self) -> u64 {
        self.files.iter().map(|(_, counts)| counts.total).sum()
    }
}

/// Literal occurrences that a cut of a text would split; see [`Redactor::straddling`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Straddle {
    /// The lowest start among them, in the window given.
    pub start: usize,
    /// The highest end among them.
    pub end: usize,
    /// The values they are forms of (each counted once), with `total` 1.
    pub counts: Counts,
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
    /// For each of them (by its id in `literals`), the values it is a form of.
    needle_values: Vec<Vec<usize>>,
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
            needle_values: Vec::new(),
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
        // Each distinct byte string, with the values it is a form of.
        let mut needles: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
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
                    for form in encoded_forms(&value) {
                        let owners = needles.entry(form).or_default();
                        if !owners.contains(&index) {
                            owners.push(index);
                        }
                    }
                }
            }
        }
        let max_literal_len = needles.keys().map(Vec::len).max().unwrap_or(0);
        let literals = if needles.is_empty() {
            None
        } else {
            // Standard semantics: the only kind that reports overlapping occurrences, which are
            // merged so that every byte of every occurrence is covered.
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(needles.keys())
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
            needles: needles.len(),
            needle_values: needles.into_values().collect(),
            values: kept,
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

    /// The length in bytes of the longest byte string redacted literally (a value or one of its
    /// encoded forms); 0 when there is none. No literal occurrence is longer.
    pub fn max_literal_len(&self) -> usize {
        self.max_literal_len
    }

    /// The literal occurrences in `window` that a cut at `at` would split (each starts before
    /// `at` and ends after it), or `None`. Only occurrences that lie wholly inside `window` are
    /// seen, so give it at least [`max_literal_len`](Self::max_literal_len) bytes on each side
    /// of `at` (or up to the text's start and end). Patterns are not looked at.
    pub fn straddling(&self, window: &[u8], at: usize) -> Option<Straddle> {
        let ac = self.literals.as_ref()?;
        let mut found: Option<(usize, usize, Vec<u32>)> = None;
        // Cannot fail with this configuration; an error finds nothing to split.
        for m in ac.try_find_overlapping_iter(Input::new(window)).ok()? {
            if m.start() < at && at < m.end() {
                let (start, end, needles) = found.get_or_insert((m.start(), m.end(), Vec::new()));
                *start = (*start).min(m.start());
                *end = (*end).max(m.end());
                add_needle(needles, m.pattern().as_u32());
            }
        }
        found.map(|(start, end, needles)| {
            let mut counts = Counts {
                total: 1,
                ..Counts::default()
            };
            self.attribute(&needles, &mut counts);
            Straddle { start, end, counts }
        })
    }

    /// Streams `reader` into `writer`, redacted, in bounded memory (as [`redact_file`] does),
    /// and returns the writer (flushed) and what was replaced.
    ///
    /// [`redact_file`]: Self::redact_file
    ///
    /// # Errors
    /// The first I/O error reading or writing.
    pub fn redact_stream<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
    ) -> io::Result<(W, Counts)> {
        self.run(reader, writer, STREAM_BUF, false)
    }

    /// Counts one marker for every value that one of `needles` is a form of.
    fn attribute(&self, needles: &[u32], counts: &mut Counts) {
        let mut values: Vec<usize> = needles
            .iter()
            .filter_map(|id| self.needle_values.get(*id as usize))
            .flatten()
            .copied()
            .collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            *counts.values.entry(value).or_default() += 1;
        }
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
        self.redact_bytes_counted(bytes).0
    }

    /// [`redact_bytes`](Self::redact_bytes), and what was replaced.
    pub fn redact_bytes_counted<'a>(&self, bytes: &'a [u8]) -> (Cow<'a, [u8]>, Counts) {
        let (after_literals, mut counts) = self.redact_literals_in(bytes);
        match self.redact_patterns_in(&after_literals) {
            None => (after_literals, counts),
            Some((redacted, pattern)) => {
                counts.add(&pattern);
                (Cow::Owned(redacted), counts)
            }
        }
    }

    /// Redacts the file at `path` in place and returns what was replaced.
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
    pub fn redact_file(&self, path: &Path) -> io::Result<Counts> {
        self.redact_file_inner(path)
            .map_err(|e| io::Error::new(e.kind(), format!("redacting {}: {e}", path.display())))
    }

    /// Redacts every regular file under `dir`, recursively, without following symbolic links
    /// (links are neither followed nor rewritten; other special files are skipped). Returns what
    /// was replaced in each file.
    ///
    /// A file that cannot be redacted does not stop the walk: every other file is still
    /// redacted, and then the first error is returned, saying how many files failed. Files that
    /// vanish during the walk are skipped.
    ///
    /// # Errors
    /// As above, or the error reading `dir` itself.
    pub fn redact_tree(&self, dir: &Path) -> io::Result<TreeRedaction> {
        self.redact_tree_skipping(dir, &[])
    }

    /// [`redact_tree`](Self::redact_tree), leaving out the files at the paths in `skip` (as
    /// joined to `dir`, e.g. `dir.join("stdout.log")`): files already redacted otherwise.
    ///
    /// # Errors
    /// As [`redact_tree`](Self::redact_tree).
    pub fn redact_tree_skipping(&self, dir: &Path, skip: &[PathBuf]) -> io::Result<TreeRedaction> {
        let mut redaction = TreeRedaction::default();
        let mut failures: Vec<io::Error> = Vec::new();
        if self.is_empty() {
            // Still report an unreadable folder, as a non-empty redactor would.
            fs::read_dir(dir).map_err(|e| with_path(e, dir))?;
            return Ok(redaction);
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
                } else if kind.is_file() && !skip.contains(&path) {
                    match self.redact_file_inner(&path) {
                        Ok(counts) if counts.is_empty() => {}
                        Ok(counts) => redaction.files.push((path, counts)),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => failures.push(with_path(e, &path)),
                    }
                }
            }
        }
        redaction.files.sort_by(|a, b| a.0.cmp(&b.0));
        match failures.len() {
            0 => Ok(redaction),
            n => {
                let first = failures.swap_remove(0);
                Err(io::Error::new(
                    first.kind(),
                    format!("{n} file(s) or folder(s) could not be redacted; first: {first}"),
                ))
            }
        }
    }

    fn redact_file_inner(&self, path: &Path) -> io::Result<Counts> {
        if self.is_empty() {
            return Ok(Counts::default());
        }
        let meta = fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let found = self.run(File::open(path)?, io::sink(), STREAM_BUF, true)?.1;
        if found.total == 0 {
            return Ok(found);
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

    /// Streams `reader` through both stages into `writer`; returns the writer and what was
    /// replaced. With `stop_early`, returns as soon as one replacement is known (scan mode:
    /// only `total` is meaningful then).
    fn run<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
        buf_size: usize,
        stop_early: bool,
    ) -> io::Result<(W, Counts)> {
        let mut lines = LineStage::new(&self.patterns, writer);
        let mut counts = self.stream_literals(reader, &mut lines, buf_size, stop_early)?;
        let (writer, pattern) = lines.finish()?;
        counts.add(&pattern);
        Ok((writer, counts))
    }

    /// The literal stage over a stream. Occurrences are merged across reads: the last
    /// `max_literal_len - 1` bytes of each buffer are kept for the next one (an occurrence that
    /// starts there may not be complete yet), and an open merged occurrence is carried over.
    /// Its marker is counted when it opens, and the values it stands for when it closes.
    fn stream_literals<R: Read, W: Write>(
        &self,
        mut reader: R,
        out: &mut LineStage<'_, W>,
        buf_size: usize,
        stop_early: bool,
    ) -> io::Result<Counts> {
        let keep = self.max_literal_len.saturating_sub(1);
        let cap = buf_size.max(2 * self.max_literal_len).max(1);
        let mut buf = vec![0u8; cap];
        let mut filled = 0;
        // The end of a merged occurrence whose marker is already written, relative to `buf`,
        // and the byte strings found in it so far.
        let mut open: Option<usize> = None;
        let mut open_needles: Vec<u32> = Vec::new();
        let mut counts = Counts::default();
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
                if eof || (stop_early && out.counts.total > 0) {
                    return Ok(counts);
                }
                continue;
            };
            // Every occurrence starting before `safe` lies wholly in the buffer.
            let safe = if eof { filled } else { filled - keep };
            intervals.clear();
            merged_occurrences(ac, &buf[..filled], safe, &mut intervals)
                .map_err(io::Error::other)?;
            let mut cursor = 0;
            for span in &intervals {
                if let Some(open_end) = open {
                    if span.start < open_end {
                        open = Some(open_end.max(span.end));
                        for id in &span.needles {
                            add_needle(&mut open_needles, *id);
                        }
                        continue;
                    }
                    // Closed: it ends before this one starts.
                    self.attribute(&open_needles, &mut counts);
                    cursor = open_end;
                }
                out.write(&buf[cursor..span.start])?;
                out.write(MARKER)?;
                counts.total += 1;
                open = Some(span.end);
                open_needles.clone_from(&span.needles);
                if stop_early {
                    return Ok(counts);
                }
            }
            match open {
                // Nothing that starts at or after `safe` can extend it: it is closed.
                Some(open_end) if open_end <= safe => {
                    out.write(&buf[open_end..safe])?;
                    self.attribute(&open_needles, &mut counts);
                    open = None;
                }
                // Still open: the bytes up to `safe` are covered and swallowed.
                Some(_) => {}
                None => out.write(&buf[cursor..safe])?,
            }
            if eof || (stop_early && out.counts.total > 0) {
                return Ok(counts);
            }
            buf.copy_within(safe..filled, 0);
            filled -= safe;
            open = open.map(|end| end - safe);
        }
    }

    fn redact_literals_in<'a>(&self, bytes: &'a [u8]) -> (Cow<'a, [u8]>, Counts) {
        let mut counts = Counts::default();
        let Some(ac) = &self.literals else {
            return (Cow::Borrowed(bytes), counts);
        };
        let mut intervals = Vec::new();
        if merged_occurrences(ac, bytes, bytes.len(), &mut intervals).is_err() {
            // Cannot happen with this configuration; fail closed rather than leak.
            counts.total = 1;
            return (Cow::Owned(MARKER.to_vec()), counts);
        }
        if intervals.is_empty() {
            return (Cow::Borrowed(bytes), counts);
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut cursor = 0;
        for span in intervals {
            out.extend_from_slice(&bytes[cursor..span.start]);
            out.extend_from_slice(MARKER);
            counts.total += 1;
            self.attribute(&span.needles, &mut counts);
            cursor = span.end;
        }
        out.extend_from_slice(&bytes[cursor..]);
        (Cow::Owned(out), counts)
    }

    /// The pattern stage on a whole text, chunked exactly as [`LineStage`] chunks a stream.
    /// `None` when nothing matched.
    fn redact_patterns_in(&self, text: &[u8]) -> Option<(Vec<u8>, Counts)> {
        if self.patterns.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        let mut counts = Counts::default();
        for line in text.split_inclusive(|&b| b == b'\n') {
            let (content, newline) = match line.split_last() {
                Some((b'\n', content)) => (content, true),
                _ => (line, false),
            };
            for chunk in content.chunks(MAX_LINE_CHUNK) {
                out.extend_from_slice(&redact_chunk(&self.patterns, chunk, &mut counts));
            }
            if newline {
                out.push(b'\n');
            }
        }
        (counts.total > 0).then_some((out, counts))
    }
}

/// Occurrences of the literals merged where they share a byte: `start..end`, and the ids of the
/// byte strings found in it.
struct Span {
    start: usize,
    end: usize,
    needles: Vec<u32>,
}

fn add_needle(needles: &mut Vec<u32>, id: u32) {
    if !needles.contains(&id) {
        needles.push(id);
    }
}

/// Fills `intervals` with the occurrences of the literals in `hay` that start before `limit`,
/// merged where they share at least one byte, sorted by start.
fn merged_occurrences(
    ac: &AhoCorasick,
    hay: &[u8],
    limit: usize,
    intervals: &mut Vec<Span>,
) -> Result<(), aho_corasick::MatchError> {
    let mut sorted = true;
    for m in ac.try_find_overlapping_iter(Input::new(hay))? {
        let (start, end, id) = (m.start(), m.end(), m.pattern().as_u32());
        if start >= limit {
            continue;
        }
        let single = Span {
            start,
            end,
            needles: vec![id],
        };
        // Occurrences come in order of their end; merge on the fly to keep this list short.
        match intervals.last_mut() {
            Some(last) if end >= last.end => {
                if start < last.end {
                    let mut merged = intervals.pop().unwrap_or(single);
                    merged.start = merged.start.min(start);
                    merged.end = end;
                    add_needle(&mut merged.needles, id);
                    while let Some(prev) = intervals.last() {
                        if merged.start < prev.end {
                            merged.start = merged.start.min(prev.start);
                            for id in &prev.needles {
                                add_needle(&mut merged.needles, *id);
                            }
                            intervals.pop();
                        } else {
                            break;
                        }
                    }
                    intervals.push(merged);
                } else {
                    intervals.push(single);
                }
            }
            Some(_) => {
                sorted = false;
                intervals.push(single);
            }
            None => intervals.push(single),
        }
    }
    if !sorted {
        intervals.sort_unstable_by_key(|span| (span.start, span.end));
        let mut merged: Vec<Span> = Vec::with_capacity(intervals.len());
        for span in intervals.drain(..) {
            match merged.last_mut() {
                Some(last) if span.start < last.end => {
                    last.end = last.end.max(span.end);
                    for id in &span.needles {
                        add_needle(&mut last.needles, *id);
                    }
                }
                _ => merged.push(span),
            }
        }
        *intervals = merged;
    }
    Ok(())
}

/// Applies every pattern, in order, to one chunk of a line, adding what it replaced to
/// `counts`.
fn redact_chunk<'a>(patterns: &[Pattern], chunk: &'a [u8], counts: &mut Counts) -> Cow<'a, [u8]> {
    let mut current = Cow::Borrowed(chunk);
    for (index, pattern) in patterns.iter().enumerate() {
        if let Some((next, n)) = apply_pattern(pattern, &current) {
            current = Cow::Owned(next);
            counts.total += n;
            *counts.patterns.entry(index).or_default() += n;
        }
    }
    current
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
    counts: Counts,
}

impl<'p, W: Write> LineStage<'p, W> {
    fn new(patterns: &'p [Pattern], inner: W) -> Self {
        LineStage {
            patterns,
            inner,
            line: Vec::new(),
            counts: Counts::default(),
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
        let redacted = redact_chunk(self.patterns, &self.line, &mut self.counts);
        self.inner.write_all(&redacted)?;
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<(W, Counts)> {
        self.flush_chunk()?;
        self.inner.flush()?;
        Ok((self.inner, self.counts))
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Creates a new temporary file (mode `0600`) in `folder`.
pub(super) fn create_temp(folder: &Path) -> io::Result<(PathBuf, File)> {
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
        let (out, counts) = r
            .run(Trickle { data, step }, Vec::new(), buf_size, false)
            .unwrap();
        (out, counts.total)
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
            assert_eq!(r.redact_file(&path).unwrap().total, 1, "offset {offset}");
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
                let (expected, expected_counts) = r.redact_bytes_counted(&data);
                let expected = expected.into_owned();
                let (got, counts) = r
                    .run(Trickle { data: &data, step }, Vec::new(), buf_size, false)
                    .unwrap();
                // What was replaced is counted alike, value by value and pattern by pattern.
                assert_eq!(counts, expected_counts, "round {round}");
                let count = counts.total;
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected),
                    "round {round}, buffer {buf_size}, step {step}, input {:?}",
                    String::from_utf8_lossy(&data)
                );
                assert_eq!(count == 0, got == data, "round {round}");
                let (_, found) = r.run(&data[..], io::sink(), buf_size, true).unwrap();
                assert_eq!(found.total > 0, count > 0, "round {round}");
            }
        }
    }

    fn counted(values: &[(usize, u64)], patterns: &[(usize, u64)]) -> Counts {
        Counts {
            total: 0,
            values: values.iter().copied().collect(),
            patterns: patterns.iter().copied().collect(),
        }
    }

    #[test]
    fn replacements_are_counted_per_value_and_pattern() {
        let r = redactor(
            &["abc", "hunter22", "s3cret-long", "s3cret", "hunter22"],
            &["tok_[a-z]{4}", r"pw=(?<secret>\S+)"],
        );
        let text = "hunter22 x s3cret-long y s3cret tok_abcd pw=zz \"hunter22\" tok_efgh";
        let (out, counts) = r.redact_bytes_counted(text.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&out),
            "[REDACTED] x [REDACTED] y [REDACTED] [REDACTED] pw=[REDACTED] \"[REDACTED]\" [REDACTED]"
        );
        // Value #1 is given twice (#4): both count it. A value inside another that leaked
        // counts too. Value #0 is too short to be redacted.
        let expected = Counts {
            total: 7,
            ..counted(&[(1, 2), (2, 1), (3, 2), (4, 2)], &[(0, 2), (1, 1)])
        };
        assert_eq!(counts, expected);
        // The same through a stream with a tiny buffer.
        let (_, streamed) = r
            .run(
                Trickle {
                    data: text.as_bytes(),
                    step: 3,
                },
                Vec::new(),
                5,
                false,
            )
            .unwrap();
        assert_eq!(streamed, expected);
        // JSON-escaped and percent-encoded forms count for their value.
        let r = redactor(&["a\"b c", "other-one"], &[]);
        let (_, counts) = r.redact_bytes_counted(br#"{"v":"a\"b c"} ?q=a%22b%20c"#);
        assert_eq!(
            counts,
            Counts {
                total: 2,
                ..counted(&[(0, 2)], &[])
            }
        );
        assert!(r.redact_bytes_counted(b"nothing").1.is_empty());
    }

    #[test]
    fn merged_occurrences_count_once_for_each_value_among_them() {
        let r = redactor(&["abcdef", "defghi", "zzzz"], &[]);
        let (out, counts) = r.redact_bytes_counted(b"xxabcdefghiyy zzzzzz");
        assert_eq!(&*out, b"xx[REDACTED]yy [REDACTED]");
        assert_eq!(
            counts,
            Counts {
                total: 2,
                ..counted(&[(0, 1), (1, 1), (2, 1)], &[])
            }
        );
    }

    #[test]
    fn occurrences_a_cut_would_split() {
        let r = redactor(&["straddle", "addle-me"], &["never"]);
        let text = b"....straddle-me....";
        // A cut inside `straddle` (4..12) and `addle-me` (7..15): both, merged.
        let found = r.straddling(text, 9).unwrap();
        assert_eq!((found.start, found.end), (4, 15));
        assert_eq!(
            found.counts,
            Counts {
                total: 1,
                ..counted(&[(0, 1), (1, 1)], &[])
            }
        );
        let found = r.straddling(text, 5).unwrap();
        assert_eq!((found.start, found.end), (4, 12));
        // At an occurrence's edge nothing is split.
        assert_eq!(r.straddling(text, 4), None);
        assert_eq!(r.straddling(text, 15), None);
        assert_eq!(r.straddling(b"nothing here", 3), None);
        assert_eq!(redactor(&[], &["x"]).straddling(text, 9), None);
        assert_eq!(r.max_literal_len(), "straddle".len());
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
        assert_eq!(r.redact_file(&path).unwrap().total, 1);
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
        assert_eq!(r.redact_file(&path).unwrap().total, 0);
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
        assert_eq!(r.redact_file(&path).unwrap().total, 1);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"token\":\"[REDACTED]\"}"
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Second pass: nothing left.
        assert_eq!(r.redact_file(&path).unwrap().total, 0);
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
        // A copy of the folder, redacted but for its stdout.log.
        let copy = tempfile::tempdir().unwrap();
        fs::create_dir_all(copy.path().join("logs")).unwrap();
        for file in ["logs/stdout.log", "logs/stderr.log"] {
            fs::copy(run.join(file), copy.path().join(file)).unwrap();
        }
        let skip = [copy.path().join("logs/stdout.log")];
        let partial = r.redact_tree_skipping(copy.path(), &skip).unwrap();
        assert_eq!(partial.changed(), 1);
        assert!(fs::read_to_string(&skip[0]).unwrap().contains(secret));

        let redaction = r.redact_tree(root.path()).unwrap();
        assert_eq!((redaction.changed(), redaction.total()), (3, 4));
        // File by file, sorted by path, with the value that was found.
        let files: Vec<(String, u64, Counts)> = redaction
            .files
            .iter()
            .map(|(path, counts)| {
                let name = path.strip_prefix(&run).unwrap().display().to_string();
                (name, counts.total, counts.clone())
            })
            .collect();
        let once = |n| Counts {
            total: n,
            ..counted(&[(0, n)], &[])
        };
        assert_eq!(
            files,
            [
                ("logs/stderr.log".to_owned(), 2, once(2)),
                ("logs/stdout.log".to_owned(), 1, once(1)),
                ("results.json".to_owned(), 1, once(1)),
            ]
        );

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
        assert_eq!(r.redact_tree(root.path()).unwrap().changed(), 0);
        assert!(r.redact_tree(&root.path().join("missing")).is_err());
    }
}
