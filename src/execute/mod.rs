//! Running one canary end to end: give the run an id and an artifact folder, expand the CI's
//! argv, spawn it, read its results, judge the verdict and every check, write `canary.json`.
//!
//! Anything unexpected (the CI cannot start, times out, is killed, writes no or malformed
//! results, or its results contradict its exit code) makes the canary fail with a message that
//! names the cause: never a pass.
//!
//! The path of one run, in this folder:
//! - [`artifacts`]: the artifact folder's layout (run ids, log and record names, the
//!   last-pass pointer), and [`retention`]: which old run folders are removed;
//! - [`availability`]: whether an optional recipe CI is installed (else its canaries are
//!   skipped);
//! - [`process`]: spawning the CI without a shell in its own process group ([`pgroup`]), with
//!   a timeout and a grace period, and [`leftovers`]: what it left running when it exited; [`interrupt`]: Ctrl-C and SIGTERM while canaries run;
//! - `secrets` (which values are secret) and [`redact`] (removing them from every file);
//! - [`record`]: `canary.json`; `report`: the report a failing canary prints, with log tails
//!   read by [`tail`].

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::canary::{Expect, ValidCanary};
use crate::check::{CiRun, Exit, signal_name, verdict};
use crate::config::{CiConfig, Config, Template, Vars};
use crate::execute::record::RunRecord;
use crate::execute::redact::Redactor;
use crate::results::{ResultsError, ResultsErrorKind, ResultsKey, RunResults};
use crate::suggest::shown;
use artifacts::{RECORD_FILE, STDERR_LOG, STDOUT_LOG, new_run_id};
use process::{Finished, Spawn};

pub use availability::unavailable;

pub mod artifacts;
pub mod availability;
pub mod interrupt;
pub mod leftovers;
pub mod pgroup;
pub mod process;
pub mod record;
pub mod redact;
mod report;
pub mod retention;
mod secrets;
pub mod tail;

/// The outcome of running one canary.
#[derive(Debug)]
pub struct CanaryRun {
    /// Whether the canary passed: the expected verdict, every check, no problem.
    pub passed: bool,
    /// The run's artifact folder.
    pub artifacts: PathBuf,
    /// What was recorded in `canary.json`.
    pub record: RunRecord,
    /// The report shown when the canary fails (checks, causes, log tails).
    pub report: String,
}

