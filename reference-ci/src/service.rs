//! Starting and stopping service processes. A service is this same binary run as
//! `reference-ci serve ...` (see `serve`), spawned in the CI's own process group so that a
//! harness killing the group kills services too. Start waits for the `listening ADDR` line on
//! the child's stdout; stop sends SIGTERM, escalates to SIGKILL, and always reaps. A
//! [`Ledger`] remembers every service and port of the run, for the clean-teardown flag.

use std::cell::RefCell;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::http::{self, IO_TIMEOUT, Request};
use crate::serve::{HANDSHAKE_PREFIX, WRITE_TOKEN_VAR};
use crate::signals;

/// How long a service gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// Timeout of the post-teardown port probe (refusal on loopback is immediate).
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// One port a service of this run listened on.
#[derive(Debug, Clone)]
struct PortRecord {
    service: String,
    label: String,
    addr: SocketAddr,
}

#[derive(Debug, Default)]
struct LedgerState {
    ports: Vec<PortRecord>,
    unreaped: Vec<String>,
}

/// Every service started during a run and whether it was reaped. Shared (cheaply cloned) by
/// all deployments of the run; single-threaded, like the CI itself.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Rc<RefCell<LedgerState>>);

impl Ledger {
    fn started(&self, service: &str, label: &str, addr: SocketAddr) {
        self.0.borrow_mut().ports.push(PortRecord {
            service: service.to_owned(),
            label: label.to_owned(),
            addr,
        });
    }

    fn not_reaped(&self, service: &str, label: &str) {
        self.0
            .borrow_mut()
            .unreaped
            .push(format!("{service} ({label})"));
    }

    /// Checks, after teardown, that every service was reaped and that none of the ports they
    /// listened on still answers as that service. Returns the problems found (empty = clean).
    ///
    /// A port that accepts a connection is asked for `/version`: the kernel may have handed
    /// the port to an unrelated process since (e.g. a concurrent run), which is not ours to
    /// worry about; only a listener identifying as the same service of this CI process is.
    pub fn teardown_problems(&self) -> Vec<String> {
        let state = self.0.borrow();
        let mut problems: Vec<String> = state
            .unreaped
            .iter()
            .map(|service| format!("service {service} was not reaped"))
            .collect();
        for port in &state.ports {
            match TcpStream::connect_timeout(&port.addr, PROBE_TIMEOUT) {
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => {}
                Err(error) => problems.push(format!(
                    "port {} of {} ({}): probe failed: {error}",
                    port.addr, port.service, port.label
                )),
                Ok(_) if !still_ours(port) => {}
                Ok(_) => problems.push(format!(
                    "port {} of {} ({}) still accepts connections",
                    port.addr, port.service, port.label
                )),
            }
        }
        problems
    }
}

fn still_ours(port: &PortRecord) -> bool {
    let Ok(response) =
        http::send_with_timeout(port.addr, &Request::new("GET", "/version"), PROBE_TIMEOUT)
    else {
        return false;
    };
    let Ok(version) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
        return false;
    };
    version["service"] == port.service.as_str()
        && version["label"] == port.label.as_str()
        && version["ci_pid"] == std::process::id()
}

/// A running service process. Dropping it stops it, so no early return or panic in a test
/// can leave a process behind.
#[derive(Debug)]
pub struct ServiceProcess {
    name: String,
    label: String,
    child: Child,
    addr: SocketAddr,
    ledger: Ledger,
    stopped: bool,
}

