//! The trials of a run, as jobs that return a [`TrialOutcome`]: `canary::<name>` runs the
//! recipe CI (with retries, and FLAKY when a retry passes), `teeth::<name>` proves the checks
//! can fail. The same jobs feed libtest-mimic's runner, the JSON event stream and the JUnit
//! report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::nextest::Nextest;
use super::recorder::Recorder;
use super::{CANARY, TEETH};
use crate::canary::Canary;
use crate::config::{Config, FlakyPolicy};
use crate::execute::interrupt;
use crate::execute::{CanaryRun, run_canary};
use crate::teeth::check_teeth;

/// A trial's full name, `<kind>::<canary>`.
pub fn name(kind: &str, canary: &str) -> String {
    format!("{kind}::{canary}")
}

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialStatus {
    /// Passed (for a canary: possibly FLAKY, counted as a pass).
    Passed,
    /// Failed; the message says why.
    Failed,
    /// Not run, for the reason in the message (an optional recipe CI that is not installed).
    Ignored,
}

/// One try of a canary, as the reports show it.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The first line of its report.
    pub headline: String,
    /// Its whole report.
    pub report: String,
    /// Its artifact folder.
    pub artifacts: PathBuf,
    /// How long it took.
    pub duration: Duration,
}

/// What a trial found.
#[derive(Debug, Clone)]
pub struct TrialOutcome {
    /// The trial's full name.
    pub name: String,
    /// Its kind (`canary`, `teeth`).
    pub kind: &'static str,
    /// How it ended.
    pub status: TrialStatus,
    /// Why it failed, or for a passing trial what it wants shown (FLAKY, `--show-output`).
    pub message: Option<String>,
    /// How long it took.
    pub duration: Duration,
    /// For a canary, every try in order.
    pub attempts: Vec<Attempt>,
}

impl TrialOutcome {
    /// The libtest-mimic form.
    pub fn into_result(self) -> Result<libtest_mimic::Completion, libtest_mimic::Failed> {
        match self.status {
            TrialStatus::Passed => {
                if let Some(message) = self.message.filter(|_| self.kind == TEETH) {
                    print!("{message}");
                }
                Ok(libtest_mimic::Completion::Completed)
            }
            TrialStatus::Ignored => Ok(libtest_mimic::Completion::ignored_with(
                self.message.unwrap_or_default(),
            )),
            TrialStatus::Failed => Err(self.message.unwrap_or_default().into()),
        }
    }
}

/// A trial to run.
pub struct Job {
    /// Its full name.
    pub name: String,
    /// For a quarantined canary, the marker shown (`QUARANTINE <owner> since <date>`): the
    /// trial is ignored unless ignored trials are asked for.
    pub quarantine: Option<String>,
    /// Whether the trial is one of the ignored ones (quarantined, or its optional CI is not
    /// installed), as `--list --ignored` lists them.
    pub ignored: bool,
    /// What it does.
    pub run: Box<dyn FnOnce() -> TrialOutcome + Send>,
}

/// The teeth trial of a canary. With `show` (`--show-output`), a passing trial shows its
/// proof too: every check and the mutations that made it fail.
pub fn teeth(canary: Arc<Canary>, config: Arc<Config>, show: bool) -> Job {
    let trial = name(TEETH, canary.name());
    Job {
        name: trial.clone(),
        quarantine: None,
        ignored: false,
        run: Box::new(move || {
            let start = Instant::now();
            let (status, message) = match canary.validate() {
                Err(error) => (TrialStatus::Failed, Some(error.to_string())),
                Ok(valid) => {
                    let report = check_teeth(&valid, &config.run.artifacts);
                    match report.passed() {
                        true => (TrialStatus::Passed, show.then(|| report.render())),
                        false => (TrialStatus::Failed, Some(report.render())),
                    }
                }
            };
            TrialOutcome {
                name: trial,
                kind: TEETH,
                status,
                message,
                duration: start.elapsed(),
                attempts: Vec::new(),
            }
        }),
    }
}

