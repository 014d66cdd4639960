//! Schema stage: JSON Schema validation of every input file, mapped back to file positions.
//!
//! The schemas (`schemas/*.json`) are embedded in the binary. They are the single definition of
//! each format's shape: editors use the governance schema for completion (`trustc schema`), and
//! trustc uses the same files here. Each error becomes a coded diagnostic pointing at the offending
//! key or value, with the schema's `description` as the help line, so the schema documents itself.
//! Later stages never run on a file that failed here.

use std::sync::LazyLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value as Json;
use trustc_artifact::values::quoted_list;

use crate::diag::{Code, FileDiagnostics};
use crate::syntax::{Node, Value};

/// An embedded JSON Schema and its compiled validator.
pub struct Schema {
    pub name: &'static str,
    pub json: Json,
    validator: jsonschema::Validator,
}

impl Schema {
    fn load(name: &'static str, text: &'static str) -> Schema {
        let json: Json = serde_json::from_str(text).expect("embedded schema is valid JSON");
        let validator = jsonschema::options()
            .build(&json)
            .expect("embedded schema compiles");
        Schema {
            name,
            json,
            validator,
        }
    }
}

/// The governance framework format (`governance/*.yaml`).
pub static GOVERNANCE: LazyLock<Schema> = LazyLock::new(|| {
    Schema::load(
        "governance",
        include_str!("../schemas/governance.schema.json"),
    )
});

/// An Aries OCA 1.0 bundle (`OCABundle.json`).
pub static OCA_BUNDLE: LazyLock<Schema> = LazyLock::new(|| {
    Schema::load(
        "oca-bundle",
        include_str!("../schemas/oca-bundle.schema.json"),
    )
});

/// The wallet index (`ocabundles.json`).
pub static OCA_INDEX: LazyLock<Schema> = LazyLock::new(|| {
    Schema::load(
        "oca-index",
        include_str!("../schemas/oca-index.schema.json"),
    )
});

/// The OCA Explorer list (`ocabundleslist.json`).
pub static OCA_INDEX_LIST: LazyLock<Schema> = LazyLock::new(|| {
    Schema::load(
        "oca-index-list",
        include_str!("../schemas/oca-index-list.schema.json"),
    )
});

/// The text of the governance schema, as `trustc schema` prints it.
pub const GOVERNANCE_SCHEMA_TEXT: &str = include_str!("../schemas/governance.schema.json");

/// The JSON Schema of the compiled issuer configuration (`issuer/config.json`), derived from the
/// types in the `trustc-artifact` crate; a test keeps the committed file equal to the derivation.
pub const ISSUER_CONFIG_SCHEMA_TEXT: &str = include_str!("../schemas/issuer-config.schema.json");

