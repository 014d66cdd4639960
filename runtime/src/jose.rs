//! Verifying compact JWS (JOSE): the one place the runtime decides whether a signed JWT from
//! someone else can be believed.
//!
//! Today the OpenID4VCI key proof ([`crate::proof`]) goes through it; the verifier of
//! presentations goes through it too: a presented SD-JWT VC's issuer JWT (key from the issuer's
//! key set, picked by `kid`), its key-binding JWT (key from the credential's `cnf.jwk`), status
//! list tokens (key set) and request objects; so does the relying party of a login
//! (`domain::login`): an OpenID Provider's ID tokens and signed userinfo (key set), which may be
//! signed with RSA or P-384 too. Each caller states a [`Policy`] — the `typ` it
//! expects, the algorithms it allows, the critical headers it understands, where the key comes
//! from ([`KeySource`]), the audience, the time rules — and [`verify`] applies the rules in a
//! fixed order (structure → `typ` → `alg` → `crit` → key → signature → claims object → `aud` →
//! `iat` → `exp` → `nbf`), so every refusal carries one precise reason.
//!
//! The reasons are written for a peer to read (an OAuth `error_description`, a presentation
//! refusal): they name the thing verified (`Policy::subject`, e.g. "proof") and quote values
//! from the token only through [`show`], which keeps them short and within the characters an
//! `error_description` may hold. Never accepted, whatever a policy says: `alg: none`, MAC
//! algorithms (a shared secret proves nothing about a holder or an issuer), keys carrying private
//! material, and critical headers the caller does not understand.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use trustc_artifact::values::quoted_list;

/// The algorithms of the credentials ecosystem (key proofs, SD-JWT VCs, status lists): what the
/// verifier of presentations accepts and keeps keys for.
pub const VERIFIABLE: [&str; 2] = ["ES256", "EdDSA"];

/// Every algorithm this module verifies (whatever a policy allows beyond them is refused as
/// unsupported): [`VERIFIABLE`], and the RSA (RS256, PS256, keys of at least 2048 bits) and
/// P-384 (ES384) signatures OpenID Providers use.
pub const SUPPORTED: [&str; 5] = ["ES256", "ES384", "EdDSA", "PS256", "RS256"];

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// In [`Policy::typ`], stands for a header without `typ` (OpenID Connect does not type ID
/// tokens).
pub const NO_TYP: &str = "";

/// JWK members that carry private or symmetric key material (RFC 7518 §6).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a JWS was refused: one sentence for the peer (printable ASCII, values quoted through
/// [`show`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoseError(pub String);

impl std::fmt::Display for JoseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JoseError {}

fn fail<T>(message: impl Into<String>) -> Result<T, JoseError> {
    Err(JoseError(message.into()))
}

/// Where the verification key comes from.
#[derive(Debug, Clone, Copy)]
pub enum KeySource<'a> {
    /// The JWS's own `jwk` header, which must be its only key reference (none of `kid`, `x5c`
    /// beside it): OpenID4VCI key proofs, whose point is to show control of that key.
    HeaderJwk,
    /// A key the caller already trusts, such as a credential's `cnf.jwk` for its key-binding JWT.
    Jwk(&'a Value),
    /// A key set (the `keys` of a JWKS, such as an issuer's `jwt-vc-issuer` metadata): the
    /// header's `kid` picks the key; without `kid`, a set of exactly one key is that key.
    KeySet(&'a [Value]),
}

/// The time rules of a JWS's claims. `now` and the results are Unix seconds.
#[derive(Debug, Clone, Copy)]
pub struct TimeRules {
    pub now: i64,
    /// `Some(max_age)`: `iat` is required and may be at most this old (a proof of freshness);
    /// `None`: `iat` is not checked.
    pub max_age: Option<i64>,
    /// How far clocks may differ, in seconds: how far in the future `iat` may be, and the leeway
    /// for `exp` and `nbf` (each checked whenever present).
    pub skew: i64,
}

impl TimeRules {
    /// Rules that check no time at all: for a caller that verifies the signature first and then
    /// applies [`check_times`] itself, to tell a bad signature from an expired token.
    pub fn unchecked(now: i64) -> TimeRules {
        TimeRules {
            now,
            max_age: None,
            skew: i64::MAX,
        }
    }
}

/// The most bytes of a compact JWS this runtime reads (key proofs, DPoP proofs, presented
/// issuer JWTs and key-binding JWTs, ID tokens, userinfo answers, status list tokens): a
/// larger one is refused before anything of it is decoded. An issuer JWT with an `x5c` chain
/// and a hundred disclosure digests is under 16 KiB.
pub const MAX_JWS_BYTES: usize = 32 * 1024;

/// What a caller accepts.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// What is verified, as its refusals name it ("proof", "key-binding JWT").
    pub subject: &'a str,
    /// The `typ` header values accepted (one of them is required, unless the list has
    /// [`NO_TYP`], which accepts a header without `typ`).
    pub typ: &'a [&'a str],
    /// The `alg` values allowed (of [`SUPPORTED`]; others listed are refused as unsupported).
    pub algorithms: &'a [&'a str],
    /// The `crit` header names the caller understands; a `crit` listing anything else is refused
    /// (RFC 7515 §4.1.11). Empty: any `crit` header is refused.
    pub critical: &'a [&'a str],
    pub key: KeySource<'a>,
    /// `Some(aud)`: the claims' `aud` must be this string or an array containing it.
    pub audience: Option<&'a str>,
    pub time: TimeRules,
}

