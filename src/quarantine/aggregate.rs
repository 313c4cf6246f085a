//! The policy as a streaming fold: [`Aggregator::new`] takes the runs, [`Aggregator::add`]
//! takes result rows one by one in any order, [`Aggregator::finish`] returns the [`Plan`].
//!
//! Memory is one `u32` per counted execution of a run inside the longest window (test id and
//! outcome packed), plus per-test counters; test names are interned once. Per-test rates need
//! to know which runs are systemic, which is only known once every row of a run is in, hence
//! the compact buffer and a single time-ordered pass in `finish` (rates, streaks, grace),
//! followed by one pass grouped by commit for same-commit flips. Per test, the streak state
//! and the flip counts are a few words; per run, a commit key and its flags.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use jiff::Timestamp;

use super::auto::{self, LaneRule};
use super::calendar::{add_days, batch_at, days, in_window, start_of_day, utc_date};
use super::explain::Explanation;
use super::model::{Fix, QuarantineEntry, TestInfo, owner_of};
use super::owners::Owners;
use super::plan::{
    BatchInfo, Broken, Candidate, Counts, FailingTest, FixProgress, GraceRelease, IssueDraft, Keep,
    LANE_TESTS_SHOWN, LaneImpact, LaneReport, Plan, Release, Rule, Stability, SystemicRun, percent,
};
use super::policy::{FlakyPassCounting, Policy, Statistics, team_from_lane};
use crate::history::model::{ResultRow, RunKind, RunRow};
use crate::results::Outcome;

mod explaining;

/// What the policy needs besides the history, the policy and the time.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// Known tests and their tags. Tests seen only in the history get the tags of their name.
    pub tests: &'a [TestInfo],
    /// The `[[quarantine]]` entries.
    pub quarantine: &'a [QuarantineEntry],
    /// Recorded fixes (the latest per test is used).
    pub fixes: &'a [Fix],
    /// The `[owners]` table.
    pub owners: &'a Owners,
}

static NO_OWNERS: Owners = Owners::EMPTY;

impl Default for PlanInput<'static> {
    fn default() -> Self {
        PlanInput {
            tests: &[],
            quarantine: &[],
            fixes: &[],
            owners: &NO_OWNERS,
        }
    }
}

/// Computes the plan from whole slices; see [`Aggregator`] to stream the results instead.
pub fn plan<'r>(
    runs: &[RunRow],
    results: impl IntoIterator<Item = &'r ResultRow>,
    input: &PlanInput<'_>,
    policy: &Policy,
    now: Timestamp,
) -> Plan {
    let mut aggregator = Aggregator::new(runs, policy, now);
    for row in results {
        aggregator.add(row);
    }
    aggregator.finish(input)
}

// Run flags: which windows a run is in (before systemic runs are taken out).
const NOW: u8 = 1;
const BATCH: u8 = 2;
const STABILITY: u8 = 4;
const RELEASE: u8 = 8;
const LANE: u8 = 16;
const TRUSTED: u8 = 32;
/// Windows a systemic run leaves.
const PER_TEST: u8 = NOW | BATCH | STABILITY | RELEASE | TRUSTED;

// Execution codes, in the low two bits of a packed entry.
const PASS: u32 = 0;
const FAIL: u32 = 1;
/// A `flaky-pass` counted as one failure and one pass.
const FAIL_AND_PASS: u32 = 2;
/// Test ids must fit in the remaining 30 bits.
const MAX_TESTS: usize = 1 << 30;

/// Passed and failed executions of a code.
fn split(code: u32) -> (u64, u64) {
    match code {
        PASS => (1, 0),
        FAIL => (0, 1),
        _ => (1, 1),
    }
}

struct RunSlot {
    /// Index into the runs slice.
    row: usize,
    lane: u32,
    flags: u8,
    kept: bool,
}

/// Folds result rows into a [`Plan`]; see the module docs.
pub struct Aggregator<'a> {
    policy: &'a Policy,
    now: Timestamp,
    runs: &'a [RunRow],
    slots: Vec<RunSlot>,
    run_index: FxMap<i64, u32>,
    lanes: Vec<String>,
    names: Interner,
    entries: Vec<Vec<u32>>,
    /// How many entries the run read last kept: a run's entries get that much room and an
    /// eighth at their first one (runs are about the same size), so that they are not grown
    /// by doubling (which left a run of 10,000 tests with room for 16,384).
    run_size_hint: usize,
    cache: Option<(i64, Option<u32>)>,
    counts: Counts,
    /// The tests [`Aggregator::watch`] asked about, in that order; each one's position in
    /// `watched` by test id (`u32::MAX`: not watched); and every row of each (run slot,
    /// outcome).
    watched: Vec<u32>,
    watch_index: Vec<u32>,
    watched_rows: Vec<Vec<(u32, Outcome)>>,
}

