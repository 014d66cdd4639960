//! The issuer's ES256 signing key.
//!
//! Every credential (SD-JWT VC) and every Status List Token that `trustc serve` hands out is
//! signed with one P-256 key. This module owns that key: it loads it from a PEM file (PKCS#8 or
//! SEC1), creates the file on first start (so a development instance works with no setup while
//! replicas share a key by sharing the file), derives the public JWK that wallets and verifiers
//! fetch from `/.well-known/jwt-vc-issuer`, names it by its RFC 7638 thumbprint (`kid`), and
//! produces compact ES256 JWS strings. Signing is deliberately small and dependency-light: the
//! header and payload are plain JSON values, so the same function serves SD-JWT issuance
//! (through the `sd-jwt-payload` signer adapter in [`crate::sdjwt`]) and status list tokens.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The JOSE algorithm of every signature made by an [`IssuerKey`].
pub const ALG: &str = "ES256";

/// How long [`IssuerKey::load_or_generate`] keeps re-reading a key file that another process has
/// just created but not yet finished writing.
const PARTIAL_FILE_WAIT: Duration = Duration::from_secs(3);
const PARTIAL_FILE_POLL: Duration = Duration::from_millis(20);

/// The issuer's P-256 signing key with its derived public JWK and `kid`.
///
/// `Debug` never prints the private key, only the `kid`.
#[derive(Clone)]
pub struct IssuerKey {
    signing: SigningKey,
    kid: String,
    jwk: Value,
}

