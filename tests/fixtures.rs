//! Every diagnostic code has a broken fixture under `tests/fixtures/check/<code>/` (or one built at
//! run time, for inputs that cannot be committed); the rendered diagnostics of each are
//! snapshot-tested, so any change to what users read is reviewed. Build codes have theirs under
//! `tests/fixtures/build/<code>/`: templates laid over the minimal repository (see build.rs).

use std::path::Path;

use trustc::diag::Code;

use crate::common::{check_json, codes, names_in, repo, status, stderr, trustc};

/// Codes whose fixtures are created at run time: an 8 MiB file, a symbolic link loop and a
/// dangling link are not things to commit.
const RUNTIME_FIXTURES: &[&str] = &["file-too-large", "symlink-loop", "io-error"];

fn snapshot(name: &str, dir: &Path) {
    let output = trustc(dir, &["check", ".", "--color", "never"]);
    let rendered = stderr(&output);
    let (json_status, report) = check_json(dir, &[]);
    assert_eq!(
        status(&output),
        json_status,
        "{name}: the exit status does not depend on the format"
    );
    let found = codes(&report);
    if name.starts_with("valid") {
        assert_eq!(status(&output), 0, "{name} must check clean:\n{rendered}");
        assert!(found.is_empty(), "{name} must check clean:\n{rendered}");
    } else {
        assert!(
            found.iter().any(|c| c == name),
            "fixture {name} does not report `{name}`:\n{rendered}"
        );
        let errors = report["summary"]["errors"].as_u64().unwrap();
        assert_eq!(
            status(&output),
            if errors > 0 { 1 } else { 0 },
            "{name}: exit status"
        );
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots/check"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), rendered));
}

#[test]
fn committed_fixtures_render_as_snapshotted() {
    let root = repo().join("tests/fixtures/check");
    let names = names_in(&root);
    for name in names {
        snapshot(&name, &root.join(&name));
    }
}

#[test]
fn every_code_has_a_fixture() {
    let root = repo().join("tests/fixtures");
    for code in Code::ALL {
        let name = code.name();
        assert!(
            root.join("check").join(name).is_dir()
                || root.join("build").join(name).is_dir()
                || RUNTIME_FIXTURES.contains(&name),
            "no fixture for `{name}`: add tests/fixtures/check/{name}/ (or build/{name}/ for build codes)"
        );
    }
}

/// A copy of the minimal valid repository to break in a temporary folder.
fn minimal_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(
        &repo().join("tests/fixtures/check/valid-minimal"),
        dir.path(),
    );
    dir
}

#[test]
fn file_too_large() {
    let dir = minimal_copy();
    let file = std::fs::File::create(dir.path().join("governance/huge.yaml")).unwrap();
    file.set_len(9 * 1024 * 1024).unwrap();
    snapshot("file-too-large", dir.path());
}

#[test]
fn symlink_loop() {
    let dir = minimal_copy();
    std::os::unix::fs::symlink("..", dir.path().join("governance/back-to-root")).unwrap();
    snapshot("symlink-loop", dir.path());
}

#[test]
fn io_error() {
    let dir = minimal_copy();
    std::os::unix::fs::symlink(
        "does-not-exist.yaml",
        dir.path().join("governance/dangling.yaml"),
    )
    .unwrap();
    snapshot("io-error", dir.path());
}

/// The login fixture (`valid-login`, which checks clean) with each `(from, to)` replaced once,
/// checked: the diagnostics as (code, message, help).
fn login_mistakes(replacements: &[(&str, &str)]) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&repo().join("tests/fixtures/check/valid-login"), dir.path());
    let file = dir.path().join("governance/example.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "the fixture has `{from}`");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&file, text).unwrap();
    let (_, report) = check_json(dir.path(), &[]);
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let text = |key: &str| d[key].as_str().unwrap_or_default().to_string();
            (text("code"), text("message"), text("help"))
        })
        .collect()
}

/// The codes of `found`, in order.
fn codes_of(found: &[(String, String, String)]) -> Vec<&str> {
    found.iter().map(|(c, _, _)| c.as_str()).collect()
}

/// The (code, message) pairs of `found`, in order.
fn codes_and_messages(found: &[(String, String, String)]) -> Vec<(&str, &str)> {
    found
        .iter()
        .map(|(c, m, _)| (c.as_str(), m.as_str()))
        .collect()
}

