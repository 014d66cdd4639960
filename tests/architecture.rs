//! The boundaries ARCHITECTURE.md states, kept by a test rather than by memory: reading the
//! source, it fails naming the file and the line that crosses one.
//!
//! - No import circles between the top-level modules of a crate (`src/`, `runtime/src/`): a
//!   module that names `crate::other` depends on it, and the dependencies form no cycle.
//! - The runtime's layers: `http` knows the wire, `domain` the rules, `store` the SQL. The domain
//!   names no HTTP type and no SQL, `http` reaches the store only through the domain, and nothing
//!   below `http` depends on it; only `store` names the database crates.
//! - The artifact contract (`artifact/`) depends on nothing of the compiler or the runtime.
//!
//! Comments are left out of what is read (a doc comment may name anything). The test reads
//! `use` paths and qualified paths alike (`crate::store::Store`, `crate::{domain, store}`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::repo;

/// A crate's source: each top-level module (a `name.rs` or a `name/` folder beside `lib.rs`)
/// with its files' code, comments removed.
struct Crate {
    modules: BTreeMap<String, Vec<(PathBuf, String)>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut modules: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
        for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
            let entry = entry.expect("the source tree is readable");
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            let code: String = text
                .lines()
                .map(|line| match line.trim_start().starts_with("//") {
                    true => "",
                    false => line,
                })
                .collect::<Vec<_>>()
                .join("\n");
            modules
                .entry(module)
                .or_default()
                .push((path.to_path_buf(), code));
        }
        Crate { modules }
    }

    /// The top-level modules `module` names through `crate::…`.
    fn dependencies(&self, module: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (_, code) in &self.modules[module] {
            for (_, name) in crate_paths(code) {
                if name != module && self.modules.contains_key(&name) {
                    found.insert(name);
                }
            }
        }
        found
    }

    /// Where `module` names `crate::target`: `file:line` for each.
    fn uses(&self, module: &str, target: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (path, code) in &self.modules[module] {
            for (line, name) in crate_paths(code) {
                if name == target {
                    found.push(format!("{}:{line}", shown(path)));
                }
            }
        }
        found
    }

    /// Lines of `module` whose code contains one of `words` (as a path or identifier).
    fn mentions(&self, module: &str, words: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for (path, code) in &self.modules[module] {
            for (i, line) in code.lines().enumerate() {
                if let Some(word) = words.iter().find(|w| contains_word(line, w)) {
                    found.push(format!("{}:{}: `{word}`", shown(path), i + 1));
                }
            }
        }
        found
    }
}

/// Each `crate::name` (also inside `crate::{a, b::c}`) of `code`, with its line number.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let single = regex::Regex::new(r"\bcrate::([a-z_][a-z0-9_]*)").unwrap();
    let group = regex::Regex::new(r"\bcrate::\{([^}]*)\}").unwrap();
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        for captures in single.captures_iter(line) {
            found.push((i + 1, captures[1].to_string()));
        }
        for captures in group.captures_iter(line) {
            for item in captures[1].split(',') {
                let name = item.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    found.push((i + 1, name.to_string()));
                }
            }
        }
    }
    found
}

fn contains_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

fn shown(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The cycles of the module graph, each as `a → b → … → a` with where each step is made.
fn cycles(krate: &Crate) -> Vec<String> {
    let graph: BTreeMap<String, BTreeSet<String>> = krate
        .modules
        .keys()
        .map(|m| (m.clone(), krate.dependencies(m)))
        .collect();
    let mut found = Vec::new();
    // A cycle through `start` whose other modules all sort after it: each cycle once.
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(&graph, start, &mut path, &mut found);
    }
    found
        .into_iter()
        .map(|cycle: Vec<String>| {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    format!(
                        "{} → {} ({})",
                        pair[0],
                        pair[1],
                        krate.uses(&pair[0], &pair[1]).join(", ")
                    )
                })
                .collect();
            steps.join("; ")
        })
        .collect()
}

fn walk(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
    found: &mut Vec<Vec<String>>,
) {
    let last = path.last().unwrap().clone();
    for next in &graph[&last] {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(start.to_string());
            found.push(cycle);
        } else if next.as_str() > start && !path.contains(next) {
            path.push(next.clone());
            walk(graph, start, path, found);
            path.pop();
        }
    }
}

#[test]
fn no_import_circles_between_modules() {
    for src in ["src", "runtime/src"] {
        let krate = Crate::read(&repo().join(src));
        assert!(
            krate.modules.len() > 5,
            "{src} has its modules ({:?})",
            krate.modules.keys()
        );
        let found = cycles(&krate);
        assert!(
            found.is_empty(),
            "modules of {src} import each other:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_runtime_layers_keep_to_themselves() {
    let runtime = Crate::read(&repo().join("runtime/src"));
    let wire = [
        "axum",
        "hyper",
        "hyper_util",
        "tower",
        "tower_http",
        "StatusCode",
        "HeaderMap",
    ];
    let sql = ["sqlx", "rusqlite"];
    let mut crossings = Vec::new();
    for module in runtime.modules.keys() {
        if module != "http" {
            crossings.extend(runtime.mentions(module, &wire));
            crossings.extend(runtime.uses(module, "http"));
        }
        if module != "store" {
            crossings.extend(runtime.mentions(module, &sql));
        }
    }
    crossings.extend(runtime.uses("store", "domain"));
    crossings.extend(runtime.uses("http", "store"));
    crossings.sort();
    crossings.dedup();
    assert!(
        crossings.is_empty(),
        "the runtime's layers are crossed (http → domain → store; only http names the wire, only \
         store the database):\n{}",
        crossings.join("\n")
    );
    // The test reads what it should: the layers exist and depend as stated.
    assert!(runtime.dependencies("http").contains("domain"));
    assert!(runtime.dependencies("domain").contains("store"));
}

#[test]
fn the_artifact_contract_depends_on_nothing_of_trustc() {
    let manifest = std::fs::read_to_string(repo().join("artifact/Cargo.toml")).unwrap();
    let offending: Vec<&str> = manifest
        .lines()
        .filter(|l| l.contains("path =") || l.starts_with("trustc"))
        .collect();
    assert!(
        offending.is_empty(),
        "artifact/Cargo.toml depends on a crate of this repository: {offending:?}"
    );
    let compiler_path = regex::Regex::new(r"\btrustc(_runtime|_testkit)?::").unwrap();
    let mut crossings = Vec::new();
    for entry in walkdir::WalkDir::new(repo().join("artifact/src")) {
        let path = entry.unwrap().into_path();
        if path.extension().is_some_and(|e| e == "rs") {
            let code = std::fs::read_to_string(&path).unwrap();
            for (i, line) in code.lines().enumerate() {
                if !line.trim_start().starts_with("//") && compiler_path.is_match(line) {
                    crossings.push(format!("{}:{}", shown(&path), i + 1));
                }
            }
        }
    }
    assert!(crossings.is_empty(), "{crossings:?}");
}
