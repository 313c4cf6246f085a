//! The output of the policy: what to quarantine now or in the next batch, what leaves a batch
//! in its grace period, what to release, what stays, which issues to open, and how stable the
//! suite and its lanes are. Every list is sorted by test (or lane) name, so that two plans of
//! the same history diff cleanly; all of it serializes to JSON.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::policy::Preset;

/// Which quarantine rule a candidate met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Over `now_rate` in the last `now_window_days`: quarantine at once.
    Now,
    /// Over `batch_rate` in the last `batch_window_days`: quarantine in the next batch.
    Batch,
    /// The per-lane rule of KubeVirt's robot (`quarantine_rule = "per-lane"`): quarantine at
    /// once, within `auto_quarantine_max_per_run`. See [`Candidate::lanes`].
    PerLane,
}

/// A test that meets a quarantine rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The test's stable id.
    pub test: String,
    /// The owning team; `None` is an error that blocks `apply` (see [`Plan::missing_owner`]).
    pub owner: Option<String>,
    /// The rule met.
    pub rule: Rule,
    /// `failed / (passed + failed)` in the window. Per-lane rule: the impact on the first of
    /// [`Candidate::lanes`], the share of that lane's counted runs in which it failed.
    pub rate: f64,
    /// The statistic compared with the threshold: `rate`, or its Wilson lower bound.
    pub score: f64,
    /// The threshold it is over (per-lane rule: at least).
    pub threshold: f64,
    /// Failed executions in the window (per-lane rule: the lane's runs in which it failed).
    pub failed: u64,
    /// Passed executions in the window (per-lane rule: the lane's other counted runs).
    pub passed: u64,
    /// Distinct trusted, non-systemic runs with an execution of it in the window (per-lane
    /// rule: the lane's counted runs, systemic ones included).
    pub runs: u64,
    /// The window, in days.
    pub window_days: u32,
    /// Commits in the window on which it both passed and failed (across runs, and across
    /// retries within one run): the evidence that it is flaky.
    pub flipped_commits: u64,
    /// Commits in the window it had a counted execution on.
    pub commits: u64,
    /// The batch it is proposed in (batch candidates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_date: Option<Date>,
    /// Whether it carries the `release-blocker` tag (an issue draft is in
    /// [`Plan::escalations`]).
    pub release_blocker: bool,
    /// The recorded fix, if any, and how far it got towards leaving the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixProgress>,
    /// Per-lane rule: every lane on which it met the rule, the highest impact first (as the
    /// robot's pull request lists them); empty for the other rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<LaneImpact>,
    /// A sentence saying why.
    pub reason: String,
}

/// A lane on which a test met the per-lane rule: its impact over `batch_window_days` and its
/// recent failures (runs started at most `max_failure_age_hours` before `now`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneImpact {
    /// The lane (CI job) name.
    pub lane: String,
    /// Whether it is listed in `required_lanes` (false when that list is empty and every lane
    /// counts).
    pub required: bool,
    /// The lane's counted runs (of `trusted_kinds`, with a counted execution) in the window,
    /// systemic ones included.
    pub runs: u64,
    /// Those in which the test failed.
    pub failed_runs: u64,
    /// Among them, the systemic ones (`systemic_failures` or more failed tests): they count,
    /// as in the robot, as long as one failure is not in such a run.
    pub clustered_failed_runs: u64,
    /// `failed_runs / runs`.
    pub impact: f64,
    /// The statistic compared with `batch_rate`: `impact`, or its Wilson lower bound.
    pub score: f64,
    /// Failed runs among the recent ones.
    pub recent_failures: u64,
    /// When the oldest recent failing run started.
    pub oldest_recent_failure: Timestamp,
    /// When the newest recent failing run started.
    pub newest_recent_failure: Timestamp,
}

/// A test that a change broke rather than a flaky one: since some run it has failed in every
/// trusted, non-systemic run, at least `broken_min_runs` runs over more than one commit, and
/// never passed on one of those commits. Never a quarantine candidate: quarantining it would
/// hide the regression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Broken {
    /// The test's stable id.
    pub test: String,
    /// The owning team, if known.
    pub owner: Option<String>,
    /// The commit of the first failing run of the streak.
    pub since_commit: String,
    /// When that run started.
    pub since: Timestamp,
    /// Its lane.
    pub since_lane: String,
    /// The commit of the last run in which it passed (`None`: no pass in the history read):
    /// the culprit is between it and `since_commit`.
    pub last_pass_commit: Option<String>,
    /// When that run started.
    pub last_pass: Option<Timestamp>,
    /// Runs it failed since (the streak).
    pub failed_runs: u64,
    /// The latest failing run's id.
    pub latest_failure_run_id: i64,
    /// The message of its latest failure, when the caller looked it up in the history.
    pub latest_failure_message: Option<String>,
    /// A sentence saying why.
    pub reason: String,
}

