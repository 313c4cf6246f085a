//! `kind = "ginkgo"`: Go files with Ginkgo v2 specs, parsed with tree-sitter's Go grammar.
//!
//! A spec is a call of `It`, `Specify` or `Entry` (and their `F`/`P`/`X` forms) whose first
//! argument is a string literal; its containers are the calls of `Describe`, `Context`, `When`,
//! `DescribeTable` (and their `F`/`P`/`X` forms) around it, whose text is their first string
//! argument (or the first string argument of a call there, as in KubeVirt's
//! `Describe(SIGSerial("text", func() {...}))`). Its full text is the containers' texts and
//! its own joined with spaces and normalised as ingest normalises names (bracket tags and
//! `[QUARANTINE]` removed, whitespace collapsed); it answers to the test ids `<suite>::<full
//! text>` (Ginkgo's JUnit classname is the suite) and `<full text>`.
//!
//! Quarantine does what KubeVirt's bot does (project-infra `pkg/ginkgo/modify.go`): the spec's
//! description becomes `"[QUARANTINE]<text>"` and `decorators.Quarantine` becomes its first
//! decorator, right after the text; the import of the decorators package
//! (`sources.decorators_import`) is added when the file lacks it. Above the spec's line goes a
//! comment with the owner, reason and day, each written as an escaped Go string. Only the spec
//! itself is marked, as modify.go marks only the leaf: a container whose every spec is
//! quarantined runs none of them under `--label-filter='!QUARANTINE'`, and no setup either.
//! Release removes the marks, the comment, and the import once nothing in the file uses it.

use std::path::{Path, PathBuf};

use tree_sitter::{Node, Parser, Tree};

use super::{Action, Edit, Found, Parsed, SourceError, Spec, escape, indentation, line_start};
use crate::config::SourcesConfig;
use crate::ingest::normalise;

/// The mark prefixed to a quarantined spec's description.
pub const MARK: &str = "[QUARANTINE]";

/// The start of the comment written above a quarantined spec.
pub const NOTE: &str = "// coalmine quarantine:";

const CONTAINERS: &[&str] = &["Describe", "Context", "When", "DescribeTable"];
const LEAVES: &[&str] = &["It", "Specify", "Entry"];

/// Whether `name` is one of `names` or its focused (`F`), pending (`P`) or excluded (`X`) form.
fn is_one_of(name: &str, names: &[&str]) -> bool {
    let bare = name
        .strip_prefix(['F', 'P', 'X'])
        .filter(|rest| names.contains(rest))
        .unwrap_or(name);
    names.contains(&bare)
}

/// One parsed Go file.
struct GoFile {
    path: PathBuf,
    text: String,
    leaves: Vec<Leaf>,
}

/// A spec's call, as found.
struct Leaf {
    /// The byte range of its description's string literal.
    literal: (usize, usize),
    /// Whether the literal is a raw (backquoted) one.
    raw: bool,
    /// The call's start.
    call_start: usize,
    /// The arguments after the description: (start, end, text).
    rest: Vec<(usize, usize, String)>,
    /// The description, decoded.
    text: String,
}

/// The Go files of one `[[sources]]` table with their specs.
pub struct GinkgoSource {
    files: Vec<GoFile>,
    found: Vec<Found>,
    import: String,
}

fn parser() -> Result<Parser, SourceError> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .map_err(|error| SourceError::Syntax {
            path: PathBuf::from("<tree-sitter-go>"),
            line: 1,
            column: 1,
            message: format!("the Go grammar does not load: {error}"),
        })?;
    Ok(parser)
}

fn parse_go(parser: &mut Parser, path: &Path, text: &str) -> Result<Tree, SourceError> {
    let tree = parser
        .parse(text, None)
        .ok_or_else(|| SourceError::Syntax {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "the Go parser gave up on this file".to_owned(),
        })?;
    if tree.root_node().has_error() {
        let at = first_error(tree.root_node()).map_or(0, |node| node.start_byte());
        let (line, column) = super::line_column(text, at);
        return Err(SourceError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: "this is not valid Go (tree-sitter found a syntax error here); fix the \
                      file, or leave it out of `sources.paths`"
                .to_owned(),
        });
    }
    Ok(tree)
}

