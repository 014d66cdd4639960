//! Values that carry their own proof of origin and expiry: `c_nonce`s and access tokens.
//!
//! A sealed value is `base64url(expiry ‖ 16 random bytes ‖ tag)`, where the tag is a truncated
//! HMAC-SHA256 over the rest (and over what the value is bound to, for an access token its
//! offer) under a secret derived from the issuer's signing key for one purpose
//! ([`IssuerKey::derive_secret`], so every replica sharing the key accepts the values of the
//! others, and a nonce is never taken for a token). Checking one is then arithmetic, with no
//! store involved:
//!
//! - The nonce endpoint is unauthenticated, so a nonce it hands out must cost the issuer nothing
//!   to remember. Only *spending* one touches the store, in the same atomic step that issues the
//!   credential ([`crate::store::Store::issue`]), which is what makes each nonce usable once
//!   across instances.
//! - An access token is `<offer id>.<sealed value>`. The credential endpoint checks it before it
//!   verifies the proof or touches the store, so a caller without a token this issuer handed out
//!   gets neither a signature verification nor a database query. Whether the offer may still be
//!   issued (not revoked, not issued already) is the store's to say in the issuing step itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::keys::IssuerKey;

const EXPIRY: usize = 8;
const RANDOM: usize = 16;
const TAG: usize = 16;
const LENGTH: usize = EXPIRY + RANDOM + TAG;
/// Characters of a sealed value: base64url of [`LENGTH`] bytes, without padding.
const ENCODED: usize = (LENGTH * 4).div_ceil(3);

/// Why a sealed value (a nonce, an access token) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// Not one this issuer (or a replica sharing its key) handed out for this purpose.
    Unknown,
    /// Handed out by this issuer, but its lifetime is over.
    Expired,
}

/// Why a nonce is refused.
pub type NonceError = SealError;

