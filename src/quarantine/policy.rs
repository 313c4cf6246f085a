//! The `[policy]` table of harness.toml: every number of the quarantine methodology, defaulted to
//! a preset and overridable one by one.
//!
//! Rates and goals are **fractions** in `0..=1` (`batch_rate = 0.05` is 5 %); a value over 1 is
//! refused with a hint, so `batch_rate = 5` cannot silently mean 500 %. Windows and periods are
//! whole days of 24 hours. Unknown keys are refused.
//!
//! ```toml
//! [policy]
//! preset = "kubevirt"          # or "auto-quarantine"; the other keys override the preset
//! batch_anchor = "2026-01-05"  # a batch day; batches every `batch_every_days` from it
//! required_lanes = ["pull-e2e-sig-compute", { lane = "pull-e2e-net", team = "sig-network" }]
//! ```

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::dates::FlexDate;
use crate::history::model::RunKind;

/// Which set of defaults a policy starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The methodology as written: quarantine at once over 20 % in 3 days, in a biweekly batch
    /// over 5 % in 14 days, release after 14 clean periodic days from the team's date.
    #[default]
    Kubevirt,
    /// KubeVirt's auto-quarantine robot (kubevirt/project-infra@2c863fd,
    /// `robots/quarantine/cmd/auto-quarantine.go`), rule for rule: the
    /// [`QuarantineRule::PerLane`] rule over presubmit and merged runs
    /// (`trusted_kinds`) of the required lanes: a test that failed in at least 5 % of one
    /// lane's runs in the last 14 days, at least 2 times in the last 72 hours with the newest
    /// and the oldest of those at least 24 hours apart, is quarantined at once, at most one per
    /// plan (`auto_quarantine_max_per_run = 1`, the tests with the most recent failures first;
    /// the rest are deferred), with no batch and no 3-day rule. The robot releases nothing; a
    /// test is released at a failure rate of at most 0.1 % over at least 500 executions (the
    /// docs' 0.1 %, and the 500 runs of KubeVirt's dequarantine lane, which must all pass).
    /// The broken rule stays on. See [`crate::quarantine`] for the sources and the deviations.
    AutoQuarantine,
}

impl Preset {
    /// The spelling used in harness.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Kubevirt => "kubevirt",
            Preset::AutoQuarantine => "auto-quarantine",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which statistic a quarantine threshold is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistics {
    /// The observed rate, `failed / (passed + failed)`.
    #[default]
    Plain,
    /// The lower bound of the Wilson score interval with continuity correction (Newcombe 1998,
    /// method 4) at `wilson_z`: a test is quarantined only when its rate is over the threshold
    /// with that confidence, so that one failure in three runs (bound 1.8 % at z = 1.96) does
    /// not quarantine it. The continuity correction matters: the uncorrected bound for 1 of 3
    /// is 6.1 %, over the 5 % threshold. Release decisions do not use it.
    Wilson,
}

/// Which rule makes a test a quarantine candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuarantineRule {
    /// The methodology's rates: a test's failure rate over all its counted executions, over
    /// `now_rate` in `now_window_days` or over `batch_rate` in `batch_window_days`.
    #[default]
    Rates,
    /// KubeVirt's auto-quarantine robot, lane by lane: on at least one required lane (every
    /// lane when `required_lanes` is empty), the test failed in at least `batch_rate` of the
    /// lane's runs in `batch_window_days` (inclusive), in at least one run with fewer than
    /// `systemic_failures` failed tests, and at least `min_recent_failures` times in the last
    /// `max_failure_age_hours`, the newest and the oldest of those at least
    /// `min_failure_interval_hours` apart. Needs `auto_quarantine_max_per_run` of 1 or more.
    PerLane,
}

/// How an execution recorded as `flaky-pass` (failed, then passed on a retry within one row)
/// is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlakyPassCounting {
    /// As one failed and one passed execution: the failure happened, retries only hid it.
    #[default]
    FailAndPass,
    /// As one passed execution only.
    Pass,
}

/// A lane that gates merges, with the team that owns it.
///
/// In harness.toml either a lane name (the team is then the `sig-<word>` part of the name, e.g.
/// `sig-compute` in `pull-e2e-sig-compute-migrations`) or a table `{ lane = "...", team = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredLane {
    /// The lane (CI job) name, exactly as recorded in runs.
    pub lane: String,
    /// The owning team, when given explicitly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

