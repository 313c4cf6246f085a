//! Recording: what was read goes into the history as one run ([`record`]): a new run, nothing
//! when the files were all recorded before, or the completion of the run that some of them were
//! recorded in ([`complete`]); files of several runs, or new files given as another run, are
//! refused. The rules are said in the docs of [`super`] (# Re-ingesting).

use std::path::PathBuf;

use super::files::read_file;
use super::merge::Merger;
use super::{IngestError, Parsed, Report, RunInfo, list};
use crate::history::{History, NewRun, Recorded};

/// Records what [`read_inputs`](super::read_inputs) read from `inputs` as one run in `history`.
///
/// The files are looked up by their digests first ([`History::runs_of_files`]):
/// - none was recorded before: a new run (unless a run with the same ingest key was recorded
///   before the history kept its files: [`Recorded::AlreadyRecorded`]);
/// - all of them were, in one run: [`Recorded::AlreadyRecorded`], nothing is written;
/// - some of them were, in one run, and `run` has that run's lane, kind and commit: the
///   others **complete that run** (files skipped as malformed when it was ingested, fixed
///   since): the run's recorded results and the new files are merged as the files of one run
///   are ("failure wins" across files) and replace the run's results
///   ([`Recorded::Completed`]); its start stays. With another lane, kind or commit:
///   [`IngestError::OtherRun`], nothing is written (another run's report left in the same
///   folder must not be merged into it);
/// - they were recorded in several runs: [`IngestError::SeveralRuns`], nothing is written.
///
/// A run without any testcase is not recorded ([`Report::recorded`] is `None`).
pub fn record(
    history: &mut History,
    parsed: Parsed,
    inputs: &[PathBuf],
    run: &RunInfo,
) -> Result<Report, IngestError> {
    let Some(key) = parsed.key.clone() else {
        return Err(IngestError::NothingRead {
            skipped: parsed.skipped,
        });
    };
    let known = history.runs_of_files(&parsed.digests)?;
    let mut runs: Vec<i64> = known.iter().flatten().copied().collect();
    runs.sort_unstable();
    runs.dedup();
    if runs.len() > 1 {
        let files = parsed
            .files
            .iter()
            .zip(&known)
            .filter_map(|(path, run)| run.map(|run| (path.clone(), run)))
            .collect();
        return Err(IngestError::SeveralRuns { files });
    }
    let new_files: Vec<PathBuf> = parsed
        .files
        .iter()
        .zip(&known)
        .filter(|(_, run)| run.is_none())
        .map(|(path, _)| path.clone())
        .collect();
    if let Some(&run_id) = runs.first() {
        if new_files.is_empty() {
            return Ok(Report {
                parsed,
                recorded: Some(Recorded::AlreadyRecorded { run_id }),
                new_files,
            });
        }
        // New files complete a run only when given as that run's: another run's report left
        // in the same folder must not be merged into it.
        if let Some(earlier) = history.run_summary(run_id)?.map(|summary| summary.run)
            && (earlier.lane.as_str(), earlier.kind, earlier.commit.as_str())
                != (run.lane.as_str(), run.kind, run.commit.as_str())
        {
            return Err(IngestError::OtherRun {
                run_id,
                lane: earlier.lane,
                kind: earlier.kind,
                commit: earlier.commit,
                recorded: parsed.files.len() - new_files.len(),
                new_files,
            });
        }
        let recorded = complete(history, run_id, &parsed, &known)?;
        return Ok(Report {
            parsed,
            recorded: Some(recorded),
            new_files,
        });
    }
    if parsed.results.is_empty() {
        return Ok(Report {
            parsed,
            recorded: None,
            new_files: Vec::new(),
        });
    }
    let new_run = NewRun {
        lane: run.lane.clone(),
        kind: run.kind,
        commit: run.commit.clone(),
        started_at: run.started_at,
        source: source_of(inputs),
        ingest_key: Some(key),
    };
    let recorded = history.record_ingested_run(&new_run, &parsed.results, &parsed.digests)?;
    let new_files = if recorded.is_new() {
        new_files
    } else {
        Vec::new()
    };
    Ok(Report {
        parsed,
        recorded: Some(recorded),
        new_files,
    })
}