impl<'a> Aggregator<'a> {
    /// Starts a plan as of `now` over these runs. Runs started after `now` are ignored, so a
    /// plan can be replayed as of any past instant; so are runs older than the longest window.
    /// A run id given twice keeps its first row.
    pub fn new(runs: &'a [RunRow], policy: &'a Policy, now: Timestamp) -> Aggregator<'a> {
        let horizon = policy.horizon_days();
        let mut counts = Counts {
            runs: runs.len() as u64,
            ..Counts::default()
        };
        let mut run_index = FxMap::default();
        let mut lane_index: HashMap<&str, u32> = HashMap::new();
        let mut lanes = Vec::new();
        let mut slots = Vec::with_capacity(runs.len());
        for (row, run) in runs.iter().enumerate() {
            if run_index.contains_key(&run.id) {
                continue;
            }
            let at = run.started_at;
            if at > now {
                counts.runs_after_now += 1;
            }
            let kept = in_window(at, now, horizon);
            counts.runs_in_windows += u64::from(kept);
            let trusted = policy.is_trusted(run.kind);
            let mut flags = 0;
            let mut set = |flag: u8, on: bool| {
                if on {
                    flags |= flag;
                }
            };
            set(TRUSTED, trusted);
            set(NOW, trusted && in_window(at, now, policy.now_window_days));
            set(
                BATCH,
                trusted && in_window(at, now, policy.batch_window_days),
            );
            set(
                STABILITY,
                trusted && in_window(at, now, policy.stability_window_days),
            );
            set(
                RELEASE,
                policy.release_kinds.contains(&run.kind) && in_window(at, now, policy.release_days),
            );
            set(
                LANE,
                policy.lane_kinds.contains(&run.kind)
                    && in_window(at, now, policy.lane_window_days),
            );
            let lane = *lane_index.entry(run.lane.as_str()).or_insert_with(|| {
                lanes.push(run.lane.clone());
                (lanes.len() - 1) as u32
            });
            run_index.insert(run.id, slots.len() as u32);
            slots.push(RunSlot {
                row,
                lane,
                flags,
                kept,
            });
        }
        let entries = (0..slots.len()).map(|_| Vec::new()).collect();
        Aggregator {
            policy,
            now,
            runs,
            slots,
            run_index,
            lanes,
            names: Interner::default(),
            entries,
            run_size_hint: 0,
            cache: None,
            counts,
            watched: Vec::new(),
            watch_index: Vec::new(),
            watched_rows: Vec::new(),
        }
    }

    /// Keeps every row of `test` (whatever its run and outcome), so that
    /// [`finish_explained`](Aggregator::finish_explained) can say what was counted and what
    /// was left out. Call it before adding rows; call it again to watch more tests (each is
    /// explained, in the order watched, by
    /// [`finish_explained_all`](Aggregator::finish_explained_all)).
    pub fn watch(&mut self, test: &str) {
        let Some(id) = self.names.intern(test) else {
            return;
        };
        if self.watch_index.len() <= id as usize {
            self.watch_index.resize(id as usize + 1, u32::MAX);
        }
        if self.watch_index[id as usize] == u32::MAX {
            self.watch_index[id as usize] = self.watched.len() as u32;
            self.watched.push(id);
            self.watched_rows.push(Vec::new());
        }
    }

    /// The position of test `id` among the watched ones.
    fn watched_position(&self, id: u32) -> Option<usize> {
        match self.watch_index.get(id as usize) {
            Some(&position) if position != u32::MAX => Some(position as usize),
            _ => None,
        }
    }

    /// Adds one result row.
    pub fn add(&mut self, row: &ResultRow) {
        self.add_result(row.run_id, &row.test, row.outcome);
    }

    /// Adds one execution without building a [`ResultRow`] (for stores that stream borrowed
    /// fields). Rows of an unknown run are counted in [`Counts::orphan_results`] and ignored.
    /// Pass and flaky-pass count as passed, fail and error as failed; skip, not-run, xfail
    /// and xpass are not counted, but make the test known.
    pub fn add_result(&mut self, run_id: i64, test: &str, outcome: Outcome) {
        let Some(slot) = self.slot_of(run_id) else {
            return;
        };
        if let Some(id) = self.names.intern(test) {
            self.push(slot, id, outcome);
        }
    }

    /// The key of a test for [`add_keyed`](Aggregator::add_keyed); the test becomes known.
    /// `None` past the most tests the aggregator keeps.
    pub fn test_key(&mut self, test: &str) -> Option<TestKey> {
        self.names.intern(test).map(TestKey)
    }

    /// [`add_result`](Aggregator::add_result) for a test whose key the caller kept: a stream
    /// that names tests by id looks each name up once, not once per result.
    pub fn add_keyed(&mut self, run_id: i64, key: TestKey, outcome: Outcome) {
        if let Some(slot) = self.slot_of(run_id) {
            self.push(slot, key.0, outcome);
        }
    }

    /// Counts a result and finds its run's slot; `None` for a run not given to
    /// [`Aggregator::new`] (counted in [`Counts::orphan_results`]).
    fn slot_of(&mut self, run_id: i64) -> Option<usize> {
        self.counts.results += 1;
        let slot = match self.cache {
            Some((id, slot)) if id == run_id => slot,
            _ => {
                if let Some((_, Some(previous))) = self.cache {
                    let kept = self.entries[previous as usize].len();
                    if kept > 0 {
                        self.run_size_hint = kept;
                    }
                }
                let slot = self.run_index.get(&run_id).copied();
                self.cache = Some((run_id, slot));
                slot
            }
        };
        if slot.is_none() {
            self.counts.orphan_results += 1;
        }
        slot.map(|slot| slot as usize)
    }

    /// Keeps one execution of test `id` in the run at `slot`, when the run is in a window and
    /// the outcome counts.
    fn push(&mut self, slot: usize, id: u32, outcome: Outcome) {
        if let Some(position) = self.watched_position(id) {
            self.watched_rows[position].push((slot as u32, outcome));
        }
        if !self.slots[slot].kept {
            return;
        }
        let code = match outcome {
            Outcome::Pass => PASS,
            Outcome::Fail | Outcome::Error => FAIL,
            Outcome::FlakyPass => match self.policy.flaky_pass {
                FlakyPassCounting::FailAndPass => FAIL_AND_PASS,
                FlakyPassCounting::Pass => PASS,
            },
            Outcome::Skip | Outcome::NotRun | Outcome::Xfail | Outcome::Xpass => return,
        };
        let entries = &mut self.entries[slot];
        if entries.capacity() == 0 {
            // An eighth more: runs differ a little (skips), and one entry past the room would
            // double it.
            entries.reserve_exact(self.run_size_hint + self.run_size_hint / 8);
        }
        entries.push(id << 2 | code);
    }

    /// Applies the policy to everything added.
    pub fn finish(self, input: &PlanInput<'_>) -> Plan {
        Finisher::new(self, input).run().0
    }

    /// [`finish`](Aggregator::finish), with the [`Explanation`] of the test given to
    /// [`watch`](Aggregator::watch) first (`None` when none was).
    pub fn finish_explained(self, input: &PlanInput<'_>) -> (Plan, Option<Explanation>) {
        let (plan, explanations) = Finisher::new(self, input).run();
        (plan, explanations.into_iter().next())
    }

    /// [`finish`](Aggregator::finish), with the [`Explanation`] of every test given to
    /// [`watch`](Aggregator::watch), in the order watched.
    pub fn finish_explained_all(self, input: &PlanInput<'_>) -> (Plan, Vec<Explanation>) {
        Finisher::new(self, input).run()
    }
}

/// Per-test execution counts in one window.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    passed: u64,
    failed: u64,
    runs: u64,
}

impl Tally {
    fn add(&mut self, (passed, failed): (u64, u64), new_run: bool) {
        self.passed += passed;
        self.failed += failed;
        self.runs += u64::from(new_run);
    }

    fn counted(&self) -> u64 {
        self.passed + self.failed
    }

    /// The per-lane rule's numbers as a tally: the lane's runs, failed or not.
    fn of_lane(lane: &LaneImpact) -> Tally {
        Tally {
            passed: lane.runs - lane.failed_runs,
            failed: lane.failed_runs,
            runs: lane.runs,
        }
    }

    fn rate(&self) -> f64 {
        match self.counted() {
            0 => 0.0,
            counted => self.failed as f64 / counted as f64,
        }
    }
}