/// A JWS that passed every rule of its policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The protected header (without `jwk` when the key came from it: see `key`).
    pub header: Map<String, Value>,
    /// The claims set (a JSON object).
    pub claims: Map<String, Value>,
    /// The verified algorithm, one of [`SUPPORTED`].
    pub alg: &'static str,
    /// The public JWK the signature verified with.
    pub key: Value,
}

/// A compact JWS taken apart, not yet verified.
#[derive(Debug)]
struct Compact<'a> {
    header: Map<String, Value>,
    payload_b64: &'a str,
    signature_b64: &'a str,
    /// `header.payload`, exactly as sent: what the signature covers.
    signing_input: &'a str,
}

/// Verifies the compact JWS `jws` against `policy`.
///
/// Checks, in this order, each failure naming the problem:
/// 1. at most [`MAX_JWS_BYTES`]; three base64url parts; the header is a JSON object;
/// 2. `typ` is one of `policy.typ` (or absent, when it has [`NO_TYP`]);
/// 3. `alg` is present, not `none`, not a MAC, allowed and verifiable; `crit` names only
///    headers the policy understands;
/// 4. the key ([`KeySource`]) is found, has no private members and matches `alg` (EC P-256 for
///    ES256, EC P-384 for ES384, OKP Ed25519 for EdDSA, RSA of at least [`MIN_RSA_BITS`] for
///    RS256 and PS256) with well-formed coordinates;
/// 5. the signature verifies with it, over the bytes as sent;
/// 6. the payload is a JSON object;
/// 7. `aud`, when the policy names one;
/// 8. `iat` (when the policy requires it: present, not older than `max_age`, not further ahead
///    than `skew`), then `exp` and `nbf` when present, with `skew` leeway.
pub fn verify(jws: &str, policy: &Policy) -> Result<Verified, JoseError> {
    verify_sized(jws, policy, MAX_JWS_BYTES)
}

/// [`verify`], for a JWS of at most `max_bytes` rather than [`MAX_JWS_BYTES`].
pub fn verify_sized(jws: &str, policy: &Policy, max_bytes: usize) -> Result<Verified, JoseError> {
    let subject = policy.subject;
    let Compact {
        mut header,
        payload_b64,
        signature_b64,
        signing_input,
    } = parse(jws, subject, max_bytes)?;
    check_typ(&header, policy)?;
    let (algorithm, alg) = check_alg(&header, policy)?;
    check_critical(&header, policy)?;
    let key = match policy.key {
        // The key leaves the header: it is returned as the verified key, not copied.
        KeySource::HeaderJwk => {
            only_header_jwk(&header, subject)?;
            header.remove("jwk").unwrap_or(Value::Null)
        }
        KeySource::Jwk(jwk) => jwk.clone(),
        KeySource::KeySet(keys) => key_from_set(&header, keys, subject)?.clone(),
    };
    let decoding_key = decoding_key(&key, algorithm, alg, policy)?;
    check_signature(
        signing_input,
        signature_b64,
        &decoding_key,
        (algorithm, alg),
        policy,
    )?;
    let claims = claims(payload_b64, subject)?;
    if let Some(audience) = policy.audience {
        check_audience(&claims, audience, subject)?;
    }
    check_times(&claims, &policy.time, subject)?;
    Ok(Verified {
        header,
        claims,
        alg,
        key,
    })
}

/// Step 1: at most `max_bytes`, three base64url parts, the header a JSON object.
fn parse<'a>(jws: &'a str, subject: &str, max_bytes: usize) -> Result<Compact<'a>, JoseError> {
    let jws = jws.trim();
    if jws.len() > max_bytes {
        return fail(format!(
            "{subject} has {} bytes; a JWT of at most {} KiB is accepted",
            jws.len(),
            max_bytes / 1024
        ));
    }
    let mut parts = jws.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let count = jws.split('.').count();
        return fail(format!(
            "{subject} is not a compact JWS: expected 3 dot-separated parts, found {count}"
        ));
    };
    let Ok(header_bytes) = URL_SAFE_NO_PAD.decode(header_b64) else {
        return fail(format!(
            "{subject} header is not valid base64url (without padding)"
        ));
    };
    let header = match serde_json::from_slice::<UniqueKeys>(&header_bytes) {
        Ok(UniqueKeys(header)) => header,
        Err(e) => {
            return fail(format!(
                "{subject} header is not a JSON object: {}",
                show(&e.to_string())
            ));
        }
    };
    Ok(Compact {
        header,
        payload_b64,
        signature_b64,
        signing_input: &jws[..header_b64.len() + 1 + payload_b64.len()],
    })
}

