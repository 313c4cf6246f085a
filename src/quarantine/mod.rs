//! Flaky-test quarantine: a pure function from (history rows, quarantine list, policy, now) to
//! a [`Plan`] of what to quarantine, release, escalate, and how stable the suite and its lanes
//! are. No I/O: the history store streams rows into an [`Aggregator`], `apply` and the reports
//! read the plan.
//!
//! # The methodology (the `kubevirt` preset)
//! - Only **trusted runs** count: periodic jobs, and presubmits on merged code
//!   (`trusted_kinds`). A run in which **5 or more** distinct tests failed is **systemic** and
//!   is excluded from per-test rates, stability, grace and release (`systemic_failures`).
//! - **Failure rate** = failed / (passed + failed) executions in a window; skip, not-run,
//!   xfail and xpass are not counted. Each execution (attempt) counts; a `flaky-pass` row (a
//!   failure hidden by a retry) counts as one failure and one pass (`flaky_pass`).
//! - **Quarantine now** when the rate is over 20 % in the last 3 days; otherwise **quarantine
//!   in the next batch** when over 5 % in the last 14 days. "Over" is strict: exactly 5 % is
//!   not over 5 %.
//! - **Batches** fall on `batch_anchor + k × batch_every_days` (every second Monday from
//!   2024-01-01 by default). The plan's batch is today's while its **grace** period runs
//!   (`grace_days` = 2: the batch day and the next), else the next batch day; so on a batch
//!   Monday the batch is that Monday. See [`calendar::batch_at`].
//! - **Grace**: a batch candidate whose fix was recorded ([`Fix`]) and whose last
//!   `grace_passes` (5) executions since the fix all passed leaves the batch
//!   ([`Plan::grace_released`]). The same applies to a `[[quarantine]]` entry added by the batch
//!   whose grace is running (its `since` within `[batch day, grace end)`), which `apply` then
//!   removes; once the grace ended the entry stays and follows the release rule. Executions
//!   "with the fix" are in trusted, non-systemic runs started at or after the fix was recorded,
//!   or at the fix commit; a run in which the test failed resets the count.
//! - **Owner**: the test's own `[sig-*]` tag, else the most specific `[owners]` pattern
//!   ([`Owners`]: exact name, glob with `*`/`?`, or `re:` regex). A candidate to quarantine
//!   without one is listed in [`Plan::missing_owner`] and blocks `apply`.
//! - **Release blocker**: a candidate tagged `[release-blocker]` gets an [`IssueDraft`]
//!   containing `/release-blocker main` and the team to assign an individual from.
//! - **Release** from quarantine: once `stable_by + release_days` (14) is reached, a test is
//!   released when, in the last 14 days (all after `stable_by`), it had at least
//!   `release_sample_min` (1) execution on periodic runs and no failure
//!   (`release_max_rate` = 0). Without a `stable_by` date it stays.
//! - **Broken, not flaky** (`broken_min_runs`, 5; 0 turns it off): a test whose trusted,
//!   non-systemic runs have all failed since some run (a run with a passing execution of it,
//!   a retry or a `flaky-pass` included, ends the streak), for at least that many runs over
//!   more than one commit, and that never passed on one of those commits, is [`Broken`]: not a
//!   quarantine candidate, whatever its rate (quarantining it would hide a regression). A
//!   pass on a streak commit is found at the streak's edges (the last pass before it, the pass
//!   that ends it) and, for the open streak, anywhere in the history read. A streak that met
//!   the rule when a pass ended it was a breakage that got fixed: its failures leave the
//!   now, batch and stability tallies, so the test is judged on the rest.
//! - **Same-commit flips**: per test and window, the commits on which it both passed and
//!   failed in trusted, non-systemic runs, and the commits it ran on; with `require_flip`, a
//!   candidate without a flip in its rule's window is [`Plan::not_shown_flaky`] instead.
//! - **Suite stability**: projected pass rate = ∏ (1 − rate) over the non-quarantined tests
//!   with executions in the last 14 days; measured = share of trusted, non-systemic runs
//!   without a failed non-quarantined test. Goal: at least 90 %.
//! - **Lanes**: per lane over 7 days, the share of runs with a failed non-quarantined test and
//!   the number of distinct such tests (systemic runs included: clustered failures are what
//!   this rule is about). A required lane over 25 % with more than 10 distinct failing tests
//!   is an optional-lane candidate, shown with its team's deadline (today + 7 days).
//!
//! # The `auto-quarantine` preset
//! Every candidate (either rule) is quarantined at once, ranked (3-day rule first, then by
//! score, failures and name), at most `auto_quarantine_max_per_run` (1) per plan; the rest are
//! [`Plan::deferred`]. There is no batch and no grace. Release needs at least 1000 executions
//! at a failure rate of at most 0.1 %. Opt-in for small samples, in either preset:
//! `min_runs` (distinct runs with an execution in the window) and `statistics = "wilson"`
//! (the Wilson lower bound with continuity correction must be over the threshold, so one
//! failure in three runs does not quarantine).
//!
//! # Decisions
//! - **Thresholds are fractions** in `0..=1` (`batch_rate = 0.05`); a value over 1 is refused
//!   with a hint. Rates are compared as `failed as f64 / counted as f64 > threshold`: both
//!   sides are the nearest doubles to their exact values, so an exact tie (1 of 20 against
//!   0.05) compares equal and is not "over".
//! - **Windows** are `n` × 24 hours ending at `now`, open at the old edge: a run started
//!   exactly `n` days before `now` is **out**, a run at `now` is in, a run after `now` is
//!   ignored (so a plan can be replayed as of any past instant). Calendar days (`since`,
//!   `stable_by`, batch days, grace end, deadlines) are UTC days starting at 00:00 UTC.
//! - Dates in harness.toml may be strings (`since = "2026-06-02"`) or bare TOML dates
//!   (`since = 2026-06-02`).
//! - A run's time is its `started_at`. Runs older than the longest window are not kept, so the
//!   grace count only sees executions within it.
//! - A test "failed in a run" when at least one of its executions there failed (retries do not
//!   hide failures). Systemic detection counts every test, quarantined or not; lanes and the
//!   measured pass rate ignore quarantined tests (they fail nobody's change). Runs without a
//!   counted execution are ignored for lanes and the measured pass rate.
//! - Known tests are those in the history (any run) or in [`PlanInput::tests`]; entries
//!   naming neither are [`Plan::unknown_quarantine_entries`].
//!
//! # Scale
//! [`Aggregator`] interns test names to integer ids and keeps one `u32` per counted
//! execution inside the windows; 10,000 tests × 1,000 runs (10 million rows) take well under
//! the 3 s and 500 MB budget (see [`generator::HistorySpec::large`]).

mod aggregate;
mod auto;
pub mod calendar;
mod dates;
pub mod generator;
mod model;
mod owners;
mod plan;
mod policy;

pub use aggregate::{Aggregator, PlanInput, TestKey, percent, plan};
pub use model::{
    Fix, QuarantineConfig, QuarantineEntry, RELEASE_BLOCKER_TAG, TestInfo, owner_of, parse_tags,
    same_commit,
};
pub use owners::{Owners, OwnersError};
pub use plan::{
    BatchInfo, Broken, Candidate, Counts, FixProgress, FlipCount, GraceRelease, IssueDraft, Keep,
    LANE_TESTS_SHOWN, LaneImpact, LaneReport, Plan, Release, Rule, Stability, SystemicRun,
};
pub use policy::{
    FlakyPassCounting, MAX_DAYS, Policy, PolicyError, Preset, QuarantineRule, RequiredLane,
    Statistics, team_from_lane, wilson_lower_bound,
};

#[cfg(test)]
mod tests;
