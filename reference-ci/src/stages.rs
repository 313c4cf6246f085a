//! Running the tiers in order: deciding whether each tier runs, is skipped (the recipe lists
//! no tests for it, or a prerequisite is unsupported) or is unverified (a prerequisite failed
//! or was itself unverified); deploying the install deployment; timing each test; and printing
//! progress lines on stdout.

use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use crate::checks::{self, Ctx, Failure, Verdict};
use crate::deploy::Deployment;
use crate::results::{Outcome, PerTier, StageResult, Status, TestResult, Tier};

/// Name of the deployment the install tier creates and later tiers reuse.
pub const INSTALL_DEPLOYMENT: &str = "install";

/// Prints a progress line on stdout. A closed stdout must not stop the run (results.json is
/// what matters), so write errors are ignored.
pub fn progress(line: &str) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// Statuses and test records of every tier.
#[derive(Debug, Clone)]
pub struct StageReport {
    /// Tier statuses.
    pub statuses: PerTier<Status>,
    /// Tests per tier (empty for skipped and unverified tiers).
    pub records: PerTier<StageResult>,
}

/// Runs every tier in order. Leaves the install deployment in `ctx.main` for the caller to
/// tear down.
pub fn run_all(ctx: &mut Ctx<'_>) -> StageReport {
    let mut statuses = PerTier {
        install: Status::Skip,
        upgrade: Status::Skip,
        backup: Status::Skip,
        restore: Status::Skip,
        custom: Status::Skip,
    };
    let mut records = PerTier::<StageResult>::default();
    for tier in Tier::ALL {
        let status = match gate(ctx, tier, &statuses) {
            Gate::Run => {
                let tests = run_tier(ctx, tier);
                let status = Status::of_tests(&tests);
                records.get_mut(tier).tests = tests;
                status
            }
            Gate::Skip(reason) => {
                progress(&format!("==> {}: skip ({reason})", tier.name()));
                Status::Skip
            }
            Gate::Unver(reason) => {
                progress(&format!("==> {}: unver ({reason})", tier.name()));
                Status::Unver
            }
        };
        *statuses.get_mut(tier) = status;
    }
    StageReport { statuses, records }
}

/// Whether a tier runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gate {
    Run,
    Skip(String),
    Unver(String),
}

/// A tier without tests is unsupported (`skip`) whatever happened before; otherwise a failed
/// or unverified prerequisite makes it `unver` and an unsupported one makes it `skip`.
fn gate(ctx: &Ctx<'_>, tier: Tier, statuses: &PerTier<Status>) -> Gate {
    if ctx.recipe.stages.tests(tier).is_empty() {
        return Gate::Skip(format!("recipe declares no {} tests", tier.name()));
    }
    for prerequisite in tier.prerequisites() {
        match statuses.get(*prerequisite) {
            Status::Pass => {}
            Status::Skip => {
                return Gate::Skip(format!("{} not supported", prerequisite.name()));
            }
            status @ (Status::Fail | Status::Unver) => {
                return Gate::Unver(format!("{} {}", prerequisite.name(), status.name()));
            }
        }
    }
    Gate::Run
}

fn run_tier(ctx: &mut Ctx<'_>, tier: Tier) -> Vec<TestResult> {
    let names = ctx.recipe.stages.tests(tier).to_vec();
    match tier {
        Tier::Install => {
            let description = &ctx.recipe.meta.description;
            progress(&format!(
                "==> install: deploying {}{}",
                ctx.recipe.label(),
                if description.is_empty() {
                    String::new()
                } else {
                    format!(" ({description})")
                }
            ));
            match Deployment::deploy(INSTALL_DEPLOYMENT, ctx.recipe, ctx.env) {
                Ok(deployment) => ctx.main = Some(deployment),
                Err(error) => {
                    let message = format!("deploy failed: {error}");
                    return names
                        .iter()
                        .map(|name| record(name, Err(Failure(message.clone())), 0))
                        .collect();
                }
            }
        }
        Tier::Upgrade => progress(&format!(
            "==> upgrade: {} -> {}",
            ctx.recipe.meta.upgrade_from.as_deref().unwrap_or("(none)"),
            ctx.recipe.rev
        )),
        _ => progress(&format!("==> {}", tier.name())),
    }
    names.iter().map(|name| run_test(ctx, name)).collect()
}

fn run_test(ctx: &mut Ctx<'_>, name: &str) -> TestResult {
    let started = Instant::now();
    let checked = match checks::find(name) {
        // A bug in a test must cost that test, not the run and its teardown.
        Some(test) => panic::catch_unwind(AssertUnwindSafe(|| (test.run)(ctx)))
            .unwrap_or_else(|_| Err(Failure("test panicked".to_owned()))),
        None => Err(Failure(format!("unknown test {name:?}"))),
    };
    record(name, checked, started.elapsed().as_millis() as u64)
}

/// Turns a test's result into its record and prints its progress line.
fn record(name: &str, checked: checks::Checked, duration_ms: u64) -> TestResult {
    let (outcome, message) = match checked {
        Ok(Verdict::Pass) => (Outcome::Pass, None),
        Ok(Verdict::Skip(reason)) => (Outcome::Skip, Some(reason)),
        Err(Failure(message)) => (Outcome::Fail, Some(message)),
    };
    let tag = match outcome {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Skip => "SKIP",
    };
    match &message {
        Some(message) => progress(&format!("  {tag} {name} ({duration_ms} ms): {message}")),
        None => progress(&format!("  {tag} {name} ({duration_ms} ms)")),
    }
    TestResult {
        name: name.to_owned(),
        outcome,
        message,
        duration_ms,
    }
}
