//! The guides stay true to what they describe.
//!
//! **`docs/governance.md` documents every field of `schemas/governance.schema.json`.** The test
//! walks the schema from its root through `properties`, `items`, `additionalProperties` objects
//! and `$ref`s. Every object with `properties` has a place in the file, its path: the root is
//! `governance/*.yaml`, a property adds `.name` (nothing before the first), list items `[]`, the
//! values of a mapping `.<name>` (`credentials[].attributes.<name>`). The convention, stated at
//! the top of the page too:
//!
//! - each object has a section whose heading holds its path in backticks, and no heading of the
//!   page holds a path in backticks that is not an object of the schema;
//! - in it, each property has a table row whose first cell is its name in backticks
//!   (`` | `vct` | ``), with four cells (field, type, required / default, meaning), the meaning
//!   not empty; a property the schema requires says so (its third cell starts with `required`);
//!   every value an `enum` or `const` allows (of the property or of its list items) appears in
//!   its row in backticks;
//! - no row names a property its object does not have;
//! - the `$defs` that are value types (no `properties`: `id`, `text`, `image`, …) each have a row
//!   in the section whose heading is `Value types`, and that section names no other.
//!
//! The test fails once, listing every problem.
//!
//! **Relative links lead somewhere.** Every relative link in `README.md`, `ARCHITECTURE.md` and
//! the Markdown files under `docs/` (outside code blocks) names a file or folder that exists, and
//! its `#anchor`, if any, a heading of that Markdown file (GitHub's slugs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::repo;

/// The path the convention gives the root object of a governance file.
const ROOT: &str = "governance/*.yaml";

/// An object of the schema: its properties and which of them are required.
struct Object {
    fields: BTreeMap<String, Field>,
}

struct Field {
    required: bool,
    /// The values an `enum` or `const` allows, of the property or of its list items.
    values: Vec<String>,
}

/// Walks the schema: every object with `properties` by path, and the value-type `$defs`.
struct Walk<'a> {
    schema: &'a Value,
    objects: BTreeMap<String, Object>,
}

impl<'a> Walk<'a> {
    /// `node` with its `$ref` followed (`#/$defs/name` only).
    fn resolve(&self, node: &'a Value) -> &'a Value {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/$defs/")
                    .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
                self.resolve(&self.schema["$defs"][name])
            }
            None => node,
        }
    }

    fn walk(&mut self, node: &'a Value, path: &str) {
        let node = self.resolve(node);
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            let required: BTreeSet<&str> = node
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut fields = BTreeMap::new();
            for (name, property) in properties {
                let property = self.resolve(property);
                let items = property.get("items").map(|items| self.resolve(items));
                let values = [Some(property), items]
                    .into_iter()
                    .flatten()
                    .flat_map(allowed_values)
                    .collect();
                fields.insert(
                    name.clone(),
                    Field {
                        required: required.contains(name.as_str()),
                        values,
                    },
                );
                let child = if path == ROOT {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                self.walk(property, &child);
            }
            let previous = self.objects.insert(path.to_string(), Object { fields });
            assert!(previous.is_none(), "the schema reaches `{path}` twice");
        }
        if let Some(items) = node.get("items") {
            self.walk(items, &format!("{path}[]"));
        }
        if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
            self.walk(values, &format!("{path}.<name>"));
        }
    }
}

/// The values an `enum` or a `const` of `node` allows, as written in YAML.
fn allowed_values(node: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut values: Vec<String> = node
        .get("enum")
        .and_then(Value::as_array)
        .map(|e| e.iter().map(text).collect())
        .unwrap_or_default();
    values.extend(node.get("const").map(text));
    values
}

/// A Markdown section: its heading and the lines up to the next heading.
struct Section<'a> {
    heading: &'a str,
    lines: Vec<&'a str>,
}

/// The sections of a Markdown text, headings inside code blocks excepted.
fn sections(text: &str) -> Vec<Section<'_>> {
    let mut sections = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            sections.push(Section {
                heading: line,
                lines: Vec::new(),
            });
        } else if let Some(section) = sections.last_mut() {
            section.lines.push(line);
        }
    }
    sections
}

/// The texts in backticks of a line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// The cells of a table row (`\|` is a `|` inside a cell).
fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner
        .replace("\\|", "\u{0}")
        .split('|')
        .map(|cell| cell.trim().replace('\u{0}', "|"))
        .collect()
}

/// The rows of a section whose first cell is a name in backticks, by that name.
fn rows<'a>(section: &Section<'a>) -> BTreeMap<String, (&'a str, Vec<String>)> {
    let mut rows = BTreeMap::new();
    for line in &section.lines {
        if !line.starts_with("| `") {
            continue;
        }
        let cells = cells(line);
        if let Some(name) = cells[0].strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
            rows.insert(name.to_string(), (*line, cells));
        }
    }
    rows
}

