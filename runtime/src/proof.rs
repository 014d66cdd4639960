//! Verification of the OpenID4VCI `jwt` key proof sent to the credential endpoint.
//!
//! Before issuing a credential bound to a holder key (`cnf.jwk`), the issuer must check that the
//! wallet controls that key: the wallet signs a short JWT (`typ: openid4vci-proof+jwt`) whose
//! header carries the public key and whose payload names this issuer (`aud`), a fresh time
//! (`iat`) and the server's `c_nonce`. The JWS rules (structure, `typ`, `alg`, the key from the
//! `jwk` header, the signature, `aud`, `iat`/`exp`/`nbf`) are [`crate::jose`]'s, applied with the
//! OpenID4VCI 1.0 policy; this module adds the `nonce`. Each rejection carries one precise reason
//! that becomes the `error_description` of an `invalid_proof` error. Only plain `jwk` key
//! binding is supported (what BC Wallet/Bifold send); `kid` (DID URLs) and `x5c` are refused. The
//! nonce is returned, not checked: the caller spends it atomically in the database (unknown or
//! expired → `invalid_nonce`).

use serde_json::Value;

use crate::jose::{self, KeySource, TimeRules, describe};

/// The `typ` header value a proof must carry.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

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
    pub alg: &'static str,
}

/// Why a proof was rejected; the text is meant for the `error_description` of `invalid_proof`
/// (printable ASCII only: values copied from the proof are truncated and sanitized).
pub type ProofError = jose::JoseError;

/// Verifies an OpenID4VCI `jwt` proof against `policy`: the JWS rules of [`jose::verify`] (with
/// the key from the `jwk` header, the only key reference allowed; `aud` the issuer; `iat`
/// required and fresh), then `nonce`, which when present must be a string and is returned for
/// the caller to spend.
pub fn verify_proof(jwt: &str, policy: &ProofPolicy) -> Result<VerifiedProof, ProofError> {
    let verified = jose::verify(
        jwt,
        &jose::Policy {
            subject: "proof",
            typ: &[PROOF_TYP],
            algorithms: policy.algorithms,
            critical: &[],
            key: KeySource::HeaderJwk,
            audience: Some(policy.audience),
            time: TimeRules {
                now: policy.now,
                max_age: Some(policy.max_age),
                skew: policy.max_skew,
            },
        },
    )?;
    let mut claims = verified.claims;
    let nonce = match claims.remove("nonce") {
        None | Some(Value::Null) => None,
        Some(Value::String(nonce)) => Some(nonce),
        Some(other) => {
            return Err(jose::JoseError(format!(
                "proof `nonce` is {}, not a string",
                describe(&other)
            )));
        }
    };
    Ok(VerifiedProof {
        holder_jwk: verified.key,
        nonce,
        alg: verified.alg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Map, json};

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
    struct Holder(trustc_testkit::HolderKey);

    impl Holder {
        fn es256() -> Holder {
            Holder(trustc_testkit::HolderKey::es256())
        }

        fn ed25519() -> Holder {
            Holder(trustc_testkit::HolderKey::ed25519())
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
        let jwt = with_header(&es, |h| drop(h.insert("alg".into(), json!("ES512"))));
        let algs = ["ES256", "ES512"];
        let wide = ProofPolicy {
            algorithms: &algs,
            ..policy()
        };
        assert!(
            verify_proof(&jwt, &wide)
                .unwrap_err()
                .0
                .contains("`ES512` is not supported")
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
