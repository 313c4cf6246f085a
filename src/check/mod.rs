//! Semantic checks on a recipe CI run: the exit code, tier statuses, flags, named tests in named
//! stages, output patterns and custom closures. A check is data (so it can be printed, stored in
//! `canary.json` and, later, mutated against to prove it has teeth); [`Check::evaluate`] turns it
//! and a [`CiRun`] into a [`CheckOutcome`] that says what was expected and what was found.
//!
//! The functions re-exported here ([`tier`], [`stage`], [`flag`], ...) are the vocabulary of
//! [`canary!`](macro@crate::canary)'s `checks: [...]`.

mod dsl;
mod eval;
mod select;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use dsl::{
    FlagCheck, StageRef, StageTestRef, TierRef, custom, exit_code, flag, no_tier_failed,
    output_matches, stage, stderr_matches, stdout_matches, tier,
};
pub use eval::{CheckOutcome, verdict};
pub use select::{IdentityField, TestQualifier, by_test, same_test};

use crate::results::RunResults;
pub use crate::results::TierStatus;
pub use crate::results::TierStatus::{Fail, Pass, Skip, Unver};

/// The verdict a canary expects from the recipe CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// The CI must exit 0 and report no failed tier: a known-good target.
    Green,
    /// The CI must exit non-zero: a known-bad target. A zero exit is a *false green*.
    Red,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Green => "GREEN",
            Expect::Red => "RED",
        })
    }
}

/// How the recipe CI process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl Exit {
    /// Whether the process exited with code 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit code {code}"),
            Exit::Signal(signal) => {
                write!(f, "killed by signal {signal} ({})", signal_name(*signal))
            }
        }
    }
}

/// The conventional name of a Unix signal number.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => "unknown signal",
    }
}

/// What a check sees of one recipe CI run.
#[derive(Debug, Clone, Copy)]
pub struct CiRun<'a> {
    /// How the CI ended.
    pub exit: Exit,
    /// The parsed results, when the CI wrote readable ones.
    pub results: Option<&'a RunResults>,
    /// The captured standard output.
    pub stdout_log: &'a Path,
    /// The captured standard error.
    pub stderr_log: &'a Path,
    /// The run's artifact folder.
    pub artifacts: &'a Path,
}

/// Which captured stream an output check searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output only.
    Stdout,
    /// Standard error only.
    Stderr,
    /// Either stream.
    Either,
}

/// What a named test in a stage must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestExpectation {
    /// Present, whatever its outcome.
    Present,
    /// Present and passed (pass or flaky-pass), every time it is reported.
    Passed,
    /// Present and failed (fail or error), at least one of the times it is reported.
    Failed,
}

impl TestExpectation {
    /// The name of the check method that asks for it (`present`, `passed`, `failed`).
    pub fn method(self) -> &'static str {
        match self {
            TestExpectation::Present => "present",
            TestExpectation::Passed => "passed",
            TestExpectation::Failed => "failed",
        }
    }
}

/// A custom check: returns `Err(explanation)` when the run does not satisfy it.
pub type CustomFn = dyn Fn(&CiRun<'_>) -> Result<(), String> + Send + Sync;

/// One semantic assertion on a recipe CI run. Build checks with [`tier`], [`stage`], [`flag`],
/// [`exit_code`], [`no_tier_failed`], [`output_matches`] and [`custom`].
#[derive(Clone)]
pub enum Check {
    /// The CI exited with this code.
    ExitCode(i32),
    /// A tier has this status.
    Tier {
        /// The tier.
        tier: String,
        /// The status it must have.
        status: TierStatus,
    },
    /// No tier has status `fail`.
    NoTierFailed,
    /// A flag has this value.
    Flag {
        /// The flag.
        flag: String,
        /// The value it must have.
        value: bool,
    },
    /// A named test in a named stage is present / passed / failed. A name reported more than
    /// once is judged over every report it names: passed when every one passed, failed when
    /// one failed, and, when the reports are of distinct tests, only when that holds for each.
    StageTest {
        /// The stage.
        stage: String,
        /// The test.
        test: String,
        /// Which of the tests with that name it means (empty: all of them).
        qualifier: TestQualifier,
        /// What the test must be.
        expect: TestExpectation,
    },
    /// A line of the captured output matches a regular expression.
    Output {
        /// Which stream.
        stream: Stream,
        /// The pattern as written.
        pattern: String,
        /// The compiled pattern, or why it does not compile.
        regex: Result<regex::Regex, regex::Error>,
    },
    /// A closure over the run.
    Custom {
        /// A short name shown in reports.
        name: String,
        /// The check itself.
        check: Arc<CustomFn>,
    },
}

impl Check {
    /// Problems that make the check unusable (a regex that does not compile, an empty name).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Check::Output {
                pattern,
                regex: Err(error),
                ..
            } => Err(format!(
                "check `{self}`: the regex {pattern:?} does not compile: {error}"
            )),
            Check::Tier { tier: name, .. } | Check::Flag { flag: name, .. } if name.is_empty() => {
                Err(format!("check `{self}` names nothing: give it a name"))
            }
            Check::StageTest { stage, test, .. } if stage.is_empty() || test.is_empty() => {
                Err(format!("check `{self}` needs both a stage and a test name"))
            }
            Check::StageTest { qualifier, .. }
                if qualifier.pairs().iter().any(|(_, value)| value.is_empty()) =>
            {
                Err(format!(
                    "check `{self}` names a test by an empty value: give the value, or leave the call out"
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether the check reads the results file (as opposed to the exit code or the logs).
    pub fn reads_results(&self) -> bool {
        matches!(
            self,
            Check::Tier { .. } | Check::NoTierFailed | Check::Flag { .. } | Check::StageTest { .. }
        )
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::ExitCode(code) => write!(f, "exit_code({code})"),
            Check::Tier { tier, status } => {
                let status = match status {
                    TierStatus::Pass => "Pass",
                    TierStatus::Fail => "Fail",
                    TierStatus::Skip => "Skip",
                    TierStatus::Unver => "Unver",
                };
                write!(f, "tier({tier:?}).is({status})")
            }
            Check::NoTierFailed => f.write_str("no_tier_failed()"),
            Check::Flag { flag, value: true } => write!(f, "flag({flag:?})"),
            Check::Flag { flag, value: false } => write!(f, "flag({flag:?}).is(false)"),
            Check::StageTest {
                stage,
                test,
                qualifier,
                expect,
            } => write!(
                f,
                "stage({stage:?}).test({test:?}){qualifier}.{}()",
                expect.method()
            ),
            Check::Output {
                stream, pattern, ..
            } => {
                let function = match stream {
                    Stream::Stdout => "stdout_matches",
                    Stream::Stderr => "stderr_matches",
                    Stream::Either => "output_matches",
                };
                write!(f, "{function}({pattern:?})")
            }
            Check::Custom { name, .. } => write!(f, "custom({name:?})"),
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