/// Same-commit flips per test: for the now, batch and stability windows, the commits on which
/// it both passed and failed, and the commits it ran on.
struct Flips {
    flipped: [Vec<u32>; 3],
    commits: [Vec<u32>; 3],
    /// Whether it passed on a commit its open streak failed on.
    in_streak: Vec<bool>,
}

impl Flips {
    /// Every test with a counted failure in the batch window, by name.
    fn failing(&self, names: &Interner, batch: &[Tally]) -> Vec<FailingTest> {
        let mut listed: Vec<FailingTest> = (0..names.len())
            .filter(|&id| batch[id].failed > 0)
            .map(|id| FailingTest {
                test: names.name(id).to_owned(),
                rate: batch[id].rate(),
                failed: batch[id].failed,
                passed: batch[id].passed,
                runs: batch[id].runs,
                flipped_commits: u64::from(self.flipped[1][id]),
                commits: u64::from(self.commits[1][id]),
            })
            .collect();
        listed.sort_by(|a, b| a.test.cmp(&b.test));
        listed
    }
}

/// A test's latest run of failures: consecutive trusted, non-systemic runs in which it failed
/// and did not pass (runs are ranks in time order, commits dense keys).
#[derive(Debug, Clone, Copy, Default)]
struct Streak {
    /// Runs in the streak (0: none).
    runs: u32,
    /// The rank of its first run.
    first: u32,
    /// The rank of its latest run.
    last: u32,
    /// The commit of its first run.
    first_commit: u32,
    /// The commit of its latest run.
    last_commit: u32,
    /// Whether it spans more than one commit.
    commits: bool,
    /// Whether the test passed on a commit the streak failed on, seen at the streak's edges
    /// (its last pass before the streak, the pass that ends it).
    flipped: bool,
    /// Failed executions and runs of the streak in the now, batch and stability windows.
    failed: [u32; 3],
    window_runs: [u32; 3],
    /// The rank of the test's latest passing run, and its commit.
    last_pass: Option<u32>,
    last_pass_commit: u32,
}

/// What a broken streak that ended held in each window, to take out of the rates.
struct EndedStreak {
    failed: [u32; 3],
    runs: [u32; 3],
    /// Its first and last run (ranks), for the per-lane rule.
    first: u32,
    last: u32,
}

impl Streak {
    /// A run in which the test failed `failed` times and never passed.
    fn fail(&mut self, commit: u32, rank: u32, failed: u32, windows: [bool; 3]) {
        if self.runs == 0 {
            *self = Streak {
                first: rank,
                first_commit: commit,
                flipped: self.last_pass.is_some() && self.last_pass_commit == commit,
                last_pass: self.last_pass,
                last_pass_commit: self.last_pass_commit,
                ..Streak::default()
            };
        } else {
            self.commits |= commit != self.first_commit;
            self.flipped |= self.last_pass.is_some() && self.last_pass_commit == commit;
        }
        self.runs += 1;
        self.last = rank;
        self.last_commit = commit;
        for (window, inside) in windows.into_iter().enumerate() {
            if inside {
                self.failed[window] += failed;
                self.window_runs[window] += 1;
            }
        }
    }

    /// Whether the streak so far meets the broken rule (flips found elsewhere aside).
    fn is_broken(&self, min_runs: u32) -> bool {
        self.runs >= min_runs && self.commits && !self.flipped
    }