fn first_error(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children
        .into_iter()
        .filter(|child| child.has_error())
        .find_map(first_error)
}

fn node_text<'t>(node: Node<'_>, text: &'t str) -> &'t str {
    text.get(node.start_byte()..node.end_byte()).unwrap_or("")
}

/// The called function's name: `It`, or `ginkgo.It` as `It` (a method such as `x.When(...)`
/// is no Ginkgo node).
fn callee<'t>(call: Node<'_>, text: &'t str) -> Option<&'t str> {
    let function = call.child_by_field_name("function")?;
    match function.kind() {
        "identifier" => Some(node_text(function, text)),
        "selector_expression"
            if function
                .child_by_field_name("operand")
                .is_some_and(|operand| node_text(operand, text) == "ginkgo") =>
        {
            function
                .child_by_field_name("field")
                .map(|field| node_text(field, text))
        }
        _ => None,
    }
}

fn arguments(call: Node<'_>) -> Vec<Node<'_>> {
    let Some(list) = call.child_by_field_name("arguments") else {
        return Vec::new();
    };
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|node| node.kind() != "comment")
        .collect()
}

/// The value of a Go string literal node, if it is one.
fn string_value(node: Node<'_>, text: &str) -> Option<(String, bool)> {
    let literal = node_text(node, text);
    match node.kind() {
        "raw_string_literal" => Some((
            literal
                .get(1..literal.len().saturating_sub(1))?
                .replace('\r', ""),
            true,
        )),
        "interpreted_string_literal" => Some((
            unquote(literal.get(1..literal.len().saturating_sub(1))?),
            false,
        )),
        _ => None,
    }
}

/// Decodes the inside of an interpreted string literal (the escapes Go has).
fn unquote(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            break;
        };
        let hex = |count: usize, chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let digits: String = (0..count).filter_map(|_| chars.next()).collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
        };
        let decoded = match escape {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'v' => Some('\u{b}'),
            'x' => hex(2, &mut chars),
            'u' => hex(4, &mut chars),
            'U' => hex(8, &mut chars),
            '0'..='7' => {
                let mut value = escape.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    if let Some(digit) = chars.next().and_then(|d| d.to_digit(8)) {
                        value = value * 8 + digit;
                    }
                }
                char::from_u32(value)
            }
            other => Some(other),
        };
        out.extend(decoded);
    }
    out
}

/// A container's text: its first string argument, or that of a call in first place.
fn container_text(call: Node<'_>, text: &str) -> Option<String> {
    let first = *arguments(call).first()?;
    if let Some((value, _)) = string_value(first, text) {
        return Some(value);
    }
    if first.kind() == "call_expression" {
        let inner = *arguments(first).first()?;
        return string_value(inner, text).map(|(value, _)| value);
    }
    None
}

