//! `coalmine quarantine apply` with `[[sources]]`, through the real binary: JUnit reports
//! naming Ginkgo specs and Rust tests are ingested, then apply quarantines the flaky ones in
//! their source files (and in harness.toml), releases one whose quarantine is over, and writes a
//! pull-request description listing the files and specs changed. A flaky test that no source
//! holds makes apply fail with nothing written, harness.toml included.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coalmine::config::{SourceKind, SourcesConfig, defaults};
use coalmine::sources::{Action, Change};

const NOW: &str = "2026-11-20T12:00:00Z";
const SUITE: &str = "KubeVirt Suite";

fn coalmine(dir: &Path, args: &[&str]) -> Output {
    common::coalmine_in(dir, args)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

const HARNESS: &str = r#"# Quarantine in the test sources.
[history]
path = "history.db"

[owners]
"KubeVirt Suite::*" = "sig-compute"
"quarantine-fixture::*" = "team-a"

[[sources]]
kind = "ginkgo"
paths = ["go/tests"]

[[sources]]
kind = "rust"
paths = ["crate"]

# Released by this apply: its spec is marked in the source.
[[quarantine]]
test = "KubeVirt Suite::VM lifecycle with a disk should unplug the disk"
owner = "sig-compute"
reason = "timeouts"
since = "2026-10-01"
stable_by = "2026-11-01"
"#;

fn case(classname: &str, name: &str, failed: bool) -> String {
    let body = if failed {
        "<failure message=\"boom\">trace</failure>"
    } else {
        ""
    };
    format!(
        "    <testcase classname=\"{classname}\" name=\"{name}\" time=\"0.1\">{body}</testcase>\n"
    )
}

/// A project with both fixtures, and 20 periodic runs 12 hours apart: the hotplug spec and
/// the nested Rust test fail in the two newest (quarantine now); the unplug spec, marked in
/// the source and quarantined in harness.toml, always passes (released); `extra` fails with
/// them when given.
fn seed(extra: Option<&str>, hostile: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    copy_dir(&fixtures.join("ginkgo-sources"), &root.join("go"));
    copy_dir(&fixtures.join("rust-sources"), &root.join("crate"));
    std::fs::write(root.join("harness.toml"), HARNESS).unwrap();
    // The released spec was quarantined in its source by an earlier apply.
    let ginkgo = SourcesConfig {
        kind: SourceKind::Ginkgo,
        paths: vec![root.join("go/tests")],
        tests: Vec::new(),
        decorators_import: defaults::DECORATORS_IMPORT.to_owned(),
    };
    let (files, _) = coalmine::sources::plan(
        &[ginkgo],
        &[Change {
            test: format!("{SUITE}::VM lifecycle with a disk should unplug the disk"),
            action: Action::Quarantine {
                owner: "sig-compute".to_owned(),
                reason: "timeouts".to_owned(),
                since: "2026-10-01".parse().unwrap(),
            },
        }],
    )
    .unwrap();
    for file in files {
        std::fs::write(&file.path, &file.edited).unwrap();
    }
    for run in 0..20usize {
        let failed = run < 2;
        let mut xml = String::from(
            "<?xml version=\"1.0\"?>\n<testsuites>\n  <testsuite name=\"KubeVirt Suite\">\n",
        );
        xml += &case(
            SUITE,
            "[It] [sig-compute] VM lifecycle with a disk should hotplug the disk [sig-compute, Conformance]",
            failed,
        );
        xml += &case(
            SUITE,
            "[It] [sig-compute] VM lifecycle with a disk [QUARANTINE][test_id:1234] should unplug the disk [QUARANTINE]",
            false,
        );
        // An owner tag a pull request could write, made to end a Go string and add code.
        let paused = if hostile {
            "[It] [sig-x\\&quot;);os.Exit(1);//] VM lifecycle with a disk the VM is paused should keep the disk"
        } else {
            "[It] [sig-compute] VM lifecycle with a disk the VM is paused should keep the disk"
        };
        xml += &case(SUITE, paused, hostile && failed);
        if let Some(extra) = extra {
            xml += &case(SUITE, extra, failed);
        }
        xml += "  </testsuite>\n  <testsuite name=\"quarantine-fixture\">\n";
        xml += &case(
            "quarantine-fixture",
            "tests::nested::adds_in_a_nested_module",
            failed,
        );
        let adds = if hostile {
            "tests::adds [sig-y\\&quot;;&quot;]"
        } else {
            "tests::adds"
        };
        xml += &case("quarantine-fixture", adds, hostile && failed);
        xml += "  </testsuite>\n</testsuites>\n";
        let file = root.join(format!("run{run:02}.xml"));
        std::fs::write(&file, xml).unwrap();
        let at = jiff::Timestamp::from_second(
            NOW.parse::<jiff::Timestamp>().unwrap().as_second() - 3600 * (1 + 12 * run as i64),
        )
        .unwrap()
        .to_string();
        let output = coalmine(
            &root,
            &[
                "ingest",
                "--no-env-run-id",
                "--lane",
                "periodic-e2e",
                "--kind",
                "periodic",
                "--commit",
                &format!("c{run:07}"),
                "--at",
                &at,
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    }
    (dir, root)
}

#[test]
fn apply_edits_the_sources_and_lists_them_in_the_pr_body() {
    let (_dir, root) = seed(None, false);
    let lifecycle = root.join("go/tests/vm_lifecycle_test.go");
    let before = std::fs::read_to_string(&lifecycle).unwrap();
    assert!(before.contains(
        "It(\"[QUARANTINE][test_id:1234] should unplug the disk\", decorators.Quarantine, func() {"
    ));
    let output = coalmine(
        &root,
        &["quarantine", "apply", "--now", NOW, "--pr-body", "pr.md"],
    );
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    let go = std::fs::read_to_string(&lifecycle).unwrap();
    assert!(
        go.contains("It(\"[QUARANTINE]should hotplug the disk\", decorators.Quarantine, decorators.Conformance, func() {"),
        "{go}"
    );
    assert!(
        go.contains("\t\tIt(\"[test_id:1234] should unplug the disk\", func() {"),
        "released: {go}"
    );
    assert!(
        go.contains("\"should keep the disk\",\n"),
        "untouched: {go}"
    );
    assert_eq!(go.matches("[QUARANTINE]").count(), 1, "{go}");
    let lib = std::fs::read_to_string(root.join("crate/src/lib.rs")).unwrap();
    assert!(
        lib.contains("        #[ignore = \"QUARANTINE team-a: immediate: "),
        "{lib}"
    );
    assert_eq!(lib.matches("#[ignore").count(), 1, "{lib}");
    let harness = std::fs::read_to_string(root.join("harness.toml")).unwrap();
    assert!(
        harness.contains(
            "test = \"KubeVirt Suite::VM lifecycle with a disk should hotplug the disk\""
        ),
        "{harness}"
    );
    assert!(!harness.contains("should unplug the disk"), "{harness}");
    let body = std::fs::read_to_string(root.join("pr.md")).unwrap();
    assert!(body.contains("## Test sources changed"), "{body}");
    assert!(body.contains("- `go/tests/vm_lifecycle_test.go`"), "{body}");
    assert!(
        body.contains("  - quarantined (line 23): `VM lifecycle with a disk should hotplug the disk`\n  - released (line 28): `VM lifecycle with a disk should unplug the disk`\n"),
        "{body}"
    );
    assert!(body.contains("- `crate/src/lib.rs`"), "{body}");
    assert!(
        printed.contains("quarantined in crate/src/lib.rs:"),
        "{printed}"
    );
    // Applying again changes nothing.
    let again = coalmine(&root, &["quarantine", "apply", "--now", NOW]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(&lifecycle).unwrap(), go);
}

#[test]
fn a_flaky_test_in_no_source_writes_nothing() {
    let (_dir, root) = seed(Some("[It] VM lifecycle a spec that is nowhere"), false);
    let files = [
        "harness.toml",
        "go/tests/vm_lifecycle_test.go",
        "crate/src/lib.rs",
    ];
    let before: Vec<String> = files
        .iter()
        .map(|file| std::fs::read_to_string(root.join(file)).unwrap())
        .collect();
    let output = coalmine(
        &root,
        &["quarantine", "apply", "--now", NOW, "--pr-body", "pr.md"],
    );
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("`KubeVirt Suite::VM lifecycle a spec that is nowhere`"),
        "{printed}"
    );
    assert!(
        printed.contains("go/tests"),
        "the paths searched: {printed}"
    );
    assert!(printed.contains("nothing was written"), "{printed}");
    let after: Vec<String> = files
        .iter()
        .map(|file| std::fs::read_to_string(root.join(file)).unwrap())
        .collect();
    assert_eq!(before, after);
    assert!(!root.join("pr.md").exists());
}

#[test]
fn hostile_owner_tags_cannot_end_the_literals_they_are_written_into() {
    let (_dir, root) = seed(None, true);
    let output = coalmine(&root, &["quarantine", "apply", "--now", NOW]);
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    let go = std::fs::read_to_string(root.join("go/tests/vm_lifecycle_test.go")).unwrap();
    assert!(
        go.contains("\t\t\t// coalmine quarantine: owner \"sig-x\\\\\\\");os.Exit(1);//\", reason"),
        "{go}"
    );
    // os.Exit appears in that comment only.
    assert_eq!(go.matches("os.Exit").count(), 1, "{go}");
    if let Some(gofmt) = ["/usr/bin/gofmt", "/usr/lib/go/bin/gofmt"]
        .iter()
        .find(|path| Path::new(path).is_file())
    {
        let output = Command::new(gofmt)
            .arg("-l")
            .arg(root.join("go"))
            .output()
            .unwrap();
        assert!(
            output.status.success() && output.stdout.is_empty(),
            "{}",
            text(&output)
        );
    }
    let lib = std::fs::read_to_string(root.join("crate/src/lib.rs")).unwrap();
    let file = syn::parse_file(&lib).unwrap();
    let syn::Item::Mod(syn::ItemMod {
        content: Some((_, items)),
        ..
    }) = file
        .items
        .iter()
        .find(|item| matches!(item, syn::Item::Mod(module) if module.ident == "tests"))
        .unwrap()
    else {
        panic!("no tests module: {lib}");
    };
    let ignores: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Fn(function) => Some(function),
            _ => None,
        })
        .flat_map(|function| function.attrs.iter())
        .filter(|attribute| attribute.path().is_ident("ignore"))
        .filter_map(|attribute| match &attribute.meta {
            syn::Meta::NameValue(pair) => match &pair.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(value),
                    ..
                }) => Some(value.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(ignores.len(), 1, "{lib}");
    assert!(
        ignores[0].starts_with("QUARANTINE sig-y\\\";\": immediate: "),
        "{ignores:?}"
    );
}
