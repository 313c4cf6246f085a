//! Processes the recipe CI left running after it exited, wherever they went: in its process
//! group, or escaped from it into a group or a session of their own (`setsid`, `setpgid`, a
//! double fork). Each is described, ended (SIGTERM, the grace period, SIGKILL) and reaped, and
//! the canary fails with `UNCLEAN TEARDOWN`: a CI that leaves a daemon behind did not tear its
//! target down, whatever it says.
//!
//! # How they are found
//! - **The CI's process group**: every recipe CI leads a group of its own ([`super::pgroup`]);
//!   what is still in it after the leader exited was left behind.
//! - **Escapees** (Linux): the harness makes itself a *child subreaper*
//!   (`prctl(PR_SET_CHILD_SUBREAPER)`), so that a process whose parent exits is re-parented to
//!   the harness instead of to init, whatever group or session it moved to. After the CI
//!   exited, the harness's children that carry this run's `COALMINE_RUN_ID` in their
//!   environment, and all their descendants, are this run's leftovers. The marker is what
//!   tells runs apart when several canaries run in threads of one process (`cargo test`); under
//!   nextest each canary has a process of its own.
//!
//! # Cost
//! When the harness has no child left at all (asked of the kernel with
//! `waitid(P_ALL, WNOHANG | WNOWAIT)`, which reaps nothing), there is nothing to look for and
//! nothing is read: the common case of a CI that cleaned up costs a system call. Otherwise one
//! pass over `/proc` finds every process's parent, group and session.
//!
//! # Limits
//! - A process that escaped its group *and* cleared its environment (`env -i`) carries no
//!   marker: it is not attributed to a run, and survives, unless it descends from a process
//!   that does carry one.
//! - A process handed to a service manager (`docker run -d`, `systemd-run`) is not a
//!   descendant of the CI at all, and is out of reach.
//! - Elsewhere than Linux, only the process group is swept.
//! - Zombies cannot be attributed by their environment (the kernel no longer has it): a zombie
//!   child of the harness is reaped only when its group or session is that of this run's CI or
//!   of a leftover found in this sweep, never when it could be another run's unreaped process.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::pgroup;

/// How often ending processes are looked at again.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the kernel after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(2);
/// Sweeps of escapees (a leftover that forks while it is ended leaves a new orphan).
const ROUNDS: usize = 8;
/// How long an empty environment is read again (see [`has_marker`]).
const EXEC_WINDOW: Duration = Duration::from_millis(50);
/// The longest command line shown for a leftover.
const COMMAND_SHOWN: usize = 80;

/// Where a leftover process was when it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// Still in the CI's process group.
    CiGroup,
    /// In a session of its own (`setsid`): it leads it.
    OwnSession,
    /// In another new session, which another process started (a daemon's double fork).
    NewSession,
    /// In a process group of its own (`setpgid`), in the harness's session.
    OwnGroup,
    /// In some other process group.
    OtherGroup,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Place::CiGroup => "in its process group",
            Place::OwnSession => "in its own session",
            Place::NewSession => "in a new session",
            Place::OwnGroup => "in a process group of its own",
            Place::OtherGroup => "in another process group",
        })
    }
}

/// One process the CI left running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftover {
    /// Its process id.
    pub pid: u32,
    /// Its command line (or its name), shortened and with control characters escaped.
    pub command: String,
    /// Where it was.
    pub place: Place,
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} {:?}, {}", self.pid, self.command, self.place)
    }
}

/// The `UNCLEAN TEARDOWN` headline for these leftovers (which must not be empty).
pub fn headline(leftovers: &[Leftover]) -> String {
    const SHOWN: usize = 5;
    let mut listed: Vec<String> = leftovers
        .iter()
        .take(SHOWN)
        .map(Leftover::to_string)
        .collect();
    if leftovers.len() > SHOWN {
        listed.push(format!("and {} more", leftovers.len() - SHOWN));
    }
    format!(
        "UNCLEAN TEARDOWN: the recipe CI left {} running after it exited ({}); {} killed",
        match leftovers.len() {
            1 => "1 process".to_owned(),
            n => format!("{n} processes"),
        },
        listed.join("; "),
        if leftovers.len() == 1 {
            "it was"
        } else {
            "they were"
        },
    )
}