fn walk(node: Node<'_>, text: &str, stack: &mut Vec<String>, out: &mut Vec<(Vec<String>, Leaf)>) {
    let mut pushed = false;
    if node.kind() == "call_expression"
        && let Some(name) = callee(node, text)
    {
        if is_one_of(name, CONTAINERS) {
            if let Some(container) = container_text(node, text) {
                stack.push(container);
                pushed = true;
            }
        } else if is_one_of(name, LEAVES) {
            let args = arguments(node);
            if let Some(first) = args.first()
                && let Some((value, raw)) = string_value(*first, text)
            {
                let mut texts = stack.clone();
                texts.push(value.clone());
                out.push((
                    texts,
                    Leaf {
                        literal: (first.start_byte(), first.end_byte()),
                        raw,
                        call_start: node.start_byte(),
                        rest: args[1..]
                            .iter()
                            .map(|arg| {
                                (
                                    arg.start_byte(),
                                    arg.end_byte(),
                                    node_text(*arg, text).to_owned(),
                                )
                            })
                            .collect(),
                        text: value,
                    },
                ));
            }
        }
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
    for child in children {
        walk(child, text, stack, out);
    }
    if pushed {
        stack.pop();
    }
}

/// The import specs of a file: (path, alias, start, end of the spec, whether in a list).
fn imports(root: Node<'_>, text: &str) -> Vec<ImportSpec> {
    let mut found = Vec::new();
    let mut cursor = root.walk();
    for declaration in root.named_children(&mut cursor) {
        if declaration.kind() != "import_declaration" {
            continue;
        }
        let mut inner = declaration.walk();
        for child in declaration.named_children(&mut inner) {
            let specs: Vec<Node<'_>> = match child.kind() {
                "import_spec" => vec![child],
                "import_spec_list" => {
                    let mut list = child.walk();
                    child
                        .named_children(&mut list)
                        .filter(|node| node.kind() == "import_spec")
                        .collect()
                }
                _ => Vec::new(),
            };
            let in_list = child.kind() == "import_spec_list";
            for spec in specs {
                let Some(path) = spec
                    .child_by_field_name("path")
                    .and_then(|path| string_value(path, text))
                else {
                    continue;
                };
                found.push(ImportSpec {
                    path: path.0,
                    alias: spec
                        .child_by_field_name("name")
                        .map(|name| node_text(name, text).to_owned()),
                    spec: (spec.start_byte(), spec.end_byte()),
                    declaration: (declaration.start_byte(), declaration.end_byte()),
                    in_list,
                });
            }
        }
    }
    found
}

struct ImportSpec {
    path: String,
    alias: Option<String>,
    spec: (usize, usize),
    declaration: (usize, usize),
    in_list: bool,
}

/// The name a file refers to the decorators package by.
fn alias_of(import: &str, specs: &[ImportSpec]) -> String {
    specs
        .iter()
        .find(|spec| spec.path == import)
        .and_then(|spec| spec.alias.clone())
        .filter(|alias| alias != "_" && alias != ".")
        .unwrap_or_else(|| import.rsplit('/').next().unwrap_or("decorators").to_owned())
}

