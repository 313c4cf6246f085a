//! `quarantine explain` on the known-answer histories: the explanation comes from the fold
//! that builds the plan, so its decision is the plan's, and its text is pinned by snapshots.

use super::auto_preset::{LANE, robot, runs_of};
use super::broken::{broke_at, timeline};
use super::*;

/// The explanation of `test`, from the plan's own pass, and its text.
fn explain(
    hist: &Hist,
    input: &PlanInput<'_>,
    policy: &Policy,
    test: &str,
) -> (Explanation, String) {
    let mut aggregator = Aggregator::new(&hist.runs, policy, now());
    aggregator.watch(test);
    for row in &hist.results {
        aggregator.add(row);
    }
    let (plan, explanation) = aggregator.finish_explained(input);
    let explanation = explanation.unwrap();
    // The same plan as without watching.
    assert_eq!(plan, hist.plan_with(input, policy, now()));
    // Watching every test of the history at once explains this one the same way.
    let mut all = Aggregator::new(&hist.runs, policy, now());
    let mut names: Vec<&str> = hist.results.iter().map(|row| row.test.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.reverse();
    for name in &names {
        all.watch(name);
    }
    all.watch(test);
    for row in &hist.results {
        all.add(row);
    }
    let (all_plan, explanations) = all.finish_explained_all(input);
    assert_eq!(all_plan, plan);
    assert_eq!(explanations.len(), names.len().max(1));
    let same = explanations.iter().find(|other| other.test == test);
    assert_eq!(same, Some(&explanation));
    let text = explanation.text(policy);
    (explanation, text)
}

#[test]
fn a_broken_test_is_explained_by_its_streak() {
    let mut hist = Hist::default();
    broke_at(&mut hist, "[sig-storage] disk attaches", 24, 12);
    let (explanation, text) = explain(
        &hist,
        &PlanInput::default(),
        &Policy::kubevirt(),
        "[sig-storage] disk attaches",
    );
    assert_eq!(explanation.decision, Decision::Broken);
    assert!(explanation.streak.broken);
    assert_eq!(explanation.streak.failed_runs, 12);
    assert_eq!(explanation.streak.last_pass_commit.as_deref(), Some("c24"));
    assert!(
        explanation.rules.iter().all(|rule| rule.met),
        "over both thresholds, still not proposed"
    );
    assert_eq!(
        explanation.owner_source,
        OwnerSource::Tag("[sig-storage]".to_owned())
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_flaky_test_is_explained_by_its_rate_and_flips() {
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    let mut hist = Hist::default();
    let commits: Vec<String> = (1..=6).map(|n| format!("c{n:02}")).collect();
    let mut runs: Vec<(&str, &[(&str, Outcome)])> = Vec::new();
    for commit in &commits {
        runs.push((commit, pass));
        runs.push((commit, fail));
    }
    timeline(&mut hist, &runs);
    // A presubmit run (not trusted) and one after now (ignored) are left out.
    hist.run_on(
        "pull-e2e",
        RunKind::Presubmit,
        "c07",
        before(now(), hours(30)),
        fail,
    );
    hist.run_on(
        "periodic-e2e-sig-compute",
        RunKind::Periodic,
        "c08",
        now() + hours(1),
        fail,
    );
    let owners = Owners::new([("t", "sig-compute")]).unwrap();
    let input = PlanInput {
        owners: &owners,
        ..PlanInput::default()
    };
    let (explanation, text) = explain(&hist, &input, &Policy::kubevirt(), "t");
    assert_eq!(explanation.decision, Decision::QuarantineNow);
    assert_eq!(explanation.rules[0].flipped_commits, 6);
    assert_eq!(explanation.left_out.untrusted.len(), 1);
    assert_eq!(explanation.left_out.runs_after_now, 1);
    assert_eq!(
        explanation.owner_source,
        OwnerSource::Pattern("t".to_owned())
    );
    insta::assert_snapshot!(text);
}

#[test]
fn broken_then_fixed_then_flaky_says_what_the_breakage_left_out() {
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    let mut hist = Hist::default();
    let names: Vec<String> = (1..=21).map(|n| format!("c{n:02}")).collect();
    let mut runs: Vec<(&str, &[(&str, Outcome)])> = Vec::new();
    for (index, commit) in names.iter().enumerate() {
        match index + 1 {
            1..=10 | 17 => runs.push((commit, pass)),
            11..=16 => runs.push((commit, fail)),
            _ => {
                runs.push((commit, pass));
                runs.push((commit, fail));
            }
        }
    }
    timeline(&mut hist, &runs);
    let (explanation, text) = explain(&hist, &PlanInput::default(), &Policy::kubevirt(), "t");
    assert_eq!(explanation.decision, Decision::QuarantineNow);
    assert_eq!(explanation.rules[0].breakage_failures_left_out, 6);
    assert_eq!(
        (explanation.rules[0].failed, explanation.rules[0].passed),
        (4, 15)
    );
    assert!(!explanation.streak.broken);
    insta::assert_snapshot!(text);
}

#[test]
fn a_systemic_run_in_the_streak_is_listed_as_left_out() {
    let pass: &[(&str, Outcome)] = &[("t", Outcome::Pass)];
    let fail: &[(&str, Outcome)] = &[("t", Outcome::Fail)];
    let systemic: Vec<(&str, Outcome)> = ["t", "u1", "u2", "u3", "u4"]
        .into_iter()
        .map(|test| (test, Outcome::Fail))
        .collect();
    let mut hist = Hist::default();
    timeline(
        &mut hist,
        &[
            ("c01", pass),
            ("c02", pass),
            ("c03", fail),
            ("c04", fail),
            ("c04", &systemic),
            ("c05", fail),
            ("c06", fail),
            ("c07", fail),
        ],
    );
    let (explanation, text) = explain(&hist, &PlanInput::default(), &Policy::kubevirt(), "t");
    assert_eq!(explanation.decision, Decision::Broken);
    assert_eq!(explanation.left_out.systemic.len(), 1);
    assert!(explanation.left_out.systemic[0].failed);
    assert_eq!(explanation.left_out.systemic[0].failed_tests, 5);
    insta::assert_snapshot!(text);
}

#[test]
fn a_flip_across_retries_and_a_quarantined_test_are_explained() {
    let retried: &[(&str, Outcome)] = &[("t", Outcome::Fail), ("t", Outcome::Pass)];
    let mut hist = Hist::default();
    let commits: Vec<String> = (1..=4).map(|n| format!("c{n:02}")).collect();
    let runs: Vec<(&str, &[(&str, Outcome)])> =
        commits.iter().map(|c| (c.as_str(), retried)).collect();
    timeline(&mut hist, &runs);
    let (explanation, text) = explain(&hist, &PlanInput::default(), &Policy::kubevirt(), "t");
    assert_eq!(explanation.decision, Decision::QuarantineNow);
    assert_eq!(
        (
            explanation.rules[0].flipped_commits,
            explanation.rules[0].commits
        ),
        (4, 4)
    );
    assert_eq!(explanation.owner_source, OwnerSource::None);
    insta::assert_snapshot!("retries", text);

    // Quarantined: the entry is the owner, and release progress is shown.
    let quarantine = [QuarantineEntry {
        test: "t".to_owned(),
        owner: "sig-a".to_owned(),
        reason: "flaky".to_owned(),
        since: date("2026-06-01"),
        stable_by: Some(date("2026-06-05")),
    }];
    let input = PlanInput {
        quarantine: &quarantine,
        ..PlanInput::default()
    };
    let (explanation, text) = explain(&hist, &input, &Policy::kubevirt(), "t");
    assert_eq!(explanation.decision, Decision::StaysQuarantined);
    assert_eq!(explanation.owner_source, OwnerSource::QuarantineEntry);
    let progress = explanation.quarantine.as_ref().unwrap();
    assert_eq!(progress.earliest_release, Some(date("2026-06-19")));
    assert_eq!((progress.clean_days, progress.needed_days), (0, 14));
    insta::assert_snapshot!("quarantined", text);
}

#[test]
fn the_per_lane_rule_is_explained_lane_by_lane() {
    // Met: failures 4 h and 36 h ago on a required lane, 20 passes.
    let mut hist = Hist::default();
    runs_of(
        &mut hist,
        LANE,
        RunKind::Presubmit,
        "[sig-compute] t",
        20,
        &[4, 36],
    );
    let (explanation, text) = explain(&hist, &PlanInput::default(), &robot(), "[sig-compute] t");
    assert_eq!(explanation.decision, Decision::QuarantineNow);
    assert_eq!(explanation.rules.len(), 1);
    let rule = &explanation.rules[0];
    assert_eq!(
        (rule.rule, rule.lane.as_deref(), rule.met),
        ("per-lane", Some(LANE), true)
    );
    assert_eq!((rule.failed, rule.runs), (2, 22));
    insta::assert_snapshot!("per_lane_met", text);

    // Not met: the two recent failures are an hour apart.
    let mut hist = Hist::default();
    runs_of(
        &mut hist,
        LANE,
        RunKind::Presubmit,
        "[sig-compute] t",
        20,
        &[2, 3],
    );
    let (explanation, text) = explain(&hist, &PlanInput::default(), &robot(), "[sig-compute] t");
    assert_eq!(explanation.decision, Decision::NotACandidate);
    assert!(!explanation.rules[0].met);
    assert!(
        explanation.rules[0]
            .summary
            .contains("1 hour apart, at least 24 hours needed"),
        "{}",
        explanation.rules[0].summary
    );
    insta::assert_snapshot!("per_lane_not_met", text);

    // No failure on a counted lane: said so, not "no execution".
    let mut hist = Hist::default();
    runs_of(
        &mut hist,
        LANE,
        RunKind::Presubmit,
        "[sig-compute] t",
        20,
        &[],
    );
    let (explanation, _) = explain(&hist, &PlanInput::default(), &robot(), "[sig-compute] t");
    assert_eq!(explanation.decision, Decision::NotACandidate);
    assert!(
        explanation.rules[0]
            .summary
            .contains("no failure in a counted run"),
        "{}",
        explanation.rules[0].summary
    );
}
