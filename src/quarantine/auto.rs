//! The per-lane quarantine rule (`quarantine_rule = "per-lane"`, the `auto-quarantine` preset):
//! KubeVirt's auto-quarantine robot (kubevirt/project-infra@2c863fd,
//! `robots/quarantine/cmd/auto-quarantine.go`, `pkg/searchci/searchci.go`,
//! `pkg/flake-stats/types.go`) as a part of the streaming fold. The finisher's time-ordered pass
//! hands [`LaneRule::run`] every run of a counted kind in the look-back window (its lane, rank,
//! start, failing tests, and whether it is systemic) and [`LaneRule::forget`] every fixed
//! breakage; [`LaneRule::finish`] then judges each test lane by lane (impact at least
//! `batch_rate`, not only clustered failures, enough recent failures far enough apart) and
//! orders the tests that qualify on at least one lane as the robot does: the most recent
//! failure day first ([`Match::cmp_recency`]). Memory: one counter per lane and one 32-byte
//! record per failure (a test failing in a counted run of a counted lane within the window),
//! nothing per passing execution and no test × lane table. The sources of each rule and where
//! coalmine departs from them are in [`crate::quarantine`].

use std::cmp::Ordering;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::calendar::{days_between, utc_date};
use super::plan::{LaneImpact, percent};
use super::policy::Policy;

/// A test that failed in a counted run of a counted lane within the window.
#[derive(Debug, Clone, Copy)]
struct Failure {
    at: Timestamp,
    test: u32,
    lane: u32,
    /// The run's rank in time order.
    rank: u32,
    /// Days from the run's UTC day to today.
    day: u16,
    /// Whether the run was systemic (`systemic_failures` or more failed tests).
    clustered: bool,
}

/// The per-lane rule's state during the time-ordered pass.
pub(super) struct LaneRule<'p> {
    policy: &'p Policy,
    today: Date,
    /// The oldest start of a recent failure (inclusive, as the robot's `<= maxAge`).
    recent_from: Timestamp,
    /// Per lane index: whether it counts (required, or every lane without `required_lanes`).
    counted: Vec<bool>,
    /// Per lane index: counted runs in the window, systemic ones included.
    lane_runs: Vec<u32>,
    failures: Vec<Failure>,
    /// Fixed breakages: (test, first rank, last rank).
    fixed: Vec<(u32, u32, u32)>,
}

