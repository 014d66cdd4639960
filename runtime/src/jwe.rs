//! Compact JWE with ECDH-ES on P-256 and AES-GCM: the encrypted responses a verifier receives.
//!
//! In OpenID4VP's response mode `direct_post.jwt` the wallet encrypts its response (the
//! `vp_token` and `state`) to a key the verifier published in the request's `client_metadata`,
//! as a compact JWE with `alg: ECDH-ES` (direct key agreement, RFC 7518 §4.6: the content key is
//! derived from an ephemeral-static Diffie-Hellman secret with the Concat KDF, so the encrypted
//! key part is empty) and `enc: A128GCM` or `A256GCM` (RFC 7518 §5.3). This module decrypts
//! exactly that and refuses everything else with a reason ([`JweError`]); [`encrypt`] is the
//! wallet's side, for tests.
//!
//! No key is stored for a response: [`session_key`] derives a session's decryption key from a
//! secret every instance sharing the issuer key can derive (`IssuerKey::derive_secret`) and the
//! session's name, so whichever instance receives the response can decrypt it.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey, SecretKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::jose::{describe, show};

/// The only key management algorithm accepted: ECDH-ES direct key agreement.
pub const ALG: &str = "ECDH-ES";

/// The content encryption algorithms this module implements (RFC 7518 §5.3).
pub const SUPPORTED_ENC: [&str; 2] = ["A128GCM", "A256GCM"];

/// The largest compact JWE [`decrypt`] reads, in bytes.
pub const MAX_JWE_BYTES: usize = 1 << 20;

/// JWK members that carry private or symmetric key material (RFC 7518 §6).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const IV_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// A JWE that decrypted: its protected header and the plaintext.
#[derive(Debug, Clone, PartialEq)]
pub struct Decrypted {
    pub header: Map<String, Value>,
    pub plaintext: Vec<u8>,
}

/// Why a JWE was refused (or, for [`encrypt`], could not be made). `Display` is one sentence for
/// the peer: printable ASCII, values from the JWE quoted through [`show`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JweError {
    /// Longer than [`MAX_JWE_BYTES`].
    TooLarge { size: usize },
    /// Not five `.`-separated parts.
    NotCompact { parts: usize },
    /// A part that is not base64url without padding; `part` names it.
    Base64 { part: &'static str },
    /// The protected header is not a JSON object.
    Header,
    /// `alg` is not `ECDH-ES` (the value, described, or `None` when missing).
    Alg(Option<String>),
    /// `enc` is missing or not one of the allowed algorithms.
    Enc {
        enc: Option<String>,
        allowed: Vec<String>,
    },
    /// `zip` is present: compressed plaintexts are not accepted.
    Compressed,
    /// `crit` is present: no JWE extension is understood.
    Critical,
    /// The encrypted key part is not empty (direct key agreement has none).
    EncryptedKey,
    /// The ephemeral public key `epk` is missing or unusable; the reason says how.
    Epk(String),
    /// `apu` or `apv` is not a base64url string.
    PartyInfo { member: &'static str },
    /// The initialization vector is not 96 bits.
    Iv { len: usize },
    /// The authentication tag is not 128 bits.
    Tag { len: usize },
    /// The tag does not match: encrypted to another key, or altered.
    Decryption,
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JweError::TooLarge { size } => write!(
                f,
                "the JWE is {size} bytes long, more than the {MAX_JWE_BYTES} accepted"
            ),
            JweError::NotCompact { parts } => write!(
                f,
                "not a compact JWE: {parts} part(s) separated by `.`, expected 5"
            ),
            JweError::Base64 { part } => {
                write!(f, "the JWE {part} is not base64url without padding")
            }
            JweError::Header => f.write_str("the JWE protected header is not a JSON object"),
            JweError::Alg(None) => write!(f, "the JWE header has no `alg`; expected `{ALG}`"),
            JweError::Alg(Some(alg)) => write!(
                f,
                "JWE `alg` {alg} is not accepted; expected `{ALG}` (direct key agreement)"
            ),
            JweError::Enc { enc, allowed } => {
                let allowed = allowed
                    .iter()
                    .map(|a| format!("`{}`", show(a)))
                    .collect::<Vec<_>>()
                    .join(", ");
                match enc {
                    None => write!(f, "the JWE header has no `enc`; expected one of {allowed}"),
                    Some(enc) => write!(
                        f,
                        "JWE `enc` {enc} is not accepted; expected one of {allowed}"
                    ),
                }
            }
            JweError::Compressed => f.write_str("compressed JWEs (header `zip`) are not accepted"),
            JweError::Critical => f.write_str(
                "the JWE header `crit` names extensions that are not understood (none is)",
            ),
            JweError::EncryptedKey => write!(
                f,
                "the JWE encrypted key must be empty with `{ALG}` (direct key agreement)"
            ),
            JweError::Epk(reason) => write!(f, "JWE header `epk` {reason}"),
            JweError::PartyInfo { member } => {
                write!(f, "JWE header `{member}` is not a base64url string")
            }
            JweError::Iv { len } => write!(
                f,
                "the JWE initialization vector is {len} bytes long; AES-GCM takes {IV_BYTES}"
            ),
            JweError::Tag { len } => write!(
                f,
                "the JWE authentication tag is {len} bytes long; AES-GCM makes {TAG_BYTES}"
            ),
            JweError::Decryption => {
                f.write_str("the JWE does not decrypt: it was encrypted to another key, or altered")
            }
        }
    }
}

