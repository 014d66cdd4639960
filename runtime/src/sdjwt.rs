//! Issuing one SD-JWT VC (`dc+sd-jwt`).
//!
//! The credential endpoint ends here: given the governance-validated claims, the names the
//! governance makes selectively disclosable, the holder key from the verified proof and the
//! status list slot, this module builds the issuer-signed JWT with `sd-jwt-payload` (RFC 9901)
//! and returns the issued form `<jwt>~<disclosure>~…~`. It enforces the SD-JWT VC rules that do
//! not depend on governance: registered claims (`iss`, `vct`, `iat`, `exp`, `nbf`, `cnf`,
//! `status`, …) are always plain, `cnf.jwk` binds the credential to the holder, and `_sd`
//! contains exactly one digest per disclosed claim (no decoys). Signing goes through
//! [`IssuerSigner`], an adapter from the issuer's [`IssuerKey`] to `sd-jwt-payload`'s
//! [`JwsSigner`] trait.

use std::fmt;

use async_trait::async_trait;
use sd_jwt_payload::{JsonObject, JwsSigner, RequiredKeyBinding, SdJwtBuilder};
use serde_json::{Map, Value};
use trustc_artifact::claim_pointer;

use crate::keys::{ALG, IssuerKey};

/// The `typ` header of an SD-JWT VC.
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";

/// Claims the issuer sets itself; a credential claim with one of these names is refused.
const SET_BY_ISSUER: [&str; 8] = [
    "iss", "vct", "iat", "exp", "cnf", "status", "_sd", "_sd_alg",
];

/// Claims that are never made selectively disclosable, even when listed as disclosable: the
/// SD-JWT VC registered claims that must stay plain, and the SD-JWT structural names.
const NEVER_DISCLOSABLE: [&str; 12] = [
    "iss",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "iat",
    "exp",
    "nbf",
    "cnf",
    "status",
    "_sd",
    "_sd_alg",
    "...",
];

/// Everything that goes into one credential.
#[derive(Debug, Clone, Copy)]
pub struct Issuance<'a> {
    /// `iss`: the issuer's identifier its governance names (an https URL or a DID,
    /// [`crate::identity`]).
    pub issuer: &'a str,
    /// The header's `kid`: the key's id, or the DID URL of its verification method.
    pub kid: &'a str,
    /// `vct`: the credential type.
    pub vct: &'a str,
    /// `iat`, Unix seconds.
    pub iat: i64,
    /// `exp`, Unix seconds (iat + the governance validity), when the governance has one.
    pub exp: Option<i64>,
    /// The credential's own claims (already validated against the governance), by top-level name.
    pub claims: &'a Map<String, Value>,
    /// Exactly the claims issued as disclosures (`_sd`); every other claim stays plain. Names
    /// missing from `claims` are skipped (an optional claim not given); registered claims
    /// (`iss`, `vct`, `iat`, `exp`, `nbf`, `cnf`, `status`, …) are never made disclosable.
    pub disclosable: &'a [String],
    /// The holder's public JWK (from the verified proof), issued as `cnf.jwk`.
    pub holder_jwk: &'a Value,
    /// `status.status_list {idx, uri}`, when the credential can be revoked.
    pub status: Option<(u64, &'a str)>,
}

/// Why a credential could not be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwtError(pub String);

impl fmt::Display for SdJwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SdJwtError {}

/// Adapter that lets `sd-jwt-payload` sign with the issuer key (ES256, `kid` = the key's
/// thumbprint), reusing [`IssuerKey::sign_jwt`]'s encoding.
#[derive(Debug, Clone, Copy)]
pub struct IssuerSigner<'a>(pub &'a IssuerKey);

#[async_trait]
impl JwsSigner for IssuerSigner<'_> {
    type Error = SdJwtError;

    async fn sign(&self, header: &JsonObject, payload: &JsonObject) -> Result<Vec<u8>, SdJwtError> {
        match header.get("alg").and_then(Value::as_str) {
            Some(ALG) => {
                // The `kid` the issuance names (`Issuance::kid`): the key's, or its DID URL.
                let kid = header
                    .get("kid")
                    .and_then(Value::as_str)
                    .unwrap_or(self.0.kid());
                Ok(self.0.sign_parts_as(kid, header, payload).into_bytes())
            }
            other => Err(SdJwtError(format!(
                "the issuer key signs {ALG} only, asked for {}",
                other.map_or("no `alg`".to_owned(), |a| format!("`{a}`"))
            ))),
        }
    }
}

