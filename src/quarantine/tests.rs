//! Known-answer tests: one table per rule and its boundaries, plus generated histories.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::generator::{HistorySpec, SplitMix64};
use super::*;
use crate::history::model::{ResultRow, RunKind, RunRow};
use crate::results::Outcome;

mod auto_preset;
mod broken;
mod explain;

/// Wednesday; the batch of 2026-06-01 ended its grace on 06-03, the next is 2026-06-15.
const NOW: &str = "2026-06-10T12:00:00Z";

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn now() -> Timestamp {
    ts(NOW)
}

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

fn before(at: Timestamp, by: SignedDuration) -> Timestamp {
    at.checked_sub(by).unwrap()
}

/// A hand-built history.
#[derive(Default)]
struct Hist {
    runs: Vec<RunRow>,
    results: Vec<ResultRow>,
}

impl Hist {
    fn run_on(
        &mut self,
        lane: &str,
        kind: RunKind,
        commit: &str,
        at: Timestamp,
        outcomes: &[(&str, Outcome)],
    ) -> i64 {
        let id = self.runs.len() as i64 + 1;
        self.runs.push(RunRow {
            id,
            lane: lane.to_owned(),
            kind,
            commit: commit.to_owned(),
            started_at: at,
            source: "test".to_owned(),
        });
        for (attempt, (test, outcome)) in outcomes.iter().enumerate() {
            self.results.push(ResultRow {
                run_id: id,
                test: (*test).to_owned(),
                outcome: *outcome,
                duration_secs: None,
                attempt: attempt as u32 + 1,
                message: None,
            });
        }
        id
    }

    fn run(&mut self, kind: RunKind, at: Timestamp, outcomes: &[(&str, Outcome)]) -> i64 {
        let lane = match kind {
            RunKind::Periodic => "periodic-e2e-sig-compute",
            RunKind::Merged => "merge-e2e",
            RunKind::Presubmit => "pull-e2e",
            RunKind::Local => "local",
        };
        let commit = format!("c{:07}", self.runs.len() + 1);
        self.run_on(lane, kind, &commit, at, outcomes)
    }

    /// One periodic run per execution of `test`, `step` apart going back from `newest`:
    /// the failures are the newest.
    fn series(
        &mut self,
        test: &str,
        passes: usize,
        fails: usize,
        newest: Timestamp,
        step: SignedDuration,
    ) {
        for index in 0..passes + fails {
            let outcome = if index < fails {
                Outcome::Fail
            } else {
                Outcome::Pass
            };
            let at = before(newest, step * index as i32);
            self.run(RunKind::Periodic, at, &[(test, outcome)]);
        }
    }

    /// As [`Hist::series`], with the failures spread evenly among the runs (the newest run
    /// fails when any does), so that no run of failures looks like a breakage.
    fn spread(
        &mut self,
        test: &str,
        passes: usize,
        fails: usize,
        newest: Timestamp,
        step: SignedDuration,
    ) {
        let total = passes + fails;
        for index in 0..total {
            // Bresenham: run `index` fails when the count of failures up to it steps.
            let failed = (index + 1) * fails / total > index * fails / total;
            let outcome = if failed { Outcome::Fail } else { Outcome::Pass };
            let at = before(newest, step * index as i32);
            self.run(RunKind::Periodic, at, &[(test, outcome)]);
        }
    }

    fn plan(&self, policy: &Policy, now: Timestamp) -> Plan {
        self.plan_with(&PlanInput::default(), policy, now)
    }

    fn plan_with(&self, input: &PlanInput<'_>, policy: &Policy, now: Timestamp) -> Plan {
        plan(&self.runs, &self.results, input, policy, now)
    }
}

fn names(candidates: &[Candidate]) -> Vec<&str> {
    candidates.iter().map(|c| c.test.as_str()).collect()
}

fn parse_policy(text: &str) -> Result<Policy, String> {
    #[derive(serde::Deserialize)]
    struct File {
        policy: Policy,
    }
    toml::from_str::<File>(text)
        .map(|file| file.policy)
        .map_err(|error| error.to_string())
}

// ---------------------------------------------------------------------------------------------
// Policy configuration.

#[test]
fn defaults_are_the_methodology() {
    let policy = Policy::default();
    assert_eq!(policy.preset, Preset::Kubevirt);
    assert_eq!(policy.trusted_kinds, [RunKind::Periodic, RunKind::Merged]);
    assert_eq!(policy.systemic_failures, 5);
    assert_eq!((policy.now_rate, policy.now_window_days), (0.20, 3));
    assert_eq!((policy.batch_rate, policy.batch_window_days), (0.05, 14));
    assert_eq!(policy.batch_anchor, date("2024-01-01"));
    assert_eq!(policy.batch_every_days, 14);
    assert_eq!((policy.grace_days, policy.grace_passes), (2, 5));
    assert_eq!(policy.release_days, 14);
    assert_eq!(policy.release_kinds, [RunKind::Periodic]);
    assert_eq!(
        (policy.release_max_rate, policy.release_sample_min),
        (0.0, 1)
    );
    assert_eq!(
        (
            policy.lane_window_days,
            policy.lane_rate,
            policy.lane_distinct_tests
        ),
        (7, 0.25, 10)
    );
    assert_eq!(policy.lane_fix_days, 7);
    assert_eq!(policy.goal, 0.90);
    assert_eq!(policy.auto_quarantine_max_per_run, 0);
    assert_eq!(policy.statistics, Statistics::Plain);
    assert_eq!(policy.min_runs, 0);
    assert_eq!(policy.quarantine_rule, QuarantineRule::Rates);
    policy.validate().unwrap();
    Policy::auto_quarantine().validate().unwrap();
}

#[test]
fn policy_table_overrides_the_preset_key_by_key() {
    assert_eq!(parse_policy("[policy]\n").unwrap(), Policy::kubevirt());
    let auto = parse_policy("[policy]\npreset = \"auto-quarantine\"\n").unwrap();
    assert_eq!(auto, Policy::auto_quarantine());
    assert_eq!(auto.auto_quarantine_max_per_run, 1);
    assert_eq!(auto.release_max_rate, 0.001);

    let custom = parse_policy(
        r#"[policy]
preset = "auto-quarantine"
auto_quarantine_max_per_run = 3
batch_rate = 0.1
batch_anchor = "2026-01-05"
statistics = "wilson"
wilson_z = 2.576
min_runs = 5
trusted_kinds = ["periodic"]
flaky_pass = "pass"
required_lanes = ["pull-e2e-sig-compute", { lane = "pull-net", team = "sig-network" }]
"#,
    )
    .unwrap();
    assert_eq!(custom.preset, Preset::AutoQuarantine);
    assert_eq!(custom.auto_quarantine_max_per_run, 3);
    assert_eq!(custom.release_sample_min, 500, "kept from the preset");
    assert_eq!(custom.batch_rate, 0.1);
    assert_eq!(custom.batch_anchor, date("2026-01-05"));
    assert_eq!(custom.statistics, Statistics::Wilson);
    assert_eq!(custom.wilson_z, 2.576);
    assert_eq!(custom.min_runs, 5);
    assert_eq!(custom.trusted_kinds, [RunKind::Periodic]);
    assert_eq!(custom.flaky_pass, FlakyPassCounting::Pass);
    assert_eq!(
        custom.required_lanes,
        [
            RequiredLane::new("pull-e2e-sig-compute"),
            RequiredLane {
                lane: "pull-net".to_owned(),
                team: Some("sig-network".to_owned())
            }
        ]
    );
    assert_eq!(
        custom.required_lanes[0].team().as_deref(),
        Some("sig-compute")
    );
    assert_eq!(
        custom.required_lanes[1].team().as_deref(),
        Some("sig-network")
    );

    // A serialized policy reads back the same.
    let text = toml::to_string(&custom).unwrap();
    let back: Policy = toml::from_str(&text).unwrap();
    assert_eq!(back, custom);
}

