//! Escaping for the string literals written into test sources: an owner comes from a tag in a
//! test's name, which any pull request can write, so nothing in it may end the literal or add
//! code. Both functions return the *inside* of a double-quoted literal: no `"`, no backslash
//! but an escape's, no newline or other control character, and nothing beyond printable ASCII.

use std::fmt::Write as _;

/// The inside of a Go interpreted string literal (`"..."`) reading `text`: `\"`, `\\`, `\n`,
/// `\t`, `\r`, `\xNN` for other ASCII control characters and `\uNNNN` / `\UNNNNNNNN` for
/// everything beyond ASCII.
pub fn go(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out
}

/// The inside of a Rust string literal (`"..."`) reading `text`: [`str::escape_default`]'s
/// rules (`\"`, `\'`, `\\`, `\n`, `\t`, `\r`, `\u{..}` for the rest beyond printable ASCII).
pub fn rust(text: &str) -> String {
    text.escape_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_ends_the_literal() {
        let hostile = "[sig-x\"); os.Exit(1); //]\"\n#[test] fn evil(){}\\\u{7}\u{2028}é😀";
        for escaped in [go(hostile), rust(hostile)] {
            assert!(
                escaped.chars().all(|c| (' '..='~').contains(&c)),
                "{escaped}"
            );
            // Every quote is escaped: preceded by an odd run of backslashes.
            let bytes = escaped.as_bytes();
            for (index, byte) in bytes.iter().enumerate() {
                if *byte == b'"' {
                    let run = bytes[..index]
                        .iter()
                        .rev()
                        .take_while(|b| **b == b'\\')
                        .count();
                    assert_eq!(run % 2, 1, "{escaped}");
                }
            }
        }
        assert_eq!(
            go("a\"b\\c\nd\u{1}é😀"),
            "a\\\"b\\\\c\\nd\\x01\\u00e9\\U0001f600"
        );
        assert_eq!(rust("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