    /// A run in which the test passed: the streak ends. Returns what a broken streak held.
    fn end(&mut self, commit: u32, rank: u32, min_runs: u32) -> Option<EndedStreak> {
        let flipped = commit == self.first_commit || commit == self.last_commit;
        let ended =
            (self.runs > 0 && !flipped && self.is_broken(min_runs)).then_some(EndedStreak {
                failed: self.failed,
                runs: self.window_runs,
                first: self.first,
                last: self.last,
            });
        *self = Streak {
            last_pass: Some(rank),
            last_pass_commit: commit,
            ..Streak::default()
        };
        ended
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct LaneTally {
    runs: u64,
    failed_runs: u64,
}

/// The state of `finish`: the aggregator's buffers plus everything derived from the input.
struct Finisher<'a, 'i> {
    agg: Aggregator<'a>,
    input: &'i PlanInput<'i>,
    /// Index into `input.tests` per test id.
    info: Vec<Option<u32>>,
    /// Index into `input.quarantine` per test id (the first entry).
    entry: Vec<Option<u32>>,
    /// The latest fix per test id.
    fix: Vec<Option<&'i Fix>>,
    unknown_entries: Vec<String>,
    /// The closest test ids to each unknown entry.
    unknown_closest: Vec<(String, Vec<String>)>,
    duplicate_entries: Vec<String>,
}

impl<'a, 'i> Finisher<'a, 'i> {
    fn new(mut agg: Aggregator<'a>, input: &'i PlanInput<'i>) -> Finisher<'a, 'i> {
        let mut info_ids = Vec::with_capacity(input.tests.len());
        for test in input.tests {
            info_ids.push(agg.names.intern(&test.name));
        }
        let n = agg.names.len();
        let mut info = vec![None; n];
        for (index, id) in info_ids.into_iter().enumerate() {
            if let Some(id) = id
                && info[id as usize].is_none()
            {
                info[id as usize] = Some(index as u32);
            }
        }
        let mut entry = vec![None; n];
        let mut unknown_entries = Vec::new();
        let mut duplicate_entries = Vec::new();
        for (index, quarantined) in input.quarantine.iter().enumerate() {
            // Spelled as the history records it, or as a report writes it (with tags and
            // `[QUARANTINE]`, which ingest strips): the spelling `quarantine fixed` accepts.
            let found = agg.names.get(&quarantined.test).or_else(|| {
                let (normalised, _) = crate::ingest::normalise(&quarantined.test);
                agg.names.get(&normalised)
            });
            match found {
                None => unknown_entries.push(quarantined.test.clone()),
                Some(id) if entry[id as usize].is_some() => {
                    duplicate_entries.push(quarantined.test.clone());
                }
                Some(id) => entry[id as usize] = Some(index as u32),
            }
        }
        let mut fix: Vec<Option<&Fix>> = vec![None; n];
        for recorded in input.fixes {
            if let Some(id) = agg.names.get(&recorded.test) {
                let slot = &mut fix[id as usize];
                if slot.is_none_or(|old| recorded.at >= old.at) {
                    *slot = Some(recorded);
                }
            }
        }
        unknown_entries.sort();
        unknown_entries.dedup();
        let unknown_closest: Vec<(String, Vec<String>)> = unknown_entries
            .iter()
            .map(|test| {
                let names = (0..agg.names.len()).map(|id| agg.names.name(id));
                let closest = crate::suggest::closest_first(test, names)
                    .into_iter()
                    .take(3)
                    .map(str::to_owned)
                    .collect();
                (test.clone(), closest)
            })
            .collect();
        duplicate_entries.sort();
        duplicate_entries.dedup();
        Finisher {
            agg,
            input,
            info,
            entry,
            fix,
            unknown_entries,
            unknown_closest,
            duplicate_entries,
        }
    }

    fn quarantined(&self, id: usize) -> bool {
        self.entry[id].is_some()
    }

    fn test_info(&self, id: usize) -> Cow<'i, TestInfo> {
        match self.info[id] {
            Some(index) => Cow::Borrowed(&self.input.tests[index as usize]),
            None => Cow::Owned(TestInfo::from_name(self.agg.names.name(id))),
        }
    }

    fn run(self) -> (Plan, Vec<Explanation>) {
        let policy = self.agg.policy;
        let now = self.agg.now;
        let n = self.agg.names.len();
        let mut now_tally = vec![Tally::default(); n];
        let mut batch_tally = vec![Tally::default(); n];
        let mut stability_tally = vec![Tally::default(); n];
        let mut release_tally = vec![Tally::default(); n];
        let mut last_release_failure: Vec<Option<Timestamp>> = vec![None; n];
        let mut last_seen = vec![u32::MAX; n];
        let mut streak = vec![0u64; n];
        let any_fix = self.fix.iter().any(Option::is_some);
        let mut lane_tally = vec![LaneTally::default(); self.agg.lanes.len()];
        let mut lane_failures: Vec<(u32, u32)> = Vec::new();
        let (mut measured_runs, mut measured_clean) = (0u64, 0u64);
        let mut systemic_runs = Vec::new();

        let runs = self.agg.runs;
        let mut order: Vec<u32> = (0..self.agg.slots.len() as u32)
            .filter(|&slot| !self.agg.entries[slot as usize].is_empty())
            .collect();
        order.sort_by_key(|&slot| {
            let run = &runs[self.agg.slots[slot as usize].row];
            (run.started_at, run.id)
        });
        let mut failing: Vec<u32> = Vec::new();
        // Commits as dense keys (a run without a known commit is a commit of its own), the
        // flags each run kept once systemic runs are known, and the broken-streak state.
        let commit_keys = self.commit_keys(&order);
        let mut kept_flags = vec![0u8; order.len()];
        let broken_rule = policy.broken_min_runs > 0;
        let mut streaks = vec![Streak::default(); if broken_rule { n } else { 0 }];
        let mut fail_executions = vec![0u32; if broken_rule { n } else { 0 }];
        let mut stability_failures: Vec<(u32, u32)> = Vec::new();
        let mut breakage_left_out = vec![[0u64; 3]; self.agg.watched.len()];
        let mut per_lane = policy
            .is_per_lane()
            .then(|| LaneRule::new(policy, now, &self.agg.lanes));
        for (rank, &slot_index) in order.iter().enumerate() {
            let rank = rank as u32;
            let slot = &self.agg.slots[slot_index as usize];
            let run = &runs[slot.row];
            let entries = &self.agg.entries[slot_index as usize];
            failing.clear();
            failing.extend(
                entries
                    .iter()
                    .filter(|&&packed| packed & 3 != PASS)
                    .map(|&packed| packed >> 2),
            );
            failing.sort_unstable();
            failing.dedup();
            let mut flags = slot.flags;
            if failing.len() as u64 >= u64::from(policy.systemic_failures) {
                flags &= !PER_TEST;
                systemic_runs.push(SystemicRun {
                    run_id: run.id,
                    lane: run.lane.clone(),
                    started_at: run.started_at,
                    failed_tests: failing.len() as u64,
                });
            }
            let failed_here = failing.iter().any(|&id| !self.quarantined(id as usize));
            if flags & LANE != 0 {
                let tally = &mut lane_tally[slot.lane as usize];
                tally.runs += 1;
                tally.failed_runs += u64::from(failed_here);
                lane_failures.extend(
                    failing
                        .iter()
                        .filter(|&&id| !self.quarantined(id as usize))
                        .map(|&id| (slot.lane, id)),
                );
            }
            kept_flags[rank as usize] = flags;
            if let Some(per_lane) = &mut per_lane {
                let systemic = failing.len() as u64 >= u64::from(policy.systemic_failures);
                let in_window = slot.flags & BATCH != 0;
                per_lane.run(
                    slot.lane,
                    rank,
                    run.started_at,
                    in_window,
                    systemic,
                    &failing,
                );
            }
            if flags & STABILITY != 0 {
                measured_runs += 1;
                measured_clean += u64::from(!failed_here);
                stability_failures.extend(
                    failing
                        .iter()
                        .filter(|&&id| !self.quarantined(id as usize))
                        .map(|&id| (rank, id)),
                );
            }
            if flags & (NOW | BATCH | STABILITY | RELEASE) != 0 {
                for &packed in entries {
                    let id = (packed >> 2) as usize;
                    let counts = split(packed & 3);
                    let new_run = last_seen[id] != slot_index;
                    last_seen[id] = slot_index;
                    if flags & NOW != 0 {
                        now_tally[id].add(counts, new_run);
                    }
                    if flags & BATCH != 0 {
                        batch_tally[id].add(counts, new_run);
                    }
                    if flags & STABILITY != 0 {
                        stability_tally[id].add(counts, new_run);
                    }
                    if flags & RELEASE != 0 {
                        release_tally[id].add(counts, new_run);
                        if counts.1 > 0 {
                            last_release_failure[id] = Some(run.started_at);
                        }
                    }
                }
            }
            if broken_rule && flags & TRUSTED != 0 {
                let commit = commit_keys[rank as usize];
                let windows = [flags & NOW != 0, flags & BATCH != 0, flags & STABILITY != 0];
                for &packed in entries {
                    let id = (packed >> 2) as usize;
                    if packed & 3 == FAIL {
                        fail_executions[id] += 1;
                    } else if streaks[id].last_pass != Some(rank) {
                        // A pass ends a streak; a broken one's failures leave the windows.
                        let streak = &mut streaks[id];
                        if let Some(ended) = streak.end(commit, rank, policy.broken_min_runs) {
                            if let Some(position) = self.agg.watched_position(id as u32) {
                                for (window, failed) in ended.failed.iter().enumerate() {
                                    breakage_left_out[position][window] += u64::from(*failed);
                                }
                            }
                            if let Some(per_lane) = &mut per_lane {
                                per_lane.forget(id as u32, ended.first, ended.last);
                            }
                            for (window, tally) in
                                [&mut now_tally, &mut batch_tally, &mut stability_tally]
                                    .into_iter()
                                    .enumerate()
                            {
                                let tally = &mut tally[id];
                                debug_assert!(tally.failed >= u64::from(ended.failed[window]));
                                debug_assert!(tally.runs >= u64::from(ended.runs[window]));
                                tally.failed =
                                    tally.failed.saturating_sub(u64::from(ended.failed[window]));
                                tally.runs =
                                    tally.runs.saturating_sub(u64::from(ended.runs[window]));
                            }
                        }
                    }
                }
                for &id in &failing {
                    let id = id as usize;
                    let failed = std::mem::take(&mut fail_executions[id]);
                    if streaks[id].last_pass != Some(rank) {
                        streaks[id].fail(commit, rank, failed, windows);
                    }
                }
            }
            if any_fix && flags & TRUSTED != 0 {
                for &packed in entries {
                    let id = (packed >> 2) as usize;
                    let Some(fix) = self.fix[id] else { continue };
                    if !fix.covers(&run.commit, run.started_at) {
                        continue;
                    }
                    if failing.binary_search(&(id as u32)).is_ok() {
                        streak[id] = 0;
                    } else {
                        streak[id] += split(packed & 3).0;
                    }
                }
            }
        }

        let names = &self.agg.names;
        let per_lane = per_lane.map(|rule| {
            rule.finish(
                &self.agg.lanes,
                |id| names.name(id as usize),
                &self.agg.watched,
            )
        });
        let flips = self.flips(&order, &commit_keys, &kept_flags, &streaks);
        let mut broken = Vec::new();
        let mut is_broken = vec![false; n];
        if broken_rule {
            for (id, streak) in streaks.iter().enumerate() {
                if self.quarantined(id)
                    || !streak.is_broken(policy.broken_min_runs)
                    || flips.in_streak[id]
                {
                    continue;
                }
                is_broken[id] = true;
                broken.push(self.broken(id, streak, &order));
            }
        }

        let batch = batch_at(policy, now);
        let today = utc_date(now);

        // Candidates.
        let threshold_met =
            |tally: &Tally, threshold: f64| -> Option<f64> { meets(policy, tally, threshold) };
        let mut candidates = Vec::new();
        let mut not_shown_flaky = Vec::new();
        // The per-lane rule's tests come in the robot's order, the others by id.
        let ids: Vec<usize> = match &per_lane {
            Some(found) => found.order().collect(),
            None => (0..n).collect(),
        };
        for id in ids {
            if self.quarantined(id) || is_broken[id] {
                continue;
            }
            let lane_match = per_lane.as_ref().and_then(|found| found.get(id));
            let (rule, tally, score) = if let Some(found) = lane_match {
                (
                    Rule::PerLane,
                    Tally::of_lane(found.top()),
                    found.top().score,
                )
            } else if per_lane.is_some() {
                continue;
            } else if let Some(score) = threshold_met(&now_tally[id], policy.now_rate) {
                (Rule::Now, now_tally[id], score)
            } else if let Some(score) = threshold_met(&batch_tally[id], policy.batch_rate) {
                (Rule::Batch, batch_tally[id], score)
            } else {
                continue;
            };
            let window = match rule {
                Rule::Now => 0,
                Rule::Batch | Rule::PerLane => 1,
            };
            let flipped = (flips.flipped[window][id], flips.commits[window][id]);
            let mut candidate = self.candidate(id, rule, tally, score, streak[id], flipped);
            if let Some(found) = lane_match {
                candidate.reason = found.reason(policy, flipped);
                candidate.lanes = found.lanes.clone();
            }
            if policy.require_flip && candidate.flipped_commits == 0 {
                candidate.reason.push_str(
                    "; failing, not shown to be flaky: it never passed and failed on one commit \
                     (`require_flip`)",
                );
                not_shown_flaky.push(candidate);
                continue;
            }
            candidates.push(candidate);
        }

        let mut quarantine_now = Vec::new();
        let mut next_batch = Vec::new();
        let mut deferred = Vec::new();
        let mut grace_released = Vec::new();
        if policy.is_auto() {
            // The per-lane rule's candidates are in the robot's order already.
            if per_lane.is_none() {
                candidates.sort_by(|a, b| {
                    a.rule
                        .cmp(&b.rule)
                        .then(b.score.total_cmp(&a.score))
                        .then(b.failed.cmp(&a.failed))
                        .then(a.test.cmp(&b.test))
                });
            }
            let limit = policy.auto_quarantine_max_per_run as usize;
            for (rank, mut candidate) in candidates.into_iter().enumerate() {
                if rank < limit {
                    candidate.reason.push_str("; auto-quarantined");
                    quarantine_now.push(candidate);
                } else {
                    candidate.reason.push_str(&format!(
                        "; deferred: at most {limit} test(s) are auto-quarantined per run"
                    ));
                    deferred.push(candidate);
                }
            }
        } else {
            for mut candidate in candidates {
                match candidate.rule {
                    // Per-lane without a limit (a policy built by hand): at once.
                    Rule::Now | Rule::PerLane => quarantine_now.push(candidate),
                    Rule::Batch => match self.grace_release(&candidate, batch) {
                        Some(release) => grace_released.push(release),
                        None => {
                            candidate.batch_date = Some(batch.date);
                            candidate.reason.push_str(&format!(
                                "; proposed in the batch of {}, grace until {}",
                                batch.date, batch.grace_ends
                            ));
                            next_batch.push(candidate);
                        }
                    },
                }
            }
        }

        // Quarantined tests: grace, release or keep.
        let mut release = Vec::new();
        let mut keep = Vec::new();
        for id in 0..n {
            let Some(index) = self.entry[id] else {
                continue;
            };
            let entry = &self.input.quarantine[index as usize];
            if !policy.is_auto()
                && batch.in_grace
                && entry.since >= batch.date
                && entry.since < batch.grace_ends
                && let Some(fix) = self.fix[id]
                && streak[id] >= u64::from(policy.grace_passes)
            {
                let progress = fix_progress(fix, streak[id], policy.grace_passes);
                grace_released.push(GraceRelease {
                    test: entry.test.clone(),
                    owner: Some(entry.owner.clone()),
                    reason: format!(
                        "quarantined by the batch of {}; its fix {} passed {} consecutive \
                         executions before the grace period ends on {}",
                        batch.date, fix.commit, streak[id], batch.grace_ends
                    ),
                    fix: progress,
                    batch_date: batch.date,
                    grace_ends: batch.grace_ends,
                    was_quarantined: true,
                });
                continue;
            }
            let tally = release_tally[id];
            let mut kept = Keep {
                test: entry.test.clone(),
                owner: entry.owner.clone(),
                since: entry.since,
                stable_by: entry.stable_by,
                earliest_release: None,
                executions: tally.counted(),
                failed: tally.failed,
                reason: String::new(),
            };
            let kinds = kind_names(&policy.release_kinds);
            let Some(stable_by) = entry.stable_by else {
                kept.reason =
                    "no `stable_by` date: its team has not said when it will be stable".to_owned();
                keep.push(kept);
                continue;
            };
            let earliest = add_days(stable_by, i64::from(policy.release_days));
            if now < start_of_day(earliest) {
                kept.earliest_release = Some(earliest);
                kept.reason = format!(
                    "the {} days after `stable_by` {stable_by} end on {earliest}",
                    policy.release_days
                );
                keep.push(kept);
                continue;
            }
            if tally.counted() < u64::from(policy.release_sample_min) {
                kept.reason = format!(
                    "{} execution(s) on {kinds} runs in the last {} days; at least {} needed",
                    tally.counted(),
                    policy.release_days,
                    policy.release_sample_min
                );
                keep.push(kept);
                continue;
            }
            if tally.rate() <= policy.release_max_rate {
                release.push(Release {
                    test: entry.test.clone(),
                    owner: entry.owner.clone(),
                    stable_by,
                    executions: tally.counted(),
                    failed: tally.failed,
                    reason: if tally.failed == 0 {
                        format!(
                            "no failure in {} execution(s) on {kinds} runs in the last {} days, \
                             all after `stable_by` {stable_by}",
                            tally.counted(),
                            policy.release_days
                        )
                    } else {
                        format!(
                            "failed {} of {} execution(s) ({}) on {kinds} runs in the last {} \
                             days, all after `stable_by` {stable_by}: at most {}",
                            tally.failed,
                            tally.counted(),
                            percent(tally.rate()),
                            policy.release_days,
                            percent(policy.release_max_rate)
                        )
                    },
                });
            } else {
                kept.earliest_release = last_release_failure[id]
                    .and_then(|at| at.checked_add(days(policy.release_days)).ok())
                    .map(utc_date)
                    .filter(|_| policy.release_max_rate == 0.0);
                kept.reason = format!(
                    "failed {} of {} execution(s) ({}) on {kinds} runs in the last {} days: \
                     over {}",
                    tally.failed,
                    tally.counted(),
                    percent(tally.rate()),
                    policy.release_days,
                    percent(policy.release_max_rate)
                );
                keep.push(kept);
            }
        }

        // Owners and escalations.
        let mut missing_owner: Vec<String> = quarantine_now
            .iter()
            .chain(&next_batch)
            .filter(|candidate| candidate.owner.is_none())
            .map(|candidate| candidate.test.clone())
            .collect();
        missing_owner.sort();
        let escalations: Vec<IssueDraft> = {
            let mut drafts: Vec<IssueDraft> = quarantine_now
                .iter()
                .chain(&next_batch)
                .chain(&deferred)
                .filter(|candidate| candidate.release_blocker)
                .map(|candidate| issue_draft(candidate, &policy.release_branch))
                .collect();
            drafts.sort_by(|a, b| a.test.cmp(&b.test));
            drafts
        };

        // Lanes.
        lane_failures.sort_unstable();
        lane_failures.dedup();
        let mut lanes = Vec::new();
        let mut failures = lane_failures.as_slice();
        for (index, name) in self.agg.lanes.iter().enumerate() {
            let split_at = failures.partition_point(|&(lane, _)| lane as usize == index);
            let (mine, rest) = failures.split_at(split_at);
            failures = rest;
            let tally = lane_tally[index];
            let required = policy.required_lane(name);
            if tally.runs == 0 && required.is_none() {
                continue;
            }
            let mut failing_tests: Vec<String> = mine
                .iter()
                .map(|&(_, id)| self.agg.names.name(id as usize).to_owned())
                .collect();
            failing_tests.sort();
            failing_tests.truncate(LANE_TESTS_SHOWN);
            lanes.push(lane_report(
                policy,
                today,
                name,
                tally,
                mine.len() as u64,
                failing_tests,
            ));
        }
        for required in &policy.required_lanes {
            if !self.agg.lanes.contains(&required.lane) {
                lanes.push(lane_report(
                    policy,
                    today,
                    &required.lane,
                    LaneTally::default(),
                    0,
                    Vec::new(),
                ));
            }
        }
        lanes.sort_by(|a, b| a.lane.cmp(&b.lane));
        lanes.dedup_by(|a, b| a.lane == b.lane);

        // Stability.
        let mut planned = vec![false; n];
        for candidate in quarantine_now.iter().chain(&next_batch) {
            if let Some(id) = self.agg.names.get(&candidate.test) {
                planned[id as usize] = true;
            }
        }
        let (mut projected, mut projected_after_plan) = (1.0f64, 1.0f64);
        let mut projected_without_broken = 1.0f64;
        for (id, tally) in stability_tally.iter().enumerate() {
            if self.quarantined(id) || tally.counted() == 0 {
                continue;
            }
            let pass = 1.0 - tally.rate();
            projected *= pass;
            if !planned[id] {
                projected_after_plan *= pass;
            }
            if !is_broken[id] {
                projected_without_broken *= pass;
            }
        }
        stability_failures.retain(|&(_, id)| is_broken[id as usize]);
        stability_failures.dedup_by_key(|&mut (rank, _)| rank);
        let broken_failed_runs = stability_failures.len() as u64;
        let measured = (measured_runs > 0).then(|| measured_clean as f64 / measured_runs as f64);
        let stability = Stability {
            window_days: policy.stability_window_days,
            projected,
            projected_after_plan,
            measured,
            measured_runs,
            goal: policy.goal,
            projected_without_broken,
            measured_failed_runs: measured_runs - measured_clean,
            broken_failed_runs,
            projected_met: projected >= policy.goal,
            measured_met: measured.map(|measured| measured >= policy.goal),
        };

        broken.sort_by(|a, b| a.test.cmp(&b.test));
        for list in [
            &mut quarantine_now,
            &mut next_batch,
            &mut deferred,
            &mut not_shown_flaky,
        ] {
            list.sort_by(|a, b| a.test.cmp(&b.test));
        }
        grace_released.sort_by(|a, b| a.test.cmp(&b.test));
        release.sort_by(|a, b| a.test.cmp(&b.test));
        keep.sort_by(|a, b| a.test.cmp(&b.test));
        let mut counts = self.agg.counts.clone();
        counts.tests = n as u64;
        let explanations: Vec<Explanation> = (self.agg.watched.iter().enumerate())
            .map(|(position, &id)| {
                let id = id as usize;
                let lists = Lists {
                    broken: &broken,
                    quarantine_now: &quarantine_now,
                    next_batch: &next_batch,
                    deferred: &deferred,
                    not_shown_flaky: &not_shown_flaky,
                    grace_released: &grace_released,
                    release: &release,
                    keep: &keep,
                };
                let tallies = [now_tally[id], batch_tally[id]];
                self.explain(ExplainInput {
                    id,
                    lists,
                    tallies,
                    release: release_tally[id],
                    last_release_failure: last_release_failure[id],
                    streak: streaks.get(id).copied(),
                    flips: &flips,
                    breakage_left_out: breakage_left_out[position],
                    rows: &self.agg.watched_rows[position],
                    lanes: per_lane
                        .as_ref()
                        .map(|found| found.watched[position].as_slice()),
                    order: &order,
                    systemic_runs: &systemic_runs,
                })
            })
            .collect();
        let plan = Plan {
            now,
            preset: policy.preset,
            batch,
            broken,
            quarantine_now,
            next_batch,
            deferred,
            not_shown_flaky,
            grace_released,
            release,
            keep,
            escalations,
            missing_owner,
            unknown_quarantine_entries: self.unknown_entries,
            unknown_quarantine_closest: self.unknown_closest,
            duplicate_quarantine_entries: self.duplicate_entries,
            lanes,
            stability,
            systemic_runs,
            failing: flips.failing(&self.agg.names, &batch_tally),
            counts,
            notes: auto::notes(policy),
        };
        (plan, explanations)
    }

    /// Dense commit keys of the runs in `order`: equal (case-insensitive) commits share one;
    /// a run whose commit is unknown (empty or `unknown`) has one of its own.
    fn commit_keys(&self, order: &[u32]) -> Vec<u32> {
        let mut keys: HashMap<String, u32> = HashMap::new();
        let mut next = 0u32;
        order
            .iter()
            .map(|&slot| {
                let commit = self.agg.runs[self.agg.slots[slot as usize].row]
                    .commit
                    .trim()
                    .to_ascii_lowercase();
                let mut fresh = || {
                    next += 1;
                    next - 1
                };
                if commit.is_empty() || commit == "unknown" {
                    fresh()
                } else {
                    *keys.entry(commit).or_insert_with(fresh)
                }
            })
            .collect()
    }

    /// Same-commit flips: per commit, which tests both passed and failed in its trusted,
    /// non-systemic runs, per window; and whether a test passed on a commit its open streak
    /// failed on.
    fn flips(
        &self,
        order: &[u32],
        commit_keys: &[u32],
        kept_flags: &[u8],
        streaks: &[Streak],
    ) -> Flips {
        let n = self.agg.names.len();
        let mut flips = Flips {
            flipped: std::array::from_fn(|_| vec![0; n]),
            commits: std::array::from_fn(|_| vec![0; n]),
            in_streak: vec![false; n],
        };
        let mut ranks: Vec<u32> = (0..order.len() as u32)
            .filter(|&rank| kept_flags[rank as usize] & TRUSTED != 0)
            .collect();
        ranks.sort_unstable_by_key(|&rank| (commit_keys[rank as usize], rank));
        const ANY_PASS: u8 = 1 << 6;
        const STREAK_FAIL: u8 = 1 << 7;
        let mut bits = vec![0u8; n];
        let mut touched: Vec<u32> = Vec::new();
        for group in ranks.chunk_by(|a, b| commit_keys[*a as usize] == commit_keys[*b as usize]) {
            for &rank in group {
                let flags = kept_flags[rank as usize];
                for &packed in &self.agg.entries[order[rank as usize] as usize] {
                    let id = (packed >> 2) as usize;
                    let (passed, failed) = split(packed & 3);
                    let (passed, failed) = (passed > 0, failed > 0);
                    let mut b = 0u8;
                    for (window, flag) in [NOW, BATCH, STABILITY].into_iter().enumerate() {
                        if flags & flag != 0 {
                            b |= (u8::from(passed) | u8::from(failed) << 1) << (2 * window);
                        }
                    }
                    if passed {
                        b |= ANY_PASS;
                    }
                    if let Some(streak) = streaks.get(id)
                        && failed
                        && streak.runs > 0
                        && rank >= streak.first
                    {
                        b |= STREAK_FAIL;
                    }
                    if bits[id] == 0 && b != 0 {
                        touched.push(id as u32);
                    }
                    bits[id] |= b;
                }
            }
            for &id in &touched {
                let id = id as usize;
                let b = std::mem::take(&mut bits[id]);
                for window in 0..3 {
                    match (b >> (2 * window)) & 3 {
                        0 => {}
                        3 => {
                            flips.commits[window][id] += 1;
                            flips.flipped[window][id] += 1;
                        }
                        _ => flips.commits[window][id] += 1,
                    }
                }
                flips.in_streak[id] |= b & (ANY_PASS | STREAK_FAIL) == ANY_PASS | STREAK_FAIL;
            }
            touched.clear();
        }
        flips
    }

    /// The entry of [`Plan::broken`] for a test whose open streak meets the rule.
    fn broken(&self, id: usize, streak: &Streak, order: &[u32]) -> Broken {
        let run_at = |rank: u32| &self.agg.runs[self.agg.slots[order[rank as usize] as usize].row];
        let first = run_at(streak.first);
        let latest = run_at(streak.last);
        let last_pass = streak.last_pass.map(run_at);
        let info = self.test_info(id);
        let culprit = match last_pass {
            Some(pass) => format!(
                "broke between {} and {}: last passed at {} ({}, lane {})",
                pass.commit, first.commit, pass.commit, pass.started_at, pass.lane
            ),
            None => format!(
                "it did not pass in the last {} days",
                self.agg.policy.horizon_days()
            ),
        };
        Broken {
            test: info.name.clone(),
            owner: owner_of(&info, self.input.owners),
            since_commit: first.commit.clone(),
            since: first.started_at,
            since_lane: first.lane.clone(),
            last_pass_commit: last_pass.map(|run| run.commit.clone()),
            last_pass: last_pass.map(|run| run.started_at),
            failed_runs: u64::from(streak.runs),
            latest_failure_run_id: latest.id,
            latest_failure_message: None,
            reason: format!(
                "failed every one of its {} trusted run(s) since commit {} ({}, lane {}), over \
                 more than one commit and never passing on one of them; {culprit}",
                streak.runs, first.commit, first.started_at, first.lane
            ),
        }
    }

    fn candidate(
        &self,
        id: usize,
        rule: Rule,
        tally: Tally,
        score: f64,
        streak: u64,
        (flipped_commits, commits): (u32, u32),
    ) -> Candidate {
        let policy = self.agg.policy;
        let info = self.test_info(id);
        let (threshold, window_days) = match rule {
            Rule::Now => (policy.now_rate, policy.now_window_days),
            Rule::Batch | Rule::PerLane => (policy.batch_rate, policy.batch_window_days),
        };
        let statistic = match policy.statistics {
            Statistics::Plain => String::new(),
            Statistics::Wilson => format!(
                ", Wilson lower bound {} at z = {}",
                percent(score),
                policy.wilson_z
            ),
        };
        let reason = format!(
            "failed {} of {} execution(s) ({}{statistic}) in {} trusted run(s) over the last {} \
             days: over {}; flipped on {flipped_commits} of {commits} commit(s)",
            tally.failed,
            tally.counted(),
            percent(tally.rate()),
            tally.runs,
            window_days,
            percent(threshold)
        );
        Candidate {
            test: info.name.clone(),
            owner: owner_of(&info, self.input.owners),
            rule,
            rate: tally.rate(),
            score,
            threshold,
            failed: tally.failed,
            passed: tally.passed,
            runs: tally.runs,
            window_days,
            flipped_commits: u64::from(flipped_commits),
            commits: u64::from(commits),
            batch_date: None,
            release_blocker: info.is_release_blocker(),
            fix: self.fix[id].map(|fix| fix_progress(fix, streak, policy.grace_passes)),
            lanes: Vec::new(),
            reason,
        }
    }

    /// A batch candidate leaves the batch when its fix passed `grace_passes` times in a row.
    fn grace_release(&self, candidate: &Candidate, batch: BatchInfo) -> Option<GraceRelease> {
        let fix = candidate.fix.as_ref()?;
        if fix.consecutive_passes < u64::from(fix.needed) {
            return None;
        }
        Some(GraceRelease {
            test: candidate.test.clone(),
            owner: candidate.owner.clone(),
            reason: format!(
                "{}; but its fix {} passed {} consecutive executions, so it leaves the batch of \
                 {}",
                candidate.reason, fix.commit, fix.consecutive_passes, batch.date
            ),
            fix: fix.clone(),
            batch_date: batch.date,
            grace_ends: batch.grace_ends,
            was_quarantined: false,
        })
    }
}

/// The score of a quarantine rule when `tally` meets it: some execution, at least `min_runs`
/// runs, and the score (rate or Wilson bound) strictly over `threshold`.
fn meets(policy: &Policy, tally: &Tally, threshold: f64) -> Option<f64> {
    if tally.counted() == 0 || tally.runs < u64::from(policy.min_runs) {
        return None;
    }
    policy
        .score(tally.failed, tally.counted())
        .filter(|score| *score > threshold)
}

/// The plan's lists, for [`Finisher::explain`] to find its test in.
struct Lists<'p> {
    broken: &'p [Broken],
    quarantine_now: &'p [Candidate],
    next_batch: &'p [Candidate],
    deferred: &'p [Candidate],
    not_shown_flaky: &'p [Candidate],
    grace_released: &'p [GraceRelease],
    release: &'p [Release],
    keep: &'p [Keep],
}

