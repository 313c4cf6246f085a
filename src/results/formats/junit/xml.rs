//! What XML 1.0 allows in the markup of a JUnit report: names, references, attribute values,
//! the XML declaration, processing instructions, comments. The reader (quick-xml and the
//! skipping scanner in [`super`]) hands each tag or reference here; a [`Fault`] is where, in
//! that token, the document stops being well-formed, and why.
//!
//! Every check here runs on bytes the reader already holds (one tag, one reference), and the
//! common case (an ASCII name, a value with nothing to decode) costs one pass over a few bytes.

use std::borrow::Cow;

use super::{find_either, is_space};

/// A well-formedness fault in a token: where it starts (a byte offset in the token) and what
/// it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fault {
    pub(super) offset: usize,
    pub(super) message: String,
}

impl Fault {
    pub(super) fn new(offset: usize, message: impl Into<String>) -> Fault {
        Fault {
            offset,
            message: message.into(),
        }
    }

    /// The same fault, `by` bytes further into the token.
    pub(super) fn shifted(self, by: usize) -> Fault {
        Fault {
            offset: self.offset + by,
            ..self
        }
    }
}

/// For each byte: [`NAME_START`] when it is an ASCII `NameStartChar`, [`NAME_CHAR`] when it
/// is an ASCII `NameChar` (so that checking a name costs one look-up a byte).
pub(super) static ASCII_NAME: [u8; 256] = {
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
pub(super) const NAME_START: u8 = 1;
pub(super) const NAME_CHAR: u8 = 2;

pub(super) fn is_ascii_name_start(byte: u8) -> bool {
    ASCII_NAME[usize::from(byte)] & NAME_START != 0
}

pub(super) fn is_ascii_name_char(byte: u8) -> bool {
    ASCII_NAME[usize::from(byte)] & NAME_CHAR != 0
}

/// XML 1.0's `NameStartChar`.
pub(super) fn is_name_start_char(ch: char) -> bool {
    matches!(ch,
        ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0's `NameChar`.
pub(super) fn is_name_char(ch: char) -> bool {
    is_name_start_char(ch)
        || matches!(ch, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Where `name` stops being an XML `Name` (the offset of the first byte that does not belong),
/// or `None` when it is one. An empty name fails at 0; so does invalid UTF-8, at its first
/// byte.
pub(super) fn name_fault(name: &[u8]) -> Option<usize> {
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
pub(super) const MAX_REFERENCE_BYTES: usize = 64;

/// What is wrong with a `&` that does not start a reference XML accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BadReference {
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
    pub(super) fn message(self, bytes: &[u8], place: &str) -> String {
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
pub(super) fn read_reference(bytes: &[u8]) -> Result<(char, usize), BadReference> {
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
pub(super) fn read_any_reference(bytes: &[u8]) -> Result<(char, usize), BadReference> {
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
pub(super) fn is_xml_char(ch: char) -> bool {
    matches!(ch, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// An attribute value as XML 1.0 reads it: refused when it holds a `<`, a `&` that starts no
/// reference to a character XML allows (see [`read_reference`]) or a character XML forbids;
/// else, with `decode`, with its references decoded and its tabs and line ends made spaces.
/// Borrowed when there is nothing to change (always, without `decode`). A fault's offset is in
/// `raw`.
pub(super) fn attribute_value<'v>(
    raw: &'v str,
    key: &str,
    decode: bool,
) -> Result<Cow<'v, str>, Fault> {
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
pub(super) fn has_special_bytes(bytes: &[u8]) -> bool {
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
pub(super) fn scan_attributes<'r>(
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
pub(super) fn attribute_names(raw: &str) -> impl Iterator<Item = &str> {
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
pub(super) fn check_declaration(raw: &str) -> Result<(), Fault> {
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
pub(super) fn check_pi_target(target: &[u8]) -> Result<(), Fault> {
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
pub(super) fn comment_fault(text: &[u8]) -> Option<usize> {
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
pub(super) const DOUBLE_HYPHEN: &str =
    "`--` inside a comment: XML allows it only in the `-->` that ends the comment";

/// The message for `]]>` in text.
pub(super) fn cdata_end_in_text(place: &str) -> String {
    format!("`]]>` {place}: XML allows it only as the end of a CDATA section (`]]&gt;` writes it)")
}
