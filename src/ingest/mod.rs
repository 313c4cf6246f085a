//! JUnit XML files and folders into the outcome history: what `coalmine ingest` does.
//!
//! [`ingest`] takes files and folders (searched recursively for `*.xml`), reads every file with
//! the streaming [`Junit`] adapter ([`read_inputs`]), turns each `<testcase>` into a
//! [`NewResult`] with a normalised test id, and records all of them as **one run**
//! ([`record`]).
//!
//! # Test ids
//! A test's id is `<classname>::<name>`, or `<suite>::<name>` when the classname is empty (the
//! innermost `<testsuite>` name), or the bare name when both are empty. A testcase without a
//! name (jest writes `name=""` for a test with an empty title) gets the name [`UNNAMED`], so
//! that no id is empty or ends in `::`. Each part is normalised by [`normalise`]:
//! - `[QUARANTINE]` (any case) is removed: being quarantined is what `harness.toml` says, not
//!   part of a test's identity.
//! - Bracket tags such as `[sig-compute]`, `[release-blocker]`, `[test_id:1234]`, or a Ginkgo
//!   label list `[sig-network, Serial]`, are removed from the id and kept as the test's tags
//!   ([`NewResult::tags`], without brackets). A bracket group is a tag only where a word starts
//!   (at the start of the part, after whitespace, or right after another tag) and when each of
//!   its comma-separated pieces is a single word; so pytest's parameters (`test_add[1-2]`) and
//!   bracketed prose (`handles [a b]`) stay in the id. Ginkgo's `[It]` node marker is removed
//!   without becoming a tag.
//! - Runs of whitespace become one space, and the ends are trimmed.
//!
//! # One run from several files
//! Every file given (and every `*.xml` under every folder given) belongs to the same run. A
//! test id that occurs in **more than one file** is recorded once, with the worst outcome
//! ("failure wins": fail, then error, flaky pass, xpass, pass, xfail, skip, not run) and that
//! outcome's message and duration: the files are partial reports of one run, e.g. a shard and
//! its rerun. Within **one file**, every `<testcase>` is an execution of its own, as the file
//! says it (a parametrised test whose parameters are not in its name appears several times),
//! so a single file is recorded with exactly the counts it declares by its elements.
//! Retries inside one testcase (Surefire's `flakyFailure`/`rerunFailure`) are already folded
//! by the adapter into one outcome (`flaky-pass` when it passed in the end); every row is
//! recorded as attempt 1, so the run's counts are the testcases' counts.
//!
//! # Re-ingesting
//! Every file read is known to the history by the SHA-256 digest of its bytes, kept with its
//! run ([`crate::history::files`]), so the same file under another name or path is the same
//! file. [`record`] looks the files up first:
//! - none was recorded: a new run, with the ingest key `junit-sha256:<hex>` (the SHA-256 of
//!   the files' digests, sorted);
//! - all were, in one run (the same files again, or some of them): nothing is recorded
//!   ([`Recorded::AlreadyRecorded`]);
//! - some were, in one run: the others **complete** it. This is how a file that was skipped
//!   as malformed is added once fixed: ingest the same folder again, with the same lane, kind
//!   and commit, and the run gets the fixed file's results merged in ("failure wins", as if
//!   all files had been read together) instead of being recorded a second time
//!   ([`Recorded::Completed`]). Given with another lane, kind or commit, the new files are
//!   taken for another run's report left beside them, and refused
//!   ([`IngestError::OtherRun`]);
//! - they were recorded in different runs: refused ([`IngestError::SeveralRuns`]).
//!
//! Runs ingested before the history kept its files (schema version 3 and earlier) are
//! recognised by their whole ingest key only. Two different runs whose reports are byte for
//! byte the same are taken as one: real reports differ in their durations and timestamps.
//!
//! SHA-256 (the `sha2` crate of RustCrypto: pure Rust, maintained, using the CPU's SHA
//! instructions where present) is collision-resistant beyond any need here, and hashing is a
//! small part of the cost of an ingest (see `examples/ingest_bench.rs`).
//!
//! # Tags in the history
//! Every result reports its test's tags (an empty list when its name has none), and the history
//! keeps those of the most recent run, whatever the order in which reports are ingested (see
//! [`History::record_run`]).
//!
//! # Malformed files
//! A file the adapter cannot read is reported with its path, line and column
//! ([`Skipped`]) and left out whole (tests read before the error are dropped); the rest is
//! ingested. The caller decides what that means for its exit code (`coalmine ingest` exits 3).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::history::{FileDigest, History, HistoryError, NewResult, NewRun, Recorded, RunKind};
use crate::results::formats::{Junit, JunitCase};
use crate::results::{Outcome, ResultsErrorKind, TestCase};

/// The prefix of the ingest keys written by [`ingest`].
pub const KEY_PREFIX: &str = "junit-sha256:";

/// The name part of the id of a testcase whose name is empty.
pub const UNNAMED: &str = "(unnamed)";

/// The run the files are recorded as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The CI job name, e.g. `periodic-e2e-sig-compute`.
    pub lane: String,
    /// The kind of job.
    pub kind: RunKind,
    /// The commit the run tested.
    pub commit: String,
    /// When the run started.
    pub started_at: Timestamp,
}

/// A file left out of the run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file (or folder).
    pub path: PathBuf,
    /// The 1-based line and column of the problem, when it is in the content.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}; the file was skipped: fix or remove it",
                self.path.display(),
                self.reason
            ),
            None => write!(
                f,
                "{}: {}; it was skipped: fix it, or leave it out of the inputs",
                self.path.display(),
                self.reason
            ),
        }
    }
}

/// Outcome counts of the results recorded (after merging), as JUnit says them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Test results recorded.
    pub tests: u64,
    /// Passed, including flaky passes and unexpected passes (xpass).
    pub passed: u64,
    /// With a `<failure>`.
    pub failed: u64,
    /// With an `<error>`.
    pub errored: u64,
    /// With a `<skipped>` (pytest's xfail included, as JUnit writes it).
    pub skipped: u64,
    /// Among the passed: those that passed only on a retry (`flakyFailure`, `rerunFailure`).
    pub flaky: u64,
}

impl Tally {
    /// The counts of `results`.
    pub fn of(results: &[NewResult]) -> Tally {
        let mut tally = Tally::default();
        for result in results {
            tally.add(result.outcome);
        }
        tally
    }

    fn add(&mut self, outcome: Outcome) {
        self.tests += 1;
        match outcome {
            Outcome::Pass | Outcome::Xpass => self.passed += 1,
            Outcome::FlakyPass => {
                self.passed += 1;
                self.flaky += 1;
            }
            Outcome::Fail => self.failed += 1,
            Outcome::Error => self.errored += 1,
            Outcome::Skip | Outcome::Xfail | Outcome::NotRun => self.skipped += 1,
        }
    }
}

/// What the files held, before anything is recorded: see [`read_files`].
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The results of the run, merged (see the module docs).
    pub results: Vec<NewResult>,
    /// The ingest key (`None` when no file could be read).
    pub key: Option<String>,
    /// The files read.
    pub files: Vec<PathBuf>,
    /// The files left out.
    pub skipped: Vec<Skipped>,
    /// Testcases read from the files read, before merging.
    pub testcases: u64,
    /// Testcases without a name (recorded as `<classname or suite>::(unnamed)`).
    pub unnamed: u64,
    /// The files that hold them.
    pub unnamed_in: Vec<PathBuf>,
    /// Counts of [`Parsed::results`].
    pub tally: Tally,
    /// The SHA-256 digest of each file read, in the order of [`Parsed::files`].
    pub digests: Vec<FileDigest>,
}

