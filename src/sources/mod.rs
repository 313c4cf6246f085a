//! Quarantine in the test source: the `[[sources]]` of harness.toml, where `quarantine apply`
//! marks a quarantined test in its own code and unmarks it on release.
//!
//! Every kind of source parses its files with a real parser for its language ([`ginkgo`]:
//! tree-sitter's Go grammar; [`rust`]: `syn`), lists the specs it finds with the test id each
//! answers to, and turns a quarantine or a release into byte-range [`Edit`]s of one file, so
//! that comments and formatting stay as they were. [`plan`] finds exactly one spec for every
//! change and computes every edit before anything is written: a test found nowhere (or more
//! than once) is a [`SourceError`] naming the test, the paths searched and the closest specs.
//! Strings written into a file (owner, reason, date) are escaped for its language's string
//! literals ([`escape`]).

pub mod escape;
pub mod ginkgo;
pub mod rust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::config::{SourceKind, SourcesConfig};

/// What to do to one test's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Mark it quarantined, with who owns it, why, and since when.
    Quarantine {
        /// The owning team.
        owner: String,
        /// Why.
        reason: String,
        /// The day it was quarantined.
        since: Date,
    },
    /// Remove the marks.
    Release,
}

/// One test to quarantine or release, by its id in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The test id, as the history records it.
    pub test: String,
    /// What to do.
    pub action: Action,
}

/// A replacement of the bytes `start..end` of a file by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The first byte replaced.
    pub start: usize,
    /// One past the last byte replaced (`start` for an insertion).
    pub end: usize,
    /// The new bytes.
    pub text: String,
}

impl Edit {
    /// Inserts `text` at `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    /// Removes the bytes `start..end`.
    pub fn remove(start: usize, end: usize) -> Edit {
        Edit {
            start,
            end,
            text: String::new(),
        }
    }
}

/// A spec (a Ginkgo `It`/`Entry`, a Rust `#[test]` function) found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Its name as errors show it (a Ginkgo spec's full text, a Rust test's path).
    pub name: String,
    /// The 1-based line it starts on.
    pub line: usize,
    /// Whether it carries the quarantine marks.
    pub quarantined: bool,
}

/// A file changed by [`plan`], with the specs changed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file.
    pub path: PathBuf,
    /// Its content as read.
    pub original: String,
    /// Its content with the edits applied.
    pub edited: String,
    /// What was done to which spec: (`quarantined` or `released`, spec name, line).
    pub specs: Vec<(String, String, usize)>,
}

/// Why the sources could not be edited; nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid in its language, or a spec is written so that it cannot be edited.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// No spec answers to the test id.
    #[error(
        "{kind} test `{test}` is in no file of [[sources]] (searched {searched}); closest specs: \
         {closest}; fix the test's name, or add its folder to `sources.paths`"
    )]
    NotFound {
        /// The kind of source searched.
        kind: &'static str,
        /// The test id.
        test: String,
        /// The paths searched, comma-separated.
        searched: String,
        /// The closest specs, with their files and lines.
        closest: String,
    },
    /// More than one spec answers to the test id.
    #[error(
        "{kind} test `{test}` is found more than once (searched {searched}): {found}; give the \
         specs distinct texts, or narrow `sources.paths`"
    )]
    Ambiguous {
        /// The kind of source searched.
        kind: &'static str,
        /// The test id.
        test: String,
        /// The paths searched, comma-separated.
        searched: String,
        /// Where it was found.
        found: String,
    },
}

/// The 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Applies non-overlapping edits to `text` (in any order).
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| (edit.start, edit.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for edit in sorted {
        let start = edit.start.clamp(at, text.len());
        out.push_str(&text[at..start]);
        out.push_str(&edit.text);
        at = edit.end.clamp(start, text.len());
    }
    out.push_str(&text[at..]);
    out
}