/// A test with a counted failure in the batch window: its rate, as the policy counts it, and
/// its same-commit flips.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingTest {
    /// The test's stable id.
    pub test: String,
    /// `failed / (passed + failed)`.
    pub rate: f64,
    /// Failed executions (a fixed breakage's left out).
    pub failed: u64,
    /// Passed executions.
    pub passed: u64,
    /// Distinct trusted, non-systemic runs with an execution.
    pub runs: u64,
    /// Commits on which it both passed and failed.
    pub flipped_commits: u64,
    /// Commits it had a counted execution on.
    pub commits: u64,
}

/// A recorded fix and the consecutive passes seen since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixProgress {
    /// The fix commit.
    pub commit: String,
    /// When the fix was recorded.
    pub at: Timestamp,
    /// Consecutive passing executions with the fix, up to now (a failure resets it).
    pub consecutive_passes: u64,
    /// How many are needed (`grace_passes`).
    pub needed: u32,
}

/// A test that leaves the batch: its fix passed `grace_passes` consecutive executions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraceRelease {
    /// The test's stable id.
    pub test: String,
    /// The owning team, if known.
    pub owner: Option<String>,
    /// The fix and its passes.
    pub fix: FixProgress,
    /// The batch it leaves.
    pub batch_date: Date,
    /// The end of that batch's grace period (00:00 UTC).
    pub grace_ends: Date,
    /// Whether it was already in the quarantine list (added by the batch in grace), so that
    /// `apply` removes its entry; otherwise it is simply not proposed.
    pub was_quarantined: bool,
    /// A sentence saying why.
    pub reason: String,
}

/// A quarantined test to bring back into the suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    /// The test's stable id.
    pub test: String,
    /// The owning team from its entry.
    pub owner: String,
    /// The date its team gave for it to be stable.
    pub stable_by: Date,
    /// Executions counted for release (release kinds, non-systemic) in the last `release_days`.
    pub executions: u64,
    /// Failed executions among them.
    pub failed: u64,
    /// A sentence saying why.
    pub reason: String,
}

/// A quarantined test that stays quarantined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keep {
    /// The test's stable id.
    pub test: String,
    /// The owning team from its entry.
    pub owner: String,
    /// When it was quarantined.
    pub since: Date,
    /// The date its team gave for it to be stable, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_by: Option<Date>,
    /// The earliest day a release is possible, when known (`stable_by + release_days`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_release: Option<Date>,
    /// Executions counted for release in the last `release_days`.
    pub executions: u64,
    /// Failed executions among them.
    pub failed: u64,
    /// A sentence saying why it stays.
    pub reason: String,
}

/// A release-blocker issue to open for a candidate carrying the `release-blocker` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueDraft {
    /// The test concerned.
    pub test: String,
    /// The team to assign an individual from; `None` when the test has no owner.
    pub owner: Option<String>,
    /// The issue title.
    pub title: String,
    /// The issue body (Markdown), containing the `/release-blocker <branch>` command.
    pub body: String,
}

/// How a lane did over the lane window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneReport {
    /// The lane (CI job) name.
    pub lane: String,
    /// Whether it is listed in `required_lanes`.
    pub required: bool,
    /// The owning team (explicit, or the `sig-<word>` part of the name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Runs in the window with at least one counted execution (systemic runs included).
    pub runs: u64,
    /// Runs among them with a failed, non-quarantined test.
    pub failed_runs: u64,
    /// `failed_runs / runs` (0 without runs).
    pub rate: f64,
    /// Distinct non-quarantined tests that failed in those runs.
    pub distinct_failing_tests: u64,
    /// Up to [`LANE_TESTS_SHOWN`] of them, by name.
    pub failing_tests: Vec<String>,
    /// Whether it is a required lane over `lane_rate` with more than `lane_distinct_tests`
    /// failing tests: a candidate to be made optional unless its team fixes it in time.
    pub optional_candidate: bool,
    /// When a candidate: the day its team's fix is due (`today + lane_fix_days`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Date>,
}

/// How many failing tests a [`LaneReport`] names.
pub const LANE_TESTS_SHOWN: usize = 20;

/// Suite stability over the stability window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stability {
    /// The window, in days.
    pub window_days: u32,
    /// The product of `1 - rate` over the non-quarantined tests with executions in the window.
    pub projected: f64,
    /// The same product once this plan's quarantine candidates (now and batch) are quarantined.
    pub projected_after_plan: f64,
    /// The same product without the broken tests: what the suite would pass at once they are
    /// fixed (`projected_without_broken - projected` is the share broken tests explain).
    pub projected_without_broken: f64,
    /// The runs `measured` is over that failed.
    pub measured_failed_runs: u64,
    /// Among them, those in which a broken test failed.
    pub broken_failed_runs: u64,
    /// The share of trusted, non-systemic runs with executions in the window that had no
    /// failed non-quarantined test; `None` without such runs.
    pub measured: Option<f64>,
    /// The runs `measured` is over.
    pub measured_runs: u64,
    /// The goal (`goal`).
    pub goal: f64,
    /// Whether `projected >= goal`.
    pub projected_met: bool,
    /// Whether `measured >= goal`, when measured.
    pub measured_met: Option<bool>,
}