/// Why an issuer key could not be read, parsed or created. The message names the file (when there
/// is one) and the reason, ready to be shown to an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// Generates a fresh random P-256 key (operating-system randomness).
    pub fn generate() -> IssuerKey {
        IssuerKey::from_signing_key(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// Parses a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) or SEC1 PEM
    /// (`-----BEGIN EC PRIVATE KEY-----`) P-256 private key.
    ///
    /// Encrypted PKCS#8, public keys, certificates and keys on other curves are rejected with a
    /// message saying so.
    pub fn from_pem(pem: &str) -> Result<IssuerKey, KeyError> {
        let Some((label, text)) = pem_block(pem) else {
            return Err(KeyError(
                "not a PEM private key: no `-----BEGIN …-----` line found \
                 (expected PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`)"
                    .into(),
            ));
        };
        match label {
            "PRIVATE KEY" => SigningKey::from_pkcs8_pem(text)
                .map(IssuerKey::from_signing_key)
                .map_err(|e| match pkcs8_key_kind(text) {
                    Some(kind) => KeyError(format!(
                        "PKCS#8 `PRIVATE KEY` is {kind}, but the issuer needs a P-256 \
                         (prime256v1) EC key for ES256"
                    )),
                    None => KeyError(format!(
                        "PKCS#8 `PRIVATE KEY` is not a readable P-256 (prime256v1) EC key: {e}"
                    )),
                }),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_pem(text)
                .map(|secret| IssuerKey::from_signing_key(SigningKey::from(secret)))
                .map_err(|e| {
                    KeyError(format!(
                        "SEC1 `EC PRIVATE KEY` is not a readable P-256 (prime256v1) key: {e}"
                    ))
                }),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError(
                "encrypted PKCS#8 keys are not supported; store the key unencrypted \
                 (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`) and protect the file instead"
                    .into(),
            )),
            "PUBLIC KEY" | "CERTIFICATE" => Err(KeyError(format!(
                "found a PEM `{label}`, but the issuer needs its private key \
                 (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`)"
            ))),
            other => Err(KeyError(format!(
                "unsupported PEM type `{}`; expected PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY` \
                 of a P-256 key",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
    pub fn to_pkcs8_pem(&self) -> String {
        // Encoding a valid in-memory P-256 key as PKCS#8 cannot fail; an empty string would only
        // come back from an internal encoder bug and fails loudly when read back.
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .unwrap_or_default()
    }

    /// Reads the key at `path`; when the file does not exist, generates one and writes it there
    /// as PKCS#8 PEM (created with `create_new`, mode 0600 on Unix, parent folders created).
    /// Returns the key and whether it was created by this call.
    ///
    /// The file is created with mode 0600 by the `open` call itself, so it never exists with
    /// wider permissions; an existing file that its group or others may access is refused, the
    /// message naming the file and the fix (`chmod 600 <file>`).
    ///
    /// Two processes racing to create the file end up with the same key: only one `create_new`
    /// succeeds and the other reads the winner's file (waiting up to a few seconds while that file
    /// is still empty or incomplete).
    pub fn load_or_generate(path: &Path) -> Result<(IssuerKey, bool), KeyError> {
        let file = PemFile {
            what: "issuer key",
            expected: "a PEM private key",
            mode: 0o600,
        };
        load_or_create_pem(
            path,
            &file,
            |text| IssuerKey::from_pem(text).map_err(|e| e.0),
            || {
                let key = IssuerKey::generate();
                let pem = key.to_pkcs8_pem();
                Ok((key, pem))
            },
        )
        .map_err(KeyError)
    }

    /// A 32-byte secret for `purpose` derived from the private key (HMAC-SHA256 keyed with the
    /// private scalar, over the purpose label, as HKDF-Extract does): instances that share the
    /// signing key share it, and a new key gives new secrets. Distinct purposes give unrelated
    /// secrets, and none of them reveals the key.
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing.to_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of the public key; used as
    /// the `kid` of every JWS this key signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK:
    /// `{"kty":"EC","crv":"P-256","x":…,"y":…,"kid":…,"alg":"ES256","use":"sig"}`.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs a compact JWS: `base64url(header) . base64url(payload) . base64url(r‖s)`, ES256.
    ///
    /// `header` should be a JSON object; `"alg":"ES256"` and `"kid"` are set in it (overriding any
    /// given values) and its other members, such as `typ`, are kept. A header that is not an object
    /// is treated as `{}`.
    pub fn sign_jwt(&self, header: &Value, payload: &Value) -> String {
        let empty = Map::new();
        let header = header.as_object().unwrap_or(&empty);
        self.sign_parts(header, payload)
    }

    /// [`IssuerKey::sign_jwt`] for a header that names the key some other way, such as a request
    /// object's `x5c` certificate chain: `"alg":"ES256"` is set (overriding any given value) and
    /// no `kid` is added; every other member is kept as given. A header that is not an object is
    /// treated as `{}`.
    pub fn sign_jwt_with(&self, header: &Value, payload: &Value) -> String {
        let mut full = Map::new();
        full.insert("alg".into(), Value::String(ALG.into()));
        if let Some(given) = header.as_object() {
            for (name, value) in given {
                if name != "alg" {
                    full.insert(name.clone(), value.clone());
                }
            }
        }
        self.sign_header(&full, payload)
    }

    /// [`IssuerKey::sign_jwt`] for a header that is already a JSON map and any serializable
    /// payload (used by the SD-JWT signer adapter, which is handed maps).
    pub(crate) fn sign_parts<P: serde::Serialize + ?Sized>(
        &self,
        header: &Map<String, Value>,
        payload: &P,
    ) -> String {
        self.sign_parts_as(&self.kid, header, payload)
    }

    /// [`IssuerKey::sign_parts`] naming this key as `kid` (a DID URL of it, for a `did:web`
    /// issuer, [`crate::identity`]).
    pub(crate) fn sign_parts_as<P: serde::Serialize + ?Sized>(
        &self,
        kid: &str,
        header: &Map<String, Value>,
        payload: &P,
    ) -> String {
        let mut full = Map::with_capacity(header.len() + 2);
        full.insert("alg".into(), Value::String(ALG.into()));
        full.insert("kid".into(), Value::String(kid.to_owned()));
        for (name, value) in header {
            if name != "alg" && name != "kid" {
                full.insert(name.clone(), value.clone());
            }
        }
        self.sign_header(&full, payload)
    }

    /// The one signing path: encodes `header` (already holding `alg`) and `payload` and signs them.
    fn sign_header<P: serde::Serialize + ?Sized>(
        &self,
        header: &Map<String, Value>,
        payload: &P,
    ) -> String {
        // Serializing a `serde_json` map or value cannot fail (all keys are strings).
        let header_json = serde_json::to_vec(header).unwrap_or_default();
        let payload_json = serde_json::to_vec(payload).unwrap_or_default();

        let mut jws = String::with_capacity((header_json.len() + payload_json.len()) * 4 / 3 + 90);
        URL_SAFE_NO_PAD.encode_string(&header_json, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload_json, &mut jws);
        let signature: Signature = self.signing.sign(jws.as_bytes());
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jws);
        jws
    }

    /// The ECDSA signing key, for what signs with it in another encoding (the self-signed
    /// certificate of [`crate::x509`]).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    fn from_signing_key(signing: SigningKey) -> IssuerKey {
        let point = signing.verifying_key().to_encoded_point(false);
        // An uncompressed SEC1 point of a valid key always has both coordinates.
        let x = URL_SAFE_NO_PAD.encode(point.x().map(|x| x.as_slice()).unwrap_or_default());
        let y = URL_SAFE_NO_PAD.encode(point.y().map(|y| y.as_slice()).unwrap_or_default());
        // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": x,
            "y": y,
            "kid": kid,
            "alg": ALG,
            "use": "sig",
        });
        IssuerKey { signing, kid, jwk }
    }
}

/// PEM labels of private keys, in the order `from_pem` looks for them.
const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"];

/// Finds the private-key block of a PEM file: the first `-----BEGIN <label>-----` … `-----END
/// <label>-----` whose label is a private key (so `openssl ecparam -genkey` output, which starts
/// with an `EC PARAMETERS` block, and files with certificates after the key are read). Without a
/// private-key block, returns the first label and the whole text (so the error can name it).
fn pem_block(pem: &str) -> Option<(&str, &str)> {
    const BEGIN: &str = "-----BEGIN ";
    let mut first = None;
    let mut search = 0;
    while let Some(found) = pem[search..].find(BEGIN) {
        let begin = search + found;
        let after = begin + BEGIN.len();
        let label_len = pem[after..].find("-----")?;
        let label = pem[after..after + label_len].trim();
        if KEY_LABELS.contains(&label) {
            let end_line = format!("-----END {label}-----");
            let end = pem[after..]
                .find(&end_line)
                .map_or(pem.len(), |i| after + i + end_line.len());
            return Some((label, &pem[begin..end]));
        }
        first.get_or_insert(label);
        search = after + label_len;
    }
    first.map(|label| (label, pem.trim()))
}

/// Names the algorithm of a well-formed PKCS#8 key that is not P-256, for a clearer error.
fn pkcs8_key_kind(text: &str) -> Option<String> {
    let (_, document) = p256::pkcs8::SecretDocument::from_pem(text).ok()?;
    let info = p256::pkcs8::PrivateKeyInfo::try_from(document.as_bytes()).ok()?;
    let kind = match info.algorithm.oid.to_string().as_str() {
        "1.2.840.10045.2.1" => match info.algorithm.parameters_oid().ok()?.to_string().as_str() {
            // P-256 itself: the key is corrupt, let the parser's error speak.
            "1.2.840.10045.3.1.7" => return None,
            "1.3.132.0.34" => "a P-384 EC key".to_owned(),
            "1.3.132.0.35" => "a P-521 EC key".to_owned(),
            "1.3.132.0.10" => "a secp256k1 EC key".to_owned(),
            curve => format!("an EC key on curve {curve}"),
        },
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.113" => "an Ed448 key".to_owned(),
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => "an RSA key".to_owned(),
        other => format!("a key of algorithm {other}"),
    };
    Some(kind)
}

/// How [`load_or_create_pem`] names one kind of PEM file and writes a new one.
pub(crate) struct PemFile<'a> {
    /// What the file holds, as messages name it ("issuer key").
    pub what: &'a str,
    /// What belongs in the file, as the message about an empty one says ("a PEM private key").
    pub expected: &'a str,
    /// The permissions of a created file on Unix (0600 for a private key). A file made for its
    /// owner only (no group or other bits) is a secret: one found with more is refused
    /// ([`crate::secrets::check_owner_only`]).
    pub mode: u32,
}

