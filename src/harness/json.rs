//! `--format json`: runs the trials and prints libtest's JSON event stream, one object a
//! line: the suite starting, each trial starting and ending (`ok`, `failed`) with its
//! `exec_time` in seconds, and the suite ending with its counts. libtest-mimic's own JSON has
//! no per-test time, which reports need. Like libtest-mimic's output and `--list`, the stream
//! goes to `--logfile` when one is given, else to standard output.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use super::trials::{Job, TrialOutcome, TrialStatus};

/// Where the events go: standard output, or the `--logfile`.
pub type Sink = Box<dyn Write + Send>;

/// Runs the jobs on `threads` threads, writing events to `sink`, and hands every outcome to
/// `collect`. Returns whether every trial passed.
pub fn run(
    jobs: Vec<Job>,
    threads: usize,
    filtered_out: usize,
    run_ignored: bool,
    collect: &(dyn Fn(&TrialOutcome) + Sync),
    sink: Sink,
) -> bool {
    let start = Instant::now();
    let sink = Mutex::new(sink);
    let emit = |event: &serde_json::Value| {
        let mut out = sink.lock().unwrap_or_else(|p| p.into_inner());
        // A closed pipe must not panic the run: the trials still run and the exit code tells.
        let _ = writeln!(out, "{event}");
        let _ = out.flush();
    };
    emit(&serde_json::json!({"type": "suite", "event": "started", "test_count": jobs.len()}));
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<Job>>());
    let counts = Mutex::new((0usize, 0usize, 0usize));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let Some(job) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                    else {
                        break;
                    };
                    emit(
                        &serde_json::json!({"type": "test", "event": "started", "name": job.name}),
                    );
                    if let Some(marker) = job.quarantine.as_ref().filter(|_| !run_ignored) {
                        emit(&serde_json::json!({
                            "type": "test", "name": job.name, "event": "ignored", "message": marker
                        }));
                        counts.lock().unwrap_or_else(|p| p.into_inner()).2 += 1;
                        continue;
                    }
                    let outcome = (job.run)();
                    let mut event = serde_json::json!({
                        "type": "test",
                        "name": outcome.name,
                        "event": match outcome.status {
                            TrialStatus::Passed => "ok",
                            TrialStatus::Failed => "failed",
                            TrialStatus::Ignored => "ignored",
                        },
                        "exec_time": outcome.duration.as_secs_f64(),
                    });
                    if let Some(message) = &outcome.message {
                        event["stdout"] = serde_json::Value::String(message.clone());
                    }
                    emit(&event);
                    {
                        let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
                        match outcome.status {
                            TrialStatus::Passed => counts.0 += 1,
                            TrialStatus::Failed => counts.1 += 1,
                            TrialStatus::Ignored => counts.2 += 1,
                        }
                    }
                    collect(&outcome);
                }
            });
        }
    });
    let (passed, failed, ignored) = *counts.lock().unwrap_or_else(|p| p.into_inner());
    emit(&serde_json::json!({
        "type": "suite",
        "event": if failed == 0 { "ok" } else { "failed" },
        "passed": passed,
        "failed": failed,
        "ignored": ignored,
        "measured": 0,
        "filtered_out": filtered_out,
        "exec_time": start.elapsed().as_secs_f64(),
    }));
    failed == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::trials::TrialStatus;
    use std::sync::Arc;

    /// A sink the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_event_goes_to_the_sink() {
        let job = Job {
            name: "canary::a".to_owned(),
            quarantine: None,
            ignored: false,
            run: Box::new(|| TrialOutcome {
                name: "canary::a".to_owned(),
                kind: crate::harness::CANARY,
                status: TrialStatus::Passed,
                message: None,
                duration: std::time::Duration::from_millis(3),
                attempts: Vec::new(),
            }),
        };
        let sink = Shared::default();
        assert!(run(vec![job], 1, 2, false, &|_| {}, Box::new(sink.clone())));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|event| {
                (
                    event["type"].as_str().unwrap(),
                    event["event"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("suite", "started"),
                ("test", "started"),
                ("test", "ok"),
                ("suite", "ok")
            ]
        );
        assert_eq!(events[3]["filtered_out"], 2);
    }
}
