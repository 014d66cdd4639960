//! Interoperability of `trustc serve`: third-party holders and verifiers against the live issuer.
//!
//! Our own runtime tests show the issuer does what we think OpenID4VCI 1.0, SD-JWT VC and Token
//! Status List require; they cannot show that wallets and verifiers written by others read it the
//! same way. This test runs the real `trustc` binary (`trustc serve` on the shipped example, with an
//! admin token, SQLite and a generated key in a temporary folder) and drives it with code we did not
//! write:
//!
//! - `tests/interop/issuance.mjs`, a wallet made of `@openid4vc/openid4vci` 0.4.6 (the OID4VCI
//!   engine of Credo) and the OpenWallet Foundation's `@sd-jwt/*` 0.19.0 libraries (pinned in
//!   `tests/interop/package-lock.json`). For offers the test creates through the admin API it
//!   resolves the offer and the metadata, redeems the pre-authorized code with the transaction code,
//!   proves possession of a fresh holder key (EdDSA for the Person credential, ES256 for the Lawyer
//!   credential and a second Person credential), receives the SD-JWT VC, verifies it (issuer key
//!   from `/.well-known/jwt-vc-issuer` by `kid`, disclosures, status list entry), presents some
//!   claims with a key-binding JWT and verifies the presentation. It also drives the negative
//!   cases a wallet can cause: a wrong transaction code and a reused pre-authorized code
//!   (`invalid_grant`), and a replayed key proof (`invalid_nonce`).
//! - The test then revokes the first Person offer through the admin API; the wallet reads the
//!   status lists again: the revoked credential's entry is 1 and it no longer verifies, the others
//!   are 0 and still verify.
//! - `tests/interop/verify_sdjwt.py`, an independent verifier on the IETF reference implementation
//!   (PyPI `sd-jwt` 0.10.4, with jwcrypto) and PyJWT, checks the same credentials and presentations
//!   and reads the status lists itself.
//!
//! Each script prints a JSON summary of what it saw; the assertions are here, against the claims
//! the test offered, so a failure shows both what was expected and what the clients reported.
//!
//! The clients are installed by the tests themselves: the npm packages with `npm ci` into
//! `target/tmp/interop-node/` (shared with `interop.rs`), the Python packages with pip into a
//! virtual environment `target/tmp/interop-python/` from `tests/interop/requirements.txt` (exact
//! pins; pip honours `PIP_INDEX_URL` and `PIP_FIND_LINKS`), each once per pin file and under a
//! file lock. Without node or npm the test prints `SKIPPED` and passes; without python3 (or its
//! `venv` module) only the Python part is skipped. `TRUSTC_REQUIRE_INTEROP=1` turns every skip
//! into a failure. When an installer cannot install (no network), the test fails with its output.
//!
//! Compiled with the `serve` feature only (the default): without it there is no `trustc serve`.

#![cfg(feature = "serve")]

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::common::{repo, stderr, stdout};
use crate::interop::{node_client, skip};
// The claims the back end offers: the same as the router tests'.
use crate::serve::person_claims;

/// The admin bearer token the server runs with (`TRUSTC_ADMIN_TOKEN`, at least 16 characters).
const ADMIN_TOKEN: &str = "interop-test-admin-token-7c1d2f";

/// How long the server may take to compile the governance and answer `/health`.
const STARTUP: Duration = Duration::from_secs(30);

/// How long one run of a client script may take (a run takes about a second).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The verifier the wallet's presentations are for (the `aud` of their key-binding JWTs).
const VERIFIER_AUDIENCE: &str = "https://verifier.example/interop";

/// One holder of the scenario: which offer it redeems and how.
struct Holder {
    /// The name the scripts report it under.
    name: &'static str,
    configuration: &'static str,
    /// The holder key's algorithm (the proof and the key-binding JWT).
    alg: &'static str,
    /// The claims the offer carries.
    offered: Value,
    /// The claims the credential must carry: the offered ones and the governance's constants.
    issued: Value,
    /// Issued in plain text by the governance (`disclosure: never`); every other claim is a
    /// disclosure.
    plain: &'static [&'static str],
    /// The selectively disclosable claims the holder presents.
    disclose: &'static [&'static str],
    /// Revoked by the test after issuance.
    revoked: bool,
}