/// What [`Finisher::explain`] reads of the finished fold for its test.
struct ExplainInput<'p> {
    id: usize,
    lists: Lists<'p>,
    /// The now and batch windows' tallies.
    tallies: [Tally; 2],
    release: Tally,
    last_release_failure: Option<Timestamp>,
    streak: Option<Streak>,
    flips: &'p Flips,
    breakage_left_out: [u64; 3],
    /// Every row of the test (run slot, outcome).
    rows: &'p [(u32, Outcome)],
    order: &'p [u32],
    systemic_runs: &'p [SystemicRun],
    /// With the per-lane rule: its test's counted lanes with a failure, each judged.
    lanes: Option<&'p [auto::LaneVerdict]>,
}

fn fix_progress(fix: &Fix, streak: u64, needed: u32) -> FixProgress {
    FixProgress {
        commit: fix.commit.clone(),
        at: fix.at,
        consecutive_passes: streak,
        needed,
    }
}

fn lane_report(
    policy: &Policy,
    today: jiff::civil::Date,
    lane: &str,
    tally: LaneTally,
    distinct_failing_tests: u64,
    failing_tests: Vec<String>,
) -> LaneReport {
    let required = policy.required_lane(lane);
    let rate = match tally.runs {
        0 => 0.0,
        runs => tally.failed_runs as f64 / runs as f64,
    };
    let optional_candidate = required.is_some()
        && rate > policy.lane_rate
        && distinct_failing_tests > u64::from(policy.lane_distinct_tests);
    LaneReport {
        lane: lane.to_owned(),
        required: required.is_some(),
        team: required.map_or_else(|| team_from_lane(lane), |required| required.team()),
        runs: tally.runs,
        failed_runs: tally.failed_runs,
        rate,
        distinct_failing_tests,
        failing_tests,
        optional_candidate,
        deadline: optional_candidate.then(|| add_days(today, i64::from(policy.lane_fix_days))),
    }
}