/// What [`ingest`] (or [`record`]) did.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was read.
    pub parsed: Parsed,
    /// What the history did with it; `None` when there was nothing to record.
    pub recorded: Option<Recorded>,
    /// The files that were new to the history (all of them for a new run, the files added
    /// for a completed one, none when everything was recorded before).
    pub new_files: Vec<PathBuf>,
}

/// An ingest that could not start or could not record; nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A path given does not exist or cannot be looked at.
    #[error("{}: {source}; check the path (give JUnit XML files or folders holding them)", path.display())]
    Input {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// No `*.xml` file was found in anything given.
    #[error(
        "no JUnit XML file (*.xml) in {}; give the files or the folders the test runner wrote them to",
        list(paths)
    )]
    NoFiles {
        /// The paths given.
        paths: Vec<PathBuf>,
    },
    /// Every file found was skipped: nothing was read.
    #[error(
        "nothing could be read from the inputs: {}; nothing was recorded",
        skipped.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NothingRead {
        /// Each file (or empty folder) and why it was skipped.
        skipped: Vec<Skipped>,
    },
    /// Files given together were recorded before as parts of different runs.
    #[error(
        "these files were recorded before as parts of different runs: {}; nothing was \
         recorded: give the files of one run together (each run's files once)",
        files.iter().map(|(path, run)| format!("{} (run {run})", path.display())).collect::<Vec<_>>().join(", ")
    )]
    SeveralRuns {
        /// Each file recorded before, and its run.
        files: Vec<(PathBuf, i64)>,
    },
    /// Some files were recorded before as run `run_id`, the others are new, and the lane,
    /// kind or commit given are not that run's.
    #[error(
        "{recorded} of the files given were recorded before as run {run_id} (lane {lane}, \
         kind {}, commit {commit}) and {} file(s) are new ({}), but the run given is another: nothing was \
         recorded. If the new files belong to run {run_id} (skipped then, fixed since), give \
         --lane {lane} --kind {} --commit {commit}; if they are another run's report, ingest \
         them alone",
        kind.as_str(),
        new_files.len(),
        list(new_files),
        kind.as_str()
    )]
    OtherRun {
        /// The run recorded before.
        run_id: i64,
        /// Its lane.
        lane: String,
        /// Its kind.
        kind: RunKind,
        /// Its commit.
        commit: String,
        /// How many of the files given it was recorded from.
        recorded: usize,
        /// The files it does not have.
        new_files: Vec<PathBuf>,
    },
    /// A file changed (or vanished) while it was being ingested.
    #[error("{}: {detail}; nothing was recorded: ingest again once the files are final", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// What happened.
        detail: String,
    },
    /// The history refused or failed.
    #[error(transparent)]
    History(#[from] HistoryError),
}

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    names.join(", ")
}

/// The `*.xml` files of `inputs`: each file as given (whatever its extension), and every file
/// whose name ends in `.xml` (any case) under each folder, recursively, without following
/// symbolic links to folders. Sorted by path, without duplicates. Folders holding no XML file
/// are returned in the second list. A path that does not exist is an error.
pub fn collect_files(inputs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), IngestError> {
    let mut files = Vec::new();
    let mut empty = Vec::new();
    for input in inputs {
        let metadata = std::fs::metadata(input).map_err(|source| IngestError::Input {
            path: input.clone(),
            source,
        })?;
        if metadata.is_dir() {
            let before = files.len();
            walk(input, &mut files)?;
            if files.len() == before {
                empty.push(input.clone());
            }
        } else {
            files.push(input.clone());
        }
    }
    files.sort();
    files.dedup();
    // The same file reached through two inputs (`dir` and `dir/a.xml`) is read once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())));
    Ok((files, empty))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| IngestError::Input {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| IngestError::Input {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| IngestError::Input {
            path: path.clone(),
            source,
        })?;
        let is_file = if kind.is_symlink() {
            // A link to a file is read; a link to a folder is not followed (no loops).
            std::fs::metadata(&path).is_ok_and(|target| target.is_file())
        } else if kind.is_dir() {
            walk(&path, files)?;
            false
        } else {
            kind.is_file()
        };
        let xml = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("xml"));
        if is_file && xml {
            files.push(path);
        }
    }
    Ok(())
}

/// A reader that hashes every byte it hands out.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

/// The bytes of a JUnit file per testcase, to guess how many it holds: a little more than the
/// smallest usual testcase, so that the guess is rarely too small.
const BYTES_PER_TESTCASE: u64 = 128;

/// What reading one file gave, besides its rows.
struct FileRead {
    /// Its testcases (rows appended).
    testcases: usize,
    digest: FileDigest,
    /// Testcases without a name.
    unnamed: u64,
}

/// Room for the testcases of a file of `bytes` bytes: as many as it usually holds (a JUnit
/// testcase takes 150 to 300 bytes), so that the rows are not copied again and again as they
/// grow; at most 65,536 rows, whatever the size of the file (most of a huge one is usually
/// output).
fn rows_guess(bytes: u64) -> usize {
    usize::try_from(bytes / BYTES_PER_TESTCASE)
        .unwrap_or(usize::MAX)
        .min(1 << 16)
}

/// Reads one JUnit file: appends its rows to `rows` (the caller reserves room, see
/// [`rows_guess`]) and returns the SHA-256 of its bytes, or why it is skipped (with `rows` as it
/// was).
fn read_file(path: &Path, rows: &mut Vec<NewResult>) -> Result<FileRead, Skipped> {
    let skipped = |position, reason: String| Skipped {
        path: path.to_path_buf(),
        position,
        reason,
    };
    let file =
        File::open(path).map_err(|error| skipped(None, format!("cannot open it: {error}")))?;
    // No buffer of its own: the adapter reads into its window, straight from the file.
    let mut reader = BufReader::with_capacity(
        0,
        Hashing {
            inner: file,
            hasher: Sha256::new(),
        },
    );
    let start = rows.len();
    let mut unnamed = 0;
    let read = Junit.read_borrowed(&mut reader, &mut |case| {
        unnamed += u64::from(case.name.trim().is_empty());
        rows.push(row_of(case));
    });
    let read = read
        .map_err(|error| match error {
            ResultsErrorKind::Malformed {
                line,
                column,
                message,
            } => skipped(
                Some((line, column)),
                format!("malformed JUnit XML: {message}"),
            ),
            ResultsErrorKind::Read(error) => skipped(None, format!("cannot read it: {error}")),
            other => skipped(None, other.to_string()),
        })
        // Hash whatever the adapter did not need to read.
        .and_then(|()| {
            io::copy(&mut reader, &mut io::sink())
                .map(drop)
                .map_err(|error| skipped(None, format!("cannot read it: {error}")))
        });
    if let Err(skipped) = read {
        rows.truncate(start);
        return Err(skipped);
    }
    let digest = reader.into_inner().hasher.finalize();
    Ok(FileRead {
        testcases: rows.len() - start,
        digest: digest.into(),
        unnamed,
    })
}

/// A testcase as a history row.
fn row_of(case: JunitCase<'_>) -> NewResult {
    let (test, tags) = id_of(case.name, case.classname, case.suite);
    NewResult {
        test,
        tags: Some(tags),
        outcome: case.outcome,
        duration_secs: case.duration_secs,
        attempt: 1,
        message: case.message,
    }
}