fn holders() -> Vec<Holder> {
    let mut person_issued = person_claims();
    // `region` comes from the governance (`from: constant, value: BC`), not from the offer.
    person_issued["region"] = json!("BC");
    vec![
        Holder {
            name: "person",
            configuration: "person",
            alg: "EdDSA",
            offered: person_claims(),
            issued: person_issued.clone(),
            plain: &[],
            disclose: &["given_names", "locality"],
            revoked: true,
        },
        // A second Person credential from another offer: it receives the replayed proof, and it
        // shares the status list with the revoked one but must stay valid.
        Holder {
            name: "person_2",
            configuration: "person",
            alg: "ES256",
            offered: person_claims(),
            issued: person_issued,
            plain: &[],
            disclose: &["family_name", "birthdate"],
            revoked: false,
        },
    ]
}

#[test]
fn wallet_libraries_receive_present_and_lose_revoked_credentials() {
    const TEST: &str = "wallet_libraries_receive_present_and_lose_revoked_credentials";
    let started = Instant::now();
    let Some(client) = node_client(TEST) else {
        return;
    };
    let python = python_verifier(TEST);
    let temporary = tempfile::tempdir().unwrap();
    let server = ServeProcess::start("issuer", temporary.path(), Some(ADMIN_TOKEN), |port| {
        (Vec::new(), format!("http://127.0.0.1:{port}"))
    });
    let issuer = server.url.clone();

    // The admin API refuses requests without the token.
    let refused = http(
        "POST",
        &format!("{issuer}/admin/offers"),
        None,
        Some(&json!({"credential": "person", "claims": person_claims(), "tx_code": true})),
    );
    assert_eq!(
        refused.status, 401,
        "an offer without the admin token: {refused:?}"
    );

    let holders = holders();
    let mut offers = Map::new();
    let mut input = Vec::new();
    for holder in &holders {
        let offer = create_offer(&issuer, holder);
        input.push(json!({
            "name": holder.name,
            "configuration": holder.configuration,
            "offer": offer["credential_offer"],
            "tx_code": offer["tx_code"],
            "alg": holder.alg,
            "disclose": holder.disclose,
            // The negative checks: a wrong transaction code before and the code reused after
            // redeeming the first offer; the first holder's spent proof replayed for the last one.
            "wrong_tx_code": holder.name == "person",
            "reuse_code": holder.name == "person",
            "replay_proof_of": (holder.name == "person_2").then_some("person"),
        }));
        offers.insert(holder.name.into(), offer);
    }
    let input_path = temporary.path().join("input.json");
    let state_path = temporary.path().join("state.json");
    fs::write(
        &input_path,
        serde_json::to_vec_pretty(
            &json!({"issuer": issuer, "audience": VERIFIER_AUDIENCE, "holders": input}),
        )
        .unwrap(),
    )
    .unwrap();

    // The wallet receives, verifies and presents the credentials.
    let issued = node_script(
        &client,
        &server,
        &[
            "issue",
            input_path.to_str().unwrap(),
            state_path.to_str().unwrap(),
        ],
    );
    assert_eq!(
        issued["issuer_kids"].as_array().map(Vec::len),
        Some(1),
        "one issuer key in /.well-known/jwt-vc-issuer: {issued:#}"
    );
    for holder in &holders {
        check_issuance(holder, &issued["holders"][holder.name], &issuer);
    }
    let person = &issued["holders"]["person"];
    assert_eq!(
        error_of(&person["wrong_tx_code"]),
        (400, "invalid_grant"),
        "a wrong transaction code: {:#}",
        person["wrong_tx_code"]
    );
    assert_eq!(
        error_of(&person["reused_code"]),
        (400, "invalid_grant"),
        "a pre-authorized code used twice: {:#}",
        person["reused_code"]
    );
    let replayed = &issued["holders"]["person_2"]["replayed_proof"];
    assert_eq!(
        error_of(replayed),
        (400, "invalid_nonce"),
        "a key proof the issuer already accepted, sent again with a new access token: {replayed:#}"
    );

    // The admin API's view of each offer names the status list entry the wallet saw.
    for holder in &holders {
        let id = offers[holder.name]["id"].as_str().unwrap();
        let view = admin(&issuer, "GET", &format!("/admin/offers/{id}"), 200);
        assert_eq!(view["state"], "issued", "{}: {view:#}", holder.name);
        let status = &issued["holders"][holder.name]["registered"]["status"]["status_list"];
        let credentials = view["credentials"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        assert!(
            matches!(credentials, [c] if c["status_list"] == *status && c["revoked"] == false),
            "{}: the admin view names the one credential issued, with the status list entry the \
             wallet saw ({status}): {view:#}",
            holder.name
        );
        let attempts = if holder.name == "person" { 1 } else { 0 };
        assert_eq!(
            view["tx_code_attempts"], attempts,
            "{}: wrong transaction codes counted",
            holder.name
        );
    }

    // The back end revokes the first Person offer, and with it the credential it issued.
    for holder in holders.iter().filter(|h| h.revoked) {
        let id = offers[holder.name]["id"].as_str().unwrap();
        let view = admin(&issuer, "POST", &format!("/admin/offers/{id}/revoke"), 200);
        assert_eq!(view["state"], "revoked", "{}: {view:#}", holder.name);
        assert_eq!(
            view["credentials"][0]["revoked"], true,
            "{}: {view:#}",
            holder.name
        );
    }
    let after = node_script(
        &client,
        &server,
        &["after-revocation", state_path.to_str().unwrap()],
    );
    for holder in &holders {
        let report = &after["holders"][holder.name];
        let expected = u64::from(holder.revoked);
        assert_eq!(
            report["status_after"], expected,
            "{}: the status list entry after revocation (@sd-jwt/jwt-status-list): {report:#}",
            holder.name
        );
        if holder.revoked {
            assert_eq!(
                report["verify"]["ok"], false,
                "{}: a revoked credential must fail verification: {report:#}",
                holder.name
            );
            assert!(
                report["verify"]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("Status is not valid")),
                "{}: it fails for its status: {report:#}",
                holder.name
            );
        } else {
            assert_eq!(
                report["verify"],
                json!({"ok": true}),
                "{}: a credential that was not revoked still verifies: {report:#}",
                holder.name
            );
        }
    }

    // The independent verifier checks the same credentials and presentations.
    let verifiers = if python.is_some() {
        "the @sd-jwt libraries and sd-jwt 0.10.4"
    } else {
        "the @sd-jwt libraries (the Python verifier was skipped)"
    };
    if let Some(python) = python {
        let verified = python_script(&python, &server, &state_path);
        assert_eq!(
            verified["sd_jwt_version"], "0.10.4",
            "the pinned reference implementation"
        );
        for holder in &holders {
            check_python(
                holder,
                &verified["holders"][holder.name],
                &issued["holders"][holder.name],
                &verified["issuer_kids"],
            );
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "{TEST}: {} credentials issued, presented and checked with {verifiers} in {:.1} s",
        holders.len(),
        started.elapsed().as_secs_f64()
    );
}

/// What the wallet reported for one holder at issuance.
fn check_issuance(holder: &Holder, report: &Value, issuer: &str) {
    let name = holder.name;
    let context = format!("{name} (what the wallet saw: {report:#})");
    assert!(
        report.is_object(),
        "{name}: the wallet reported nothing for it"
    );
    assert_eq!(report["metadata_version"], "V1", "{context}");
    assert_eq!(
        report["offer"],
        json!({
            "credential_issuer": issuer,
            "credential_configuration_ids": [holder.configuration],
            "tx_code": {
                "input_mode": "numeric",
                "length": 6,
                "description": report["offer"]["tx_code"]["description"],
            },
        }),
        "{context}: the credential offer"
    );
    assert_eq!(
        report["token"]["token_type"], "Bearer",
        "{context}: the token response"
    );
    assert_eq!(
        report["proof_header"],
        json!({"alg": holder.alg, "typ": "openid4vci-proof+jwt"}),
        "{context}: the key proof the library made"
    );
    assert_eq!(report["credentials_returned"], 1, "{context}");
    assert_eq!(
        report["credential_header"]["typ"], "dc+sd-jwt",
        "{context}: SD-JWT VC typ"
    );
    assert_eq!(report["credential_header"]["alg"], "ES256", "{context}");
    assert_eq!(
        report["issuer_key_found"], true,
        "{context}: the header's kid names a key of /.well-known/jwt-vc-issuer"
    );

    // The claims: exactly what was offered (plus the governance's constants), each disclosable one
    // as a disclosure, the others in plain text.
    assert_eq!(
        report["claims"], holder.issued,
        "{name}: the verified credential's claims (offered: {}); {context}",
        holder.offered
    );
    let plain: Vec<&str> = holder.plain.to_vec();
    assert_eq!(
        report["plain"],
        json!(plain),
        "{context}: claims issued in plain text"
    );
    let mut disclosable: Vec<&str> = holder
        .issued
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| !plain.contains(k))
        .collect();
    disclosable.sort_unstable();
    assert_eq!(
        report["selectively_disclosable"],
        json!(disclosable),
        "{context}: claims issued as disclosures"
    );
    assert_eq!(report["disclosures"], disclosable.len(), "{context}");

    let registered = &report["registered"];
    assert_eq!(registered["iss"], issuer, "{context}");
    let vct = match holder.configuration {
        "person" => "https://credentials.gov.bc.example/person/v1",
        _ => "https://credentials.lawsociety.bc.example/lawyer/v1",
    };
    assert_eq!(registered["vct"], vct, "{context}");
    assert!(
        registered["iat"].is_i64() && registered["exp"].as_i64() > registered["iat"].as_i64(),
        "{context}: iat and exp"
    );
    assert_eq!(
        report["cnf_is_holder_key"], true,
        "{context}: cnf.jwk is the key the holder proved"
    );
    let status = &registered["status"]["status_list"];
    assert!(
        status["idx"].is_u64()
            && status["uri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with(&format!("{issuer}/status-lists/"))),
        "{context}: the status list reference"
    );
    assert_eq!(
        report["status_before"], 0,
        "{context}: the status list entry before revocation"
    );
    assert_eq!(
        report["status_list"],
        json!({
            "content_type": "application/statuslist+jwt",
            "typ": "statuslist+jwt",
            "kid": report["credential_header"]["kid"],
            "sub_is_uri": true,
            "bits": 1,
            "ttl": report["status_list"]["ttl"],
        }),
        "{context}: the status list token"
    );

    // The presentation: the chosen disclosures and every plain claim, nothing else.
    let presentation = &report["presentation"];
    let expected: Map<String, Value> = holder
        .issued
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| holder.disclose.contains(&k.as_str()) || plain.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        presentation["claims"],
        Value::Object(expected),
        "{context}: the presented claims"
    );
    assert_eq!(
        presentation["kb_header"],
        json!({"typ": "kb+jwt", "alg": holder.alg}),
        "{context}"
    );
    assert_eq!(presentation["kb_aud"], VERIFIER_AUDIENCE, "{context}");
    assert_eq!(presentation["kb_nonce_matches"], true, "{context}");
    assert_eq!(
        presentation["wrong_nonce"]["rejected"], true,
        "{context}: the verifier refuses the presentation for another nonce"
    );
}

