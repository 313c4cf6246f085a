//! The harness's command line: libtest's flags (so `cargo test`, nextest and IDEs can drive it)
//! plus what libtest-mimic lacks: several positional filters, the first of which may name a kind
//! of trial (`canary`).

use std::ffi::OsString;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Output format of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per trial.
    Pretty,
    /// One character per trial.
    Terse,
    /// libtest-style JSON events.
    Json,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// When standard output is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The parsed command line.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "regression",
    about = "Runs coalmine canaries: each spawns the recipe CI and checks its verdict and results.",
    override_usage = "<test-binary> [OPTIONS] [KIND] [FILTERS]...",
    after_help = "Examples:\n  \
        cargo test --test regression -- canary good-simple   run the canary good-simple\n  \
        cargo test --test regression -- canary               run every canary\n  \
        cargo test --test regression -- good-simple bad-install  run two canaries\n  \
        cargo test --test regression -- --list                list the trials\n\n\
        The first positional argument selects a kind of trial when it names one (canary);\n\
        the others are name filters, OR-ed, matched as substrings (whole names with --exact).\n\
        Configuration comes from harness.toml, found upwards from the working directory or\n\
        named by COALMINE_CONFIG.",
    disable_version_flag = true
)]
pub struct Args {
    /// A kind of trial (`canary`) and/or name filters.
    #[arg(value_name = "FILTERS")]
    pub filters: Vec<String>,
    /// Match filters against whole names instead of substrings.
    #[arg(long)]
    pub exact: bool,
    /// Skip trials whose names contain FILTER (repeatable).
    #[arg(long, value_name = "FILTER")]
    pub skip: Vec<String>,
    /// List the trials instead of running them.
    #[arg(long)]
    pub list: bool,
    /// Run only ignored (quarantined) trials.
    #[arg(long)]
    pub ignored: bool,
    /// Run ignored (quarantined) trials too.
    #[arg(long)]
    pub include_ignored: bool,
    /// How many trials run at once (default: `[run] max_parallel` in harness.toml).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub test_threads: Option<u32>,
    /// Try a failed canary again up to N times (overrides `retries` in harness.toml and in
    /// the canary); a canary that passes on a retry is FLAKY.
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Write a JUnit report of the run to PATH (overrides `[report] junit`).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, value_name = "pretty|terse|json")]
    pub format: Option<Format>,
    /// One character per trial (same as --format terse).
    #[arg(short, long)]
    pub quiet: bool,
    /// Colour the output.
    #[arg(long, value_enum, value_name = "auto|always|never")]
    pub color: Option<Color>,
    /// Accepted for libtest compatibility: the recipe CI's output always goes to its log files.
    #[arg(long, alias = "no-capture")]
    pub nocapture: bool,
    /// Also print what passing trials found (the teeth of each check).
    #[arg(long)]
    pub show_output: bool,
    /// Write the run's output to PATH instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub logfile: Option<String>,
    /// Accepted for libtest compatibility (unstable options).
    #[arg(short = 'Z', value_name = "FLAG", hide = true)]
    pub unstable: Vec<String>,
    /// Accepted for libtest compatibility: run tests (the default).
    #[arg(long, hide = true)]
    pub test: bool,
    /// Accepted for libtest compatibility: canaries are not benchmarks, so nothing runs.
    #[arg(long, hide = true)]
    pub bench: bool,
    /// Accepted for libtest compatibility.
    #[arg(long, hide = true)]
    pub report_time: bool,
    /// Accepted for libtest compatibility.
    #[arg(long, hide = true)]
    pub ensure_time: bool,
    /// Accepted for libtest compatibility.
    #[arg(long, hide = true)]
    pub force_run_in_process: bool,
    /// Accepted for libtest compatibility.
    #[arg(long, hide = true, value_name = "SEED")]
    pub shuffle_seed: Option<u64>,
    /// Accepted for libtest compatibility.
    #[arg(long, hide = true)]
    pub shuffle: bool,
}

/// What the command line asks for, or a message to print and the exit code to end with.
#[derive(Debug)]
pub enum Parsed {
    /// Run or list.
    Args(Args),
    /// Print this to standard output and exit 0 (`--help`).
    Help(String),
    /// Print this to standard error and exit with libtest's failure code.
    Error(String),
}

/// Parses the command line (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Parsed {
    let argv = std::iter::once(OsString::from("regression")).chain(args);
    match Args::try_parse_from(argv) {
        Ok(args) => Parsed::Args(args),
        Err(error) => match error.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                Parsed::Help(error.render().to_string())
            }
            ErrorKind::UnknownArgument => {
                let argument = match error.get(ContextKind::InvalidArg) {
                    Some(ContextValue::String(argument)) => argument.clone(),
                    _ => String::from("?"),
                };
                // libtest's wording, so tools that drive test binaries recognise it.
                Parsed::Error(format!(
                    "error: Unrecognized option: '{}'\nhelp: run with --help to see the options",
                    argument.trim_start_matches('-')
                ))
            }
            _ => Parsed::Error(error.render().to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Args {
        match parse(line.split_whitespace().map(OsString::from)) {
            Parsed::Args(args) => args,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn libtest_flags_are_accepted() {
        let parsed = args(
            "canary good-simple bad --exact --skip x --skip y --test-threads 3 --format json --color never --nocapture --show-output -Z unstable-options --include-ignored",
        );
        assert_eq!(parsed.filters, ["canary", "good-simple", "bad"]);
        assert!(parsed.exact);
        assert_eq!(parsed.skip, ["x", "y"]);
        assert_eq!(parsed.test_threads, Some(3));
        assert_eq!(parsed.format, Some(Format::Json));
        assert_eq!(parsed.color, Some(Color::Never));
        assert!(parsed.include_ignored && parsed.nocapture && parsed.show_output);
        assert!(args("--no-capture").nocapture);
        let list = args("--list --format terse --ignored");
        assert!(list.list && list.ignored);
        assert_eq!(list.format, Some(Format::Terse));
        assert!(args("-q").quiet);
    }

    #[test]
    fn unknown_flags_get_libtest_wording() {
        match parse(["--frobnicate".into()]) {
            Parsed::Error(message) => assert!(
                message.starts_with("error: Unrecognized option: 'frobnicate'"),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
        match parse(["--test-threads".into(), "0".into()]) {
            Parsed::Error(message) => assert!(message.contains("--test-threads"), "{message}"),
            other => panic!("{other:?}"),
        }
        match parse(["--format".into(), "xml".into()]) {
            Parsed::Error(message) => assert!(message.contains("pretty"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse(["--help".into()]), Parsed::Help(text) if text.contains("canary good-simple"))
        );
    }
}
