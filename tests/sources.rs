//! `[[sources]]`: quarantine and release in the test source, on fixtures modelled on real
//! suites (`fixtures/ginkgo-sources`: a Ginkgo v2 file with nested containers, a table with
//! entries, decorators already present, tags in texts, and a file without the decorators
//! import; `fixtures/rust-sources`: a crate with nested modules, a module file and an
//! integration test).
//!
//! Checked: quarantine then release gives back the original bytes; specs not asked for are
//! never touched; a missing or ambiguous spec is an error naming the test, the paths searched
//! and the closest specs; a hostile owner cannot end the string literal it is written into;
//! the edited Go files are as gofmt leaves them (when gofmt is installed; skipped with a line
//! otherwise, failed under `COALMINE_REQUIRE_ALL=1`); the edited Rust crate builds and
//! `cargo test -- --ignored` runs exactly the quarantined test.

mod common;

use std::path::{Path, PathBuf};

use coalmine::config::{SourceKind, SourcesConfig, defaults};
use coalmine::sources::{Action, Change, FileChange, SourceError, plan};

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

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
        &root,
    );
    (dir, root)
}

fn source(kind: SourceKind, paths: Vec<PathBuf>) -> SourcesConfig {
    SourcesConfig {
        kind,
        paths,
        tests: Vec::new(),
        decorators_import: defaults::DECORATORS_IMPORT.to_owned(),
    }
}

fn quarantine(test: &str, owner: &str) -> Change {
    Change {
        test: test.to_owned(),
        action: Action::Quarantine {
            owner: owner.to_owned(),
            reason: "immediate: failed 5 of 10 execution(s) (50 %)".to_owned(),
            since: "2026-12-01".parse().unwrap(),
        },
    }
}

fn release(test: &str) -> Change {
    Change {
        test: test.to_owned(),
        action: Action::Release,
    }
}

fn write(files: &[FileChange]) {
    for file in files {
        std::fs::write(&file.path, &file.edited).unwrap();
    }
}

