//! `coalmine quarantine export` against the real tools: the nextest filterset is accepted by
//! cargo-nextest itself and leaves out exactly the quarantined test of a real crate
//! (`fixtures/nextest-project`), whatever other, unknown tests the quarantine list names; the
//! pytest arguments make real pytest deselect exactly the quarantined test of
//! `fixtures/pytest-project`.

use std::path::Path;
use std::process::Command;

mod common;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

fn nextest_available() -> bool {
    let available = common::cargo_in(Path::new("."))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
            "cargo-nextest is not installed and COALMINE_REQUIRE_ALL is set"
        );
        eprintln!("SKIPPED: cargo-nextest is not installed; .ci/run installs it");
    }
    available
}

/// The tests `cargo nextest list` lists in `dir` under the filterset `filter`, or its error.
fn listed(dir: &Path, filter: &str) -> Result<Vec<String>, String> {
    let output = common::cargo_in(dir)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/export-tools"),
        )
        .args([
            "nextest",
            "list",
            "--message-format",
            "oneline",
            "-E",
            filter,
        ])
        .output()
        .unwrap();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

#[test]
fn nextest_accepts_the_filterset_and_leaves_out_exactly_the_quarantined_test() {
    if !nextest_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("fixtures/nextest-project"), dir.path());
    std::fs::write(
        dir.path().join("harness.toml"),
        "[[quarantine]]\ntest = \"nextest-project::custom::test_missing_page_is_404\"\n\
         owner = \"sig-web\"\nsince = 2026-11-20\n\n\
         [[quarantine]]\ntest = \"other-crate::tests::gone_since_the_refactor\"\n\
         owner = \"sig-web\"\nsince = 2026-11-20\n\n\
         [[quarantine]]\ntest = \"canary::good-simple\"\nowner = \"sig-ci\"\nsince = 2026-11-20\n",
    )
    .unwrap();
    let all = listed(dir.path(), "all()").unwrap();
    assert_eq!(all.len(), 3, "{all:?}");

    let export = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["quarantine", "export", "--for", "nextest"])
        .current_dir(dir.path())
        .env_remove("COALMINE_CONFIG")
        .env("CARGO_TARGET_DIR", root.join("target/export-tools"))
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let filter = String::from_utf8_lossy(&export.stdout).trim().to_owned();
    let note = String::from_utf8_lossy(&export.stderr);
    assert!(
        note.contains("other-crate::tests::gone_since_the_refactor: no test binary"),
        "{note}"
    );
    let kept = listed(dir.path(), &filter).unwrap_or_else(|error| panic!("{filter}\n{error}"));
    assert_eq!(
        kept,
        [
            "nextest-project::custom test_content_type_html_and_txt",
            "nextest-project::install test_serving"
        ],
        "{filter}"
    );
    // Why the binaries must be known: nextest refuses a binary_id that names no binary, so a
    // filterset that guessed one for the unknown test would break the whole run.
    let guessed = "not (binary_id(=other-crate::tests) & test(=gone_since_the_refactor))";
    let refused = listed(dir.path(), guessed).unwrap_err();
    assert!(refused.contains("didn't match any binary IDs"), "{refused}");
}

/// pytest on PATH (`.ci/run` puts its venv there), or why not.
fn pytest_available() -> bool {
    let available = Command::new("pytest")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
            "pytest is not on PATH and COALMINE_REQUIRE_ALL is set"
        );
        eprintln!("SKIPPED: pytest is not on PATH; .ci/run installs it");
    }
    available
}

#[test]
fn pytest_deselects_exactly_the_quarantined_test() {
    if !pytest_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("fixtures/pytest-project"), dir.path());
    // The id ingest gives pytest's JUnit testcase classname="tests.test_custom" name="test_upload".
    std::fs::write(
        dir.path().join("harness.toml"),
        "[[quarantine]]\ntest = \"tests.test_custom::test_upload\"\nowner = \"sig-web\"\n\
         since = 2026-11-20\n",
    )
    .unwrap();
    let export = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["quarantine", "export", "--for", "pytest"])
        .current_dir(dir.path())
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let args: Vec<String> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let collect = |extra: &[String]| {
        let output = Command::new("pytest")
            .args(["--collect-only", "-q", "-p", "no:cacheprovider"])
            .args(extra)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.contains("::"))
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
    let all = collect(&[]);
    assert!(
        all.contains(&"tests/test_custom.py::test_upload".to_owned()),
        "{all:?}"
    );
    let kept = collect(&args);
    let mut expected = all.clone();
    expected.retain(|test| test != "tests/test_custom.py::test_upload");
    assert_eq!(kept, expected, "{args:?}");
}

