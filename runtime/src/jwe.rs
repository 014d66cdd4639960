//! Compact JWE with ECDH-ES on P-256: the encrypted responses a verifier receives, and the
//! encrypted ID tokens and userinfo an OpenID Provider sends the issuer.
//!
//! In OpenID4VP's response mode `direct_post.jwt` the wallet encrypts its response (the
//! `vp_token` and `state`) to a key the verifier published in the request's `client_metadata`,
//! as a compact JWE with `alg: ECDH-ES` (direct key agreement, RFC 7518 §4.6: the content key is
//! derived from an ephemeral-static Diffie-Hellman secret with the Concat KDF, so the encrypted
//! key part is empty) and `enc: A128GCM` or `A256GCM` (RFC 7518 §5.3): [`decrypt`].
//!
//! An OpenID Provider encrypting to the issuer's login key (`GET /login/jwks`) may also wrap a
//! random content key with the derived one (`ECDH-ES+A128KW`, `ECDH-ES+A256KW`: AES Key Wrap,
//! RFC 3394) and encrypt with AES-CBC and HMAC-SHA-2 (`A128CBC-HS256`, oidc-provider's default,
//! and `A256CBC-HS512`, RFC 7518 §5.2): [`decrypt_with`] takes the algorithms the caller allows
//! of [`KEY_AGREEMENTS`] and [`CONTENT_ENCRYPTIONS`]. Everything else is refused with a reason
//! ([`JweError`]); [`encrypt`] and [`encrypt_for`] are the sender's side, for tests.
//!
//! No key is stored for a response: [`session_key`] derives a session's decryption key from a
//! secret every instance sharing the issuer key can derive (`IssuerKey::derive_secret`) and the
//! session's name, so whichever instance receives the response can decrypt it.

use std::fmt;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey, SecretKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::jose::{describe, show};

/// The key management algorithm of [`decrypt`] and [`encrypt`]: ECDH-ES direct key agreement.
pub const ALG: &str = "ECDH-ES";

/// The key management algorithms [`decrypt_with`] implements (RFC 7518 §4.6): direct key
/// agreement, and key agreement with AES Key Wrap of a random content key.
pub const KEY_AGREEMENTS: [&str; 3] = ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"];

/// The AES-GCM content encryptions (RFC 7518 §5.3): what OpenID4VP responses use.
pub const SUPPORTED_ENC: [&str; 2] = ["A128GCM", "A256GCM"];

/// Every content encryption this module implements: AES-GCM and AES-CBC with HMAC-SHA-2
/// (RFC 7518 §5.2).
pub const CONTENT_ENCRYPTIONS: [&str; 4] = ["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"];

/// The largest compact JWE [`decrypt`] reads, in bytes.
pub const MAX_JWE_BYTES: usize = 1 << 20;

/// JWK members that carry private or symmetric key material (RFC 7518 §6).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const IV_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
const CBC_IV_BYTES: usize = 16;

/// The sizes of a content encryption: its key, IV and tag, in bytes.
struct Sizes {
    key: usize,
    iv: usize,
    tag: usize,
}