impl std::error::Error for JweError {}

/// The protected header of a compact JWE, **not yet authenticated**: for choosing the decryption
/// key (by `kid`) before [`decrypt`], which checks it. Only the size, the five parts and the
/// header's encoding are checked here.
pub fn protected_header(compact: &str) -> Result<Map<String, Value>, JweError> {
    let parts = split(compact)?;
    parse_header(parts[0])
}

/// Decrypts a compact JWE encrypted to `recipient` with `ECDH-ES` and one of `allowed_enc` (of
/// [`SUPPORTED_ENC`]).
///
/// Refused, each with its own [`JweError`]: more than [`MAX_JWE_BYTES`]; not five parts; bad
/// base64url or header JSON; `alg` other than `ECDH-ES`; `enc` not allowed; `zip`; any `crit`;
/// `epk` missing, not a P-256 `EC` key, not on the curve or with private members; `apu`/`apv` not
/// base64url; an encrypted key; an IV or tag of the wrong size; a tag that does not match (another
/// key, or a change to any part). The AAD is the protected header part as sent.
pub fn decrypt(
    compact: &str,
    recipient: &SecretKey,
    allowed_enc: &[&str],
) -> Result<Decrypted, JweError> {
    let parts = split(compact)?;
    let header = parse_header(parts[0])?;

    match header.get("alg") {
        Some(Value::String(alg)) if alg == ALG => {}
        Some(other) => return Err(JweError::Alg(Some(describe(other)))),
        None => return Err(JweError::Alg(None)),
    }
    let enc = match header.get("enc") {
        Some(Value::String(enc))
            if allowed_enc.contains(&enc.as_str()) && SUPPORTED_ENC.contains(&enc.as_str()) =>
        {
            enc.as_str()
        }
        other => {
            return Err(JweError::Enc {
                enc: other.map(describe),
                allowed: allowed_enc
                    .iter()
                    .filter(|e| SUPPORTED_ENC.contains(e))
                    .map(|e| (*e).to_owned())
                    .collect(),
            });
        }
    };
    if header.contains_key("zip") {
        return Err(JweError::Compressed);
    }
    if header.contains_key("crit") {
        return Err(JweError::Critical);
    }
    let epk = ephemeral_key(header.get("epk"))?;
    let apu = party_info(&header, "apu")?;
    let apv = party_info(&header, "apv")?;

    if !parts[1].is_empty() {
        return Err(JweError::EncryptedKey);
    }
    let iv = decode(parts[2], "initialization vector")?;
    if iv.len() != IV_BYTES {
        return Err(JweError::Iv { len: iv.len() });
    }
    let mut sealed = decode(parts[3], "ciphertext")?;
    let tag = decode(parts[4], "authentication tag")?;
    if tag.len() != TAG_BYTES {
        return Err(JweError::Tag { len: tag.len() });
    }
    sealed.extend_from_slice(&tag);

    let key = content_key(recipient, &epk, enc, &apu, &apv);
    let payload = Payload {
        msg: &sealed,
        aad: parts[0].as_bytes(),
    };
    let nonce = Nonce::from_slice(&iv);
    let plaintext = match enc {
        "A128GCM" => Aes128Gcm::new_from_slice(&key).map(|c| c.decrypt(nonce, payload)),
        _ => Aes256Gcm::new_from_slice(&key).map(|c| c.decrypt(nonce, payload)),
    }
    .map_err(|_| JweError::Decryption)?
    .map_err(|_| JweError::Decryption)?;
    Ok(Decrypted { header, plaintext })
}

