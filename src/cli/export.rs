//! `coalmine quarantine export --for RUNNER`: the quarantined tests of harness.toml
//! (`[[quarantine]]`) in the form another test runner takes, so that it skips them.
//!
//! Test ids are `<classname>::<name>` (see [`crate::ingest`]), so each form first takes apart
//! what the runner names differently:
//!
//! | `--for` | output | use |
//! |---|---|---|
//! | `nextest` | a filterset `not (test(=ID) \| ...)`; for an id with `::` also `(binary_id(=PREFIX) & test(=REST))` for each `::` whose PREFIX is a test binary of the workspace (nextest's JUnit classname is the binary id, and nextest refuses a `binary_id` that matches no binary); the binaries are asked of nextest (`cargo nextest list --list-type binaries-only`), or read from `--binaries FILE` | `cargo nextest run -E "$(coalmine quarantine export --for nextest)"` |
//! | `pytest` | one `--deselect=NODEID` per line; the classname `pkg.test_mod.TestClass` becomes `pkg/test_mod.py::TestClass` (trailing dotted parts starting with a capital letter are classes). pytest deselects every node id that *starts with* one given, so `test_x` also deselects `test_x[1]` and `test_x_slow` | `mapfile -t args < <(coalmine quarantine export --for pytest); pytest "${args[@]}"` |
//! | `ginkgo` | a `--skip` regex matching the whole of `<suite description> <spec text>`, which Ginkgo matches it against: the id's first `::` is the space between the two (Ginkgo's JUnit classname is the suite description), words joined by a pattern that also allows the `[tags]` the id lost; anchored, since an unanchored `VM starts` would also skip `VM starts twice` | `ginkgo --skip="$(coalmine quarantine export --for ginkgo)"` |
//! | `go` | a `go test -skip` regex: the part after the last `::` (the package), each `/`-separated level anchored, tests joined by `\|` | `go test -skip "$(coalmine quarantine export --for go)" ./...` |
//! | `regex` | `^(?:ID\|...)$` with every id escaped | any runner that takes a regex of full ids |
//!
//! Regexes escape `\.+*?()|[]{}^$` (Go's `regexp.QuoteMeta`), which RE2, Rust, Python and
//! PCRE all read as literals. With no quarantined test, nextest gets `all()`, pytest nothing,
//! and the regex forms `[^\s\S]`, which matches nothing (an empty pattern such as `(?:)`
//! would match every spec or test).
//!
//! An entry whose name for the runner is empty (a blank `test`, or nothing after its `::`:
//! `Suite::` would become pytest's `--deselect=Suite.py::`, which takes every test in the
//! file), or, for pytest, an id without `::` (`--deselect=test_a` would take every test of
//! `test_a.py`), is refused, naming its line in harness.toml: nothing is printed and the exit
//! code is 1.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{EXIT_OK, Failure, Store, exit_code};

/// The runners `export` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runner {
    /// A nextest filterset excluding the tests: `cargo nextest run -E "$(coalmine quarantine
    /// export --for nextest)"`.
    Nextest,
    /// pytest `--deselect=NODEID` arguments, one per line: `mapfile -t args < <(coalmine
    /// quarantine export --for pytest); pytest "${args[@]}"`.
    Pytest,
    /// A Ginkgo `--skip` regex over the spec text: `ginkgo --skip="$(coalmine quarantine
    /// export --for ginkgo)"`.
    Ginkgo,
    /// A `go test -skip` regex, one anchored pattern per subtest level: `go test -skip
    /// "$(coalmine quarantine export --for go)" ./...`.
    Go,
    /// A plain regex matching the full test ids: `^(?:id1|id2)$`, escaped.
    Regex,
}

/// `coalmine quarantine export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The runner to write the skip list for.
    #[arg(long = "for", value_enum, value_name = "RUNNER")]
    pub runner: Runner,
    /// The harness.toml to read [default: COALMINE_CONFIG, else the first harness.toml in the
    /// current folder or a parent].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// For nextest: the workspace's test binaries, as `cargo nextest list --list-type
    /// binaries-only --message-format json` prints them (`-` for standard input) [default:
    /// run that command in the current folder].
    #[arg(long, value_name = "FILE")]
    pub binaries: Option<PathBuf>,
}

