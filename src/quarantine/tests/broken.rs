//! Known answers for flaky or broken: a test a commit broke is never a quarantine candidate,
//! same-commit flips are counted and can be required, and the streaks' edge cases (a fix, a
//! systemic run, a retry, a pass on a commit the streak failed on).

use super::*;

/// One periodic run per `(commit, outcomes)`, an hour apart, the last one an hour before now.
pub(super) fn timeline(hist: &mut Hist, runs: &[(&str, &[(&str, Outcome)])]) -> Vec<i64> {
    let count = runs.len() as i32;
    runs.iter()
        .enumerate()
        .map(|(index, (commit, outcomes))| {
            let at = before(now(), hours(1) * (count - index as i32));
            hist.run_on(
                "periodic-e2e-sig-compute",
                RunKind::Periodic,
                commit,
                at,
                outcomes,
            )
        })
        .collect()
}

/// `passes` passing runs on commits c01.., then `fails` failing ones on the next commits.
pub(super) fn broke_at(hist: &mut Hist, test: &str, passes: usize, fails: usize) -> Vec<i64> {
    let runs: Vec<(String, [(&str, Outcome); 1])> = (0..passes + fails)
        .map(|index| {
            let outcome = if index < passes {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            (format!("c{:02}", index + 1), [(test, outcome)])
        })
        .collect();
    let runs: Vec<(&str, &[(&str, Outcome)])> = runs
        .iter()
        .map(|(commit, outcomes)| (commit.as_str(), outcomes.as_slice()))
        .collect();
    timeline(hist, &runs)
}

fn broken_names(plan: &Plan) -> Vec<&str> {
    plan.broken.iter().map(|b| b.test.as_str()).collect()
}

fn proposed(plan: &Plan) -> Vec<&str> {
    let mut all: Vec<&str> = plan
        .quarantine_now
        .iter()
        .chain(&plan.next_batch)
        .chain(&plan.deferred)
        .map(|c| c.test.as_str())
        .collect();
    all.sort();
    all
}

#[test]
fn a_test_broken_since_a_commit_is_reported_with_its_range_and_never_proposed() {
    // Passes on 24 runs, then fails on every run from c25 on: 12 of 36 runs in 36 hours, 33 %.
    let mut hist = Hist::default();
    let ids = broke_at(&mut hist, "[sig-storage] disk attaches", 24, 12);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(proposed(&plan), Vec::<&str>::new());
    assert_eq!(broken_names(&plan), ["[sig-storage] disk attaches"]);
    let broken = &plan.broken[0];
    assert_eq!(broken.owner.as_deref(), Some("sig-storage"));
    assert_eq!(broken.since_commit, "c25");
    assert_eq!(broken.last_pass_commit.as_deref(), Some("c24"));
    assert_eq!(broken.failed_runs, 12);
    assert_eq!(broken.since_lane, "periodic-e2e-sig-compute");
    assert_eq!(broken.since, before(now(), hours(12)));
    assert_eq!(broken.last_pass, Some(before(now(), hours(13))));
    assert_eq!(broken.latest_failure_run_id, *ids.last().unwrap());
    assert!(
        broken.reason.contains("broke between c24 and c25"),
        "{}",
        broken.reason
    );
    // Stability still counts it (it fails the suite) and says how much it explains.
    assert_eq!(plan.stability.measured_failed_runs, 12);
    assert_eq!(plan.stability.broken_failed_runs, 12);
    assert!((plan.stability.projected - 24.0 / 36.0).abs() < 1e-12);
    assert_eq!(plan.stability.projected_without_broken, 1.0);
    // Under the threshold of the rule, it is still broken: the rule is about the streak.
    let mut hist = Hist::default();
    broke_at(&mut hist, "t", 300, 5);
    assert_eq!(broken_names(&hist.plan(&Policy::kubevirt(), now())), ["t"]);
    // Four failures are not enough (broken_min_runs = 5), nor are five on one commit.
    let mut hist = Hist::default();
    broke_at(&mut hist, "t", 30, 4);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(proposed(&plan), ["t"]);
    let mut hist = Hist::default();
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    let mut runs: Vec<(&str, &[(&str, Outcome)])> = vec![("c01", pass), ("c02", pass)];
    runs.extend([("c03", fail); 5]);
    timeline(&mut hist, &runs);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty(), "one commit is not a breakage range");
    assert_eq!(proposed(&plan), ["t"]);
}

