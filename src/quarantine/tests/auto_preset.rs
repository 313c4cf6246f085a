//! Known answers for the `auto-quarantine` preset: KubeVirt's auto-quarantine robot rule for
//! rule (kubevirt/project-infra@2c863fd), one test per rule, each failing when its rule is
//! taken out of `auto.rs` (checked by mutation). Rule numbers are those of the module docs of
//! [`crate::quarantine`].

use super::*;

/// Two required lanes, as KubeVirt's `k8s-1.35` sig lanes are.
pub(super) const LANE: &str = "pull-kubevirt-e2e-k8s-1.35-sig-compute";
const NETWORK: &str = "pull-kubevirt-e2e-k8s-1.35-sig-network";
/// An optional lane, as KubeVirt's `k8s-1.37` lanes are.
const OPTIONAL: &str = "pull-kubevirt-e2e-k8s-1.37-sig-compute";

/// The preset with the two required lanes.
pub(super) fn robot() -> Policy {
    Policy {
        required_lanes: vec![RequiredLane::new(LANE), RequiredLane::new(NETWORK)],
        ..Policy::auto_quarantine()
    }
}

/// On `lane`, runs of `kind` with one execution of `test` each: a failing run at each of
/// `fail_hours` (hours before now), and `passes` passing runs, one every 3 hours from 90
/// minutes before now (so never at the same instant as a failure). Every run has its own
/// commit.
pub(super) fn runs_of(
    hist: &mut Hist,
    lane: &str,
    kind: RunKind,
    test: &str,
    passes: usize,
    fail_hours: &[i64],
) {
    passes_from(
        hist,
        lane,
        kind,
        test,
        passes,
        SignedDuration::from_mins(90),
    );
    for (index, &ago) in fail_hours.iter().enumerate() {
        let commit = format!("f-{lane}-{test}-{index}");
        let outcomes = [(test, Outcome::Fail)];
        hist.run_on(lane, kind, &commit, before(now(), hours(ago)), &outcomes);
    }
}

/// `count` passing runs of `test` on `lane`, every 3 hours from `newest` before now.
fn passes_from(
    hist: &mut Hist,
    lane: &str,
    kind: RunKind,
    test: &str,
    count: usize,
    newest: SignedDuration,
) {
    for index in 0..count {
        let at = before(now(), newest + hours(3) * index as i32);
        let commit = format!("p-{lane}-{test}-{}", hist.runs.len());
        hist.run_on(lane, kind, &commit, at, &[(test, Outcome::Pass)]);
    }
}

/// [`runs_of`] with presubmit runs.
fn presubmits(hist: &mut Hist, lane: &str, test: &str, passes: usize, fail_hours: &[i64]) {
    runs_of(hist, lane, RunKind::Presubmit, test, passes, fail_hours);
}

/// Every test proposed (quarantined now or deferred), by name.
fn proposed(plan: &Plan) -> Vec<&str> {
    let mut all: Vec<&str> = names(&plan.quarantine_now);
    all.extend(names(&plan.deferred));
    all.sort();
    all
}

