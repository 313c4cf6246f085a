//! The JUnit report of a run (`--junit PATH`, `[report] junit`), written with quick-junit: one
//! testsuite per kind of trial, one testcase per trial, the checks in the failure message, the
//! artifact folder as a property, and a canary's earlier failed tries as `flakyFailure` (when it
//! passed in the end) or `rerunFailure` (when it did not).

use std::path::Path;
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::trials::{Attempt, TrialOutcome, TrialStatus};

fn rerun(attempt: &Attempt) -> TestRerun {
    let mut rerun = TestRerun::new(NonSuccessKind::Failure);
    rerun
        .set_message(attempt.headline.as_str())
        .set_description(attempt.report.as_str())
        .set_time(attempt.duration);
    rerun
}

fn test_case(outcome: &TrialOutcome) -> TestCase {
    let (failed_tries, last) = match outcome.attempts.split_last() {
        Some((last, earlier)) => (earlier, Some(last)),
        None => (&[][..], None),
    };
    let status = match outcome.status {
        TrialStatus::Passed => TestCaseStatus::Success {
            flaky_runs: failed_tries.iter().map(rerun).collect(),
        },
        TrialStatus::Ignored => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(outcome.message.clone().unwrap_or_default());
            status
        }
        TrialStatus::Failed => {
            let message = outcome.message.clone().unwrap_or_default();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(message.lines().next().unwrap_or("failed"))
                .set_description(message.as_str())
                .add_reruns(failed_tries.iter().map(rerun));
            status
        }
    };
    let mut case = TestCase::new(outcome.name.as_str(), status);
    case.set_classname(outcome.kind).set_time(outcome.duration);
    if let Some(last) = last {
        case.add_property(Property::new(
            "artifacts",
            last.artifacts.display().to_string(),
        ));
        case.add_property(Property::new(
            "attempts",
            outcome.attempts.len().to_string(),
        ));
    }
    case
}

/// Writes the report of these outcomes (sorted by name) to `path`, atomically.
pub fn write(path: &Path, outcomes: &[TrialOutcome], elapsed: Duration) -> Result<(), String> {
    let mut outcomes: Vec<&TrialOutcome> = outcomes.iter().collect();
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut report = Report::new("coalmine");
    report.set_time(elapsed);
    for kind in super::KINDS {
        let cases: Vec<TestCase> = outcomes
            .iter()
            .filter(|o| o.kind == *kind)
            .map(|o| test_case(o))
            .collect();
        if cases.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(*kind);
        suite.add_test_cases(cases);
        report.add_test_suite(suite);
    }
    let text = report
        .to_string()
        .map_err(|error| format!("cannot write the JUnit report: {error}"))?;
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)
            .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    }
    let temporary = path.with_extension("xml.tmp");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| format!("cannot write the JUnit report {}: {error}", path.display()))
}