/// Whether any selector `<alias>.X` is in the tree.
fn uses(node: Node<'_>, text: &str, alias: &str) -> bool {
    if node.kind() == "selector_expression"
        && node
            .child_by_field_name("operand")
            .is_some_and(|operand| node_text(operand, text) == alias)
    {
        return true;
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
    children.into_iter().any(|child| uses(child, text, alias))
}

/// The bytes of the whole line(s) holding `start..end`, with the newline after them.
fn whole_lines(text: &str, start: usize, end: usize) -> (usize, usize) {
    let from = line_start(text, start);
    let to = text[end..]
        .find('\n')
        .map_or(text.len(), |index| end + index + 1);
    (from, to)
}

/// Extends a removal of whole lines by one blank line when it would leave two blank lines
/// together, or a blank line before a closing parenthesis.
fn and_a_blank(text: &str, (from, to): (usize, usize)) -> (usize, usize) {
    let before_blank = from >= 2 && text[..from].ends_with("\n\n");
    let rest = &text[to..];
    let next_line = rest.split('\n').next().unwrap_or("");
    let after_blank = rest.starts_with('\n') || rest.is_empty();
    if before_blank && (after_blank || next_line.trim() == ")") {
        (from - 1, to)
    } else {
        (from, to)
    }
}

impl GinkgoSource {
    /// Parses every `.go` file of the table.
    pub fn load(source: &SourcesConfig) -> Result<GinkgoSource, SourceError> {
        let mut parser = parser()?;
        let mut files = Vec::new();
        let mut found = Vec::new();
        for path in super::files(&source.paths, &["go"])? {
            let text = std::fs::read_to_string(&path).map_err(|error| SourceError::Read {
                path: path.clone(),
                source: error,
            })?;
            let tree = parse_go(&mut parser, &path, &text)?;
            let mut leaves = Vec::new();
            walk(tree.root_node(), &text, &mut Vec::new(), &mut leaves);
            let import = &source.decorators_import;
            let alias = alias_of(import, &imports(tree.root_node(), &text));
            let mut kept = Vec::new();
            for (index, (texts, leaf)) in leaves.into_iter().enumerate() {
                let full = normalise(&texts.join(" ")).0;
                let quarantined = leaf.text.starts_with(MARK)
                    || leaf
                        .rest
                        .iter()
                        .any(|(_, _, arg)| *arg == format!("{alias}.Quarantine"));
                found.push(Found {
                    path: path.clone(),
                    spec: Spec {
                        name: full.clone(),
                        line: super::line_column(&text, leaf.call_start).0,
                        quarantined,
                    },
                    ids: vec![full],
                    index,
                    prefixed: true,
                });
                kept.push(leaf);
            }
            files.push(GoFile {
                path,
                text,
                leaves: kept,
            });
        }
        Ok(GinkgoSource {
            files,
            found,
            import: source.decorators_import.clone(),
        })
    }

    fn file(&self, path: &Path) -> Option<&GoFile> {
        self.files.iter().find(|file| file.path == path)
    }
}

impl Parsed for GinkgoSource {
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
        let Some(leaf) = file.leaves.get(index) else {
            return Ok(Vec::new());
        };
        let text = &file.text;
        let mut parser = parser()?;
        let tree = parse_go(&mut parser, path, text)?;
        let alias = alias_of(&self.import, &imports(tree.root_node(), text));
        let decorator = format!("{alias}.Quarantine");
        let (start, end) = leaf.literal;
        let marked = leaf.text.starts_with(MARK);
        let decorated = leaf.rest.iter().position(|(_, _, arg)| *arg == decorator);
        let begins_line = text[line_start(text, leaf.call_start)..leaf.call_start]
            .chars()
            .all(|c| c == ' ' || c == '\t');
        let note = note_above(text, leaf.call_start);
        let mut edits = Vec::new();
        match action {
            Action::Quarantine {
                owner,
                reason,
                since,
            } => {
                if !marked {
                    edits.push(Edit::insert(start + 1, MARK));
                }
                if decorated.is_none() {
                    edits.push(Edit::insert(end, format!(", {decorator}")));
                }
                if begins_line && note.is_none() {
                    edits.push(Edit::insert(
                        line_start(text, leaf.call_start),
                        format!(
                            "{}{NOTE} owner \"{}\", reason \"{}\", since \"{}\"\n",
                            indentation(text, leaf.call_start),
                            escape::go(owner),
                            escape::go(reason),
                            escape::go(&since.to_string()),
                        ),
                    ));
                }
            }
            Action::Release => {
                if marked {
                    let inner = &text[start + 1..end.saturating_sub(1)];
                    // The literal as written starts with the mark (it has no escapes).
                    if inner.starts_with(MARK) || leaf.raw {
                        edits.push(Edit::remove(start + 1, start + 1 + MARK.len()));
                    }
                }
                if let Some(position) = decorated {
                    let (arg_start, arg_end, _) = leaf.rest[position];
                    let previous_end = if position == 0 {
                        end
                    } else {
                        leaf.rest[position - 1].1
                    };
                    let _ = arg_start;
                    edits.push(Edit::remove(previous_end, arg_end));
                }
                if let Some((from, to)) = note {
                    edits.push(Edit::remove(from, to));
                }
            }
        }
        Ok(edits)
    }

    fn finish(&self, path: &Path, text: &str) -> Result<Vec<Edit>, SourceError> {
        let mut parser = parser()?;
        let tree = parse_go(&mut parser, path, text)?;
        let root = tree.root_node();
        let specs = imports(root, text);
        let alias = alias_of(&self.import, &specs);
        let used = uses(root, text, &alias);
        let present = specs.iter().find(|spec| spec.path == self.import);
        Ok(match (used, present) {
            (true, None) => add_import(root, text, &specs, &self.import),
            (false, Some(spec)) => {
                let range = if spec.in_list
                    && specs
                        .iter()
                        .filter(|other| other.declaration == spec.declaration)
                        .count()
                        > 1
                {
                    whole_lines(text, spec.spec.0, spec.spec.1)
                } else {
                    whole_lines(text, spec.declaration.0, spec.declaration.1)
                };
                let (from, to) = and_a_blank(text, range);
                vec![Edit::remove(from, to)]
            }
            _ => Vec::new(),
        })
    }
}

