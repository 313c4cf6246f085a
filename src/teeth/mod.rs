//! Teeth: the proof, offline and in milliseconds, that every check of a canary can fail.
//!
//! Start from a run that satisfies the checks (the canary's last passing run when one is in the
//! artifact folder, else a run synthesised from the checks themselves), apply mutations (remove
//! each named test, flip its outcome, flip each flag, set each tier to fail and to skip, flip
//! the exit code, empty the logs; a test named by a check with its file, classname, suite or
//! variant is removed and flipped as that check names it) and require that every check fails under at least one of
//! them. A check no mutation can fail is *vacuous*: it would pass on a broken target too. A
//! canary whose checks look at nothing but the exit code is refused unless it says so
//! explicitly (`exit_code_only: true`): an exit code alone hides false greens.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::canary::{Expect, ValidCanary};
use crate::check::{Check, CheckOutcome, CiRun, Exit, TestExpectation, TestQualifier, verdict};
use crate::execute::artifacts;
use crate::execute::record::RunRecord;
use crate::results::{Outcome, RunResults, Stage, TestCase, TierStatus};

/// A run the checks are expected to accept, to mutate from.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// How the CI ended.
    pub exit: Exit,
    /// What it reported.
    pub results: RunResults,
    /// Its captured logs, when the baseline is a real run.
    pub logs: Option<(PathBuf, PathBuf)>,
    /// Where the baseline came from, for the report.
    pub source: String,
}

/// One change applied to the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Every report of the named test disappears from its stage.
    RemoveTest {
        /// The stage.
        stage: String,
        /// The test.
        test: String,
        /// Which of the tests with that name (empty: all of them).
        qualifier: TestQualifier,
    },
    /// The outcome of every report of the named test is inverted (a pass becomes a fail,
    /// anything else a pass).
    FlipTest {
        /// The stage.
        stage: String,
        /// The test.
        test: String,
        /// Which of the tests with that name (empty: all of them).
        qualifier: TestQualifier,
    },
    /// The flag's value is inverted (an absent flag becomes `false`).
    FlipFlag(String),
    /// The tier gets this status.
    SetTier(String, TierStatus),
    /// The exit code is inverted: 0 becomes 1, anything else 0.
    FlipExit,
    /// Both logs are empty.
    EmptyLogs,
}

impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mutation::RemoveTest {
                stage,
                test,
                qualifier,
            } => write!(
                f,
                "remove test {test:?}{} from stage {stage:?}",
                qualifier.describe()
            ),
            Mutation::FlipTest {
                stage,
                test,
                qualifier,
            } => write!(
                f,
                "flip the outcome of {test:?}{} in stage {stage:?}",
                qualifier.describe()
            ),
            Mutation::FlipFlag(flag) => write!(f, "flip flag {flag:?}"),
            Mutation::SetTier(tier, status) => write!(f, "set tier {tier:?} to {status}"),
            Mutation::FlipExit => f.write_str("flip the exit code"),
            Mutation::EmptyLogs => f.write_str("empty the logs"),
        }
    }
}

/// What the mutations did to one check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckTeeth {
    /// The check as written.
    pub check: String,
    /// How the check judged the baseline (`None` when it cannot be judged offline: an output
    /// check without logs).
    pub baseline: Option<CheckOutcome>,
    /// The mutations under which the check failed.
    pub killed_by: Vec<String>,
}

impl CheckTeeth {
    /// Whether the check accepted the baseline (or could not be judged on it).
    pub fn accepts_baseline(&self) -> bool {
        self.baseline.as_ref().is_none_or(|outcome| outcome.passed)
    }

    /// Whether no mutation made the check fail.
    pub fn is_vacuous(&self) -> bool {
        self.killed_by.is_empty()
    }
}

/// The teeth of one canary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeethReport {
    /// The canary.
    pub canary: String,
    /// Where the baseline came from.
    pub baseline: String,
    /// How many mutations were applied.
    pub mutations: usize,
    /// Every check, the verdict first.
    pub checks: Vec<CheckTeeth>,
    /// Set when the checks look at nothing but the exit code and the canary did not opt out.
    pub exit_code_only: bool,
}

impl TeethReport {
    /// Whether every check has teeth and the baseline satisfies every check.
    pub fn passed(&self) -> bool {
        !self.exit_code_only
            && self
                .checks
                .iter()
                .all(|check| check.accepts_baseline() && !check.is_vacuous())
    }

