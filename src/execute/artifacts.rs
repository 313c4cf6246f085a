//! The layout of the artifact folder (`[run] artifacts`), in one place for everything that
//! writes or reads it: running a canary, its failure report, the teeth trials and retention
//! ([`super::retention`]).
//!
//! ```text
//! <artifacts>/
//!   <run id>/              one folder per run, named by its run id (see [`new_run_id`])
//!     stdout.log           STDOUT_LOG: the recipe CI's standard output
//!     stderr.log           STDERR_LOG: its standard error
//!     canary.json          RECORD_FILE: the run record, written when the run ends
//!     ...                  whatever the CI writes into {artifacts}
//!   .last-pass/<canary>    LAST_PASS: the name of the canary's last passing run folder
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

/// The captured standard output, inside the run's artifact folder.
pub const STDOUT_LOG: &str = "stdout.log";
/// The captured standard error, inside the run's artifact folder.
pub const STDERR_LOG: &str = "stderr.log";
/// The run record, inside the run's artifact folder.
pub const RECORD_FILE: &str = "canary.json";

/// A run id unique across threads and processes, which is also the name of the run's folder:
/// `<canary>-<UTC time>-<pid>-<sequence>`, the sequence counting runs within one process.
pub fn new_run_id(canary: &str) -> String {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("{canary}-{stamp}-{}-{sequence}", std::process::id())
}

/// The folder, under the artifact root, of pointers to each canary's last passing run.
pub const LAST_PASS: &str = ".last-pass";

/// Records that the run in `run_folder` (directly under the artifact root) passed: the teeth
/// trial of its canary will use it as a baseline.
///
/// The pointer `<root>/.last-pass/<canary>` holds the run folder's name and a newline. It is
/// overwritten in place (written, then cut to length) rather than written to a temporary file
/// and renamed over the old one: a rename allocates an inode and frees the old one on every
/// passing run, and on ext4 every inode freed in the last minutes slows down each file the
/// next runs create. A pointer torn by a crash or by a concurrent writer can at worst name a
/// folder that [`crate::teeth::last_passing_run`] then refuses (it is not a passing run of this canary), so
/// the teeth trial falls back to a baseline synthesised from the checks; or it names another
/// passing run of the same canary, which is as sound a baseline as the last one.
pub fn remember_pass(run_folder: &Path, canary: &str) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let (Some(root), Some(run)) = (run_folder.parent(), run_folder.file_name()) else {
        return Ok(());
    };
    let pointers = root.join(LAST_PASS);
    let pointer = pointers.join(canary);
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&pointer)
    };
    let file = match open() {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&pointers)?;
            open()?
        }
        Err(error) => return Err(error),
    };
    let mut line = Vec::with_capacity(run.len() + 1);
    line.extend_from_slice(run.as_encoded_bytes());
    line.push(b'\n');
    file.write_all_at(&line, 0)?;
    file.set_len(line.len() as u64)
}

/// Locks a run's folder for as long as the returned file is open: the harness holds it from
/// the folder's creation to the end of the run, so that retention
/// ([`super::retention::prune`]) never removes a run in progress, in this process or another.
/// (An advisory `flock`, released by the kernel when the process ends, however it ends.)
pub fn lock_run(folder: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::File::open(folder)?;
    file.lock()?;
    Ok(file)
}

/// The folder of the canary's last passing run, as its pointer names it, if the pointer exists
/// and names a folder directly under `root` (nothing else is ever returned: not a path with a
/// `/`, not a hidden name). The folder may no longer exist or hold another run: callers check
/// its `canary.json`.
///
/// The pointer's first line names the run folder (pointers written before it ended with a
/// newline have no newline at all).
pub fn last_pass(root: &Path, canary: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(root.join(LAST_PASS).join(canary)).ok()?;
    let run = text.split('\n').next().unwrap_or_default().trim();
    if run.is_empty() || run.contains(['/', '\0']) || run.starts_with('.') {
        return None;
    }
    Some(root.join(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_unique_and_readable() {
        let first = new_run_id("good-simple");
        let second = new_run_id("good-simple");
        assert_ne!(first, second);
        assert!(first.starts_with("good-simple-20"), "{first}");
        assert!(first.contains(&format!("-{}-", std::process::id())));
        assert!(!first.contains(':'));
    }
}