/// The one test the plan quarantines, if any.
fn chosen(hist: &Hist) -> Vec<String> {
    let plan = hist.plan(&robot(), now());
    names(&plan.quarantine_now)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The preset's numbers.

#[test]
fn the_preset_has_the_robots_numbers_and_kubevirt_stays_the_default() {
    assert_eq!(Policy::default(), Policy::kubevirt());
    assert_eq!(Policy::kubevirt().quarantine_rule, QuarantineRule::Rates);
    assert!(!Policy::kubevirt().is_per_lane());

    let auto = Policy::auto_quarantine();
    auto.validate().unwrap();
    assert_eq!(auto.preset, Preset::AutoQuarantine);
    assert_eq!(auto.quarantine_rule, QuarantineRule::PerLane);
    assert_eq!(auto.trusted_kinds, [RunKind::Presubmit, RunKind::Merged]);
    assert_eq!((auto.batch_rate, auto.batch_window_days), (0.05, 14));
    assert_eq!(
        (
            auto.max_failure_age_hours,
            auto.min_recent_failures,
            auto.min_failure_interval_hours
        ),
        (72, 2, 24)
    );
    assert_eq!(auto.systemic_failures, 5);
    assert_eq!(auto.auto_quarantine_max_per_run, 1);
    assert_eq!(
        (auto.release_max_rate, auto.release_sample_min),
        (0.001, 500)
    );
    assert_eq!(
        auto.release_kinds,
        [RunKind::Periodic, RunKind::Presubmit, RunKind::Merged]
    );
    assert_eq!(auto.broken_min_runs, 5);
    assert!(auto.required_lanes.is_empty());

    assert_eq!(
        parse_policy("[policy]\npreset = \"auto-quarantine\"\n").unwrap(),
        auto
    );
    let custom = parse_policy(
        "[policy]\npreset = \"auto-quarantine\"\nmax_failure_age_hours = 48\n\
         min_recent_failures = 3\nmin_failure_interval_hours = 0\n",
    )
    .unwrap();
    assert_eq!(
        (
            custom.max_failure_age_hours,
            custom.min_recent_failures,
            custom.min_failure_interval_hours
        ),
        (48, 3, 0)
    );
    // The per-lane rule in the kubevirt preset, with a limit.
    let kubevirt =
        parse_policy("[policy]\nquarantine_rule = \"per-lane\"\nauto_quarantine_max_per_run = 2\n")
            .unwrap();
    assert_eq!(kubevirt.preset, Preset::Kubevirt);
    assert!(kubevirt.is_per_lane());
    // And the rates rule in this preset.
    let rates =
        parse_policy("[policy]\npreset = \"auto-quarantine\"\nquarantine_rule = \"rates\"\n")
            .unwrap();
    assert!(!rates.is_per_lane());
}

#[test]
fn per_lane_keys_refuse_bad_values_and_say_what_to_write() {
    let auto = "preset = \"auto-quarantine\"\n";
    let cases: &[(&str, &str)] = &[
        (
            "auto_quarantine_max_per_run = 0",
            "write `auto_quarantine_max_per_run` = 1",
        ),
        (
            "max_failure_age_hours = 0",
            "`max_failure_age_hours` = 0 must be between 1 and 336",
        ),
        (
            "max_failure_age_hours = 400",
            "write 72 for the robot's three days",
        ),
        (
            "batch_window_days = 2",
            "`max_failure_age_hours` = 72 must be between 1 and 48",
        ),
        ("min_recent_failures = 0", "write 2 for the robot's rule"),
        (
            "min_failure_interval_hours = 100",
            "write at most 72 (24 for the robot's rule), or 0",
        ),
        ("quarantine_rule = \"robot\"", "unknown variant `robot`"),
    ];
    for (line, expected) in cases {
        let error = parse_policy(&format!("[policy]\n{auto}{line}\n")).unwrap_err();
        assert!(
            error.contains(expected),
            "{line}: expected {expected:?} in {error}"
        );
    }
    // The kubevirt preset does not use them, so does not check them.
    parse_policy("[policy]\nmin_failure_interval_hours = 100\n").unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule 1: a 14-day look-back, and no 3-day rule.

#[test]
fn rule_1_looks_back_fourteen_days_with_no_three_day_rule() {
    // Over 20 % in 3 days (2 failures in 8 runs), under 5 % in 14 days (2 in 60): the robot's
    // `auto` has no 3-day rule (only its `report` command does).
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 6, &[4, 36]);
    passes_from(&mut hist, LANE, RunKind::Presubmit, "t", 52, hours(100));
    let plan = hist.plan(&robot(), now());
    assert_eq!(proposed(&plan), Vec::<&str>::new());
    let rates = Policy {
        trusted_kinds: vec![RunKind::Presubmit, RunKind::Merged],
        ..Policy::kubevirt()
    };
    assert_eq!(names(&hist.plan(&rates, now()).quarantine_now), ["t"]);

    // 2 failures in 40 runs (5 %); runs 14 days old or older are not in the impact. A run
    // exactly 14 days old is out (the window is open at its old edge) ...
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    passes_from(&mut hist, LANE, RunKind::Presubmit, "t", 1, days(14));
    assert_eq!(chosen(&hist), ["t"]);
    // ... and so are older ones, when a longer window keeps them in the history read.
    passes_from(&mut hist, LANE, RunKind::Presubmit, "t", 40, days(15));
    let longer = Policy {
        stability_window_days: 28,
        ..robot()
    };
    let plan = hist.plan(&longer, now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    assert_eq!(plan.quarantine_now[0].runs, 40);
    assert_eq!(plan.quarantine_now[0].window_days, 14);
}

// ---------------------------------------------------------------------------------------------
// Rule 2: presubmit and merged runs of the required lanes.

#[test]
fn rule_2_counts_presubmit_and_merged_runs_of_required_lanes_only() {
    // The same failures (4 h and 36 h ago, 2 in 40 runs) on each lane and kind.
    for (lane, kind, counted) in [
        (LANE, RunKind::Presubmit, true),
        (NETWORK, RunKind::Merged, true),
        (LANE, RunKind::Periodic, false),
        (OPTIONAL, RunKind::Presubmit, false),
    ] {
        let mut hist = Hist::default();
        runs_of(&mut hist, lane, kind, "t", 38, &[4, 36]);
        let expected: &[&str] = if counted { &["t"] } else { &[] };
        assert_eq!(chosen(&hist), expected, "{lane} {kind:?}");
    }

    // Runs of an uncounted kind on a required lane do not dilute the impact.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    passes_from(&mut hist, LANE, RunKind::Periodic, "t", 60, hours(2));
    passes_from(&mut hist, OPTIONAL, RunKind::Presubmit, "t", 60, hours(2));
    let plan = hist.plan(&robot(), now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    assert_eq!(plan.quarantine_now[0].runs, 40);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);

    // Without `required_lanes`, every lane of a counted kind counts, and the plan says so.
    let mut hist = Hist::default();
    presubmits(&mut hist, OPTIONAL, "t", 38, &[4, 36]);
    let plan = hist.plan(&Policy::auto_quarantine(), now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    assert!(!plan.quarantine_now[0].lanes[0].required);
    assert!(
        plan.quarantine_now[0]
            .reason
            .contains("every lane counts: `required_lanes` is empty"),
        "{}",
        plan.quarantine_now[0].reason
    );
    assert_eq!(plan.notes.len(), 1);
    assert!(
        plan.notes[0].contains("every lane of presubmit/merged runs counts"),
        "{:?}",
        plan.notes
    );
    // Periodic runs still do not.
    let mut hist = Hist::default();
    runs_of(&mut hist, OPTIONAL, RunKind::Periodic, "t", 38, &[4, 36]);
    let plan = hist.plan(&Policy::auto_quarantine(), now());
    assert_eq!(proposed(&plan), Vec::<&str>::new());
}

// ---------------------------------------------------------------------------------------------
// Rule 3: the impact on one lane is at least 5 %.

#[test]
fn rule_3_impact_is_at_least_five_percent_of_one_lanes_runs() {
    // Exactly 5 % (2 of 40) is enough: the robot compares `>= 5.0`.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    let plan = hist.plan(&robot(), now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    let candidate = &plan.quarantine_now[0];
    assert_eq!(candidate.rule, Rule::PerLane);
    assert_eq!((candidate.rate, candidate.threshold), (0.05, 0.05));
    assert_eq!((candidate.failed, candidate.passed), (2, 38));

    // 2 of 41 (4.88 %) is not.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 39, &[4, 36]);
    assert_eq!(chosen(&hist), Vec::<String>::new());

    // The share is of the lane's runs, whichever tests they ran: 2 of 50 (4 %) although the
    // test failed in 2 of its own 20 runs.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 18, &[4, 36]);
    passes_from(&mut hist, LANE, RunKind::Presubmit, "u", 30, hours(2));
    assert_eq!(chosen(&hist), Vec::<String>::new());

    // And of that lane only: 60 passing runs on another required lane do not dilute it.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    passes_from(&mut hist, NETWORK, RunKind::Presubmit, "t", 60, hours(2));
    assert_eq!(chosen(&hist), ["t"]);
}

// ---------------------------------------------------------------------------------------------
// Rule 4: clustered failures.

#[test]
fn rule_4_a_lane_whose_failures_are_all_clustered_does_not_count() {
    // `t` failed 4 h and 36 h ago, each time with 4 other tests: 5 failed tests, systemic.
    let systemic = |hist: &mut Hist, ago: i64, others: &[&str]| {
        let mut outcomes = vec![("t", Outcome::Fail)];
        outcomes.extend(others.iter().map(|other| (*other, Outcome::Fail)));
        let commit = format!("s{ago}");
        hist.run_on(
            LANE,
            RunKind::Presubmit,
            &commit,
            before(now(), hours(ago)),
            &outcomes,
        );
    };
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[]);
    systemic(&mut hist, 4, &["x1", "x2", "x3", "x4"]);
    systemic(&mut hist, 36, &["x1", "x2", "x3", "x4"]);
    let plan = hist.plan(&robot(), now());
    assert_eq!(plan.systemic_runs.len(), 2);
    assert_eq!(proposed(&plan), Vec::<&str>::new());

    // With 3 others (4 failed tests) the second run is not systemic: the lane counts, and, as
    // in the robot (`hasNotOnlyClusteredFailures`), both failures count.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[]);
    systemic(&mut hist, 4, &["x1", "x2", "x3", "x4"]);
    systemic(&mut hist, 36, &["y1", "y2", "y3"]);
    let plan = hist.plan(&robot(), now());
    assert_eq!(plan.systemic_runs.len(), 1);
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    let lane = &plan.quarantine_now[0].lanes[0];
    assert_eq!(
        (lane.failed_runs, lane.clustered_failed_runs, lane.runs),
        (2, 1, 40)
    );
    assert!(
        plan.quarantine_now[0]
            .reason
            .contains("1 of them with 5 or more failed tests"),
        "{}",
        plan.quarantine_now[0].reason
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 5: 2 failures within 72 hours, the newest and the oldest at least 24 hours apart.

#[test]
fn rule_5_two_failures_within_72_hours_at_least_24_hours_apart_per_lane() {
    let cases: &[(&[i64], bool)] = &[
        // The robot's own unit tests (pkg/searchci/searchci_test.go).
        (&[4, 36], true),
        (&[2, 3], false),
        (&[4, 200], false),
        // 72 hours old is still recent, 73 is not.
        (&[4, 72], true),
        (&[4, 73], false),
        // Exactly 24 hours apart is enough, 23 is not.
        (&[4, 28], true),
        (&[5, 28], false),
        // The newest and the oldest, not consecutive pairs (gaps of 1 and 25 hours).
        (&[4, 5, 30], true),
        // One recent failure is never enough.
        (&[4], false),
    ];
    for &(fail_hours, met) in cases {
        // 5 % of the runs failed, so that only this rule decides.
        let mut hist = Hist::default();
        presubmits(&mut hist, LANE, "t", 19 * fail_hours.len(), fail_hours);
        let expected: &[&str] = if met { &["t"] } else { &[] };
        assert_eq!(chosen(&hist), expected, "failures {fail_hours:?} hours ago");
    }

    // With `min_failure_interval_hours = 0` the spread is not checked (the robot's
    // `minInterval <= 0`), and the count alone decides.
    let no_spread = Policy {
        min_failure_interval_hours: 0,
        ..robot()
    };
    for (fail_hours, met) in [(&[2i64, 3][..], true), (&[4, 200], false), (&[4], false)] {
        let mut hist = Hist::default();
        presubmits(&mut hist, LANE, "t", 19 * fail_hours.len(), fail_hours);
        let expected: &[&str] = if met { &["t"] } else { &[] };
        let plan = hist.plan(&no_spread, now());
        assert_eq!(names(&plan.quarantine_now), expected, "{fail_hours:?}");
    }
    let three = Policy {
        min_recent_failures: 3,
        ..robot()
    };
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    assert_eq!(proposed(&hist.plan(&three, now())), Vec::<&str>::new());

    // Failures of different lanes are never combined: 5 % on each lane, one recent failure on
    // each, 32 hours apart.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 19, &[4]);
    presubmits(&mut hist, NETWORK, "t", 19, &[36]);
    assert_eq!(chosen(&hist), Vec::<String>::new());

    // The reason says which lane met the rule, with what numbers.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    let plan = hist.plan(&robot(), now());
    let candidate = &plan.quarantine_now[0];
    assert_eq!(
        candidate.reason,
        "on required lane pull-kubevirt-e2e-k8s-1.35-sig-compute: failed in 2 of its 40 run(s) \
         in the last 14 days (5 %; at least 5 %), 2 of them in the last 72 hours, 32 hours apart \
         (2026-06-09T00:00:00Z to 2026-06-10T08:00:00Z; at least 2, at least 24 hours apart); \
         flipped on 0 of 40 commit(s); auto-quarantined"
    );
    let lane = &candidate.lanes[0];
    assert_eq!(lane.lane, LANE);
    assert!(lane.required);
    assert_eq!(lane.recent_failures, 2);
    assert_eq!(lane.oldest_recent_failure, before(now(), hours(36)));
    assert_eq!(lane.newest_recent_failure, before(now(), hours(4)));
}

// ---------------------------------------------------------------------------------------------
// Rule 6: one lane is enough; the most recent failures first; at most one per plan.

#[test]
fn rule_6_one_lane_suffices_and_the_most_recent_failures_go_first_one_per_plan() {
    // "recent" failed today (2 h ago, 10:00) and 40 h ago on one lane, 5 %; "frequent" failed
    // 4 times (10 %), the newest 14 h ago, yesterday: "recent" goes first.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "recent", 38, &[2, 40]);
    presubmits(&mut hist, NETWORK, "frequent", 36, &[14, 20, 40, 60]);
    let plan = hist.plan(&robot(), now());
    assert_eq!(names(&plan.quarantine_now), ["recent"]);
    assert_eq!(names(&plan.deferred), ["frequent"]);
    assert!(
        plan.deferred[0]
            .reason
            .contains("deferred: at most 1 test(s) are auto-quarantined per run"),
        "{}",
        plan.deferred[0].reason
    );
    assert!(plan.next_batch.is_empty() && plan.grace_released.is_empty());
    let two = Policy {
        auto_quarantine_max_per_run: 2,
        ..robot()
    };
    assert_eq!(
        names(&hist.plan(&two, now()).quarantine_now),
        ["frequent", "recent"]
    );

    // Failures on the same days: on the first day neither failed, the larger total so far
    // goes first ("b": 1 today and 2 yesterday, against 1 and 1), even though "a" has more
    // failures in all (3 more, 3 days ago).
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "a", 95, &[2, 30, 80, 81, 82]);
    presubmits(&mut hist, NETWORK, "b", 57, &[3, 28, 32]);
    assert_eq!(chosen(&hist), ["b"]);

    // The same failures on the same days: the name decides.
    let mut hist = Hist::default();
    presubmits(&mut hist, NETWORK, "z", 38, &[4, 36]);
    presubmits(&mut hist, LANE, "y", 38, &[4, 36]);
    assert_eq!(chosen(&hist), ["y"]);

    // One lane meeting the rule is enough: the other lane's lone failure is not listed.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "t", 38, &[4, 36]);
    presubmits(&mut hist, NETWORK, "t", 19, &[10]);
    let plan = hist.plan(&robot(), now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    let lanes: Vec<&str> = plan.quarantine_now[0]
        .lanes
        .iter()
        .map(|lane| lane.lane.as_str())
        .collect();
    assert_eq!(lanes, [LANE]);
}

#[test]
fn rule_6_ties_break_by_total_then_busiest_lane_day_then_average_then_name() {
    // Failures on the same days, equal totals at every day neither failed: the robot's
    // `AllFailures` tie-breaks, in its order. Names are chosen so that the name alone would
    // pick the other test.
    // Sum: "zz" failed once more 13 days and 18 hours ago (the busiest lane-day is 2 for both,
    // over three lane-days each).
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "aa", 76, &[4, 5, 30, 330]);
    presubmits(&mut hist, NETWORK, "zz", 95, &[4, 5, 30, 330, 331]);
    assert_eq!(chosen(&hist), ["zz"]);
    // Max: 3 + 1 against 2 + 2 on one lane, over two (lane, day) pairs each.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "zz", 36, &[2, 3, 4, 30]);
    presubmits(&mut hist, LANE, "aa", 36, &[2, 3, 30, 31]);
    assert_eq!(chosen(&hist), ["zz"]);
    // Avg: 2 + 2 over two (lane, day) pairs against 2 + 1 + 1 over three.
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "zz", 26, &[2, 3, 30, 31]);
    presubmits(&mut hist, LANE, "aa", 27, &[2, 3, 30]);
    presubmits(&mut hist, NETWORK, "aa", 0, &[31]);
    assert_eq!(chosen(&hist), ["zz"]);
}

// ---------------------------------------------------------------------------------------------
// Rule 7: release at most 0.1 % over at least 500 executions.

#[test]
fn rule_7_release_at_most_a_tenth_of_a_percent_over_at_least_500_executions() {
    // One run of KubeVirt's dequarantine lane, a presubmit repeating the test; stable_by long
    // past. (executions, failures, released)
    for (executions, failures, released) in [
        (500usize, 0usize, true),
        (499, 0, false),
        (500, 1, false), // 0.2 %: the lane must pass all 500
        (1000, 1, true), // 0.1 %: the docs' rate
        (2000, 3, false),
    ] {
        let mut hist = Hist::default();
        let outcomes: Vec<(&str, Outcome)> = (0..executions)
            .map(|index| {
                let outcome = if index < failures {
                    Outcome::Fail
                } else {
                    Outcome::Pass
                };
                ("q", outcome)
            })
            .collect();
        hist.run_on(
            "pull-kubevirt-check-dequarantine-test",
            RunKind::Presubmit,
            "c1",
            before(now(), hours(2)),
            &outcomes,
        );
        let entries = [entry("q", Some("2026-05-01"))];
        let input = PlanInput {
            quarantine: &entries,
            ..PlanInput::default()
        };
        let plan = hist.plan_with(&input, &robot(), now());
        assert_eq!(
            plan.release.len(),
            usize::from(released),
            "{executions} {failures}: {:?}",
            plan.keep
        );
        assert_eq!(proposed(&plan), Vec::<&str>::new());
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 8: coalmine's broken rule stays on.

#[test]
fn rule_8_a_broken_test_is_never_quarantined_and_a_fixed_breakage_leaves_the_rule() {
    // Passed on 30 runs, then failed on every run (16, 3 hours apart, the newest 1 hour ago)
    // since commit f-..-15: 35 % of the lane, 16 recent failures 45 hours apart. Broken.
    let fails: Vec<i64> = (0..16).map(|index| 1 + 3 * index).collect();
    let mut hist = Hist::default();
    runs_of(&mut hist, LANE, RunKind::Presubmit, "t", 0, &fails);
    passes_from(&mut hist, LANE, RunKind::Presubmit, "t", 30, hours(49));
    let plan = hist.plan(&robot(), now());
    assert_eq!(proposed(&plan), Vec::<&str>::new());
    let broken: Vec<&str> = plan.broken.iter().map(|b| b.test.as_str()).collect();
    assert_eq!(broken, ["t"]);
    // The robot, which has no such guard, would quarantine it.
    let unguarded = Policy {
        broken_min_runs: 0,
        ..robot()
    };
    assert_eq!(names(&hist.plan(&unguarded, now()).quarantine_now), ["t"]);

    // Fixed: passed 7 times since (the newest 1 hour ago). The breakage's 13 failures (22 to
    // 58 hours ago) leave the rule, as they leave the rates: nothing to quarantine.
    let fails: Vec<i64> = (0..13).map(|index| 22 + 3 * index).collect();
    let mut hist = Hist::default();
    runs_of(&mut hist, LANE, RunKind::Presubmit, "t", 0, &fails);
    passes_from(&mut hist, LANE, RunKind::Presubmit, "t", 7, hours(1));
    passes_from(&mut hist, LANE, RunKind::Presubmit, "t", 30, hours(61));
    let plan = hist.plan(&robot(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(proposed(&plan), Vec::<&str>::new());
    assert_eq!(names(&hist.plan(&unguarded, now()).quarantine_now), ["t"]);
}

// ---------------------------------------------------------------------------------------------
// Output and scale.

#[test]
fn a_per_lane_plan_serializes_its_lanes_and_notes() {
    let mut hist = Hist::default();
    presubmits(&mut hist, LANE, "[sig-compute] t", 38, &[4, 36]);
    let plan = hist.plan(&Policy::auto_quarantine(), now());
    let json = serde_json::to_value(&plan).unwrap();
    let candidate = &json["quarantine_now"][0];
    assert_eq!(candidate["rule"], "per-lane");
    assert_eq!(candidate["owner"], "sig-compute");
    assert_eq!(candidate["lanes"][0]["lane"], LANE);
    assert_eq!(candidate["lanes"][0]["failed_runs"], 2);
    assert_eq!(candidate["lanes"][0]["runs"], 40);
    assert_eq!(candidate["lanes"][0]["recent_failures"], 2);
    assert_eq!(
        candidate["lanes"][0]["newest_recent_failure"],
        "2026-06-10T08:00:00Z"
    );
    assert_eq!(json["preset"], "auto-quarantine");
    assert_eq!(json["notes"].as_array().unwrap().len(), 1);
    // The rates rule's candidates have no lanes.
    let rates = serde_json::to_value(hist.plan(
        &Policy {
            trusted_kinds: vec![RunKind::Presubmit],
            ..Policy::kubevirt()
        },
        now(),
    ))
    .unwrap();
    assert!(rates["quarantine_now"][0].get("lanes").is_none());
    assert_eq!(rates["notes"], serde_json::json!([]));
}

/// The per-lane rule over 10,000 tests x 1,000 runs, two thirds of them counted (its time is
/// printed, not asserted: `examples/plan_bench.rs` is the benchmark). Run with `cargo test
/// --release --lib quarantine::tests::auto_preset::large -- --ignored --nocapture`.
#[test]
#[ignore = "10 million rows: run in release mode by hand"]
fn large_history_per_lane_plan_finds_the_flaky_test() {
    let (plan, elapsed) = large_plan(&Policy::auto_quarantine());
    eprintln!(
        "{} rows: {elapsed:?}; {} now, {} deferred, {} systemic runs",
        plan.counts.results,
        plan.quarantine_now.len(),
        plan.deferred.len(),
        plan.systemic_runs.len()
    );
    assert_eq!(plan.counts.results, 10_000_000);
    assert_eq!(plan.quarantine_now.len(), 1);
}
