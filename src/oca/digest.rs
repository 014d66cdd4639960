//! Self-addressing digests (SAIDs) of Aries OCA 1.0 objects, exactly as bcgov's bundles hold them.
//!
//! This is the 2022-era THCLab `oca-rust` 0.2 scheme, which reproduces every stored capture-base and
//! `spec/overlays/*` digest in bcgov's repository:
//! 1. replace `digest` with 44 `#` characters;
//! 2. order the top-level keys by a fixed list for the object's type, then the remaining keys
//!    sorted; nested maps sorted by key; arrays kept in order;
//! 3. serialise compactly as serde_json does (no whitespace, non-ASCII not escaped);
//! 4. BLAKE3-256, written as `E` + base64url without padding (44 characters).
//!
//! Overlays commit to the capture base through their `capture_base` field, so the capture base's
//! digest must be computed first.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The placeholder that stands in for the digest while it is computed.
const PLACEHOLDER: &str = "############################################";

/// The key order of each object type before the remaining keys (which follow sorted).
fn fixed_order(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "spec/capture_base/1.0" => &[
            "type",
            "digest",
            "classification",
            "attributes",
            "flagged_attributes",
        ],
        "spec/overlays/meta/1.0" => &[
            "capture_base",
            "digest",
            "type",
            "language",
            "name",
            "description",
        ],
        "spec/overlays/label/1.0" => &[
            "capture_base",
            "digest",
            "type",
            "language",
            "attribute_labels",
            "attribute_categories",
            "category_labels",
        ],
        "spec/overlays/character_encoding/1.0" => &[
            "capture_base",
            "digest",
            "type",
            "default_character_encoding",
            "attribute_character_encoding",
        ],
        _ => &["capture_base", "digest", "type", "language"],
    }
}

/// The digest of a capture base or overlay object. The object's own `digest` value is ignored; an
/// object without a `digest` key is hashed as if it had one (the placeholder is always present), so
/// the value is the one to write into it.
pub fn compute(object: &Map<String, Value>) -> String {
    let type_name = object.get("type").and_then(Value::as_str).unwrap_or("");
    let order = fixed_order(type_name);
    let mut rest: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !order.contains(k))
        .collect();
    rest.sort();
    let fixed = order
        .iter()
        .copied()
        .filter(|k| *k == "digest" || object.contains_key(*k));

    let mut bytes = Vec::with_capacity(512);
    bytes.push(b'{');
    for (i, key) in fixed.chain(rest).enumerate() {
        if i > 0 {
            bytes.push(b',');
        }
        serde_json::to_writer(&mut bytes, key).expect("writing to a Vec cannot fail");
        bytes.push(b':');
        if key == "digest" {
            serde_json::to_writer(&mut bytes, PLACEHOLDER).expect("writing to a Vec cannot fail");
        } else {
            write_sorted(&mut bytes, &object[key]);
        }
    }
    bytes.push(b'}');
    encode(blake3::hash(&bytes).as_bytes())
}

/// Writes `value` compactly with object keys sorted at every level. The order is made explicit
/// rather than left to serde_json's map type, whose order changes when any crate in the build
/// enables serde_json's `preserve_order` feature.
fn write_sorted(bytes: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            bytes.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    bytes.push(b',');
                }
                serde_json::to_writer(&mut *bytes, key).expect("writing to a Vec cannot fail");
                bytes.push(b':');
                write_sorted(bytes, value);
            }
            bytes.push(b'}');
        }
        Value::Array(items) => {
            bytes.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    bytes.push(b',');
                }
                write_sorted(bytes, item);
            }
            bytes.push(b']');
        }
        scalar => serde_json::to_writer(&mut *bytes, scalar).expect("writing to a Vec cannot fail"),
    }
}

fn encode(hash: &[u8; 32]) -> String {
    let mut out = String::with_capacity(44);
    out.push('E');
    URL_SAFE_NO_PAD.encode_string(hash, &mut out);
    out
}

/// The example digest printed in Aries RFC 0755, copied into many real bundles.
pub const RFC_0755_EXAMPLE_DIGEST: &str = "EBQbQEV6qSEGDzGLj1CqT4e6yzESjPimF-Swmyltw5jU";

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(json: &str) -> String {
        let value: Value = serde_json::from_str(json).unwrap();
        compute(value.as_object().unwrap())
    }

    // Vectors from bcgov's showcase/student-card bundle (see the reference notes).
    #[test]
    fn capture_base_vector() {
        let json = r#"{"attributes":{"expiry_date":"DateTime","student_first_name":"Text","student_last_name":"Text"},"classification":"","digest":"x","flagged_attributes":["student_last_name","student_first_name"],"type":"spec/capture_base/1.0"}"#;
        assert_eq!(
            digest_of(json),
            "E75sopl65qnoZRwjQQ0FjWGemLlOXcXtanhScZ2CloJY"
        );
    }

    #[test]
    fn format_overlay_vector() {
        let json = r#"{"attribute_formats":{"expiry_date":"YYYYMMDD"},"capture_base":"E75sopl65qnoZRwjQQ0FjWGemLlOXcXtanhScZ2CloJY","digest":"","type":"spec/overlays/format/1.0"}"#;
        assert_eq!(
            digest_of(json),
            "EVKeZx9XY2URist1gx-7XsuwceDuaUv-EIqxfh3UWoTk"
        );
    }

    #[test]
    fn non_ascii_text_is_hashed_unescaped() {
        // The French label overlay of the same bundle.
        let json = r#"{"attribute_categories":[],"attribute_labels":{"expiry_date":"Date d'expiration","student_first_name":"Prénom de l'étudiant","student_last_name":"Nom de famille de l'étudiant"},"capture_base":"E75sopl65qnoZRwjQQ0FjWGemLlOXcXtanhScZ2CloJY","category_labels":{},"digest":"E-MLSlBNMpmYJSKmrFUBYDGCCZM0t0Y_j8hQjyONnHkM","language":"fr","type":"spec/overlays/label/1.0"}"#;
        assert_eq!(
            digest_of(json),
            "E-MLSlBNMpmYJSKmrFUBYDGCCZM0t0Y_j8hQjyONnHkM"
        );
    }

    #[test]
    fn file_key_order_does_not_matter_but_content_does() {
        let a = r#"{"type":"spec/overlays/format/1.0","capture_base":"E1","digest":"","attribute_formats":{"b":"x","a":"y"}}"#;
        let b = r#"{"attribute_formats":{"a":"y","b":"x"},"digest":"other","capture_base":"E1","type":"spec/overlays/format/1.0"}"#;
        assert_eq!(digest_of(a), digest_of(b));
        let c = r#"{"type":"spec/overlays/format/1.0","capture_base":"E2","digest":"","attribute_formats":{"b":"x","a":"y"}}"#;
        assert_ne!(digest_of(a), digest_of(c));
        assert_eq!(digest_of(a).len(), 44);
    }

    #[test]
    fn an_absent_digest_key_hashes_like_an_empty_one() {
        let with = r#"{"type":"spec/overlays/format/1.0","capture_base":"E1","digest":"","attribute_formats":{}}"#;
        let without =
            r#"{"type":"spec/overlays/format/1.0","capture_base":"E1","attribute_formats":{}}"#;
        assert_eq!(digest_of(with), digest_of(without));
    }
}
