//! coalmine's benchmark driver: how much a canary costs on top of the recipe CI it spawns, and
//! how fast `--list` / `--exact` are with 10,000 canaries compared with a bare libtest-mimic
//! harness of the same size. See BENCHMARKS.md for the figures and what they mean.
//!
//!     cargo run --release --example bench            # release figures
//!     cargo run --example bench                      # debug figures (what `cargo test` builds)
//!     cargo run --release --example bench -- --help  # options
//!
//! The driver measures the binaries of its own build profile (`target/<profile>/examples/`):
//! it first runs `cargo build --examples --quiet` (with `--release` when it is a release build)
//! so that `bench_suite` and `bare_mimic` are up to date; `--no-build` skips that.
//!
//! Every measurement is whole-process (or whole-call) wall time, repeated, with the variants
//! of a group run interleaved (in rotating order) so that drift hits them alike. A run that
//! fails (non-zero exit, unexpected output, missing results file) aborts its group: its
//! figures are not reported and the driver exits non-zero. There are no timing assertions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use coalmine::config::Config;
use coalmine::{Canary, Expect, Harness, check};

/// How many canaries the large suite has.
const LARGE: usize = 10_000;
/// The canary `--exact` picks in the large suite: one in the middle.
const MIDDLE: &str = "canary::c05000";
/// The canary `--exact` picks in the one-canary suite.
const FIRST: &str = "canary::c00000";
/// A minimal valid cc-ci results document: one tier, passed.
const TEMPLATE: &str = r#"{"results": {"install": "pass"}, "flags": {}, "stages": {}}"#;
/// The issue's figure for a pytest-based canary suite, per invocation.
const PYTEST_ISSUE_MS: f64 = 270.0;

const USAGE: &str = "\
usage: cargo run [--release] --example bench -- [OPTIONS]

Measures the binaries of the driver's own profile (target/release/examples with --release,
target/debug/examples without).

options:
  --reps N         repetitions per variant, at most (default 200)
  --budget SECS    time budget per group of variants; a group stops early once it is spent,
                   after at least 20 repetitions (default 12)
  --pytest PYTHON  also measure a pytest suite of the same shape (N=1 and N=10000
                   parametrised canaries, one selected by node id) with this interpreter,
                   which must have pytest installed
  --dir DIR        where to create the temporary folder (harness.toml, template.json, the
                   canaries' artifact folders); default: the system's temporary folder
  --no-build       do not run `cargo build --examples` first
  --keep           keep the temporary folder (configs, artifacts) for inspection
  -h, --help       this text
";

/// The command line of the driver.
struct Options {
    reps: usize,
    budget: Duration,
    pytest: Option<PathBuf>,
    dir: Option<PathBuf>,
    build: bool,
    keep: bool,
}

fn parse_options() -> Result<Option<Options>, String> {
    let mut options = Options {
        reps: 200,
        budget: Duration::from_secs(12),
        pytest: None,
        dir: None,
        build: true,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--reps" => {
                let text = value("--reps")?;
                options.reps = text
                    .parse()
                    .ok()
                    .filter(|reps| *reps > 0)
                    .ok_or_else(|| format!("--reps {text:?} is not a positive count"))?;
            }
            "--budget" => {
                let text = value("--budget")?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|secs: &f64| secs.is_finite() && *secs > 0.0)
                    .ok_or_else(|| {
                        format!("--budget {text:?} is not a positive number of seconds")
                    })?;
                options.budget = Duration::from_secs_f64(secs);
            }
            "--pytest" => options.pytest = Some(PathBuf::from(value("--pytest")?)),
            "--dir" => options.dir = Some(PathBuf::from(value("--dir")?)),
            "--no-build" => options.build = false,
            "--keep" => options.keep = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(Some(options)) => options,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The build profile of this driver, which is also the profile of the binaries it measures.
fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// Builds the examples (unless told not to) and finds `bench_suite` and `bare_mimic` next to
/// this driver.
fn binaries(options: &Options) -> Result<(PathBuf, PathBuf), String> {
    if options.build {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .args(["build", "--examples", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile() == "release" {
            command.arg("--release");
        }
        eprintln!("building the examples ({} profile)...", profile());
        let status = command
            .status()
            .map_err(|error| format!("cannot run cargo: {error}"))?;
        if !status.success() {
            return Err(format!("`cargo build --examples` failed ({status})"));
        }
    }
    let exe =
        std::env::current_exe().map_err(|error| format!("cannot locate the driver: {error}"))?;
    let dir = exe.parent().ok_or("the driver has no parent folder")?;
    let find = |name: &str| {
        let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{} is missing: run `cargo build {}--examples` first",
                path.display(),
                if profile() == "release" {
                    "--release "
                } else {
                    ""
                }
            ))
        }
    };
    Ok((find("bench_suite")?, find("bare_mimic")?))
}

