//! Where a value sits among the claims of a login (an ID token or a userinfo answer): the `claim`
//! of a `from: login` source and of a claim assurance.
//!
//! The compiler parses each path when it checks the governance (`login-claim-path-invalid`), and
//! the runtime looks the value up with the same code when the holder has signed in, so the two
//! cannot read a path differently.
//!
//! The syntax is a small subset of JSONPath (RFC 9535) that only ever names one value:
//!
//! - a plain name, without a leading `$`, is a top-level claim, taken as written
//!   (`given_name`, `https://example.com/claims/x`);
//! - `$` followed by segments: `.name`, `['name']` or `["name"]` (any name; `\'`, `\"` and `\\`
//!   escape inside quotes) and `[index]` (an array element, counted from 0):
//!   `$.address.locality`, `$['https://example.com/claims/x']`, `$.roles[0]`.
//!
//! Wildcards, descendants (`..`), slices, filters and negative indexes name several values or
//! depend on the array's length; they are refused.

use std::fmt;

use serde_json::{Map, Value};

/// A parsed claim path: the top-level claim, then the steps into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimPath {
    segments: Vec<Segment>,
}

/// One step of a [`ClaimPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A member of an object.
    Name(String),
    /// An element of an array, counted from 0.
    Index(usize),
}

/// Parses a claim path (see the [module documentation](self) for the syntax). The error says
/// what is wrong and at which character (counted from 1).
pub fn parse(path: &str) -> Result<ClaimPath, String> {
    let Some(rest) = path.strip_prefix('$') else {
        if path.is_empty() {
            return Err("the claim name is empty".to_string());
        }
        return Ok(ClaimPath {
            segments: vec![Segment::Name(path.to_string())],
        });
    };
    let mut parser = Parser {
        chars: rest.char_indices().peekable(),
        // Positions are reported from 1, counting the leading `$`.
        offset: 2,
        text: rest,
    };
    let mut segments = Vec::new();
    while let Some(segment) = parser.segment()? {
        if segments.is_empty() && matches!(segment, Segment::Index(_)) {
            return Err(
                "a path starts with a claim name (`$.name` or `$['name']`), not an array index: \
                 the claims of a login are an object"
                    .to_string(),
            );
        }
        segments.push(segment);
    }
    if segments.is_empty() {
        return Err(
            "`$` alone is every claim at once, not one claim; name one: `$.name`".to_string(),
        );
    }
    Ok(ClaimPath { segments })
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    offset: usize,
    text: &'a str,
}

