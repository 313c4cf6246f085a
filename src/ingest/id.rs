//! Normalising ids and tags: a testcase's id from its name, classname and suites
//! ([`test_id`]), and a name without its `[QUARANTINE]` and bracket tags and with its
//! whitespace collapsed ([`normalise`]), both in one pass ([`append_normalised`], tested against
//! a two-pass reference). What counts as a tag is said in the docs of [`super`] (# Test ids).

use super::UNNAMED;
use crate::results::TestCase;

/// The normalised id of a testcase and its tags: see the module docs.
pub fn test_id(case: &TestCase) -> (String, Vec<String>) {
    id_of(&case.name, case.classname.as_deref(), &case.suite)
}

/// [`test_id`] of the testcase `name` of the class `classname` in the suites `suite`.
pub(super) fn id_of(
    name: &str,
    classname: Option<&str>,
    suite: &[String],
) -> (String, Vec<String>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Outcome;

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
}