#[test]
fn policy_errors_name_the_key_and_say_what_to_write() {
    let cases: &[(&str, &str)] = &[
        ("batch_rat = 0.05", "unknown field `batch_rat`"),
        ("batch_rate = 5", "write 0.05 for 5 %"),
        ("now_rate = 20.0", "write 0.2 for 20 %"),
        ("goal = -0.1", "`goal` = -0.1 is not a fraction"),
        (
            "now_window_days = 0",
            "`now_window_days` = 0 must be between 1",
        ),
        ("grace_days = 14", "`grace_days` = 14 must be shorter"),
        ("grace_passes = 0", "`grace_passes` must be at least 1"),
        (
            "systemic_failures = 0",
            "`systemic_failures` must be at least 1",
        ),
        ("wilson_z = 0.0", "`wilson_z` = 0 must be a positive number"),
        ("trusted_kinds = []", "`trusted_kinds` cannot be empty"),
        ("trusted_kinds = [\"nightly\"]", "unknown variant `nightly`"),
        ("preset = \"strict\"", "unknown variant `strict`"),
        ("statistics = \"bayes\"", "unknown variant `bayes`"),
        ("batch_anchor = \"2026-13-01\"", "2026-13-01"),
        (
            "required_lanes = [{ lane = \"x\", owner = \"y\" }]",
            "unknown field `owner`",
        ),
        ("required_lanes = [\"\"]", "cannot be empty"),
    ];
    for (line, expected) in cases {
        let error = parse_policy(&format!("[policy]\n{line}\n")).unwrap_err();
        assert!(
            error.contains(expected),
            "{line}: expected {expected:?} in {error}"
        );
    }
}

#[test]
fn quarantine_config_reads_from_the_whole_harness_toml() {
    let text = r#"
[ci]
command = ["cc-ci-run", "{recipe}"]
results = "{artifacts}/results.json"

[policy]
goal = 0.95

[owners]
"canary::good-*" = "sig-storage"

[[quarantine]]
test = "good-significant"
owner = "sig-storage"
reason = "upgrade convergence race after chaos redeploy"
since = "2026-06-02"
stable_by = "2026-06-16"

[[quarantine]]
test = "other"
owner = "sig-network"
since = "2026-06-03"
"#;
    let config: QuarantineConfig = toml::from_str(text).unwrap();
    assert_eq!(config.policy.goal, 0.95);
    assert_eq!(
        config.owners.owner_of("canary::good-simple"),
        Some("sig-storage")
    );
    assert_eq!(config.quarantine.len(), 2);
    assert_eq!(config.quarantine[0].stable_by, Some(date("2026-06-16")));
    assert_eq!(config.quarantine[1].stable_by, None);
    assert_eq!(config.quarantine[1].reason, "");

    // TOML dates may be written bare, as TOML local dates.
    let bare: QuarantineConfig = toml::from_str(
        "[policy]\nbatch_anchor = 2026-01-05\n[[quarantine]]\ntest = \"a\"\nowner = \"b\"\n\
         since = 2026-06-01\nstable_by = 2026-06-15\n",
    )
    .unwrap();
    assert_eq!(bare.policy.batch_anchor, date("2026-01-05"));
    assert_eq!(bare.quarantine[0].since, date("2026-06-01"));
    assert_eq!(bare.quarantine[0].stable_by, Some(date("2026-06-15")));
    let timed = toml::from_str::<QuarantineConfig>(
        "[[quarantine]]\ntest = \"a\"\nowner = \"b\"\nsince = 2026-06-01T10:00:00Z\n",
    )
    .unwrap_err();
    assert!(timed.to_string().contains("a date"), "{timed}");
    // JSON has strings only.
    let entry: QuarantineEntry =
        serde_json::from_str(r#"{"test": "a", "owner": "b", "since": "2026-06-01"}"#).unwrap();
    assert_eq!(entry.since, date("2026-06-01"));

    let empty: QuarantineConfig = toml::from_str("").unwrap();
    assert_eq!(empty, QuarantineConfig::default());

    let bad = toml::from_str::<QuarantineConfig>(
        "[[quarantine]]\ntest = \"a\"\nowner = \"b\"\nsince = \"2026-06-01\"\nuntil = 1\n",
    )
    .unwrap_err();
    assert!(bad.to_string().contains("unknown field `until`"), "{bad}");
    let bad = toml::from_str::<QuarantineConfig>("[owners]\n\"re:(\" = \"sig-x\"\n").unwrap_err();
    assert!(bad.to_string().contains("invalid regex"), "{bad}");
}

// ---------------------------------------------------------------------------------------------
// Failure rates and their boundaries.

#[test]
fn batch_rule_is_strictly_over_five_percent_in_fourteen_days() {
    // Executions from 4 days ago backwards, so that the 3-day rule sees none of them.
    let newest = before(now(), days(4));
    let cases: &[(&str, usize, usize, SignedDuration, Option<Rule>)] = &[
        ("none-failed", 20, 0, hours(1), None),
        ("exactly-5", 19, 1, hours(1), None),
        (
            "exactly-5-large",
            9_500,
            500,
            SignedDuration::from_secs(60),
            None,
        ),
        (
            "5.01",
            9_499,
            501,
            SignedDuration::from_secs(60),
            Some(Rule::Batch),
        ),
        ("10", 18, 2, hours(1), Some(Rule::Batch)),
    ];
    for (test, passes, fails, step, expected) in cases {
        let mut hist = Hist::default();
        hist.spread(test, *passes, *fails, newest, *step);
        let plan = hist.plan(&Policy::kubevirt(), now());
        let found = plan
            .quarantine_now
            .iter()
            .chain(&plan.next_batch)
            .find(|c| c.test == *test);
        assert_eq!(found.map(|c| c.rule), *expected, "{test}");
        if let Some(candidate) = found {
            assert_eq!(
                (candidate.failed, candidate.passed),
                (*fails as u64, *passes as u64)
            );
            assert_eq!(candidate.window_days, 14);
            assert_eq!(candidate.batch_date, Some(date("2026-06-15")));
        }
    }
}

#[test]
fn now_rule_is_strictly_over_twenty_percent_in_three_days() {
    let newest = before(now(), SignedDuration::from_mins(1));
    let cases: &[(&str, usize, usize, SignedDuration, Option<Rule>)] = &[
        // Exactly 20 % is not over 20 %, but it is over 5 % in 14 days: next batch.
        ("exactly-20", 4, 1, hours(1), Some(Rule::Batch)),
        (
            "exactly-20-large",
            8_000,
            2_000,
            SignedDuration::from_secs(20),
            Some(Rule::Batch),
        ),
        (
            "20.01",
            7_999,
            2_001,
            SignedDuration::from_secs(20),
            Some(Rule::Now),
        ),
        ("22", 7, 2, hours(1), Some(Rule::Now)),
        ("all-failed", 0, 3, hours(1), Some(Rule::Now)),
    ];
    for (test, passes, fails, step, expected) in cases {
        let mut hist = Hist::default();
        hist.spread(test, *passes, *fails, newest, *step);
        let plan = hist.plan(&Policy::kubevirt(), now());
        let found = plan
            .quarantine_now
            .iter()
            .chain(&plan.next_batch)
            .find(|c| c.test == *test);
        assert_eq!(found.map(|c| c.rule), *expected, "{test}");
    }
    // The thresholds are configurable.
    let mut hist = Hist::default();
    hist.series("t", 4, 1, newest, hours(1));
    let policy = Policy {
        now_rate: 0.19,
        ..Policy::kubevirt()
    };
    assert_eq!(names(&hist.plan(&policy, now()).quarantine_now), ["t"]);
}

#[test]
fn systemic_runs_have_five_or_more_failed_tests() {
    for (failed_tests, systemic) in [(4usize, false), (5, true), (6, true)] {
        let mut hist = Hist::default();
        let others: Vec<String> = (1..failed_tests).map(|i| format!("other-{i}")).collect();
        let mut outcomes = vec![("t", Outcome::Fail)];
        outcomes.extend(others.iter().map(|name| (name.as_str(), Outcome::Fail)));
        let bad = hist.run(RunKind::Periodic, before(now(), days(5)), &outcomes);
        for i in 0..9 {
            let at = before(now(), days(5) + hours(i + 1));
            hist.run(RunKind::Periodic, at, &[("t", Outcome::Pass)]);
        }
        let plan = hist.plan(&Policy::kubevirt(), now());
        let systemic_ids: Vec<i64> = plan.systemic_runs.iter().map(|run| run.run_id).collect();
        if systemic {
            assert_eq!(systemic_ids, [bad], "{failed_tests} failed tests");
            assert_eq!(plan.systemic_runs[0].failed_tests, failed_tests as u64);
            assert!(
                plan.next_batch.is_empty(),
                "{failed_tests}: the systemic failure is not counted"
            );
        } else {
            assert!(systemic_ids.is_empty());
            let t = plan.next_batch.iter().find(|c| c.test == "t").unwrap();
            assert_eq!((t.failed, t.passed, t.rate), (1, 9, 0.1));
        }
    }
    // Configurable.
    let mut hist = Hist::default();
    let outcomes: Vec<(&str, Outcome)> = ["a", "b", "c", "d", "e"]
        .into_iter()
        .map(|name| (name, Outcome::Fail))
        .collect();
    hist.run(RunKind::Periodic, before(now(), days(5)), &outcomes);
    let policy = Policy {
        systemic_failures: 6,
        ..Policy::kubevirt()
    };
    assert!(hist.plan(&policy, now()).systemic_runs.is_empty());
}

#[test]
fn systemic_counts_distinct_tests_not_attempts() {
    let mut hist = Hist::default();
    let outcomes = [("t", Outcome::Fail); 5];
    hist.run(RunKind::Periodic, before(now(), days(5)), &outcomes);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.systemic_runs.is_empty());
    assert_eq!(plan.next_batch[0].failed, 5, "every attempt counts");
    assert_eq!(plan.next_batch[0].runs, 1);
}