#[test]
fn a_credential_names_a_provider_of_its_framework_and_the_closest_is_suggested() {
    let found = login_mistakes(&[("provider: member-portal", "provider: member-portl")]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (code, message, help) = &found[0];
    assert_eq!(code, "unknown-reference");
    assert!(message.contains("`member-portl`"), "{message}");
    assert_eq!(help, "did you mean `member-portal`?");
}

#[test]
fn a_provider_or_assurance_without_the_login_method_is_reported_at_each() {
    let found = login_mistakes(&[(
        "        method: login\n        provider: staff-directory",
        "        method: pre-authorized-code\n        provider: staff-directory",
    )]);
    let codes = codes_of(&found);
    // `provider`, `assurance` and the claim taken from the login: three places to fix.
    assert_eq!(codes, ["login-method-missing"; 3], "{found:#?}");
    assert!(
        found
            .iter()
            .any(|(_, m, _)| m.starts_with("`provider` is for `method: login`"))
    );
    assert!(
        found
            .iter()
            .any(|(_, m, _)| m.starts_with("`assurance` is for `method: login`"))
    );
    assert!(
        found
            .iter()
            .any(|(_, m, _)| m.starts_with("`staff_name` is copied from the login"))
    );
}

#[test]
fn a_secret_is_read_from_one_place_named_env_or_file() {
    let found = login_mistakes(&[
        (
            "client_secret: { env: LOGIN_CLIENT_SECRET }",
            "client_secret: { envv: LOGIN_CLIENT_SECRET }",
        ),
        (
            "client_secret: { file: /run/secrets/login-client-secret }",
            "client_secret: { file: /x, env: 1X }",
        ),
        ("private_key: { env: LOGIN_PRIVATE_KEY }", "private_key: {}"),
    ]);
    let summary = codes_and_messages(&found);
    assert_eq!(
        summary,
        [
            ("unknown-key", "unknown key `envv` in `client_secret`"),
            (
                "invalid-value",
                "`client_secret` names both an environment variable and a file"
            ),
            ("invalid-value", "`1X` is not an environment variable name"),
            (
                "missing-key",
                "`private_key` does not say where the secret is read"
            ),
        ],
        "{found:#?}"
    );
    assert_eq!(found[0].2, "did you mean `env`?");
}

#[test]
fn a_written_secret_is_reported_without_repeating_it() {
    let secret = "correct-horse-battery-staple";
    let found = login_mistakes(&[(
        "private_key: { env: LOGIN_PRIVATE_KEY }",
        &format!("private_key: {secret}"),
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (code, message, help) = &found[0];
    assert_eq!(code, "secret-in-governance");
    assert!(!message.contains(secret) && !help.contains(secret));
    assert!(help.contains("`private_key: { env: NAME }`"), "{help}");
}

#[test]
fn each_client_authentication_needs_its_own_secret_and_no_other() {
    let found = login_mistakes(&[
        // The default, `client_secret_basic`, without a secret.
        ("        client_secret: { env: LOGIN_CLIENT_SECRET }\n", ""),
        // A public client with a secret.
        (
            "client_id: trustc, client_authentication: none }",
            "client_id: trustc, client_authentication: none, client_secret: { env: X } }",
        ),
    ]);
    let messages: Vec<&str> = found.iter().map(|(_, m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "login provider `member-portal` authenticates with `client_secret_basic` in `dev` (the default), but names no `client_secret`",
            "login provider `staff-directory` authenticates with `none` in `dev`, which does not use `client_secret`",
        ],
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|(c, _, _)| c == "login-client-authentication")
    );
}

#[test]
fn loopback_http_issuers_are_for_dev_and_issuers_have_no_query() {
    let found = login_mistakes(&[
        ("https://login.test.issuer.example", "http://127.0.0.1:8700"),
        (
            "\"http://127.0.0.1:8701\"",
            "\"http://staff.issuer.example\"",
        ),
        (
            "https://staff.issuer.example",
            "https://staff.issuer.example#x",
        ),
    ]);
    let summary = codes_and_messages(&found);
    assert_eq!(
        summary,
        [
            (
                "login-provider-issuer",
                "`http://127.0.0.1:8700` cannot be the `test` issuer of login provider `member-portal`"
            ),
            (
                "login-provider-issuer",
                "`http://staff.issuer.example` cannot be the `dev` issuer of login provider `staff-directory`"
            ),
            (
                "login-provider-issuer",
                "`https://staff.issuer.example#x` cannot be the `prod` issuer of login provider `staff-directory`"
            ),
        ],
        "{found:#?}"
    );
}

#[test]
fn a_provider_needs_settings_where_its_credentials_are_issued_only() {
    // Without `test` identifiers the issuer issues nothing in `test`: no settings needed there.
    let found = login_mistakes(&[
        ("      test: did:web:test.issuer.example\n", ""),
        (
            "      test: { issuer: \"https://staff.test.issuer.example\", client_id: trustc, client_authentication: none }\n",
            "",
        ),
    ]);
    let codes = codes_of(&found);
    // The participant lacking a `test` identifier is a warning of its own; nothing about logins.
    assert_eq!(codes, ["missing-identifier"], "{found:#?}");
    let found = login_mistakes(&[(
        "      prod: { issuer: \"https://staff.issuer.example\", client_id: trustc, client_authentication: none }\n",
        "",
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "login-environment-missing");
    assert_eq!(
        found[0].1,
        "login provider `staff-directory` has no `prod` settings, but `issuer` issues `staff` in `prod`"
    );
}

#[test]
fn login_provider_ids_are_unique_and_their_names_in_every_locale() {
    let found = login_mistakes(&[
        (
            "  - id: staff-directory\n    name: Staff Directory",
            "  - id: member-portal\n    name: { en: Staff, fr: Personnel }",
        ),
        ("provider: staff-directory", "provider: member-portal"),
    ]);
    let codes = codes_of(&found);
    assert!(codes.contains(&"duplicate-id"), "{found:#?}");
    assert!(
        codes.contains(&"unknown-reference"),
        "`fr` is no locale: {found:#?}"
    );
}

#[test]
fn an_assurance_claim_path_is_checked_like_a_claim_source() {
    let found = login_mistakes(&[(
        "claim: $['https://issuer.example/claims/assurance']",
        "claim: $['https://issuer.example/claims/assurance'",
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "login-claim-path-invalid");
}

#[test]
fn issuance_dates_go_to_date_attributes_and_an_expiry_needs_a_validity() {
    // `joined` is a date: the issuance may set it. The member credential has no validity, so
    // its expiry cannot be computed; `member_name` is text, no date.
    let found = login_mistakes(&[
        (
            "joined: { from: offer }",
            "joined: { from: issuance, value: expires }",
        ),
        (
            "member_name: { from: login, claim: name }",
            "member_name: { from: issuance, value: issued }",
        ),
    ]);
    let codes: Vec<&str> = found.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(codes.len(), 2, "{found:#?}");
    assert!(codes.contains(&"value-mismatch"), "{found:#?}");
    assert!(codes.contains(&"invalid-value"), "{found:#?}");
    assert!(
        found
            .iter()
            .any(|(_, message, _)| message.contains("`joined` is the expiry")),
        "{found:#?}"
    );
    let found = login_mistakes(&[(
        "joined: { from: offer }",
        "joined: { from: issuance, value: issued }",
    )]);
    assert!(found.is_empty(), "{found:#?}");
    // Anything but `issued` or `expires` is refused by the schema.
    let found = login_mistakes(&[(
        "joined: { from: offer }",
        "joined: { from: issuance, value: now }",
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "invalid-value");
}

/// A bundle whose French overlays lack attribute information still shows its card and labels in
/// French: a warning that passes CI. Without its French labels, the card shows raw attribute
/// names: an error, while the missing information stays a warning.
#[test]
fn a_missing_information_overlay_is_a_warning_and_a_missing_label_an_error() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(
        &repo().join("tests/fixtures/check/missing-information"),
        dir.path(),
    );
    let severities = |report: &serde_json::Value| -> Vec<(String, String)> {
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let text = |key: &str| d[key].as_str().unwrap_or_default().to_string();
                (text("code"), text("severity"))
            })
            .collect()
    };
    let (status, report) = check_json(dir.path(), &[]);
    assert_eq!(
        severities(&report),
        [("missing-information".to_string(), "warning".to_string())]
    );
    assert_eq!(status, 0, "a warning alone passes");
    let (status, _) = check_json(dir.path(), &["--deny-warnings"]);
    assert_eq!(status, 1, "--deny-warnings fails on it");

    let file = dir.path().join("OCABundle.json");
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    bundle[0]["overlays"]
        .as_array_mut()
        .unwrap()
        .retain(|o| !(o["type"] == "spec/overlays/label/1.0" && o["language"] == "fr"));
    std::fs::write(&file, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    let (status, report) = check_json(dir.path(), &[]);
    let mut found = severities(&report);
    found.sort();
    assert_eq!(
        found,
        [
            ("missing-information".to_string(), "warning".to_string()),
            ("missing-locale".to_string(), "error".to_string()),
        ]
    );
    assert_eq!(status, 1, "a missing label overlay fails the check");
}

/// A credential whose OCA bundle lacks the attribute information of one of the framework's
/// locales is reported at its `oca_bundle` and in the bundle, as a warning: the shipped example
/// still checks without errors.
#[test]
fn a_credential_bundle_without_information_in_a_locale_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["governance", "oca-bundles"] {
        crate::common::copy_dir(&repo().join(folder), &dir.path().join(folder));
    }
    let file = dir.path().join("oca-bundles/lsbc/lawyer/OCABundle.json");
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let overlays = bundle[0]["overlays"].as_array_mut().unwrap();
    let before = overlays.len();
    overlays.retain(|o| !(o["type"] == "spec/overlays/information/1.0" && o["language"] == "fr"));
    assert_eq!(
        overlays.len(),
        before - 1,
        "the example has French information"
    );
    std::fs::write(&file, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();

    let (status, report) = check_json(dir.path(), &[]);
    let found: Vec<(&str, &str, &str)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["severity"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "missing-information",
                "warning",
                "governance/lsbc-membership.yaml"
            ),
            (
                "missing-information",
                "warning",
                "oca-bundles/lsbc/lawyer/OCABundle.json"
            ),
        ],
        "{report:#}"
    );
    assert_eq!(status, 0, "warnings alone pass");
}
