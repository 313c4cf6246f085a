//! The recipe CI's logs after it exits: `stdout.log` and `stderr.log` cut to `[run]
//! max_log_bytes` each (the head and the tail are kept, a line in between says what was cut)
//! and redacted, so that the harness's work after the CI exits is bounded by that size and not
//! by how much the CI printed.
//!
//! # Where the cap is applied
//! The CI writes straight into its log files, as before: [`super::process`] spawns it with the
//! files as its standard output and error, and nothing of the harness sits between the CI and
//! the kernel while it runs. The cap is applied once the CI has exited and its process group has
//! been swept, by [`finish`]: a log longer than the cap is rewritten into a new file (the head,
//! the marker line, the tail, redacted on the way), which is renamed over the old one.
//!
//! The alternative was a pipe per stream with a copier thread in the harness that writes the
//! head, then only a rolling tail, bounding the disk as well. It was not chosen:
//! - the CI's output would pass through the harness: every byte copied in user space, the CI
//!   slowed down to the copier's pace, a thread per stream per canary;
//! - the copier cannot wait for end-of-file: any process that inherited the pipe and outlived
//!   the CI (a daemon in its own session) holds it open, so the copier would have to be
//!   stopped after a bounded wait, and the daemon's next write would get `SIGPIPE`;
//! - the cut is needed only after the CI exits, and then the whole log is on disk, where the
//!   windows around the cut points can be read as often as needed to place the cuts safely.
//!
//! The cost of this choice: during the run the disk holds everything the CI writes (as it
//! always did), bounded by what it can write before its timeout. Once the log is cut, a process
//! that escaped the sweep and still writes to the old file writes to an unlinked file, which
//! nobody sees.
//!
//! # The cut
//! A log of `written` bytes, more than `max_log_bytes`, keeps at most [`kept_part`]
//! `= (max_log_bytes - 1024) / 2` bytes of its head and as many of its tail, so that with the
//! marker line the kept log holds at most `max_log_bytes` of the CI's output (redaction can
//! still make it longer: a `[REDACTED]` longer than the secret it replaces). The head ends after
//! the last line break within the last `min(1 MiB, kept_part / 2)` bytes before its limit, the
//! tail starts after the first line break within as many bytes after its start; without a line
//! break that near, the line is cut where the limit falls.
//!
//! The marker line between them says how many bytes were cut and which:
//! `[coalmine: 1006632960 bytes of stdout.log cut here, offsets 33553920..1040186880 of the
//! 1073741905 bytes the recipe CI wrote; [run] max_log_bytes = 67108864 keeps the head and the
//! tail]`. It is written by the harness after redaction, so it is never redacted nor counted as
//! a leak. canary.json records the same ([`LogRecord`]), and the failure report says so.
//!
//! # Secrets and the cut
//! Cutting must not leave part of a secret in the kept bytes, where redaction could no longer
//! recognise it. So the cut points move:
//! - patterns apply within a line, so cutting after a line break splits no pattern match
//!   (except, as everywhere, in a line longer than [`super::redact::MAX_LINE_CHUNK`]);
//! - a literal value (or one of its encoded forms) can still straddle a cut point: a value with
//!   a line break in it (a PEM key), or any value where no line break was near. The window of
//!   [`Redactor::max_literal_len`] bytes on each side of the cut is searched
//!   ([`Redactor::straddling`]), and the head's end moves back to the start of what straddles
//!   it, the tail's start forward to its end, until nothing does (if that would move a cut point
//!   by more than 1 MiB, that part is not kept at all). What straddled is counted as found in
//!   that log, so the leak is still reported.
//!
//! The head and the tail are then redacted as they are copied. A secret that lay wholly inside
//! the cut part is neither kept nor looked for: raise `max_log_bytes` to have every byte
//! searched.
//!
//! # The bound
//! For each stream, [`finish`] reads at most:
//! - a log no longer than `max_log_bytes`: the log twice (a scan that stops at the first secret,
//!   then the rewrite), so `2 × max_log_bytes`;
//! - a cut log: the head and the tail once (at most `max_log_bytes`), plus the windows around
//!   the two cut points (at most 1 MiB each, and a few times the longest secret).
//!
//! It holds at most one window (1 MiB) and the redactor's buffers in memory, whatever the
//! log's size.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::redact::{self, Counts, MAX_LINE_CHUNK, Redactor};

