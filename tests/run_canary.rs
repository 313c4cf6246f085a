//! Running canaries against small recipe CIs written for these tests (shell scripts run
//! directly, never through the harness's own shell: it has none): good and bad results, hangs,
//! forks, crashes, missing and malformed results, contradictions, and a recipe name that would
//! be dangerous in a shell.

use std::path::{Path, PathBuf};
use std::time::Duration;

use coalmine::Canary;
use coalmine::Expect::{Green, Red};
use coalmine::check::*;
use coalmine::config::Config;
use coalmine::execute::pgroup;
use coalmine::execute::{CanaryRun, run_canary};

/// A scratch project: a harness.toml and a fake CI script.
struct Project {
    dir: tempfile::TempDir,
    /// A value of `COALMINE_TEST_MARKER` in the CI's environment, inherited by everything it
    /// starts, to find its processes in /proc.
    marker: String,
}

const PASSING_RESULTS: &str = r#"{"recipe": "r", "rev": "1",
  "results": {"install": "pass", "upgrade": "pass"},
  "flags": {"clean_teardown": true, "no_secret_leak": true},
  "stages": {"install": {"tests": [{"name": "test_serving", "outcome": "pass"}]}}}"#;

impl Project {
    /// A project whose CI is the given shell script body. The script gets the argv
    /// `<recipe> <rev> <artifacts>` and should write `$3/results.json`.
    fn new(script: &str, extra_ci: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let marker = format!("marker-{}", dir.path().display());
        let ci = dir.path().join("fake-ci");
        std::fs::write(&ci, format!("#!/bin/sh\n{script}\n")).unwrap();
        make_executable(&ci);
        std::fs::write(
            dir.path().join("harness.toml"),
            format!(
                "[ci]\ncommand = [\"./fake-ci\", \"{{recipe}}\", \"{{rev}}\", \"{{artifacts}}\"]\n\
                 results = \"{{artifacts}}/results.json\"\ntimeout = \"20s\"\ngrace = \"300ms\"\n{extra_ci}\n\
                 [ci.env]\nSECRET_TOKEN = \"hunter2\"\nCOALMINE_TEST_MARKER = \"{marker}\"\n\
                 [run]\nartifacts = \"runs\"\nmax_parallel = 1\n"
            ),
        )
        .unwrap();
        Project { dir, marker }
    }

    /// Rewrites the project's harness.toml with `edit`.
    fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let toml = self.dir.path().join("harness.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(&toml, edit(text)).unwrap();
    }

    fn config(&self) -> Config {
        Config::load(&self.dir.path().join("harness.toml")).unwrap()
    }