    /// The checks that no mutation can fail.
    pub fn vacuous(&self) -> impl Iterator<Item = &CheckTeeth> {
        self.checks.iter().filter(|check| check.is_vacuous())
    }

    /// A report for humans: the problems first, then every check and what killed it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.exit_code_only {
            writeln!(
                out,
                "EXIT CODE ONLY: the checks of `{}` look at nothing but the exit code, which hides false \
                 greens (a tier that \"passed\" by redeploying the old version); add checks on tiers, flags \
                 or named tests, or declare `exit_code_only: true` to accept the risk",
                self.canary
            )
            .ok();
        }
        for check in &self.checks {
            if !check.accepts_baseline() {
                let found = check
                    .baseline
                    .as_ref()
                    .map_or("", |outcome| outcome.found.as_str());
                writeln!(
                    out,
                    "UNSATISFIABLE: `{}` rejects the baseline ({}): {found}; the checks may contradict \
                     each other, or the canary has never passed: run it once so its passing run becomes the baseline",
                    check.check, self.baseline
                )
                .ok();
            }
        }
        for check in self.vacuous() {
            writeln!(
                out,
                "VACUOUS: `{}` passed under every one of the {} mutations: it cannot fail, so it proves nothing",
                check.check, self.mutations
            )
            .ok();
        }
        writeln!(
            out,
            "teeth of `{}`: {} checks, {} mutations, baseline: {}",
            self.canary,
            self.checks.len(),
            self.mutations,
            self.baseline
        )
        .ok();
        for check in &self.checks {
            let mark = if check.accepts_baseline() && !check.is_vacuous() {
                '✓'
            } else {
                '✗'
            };
            writeln!(out, "  {mark} {}", check.check).ok();
            if check.killed_by.is_empty() {
                writeln!(out, "      fails under: no mutation").ok();
            } else {
                writeln!(out, "      fails under: {}", check.killed_by.join("; ")).ok();
            }
        }
        out
    }
}

/// Proves a canary's teeth, from its last passing run under `artifacts_root` when that run
/// still satisfies the checks, else from a baseline synthesised from the checks.
pub fn check_teeth(canary: &ValidCanary<'_>, artifacts_root: &Path) -> TeethReport {
    let synthesised = || prove(canary, &synthesise(canary));
    match last_passing_run(artifacts_root, canary.canary().name()) {
        Some(baseline) => {
            let report = prove(canary, &baseline);
            if report.checks.iter().all(CheckTeeth::accepts_baseline) {
                report
            } else {
                let mut report = synthesised();
                report.baseline = format!(
                    "{} ({} no longer satisfies the checks)",
                    report.baseline, baseline.source
                );
                report
            }
        }
        None => synthesised(),
    }
}

/// An empty log: output checks see no line at all in it.
const EMPTY_LOG: &str = "/dev/null";

/// Proves the teeth of a canary's checks against a baseline.
pub fn prove(canary: &ValidCanary<'_>, baseline: &Baseline) -> TeethReport {
    let checks = canary.canary().declared_checks();
    let mutations = mutations(checks, baseline);
    let empty = PathBuf::from(EMPTY_LOG);
    let scratch = baseline
        .logs
        .as_ref()
        .and_then(|(stdout, _)| stdout.parent().map(Path::to_owned))
        .unwrap_or_else(std::env::temp_dir);
    let scratch = scratch.as_path();
    let (stdout, stderr) = baseline
        .logs
        .clone()
        .unwrap_or_else(|| (empty.clone(), empty.clone()));

    let judge_all =
        |exit: Exit, results: &RunResults, stdout: &Path, stderr: &Path| -> Vec<CheckOutcome> {
            let run = CiRun {
                exit,
                results: Some(results),
                stdout_log: stdout,
                stderr_log: stderr,
                artifacts: scratch,
            };
            std::iter::once(verdict(canary.expect(), exit, Some(results)))
                .chain(checks.iter().map(|check| check.evaluate(&run)))
                .collect()
        };

    let on_baseline = judge_all(baseline.exit, &baseline.results, &stdout, &stderr);
    let mut report: Vec<CheckTeeth> = on_baseline
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| {
            let unjudgeable = index > 0
                && baseline.logs.is_none()
                && matches!(checks[index - 1], Check::Output { .. });
            CheckTeeth {
                check: outcome.check.clone(),
                baseline: (!unjudgeable).then_some(outcome),
                killed_by: Vec::new(),
            }
        })
        .collect();
    for mutation in &mutations {
        let (exit, results, logs) = apply(mutation, baseline);
        let (stdout, stderr) = match logs {
            Some(paths) => paths,
            None => (empty.clone(), empty.clone()),
        };
        for (index, (teeth, outcome)) in report
            .iter_mut()
            .zip(judge_all(exit, &results, &stdout, &stderr))
            .enumerate()
        {
            // Without baseline logs, an output check is only judged on the emptied logs: what
            // it would say of the real logs under other mutations is unknown.
            let unknown = teeth.baseline.is_none() && *mutation != Mutation::EmptyLogs && index > 0;
            if !outcome.passed && !unknown {
                teeth.killed_by.push(mutation.to_string());
            }
        }
    }
    let exit_code_only = !canary.canary().is_exit_code_only()
        && checks
            .iter()
            .all(|check| matches!(check, Check::ExitCode(_)));
    TeethReport {
        canary: canary.canary().name().to_owned(),
        baseline: baseline.source.clone(),
        mutations: mutations.len(),
        checks: report,
        exit_code_only,
    }
}