/// The comment line right above a spec's line written by quarantine, as a byte range.
fn note_above(text: &str, call_start: usize) -> Option<(usize, usize)> {
    let line = line_start(text, call_start);
    if line == 0 {
        return None;
    }
    let previous = line_start(text, line - 1);
    text[previous..line]
        .trim_start()
        .starts_with(NOTE)
        .then_some((previous, line))
}

/// The edit adding `import` to a file: into the parenthesised group of imports whose paths
/// share the longest prefix with it, at its sorted place (as gofmt sorts a group); else as an
/// `import "..."` line after the last import declaration, or after the package clause.
fn add_import(root: Node<'_>, text: &str, specs: &[ImportSpec], import: &str) -> Vec<Edit> {
    let line = format!("\"{}\"", escape::go(import));
    let listed: Vec<&ImportSpec> = specs.iter().filter(|spec| spec.in_list).collect();
    if !listed.is_empty() {
        // Groups: runs of specs in one declaration with no blank line between them.
        let mut groups: Vec<Vec<&ImportSpec>> = Vec::new();
        for spec in listed {
            let joined = groups
                .last()
                .and_then(|group| group.last())
                .is_some_and(|last| {
                    last.declaration == spec.declaration
                        && !text[last.spec.1..spec.spec.0].contains("\n\n")
                });
            if joined {
                if let Some(group) = groups.last_mut() {
                    group.push(spec);
                }
            } else {
                groups.push(vec![spec]);
            }
        }
        let shared = |group: &Vec<&ImportSpec>| {
            group
                .iter()
                .map(|spec| {
                    spec.path
                        .chars()
                        .zip(import.chars())
                        .take_while(|(a, b)| a == b)
                        .count()
                })
                .max()
                .unwrap_or(0)
        };
        let mut best = &groups[0];
        for group in &groups {
            if shared(group) >= shared(best) {
                best = group;
            }
        }
        let indent = indentation(text, best[0].spec.0).to_owned();
        return match best.iter().find(|spec| spec.path.as_str() > import) {
            Some(after) => vec![Edit::insert(
                line_start(text, after.spec.0),
                format!("{indent}{line}\n"),
            )],
            None => {
                let last = best[best.len() - 1];
                let (_, to) = whole_lines(text, last.spec.0, last.spec.1);
                vec![Edit::insert(to, format!("{indent}{line}\n"))]
            }
        };
    }
    if let Some(last) = specs.last() {
        let (_, to) = whole_lines(text, last.declaration.0, last.declaration.1);
        return vec![Edit::insert(to, format!("import {line}\n"))];
    }
    let mut cursor = root.walk();
    let package = root
        .named_children(&mut cursor)
        .find(|node| node.kind() == "package_clause");
    let at = package.map_or(0, |node| node.end_byte());
    vec![Edit::insert(at, format!("\n\nimport {line}"))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_strings() {
        assert!(is_one_of("FIt", LEAVES) && is_one_of("Entry", LEAVES));
        assert!(!is_one_of("Fit", LEAVES) && is_one_of("PDescribeTable", CONTAINERS));
        assert_eq!(unquote(r#"a\"b\\c\n\x41\u00e9\101"#), "a\"b\\c\nAéA");
    }
}
