//! JUnit parsing throughput and peak memory (see "JUnit parsing" in BENCHMARKS.md).
//!
//! ```sh
//! python3 -m venv /tmp/coalmine-junitparser-venv
//! /tmp/coalmine-junitparser-venv/bin/pip install junitparser
//! cargo run --release --example junit_bench
//! ```
//!
//! Generates a ~100 MB report (300,000 testcases, 5 % failures, 45 % with `<system-out>`) and a
//! ~10 MB one of the same shape, then measures in the same run, on one core:
//!
//! 1. coalmine's JUnit adapter reading the file into `TestCase`s (a counting sink);
//! 2. a bare quick-xml event loop that only counts `<testcase` start events (the near-limit);
//! 3. Python's junitparser parsing the file and counting its cases, when a Python with
//!    junitparser is found (`JUNITPARSER_PYTHON`, else `/tmp/coalmine-junitparser-venv/bin/python`);
//!
//! and the peak resident memory (VmHWM) of a child process doing each parse, for both sizes.
//! Options: `--rounds N` (default 7), `--cases N` (default 300,000), `--dir PATH` to keep the
//! generated files there.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use coalmine::results::Outcome;
use coalmine::results::adapter::Adapter;
use coalmine::results::formats::Junit;
use quick_xml::Reader;
use quick_xml::events::Event;

const DEFAULT_VENV_PYTHON: &str = "/tmp/coalmine-junitparser-venv/bin/python";

const JUNITPARSER_SCRIPT: &str = r#"
import resource, sys, time
import junitparser
from junitparser import JUnitXml, Failure
path = sys.argv[1]
started = time.perf_counter()
xml = JUnitXml.fromfile(path)
cases = failures = 0
for suite in xml:
    for case in suite:
        cases += 1
        if any(isinstance(result, Failure) for result in case.result):
            failures += 1
elapsed = time.perf_counter() - started
try:
    import lxml  # noqa: F401
    backend = "lxml"
except ImportError:
    backend = "xml.etree"
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(cases, failures, elapsed, peak_kib, junitparser.version if hasattr(junitparser, "version") else "?", backend)
"#;

