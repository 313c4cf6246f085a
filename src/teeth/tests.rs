//! Known answers for teeth: checks with teeth are killed, vacuous and unsatisfiable ones are
//! named, exit-code-only canaries are refused, and a real passing run becomes the baseline.

use super::*;
use crate::Canary;
use crate::check::*;
use crate::execute::artifacts::remember_pass;

fn prove_synthesised(canary: &Canary) -> TeethReport {
    let valid = canary.validate().unwrap();
    prove(&valid, &synthesise(&valid))
}

fn good_simple() -> Canary {
    Canary::new("good-simple")
        .recipe("custom-html-tiny")
        .rev("435df8fc")
        .expect(Expect::Green)
        .check(exit_code(0))
        .check(tier("install").is(Pass))
        .check(no_tier_failed())
        .check(flag("clean_teardown"))
        .check(flag("no_secret_leak"))
        .check(stage("install").test("test_serving").passed())
}

#[test]
fn every_check_of_a_good_canary_has_teeth() {
    let report = prove_synthesised(&good_simple());
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.checks.len(), 7, "the verdict and six checks");
    let killers = |check: &str| {
        report
            .checks
            .iter()
            .find(|teeth| teeth.check == check)
            .unwrap_or_else(|| panic!("{check} not in the report"))
            .killed_by
            .clone()
    };
    assert_eq!(killers("exit_code(0)"), ["flip the exit code"]);
    assert!(killers("verdict GREEN").contains(&"flip the exit code".to_owned()));
    assert!(killers("verdict GREEN").contains(&"set tier \"install\" to fail".to_owned()));
    assert_eq!(
        killers("tier(\"install\").is(Pass)"),
        [
            "set tier \"install\" to fail",
            "set tier \"install\" to skip"
        ]
    );
    assert_eq!(
        killers("flag(\"clean_teardown\")"),
        ["flip flag \"clean_teardown\""]
    );
    assert_eq!(
        killers("stage(\"install\").test(\"test_serving\").passed()"),
        [
            "remove test \"test_serving\" from stage \"install\"",
            "flip the outcome of \"test_serving\" in stage \"install\""
        ]
    );
}

#[test]
fn a_red_canary_with_a_failing_named_test_has_teeth() {
    let canary = Canary::new("bad-false-green")
        .recipe("custom-html")
        .rev("71e7326a")
        .expect(Expect::Red)
        .check(exit_code(1))
        .check(tier("custom").is(Fail))
        .check(
            stage("custom")
                .test("test_content_type_html_and_txt")
                .failed(),
        );
    let report = prove_synthesised(&canary);
    assert!(report.passed(), "{}", report.render());
    assert_eq!(
        report.baseline,
        "synthesised from the checks (no passing run in the artifact folder)"
    );
}

#[test]
fn a_check_that_cannot_fail_is_vacuous() {
    let canary = good_simple()
        .check(output_matches(".*"))
        .check(custom("always true", |_| Ok(())));
    let report = prove_synthesised(&canary);
    assert!(!report.passed());
    let vacuous: Vec<&str> = report.vacuous().map(|check| check.check.as_str()).collect();
    assert_eq!(vacuous, ["custom(\"always true\")"]);
    let text = report.render();
    assert!(
        text.starts_with("VACUOUS: `custom(\"always true\")` passed under every one of the"),
        "{text}"
    );
    // A log with no line at all has no line matching `.*`: emptying the logs kills it.
    let anything = report
        .checks
        .iter()
        .find(|check| check.check == "output_matches(\".*\")")
        .unwrap();
    assert_eq!(anything.killed_by, ["empty the logs"]);
}

#[test]
fn an_output_check_is_killed_by_empty_logs() {
    let report = prove_synthesised(&good_simple().check(output_matches("GREEN")));
    assert!(report.passed(), "{}", report.render());
    let output = report.checks.last().unwrap();
    assert!(
        output.baseline.is_none(),
        "no logs to judge the baseline with"
    );
    assert_eq!(output.killed_by, ["empty the logs"]);
}

#[test]
fn contradicting_checks_are_unsatisfiable() {
    let canary = good_simple().check(tier("install").is(Skip));
    let report = prove_synthesised(&canary);
    assert!(!report.passed());
    assert!(
        report
            .render()
            .contains("UNSATISFIABLE: `tier(\"install\").is(Skip)` rejects the baseline")
    );
}

#[test]
fn exit_code_only_canaries_must_opt_out() {
    let bare = Canary::new("bare")
        .recipe("r")
        .rev("1")
        .expect(Expect::Red)
        .check(exit_code(1));
    let report = prove_synthesised(&bare);
    assert!(report.exit_code_only && !report.passed());
    assert!(
        report
            .render()
            .starts_with("EXIT CODE ONLY: the checks of `bare`")
    );
    let accepted = prove_synthesised(&bare.clone().exit_code_only(true));
    assert!(accepted.passed(), "{}", accepted.render());
    let nothing = prove_synthesised(
        &Canary::new("nothing")
            .recipe("r")
            .rev("1")
            .expect(Expect::Green),
    );
    assert!(nothing.exit_code_only);
}

