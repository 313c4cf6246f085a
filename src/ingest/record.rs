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
/// A run is what its identity says (see the docs of [`super`], # Run identity):
/// - **with a run id** (`run.run_id`): the run recorded under that id in this lane, if any,
///   is this run: files it does not have complete it, and with none new nothing is written
///   ([`Recorded::AlreadyRecorded`]); recorded with another kind or commit, the id is refused
///   ([`IngestError::RunIdConflict`]). Without one, a new run, whatever other runs the same
///   bytes were recorded in.
/// - **without**: the run's details (lane, kind, commit, and the start when `--at` was given)
///   and its files. Files recorded before in a run with these details are that run's: all of
///   them again, nothing is written; some, the others **complete that run** (files skipped as
///   malformed when it was ingested, fixed since; the run's recorded results and the new files
///   are merged as the files of one run are, "failure wins"; [`Recorded::Completed`]). Files
///   recorded only in runs with other details are the identical report of another run: a new
///   run is recorded. New files given with files recorded in a run with other details are
///   refused ([`IngestError::OtherRun`]): a report left in the folder by an earlier run must
///   not be taken into this one (a run id or `--at` says that they all are this run's). Files
///   of two runs with these details, given together: [`IngestError::SeveralRuns`].
///
/// A run without any testcase is not recorded ([`Report::recorded`] is `None`).
pub fn record(
    history: &mut History,
    parsed: Parsed,
    inputs: &[PathBuf],
    run: &RunInfo,
) -> Result<Report, IngestError> {
    let Some(files_key) = parsed.key.clone() else {
        return Err(IngestError::NothingRead {
            skipped: parsed.skipped,
        });
    };
    let known = history.runs_of_files(&parsed.digests)?;
    let key = match &run.run_id {
        Some(id) => run_id_key(&run.lane, id),
        None => details_key(&files_key, run),
    };
    // The run these files are (part of), if it was recorded before.
    let this_run = match &run.run_id {
        Some(id) => match history.run_with_key(&key)? {
            Some(found) => {
                let recorded = found.run;
                if (recorded.kind, recorded.commit.as_str()) != (run.kind, run.commit.as_str()) {
                    return Err(IngestError::RunIdConflict {
                        id: id.clone(),
                        lane: run.lane.clone(),
                        run_id: recorded.id,
                        kind: recorded.kind,
                        commit: recorded.commit,
                        given_kind: run.kind,
                        given_commit: run.commit.clone(),
                    });
                }
                Some(recorded.id)
            }
            None => None,
        },
        None => {
            let mut same: Vec<i64> = Vec::new();
            let mut other: Option<crate::history::RunRow> = None;
            let mut candidates: Vec<i64> = known.iter().flatten().copied().collect();
            candidates.sort_unstable();
            candidates.dedup();
            for candidate in candidates {
                let Some(summary) = history.run_summary(candidate)? else {
                    continue;
                };
                // A run recorded under a run id is that id's: never the run of an ingest
                // without one.
                let by_id = summary
                    .ingest_key
                    .as_deref()
                    .is_some_and(|key| key.starts_with(RUN_ID_PREFIX));
                if !by_id && same_details(&summary.run, run) {
                    same.push(candidate);
                } else if other.is_none() {
                    other = Some(summary.run);
                }
            }
            if same.len() > 1 {
                let files = parsed
                    .files
                    .iter()
                    .zip(&known)
                    .filter_map(|(path, runs)| {
                        runs.iter()
                            .find(|id| same.contains(id))
                            .map(|id| (path.clone(), *id))
                    })
                    .collect();
                return Err(IngestError::SeveralRuns { files });
            }
            match (same.first(), other) {
                (Some(&run_id), _) => Some(run_id),
                (None, Some(earlier)) => {
                    // Files of an earlier run with other details, given with new files.
                    let new_files: Vec<PathBuf> = parsed
                        .files
                        .iter()
                        .zip(&known)
                        .filter(|(_, runs)| runs.is_empty())
                        .map(|(path, _)| path.clone())
                        .collect();
                    if !new_files.is_empty() {
                        return Err(IngestError::OtherRun {
                            run_id: earlier.id,
                            lane: earlier.lane,
                            kind: earlier.kind,
                            commit: earlier.commit,
                            recorded: parsed.files.len() - new_files.len(),
                            new_files,
                        });
                    }
                    None
                }
                (None, None) => {
                    // Runs ingested before the history kept its files (schema version 3 and
                    // earlier) are known by the key of their files alone.
                    if known.iter().all(Vec::is_empty)
                        && let Some(found) = history.run_with_key(&files_key)?
                        && same_details(&found.run, run)
                    {
                        Some(found.run.id)
                    } else {
                        None
                    }
                }
            }
        }
    };
    if let Some(run_id) = this_run {
        let in_run: Vec<bool> = known.iter().map(|runs| runs.contains(&run_id)).collect();
        let new_files: Vec<PathBuf> = parsed
            .files
            .iter()
            .zip(&in_run)
            .filter(|(_, in_run)| !**in_run)
            .map(|(path, _)| path.clone())
            .collect();
        let legacy = known.iter().all(Vec::is_empty) && run.run_id.is_none();
        if new_files.is_empty() || legacy {
            return Ok(Report {
                parsed,
                recorded: Some(Recorded::AlreadyRecorded { run_id }),
                new_files: Vec::new(),
            });
        }
        let recorded = complete(history, run_id, &parsed, &in_run)?;
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
        parsed.files.clone()
    } else {
        Vec::new()
    };
    Ok(Report {
        parsed,
        recorded: Some(recorded),
        new_files,
    })
}

