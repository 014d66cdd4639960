//! The command line as CI uses it: exit statuses, the JSON report contract, GitHub annotations,
//! `explain`, `schema`, and the shipped example.

use crate::common::{check_json, codes, repo, status, stderr, stdout, trustc};

fn fixture(name: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures/check").join(name)
}

#[test]
fn the_shipped_example_checks_clean() {
    let output = trustc(&repo(), &["check"]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no problems found in 3 files"),
        "{}",
        stderr(&output)
    );
    let (code, report) = check_json(&repo(), &["--deny-warnings"]);
    assert_eq!(code, 0);
    assert_eq!(
        report["diagnostics"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
    assert_eq!(report["summary"]["frameworks"], 2);
    assert_eq!(report["summary"]["credential_types"], 2);
    assert_eq!(report["summary"]["oca_bundles"], 1);
}

#[test]
fn json_report_follows_the_documented_contract() {
    let dir = fixture("unknown-reference");
    let (code, report) = check_json(&dir, &[]);
    assert_eq!(code, 1);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty());
    for d in diagnostics {
        for key in [
            "code", "severity", "message", "file", "line", "column", "help",
        ] {
            assert!(d.get(key).is_some(), "diagnostic lacks `{key}`: {d}");
        }
        assert!(["error", "warning", "advice"].contains(&d["severity"].as_str().unwrap()));
        let file = d["file"].as_str().unwrap();
        assert!(
            !file.starts_with('/') && !file.contains('\\'),
            "file paths are relative with `/`: {file}"
        );
        assert!(
            dir.join(file).is_file(),
            "{file} is relative to the checked folder"
        );
        assert!(
            d["line"].as_u64().unwrap() >= 1 && d["column"].as_u64().unwrap() >= 1,
            "1-based: {d}"
        );
    }
    let summary = &report["summary"];
    let count = |severity: &str| {
        diagnostics
            .iter()
            .filter(|d| d["severity"] == severity)
            .count() as u64
    };
    assert_eq!(summary["errors"].as_u64(), Some(count("error")));
    assert_eq!(summary["warnings"].as_u64(), Some(count("warning")));
    assert_eq!(summary["advice"].as_u64(), Some(count("advice")));
    assert!(summary["files"].as_u64().unwrap() >= 1);
}

#[test]
fn json_positions_point_at_the_offending_text() {
    let dir = fixture("invalid-colour");
    let (_, report) = check_json(&dir, &[]);
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "invalid-colour")
        .expect("an invalid-colour diagnostic");
    let text = std::fs::read_to_string(dir.join(d["file"].as_str().unwrap())).unwrap();
    let line = text
        .lines()
        .nth(d["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    let at: String = line
        .chars()
        .skip(d["column"].as_u64().unwrap() as usize - 1)
        .collect();
    let value = d["message"].as_str().unwrap().split('`').nth(1).unwrap();
    assert!(
        at.trim_start_matches('"').starts_with(value),
        "{line:?} at column {}: {at:?}",
        d["column"]
    );
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let dir = fixture("missing-branding");
    let (code, report) = check_json(&dir, &[]);
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    assert!(report["summary"]["warnings"].as_u64().unwrap() > 0);
    assert_eq!(code, 0);
    let (code, _) = check_json(&dir, &["--deny-warnings"]);
    assert_eq!(code, 1);
}

#[test]
fn severities_can_be_overridden_per_code() {
    let dir = fixture("missing-branding");
    let (code, report) = check_json(&dir, &["--deny", "missing-branding"]);
    assert_eq!(code, 1);
    assert!(
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "missing-branding" && d["severity"] == "error")
    );
    let (code, report) = check_json(&dir, &["--allow", "missing-branding"]);
    assert_eq!(code, 0);
    assert!(!codes(&report).contains(&"missing-branding".to_string()));
    let dir = fixture("invalid-colour");
    let (code, report) = check_json(&dir, &["--warn", "invalid-colour"]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn unusable_arguments_exit_with_status_2() {
    let output = trustc(&repo(), &["check", "no/such/folder"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("no/such/folder"),
        "{}",
        stderr(&output)
    );
    let output = trustc(&repo(), &["check", "Cargo.toml"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("not a folder"));
    let output = trustc(&repo(), &["check", "--allow", "digest-mismatsh"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("did you mean `digest-mismatch`"),
        "{}",
        stderr(&output)
    );
    let empty = tempfile::tempdir().unwrap();
    let output = trustc(empty.path(), &["check"]);
    assert_eq!(
        status(&output),
        2,
        "checking nothing must not pass silently"
    );
    assert!(
        stderr(&output).contains("nothing to check"),
        "{}",
        stderr(&output)
    );
    let output = trustc(&repo(), &["check", "--format", "xml"]);
    assert_eq!(status(&output), 2);
    let output = trustc(&repo(), &["frobnicate"]);
    assert_eq!(status(&output), 2);
}

#[test]
fn github_format_prints_workflow_annotations() {
    let dir = fixture("unknown-reference");
    let output = trustc(&dir, &["check", "--format", "github"]);
    assert_eq!(status(&output), 1);
    let out = stdout(&output);
    let annotation = out
        .lines()
        .find(|l| l.starts_with("::error "))
        .expect("an error annotation");
    assert!(
        annotation.starts_with("::error file=governance/"),
        "{annotation}"
    );
    assert!(
        annotation.contains(",line=")
            && annotation.contains(",col=")
            && annotation.contains("title=unknown-reference::")
    );
    assert!(!annotation.contains('\n'));
}

#[test]
fn explain_prints_every_code_and_rejects_unknown_ones() {
    let output = trustc(&repo(), &["explain"]);
    assert_eq!(status(&output), 0);
    let list = stdout(&output);
    for code in trustc::diag::Code::ALL {
        assert!(list.contains(code.name()), "explain lists {code}");
        let output = trustc(&repo(), &["explain", code.name()]);
        assert_eq!(status(&output), 0);
        let text = stdout(&output);
        assert!(text.starts_with(&format!("# {}", code.name())));
        assert!(
            text.contains("## Example") && text.contains("## Fix"),
            "{code}"
        );
        assert!(!text.contains("TODO"), "{code} is documented");
    }
    let output = trustc(&repo(), &["explain", "digest-mismatsh"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("did you mean `digest-mismatch`"));
}

/// The list of codes is a contract (CI configurations name them): renaming, removing or changing
/// the default severity of a code shows up here for review.
#[test]
fn the_code_list_is_stable() {
    let output = trustc(&repo(), &["explain"]);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("codes", stdout(&output)));
}

#[test]
fn diagnostics_index_lists_every_code() {
    let index = std::fs::read_to_string(repo().join("docs/diagnostics/README.md")).unwrap();
    for code in trustc::diag::Code::ALL {
        assert!(
            index.contains(&format!("{}.md", code.name())),
            "docs/diagnostics/README.md links {code}"
        );
    }
}

#[test]
fn schema_prints_the_governance_schema() {
    let output = trustc(&repo(), &["schema"]);
    assert_eq!(status(&output), 0);
    let printed: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let shipped: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/governance.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, shipped);
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("governance.schema.json");
    let output = trustc(dir.path(), &["schema", "--out", out.to_str().unwrap()]);
    assert_eq!(status(&output), 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out).unwrap()).unwrap(),
        shipped
    );
}

/// The human report heads each snippet with the same `file:line:col` as the JSON report, in
/// characters of the whole line: after accented text earlier on the line, and on a line so long
/// (a minified bundle) that the snippet shows only a cut of it. A problem at the very end of a
/// file (a truncated download), where no line is left to show, still says where it is.
#[test]
fn human_positions_match_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let bundle_dir = dir.path().join("bundle");
    std::fs::create_dir(&bundle_dir).unwrap();
    let bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("oca-bundles/lsbc/lawyer/OCABundle.json")).unwrap(),
    )
    .unwrap();
    let mut minified = serde_json::to_string(&bundle).unwrap();
    // An accented word before the bad colour, and everything on one line of thousands of characters.
    minified = minified.replacen("\"name\":\"", "\"name\":\"Prénoms é ", 1);
    minified = minified.replacen(
        "\"primary_background_color\":\"#",
        "\"primary_background_color\":\"#zz",
        1,
    );
    std::fs::write(bundle_dir.join("OCABundle.json"), &minified).unwrap();
    std::fs::write(dir.path().join("truncated.json"), "{\n  \"a\": [\n").unwrap();
    std::fs::create_dir(dir.path().join("t")).unwrap();
    std::fs::rename(
        dir.path().join("truncated.json"),
        dir.path().join("t/OCABundle.json"),
    )
    .unwrap();

    let (_, report) = check_json(dir.path(), &[]);
    let human = trustc(dir.path(), &["check", ".", "--color", "never"]);
    let text = stderr(&human) + &stdout(&human);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics.iter().any(|d| d["code"] == "invalid-colour"),
        "{report:#}"
    );
    assert!(
        diagnostics.iter().any(|d| d["code"] == "json-syntax"),
        "{report:#}"
    );
    for d in diagnostics {
        let place = format!(
            "{}:{}:{}",
            d["file"].as_str().unwrap(),
            d["line"],
            d["column"]
        );
        assert!(
            text.contains(&place),
            "{place} ({}) not in:\n{text}",
            d["code"]
        );
    }
}

/// A framework that cannot be read (here one label of the wrong type) is reported, and the
/// frameworks that refer to it are not told that its credential types and participants do not
/// exist: they do, in the file being fixed.
#[test]
fn an_unreadable_framework_causes_no_false_unknown_references() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&repo().join("governance"), &dir.path().join("governance"));
    crate::common::copy_dir(&repo().join("oca-bundles"), &dir.path().join("oca-bundles"));
    let path = dir.path().join("governance/bc-digital-identity.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("en: Given names", "en: 5", 1);
    assert_ne!(broken, text, "the example has the label to break");
    std::fs::write(&path, broken).unwrap();
    let (status, report) = check_json(dir.path(), &[]);
    assert_eq!(status, 1);
    assert_eq!(codes(&report), ["wrong-type"], "{report:#}");
}