/// The temporary folder: the results template, harness.toml, the artifact root.
struct Workspace {
    root: PathBuf,
    template: PathBuf,
    config: PathBuf,
    /// The same config with retention off in effect (`[run] keep` larger than any run count).
    config_keep_all: PathBuf,
    runs: PathBuf,
    /// Where the direct `cp` writes.
    direct: PathBuf,
}

impl Workspace {
    fn create(parent: &Path) -> Result<Workspace, String> {
        let root = parent.join(format!("coalmine-bench-{}", std::process::id()));
        let io = |error: std::io::Error| format!("cannot prepare {}: {error}", root.display());
        std::fs::create_dir_all(&root).map_err(io)?;
        let template = root.join("template.json");
        std::fs::write(&template, TEMPLATE).map_err(io)?;
        let runs = root.join("runs");
        std::fs::create_dir_all(&runs).map_err(io)?;
        let direct = root.join("direct");
        std::fs::create_dir_all(&direct).map_err(io)?;
        let config = root.join("harness.toml");
        let toml = format!(
            "[ci]\ncommand = [\"cp\", {template:?}, \"{{artifacts}}/results.json\"]\n\
             results = \"{{artifacts}}/results.json\"\nformat = \"cc-ci\"\n\n\
             [run]\nartifacts = {runs:?}\nmax_parallel = 1\n",
            template = template.display().to_string(),
            runs = runs.display().to_string(),
        );
        std::fs::write(&config, &toml).map_err(io)?;
        let config_keep_all = root.join("harness-keep-all.toml");
        // Its own artifact root, so that its runs add nothing for the others to remove.
        let keep_all_runs = root.join("runs-keep-all");
        std::fs::write(
            &config_keep_all,
            format!(
                "{}keep = 1000000000\n",
                toml.replace(
                    &format!("artifacts = {:?}", runs.display().to_string()),
                    &format!("artifacts = {:?}", keep_all_runs.display().to_string()),
                )
            ),
        )
        .map_err(io)?;
        Ok(Workspace {
            root,
            template,
            config,
            config_keep_all,
            runs,
            direct: direct.join("results.json"),
        })
    }

    /// Gives the next group an empty artifact root. The old one is renamed aside, not deleted:
    /// deleting thousands of run folders mid-run makes the next inode allocations slower on
    /// ext4 (it skips recently deleted inodes), which would skew the groups that follow.
    /// Everything is deleted at the end.
    fn fresh_runs(&self, group: usize) -> Result<(), String> {
        let aside = self.root.join(format!("runs-{group}"));
        std::fs::rename(&self.runs, &aside)
            .and_then(|()| std::fs::create_dir(&self.runs))
            .map_err(|error| format!("cannot renew {}: {error}", self.runs.display()))
    }
}

/// One timed thing: runs once, checks that it did what it should, returns the wall time.
type Measure = Box<dyn FnMut() -> Result<Duration, String>>;

/// One variant of a group.
struct Variant {
    label: String,
    measure: Measure,
}

/// Variants measured interleaved; the first is the baseline the others are compared with.
struct Group {
    title: &'static str,
    variants: Vec<Variant>,
}

/// What a successful group produced.
struct Measured {
    title: &'static str,
    rows: Vec<(String, Vec<Duration>)>,
}

/// What a run of a process must have produced to count.
#[derive(Clone, Copy)]
enum Expectation {
    /// `--list`: exactly this many `<name>: test` lines (and nothing else but blank lines).
    Listed(usize),
    /// A run: libtest's summary line with this many passed and none failed.
    Passed(usize),
    /// pytest -q: "N passed" and no failure.
    PytestPassed(usize),
}

