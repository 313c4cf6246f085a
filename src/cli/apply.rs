//! `coalmine quarantine apply`: the plan written into harness.toml.
//!
//! - Adds a `[[quarantine]]` entry (`test`, `owner`, `reason`, `since`) for every test to
//!   quarantine now, and for every batch candidate once the batch is due (on the batch day and
//!   during its grace period; before that they are only proposed, so that a test fixed before
//!   the batch never enters quarantine). The reason starts with `immediate` or `batch` and
//!   gives the measured rate (and for a batch, its day); `since` is today (UTC). `stable_by` is left for the
//!   owning team: a comment above the entry says so. No other field is written:
//!   `QuarantineEntry` refuses unknown keys.
//! - Removes the entries of released tests, and of tests that left the batch in its grace
//!   period.
//! - Edits with `toml_edit`, so every comment, blank line and key order of the file stays as
//!   it was; checks that the result still loads as a harness.toml; writes it atomically (a
//!   temporary file in the same folder, synced, then renamed over the original).
//! - Refuses, writing nothing at all, when a candidate has no owner, listing each.
//! - With `--pr-body FILE`, writes the pull-request description (the plan's Markdown).
//! - With `[[sources]]`, also marks each quarantined test in its source and unmarks each
//!   released one ([`crate::sources`]); every edit of every file is computed first, and on any
//!   error (a spec found nowhere or twice) nothing is written. The description then lists the
//!   files and specs changed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use jiff::Timestamp;
use jiff::civil::Date;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::output::plan_markdown;
use super::{EXIT_OK, Failure, Store, analysis, exit_code, open_existing, parse_time};
use crate::config::Config;
use crate::quarantine::calendar::utc_date;
use crate::quarantine::{Candidate, Plan, Policy};
use crate::sources;

/// `coalmine quarantine apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Also write the pull-request description (Markdown, as `plan --format md`) to this file.
    #[arg(long, value_name = "FILE")]
    pub pr_body: Option<PathBuf>,
    /// The instant the plan is computed for: RFC 3339 or a day [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<Timestamp>,
    #[command(flatten)]
    pub store: Store,
}

/// What apply changes in the `[[quarantine]]` list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Entries to add: (candidate, `immediate` or `batch`).
    pub add: Vec<(Candidate, String)>,
    /// Tests whose entries to remove.
    pub remove: Vec<String>,
    /// Batch candidates not added yet (the batch is not due), with the batch day.
    pub proposed: Vec<(String, Date)>,
}

impl Changes {
    /// The changes a plan asks for (the plan must not block apply). Under the auto-quarantine
    /// preset every candidate is in `quarantine_now` (or deferred), so none is a batch's.
    pub fn from_plan(plan: &Plan, quarantined: &[String]) -> Changes {
        let mut changes = Changes::default();
        let new = |candidate: &&Candidate| !quarantined.contains(&candidate.test);
        for candidate in plan.quarantine_now.iter().filter(new) {
            changes
                .add
                .push((candidate.clone(), "immediate".to_owned()));
        }
        for candidate in plan.next_batch.iter().filter(new) {
            if plan.batch.in_grace {
                changes.add.push((candidate.clone(), "batch".to_owned()));
            } else {
                changes
                    .proposed
                    .push((candidate.test.clone(), plan.batch.date));
            }
        }
        changes
            .remove
            .extend(plan.release.iter().map(|release| release.test.clone()));
        changes.remove.extend(
            plan.grace_released
                .iter()
                .filter(|release| release.was_quarantined)
                .map(|release| release.test.clone()),
        );
        changes
    }

