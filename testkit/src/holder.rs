//! The wallet's side of key binding: a holder key (ES256 or EdDSA) that signs OpenID4VCI key
//! proofs, and DPoP proofs (RFC 9449) for wallets that bind their access tokens. The runtime never needs it; trustc's protocol tests and load benchmark play the wallet
//! with it, so they exercise the same proof format real wallets send.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use serde_json::{Value, json};

/// `typ` of an OpenID4VCI key proof JWT.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// `typ` of a DPoP proof JWT (RFC 9449).
pub const DPOP_TYP: &str = "dpop+jwt";

/// A holder's key pair, kept ready to sign as a wallet keeps it.
pub enum HolderKey {
    Es256(SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl HolderKey {
    /// A fresh P-256 key (proofs with `alg: ES256`).
    pub fn es256() -> HolderKey {
        HolderKey::Es256(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// A fresh Ed25519 key (proofs with `alg: EdDSA`).
    pub fn ed25519() -> HolderKey {
        HolderKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(&rand::random()))
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
            HolderKey::EdDsa(key) => json!({"kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())}),
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
            HolderKey::EdDsa(key) => {
                use ed25519_dalek::Signer as _;
                URL_SAFE_NO_PAD.encode(key.sign(message).to_bytes())
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

    /// A DPoP proof (RFC 9449 §4.2) for a `method` request to `url` (sent as `htu` as given),
    /// made at `iat`, with a random `jti`, and with `ath` when it goes with `access_token`.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        iat: i64,
    ) -> String {
        use sha2::Digest;
        let mut claims = json!({
            "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            "htm": method,
            "htu": url,
            "iat": iat,
        });
        if let Some(token) = access_token {
            claims["ath"] = URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(token.as_bytes()))
                .into();
        }
        self.dpop_jws(&claims)
    }

    /// A DPoP proof of these claims, as they are (to make wrong ones), with its header.
    pub fn dpop_jws(&self, claims: &Value) -> String {
        let header = json!({"typ": DPOP_TYP, "alg": self.alg(), "jwk": self.public_jwk()});
        self.sign_jws(&header, claims)
    }
}
