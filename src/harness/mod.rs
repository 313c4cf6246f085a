//! The harness: turns canaries into libtest-mimic trials named `canary::<name>`, applies the
//! command line's kind and name filters, and runs the selected trials.
//!
//! It is careful about what it does when: `--list` and the `--exact NAME` that nextest issues once
//! per test touch only names (no config is read, no canary is built); a run reads harness.toml
//! once and builds only the selected canaries.

pub mod args;
mod select;
mod trials;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::canary::{Canary, SourceLocation};
use crate::config::Config;
use crate::registry::{self, Registration};
use args::{Args, Parsed};
pub use select::{CANARY, KINDS, Selection, TEETH};

/// libtest's exit code for failed tests and for a harness that cannot start.
pub const EXIT_FAILED: u8 = 101;

/// Where a canary comes from: a `canary!` registration (built only when selected to run) or a
/// canary built by code.
#[derive(Debug, Clone)]
enum Source {
    Registered(&'static Registration),
    Built(Arc<Canary>),
}

/// One canary known to the harness.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: String,
    location: SourceLocation,
    source: Source,
}

impl Entry {
    fn build(&self) -> Arc<Canary> {
        match &self.source {
            Source::Registered(registration) => Arc::new((registration.build)()),
            Source::Built(canary) => Arc::clone(canary),
        }
    }
}

/// The canary harness: collect canaries, then [`run`](Harness::run) them according to the
/// command line.
///
/// ```no_run
/// use coalmine::{Canary, Expect, Harness, check::*};
///
/// fn main() -> std::process::ExitCode {
///     let canaries = ["a", "b"].map(|rev| {
///         Canary::new(format!("matrix-{rev}"))
///             .recipe("custom-html")
///             .rev(rev)
///             .expect(Expect::Green)
///             .check(no_tier_failed())
///     });
///     Harness::registered().canaries(canaries).run()
/// }
/// ```
#[derive(Debug, Default)]
pub struct Harness {
    entries: Vec<Entry>,
    args: Option<Vec<OsString>>,
    config: Option<PathBuf>,
}

impl Harness {
    /// A harness with no canaries.
    pub fn new() -> Self {
        Harness::default()
    }

    /// A harness with every canary registered by [`canary!`](macro@crate::canary).
    pub fn registered() -> Self {
        Harness::new().with_registered()
    }

    /// Adds every canary registered by [`canary!`](macro@crate::canary).
    pub fn with_registered(mut self) -> Self {
        self.entries
            .extend(registry::registered().map(|registration| Entry {
                name: registration.name.to_owned(),
                location: registration.location,
                source: Source::Registered(registration),
            }));
        self
    }

    /// Adds a canary built by code.
    pub fn canary(mut self, canary: Canary) -> Self {
        self.entries.push(Entry {
            name: canary.name().to_owned(),
            location: canary.location(),
            source: Source::Built(Arc::new(canary)),
        });
        self
    }

    /// Adds canaries built by code.
    pub fn canaries(self, canaries: impl IntoIterator<Item = Canary>) -> Self {
        canaries.into_iter().fold(self, Harness::canary)
    }