/// Bytes of `max_log_bytes` left for the marker line (which is much shorter).
pub const MARKER_RESERVE: u64 = 1024;

/// The buffer the kept parts are copied through.
const COPY_BUF: usize = 64 * 1024;

/// How many bytes of its head (and of its tail) a log longer than `max_log_bytes` keeps at
/// most.
pub fn kept_part(max_log_bytes: u64) -> u64 {
    max_log_bytes.saturating_sub(MARKER_RESERVE) / 2
}

/// What became of one log, as canary.json records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogRecord {
    /// How many bytes the recipe CI wrote to it.
    pub written: u64,
    /// How many bytes the log holds now (cut and redacted).
    pub kept: u64,
    /// What was cut from its middle, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<Cut>,
}

/// The part of a log that was not kept: offsets `from..to` of what the CI wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cut {
    /// The first byte not kept.
    pub from: u64,
    /// The first byte kept after the cut.
    pub to: u64,
    /// How many bytes were cut (`to - from`).
    pub bytes: u64,
    /// `[run] max_log_bytes` when it was cut.
    pub max_log_bytes: u64,
}

/// What [`finish`] did to a log.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its record for canary.json.
    pub record: LogRecord,
    /// What redaction found in the kept parts, and what straddled the cut points.
    pub counts: Counts,
}

/// Cuts the log at `path` to `max_log_bytes` if it is longer, and redacts it; see the
/// [module](self) docs.
///
/// # Errors
/// The I/O error, with the path in its message (`NotFound` when there is no log). When
/// cutting fails the log is left as it was (and may still hold secrets). A log that is not a
/// regular file (the CI replaced it with a symbolic link, say) is never followed: that is an
/// `InvalidInput` error.
pub fn finish(path: &Path, max_log_bytes: u64, redactor: &Redactor) -> io::Result<Finished> {
    let in_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let meta = fs::symlink_metadata(path).map_err(in_path)?;
    if !meta.is_file() {
        return Err(in_path(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: something replaced the log, and it is not followed",
        )));
    }
    let written = meta.len();
    if written <= max_log_bytes {
        let counts = redactor.redact_file(path)?;
        let kept = if counts.total > 0 {
            fs::metadata(path).map_err(in_path)?.len()
        } else {
            written
        };
        return Ok(Finished {
            record: LogRecord {
                written,
                kept,
                cut: None,
            },
            counts,
        });
    }
    cut(path, written, max_log_bytes, redactor).map_err(in_path)
}

