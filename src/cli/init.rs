//! `coalmine init`: sets up canaries in a user's crate: a commented `harness.toml`, a
//! `tests/regression/canaries.rs` with one example canary, the `[[test]]` entry that makes it a
//! `harness = false` test target, and the history's folder (`.coalmine/`) in the crate's
//! `.gitignore`. Nothing that exists is overwritten: if any of the first three is already there,
//! nothing is written at all.
//!
//! In the root of a virtual workspace (a `[workspace]` without a `[package]`), where cargo
//! refuses a `[[test]]` target, `init` writes nothing and names the member crates, unless
//! `--package NAME` selects one: then everything is written in that member's folder.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The commented harness.toml that `init` writes.
pub const HARNESS_TOML: &str = r#"# coalmine: how to run your recipe CI for each canary.
# Every key is documented in coalmine's README ("harness.toml").

[ci]
# The recipe CI's argv. It is never run through a shell: each element is one argument.
# Placeholders: {recipe} {rev} {canary} {run_id} {artifacts} (the run's own artifact folder).
command = ["my-recipe-ci", "{recipe}", "--ref", "{rev}", "--run-id", "{run_id}", "--out", "{artifacts}"]
# The results file the CI writes (relative paths are relative to `workdir`).
results = "{artifacts}/results.json"
# Its format: "cc-ci" (tiers, flags, stages with named tests), "junit", "ctrf", "tap",
# "libtest-json", "go-test-json" or "auto".
format = "cc-ci"
# Most recipe CIs write JUnit XML; to read it, replace `results` and `format` above with:
# results = "{artifacts}/junit.xml"
# format = "junit"
# stages = "suite"
# `results` may be a glob ("{artifacts}/junit/*.xml": the files are merged). `stages` says which
# part of a test's identity names its stage, for checks such as stage("install").test("x"):
# "suite" is the innermost enclosing <testsuite name="...">, the default; the other choices:
#   stages = "root"         # the outermost <testsuite>
#   stages = "classname"    # the <testcase classname="...">
#   stages = "file"         # the testcase's file attribute, else its suite's
#   stages = { field = "classname", pattern = "^tests\\.test_(\\w+)" }    # a regex's first group

# SIGTERM to the CI's process group after `timeout`, SIGKILL `grace` later.
timeout = "20m"
grace = "10s"
# Print a SLOW line for a canary still running after this long, and again each period.
slow = "60s"
# The CI's working directory (relative to this file's folder).
workdir = "."

# Extra environment for the CI; placeholders allowed.
[ci.env]
# MY_CI_LOG_DIR = "{artifacts}/logs"

[run]
# Each run gets <artifacts>/<run_id>/ with stdout.log, stderr.log and canary.json.
artifacts = "target/coalmine/runs"
# Canaries run at once by default (`--test-threads` overrides).
max_parallel = 2
"#;

/// The example canaries file that `init` writes.
pub const CANARIES_RS: &str = r#"//! Regression canaries for our recipe CI: pinned known-good targets must come out GREEN,
//! known-bad ones RED.
//!
//!     cargo test --test regression -- canary            # every canary
//!     cargo test --test regression -- canary example    # one canary
//!     cargo test --test regression -- teeth             # prove offline that every check can fail
//!     cargo test --test regression -- --list            # list them

coalmine::canary! {
    /// A known-good target: replace recipe and rev with one of yours.
    name: "example",
    recipe: "my-recipe",
    rev: "0123abcd",
    expect: Green,
    checks: [
        exit_code(0),
        tier("install").is(Pass),
        no_tier_failed(),
        stage("install").test("test_serving").passed(),
    ],
}

coalmine::main!();
"#;

/// The `[[test]]` entry appended to Cargo.toml.
pub const TEST_ENTRY: &str = r#"
[[test]]
name = "regression"
path = "tests/regression/canaries.rs"
harness = false
"#;

/// What `init` wrote and what is left to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Steps the user still has to take.
    pub next_steps: Vec<String>,
}

