//! A presented SD-JWT VC (`<issuer JWT>~<disclosure>~…~<key-binding JWT>`), verified step by step
//! as OpenID4VP 1.0 asks of a verifier, each step its own refusal so that a wallet developer (and
//! the audit) learns exactly what was wrong.
//!
//! The steps are split where the verifier must do something else in between: [`parse`] reads the
//! issuer's `iss` without trusting anything, so that trust can be decided **before** anything is
//! fetched; [`Presented::verify_issued`] checks the issuer's signature with the keys fetched
//! for that trusted issuer, the type, the lifetime and the disclosures; the caller then checks
//! the status list entry; [`Issued::verify_holder`] checks the key-binding JWT (audience, nonce,
//! freshness, `sd_hash`, signed by the credential's `cnf` key) and that the claims the rule
//! needs were disclosed. Signatures go through [`crate::jose`]; disclosures through
//! `sd-jwt-payload`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sd_jwt_payload::{SdJwt, Sha256Hasher};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jose::{self, KeySource, Policy, TimeRules, show};

/// The most bytes one presented credential may have.
pub const MAX_PRESENTATION_BYTES: usize = 64 * 1024;

/// The `typ` values of an SD-JWT VC's issuer JWT (`vc+sd-jwt` is the pre-1.0 name Credo still
/// issues).
const SD_JWT_VC_TYPES: [&str; 2] = ["dc+sd-jwt", "vc+sd-jwt"];
/// The signature algorithms accepted from issuers and holders.
pub const ALGORITHMS: [&str; 2] = ["ES256", "EdDSA"];

/// Why a presented credential was refused, one step each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an SD-JWT with a key-binding JWT, or too large.
    Malformed(String),
    /// The issuer's signature does not verify with its keys (or the issuer JWT breaks the JWS rules).
    Signature(String),
    /// Another credential type than the rule asks for.
    WrongType { expected: String, found: String },
    /// Expired, not yet valid, or issued in the future.
    Lifetime(String),
    /// A disclosure the issuer did not sign (tampered, or an extra one), or disclosed twice.
    Disclosures(String),
    /// The key-binding JWT is missing or wrong: audience, nonce, freshness, `sd_hash`, signature.
    KeyBinding(String),
    /// Claims the rule needs were not disclosed.
    MissingClaims(Vec<String>),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed(why)
            | Refusal::Signature(why)
            | Refusal::Lifetime(why)
            | Refusal::Disclosures(why)
            | Refusal::KeyBinding(why) => f.write_str(why),
            Refusal::WrongType { expected, found } => write!(
                f,
                "the credential's `vct` is `{}`, but the rule asks for `{}`",
                show(found),
                show(expected)
            ),
            Refusal::MissingClaims(claims) => write!(
                f,
                "the presentation does not disclose {}, which the rule requires",
                claims
                    .iter()
                    .map(|c| format!("`{}`", show(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A presentation taken apart, nothing of it trusted yet.
#[derive(Debug)]
pub struct Presented<'a> {
    /// `<issuer JWT>~<disclosures>~`, as received: what `sd_hash` covers.
    sd_jwt: &'a str,
    issuer_jwt: &'a str,
    key_binding_jwt: &'a str,
    /// The issuer JWT's claims, read without verifying them.
    unverified: Map<String, Value>,
}

/// Takes a presentation apart and reads its issuer's `iss` (unverified: only to decide trust).
pub fn parse(presentation: &str) -> Result<Presented<'_>, Refusal> {
    if presentation.len() > MAX_PRESENTATION_BYTES {
        return Err(Refusal::Malformed(format!(
            "the presented credential has {} bytes; at most {MAX_PRESENTATION_BYTES} are accepted",
            presentation.len()
        )));
    }
    let Some(last) = presentation.rfind('~') else {
        return Err(Refusal::Malformed(
            "the presentation is not an SD-JWT (`<issuer JWT>~<disclosures>~<key-binding JWT>`)"
                .into(),
        ));
    };
    let (sd_jwt, key_binding_jwt) = (&presentation[..=last], &presentation[last + 1..]);
    if key_binding_jwt.is_empty() {
        return Err(Refusal::KeyBinding(
            "the presentation has no key-binding JWT after its last `~`".into(),
        ));
    }
    let issuer_jwt = sd_jwt.split('~').next().unwrap_or_default();
    if issuer_jwt.len() > jose::MAX_JWS_BYTES {
        return Err(Refusal::Malformed(format!(
            "the issuer JWT of the presentation has {} bytes; a JWT of at most {} KiB is accepted",
            issuer_jwt.len(),
            jose::MAX_JWS_BYTES / 1024
        )));
    }
    let unverified = unverified_claims(issuer_jwt).ok_or_else(|| {
        Refusal::Malformed("the issuer JWT of the presentation is not a readable JWT".into())
    })?;
    Ok(Presented {
        sd_jwt,
        issuer_jwt,
        key_binding_jwt,
        unverified,
    })
}

/// The claims of a compact JWT, without verifying anything.
fn unverified_claims(jwt: &str) -> Option<Map<String, Value>> {
    let mut parts = jwt.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// What the verifier expects of the issuer's part.
#[derive(Debug, Clone, Copy)]
pub struct IssuerRules<'a> {
    /// The issuer's public keys (its JWKs, `kid` as its documents name them).
    pub keys: &'a [Value],
    /// The SD-JWT VC type the rule asks for.
    pub vct: &'a str,
    pub now: i64,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    pub skew: i64,
}

/// What the verifier expects of the holder's part.
#[derive(Debug, Clone, Copy)]
pub struct HolderRules<'a> {
    /// The full client identifier, with its prefix (`x509_san_dns:issuer.example`).
    pub audience: &'a str,
    /// The request's `nonce`.
    pub nonce: &'a str,
    pub now: i64,
    /// How old the key-binding JWT may be, in seconds.
    pub max_age: i64,
    pub skew: i64,
    /// The claims the rule needs disclosed.
    pub claims: &'a [String],
}

/// A presentation whose issuer part verified: signature, type, lifetime, disclosures.
#[derive(Debug)]
pub struct Issued<'a> {
    presented: Presented<'a>,
    /// The credential's claims with the disclosures put back.
    claims: Map<String, Value>,
}

