//! What the page shows beyond the plan, gathered from the rows of the plan's own pass (the
//! observer of [`analyse_with`](super::super::analysis::analyse_with)), in capped views: each
//! lane's latest runs with every test's outcome in them (one byte a test a run), the tests that
//! failed in each run of the horizon (for the heat map and the daily trend), and each test's
//! executions per day. Nothing here decides anything about a test: that is the plan's.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::history::{OutcomeRow, RunRow};
use crate::quarantine::calendar::start_of_day;
use crate::results::Outcome;

/// The caps of every view; each is said in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// The latest runs of each lane shown in its grid (and kept for test pages).
    pub runs_per_lane: usize,
    /// Rows with a failure shown in a lane's grid.
    pub rows_per_lane: usize,
    /// Rows without a failure shown behind a lane's "stable" count.
    pub stable_rows: usize,
    /// Lanes given a grid (the worst first).
    pub lanes: usize,
    /// Tests given a page of their own (with their explanation).
    pub test_pages: usize,
    /// Rows of the flakiest-tests table (`report --top`).
    pub flakiest: usize,
    /// Latest failure messages shown on a test's page.
    pub messages_per_test: usize,
    /// Lines of a test's explanation shown on its page (the rest is one command away).
    pub explanation_lines: usize,
    /// Runs whose messages are read, at most (each is read whole).
    pub message_runs: usize,
    /// Latest runs of each canary shown.
    pub canary_runs: usize,
    /// Canaries shown.
    pub canaries: usize,
    /// Per-test daily counts are kept only while tests x days stays under this.
    pub day_cells: usize,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            runs_per_lane: 60,
            rows_per_lane: 40,
            stable_rows: 20,
            lanes: 30,
            test_pages: 100,
            flakiest: 20,
            messages_per_test: 3,
            explanation_lines: 40,
            message_runs: 200,
            canary_runs: 20,
            canaries: 50,
            day_cells: 8_000_000,
        }
    }
}

/// One outcome bit of a grid cell (a test's executions in one run, every attempt OR-ed).
pub mod cell {
    /// Passed (on some attempt).
    pub const PASS: u8 = 1;
    /// An assertion failed (on some attempt).
    pub const FAIL: u8 = 2;
    /// Could not run to an assertion (on some attempt).
    pub const ERROR: u8 = 4;
    /// Recorded as passed on a retry.
    pub const FLAKY: u8 = 8;
    /// Skipped, xfail or xpass.
    pub const SKIP: u8 = 16;
    /// Not run.
    pub const NOT_RUN: u8 = 32;
}

/// The bit of an outcome.
pub fn bit(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Pass => cell::PASS,
        Outcome::Fail => cell::FAIL,
        Outcome::Error => cell::ERROR,
        Outcome::FlakyPass => cell::FLAKY,
        Outcome::Skip | Outcome::Xfail | Outcome::Xpass => cell::SKIP,
        Outcome::NotRun => cell::NOT_RUN,
    }
}

/// Whether a cell had a failing execution (a failure, an error, or a pass on retry).
pub fn failed(cell: u8) -> bool {
    cell & (cell::FAIL | cell::ERROR | cell::FLAKY) != 0
}

/// A lane's runs: how many in the horizon and which are shown.
#[derive(Debug, Clone)]
pub struct LaneRuns {
    /// The lane.
    pub lane: String,
    /// Its runs in the horizon (up to now).
    pub total: usize,
    /// The latest [`Caps::runs_per_lane`] of them, oldest first (indexes into
    /// [`Gathered::runs`]).
    pub shown: Vec<usize>,
}

/// What the observer kept.
#[derive(Debug)]
pub struct Gathered {
    /// The runs of the horizon that started by `now`, oldest first.
    pub runs: Vec<RunRow>,
    /// Each lane's runs, by lane name.
    pub lanes: Vec<LaneRuns>,
    /// The outcome bits of each test in each shown run: by run index, then test index (0: no
    /// execution).
    pub cells: HashMap<usize, Vec<u8>>,
    /// The tests (indexes) with a failed or errored execution in each run, sorted, by run
    /// index.
    pub failed_tests: Vec<Vec<u32>>,
    /// Whether each run had any execution.
    pub has_results: Vec<bool>,
    /// The days of the horizon, oldest first.
    pub days: Vec<Date>,
    /// Each run's day (an index into `days`).
    pub run_day: Vec<usize>,
    /// Executions per test and day, `[passed, failed]`, at `test * days.len() + day`; `None`
    /// when tests x days is over [`Caps::day_cells`].
    pub test_days: Option<Vec<[u32; 2]>>,
}

