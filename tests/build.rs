//! `trustc build`: golden outputs of the shipped example, determinism, what the outputs must pass
//! (bcgov's bundle schema, trustc's own check, the configuration's schema), repository templates,
//! and the rules that protect users' folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{codes, copy_dir, corpus, names_in, repo, status, stderr, stdout, trustc};

/// Builds `dir` into `out` (absolute), with `extra` arguments.
fn build(dir: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    let mut args = vec!["build", ".", "--out", out, "--color", "never"];
    args.extend_from_slice(extra);
    trustc(dir, &args)
}

/// Builds `dir` and fails the test with the diagnostics when the build fails.
fn build_ok(dir: &Path, out: &Path, extra: &[&str]) {
    let output = build(dir, out, extra);
    assert_eq!(status(&output), 0, "the build fails:\n{}", stderr(&output));
}

/// Every file under `out` (except trustc's marker), by `/`-separated path.
fn files(out: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if name != ".trustc-build" {
                    files.insert(name, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    let mut map = BTreeMap::new();
    walk(out, out, &mut map);
    map
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("the output is JSON")
}

/// A copy of the minimal valid repository with `overlay` copied on top.
fn minimal_with(overlay: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("tests/fixtures/check/valid-minimal"),
        dir.path(),
    );
    if let Some(overlay) = overlay {
        copy_dir(overlay, dir.path());
    }
    dir
}

/// Replaces the payload of data: URLs (inlined images) by their length, so snapshots stay
/// readable; the images themselves are compared byte for byte elsewhere.
fn redact(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with("data:") => {
            if let Some((header, payload)) = s.split_once(',') {
                *s = format!("{header},<{} base64 characters>", payload.len());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::Object(map) => map.values_mut().for_each(redact),
        _ => {}
    }
}

fn snapshot_settings(folder: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots").join(folder));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn the_example_builds_to_the_golden_outputs() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("out");
    build_ok(&repo(), &out, &[]);
    let files = files(&out);
    let expected = [
        ".well-known/oauth-authorization-server",
        ".well-known/openid-credential-issuer",
        "anoncreds/lawyer.json",
        "anoncreds/person.json",
        "docs/lawyer.md",
        "docs/person.md",
        "integrations/acapy/supported-credentials.json",
        "integrations/credo/issuer.json",
        "issuer/config.json",
        "oca/bc-digital-identity/person/OCABundle.json",
        "oca/lsbc/lawyer/OCABundle.json",
        "oca/ocabundles.json",
        "oca/ocabundleslist.json",
        "schemas/lawyer.schema.json",
        "schemas/person.schema.json",
        "trust/registry.json",
        "vct/lawyer.json",
        "vct/person.json",
        "verifier/lawyer.dcql.json",
    ];
    for path in expected {
        assert!(files.contains_key(path), "the build has no {path}");
    }
    // Person has no prerequisite: there is nothing to ask a holder for before issuing it.
    assert!(!files.contains_key("verifier/person.dcql.json"));
    let settings = snapshot_settings("build/example");
    settings.bind(|| {
        for (path, bytes) in &files {
            let name = path.replace('/', "__").trim_start_matches('.').to_string();
            let rendered = if path.ends_with(".md") {
                String::from_utf8(bytes.clone()).unwrap()
            } else if trustc::build::is_json_output(path) {
                let mut value = json(bytes);
                redact(&mut value);
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                format!("{} bytes", bytes.len())
            };
            insta::assert_snapshot!(name, rendered);
        }
    });
}

#[test]
fn builds_are_byte_identical() {
    let temp = tempfile::tempdir().unwrap();
    let (first, second) = (temp.path().join("first"), temp.path().join("second"));
    build_ok(&repo(), &first, &[]);
    build_ok(&repo(), &second, &["--jobs", "1"]);
    let (a, b) = (files(&first), files(&second));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{path} differs between two builds");
    }
    // Building again over an earlier output gives the same bytes too.
    build_ok(&repo(), &first, &[]);
    assert!(files(&first) == a, "a rebuild over the output changes it");
}

#[test]
fn generated_bundles_pass_bcgovs_schema_and_trustcs_check() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("out");
    build_ok(&repo(), &out, &[]);
    let bundles: Vec<(String, Vec<u8>)> = files(&out)
        .into_iter()
        .filter(|(p, _)| p.ends_with("/OCABundle.json"))
        .collect();
    assert_eq!(bundles.len(), 2, "one bundle per credential");

    // trustc's own check: digests, index hashes, branding, images.
    let output = trustc(&out, &["check", ".", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    // The lawyer's images are copied and published (`delivery: copy`): wallets load them from a
    // remote server, which the check warns about; nothing else may be reported.
    let found = codes(&report);
    assert!(
        found.iter().all(|c| c == "remote-image"),
        "the build output checks clean: {found:?}"
    );
    assert_eq!(report["summary"]["errors"], 0);
    assert_eq!(report["summary"]["oca_bundles"], 2);
    assert_eq!(report["summary"]["indexes"], 2);

    // bcgov's own CI schema.
    let Some(corpus) = corpus("generated_bundles_pass_bcgovs_schema") else {
        return;
    };
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("OCABundles/validators/schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("bcgov's schema compiles");
    for (path, bytes) in &bundles {
        let errors: Vec<String> = validator
            .iter_errors(&json(bytes))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{path} fails bcgov's schema: {errors:#?}"
        );
    }
}

#[test]
fn the_issuer_configuration_matches_its_schema_and_reads_back() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("out");
    build_ok(&repo(), &out, &[]);
    let text = std::fs::read_to_string(out.join("issuer/config.json")).unwrap();
    let schema: Value = serde_json::from_str(trustc::schema::ISSUER_CONFIG_SCHEMA_TEXT).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "config.json fails its schema: {errors:#?}"
    );

    let config = trustc_artifact::IssuerConfig::from_json(&text).expect("the runtime can load it");
    assert_eq!(config.environment, trustc_artifact::Environment::Dev);
    assert_eq!(config.credential_issuer, "http://127.0.0.1:8080");
    let lawyer = config.credential("lawyer").unwrap();
    assert_eq!(lawyer.framework, "lsbc-membership");
    assert_eq!(lawyer.framework_version, "1.0.0");
    // Prerequisite: the Person credential from the province, with its dev identifier.
    let person = &lawyer.prerequisites[0];
    assert_eq!(person.credential, "bc-digital-identity/person");
    assert_eq!(
        person.vct.as_deref(),
        Some("https://credentials.gov.bc.example/person/v1")
    );
    assert_eq!(
        person.trusted_issuers[0].identifiers,
        ["did:web:dev.credentials.gov.bc.example"]
    );
    // The name is copied from the Person credential; member_id is never selectively disclosable.
    assert!(lawyer.claims.iter().any(|c| c.claim == "given_names"
        && c.source
            == trustc_artifact::Source::Prerequisite {
                prerequisite: "person".into(),
                claim: "given_names".into()
            }));
    assert!(
        !lawyer
            .disclosure_frame
            .sd
            .contains(&"member_id".to_string())
    );
    assert!(
        lawyer
            .disclosure_frame
            .sd
            .contains(&"called_to_bar".to_string())
    );
    // Labels come from the OCA bundle when the governance has none.
    let given = lawyer.attribute("given_names").unwrap();
    assert_eq!(given.display[1].locale, "fr");
    assert_eq!(given.display[1].label, "Prénoms");
    // The DCQL query asks for the Person credential by its vct, under the prerequisite's id, for
    // the claims the rule lists, in its order; `verifier/lawyer.dcql.json` is that query.
    let query = lawyer
        .dcql_query
        .as_ref()
        .expect("the lawyer has a DCQL query");
    assert_eq!(
        serde_json::to_value(query).unwrap(),
        serde_json::json!({"credentials": [{
            "id": "person",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.gov.bc.example/person/v1"]},
            "claims": [{"path": ["given_names"]}, {"path": ["family_name"]}]
        }]})
    );
    let written = json(&std::fs::read(out.join("verifier/lawyer.dcql.json")).unwrap());
    assert_eq!(written, serde_json::to_value(query).unwrap());
    assert!(config.credential("person").unwrap().dcql_query.is_none());
    // The member signs in to the Law Society's portal; nothing required waits for an offer.
    let login = lawyer.authentication.login.as_ref().unwrap();
    assert_eq!(login.provider, "lsbc-membership/lsbc-member-portal");
    assert!(login.wallet_initiated);
    assert!(config.login_provider(&login.provider).is_some());
    assert_eq!(lawyer.validity.as_ref().unwrap().duration, "P1Y");

    // An edited file is refused by the runtime's loader.
    let tampered = text.replacen("\"P1Y\"", "\"P9Y\"", 1);
    assert!(trustc_artifact::IssuerConfig::from_json(&tampered).is_err());
}