/// Runs a validated canary with the given config. `on_slow` is told each time the run has been
/// going for another `[ci] slow` period.
pub fn run_canary(
    canary: &ValidCanary<'_>,
    config: &Config,
    attempt: u32,
    on_slow: &mut dyn FnMut(Duration, &Path),
) -> CanaryRun {
    let name = canary.canary().name();
    let run_id = new_run_id(name);
    let artifacts = config.run.artifacts.join(&run_id);
    let mut record = RunRecord::new(canary, &run_id, &artifacts);
    record.attempt = attempt;

    // The recipe CI it runs (`[profiles.<name>]` for `ci: "<name>"`, else `[ci]`), unless it
    // must not start: then no artifact folder, nothing to keep.
    let ci = match interrupt::received() {
        Some(signal) => Err(format!(
            "INTERRUPTED: the harness received {} before this canary started; it did not run",
            signal_name(signal)
        )),
        None => config.ci_for(canary.canary().ci_profile()),
    };
    let ci = match ci {
        Ok(ci) => ci,
        Err(problem) => {
            record.problems.push(problem);
            let report = report::render(&record, &artifacts);
            return CanaryRun {
                passed: false,
                artifacts,
                record,
                report,
            };
        }
    };
    let artifacts_text = artifacts.display().to_string();
    let vars = Vars {
        recipe: canary.recipe(),
        rev: canary.rev(),
        canary: name,
        run_id: &run_id,
        artifacts: &artifacts_text,
    };
    let redactor = match secrets::redactor(config, ci, canary, &vars) {
        Ok(redactor) => redactor,
        Err(problem) => {
            record.problems.push(problem);
            return finish(record, artifacts, None, &Redactor::none());
        }
    };
    if let Err(error) = std::fs::create_dir_all(&artifacts) {
        record.problems.push(format!(
            "cannot create the artifact folder {}: {error}; check `[run] artifacts` in {}",
            artifacts.display(),
            config.path.display()
        ));
        return finish(record, artifacts, None, &redactor);
    }
    // Held until this function returns, after `canary.json` is written: a run in progress.
    let _in_progress = match artifacts::lock_run(&artifacts) {
        Ok(lock) => Some(lock),
        Err(error) => {
            eprintln!(
                "warning: cannot lock the artifact folder {} ({error}); retention may remove it \
                 while the run is in progress",
                artifacts.display()
            );
            None
        }
    };
    let table = Config::ci_table(canary.canary().ci_profile());
    let prepared = match prepare(canary, config, ci, &table, &vars, &artifacts) {
        Ok(prepared) => prepared,
        Err(problem) => {
            record.problems.push(problem);
            return finish(record, artifacts, None, &redactor);
        }
    };
    record.argv = prepared.argv.clone();
    record.program = Some(prepared.spawn.program.display().to_string());
    record.workdir = Some(prepared.spawn.workdir.display().to_string());
    record.env = prepared
        .spawn
        .env
        .iter()
        .map(|(key, _)| key.clone())
        .collect();
    record.results_path = Some(prepared.results_path.display().to_string());

    let mut slow = |elapsed: Duration| on_slow(elapsed, &artifacts);
    // What the results path holds when the CI exits, before the harness ends what it left
    // running: results that appear or change after that were not written by the CI itself.
    let mut at_exit = None;
    let mut exited = || at_exit = Some(results_state(&prepared.results_path));
    let finished = match process::run(prepared.spawn, &mut slow, &mut exited) {
        Ok(finished) => finished,
        Err(error) => {
            record.problems.push(format!(
                "cannot start the recipe CI {}: {error}",
                prepared.argv.first().map_or("", String::as_str)
            ));
            return finish(record, artifacts, None, &redactor);
        }
    };
    record.set_finished(&finished);
    let late =
        at_exit.and_then(|at_exit| late_results(&at_exit, &results_state(&prepared.results_path)));
    // Secrets leave the artifact folder before anything in it is read, so that no result,
    // message or report can carry them. A folder that cannot be cleaned fails the canary.
    if let Err(error) = redactor.redact_tree(&artifacts) {
        record.problems.push(format!(
            "cannot redact secrets in {}: {error}; the folder may still hold secret values",
            artifacts.display()
        ));
    }

    // The cause of whatever is wrong with results written late (malformed: half written).
    record.problems.extend(late);
    let key = ResultsKey {
        table: &table,
        config: &config.path,
    };
    let results = match read_results(ci, &prepared.results_path) {
        Ok(results) => Some(results),
        Err(error) => {
            let mut explained = error.explain(key);
            if matches!(
                error.kind,
                ResultsErrorKind::Missing | ResultsErrorKind::NoMatch { .. }
            ) && !finished.leftovers.is_empty()
            {
                explained.push_str(&format!(
                    "; the recipe CI left {} process(es) running when it exited, which the harness ended: \
                     if one of them was to write the results, the CI exited before its results were written",
                    finished.leftovers.len()
                ));
            }
            record.results_error = Some(explained.clone());
            // The process-level cause (timeout, signal) is the more useful headline.
            if !finished.timed_out && !matches!(finished.exit, Exit::Signal(_)) {
                record.problems.push(explained);
            }
            None
        }
    };
    judge(canary, ci, &finished, results.as_ref(), &mut record);
    let run = CiRun {
        exit: finished.exit,
        results: results.as_ref(),
        stdout_log: &artifacts.join(STDOUT_LOG),
        stderr_log: &artifacts.join(STDERR_LOG),
        artifacts: &artifacts,
    };
    record.checks = canary
        .canary()
        .declared_checks()
        .iter()
        .map(|check| check.evaluate(&run))
        .collect();
    finish(record, artifacts, results, &redactor)
}

