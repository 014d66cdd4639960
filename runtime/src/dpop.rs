//! Verifying DPoP proofs (RFC 9449): how a wallet that asks for it keeps its access token to
//! itself.
//!
//! A wallet that sends a `DPoP` header with its token request gets an access token bound to the
//! key that signed the proof (its RFC 7638 thumbprint, `jkt`, sealed into the token by
//! [`crate::sealed::AccessTokens`]); the credential endpoint then accepts that token only with a
//! fresh proof by the same key over the same request, so a token that leaks is useless without
//! the wallet's private key. Wallets that send no proof keep getting bearer tokens.
//!
//! This module is the pure part: one proof, checked against the request it came with
//! ([`DpopExpectation`]). The JWS rules (structure, `typ: dpop+jwt`, an asymmetric `alg`, the key
//! from the public `jwk` header and only from there, the signature, a fresh `iat`) are
//! [`crate::jose`]'s; this module adds `htm`, `htu`, `ath` and `jti` and computes the key's
//! thumbprint. That a `jti` is used once is the store's to say: the caller spends
//! [`DpopProof::replay_key`] until [`DpopProof::replay_until`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jose::{self, KeySource, TimeRules, describe, show};

/// The `typ` header of a DPoP proof.
pub const DPOP_TYP: &str = "dpop+jwt";

/// The algorithms a DPoP proof may be signed with (the authorization server metadata's
/// `dpop_signing_alg_values_supported`).
pub const DPOP_ALGORITHMS: [&str; 2] = ["ES256", "EdDSA"];

/// The longest `jti` accepted, in bytes (it is remembered until the proof expires).
const MAX_JTI: usize = 256;

/// What the request a proof came with was: the proof must name it.
#[derive(Debug, Clone, Copy)]
pub struct DpopExpectation<'a> {
    /// The HTTP method (`POST`), compared exactly with `htm`.
    pub method: &'a str,
    /// The URL of the request as the issuer's public URL names it; compared with `htu` without
    /// query and fragment, both normalised (scheme and host case, default port).
    pub url: &'a str,
    /// The access token sent with the proof, at a protected resource: `ath` must be its
    /// SHA-256. `None` at the token endpoint, where `ath` is not checked.
    pub access_token: Option<&'a str>,
    /// The current time, Unix seconds.
    pub now: i64,
    /// How old `iat` may be, in seconds.
    pub max_age: i64,
    /// How far in the future `iat` may be (clock skew), in seconds; also the leeway of an
    /// optional `exp`/`nbf`.
    pub max_skew: i64,
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key: what an access token is bound to.
    pub jkt: String,
    /// The proof's unique identifier.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: i64,
    /// The verified algorithm (`ES256` or `EdDSA`).
    pub alg: &'static str,
    /// Until when (Unix seconds, exclusive) the proof would be accepted, so how long its `jti`
    /// must be remembered.
    pub replay_until: i64,
}

impl DpopProof {
    /// The key under which the proof's use is recorded: its `jti` within its key's proofs,
    /// prefixed so that it is never taken for a `c_nonce` (base64url, without `:`).
    pub fn replay_key(&self) -> String {
        format!("dpop:{}:{}", self.jkt, self.jti)
    }
}

/// Why a DPoP proof was refused: one sentence for the `error_description` of an
/// `invalid_dpop_proof` error (printable ASCII; values from the proof are quoted through
/// [`show`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopError(pub String);

impl std::fmt::Display for DpopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DpopError {}

