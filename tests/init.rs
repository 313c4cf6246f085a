//! `coalmine init` in a brand-new crate, followed by what its user does next: the generated
//! canaries file compiles, lists its example canary, and running it fails with a message that
//! says the example CI program does not exist (it is a placeholder to replace).

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
        !said.contains("cargo add --dev coalmine"),
        "coalmine is already a dev-dependency: {said}"
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
