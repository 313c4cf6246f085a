//! Recording canary executions in the history as the harness runs them: every attempt of every
//! canary as `canary::<name>`, and every named test the recipe CI reported in that attempt by
//! the id `coalmine ingest` gives the same report (`<classname>::<name>`; `<recipe>::<stage>::
//! <test>` for cc-ci results, whose tests have no identity but their stage), into one run per
//! harness invocation, or per nextest run (whose
//! test processes share `NEXTEST_RUN_ID`, so they append to the same run).
//!
//! The lane, kind and commit come from `[history]` in harness.toml or from `COALMINE_LANE`,
//! `COALMINE_RUN_KIND` and `COALMINE_COMMIT`; the commit defaults to `git rev-parse HEAD`
//! in the config's folder, else `unknown`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;

use crate::config::Config;
use crate::execute::CanaryRun;
use crate::history::{History, NewResult, NewRun, RunKind};
use crate::results::Outcome;

/// The variable naming the lane recorded.
pub const LANE_ENV: &str = "COALMINE_LANE";
/// The variable naming the kind of run recorded.
pub const KIND_ENV: &str = "COALMINE_RUN_KIND";
/// The variable naming the commit recorded.
pub const COMMIT_ENV: &str = "COALMINE_COMMIT";

/// The variable the shards of one canary run share (on several machines, e.g. `cargo nextest
/// run --partition`), so that they record one run: into one server, or merged, their histories
/// hold it once. The shards must agree on its lane, kind and commit (a shard that does not
/// fails its canaries with the history's refusal).
pub const HISTORY_RUN_ENV: &str = "COALMINE_HISTORY_RUN";

/// Records the canaries of one harness invocation. Opens the database on first use.
#[derive(Debug)]
pub struct Recorder {
    /// The file or server URL opened.
    location: PathBuf,
    /// Where the history is as messages show it (a server URL's password masked).
    path: PathBuf,
    run: NewRun,
    history: Mutex<Option<History>>,
}

impl Recorder {
    /// The recorder for this invocation, or `None` when `[history] record = false`. Fails
    /// when `COALMINE_RUN_KIND` names no kind.
    pub fn from_config(config: &Config) -> Result<Option<Recorder>, String> {
        if !config.history.record {
            return Ok(None);
        }
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        let kind = match env(KIND_ENV) {
            Some(text) => RunKind::parse(text.trim()).ok_or_else(|| {
                format!(
                    "{KIND_ENV}={text:?} is not a kind of run; use one of: {}",
                    RunKind::NAMES.join(", ")
                )
            })?,
            None => config.history.kind,
        };
        let lane = env(LANE_ENV).unwrap_or_else(|| config.history.lane.clone());
        let commit = env(COMMIT_ENV).unwrap_or_else(|| head_commit(config.root()));
        let started_at = Timestamp::now();
        // One run per invocation; the processes nextest starts for one run share its id; the
        // shards of one run on several machines share `COALMINE_HISTORY_RUN`, so that their
        // histories, merged, hold one run.
        let key = match (env(HISTORY_RUN_ENV), env("NEXTEST_RUN_ID")) {
            (Some(id), _) => format!("shared:{id}"),
            (None, Some(id)) => format!("nextest:{id}"),
            (None, None) => format!(
                "harness:{}:{}",
                std::process::id(),
                started_at.as_millisecond()
            ),
        };
        let location = History::resolve_path(config.history.path.as_deref(), config.root());
        let path = crate::history::store::url_in(&location)
            .map_or_else(|| location.clone(), PathBuf::from);
        Ok(Some(Recorder {
            location,
            path,
            run: NewRun {
                lane,
                kind,
                commit,
                started_at,
                source: "coalmine harness".to_owned(),
                ingest_key: Some(key),
            },
            history: Mutex::new(None),
        }))
    }