/// The normalised id of a testcase and its tags: see the module docs.
pub fn test_id(case: &TestCase) -> (String, Vec<String>) {
    id_of(&case.name, case.classname.as_deref(), &case.suite)
}

/// [`test_id`] of the testcase `name` of the class `classname` in the suites `suite`.
fn id_of(name: &str, classname: Option<&str>, suite: &[String]) -> (String, Vec<String>) {
    let prefix = classname
        .filter(|classname| !classname.trim().is_empty())
        .or_else(|| {
            suite
                .iter()
                .rev()
                .map(String::as_str)
                .find(|suite| !suite.trim().is_empty())
        });
    // Room for a tag per bracket (usually exact), not the four a growing vector would take.
    // (A plain count: `memchr`'s costs more than it saves on a name's hundred bytes.)
    let brackets = |text: &str| text.bytes().filter(|byte| *byte == b'[').count();
    let mut tags = Vec::with_capacity(prefix.map_or(0, brackets) + brackets(name));
    let mut id = String::with_capacity(prefix.map_or(0, |prefix| prefix.len() + 2) + name.len());
    if let Some(prefix) = prefix {
        append_normalised(&mut id, prefix, &mut tags);
        if !id.is_empty() {
            id.push_str("::");
        }
    }
    let start = id.len();
    append_normalised(&mut id, name, &mut tags);
    if id.len() == start {
        // A name made only of tags keeps its text.
        push_collapsed(&mut id, name);
    }
    if id.len() == start {
        // jest writes `name=""` for a test with an empty title.
        id.push_str(UNNAMED);
    }
    (id, tags)
}

/// Removes `[QUARANTINE]` and bracket tags from a name and collapses its whitespace; returns
/// the name and the tags in order of appearance, without duplicates. See the module docs for
/// what counts as a tag. A name made only of tags keeps its text (collapsed), with the tags
/// still returned, so that no id is empty.
pub fn normalise(name: &str) -> (String, Vec<String>) {
    let mut tags = Vec::new();
    let mut out = String::with_capacity(name.len());
    append_normalised(&mut out, name, &mut tags);
    if out.is_empty() {
        push_collapsed(&mut out, name);
    }
    (out, tags)
}

/// Appends `text` without its tags (added to `tags`, without duplicates) and with its
/// whitespace collapsed (every run one space, the ends trimmed); appends nothing when only tags
/// and whitespace are left. One pass and no allocation but the tags': the same as removing the
/// tags first and collapsing afterwards, which a property test checks.
fn append_normalised(out: &mut String, text: &str, tags: &mut Vec<String>) {
    let mut words = Words::new(out);
    let mut rest = text;
    // Whether a bracket here starts a word: at the start, after whitespace or after a tag.
    let mut word_start = true;
    while let Some(open) = memchr::memchr(b'[', rest.as_bytes()) {
        let before = &rest[..open];
        if !before.is_empty() {
            word_start = before.ends_with(char::is_whitespace);
            words.push(before);
        }
        let after = &rest[open + 1..];
        if word_start
            && let Some(close) = after
                .bytes()
                .position(|byte| matches!(byte, b']' | b'[' | b'\n'))
            && after.as_bytes()[close] == b']'
            && add_tags(&after[..close], tags)
        {
            rest = &after[close + 1..];
            word_start = true;
            continue;
        }
        words.push("[");
        rest = after;
        word_start = false;
    }
    words.push(rest);
}

/// Appends `text` with its runs of whitespace made one space and its ends trimmed.
fn push_collapsed(out: &mut String, text: &str) {
    Words::new(out).push(text);
}

/// Text appended piece by piece with its whitespace collapsed: words separated by one space,
/// whatever whitespace (Unicode's) separated them, and none before the first word or after the
/// last.
struct Words<'o> {
    out: &'o mut String,
    /// Whether a word was appended.
    any: bool,
    /// Whether whitespace came after the last word.
    space: bool,
}

impl<'o> Words<'o> {
    fn new(out: &'o mut String) -> Words<'o> {
        Words {
            out,
            any: false,
            space: false,
        }
    }

    /// Appends the words of `text`; a word may continue one that the last piece ended with.
    /// Words separated by one space are copied as one run.
    fn push(&mut self, text: &str) {
        let bytes = text.as_bytes();
        // The usual piece: printable ASCII with single spaces, copied as one run.
        if is_single_spaced_ascii(bytes) {
            let run = text.strip_prefix(' ').unwrap_or(text);
            if run.len() < text.len() {
                self.space = true;
            }
            let trimmed = run.strip_suffix(' ').unwrap_or(run);
            self.word(trimmed);
            if trimmed.len() < run.len() {
                self.space = true;
            }
            return;
        }
        let mut word = 0;
        let mut at = 0;
        while at < bytes.len() {
            while at < bytes.len() && (b'!'..=b'~').contains(&bytes[at]) {
                at += 1;
            }
            let Some(&byte) = bytes.get(at) else {
                break;
            };
            // One space between two words stays in the run copied at once.
            if byte == b' '
                && at > word
                && bytes
                    .get(at + 1)
                    .is_some_and(|next| (b'!'..=b'~').contains(next))
            {
                at += 1;
                continue;
            }
            let width = if byte.is_ascii() {
                if !is_ascii_whitespace(byte) {
                    at += 1;
                    continue;
                }
                1
            } else {
                let c = text[at..].chars().next().unwrap_or_default();
                if !c.is_whitespace() {
                    at += c.len_utf8();
                    continue;
                }
                c.len_utf8()
            };
            self.word(&text[word..at]);
            self.space = true;
            at += width;
            word = at;
        }
        self.word(&text[word..]);
    }

    fn word(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        if self.space && self.any {
            self.out.push(' ');
        }
        self.out.push_str(word);
        self.any = true;
        self.space = false;
    }
}

/// Whether every byte of `bytes` is printable ASCII or the space (`0x20..=0x7f`: no other
/// whitespace, no control character, nothing beyond ASCII) and no two spaces are adjacent.
/// Looks at 8 bytes at a time.
fn is_single_spaced_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut previous_space = false;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // A byte below 0x20 borrows when 0x20 is taken from it (the classic "has a byte less
        // than n" test, exact when no byte has its high bit set; bytes that have it are caught
        // by `| word`).
        if (word.wrapping_sub(ONES * 0x20) | word) & HIGH != 0 {
            return false;
        }
        // The high bit of every byte that is a space, exactly (no carry crosses bytes).
        let x = word ^ (ONES * 0x20);
        let spaces = !(((x & LOW).wrapping_add(LOW)) | x | LOW);
        if spaces & (spaces << 8) != 0 || (previous_space && spaces & 0x80 != 0) {
            return false;
        }
        previous_space = spaces >> 63 != 0;
    }
    for &byte in chunks.remainder() {
        let space = byte == b' ';
        if !(b' '..=0x7f).contains(&byte) || (space && previous_space) {
            return false;
        }
        previous_space = space;
    }
    true
}

