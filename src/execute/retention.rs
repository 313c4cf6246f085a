//! Artifact retention: every canary run leaves a folder under `[run] artifacts`, so a canary
//! server that runs the suite daily would fill its disk. [`prune`] keeps, per canary, the
//! newest `[run] keep` run folders and the one its teeth trial uses as the last passing run,
//! and removes the rest. The harness prunes the canaries it ran after each run; `coalmine runs
//! prune` prunes every canary on demand.
//!
//! What is never removed:
//! - anything that is not a run folder: a name that is not a run id
//!   (`<canary>-<YYYYMMDDTHHMMSSZ>-<pid>-<sequence>`, see [`artifacts::new_run_id`]), a hidden
//!   entry (`.last-pass/`), a file, or a **symbolic link** (never followed, whatever it points
//!   at; inside a removed folder, links are removed, not followed);
//! - a run still in progress: the harness holds a lock on a run's folder from its creation to
//!   the end of the run ([`artifacts::lock_run`]), and a folder whose lock is held, in this
//!   process or another, is left alone; so is a folder without `canary.json` changed in the
//!   last [`UNFINISHED_GRACE`] (a run between creating its folder and locking it);
//! - the folder the canary's `.last-pass` pointer names.
//!
//! "Newest" is by the folder's modification time (a run's folder changes last when its
//! `canary.json` is written at the end of the run), then by name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::artifacts;

/// How long a run folder without `canary.json` and without a held lock is taken for a run
/// that is just starting (and kept) rather than one that died (and may be removed).
pub const UNFINISHED_GRACE: Duration = Duration::from_secs(10 * 60);

/// What [`prune`] did.
#[derive(Debug, Default)]
pub struct Pruned {
    /// The run folders removed.
    pub removed: Vec<PathBuf>,
    /// Folders past the limit that were kept because their run is in progress.
    pub in_progress: Vec<PathBuf>,
    /// Folders that could not be removed, with the reason.
    pub failed: Vec<(PathBuf, io::Error)>,
}

impl Pruned {
    /// The one line the harness and `coalmine runs prune` print, or `None` when nothing was
    /// removed and nothing failed.
    pub fn summary(&self, root: &Path, keep: usize) -> Option<String> {
        if self.removed.is_empty() && self.failed.is_empty() {
            return None;
        }
        let mut line = format!(
            "coalmine: removed {} old run folder{} under {} (keeping the newest {keep} per canary \
             and the last passing run; `[run] keep` sets it)",
            self.removed.len(),
            if self.removed.len() == 1 { "" } else { "s" },
            root.display(),
        );
        for (path, error) in &self.failed {
            line.push_str(&format!(
                "\ncoalmine: cannot remove {}: {error}",
                path.display()
            ));
        }
        Some(line)
    }
}

/// The canary a run folder's name belongs to, when the name is a run id
/// (`<canary>-<YYYYMMDDTHHMMSSZ>-<pid>-<sequence>`).
pub fn canary_of_run(name: &str) -> Option<&str> {
    let mut parts = name.rsplitn(4, '-');
    let sequence = parts.next()?;
    let pid = parts.next()?;
    let stamp = parts.next()?;
    let canary = parts.next()?;
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let stamp_ok = stamp.len() == 16
        && stamp.as_bytes()[8] == b'T'
        && stamp.as_bytes()[15] == b'Z'
        && digits(&stamp[..8])
        && digits(&stamp[9..15]);
    (digits(sequence) && digits(pid) && stamp_ok && !canary.is_empty() && !canary.starts_with('.'))
        .then_some(canary)
}

/// Keeps the newest `keep` run folders of each canary under `root` (of the canaries in `only`,
/// or of every canary when it is `None`) and the last passing run of each, and removes the
/// other run folders. A missing root has nothing to prune.
pub fn prune(root: &Path, keep: usize, only: Option<&BTreeSet<String>>) -> io::Result<Pruned> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Pruned::default()),
        Err(error) => return Err(error),
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(canary) = canary_of_run(&name) else {
            continue;
        };
        if only.is_some_and(|only| !only.contains(canary)) {
            continue;
        }
        // The entry's own type: a symbolic link is never followed, nor removed.
        if !entry.file_type()?.is_dir() {
            continue;
        }
        groups.entry(canary.to_owned()).or_default().push(name);
    }
    let mut pruned = Pruned::default();
    let now = SystemTime::now();
    for (canary, names) in groups {
        if names.len() <= keep {
            continue;
        }
        let mut folders: Vec<(SystemTime, String)> = names
            .into_iter()
            .filter_map(|name| {
                let modified = std::fs::symlink_metadata(root.join(&name))
                    .and_then(|meta| meta.modified())
                    .ok()?;
                Some((modified, name))
            })
            .collect();
        folders.sort_by(|a, b| b.cmp(a));
        let last_pass = artifacts::last_pass(root, &canary);
        for (modified, name) in folders.into_iter().skip(keep) {
            let folder = root.join(&name);
            if last_pass.as_deref() == Some(folder.as_path()) {
                continue;
            }
            match remove_finished(&folder, modified, now) {
                Ok(true) => pruned.removed.push(folder),
                Ok(false) => pruned.in_progress.push(folder),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => pruned.failed.push((folder, error)),
            }
        }
    }
    Ok(pruned)
}

/// Removes the run folder unless its run is in progress; `Ok(false)` when it was kept.
fn remove_finished(folder: &Path, modified: SystemTime, now: SystemTime) -> io::Result<bool> {
    // Held while removing, so that no run can take the folder meanwhile.
    let lock = File::open(folder)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
        Err(std::fs::TryLockError::Error(error)) => return Err(error),
    }
    let finished = std::fs::symlink_metadata(folder.join(artifacts::RECORD_FILE)).is_ok();
    let young = now.duration_since(modified).unwrap_or_default() < UNFINISHED_GRACE;
    if !finished && young {
        return Ok(false);
    }
    // Does not follow symbolic links inside the folder: they are removed as links.
    std::fs::remove_dir_all(folder)?;
    drop(lock);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_name_their_canary() {
        let id = artifacts::new_run_id("good-simple");
        assert_eq!(canary_of_run(&id), Some("good-simple"));
        assert_eq!(
            canary_of_run("a-1-20260101T000000Z-5-0-20261201T204832Z-77-3"),
            Some("a-1-20260101T000000Z-5-0")
        );
        for not_a_run in [
            "good-simple",
            "notes.txt",
            "good-simple-20261201T204832Z-77",
            "good-simple-20261201T204832-77-3",
            "good-simple-2026120XT204832Z-77-3",
            "-20261201T204832Z-77-3",
            ".last-pass-20261201T204832Z-77-3",
            "good-simple-20261201T204832Z--3",
        ] {
            assert_eq!(canary_of_run(not_a_run), None, "{not_a_run}");
        }
    }
}
