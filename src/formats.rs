//! Value formats that governance files and OCA bundles use: language tags, DIDs, https URLs, ISO
//! 8601 durations and colours. Each validator returns a message that says what is wrong and how to
//! write it instead.
//!
//! The validators are deliberately stricter than the standards they follow where a looser form
//! would let two spellings of the same value through (`en-ca` and `en-CA`, `HTTPS://` and
//! `https://`, `did:Web` and `did:web`): governance files are compared and published as text, so
//! trustc accepts one spelling and says which. Whenever the intended value can be worked out, the
//! message ends with ``write `…` `` and the exact replacement.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------
// Language tags
// ---------------------------------------------------------------------------------------------

/// A language tag of the form `ll` or `ll-RR`: an ISO 639-1 language and an optional ISO 3166-1
/// alpha-2 region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LanguageTag {
    /// Two lowercase letters, such as `en`.
    pub language: String,
    /// Two uppercase letters, such as `CA`.
    pub region: Option<String>,
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            Some(region) => write!(f, "{}-{region}", self.language),
            None => f.write_str(&self.language),
        }
    }
}

/// The tag shapes trustc accepts, for messages about tags of any other shape.
const TAG_SHAPE: &str = "trustc accepts only `ll` (a language, such as `en`) or `ll-RR` \
                         (a language and a region, such as `en-CA`)";

/// Parses a language tag `ll` or `ll-RR`, such as `en` or `en-CA`.
pub fn parse_language(tag: &str) -> Result<LanguageTag, String> {
    if tag.is_empty() {
        return Err(format!("empty language tag: {TAG_SHAPE}"));
    }
    if let Some(message) = padded(tag, |t| parse_language(t).is_ok()) {
        return Err(message);
    }
    if let Some(c) = tag.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{tag}` contains {}: {TAG_SHAPE}",
            describe_char(c)
        ));
    }
    let parts: Vec<&str> = tag.split(['-', '_']).collect();
    if tag.contains('_') && parts.len() == 2 && parts.iter().all(|p| !p.is_empty()) {
        return Err(format!(
            "`{tag}` uses `_`; use `-` between language and region: `{}`",
            normalise_tag(parts[0], Some(parts[1]))
        ));
    }
    match parts[..] {
        [language] => {
            check_language(tag, language, None)?;
            Ok(LanguageTag {
                language: language.to_owned(),
                region: None,
            })
        }
        [language, region] if !language.is_empty() && !region.is_empty() => {
            check_language(tag, language, Some(region))?;
            check_region(tag, language, region)?;
            Ok(LanguageTag {
                language: language.to_owned(),
                region: Some(region.to_owned()),
            })
        }
        [_, script, _] if script.len() == 4 && is_ascii_alphabetic(script) => Err(format!(
            "`{tag}` has a script subtag (`{script}`), which trustc does not accept: {TAG_SHAPE}"
        )),
        _ => Err(format!("`{tag}` is not accepted: {TAG_SHAPE}")),
    }
}

fn check_language(tag: &str, language: &str, region: Option<&str>) -> Result<(), String> {
    let lower = language.to_ascii_lowercase();
    if !is_ascii_alphabetic(language) {
        return Err(format!(
            "`{language}` is not an ISO 639-1 language code: write two lowercase letters, such as \
             `en`"
        ));
    }
    match language.len() {
        2 if ISO_639_1.binary_search(&lower.as_str()).is_ok() => {
            if language == lower {
                Ok(())
            } else if region.is_some() {
                Err(format!(
                    "in `{tag}`, the language must be lowercase: `{}`",
                    normalise_tag(&lower, region)
                ))
            } else {
                Err(format!("`{tag}` must be lowercase: write `{lower}`"))
            }
        }
        2 => Err(
            match WITHDRAWN_639_1.iter().find(|(code, _)| *code == lower) {
                Some((_, replacement)) => {
                    format!("`{language}` is a withdrawn ISO 639-1 code: {replacement}")
                }
                None => format!("`{language}` is not an ISO 639-1 language code"),
            },
        ),
        3 => Err(
            match ISO_639_2_TO_1.binary_search_by_key(&lower.as_str(), |&(three, _)| three) {
                Ok(i) => format!(
                    "`{language}` is a three-letter ISO 639-2/3 code; OCA and trustc use \
                     two-letter ISO 639-1 codes such as `en`: write `{}`",
                    normalise_tag(ISO_639_2_TO_1[i].1, region)
                ),
                Err(_) => format!(
                    "`{language}` is a three-letter code; OCA and trustc use two-letter ISO 639-1 \
                     codes such as `en`, and there is none for `{language}`"
                ),
            },
        ),
        _ => Err(format!(
            "`{language}` is not an ISO 639-1 language code: write two lowercase letters, such as \
             `en`"
        )),
    }
}

fn check_region(tag: &str, language: &str, region: &str) -> Result<(), String> {
    let upper = region.to_ascii_uppercase();
    let alphabetic = is_ascii_alphabetic(region);
    match region.len() {
        2 if alphabetic && ISO_3166_1.binary_search(&upper.as_str()).is_ok() => {
            if region == upper {
                Ok(())
            } else {
                Err(format!(
                    "in `{tag}`, the region must be uppercase: `{language}-{upper}`"
                ))
            }
        }
        2 if upper == "UK" => Err(format!(
            "`{region}` is not an ISO 3166-1 region code: the United Kingdom is `GB`, so write \
             `{language}-GB`"
        )),
        2 if alphabetic => Err(format!("`{region}` is not an ISO 3166-1 region code")),
        3 if region.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "`{region}` is a UN M.49 area code, not an ISO 3166-1 region code: {TAG_SHAPE}"
        )),
        3 if alphabetic => Err(format!(
            "`{region}` is not an ISO 3166-1 region code: write the two-letter (alpha-2) code, \
             such as `CA` rather than `CAN`"
        )),
        4 if alphabetic => Err(format!(
            "`{region}` in `{tag}` is a script subtag, which trustc does not accept: {TAG_SHAPE}"
        )),
        _ => Err(format!(
            "`{region}` is not an ISO 3166-1 region code: write two uppercase letters, such as `CA`"
        )),
    }
}

/// `language` in lowercase and `region` in uppercase (when it is two letters), joined by `-`.
fn normalise_tag(language: &str, region: Option<&str>) -> String {
    let mut tag = language.to_ascii_lowercase();
    if let Some(region) = region {
        tag.push('-');
        if region.len() == 2 && is_ascii_alphabetic(region) {
            tag.push_str(&region.to_ascii_uppercase());
        } else {
            tag.push_str(region);
        }
    }
    tag
}

fn is_ascii_alphabetic(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Two-letter codes withdrawn from ISO 639-1, with what to write instead.
const WITHDRAWN_639_1: &[(&str, &str)] = &[
    ("bh", "write the code of the specific Bihari language"),
    ("in", "write `id` (Indonesian)"),
    ("iw", "write `he` (Hebrew)"),
    ("ji", "write `yi` (Yiddish)"),
    ("jw", "write `jv` (Javanese)"),
    ("mo", "write `ro` (Romanian)"),
    ("sh", "write `sr`, `hr` or `bs`"),
];

// ---------------------------------------------------------------------------------------------
// DIDs
// ---------------------------------------------------------------------------------------------

/// Checks a DID (not a DID URL) against the W3C DID Core syntax:
/// `did:` method-name `:` method-specific-id, where the method name is lowercase letters and
/// digits and the identifier is letters, digits, `.`, `-`, `_`, `%XX` and `:` (not at the end).
pub fn check_did(s: &str) -> Result<(), String> {
    const EXAMPLE: &str = "a DID is `did:method:identifier`, such as `did:web:example.com`";
    if s.is_empty() {
        return Err(format!("empty DID: {EXAMPLE}"));
    }
    if let Some(message) = padded(s, |t| check_did(t).is_ok()) {
        return Err(message);
    }
    let Some(rest) = strip_prefix_ignore_case(s, "did:") else {
        return Err(format!("`{s}` is not a DID: {EXAMPLE}"));
    };
    if !s.starts_with("did:") {
        return Err(format!(
            "the scheme of `{s}` must be lowercase: write `did:{rest}`"
        ));
    }
    if let Some(pos) = rest.find(['/', '?', '#']) {
        let part = match rest.as_bytes()[pos] {
            b'/' => "a path",
            b'?' => "a query",
            _ => "a fragment",
        };
        let did = &s[..4 + pos];
        let mut message = format!(
            "`{s}` is a DID URL (it has {part}), and a DID URL is not an identifier of an issuer"
        );
        if check_did(did).is_ok() {
            message.push_str(&format!(": write the DID alone, `{did}`"));
        }
        return Err(message);
    }
    let Some((method, id)) = rest.split_once(':') else {
        return Err(if rest.is_empty() {
            format!("`{s}` has no method name or identifier: {EXAMPLE}")
        } else {
            format!("`{s}` has no identifier after the method name: {EXAMPLE}")
        });
    };
    if method.is_empty() {
        return Err(format!("`{s}` has no method name: {EXAMPLE}"));
    }
    if !method
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        let mut message =
            format!("the method name `{method}` must be lowercase letters and digits");
        let lowercased = format!("did:{}:{id}", method.to_ascii_lowercase());
        if method.bytes().any(|b| b.is_ascii_uppercase()) && check_did(&lowercased).is_ok() {
            message.push_str(&format!(": write `{lowercased}`"));
        }
        return Err(message);
    }
    if id.is_empty() {
        return Err(format!(
            "`{s}` has no identifier after the method name: {EXAMPLE}"
        ));
    }
    let bytes = id.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b':' => i += 1,
            b'%' => {
                check_percent(&id[i..])?;
                i += 3;
            }
            _ => {
                let c = id[i..].chars().next().unwrap_or_default();
                return Err(format!(
                    "`{s}` contains {}, which a DID cannot contain: only letters, digits, `.`, \
                     `-`, `_`, `:` and percent-encodings (here `{}`) are allowed",
                    describe_char(c),
                    percent_encode(c)
                ));
            }
        }
    }
    if id.ends_with(':') {
        let mut message = "a DID cannot end with `:`".to_owned();
        let trimmed = s.trim_end_matches(':');
        if check_did(trimmed).is_ok() {
            message.push_str(&format!(": write `{trimmed}`"));
        }
        return Err(message);
    }
    Ok(())
}

/// Checks that `s`, which starts with `%`, starts with a percent-encoding `%XX`.
fn check_percent(s: &str) -> Result<(), String> {
    let encoding: String = s.chars().take(3).collect();
    let digits = &encoding.as_bytes()[1..];
    if digits.len() == 2 && digits.iter().all(u8::is_ascii_hexdigit) {
        Ok(())
    } else {
        Err(format!(
            "`{encoding}` is not a valid percent-encoding: `%` must be followed by two hex digits, \
             and a `%` itself is written `%25`"
        ))
    }
}

/// The UTF-8 percent-encoding of `c`, such as `%20` for a space.
fn percent_encode(c: char) -> String {
    let mut buf = [0; 4];
    c.encode_utf8(&mut buf)
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// https URLs
// ---------------------------------------------------------------------------------------------

/// Checks an absolute `https://` URL: a DNS name, IPv4 address or bracketed IPv6 address, an
/// optional port, an optional path and query, and no user information, fragment or whitespace.
pub fn check_https_url(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty URL: write an https URL such as `https://example.com`".to_owned());
    }
    if let Some(message) = padded(s, |t| check_https_url(t).is_ok()) {
        return Err(message);
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{s}` contains {}, which a URL cannot contain: write it as `{}`",
            describe_char(c),
            percent_encode(c)
        ));
    }
    let Some((scheme, rest)) = s.split_once("://").filter(|(scheme, _)| is_scheme(scheme)) else {
        return Err(missing_scheme(s));
    };
    if scheme != "https" {
        return Err(if scheme.eq_ignore_ascii_case("https") {
            format!("the scheme of `{s}` must be lowercase: write `https://{rest}`")
        } else if scheme.eq_ignore_ascii_case("http") {
            format!("`{s}` uses http; use https: `https://{rest}`")
        } else {
            format!("`{s}` uses the `{scheme}` scheme; use https")
        });
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if let Some((userinfo, host)) = authority.rsplit_once('@') {
        return Err(format!(
            "`{s}` has user information (`{userinfo}@`), which an https URL here must not have: \
             write `https://{host}{tail}`"
        ));
    }
    if authority.is_empty() {
        return Err(format!(
            "`{s}` has no host: write a host name after `https://`, such as `https://example.com`"
        ));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return Err(format!("`{s}` has `[` without `]` around the IPv6 address"));
        };
        if address.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`[{address}]` is not a valid IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => {
                    return Err(format!(
                        "`{s}` has `{after}` after the IPv6 address; only `:port` may follow it"
                    ));
                }
            },
        };
        (None, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(authority), None),
        }
    };
    if let Some(host) = host {
        check_host(s, host)?;
    }
    if let Some(port) = port {
        check_port(s, port)?;
    }
    if let Some((before, fragment)) = s.split_once('#') {
        return Err(format!(
            "`{s}` has a fragment (`#{fragment}`), which an https URL here must not have: write \
             `{before}`"
        ));
    }
    for (i, _) in tail.match_indices('%') {
        check_percent(&tail[i..])?;
    }
    Ok(())
}

