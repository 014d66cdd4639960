//! Entry points for the fuzz targets (`fuzz/`, docs/fuzzing.md) and for the replay of the inputs
//! that once crashed them (`tests/fuzz_regressions.rs`): each takes arbitrary bytes and runs one
//! of the compiler's readers the way `trustc check` and `trustc build` run it. They only call the
//! public stages; none changes what trustc does. Not an API: hidden from the documentation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::build::templates::{Engine, Template};
use crate::check::{CheckOptions, check};
use crate::diag::FileDiagnostics;
use crate::diag::render::{HumanStyle, github, human, json};
use crate::images::{ImageContext, LocalImages};
use crate::source::{SourceFile, SourcePath};
use crate::syntax::{self, Node};
use crate::{oca, schema};

/// The bytes as text, the way `source::read_source` accepts them (UTF-8 only).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A file of the given display name holding `text`, for diagnostics.
fn file(name: &str, text: &str) -> SourceFile {
    let path = Arc::new(SourcePath {
        display: name.to_owned(),
        absolute: PathBuf::from(name),
    });
    SourceFile::new(path, text.to_owned())
}

/// Every view of a tree later stages take: the JSON value, and a lookup of a member.
fn walk(node: &Node) {
    let _ = node.to_json();
    let _ = node.lookup(&["credentials", "0", "id"]);
}

/// The YAML reader (`syntax::yaml`), then the governance schema on what it read.
pub fn yaml(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(node) = syntax::yaml::parse(text) {
        walk(&node);
        let file = file("governance/fuzz.yaml", text);
        let mut sink = FileDiagnostics::new(&file);
        schema::validate(&schema::GOVERNANCE, &node, &mut sink);
    }
}

/// trustc's JSON reader with spans (`syntax::json`).
pub fn json_text(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(node) = syntax::json::parse(text) {
        walk(&node);
    }
}

/// An OCA bundle as `trustc check` reads one: JSON, the bundle schema, the model, then every
/// check of the bundle, digests (BLAKE3 SAIDs) included. Images are looked for beside the
/// example's Lawyer bundle (so `logo.png` is found), and only read.
pub fn oca_bundle(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(node) = syntax::json::parse(text) else {
        return;
    };
    let file = file("oca-bundles/fuzz/OCABundle.json", text);
    let mut sink = FileDiagnostics::new(&file);
    if !schema::validate(&schema::OCA_BUNDLE, &node, &mut sink) {
        return;
    }
    if let Ok(bundle) = oca::read_bundle(&node) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("oca-bundles/lsbc/lawyer");
        let root = root.canonicalize().unwrap_or(root);
        let files = LocalImages::new(&root);
        let images = ImageContext {
            files: &files,
            base_dir: &root,
        };
        oca::check::check_bundle(&node, &bundle, &images, &mut sink);
    }
    if let Some(overlays) = node.get("overlays").and_then(Node::as_array) {
        for overlay in overlays {
            let _ = oca::digest::compute(overlay);
        }
    }
}

/// Makes `root` a governance repository for [`governance`]: the shipped example's OCA bundles and
/// images, and no governance file yet. Once per process, in a temporary folder of the caller's.
pub fn governance_repository(root: &Path) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&example.join("oca-bundles"), &root.join("oca-bundles"));
    copy_dir(
        &example.join("governance/images"),
        &root.join("governance/images"),
    );
}

/// One governance file, these bytes, in the repository [`governance_repository`] made at
/// `root`, checked by [`check`] as `trustc check` does and its diagnostics rendered in every
/// format. Each run rewrites the one file.
pub fn governance(root: &Path, data: &[u8]) {
    if std::fs::write(root.join("governance/fuzz.yaml"), data).is_err() {
        return;
    }
    let options = CheckOptions {
        jobs: 1,
        ..CheckOptions::default()
    };
    if let Ok(report) = check(root, &options) {
        let style = HumanStyle {
            fancy: false,
            width: 100,
        };
        let _ = human(&report.diagnostics, &report.summary, style);
        let _ = json(&report.diagnostics, &report.summary);
        let _ = github(&report.diagnostics);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder of the temporary repository");
    for entry in std::fs::read_dir(from).expect("a folder of the example") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a file of the example");
        }
    }
}

/// A repository's own template: the bytes up to the first NUL are the template's text (a
/// template named `fuzz.json.hbs` when the first byte is even, the partial `oid4vci-display`
/// overriding the built-in one when odd), the rest the JSON context it is rendered with (an empty
/// object when it is not JSON). The built-in partials are registered beside it, as the build
/// does, so partials and their includes are reached; of the other built-in templates only the
/// issuer metadata (a user of the overridden partial) is, so that a run stays cheap.
pub fn template(data: &[u8]) {
    let (template, context) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Some(template_text) = text(template) else {
        return;
    };
    let as_partial = template.first().is_some_and(|b| b % 2 == 1);
    let relative = if as_partial {
        "partials/oid4vci-display.hbs"
    } else {
        "fuzz.json.hbs"
    };
    let context: serde_json::Value =
        serde_json::from_slice(context).unwrap_or_else(|_| serde_json::json!({}));
    let mut templates: Vec<Template> = crate::build::templates::BUILT_IN
        .iter()
        .filter(|(path, _)| {
            *path != relative
                && (path.starts_with("partials/")
                    || (as_partial && *path == ".well-known/openid-credential-issuer.hbs"))
        })
        .map(|(path, text)| Template {
            relative: (*path).to_owned(),
            file: file(&format!("templates/{path}"), text),
            from_repository: false,
        })
        .collect();
    templates.push(Template {
        relative: relative.to_owned(),
        file: file(&format!("templates/{relative}"), template_text),
        from_repository: true,
    });
    let mut diagnostics = Vec::new();
    let engine = Engine::new(&templates, &mut diagnostics);
    let Ok(context) = handlebars::Context::wraps(&context) else {
        return;
    };
    for template in &templates {
        if engine.has(template) && (template.from_repository || as_partial) {
            let _ = engine.render(template, &context);
        }
    }
}