/// What the Python verifier reported for one holder, against what the wallet saw.
fn check_python(holder: &Holder, report: &Value, wallet: &Value, issuer_kids: &Value) {
    let name = holder.name;
    let context = format!("{name} (what sd-jwt 0.10.4 saw: {report:#})");
    assert!(
        report.is_object(),
        "{name}: the Python verifier reported nothing for it"
    );
    assert_eq!(
        report["header"]["typ"], "dc+sd-jwt",
        "{context}: the issuer JWT's typ"
    );
    assert_eq!(report["header"]["alg"], "ES256", "{context}");
    assert_eq!(json!([report["header"]["kid"]]), *issuer_kids, "{context}");
    assert_eq!(
        report["claims"], holder.issued,
        "{context}: the verified claims"
    );
    assert_eq!(report["vct"], wallet["registered"]["vct"], "{context}");
    assert_eq!(
        report["cnf_jwk"], wallet["registered"]["cnf"]["jwk"],
        "{context}: the holder key"
    );
    assert_eq!(
        report["status"], wallet["registered"]["status"],
        "{context}"
    );
    assert_eq!(report["sd_alg"], "sha-256", "{context}");
    assert_eq!(
        report["disclosures"], wallet["disclosures"],
        "{context}: disclosures"
    );
    assert_eq!(
        report["digests"], report["disclosures"],
        "{context}: one digest per disclosure"
    );
    assert_eq!(report["unreferenced_disclosures"], 0, "{context}");
    assert_eq!(
        report["pyjwt_verified"], true,
        "{context}: PyJWT verifies the issuer JWT"
    );
    assert_eq!(
        report["presentation"]["kb_alg"], holder.alg,
        "{context}: the key-binding JWT verified with the holder key"
    );
    assert_eq!(
        report["presentation"]["claims"], wallet["presentation"]["claims"],
        "{context}: the presented claims"
    );
    assert!(
        report["presentation"]["wrong_nonce_rejected"].is_string(),
        "{context}: the presentation is refused for another nonce"
    );
    assert_eq!(
        report["status_value"],
        u64::from(holder.revoked),
        "{context}: the status list entry after revocation"
    );
    assert_eq!(
        report["status_list"]["typ"], "statuslist+jwt",
        "{context}: the status list token"
    );
    assert_eq!(report["status_list"]["sub_is_uri"], true, "{context}");
}