impl<'p> LaneRule<'p> {
    /// The rule as of `now`, for the aggregator's lanes (by index).
    pub(super) fn new(policy: &'p Policy, now: Timestamp, lanes: &[String]) -> LaneRule<'p> {
        let every_lane = policy.required_lanes.is_empty();
        let age = SignedDuration::from_hours(i64::from(policy.max_failure_age_hours));
        LaneRule {
            policy,
            today: utc_date(now),
            recent_from: now.checked_sub(age).unwrap_or(Timestamp::MIN),
            counted: lanes
                .iter()
                .map(|lane| every_lane || policy.required_lane(lane).is_some())
                .collect(),
            lane_runs: vec![0; lanes.len()],
            failures: Vec::new(),
            fixed: Vec::new(),
        }
    }

    /// A run, in time order. `in_window`: of a counted kind (`trusted_kinds`) and within
    /// `batch_window_days`; `clustered`: systemic; `failing`: the tests that failed in it.
    pub(super) fn run(
        &mut self,
        lane: u32,
        rank: u32,
        at: Timestamp,
        in_window: bool,
        clustered: bool,
        failing: &[u32],
    ) {
        if !in_window || !self.counted[lane as usize] {
            return;
        }
        self.lane_runs[lane as usize] += 1;
        if failing.is_empty() {
            return;
        }
        let day = days_between(utc_date(at), self.today).clamp(0, i64::from(u16::MAX)) as u16;
        self.failures.extend(failing.iter().map(|&test| Failure {
            at,
            test,
            lane,
            rank,
            day,
            clustered,
        }));
    }

    /// A broken streak of `test` (ranks `first..=last`) that a pass ended: the regression was
    /// fixed, so its failures leave the rule, as they leave the rates.
    pub(super) fn forget(&mut self, test: u32, first: u32, last: u32) {
        self.fixed.push((test, first, last));
    }

    /// Judges every test lane by lane; `name` breaks the last ties of the order. For each
    /// `watched` test (those `quarantine explain` and the html report explain), every counted
    /// lane it failed on is judged with its numbers and the first rule it did not meet
    /// ([`Found::watched`], in the order of `watched`).
    pub(super) fn finish<'n>(
        mut self,
        lanes: &[String],
        name: impl Fn(u32) -> &'n str,
        watched: &[u32],
    ) -> Found {
        if !self.fixed.is_empty() {
            self.fixed.sort_unstable();
            let fixed = &self.fixed;
            self.failures.retain(|failure| {
                let from = fixed.partition_point(|&(test, _, _)| test < failure.test);
                !fixed[from..]
                    .iter()
                    .take_while(|&&(test, _, _)| test == failure.test)
                    .any(|&(_, first, last)| (first..=last).contains(&failure.rank))
            });
        }
        self.failures
            .sort_unstable_by_key(|failure| (failure.test, failure.lane, failure.rank));
        let days = self.policy.batch_window_days as usize + 1;
        let mut tests = Vec::new();
        let mut watched_lanes: Vec<Vec<LaneVerdict>> = watched.iter().map(|_| Vec::new()).collect();
        for failures in self.failures.chunk_by(|a, b| a.test == b.test) {
            for (position, _) in watched
                .iter()
                .enumerate()
                .filter(|&(_, &id)| id == failures[0].test)
            {
                watched_lanes[position] = failures
                    .chunk_by(|a, b| a.lane == b.lane)
                    .map(|on_lane| self.evaluate(on_lane, lanes))
                    .collect();
            }
            let mut per_day = vec![0u32; days];
            let (mut busiest, mut lane_days) = (0u32, 0u32);
            let mut met = Vec::new();
            for on_lane in failures.chunk_by(|a, b| a.lane == b.lane) {
                for on_day in on_lane.chunk_by(|a, b| a.day == b.day) {
                    let count = on_day.len() as u32;
                    if let Some(total) = per_day.get_mut(usize::from(on_day[0].day)) {
                        *total += count;
                    }
                    busiest = busiest.max(count);
                    lane_days += 1;
                }
                met.extend(self.judge(on_lane, lanes));
            }
            if met.is_empty() {
                continue;
            }
            met.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(b.impact.total_cmp(&a.impact))
                    .then_with(|| a.lane.cmp(&b.lane))
            });
            tests.push(Match {
                test: failures[0].test,
                lanes: met,
                per_day,
                total: failures.len() as u64,
                busiest,
                lane_days,
            });
        }
        let mut order: Vec<u32> = (0..tests.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&tests[a as usize], &tests[b as usize]);
            a.cmp_recency(b)
                .then_with(|| name(a.test).cmp(name(b.test)))
        });
        Found {
            tests,
            order,
            watched: watched_lanes,
        }
    }

    /// Rules 3 to 5 on one lane's failures of one test (in time order).
    fn judge(&self, failures: &[Failure], lanes: &[String]) -> Option<LaneImpact> {
        self.evaluate(failures, lanes).met
    }

    /// [`judge`](LaneRule::judge), with the numbers and the first rule not met.
    fn evaluate(&self, failures: &[Failure], lanes: &[String]) -> LaneVerdict {
        let policy = self.policy;
        let lane = failures[0].lane as usize;
        let runs = u64::from(self.lane_runs[lane]);
        let failed = failures.len() as u64;
        let name = lanes[lane].clone();
        let summary = |why: String| {
            format!(
                "lane {name}: failed in {failed} of its {runs} counted run(s) in the last {} days \
                 ({}): {why}",
                policy.batch_window_days,
                percent(if runs == 0 {
                    0.0
                } else {
                    failed as f64 / runs as f64
                })
            )
        };
        let not_met = |why: String| LaneVerdict {
            lane: name.clone(),
            runs,
            failed,
            met: None,
            summary: summary(why),
        };
        if runs < u64::from(policy.min_runs) {
            return not_met(format!("fewer runs than `min_runs` = {}", policy.min_runs));
        }
        // Impact: `Percent >= 5.0` (searchci.go, `matchingTimeRange`): at least, not over.
        let Some(score) = policy.score(failed, runs) else {
            return not_met("no counted run".to_owned());
        };
        if score < policy.batch_rate {
            return not_met(format!("impact under {}", percent(policy.batch_rate)));
        }
        // Clustering: dropped only when every failure is in a systemic run
        // (`hasNotOnlyClusteredFailures`, most-flaky-tests-report.go).
        let clustered = failures.iter().filter(|failure| failure.clustered).count() as u64;
        if clustered == failed {
            return not_met(format!(
                "every failure was in a run with {} or more failed tests",
                policy.systemic_failures
            ));
        }
        // Recency (`HasMinRecentFailures`, searchci.go): at least `min_recent_failures` runs at
        // most `max_failure_age_hours` old, the newest and the oldest of them at least
        // `min_failure_interval_hours` apart; at least one in any case.
        let recent = &failures[failures.partition_point(|failure| failure.at < self.recent_from)..];
        let (Some(oldest), Some(newest)) = (recent.first(), recent.last()) else {
            return not_met(format!(
                "no failure in the last {} hours",
                policy.max_failure_age_hours
            ));
        };
        let (oldest, newest) = (oldest.at, newest.at);
        if (recent.len() as u64) < u64::from(policy.min_recent_failures) {
            return not_met(format!(
                "{} failure(s) in the last {} hours, at least {} needed",
                recent.len(),
                policy.max_failure_age_hours,
                policy.min_recent_failures
            ));
        }
        let interval = SignedDuration::from_hours(i64::from(policy.min_failure_interval_hours));
        if newest.duration_since(oldest) < interval {
            return not_met(format!(
                "its {} failures in the last {} hours are {} apart, at least {} hours needed",
                recent.len(),
                policy.max_failure_age_hours,
                hours(newest.duration_since(oldest)),
                policy.min_failure_interval_hours
            ));
        }
        let met = LaneImpact {
            lane: lanes[lane].clone(),
            required: policy.required_lane(&lanes[lane]).is_some(),
            runs,
            failed_runs: failed,
            clustered_failed_runs: clustered,
            impact: failed as f64 / runs as f64,
            score,
            recent_failures: recent.len() as u64,
            oldest_recent_failure: oldest,
            newest_recent_failure: newest,
        };
        LaneVerdict {
            lane: name.clone(),
            runs,
            failed,
            met: Some(met),
            summary: summary(format!(
                "met ({} failure(s) in the last {} hours, {} apart)",
                recent.len(),
                policy.max_failure_age_hours,
                hours(newest.duration_since(oldest))
            )),
        }
    }
}

