//! Process groups: every recipe CI runs as the leader of its own group, so that it and whatever
//! it forks can be signalled together and none of it outlives the canary.

use std::time::{Duration, Instant};

/// How often a terminating group is looked at again.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the kernel to reap a group after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// Sends a signal to every process of a group. Errors (the group is gone) are ignored.
pub fn signal_group(pgid: u32, signal: i32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return; // never signal "every process" (-1) or our own group (0)
    }
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid addresses a group.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// The live (not zombie) processes of a group.
///
/// On Linux this reads `/proc`; elsewhere it can only tell whether the group exists at all, and
/// answers with the group id itself in that case.
pub fn live_members(pgid: u32) -> Vec<u32> {
    let Ok(raw) = i32::try_from(pgid) else {
        return Vec::new();
    };
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    let exists = raw > 1 && unsafe { libc::kill(-raw, 0) } == 0;
    if !exists {
        return Vec::new();
    }
    if cfg!(target_os = "linux") {
        proc_members(pgid)
    } else {
        vec![pgid]
    }
}

/// Scans `/proc/<pid>/stat` for processes in the group that are not zombies.
fn proc_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![pgid];
    };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // the process ended while we looked
        };
        // The command name (field 2) is in parentheses and may contain spaces; fields after the
        // last ')' are: state, ppid, pgrp, ...
        let Some(after) = stat.rfind(')').map(|index| &stat[index + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next();
        let group = fields.nth(1).and_then(|field| field.parse::<u32>().ok());
        if group == Some(pgid) && state != Some("Z") && state != Some("X") {
            members.push(pid);
        }
    }
    members
}

/// Ends a process group: SIGTERM, up to `grace` for it to exit, then SIGKILL. Returns how many
/// live processes the group had when this started (0: nothing to do).
pub fn terminate_group(pgid: u32, grace: Duration) -> usize {
    let found = live_members(pgid).len();
    if found == 0 {
        return 0;
    }
    signal_group(pgid, libc::SIGTERM);
    if !wait_until_empty(pgid, grace) {
        signal_group(pgid, libc::SIGKILL);
        wait_until_empty(pgid, AFTER_KILL);
    }
    found
}

/// Waits until the group has no live process, up to `limit`. Returns whether it is empty.
pub fn wait_until_empty(pgid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if live_members(pgid).is_empty() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(POLL);
    }
}