/// Makes this process the child subreaper of its descendants (once; Linux only), so that a
/// recipe CI's orphans come back to it. Called before the first recipe CI is spawned.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) takes no pointers.
            let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
            if done != 0 {
                eprintln!(
                    "warning: cannot become a child subreaper ({}): processes a recipe CI starts \
                     outside its process group may outlive it unnoticed",
                    std::io::Error::last_os_error()
                );
            }
        });
    }
}

/// Ends everything the CI (process group `pgid`, run id `run_id`) left running after it
/// exited: its group, then escapees. Returns each, as found before it was ended.
pub fn sweep(pgid: u32, run_id: &str, grace: Duration) -> Vec<Leftover> {
    let mut found: Vec<Leftover> = pgroup::live_members(pgid)
        .into_iter()
        .map(|pid| Leftover {
            pid,
            command: command_of(pid),
            place: Place::CiGroup,
        })
        .collect();
    if !found.is_empty() {
        pgroup::terminate_group(pgid, grace);
    }
    #[cfg(target_os = "linux")]
    sweep_escapees(pgid, run_id, grace, &mut found);
    #[cfg(not(target_os = "linux"))]
    let _ = run_id;
    found
}

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy)]
struct Proc {
    pid: u32,
    ppid: u32,
    pgrp: u32,
    session: u32,
    zombie: bool,
}

#[cfg(target_os = "linux")]
fn sweep_escapees(ci_pgid: u32, run_id: &str, grace: Duration, found: &mut Vec<Leftover>) {
    let me = std::process::id();
    // SAFETY: getpgrp and getsid(0) take no pointers and cannot fail for the caller.
    let (my_group, my_session) = unsafe { (libc::getpgrp() as u32, libc::getsid(0) as u32) };
    let marker = format!("COALMINE_RUN_ID={run_id}");
    let mut seen: BTreeSet<u32> = found.iter().map(|leftover| leftover.pid).collect();
    // Groups and sessions that are this run's: a zombie child in one of them is reaped.
    let mut ours = BTreeSet::from([ci_pgid]);
    for _ in 0..ROUNDS {
        if !has_children() {
            return;
        }
        let procs = snapshot();
        let mut children: HashMap<u32, Vec<Proc>> = HashMap::new();
        for proc in &procs {
            children.entry(proc.ppid).or_default().push(*proc);
        }
        let mine = children.remove(&me).unwrap_or_default();
        // This run's escapees: children of the harness with the run's marker, and everything
        // below them.
        let mut alive: BTreeMap<u32, Proc> = BTreeMap::new();
        let mut queue: Vec<Proc> = mine
            .iter()
            .filter(|proc| {
                !proc.zombie && (seen.contains(&proc.pid) || has_marker(proc.pid, &marker))
            })
            .copied()
            .collect();
        while let Some(proc) = queue.pop() {
            if proc.zombie || alive.insert(proc.pid, proc).is_some() {
                continue;
            }
            queue.extend(children.get(&proc.pid).into_iter().flatten().copied());
        }
        for proc in alive.values() {
            for id in [proc.pgrp, proc.session] {
                if id != my_group && id != my_session {
                    ours.insert(id);
                }
            }
            if seen.insert(proc.pid) {
                found.push(Leftover {
                    pid: proc.pid,
                    command: command_of(proc.pid),
                    place: place_of(proc, ci_pgid, my_session),
                });
            }
        }
        if !alive.is_empty() {
            end(alive.keys().copied().collect(), grace);
        }
        // Reap this run's zombie children (the leftovers just ended, and their own children
        // that were re-parented here when they died).
        let mut reaped = false;
        for proc in snapshot()
            .iter()
            .filter(|proc| proc.ppid == me && proc.zombie)
        {
            if seen.contains(&proc.pid) || ours.contains(&proc.pgrp) || ours.contains(&proc.session)
            {
                reap(proc.pid);
                reaped = true;
            }
        }
        if alive.is_empty() && !reaped {
            return;
        }
    }
}