/// Encrypts `plaintext` to `recipient` as a compact JWE: `alg: ECDH-ES` with a fresh ephemeral
/// key, `enc` (of [`SUPPORTED_ENC`]), and `kid`, `apu`, `apv` in the header when given (non-empty).
/// The wallet's side of `direct_post.jwt`, for tests.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &PublicKey,
    enc: &str,
    kid: Option<&str>,
    apu: &[u8],
    apv: &[u8],
) -> Result<String, JweError> {
    let ephemeral = SecretKey::random(&mut rand::rngs::OsRng);
    let iv: [u8; IV_BYTES] = rand::random();
    encrypt_with(plaintext, recipient, enc, kid, apu, apv, &ephemeral, iv)
}

/// The decryption key of `session`: HKDF-SHA256 of `secret` with the session's name as `info`,
/// taken as a P-256 scalar (on the negligible chance that is not a valid scalar, the expansion is
/// repeated with a counter after the name). Every instance that knows `secret` derives the same
/// key, so none is stored.
pub fn session_key(secret: &[u8; 32], session: &str) -> SecretKey {
    let hkdf = Hkdf::<Sha256>::new(None, secret);
    let mut counter: u32 = 0;
    loop {
        let mut bytes = [0u8; 32];
        let counter_bytes = counter.to_be_bytes();
        let info: &[&[u8]] = if counter == 0 {
            &[session.as_bytes()]
        } else {
            &[session.as_bytes(), &counter_bytes]
        };
        // 32 bytes is far below HKDF-SHA256's limit of 8160.
        if hkdf.expand_multi_info(info, &mut bytes).is_ok()
            && let Ok(key) = SecretKey::from_slice(&bytes)
        {
            return key;
        }
        counter = counter.wrapping_add(1);
    }
}

/// The public JWK of an encryption key, as a verifier publishes it in `client_metadata.jwks`:
/// `{"kty":"EC","crv":"P-256","x":…,"y":…,"use":"enc","alg":"ECDH-ES","kid":…}`.
pub fn public_jwk(key: &SecretKey, kid: &str) -> Value {
    let mut jwk = point_jwk(&key.public_key());
    jwk.insert("use".into(), json!("enc"));
    jwk.insert("alg".into(), json!(ALG));
    jwk.insert("kid".into(), json!(kid));
    Value::Object(jwk)
}

/// `{"kty":"EC","crv":"P-256","x":…,"y":…}` of a public key.
fn point_jwk(key: &PublicKey) -> Map<String, Value> {
    let point = key.to_encoded_point(false);
    // An uncompressed SEC1 point of a valid key always has both coordinates.
    let coordinate = |c: Option<&p256::FieldBytes>| {
        Value::String(URL_SAFE_NO_PAD.encode(c.map(|c| c.as_slice()).unwrap_or_default()))
    };
    let mut jwk = Map::new();
    jwk.insert("kty".into(), json!("EC"));
    jwk.insert("crv".into(), json!("P-256"));
    jwk.insert("x".into(), coordinate(point.x()));
    jwk.insert("y".into(), coordinate(point.y()));
    jwk
}