/// Runs `coalmine quarantine export`; returns the exit code.
pub fn run(args: &ExportArgs) -> u8 {
    exit_code(export_command(args))
}

fn export_command(args: &ExportArgs) -> Result<u8, Failure> {
    let store = Store {
        history: None,
        config: args.config.clone(),
    };
    let config = store.required_config("coalmine quarantine export")?;
    let tests: Vec<&str> = config
        .quarantine
        .quarantine
        .iter()
        .map(|entry| entry.test.as_str())
        .collect();
    let problems: Vec<(usize, String)> = tests
        .iter()
        .enumerate()
        .filter_map(|(index, test)| check(args.runner, test).err().map(|why| (index, why)))
        .collect();
    if !problems.is_empty() {
        let positions = entry_positions(&config.path);
        for (index, why) in &problems {
            let at = match positions.get(*index).copied().flatten() {
                Some((line, column)) => format!("{}:{line}:{column}", config.path.display()),
                None => config.path.display().to_string(),
            };
            eprintln!(
                "error: {at}: [[quarantine]] test = {:?}: {why}",
                tests[*index]
            );
        }
        return Err(format!(
            "{} [[quarantine]] entr{} of {} cannot be exported for {} (listed above): fix the \
             test id (`<classname>::<name>`, as in the history) or remove the entry; nothing \
             was printed",
            problems.len(),
            if problems.len() == 1 { "y" } else { "ies" },
            config.path.display(),
            runner_name(args.runner)
        ));
    }
    if tests.is_empty() {
        eprintln!(
            "note: {} has no [[quarantine]] entry: the filter skips nothing",
            config.path.display()
        );
    }
    if args.runner == Runner::Nextest {
        let binaries = nextest_binaries(args.binaries.as_deref())?;
        let (filterset, unmatched) = export_nextest(&tests, &binaries);
        for test in unmatched {
            eprintln!(
                "note: [[quarantine]] {test}: no test binary of this workspace is a prefix of its \
                 id; only a test named exactly {test:?} is left out"
            );
        }
        print!("{filterset}");
        return Ok(EXIT_OK);
    }
    print!("{}", export(args.runner, &tests));
    Ok(EXIT_OK)
}

/// The workspace's test binary ids: read from `file` (`-`: standard input), else asked of
/// `cargo nextest list --list-type binaries-only --message-format json`.
fn nextest_binaries(file: Option<&std::path::Path>) -> Result<BTreeSet<String>, Failure> {
    let (json, source) = match file {
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|error| {
                format!("cannot read the binaries from standard input: {error}")
            })?;
            (text, "standard input".to_owned())
        }
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read --binaries {}: {error}", path.display()))?,
            path.display().to_string(),
        ),
        None => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = std::process::Command::new(cargo)
                .args([
                    "nextest",
                    "list",
                    "--list-type",
                    "binaries-only",
                    "--message-format",
                    "json",
                ])
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|error| format!("cannot run cargo nextest list: {error}"))?;
            if !output.status.success() {
                return Err(format!(
                    "`cargo nextest list --list-type binaries-only` failed ({}): the nextest \
                     filterset needs the workspace's test binaries (nextest refuses a binary_id \
                     that matches none); run it where nextest runs, or give --binaries FILE",
                    output.status
                ));
            }
            (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                "cargo nextest list".to_owned(),
            )
        }
    };
    binary_ids(&json).map_err(|why| format!("the binaries from {source}: {why}"))
}

/// The binary ids in nextest's `--list-type binaries-only --message-format json` output.
pub fn binary_ids(json: &str) -> Result<BTreeSet<String>, String> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|error| format!("not the JSON of `cargo nextest list`: {error}"))?;
    let binaries = value
        .get("rust-binaries")
        .and_then(serde_json::Value::as_object)
        .ok_or("no \"rust-binaries\" object: not the JSON of `cargo nextest list --list-type binaries-only --message-format json`")?;
    Ok(binaries.keys().cloned().collect())
}