/// Step 2: `typ`.
fn check_typ(header: &Map<String, Value>, policy: &Policy) -> Result<(), JoseError> {
    let subject = policy.subject;
    let expected = || {
        policy
            .typ
            .iter()
            .map(|t| match *t {
                NO_TYP => "none".to_owned(),
                t => format!("`{t}`"),
            })
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match header.get("typ") {
        Some(Value::String(typ)) if typ != NO_TYP && policy.typ.contains(&typ.as_str()) => Ok(()),
        None if policy.typ.contains(&NO_TYP) => Ok(()),
        Some(other) => fail(format!(
            "{subject} `typ` is {}, expected {}",
            describe(other),
            expected()
        )),
        None => fail(format!(
            "{subject} header has no `typ`, expected {}",
            expected()
        )),
    }
}

/// Step 3: `alg`, as the `jsonwebtoken` algorithm and its static name.
fn check_alg(
    header: &Map<String, Value>,
    policy: &Policy,
) -> Result<(Algorithm, &'static str), JoseError> {
    let subject = policy.subject;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        Some(other) => {
            return fail(format!(
                "{subject} `alg` is {}, not a string",
                describe(other)
            ));
        }
        None => return fail(format!("{subject} header has no `alg`")),
    };
    if alg.eq_ignore_ascii_case("none") {
        return fail(format!(
            "{subject} `alg` is `none`: an unsigned {subject} is not accepted"
        ));
    }
    if alg.starts_with("HS") {
        let whose = match policy.key {
            KeySource::HeaderJwk => "the holder's",
            KeySource::Jwk(_) | KeySource::KeySet(_) => "the signer's",
        };
        return fail(format!(
            "{subject} `alg` is `{}`, a MAC algorithm: the {subject} must be signed with {whose} \
             private key",
            show(alg)
        ));
    }
    if !policy.algorithms.contains(&alg) {
        return fail(format!(
            "{subject} `alg` `{}` is not allowed; allowed: {}",
            show(alg),
            policy.algorithms.join(", ")
        ));
    }
    match alg {
        "ES256" => Ok((Algorithm::ES256, "ES256")),
        "ES384" => Ok((Algorithm::ES384, "ES384")),
        "EdDSA" => Ok((Algorithm::EdDSA, "EdDSA")),
        "PS256" => Ok((Algorithm::PS256, "PS256")),
        "RS256" => Ok((Algorithm::RS256, "RS256")),
        _ => fail(format!(
            "{subject} `alg` `{}` is not supported by this issuer; supported: {}",
            show(alg),
            SUPPORTED.join(", ")
        )),
    }
}

/// Step 3: a `crit` header may only name extensions the caller understands (and that the header
/// carries, RFC 7515 §4.1.11).
fn check_critical(header: &Map<String, Value>, policy: &Policy) -> Result<(), JoseError> {
    let Some(crit) = header.get("crit") else {
        return Ok(());
    };
    let subject = policy.subject;
    let names = match crit.as_array() {
        Some(names) if !names.is_empty() => names,
        _ => {
            return fail(format!(
                "{subject} header `crit` must be a non-empty array of header names"
            ));
        }
    };
    let understood = names.iter().all(|name| {
        name.as_str()
            .is_some_and(|n| policy.critical.contains(&n) && header.contains_key(n))
    });
    if !understood {
        return fail(format!(
            "{subject} header `crit` lists extensions this issuer does not understand"
        ));
    }
    Ok(())
}

/// Step 4 for [`KeySource::HeaderJwk`]: exactly one of `kid`, `jwk`, `x5c`, and it is `jwk`.
fn only_header_jwk(header: &Map<String, Value>, subject: &str) -> Result<(), JoseError> {
    let present: Vec<&str> = ["kid", "jwk", "x5c"]
        .into_iter()
        .filter(|name| header.contains_key(*name))
        .collect();
    match present.as_slice() {
        ["jwk"] => Ok(()),
        [] => fail(format!(
            "{subject} header has none of `kid`, `jwk`, `x5c`; exactly one is required \
             (only jwk key binding is supported)"
        )),
        [one] => fail(format!(
            "only jwk key binding is supported; the {subject} header has `{one}`"
        )),
        several => fail(format!(
            "{subject} header has {}; exactly one of `kid`, `jwk`, `x5c` is allowed",
            several
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

/// Step 4 for [`KeySource::KeySet`]: the key the header's `kid` names.
fn key_from_set<'k>(
    header: &Map<String, Value>,
    keys: &'k [Value],
    subject: &str,
) -> Result<&'k Value, JoseError> {
    match header.get("kid") {
        Some(Value::String(kid)) => keys
            .iter()
            .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid))
            .ok_or_else(|| {
                JoseError(format!(
                    "{subject} `kid` `{}` names none of the signer's {} key(s)",
                    show(kid),
                    keys.len()
                ))
            }),
        Some(other) => fail(format!(
            "{subject} `kid` is {}, not a string",
            describe(other)
        )),
        None => match keys {
            [only] => Ok(only),
            _ => fail(format!(
                "{subject} header has no `kid` to pick one of the signer's {} keys",
                keys.len()
            )),
        },
    }
}

