//! End-to-end tests of the built `reference-ci` binary: every bundled recipe revision is run
//! into its own scratch artifacts dir, and the exit code, tier statuses, level, flags and named
//! test outcomes in `results.json` are checked against what the revision's data makes it do.
//! After every run, no service of that run may be left: no process whose working directory
//! or command line is inside the run's artifacts dir, and no port from the service logs still
//! answering as one of the run's services.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_reference-ci");
const TIERS: [&str; 5] = ["install", "upgrade", "backup", "restore", "custom"];
/// Variables the CI reads; cleared for every run so the caller's environment cannot leak in.
const CI_VARS: [&str; 3] = [
    "REFERENCE_CI_RACE_PROBABILITY",
    "REFERENCE_CI_SEED",
    "REFERENCE_CI_RECIPES",
];

/// A unique folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = std::env::temp_dir().join(format!(
            "reference-ci-it-{}-{}-{tag}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// One finished CI run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    artifacts: PathBuf,
    // Keeps the artifacts alive until the run is inspected.
    _scratch: Scratch,
}

impl Run {
    fn results(&self) -> Value {
        let text = fs::read_to_string(self.artifacts.join("results.json")).unwrap_or_else(|e| {
            panic!(
                "no results.json ({e}); stdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        serde_json::from_str(&text).unwrap()
    }

    fn has_results(&self) -> bool {
        self.artifacts.join("results.json").exists()
    }
}

fn ci_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for var in CI_VARS {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command
}

/// Runs `reference-ci run <recipe> --rev <rev>` into a fresh artifacts dir and checks that
/// nothing of the run survives it.
fn run_ci(recipe: &str, rev: &str, env: &[(&str, &str)]) -> Run {
    let scratch = Scratch::new(&format!("{recipe}-{rev}"));
    let artifacts = scratch.path().join("artifacts");
    let artifacts_arg = artifacts.to_str().unwrap();
    let args = [
        "run",
        recipe,
        "--rev",
        rev,
        "--run-id",
        "it-run",
        "--artifacts",
        artifacts_arg,
    ];
    let child = ci_command(&args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ci_pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_nothing_left(&artifacts, ci_pid);
    finished(output, artifacts, scratch)
}

fn finished(output: Output, artifacts: PathBuf, scratch: Scratch) -> Run {
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        artifacts,
        _scratch: scratch,
    }
}

/// No process runs in or mentions `artifacts`, and no port a service of the run (CI process
/// `ci_pid`) announced in its log still answers as that service.
fn assert_nothing_left(artifacts: &Path, ci_pid: u32) {
    if let Ok(entries) = fs::read_dir("/proc") {
        let needle = artifacts.to_string_lossy().into_owned();
        for entry in entries.filter_map(Result::ok) {
            let proc_dir = entry.path();
            let cwd = fs::read_link(proc_dir.join("cwd")).unwrap_or_default();
            let cmdline = fs::read(proc_dir.join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !cwd.starts_with(artifacts) && !cmdline.contains(&needle),
                "left-over process {}: {cmdline}",
                proc_dir.display()
            );
        }
    }
    for addr in announced_ports(artifacts) {
        if let Some(version) = version_at(addr) {
            assert_ne!(
                version["ci_pid"], ci_pid,
                "a service of the run still answers on {addr}: {version}"
            );
        }
    }
}

/// Every `listening on ADDR` in the run's service logs.
fn announced_ports(artifacts: &Path) -> Vec<SocketAddr> {
    let Ok(logs) = fs::read_dir(artifacts.join("services")) else {
        return Vec::new();
    };
    logs.filter_map(Result::ok)
        .filter_map(|log| fs::read_to_string(log.path()).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|line| line.split("listening on ").nth(1))
                .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
                .collect::<Vec<SocketAddr>>()
        })
        .collect()
}

/// `GET /version` at `addr`, if anything answers there (the port may have been reused).
fn version_at(addr: SocketAddr) -> Option<Value> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    serde_json::from_str(response.split("\r\n\r\n").nth(1)?).ok()
}

