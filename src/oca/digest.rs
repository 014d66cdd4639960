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
use serde_json::Value;

use crate::syntax::{Node, Value as NodeValue};

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

/// A JSON value as the digest algorithm reads it. Implemented for `serde_json::Value` (objects
/// trustc builds) and for the spanned tree (objects read from files, hashed without a copy).
pub trait JsonView {
    /// The members, when this is an object.
    fn members(&self) -> Option<Vec<(&str, &Self)>>;
    /// The items, when this is an array.
    fn items(&self) -> Option<Vec<&Self>>;
    /// The string, when this is a string.
    fn text(&self) -> Option<&str>;
    /// Writes a scalar (string, number, boolean, null) as serde_json does.
    fn write_scalar(&self, bytes: &mut Vec<u8>);
}

impl JsonView for Value {
    fn members(&self) -> Option<Vec<(&str, &Value)>> {
        self.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
    }
    fn items(&self) -> Option<Vec<&Value>> {
        self.as_array().map(|a| a.iter().collect())
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn write_scalar(&self, bytes: &mut Vec<u8>) {
        serde_json::to_writer(bytes, self).expect("writing to a Vec cannot fail");
    }
}

impl JsonView for Node {
    fn members(&self) -> Option<Vec<(&str, &Node)>> {
        self.as_object()
            .map(|m| m.iter().map(|m| (m.key.as_str(), &m.value)).collect())
    }
    fn items(&self) -> Option<Vec<&Node>> {
        self.as_array().map(|a| a.iter().collect())
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn write_scalar(&self, bytes: &mut Vec<u8>) {
        let written = match &self.value {
            NodeValue::Null => serde_json::to_writer(&mut *bytes, &()),
            NodeValue::Bool(b) => serde_json::to_writer(&mut *bytes, b),
            NodeValue::Number(n) => serde_json::to_writer(&mut *bytes, n),
            NodeValue::String(s) => serde_json::to_writer(&mut *bytes, s),
            NodeValue::Array(_) | NodeValue::Object(_) => Ok(()),
        };
        written.expect("writing to a Vec cannot fail");
    }
}

/// The digest of a capture base or overlay object. The object's own `digest` value is ignored; an
/// object without a `digest` key is hashed as if it had one (the placeholder is always present), so
/// the value is the one to write into it. Not an object: the digest of `{}`'s placeholder form.
pub fn compute<J: JsonView>(object: &J) -> String {
    let members = object.members().unwrap_or_default();
    let type_name = members
        .iter()
        .find(|(k, _)| *k == "type")
        .and_then(|(_, v)| v.text())
        .unwrap_or("");
    let order = fixed_order(type_name);
    let mut rest: Vec<&(&str, &J)> = members.iter().filter(|(k, _)| !order.contains(k)).collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    let value_of = |key: &str| members.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let fixed = order
        .iter()
        .filter(|k| **k == "digest" || value_of(k).is_some())
        .map(|k| (*k, value_of(k)));

    let mut bytes = Vec::with_capacity(512);
    bytes.push(b'{');
    for (i, (key, value)) in fixed
        .chain(rest.into_iter().map(|(k, v)| (*k, Some(*v))))
        .enumerate()
    {
        if i > 0 {
            bytes.push(b',');
        }
        serde_json::to_writer(&mut bytes, key).expect("writing to a Vec cannot fail");
        bytes.push(b':');
        match value {
            Some(value) if key != "digest" => write_sorted(&mut bytes, value),
            _ => serde_json::to_writer(&mut bytes, PLACEHOLDER)
                .expect("writing to a Vec cannot fail"),
        }
    }
    bytes.push(b'}');
    encode(blake3::hash(&bytes).as_bytes())
}

/// Writes `value` compactly with object keys sorted at every level. The order is made explicit
/// rather than left to serde_json's map type, whose order changes when any crate in the build
/// enables serde_json's `preserve_order` feature.
fn write_sorted<J: JsonView>(bytes: &mut Vec<u8>, value: &J) {
    if let Some(mut members) = value.members() {
        members.sort_by(|a, b| a.0.cmp(b.0));
        bytes.push(b'{');
        for (i, (key, value)) in members.into_iter().enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            serde_json::to_writer(&mut *bytes, key).expect("writing to a Vec cannot fail");
            bytes.push(b':');
            write_sorted(bytes, value);
        }
        bytes.push(b'}');
    } else if let Some(items) = value.items() {
        bytes.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            write_sorted(bytes, item);
        }
        bytes.push(b']');
    } else {
        value.write_scalar(bytes);
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

    /// Computes the digest both ways (from serde_json and from the spanned tree) and checks they
    /// agree.
    fn digest_of(json: &str) -> String {
        let value: Value = serde_json::from_str(json).unwrap();
        let from_value = compute(&value);
        let from_node = compute(&crate::syntax::json::parse(json).unwrap());
        assert_eq!(from_value, from_node);
        from_value
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
