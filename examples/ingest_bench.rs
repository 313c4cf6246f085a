//! `coalmine ingest` throughput: JUnit testcases per second from files into a fresh history
//! database, by the `coalmine` binary itself and through the library path it uses
//! ([`coalmine::ingest::ingest`]) step by step, on one core, compared in the same run with
//! Python's junitparser merely parsing the same files.
//!
//! ```sh
//! python3 -m venv /tmp/coalmine-junitparser-venv
//! /tmp/coalmine-junitparser-venv/bin/pip install junitparser
//! cargo build --release --bin coalmine
//! cargo run --release --example ingest_bench
//! ```
//!
//! Generates 1,000,000 testcases (`--cases`) as 100 runs (`--runs`) of one 10,000-test suite,
//! each run written as 4 partial files (`--files`): KubeVirt-like names with bracket tags, 3 %
//! failures with a message and a stack trace, 1 % skipped, 10 % with a line of `<system-out>`.
//! Then, pinned to one CPU, for `--rounds` rounds (default 3, the median is reported):
//!
//! 1. **adapter**: the JUnit reader alone as the ingest uses it
//!    ([`coalmine::results::formats::Junit::read_borrowed`]), into a counting sink;
//! 2. **parse**: [`coalmine::ingest::read_files`] for every run (adapter, test ids and tags,
//!    merging, SHA-256 of the bytes), without the database;
//! 3. **record**: [`History::record_run`] of every run already parsed, into a new database;
//! 4. **ingest**: [`coalmine::ingest::ingest`] of every run into one new database kept open
//!    (parse and record);
//! 5. **reopening**: the same, the database opened and closed for each run, as separate
//!    `coalmine ingest` calls do it, but in this one process. Its steps are timed too (open,
//!    read the files, record, close: closing checkpoints the write-ahead log, with two fsyncs);
//! 6. **cli**: the `coalmine` binary itself, one `coalmine ingest` process per run into a new
//!    history, as a CI step runs it (process start, reading the command line, output
//!    included): the binary beside this example (`target/release/coalmine`, built by
//!    `cargo build --release`) or `COALMINE_BIN`; left out, with a warning, when there is none
//!    or it is older than this benchmark;
//! 7. **junitparser**: one Python process (`JUNITPARSER_PYTHON`, else
//!    `/tmp/coalmine-junitparser-venv/bin/python`) parsing every file and counting its cases,
//!    timed inside Python (interpreter start-up excluded); skipped when not installed.
//!
//! The goal is at least 500,000 testcases per second for `coalmine ingest`: the `cli` phase
//! (the `reopening` phase when the binary is not measured). Every phase also reports how long
//! it **waited for the CPU** (the run-queue delay in `/proc/<pid>/schedstat`, of the
//! `coalmine` processes and Python's too): time another process ran on the pinned CPU. One
//! busy process there (a build, a second benchmark) doubles every figure; the benchmark then
//! says that its figures are not the machine's and should be measured again on an idle machine.
//!
//! Options: `--dir PATH` keeps the generated files and databases there; `--only PHASE`
//! (repeatable: `adapter`, `record`, `parse`, `ingest`, `reopening`, `cli`, `junitparser`)
//! measures only those phases, e.g. under `perf record`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use coalmine::history::{History, NewRun, RunKind};
use coalmine::ingest::{self, RunInfo};
use coalmine::results::formats::Junit;

/// Where the time of one round of the `reopening` phase went.
#[derive(Debug, Default, Clone, Copy)]
struct Steps {
    open: Duration,
    read: Duration,
    record: Duration,
    close: Duration,
}

const DEFAULT_VENV_PYTHON: &str = "/tmp/coalmine-junitparser-venv/bin/python";

const JUNITPARSER_SCRIPT: &str = r#"
import sys, time
from junitparser import JUnitXml, TestSuite
def waited():
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")
paths = sys.argv[1:]
started = time.perf_counter()
wait = waited()
cases = 0
for path in paths:
    xml = JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, TestSuite) else xml
    for suite in suites:
        for case in suite:
            cases += 1
            case.result
elapsed = time.perf_counter() - started
print(cases, elapsed, waited() - wait)
"#;

struct Options {
    cases: usize,
    runs: usize,
    files: usize,
    rounds: usize,
    dir: Option<PathBuf>,
    /// The phases to measure (`--only`); all when empty.
    only: Vec<String>,
}

const PHASES: [&str; 7] = [
    "adapter",
    "record",
    "parse",
    "ingest",
    "reopening",
    "cli",
    "junitparser",
];