/// The sizes of `enc` (one of [`CONTENT_ENCRYPTIONS`]).
fn sizes(enc: &str) -> Sizes {
    match enc {
        "A128GCM" => Sizes {
            key: 16,
            iv: IV_BYTES,
            tag: TAG_BYTES,
        },
        "A256GCM" => Sizes {
            key: 32,
            iv: IV_BYTES,
            tag: TAG_BYTES,
        },
        "A128CBC-HS256" => Sizes {
            key: 32,
            iv: CBC_IV_BYTES,
            tag: 16,
        },
        _ => Sizes {
            key: 64,
            iv: CBC_IV_BYTES,
            tag: 32,
        },
    }
}

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
    /// `alg` is missing (`None`) or not one of the allowed algorithms (the value, described).
    Alg {
        alg: Option<String>,
        allowed: Vec<String>,
    },
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
    /// The wrapped key (key agreement with key wrapping) is not the size the `enc` needs.
    WrappedKey { len: usize, expected: usize },
    /// The ephemeral public key `epk` is missing or unusable; the reason says how.
    Epk(String),
    /// `apu` or `apv` is not a base64url string.
    PartyInfo { member: &'static str },
    /// The initialization vector is not the size the `enc` takes.
    Iv { len: usize, expected: usize },
    /// The authentication tag is not the size the `enc` makes.
    Tag { len: usize, expected: usize },
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
            JweError::Alg { alg, allowed } => {
                let expected = match allowed.as_slice() {
                    [one] => format!("`{}`", show(one)),
                    _ => format!(
                        "one of {}",
                        allowed
                            .iter()
                            .map(|a| format!("`{}`", show(a)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                match alg {
                    None => write!(f, "the JWE header has no `alg`; expected {expected}"),
                    Some(alg) => write!(f, "JWE `alg` {alg} is not accepted; expected {expected}"),
                }
            }
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
            JweError::WrappedKey { len, expected } => write!(
                f,
                "the JWE encrypted key is {len} bytes long; the wrapped content key takes \
                 {expected}"
            ),
            JweError::Epk(reason) => write!(f, "JWE header `epk` {reason}"),
            JweError::PartyInfo { member } => {
                write!(f, "JWE header `{member}` is not a base64url string")
            }
            JweError::Iv { len, expected } => write!(
                f,
                "the JWE initialization vector is {len} bytes long; its `enc` takes {expected}"
            ),
            JweError::Tag { len, expected } => write!(
                f,
                "the JWE authentication tag is {len} bytes long; its `enc` makes {expected}"
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
/// [`CONTENT_ENCRYPTIONS`]): [`decrypt_with`] for direct key agreement only.
pub fn decrypt(
    compact: &str,
    recipient: &SecretKey,
    allowed_enc: &[&str],
) -> Result<Decrypted, JweError> {
    decrypt_with(compact, recipient, &[ALG], allowed_enc)
}

/// Decrypts a compact JWE encrypted to `recipient` with one of `allowed_alg` (of
/// [`KEY_AGREEMENTS`]) and one of `allowed_enc` (of [`CONTENT_ENCRYPTIONS`]).
///
/// Refused, each with its own [`JweError`]: more than [`MAX_JWE_BYTES`]; not five parts; bad
/// base64url or header JSON; `alg` or `enc` not allowed; `zip`; any `crit`; `epk` missing, not a
/// P-256 `EC` key, not on the curve or with private members; `apu`/`apv` not base64url; an
/// encrypted key with direct key agreement, or a wrapped key of the wrong size; an IV or tag of
/// the wrong size; a key that does not unwrap or a tag that does not match (another key, or a
/// change to any part). The AAD is the protected header part as sent.
pub fn decrypt_with(
    compact: &str,
    recipient: &SecretKey,
    allowed_alg: &[&str],
    allowed_enc: &[&str],
) -> Result<Decrypted, JweError> {
    let parts = split(compact)?;
    let header = parse_header(parts[0])?;

    let alg = match header.get("alg") {
        Some(Value::String(alg))
            if allowed_alg.contains(&alg.as_str()) && KEY_AGREEMENTS.contains(&alg.as_str()) =>
        {
            alg.as_str()
        }
        other => {
            return Err(JweError::Alg {
                alg: other.map(describe),
                allowed: supported(allowed_alg, &KEY_AGREEMENTS),
            });
        }
    };
    let enc = match header.get("enc") {
        Some(Value::String(enc))
            if allowed_enc.contains(&enc.as_str())
                && CONTENT_ENCRYPTIONS.contains(&enc.as_str()) =>
        {
            enc.as_str()
        }
        other => {
            return Err(JweError::Enc {
                enc: other.map(describe),
                allowed: supported(allowed_enc, &CONTENT_ENCRYPTIONS),
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

    let sizes = sizes(enc);
    let wrapped = decode(parts[1], "encrypted key")?;
    let key = match key_wrap_bytes(alg) {
        None => {
            if !wrapped.is_empty() {
                return Err(JweError::EncryptedKey);
            }
            concat_kdf(recipient, &epk, enc, sizes.key, &apu, &apv)
        }
        Some(kek_bytes) => {
            // AES Key Wrap adds one 8-byte block to the key it wraps.
            let expected = sizes.key + 8;
            if wrapped.len() != expected {
                return Err(JweError::WrappedKey {
                    len: wrapped.len(),
                    expected,
                });
            }
            let kek = concat_kdf(recipient, &epk, alg, kek_bytes, &apu, &apv);
            unwrap_key(&kek, &wrapped)?
        }
    };
    let iv = decode(parts[2], "initialization vector")?;
    if iv.len() != sizes.iv {
        return Err(JweError::Iv {
            len: iv.len(),
            expected: sizes.iv,
        });
    }
    let ciphertext = decode(parts[3], "ciphertext")?;
    let tag = decode(parts[4], "authentication tag")?;
    if tag.len() != sizes.tag {
        return Err(JweError::Tag {
            len: tag.len(),
            expected: sizes.tag,
        });
    }
    let plaintext = open(enc, &key, &iv, parts[0].as_bytes(), ciphertext, &tag)?;
    Ok(Decrypted { header, plaintext })
}

/// The names of `allowed` this module implements (of `implemented`), for an error.
fn supported(allowed: &[&str], implemented: &[&str]) -> Vec<String> {
    allowed
        .iter()
        .filter(|a| implemented.contains(a))
        .map(|a| (*a).to_owned())
        .collect()
}

/// The size of the key-encryption key of a key-wrapping `alg`, in bytes; `None` for direct key
/// agreement.
fn key_wrap_bytes(alg: &str) -> Option<usize> {
    match alg {
        "ECDH-ES+A128KW" => Some(16),
        "ECDH-ES+A256KW" => Some(32),
        _ => None,
    }
}

/// Unwraps a content key with AES Key Wrap (RFC 3394); a failed integrity check is a
/// [`JweError::Decryption`].
fn unwrap_key(kek: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, JweError> {
    let unwrapped = match kek.len() {
        16 => aes_kw::KekAes128::try_from(kek).map(|k| k.unwrap_vec(wrapped)),
        _ => aes_kw::KekAes256::try_from(kek).map(|k| k.unwrap_vec(wrapped)),
    };
    match unwrapped {
        Ok(Ok(key)) => Ok(key),
        _ => Err(JweError::Decryption),
    }
}

/// Wraps a content key with AES Key Wrap (RFC 3394).
fn wrap_key(kek: &[u8], key: &[u8]) -> Result<Vec<u8>, JweError> {
    let wrapped = match kek.len() {
        16 => aes_kw::KekAes128::try_from(kek).map(|k| k.wrap_vec(key)),
        _ => aes_kw::KekAes256::try_from(kek).map(|k| k.wrap_vec(key)),
    };
    match wrapped {
        Ok(Ok(wrapped)) => Ok(wrapped),
        _ => Err(JweError::Decryption),
    }
}

type HmacSha256 = Hmac<Sha256>;
type HmacSha512 = Hmac<Sha512>;

/// The input of the AES-CBC + HMAC-SHA-2 tag (RFC 7518 §5.2.2.1), fed to `mac`: the AAD, the
/// IV, the ciphertext and the AAD's length in bits.
fn cbc_mac_input<M: Mac>(mut mac: M, aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> M {
    let aad_bits = u64::try_from(aad.len())
        .unwrap_or(u64::MAX)
        .saturating_mul(8)
        .to_be_bytes();
    for input in [aad, iv, ciphertext, &aad_bits] {
        mac.update(input);
    }
    mac
}

/// The AES-CBC + HMAC-SHA-2 tag: the first half of the HMAC under the key's first half.
fn cbc_tag(enc: &str, mac_key: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail.
    match enc {
        "A128CBC-HS256" => <HmacSha256 as Mac>::new_from_slice(mac_key).map(|mac| {
            cbc_mac_input(mac, aad, iv, ciphertext)
                .finalize()
                .into_bytes()[..16]
                .to_vec()
        }),
        _ => <HmacSha512 as Mac>::new_from_slice(mac_key).map(|mac| {
            cbc_mac_input(mac, aad, iv, ciphertext)
                .finalize()
                .into_bytes()[..32]
                .to_vec()
        }),
    }
    .unwrap_or_default()
}

/// Whether `tag` is the AES-CBC + HMAC-SHA-2 tag, compared in constant time.
fn cbc_tag_matches(
    enc: &str,
    mac_key: &[u8],
    (aad, iv, ciphertext): (&[u8], &[u8], &[u8]),
    tag: &[u8],
) -> bool {
    match enc {
        "A128CBC-HS256" => <HmacSha256 as Mac>::new_from_slice(mac_key).is_ok_and(|mac| {
            cbc_mac_input(mac, aad, iv, ciphertext)
                .verify_truncated_left(tag)
                .is_ok()
        }),
        _ => <HmacSha512 as Mac>::new_from_slice(mac_key).is_ok_and(|mac| {
            cbc_mac_input(mac, aad, iv, ciphertext)
                .verify_truncated_left(tag)
                .is_ok()
        }),
    }
}

/// Authenticates and decrypts: AES-GCM, or AES-CBC whose HMAC tag is checked (in constant
/// time) before anything is decrypted, then its PKCS #7 padding removed.
fn open(
    enc: &str,
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    mut ciphertext: Vec<u8>,
    tag: &[u8],
) -> Result<Vec<u8>, JweError> {
    match enc {
        "A128GCM" | "A256GCM" => {
            ciphertext.extend_from_slice(tag);
            let payload = Payload {
                msg: &ciphertext,
                aad,
            };
            let nonce = Nonce::from_slice(iv);
            match enc {
                "A128GCM" => Aes128Gcm::new_from_slice(key).map(|c| c.decrypt(nonce, payload)),
                _ => Aes256Gcm::new_from_slice(key).map(|c| c.decrypt(nonce, payload)),
            }
            .map_err(|_| JweError::Decryption)?
            .map_err(|_| JweError::Decryption)
        }
        _ => {
            let (mac_key, enc_key) = key.split_at(key.len() / 2);
            // The tag half the HMAC's size, and the key the `enc`'s (a wrapped key's size was
            // checked, a derived one is made so): anything else does not decrypt.
            if tag.len() != mac_key.len()
                || !cbc_tag_matches(enc, mac_key, (aad, iv, &ciphertext), tag)
            {
                return Err(JweError::Decryption);
            }
            if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
                return Err(JweError::Decryption);
            }
            let mut plaintext = ciphertext;
            let decrypted = match enc_key.len() {
                16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(enc_key, iv)
                    .map(|mut d| cbc_blocks(&mut plaintext, |b| d.decrypt_block_mut(b))),
                _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, iv)
                    .map(|mut d| cbc_blocks(&mut plaintext, |b| d.decrypt_block_mut(b))),
            };
            if decrypted.is_err() {
                return Err(JweError::Decryption);
            }
            // PKCS #7: the last byte says how many bytes of padding there are, 1 to 16.
            let padding = plaintext.last().copied().unwrap_or(0) as usize;
            let valid = (1..=16).contains(&padding)
                && plaintext[plaintext.len() - padding..]
                    .iter()
                    .all(|b| *b as usize == padding);
            if !valid {
                return Err(JweError::Decryption);
            }
            plaintext.truncate(plaintext.len() - padding);
            Ok(plaintext)
        }
    }
}

/// Runs `block` over each 16-byte block of `data` (a whole number of blocks), in order.
fn cbc_blocks(
    data: &mut [u8],
    mut block: impl FnMut(&mut GenericArray<u8, aes::cipher::consts::U16>),
) {
    for chunk in data.chunks_exact_mut(16) {
        block(GenericArray::from_mut_slice(chunk));
    }
}

/// Encrypts: AES-GCM, or AES-CBC with PKCS #7 padding and its HMAC tag. Returns the ciphertext
/// and the tag.
fn seal(
    enc: &str,
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), JweError> {
    match enc {
        "A128GCM" | "A256GCM" => {
            let payload = Payload {
                msg: plaintext,
                aad,
            };
            let nonce = Nonce::from_slice(iv);
            let sealed = match enc {
                "A128GCM" => Aes128Gcm::new_from_slice(key).map(|c| c.encrypt(nonce, payload)),
                _ => Aes256Gcm::new_from_slice(key).map(|c| c.encrypt(nonce, payload)),
            }
            // The key has the cipher's length, and AES-GCM encrypts up to 64 GiB.
            .map_err(|_| JweError::Decryption)?
            .map_err(|_| JweError::Decryption)?;
            let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
            Ok((ciphertext.to_vec(), tag.to_vec()))
        }
        _ => {
            let (mac_key, enc_key) = key.split_at(key.len() / 2);
            let padding = 16 - plaintext.len() % 16;
            let mut padded = plaintext.to_vec();
            padded.extend(std::iter::repeat_n(padding as u8, padding));
            match enc_key.len() {
                16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(enc_key, iv)
                    .map(|mut e| cbc_blocks(&mut padded, |b| e.encrypt_block_mut(b))),
                _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(enc_key, iv)
                    .map(|mut e| cbc_blocks(&mut padded, |b| e.encrypt_block_mut(b))),
            }
            .map_err(|_| JweError::Decryption)?;
            let tag = cbc_tag(enc, mac_key, aad, iv, &padded);
            Ok((padded, tag))
        }
    }
}

/// Encrypts `plaintext` to `recipient` as a compact JWE: `alg: ECDH-ES` with a fresh ephemeral
/// key, `enc` (of [`CONTENT_ENCRYPTIONS`]), and `kid`, `apu`, `apv` in the header when given
/// (non-empty). The wallet's side of `direct_post.jwt`, for tests.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &PublicKey,
    enc: &str,
    kid: Option<&str>,
    apu: &[u8],
    apv: &[u8],
) -> Result<String, JweError> {
    let sender = Sender {
        alg: ALG,
        enc,
        kid,
        cty: None,
        apu,
        apv,
    };
    encrypt_as(plaintext, recipient, &sender)
}

/// Encrypts `plaintext` to `recipient` as a compact JWE with `alg` (of [`KEY_AGREEMENTS`]) and
/// `enc` (of [`CONTENT_ENCRYPTIONS`]), a fresh ephemeral key (and content key, when wrapped), and
/// `kid` and `cty` in the header when given: an OpenID Provider's side of an encrypted ID token
/// (`cty: JWT`), for tests.
pub fn encrypt_for(
    plaintext: &[u8],
    recipient: &PublicKey,
    alg: &str,
    enc: &str,
    kid: Option<&str>,
    cty: Option<&str>,
) -> Result<String, JweError> {
    let sender = Sender {
        alg,
        enc,
        kid,
        cty,
        apu: b"",
        apv: b"",
    };
    encrypt_as(plaintext, recipient, &sender)
}

/// What a sender puts in a JWE's header.
struct Sender<'a> {
    alg: &'a str,
    enc: &'a str,
    kid: Option<&'a str>,
    cty: Option<&'a str>,
    apu: &'a [u8],
    apv: &'a [u8],
}

/// [`encrypt_with`] with a fresh ephemeral key, IV and (wrapped) content key.
fn encrypt_as(
    plaintext: &[u8],
    recipient: &PublicKey,
    sender: &Sender,
) -> Result<String, JweError> {
    let ephemeral = SecretKey::random(&mut rand::rngs::OsRng);
    let mut iv = [0u8; CBC_IV_BYTES];
    let mut cek = [0u8; 64];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut cek);
    let sizes = sizes(sender.enc);
    let iv = iv.get(..sizes.iv).unwrap_or_default();
    let cek = cek.get(..sizes.key).unwrap_or_default();
    encrypt_with(plaintext, recipient, sender, &ephemeral, iv, cek)
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

/// Encrypts with a given ephemeral key, IV and content key (`cek`, used only when the key is
/// wrapped; direct key agreement derives it), fixed in the tests.
fn encrypt_with(
    plaintext: &[u8],
    recipient: &PublicKey,
    sender: &Sender,
    ephemeral: &SecretKey,
    iv: &[u8],
    cek: &[u8],
) -> Result<String, JweError> {
    let Sender {
        alg,
        enc,
        kid,
        cty,
        apu,
        apv,
    } = *sender;
    if !KEY_AGREEMENTS.contains(&alg) {
        return Err(JweError::Alg {
            alg: Some(format!("`{}`", show(alg))),
            allowed: KEY_AGREEMENTS.iter().map(|a| (*a).to_owned()).collect(),
        });
    }
    if !CONTENT_ENCRYPTIONS.contains(&enc) {
        return Err(JweError::Enc {
            enc: Some(format!("`{}`", show(enc))),
            allowed: CONTENT_ENCRYPTIONS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
        });
    }
    let mut header = Map::new();
    header.insert("alg".into(), json!(alg));
    header.insert("enc".into(), json!(enc));
    if let Some(kid) = kid {
        header.insert("kid".into(), json!(kid));
    }
    if let Some(cty) = cty {
        header.insert("cty".into(), json!(cty));
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

    let key_bytes = sizes(enc).key;
    let (key, wrapped) = match key_wrap_bytes(alg) {
        None => (
            concat_kdf(ephemeral, recipient, enc, key_bytes, apu, apv),
            Vec::new(),
        ),
        Some(kek_bytes) => {
            let kek = concat_kdf(ephemeral, recipient, alg, kek_bytes, apu, apv);
            (cek.to_vec(), wrap_key(&kek, cek)?)
        }
    };
    let (ciphertext, tag) = seal(enc, &key, iv, protected.as_bytes(), plaintext)?;
    Ok(format!(
        "{protected}.{}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(wrapped),
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

/// The key ECDH-ES derives (RFC 7518 §4.6.2): the Concat KDF (NIST SP 800-56A §5.8.1) with
/// SHA-256 over the shared secret `Z`, with AlgorithmID `algorithm` (the `enc` for direct key
/// agreement, the `alg` when the derived key wraps the content key), PartyUInfo `apu`,
/// PartyVInfo `apv` (each length-prefixed), SuppPubInfo the key length in bits, no SuppPrivInfo;
/// `key_bytes` long (at most 64). `ours` and `theirs` are either side's private and public key.
fn concat_kdf(
    ours: &SecretKey,
    theirs: &PublicKey,
    algorithm: &str,
    key_bytes: usize,
    apu: &[u8],
    apv: &[u8],
) -> Vec<u8> {
    let shared = p256::ecdh::diffie_hellman(ours.to_nonzero_scalar(), theirs.as_affine());
    let key_bits = u32::try_from(key_bytes * 8).unwrap_or(u32::MAX);
    let prefixed = |data: &[u8], hash: &mut Sha256| {
        // Header members are bounded by MAX_JWE_BYTES, far below 2^32.
        hash.update(u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
        hash.update(data);
    };
    // One round of SHA-256 per 256 bits, the round counter first.
    let mut key = Vec::with_capacity(key_bytes + 32);
    let mut round: u32 = 1;
    while key.len() < key_bytes {
        let mut hash = Sha256::new();
        hash.update(round.to_be_bytes());
        hash.update(shared.raw_secret_bytes());
        prefixed(algorithm.as_bytes(), &mut hash);
        prefixed(apu, &mut hash);
        prefixed(apv, &mut hash);
        hash.update(key_bits.to_be_bytes());
        key.extend_from_slice(&hash.finalize());
        round += 1;
    }
    key.truncate(key_bytes);
    key
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
        let sender = concat_kdf(&alice, &bob.public_key(), "A128GCM", 16, b"Alice", b"Bob");
        assert_eq!(sender, expected);
        // The recipient derives the same key from its private key and the ephemeral public key.
        let recipient = concat_kdf(&bob, &alice.public_key(), "A128GCM", 16, b"Alice", b"Bob");
        assert_eq!(recipient, expected);
        // A longer key is more rounds of the same hash: its first 16 bytes are not these.
        let long = concat_kdf(&bob, &alice.public_key(), "A128GCM", 64, b"Alice", b"Bob");
        assert_eq!(long.len(), 64);
        assert_ne!(long[..16], expected[..]);

        // The example's header, as a JWE made with Alice's ephemeral key, decrypts for Bob.
        let sender = Sender {
            alg: ALG,
            enc: "A128GCM",
            kid: None,
            cty: None,
            apu: b"Alice",
            apv: b"Bob",
        };
        let jwe = encrypt_with(
            b"Live long and prosper.",
            &bob.public_key(),
            &sender,
            &alice,
            &[7; IV_BYTES],
            &[],
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
            JweError::Alg {
                alg: Some("`ECDH-ES+A128KW`".into()),
                allowed: vec!["ECDH-ES".into()]
            }
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
        assert_eq!(
            refused(&with(2, "AAAA")),
            JweError::Iv {
                len: 3,
                expected: 12
            }
        );
        assert_eq!(
            refused(&with(4, "AAAA")),
            JweError::Tag {
                len: 3,
                expected: 16
            }
        );
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
        let err = encrypt(b"x", &recipient.public_key(), "A192GCM", None, b"", b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "JWE `enc` `A192GCM` is not accepted; expected one of `A128GCM`, `A256GCM`, \
             `A128CBC-HS256`, `A256CBC-HS512`"
        );
        let err = encrypt_for(
            b"x",
            &recipient.public_key(),
            "RSA-OAEP",
            "A128GCM",
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "JWE `alg` `RSA-OAEP` is not accepted; expected one of `ECDH-ES`, `ECDH-ES+A128KW`, \
             `ECDH-ES+A256KW`"
        );
    }

    /// RFC 7520 §5.5: ECDH-ES with AES_128_CBC_HMAC_SHA_256, to Meriadoc's P-256 key.
    #[test]
    fn the_rfc7520_cbc_hmac_example_decrypts() {
        let meriadoc = key("r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8");
        let jwe = "eyJhbGciOiJFQ0RILUVTIiwia2lkIjoibWVyaWFkb2MuYnJhbmR5YnVja0BidWNrbGFuZC5leGFtcGxlIiwiZXBrIjp7Imt0eSI6IkVDIiwiY3J2IjoiUC0yNTYiLCJ4IjoibVBVS1RfYkFXR0hJaGcwVHBqanFWc1AxclhXUXVfdndWT0hIdE5rZFlvQSIsInkiOiI4QlFBc0ltR2VBUzQ2ZnlXdzVNaFlmR1RUMElqQnBGdzJTUzM0RHY0SXJzIn0sImVuYyI6IkExMjhDQkMtSFMyNTYifQ..yc9N8v5sYyv3iGQT926IUg.BoDlwPnTypYq-ivjmQvAYJLb5Q6l-F3LIgQomlz87yW4OPKbWE1zSTEFjDfhU9IPIOSA9Bml4m7iDFwA-1ZXvHteLDtw4R1XRGMEsDIqAYtskTTmzmzNa-_q4F_evAPUmwlO-ZG45Mnq4uhM1fm_D9rBtWolqZSF3xGNNkpOMQKF1Cl8i8wjzRli7-IXgyirlKQsbhhqRzkv8IcY6aHl24j03C-AR2le1r7URUhArM79BY8soZU0lzwI-sD5PZ3l4NDCCei9XkoIAfsXJWmySPoeRb2Ni5UZL4mYpvKDiwmyzGd65KqVw7MsFfI_K767G9C9Azp73gKZD0DyUn1mn0WW5LmyX_yJ-3AROq8p1WZBfG-ZyJ6195_JGG2m9Csg.WCCkNa-x4BeB9hIDIfFuhg";
        let plaintext = "You can trust us to stick with you through thick and thin\u{2013}to the \
                         bitter end. And you can trust us to keep any secret of yours\u{2013}closer \
                         than you keep it yourself. But you cannot trust us to let you face \
                         trouble alone, and go off without a word. We are your friends, Frodo.";
        let decrypted = decrypt_with(jwe, &meriadoc, &["ECDH-ES"], &["A128CBC-HS256"]).unwrap();
        assert_eq!(String::from_utf8(decrypted.plaintext).unwrap(), plaintext);
        assert_eq!(
            decrypted.header["kid"],
            "meriadoc.brandybuck@buckland.example"
        );
        // The same JWE, with the last byte of its tag changed, does not decrypt.
        let altered = format!("{}A", &jwe[..jwe.len() - 1]);
        assert_eq!(
            decrypt_with(&altered, &meriadoc, &["ECDH-ES"], &["A128CBC-HS256"]),
            Err(JweError::Decryption)
        );
        // Not allowed by the caller: refused before anything is derived.
        assert!(matches!(
            decrypt(jwe, &meriadoc, &SUPPORTED_ENC),
            Err(JweError::Enc { .. })
        ));
    }

    #[test]
    fn every_key_agreement_and_content_encryption_round_trips() {
        let recipient = session_key(&[8; 32], "login");
        let other = session_key(&[8; 32], "someone else");
        for alg in KEY_AGREEMENTS {
            for enc in CONTENT_ENCRYPTIONS {
                // Lengths around the CBC block size: padding of 16, 1 and 15 bytes.
                for length in [0, 15, 16, 33] {
                    let plaintext: Vec<u8> = (0..length).map(|i| i as u8).collect();
                    let jwe = encrypt_for(
                        &plaintext,
                        &recipient.public_key(),
                        alg,
                        enc,
                        Some("login-1"),
                        Some("JWT"),
                    )
                    .unwrap();
                    let wrapped = jwe.split('.').nth(1).unwrap();
                    assert_eq!(wrapped.is_empty(), alg == ALG, "{alg} {enc}");
                    let decrypted =
                        decrypt_with(&jwe, &recipient, &KEY_AGREEMENTS, &CONTENT_ENCRYPTIONS)
                            .unwrap();
                    assert_eq!(decrypted.plaintext, plaintext, "{alg} {enc} {length}");
                    assert_eq!(decrypted.header["cty"], "JWT");
                    assert_eq!(
                        decrypt_with(&jwe, &other, &KEY_AGREEMENTS, &CONTENT_ENCRYPTIONS),
                        Err(JweError::Decryption),
                        "{alg} {enc}: another key"
                    );
                    // Any part changed: header (AAD), wrapped key, IV, ciphertext, tag.
                    let parts: Vec<&str> = jwe.split('.').collect();
                    for index in 1..5 {
                        if parts[index].is_empty() {
                            continue;
                        }
                        let mut bytes = b64(parts[index]);
                        bytes[0] ^= 0x80;
                        let mut changed = parts.clone();
                        let encoded = URL_SAFE_NO_PAD.encode(bytes);
                        changed[index] = &encoded;
                        assert_eq!(
                            decrypt_with(
                                &changed.join("."),
                                &recipient,
                                &KEY_AGREEMENTS,
                                &CONTENT_ENCRYPTIONS
                            ),
                            Err(JweError::Decryption),
                            "{alg} {enc} {length}: part {index} changed"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn key_wrapping_refusals_have_their_reasons() {
        let recipient = session_key(&[6; 32], "login");
        let jwe = encrypt_for(
            b"x",
            &recipient.public_key(),
            "ECDH-ES+A128KW",
            "A128CBC-HS256",
            None,
            None,
        )
        .unwrap();
        // Not allowed by the caller.
        assert_eq!(
            decrypt_with(
                &jwe,
                &recipient,
                &["ECDH-ES", "ECDH-ES+A256KW"],
                &CONTENT_ENCRYPTIONS
            )
            .unwrap_err()
            .to_string(),
            "JWE `alg` `ECDH-ES+A128KW` is not accepted; expected one of `ECDH-ES`, \
             `ECDH-ES+A256KW`"
        );
        // A wrapped key of the wrong size; none at all.
        let parts: Vec<&str> = jwe.split('.').collect();
        let with_key = |key: &str| {
            let mut changed = parts.clone();
            changed[1] = key;
            changed.join(".")
        };
        assert_eq!(
            decrypt_with(
                &with_key("AAAA"),
                &recipient,
                &KEY_AGREEMENTS,
                &CONTENT_ENCRYPTIONS
            ),
            Err(JweError::WrappedKey {
                len: 3,
                expected: 40
            })
        );
        assert_eq!(
            decrypt_with(
                &with_key(""),
                &recipient,
                &KEY_AGREEMENTS,
                &CONTENT_ENCRYPTIONS
            )
            .unwrap_err()
            .to_string(),
            "the JWE encrypted key is 0 bytes long; the wrapped content key takes 40"
        );
        // A CBC IV of GCM's size.
        let mut changed = parts.clone();
        let short_iv = URL_SAFE_NO_PAD.encode([0u8; 12]);
        changed[2] = &short_iv;
        assert_eq!(
            decrypt_with(
                &changed.join("."),
                &recipient,
                &KEY_AGREEMENTS,
                &CONTENT_ENCRYPTIONS
            ),
            Err(JweError::Iv {
                len: 12,
                expected: 16
            })
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
