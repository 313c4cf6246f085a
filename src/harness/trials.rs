//! The trials the harness hands to libtest-mimic: `canary::<name>` runs the recipe CI (with
//! retries, and FLAKY when a retry passes), `teeth::<name>` proves the checks can fail.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use super::{CANARY, TEETH};
use crate::canary::Canary;
use crate::ci::interrupt;
use crate::config::{Config, FlakyPolicy};
use crate::execute::{CanaryRun, run_canary};
use crate::history::recorder::Recorder;
use crate::teeth::check_teeth;

/// A trial's full name, `<kind>::<canary>`.
pub fn name(kind: &str, canary: &str) -> String {
    format!("{kind}::{canary}")
}

/// The teeth trial of a canary. With `show` (`--show-output`), a passing trial prints its
/// proof too: every check and the mutations that made it fail.
pub fn teeth(canary: Arc<Canary>, config: Arc<Config>, show: bool) -> Trial {
    Trial::test(name(TEETH, canary.name()), move || {
        let valid = canary.validate().map_err(|error| error.to_string())?;
        let report = check_teeth(&valid, &config.run.artifacts);
        if report.passed() {
            if show {
                print!("{}", report.render());
            }
            Ok(())
        } else {
            Err(report.render().into())
        }
    })
}

/// The trial that runs a canary, retrying up to `--retries`, else the canary's own `retries`,
/// else `[run] retries` times.
pub fn canary(
    canary: Arc<Canary>,
    config: Arc<Config>,
    retries_flag: Option<u32>,
    recorder: Option<Arc<Recorder>>,
) -> Trial {
    let trial = name(CANARY, canary.name());
    Trial::test(trial.clone(), move || {
        let valid = canary.validate().map_err(|error| error.to_string())?;
        let retries = retries_flag
            .or(canary.retries_setting())
            .unwrap_or(config.run.retries);
        let mut on_slow = |elapsed: Duration, artifacts: &Path| {
            eprintln!(
                "    SLOW [>{:.0}s] {trial} still running (artifacts: {})",
                elapsed.as_secs_f64(),
                artifacts.display()
            );
        };
        let mut attempts: Vec<CanaryRun> = Vec::new();
        for attempt in 1..=retries + 1 {
            let run = run_canary(&valid, &config, attempt, &mut on_slow);
            let passed = run.passed;
            let last = passed || attempt == retries + 1 || interrupt::received().is_some();
            if !last {
                eprintln!(
                    "    RETRY {trial}: TRY {attempt} FAIL ({}), retrying ({attempt} of {retries} retries; artifacts: {})",
                    headline(&run),
                    run.artifacts.display()
                );
            }
            attempts.push(run);
            if last {
                break;
            }
        }
        let recorded = recorder.as_ref().map_or(Ok(()), |recorder| {
            recorder.record_canary(&attempts).map_err(|error| {
                format!(
                    "HISTORY: the outcome could not be recorded in {}: {error}\n\
                     (set [history] record = false in harness.toml to run without a history)",
                    recorder.path().display()
                )
            })
        });
        let verdict = match attempts.split_last() {
            Some((run, failures)) if run.passed => flaky_or_pass(
                &trial,
                failures,
                run,
                attempts.len() as u32,
                config.run.flaky,
            ),
            _ => Err(all_failed(&attempts)),
        };
        match (verdict, recorded) {
            (verdict, Ok(())) => verdict,
            (Ok(()), Err(problem)) => Err(problem.into()),
            (Err(failed), Err(problem)) => {
                Err(format!("{}\n{problem}", failed.message().unwrap_or_default()).into())
            }
        }
    })
}

fn headline(run: &CanaryRun) -> &str {
    run.report.lines().next().unwrap_or("failed")
}

/// A pass, or for a pass after failed tries, FLAKY: shown, then counted as `[run] flaky` says.
fn flaky_or_pass(
    trial: &str,
    failures: &[CanaryRun],
    run: &CanaryRun,
    attempt: u32,
    policy: FlakyPolicy,
) -> Result<(), Failed> {
    if failures.is_empty() {
        return Ok(());
    }
    let tries: Vec<String> = failures
        .iter()
        .enumerate()
        .map(|(index, failed)| format!("TRY {} FAIL ({})", index + 1, headline(failed)))
        .chain(std::iter::once(format!("TRY {attempt} PASS")))
        .collect();
    let counted = match policy {
        FlakyPolicy::Pass => "counted as a pass ([run] flaky = \"pass\")",
        FlakyPolicy::Fail => "counted as a failure ([run] flaky = \"fail\")",
    };
    eprintln!(
        "    FLAKY {trial}: {}; {counted}; artifacts: {}",
        tries.join(", "),
        run.artifacts.display()
    );
    match policy {
        FlakyPolicy::Pass => Ok(()),
        FlakyPolicy::Fail => {
            let mut message = format!(
                "FLAKY: {}; [run] flaky = \"fail\" counts a canary that passes only on a retry as failed\n",
                tries.join(", ")
            );
            message.push_str(&failures[0].report);
            Err(message.into())
        }
    }
}

/// The report of a canary that failed every try: the last report, then every try.
fn all_failed(failures: &[CanaryRun]) -> Failed {
    let Some(last) = failures.last() else {
        return "the canary did not run".into();
    };
    let mut message = last.report.clone();
    if failures.len() > 1 {
        writeln!(message, "  tries:").ok();
        for (index, failed) in failures.iter().enumerate() {
            writeln!(
                message,
                "    TRY {} FAIL: {} ({})",
                index + 1,
                headline(failed),
                failed.artifacts.display()
            )
            .ok();
        }
    }
    message.into()
}