    /// Where the history is, as messages show it: the file, or the server's URL with its
    /// password masked.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records every attempt of one canary (and the named tests each attempt reported).
    pub fn record_canary(&self, attempts: &[CanaryRun]) -> Result<(), String> {
        let results = results_of(attempts);
        if results.is_empty() {
            return Ok(());
        }
        let mut guard = self
            .history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            *guard = Some(History::open(&self.location).map_err(|error| error.to_string())?);
        }
        let Some(history) = guard.as_mut() else {
            return Ok(());
        };
        history
            .append_to_run(&self.run, &results)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }
}

/// The history rows of a canary's attempts.
fn results_of(attempts: &[CanaryRun]) -> Vec<NewResult> {
    let mut results = Vec::new();
    for run in attempts {
        let record = &run.record;
        // As numbered when it ran: within this process, or by nextest (`NEXTEST_ATTEMPT`).
        let attempt = record.attempt;
        let interrupted = record
            .problems
            .iter()
            .any(|problem| problem.starts_with("INTERRUPTED"));
        if record.exit.is_none() || interrupted {
            // The recipe CI never ran (it could not be started), or the harness stopped it:
            // neither says anything about the CI, so there is no outcome to count.
            continue;
        }
        results.push(NewResult {
            test: format!("canary::{}", record.canary),
            tags: None,
            outcome: if run.passed {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            duration_secs: record.duration_secs,
            attempt,
            message: (!run.passed)
                .then(|| run.report.lines().next().unwrap_or("failed").to_owned()),
        });
        for stage in record.results.iter().flat_map(|results| &results.stages) {
            for test in &stage.tests {
                let (test_id, tags) = named_test_id(&record.recipe, &stage.name, test);
                results.push(NewResult {
                    test: test_id,
                    tags,
                    outcome: test.outcome,
                    duration_secs: test.duration_secs,
                    attempt,
                    message: test.message.clone(),
                });
            }
        }
    }
    results
}

/// The history id of a test the recipe CI reported, by the one rule ingest uses too
/// ([`crate::ingest::test_id`]): a test with an identity of its own in the report (a
/// classname or a suite, as every JUnit-family format gives) is `<classname>::<name>` (else
/// `<suite>::<name>`), tags stripped and kept, so that a canary's run and `coalmine ingest` of
/// the same report record the same test under the same id. A test known only by its stage
/// and name (cc-ci results) is `<recipe>::<stage>::<name>`.
fn named_test_id(
    recipe: &str,
    stage: &str,
    test: &crate::results::TestCase,
) -> (String, Option<Vec<String>>) {
    let has_identity = test
        .classname
        .as_deref()
        .is_some_and(|class| !class.is_empty())
        || !test.suite.is_empty();
    if has_identity {
        let (id, tags) = crate::ingest::test_id(test);
        (id, Some(tags))
    } else {
        (format!("{recipe}::{stage}::{}", test.name), None)
    }
}

/// The commit checked out in `dir`: read from the repository's files (cheap: this runs in
/// every harness process nextest starts), else by `git rev-parse HEAD`, else `unknown`.
fn head_commit(dir: &Path) -> String {
    let in_a_repository = std::env::var_os("GIT_DIR").is_some()
        || dir.ancestors().any(|folder| folder.join(".git").exists());
    if !in_a_repository {
        return "unknown".to_owned();
    }
    read_head(dir)
        .or_else(|| {
            std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(dir)
                .stderr(std::process::Stdio::null())
                .output()
                .ok()
                .filter(|output| output.status.success())
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .map(|text| text.trim().to_owned())
                .filter(|text| is_object_id(text))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn is_object_id(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// HEAD resolved through `.git` (a folder, or a file pointing at one as in worktrees), its
/// loose refs and `packed-refs`; `None` for anything unusual, which `git` then resolves.
fn read_head(dir: &Path) -> Option<String> {
    let dot_git = dir
        .ancestors()
        .map(|folder| folder.join(".git"))
        .find(|path| path.exists())?;
    let git_dir = if dot_git.is_file() {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let target = text.trim().strip_prefix("gitdir:")?.trim();
        dot_git.parent()?.join(target)
    } else {
        dot_git
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_object_id(head).then(|| head.to_owned());
    };
    // A worktree keeps its refs in the repository's common folder.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .map(|text| git_dir.join(text.trim()))
        .unwrap_or_else(|_| git_dir.clone());
    for folder in [&git_dir, &common] {
        if let Ok(text) = std::fs::read_to_string(folder.join(reference)) {
            let id = text.trim();
            return is_object_id(id).then(|| id.to_owned());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name == reference && is_object_id(id)).then(|| id.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    #[test]
    fn head_is_read_like_git_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        assert_eq!(read_head(repo), None, "no commit yet");
        git(repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
        let nested = repo.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let expected = git(repo, &["rev-parse", "HEAD"]);
        assert_eq!(
            read_head(&nested).as_deref(),
            Some(expected.as_str()),
            "a loose ref, from a subfolder"
        );
        git(repo, &["pack-refs", "--all"]);
        assert_eq!(
            read_head(repo).as_deref(),
            Some(expected.as_str()),
            "a packed ref"
        );
        git(repo, &["checkout", "-q", "--detach"]);
        assert_eq!(
            read_head(repo).as_deref(),
            Some(expected.as_str()),
            "a detached HEAD"
        );
        git(repo, &["commit", "-q", "--allow-empty", "-m", "two"]);
        let second = git(repo, &["rev-parse", "HEAD"]);
        let tree = dir.path().join("wt");
        git(
            repo,
            &["worktree", "add", "-q", tree.to_str().unwrap(), &expected],
        );
        assert_eq!(
            read_head(&tree).as_deref(),
            Some(expected.as_str()),
            "a worktree"
        );
        assert_eq!(head_commit(repo), second);
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(read_head(outside.path()), None, "outside a repository");
        if std::env::var_os("GIT_DIR").is_none() {
            assert_eq!(head_commit(outside.path()), "unknown");
        }
    }

    #[test]
    fn named_tests_get_the_id_ingest_gives_them() {
        use crate::results::{Outcome, TestCase};
        // nextest's JUnit for the strsim crate: suite and classname are the binary id.
        let mut nextest = TestCase::new(
            "tests::hamming_diff_multibyte".to_owned(),
            Outcome::Pass,
            "pass".to_owned(),
        );
        nextest.classname = Some("strsim".to_owned());
        nextest.suite = vec!["strsim".to_owned()];
        assert_eq!(
            named_test_id("strsim", "strsim", &nextest),
            (
                "strsim::tests::hamming_diff_multibyte".to_owned(),
                Some(Vec::new())
            ),
            "not strsim::strsim::tests::hamming_diff_multibyte"
        );
        assert_eq!(
            named_test_id("strsim", "strsim", &nextest).0,
            crate::ingest::test_id(&nextest).0
        );
        // Ginkgo's tags leave the id and are kept.
        let mut ginkgo = TestCase::new(
            "[It] VM lifecycle should start [sig-compute]".to_owned(),
            Outcome::Fail,
            "failure".to_owned(),
        );
        ginkgo.classname = Some("KubeVirt Suite".to_owned());
        assert_eq!(
            named_test_id("kubevirt", "e2e", &ginkgo),
            (
                "KubeVirt Suite::VM lifecycle should start".to_owned(),
                Some(vec!["sig-compute".to_owned()])
            )
        );
        // cc-ci: a test has nothing but its stage and name.
        let cc_ci = TestCase::new("test_serving".to_owned(), Outcome::Pass, "pass".to_owned());
        assert_eq!(
            named_test_id("custom-html", "install", &cc_ci),
            ("custom-html::install::test_serving".to_owned(), None)
        );
    }
}