/// Tier statuses in tier order.
fn statuses(results: &Value) -> Vec<String> {
    TIERS
        .iter()
        .map(|tier| results["results"][tier].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// `(name, outcome)` of a stage's tests, in order.
fn tests_of(results: &Value, tier: &str) -> Vec<(String, String)> {
    results["stages"][tier]["tests"]
        .as_array()
        .unwrap_or_else(|| panic!("stage {tier} has no tests list: {results}"))
        .iter()
        .map(|test| {
            (
                test["name"].as_str().unwrap().to_owned(),
                test["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn message_of(results: &Value, tier: &str, name: &str) -> String {
    results["stages"][tier]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|test| test["name"] == name)
        .and_then(|test| test["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// What a revision must produce.
struct Expected<'a> {
    exit: i32,
    statuses: [&'a str; 5],
    level: u64,
    /// Per tier, the tests and their outcomes in order (tiers not listed must be empty).
    tests: &'a [(&'a str, &'a [(&'a str, &'a str)])],
}

/// Runs a revision and checks everything in `expected`, plus the invariants every run has:
/// echoed identity, both flags true, skip/unver stages with empty test lists, service logs.
fn check_revision(recipe: &str, rev: &str, env: &[(&str, &str)], expected: &Expected<'_>) -> Value {
    let started = Instant::now();
    let run = run_ci(recipe, rev, env);
    let elapsed = started.elapsed();
    let context = format!(
        "{recipe}@{rev}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.code, Some(expected.exit), "exit code of {context}");
    let results = run.results();
    assert_eq!(results["recipe"], recipe);
    assert_eq!(results["rev"], rev);
    assert_eq!(results["run_id"], "it-run");
    assert_eq!(
        statuses(&results),
        expected.statuses,
        "statuses of {context}"
    );
    assert_eq!(results["level"], expected.level, "level of {context}");
    assert_eq!(results["flags"]["clean_teardown"], true, "{context}");
    assert_eq!(results["flags"]["no_secret_leak"], true, "{context}");
    for tier in TIERS {
        let want = expected
            .tests
            .iter()
            .find(|(t, _)| *t == tier)
            .map(|(_, tests)| pairs(tests))
            .unwrap_or_default();
        assert_eq!(tests_of(&results, tier), want, "{tier} tests of {context}");
    }
    assert!(
        run.artifacts.join("services").read_dir().unwrap().count() > 0,
        "no service logs for {context}"
    );
    assert!(
        run.stdout
            .contains(&format!("==> install: deploying {recipe}@{rev}"))
    );
    // Normal runs are quick; only a triggered race waits out the 2 s window.
    assert!(
        elapsed < Duration::from_secs(10),
        "{recipe}@{rev} took {elapsed:?}"
    );
    results
}

// ---- custom-html-tiny ---------------------------------------------------------------------

#[test]
fn tiny_435df8fc_good_reaches_level_2() {
    check_revision(
        "custom-html-tiny",
        "435df8fc",
        &[],
        &Expected {
            exit: 0,
            statuses: ["pass", "pass", "skip", "skip", "skip"],
            level: 2,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("upgrade", &[("test_serving_after_upgrade", "pass")]),
            ],
        },
    );
}

#[test]
fn tiny_1c2d3e4f_baseline_has_no_upgrade() {
    check_revision(
        "custom-html-tiny",
        "1c2d3e4f",
        &[],
        &Expected {
            exit: 0,
            statuses: ["pass", "skip", "skip", "skip", "skip"],
            level: 1,
            tests: &[("install", &[("test_serving", "pass")])],
        },
    );
}

#[test]
fn tiny_0e1f2a3b_fails_install() {
    let results = check_revision(
        "custom-html-tiny",
        "0e1f2a3b",
        &[],
        &Expected {
            exit: 1,
            statuses: ["fail", "unver", "skip", "skip", "skip"],
            level: 0,
            tests: &[("install", &[("test_serving", "fail")])],
        },
    );
    assert!(message_of(&results, "install", "test_serving").contains("GET /: status 404"));
}

#[test]
fn tiny_5c6d7e8f_fails_upgrade_only() {
    let results = check_revision(
        "custom-html-tiny",
        "5c6d7e8f",
        &[],
        &Expected {
            exit: 1,
            statuses: ["pass", "fail", "skip", "skip", "skip"],
            level: 1,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("upgrade", &[("test_serving_after_upgrade", "fail")]),
            ],
        },
    );
    let message = message_of(&results, "upgrade", "test_serving_after_upgrade");
    assert!(
        message.contains("data written before the upgrade was lost"),
        "{message}"
    );
}

// ---- custom-html --------------------------------------------------------------------------

const CUSTOM_HTML_CUSTOM_PASS: &[(&str, &str)] = &[
    ("test_content_roundtrip", "pass"),
    ("test_content_type_html_and_txt", "pass"),
    ("test_custom_html_returns_200", "pass"),
];

#[test]
fn custom_html_60d5e4c3_good_passes_everything() {
    check_revision(
        "custom-html",
        "60d5e4c3",
        &[],
        &Expected {
            exit: 0,
            statuses: ["pass"; 5],
            level: 4,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("upgrade", &[("test_serving_after_upgrade", "pass")]),
                ("backup", &[("test_backup_contains_data", "pass")]),
                ("restore", &[("test_restore_roundtrip", "pass")]),
                ("custom", CUSTOM_HTML_CUSTOM_PASS),
            ],
        },
    );
}

#[test]
fn custom_html_2a1b0c9d_baseline_skips_upgrade() {
    check_revision(
        "custom-html",
        "2a1b0c9d",
        &[],
        &Expected {
            exit: 0,
            statuses: ["pass", "skip", "pass", "pass", "pass"],
            level: 1,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("backup", &[("test_backup_contains_data", "pass")]),
                ("restore", &[("test_restore_roundtrip", "pass")]),
                ("custom", CUSTOM_HTML_CUSTOM_PASS),
            ],
        },
    );
}

#[test]
fn custom_html_71e7326a_stale_docroot_fails_content_type() {
    let results = check_revision(
        "custom-html",
        "71e7326a",
        &[],
        &Expected {
            exit: 1,
            statuses: ["pass", "pass", "pass", "pass", "fail"],
            level: 3,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("upgrade", &[("test_serving_after_upgrade", "pass")]),
                ("backup", &[("test_backup_contains_data", "pass")]),
                ("restore", &[("test_restore_roundtrip", "pass")]),
                (
                    "custom",
                    &[
                        ("test_content_roundtrip", "pass"),
                        ("test_content_type_html_and_txt", "fail"),
                        ("test_custom_html_returns_200", "pass"),
                    ],
                ),
            ],
        },
    );
    assert_eq!(
        message_of(&results, "custom", "test_content_type_html_and_txt"),
        "GET /hello.txt: Content-Type was 'application/octet-stream', expected 'text/plain'"
    );
}

#[test]
fn custom_html_9a8b7c6d_fails_backup_and_leaves_restore_unverified() {
    let results = check_revision(
        "custom-html",
        "9a8b7c6d",
        &[],
        &Expected {
            exit: 1,
            statuses: ["pass", "pass", "fail", "unver", "pass"],
            level: 2,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("upgrade", &[("test_serving_after_upgrade", "pass")]),
                ("backup", &[("test_backup_contains_data", "fail")]),
                ("custom", CUSTOM_HTML_CUSTOM_PASS),
            ],
        },
    );
    let message = message_of(&results, "backup", "test_backup_contains_data");
    assert!(message.contains("missing: [web:uploads]"), "{message}");
}

#[test]
fn custom_html_3f2e1d0c_fails_restore_only() {
    let results = check_revision(
        "custom-html",
        "3f2e1d0c",
        &[],
        &Expected {
            exit: 1,
            statuses: ["pass", "pass", "pass", "fail", "pass"],
            level: 2,
            tests: &[
                ("install", &[("test_serving", "pass")]),
                ("upgrade", &[("test_serving_after_upgrade", "pass")]),
                ("backup", &[("test_backup_contains_data", "pass")]),
                ("restore", &[("test_restore_roundtrip", "fail")]),
                ("custom", CUSTOM_HTML_CUSTOM_PASS),
            ],
        },
    );
    let message = message_of(&results, "restore", "test_restore_roundtrip");
    assert!(message.contains("status 404"), "{message}");
}

// ---- lasuite-docs -------------------------------------------------------------------------

const LASUITE_INSTALL: (&str, &[(&str, &str)]) = (
    "install",
    &[
        ("test_serving", "pass"),
        ("test_serving_and_frontend", "pass"),
    ],
);
const LASUITE_AFTER_UPGRADE: [(&str, &[(&str, &str)]); 3] = [
    ("backup", &[("test_backup_contains_data", "pass")]),
    ("restore", &[("test_restore_roundtrip", "pass")]),
    ("custom", &[("test_document_roundtrip", "pass")]),
];

#[test]
fn lasuite_290a8ad7_good_reaches_level_4() {
    let [backup, restore, custom] = LASUITE_AFTER_UPGRADE;
    let results = check_revision(
        "lasuite-docs",
        "290a8ad7",
        &[
            ("REFERENCE_CI_RACE_PROBABILITY", "0"),
            ("REFERENCE_CI_SEED", "1"),
        ],
        &Expected {
            exit: 0,
            statuses: ["pass"; 5],
            level: 4,
            tests: &[
                LASUITE_INSTALL,
                ("upgrade", &[("test_upgrade_reconverges", "pass")]),
                backup,
                restore,
                custom,
            ],
        },
    );
    assert!(
        results["stages"]["upgrade"]["tests"][0]["duration_ms"]
            .as_u64()
            .unwrap()
            < 2000
    );
}

#[test]
fn lasuite_290a8ad7_certain_race_fails_reconvergence() {
    let [backup, restore, custom] = LASUITE_AFTER_UPGRADE;
    let results = check_revision(
        "lasuite-docs",
        "290a8ad7",
        &[("REFERENCE_CI_RACE_PROBABILITY", "1")],
        &Expected {
            exit: 1,
            statuses: ["pass", "fail", "pass", "pass", "pass"],
            level: 1,
            tests: &[
                LASUITE_INSTALL,
                ("upgrade", &[("test_upgrade_reconverges", "fail")]),
                backup,
                restore,
                custom,
            ],
        },
    );
    let message = message_of(&results, "upgrade", "test_upgrade_reconverges");
    assert!(message.starts_with("not reconverged"), "{message}");
    assert!(
        message.contains("collab: GET /version: status 503"),
        "{message}"
    );
}

#[test]
fn lasuite_7d3c9e12_baseline_skips_upgrade() {
    let [backup, restore, custom] = LASUITE_AFTER_UPGRADE;
    check_revision(
        "lasuite-docs",
        "7d3c9e12",
        &[],
        &Expected {
            exit: 0,
            statuses: ["pass", "skip", "pass", "pass", "pass"],
            level: 1,
            tests: &[LASUITE_INSTALL, backup, restore, custom],
        },
    );
}

// ---- errors -------------------------------------------------------------------------------

#[test]
fn unknown_and_malicious_recipe_names_exit_2_listing_recipes() {
    for name in [
        "no-such-recipe",
        "x; rm -rf /",
        "../etc",
        "custom-html/../custom-html",
    ] {
        let run = run_ci(name, "435df8fc", &[]);
        assert_eq!(run.code, Some(2), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("unknown recipe"),
            "{name}: {}",
            run.stderr
        );
        for known in ["custom-html", "custom-html-tiny", "lasuite-docs"] {
            assert!(run.stderr.contains(known), "{name}: {}", run.stderr);
        }
        assert!(!run.has_results());
    }
}

#[test]
fn unknown_revision_exits_2_listing_revisions() {
    for rev in ["deadbeef", "../custom-html/60d5e4c3"] {
        let run = run_ci("custom-html", rev, &[]);
        assert_eq!(run.code, Some(2));
        assert!(run.stderr.contains("has no revision"), "{}", run.stderr);
        assert!(
            run.stderr
                .contains("2a1b0c9d, 3f2e1d0c, 60d5e4c3, 71e7326a, 9a8b7c6d")
        );
        assert!(!run.has_results());
    }
}

#[test]
fn invalid_race_settings_exit_2() {
    for (var, value) in [
        ("REFERENCE_CI_RACE_PROBABILITY", "1.5"),
        ("REFERENCE_CI_RACE_PROBABILITY", "sometimes"),
        ("REFERENCE_CI_SEED", "-1"),
    ] {
        let run = run_ci("custom-html-tiny", "435df8fc", &[(var, value)]);
        assert_eq!(run.code, Some(2), "{var}={value}");
        assert!(run.stderr.contains(var), "{}", run.stderr);
        assert!(!run.has_results());
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let output = ci_command(&["run", "custom-html", "--rev", "60d5e4c3"], &[])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: reference-ci run"));
    let output = ci_command(&[], &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = ci_command(&["--help"], &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("--artifacts <dir>"));
}

#[test]
fn recipes_folder_from_env_and_invalid_recipes() {
    let scratch = Scratch::new("recipes-env");
    let recipes = scratch.path().join("recipes");
    let good = recipes.join("mini").join("0001");
    fs::create_dir_all(good.join("docroot")).unwrap();
    fs::write(good.join("docroot/index.html"), "<h1>mini site</h1>").unwrap();
    fs::write(
        good.join("recipe.toml"),
        "[recipe]\nversion = \"1\"\nentry = \"web\"\n[services.web]\ndocroot = \"docroot\"\n\
         [expect]\nindex_contains = \"mini site\"\n[stages]\ninstall = [\"test_serving\"]\n",
    )
    .unwrap();
    let bad = recipes.join("mini").join("0002");
    fs::create_dir_all(&bad).unwrap();
    fs::write(
        bad.join("recipe.toml"),
        "[recipe]\nversion = \"1\"\nentry = \"web\"\n[services.web]\n[stages]\ninstall = [\"test_teleport\"]\n",
    )
    .unwrap();
    let recipes_var = recipes.to_str().unwrap();

    let run = run_ci("mini", "0001", &[("REFERENCE_CI_RECIPES", recipes_var)]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        statuses(&run.results()),
        ["pass", "skip", "skip", "skip", "skip"]
    );
    assert_eq!(run.results()["level"], 1);

    let run = run_ci("mini", "0002", &[("REFERENCE_CI_RECIPES", recipes_var)]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("unknown test \"test_teleport\""),
        "{}",
        run.stderr
    );

    // The bundled recipes are not in that folder.
    let run = run_ci(
        "custom-html",
        "60d5e4c3",
        &[("REFERENCE_CI_RECIPES", recipes_var)],
    );
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("known recipes in"), "{}", run.stderr);
}

#[test]
fn artifacts_dir_can_be_reused() {
    let scratch = Scratch::new("reuse");
    let artifacts = scratch.path().join("artifacts");
    let artifacts_arg = artifacts.to_str().unwrap();
    for run_id in ["first", "second"] {
        let args = [
            "run",
            "custom-html-tiny",
            "--rev",
            "1c2d3e4f",
            "--run-id",
            run_id,
            "--artifacts",
            artifacts_arg,
        ];
        let output = ci_command(&args, &[]).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let results: Value =
            serde_json::from_str(&fs::read_to_string(artifacts.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(results["run_id"], run_id);
    }
    // Only the second run's service started lines remain.
    let log = fs::read_to_string(artifacts.join("services/web.log")).unwrap();
    assert_eq!(log.matches("listening on").count(), 1, "{log}");
}

#[test]
fn sigterm_stops_the_ci_and_its_services() {
    let scratch = Scratch::new("sigterm");
    let artifacts = scratch.path().join("artifacts");
    let args = [
        "run",
        "lasuite-docs",
        "--rev",
        "290a8ad7",
        "--run-id",
        "term",
        "--artifacts",
        artifacts.to_str().unwrap(),
    ];
    // A certain race keeps the run busy for 2 s in the upgrade tier.
    let child = ci_command(&args, &[("REFERENCE_CI_RACE_PROBABILITY", "1")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ci_pid = child.id();
    // Wait until services are up (the collab log says it is cold-starting), then signal.
    let deadline = Instant::now() + Duration::from_secs(10);
    let collab_log = artifacts.join("services/collab.log");
    while !fs::read_to_string(&collab_log).is_ok_and(|log| log.contains("cold start")) {
        assert!(
            Instant::now() < deadline,
            "run never reached the upgrade tier"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling the child we spawned and have not reaped.
    unsafe {
        libc::kill(ci_pid as libc::pid_t, libc::SIGTERM);
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(128 + libc::SIGTERM));
    assert!(!artifacts.join("results.json").exists());
    // Killed services are reaped by init shortly after; give them a moment.
    std::thread::sleep(Duration::from_millis(200));
    assert_nothing_left(&artifacts, ci_pid);
}
