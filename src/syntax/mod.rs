//! Parse stage: YAML and JSON files become one spanned tree, [`Node`].
//!
//! Every later stage needs to say *where* a problem is, so the parsers keep the byte range of every
//! key and value. Both formats produce the same tree, so schema validation, pointer lookups and the
//! typed deserializer ([`de`]) are written once. Positions are byte ranges; line and column are
//! computed only when a diagnostic is printed ([`crate::source::LineIndex`]).

pub mod de;
pub mod json;
pub mod yaml;

pub use de::{DeError, OrderedMap, Spanned, from_node};

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: clamp(start),
            end: clamp(end.max(start)),
        }
    }

    pub fn empty_at(offset: usize) -> Span {
        Span::new(offset, offset)
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One value of a parsed document and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

/// The data model shared by YAML and JSON (the JSON data model; YAML is loaded into it).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// A key and its value inside an object, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// A segment of a path into a document, as JSON Schema and the checks use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment<'a> {
    Key(&'a str),
    Index(usize),
}

impl Node {
    pub fn new(span: Span, value: Value) -> Node {
        Node { span, value }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.value {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The member named `key`, when this node is an object.
    pub fn member(&self, key: &str) -> Option<&Member> {
        self.as_object()?.iter().find(|m| m.key == key)
    }

    /// The value of member `key`, when this node is an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.member(key).map(|m| &m.value)
    }

    /// A short name of the node's type, as a user reads it in a message.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Follows a JSON pointer (`/a/0/b`, already split and unescaped) and returns the node and,
    /// when the last step was an object member, the span of its key.
    ///
    /// Each segment is read as text and interpreted by the kind of node it meets, so an object key
    /// `"2024"` is found as a key and not mistaken for an array index.
    pub fn lookup<'a, S: AsRef<str>>(&'a self, segments: &[S]) -> Option<Located<'a>> {
        let mut node = self;
        let mut key_span = None;
        for segment in segments {
            let segment = segment.as_ref();
            match &node.value {
                Value::Object(members) => {
                    let member = members.iter().rev().find(|m| m.key == segment)?;
                    key_span = Some(member.key_span);
                    node = &member.value;
                }
                Value::Array(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    key_span = None;
                }
                _ => return None,
            }
        }
        Some(Located { node, key_span })
    }

    /// Converts to a `serde_json::Value` (for JSON Schema validation). Later duplicate keys win, as
    /// in serde_json; the parsers report duplicates before this is called.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|m| (m.key.clone(), m.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A node found by [`Node::lookup`].
#[derive(Clone, Copy, Debug)]
pub struct Located<'a> {
    pub node: &'a Node,
    /// The key naming the node, when it is an object member.
    pub key_span: Option<Span>,
}

impl Located<'_> {
    /// The span a label should point at: the key for a member (short, and present even when the value
    /// is a large block), else the value.
    pub fn label_span(&self) -> Span {
        self.key_span.unwrap_or(self.node.span)
    }
}

/// Why a file could not be parsed, with the byte range to point at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
    /// The parser refused the input because it is too large or too deeply nested, rather than
    /// because it is malformed.
    pub limit: bool,
}

impl SyntaxError {
    pub fn new(span: Span, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            span,
            message: message.into(),
            limit: false,
        }
    }

    pub fn limit(span: Span, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            span,
            message: message.into(),
            limit: true,
        }
    }
}

/// Deepest nesting accepted in any input. Real governance files and OCA bundles nest fewer than ten
/// levels; the limit keeps recursion bounded on hostile input.
pub const MAX_DEPTH: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_treats_numeric_keys_as_keys() {
        let node = json::parse(r#"{"2024": {"a": [1, {"b": true}]}}"#).unwrap();
        let found = node.lookup(&["2024", "a", "1", "b"]).unwrap();
        assert_eq!(found.node.value, Value::Bool(true));
        assert!(found.key_span.is_some());
        assert!(node.lookup(&["2024", "a", "9"]).is_none());
        assert!(node.lookup(&["missing"]).is_none());
    }
}