#[test]
fn governance_guide_documents_every_field_of_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/governance.schema.json")).unwrap(),
    )
    .unwrap();
    let mut walk = Walk {
        schema: &schema,
        objects: BTreeMap::new(),
    };
    walk.walk(&schema, ROOT);
    let objects = walk.objects;
    let value_types: BTreeSet<&str> = schema["$defs"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, def)| def.get("properties").is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        objects.len() >= 15 && value_types.len() >= 8,
        "the walk found too little: {} objects, {} value types",
        objects.len(),
        value_types.len()
    );

    let guide = std::fs::read_to_string(repo().join("docs/governance.md")).unwrap();
    let sections = sections(&guide);
    let mut problems = Vec::new();

    // Each heading with a path in backticks belongs to that object.
    let mut by_path: BTreeMap<&str, &Section> = BTreeMap::new();
    for section in &sections {
        for span in code_spans(section.heading) {
            if !objects.contains_key(span) {
                problems.push(format!(
                    "the heading {:?} names `{span}`, which is no object of the schema",
                    section.heading
                ));
            } else if by_path.insert(span, section).is_some() {
                problems.push(format!("`{span}` has two sections"));
            }
        }
    }

    for (path, object) in &objects {
        let Some(section) = by_path.get(path.as_str()) else {
            problems.push(format!(
                "`{path}` has no section (a heading with `{path}` in backticks)"
            ));
            continue;
        };
        let rows = rows(section);
        for (name, field) in &object.fields {
            let Some((row, cells)) = rows.get(name) else {
                problems.push(format!("`{path}`: the field `{name}` has no row"));
                continue;
            };
            if cells.len() != 4 || cells[3].is_empty() {
                problems.push(format!(
                    "`{path}`: the row of `{name}` needs four cells (field, type, required / \
                     default, meaning) and a meaning: {row}"
                ));
                continue;
            }
            if field.required && !cells[2].starts_with("required") {
                problems.push(format!(
                    "`{path}`: `{name}` is required, but its row does not say so: {row}"
                ));
            }
            for value in &field.values {
                if !row.contains(&format!("`{value}`")) {
                    problems.push(format!(
                        "`{path}`: the row of `{name}` does not name its allowed value `{value}`"
                    ));
                }
            }
        }
        for name in rows.keys() {
            if !object.fields.contains_key(name) {
                problems.push(format!(
                    "`{path}`: the row `{name}` documents a field the schema does not have"
                ));
            }
        }
    }

    match sections.iter().find(|s| s.heading.ends_with("Value types")) {
        None => problems.push("no `Value types` section".to_string()),
        Some(section) => {
            let rows = rows(section);
            for name in &value_types {
                match rows.get(*name) {
                    None => problems.push(format!("the value type `{name}` has no row")),
                    Some((row, cells)) if cells.len() < 2 || cells[1].is_empty() => {
                        problems.push(format!("the value type `{name}` has no description: {row}"))
                    }
                    Some(_) => {}
                }
            }
            for name in rows.keys() {
                if !value_types.contains(name.as_str()) {
                    problems.push(format!(
                        "`Value types`: the row `{name}` is no value type of the schema"
                    ));
                }
            }
        }
    }

    assert!(
        problems.is_empty(),
        "docs/governance.md is out of step with schemas/governance.schema.json:\n- {}",
        problems.join("\n- ")
    );
}

/// GitHub's anchor for a heading: lowercase, punctuation other than `-` and `_` removed, spaces
/// as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The relative link targets of a Markdown text, outside code blocks.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                links.push(target.to_string());
            }
            rest = &rest[end..];
        }
    }
    links
}

/// `path` with its `.` and `..` components resolved, without asking the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn relative_links_of_the_readme_and_the_guides_lead_somewhere() {
    let root = repo();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    markdown_files(&root.join("docs"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(&root).unwrap().display().to_string();
        for link in relative_links(&text) {
            let (target, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let path = if target.is_empty() {
                file.clone()
            } else {
                normalise(&file.parent().unwrap().join(target))
            };
            checked += 1;
            if !path.exists() {
                problems.push(format!("{shown}: `{link}` leads to no file"));
                continue;
            }
            if anchor.is_empty() || path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let linked = std::fs::read_to_string(&path).unwrap();
            if !sections(&linked).iter().any(|s| slug(s.heading) == anchor) {
                problems.push(format!(
                    "{shown}: `{link}`: {} has no heading with the anchor `#{anchor}`",
                    path.strip_prefix(&root).unwrap_or(&path).display()
                ));
            }
        }
    }
    assert!(
        checked > 30,
        "only {checked} links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "broken relative links:\n- {}",
        problems.join("\n- ")
    );
}