/// The message for a URL without `scheme://`.
fn missing_scheme(s: &str) -> String {
    for scheme in ["https:", "http:"] {
        if let Some(rest) = strip_prefix_ignore_case(s, scheme) {
            return format!(
                "`{s}` needs `//` after `{}`: write `https://{}`",
                &s[..scheme.len()],
                rest.trim_start_matches('/')
            );
        }
    }
    let with_scheme = format!("https://{s}");
    if looks_like_host(s) && check_https_url(&with_scheme).is_ok() {
        format!("`{s}` has no scheme: write `{with_scheme}`")
    } else {
        format!("`{s}` is not an absolute https URL: write it as `https://host/path`")
    }
}

/// Whether `s`, which has no scheme, starts with something like a domain name (`example.com`), so
/// that suggesting `https://` in front of it makes sense.
fn looks_like_host(s: &str) -> bool {
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    let host = &s[..end];
    host.contains('.') && !host.contains(':')
}

/// Whether `s` is a URL scheme: a letter, then letters, digits, `+`, `-` and `.`.
fn is_scheme(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Checks a host that is not bracketed: an IPv4 address or a DNS name. `url` starts with
/// `https://{host}`.
fn check_host(url: &str, host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err(format!(
            "`{url}` has no host: write a host name after `https://`, such as `https://example.com`"
        ));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match host.parse::<Ipv4Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!(
                "`{host}` is not a valid IPv4 address: write four numbers from 0 to 255 without \
                 leading zeros, such as `192.0.2.1`"
            )),
        };
    }
    if let Some(c) = host.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "the host `{host}` contains `{c}`: write an internationalised domain name in its ASCII \
             form (punycode, `xn--…`)"
        ));
    }
    if let Some(trimmed) = host.strip_suffix('.')
        && !trimmed.is_empty()
        && !trimmed.ends_with('.')
    {
        return Err(format!(
            "the host `{host}` ends with `.`: write `https://{trimmed}{}`",
            &url["https://".len() + host.len()..]
        ));
    }
    if host.len() > 253 {
        return Err(format!("the host `{host}` is longer than 253 characters"));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(format!(
                "the host `{host}` has an empty label: write names separated by single dots, such \
                 as `www.example.com`"
            ));
        }
        if label.len() > 63 {
            return Err(format!(
                "the label `{label}` in the host `{host}` is longer than 63 characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|&c| !c.is_ascii_alphanumeric() && c != '-')
        {
            return Err(format!(
                "the host `{host}` contains {}: a host name has only letters, digits, `-` and `.`",
                describe_char(c)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the label `{label}` in the host `{host}` cannot start or end with `-`"
            ));
        }
    }
    Ok(())
}

fn check_port(url: &str, port: &str) -> Result<(), String> {
    if port.is_empty() {
        return Err(format!(
            "`{url}` has `:` after the host but no port: remove the `:` or add a port number"
        ));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{port}` in `{url}` is not a port number: a port is a number from 1 to 65535"
        ));
    }
    match port.parse::<u16>() {
        Ok(1..) => Ok(()),
        _ => Err(format!(
            "the port `{port}` in `{url}` is out of range: a port is a number from 1 to 65535"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

/// Checks an issuer identifier: a DID (when it starts with `did:`) or an https URL.
pub fn check_identifier(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty identifier: write a DID (`did:method:id`) or an https URL".to_owned());
    }
    if let Some(message) = padded(s, |t| check_identifier(t).is_ok()) {
        return Err(message);
    }
    if strip_prefix_ignore_case(s, "did:").is_some() {
        return check_did(s);
    }
    if s.contains("://")
        || strip_prefix_ignore_case(s, "https:").is_some()
        || strip_prefix_ignore_case(s, "http:").is_some()
    {
        return check_https_url(s);
    }
    let mut message = format!("`{s}` is neither a DID (`did:method:id`) nor an https URL");
    let with_scheme = format!("https://{s}");
    if looks_like_host(s) && check_https_url(&with_scheme).is_ok() {
        message.push_str(&format!(": for a web address, write `{with_scheme}`"));
    }
    Err(message)
}

// ---------------------------------------------------------------------------------------------
// ISO 8601 durations
// ---------------------------------------------------------------------------------------------

/// An ISO 8601 duration, such as `P1Y6M` or `PT12H`, in whole numbers of each unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Duration {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
    pub minutes: u32,
    pub seconds: u32,
}

impl Duration {
    /// The length in seconds, counting a year as 365.25 days and a month as 30.44 days.
    pub fn approx_seconds(&self) -> u64 {
        u64::from(self.years) * 31_557_600
            + u64::from(self.months) * 2_629_746
            + u64::from(self.weeks) * 604_800
            + u64::from(self.days) * 86_400
            + u64::from(self.hours) * 3_600
            + u64::from(self.minutes) * 60
            + u64::from(self.seconds)
    }

    fn from_slots(slots: [u32; 7]) -> Duration {
        let [years, months, weeks, days, hours, minutes, seconds] = slots;
        Duration {
            years,
            months,
            weeks,
            days,
            hours,
            minutes,
            seconds,
        }
    }
}

/// The canonical form: components in order, zero components left out, and `P0D` when all are
/// zero.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ];
        let time = [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')];
        if date.iter().chain(&time).all(|&(n, _)| n == 0) {
            return f.write_str("P0D");
        }
        f.write_str("P")?;
        for (n, unit) in date {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        if time.iter().any(|&(n, _)| n != 0) {
            f.write_str("T")?;
            for (n, unit) in time {
                if n != 0 {
                    write!(f, "{n}{unit}")?;
                }
            }
        }
        Ok(())
    }
}

/// How durations are written, for messages about durations written otherwise.
const DURATION_FORM: &str =
    "write it as `PnYnMnDTnHnMnS` or `PnW`, such as `P1Y`, `P2W` or `PT12H`";

/// Unit names of the duration slots, in order: years, months, weeks, days, hours, minutes,
/// seconds.
const SLOT_NAMES: [&str; 7] = [
    "years", "months", "weeks", "days", "hours", "minutes", "seconds",
];

/// One `nX` component of a duration as written.
struct Component<'a> {
    /// The number, possibly with a fraction (`1.5`, `1,5`).
    number: &'a str,
    unit: char,
    /// Whether it comes after `T`.
    after_t: bool,
}

impl Component<'_> {
    /// The slot (index into [`SLOT_NAMES`]) the component means, and whether it is in the right
    /// half of the duration. An `M` before `T` but after an hours component means minutes.
    fn slot(&self, time_seen: bool) -> (usize, bool) {
        match (self.unit, self.after_t) {
            ('Y', t) => (0, !t),
            ('W', t) => (2, !t),
            ('D', t) => (3, !t),
            ('M', false) if time_seen => (5, false),
            ('M', false) => (1, true),
            ('M', true) => (5, true),
            ('H', t) => (4, t),
            (_, t) => (6, t),
        }
    }
}

/// Parses an ISO 8601 duration: `PnYnMnWnDTnHnMnS` with any non-empty subset of the components,
/// in that order, in whole numbers.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err(format!("empty duration: {DURATION_FORM}"));
    }
    if let Some(message) = padded(s, |t| parse_duration(t).is_ok()) {
        return Err(message);
    }
    if s.bytes().any(|b| b.is_ascii_lowercase()) {
        let upper = s.to_ascii_uppercase();
        return Err(match parse_duration(&upper) {
            Ok(_) => format!("write `{upper}`: ISO 8601 durations are uppercase"),
            // Uppercasing does not help (`1 year`): say what a duration looks like instead.
            Err(_) => format!("`{s}` is not an ISO 8601 duration: {DURATION_FORM}"),
        });
    }
    if s.starts_with('-') {
        return Err(format!("`{s}` is negative: durations cannot be negative"));
    }
    let Some(body) = s.strip_prefix('P') else {
        let with_p = format!("P{s}");
        return Err(if parse_duration(&with_p).is_ok() {
            format!("`{s}` must start with `P`: write `{with_p}`")
        } else {
            format!("`{s}` is not an ISO 8601 duration: {DURATION_FORM}")
        });
    };
    if body.is_empty() {
        return Err(
            "`P` has no components: write at least one, such as `P1D` or `PT1H`".to_owned(),
        );
    }
    let components = lex_duration(s, body)?;

    let suggestion = suggest_duration(&components).map(|d| d.to_string());
    let write_suggestion = || match &suggestion {
        Some(d) if d != s => format!(": write `{d}`"),
        _ => String::new(),
    };
    let mut slots = [0; 7];
    let mut last: Option<usize> = None;
    let mut time_seen = false;
    for component in &components {
        let (slot, placed) = component.slot(time_seen);
        time_seen |= slot >= 4;
        if !component.number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{s}` has a fraction (`{}`), and trustc accepts only whole numbers{}",
                component.number,
                match write_suggestion() {
                    w if w.is_empty() => ": use a smaller unit".to_owned(),
                    w => w,
                }
            ));
        }
        if !placed {
            let half = if slot >= 4 {
                "a time component and must come after `T`"
            } else {
                "a date component and must come before `T`"
            };
            return Err(format!(
                "`{}` ({}) in `{s}` is {half}{}",
                component.unit,
                SLOT_NAMES[slot],
                write_suggestion()
            ));
        }
        if last == Some(slot) {
            return Err(format!(
                "`{s}` has {} (`{}`) twice: write each component once",
                SLOT_NAMES[slot], component.unit
            ));
        }
        if last.is_some_and(|last| last > slot) {
            return Err(format!(
                "the components of `{s}` are out of order (years, months, weeks, days, then `T` \
                 and hours, minutes, seconds){}",
                write_suggestion()
            ));
        }
        last = Some(slot);
        slots[slot] = component.number.parse().map_err(|_| {
            format!(
                "`{}` in `{s}` is too large: the largest number trustc accepts is {}",
                component.number,
                u32::MAX
            )
        })?;
    }
    if s.contains('T') && !time_seen {
        return Err(if components.is_empty() {
            format!(
                "`{s}` has `T` but no hours, minutes or seconds after it: write at least one, \
                 such as `PT1H`"
            )
        } else {
            format!(
                "`{s}` has `T` but no hours, minutes or seconds after it: write `{}`",
                s.trim_end_matches('T')
            )
        });
    }
    Ok(Duration::from_slots(slots))
}