/// Every file under `root` with its bytes.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().is_dir() {
                if entry.file_name() != "target" {
                    stack.push(entry.path());
                }
            } else if entry.file_name() != "Cargo.lock" {
                found.push((entry.path(), std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// Debian's gofmt, if installed.
fn gofmt() -> Option<PathBuf> {
    let found = which_gofmt();
    if found.is_none() {
        assert!(
            std::env::var_os("COALMINE_REQUIRE_ALL").is_none_or(|value| value != "1"),
            "gofmt is not installed and COALMINE_REQUIRE_ALL=1: apt-get install golang-go"
        );
        println!(
            "skipped: gofmt is not installed (apt-get install golang-go), so the gofmt check did not run"
        );
    }
    found
}

fn which_gofmt() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("gofmt"))
        .chain([PathBuf::from("/usr/lib/go/bin/gofmt")])
        .find(|candidate| candidate.is_file())
}

/// Asserts gofmt would change none of the Go files under `root` (and can parse them all).
fn assert_gofmt_clean(root: &Path) {
    let Some(gofmt) = gofmt() else {
        return;
    };
    let output = std::process::Command::new(gofmt)
        .arg("-l")
        .arg(root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "gofmt failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "gofmt would change these files"
    );
}

const SUITE: &str = "KubeVirt Suite";

#[test]
fn ginkgo_quarantine_then_release_gives_back_the_original_bytes() {
    let (_dir, root) = fixture("ginkgo-sources");
    let original = snapshot(&root);
    let sources = [source(SourceKind::Ginkgo, vec![root.join("tests")])];
    let tests = [
        format!("{SUITE}::VM lifecycle with a disk should hotplug the disk"),
        format!("{SUITE}::VM lifecycle with a disk the VM is paused should keep the disk"),
        format!("{SUITE}::VM lifecycle starting with a run strategy with RunStrategyManual"),
        format!("{SUITE}::VM lifecycle starting with a run strategy with a raw \"Once\""),
        "Storage Suite::Hotplug with a block volume the volume is attached".to_owned(),
    ];
    let changes: Vec<Change> = tests
        .iter()
        .map(|test| quarantine(test, "sig-compute"))
        .collect();
    let (files, missing) = plan(&sources, &changes).unwrap();
    assert!(missing.is_empty());
    assert_eq!(files.len(), 2, "{files:#?}");
    let lifecycle_file = files
        .iter()
        .find(|file| file.path.ends_with("vm_lifecycle_test.go"))
        .unwrap();
    let lifecycle = &lifecycle_file.edited;
    for expected in [
        "\t\t// coalmine quarantine: owner \"sig-compute\", reason \"immediate: failed 5 of 10 execution(s) (50 %)\", since \"2026-12-01\"\n\t\tIt(\"[QUARANTINE]should hotplug the disk\", decorators.Quarantine, decorators.Conformance, func() {",
        "\t\t\t\t\"[QUARANTINE]should keep the disk\", decorators.Quarantine,\n\t\t\t\tdecorators.SigStorage,",
        "\t\tEntry(\"[QUARANTINE][test_id:2190] with RunStrategyManual\", decorators.Quarantine, \"Manual\"),",
        "\t\tEntry(`[QUARANTINE]with a raw \"Once\"`, decorators.Quarantine, \"Once\"),",
        // Not asked for: as they were.
        "\t\tIt(\"[test_id:1234] should unplug the disk\", func() {",
        "\t\tEntry(\"with RunStrategyAlways\", decorators.Conformance, \"Always\"),",
    ] {
        assert!(
            lifecycle.contains(expected),
            "{expected}\nnot in\n{lifecycle}"
        );
    }
    assert_eq!(lifecycle.matches("[QUARANTINE]").count(), 4, "{lifecycle}");
    // Only the lines of the specs changed (and one comment above each that starts its line).
    let before = &lifecycle_file.original;
    let changed = lifecycle
        .lines()
        .filter(|line| !before.lines().any(|old| old == *line))
        .count();
    assert_eq!(changed, 4 + 4, "{lifecycle}");
    let hotplug = &files
        .iter()
        .find(|file| file.path.ends_with("hotplug.go"))
        .unwrap()
        .edited;
    assert!(
        hotplug.contains("import (\n\t\"fmt\"\n\n\t. \"github.com/onsi/ginkgo/v2\"\n\n\t\"kubevirt.io/kubevirt/tests/decorators\"\n)")
            || hotplug.contains("\t\"kubevirt.io/kubevirt/tests/decorators\"\n"),
        "the decorators import is added: {hotplug}"
    );
    let specs: Vec<&str> = files
        .iter()
        .flat_map(|file| file.specs.iter().map(|(_, name, _)| name.as_str()))
        .collect();
    assert_eq!(specs.len(), 5, "{specs:?}");
    write(&files);
    assert_gofmt_clean(&root);

    // Quarantining again changes nothing.
    let (again, _) = plan(&sources, &changes).unwrap();
    assert!(again.is_empty(), "{again:#?}");

    let releases: Vec<Change> = tests.iter().map(|test| release(test)).collect();
    let (files, missing) = plan(&sources, &releases).unwrap();
    assert!(missing.is_empty());
    write(&files);
    assert_eq!(
        snapshot(&root),
        original,
        "release gives back the original bytes"
    );
}

#[test]
fn ginkgo_missing_and_ambiguous_specs_are_errors_naming_what_was_searched() {
    let (_dir, root) = fixture("ginkgo-sources");
    let original = snapshot(&root);
    let sources = [source(SourceKind::Ginkgo, vec![root.join("tests")])];
    let missing = plan(
        &sources,
        &[quarantine(
            &format!("{SUITE}::VM lifecycle with a disk should hotplug the disks"),
            "sig-compute",
        )],
    )
    .unwrap_err();
    assert!(matches!(missing, SourceError::NotFound { .. }), "{missing}");
    let message = missing.to_string();
    assert!(message.contains("should hotplug the disks"), "{message}");
    assert!(
        message.contains(&root.join("tests").display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("`VM lifecycle with a disk should hotplug the disk`"),
        "the closest spec first: {message}"
    );
    let twice = plan(
        &sources,
        &[quarantine(
            &format!("{SUITE}::VM lifecycle twice has the same text"),
            "sig-compute",
        )],
    )
    .unwrap_err();
    assert!(matches!(twice, SourceError::Ambiguous { .. }), "{twice}");
    let message = twice.to_string();
    assert!(
        message.contains("vm_lifecycle_test.go:52") && message.contains("vm_lifecycle_test.go:56"),
        "{message}"
    );
    // A released test found nowhere is no error: it is reported.
    let (files, gone) = plan(&sources, &[release("Suite::deleted spec")]).unwrap();
    assert!(files.is_empty());
    assert_eq!(gone, ["Suite::deleted spec"]);
    assert_eq!(snapshot(&root), original);
}

#[test]
fn a_hostile_owner_cannot_end_the_go_literal() {
    let (_dir, root) = fixture("ginkgo-sources");
    let sources = [source(SourceKind::Ginkgo, vec![root.join("tests")])];
    for owner in [
        "sig-x\"); os.Exit(1); //",
        "\"\n#[test] fn evil(){}",
        "a\\\"\u{2028}`\r\n}",
    ] {
        let (files, _) = plan(
            &sources,
            &[quarantine(
                &format!("{SUITE}::VM lifecycle with a disk should hotplug the disk"),
                owner,
            )],
        )
        .unwrap();
        let file = &files[0];
        // One comment line and the spec's line changed; nothing else.
        let added: Vec<&str> = file
            .edited
            .lines()
            .filter(|line| !file.original.lines().any(|old| old == *line))
            .collect();
        assert_eq!(added.len(), 2, "{added:?}");
        assert!(
            added[0]
                .trim_start()
                .starts_with("// coalmine quarantine: owner \""),
            "{added:?}"
        );
        assert!(added[0].is_ascii() && !added[0].contains('\r'), "{added:?}");
        std::fs::write(&file.path, &file.edited).unwrap();
        assert_gofmt_clean(&root);
        // Parsed again, the file has the same specs, and the note is released cleanly.
        let (released, _) = plan(
            &sources,
            &[release(&format!(
                "{SUITE}::VM lifecycle with a disk should hotplug the disk"
            ))],
        )
        .unwrap();
        assert_eq!(released[0].edited, file.original);
        std::fs::write(&file.path, &file.original).unwrap();
    }
}

const CRATE: &str = "quarantine-fixture";

#[test]
fn rust_quarantine_then_release_gives_back_the_original_bytes() {
    let (_dir, root) = fixture("rust-sources");
    let original = snapshot(&root);
    let sources = [source(SourceKind::Rust, vec![root.clone()])];
    let tests = [
        format!("{CRATE}::tests::nested::adds_in_a_nested_module"),
        "quarantine_fixture::net::tests::one_line_test".to_owned(),
        format!("{CRATE}::api::tests::adds"),
    ];
    let changes: Vec<Change> = tests
        .iter()
        .map(|test| quarantine(test, "team-a"))
        .collect();
    let (files, _) = plan(&sources, &changes).unwrap();
    assert_eq!(files.len(), 3, "{files:#?}");
    let lib = &files
        .iter()
        .find(|file| file.path.ends_with("src/lib.rs"))
        .unwrap()
        .edited;
    assert!(lib.contains(
        "        // The flaky one.\n        #[test]\n        #[ignore = \"QUARANTINE team-a: immediate: failed 5 of 10 execution(s) (50 %) (since 2026-12-01)\"]\n        fn adds_in_a_nested_module() {"
    ), "{lib}");
    assert!(
        lib.contains("    #[test]\n    fn adds() {"),
        "not asked for, as it was: {lib}"
    );
    let net = &files
        .iter()
        .find(|file| file.path.ends_with("src/net.rs"))
        .unwrap()
        .edited;
    assert!(net.contains("    #[ignore = \"QUARANTINE team-a: immediate: failed 5 of 10 execution(s) (50 %) (since 2026-12-01)\"]\n    #[test] fn one_line_test()"), "{net}");
    write(&files);

    // The edited crate builds, and `cargo test -- --ignored` runs exactly the quarantined tests.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sources-fixture");
    let output = common::cargo_in(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args(["test", "--offline", "--", "--ignored"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut ran: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test "))
        .filter_map(|line| line.strip_suffix(" ... ok"))
        .collect();
    ran.sort();
    assert_eq!(
        ran,
        [
            "net::tests::one_line_test",
            "tests::adds",
            "tests::nested::adds_in_a_nested_module"
        ],
        "{stdout}"
    );
    // And plain `cargo test` skips them.
    let output = common::cargo_in(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args(["test", "--offline"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        stdout.matches(" ... ignored, QUARANTINE team-a").count(),
        3,
        "{stdout}"
    );

    let releases: Vec<Change> = tests.iter().map(|test| release(test)).collect();
    let (files, _) = plan(&sources, &releases).unwrap();
    write(&files);
    assert_eq!(
        snapshot(&root),
        original,
        "release gives back the original bytes"
    );
}

#[test]
fn rust_missing_specs_are_errors() {
    let (_dir, root) = fixture("rust-sources");
    let sources = [source(SourceKind::Rust, vec![root.clone()])];
    let error = plan(
        &sources,
        &[quarantine(
            &format!("{CRATE}::tests::nested::add"),
            "team-a",
        )],
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("tests::nested::add`"), "{message}");
    assert!(message.contains(&root.display().to_string()), "{message}");
    assert!(message.contains("adds_in_a_nested_module"), "{message}");
}

#[test]
fn a_hostile_owner_cannot_end_the_rust_literal() {
    let (_dir, root) = fixture("rust-sources");
    let sources = [source(SourceKind::Rust, vec![root.clone()])];
    let owner = "[sig-x\"); os.Exit(1); //]\"]\n#[test] fn evil(){}\\";
    let test = format!("{CRATE}::tests::adds");
    let (files, _) = plan(&sources, &[quarantine(&test, owner)]).unwrap();
    let edited = &files[0].edited;
    let file = syn::parse_file(edited).unwrap();
    assert!(
        !edited
            .lines()
            .any(|line| line.trim_start().starts_with("fn evil")),
        "{edited}"
    );
    // The attribute's value reads back as exactly the message.
    let mut found = None;
    for item in &file.items {
        let syn::Item::Mod(syn::ItemMod {
            content: Some((_, items)),
            ..
        }) = item
        else {
            continue;
        };
        for item in items {
            if let syn::Item::Fn(function) = item {
                assert_ne!(function.sig.ident, "evil");
                for attribute in &function.attrs {
                    if attribute.path().is_ident("ignore")
                        && let syn::Meta::NameValue(pair) = &attribute.meta
                        && let syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(value),
                            ..
                        }) = &pair.value
                    {
                        found = Some(value.value());
                    }
                }
            }
        }
    }
    assert_eq!(
        found.as_deref(),
        Some(format!("QUARANTINE {owner}: immediate: failed 5 of 10 execution(s) (50 %) (since 2026-12-01)").as_str())
    );
    std::fs::write(&files[0].path, edited).unwrap();
    let (released, _) = plan(&sources, &[release(&test)]).unwrap();
    assert_eq!(released[0].edited, files[0].original);
}

/// The decorators import is added where the file has none, a single `import`, or a list, and
/// removed again by release; gofmt leaves every result as it is.
#[test]
fn ginkgo_imports_are_added_and_removed_as_gofmt_leaves_them() {
    let dir = tempfile::tempdir().unwrap();
    let body = "var _ = Describe(\"thing\", func() {\n\tIt(\"works\", func() {})\n})\n";
    let files = [
        ("none.go", format!("package x\n\n{body}")),
        (
            "single.go",
            format!("package x\n\nimport . \"github.com/onsi/ginkgo/v2\"\n\n{body}"),
        ),
        (
            "list.go",
            format!(
                "package x\n\nimport (\n\t\"fmt\"\n\n\t. \"github.com/onsi/ginkgo/v2\"\n\t\"kubevirt.io/kubevirt/tests/framework\"\n\t\"kubevirt.io/kubevirt/tests/libvmi\"\n)\n\nvar _ = fmt.Sprint\n\n{body}"
            ),
        ),
    ];
    for (name, text) in &files {
        let folder = dir.path().join(name.trim_end_matches(".go"));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(name);
        std::fs::write(&path, text).unwrap();
        assert_gofmt_clean(&folder);
        let sources = [source(SourceKind::Ginkgo, vec![folder.clone()])];
        let (edited, _) = plan(&sources, &[quarantine("S::thing works", "sig-x")]).unwrap();
        let new = &edited[0].edited;
        assert!(
            new.contains("\"kubevirt.io/kubevirt/tests/decorators\""),
            "{name}: {new}"
        );
        assert!(
            new.contains("It(\"[QUARANTINE]works\", decorators.Quarantine, func() {})"),
            "{name}: {new}"
        );
        if *name == "list.go" {
            assert!(
                new.contains("\t\"kubevirt.io/kubevirt/tests/decorators\"\n\t\"kubevirt.io/kubevirt/tests/framework\"\n"),
                "sorted into its group: {new}"
            );
        }
        write(&edited);
        assert_gofmt_clean(&folder);
        let (released, _) = plan(&sources, &[release("S::thing works")]).unwrap();
        assert_eq!(&released[0].edited, text, "{name}");
    }
}

#[test]
fn rust_module_files_ambiguity_hand_ignored_tests_and_syntax_errors() {
    let (_dir, root) = fixture("rust-sources");
    let sources = [source(SourceKind::Rust, vec![root.clone()])];
    // `net/ports.rs`, the `mod ports;` of `net.rs`.
    let (files, _) = plan(
        &sources,
        &[quarantine("crate::net::ports::tests::http_is_80", "team-a")],
    )
    .unwrap();
    assert!(files[0].path.ends_with("src/net/ports.rs"), "{files:#?}");
    // The file a `#[path]` attribute names.
    let (files, _) = plan(
        &sources,
        &[quarantine("crate::helpers::tests::helps", "team-a")],
    )
    .unwrap();
    assert!(
        files[0].path.ends_with("src/extra/helpers.rs"),
        "{files:#?}"
    );
    // The same crate twice: found more than once.
    let copy = root.parent().unwrap().join("copy");
    copy_dir(&root, &copy);
    let both = [source(SourceKind::Rust, vec![root.clone(), copy.clone()])];
    let error = plan(
        &both,
        &[quarantine("quarantine_fixture::tests::adds", "team-a")],
    )
    .unwrap_err();
    assert!(matches!(error, SourceError::Ambiguous { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&root.join("src/lib.rs").display().to_string())
            && message.contains(&copy.join("src/lib.rs").display().to_string()),
        "{message}"
    );
    // A test #[ignore]d by hand is left as it is.
    let lib = root.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replace(
            "    #[test]\n    fn adds()",
            "    #[test]\n    #[ignore]\n    fn adds()",
        ),
    )
    .unwrap();
    let (files, _) = plan(&sources, &[quarantine("crate::tests::adds", "team-a")]).unwrap();
    assert!(files.is_empty(), "{files:#?}");
    // Not Rust: the file, line and column.
    std::fs::write(&lib, "fn broken( {\n").unwrap();
    let error = plan(&sources, &[quarantine("crate::tests::adds", "team-a")]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:1:", lib.display())),
        "{message}"
    );
    assert!(message.contains("not valid Rust"), "{message}");
}

#[test]
fn go_syntax_errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad_test.go");
    std::fs::write(
        &path,
        "package x\n\nvar _ = Describe(\"a\", func() {\n\tIt(\"b\" func() {})\n})\n",
    )
    .unwrap();
    let sources = [source(SourceKind::Ginkgo, vec![dir.path().to_path_buf()])];
    let error = plan(&sources, &[quarantine("S::a b", "sig-x")]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:4:", path.display())),
        "{message}"
    );
    assert!(message.contains("not valid Go"), "{message}");
}

#[test]
fn ginkgo_qualified_calls_count_and_methods_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let text = "package x\n\nimport (\n\t\"github.com/onsi/ginkgo/v2\"\n\n\t\"kubevirt.io/kubevirt/tests/decorators\"\n)\n\nvar _ = ginkgo.Describe(\"a\", decorators.SigCompute, func() {\n\tmock.When(\"c\", func() {\n\t\tginkgo.It(\"d\", func() {})\n\t})\n})\n";
    std::fs::write(dir.path().join("q_test.go"), text).unwrap();
    let sources = [source(SourceKind::Ginkgo, vec![dir.path().to_path_buf()])];
    let error = plan(&sources, &[quarantine("S::a c d", "sig-x")]).unwrap_err();
    assert!(error.to_string().contains("`a d`"), "{error}");
    let (files, _) = plan(&sources, &[quarantine("S::a d", "sig-x")]).unwrap();
    assert!(
        files[0]
            .edited
            .contains("\t\t// coalmine quarantine: owner \"sig-x\", reason \"immediate: failed 5 of 10 execution(s) (50 %)\", since \"2026-12-01\"\n\t\tginkgo.It(\"[QUARANTINE]d\", decorators.Quarantine, func() {})"),
        "{}",
        files[0].edited
    );
}

#[test]
fn a_test_no_table_holds_is_left_to_harness_toml() {
    let (_dir, root) = fixture("ginkgo-sources");
    let mut ginkgo = source(SourceKind::Ginkgo, vec![root.join("tests")]);
    ginkgo.tests = vec![format!("{SUITE}::*")];
    let sources = [ginkgo];
    let (files, left) = plan(&sources, &[quarantine("tests.test_vm::test_boot", "sig-x")]).unwrap();
    assert!(files.is_empty());
    assert_eq!(left, ["tests.test_vm::test_boot"]);
    let error = plan(
        &sources,
        &[quarantine(&format!("{SUITE}::VM lifecycle nope"), "sig-x")],
    )
    .unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error}");
}