/// How a canary's tries are counted and numbered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tries {
    /// `--retries N`, which overrides the canary's `retries` and `[run] retries`.
    pub retries_flag: Option<u32>,
    /// The nextest attempt this process is, when nextest runs it.
    pub nextest: Option<Nextest>,
    /// Whether ignored trials were asked for (`--ignored`).
    pub ignored_asked: bool,
}

impl Tries {
    /// The first attempt's number, and how many times to retry within this process. Under
    /// nextest, attempts are numbered as nextest counts them (`NEXTEST_ATTEMPT`), and when
    /// nextest retries failures itself (its `--retries`), the harness does not retry as well.
    fn plan(&self, configured: u32) -> (u32, u32) {
        match self.nextest {
            Some(nextest) if nextest.retries() => (nextest.attempt, 0),
            Some(nextest) => (nextest.attempt, configured),
            None => (1, configured),
        }
    }

    /// Why a canary that cannot run here fails instead of being skipped, if it does: under
    /// nextest (which cannot skip a test that is running) or with `COALMINE_REQUIRE_ALL=1`.
    fn why_not_skipped(&self) -> Option<String> {
        if crate::execute::availability::require_all() {
            return Some(format!(
                "{}=1: a canary that cannot run here is a failure, not a skip",
                crate::execute::availability::REQUIRE_ALL_ENV
            ));
        }
        self.nextest?;
        Some(match self.ignored_asked {
            true => "under nextest this is a failure, not a pass: nextest cannot skip a test once it \
                     runs, so the harness lists this canary as ignored (`cargo nextest run` skips it), \
                     and it ran only because ignored tests were asked for (--run-ignored)"
                .to_owned(),
            false => "under nextest this is a failure, not a pass: nextest cannot skip a test once it \
                      runs; the harness lists this canary as ignored while its CI is missing, but nextest \
                      ran it as a test that is not (was the program removed, or PATH changed, since \
                      nextest listed the tests?)"
                .to_owned(),
        })
    }
}

/// The trial that runs a canary, retrying up to `--retries`, else the canary's own `retries`,
/// else `[run] retries` times (under nextest with retries of its own: not at all), and
/// recording every try in the history.
pub fn canary(
    canary: Arc<Canary>,
    config: Arc<Config>,
    tries: Tries,
    recorder: Option<Arc<Recorder>>,
) -> Job {
    let trial = name(CANARY, canary.name());
    Job {
        name: trial.clone(),
        quarantine: None,
        ignored: false,
        run: Box::new(move || {
            let start = Instant::now();
            let outcome = |status, message: String, attempts: Vec<Attempt>| TrialOutcome {
                name: trial.clone(),
                kind: CANARY,
                status,
                message: Some(message).filter(|text| !text.is_empty()),
                duration: start.elapsed(),
                attempts,
            };
            let valid = match canary.validate() {
                Ok(valid) => valid,
                Err(error) => return outcome(TrialStatus::Failed, error.to_string(), Vec::new()),
            };
            if let Some(reason) = crate::execute::unavailable(&valid, &config) {
                return match tries.why_not_skipped() {
                    Some(why) => {
                        outcome(TrialStatus::Failed, format!("{reason}\n{why}"), Vec::new())
                    }
                    None => outcome(TrialStatus::Ignored, reason, Vec::new()),
                };
            }
            let configured = tries
                .retries_flag
                .or(canary.retries_setting())
                .unwrap_or(config.run.retries);
            let (first, retries) = tries.plan(configured);
            let mut on_slow = |elapsed: Duration, artifacts: &Path| {
                eprintln!(
                    "    SLOW [>{:.0}s] {trial} still running (artifacts: {})",
                    elapsed.as_secs_f64(),
                    artifacts.display()
                );
            };
            let mut runs: Vec<CanaryRun> = Vec::new();
            for attempt in first..=first + retries {
                let run = run_canary(&valid, &config, attempt, &mut on_slow);
                // What the run reports without failing (an allowed secret leak): shown now,
                // since a passing trial shows nothing else.
                for warning in &run.record.warnings {
                    eprintln!("    WARNING {trial}: {warning}");
                }
                let last =
                    run.passed || attempt == first + retries || interrupt::received().is_some();
                if !last {
                    eprintln!(
                        "    RETRY {trial}: TRY {attempt} FAIL ({}), retrying ({} of {retries} retries; artifacts: {})",
                        headline(&run),
                        attempt - first + 1,
                        run.artifacts.display()
                    );
                }
                runs.push(run);
                if last {
                    break;
                }
            }
            let recorded = recorder.as_ref().map_or(Ok(()), |recorder| {
                recorder.record_canary(&runs).map_err(|error| {
                    format!(
                        "HISTORY: the outcome could not be recorded in {}: {error}\n\
                         (set [history] record = false in harness.toml to run without a history)",
                        recorder.path().display()
                    )
                })
            });
            let (status, mut message) = judge(&trial, &runs, config.run.flaky, tries.nextest);
            let status = match recorded {
                Ok(()) => status,
                Err(problem) => {
                    message = if message.is_empty() {
                        problem
                    } else {
                        format!("{message}\n{problem}")
                    };
                    TrialStatus::Failed
                }
            };
            let attempts = runs
                .iter()
                .map(|run| Attempt {
                    headline: headline(run).to_owned(),
                    report: run.report.clone(),
                    artifacts: run.artifacts.clone(),
                    duration: Duration::from_secs_f64(
                        run.record.duration_secs.unwrap_or(0.0).max(0.0),
                    ),
                })
                .collect();
            outcome(status, message, attempts)
        }),
    }
}

