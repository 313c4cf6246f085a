//! The JUnit reader against a conforming XML parser: on generated JUnit-shaped documents and
//! on mutations of them, coalmine accepts a document exactly when roxmltree does.
//!
//! The documents use what JUnit reports use: `<testsuites>`, nested `<testsuite>`s,
//! `<testcase>`s with `<failure>`/`<error>`/`<skipped>`, `<system-out>`/`<system-err>` with text,
//! CDATA and comments, `<properties>`, an unknown element, an XML declaration; attribute values
//! and text over an alphabet of `<`, `&`, `;`, `#`, `x`, both quotes, `>`, `]`, digits, letters,
//! `é` and whitespace, escaped so that the document is well-formed, with references valid and
//! not. The mutations then insert, delete or replace a character, insert a piece of markup or a
//! bad reference, duplicate an attribute or drop a quote.
//!
//! What is left out, and why:
//! - The XML declaration is never mutated: roxmltree reads `<?xml ...?>` more loosely than XML
//!   1.0 (any `version`, an `<?xml` processing instruction); `tests::the_xml_declaration_*`
//!   pins coalmine's stricter reading instead.
//! - No `:` and no `?` are generated: namespaces (roxmltree checks the Namespaces in XML
//!   constraints, which are not XML 1.0's) and processing instructions (roxmltree takes a
//!   target named `xml` or with no space before its data) are pinned by unit tests instead.
//! - No DOCTYPE: roxmltree refuses any DTD unless told otherwise, and coalmine reads one
//!   without entities and ignores it (see the module documentation).
//! - No control character and no invalid UTF-8: mutations work on characters, so the document
//!   stays UTF-8. coalmine does not check the characters of text it skips (it checks markup,
//!   references and `]]>`), roxmltree does.
//! - A character reference to a surrogate or beyond U+10FFFF: roxmltree reads it as U+FFFD,
//!   XML 1.0 (and coalmine) refuses it; a document that has one is counted as refused.

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;
use regex::Regex;

use crate::results::ResultsErrorKind;

use super::tests::parse_bytes;

/// Characters of attribute values and text, before escaping.
const ALPHABET: &[char] = &[
    '<', '&', ';', '#', 'x', '"', '\'', '>', ']', '0', '1', '7', '9', 'a', 'b', 'z', 'Q', 'é', ' ',
    ' ', '\t', '\n', '\r', '.', '-',
];

/// References a well-formed document may hold.
const GOOD_REFERENCES: &[&str] = &[
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&#65;",
    "&#x41;",
    "&#xe9;",
    "&#233;",
    "&#10;",
    "&#x1F600;",
    "&#x0041;",
];

/// What a mutation may insert: bad references, bare markup characters, markup.
const WILD: &[&str] = &[
    "<",
    "&",
    "&#0;",
    "&#x1B;",
    "&#X41;",
    "&#x;",
    "&#;",
    "&nbsp;",
    "&amp",
    "& ",
    "&#65",
    "&#xFFFE;",
    "&;",
    "]]>",
    "--",
    "\"",
    "'",
    "=",
    " x=\"1\"",
    "<a>",
    "</a>",
    "<b/>",
    "<!-- c -->",
    "<!--",
    "-->",
    "<![CDATA[d]]>",
    "<![CDATA[",
    "/>",
    ">",
    "</testcase>",
    "<testcase>",
];

/// Characters a mutation may insert or put in place of another.
const MUTATION_ALPHABET: &[char] = &[
    '<', '>', '&', ';', '#', 'x', '"', '\'', '=', '/', ']', '-', '!', '[', '0', '9', 'a', 'Z', '_',
    '.', ' ', '\t', '\n', '\r', 'é',
];

/// Text over [`ALPHABET`] and good references, unescaped.
fn raw_text(max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => prop::sample::select(ALPHABET).prop_map(String::from),
        2 => "[a-zA-Z0-9_.]{1,6}",
        1 => prop::sample::select(GOOD_REFERENCES).prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|pieces| pieces.concat())
}

