//! `kind = "rust"`: `#[test]` functions of Rust crates, parsed with `syn` (span locations on).
//!
//! Each path of the table is searched for `Cargo.toml` files (at or under it, `target` left
//! out; a path inside a crate finds the crate's own). A package's crate roots are
//! `src/lib.rs`, `src/main.rs`, `tests/<t>.rs` and `tests/<t>/main.rs`; from each root the
//! files of its `mod x;` items are followed (`x.rs` or `x/mod.rs` in the module's folder, or
//! the file a `#[path = "..."]` names, relative to the folder of the file holding the `mod`;
//! `#[path]` inside an inline module is not followed), and inline `mod x { ... }` blocks are
//! nested. A
//! function with a `#[test]` attribute (or one ending in `::test`, such as `#[tokio::test]`)
//! is a test; its path is its modules' names and its own, joined with `::`, as libtest and
//! nextest name it. It answers to `<package>::<path>` and `<crate>::<path>` (nextest's binary
//! id is the package name; the crate name has `_` for `-`) and `crate::<path>` for the library,
//! `<package>::<t>::<path>` and `<t>::<path>` for the integration test `t`, and
//! `<package>::bin/<package>::<path>` (and `<package>::<path>` when there is no library) for
//! `src/main.rs`.
//!
//! Quarantine writes `#[ignore = "QUARANTINE <owner>: <reason> (since <date>)"]` (escaped as a
//! Rust string) on the line above the `fn`, with its indentation; a test already `#[ignore]`d
//! by hand is left as it is. Release removes exactly that attribute (its line).

use std::path::{Path, PathBuf};

use proc_macro2::LineColumn;

use super::{Action, Edit, Found, Parsed, SourceError, Spec, escape, indentation, line_start};
use crate::config::SourcesConfig;

/// How a quarantine's ignore message starts.
pub const MARK: &str = "QUARANTINE ";

struct RustFile {
    path: PathBuf,
    text: String,
    tests: Vec<TestFn>,
}

struct TestFn {
    /// Where the `fn` line starts (the first token after the attributes).
    fn_start: usize,
    /// The byte range of a quarantine's `#[ignore = "QUARANTINE ..."]`, if any.
    quarantine: Option<(usize, usize)>,
    /// Whether it has another `#[ignore]`.
    ignored: bool,
}

/// The Rust files of one `[[sources]]` table with their tests.
pub struct RustSource {
    files: Vec<RustFile>,
    found: Vec<Found>,
}

/// Byte offsets of line starts, to turn `syn`'s line/column positions into offsets.
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Lines<'t> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        Lines { text, starts }
    }

    fn offset(&self, at: LineColumn) -> usize {
        let Some(start) = at
            .line
            .checked_sub(1)
            .and_then(|line| self.starts.get(line))
        else {
            return self.text.len();
        };
        let line = &self.text[*start..];
        *start
            + line
                .char_indices()
                .nth(at.column)
                .map_or(line.len(), |(index, _)| index)
    }
}

/// A crate root: its file, the prefixes of its tests' ids.
struct Root {
    file: PathBuf,
    prefixes: Vec<String>,
}

