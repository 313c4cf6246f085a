//! The normalised model of what a recipe CI reported: tier statuses, flags, and stages holding
//! named tests with outcomes. Every result format adapter produces a [`RunResults`]; checks,
//! reports and the history read only this model, never a format.

use std::collections::BTreeMap;
use std::fmt;

/// The status of one tier (install, upgrade, backup, restore, custom, ...).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TierStatus {
    /// Every test of the tier passed.
    Pass,
    /// At least one test of the tier failed.
    Fail,
    /// The tier does not apply to this target (e.g. no backup support).
    Skip,
    /// The tier was not verified, usually because a tier it depends on failed.
    Unver,
}

impl TierStatus {
    /// Every status, in the order they are documented.
    pub const ALL: [TierStatus; 4] = [
        TierStatus::Pass,
        TierStatus::Fail,
        TierStatus::Skip,
        TierStatus::Unver,
    ];

    /// The canonical spelling (`pass`, `fail`, `skip`, `unver`).
    pub fn as_str(self) -> &'static str {
        match self {
            TierStatus::Pass => "pass",
            TierStatus::Fail => "fail",
            TierStatus::Skip => "skip",
            TierStatus::Unver => "unver",
        }
    }

    /// Parses a status spelled exactly as documented: `pass`, `fail`, `skip` or `unver`. Any
    /// other spelling (`PASS`, `passed`, `ok`) is `None`: a results file that spells a status
    /// some other way is refused rather than guessed at.
    pub fn parse(text: &str) -> Option<TierStatus> {
        TierStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

impl fmt::Display for TierStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one named test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Passed.
    Pass,
    /// An assertion failed.
    Fail,
    /// The test could not run to an assertion (setup error, crash).
    Error,
    /// Skipped on purpose.
    Skip,
    /// Failed, and was expected to.
    Xfail,
    /// Passed although it was expected to fail.
    Xpass,
    /// Passed on a later attempt after failing.
    FlakyPass,
    /// Not run or not verified.
    NotRun,
}

impl Outcome {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skip => "skip",
            Outcome::Xfail => "xfail",
            Outcome::Xpass => "xpass",
            Outcome::FlakyPass => "flaky-pass",
            Outcome::NotRun => "not-run",
        }
    }

    /// Whether the test counts as passed (pass, or pass after retries).
    pub fn is_pass(self) -> bool {
        matches!(self, Outcome::Pass | Outcome::FlakyPass)
    }

    /// Whether the test counts as failed (fail or error).
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Error)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named test, with its identity as the tool reported it, and its outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestCase {
    /// The test's name, e.g. `test_serving`.
    pub name: String,
    /// The normalised outcome.
    pub outcome: Outcome,
    /// The status exactly as the tool wrote it (`failure`, `not ok`, `flakyFailure`, ...).
    pub raw_status: String,
    /// How long it took, in seconds, when the format says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// The failure or skip message, when there is one (bounded in length by the adapters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The suites it is nested in, outermost first (JUnit testsuite names, TAP subtest
    /// parents, a Go package, a Rust test binary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suite: Vec<String>,
    /// The class or module, when the format has one (JUnit `classname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classname: Option<String>,
    /// The source file, when the format has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The parameters or variant, when the format has them (e.g. pytest's `[param]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// How many times it ran: more than 1 when it was retried (flaky or rerun).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

impl TestCase {
    /// A test with a name, an outcome and the raw status, and no other detail.
    pub fn new(
        name: impl Into<String>,
        outcome: Outcome,
        raw_status: impl Into<String>,
    ) -> TestCase {
        TestCase {
            name: name.into(),
            outcome,
            raw_status: raw_status.into(),
            duration_secs: None,
            message: None,
            suite: Vec::new(),
            classname: None,
            file: None,
            variant: None,
            attempts: 1,
        }
    }
}

/// A stage (tier) and the named tests it ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stage {
    /// The stage name, e.g. `install`.
    pub name: String,
    /// Its tests, in the order reported.
    pub tests: Vec<TestCase>,
}

impl Stage {
    /// The first test with this exact name, if present. A name may be reported more than once
    /// (a retry, or distinct tests that share it): checks judge every report of it, see
    /// [`by_test`](crate::check::by_test).
    pub fn test(&self, name: &str) -> Option<&TestCase> {
        self.tests.iter().find(|test| test.name == name)
    }
}

/// Everything a recipe CI reported about one run, in a format-independent shape.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RunResults {
    /// The recipe the CI says it ran, when the format records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
    /// The revision the CI says it ran, when the format records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Tier statuses in the order reported.
    pub tiers: Vec<(String, TierStatus)>,
    /// The level reached, when the format has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
    /// Boolean flags such as `clean_teardown` or `no_secret_leak`.
    pub flags: BTreeMap<String, bool>,
    /// Stages with their named tests, in the order reported.
    pub stages: Vec<Stage>,
}

impl RunResults {
    /// The status of a tier, if reported.
    pub fn tier(&self, name: &str) -> Option<TierStatus> {
        self.tiers
            .iter()
            .find(|(tier, _)| tier == name)
            .map(|(_, status)| *status)
    }

    /// The tiers whose status is `fail`.
    pub fn failed_tiers(&self) -> impl Iterator<Item = &str> {
        self.tiers
            .iter()
            .filter(|(_, status)| *status == TierStatus::Fail)
            .map(|(tier, _)| tier.as_str())
    }

    /// The stage with this exact name, if present.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|stage| stage.name == name)
    }

    /// A flag's value, if reported.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.flags.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_status_spellings() {
        assert_eq!(TierStatus::parse("PASS"), None);
        assert_eq!(TierStatus::parse(" pass"), None);
        assert_eq!(TierStatus::parse("unverified"), None);
        assert_eq!(TierStatus::parse("green"), None);
        for status in TierStatus::ALL {
            assert_eq!(TierStatus::parse(status.as_str()), Some(status));
        }
    }
}
