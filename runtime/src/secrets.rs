//! Unguessable values and comparing them: the offer ids and pre-authorised codes the runtime
//! hands out, and the one comparison every secret check uses. (Nonces and access tokens prove
//! their own origin: [`crate::sealed`].) And the one rule for every secret file trustc reads (the
//! issuer key, login client secrets, the admin token file): only its owner may read it.

use std::path::Path;

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

/// Compares two secrets in time that does not depend on where they differ, nor on their
/// lengths: both are hashed (SHA-256) and the digests compared with `subtle`'s
/// [`ConstantTimeEq`](subtle::ConstantTimeEq), which the optimiser cannot turn into an early
/// exit.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// Refuses a secret file that its group or others may read, write or run (any of the mode bits
/// `0o077`, as OpenSSH refuses a private key): the message names `what` the file holds, the file,
/// its mode and the fix (`chmod 600 <file>`). Symbolic links are followed (a Kubernetes secret
/// volume links each file; its `defaultMode` must then be `0400` or `0600`). Nothing is checked
/// on systems without Unix permissions.
pub fn check_owner_only(path: &Path, what: &str) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            // Reading it says why (not found, not allowed).
            Err(_) => return Ok(()),
        };
        if mode & 0o077 != 0 {
            let shown = path.display();
            return Err(format!(
                "{what} `{shown}` can be read or changed by users other than its owner (mode \
                 {mode:04o}): a secret file must be the owner's only; run `chmod 600 {shown}`"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
    Ok(())
}

/// Reads the secret file `path` that holds `what`, after [`check_owner_only`]. The message of a
/// file that cannot be read names `what` and the file (never its content).
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, String> {
    check_owner_only(path, what)?;
    std::fs::read_to_string(path)
        .map_err(|e| format!("{what} `{}` could not be read: {e}", path.display()))
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
        assert!(constant_time_eq("", ""));
        // A difference anywhere, a prefix, a longer value, and case are all told apart.
        let token = "admin-token-0123456789abcdef";
        assert!(constant_time_eq(token, &String::from(token)));
        for other in [
            "Admin-token-0123456789abcdef",
            "admin-token-0123456789abcdeF",
            "admin-token-0123456789abcde",
            "admin-token-0123456789abcdef ",
            "admin-token-0123456789abcdefadmin-token-0123456789abcdef",
        ] {
            assert!(!constant_time_eq(token, other), "{other}");
            assert!(!constant_time_eq(other, token), "{other}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_must_be_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        for mode in [0o600, 0o400, 0o700] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(read_secret_file(&path, "the secret").unwrap(), "s3cret\n");
        }
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = read_secret_file(&path, "the secret").unwrap_err();
            let shown = path.display();
            assert_eq!(
                error,
                format!(
                    "the secret `{shown}` can be read or changed by users other than its owner \
                     (mode {mode:04o}): a secret file must be the owner's only; run \
                     `chmod 600 {shown}`"
                )
            );
        }
        let missing = dir.path().join("missing");
        let error = read_secret_file(&missing, "the secret").unwrap_err();
        assert!(
            error.starts_with(&format!(
                "the secret `{}` could not be read",
                missing.display()
            )),
            "{error}"
        );
    }
}