fn cut(path: &Path, written: u64, max_log_bytes: u64, redactor: &Redactor) -> io::Result<Finished> {
    let file = File::open(path)?;
    let part = kept_part(max_log_bytes);
    let mut counts = Counts::default();
    let head_end = head_end(&file, written, part, redactor, &mut counts)?;
    let tail_start = tail_start(&file, written, part, redactor, &mut counts)?;
    let label = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let cut = Cut {
        from: head_end,
        to: tail_start,
        bytes: tail_start - head_end,
        max_log_bytes,
    };
    let mut marker = String::new();
    if head_end > 0 && read_window(&file, head_end - 1, head_end)? != b"\n" {
        marker.push('\n');
    }
    marker.push_str(&marker_line(&label, &cut, written));
    marker.push('\n');

    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let permissions = file.metadata()?.permissions();
    let (temporary, output) = redact::create_temp(folder)?;
    let result = (|| {
        let writer = BufWriter::with_capacity(COPY_BUF, output);
        let head = Range {
            file: &file,
            at: 0,
            end: head_end,
        };
        let (mut writer, found) = redactor.redact_stream(head, writer)?;
        counts.add(&found);
        writer.write_all(marker.as_bytes())?;
        let tail = Range {
            file: &file,
            at: tail_start,
            end: written,
        };
        let (writer, found) = redactor.redact_stream(tail, writer)?;
        counts.add(&found);
        let output = writer.into_inner().map_err(|e| e.into_error())?;
        output.set_permissions(permissions)?;
        let kept = output.metadata()?.len();
        fs::rename(&temporary, path)?;
        Ok(kept)
    })();
    let kept = match result {
        Ok(kept) => kept,
        Err(error) => {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
    };
    Ok(Finished {
        record: LogRecord {
            written,
            kept,
            cut: Some(cut),
        },
        counts,
    })
}

/// The line a cut log holds where its middle was (without a line break).
pub fn marker_line(label: &str, cut: &Cut, written: u64) -> String {
    format!(
        "[coalmine: {} bytes of {label} cut here, offsets {}..{} of the {written} bytes the recipe CI \
         wrote; [run] max_log_bytes = {} keeps the head and the tail]",
        cut.bytes, cut.from, cut.to, cut.max_log_bytes
    )
}

/// Where the kept head ends: after a line break near `part`, then before any literal
/// occurrence that straddles it.
fn head_end(
    file: &File,
    written: u64,
    part: u64,
    redactor: &Redactor,
    counts: &mut Counts,
) -> io::Result<u64> {
    let mut cut = part;
    let reach = (MAX_LINE_CHUNK as u64).min(part / 2);
    let window = read_window(file, cut - reach, cut)?;
    if let Some(index) = memchr::memrchr(b'\n', &window) {
        cut = cut - reach + index as u64 + 1;
    }
    let side = redactor.max_literal_len() as u64;
    let floor = cut.saturating_sub(MAX_LINE_CHUNK as u64);
    while side > 1 && cut > 0 {
        let from = cut.saturating_sub(side);
        let window = read_window(file, from, (cut + side).min(written))?;
        let Some(found) = redactor.straddling(&window, (cut - from) as usize) else {
            break;
        };
        counts.add(&found.counts);
        cut = from + found.start as u64;
        if cut < floor {
            cut = 0; // a chain of secrets over 1 MiB long: keep no head at all
        }
    }
    Ok(cut)
}

/// Where the kept tail starts: after a line break near `written - part`, then after any
/// literal occurrence that straddles it.
fn tail_start(
    file: &File,
    written: u64,
    part: u64,
    redactor: &Redactor,
    counts: &mut Counts,
) -> io::Result<u64> {
    let mut cut = written - part;
    let reach = (MAX_LINE_CHUNK as u64).min(part / 2);
    // Already at a line start when the byte before it is a line break.
    let window = read_window(file, cut - 1, (cut - 1 + reach).min(written))?;
    if let Some(index) = memchr::memchr(b'\n', &window) {
        cut = cut - 1 + index as u64 + 1;
    }
    let side = redactor.max_literal_len() as u64;
    let ceiling = cut.saturating_add(MAX_LINE_CHUNK as u64);
    while side > 1 && cut < written {
        let from = cut.saturating_sub(side);
        let window = read_window(file, from, (cut + side).min(written))?;
        let Some(found) = redactor.straddling(&window, (cut - from) as usize) else {
            break;
        };
        counts.add(&found.counts);
        cut = from + found.end as u64;
        if cut > ceiling {
            cut = written; // a chain of secrets over 1 MiB long: keep no tail at all
        }
    }
    Ok(cut)
}

/// The bytes `from..to` of `file`.
fn read_window(file: &File, from: u64, to: u64) -> io::Result<Vec<u8>> {
    let mut window = vec![0; (to - from) as usize];
    file.read_exact_at(&mut window, from)?;
    Ok(window)
}

/// The bytes `at..end` of a file, as a reader.
struct Range<'a> {
    file: &'a File,
    at: u64,
    end: u64,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.at) as usize);
        if want == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..want], self.at)?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the log became shorter while it was cut",
            ));
        }
        self.at += got as u64;
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(values: &[&str], patterns: &[&str]) -> Redactor {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        Redactor::new(values.iter().map(|v| v.to_string()), &patterns).unwrap()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// The kept log split into head, marker line and tail (the head with its line break).
    fn parts(log: &[u8]) -> (&[u8], String, &[u8]) {
        let start = log
            .windows(11)
            .position(|w| w == b"[coalmine: ")
            .expect("a marker line");
        let end = start + log[start..].iter().position(|b| *b == b'\n').unwrap();
        (
            &log[..start],
            String::from_utf8_lossy(&log[start..end]).into_owned(),
            &log[end + 1..],
        )
    }

    const MAX: u64 = 4096;

    #[test]
    fn a_short_log_is_only_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        fs::write(&path, "token hunter22\n").unwrap();
        let finished = finish(&path, MAX, &redactor(&["hunter22"], &[])).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "token [REDACTED]\n");
        assert_eq!(
            finished.record,
            LogRecord {
                written: 15,
                kept: 17,
                cut: None
            }
        );
        assert_eq!(finished.counts.values.get(&0), Some(&1));
        // Exactly at the limit: not cut.
        fs::write(&path, vec![b'x'; MAX as usize]).unwrap();
        let finished = finish(&path, MAX, &Redactor::none()).unwrap();
        assert_eq!(finished.record.cut, None);
        assert_eq!(finished.record.kept, MAX);
    }

    #[test]
    fn a_long_log_keeps_its_head_and_tail_cut_at_line_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let text: String = (0..2000).map(|n| format!("line {n:05}\n")).collect();
        fs::write(&path, &text).unwrap();
        let finished = finish(&path, MAX, &Redactor::none()).unwrap();
        let log = fs::read(&path).unwrap();
        assert!(log.len() as u64 <= MAX, "{}", log.len());
        let (head, marker, tail) = parts(&log);
        assert!(text.as_bytes().starts_with(head) && head.ends_with(b"\n"));
        assert!(text.as_bytes().ends_with(tail) && tail.starts_with(b"line "));
        // 11-byte lines: the head ends at the last line break before 1536 bytes.
        assert_eq!(head.len(), 1529);
        assert_eq!(tail.len(), 1529);
        let cut = finished.record.cut.clone().unwrap();
        assert_eq!(
            cut,
            Cut {
                from: 1529,
                to: text.len() as u64 - 1529,
                bytes: text.len() as u64 - 2 * 1529,
                max_log_bytes: MAX
            }
        );
        assert_eq!(marker, marker_line("stdout.log", &cut, text.len() as u64));
        assert!(
            marker
                .starts_with("[coalmine: 18942 bytes of stdout.log cut here, offsets 1529..20471")
        );
        assert_eq!(finished.record.written, text.len() as u64);
        assert_eq!(finished.record.kept, log.len() as u64);
        assert!(finished.counts.is_empty());
        // Nothing is left behind but the log.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_secret_across_a_cut_point_leaves_no_byte_behind() {
        let secret = "QWERTY-9876-zxcv";
        let part = kept_part(MAX) as usize;
        let r = redactor(&[secret], &[]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stderr.log");
        // One line: the secret across the head's limit, at every offset that splits it, then
        // again across the tail's start.
        for before in 1..secret.len() {
            let mut data = vec![b'a'; part - before];
            data.extend_from_slice(secret.as_bytes());
            data.extend(vec![b'b'; 10_000]);
            let start_tail = data.len();
            data.extend_from_slice(secret.as_bytes());
            data.extend(vec![b'c'; part + before - secret.len() - 1]);
            data.push(b'\n');
            assert_eq!(data.len() - part, start_tail + before);
            fs::write(&path, &data).unwrap();
            let finished = finish(&path, MAX, &r).unwrap();
            let log = fs::read(&path).unwrap();
            let (head, _, tail) = parts(&log);
            assert!(head.iter().all(|b| *b == b'a' || *b == b'\n'), "{before}");
            assert_eq!(
                head.len(),
                part - before + 1,
                "{before}: the head ends before it"
            );
            assert!(tail.iter().all(|b| *b == b'c' || *b == b'\n'), "{before}");
            assert_eq!(
                tail.len(),
                data.len() - start_tail - secret.len(),
                "{before}"
            );
            // Both were found, though neither is kept.
            assert_eq!(finished.counts.values.get(&0), Some(&2), "{before}");
        }
    }

    #[test]
    fn a_secret_with_a_line_break_across_a_cut_point() {
        let key = "-----BEGIN KEY-----\nc2VjcmV0a2V5\n-----END KEY-----";
        let part = kept_part(MAX) as usize;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        // Lines before it, so that its first line break is the last one before the head's
        // limit: a cut there would keep its first line.
        let mut text = String::new();
        while text.len() + 14 <= part - 21 {
            text.push_str("ordinary line\n");
        }
        text.push_str(&"y".repeat(part - 21 - text.len()));
        text.push('\n');
        assert_eq!(text.len() + key.find('\n').unwrap() + 1, part);
        text.push_str(key);
        text.push('\n');
        while text.len() < 3 * MAX as usize {
            text.push_str("later line\n");
        }
        fs::write(&path, &text).unwrap();
        let finished = finish(&path, MAX, &redactor(&[key], &[])).unwrap();
        let log = fs::read(&path).unwrap();
        for piece in ["BEGIN", "c2Vj", "END KEY"] {
            assert!(!contains(&log, piece.as_bytes()), "{piece} survived");
        }
        let (head, _, _) = parts(&log);
        assert_eq!(head.len(), part - 20);
        assert_eq!(finished.counts.values.get(&0), Some(&1));
    }

    #[test]
    fn pattern_matches_are_kept_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let text = "auth tok_abcdefgh ok\n".repeat(1000);
        fs::write(&path, &text).unwrap();
        let finished = finish(&path, MAX, &redactor(&[], &["tok_[a-z]{8}"])).unwrap();
        let log = String::from_utf8(fs::read(&path).unwrap()).unwrap();
        assert!(!log.contains("tok_"), "{log}");
        let lines: Vec<&str> = log.lines().collect();
        let marker = lines
            .iter()
            .filter(|l| l.starts_with("[coalmine: "))
            .count();
        assert_eq!(marker, 1);
        assert!(
            lines
                .iter()
                .all(|l| *l == "auth [REDACTED] ok" || l.starts_with("[coalmine: "))
        );
        let kept = lines.len() as u64 - 1;
        assert_eq!(finished.counts.patterns.get(&0), Some(&kept));
    }

    #[test]
    fn a_log_replaced_by_a_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("elsewhere");
        fs::write(&outside, "hunter22\n".repeat(1000)).unwrap();
        let path = dir.path().join("stdout.log");
        std::os::unix::fs::symlink(&outside, &path).unwrap();
        let error = finish(&path, MAX, &redactor(&["hunter22"], &[])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("not a regular file"), "{error}");
        assert_eq!(
            fs::read_to_string(&outside).unwrap(),
            "hunter22\n".repeat(1000)
        );
        let missing = finish(&dir.path().join("none"), MAX, &Redactor::none()).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn what_was_written_after_the_cut_is_not_in_the_log() {
        // A process that escaped the sweep still holds the old file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        fs::write(&path, "x\n".repeat(5000)).unwrap();
        let mut escaped = fs::OpenOptions::new().append(true).open(&path).unwrap();
        finish(&path, MAX, &Redactor::none()).unwrap();
        let kept = fs::read(&path).unwrap();
        escaped.write_all(b"late secret\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), kept);
    }
}