/// The mutations worth trying: every test, flag and tier the checks name or the baseline holds,
/// the exit code, and the logs.
fn mutations(checks: &[Check], baseline: &Baseline) -> Vec<Mutation> {
    let mut tests: Vec<(String, String, TestQualifier)> = Vec::new();
    let mut flags: Vec<String> = baseline.results.flags.keys().cloned().collect();
    let mut tiers: Vec<String> = baseline
        .results
        .tiers
        .iter()
        .map(|(tier, _)| tier.clone())
        .collect();
    for check in checks {
        match check {
            Check::StageTest {
                stage,
                test,
                qualifier,
                ..
            } => tests.push((stage.clone(), test.clone(), qualifier.clone())),
            Check::Flag { flag, .. } => flags.push(flag.clone()),
            Check::Tier { tier, .. } => tiers.push(tier.clone()),
            _ => {}
        }
    }
    for stage in &baseline.results.stages {
        tests.extend(stage.tests.iter().map(|test| {
            (
                stage.name.clone(),
                test.name.clone(),
                TestQualifier::default(),
            )
        }));
    }
    dedup(&mut tests);
    dedup(&mut flags);
    dedup(&mut tiers);
    let mut mutations = Vec::new();
    for (stage, test, qualifier) in tests {
        mutations.push(Mutation::RemoveTest {
            stage: stage.clone(),
            test: test.clone(),
            qualifier: qualifier.clone(),
        });
        mutations.push(Mutation::FlipTest {
            stage,
            test,
            qualifier,
        });
    }
    mutations.extend(flags.into_iter().map(Mutation::FlipFlag));
    for tier in tiers {
        mutations.push(Mutation::SetTier(tier.clone(), TierStatus::Fail));
        mutations.push(Mutation::SetTier(tier, TierStatus::Skip));
    }
    mutations.push(Mutation::FlipExit);
    mutations.push(Mutation::EmptyLogs);
    mutations
}

fn dedup<T: PartialEq>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    *items = seen;
}

/// The baseline with one mutation applied. Logs are kept unless the mutation empties them.
fn apply(
    mutation: &Mutation,
    baseline: &Baseline,
) -> (Exit, RunResults, Option<(PathBuf, PathBuf)>) {
    let mut exit = baseline.exit;
    let mut results = baseline.results.clone();
    let mut logs = baseline.logs.clone();
    match mutation {
        Mutation::RemoveTest {
            stage,
            test,
            qualifier,
        } => {
            if let Some(found) = results.stages.iter_mut().find(|found| found.name == *stage) {
                found
                    .tests
                    .retain(|case| case.name != *test || !qualifier.matches(case));
            }
        }
        Mutation::FlipTest {
            stage,
            test,
            qualifier,
        } => {
            let named = results
                .stages
                .iter_mut()
                .filter(|found| found.name == *stage)
                .flat_map(|found| found.tests.iter_mut())
                .filter(|case| case.name == *test && qualifier.matches(case));
            for case in named {
                case.outcome = if case.outcome.is_pass() {
                    Outcome::Fail
                } else {
                    Outcome::Pass
                };
                case.raw_status = case.outcome.as_str().to_owned();
            }
        }
        Mutation::FlipFlag(flag) => {
            let value = results.flags.get(flag).copied().unwrap_or(true);
            results.flags.insert(flag.clone(), !value);
        }
        Mutation::SetTier(tier, status) => {
            match results.tiers.iter_mut().find(|(name, _)| name == tier) {
                Some((_, current)) => *current = *status,
                None => results.tiers.push((tier.clone(), *status)),
            }
        }
        Mutation::FlipExit => {
            exit = if exit.success() {
                Exit::Code(1)
            } else {
                Exit::Code(0)
            }
        }
        Mutation::EmptyLogs => logs = None,
    }
    (exit, results, logs)
}

