//! Spawning the recipe CI: never through a shell, in its own process group, output straight to
//! files, with a timeout (SIGTERM to the group, a grace period, then SIGKILL), periodic "slow"
//! notices, and a sweep of any process the CI left behind when it exited, in its group or
//! escaped from it ([`super::leftovers`]).

use std::fs::File;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use super::leftovers::{self, Leftover};
use super::{interrupt, pgroup};
use crate::check::Exit;

/// What to run and how long to let it run.
#[derive(Debug)]
pub struct Spawn {
    /// The resolved program.
    pub program: PathBuf,
    /// Its arguments (argv[1..]).
    pub args: Vec<String>,
    /// Its working directory.
    pub workdir: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Where standard output goes.
    pub stdout: File,
    /// Where standard error goes.
    pub stderr: File,
    /// When the group gets SIGTERM.
    pub timeout: Duration,
    /// How long after SIGTERM before SIGKILL.
    pub grace: Duration,
    /// After how long (and how often again) `on_slow` is called.
    pub slow: Duration,
}

/// How a process run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The process id, which is also its process group id.
    pub pid: u32,
    /// How it ended.
    pub exit: Exit,
    /// Whether the timeout expired and the group was terminated.
    pub timed_out: bool,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Wall-clock end.
    pub ended_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// Processes it left running after it exited (in its group or escaped from it), which were
    /// then ended.
    pub leftovers: Vec<Leftover>,
}

/// Runs the process to completion. `on_slow` gets the elapsed time each time `slow` passes;
/// `at_exit` is called once the CI has exited, before what it left running is ended.
pub fn run(
    spawn: Spawn,
    on_slow: &mut dyn FnMut(Duration),
    at_exit: &mut dyn FnMut(),
) -> io::Result<Finished> {
    let mut command = Command::new(&spawn.program);
    command
        .args(&spawn.args)
        .current_dir(&spawn.workdir)
        .envs(spawn.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(spawn.stdout)
        .stderr(spawn.stderr)
        .process_group(0);
    // The run's marker, which its escaped processes still carry.
    let run_id = spawn
        .env
        .iter()
        .find(|(key, _)| key == "COALMINE_RUN_ID")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    leftovers::become_subreaper();
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut child = command.spawn()?;
    let pid = child.id();
    let registration = interrupt::register(pid, spawn.grace);

    // A thread blocks in wait() so that the exit is seen at once, without polling latency.
    let (sender, receiver) = mpsc::channel::<io::Result<ExitStatus>>();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait());
    });

    let deadline = start + spawn.timeout;
    let mut next_slow = start + spawn.slow;
    let mut timed_out = false;
    let status = loop {
        let now = Instant::now();
        let wake = if timed_out {
            None
        } else {
            Some(deadline.min(next_slow))
        };
        let received = match wake {
            Some(wake) => receiver.recv_timeout(wake.saturating_duration_since(now)),
            None => receiver
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(status) => break status?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other(
                    "the thread waiting for the recipe CI ended without its status",
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= deadline => {
                timed_out = true;
                pgroup::terminate_group(pid, spawn.grace);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                on_slow(start.elapsed());
                next_slow += spawn.slow;
            }
        }
    };
    let duration = start.elapsed();
    let ended_at = SystemTime::now();
    at_exit();
    // The leader is gone; anything still in its group, or escaped from it, was left behind.
    let leftovers = leftovers::sweep(pid, &run_id, spawn.grace);
    drop(registration);
    Ok(Finished {
        pid,
        exit: exit_of(status),
        timed_out,
        started_at,
        ended_at,
        duration,
        leftovers,
    })
}

fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Code(-1),
    }
}