/// Step 4: checks `jwk` (public, matching `alg`, usable for signatures, well-formed) and builds
/// the verification key.
fn decoding_key(
    jwk: &Value,
    algorithm: Algorithm,
    alg: &str,
    policy: &Policy,
) -> Result<DecodingKey, JoseError> {
    let subject = policy.subject;
    let Value::Object(members) = jwk else {
        return fail(format!(
            "{subject} `jwk` is {}, not a JSON object",
            describe(jwk)
        ));
    };
    let private: Vec<&str> = PRIVATE_JWK_MEMBERS
        .into_iter()
        .filter(|m| members.contains_key(*m))
        .collect();
    if !private.is_empty() {
        return fail(format!(
            "{subject} `jwk` contains private key material ({}); send the public key only",
            quoted_list(&private)
        ));
    }
    let text = |name: &str| members.get(name).and_then(Value::as_str);
    // A key published for one algorithm or for encryption is not used for anything else.
    if let Some(key_alg) = text("alg").filter(|a| *a != alg) {
        return fail(format!(
            "{subject} is signed with {alg} but its key is for `{}`",
            show(key_alg)
        ));
    }
    if let Some(key_use) = text("use").filter(|u| *u != "sig") {
        return fail(format!(
            "{subject} key is for `{}`, not for signatures (`sig`)",
            show(key_use)
        ));
    }
    let kty = text("kty");
    let crv = text("crv");
    let sized = |name: &str, length: usize| -> Result<&str, JoseError> {
        let Some(value) = text(name) else {
            return fail(format!("{subject} `jwk` has no `{name}` string"));
        };
        match URL_SAFE_NO_PAD.decode(value) {
            Ok(bytes) if bytes.len() == length => Ok(value),
            Ok(bytes) => fail(format!(
                "{subject} `jwk` `{name}` is {} bytes long, expected {length}",
                bytes.len()
            )),
            Err(_) => fail(format!(
                "{subject} `jwk` `{name}` is not valid base64url (without padding)"
            )),
        }
    };
    let wrong_key = |expected: &str| {
        fail(format!(
            "{subject} `alg` is {alg} but its `jwk` is kty {} crv {}; expected {expected}",
            kty.map_or("(missing)".into(), |k| format!("`{}`", show(k))),
            crv.map_or("(missing)".into(), |c| format!("`{}`", show(c))),
        ))
    };
    let key = match algorithm {
        Algorithm::ES256 => {
            if kty != Some("EC") || crv != Some("P-256") {
                return wrong_key("kty `EC` crv `P-256`");
            }
            DecodingKey::from_ec_components(sized("x", 32)?, sized("y", 32)?)
        }
        Algorithm::ES384 => {
            if kty != Some("EC") || crv != Some("P-384") {
                return wrong_key("kty `EC` crv `P-384`");
            }
            DecodingKey::from_ec_components(sized("x", 48)?, sized("y", 48)?)
        }
        Algorithm::EdDSA => {
            if kty != Some("OKP") || crv != Some("Ed25519") {
                return wrong_key("kty `OKP` crv `Ed25519`");
            }
            DecodingKey::from_ed_components(sized("x", 32)?)
        }
        Algorithm::RS256 | Algorithm::PS256 => {
            if kty != Some("RSA") {
                return fail(format!(
                    "{subject} `alg` is {alg} but its `jwk` is kty {}; expected `RSA`",
                    kty.map_or("(missing)".into(), |k| format!("`{}`", show(k))),
                ));
            }
            let (n, e) = (
                rsa_member(members, "n", subject)?,
                rsa_member(members, "e", subject)?,
            );
            // Leading zero bytes do not count towards the modulus's size.
            let bits = n.iter().position(|b| *b != 0).map_or(0, |first| {
                (n.len() - first) * 8 - n[first].leading_zeros() as usize
            });
            if bits < MIN_RSA_BITS {
                return fail(format!(
                    "{subject} `jwk` is an RSA key of {bits} bits; at least {MIN_RSA_BITS} are \
                     required"
                ));
            }
            Ok(DecodingKey::from_rsa_raw_components(&n, &e))
        }
        _ => return fail(format!("{subject} `alg` is not supported")),
    };
    key.map_err(|e| JoseError(format!("{subject} `jwk` is not a usable key: {e}")))
}

/// The big-endian bytes of an RSA JWK's `n` or `e`.
fn rsa_member(
    members: &Map<String, Value>,
    name: &str,
    subject: &str,
) -> Result<Vec<u8>, JoseError> {
    match members.get(name).and_then(Value::as_str) {
        None => fail(format!("{subject} `jwk` has no `{name}` string")),
        Some(value) => match URL_SAFE_NO_PAD.decode(value) {
            Ok(bytes) if !bytes.is_empty() => Ok(bytes),
            _ => fail(format!(
                "{subject} `jwk` `{name}` is not a non-empty base64url (without padding) integer"
            )),
        },
    }
}

