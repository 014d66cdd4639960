//! YAML into the spanned tree, through serde-saphyr.
//!
//! serde-saphyr applies anchors, aliases and `<<` merges, rejects duplicate keys, enforces budgets
//! against alias bombs, and gives the byte range of every node through its `Spanned` wrapper. A
//! small visitor turns that into [`Node`]s. Aliased values point at the alias (where the value is
//! used), which is where an author reading a diagnostic looks.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Options, Spanned as SaphyrSpanned};

use super::{MAX_DEPTH, Member, Node, Span, SyntaxError, Value};

/// Parses one YAML document.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    // A byte order mark is not YAML content: parse what follows it and shift the positions back.
    if let Some(body) = text.strip_prefix('\u{feff}') {
        let bom = '\u{feff}'.len_utf8() as u32;
        return match parse(body) {
            Ok(mut node) => {
                shift(&mut node, bom);
                Ok(node)
            }
            Err(mut error) => {
                error.span = Span {
                    start: error.span.start + bom,
                    end: error.span.end + bom,
                };
                Err(error)
            }
        };
    }
    // An empty file (or one holding only comments) is an empty document, reported by the schema.
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    }) {
        return Ok(Node::new(Span::empty_at(0), Value::Null));
    }
    // The deserializer recurses once per nesting level with large frames (about 40 KiB each in
    // debug builds), so parse on a thread whose stack holds MAX_DEPTH levels with room to spare,
    // whatever thread the caller runs on.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("yaml-parser".to_string())
            .stack_size(PARSER_STACK_SIZE)
            .spawn_scoped(scope, || {
                match serde_saphyr::from_str_with_options::<SaphyrSpanned<Tree>>(text, options()) {
                    Ok(tree) => Ok(into_node(text, tree)),
                    Err(error) => Err(syntax_error(text, &error)),
                }
            })
            .map_err(|e| {
                SyntaxError::new(
                    Span::empty_at(0),
                    format!("cannot start the YAML parser: {e}"),
                )
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(SyntaxError::new(
                    Span::empty_at(0),
                    "the YAML parser failed",
                ))
            })
    })
}

const PARSER_STACK_SIZE: usize = 32 * 1024 * 1024;

/// Moves every span of a tree `by` bytes later.
fn shift(node: &mut Node, by: u32) {
    node.span.start += by;
    node.span.end += by;
    match &mut node.value {
        Value::Array(items) => items.iter_mut().for_each(|n| shift(n, by)),
        Value::Object(members) => {
            for member in members {
                member.key_span.start += by;
                member.key_span.end += by;
                shift(&mut member.value, by);
            }
        }
        _ => {}
    }
}

fn options() -> Options {
    let mut options = Options::default();
    let mut budget = options.budget.unwrap_or_default();
    budget.max_depth = MAX_DEPTH;
    options.budget = Some(budget);
    options.with_snippet = false;
    // YAML 1.2 booleans only: `no` (Norway), `y` and `off` stay text.
    options.strict_booleans = true;
    options
}

/// The visitor's intermediate tree: serde-saphyr's spans around each value.
enum Tree {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<SaphyrSpanned<Tree>>),
    Map(Vec<(SaphyrSpanned<Key>, SaphyrSpanned<Tree>)>),
}

/// A mapping key. YAML allows any scalar as a key; the JSON data model needs text, so `1: a` gets the
/// key `"1"`.
struct Key(String);

