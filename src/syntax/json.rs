//! A strict JSON (RFC 8259) parser that keeps the byte range of every key and value.
//!
//! serde_json does not report positions of values, and OCA bundles need them (a digest that does not
//! verify is reported at its line). This parser is written for that: recursive descent bounded by
//! [`MAX_DEPTH`], duplicate keys reported (the digest of an object with two `digest` keys is
//! ambiguous), and an error message that says what was expected.

use super::{MAX_DEPTH, Member, Node, Span, SyntaxError, Value};

/// Parses one JSON document.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    // A UTF-8 byte order mark is not JSON, but editors on some systems write one; skip it.
    if text.starts_with('\u{feff}') {
        parser.pos = 3;
    }
    parser.skip_whitespace();
    let node = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error_here("unexpected content after the end of the JSON document"));
    }
    Ok(node)
}

/// One member (of a top-level object) or item (of a top-level array), as [`parse_entries`] hands
/// it over.
pub enum TopLevel {
    Member(Member),
    Item(usize, Node),
}

/// Parses a JSON document whose top level is an object or an array, handing each member or item
/// to `each` as soon as it is parsed instead of keeping it, so memory stays flat in the number of
/// entries of a large index. Duplicate top-level keys are refused as [`parse`] refuses them.
/// Returns the span of the top level, or `Ok(None)` without calling `each` when the top level is
/// neither an object nor an array (then [`parse`] the text instead).
pub fn parse_entries(
    text: &str,
    mut each: impl FnMut(TopLevel),
) -> Result<Option<Span>, SyntaxError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    if text.starts_with('\u{feff}') {
        parser.pos = 3;
    }
    parser.skip_whitespace();
    let start = parser.pos;
    let depth = parser.enter(0)?;
    match parser.peek() {
        Some(b'{') => {
            // Keys by hash, and their spans to compare when two hashes agree: a few bytes per
            // entry instead of every key.
            use std::collections::hash_map::{Entry, HashMap, RandomState};
            let hasher = RandomState::new();
            let mut seen: HashMap<u64, Span> = HashMap::new();
            // Keys whose hash an earlier, different key already had (almost never any).
            let mut collided: Vec<Span> = Vec::new();
            parser.members(depth, |parser, member| {
                let hash = std::hash::BuildHasher::hash_one(&hasher, &member.key);
                match seen.entry(hash) {
                    Entry::Vacant(vacant) => {
                        vacant.insert(member.key_span);
                    }
                    Entry::Occupied(first) => {
                        let first = *first.get();
                        if std::iter::once(first)
                            .chain(collided.iter().copied())
                            .any(|span| parser.key_at(span) == member.key)
                        {
                            return Err(SyntaxError::new(
                                member.key_span,
                                format!("duplicate key `{}` in the same object", member.key),
                            ));
                        }
                        collided.push(member.key_span);
                    }
                }
                each(TopLevel::Member(member));
                Ok(())
            })?;
        }
        Some(b'[') => {
            let mut index = 0;
            parser.items(depth, |_, node| {
                each(TopLevel::Item(index, node));
                index += 1;
                Ok(())
            })?;
        }
        _ => return Ok(None),
    }
    let span = Span::new(start, parser.pos);
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error_here("unexpected content after the end of the JSON document"));
    }
    Ok(Some(span))
}

