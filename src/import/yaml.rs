//! Writing governance YAML: a document written line by line in the governance's usual layout
//! (comments wrapped, short texts as flow mappings), and scalars quoted only where a YAML reader
//! would not read them back as the same string.

use super::localized::Localized;

/// Lines this long or shorter are written as flow mappings (`{ en: A, fr: B }`).
const FLOW_WIDTH: usize = 80;

/// Comments are wrapped at this width.
const COMMENT_WIDTH: usize = 100;

/// A YAML document written line by line, in the governance's usual layout.
#[derive(Default)]
pub(super) struct Yaml {
    pub(super) out: String,
}

impl Yaml {
    pub(super) fn line(&mut self, indent: usize, text: &str) {
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    pub(super) fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A comment, wrapped at [`COMMENT_WIDTH`].
    pub(super) fn comment(&mut self, indent: usize, text: &str) {
        let width = COMMENT_WIDTH.saturating_sub(indent + 2).max(40);
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                self.line(indent, &format!("# {line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.line(indent, &format!("# {line}"));
        }
    }

    pub(super) fn scalar(&mut self, indent: usize, key: &str, value: &str, comment: Option<&str>) {
        let mut line = format!("{}: {}", yaml_key(key), yaml_scalar(value, false));
        if let Some(comment) = comment {
            line.push_str("  # ");
            line.push_str(comment);
        }
        self.line(indent, &line);
    }

    /// The first key of a sequence item: `- key: value`.
    pub(super) fn scalar_item(&mut self, indent: usize, key: &str, value: &str) {
        self.line(
            indent,
            &format!("- {}: {}", yaml_key(key), yaml_scalar(value, false)),
        );
    }

    pub(super) fn flow_list(&mut self, indent: usize, key: &str, items: &[String]) {
        let items: Vec<String> = items.iter().map(|i| yaml_scalar(i, true)).collect();
        self.line(
            indent,
            &format!("{}: [{}]", yaml_key(key), items.join(", ")),
        );
    }

    /// A text: one string when it is the same in every locale, else a mapping per locale.
    pub(super) fn text(&mut self, indent: usize, key: &str, text: &Localized) {
        if let Some(same) = text.same() {
            self.scalar(indent, key, same, None);
            return;
        }
        let flow = format!(
            "{}: {{ {} }}",
            yaml_key(key),
            text.values
                .iter()
                .map(|(l, t)| format!("{}: {}", yaml_scalar(l, true), yaml_scalar(t, true)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let flowable = text
            .values
            .iter()
            .all(|(l, t)| plain_ok(l, true) && plain_ok(t, true));
        if flowable && indent + flow.chars().count() <= FLOW_WIDTH {
            self.line(indent, &flow);
            return;
        }
        self.line(indent, &format!("{}:", yaml_key(key)));
        for (locale, t) in &text.values {
            self.scalar(indent + 2, locale, t, None);
        }
    }
}

/// A mapping key.
pub(super) fn yaml_key(key: &str) -> String {
    yaml_scalar(key, false)
}

/// A string as a YAML scalar: plain when YAML reads it back as the same string, else
/// double-quoted. `flow` is for items of `[…]` and `{…}`.
pub fn yaml_scalar(s: &str, flow: bool) -> String {
    if plain_ok(s, flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// Whether `s` can be written as a plain scalar and read back as the same string by any YAML 1.1 or
/// 1.2 reader (conservative: anything that might be a number, a boolean or null is quoted).
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.lines().count() > 1 {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`<=~".contains(first) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}'))
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}', ':', '#']) {
        return false;
    }
    const WORDS: &[&str] = &["null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return false;
    }
    // Numbers (and YAML 1.1 dates and sexagesimals), except versions such as 1.0.0 and relative
    // paths.
    let path = s.starts_with("./") || s.starts_with("../");
    if (first.is_ascii_digit() || matches!(first, '+' | '.')) && !is_semver_like(s) && !path {
        return false;
    }
    true
}

/// `1.0.0`: three dot-separated runs of digits.
fn is_semver_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Node;

    fn read_back(value: &str) -> String {
        let text = format!(
            "key: {}\nlist: [{}]\n",
            yaml_scalar(value, false),
            yaml_scalar(value, true)
        );
        let node = crate::syntax::yaml::parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let key = node.get("key").and_then(Node::as_str).map(str::to_string);
        let item = node
            .get("list")
            .and_then(Node::as_array)
            .and_then(|a| a.first())
            .and_then(Node::as_str)
            .map(str::to_string);
        assert_eq!(key, item, "{text}");
        key.unwrap_or_else(|| panic!("{text} does not read back as a string"))
    }

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for value in [
            "plain text",
            "Date d'émission",
            "Given Name",
            "",
            " padded ",
            "true",
            "No",
            "off",
            "null",
            "~",
            "1",
            "1.0",
            "1.0.0",
            "0x1F",
            "1e3",
            ".inf",
            "-1",
            "+1",
            "1990-04-17",
            "12:30",
            "#003366",
            "rgb(0, 51, 102)",
            "a: b",
            "a #b",
            "ends:",
            "- item",
            "[x]",
            "{x}",
            "*alias",
            "&anchor",
            "!tag",
            "%percent",
            "@at",
            "`tick",
            "'quoted'",
            "\"double\"",
            "line\nbreak",
            "tab\there",
            "back\\slash",
            "urn:iso:std:iso:1989",
            "https://example.org/a?b=c#d",
            "data:image/png;base64,iVBOR=",
            "<< merge",
            "? key",
            "| literal",
            "> folded",
            "a, b",
            "\u{2028}",
            "\u{1}",
        ] {
            assert_eq!(read_back(value), value, "{value:?}");
        }
    }

    #[test]
    fn versions_and_ordinary_text_stay_plain() {
        assert_eq!(yaml_scalar("1.0.0", false), "1.0.0");
        assert_eq!(yaml_scalar("Called to the bar", false), "Called to the bar");
        assert_eq!(
            yaml_scalar("urn:iso:std:iso:1989", false),
            "urn:iso:std:iso:1989"
        );
        assert_eq!(yaml_scalar("#00475A", false), "\"#00475A\"");
        assert_eq!(yaml_scalar("a, b", true), "\"a, b\"");
    }
}