/// Escapes `text` for an attribute value in `quote`s, or (`quote` `None`) for element text;
/// the references it holds stay references.
fn escape(text: &str, quote: Option<char>) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        if ch == '&'
            && let Some(reference) = GOOD_REFERENCES
                .iter()
                .find(|reference| rest.starts_with(**reference))
        {
            out.push_str(reference);
            rest = &rest[reference.len()..];
            continue;
        }
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            // A `>` after `]]`, or first (text may follow a `]]`): `]]>` is not text.
            '>' if quote.is_none() && (out.is_empty() || out.ends_with("]]")) => {
                out.push_str("&gt;")
            }
            '"' if quote == Some('"') => out.push_str("&quot;"),
            '\'' if quote == Some('\'') => out.push_str("&apos;"),
            ch => out.push(ch),
        }
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// An attribute: its name and value (unescaped), and its quote.
fn attribute(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop::sample::select(names),
        raw_text(6),
        prop::bool::ANY,
        prop::sample::select(&[" ", " ", "  ", "\n  ", "\t"][..]),
        prop::sample::select(&["=", "=", " = ", "=\n"][..]),
    )
        .prop_map(|(name, value, double, space, equals)| {
            let quote = if double { '"' } else { '\'' };
            format!(
                "{space}{name}{equals}{quote}{}{quote}",
                escape(&value, Some(quote))
            )
        })
}

/// Attributes with distinct names.
fn attributes(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(attribute(names), 0..4).prop_map(|attributes| {
        let mut seen = Vec::new();
        let mut out = String::new();
        for attribute in attributes {
            let name = attribute
                .trim_start()
                .split(['=', ' ', '\n'])
                .next()
                .unwrap_or_default()
                .to_owned();
            if !seen.contains(&name) {
                out.push_str(&attribute);
                seen.push(name);
            }
        }
        out
    })
}

/// Element content: escaped text, CDATA, comments.
fn content() -> impl Strategy<Value = String> {
    let item = prop_oneof![
        4 => raw_text(8).prop_map(|text| escape(&text, None)),
        1 => raw_text(8).prop_map(|text| format!("<![CDATA[{}]]>", text.replace("]]>", "]] >"))),
        1 => "[a-z <>&'\"-]{0,12}".prop_map(|text| {
            let text = text.replace("--", "- ");
            let text = text.strip_suffix('-').map(str::to_owned).unwrap_or(text);
            format!("<!--{text}-->")
        }),
    ];
    prop::collection::vec(item, 0..3).prop_map(|items| items.concat())
}

/// A child of a testcase.
fn case_child() -> impl Strategy<Value = String> {
    let status = prop::sample::select(&["failure", "error", "skipped"][..]);
    prop_oneof![
        3 => (status.clone(), attributes(&["message", "type"])).prop_map(|(name, attributes)| {
            format!("<{name}{attributes}/>")
        }),
        3 => (status, attributes(&["message", "type"]), content()).prop_map(
            |(name, attributes, content)| format!("<{name}{attributes}>{content}</{name}>")
        ),
        3 => (prop::sample::select(&["system-out", "system-err"][..]), content(), content())
            .prop_map(|(name, before, after)| {
                format!("<{name}>{before}<nested a=\"1\">{after}</nested>{after}</{name}>")
            }),
        1 => (attributes(&["name", "value"]), attributes(&["name", "value"])).prop_map(
            |(first, second)| {
                format!("<properties><property{first}/><property{second}></property></properties>")
            }
        ),
        1 => (attributes(&["id", "kind"]), content())
            .prop_map(|(attributes, content)| format!("<custom{attributes}>{content}</custom>")),
    ]
}

/// A testcase.
fn testcase() -> impl Strategy<Value = String> {
    (
        attributes(&["name", "classname", "time", "file", "line"]),
        prop::collection::vec(case_child(), 0..3),
        prop::sample::select(&["\n", "\n  ", " ", ""][..]),
    )
        .prop_map(|(attributes, children, space)| {
            if children.is_empty() {
                format!("{space}<testcase{attributes}/>")
            } else {
                format!(
                    "{space}<testcase{attributes}>{}</testcase>",
                    children.concat()
                )
            }
        })
}