/// Appends `text` without its tags (added to `tags`, without duplicates), whitespace left as
/// it is: the two-pass reference that [`append_normalised`] is tested against.
#[cfg(test)]
fn strip_tags_into(out: &mut String, text: &str, tags: &mut Vec<String>) {
    let start = out.len();
    let mut rest = text;
    let mut after_tag = false;
    while let Some(open) = rest.find('[') {
        let before = &rest[..open];
        let at_word_start = if before.is_empty() {
            out.len() == start || after_tag || out.ends_with(char::is_whitespace)
        } else {
            before.ends_with(char::is_whitespace)
        };
        out.push_str(before);
        let after = &rest[open + 1..];
        if at_word_start
            && let Some(close) = after.find([']', '[', '\n'])
            && after.as_bytes()[close] == b']'
            && add_tags(&after[..close], tags)
        {
            rest = &after[close + 1..];
            after_tag = true;
            continue;
        }
        out.push('[');
        rest = after;
        after_tag = false;
    }
    out.push_str(rest);
}

/// Adds the pieces of a bracket group to `tags` when it is a tag group: comma-separated pieces,
/// each one non-empty word. Returns whether it was one (and adds nothing when not).
fn add_tags(content: &str, tags: &mut Vec<String>) -> bool {
    let before = tags.len();
    let mut rest = Some(content);
    while let Some(group) = rest {
        // `,` is ASCII: the pieces are cut at character boundaries.
        let (piece, next) = match group.bytes().position(|byte| byte == b',') {
            Some(comma) => (&group[..comma], Some(&group[comma + 1..])),
            None => (group, None),
        };
        rest = next;
        let piece = trim(piece);
        if piece.is_empty() || has_whitespace(piece) {
            tags.truncate(before);
            return false;
        }
        if piece.eq_ignore_ascii_case("QUARANTINE") || piece == "It" {
            continue;
        }
        if !tags.iter().any(|tag| tag == piece) {
            tags.push(piece.to_owned());
        }
    }
    true
}

/// `text` without whitespace (Unicode's) at its ends; at once when its ends are printable
/// ASCII, as a tag's usually are.
fn trim(text: &str) -> &str {
    let printable = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_graphic);
    let bytes = text.as_bytes();
    if printable(bytes.first()) && printable(bytes.last()) {
        text
    } else {
        text.trim()
    }
}

/// Whether `text` holds whitespace (Unicode's).
fn has_whitespace(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(is_ascii_whitespace)
    } else {
        text.contains(char::is_whitespace)
    }
}

/// Whether an ASCII byte is whitespace as Unicode (and `char::is_whitespace`) says: unlike
/// `u8::is_ascii_whitespace`, the vertical tab is.
fn is_ascii_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// How bad an outcome is, for "failure wins" when a test appears in several files.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Fail => 7,
        Outcome::Error => 6,
        Outcome::FlakyPass => 5,
        Outcome::Xpass => 4,
        Outcome::Pass => 3,
        Outcome::Xfail => 2,
        Outcome::Skip => 1,
        Outcome::NotRun => 0,
    }
}

const NONE: u32 = u32::MAX;

/// Where the rows of one test id are.
struct Slot {
    /// The file of its rows, or [`NONE`] once rows of several files were merged into `head`.
    file: u32,
    head: u32,
    tail: u32,
    /// The next slot whose id has the same hash ([`NONE`] at the end).
    same_hash: u32,
}

/// Rows of one run, merged across files. The rows of each file are appended to
/// [`Merger::rows`] as they are read, then indexed in place ([`Merger::index_file`]); a row
/// merged into another file's row stays behind, emptied, until [`Merger::finish`]. Ids are
/// found by a 64-bit hash (collisions are resolved by comparing the ids), so that no id is
/// copied.
#[derive(Default)]
struct Merger {
    rows: Vec<NewResult>,
    /// The next row of the same test in the same file ([`NONE`] at the end).
    next: Vec<u32>,
    alive: Vec<bool>,
    /// Whether a row was merged into another (so that [`Merger::finish`] leaves some out).
    merged: bool,
    slots: Vec<Slot>,
    by_hash: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
}

impl Merger {
    /// A merger with room for `rows` rows.
    fn with_capacity(rows: usize) -> Merger {
        Merger {
            rows: Vec::with_capacity(rows),
            next: Vec::with_capacity(rows),
            alive: Vec::with_capacity(rows),
            by_hash: HashMap::with_capacity_and_hasher(rows, BuildHasherDefault::default()),
            slots: Vec::with_capacity(rows),
            merged: false,
        }
    }

    /// The slot of the test of row `index`, if an earlier row had it.
    fn find(&self, hash: u64, index: usize) -> Option<usize> {
        let test = &self.rows[index].test;
        let mut cursor = *self.by_hash.get(&hash)?;
        while cursor != NONE {
            let slot = &self.slots[cursor as usize];
            if self.rows[slot.head as usize].test == *test {
                return Some(cursor as usize);
            }
            cursor = slot.same_hash;
        }
        None
    }

    /// Indexes the rows from `start` on, those of `file`.
    fn index_file(&mut self, file: u32, start: usize) {
        for index in start..self.rows.len() {
            let hash = hash_id(&self.rows[index].test);
            self.index(file, index, hash);
        }
    }

    /// Indexes row `index` (the next one not indexed yet), of `file`, whose id hashes to `hash`.
    fn index(&mut self, file: u32, index: usize, hash: u64) {
        debug_assert_eq!(index, self.next.len());
        self.next.push(NONE);
        self.alive.push(true);
        let index32 = index as u32;
        match self.find(hash, index) {
            None => {
                let slot = self.slots.len() as u32;
                let same_hash = self.by_hash.insert(hash, slot).unwrap_or(NONE);
                self.slots.push(Slot {
                    file,
                    head: index32,
                    tail: index32,
                    same_hash,
                });
            }
            Some(slot) if self.slots[slot].file == file => {
                // Another execution in the same file.
                let tail = self.slots[slot].tail as usize;
                self.next[tail] = index32;
                self.slots[slot].tail = index32;
            }
            Some(slot) => {
                // Another file: everything of this test becomes one row, the first.
                let head = self.slots[slot].head as usize;
                let mut cursor = self.next[head];
                self.next[head] = NONE;
                while cursor != NONE {
                    let other = cursor as usize;
                    cursor = self.next[other];
                    self.take_into(head, other);
                }
                self.take_into(head, index);
                self.slots[slot].file = NONE;
                self.slots[slot].tail = self.slots[slot].head;
            }
        }
    }

    /// Merges row `other` into row `head` ("failure wins"); `other` stays behind, empty (no
    /// allocation), left out by [`Merger::finish`].
    fn take_into(&mut self, head: usize, other: usize) {
        self.alive[other] = false;
        self.merged = true;
        let row = std::mem::replace(
            &mut self.rows[other],
            NewResult::new(String::new(), Outcome::NotRun),
        );
        merge_into(&mut self.rows[head], row);
    }

    fn finish(self) -> Vec<NewResult> {
        if !self.merged {
            return self.rows;
        }
        self.rows
            .into_iter()
            .zip(self.alive)
            .filter_map(|(row, alive)| alive.then_some(row))
            .collect()
    }
}