/// Whether this process has any child, alive or not (reaps nothing).
#[cfg(target_os = "linux")]
fn has_children() -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value for waitid to overwrite.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with a valid siginfo pointer; WNOWAIT leaves any child waitable.
    let done = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    !(done == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

/// Every process in `/proc`.
fn snapshot() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            stat(pid)
        })
        .collect()
}

fn stat(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) is in parentheses and may hold anything; after the last ')' come
    // state, ppid, pgrp, session, ...
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        pgrp,
        session,
        zombie: matches!(state, "Z" | "X"),
    })
}

/// Whether the process's environment holds `marker`. A process caught in the middle of an
/// `execve` shows an empty environment for a moment (the new program's is not in place yet):
/// an empty one is read again, for up to [`EXEC_WINDOW`], before it is taken as empty.
fn has_marker(pid: u32, marker: &str) -> bool {
    let start = Instant::now();
    loop {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            return false; // gone, or not ours to read
        };
        if !environ.is_empty() {
            return environ
                .split(|byte| *byte == 0)
                .any(|entry| entry == marker.as_bytes());
        }
        if start.elapsed() >= EXEC_WINDOW || stat(pid).is_none_or(|proc| proc.zombie) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn place_of(proc: &Proc, ci_pgid: u32, ci_session: u32) -> Place {
    if proc.pgrp == ci_pgid {
        Place::CiGroup
    } else if proc.session == proc.pid {
        Place::OwnSession
    } else if proc.session != ci_session {
        Place::NewSession
    } else if proc.pgrp == proc.pid {
        Place::OwnGroup
    } else {
        Place::OtherGroup
    }
}

/// The command line of a process, shortened, with control and invisible characters escaped;
/// its name when the command line is empty (a kernel thread, a zombie).
fn command_of(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut text: String = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .filter(|arg| !arg.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        text = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim_end()
            .to_owned();
    }
    let mut shown: String = text
        .chars()
        .flat_map(|c| {
            if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}') {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if shown.chars().count() > COMMAND_SHOWN {
        shown = shown.chars().take(COMMAND_SHOWN).collect::<String>() + "…";
    }
    shown
}

/// SIGTERM to each, up to `grace` for them to go, then SIGKILL to what is left.
fn end(pids: Vec<u32>, grace: Duration) {
    signal_each(&pids, libc::SIGTERM);
    if !wait_gone(&pids, grace) {
        signal_each(&pids, libc::SIGKILL);
        wait_gone(&pids, AFTER_KILL);
    }
}

fn signal_each(pids: &[u32], signal: i32) {
    for &pid in pids {
        if let Ok(pid) = i32::try_from(pid)
            && pid > 1
        {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

/// Waits until none of `pids` is alive (gone, or a zombie), up to `limit`.
fn wait_gone(pids: &[u32], limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if pids
            .iter()
            .all(|&pid| stat(pid).is_none_or(|proc| proc.zombie))
        {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Reaps a zombie child of this process.
fn reap(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid on one child with a valid status pointer; WNOHANG never blocks.
    unsafe {
        libc::waitpid(pid, &mut status, libc::WNOHANG);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_name_each_process_and_where_it_was() {
        let one = [Leftover {
            pid: 1234,
            command: "sleep 100000".to_owned(),
            place: Place::OwnSession,
        }];
        assert_eq!(
            headline(&one),
            "UNCLEAN TEARDOWN: the recipe CI left 1 process running after it exited (pid 1234 \
             \"sleep 100000\", in its own session); it was killed"
        );
        let many: Vec<Leftover> = (1..=7)
            .map(|pid| Leftover {
                pid,
                command: "x".to_owned(),
                place: Place::CiGroup,
            })
            .collect();
        let text = headline(&many);
        assert!(
            text.starts_with("UNCLEAN TEARDOWN: the recipe CI left 7 processes"),
            "{text}"
        );
        assert!(
            text.contains("pid 5 \"x\", in its process group; and 2 more); they were killed"),
            "{text}"
        );
    }

    #[test]
    fn this_process_is_read_from_proc() {
        let me = stat(std::process::id()).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(!me.zombie);
        assert!(command_of(std::process::id()).contains("coalmine"));
    }
}