/// Seals and opens values for one purpose.
#[derive(Clone)]
struct Sealer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    /// Changing `purpose` invalidates every value sealed under the old one.
    fn new(key: &IssuerKey, purpose: &str) -> Sealer {
        let secret = key.derive_secret(purpose);
        Sealer {
            mac: Hmac::new_from_slice(&secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        }
    }

    /// A fresh value bound to `bound_to`, valid until `expires_at` (Unix seconds, exclusive).
    fn seal(&self, expires_at: i64, bound_to: &[u8]) -> String {
        let mut bytes = [0u8; LENGTH];
        bytes[..EXPIRY].copy_from_slice(&expires_at.to_be_bytes());
        rand::thread_rng().fill_bytes(&mut bytes[EXPIRY..EXPIRY + RANDOM]);
        let tag = self.tag(&bytes[..EXPIRY + RANDOM], bound_to);
        bytes[EXPIRY + RANDOM..].copy_from_slice(&tag[..TAG]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks that `sealed` was sealed here for `bound_to` and is still valid at `now`; returns
    /// when it expires.
    fn open(&self, sealed: &str, bound_to: &[u8], now: i64) -> Result<i64, SealError> {
        if sealed.len() != ENCODED {
            return Err(SealError::Unknown);
        }
        let bytes: [u8; LENGTH] = URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(SealError::Unknown)?;
        let (signed, tag) = bytes.split_at(EXPIRY + RANDOM);
        self.mac_over(signed, bound_to)
            .verify_truncated_left(tag)
            .map_err(|_| SealError::Unknown)?;
        let mut expiry = [0u8; EXPIRY];
        expiry.copy_from_slice(&signed[..EXPIRY]);
        let expires_at = i64::from_be_bytes(expiry);
        if expires_at <= now {
            return Err(SealError::Expired);
        }
        Ok(expires_at)
    }

    fn tag(&self, signed: &[u8], bound_to: &[u8]) -> [u8; 32] {
        self.mac_over(signed, bound_to)
            .finalize()
            .into_bytes()
            .into()
    }

    /// The MAC over what a tag covers: the sealed bytes before it, then what they are bound to.
    fn mac_over(&self, signed: &[u8], bound_to: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.update(bound_to);
        mac
    }
}

/// Makes and checks `c_nonce`s.
#[derive(Clone, Debug)]
pub struct Nonces {
    sealer: Sealer,
}

impl Nonces {
    pub fn new(key: &IssuerKey) -> Nonces {
        Nonces {
            sealer: Sealer::new(key, "trustc c_nonce v1"),
        }
    }

    /// A fresh nonce valid until `expires_at` (Unix seconds, exclusive).
    pub fn issue(&self, expires_at: i64) -> String {
        self.sealer.seal(expires_at, b"")
    }

    /// Checks that `nonce` is one of ours and still valid at `now`; returns when it expires.
    /// Whether it was already spent is the store's to say.
    pub fn check(&self, nonce: &str, now: i64) -> Result<i64, NonceError> {
        self.sealer.open(nonce, b"", now)
    }
}

/// Makes and checks access tokens: `<offer id>.<sealed value bound to the offer id>`, so
/// [`crate::secrets::offer_of`] names a token's offer as it does a pre-authorised code's. A token
/// bound to a wallet's DPoP key (RFC 9449) carries the key's thumbprint after a second dot,
/// `<offer id>.<sealed value>.<jkt>`, and its seal covers the thumbprint too: the credential
/// endpoint learns from the token alone which key must sign its DPoP proofs, and a thumbprint
/// swapped for another breaks the seal.
#[derive(Clone, Debug)]
pub struct AccessTokens {
    sealer: Sealer,
}

/// An access token that opened: the offer it was handed out for, and the thumbprint of the DPoP
/// key it is bound to (`None`: a bearer token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenedToken<'t> {
    pub offer_id: &'t str,
    pub jkt: Option<&'t str>,
}

impl AccessTokens {
    pub fn new(key: &IssuerKey) -> AccessTokens {
        AccessTokens {
            sealer: Sealer::new(key, "trustc access_token v1"),
        }
    }

    /// A fresh access token for `offer_id`, bound to the DPoP key whose thumbprint is `jkt` when
    /// given, valid until `expires_at` (Unix seconds, exclusive).
    pub fn issue(&self, offer_id: &str, jkt: Option<&str>, expires_at: i64) -> String {
        let sealed = self.sealer.seal(expires_at, &token_binding(offer_id, jkt));
        match jkt {
            None => format!("{offer_id}.{sealed}"),
            Some(jkt) => format!("{offer_id}.{sealed}.{jkt}"),
        }
    }

    /// The offer `token` was handed out for and the key it is bound to, if it is one of ours and
    /// still valid at `now`.
    pub fn check<'t>(&self, token: &'t str, now: i64) -> Result<OpenedToken<'t>, SealError> {
        let (offer_id, rest) = token.split_once('.').ok_or(SealError::Unknown)?;
        let (sealed, jkt) = match rest.split_once('.') {
            None => (rest, None),
            Some((sealed, jkt)) => (sealed, Some(jkt)),
        };
        if offer_id.is_empty() || jkt.is_some_and(|jkt| jkt.is_empty() || jkt.contains('.')) {
            return Err(SealError::Unknown);
        }
        self.sealer
            .open(sealed, &token_binding(offer_id, jkt), now)?;
        Ok(OpenedToken { offer_id, jkt })
    }
}

