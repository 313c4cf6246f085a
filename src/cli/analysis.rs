//! The plan computed from the history, as `plan`, `apply` and `report` (and the plan
//! benchmark) do it: the runs of the longest policy window, the tests with their tags, the
//! recorded fixes, and every result of those runs streamed once from SQLite
//! ([`History::for_each_outcome`]) into the policy's [`Aggregator`]; then the message of each
//! broken test's latest failure, read from that one run. Optionally, in the same
//! pass, every test's failure rate (`Flakiness`) for the report.
//!
//! Memory is the aggregator's (one `u32` per counted execution in the windows), the test names
//! (once), and for the report one run's results at a time.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::history::{History, HistoryError, OutcomeRow, RunRow};
use crate::quarantine::calendar::{days_before, in_window};
use crate::quarantine::{
    Aggregator, Explanation, Fix, FlakyPassCounting, Plan, PlanInput, Policy, QuarantineConfig,
    TestInfo, TestKey, owner_of, parse_tags,
};
use crate::results::Outcome;

/// A plan and what it was computed from.
#[derive(Debug)]
pub struct Analysis {
    /// The plan.
    pub plan: Plan,
    /// Every test the history knows, with its tags (stored ones and those in its name).
    pub tests: Vec<TestInfo>,
    /// Per-test failure rates, when asked for.
    pub flakiness: Option<Vec<TestRate>>,
    /// Why the test asked about is or is not a candidate ([`explain`]).
    pub explanation: Option<Explanation>,
}

/// One test's failure rate over the report window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRate {
    /// The test's id.
    pub test: String,
    /// `failed / executions`.
    pub rate: f64,
    /// Failed executions (fail, error, and flaky passes counted as a failure and a pass).
    pub failed: u64,
    /// Counted executions (passed + failed).
    pub executions: u64,
    /// Distinct trusted, non-systemic runs with an execution.
    pub runs: u64,
}

/// Computes the plan as of `now` from `history` and the quarantine tables of harness.toml;
/// with `flakiness`, also every test's failure rate over the batch window (trusted,
/// non-systemic runs, as the policy counts).
pub fn analyse(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    flakiness: bool,
) -> Result<Analysis, HistoryError> {
    analyse_watching(history, config, now, flakiness, None)
}

/// [`analyse`], with the [`Explanation`] of `test` (its id as the history records it) from the
/// same pass.
pub fn explain(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    test: &str,
) -> Result<Analysis, HistoryError> {
    analyse_watching(history, config, now, false, Some(test))
}

fn analyse_watching(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    flakiness: bool,
    watch: Option<&str>,
) -> Result<Analysis, HistoryError> {
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
    if let Some(test) = watch {
        aggregator.watch(test);
    }
    let mut rates = flakiness.then(|| Flakiness::new(&runs, policy, now, tests.len()));
    // Each test's key, looked up when the test is first seen (`None`: not yet; `Some(None)`:
    // past the most tests the aggregator keeps).
    let mut keys: Vec<Option<Option<TestKey>>> = vec![None; tests.len()];
    history.for_each_outcome(Some(since), |row: OutcomeRow| {
        let Some(index) = index_of(row.test_id) else {
            return;
        };
        let key = *keys[index].get_or_insert_with(|| aggregator.test_key(&tests[index].name));
        match key {
            Some(key) => aggregator.add_keyed(row.run_id, key, row.outcome),
            None => aggregator.add_result(row.run_id, &tests[index].name, row.outcome),
        }
        if let Some(rates) = rates.as_mut() {
            rates.add(row.run_id, index, row.outcome);
        }
    })?;
    let input = PlanInput {
        tests: &tests,
        quarantine: &config.quarantine,
        fixes: &fixes,
        owners: &config.owners,
    };
    let (mut plan, explanation) = aggregator.finish_explained(&input);
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
    let flakiness = rates.map(|rates| rates.finish(&tests));
    Ok(Analysis {
        plan,
        tests,
        flakiness,
        explanation,
    })
}