/// The nextest filterset leaving out `tests`, naming only binaries in `binaries` (nextest
/// refuses a `binary_id` that matches none), and the tests whose id starts with no binary.
pub fn export_nextest<'t>(
    tests: &[&'t str],
    binaries: &BTreeSet<String>,
) -> (String, Vec<&'t str>) {
    let tests: BTreeSet<&str> = tests.iter().copied().collect();
    if tests.is_empty() {
        return ("all()\n".to_owned(), Vec::new());
    }
    let mut unmatched = Vec::new();
    let terms: Vec<String> = tests
        .iter()
        .map(|test| {
            let mut terms = vec![format!("test(={})", nextest_string(test))];
            for (index, _) in test.match_indices("::") {
                let (binary, rest) = (&test[..index], &test[index + 2..]);
                if !rest.is_empty() && binaries.contains(binary) {
                    terms.push(format!(
                        "(binary_id(={}) & test(={}))",
                        nextest_string(binary),
                        nextest_string(rest)
                    ));
                }
            }
            // A canary's id is its test's name in the harness binary: nothing is missing.
            if terms.len() == 1 && test.contains("::") && !test.starts_with("canary::") {
                unmatched.push(*test);
            }
            terms.join(" | ")
        })
        .collect();
    (format!("not ({})\n", terms.join(" | ")), unmatched)
}

fn runner_name(runner: Runner) -> &'static str {
    match runner {
        Runner::Nextest => "nextest",
        Runner::Pytest => "pytest",
        Runner::Ginkgo => "ginkgo",
        Runner::Go => "go",
        Runner::Regex => "regex",
    }
}

/// Whether `test` can be exported for `runner`: the part of its id the runner matches must
/// not be empty (an empty Ginkgo `--skip` pattern, or a pytest `--deselect` prefix ending in
/// `::`, would skip every test). The error says why.
pub fn check(runner: Runner, test: &str) -> Result<(), String> {
    if test.trim().is_empty() {
        return Err("the test id is empty".to_owned());
    }
    let (part, what) = match runner {
        Runner::Nextest | Runner::Regex => return Ok(()),
        Runner::Pytest => match test.split_once("::") {
            Some((_, name)) => (
                name,
                "the test name after `::` is empty: --deselect would take every test of the file",
            ),
            None => {
                return Err(format!(
                    "it has no `::`, so it is no pytest node id: pytest deselects every node id \
                     that starts with `{test}`, such as every test of a file `{test}.py`"
                ));
            }
        },
        Runner::Ginkgo => (
            test.split_once("::").map_or(test, |(_, text)| text),
            "the spec text after the first `::` is empty, so no spec would be skipped",
        ),
        Runner::Go => (
            test.rsplit_once("::").map_or(test, |(_, name)| name),
            "the test name after the last `::` is empty: -skip would match no test",
        ),
    };
    if part.trim().is_empty() {
        Err(what.to_owned())
    } else {
        Ok(())
    }
}

/// The line and column of each `[[quarantine]]` entry's `test` value in the file, in order
/// (`None` where the file cannot be read again or the value is not found).
fn entry_positions(path: &std::path::Path) -> Vec<Option<(usize, usize)>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(document) = toml_edit::Document::parse(text.as_str()) else {
        return Vec::new();
    };
    let Some(entries) = document
        .get("quarantine")
        .and_then(toml_edit::Item::as_array_of_tables)
    else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| {
            let offset = entry.get("test").and_then(toml_edit::Item::span)?.start;
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |index| index + 1);
            Some((line, before[line_start..].chars().count() + 1))
        })
        .collect()
}

/// A regex that matches no text, in every common engine.
pub const MATCH_NOTHING: &str = r"[^\s\S]";

/// The skip list for `runner`, ending with a newline (nothing for pytest without tests).
pub fn export(runner: Runner, tests: &[&str]) -> String {
    let tests: BTreeSet<&str> = tests.iter().copied().collect();
    match runner {
        // Without the workspace's binaries, only the whole ids as test names (see
        // [`export_nextest`]).
        Runner::Nextest => {
            let tests: Vec<&str> = tests.into_iter().collect();
            export_nextest(&tests, &BTreeSet::new()).0
        }
        Runner::Pytest => tests
            .iter()
            .map(|test| format!("--deselect={}\n", pytest_node_id(test)))
            .collect(),
        Runner::Ginkgo => alternation(tests.iter().map(|test| ginkgo_pattern(test))),
        Runner::Go => alternation(tests.iter().map(|test| go_pattern(test))),
        Runner::Regex => {
            if tests.is_empty() {
                return format!("{MATCH_NOTHING}\n");
            }
            let escaped: Vec<String> = tests.iter().map(|test| quote_meta(test)).collect();
            format!("^(?:{})$\n", escaped.join("|"))
        }
    }
}

