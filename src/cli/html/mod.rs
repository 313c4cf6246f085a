//! `coalmine report --format html`: one self-contained HTML page of the history (CSS, script
//! and SVG charts inline; no request to any network, no web font), built from the same
//! [`Analysis`] as `report` and `quarantine plan`: the plan decides
//! every status, rate and candidate, and this module only lays them out with capped views of
//! the rows of the plan's own pass ([`collect`]).
//!
//! Two passes over the horizon's results: the plan's (with the [`collect::Collector`]
//! observing every row), then the same fold again watching the tests given a page, for their
//! [`Explanation`](crate::quarantine::Explanation)s (the tests shown are known only once the
//! plan is). Then the messages of those tests' latest failures, read from at most
//! [`Caps::message_runs`] runs.
//!
//! Every string from the history is escaped for where it lands ([`escape`]), and a
//! Content-Security-Policy meta tag allows only the page's own inline style and script, by
//! hash, and no request of any kind (see the `page` module).

pub mod collect;
pub mod escape;
mod page;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::analysis::flakiest;
use super::analysis::{self, Analysis};
use crate::history::{History, HistoryError};
use crate::quarantine::QuarantineConfig;
use crate::quarantine::calendar::days_before;
use crate::results::Outcome;

pub use collect::Caps;

/// The default output file of `coalmine report --format html`, in the current folder.
pub const DEFAULT_OUTPUT: &str = "coalmine-report.html";

/// The `source` of runs recorded by the canary harness (not ingested).
pub const HARNESS_SOURCE: &str = "coalmine harness";

/// Why the page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// Reading the history failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The output path has no file name.
    #[error("{path} is not a file path: give --output a file name such as {DEFAULT_OUTPUT}")]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// The folder of `--output` does not exist.
    #[error(
        "cannot write {path}: the folder {folder} does not exist; create it, or give --output a path in an existing folder"
    )]
    NoFolder {
        /// The file to write.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },
    /// Writing or renaming the file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file written.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// A failure message of a test's execution.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// The run (index into [`collect::Gathered::runs`]).
    pub run: usize,
    /// The message.
    pub text: String,
}

/// Everything the page is rendered from.
pub(crate) struct PageData<'a> {
    pub analysis: &'a Analysis,
    pub config: &'a QuarantineConfig,
    pub gathered: &'a collect::Gathered,
    pub caps: &'a Caps,
    /// Tests given a page, in order, by index into `analysis.tests`.
    pub pages: Vec<usize>,
    /// Explanations by test index.
    pub explanations: HashMap<usize, &'a crate::quarantine::Explanation>,
    /// Latest failure messages by test index, newest first.
    pub messages: HashMap<usize, Vec<Message>>,
    /// Index of each test by name.
    pub index: HashMap<&'a str, usize>,
}

/// Builds the page as of `now`; `progress` is told what is being done (for standard error).
pub fn build(
    history: &History,
    config: &QuarantineConfig,
    now: Timestamp,
    caps: &Caps,
    progress: &mut dyn FnMut(&str),
) -> Result<String, HtmlError> {
    let since = days_before(now, config.policy.horizon_days());
    let runs = history.runs(Some(since))?;
    progress(&format!(
        "reading the results of {} run(s) of the last {} days",
        runs.len(),
        config.policy.horizon_days()
    ));
    let mut collector = collect::Collector::new(runs, since, now, caps);
    let (analysis, _) = analysis::analyse_with(
        history,
        config,
        now,
        &[],
        Some(&mut |row, test| collector.observe(row, test)),
    )?;
    let gathered = collector.finish();
    let index: HashMap<&str, usize> = analysis
        .tests
        .iter()
        .enumerate()
        .map(|(index, test)| (test.name.as_str(), index))
        .collect();

    let pages = pages(&analysis, config, &gathered, caps, &index);
    let names: Vec<&str> = pages
        .iter()
        .map(|&test| analysis.tests[test].name.as_str())
        .collect();
    let explained = if names.is_empty() {
        Vec::new()
    } else {
        progress(&format!(
            "explaining {} test(s) (the plan's fold again, watching them)",
            names.len()
        ));
        analysis::analyse_with(history, config, now, &names, None)?.1
    };
    let explanations = explained
        .iter()
        .filter_map(|explanation| {
            index
                .get(explanation.test.as_str())
                .map(|&test| (test, explanation))
        })
        .collect();
    let messages = messages(history, &analysis, &gathered, caps, &pages, progress)?;
    let data = PageData {
        analysis: &analysis,
        config,
        gathered: &gathered,
        caps,
        pages,
        explanations,
        messages,
        index,
    };
    progress("rendering the page");
    Ok(page::render(&data))
}

