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
//!   a timeout and a grace period; [`leftovers`]: what it left running when it exited
//!   (`UNCLEAN TEARDOWN`); [`interrupt`]: Ctrl-C and SIGTERM while canaries run;
//! - `secrets` (which values are secret) and [`redact`] (removing them from every file);
//!   [`logs`]: the logs cut to `[run] max_log_bytes` after the CI exits, so that what follows
//!   is bounded; [`leaks`]: what redaction found is a secret the CI leaked (`SECRET LEAK`);
//! - [`record`]: `canary.json`; `report`: the report a failing canary prints, with log tails
//!   read by [`tail`].

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::canary::{Expect, ValidCanary};
use crate::check::{CiRun, Exit, signal_name, verdict};
use crate::config::{CiConfig, Config, OnSecretLeak, Template, Vars};
use crate::execute::record::RunRecord;
use crate::execute::redact::{Counts, Redactor};
use crate::results::{ResultsError, ResultsErrorKind, ResultsKey, RunResults};
use crate::suggest::shown;
use artifacts::{RECORD_FILE, STDERR_LOG, STDOUT_LOG, new_run_id};
use process::{Finished, Spawn};
use secrets::Secrets;

pub use availability::unavailable;

pub mod artifacts;
pub mod availability;
pub mod interrupt;
pub mod leaks;
pub mod leftovers;
pub mod logs;
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
    let secrets = match secrets::secrets(config, ci, canary, &vars) {
        Ok(secrets) => secrets,
        Err(problem) => {
            record.problems.push(problem);
            return finish(record, artifacts, None, &Redactor::none());
        }
    };
    let redactor = &secrets.redactor;
    if let Err(error) = std::fs::create_dir_all(&artifacts) {
        record.problems.push(format!(
            "cannot create the artifact folder {}: {error}; check `[run] artifacts` in {}",
            artifacts.display(),
            config.path.display()
        ));
        return finish(record, artifacts, None, redactor);
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
            return finish(record, artifacts, None, redactor);
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
            return finish(record, artifacts, None, redactor);
        }
    };
    record.set_finished(&finished);
    let late =
        at_exit.and_then(|at_exit| late_results(&at_exit, &results_state(&prepared.results_path)));
    let exited = Instant::now();
    // Secrets leave the artifact folder before anything in it is read, so that no result,
    // message or report can carry them, and the logs are cut to `[run] max_log_bytes` first,
    // so that this work is bounded. What redaction found there, the CI leaked.
    let results_files = results_files(&prepared.results_path);
    let found = redact_outputs(&secrets, config, &artifacts, &results_files, &mut record);
    record.secret_leaks = leaks::leaks(&secrets.variables, &ci.secret_patterns, &found);
    if !record.secret_leaks.is_empty() {
        let line = leaks::headline(
            &record.secret_leaks,
            ci.on_secret_leak,
            &section(canary),
            &config.path,
        );
        match ci.on_secret_leak {
            OnSecretLeak::Fail => record.problems.push(line),
            OnSecretLeak::Warn => record.warnings.push(line),
        }
    }
    truncated_results(&results_files, &artifacts, &config.path, &mut record);

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
    let claims_no_leak = results
        .as_ref()
        .is_some_and(|results| results.flags.get("no_secret_leak") == Some(&true));
    if claims_no_leak && !record.secret_leaks.is_empty() {
        let line = leaks::contradiction(
            &record.secret_leaks,
            ci.on_secret_leak,
            &section(canary),
            &config.path,
        );
        match ci.on_secret_leak {
            OnSecretLeak::Fail => record.problems.push(line),
            OnSecretLeak::Warn => record.warnings.push(line),
        }
    }

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
    let after_exit = exited.elapsed();
    record.after_exit_secs = Some(after_exit.as_secs_f64());
    over_time(canary, ci, &finished, after_exit, &mut record);
    finish(record, artifacts, results, redactor)
}

/// The table the canary's recipe CI is configured in, as hints name it.
fn section(canary: &ValidCanary<'_>) -> String {
    match canary.canary().ci_profile() {
        Some(profile) => format!("[profiles.{profile}]"),
        None => "[ci]".to_owned(),
    }
}

/// After the CI exited: cuts and redacts its logs ([`logs::finish`]), redacts every other
/// file of the artifact folder and the results files outside it. Returns what was found in
/// each file (named relative to the artifact folder when inside it), logs first. A file that
/// cannot be cleaned fails the canary.
fn redact_outputs(
    secrets: &Secrets,
    config: &Config,
    artifacts: &Path,
    results_files: &[PathBuf],
    record: &mut RunRecord,
) -> Vec<(String, Counts)> {
    let redactor = &secrets.redactor;
    let mut found = Vec::new();
    let logs = [artifacts.join(STDOUT_LOG), artifacts.join(STDERR_LOG)];
    for (name, path) in [STDOUT_LOG, STDERR_LOG].into_iter().zip(&logs) {
        match logs::finish(path, config.run.max_log_bytes, redactor) {
            Ok(finished) => {
                record.logs.insert(name.to_owned(), finished.record);
                found.push((name.to_owned(), finished.counts));
            }
            // The CI removed it: nothing to keep (the report says it cannot be read).
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => record.problems.push(format!(
                "cannot cut or redact {name}: {error}; it may still hold secret values"
            )),
        }
    }
    match redactor.redact_tree_skipping(artifacts, &logs) {
        Ok(tree) => found.extend(tree.files.into_iter().map(|(path, counts)| {
            let name = path.strip_prefix(artifacts).unwrap_or(&path);
            (name.display().to_string(), counts)
        })),
        Err(error) => record.problems.push(format!(
            "cannot redact secrets in {}: {error}; the folder may still hold secret values",
            artifacts.display()
        )),
    }
    // Results the CI wrote elsewhere (a path with `{run_id}`) are the run's output too; as in
    // the artifact folder, a symbolic link is not followed.
    let outside = results_files.iter().filter(|path| {
        !path.starts_with(artifacts)
            && std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file())
    });
    for path in outside {
        match redactor.redact_file(path) {
            Ok(counts) => {
                // Named as from the config's folder, without `./` parts.
                let path: PathBuf = path
                    .components()
                    .filter(|part| *part != std::path::Component::CurDir)
                    .collect();
                let name = path.strip_prefix(config.root()).unwrap_or(&path);
                found.push((name.display().to_string(), counts));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => record.problems.push(format!(
                "cannot redact secrets in the results: {error}; the file may still hold secret values"
            )),
        }
    }
    found.retain(|(_, counts)| !counts.is_empty());
    found
}

