//! Why one test is, or is not, a quarantine candidate: [`Explanation`], built by the same
//! fold that builds the [`Plan`](super::Plan) ([`Aggregator::watch`](super::Aggregator::watch)
//! before the rows, [`Aggregator::finish_explained`](super::Aggregator::finish_explained)
//! after), so that no rule is implemented twice. It holds every rule evaluated with its
//! numbers, what was left out and why, the streak, the owner and where it came from, and the
//! quarantine entry with its release progress; [`Explanation::verdict`] is the decisive line.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use std::fmt::Write as _;

use super::calendar::show_time;
use super::model::QuarantineEntry;
use super::policy::Policy;
use crate::history::model::RunKind;

/// What the plan decided for the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Broken since a commit: never quarantined.
    Broken,
    /// Quarantine at once.
    QuarantineNow,
    /// Quarantine in the next batch.
    NextBatch,
    /// A candidate beyond the auto-quarantine limit.
    Deferred,
    /// Over a threshold but never flipped, with `require_flip`.
    NotShownFlaky,
    /// A batch candidate (or an entry added by the batch) whose fix passed.
    LeavesBatch,
    /// Quarantined, to be released.
    Release,
    /// Quarantined, stays.
    StaysQuarantined,
    /// Not a candidate: under the thresholds, or too few runs.
    NotACandidate,
    /// No counted execution in any window.
    NoExecutions,
}

/// One quarantine rule evaluated for the test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCheck {
    /// `now`, `batch`, or `per-lane` (the per-lane rule, one check per lane).
    pub rule: &'static str,
    /// The lane, for the per-lane rule (`None`: no counted lane had a failure of the test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<String>,
    /// The window, in days.
    pub window_days: u32,
    /// Failed executions counted in it (per-lane: the lane's runs in which it failed).
    pub failed: u64,
    /// Passed executions counted in it (per-lane: the lane's other counted runs).
    pub passed: u64,
    /// Distinct trusted, non-systemic runs with an execution (per-lane: the lane's counted
    /// runs).
    pub runs: u64,
    /// `failed / (passed + failed)` (0 without executions; per-lane: the impact).
    pub rate: f64,
    /// The statistic compared: the rate, or its Wilson lower bound.
    pub score: Option<f64>,
    /// Whether the score is the Wilson lower bound.
    pub wilson: bool,
    /// The threshold the score must be over.
    pub threshold: f64,
    /// The fewest runs the rule needs (`min_runs`).
    pub min_runs: u32,
    /// Whether the rule is met.
    pub met: bool,
    /// Commits in the window on which the test both passed and failed.
    pub flipped_commits: u64,
    /// Commits in the window it ran on.
    pub commits: u64,
    /// Failures of a fixed breakage left out of the window's counts.
    pub breakage_failures_left_out: u64,
    /// A sentence with the numbers.
    pub summary: String,
}

/// Executions of the test in runs of one kind that the policy does not trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UntrustedKind {
    /// The run kind.
    pub kind: RunKind,
    /// Runs of that kind with an execution of the test.
    pub runs: u64,
    /// Its executions in them (every outcome).
    pub executions: u64,
}

/// A systemic run the test ran in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemicExecution {
    /// The run's id.
    pub run_id: i64,
    /// Its lane.
    pub lane: String,
    /// When it started.
    pub started_at: Timestamp,
    /// Distinct tests that failed in it.
    pub failed_tests: u64,
    /// Whether this test failed in it.
    pub failed: bool,
}

/// What the rules did not count, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// Executions in runs of untrusted kinds, by kind.
    pub untrusted: Vec<UntrustedKind>,
    /// Systemic runs (too many distinct tests failed) it ran in, oldest first.
    pub systemic: Vec<SystemicExecution>,
    /// Runs started after `now` with an execution of it (ignored: the plan is as of `now`).
    pub runs_after_now: u64,
    /// Executions that are neither a pass nor a failure (skip, not-run, xfail, xpass).
    pub not_counted: u64,
}

/// The test's latest run of failures (trusted, non-systemic runs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreakInfo {
    /// Runs in it (0: its latest trusted run did not fail).
    pub failed_runs: u64,
    /// The commit of its first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_commit: Option<String>,
    /// When that run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// The commit of the last run it passed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pass_commit: Option<String>,
    /// Whether it spans more than one commit.
    pub spans_commits: bool,
    /// Whether it passed on a commit the streak failed on (flakiness, not breakage).
    pub flipped: bool,
    /// The runs the broken rule needs (`broken_min_runs`; 0: the rule is off).
    pub needed: u32,
    /// Whether the streak makes the test broken.
    pub broken: bool,
    /// A sentence saying why it is or is not broken.
    pub summary: String,
}

/// Where the test's owner came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "detail")]
pub enum OwnerSource {
    /// The `[[quarantine]]` entry's `owner`.
    QuarantineEntry,
    /// The test's own `[sig-*]` tag.
    Tag(String),
    /// An `[owners]` pattern.
    Pattern(String),
    /// Nowhere: the test has no owner.
    None,
}