impl Options {
    fn measures(&self, phase: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == phase)
    }
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        cases: 1_000_000,
        runs: 100,
        files: 4,
        rounds: 3,
        dir: None,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|value| value.replace('_', "").parse().ok())
                .filter(|value| *value > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--cases" => options.cases = number("--cases")?,
            "--runs" => options.runs = number("--runs")?,
            "--files" => options.files = number("--files")?,
            "--rounds" => options.rounds = number("--rounds")?,
            "--dir" => {
                options.dir = Some(PathBuf::from(args.next().ok_or("--dir needs a folder")?))
            }
            "--only" => {
                let phase = args.next().ok_or("--only needs a phase")?;
                if !PHASES.contains(&phase.as_str()) {
                    return Err(format!(
                        "unknown phase {phase}; the phases are {}",
                        PHASES.join(", ")
                    ));
                }
                options.only.push(phase);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// Writes one run's partial files; returns their paths.
fn generate_run(
    dir: &Path,
    run: usize,
    tests: usize,
    files: usize,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let per_file = tests.div_ceil(files);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (run as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let teams = ["compute", "network", "storage", "operator"];
    let mut paths = Vec::new();
    for file in 0..files {
        let path = dir.join(format!("junit.{file:02}.xml"));
        let mut out = Vec::with_capacity(1 << 20);
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<testsuites name="kubevirt e2e" tests="{per_file}">"#
        )?;
        let first = file * per_file;
        let last = ((file + 1) * per_file).min(tests);
        for index in first..last {
            if (index - first).is_multiple_of(500) {
                if index > first {
                    writeln!(out, "  </testsuite>")?;
                }
                writeln!(
                    out,
                    r#"  <testsuite name="Tests Suite {0:03}" tests="500" timestamp="2026-11-20T03:00:00" hostname="ci-{run}">"#,
                    index / 500
                )?;
            }
            let team = teams[index % teams.len()];
            let roll = random() % 1000;
            let millis = random() % 90_000;
            write!(
                out,
                r#"    <testcase classname="io.kubevirt.tests.{team}.Suite{0:03}" name="[sig-{team}] VMI {index} should keep running after restart [test_id:{index}]" time="{1}.{2:03}""#,
                index / 50,
                millis / 1000,
                millis % 1000
            )?;
            if roll < 30 {
                writeln!(
                    out,
                    ">\n      <failure message=\"Timed out after 300s: VMI {index} did not reach Running\" type=\"Failure\">tests/vmi_lifecycle_test.go:{0}\nExpected\n    &lt;v1.VirtualMachineInstancePhase&gt;: Scheduling\nto equal\n    &lt;v1.VirtualMachineInstancePhase&gt;: Running</failure>\n    </testcase>",
                    100 + index % 900
                )?;
            } else if roll < 40 {
                writeln!(
                    out,
                    ">\n      <skipped message=\"requires SR-IOV\"/>\n    </testcase>"
                )?;
            } else if roll < 140 {
                writeln!(
                    out,
                    ">\n      <system-out>STEP: starting VMI {index} at 03:00:{0:02}</system-out>\n    </testcase>",
                    millis % 60
                )?;
            } else {
                writeln!(out, "/>")?;
            }
        }
        if last > first {
            writeln!(out, "  </testsuite>")?;
        }
        writeln!(out, "</testsuites>")?;
        // A file already there as generated is left alone: rewriting it would only leave the
        // disk busy writing it back during the measurements.
        if std::fs::read(&path).ok().as_deref() != Some(out.as_slice()) {
            std::fs::write(&path, &out)?;
        }
        paths.push(path);
    }
    Ok(paths)
}

/// Runs on CPU 0 only, so that "one core" is what is measured.
fn pin_to_one_cpu() -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// How long this thread has waited for a CPU while runnable, since it started.
fn cpu_wait() -> Option<Duration> {
    run_delay("/proc/thread-self/schedstat")
}

/// The run-queue delay in a `schedstat` file of `/proc` (its second field, in nanoseconds);
/// `None` where the kernel does not keep it.
fn run_delay(schedstat: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(schedstat).ok()?;
    let nanos: u64 = stat.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The run the benchmark records as run `index`: one an hour, on one lane.
fn run_info(index: usize) -> RunInfo {
    RunInfo {
        lane: "periodic-e2e-sig-compute".to_owned(),
        kind: RunKind::Periodic,
        commit: format!("{index:040x}"),
        started_at: jiff::Timestamp::from_second(1_790_000_000 + index as i64 * 3600)
            .expect("a time"),
        at_given: true,
        run_id: None,
    }
}

/// `root/name`, a history to create: whatever an earlier round left there is removed.
fn fresh_db(root: &Path, name: &str) -> PathBuf {
    let db = root.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    db
}

/// A phase's wall time, and how much of it the process waited for the CPU (another process was
/// running on it).
#[derive(Debug, Clone, Copy)]
struct Timed {
    wall: Duration,
    waited: Option<Duration>,
}

/// Times a phase: see [`Timed`].
struct Clock {
    started: Instant,
    wait: Option<Duration>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wait: cpu_wait(),
            started: Instant::now(),
        }
    }

    fn stop(&self) -> Timed {
        let wall = self.started.elapsed();
        let waited = cpu_wait()
            .zip(self.wait)
            .map(|(now, then)| now.saturating_sub(then));
        Timed { wall, waited }
    }
}

/// More waiting for the CPU than this share of the time measured means another process shared
/// it: the figures are then not the machine's.
const CONTENDED: f64 = 0.02;

/// The `coalmine` binary to measure: `COALMINE_BIN`, else the one this benchmark was built
/// beside (`target/release/coalmine`), if it was built after the last change to the sources.
/// `Err` says why there is none to measure, and what to do.
fn coalmine_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("COALMINE_BIN") {
        let path = PathBuf::from(path);
        return match path.is_file() {
            true => Ok(path),
            false => Err(format!("COALMINE_BIN={} is not a file", path.display())),
        };
    }
    let rebuild = "build it with `cargo build --release --bin coalmine` (or set COALMINE_BIN)";
    let me =
        std::env::current_exe().map_err(|error| format!("where is this benchmark? {error}"))?;
    let Some(path) = me
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("coalmine"))
    else {
        return Err(format!("no folder above {}", me.display()));
    };
    let built = std::fs::metadata(&path)
        .and_then(|metadata| metadata.modified())
        .map_err(|_| format!("no coalmine binary at {}: {rebuild}", path.display()))?;
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let changed = |file: &str| {
        std::fs::metadata(package.join(file))
            .and_then(|metadata| metadata.modified())
            .ok()
    };
    let sources = [
        newest_change(&package.join("src")),
        changed("Cargo.toml"),
        changed("Cargo.lock"),
    ];
    if sources.into_iter().flatten().any(|change| change > built) {
        return Err(format!(
            "{} is older than the sources: {rebuild}",
            path.display()
        ));
    }
    Ok(path)
}