/// Reads the PEM file at `path` with `parse`; when it does not exist, makes one with `create`
/// (the value and its PEM text) and writes it there (created with `create_new`, `file.mode` on
/// Unix, parent folders created). Returns the value and whether this call created the file. Every
/// error names `file.what` and the path.
///
/// Two processes racing to create the file end up with the same value: only one `create_new`
/// succeeds and the other reads the winner's file (waiting up to a few seconds while that file
/// is still empty or incomplete).
pub(crate) fn load_or_create_pem<T>(
    path: &Path,
    file: &PemFile,
    parse: impl Fn(&str) -> Result<T, String>,
    create: impl FnOnce() -> Result<(T, String), String>,
) -> Result<(T, bool), String> {
    let what = file.what;
    let shown = path.display();
    match read_pem_file(path, file, &parse) {
        Ok(value) => return Ok((value, false)),
        Err(ReadError::NotFound) => {}
        Err(ReadError::Other(e)) => return Err(e),
    }

    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| {
            format!(
                "{what} {shown}: cannot create folder {}: {e}",
                parent.display()
            )
        })?;
    }

    let (value, pem) = create().map_err(|e| format!("{what} {shown}: {e}"))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(file.mode);
    }
    match options.open(path) {
        Ok(mut created) => {
            created
                .write_all(pem.as_bytes())
                .and_then(|()| created.sync_all())
                .map_err(|e| format!("{what} {shown}: cannot write the new {what}: {e}"))?;
            Ok((value, true))
        }
        // Another process created it between our read and our create: use its file.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            match read_pem_file(path, file, &parse) {
                Ok(value) => Ok((value, false)),
                Err(ReadError::NotFound) => Err(format!(
                    "{what} {shown}: the file was created by another process and then removed"
                )),
                Err(ReadError::Other(e)) => Err(e),
            }
        }
        Err(e) => Err(format!("{what} {shown}: cannot create the file: {e}")),
    }
}