fn headline(run: &CanaryRun) -> &str {
    run.report.lines().next().unwrap_or("failed")
}

/// The trial's status and message from its tries: a pass, FLAKY (shown, then counted as
/// `[run] flaky` says), or a failure listing every try. Tries are numbered by their attempt.
fn judge(
    trial: &str,
    runs: &[CanaryRun],
    policy: FlakyPolicy,
    nextest: Option<Nextest>,
) -> (TrialStatus, String) {
    let Some((last, failures)) = runs.split_last() else {
        return (TrialStatus::Failed, "the canary did not run".to_owned());
    };
    if !last.passed {
        let mut message = last.report.clone();
        if runs.len() > 1 {
            writeln!(message, "  tries:").ok();
            for failed in runs {
                writeln!(
                    message,
                    "    TRY {} FAIL: {} ({})",
                    failed.record.attempt,
                    headline(failed),
                    failed.artifacts.display()
                )
                .ok();
            }
        }
        return (TrialStatus::Failed, message);
    }
    if failures.is_empty() {
        // A pass on a retry nextest made: nextest shows it FLAKY and counts it as its
        // `flaky-result` says; `[run] flaky = "fail"` still fails it, as it would here.
        return match nextest.filter(|nextest| nextest.attempt > 1) {
            Some(nextest) if policy == FlakyPolicy::Fail => (
                TrialStatus::Failed,
                format!(
                    "FLAKY: nextest attempt {} of {} passed after an earlier attempt failed; \
                     [run] flaky = \"fail\" counts a canary that passes only on a retry as failed",
                    nextest.attempt, nextest.total_attempts
                ),
            ),
            _ => (TrialStatus::Passed, String::new()),
        };
    }
    let tries: Vec<String> = failures
        .iter()
        .map(|failed| format!("TRY {} FAIL ({})", failed.record.attempt, headline(failed)))
        .chain(std::iter::once(format!("TRY {} PASS", last.record.attempt)))
        .collect();
    let counted = match policy {
        FlakyPolicy::Pass => "counted as a pass ([run] flaky = \"pass\")",
        FlakyPolicy::Fail => "counted as a failure ([run] flaky = \"fail\")",
    };
    eprintln!(
        "    FLAKY {trial}: {}; {counted}; artifacts: {}",
        tries.join(", "),
        last.artifacts.display()
    );
    let flaky = format!("FLAKY: {}", tries.join(", "));
    match policy {
        FlakyPolicy::Pass => (TrialStatus::Passed, flaky),
        FlakyPolicy::Fail => (
            TrialStatus::Failed,
            format!(
                "{flaky}; [run] flaky = \"fail\" counts a canary that passes only on a retry as failed\n{}",
                failures[0].report
            ),
        ),
    }
}