/// Step 5: the signature over the signing input as sent.
fn check_signature(
    signing_input: &str,
    signature_b64: &str,
    key: &DecodingKey,
    (algorithm, alg): (Algorithm, &str),
    policy: &Policy,
) -> Result<(), JoseError> {
    let subject = policy.subject;
    match jsonwebtoken::crypto::verify(signature_b64, signing_input.as_bytes(), key, algorithm) {
        Ok(true) => Ok(()),
        Ok(false) => fail(match policy.key {
            KeySource::HeaderJwk => {
                format!("{subject} signature does not verify with the `jwk` in its header ({alg})")
            }
            _ => format!("{subject} signature does not verify with the signer's key ({alg})"),
        }),
        Err(_) if URL_SAFE_NO_PAD.decode(signature_b64).is_err() => fail(format!(
            "{subject} signature is not valid base64url (without padding)"
        )),
        Err(e) => fail(format!(
            "{subject} `jwk` cannot be used to verify {alg}: {}",
            show(&e.to_string())
        )),
    }
}

/// Step 6: the payload, a JSON object.
fn claims(payload_b64: &str, subject: &str) -> Result<Map<String, Value>, JoseError> {
    let Ok(payload) = URL_SAFE_NO_PAD.decode(payload_b64) else {
        return fail(format!(
            "{subject} payload is not valid base64url (without padding)"
        ));
    };
    // A claims set must be an object (a derived map would also take other shapes' errors).
    let is_object = payload
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !is_object {
        return fail(format!("{subject} payload is not a JSON object"));
    }
    match serde_json::from_slice::<UniqueKeys>(&payload) {
        Ok(UniqueKeys(claims)) => Ok(claims),
        Err(e) => fail(format!(
            "{subject} payload is not a valid JWT claims set: {}",
            show(&e.to_string())
        )),
    }
}

/// A JSON object whose member names are unique. RFC 7515 §5.2 and RFC 7519 §4 let a parser
/// either reject a duplicate or take the last one; a signed object with two `aud`s or two `alg`s
/// is refused here, so no reader of it can take the other one.
struct UniqueKeys(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueKeys;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut members = Map::new();
                while let Some(name) = map.next_key::<String>()? {
                    if members.contains_key(&name) {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate member `{name}`"
                        )));
                    }
                    let value: Value = map.next_value()?;
                    members.insert(name, value);
                }
                Ok(UniqueKeys(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Step 7: `aud` is `audience`, or an array containing it.
fn check_audience(
    claims: &Map<String, Value>,
    audience: &str,
    subject: &str,
) -> Result<(), JoseError> {
    match claims.get("aud") {
        Some(Value::String(aud)) if aud == audience => Ok(()),
        Some(Value::Array(auds)) if auds.iter().any(|a| a.as_str() == Some(audience)) => Ok(()),
        Some(Value::String(aud)) => fail(format!(
            "{subject} `aud` is `{}`, expected `{}`",
            show(aud),
            show(audience)
        )),
        Some(Value::Array(_)) => fail(format!(
            "{subject} `aud` does not contain `{}`",
            show(audience)
        )),
        Some(other) => fail(format!(
            "{subject} `aud` is {}, expected the string `{}`",
            describe(other),
            show(audience)
        )),
        None => fail(format!(
            "{subject} has no `aud` claim; expected `{}`",
            show(audience)
        )),
    }
}

/// Step 8: `iat`, `exp`, `nbf` of a claims set, as [`verify`] checks them (public for callers that
/// check the signature first with [`TimeRules::unchecked`]).
pub fn check_times(
    claims: &Map<String, Value>,
    rules: &TimeRules,
    subject: &str,
) -> Result<(), JoseError> {
    let date = |name: &str| -> Result<Option<i64>, JoseError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => numeric_date(value).map(Some).ok_or_else(|| {
                JoseError(format!(
                    "{subject} `{name}` is {}, not a NumericDate (seconds since 1970)",
                    describe(value)
                ))
            }),
        }
    };
    let now = rules.now;
    if let Some(max_age) = rules.max_age {
        let Some(iat) = date("iat")? else {
            return fail(format!("{subject} has no `iat` claim"));
        };
        let age = now.saturating_sub(iat);
        if age > max_age {
            return fail(format!(
                "{subject} `iat` is {age} s old; at most {max_age} s is accepted"
            ));
        }
        let ahead = iat.saturating_sub(now);
        if ahead > rules.skew {
            return fail(format!(
                "{subject} `iat` is {ahead} s in the future; at most {} s of clock skew is \
                 accepted",
                rules.skew
            ));
        }
    }
    if let Some(exp) = date("exp")?
        && exp.saturating_add(rules.skew) < now
    {
        return fail(format!(
            "{subject} expired {} s ago (`exp`)",
            now.saturating_sub(exp)
        ));
    }
    if let Some(nbf) = date("nbf")?
        && nbf.saturating_sub(rules.skew) > now
    {
        return fail(format!(
            "{subject} is not valid before {} s from now (`nbf`)",
            nbf.saturating_sub(now)
        ));
    }
    Ok(())
}

