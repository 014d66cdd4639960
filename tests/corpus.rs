//! bcgov's aries-oca-bundles repository, read from `../shared/corpus/aries-oca-bundles` (or
//! `TRUSTC_CORPUS`); skipped with a message when it is absent. Expected findings are computed here
//! independently of trustc, by reading the files with serde_json.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{check_json, copy_dir, corpus};

fn bundle_files(root: &Path) -> Vec<PathBuf> {
    walkdir_files(root)
        .into_iter()
        .filter(|p| p.ends_with("OCABundle.json"))
        .collect()
}

fn walkdir_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir_files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `(file, line)` of every line of the corpus bundles that contains `needle`.
fn lines_containing(root: &Path, needle: &str) -> BTreeSet<(String, u64)> {
    let mut found = BTreeSet::new();
    for file in bundle_files(root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.contains(needle) {
                found.insert((relative(root, &file), i as u64 + 1));
            }
        }
    }
    found
}

fn reported(report: &Value, code: &str) -> BTreeSet<(String, u64)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn corpus_findings_are_exact() {
    let Some(root) = corpus("corpus_findings_are_exact") else {
        return;
    };
    let (status, report) = check_json(&root, &[]);
    assert_eq!(
        status, 1,
        "errors (the rgb colours) fail the check, without a crash"
    );
    assert_eq!(report["summary"]["oca_bundles"], 30);
    assert_eq!(report["summary"]["indexes"], 2);

    // The 4 `rgb(...)` colours, each at its line.
    let rgb = lines_containing(&root, "_background_color\": \"rgb(");
    assert_eq!(rgb.len(), 4);
    assert_eq!(reported(&report, "invalid-colour"), rgb);

    // Branding digests: the 15 non-empty ones do not verify (13 are RFC 0755's example value).
    let mut branding_digests = BTreeSet::new();
    let mut rfc_example = 0;
    let mut verifiable = 0;
    for file in bundle_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        let bundle: Value = serde_json::from_str(&text).unwrap();
        let bundle = &bundle[0];
        if bundle["capture_base"]["digest"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
        {
            verifiable += 1;
        }
        for overlay in bundle["overlays"].as_array().unwrap() {
            let digest = overlay["digest"].as_str().unwrap_or("");
            if digest.is_empty() {
                continue;
            }
            if overlay["type"]
                .as_str()
                .unwrap()
                .starts_with("aries/overlays/branding/")
            {
                // Two bundles copied another overlay's digest into the branding overlay, which
                // comes last in every corpus bundle: take the last line holding the value.
                let needle = format!("\"digest\": \"{digest}\"");
                let lines: Vec<&str> = text.lines().collect();
                let line = lines.iter().rposition(|l| l.contains(&needle)).unwrap();
                branding_digests.insert((relative(&root, &file), line as u64 + 1));
                if digest == "EBQbQEV6qSEGDzGLj1CqT4e6yzESjPimF-Swmyltw5jU" {
                    rfc_example += 1;
                }
            } else {
                verifiable += 1;
            }
        }
    }
    assert_eq!(branding_digests.len(), 15);
    assert_eq!(rfc_example, 13);
    assert_eq!(
        reported(&report, "branding-digest-mismatch"),
        branding_digests
    );

    // The 222 capture-base and overlay digests that verify raise no alarm.
    assert_eq!(verifiable, 222);
    assert!(reported(&report, "digest-mismatch").is_empty());
    assert!(reported(&report, "capture-base-mismatch").is_empty());

    // The 69 index sha256 values verify.
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("ocabundles.json")).unwrap())
            .unwrap();
    assert_eq!(index.as_object().unwrap().len(), 69);
    assert!(reported(&report, "index-sha256-mismatch").is_empty());
    assert!(reported(&report, "index-inconsistent").is_empty());
    assert!(reported(&report, "unknown-reference").is_empty());
}

/// Changing any byte that a digest or an index hash covers is caught.
#[test]
fn tampering_with_the_corpus_is_caught() {
    let Some(root) = corpus("tampering_with_the_corpus_is_caught") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root, dir.path());
    let bundle = dir
        .path()
        .join("OCABundles/schema/bcgov-digital-trust/showcase/student-card/OCABundle.json");
    let text = std::fs::read_to_string(&bundle).unwrap();
    // A label changed without recomputing the overlay digest, and the index not regenerated.
    let tampered = text.replacen("\"ID Expiry Date\"", "\"Expiry\"", 1);
    assert_ne!(text, tampered);
    std::fs::write(&bundle, tampered).unwrap();
    let (status, report) = check_json(dir.path(), &[]);
    assert_eq!(status, 1);
    let file = "OCABundles/schema/bcgov-digital-trust/showcase/student-card/OCABundle.json";
    assert!(
        reported(&report, "digest-mismatch")
            .iter()
            .any(|(f, _)| f == file),
        "{report:#}"
    );
    let stale: BTreeSet<String> = reported(&report, "index-sha256-mismatch")
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        stale,
        BTreeSet::from([
            "ocabundles.json".to_string(),
            "ocabundleslist.json".to_string()
        ])
    );
}