fn into_node(text: &str, tree: SaphyrSpanned<Tree>) -> Node {
    let mut span = span_of(text, &tree.referenced);
    let value = match tree.value {
        Tree::Null => Value::Null,
        Tree::Bool(b) => Value::Bool(b),
        Tree::Number(n) => Value::Number(n),
        Tree::String(s) => Value::String(s),
        Tree::Seq(items) => Value::Array(items.into_iter().map(|t| into_node(text, t)).collect()),
        Tree::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, value)| Member {
                    key_span: span_of(text, &key.referenced),
                    key: key.value.0,
                    value: into_node(text, value),
                })
                .collect(),
        ),
    };
    // serde-saphyr gives containers an empty span at their start; extend it over the children so a
    // label on a mapping or list marks it rather than one column.
    let last_child_end = match &value {
        Value::Array(items) => items.iter().map(|n| n.span.end).max(),
        Value::Object(members) => members
            .iter()
            .map(|m| m.value.span.end.max(m.key_span.end))
            .max(),
        _ => None,
    };
    if let Some(end) = last_child_end
        && span.is_empty()
        && end > span.start
    {
        span.end = end;
    }
    Node::new(span, value)
}

/// The byte range of a location. serde-saphyr gives byte offsets for nodes; for some parser errors
/// it gives only line and column (in characters), which are converted here.
fn span_of(text: &str, location: &Location) -> Span {
    let span = location.span();
    if let (Some(offset), Some(len)) = (span.byte_offset(), span.byte_len())
        && offset <= text.len() as u64
        && offset + len <= text.len() as u64
    {
        return Span::new(offset as usize, (offset + len) as usize);
    }
    let offset = offset_of_line_column(text, location.line(), location.column());
    let end = text[offset..]
        .chars()
        .next()
        .map_or(offset, |c| offset + c.len_utf8());
    Span::new(offset, end)
}

