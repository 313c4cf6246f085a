//! The report a failing canary prints: a headline naming the cause, every check with ✓ or ✗
//! and what was expected and found, the artifact folder, and the last lines of each log.

use std::fmt::Write as _;
use std::path::Path;

use crate::check::CheckOutcome;
use crate::execute::artifacts::{RECORD_FILE, STDERR_LOG, STDOUT_LOG};
use crate::execute::record::RunRecord;
use crate::execute::tail::last_lines;

/// The first line of the report of a RED canary whose CI exited 0.
pub const FALSE_GREEN: &str = "FALSE GREEN: expected RED, the recipe CI exited 0";

/// How many log lines the report shows per stream.
const TAIL_LINES: usize = 15;

/// Renders the report of a run (meant for failures, but valid for any run).
pub fn render(record: &RunRecord, artifacts: &Path) -> String {
    let mut out = String::new();
    let failed_checks = record.checks.iter().filter(|check| !check.passed).count()
        + usize::from(
            record
                .verdict
                .as_ref()
                .is_some_and(|verdict| !verdict.passed),
        );
    let total_checks = record.checks.len() + usize::from(record.verdict.is_some());
    match record.problems.first() {
        Some(problem) => writeln!(out, "{problem}").ok(),
        None if failed_checks > 0 => {
            writeln!(out, "{failed_checks} of {total_checks} checks failed").ok()
        }
        None => writeln!(out, "all {total_checks} checks passed").ok(),
    };
    writeln!(
        out,
        "canary `{}` ({}@{}, expected {}), declared at {}",
        record.canary, record.recipe, record.rev, record.expect, record.declared_at
    )
    .ok();
    if let Some(description) = &record.description {
        for line in description.lines() {
            writeln!(out, "  | {line}").ok();
        }
    }
    for problem in record.problems.iter().skip(1) {
        writeln!(out, "  also: {problem}").ok();
    }
    for warning in &record.warnings {
        writeln!(out, "  warning: {warning}").ok();
    }
    if !record.problems.is_empty() && failed_checks > 0 {
        writeln!(out, "  {failed_checks} of {total_checks} checks failed").ok();
    }
    if let Some(error) = record
        .results_error
        .as_ref()
        .filter(|error| !record.problems.contains(error))
    {
        writeln!(out, "  results: {error}").ok();
    }
    for check in record.verdict.iter().chain(&record.checks) {
        write_check(&mut out, check);
    }
    if !record.argv.is_empty() {
        writeln!(out, "  command: {}", shell_words(&record.argv)).ok();
    }
    writeln!(out, "  artifacts: {}", artifact_files(artifacts)).ok();
    for (name, log) in &record.logs {
        if let Some(cut) = &log.cut {
            writeln!(
                out,
                "  note: {name} was cut to {} bytes: {} bytes in its middle (offsets {}..{} of the {} the recipe CI \
                 wrote) are not kept, nor searched for secrets or by output checks ([run] max_log_bytes = {})",
                log.kept, cut.bytes, cut.from, cut.to, log.written, cut.max_log_bytes
            )
            .ok();
        }
    }
    if record.exit.is_some() {
        for log in [STDOUT_LOG, STDERR_LOG] {
            write_tail(&mut out, &artifacts.join(log), log);
        }
    }
    out
}

/// The artifact folder and those of its files the harness writes that exist: a run that
/// stopped early has no logs, one that never started has no folder.
fn artifact_files(artifacts: &Path) -> String {
    if !artifacts.is_dir() {
        return format!(
            "none ({} was not created: the canary stopped before the recipe CI started)",
            artifacts.display()
        );
    }
    let files: Vec<&str> = [RECORD_FILE, STDOUT_LOG, STDERR_LOG]
        .into_iter()
        .filter(|name| artifacts.join(name).is_file())
        .collect();
    match files.is_empty() {
        true => format!("{} (no file in it yet)", artifacts.display()),
        false => format!("{} ({})", artifacts.display(), files.join(", ")),
    }
}

fn write_check(out: &mut String, check: &CheckOutcome) {
    let mark = if check.passed { '✓' } else { '✗' };
    writeln!(out, "  {mark} {}", check.check).ok();
    writeln!(out, "      expected: {}", check.expected).ok();
    writeln!(out, "      found:    {}", check.found).ok();
}

fn write_tail(out: &mut String, path: &Path, label: &str) {
    match last_lines(path, TAIL_LINES) {
        Ok(lines) if lines.is_empty() => {
            writeln!(out, "  --- {label}: empty ---").ok();
        }
        Ok(lines) => {
            writeln!(out, "  --- last {} lines of {label} ---", lines.len()).ok();
            for line in lines {
                writeln!(out, "  {line}").ok();
            }
        }
        Err(error) => {
            writeln!(out, "  --- {label}: cannot read: {error} ---").ok();
        }
    }
}

/// The argv as a shell would need it quoted, for copy-paste reproduction.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,%".contains(c));
            if plain {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifacts_line_names_only_files_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        assert_eq!(
            artifact_files(&run),
            format!(
                "none ({} was not created: the canary stopped before the recipe CI started)",
                run.display()
            )
        );
        std::fs::create_dir(&run).unwrap();
        assert_eq!(
            artifact_files(&run),
            format!("{} (no file in it yet)", run.display())
        );
        std::fs::write(run.join(RECORD_FILE), "{}").unwrap();
        std::fs::write(run.join(STDERR_LOG), "").unwrap();
        assert_eq!(
            artifact_files(&run),
            format!("{} (canary.json, stderr.log)", run.display())
        );
    }

    #[test]
    fn quoting_for_reproduction() {
        let argv = [
            "ci".to_owned(),
            "x; rm -rf /".to_owned(),
            "it's".to_owned(),
            "--ref=a1".to_owned(),
        ];
        assert_eq!(shell_words(&argv), "ci 'x; rm -rf /' 'it'\\''s' --ref=a1");
    }
}