impl Gathered {
    /// The cell of test `test` in run `run` (0 when not kept or not run).
    pub fn cell(&self, run: usize, test: usize) -> u8 {
        self.cells
            .get(&run)
            .and_then(|cells| cells.get(test))
            .copied()
            .unwrap_or(0)
    }
}

/// Keeps the capped views of the rows handed to it.
pub struct Collector {
    gathered: Gathered,
    run_index: HashMap<i64, usize>,
    /// The last run looked up (rows come run by run).
    last: Option<(i64, Option<usize>)>,
    day_cells: usize,
}

impl Collector {
    /// Starts on the runs of the horizon (`since` to `now`).
    pub fn new(mut runs: Vec<RunRow>, since: Timestamp, now: Timestamp, caps: &Caps) -> Collector {
        runs.retain(|run| run.started_at <= now && run.started_at >= since);
        runs.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
        let utc = jiff::tz::TimeZone::UTC;
        let first = since.to_zoned(utc.clone()).date();
        let last = now.to_zoned(utc).date();
        let mut days = Vec::new();
        let mut day = first;
        while day <= last && days.len() < 10_000 {
            days.push(day);
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        let origin = start_of_day(first).as_second();
        let run_day = runs
            .iter()
            .map(|run| {
                let day = (run.started_at.as_second() - origin).div_euclid(86_400);
                usize::try_from(day)
                    .unwrap_or(0)
                    .min(days.len().saturating_sub(1))
            })
            .collect();
        let mut by_lane: Vec<LaneRuns> = Vec::new();
        let mut lane_of: HashMap<&str, usize> = HashMap::new();
        for (index, run) in runs.iter().enumerate() {
            let lane = *lane_of.entry(run.lane.as_str()).or_insert_with(|| {
                by_lane.push(LaneRuns {
                    lane: run.lane.clone(),
                    total: 0,
                    shown: Vec::new(),
                });
                by_lane.len() - 1
            });
            by_lane[lane].total += 1;
            by_lane[lane].shown.push(index);
        }
        let mut cells = HashMap::new();
        for lane in &mut by_lane {
            let skip = lane.shown.len().saturating_sub(caps.runs_per_lane);
            lane.shown.drain(..skip);
            for &run in &lane.shown {
                cells.insert(run, Vec::new());
            }
        }
        by_lane.sort_by(|a, b| a.lane.cmp(&b.lane));
        let run_index = runs
            .iter()
            .enumerate()
            .map(|(index, run)| (run.id, index))
            .collect();
        let n = runs.len();
        Collector {
            gathered: Gathered {
                runs,
                lanes: by_lane,
                cells,
                failed_tests: vec![Vec::new(); n],
                has_results: vec![false; n],
                days,
                run_day,
                test_days: Some(Vec::new()),
            },
            run_index,
            last: None,
            day_cells: caps.day_cells,
        }
    }

    /// Keeps what the views need of one row; `test` is its test's index.
    pub fn observe(&mut self, row: &OutcomeRow, test: usize) {
        let run = match self.last {
            Some((id, run)) if id == row.run_id => run,
            _ => {
                let run = self.run_index.get(&row.run_id).copied();
                self.last = Some((row.run_id, run));
                run
            }
        };
        let Some(run) = run else {
            return;
        };
        let gathered = &mut self.gathered;
        gathered.has_results[run] = true;
        let bit = bit(row.outcome);
        if bit & (cell::FAIL | cell::ERROR) != 0 {
            let failed = &mut gathered.failed_tests[run];
            if failed.last() != Some(&(test as u32)) {
                failed.push(test as u32);
            }
        }
        if let Some(cells) = gathered.cells.get_mut(&run) {
            if cells.len() <= test {
                cells.resize(test + 1, 0);
            }
            cells[test] |= bit;
        }
        let days = gathered.days.len();
        if let Some(test_days) = &mut gathered.test_days {
            let at = test * days + gathered.run_day[run];
            if at >= self.day_cells {
                gathered.test_days = None;
            } else {
                if test_days.len() <= at {
                    test_days.resize((test + 1) * days, [0, 0]);
                }
                match bit {
                    cell::PASS | cell::FLAKY => test_days[at][0] += 1,
                    cell::FAIL | cell::ERROR => test_days[at][1] += 1,
                    _ => {}
                }
            }
        }
    }

    /// What was kept.
    pub fn finish(mut self) -> Gathered {
        for failed in &mut self.gathered.failed_tests {
            failed.sort_unstable();
            failed.dedup();
        }
        self.gathered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::RunKind;

    fn run(id: i64, lane: &str, hours_ago: i64, now: Timestamp) -> RunRow {
        RunRow {
            id,
            lane: lane.to_owned(),
            kind: RunKind::Periodic,
            commit: format!("c{id}"),
            started_at: Timestamp::from_second(now.as_second() - 3600 * hours_ago).unwrap(),
            source: "junit.xml".to_owned(),
        }
    }

    fn row(run_id: i64, outcome: Outcome) -> OutcomeRow {
        OutcomeRow {
            run_id,
            test_id: 0,
            attempt: 1,
            outcome,
        }
    }

    #[test]
    fn each_lane_keeps_its_latest_runs_and_every_attempt_of_a_test() {
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let since = crate::quarantine::calendar::days_before(now, 14);
        // Lane a: runs 1..=4 (run 1 the oldest), lane b: run 5; run 6 is after now, run 7
        // before the horizon.
        let runs = vec![
            run(3, "a", 20, now),
            run(1, "a", 40, now),
            run(2, "a", 30, now),
            run(4, "a", 10, now),
            run(5, "b", 5, now),
            run(6, "a", -1, now),
            run(7, "a", 24 * 20, now),
        ];
        let caps = Caps {
            runs_per_lane: 3,
            ..Caps::default()
        };
        let mut collector = Collector::new(runs, since, now, &caps);
        for (run_id, test, outcome) in [
            (1, 0, Outcome::Fail),
            (2, 0, Outcome::Fail),
            (2, 0, Outcome::Pass),
            (3, 1, Outcome::Error),
            (4, 0, Outcome::FlakyPass),
            (4, 1, Outcome::Skip),
            (5, 0, Outcome::Pass),
            (6, 0, Outcome::Fail),
            (7, 0, Outcome::Fail),
        ] {
            collector.observe(&row(run_id, outcome), test);
        }
        let gathered = collector.finish();
        let ids =
            |runs: &[usize]| -> Vec<i64> { runs.iter().map(|&r| gathered.runs[r].id).collect() };
        assert_eq!(gathered.lanes.len(), 2);
        let a = &gathered.lanes[0];
        assert_eq!((a.lane.as_str(), a.total), ("a", 4));
        assert_eq!(ids(&a.shown), [2, 3, 4], "the latest 3, oldest first");
        assert_eq!(ids(&gathered.lanes[1].shown), [5]);
        let cells: Vec<u8> = a.shown.iter().map(|&r| gathered.cell(r, 0)).collect();
        assert_eq!(cells, [cell::FAIL | cell::PASS, 0, cell::FLAKY]);
        assert!(cells.iter().all(|&c| c == 0 || failed(c)));
        assert_eq!(gathered.cell(a.shown[1], 1), cell::ERROR);
        // Run 1 is not shown but its failure counts for the heat map.
        let first = gathered.runs.iter().position(|r| r.id == 1).unwrap();
        assert_eq!(gathered.failed_tests[first], [0]);
        assert_eq!(gathered.cell(first, 0), 0);
        // Executions per day: test 0 today (runs 4 and 5) passed twice.
        let today = gathered.days.len() - 1;
        let days = gathered.test_days.as_ref().unwrap();
        assert_eq!(days[today], [2, 0]);
        assert_eq!(gathered.days[today].to_string(), "2026-11-20");
    }
}