fn issue_draft(candidate: &Candidate, branch: &str) -> IssueDraft {
    let owner_line = match &candidate.owner {
        Some(team) => format!(
            "Owner: {team}. Assign this issue to an individual of {team} who will bring the \
             blocker to completion quickly."
        ),
        None => "Owner: none. Tag the test `[sig-...]` or add it to [owners] in harness.toml, \
                 then assign this issue to an individual of that team."
            .to_owned(),
    };
    IssueDraft {
        test: candidate.test.clone(),
        owner: candidate.owner.clone(),
        title: format!("Release blocker: flaky test {}", candidate.test),
        body: format!(
            "The test `{}` is tagged `[release-blocker]` and meets the quarantine conditions: \
             {}.\n\n{owner_line}\n\n/release-blocker {branch}\n",
            candidate.test, candidate.reason
        ),
    }
}

fn kind_names(kinds: &[RunKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    names.join("/")
}

/// A test known to an [`Aggregator`] (see [`Aggregator::test_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestKey(u32);

/// Test names interned to dense ids.
#[derive(Default)]
struct Interner {
    map: FxMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The id of a name, adding it if new; `None` past [`MAX_TESTS`] names.
    fn intern(&mut self, name: &str) -> Option<u32> {
        if let Some(&id) = self.map.get(name) {
            return Some(id);
        }
        if self.names.len() >= MAX_TESTS {
            return None;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.map.insert(name.into(), id);
        Some(id)
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.map.get(name).copied()
    }

    fn name(&self, id: usize) -> &str {
        &self.names[id]
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The Fx hash (as in rustc): fast on short keys; test names and run ids are not adversarial.
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_i64(&mut self, value: i64) {
        self.add(value as u64);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}
