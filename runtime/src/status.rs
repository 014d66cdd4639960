//! IETF Token Status List (draft-ietf-oauth-status-list): revocation of issued credentials.
//!
//! Each revocable credential carries `status.status_list {idx, uri}`; relying parties fetch the
//! signed Status List Token at `uri` and read the entry at `idx`. This module is the codec and
//! the token: a [`StatusList`] packs one status per entry (`bits` = 1, 2, 4 or 8 bits, least
//! significant bit first, bytes in natural order), [`StatusList::encode`] produces the `lst`
//! value (ZLIB/DEFLATE at best compression, base64url without padding) and
//! [`status_list_token`] signs the `statuslist+jwt` with the issuer key. The runtime uses 1-bit
//! lists (VALID/INVALID); wider entries are supported for SUSPENDED (2) and application values.
//! The list is rebuilt from the store when served, so it never needs to be persisted itself.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde_json::{Value, json};

use crate::keys::IssuerKey;

/// Status of a credential that is valid (the initial value of every entry).
pub const VALID: u8 = 0;
/// Status of a revoked credential (irreversible).
pub const INVALID: u8 = 1;
/// Status of a suspended credential (needs `bits` ≥ 2).
pub const SUSPENDED: u8 = 2;

/// The `typ` header of a Status List Token.
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";

/// The media type of a Status List Token in JWT form (what a relying party asks for).
pub const STATUS_LIST_MEDIA_TYPE: &str = "application/statuslist+jwt";

/// The largest decompressed list [`StatusList::decode`] accepts (64 MiB, i.e. 2^29 1-bit
/// entries), so a small hostile `lst` cannot inflate without bound.
pub const MAX_DECODED_BYTES: usize = 64 << 20;

/// A status list: `len()` entries of `bits` bits each, packed LSB first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    entries: usize,
    bytes: Vec<u8>,
}

fn check_bits(bits: u8) -> Result<(), String> {
    match bits {
        1 | 2 | 4 | 8 => Ok(()),
        _ => Err(format!(
            "status list `bits` must be 1, 2, 4 or 8, not {bits}"
        )),
    }
}

impl StatusList {
    /// A list of `entries` entries, all [`VALID`] (0).
    ///
    /// Returns an error (instead of panicking) when `bits` is not 1, 2, 4 or 8, or when the list
    /// would not fit in memory addressing.
    pub fn new(entries: usize, bits: u8) -> Result<StatusList, String> {
        check_bits(bits)?;
        let total_bits = entries
            .checked_mul(usize::from(bits))
            .ok_or_else(|| format!("a status list of {entries} entries is too large"))?;
        Ok(StatusList {
            bits,
            entries,
            bytes: vec![0; total_bits.div_ceil(8)],
        })
    }

    /// Sets entry `idx` to `value`.
    ///
    /// Returns an error (and changes nothing) when `idx` is not below [`StatusList::len`] or
    /// `value` does not fit in `bits` bits.
    pub fn set(&mut self, idx: usize, value: u8) -> Result<(), String> {
        if idx >= self.entries {
            return Err(format!(
                "status list index {idx} is out of range (the list has {} entries)",
                self.entries
            ));
        }
        let mask = self.mask();
        if value > mask {
            return Err(format!(
                "status value {value} does not fit in {} bit(s)",
                self.bits
            ));
        }
        let (byte, shift) = self.position(idx);
        // `position` is in range because idx < entries.
        if let Some(b) = self.bytes.get_mut(byte) {
            *b = (*b & !(mask << shift)) | (value << shift);
        }
        Ok(())
    }

    /// The status of entry `idx`, or `None` when `idx` is out of range.
    pub fn get(&self, idx: usize) -> Option<u8> {
        if idx >= self.entries {
            return None;
        }
        let (byte, shift) = self.position(idx);
        self.bytes.get(byte).map(|b| (b >> shift) & self.mask())
    }