/// [`encrypt`] with a given ephemeral key and IV (fixed in the tests).
#[allow(clippy::too_many_arguments)]
fn encrypt_with(
    plaintext: &[u8],
    recipient: &PublicKey,
    enc: &str,
    kid: Option<&str>,
    apu: &[u8],
    apv: &[u8],
    ephemeral: &SecretKey,
    iv: [u8; IV_BYTES],
) -> Result<String, JweError> {
    if !SUPPORTED_ENC.contains(&enc) {
        return Err(JweError::Enc {
            enc: Some(format!("`{}`", show(enc))),
            allowed: SUPPORTED_ENC.iter().map(|e| (*e).to_owned()).collect(),
        });
    }
    let mut header = Map::new();
    header.insert("alg".into(), json!(ALG));
    header.insert("enc".into(), json!(enc));
    if let Some(kid) = kid {
        header.insert("kid".into(), json!(kid));
    }
    header.insert(
        "epk".into(),
        Value::Object(point_jwk(&ephemeral.public_key())),
    );
    for (member, value) in [("apu", apu), ("apv", apv)] {
        if !value.is_empty() {
            header.insert(member.into(), json!(URL_SAFE_NO_PAD.encode(value)));
        }
    }
    // Serializing a `serde_json` map cannot fail.
    let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());

    let key = content_key(ephemeral, recipient, enc, apu, apv);
    let payload = Payload {
        msg: plaintext,
        aad: protected.as_bytes(),
    };
    let nonce = Nonce::from_slice(&iv);
    let sealed = match enc {
        "A128GCM" => Aes128Gcm::new_from_slice(&key).map(|c| c.encrypt(nonce, payload)),
        _ => Aes256Gcm::new_from_slice(&key).map(|c| c.encrypt(nonce, payload)),
    }
    // The key has the cipher's length, and AES-GCM encrypts up to 64 GiB.
    .map_err(|_| JweError::Decryption)?
    .map_err(|_| JweError::Decryption)?;
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
    Ok(format!(
        "{protected}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// The five parts of a compact JWE, after the size check.
fn split(compact: &str) -> Result<Vec<&str>, JweError> {
    if compact.len() > MAX_JWE_BYTES {
        return Err(JweError::TooLarge {
            size: compact.len(),
        });
    }
    let parts: Vec<&str> = compact.split('.').collect();
    if parts.len() != 5 {
        return Err(JweError::NotCompact { parts: parts.len() });
    }
    Ok(parts)
}

fn parse_header(part: &str) -> Result<Map<String, Value>, JweError> {
    let bytes = decode(part, "protected header")?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(header)) => Ok(header),
        _ => Err(JweError::Header),
    }
}

fn decode(part: &str, name: &'static str) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JweError::Base64 { part: name })
}

/// The `epk` header: a public P-256 `EC` JWK whose point is on the curve.
fn ephemeral_key(epk: Option<&Value>) -> Result<PublicKey, JweError> {
    let bad = |reason: &str| JweError::Epk(reason.to_owned());
    let Some(epk) = epk else {
        return Err(bad(
            "is missing; `ECDH-ES` needs the sender's ephemeral key",
        ));
    };
    let Some(members) = epk.as_object() else {
        return Err(JweError::Epk(format!(
            "is {}, not a JWK object",
            describe(epk)
        )));
    };
    let private: Vec<&str> = PRIVATE_JWK_MEMBERS
        .into_iter()
        .filter(|m| members.contains_key(*m))
        .collect();
    if !private.is_empty() {
        return Err(JweError::Epk(format!(
            "contains private key material (`{}`); it must be a public key",
            private.join("`, `")
        )));
    }
    let text = |name: &str| members.get(name).and_then(Value::as_str);
    if text("kty") != Some("EC") {
        return Err(JweError::Epk(format!(
            "has `kty` {}; expected `EC`",
            members.get("kty").map_or("missing".into(), describe)
        )));
    }
    if text("crv") != Some("P-256") {
        return Err(JweError::Epk(format!(
            "has `crv` {}; expected `P-256`",
            members.get("crv").map_or("missing".into(), describe)
        )));
    }
    let coordinate = |name: &str| {
        text(name)
            .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
            .filter(|c| c.len() == 32)
            .ok_or_else(|| {
                JweError::Epk(format!(
                    "`{name}` is not a 32-byte base64url P-256 coordinate"
                ))
            })
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    let point =
        EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
    Option::from(PublicKey::from_encoded_point(&point))
        .ok_or_else(|| bad("is not a point on the P-256 curve"))
}

/// `apu` or `apv`, decoded (empty when absent).
fn party_info(header: &Map<String, Value>, member: &'static str) -> Result<Vec<u8>, JweError> {
    match header.get(member) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) => URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| JweError::PartyInfo { member }),
        Some(_) => Err(JweError::PartyInfo { member }),
    }
}

