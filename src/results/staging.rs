//! Grouping tests into stages, so that checks such as `stage("install").test("x").passed()`
//! work whatever format the CI writes: by the innermost suite (the default), the classname,
//! the file, or a regex capture over one of those. Tier statuses follow from the stages: a
//! stage with a failed test failed, else one with a passed test passed, else it was skipped.

use super::model::{Outcome, RunResults, Stage, TestCase, TierStatus};

/// Which part of a test's identity names its stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageField {
    /// The innermost enclosing suite (JUnit testsuite, TAP subtest, Go package, ...).
    Suite,
    /// The outermost enclosing suite.
    Root,
    /// The class or module.
    Classname,
    /// The source file.
    File,
}

/// How tests are grouped into stages (`[ci] stages`).
#[derive(Debug, Clone)]
pub enum Staging {
    /// The innermost suite, else the classname, else the file, else the fallback name.
    Default,
    /// One field of the identity (tests without it go to the fallback stage).
    Field(StageField),
    /// The first capture group of a regex matched against a field (tests it does not match go
    /// to the fallback stage).
    Pattern {
        /// The field matched.
        field: StageField,
        /// The regex, with one capture group.
        regex: regex::Regex,
    },
}

fn field(test: &TestCase, field: StageField) -> Option<&str> {
    match field {
        StageField::Suite => test.suite.last().map(String::as_str),
        StageField::Root => test.suite.first().map(String::as_str),
        StageField::Classname => test.classname.as_deref(),
        StageField::File => test.file.as_deref(),
    }
    .filter(|value| !value.is_empty())
}

impl Staging {
    /// The stage of one test; `fallback` when the rule finds none.
    pub fn stage_of<'a>(&self, test: &'a TestCase, fallback: &'a str) -> &'a str {
        match self {
            Staging::Default => field(test, StageField::Suite)
                .or_else(|| field(test, StageField::Classname))
                .or_else(|| field(test, StageField::File))
                .unwrap_or(fallback),
            Staging::Field(which) => field(test, *which).unwrap_or(fallback),
            Staging::Pattern {
                field: which,
                regex,
            } => field(test, *which)
                .and_then(|value| regex.captures(value))
                .and_then(|captures| captures.get(1))
                .map_or(fallback, |capture| capture.as_str()),
        }
    }
}

/// Groups tests into stages (in order of first appearance) and derives tier statuses.
pub fn group(tests: Vec<(TestCase, String)>, staging: &Staging) -> RunResults {
    let mut results = RunResults::default();
    for (test, fallback) in tests {
        let stage = staging.stage_of(&test, &fallback).to_owned();
        match results.stages.iter_mut().find(|found| found.name == stage) {
            Some(found) => found.tests.push(test),
            None => results.stages.push(Stage {
                name: stage,
                tests: vec![test],
            }),
        }
    }
    results.tiers = results
        .stages
        .iter()
        .map(|stage| (stage.name.clone(), tier_status(&stage.tests)))
        .collect();
    results
}

/// A stage failed when a test failed (or passed against an expected failure, an xpass),
/// passed when a test passed, else it was skipped.
fn tier_status(tests: &[TestCase]) -> TierStatus {
    if tests
        .iter()
        .any(|test| test.outcome.is_failure() || test.outcome == Outcome::Xpass)
    {
        TierStatus::Fail
    } else if tests
        .iter()
        .any(|test| test.outcome.is_pass() || test.outcome == Outcome::Xfail)
    {
        TierStatus::Pass
    } else {
        TierStatus::Skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(
        name: &str,
        outcome: Outcome,
        suite: &[&str],
        classname: Option<&str>,
    ) -> (TestCase, String) {
        let mut case = TestCase::new(name, outcome, outcome.as_str());
        case.suite = suite.iter().map(|s| (*s).to_owned()).collect();
        case.classname = classname.map(str::to_owned);
        (case, "junit".to_owned())
    }

    #[test]
    fn default_staging_uses_the_innermost_suite() {
        let results = group(
            vec![
                test("test_serving", Outcome::Pass, &["all", "install"], None),
                test("test_upgrade", Outcome::Fail, &["all", "upgrade"], None),
                test("test_backup", Outcome::Skip, &["all", "backup"], None),
                test("lonely", Outcome::Pass, &[], Some("tests.custom")),
                test("nameless", Outcome::Pass, &[], None),
            ],
            &Staging::Default,
        );
        let tiers: Vec<(&str, TierStatus)> = results
            .tiers
            .iter()
            .map(|(t, s)| (t.as_str(), *s))
            .collect();
        assert_eq!(
            tiers,
            [
                ("install", TierStatus::Pass),
                ("upgrade", TierStatus::Fail),
                ("backup", TierStatus::Skip),
                ("tests.custom", TierStatus::Pass),
                ("junit", TierStatus::Pass),
            ]
        );
        assert_eq!(
            results.stage("install").unwrap().tests[0].name,
            "test_serving"
        );
    }

    #[test]
    fn a_regex_capture_names_the_stage() {
        let staging = Staging::Pattern {
            field: StageField::Classname,
            regex: regex::Regex::new(r"^tests\.test_(\w+)$").unwrap(),
        };
        let results = group(
            vec![
                test("a", Outcome::Pass, &[], Some("tests.test_install")),
                test("b", Outcome::Error, &[], Some("tests.test_custom")),
                test("c", Outcome::Pass, &[], Some("other")),
            ],
            &staging,
        );
        let names: Vec<&str> = results
            .stages
            .iter()
            .map(|stage| stage.name.as_str())
            .collect();
        assert_eq!(names, ["install", "custom", "junit"]);
        assert_eq!(results.tier("custom"), Some(TierStatus::Fail));
    }

    #[test]
    fn xfail_passes_and_xpass_fails_a_stage() {
        let results = group(
            vec![test("a", Outcome::Xfail, &["s"], None)],
            &Staging::Default,
        );
        assert_eq!(results.tier("s"), Some(TierStatus::Pass));
        let results = group(
            vec![test("a", Outcome::Xpass, &["s"], None)],
            &Staging::Default,
        );
        assert_eq!(results.tier("s"), Some(TierStatus::Fail));
    }
}
