//! Escaping for each place a string from the history can land in the page: HTML text,
//! a quoted attribute value, and JSON inside `<script type="application/json">`. Every test
//! name, message, lane, commit and owner comes from reports that a pull request can write, so
//! nothing reaches the page unescaped; the page's Content-Security-Policy is the second wall.

use std::fmt::Write as _;

/// `text` escaped for HTML text content: `&`, `<`, `>` and both quotes become entities, so it
/// can also stand in a double- or single-quoted attribute value ([`attr`] is the same).
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_text(&mut out, text);
    out
}

/// [`text`], appended to `out`.
pub fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newlines are not allowed in HTML text;
            // they become U+FFFD (NUL is turned into it by the parser anyway).
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// `value` escaped for a quoted attribute value (always written between double quotes).
pub fn attr(value: &str) -> String {
    text(value)
}

/// `json` (serialized JSON) made safe inside `<script type="application/json">`: `<`, `>`,
/// `&` and U+2028/U+2029 become `\u` escapes, which JSON reads back as the same characters,
/// so neither `</script>` nor `<!--` can end or change the data block.
pub fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A fragment id for test number `index` of the history (digits only: nothing to escape).
pub fn test_anchor(index: usize) -> String {
    format!("test-{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "<img src=x onerror=alert(1)>",
        "</script><script>alert(1)</script>",
        "\"quoted\" & 'single' <b>",
        "a\u{2028}b\u{2029}c",
        "<!-- comment",
    ];

    #[test]
    fn text_leaves_no_markup() {
        for hostile in HOSTILE {
            let escaped = text(hostile);
            assert!(!escaped.contains('<'), "{escaped}");
            assert!(!escaped.contains('>'), "{escaped}");
            assert!(!escaped.contains('"'), "{escaped}");
            assert!(!escaped.contains('\''), "{escaped}");
        }
        assert_eq!(
            text("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(text("a & b"), "a &amp; b");
        assert_eq!(attr("say \"hi\""), "say &quot;hi&quot;");
        assert_eq!(text("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn script_json_cannot_end_the_block_and_reads_back() {
        for hostile in HOSTILE {
            let json = serde_json::to_string(&serde_json::json!({ "test": hostile })).unwrap();
            let safe = script_json(&json);
            assert!(!safe.contains('<'), "{safe}");
            assert!(!safe.contains('>'), "{safe}");
            assert!(!safe.contains('&'), "{safe}");
            assert!(!safe.contains('\u{2028}') && !safe.contains('\u{2029}'));
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(back["test"], *hostile);
        }
    }
}