    /// Number of entries. After [`StatusList::decode`] this is the number the bytes can hold
    /// (`8 / bits` per byte), since the encoding does not record a count.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bits per entry (1, 2, 4 or 8).
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The packed bytes (LSB first within each byte).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `lst` value: the packed bytes compressed with ZLIB (DEFLATE, best compression), then
    /// base64url without padding.
    pub fn encode(&self) -> String {
        let mut encoder = ZlibEncoder::new(
            Vec::with_capacity(self.bytes.len() / 8 + 64),
            Compression::best(),
        );
        // Writing to an in-memory Vec cannot fail.
        let compressed = encoder
            .write_all(&self.bytes)
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        URL_SAFE_NO_PAD.encode(compressed)
    }

    /// Decodes an `lst` value (base64url, padding tolerated, then ZLIB) into a list of `bits`-bit
    /// entries. Fails on invalid `bits`, invalid base64url or ZLIB data, and on lists that
    /// decompress to more than [`MAX_DECODED_BYTES`].
    pub fn decode(lst: &str, bits: u8) -> Result<StatusList, String> {
        check_bits(bits)?;
        let compressed = URL_SAFE_NO_PAD
            .decode(lst.trim().trim_end_matches('='))
            .map_err(|e| format!("status list `lst` is not base64url: {e}"))?;
        let mut bytes = Vec::new();
        ZlibDecoder::new(compressed.as_slice())
            .take(MAX_DECODED_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("status list `lst` is not ZLIB-compressed data: {e}"))?;
        if bytes.len() > MAX_DECODED_BYTES {
            return Err(format!(
                "status list `lst` decompresses to more than {MAX_DECODED_BYTES} bytes"
            ));
        }
        let entries = bytes.len() * 8 / usize::from(bits);
        Ok(StatusList {
            bits,
            entries,
            bytes,
        })
    }

    /// Reads the `status_list` claim of a Status List Token, `{"bits": 1|2|4|8, "lst": "…"}`,
    /// as [`StatusList::decode`] does; the error says which member is wrong.
    pub fn from_claim(claim: &Value) -> Result<StatusList, String> {
        let Some(members) = claim.as_object() else {
            return Err("`status_list` is not a JSON object".to_owned());
        };
        let bits = match members.get("bits") {
            Some(bits) => match bits.as_u64() {
                Some(b @ (1 | 2 | 4 | 8)) => b as u8,
                _ => {
                    return Err(format!(
                        "status list `bits` must be 1, 2, 4 or 8, not {bits}"
                    ));
                }
            },
            None => return Err("`status_list` has no `bits`".to_owned()),
        };
        let Some(lst) = members.get("lst").and_then(Value::as_str) else {
            return Err("`status_list` has no string `lst`".to_owned());
        };
        StatusList::decode(lst, bits)
    }

    fn mask(&self) -> u8 {
        // bits ∈ {1, 2, 4, 8}
        (((1u16) << self.bits) - 1) as u8
    }

    /// Byte index and bit offset of entry `idx`.
    fn position(&self, idx: usize) -> (usize, u32) {
        let bit = idx * usize::from(self.bits);
        (bit / 8, (bit % 8) as u32)
    }
}