#[test]
fn the_last_passing_run_is_the_baseline() {
    let root = tempfile::tempdir().unwrap();
    let canary = good_simple();
    let valid = canary.validate().unwrap();
    let write_run = |folder: &str, passed: bool| {
        let dir = root.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        let mut record = RunRecord::new(&valid, folder, &dir);
        record.passed = passed;
        record.exit = Some(Exit::Code(0));
        record.results = Some(synthesise(&valid).results);
        record.write(&dir.join("canary.json")).unwrap();
        std::fs::write(dir.join("stdout.log"), format!("run {folder}\n")).unwrap();
        std::fs::write(dir.join("stderr.log"), "").unwrap();
        dir
    };
    assert!(
        last_passing_run(root.path(), "good-simple").is_none(),
        "no pointer yet"
    );
    let first = write_run("good-simple-20261101T000000Z-1-0", true);
    remember_pass(&first, "good-simple").unwrap();
    let second = write_run("good-simple-20261102T000000Z-1-0", true);
    remember_pass(&second, "good-simple").unwrap();
    write_run("good-simple-20261103T000000Z-1-0", false);
    let baseline = last_passing_run(root.path(), "good-simple").unwrap();
    assert!(
        baseline
            .source
            .ends_with("good-simple-20261102T000000Z-1-0"),
        "{}",
        baseline.source
    );
    let report = prove(&valid, &baseline);
    assert!(report.passed(), "{}", report.render());
    assert_eq!(check_teeth(&valid, root.path()).baseline, baseline.source);
    // Checks changed since that run: the baseline is synthesised again.
    let changed = canary
        .clone()
        .check(stage("install").test("test_new").passed());
    let changed = changed.validate().unwrap();
    let report = check_teeth(&changed, root.path());
    assert!(report.passed(), "{}", report.render());
    assert!(
        report.baseline.starts_with("synthesised from the checks"),
        "{}",
        report.baseline
    );
    assert!(
        report.baseline.ends_with("no longer satisfies the checks)"),
        "{}",
        report.baseline
    );
    // A pointer to another canary's run, or outside the root, is not followed.
    std::fs::write(
        root.path().join(".last-pass/other"),
        "good-simple-20261102T000000Z-1-0",
    )
    .unwrap();
    assert!(last_passing_run(root.path(), "other").is_none());
    std::fs::write(root.path().join(".last-pass/other"), "../elsewhere").unwrap();
    assert!(last_passing_run(root.path(), "other").is_none());
    assert!(last_passing_run(&root.path().join("missing"), "good-simple").is_none());
}

/// The pointer is overwritten in place; whatever state a crash or a concurrent writer leaves
/// it in, it yields a passing run of this very canary or no baseline at all.
#[test]
fn a_torn_or_stale_pointer_never_yields_a_foreign_or_failing_baseline() {
    let root = tempfile::tempdir().unwrap();
    let canary = good_simple();
    let valid = canary.validate().unwrap();
    let write_run = |folder: &str, run_id: &str, passed: bool| {
        let dir = root.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        let mut record = RunRecord::new(&valid, run_id, &dir);
        record.passed = passed;
        record.exit = Some(Exit::Code(0));
        record.results = Some(synthesise(&valid).results);
        record.write(&dir.join("canary.json")).unwrap();
        dir
    };
    let pointer = root.path().join(".last-pass/good-simple");
    let long = write_run(
        "good-simple-20261101T000000Z-123456-10",
        "good-simple-20261101T000000Z-123456-10",
        true,
    );
    let short = write_run(
        "good-simple-20261102T000000Z-7-0",
        "good-simple-20261102T000000Z-7-0",
        true,
    );
    remember_pass(&long, "good-simple").unwrap();
    remember_pass(&short, "good-simple").unwrap();
    assert_eq!(
        std::fs::read_to_string(&pointer).unwrap(),
        "good-simple-20261102T000000Z-7-0\n",
        "a shorter name leaves nothing of the longer one"
    );
    let source = |pointer_text: &[u8]| {
        std::fs::write(&pointer, pointer_text).unwrap();
        last_passing_run(root.path(), "good-simple").map(|baseline| baseline.source)
    };
    let found = |dir: &Path| Some(format!("the last passing run, {}", dir.display()));
    // Written but not yet cut to length: the first line is the whole new name.
    assert_eq!(
        source(b"good-simple-20261102T000000Z-7-0\n000000Z-123456-10\n"),
        found(&short)
    );
    // Written by an older coalmine, without the newline.
    assert_eq!(source(b"good-simple-20261102T000000Z-7-0"), found(&short));
    // Cut short by another writer, or a mix of two names: no such run, no baseline.
    assert_eq!(source(b"good-simple-20261102T00"), None);
    assert_eq!(source(b"good-simple-20261101T000000Z-7-0\n"), None);
    assert_eq!(source(b"good-simple-20261102T000000Z-7-0\0\0\0"), None);
    assert_eq!(source(b"\n"), None);
    // A failing run, another canary's run, or a folder whose record is another run's: none.
    write_run(
        "good-simple-20261103T000000Z-7-1",
        "good-simple-20261103T000000Z-7-1",
        false,
    );
    assert_eq!(source(b"good-simple-20261103T000000Z-7-1\n"), None);
    write_run(
        "good-simple-20261104T000000Z-7-2",
        "good-simple-20261102T000000Z-7-0",
        true,
    );
    assert_eq!(source(b"good-simple-20261104T000000Z-7-2\n"), None);
    assert!(last_passing_run(root.path(), "other").is_none());
    std::fs::write(
        root.path().join(".last-pass/other"),
        b"good-simple-20261102T000000Z-7-0\n",
    )
    .unwrap();
    assert!(last_passing_run(root.path(), "other").is_none());
    // Whatever the pointer says, the teeth trial proves the checks against a sound baseline.
    std::fs::write(&pointer, b"good-simple-2026").unwrap();
    let report = check_teeth(&valid, root.path());
    assert!(report.passed(), "{}", report.render());
    assert!(
        report.baseline.starts_with("synthesised"),
        "{}",
        report.baseline
    );
}