/// The string whose JSON token (quotes included) is at `span` of `text`, as [`parse`] reads it:
/// borrowed when it has no escapes. Empty when `span` holds no string token.
pub fn string_at(text: &str, span: Span) -> std::borrow::Cow<'_, str> {
    let token = text.get(span.range()).unwrap_or("");
    match token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => inner.into(),
        _ => {
            let mut parser = Parser {
                text,
                bytes: text.as_bytes(),
                pos: span.start as usize,
            };
            if parser.peek() != Some(b'"') {
                return "".into();
            }
            parser.string().unwrap_or_default().into()
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// An error pointing at the character at the current position (or the end of input).
    fn error_here(&self, message: impl Into<String>) -> SyntaxError {
        let end = self.char_end(self.pos);
        SyntaxError::new(Span::new(self.pos, end), message)
    }

    fn char_end(&self, pos: usize) -> usize {
        self.text[pos.min(self.text.len())..]
            .chars()
            .next()
            .map_or(pos, |c| pos + c.len_utf8())
    }

    fn describe_here(&self) -> String {
        match self.text[self.pos.min(self.text.len())..].chars().next() {
            None => "the end of the file".to_string(),
            Some(c) if c.is_control() => format!("control character U+{:04X}", c as u32),
            Some(c) => format!("`{c}`"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                let s = self.string()?;
                Ok(Node::new(Span::new(start, self.pos), Value::String(s)))
            }
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error_here(format!(
                "expected a JSON value, found {}",
                self.describe_here()
            ))),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Node, SyntaxError> {
        let start = self.pos;
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(Node::new(Span::new(start, self.pos), value))
        } else {
            Err(self.error_here(format!(
                "expected a JSON value, found {}",
                self.describe_here()
            )))
        }
    }

    fn enter(&self, depth: usize) -> Result<usize, SyntaxError> {
        if depth >= MAX_DEPTH {
            Err(SyntaxError::limit(
                Span::new(self.pos, self.pos + 1),
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ))
        } else {
            Ok(depth + 1)
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let depth = self.enter(depth)?;
        let start = self.pos;
        let mut members: Vec<Member> = Vec::new();
        // Keys seen so far, for duplicate detection in large objects (a linear scan is faster for the
        // small objects real files have, but quadratic on a hostile object with 100,000 keys).
        let mut seen: Option<std::collections::HashSet<String>> = None;
        self.members(depth, |_, member| {
            let key = &member.key;
            let duplicate = match &mut seen {
                Some(seen) => !seen.insert(key.clone()),
                None => {
                    let duplicate = members.iter().any(|m| m.key == *key);
                    if members.len() >= 32 {
                        seen = Some(
                            members
                                .iter()
                                .map(|m| m.key.clone())
                                .chain([key.clone()])
                                .collect(),
                        );
                    }
                    duplicate
                }
            };
            if duplicate {
                return Err(SyntaxError::new(
                    member.key_span,
                    format!("duplicate key `{key}` in the same object"),
                ));
            }
            members.push(member);
            Ok(())
        })?;
        Ok(Node::new(
            Span::new(start, self.pos),
            Value::Object(members),
        ))
    }

    /// Parses an object starting at `{` (its depth already entered), handing each member to
    /// `each`; leaves `pos` after the closing `}`.
    fn members(
        &mut self,
        depth: usize,
        mut each: impl FnMut(&Self, Member) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.pos += 1; // `{`
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut first = true;
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                let message = if self.peek() == Some(b'}') && !first {
                    "trailing comma before `}`".to_string()
                } else {
                    format!(
                        "expected a key in double quotes, found {}",
                        self.describe_here()
                    )
                };
                return Err(self.error_here(message));
            }
            first = false;
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error_here(format!(
                    "expected `:` after the key, found {}",
                    self.describe_here()
                )));
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value(depth)?;
            each(
                self,
                Member {
                    key,
                    key_span,
                    value,
                },
            )?;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {
                    return Err(self.error_here(format!(
                        "expected `,` or `}}` after an object member, found {}",
                        self.describe_here()
                    )));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let depth = self.enter(depth)?;
        let start = self.pos;
        let mut items = Vec::new();
        self.items(depth, |_, item| {
            items.push(item);
            Ok(())
        })?;
        Ok(Node::new(Span::new(start, self.pos), Value::Array(items)))
    }

    /// Parses an array starting at `[` (its depth already entered), handing each item to `each`;
    /// leaves `pos` after the closing `]`.
    fn items(
        &mut self,
        depth: usize,
        mut each: impl FnMut(&Self, Node) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.pos += 1; // `[`
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b']') {
                return Err(self.error_here("trailing comma before `]`"));
            }
            let item = self.value(depth)?;
            each(self, item)?;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {
                    return Err(self.error_here(format!(
                        "expected `,` or `]` after an array element, found {}",
                        self.describe_here()
                    )));
                }
            }
        }
    }

    /// The key whose string token is at `span`, decoded again.
    fn key_at(&self, span: Span) -> String {
        let mut again = Parser {
            text: self.text,
            bytes: self.bytes,
            pos: span.start as usize,
        };
        again.string().unwrap_or_default()
    }

    /// Parses a string starting at `"`; leaves `pos` after the closing quote.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            // Fast path: copy runs of plain characters at once.
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => {
                    return Err(SyntaxError::new(
                        Span::new(open, open + 1),
                        "unterminated string: no closing `\"` before the end of the file",
                    ));
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.escape(&mut out)?;
                    run_start = self.pos;
                }
                Some(_) => {
                    return Err(self.error_here(format!(
                        "{} inside a string must be escaped",
                        self.describe_here()
                    )));
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let start = self.pos;
        self.pos += 1; // `\`
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let first = self.hex4(start)?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    if self.bytes[self.pos..].starts_with(b"\\u") {
                        self.pos += 2;
                        let second = self.hex4(start)?;
                        if !(0xDC00..0xE000).contains(&second) {
                            return Err(SyntaxError::new(
                                Span::new(start, self.pos),
                                "invalid surrogate pair in `\\u` escape",
                            ));
                        }
                        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                    } else {
                        None
                    }
                } else {
                    char::from_u32(first)
                };
                let c = c.ok_or_else(|| {
                    SyntaxError::new(
                        Span::new(start, self.pos),
                        "lone surrogate in `\\u` escape: not a Unicode character",
                    )
                })?;
                out.push(c);
                return Ok(());
            }
            _ => {
                let end = self.char_end(self.pos);
                return Err(SyntaxError::new(
                    Span::new(start, end),
                    "invalid escape sequence; JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                ));
            }
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self, escape_start: usize) -> Result<u32, SyntaxError> {
        let digits = self.bytes.get(self.pos..self.pos + 4);
        let value = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match value {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => Err(SyntaxError::new(
                Span::new(escape_start, self.char_end(self.pos)),
                "`\\u` must be followed by four hexadecimal digits",
            )),
        }
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let invalid = |p: &Parser, why: &str| {
            SyntaxError::new(
                Span::new(start, p.char_end(p.pos)),
                format!("invalid number: {why}"),
            )
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(invalid(self, "leading zeros are not allowed"));
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(invalid(self, "expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(invalid(self, "expected a digit after `.`"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(invalid(self, "expected a digit in the exponent"));
            }
            self.digits();
        }
        let text = &self.text[start..self.pos];
        let span = Span::new(start, self.pos);
        let number: serde_json::Number = text
            .parse()
            .map_err(|_| SyntaxError::new(span, format!("number `{text}` is out of range")))?;
        Ok(Node::new(span, Value::Number(number)))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> SyntaxError {
        parse(text).unwrap_err()
    }

    #[test]
    fn parses_values_with_spans() {
        let text = r#"[{"a": "x\u00e9\n", "b": [1, -2.5e3, true, null]}]"#;
        let node = parse(text).unwrap();
        let a = node.lookup(&["0", "a"]).unwrap();
        assert_eq!(a.node.as_str(), Some("xé\n"));
        assert_eq!(&text[a.node.span.range()], r#""x\u00e9\n""#);
        assert_eq!(&text[a.key_span.unwrap().range()], r#""a""#);
        let b = node.lookup(&["0", "b", "1"]).unwrap();
        assert_eq!(&text[b.node.span.range()], "-2.5e3");
        assert_eq!(
            node.to_json(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn top_level_entries_are_handed_over_one_by_one() {
        let text = r#"{"a": {"x": 1}, "b\u0062": [2], "c": "3"}"#;
        let mut keys = Vec::new();
        let span = parse_entries(text, |entry| match entry {
            TopLevel::Member(member) => {
                assert_eq!(string_at(text, member.key_span), member.key);
                keys.push(member.key);
            }
            TopLevel::Item(..) => panic!("an object has members"),
        })
        .unwrap();
        assert_eq!(keys, ["a", "bb", "c"]);
        assert_eq!(span, Some(Span::new(0, text.len())));

        let mut items = Vec::new();
        parse_entries("[1, [2], {}]", |entry| match entry {
            TopLevel::Item(i, node) => items.push((i, node.span)),
            TopLevel::Member(_) => panic!("an array has items"),
        })
        .unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[2], (2, Span::new(9, 11)));

        assert_eq!(parse_entries("\"text\"", |_| panic!()).unwrap(), None);
        let duplicate = parse_entries(r#"{"a": 1, "b": 2, "\u0061": 3}"#, |_| {}).unwrap_err();
        assert_eq!(duplicate.message, "duplicate key `a` in the same object");
        assert_eq!(duplicate.span, Span::new(17, 25));
        let broken = parse_entries(r#"{"a": 1,}"#, |_| {}).unwrap_err();
        assert_eq!(broken.message, "trailing comma before `}`");
    }

    #[test]
    fn surrogate_pairs_decode() {
        let node = parse(r#""\ud83d\ude00""#).unwrap();
        assert_eq!(node.as_str(), Some("😀"));
    }

    #[test]
    fn reports_errors_at_their_position() {
        let e = err("{\"a\": 1,}");
        assert_eq!(e.message, "trailing comma before `}`");
        assert_eq!(e.span, Span::new(8, 9));
        let e = err("{\"a\": 1 \"b\": 2}");
        assert!(
            e.message.starts_with("expected `,` or `}`"),
            "{}",
            e.message
        );
        assert_eq!(err("[1, 2,]").message, "trailing comma before `]`");
        assert!(err("\"abc").message.starts_with("unterminated string"));
        assert!(err("\"a\tb\"").message.contains("must be escaped"));
        assert!(err("01").message.contains("leading zeros"));
        assert!(err("1e999").message.contains("out of range"));
        assert!(err("\"\\x\"").message.starts_with("invalid escape"));
        assert!(err("\"\\ud800\"").message.starts_with("lone surrogate"));
        assert!(err("[1] 2").message.contains("after the end"));
        assert!(err("").message.contains("end of the file"));
        let e = err(r#"{"a": 1, "a": 2}"#);
        assert_eq!(e.message, "duplicate key `a` in the same object");
        assert_eq!(e.span, Span::new(9, 12));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing() {
        let text = "[".repeat(200_000) + &"]".repeat(200_000);
        let e = err(&text);
        assert!(e.limit);
        assert!(e.message.contains("nesting deeper than"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert!(parse("\u{feff}{}").is_ok());
    }
}