impl RequiredLane {
    /// A required lane whose team is read from its name.
    pub fn new(lane: impl Into<String>) -> RequiredLane {
        RequiredLane {
            lane: lane.into(),
            team: None,
        }
    }

    /// The owning team: the explicit one, else the `sig-<word>` part of the lane name.
    pub fn team(&self) -> Option<String> {
        self.team.clone().or_else(|| team_from_lane(&self.lane))
    }
}

/// The `sig-<word>` part of a lane name (`periodic-e2e-sig-compute` → `sig-compute`).
pub fn team_from_lane(lane: &str) -> Option<String> {
    let mut parts = lane.split(['-', '_', '/', '.']);
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("sig") {
            return parts
                .next()
                .filter(|word| !word.is_empty())
                .map(|word| format!("sig-{word}"));
        }
    }
    None
}

impl<'de> Deserialize<'de> for RequiredLane {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LaneVisitor;
        impl<'de> serde::de::Visitor<'de> for LaneVisitor {
            type Value = RequiredLane;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a lane name or a table { lane = \"...\", team = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RequiredLane, E> {
                if value.is_empty() {
                    return Err(E::custom("a required lane name cannot be empty"));
                }
                Ok(RequiredLane::new(value))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RequiredLane, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Table {
                    lane: String,
                    team: Option<String>,
                }
                let table = Table::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                if table.lane.is_empty() {
                    return Err(serde::de::Error::custom(
                        "a required lane name cannot be empty",
                    ));
                }
                Ok(RequiredLane {
                    lane: table.lane,
                    team: table.team,
                })
            }
        }
        deserializer.deserialize_any(LaneVisitor)
    }
}

