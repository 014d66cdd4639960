//! Generate stage: digests and index entries of generated OCA bundles.
//!
//! Templates write a bundle's content; its digests are computed here, after rendering, so a
//! repository's own bundle template can never produce a bundle whose digests are wrong. The
//! capture base is digested first and every overlay then commits to it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::Output;
use super::resolve::{CredentialExtras, LedgerId};
use crate::confine::normalize;
use crate::diag::{Code, Diagnostic, FileDiagnostics, Severity, SeverityOverrides};
use crate::images::{ImageContext, LocalImages};
use crate::oca::digest;
use crate::oca::index::sha256_universal;
use crate::schema;
use crate::source::{SourceFile, slash_path};
use crate::syntax::{Span, json};

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

/// Checks a generated bundle the way `trustc check` checks a bundle it reads: bcgov's schema, then
/// trustc's own checks. Returns the errors found, in the generated text (`file`).
///
/// Images are not on disk yet: a local image path is an error only when the build does not
/// produce the file (`outputs`), and remote images are not looked up. Warnings are left out: the
/// check of the input already reported what the governance says.
pub fn check_generated(
    file: &SourceFile,
    outputs: &BTreeSet<&str>,
    overrides: &SeverityOverrides,
) -> Vec<Diagnostic> {
    let mut sink = FileDiagnostics::new(file);
    match json::parse(&file.text) {
        Ok(node) => {
            if schema::validate(&schema::OCA_BUNDLE, &node, &mut sink) {
                match crate::oca::read_bundle(&node) {
                    Ok(bundle) => {
                        // No image is read from the disk: a path holding NUL exists nowhere.
                        let root = PathBuf::from("\0generated");
                        let base_dir = root.join(bundle_dir(&file.path.display));
                        let files = LocalImages::new(&root);
                        let images = ImageContext {
                            files: &files,
                            base_dir: &base_dir,
                        };
                        crate::oca::check::check_bundle(&node, &bundle, &images, &mut sink);
                    }
                    Err(error) => sink.report(
                        Code::InvalidValue,
                        error.span.unwrap_or_default(),
                        format!("this value cannot be read: {}", error.message),
                        "unreadable value",
                        "the bundle passed its schema but trustc could not read this value",
                    ),
                }
            }
        }
        // The output was parsed before it was formatted, so this cannot happen; report it anyway.
        Err(error) => sink.report(
            Code::JsonSyntax,
            Span::new(0, 0),
            format!("the generated bundle is not JSON: {error:?}"),
            "not JSON",
            "please report this",
        ),
    }
    let text = &file.text;
    sink.diagnostics
        .into_iter()
        .filter_map(|d| overrides.apply(d))
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| {
            d.code != Code::ImageMissing
                || !d.labels.first().is_some_and(|label| {
                    let reference = text
                        .get(label.span.start as usize..label.span.end as usize)
                        .unwrap_or("");
                    serde_json::from_str::<String>(reference).is_ok_and(|value| {
                        let dir = bundle_dir(&file.path.display);
                        let path = normalize(&Path::new(dir).join(value.trim()));
                        outputs.contains(slash_path(&path).as_str())
                    })
                })
        })
        .collect()
}

/// The output folder of a bundle (`oca/lsbc/lawyer` for `oca/lsbc/lawyer/OCABundle.json`).
fn bundle_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}