/// Byte offset of a 1-based line and character column.
fn offset_of_line_column(text: &str, line: u64, column: u64) -> usize {
    let mut offset = 0;
    for _ in 1..line.max(1) {
        match text[offset..].find('\n') {
            Some(i) => offset += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[offset..];
    let line_end = line_text.find('\n').unwrap_or(line_text.len());
    offset
        + line_text[..line_end]
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(line_end, |(i, _)| i)
}

fn syntax_error(text: &str, error: &serde_saphyr::Error) -> SyntaxError {
    let error = error.without_snippet();
    let span = error
        .location()
        .map_or(Span::empty_at(0), |l| span_of(text, &l));
    // Errors raised while replaying an alias are wrapped; the cause is inside.
    let mut cause = error;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = cause
    {
        cause = error;
    }
    if let serde_saphyr::Error::Budget { breach, .. } = cause {
        return SyntaxError::limit(span, describe_breach(breach));
    }
    let rendered = error.to_string();
    let message = strip_location_prefix(&rendered);
    // Advice addressed to programmers using serde-saphyr, not to authors.
    let message = message
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(message);
    // The scanner reports a tab at the start of the scalar it was reading (often the line
    // before); point at the tab itself.
    if message.contains("found a tab")
        && let Some(tab) = text
            .get(span.start as usize..)
            .and_then(|rest| rest.find('\t'))
    {
        let at = span.start + tab as u32;
        let line_start = text[..at as usize].rfind('\n').map_or(0, |i| i + 1);
        let message = if text[line_start..at as usize].trim_matches(' ').is_empty() {
            "a tab indents this line; YAML indents with spaces only".to_string()
        } else {
            message.to_string()
        };
        return SyntaxError::new(Span::new(at as usize, at as usize + 1), message);
    }
    SyntaxError::new(span, message.to_string())
}

/// A budget breach in words: what grew too large, and the likely cause.
fn describe_breach(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Nodes { nodes } => format!(
            "the document expands to more than {} values; aliases that repeat aliases (an alias bomb) do this",
            nodes.saturating_sub(1)
        ),
        B::Depth { depth } => format!(
            "nesting deeper than {} levels",
            depth.saturating_sub(1).min(MAX_DEPTH)
        ),
        B::Aliases { aliases } => format!("more than {} aliases", aliases.saturating_sub(1)),
        B::Anchors { anchors } => format!("more than {} anchors", anchors.saturating_sub(1)),
        B::Events { .. } => "the document is too large to parse".to_string(),
        B::Documents { documents } => {
            format!("{documents} YAML documents in one file; a governance file holds one")
        }
        other => format!("the document exceeds a parser limit ({other:?})"),
    }
}

/// serde-saphyr adds the location to its messages (`error: line N column M: …` or `… at line N,
/// column M`); trustc shows the location separately.
fn strip_location_prefix(message: &str) -> &str {
    let message = message.trim();
    let mut message = message.strip_prefix("error: ").unwrap_or(message);
    if let Some(rest) = message.strip_prefix("line ")
        && let Some(colon) = rest.find(": ")
        && rest[..colon].contains(" column ")
    {
        message = &rest[colon + 2..];
    }
    let message = message.lines().next().unwrap_or("").trim();
    match message.find(" at line ") {
        Some(at) if message[at..].contains(", column ") => &message[..at],
        _ => message,
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tree, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Tree, E> {
        i64::try_from(v)
            .map(|v| Tree::Number(v.into()))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Tree, E> {
        u64::try_from(v)
            .map(|v| Tree::Number(v.into()))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tree, E> {
        serde_json::Number::from_f64(v)
            .map(Tree::Number)
            .ok_or_else(|| E::custom(format!("number {v} cannot be represented in JSON")))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Tree, E> {
        String::from_utf8(v.to_vec())
            .map(Tree::String)
            .map_err(|_| E::custom("binary values are not supported; write the value as text"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Key, E> {
                Ok(Key(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key("null".to_string()))
            }
            fn visit_none<E>(self) -> Result<Key, E> {
                Ok(Key("null".to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_byte_ranges_even_after_non_ascii_text() {
        let text = "a: \"âge_ÿ\"\nb:\n  c: [1, 2.5, true, null]\n";
        let node = parse(text).unwrap();
        let c = node.lookup(&["b", "c", "1"]).unwrap();
        assert_eq!(&text[c.node.span.range()], "2.5");
        let key = node.lookup(&["b"]).unwrap().key_span.unwrap();
        assert_eq!(&text[key.range()], "b");
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": "âge_ÿ", "b": {"c": [1, 2.5, true, null]}})
        );
    }

    #[test]
    fn merges_and_aliases_are_applied() {
        let text = "base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\n";
        let node = parse(text).unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}})
        );
    }

    #[test]
    fn syntax_errors_have_a_position_and_a_plain_message() {
        let text = "a: 1\nb: [1, 2\nc: 3\n";
        let e = parse(text).unwrap_err();
        assert!(!e.message.contains("line "), "{}", e.message);
        assert!(e.span.start >= 5, "{:?}", e.span);
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(e.message.contains("duplicate mapping key"), "{}", e.message);
        assert_eq!(e.span.start, 10);
    }

    #[test]
    fn a_tab_indenting_a_line_is_pointed_at() {
        let text = "a:\n  b: one two\n\tc: 3\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.span.start as usize, text.find('\t').unwrap(), "{e:?}");
        assert!(
            e.message.contains("YAML indents with spaces only"),
            "{}",
            e.message
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.limit, "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(&text).is_err());
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert!(parse(&block).is_err());
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_positions_stay_true() {
        let text = "\u{feff}a: [1, x]\n";
        let node = parse(text).unwrap();
        let x = node.lookup(&["a", "1"]).unwrap();
        assert_eq!(&text[x.node.span.range()], "x");
        let error = parse("\u{feff}a: [1\n").unwrap_err();
        assert!(error.span.start >= 3);
    }

    #[test]
    fn only_yaml_1_2_booleans_are_booleans() {
        let node = parse("country: NO\nswitch: off\nanswer: yes\nflag: true\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"country": "NO", "switch": "off", "answer": "yes", "flag": true})
        );
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(parse("# nothing here\n").unwrap().value, Value::Null);
        assert_eq!(parse("").unwrap().value, Value::Null);
    }
}
