//! The wallet's side of key binding: a holder key (ES256 or EdDSA) that signs OpenID4VCI key
//! proofs. The runtime never needs it; trustc's protocol tests and load benchmark play the wallet
//! with it, so they exercise the same proof format real wallets send.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use serde_json::{Value, json};

/// `typ` of an OpenID4VCI key proof JWT.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// A holder's key pair.
pub enum HolderKey {
    Es256(SigningKey),
    EdDsa(EncodingKey, Value),
}

impl HolderKey {
    /// A fresh P-256 key (proofs with `alg: ES256`).
    pub fn es256() -> HolderKey {
        HolderKey::Es256(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// A fresh Ed25519 key (proofs with `alg: EdDSA`).
    pub fn ed25519() -> HolderKey {
        let seed: [u8; 32] = rand::random();
        // PKCS#8 v1 (RFC 8410) around the seed: the form jsonwebtoken reads.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&seed);
        let key = EncodingKey::from_ed_der(&der);
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::EdDSA)
            .map(|jwk| serde_json::to_value(jwk).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]});
        HolderKey::EdDsa(key, jwk)
    }

    /// `ES256` or `EdDSA`.
    pub fn alg(&self) -> &'static str {
        match self {
            HolderKey::Es256(_) => "ES256",
            HolderKey::EdDsa(..) => "EdDSA",
        }
    }

    /// The public JWK (what a proof's `jwk` header and the credential's `cnf.jwk` carry).
    pub fn public_jwk(&self) -> Value {
        match self {
            HolderKey::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let coordinate = |c: Option<&p256::FieldBytes>| {
                    c.map_or(String::new(), |c| URL_SAFE_NO_PAD.encode(c))
                };
                json!({"kty": "EC", "crv": "P-256",
                       "x": coordinate(point.x()), "y": coordinate(point.y())})
            }
            HolderKey::EdDsa(_, jwk) => jwk.clone(),
        }
    }

    /// A compact JWS of `header` (used as given: set `alg` yourself) and `payload`.
    pub fn sign_jws(&self, header: &Value, payload: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The base64url signature of `message` (a JWS signing input).
    pub fn sign(&self, message: &[u8]) -> String {
        match self {
            HolderKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                URL_SAFE_NO_PAD.encode(signature.to_bytes())
            }
            HolderKey::EdDsa(key, _) => {
                jsonwebtoken::crypto::sign(message, key, Algorithm::EdDSA).unwrap_or_default()
            }
        }
    }

    /// An OpenID4VCI `jwt` key proof for the issuer `audience`, with `nonce` when given.
    pub fn proof(&self, audience: &str, nonce: Option<&str>, iat: i64) -> String {
        let header = json!({"typ": PROOF_TYP, "alg": self.alg(), "jwk": self.public_jwk()});
        let mut payload = json!({"aud": audience, "iat": iat});
        if let Some(nonce) = nonce {
            payload["nonce"] = nonce.into();
        }
        self.sign_jws(&header, &payload)
    }
}