/// Writes a report of `cases` testcases in suites of 1,000: every 20th a failure with a
/// message and a stack trace, 9 in 20 with four lines of `<system-out>` (half of them in a
/// CDATA section as Surefire writes it, half as escaped text as pytest writes it).
fn generate(path: &Path, cases: usize) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="bench" tests="{cases}">"#)?;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for index in 0..cases {
        if index % 1000 == 0 {
            if index > 0 {
                writeln!(out, "  </testsuite>")?;
            }
            writeln!(
                out,
                r#"  <testsuite name="com.example.module{0:03}.ServiceTest" tests="1000" failures="50" errors="0" skipped="0" time="12.5" timestamp="2025-01-01T00:00:00" hostname="ci-runner">"#,
                index / 1000
            )?;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let millis = seed % 5000;
        write!(
            out,
            r#"    <testcase name="test_{index:07}_handles_request_variant_{}" classname="com.example.module{:03}.ServiceTest" time="{}.{:03}">"#,
            seed % 97,
            index / 1000,
            millis / 1000,
            millis % 1000
        )?;
        let failing = index % 20 == 7;
        let output = (index * 7) % 20 < 9;
        if failing {
            write!(
                out,
                "\n      <failure message=\"expected: &lt;{}&gt; but was: &lt;{}&gt;\" type=\"org.opentest4j.AssertionFailedError\">org.opentest4j.AssertionFailedError: expected: &lt;{}&gt; but was: &lt;{}&gt;\n",
                seed % 10,
                seed % 10 + 1,
                seed % 10,
                seed % 10 + 1
            )?;
            for frame in 0..10 {
                writeln!(
                    out,
                    "\tat com.example.module{:03}.ServiceTest.test_{index:07}(ServiceTest.java:{})",
                    index / 1000,
                    40 + frame
                )?;
            }
            write!(out, "</failure>")?;
        }
        if output && index % 2 == 0 {
            // Surefire's way: a CDATA section.
            write!(out, "\n      <system-out><![CDATA[")?;
            for line in 0..4 {
                writeln!(
                    out,
                    "2025-01-01T00:00:{:02}.{:03} INFO  [main] request {index} step {line}: ok ({} ms)",
                    line,
                    seed % 1000,
                    seed % 300
                )?;
            }
            write!(out, "]]></system-out>\n    ")?;
        } else if output {
            // pytest's way: escaped text.
            write!(out, "\n      <system-out>")?;
            for line in 0..4 {
                writeln!(
                    out,
                    "INFO     app.client:client.py:{} GET /items?id={index}&amp;step={line} -&gt; 200 &quot;OK&quot; ({} ms)",
                    100 + line,
                    seed % 300
                )?;
            }
            write!(out, "</system-out>\n    ")?;
        }
        writeln!(out, "</testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// (testcases, failures) read by coalmine's adapter.
fn parse_coalmine(path: &Path) -> (usize, usize) {
    let mut input = BufReader::with_capacity(64 * 1024, File::open(path).expect("open the report"));
    let (mut cases, mut failures) = (0, 0);
    Junit
        .read(&mut input, &mut |test| {
            cases += 1;
            failures += usize::from(test.outcome == Outcome::Fail);
        })
        .expect("the generated report parses");
    (cases, failures)
}

/// `<testcase` start events counted by a bare quick-xml loop.
fn count_bare(path: &Path) -> usize {
    let input = BufReader::with_capacity(64 * 1024, File::open(path).expect("open the report"));
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::with_capacity(4096);
    let mut cases = 0;
    loop {
        match reader
            .read_event_into(&mut buf)
            .expect("the generated report is XML")
        {
            Event::Start(element) | Event::Empty(element)
                if element.name().as_ref() == "testcase" =>
            {
                cases += 1
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    cases
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// Runs this example again as a child that only parses and reports its peak memory.
fn child_peak(mode: &str, path: &Path) -> u64 {
    let output = Command::new(std::env::current_exe().expect("the example's path"))
        .args(["--child", mode])
        .arg(path)
        .output()
        .expect("run the child");
    assert!(
        output.status.success(),
        "child {mode} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the child prints its VmHWM")
}

struct Python {
    cases: usize,
    seconds: f64,
    peak_kib: u64,
    version: String,
    backend: String,
}

fn run_junitparser(python: &Path, path: &Path) -> Option<Python> {
    let output = Command::new(python)
        .arg("-c")
        .arg(JUNITPARSER_SCRIPT)
        .arg(path)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "junitparser failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    Some(Python {
        cases: fields.first()?.parse().ok()?,
        seconds: fields.get(2)?.parse().ok()?,
        peak_kib: fields.get(3)?.parse().ok()?,
        version: fields.get(4)?.to_string(),
        backend: fields.get(5)?.to_string(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let path = PathBuf::from(&args[2]);
        match args[1].as_str() {
            "coalmine" => {
                std::hint::black_box(parse_coalmine(&path));
            }
            "bare" => {
                std::hint::black_box(count_bare(&path));
            }
            _ => {}
        }
        println!("{}", vm_hwm_kib());
        return;
    }
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1))
    };
    let rounds: usize = option("--rounds").map_or(7, |value| value.parse().expect("--rounds N"));
    let cases: usize = option("--cases").map_or(300_000, |value| value.parse().expect("--cases N"));
    let temporary = tempfile::tempdir().expect("a temporary folder");
    let dir = option("--dir").map_or_else(|| temporary.path().to_owned(), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the output folder");

    let big = dir.join("big.xml");
    let small = dir.join("small.xml");
    let big_bytes = generate(&big, cases).expect("write the big report");
    let small_bytes = generate(&small, cases / 10).expect("write the small report");
    println!(
        "reports: {} ({big_bytes} bytes, {cases} testcases), {} ({small_bytes} bytes, {} testcases)",
        big.display(),
        small.display(),
        cases / 10
    );

    // Warm the page cache and check both readers agree with what was generated.
    let (parsed, failures) = parse_coalmine(&big);
    assert_eq!(parsed, cases);
    assert_eq!(failures, (0..cases).filter(|index| index % 20 == 7).count());
    assert_eq!(count_bare(&big), cases);

    let (mut adapter, mut bare) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut measure_adapter = || {
            let started = Instant::now();
            std::hint::black_box(parse_coalmine(&big));
            adapter.push(started.elapsed());
        };
        let mut measure_bare = || {
            let started = Instant::now();
            std::hint::black_box(count_bare(&big));
            bare.push(started.elapsed());
        };
        if round % 2 == 0 {
            measure_adapter();
            measure_bare();
        } else {
            measure_bare();
            measure_adapter();
        }
    }
    let (best_adapter, best_bare) = (*adapter.iter().min().unwrap(), *bare.iter().min().unwrap());
    let (median_adapter, median_bare) = (median(&mut adapter), median(&mut bare));

    println!("\nthroughput on {big_bytes} bytes, {rounds} interleaved rounds (MB = 10^6 bytes):");
    println!("| reader | median | MB/s (median) | MB/s (best) |");
    println!("|---|---|---|---|");
    println!(
        "| coalmine JUnit adapter -> TestCase | {:.0} ms | {:.0} | {:.0} |",
        median_adapter.as_secs_f64() * 1e3,
        mb_per_s(big_bytes, median_adapter),
        mb_per_s(big_bytes, best_adapter)
    );
    println!(
        "| bare quick-xml loop counting <testcase> | {:.0} ms | {:.0} | {:.0} |",
        median_bare.as_secs_f64() * 1e3,
        mb_per_s(big_bytes, median_bare),
        mb_per_s(big_bytes, best_bare)
    );

    let python = std::env::var_os("JUNITPARSER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV_PYTHON));
    let junitparser = if python.exists() {
        run_junitparser(&python, &big)
    } else {
        println!(
            "| junitparser | not measured: no {} (python3 -m venv /tmp/coalmine-junitparser-venv && /tmp/coalmine-junitparser-venv/bin/pip install junitparser) | | |",
            python.display()
        );
        None
    };
    if let Some(result) = &junitparser {
        assert_eq!(
            result.cases, cases,
            "junitparser counted another number of cases"
        );
        println!(
            "| junitparser {} ({}), one run | {:.0} ms | {:.1} | |",
            result.version,
            result.backend,
            result.seconds * 1e3,
            big_bytes as f64 / 1e6 / result.seconds
        );
    }
    println!(
        "\nratios (medians): coalmine / bare quick-xml = {:.2}",
        median_bare.as_secs_f64() / median_adapter.as_secs_f64()
    );
    if let Some(result) = &junitparser {
        println!(
            "                  coalmine / junitparser = {:.1}x faster",
            result.seconds / median_adapter.as_secs_f64()
        );
    }

    println!("\npeak resident memory (VmHWM of a child process that parses one file):");
    println!("| process | {small_bytes} bytes | {big_bytes} bytes |");
    println!("|---|---|---|");
    let baseline = child_peak("none", &small);
    println!("| the child doing nothing | {baseline} KiB | {baseline} KiB |");
    for (mode, label) in [
        ("coalmine", "coalmine JUnit adapter"),
        ("bare", "bare quick-xml loop"),
    ] {
        println!(
            "| {label} | {} KiB | {} KiB |",
            child_peak(mode, &small),
            child_peak(mode, &big)
        );
    }
    if junitparser.is_some()
        && let (Some(small_python), Some(big_python)) =
            (run_junitparser(&python, &small), junitparser.as_ref())
    {
        println!(
            "| junitparser (ru_maxrss) | {} KiB | {} KiB |",
            small_python.peak_kib, big_python.peak_kib
        );
    }
}