/// Every number of the methodology. Build one with [`Policy::kubevirt`] (also the
/// [`Default`]), [`Policy::auto_quarantine`] or [`Policy::preset`], or deserialize it from a
/// `[policy]` table (missing keys take the preset's value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPolicy")]
pub struct Policy {
    /// The preset the defaults came from.
    pub preset: Preset,
    /// Run kinds that count for per-test rates (the per-lane rule's counted runs) and suite
    /// stability (default: periodic and merged, the methodology's trusted runs;
    /// auto-quarantine preset: presubmit and merged, the robot's presubmit lanes).
    pub trusted_kinds: Vec<RunKind>,
    /// A run in which at least this many distinct tests failed is systemic (an infrastructure
    /// failure) and is excluded from per-test rates, grace and release (default 5).
    pub systemic_failures: u32,
    /// Quarantine at once when the failure rate is over this fraction (default 0.20) ...
    pub now_rate: f64,
    /// ... over this many days (default 3).
    pub now_window_days: u32,
    /// Quarantine in the next batch when the failure rate is over this fraction (default
    /// 0.05; with the per-lane rule, the lowest share of a lane's runs a test must have failed
    /// in, inclusive) ...
    pub batch_rate: f64,
    /// ... over this many days (default 14; the per-lane rule's look-back too).
    pub batch_window_days: u32,
    /// One batch day; batch days are this date plus any multiple of `batch_every_days`
    /// (default 2024-01-01, a Monday).
    pub batch_anchor: Date,
    /// Days between batches (default 14: every second Monday).
    pub batch_every_days: u32,
    /// Days from a batch day during which a fixed test can leave the batch (default 2: the
    /// batch day and the next day; the grace ends at 00:00 UTC of the day after).
    pub grace_days: u32,
    /// Consecutive passing executions after the fix needed to leave the batch (default 5).
    pub grace_passes: u32,
    /// Days after `stable_by` that must be clean before release (default 14).
    pub release_days: u32,
    /// Run kinds whose executions count for release (default: periodic; auto-quarantine
    /// preset: periodic, presubmit and merged, since KubeVirt's dequarantine lane is a
    /// presubmit).
    pub release_kinds: Vec<RunKind>,
    /// The highest failure rate at which a test is released (default 0: no failure;
    /// auto-quarantine preset 0.001).
    pub release_max_rate: f64,
    /// The fewest executions in the release window for a release (default 1;
    /// auto-quarantine preset 500, the runs of KubeVirt's dequarantine lane).
    pub release_sample_min: u32,
    /// Days over which lanes are measured (default 7).
    pub lane_window_days: u32,
    /// Run kinds counted for lanes (default: periodic, presubmit and merged; not local).
    pub lane_kinds: Vec<RunKind>,
    /// A required lane whose failure rate is over this fraction (default 0.25) ...
    pub lane_rate: f64,
    /// ... with more than this many distinct failing tests (default 10) is a candidate to be
    /// made optional.
    pub lane_distinct_tests: u32,
    /// Days the lane's team has to deliver a fix, shown as a deadline (default 7).
    pub lane_fix_days: u32,
    /// The lanes that gate merges (default none).
    pub required_lanes: Vec<RequiredLane>,
    /// The suite pass rate the CI aims for (default 0.90).
    pub goal: f64,
    /// Days over which suite stability is measured (default 14).
    pub stability_window_days: u32,
    /// The fewest distinct runs with an execution of a test in a window before a quarantine
    /// rule may apply to it (default 0: no minimum).
    pub min_runs: u32,
    /// Which statistic the quarantine thresholds are compared with (default plain).
    pub statistics: Statistics,
    /// The normal quantile of the Wilson bound (default 1.96, 95 % two-sided).
    pub wilson_z: f64,
    /// When above 0, every candidate is quarantined at once, at most this many per plan, the
    /// rest deferred, and there are no batches (default 0; auto-quarantine preset 1).
    pub auto_quarantine_max_per_run: u32,
    /// How `flaky-pass` executions are counted (default fail-and-pass).
    pub flaky_pass: FlakyPassCounting,
    /// The branch named in release-blocker drafts, `/release-blocker <branch>` (default main).
    pub release_branch: String,
    /// A test whose trusted, non-systemic runs have all failed for at least this many runs in a
    /// row, over at least 2 commits, with no pass on any of those commits, is **broken**, not
    /// flaky: never a quarantine candidate (default 5; 0 turns the rule off). See
    /// [`crate::quarantine`] for the trade-off.
    pub broken_min_runs: u32,
    /// Whether a candidate must have flipped (passed and failed on one commit) in its rule's
    /// window to be proposed; one that did not is reported as failing, not shown to be flaky
    /// (default false).
    pub require_flip: bool,
    /// Which rule makes a test a candidate (default rates; auto-quarantine preset per-lane).
    pub quarantine_rule: QuarantineRule,
    /// Per-lane rule: the failures that count as recent are those in runs started at most this
    /// many hours before `now`, inclusive (default 72, the robot's `max-failure-age`).
    pub max_failure_age_hours: u32,
    /// Per-lane rule: the fewest recent failing runs on the lane (default 2, the robot's
    /// `min-recent-failures`).
    pub min_recent_failures: u32,
    /// Per-lane rule: the newest and the oldest recent failure must be at least this many hours
    /// apart (default 24, the robot's `min-failure-interval`; 0 turns the check off).
    pub min_failure_interval_hours: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::kubevirt()
    }
}

impl Policy {
    /// The longest window the policy looks at, in days: runs older than this are not read.
    pub fn horizon_days(&self) -> u32 {
        [
            self.now_window_days,
            self.batch_window_days,
            self.stability_window_days,
            self.release_days,
            self.lane_window_days,
        ]
        .into_iter()
        .max()
        .unwrap_or(1)
    }

    /// The methodology's numbers.
    pub fn kubevirt() -> Policy {
        Policy {
            preset: Preset::Kubevirt,
            trusted_kinds: vec![RunKind::Periodic, RunKind::Merged],
            systemic_failures: 5,
            now_rate: 0.20,
            now_window_days: 3,
            batch_rate: 0.05,
            batch_window_days: 14,
            batch_anchor: Date::constant(2024, 1, 1),
            batch_every_days: 14,
            grace_days: 2,
            grace_passes: 5,
            release_days: 14,
            release_kinds: vec![RunKind::Periodic],
            release_max_rate: 0.0,
            release_sample_min: 1,
            lane_window_days: 7,
            lane_kinds: vec![RunKind::Periodic, RunKind::Presubmit, RunKind::Merged],
            lane_rate: 0.25,
            lane_distinct_tests: 10,
            lane_fix_days: 7,
            required_lanes: Vec::new(),
            goal: 0.90,
            stability_window_days: 14,
            min_runs: 0,
            statistics: Statistics::Plain,
            wilson_z: 1.96,
            auto_quarantine_max_per_run: 0,
            flaky_pass: FlakyPassCounting::FailAndPass,
            release_branch: "main".to_owned(),
            broken_min_runs: 5,
            require_flip: false,
            quarantine_rule: QuarantineRule::Rates,
            max_failure_age_hours: 72,
            min_recent_failures: 2,
            min_failure_interval_hours: 24,
        }
    }

