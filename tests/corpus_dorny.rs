//! Every JUnit file of the dorny corpus (`../shared/corpus/junit/dorny/`, other projects' real
//! reports, read in place and never copied into this repository) parses with the JUnit adapter
//! to exactly the counts its `EXPECTED.tsv` gives.
//!
//! Counting follows `EXPECTED-NOTES.md` beside the table: `failed` counts `Fail`, `errored`
//! counts `Error`, `skipped` counts `Skip` and `Xfail` (the table encodes pytest's XFAIL as
//! skipped), `passed` counts `Pass` and `FlakyPass`.
//!
//! Where the folder is absent (a user's clone without `shared/`), the test says it skipped and
//! passes; `.ci/run` makes sure the folder is there, so CI never skips it. Where it is present,
//! a listed file that is missing, an XML file that is not listed, a parse error or any count
//! that differs fails the test.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Write as _};
use std::path::Path;

use coalmine::results::Outcome;
use coalmine::results::adapter::Adapter;
use coalmine::results::formats::Junit;

const CORPUS: &str = "../shared/corpus/junit/dorny";

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Counts {
    tests: usize,
    passed: usize,
    failed: usize,
    errored: usize,
    skipped: usize,
}

fn count(path: &Path) -> Result<Counts, String> {
    let file = File::open(path).map_err(|error| format!("cannot open: {error}"))?;
    let mut input = BufReader::new(file);
    let mut counts = Counts::default();
    let mut unexpected = Vec::new();
    Junit
        .read(&mut input, &mut |test| {
            counts.tests += 1;
            match test.outcome {
                Outcome::Pass | Outcome::FlakyPass => counts.passed += 1,
                Outcome::Fail => counts.failed += 1,
                Outcome::Error => counts.errored += 1,
                Outcome::Skip | Outcome::Xfail => counts.skipped += 1,
                other => unexpected.push(format!("{}: {other}", test.name)),
            }
        })
        .map_err(|error| format!("parse error: {error}"))?;
    if !unexpected.is_empty() {
        return Err(format!(
            "outcomes JUnit cannot have: {}",
            unexpected.join(", ")
        ));
    }
    Ok(counts)
}

#[test]
fn every_dorny_file_parses_to_its_expected_counts() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    if !folder.is_dir() {
        // Written to the stderr handle, not with `eprintln!`, so that libtest's output capture
        // does not swallow it: a skip must be seen.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {CORPUS} not found");
        return;
    }
    let table = std::fs::read_to_string(folder.join("EXPECTED.tsv"))
        .unwrap_or_else(|error| panic!("{CORPUS}/EXPECTED.tsv: {error}"));
    let mut lines = table.lines();
    let header = lines.next().expect("EXPECTED.tsv has a header");
    assert_eq!(
        header.split('\t').take(6).collect::<Vec<_>>(),
        ["file", "tests", "passed", "failed", "errored", "skipped"],
        "EXPECTED.tsv columns"
    );

    let mut listed = BTreeSet::new();
    let mut problems = String::new();
    let mut checked = 0;
    for (index, line) in lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let number = |column: usize| -> usize {
            fields
                .get(column)
                .and_then(|field| field.trim().parse().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "EXPECTED.tsv line {}: column {column} is not a count",
                        index + 2
                    )
                })
        };
        let name = fields[0];
        let expected = Counts {
            tests: number(1),
            passed: number(2),
            failed: number(3),
            errored: number(4),
            skipped: number(5),
        };
        listed.insert(name.to_owned());
        let path = folder.join(name);
        if !path.is_file() {
            writeln!(
                problems,
                "{name}: listed in EXPECTED.tsv but missing from {CORPUS}"
            )
            .unwrap();
            continue;
        }
        match count(&path) {
            Ok(actual) if actual == expected => checked += 1,
            Ok(actual) => {
                writeln!(problems, "{name}: expected {expected:?}, parsed {actual:?}").unwrap()
            }
            Err(error) => writeln!(problems, "{name}: {error}").unwrap(),
        }
    }

    for entry in std::fs::read_dir(&folder).expect("the corpus folder is readable") {
        let name = entry
            .expect("a folder entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".xml") && !listed.contains(&name) {
            writeln!(
                problems,
                "{name}: in {CORPUS} but not listed in EXPECTED.tsv"
            )
            .unwrap();
        }
    }

    assert!(
        problems.is_empty(),
        "the dorny corpus does not parse as expected:\n{problems}"
    );
    assert!(checked > 0, "EXPECTED.tsv lists no file");
    println!("{checked} files of {CORPUS} parse to their expected counts");
}
