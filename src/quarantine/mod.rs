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
//! KubeVirt's auto-quarantine robot as its code runs it (`go run ./robots/quarantine auto`,
//! hourly), rule for rule: `quarantine_rule = "per-lane"`, in `auto.rs`. Sources:
//! kubevirt/project-infra@2c863fd (**PI**; `rq/` is `robots/quarantine/cmd/`) and
//! kubevirt/kubevirt@d923fdb (**KV**). Where KubeVirt's docs (KV `docs/quarantine.md`) and the
//! robot's code differ, coalmine follows the code: it is what quarantines KubeVirt's tests, and
//! the point of the preset is that a project run as KubeVirt runs gets the same decisions (the
//! `kubevirt` preset, the default, is the methodology as written).
//! 1. **A 14-day look-back, no 3-day rule.** The impact is over `batch_window_days` (14): PI
//!    `rq/auto-quarantine.go:68` (`daysInThePast`), `pkg/searchci/searchci.go:37`
//!    (`FourteenDays` = 336h). The 3-day / 20 % threshold (`searchci.go:147`) is used only by
//!    the robot's `report` command, so `now_rate` plays no part, although the docs name both
//!    (KV `docs/quarantine.md:50-52`).
//! 2. **Counted runs: presubmit and merged runs of the required lanes.** `trusted_kinds` is
//!    presubmit and merged: the robot drops jobs starting with `periodic` (PI
//!    `pkg/flake-stats/report.go:172-236`) and asks search.ci for presubmit job history with
//!    `excludeName=periodic-.*` (`searchci.go:39,78-81`), the docs' periodics
//!    (`docs/quarantine.md:38-42`) notwithstanding. Only lanes in `required_lanes` count, as
//!    only Prow's required jobs (`!optional && !skip_report`) do (`rq/auto-quarantine.go:91-107,
//!    215`). With `required_lanes` empty, **every lane** of a counted kind counts and
//!    [`Plan::notes`] says so: the robot reads its required set from Prow's job config and
//!    refuses to run without one (`rq/auto-quarantine.go:125-126`), but coalmine's list is
//!    optional configuration (otherwise used only by the optional-lane rule); refusing would
//!    make the preset unusable until it is written, and counting no lane would quarantine
//!    nothing without a word.
//! 3. **Impact at least 5 % on one lane** (`batch_rate`): the share of the lane's counted runs
//!    in the window in which the test failed (search.ci's "= X% impact", `searchci.go:89-139`;
//!    the denominator is all the lane's runs, as search.ci's job runs, whichever tests they
//!    ran), compared `>= 5.0` (`searchci.go:151`): **inclusive**, unlike the rates rule's "over".
//! 4. **Clustered failures** (`systemic_failures`, 5: a suite's `Failed < 5` in the robot): a
//!    lane on which every failure of the test was in a systemic run does not count; otherwise
//!    **every** failure counts, clustered or not, in the impact and the recent failures, and so
//!    do systemic runs in the lane's runs. That is `hasNotOnlyClusteredFailures` (PI
//!    `rq/most-flaky-tests-report.go:238-271`), which keeps an impact as soon as one of its
//!    failing builds had fewer than 5 failures. Weaker than coalmine's own exclusion (which the
//!    rest of the plan keeps: stability, release, the broken rule), but it is the robot's rule.
//! 5. **Recent failures, per lane**: at least `min_recent_failures` (2) failing runs of that
//!    lane at most `max_failure_age_hours` (72, inclusive) old, the **newest and the oldest**
//!    of them at least `min_failure_interval_hours` (24) apart (not each consecutive pair; 0
//!    turns the spread off; one recent failure is never enough), failures of different lanes
//!    never combined: `HasMinRecentFailures` (`searchci.go:165-193`, flags at
//!    `rq/auto-quarantine.go:72-74`). Its unit tests' cases (`pkg/searchci/searchci_test.go:
//!    268-330`) are pinned here too: ages {4h, 36h} pass; {2h, 3h}, {4h, 200h} and {264h, 288h}
//!    fail; {2h, 3h} pass with no spread required.
//! 6. **One lane suffices; the most recent failures first; one per plan.** A test qualifies when
//!    one lane meets 2-5 ([`Candidate::lanes`] lists every such lane, the highest impact first,
//!    as the robot's pull request does). Qualifying tests are ordered as flake-stats'
//!    `TopXTests.Less` (`pkg/flake-stats/types.go:76-118`) orders them, over their failures on
//!    counted lanes: walking back day by day (UTC) from today, a test with failures on a day
//!    the other has none goes first; on a day neither has any, the larger total of the days
//!    walked goes first; then the larger total, the busier (lane, day), the higher average per
//!    (lane, day), and the name. At most `auto_quarantine_max_per_run` (1:
//!    `rq/auto-quarantine.go:69,234-238`) are quarantined at once, the rest are
//!    [`Plan::deferred`]; no batch, no grace. Each reason names the lane and its numbers.
//! 7. **Release.** The robot releases nothing (no job runs a dequarantine; the docs have the
//!    SIG open that pull request by hand). The docs release at "a failure rate of 0.1 % or
//!    less" (`docs/quarantine.md:113`), and the repeated-run lane
//!    `pull-kubevirt-check-dequarantine-test` runs the test 500 times and passes only if all
//!    do (PI `github/ci/prow-deploy/files/jobs/kubevirt/kubevirt/kubevirt-presubmits.yaml:270-310`,
//!    KV `automation/repeated_test.sh`). coalmine's release rule keeps its shape (14 days after
//!    `stable_by`) with `release_max_rate` = 0.001 over at least `release_sample_min` = 500
//!    executions, on periodic, presubmit and merged runs (`release_kinds`: that lane is a
//!    presubmit): 500 clean executions meet both (one failure in 500 is 0.2 %), and a larger
//!    sample may fail 0.1 % of the time.
//! 8. **Broken stays on** (`broken_min_runs`, 5), a guard the robot lacks: a test failing every
//!    counted run since a commit is [`Broken`], never quarantined, and a fixed breakage's
//!    failures leave the per-lane rule as they leave the rates. The robot would quarantine the
//!    regression and hide it; `broken_min_runs = 0` gives the robot's behaviour.
//!
//! Not carried over, and why: the Ginkgo source lookup and its `AfterSuite` exclusion
//! (`rq/auto-quarantine.go:135,188-192`: coalmine quarantines by id, any test it has results
//! for); the lane-name regex and the `rehearsal` / `check-tests-for-flakes` /
//! `check-dequarantine-test` URL filters (`rq/most-flaky-tests-report.go:213-219`:
//! `required_lanes` names the lanes, and those are optional in KubeVirt); search.ci's rounded
//! relative ages (coalmine has start times, so its 72 h and 24 h edges are exact); flake-stats'
//! own data for the order (merged PRs' final head on any lane matching the regex, required or
//! not: coalmine has one history and orders by the failures the rule counts); the comparator's
//! asymmetry (on a day neither test failed, only "i's total is larger" decides in Go, so the
//! order depends on the sort; coalmine decides either way, which is a total order); the
//! `sig compute` owner fallback (`rq/labels.go:74`: coalmine's owner rule stands, and a
//! quarantined test without an owner blocks `apply`); the hourly schedule and the
//! "no open pull request labelled `lgtm`, `approved` or `do-not-merge/hold`" guard
//! (`hack/git-pr.sh`): that is the CI's job around `coalmine quarantine apply`.
//!
//! In either preset, opt-in for small samples: `min_runs` (distinct runs with an execution in
//! the window; per-lane rule: the lane's runs) and `statistics = "wilson"` (the Wilson lower
//! bound with continuity correction must be over the threshold, so one failure in three runs
//! does not quarantine; per-lane rule: of the impact, at least the threshold). The rates rule
//! with `auto_quarantine_max_per_run` above 0 quarantines every candidate (either rule) at once,
//! ranked (3-day rule first, then by score, failures and name).
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
//! the 3 s and 500 MB budget (see [`generator::HistorySpec::large`]). The per-lane rule adds
//! one counter per lane and one 32-byte record per failure (a test failing in a counted run of
//! a counted lane in the window), nothing per passing execution.

mod aggregate;
mod auto;
pub mod calendar;
mod dates;
mod explain;
pub mod generator;
mod model;
mod owners;
mod plan;
mod policy;

pub use aggregate::{Aggregator, PlanInput, TestKey, plan};
pub use explain::{
    Decision, Explanation, LeftOut, OwnerSource, QuarantineProgress, RuleCheck, StreakInfo,
    SystemicExecution, UntrustedKind,
};
pub use model::{
    Fix, QuarantineConfig, QuarantineEntry, RELEASE_BLOCKER_TAG, TestInfo, owner_of, parse_tags,
    same_commit,
};
pub use owners::{Owners, OwnersError};
pub use plan::{
    BatchInfo, Broken, Candidate, Counts, FailingTest, FixProgress, GraceRelease, IssueDraft, Keep,
    LANE_TESTS_SHOWN, LaneImpact, LaneReport, Plan, Release, Rule, Stability, SystemicRun, percent,
};
pub use policy::{
    FlakyPassCounting, MAX_DAYS, Policy, PolicyError, Preset, QuarantineRule, RequiredLane,
    Statistics, team_from_lane, wilson_lower_bound,
};

#[cfg(test)]
mod tests;
