//! `coalmine init` in a brand-new crate, followed by what its user does next: the generated
//! canaries file compiles, lists its example canary, and running it fails with a message that
//! says the example CI program does not exist (it is a placeholder to replace). Also: the
//! `cargo add` it prints works, and in a virtual workspace it refuses (naming the members) or,
//! with `--package`, sets up that member so that cargo accepts the result.

use std::path::Path;
use std::process::Command;

mod common;

fn cargo(dir: &Path) -> Command {
    let mut command = common::cargo_in(dir);
    // A build folder of its own, kept between runs, so the new crate's build does not wait on
    // this workspace's lock; the copied Cargo.lock keeps it offline.
    command.env(
        "CARGO_TARGET_DIR",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/init-test"),
    );
    command
}

/// `cargo test --test regression -- <arg>` in the new crate, offline.
fn regression(dir: &Path, arg: &str) -> std::process::Output {
    cargo(dir)
        .args([
            "test",
            "--offline",
            "--quiet",
            "--test",
            "regression",
            "--",
            arg,
        ])
        .output()
        .unwrap()
}

#[test]
fn init_then_list_and_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let manifest = format!(
        "[package]\nname = \"users-crate\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dev-dependencies]\ncoalmine = {{ path = {:?} }}\n\n[workspace]\n",
        root.display().to_string()
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();

    let init = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["init"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let said = String::from_utf8_lossy(&init.stdout);
    assert!(
        said.contains("wrote ") && said.contains("harness.toml"),
        "{said}"
    );
    assert!(
        !said.contains("cargo add"),
        "coalmine is already a dev-dependency: {said}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        ".coalmine/\n"
    );

    let again = Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(["init"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));

    let list = regression(dir.path(), "--list");
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "canary::example: test\nteeth::example: test\n"
    );

    // Teeth are proven offline: no recipe CI needed.
    let teeth = regression(dir.path(), "teeth");
    assert!(
        teeth.status.success(),
        "{}",
        String::from_utf8_lossy(&teeth.stdout)
    );

    let run = regression(dir.path(), "canary");
    assert!(!run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("recipe CI program \"my-recipe-ci\" not found in PATH"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// `coalmine init ARGS...` in `dir`.
fn coalmine_init(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .arg("init")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `cargo metadata --no-deps --offline` in `dir`: cargo accepts the workspace's manifests.
fn metadata(dir: &Path) -> serde_json::Value {
    let output = common::cargo_in(dir)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo refuses the manifests: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A virtual workspace with members `crates/alpha`, `crates/beta` (through `crates/*`) and
/// `tools/gamma`.
fn virtual_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\", \"tools/gamma\"]\nresolver = \"3\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), "/target\n").unwrap();
    for (folder, name) in [
        ("crates/alpha", "alpha"),
        ("crates/beta", "beta"),
        ("tools/gamma", "gamma"),
    ] {
        let folder = dir.path().join(folder);
        std::fs::create_dir_all(folder.join("src")).unwrap();
        std::fs::write(
            folder.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        )
        .unwrap();
        std::fs::write(folder.join("src/lib.rs"), "").unwrap();
    }
    dir
}

/// Every file under `root` with its bytes.
fn snapshot(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push((path.clone(), std::fs::read(path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_virtual_workspace_is_refused_naming_its_members() {
    let dir = virtual_workspace();
    let before = snapshot(dir.path());
    let output = coalmine_init(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("this is a virtual workspace ([workspace] without [package])")
            && stderr.contains("nothing was written")
            && stderr.contains("`coalmine init --package alpha`")
            && stderr.contains("`cd crates/alpha && coalmine init`")
            && stderr
                .contains("Members: alpha (crates/alpha), beta (crates/beta), gamma (tools/gamma)"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert_eq!(snapshot(dir.path()), before);
    metadata(dir.path());
}

#[test]
fn package_sets_up_a_member_and_cargo_accepts_the_result() {
    let dir = virtual_workspace();
    let root_manifest = std::fs::read(dir.path().join("Cargo.toml")).unwrap();
    let output = coalmine_init(dir.path(), &["--package", "beta"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let beta = dir.path().join("crates/beta");
    for written in [
        "crates/beta/harness.toml",
        "crates/beta/tests/regression/canaries.rs",
        "crates/beta/Cargo.toml",
        "crates/beta/.gitignore",
    ] {
        assert!(stdout.contains(&format!("wrote ./{written}\n")), "{stdout}");
    }
    assert!(
        stdout.contains("cargo test --package beta --test regression -- canary"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("Cargo.toml")).unwrap(),
        root_manifest
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "/target\n"
    );
    assert_eq!(
        std::fs::read_to_string(beta.join(".gitignore")).unwrap(),
        ".coalmine/\n"
    );
    assert!(beta.join("harness.toml").is_file());

    let metadata = metadata(dir.path());
    let packages = metadata["packages"].as_array().unwrap();
    let beta_package = packages
        .iter()
        .find(|package| package["name"] == "beta")
        .unwrap();
    let test = beta_package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|target| target["name"] == "regression")
        .expect("beta has the regression test target");
    assert_eq!(test["kind"][0], "test");
    assert!(
        test["src_path"]
            .as_str()
            .unwrap()
            .ends_with("crates/beta/tests/regression/canaries.rs")
    );
}

#[test]
fn an_unknown_package_is_refused_naming_the_closest() {
    let dir = virtual_workspace();
    let before = snapshot(dir.path());
    let output = coalmine_init(dir.path(), &["-p", "alfa"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        "error: ./Cargo.toml: --package alfa: no package of this workspace has that name; \
         closest: alpha, beta, gamma; nothing was written\n"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn the_printed_cargo_add_works() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"fresh\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    std::fs::write(dir.path().join(".gitignore"), "/target").unwrap();
    let output = coalmine_init(dir.path(), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "/target\n.coalmine/\n"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("wrote ./.gitignore\n"), "{stdout}");
    let root = env!("CARGO_MANIFEST_DIR");
    let step = stdout
        .lines()
        .find_map(|line| line.strip_prefix("  - add coalmine as a dev-dependency: "))
        .unwrap_or_else(|| panic!("no cargo add step: {stdout}"));
    assert_eq!(step, format!("cargo add --dev --path {root}"));
    // The step as printed (this checkout's path has no spaces), offline.
    let words: Vec<&str> = step.split_whitespace().collect();
    let added = common::cargo_in(dir.path())
        .args(&words[1..])
        .arg("--offline")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let metadata = metadata(dir.path());
    let dependency = &metadata["packages"][0]["dependencies"][0];
    assert_eq!(dependency["name"], "coalmine");
    assert_eq!(dependency["kind"], "dev");

    // Run again, nothing is written, the .gitignore included.
    let ignore = std::fs::read(dir.path().join(".gitignore")).unwrap();
    assert_eq!(coalmine_init(dir.path(), &[]).status.code(), Some(1));
    assert_eq!(
        std::fs::read(dir.path().join(".gitignore")).unwrap(),
        ignore
    );
}