enum ReadError {
    NotFound,
    Other(String),
}

/// Reads and parses a PEM file; while the file looks like it is still being written by another
/// process (empty, or no `-----END` line yet), re-reads it for a short while.
fn read_pem_file<T>(
    path: &Path,
    file: &PemFile,
    parse: &impl Fn(&str) -> Result<T, String>,
) -> Result<T, ReadError> {
    let what = file.what;
    let shown = path.display();
    if file.mode & 0o077 == 0 {
        crate::secrets::check_owner_only(path, what).map_err(ReadError::Other)?;
    }
    let mut waited = Duration::ZERO;
    loop {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::NotFound),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(ReadError::Other(format!(
                    "{what} {shown}: the file is not UTF-8 text, so not PEM"
                )));
            }
            Err(e) => {
                return Err(ReadError::Other(format!(
                    "{what} {shown}: cannot read the file: {e}"
                )));
            }
        };
        let incomplete = text.trim().is_empty() || !text.contains("-----END");
        if incomplete && waited < PARTIAL_FILE_WAIT {
            std::thread::sleep(PARTIAL_FILE_POLL);
            waited += PARTIAL_FILE_POLL;
            continue;
        }
        if text.trim().is_empty() {
            return Err(ReadError::Other(format!(
                "{what} {shown}: the file is empty; delete it to have a new {what} made, \
                 or put {} in it",
                file.expected
            )));
        }
        return parse(&text).map_err(|e| ReadError::Other(format!("{what} {shown}: {e}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

    fn decode_part(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn sign_jwt_verifies_with_jsonwebtoken_and_the_public_jwk() {
        let key = IssuerKey::generate();
        let jws = key.sign_jwt(
            &json!({"typ": "example+jwt", "alg": "none", "kid": "spoofed"}),
            &json!({"sub": "s", "aud": "a", "n": 1}),
        );
        let jwk: Jwk = serde_json::from_value(key.public_jwk().clone()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.set_audience(&["a"]);
        let data = decode::<Value>(&jws, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .expect("signature verifies");
        assert_eq!(data.claims, json!({"sub": "s", "aud": "a", "n": 1}));
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));

        let header = decode_part(jws.split('.').next().unwrap());
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["typ"], "example+jwt");
        // r||s, not DER.
        let sig = URL_SAFE_NO_PAD
            .decode(jws.rsplit('.').next().unwrap())
            .unwrap();
        assert_eq!(sig.len(), 64);

        // Another key's JWK must not verify it.
        let other: Jwk =
            serde_json::from_value(IssuerKey::generate().public_jwk().clone()).unwrap();
        assert!(
            decode::<Value>(&jws, &DecodingKey::from_jwk(&other).unwrap(), &validation).is_err()
        );
    }

    #[test]
    fn sign_jwt_with_keeps_the_header_but_alg() {
        let key = IssuerKey::generate();
        let header = json!({"typ": "oauth-authz-req+jwt", "x5c": ["MIIB"], "alg": "none"});
        let jws = key.sign_jwt_with(&header, &json!({"client_id": "x509_hash:abc"}));
        assert_eq!(
            decode_part(jws.split('.').next().unwrap()),
            json!({"alg": "ES256", "typ": "oauth-authz-req+jwt", "x5c": ["MIIB"]}),
            "no `kid` added, `alg` set"
        );
        let jwk: Jwk = serde_json::from_value(key.public_jwk().clone()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = decode::<Value>(&jws, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .expect("signature verifies");
        assert_eq!(data.claims, json!({"client_id": "x509_hash:abc"}));
        // A `kid` the caller gives is kept.
        let jws = key.sign_jwt_with(&json!({"kid": "given"}), &json!({}));
        assert_eq!(
            decode_part(jws.split('.').next().unwrap()),
            json!({"alg": "ES256", "kid": "given"})
        );
    }

    #[test]
    fn non_object_header_is_treated_as_empty() {
        let key = IssuerKey::generate();
        let jws = key.sign_jwt(&json!("x"), &json!({}));
        let header = decode_part(jws.split('.').next().unwrap());
        assert_eq!(header, json!({"alg": "ES256", "kid": key.kid()}));
    }

    #[test]
    fn public_jwk_and_kid_follow_rfc7638() {
        let key = IssuerKey::generate();
        let jwk = key.public_jwk();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["y"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        // jsonwebtoken's own RFC 7638 implementation agrees.
        let parsed: Jwk = serde_json::from_value(jwk.clone()).unwrap();
        assert_eq!(
            parsed
                .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                .unwrap(),
            key.kid()
        );
    }

    #[test]
    fn public_jwk_of_the_rfc7515_example_key() {
        // RFC 7515 Appendix A.3: the ES256 example key (d, x, y).
        let d = URL_SAFE_NO_PAD
            .decode("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")
            .unwrap();
        let key = IssuerKey::from_signing_key(SigningKey::from_slice(&d).unwrap());
        assert_eq!(
            key.public_jwk()["x"],
            "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
        );
        assert_eq!(
            key.public_jwk()["y"],
            "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        );
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert_eq!(key.kid(), URL_SAFE_NO_PAD.encode(Sha256::digest(canonical)));
        assert_eq!(key.kid().len(), 43);
    }

    #[test]
    fn reads_an_openssl_generated_pkcs8_key() {
        // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`; x and y taken from
        // `openssl pkey -pubout`.
        let pem = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNJOOViSKIId4WUHH
z76veyTeRQ8AW0BV4J56/iC8FSChRANCAAQ6pGyOJLorIHcmDrXxUaaEsKGaSXS7
L/ZoQ7T5rC3jtkfFj2k0FipRRYNQ/Zvy+LtQp0tQpVc+atDT9mGwMBO+
-----END PRIVATE KEY-----
";
        let key = IssuerKey::from_pem(pem).unwrap();
        assert_eq!(
            key.public_jwk()["x"],
            "OqRsjiS6KyB3Jg618VGmhLChmkl0uy_2aEO0-awt47Y"
        );
        assert_eq!(
            key.public_jwk()["y"],
            "R8WPaTQWKlFFg1D9m_L4u1CnS1ClVz5q0NP2YbAwE74"
        );
    }

    #[test]
    fn pkcs8_and_sec1_pem_round_trip() {
        let key = IssuerKey::generate();
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = IssuerKey::from_pem(&pem).unwrap();
        assert_eq!(back.kid(), key.kid());
        assert_eq!(back.public_jwk(), key.public_jwk());

        let secret = p256::SecretKey::from(key.signing.as_nonzero_scalar());
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let from_sec1 = IssuerKey::from_pem(&sec1).unwrap();
        assert_eq!(from_sec1.kid(), key.kid());

        // `openssl ecparam -genkey -name prime256v1` output: an EC PARAMETERS block first.
        let openssl = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            sec1.as_str()
        );
        assert_eq!(IssuerKey::from_pem(&openssl).unwrap().kid(), key.kid());
        // A key followed by something else (e.g. a certificate) is read too.
        let followed =
            format!("{pem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert_eq!(IssuerKey::from_pem(&followed).unwrap().kid(), key.kid());

        // Surrounding whitespace and CRLF line endings are accepted.
        let crlf = format!("\n  {}  \n", pem.replace('\n', "\r\n"));
        assert_eq!(IssuerKey::from_pem(&crlf).unwrap().kid(), key.kid());
    }

    #[test]
    fn garbage_pem_is_rejected_with_the_reason() {
        let err = IssuerKey::from_pem("hello").unwrap_err();
        assert!(err.0.contains("not a PEM private key"), "{err}");

        let err = IssuerKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(err.0.contains("PKCS#8") && err.0.contains("P-256"), "{err}");

        let err = IssuerKey::from_pem(
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(err.0.contains("SEC1"), "{err}");

        let err =
            IssuerKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .unwrap_err();
        assert!(err.0.contains("private key"), "{err}");

        let err = IssuerKey::from_pem(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(err.0.contains("encrypted"), "{err}");

        // A valid PKCS#8 key on another curve (Ed25519) is not a P-256 key.
        let ed25519 = "-----BEGIN PRIVATE KEY-----\n\
                       MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                       -----END PRIVATE KEY-----\n";
        let p384 = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCGXmodlQ65lvo+N6+m
xeq4rlvr638SVPv7oMz4n+jDT3cp1uoTrdMYOl26Stb/TNyhZANiAARpLUQfeLIN
e+hmEaoTkZD4aCCzUsdiopvHda31cr1TM7joE9RLTz4QWcAegmRghpSrFojKRHGY
y9I0yWT6DuNJGWEPW71v/bpAm36qckJQt5foC0HFo1rrPPvOv3mwe+w=
-----END PRIVATE KEY-----
";
        let err = IssuerKey::from_pem(p384).unwrap_err();
        assert!(err.0.contains("is a P-384 EC key"), "{err}");

        let err = IssuerKey::from_pem(ed25519).unwrap_err();
        assert_eq!(
            err.0,
            "PKCS#8 `PRIVATE KEY` is an Ed25519 key, but the issuer needs a P-256 (prime256v1) \
             EC key for ES256"
        );
    }

    #[test]
    fn load_or_generate_creates_then_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/issuer.pem");
        let (created, was_created) = IssuerKey::load_or_generate(&path).unwrap();
        assert!(was_created);
        let (loaded, was_created) = IssuerKey::load_or_generate(&path).unwrap();
        assert!(!was_created);
        assert_eq!(loaded.kid(), created.kid());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// Writes `text` to `path`, for its owner only (as a key file must be).
    fn write_secret(path: &Path, text: &str) {
        fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[test]
    fn load_or_generate_names_the_file_on_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pem");
        write_secret(
            &path,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let err = IssuerKey::load_or_generate(&path).unwrap_err();
        assert!(
            err.0.contains("bad.pem") && err.0.contains("PKCS#8"),
            "{err}"
        );

        let empty = dir.path().join("empty.pem");
        write_secret(&empty, "");
        let err = IssuerKey::load_or_generate(&empty).unwrap_err();
        assert!(
            err.0.contains("empty.pem") && err.0.contains("empty"),
            "{err}"
        );

        // A folder where the file should be.
        let err = IssuerKey::load_or_generate(dir.path()).unwrap_err();
        assert!(err.0.contains(&dir.path().display().to_string()), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.pem");
        let (created, _) = IssuerKey::load_or_generate(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = IssuerKey::load_or_generate(&path).unwrap_err();
            let shown = path.display();
            assert!(
                err.0
                    .starts_with(&format!("issuer key `{shown}` can be read or changed"))
                    && err.0.contains(&format!("(mode {mode:04o})"))
                    && err.0.ends_with(&format!("run `chmod 600 {shown}`")),
                "{err}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        let (loaded, was_created) = IssuerKey::load_or_generate(&path).unwrap();
        assert!(!was_created);
        assert_eq!(loaded.kid(), created.kid());
    }

    #[test]
    fn racing_creators_end_up_with_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race/issuer.pem");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    IssuerKey::load_or_generate(&path).unwrap()
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let creators = results.iter().filter(|(_, created)| *created).count();
        assert_eq!(creators, 1);
        let kid = results[0].0.kid().to_owned();
        assert!(results.iter().all(|(k, _)| k.kid() == kid));
        let on_disk = IssuerKey::from_pem(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk.kid(), kid);
    }

    #[test]
    fn debug_does_not_leak_the_private_key() {
        let key = IssuerKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()));
        assert!(!shown.to_lowercase().contains("scalar"));
        assert!(!shown.contains("signing"));
    }
}