impl From<jose::JoseError> for DpopError {
    fn from(error: jose::JoseError) -> DpopError {
        DpopError(error.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, DpopError> {
    Err(DpopError(message.into()))
}

/// Verifies the DPoP proof `proof` sent with the request `expected` describes (RFC 9449 §4.3):
/// the JWS rules of [`jose::verify`] with the key from the `jwk` header, then `htm`, `htu`,
/// `ath` (when an access token came with it) and `jti`. Returns the key's thumbprint and what
/// the caller needs to refuse a replay.
pub fn verify_proof(proof: &str, expected: &DpopExpectation) -> Result<DpopProof, DpopError> {
    let verified = jose::verify(
        proof,
        &jose::Policy {
            subject: "DPoP proof",
            typ: &[DPOP_TYP],
            algorithms: &DPOP_ALGORITHMS,
            critical: &[],
            key: KeySource::HeaderJwk,
            audience: None,
            time: TimeRules {
                now: expected.now,
                max_age: Some(expected.max_age),
                skew: expected.max_skew,
            },
        },
    )?;
    let claims = &verified.claims;
    let htm = string_claim(claims, "htm")?;
    if htm != expected.method {
        return fail(format!(
            "DPoP proof `htm` is `{}`, but the request is a {}",
            show(htm),
            expected.method
        ));
    }
    let htu = string_claim(claims, "htu")?;
    check_htu(htu, expected.url)?;
    if let Some(token) = expected.access_token {
        let ath = string_claim(claims, "ath")?;
        if ath != access_token_hash(token) {
            return fail(
                "DPoP proof `ath` is not the SHA-256 of the access token sent with it (base64url)",
            );
        }
    }
    let jti = string_claim(claims, "jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI {
        return fail(format!(
            "DPoP proof `jti` is {} bytes long; expected 1 to {MAX_JTI}",
            jti.len()
        ));
    }
    // `iat` was required and checked by the time rules; read back as whole seconds.
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f.floor() as i64)))
        .unwrap_or(expected.now);
    Ok(DpopProof {
        jkt: jwk_thumbprint(&verified.key)?,
        jti: jti.to_owned(),
        iat,
        alg: verified.alg,
        replay_until: iat.saturating_add(expected.max_age).saturating_add(1),
    })
}

/// A string claim the proof must have.
fn string_claim<'c>(claims: &'c Map<String, Value>, name: &str) -> Result<&'c str, DpopError> {
    match claims.get(name) {
        Some(Value::String(value)) => Ok(value),
        Some(other) => fail(format!(
            "DPoP proof `{name}` is {}, not a string",
            describe(other)
        )),
        None => fail(format!("DPoP proof has no `{name}` claim")),
    }
}

/// `htu` names the request's URL: compared without query and fragment, after the normalisation
/// of a URL parser (RFC 9449 §4.3, step 9).
fn check_htu(htu: &str, expected: &str) -> Result<(), DpopError> {
    let normalised = |text: &str| {
        url::Url::parse(text).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    };
    let Some(given) = normalised(htu) else {
        return fail(format!(
            "DPoP proof `htu` `{}` is not an absolute URL",
            show(htu)
        ));
    };
    let Some(wanted) = normalised(expected) else {
        return fail(format!(
            "the request URL `{}` cannot be compared with `htu`",
            show(expected)
        ));
    };
    if given != wanted {
        return fail(format!(
            "DPoP proof `htu` is `{}`, but the request is for `{}`",
            show(given.as_str()),
            show(wanted.as_str())
        ));
    }
    Ok(())
}