/// The batch the plan's batch candidates belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BatchInfo {
    /// The batch day: today if today's batch is still in its grace period, else the next one.
    pub date: Date,
    /// The day the grace period ends (00:00 UTC): `date + grace_days`.
    pub grace_ends: Date,
    /// Whether the batch was proposed and its grace period is running.
    pub in_grace: bool,
}

/// A run excluded from per-test rates because too many tests failed in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemicRun {
    /// The run's id.
    pub run_id: i64,
    /// Its lane.
    pub lane: String,
    /// When it started.
    pub started_at: Timestamp,
    /// Distinct tests that failed in it.
    pub failed_tests: u64,
}

/// What the plan was computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Runs given.
    pub runs: u64,
    /// Runs ignored because they started after `now`.
    pub runs_after_now: u64,
    /// Runs kept (started within the longest window before `now`).
    pub runs_in_windows: u64,
    /// Result rows given.
    pub results: u64,
    /// Result rows naming a run that was not given (ignored).
    pub orphan_results: u64,
    /// Distinct tests known (from the results and the test list).
    pub tests: u64,
}

/// What the policy says to do, as of `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The instant the plan is computed for.
    pub now: Timestamp,
    /// The preset of the policy used.
    pub preset: Preset,
    /// The batch the batch candidates are for.
    pub batch: BatchInfo,
    /// Tests a change broke (not flaky): never proposed for quarantine. Listed first.
    pub broken: Vec<Broken>,
    /// Quarantine at once.
    pub quarantine_now: Vec<Candidate>,
    /// Quarantine in the batch of [`Plan::batch`].
    pub next_batch: Vec<Candidate>,
    /// Auto-quarantine only: candidates beyond `auto_quarantine_max_per_run`, for a later run
    /// (per-lane rule: those after the first in the robot's order, most recent failures first).
    pub deferred: Vec<Candidate>,
    /// With `require_flip`: tests over a threshold that never flipped on one commit in its
    /// window, so not shown to be flaky, and not proposed.
    pub not_shown_flaky: Vec<Candidate>,
    /// Batch candidates (or entries added by the batch in grace) whose fix passed.
    pub grace_released: Vec<GraceRelease>,
    /// Quarantined tests to release.
    pub release: Vec<Release>,
    /// Quarantined tests that stay.
    pub keep: Vec<Keep>,
    /// Release-blocker issues to open.
    pub escalations: Vec<IssueDraft>,
    /// Candidates to quarantine (now or in the batch) without an owner: errors that block
    /// `apply`.
    pub missing_owner: Vec<String>,
    /// `[[quarantine]]` entries naming a test neither in the history nor in the test list.
    pub unknown_quarantine_entries: Vec<String>,
    /// For each unknown entry, the closest test ids in the history (at most 3), closest first.
    pub unknown_quarantine_closest: Vec<(String, Vec<String>)>,
    /// Tests with more than one `[[quarantine]]` entry (the first is used).
    pub duplicate_quarantine_entries: Vec<String>,
    /// Every lane with runs in the lane window, and every required lane.
    pub lanes: Vec<LaneReport>,
    /// Suite stability.
    pub stability: Stability,
    /// Systemic runs within the windows, oldest first.
    pub systemic_runs: Vec<SystemicRun>,
    /// Every test with a counted failure in the batch window (trusted, non-systemic runs; a
    /// fixed breakage's failures left out), by name, quarantined ones included: what `report`
    /// lists as the flakiest tests.
    pub failing: Vec<FailingTest>,
    /// What the plan was computed from.
    pub counts: Counts,
    /// Notes on how the policy was applied (e.g. the per-lane rule counting every lane because
    /// `required_lanes` is empty), one sentence each.
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether `apply` must refuse this plan (a candidate has no owner).
    pub fn blocks_apply(&self) -> bool {
        !self.missing_owner.is_empty()
    }

    /// The errors that block `apply`, one sentence each.
    pub fn errors(&self) -> Vec<String> {
        self.missing_owner
            .iter()
            .map(|test| {
                format!(
                    "`{test}` must be quarantined but has no owner: tag it `[sig-...]` or add a \
                     pattern for it to [owners] in harness.toml"
                )
            })
            .collect()
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.quarantine_now.is_empty()
            && self.next_batch.is_empty()
            && self.grace_released.is_empty()
            && self.release.is_empty()
    }
}

/// A fraction as a percentage with up to two decimals (`0.0501` → `5.01 %`).
pub fn percent(fraction: f64) -> String {
    let text = format!("{:.2}", fraction * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}
