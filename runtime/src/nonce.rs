//! `c_nonce` values that carry their own proof of origin and expiry.
//!
//! The nonce endpoint is unauthenticated, so a nonce it hands out must cost the issuer nothing to
//! remember: a nonce is `base64url(expiry ‖ 16 random bytes ‖ tag)`, where the tag is a
//! truncated HMAC-SHA256 over the rest under a secret derived from the issuer's signing key
//! ([`IssuerKey::derive_secret`], so every replica sharing the key accepts the nonces of the
//! others). Checking a nonce is then arithmetic; only *spending* one touches the store, in the
//! same atomic step that issues the credential ([`crate::store::Store::issue`]), which is what
//! makes each nonce usable once across instances.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::keys::IssuerKey;

/// What the secret is derived for (changing it invalidates every outstanding nonce).
const PURPOSE: &str = "trustc c_nonce v1";
const EXPIRY: usize = 8;
const RANDOM: usize = 16;
const TAG: usize = 16;
const LENGTH: usize = EXPIRY + RANDOM + TAG;
/// Characters of a nonce: base64url of [`LENGTH`] bytes, without padding.
const ENCODED: usize = (LENGTH * 4).div_ceil(3);

/// Why a nonce is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceError {
    /// Not one this issuer (or a replica sharing its key) handed out.
    Unknown,
    /// Handed out by this issuer, but its lifetime is over.
    Expired,
}

/// Makes and checks nonces.
#[derive(Clone)]
pub struct Nonces {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces")
    }
}

impl Nonces {
    pub fn new(key: &IssuerKey) -> Nonces {
        let secret = key.derive_secret(PURPOSE);
        Nonces {
            mac: Hmac::new_from_slice(&secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        }
    }

    /// A fresh nonce valid until `expires_at` (Unix seconds, exclusive).
    pub fn issue(&self, expires_at: i64) -> String {
        let mut bytes = [0u8; LENGTH];
        bytes[..EXPIRY].copy_from_slice(&expires_at.to_be_bytes());
        rand::thread_rng().fill_bytes(&mut bytes[EXPIRY..EXPIRY + RANDOM]);
        let tag = self.tag(&bytes[..EXPIRY + RANDOM]);
        bytes[EXPIRY + RANDOM..].copy_from_slice(&tag[..TAG]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks that `nonce` is one of ours and still valid at `now`; returns when it expires.
    /// Whether it was already spent is the store's to say.
    pub fn check(&self, nonce: &str, now: i64) -> Result<i64, NonceError> {
        if nonce.len() != ENCODED {
            return Err(NonceError::Unknown);
        }
        let bytes: [u8; LENGTH] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(NonceError::Unknown)?;
        let (signed, tag) = bytes.split_at(EXPIRY + RANDOM);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_truncated_left(tag)
            .map_err(|_| NonceError::Unknown)?;
        let mut expiry = [0u8; EXPIRY];
        expiry.copy_from_slice(&signed[..EXPIRY]);
        let expires_at = i64::from_be_bytes(expiry);
        if expires_at <= now {
            return Err(NonceError::Expired);
        }
        Ok(expires_at)
    }

    fn tag(&self, signed: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.finalize().into_bytes().into()
    }
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
}