/// Splits the part of duration `s` after `P` into components.
fn lex_duration<'a>(s: &str, body: &'a str) -> Result<Vec<Component<'a>>, String> {
    let mut components = Vec::new();
    let mut after_t = false;
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if c == 'T' {
            if after_t {
                return Err(format!(
                    "`{s}` has `T` twice: write it once, before the hours"
                ));
            }
            after_t = true;
            rest = &rest[1..];
            continue;
        }
        if c == '-' {
            return Err(format!(
                "`{s}` has a negative number: durations cannot be negative"
            ));
        }
        let number_len = number_prefix_len(rest);
        if number_len == 0 {
            return Err(if "YMWDHS".contains(c) {
                format!("`{c}` in `{s}` has no number before it, as in `1{c}`")
            } else {
                format!(
                    "`{s}` contains {}, which is not allowed in a duration: {DURATION_FORM}",
                    describe_char(c)
                )
            });
        }
        let (number, after) = rest.split_at(number_len);
        let Some(unit) = after.chars().next() else {
            return Err(format!(
                "`{s}` ends with `{number}` without a unit: add `Y`, `M`, `W` or `D`, or after \
                 `T` `H`, `M` or `S`"
            ));
        };
        if !"YMWDHS".contains(unit) {
            return Err(format!(
                "`{s}` has {} after `{number}`, which is not a unit: use `Y`, `M`, `W` or `D`, or \
                 after `T` `H`, `M` or `S`",
                describe_char(unit)
            ));
        }
        components.push(Component {
            number,
            unit,
            after_t,
        });
        rest = &after[unit.len_utf8()..];
    }
    Ok(components)
}

/// The length of the number at the start of `s`: digits, optionally followed by `.` or `,` and
/// more digits.
fn number_prefix_len(s: &str) -> usize {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(s);
    if whole > 0 && matches!(s.as_bytes().get(whole), Some(b'.' | b',')) {
        whole + 1 + digits(&s[whole + 1..])
    } else {
        whole
    }
}