/// The `ath` of an access token: base64url (no padding) of the SHA-256 of its ASCII.
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of an EC P-256 or OKP
/// Ed25519 public key: the hash of its required members, in lexicographic order, without
/// whitespace.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, DpopError> {
    let member = |name: &str| -> Result<String, DpopError> {
        match jwk.get(name) {
            Some(Value::String(value)) => Ok(Value::String(value.clone()).to_string()),
            _ => fail(format!("DPoP proof `jwk` has no string `{name}`")),
        }
    };
    let canonical = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        Some("OKP") => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            member("crv")?,
            member("x")?
        ),
        _ => {
            return fail(format!(
                "DPoP proof `jwk` has `kty` {}; EC and OKP keys are supported",
                jwk.get("kty").map_or("none".into(), describe)
            ));
        }
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use trustc_testkit::HolderKey;

    const NOW: i64 = 1_750_000_000;
    const TOKEN_URL: &str = "https://issuer.example/tenant/token";

    fn expectation() -> DpopExpectation<'static> {
        DpopExpectation {
            method: "POST",
            url: TOKEN_URL,
            access_token: None,
            now: NOW,
            max_age: 300,
            max_skew: 60,
        }
    }

    fn header(holder: &HolderKey) -> Value {
        json!({"typ": DPOP_TYP, "alg": holder.alg(), "jwk": holder.public_jwk()})
    }

    fn claims() -> Value {
        json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": TOKEN_URL, "iat": NOW - 5})
    }

    fn signed(holder: &HolderKey, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut claims = claims();
        edit(claims.as_object_mut().unwrap());
        holder.sign_jws(&header(holder), &claims)
    }

    fn refused(proof: &str, expected: &DpopExpectation) -> String {
        verify_proof(proof, expected).unwrap_err().0
    }

    #[test]
    fn rfc_7638_and_rfc_8037_thumbprints() {
        // RFC 8037 Appendix A.3.
        let ed = json!({"kty": "OKP", "crv": "Ed25519",
                        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            jwk_thumbprint(&ed).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // An EC key: jsonwebtoken's own RFC 7638 implementation agrees, and members beside the
        // required ones (`kid`, `alg`, `use`) change nothing.
        let holder = HolderKey::es256();
        let mut jwk = holder.public_jwk();
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let expected = parsed
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), expected);
        jwk["kid"] = json!("k1");
        jwk["use"] = json!("sig");
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), expected);
        assert!(
            jwk_thumbprint(&json!({"kty": "RSA", "n": "x", "e": "AQAB"}))
                .unwrap_err()
                .0
                .contains("`kty` `RSA`")
        );
    }

    #[test]
    fn a_proof_by_either_key_type_names_its_key() {
        for holder in [HolderKey::es256(), HolderKey::ed25519()] {
            let proof = verify_proof(&signed(&holder, |_| {}), &expectation()).unwrap();
            assert_eq!(proof.jkt, jwk_thumbprint(&holder.public_jwk()).unwrap());
            assert_eq!(proof.jti, "e1j3V_bKic8-LAEB");
            assert_eq!(proof.alg, holder.alg());
            assert_eq!(proof.iat, NOW - 5);
            // Accepted until iat + max_age inclusive: remembered until the second after.
            assert_eq!(proof.replay_until, NOW - 5 + 301);
            assert_eq!(
                proof.replay_key(),
                format!("dpop:{}:e1j3V_bKic8-LAEB", proof.jkt)
            );
        }
    }

    #[test]
    fn htu_is_compared_without_query_and_fragment_and_normalised() {
        let holder = HolderKey::es256();
        for htu in [
            "https://issuer.example/tenant/token",
            "https://issuer.example/tenant/token?x=1",
            "https://issuer.example/tenant/token#f",
            "HTTPS://Issuer.Example:443/tenant/token",
        ] {
            let proof = signed(&holder, |c| drop(c.insert("htu".into(), json!(htu))));
            verify_proof(&proof, &expectation()).unwrap_or_else(|e| panic!("{htu}: {e}"));
        }
        for htu in [
            "https://issuer.example/tenant/credential",
            "https://issuer.example/token",
            "http://issuer.example/tenant/token",
            "https://issuer.example:8443/tenant/token",
            "https://evil.example/tenant/token",
        ] {
            let proof = signed(&holder, |c| drop(c.insert("htu".into(), json!(htu))));
            let why = refused(&proof, &expectation());
            assert!(
                why.starts_with("DPoP proof `htu` is `")
                    && why
                        .ends_with("but the request is for `https://issuer.example/tenant/token`"),
                "{htu}: {why}"
            );
        }
        let proof = signed(&holder, |c| drop(c.insert("htu".into(), json!("/token"))));
        assert_eq!(
            refused(&proof, &expectation()),
            "DPoP proof `htu` `/token` is not an absolute URL"
        );
    }

    #[test]
    fn htm_must_be_the_method() {
        let holder = HolderKey::ed25519();
        for htm in ["GET", "post"] {
            let proof = signed(&holder, |c| drop(c.insert("htm".into(), json!(htm))));
            assert_eq!(
                refused(&proof, &expectation()),
                format!("DPoP proof `htm` is `{htm}`, but the request is a POST")
            );
        }
    }

    #[test]
    fn required_claims() {
        let holder = HolderKey::es256();
        for name in ["htm", "htu", "jti", "iat"] {
            let proof = signed(&holder, |c| drop(c.remove(name)));
            assert_eq!(
                refused(&proof, &expectation()),
                format!("DPoP proof has no `{name}` claim")
            );
        }
        let proof = signed(&holder, |c| drop(c.insert("jti".into(), json!(7))));
        assert_eq!(
            refused(&proof, &expectation()),
            "DPoP proof `jti` is 7, not a string"
        );
        for jti in [String::new(), "j".repeat(257)] {
            let proof = signed(&holder, |c| drop(c.insert("jti".into(), json!(jti))));
            assert!(refused(&proof, &expectation()).contains("`jti` is"));
        }
    }

    #[test]
    fn ath_binds_the_proof_to_the_access_token() {
        let holder = HolderKey::es256();
        let token = "offer-1.c2VhbGVk";
        let at_resource = DpopExpectation {
            access_token: Some(token),
            ..expectation()
        };
        // RFC 9449 §4.2's own example of `ath`.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        let proof = signed(&holder, |c| {
            drop(c.insert("ath".into(), json!(access_token_hash(token))))
        });
        verify_proof(&proof, &at_resource).unwrap();
        let other = signed(&holder, |c| {
            drop(c.insert("ath".into(), json!(access_token_hash("another"))))
        });
        assert_eq!(
            refused(&other, &at_resource),
            "DPoP proof `ath` is not the SHA-256 of the access token sent with it (base64url)"
        );
        assert_eq!(
            refused(&signed(&holder, |_| {}), &at_resource),
            "DPoP proof has no `ath` claim"
        );
    }

    #[test]
    fn stale_or_future_proofs() {
        let holder = HolderKey::es256();
        let stale = signed(&holder, |c| drop(c.insert("iat".into(), json!(NOW - 301))));
        assert_eq!(
            refused(&stale, &expectation()),
            "DPoP proof `iat` is 301 s old; at most 300 s is accepted"
        );
        let future = signed(&holder, |c| drop(c.insert("iat".into(), json!(NOW + 61))));
        assert!(refused(&future, &expectation()).contains("in the future"));
    }

    #[test]
    fn the_jws_rules_apply() {
        let holder = HolderKey::es256();
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        // alg none, unsigned.
        let mut none = header(&holder);
        none["alg"] = json!("none");
        let unsigned = format!("{}.{}.", b64(&none), b64(&claims()));
        assert_eq!(
            refused(&unsigned, &expectation()),
            "DPoP proof `alg` is `none`: an unsigned DPoP proof is not accepted"
        );
        // A MAC.
        let mut mac = header(&holder);
        mac["alg"] = json!("HS256");
        assert!(refused(&holder.sign_jws(&mac, &claims()), &expectation()).contains("MAC"));
        // Another typ (an OpenID4VCI key proof is not a DPoP proof).
        let mut typ = header(&holder);
        typ["typ"] = json!("openid4vci-proof+jwt");
        assert_eq!(
            refused(&holder.sign_jws(&typ, &claims()), &expectation()),
            "DPoP proof `typ` is `openid4vci-proof+jwt`, expected `dpop+jwt`"
        );
        // A private key in the header.
        let mut private = header(&holder);
        private["jwk"]["d"] = json!("AAAA");
        assert!(
            refused(&holder.sign_jws(&private, &claims()), &expectation())
                .contains("private key material")
        );
        // Signed by another key than the header's.
        let thief = HolderKey::es256();
        assert_eq!(
            refused(&thief.sign_jws(&header(&holder), &claims()), &expectation()),
            "DPoP proof signature does not verify with the `jwk` in its header (ES256)"
        );
        assert!(refused("not-a-jwt", &expectation()).contains("not a compact JWS"));
    }
}