/// What an access token's seal covers: its offer id, then for a DPoP-bound token a NUL (which no
/// offer id holds) and the key's thumbprint.
fn token_binding(offer_id: &str, jkt: Option<&str>) -> Vec<u8> {
    let mut bound = offer_id.as_bytes().to_vec();
    if let Some(jkt) = jkt {
        bound.push(0);
        bound.extend_from_slice(b"dpop jkt ");
        bound.extend_from_slice(jkt.as_bytes());
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_valid_until_it_expires() {
        let nonces = Nonces::new(&IssuerKey::generate());
        let nonce = nonces.issue(1_000);
        assert_eq!(nonce.len(), ENCODED, "{nonce}");
        assert_eq!(ENCODED, 54);
        assert_eq!(nonces.check(&nonce, 999), Ok(1_000));
        assert_eq!(nonces.check(&nonce, 1_000), Err(NonceError::Expired));
        assert_ne!(nonces.issue(1_000), nonce, "random");
    }

    #[test]
    fn replicas_sharing_the_key_accept_each_others_nonces_and_no_one_else_does() {
        let key = IssuerKey::generate();
        let replica = IssuerKey::from_pem(&key.to_pkcs8_pem()).unwrap();
        let nonce = Nonces::new(&key).issue(1_000);
        assert_eq!(Nonces::new(&replica).check(&nonce, 0), Ok(1_000));
        assert_eq!(
            Nonces::new(&IssuerKey::generate()).check(&nonce, 0),
            Err(NonceError::Unknown)
        );
    }

    #[test]
    fn forged_and_malformed_nonces_are_unknown() {
        let nonces = Nonces::new(&IssuerKey::generate());
        let nonce = nonces.issue(1_000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        // A later expiry with the old tag.
        bytes[EXPIRY - 1] ^= 1;
        let extended = URL_SAFE_NO_PAD.encode(&bytes);
        for forged in [
            extended.as_str(),
            "",
            "never-issued",
            &nonce[..nonce.len() - 1],
            &format!("{nonce}A"),
            "é",
        ] {
            assert_eq!(
                nonces.check(forged, 0),
                Err(NonceError::Unknown),
                "{forged}"
            );
        }
    }

    #[test]
    fn an_access_token_names_its_offer_until_it_expires() {
        let key = IssuerKey::generate();
        let tokens = AccessTokens::new(&key);
        let token = tokens.issue("0190a1b2c3d4Xq3Pb7", None, 1_000);
        let bearer = OpenedToken {
            offer_id: "0190a1b2c3d4Xq3Pb7",
            jkt: None,
        };
        assert_eq!(crate::secrets::offer_of(&token), Some("0190a1b2c3d4Xq3Pb7"));
        assert_eq!(tokens.check(&token, 999), Ok(bearer));
        assert_eq!(tokens.check(&token, 1_000), Err(SealError::Expired));
        assert_ne!(
            tokens.issue("0190a1b2c3d4Xq3Pb7", None, 1_000),
            token,
            "random"
        );
        let replica = IssuerKey::from_pem(&key.to_pkcs8_pem()).unwrap();
        assert_eq!(AccessTokens::new(&replica).check(&token, 0), Ok(bearer));
    }

    #[test]
    fn a_token_moved_to_another_offer_a_nonce_or_a_forgery_is_unknown() {
        let key = IssuerKey::generate();
        let tokens = AccessTokens::new(&key);
        let token = tokens.issue("offer-a", None, 1_000);
        let (_, sealed) = token.split_once('.').unwrap();
        let nonce = Nonces::new(&key).issue(1_000);
        for forged in [
            format!("offer-b.{sealed}"),
            format!("offer-a.{nonce}"),
            format!(".{sealed}"),
            sealed.to_owned(),
            format!("{token}A"),
            "offer-a.".to_owned(),
            String::new(),
        ] {
            assert_eq!(
                tokens.check(&forged, 0),
                Err(SealError::Unknown),
                "{forged}"
            );
        }
        assert_eq!(
            AccessTokens::new(&IssuerKey::generate()).check(&token, 0),
            Err(SealError::Unknown)
        );
        // Nor is a token taken for a nonce.
        assert_eq!(Nonces::new(&key).check(sealed, 0), Err(NonceError::Unknown));
    }

    #[test]
    fn a_dpop_bound_token_names_its_key_and_keeps_it() {
        let key = IssuerKey::generate();
        let tokens = AccessTokens::new(&key);
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let token = tokens.issue("offer-a", Some(jkt), 1_000);
        assert!(token.starts_with("offer-a.") && token.ends_with(&format!(".{jkt}")));
        assert_eq!(crate::secrets::offer_of(&token), Some("offer-a"));
        assert_eq!(
            tokens.check(&token, 999),
            Ok(OpenedToken {
                offer_id: "offer-a",
                jkt: Some(jkt)
            })
        );
        assert_eq!(tokens.check(&token, 1_000), Err(SealError::Expired));
        // Without its thumbprint (a bearer token made of it), with another thumbprint, or with
        // its thumbprint moved onto a bearer token, the seal breaks.
        let (unbound, _) = token.rsplit_once('.').unwrap();
        let bearer = tokens.issue("offer-a", None, 1_000);
        for forged in [
            unbound.to_owned(),
            format!("{unbound}.AAAA{}", &jkt[4..]),
            format!("{bearer}.{jkt}"),
            format!("{token}."),
            format!("{unbound}."),
            format!("{token}.{jkt}"),
        ] {
            assert_eq!(
                tokens.check(&forged, 0),
                Err(SealError::Unknown),
                "{forged}"
            );
        }
    }
}