    /// KubeVirt's auto-quarantine robot: the per-lane rule over presubmit and merged runs of
    /// the required lanes, at most one test per plan, release at ≤ 0.1 % over at least 500
    /// executions of any non-local kind.
    pub fn auto_quarantine() -> Policy {
        Policy {
            preset: Preset::AutoQuarantine,
            trusted_kinds: vec![RunKind::Presubmit, RunKind::Merged],
            quarantine_rule: QuarantineRule::PerLane,
            auto_quarantine_max_per_run: 1,
            release_kinds: vec![RunKind::Periodic, RunKind::Presubmit, RunKind::Merged],
            release_max_rate: 0.001,
            release_sample_min: 500,
            ..Policy::kubevirt()
        }
    }

    /// The defaults of a preset.
    pub fn preset(preset: Preset) -> Policy {
        match preset {
            Preset::Kubevirt => Policy::kubevirt(),
            Preset::AutoQuarantine => Policy::auto_quarantine(),
        }
    }

    /// Whether candidates go straight to quarantine, ranked and limited, with no batch.
    pub fn is_auto(&self) -> bool {
        self.auto_quarantine_max_per_run > 0
    }

    /// Whether candidates come from the per-lane rule of KubeVirt's robot.
    pub fn is_per_lane(&self) -> bool {
        self.quarantine_rule == QuarantineRule::PerLane
    }

    /// Whether runs of this kind count for per-test rates and stability.
    pub fn is_trusted(&self, kind: RunKind) -> bool {
        self.trusted_kinds.contains(&kind)
    }

    /// The required lane with this name, if any.
    pub fn required_lane(&self, lane: &str) -> Option<&RequiredLane> {
        self.required_lanes
            .iter()
            .find(|required| required.lane == lane)
    }

    /// The statistic compared with a quarantine threshold: the rate, or its Wilson lower bound.
    /// `None` when nothing was counted.
    pub fn score(&self, failed: u64, counted: u64) -> Option<f64> {
        if counted == 0 {
            return None;
        }
        Some(match self.statistics {
            Statistics::Plain => failed as f64 / counted as f64,
            Statistics::Wilson => wilson_lower_bound(failed, counted, self.wilson_z),
        })
    }