/// A member crate of a workspace, as `init` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its folder, relative to the workspace root (`crates/api`).
    pub dir: PathBuf,
    /// Its `[package] name`; `None` when its Cargo.toml has none or cannot be parsed.
    pub name: Option<String>,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The folder is not a crate.
    #[error(
        "{0}: no Cargo.toml here; run `coalmine init` in the folder of the crate that will hold the canaries"
    )]
    NotACrate(PathBuf),
    /// Cargo.toml is not valid TOML.
    #[error("{path}: cannot be parsed: {message}; fix it, then run `coalmine init` again")]
    BadManifest {
        /// Cargo.toml.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The folder is the root of a virtual workspace, where cargo refuses a `[[test]]` target.
    #[error("{}", virtual_workspace_message(.manifest, .dir, .members))]
    VirtualWorkspace {
        /// The workspace's Cargo.toml.
        manifest: PathBuf,
        /// The folder `init` was given (for the commands the message suggests).
        dir: PathBuf,
        /// The members found (each folder holds a Cargo.toml).
        members: Vec<Member>,
    },
    /// `--package` names another package than the crate's own.
    #[error(
        "{manifest}: --package {wanted}: this crate's package is named {actual:?}, and its Cargo.toml has no [workspace] to pick a member from; nothing was written (drop --package, or give --package {actual})"
    )]
    PackageMismatch {
        /// The crate's Cargo.toml.
        manifest: PathBuf,
        /// The name given.
        wanted: String,
        /// The crate's package name.
        actual: String,
    },
    /// `--package` names no member of the workspace.
    #[error("{}", unknown_package_message(.manifest, .wanted, .known))]
    UnknownPackage {
        /// The workspace's Cargo.toml.
        manifest: PathBuf,
        /// The name given.
        wanted: String,
        /// The package names the workspace has, closest to `wanted` first.
        known: Vec<String>,
    },
    /// Something `init` would write already exists.
    #[error("refusing to overwrite what exists: {}; nothing was written (move them away, or add the missing pieces by hand: see coalmine's README)", .0.join("; "))]
    Exists(Vec<String>),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// `dir` as the user wrote it, joined with `path` (without a leading `./` for `.`).
fn under(dir: &Path, path: &Path) -> PathBuf {
    if dir.components().all(|part| part == Component::CurDir) {
        path.to_owned()
    } else {
        dir.join(path)
    }
}

/// `coalmine init <dir>`, without `<dir>` for the current folder.
fn init_command(dir: &Path) -> String {
    if dir.components().all(|part| part == Component::CurDir) {
        "coalmine init".to_owned()
    } else {
        format!("coalmine init {}", shell_word(&dir.display().to_string()))
    }
}

fn show_member(member: &Member) -> String {
    match &member.name {
        Some(name) => format!("{name} ({})", member.dir.display()),
        None => format!("{} (no [package] name read)", member.dir.display()),
    }
}