/// The tests given a page: those needing a person, the quarantined, the flakiest, and those
/// with a failure in a shown run, at most [`Caps::test_pages`].
fn pages(
    analysis: &Analysis,
    config: &QuarantineConfig,
    gathered: &collect::Gathered,
    caps: &Caps,
    index: &HashMap<&str, usize>,
) -> Vec<usize> {
    let plan = &analysis.plan;
    let mut order: Vec<usize> = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |name: &str| {
        if let Some(&test) = index.get(name)
            && seen.insert(test)
        {
            order.push(test);
        }
    };
    for broken in &plan.broken {
        add(&broken.test);
    }
    for candidate in plan.quarantine_now.iter().chain(&plan.next_batch) {
        add(&candidate.test);
    }
    for test in &plan.missing_owner {
        add(test);
    }
    for entry in &config.quarantine {
        add(&entry.test);
        add(&crate::ingest::normalise(&entry.test).0);
    }
    for failing in flakiest(plan) {
        add(&failing.test);
    }
    // Then any test failing in a shown run, newest run first.
    let mut recent: Vec<(usize, usize)> = Vec::new();
    for lane in &gathered.lanes {
        for &run in &lane.shown {
            for &test in &gathered.failed_tests[run] {
                recent.push((run, test as usize));
            }
            if let Some(cells) = gathered.cells.get(&run) {
                for (test, &cell) in cells.iter().enumerate() {
                    if cell & collect::cell::FLAKY != 0 {
                        recent.push((run, test));
                    }
                }
            }
        }
    }
    recent.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, test) in recent {
        if let Some(info) = analysis.tests.get(test) {
            add(&info.name);
        }
    }
    order.truncate(caps.test_pages);
    order
}

/// The messages of the latest failures of each test given a page (and of each canary), among
/// the shown runs: at most [`Caps::messages_per_test`] a test, from at most
/// [`Caps::message_runs`] runs, newest first.
fn messages(
    history: &History,
    analysis: &Analysis,
    gathered: &collect::Gathered,
    caps: &Caps,
    pages: &[usize],
    progress: &mut dyn FnMut(&str),
) -> Result<HashMap<usize, Vec<Message>>, HtmlError> {
    let mut shown_runs: Vec<usize> = gathered
        .lanes
        .iter()
        .flat_map(|lane| lane.shown.iter().copied())
        .collect();
    shown_runs.sort_unstable_by(|a, b| b.cmp(a));
    let mut wanted: HashSet<usize> = pages.iter().copied().collect();
    for test in page::canaries(analysis, gathered, caps) {
        wanted.insert(test);
    }
    // Which runs to read: each wanted test's latest failing runs.
    let mut runs: Vec<usize> = Vec::new();
    let mut per_test: HashMap<usize, usize> = HashMap::new();
    for &run in &shown_runs {
        let Some(cells) = gathered.cells.get(&run) else {
            continue;
        };
        let mut needed = false;
        for (test, &cell) in cells.iter().enumerate() {
            if collect::failed(cell) && wanted.contains(&test) {
                let count = per_test.entry(test).or_default();
                if *count < caps.messages_per_test {
                    *count += 1;
                    needed = true;
                }
            }
        }
        if needed {
            runs.push(run);
            if runs.len() >= caps.message_runs {
                break;
            }
        }
    }
    if !runs.is_empty() {
        progress(&format!(
            "reading the failure messages of {} run(s)",
            runs.len()
        ));
    }
    let index: HashMap<&str, usize> = wanted
        .iter()
        .map(|&test| (analysis.tests[test].name.as_str(), test))
        .collect();
    let mut messages: HashMap<usize, Vec<Message>> = HashMap::new();
    for run in runs {
        let batches = history.run_batches(gathered.runs[run].id)?;
        let mut found: HashMap<usize, String> = HashMap::new();
        for result in batches.into_iter().flatten() {
            let failing = matches!(
                result.outcome,
                Outcome::Fail | Outcome::Error | Outcome::FlakyPass
            );
            if let (true, Some(message), Some(&test)) =
                (failing, result.message, index.get(result.test.as_str()))
            {
                found.insert(test, message);
            }
        }
        for (test, text) in found {
            let list = messages.entry(test).or_default();
            if list.len() < caps.messages_per_test {
                list.push(Message { run, text });
            }
        }
    }
    Ok(messages)
}