/// Creates an offer for `holder` through the admin API and checks the answer's shape.
fn create_offer(issuer: &str, holder: &Holder) -> Value {
    let request =
        json!({"credential": holder.configuration, "claims": holder.offered, "tx_code": true});
    let response = http(
        "POST",
        &format!("{issuer}/admin/offers"),
        Some(ADMIN_TOKEN),
        Some(&request),
    );
    assert_eq!(
        response.status, 201,
        "POST /admin/offers {request}: {response:?}"
    );
    let offer = response.json();
    let id = offer["id"].as_str().expect("the offer has an id");
    let uri = format!("{issuer}/credential-offers/{id}");
    assert_eq!(offer["credential_offer_uri"], uri, "{offer:#}");
    let encoded = uri.replace(':', "%3A").replace('/', "%2F");
    assert_eq!(
        offer["credential_offer"],
        format!("openid-credential-offer://?credential_offer_uri={encoded}"),
        "{offer:#}"
    );
    assert!(
        offer["tx_code"]
            .as_str()
            .is_some_and(|code| code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())),
        "the governance asks for a 6-digit numeric transaction code: {offer:#}"
    );
    offer
}

/// An admin API call with the token, expecting `status`; the JSON answer.
fn admin(issuer: &str, method: &str, path: &str, status: u16) -> Value {
    let response = http(method, &format!("{issuer}{path}"), Some(ADMIN_TOKEN), None);
    assert_eq!(response.status, status, "{method} {path}: {response:?}");
    response.json()
}