/// Derives the issuer configuration's JSON Schema from its types.
pub fn derive_issuer_config_schema() -> String {
    let schema = schemars::schema_for!(trustc_artifact::IssuerConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialise");
    text.push('\n');
    text
}

/// Validates `node` against `schema`, reporting every violation. Returns whether it is valid.
pub fn validate(schema: &Schema, node: &Node, sink: &mut FileDiagnostics) -> bool {
    validate_shown(schema, node, None, sink)
}

/// Validates one entry of a large index on its own: `skeleton` is the top level holding only
/// that entry (the member of an object, or the one item of an array, which is item `index` of
/// the file), so that messages and positions are those of the whole file while the rest of it
/// is never held in memory.
pub fn validate_entry(
    schema: &Schema,
    skeleton: &Node,
    index: Option<usize>,
    sink: &mut FileDiagnostics,
) -> bool {
    validate_shown(schema, skeleton, index, sink)
}

fn validate_shown(
    schema: &Schema,
    node: &Node,
    item_index: Option<usize>,
    sink: &mut FileDiagnostics,
) -> bool {
    let json = node.to_json();
    // Most files are valid: the quick verdict first, the errors only when there are some.
    if schema.validator.is_valid(&json) {
        return true;
    }
    for error in schema.validator.iter_errors(&json) {
        let path = split_pointer(error.instance_path().as_str());
        let message = shortened(&error.to_string(), error.instance());
        let mut shown = path.clone();
        if let (Some(index), Some(first)) = (item_index, shown.first_mut()) {
            *first = index.to_string();
        }
        report(schema, node, &path, &shown, error.kind(), &message, sink);
    }
    false
}

fn report(
    schema: &Schema,
    root: &Node,
    path: &[String],
    shown: &[String],
    kind: &ValidationErrorKind,
    fallback: &str,
    sink: &mut FileDiagnostics,
) {
    let located = root.lookup(path);
    let span = located.map_or(root.span, |l| l.label_span());
    let value_span = located.map_or(root.span, |l| l.node.span);
    let place = describe_path(shown);
    let help = schema_help(&schema.json, path);
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let allowed = allowed_keys(&schema.json, path, located.map(|l| l.node));
            for key in unexpected {
                let key_span = located
                    .and_then(|l| l.node.member(key))
                    .map_or(span, |m| m.key_span);
                let suggestion = closest(key, &allowed);
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if allowed.is_empty() => "remove this key".to_string(),
                    None => format!("allowed keys here: {}", quoted_list(&allowed)),
                };
                sink.report(
                    Code::UnknownKey,
                    key_span,
                    format!("unknown key `{key}` in {place}"),
                    "not defined by the format",
                    help,
                );
            }
        }
        ValidationErrorKind::FalseSchema => {
            let key = path.last().map_or("", String::as_str);
            let parent = describe_path(&shown[..shown.len().saturating_sub(1)]);
            sink.report(
                Code::UnknownKey,
                span,
                format!("key `{key}` is not allowed in {parent} here"),
                "not allowed together with the other keys",
                "remove this key; the description of the enclosing object says which keys go together",
            );
        }
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            let mut property_path = path.to_vec();
            property_path.push(property.to_string());
            let help = schema_help(&schema.json, &property_path)
                .unwrap_or_else(|| format!("add `{property}`"));
            sink.report(
                Code::MissingKey,
                span,
                format!("missing required key `{property}` in {place}"),
                format!("`{property}` is required here"),
                help,
            );
        }
        ValidationErrorKind::Type { kind } => {
            let found = located.map_or("nothing", |l| l.node.kind_name());
            let expected = describe_type(kind);
            let mut help = help.unwrap_or_else(|| format!("write {expected} here"));
            // YAML reads unquoted `1.0`, `true` or `2024-01-01`-like values as other types.
            let written = sink.file.text.get(value_span.range()).unwrap_or("").trim();
            let rest_of_line = sink.file.text[value_span.start as usize..]
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches([':', ' ', '\t']);
            if located.is_some_and(|l| l.node.value == Value::Null) && rest_of_line.starts_with('#')
            {
                help = format!(
                    "`#` starts a comment in YAML, so this value is empty; put it in quotes: `\"{}\"`",
                    rest_of_line.split_whitespace().next().unwrap_or("#")
                );
            } else if expected.starts_with("a string")
                && located
                    .is_some_and(|l| matches!(l.node.value, Value::Number(_) | Value::Bool(_)))
                && !written.is_empty()
            {
                help = format!(
                    "put it in quotes, `\"{written}\"`: unquoted, YAML reads it as {found}. {help}"
                );
            }
            sink.report(
                Code::WrongType,
                value_span,
                format!("expected {expected} for {place}, found {found}"),
                format!("expected {expected}"),
                help,
            );
        }
        ValidationErrorKind::Enum { options } => {
            let options = options
                .as_array()
                .map(|o| o.iter().map(display_json).collect::<Vec<_>>())
                .unwrap_or_default();
            let found = located.map_or(String::new(), |l| display_json(&l.node.to_json()));
            let suggestion = closest(found.trim_matches('`'), &options_unticked(&options));
            let mut help = format!("allowed values: {}", options.join(", "));
            if let Some(s) = suggestion {
                help = format!("did you mean `{s}`? {help}");
            }
            sink.report(
                Code::InvalidValue,
                value_span,
                format!("{found} is not an allowed value for {place}"),
                "not allowed here",
                help,
            );
        }
        ValidationErrorKind::Constant { expected_value } => {
            let expected = display_json(expected_value);
            sink.report(
                Code::InvalidValue,
                value_span,
                format!("{place} must be {expected}"),
                format!("expected {expected}"),
                help.unwrap_or_else(|| format!("write {expected}")),
            );
        }
        _ => {
            let message = fallback.replace('"', "`");
            sink.report(
                Code::InvalidValue,
                value_span,
                format!("invalid value for {place}: {message}"),
                "invalid value",
                help.unwrap_or_else(|| "see `trustc explain invalid-value`".to_string()),
            );
        }
    }
}