/// When the newest file under `dir` was last changed.
fn newest_change(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let changed = if path.is_dir() {
            newest_change(&path)
        } else {
            entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
        };
        newest = newest.max(changed);
    }
    newest
}

/// Runs `coalmine ingest` of one run's folder into `db` as its own process; returns how long
/// that process waited for the CPU (its run-queue delay, read before it is reaped).
fn ingest_with_cli(
    binary: &Path,
    db: &Path,
    dir: &Path,
    index: usize,
    errors: &Path,
) -> Option<Duration> {
    let run = run_info(index);
    let mut child = Command::new(binary)
        .arg("ingest")
        .arg("--history")
        .arg(db)
        .args(["--lane", &run.lane, "--kind", run.kind.as_str()])
        .args(["--commit", &run.commit])
        .args(["--at", &run.started_at.to_string()])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(File::create(errors).expect("a file for standard error"))
        .spawn()
        .expect("starting coalmine");
    // Waits for the process to end without reaping it, so that its statistics can be read.
    let pid = child.id();
    // SAFETY: waitid only writes into the zeroed siginfo_t it is given.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT);
    }
    let waited = run_delay(&format!("/proc/{pid}/schedstat"));
    let status = child.wait().expect("waiting for coalmine");
    assert!(
        status.success(),
        "coalmine ingest of {} failed ({status}): {}",
        dir.display(),
        std::fs::read_to_string(errors).unwrap_or_default()
    );
    waited
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The median wall time, `None` for a phase not measured.
fn median(values: &[Timed]) -> Option<Duration> {
    median_index(values).map(|index| values[index].wall)
}

/// The index of the median of `values` by wall time (the one [`median`] returns).
fn median_index(values: &[Timed]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|index| values[*index].wall);
    order.get(values.len() / 2).copied()
}

