//! The verifier's side of an issued SD-JWT VC: the signature checked with the issuer's public key
//! (by `jsonwebtoken`, not by the runtime's own JOSE code) and every disclosure checked against
//! `_sd`. The runtime's unit tests and trustc's protocol tests read what the issuer issued with it.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// An issued SD-JWT VC taken apart after its signature was verified.
pub struct Decoded {
    pub header: Value,
    pub payload: Map<String, Value>,
    /// Disclosed claims: name → value.
    pub disclosed: Map<String, Value>,
    /// The payload's `_sd` digests.
    pub digests: BTreeSet<String>,
}

/// Verifies `sd_jwt` (issued form `<jwt>~<disclosure>~…~`) with the issuer's public JWK, checks
/// every disclosure (its digest is in `_sd`, it is `[salt, name, value]` with a salt of at least
/// 16 characters, its claim is not also plain, no claim is disclosed twice) and that `_sd` has no
/// other digest (no decoys, none missing), and returns the parts.
pub fn decode(sd_jwt: &str, issuer_jwk: &Value) -> Decoded {
    assert!(sd_jwt.ends_with('~'), "issued form ends with ~: {sd_jwt}");
    let segments: Vec<&str> = sd_jwt.split('~').collect();
    let jwt = segments[0];
    let disclosures = &segments[1..segments.len() - 1];

    let jwk: Jwk = serde_json::from_value(issuer_jwk.clone()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Map<String, Value>>(
        jwt,
        &DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .expect("the credential's signature verifies with the issuer's key");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let payload = data.claims;

    let digests: BTreeSet<String> = payload
        .get("_sd")
        .map(|sd| {
            sd.as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut disclosed = Map::new();
    let mut disclosure_digests = BTreeSet::new();
    for disclosure in disclosures {
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(disclosure.as_bytes()));
        assert!(
            digests.contains(&digest),
            "digest of {disclosure} is in _sd"
        );
        disclosure_digests.insert(digest);
        let array: Vec<Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(disclosure).unwrap()).unwrap();
        assert_eq!(array.len(), 3, "[salt, name, value]");
        assert!(
            array[0].as_str().unwrap().len() >= 16,
            "salt has enough entropy"
        );
        let name = array[1].as_str().unwrap().to_owned();
        assert!(!payload.contains_key(&name), "{name} is not also plain");
        assert!(disclosed.insert(name, array[2].clone()).is_none());
    }
    assert_eq!(
        disclosure_digests, digests,
        "no decoys, no missing disclosures"
    );
    Decoded {
        header,
        payload,
        disclosed,
        digests,
    }
}