/// What the components most likely mean, as whole numbers: each component goes in the slot its
/// unit names, and fractions carry into the next smaller unit when that is exact (a year is 12
/// months, a week 7 days, a day 24 hours, an hour 60 minutes, a minute 60 seconds). `None` when
/// a unit repeats, a fraction does not come out whole, or a number is too large.
fn suggest_duration(components: &[Component<'_>]) -> Option<Duration> {
    const MAX_DIGITS: usize = 12;
    // The slot a fraction carries into, and how many of that unit make one of this.
    const CARRY: [Option<(usize, u128)>; 7] = [
        Some((1, 12)),
        None,
        Some((3, 7)),
        Some((4, 24)),
        Some((5, 60)),
        Some((6, 60)),
        None,
    ];
    // Values are numerators over 10^scale.
    let scale = components
        .iter()
        .map(|c| c.number.len() - c.number.bytes().take_while(u8::is_ascii_digit).count())
        .max()
        .unwrap_or(0)
        .saturating_sub(1);
    let denominator = 10u128.checked_pow(u32::try_from(scale).ok()?)?;
    let mut values = [None::<u128>; 7];
    let mut time_seen = false;
    for component in components {
        let (slot, _) = component.slot(time_seen);
        time_seen |= slot >= 4;
        if values[slot].is_some() || component.number.len() > MAX_DIGITS + 1 {
            return None;
        }
        let (whole, fraction) = component
            .number
            .split_once(['.', ','])
            .unwrap_or((component.number, ""));
        let padded_fraction = format!("{fraction:0<scale$}");
        let whole: u128 = whole.parse().ok()?;
        let fraction: u128 = if scale == 0 {
            0
        } else {
            padded_fraction.parse().ok()?
        };
        values[slot] = Some(whole.checked_mul(denominator)? + fraction);
    }
    let mut values = values.map(Option::unwrap_or_default);
    let mut slots = [0u32; 7];
    for slot in 0..7 {
        let (whole, fraction) = (values[slot] / denominator, values[slot] % denominator);
        if fraction != 0 {
            let (next, factor) = CARRY[slot]?;
            values[next] = values[next].checked_add(fraction.checked_mul(factor)?)?;
        }
        slots[slot] = u32::try_from(whole).ok()?;
    }
    Some(Duration::from_slots(slots))
}

// ---------------------------------------------------------------------------------------------
// Colours
// ---------------------------------------------------------------------------------------------

/// Parses a colour written `#RRGGBB` (hex digits in either case).
pub fn parse_colour(s: &str) -> Result<[u8; 3], String> {
    s.strip_prefix('#')
        .and_then(parse_hex)
        .ok_or_else(|| colour_error(s))
}

/// The colour of `hex` when it is exactly six hex digits.
fn parse_hex(hex: &str) -> Option<[u8; 3]> {
    let expanded = expand_hex(hex)?;
    (hex.len() == 6).then_some(expanded)
}

/// `RRGGBB`, `RGB`, `RRGGBBAA` or `RGBA` hex digits as a colour without alpha.
fn expand_hex(hex: &str) -> Option<[u8; 3]> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize, width: usize| {
        let n = u8::from_str_radix(&hex[i * width..(i + 1) * width], 16).ok()?;
        Some(if width == 1 { n * 17 } else { n })
    };
    let width = match hex.len() {
        3 | 4 => 1,
        6 | 8 => 2,
        _ => return None,
    };
    Some([channel(0, width)?, channel(1, width)?, channel(2, width)?])
}

/// `#RRGGBB` in uppercase hex.
fn to_hex(rgb: [u8; 3]) -> String {
    format!("#{:02X}{:02X}{:02X}", rgb[0], rgb[1], rgb[2])
}

/// The colour `s` stands for when it is written in another form with one meaning (`rgb(0, 51,
/// 102)`, `#036`, `003366`, `navy`, with spaces around it…), without alpha: the `#RRGGBB` value the
/// `invalid-colour` help suggests. `None` when `s` is not a colour.
pub fn equivalent_colour(s: &str) -> Option<[u8; 3]> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix('#') {
        return expand_hex(hex);
    }
    if let Some(rgb) =
        parse_hex(t).or_else(|| strip_prefix_ignore_case(t, "0x").and_then(parse_hex))
    {
        return Some(rgb);
    }
    if let Some(result) = parse_rgb_function(t) {
        return result.ok().map(|(rgb, _)| rgb);
    }
    NAMED_COLOURS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
        .map(|&(_, rgb)| rgb)
}

/// Why `s` is not `#RRGGBB`, with the `#RRGGBB` to write when it can be worked out.
fn colour_error(s: &str) -> String {
    let write = |rgb: [u8; 3]| {
        format!(
            "`{s}` is not #RRGGBB; wallets compute the text colour only from #RRGGBB: write `{}`",
            to_hex(rgb)
        )
    };
    let drop_alpha = |rgb: [u8; 3]| {
        format!(
            "`{s}` has an alpha channel; wallets compute the text colour only from #RRGGBB, \
             without alpha: write `{}`",
            to_hex(rgb)
        )
    };
    let not_colour = format!("`{s}` is not a colour in the form #RRGGBB");
    if s.is_empty() {
        return "empty colour: write a colour as #RRGGBB, such as `#003366`".to_owned();
    }
    let t = s.trim();
    if t != s && parse_colour(t).is_ok() {
        return format!("`{s}` has whitespace around it: write `{t}`");
    }
    if let Some(hex) = t.strip_prefix('#') {
        if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
            return format!("{not_colour}: {} is not a hex digit", describe_char(c));
        }
        return match (hex.len(), expand_hex(hex)) {
            (3, Some(rgb)) => write(rgb),
            (4 | 8, Some(rgb)) => drop_alpha(rgb),
            (n, _) => format!("{not_colour}: it has {n} hex digits after `#`, not 6"),
        };
    }
    if let Some(rgb) = parse_hex(t) {
        return format!("`{s}` is missing the `#`: write `{}`", to_hex(rgb));
    }
    if let Some(rgb) = strip_prefix_ignore_case(t, "0x").and_then(parse_hex) {
        return write(rgb);
    }
    if let Some(result) = parse_rgb_function(t) {
        return match result {
            Ok((rgb, false)) => write(rgb),
            Ok((rgb, true)) => drop_alpha(rgb),
            Err(why) => format!("{not_colour}: {why}"),
        };
    }
    if let Some(&(_, rgb)) = NAMED_COLOURS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
    {
        return write(rgb);
    }
    not_colour
}

/// Parses CSS `rgb(r, g, b)`, `rgb(r g b)`, `rgba(r, g, b, a)` or `rgb(r g b / a)` with channels
/// written as whole numbers: the colour, and whether it had an alpha value. `None` when `s` is
/// not an `rgb(…)` or `rgba(…)` function at all.
fn parse_rgb_function(s: &str) -> Option<Result<([u8; 3], bool), String>> {
    let args = strip_prefix_ignore_case(s, "rgba(")
        .or_else(|| strip_prefix_ignore_case(s, "rgb("))?
        .trim_end();
    let Some(args) = args.strip_suffix(')') else {
        return Some(Err("`)` is missing at the end".to_owned()));
    };
    let values: Vec<&str> = args
        .split([',', '/'])
        .flat_map(str::split_whitespace)
        .collect();
    if !(3..=4).contains(&values.len()) {
        return Some(Err(format!(
            "it has {} values, and `rgb()` needs 3 (red, green and blue)",
            values.len()
        )));
    }
    let mut rgb = [0; 3];
    for (channel, value) in rgb.iter_mut().zip(&values) {
        *channel = match value.parse::<u16>() {
            Ok(n) => match u8::try_from(n) {
                Ok(n) => n,
                Err(_) => return Some(Err(format!("`{value}` is more than 255"))),
            },
            Err(_) => {
                return Some(Err(format!(
                    "`{value}` is not a whole number from 0 to 255"
                )));
            }
        };
    }
    Some(Ok((rgb, values.len() == 4)))
}

/// The 16 basic CSS colours, with `grey` for `gray` and the common aliases `cyan`, `magenta` and
/// `orange`.
const NAMED_COLOURS: &[(&str, [u8; 3])] = &[
    ("aqua", [0x00, 0xFF, 0xFF]),
    ("black", [0x00, 0x00, 0x00]),
    ("blue", [0x00, 0x00, 0xFF]),
    ("cyan", [0x00, 0xFF, 0xFF]),
    ("fuchsia", [0xFF, 0x00, 0xFF]),
    ("gray", [0x80, 0x80, 0x80]),
    ("green", [0x00, 0x80, 0x00]),
    ("grey", [0x80, 0x80, 0x80]),
    ("lime", [0x00, 0xFF, 0x00]),
    ("magenta", [0xFF, 0x00, 0xFF]),
    ("maroon", [0x80, 0x00, 0x00]),
    ("navy", [0x00, 0x00, 0x80]),
    ("olive", [0x80, 0x80, 0x00]),
    ("orange", [0xFF, 0xA5, 0x00]),
    ("purple", [0x80, 0x00, 0x80]),
    ("red", [0xFF, 0x00, 0x00]),
    ("silver", [0xC0, 0xC0, 0xC0]),
    ("teal", [0x00, 0x80, 0x80]),
    ("white", [0xFF, 0xFF, 0xFF]),
    ("yellow", [0xFF, 0xFF, 0x00]),
];