/// Completes run `run_id` with the files of `parsed` that it does not have (`known[i]` is
/// `None` for those): they are read again, merged after the run's recorded results, and the
/// merge replaces them.
fn complete(
    history: &mut History,
    run_id: i64,
    parsed: &Parsed,
    known: &[Option<i64>],
) -> Result<Recorded, IngestError> {
    let mut merger = Merger::of_rows(history.ingested_results(run_id)?);
    merger.index_file(0, 0);
    let mut digests = Vec::new();
    for (path, digest) in parsed
        .files
        .iter()
        .zip(&parsed.digests)
        .zip(known)
        .filter(|(_, run)| run.is_none())
        .map(|(file, _)| file)
    {
        // Read again: `parsed` keeps only the merge of all files.
        let start = merger.rows.len();
        let file = read_file(path, &mut merger.rows).map_err(|skipped| IngestError::Changed {
            path: path.clone(),
            detail: skipped.to_string(),
        })?;
        if file.digest != *digest {
            return Err(IngestError::Changed {
                path: path.clone(),
                detail: "its contents changed while it was being ingested".to_owned(),
            });
        }
        let index = digests.len() as u32 + 1;
        merger.index_file(index, start);
        digests.push(file.digest);
    }
    let results = merger.finish();
    Ok(history.complete_ingested_run(run_id, &results, &digests)?)
}