impl Expectation {
    fn check(self, stdout: &str) -> Result<(), String> {
        match self {
            Expectation::Listed(count) => {
                let listed = stdout
                    .lines()
                    .filter(|line| line.ends_with(": test"))
                    .count();
                let other = stdout
                    .lines()
                    .filter(|line| {
                        !line.is_empty()
                            && !line.ends_with(": test")
                            && !line.ends_with("benchmarks")
                    })
                    .count();
                if listed == count && other == 0 {
                    Ok(())
                } else {
                    Err(format!(
                        "expected {count} listed trial(s), got {listed} (and {other} other line(s))"
                    ))
                }
            }
            Expectation::Passed(count) => {
                let wanted = format!("test result: ok. {count} passed; 0 failed;");
                if stdout.contains(&wanted) {
                    Ok(())
                } else {
                    Err(format!("expected {wanted:?} in the output"))
                }
            }
            Expectation::PytestPassed(count) => {
                let wanted = format!("{count} passed");
                if stdout.contains(&wanted)
                    && !stdout.contains("failed")
                    && !stdout.contains("error")
                {
                    Ok(())
                } else {
                    Err(format!(
                        "expected {wanted:?} and no failure in pytest's output"
                    ))
                }
            }
        }
    }
}

/// A whole-process measurement: spawn, wait, collect stdout and stderr through pipes (as
/// cargo and nextest do), then check the exit code and the output (untimed).
fn process(label: impl Into<String>, mut command: Command, expectation: Expectation) -> Variant {
    let label = label.into();
    let shown = format!("{command:?}");
    command.stdin(Stdio::null());
    Variant {
        label,
        measure: Box::new(move || {
            let start = Instant::now();
            let output = command
                .output()
                .map_err(|error| format!("cannot run {shown}: {error}"))?;
            let elapsed = start.elapsed();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let verdict = if output.status.success() {
                expectation.check(&stdout)
            } else {
                Err(format!("exited with {}", output.status))
            };
            verdict.map(|()| elapsed).map_err(|problem| {
                format!(
                    "{shown}: {problem}\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
                    tail(&stdout),
                    tail(&String::from_utf8_lossy(&output.stderr))
                )
            })
        }),
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The baseline: the trivial CI itself, `cp template.json <dir>/results.json`, spawned
/// directly. The destination is removed before each (untimed) and checked after.
fn direct_cp(workspace: &Workspace) -> Variant {
    let template = workspace.template.clone();
    let dest = workspace.direct.clone();
    Variant {
        label: "cp template.json results.json, spawned directly".to_owned(),
        measure: Box::new(move || {
            let _ = std::fs::remove_file(&dest);
            let start = Instant::now();
            let status = Command::new("cp")
                .arg(&template)
                .arg(&dest)
                .stdin(Stdio::null())
                .status()
                .map_err(|error| format!("cannot run cp: {error}"))?;
            let elapsed = start.elapsed();
            if !status.success() {
                return Err(format!("cp exited with {status}"));
            }
            if std::fs::read_to_string(&dest).ok().as_deref() != Some(TEMPLATE) {
                return Err(format!("cp did not write {}", dest.display()));
            }
            Ok(elapsed)
        }),
    }
}

/// A command running one of the example binaries against the workspace's harness.toml.
fn example(binary: &Path, workspace: &Workspace, canaries: usize, args: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(&workspace.root)
        .env("COALMINE_CONFIG", &workspace.config)
        .env("COALMINE_BENCH_CANARIES", canaries.to_string());
    command
}

/// The generated canary the in-process variants run.
fn bench_canary() -> Canary {
    Canary::new("c00000")
        .recipe("bench-recipe")
        .rev("0000000")
        .expect(Expect::Green)
        .check(check::tier("install").is(check::Pass))
        .check(check::no_tier_failed())
}

/// In-process: `run_canary` (artifact folder, spawn, results, checks, canary.json) with the
/// config loaded once, and a whole `Harness::run` (argument parsing, config loading,
/// libtest-mimic) with its output sent to /dev/null.
fn in_process(workspace: &Workspace) -> Result<Vec<Variant>, String> {
    let config = Config::load(&workspace.config).map_err(|error| error.to_string())?;
    let canary = bench_canary();
    let run_canary = Variant {
        label: "coalmine::execute::run_canary (in-process)".to_owned(),
        measure: Box::new(move || {
            let valid = canary.validate().map_err(|error| error.to_string())?;
            let start = Instant::now();
            let run = coalmine::execute::run_canary(&valid, &config, 1, &mut |_, _| {});
            let elapsed = start.elapsed();
            if run.passed && run.artifacts.join("results.json").is_file() {
                Ok(elapsed)
            } else {
                Err(format!("the canary failed in-process:\n{}", run.report))
            }
        }),
    };
    let config_path = workspace.config.clone();
    let harness = Variant {
        label: "Harness::run, 1 canary (in-process)".to_owned(),
        measure: Box::new(move || {
            let start = Instant::now();
            let code = Harness::new()
                .canary(bench_canary())
                .config_file(&config_path)
                // JSON output into /dev/null: nothing of the run reaches the driver's stdout
                // (the "(N trial(s) not selected)" line is not printed with JSON output).
                .args([
                    "--exact",
                    FIRST,
                    "--format",
                    "json",
                    "--logfile",
                    "/dev/null",
                ])
                .run();
            let elapsed = start.elapsed();
            if code == ExitCode::SUCCESS {
                Ok(elapsed)
            } else {
                Err("Harness::run did not succeed in-process".to_owned())
            }
        }),
    };
    let template = workspace.template.clone();
    let dest = workspace.direct.clone();
    let sweep = Variant {
        label: "cp in its own process group, then the leftover sweep (in-process)".to_owned(),
        measure: Box::new(move || {
            use std::os::unix::process::CommandExt;
            coalmine::execute::leftovers::become_subreaper();
            let _ = std::fs::remove_file(&dest);
            let start = Instant::now();
            let mut child = Command::new("cp")
                .arg(&template)
                .arg(&dest)
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .map_err(|error| format!("cannot run cp: {error}"))?;
            let pid = child.id();
            let status = child.wait().map_err(|error| error.to_string())?;
            let left =
                coalmine::execute::leftovers::sweep(pid, "bench-sweep", Duration::from_secs(1));
            let elapsed = start.elapsed();
            if !status.success() || !left.is_empty() {
                return Err(format!("cp exited with {status}, leftovers {left:?}"));
            }
            Ok(elapsed)
        }),
    };
    Ok(vec![run_canary, harness, sweep])
}

/// The pytest suite of the same shape: one parametrised test per canary that makes an
/// artifact folder, runs `cp` through subprocess, reads the JSON and checks no tier failed.
fn pytest_suite(workspace: &Workspace) -> Result<PathBuf, String> {
    let dir = workspace.root.join("pytest");
    let io = |error: std::io::Error| format!("cannot write the pytest suite: {error}");
    std::fs::create_dir_all(&dir).map_err(io)?;
    let source = format!(
        r#"import json, os, subprocess
import pytest

TEMPLATE = {template:?}
RUNS = {runs:?}
N = int(os.environ.get("COALMINE_BENCH_CANARIES", "1"))


@pytest.mark.parametrize("name", [f"c{{i:05d}}" for i in range(N)])
def test_canary(name):
    artifacts = os.path.join(RUNS, f"{{name}}-{{os.getpid()}}")
    os.makedirs(artifacts, exist_ok=True)
    results = os.path.join(artifacts, "results.json")
    proc = subprocess.run(["cp", TEMPLATE, results], stdin=subprocess.DEVNULL)
    assert proc.returncode == 0
    with open(results) as f:
        data = json.load(f)
    assert not [tier for tier, status in data["results"].items() if status == "fail"]
"#,
        template = workspace.template.display().to_string(),
        runs = workspace.runs.display().to_string(),
    );
    std::fs::write(dir.join("test_canaries.py"), source).map_err(io)?;
    Ok(dir)
}

fn pytest_command(python: &Path, dir: &Path, canaries: usize) -> Command {
    let mut command = Command::new(python);
    command
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_canaries.py::test_canary[c00000]",
        ])
        .current_dir(dir)
        .env("COALMINE_BENCH_CANARIES", canaries.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Runs a group: a few warm-up rounds (untimed), then rounds of every variant in rotating
/// order until `reps` rounds or the budget is spent (at least `MIN_REPS` rounds).
fn measure(group: &mut Group, options: &Options, reps: usize) -> Result<Measured, String> {
    const WARMUP: usize = 3;
    const MIN_REPS: usize = 20;
    let count = group.variants.len();
    for _ in 0..WARMUP {
        for variant in &mut group.variants {
            (variant.measure)()
                .map_err(|error| format!("{} / {}: {error}", group.title, variant.label))?;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(reps); count];
    let start = Instant::now();
    for round in 0..reps {
        if round >= MIN_REPS && start.elapsed() >= options.budget {
            break;
        }
        for offset in 0..count {
            let index = (round + offset) % count;
            let variant = &mut group.variants[index];
            let elapsed = (variant.measure)()
                .map_err(|error| format!("{} / {}: {error}", group.title, variant.label))?;
            samples[index].push(elapsed);
        }
    }
    Ok(Measured {
        title: group.title,
        rows: group
            .variants
            .iter()
            .map(|variant| variant.label.clone())
            .zip(samples)
            .collect(),
    })
}

/// The `q` quantile (nearest rank) of sorted samples, in milliseconds.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

struct Stats {
    median: f64,
    p90: f64,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut sorted = samples.to_vec();
    sorted.sort();
    Stats {
        median: quantile(&sorted, 0.5),
        p90: quantile(&sorted, 0.9),
    }
}

/// The median of the per-round differences `samples - baseline`, in milliseconds.
fn paired_difference(samples: &[Duration], baseline: &[Duration]) -> f64 {
    let mut differences: Vec<f64> = samples
        .iter()
        .zip(baseline)
        .map(|(sample, base)| (sample.as_secs_f64() - base.as_secs_f64()) * 1000.0)
        .collect();
    differences.sort_by(f64::total_cmp);
    differences[differences.len() / 2]
}

fn render(results: &[Measured]) -> String {
    let mut out = String::new();
    let width = results
        .iter()
        .flat_map(|measured| measured.rows.iter().map(|(label, _)| label.len()))
        .max()
        .unwrap_or(10)
        .max(10);
    for measured in results {
        let _ = writeln!(out, "\n{}", measured.title);
        let _ = writeln!(
            out,
            "  {:<width$}  {:>5}  {:>10}  {:>10}  {:>8}  {:>12}",
            "variant", "n", "median ms", "p90 ms", "ratio", "paired diff"
        );
        let (_, baseline) = &measured.rows[0];
        let base = stats(baseline);
        for (index, (label, samples)) in measured.rows.iter().enumerate() {
            let stat = stats(samples);
            let (ratio, difference) = if index == 0 {
                ("baseline".to_owned(), String::new())
            } else {
                (
                    format!("{:.2}x", stat.median / base.median),
                    format!("{:+.3} ms", paired_difference(samples, baseline)),
                )
            };
            let _ = writeln!(
                out,
                "  {label:<width$}  {:>5}  {:>10.3}  {:>10.3}  {ratio:>8}  {difference:>12}",
                samples.len(),
                stat.median,
                stat.p90
            );
        }
    }
    out
}

/// The goals of the issue, stated against this run's figures (information, not assertions).
fn goals(results: &[Measured]) -> String {
    let find = |title: &str, label: &str| {
        let measured = results.iter().find(|measured| measured.title == title)?;
        let baseline = &measured.rows[0].1;
        let samples = &measured
            .rows
            .iter()
            .find(|(row, _)| row.starts_with(label))?
            .1;
        Some((
            stats(samples),
            stats(baseline),
            paired_difference(samples, baseline),
        ))
    };
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let mut out = String::from("\ngoals (this run, ");
    out.push_str(profile());
    out.push_str(" profile):\n");
    for label in [SUITE_1, SUITE_LARGE] {
        if let Some((suite, _, difference)) = find(OVERHEAD, label) {
            let _ = writeln!(
                out,
                "  per-canary overhead, {label}: {difference:+.3} ms over cp (goal < 5 ms: {}); \
                 {PYTEST_ISSUE_MS:.0} ms / {:.3} ms = {:.1}x faster than the issue's pytest figure (goal >= 30x: {})",
                verdict(difference < 5.0),
                suite.median,
                PYTEST_ISSUE_MS / suite.median,
                verdict(PYTEST_ISSUE_MS / suite.median >= 30.0)
            );
        }
    }
    for label in ["coalmine::execute::run_canary", "Harness::run"] {
        if let Some((_, _, difference)) = find(IN_PROCESS, label) {
            let _ = writeln!(
                out,
                "  per-canary overhead in-process, {label}: {difference:+.3} ms over cp (goal < 5 ms: {})",
                verdict(difference < 5.0)
            );
        }
    }
    if let (Some((pruned, _, _)), Some((kept, _, _))) =
        (find(OVERHEAD, SUITE_1), find(OVERHEAD, SUITE_KEEP_ALL))
    {
        let _ = writeln!(
            out,
            "  retention (a run folder removed per run once past [run] keep): {:+.3} ms (medians, N=1)",
            pruned.median - kept.median
        );
    }
    if let Some((_, _, difference)) = find(IN_PROCESS, "cp in its own process group") {
        let _ = writeln!(
            out,
            "  the leftover sweep on a CI that left nothing: {difference:+.3} ms over cp (goal < 1 ms: {})",
            verdict(difference < 1.0)
        );
    }
    for (pytest_label, suite_label) in [(PYTEST_1, SUITE_1), (PYTEST_LARGE, SUITE_LARGE)] {
        if let Some((pytest, _, _)) = find(PYTEST, pytest_label)
            && let Some((suite, _, _)) = find(PYTEST, suite_label)
        {
            let ratio = pytest.median / suite.median;
            let _ = writeln!(
                out,
                "  pytest measured here, {pytest_label}: {:.1} ms; {suite_label}: {:.3} ms in the same rounds: \
                 {ratio:.1}x faster (goal >= 30x: {})",
                pytest.median,
                suite.median,
                verdict(ratio >= 30.0)
            );
        }
    }
    for title in [LIST, TERSE, LIST_CANARY, EXACT_LIST, EXACT_RUN, EXACT_TEETH] {
        if let Some((coalmine, bare, _)) = find(title, "coalmine") {
            let ratio = coalmine.median / bare.median;
            let under = coalmine.median < 50.0;
            let _ = writeln!(
                out,
                "  {title}: {ratio:.2}x bare (goal <= 1.2x: {}), {:.2} ms (goal < 50 ms: {})",
                verdict(ratio <= 1.2),
                coalmine.median,
                verdict(under)
            );
        }
    }
    out
}

const OVERHEAD: &str = "per-canary overhead, whole process (trivial CI: cp)";
const IN_PROCESS: &str = "per-canary overhead, in-process (trivial CI: cp)";
const LIST: &str = "--list, 10000 canaries";
const TERSE: &str = "--list --format terse, 10000 canaries";
const LIST_CANARY: &str = "--list --format terse canary, 10000 canaries (only the canary:: trials: same output on both sides)";
const EXACT_TEETH: &str = "--exact teeth::c05000, 10000 canaries (coalmine's offline teeth trial; bare: --exact canary::c05000, an empty test)";
const EXACT_LIST: &str = "--exact canary::c05000 --list, 10000 canaries (name resolution only)";
const EXACT_RUN: &str =
    "--exact canary::c05000, 10000 canaries (coalmine runs the cp CI, bare runs an empty test)";
const PYTEST: &str =
    "pytest baseline, same machine (one parametrised test running cp and reading the JSON)";
const PYTEST_1: &str = "pytest -q test_canaries.py::test_canary[c00000], N=1";
const PYTEST_LARGE: &str = "pytest -q test_canaries.py::test_canary[c00000], N=10000";
const SUITE_1: &str = "bench_suite --exact canary::c00000, N=1";
const SUITE_KEEP_ALL: &str =
    "bench_suite --exact canary::c00000, N=1, [run] keep above any count (no run folder removed)";
const SUITE_LARGE: &str = "bench_suite --exact canary::c00000, N=10000";

/// A name-resolution group: title, the bare harness's arguments, coalmine's arguments, and
/// what each must print.
type ListRow<'a> = (
    &'static str,
    &'a [&'a str],
    &'a [&'a str],
    Expectation,
    Expectation,
);