impl<'a> Presented<'a> {
    /// The issuer as the credential names it (not verified yet).
    pub fn claimed_issuer(&self) -> Option<&str> {
        self.unverified.get("iss").and_then(Value::as_str)
    }

    /// The type as the credential names it (not verified yet).
    pub fn claimed_vct(&self) -> Option<&str> {
        self.unverified.get("vct").and_then(Value::as_str)
    }

    /// Verifies the issuer's part: its signature with the issuer's keys, then `vct`, then the
    /// lifetime, then the disclosures (each digest the issuer signed, each used once).
    pub fn verify_issued(self, rules: &IssuerRules) -> Result<Issued<'a>, Refusal> {
        let verified = jose::verify(
            self.issuer_jwt,
            &Policy {
                subject: "the credential's issuer JWT",
                typ: &SD_JWT_VC_TYPES,
                algorithms: &ALGORITHMS,
                critical: &[],
                key: KeySource::KeySet(rules.keys),
                audience: None,
                time: TimeRules::unchecked(rules.now),
            },
        )
        .map_err(|e| Refusal::Signature(e.0))?;
        let claims = verified.claims;
        let vct = claims.get("vct").and_then(Value::as_str).unwrap_or("");
        if vct != rules.vct {
            return Err(Refusal::WrongType {
                expected: rules.vct.to_owned(),
                found: vct.to_owned(),
            });
        }
        // `iat` is not a freshness claim for a credential: only that it is not in the future.
        jose::check_times(
            &claims,
            &TimeRules {
                now: rules.now,
                max_age: claims.contains_key("iat").then_some(i64::MAX),
                skew: rules.skew,
            },
            "the credential",
        )
        .map_err(|e| Refusal::Lifetime(e.0))?;
        let sd_jwt = SdJwt::parse(self.sd_jwt)
            .map_err(|e| Refusal::Malformed(format!("the SD-JWT does not parse: {e}")))?;
        let disclosed = sd_jwt
            .into_disclosed_object(&Sha256Hasher::new())
            .map_err(|e| {
                Refusal::Disclosures(format!(
                    "the disclosures do not match what the issuer signed: {e}"
                ))
            })?;
        Ok(Issued {
            presented: self,
            claims: disclosed,
        })
    }
}

impl Issued<'_> {
    /// The credential's `status.status_list` entry, `(uri, idx)`, when it has one.
    pub fn status(&self) -> Option<(&str, u64)> {
        let entry = self.claims.get("status")?.get("status_list")?;
        Some((entry.get("uri")?.as_str()?, entry.get("idx")?.as_u64()?))
    }

    /// Whether the credential names a status entry it cannot be checked by.
    pub fn has_unreadable_status(&self) -> bool {
        self.claims.contains_key("status") && self.status().is_none()
    }

    /// Verifies the holder's part: the key-binding JWT (`typ` `kb+jwt`, signed by the key in the
    /// credential's `cnf.jwk`, `aud` the full client identifier, the request's `nonce`, a fresh
    /// `iat`, `sd_hash` over the presentation as received), then that every claim the rule needs
    /// was disclosed. Returns the credential's claims.
    pub fn verify_holder(self, rules: &HolderRules) -> Result<Map<String, Value>, Refusal> {
        let Some(holder_key) = self.claims.get("cnf").and_then(|c| c.get("jwk")) else {
            return Err(Refusal::KeyBinding(
                "the credential has no `cnf.jwk`: it is not bound to a holder key".into(),
            ));
        };
        let verified = jose::verify(
            self.presented.key_binding_jwt,
            &Policy {
                subject: "the key-binding JWT",
                typ: &["kb+jwt"],
                algorithms: &ALGORITHMS,
                critical: &[],
                key: KeySource::Jwk(holder_key),
                audience: Some(rules.audience),
                time: TimeRules {
                    now: rules.now,
                    max_age: Some(rules.max_age),
                    skew: rules.skew,
                },
            },
        )
        .map_err(|e| Refusal::KeyBinding(e.0))?;
        match verified.claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) if nonce == rules.nonce => {}
            Some(other) => {
                return Err(Refusal::KeyBinding(format!(
                    "the key-binding JWT's `nonce` is `{}`, not the request's",
                    show(other)
                )));
            }
            None => {
                return Err(Refusal::KeyBinding(
                    "the key-binding JWT has no `nonce`".into(),
                ));
            }
        }
        let expected_hash = URL_SAFE_NO_PAD.encode(Sha256::digest(self.presented.sd_jwt));
        match verified.claims.get("sd_hash").and_then(Value::as_str) {
            Some(hash) if hash == expected_hash => {}
            Some(_) => {
                return Err(Refusal::KeyBinding(
                    "the key-binding JWT's `sd_hash` is not the hash of the presented SD-JWT \
                     (`<issuer JWT>~<disclosures>~`, as sent)"
                        .into(),
                ));
            }
            None => {
                return Err(Refusal::KeyBinding(
                    "the key-binding JWT has no `sd_hash`".into(),
                ));
            }
        }
        let missing: Vec<String> = rules
            .claims
            .iter()
            .filter(|claim| self.claims.get(claim.as_str()).is_none_or(Value::is_null))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Refusal::MissingClaims(missing));
        }
        Ok(self.claims)
    }
}