/// The run's `source`: what was ingested.
fn source_of(inputs: &[PathBuf]) -> String {
    const MAX: usize = 1000;
    let mut text = format!("coalmine ingest {}", list(inputs));
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::history::RunKind;
    use crate::ingest::ingest;
    use crate::ingest::tests::{PART_A, PART_B, write};
    use crate::results::Outcome;

    fn periodic(hour: i64) -> RunInfo {
        RunInfo {
            lane: "periodic-e2e".to_owned(),
            kind: RunKind::Periodic,
            commit: format!("c{hour}"),
            started_at: Timestamp::from_second(1_790_000_000 + hour * 3600).unwrap(),
        }
    }

    #[test]
    fn recorded_files_are_recognised_alone_and_fixed_files_complete_their_run() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "r1/a.xml", PART_A);
        let bad = write(
            dir.path(),
            "r1/b.xml",
            "<testsuite name=\"b\">\n<testcase name=\"x\">",
        );
        let other = write(
            dir.path(),
            "r2/a.xml",
            "<testsuite name=\"s\"><testcase classname=\"pkg.A\" name=\"two\"/></testsuite>",
        );
        let mut history = History::open(&dir.path().join("h.db")).unwrap();
        let folder = [dir.path().join("r1")];
        let first = ingest(&mut history, &folder, &periodic(1)).unwrap();
        assert_eq!(
            first.recorded,
            Some(Recorded::New {
                run_id: 1,
                results: 4
            })
        );
        assert_eq!(first.new_files, std::slice::from_ref(&a));
        assert_eq!(first.parsed.skipped.len(), 1);
        let second = ingest(&mut history, std::slice::from_ref(&other), &periodic(2)).unwrap();
        assert_eq!(second.recorded.unwrap().run_id(), 2);
        // One file of run 1, alone, under another name: recorded already.
        let copy = write(dir.path(), "elsewhere/renamed.xml", PART_A);
        let again = ingest(&mut history, &[copy], &periodic(3)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        assert!(again.new_files.is_empty());
        // Files of two runs together: refused, nothing written.
        let mixed = ingest(&mut history, &[a.clone(), other], &periodic(3)).unwrap_err();
        assert!(
            matches!(&mixed, IngestError::SeveralRuns { files } if files.len() == 2),
            "{mixed}"
        );
        assert!(mixed.to_string().contains("(run 2)"), "{mixed}");
        // The fixed file completes run 1: its results join those recorded ("failure wins"
        // across files), the run is not recorded twice.
        std::fs::write(
            &bad,
            "<testsuite name=\"b\"><testcase classname=\"pkg.A\" name=\"[sig-net] one\">\
             <failure/></testcase><testcase classname=\"pkg.C\" name=\"new\"/></testsuite>",
        )
        .unwrap();
        // Given as another run (another commit): refused, nothing written.
        let other_run = ingest(&mut history, &folder, &periodic(9)).unwrap_err();
        assert!(
            matches!(
                &other_run,
                IngestError::OtherRun {
                    run_id: 1,
                    recorded: 1,
                    ..
                }
            ),
            "{other_run}"
        );
        assert!(other_run.to_string().contains("--commit c1"), "{other_run}");
        assert_eq!(history.run_summaries(None).unwrap()[0].counts.total, 4);
        let fixed = ingest(&mut history, &folder, &periodic(1)).unwrap();
        assert_eq!(
            fixed.recorded,
            Some(Recorded::Completed {
                run_id: 1,
                results: 5
            })
        );
        assert_eq!(fixed.new_files, std::slice::from_ref(&bad));
        let summaries = history.run_summaries(None).unwrap();
        assert_eq!(summaries.len(), 2);
        let run1 = &summaries[0];
        assert_eq!(
            (run1.run.id, run1.run.commit.as_str()),
            (1, "c1"),
            "its details stay"
        );
        assert_eq!(
            (
                run1.counts.total,
                run1.counts.passed,
                run1.counts.failed,
                run1.counts.skipped
            ),
            (5, 2, 2, 1)
        );
        let mut rows = Vec::new();
        history
            .for_each_result(None, |row| {
                if row.run_id == 1 {
                    rows.push((row.test.clone(), row.outcome));
                }
            })
            .unwrap();
        rows.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            rows,
            [
                ("pkg.A::dup".to_owned(), Outcome::Pass),
                ("pkg.A::dup".to_owned(), Outcome::Skip),
                ("pkg.A::one".to_owned(), Outcome::Fail),
                ("pkg.A::two".to_owned(), Outcome::Fail),
                ("pkg.C::new".to_owned(), Outcome::Pass),
            ]
        );
        // Tags: run 1's own and the fixed file's, both reported at run 1's start.
        let tests = history.tests().unwrap();
        let one = tests.iter().find(|test| test.name == "pkg.A::one").unwrap();
        assert_eq!(one.tags, ["sig-compute", "sig-net"]);
        let again = ingest(&mut history, &folder, &periodic(9)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        crate::history::tests::assert_foreign_keys_hold(history.path());
    }

    /// A run ingested before the history kept its files (schema version 3) has no
    /// `ingested_files` rows: the same files are still recognised by the run's ingest key.
    #[test]
    fn runs_from_before_the_file_table_are_recognised_by_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "r/a.xml", PART_A);
        let b = write(dir.path(), "r/b.xml", PART_B);
        let path = dir.path().join("h.db");
        let mut history = History::open(&path).unwrap();
        let first = ingest(&mut history, &[a.clone(), b.clone()], &periodic(1)).unwrap();
        assert!(first.recorded.unwrap().is_new());
        drop(history);
        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(conn.execute("DELETE FROM ingested_files", []).unwrap(), 2);
        drop(conn);
        let mut history = History::open(&path).unwrap();
        let again = ingest(&mut history, &[b, a], &periodic(2)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        assert!(again.new_files.is_empty());
        assert_eq!(history.runs(None).unwrap().len(), 1);
    }

    #[test]
    fn tags_follow_the_newest_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&dir.path().join("h.db")).unwrap();
        let mut ingest_name = |name: &str, hour: i64| {
            let file = write(
                dir.path(),
                &format!("r{hour}/a.xml"),
                &format!(
                    "<testsuite name=\"s\"><testcase classname=\"c\" name=\"{name}\" time=\"{hour}\"/></testsuite>"
                ),
            );
            let run = RunInfo {
                lane: "l".to_owned(),
                kind: RunKind::Periodic,
                commit: format!("c{hour}"),
                started_at: Timestamp::from_second(1_790_000_000 + hour * 3600).unwrap(),
            };
            ingest(&mut history, &[file], &run).unwrap();
            history.tests().unwrap()[0].tags.clone()
        };
        assert_eq!(ingest_name("[sig-compute] t", 1), ["sig-compute"]);
        assert_eq!(ingest_name("[sig-compute] t", 2), ["sig-compute"]);
        assert_eq!(
            ingest_name("[sig-network][release-blocker] t", 3),
            ["release-blocker", "sig-network"]
        );
        assert!(ingest_name("t", 4).is_empty());
    }
}
