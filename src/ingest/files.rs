//! Reading files: the `*.xml` files of the inputs ([`collect_files`]), each read once through
//! the streaming [`Junit`] adapter while its bytes are hashed (the SHA-256 digest the history
//! knows it by), its testcases turned into history rows with their ids and tags
//! ([`super::id`]), the rows of all files merged into one run ([`super::merge`]):
//! [`read_files`], and [`read_inputs`] with the checks on what was given.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::id::id_of;
use super::merge::Merger;
use super::{IngestError, KEY_PREFIX, Parsed, Skipped, Tally};
use crate::history::{FileDigest, NewResult};
use crate::results::ResultsErrorKind;
use crate::results::formats::{Junit, JunitCase};

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
pub(super) struct FileRead {
    /// Its testcases (rows appended).
    testcases: usize,
    pub(super) digest: FileDigest,
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
pub(super) fn read_file(path: &Path, rows: &mut Vec<NewResult>) -> Result<FileRead, Skipped> {
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

pub(super) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::tests::{PART_A, PART_B, write};
    use crate::results::Outcome;

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
