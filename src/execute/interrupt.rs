//! Ctrl-C and SIGTERM while canaries run: every running recipe CI gets SIGTERM, then SIGKILL
//! after its grace period; canaries that have not started yet do not start; a second signal
//! kills at once. What finished keeps its artifacts, and the harness exits non-zero.
//!
//! Running CIs register their process groups here for as long as they run. The signal handler
//! itself only records the signal (async-signal-safe); a thread does the terminating.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use super::pgroup;

/// The first signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Running process groups and their grace periods.
static RUNNING: Mutex<BTreeMap<u32, Duration>> = Mutex::new(BTreeMap::new());

fn running() -> MutexGuard<'static, BTreeMap<u32, Duration>> {
    // A panic while holding the lock leaves the map usable: recover it.
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts listening for SIGINT and SIGTERM (once per process). Returns an error message when
/// the handlers cannot be installed.
pub fn install() -> Result<(), String> {
    static INSTALL: Once = Once::new();
    let mut result = Ok(());
    INSTALL.call_once(|| {
        let signals = signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM]);
        match signals {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    for signal in signals.forever() {
                        on_signal(signal);
                    }
                });
            }
            Err(error) => {
                result = Err(format!(
                    "cannot install the SIGINT/SIGTERM handlers: {error}"
                ))
            }
        }
    });
    result
}

fn on_signal(signal: i32) {
    let first = RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    let groups: Vec<(u32, Duration)> = running()
        .iter()
        .map(|(pgid, grace)| (*pgid, *grace))
        .collect();
    if first {
        eprintln!(
            "\ncoalmine: received {}: stopping {} running recipe CI(s) (SIGTERM, then SIGKILL after the grace period); \
             canaries not started yet will not start. Send it again to kill at once.",
            crate::check::signal_name(signal),
            groups.len()
        );
        for (pgid, grace) in groups {
            std::thread::spawn(move || pgroup::terminate_group(pgid, grace));
        }
    } else {
        eprintln!("\ncoalmine: second signal: killing every running recipe CI now");
        for (pgid, _) in groups {
            pgroup::signal_group(pgid, libc::SIGKILL);
        }
    }
}

/// The signal that interrupted the run, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// A running process group, unregistered when dropped.
#[derive(Debug)]
pub struct Registration {
    pgid: u32,
}

/// Registers a running group. If the run was already interrupted, the group is terminated at
/// once (the signal came between spawn and registration).
pub fn register(pgid: u32, grace: Duration) -> Registration {
    running().insert(pgid, grace);
    if received().is_some() {
        std::thread::spawn(move || pgroup::terminate_group(pgid, grace));
    }
    Registration { pgid }
}

impl Drop for Registration {
    fn drop(&mut self) {
        running().remove(&self.pgid);
    }
}