#[test]
fn the_environment_selects_the_identifiers() {
    let temp = tempfile::tempdir().unwrap();
    let (dev, prod) = (temp.path().join("dev"), temp.path().join("prod"));
    build_ok(&repo(), &dev, &[]);
    build_ok(
        &repo(),
        &prod,
        &[
            "--env",
            "prod",
            "--issuer-url",
            "https://credentials.gov.bc.example",
        ],
    );
    let config = json(&std::fs::read(prod.join("issuer/config.json")).unwrap());
    assert_eq!(config["environment"], "prod");
    let person = &config["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "person")
        .unwrap()["issuers"][0];
    assert_eq!(
        person["identifiers"],
        serde_json::json!([
            "did:web:credentials.gov.bc.example",
            "https://credentials.gov.bc.example"
        ])
    );
    let metadata = json(&std::fs::read(prod.join(".well-known/openid-credential-issuer")).unwrap());
    assert_eq!(
        metadata["credential_issuer"],
        "https://credentials.gov.bc.example"
    );
    assert_eq!(
        metadata["credential_endpoint"],
        "https://credentials.gov.bc.example/credential"
    );
    let registry = json(&std::fs::read(prod.join("trust/registry.json")).unwrap());
    assert_eq!(registry["environment"], "prod");
    let entities: Vec<&str> = registry["authorizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["entity_id"].as_str().unwrap())
        .collect();
    assert!(entities.contains(&"did:web:credentials.lawsociety.bc.example"));
    assert!(!entities.iter().any(|e| e.contains("dev.")), "{entities:?}");
    // Different environments, different content hashes.
    let dev_config = json(&std::fs::read(dev.join("issuer/config.json")).unwrap());
    assert_ne!(dev_config["content_hash"], config["content_hash"]);
}

#[test]
fn the_draft_13_profile_emits_draft_13_metadata() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("out");
    build_ok(&repo(), &out, &["--profile", "draft-13"]);
    let metadata = json(&std::fs::read(out.join(".well-known/openid-credential-issuer")).unwrap());
    let lawyer = &metadata["credential_configurations_supported"]["lawyer"];
    assert_eq!(lawyer["format"], "vc+sd-jwt");
    assert!(lawyer.get("credential_metadata").is_none());
    assert_eq!(lawyer["display"][0]["name"], "Lawyer");
    assert_eq!(lawyer["claims"]["member_id"]["mandatory"], true);
    assert_eq!(lawyer["order"][0], "given_names");
    // A scope only for credentials a wallet may start itself (a login without offer claims).
    let config = json(&std::fs::read(out.join("issuer/config.json")).unwrap());
    let wallet_initiated = config["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "lawyer")
        .unwrap()["authentication"]["login"]["wallet_initiated"]
        == true;
    assert_eq!(lawyer.get("scope").is_some(), wallet_initiated);
    assert!(metadata.get("nonce_endpoint").is_none());
    // The authorization server is the same in both profiles.
    let oauth = json(&std::fs::read(out.join(".well-known/oauth-authorization-server")).unwrap());
    assert_eq!(
        oauth["authorization_challenge_endpoint"],
        "http://127.0.0.1:8080/authorize-challenge"
    );
}

#[test]
fn without_prerequisites_there_is_no_presentation_during_issuance() {
    let dir = minimal_with(None);
    let out = dir.path().join("out");
    build_ok(
        dir.path(),
        &out,
        &["--issuer-url", "https://issuer.example"],
    );
    let files = files(&out);
    assert!(
        !files.keys().any(|path| path.starts_with("verifier/")),
        "no DCQL query without prerequisites: {:?}",
        files.keys().collect::<Vec<_>>()
    );
    let config = json(&files["issuer/config.json"]);
    for credential in config["credentials"].as_array().unwrap() {
        assert!(credential.get("dcql_query").is_none(), "{credential:#}");
    }
    let oauth = json(&files[".well-known/oauth-authorization-server"]);
    assert_eq!(
        oauth,
        serde_json::json!({
            "issuer": "https://issuer.example",
            "token_endpoint": "https://issuer.example/token",
            "grant_types_supported": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
            "pre-authorized_grant_anonymous_access_supported": true
        })
    );
    // Pre-authorised only: a wallet cannot start issuance itself, so no scope is advertised.
    let metadata = json(&files[".well-known/openid-credential-issuer"]);
    assert!(
        metadata["credential_configurations_supported"]["membership"]
            .get("scope")
            .is_none()
    );
}

#[test]
fn a_login_credential_compiles_its_provider_for_the_environment() {
    let repository = repo().join("tests/fixtures/check/valid-login");
    let out = tempfile::tempdir().unwrap();
    let dev = out.path().join("dev");
    let prod = out.path().join("prod");
    let issuer = ["--issuer-url", "https://issuer.example"];
    build_ok(&repository, &dev, &issuer);
    build_ok(
        &repository,
        &prod,
        &[&issuer[..], &["--env", "prod"]].concat(),
    );
    let config = json(&std::fs::read(dev.join("issuer/config.json")).unwrap());
    // Only the build's environment's settings; `openid` first, added or moved there.
    assert_eq!(
        config["login_providers"],
        serde_json::json!([
            {
                "id": "example/member-portal",
                "framework": "example",
                "name": {"en": "Member Portal"},
                "issuer": "http://localhost:8700",
                "client_id": "trustc-dev",
                "client_authentication": "client_secret_basic",
                "secret": {"env": "LOGIN_CLIENT_SECRET"},
                "scopes": ["openid", "profile", "member"]
            },
            {
                "id": "example/staff-directory",
                "framework": "example",
                "name": {"en": "Staff Directory"},
                "issuer": "http://127.0.0.1:8701",
                "client_id": "trustc",
                "client_authentication": "none",
                "scopes": ["openid"]
            }
        ])
    );
    let prod_config = json(&std::fs::read(prod.join("issuer/config.json")).unwrap());
    let portal = &prod_config["login_providers"][0];
    assert_eq!(
        portal["issuer"],
        "https://login.issuer.example/realms/members"
    );
    assert_eq!(portal["client_authentication"], "private_key_jwt");
    assert_eq!(
        portal["secret"],
        serde_json::json!({"env": "LOGIN_PRIVATE_KEY"})
    );

    let credential = |id: &str| {
        config["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let membership = credential("membership");
    assert_eq!(
        membership["authentication"],
        serde_json::json!({
            "method": "login",
            "login": {
                "provider": "example/member-portal",
                "assurance": {
                    "claim": {
                        "claim": "$['https://issuer.example/claims/assurance']",
                        "values": [3, "3"]
                    }
                },
                // `joined` comes from an offer, but it is optional: a wallet may start.
                "wallet_initiated": true
            }
        })
    );
    assert_eq!(
        membership["claims"][1],
        serde_json::json!({"claim": "locality", "source": {"from": "login", "claim": "$.address.locality"}})
    );
    let staff = credential("staff");
    assert_eq!(
        staff["authentication"]["login"],
        serde_json::json!({
            "provider": "example/staff-directory",
            "assurance": {"acr": ["urn:example:loa:2", "urn:example:loa:3"]},
            // The required `badge` waits for the issuer's offer.
            "wallet_initiated": false
        })
    );

    let oauth = json(&std::fs::read(dev.join(".well-known/oauth-authorization-server")).unwrap());
    assert_eq!(
        oauth,
        serde_json::json!({
            "issuer": "https://issuer.example",
            "token_endpoint": "https://issuer.example/token",
            "authorization_endpoint": "https://issuer.example/authorize",
            "pushed_authorization_request_endpoint": "https://issuer.example/par",
            "grant_types_supported": [
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                "authorization_code"
            ],
            "code_challenge_methods_supported": ["S256"],
            "response_types_supported": ["code"],
            "authorization_response_iss_parameter_supported": true,
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
            "token_endpoint_auth_methods_supported": ["none"],
            "pre-authorized_grant_anonymous_access_supported": true
        })
    );
    for profile in ["1.0", "draft-13"] {
        let out = out.path().join(profile);
        build_ok(
            &repository,
            &out,
            &[&issuer[..], &["--profile", profile]].concat(),
        );
        let metadata =
            json(&std::fs::read(out.join(".well-known/openid-credential-issuer")).unwrap());
        let configurations = &metadata["credential_configurations_supported"];
        assert_eq!(
            configurations["membership"]["scope"], "membership",
            "{profile}"
        );
        assert!(configurations["staff"].get("scope").is_none(), "{profile}");
    }
}

#[test]
fn repository_templates_override_built_in_ones_and_add_outputs() {
    let overlay = tempfile::tempdir().unwrap();
    let templates = overlay.path().join("templates");
    std::fs::create_dir_all(templates.join("docs")).unwrap();
    std::fs::create_dir_all(templates.join("wallet")).unwrap();
    std::fs::write(
        templates.join("docs/[credential].md.hbs"),
        "# {{credential.title}} ({{credential.id}})\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("wallet/[credential].txt.hbs"),
        "{{credential.vct}}\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("summary.txt.hbs"),
        "{{#each credentials}}{{id}} {{/each}}in {{environment}}\n",
    )
    .unwrap();
    let dir = minimal_with(Some(overlay.path()));
    let out = dir.path().join("out");
    build_ok(dir.path(), &out, &[]);
    let files = files(&out);
    assert_eq!(files["docs/membership.md"], b"# Membership (membership)\n");
    assert_eq!(
        files["wallet/membership.txt"],
        b"https://issuer.example/membership/v1\n"
    );
    assert_eq!(files["summary.txt"], b"membership in dev\n");
    // A credential without the anoncreds format gets no AnonCreds output.
    assert!(!files.contains_key("anoncreds/membership.json"));
    assert!(files.contains_key("vct/membership.json"));
}

#[test]
fn template_errors_point_into_the_template_and_nothing_is_written() {
    let root = repo().join("tests/fixtures/build");
    let names = names_in(&root);
    assert!(!names.is_empty());
    let settings = snapshot_settings("build");
    for name in names {
        let dir = minimal_with(Some(&root.join(&name)));
        let (rendered, report) = failed_build(dir.path(), &name);
        assert!(
            rendered.contains(&name),
            "fixture {name} does not report `{name}`:\n{rendered}"
        );
        assert!(codes(&report).contains(&name), "{name}: JSON report");
        settings.bind(|| insta::assert_snapshot!(name.clone(), rendered));
    }
}

#[test]
fn check_errors_stop_the_build_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("tests/fixtures/check/duplicate-id"),
        dir.path(),
    );
    let output = trustc(dir.path(), &["build", ".", "--out", "out"]);
    assert_eq!(status(&output), 1);
    assert!(stderr(&output).contains("duplicate-id"));
    assert!(stderr(&output).contains("nothing written"));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_folder_trustc_did_not_write_is_never_replaced() {
    let dir = minimal_with(None);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let output = build(dir.path(), &out, &[]);
    assert_eq!(status(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("was not written by `trustc build`"));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );

    // An earlier output is replaced as a whole: files no longer produced disappear.
    std::fs::remove_file(out.join("notes.txt")).unwrap();
    build_ok(dir.path(), &out, &[]);
    std::fs::write(out.join("stale.json"), "{}").unwrap();
    build_ok(dir.path(), &out, &[]);
    assert!(!out.join("stale.json").exists());
    assert!(out.join("issuer/config.json").is_file());
}

#[test]
fn the_issuer_url_must_be_https_or_loopback() {
    let dir = minimal_with(None);
    let out = dir.path().join("out");
    let output = build(dir.path(), &out, &["--issuer-url", "http://issuer.example"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("must be an https URL"));
    build_ok(dir.path(), &out, &["--issuer-url", "http://localhost:3000"]);
}

#[test]
fn built_in_templates_are_the_templates_folder() {
    let dir = repo().join("templates");
    let mut on_disk = Vec::new();
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else if path.extension().is_some_and(|e| e == "hbs") {
                found.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    walk(&dir, &dir, &mut on_disk);
    let mut on_disk: Vec<String> = on_disk
        .iter()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    on_disk.sort();
    let mut built_in: Vec<String> = trustc::build::templates::BUILT_IN
        .iter()
        .map(|(path, text)| {
            assert_eq!(
                std::fs::read_to_string(dir.join(path)).unwrap(),
                *text,
                "{path}"
            );
            path.to_string()
        })
        .collect();
    built_in.sort();
    assert_eq!(
        on_disk, built_in,
        "every template in templates/ is built in"
    );
}

#[test]
fn only_a_governance_repository_can_be_built() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("oca-bundles"), dir.path());
    let output = trustc(dir.path(), &["build", ".", "--out", "out"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("has no `governance/` folder"),
        "{}",
        stderr(&output)
    );

    // An output path that is a file is refused, and left alone.
    let dir = minimal_with(None);
    std::fs::write(dir.path().join("out"), "a file").unwrap();
    let output = trustc(dir.path(), &["build", ".", "--out", "out"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("is not a folder"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out")).unwrap(),
        "a file"
    );
}

/// Builds the minimal repository with `files` (path, text) added: [`failed_build`].
fn failed_build_with(files: &[(&str, &str)]) -> (String, Value) {
    let dir = minimal_with(None);
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    failed_build(dir.path(), "the build")
}

/// Builds the repository in `dir` in the human and JSON formats. Returns the human output and the
/// JSON report, after checking that both builds failed and wrote nothing; `what` names the case
/// in a failure.
fn failed_build(dir: &Path, what: &str) -> (String, Value) {
    let output = trustc(dir, &["build", ".", "--out", "out", "--color", "never"]);
    let rendered = stderr(&output);
    assert_eq!(status(&output), 1, "{what}: exit status\n{rendered}");
    assert!(
        !dir.join("out").exists(),
        "{what}: a failed build wrote its output"
    );
    let json_output = trustc(dir, &["build", ".", "--out", "out", "--format", "json"]);
    assert_eq!(status(&json_output), 1, "{what}: exit status (JSON)");
    let report: Value = serde_json::from_str(&stdout(&json_output)).unwrap();
    assert!(
        !dir.join("out").exists(),
        "{what}: a failed build wrote its output"
    );
    (rendered, report)
}

/// The diagnostics of a JSON report with `code`, as (file, line, column, message).
fn diagnostics_of(report: &Value, code: &str) -> Vec<(Value, Value, Value, String)> {
    fn find(value: &Value, code: &str, found: &mut Vec<(Value, Value, Value, String)>) {
        match value {
            Value::Object(map) => {
                if map.get("code").and_then(Value::as_str) == Some(code) {
                    found.push((
                        map.get("file").cloned().unwrap_or(Value::Null),
                        map.get("line").cloned().unwrap_or(Value::Null),
                        map.get("column").cloned().unwrap_or(Value::Null),
                        map.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    ));
                }
                map.values().for_each(|v| find(v, code, found));
            }
            Value::Array(items) => items.iter().for_each(|v| find(v, code, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    find(report, code, &mut found);
    found
}

#[test]
fn partials_that_include_each_other_are_an_error_not_a_crash() {
    let (rendered, report) = failed_build_with(&[
        ("templates/partials/pa.hbs", "{{> pb}}\n"),
        ("templates/partials/pb.hbs", "{{> pa}}\n"),
        ("templates/x.txt.hbs", "{{> pa}}\n"),
    ]);
    assert!(rendered.contains("template-render"), "{rendered}");
    let found = diagnostics_of(&report, "template-render");
    assert_eq!(found.len(), 1, "{found:?}");
    let (file, line, column, message) = &found[0];
    assert_eq!(file, "templates/partials/pb.hbs");
    assert_eq!((line, column), (&Value::from(1), &Value::from(1)));
    assert!(message.contains("`pa` → `pb` → `pa`"), "{message}");

    // An inline partial that includes itself.
    let (_, report) = failed_build_with(&[(
        "templates/y.txt.hbs",
        "{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}\n",
    )]);
    let found = diagnostics_of(&report, "template-render");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "templates/y.txt.hbs");
    assert_eq!(found[0].2, 17);

    // A partial named by a computed value could do the same unseen.
    let (_, report) = failed_build_with(&[(
        "templates/z.txt.hbs",
        "{{> (lookup this \"environment\")}}\n",
    )]);
    let found = diagnostics_of(&report, "template-render");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].3.contains("computed"), "{found:?}");
}

#[test]
fn deeply_nested_templates_are_an_error_not_a_crash() {
    let deep = format!(
        "{}x{}\n",
        "{{#if true}}".repeat(5000),
        "{{/if}}".repeat(5000)
    );
    let (rendered, report) = failed_build_with(&[("templates/deep.txt.hbs", &deep)]);
    assert!(rendered.contains("input-too-complex"), "{rendered}");
    let found = diagnostics_of(&report, "input-too-complex");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "templates/deep.txt.hbs");
    // At the first block past the limit.
    assert_eq!(found[0].2, 1 + 64 * "{{#if true}}".len());

    // `{{else if}}` chains and subexpressions nest too.
    let chain = format!("{{{{#if a}}}}{}{{{{/if}}}}\n", "{{else if b}}".repeat(3000));
    let (_, report) = failed_build_with(&[("templates/chain.txt.hbs", &chain)]);
    assert_eq!(diagnostics_of(&report, "input-too-complex").len(), 1);
    let parens = format!(
        "{{{{json {}x{}}}}}\n",
        "(lookup ".repeat(3000),
        ")".repeat(3000)
    );
    let (_, report) = failed_build_with(&[("templates/parens.txt.hbs", &parens)]);
    assert_eq!(diagnostics_of(&report, "input-too-complex").len(), 1);

    // Partials count: ten partials of ten levels each, including the next one, nest 100 deep.
    let mut files: Vec<(String, String)> = (0..10)
        .map(|i| {
            (
                format!("templates/partials/p{i}.hbs"),
                format!(
                    "{}{}{}\n",
                    "{{#if true}}".repeat(10),
                    if i < 9 {
                        format!("{{{{> p{}}}}}", i + 1)
                    } else {
                        "x".into()
                    },
                    "{{/if}}".repeat(10)
                ),
            )
        })
        .collect();
    files.push(("templates/top.txt.hbs".into(), "{{> p0}}\n".into()));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let (_, report) = failed_build_with(&files);
    let found = diagnostics_of(&report, "input-too-complex");
    assert_eq!(found.len(), 1, "{found:?}");

    // Within the limit, it builds.
    let dir = minimal_with(None);
    let ok = format!("{}x{}\n", "{{#if true}}".repeat(60), "{{/if}}".repeat(60));
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/ok.txt.hbs"), ok).unwrap();
    build_ok(dir.path(), &dir.path().join("out"), &[]);
    assert_eq!(
        std::fs::read(dir.path().join("out/ok.txt")).unwrap(),
        b"x\n"
    );
}

#[test]
fn generated_bundles_that_trustc_check_rejects_are_an_error() {
    for bundle in [
        "\"x\"",
        "{}",
        "[]",
        "[{\"capture_base\":{},\"overlays\":[]}]",
    ] {
        let (rendered, report) =
            failed_build_with(&[("templates/oca/[oca]/OCABundle.json.hbs", bundle)]);
        let found = diagnostics_of(&report, "template-output");
        assert!(!found.is_empty(), "{bundle}: {rendered}");
        for (file, line, _, message) in &found {
            assert_eq!(file, "templates/oca/[oca]/OCABundle.json.hbs", "{bundle}");
            assert_eq!(line, 1);
            assert!(message.contains("trustc check"), "{bundle}: {message}");
        }
    }
}

#[test]
fn an_output_conflict_names_the_template() {
    let (_, report) = failed_build_with(&[("templates/issuer/config.json.hbs", "{}\n")]);
    let found = diagnostics_of(&report, "output-conflict");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "templates/issuer/config.json.hbs");
}
