//! `coalmine quarantine plan|apply|explain|export|fixed`.

use std::path::Path;

use clap::{Args, Subcommand};
use jiff::Timestamp;

use super::apply::{self, ApplyArgs};
use super::export::{self, ExportArgs};
use super::output::{plan_markdown, plan_text};
use super::{
    EXIT_OK, Failure, Format, Store, analysis, exit_code, open_existing, parse_time, show_time,
};
use crate::history::History;
use crate::ingest::normalise;
use crate::suggest::closest_first;

/// The `quarantine` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum QuarantineCommand {
    /// What to quarantine now and in the next batch (with its date), what leaves the batch in
    /// its grace period, what to release, release-blocker issues to open, candidates without an
    /// owner (errors: the plan is printed, then it exits 1), lanes to make optional (with the
    /// team's 7-day deadline), and `[[quarantine]]` entries naming no known test.
    Plan(PlanArgs),
    /// Edit harness.toml as the plan says: add `[[quarantine]]` entries (now; batch candidates
    /// from the batch day), remove released ones, keep every comment; refuse, writing nothing,
    /// when a candidate has no owner.
    Apply(ApplyArgs),
    /// Print the quarantined tests of harness.toml as a skip list for another test runner.
    #[command(long_about = EXPORT_HELP)]
    Export(ExportArgs),
    /// Why TEST is, or is not, a quarantine candidate: the decisive line first, then every
    /// rule with its numbers (window, executions, rate, threshold, Wilson bound, same-commit
    /// flips), what was left out and why (untrusted runs by kind, systemic runs, runs after
    /// --now), the broken rule's streak, the owner and where it came from, and the quarantine
    /// entry with its release progress. Computed by the same pass as `plan`.
    Explain(ExplainArgs),
    /// Record that a fix for TEST landed at a commit: a batch candidate whose fix then passes
    /// `[policy] grace_passes` (5) consecutive executions leaves the batch during its grace
    /// period.
    Fixed(FixedArgs),
}

const EXPORT_HELP: &str = "Print the quarantined tests of harness.toml ([[quarantine]]) as a \
skip list for another test runner.

  nextest  a filterset without the tests:
           cargo nextest run -E \"$(coalmine quarantine export --for nextest)\"
           (`not (test(=ID) | ...)`; ids with `::` also match as binary_id(=PREFIX) & test(=REST)
           for each PREFIX that is a test binary of the workspace, since nextest's JUnit classname
           is the binary id: the binaries come from `cargo nextest list --list-type
           binaries-only`, run here, or from --binaries FILE, that command's JSON)
  pytest   one --deselect=NODEID per line (pkg.test_mod.TestClass::test_x becomes
           pkg/test_mod.py::TestClass::test_x; pytest deselects every node id that starts
           with it, so test_x also deselects test_x[1] and test_x_slow):
           mapfile -t args < <(coalmine quarantine export --for pytest); pytest \"${args[@]}\"
  ginkgo   a --skip regex matching the whole of `<suite> <spec text>`, as Ginkgo matches it
           (the id's first `::` is that space, Ginkgo's JUnit classname being the suite; [tags]
           around and between words are allowed):
           ginkgo --skip=\"$(coalmine quarantine export --for ginkgo)\"
  go       a go test -skip regex, each subtest level anchored (the id after its last `::`, the
           package): go test -skip \"$(coalmine quarantine export --for go)\" ./...
  regex    ^(?:ID|...)$ with each full test id escaped

Regexes escape \\.+*?()|[]{}^$ (RE2, Rust, Python and PCRE read them alike). Without quarantined
tests, nextest gets all(), pytest nothing, and the regexes [^\\s\\S], which matches nothing.
An entry whose name is empty for the runner (a blank test, or nothing after its `::`), or an
id without `::` for pytest, could skip more than that test: it is refused with its line in
harness.toml, nothing is printed, exit code 1.";

/// `coalmine quarantine plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// How to print it: aligned tables, Markdown (the pull-request description, grouped by
    /// owner) or JSON (the whole plan).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The instant the plan is computed for (runs after it are ignored), for reproducible
    /// output: RFC 3339 or a day [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<Timestamp>,
    #[command(flatten)]
    pub store: Store,
}

/// `coalmine quarantine explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The test, by its id in the history (bracket tags and `[QUARANTINE]` in it are ignored).
    #[arg(value_name = "TEST")]
    pub test: String,
    /// How to print it: text, or JSON (`md` prints the text).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The instant to explain the plan of (runs after it are ignored): RFC 3339 or a day
    /// [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<Timestamp>,
    #[command(flatten)]
    pub store: Store,
}