    /// Uses these arguments instead of the process's (without the program name).
    pub fn args<I, T>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Uses this harness.toml instead of searching for one.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config = Some(path.into());
        self
    }

    /// Every problem with the declared canaries, without running anything: invalid or
    /// duplicate names (naming both declarations) and invalid declarations, each with its file,
    /// line and column. Empty when all is well.
    pub fn declaration_problems(mut self) -> Vec<String> {
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        if let Err(problems) = check_names(&self.entries) {
            return problems.lines().map(str::to_owned).collect();
        }
        let everything: Vec<(&str, usize)> = (0..self.entries.len())
            .map(|index| (CANARY, index))
            .collect();
        match self.build_selected(&everything) {
            Ok(_) => Vec::new(),
            Err(problems) => vec![problems],
        }
    }

    /// Parses the command line, then lists or runs the selected canaries. Returns 0 when
    /// everything selected passed, 101 (libtest's code) when a trial failed or the harness could
    /// not start, with the reason on standard error.
    pub fn run(self) -> ExitCode {
        let argv = self
            .args
            .clone()
            .unwrap_or_else(|| std::env::args_os().skip(1).collect());
        let args = match args::parse(argv) {
            Parsed::Args(args) => args,
            Parsed::Help(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Parsed::Error(message) => {
                eprintln!("{message}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        match self.run_with(&args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(EXIT_FAILED)
            }
        }
    }

    fn run_with(mut self, args: &Args) -> Result<ExitCode, String> {
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        check_names(&self.entries)?;
        let selection = Selection::from_args(args);
        // Trials in sorted order: every canary:: trial, then every teeth:: trial.
        let selected: Vec<(&'static str, usize)> = KINDS
            .iter()
            .flat_map(|kind| (0..self.entries.len()).map(move |index| (*kind, index)))
            .filter(|(kind, index)| selection.matches_trial(kind, &self.entries[*index].name))
            .collect();
        let filtered_out = self.entries.len() * KINDS.len() - selected.len();
        if args.list {
            let trials = selected
                .iter()
                .map(|(kind, index)| {
                    libtest_mimic::Trial::test(
                        trials::name(kind, &self.entries[*index].name),
                        || Ok(()),
                    )
                })
                .collect();
            let _ = libtest_mimic::run(&mimic_args(args, None), trials);
            return Ok(ExitCode::SUCCESS);
        }
        if args.bench {
            // Canaries are not benchmarks: `cargo bench` runs nothing here, like libtest would.
            return Ok(ExitCode::SUCCESS);
        }
        let config = Arc::new(self.load_config()?);
        let canaries = self.build_selected(&selected)?;
        crate::ci::interrupt::install()?;
        let trials = selected
            .iter()
            .map(|(kind, index)| {
                let canary = Arc::clone(&canaries[index]);
                if *kind == TEETH {
                    trials::teeth(canary, Arc::clone(&config), args.show_output)
                } else {
                    trials::canary(canary, Arc::clone(&config), args.retries)
                }
            })
            .collect();
        let threads = args
            .test_threads
            .map_or(config.run.max_parallel, |n| n as usize);
        let conclusion = libtest_mimic::run(&mimic_args(args, Some(threads)), trials);
        if filtered_out > 0 && !matches!(args.format, Some(args::Format::Json)) {
            // libtest-mimic counts only what it filtered itself; say what the selection dropped.
            let _ = writeln!(
                std::io::stdout(),
                "({filtered_out} trial(s) not selected by the filters)"
            );
        }
        if let Some(signal) = crate::ci::interrupt::received() {
            // Interrupted: never a success, whatever finished; 128 + signal, as shells report it.
            return Ok(ExitCode::from(128 + u8::try_from(signal).unwrap_or(0)));
        }
        Ok(conclusion.exit_code())
    }

    /// Builds and validates the canaries the selected trials need, each once. Any invalid
    /// declaration stops the run before anything starts.
    fn build_selected(
        &self,
        selected: &[(&str, usize)],
    ) -> Result<BTreeMap<usize, Arc<Canary>>, String> {
        let mut canaries = BTreeMap::new();
        let mut problems = Vec::new();
        for (_, index) in selected {
            if canaries.contains_key(index) {
                continue;
            }
            let entry = &self.entries[*index];
            let canary = entry.build();
            match canary.validate() {
                Ok(_) if canary.name() != entry.name => problems.push(format!(
                    "canary registered as `{}` at {} builds a canary named `{}`",
                    entry.name,
                    entry.location,
                    canary.name()
                )),
                Ok(_) => {}
                Err(error) => problems.push(error.to_string()),
            }
            canaries.insert(*index, canary);
        }
        if problems.is_empty() {
            Ok(canaries)
        } else {
            Err(problems.join("\n"))
        }
    }

    fn load_config(&self) -> Result<Config, String> {
        let loaded = match &self.config {
            Some(path) => Config::load(path),
            None => {
                let cwd = std::env::current_dir()
                    .map_err(|error| format!("cannot read the working directory: {error}"))?;
                Config::discover(&cwd)
            }
        };
        loaded.map_err(|error| error.to_string())
    }
}

/// Runs every canary registered with [`canary!`](macro@crate::canary), as the test binary's `main`.
pub fn run() -> ExitCode {
    Harness::registered().run()
}

/// Refuses invalid and duplicate names, naming both declarations of a duplicate. Expects the
/// entries sorted by name.
fn check_names(entries: &[Entry]) -> Result<(), String> {
    let mut problems = Vec::new();
    for entry in entries {
        if let Err(problem) = crate::canary::validate_name(&entry.name) {
            problems.push(format!(
                "invalid canary declared at {}: {problem}",
                entry.location
            ));
        }
    }
    for pair in entries.windows(2) {
        if pair[0].name == pair[1].name {
            problems.push(format!(
                "duplicate canary name `{}`: declared at {} and at {}; rename one of them",
                pair[0].name, pair[0].location, pair[1].location
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn mimic_args(args: &Args, threads: Option<usize>) -> libtest_mimic::Arguments {
    libtest_mimic::Arguments {
        include_ignored: args.include_ignored,
        ignored: args.ignored,
        list: args.list,
        nocapture: args.nocapture,
        show_output: args.show_output,
        quiet: args.quiet,
        test_threads: threads,
        logfile: args.logfile.clone(),
        color: args.color.map(|color| match color {
            args::Color::Auto => libtest_mimic::ColorSetting::Auto,
            args::Color::Always => libtest_mimic::ColorSetting::Always,
            args::Color::Never => libtest_mimic::ColorSetting::Never,
        }),
        format: if args.quiet {
            None
        } else {
            args.format.map(|format| match format {
                args::Format::Pretty => libtest_mimic::FormatSetting::Pretty,
                args::Format::Terse => libtest_mimic::FormatSetting::Terse,
                args::Format::Json => libtest_mimic::FormatSetting::Json,
            })
        },
        ..libtest_mimic::Arguments::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Expect;

    fn entries(canaries: Vec<Canary>) -> Vec<Entry> {
        let mut harness = Harness::new().canaries(canaries);
        harness.entries.sort_by(|a, b| a.name.cmp(&b.name));
        harness.entries
    }

    fn canary(name: &str) -> Canary {
        Canary::new(name).recipe("r").rev("1").expect(Expect::Green)
    }

    #[test]
    fn duplicates_name_both_declarations() {
        let first = canary("same");
        let second = canary("same");
        let error = check_names(&entries(vec![
            first.clone(),
            second.clone(),
            canary("other"),
        ]))
        .unwrap_err();
        assert_eq!(
            error,
            format!(
                "duplicate canary name `same`: declared at {} and at {}; rename one of them",
                first.location(),
                second.location()
            )
        );
        assert!(check_names(&entries(vec![canary("a"), canary("b")])).is_ok());
    }

    #[test]
    fn invalid_names_stop_the_harness() {
        let error = check_names(&entries(vec![canary("Bad Name")])).unwrap_err();
        assert!(
            error.starts_with("invalid canary declared at src/harness/mod.rs:"),
            "{error}"
        );
        let code = Harness::new()
            .canary(canary("Bad Name"))
            .args(["--list"])
            .run();
        assert_eq!(code, ExitCode::from(EXIT_FAILED));
        let code = Harness::new()
            .canaries([canary("a"), canary("a")])
            .args(["--list"])
            .run();
        assert_eq!(code, ExitCode::from(EXIT_FAILED));
        let code = Harness::new()
            .canaries([canary("a"), canary("b")])
            .args(["--list"])
            .run();
        assert_eq!(code, ExitCode::SUCCESS);
    }

    #[test]
    fn invalid_declarations_stop_a_run_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("harness.toml");
        std::fs::write(
            &config,
            "[ci]\ncommand = [\"false\"]\nresults = \"{artifacts}/r.json\"\n[run]\nartifacts = \"runs\"\n",
        )
        .unwrap();
        let incomplete = Canary::new("incomplete");
        let code = Harness::new()
            .canary(incomplete)
            .config_file(&config)
            .args(["canary"])
            .run();
        assert_eq!(code, ExitCode::from(EXIT_FAILED));
        assert!(
            !dir.path().join("runs").exists(),
            "nothing may run when a declaration is invalid"
        );
    }
}