fn alternation(patterns: impl Iterator<Item = String>) -> String {
    let patterns: Vec<String> = patterns.collect();
    if patterns.is_empty() {
        format!("{MATCH_NOTHING}\n")
    } else {
        format!("{}\n", patterns.join("|"))
    }
}

/// A string inside a nextest name matcher: `\`, `)`, `,` and `/` escaped, control
/// characters as `\n`, `\t`, `\u{..}`.
fn nextest_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ')' => out.push_str("\\)"),
            ',' => out.push_str("\\,"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A pytest node id from a test id `<classname>::<name>`.
pub fn pytest_node_id(test: &str) -> String {
    if test.contains(".py::") {
        return test.to_owned();
    }
    let Some((classname, name)) = test.split_once("::") else {
        return test.to_owned();
    };
    let parts: Vec<&str> = classname.split('.').collect();
    let is_class = |part: &&&str| part.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    let classes = parts.iter().rev().take_while(is_class).count();
    // At least one part is the module.
    let classes = classes.min(parts.len().saturating_sub(1));
    let (module, classes) = parts.split_at(parts.len() - classes);
    let mut node = format!("{}.py", module.join("/"));
    for class in classes {
        node.push_str("::");
        node.push_str(class);
    }
    node.push_str("::");
    node.push_str(name);
    node
}

/// Go's `regexp.QuoteMeta`: `\.+*?()|[]{}^$` escaped.
pub fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Between two words of a spec text: whitespace or `[tags]`, as the id lost them.
const GAP: &str = r"(?:\s|\[[^\]]*\])+";

/// Before the first word and after the last: `[tags]` the id lost, and whitespace.
const EDGE: &str = r"(?:\s|\[[^\]]*\])*";

/// Where a spec text starts when the suite is not known: after a space, or a `[tag]` glued
/// to the first word.
const TEXT_START: &str = r"(?:^|[\s\]])";

/// Ginkgo matches `--skip` anywhere in `<suite description> <spec text>`, and its JUnit
/// report's classname is the suite description: the pattern matches that whole string, the
/// id's first `::` standing for the space between the two (an id without `::` matches the end
/// of it, from the start of a word).
fn ginkgo_pattern(test: &str) -> String {
    let words = |text: &str| -> Vec<String> { text.split_whitespace().map(quote_meta).collect() };
    match test.split_once("::") {
        Some((suite, text)) => {
            let all: Vec<String> = words(suite).into_iter().chain(words(text)).collect();
            format!("(?:^{EDGE}{}{EDGE}$)", all.join(GAP))
        }
        None => format!("(?:{TEXT_START}{}{EDGE}$)", words(test).join(GAP)),
    }
}

fn go_pattern(test: &str) -> String {
    let name = test.rsplit_once("::").map_or(test, |(_, name)| name);
    let levels: Vec<String> = name
        .split('/')
        .map(|level| format!("^{}$", quote_meta(level)))
        .collect();
    levels.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runner() {
        let tests = ["canary::good-simple", "pkg.test_mod.TestA::test_x[1,2]"];
        assert_eq!(
            export(Runner::Nextest, &tests),
            "not (test(=canary::good-simple) | test(=pkg.test_mod.TestA::test_x[1\\,2]))\n"
        );
        let binaries: BTreeSet<String> = ["pkg.test_mod.TestA".to_owned()].into();
        assert_eq!(
            export_nextest(&tests, &binaries),
            (
                "not (test(=canary::good-simple) | test(=pkg.test_mod.TestA::test_x[1\\,2]) | \
                 (binary_id(=pkg.test_mod.TestA) & test(=test_x[1\\,2])))\n"
                    .to_owned(),
                Vec::<&str>::new()
            )
        );
        assert_eq!(
            export(Runner::Pytest, &tests),
            "--deselect=canary.py::good-simple\n--deselect=pkg/test_mod.py::TestA::test_x[1,2]\n"
        );
        assert_eq!(
            export(Runner::Regex, &tests),
            "^(?:canary::good-simple|pkg\\.test_mod\\.TestA::test_x\\[1,2\\])$\n"
        );
        assert_eq!(
            export(Runner::Go, &["github.com/x/y::TestA/sub.case", "p::TestB"]),
            "^TestA$/^sub\\.case$|^TestB$\n"
        );
        let gap = r"(?:\s|\[[^\]]*\])+";
        let edge = r"(?:\s|\[[^\]]*\])*";
        assert_eq!(
            export(Runner::Ginkgo, &["Suite::VMI lifecycle should start"]),
            format!("(?:^{edge}Suite{gap}VMI{gap}lifecycle{gap}should{gap}start{edge}$)\n")
        );
        assert_eq!(
            export(Runner::Ginkgo, &["VMI starts"]),
            format!("(?:(?:^|[\\s\\]])VMI{gap}starts{edge}$)\n")
        );
        assert_eq!(export(Runner::Nextest, &[]), "all()\n");
        assert_eq!(export(Runner::Pytest, &[]), "");
        assert_eq!(export(Runner::Go, &[]), "[^\\s\\S]\n");
    }

    #[test]
    fn regexes_match_what_they_should() {
        let regex = regex::Regex::new(
            export(Runner::Ginkgo, &["Tests Suite::VMI lifecycle should start"]).trim(),
        )
        .unwrap();
        // Ginkgo matches `<suite description> <spec text>`.
        assert!(regex.is_match(
            "Tests Suite [sig-compute]VMI lifecycle [rfe_id:273][crit:high]should start"
        ));
        assert!(regex.is_match("Tests Suite VMI lifecycle should start [Serial]"));
        assert!(!regex.is_match("Tests Suite VMI lifecycle should stop"));
        assert!(!regex.is_match("Tests Suite VMI lifecycle should start twice"));
        assert!(!regex.is_match("Tests Suite old VMI lifecycle should start"));
        assert!(!regex.is_match("Other Suite VMI lifecycle should start"));
        let bare = regex::Regex::new(export(Runner::Ginkgo, &["VM starts"]).trim()).unwrap();
        assert!(bare.is_match("Suite [sig-compute]VM starts"));
        assert!(!bare.is_match("Suite VM starts twice") && !bare.is_match("Suite XVM starts"));
        let regex = regex::Regex::new(export(Runner::Regex, &["a.b::c(d)"]).trim()).unwrap();
        assert!(regex.is_match("a.b::c(d)"));
        assert!(!regex.is_match("aXb::c(d)"));
        let nothing = regex::Regex::new(MATCH_NOTHING).unwrap();
        assert!(!nothing.is_match("") && !nothing.is_match("anything"));
    }

    #[test]
    fn empty_names_are_refused() {
        for runner in [
            Runner::Nextest,
            Runner::Pytest,
            Runner::Ginkgo,
            Runner::Go,
            Runner::Regex,
        ] {
            assert!(check(runner, " ").is_err());
            assert!(check(runner, "pkg.A::t").is_ok());
        }
        assert!(
            check(Runner::Ginkgo, "Suite::")
                .unwrap_err()
                .contains("spec text")
        );
        assert!(
            check(Runner::Pytest, "pkg.A:: ")
                .unwrap_err()
                .contains("every test")
        );
        assert!(check(Runner::Go, "p::").is_err());
        assert!(
            check(Runner::Pytest, "test_a")
                .unwrap_err()
                .contains("test_a.py")
        );
        assert!(check(Runner::Regex, "test_a").is_ok());
        assert!(check(Runner::Nextest, "Suite::").is_ok());
    }

    #[test]
    fn pytest_node_ids() {
        assert_eq!(
            pytest_node_id("tests.test_a::test_x"),
            "tests/test_a.py::test_x"
        );
        assert_eq!(
            pytest_node_id("tests.test_a.TestOuter.TestInner::test_x"),
            "tests/test_a.py::TestOuter::TestInner::test_x"
        );
        assert_eq!(pytest_node_id("Module::test"), "Module.py::test");
        assert_eq!(
            pytest_node_id("tests/test_a.py::test_x"),
            "tests/test_a.py::test_x"
        );
        assert_eq!(pytest_node_id("bare"), "bare");
    }
}