/// `(status, error)` of an error the wallet recorded.
fn error_of(report: &Value) -> (u64, &str) {
    (
        report["status"].as_u64().unwrap_or(0),
        report["error"].as_str().unwrap_or(""),
    )
}

/// Runs `issuance.mjs` with node from the installed client folder; its JSON summary.
fn node_script(client: &Path, server: &ServeProcess, args: &[&str]) -> Value {
    let mut node = Command::new("node");
    node.arg(client.join("issuance.mjs"))
        .args(args)
        .current_dir(client);
    let run = run_with_timeout(node, SCRIPT_TIMEOUT, "node issuance.mjs");
    summary(&run, &format!("node issuance.mjs {}", args[0]), server)
}

/// Runs `verify_sdjwt.py` with the virtual environment's python; its JSON summary.
fn python_script(python: &Path, server: &ServeProcess, state: &Path) -> Value {
    let mut command = Command::new(python);
    command
        .arg(repo().join("tests/interop/verify_sdjwt.py"))
        .arg(&server.url)
        .arg(state);
    let run = run_with_timeout(command, SCRIPT_TIMEOUT, "python verify_sdjwt.py");
    summary(&run, "python verify_sdjwt.py", server)
}

/// A script's JSON summary, or a failure with everything it said and the server's log.
fn summary(run: &Output, what: &str, server: &ServeProcess) -> Value {
    let parsed: Option<Value> = serde_json::from_str(&stdout(run)).ok();
    match parsed {
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

/// Runs `command`, killing it after `timeout`; its output.
pub(crate) fn run_with_timeout(mut command: Command, timeout: Duration, what: &str) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("`{what}` could not be started: {e}"));
    // Read both pipes while waiting, so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let err = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = err.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + timeout;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{what}` did not finish within {} s; it said:\n{}\n{}",
                timeout.as_secs(),
                String::from_utf8_lossy(&out.join().unwrap()),
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A `trustc serve` process on the shipped example, on a free loopback port, its state
/// (database, key and certificate) and log in a folder of the test's. Stopped (SIGTERM, then
/// SIGKILL) when dropped. `interop_presentation.rs` starts two, as the province and the Law
/// Society.
pub(crate) struct ServeProcess {
    /// Who it is, for messages ("issuer", "province", "law society").
    pub(crate) name: &'static str,
    child: Child,
    /// `http://127.0.0.1:<port>`: where the test reaches it.
    pub(crate) url: String,
    /// The URL wallets see (`--public-url`, or `url` without it).
    pub(crate) public_url: String,
    log: PathBuf,
}

impl ServeProcess {
    /// Starts `trustc serve` on the example with its credentials offered by the back end
    /// (`trustc_testkit::example`) with its database and key (`<name>.db`,
    /// `<name>-key.pem`) in `dir`, `TRUSTC_ADMIN_TOKEN` set to `admin_token` (`--dev` without
    /// one), plus the arguments `extra(port)` gives with the public URL they set, and waits
    /// until `/health` answers.
    pub(crate) fn start(
        name: &'static str,
        dir: &Path,
        admin_token: Option<&str>,
        extra: impl Fn(u16) -> (Vec<String>, String),
    ) -> ServeProcess {
        let governance = trustc_testkit::example::pre_authorized(&repo());
        ServeProcess::start_with_env(name, governance, dir, admin_token, &[], extra)
    }

    /// [`ServeProcess::start`] on the governance repository `governance` (the shipped example,
    /// whose credentials need a login, for the login tests) with `env` set for the server (a
    /// login provider's client secret).
    pub(crate) fn start_with_env(
        name: &'static str,
        governance: &Path,
        dir: &Path,
        admin_token: Option<&str>,
        env: &[(&str, &str)],
        extra: impl Fn(u16) -> (Vec<String>, String),
    ) -> ServeProcess {
        let slug = name.replace(' ', "-");
        // trustc binds the port itself: a free one is found by binding port 0 and releasing it.
        // Another process could take it in between, so a start that cannot listen is retried.
        let mut last = String::new();
        for attempt in 1..=3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let (args, public_url) = extra(port);
            let log = dir.join(format!("{slug}-{attempt}.log"));
            let output = File::create(&log).unwrap();
            let mut command = Command::new(env!("CARGO_BIN_EXE_trustc"));
            command
                .arg("serve")
                .arg(governance)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--db")
                .arg(format!(
                    "sqlite:{}",
                    dir.join(format!("{slug}.db")).display()
                ))
                .arg("--key")
                .arg(dir.join(format!("{slug}-key.pem")))
                .args(&args)
                .current_dir(dir)
                .env("NO_COLOR", "1")
                .env_remove("RUST_LOG")
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(output.try_clone().unwrap())
                .stderr(output);
            match admin_token {
                Some(token) => command.env("TRUSTC_ADMIN_TOKEN", token),
                None => command.arg("--dev").env_remove("TRUSTC_ADMIN_TOKEN"),
            };
            let child = command.spawn().expect("trustc serve starts");
            let mut server = ServeProcess {
                name,
                child,
                url: format!("http://127.0.0.1:{port}"),
                public_url,
                log,
            };
            match server.wait_healthy() {
                Ok(()) => return server,
                Err(message) if message.contains("cannot listen") => last = message,
                Err(message) => panic!("{message}"),
            }
        }
        panic!("the {name}'s trustc serve could not listen on a free port three times:\n{last}");
    }

    fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!(
                    "the {}'s trustc serve exited ({status}) before answering /health:\n{}",
                    self.name,
                    self.log()
                ));
            }
            // Only trustc's own health answer counts: another process could hold the port.
            if let Some(response) = try_http("GET", &format!("{}/health", self.url), None, None)
                && response.status == 200
                && serde_json::from_str::<Value>(&response.body)
                    .is_ok_and(|health| health["status"] == "ok")
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the {}'s trustc serve did not answer /health within {} s:\n{}",
                    self.name,
                    STARTUP.as_secs(),
                    self.log()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server logged so far.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // SIGTERM lets it finish gracefully; SIGKILL if it has not exited after five seconds.
        crate::common::stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// An HTTP answer.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the answer is JSON ({e}): {}", self.body))
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.body)
    }
}