/// One lane judged for one test, for `quarantine explain`.
pub(super) struct LaneVerdict {
    /// The lane.
    pub(super) lane: String,
    /// Its counted runs in the window.
    pub(super) runs: u64,
    /// Those in which the test failed.
    pub(super) failed: u64,
    /// What it met, when it met the rule.
    pub(super) met: Option<LaneImpact>,
    /// The numbers, and what was not met.
    pub(super) summary: String,
}

/// The tests that met the rule on at least one lane.
pub(super) struct Found {
    /// By test id.
    tests: Vec<Match>,
    /// Indices into `tests`, in the robot's order.
    order: Vec<u32>,
    /// Each watched test's counted lanes with a failure, each judged (in the order watched).
    pub(super) watched: Vec<Vec<LaneVerdict>>,
}

impl Found {
    /// The test ids, in the robot's order.
    pub(super) fn order(&self) -> impl Iterator<Item = usize> + '_ {
        self.order
            .iter()
            .map(|&index| self.tests[index as usize].test as usize)
    }

    /// What test `id` met, if it did.
    pub(super) fn get(&self, id: usize) -> Option<&Match> {
        let index = self
            .tests
            .binary_search_by_key(&id, |found| found.test as usize)
            .ok()?;
        Some(&self.tests[index])
    }
}

/// A test that met the rule: the lanes it met it on, and what the robot orders tests by.
pub(super) struct Match {
    test: u32,
    /// The lanes it met the rule on, the highest impact first.
    pub(super) lanes: Vec<LaneImpact>,
    /// Failures on counted lanes per day, today first.
    per_day: Vec<u32>,
    /// Failures on counted lanes in the window (flake-stats' `AllFailures.Sum`).
    total: u64,
    /// The most on one lane in one day (`AllFailures.Max`).
    busiest: u32,
    /// The (lane, day) pairs with failures (`AllFailures.Count`, so `Avg` is `total / this`).
    lane_days: u32,
}