/// The results files: the path, or every regular file a glob (`*`, `?`, `[...]`) matches.
fn results_files(path: &Path) -> Vec<PathBuf> {
    let text = path.to_string_lossy();
    if !text.contains(['*', '?', '[']) {
        return vec![path.to_owned()];
    }
    let mut paths: Vec<PathBuf> = glob::glob(&text)
        .map(|matches| matches.flatten().filter(|found| found.is_file()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// Results read from a log that was cut have a hole in them, which could hide a failure: that
/// fails the canary.
fn truncated_results(
    results_files: &[PathBuf],
    artifacts: &Path,
    config: &Path,
    record: &mut RunRecord,
) {
    for (name, log) in &record.logs {
        let Some(cut) = &log.cut else {
            continue;
        };
        let path = std::fs::canonicalize(artifacts.join(name)).ok();
        if results_files
            .iter()
            .any(|file| path.is_some() && std::fs::canonicalize(file).ok() == path)
        {
            record.problems.push(format!(
                "TRUNCATED RESULTS: the results are read from {name}, which was cut to [run] max_log_bytes = {} \
                 ({} of its {} bytes were removed from its middle): results with a hole in them could hide a \
                 failure; raise `max_log_bytes` in [run] of {}, or have the CI write its results to a file of their own",
                cut.max_log_bytes,
                cut.bytes,
                log.written,
                config.display()
            ));
        }
    }
}

/// The timeout is the canary's budget: when the harness's own work after the CI exited pushed
/// the run past it, say so (a warning: the CI did nothing wrong).
fn over_time(
    canary: &ValidCanary<'_>,
    ci: &CiConfig,
    finished: &Finished,
    after_exit: Duration,
    record: &mut RunRecord,
) {
    let timeout = canary.timeout().unwrap_or(ci.timeout);
    if finished.timed_out || finished.duration + after_exit <= timeout {
        return;
    }
    let secs = |duration: Duration| format!("{:.1}s", duration.as_secs_f64());
    record.warnings.push(format!(
        "OVER TIME: the canary took {} in all, more than its {} timeout: the recipe CI ran {}, then the harness \
         spent {} on its artifact folder (cutting the logs to [run] max_log_bytes, redacting secrets in every \
         other file, whatever its size, reading the results, evaluating the checks)",
        secs(finished.duration + after_exit),
        humantime::format_duration(timeout),
        secs(finished.duration),
        secs(after_exit)
    ));
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

    use crate::Canary;
    use crate::check::exit_code;

    fn finished(duration: Duration, timed_out: bool) -> Finished {
        Finished {
            pid: 1,
            exit: Exit::Code(0),
            timed_out,
            started_at: SystemTime::UNIX_EPOCH,
            ended_at: SystemTime::UNIX_EPOCH + duration,
            duration,
            leftovers: Vec::new(),
        }
    }

    #[test]
    fn work_after_the_exit_that_overruns_the_timeout_is_reported() {
        let config = Config::parse(
            "[ci]\ncommand = [\"ci\"]\nresults = \"{artifacts}/r.json\"\ntimeout = \"5s\"\n",
            Path::new("/p/harness.toml"),
        )
        .unwrap();
        let ci = config.ci_for(None).unwrap();
        let canary = Canary::new("slow")
            .recipe("r")
            .rev("1")
            .expect(crate::Expect::Green)
            .check(exit_code(0));
        let valid = canary.validate().unwrap();
        let secs = Duration::from_secs_f64;
        let warned = |ran: f64, after: f64, timed_out: bool| {
            let mut record = RunRecord::new(&valid, "id", Path::new("/tmp/id"));
            over_time(
                &valid,
                ci,
                &finished(secs(ran), timed_out),
                secs(after),
                &mut record,
            );
            assert!(record.problems.is_empty());
            record.warnings
        };
        assert_eq!(warned(1.0, 3.9, false), Vec::<String>::new());
        let warnings = warned(1.1, 11.2, false);
        assert_eq!(
            warnings,
            [
                "OVER TIME: the canary took 12.3s in all, more than its 5s timeout: the recipe CI ran 1.1s, \
              then the harness spent 11.2s on its artifact folder (cutting the logs to [run] max_log_bytes, \
              redacting secrets in every other file, whatever its size, reading the results, evaluating the \
              checks)"
            ]
        );
        // A CI that timed out already says so.
        assert!(warned(5.0, 1.0, true).is_empty());
    }
}