impl Parser<'_> {
    /// The position (from 1, counting `$`) of the character at byte `index` of the text after `$`.
    fn at(&self, index: usize) -> usize {
        self.text[..index].chars().count() + self.offset
    }

    fn end(&self) -> usize {
        self.at(self.text.len())
    }

    /// The next segment, or `None` at the end of the path.
    fn segment(&mut self) -> Result<Option<Segment>, String> {
        let Some((index, c)) = self.chars.next() else {
            return Ok(None);
        };
        match c {
            '.' => self.dotted_name(index).map(Some),
            '[' => self.bracket(index).map(Some),
            other => Err(format!(
                "expected `.name`, `['name']` or `[index]` at character {}, found `{other}`",
                self.at(index)
            )),
        }
    }

    /// `.name`: the name runs to the next `.` or `[`.
    fn dotted_name(&mut self, dot: usize) -> Result<Segment, String> {
        let mut name = String::new();
        while let Some(&(index, c)) = self.chars.peek() {
            match c {
                '.' | '[' => break,
                '*' if name.is_empty() => {
                    return Err(format!(
                        "`.*` at character {} names every member; name one claim",
                        self.at(dot)
                    ));
                }
                ']' | '\'' | '"' => {
                    return Err(format!(
                        "`{c}` at character {} cannot be part of a `.name`; write \
                         `['…']` for names with such characters",
                        self.at(index)
                    ));
                }
                c if c.is_whitespace() || c.is_control() => {
                    return Err(format!(
                        "a space or control character at character {} cannot be part of a \
                         `.name`; write `['…']` for names with spaces",
                        self.at(index)
                    ));
                }
                c => name.push(c),
            }
            self.chars.next();
        }
        if name.is_empty() {
            let what = match self.chars.peek() {
                Some((_, '.')) => "`..` (descendants) names any number of values; name each step",
                _ => "a `.` must be followed by a claim name",
            };
            return Err(format!("{what} (character {})", self.at(dot)));
        }
        Ok(Segment::Name(name))
    }

    /// `['name']`, `["name"]` or `[index]`.
    fn bracket(&mut self, open: usize) -> Result<Segment, String> {
        let segment = match self.chars.peek().copied() {
            Some((_, quote @ ('\'' | '"'))) => {
                self.chars.next();
                self.quoted(open, quote)?
            }
            Some((_, '0'..='9')) => self.index(open)?,
            Some((index, '-')) => {
                return Err(format!(
                    "negative index at character {}: count elements from 0, from the start",
                    self.at(index)
                ));
            }
            Some((index, '*')) => {
                return Err(format!(
                    "`[*]` at character {} names every element; name one by its index",
                    self.at(index)
                ));
            }
            Some((index, other)) => {
                return Err(format!(
                    "expected a quoted name or an index after `[` at character {}, found `{other}`",
                    self.at(index)
                ));
            }
            None => {
                return Err(format!(
                    "the `[` at character {} is not closed",
                    self.at(open)
                ));
            }
        };
        match self.chars.next() {
            Some((_, ']')) => Ok(segment),
            Some((index, other)) => Err(format!(
                "expected `]` at character {}, found `{other}`",
                self.at(index)
            )),
            None => Err(format!(
                "the `[` at character {} is not closed (expected `]` at character {})",
                self.at(open),
                self.end()
            )),
        }
    }

    fn quoted(&mut self, open: usize, quote: char) -> Result<Segment, String> {
        let mut name = String::new();
        loop {
            match self.chars.next() {
                None => {
                    return Err(format!(
                        "the quoted name at character {} is not closed with `{quote}`",
                        self.at(open) + 1
                    ));
                }
                Some((_, c)) if c == quote => break,
                Some((index, '\\')) => match self.chars.next() {
                    Some((_, c @ ('\'' | '"' | '\\'))) => name.push(c),
                    Some((_, other)) => {
                        return Err(format!(
                            "unknown escape `\\{other}` at character {}: only `\\'`, `\\\"` \
                             and `\\\\` escape in a quoted name",
                            self.at(index)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "the quoted name at character {} is not closed with `{quote}`",
                            self.at(open) + 1
                        ));
                    }
                },
                Some((_, c)) => name.push(c),
            }
        }
        if name.is_empty() {
            return Err(format!(
                "the quoted name at character {} is empty",
                self.at(open) + 1
            ));
        }
        Ok(Segment::Name(name))
    }

    fn index(&mut self, open: usize) -> Result<Segment, String> {
        let mut digits = String::new();
        while let Some(&(_, c @ '0'..='9')) = self.chars.peek() {
            digits.push(c);
            self.chars.next();
        }
        if digits.len() > 1 && digits.starts_with('0') {
            return Err(format!(
                "the index `{digits}` at character {} has a leading zero; write it without",
                self.at(open) + 1
            ));
        }
        if let Some(&(index, ':')) = self.chars.peek() {
            return Err(format!(
                "a slice at character {} names several elements; name one by its index",
                self.at(index)
            ));
        }
        digits.parse().map(Segment::Index).map_err(|_| {
            format!(
                "the index `{digits}` at character {} is too large",
                self.at(open) + 1
            )
        })
    }
}

impl ClaimPath {
    /// The steps, the top-level claim name first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The top-level claim the path starts at: what a relying party asks the provider for.
    pub fn claim(&self) -> &str {
        match self.segments.first() {
            Some(Segment::Name(name)) => name,
            // `parse` only makes paths that start with a name.
            _ => "",
        }
    }

