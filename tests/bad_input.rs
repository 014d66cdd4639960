//! Hostile and broken input: each gives a located diagnostic or a clear error, never a panic or a
//! hang. (Fixtures under `tests/fixtures/check/` cover the ordinary broken files; these are the
//! inputs too large or too odd to commit.)

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{check_json, codes, copy_dir, repo, status, stderr, trustc};

fn bundle_folder() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs a check that must finish and report `code` at a real position.
fn expect_code(dir: &Path, code: &str) -> serde_json::Value {
    let started = Instant::now();
    let (status, report) = check_json(dir, &[]);
    // Not a timing test: a generous bound that only a hang would exceed.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "trustc took {:?}",
        started.elapsed()
    );
    assert_eq!(status, 1, "{report:#}");
    assert!(
        codes(&report).iter().any(|c| c == code),
        "expected `{code}`: {report:#}"
    );
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .unwrap();
    assert!(
        d["file"].is_string() && d["line"].as_u64().unwrap() >= 1,
        "{d}"
    );
    report
}

fn first_message(report: &serde_json::Value) -> &str {
    report["diagnostics"][0]["message"].as_str().unwrap()
}

#[test]
fn a_50_mib_file_is_refused_without_reading_it() {
    let dir = bundle_folder();
    let file = std::fs::File::create(dir.path().join("OCABundle.json")).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let report = expect_code(dir.path(), "file-too-large");
    assert!(first_message(&report).contains("50 MiB"));
}

#[test]
fn json_nested_200000_levels_deep_is_refused() {
    let dir = bundle_folder();
    let text = "[".repeat(200_000) + &"]".repeat(200_000);
    std::fs::write(dir.path().join("OCABundle.json"), text).unwrap();
    expect_code(dir.path(), "input-too-complex");
}

#[test]
fn yaml_nested_200000_levels_deep_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("governance")).unwrap();
    let text = "framework: ".to_string() + &"[".repeat(200_000) + &"]".repeat(200_000);
    std::fs::write(dir.path().join("governance/deep.yaml"), text).unwrap();
    let (status, report) = check_json(dir.path(), &[]);
    assert_eq!(status, 1);
    let found = codes(&report);
    assert!(
        found
            .iter()
            .any(|c| c == "input-too-complex" || c == "yaml-syntax"),
        "{report:#}"
    );
}

#[test]
fn an_object_with_100000_keys_is_checked_quickly() {
    let dir = bundle_folder();
    let members: Vec<String> = (0..100_000).map(|i| format!("\"k{i}\": 1")).collect();
    let text = format!("[{{{}, \"k5\": 2}}]", members.join(", "));
    std::fs::write(dir.path().join("OCABundle.json"), text).unwrap();
    let report = expect_code(dir.path(), "json-syntax");
    assert!(first_message(&report).contains("duplicate key `k5`"));
}

#[test]
fn binary_garbage_is_invalid_utf8_at_its_position() {
    let dir = bundle_folder();
    std::fs::write(
        dir.path().join("OCABundle.json"),
        b"[{\"capture_base\":\n  \"\xc3\x28\"}]",
    )
    .unwrap();
    let report = expect_code(dir.path(), "invalid-utf8");
    let d = &report["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(4))
    );
}

#[test]
fn a_symlinked_image_leading_outside_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("governance/images/person-logo.png"),
        outside.path().join("logo.png"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("tests/fixtures/check/valid-minimal"),
        dir.path(),
    );
    std::os::unix::fs::symlink(
        outside.path().join("logo.png"),
        dir.path().join("governance/logo.png"),
    )
    .unwrap();
    let yaml = dir.path().join("governance/example.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        text.replace("    branding:\n", "    branding:\n      logo: logo.png\n"),
    )
    .unwrap();
    expect_code(dir.path(), "path-escape");
}