/// The signed Status List Token (`application/statuslist+jwt`).
///
/// Header: `typ` `statuslist+jwt`, `alg` `ES256`, `kid` (set by [`IssuerKey::sign_jwt`]).
/// Claims: `sub` = `uri` (the URI credentials reference), `iat`, `exp` = `iat + ttl`, `ttl`
/// (how long relying parties may cache it, seconds) and `status_list {bits, lst}`.
pub fn status_list_token(
    key: &IssuerKey,
    kid: &str,
    uri: &str,
    list: &StatusList,
    iat: i64,
    ttl: i64,
) -> String {
    key.sign_jwt_with(
        &json!({"typ": STATUS_LIST_TYP, "kid": kid}),
        &json!({
            "sub": uri,
            "iat": iat,
            "exp": iat.saturating_add(ttl),
            "ttl": ttl,
            "status_list": {"bits": list.bits(), "lst": list.encode()},
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use rand::Rng;

    const ONE_BIT: [u8; 16] = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
    /// draft-ietf-oauth-status-list, "Status List Token with 2-Bit Status Values".
    const TWO_BIT: [u8; 12] = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];

    fn list_of(values: &[u8], bits: u8) -> StatusList {
        let mut list = StatusList::new(values.len(), bits).unwrap();
        for (i, v) in values.iter().enumerate() {
            list.set(i, *v).unwrap();
        }
        list
    }

    #[test]
    fn spec_vector_one_bit() {
        let list = list_of(&ONE_BIT, 1);
        assert_eq!(list.as_bytes(), &[0xB9, 0xA3]);
        // flate2 reproduces the spec's small vector byte for byte.
        assert_eq!(list.encode(), "eNrbuRgAAhcBXQ");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(list.encode()).unwrap(),
            [0x78, 0xda, 0xdb, 0xb9, 0x18, 0x00, 0x02, 0x17, 0x01, 0x5d]
        );

        let decoded = StatusList::decode("eNrbuRgAAhcBXQ", 1).unwrap();
        assert_eq!(decoded.len(), 16);
        let statuses: Vec<u8> = (0..16).map(|i| decoded.get(i).unwrap()).collect();
        assert_eq!(statuses, ONE_BIT);
        assert_eq!(decoded.get(16), None);
    }

    #[test]
    fn spec_vector_two_bits() {
        let list = list_of(&TWO_BIT, 2);
        assert_eq!(list.as_bytes(), &[0xC9, 0x44, 0xF9]);
        let decoded = StatusList::decode("eNo76fITAAPfAgc", 2).unwrap();
        assert_eq!(decoded.as_bytes(), &[0xC9, 0x44, 0xF9]);
        let statuses: Vec<u8> = (0..12).map(|i| decoded.get(i).unwrap()).collect();
        assert_eq!(statuses, TWO_BIT);
        let again = StatusList::decode(&list.encode(), 2).unwrap();
        assert_eq!(again.as_bytes(), list.as_bytes());
    }

    #[test]
    fn four_and_eight_bit_packing() {
        let list = list_of(&[0x1, 0x2, 0xF, 0x0, 0xA], 4);
        assert_eq!(list.as_bytes(), &[0x21, 0x0F, 0x0A]);
        let list = list_of(&[0x00, 0xFF, 0x7E], 8);
        assert_eq!(list.as_bytes(), &[0x00, 0xFF, 0x7E]);
    }

    #[test]
    fn set_overwrites_and_leaves_neighbours_alone() {
        let mut list = StatusList::new(8, 2).unwrap();
        list.set(1, 3).unwrap();
        list.set(2, 2).unwrap();
        list.set(1, 1).unwrap();
        assert_eq!(list.get(0), Some(0));
        assert_eq!(list.get(1), Some(1));
        assert_eq!(list.get(2), Some(2));
        assert_eq!(list.get(3), Some(0));
        list.set(1, VALID).unwrap();
        assert_eq!(list.get(1), Some(VALID));
    }

    #[test]
    fn invalid_input_is_an_error_not_a_panic() {
        for bits in [0, 3, 5, 16] {
            assert!(
                StatusList::new(8, bits)
                    .unwrap_err()
                    .contains("1, 2, 4 or 8")
            );
            assert!(StatusList::decode("eNrbuRgAAhcBXQ", bits).is_err());
        }
        assert!(StatusList::new(usize::MAX, 8).is_err());
        let mut list = StatusList::new(10, 1).unwrap();
        assert!(list.set(10, INVALID).unwrap_err().contains("out of range"));
        assert!(list.set(0, SUSPENDED).unwrap_err().contains("does not fit"));
        assert_eq!(list.as_bytes(), &[0, 0], "failed sets change nothing");
        assert_eq!(list.get(10), None);
        assert_eq!(list.get(usize::MAX), None);
        assert!(
            StatusList::decode("***", 1)
                .unwrap_err()
                .contains("base64url")
        );
        assert!(StatusList::decode("AAAA", 1).unwrap_err().contains("ZLIB"));
        let empty = StatusList::new(0, 1).unwrap();
        assert!(empty.is_empty());
        assert_eq!(StatusList::decode(&empty.encode(), 1).unwrap().len(), 0);
    }

    #[test]
    fn the_status_list_claim_is_read_or_refused_with_its_reason() {
        let list = StatusList::from_claim(&json!({"bits": 2, "lst": "eNo76fITAAPfAgc"})).unwrap();
        assert_eq!((list.bits(), list.get(3)), (2, Some(3)));
        for (claim, reason) in [
            (
                json!("eNrbuRgAAhcBXQ"),
                "`status_list` is not a JSON object",
            ),
            (
                json!({"lst": "eNrbuRgAAhcBXQ"}),
                "`status_list` has no `bits`",
            ),
            (
                json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}),
                "status list `bits` must be 1, 2, 4 or 8, not 3",
            ),
            (
                json!({"bits": "1", "lst": "eNrbuRgAAhcBXQ"}),
                "status list `bits` must be 1, 2, 4 or 8, not \"1\"",
            ),
            (json!({"bits": 1}), "`status_list` has no string `lst`"),
            (
                json!({"bits": 1, "lst": 7}),
                "`status_list` has no string `lst`",
            ),
        ] {
            assert_eq!(StatusList::from_claim(&claim).unwrap_err(), reason);
        }
        assert!(
            StatusList::from_claim(&json!({"bits": 1, "lst": "AAAA"}))
                .unwrap_err()
                .contains("ZLIB")
        );
    }

    #[test]
    fn decompression_is_bounded() {
        // 65 MiB of zeros compresses to a few dozen KiB.
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..65 {
            encoder.write_all(&chunk).unwrap();
        }
        let bomb = URL_SAFE_NO_PAD.encode(encoder.finish().unwrap());
        assert!(
            StatusList::decode(&bomb, 1)
                .unwrap_err()
                .contains("decompresses to more than")
        );
    }

    #[test]
    fn round_trip_of_131072_random_entries() {
        let mut rng = rand::thread_rng();
        for bits in [1u8, 2, 4, 8] {
            let n = 131_072;
            let mut list = StatusList::new(n, bits).unwrap();
            let max = ((1u16 << bits) - 1) as u8;
            let mut expected = vec![0u8; n];
            for _ in 0..5_000 {
                let idx = rng.gen_range(0..n);
                let value = rng.gen_range(0..=max);
                list.set(idx, value).unwrap();
                expected[idx] = value;
            }
            let decoded = StatusList::decode(&list.encode(), bits).unwrap();
            assert_eq!(decoded.len(), n, "bits {bits}");
            assert_eq!(decoded.bits(), bits);
            for (idx, value) in expected.iter().enumerate() {
                assert_eq!(decoded.get(idx), Some(*value), "bits {bits} idx {idx}");
            }
        }
    }

    #[test]
    fn status_list_token_verifies_and_has_the_claims() {
        let key = IssuerKey::generate();
        let mut list = StatusList::new(131_072, 1).unwrap();
        list.set(42, INVALID).unwrap();
        let uri = "https://issuer.example/tenant/status-lists/1";
        let token = status_list_token(&key, key.kid(), uri, &list, 1_750_000_000, 300);

        let jwk: Jwk = serde_json::from_value(key.public_jwk().clone()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .expect("signature verifies");
        assert_eq!(data.header.typ.as_deref(), Some("statuslist+jwt"));
        assert_eq!(data.header.alg, Algorithm::ES256);
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));

        let claims = data.claims;
        assert_eq!(claims["sub"], uri);
        assert_eq!(claims["iat"], 1_750_000_000);
        assert_eq!(claims["exp"], 1_750_000_300);
        assert_eq!(claims["ttl"], 300);
        assert_eq!(claims["status_list"]["bits"], 1);
        let decoded =
            StatusList::decode(claims["status_list"]["lst"].as_str().unwrap(), 1).unwrap();
        assert_eq!(decoded.get(42), Some(INVALID));
        assert_eq!(decoded.get(41), Some(VALID));
        assert_eq!(decoded.len(), 131_072);
    }
}