/// The tier a synthesised GREEN baseline reports when its checks name no tier and no test.
pub const SYNTHESISED_TIER: &str = "(synthesised)";

/// A baseline built from the checks alone: the exit code and every tier, flag and named test
/// as the checks require them.
pub fn synthesise(canary: &ValidCanary<'_>) -> Baseline {
    let checks = canary.canary().declared_checks();
    let exit = match canary.expect() {
        Expect::Green => Exit::Code(0),
        Expect::Red => checks
            .iter()
            .find_map(|check| match check {
                Check::ExitCode(code) if *code != 0 => Some(Exit::Code(*code)),
                _ => None,
            })
            .unwrap_or(Exit::Code(1)),
    };
    let mut results = RunResults {
        recipe: Some(canary.recipe().to_owned()),
        rev: Some(canary.rev().to_owned()),
        ..RunResults::default()
    };
    for check in checks {
        match check {
            Check::Tier { tier, status } if results.tier(tier).is_none() => {
                results.tiers.push((tier.clone(), *status))
            }
            Check::Flag { flag, value } => {
                results.flags.entry(flag.clone()).or_insert(*value);
            }
            Check::StageTest {
                stage,
                test,
                qualifier,
                expect,
            } => {
                let index = match results.stages.iter().position(|found| found.name == *stage) {
                    Some(index) => index,
                    None => {
                        results.stages.push(Stage {
                            name: stage.clone(),
                            tests: Vec::new(),
                        });
                        results.stages.len() - 1
                    }
                };
                let tests = &mut results.stages[index].tests;
                if !tests
                    .iter()
                    .any(|case| case.name == *test && qualifier.matches(case))
                {
                    let outcome = match expect {
                        TestExpectation::Failed => Outcome::Fail,
                        TestExpectation::Present | TestExpectation::Passed => Outcome::Pass,
                    };
                    let mut case = TestCase::new(test.clone(), outcome, outcome.as_str());
                    for (field, value) in qualifier.pairs() {
                        field.set(&mut case, value);
                    }
                    tests.push(case);
                }
            }
            _ => {}
        }
    }
    if canary.expect() == Expect::Green
        && results.tiers.is_empty()
        && results.stages.iter().all(|stage| stage.tests.is_empty())
    {
        // A GREEN run always reports something (results that hold nothing are never GREEN):
        // checks that name no tier and no test get a baseline with one passing tier.
        results
            .tiers
            .push((SYNTHESISED_TIER.to_owned(), TierStatus::Pass));
    }
    Baseline {
        exit,
        results,
        logs: None,
        source: "synthesised from the checks (no passing run in the artifact folder)".to_owned(),
    }
}

/// The canary's most recent passing run under the artifact root, if any, as a baseline.
///
/// Whatever the pointer ([`artifacts::last_pass`]) names, only a folder whose `canary.json`
/// records a passing run of this canary, with the folder's name as its run id, is taken:
/// anything else (a torn pointer, a folder moved, reused or pruned) means no baseline, and the
/// teeth trial synthesises one from the checks.
pub fn last_passing_run(artifacts_root: &Path, canary: &str) -> Option<Baseline> {
    let dir = artifacts::last_pass(artifacts_root, canary)?;
    let run = dir.file_name()?.to_str()?;
    let text = std::fs::read_to_string(dir.join(artifacts::RECORD_FILE)).ok()?;
    let record: RunRecord = serde_json::from_str(&text).ok()?;
    if !record.passed || record.canary != canary || record.run_id != run {
        return None;
    }
    Some(Baseline {
        exit: record.exit?,
        results: record.results?,
        logs: Some((
            dir.join(artifacts::STDOUT_LOG),
            dir.join(artifacts::STDERR_LOG),
        )),
        source: format!("the last passing run, {}", dir.display()),
    })
}

#[cfg(test)]
mod tests;