/// A 64-bit hash of an id (FxHash over 8-byte words, then a 64-bit finalizer): fast, and
/// collisions only cost a comparison.
fn hash_id(id: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let bytes = id.as_bytes();
    let mut hash = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // murmur3's fmix64, so that every bit of the key depends on every input bit.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Keeps the worse of two executions of one test in `into`, with the union of their tags.
fn merge_into(into: &mut NewResult, other: NewResult) {
    if let (Some(tags), Some(other_tags)) = (into.tags.as_mut(), other.tags.as_ref()) {
        for tag in other_tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
    }
    if severity(other.outcome) > severity(into.outcome) {
        let tags = into.tags.take();
        *into = NewResult { tags, ..other };
    }
}

/// Reads `files` (already collected, see [`collect_files`]) into one run's results.
pub fn read_files(files: &[PathBuf]) -> Parsed {
    let mut parsed = Parsed::default();
    // Room for every file's rows at once (a stat costs far less than copying the rows).
    let guess: usize = files
        .iter()
        .map(|path| std::fs::metadata(path).map_or(0, |metadata| rows_guess(metadata.len())))
        .fold(0, usize::saturating_add);
    let mut merger = Merger::with_capacity(guess.min(1 << 20));
    let mut digests = Vec::with_capacity(files.len());
    for path in files {
        let start = merger.rows.len();
        match read_file(path, &mut merger.rows) {
            Ok(file) => {
                parsed.testcases += file.testcases as u64;
                parsed.unnamed += file.unnamed;
                if file.unnamed > 0 {
                    parsed.unnamed_in.push(path.clone());
                }
                let index = parsed.files.len() as u32;
                merger.index_file(index, start);
                digests.push(file.digest);
                parsed.files.push(path.clone());
            }
            Err(skipped) => parsed.skipped.push(skipped),
        }
    }
    parsed.results = merger.finish();
    parsed.tally = Tally::of(&parsed.results);
    if !digests.is_empty() {
        parsed.digests = digests.clone();
        digests.sort_unstable();
        let mut hasher = Sha256::new();
        for digest in &digests {
            hasher.update(digest);
        }
        parsed.key = Some(format!("{KEY_PREFIX}{}", hex(&hasher.finalize())));
    }
    parsed
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Reads the JUnit files and folders `inputs` and records them as one run in `history`:
/// [`read_inputs`], then [`record`].
pub fn ingest(
    history: &mut History,
    inputs: &[PathBuf],
    run: &RunInfo,
) -> Result<Report, IngestError> {
    let parsed = read_inputs(inputs)?;
    record(history, parsed, inputs, run)
}

/// Reads the JUnit files and folders `inputs` (see [`collect_files`]) into one run's results,
/// without touching any history.
///
/// Fails when a path does not exist, when no XML file is found, or when no file could be read
/// ([`IngestError::NothingRead`], listing each). Malformed files and folders without XML files
/// are in [`Parsed::skipped`].
pub fn read_inputs(inputs: &[PathBuf]) -> Result<Parsed, IngestError> {
    let (files, empty) = collect_files(inputs)?;
    if files.is_empty() {
        return Err(IngestError::NoFiles {
            paths: inputs.to_vec(),
        });
    }
    let mut parsed = read_files(&files);
    for folder in empty {
        parsed.skipped.push(Skipped {
            path: folder,
            position: None,
            reason: "no *.xml file in this folder".to_owned(),
        });
    }
    if parsed.key.is_none() {
        return Err(IngestError::NothingRead {
            skipped: parsed.skipped,
        });
    }
    Ok(parsed)
}

/// Records what [`read_inputs`] read from `inputs` as one run in `history`.
///
/// The files are looked up by their digests first ([`History::runs_of_files`]):
/// - none was recorded before: a new run (unless a run with the same ingest key was recorded
///   before the history kept its files: [`Recorded::AlreadyRecorded`]);
/// - all of them were, in one run: [`Recorded::AlreadyRecorded`], nothing is written;
/// - some of them were, in one run, and `run` has that run's lane, kind and commit: the
///   others **complete that run** (files skipped as malformed when it was ingested, fixed
///   since): the run's recorded results and the new files are merged as the files of one run
///   are ("failure wins" across files) and replace the run's results
///   ([`Recorded::Completed`]); its start stays. With another lane, kind or commit:
///   [`IngestError::OtherRun`], nothing is written (another run's report left in the same
///   folder must not be merged into it);
/// - they were recorded in several runs: [`IngestError::SeveralRuns`], nothing is written.
///
/// A run without any testcase is not recorded ([`Report::recorded`] is `None`).
pub fn record(
    history: &mut History,
    parsed: Parsed,
    inputs: &[PathBuf],
    run: &RunInfo,
) -> Result<Report, IngestError> {
    let Some(key) = parsed.key.clone() else {
        return Err(IngestError::NothingRead {
            skipped: parsed.skipped,
        });
    };
    let known = history.runs_of_files(&parsed.digests)?;
    let mut runs: Vec<i64> = known.iter().flatten().copied().collect();
    runs.sort_unstable();
    runs.dedup();
    if runs.len() > 1 {
        let files = parsed
            .files
            .iter()
            .zip(&known)
            .filter_map(|(path, run)| run.map(|run| (path.clone(), run)))
            .collect();
        return Err(IngestError::SeveralRuns { files });
    }
    let new_files: Vec<PathBuf> = parsed
        .files
        .iter()
        .zip(&known)
        .filter(|(_, run)| run.is_none())
        .map(|(path, _)| path.clone())
        .collect();
    if let Some(&run_id) = runs.first() {
        if new_files.is_empty() {
            return Ok(Report {
                parsed,
                recorded: Some(Recorded::AlreadyRecorded { run_id }),
                new_files,
            });
        }
        // New files complete a run only when given as that run's: another run's report left
        // in the same folder must not be merged into it.
        if let Some(earlier) = history.run_summary(run_id)?.map(|summary| summary.run)
            && (earlier.lane.as_str(), earlier.kind, earlier.commit.as_str())
                != (run.lane.as_str(), run.kind, run.commit.as_str())
        {
            return Err(IngestError::OtherRun {
                run_id,
                lane: earlier.lane,
                kind: earlier.kind,
                commit: earlier.commit,
                recorded: parsed.files.len() - new_files.len(),
                new_files,
            });
        }
        let recorded = complete(history, run_id, &parsed, &known)?;
        return Ok(Report {
            parsed,
            recorded: Some(recorded),
            new_files,
        });
    }
    if parsed.results.is_empty() {
        return Ok(Report {
            parsed,
            recorded: None,
            new_files: Vec::new(),
        });
    }
    let new_run = NewRun {
        lane: run.lane.clone(),
        kind: run.kind,
        commit: run.commit.clone(),
        started_at: run.started_at,
        source: source_of(inputs),
        ingest_key: Some(key),
    };
    let recorded = history.record_ingested_run(&new_run, &parsed.results, &parsed.digests)?;
    let new_files = if recorded.is_new() {
        new_files
    } else {
        Vec::new()
    };
    Ok(Report {
        parsed,
        recorded: Some(recorded),
        new_files,
    })
}

/// Completes run `run_id` with the files of `parsed` that it does not have (`known[i]` is
/// `None` for those): they are read again, merged after the run's recorded results, and the
/// merge replaces them.
fn complete(
    history: &mut History,
    run_id: i64,
    parsed: &Parsed,
    known: &[Option<i64>],
) -> Result<Recorded, IngestError> {
    let mut merger = Merger {
        rows: history.ingested_results(run_id)?,
        ..Merger::default()
    };
    merger.index_file(0, 0);
    let mut digests = Vec::new();
    for (path, digest) in parsed
        .files
        .iter()
        .zip(&parsed.digests)
        .zip(known)
        .filter(|(_, run)| run.is_none())
        .map(|(file, _)| file)
    {
        // Read again: `parsed` keeps only the merge of all files.
        let start = merger.rows.len();
        let file = read_file(path, &mut merger.rows).map_err(|skipped| IngestError::Changed {
            path: path.clone(),
            detail: skipped.to_string(),
        })?;
        if file.digest != *digest {
            return Err(IngestError::Changed {
                path: path.clone(),
                detail: "its contents changed while it was being ingested".to_owned(),
            });
        }
        let index = digests.len() as u32 + 1;
        merger.index_file(index, start);
        digests.push(file.digest);
    }
    let results = merger.finish();
    Ok(history.complete_ingested_run(run_id, &results, &digests)?)
}

/// The run's `source`: what was ingested.
fn source_of(inputs: &[PathBuf]) -> String {
    const MAX: usize = 1000;
    let mut text = format!("coalmine ingest {}", list(inputs));
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(name: &str) -> (String, Vec<String>) {
        normalise(name)
    }

    #[test]
    fn tags_are_parsed_out_of_names() {
        assert_eq!(
            norm("[sig-compute] VM starts [release-blocker] [test_id:1234]"),
            (
                "VM starts".to_owned(),
                vec![
                    "sig-compute".to_owned(),
                    "release-blocker".to_owned(),
                    "test_id:1234".to_owned()
                ]
            )
        );
        assert_eq!(
            norm("[QUARANTINE][sig-network]Migration works"),
            ("Migration works".to_owned(), vec!["sig-network".to_owned()])
        );
        assert_eq!(
            norm("[quarantine] slow test"),
            ("slow test".to_owned(), vec![])
        );
        assert_eq!(
            norm("[It] VMI lifecycle [rfe_id:273][crit:high]should start [sig-compute, Serial]"),
            (
                "VMI lifecycle should start".to_owned(),
                vec![
                    "rfe_id:273".to_owned(),
                    "crit:high".to_owned(),
                    "sig-compute".to_owned(),
                    "Serial".to_owned()
                ]
            )
        );
    }

    proptest::proptest! {
        /// Whatever the name, the result is the name without its tags, collapsed the slow way
        /// (every whitespace run one space, ends trimmed), as the two-pass reference does it.
        #[test]
        fn normalising_is_stripping_then_collapsing(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "[sig-compute]", "[test_id:7]", "[QUARANTINE]", "[a, b]", "[It]", "[", "]",
                " ", "  ", "\t", "\n", "\r", "\u{b}", "\u{a0}", "\u{85}", "\u{2003}", "VMI", "x",
                "é", "[a b]", "::", "should keep running", "io.kubevirt.tests", "\u{7f}",
            ]), 0..12)
        ) {
            let name = pieces.concat();
            let mut stripped = String::new();
            let mut expected_tags = Vec::new();
            strip_tags_into(&mut stripped, &name, &mut expected_tags);
            let expected = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut out = String::from("prefix::");
            let mut tags = Vec::new();
            append_normalised(&mut out, &name, &mut tags);
            proptest::prop_assert_eq!(&out["prefix::".len()..], expected.as_str(), "{:?}", name);
            proptest::prop_assert_eq!(tags, expected_tags);
        }
    }

    proptest::proptest! {
        #[test]
        fn single_spaced_ascii_is_told_apart(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => 0x21u8..0x80,
                    3 => proptest::strategy::Just(b' '),
                    1 => 0x1fu8..0x21,
                    1 => proptest::num::u8::ANY,
                ],
                0..24,
            )
        ) {
            let expected = bytes.iter().all(|byte| (0x20..0x80).contains(byte))
                && !bytes.windows(2).any(|pair| pair == b"  ");
            proptest::prop_assert_eq!(is_single_spaced_ascii(&bytes), expected);
        }
    }

    #[test]
    fn brackets_that_are_not_tags_stay() {
        assert_eq!(norm("test_add[1-2]"), ("test_add[1-2]".to_owned(), vec![]));
        assert_eq!(
            norm("handles [a b] input"),
            ("handles [a b] input".to_owned(), vec![])
        );
        assert_eq!(norm("unclosed [tag"), ("unclosed [tag".to_owned(), vec![]));
        assert_eq!(
            norm("empty [] group"),
            ("empty [] group".to_owned(), vec![])
        );
        assert_eq!(
            norm("nested [[x]] y"),
            ("nested [[x]] y".to_owned(), vec![])
        );
        assert_eq!(
            norm("  many   spaces\there "),
            ("many spaces here".to_owned(), vec![])
        );
        assert_eq!(norm("a\u{a0}b\tc"), ("a b c".to_owned(), vec![]));
        assert_eq!(norm(" x "), ("x".to_owned(), vec![]));
        assert_eq!(
            norm("[sig-storage]"),
            ("[sig-storage]".to_owned(), vec!["sig-storage".to_owned()])
        );
    }

    #[test]
    fn ids_join_classname_or_suite_and_name() {
        let mut case = TestCase::new("[sig-compute] test_x", Outcome::Pass, "passed");
        assert_eq!(test_id(&case).0, "test_x");
        case.suite = vec!["outer".to_owned(), "inner".to_owned()];
        assert_eq!(test_id(&case).0, "inner::test_x");
        case.classname = Some("pkg.[sig-network] Class".to_owned());
        let (id, tags) = test_id(&case);
        assert_eq!(id, "pkg.[sig-network] Class::test_x");
        assert_eq!(tags, vec!["sig-compute".to_owned()]);
        case.classname = Some("[sig-network] Class".to_owned());
        let (id, tags) = test_id(&case);
        assert_eq!(id, "Class::test_x");
        assert_eq!(
            tags,
            vec!["sig-network".to_owned(), "sig-compute".to_owned()]
        );
        case.classname = Some("   ".to_owned());
        assert_eq!(test_id(&case).0, "inner::test_x");
        // jest's `name=""`: the suite's id, marked, never `inner::` or empty.
        case.name = String::new();
        assert_eq!(test_id(&case).0, "inner::(unnamed)");
        case.suite.clear();
        assert_eq!(test_id(&case).0, "(unnamed)");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    const PART_A: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="a">
    <testcase classname="pkg.A" name="[sig-compute] one" time="0.5"/>
    <testcase classname="pkg.A" name="two"><failure message="boom">trace</failure></testcase>
    <testcase classname="pkg.A" name="dup"/>
    <testcase classname="pkg.A" name="dup"><skipped/></testcase>
  </testsuite>
</testsuites>
"#;

    const PART_B: &str = r#"<testsuite name="b">
  <testcase classname="pkg.A" name="one"><error message="crash"/></testcase>
  <testcase classname="pkg.A" name="two"/>
  <testcase classname="pkg.B" name="flaky"><flakyFailure message="first try"/></testcase>
  <testcase classname="" name="[QUARANTINE] three"/>
</testsuite>
"#;

    #[test]
    fn partial_files_merge_and_failure_wins() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "x/a.xml", PART_A);
        write(dir.path(), "x/sub/b.XML", PART_B);
        write(dir.path(), "x/notes.txt", "not xml");
        let (files, empty) = collect_files(&[dir.path().join("x")]).unwrap();
        assert_eq!(files.len(), 2);
        assert!(empty.is_empty());
        let parsed = read_files(&files);
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        assert_eq!(parsed.testcases, 8);
        let by_name: Vec<(&str, Outcome)> = parsed
            .results
            .iter()
            .map(|row| (row.test.as_str(), row.outcome))
            .collect();
        assert_eq!(
            by_name,
            vec![
                ("pkg.A::one", Outcome::Error),
                ("pkg.A::two", Outcome::Fail),
                ("pkg.A::dup", Outcome::Pass),
                ("pkg.A::dup", Outcome::Skip),
                ("pkg.B::flaky", Outcome::FlakyPass),
                ("b::three", Outcome::Pass),
            ]
        );
        // The error came from the second file, with its message; the tags of both are kept.
        assert_eq!(parsed.results[0].message.as_deref(), Some("crash"));
        assert_eq!(parsed.results[0].tags, Some(vec!["sig-compute".to_owned()]));
        assert_eq!(parsed.results[1].message.as_deref(), Some("boom"));
        assert_eq!(
            parsed.tally,
            Tally {
                tests: 6,
                passed: 3,
                failed: 1,
                errored: 1,
                skipped: 1,
                flaky: 1
            }
        );
        // The key does not depend on names or order.
        let other = tempfile::tempdir().unwrap();
        let b = write(other.path(), "first.xml", PART_B);
        let a = write(other.path(), "second.xml", PART_A);
        assert_eq!(read_files(&[b, a]).key, parsed.key);
        assert!(parsed.key.as_deref().unwrap().starts_with(KEY_PREFIX));
    }

    #[test]
    fn duplicates_in_several_files_collapse_whole() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.xml",
            r#"<testsuite name="s"><testcase classname="c" name="t"/><testcase classname="c" name="t"><skipped/></testcase></testsuite>"#,
        );
        let b = write(
            dir.path(),
            "b.xml",
            r#"<testsuite name="s"><testcase classname="c" name="t"><failure/></testcase></testsuite>"#,
        );
        let c = write(
            dir.path(),
            "c.xml",
            r#"<testsuite name="s"><testcase classname="c" name="t"/></testsuite>"#,
        );
        let parsed = read_files(&[a, b, c]);
        assert_eq!(parsed.results.len(), 1);
        assert_eq!(parsed.results[0].outcome, Outcome::Fail);
        assert_eq!(parsed.testcases, 4);
    }

    #[test]
    fn a_malformed_file_between_good_ones_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.xml",
            r#"<testsuite name="s"><testcase classname="c" name="x"/></testsuite>"#,
        );
        // Two testcases read, then the error: neither may reach the run.
        let b = write(
            dir.path(),
            "b.xml",
            "<testsuite name=\"s\"><testcase classname=\"c\" name=\"x\"><failure/></testcase>\n\
             <testcase classname=\"c\" name=\"y\"><failure/></testcase>\n<testcase name=\"z\">",
        );
        let c = write(
            dir.path(),
            "c.xml",
            r#"<testsuite name="s"><testcase classname="c" name="x"/><testcase classname="c" name="w" time="2"/></testsuite>"#,
        );
        let parsed = read_files(&[a, b, c]);
        assert_eq!(parsed.skipped.len(), 1);
        assert!(parsed.skipped[0].path.ends_with("b.xml"));
        assert_eq!(parsed.testcases, 3);
        let rows: Vec<(&str, Outcome, Option<f64>)> = parsed
            .results
            .iter()
            .map(|row| (row.test.as_str(), row.outcome, row.duration_secs))
            .collect();
        assert_eq!(
            rows,
            [
                ("c::x", Outcome::Pass, None),
                ("c::w", Outcome::Pass, Some(2.0))
            ]
        );
        assert_eq!(parsed.digests.len(), 2);
    }

    #[test]
    fn ids_with_the_same_hash_stay_apart() {
        let mut merger = Merger::default();
        // Every id hashes to 7 here.
        let mut add = |file, test: &str, outcome| {
            merger.rows.push(NewResult::new(test, outcome));
            merger.index(file, merger.rows.len() - 1, 7);
        };
        add(0, "a", Outcome::Pass);
        add(0, "b", Outcome::Pass);
        add(0, "c", Outcome::Pass);
        add(1, "b", Outcome::Fail);
        add(1, "c", Outcome::Skip);
        add(1, "d", Outcome::Pass);
        let rows: Vec<(String, Outcome)> = merger
            .finish()
            .into_iter()
            .map(|row| (row.test, row.outcome))
            .collect();
        assert_eq!(
            rows,
            [
                ("a".to_owned(), Outcome::Pass),
                ("b".to_owned(), Outcome::Fail),
                ("c".to_owned(), Outcome::Pass),
                ("d".to_owned(), Outcome::Pass),
            ]
        );
        assert_ne!(hash_id("ab"), hash_id("ba"));
    }

    #[test]
    fn malformed_files_are_skipped_with_their_position() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "good.xml", PART_B);
        write(
            dir.path(),
            "bad.xml",
            "<testsuite name=\"s\">\n  <testcase name=\"a\"/>\n  <testcase name=\"b\">\n</testsuite>\n",
        );
        write(dir.path(), "empty/readme.md", "");
        let history_dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&history_dir.path().join("h.db")).unwrap();
        let run = RunInfo {
            lane: "periodic-e2e".to_owned(),
            kind: RunKind::Periodic,
            commit: "1a2b3c4".to_owned(),
            started_at: "2026-11-20T03:00:00Z".parse().unwrap(),
        };
        let inputs = [dir.path().to_path_buf(), dir.path().join("empty")];
        let report = ingest(&mut history, &inputs, &run).unwrap();
        assert_eq!(report.parsed.skipped.len(), 2);
        let bad = &report.parsed.skipped[0];
        assert!(bad.path.ends_with("bad.xml"));
        assert_eq!(bad.position, Some((4, 1)), "{bad}");
        assert!(
            bad.to_string().contains("bad.xml:4:1: malformed JUnit XML"),
            "{bad}"
        );
        assert!(report.parsed.skipped[1].path.ends_with("empty"));
        assert!(report.recorded.unwrap().is_new());
        assert_eq!(report.parsed.tally.tests, 4);
        // Again: nothing is recorded twice.
        let again = ingest(&mut history, &inputs, &run).unwrap();
        assert!(!again.recorded.unwrap().is_new());
        assert_eq!(history.runs(None).unwrap().len(), 1);
        let tests = history.tests().unwrap();
        let names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
        assert_eq!(
            names,
            ["b::three", "pkg.A::one", "pkg.A::two", "pkg.B::flaky"]
        );
    }

    fn periodic(hour: i64) -> RunInfo {
        RunInfo {
            lane: "periodic-e2e".to_owned(),
            kind: RunKind::Periodic,
            commit: format!("c{hour}"),
            started_at: Timestamp::from_second(1_790_000_000 + hour * 3600).unwrap(),
        }
    }

    #[test]
    fn recorded_files_are_recognised_alone_and_fixed_files_complete_their_run() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "r1/a.xml", PART_A);
        let bad = write(
            dir.path(),
            "r1/b.xml",
            "<testsuite name=\"b\">\n<testcase name=\"x\">",
        );
        let other = write(
            dir.path(),
            "r2/a.xml",
            "<testsuite name=\"s\"><testcase classname=\"pkg.A\" name=\"two\"/></testsuite>",
        );
        let mut history = History::open(&dir.path().join("h.db")).unwrap();
        let folder = [dir.path().join("r1")];
        let first = ingest(&mut history, &folder, &periodic(1)).unwrap();
        assert_eq!(
            first.recorded,
            Some(Recorded::New {
                run_id: 1,
                results: 4
            })
        );
        assert_eq!(first.new_files, std::slice::from_ref(&a));
        assert_eq!(first.parsed.skipped.len(), 1);
        let second = ingest(&mut history, std::slice::from_ref(&other), &periodic(2)).unwrap();
        assert_eq!(second.recorded.unwrap().run_id(), 2);
        // One file of run 1, alone, under another name: recorded already.
        let copy = write(dir.path(), "elsewhere/renamed.xml", PART_A);
        let again = ingest(&mut history, &[copy], &periodic(3)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        assert!(again.new_files.is_empty());
        // Files of two runs together: refused, nothing written.
        let mixed = ingest(&mut history, &[a.clone(), other], &periodic(3)).unwrap_err();
        assert!(
            matches!(&mixed, IngestError::SeveralRuns { files } if files.len() == 2),
            "{mixed}"
        );
        assert!(mixed.to_string().contains("(run 2)"), "{mixed}");
        // The fixed file completes run 1: its results join those recorded ("failure wins"
        // across files), the run is not recorded twice.
        std::fs::write(
            &bad,
            "<testsuite name=\"b\"><testcase classname=\"pkg.A\" name=\"[sig-net] one\">\
             <failure/></testcase><testcase classname=\"pkg.C\" name=\"new\"/></testsuite>",
        )
        .unwrap();
        // Given as another run (another commit): refused, nothing written.
        let other_run = ingest(&mut history, &folder, &periodic(9)).unwrap_err();
        assert!(
            matches!(
                &other_run,
                IngestError::OtherRun {
                    run_id: 1,
                    recorded: 1,
                    ..
                }
            ),
            "{other_run}"
        );
        assert!(other_run.to_string().contains("--commit c1"), "{other_run}");
        assert_eq!(history.run_summaries(None).unwrap()[0].counts.total, 4);
        let fixed = ingest(&mut history, &folder, &periodic(1)).unwrap();
        assert_eq!(
            fixed.recorded,
            Some(Recorded::Completed {
                run_id: 1,
                results: 5
            })
        );
        assert_eq!(fixed.new_files, std::slice::from_ref(&bad));
        let summaries = history.run_summaries(None).unwrap();
        assert_eq!(summaries.len(), 2);
        let run1 = &summaries[0];
        assert_eq!(
            (run1.run.id, run1.run.commit.as_str()),
            (1, "c1"),
            "its details stay"
        );
        assert_eq!(
            (
                run1.counts.total,
                run1.counts.passed,
                run1.counts.failed,
                run1.counts.skipped
            ),
            (5, 2, 2, 1)
        );
        let mut rows = Vec::new();
        history
            .for_each_result(None, |row| {
                if row.run_id == 1 {
                    rows.push((row.test.clone(), row.outcome));
                }
            })
            .unwrap();
        rows.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            rows,
            [
                ("pkg.A::dup".to_owned(), Outcome::Pass),
                ("pkg.A::dup".to_owned(), Outcome::Skip),
                ("pkg.A::one".to_owned(), Outcome::Fail),
                ("pkg.A::two".to_owned(), Outcome::Fail),
                ("pkg.C::new".to_owned(), Outcome::Pass),
            ]
        );
        // Tags: run 1's own and the fixed file's, both reported at run 1's start.
        let tests = history.tests().unwrap();
        let one = tests.iter().find(|test| test.name == "pkg.A::one").unwrap();
        assert_eq!(one.tags, ["sig-compute", "sig-net"]);
        let again = ingest(&mut history, &folder, &periodic(9)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        crate::history::tests::assert_foreign_keys_hold(history.path());
    }

    /// A run ingested before the history kept its files (schema version 3) has no
    /// `ingested_files` rows: the same files are still recognised by the run's ingest key.
    #[test]
    fn runs_from_before_the_file_table_are_recognised_by_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "r/a.xml", PART_A);
        let b = write(dir.path(), "r/b.xml", PART_B);
        let path = dir.path().join("h.db");
        let mut history = History::open(&path).unwrap();
        let first = ingest(&mut history, &[a.clone(), b.clone()], &periodic(1)).unwrap();
        assert!(first.recorded.unwrap().is_new());
        drop(history);
        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(conn.execute("DELETE FROM ingested_files", []).unwrap(), 2);
        drop(conn);
        let mut history = History::open(&path).unwrap();
        let again = ingest(&mut history, &[b, a], &periodic(2)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        assert!(again.new_files.is_empty());
        assert_eq!(history.runs(None).unwrap().len(), 1);
    }

    #[test]
    fn tags_follow_the_newest_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&dir.path().join("h.db")).unwrap();
        let mut ingest_name = |name: &str, hour: i64| {
            let file = write(
                dir.path(),
                &format!("r{hour}/a.xml"),
                &format!(
                    "<testsuite name=\"s\"><testcase classname=\"c\" name=\"{name}\" time=\"{hour}\"/></testsuite>"
                ),
            );
            let run = RunInfo {
                lane: "l".to_owned(),
                kind: RunKind::Periodic,
                commit: format!("c{hour}"),
                started_at: Timestamp::from_second(1_790_000_000 + hour * 3600).unwrap(),
            };
            ingest(&mut history, &[file], &run).unwrap();
            history.tests().unwrap()[0].tags.clone()
        };
        assert_eq!(ingest_name("[sig-compute] t", 1), ["sig-compute"]);
        assert_eq!(ingest_name("[sig-compute] t", 2), ["sig-compute"]);
        assert_eq!(
            ingest_name("[sig-network][release-blocker] t", 3),
            ["release-blocker", "sig-network"]
        );
        assert!(ingest_name("t", 4).is_empty());
    }

    #[test]
    fn inputs_that_do_not_exist_or_hold_nothing_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&dir.path().join("h.db")).unwrap();
        let run = RunInfo {
            lane: "l".to_owned(),
            kind: RunKind::Local,
            commit: "unknown".to_owned(),
            started_at: Timestamp::now(),
        };
        let missing = ingest(&mut history, &[dir.path().join("nope")], &run).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
        std::fs::create_dir(dir.path().join("none")).unwrap();
        let none = ingest(&mut history, &[dir.path().join("none")], &run).unwrap_err();
        assert!(matches!(none, IngestError::NoFiles { .. }), "{none}");
        write(dir.path(), "only/bad.xml", "<html/>");
        let bad = ingest(&mut history, &[dir.path().join("only")], &run).unwrap_err();
        assert!(
            matches!(&bad, IngestError::NothingRead { skipped } if skipped.len() == 1),
            "{bad}"
        );
        assert!(bad.to_string().contains("bad.xml:1:1"), "{bad}");
        assert!(history.runs(None).unwrap().is_empty());
    }

    /// The dorny corpus (other projects' real reports, read in place) ingests to the counts of
    /// its `EXPECTED.tsv`, one file per run; skipped where the folder is absent.
    #[test]
    fn dorny_corpus_ingests_to_its_expected_counts() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/junit/dorny");
        let Ok(table) = std::fs::read_to_string(folder.join("EXPECTED.tsv")) else {
            eprintln!("skipped: {} is absent", folder.display());
            return;
        };
        let mut checked = 0;
        for line in table.lines().skip(1).filter(|line| !line.trim().is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let number = |index: usize| fields[index].parse::<u64>().unwrap();
            let parsed = read_files(&[folder.join(fields[0])]);
            assert!(
                parsed.skipped.is_empty(),
                "{}: {:?}",
                fields[0],
                parsed.skipped
            );
            let tally = parsed.tally;
            assert_eq!(
                (
                    tally.tests,
                    tally.passed,
                    tally.failed,
                    tally.errored,
                    tally.skipped
                ),
                (number(1), number(2), number(3), number(4), number(5)),
                "{}",
                fields[0]
            );
            checked += 1;
        }
        assert!(checked > 0);
    }
}