/// `rustc --version`, for the record.
fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "rustc ?".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )
}

fn run(options: &Options) -> Result<bool, String> {
    let (suite, bare) = binaries(options)?;
    let workspace = Workspace::create(options.dir.as_deref().unwrap_or(&std::env::temp_dir()))?;
    let (coalmine, mimic) = ("coalmine bench_suite", "bare libtest-mimic");
    let mut groups = vec![
        Group {
            title: OVERHEAD,
            variants: vec![
                direct_cp(&workspace),
                process(
                    SUITE_1,
                    example(&suite, &workspace, 1, &["--exact", FIRST]),
                    Expectation::Passed(1),
                ),
                process(
                    SUITE_LARGE,
                    example(&suite, &workspace, LARGE, &["--exact", FIRST]),
                    Expectation::Passed(1),
                ),
                process(
                    SUITE_KEEP_ALL,
                    {
                        let mut command = example(&suite, &workspace, 1, &["--exact", FIRST]);
                        command.env("COALMINE_CONFIG", &workspace.config_keep_all);
                        command
                    },
                    Expectation::Passed(1),
                ),
            ],
        },
        Group {
            title: IN_PROCESS,
            variants: std::iter::once(direct_cp(&workspace))
                .chain(in_process(&workspace)?)
                .collect(),
        },
    ];
    // coalmine lists one trial per kind (canary::, teeth::) for each canary; the bare harness
    // has one trial per canary. `--list canary` (a kind filter for coalmine, a substring filter
    // for libtest-mimic) lists the same 10,000 lines on both sides.
    let kinds = coalmine::harness::KINDS.len();
    let teeth = format!("{}::c05000", coalmine::harness::TEETH);
    let rows: [ListRow<'_>; 6] = [
        (
            LIST,
            &["--list"],
            &["--list"],
            Expectation::Listed(LARGE),
            Expectation::Listed(LARGE * kinds),
        ),
        (
            TERSE,
            &["--list", "--format", "terse"],
            &["--list", "--format", "terse"],
            Expectation::Listed(LARGE),
            Expectation::Listed(LARGE * kinds),
        ),
        (
            LIST_CANARY,
            &["--list", "--format", "terse", "canary"],
            &["--list", "--format", "terse", "canary"],
            Expectation::Listed(LARGE),
            Expectation::Listed(LARGE),
        ),
        (
            EXACT_LIST,
            &["--exact", MIDDLE, "--list"],
            &["--exact", MIDDLE, "--list"],
            Expectation::Listed(1),
            Expectation::Listed(1),
        ),
        (
            EXACT_RUN,
            &["--exact", MIDDLE],
            &["--exact", MIDDLE],
            Expectation::Passed(1),
            Expectation::Passed(1),
        ),
        (
            EXACT_TEETH,
            &["--exact", MIDDLE],
            &["--exact", &teeth],
            Expectation::Passed(1),
            Expectation::Passed(1),
        ),
    ];
    for (title, bare_args, suite_args, bare_expects, suite_expects) in rows {
        groups.push(Group {
            title,
            variants: vec![
                process(
                    mimic,
                    example(&bare, &workspace, LARGE, bare_args),
                    bare_expects,
                ),
                process(
                    coalmine,
                    example(&suite, &workspace, LARGE, suite_args),
                    suite_expects,
                ),
            ],
        });
    }
    if let Some(python) = &options.pytest {
        let dir = pytest_suite(&workspace)?;
        groups.push(Group {
            title: PYTEST,
            variants: vec![
                direct_cp(&workspace),
                process(
                    SUITE_1,
                    example(&suite, &workspace, 1, &["--exact", FIRST]),
                    Expectation::Passed(1),
                ),
                process(
                    SUITE_LARGE,
                    example(&suite, &workspace, LARGE, &["--exact", FIRST]),
                    Expectation::Passed(1),
                ),
                process(
                    PYTEST_1,
                    pytest_command(python, &dir, 1),
                    Expectation::PytestPassed(1),
                ),
                process(
                    PYTEST_LARGE,
                    pytest_command(python, &dir, LARGE),
                    Expectation::PytestPassed(1),
                ),
            ],
        });
    }

    eprintln!(
        "measuring {} profile binaries in {} (up to {} repetitions or {:?} per group)...",
        profile(),
        suite
            .parent()
            .map_or_else(String::new, |dir| dir.display().to_string()),
        options.reps,
        options.budget
    );
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for (index, group) in groups.iter_mut().enumerate() {
        workspace.fresh_runs(index)?;
        let reps = if group.title == PYTEST {
            options.reps.min(40)
        } else {
            options.reps
        };
        eprintln!("  {}", group.title);
        match measure(group, options, reps) {
            Ok(measured) => results.push(measured),
            Err(error) => failures.push(error),
        }
    }

    println!(
        "coalmine benchmarks: {} profile; {} CPUs, kernel {}, {}",
        profile(),
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "?".to_owned(), |text| text.trim().to_owned()),
        rustc_version()
    );
    println!(
        "median and p90 of wall time per invocation; ratio = median / baseline median; \
         paired diff = median of the per-round differences with the baseline (first row)"
    );
    print!("{}", render(&results));
    print!("{}", goals(&results));
    if options.keep || !failures.is_empty() {
        eprintln!("\nkept {} for inspection", workspace.root.display());
    } else {
        let _ = std::fs::remove_dir_all(&workspace.root);
    }
    for failure in &failures {
        eprintln!("\nFAILED (no figures reported for this group): {failure}");
    }
    Ok(failures.is_empty())
}