/// The test's quarantine entry and how far it is towards release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineProgress {
    /// The entry.
    pub entry: QuarantineEntry,
    /// The earliest day a release is possible, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_release: Option<Date>,
    /// Executions counted for release in the release window.
    pub executions: u64,
    /// Failed executions among them.
    pub failed: u64,
    /// The latest failed execution counted for release, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<Timestamp>,
    /// Whole days without a counted failure so far, from the later of the latest failure and
    /// the start of `stable_by` (or `since`, without one).
    pub clean_days: u32,
    /// The clean days release needs (`release_days`).
    pub needed_days: u32,
    /// Why it stays or is released.
    pub reason: String,
}

/// Why a test is, or is not, a quarantine candidate, as of the plan's `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The test's id.
    pub test: String,
    /// The instant it is explained for.
    pub now: Timestamp,
    /// What the plan decided.
    pub decision: Decision,
    /// The decisive line: the decision and the numbers behind it.
    pub verdict: String,
    /// The quarantine rules, each evaluated.
    pub rules: Vec<RuleCheck>,
    /// What was not counted, and why.
    pub left_out: LeftOut,
    /// The broken rule's streak.
    pub streak: StreakInfo,
    /// The owner, if known.
    pub owner: Option<String>,
    /// Where the owner came from.
    pub owner_source: OwnerSource,
    /// The quarantine entry and its release progress, when quarantined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<QuarantineProgress>,
}

impl Explanation {
    /// What `quarantine explain` prints: the verdict first, then the rules, what was left
    /// out, the streak, the owner and the quarantine entry.
    pub fn text(&self, policy: &Policy) -> String {
        let explanation = self;
        let mut out = String::new();
        let _ = writeln!(out, "{}: {}\n", explanation.test, explanation.verdict);
        let _ = writeln!(
            out,
            "As of {} (policy {}; trusted runs: {}; a run is systemic at {} or more failed tests):",
            show_time(explanation.now),
            policy.preset,
            policy
                .trusted_kinds
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            policy.systemic_failures
        );
        for rule in &explanation.rules {
            let _ = writeln!(out, "  {}", rule.summary);
        }
        out.push_str("\nLeft out:\n");
        let left = &explanation.left_out;
        let mut any = false;
        for kind in &left.untrusted {
            any = true;
            let _ = writeln!(
                out,
                "  {} execution(s) in {} {} run(s): that kind is not trusted (`trusted_kinds`)",
                kind.executions,
                kind.runs,
                kind.kind.as_str()
            );
        }
        for run in &left.systemic {
            any = true;
            let _ = writeln!(
                out,
                "  run {} ({}, {}): systemic, {} tests failed in it{}",
                run.run_id,
                run.lane,
                show_time(run.started_at),
                run.failed_tests,
                if run.failed { " (this one too)" } else { "" }
            );
        }
        if left.runs_after_now > 0 {
            any = true;
            let _ = writeln!(
                out,
                "  {} run(s) after {}: ignored (the plan is as of --now)",
                left.runs_after_now,
                show_time(explanation.now)
            );
        }
        if left.not_counted > 0 {
            any = true;
            let _ = writeln!(
                out,
                "  {} execution(s) neither passed nor failed (skip, not-run, xfail, xpass)",
                left.not_counted
            );
        }
        for rule in &explanation.rules {
            if rule.breakage_failures_left_out > 0 {
                any = true;
                let _ = writeln!(
                    out,
                    "  {} failure(s) in the {} rule's window belong to a breakage that was fixed",
                    rule.breakage_failures_left_out, rule.rule
                );
            }
        }
        if !any {
            out.push_str("  nothing\n");
        }
        let _ = writeln!(out, "\nBroken rule: {}", explanation.streak.summary);
        let owner = explanation.owner.as_deref().unwrap_or("none");
        let source = match &explanation.owner_source {
            OwnerSource::QuarantineEntry => "from its [[quarantine]] entry".to_owned(),
            OwnerSource::Tag(tag) => format!("from its tag {tag}"),
            OwnerSource::Pattern(pattern) => format!("from the [owners] pattern {pattern:?}"),
            OwnerSource::None => "no [sig-*] tag and no [owners] pattern matches it; a candidate \
                              without an owner blocks `apply`"
                .to_owned(),
        };
        let _ = writeln!(out, "Owner: {owner} ({source})");
        match &explanation.quarantine {
            Some(progress) => {
                let entry = &progress.entry;
                let _ = writeln!(
                    out,
                    "Quarantined since {}{}: {} execution(s) counted for release in the last {} \
                 days, {} failed{}; clean for {} of the {} days release needs{}; {}",
                    entry.since,
                    entry
                        .stable_by
                        .map(|date| format!(", stable by {date}"))
                        .unwrap_or_default(),
                    progress.executions,
                    policy.release_days,
                    progress.failed,
                    progress
                        .last_failure
                        .map(|at| format!(" (the latest at {})", show_time(at)))
                        .unwrap_or_default(),
                    progress.clean_days,
                    progress.needed_days,
                    progress
                        .earliest_release
                        .map(|date| format!(", earliest release {date}"))
                        .unwrap_or_default(),
                    progress.reason
                );
            }
            None => out.push_str("Not quarantined.\n"),
        }
        out
    }
}
