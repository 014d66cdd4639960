//! Verification of the OpenID4VCI `jwt` key proof sent to the credential endpoint.
//!
//! Before issuing a credential bound to a holder key (`cnf.jwk`), the issuer must check that the
//! wallet controls that key: the wallet signs a short JWT (`typ: openid4vci-proof+jwt`) whose
//! header carries the public key and whose payload names this issuer (`aud`), a fresh time
//! (`iat`) and the server's `c_nonce`. This module applies the OpenID4VCI 1.0 rules in a fixed
//! order (header → `typ` → `alg` → key binding → key → signature → `aud` → `iat` → `nonce`), so
//! each rejection carries one precise reason that becomes the `error_description` of an
//! `invalid_proof` error. Only plain `jwk` key binding is supported (what BC Wallet/Bifold send);
//! `kid` (DID URLs) and `x5c` are refused. The nonce is returned, not checked: the caller consumes
//! it atomically in the database (unknown or expired → `invalid_nonce`).
//!
//! This runs once per issued credential, so the header is decoded once and the signature is
//! checked directly with `jsonwebtoken`'s crypto provider (no second header parse).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The `typ` header value a proof must carry.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Algorithms this module can verify (whatever the configuration allows).
const VERIFIABLE: [&str; 2] = ["ES256", "EdDSA"];

/// JWK members that carry private or symmetric key material (RFC 7518 §6).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What the credential endpoint accepts in a proof.
#[derive(Debug, Clone, Copy)]
pub struct ProofPolicy<'a> {
    /// The credential issuer identifier; the proof's `aud` must equal it.
    pub audience: &'a str,
    /// Allowed `alg` values: the configuration's `proof_signing_alg_values_supported`
    /// (e.g. `["ES256", "EdDSA"]`). Only ES256 and EdDSA can be verified; others listed here are
    /// refused as unsupported.
    pub algorithms: &'a [&'a str],
    /// The current time, Unix seconds.
    pub now: i64,
    /// How old `iat` may be, in seconds (e.g. 300).
    pub max_age: i64,
    /// How far in the future `iat` may be, in seconds (clock skew, e.g. 60). Also the leeway for
    /// an optional `exp`/`nbf` in the proof.
    pub max_skew: i64,
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedProof {
    /// The holder's public key exactly as sent in the proof header (checked to contain no
    /// private members); becomes the credential's `cnf.jwk`.
    pub holder_jwk: Value,
    /// The `nonce` claim, if present. The caller turns `None` into `invalid_proof` when a nonce
    /// endpoint is advertised and consumes `Some` atomically (`invalid_nonce` when unknown).
    pub nonce: Option<String>,
    /// The verified algorithm (`ES256` or `EdDSA`).
    pub alg: String,
}

/// Why a proof was rejected; the text is meant for the `error_description` of `invalid_proof`
/// (printable ASCII only: values copied from the proof are truncated and sanitized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofError(pub String);

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProofError {}

fn fail<T>(message: impl Into<String>) -> Result<T, ProofError> {
    Err(ProofError(message.into()))
}