/// The content encryption key of ECDH-ES direct key agreement (RFC 7518 §4.6.2): the Concat KDF
/// (NIST SP 800-56A §5.8.1) with SHA-256 over the shared secret `Z`, with AlgorithmID the `enc`
/// value, PartyUInfo `apu`, PartyVInfo `apv` (each length-prefixed), SuppPubInfo the key length
/// in bits, no SuppPrivInfo. `ours` and `theirs` are either side's private and public key.
fn content_key(ours: &SecretKey, theirs: &PublicKey, enc: &str, apu: &[u8], apv: &[u8]) -> Vec<u8> {
    let shared = p256::ecdh::diffie_hellman(ours.to_nonzero_scalar(), theirs.as_affine());
    let key_bytes = if enc == "A128GCM" { 16 } else { 32 };
    let key_bits = u32::try_from(key_bytes * 8).unwrap_or(u32::MAX);
    let prefixed = |data: &[u8], hash: &mut Sha256| {
        // Header members are bounded by MAX_JWE_BYTES, far below 2^32.
        hash.update(u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
        hash.update(data);
    };
    // One round of SHA-256 gives 256 bits, enough for both key sizes.
    let mut hash = Sha256::new();
    hash.update(1u32.to_be_bytes());
    hash.update(shared.raw_secret_bytes());
    prefixed(enc.as_bytes(), &mut hash);
    prefixed(apu, &mut hash);
    prefixed(apv, &mut hash);
    hash.update(key_bits.to_be_bytes());
    hash.finalize()[..key_bytes].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    fn key(d: &str) -> SecretKey {
        SecretKey::from_slice(&b64(d)).unwrap()
    }

    /// RFC 7518 Appendix C: Alice (the sender, ephemeral key) and Bob (the recipient).
    const ALICE_D: &str = "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo";
    const BOB_D: &str = "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw";

    #[test]
    fn the_rfc7518_appendix_c_example_derives_its_key() {
        let (alice, bob) = (key(ALICE_D), key(BOB_D));
        let alice_jwk = public_jwk(&alice, "a");
        assert_eq!(
            alice_jwk["x"],
            "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
        );
        assert_eq!(
            alice_jwk["y"],
            "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
        );
        let bob_jwk = public_jwk(&bob, "b");
        assert_eq!(bob_jwk["x"], "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ");
        assert_eq!(bob_jwk["y"], "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck");

        let expected = b64("VqqN6vgjbSBcIijNcacQGg");
        let sender = content_key(&alice, &bob.public_key(), "A128GCM", b"Alice", b"Bob");
        assert_eq!(sender, expected);
        // The recipient derives the same key from its private key and the ephemeral public key.
        let recipient = content_key(&bob, &alice.public_key(), "A128GCM", b"Alice", b"Bob");
        assert_eq!(recipient, expected);

        // The example's header, as a JWE made with Alice's ephemeral key, decrypts for Bob.
        let jwe = encrypt_with(
            b"Live long and prosper.",
            &bob.public_key(),
            "A128GCM",
            None,
            b"Alice",
            b"Bob",
            &alice,
            [7; IV_BYTES],
        )
        .unwrap();
        let header = protected_header(&jwe).unwrap();
        assert_eq!(header["apu"], "QWxpY2U");
        assert_eq!(header["apv"], "Qm9i");
        assert_eq!(header["epk"]["x"], alice_jwk["x"]);
        let decrypted = decrypt(&jwe, &bob, &["A128GCM"]).unwrap();
        assert_eq!(decrypted.plaintext, b"Live long and prosper.");
        assert_eq!(decrypted.header, header);
    }

    #[test]
    fn both_encryptions_round_trip() {
        let recipient = session_key(&[9; 32], "session-1");
        for enc in SUPPORTED_ENC {
            let plaintext = br#"{"vp_token":{"person":["eyJ..."]},"state":"s"}"#;
            let jwe = encrypt(
                plaintext,
                &recipient.public_key(),
                enc,
                Some("session-1"),
                b"wallet nonce",
                b"request nonce",
            )
            .unwrap();
            assert_eq!(jwe.split('.').nth(1), Some(""), "{enc}: no encrypted key");
            let decrypted = decrypt(&jwe, &recipient, &SUPPORTED_ENC).unwrap();
            assert_eq!(decrypted.plaintext, plaintext, "{enc}");
            assert_eq!(decrypted.header["enc"], enc);
            assert_eq!(decrypted.header["kid"], "session-1");
            assert_eq!(decrypted.header["alg"], "ECDH-ES");
            // An empty plaintext, and no apu, apv or kid.
            let empty = encrypt(b"", &recipient.public_key(), enc, None, b"", b"").unwrap();
            let decrypted = decrypt(&empty, &recipient, &[enc]).unwrap();
            assert!(decrypted.plaintext.is_empty());
            assert!(!decrypted.header.contains_key("apu"));
            assert!(!decrypted.header.contains_key("kid"));
        }
    }

    #[test]
    fn a_jwe_for_another_key_or_altered_does_not_decrypt() {
        let secret = [1; 32];
        let ours = session_key(&secret, "ours");
        let theirs = session_key(&secret, "theirs");
        let jwe = encrypt(b"secret", &theirs.public_key(), "A256GCM", None, b"u", b"v").unwrap();
        assert_eq!(
            decrypt(&jwe, &ours, &SUPPORTED_ENC),
            Err(JweError::Decryption)
        );
        assert!(decrypt(&jwe, &theirs, &SUPPORTED_ENC).is_ok());

        let parts: Vec<&str> = jwe.split('.').collect();
        let with = |index: usize, value: &str| {
            let mut changed = parts.clone();
            changed[index] = value;
            changed.join(".")
        };
        let flipped = |part: &str| {
            let mut bytes = b64(part);
            bytes[0] ^= 1;
            URL_SAFE_NO_PAD.encode(bytes)
        };
        // Each of IV, ciphertext and tag altered; the header re-encoded (same JSON, other AAD).
        for index in [2, 3, 4] {
            let altered = with(index, &flipped(parts[index]));
            assert_eq!(
                decrypt(&altered, &theirs, &SUPPORTED_ENC),
                Err(JweError::Decryption),
                "part {index}"
            );
        }
        let mut header = protected_header(&jwe).unwrap();
        header.insert("apv".into(), json!(URL_SAFE_NO_PAD.encode(b"w")));
        let other_apv = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        assert_eq!(
            decrypt(&with(0, &other_apv), &theirs, &SUPPORTED_ENC),
            Err(JweError::Decryption)
        );
        header.insert("apv".into(), json!(URL_SAFE_NO_PAD.encode(b"v")));
        header.insert("extra".into(), json!(1));
        let other_aad = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        assert_eq!(
            decrypt(&with(0, &other_aad), &theirs, &SUPPORTED_ENC),
            Err(JweError::Decryption)
        );
    }

    /// A JWE for `recipient` whose protected header is `edit` applied to a good one.
    fn with_header(recipient: &SecretKey, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let jwe = encrypt(
            b"x",
            &recipient.public_key(),
            "A128GCM",
            Some("k"),
            b"",
            b"",
        )
        .unwrap();
        let mut header = protected_header(&jwe).unwrap();
        edit(&mut header);
        let rest = jwe.split_once('.').unwrap().1;
        format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
        )
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let recipient = session_key(&[2; 32], "s");
        let refused = |jwe: &str| decrypt(jwe, &recipient, &["A128GCM"]).unwrap_err();

        let huge = "a".repeat(MAX_JWE_BYTES + 1);
        assert_eq!(
            refused(&huge),
            JweError::TooLarge {
                size: MAX_JWE_BYTES + 1
            }
        );
        assert_eq!(refused("a.b.c"), JweError::NotCompact { parts: 3 });
        assert_eq!(
            refused("a.b.c").to_string(),
            "not a compact JWE: 3 part(s) separated by `.`, expected 5"
        );
        assert_eq!(
            refused("!!.b.c.d.e"),
            JweError::Base64 {
                part: "protected header"
            }
        );
        let array = URL_SAFE_NO_PAD.encode("[1]");
        assert_eq!(refused(&format!("{array}....")), JweError::Header);

        let edited = |edit: fn(&mut Map<String, Value>)| refused(&with_header(&recipient, edit));
        assert_eq!(
            edited(|h| {
                h.insert("alg".into(), json!("ECDH-ES+A128KW"));
            }),
            JweError::Alg(Some("`ECDH-ES+A128KW`".into()))
        );
        assert_eq!(
            edited(|h| {
                h.remove("alg");
            })
            .to_string(),
            "the JWE header has no `alg`; expected `ECDH-ES`"
        );
        let err = edited(|h| {
            h.insert("enc".into(), json!("A256GCM"));
        });
        assert_eq!(
            err.to_string(),
            "JWE `enc` `A256GCM` is not accepted; expected one of `A128GCM`"
        );
        assert!(matches!(
            edited(|h| {
                h.insert("enc".into(), json!("A128CBC-HS256"));
            }),
            JweError::Enc { .. }
        ));
        assert_eq!(
            edited(|h| {
                h.insert("zip".into(), json!("DEF"));
            }),
            JweError::Compressed
        );
        assert_eq!(
            edited(|h| {
                h.insert("crit".into(), json!(["exp"]));
            }),
            JweError::Critical
        );
        assert_eq!(
            edited(|h| {
                h.remove("epk");
            })
            .to_string(),
            "JWE header `epk` is missing; `ECDH-ES` needs the sender's ephemeral key"
        );
        assert_eq!(
            edited(|h| {
                h.insert("epk".into(), json!("key"));
            }),
            JweError::Epk("is `key`, not a JWK object".into())
        );
        assert_eq!(
            edited(|h| {
                h["epk"]["crv"] = json!("P-384");
            }),
            JweError::Epk("has `crv` `P-384`; expected `P-256`".into())
        );
        assert_eq!(
            edited(|h| {
                h["epk"]["kty"] = json!("OKP");
            }),
            JweError::Epk("has `kty` `OKP`; expected `EC`".into())
        );
        assert_eq!(
            edited(|h| {
                h["epk"]["d"] = json!(BOB_D);
            }),
            JweError::Epk("contains private key material (`d`); it must be a public key".into())
        );
        assert_eq!(
            edited(|h| {
                h["epk"]["x"] = json!("AAAA");
            }),
            JweError::Epk("`x` is not a 32-byte base64url P-256 coordinate".into())
        );
        // A point off the curve: y changed by one bit.
        assert_eq!(
            edited(|h| {
                let y = h["epk"]["y"].as_str().unwrap();
                let mut bytes = URL_SAFE_NO_PAD.decode(y).unwrap();
                bytes[31] ^= 1;
                h["epk"]["y"] = json!(URL_SAFE_NO_PAD.encode(bytes));
            }),
            JweError::Epk("is not a point on the P-256 curve".into())
        );
        assert_eq!(
            edited(|h| {
                h.insert("apu".into(), json!(3));
            }),
            JweError::PartyInfo { member: "apu" }
        );
        assert_eq!(
            edited(|h| {
                h.insert("apv".into(), json!("not base64!"));
            }),
            JweError::PartyInfo { member: "apv" }
        );

        let good = with_header(&recipient, |_| {});
        let parts: Vec<&str> = good.split('.').collect();
        let with = |index: usize, value: &str| {
            let mut changed = parts.clone();
            changed[index] = value;
            changed.join(".")
        };
        assert_eq!(refused(&with(1, "AAAA")), JweError::EncryptedKey);
        assert_eq!(refused(&with(2, "AAAA")), JweError::Iv { len: 3 });
        assert_eq!(refused(&with(4, "AAAA")), JweError::Tag { len: 3 });
        assert_eq!(
            refused(&with(3, "a+b")),
            JweError::Base64 { part: "ciphertext" }
        );
        // The good one decrypts: the refusals above are each for its one change.
        assert_eq!(
            decrypt(&good, &recipient, &["A128GCM"]).unwrap().plaintext,
            b"x"
        );
        // No `enc` allowed at all.
        assert_eq!(
            decrypt(&good, &recipient, &[]).unwrap_err().to_string(),
            "JWE `enc` `A128GCM` is not accepted; expected one of "
        );
    }

    #[test]
    fn encrypt_refuses_an_unsupported_enc() {
        let recipient = session_key(&[3; 32], "s");
        let err = encrypt(
            b"x",
            &recipient.public_key(),
            "A128CBC-HS256",
            None,
            b"",
            b"",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "JWE `enc` `A128CBC-HS256` is not accepted; expected one of `A128GCM`, `A256GCM`"
        );
    }

    #[test]
    fn session_keys_are_stable_and_distinct() {
        let secret = [5; 32];
        let a = session_key(&secret, "a");
        assert_eq!(a, session_key(&secret, "a"));
        assert_ne!(a, session_key(&secret, "b"));
        assert_ne!(a, session_key(&[6; 32], "a"));
        // HKDF-SHA256 with the session as `info`, no salt (RFC 5869).
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(None, &secret)
            .expand(b"a", &mut expected)
            .unwrap();
        assert_eq!(a.to_bytes().as_slice(), expected);
    }

    #[test]
    fn the_public_jwk_is_what_a_wallet_encrypts_to() {
        let key = session_key(&[4; 32], "s");
        let jwk = public_jwk(&key, "enc-1");
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["use"], "enc");
        assert_eq!(jwk["alg"], "ECDH-ES");
        assert_eq!(jwk["kid"], "enc-1");
        assert!(jwk.get("d").is_none());
        let point = json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]});
        let public = PublicKey::from_jwk_str(&point.to_string()).unwrap();
        assert_eq!(public, key.public_key());
    }
}