/// One HTTP/1.1 request to the server (the test has no HTTP client crate, and needs little).
pub(crate) fn http(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> Response {
    try_http(method, url, token, body)
        .unwrap_or_else(|| panic!("{method} {url}: the server did not answer"))
}

/// [`http`], `None` when the connection fails or the answer is not HTTP.
pub(crate) fn try_http(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Option<Response> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let address: SocketAddr = host.parse().ok()?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8(answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("transfer-encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Some(Response { status, body })
}

/// The payload of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// The virtual environment's python with the pinned verifier packages, or `None` (with a
/// `SKIPPED` line) when python3 or its `venv` module is missing.
pub(crate) fn python_verifier(test: &str) -> Option<PathBuf> {
    const PART: &str = "the independent Python verifier of the issued credentials";
    let version = match Command::new("python3").arg("--version").output() {
        Ok(output) if output.status.success() => stdout(&output) + &stderr(&output),
        Ok(output) => panic!("`python3 --version` failed: {}", stderr(&output)),
        Err(error) if error.kind() == ErrorKind::NotFound => {
            skip(test, "python3", PART);
            return None;
        }
        Err(error) => panic!("`python3` could not be started: {error}"),
    };
    // Debian and Ubuntu ship `venv` without `ensurepip` unless python3-venv is installed.
    let venv = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
        .expect("python3 runs");
    if !venv.status.success() {
        skip(test, "the python3 venv module", PART);
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-python");
    install_python(&dir, version.trim());
    Some(dir.join("bin/python"))
}

/// Creates the virtual environment `dir` and installs `tests/interop/requirements.txt` into it,
/// unless it was already made from the same requirements by the same python3. A file lock
/// serialises concurrent test runs.
fn install_python(dir: &Path, python_version: &str) {
    fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let lock = File::create(dir.with_extension("lock")).unwrap();
    // SAFETY: `flock` on a descriptor this function owns; the lock is released when `lock` closes.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "{}", std::io::Error::last_os_error());

    let requirements = repo().join("tests/interop/requirements.txt");
    let wanted = format!(
        "{python_version}\n{}",
        fs::read_to_string(&requirements).unwrap()
    );
    // Written after a successful install.
    let installed = dir.join(".trustc-requirements.txt");
    if fs::read_to_string(&installed).ok().as_deref() == Some(wanted.as_str()) {
        return;
    }
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    let venv = Command::new("python3")
        .args(["-m", "venv"])
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        venv.status.success(),
        "`python3 -m venv {}` failed:\n{}{}",
        dir.display(),
        stdout(&venv),
        stderr(&venv)
    );
    // pip reads PIP_INDEX_URL, PIP_FIND_LINKS and its other settings from the environment.
    let pip = Command::new(dir.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--requirement",
        ])
        .arg(&requirements)
        .output()
        .expect("the virtual environment's python runs");
    assert!(
        pip.status.success(),
        "pip could not install the Python verifier (sd-jwt 0.10.4 and its dependencies, pinned in \
         tests/interop/requirements.txt) into {}. This test needs the package index (PyPI, or \
         PIP_INDEX_URL / PIP_FIND_LINKS) the first time (then the environment is reused); check \
         the network or pip's index and proxy settings.\npip said:\n{}{}",
        dir.display(),
        stdout(&pip),
        stderr(&pip)
    );
    fs::write(&installed, wanted).unwrap();
}