fn manifests(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SourceError> {
    let mut found = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(SourceError::Read {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
        }
        let mut stack = vec![path.clone()];
        let mut any = false;
        while let Some(dir) = stack.pop() {
            if !dir.is_dir() {
                continue;
            }
            if dir.join("Cargo.toml").is_file() {
                found.push(dir.join("Cargo.toml"));
                any = true;
            }
            let entries = std::fs::read_dir(&dir).map_err(|source| SourceError::Read {
                path: dir.clone(),
                source,
            })?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_dir() && !name.starts_with('.') && name != "target" {
                    stack.push(entry.path());
                }
            }
        }
        if !any
            && let Some(manifest) = path
                .ancestors()
                .map(|dir| dir.join("Cargo.toml"))
                .find(|manifest| manifest.is_file())
        {
            found.push(manifest);
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn roots(manifest: &Path) -> Result<Vec<Root>, SourceError> {
    let text = std::fs::read_to_string(manifest).map_err(|source| SourceError::Read {
        path: manifest.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|error| {
        let (line, column) = super::line_column(&text, error.span().map_or(0, |span| span.start));
        SourceError::Syntax {
            path: manifest.to_owned(),
            line,
            column,
            message: format!("not a valid Cargo.toml: {}", error.message()),
        }
    })?;
    let Some(package) = table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
    else {
        return Ok(Vec::new());
    };
    let crate_name = package.replace('-', "_");
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut roots = Vec::new();
    let lib = dir.join("src/lib.rs");
    let has_lib = lib.is_file();
    if has_lib {
        roots.push(Root {
            file: lib,
            prefixes: vec![package.to_owned(), crate_name.clone(), "crate".to_owned()],
        });
    }
    let main = dir.join("src/main.rs");
    if main.is_file() {
        let mut prefixes = vec![format!("{package}::bin/{package}")];
        if !has_lib {
            prefixes.push(package.to_owned());
            prefixes.push(crate_name.clone());
        }
        roots.push(Root {
            file: main,
            prefixes,
        });
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("tests")) {
        let mut tests: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    let main = path.join("main.rs");
                    main.is_file()
                        .then(|| (entry.file_name().to_string_lossy().into_owned(), main))
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let stem = path.file_stem()?.to_string_lossy().into_owned();
                    Some((stem, path))
                } else {
                    None
                }
            })
            .collect();
        tests.sort();
        for (name, file) in tests {
            roots.push(Root {
                file,
                prefixes: vec![format!("{package}::{name}"), name],
            });
        }
    }
    Ok(roots)
}

fn syntax_error(path: &Path, error: &syn::Error) -> SourceError {
    let at = error.span().start();
    SourceError::Syntax {
        path: path.to_owned(),
        line: at.line,
        column: at.column + 1,
        message: format!(
            "this is not valid Rust ({error}); fix the file, or leave it out of `sources.paths`"
        ),
    }
}

/// Where items are: the folder of their `mod x;` files, and whether they are a file's own
/// (not inside an inline module).
#[derive(Clone, Copy)]
struct Place<'p> {
    base: &'p Path,
    top: bool,
}

/// What a walk collects: per file its text and tests; per test its module path.
struct Walk {
    files: Vec<RustFile>,
    found: Vec<Found>,
}

impl Walk {
    fn file(
        &mut self,
        path: &Path,
        modules: &[String],
        prefixes: &[String],
    ) -> Result<(), SourceError> {
        if self.files.iter().any(|file| file.path == path) {
            // Reached twice (two roots include it): its tests answer to the first root's ids.
            return Ok(());
        }
        let text = std::fs::read_to_string(path).map_err(|source| SourceError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file = syn::parse_file(&text).map_err(|error| syntax_error(path, &error))?;
        let index = self.files.len();
        self.files.push(RustFile {
            path: path.to_owned(),
            text: text.clone(),
            tests: Vec::new(),
        });
        // The folder of this module's `mod x;` files.
        let is_dir_owner = path
            .file_name()
            .is_some_and(|name| name == "mod.rs" || name == "lib.rs" || name == "main.rs")
            || modules.is_empty();
        let base = if is_dir_owner {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.with_extension("")
        };
        let lines = Lines::new(&text);
        let place = Place {
            base: &base,
            top: true,
        };
        self.items(index, &file.items, &lines, modules, prefixes, place)
    }

    fn items(
        &mut self,
        file: usize,
        items: &[syn::Item],
        lines: &Lines<'_>,
        modules: &[String],
        prefixes: &[String],
        place: Place<'_>,
    ) -> Result<(), SourceError> {
        let Place { base, top } = place;
        for item in items {
            match item {
                syn::Item::Fn(function) if is_test(&function.attrs) => {
                    self.test(file, function, lines, modules, prefixes);
                }
                syn::Item::Mod(module) => {
                    let mut inner = modules.to_vec();
                    inner.push(module.ident.to_string());
                    match &module.content {
                        Some((_, items)) => {
                            let base = base.join(module.ident.to_string());
                            let place = Place {
                                base: &base,
                                top: false,
                            };
                            self.items(file, items, lines, &inner, prefixes, place)?;
                        }
                        None => {
                            let name = module.ident.to_string();
                            let mut candidates = vec![
                                base.join(format!("{name}.rs")),
                                base.join(&name).join("mod.rs"),
                            ];
                            // `#[path]` outside inline modules: relative to this file's folder.
                            if top && let Some(path) = path_attribute(&module.attrs) {
                                let dir = self.files[file]
                                    .path
                                    .parent()
                                    .unwrap_or(Path::new("."))
                                    .to_path_buf();
                                candidates = vec![dir.join(path)];
                            }
                            if let Some(found) = candidates.iter().find(|path| path.is_file()) {
                                self.file(found, &inner, prefixes)?;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn test(
        &mut self,
        file: usize,
        function: &syn::ItemFn,
        lines: &Lines<'_>,
        modules: &[String],
        prefixes: &[String],
    ) {
        let sig = &function.sig;
        let mut starts = vec![sig.fn_token.span.start()];
        if let syn::Visibility::Public(token) = &function.vis {
            starts.push(token.span.start());
        }
        if let Some(token) = &sig.constness {
            starts.push(token.span.start());
        }
        if let Some(token) = &sig.asyncness {
            starts.push(token.span.start());
        }
        let fn_start = starts
            .into_iter()
            .map(|at| lines.offset(at))
            .min()
            .unwrap_or(0);
        let mut quarantine = None;
        let mut ignored = false;
        for attribute in &function.attrs {
            if !attribute.path().is_ident("ignore") {
                continue;
            }
            let ours = match &attribute.meta {
                syn::Meta::NameValue(pair) => matches!(
                    &pair.value,
                    syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. })
                        if text.value().starts_with(MARK)
                ),
                _ => false,
            };
            if ours {
                let start = lines.offset(attribute.pound_token.span.start());
                let end = lines.offset(attribute.bracket_token.span.close().end());
                quarantine = Some((start, end));
            } else {
                ignored = true;
            }
        }
        let mut path = modules.to_vec();
        path.push(sig.ident.to_string());
        let path = path.join("::");
        let index = self.files[file].tests.len();
        self.files[file].tests.push(TestFn {
            fn_start,
            quarantine,
            ignored,
        });
        let ids: Vec<String> = prefixes
            .iter()
            .map(|prefix| format!("{prefix}::{path}"))
            .collect();
        let text = &self.files[file].text;
        self.found.push(Found {
            path: self.files[file].path.clone(),
            spec: Spec {
                name: ids.first().cloned().unwrap_or_else(|| path.clone()),
                line: super::line_column(text, fn_start).0,
                quarantined: quarantine.is_some(),
            },
            ids,
            index,
            prefixed: false,
        });
    }
}

/// The value of a `#[path = "..."]` attribute.
fn path_attribute(attributes: &[syn::Attribute]) -> Option<String> {
    attributes
        .iter()
        .find_map(|attribute| match &attribute.meta {
            syn::Meta::NameValue(pair) if pair.path.is_ident("path") => match &pair.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(value),
                    ..
                }) => Some(value.value()),
                _ => None,
            },
            _ => None,
        })
}

fn is_test(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        attribute
            .path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "test")
    })
}