    /// Runs the canary, then checks that nothing the CI started is still alive.
    fn run(&self, canary: Canary) -> CanaryRun {
        let valid = canary.validate().unwrap();
        let run = run_canary(&valid, &self.config(), 1, &mut |_, _| {});
        assert_eq!(
            processes_with(&self.marker),
            Vec::<u32>::new(),
            "processes of the CI survived"
        );
        run
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn green() -> Canary {
    Canary::new("good-test")
        .recipe("r")
        .rev("1")
        .expect(Green)
        .check(exit_code(0))
        .check(tier("install").is(Pass))
        .check(flag("clean_teardown"))
        .check(stage("install").test("test_serving").passed())
}

fn writes(results: &str) -> String {
    format!("cat > \"$3/results.json\" <<'EOF'\n{results}\nEOF")
}

/// Live processes (not zombies) whose environment holds `COALMINE_TEST_MARKER=<marker>`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        let wanted = format!("COALMINE_TEST_MARKER={marker}");
        if !zombie
            && environ
                .split(|byte| *byte == 0)
                .any(|entry| entry == wanted.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_good_run_passes_and_is_recorded() {
    let project = Project::new(
        &format!(
            "echo deploying \"$1@$2\"\necho to stderr >&2\n{}",
            writes(PASSING_RESULTS)
        ),
        "",
    );
    let run = project.run(green().check(output_matches("^deploying r@1$")));
    assert!(run.passed, "{}", run.report);
    assert!(run.artifacts.starts_with(project.dir.path().join("runs")));
    assert_eq!(
        std::fs::read_to_string(run.artifacts.join("stdout.log")).unwrap(),
        "deploying r@1\n"
    );
    assert_eq!(
        std::fs::read_to_string(run.artifacts.join("stderr.log")).unwrap(),
        "to stderr\n"
    );

    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.artifacts.join("canary.json")).unwrap())
            .unwrap();
    assert_eq!(record["canary"], "good-test");
    assert_eq!(record["passed"], true);
    assert_eq!(record["exit"]["code"], 0);
    assert_eq!(record["argv"][0], "./fake-ci");
    assert_eq!(record["argv"][1], "r");
    assert_eq!(record["verdict"]["passed"], true);
    assert_eq!(record["checks"].as_array().unwrap().len(), 5);
    assert!(
        record["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|check| check["passed"] == true)
    );
    assert!(record["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(record["duration_secs"].as_f64().unwrap() >= 0.0);
    let env: Vec<&str> = record["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"SECRET_TOKEN") && env.contains(&"COALMINE_RUN_ID"),
        "{env:?}"
    );
    let text = std::fs::read_to_string(run.artifacts.join("canary.json")).unwrap();
    assert!(
        !text.contains("hunter2"),
        "environment values must never be recorded"
    );
}

#[test]
fn a_red_canary_whose_ci_exits_zero_is_a_false_green() {
    let project = Project::new(&writes(PASSING_RESULTS), "");
    let run = project.run(
        Canary::new("bad-test")
            .recipe("r")
            .rev("1")
            .expect(Red)
            .check(tier("install").is(Pass)),
    );
    assert!(!run.passed);
    assert_eq!(
        run.report.lines().next().unwrap(),
        "FALSE GREEN: expected RED, the recipe CI exited 0"
    );
    assert!(run.report.contains("✗ verdict RED"), "{}", run.report);
    assert!(
        run.report.contains("✓ tier(\"install\").is(Pass)"),
        "{}",
        run.report
    );
}

#[test]
fn a_red_canary_passes_when_the_ci_fails_for_the_right_reason() {
    let results = r#"{"results": {"install": "pass", "custom": "fail"},
      "stages": {"custom": {"tests": [{"name": "test_content_type_html_and_txt", "outcome": "fail"}]}}}"#;
    let project = Project::new(&format!("{}\nexit 1", writes(results)), "");
    let canary = Canary::new("bad-test")
        .recipe("r")
        .rev("1")
        .expect(Red)
        .check(exit_code(1))
        .check(
            stage("custom")
                .test("test_content_type_html_and_txt")
                .failed(),
        );
    let run = project.run(canary.clone());
    assert!(run.passed, "{}", run.report);

    // The same run checked for a test that is not there fails, listing what exists.
    let run = project.run(canary.check(stage("custom").test("test_content_type").failed()));
    assert!(!run.passed);
    assert!(
        run.report
            .contains("tests there (closest first): test_content_type_html_and_txt"),
        "{}",
        run.report
    );
}

#[test]
fn missing_malformed_and_contradicting_results_fail() {
    let missing = Project::new("exit 0", "").run(green());
    assert!(!missing.passed);
    assert!(
        missing
            .report
            .starts_with("the recipe CI wrote no results file at "),
        "{}",
        missing.report
    );

    let truncated = Project::new(&writes("{\"results\": {\"install\": \"pa"), "").run(green());
    assert!(!truncated.passed);
    let first = truncated.report.lines().next().unwrap();
    assert!(first.starts_with("malformed cc-ci results in "), "{first}");
    assert!(first.contains("results.json:2:"), "{first}");

    let contradiction =
        Project::new(&format!("{}\nexit 1", writes(PASSING_RESULTS)), "").run(green());
    assert!(!contradiction.passed);
    assert_eq!(
        contradiction.report.lines().next().unwrap(),
        "CONTRADICTION: the recipe CI exited 1 but no tier failed in its results"
    );

    let failed_tier = PASSING_RESULTS.replace("\"upgrade\": \"pass\"", "\"upgrade\": \"fail\"");
    let contradiction = Project::new(&writes(&failed_tier), "").run(green());
    assert_eq!(
        contradiction.report.lines().next().unwrap(),
        "CONTRADICTION: the recipe CI exited 0 but its results say tier(s) upgrade failed"
    );

    let other_target = PASSING_RESULTS.replace("\"rev\": \"1\"", "\"rev\": \"2\"");
    let wrong = Project::new(&writes(&other_target), "").run(green());
    assert!(!wrong.passed);
    assert!(
        wrong
            .report
            .starts_with("WRONG TARGET: asked for rev \"1\", the results are for rev \"2\""),
        "{}",
        wrong.report
    );
}

#[test]
fn a_hanging_ci_and_all_its_children_are_terminated() {
    // Children that sleep, one that ignores SIGTERM, and a grandchild whose parent exits.
    let script = "sleep 300 &\n(trap '' TERM; sleep 301) &\n(sh -c 'sleep 302' &)\nsleep 303\n";
    let project = Project::new(script, "");
    let run = project.run(green().timeout(Duration::from_millis(700)));
    assert!(!run.passed);
    assert!(run.record.timed_out);
    assert!(
        run.report
            .starts_with("TIMEOUT: the recipe CI ran longer than 700ms"),
        "{}",
        run.report
    );
    let pid = run.record.pid.unwrap();
    assert!(
        pgroup::live_members(pid).is_empty(),
        "the CI's process group survived"
    );
    assert_eq!(
        processes_with(&project.marker),
        Vec::<u32>::new(),
        "processes of the CI survived"
    );

    // Control: the scan does see a live process carrying the marker.
    let mut control = std::process::Command::new("sleep")
        .arg("30")
        .env("COALMINE_TEST_MARKER", &project.marker)
        .spawn()
        .unwrap();
    // Until the child has exec'ed, /proc shows the parent's environment: poll briefly.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = processes_with(&project.marker);
    while seen.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        seen = processes_with(&project.marker);
    }
    control.kill().unwrap();
    control.wait().unwrap();
    assert_eq!(seen, vec![control.id()]);
}

#[test]
fn processes_left_behind_after_a_normal_exit_fail_the_canary_and_are_ended() {
    let project = Project::new(
        &format!("sleep 300 &\n{}\nexit 0", writes(PASSING_RESULTS)),
        "",
    );
    let run = project.run(green());
    assert!(!run.passed, "{}", run.report);
    let headline = run.report.lines().next().unwrap();
    assert!(
        headline.starts_with(
            "UNCLEAN TEARDOWN: the recipe CI left 1 process running after it exited (pid "
        ) && headline.ends_with(" \"sleep 300\", in its process group); it was killed"),
        "{headline}"
    );
    assert!(
        run.report.contains(
            "CONTRADICTION: the results say clean_teardown: true, but the recipe CI left a process running after it exited"
        ),
        "{}",
        run.report
    );
    assert_eq!(run.record.leftover_processes, 1);
    assert_eq!(processes_with(&project.marker), Vec::<u32>::new());
}

/// A CI that starts a daemon outside its process group, in each way a CI can, waits until the
/// daemon has left the group (it touches `$3/ready` once it has), and exits 0 with results that
/// claim a clean teardown.
fn escaping(how: &str) -> Project {
    Project::new(
        &format!(
            "{how}\nwhile [ ! -e \"$3/ready\" ]; do sleep 0.01; done\n{}\nexit 0",
            writes(PASSING_RESULTS)
        ),
        "",
    )
}

fn assert_unclean(project: &Project, place: &str) {
    let run = project.run(green());
    assert!(!run.passed, "{}", run.report);
    let headline = run.report.lines().next().unwrap();
    assert!(
        headline.starts_with(
            "UNCLEAN TEARDOWN: the recipe CI left 1 process running after it exited (pid "
        ) && headline.ends_with(&format!(", {place}); it was killed")),
        "{}",
        run.report
    );
    assert!(
        run.report
            .contains("CONTRADICTION: the results say clean_teardown: true")
    );
    assert_eq!(run.record.leftovers.len(), 1, "{:?}", run.record.leftovers);
    // Project::run checked that nothing carrying the CI's marker is still alive.
}

#[test]
fn a_daemon_in_its_own_session_fails_the_canary_and_is_ended() {
    assert_unclean(
        &escaping("setsid sh -c ': > \"$1\"; exec sleep 300' sh \"$3/ready\" &"),
        "in its own session",
    );
}

#[test]
fn a_daemon_in_its_own_process_group_fails_the_canary_and_is_ended() {
    assert_unclean(
        &escaping(
            "perl -e 'setpgrp(0, 0); open(F, \">\", $ARGV[0]); close(F); sleep 300' \"$3/ready\" &",
        ),
        "in a process group of its own",
    );
}

/// A daemon's double fork: a middle process in a new session starts the daemon and exits at
/// once; the daemon waits until its parent is gone (it is then the harness's child), touches
/// `$3/ready` and becomes `sleep 300`.
const DOUBLE_FORK: &str = "perl -MPOSIX -e 'defined(my $pid = fork) or die; exit 0 if $pid; POSIX::setsid(); my $middle = $$; defined($pid = fork) or die; exit 0 if $pid; select(undef, undef, undef, 0.01) while getppid() == $middle; open(my $f, \">\", $ARGV[0]) or die; close $f; exec \"sleep\", \"300\"' \"$3/ready\"";

#[test]
fn a_double_forked_daemon_fails_the_canary_and_is_ended() {
    // The middle process starts the daemon in a new session and exits at once: the daemon's
    // parent is gone before the CI exits.
    let project = escaping(DOUBLE_FORK);
    let run = project.run(green());
    assert!(!run.passed, "{}", run.report);
    assert_eq!(run.record.leftovers.len(), 1, "{:?}", run.record.leftovers);
    assert!(
        run.report
            .lines()
            .next()
            .unwrap()
            .ends_with(", in a new session); it was killed"),
        "{}",
        run.report
    );
}

#[test]
fn a_leftover_is_charged_to_its_own_run_when_canaries_share_a_process() {
    // The escaping CI's daemon comes back to the harness while that CI still runs; the other
    // canary finishes meanwhile and must not take it for its own.
    let escaping =
        escaping("setsid sh -c 'sleep 300 & : > \"$1\"; exit 0' sh \"$3/ready\"\nsleep 2");
    let clean = Project::new(&format!("sleep 0.5\n{}", writes(PASSING_RESULTS)), "");
    let (dirty, tidy) = std::thread::scope(|scope| {
        let dirty = scope.spawn(|| escaping.run(green()));
        let tidy = scope.spawn(|| clean.run(green()));
        (dirty.join().unwrap(), tidy.join().unwrap())
    });
    assert!(tidy.passed, "{}", tidy.report);
    assert!(tidy.record.leftovers.is_empty());
    assert!(!dirty.passed);
    assert!(
        dirty.report.starts_with("UNCLEAN TEARDOWN"),
        "{}",
        dirty.report
    );
}

#[test]
fn a_ci_killed_by_a_signal_is_named() {
    let run = Project::new(&format!("{}\nkill -SEGV $$", writes(PASSING_RESULTS)), "").run(green());
    assert!(!run.passed);
    assert_eq!(
        run.report.lines().next().unwrap(),
        "CRASH: the recipe CI was killed by signal 11 (SIGSEGV)"
    );
}

#[test]
fn a_missing_program_names_the_path_searched() {
    let project = Project::new("exit 0", "");
    project.edit_config(|text| text.replace("./fake-ci", "no-such-recipe-ci-xyz"));
    let run = project.run(green());
    assert!(!run.passed);
    let first = run.report.lines().next().unwrap();
    assert!(
        first.starts_with(
            "recipe CI program \"no-such-recipe-ci-xyz\" not found in PATH (searched: "
        ),
        "{first}"
    );
    assert!(run.artifacts.join("canary.json").is_file());
}

#[test]
fn arguments_are_never_interpreted_by_a_shell() {
    let project = Project::new(
        &format!(
            "printf '%s' \"$1\" > \"$3/recipe-arg\"\n{}",
            writes(PASSING_RESULTS)
        ),
        "",
    );
    let dangerous = "x; rm -rf / $(touch pwned) `touch pwned2`";
    let canary = green().recipe(dangerous);
    let run = project.run(canary);
    assert_eq!(
        std::fs::read_to_string(run.artifacts.join("recipe-arg")).unwrap(),
        dangerous
    );
    assert!(
        !project.dir.path().join("pwned").exists() && !project.dir.path().join("pwned2").exists()
    );
    // The results name recipe "r", which is not what was asked for.
    assert!(
        run.report.starts_with("WRONG TARGET: asked for recipe"),
        "{}",
        run.report
    );
}

#[test]
fn a_slow_canary_is_reported_while_it_runs() {
    let project = Project::new(
        &format!("sleep 0.35\n{}", writes(PASSING_RESULTS)),
        "slow = \"100ms\"",
    );
    let valid_canary = green();
    let valid = valid_canary.validate().unwrap();
    let mut notices: Vec<(Duration, PathBuf)> = Vec::new();
    let run = run_canary(&valid, &project.config(), 1, &mut |elapsed, artifacts| {
        notices.push((elapsed, artifacts.to_owned()))
    });
    assert!(run.passed, "{}", run.report);
    assert!(!notices.is_empty());
    assert!(notices[0].0 >= Duration::from_millis(100));
    assert_eq!(notices[0].1, run.artifacts);
}

#[test]
fn the_failure_report_shows_the_log_tails() {
    let script = "for i in $(seq 1 40); do echo \"out line $i\"; done\necho 'boom: deploy failed' >&2\nexit 3";
    let run = Project::new(script, "").run(green());
    assert!(!run.passed);
    assert!(
        run.report
            .contains("--- last 15 lines of stdout.log ---\n  out line 26\n"),
        "{}",
        run.report
    );
    assert!(run.report.contains("  out line 40\n"));
    assert!(!run.report.contains("out line 25\n"));
    assert!(
        run.report
            .contains("--- last 1 lines of stderr.log ---\n  boom: deploy failed")
    );
}

#[test]
fn truncated_xml_results_fail_with_their_position() {
    let truncated = "<?xml version=\"1.0\"?>\n<testsuites>\n  <testsuite name=\"install\">\n    <testcase name=\"test_serving\">\n      <failure message=\"boom\">";
    let project = Project::new(
        &format!("cat > \"$3/results.json\" <<'EOF'\n{truncated}\nEOF"),
        "format = \"junit\"",
    );
    let run = project.run(green());
    assert!(!run.passed);
    let first = run.report.lines().next().unwrap();
    assert!(first.starts_with("malformed junit results in "), "{first}");
    assert!(
        first.ends_with("results.json:6:1: the file ends inside <failure> opened at line 5, column 7: the results file is truncated"),
        "{first}"
    );

    // The same document, complete, is read and judged: the named test failed.
    let complete = format!("{truncated}</failure>\n    </testcase>\n  </testsuite>\n</testsuites>");
    let project = Project::new(
        &format!("cat > \"$3/results.json\" <<'EOF'\n{complete}\nEOF\nexit 1"),
        "format = \"junit\"",
    );
    let run = project.run(green());
    assert!(!run.passed);
    assert!(
        run.report
            .contains("found:    test \"test_serving\" in stage \"install\" is fail (boom)"),
        "{}",
        run.report
    );
}

#[test]
fn a_canary_without_a_recipe_ci_fails_before_anything_runs() {
    let project = Project::new("exit 0", "");
    // The same file with its [ci] table renamed to a profile that the canary does not use.
    project.edit_config(|text| {
        text.replace("[ci]", "[profiles.other]")
            .replace("[ci.env]", "[profiles.other.env]")
    });
    let run = project.run(green());
    assert!(!run.passed);
    let first = run.report.lines().next().unwrap();
    assert!(first.contains("has no [ci] table"), "{first}");
    assert!(!run.artifacts.exists(), "nothing should have run");
}

#[test]
fn a_glob_that_matches_one_file_twice_reads_it_once() {
    // `a` and `b` are one folder (a symlink), and `copy.json` is a hard link of `results.json`:
    // the glob matches the same report four times.
    let script = format!(
        "mkdir \"$3/a\"\n{}\nmv \"$3/results.json\" \"$3/a/results.json\"\n\
         ln \"$3/a/results.json\" \"$3/a/copy.json\"\nln -s a \"$3/b\"",
        writes(PASSING_RESULTS)
    );
    let project = Project::new(&script, "");
    project.edit_config(|text| {
        text.replace(
            "results = \"{artifacts}/results.json\"",
            "results = \"{artifacts}/*/*.json\"",
        )
    });
    let run = project.run(green());
    assert!(run.passed, "{}", run.report);
    let results = run.record.results.as_ref().unwrap();
    assert_eq!(
        results.stage("install").unwrap().tests.len(),
        1,
        "{results:?}"
    );
    let serving = run
        .record
        .checks
        .iter()
        .find(|check| check.check == "stage(\"install\").test(\"test_serving\").passed()")
        .unwrap();
    assert_eq!(
        serving.found,
        "test \"test_serving\" in stage \"install\" is pass"
    );
}

#[test]
fn names_with_invisible_characters_are_shown_escaped() {
    // The CI names its test "test_<zero-width space>serving": printed as is, the report would
    // say there is no test_serving, the closest being test_serving.
    let results = PASSING_RESULTS.replace("test_serving", "test_\u{200b}serving");
    let run = Project::new(&writes(&results), "").run(green());
    assert!(!run.passed);
    assert!(
        run.report.contains(
            "found:    no test \"test_serving\" in stage \"install\"; tests there (closest first): \
             \"test_\\u{200b}serving\"; \"test_\\u{200b}serving\" differs from \"test_serving\" only \
             in invisible characters"
        ),
        "{}",
        run.report
    );
    assert!(!run.report.contains('\u{200b}'), "{}", run.report);
}

#[test]
fn suggestions_are_capped() {
    let tests: Vec<String> = (0..88)
        .map(|index| format!("{{\"name\": \"test_case_{index:02}\", \"outcome\": \"pass\"}}"))
        .collect();
    let results = format!(
        "{{\"recipe\": \"r\", \"rev\": \"1\", \"results\": {{\"install\": \"pass\"}}, \
         \"stages\": {{\"install\": {{\"tests\": [{}]}}}}}}",
        tests.join(", ")
    );
    let run = Project::new(&writes(&results), "").run(
        Canary::new("capped")
            .recipe("r")
            .rev("1")
            .expect(Green)
            .check(stage("install").test("test_case_7").passed()),
    );
    assert!(!run.passed);
    let found = run
        .report
        .lines()
        .find(|line| line.contains("no test \"test_case_7\""))
        .unwrap_or_else(|| panic!("{}", run.report));
    let listed = found.split("(closest first): ").nth(1).unwrap();
    assert!(listed.ends_with(", and 78 more"), "{found}");
    assert_eq!(listed.matches("test_case_").count(), 10, "{found}");
}

#[test]
fn empty_results_are_never_followed_by_a_green_verdict() {
    let run = Project::new(&writes(r#"{"recipe": "r", "rev": "1", "results": {}}"#), "").run(
        Canary::new("empty")
            .recipe("r")
            .rev("1")
            .expect(Green)
            .check(exit_code(0))
            .exit_code_only(true),
    );
    assert!(!run.passed);
    assert!(
        run.report
            .starts_with("EMPTY RESULTS: the results hold no tier and no test"),
        "{}",
        run.report
    );
    assert!(!run.report.contains("✓ verdict GREEN"), "{}", run.report);
    assert!(
        run.report.contains(
            "✗ verdict GREEN\n      expected: exit code 0 and no tier failed\n      found:    exit code 0, \
             but the results hold no tier and no test"
        ),
        "{}",
        run.report
    );
}

#[test]
fn a_results_folder_and_a_glob_matching_nothing_are_named_as_such() {
    let folder = Project::new("mkdir \"$3/results.json\"", "").run(green());
    assert!(!folder.passed);
    let first = folder.report.lines().next().unwrap();
    assert!(
        first.starts_with("the results path ")
            && first.contains("/results.json is a folder, not a file (format cc-ci)"),
        "{first}"
    );
    assert!(!first.contains(":0:0"), "{first}");

    let project = Project::new("mkdir \"$3/junit\"", "");
    project.edit_config(|text| {
        text.replace(
            "results = \"{artifacts}/results.json\"",
            "results = \"{artifacts}/junit/*.xml\"\nformat = \"junit\"",
        )
    });
    let glob = project.run(green());
    assert!(!glob.passed);
    let first = glob.report.lines().next().unwrap();
    assert!(
        first.starts_with("no file matches the results glob ")
            && first.contains("/junit/*.xml (format junit)"),
        "{first}"
    );
}

#[test]
fn hints_name_the_table_and_the_file_read() {
    let project = Project::new("exit 0", "");
    // The same CI as a profile, in a file that is not called harness.toml.
    let text = std::fs::read_to_string(project.dir.path().join("harness.toml"))
        .unwrap()
        .replace("[ci]", "[profiles.pytest]")
        .replace("[ci.env]", "[profiles.pytest.env]");
    let path = project.dir.path().join("canaries.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let canary = green().ci("pytest");
    let valid = canary.validate().unwrap();
    let run = run_canary(&valid, &config, 1, &mut |_, _| {});
    assert!(!run.passed);
    let first = run.report.lines().next().unwrap();
    assert!(
        first.contains(&format!(
            "check `[profiles.pytest] results` in {} and that the CI writes its results there",
            path.display()
        )),
        "{first}"
    );
    assert!(!first.contains("harness.toml"), "{first}");
}

#[test]
fn the_report_names_only_files_that_exist() {
    let project = Project::new("exit 0", "");
    project.edit_config(|text| text.replace("./fake-ci", "no-such-recipe-ci-xyz"));
    let run = project.run(green());
    assert!(!run.passed);
    let line = run
        .report
        .lines()
        .find(|line| line.trim_start().starts_with("artifacts:"))
        .unwrap();
    assert_eq!(
        line.trim(),
        format!("artifacts: {} (canary.json)", run.artifacts.display())
    );

    // Nothing started: no folder at all.
    let project = Project::new("exit 0", "");
    project.edit_config(|text| {
        text.replace("[ci]", "[profiles.other]")
            .replace("[ci.env]", "[profiles.other.env]")
    });
    let run = project.run(green());
    assert!(!run.artifacts.exists());
    let line = run
        .report
        .lines()
        .find(|line| line.trim_start().starts_with("artifacts:"))
        .unwrap();
    assert_eq!(
        line.trim(),
        format!(
            "artifacts: none ({} was not created: the canary stopped before the recipe CI started)",
            run.artifacts.display()
        )
    );
}

/// Waits until the background child has set its trap (else SIGTERM could end it first).
const WAIT_FOR_CHILD: &str = "while [ ! -e \"$3/child-ready\" ]; do sleep 0.01; done";

#[test]
fn results_written_after_the_ci_exited_are_named_as_the_cause() {
    // The CI exits once its child is set up; the child writes the results when told to stop.
    let script = format!(
        "write_results() {{\n{}\n}}\n(\ntrap 'write_results \"$@\"; exit 0' TERM\ntouch \"$3/child-ready\"\nwhile :; do sleep 0.05; done\n) &\n{WAIT_FOR_CHILD}\nexit 0",
        writes(PASSING_RESULTS)
    );
    let run = Project::new(&script, "").run(green());
    assert!(!run.passed, "{}", run.report);
    let first = run.report.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "LATE RESULTS: the results file {} did not exist when the recipe CI exited",
            run.artifacts.join("results.json").display()
        )),
        "{}",
        run.report
    );

    // Half written by then: the late writer is still the cause named first.
    let script = format!(
        "write_results() {{\n{}\n}}\n(\ntrap 'write_results \"$@\"; exit 0' TERM\ntouch \"$3/child-ready\"\nwhile :; do sleep 0.05; done\n) &\n{WAIT_FOR_CHILD}\nexit 0",
        writes("{\"results\": {\"install\": \"pa")
    );
    let run = Project::new(&script, "").run(green());
    assert!(!run.passed);
    let mut lines = run.report.lines();
    assert!(
        lines.next().unwrap().starts_with("LATE RESULTS: "),
        "{}",
        run.report
    );
    assert!(
        run.report.contains("  also: malformed cc-ci results in "),
        "{}",
        run.report
    );

    // A child that would have written them is ended first: the missing results say so.
    let script = format!("(sleep 5\n{}\n) &\nexit 0", writes(PASSING_RESULTS));
    let run = Project::new(&script, "").run(green());
    assert!(!run.passed);
    let first = run.report.lines().next().unwrap();
    assert!(
        first.starts_with("the recipe CI wrote no results file at ")
            && first.contains("process(es) running when it exited"),
        "{first}"
    );
}