#[test]
fn a_test_that_never_passed_in_the_history_is_broken_without_a_range() {
    let mut hist = Hist::default();
    broke_at(&mut hist, "t", 0, 6);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(broken_names(&plan), ["t"]);
    assert_eq!(plan.broken[0].last_pass_commit, None);
    assert_eq!(plan.broken[0].since_commit, "c01");
    assert!(
        plan.broken[0]
            .reason
            .contains("it did not pass in the last 14 days"),
        "{}",
        plan.broken[0].reason
    );
    assert!(proposed(&plan).is_empty());
}

#[test]
fn a_flaky_test_flips_on_its_commits_and_is_proposed() {
    // Three runs per commit, failing once on every other commit: 6 of 36 runs fail (16.7 %
    // in 3 days: over 5 % in 14 days), never twice in a row.
    let mut hist = Hist::default();
    let mut runs: Vec<(String, Outcome)> = Vec::new();
    for commit in 0..12 {
        for attempt in 0..3 {
            let outcome = if commit % 2 == 1 && attempt == 1 {
                Outcome::Fail
            } else {
                Outcome::Pass
            };
            runs.push((format!("c{commit:02}"), outcome));
        }
    }
    let outcomes: Vec<[(&str, Outcome); 1]> = runs.iter().map(|(_, o)| [("t", *o)]).collect();
    let timeline_runs: Vec<(&str, &[(&str, Outcome)])> = runs
        .iter()
        .zip(&outcomes)
        .map(|((commit, _), outcomes)| (commit.as_str(), outcomes.as_slice()))
        .collect();
    timeline(&mut hist, &timeline_runs);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(names(&plan.next_batch), ["t"]);
    let candidate = &plan.next_batch[0];
    assert_eq!((candidate.flipped_commits, candidate.commits), (6, 12));
    assert!(
        candidate.reason.contains("flipped on 6 of 12 commit(s)"),
        "{}",
        candidate.reason
    );
    assert_eq!(
        plan.failing,
        [FailingTest {
            test: "t".to_owned(),
            rate: 6.0 / 36.0,
            failed: 6,
            passed: 30,
            runs: 36,
            flipped_commits: 6,
            commits: 12
        }]
    );
    // require_flip changes nothing for it. A test that never failed is not listed.
    let policy = Policy {
        require_flip: true,
        ..Policy::kubevirt()
    };
    assert_eq!(names(&hist.plan(&policy, now()).next_batch), ["t"]);
}

#[test]
fn require_flip_holds_back_a_test_that_never_flipped() {
    // One run per commit, failures spread out: over the threshold, no same-commit flip.
    let mut hist = Hist::default();
    hist.spread("t", 7, 3, before(now(), hours(1)), hours(1));
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    assert_eq!(plan.quarantine_now[0].flipped_commits, 0);
    let policy = Policy {
        require_flip: true,
        ..Policy::kubevirt()
    };
    let plan = hist.plan(&policy, now());
    assert!(proposed(&plan).is_empty());
    assert_eq!(names(&plan.not_shown_flaky), ["t"]);
    assert!(
        plan.not_shown_flaky[0]
            .reason
            .contains("failing, not shown to be flaky"),
        "{}",
        plan.not_shown_flaky[0].reason
    );
}