    /// Checks the ranges of every value; the message names the key and says what to write.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let fractions = [
            ("now_rate", self.now_rate),
            ("batch_rate", self.batch_rate),
            ("release_max_rate", self.release_max_rate),
            ("lane_rate", self.lane_rate),
            ("goal", self.goal),
        ];
        for (key, value) in fractions {
            if !(0.0..=1.0).contains(&value) {
                let hint = if value > 1.0 && value <= 100.0 {
                    format!(
                        " (rates are fractions: write {} for {value} %)",
                        value / 100.0
                    )
                } else {
                    String::new()
                };
                return Err(PolicyError(format!(
                    "`{key}` = {value} is not a fraction between 0 and 1{hint}"
                )));
            }
        }
        let days = [
            ("now_window_days", self.now_window_days),
            ("batch_window_days", self.batch_window_days),
            ("batch_every_days", self.batch_every_days),
            ("release_days", self.release_days),
            ("lane_window_days", self.lane_window_days),
            ("stability_window_days", self.stability_window_days),
        ];
        for (key, value) in days {
            if !(1..=MAX_DAYS).contains(&value) {
                return Err(PolicyError(format!(
                    "`{key}` = {value} must be between 1 and {MAX_DAYS} days"
                )));
            }
        }
        if self.lane_fix_days > MAX_DAYS {
            return Err(PolicyError(format!(
                "`lane_fix_days` = {} must be at most {MAX_DAYS} days",
                self.lane_fix_days
            )));
        }
        if self.grace_days >= self.batch_every_days {
            return Err(PolicyError(format!(
                "`grace_days` = {} must be shorter than `batch_every_days` = {}",
                self.grace_days, self.batch_every_days
            )));
        }
        let at_least_one = [
            ("systemic_failures", self.systemic_failures),
            ("grace_passes", self.grace_passes),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(PolicyError(format!("`{key}` must be at least 1")));
            }
        }
        if self.broken_min_runs == 1 {
            return Err(PolicyError(
                "`broken_min_runs` = 1 cannot be met (a broken streak spans at least 2 commits, so \
                 at least 2 runs): write 2 or more, or 0 to turn the broken rule off"
                    .to_owned(),
            ));
        }
        if !(self.wilson_z.is_finite() && self.wilson_z > 0.0) {
            return Err(PolicyError(format!(
                "`wilson_z` = {} must be a positive number (1.96 for 95 %)",
                self.wilson_z
            )));
        }
        if self.trusted_kinds.is_empty() {
            return Err(PolicyError(
                "`trusted_kinds` cannot be empty (the methodology trusts periodic and merged)"
                    .to_owned(),
            ));
        }
        if self.release_branch.trim().is_empty() {
            return Err(PolicyError("`release_branch` cannot be empty".to_owned()));
        }
        if self.is_per_lane() {
            self.validate_per_lane()?;
        }
        Ok(())
    }

    /// The per-lane rule's own keys, checked only when it is the rule.
    fn validate_per_lane(&self) -> Result<(), PolicyError> {
        if self.auto_quarantine_max_per_run == 0 {
            return Err(PolicyError(
                "`quarantine_rule` = \"per-lane\" quarantines at once, with no batch: write \
                 `auto_quarantine_max_per_run` = 1 (the robot's max-tests-to-quarantine) or more, \
                 or `quarantine_rule` = \"rates\" for batches"
                    .to_owned(),
            ));
        }
        let window_hours = self.batch_window_days.saturating_mul(24);
        if !(1..=window_hours).contains(&self.max_failure_age_hours) {
            return Err(PolicyError(format!(
                "`max_failure_age_hours` = {} must be between 1 and {window_hours} (the \
                 {}-day `batch_window_days`): write 72 for the robot's three days",
                self.max_failure_age_hours, self.batch_window_days
            )));
        }
        if self.min_recent_failures == 0 {
            return Err(PolicyError(
                "`min_recent_failures` must be at least 1: write 2 for the robot's rule, or 1 \
                 to need a single recent failure"
                    .to_owned(),
            ));
        }
        if self.min_failure_interval_hours > self.max_failure_age_hours {
            return Err(PolicyError(format!(
                "`min_failure_interval_hours` = {} cannot be met within `max_failure_age_hours` \
                 = {}: write at most {} (24 for the robot's rule), or 0 to turn the check off",
                self.min_failure_interval_hours,
                self.max_failure_age_hours,
                self.max_failure_age_hours
            )));
        }
        Ok(())
    }
}

/// The longest window accepted, in days (ten years).
pub const MAX_DAYS: u32 = 3650;

/// An invalid `[policy]` value; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// The lower bound of the Wilson score interval with continuity correction for `failed`
/// failures in `counted` executions at normal quantile `z` (0 when nothing failed).
pub fn wilson_lower_bound(failed: u64, counted: u64, z: f64) -> f64 {
    if counted == 0 || failed == 0 {
        return 0.0;
    }
    let n = counted as f64;
    let p = failed as f64 / n;
    let z2 = z * z;
    let root = (z2 - 1.0 / n + 4.0 * n * p * (1.0 - p) + (4.0 * p - 2.0)).max(0.0);
    let lower = (2.0 * n * p + z2 - (z * root.sqrt() + 1.0)) / (2.0 * (n + z2));
    lower.clamp(0.0, 1.0)
}

