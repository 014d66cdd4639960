//! Value formats that governance files and OCA bundles use: language tags, DIDs, https URLs, ISO
//! 8601 durations and colours. Each validator returns a message that says what is wrong and how to
//! write it instead.
//!
//! The validators are deliberately stricter than the standards they follow where a looser form
//! would let two spellings of the same value through (`en-ca` and `en-CA`, `HTTPS://` and
//! `https://`, `did:Web` and `did:web`): governance files are compared and published as text, so
//! trustc accepts one spelling and says which. Whenever the intended value can be worked out, the
//! message ends with ``write `…` `` and the exact replacement.
//!
//! One module per kind of value: `language` (language tags and their ISO code lists),
//! `identifier` (DIDs, https URLs and issuer identifiers), `duration` (ISO 8601 durations) and
//! `colour` (`#RRGGBB` colours and their contrast). This module re-exports their validators, so
//! callers write `crate::formats::parse_language`, and holds the little helpers their messages
//! share.

mod colour;
mod duration;
mod identifier;
mod language;

pub use colour::{contrast_ratio, equivalent_colour, parse_colour, relative_luminance};
pub use duration::{Duration, parse_duration};
pub(crate) use identifier::check_issuer_url;
pub use identifier::{check_did, check_https_url, check_identifier};
pub use language::{LanguageTag, parse_language};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// When `s` has whitespace around it and is valid without, the message that says so.
fn padded(s: &str, valid: impl Fn(&str) -> bool) -> Option<String> {
    let trimmed = s.trim();
    (trimmed != s && !trimmed.is_empty() && valid(trimmed))
        .then(|| format!("`{s}` has whitespace around it: write `{trimmed}`"))
}

/// `s` without `prefix`, compared ignoring ASCII case.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A character as messages show it: in backticks, or by code point when it is invisible.
fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c if c.is_whitespace() => format!("the whitespace character U+{:04X}", u32::from(c)),
        c => format!("`{c}`"),
    }
}

/// The message of a validator that was expected to fail, for the tests of each format.
#[cfg(test)]
fn err<T: std::fmt::Debug>(result: Result<T, String>) -> String {
    result.expect_err("expected an error")
}
