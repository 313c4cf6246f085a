//! A seeded history generator for tests and benchmarks: runs spread over time and lanes, each
//! test failing with a known probability, optional systemic runs and skips. The same spec and
//! seed always give the same history; results are generated on the fly, so 10,000 tests x
//! 1,000 runs (10 million rows) need no memory beyond one row.
//!
//! ```
//! use coalmine::quarantine::generator::HistorySpec;
//! use coalmine::quarantine::{Aggregator, PlanInput, Policy};
//!
//! let end: jiff::Timestamp = "2026-06-15T12:00:00Z".parse().unwrap();
//! let history = HistorySpec::new(7, end)
//!     .stable_tests("stable", 20)
//!     .test("flaky", 0.5)
//!     .runs(100, jiff::SignedDuration::from_hours(2))
//!     .generate();
//! let policy = Policy::kubevirt();
//! let mut aggregator = Aggregator::new(&history.runs, &policy, end);
//! history.for_each_result(|row| aggregator.add(row));
//! let plan = aggregator.finish(&PlanInput::default());
//! assert_eq!(plan.quarantine_now[0].test, "flaky");
//! ```

use jiff::{SignedDuration, Timestamp};

use crate::history::model::{NewResult, NewRun, ResultRow, RunKind, RunRow};
use crate::results::Outcome;

/// The splitmix64 generator: tiny, fast, and good enough to simulate coin flips.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A simulated test and the probability that one execution of it fails.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTest {
    /// Its name (tags in brackets are parsed by the policy).
    pub name: String,
    /// The probability that an execution fails, in `0..=1`.
    pub fail_probability: f64,
}

/// A simulated lane; runs rotate through the lanes in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SimLane {
    /// The lane name.
    pub name: String,
    /// The kind of its runs.
    pub kind: RunKind,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySpec {
    /// The seed; everything random derives from it.
    pub seed: u64,
    /// The tests, all executed once in every run.
    pub tests: Vec<SimTest>,
    /// The lanes runs rotate through.
    pub lanes: Vec<SimLane>,
    /// How many runs.
    pub runs: usize,
    /// When the last run starts; earlier runs are `every` apart before it.
    pub end: Timestamp,
    /// The time between two runs.
    pub every: SignedDuration,
    /// The probability that a run is systemic (an infrastructure failure).
    pub systemic_probability: f64,
    /// In a systemic run, the probability that each test fails.
    pub systemic_fail_probability: f64,
    /// The probability that an execution is skipped.
    pub skip_probability: f64,
}

impl HistorySpec {
    /// No tests, no runs yet; lanes `periodic-e2e-sig-compute` (periodic),
    /// `merge-e2e-sig-compute` (merged) and `pull-e2e-sig-compute` (presubmit, untrusted);
    /// runs one hour apart; no systemic runs, no skips.
    pub fn new(seed: u64, end: Timestamp) -> HistorySpec {
        HistorySpec {
            seed,
            tests: Vec::new(),
            lanes: vec![
                SimLane {
                    name: "periodic-e2e-sig-compute".to_owned(),
                    kind: RunKind::Periodic,
                },
                SimLane {
                    name: "merge-e2e-sig-compute".to_owned(),
                    kind: RunKind::Merged,
                },
                SimLane {
                    name: "pull-e2e-sig-compute".to_owned(),
                    kind: RunKind::Presubmit,
                },
            ],
            runs: 0,
            end,
            every: SignedDuration::from_hours(1),
            systemic_probability: 0.0,
            systemic_fail_probability: 0.0,
            skip_probability: 0.0,
        }
    }

    /// Adds a test failing with probability `fail_probability`.
    pub fn test(mut self, name: impl Into<String>, fail_probability: f64) -> HistorySpec {
        self.tests.push(SimTest {
            name: name.into(),
            fail_probability,
        });
        self
    }

    /// Adds `count` tests that never fail, named `{prefix}-{i}`.
    pub fn stable_tests(mut self, prefix: &str, count: usize) -> HistorySpec {
        for index in 0..count {
            self.tests.push(SimTest {
                name: format!("{prefix}-{index}"),
                fail_probability: 0.0,
            });
        }
        self
    }

    /// Sets the lanes.
    pub fn lanes(mut self, lanes: impl IntoIterator<Item = (String, RunKind)>) -> HistorySpec {
        self.lanes = lanes
            .into_iter()
            .map(|(name, kind)| SimLane { name, kind })
            .collect();
        self
    }

    /// Sets the number of runs and the time between them.
    pub fn runs(mut self, runs: usize, every: SignedDuration) -> HistorySpec {
        self.runs = runs;
        self.every = every;
        self
    }

    /// Makes a share of runs systemic, each test failing in them with a probability.
    pub fn systemic(mut self, probability: f64, fail_probability: f64) -> HistorySpec {
        self.systemic_probability = probability;
        self.systemic_fail_probability = fail_probability;
        self
    }

    /// Sets the probability that an execution is skipped.
    pub fn skips(mut self, probability: f64) -> HistorySpec {
        self.skip_probability = probability;
        self
    }

    /// The benchmark history: 10,000 tests x 1,000 runs (10 million rows) over about 14 days,
    /// 10 tests flaky at 2 %, 8 %, 15 % or 40 % (few enough that a run rarely has 5 failures),
    /// 2 % of runs systemic (5 % of tests failing in them), 1 % skips.
    pub fn large(seed: u64, end: Timestamp) -> HistorySpec {
        HistorySpec::suite(seed, end, 10_000, 1000, 1000, SignedDuration::from_mins(20))
    }

