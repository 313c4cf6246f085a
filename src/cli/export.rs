//! `coalmine quarantine export --for RUNNER`: the quarantined tests of harness.toml
//! (`[[quarantine]]`) in the form another test runner takes, so that it skips them.
//!
//! Test ids are `<classname>::<name>` (see [`crate::ingest`]), so each form first takes apart
//! what the runner names differently:
//!
//! | `--for` | output | use |
//! |---|---|---|
//! | `nextest` | a filterset `not (test(=ID) \| ...)`; for an id with `::` also `(binary_id(=PREFIX) & test(=REST))` for each `::` in it, because nextest's JUnit classname is the binary id | `cargo nextest run -E "$(coalmine quarantine export --for nextest)"` |
//! | `pytest` | one `--deselect=NODEID` per line; the classname `pkg.test_mod.TestClass` becomes `pkg/test_mod.py::TestClass` (trailing dotted parts starting with a capital letter are classes) | `mapfile -t args < <(coalmine quarantine export --for pytest); pytest "${args[@]}"` |
//! | `ginkgo` | a `--skip` regex over the spec text: the part of the id after its first `::` (Ginkgo's classname is the suite), words joined by a pattern that also skips the `[tags]` the id lost | `ginkgo --skip="$(coalmine quarantine export --for ginkgo)"` |
//! | `go` | a `go test -skip` regex: the part after the last `::` (the package), each `/`-separated level anchored, tests joined by `\|` | `go test -skip "$(coalmine quarantine export --for go)" ./...` |
//! | `regex` | `^(?:ID\|...)$` with every id escaped | any runner that takes a regex of full ids |
//!
//! Regexes escape `\.+*?()|[]{}^$` (Go's `regexp.QuoteMeta`), which RE2, Rust, Python and
//! PCRE all read as literals. With no quarantined test, nextest gets `all()`, pytest nothing,
//! and the regex forms `[^\s\S]`, which matches nothing (an empty `--skip` would skip
//! everything in Ginkgo).

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
    if tests.is_empty() {
        eprintln!(
            "note: {} has no [[quarantine]] entry: the filter skips nothing",
            config.path.display()
        );
    }
    print!("{}", export(args.runner, &tests));
    Ok(EXIT_OK)
}

/// A regex that matches no text, in every common engine.
pub const MATCH_NOTHING: &str = r"[^\s\S]";

/// The skip list for `runner`, ending with a newline (nothing for pytest without tests).
pub fn export(runner: Runner, tests: &[&str]) -> String {
    let tests: BTreeSet<&str> = tests.iter().copied().collect();
    match runner {
        Runner::Nextest => {
            if tests.is_empty() {
                return "all()\n".to_owned();
            }
            let terms: Vec<String> = tests.iter().map(|test| nextest_term(test)).collect();
            format!("not ({})\n", terms.join(" | "))
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

fn nextest_term(test: &str) -> String {
    let mut terms = vec![format!("test(={})", nextest_string(test))];
    for (index, _) in test.match_indices("::") {
        let (binary, rest) = (&test[..index], &test[index + 2..]);
        if !binary.is_empty() && !rest.is_empty() {
            terms.push(format!(
                "(binary_id(={}) & test(={}))",
                nextest_string(binary),
                nextest_string(rest)
            ));
        }
    }
    terms.join(" | ")
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

fn ginkgo_pattern(test: &str) -> String {
    let text = test.split_once("::").map_or(test, |(_, text)| text);
    let words: Vec<String> = text.split_whitespace().map(quote_meta).collect();
    format!("(?:{})", words.join(GAP))
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
            "not (test(=canary::good-simple) | (binary_id(=canary) & test(=good-simple)) | \
             test(=pkg.test_mod.TestA::test_x[1\\,2]) | (binary_id(=pkg.test_mod.TestA) & \
             test(=test_x[1\\,2])))\n"
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
        assert_eq!(
            export(Runner::Ginkgo, &["Suite::VMI lifecycle should start"]),
            "(?:VMI(?:\\s|\\[[^\\]]*\\])+lifecycle(?:\\s|\\[[^\\]]*\\])+should(?:\\s|\\[[^\\]]*\\])+start)\n"
        );
        assert_eq!(export(Runner::Nextest, &[]), "all()\n");
        assert_eq!(export(Runner::Pytest, &[]), "");
        assert_eq!(export(Runner::Go, &[]), "[^\\s\\S]\n");
    }

    #[test]
    fn regexes_match_what_they_should() {
        let regex =
            regex::Regex::new(export(Runner::Ginkgo, &["S::VMI lifecycle should start"]).trim())
                .unwrap();
        assert!(regex.is_match("[sig-compute]VMI lifecycle [rfe_id:273][crit:high]should start"));
        assert!(!regex.is_match("VMI lifecycle should stop"));
        let regex = regex::Regex::new(export(Runner::Regex, &["a.b::c(d)"]).trim()).unwrap();
        assert!(regex.is_match("a.b::c(d)"));
        assert!(!regex.is_match("aXb::c(d)"));
        let nothing = regex::Regex::new(MATCH_NOTHING).unwrap();
        assert!(!nothing.is_match("") && !nothing.is_match("anything"));
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
