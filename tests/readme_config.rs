//! README's harness.toml tables against the config schema: every key the README documents is one
//! that harness.toml accepts, and every key harness.toml accepts is documented.
//!
//! The schema's keys are not written down here: they are asked of the parser itself, by loading
//! a harness.toml with an unknown key in each table and reading the list of valid keys from the
//! error ("unknown field `zzz`, expected one of ..."). A key added to the schema without a
//! README row, or a README row for a key that does not exist, fails this test.

use std::collections::BTreeSet;

use coalmine::config::Config;

/// The keys of one table, as the parser lists them when it refuses an unknown key there.
fn schema_keys(before: &str, after: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harness.toml");
    std::fs::write(&path, format!("{before}zzz_not_a_key = 1\n{after}")).unwrap();
    let error = Config::load(&path)
        .expect_err("an unknown key must be refused")
        .to_string();
    let (_, expected) = error
        .split_once("unknown field `zzz_not_a_key`, expected")
        .unwrap_or_else(|| panic!("not an unknown-key error: {error}"));
    let expected = expected.lines().next().unwrap();
    let keys: BTreeSet<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!keys.is_empty(), "{error}");
    keys
}

/// The keys in the first column of the tables in README's "## harness.toml" section.
fn readme_keys() -> BTreeSet<String> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("\n## harness.toml\n")
        .expect("README has a harness.toml section");
    let section = &readme[start + 1..];
    let end = section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3);
    let mut keys = BTreeSet::new();
    for line in section[..end].lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let key = rest.split('`').next().unwrap();
        assert!(
            keys.insert(key.to_owned()),
            "README documents `{key}` twice"
        );
    }
    keys
}

#[test]
fn readme_documents_exactly_the_keys_harness_toml_accepts() {
    let root = schema_keys("", "");
    // The tables whose keys the README lists one by one, and how to reach an unknown key in
    // each (an entry needs its required keys first, or the missing one is reported instead).
    let tables = [
        ("ci", "[ci]\n", ""),
        ("run", "[run]\n", ""),
        ("history", "[history]\n", ""),
        ("report", "[report]\n", ""),
        ("policy", "[policy]\n", ""),
        (
            "quarantine",
            "[[quarantine]]\ntest = \"t\"\nowner = \"sig-x\"\nsince = 2026-01-01\n",
            "",
        ),
        (
            "sources",
            "[[sources]]\nkind = \"rust\"\npaths = [\".\"]\n",
            "",
        ),
    ];
    let mut expected = BTreeSet::new();
    for (table, before, after) in tables {
        assert!(root.contains(table), "no [{table}] in {root:?}");
        for key in schema_keys(before, after) {
            expected.insert(format!("{table}.{key}"));
        }
    }
    // Tables that are maps of the user's names, documented as one row each.
    expected.insert("owners".to_owned());
    expected.insert("quarantine".to_owned());
    expected.insert("profiles.<name>".to_owned());
    // Every top-level table is one of the above.
    for table in &root {
        assert!(
            expected
                .iter()
                .any(|key| key == table || key.starts_with(&format!("{table}."))),
            "the top-level table [{table}] is not documented"
        );
    }
    // A profile has exactly [ci]'s keys, as the README says.
    assert_eq!(
        schema_keys("[profiles.p]\n", ""),
        schema_keys("[ci]\n", ""),
        "a profile's keys differ from [ci]'s"
    );

    let documented = readme_keys();
    let undocumented: Vec<_> = expected.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&expected).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "README's harness.toml tables and the schema disagree.\n\
         keys harness.toml accepts that README does not document: {undocumented:?}\n\
         keys README documents that harness.toml refuses: {unknown:?}"
    );
}