/// The `[policy]` table as written: every key optional, unknown keys refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    preset: Option<Preset>,
    trusted_kinds: Option<Vec<RunKind>>,
    systemic_failures: Option<u32>,
    now_rate: Option<f64>,
    now_window_days: Option<u32>,
    batch_rate: Option<f64>,
    batch_window_days: Option<u32>,
    batch_anchor: Option<FlexDate>,
    batch_every_days: Option<u32>,
    grace_days: Option<u32>,
    grace_passes: Option<u32>,
    release_days: Option<u32>,
    release_kinds: Option<Vec<RunKind>>,
    release_max_rate: Option<f64>,
    release_sample_min: Option<u32>,
    lane_window_days: Option<u32>,
    lane_kinds: Option<Vec<RunKind>>,
    lane_rate: Option<f64>,
    lane_distinct_tests: Option<u32>,
    lane_fix_days: Option<u32>,
    required_lanes: Option<Vec<RequiredLane>>,
    goal: Option<f64>,
    stability_window_days: Option<u32>,
    min_runs: Option<u32>,
    statistics: Option<Statistics>,
    wilson_z: Option<f64>,
    auto_quarantine_max_per_run: Option<u32>,
    flaky_pass: Option<FlakyPassCounting>,
    release_branch: Option<String>,
    broken_min_runs: Option<u32>,
    require_flip: Option<bool>,
    quarantine_rule: Option<QuarantineRule>,
    max_failure_age_hours: Option<u32>,
    min_recent_failures: Option<u32>,
    min_failure_interval_hours: Option<u32>,
}

impl TryFrom<RawPolicy> for Policy {
    type Error = PolicyError;

    fn try_from(raw: RawPolicy) -> Result<Policy, PolicyError> {
        let base = Policy::preset(raw.preset.unwrap_or_default());
        let policy = Policy {
            preset: base.preset,
            trusted_kinds: raw.trusted_kinds.unwrap_or(base.trusted_kinds),
            systemic_failures: raw.systemic_failures.unwrap_or(base.systemic_failures),
            now_rate: raw.now_rate.unwrap_or(base.now_rate),
            now_window_days: raw.now_window_days.unwrap_or(base.now_window_days),
            batch_rate: raw.batch_rate.unwrap_or(base.batch_rate),
            batch_window_days: raw.batch_window_days.unwrap_or(base.batch_window_days),
            batch_anchor: raw.batch_anchor.map_or(base.batch_anchor, |date| date.0),
            batch_every_days: raw.batch_every_days.unwrap_or(base.batch_every_days),
            grace_days: raw.grace_days.unwrap_or(base.grace_days),
            grace_passes: raw.grace_passes.unwrap_or(base.grace_passes),
            release_days: raw.release_days.unwrap_or(base.release_days),
            release_kinds: raw.release_kinds.unwrap_or(base.release_kinds),
            release_max_rate: raw.release_max_rate.unwrap_or(base.release_max_rate),
            release_sample_min: raw.release_sample_min.unwrap_or(base.release_sample_min),
            lane_window_days: raw.lane_window_days.unwrap_or(base.lane_window_days),
            lane_kinds: raw.lane_kinds.unwrap_or(base.lane_kinds),
            lane_rate: raw.lane_rate.unwrap_or(base.lane_rate),
            lane_distinct_tests: raw.lane_distinct_tests.unwrap_or(base.lane_distinct_tests),
            lane_fix_days: raw.lane_fix_days.unwrap_or(base.lane_fix_days),
            required_lanes: raw.required_lanes.unwrap_or(base.required_lanes),
            goal: raw.goal.unwrap_or(base.goal),
            stability_window_days: raw
                .stability_window_days
                .unwrap_or(base.stability_window_days),
            min_runs: raw.min_runs.unwrap_or(base.min_runs),
            statistics: raw.statistics.unwrap_or(base.statistics),
            wilson_z: raw.wilson_z.unwrap_or(base.wilson_z),
            auto_quarantine_max_per_run: raw
                .auto_quarantine_max_per_run
                .unwrap_or(base.auto_quarantine_max_per_run),
            flaky_pass: raw.flaky_pass.unwrap_or(base.flaky_pass),
            release_branch: raw.release_branch.unwrap_or(base.release_branch),
            broken_min_runs: raw.broken_min_runs.unwrap_or(base.broken_min_runs),
            require_flip: raw.require_flip.unwrap_or(base.require_flip),
            quarantine_rule: raw.quarantine_rule.unwrap_or(base.quarantine_rule),
            max_failure_age_hours: raw
                .max_failure_age_hours
                .unwrap_or(base.max_failure_age_hours),
            min_recent_failures: raw.min_recent_failures.unwrap_or(base.min_recent_failures),
            min_failure_interval_hours: raw
                .min_failure_interval_hours
                .unwrap_or(base.min_failure_interval_hours),
        };
        policy.validate()?;
        Ok(policy)
    }
}