impl RustSource {
    /// Finds and parses the crates of the table.
    pub fn load(source: &SourcesConfig) -> Result<RustSource, SourceError> {
        let mut walk = Walk {
            files: Vec::new(),
            found: Vec::new(),
        };
        for manifest in manifests(&source.paths)? {
            for root in roots(&manifest)? {
                walk.file(&root.file, &[], &root.prefixes)?;
            }
        }
        Ok(RustSource {
            files: walk.files,
            found: walk.found,
        })
    }

    fn file(&self, path: &Path) -> Option<&RustFile> {
        self.files.iter().find(|file| file.path == path)
    }
}

impl Parsed for RustSource {
    fn specs(&self) -> &[Found] {
        &self.found
    }

    fn text(&self, path: &Path) -> Option<&str> {
        self.file(path).map(|file| file.text.as_str())
    }

    fn edits(&self, path: &Path, index: usize, action: &Action) -> Result<Vec<Edit>, SourceError> {
        let Some(file) = self.file(path) else {
            return Ok(Vec::new());
        };
        let Some(test) = file.tests.get(index) else {
            return Ok(Vec::new());
        };
        let text = &file.text;
        Ok(match (action, test.quarantine) {
            (
                Action::Quarantine {
                    owner,
                    reason,
                    since,
                },
                None,
            ) if !test.ignored => {
                let message = format!("{MARK}{owner}: {reason} (since {since})");
                vec![Edit::insert(
                    line_start(text, test.fn_start),
                    format!(
                        "{}#[ignore = \"{}\"]\n",
                        indentation(text, test.fn_start),
                        escape::rust(&message)
                    ),
                )]
            }
            (Action::Release, Some((start, end))) => {
                let from = line_start(text, start);
                let to = text[end..]
                    .find('\n')
                    .map_or(text.len(), |index| end + index + 1);
                let alone = text[from..start].trim().is_empty() && text[end..to].trim().is_empty();
                if alone {
                    vec![Edit::remove(from, to)]
                } else {
                    vec![Edit::remove(start, end)]
                }
            }
            _ => Vec::new(),
        })
    }

    fn finish(&self, _path: &Path, _text: &str) -> Result<Vec<Edit>, SourceError> {
        Ok(Vec::new())
    }
}
