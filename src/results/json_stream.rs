//! Shared by the JSON adapters (CTRF, libtest JSON, `go test -json`): reading JSON text in
//! bounded memory. [`StringCap`] cuts every JSON string to [`STRING_CAP`] bytes while keeping
//! the text valid JSON; [`JsonLines`] reads newline-delimited JSON a line at a time, each line
//! at most [`MAX_LINE_BYTES`].

use std::io::{self, BufRead};

use super::ResultsErrorKind;
use super::adapter::MAX_MESSAGE_BYTES;

/// The longest line kept of a line-based stream (longer ones are cut, then reported).
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of one JSON string is kept; room is left for the cut marker.
pub(crate) const STRING_CAP: usize = MAX_MESSAGE_BYTES - 64;

/// Reads lines of JSON text, cutting every JSON string to [`STRING_CAP`] bytes (with a
/// marker saying how much was cut, so the line stays valid JSON) and every line to
/// [`MAX_LINE_BYTES`].
pub(crate) struct JsonLines<'a> {
    input: &'a mut dyn BufRead,
    cap: StringCap,
    /// The 1-based number of the line last read.
    pub(crate) number: usize,
}

impl<'a> JsonLines<'a> {
    pub(crate) fn new(input: &'a mut dyn BufRead) -> Self {
        JsonLines {
            input,
            cap: StringCap::default(),
            number: 0,
        }
    }

    /// Reads the next line, without its end, into `line`. `None` at the end of the input;
    /// otherwise whether the line was longer than [`MAX_LINE_BYTES`] (and so cut).
    pub(crate) fn next_line(
        &mut self,
        line: &mut Vec<u8>,
    ) -> Result<Option<bool>, ResultsErrorKind> {
        line.clear();
        self.cap = StringCap::default();
        let mut read_any = false;
        let mut overlong = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(ResultsErrorKind::Read(error)),
            };
            if chunk.is_empty() {
                break;
            }
            read_any = true;
            let (end, done) = match chunk.iter().position(|byte| *byte == b'\n') {
                Some(index) => (index, true),
                None => (chunk.len(), false),
            };
            for &byte in &chunk[..end] {
                if line.len() < MAX_LINE_BYTES {
                    self.cap.push(byte, line);
                } else {
                    overlong = true;
                }
            }
            let used = if done { end + 1 } else { end };
            self.input.consume(used);
            if done {
                break;
            }
        }
        if !read_any {
            return Ok(None);
        }
        self.number += 1;
        if self.number == 1 && line.starts_with(b"\xEF\xBB\xBF") {
            line.drain(..3);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(overlong))
    }
}

impl JsonLines<'_> {
    /// Hands every line that holds a JSON object (its first non-blank byte is `{`) to `each`,
    /// parsed, with its line number; other lines (tool output interleaved with the events) are
    /// skipped. A `{` line that does not parse, or is longer than [`MAX_LINE_BYTES`], is an
    /// error with its line and column.
    pub(crate) fn for_each_object(
        &mut self,
        mut each: impl FnMut(&serde_json::Value, usize) -> Result<(), ResultsErrorKind>,
    ) -> Result<(), ResultsErrorKind> {
        let mut line = Vec::new();
        while let Some(overlong) = self.next_line(&mut line)? {
            let number = self.number;
            let indent = line
                .iter()
                .take_while(|byte| byte.is_ascii_whitespace())
                .count();
            let text = &line[indent..];
            if !text.starts_with(b"{") {
                continue;
            }
            if overlong {
                return Err(ResultsErrorKind::Malformed {
                    line: number,
                    column: indent + 1,
                    message: format!("a JSON line longer than {MAX_LINE_BYTES} bytes"),
                });
            }
            let value: serde_json::Value =
                serde_json::from_slice(text).map_err(|error| ResultsErrorKind::Malformed {
                    line: number,
                    column: indent + error.column().max(1),
                    message: json_message(&error),
                })?;
            each(&value, number)?;
        }
        Ok(())
    }
}

/// serde_json's message without the " at line L column C" it appends.
pub(crate) fn json_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message,
    }
}

/// Cuts JSON strings in a byte stream to [`STRING_CAP`] bytes, at a character boundary and
/// never inside an escape or between the two halves of a surrogate pair, and ends each cut
/// string with a marker; everything outside strings passes through. State resets at every
/// raw newline (a JSON string cannot hold one).
#[derive(Default)]
pub(crate) struct StringCap {
    pub(crate) in_string: bool,
    escape: Escape,
    hex_value: u32,
    after_high_surrogate: bool,
    kept: usize,
    dropping: bool,
    dropped: u64,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum Escape {
    #[default]
    None,
    Backslash,
    Hex(u8),
}

impl StringCap {
    pub(crate) fn push(&mut self, byte: u8, out: &mut Vec<u8>) {
        if byte == b'\n' {
            *self = StringCap::default();
            out.push(byte);
            return;
        }
        if !self.in_string {
            if byte == b'"' {
                *self = StringCap {
                    in_string: true,
                    ..StringCap::default()
                };
            }
            out.push(byte);
            return;
        }
        if self.dropping {
            match self.escape {
                Escape::None if byte == b'\\' => self.escape = Escape::Backslash,
                Escape::None if byte == b'"' => {
                    out.extend_from_slice(
                        format!("… [{} more bytes cut]", self.dropped).as_bytes(),
                    );
                    out.push(byte);
                    *self = StringCap::default();
                    return;
                }
                Escape::None if byte < 0x20 => {
                    // Not JSON: let the parser see it and say so.
                    out.push(byte);
                    return;
                }
                Escape::None => {}
                _ => self.escape = Escape::None,
            }
            self.dropped += 1;
            return;
        }
        match self.escape {
            Escape::Backslash => {
                if byte == b'u' {
                    self.escape = Escape::Hex(4);
                    self.hex_value = 0;
                } else {
                    self.escape = Escape::None;
                    self.after_high_surrogate = false;
                }
            }
            Escape::Hex(left) => {
                let digit = (byte as char).to_digit(16).unwrap_or(0);
                self.hex_value = self.hex_value * 16 + digit;
                if left == 1 {
                    self.escape = Escape::None;
                    self.after_high_surrogate = (0xD800..0xDC00).contains(&self.hex_value);
                } else {
                    self.escape = Escape::Hex(left - 1);
                }
            }
            Escape::None => {
                if byte == b'"' {
                    *self = StringCap::default();
                    out.push(byte);
                    return;
                }
                let continuation = byte & 0xC0 == 0x80;
                if self.kept >= STRING_CAP && !continuation && !self.after_high_surrogate {
                    self.dropping = true;
                    self.dropped = 1;
                    if byte == b'\\' {
                        self.escape = Escape::Backslash;
                    }
                    return;
                }
                if byte == b'\\' {
                    self.escape = Escape::Backslash;
                } else {
                    self.after_high_surrogate = false;
                }
            }
        }
        self.kept += 1;
        out.push(byte);
    }
}
