//! Identifiers: DIDs, https URLs (hosts, ports, percent-encodings) and the issuer identifiers
//! that are one or the other, as governance files write them (step 5, the governance checks), and
//! the issuer URL that `trustc build --issuer-url` and `trustc serve --public-url` take.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{describe_char, padded, strip_prefix_ignore_case};

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
// Issuer URLs
// ---------------------------------------------------------------------------------------------

/// The credential issuer identifier must be an https URL; plain http only on loopback addresses,
/// where a local `trustc serve` runs for development.
/// An issuer identifier must be https, or plain http on a loopback address (development).
pub(crate) fn check_issuer_url(url: &str, flag: &str) -> Result<(), String> {
    if check_https_url(url).is_ok() {
        return Ok(());
    }
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{flag} `{url}` must be an https URL (plain http is only accepted for 127.0.0.1, localhost and [::1])"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::err;

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
}