/// The relative luminance of an sRGB colour, from 0 (black) to 1 (white), as WCAG 2 defines it.
pub fn relative_luminance(rgb: [u8; 3]) -> f64 {
    let linear = |channel: u8| {
        let c = f64::from(channel) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// The WCAG 2 contrast ratio of two colours, from 1 (the same) to 21 (black on white), in either
/// order.
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (lighter, darker) = if la >= lb { (la, lb) } else { (lb, la) };
    (lighter + 0.05) / (darker + 0.05)
}

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

// ---------------------------------------------------------------------------------------------
// Code lists
// ---------------------------------------------------------------------------------------------

/// The 183 ISO 639-1 language codes, sorted (ISO 639-1 as of 2021, when `bh` was withdrawn).
#[rustfmt::skip]
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az",
    "ba", "be", "bg", "bi", "bm", "bn", "bo", "br", "bs",
    "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy",
    "da", "de", "dv", "dz",
    "ee", "el", "en", "eo", "es", "et", "eu",
    "fa", "ff", "fi", "fj", "fo", "fr", "fy",
    "ga", "gd", "gl", "gn", "gu", "gv",
    "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu",
    "ja", "jv",
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw",
    "ky",
    "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv",
    "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my",
    "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny",
    "oc", "oj", "om", "or", "os",
    "pa", "pi", "pl", "ps", "pt",
    "qu",
    "rm", "rn", "ro", "ru", "rw",
    "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss",
    "st", "su", "sv", "sw",
    "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty",
    "ug", "uk", "ur", "uz",
    "ve", "vi", "vo",
    "wa", "wo",
    "xh",
    "yi", "yo",
    "za", "zh", "zu",
];

/// The 249 officially assigned ISO 3166-1 alpha-2 region codes, sorted.
#[rustfmt::skip]
const ISO_3166_1: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW",
    "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ",
    "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
    "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
    "CV", "CW", "CX", "CY", "CZ",
    "DE", "DJ", "DK", "DM", "DO", "DZ",
    "EC", "EE", "EG", "EH", "ER", "ES", "ET",
    "FI", "FJ", "FK", "FM", "FO", "FR",
    "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR",
    "GS", "GT", "GU", "GW", "GY",
    "HK", "HM", "HN", "HR", "HT", "HU",
    "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",
    "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",
    "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ",
    "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
    "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM",
    "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY",
    "QA",
    "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO",
    "SR", "SS", "ST", "SV", "SX", "SY", "SZ",
    "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV",
    "TW", "TZ",
    "UA", "UG", "UM", "US", "UY", "UZ",
    "VA", "VC", "VE", "VG", "VI", "VN", "VU",
    "WF", "WS",
    "YE", "YT",
    "ZA", "ZM", "ZW",
];