/// The ingest key of a run given by its id: the lane and the id (an id names one run of a lane;
/// a CI job that ingests several lanes' reports gives each its own run).
pub fn run_id_key(lane: &str, id: &str) -> String {
    format!("{RUN_ID_PREFIX}{lane}\n{id}")
}

/// The ingest key of a run given by its details: the SHA-256 of its files' key, lane, kind,
/// commit and, when given, its start; so that identical reports of two runs are two keys.
fn details_key(files_key: &str, run: &RunInfo) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [files_key, &run.lane, run.kind.as_str(), &run.commit] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    if run.at_given {
        hasher.update(run.started_at.as_millisecond().to_le_bytes());
    }
    format!("{DETAILS_PREFIX}{}", super::files::hex(&hasher.finalize()))
}

/// Whether a recorded run has the details given: lane, kind, commit, and the start when it
/// was given.
fn same_details(recorded: &crate::history::RunRow, run: &RunInfo) -> bool {
    (
        recorded.lane.as_str(),
        recorded.kind,
        recorded.commit.as_str(),
    ) == (run.lane.as_str(), run.kind, run.commit.as_str())
        && (!run.at_given || recorded.started_at == run.started_at)
}

/// The prefix of the ingest key of a run given by its id.
pub const RUN_ID_PREFIX: &str = "run-id:";
/// The prefix of the ingest key of a run given by its details and files.
pub const DETAILS_PREFIX: &str = "junit-run:";

/// Completes run `run_id` with the files of `parsed` that it does not have (`in_run[i]` is
/// `false` for those): they are read again, merged after the run's recorded results, and the
/// merge replaces them.
fn complete(
    history: &mut History,
    run_id: i64,
    parsed: &Parsed,
    in_run: &[bool],
) -> Result<Recorded, IngestError> {
    let mut merger = Merger::of_rows(history.ingested_results(run_id)?);
    merger.index_file(0, 0);
    let mut digests = Vec::new();
    for (path, digest) in parsed
        .files
        .iter()
        .zip(&parsed.digests)
        .zip(in_run)
        .filter(|(_, in_run)| !**in_run)
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
            at_given: true,
            run_id: None,
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
        // One file of run 1, alone, under another name, as run 1: recorded already.
        let copy = write(dir.path(), "elsewhere/renamed.xml", PART_A);
        let again = ingest(&mut history, std::slice::from_ref(&copy), &periodic(1)).unwrap();
        assert_eq!(
            again.recorded,
            Some(Recorded::AlreadyRecorded { run_id: 1 })
        );
        assert!(again.new_files.is_empty());
        // The same bytes as another run (another commit, another start): another run, whose
        // report happens to be identical.
        // (Hour 0: older than run 1, so that run 1's tags stay the newest below.)
        let identical = ingest(&mut history, &[copy], &periodic(0)).unwrap();
        assert_eq!(identical.recorded.unwrap().run_id(), 3);
        assert_eq!(history.runs(None).unwrap().len(), 3);
        // Files of two runs with the same details, given together: refused, nothing written.
        let y = write(dir.path(), "y/y.xml", PART_B);
        assert_eq!(
            ingest(&mut history, std::slice::from_ref(&y), &periodic(0))
                .unwrap()
                .recorded
                .unwrap()
                .run_id(),
            4,
            "a file run 3 does not have, given alone with run 3's details, is a run of its own"
        );
        let mixed = ingest(
            &mut history,
            &[dir.path().join("elsewhere/renamed.xml"), y],
            &periodic(0),
        )
        .unwrap_err();
        assert!(
            matches!(&mixed, IngestError::SeveralRuns { files } if files.len() == 2),
            "{mixed}"
        );
        assert!(mixed.to_string().contains("(run 4)"), "{mixed}");
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
        assert_eq!(summaries.len(), 4);
        let run1 = summaries
            .iter()
            .find(|summary| summary.run.id == 1)
            .unwrap();
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
        let again = ingest(&mut history, &folder, &periodic(1)).unwrap();
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
        let again = ingest(&mut history, &[b, a], &periodic(1)).unwrap();
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
                at_given: true,
                run_id: None,
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