/// Issues one SD-JWT VC and returns its issued form `<jwt>~<disclosure>~…~` (just `<jwt>~` when
/// nothing is disclosable).
///
/// Header: `typ` `dc+sd-jwt`, `alg` `ES256`, `kid` = [`Issuance::kid`]. Payload: plain `iss`,
/// `vct`, `iat`, `exp` (if any), `status` (if any), the plain claims, `_sd` (only when something is
/// disclosable), `_sd_alg` `sha-256`, `cnf {jwk}`.
///
/// Fails when `holder_jwk` is not a JSON object, when a credential claim uses a name the issuer
/// sets itself (`iss`, `vct`, `iat`, `exp`, `cnf`, `status`, `_sd`, `_sd_alg`), or if
/// `sd-jwt-payload` reports an error.
pub async fn issue(key: &IssuerKey, issuance: &Issuance<'_>) -> Result<String, SdJwtError> {
    let Value::Object(holder_jwk) = issuance.holder_jwk else {
        return Err(SdJwtError(
            "the holder key (`cnf.jwk`) is not a JSON object".into(),
        ));
    };
    if let Some(name) = issuance
        .claims
        .keys()
        .find(|name| SET_BY_ISSUER.contains(&name.as_str()))
    {
        return Err(SdJwtError(format!(
            "credential claim `{name}` collides with the claim the issuer sets itself"
        )));
    }

    let mut concealed: Vec<&str> = Vec::with_capacity(issuance.disclosable.len());
    for name in issuance.disclosable {
        let name = name.as_str();
        if issuance.claims.contains_key(name)
            && !NEVER_DISCLOSABLE.contains(&name)
            && !concealed.contains(&name)
        {
            concealed.push(name);
        }
    }

    let mut payload = Map::with_capacity(issuance.claims.len() + 8);
    payload.insert("iss".into(), Value::String(issuance.issuer.to_owned()));
    payload.insert("vct".into(), Value::String(issuance.vct.to_owned()));
    payload.insert("iat".into(), Value::from(issuance.iat));
    if let Some(exp) = issuance.exp {
        payload.insert("exp".into(), Value::from(exp));
    }
    if let Some((idx, uri)) = issuance.status {
        payload.insert(
            "status".into(),
            serde_json::json!({"status_list": {"idx": idx, "uri": uri}}),
        );
    }
    // Plain claims first, disclosable ones last: concealing removes them from the object, and
    // (with `preserve_order`) removal moves the last member into the gap, so this keeps the
    // plain claims in their given order.
    for (name, value) in issuance.claims {
        if !concealed.contains(&name.as_str()) {
            payload.insert(name.clone(), value.clone());
        }
    }
    for name in &concealed {
        if let Some(value) = issuance.claims.get(*name) {
            payload.insert((*name).to_owned(), value.clone());
        }
    }

    let library = |e: sd_jwt_payload::Error| SdJwtError(format!("SD-JWT issuance failed: {e}"));
    let mut builder = SdJwtBuilder::new(Value::Object(payload)).map_err(library)?;
    for name in &concealed {
        builder = builder
            .make_concealable(&claim_pointer(name))
            .map_err(|e| {
                SdJwtError(format!(
                    "cannot make claim `{name}` selectively disclosable: {e}"
                ))
            })?;
    }
    let sd_jwt = builder
        .header("typ", SD_JWT_VC_TYP)
        .header("kid", issuance.kid)
        .require_key_binding(RequiredKeyBinding::Jwk(holder_jwk.clone()))
        .finish(&IssuerSigner(key), ALG)
        .await
        .map_err(library)?;
    Ok(sd_jwt.presentation())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use trustc_testkit::sdjwt::decode;

    const ISS: &str = "https://issuer.example/tenant";
    /// The header's `kid` the tests issue with (a DID URL, as a `did:web` issuer's).
    const KID: &str = "did:web:issuer.example#key-1";
    const VCT: &str = "urn:example:lsbc:member:1";
    const URI: &str = "https://issuer.example/tenant/status-lists/1";

    /// The RFC 7515 Appendix A.3 public key as a holder key.
    fn holder() -> Value {
        json!({"kty": "EC", "crv": "P-256",
               "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
    }

    fn claims() -> Map<String, Value> {
        json!({
            "given_names": "Ada",
            "family_name": "Lovelace",
            "member_number": 1815,
            "address": {"city": "London", "street": "St James's Square"},
            "roles": ["lawyer", "bencher"],
            "Given Name": "Ada K.",
            "a/b": "slash",
            "t~x": "tilde",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    /// What the tests issue unless they say otherwise: `iat` 10, no `exp`, no status entry.
    fn issuance<'a>(
        claims: &'a Map<String, Value>,
        disclosable: &'a [String],
        holder_jwk: &'a Value,
    ) -> Issuance<'a> {
        Issuance {
            issuer: ISS,
            kid: KID,
            vct: VCT,
            iat: 10,
            exp: None,
            claims,
            disclosable,
            holder_jwk,
            status: None,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn issues_a_verifiable_sd_jwt_vc() {
        let key = IssuerKey::generate();
        let claims = claims();
        // The claims issued as disclosures.
        let hidden = [
            "given_names",
            "address",
            "roles",
            "Given Name",
            "a/b",
            "t~x",
        ];
        let mut disclosable = names(&hidden);
        disclosable.extend(names(&[
            "not_given",   // optional claim not present: skipped
            "given_names", // listed twice: one disclosure
        ]));
        let holder = holder();
        let issuance = Issuance {
            iat: 1_750_000_000,
            exp: Some(1_750_000_000 + 86_400),
            status: Some((4711, URI)),
            ..issuance(&claims, &disclosable, &holder)
        };
        let issued = issue(&key, &issuance).await.unwrap();
        let decoded = decode(&issued, key.public_jwk());

        assert_eq!(decoded.header["typ"], "dc+sd-jwt");
        assert_eq!(decoded.header["alg"], "ES256");
        assert_eq!(decoded.header["kid"], KID);

        let p = &decoded.payload;
        assert_eq!(p["iss"], ISS);
        assert_eq!(p["vct"], VCT);
        assert_eq!(p["iat"], 1_750_000_000);
        assert_eq!(p["exp"], 1_750_086_400);
        assert_eq!(p["_sd_alg"], "sha-256");
        assert_eq!(p["cnf"], json!({"jwk": holder}));
        assert_eq!(
            p["status"],
            json!({"status_list": {"idx": 4711, "uri": URI}})
        );
        // Plain claims stay plain.
        assert_eq!(p["family_name"], "Lovelace");
        assert_eq!(p["member_number"], 1815);
        for name in hidden {
            assert!(!p.contains_key(name), "{name} is not plain");
        }

        assert_eq!(decoded.digests.len(), 6);
        let expected: Map<String, Value> = hidden
            .into_iter()
            .map(|n| (n.to_owned(), claims[n].clone()))
            .collect();
        assert_eq!(decoded.disclosed, expected);
    }

    #[tokio::test]
    async fn sd_jwt_payload_reads_back_the_full_claims() {
        let key = IssuerKey::generate();
        let claims = claims();
        let disclosable = names(&["Given Name", "a/b", "address"]);
        let holder = holder();
        let issued = issue(&key, &issuance(&claims, &disclosable, &holder))
            .await
            .unwrap();
        let sd_jwt = sd_jwt_payload::SdJwt::parse(&issued).unwrap();
        assert_eq!(sd_jwt.disclosures().len(), 3);
        let object = sd_jwt
            .into_disclosed_object(&sd_jwt_payload::Sha256Hasher::new())
            .unwrap();
        for (name, value) in &claims {
            assert_eq!(&object[name], value, "{name}");
        }
        assert!(!object.contains_key("exp"));
        assert!(!object.contains_key("status"));
    }

    #[tokio::test]
    async fn nothing_disclosable_means_no_sd_array() {
        let key = IssuerKey::generate();
        let claims = claims();
        let holder = holder();
        let issued = issue(&key, &issuance(&claims, &[], &holder)).await.unwrap();
        assert_eq!(issued.matches('~').count(), 1);
        let decoded = decode(&issued, key.public_jwk());
        assert!(!decoded.payload.contains_key("_sd"));
        assert!(decoded.disclosed.is_empty());
        for (name, value) in &claims {
            assert_eq!(&decoded.payload[name], value);
        }
    }

    #[tokio::test]
    async fn registered_claims_are_never_disclosable() {
        let key = IssuerKey::generate();
        let mut claims = claims();
        claims.insert("nbf".into(), json!(5));
        claims.insert("sub".into(), json!("member-1815"));
        let disclosable = names(&[
            "iss", "vct", "iat", "exp", "nbf", "cnf", "status", "_sd", "_sd_alg", "sub",
        ]);
        let holder = holder();
        let issued = issue(
            &key,
            &Issuance {
                exp: Some(20),
                status: Some((0, URI)),
                ..issuance(&claims, &disclosable, &holder)
            },
        )
        .await
        .unwrap();
        let decoded = decode(&issued, key.public_jwk());
        // Only `sub` (which SD-JWT VC allows to be disclosable) was concealed.
        assert_eq!(decoded.disclosed.keys().collect::<Vec<_>>(), vec!["sub"]);
        for plain in ["iss", "vct", "iat", "exp", "nbf", "cnf", "status"] {
            assert!(decoded.payload.contains_key(plain), "{plain} stays plain");
        }
    }

    #[tokio::test]
    async fn refuses_claims_that_collide_with_issuer_claims_and_bad_holder_keys() {
        let key = IssuerKey::generate();
        let holder = holder();
        for reserved in ["iss", "cnf", "status", "_sd"] {
            let mut claims = claims();
            claims.insert(reserved.into(), json!("x"));
            let err = issue(&key, &issuance(&claims, &[], &holder))
                .await
                .unwrap_err();
            assert!(err.0.contains(&format!("`{reserved}`")), "{err}");
        }
        let claims = claims();
        let err = issue(&key, &issuance(&claims, &[], &json!("not a key")))
            .await
            .unwrap_err();
        assert!(err.0.contains("cnf.jwk"), "{err}");
    }

    #[tokio::test]
    async fn signer_refuses_other_algorithms() {
        let key = IssuerKey::generate();
        let mut header = JsonObject::new();
        header.insert("alg".into(), json!("EdDSA"));
        let err = IssuerSigner(&key)
            .sign(&header, &JsonObject::new())
            .await
            .unwrap_err();
        assert!(err.0.contains("ES256"), "{err}");
    }
}
