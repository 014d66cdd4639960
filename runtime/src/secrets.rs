//! Unguessable values and comparing them: the offer ids and pre-authorised codes the runtime
//! hands out, and the one comparison every secret check uses. (Nonces and access tokens prove
//! their own origin: [`crate::sealed`].)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// An unguessable value (256 bits) for codes and tokens, base64url (43 characters).
///
/// From the thread's cryptographically secure generator (ChaCha, seeded and reseeded from the
/// operating system), which costs no system call per value.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new offer id: the creation time in milliseconds (12 hex digits), then 22 base64url
/// characters (132 random bits).
///
/// The offer's URI carries the id, and whoever has that URI can fetch the offer's pre-authorised
/// code, so the random part makes it as unguessable as a code. The time in front makes ids made
/// close together sort close together: the store's B-trees keyed by offer id take new ids on a
/// few pages instead of a random page each (measured by the serve bench's "store alone": ~30%
/// more issuances per second on SQLite).
pub fn new_offer_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut id = format!("{millis:012x}");
    id.push_str(&random_token()[..22]);
    id
}

/// A secret bound to an offer: `<offer id>.<random token>`. Pre-authorised codes have this form
/// (and access tokens its shape, [`crate::sealed::AccessTokens`]), so the store finds the offer
/// by its key ([`offer_of`]) and compares the whole value in constant time, instead of looking
/// the secret up in an index (whose timing would depend on it).
pub fn offer_secret(offer_id: &str) -> String {
    format!("{offer_id}.{}", random_token())
}

/// The offer an [`offer_secret`] names; `None` for anything else.
pub fn offer_of(secret: &str) -> Option<&str> {
    secret
        .split_once('.')
        .map(|(offer_id, _)| offer_id)
        .filter(|offer_id| !offer_id.is_empty())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{a}"
        );
    }

    #[test]
    fn offer_ids_sort_by_time_and_are_unguessable() {
        let first = new_offer_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_offer_id();
        assert_eq!(first.len(), 34);
        assert!(first < second, "{first} then {second}");
        assert_ne!(first[12..], second[12..]);
        assert!(
            first
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{first}"
        );
        assert_eq!(offer_of(&offer_secret(&first)), Some(first.as_str()));
    }

    #[test]
    fn offer_secrets_name_their_offer() {
        let secret = offer_secret("Xq3Pb7");
        assert_eq!(offer_of(&secret), Some("Xq3Pb7"));
        assert_eq!(secret.len(), "Xq3Pb7.".len() + 43);
        assert_ne!(offer_secret("Xq3Pb7"), secret);
        for other in ["", "no-dot", ".secret"] {
            assert_eq!(offer_of(other), None, "{other}");
        }
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq("493536", "493536"));
        assert!(!constant_time_eq("493536", "493537"));
        assert!(!constant_time_eq("493536", "4935360"));
        assert!(!constant_time_eq("", "0"));
    }
}