#[test]
fn broken_then_fixed_is_an_ordinary_test_and_flaky_after_it_is_proposed() {
    // Broken on c11..c16 (6 runs), fixed on c17: the breakage's failures leave the rates.
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    let mut base: Vec<(String, &[(&str, Outcome)])> = Vec::new();
    for n in 1..=10 {
        base.push((format!("c{n:02}"), pass));
    }
    for n in 11..=16 {
        base.push((format!("c{n:02}"), fail));
    }
    base.push(("c17".to_owned(), pass));
    let as_runs = |extra: &[(String, &'static [(&'static str, Outcome)])]| {
        let mut hist = Hist::default();
        let all: Vec<(&str, &[(&str, Outcome)])> = base
            .iter()
            .map(|(c, o)| (c.as_str(), *o))
            .chain(extra.iter().map(|(c, o)| (c.as_str(), *o)))
            .collect();
        timeline(&mut hist, &all);
        hist
    };
    const PASS: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    const FAIL: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    // Then stable: nothing to propose, nothing broken.
    let stable: Vec<(String, &[(&str, Outcome)])> =
        (18..=25).map(|n| (format!("c{n:02}"), PASS)).collect();
    let plan = as_runs(&stable).plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert!(proposed(&plan).is_empty(), "{:?}", plan.next_batch);
    // Then flaky (a pass and a failure on each of four commits): proposed, on those
    // failures alone (4 of 19, 21 %: the breakage's 6 would make it 10 of 25).
    let flaky: Vec<(String, &[(&str, Outcome)])> = (18..=21)
        .flat_map(|n| [(format!("c{n:02}"), PASS), (format!("c{n:02}"), FAIL)])
        .collect();
    let plan = as_runs(&flaky).plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    let candidate = &plan.quarantine_now[0];
    assert_eq!((candidate.failed, candidate.passed), (4, 15));
    assert_eq!(candidate.flipped_commits, 4);
    // The report's rates are the plan's: the breakage is left out there too.
    assert_eq!((plan.failing[0].failed, plan.failing[0].passed), (4, 15));
}