/// A testsuite, with nested ones.
fn testsuite() -> impl Strategy<Value = String> {
    let names: &'static [&'static str] = &[
        "name",
        "tests",
        "failures",
        "time",
        "timestamp",
        "hostname",
        "file",
    ];
    let leaf = (attributes(names), prop::collection::vec(testcase(), 0..4)).prop_map(
        |(attributes, cases)| format!("\n<testsuite{attributes}>{}\n</testsuite>", cases.concat()),
    );
    leaf.prop_recursive(2, 6, 3, move |inner| {
        (
            attributes(names),
            prop::collection::vec(testcase(), 0..3),
            prop::collection::vec(inner, 0..3),
            content(),
        )
            .prop_map(|(attributes, cases, suites, text)| {
                format!(
                    "\n<testsuite{attributes}>{}{}{text}\n</testsuite>",
                    cases.concat(),
                    suites.concat()
                )
            })
    })
}

/// A JUnit-shaped, well-formed document: the XML declaration (or nothing) and the rest.
fn document() -> impl Strategy<Value = (String, String)> {
    let declaration = prop::sample::select(
        &[
            "",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<?xml version='1.0'?>",
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\" ?>",
        ][..],
    );
    let root = prop_oneof![
        (
            attributes(&["name", "tests", "time"]),
            prop::collection::vec(testsuite(), 0..3)
        )
            .prop_map(|(attributes, suites)| format!(
                "<testsuites{attributes}>{}\n</testsuites>",
                suites.concat()
            )),
        testsuite().prop_map(|suite| suite.trim_start().to_owned()),
        Just("<testsuites/>".to_owned()),
    ];
    let misc = prop::sample::select(&["", "\n", "<!-- generated -->\n", " \n<!--x-->"][..]);
    (declaration, misc.clone(), root, misc).prop_map(|(declaration, before, root, after)| {
        (declaration.to_owned(), format!("{before}{root}{after}"))
    })
}

/// A change to a document.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, char),
    Delete(Index),
    Replace(Index, char),
    InsertWild(Index, &'static str),
    DuplicateAttribute(Index),
    DropQuote(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let ch = || prop::sample::select(MUTATION_ALPHABET);
    prop_oneof![
        (any::<Index>(), ch()).prop_map(|(at, ch)| Mutation::Insert(at, ch)),
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), ch()).prop_map(|(at, ch)| Mutation::Replace(at, ch)),
        (any::<Index>(), prop::sample::select(WILD))
            .prop_map(|(at, wild)| Mutation::InsertWild(at, wild)),
        any::<Index>().prop_map(Mutation::DuplicateAttribute),
        any::<Index>().prop_map(Mutation::DropQuote),
    ]
}

/// `body` changed by `mutation` (on characters, so that it stays UTF-8).
fn mutate(body: &mut String, mutation: &Mutation) {
    let boundaries: Vec<usize> = body
        .char_indices()
        .map(|(at, _)| at)
        .chain([body.len()])
        .collect();
    let char_at = |index: &Index| boundaries[index.index(boundaries.len() - 1)];
    let insert_at = |index: &Index| boundaries[index.index(boundaries.len())];
    match mutation {
        Mutation::Insert(at, ch) => body.insert(insert_at(at), *ch),
        Mutation::InsertWild(at, wild) => body.insert_str(insert_at(at), wild),
        Mutation::Delete(at) if !body.is_empty() => {
            body.remove(char_at(at));
        }
        Mutation::Replace(at, ch) if !body.is_empty() => {
            let at = char_at(at);
            body.remove(at);
            body.insert(at, *ch);
        }
        Mutation::DuplicateAttribute(at) => {
            let found = attribute_spans(body);
            if !found.is_empty() {
                let (start, end) = found[at.index(found.len())];
                let copy = body[start..end].to_owned();
                body.insert_str(end, &copy);
            }
        }
        Mutation::DropQuote(at) => {
            let quotes: Vec<usize> = body
                .char_indices()
                .filter(|(_, ch)| *ch == '"' || *ch == '\'')
                .map(|(at, _)| at)
                .collect();
            if !quotes.is_empty() {
                body.remove(quotes[at.index(quotes.len())]);
            }
        }
        Mutation::Delete(_) | Mutation::Replace(..) => {}
    }
}