/// The owner of a test by its tags and `[owners]`.
pub fn owner(tests: &[TestInfo], config: &QuarantineConfig, test: &str) -> Option<String> {
    match tests.iter().find(|info| info.name == test) {
        Some(info) => owner_of(info, &config.owners),
        None => owner_of(&TestInfo::from_name(test), &config.owners),
    }
}

/// Per-test failure rates over the batch window, counted as the policy counts: trusted runs,
/// without systemic ones (decided per run, whose rows arrive together).
struct Flakiness {
    counted_runs: HashMap<i64, ()>,
    systemic_failures: u32,
    flaky_pass: FlakyPassCounting,
    current: Option<i64>,
    /// The current run's executions: (test index, passed, failed).
    buffer: Vec<(usize, u64, u64)>,
    failing: Vec<usize>,
    tallies: Vec<(u64, u64, u64)>,
    last_run: Vec<i64>,
}

impl Flakiness {
    fn new(runs: &[RunRow], policy: &Policy, now: Timestamp, tests: usize) -> Flakiness {
        let counted_runs = runs
            .iter()
            .filter(|run| {
                policy.is_trusted(run.kind)
                    && in_window(run.started_at, now, policy.batch_window_days)
            })
            .map(|run| (run.id, ()))
            .collect();
        Flakiness {
            counted_runs,
            systemic_failures: policy.systemic_failures,
            flaky_pass: policy.flaky_pass,
            current: None,
            buffer: Vec::new(),
            failing: Vec::new(),
            tallies: vec![(0, 0, 0); tests],
            last_run: vec![i64::MIN; tests],
        }
    }

    fn add(&mut self, run: i64, test: usize, outcome: Outcome) {
        if self.current != Some(run) {
            self.flush();
            self.current = Some(run);
        }
        if !self.counted_runs.contains_key(&run) {
            return;
        }
        let (passed, failed) = match outcome {
            Outcome::Pass => (1, 0),
            Outcome::Fail | Outcome::Error => (0, 1),
            Outcome::FlakyPass => match self.flaky_pass {
                FlakyPassCounting::FailAndPass => (1, 1),
                FlakyPassCounting::Pass => (1, 0),
            },
            Outcome::Skip | Outcome::NotRun | Outcome::Xfail | Outcome::Xpass => return,
        };
        self.buffer.push((test, passed, failed));
    }

    fn flush(&mut self) {
        let Some(run) = self.current else {
            return;
        };
        self.failing.clear();
        self.failing.extend(
            self.buffer
                .iter()
                .filter(|(_, _, failed)| *failed > 0)
                .map(|(test, _, _)| *test),
        );
        self.failing.sort_unstable();
        self.failing.dedup();
        if (self.failing.len() as u64) < u64::from(self.systemic_failures) {
            for &(test, passed, failed) in &self.buffer {
                let tally = &mut self.tallies[test];
                tally.0 += passed;
                tally.1 += failed;
                if self.last_run[test] != run {
                    self.last_run[test] = run;
                    tally.2 += 1;
                }
            }
        }
        self.buffer.clear();
    }

    fn finish(mut self, tests: &[TestInfo]) -> Vec<TestRate> {
        self.flush();
        let mut rates: Vec<TestRate> = self
            .tallies
            .iter()
            .enumerate()
            .filter(|(_, (passed, failed, _))| passed + failed > 0)
            .map(|(index, &(passed, failed, runs))| TestRate {
                test: tests[index].name.clone(),
                rate: failed as f64 / (passed + failed) as f64,
                failed,
                executions: passed + failed,
                runs,
            })
            .collect();
        rates.sort_by(|a, b| {
            b.rate
                .total_cmp(&a.rate)
                .then(b.failed.cmp(&a.failed))
                .then(a.test.cmp(&b.test))
        });
        rates
    }
}