#[test]
fn window_edges_exclude_the_oldest_instant() {
    // A failure exactly 14 days before now is out; one second later it is in.
    for (age, counted) in [
        (days(14), false),
        (days(14) - SignedDuration::from_secs(1), true),
    ] {
        let mut hist = Hist::default();
        hist.run(
            RunKind::Periodic,
            before(now(), age),
            &[("t", Outcome::Fail)],
        );
        hist.series("t", 10, 0, before(now(), days(5)), hours(1));
        let plan = hist.plan(&Policy::kubevirt(), now());
        assert_eq!(plan.next_batch.len(), usize::from(counted), "{age:?}");
    }
    // Same for the 3-day window: exactly 3 days old is out of it (but in the 14 days).
    for (age, rule) in [
        (days(3), Rule::Batch),
        (days(3) - SignedDuration::from_secs(1), Rule::Now),
    ] {
        let mut hist = Hist::default();
        hist.run(
            RunKind::Periodic,
            before(now(), age),
            &[("t", Outcome::Fail)],
        );
        hist.series("t", 2, 0, before(now(), hours(1)), hours(1));
        let plan = hist.plan(&Policy::kubevirt(), now());
        let found = plan.quarantine_now.iter().chain(&plan.next_batch).next();
        assert_eq!(found.map(|c| c.rule), Some(rule), "{age:?}");
    }
    // A run at `now` is in; a run after `now` is ignored.
    let mut hist = Hist::default();
    hist.run(RunKind::Periodic, now(), &[("at-now", Outcome::Fail)]);
    let later = now().checked_add(SignedDuration::from_secs(1)).unwrap();
    hist.run(RunKind::Periodic, later, &[("later", Outcome::Fail)]);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(names(&plan.quarantine_now), ["at-now"]);
    assert_eq!(plan.counts.runs_after_now, 1);
    assert_eq!(plan.counts.runs_in_windows, 1);
}

#[test]
fn only_trusted_runs_count() {
    let recent = before(now(), hours(2));
    for (kind, counted) in [
        (RunKind::Periodic, true),
        (RunKind::Merged, true),
        (RunKind::Presubmit, false),
        (RunKind::Local, false),
    ] {
        let mut hist = Hist::default();
        hist.run(kind, recent, &[("t", Outcome::Fail)]);
        let plan = hist.plan(&Policy::kubevirt(), now());
        assert_eq!(plan.quarantine_now.len(), usize::from(counted), "{kind:?}");
    }
    // Trusted kinds are configurable.
    let mut hist = Hist::default();
    hist.run(RunKind::Merged, recent, &[("t", Outcome::Fail)]);
    let policy = Policy {
        trusted_kinds: vec![RunKind::Periodic],
        ..Policy::kubevirt()
    };
    assert!(hist.plan(&policy, now()).quarantine_now.is_empty());
}

#[test]
fn skipped_and_other_outcomes_are_not_counted() {
    let mut hist = Hist::default();
    hist.series("t", 9, 1, before(now(), days(4)), hours(1));
    for (i, outcome) in [
        Outcome::Skip,
        Outcome::NotRun,
        Outcome::Xfail,
        Outcome::Xpass,
    ]
    .into_iter()
    .enumerate()
    {
        let at = before(now(), days(5) + hours(i as i64));
        hist.run(RunKind::Periodic, at, &[("t", outcome), ("t", outcome)]);
    }
    let plan = hist.plan(&Policy::kubevirt(), now());
    let t = &plan.next_batch[0];
    assert_eq!(
        (t.failed, t.passed, t.rate),
        (1, 9, 0.1),
        "skips would make it 5 %"
    );
    assert_eq!(t.runs, 10);
    // Error counts as a failure.
    let mut hist = Hist::default();
    hist.series("t", 9, 0, before(now(), days(4)), hours(1));
    hist.run(
        RunKind::Periodic,
        before(now(), days(5)),
        &[("t", Outcome::Error)],
    );
    assert_eq!(
        hist.plan(&Policy::kubevirt(), now()).next_batch[0].failed,
        1
    );
}

