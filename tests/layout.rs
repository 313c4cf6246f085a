//! The source layout keeps its architecture: no module imports a sibling that imports it back
//! (directly or round a longer loop), and `src/` holds at most four loose modules besides
//! `lib.rs` and `main.rs` (the rest live in the folders of the two halves).
//!
//! Imports are read from the source text: every `crate::…` and `super::…` path outside comments
//! and outside `#[cfg(test)] mod tests` blocks, resolved to the longest module it names. A path
//! from `a::x` to `b::y` is an edge between the siblings `a` and `b`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module of the library with its source text (test modules left out).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            match module.last().map(String::as_str) {
                Some("main") if module.len() == 1 => continue,
                Some("tests") => continue,
                Some("mod" | "lib") => {
                    module.pop();
                }
                _ => {}
            }
            let mut text = std::fs::read_to_string(&path).unwrap();
            if let Some(tests) = text.find("#[cfg(test)]\nmod tests {") {
                text.truncate(tests);
            }
            found.insert(module, text);
        }
    }
    found
}

/// The module a path names, from inside `from`: the longest module prefix of it.
fn resolve(modules: &BTreeMap<Module, String>, from: &Module, path: &str) -> Option<Module> {
    let mut parts = path.split("::").peekable();
    let mut base: Module = match parts.peek() {
        Some(&"crate") => {
            parts.next();
            Vec::new()
        }
        Some(&"super") => {
            let mut base = from.clone();
            while parts.peek() == Some(&"super") {
                parts.next();
                base.pop();
            }
            base
        }
        _ => return None,
    };
    let mut best = modules.contains_key(&base).then(|| base.clone());
    for part in parts {
        base.push(part.to_owned());
        if modules.contains_key(&base) {
            best = Some(base.clone());
        }
    }
    best
}

/// The edges between sibling modules, each with one line that makes it.
fn sibling_edges(modules: &BTreeMap<Module, String>) -> BTreeMap<(Module, Module), String> {
    let path =
        regex::Regex::new(r"\b((?:crate|super)(?:::[A-Za-z_][A-Za-z0-9_]*)*)(?:::\{([^}]*)\})?")
            .unwrap();
    let mut edges = BTreeMap::new();
    for (module, text) in modules {
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for found in path.captures_iter(code) {
                let head = found.get(1).unwrap().as_str();
                let mut paths = vec![head.to_owned()];
                if let Some(group) = found.get(2) {
                    for item in group.as_str().split(',') {
                        let item = item.split_whitespace().next().unwrap_or("");
                        let item = item.split("::").next().unwrap_or("");
                        if !item.is_empty() && item != "self" {
                            paths.push(format!("{head}::{item}"));
                        }
                    }
                }
                for path in paths {
                    let Some(target) = resolve(modules, module, &path) else {
                        continue;
                    };
                    let common = module
                        .iter()
                        .zip(&target)
                        .take_while(|(a, b)| a == b)
                        .count();
                    // An ancestor or a descendant is not a sibling.
                    if common == module.len() || common == target.len() {
                        continue;
                    }
                    edges
                        .entry((module[..=common].to_vec(), target[..=common].to_vec()))
                        .or_insert_with(|| format!("{}: {}", module.join("::"), code.trim()));
                }
            }
        }
    }
    edges
}

/// The strongly connected groups of more than one module (Tarjan's algorithm).
fn cycles(edges: &BTreeMap<(Module, Module), String>) -> Vec<BTreeSet<Module>> {
    struct State<'a> {
        graph: BTreeMap<&'a Module, Vec<&'a Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        found: Vec<BTreeSet<Module>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a Module) {
        let index = state.index.len();
        state.index.insert(node, index);
        state.low.insert(node, index);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state.graph.get(node).cloned().unwrap_or_default() {
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut group = BTreeSet::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                group.insert(member.clone());
                if member == node {
                    break;
                }
            }
            if group.len() > 1 {
                state.found.push(group);
            }
        }
    }
    let mut state = State {
        graph: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for (from, to) in edges.keys() {
        state.graph.entry(from).or_default().push(to);
    }
    let nodes: Vec<&Module> = state.graph.keys().copied().collect();
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    assert!(modules.len() > 40, "found only {} modules", modules.len());
    let edges = sibling_edges(&modules);
    let mut report = String::new();
    for group in cycles(&edges) {
        report.push_str("import cycle between ");
        let names: Vec<String> = group.iter().map(|module| module.join("::")).collect();
        report.push_str(&names.join(", "));
        report.push('\n');
        for ((from, to), line) in &edges {
            if group.contains(from) && group.contains(to) {
                report.push_str(&format!(
                    "  {} -> {}  ({line})\n",
                    from.join("::"),
                    to.join("::")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let module = |name: &str| vec![name.to_owned()];
    let mut edges = BTreeMap::new();
    edges.insert((module("a"), module("b")), String::new());
    edges.insert((module("b"), module("c")), String::new());
    edges.insert((module("c"), module("a")), String::new());
    edges.insert((module("c"), module("d")), String::new());
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0],
        BTreeSet::from([module("a"), module("b"), module("c")])
    );
    // And the reader sees `use super::{x, y}` as two imports.
    let mut modules = BTreeMap::new();
    for name in ["", "p", "p::x", "p::y", "p::z"] {
        let module: Module = name
            .split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        modules.insert(module, String::new());
    }
    modules.insert(
        vec!["p".to_owned(), "z".to_owned()],
        "use super::{x::Thing, y};\n// use super::w;\n".to_owned(),
    );
    let edges = sibling_edges(&modules);
    let targets: Vec<String> = edges.keys().map(|(_, to)| to.join("::")).collect();
    assert_eq!(targets, ["p::x", "p::y"]);
}

#[test]
fn src_holds_at_most_four_loose_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let loose: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs") && name != "lib.rs" && name != "main.rs")
        .collect();
    assert!(
        loose.len() <= 4,
        "src/ holds {} loose modules ({loose:?}): put them in the folder of the half they serve",
        loose.len()
    );
}