    /// Whether harness.toml stays as it is.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Runs `coalmine quarantine apply`; returns the exit code.
pub fn run(args: &ApplyArgs) -> u8 {
    exit_code(apply(args))
}

fn apply(args: &ApplyArgs) -> Result<u8, Failure> {
    let config = args.store.required_config("coalmine quarantine apply")?;
    let path = args.store.history_path(Some(&config))?;
    if let Some(body) = &args.pr_body {
        refuse_to_overwrite(body, &config.path, &path)?;
    }
    let history = open_existing(&path)?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    let quarantine = &config.quarantine;
    let plan = analysis::analyse(&history, quarantine, now)
        .map_err(|error| error.to_string())?
        .plan;
    if plan.blocks_apply() {
        for error in plan.errors() {
            eprintln!("error: {error}");
        }
        return Err(format!(
            "{} test(s) to quarantine have no owner (listed above); nothing was written to {}{}",
            plan.missing_owner.len(),
            config.path.display(),
            args.pr_body
                .as_ref()
                .map(|body| format!(" or {}", body.display()))
                .unwrap_or_default()
        ));
    }
    let quarantined: Vec<String> = quarantine
        .quarantine
        .iter()
        .map(|entry| entry.test.clone())
        .collect();
    let changes = Changes::from_plan(&plan, &quarantined);
    let today = utc_date(now);

    let original = std::fs::read_to_string(&config.path).map_err(|error| {
        format!(
            "cannot read {}: {error}; nothing was written",
            config.path.display()
        )
    })?;
    let edited = edit(&original, &changes, today, &quarantine.policy)
        .map_err(|error| format!("{}: {error}; nothing was written", config.path.display()))?;
    if let Err(error) = Config::parse(&edited, &config.path) {
        return Err(format!(
            "the edited harness.toml would not load, so nothing was written (please report \
             this): {error}"
        ));
    }
    let (source_files, not_in_sources) =
        sources::plan(&config.sources, &source_changes(&changes, today))
            .map_err(|error| format!("{error}; nothing was written"))?;
    let markdown = args.pr_body.as_ref().map(|_| {
        let mut markdown = plan_markdown(&plan);
        markdown.push_str(&sources_markdown(&source_files, config.root()));
        markdown
    });
    write_outputs(
        &config.path,
        (edited != original).then_some(edited.as_str()),
        &source_files,
        args.pr_body.as_deref().zip(markdown.as_deref()),
        now,
    )?;

    for file in &source_files {
        for (what, spec, line) in &file.specs {
            println!(
                "{what} in {}:{line}: {spec}",
                shown_path(&file.path, config.root())
            );
        }
    }
    for test in &not_in_sources {
        println!(
            "{test}: only harness.toml changed (no [[sources]] table's `tests` holds it, or its \
             spec is gone)"
        );
    }

    for (candidate, marker) in &changes.add {
        println!(
            "added [[quarantine]] {} (owner {}, {marker})",
            candidate.test,
            candidate.owner.as_deref().unwrap_or("?")
        );
    }
    for test in &changes.remove {
        println!("removed [[quarantine]] {test} (released)");
    }
    for (test, date) in &changes.proposed {
        println!("proposed for the batch of {date}, not added yet: {test}");
    }
    for test in &plan.unknown_quarantine_entries {
        eprintln!(
            "warning: [[quarantine]] {test} names no test in the history: fix the name or remove \
             the entry"
        );
    }
    if changes.is_empty() {
        println!("{}: nothing to change", config.path.display());
    } else {
        println!(
            "wrote {} ({} added, {} removed); set `stable_by` on the new entries with their teams",
            config.path.display(),
            changes.add.len(),
            changes.remove.len()
        );
    }
    if let Some(body) = &args.pr_body {
        println!("wrote the pull-request description to {}", body.display());
    }
    Ok(EXIT_OK)
}

/// The source edits of `changes`: each added entry quarantined (owner, the entry's reason,
/// `today`), each removed one released. Canaries (`canary::<name>`) have no test source: their
/// quarantine is harness.toml's alone.
pub fn source_changes(changes: &Changes, today: Date) -> Vec<sources::Change> {
    let canary = |test: &str| test.starts_with("canary::");
    let mut out: Vec<sources::Change> = changes
        .add
        .iter()
        .filter(|(candidate, _)| !canary(&candidate.test))
        .map(|(candidate, marker)| sources::Change {
            test: candidate.test.clone(),
            action: sources::Action::Quarantine {
                owner: candidate.owner.clone().unwrap_or_default(),
                reason: format!("{marker}: {}", candidate.reason),
                since: today,
            },
        })
        .collect();
    out.extend(
        changes
            .remove
            .iter()
            .filter(|test| !canary(test))
            .map(|test| sources::Change {
                test: test.clone(),
                action: sources::Action::Release,
            }),
    );
    out
}

/// A path as messages show it: relative to harness.toml's folder when under it.
fn shown_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The pull-request description's list of the test sources changed (empty when none).
fn sources_markdown(files: &[sources::FileChange], root: &Path) -> String {
    if files.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n## Test sources changed\n\n");
    for file in files {
        out.push_str(&format!("- `{}`\n", shown_path(&file.path, root)));
        for (what, spec, line) in &file.specs {
            out.push_str(&format!("  - {what} (line {line}): `{spec}`\n"));
        }
    }
    out
}

/// Applies `changes` to the text of a harness.toml, keeping everything else as written.
pub fn edit(text: &str, changes: &Changes, today: Date, policy: &Policy) -> Result<String, String> {
    if changes.is_empty() {
        return Ok(text.to_owned());
    }
    let mut document: DocumentMut = text
        .parse()
        .map_err(|error| format!("cannot be parsed for editing: {error}"))?;
    let root = document.as_table_mut();
    if !root.contains_key("quarantine") {
        if changes.add.is_empty() {
            return Ok(text.to_owned());
        }
        root.insert("quarantine", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let Some(entries) = root
        .get_mut("quarantine")
        .and_then(Item::as_array_of_tables_mut)
    else {
        return Err(
            "`quarantine` is not written as [[quarantine]] tables; write each entry as a \
             [[quarantine]] table so that apply can edit it"
                .to_owned(),
        );
    };
    // A removed entry takes its own comment (the lines right above its header) with it; the
    // comments before that, such as a section header, are kept, above the next entry.
    let mut kept = String::new();
    let mut index = 0;
    while index < entries.len() {
        let Some(entry) = entries.get_mut(index) else {
            break;
        };
        let test = entry.get("test").and_then(Item::as_str);
        let prefix = entry
            .decor()
            .prefix()
            .and_then(|prefix| prefix.as_str())
            .unwrap_or("")
            .to_owned();
        if test.is_some_and(|test| changes.remove.iter().any(|removed| removed == test)) {
            kept.push_str(not_the_entrys_own(&prefix));
            entries.remove(index);
        } else {
            if !kept.is_empty() {
                entry
                    .decor_mut()
                    .set_prefix(format!("{}{prefix}", std::mem::take(&mut kept)));
            }
            index += 1;
        }
    }
    for (candidate, marker) in &changes.add {
        let owner = candidate.owner.clone().unwrap_or_default();
        let mut entry = Table::new();
        entry.insert("test", value(candidate.test.as_str()));
        entry.insert("owner", value(owner.as_str()));
        entry.insert(
            "reason",
            value(format!("{marker}: {}", candidate.reason).as_str()),
        );
        entry.insert("since", value(today.to_string()));
        entry.decor_mut().set_prefix(format!(
            "\n# Quarantined by `coalmine quarantine apply` on {today} ({marker}). {owner}: add \
             stable_by = \"YYYY-MM-DD\",\n# the day you expect it stable; it is released after \
             {} days without a failure from then.\n",
            policy.release_days
        ));
        if !kept.is_empty() {
            let own = entry
                .decor()
                .prefix()
                .and_then(|prefix| prefix.as_str())
                .unwrap_or("")
                .to_owned();
            entry
                .decor_mut()
                .set_prefix(format!("{}{own}", std::mem::take(&mut kept)));
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        root.remove("quarantine");
    }
    if !kept.is_empty() {
        // No entry left after the removed ones: the comments go to the end of the file.
        let trailing = document.trailing().as_str().unwrap_or("").to_owned();
        document.set_trailing(format!("{trailing}{kept}"));
    }
    Ok(document.to_string())
}

/// The part of an entry's prefix that is not its own comment: everything up to the last blank
/// line before its header (a section header, another block of comments). The lines right above
/// the header, with no blank line between, are the entry's own and go with it.
fn not_the_entrys_own(prefix: &str) -> &str {
    let mut end = 0;
    let mut offset = 0;
    for line in prefix.split_inclusive('\n') {
        offset += line.len();
        if line.trim().is_empty() {
            end = offset;
        }
    }
    // Only comment lines and blank lines are in a prefix; keep none when nothing but the
    // entry's own block is there (a leading newline alone is no comment).
    let kept = &prefix[..end];
    if kept.lines().any(|line| line.trim_start().starts_with('#')) {
        kept
    } else {
        ""
    }
}

/// Writes the edited test sources and harness.toml (`None`: unchanged), then the pull-request
/// description. Every file is written beside its destination first; only when all are staged
/// are they renamed into place, the sources and harness.toml first, the description last: a
/// failure while staging leaves every file as it was (a staged file that is not committed is
/// removed).
fn write_outputs(
    config: &Path,
    edited: Option<&str>,
    source_files: &[sources::FileChange],
    body: Option<(&Path, &str)>,
    now: Timestamp,
) -> Result<(), Failure> {
    let staged_body = match body {
        Some((path, text)) => Some(Staged::new(path, text.as_bytes()).map_err(|error| {
            format!(
                "cannot write {}: {error}; nothing was written",
                path.display()
            )
        })?),
        None => None,
    };
    let mut staged = Vec::new();
    for file in source_files {
        let target = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
        staged.push((
            file.path.clone(),
            Staged::new(&target, file.edited.as_bytes()).map_err(|error| {
                format!(
                    "cannot write {}: {error}; nothing was written",
                    file.path.display()
                )
            })?,
        ));
    }
    if let Some(edited) = edited {
        let target = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
        staged.push((
            config.to_path_buf(),
            Staged::new(&target, edited.as_bytes()).map_err(|error| {
                format!(
                    "cannot write {}: {error}; nothing was written",
                    config.display()
                )
            })?,
        ));
    }
    for (written, (path, file)) in staged.into_iter().enumerate() {
        file.commit().map_err(|error| {
            format!(
                "cannot write {}: {error}; {}",
                path.display(),
                if written == 0 {
                    "nothing was written".to_owned()
                } else {
                    format!("{written} file(s) before it were written: check `git status`")
                }
            )
        })?;
    }
    if let (Some(staged), Some((path, _))) = (staged_body, body) {
        staged.commit().map_err(|error| {
            format!(
                "{} was written, but the pull-request description could not be: cannot write \
                 {}: {error}; print it with `coalmine quarantine plan --format md --now {}`",
                config.display(),
                path.display(),
                super::show_time(now)
            )
        })?;
    }
    Ok(())
}

/// Refuses a `--pr-body` file that is harness.toml or the history database (or one of its
/// WAL files): the description would replace it.
fn refuse_to_overwrite(body: &Path, config: &Path, history: &Path) -> Result<(), Failure> {
    let body_path = canonical(body);
    let what = if body_path == canonical(config) {
        Some("the harness.toml being edited")
    } else {
        let history = canonical(history).into_os_string();
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .any(|suffix| {
                let mut name = history.clone();
                name.push(suffix);
                body_path == name
            })
            .then_some("the history database")
    };
    match what {
        Some(what) => Err(format!(
            "--pr-body {} is {what}: the pull-request description would replace it; nothing was \
             written: give another file, e.g. --pr-body pr.md",
            body.display()
        )),
        None => Ok(()),
    }
}

/// A path made absolute with its links resolved, as far as it exists (a file that does not
/// exist yet keeps its name under its resolved folder).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(path) {
        return resolved;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map_or_else(|_| absolute.clone(), |parent| parent.join(name)),
        _ => absolute,
    }
}

/// A file's new content, written and synced beside it but not yet in its place: [`commit`]
/// renames it over the file; dropped uncommitted, it is removed.
///
/// [`commit`]: Staged::commit
#[derive(Debug)]
pub struct Staged {
    temporary: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    /// Writes `bytes` to a temporary file beside `path` (with the permissions of `path` when
    /// it exists) and syncs it.
    pub fn new(path: &Path, bytes: &[u8]) -> std::io::Result<Staged> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map_or_else(|| "file".into(), |name| name.to_string_lossy());
        let staged = Staged {
            temporary: dir.join(format!(".{name}.coalmine-{}.tmp", std::process::id())),
            path: path.to_path_buf(),
            committed: false,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&staged.temporary)?;
        file.write_all(bytes)?;
        if let Ok(metadata) = std::fs::metadata(path) {
            file.set_permissions(metadata.permissions())?;
        }
        file.sync_all()?;
        Ok(staged)
    }

    /// Renames the new content over the file.
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.temporary, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quarantine::Rule;

    fn candidate(test: &str, owner: &str) -> Candidate {
        Candidate {
            test: test.to_owned(),
            owner: Some(owner.to_owned()),
            rule: Rule::Now,
            rate: 0.5,
            score: 0.5,
            threshold: 0.2,
            failed: 5,
            passed: 5,
            runs: 10,
            window_days: 3,
            flipped_commits: 2,
            commits: 4,
            batch_date: None,
            release_blocker: false,
            fix: None,
            lanes: Vec::new(),
            reason: "failed 5 of 10 execution(s) (50 %)".to_owned(),
        }
    }

    const FILE: &str = "# the CI\n[ci]\ncommand = [\"x\"] # keep me\nresults = \"{artifacts}/r.json\"\n\n\
        # why it is quarantined\n[[quarantine]]\ntest = \"old\"\nowner = \"sig-a\"\nsince = \"2026-01-01\"\n\n\
        [[quarantine]]\ntest = \"released\"\nowner = \"sig-b\"\nsince = \"2026-01-02\"\n\n\
        [report] # trailing\njunit = \"j.xml\"\n";

    #[test]
    fn edits_keep_the_rest_of_the_file() {
        let changes = Changes {
            add: vec![(candidate("new::t", "sig-c"), "immediate".to_owned())],
            remove: vec!["released".to_owned()],
            proposed: Vec::new(),
        };
        let today: Date = "2026-11-20".parse().unwrap();
        let edited = edit(FILE, &changes, today, &Policy::default()).unwrap();
        assert!(edited.starts_with(
            "# the CI\n[ci]\ncommand = [\"x\"] # keep me\nresults = \"{artifacts}/r.json\"\n\n\
             # why it is quarantined\n[[quarantine]]\ntest = \"old\"\nowner = \"sig-a\"\nsince = \"2026-01-01\"\n"
        ), "{edited}");
        assert!(!edited.contains("test = \"released\""), "{edited}");
        assert!(edited.contains(
            "[[quarantine]]\ntest = \"new::t\"\nowner = \"sig-c\"\nreason = \"immediate: failed 5 of 10 execution(s) (50 %)\"\nsince = \"2026-11-20\"\n"
        ), "{edited}");
        assert!(
            edited.contains("[report] # trailing\njunit = \"j.xml\"\n"),
            "{edited}"
        );
        // The new entry comes right after the kept one, before [report].
        assert!(edited.find("new::t").unwrap() < edited.find("[report]").unwrap());
        let config = Config::parse(&edited, Path::new("/tmp/harness.toml")).unwrap();
        assert_eq!(config.quarantine.quarantine.len(), 2);
    }

    #[test]
    fn a_file_without_entries_gets_them_at_the_end() {
        let text = "[ci]\ncommand = [\"x\"]\nresults = \"{artifacts}/r.json\"\n";
        let changes = Changes {
            add: vec![(candidate("t", "sig-c"), "batch of 2026-11-23".to_owned())],
            ..Changes::default()
        };
        let edited = edit(
            text,
            &changes,
            "2026-11-23".parse().unwrap(),
            &Policy::default(),
        )
        .unwrap();
        assert!(edited.starts_with(text));
        assert!(edited.contains("reason = \"batch of 2026-11-23: failed"));
        let removed = edit(
            &edited,
            &Changes {
                remove: vec!["t".to_owned()],
                ..Changes::default()
            },
            "2026-12-01".parse().unwrap(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(removed.trim_end(), text.trim_end());
    }

    #[test]
    fn removing_an_entry_keeps_the_comments_that_are_not_its_own() {
        let text = "[ci]\ncommand = [\"x\"]\n\n# ---- Quarantined tests (edited by coalmine) ----\n\n\
                    # storage is flaky since the migration\n[[quarantine]]\ntest = \"a\"\nowner = \"o\"\n\
                    since = 2026-01-01\n\n# keep this note\n\n[[quarantine]]\ntest = \"b\"\nowner = \"o\"\n\
                    since = 2026-01-01\n";
        let remove = |tests: &[&str], text: &str| {
            edit(
                text,
                &Changes {
                    remove: tests.iter().map(|test| (*test).to_owned()).collect(),
                    ..Changes::default()
                },
                "2026-12-01".parse().unwrap(),
                &Policy::default(),
            )
            .unwrap()
        };
        let first = remove(&["a"], text);
        assert!(
            first.contains("# ---- Quarantined tests (edited by coalmine) ----"),
            "{first}"
        );
        assert!(
            !first.contains("storage is flaky"),
            "the entry's own comment goes: {first}"
        );
        assert!(first.contains("# keep this note"), "{first}");
        assert!(first.contains("test = \"b\""), "{first}");
        let both = remove(&["a", "b"], text);
        assert!(
            both.contains("# ---- Quarantined tests (edited by coalmine) ----"),
            "{both}"
        );
        assert!(both.contains("# keep this note"), "{both}");
        assert!(
            !both.contains("[[quarantine]]") && !both.contains("storage is flaky"),
            "{both}"
        );
        // What apply wrote above an entry is its own: removing it leaves the file as it was.
        assert_eq!(
            not_the_entrys_own("\n# Quarantined by ...\n# the day ...\n"),
            ""
        );
        assert_eq!(
            not_the_entrys_own("\n# header\n\n# own\n"),
            "\n# header\n\n"
        );
    }

    #[test]
    fn inline_arrays_are_refused() {
        let text = "quarantine = [{ test = \"a\", owner = \"b\", since = \"2026-01-01\" }]\n";
        let changes = Changes {
            remove: vec!["a".to_owned()],
            ..Changes::default()
        };
        let error = edit(
            text,
            &changes,
            "2026-01-02".parse().unwrap(),
            &Policy::default(),
        )
        .unwrap_err();
        assert!(error.contains("[[quarantine]] tables"), "{error}");
    }

    #[test]
    fn a_failed_harness_write_leaves_the_description_unwritten() {
        let dir = tempfile::tempdir().unwrap();
        let body = dir.path().join("pr.md");
        let config = dir.path().join("gone/harness.toml");
        let now = "2026-11-20T12:00:00Z".parse().unwrap();
        let error =
            write_outputs(&config, Some("x = 1\n"), &[], Some((&body, "# PR\n")), now).unwrap_err();
        assert!(error.contains("nothing was written"), "{error}");
        assert!(!body.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "{names:?}");
        // Unchanged harness.toml: only the description is written.
        write_outputs(&config, None, &[], Some((&body, "# PR\n")), now).unwrap();
        assert_eq!(std::fs::read_to_string(&body).unwrap(), "# PR\n");
    }

    #[test]
    fn atomic_writes_replace_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("harness.toml");
        std::fs::write(&path, "old").unwrap();
        // Until committed, the file is as it was; dropped, the staged copy goes.
        drop(Staged::new(&path, b"dropped").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        Staged::new(&path, b"new").unwrap().commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