#[test]
fn flaky_pass_counts_a_failure_unless_configured() {
    let mut hist = Hist::default();
    hist.series("t", 8, 0, before(now(), days(4)), hours(1));
    hist.run(
        RunKind::Periodic,
        before(now(), days(5)),
        &[("t", Outcome::FlakyPass)],
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    let t = &plan.next_batch[0];
    assert_eq!((t.failed, t.passed), (1, 9));
    let policy = Policy {
        flaky_pass: FlakyPassCounting::Pass,
        ..Policy::kubevirt()
    };
    assert!(hist.plan(&policy, now()).next_batch.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Batches and grace.

#[test]
fn batch_day_is_the_next_biweekly_monday_or_today_in_grace() {
    let policy = Policy::kubevirt();
    // (now, batch date, grace ends, in grace)
    let cases = [
        ("2026-06-15T00:00:00Z", "2026-06-15", "2026-06-17", true), // the batch Monday
        ("2026-06-15T23:59:59Z", "2026-06-15", "2026-06-17", true),
        ("2026-06-16T12:00:00Z", "2026-06-15", "2026-06-17", true), // Tuesday, in grace
        ("2026-06-17T00:00:00Z", "2026-06-29", "2026-07-01", false), // grace over
        ("2026-06-14T23:59:59Z", "2026-06-15", "2026-06-17", false), // the Sunday before
        ("2026-06-10T12:00:00Z", "2026-06-15", "2026-06-17", false),
        ("2026-06-22T12:00:00Z", "2026-06-29", "2026-07-01", false), // the off Monday
        ("2023-12-30T12:00:00Z", "2024-01-01", "2024-01-03", false), // before the anchor
    ];
    for (at, batch_date, grace_ends, in_grace) in cases {
        let batch = calendar::batch_at(&policy, ts(at));
        assert_eq!(
            batch,
            BatchInfo {
                date: date(batch_date),
                grace_ends: date(grace_ends),
                in_grace
            },
            "{at}"
        );
        assert_eq!(batch.date.weekday(), jiff::civil::Weekday::Monday);
    }
    // An anchor in the future, weekly batches, no grace.
    let policy = Policy {
        batch_anchor: date("2030-01-07"),
        batch_every_days: 7,
        grace_days: 0,
        ..Policy::kubevirt()
    };
    let monday = calendar::batch_at(&policy, ts("2026-06-15T08:00:00Z"));
    assert_eq!((monday.date, monday.in_grace), (date("2026-06-15"), false));
    let tuesday = calendar::batch_at(&policy, ts("2026-06-16T08:00:00Z"));
    assert_eq!(tuesday.date, date("2026-06-22"));
}

/// A batch candidate (2 failures in 20, 10 %) with a fix recorded 2 days ago and
/// `passes_after` passing executions since.
fn fixed_candidate(passes_after: usize, fail_after: bool) -> (Hist, Vec<Fix>) {
    let mut hist = Hist::default();
    hist.series("t", 16, 2, before(now(), days(6)), hours(1));
    let fixed_at = before(now(), days(2));
    for i in 0..passes_after {
        let at = fixed_at.checked_add(hours(i as i64 + 1)).unwrap();
        hist.run(RunKind::Periodic, at, &[("t", Outcome::Pass)]);
    }
    if fail_after {
        let at = fixed_at.checked_add(hours(30)).unwrap();
        hist.run(RunKind::Merged, at, &[("t", Outcome::Fail)]);
    }
    let fixes = vec![Fix {
        test: "t".to_owned(),
        commit: "abcdef1234".to_owned(),
        at: fixed_at,
    }];
    (hist, fixes)
}

#[test]
fn grace_needs_five_consecutive_passes_after_the_fix() {
    for (passes, fail_after, released) in [
        (4, false, false),
        (5, false, true),
        (9, false, true),
        (9, true, false), // a failure after the passes resets the count
    ] {
        let (hist, fixes) = fixed_candidate(passes, fail_after);
        let input = PlanInput {
            fixes: &fixes,
            ..PlanInput::default()
        };
        let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
        if released {
            assert!(plan.next_batch.is_empty(), "{passes}");
            let release = &plan.grace_released[0];
            assert_eq!(release.test, "t");
            assert!(!release.was_quarantined);
            assert_eq!(release.fix.consecutive_passes, passes as u64);
            assert_eq!(release.batch_date, date("2026-06-15"));
        } else {
            assert!(plan.grace_released.is_empty(), "{passes} {fail_after}");
            let candidate = &plan.next_batch[0];
            let progress = candidate.fix.as_ref().unwrap();
            assert_eq!(progress.needed, 5);
            assert_eq!(progress.commit, "abcdef1234");
            let expected = if fail_after { 0 } else { passes as u64 };
            assert_eq!(progress.consecutive_passes, expected);
        }
    }
    // `grace_passes` is configurable.
    let (hist, fixes) = fixed_candidate(4, false);
    let input = PlanInput {
        fixes: &fixes,
        ..PlanInput::default()
    };
    let policy = Policy {
        grace_passes: 4,
        ..Policy::kubevirt()
    };
    assert_eq!(
        hist.plan_with(&input, &policy, now()).grace_released.len(),
        1
    );
}

#[test]
fn a_run_at_the_fix_commit_counts_even_before_the_fix_was_recorded() {
    let mut hist = Hist::default();
    hist.series("t", 16, 2, before(now(), days(6)), hours(1));
    for i in 0..5 {
        let at = before(now(), days(3) + hours(i));
        hist.run_on(
            "periodic",
            RunKind::Periodic,
            "abcdef1234567890",
            at,
            &[("t", Outcome::Pass)],
        );
    }
    let fixes = [Fix {
        test: "t".to_owned(),
        commit: "abcdef1".to_owned(),
        at: before(now(), hours(1)),
    }];
    let input = PlanInput {
        fixes: &fixes,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert_eq!(plan.grace_released.len(), 1);
    assert!(same_commit("abcdef1", "abcdef1234567890"));
    assert!(
        !same_commit("abcdef", "abcdef1234567890"),
        "too short to match"
    );
    assert!(!same_commit("unknown", "unknown"));
}

#[test]
fn an_entry_added_by_the_batch_leaves_it_only_within_the_grace_period() {
    // The batch of Monday 2026-06-15 added `t`; its fix was recorded that day and passed 5
    // times before Tuesday noon.
    let monday = ts("2026-06-15T08:00:00Z");
    let mut hist = Hist::default();
    hist.series("t", 16, 2, before(monday, days(3)), hours(1));
    for i in 0..5 {
        let at = monday.checked_add(hours(2 * i + 1)).unwrap();
        hist.run(RunKind::Periodic, at, &[("t", Outcome::Pass)]);
    }
    let fixes = [Fix {
        test: "t".to_owned(),
        commit: "abcdef1234".to_owned(),
        at: monday,
    }];
    let entries = [QuarantineEntry {
        test: "t".to_owned(),
        owner: "sig-compute".to_owned(),
        reason: "batch".to_owned(),
        since: date("2026-06-15"),
        stable_by: Some(date("2026-06-30")),
    }];
    let input = PlanInput {
        quarantine: &entries,
        fixes: &fixes,
        ..PlanInput::default()
    };
    // Tuesday: within the grace period.
    let plan = hist.plan_with(&input, &Policy::kubevirt(), ts("2026-06-16T12:00:00Z"));
    assert_eq!(plan.grace_released.len(), 1);
    assert!(plan.grace_released[0].was_quarantined);
    assert_eq!(plan.grace_released[0].grace_ends, date("2026-06-17"));
    assert!(plan.keep.is_empty());
    // Wednesday 00:00: the grace is over, the entry stays until its release date.
    let plan = hist.plan_with(&input, &Policy::kubevirt(), ts("2026-06-17T00:00:00Z"));
    assert!(plan.grace_released.is_empty());
    assert_eq!(plan.keep.len(), 1);
    assert_eq!(plan.keep[0].earliest_release, Some(date("2026-07-14")));
    // An entry quarantined before the batch day does not get the grace.
    let older = [QuarantineEntry {
        since: date("2026-06-12"),
        ..entries[0].clone()
    }];
    let input = PlanInput {
        quarantine: &older,
        fixes: &fixes,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), ts("2026-06-16T12:00:00Z"));
    assert!(plan.grace_released.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Owners and escalation.

#[test]
fn owner_comes_from_the_tag_then_the_most_specific_pattern() {
    let owners = Owners::new([
        ("re:^canary::", "sig-regex"),
        ("canary::*", "sig-short-glob"),
        ("canary::good-*", "sig-long-glob"),
        ("canary::good-simple", "sig-exact"),
        ("canary::b?d", "sig-question"),
    ])
    .unwrap();
    let cases = [
        ("canary::good-simple", Some("sig-exact")),
        ("canary::good-other", Some("sig-long-glob")),
        ("canary::bad", Some("sig-question")),
        ("canary::baad", Some("sig-short-glob")),
        ("canary::", Some("sig-short-glob")),
        ("other::canary::x", None),
        ("[sig-network] canary::good-simple", None),
    ];
    for (test, expected) in cases {
        assert_eq!(owners.owner_of(test), expected, "{test}");
    }
    // The order of the pairs does not matter.
    let reversed = Owners::new([
        ("canary::b?d", "sig-question"),
        ("canary::good-simple", "sig-exact"),
        ("canary::good-*", "sig-long-glob"),
        ("canary::*", "sig-short-glob"),
        ("re:^canary::", "sig-regex"),
    ])
    .unwrap();
    assert_eq!(reversed, owners);
    // Regexes come after globs, unanchored unless anchored.
    let regex = Owners::new([("re:_tls$", "sig-network"), ("*-tls", "sig-glob")]).unwrap();
    assert_eq!(regex.owner_of("app::test_tls"), Some("sig-network"));
    assert_eq!(regex.owner_of("app::test-tls"), Some("sig-glob"));
    assert_eq!(regex.pattern_for("app::test_tls"), Some("re:_tls$"));
    // Bad patterns.
    assert!(Owners::new([("", "sig-x")]).is_err());
    assert!(Owners::new([("a", " ")]).is_err());
    let error = Owners::new([("re:[", "sig-x")]).unwrap_err();
    assert!(error.to_string().contains("pattern `re:[`"), "{error}");

    // A tag wins over the table.
    let tagged = TestInfo::from_name("[sig-network] canary::good-simple");
    assert_eq!(owner_of(&tagged, &owners).as_deref(), Some("sig-network"));
    let untagged = TestInfo::from_name("canary::good-simple");
    assert_eq!(owner_of(&untagged, &owners).as_deref(), Some("sig-exact"));
}

#[test]
fn a_candidate_without_an_owner_blocks_apply() {
    let mut hist = Hist::default();
    let recent = before(now(), hours(1));
    for test in ["[sig-compute] tagged", "listed", "orphan"] {
        hist.run(RunKind::Periodic, recent, &[(test, Outcome::Fail)]);
    }
    let owners = Owners::new([("listed", "sig-storage")]).unwrap();
    let input = PlanInput {
        owners: &owners,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    let owners: Vec<Option<&str>> = plan
        .quarantine_now
        .iter()
        .map(|c| c.owner.as_deref())
        .collect();
    assert_eq!(owners, [Some("sig-compute"), Some("sig-storage"), None]);
    assert_eq!(plan.missing_owner, ["orphan"]);
    assert!(plan.blocks_apply());
    assert!(plan.errors()[0].contains("`orphan` must be quarantined but has no owner"));

    // Tags given in the test list are used for tests of the history.
    let tests = [TestInfo {
        name: "orphan".to_owned(),
        tags: vec!["sig-operator".to_owned()],
    }];
    let owners = Owners::new([("listed", "sig-storage")]).unwrap();
    let input = PlanInput {
        tests: &tests,
        owners: &owners,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert!(!plan.blocks_apply());
}

#[test]
fn tags_are_parsed_from_names() {
    let info = TestInfo::from_name(
        "[sig-compute] VMI [rfe_id:273][crit:high] should start [ release-blocker ] [] [open",
    );
    assert_eq!(
        info.tags,
        ["sig-compute", "rfe_id:273", "crit:high", "release-blocker"]
    );
    assert_eq!(info.owner_tag(), Some("sig-compute"));
    assert!(info.is_release_blocker());
    assert_eq!(parse_tags("a [b [c] d]"), ["c"]);
    assert_eq!(TestInfo::from_name("[sig-] x").owner_tag(), None);
    assert_eq!(TestInfo::from_name("[ßig-x] y").owner_tag(), None);
    assert!(!TestInfo::from_name("canary::x").is_release_blocker());
}

#[test]
fn a_release_blocker_candidate_gets_an_issue_draft() {
    let mut hist = Hist::default();
    let test = "[sig-compute][release-blocker] VM migrates";
    hist.run(
        RunKind::Periodic,
        before(now(), hours(1)),
        &[(test, Outcome::Fail)],
    );
    hist.run(
        RunKind::Periodic,
        before(now(), hours(2)),
        &[("[release-blocker] no owner", Outcome::Fail)],
    );
    hist.run(
        RunKind::Periodic,
        before(now(), hours(3)),
        &[("[sig-compute] plain", Outcome::Fail)],
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(plan.escalations.len(), 2);
    let draft = &plan.escalations[1];
    assert_eq!(draft.test, test);
    assert_eq!(draft.owner.as_deref(), Some("sig-compute"));
    assert!(
        draft.body.contains("\n/release-blocker main\n"),
        "{}",
        draft.body
    );
    assert!(
        draft.body.contains("individual of sig-compute"),
        "{}",
        draft.body
    );
    assert!(draft.title.contains(test));
    let orphan = &plan.escalations[0];
    assert_eq!(orphan.owner, None);
    assert!(orphan.body.contains("Owner: none"));
    // The branch is configurable.
    let policy = Policy {
        release_branch: "release-1.5".to_owned(),
        ..Policy::kubevirt()
    };
    let plan = hist.plan(&policy, now());
    assert!(
        plan.escalations[0]
            .body
            .contains("/release-blocker release-1.5")
    );
}

// ---------------------------------------------------------------------------------------------
// Release from quarantine.

fn entry(test: &str, stable_by: Option<&str>) -> QuarantineEntry {
    QuarantineEntry {
        test: test.to_owned(),
        owner: "sig-storage".to_owned(),
        reason: "flaky".to_owned(),
        since: date("2026-05-01"),
        stable_by: stable_by.map(date),
    }
}

#[test]
fn release_after_fourteen_clean_periodic_days_from_stable_by() {
    // stable_by 2026-05-20: the 14 days end on 2026-06-03 00:00 UTC.
    let stable_by = "2026-05-20";
    let end = ts("2026-06-03T00:00:00Z");
    let day = |n: i64| ts("2026-05-20T00:00:00Z").checked_add(days(n)).unwrap();
    enum Expect {
        Release,
        Keep(&'static str),
    }
    type Execution = (RunKind, Timestamp, Outcome);
    let cases: &[(&str, Timestamp, &[Execution], Expect)] = &[
        (
            "one clean execution",
            end,
            &[(RunKind::Periodic, day(5), Outcome::Pass)],
            Expect::Release,
        ),
        (
            "a failure on day 13",
            end,
            &[
                (RunKind::Periodic, day(5), Outcome::Pass),
                (RunKind::Periodic, day(13), Outcome::Fail),
            ],
            Expect::Keep("failed 1 of 2"),
        ),
        ("no execution", end, &[], Expect::Keep("0 execution(s)")),
        (
            "only merged executions",
            end,
            &[(RunKind::Merged, day(5), Outcome::Pass)],
            Expect::Keep("0 execution(s)"),
        ),
        (
            "a failure on a merged run does not count",
            end,
            &[
                (RunKind::Periodic, day(5), Outcome::Pass),
                (RunKind::Merged, day(6), Outcome::Fail),
            ],
            Expect::Release,
        ),
        (
            "one second too early",
            before(end, SignedDuration::from_secs(1)),
            &[(RunKind::Periodic, day(5), Outcome::Pass)],
            Expect::Keep("end on 2026-06-03"),
        ),
        (
            "a failure before stable_by is outside the window",
            end,
            &[
                (RunKind::Periodic, before(day(0), hours(1)), Outcome::Fail),
                (RunKind::Periodic, day(1), Outcome::Pass),
            ],
            Expect::Release,
        ),
        (
            "clean for 14 days after a failure on day 13",
            day(28),
            &[
                (RunKind::Periodic, day(13), Outcome::Fail),
                (RunKind::Periodic, day(20), Outcome::Pass),
            ],
            Expect::Release,
        ),
    ];
    for (name, now, executions, expect) in cases {
        let mut hist = Hist::default();
        for (kind, at, outcome) in executions.iter() {
            hist.run(*kind, *at, &[("q", *outcome)]);
        }
        let entries = [entry("q", Some(stable_by))];
        let tests = [TestInfo::from_name("q")];
        let input = PlanInput {
            tests: &tests,
            quarantine: &entries,
            ..PlanInput::default()
        };
        let plan = hist.plan_with(&input, &Policy::kubevirt(), *now);
        assert!(plan.unknown_quarantine_entries.is_empty());
        assert!(
            plan.quarantine_now.is_empty() && plan.next_batch.is_empty(),
            "{name}"
        );
        match expect {
            Expect::Release => {
                assert_eq!(plan.release.len(), 1, "{name}: {:?}", plan.keep);
                assert_eq!(plan.release[0].stable_by, date(stable_by));
                assert!(plan.release[0].reason.contains("no failure in"), "{name}");
            }
            Expect::Keep(reason) => {
                assert!(plan.release.is_empty(), "{name}");
                assert!(
                    plan.keep[0].reason.contains(reason),
                    "{name}: {}",
                    plan.keep[0].reason
                );
            }
        }
    }
}

#[test]
fn release_details() {
    // Without stable_by, a test stays.
    let mut hist = Hist::default();
    hist.run(
        RunKind::Periodic,
        before(now(), days(1)),
        &[("q", Outcome::Pass)],
    );
    let entries = [entry("q", None)];
    let input = PlanInput {
        quarantine: &entries,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert!(plan.keep[0].reason.contains("no `stable_by`"));
    // After a failure, the earliest release is 14 days after it.
    let mut hist = Hist::default();
    hist.run(
        RunKind::Periodic,
        ts("2026-06-05T10:00:00Z"),
        &[("q", Outcome::Fail)],
    );
    let entries = [entry("q", Some("2026-05-01"))];
    let input = PlanInput {
        quarantine: &entries,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert_eq!(plan.keep[0].earliest_release, Some(date("2026-06-19")));
    // A failure in a systemic periodic run does not hold a release.
    let mut hist = Hist::default();
    hist.run(
        RunKind::Periodic,
        before(now(), days(3)),
        &[("q", Outcome::Pass)],
    );
    let outcomes: Vec<(&str, Outcome)> = ["q", "a", "b", "c", "d"]
        .into_iter()
        .map(|test| (test, Outcome::Fail))
        .collect();
    hist.run(RunKind::Periodic, before(now(), days(2)), &outcomes);
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert_eq!(plan.release.len(), 1);
    // A quarantined test is never a candidate.
    assert!(plan.next_batch.iter().all(|c| c.test != "q"));
}

#[test]
fn unknown_and_duplicate_entries_are_reported() {
    let mut hist = Hist::default();
    hist.run(
        RunKind::Local,
        before(now(), days(40)),
        &[("old", Outcome::Pass)],
    );
    let entries = [
        entry("old", None),
        entry("listed", None),
        entry("gone", None),
        entry("listed", Some("2026-01-01")),
    ];
    let tests = [TestInfo::from_name("listed")];
    let input = PlanInput {
        tests: &tests,
        quarantine: &entries,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert_eq!(plan.unknown_quarantine_entries, ["gone"]);
    assert_eq!(plan.duplicate_quarantine_entries, ["listed"]);
    let kept: Vec<&str> = plan.keep.iter().map(|k| k.test.as_str()).collect();
    assert_eq!(kept, ["listed", "old"]);
    assert_eq!(plan.counts.tests, 2);
}

/// An entry may spell its test as a report writes it (tags, `[QUARANTINE]`), as `quarantine
/// fixed` accepts it; an entry naming no test gets the closest ids.
#[test]
fn entries_are_matched_as_ingest_spells_ids_and_unknown_ones_name_the_closest() {
    let mut hist = Hist::default();
    hist.run(
        RunKind::Periodic,
        before(now(), days(1)),
        &[("vm::starts", Outcome::Pass), ("vm::stops", Outcome::Pass)],
    );
    let entries = [
        entry("[QUARANTINE] [sig-compute] vm::starts", None),
        entry("vm::stop", None),
    ];
    let input = PlanInput {
        quarantine: &entries,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert_eq!(plan.unknown_quarantine_entries, ["vm::stop"]);
    assert_eq!(
        plan.unknown_quarantine_closest,
        [(
            "vm::stop".to_owned(),
            vec!["vm::stops".to_owned(), "vm::starts".to_owned()]
        )]
    );
    let kept: Vec<&str> = plan.keep.iter().map(|k| k.test.as_str()).collect();
    assert_eq!(kept, ["[QUARANTINE] [sig-compute] vm::starts"]);
}

// ---------------------------------------------------------------------------------------------
// Suite stability and lanes.

#[test]
fn stability_multiplies_pass_rates() {
    // 17 tests each failing once in 20 runs (5 %, not candidates), in different runs.
    let mut hist = Hist::default();
    let tests: Vec<String> = (0..17).map(|i| format!("t{i:02}")).collect();
    for run in 0..20 {
        let outcomes: Vec<(&str, Outcome)> = tests
            .iter()
            .enumerate()
            .map(|(i, test)| {
                let outcome = if i == run {
                    Outcome::Fail
                } else {
                    Outcome::Pass
                };
                (test.as_str(), outcome)
            })
            .collect();
        let at = before(now(), days(4) + hours(run as i64));
        hist.run(RunKind::Periodic, at, &outcomes);
    }
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.next_batch.is_empty() && plan.quarantine_now.is_empty());
    let stability = &plan.stability;
    assert!((stability.projected - 0.95f64.powi(17)).abs() < 1e-12);
    assert_eq!(format!("{:.4}", stability.projected), "0.4181");
    assert_eq!(stability.projected_after_plan, stability.projected);
    assert_eq!(stability.measured, Some(3.0 / 20.0));
    assert_eq!(stability.measured_runs, 20);
    assert!(!stability.projected_met);
    assert_eq!(stability.measured_met, Some(false));

    // Quarantining 15 of them leaves 0.95^2 = 90.25 %, over the goal.
    let entries: Vec<QuarantineEntry> = tests[..15].iter().map(|t| entry(t, None)).collect();
    let input = PlanInput {
        quarantine: &entries,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert!((plan.stability.projected - 0.9025).abs() < 1e-12);
    assert!(plan.stability.projected_met);
    assert_eq!(plan.stability.measured, Some(18.0 / 20.0));
    assert_eq!(plan.stability.measured_met, Some(true));
}

#[test]
fn projected_after_plan_leaves_out_the_candidates() {
    let mut hist = Hist::default();
    hist.spread("flaky", 5, 5, before(now(), hours(1)), hours(1));
    hist.series(
        "ok",
        10,
        0,
        before(now(), hours(1)),
        SignedDuration::from_mins(30),
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(names(&plan.quarantine_now), ["flaky"]);
    assert_eq!(plan.stability.projected, 0.5);
    assert_eq!(plan.stability.projected_after_plan, 1.0);
    // Runs with only skips are not measured.
    let mut hist = Hist::default();
    hist.run(
        RunKind::Periodic,
        before(now(), hours(1)),
        &[("t", Outcome::Skip)],
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(
        (plan.stability.measured, plan.stability.projected),
        (None, 1.0)
    );
}

/// A required lane with `runs` runs in the last 7 days, `failed` of which fail, together
/// failing `distinct` distinct tests.
fn lane_history(runs: usize, failed: usize, distinct: usize) -> Hist {
    let mut hist = Hist::default();
    let tests: Vec<String> = (0..distinct).map(|i| format!("t{i:02}")).collect();
    for run in 0..runs {
        let mut outcomes: Vec<(&str, Outcome)> = vec![("always-ok", Outcome::Pass)];
        if run < failed {
            // Spread the failing tests over the failing runs.
            for (i, test) in tests.iter().enumerate() {
                if i % failed == run {
                    outcomes.push((test.as_str(), Outcome::Fail));
                }
            }
        }
        let at = before(now(), days(1) + hours(run as i64));
        hist.run_on(
            "pull-e2e-sig-network",
            RunKind::Presubmit,
            "c",
            at,
            &outcomes,
        );
    }
    hist
}

#[test]
fn a_required_lane_over_25_percent_with_more_than_10_failing_tests_may_become_optional() {
    let policy = Policy {
        required_lanes: vec![RequiredLane::new("pull-e2e-sig-network")],
        ..Policy::kubevirt()
    };
    // (runs, failed runs, distinct failing tests, candidate)
    let cases = [
        (8, 2, 11, false), // exactly 25 %
        (8, 3, 10, false), // 37.5 %, exactly 10 tests
        (8, 3, 11, true),
        (4, 4, 30, true),
    ];
    for (runs, failed, distinct, candidate) in cases {
        let hist = lane_history(runs, failed, distinct);
        let plan = hist.plan(&policy, now());
        let lane = &plan.lanes[0];
        assert_eq!(lane.lane, "pull-e2e-sig-network");
        assert!(lane.required);
        assert_eq!(lane.team.as_deref(), Some("sig-network"));
        assert_eq!((lane.runs, lane.failed_runs), (runs as u64, failed as u64));
        assert_eq!(lane.distinct_failing_tests, distinct as u64);
        assert_eq!(lane.failing_tests.len(), distinct.min(LANE_TESTS_SHOWN));
        assert_eq!(
            lane.optional_candidate, candidate,
            "{runs} {failed} {distinct}"
        );
        assert_eq!(
            lane.deadline,
            candidate.then(|| date("2026-06-17")),
            "today + 7 days"
        );
    }
    // A lane that is not required is reported but never a candidate.
    let plan = lane_history(4, 4, 30).plan(&Policy::kubevirt(), now());
    assert!(!plan.lanes[0].required && !plan.lanes[0].optional_candidate);
    // A required lane without runs is still reported.
    let policy = Policy {
        required_lanes: vec![RequiredLane::new("pull-e2e-sig-storage")],
        ..Policy::kubevirt()
    };
    let plan = Hist::default().plan(&policy, now());
    assert_eq!(plan.lanes.len(), 1);
    assert_eq!((plan.lanes[0].runs, plan.lanes[0].rate), (0, 0.0));
}

#[test]
fn lanes_ignore_quarantined_tests_and_old_runs() {
    let mut hist = Hist::default();
    hist.run_on(
        "lane",
        RunKind::Periodic,
        "c",
        before(now(), days(1)),
        &[("q", Outcome::Fail)],
    );
    hist.run_on(
        "lane",
        RunKind::Periodic,
        "c",
        before(now(), days(7)),
        &[("t", Outcome::Fail)],
    );
    hist.run_on(
        "lane",
        RunKind::Local,
        "c",
        before(now(), days(1)),
        &[("t", Outcome::Fail)],
    );
    let entries = [entry("q", None)];
    let input = PlanInput {
        quarantine: &entries,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert_eq!(plan.lanes.len(), 1);
    assert_eq!((plan.lanes[0].runs, plan.lanes[0].failed_runs), (1, 0));
    assert_eq!(
        team_from_lane("periodic-e2e-sig-compute-migrations").as_deref(),
        Some("sig-compute")
    );
    assert_eq!(team_from_lane("lane"), None);
}

// ---------------------------------------------------------------------------------------------
// A limit on the rates rule, the auto-quarantine preset's release, small-sample statistics.
// (The preset's per-lane rule has its own module, `tests/auto_preset.rs`.)

/// The rates rule with `auto_quarantine_max_per_run`: every candidate at once, ranked.
fn rates_at_once(limit: u32) -> Policy {
    Policy {
        auto_quarantine_max_per_run: limit,
        ..Policy::kubevirt()
    }
}

#[test]
fn a_limit_on_the_rates_rule_takes_at_most_that_many_tests_per_run() {
    let mut hist = Hist::default();
    let recent = before(now(), hours(1));
    hist.series("worst", 1, 3, recent, hours(1)); // 75 % in 3 days
    hist.series("bad", 2, 2, recent, hours(1)); // 50 % in 3 days
    hist.series("slow-burn", 18, 2, before(now(), days(4)), hours(1)); // 10 % in 14 days
    let plan = hist.plan(&rates_at_once(1), now());
    assert_eq!(plan.preset, Preset::Kubevirt);
    assert_eq!(names(&plan.quarantine_now), ["worst"]);
    assert_eq!(names(&plan.deferred), ["bad", "slow-burn"]);
    assert!(plan.next_batch.is_empty() && plan.grace_released.is_empty());
    assert!(plan.deferred[0].reason.contains("at most 1 test(s)"));
    // Missing owners of deferred tests do not block apply.
    assert_eq!(plan.missing_owner, ["worst"]);

    let plan = hist.plan(&rates_at_once(2), now());
    assert_eq!(names(&plan.quarantine_now), ["bad", "worst"]);
    assert_eq!(names(&plan.deferred), ["slow-burn"]);
    // Without a 3-day candidate, the 14-day one is taken.
    let mut hist = Hist::default();
    hist.series("slow-burn", 18, 2, before(now(), days(4)), hours(1));
    let plan = hist.plan(&rates_at_once(1), now());
    assert_eq!(names(&plan.quarantine_now), ["slow-burn"]);
    assert_eq!(plan.quarantine_now[0].batch_date, None);
}

#[test]
fn auto_quarantine_releases_at_most_a_tenth_of_a_percent_over_500_periodic_executions() {
    // stable_by long past; (executions, failures, released)
    for (executions, failures, released) in [
        (500usize, 0usize, true),
        (499, 0, false),
        (500, 1, false),
        (1000, 1, true),
        (1000, 2, false),
        (2000, 2, true),
    ] {
        let mut hist = Hist::default();
        hist.series(
            "q",
            executions - failures,
            failures,
            before(now(), hours(1)),
            SignedDuration::from_mins(10),
        );
        let entries = [entry("q", Some("2026-05-01"))];
        let input = PlanInput {
            quarantine: &entries,
            ..PlanInput::default()
        };
        let plan = hist.plan_with(&input, &Policy::auto_quarantine(), now());
        assert_eq!(
            plan.release.len(),
            usize::from(released),
            "{executions} {failures}"
        );
        assert!(plan.quarantine_now.is_empty());
    }
}

#[test]
fn min_runs_and_wilson_stop_one_failure_in_three_runs() {
    let mut hist = Hist::default();
    hist.series("t", 2, 1, before(now(), hours(1)), hours(1));
    // Plain: 33 % in 3 days, quarantined at once.
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    // min_runs = 5: not enough runs for any rule.
    let policy = Policy {
        min_runs: 5,
        ..Policy::kubevirt()
    };
    let plan = hist.plan(&policy, now());
    assert!(plan.quarantine_now.is_empty() && plan.next_batch.is_empty());
    // min_runs = 3: enough.
    let policy = Policy {
        min_runs: 3,
        ..Policy::kubevirt()
    };
    assert_eq!(hist.plan(&policy, now()).quarantine_now.len(), 1);
    // Wilson: the lower bound is 1.8 %, under both thresholds.
    let wilson = Policy {
        statistics: Statistics::Wilson,
        ..Policy::kubevirt()
    };
    let plan = hist.plan(&wilson, now());
    assert!(plan.quarantine_now.is_empty() && plan.next_batch.is_empty());
    // ... but a test failing half of 40 runs is still quarantined at once.
    let mut hist = Hist::default();
    hist.spread("t", 20, 20, before(now(), hours(1)), hours(1));
    let plan = hist.plan(&wilson, now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    let candidate = &plan.quarantine_now[0];
    assert_eq!(candidate.rate, 0.5);
    assert!(candidate.score > 0.2 && candidate.score < 0.5);
    assert!(
        candidate.reason.contains("Wilson lower bound"),
        "{}",
        candidate.reason
    );
}

#[test]
fn wilson_lower_bound_known_answers() {
    let cases = [
        (1u64, 3u64, 1.96, 0.0177),
        (0, 10, 1.96, 0.0),
        (5, 100, 1.96, 0.0185),
        (50, 100, 1.96, 0.3991),
        (10, 10, 1.96, 0.6554),
    ];
    for (failed, counted, z, expected) in cases {
        let bound = wilson_lower_bound(failed, counted, z);
        assert!(
            (bound - expected).abs() < 5e-4,
            "{failed}/{counted}: {bound} vs {expected}"
        );
    }
    assert_eq!(wilson_lower_bound(0, 0, 1.96), 0.0);
}

// ---------------------------------------------------------------------------------------------
// Streaming, generated histories, output.

#[test]
fn results_may_come_in_any_order_and_orphans_are_counted() {
    let history = HistorySpec::new(11, now())
        .stable_tests("stable", 10)
        .test("flaky", 0.4)
        .runs(60, hours(2))
        .generate();
    let results = history.results();
    let policy = Policy::kubevirt();
    let forward = plan(
        &history.runs,
        &results,
        &PlanInput::default(),
        &policy,
        now(),
    );
    let mut shuffled = results.clone();
    let mut rng = SplitMix64::new(3);
    for i in (1..shuffled.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        shuffled.swap(i, j);
    }
    let orphan = ResultRow {
        run_id: 9999,
        ..results[0].clone()
    };
    shuffled.push(orphan);
    let mut aggregator = Aggregator::new(&history.runs, &policy, now());
    for row in &shuffled {
        aggregator.add(row);
    }
    let mut shuffled_plan = aggregator.finish(&PlanInput::default());
    assert_eq!(shuffled_plan.counts.orphan_results, 1);
    shuffled_plan.counts = forward.counts.clone();
    assert_eq!(shuffled_plan, forward);
}

#[test]
fn the_generator_is_deterministic() {
    let spec = HistorySpec::new(42, now())
        .stable_tests("s", 5)
        .test("f", 0.3)
        .runs(30, hours(1))
        .systemic(0.1, 0.5)
        .skips(0.05);
    let a = spec.generate();
    let b = spec.generate();
    assert_eq!(a.runs, b.runs);
    assert_eq!(a.results(), b.results());
    assert_eq!(a.results().len(), 30 * 6);
    let other = HistorySpec { seed: 43, ..spec }.generate();
    assert_ne!(a.results(), other.results());
    let large = HistorySpec::large(1, now());
    assert_eq!((large.tests.len(), large.runs), (10_000, 1_000));
    assert_eq!(
        large
            .tests
            .iter()
            .filter(|t| t.fail_probability > 0.0)
            .count(),
        10
    );
}

#[test]
fn generated_flaky_tests_are_found_and_stable_ones_are_not() {
    // 16 days of hourly runs on three lanes (one untrusted), 3 % of them systemic.
    let spec = HistorySpec::new(2026, now())
        .stable_tests("stable", 60)
        .test("[sig-compute] very-flaky", 0.5)
        .test("[sig-network] flaky", 0.1)
        .test("[sig-storage] rare", 0.005)
        .runs(16 * 24, hours(1))
        .systemic(0.03, 0.5)
        .skips(0.02);
    let history = spec.generate();
    let policy = Policy::kubevirt();
    let mut aggregator = Aggregator::new(&history.runs, &policy, now());
    history.for_each_result(|row| aggregator.add(row));
    let plan = aggregator.finish(&PlanInput::default());
    assert!(!plan.systemic_runs.is_empty(), "some runs are systemic");
    // The 50 % test is over 20 % in 3 days; the 10 % test over 5 % in 14 days; neither the
    // 0.5 % test nor any stable one, although systemic runs failed them all.
    assert_eq!(names(&plan.quarantine_now), ["[sig-compute] very-flaky"]);
    assert_eq!(names(&plan.next_batch), ["[sig-network] flaky"]);
    assert!(plan.missing_owner.is_empty());
    let very_flaky = &plan.quarantine_now[0];
    assert!(
        (0.35..0.65).contains(&very_flaky.rate),
        "{}",
        very_flaky.rate
    );
    let flaky = &plan.next_batch[0];
    assert!((0.05..0.2).contains(&flaky.rate), "{}", flaky.rate);
    assert!(plan.stability.projected < 0.5);
    assert!(plan.stability.projected_after_plan > 0.95);
}

#[test]
fn the_plan_serializes_to_json() {
    let mut hist = Hist::default();
    hist.run(
        RunKind::Periodic,
        before(now(), hours(1)),
        &[("[sig-x] t", Outcome::Fail)],
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["quarantine_now"][0]["test"], "[sig-x] t");
    assert_eq!(json["quarantine_now"][0]["rule"], "now");
    assert_eq!(json["quarantine_now"][0]["owner"], "sig-x");
    assert_eq!(json["batch"]["date"], "2026-06-15");
    assert_eq!(json["preset"], "kubevirt");
    assert_eq!(json["now"], NOW);
    assert!(json["stability"]["measured"].is_number());
    assert!(!plan.is_empty());
    assert!(Hist::default().plan(&Policy::kubevirt(), now()).is_empty());
}

#[test]
fn percentages_read_well() {
    assert_eq!(percent(0.05), "5 %");
    assert_eq!(percent(0.0501), "5.01 %");
    assert_eq!(percent(1.0 / 3.0), "33.33 %");
    assert_eq!(percent(0.0), "0 %");
    assert_eq!(percent(0.001), "0.1 %");
}

/// The plan of [`HistorySpec::large`] (10,000 tests x 1,000 runs) under `policy`, and how long
/// the fold took (the history generated beforehand).
fn large_plan(policy: &Policy) -> (Plan, std::time::Duration) {
    let now = now();
    let history = HistorySpec::large(1, now).generate();
    let start = std::time::Instant::now();
    let mut aggregator = Aggregator::new(&history.runs, policy, now);
    history.for_each_result(|row| aggregator.add(row));
    let plan = aggregator.finish(&PlanInput::default());
    (plan, start.elapsed())
}

/// The plan over 10,000 tests x 1,000 runs finds the flaky tests (its time is printed, not
/// asserted: `examples/plan_bench.rs` is the benchmark). Run with
/// `cargo test --release --lib quarantine::tests::large -- --ignored --nocapture`.
#[test]
#[ignore = "10 million rows: run in release mode by hand"]
fn large_history_plan_finds_the_flaky_tests() {
    let (plan, elapsed) = large_plan(&Policy::kubevirt());
    eprintln!(
        "{} rows: {elapsed:?}; {} now, {} batch, {} systemic runs",
        plan.counts.results,
        plan.quarantine_now.len(),
        plan.next_batch.len(),
        plan.systemic_runs.len()
    );
    assert_eq!(plan.counts.results, 10_000_000);
    // The 15 % and 40 % tests are found; runs are mostly not systemic.
    assert!(plan.quarantine_now.len() + plan.next_batch.len() >= 4);
    assert!(plan.systemic_runs.len() < 100);
}

/// A generated history recorded into a store holds every run once and every result, and its
/// plan is the one of the generated rows.
#[test]
fn a_generated_history_records_into_a_store_whole() {
    let history = HistorySpec::new(3, now())
        .stable_tests("stable", 30)
        .test("flaky", 0.4)
        .runs(40, jiff::SignedDuration::from_hours(6))
        .generate();
    let dir = tempfile::tempdir().unwrap();
    let mut store = crate::history::History::open(&dir.path().join("h.db")).unwrap();
    let mut calls = Vec::new();
    let written = history
        .record_into(&mut store, "test", "gen", |run, written| {
            calls.push((run, written))
        })
        .unwrap();
    assert_eq!(written, 40 * 31);
    assert_eq!(calls.len(), 40);
    assert_eq!(calls.last(), Some(&(40, 40 * 31)));
    let runs = store.run_summaries(None).unwrap();
    assert_eq!(runs.len(), 40);
    assert_eq!(runs[0].ingest_key.as_deref(), Some("gen:1"));
    let mut stored = Vec::new();
    store
        .for_each_result(None, |row| stored.push((row.test.clone(), row.outcome)))
        .unwrap();
    let generated: Vec<_> = history
        .results()
        .into_iter()
        .map(|row| (row.test, row.outcome))
        .collect();
    assert_eq!(stored, generated);
}
