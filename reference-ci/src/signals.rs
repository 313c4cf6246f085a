//! SIGTERM/SIGINT handling for the CI process. The handler kills every service the CI has
//! running and exits at once with 128+signal. It only uses async-signal-safe operations
//! (atomic loads, `kill`, `_exit`), which is why live service pids sit in a fixed array of
//! atomics instead of a locked collection. If more than [`SLOTS`] services run at once the
//! extra ones are not tracked here; they still die from the process-group signal a harness
//! sends, since services stay in the CI's group.

use std::sync::atomic::{AtomicI32, Ordering};

/// Capacity of the pid registry.
pub const SLOTS: usize = 64;

static LIVE_PIDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Records a running service so the signal handler can kill it. Returns false if the registry
/// is full.
pub fn register(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    LIVE_PIDS.iter().any(|slot| {
        slot.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })
}

/// Forgets a service that has been reaped (so its pid, which the kernel may reuse, is never
/// signalled).
pub fn unregister(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    for slot in &LIVE_PIDS {
        if slot
            .compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

extern "C" fn on_terminate(signal: libc::c_int) {
    for slot in &LIVE_PIDS {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe; pid is a child we have not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    // SAFETY: _exit is async-signal-safe and skips destructors that might take locks.
    unsafe { libc::_exit(128 + signal) }
}

/// Installs the handler for SIGTERM and SIGINT.
pub fn install() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler is
        // an `extern "C" fn(c_int)` as `sa_sigaction` expects without SA_SIGINFO.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_terminate as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tracks_and_forgets_pids() {
        // Pids far above any real pid_max so parallel tests cannot collide.
        assert!(register(2_000_000_001));
        assert!(
            LIVE_PIDS
                .iter()
                .any(|slot| slot.load(Ordering::SeqCst) == 2_000_000_001)
        );
        unregister(2_000_000_001);
        assert!(
            !LIVE_PIDS
                .iter()
                .any(|slot| slot.load(Ordering::SeqCst) == 2_000_000_001)
        );
        assert!(!register(u32::MAX));
    }
}