/// Whether a results path is a glob (`*`, `?`, `[...]`) rather than one file.
fn is_glob(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

/// The files a glob matches, sorted, and how many folders it matches besides.
fn glob_files(pattern: &Path) -> Result<(Vec<PathBuf>, usize), glob::PatternError> {
    let (mut files, folders): (Vec<PathBuf>, Vec<PathBuf>) =
        glob::glob(&pattern.to_string_lossy())?
            .flatten()
            .partition(|found| found.is_file());
    files.sort();
    Ok((files, folders.len()))
}

/// Reads the results: one file, or every file matching a glob (`*`, `?`, `[...]`), merged.
/// A file the glob matches more than once (through a symlink, or as hard links) is read once:
/// read twice, each of its tests would count twice.
fn read_results(ci: &CiConfig, path: &Path) -> Result<RunResults, ResultsError> {
    if !is_glob(path) {
        return ci.format.read_all(&[path.to_owned()], &ci.stages);
    }
    let error = |kind| ResultsError {
        path: path.to_owned(),
        format: ci.format,
        kind,
    };
    let (mut paths, folders) =
        glob_files(path).map_err(|bad| error(ResultsErrorKind::Pattern(bad.msg.to_owned())))?;
    distinct_files(&mut paths);
    if paths.is_empty() {
        return Err(error(ResultsErrorKind::NoMatch { folders }));
    }
    ci.format.read_all(&paths, &ci.stages)
}

/// Keeps the first of the paths that name one file: the same canonical path (through a
/// symlink) or the same device and inode (a hard link). A path that cannot be resolved is kept,
/// so that reading it reports why.
fn distinct_files(paths: &mut Vec<PathBuf>) {
    use std::os::unix::fs::MetadataExt;
    let mut canonical_seen: Vec<PathBuf> = Vec::with_capacity(paths.len());
    let mut inodes_seen: Vec<(u64, u64)> = Vec::with_capacity(paths.len());
    paths.retain(|path| {
        let canonical = std::fs::canonicalize(path).ok();
        let inode = std::fs::metadata(path)
            .ok()
            .map(|metadata| (metadata.dev(), metadata.ino()));
        let again = canonical
            .as_ref()
            .is_some_and(|canonical| canonical_seen.contains(canonical))
            || inode.is_some_and(|inode| inodes_seen.contains(&inode));
        canonical_seen.extend(canonical);
        inodes_seen.extend(inode);
        !again
    });
}

/// Each results file's size and modification time, as the results path (a file or a glob)
/// names them now.
type ResultsState = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

fn results_state(path: &Path) -> ResultsState {
    let paths = match is_glob(path) {
        true => glob_files(path).map(|(files, _)| files).unwrap_or_default(),
        false => vec![path.to_owned()],
    };
    paths
        .into_iter()
        .filter_map(|path| {
            let metadata = std::fs::metadata(&path)
                .ok()
                .filter(|found| found.is_file())?;
            Some((path, (metadata.len(), metadata.modified().ok())))
        })
        .collect()
}

/// The LATE RESULTS problem, when results files appeared or changed between the CI's exit and
/// the end of what it left running: a process the CI left behind wrote them.
fn late_results(at_exit: &ResultsState, after: &ResultsState) -> Option<String> {
    let late: Vec<String> = after
        .iter()
        .filter_map(|(path, state)| match at_exit.get(path) {
            None => Some(format!(
                "{} did not exist when the recipe CI exited",
                path.display()
            )),
            Some(before) if before != state => Some(format!(
                "{} changed after the recipe CI exited",
                path.display()
            )),
            Some(_) => None,
        })
        .collect();
    if late.is_empty() {
        return None;
    }
    let (files, them) = match late.len() {
        1 => ("file", "it"),
        _ => ("files", "them"),
    };
    Some(format!(
        "LATE RESULTS: the results {files} {}: a process the CI left running (a background child) wrote \
         {them} afterwards. A recipe CI must finish writing its results before it exits: results written \
         later are not its verdict",
        late.join(", ")
    ))
}

struct Prepared {
    argv: Vec<String>,
    spawn: Spawn,
    results_path: PathBuf,
}

/// Expands the templates, resolves the program and opens the log files. `table` names the
/// CI's table in hints (`[ci]`, `[profiles.<name>]`).
fn prepare(
    canary: &ValidCanary<'_>,
    config: &Config,
    ci: &CiConfig,
    table: &str,
    vars: &Vars<'_>,
    artifacts: &Path,
) -> Result<Prepared, String> {
    let argv: Vec<String> = ci.command.iter().map(|arg| arg.expand(vars)).collect();
    let workdir = config.root().join(ci.workdir.expand(vars));
    if !workdir.is_dir() {
        return Err(format!(
            "the recipe CI's working directory {} does not exist; check `{table} workdir` in {}",
            workdir.display(),
            config.path.display()
        ));
    }
    let mut env: Vec<(String, String)> = ci
        .env
        .iter()
        .map(|(key, value)| (key.clone(), value.expand(vars)))
        .collect();
    for (key, value) in canary.canary().env_vars() {
        let value = Template::parse(value)
            .map_err(|error| {
                format!(
                    "the canary's env {key}={value:?} (declared at {}): {}",
                    canary.canary().location(),
                    error.message
                )
            })?
            .expand(vars);
        env.retain(|(existing, _)| existing != key);
        env.push((key.clone(), value));
    }
    for (key, value) in [
        ("COALMINE_CANARY", vars.canary),
        ("COALMINE_RECIPE", vars.recipe),
        ("COALMINE_REV", vars.rev),
        ("COALMINE_RUN_ID", vars.run_id),
        ("COALMINE_ARTIFACTS", vars.artifacts),
    ] {
        env.push((key.to_owned(), value.to_owned()));
    }
    let program = resolve_program(&argv[0], &workdir, config, table)?;
    let open = |name: &str| {
        File::create(artifacts.join(name))
            .map_err(|error| format!("cannot create {}: {error}", artifacts.join(name).display()))
    };
    let results_path = workdir.join(ci.results.expand(vars));
    Ok(Prepared {
        spawn: Spawn {
            program,
            args: argv[1..].to_vec(),
            workdir,
            env,
            stdout: open(STDOUT_LOG)?,
            stderr: open(STDERR_LOG)?,
            timeout: canary.timeout().unwrap_or(ci.timeout),
            grace: ci.grace,
            slow: ci.slow,
        },
        argv,
        results_path,
    })
}

/// Resolves the program like a shell would (PATH lookup, or a path relative to the working
/// directory), without ever involving a shell.
fn resolve_program(
    program: &str,
    workdir: &Path,
    config: &Config,
    table: &str,
) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    which::which_in(program, Some(&path), workdir).map_err(|_| {
        let searched: Vec<String> = std::env::split_paths(&path).map(|dir| dir.display().to_string()).collect();
        if program.contains('/') {
            format!(
                "recipe CI program {program:?} not found or not executable (relative to {}); fix `{table} command` in {}",
                workdir.display(),
                config.path.display()
            )
        } else {
            format!(
                "recipe CI program {program:?} not found in PATH (searched: {}); install it, or give its full path in `{table} command` in {}",
                if searched.is_empty() { "PATH is empty".to_owned() } else { searched.join(":") },
                config.path.display()
            )
        }
    })
}