#[test]
fn a_check_on_one_of_the_tests_sharing_a_name_has_teeth() {
    let canary = Canary::new("same-name")
        .recipe("r")
        .rev("1")
        .expect(Expect::Red)
        .check(exit_code(1))
        .check(
            stage("pytest")
                .test("test_it")
                .file("tests/test_b.py")
                .failed(),
        )
        .check(
            stage("pytest")
                .test("test_it")
                .classname("tests.test_a")
                .passed(),
        );
    let valid = canary.validate().unwrap();
    let synthesised = synthesise(&valid);
    let tests = &synthesised.results.stage("pytest").unwrap().tests;
    assert_eq!(tests.len(), 2, "one test per qualifier: {tests:?}");
    assert_eq!(tests[0].file.as_deref(), Some("tests/test_b.py"));
    assert_eq!(tests[1].classname.as_deref(), Some("tests.test_a"));
    let report = prove(&valid, &synthesised);
    assert!(report.passed(), "{}", report.render());
    let killers = |check: &str| {
        report
            .checks
            .iter()
            .find(|teeth| teeth.check == check)
            .unwrap_or_else(|| panic!("{check} not in the report"))
            .killed_by
            .clone()
    };
    assert_eq!(
        killers("stage(\"pytest\").test(\"test_it\").file(\"tests/test_b.py\").failed()"),
        [
            "remove test \"test_it\" with file \"tests/test_b.py\" from stage \"pytest\"",
            "flip the outcome of \"test_it\" with file \"tests/test_b.py\" in stage \"pytest\"",
            "remove test \"test_it\" from stage \"pytest\"",
            "flip the outcome of \"test_it\" in stage \"pytest\"",
        ]
    );
    // Flipping the other test of that name does not touch this one.
    assert_eq!(
        killers("stage(\"pytest\").test(\"test_it\").classname(\"tests.test_a\").passed()"),
        [
            "remove test \"test_it\" with classname \"tests.test_a\" from stage \"pytest\"",
            "flip the outcome of \"test_it\" with classname \"tests.test_a\" in stage \"pytest\"",
            "remove test \"test_it\" from stage \"pytest\"",
            "flip the outcome of \"test_it\" in stage \"pytest\"",
        ]
    );
}

#[test]
fn a_test_reported_twice_is_flipped_and_removed_every_time() {
    let canary = Canary::new("retried")
        .recipe("r")
        .rev("1")
        .expect(Expect::Red)
        .check(exit_code(1))
        .check(stage("custom").test("t").failed());
    let valid = canary.validate().unwrap();
    let mut baseline = synthesise(&valid);
    let custom = &mut baseline.results.stages[0].tests;
    custom.push(custom[0].clone());
    let report = prove(&valid, &baseline);
    assert!(report.passed(), "{}", report.render());
    let failed = report
        .checks
        .iter()
        .find(|teeth| teeth.check == "stage(\"custom\").test(\"t\").failed()")
        .unwrap();
    assert_eq!(
        failed.killed_by,
        [
            "remove test \"t\" from stage \"custom\"",
            "flip the outcome of \"t\" in stage \"custom\""
        ],
        "flipping one of the two reports would leave the other failed"
    );
}

/// Results that hold no tier and no test are never GREEN, so the baseline synthesised for a
/// GREEN canary whose checks name neither still reports one passing tier.
#[test]
fn a_green_canary_that_names_no_tier_has_a_baseline_it_accepts() {
    let canary = Canary::new("flags-only")
        .recipe("r")
        .rev("1")
        .expect(Expect::Green)
        .check(exit_code(0))
        .check(flag("clean_teardown"));
    let report = prove_synthesised(&canary);
    assert!(report.passed(), "{}", report.render());
    let valid = canary.validate().unwrap();
    assert_eq!(
        synthesise(&valid).results.tiers,
        [(SYNTHESISED_TIER.to_owned(), TierStatus::Pass)]
    );
}