/// `coalmine quarantine fixed`.
#[derive(Debug, Clone, Args)]
pub struct FixedArgs {
    /// The test, by its id in the history (bracket tags in it are ignored).
    #[arg(value_name = "TEST")]
    pub test: String,
    /// The commit with the fix.
    #[arg(long, value_name = "SHA")]
    pub commit: String,
    /// When the fix landed; runs from then on (or at the commit) count towards it: RFC 3339 or
    /// a day [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<Timestamp>,
    #[command(flatten)]
    pub store: Store,
}

/// Runs a `quarantine` subcommand; returns the exit code.
pub fn run(command: &QuarantineCommand) -> u8 {
    match command {
        QuarantineCommand::Plan(args) => exit_code(plan(args)),
        QuarantineCommand::Apply(args) => apply::run(args),
        QuarantineCommand::Export(args) => export::run(args),
        QuarantineCommand::Explain(args) => exit_code(explain(args)),
        QuarantineCommand::Fixed(args) => exit_code(fixed(args)),
    }
}

fn plan(args: &PlanArgs) -> Result<u8, Failure> {
    let (quarantine, _, history) = args.store.for_reading()?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    let plan = analysis::analyse(&history, &quarantine, now)
        .map_err(|error| error.to_string())?
        .plan;
    let text = match args.format {
        Format::Table => plan_text(&plan, &quarantine.policy),
        Format::Md => plan_markdown(&plan),
        Format::Json => {
            serde_json::to_string_pretty(&plan).map_err(|error| error.to_string())? + "\n"
        }
    };
    print!("{text}");
    if plan.blocks_apply() {
        // The plan is printed whole, but a CI step running it must not pass.
        return Err(format!(
            "{} candidate(s) have no owner (listed in the plan): tag them `[sig-...]` or add \
             patterns for them to [owners] in harness.toml; `apply` refuses until then",
            plan.missing_owner.len()
        ));
    }
    Ok(EXIT_OK)
}

/// How many known names a refusal suggests.
const SUGGESTIONS: usize = 5;

fn fixed(args: &FixedArgs) -> Result<u8, Failure> {
    if args.commit.trim().is_empty() {
        return Err("--commit is empty: give the commit with the fix".to_owned());
    }
    let path = args.store.history_path_lazily()?;
    let mut history = open_existing(&path)?;
    let path = history.path().to_path_buf();
    let test = known_test(&history, &path, &args.test)?;
    let at = args.at.unwrap_or_else(Timestamp::now);
    history
        .record_fix(&test, args.commit.trim(), at)
        .map_err(|error| error.to_string())?;
    println!(
        "recorded the fix of {test} at {} ({}): once its executions with the fix pass enough \
         times in a row, it leaves the batch in the grace period",
        args.commit.trim(),
        show_time(at)
    );
    Ok(EXIT_OK)
}

/// The history's id for `given`: as given, or normalised as ingest normalises names; else an
/// error naming the closest known ids.
fn known_test(history: &History, path: &Path, given: &str) -> Result<String, Failure> {
    let tests = history.tests().map_err(|error| error.to_string())?;
    let known = |name: &str| tests.iter().any(|test| test.name == name);
    let (normalised, _) = normalise(given);
    if known(given) {
        return Ok(given.to_owned());
    }
    if known(&normalised) {
        return Ok(normalised);
    }
    let closest = closest_first(&normalised, tests.iter().map(|test| test.name.as_str()));
    let shown: Vec<String> = closest
        .iter()
        .take(SUGGESTIONS)
        .map(|name| format!("  {name}"))
        .collect();
    Err(if shown.is_empty() {
        format!(
            "no test `{given}` in the history {}: it holds no test yet",
            path.display()
        )
    } else {
        format!(
            "no test `{given}` in the history {}; the closest known names:\n{}",
            path.display(),
            shown.join("\n")
        )
    })
}

fn explain(args: &ExplainArgs) -> Result<u8, Failure> {
    let (quarantine, path, history) = args.store.for_reading()?;
    let test = known_test(&history, &path, &args.test)?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    let explanation = analysis::explain(&history, &quarantine, now, &test)
        .map_err(|error| error.to_string())?
        .explanation
        .ok_or_else(|| {
            format!("`{test}` could not be explained: the history has too many tests")
        })?;
    let text = match args.format {
        Format::Table | Format::Md => explanation.text(&quarantine.policy),
        Format::Json => {
            serde_json::to_string_pretty(&explanation).map_err(|error| error.to_string())? + "\n"
        }
    };
    print!("{text}");
    Ok(EXIT_OK)
}