/// Judges the run as a whole: process failures, the verdict, and results that contradict the
/// exit code or describe another target.
fn judge(
    canary: &ValidCanary<'_>,
    ci: &CiConfig,
    finished: &Finished,
    results: Option<&RunResults>,
    record: &mut RunRecord,
) {
    let timeout = canary.timeout().unwrap_or(ci.timeout);
    if let Some(signal) = interrupt::received() {
        record.problems.insert(
            0,
            format!(
                "INTERRUPTED: the harness received {} while the recipe CI ran; its process group got SIGTERM, \
                 then SIGKILL after the {} grace period if still running",
                signal_name(signal),
                humantime::format_duration(ci.grace)
            ),
        );
    } else if finished.timed_out {
        record.problems.insert(
            0,
            format!(
                "TIMEOUT: the recipe CI ran longer than {}; its process group got SIGTERM, then SIGKILL after the {} grace period if still running",
                humantime::format_duration(timeout),
                humantime::format_duration(ci.grace)
            ),
        );
    } else if let Exit::Signal(signal) = finished.exit {
        record.problems.insert(
            0,
            format!(
                "CRASH: the recipe CI was killed by signal {signal} ({})",
                signal_name(signal)
            ),
        );
    }
    let exit = finished.exit;
    let empty = results.is_some_and(|results| {
        results.tiers.is_empty() && results.stages.iter().all(|stage| stage.tests.is_empty())
    });
    if empty {
        record.problems.push(
            "EMPTY RESULTS: the results hold no tier and no test: the recipe CI tested nothing, and a run that \
             tests nothing is never GREEN"
                .to_owned(),
        );
    }
    if !finished.leftovers.is_empty() {
        record
            .problems
            .push(leftovers::headline(&finished.leftovers));
        if results.and_then(|results| results.flag("clean_teardown")) == Some(true) {
            record.problems.push(format!(
                "CONTRADICTION: the results say clean_teardown: true, but the recipe CI left {} \
                 running after it exited",
                match finished.leftovers.len() {
                    1 => "a process".to_owned(),
                    n => format!("{n} processes"),
                }
            ));
        }
    }
    if let Some(results) = results {
        let failed: Vec<_> = results.failed_tiers().map(shown).collect();
        if let Exit::Code(code) = exit {
            if code == 0 && !failed.is_empty() {
                record.problems.push(format!(
                    "CONTRADICTION: the recipe CI exited 0 but its results say tier(s) {} failed",
                    failed.join(", ")
                ));
            } else if code != 0 && failed.is_empty() {
                record.problems.push(format!(
                    "CONTRADICTION: the recipe CI exited {code} but no tier failed in its results"
                ));
            }
        }
        for (what, asked, reported) in [
            ("recipe", canary.recipe(), results.recipe.as_deref()),
            ("rev", canary.rev(), results.rev.as_deref()),
        ] {
            if let Some(reported) = reported.filter(|reported| *reported != asked) {
                record.problems.push(format!(
                    "WRONG TARGET: asked for {what} {asked:?}, the results are for {what} {reported:?}"
                ));
            }
        }
    }
    let verdict = verdict(canary.expect(), exit, results);
    if canary.expect() == Expect::Red && exit.success() {
        record.problems.insert(0, report::FALSE_GREEN.to_owned());
    }
    record.verdict = Some(verdict);
}