impl Match {
    /// The lane reported first (the highest impact).
    pub(super) fn top(&self) -> &LaneImpact {
        &self.lanes[0]
    }

    /// flake-stats' `TopXTests.Less` (`pkg/flake-stats/types.go`), made symmetric: walking
    /// back from today, the first test with failures on a day the other has none sorts first;
    /// on a day neither has failures, the larger total of the days walked so far sorts first;
    /// then the larger total, the busier lane-day, the higher average per lane-day. Both tests
    /// had failures on the same days until the walk decides, so each total is the test's own:
    /// this is a lexicographic order on per-test keys, hence a total order.
    fn cmp_recency(&self, other: &Match) -> Ordering {
        let (mut mine, mut theirs) = (0u64, 0u64);
        for (&a, &b) in self.per_day.iter().zip(&other.per_day) {
            match (a > 0, b > 0) {
                (true, false) => return Ordering::Less,
                (false, true) => return Ordering::Greater,
                (true, true) => {
                    mine += u64::from(a);
                    theirs += u64::from(b);
                }
                (false, false) if mine != theirs => return theirs.cmp(&mine),
                (false, false) => {}
            }
        }
        // With equal totals, the higher average is the one over fewer lane-days.
        other
            .total
            .cmp(&self.total)
            .then(other.busiest.cmp(&self.busiest))
            .then(self.lane_days.cmp(&other.lane_days))
    }

    /// The candidate's reason: which lane met the rule, with its numbers.
    pub(super) fn reason(&self, policy: &Policy, (flipped, commits): (u32, u32)) -> String {
        let top = self.top();
        let which = if top.required {
            "required lane"
        } else {
            "lane (every lane counts: `required_lanes` is empty)"
        };
        let statistic = if top.score == top.impact {
            String::new()
        } else {
            format!(", Wilson lower bound {}", percent(top.score))
        };
        let clustered = match top.clustered_failed_runs {
            0 => String::new(),
            n => format!(
                ", {n} of them with {} or more failed tests",
                policy.systemic_failures
            ),
        };
        let others = match &self.lanes[1..] {
            [] => String::new(),
            rest => {
                let rest: Vec<String> = rest
                    .iter()
                    .map(|lane| format!("{} ({})", lane.lane, percent(lane.impact)))
                    .collect();
                format!("; also met on {}", rest.join(", "))
            }
        };
        format!(
            "on {which} {}: failed in {} of its {} run(s) in the last {} days ({}{statistic}; at \
             least {}){clustered}, {} of them in the last {} hours, {} apart ({} to {}; at least \
             {}, at least {} hours apart){others}; flipped on {flipped} of {commits} commit(s)",
            top.lane,
            top.failed_runs,
            top.runs,
            policy.batch_window_days,
            percent(top.impact),
            percent(policy.batch_rate),
            top.recent_failures,
            policy.max_failure_age_hours,
            hours(
                top.newest_recent_failure
                    .duration_since(top.oldest_recent_failure)
            ),
            top.oldest_recent_failure,
            top.newest_recent_failure,
            policy.min_recent_failures,
            policy.min_failure_interval_hours,
        )
    }
}

/// A duration in hours with up to one decimal (`30 hours`, `1.5 hours`, `1 hour`).
fn hours(duration: SignedDuration) -> String {
    let text = format!("{:.1}", duration.as_secs_f64() / 3600.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "1" {
        "1 hour".to_owned()
    } else {
        format!("{text} hours")
    }
}

/// What the plan says about how the rule was applied.
pub(super) fn notes(policy: &Policy) -> Vec<String> {
    if !policy.is_per_lane() || !policy.required_lanes.is_empty() {
        return Vec::new();
    }
    let kinds: Vec<&str> = policy
        .trusted_kinds
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    vec![format!(
        "per-lane rule: `required_lanes` is empty, so every lane of {} runs counts; KubeVirt's \
         robot counts only the lanes required to merge: list yours in `required_lanes`",
        kinds.join("/")
    )]
}
