//! "Did you mean" support: orders the names that do exist by how close they are to a name that
//! was asked for, so that an error about a missing stage or test shows the likely one first,
//! and shows names so that two that look alike never read the same: invisible and control
//! characters escaped (`"test_\u{200b}serving"`), at most [`SHOWN`] of them, then how many more.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How many names a list of suggestions shows; the rest are counted (`and 78 more`).
pub const SHOWN: usize = 10;

/// The edit distance (insertions, deletions, substitutions) between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidates ordered closest first: names containing the wanted one (or contained in it)
/// before others, then by edit distance, then alphabetically so the order is stable.
pub fn closest_first<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut scored: Vec<(bool, usize, &str)> = candidates
        .into_iter()
        .map(|candidate| {
            let related = candidate.contains(wanted) || wanted.contains(candidate);
            (!related, edit_distance(wanted, candidate), candidate)
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().map(|(_, _, name)| name).collect()
}

/// Whether a character cannot be seen, or is not what it looks like, in a name: control and
/// format characters (zero-width spaces and joiners, bidirectional controls, byte-order
/// marks), combining marks, whitespace other than the space, and the Unicode fillers that
/// render as blanks. Rust's own `{:?}` escapes all of these but the fillers.
fn hidden(c: char) -> bool {
    let escaped_by_debug = c != '\'' && c != '"' && c != '\\' && c.escape_debug().nth(1).is_some();
    escaped_by_debug
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{115f}' | '\u{1160}' | '\u{2800}' | '\u{3164}' | '\u{ffa0}'
        )
}

/// A name as reports show it: as it is when every character can be seen (and it cannot be
/// mistaken for several names in a list), else quoted like a Rust string with the hidden
/// characters escaped: `"test_\u{200b}serving"`, `"tab\there"`, `""`.
pub fn shown(name: &str) -> Cow<'_, str> {
    let plain = !name.is_empty()
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name
            .chars()
            .any(|c| hidden(c) || matches!(c, '"' | '\\' | ','));
    if plain {
        return Cow::Borrowed(name);
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            // `\n`, `\t`, `\u{200b}` as Rust writes them; the fillers, which it leaves as
            // they are, as `\u{3164}`.
            c if hidden(c) && c.escape_debug().nth(1).is_some() => {
                quoted.extend(c.escape_debug());
            }
            c if hidden(c) => {
                write!(quoted, "\\u{{{:x}}}", u32::from(c)).ok();
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

/// The name without its hidden characters: what a reader sees of it.
fn visible(name: &str) -> String {
    name.chars().filter(|c| !hidden(*c)).collect()
}

/// The names that exist, for a message about one that does not: closest first, each
/// [`shown`], at most [`SHOWN`] of them and then how many more, `none` when there are none,
/// and a note when one differs from the wanted name only in characters no one can see.
pub fn listing<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let names = closest_first(wanted, candidates);
    if names.is_empty() {
        return "none".to_owned();
    }
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|name| shown(name))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        write!(text, ", and {} more", names.len() - SHOWN).ok();
    }
    let seen = visible(wanted);
    if let Some(lookalike) = names
        .iter()
        .find(|name| **name != wanted && visible(name) == seen)
    {
        write!(
            text,
            "; {} differs from {} only in invisible characters",
            shown(lookalike),
            match shown(wanted) {
                Cow::Borrowed(plain) => format!("{plain:?}"),
                quoted => quoted.into_owned(),
            }
        )
        .ok();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_escaped() {
        assert_eq!(shown("test_serving"), "test_serving");
        assert_eq!(shown("test_\u{200b}serving"), "\"test_\\u{200b}serving\"");
        assert_eq!(shown("a\u{202e}b"), "\"a\\u{202e}b\"");
        assert_eq!(shown("a\u{feff}"), "\"a\\u{feff}\"");
        assert_eq!(shown("tab\there"), "\"tab\\there\"");
        assert_eq!(shown("a\u{3164}b"), "\"a\\u{3164}b\"");
        assert_eq!(shown("e\u{301}"), "\"e\\u{301}\"");
        assert_eq!(shown(""), "\"\"");
        assert_eq!(shown(" padded"), "\" padded\"");
        assert_eq!(shown("a, b"), "\"a, b\"");
        // A name that spells an escape is quoted too, its backslash doubled: never mistaken
        // for the escaped one.
        assert_eq!(
            shown("test_\\u{200b}serving"),
            "\"test_\\\\u{200b}serving\""
        );
        assert_eq!(shown("café ünïcode"), "café ünïcode");
    }

    #[test]
    fn a_listing_shows_ten_names_then_counts_the_rest() {
        let names: Vec<String> = (0..88).map(|index| format!("test_{index:02}")).collect();
        let text = listing("test_x", names.iter().map(String::as_str));
        assert!(text.ends_with(", and 78 more"), "{text}");
        assert_eq!(text.matches("test_").count(), 10, "{text}");
        let few = listing("test_x", ["test_a", "test_b"]);
        assert_eq!(few, "test_a, test_b");
        assert_eq!(listing("x", []), "none");
    }

    #[test]
    fn a_lookalike_is_pointed_out() {
        let text = listing("test_serving", ["test_other", "test_\u{200b}serving"]);
        assert_eq!(
            text,
            "\"test_\\u{200b}serving\", test_other; \"test_\\u{200b}serving\" differs from \
             \"test_serving\" only in invisible characters"
        );
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("install", "instal"), 1);
    }

    #[test]
    fn related_names_come_first() {
        let order = closest_first(
            "test_content_type",
            [
                "test_custom_html_returns_200",
                "test_content_roundtrip",
                "test_content_type_html_and_txt",
            ],
        );
        assert_eq!(
            order,
            [
                "test_content_type_html_and_txt",
                "test_content_roundtrip",
                "test_custom_html_returns_200"
            ]
        );
        assert_eq!(
            closest_first("instal", ["upgrade", "install", "custom"])[0],
            "install"
        );
    }
}