    /// The value the path names in `claims`, if the claims have it. `null` is a value: a claim
    /// that is present but `null` is found (callers decide what an empty claim means).
    pub fn lookup<'v>(&self, claims: &'v Map<String, Value>) -> Option<&'v Value> {
        let (first, rest) = self.segments.split_first()?;
        let Segment::Name(name) = first else {
            return None;
        };
        let mut value = claims.get(name)?;
        for segment in rest {
            value = match (segment, value) {
                (Segment::Name(name), Value::Object(members)) => members.get(name)?,
                (Segment::Index(index), Value::Array(items)) => items.get(*index)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// The path in its canonical form: a plain name stays plain, others are `$` paths with `.name`
/// where the name allows it and `['name']` where it does not.
impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [Segment::Name(name)] = &self.segments[..]
            && !name.starts_with('$')
        {
            return f.write_str(name);
        }
        f.write_str("$")?;
        for segment in &self.segments {
            match segment {
                Segment::Name(name) if is_plain(name) => write!(f, ".{name}")?,
                Segment::Name(name) => {
                    let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
                    write!(f, "['{escaped}']")?;
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Whether `name` can be written as `.name`.
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('*')
        && name.chars().all(|c| {
            !matches!(c, '.' | '[' | ']' | '\'' | '"' | '\\')
                && !c.is_whitespace()
                && !c.is_control()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Map<String, Value> {
        json!({
            "sub": "alice",
            "given_name": "Alice",
            "address": { "locality": "Victoria", "region": "BC", "lines": ["1 Main St", "Unit 2"] },
            "https://example.com/claims/level": 3,
            "roles": [{ "name": "member" }, { "name": "bencher" }],
            "middle_name": null,
            "odd key": { "it's": true },
            "$weird": "x",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn find(path: &str) -> Option<Value> {
        parse(path).unwrap().lookup(&claims()).cloned()
    }

    #[test]
    fn a_plain_name_is_a_top_level_claim_taken_as_written() {
        assert_eq!(find("given_name"), Some(json!("Alice")));
        assert_eq!(find("https://example.com/claims/level"), Some(json!(3)));
        // A plain name is never split: dots are part of it.
        assert_eq!(find("address.locality"), None);
        assert_eq!(find("family_name"), None);
    }

    #[test]
    fn dollar_paths_walk_into_objects_and_arrays() {
        assert_eq!(find("$.address.locality"), Some(json!("Victoria")));
        assert_eq!(find("$['address']['region']"), Some(json!("BC")));
        assert_eq!(find("$[\"address\"].lines[1]"), Some(json!("Unit 2")));
        assert_eq!(find("$.roles[1].name"), Some(json!("bencher")));
        assert_eq!(
            find("$['https://example.com/claims/level']"),
            Some(json!(3))
        );
        assert_eq!(find("$['odd key']['it\\'s']"), Some(json!(true)));
        assert_eq!(find("$['$weird']"), Some(json!("x")));
        assert_eq!(find("$.address"), Some(claims()["address"].clone()));
    }

    #[test]
    fn a_missing_step_or_a_step_of_the_wrong_kind_finds_nothing() {
        assert_eq!(find("$.address.postal_code"), None);
        assert_eq!(find("$.roles[2].name"), None);
        assert_eq!(find("$.address[0]"), None, "an index into an object");
        assert_eq!(find("$.roles.name"), None, "a name into an array");
        assert_eq!(find("$.given_name.first"), None, "a name into a string");
    }

    #[test]
    fn a_null_claim_is_found_as_null() {
        assert_eq!(find("middle_name"), Some(Value::Null));
        assert_eq!(find("$.middle_name"), Some(Value::Null));
    }

    #[test]
    fn the_top_level_claim_is_what_the_provider_is_asked_for() {
        assert_eq!(parse("$.address.locality").unwrap().claim(), "address");
        assert_eq!(parse("$['a.b'][0]").unwrap().claim(), "a.b");
        assert_eq!(parse("birthdate").unwrap().claim(), "birthdate");
    }

    #[test]
    fn paths_print_in_canonical_form_and_parse_back_the_same() {
        for (written, canonical) in [
            ("given_name", "given_name"),
            ("$.given_name", "given_name"),
            ("$[\"address\"]['locality']", "$.address.locality"),
            ("$['a b'][0]", "$['a b'][0]"),
            ("$['it\\'s']", "it's"),
            ("$.a['it\\'s']", "$.a['it\\'s']"),
            ("$.a['back\\\\slash']", "$.a['back\\\\slash']"),
            ("$['$weird']", "$.$weird"),
        ] {
            let path = parse(written).unwrap();
            assert_eq!(path.to_string(), canonical, "{written}");
            assert_eq!(parse(canonical).unwrap(), path, "{canonical}");
        }
    }

    #[test]
    fn segments_are_exposed_in_order() {
        assert_eq!(
            parse("$.roles[0]['name']").unwrap().segments(),
            [
                Segment::Name("roles".into()),
                Segment::Index(0),
                Segment::Name("name".into())
            ]
        );
    }

    #[test]
    fn malformed_paths_are_refused_saying_where() {
        for (path, expected) in [
            ("", "the claim name is empty"),
            ("$", "`$` alone"),
            ("$.", "a `.` must be followed by a claim name (character 2)"),
            ("$..name", "`..` (descendants)"),
            (
                "$.a.",
                "a `.` must be followed by a claim name (character 4)",
            ),
            (
                "$x",
                "expected `.name`, `['name']` or `[index]` at character 2, found `x`",
            ),
            (
                "$.address locality",
                "space or control character at character 10",
            ),
            ("$.*", "`.*` at character 2"),
            ("$.a[*]", "`[*]` at character 5"),
            ("$.a[-1]", "negative index at character 5"),
            ("$.a[01]", "leading zero"),
            ("$.a[0:2]", "a slice at character 6"),
            ("$.a[99999999999999999999999]", "is too large"),
            ("$.a[0", "the `[` at character 4 is not closed"),
            ("$.a[", "the `[` at character 4 is not closed"),
            (
                "$['a",
                "the quoted name at character 3 is not closed with `'`",
            ),
            (
                "$['a\"]",
                "the quoted name at character 3 is not closed with `'`",
            ),
            ("$['a'", "the `[` at character 2 is not closed"),
            ("$['a'x]", "expected `]` at character 6, found `x`"),
            ("$['']", "the quoted name at character 3 is empty"),
            ("$['\\n']", "unknown escape `\\n` at character 4"),
            (
                "$[name]",
                "expected a quoted name or an index after `[` at character 3",
            ),
            ("$[0]", "starts with a claim name"),
            ("$.a]", "`]` at character 4 cannot be part of a `.name`"),
            ("$.é.x y", "at character 6"),
        ] {
            let error = parse(path).expect_err(path);
            assert!(error.contains(expected), "{path}: {error}");
        }
    }

    #[test]
    fn names_may_hold_any_unicode() {
        assert_eq!(
            parse("$.adresse.localité").unwrap().segments()[1],
            Segment::Name("localité".into())
        );
    }
}