impl ServiceProcess {
    /// Spawns `reference-ci serve` with `args` in working directory `cwd` (its volume, which
    /// also ties the process to its run in `/proc/<pid>/cwd`), stderr appended to `log`, the
    /// write token (if any) in its environment, and waits up to [`IO_TIMEOUT`] for it to
    /// announce its port.
    pub fn start(
        args: &ServeArgs,
        write_token: Option<&str>,
        cwd: &Path,
        log: &Path,
        ledger: &Ledger,
    ) -> Result<ServiceProcess, Error> {
        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir)
                .map_err(|error| Error::io(format!("creating {}", dir.display()), error))?;
        }
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|error| Error::io(format!("opening {}", log.display()), error))?;
        let exe = std::env::current_exe()
            .map_err(|error| Error::io("locating the reference-ci binary", error))?;
        let mut command = Command::new(exe);
        command
            .args(args.to_args())
            .current_dir(cwd)
            .env_remove(WRITE_TOKEN_VAR)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        if let Some(token) = write_token {
            command.env(WRITE_TOKEN_VAR, token);
        }
        let fail = |message: String| Error::Service {
            service: args.name.clone(),
            message,
        };
        let mut child = command
            .spawn()
            .map_err(|error| fail(format!("could not start: {error}")))?;
        signals::register(child.id());
        match wait_for_handshake(&mut child) {
            Ok(addr) => {
                ledger.started(&args.name, &args.label, addr);
                Ok(ServiceProcess {
                    name: args.name.clone(),
                    label: args.label.clone(),
                    child,
                    addr,
                    ledger: ledger.clone(),
                    stopped: false,
                })
            }
            Err(message) => {
                // Best effort: the child may already be gone, which is what we want anyway.
                let _ = child.kill();
                let _ = child.wait();
                signals::unregister(child.id());
                Err(fail(format!("{message}; see {}", log.display())))
            }
        }
    }

    /// Service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the service: SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL; always reaps.
    pub fn stop(mut self) {
        self.stop_in_place();
    }

    fn stop_in_place(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.child.id();
        if let Ok(raw_pid) = libc::pid_t::try_from(pid) {
            // SAFETY: signalling our own unreaped child; its pid cannot have been reused.
            unsafe {
                libc::kill(raw_pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        let mut reaped = false;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => {
                    reaped = true;
                    break;
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        if !reaped {
            let _ = self.child.kill();
            reaped = self.child.wait().is_ok();
        }
        signals::unregister(pid);
        if !reaped {
            self.ledger.not_reaped(&self.name, &self.label);
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.stop_in_place();
    }
}

/// Reads the child's first stdout line (`listening ADDR`) on a helper thread, so that a child
/// that never writes cannot block the CI past [`IO_TIMEOUT`].
fn wait_for_handshake(child: &mut Child) -> Result<SocketAddr, String> {
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        // The receiver is gone only if the CI gave up waiting; nothing to do then.
        let _ = sender.send(result);
    });
    match receiver.recv_timeout(IO_TIMEOUT) {
        Ok(Ok(line)) if line.is_empty() => Err("exited before listening".to_owned()),
        Ok(Ok(line)) => line
            .trim()
            .strip_prefix(HANDSHAKE_PREFIX)
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| format!("unexpected handshake {line:?}")),
        Ok(Err(error)) => Err(format!("reading its handshake: {error}")),
        Err(_) => Err(format!(
            "did not announce a port within {} s",
            IO_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn ledger_accepts_refused_and_foreign_ports() {
        let ledger = Ledger::default();
        // A port nobody listens on any more.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        ledger.started("web", "install@r", closed);
        assert!(ledger.teardown_problems().is_empty());
        // A port held by some other program: not a service of ours.
        let foreign = TcpListener::bind("127.0.0.1:0").unwrap();
        let foreign_addr = foreign.local_addr().unwrap();
        thread::spawn(move || {
            http::serve(foreign, |_: &Request| http::Response::text(200, "hello"))
        });
        ledger.started("web", "install@r", foreign_addr);
        assert!(ledger.teardown_problems().is_empty());
        ledger.not_reaped("web", "install@r");
        assert_eq!(
            ledger.teardown_problems(),
            ["service web (install@r) was not reaped"]
        );
    }

    #[test]
    fn ledger_flags_a_port_still_served_by_our_service() {
        let ledger = Ledger::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            http::serve(listener, |_: &Request| {
                http::Response::json(
                    200,
                    &serde_json::json!({"service": "web", "label": "install@r", "ci_pid": std::process::id()}),
                )
            })
        });
        ledger.started("web", "install@r", addr);
        assert_eq!(ledger.teardown_problems().len(), 1);
    }
}