/// The spans of ` name="value"` (or `'value'`) in `body`, space included.
fn attribute_spans(body: &str) -> Vec<(usize, usize)> {
    static PATTERN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"\s+[a-z]+\s*=\s*("[^"<]*"|'[^'<]*')"#).expect("a regex"));
    PATTERN
        .find_iter(body)
        .map(|found| (found.start(), found.end()))
        .collect()
}

/// What coalmine made of a document.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    /// Well-formed XML, refused as JUnit (its root element is another).
    NotJunit,
    /// Refused as XML that is not well-formed.
    Malformed(String),
}

fn coalmine(document: &str) -> Verdict {
    match parse_bytes(document.as_bytes()) {
        Ok(_) => Verdict::Accepted,
        Err(ResultsErrorKind::Malformed {
            line,
            column,
            message,
        }) => {
            if message.starts_with("the root element is <") {
                Verdict::NotJunit
            } else {
                Verdict::Malformed(format!("{line}:{column}: {message}"))
            }
        }
        Err(other) => Verdict::Malformed(other.to_string()),
    }
}

/// roxmltree's verdict: `Ok` when it accepts, else its error. A document with a character
/// reference roxmltree reads as U+FFFD where XML refuses it (a surrogate, beyond U+10FFFF) is
/// counted as refused.
fn reference(document: &str) -> Result<(), String> {
    roxmltree::Document::parse(document).map_err(|error| error.to_string())?;
    static REFERENCES: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("&#(x[0-9a-fA-F]+|[0-9]+);").expect("a regex"));
    for found in REFERENCES.captures_iter(document) {
        let digits = &found[1];
        let code = match digits.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => digits.parse(),
        };
        if let Ok(code) = code
            && char::from_u32(code).is_none()
        {
            return Err(format!("U+{code:X} read as U+FFFD"));
        }
    }
    Ok(())
}

/// The property, for one document.
fn agrees(document: &str) -> Result<(), TestCaseError> {
    let ours = coalmine(document);
    let theirs = reference(document);
    match (&ours, &theirs) {
        (Verdict::Accepted, Ok(())) | (Verdict::Malformed(_), Err(_)) | (Verdict::NotJunit, _) => {
            Ok(())
        }
        (Verdict::Accepted, Err(error)) => Err(TestCaseError::fail(format!(
            "coalmine accepts what roxmltree refuses ({error}):\n{document}"
        ))),
        (Verdict::Malformed(message), Ok(())) => Err(TestCaseError::fail(format!(
            "coalmine refuses what roxmltree accepts ({message}):\n{document}"
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Generated documents, well-formed: both accept them.
    #[test]
    fn generated_documents_are_read_as_a_conforming_parser_reads_them(
        (declaration, body) in document()
    ) {
        let document = format!("{declaration}{body}");
        prop_assert_eq!(reference(&document), Ok(()), "{}", document);
        agrees(&document)?;
    }

    /// Mutated documents: coalmine accepts one exactly when roxmltree does.
    #[test]
    fn mutated_documents_are_refused_exactly_when_a_conforming_parser_refuses_them(
        (declaration, body) in document(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let mut body = body;
        for mutation in &mutations {
            mutate(&mut body, mutation);
        }
        agrees(&format!("{declaration}{body}"))?;
    }
}

/// The mutations reach both sides: a fixed sample of mutated documents is neither all accepted
/// nor all refused (else the property above would test little).
#[test]
fn the_mutated_documents_are_both_accepted_and_refused() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = (document(), prop::collection::vec(mutation(), 1..3));
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..200 {
        let ((declaration, mut body), mutations) =
            strategy.new_tree(&mut runner).expect("a value").current();
        for mutation in &mutations {
            mutate(&mut body, mutation);
        }
        match coalmine(&format!("{declaration}{body}")) {
            Verdict::Accepted => accepted += 1,
            _ => refused += 1,
        }
    }
    assert!(
        accepted >= 30 && refused >= 60,
        "{accepted} accepted, {refused} refused"
    );
}
