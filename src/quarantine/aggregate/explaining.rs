//! The [`Explanation`] of the watched test, read off the finished fold: the same tallies,
//! streak, flips and lists the plan was built from, so that `quarantine explain` and `plan`
//! cannot disagree.

use std::collections::HashMap;

use super::super::explain::{
    Decision, Explanation, LeftOut, OwnerSource, QuarantineProgress, RuleCheck, StreakInfo,
    SystemicExecution, UntrustedKind,
};
use super::super::model::owner_of;
use super::super::policy::Statistics;
use super::{ExplainInput, Finisher, Tally, meets, percent};
use crate::results::Outcome;

impl Finisher<'_, '_> {
    pub(super) fn explain(&self, input: ExplainInput<'_>) -> Explanation {
        let policy = self.agg.policy;
        let now = self.agg.now;
        let id = input.id;
        let name = self.agg.names.name(id).to_owned();
        let info = self.test_info(id);

        // The rules, with their numbers.
        let mut rules: Vec<RuleCheck> = [
            ("now", policy.now_rate, policy.now_window_days, 0usize),
            ("batch", policy.batch_rate, policy.batch_window_days, 1),
        ]
        .into_iter()
        .map(|(rule, threshold, window_days, window)| {
            let tally: Tally = input.tallies[window];
            let score = policy.score(tally.failed, tally.counted());
            let met = meets(policy, &tally, threshold).is_some();
            let wilson = policy.statistics == Statistics::Wilson;
            let statistic = match (wilson, score) {
                (true, Some(score)) => format!(", Wilson lower bound {}", percent(score)),
                _ => String::new(),
            };
            let verdict = if tally.counted() == 0 {
                "no counted execution".to_owned()
            } else if tally.runs < u64::from(policy.min_runs) {
                format!("{} run(s), fewer than `min_runs` = {}", tally.runs, policy.min_runs)
            } else if met {
                format!("over {}: met", percent(threshold))
            } else {
                format!("not over {}", percent(threshold))
            };
            let left_out = input.breakage_left_out[window];
            let breakage = match left_out {
                0 => String::new(),
                n => format!("; {n} failure(s) of a fixed breakage left out"),
            };
            RuleCheck {
                rule,
                lane: None,
                window_days,
                failed: tally.failed,
                passed: tally.passed,
                runs: tally.runs,
                rate: tally.rate(),
                score,
                wilson,
                threshold,
                min_runs: policy.min_runs,
                met,
                flipped_commits: u64::from(input.flips.flipped[window][id]),
                commits: u64::from(input.flips.commits[window][id]),
                breakage_failures_left_out: left_out,
                summary: format!(
                    "{rule} rule, last {window_days} days: failed {} of {} execution(s) ({}{statistic}) \
                     in {} trusted run(s), flipped on {} of {} commit(s){breakage}: {verdict}",
                    tally.failed,
                    tally.counted(),
                    percent(tally.rate()),
                    tally.runs,
                    input.flips.flipped[window][id],
                    input.flips.commits[window][id],
                ),
            }
        })
        .collect();

        // The per-lane rule replaces the two rates rules, one check per counted lane.
        if let Some(lanes) = input.lanes {
            let window = 1;
            let flipped = u64::from(input.flips.flipped[window][id]);
            let commits = u64::from(input.flips.commits[window][id]);
            let check =
                |lane: Option<String>, runs: u64, failed: u64, met: Option<f64>, summary| {
                    RuleCheck {
                        rule: "per-lane",
                        lane,
                        window_days: policy.batch_window_days,
                        failed,
                        passed: runs.saturating_sub(failed),
                        runs,
                        rate: if runs == 0 {
                            0.0
                        } else {
                            failed as f64 / runs as f64
                        },
                        score: met.or_else(|| policy.score(failed, runs)),
                        wilson: policy.statistics == Statistics::Wilson,
                        threshold: policy.batch_rate,
                        min_runs: policy.min_runs,
                        met: met.is_some(),
                        flipped_commits: flipped,
                        commits,
                        breakage_failures_left_out: input.breakage_left_out[window],
                        summary,
                    }
                };
            rules = lanes
                .iter()
                .map(|verdict| {
                    check(
                        Some(verdict.lane.clone()),
                        verdict.runs,
                        verdict.failed,
                        verdict.met.as_ref().map(|met| met.score),
                        format!("per-lane rule, {}", verdict.summary),
                    )
                })
                .collect();
            if rules.is_empty() {
                let kinds: Vec<&str> = policy
                    .trusted_kinds
                    .iter()
                    .map(|kind| kind.as_str())
                    .collect();
                rules.push(check(
                    None,
                    0,
                    0,
                    None,
                    format!(
                        "per-lane rule: no failure in a counted run ({} runs of {}) in the last {} days",
                        kinds.join("/"),
                        if policy.required_lanes.is_empty() {
                            "any lane"
                        } else {
                            "a required lane"
                        },
                        policy.batch_window_days
                    ),
                ));
            }
        }

        // What was left out.
        let systemic: HashMap<i64, u64> = input
            .systemic_runs
            .iter()
            .map(|run| (run.run_id, run.failed_tests))
            .collect();
        let mut rank_of = vec![u32::MAX; self.agg.slots.len()];
        for (rank, &slot) in input.order.iter().enumerate() {
            rank_of[slot as usize] = rank as u32;
        }
        let mut left_out = LeftOut::default();
        let mut untrusted: Vec<(crate::history::model::RunKind, Vec<u32>, u64)> = Vec::new();
        let mut after_now: Vec<u32> = Vec::new();
        let mut systemic_seen: HashMap<u32, bool> = HashMap::new();
        for &(slot, outcome) in input.rows {
            let run = &self.agg.runs[self.agg.slots[slot as usize].row];
            let failed = matches!(outcome, Outcome::Fail | Outcome::Error | Outcome::FlakyPass);
            if run.started_at > now {
                after_now.push(slot);
                continue;
            }
            if !policy.is_trusted(run.kind) {
                match untrusted.iter_mut().find(|(kind, _, _)| *kind == run.kind) {
                    Some((_, runs, executions)) => {
                        runs.push(slot);
                        *executions += 1;
                    }
                    None => untrusted.push((run.kind, vec![slot], 1)),
                }
                continue;
            }
            if systemic.contains_key(&run.id) {
                *systemic_seen.entry(slot).or_default() |= failed;
                continue;
            }
            if matches!(
                outcome,
                Outcome::Skip | Outcome::NotRun | Outcome::Xfail | Outcome::Xpass
            ) {
                left_out.not_counted += 1;
            }
        }
        for (kind, mut runs, executions) in untrusted {
            runs.sort_unstable();
            runs.dedup();
            left_out.untrusted.push(UntrustedKind {
                kind,
                runs: runs.len() as u64,
                executions,
            });
        }
        left_out.untrusted.sort_by_key(|kind| kind.kind.as_str());
        after_now.sort_unstable();
        after_now.dedup();
        left_out.runs_after_now = after_now.len() as u64;
        let mut systemic_list: Vec<(u32, bool)> = systemic_seen.into_iter().collect();
        systemic_list.sort_by_key(|&(slot, _)| (rank_of[slot as usize], slot));
        left_out.systemic = systemic_list
            .into_iter()
            .map(|(slot, failed)| {
                let run = &self.agg.runs[self.agg.slots[slot as usize].row];
                SystemicExecution {
                    run_id: run.id,
                    lane: run.lane.clone(),
                    started_at: run.started_at,
                    failed_tests: systemic[&run.id],
                    failed,
                }
            })
            .collect();

        // The streak.
        let needed = policy.broken_min_runs;
        let streak = match input.streak {
            Some(streak) if streak.runs > 0 => {
                let run_at = |rank: u32| {
                    &self.agg.runs[self.agg.slots[input.order[rank as usize] as usize].row]
                };
                let first = run_at(streak.first);
                let flipped = streak.flipped || input.flips.in_streak[id];
                let broken = streak.is_broken(needed) && !input.flips.in_streak[id];
                let summary = if broken {
                    format!(
                        "failed every one of its last {} trusted run(s) since commit {}, over more \
                         than one commit: broken (at least {needed} needed)",
                        streak.runs, first.commit
                    )
                } else if flipped {
                    format!(
                        "failed its last {} trusted run(s) since commit {}, but passed on a commit \
                         the streak failed on: flaky, not broken",
                        streak.runs, first.commit
                    )
                } else if !streak.commits {
                    format!(
                        "failed its last {} trusted run(s), all on commit {}: one commit is not a \
                         breakage range",
                        streak.runs, first.commit
                    )
                } else {
                    format!(
                        "failed its last {} trusted run(s) since commit {}: fewer than the {needed} \
                         the broken rule needs",
                        streak.runs, first.commit
                    )
                };
                StreakInfo {
                    failed_runs: u64::from(streak.runs),
                    since_commit: Some(first.commit.clone()),
                    since: Some(first.started_at),
                    last_pass_commit: streak.last_pass.map(|rank| run_at(rank).commit.clone()),
                    spans_commits: streak.commits,
                    flipped,
                    needed,
                    broken,
                    summary,
                }
            }
            _ => StreakInfo {
                failed_runs: 0,
                since_commit: None,
                since: None,
                last_pass_commit: None,
                spans_commits: false,
                flipped: false,
                needed,
                broken: false,
                summary: if needed == 0 {
                    "the broken rule is off (`broken_min_runs` = 0)".to_owned()
                } else {
                    "its latest trusted run did not fail: no streak".to_owned()
                },
            },
        };

        // The owner.
        let entry = self.entry[id].map(|index| &self.input.quarantine[index as usize]);
        let (owner, owner_source) = match entry {
            Some(entry) => (Some(entry.owner.clone()), OwnerSource::QuarantineEntry),
            None => match info.owner_tag() {
                Some(tag) => (Some(tag.to_owned()), OwnerSource::Tag(format!("[{tag}]"))),
                None => match self.input.owners.pattern_for(&info.name) {
                    Some(pattern) => (
                        owner_of(&info, self.input.owners),
                        OwnerSource::Pattern(pattern.to_owned()),
                    ),
                    None => (None, OwnerSource::None),
                },
            },
        };

        // The decision, as the plan made it.
        let lists = &input.lists;
        let find = |list: &[crate::quarantine::Candidate]| {
            list.iter()
                .find(|candidate| candidate.test == name)
                .map(|c| c.reason.clone())
        };
        let (decision, verdict) = if let Some(broken) = lists.broken.iter().find(|b| b.test == name)
        {
            (
                Decision::Broken,
                format!("broken, never quarantined: {}", broken.reason),
            )
        } else if let Some(reason) = find(lists.quarantine_now) {
            (Decision::QuarantineNow, format!("quarantine now: {reason}"))
        } else if let Some(reason) = find(lists.next_batch) {
            (
                Decision::NextBatch,
                format!("quarantine in the next batch: {reason}"),
            )
        } else if let Some(reason) = find(lists.deferred) {
            (Decision::Deferred, format!("deferred: {reason}"))
        } else if let Some(reason) = find(lists.not_shown_flaky) {
            (Decision::NotShownFlaky, format!("not proposed: {reason}"))
        } else if let Some(grace) = lists.grace_released.iter().find(|g| g.test == name) {
            (
                Decision::LeavesBatch,
                format!("leaves the batch: {}", grace.reason),
            )
        } else if let Some(release) = lists.release.iter().find(|r| r.test == name) {
            (
                Decision::Release,
                format!("release from quarantine: {}", release.reason),
            )
        } else if let Some(keep) = lists.keep.iter().find(|k| k.test == name) {
            (
                Decision::StaysQuarantined,
                format!("stays quarantined: {}", keep.reason),
            )
        } else if input.tallies.iter().all(|tally| tally.counted() == 0) {
            (
                Decision::NoExecutions,
                format!(
                    "not a candidate: no counted execution in the last {} days",
                    policy.batch_window_days.max(policy.now_window_days)
                ),
            )
        } else {
            let numbers: Vec<String> = rules.iter().map(|rule| rule.summary.clone()).collect();
            (
                Decision::NotACandidate,
                format!("not a candidate: {}", numbers.join("; ")),
            )
        };

        let quarantine = entry.map(|entry| {
            let keep = lists.keep.iter().find(|keep| keep.test == entry.test);
            let release = lists
                .release
                .iter()
                .find(|release| release.test == entry.test);
            QuarantineProgress {
                entry: entry.clone(),
                earliest_release: keep.and_then(|keep| keep.earliest_release),
                executions: input.release.counted(),
                failed: input.release.failed,
                last_failure: input.last_release_failure,
                clean_days: {
                    let from = super::start_of_day(entry.stable_by.unwrap_or(entry.since));
                    let from = input.last_release_failure.map_or(from, |at| at.max(from));
                    u32::try_from(now.duration_since(from).as_hours().max(0) / 24)
                        .unwrap_or(u32::MAX)
                },
                needed_days: policy.release_days,
                reason: keep
                    .map(|keep| keep.reason.clone())
                    .or_else(|| release.map(|release| release.reason.clone()))
                    .unwrap_or_default(),
            }
        });

        Explanation {
            test: name,
            now,
            decision,
            verdict,
            rules,
            left_out,
            streak,
            owner,
            owner_source,
            quarantine,
        }
    }
}