/// Quotes a value taken from the proof for an error message: at most 60 characters, and only
/// characters allowed in an OAuth `error_description` (RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E).
fn show(text: &str) -> String {
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
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{}`", show(s)),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => show(&n.to_string()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The proof claims this module reads; other claims are ignored.
#[derive(Deserialize)]
struct ProofClaims {
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    #[serde(default)]
    nonce: Option<Value>,
}

/// Verifies an OpenID4VCI `jwt` proof against `policy`.
///
/// Checks, in this order, each failure returning a [`ProofError`] naming the problem:
/// 1. three base64url parts; the header is a JSON object;
/// 2. `typ` is `openid4vci-proof+jwt`;
/// 3. `alg` is present, not `none`, not a MAC, listed in `policy.algorithms` and verifiable
///    (ES256 or EdDSA); no `crit` header;
/// 4. exactly one of `kid`, `jwk`, `x5c`, and it is `jwk`;
/// 5. the `jwk` has no private members and matches `alg` (EC P-256 for ES256, OKP Ed25519 for
///    EdDSA) with well-formed coordinates;
/// 6. the signature verifies with that key;
/// 7. the payload is a JSON object whose `aud` equals `policy.audience` (a string, or an array
///    containing it);
/// 8. `iat` is a number no older than `max_age` and no more than `max_skew` in the future
///    (an `exp` or `nbf`, when present, must also hold, with `max_skew` leeway);
/// 9. `nonce`, when present, is a string; it is returned for the caller to consume.
pub fn verify_proof(jwt: &str, policy: &ProofPolicy) -> Result<VerifiedProof, ProofError> {
    // 1. Structure.
    let mut parts = jwt.trim().split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let count = jwt.trim().split('.').count();
        return fail(format!(
            "proof is not a compact JWS: expected 3 dot-separated parts, found {count}"
        ));
    };
    let Ok(header_bytes) = URL_SAFE_NO_PAD.decode(header_b64) else {
        return fail("proof header is not valid base64url (without padding)");
    };
    let mut header: Map<String, Value> = match serde_json::from_slice(&header_bytes) {
        Ok(header) => header,
        Err(e) => {
            return fail(format!(
                "proof header is not a JSON object: {}",
                show(&e.to_string())
            ));
        }
    };

    // 2. typ.
    match header.get("typ") {
        Some(Value::String(typ)) if typ == PROOF_TYP => {}
        Some(other) => {
            return fail(format!(
                "proof `typ` is {}, expected `{PROOF_TYP}`",
                describe(other)
            ));
        }
        None => return fail(format!("proof header has no `typ`, expected `{PROOF_TYP}`")),
    }

    // 3. alg.
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        Some(other) => return fail(format!("proof `alg` is {}, not a string", describe(other))),
        None => return fail("proof header has no `alg`"),
    };
    if alg.eq_ignore_ascii_case("none") {
        return fail("proof `alg` is `none`: an unsigned proof is not accepted");
    }
    if alg.starts_with("HS") {
        return fail(format!(
            "proof `alg` is `{}`, a MAC algorithm: the proof must be signed with the holder's \
             private key",
            show(alg)
        ));
    }
    if !policy.algorithms.contains(&alg) {
        return fail(format!(
            "proof `alg` `{}` is not allowed; allowed: {}",
            show(alg),
            policy.algorithms.join(", ")
        ));
    }
    // From here on `alg` is a static name, so the header can be taken apart.
    let (algorithm, alg) = match alg {
        "ES256" => (Algorithm::ES256, "ES256"),
        "EdDSA" => (Algorithm::EdDSA, "EdDSA"),
        _ => {
            return fail(format!(
                "proof `alg` `{}` is not supported by this issuer; supported: {}",
                show(alg),
                VERIFIABLE.join(", ")
            ));
        }
    };
    if header.contains_key("crit") {
        return fail("proof header `crit` lists extensions this issuer does not understand");
    }

    // 4. Key binding: exactly one of kid / jwk / x5c, and it must be jwk.
    let present: Vec<&str> = ["kid", "jwk", "x5c"]
        .into_iter()
        .filter(|name| header.contains_key(*name))
        .collect();
    match present.as_slice() {
        ["jwk"] => {}
        [] => {
            return fail(
                "proof header has none of `kid`, `jwk`, `x5c`; exactly one is required \
                 (only jwk key binding is supported)",
            );
        }
        [one] => {
            return fail(format!(
                "only jwk key binding is supported; the proof header has `{one}`"
            ));
        }
        several => {
            return fail(format!(
                "proof header has {}; exactly one of `kid`, `jwk`, `x5c` is allowed",
                several
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
    }
    let jwk = header.remove("jwk").unwrap_or(Value::Null);

    // 5. The key itself.
    let decoding_key = decoding_key(&jwk, algorithm)?;

    // 6. Signature over `header.payload`, with the bytes as sent.
    let message = jwt
        .trim()
        .rsplit_once('.')
        .map_or("", |(signing_input, _)| signing_input)
        .as_bytes();
    match jsonwebtoken::crypto::verify(signature_b64, message, &decoding_key, algorithm) {
        Ok(true) => {}
        Ok(false) => {
            return fail(format!(
                "proof signature does not verify with the `jwk` in its header ({alg})"
            ));
        }
        Err(_) if URL_SAFE_NO_PAD.decode(signature_b64).is_err() => {
            return fail("proof signature is not valid base64url (without padding)");
        }
        Err(e) => {
            return fail(format!(
                "proof `jwk` cannot be used to verify {alg}: {}",
                show(&e.to_string())
            ));
        }
    }

    // 7.-9. Claims.
    let Ok(payload_bytes) = URL_SAFE_NO_PAD.decode(payload_b64) else {
        return fail("proof payload is not valid base64url (without padding)");
    };
    // A derived struct would also accept a JSON array; a JWT claims set must be an object.
    let is_object = payload_bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !is_object {
        return fail("proof payload is not a JSON object");
    }
    let claims: ProofClaims = match serde_json::from_slice(&payload_bytes) {
        Ok(claims) => claims,
        Err(e) => {
            return fail(format!(
                "proof payload is not a valid JWT claims set: {}",
                show(&e.to_string())
            ));
        }
    };

    match &claims.aud {
        Some(Value::String(aud)) if aud == policy.audience => {}
        Some(Value::Array(auds)) if auds.iter().any(|a| a.as_str() == Some(policy.audience)) => {}
        Some(Value::String(aud)) => {
            return fail(format!(
                "proof `aud` is `{}`, expected `{}`",
                show(aud),
                show(policy.audience)
            ));
        }
        Some(Value::Array(_)) => {
            return fail(format!(
                "proof `aud` does not contain `{}`",
                show(policy.audience)
            ));
        }
        Some(other) => {
            return fail(format!(
                "proof `aud` is {}, expected the string `{}`",
                describe(other),
                show(policy.audience)
            ));
        }
        None => {
            return fail(format!(
                "proof has no `aud` claim; expected `{}`",
                show(policy.audience)
            ));
        }
    }

    let iat = match &claims.iat {
        Some(value) => numeric_date(value).ok_or_else(|| {
            ProofError(format!(
                "proof `iat` is {}, not a NumericDate (seconds since 1970)",
                describe(value)
            ))
        })?,
        None => return fail("proof has no `iat` claim"),
    };
    let age = policy.now.saturating_sub(iat);
    if age > policy.max_age {
        return fail(format!(
            "proof `iat` is {age} s old; at most {} s is accepted",
            policy.max_age
        ));
    }
    let ahead = iat.saturating_sub(policy.now);
    if ahead > policy.max_skew {
        return fail(format!(
            "proof `iat` is {ahead} s in the future; at most {} s of clock skew is accepted",
            policy.max_skew
        ));
    }
    if let Some(value) = &claims.exp {
        let Some(exp) = numeric_date(value) else {
            return fail(format!(
                "proof `exp` is {}, not a NumericDate (seconds since 1970)",
                describe(value)
            ));
        };
        if exp.saturating_add(policy.max_skew) < policy.now {
            return fail(format!(
                "proof expired {} s ago (`exp`)",
                policy.now.saturating_sub(exp)
            ));
        }
    }
    if let Some(value) = &claims.nbf {
        let Some(nbf) = numeric_date(value) else {
            return fail(format!(
                "proof `nbf` is {}, not a NumericDate (seconds since 1970)",
                describe(value)
            ));
        };
        if nbf.saturating_sub(policy.max_skew) > policy.now {
            return fail(format!(
                "proof is not valid before {} s from now (`nbf`)",
                nbf.saturating_sub(policy.now)
            ));
        }
    }

    let nonce = match claims.nonce {
        None | Some(Value::Null) => None,
        Some(Value::String(nonce)) => Some(nonce),
        Some(other) => {
            return fail(format!(
                "proof `nonce` is {}, not a string",
                describe(&other)
            ));
        }
    };

    Ok(VerifiedProof {
        holder_jwk: jwk,
        nonce,
        alg: alg.to_owned(),
    })
}

/// A JWT NumericDate (integer or fractional seconds) as whole seconds.
fn numeric_date(value: &Value) -> Option<i64> {
    if let Some(i) = value.as_i64() {
        return Some(i);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f.abs() < 1e15).then(|| f.floor() as i64)
}

/// Checks the header `jwk` (public, matching `alg`, well-formed) and builds the verification key.
fn decoding_key(jwk: &Value, algorithm: Algorithm) -> Result<DecodingKey, ProofError> {
    let Value::Object(members) = jwk else {
        return fail(format!(
            "proof `jwk` is {}, not a JSON object",
            describe(jwk)
        ));
    };
    let private: Vec<&str> = PRIVATE_JWK_MEMBERS
        .into_iter()
        .filter(|m| members.contains_key(*m))
        .collect();
    if !private.is_empty() {
        return fail(format!(
            "proof `jwk` contains private key material ({}); send the public key only",
            private
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let text = |name: &str| members.get(name).and_then(Value::as_str);
    let kty = text("kty");
    let crv = text("crv");
    let coordinate = |name: &str| -> Result<&str, ProofError> {
        let Some(value) = text(name) else {
            return fail(format!("proof `jwk` has no `{name}` string"));
        };
        match URL_SAFE_NO_PAD.decode(value) {
            Ok(bytes) if bytes.len() == 32 => Ok(value),
            Ok(bytes) => fail(format!(
                "proof `jwk` `{name}` is {} bytes long, expected 32",
                bytes.len()
            )),
            Err(_) => fail(format!(
                "proof `jwk` `{name}` is not valid base64url (without padding)"
            )),
        }
    };
    let key = match algorithm {
        Algorithm::ES256 => {
            if kty != Some("EC") || crv != Some("P-256") {
                return fail(format!(
                    "proof `alg` is ES256 but its `jwk` is kty {} crv {}; expected kty `EC` \
                     crv `P-256`",
                    kty.map_or("(missing)".into(), |k| format!("`{}`", show(k))),
                    crv.map_or("(missing)".into(), |c| format!("`{}`", show(c))),
                ));
            }
            DecodingKey::from_ec_components(coordinate("x")?, coordinate("y")?)
        }
        Algorithm::EdDSA => {
            if kty != Some("OKP") || crv != Some("Ed25519") {
                return fail(format!(
                    "proof `alg` is EdDSA but its `jwk` is kty {} crv {}; expected kty `OKP` \
                     crv `Ed25519`",
                    kty.map_or("(missing)".into(), |k| format!("`{}`", show(k))),
                    crv.map_or("(missing)".into(), |c| format!("`{}`", show(c))),
                ));
            }
            DecodingKey::from_ed_components(coordinate("x")?)
        }
        _ => return fail("proof `alg` is not supported"),
    };
    key.map_err(|e| ProofError(format!("proof `jwk` is not a usable key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUD: &str = "https://issuer.example/tenant";
    const NOW: i64 = 1_750_000_000;
    const ALGS: [&str; 2] = ["ES256", "EdDSA"];

    fn policy() -> ProofPolicy<'static> {
        ProofPolicy {
            audience: AUD,
            algorithms: &ALGS,
            now: NOW,
            max_age: 300,
            max_skew: 60,
        }
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A holder key that signs proofs: the wallet side the protocol tests and benchmark use too.
    struct Holder(crate::holder::HolderKey);

    impl Holder {
        fn es256() -> Holder {
            Holder(crate::holder::HolderKey::es256())
        }

        fn ed25519() -> Holder {
            Holder(crate::holder::HolderKey::ed25519())
        }

        fn alg(&self) -> &'static str {
            self.0.alg()
        }

        fn jwk(&self) -> Value {
            self.0.public_jwk()
        }

        fn sign(&self, message: &[u8]) -> String {
            self.0.sign(message)
        }

        fn jws(&self, header: &Value, payload: &Value) -> String {
            self.0.sign_jws(header, payload)
        }

        fn header(&self) -> Value {
            json!({"typ": PROOF_TYP, "alg": self.alg(), "jwk": self.jwk()})
        }

        fn proof(&self) -> String {
            self.jws(&self.header(), &payload())
        }
    }

    fn payload() -> Value {
        json!({"aud": AUD, "iat": NOW - 5, "nonce": "n-123"})
    }

    fn rejected(jwt: &str) -> String {
        verify_proof(jwt, &policy()).unwrap_err().0
    }

    fn with_header(holder: &Holder, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut header = holder.header();
        edit(header.as_object_mut().unwrap());
        holder.jws(&header, &payload())
    }

    fn with_payload(holder: &Holder, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut claims = payload();
        edit(claims.as_object_mut().unwrap());
        holder.jws(&holder.header(), &claims)
    }

    #[test]
    fn valid_es256_proof() {
        let holder = Holder::es256();
        let verified = verify_proof(&holder.proof(), &policy()).unwrap();
        assert_eq!(verified.alg, "ES256");
        assert_eq!(verified.nonce.as_deref(), Some("n-123"));
        assert_eq!(verified.holder_jwk, holder.jwk());
    }

    #[test]
    fn valid_eddsa_proof() {
        let holder = Holder::ed25519();
        assert_eq!(holder.jwk()["kty"], "OKP");
        let verified = verify_proof(&holder.proof(), &policy()).unwrap();
        assert_eq!(verified.alg, "EdDSA");
        assert_eq!(verified.nonce.as_deref(), Some("n-123"));
        assert_eq!(verified.holder_jwk, holder.jwk());
    }

    #[test]
    fn accepted_variants() {
        let holder = Holder::es256();
        // aud as an array, no nonce, iat at the edges of the window, fractional iat.
        for edit in [
            (|c: &mut Map<String, Value>| {
                c.insert("aud".into(), json!(["https://other", AUD]));
            }) as fn(&mut Map<String, Value>),
            |c| {
                c.remove("nonce");
            },
            |c| {
                c.insert("iat".into(), json!(NOW - 300));
            },
            |c| {
                c.insert("iat".into(), json!(NOW + 60));
            },
            |c| {
                c.insert("iat".into(), json!(NOW as f64 - 0.5));
            },
            |c| {
                c.insert("exp".into(), json!(NOW + 100));
                c.insert("iss".into(), json!("wallet-client"));
            },
        ] {
            let jwt = with_payload(&holder, edit);
            verify_proof(&jwt, &policy()).unwrap();
        }
        let verified = verify_proof(
            &with_payload(&holder, |c| drop(c.remove("nonce"))),
            &policy(),
        )
        .unwrap();
        assert_eq!(verified.nonce, None);
    }

    #[test]
    fn wrong_typ() {
        let holder = Holder::es256();
        let jwt = with_header(&holder, |h| drop(h.insert("typ".into(), json!("JWT"))));
        assert_eq!(
            rejected(&jwt),
            "proof `typ` is `JWT`, expected `openid4vci-proof+jwt`"
        );
        let jwt = with_header(&holder, |h| drop(h.remove("typ")));
        assert!(rejected(&jwt).contains("has no `typ`"));
    }

    #[test]
    fn alg_none_unsigned_token() {
        let header = json!({"typ": PROOF_TYP, "alg": "none", "jwk": Holder::es256().jwk()});
        let jwt = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(payload().to_string().as_bytes())
        );
        assert_eq!(
            rejected(&jwt),
            "proof `alg` is `none`: an unsigned proof is not accepted"
        );
    }

    #[test]
    fn alg_hs256_is_a_mac() {
        let holder = Holder::es256();
        let jwt = with_header(&holder, |h| drop(h.insert("alg".into(), json!("HS256"))));
        let message = rejected(&jwt);
        assert!(message.contains("`HS256`, a MAC algorithm"), "{message}");
        // Even if a misconfiguration allowed it.
        let algs = ["HS256", "ES256"];
        let lax = ProofPolicy {
            algorithms: &algs,
            ..policy()
        };
        assert!(verify_proof(&jwt, &lax).unwrap_err().0.contains("MAC"));
    }

    #[test]
    fn alg_not_allowed_or_not_supported() {
        let holder = Holder::ed25519();
        let only_es256 = ["ES256"];
        let strict = ProofPolicy {
            algorithms: &only_es256,
            ..policy()
        };
        assert_eq!(
            verify_proof(&holder.proof(), &strict).unwrap_err().0,
            "proof `alg` `EdDSA` is not allowed; allowed: ES256"
        );

        let es = Holder::es256();
        let jwt = with_header(&es, |h| drop(h.insert("alg".into(), json!("ES384"))));
        let algs = ["ES256", "ES384"];
        let wide = ProofPolicy {
            algorithms: &algs,
            ..policy()
        };
        assert!(
            verify_proof(&jwt, &wide)
                .unwrap_err()
                .0
                .contains("`ES384` is not supported")
        );
        let jwt = with_header(&es, |h| drop(h.remove("alg")));
        assert_eq!(rejected(&jwt), "proof header has no `alg`");
        let jwt = with_header(&es, |h| drop(h.insert("crit".into(), json!(["b64"]))));
        assert!(rejected(&jwt).contains("`crit`"));
    }

    #[test]
    fn kid_or_x5c_instead_of_jwk() {
        let holder = Holder::es256();
        let jwt = with_header(&holder, |h| {
            h.remove("jwk");
            h.insert("kid".into(), json!("did:example:123#key-1"));
        });
        assert_eq!(
            rejected(&jwt),
            "only jwk key binding is supported; the proof header has `kid`"
        );
        let jwt = with_header(&holder, |h| {
            h.remove("jwk");
            h.insert("x5c".into(), json!(["MIIB"]));
        });
        assert!(rejected(&jwt).starts_with("only jwk key binding is supported"));
        let jwt = with_header(&holder, |h| drop(h.insert("kid".into(), json!("k1"))));
        assert_eq!(
            rejected(&jwt),
            "proof header has `kid` and `jwk`; exactly one of `kid`, `jwk`, `x5c` is allowed"
        );
        let jwt = with_header(&holder, |h| drop(h.remove("jwk")));
        assert!(rejected(&jwt).contains("none of `kid`, `jwk`, `x5c`"));
    }

    #[test]
    fn jwk_with_private_key_material() {
        let holder = Holder::es256();
        let jwt = with_header(&holder, |h| {
            h["jwk"]
                .as_object_mut()
                .unwrap()
                .insert("d".into(), json!("AAAA"));
        });
        assert_eq!(
            rejected(&jwt),
            "proof `jwk` contains private key material (`d`); send the public key only"
        );
    }

    #[test]
    fn jwk_not_matching_alg_or_malformed() {
        let es = Holder::es256();
        let ed = Holder::ed25519();
        // ES256 header with an Ed25519 key.
        let jwt = with_header(&es, |h| drop(h.insert("jwk".into(), ed.jwk())));
        assert!(rejected(&jwt).contains("expected kty `EC` crv `P-256`"));
        // EdDSA header with a P-256 key.
        let jwt = with_header(&ed, |h| drop(h.insert("jwk".into(), es.jwk())));
        assert!(rejected(&jwt).contains("expected kty `OKP` crv `Ed25519`"));
        // Short Ed25519 x: must be an error, not a panic inside the verifier.
        let jwt = with_header(&ed, |h| {
            h["jwk"]
                .as_object_mut()
                .unwrap()
                .insert("x".into(), json!("AAAA"));
        });
        assert_eq!(
            rejected(&jwt),
            "proof `jwk` `x` is 3 bytes long, expected 32"
        );
        // A P-256 "point" that is not on the curve.
        let jwt = with_header(&es, |h| {
            h["jwk"]
                .as_object_mut()
                .unwrap()
                .insert("y".into(), json!(b64(&[7u8; 32])));
        });
        assert!(rejected(&jwt).contains("cannot be used to verify ES256"));
        let jwt = with_header(&es, |h| drop(h.insert("jwk".into(), json!("key"))));
        assert!(rejected(&jwt).contains("not a JSON object"));
    }

    #[test]
    fn signature_by_a_different_key() {
        let holder = Holder::es256();
        let impostor = Holder::es256();
        // Header carries holder's jwk, signature made by impostor.
        let jwt = impostor.jws(&holder.header(), &payload());
        assert_eq!(
            rejected(&jwt),
            "proof signature does not verify with the `jwk` in its header (ES256)"
        );
        let holder = Holder::ed25519();
        let impostor = Holder::ed25519();
        let jwt = impostor.jws(&holder.header(), &payload());
        assert!(rejected(&jwt).contains("signature does not verify"));
    }

    #[test]
    fn tampered_payload_fails_the_signature() {
        let holder = Holder::es256();
        let jwt = holder.proof();
        let parts: Vec<&str> = jwt.split('.').collect();
        let forged = json!({"aud": AUD, "iat": NOW, "nonce": "other"});
        let jwt = format!(
            "{}.{}.{}",
            parts[0],
            b64(forged.to_string().as_bytes()),
            parts[2]
        );
        assert!(rejected(&jwt).contains("signature does not verify"));
        let jwt = format!("{}.{}.!!!", parts[0], parts[1]);
        assert!(rejected(&jwt).contains("signature is not valid base64url"));
    }

    #[test]
    fn wrong_or_missing_aud() {
        let holder = Holder::es256();
        let jwt = with_payload(&holder, |c| {
            drop(c.insert("aud".into(), json!("https://evil")))
        });
        assert_eq!(
            rejected(&jwt),
            format!("proof `aud` is `https://evil`, expected `{AUD}`")
        );
        let jwt = with_payload(&holder, |c| {
            drop(c.insert("aud".into(), json!(["https://evil"])))
        });
        assert!(rejected(&jwt).contains("does not contain"));
        let jwt = with_payload(&holder, |c| drop(c.remove("aud")));
        assert!(rejected(&jwt).contains("no `aud`"));
        let jwt = with_payload(&holder, |c| drop(c.insert("aud".into(), json!(5))));
        assert!(rejected(&jwt).contains("`aud` is 5"));
    }

    #[test]
    fn stale_future_and_missing_iat() {
        let holder = Holder::es256();
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!(NOW - 301))));
        assert_eq!(
            rejected(&jwt),
            "proof `iat` is 301 s old; at most 300 s is accepted"
        );
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!(NOW + 61))));
        assert_eq!(
            rejected(&jwt),
            "proof `iat` is 61 s in the future; at most 60 s of clock skew is accepted"
        );
        let jwt = with_payload(&holder, |c| drop(c.remove("iat")));
        assert_eq!(rejected(&jwt), "proof has no `iat` claim");
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!("now"))));
        assert_eq!(
            rejected(&jwt),
            "proof `iat` is `now`, not a NumericDate (seconds since 1970)"
        );
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!(i64::MIN))));
        assert!(rejected(&jwt).contains("s old"));
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!(i64::MAX))));
        assert!(rejected(&jwt).contains("in the future"));
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!(1e300))));
        assert_eq!(
            rejected(&jwt),
            "proof `iat` is 1e+300, not a NumericDate (seconds since 1970)"
        );
        // Even with a nonsensical clock, no arithmetic overflow.
        let odd = ProofPolicy {
            now: -1,
            ..policy()
        };
        let jwt = with_payload(&holder, |c| drop(c.insert("iat".into(), json!(i64::MAX))));
        assert!(
            verify_proof(&jwt, &odd)
                .unwrap_err()
                .0
                .contains("in the future")
        );
    }

    #[test]
    fn expired_or_not_yet_valid_proof() {
        let holder = Holder::es256();
        let jwt = with_payload(&holder, |c| drop(c.insert("exp".into(), json!(NOW - 61))));
        assert_eq!(rejected(&jwt), "proof expired 61 s ago (`exp`)");
        let jwt = with_payload(&holder, |c| drop(c.insert("nbf".into(), json!(NOW + 100))));
        assert!(rejected(&jwt).contains("`nbf`"));
    }

    #[test]
    fn nonce_must_be_a_string() {
        let holder = Holder::es256();
        let jwt = with_payload(&holder, |c| drop(c.insert("nonce".into(), json!(42))));
        assert_eq!(rejected(&jwt), "proof `nonce` is 42, not a string");
    }

    #[test]
    fn malformed_structure_base64_and_json() {
        assert_eq!(
            rejected("abc.def"),
            "proof is not a compact JWS: expected 3 dot-separated parts, found 2"
        );
        assert_eq!(
            rejected("a.b.c.d.e"),
            "proof is not a compact JWS: expected 3 dot-separated parts, found 5"
        );
        assert!(rejected("").contains("found 1"));
        assert_eq!(
            rejected("***.e30.sig"),
            "proof header is not valid base64url (without padding)"
        );
        let not_json = b64(b"{not json");
        assert!(
            rejected(&format!("{not_json}.e30.sig"))
                .starts_with("proof header is not a JSON object")
        );
        let array = b64(b"[1,2]");
        assert!(
            rejected(&format!("{array}.e30.sig")).starts_with("proof header is not a JSON object")
        );

        // A correctly signed proof whose payload is not JSON / not an object.
        let holder = Holder::es256();
        let header = b64(holder.header().to_string().as_bytes());
        for body in [b64(b"nope"), b64(b"[]")] {
            let input = format!("{header}.{body}");
            let jwt = format!("{input}.{}", holder.sign(input.as_bytes()));
            assert!(rejected(&jwt).starts_with("proof payload is not a JSON object"));
        }
        let input = format!("{header}.***");
        let jwt = format!("{input}.{}", holder.sign(input.as_bytes()));
        assert_eq!(
            rejected(&jwt),
            "proof payload is not valid base64url (without padding)"
        );
    }

    #[test]
    fn error_messages_are_safe_error_descriptions() {
        let holder = Holder::es256();
        let jwt = with_header(&holder, |h| {
            drop(h.insert("typ".into(), json!("evil\"\\\u{7}é".repeat(30))))
        });
        let message = rejected(&jwt);
        assert!(message.len() < 200, "{message}");
        assert!(
            message
                .bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
            "{message}"
        );
    }
}