/// Every ISO 639-2 code (terminological and bibliographic) that has an ISO 639-1 equivalent, with
/// that equivalent, sorted by the three-letter code. ISO 639-3 uses the terminological codes.
#[rustfmt::skip]
const ISO_639_2_TO_1: &[(&str, &str)] = &[
    ("aar", "aa"), ("abk", "ab"), ("afr", "af"), ("aka", "ak"), ("alb", "sq"), ("amh", "am"),
    ("ara", "ar"), ("arg", "an"), ("arm", "hy"), ("asm", "as"), ("ava", "av"), ("ave", "ae"),
    ("aym", "ay"), ("aze", "az"),
    ("bak", "ba"), ("bam", "bm"), ("baq", "eu"), ("bel", "be"), ("ben", "bn"), ("bis", "bi"),
    ("bod", "bo"), ("bos", "bs"), ("bre", "br"), ("bul", "bg"), ("bur", "my"),
    ("cat", "ca"), ("ces", "cs"), ("cha", "ch"), ("che", "ce"), ("chi", "zh"), ("chu", "cu"),
    ("chv", "cv"), ("cor", "kw"), ("cos", "co"), ("cre", "cr"), ("cym", "cy"), ("cze", "cs"),
    ("dan", "da"), ("deu", "de"), ("div", "dv"), ("dut", "nl"), ("dzo", "dz"),
    ("ell", "el"), ("eng", "en"), ("epo", "eo"), ("est", "et"), ("eus", "eu"), ("ewe", "ee"),
    ("fao", "fo"), ("fas", "fa"), ("fij", "fj"), ("fin", "fi"), ("fra", "fr"), ("fre", "fr"),
    ("fry", "fy"), ("ful", "ff"),
    ("geo", "ka"), ("ger", "de"), ("gla", "gd"), ("gle", "ga"), ("glg", "gl"), ("glv", "gv"),
    ("gre", "el"), ("grn", "gn"), ("guj", "gu"),
    ("hat", "ht"), ("hau", "ha"), ("heb", "he"), ("her", "hz"), ("hin", "hi"), ("hmo", "ho"),
    ("hrv", "hr"), ("hun", "hu"), ("hye", "hy"),
    ("ibo", "ig"), ("ice", "is"), ("ido", "io"), ("iii", "ii"), ("iku", "iu"), ("ile", "ie"),
    ("ina", "ia"), ("ind", "id"), ("ipk", "ik"), ("isl", "is"), ("ita", "it"),
    ("jav", "jv"), ("jpn", "ja"),
    ("kal", "kl"), ("kan", "kn"), ("kas", "ks"), ("kat", "ka"), ("kau", "kr"), ("kaz", "kk"),
    ("khm", "km"), ("kik", "ki"), ("kin", "rw"), ("kir", "ky"), ("kom", "kv"), ("kon", "kg"),
    ("kor", "ko"), ("kua", "kj"), ("kur", "ku"),
    ("lao", "lo"), ("lat", "la"), ("lav", "lv"), ("lim", "li"), ("lin", "ln"), ("lit", "lt"),
    ("ltz", "lb"), ("lub", "lu"), ("lug", "lg"),
    ("mac", "mk"), ("mah", "mh"), ("mal", "ml"), ("mao", "mi"), ("mar", "mr"), ("may", "ms"),
    ("mkd", "mk"), ("mlg", "mg"), ("mlt", "mt"), ("mon", "mn"), ("mri", "mi"), ("msa", "ms"),
    ("mya", "my"),
    ("nau", "na"), ("nav", "nv"), ("nbl", "nr"), ("nde", "nd"), ("ndo", "ng"), ("nep", "ne"),
    ("nld", "nl"), ("nno", "nn"), ("nob", "nb"), ("nor", "no"), ("nya", "ny"),
    ("oci", "oc"), ("oji", "oj"), ("ori", "or"), ("orm", "om"), ("oss", "os"),
    ("pan", "pa"), ("per", "fa"), ("pli", "pi"), ("pol", "pl"), ("por", "pt"), ("pus", "ps"),
    ("que", "qu"),
    ("roh", "rm"), ("ron", "ro"), ("rum", "ro"), ("run", "rn"), ("rus", "ru"),
    ("sag", "sg"), ("san", "sa"), ("sin", "si"), ("slk", "sk"), ("slo", "sk"), ("slv", "sl"),
    ("sme", "se"), ("smo", "sm"), ("sna", "sn"), ("snd", "sd"), ("som", "so"), ("sot", "st"),
    ("spa", "es"), ("sqi", "sq"), ("srd", "sc"), ("srp", "sr"), ("ssw", "ss"), ("sun", "su"),
    ("swa", "sw"), ("swe", "sv"),
    ("tah", "ty"), ("tam", "ta"), ("tat", "tt"), ("tel", "te"), ("tgk", "tg"), ("tgl", "tl"),
    ("tha", "th"), ("tib", "bo"), ("tir", "ti"), ("ton", "to"), ("tsn", "tn"), ("tso", "ts"),
    ("tuk", "tk"), ("tur", "tr"), ("twi", "tw"),
    ("uig", "ug"), ("ukr", "uk"), ("urd", "ur"), ("uzb", "uz"),
    ("ven", "ve"), ("vie", "vi"), ("vol", "vo"),
    ("wel", "cy"), ("wln", "wa"), ("wol", "wo"),
    ("xho", "xh"),
    ("yid", "yi"), ("yor", "yo"),
    ("zha", "za"), ("zho", "zh"), ("zul", "zu"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: fmt::Debug>(result: Result<T, String>) -> String {
        result.expect_err("expected an error")
    }

    // --- code lists ---

    #[test]
    fn code_lists_are_complete_sorted_and_well_formed() {
        assert_eq!(ISO_639_1.len(), 183);
        assert_eq!(ISO_3166_1.len(), 249);
        assert!(ISO_639_1.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_3166_1.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_639_2_TO_1.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            ISO_639_1
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert!(
            ISO_3166_1
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        for (three, two) in ISO_639_2_TO_1 {
            assert_eq!(three.len(), 3);
            assert!(ISO_639_1.binary_search(two).is_ok(), "{three} -> {two}");
        }
        // Every ISO 639-1 code has a three-letter equivalent.
        for two in ISO_639_1 {
            assert!(ISO_639_2_TO_1.iter().any(|(_, t)| t == two), "{two}");
        }
        for (code, _) in WITHDRAWN_639_1 {
            assert!(ISO_639_1.binary_search(code).is_err(), "{code}");
        }
    }

    // --- language tags ---

    #[test]
    fn language_tags_valid() {
        assert_eq!(
            parse_language("en"),
            Ok(LanguageTag {
                language: "en".into(),
                region: None
            })
        );
        assert_eq!(
            parse_language("en-CA"),
            Ok(LanguageTag {
                language: "en".into(),
                region: Some("CA".into())
            })
        );
        for tag in [
            "fr", "fr-CA", "de-DE", "zh-TW", "aa", "zu", "pt-BR", "nb-NO", "en-AX",
        ] {
            let parsed = parse_language(tag).unwrap();
            assert_eq!(parsed.to_string(), tag);
        }
    }

    #[test]
    fn language_tag_case() {
        assert_eq!(
            err(parse_language("EN")),
            "`EN` must be lowercase: write `en`"
        );
        assert_eq!(
            err(parse_language("En")),
            "`En` must be lowercase: write `en`"
        );
        assert_eq!(
            err(parse_language("EN-CA")),
            "in `EN-CA`, the language must be lowercase: `en-CA`"
        );
        assert_eq!(
            err(parse_language("en-ca")),
            "in `en-ca`, the region must be uppercase: `en-CA`"
        );
        assert_eq!(
            err(parse_language("en-Ca")),
            "in `en-Ca`, the region must be uppercase: `en-CA`"
        );
    }

    #[test]
    fn language_tag_three_letter_codes() {
        assert_eq!(
            err(parse_language("eng")),
            "`eng` is a three-letter ISO 639-2/3 code; OCA and trustc use two-letter ISO 639-1 \
             codes such as `en`: write `en`"
        );
        for (three, fix) in [
            ("fra", "fr"),
            ("fre", "fr"),
            ("deu", "de"),
            ("ger", "de"),
            ("spa", "es"),
            ("zho", "zh"),
            ("chi", "zh"),
            ("nld", "nl"),
            ("dut", "nl"),
            ("FRA", "fr"),
            ("fra-CA", "fr-CA"),
            ("fra-ca", "fr-CA"),
        ] {
            let message = err(parse_language(three));
            assert!(message.ends_with(&format!(": write `{fix}`")), "{message}");
        }
        let message = err(parse_language("haw"));
        assert!(
            message.starts_with("`haw` is a three-letter code"),
            "{message}"
        );
        assert!(message.contains("there is none for `haw`"), "{message}");
    }

    #[test]
    fn language_tag_separator_and_shape() {
        assert_eq!(
            err(parse_language("en_CA")),
            "`en_CA` uses `_`; use `-` between language and region: `en-CA`"
        );
        assert!(err(parse_language("en_ca")).ends_with("language and region: `en-CA`"));
        for tag in ["en-Latn-CA", "en-", "-CA", "en--CA", "en-CA-x", ""] {
            let message = err(parse_language(tag));
            assert!(
                message.contains("trustc accepts only `ll`") && message.contains("`ll-RR`"),
                "{tag}: {message}"
            );
        }
        assert!(err(parse_language("")).starts_with("empty language tag"));
        assert!(err(parse_language("en-Latn-CA")).contains("script subtag (`Latn`)"));
        assert!(err(parse_language("zh-Hant")).contains("`Hant` in `zh-Hant` is a script subtag"));
        assert!(err(parse_language("es-419")).contains("UN M.49"));
        assert!(err(parse_language("en CA")).contains("contains a space"));
        assert_eq!(
            err(parse_language(" en-CA ")),
            "` en-CA ` has whitespace around it: write `en-CA`"
        );
    }

    #[test]
    fn language_tag_unknown_codes() {
        assert_eq!(
            err(parse_language("xx")),
            "`xx` is not an ISO 639-1 language code"
        );
        assert_eq!(
            err(parse_language("XX")),
            "`XX` is not an ISO 639-1 language code"
        );
        assert_eq!(
            err(parse_language("en-XX")),
            "`XX` is not an ISO 3166-1 region code"
        );
        assert!(err(parse_language("english")).contains("not an ISO 639-1 language code"));
        assert!(err(parse_language("e1")).contains("not an ISO 639-1 language code"));
        assert!(err(parse_language("en-CAN")).contains("such as `CA` rather than `CAN`"));
        assert!(err(parse_language("en-UK")).ends_with("write `en-GB`"));
        assert_eq!(
            err(parse_language("iw")),
            "`iw` is a withdrawn ISO 639-1 code: write `he` (Hebrew)"
        );
        assert!(err(parse_language("bh")).contains("withdrawn"));
    }

    // --- DIDs ---

    #[test]
    fn dids_valid() {
        for did in [
            "did:web:example.com",
            "did:web:example.com:issuers:42",
            "did:web:example.com%3A8443",
            "did:example:123456789abcdefghi",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "did:ion:EiD_a-b.c",
            "did:web::x",
            "did:3:abc",
        ] {
            assert_eq!(check_did(did), Ok(()), "{did}");
        }
    }

    #[test]
    fn dids_invalid() {
        assert_eq!(
            err(check_did("did:Web:example.com")),
            "the method name `Web` must be lowercase letters and digits: write \
             `did:web:example.com`"
        );
        assert_eq!(
            err(check_did("did:w-b:x")),
            "the method name `w-b` must be lowercase letters and digits"
        );
        assert_eq!(
            err(check_did("did:web:example.com:")),
            "a DID cannot end with `:`: write `did:web:example.com`"
        );
        assert!(err(check_did("did:web:a:b::")).starts_with("a DID cannot end with `:`"));
        assert!(
            err(check_did("did:web:a%G1")).starts_with("`%G1` is not a valid percent-encoding")
        );
        assert!(err(check_did("did:web:a%2")).starts_with("`%2` is not a valid percent-encoding"));
        assert!(err(check_did("did:web:a%")).starts_with("`%` is not a valid percent-encoding"));
        assert!(err(check_did("did:web:a b")).contains("contains a space"));
        assert!(err(check_did("did:web:a@b")).contains("(here `%40`)"));
        assert_eq!(
            err(check_did("DID:web:x")),
            "the scheme of `DID:web:x` must be lowercase: write `did:web:x`"
        );
        assert!(err(check_did("")).starts_with("empty DID"));
        assert!(err(check_did("web:x")).starts_with("`web:x` is not a DID"));
        assert!(err(check_did("did:")).contains("no method name or identifier"));
        assert!(err(check_did("did:web")).contains("no identifier after the method name"));
        assert!(err(check_did("did:web:")).contains("no identifier after the method name"));
        assert!(err(check_did("did::x")).contains("has no method name"));
        assert_eq!(
            err(check_did(" did:web:x")),
            "` did:web:x` has whitespace around it: write `did:web:x`"
        );
    }

    #[test]
    fn did_urls_are_not_dids() {
        for (url, part) in [
            ("did:web:example.com#key-1", "a fragment"),
            ("did:web:example.com/path", "a path"),
            ("did:web:example.com?service=x", "a query"),
        ] {
            assert_eq!(
                err(check_did(url)),
                format!(
                    "`{url}` is a DID URL (it has {part}), and a DID URL is not an identifier of \
                     an issuer: write the DID alone, `did:web:example.com`"
                )
            );
        }
        let message = err(check_did("did:Web:x#k"));
        assert!(
            message.contains("DID URL") && !message.contains("write"),
            "{message}"
        );
    }

    // --- https URLs ---

    #[test]
    fn https_urls_valid() {
        for url in [
            "https://example.com",
            "https://example.com/",
            "https://www.Example-1.com/a/b?c=d&e=%20f",
            "https://example.com:8443/x",
            "https://example.com?x=1",
            "https://localhost",
            "https://192.0.2.1",
            "https://192.0.2.1:443/path",
            "https://[::1]",
            "https://[2001:db8::1]:8443/x",
            "https://xn--mnchen-3ya.de",
            "https://a:65535",
        ] {
            assert_eq!(check_https_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn https_urls_invalid() {
        assert_eq!(
            err(check_https_url("http://example.com/x")),
            "`http://example.com/x` uses http; use https: `https://example.com/x`"
        );
        assert!(err(check_https_url("HTTP://x.com")).contains("use https"));
        assert_eq!(
            err(check_https_url("HTTPS://example.com")),
            "the scheme of `HTTPS://example.com` must be lowercase: write `https://example.com`"
        );
        assert_eq!(
            err(check_https_url("ftp://example.com")),
            "`ftp://example.com` uses the `ftp` scheme; use https"
        );
        assert_eq!(
            err(check_https_url("example.com/x")),
            "`example.com/x` has no scheme: write `https://example.com/x`"
        );
        assert_eq!(
            err(check_https_url("https:/example.com")),
            "`https:/example.com` needs `//` after `https:`: write `https://example.com`"
        );
        assert!(err(check_https_url("")).starts_with("empty URL"));
        assert!(err(check_https_url("https://")).contains("has no host"));
        assert!(err(check_https_url("https:///x")).contains("has no host"));
        assert!(err(check_https_url("https://:443")).contains("has no host"));
        assert_eq!(
            err(check_https_url("https://user:pw@example.com/x")),
            "`https://user:pw@example.com/x` has user information (`user:pw@`), which an https \
             URL here must not have: write `https://example.com/x`"
        );
        assert_eq!(
            err(check_https_url("https://example.com/a#top")),
            "`https://example.com/a#top` has a fragment (`#top`), which an https URL here must \
             not have: write `https://example.com/a`"
        );
        assert!(err(check_https_url("https://exa mple.com")).contains("contains a space"));
        assert!(err(check_https_url("https://example.com/a\tb")).contains("U+0009"));
        assert!(err(check_https_url("https://example.com/\u{0}")).contains("U+0000"));
        assert!(err(check_https_url("https://-a.com")).contains("cannot start or end with `-`"));
        assert!(err(check_https_url("https://a-.com")).contains("cannot start or end with `-`"));
        assert!(err(check_https_url("https://a..com")).contains("empty label"));
        assert!(err(check_https_url("https://.a.com")).contains("empty label"));
        assert!(err(check_https_url("https://a_b.com")).contains("contains `_`"));
        assert!(err(check_https_url("https://münchen.de")).contains("punycode"));
        assert_eq!(
            err(check_https_url("https://example.com./x")),
            "the host `example.com.` ends with `.`: write `https://example.com/x`"
        );
        let long_label = format!("https://{}.com", "a".repeat(64));
        assert!(err(check_https_url(&long_label)).contains("longer than 63"));
        assert!(err(check_https_url("https://999.1.1.1")).contains("not a valid IPv4"));
        assert!(err(check_https_url("https://1.2.3")).contains("not a valid IPv4"));
        assert!(err(check_https_url("https://[::g]")).contains("not a valid IPv6"));
        assert!(err(check_https_url("https://[::1")).contains("without `]`"));
        assert!(err(check_https_url("https://[::1]x")).contains("only `:port`"));
        assert!(err(check_https_url("https://x.com:")).contains("no port"));
        assert!(err(check_https_url("https://x.com:0")).contains("out of range"));
        assert!(err(check_https_url("https://x.com:65536")).contains("out of range"));
        assert!(err(check_https_url("https://x.com:99999999999")).contains("out of range"));
        assert!(err(check_https_url("https://x.com:ab")).contains("not a port number"));
        assert!(err(check_https_url("https://x.com/%zz")).contains("`%zz` is not a valid"));
        assert_eq!(
            err(check_https_url(" https://x.com")),
            "` https://x.com` has whitespace around it: write `https://x.com`"
        );
    }

    // --- identifiers ---

    #[test]
    fn identifiers() {
        assert_eq!(check_identifier("did:web:example.com"), Ok(()));
        assert_eq!(check_identifier("https://example.com/issuer"), Ok(()));
        assert_eq!(
            err(check_identifier("did:web:x#k")),
            err(check_did("did:web:x#k"))
        );
        assert_eq!(
            err(check_identifier("DID:web:x")),
            "the scheme of `DID:web:x` must be lowercase: write `did:web:x`"
        );
        assert!(err(check_identifier("http://x.com")).contains("use https"));
        assert_eq!(
            err(check_identifier("issuer")),
            "`issuer` is neither a DID (`did:method:id`) nor an https URL"
        );
        assert_eq!(
            err(check_identifier("urn:x:y")),
            "`urn:x:y` is neither a DID (`did:method:id`) nor an https URL"
        );
        assert_eq!(
            err(check_identifier("example.com")),
            "`example.com` is neither a DID (`did:method:id`) nor an https URL: for a web \
             address, write `https://example.com`"
        );
        assert!(err(check_identifier("")).starts_with("empty identifier"));
    }

    // --- durations ---

    fn duration(s: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn durations_valid() {
        assert_eq!(
            duration("P1Y2M3DT4H5M6S"),
            Duration {
                years: 1,
                months: 2,
                weeks: 0,
                days: 3,
                hours: 4,
                minutes: 5,
                seconds: 6
            }
        );
        assert_eq!(
            duration("P2W"),
            Duration {
                weeks: 2,
                ..Duration::default()
            }
        );
        assert_eq!(
            duration("P1M"),
            Duration {
                months: 1,
                ..Duration::default()
            }
        );
        assert_eq!(
            duration("PT1M"),
            Duration {
                minutes: 1,
                ..Duration::default()
            }
        );
        assert_eq!(
            duration("P1Y2W3D").to_string(),
            "P1Y2W3D",
            "weeks combine with other components"
        );
        assert_eq!(duration("P0D"), Duration::default());
        assert_eq!(duration("P01Y").years, 1);
        assert_eq!(duration("P4294967295D").days, u32::MAX);
    }

    #[test]
    fn durations_display_canonically() {
        for (input, canonical) in [
            ("P1Y6M", "P1Y6M"),
            ("PT12H", "PT12H"),
            ("P1DT12H", "P1DT12H"),
            ("P0Y", "P0D"),
            ("PT0S", "P0D"),
            ("P1Y0M", "P1Y"),
            ("P0YT30M", "PT30M"),
            ("PT36H", "PT36H"),
            ("P1Y2M1W3DT4H5M6S", "P1Y2M1W3DT4H5M6S"),
        ] {
            assert_eq!(duration(input).to_string(), canonical, "{input}");
        }
        assert_eq!(Duration::default().to_string(), "P0D");
    }

    #[test]
    fn durations_approx_seconds() {
        assert_eq!(duration("P1Y").approx_seconds(), 31_557_600);
        assert_eq!(duration("P1M").approx_seconds(), 2_629_746);
        assert_eq!(duration("P1W").approx_seconds(), 604_800);
        assert_eq!(duration("P1D").approx_seconds(), 86_400);
        assert_eq!(duration("PT1H1M1S").approx_seconds(), 3_661);
        assert_eq!(
            duration("P1Y6M").approx_seconds(),
            31_557_600 + 6 * 2_629_746
        );
        let max = Duration {
            years: u32::MAX,
            months: u32::MAX,
            weeks: u32::MAX,
            days: u32::MAX,
            hours: u32::MAX,
            minutes: u32::MAX,
            seconds: u32::MAX,
        };
        assert!(max.approx_seconds() > 0, "does not overflow");
    }

    #[test]
    fn durations_invalid() {
        assert_eq!(
            err(parse_duration("p1y")),
            "write `P1Y`: ISO 8601 durations are uppercase"
        );
        assert_eq!(
            err(parse_duration("pt12h")),
            "write `PT12H`: ISO 8601 durations are uppercase"
        );
        assert!(err(parse_duration("p1m1y")).starts_with("`p1m1y` is not an ISO 8601 duration"));
        assert!(err(parse_duration("1 year")).starts_with("`1 year` is not an ISO 8601 duration"));
        assert_eq!(
            err(parse_duration("1Y")),
            "`1Y` must start with `P`: write `P1Y`"
        );
        assert_eq!(
            err(parse_duration("T12H")),
            "`T12H` must start with `P`: write `PT12H`"
        );
        assert!(err(parse_duration("1 year")).contains("is not an ISO 8601 duration"));
        assert!(err(parse_duration("")).starts_with("empty duration"));
        assert!(err(parse_duration("P")).starts_with("`P` has no components"));
        assert!(
            err(parse_duration("PT")).starts_with("`PT` has `T` but no hours, minutes or seconds")
        );
        assert!(err(parse_duration("P1DT")).ends_with("write `P1D`"));
        assert_eq!(
            err(parse_duration("P1M1Y")),
            "the components of `P1M1Y` are out of order (years, months, weeks, days, then `T` \
             and hours, minutes, seconds): write `P1Y1M`"
        );
        assert!(err(parse_duration("P1D1W")).ends_with("write `P1W1D`"));
        assert!(err(parse_duration("PT1S1H")).ends_with("write `PT1H1S`"));
        assert!(err(parse_duration("P1Y2Y")).contains("years (`Y`) twice"));
        assert!(err(parse_duration("P-1Y")).contains("cannot be negative"));
        assert!(err(parse_duration("-P1Y")).contains("cannot be negative"));
        assert!(err(parse_duration("P+1Y")).contains("`+`"));
        assert!(err(parse_duration("PY")).contains("no number before it"));
        assert!(err(parse_duration("P1")).contains("without a unit"));
        assert!(err(parse_duration("P1X")).contains("`X` after `1`, which is not a unit"));
        assert!(err(parse_duration("P1DTT1H")).contains("`T` twice"));
        assert!(err(parse_duration("P4294967296D")).contains("too large"));
        assert_eq!(
            err(parse_duration(" P1D")),
            "` P1D` has whitespace around it: write `P1D`"
        );
        assert!(err(parse_duration("P1D T1H")).contains("a space"));
    }

    #[test]
    fn durations_with_components_on_the_wrong_side_of_t() {
        assert_eq!(
            err(parse_duration("P1H")),
            "`H` (hours) in `P1H` is a time component and must come after `T`: write `PT1H`"
        );
        assert!(err(parse_duration("P1H30M")).ends_with("write `PT1H30M`"));
        // Days twice: no suggestion, since adding them up is a guess.
        assert_eq!(
            err(parse_duration("P1DT1H2D")),
            "`D` (days) in `P1DT1H2D` is a date component and must come before `T`"
        );
        assert_eq!(
            err(parse_duration("PT1D")),
            "`D` (days) in `PT1D` is a date component and must come before `T`: write `P1D`"
        );
        assert!(err(parse_duration("PT1W")).ends_with("write `P1W`"));
        assert!(err(parse_duration("PT1H1D")).ends_with("write `P1DT1H`"));
    }

    #[test]
    fn durations_with_fractions() {
        for (input, fraction, fix) in [
            ("P1.5Y", "1.5", "P1Y6M"),
            ("P1,5Y", "1,5", "P1Y6M"),
            ("P0.5D", "0.5", "PT12H"),
            ("PT1.5H", "1.5", "PT1H30M"),
            ("PT0.25H", "0.25", "PT15M"),
            ("P1.5W", "1.5", "P1W3DT12H"),
            ("PT2.5M", "2.5", "PT2M30S"),
            ("P1DT0.5H", "0.5", "P1DT30M"),
            ("P1Y0.5D", "0.5", "P1YT12H"),
        ] {
            assert_eq!(
                err(parse_duration(input)),
                format!(
                    "`{input}` has a fraction (`{fraction}`), and trustc accepts only whole \
                     numbers: write `{fix}`"
                )
            );
        }
        for input in ["P1.5M", "PT1.5S", "P0.1Y"] {
            assert!(
                err(parse_duration(input)).ends_with("use a smaller unit"),
                "{input}"
            );
        }
    }

    // --- colours ---

    #[test]
    fn colours_valid() {
        assert_eq!(parse_colour("#003366"), Ok([0x00, 0x33, 0x66]));
        assert_eq!(parse_colour("#38598a"), Ok([0x38, 0x59, 0x8A]));
        assert_eq!(parse_colour("#38598A"), Ok([0x38, 0x59, 0x8A]));
        assert_eq!(parse_colour("#FFFFFF"), Ok([255, 255, 255]));
    }

    #[test]
    fn colours_with_a_suggested_fix() {
        let write = |s: &str, fix: &str| {
            format!(
                "`{s}` is not #RRGGBB; wallets compute the text colour only from #RRGGBB: write \
                 `{fix}`"
            )
        };
        for (input, fix) in [
            ("rgb(0, 51, 102)", "#003366"),
            ("rgb(0,51,102)", "#003366"),
            ("rgb( 0 , 51 , 102 )", "#003366"),
            ("rgb(0 51 102)", "#003366"),
            ("RGB(0, 51, 102)", "#003366"),
            ("rgb(56, 89, 138)", "#38598A"),
            ("#036", "#003366"),
            ("#abc", "#AABBCC"),
            ("0x003366", "#003366"),
            ("black", "#000000"),
            ("white", "#FFFFFF"),
            ("red", "#FF0000"),
            ("green", "#008000"),
            ("blue", "#0000FF"),
            ("navy", "#000080"),
            ("gray", "#808080"),
            ("grey", "#808080"),
            ("Silver", "#C0C0C0"),
            ("teal", "#008080"),
        ] {
            assert_eq!(err(parse_colour(input)), write(input, fix));
        }
    }

    #[test]
    fn colours_with_alpha() {
        for (input, fix) in [
            ("#003366FF", "#003366"),
            ("#38598a80", "#38598A"),
            ("#0369", "#003366"),
            ("rgba(0, 51, 102, 0.5)", "#003366"),
            ("rgb(0 51 102 / 50%)", "#003366"),
        ] {
            assert_eq!(
                err(parse_colour(input)),
                format!(
                    "`{input}` has an alpha channel; wallets compute the text colour only from \
                     #RRGGBB, without alpha: write `{fix}`"
                )
            );
        }
    }

    #[test]
    fn colours_invalid() {
        assert!(err(parse_colour("")).starts_with("empty colour"));
        assert_eq!(
            err(parse_colour("003366")),
            "`003366` is missing the `#`: write `#003366`"
        );
        assert_eq!(
            err(parse_colour(" #003366")),
            "` #003366` has whitespace around it: write `#003366`"
        );
        assert_eq!(
            err(parse_colour("hsl(210, 100%, 20%)")),
            "`hsl(210, 100%, 20%)` is not a colour in the form #RRGGBB"
        );
        assert_eq!(
            err(parse_colour("transparent")),
            "`transparent` is not a colour in the form #RRGGBB"
        );
        assert!(err(parse_colour("#12345")).ends_with("it has 5 hex digits after `#`, not 6"));
        assert!(err(parse_colour("#")).ends_with("it has 0 hex digits after `#`, not 6"));
        assert!(err(parse_colour("#00336G")).ends_with("`G` is not a hex digit"));
        assert!(err(parse_colour("#00336é")).ends_with("`é` is not a hex digit"));
        assert!(err(parse_colour("rgb(300, 0, 0)")).ends_with("`300` is more than 255"));
        assert!(err(parse_colour("rgb(-1, 0, 0)")).contains("not a whole number"));
        assert!(err(parse_colour("rgb(0%, 0%, 0%)")).contains("not a whole number"));
        assert!(err(parse_colour("rgb(1, 2)")).contains("it has 2 values"));
        assert!(err(parse_colour("rgb(1, 2, 3")).contains("`)` is missing"));
    }

    // --- contrast ---

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn luminance_and_contrast() {
        assert!(close(relative_luminance([0, 0, 0]), 0.0));
        assert!(close(relative_luminance([255, 255, 255]), 1.0));
        assert!(close(relative_luminance([255, 0, 0]), 0.2126));
        assert!(close(relative_luminance([0, 255, 0]), 0.7152));
        assert!(close(relative_luminance([0, 0, 255]), 0.0722));
        // Mid grey: ((128/255 + 0.055) / 1.055)^2.4.
        assert!((relative_luminance([128, 128, 128]) - 0.215_860_5).abs() < 1e-6);
        assert!(close(contrast_ratio([0, 0, 0], [255, 255, 255]), 21.0));
        assert!(close(contrast_ratio([255, 255, 255], [0, 0, 0]), 21.0));
        assert!(close(
            contrast_ratio([0x38, 0x59, 0x8A], [0x38, 0x59, 0x8A]),
            1.0
        ));
        let navy = [0x00, 0x33, 0x66];
        let (white, black) = ([255; 3], [0; 3]);
        assert!(contrast_ratio(navy, white) > contrast_ratio(navy, black));
        assert!((contrast_ratio(navy, white) - 12.61).abs() < 0.01);
        let yellow = [0xFF, 0xFF, 0x00];
        assert!(contrast_ratio(yellow, black) > contrast_ratio(yellow, white));
    }
}
