//! The plan computed from the history, as `plan`, `apply` and `report` (and the plan
//! benchmark) do it: the runs of the longest policy window, the tests with their tags, the
//! recorded fixes, and every result of those runs streamed once from SQLite
//! ([`History::for_each_outcome`]) into the policy's [`Aggregator`]; then the message of each
//! broken test's latest failure, read from that one run. The report's per-test rates are the
//! plan's own ([`Plan::failing`]).
//!
//! Memory is the aggregator's (one `u32` per counted execution in the windows) and the test
//! names (once).

use std::collections::HashMap;

use crate::history::{History, HistoryError, OutcomeRow};
use crate::ingest::normalise;
use crate::quarantine::calendar::days_before;
use crate::quarantine::{
    Aggregator, Explanation, FailingTest, Fix, Plan, PlanInput, QuarantineConfig, QuarantineEntry,
    TestInfo, TestKey, owner_of, parse_tags,
};
use crate::results::Outcome;
use jiff::Timestamp;

/// A plan and what it was computed from.
#[derive(Debug)]
pub struct Analysis {
    /// The plan.
    pub plan: Plan,
    /// Every test the history knows, with its tags (stored ones and those in its name).
    pub tests: Vec<TestInfo>,
    /// Why the test asked about is or is not a candidate ([`explain`]).
    pub explanation: Option<Explanation>,
}

/// Computes the plan as of `now` from `history` and the quarantine tables of harness.toml.
pub fn analyse(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
) -> Result<Analysis, HistoryError> {
    Ok(analyse_watching(history, config, now, &[], None)?.0)
}

/// [`analyse`], with the [`Explanation`] of `test` (its id as the history records it) from the
/// same pass.
pub fn explain(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    test: &str,
) -> Result<Analysis, HistoryError> {
    Ok(analyse_watching(history, config, now, &[test], None)?.0)
}

/// What [`analyse_with`] hands its observer for each result row: the row, and the index of its
/// test in [`Analysis::tests`].
pub type Observer<'o> = &'o mut dyn FnMut(&OutcomeRow, usize);

/// [`analyse`], with the [`Explanation`] of each test of `watch` (in that order; a test the
/// history does not know is left out) from the same pass, and every row of that pass handed to
/// `observe` too (for a caller that keeps its own view of the rows, as the HTML report does).
pub fn analyse_with(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    watch: &[&str],
    observe: Option<Observer<'_>>,
) -> Result<(Analysis, Vec<Explanation>), HistoryError> {
    analyse_watching(history, config, now, watch, observe)
}

fn analyse_watching(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    watch: &[&str],
    mut observe: Option<Observer<'_>>,
) -> Result<(Analysis, Vec<Explanation>), HistoryError> {
    let policy = &config.policy;
    let since = days_before(now, policy.horizon_days());
    let runs = history.runs(Some(since))?;
    let stored = history.tests()?;
    let fixes: Vec<Fix> = history
        .fixes()?
        .into_iter()
        .map(|fix| Fix {
            test: fix.test,
            commit: fix.commit,
            at: fix.at,
        })
        .collect();

    // Names by history id, for the compact rows.
    let mut names: Vec<Option<usize>> = Vec::new();
    let mut sparse: HashMap<i64, usize> = HashMap::new();
    let mut tests = Vec::with_capacity(stored.len());
    for (index, test) in stored.into_iter().enumerate() {
        match usize::try_from(test.id) {
            Ok(id) if id < (1 << 24) => {
                if id >= names.len() {
                    names.resize(id + 1, None);
                }
                names[id] = Some(index);
            }
            _ => {
                sparse.insert(test.id, index);
            }
        }
        let mut tags = test.tags;
        for tag in parse_tags(&test.name) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tests.push(TestInfo {
            name: test.name,
            tags,
        });
    }
    let index_of = |id: i64| -> Option<usize> {
        usize::try_from(id)
            .ok()
            .and_then(|id| names.get(id).copied().flatten())
            .or_else(|| sparse.get(&id).copied())
    };

    let mut aggregator = Aggregator::new(&runs, policy, now);
    for test in watch {
        aggregator.watch(test);
    }
    // Each test's key, looked up when the test is first seen (`None`: not yet; `Some(None)`:
    // past the most tests the aggregator keeps).
    let mut keys: Vec<Option<Option<TestKey>>> = vec![None; tests.len()];
    history.for_each_outcome(Some(since), |row: OutcomeRow| {
        let Some(index) = index_of(row.test_id) else {
            return;
        };
        if let Some(observe) = observe.as_mut() {
            observe(&row, index);
        }
        let key = *keys[index].get_or_insert_with(|| aggregator.test_key(&tests[index].name));
        match key {
            Some(key) => aggregator.add_keyed(row.run_id, key, row.outcome),
            None => aggregator.add_result(row.run_id, &tests[index].name, row.outcome),
        }
    })?;
    let input = PlanInput {
        tests: &tests,
        quarantine: &config.quarantine,
        fixes: &fixes,
        owners: &config.owners,
    };
    let (mut plan, explanations) = aggregator.finish_explained_all(&input);
    // The message of each broken test's latest failure, from that run's results (few runs).
    for broken in &mut plan.broken {
        let batches = history.run_batches(broken.latest_failure_run_id)?;
        broken.latest_failure_message = batches
            .into_iter()
            .flatten()
            .filter(|result| {
                result.test == broken.test
                    && matches!(result.outcome, Outcome::Fail | Outcome::Error)
            })
            .filter_map(|result| result.message)
            .next_back();
    }
    Ok((
        Analysis {
            plan,
            tests,
            explanation: explanations.first().cloned(),
        },
        explanations,
    ))
}

/// The owner of a test by its tags and `[owners]`.
pub fn owner(tests: &[TestInfo], config: &QuarantineConfig, test: &str) -> Option<String> {
    match tests.iter().find(|info| info.name == test) {
        Some(info) => owner_of(info, &config.owners),
        None => owner_of(&TestInfo::from_name(test), &config.owners),
    }
}

/// The plan's failing tests, highest failure rate first (then most failures, then by name).
pub fn flakiest(plan: &Plan) -> Vec<&FailingTest> {
    let mut failing: Vec<&FailingTest> = plan.failing.iter().collect();
    failing.sort_by(|a, b| {
        b.rate
            .total_cmp(&a.rate)
            .then(b.failed.cmp(&a.failed))
            .then(a.test.cmp(&b.test))
    });
    failing
}

/// The `[[quarantine]]` entry of `test`: one that names it as the history does, or as a
/// report writes it (with tags).
pub fn entry_of<'c>(config: &'c QuarantineConfig, test: &str) -> Option<&'c QuarantineEntry> {
    config
        .quarantine
        .iter()
        .find(|entry| entry.test == test || normalise(&entry.test).0 == test)
}

/// A test's status, as the plan lists it: `quarantined`, `broken`, `quarantine-now`,
/// `next-batch`, `deferred`, `not-shown-flaky`, else `watch`.
pub fn status(plan: &Plan, config: &QuarantineConfig, test: &str) -> &'static str {
    let listed = |list: &[crate::quarantine::Candidate]| list.iter().any(|c| c.test == test);
    if entry_of(config, test).is_some() {
        "quarantined"
    } else if plan.broken.iter().any(|broken| broken.test == test) {
        "broken"
    } else if listed(&plan.quarantine_now) {
        "quarantine-now"
    } else if listed(&plan.next_batch) {
        "next-batch"
    } else if listed(&plan.deferred) {
        "deferred"
    } else if listed(&plan.not_shown_flaky) {
        "not-shown-flaky"
    } else {
        "watch"
    }
}