/// A JWT NumericDate (integer or fractional seconds) as whole seconds.
fn numeric_date(value: &Value) -> Option<i64> {
    if let Some(i) = value.as_i64() {
        return Some(i);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f.abs() < 1e15).then(|| f.floor() as i64)
}

/// Quotes a value taken from a token for an error message: at most 60 characters, and only
/// characters allowed in an OAuth `error_description` (RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E).
pub fn show(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(60)
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect();
    if text.chars().count() > 60 {
        out.push_str("...");
    }
    out
}

/// A short description of a JSON value's type, or the value itself when it is a short scalar.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{}`", show(s)),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => show(&n.to_string()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    //! The proof's policy (header `jwk`) is tested through [`crate::proof`]; these cover the
    //! other key sources and rules the verifier of presentations relies on, on tokens the
    //! issuer's own key signs (status list tokens, SD-JWT VCs) and on a holder's key-binding JWT.
    use super::*;
    use crate::keys::IssuerKey;
    use crate::status::{STATUS_LIST_TYP, StatusList, status_list_token};
    use serde_json::json;
    use trustc_testkit::HolderKey;

    const NOW: i64 = 1_750_000_000;

    fn rules() -> TimeRules {
        TimeRules {
            now: NOW,
            max_age: None,
            skew: 60,
        }
    }

    fn status_policy(keys: &[Value]) -> Policy<'_> {
        Policy {
            subject: "status list token",
            typ: &[STATUS_LIST_TYP],
            algorithms: &["ES256"],
            critical: &[],
            key: KeySource::KeySet(keys),
            audience: None,
            time: rules(),
        }
    }

    fn status_token(key: &IssuerKey, iat: i64) -> String {
        let list = StatusList::new(16, 1).unwrap();
        status_list_token(
            key,
            key.kid(),
            "https://issuer.example/status-lists/1",
            &list,
            iat,
            300,
        )
    }

    #[test]
    fn a_jws_over_the_size_limit_is_refused_before_it_is_decoded_unless_sized() {
        let issuer = IssuerKey::generate();
        let keys = [issuer.public_jwk().clone()];
        // Not even base64url: the size is what is refused.
        let huge = format!("{}.e30.sig", "!".repeat(MAX_JWS_BYTES));
        let error = verify(&huge, &status_policy(&keys)).unwrap_err();
        assert_eq!(
            error.0,
            format!(
                "status list token has {} bytes; a JWT of at most 32 KiB is accepted",
                huge.len()
            )
        );
        // A verification with a limit of its own (status list tokens) applies that one.
        let token = status_token(&issuer, NOW);
        assert!(verify(&token, &status_policy(&keys)).is_ok());
        let error = verify_sized(&token, &status_policy(&keys), token.len() - 1).unwrap_err();
        assert!(error.0.contains("at most"), "{error}");
        assert!(verify_sized(&token, &status_policy(&keys), usize::MAX).is_ok());
    }

    #[test]
    fn a_key_set_verifies_by_kid() {
        let issuer = IssuerKey::generate();
        let other = IssuerKey::generate();
        let keys = [other.public_jwk().clone(), issuer.public_jwk().clone()];
        let verified = verify(&status_token(&issuer, NOW), &status_policy(&keys)).unwrap();
        assert_eq!(verified.alg, "ES256");
        assert_eq!(&verified.key, issuer.public_jwk());
        assert_eq!(verified.header["kid"], issuer.kid());
        assert_eq!(
            verified.claims["sub"],
            "https://issuer.example/status-lists/1"
        );

        // A kid the set does not have; a set without the signer's key.
        let only_other = [other.public_jwk().clone()];
        assert_eq!(
            verify(&status_token(&issuer, NOW), &status_policy(&only_other))
                .unwrap_err()
                .0,
            format!(
                "status list token `kid` `{}` names none of the signer's 1 key(s)",
                issuer.kid()
            )
        );
    }

    #[test]
    fn a_key_set_without_kid_needs_exactly_one_key() {
        let issuer = IssuerKey::generate();
        let mut anonymous = issuer.public_jwk().clone();
        anonymous.as_object_mut().unwrap().remove("kid");
        // The issuer's tokens always name their key: a set whose key has no `kid` misses it.
        let token = status_token(&issuer, NOW);
        let one = [anonymous];
        assert!(
            verify(&token, &status_policy(&one))
                .unwrap_err()
                .0
                .contains("names none of")
        );
        // A token without `kid` is verified by a set of one key, and refused by a larger set.
        let holder = HolderKey::es256();
        let unnamed = holder.sign_jws(
            &json!({"typ": STATUS_LIST_TYP, "alg": "ES256"}),
            &json!({"iat": NOW}),
        );
        let holder_key = [holder.public_jwk()];
        verify(&unnamed, &status_policy(&holder_key)).unwrap();
        let two = [holder.public_jwk(), issuer.public_jwk().clone()];
        assert_eq!(
            verify(&unnamed, &status_policy(&two)).unwrap_err().0,
            "status list token header has no `kid` to pick one of the signer's 2 keys"
        );
    }

    #[test]
    fn a_given_key_verifies_a_key_binding_jwt() {
        let holder = HolderKey::ed25519();
        let cnf = holder.public_jwk();
        let kb_jwt = holder.sign_jws(
            &json!({"typ": "kb+jwt", "alg": "EdDSA"}),
            &json!({"iat": NOW - 10, "aud": "https://verifier.example", "nonce": "n",
                    "sd_hash": "abc"}),
        );
        let policy = Policy {
            subject: "key-binding JWT",
            typ: &["kb+jwt"],
            algorithms: &["ES256", "EdDSA"],
            critical: &[],
            key: KeySource::Jwk(&cnf),
            audience: Some("https://verifier.example"),
            time: TimeRules {
                max_age: Some(300),
                ..rules()
            },
        };
        let verified = verify(&kb_jwt, &policy).unwrap();
        assert_eq!(
            (verified.alg, verified.claims["nonce"].as_str()),
            ("EdDSA", Some("n"))
        );

        // Signed by another key than the credential's.
        let thief = HolderKey::ed25519();
        let stolen = thief.sign_jws(
            &json!({"typ": "kb+jwt", "alg": "EdDSA"}),
            &json!({"iat": NOW, "aud": "https://verifier.example"}),
        );
        assert_eq!(
            verify(&stolen, &policy).unwrap_err().0,
            "key-binding JWT signature does not verify with the signer's key (EdDSA)"
        );
        // A stale one.
        let stale = holder.sign_jws(
            &json!({"typ": "kb+jwt", "alg": "EdDSA"}),
            &json!({"iat": NOW - 301, "aud": "https://verifier.example"}),
        );
        assert_eq!(
            verify(&stale, &policy).unwrap_err().0,
            "key-binding JWT `iat` is 301 s old; at most 300 s is accepted"
        );
        // A MAC is refused as the signer's, not the holder's, key.
        let mac = holder.sign_jws(&json!({"typ": "kb+jwt", "alg": "HS256"}), &json!({}));
        assert!(
            verify(&mac, &policy)
                .unwrap_err()
                .0
                .ends_with("must be signed with the signer's private key")
        );
    }

    #[test]
    fn time_rules_without_iat_still_check_exp_and_nbf() {
        let issuer = IssuerKey::generate();
        let keys = [issuer.public_jwk().clone()];
        // The token's `exp` is iat + 300: 361 s after it was issued it is refused (60 s leeway).
        let old = status_token(&issuer, NOW - 361);
        assert_eq!(
            verify(&old, &status_policy(&keys)).unwrap_err().0,
            "status list token expired 61 s ago (`exp`)"
        );
        verify(&status_token(&issuer, NOW - 360), &status_policy(&keys)).unwrap();
        let future = issuer.sign_jwt(&json!({"typ": STATUS_LIST_TYP}), &json!({"nbf": NOW + 61}));
        assert_eq!(
            verify(&future, &status_policy(&keys)).unwrap_err().0,
            "status list token is not valid before 61 s from now (`nbf`)"
        );
    }

    #[test]
    fn typ_alternatives_and_critical_headers() {
        let holder = HolderKey::es256();
        let key = holder.public_jwk();
        let policy = Policy {
            subject: "credential",
            typ: &["dc+sd-jwt", "vc+sd-jwt"],
            algorithms: &["ES256"],
            critical: &["b64x"],
            key: KeySource::Jwk(&key),
            audience: None,
            time: rules(),
        };
        let sign = |header: Value| holder.sign_jws(&header, &json!({}));
        verify(&sign(json!({"typ": "vc+sd-jwt", "alg": "ES256"})), &policy).unwrap();
        assert_eq!(
            verify(&sign(json!({"typ": "JWT", "alg": "ES256"})), &policy)
                .unwrap_err()
                .0,
            "credential `typ` is `JWT`, expected `dc+sd-jwt` or `vc+sd-jwt`"
        );
        // `crit` naming an understood header that is present: accepted; anything else refused.
        verify(
            &sign(json!({"typ": "dc+sd-jwt", "alg": "ES256", "crit": ["b64x"], "b64x": 1})),
            &policy,
        )
        .unwrap();
        for crit in [json!(["b64x"]), json!(["exp"]), json!([]), json!("b64x")] {
            let refused = verify(
                &sign(json!({"typ": "dc+sd-jwt", "alg": "ES256", "crit": crit})),
                &policy,
            )
            .unwrap_err()
            .0;
            assert!(refused.contains("`crit`"), "{refused}");
        }
    }

    #[test]
    fn duplicate_members_are_refused() {
        let holder = HolderKey::es256();
        let key = holder.public_jwk();
        let policy = Policy {
            subject: "key-binding JWT",
            typ: &["kb+jwt"],
            algorithms: &["ES256"],
            critical: &[],
            key: KeySource::Jwk(&key),
            audience: Some("https://verifier.example"),
            time: rules(),
        };
        let b64 = |text: &str| URL_SAFE_NO_PAD.encode(text);
        let signed = |header: &str, payload: &str| {
            let input = format!("{}.{}", b64(header), b64(payload));
            format!("{input}.{}", holder.sign(input.as_bytes()))
        };
        let header = r#"{"typ":"kb+jwt","alg":"ES256"}"#;
        let once = r#"{"aud":"https://verifier.example"}"#;
        verify(&signed(header, once), &policy).unwrap();
        let twice = r#"{"aud":"https://verifier.example","aud":"https://evil.example"}"#;
        assert_eq!(
            verify(&signed(header, twice), &policy).unwrap_err().0,
            "key-binding JWT payload is not a valid JWT claims set: duplicate member `aud` at \
             line 1 column 39"
        );
        let doubled = r#"{"typ":"kb+jwt","alg":"ES256","alg":"none"}"#;
        assert!(
            verify(&signed(doubled, once), &policy)
                .unwrap_err()
                .0
                .starts_with("key-binding JWT header is not a JSON object: duplicate member `alg`")
        );
    }

    #[test]
    fn rsa_and_p384_keys_are_checked_before_the_signature() {
        fn policy(keys: &[Value]) -> Policy<'_> {
            Policy {
                subject: "ID token",
                typ: &[NO_TYP, "JWT"],
                algorithms: &SUPPORTED,
                critical: &[],
                key: KeySource::KeySet(keys),
                audience: None,
                time: rules(),
            }
        }
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let token = |alg: &str| {
            format!(
                "{}.{}.{}",
                b64(json!({"alg": alg}).to_string().as_bytes()),
                b64(b"{}"),
                b64(&[1; 64])
            )
        };
        // A 1024-bit modulus (its top bit set) is too small; leading zero bytes do not count.
        let mut n = vec![0u8, 0x80];
        n.extend([7u8; 127]);
        let small = [json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"})];
        assert_eq!(
            verify(&token("RS256"), &policy(&small)).unwrap_err().0,
            "ID token `jwk` is an RSA key of 1024 bits; at least 2048 are required"
        );
        let ec = [json!({"kty": "EC", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32])})];
        assert_eq!(
            verify(&token("PS256"), &policy(&ec)).unwrap_err().0,
            "ID token `alg` is PS256 but its `jwk` is kty `EC`; expected `RSA`"
        );
        assert_eq!(
            verify(&token("ES384"), &policy(&ec)).unwrap_err().0,
            "ID token `alg` is ES384 but its `jwk` is kty `EC` crv `P-256`; expected kty `EC` \
             crv `P-384`"
        );
        let short = [json!({"kty": "EC", "crv": "P-384", "x": b64(&[1; 32]), "y": b64(&[2; 48])})];
        assert_eq!(
            verify(&token("ES384"), &policy(&short)).unwrap_err().0,
            "ID token `jwk` `x` is 32 bytes long, expected 48"
        );
        let no_e = [json!({"kty": "RSA", "n": b64(&[0xff; 256])})];
        assert_eq!(
            verify(&token("RS256"), &policy(&no_e)).unwrap_err().0,
            "ID token `jwk` has no `e` string"
        );
        // A 2048-bit key passes the key checks; the made-up signature then fails.
        let big = [json!({"kty": "RSA", "n": b64(&[0xff; 256]), "e": "AQAB"})];
        assert_eq!(
            verify(&token("RS256"), &policy(&big)).unwrap_err().0,
            "ID token signature does not verify with the signer's key (RS256)"
        );
        // `typ` may be absent under NO_TYP, but not empty.
        let empty_typ = format!(
            "{}.{}.{}",
            b64(json!({"alg": "RS256", "typ": ""}).to_string().as_bytes()),
            b64(b"{}"),
            b64(&[1; 64])
        );
        assert_eq!(
            verify(&empty_typ, &policy(&big)).unwrap_err().0,
            "ID token `typ` is ``, expected none or `JWT`"
        );
    }

    #[test]
    fn a_key_for_another_algorithm_or_use_is_refused() {
        let issuer = IssuerKey::generate();
        let mut for_encryption = issuer.public_jwk().clone();
        for_encryption["use"] = json!("enc");
        let keys = [for_encryption];
        assert_eq!(
            verify(&status_token(&issuer, NOW), &status_policy(&keys))
                .unwrap_err()
                .0,
            "status list token key is for `enc`, not for signatures (`sig`)"
        );
        let mut for_es384 = issuer.public_jwk().clone();
        for_es384["alg"] = json!("ES384");
        let keys = [for_es384];
        assert_eq!(
            verify(&status_token(&issuer, NOW), &status_policy(&keys))
                .unwrap_err()
                .0,
            "status list token is signed with ES256 but its key is for `ES384`"
        );
        let mut private = issuer.public_jwk().clone();
        private["d"] = json!("AAAA");
        let keys = [private];
        assert!(
            verify(&status_token(&issuer, NOW), &status_policy(&keys))
                .unwrap_err()
                .0
                .contains("private key material")
        );
    }
}