#[test]
fn an_unreadable_checked_folder_is_a_clear_error() {
    let output = trustc(&repo(), &["check", "/nonexistent/trustc/input"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).starts_with("error: cannot check `/nonexistent/trustc/input`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_broken_fixture_is_reported_not_crashed() {
    // Truncating a valid bundle at every 97th byte must always give a syntax diagnostic.
    let text =
        std::fs::read_to_string(repo().join("oca-bundles/lsbc/lawyer/OCABundle.json")).unwrap();
    let dir = bundle_folder();
    for cut in (1..text.len()).step_by(97) {
        if !text.is_char_boundary(cut) {
            continue;
        }
        std::fs::write(dir.path().join("OCABundle.json"), &text[..cut]).unwrap();
        let (status, report) = check_json(dir.path(), &[]);
        assert_eq!(status, 1, "cut at {cut}");
        assert_eq!(codes(&report), ["json-syntax"], "cut at {cut}: {report:#}");
    }
}

/// Index entries and images may lead through symbolic links only to places inside the checked
/// folder: a linked folder inside is followed, one leading outside is refused, whether the link
/// is the file itself or a folder on the way to it.
#[test]
fn index_entries_and_images_through_linked_folders_stay_inside() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let dir = bundle_folder();
    let root = dir.path();
    let text = std::fs::read_to_string(
        repo().join("tests/fixtures/check/missing-information/OCABundle.json"),
    )
    .unwrap();
    let mut bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
    for overlay in bundle[0]["overlays"].as_array_mut().unwrap() {
        if overlay["type"] == "aries/overlays/branding/1.0" {
            let overlay = overlay.as_object_mut().unwrap();
            overlay.remove("digest");
            overlay.insert("logo".into(), "../outside-images/logo.png".into());
        }
    }
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    std::fs::create_dir(root.join("a")).unwrap();
    std::fs::write(root.join("a/OCABundle.json"), &bytes).unwrap();
    std::fs::write(outside.path().join("OCABundle.json"), &bytes).unwrap();
    std::fs::copy(
        repo().join("governance/images/person-logo.png"),
        outside.path().join("logo.png"),
    )
    .unwrap();
    symlink(root.join("a"), root.join("linked-in")).unwrap();
    symlink(outside.path(), root.join("outside-images")).unwrap();
    let sha = trustc::oca::index::sha256_universal(&bytes);
    let index = serde_json::json!({
        "did:example:inside": {"path": "a/OCABundle.json", "sha256": sha},
        "did:example:linked-inside": {"path": "linked-in/OCABundle.json", "sha256": sha},
        "did:example:linked-outside": {"path": "outside-images/OCABundle.json", "sha256": sha},
    });
    std::fs::write(
        root.join("ocabundles.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();

    let (status, report) = check_json(root, &[]);
    assert_eq!(status, 1, "{report:#}");
    let escapes: Vec<(String, u64, String)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "path-escape")
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The index entry through the outside link, and the logo in each bundle the walk found (the
    // linked folders are walked too: `a`, `linked-in` and the outside folder).
    assert!(
        escapes.contains(&(
            "ocabundles.json".to_string(),
            11,
            "the bundle path `outside-images/OCABundle.json` leads outside the checked folder"
                .to_string()
        )),
        "{escapes:#?}"
    );
    let logos = escapes
        .iter()
        .filter(|(_, _, m)| m.starts_with("the logo path `../outside-images/logo.png`"))
        .count();
    assert_eq!(logos, 3, "{escapes:#?}");
    assert_eq!(escapes.len(), 4, "{escapes:#?}");
    for code in [
        "unknown-reference",
        "index-sha256-mismatch",
        "image-missing",
    ] {
        assert!(!codes(&report).iter().any(|c| c == code), "{report:#}");
    }
}

/// An index is checked entry by entry; a wrong entry of a long list is still named by its place
/// in the whole file.
#[test]
fn a_wrong_entry_of_a_bundle_list_is_named_by_its_place() {
    let dir = bundle_folder();
    let mut list = Vec::new();
    for i in 0..5 {
        list.push(serde_json::json!({
            "id": format!("did:example:{i}"),
            "ocabundle": format!("b{i}/OCABundle.json"),
            "shasum": "0".repeat(64),
        }));
    }
    list[3]["shasum"] = "not a hash".into();
    std::fs::write(
        dir.path().join("ocabundleslist.json"),
        serde_json::to_vec_pretty(&list).unwrap(),
    )
    .unwrap();
    let report = expect_code(dir.path(), "invalid-value");
    let d = &report["diagnostics"][0];
    assert!(
        d["message"].as_str().unwrap().contains("[3].shasum"),
        "{report:#}"
    );
    assert_eq!(d["line"].as_u64(), Some(20), "{report:#}");
}