/// jsonschema's message with the instance it quotes (which can be a whole document: a file
/// holding two bundles is "[{…400 KB…}] has more than 1 item") shortened to what it is.
fn shortened(message: &str, instance: &Json) -> String {
    const LONGEST: usize = 80;
    let quoted = instance.to_string();
    if quoted.len() <= LONGEST {
        return message.to_string();
    }
    let Some(rest) = message.strip_prefix(&quoted) else {
        return message.to_string();
    };
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let short = match instance {
        Json::Array(items) => format!("a list of {}", plural(items.len(), "item")),
        Json::Object(members) => format!("a mapping of {}", plural(members.len(), "key")),
        Json::String(text) => {
            let cut: String = text.chars().take(40).collect();
            format!("\"{cut}…\" ({} characters)", text.chars().count())
        }
        other => other.to_string(),
    };
    format!("{short}{rest}")
}

/// Splits a JSON pointer into unescaped segments.
fn split_pointer(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// `credentials[0].attributes.given_names`, or `the top level`, in backticks.
pub fn describe_path(path: &[String]) -> String {
    if path.is_empty() {
        return "the top level".to_string();
    }
    let mut out = String::new();
    for segment in path {
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    format!("`{out}`")
}

fn describe_type(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let name = |t: &jsonschema::JsonType| {
        match t.to_string().as_str() {
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean (true or false)",
            "null" => "null",
            _ => "a value",
        }
        .to_string()
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| name(&t)).collect();
            names.join(" or ")
        }
    }
}