    /// A suite shaped like [`HistorySpec::large`] at another size: `tests` tests named like
    /// KubeVirt's across four teams, one in every `flaky_every` of them flaky (at 2 %, 8 %, 15 %
    /// or 40 %, in turn), `runs` runs `every` apart, 2 % of runs systemic (5 % of tests failing
    /// in them), 1 % skips.
    pub fn suite(
        seed: u64,
        end: Timestamp,
        tests: usize,
        flaky_every: usize,
        runs: usize,
        every: SignedDuration,
    ) -> HistorySpec {
        let teams = ["compute", "network", "storage", "operator"];
        let flaky_every = flaky_every.max(1);
        let mut spec = HistorySpec::new(seed, end)
            .runs(runs, every)
            .systemic(0.02, 0.05)
            .skips(0.01);
        for index in 0..tests {
            let team = teams[index % teams.len()];
            let fail_probability = if index % flaky_every == 7 {
                [0.02, 0.08, 0.15, 0.40][(index / flaky_every) % 4]
            } else {
                0.0
            };
            spec.tests.push(SimTest {
                name: format!(
                    "[sig-{team}] suite {:03} should keep workload {index} running",
                    index / 50
                ),
                fail_probability,
            });
        }
        spec
    }

    /// Lays out the runs; results are generated by [`History::for_each_result`].
    pub fn generate(&self) -> History {
        let mut runs = Vec::with_capacity(self.runs);
        for index in 0..self.runs {
            let back = self.runs - 1 - index;
            let started_at = self
                .every
                .checked_mul(i32::try_from(back).unwrap_or(i32::MAX))
                .and_then(|offset| self.end.checked_sub(offset).ok())
                .unwrap_or(Timestamp::MIN);
            let lane = &self.lanes[index % self.lanes.len().max(1)];
            let mut rng = SplitMix64::new(self.seed ^ 0xC0FF_EE00 ^ index as u64);
            runs.push(RunRow {
                id: index as i64 + 1,
                lane: lane.name.clone(),
                kind: lane.kind,
                commit: format!("{:016x}", rng.next_u64()),
                started_at,
                source: "generator".to_owned(),
            });
        }
        History {
            spec: self.clone(),
            runs,
        }
    }
}

/// A generated history: its runs, and its results on demand.
#[derive(Debug, Clone)]
pub struct History {
    /// What it was generated from.
    pub spec: HistorySpec,
    /// The runs, oldest first, ids from 1.
    pub runs: Vec<RunRow>,
}

impl History {
    /// Calls `f` with every result row, run by run, reusing one row (no allocation per row).
    pub fn for_each_result(&self, mut f: impl FnMut(&ResultRow)) {
        let mut row = ResultRow {
            run_id: 0,
            test: String::new(),
            outcome: Outcome::Pass,
            duration_secs: None,
            attempt: 1,
            message: None,
        };
        for (index, run) in self.runs.iter().enumerate() {
            let mut rng = SplitMix64::new(
                self.spec
                    .seed
                    .wrapping_add((index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F)),
            );
            let systemic = rng.next_f64() < self.spec.systemic_probability;
            row.run_id = run.id;
            for test in &self.spec.tests {
                let skip = rng.next_f64() < self.spec.skip_probability;
                let fail_probability = if systemic {
                    self.spec
                        .systemic_fail_probability
                        .max(test.fail_probability)
                } else {
                    test.fail_probability
                };
                let fails = rng.next_f64() < fail_probability;
                row.outcome = match (skip, fails) {
                    (true, _) => Outcome::Skip,
                    (false, true) => Outcome::Fail,
                    (false, false) => Outcome::Pass,
                };
                row.test.clear();
                row.test.push_str(&test.name);
                f(&row);
            }
        }
    }

    /// Records every run into `into`, one `record_run` (one transaction) per run, with the
    /// ingest key `{key_prefix}:{run id}` and `source` as the run's source; `progress` is
    /// called after each run with its id and the results written so far. Returns how many
    /// results were written.
    pub fn record_into(
        &self,
        into: &mut crate::history::History,
        source: &str,
        key_prefix: &str,
        mut progress: impl FnMut(i64, usize),
    ) -> Result<usize, crate::history::HistoryError> {
        let mut batch: Vec<NewResult> = Vec::with_capacity(self.spec.tests.len());
        let mut current = None;
        let mut written = 0usize;
        let mut failed = None;
        let mut flush = |run_id: i64, batch: &mut Vec<NewResult>| {
            let run = &self.runs[(run_id - 1) as usize];
            let new_run = NewRun {
                lane: run.lane.clone(),
                kind: run.kind,
                commit: run.commit.clone(),
                started_at: run.started_at,
                source: source.to_owned(),
                ingest_key: Some(format!("{key_prefix}:{run_id}")),
            };
            if failed.is_none()
                && let Err(error) = into.record_run(&new_run, batch)
            {
                failed = Some(error);
            }
            written += batch.len();
            batch.clear();
            progress(run_id, written);
        };
        self.for_each_result(|row| {
            if let Some(id) = current.filter(|id| *id != row.run_id) {
                flush(id, &mut batch);
            }
            current = Some(row.run_id);
            batch.push(NewResult::new(row.test.clone(), row.outcome));
        });
        if let Some(id) = current {
            flush(id, &mut batch);
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(written),
        }
    }

    /// Every result row, collected (for small histories).
    pub fn results(&self) -> Vec<ResultRow> {
        let mut rows = Vec::with_capacity(self.runs.len() * self.spec.tests.len());
        self.for_each_result(|row| rows.push(row.clone()));
        rows
    }
}