fn finish(
    mut record: RunRecord,
    artifacts: PathBuf,
    results: Option<RunResults>,
    redactor: &Redactor,
) -> CanaryRun {
    record.passed = record.problems.is_empty()
        && record
            .verdict
            .as_ref()
            .is_some_and(|verdict| verdict.passed)
        && record.checks.iter().all(|check| check.passed);
    record.results = results;
    record = record.redacted(redactor);
    if let Err(error) = record.write(&artifacts.join(RECORD_FILE)) {
        record.problems.push(format!(
            "cannot write {}: {error}",
            artifacts.join(RECORD_FILE).display()
        ));
        record.passed = false;
    }
    if record.passed {
        // Teeth trials take the last passing run as their baseline: point at it, so they find
        // it without listing every run folder.
        if let Err(error) = artifacts::remember_pass(&artifacts, &record.canary) {
            eprintln!("warning: cannot record the passing run for its teeth trial: {error}");
        }
    }
    // The report quotes the (already redacted) logs; redact it once more for what was added.
    let report = redactor
        .redact_str(&report::render(&record, &artifacts))
        .into_owned();
    CanaryRun {
        passed: record.passed,
        artifacts,
        record,
        report,
    }
}

impl RunRecord {
    fn set_finished(&mut self, finished: &Finished) {
        self.pid = Some(finished.pid);
        self.exit = Some(finished.exit);
        self.timed_out = finished.timed_out;
        self.started_at = Some(humantime::format_rfc3339_millis(finished.started_at).to_string());
        self.ended_at = Some(humantime::format_rfc3339_millis(finished.ended_at).to_string());
        self.duration_secs = Some(finished.duration.as_secs_f64());
        self.leftover_processes = finished.leftovers.len();
        self.leftovers = finished.leftovers.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_that_appear_or_change_after_the_exit_are_late() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let at_exit = results_state(&path);
        assert!(at_exit.is_empty());
        assert_eq!(late_results(&at_exit, &results_state(&path)), None);
        std::fs::write(&path, "{}").unwrap();
        let appeared = late_results(&at_exit, &results_state(&path)).unwrap();
        assert_eq!(
            appeared,
            format!(
                "LATE RESULTS: the results file {} did not exist when the recipe CI exited: a process \
                 the CI left running (a background child) wrote it afterwards. A recipe CI must finish \
                 writing its results before it exits: results written later are not its verdict",
                path.display()
            )
        );
        let written = results_state(&path);
        assert_eq!(late_results(&written, &results_state(&path)), None);
        std::fs::write(&path, "{\"results\": {}}").unwrap();
        let changed = late_results(&written, &results_state(&path)).unwrap();
        assert!(
            changed.contains(&format!(
                "{} changed after the recipe CI exited",
                path.display()
            )),
            "{changed}"
        );
        // A glob: every file it matches, folders left out.
        std::fs::create_dir(dir.path().join("folder.json")).unwrap();
        let glob = dir.path().join("*.json");
        assert_eq!(
            results_state(&glob).keys().collect::<Vec<_>>(),
            [&path],
            "folders are not results"
        );
    }
}