/// Writes `contents` to `path` whole or not at all: into a temporary file beside it, then
/// renamed over it; the temporary file is removed on failure.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), HtmlError> {
    let Some(name) = path.file_name() else {
        return Err(HtmlError::NotAFile {
            path: path.to_path_buf(),
        });
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(HtmlError::NoFolder {
            path: path.to_path_buf(),
            folder: dir,
        });
    }
    let mut temporary = name.to_os_string();
    temporary.push(format!(".tmp-{}", std::process::id()));
    let temporary = dir.join(format!(".{}", temporary.to_string_lossy()));
    let failed = |source| HtmlError::Write {
        path: path.to_path_buf(),
        source,
    };
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(source) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(failed(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{NewResult, NewRun, RunKind};

    const HOSTILE: &[&str] = &[
        "<img src=x onerror=alert(1)>",
        "</script><script>alert(1)</script>",
        "\"quoted\" 'single' & <b>bold</b>",
        "<!--",
        "line\u{2028}separator",
    ];

    /// A history whose every string is hostile: test names, lane, commit, messages, and a
    /// quarantine owner and reason; half of the runs recorded by the harness (canaries).
    fn hostile_page() -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&dir.path().join("history.db")).unwrap();
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        for run in 0..12i64 {
            let results: Vec<NewResult> = HOSTILE
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let fails = (run + i as i64) % 3 == 0;
                    let mut result = NewResult::new(
                        format!("suite::{name}"),
                        if fails { Outcome::Fail } else { Outcome::Pass },
                    );
                    if fails {
                        result.message = Some(format!("{name} {}", HOSTILE[(i + 1) % 5]));
                    }
                    result
                })
                .collect();
            let new = NewRun {
                lane: format!("lane {}", HOSTILE[(run % 5) as usize]),
                kind: RunKind::Periodic,
                commit: HOSTILE[(run % 2) as usize].to_owned(),
                started_at: Timestamp::from_second(now.as_second() - 3600 * (12 - run)).unwrap(),
                source: if run % 2 == 0 {
                    HARNESS_SOURCE.to_owned()
                } else {
                    "junit.xml".to_owned()
                },
                ingest_key: None,
            };
            history.record_run(&new, &results).unwrap();
        }
        let mut config = QuarantineConfig::default();
        config.quarantine.push(crate::quarantine::QuarantineEntry {
            test: format!("suite::{}", HOSTILE[0]),
            owner: HOSTILE[1].to_owned(),
            reason: HOSTILE[2].to_owned(),
            since: "2026-11-01".parse().unwrap(),
            stable_by: Some("2026-11-10".parse().unwrap()),
        });
        build(&history, &config, now, &Caps::default(), &mut |_| {}).unwrap()
    }

    #[test]
    fn hostile_strings_are_text_everywhere() {
        let page = hostile_page();
        // Every hostile string is in the page, as text.
        assert!(page.contains("suite::&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&quot;quoted&quot; &#39;single&#39; &amp; &lt;b&gt;bold&lt;/b&gt;"));
        // No markup came from the history: the page's own elements only.
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>bold"));
        assert!(!page.contains("alert(1)</script>"));
        assert_eq!(
            page.matches("<script").count(),
            2,
            "the data block and the page's own"
        );
        assert_eq!(page.matches("</script>").count(), 2);
        assert_eq!(page.matches("<!--").count(), 0);
        // Attributes: no value is left open by a quote.
        for line in page.lines() {
            for value in line.split("data-test=\"").skip(1) {
                let value = &value[..value.find('"').unwrap()];
                assert!(!value.contains('<') && !value.contains('\''), "{value}");
            }
        }
        // The data block reads back as JSON with the names as they were.
        let start = page.find("id=\"coalmine-data\">").unwrap() + 19;
        let end = page[start..].find("</script>").unwrap() + start;
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        let pages: Vec<&str> = data["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|page| page["test"].as_str().unwrap())
            .collect();
        for hostile in HOSTILE {
            assert!(
                pages.contains(&format!("suite::{hostile}").as_str()),
                "{pages:?}"
            );
        }
        // The canaries, the quarantine list and test pages are there.
        assert!(page.contains("id=\"canary-list\""));
        assert!(page.contains("id=\"quarantine-list\""));
        assert!(page.contains("class=\"tp\""));
        // The CSP allows no request.
        assert!(page.contains("default-src &#39;none&#39;; "));
        assert!(page.contains("connect-src &#39;none&#39;"));
    }

    #[test]
    fn the_trend_counts_the_runs_the_measured_pass_rate_counts() {
        // One day: a clean run, and a systemic one (5 tests failed), which measured stability
        // leaves out; the trend leaves it out too.
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::open(&dir.path().join("history.db")).unwrap();
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        for (run, failing) in [(0i64, false), (1, true)] {
            let results: Vec<NewResult> = (0..6)
                .map(|i| {
                    let outcome = if failing && i < 5 {
                        Outcome::Fail
                    } else {
                        Outcome::Pass
                    };
                    NewResult::new(format!("suite::t{i}"), outcome)
                })
                .collect();
            let new = NewRun {
                lane: "periodic-e2e".to_owned(),
                kind: RunKind::Periodic,
                commit: format!("c{run}"),
                started_at: Timestamp::from_second(now.as_second() - 3600 * (2 - run)).unwrap(),
                source: "junit.xml".to_owned(),
                ingest_key: None,
            };
            history.record_run(&new, &results).unwrap();
        }
        let page = build(
            &history,
            &QuarantineConfig::default(),
            now,
            &Caps::default(),
            &mut |_| {},
        )
        .unwrap();
        assert!(
            page.contains("2026-11-20: 1 of 1 trusted run(s) passed (100 %)"),
            "{page}"
        );
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = std::env::temp_dir().join(format!("html-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("report.html");
        write_atomically(&target, b"<!doctype html>").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"<!doctype html>");
        // A folder in the way: the rename fails, nothing is left beside it.
        let blocked = dir.join("blocked.html");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_atomically(&blocked, b"x").is_err());
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.iter().all(|name| !name.contains(".tmp-")), "{left:?}");
        assert!(write_atomically(Path::new("/"), b"x").is_err());
        let missing = write_atomically(&dir.join("no/such/folder/r.html"), b"x").unwrap_err();
        assert!(
            missing.to_string().contains("folder") && missing.to_string().contains("--output"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