fn display_json(value: &Json) -> String {
    match value {
        Json::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn options_unticked(options: &[String]) -> Vec<String> {
    options
        .iter()
        .map(|o| o.trim_matches('`').to_string())
        .collect()
}

/// Follows a local `$ref` (`#/$defs/x`).
fn resolve<'a>(root: &'a Json, mut node: &'a Json) -> &'a Json {
    for _ in 0..16 {
        match node.get("$ref").and_then(Json::as_str) {
            Some(reference) => match reference.strip_prefix('#') {
                Some(pointer) => match root.pointer(pointer) {
                    Some(target) => node = target,
                    None => return node,
                },
                None => return node,
            },
            None => return node,
        }
    }
    node
}

/// The schema node describing the instance at `path`, and its own description (which may sit
/// beside a `$ref`).
fn schema_at<'a>(root: &'a Json, path: &[String]) -> Option<(&'a Json, Option<&'a str>)> {
    let mut node = root;
    let mut description = node.get("description").and_then(Json::as_str);
    for segment in path {
        let resolved = resolve(root, node);
        let next = resolved
            .get("properties")
            .and_then(|p| p.get(segment))
            .or_else(|| {
                // Properties declared in `if`/`then` branches (OCA overlay types).
                resolved
                    .get("allOf")
                    .and_then(Json::as_array)
                    .and_then(|all| {
                        all.iter()
                            .find_map(|b| b.get("then")?.get("properties")?.get(segment))
                            .filter(|n| !n.is_boolean())
                    })
            })
            .or_else(|| {
                if segment.parse::<usize>().is_ok() {
                    resolved.get("items")
                } else {
                    None
                }
            })
            .or_else(|| {
                resolved
                    .get("additionalProperties")
                    .filter(|a| a.is_object())
            })?;
        description = next
            .get("description")
            .or_else(|| resolve(root, next).get("description"))
            .and_then(Json::as_str);
        node = next;
    }
    Some((resolve(root, node), description))
}

/// The description of the schema node at `path`, used as a diagnostic's help line.
fn schema_help(root: &Json, path: &[String]) -> Option<String> {
    schema_at(root, path).and_then(|(_, d)| d.map(str::to_string))
}

/// The keys the schema defines for the object at `path`. Keys declared in `if`/`then` branches
/// (the OCA overlay types) count only when the branch applies to `instance`.
fn allowed_keys(root: &Json, path: &[String], instance: Option<&Node>) -> Vec<String> {
    let Some((node, _)) = schema_at(root, path) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = node
        .get("properties")
        .and_then(Json::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let instance = instance.map(Node::to_json);
    for branch in node
        .get("allOf")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let applies = match (branch.get("if"), &instance) {
            (Some(condition), Some(instance)) => jsonschema::is_valid(condition, instance),
            _ => true,
        };
        let properties = branch
            .get("then")
            .and_then(|t| t.get("properties"))
            .and_then(Json::as_object);
        if let (true, Some(properties)) = (applies, properties) {
            for key in properties.keys() {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
    }
    keys
}

/// The allowed word closest to `word`, if it is close enough to be a likely typo.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schemas_compile() {
        for schema in [&*GOVERNANCE, &*OCA_BUNDLE, &*OCA_INDEX, &*OCA_INDEX_LIST] {
            assert!(!schema.name.is_empty());
        }
    }

    #[test]
    fn help_comes_from_descriptions_beside_refs() {
        let path: Vec<String> = ["framework", "version"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let help = schema_help(&GOVERNANCE.json, &path).unwrap();
        assert!(help.contains("semantic versioning"), "{help}");
        let path: Vec<String> = ["credentials", "0", "attributes", "x", "disclosure"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(
            schema_help(&GOVERNANCE.json, &path)
                .unwrap()
                .contains("Selective disclosure")
        );
    }

    #[test]
    fn typos_get_suggestions() {
        let keys = allowed_keys(&GOVERNANCE.json, &["framework".to_string()], None);
        assert_eq!(closest("verison", &keys).as_deref(), Some("version"));
        assert_eq!(closest("zzzzzz", &keys), None);
    }

    #[test]
    fn paths_read_like_the_file() {
        let path: Vec<String> = ["credentials", "0", "attributes", "name"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(describe_path(&path), "`credentials[0].attributes.name`");
        assert_eq!(describe_path(&[]), "the top level");
        let path: Vec<String> = ["0", "overlays", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(describe_path(&path), "`[0].overlays[1]`");
    }
}

#[cfg(test)]
mod issuer_config_schema_tests {
    /// Run with `TRUSTC_UPDATE_SCHEMAS=1` after changing the artifact types.
    #[test]
    fn the_committed_issuer_config_schema_is_derived_from_the_types() {
        let derived = super::derive_issuer_config_schema();
        if std::env::var_os("TRUSTC_UPDATE_SCHEMAS").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/schemas/issuer-config.schema.json"
            );
            std::fs::write(path, &derived).unwrap();
            return;
        }
        assert!(
            derived == super::ISSUER_CONFIG_SCHEMA_TEXT,
            "schemas/issuer-config.schema.json is out of date: run \
             `TRUSTC_UPDATE_SCHEMAS=1 cargo test --lib issuer_config_schema` and commit it"
        );
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn long_quoted_instances_are_shortened_to_what_they_are() {
        let two = serde_json::json!([{"a": "x".repeat(200)}, {"b": 1}]);
        let message = format!("{two} has more than 1 item");
        assert_eq!(
            shortened(&message, &two),
            "a list of 2 items has more than 1 item"
        );
        let long = Json::String("é".repeat(100));
        assert!(
            shortened(&format!("{long} is too long"), &long)
                .ends_with("(100 characters) is too long")
        );
        let small = serde_json::json!([1, 2]);
        assert_eq!(
            shortened("[1,2] has more than 1 item", &small),
            "[1,2] has more than 1 item"
        );
    }
}
