//! Batch issuance and a lost response with third-party code against the live issuer: the npm
//! `@openid4vc/openid4vci` wallet (`tests/interop/batch.mjs`) sends three key proofs in one
//! credential request (ES256, EdDSA, ES256; one nonce), then loses the answer of a second request
//! (the connection is dropped once the issuer answered, before the body is read), is refused when
//! it resends that request (`invalid_nonce`) and gets the credential with a fresh nonce and the
//! same access token. The `@sd-jwt` libraries verify and present every credential, and the Python
//! `sd-jwt` reference implementation (`tests/interop/verify_sdjwt.py`) verifies them again: each
//! bound to its own key, each with its own status index; the admin API counts five credentials.
//!
//! Skipped (`SKIPPED`) like `interop_serve.rs` without node (or without python for the Python
//! part); `TRUSTC_REQUIRE_INTEROP=1` turns a skip into a failure.

#![cfg(feature = "serve")]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{repo, stderr, stdout};
use crate::interop::node_client;
use crate::interop_serve::{ServeProcess, http, python_verifier, run_with_timeout};
use crate::serve::person_claims;

const ADMIN_TOKEN: &str = "interop-batch-admin-token-4e2a9b";
const AUDIENCE: &str = "https://verifier.example/batch";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn a_wallet_library_gets_a_batch_and_recovers_a_lost_answer() {
    const TEST: &str = "a_wallet_library_gets_a_batch_and_recovers_a_lost_answer";
    let Some(client) = node_client(TEST) else {
        return;
    };
    let python = python_verifier(TEST);
    let temporary = tempfile::tempdir().unwrap();
    let server = ServeProcess::start("batch", temporary.path(), Some(ADMIN_TOKEN), |port| {
        (Vec::new(), format!("http://127.0.0.1:{port}"))
    });
    let issuer = server.url.clone();
    let created = http(
        "POST",
        &format!("{issuer}/admin/offers"),
        Some(ADMIN_TOKEN),
        Some(&json!({"credential": "person", "claims": person_claims(), "tx_code": true})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let offer = created.json();
    let input = temporary.path().join("input.json");
    let state = temporary.path().join("state.json");
    fs::write(
        &input,
        serde_json::to_vec(&json!({
            "issuer": issuer, "audience": AUDIENCE, "configuration": "person",
            "offer": offer["credential_offer"], "tx_code": offer["tx_code"],
            "algs": ["ES256", "EdDSA", "ES256"], "disclose": ["given_names"],
        }))
        .unwrap(),
    )
    .unwrap();

    let mut node = Command::new("node");
    node.arg(client.join("batch.mjs"))
        .arg(&input)
        .arg(&state)
        .current_dir(&client);
    let wallet = summary(
        &run_with_timeout(node, SCRIPT_TIMEOUT, "node batch.mjs"),
        "node batch.mjs",
        &server,
    );
    assert_eq!(
        wallet["batch_size"], 10,
        "the metadata's batch size: {wallet:#}"
    );
    assert_eq!(
        wallet["batch_returned"], 3,
        "one credential per proof: {wallet:#}"
    );
    assert_eq!(
        (&wallet["lost"]["status"], &wallet["lost"]["read"]),
        (&json!(200), &json!(false)),
        "the issuer answered the request whose answer was lost: {wallet:#}"
    );
    assert_eq!(
        (&wallet["resent"]["status"], &wallet["resent"]["error"]),
        (&json!(400), &json!("invalid_nonce")),
        "the lost request sent again is a replay: {wallet:#}"
    );
    assert_eq!(wallet["retry_returned"], 1, "{wallet:#}");
    let names = ["batch_1", "batch_2", "batch_3", "retry"];
    let mut indices = BTreeSet::new();
    for name in names {
        let report = &wallet["holders"][name];
        assert_eq!(report["cnf_is_holder_key"], true, "{name}: {wallet:#}");
        assert_eq!(
            report["presented"],
            json!(["given_names"]),
            "{name}: {report:#}"
        );
        indices.insert(report["status"]["idx"].as_u64().expect("a status index"));
    }
    assert_eq!(
        indices.len(),
        4,
        "each credential its own status index: {wallet:#}"
    );

    // The back end sees the five credentials (three, the lost one, its replacement).
    let id = offer["id"].as_str().unwrap();
    let view = http(
        "GET",
        &format!("{issuer}/admin/offers/{id}"),
        Some(ADMIN_TOKEN),
        None,
    )
    .json();
    assert_eq!(view["issued_count"], 5, "{view:#}");
    assert_eq!(
        view["credentials"].as_array().map(Vec::len),
        Some(5),
        "{view:#}"
    );

    let Some(python) = python else {
        return;
    };
    let mut command = Command::new(python);
    command
        .arg(repo().join("tests/interop/verify_sdjwt.py"))
        .arg(&server.url)
        .arg(&state);
    let verified = summary(
        &run_with_timeout(command, SCRIPT_TIMEOUT, "python verify_sdjwt.py"),
        "python verify_sdjwt.py",
        &server,
    );
    let mut keys = BTreeSet::new();
    for name in names {
        let report = &verified["holders"][name];
        let context = format!("{name} (what sd-jwt saw: {report:#})");
        assert_eq!(report["pyjwt_verified"], true, "{context}");
        assert_eq!(report["cnf_jwk"], wallet_cnf(&state, name), "{context}");
        assert_eq!(
            report["status"]["status_list"], wallet["holders"][name]["status"],
            "{context}"
        );
        assert_eq!(report["status_value"], 0, "{context}");
        assert_eq!(
            report["presentation"]["claims"]["given_names"], "Alex Jordan",
            "{context}"
        );
        keys.insert(report["cnf_jwk"].to_string());
    }
    assert_eq!(keys.len(), 4, "four keys, one credential each");
}

/// The `cnf.jwk` of a credential the wallet stored, read from its issuer-signed JWT.
fn wallet_cnf(state: &Path, name: &str) -> Value {
    let state: Value = serde_json::from_slice(&fs::read(state).unwrap()).unwrap();
    let credential = state["holders"][name]["credential"].as_str().unwrap();
    let payload = credential
        .split('~')
        .next()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["cnf"]["jwk"].clone()
}

/// A script's JSON summary, or a failure with everything it said and the server's log.
fn summary(run: &Output, what: &str, server: &ServeProcess) -> Value {
    match serde_json::from_str::<Value>(&stdout(run)).ok() {
        Some(summary) if run.status.success() => summary,
        _ => panic!(
            "`{what}` failed ({}).\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
            run.status,
            stdout(run),
            stderr(run),
            server.log()
        ),
    }
}