#[test]
fn a_systemic_run_inside_the_streak_neither_breaks_nor_extends_it() {
    let mut hist = Hist::default();
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    let systemic: Vec<(&str, Outcome)> = ["t", "u1", "u2", "u3", "u4"]
        .into_iter()
        .map(|test| (test, Outcome::Fail))
        .collect();
    let systemic_pass: Vec<(&str, Outcome)> = [("t", Outcome::Pass)]
        .into_iter()
        .chain(["u1", "u2", "u3", "u4", "u5"].map(|test| (test, Outcome::Fail)))
        .collect();
    timeline(
        &mut hist,
        &[
            ("c01", pass),
            ("c02", pass),
            ("c03", fail),
            ("c04", fail),
            ("c04", &systemic),
            ("c05", fail),
            ("c05", &systemic_pass),
            ("c06", fail),
            ("c07", fail),
        ],
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert_eq!(plan.systemic_runs.len(), 2);
    assert_eq!(broken_names(&plan), ["t"]);
    assert_eq!(plan.broken[0].failed_runs, 5);
    assert_eq!(plan.broken[0].last_pass_commit.as_deref(), Some("c02"));
}

#[test]
fn a_flip_across_retries_in_one_run_is_flakiness() {
    // Every run fails its first attempt and passes the retry, on a new commit each time.
    let mut hist = Hist::default();
    let retried: &[(&str, Outcome)] = &[("t", Outcome::Fail), ("t", Outcome::Pass)];
    let commits: Vec<String> = (1..=8).map(|n| format!("c{n:02}")).collect();
    let runs: Vec<(&str, &[(&str, Outcome)])> =
        commits.iter().map(|c| (c.as_str(), retried)).collect();
    timeline(&mut hist, &runs);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(names(&plan.quarantine_now), ["t"]);
    assert_eq!(
        (
            plan.quarantine_now[0].flipped_commits,
            plan.quarantine_now[0].commits
        ),
        (8, 8)
    );
    // A `flaky-pass` row (failed, then passed, in one row) is a flip too.
    let mut hist = Hist::default();
    let flaky_pass: &[(&str, Outcome)] = &[("t", Outcome::FlakyPass)];
    let runs: Vec<(&str, &[(&str, Outcome)])> =
        commits.iter().map(|c| (c.as_str(), flaky_pass)).collect();
    timeline(&mut hist, &runs);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(plan.quarantine_now[0].flipped_commits, 8);
}

#[test]
fn a_pass_on_a_commit_the_streak_failed_on_is_flakiness() {
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    // At the streak's edge: passed on c11, then failed on c11 and the next commits.
    let mut hist = Hist::default();
    let mut runs: Vec<(&str, &[(&str, Outcome)])> = vec![("c10", pass), ("c11", pass)];
    runs.extend([
        ("c11", fail),
        ("c12", fail),
        ("c13", fail),
        ("c14", fail),
        ("c15", fail),
    ]);
    timeline(&mut hist, &runs);
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(proposed(&plan), ["t"]);
    // Inside it: c13 passed before the last pass (c11, another commit), and failed later.
    let mut hist = Hist::default();
    timeline(
        &mut hist,
        &[
            ("c13", pass),
            ("c11", pass),
            ("c12", fail),
            ("c13", fail),
            ("c14", fail),
            ("c15", fail),
            ("c16", fail),
        ],
    );
    let plan = hist.plan(&Policy::kubevirt(), now());
    assert!(plan.broken.is_empty(), "{:?}", plan.broken);
    assert_eq!(proposed(&plan), ["t"]);
    // The same without the early pass on c13: broken.
    let mut hist = Hist::default();
    timeline(
        &mut hist,
        &[
            ("c10", pass),
            ("c11", pass),
            ("c12", fail),
            ("c13", fail),
            ("c14", fail),
            ("c15", fail),
            ("c16", fail),
        ],
    );
    assert_eq!(broken_names(&hist.plan(&Policy::kubevirt(), now())), ["t"]);
}

#[test]
fn the_broken_rule_is_configurable_and_can_be_turned_off() {
    let mut hist = Hist::default();
    broke_at(&mut hist, "t", 24, 6);
    let off = parse_policy("[policy]\nbroken_min_runs = 0\n").unwrap();
    let plan = hist.plan(&off, now());
    assert!(plan.broken.is_empty());
    assert_eq!(proposed(&plan), ["t"]);
    let strict = parse_policy("[policy]\nbroken_min_runs = 7\n").unwrap();
    assert!(hist.plan(&strict, now()).broken.is_empty());
    let loose = parse_policy("[policy]\nbroken_min_runs = 6\n").unwrap();
    assert_eq!(broken_names(&hist.plan(&loose, now())), ["t"]);
    let error = parse_policy("[policy]\nbroken_min_runs = 1\n").unwrap_err();
    assert!(
        error.contains("`broken_min_runs` = 1 cannot be met"),
        "{error}"
    );
    let flip = parse_policy("[policy]\nrequire_flip = true\n").unwrap();
    assert!(flip.require_flip);
    assert_eq!(Policy::kubevirt().broken_min_runs, 5);
    assert!(!Policy::kubevirt().require_flip);
}

#[test]
fn a_quarantined_test_is_not_listed_as_broken() {
    let mut hist = Hist::default();
    broke_at(&mut hist, "t", 24, 6);
    let quarantine = [QuarantineEntry {
        test: "t".to_owned(),
        owner: "sig-a".to_owned(),
        reason: String::new(),
        since: date("2026-06-01"),
        stable_by: None,
    }];
    let input = PlanInput {
        quarantine: &quarantine,
        ..PlanInput::default()
    };
    let plan = hist.plan_with(&input, &Policy::kubevirt(), now());
    assert!(plan.broken.is_empty());
    assert_eq!(plan.keep.len(), 1);
}