/// The files of a source: each path itself when it is a file with one of `extensions`, and
/// every such file under it when it is a folder (`target`, `vendor` and hidden folders left
/// out), sorted.
pub fn files(paths: &[PathBuf], extensions: &[&str]) -> Result<Vec<PathBuf>, SourceError> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| SourceError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_file() {
            found.push(path.clone());
            continue;
        }
        let mut stack = vec![path.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| SourceError::Read {
                path: dir.clone(),
                source,
            })?;
            for entry in entries.flatten() {
                let child = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if child.is_dir() {
                    if !(name.starts_with('.') || name == "target" || name == "vendor") {
                        stack.push(child);
                    }
                } else if extensions
                    .iter()
                    .any(|ext| child.extension().is_some_and(|own| own == *ext))
                {
                    found.push(child);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// A spec found by a kind of source: where, what it answers to, and how to edit it.
pub(crate) struct Found {
    /// The file.
    pub(crate) path: PathBuf,
    /// What the spec is.
    pub(crate) spec: Spec,
    /// The test ids it answers to.
    pub(crate) ids: Vec<String>,
    /// The index of the spec within its file, for the kind's editing.
    pub(crate) index: usize,
    /// Whether a test id may put a prefix before the id (Ginkgo's `<suite>::`).
    pub(crate) prefixed: bool,
}

impl Found {
    /// Whether the spec answers to the test id `test`.
    fn answers(&self, test: &str) -> bool {
        self.ids.iter().any(|id| {
            id == test
                || (self.prefixed && test.split_once("::").is_some_and(|(_, rest)| rest == id))
        })
    }
}

/// A parsed source of one kind: its specs, and the edits that mark or unmark one.
pub(crate) trait Parsed {
    /// Every spec found.
    fn specs(&self) -> &[Found];
    /// The edits of one file that apply `action` to the spec `index` of `path`, or none when
    /// it is already so.
    fn edits(&self, path: &Path, index: usize, action: &Action) -> Result<Vec<Edit>, SourceError>;
    /// Edits of a whole file after its specs' edits (a Go import added or removed).
    fn finish(&self, path: &Path, text: &str) -> Result<Vec<Edit>, SourceError>;
    /// A file's text as read.
    fn text(&self, path: &Path) -> Option<&str>;
}

fn parse(source: &SourcesConfig) -> Result<Box<dyn Parsed>, SourceError> {
    Ok(match source.kind {
        SourceKind::Ginkgo => Box::new(ginkgo::GinkgoSource::load(source)?),
        SourceKind::Rust => Box::new(rust::RustSource::load(source)?),
    })
}

/// A file's edits so far: the source that parsed it, its spec edits, what was done to which
/// spec.
type PerFile = (usize, Vec<Edit>, Vec<(String, String, usize)>);

/// Finds the spec of every change in the sources and computes the edited files. Every
/// quarantined test that a table holds ([`SourcesConfig::holds`]) must be found in those
/// tables exactly once; a test no table holds, and a released test found nowhere (its spec was
/// deleted), are left to harness.toml and listed in the second value. Nothing is written.
pub fn plan(
    sources: &[SourcesConfig],
    changes: &[Change],
) -> Result<(Vec<FileChange>, Vec<String>), SourceError> {
    if sources.is_empty() || changes.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let parsed = sources.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
    let searched = sources
        .iter()
        .flat_map(|source| source.paths.iter().map(|path| path.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    let kinds = sources
        .iter()
        .map(|source| source.kind.name())
        .collect::<Vec<_>>();
    let kind = if kinds.iter().all(|kind| *kind == kinds[0]) {
        kinds[0]
    } else {
        "a"
    };
    // Per file: which source parsed it, and the spec edits so far.
    let mut per_file: BTreeMap<PathBuf, PerFile> = BTreeMap::new();
    let mut missing = Vec::new();
    for change in changes {
        let holding: Vec<usize> = (0..sources.len())
            .filter(|which| sources[*which].holds(&change.test))
            .collect();
        if holding.is_empty() {
            missing.push(change.test.clone());
            continue;
        }
        let hits: Vec<(usize, &Found)> = holding
            .iter()
            .flat_map(|which| {
                parsed[*which]
                    .specs()
                    .iter()
                    .map(move |found| (*which, found))
            })
            .filter(|(_, found)| found.answers(&change.test))
            .collect();
        match hits.as_slice() {
            [] => {
                if change.action == Action::Release {
                    missing.push(change.test.clone());
                    continue;
                }
                let names: Vec<String> = holding
                    .iter()
                    .flat_map(|which| parsed[*which].specs().iter())
                    .filter_map(|found| found.ids.first().cloned())
                    .collect();
                let closest: Vec<String> =
                    crate::suggest::closest_first(&change.test, names.iter().map(String::as_str))
                        .into_iter()
                        .take(3)
                        .map(|name| format!("`{}`", crate::suggest::shown(name)))
                        .collect();
                return Err(SourceError::NotFound {
                    kind,
                    test: change.test.clone(),
                    searched: searched.clone(),
                    closest: if closest.is_empty() {
                        "(no spec found at all)".to_owned()
                    } else {
                        closest.join(", ")
                    },
                });
            }
            [(which, found)] => {
                let edits = parsed[*which].edits(&found.path, found.index, &change.action)?;
                if edits.is_empty() {
                    continue;
                }
                let entry = per_file
                    .entry(found.path.clone())
                    .or_insert_with(|| (*which, Vec::new(), Vec::new()));
                entry.1.extend(edits);
                let what = match change.action {
                    Action::Quarantine { .. } => "quarantined",
                    Action::Release => "released",
                };
                entry
                    .2
                    .push((what.to_owned(), found.spec.name.clone(), found.spec.line));
            }
            many => {
                return Err(SourceError::Ambiguous {
                    kind,
                    test: change.test.clone(),
                    searched: searched.clone(),
                    found: many
                        .iter()
                        .map(|(_, found)| {
                            format!(
                                "`{}` at {}:{}",
                                found.spec.name,
                                found.path.display(),
                                found.spec.line
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let mut files = Vec::new();
    for (path, (which, edits, specs)) in per_file {
        let Some(original) = parsed[which].text(&path) else {
            continue;
        };
        let edited = apply_edits(original, &edits);
        let finish = parsed[which].finish(&path, &edited)?;
        let edited = apply_edits(&edited, &finish);
        if edited != original {
            files.push(FileChange {
                path,
                original: original.to_owned(),
                edited,
                specs,
            });
        }
    }
    Ok((files, missing))
}

/// The start of the line holding `offset`.
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |index| index + 1)
}

/// The whitespace that starts the line holding `offset`.
pub(crate) fn indentation(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    let end = line
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(line.len());
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_any_order() {
        let edits = [
            Edit::insert(5, "!"),
            Edit::remove(0, 1),
            Edit::insert(2, "-"),
        ];
        assert_eq!(apply_edits("hello", &edits), "e-llo!");
        assert_eq!(line_column("ab\ncdé f", 8), (2, 5));
        assert_eq!(indentation("x\n\t\tIt(", 5), "\t\t");
    }
}