fn virtual_workspace_message(manifest: &Path, dir: &Path, members: &[Member]) -> String {
    let mut message = format!(
        "{}: this is a virtual workspace ([workspace] without [package]), and cargo refuses a \
         [[test]] target there; nothing was written. Run `coalmine init` for a member crate",
        manifest.display()
    );
    let named = members.iter().find(|member| member.name.is_some());
    let Some(first) = named.or(members.first()) else {
        message.push_str(
            ", but workspace.members names no folder with a Cargo.toml: create the crate that \
             will hold the canaries, add it to workspace.members, then run `coalmine init` in it",
        );
        return message;
    };
    message.push_str(": ");
    if let Some(name) = &first.name {
        message.push_str(&format!(
            "`{} --package {}`, or ",
            init_command(dir),
            shell_word(name)
        ));
    }
    message.push_str(&format!(
        "`cd {} && coalmine init`. Members: {}",
        shell_word(&under(dir, &first.dir).display().to_string()),
        members
            .iter()
            .map(show_member)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    message
}

/// At most this many names are listed as the closest to an unknown `--package`.
const CLOSEST: usize = 3;

fn unknown_package_message(manifest: &Path, wanted: &str, known: &[String]) -> String {
    let mut message = format!(
        "{}: --package {wanted}: no package of this workspace has that name",
        manifest.display()
    );
    if known.is_empty() {
        message.push_str(" (no member has a [package] name)");
    } else {
        let closest: Vec<&str> = known.iter().take(CLOSEST).map(String::as_str).collect();
        message.push_str(&format!("; closest: {}", closest.join(", ")));
        if known.len() > CLOSEST {
            message.push_str(&format!(" (of {} packages)", known.len()));
        }
    }
    message.push_str("; nothing was written");
    message
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InitError + '_ {
    move |source| InitError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads and parses a Cargo.toml.
fn read_manifest(path: &Path) -> Result<(String, toml::Table), InitError> {
    let text = fs::read_to_string(path).map_err(io_error(path))?;
    let parsed =
        toml::from_str(&text).map_err(|error: toml::de::Error| InitError::BadManifest {
            path: path.to_owned(),
            message: error.to_string().trim().replace('\n', " "),
        })?;
    Ok((text, parsed))
}

fn package_name(manifest: &toml::Table) -> Option<&str> {
    manifest.get("package")?.get("name")?.as_str()
}

fn strings(value: Option<&toml::Value>) -> Vec<&str> {
    value
        .and_then(toml::Value::as_array)
        .map(|values| values.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default()
}

/// The member crates `workspace.members` of the manifest at `root` names, in its order, globs
/// (`crates/*`) expanded against the file system: every folder holding a Cargo.toml, except
/// the root itself and those under a `workspace.exclude` entry.
fn workspace_members(root: &Path, manifest: &toml::Table) -> Vec<Member> {
    // Absolute, so that what the globs find (which drops a leading `./`) is under it.
    let root = &std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
    let workspace = manifest.get("workspace");
    let excluded: Vec<PathBuf> = strings(workspace.and_then(|table| table.get("exclude")))
        .into_iter()
        .map(|path| root.join(path))
        .collect();
    let mut folders: Vec<PathBuf> = Vec::new();
    for entry in strings(workspace.and_then(|table| table.get("members"))) {
        if entry.contains(['*', '?', '[']) {
            let Some(root_text) = root.to_str() else {
                continue;
            };
            let pattern = format!("{}/{entry}", glob::Pattern::escape(root_text));
            if let Ok(paths) = glob::glob(&pattern) {
                folders.extend(paths.flatten());
            }
        } else {
            folders.push(root.join(entry));
        }
    }
    let mut members: Vec<Member> = Vec::new();
    for folder in folders {
        let Ok(relative) = folder.strip_prefix(root) else {
            continue;
        };
        let relative = relative.to_owned();
        let manifest = folder.join("Cargo.toml");
        if relative.as_os_str().is_empty()
            || !manifest.is_file()
            || excluded.iter().any(|path| folder.starts_with(path))
            || members.iter().any(|member| member.dir == relative)
        {
            continue;
        }
        let name = read_manifest(&manifest)
            .ok()
            .and_then(|(_, parsed)| package_name(&parsed).map(str::to_owned));
        members.push(Member {
            dir: relative,
            name,
        });
    }
    members
}

/// The crate `init` writes into.
struct Target {
    dir: PathBuf,
    manifest: PathBuf,
    text: String,
    parsed: toml::Table,
    /// The package selected with `--package` in a workspace, when it is not the root's.
    member: Option<String>,
}

/// Finds the crate to write into: the one at `dir`, or the workspace member `package` names.
fn select(dir: &Path, package: Option<&str>) -> Result<Target, InitError> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(InitError::NotACrate(dir.to_owned()));
    }
    let (text, parsed) = read_manifest(&manifest)?;
    let is_workspace = parsed.get("workspace").is_some_and(toml::Value::is_table);
    let has_package = parsed.contains_key("package");
    let own_name = package_name(&parsed).map(str::to_owned);
    let root = Target {
        dir: dir.to_owned(),
        manifest: manifest.clone(),
        text,
        parsed,
        member: None,
    };
    if is_workspace && !has_package && package.is_none() {
        return Err(InitError::VirtualWorkspace {
            members: workspace_members(dir, &root.parsed),
            manifest,
            dir: dir.to_owned(),
        });
    }
    let Some(wanted) = package else {
        return Ok(root);
    };
    if own_name.as_deref() == Some(wanted) {
        return Ok(root);
    }
    if !is_workspace {
        return match own_name {
            Some(actual) => Err(InitError::PackageMismatch {
                manifest,
                wanted: wanted.to_owned(),
                actual,
            }),
            None => Err(InitError::BadManifest {
                path: manifest,
                message: "[package] has no `name`".to_owned(),
            }),
        };
    }
    let members = workspace_members(dir, &root.parsed);
    if let Some(member) = members
        .iter()
        .find(|member| member.name.as_deref() == Some(wanted))
    {
        let member_dir = dir.join(&member.dir);
        let member_manifest = member_dir.join("Cargo.toml");
        let (text, parsed) = read_manifest(&member_manifest)?;
        return Ok(Target {
            dir: member_dir,
            manifest: member_manifest,
            text,
            parsed,
            member: Some(wanted.to_owned()),
        });
    }
    let names = own_name
        .iter()
        .map(String::as_str)
        .chain(members.iter().filter_map(|member| member.name.as_deref()));
    Err(InitError::UnknownPackage {
        manifest,
        wanted: wanted.to_owned(),
        known: crate::suggest::closest_first(wanted, names)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
}

/// The `.gitignore` line that keeps the history (`.coalmine/history.db`) out of git: its
/// folder, `.coalmine/`.
pub fn history_ignore_line() -> String {
    let folder = Path::new(crate::history::DEFAULT_RELATIVE_PATH)
        .parent()
        .and_then(Path::to_str)
        .unwrap_or(".coalmine");
    format!("{folder}/")
}

/// Whether a `.gitignore` line already ignores the history's folder: `.coalmine/`,
/// `.coalmine`, `/.coalmine/` or `/.coalmine` (trailing spaces, which git ignores, aside).
fn ignores_history(line: &str, wanted: &str) -> bool {
    let folder = wanted.trim_end_matches('/');
    let line = line.trim_end_matches(['\r', ' ']);
    let line = line.strip_prefix('/').unwrap_or(line);
    let line = line.strip_suffix('/').unwrap_or(line);
    line == folder
}

/// The new content of the `.gitignore` whose current content is `existing` (`None`: there is
/// none), or `None` when it already ignores the history's folder.
fn gitignore_update(existing: Option<&str>) -> Option<String> {
    let line = history_ignore_line();
    let Some(text) = existing else {
        return Some(format!("{line}\n"));
    };
    if text
        .lines()
        .any(|existing| ignores_history(existing, &line))
    {
        return None;
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut updated = text.to_owned();
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push_str(newline);
    }
    updated.push_str(&line);
    updated.push_str(newline);
    Some(updated)
}

/// `text` as one shell word: unchanged when it needs no quoting, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The folder `dir` when it holds coalmine's own source (a Cargo.toml whose package is named
/// `coalmine`) and is not one of cargo's caches (`registry/src`, `git/checkouts`), which cargo
/// may clean at any time.
fn coalmine_checkout(dir: &Path) -> Option<PathBuf> {
    let parts: Vec<Component> = dir.components().collect();
    let cached = parts.windows(2).any(|pair| {
        let [first, second] = pair else {
            return false;
        };
        matches!(
            (first.as_os_str().to_str(), second.as_os_str().to_str()),
            (Some("registry"), Some("src")) | (Some("git"), Some("checkouts"))
        )
    });
    if cached || !dir.is_absolute() {
        return None;
    }
    let (_, parsed) = read_manifest(&dir.join("Cargo.toml")).ok()?;
    (package_name(&parsed) == Some("coalmine")).then(|| dir.to_owned())
}

/// Where coalmine's source is, for `cargo add --dev --path`: the checkout this program was
/// built from (`cargo install --path .` in a clone), if it is still there.
pub fn coalmine_source() -> Option<PathBuf> {
    coalmine_checkout(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The next step that adds coalmine as a dev-dependency (it is not on crates.io): `cd` is
/// empty or `cd DIR && `, `package` empty or ` --package NAME`; `source` is coalmine's checkout
/// when known.
fn dev_dependency_step(cd: &str, package: &str, source: Option<&Path>) -> String {
    match source {
        Some(source) => format!(
            "add coalmine as a dev-dependency: {cd}cargo add --dev{package} --path {}",
            shell_word(&source.display().to_string())
        ),
        None => format!(
            "add coalmine as a dev-dependency (it is not on crates.io): \
             {cd}cargo add --dev{package} --path /path/to/coalmine   # your clone of coalmine \
             (or a git dependency: cargo add --dev{package} --git <coalmine's repository URL> coalmine)"
        ),
    }
}

/// Sets up canaries in the crate at `dir`, or, with `package`, in the member of the workspace
/// at `dir` with that package name (or the crate at `dir` when that is its name).
pub fn init(dir: &Path, package: Option<&str>) -> Result<InitReport, InitError> {
    let Target {
        dir: crate_dir,
        manifest,
        text,
        parsed,
        member,
    } = select(dir, package)?;
    let harness = crate_dir.join(crate::config::FILE_NAME);
    let canaries = crate_dir.join("tests/regression/canaries.rs");
    let gitignore = crate_dir.join(".gitignore");

    let mut exists = Vec::new();
    if harness.exists() {
        exists.push(format!("{} exists", harness.display()));
    }
    if canaries.exists() {
        exists.push(format!("{} exists", canaries.display()));
    }
    let has_regression_test = parsed
        .get("test")
        .and_then(|tests| tests.as_array())
        .is_some_and(|tests| {
            tests
                .iter()
                .any(|test| test.get("name").and_then(|name| name.as_str()) == Some("regression"))
        });
    if has_regression_test {
        exists.push(format!(
            "{} already declares a [[test]] named \"regression\"",
            manifest.display()
        ));
    }
    if !exists.is_empty() {
        return Err(InitError::Exists(exists));
    }
    // Read before anything is written, so that an unreadable .gitignore writes nothing.
    let ignored = match fs::read_to_string(&gitignore) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error(&gitignore)(error)),
    };
    let gitignore_text = gitignore_update(ignored.as_deref());

    fs::write(&harness, HARNESS_TOML).map_err(io_error(&harness))?;
    let folder = crate_dir.join("tests/regression");
    fs::create_dir_all(&folder).map_err(io_error(&folder))?;
    fs::write(&canaries, CANARIES_RS).map_err(io_error(&canaries))?;
    let mut updated = text;
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(TEST_ENTRY);
    fs::write(&manifest, updated).map_err(io_error(&manifest))?;
    let mut written = vec![harness.clone(), canaries.clone(), manifest];
    if let Some(text) = gitignore_text {
        fs::write(&gitignore, text).map_err(io_error(&gitignore))?;
        written.push(gitignore);
    }

    let cd = if dir.components().all(|part| part == Component::CurDir) {
        String::new()
    } else {
        format!("cd {} && ", shell_word(&dir.display().to_string()))
    };
    let package = member
        .map(|name| format!(" --package {}", shell_word(&name)))
        .unwrap_or_default();
    let mut next_steps = Vec::new();
    let has_dev_dependency = parsed
        .get("dev-dependencies")
        .and_then(|deps| deps.get("coalmine"))
        .is_some();
    if !has_dev_dependency {
        next_steps.push(dev_dependency_step(
            &cd,
            &package,
            coalmine_source().as_deref(),
        ));
    }
    next_steps.push(format!(
        "set [ci] command in {} to your recipe CI (and `results`/`format`: the commented lines \
         show how to read JUnit), and the example canary's recipe and rev in {}",
        harness.display(),
        canaries.display()
    ));
    next_steps.push(format!(
        "run it: {cd}cargo test{package} --test regression -- canary"
    ));
    Ok(InitReport {
        written,
        next_steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Format, StageField, Staging};

    const CRATE: &str = "[package]\nname = \"mine\"\nversion = \"0.1.0\"\nedition = \"2024\"";

    fn crate_dir(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        dir
    }

    fn read(path: impl AsRef<Path>) -> String {
        fs::read_to_string(path).unwrap()
    }

    /// A virtual workspace: `alpha` and `beta` under `crates/*`, `tools/gamma` listed by
    /// path, `crates/old` excluded, `crates/notes` without a Cargo.toml.
    fn workspace() -> tempfile::TempDir {
        let dir = crate_dir(
            "[workspace]\nmembers = [\"crates/*\", \"tools/gamma\"]\nexclude = [\"crates/old\"]\n\
             resolver = \"3\"\n",
        );
        for (folder, name) in [
            ("crates/alpha", "alpha"),
            ("crates/beta", "beta"),
            ("crates/old", "old"),
            ("tools/gamma", "gamma"),
        ] {
            let folder = dir.path().join(folder);
            fs::create_dir_all(folder.join("src")).unwrap();
            fs::write(
                folder.join("Cargo.toml"),
                format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
            )
            .unwrap();
            fs::write(folder.join("src/lib.rs"), "").unwrap();
        }
        fs::create_dir_all(dir.path().join("crates/notes")).unwrap();
        dir
    }

    /// Every file under `root` with its bytes.
    fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut folders = vec![root.to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    files.push((path.clone(), fs::read(path).unwrap()));
                }
            }
        }
        files.sort();
        files
    }

    #[test]
    fn writes_the_four_pieces() {
        let dir = crate_dir(CRATE);
        let report = init(dir.path(), None).unwrap();
        assert_eq!(
            report.written,
            [
                dir.path().join("harness.toml"),
                dir.path().join("tests/regression/canaries.rs"),
                dir.path().join("Cargo.toml"),
                dir.path().join(".gitignore"),
            ]
        );
        let manifest = read(dir.path().join("Cargo.toml"));
        assert!(manifest.starts_with("[package]\nname = \"mine\""));
        let parsed: toml::Table = toml::from_str(&manifest).unwrap();
        assert_eq!(parsed["test"][0]["harness"].as_bool(), Some(false));
        assert_eq!(read(dir.path().join("harness.toml")), HARNESS_TOML);
        assert_eq!(read(dir.path().join(".gitignore")), ".coalmine/\n");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).display().to_string();
        assert_eq!(
            report.next_steps[0],
            format!(
                "add coalmine as a dev-dependency: cd {} && cargo add --dev --path {}",
                shell_word(&dir.path().display().to_string()),
                shell_word(&source)
            )
        );
        assert!(
            !report
                .next_steps
                .join("\n")
                .contains("cargo add --dev coalmine")
        );
    }

    #[test]
    fn the_ignore_line_is_the_history_folder() {
        assert_eq!(history_ignore_line(), ".coalmine/");
        assert_eq!(
            Path::new(crate::history::DEFAULT_RELATIVE_PATH).parent(),
            Some(Path::new(".coalmine"))
        );
    }

    #[test]
    fn appends_to_a_gitignore_without_a_final_newline() {
        let dir = crate_dir(CRATE);
        fs::write(dir.path().join(".gitignore"), "/target\n*.log").unwrap();
        let report = init(dir.path(), None).unwrap();
        assert_eq!(
            read(dir.path().join(".gitignore")),
            "/target\n*.log\n.coalmine/\n"
        );
        assert!(report.written.contains(&dir.path().join(".gitignore")));

        assert_eq!(
            gitignore_update(Some("/target\n")).as_deref(),
            Some("/target\n.coalmine/\n")
        );
        assert_eq!(
            gitignore_update(Some("/target\r\nCargo.lock")).as_deref(),
            Some("/target\r\nCargo.lock\r\n.coalmine/\r\n")
        );
        assert_eq!(gitignore_update(Some("")).as_deref(), Some(".coalmine/\n"));
    }

    #[test]
    fn never_duplicates_the_ignore_line() {
        for line in [".coalmine/", ".coalmine", "/.coalmine/", "/.coalmine"] {
            let dir = crate_dir(CRATE);
            let text = format!("/target\n{line}\n*.log");
            fs::write(dir.path().join(".gitignore"), &text).unwrap();
            let report = init(dir.path(), None).unwrap();
            assert_eq!(read(dir.path().join(".gitignore")), text, "{line}");
            assert!(!report.written.contains(&dir.path().join(".gitignore")));
        }
        assert!(gitignore_update(Some("/target\r\n/.coalmine  \r\n")).is_none());
        // Not the same folder, or not at this .gitignore's level: the line is still added.
        for other in [
            ".coalmine/history.db",
            "x/.coalmine/",
            "# .coalmine/",
            "!.coalmine/",
        ] {
            assert!(gitignore_update(Some(other)).is_some(), "{other}");
        }
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing() {
        let dir = crate_dir(
            "[package]\nname = \"mine\"\n\n[[test]]\nname = \"regression\"\npath = \"x.rs\"\n",
        );
        fs::write(dir.path().join("harness.toml"), "mine").unwrap();
        let error = init(dir.path(), None).unwrap_err().to_string();
        assert!(error.contains("harness.toml exists"), "{error}");
        assert!(error.contains("[[test]] named \"regression\""), "{error}");
        assert_eq!(read(dir.path().join("harness.toml")), "mine");
        assert!(!dir.path().join("tests").exists());
        assert!(!dir.path().join(".gitignore").exists());
    }

    #[test]
    fn explains_a_missing_or_broken_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            init(dir.path(), None),
            Err(InitError::NotACrate(_))
        ));
        let dir = crate_dir("[package\n");
        let error = init(dir.path(), None).unwrap_err().to_string();
        assert!(error.contains("cannot be parsed"), "{error}");
    }

    #[test]
    fn lists_the_members_of_a_workspace() {
        let dir = workspace();
        let (_, parsed) = read_manifest(&dir.path().join("Cargo.toml")).unwrap();
        let member = |dir: &str, name: &str| Member {
            dir: PathBuf::from(dir),
            name: Some(name.to_owned()),
        };
        assert_eq!(
            workspace_members(dir.path(), &parsed),
            [
                member("crates/alpha", "alpha"),
                member("crates/beta", "beta"),
                member("tools/gamma", "gamma"),
            ]
        );
    }

    #[test]
    fn refuses_a_virtual_workspace_and_names_its_members() {
        let dir = workspace();
        let before = snapshot(dir.path());
        let error = init(dir.path(), None).unwrap_err();
        assert!(
            matches!(error, InitError::VirtualWorkspace { .. }),
            "{error}"
        );
        let message = error.to_string();
        let manifest = dir.path().join("Cargo.toml");
        let root = shell_word(&dir.path().display().to_string());
        assert_eq!(
            message,
            format!(
                "{}: this is a virtual workspace ([workspace] without [package]), and cargo refuses \
                 a [[test]] target there; nothing was written. Run `coalmine init` for a member \
                 crate: `coalmine init {root} --package alpha`, or `cd {root}/crates/alpha && \
                 coalmine init`. Members: alpha (crates/alpha), beta (crates/beta), \
                 gamma (tools/gamma)",
                manifest.display()
            )
        );
        assert_eq!(snapshot(dir.path()), before);

        // Run from the workspace's folder, the commands are the short ones.
        assert!(
            virtual_workspace_message(
                &manifest,
                Path::new("."),
                &[Member {
                    dir: PathBuf::from("crates/alpha"),
                    name: Some("alpha".to_owned()),
                }]
            )
            .contains("`coalmine init --package alpha`, or `cd crates/alpha && coalmine init`")
        );
    }

    #[test]
    fn a_virtual_workspace_without_members_says_what_to_do() {
        let dir = crate_dir("[workspace]\nmembers = [\"crates/*\"]\n");
        let message = init(dir.path(), None).unwrap_err().to_string();
        assert!(
            message.contains("workspace.members names no folder with a Cargo.toml"),
            "{message}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn package_selects_a_workspace_member() {
        let dir = workspace();
        let root_manifest = read(dir.path().join("Cargo.toml"));
        let report = init(dir.path(), Some("beta")).unwrap();
        let beta = dir.path().join("crates/beta");
        assert_eq!(
            report.written,
            [
                beta.join("harness.toml"),
                beta.join("tests/regression/canaries.rs"),
                beta.join("Cargo.toml"),
                beta.join(".gitignore"),
            ]
        );
        assert_eq!(read(dir.path().join("Cargo.toml")), root_manifest);
        assert!(!dir.path().join("harness.toml").exists());
        assert!(!dir.path().join(".gitignore").exists());
        assert!(read(beta.join("Cargo.toml")).ends_with(TEST_ENTRY));
        let root = shell_word(&dir.path().display().to_string());
        assert!(
            report.next_steps[0].contains(&format!(
                "cd {root} && cargo add --dev --package beta --path "
            )),
            "{:?}",
            report.next_steps
        );
        assert_eq!(
            report.next_steps[2],
            format!("run it: cd {root} && cargo test --package beta --test regression -- canary")
        );
    }

    #[test]
    fn package_in_a_workspace_with_a_root_package() {
        let dir = workspace();
        let manifest = dir.path().join("Cargo.toml");
        let text = format!(
            "{}\n[package]\nname = \"top\"\nversion = \"0.1.0\"\n",
            read(&manifest)
        );
        fs::write(&manifest, text).unwrap();
        init(dir.path(), Some("gamma")).unwrap();
        assert!(dir.path().join("tools/gamma/harness.toml").is_file());
        assert!(!dir.path().join("harness.toml").exists());
        init(dir.path(), Some("top")).unwrap();
        assert!(dir.path().join("harness.toml").is_file());
    }

    #[test]
    fn an_unknown_package_names_the_closest() {
        let dir = workspace();
        let before = snapshot(dir.path());
        let error = init(dir.path(), Some("bta")).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: --package bta: no package of this workspace has that name; closest: beta, \
                 alpha, gamma; nothing was written",
                dir.path().join("Cargo.toml").display()
            )
        );
        assert_eq!(snapshot(dir.path()), before);
        // The excluded member is not a candidate.
        let message = init(dir.path(), Some("old")).unwrap_err().to_string();
        assert!(
            message.contains("no package of this workspace"),
            "{message}"
        );

        let many: Vec<String> = ["a1", "a2", "a3", "a4"].map(str::to_owned).to_vec();
        assert!(
            unknown_package_message(Path::new("C"), "a", &many)
                .ends_with("closest: a1, a2, a3 (of 4 packages); nothing was written")
        );
    }

    #[test]
    fn package_in_a_plain_crate_must_be_its_name() {
        let dir = crate_dir(CRATE);
        let error = init(dir.path(), Some("yours")).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: --package yours: this crate's package is named \"mine\", and its Cargo.toml \
                 has no [workspace] to pick a member from; nothing was written (drop --package, \
                 or give --package mine)",
                dir.path().join("Cargo.toml").display()
            )
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let report = init(dir.path(), Some("mine")).unwrap();
        assert_eq!(report.written.len(), 4);
        assert!(!report.next_steps.join("\n").contains("--package"));
    }

    #[test]
    fn finds_coalmine_only_in_its_own_checkout() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(coalmine_checkout(here).as_deref(), Some(here));
        assert_eq!(coalmine_source().as_deref(), Some(here));
        let other = crate_dir(CRATE);
        assert_eq!(coalmine_checkout(other.path()), None);
        assert_eq!(coalmine_checkout(&other.path().join("gone")), None);
        let cached = tempfile::tempdir().unwrap();
        let registry = cached.path().join("registry/src/index-abc/coalmine-0.1.0");
        fs::create_dir_all(&registry).unwrap();
        fs::write(
            registry.join("Cargo.toml"),
            "[package]\nname = \"coalmine\"\n",
        )
        .unwrap();
        assert_eq!(coalmine_checkout(&registry), None);
        let clone = cached.path().join("my clone");
        fs::create_dir_all(&clone).unwrap();
        fs::write(clone.join("Cargo.toml"), "[package]\nname = \"coalmine\"\n").unwrap();
        assert_eq!(coalmine_checkout(&clone), Some(clone.clone()));
        assert!(
            dev_dependency_step("", "", Some(&clone))
                .ends_with(&format!("cargo add --dev --path '{}'", clone.display()))
        );
    }

    #[test]
    fn without_a_checkout_the_step_says_what_to_put() {
        let step = dev_dependency_step("", "", None);
        assert!(
            step.contains("cargo add --dev --path /path/to/coalmine   # your clone of coalmine"),
            "{step}"
        );
        assert!(!step.contains("cargo add --dev coalmine"), "{step}");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(shell_word("/a b"), "'/a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    /// HARNESS_TOML with its commented JUnit lines in place of `results` and `format`, and
    /// `stages` replaced by `stages_line` when given.
    fn junit_harness(stages_line: Option<&str>) -> String {
        let mut uncommented = 0;
        let mut text = String::new();
        for line in HARNESS_TOML.lines() {
            if line.starts_with("results = ") || line.starts_with("format = ") {
                continue;
            }
            let line = match line.strip_prefix("# ") {
                Some(rest)
                    if ["results = ", "format = ", "stages = "]
                        .iter()
                        .any(|key| rest.starts_with(key)) =>
                {
                    uncommented += 1;
                    if rest.starts_with("stages = ") {
                        stages_line.unwrap_or(rest)
                    } else {
                        rest
                    }
                }
                _ => line,
            };
            text.push_str(line);
            text.push('\n');
        }
        assert_eq!(uncommented, 3, "{text}");
        text
    }

    #[test]
    fn the_written_config_is_valid() {
        let path = Path::new("/x/harness.toml");
        let config = crate::config::Config::parse(HARNESS_TOML, path).unwrap();
        assert_eq!(config.ci.unwrap().format, Format::CcCi);

        let junit = crate::config::Config::parse(&junit_harness(None), path).unwrap();
        let ci = junit.ci.unwrap();
        assert_eq!(ci.format, Format::Junit);
        assert_eq!(ci.results.to_string(), "{artifacts}/junit.xml");
        assert!(matches!(ci.stages, Staging::Field(StageField::Suite)));

        // Every other `stages` the comment shows, in place of "suite".
        let choices: Vec<&str> = HARNESS_TOML
            .lines()
            .filter_map(|line| line.strip_prefix("#   "))
            .filter(|line| line.starts_with("stages = "))
            .collect();
        assert_eq!(choices.len(), 4, "{choices:?}");
        let stages: Vec<Staging> = choices
            .iter()
            .map(|line| {
                let text = junit_harness(Some(line));
                let config = crate::config::Config::parse(&text, path)
                    .unwrap_or_else(|error| panic!("{line}: {error}"));
                config.ci.unwrap().stages
            })
            .collect();
        assert!(matches!(stages[0], Staging::Field(StageField::Root)));
        assert!(matches!(stages[1], Staging::Field(StageField::Classname)));
        assert!(matches!(stages[2], Staging::Field(StageField::File)));
        let Staging::Pattern { field, regex } = &stages[3] else {
            panic!("{:?}", stages[3]);
        };
        assert_eq!(*field, StageField::Classname);
        assert_eq!(&regex.captures("tests.test_install").unwrap()[1], "install");
        assert!(regex.captures("testsXtest_install").is_none());
    }
}