fn rate(cases: usize, elapsed: Duration) -> String {
    format!("{:.0}", cases as f64 / elapsed.as_secs_f64())
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let temporary = tempfile::tempdir().expect("a temporary folder");
    let root = options
        .dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let tests = options.cases / options.runs;
    let total = tests * options.runs;

    let started = Instant::now();
    let mut runs: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    let mut bytes = 0u64;
    for run in 0..options.runs {
        let dir = root.join(format!("junit/run{run:04}"));
        let files = generate_run(&dir, run, tests, options.files).expect("generating files");
        for file in &files {
            bytes += std::fs::metadata(file).map_or(0, |metadata| metadata.len());
        }
        runs.push((dir, files));
    }
    println!(
        "generated {total} testcases in {} runs x {} files ({:.1} MB) in {:.1} s",
        options.runs,
        options.files,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // Whatever is waiting to be written goes to the disk now, not during the measurements.
    // SAFETY: sync has no arguments and cannot fail.
    unsafe { libc::sync() };
    let pinned = pin_to_one_cpu();
    println!(
        "pinned to one CPU: {}",
        if pinned {
            "yes (CPU 0)"
        } else {
            "no (sched_setaffinity failed)"
        }
    );

    let mut parse_times = Vec::new();
    let mut ingest_times = Vec::new();
    let mut adapter_times = Vec::new();
    let mut record_times = Vec::new();
    let mut cli_steps: Vec<Steps> = Vec::new();
    let mut cli_times = Vec::new();
    let mut binary_times = Vec::new();
    let binary = match options.measures("cli") {
        true => match coalmine_binary() {
            Ok(binary) => Some(binary),
            Err(why) => {
                eprintln!("WARNING: the cli phase is left out: {why}");
                None
            }
        },
        false => None,
    };
    for round in 0..options.rounds {
        // The adapter alone, into a counting sink.
        if options.measures("adapter") {
            let clock = Clock::start();
            let mut counted = 0usize;
            for (_, files) in &runs {
                for file in files {
                    // As the ingest reads: into the adapter's window, straight from the file.
                    let mut input = std::io::BufReader::with_capacity(
                        0,
                        File::open(file).expect("opening a file"),
                    );
                    Junit
                        .read_borrowed(&mut input, &mut |_| counted += 1)
                        .expect("a valid file");
                }
            }
            adapter_times.push(clock.stop());
            assert_eq!(counted, total);
        }

        // Recording alone: everything parsed first, then one transaction per run.
        if options.measures("record") {
            let parsed: Vec<ingest::Parsed> = runs
                .iter()
                .map(|(_, files)| ingest::read_files(files))
                .collect();
            let db = fresh_db(&root, &format!("record-{round}.db"));
            let clock = Clock::start();
            let mut history = History::open(&db).expect("opening the history");
            for (index, run) in parsed.iter().enumerate() {
                let info = run_info(index);
                let new_run = NewRun {
                    lane: info.lane,
                    kind: info.kind,
                    commit: info.commit,
                    started_at: info.started_at,
                    source: "bench".to_owned(),
                    ingest_key: run.key.clone(),
                };
                history
                    .record_run(&new_run, &run.results)
                    .expect("recording");
            }
            drop(history);
            record_times.push(clock.stop());
            drop(parsed);
        }

        // Parse only.
        if options.measures("parse") {
            let clock = Clock::start();
            let mut parsed = 0usize;
            for (_, files) in &runs {
                let result = ingest::read_files(files);
                assert!(result.skipped.is_empty(), "{:?}", result.skipped);
                parsed += result.testcases as usize;
            }
            parse_times.push(clock.stop());
            assert_eq!(parsed, total);
        }

        // Ingest into a fresh database.
        if options.measures("ingest") {
            let db = fresh_db(&root, &format!("history-{round}.db"));
            let clock = Clock::start();
            let mut history = History::open(&db).expect("opening the history");
            let mut recorded = 0usize;
            for (index, (dir, _)) in runs.iter().enumerate() {
                let run = run_info(index);
                let report = ingest::ingest(&mut history, std::slice::from_ref(dir), &run)
                    .expect("ingesting");
                assert!(report.recorded.is_some_and(|recorded| recorded.is_new()));
                recorded += report.parsed.results.len();
            }
            drop(history);
            ingest_times.push(clock.stop());
            assert_eq!(recorded, total);
        }

        // As separate `coalmine ingest` calls do it: the history opened for each run.
        if options.measures("reopening") {
            let db = fresh_db(&root, &format!("history-cli-{round}.db"));
            let clock = Clock::start();
            let mut steps = Steps::default();
            for (index, (dir, _)) in runs.iter().enumerate() {
                let step = Instant::now();
                let mut history = History::open(&db).expect("opening the history");
                steps.open += step.elapsed();
                let run = run_info(index);
                // What `ingest::ingest` does, step by step.
                let inputs = std::slice::from_ref(dir);
                let step = Instant::now();
                let parsed = ingest::read_inputs(inputs).expect("reading the files");
                steps.read += step.elapsed();
                let step = Instant::now();
                let report = ingest::record(&mut history, parsed, inputs, &run).expect("ingesting");
                steps.record += step.elapsed();
                let step = Instant::now();
                drop(history);
                steps.close += step.elapsed();
                assert!(report.recorded.is_some_and(|recorded| recorded.is_new()));
            }
            cli_times.push(clock.stop());
            cli_steps.push(steps);
        }
        // The binary itself: one `coalmine ingest` process per run.
        if let Some(binary) = &binary {
            let db = fresh_db(&root, &format!("history-bin-{round}.db"));
            let errors = root.join("coalmine-stderr.txt");
            let wall = Instant::now();
            let mut waited = Some(Duration::ZERO);
            for (index, (dir, _)) in runs.iter().enumerate() {
                let child = ingest_with_cli(binary, &db, dir, index, &errors);
                waited = waited.zip(child).map(|(sum, child)| sum + child);
            }
            binary_times.push(Timed {
                wall: wall.elapsed(),
                waited,
            });
            // Everything is in the history, once.
            let summaries = History::open(&db)
                .and_then(|history| history.run_summaries(None))
                .expect("reading the history the binary wrote");
            assert_eq!(summaries.len(), options.runs);
            let recorded: u64 = summaries
                .iter()
                .map(|summary| u64::from(summary.counts.total))
                .sum();
            assert_eq!(recorded, total as u64);
        }
        let mut line = format!("round {}:", round + 1);
        for (name, times) in [
            ("adapter", &adapter_times),
            ("parse", &parse_times),
            ("record", &record_times),
            ("ingest", &ingest_times),
            ("ingest reopening", &cli_times),
            ("coalmine ingest processes", &binary_times),
        ] {
            if let Some(time) = times.last() {
                line.push_str(&format!(" {name} {:.3} s", time.wall.as_secs_f64()));
                if let Some(waited) = time.waited {
                    line.push_str(&format!(" (waited {:.3} s)", waited.as_secs_f64()));
                }
                line.push(',');
            }
        }
        println!("{}", line.trim_end_matches(','));
    }
    let adapter = median(&adapter_times);
    let record = median(&record_times);
    let parse = median(&parse_times);
    let ingest_time = median(&ingest_times);
    // The steps of the round whose total was the median.
    let median_steps = median_index(&cli_times).map(|index| cli_steps[index]);
    let cli_time = median(&cli_times);
    let binary_time = median(&binary_times);
    let measured: Vec<Timed> = [
        &adapter_times,
        &record_times,
        &parse_times,
        &ingest_times,
        &cli_times,
        &binary_times,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect();
    // The size of a history of every run, from a phase measured by this invocation.
    let db_size = [
        (!binary_times.is_empty(), "history-bin-0.db"),
        (!cli_times.is_empty(), "history-cli-0.db"),
        (!ingest_times.is_empty(), "history-0.db"),
    ]
    .into_iter()
    .find(|(measured, _)| *measured)
    .and_then(|(_, db)| std::fs::metadata(root.join(db)).ok())
    .map(|metadata| metadata.len());

    let python =
        std::env::var("JUNITPARSER_PYTHON").unwrap_or_else(|_| DEFAULT_VENV_PYTHON.to_owned());
    let junitparser = if !options.measures("junitparser") {
        None
    } else if Path::new(&python).exists() {
        let mut command = Command::new(&python);
        command.arg("-c").arg(JUNITPARSER_SCRIPT);
        for (_, files) in &runs {
            command.args(files);
        }
        // The same CPU as the Rust measurement.
        let output = command.output();
        match output {
            Ok(output) if output.status.success() => {
                let text = String::from_utf8_lossy(&output.stdout);
                let mut fields = text.split_whitespace();
                let cases: usize = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut seconds = || -> Option<Duration> {
                    fields
                        .next()
                        .and_then(|v| v.parse().ok())
                        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                };
                let wall = seconds().expect("junitparser's time");
                let waited = seconds();
                assert_eq!(cases, total, "junitparser counted {cases}");
                Some(Timed { wall, waited })
            }
            Ok(output) => {
                eprintln!(
                    "junitparser failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                None
            }
            Err(error) => {
                eprintln!("cannot run {python}: {error}");
                None
            }
        }
    } else {
        eprintln!("no junitparser at {python} (set JUNITPARSER_PYTHON): its line is left out");
        None
    };

    if let Some(steps) = median_steps {
        let per_run = |time: Duration| time.as_secs_f64() * 1e3 / options.runs as f64;
        println!(
            "history opened per run, per run: open {:.2} ms, read the files {:.2} ms, \
             record {:.2} ms, close (the WAL checkpoint, its fsyncs) {:.2} ms",
            per_run(steps.open),
            per_run(steps.read),
            per_run(steps.record),
            per_run(steps.close),
        );
    }
    println!();
    println!("| what ({total} testcases, one core) | seconds | testcases/s |");
    println!("|---|---|---|");
    for (what, time) in [
        ("coalmine JUnit adapter alone (counting sink)", adapter),
        ("coalmine parse (adapter, ids, tags, merge, SHA-256)", parse),
        ("coalmine recording already parsed runs (SQLite)", record),
        (
            "coalmine ingest into one open SQLite history (parse + record)",
            ingest_time,
        ),
        (
            "coalmine ingest in one process, the history opened for each run",
            cli_time,
        ),
        (
            "**`coalmine ingest`, one process per run (the binary)**",
            binary_time,
        ),
        (
            "Python junitparser, parsing only",
            junitparser.map(|timed| timed.wall),
        ),
    ] {
        if let Some(time) = time {
            println!(
                "| {what} | {:.3} | {} |",
                time.as_secs_f64(),
                rate(total, time)
            );
        }
    }
    println!();
    // The goal's measure: the binary when it was measured, else the same work in one process.
    let goal = match (binary_time, cli_time) {
        (Some(time), _) => Some(("`coalmine ingest`, one process per run", time)),
        (None, Some(time)) => Some((
            "the ingest with the history opened per run (in one process: the binary was not measured)",
            time,
        )),
        (None, None) => None,
    };
    if let (Some(python), Some((what, time))) = (junitparser, goal) {
        println!(
            "{what}: {:.1}x junitparser's parse rate",
            python.wall.as_secs_f64() / time.as_secs_f64()
        );
    }
    // Another process on the pinned CPU slows every phase alike: say so rather than report
    // its figures as the machine's.
    let mut contended = false;
    let wall: Duration = measured.iter().map(|timed| timed.wall).sum();
    let waited: Option<Duration> = measured.iter().map(|timed| timed.waited).sum();
    match waited {
        Some(waited) => {
            let share = waited.as_secs_f64() / wall.as_secs_f64().max(f64::MIN_POSITIVE);
            println!(
                "waited for the CPU (other processes running on it): {:.3} s of {:.3} s measured ({:.1} %)",
                waited.as_secs_f64(),
                wall.as_secs_f64(),
                share * 100.0
            );
            if share > CONTENDED {
                contended = true;
                println!(
                    "WARNING: other processes shared the pinned CPU for more than {:.0} % of the \
                     time: these figures understate the machine; measure again when it is idle",
                    CONTENDED * 100.0
                );
            }
        }
        None => println!("waited for the CPU: unknown (no /proc/thread-self/schedstat)"),
    }
    if let Some((what, time)) = goal {
        let met = total as f64 / time.as_secs_f64() >= 500_000.0;
        println!(
            "goal: at least 500000 testcases/s for {what}: {} ({} testcases/s)",
            match (met, contended) {
                (true, _) => "met",
                (false, false) => "MISSED",
                (false, true) => "MISSED on a shared CPU: measure again when the machine is idle",
            },
            rate(total, time)
        );
    }
    if let Some(python) = junitparser {
        let share = python
            .waited
            .map(|waited| waited.as_secs_f64() / python.wall.as_secs_f64());
        if share.is_some_and(|share| share > CONTENDED) {
            println!(
                "WARNING: junitparser waited {:.1} % of its time for the CPU: its figure \
                 understates it",
                share.unwrap_or(0.0) * 100.0
            );
        }
    }
    if let Some(size) = db_size {
        println!("database of every run: {:.1} MB", size as f64 / 1e6);
    }
    println!(
        "peak memory (VmHWM) of this process (it holds every parsed run in the record phase): {} MB",
        peak_rss_kib().map_or("?".to_owned(), |kib| format!("{:.0}", kib as f64 / 1024.0))
    );
}
