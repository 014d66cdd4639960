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
