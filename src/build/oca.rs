//! Generate stage: digests and index entries of generated OCA bundles.
//!
//! Templates write a bundle's content; its digests are computed here, after rendering, so a
//! repository's own bundle template can never produce a bundle whose digests are wrong. The
//! capture base is digested first and every overlay then commits to it.

use serde::Serialize;
use serde_json::Value;

use super::Output;
use super::resolve::{CredentialExtras, LedgerId};
use crate::oca::digest;
use crate::oca::index::sha256_universal;

/// Writes the digests of a bundle (`[{capture_base, overlays}]` or the bare object).
pub fn seal(bundle: &mut Value) {
    let object = match bundle {
        Value::Array(items) => match items.first_mut() {
            Some(first) => first,
            None => return,
        },
        other => other,
    };
    let Some(capture_base) = object.get_mut("capture_base") else {
        return;
    };
    let said = digest::compute(&*capture_base);
    if let Some(map) = capture_base.as_object_mut() {
        map.insert("digest".into(), Value::String(said.clone()));
    }
    if let Some(Value::Array(overlays)) = object.get_mut("overlays") {
        for overlay in overlays {
            if let Some(map) = overlay.as_object_mut() {
                map.insert("capture_base".into(), Value::String(said.clone()));
                let overlay_said = digest::compute(&Value::Object(map.clone()));
                map.insert("digest".into(), Value::String(overlay_said));
            }
        }
    }
}

/// A generated bundle as the index templates see it.
#[derive(Clone, Debug, Serialize)]
pub struct IndexEntry {
    /// Relative to the `oca/` folder, where the indexes are written.
    pub path: String,
    /// SHA-256 of the file as written, as bcgov's CI computes it.
    pub sha256: String,
    pub identifiers: Vec<LedgerId>,
    /// The issuer, credential name and description in the first locale (bcgov's list fields).
    pub org: String,
    pub name: String,
    pub desc: String,
}

pub fn index_entry(output: &Output, extra: &CredentialExtras) -> IndexEntry {
    let first = extra.oca.languages.first();
    IndexEntry {
        path: output.path.trim_start_matches("oca/").to_string(),
        sha256: sha256_universal(&output.bytes),
        identifiers: extra.oca.identifiers.clone(),
        org: first.map(|l| l.issuer.clone()).unwrap_or_default(),
        name: first.map(|l| l.name.clone()).unwrap_or_default(),
        desc: first.map(|l| l.description.clone()).unwrap_or_default(),
    }
}