/// `go` on PATH (`.ci/run` installs Debian's golang-go), or why not.
fn go_available() -> bool {
    let available = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none(),
            "go is not on PATH and COALMINE_REQUIRE_ALL is set"
        );
        eprintln!("SKIPPED: go is not on PATH; .ci/run installs golang-go");
    }
    available
}

/// `go test` in the go fixture, offline, with a cache of its own under target/.
fn go_test(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("go")
        .arg("test")
        .args(args)
        .arg(".")
        .current_dir(dir)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOCACHE", root.join("target/go-cache"))
        .env("GOPATH", root.join("target/go-path"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// The leaf tests `go test -v` ran (`=== RUN` lines of tests that have no subtest).
fn leaves_run(verbose: &str) -> Vec<String> {
    let ran: Vec<&str> = verbose
        .lines()
        .filter_map(|line| line.strip_prefix("=== RUN   "))
        .collect();
    ran.iter()
        .filter(|test| {
            !ran.iter()
                .any(|other| other.starts_with(&format!("{test}/")))
        })
        .map(|test| (*test).to_owned())
        .collect()
}

fn export_for(dir: &Path, runner: &str, tests: &[&str]) -> String {
    let mut toml = String::new();
    for test in tests {
        toml.push_str(&format!(
            "[[quarantine]]\ntest = {test:?}\nowner = \"sig-x\"\nsince = 2026-11-20\n\n"
        ));
    }
    std::fs::write(dir.join("harness.toml"), toml).unwrap();
    let export = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["quarantine", "export", "--for", runner])
        .current_dir(dir)
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    String::from_utf8_lossy(&export.stdout).trim().to_owned()
}

#[test]
fn go_selects_exactly_the_quarantined_tests() {
    if !go_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("fixtures/go-project"), dir.path());
    let pattern = export_for(
        dir.path(),
        "go",
        &[
            "example.com/skipfixture::TestParse/full.case",
            "example.com/skipfixture::TestFormat",
        ],
    );
    // `-skip` splits its pattern as `-run` does (on `|`, then on `/`, one regex a level): the
    // tests `-run` selects with it are those `-skip` leaves out. Go 1.19 (Debian 12) has no
    // `-skip`; its `-run` has the same matcher.
    let selected = leaves_run(&go_test(dir.path(), &["-v", "-run", &pattern], &[]));
    assert_eq!(selected, ["TestParse/full.case", "TestFormat"], "{pattern}");
    let help = Command::new("go")
        .args(["help", "testflag"])
        .output()
        .unwrap();
    if String::from_utf8_lossy(&help.stdout).contains("-skip regexp") {
        let kept = leaves_run(&go_test(dir.path(), &["-v", "-skip", &pattern], &[]));
        assert_eq!(
            kept,
            ["TestParse/empty", "TestParseMore", "TestGinkgoSkip"],
            "{pattern}"
        );
    } else {
        eprintln!("note: this go has no `go test -skip`; checked with -run's identical matcher");
    }
}

#[test]
fn ginkgos_regexp_skips_exactly_the_quarantined_spec() {
    if !go_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("fixtures/go-project"), dir.path());
    // The id ingest gives Ginkgo's JUnit testcase classname="KubeVirt Suite"
    // name="[It] [sig-compute] VM lifecycle should start [Conformance]".
    let pattern = export_for(
        dir.path(),
        "ginkgo",
        &["KubeVirt Suite::VM lifecycle should start"],
    );
    // What Ginkgo matches --skip against: the suite description and the spec's full text.
    let specs = [
        (
            "KubeVirt Suite [sig-compute] VM lifecycle should start [Conformance]",
            true,
        ),
        ("KubeVirt Suite VM lifecycle should start", true),
        ("KubeVirt Suite VM lifecycle should start twice", false),
        (
            "KubeVirt Suite [sig-compute] VM lifecycle should stop",
            false,
        ),
        ("Other Suite VM lifecycle should start", false),
    ];
    let lines: Vec<&str> = specs.iter().map(|(spec, _)| *spec).collect();
    let joined = lines.join("\n");
    let out = go_test(
        dir.path(),
        &["-v", "-run", "^TestGinkgoSkip$"],
        &[("COALMINE_SKIP", &pattern), ("COALMINE_SPECS", &joined)],
    );
    for (spec, skipped) in specs {
        assert!(
            out.contains(&format!("MATCH {skipped}\t{spec}\n")),
            "{spec}: expected {skipped} with {pattern}\n{out}"
        );
    }
}
