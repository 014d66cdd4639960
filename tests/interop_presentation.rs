//! Interoperability of `trustc serve` as an OpenID4VP 1.0 verifier during issuance: the shipped
//! example's lawyer case, end to end, with two live instances and a wallet we did not write.
//!
//! The governance says the Law Society issues the Lawyer credential only to a holder who presents
//! the Person credential the province issued, and copies `given_names` and `family_name` from it
//! (`governance/lsbc-membership.yaml`). This test runs the real binary twice on the repository:
//!
//! - the province (`--participant bc-digital-identity/bc-gov`) issues a Person SD-JWT VC whose `iss`
//!   is its dev identifier `did:web:dev.credentials.gov.bc.example`, and serves that DID document;
//! - the Law Society (`--participant lsbc-membership/lsbc`, `--resolve` mapping the province's
//!   did:web host to its loopback address, public URL `http://localhost:<port>` because under
//!   `x509_san_dns:` the wallet requires the response URI's host to be the certificate's dNSName)
//!   offers the Lawyer credential with an authorization code grant and asks for the Person
//!   credential with OpenID4VP through the authorization challenge endpoint.
//!
//! `tests/interop/presentation.mjs` is the holder: `@openid4vc/openid4vci` and `/openid4vp` 0.4.6,
//! `dcql` 3.0.0 and `@sd-jwt/sd-jwt-vc` 0.19.0, pinned in `tests/interop/package-lock.json`. The
//! matrix covers both holder key types, both response modes and both x509 client identifier
//! prefixes; the Lawyer credential's names must be the Person credential's, its issuer and type
//! the Law Society's, the offer's audit must record the verification, and the IETF reference
//! implementation (`tests/interop/verify_didweb.py`, on `verify_sdjwt.py`) must verify both
//! credentials through their issuers' DID documents. Then one test per way a wallet can spoil the
//! exchange (`TAMPER_MODES` in presentation.mjs): each must be refused at the right step, with an
//! audit record where the server can link it to the offer, and no Lawyer credential may come of it.
//! `presentation_tamper_modes_spoil_what_they_name` checks the wallet's tamper helpers themselves,
//! without a server.
//!
//! Installation and skipping are `interop_serve.rs`'s: the npm packages in
//! `target/tmp/interop-node/`, the Python ones in `target/tmp/interop-python/`; `SKIPPED` without
//! node and npm (without python3 only the Python part), unless `TRUSTC_REQUIRE_INTEROP=1`.
//!
//! Every test here runs against the real binary (`presentation_tamper_modes_spoil_what_they_name`
//! needs no server: it checks the wallet's tamper helpers themselves).

#![cfg(feature = "serve")]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::repo;
use crate::interop::node_client;
use crate::interop_serve::{Response, ServeProcess, http, python_verifier, run_with_timeout};
use crate::serve::person_claims;

/// The province's identifier in the `dev` environment (`governance/bc-digital-identity.yaml`).
const PERSON_ISSUER: &str = "did:web:dev.credentials.gov.bc.example";
/// The Law Society's identifier in the `dev` environment (`governance/lsbc-membership.yaml`).
pub(crate) const LAWYER_ISSUER: &str = "did:web:dev.credentials.lawsociety.bc.example";
const PERSON_VCT: &str = "https://credentials.gov.bc.example/person/v1";
pub(crate) const LAWYER_VCT: &str = "https://credentials.lawsociety.bc.example/lawyer/v1";

/// The audit's outcome of a presentation that verified, and of one that was refused.
pub(crate) const VERIFIED: &str = "verified";
const REFUSED: &str = "refused";

/// How long one run of the wallet may take (a run takes one or two seconds).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Each test runs two servers and node; one scenario at a time keeps a small machine responsive
/// and the timings honest.
static ONE_SCENARIO_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How the Law Society's verifier is configured, and which key the holder has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Case {
    /// The holder key's algorithm (Person and Lawyer key proofs, the key-binding JWT).
    pub(crate) alg: &'static str,
    /// `--response-mode`: `direct_post` or `direct_post.jwt`.
    response_mode: &'static str,
    /// `--client-id-prefix`: `x509_san_dns` or `x509_hash`.
    prefix: &'static str,
}

pub(crate) const MATRIX: [Case; 3] = [
    Case {
        alg: "ES256",
        response_mode: "direct_post",
        prefix: "x509_san_dns",
    },
    Case {
        alg: "EdDSA",
        response_mode: "direct_post.jwt",
        prefix: "x509_hash",
    },
    Case {
        alg: "ES256",
        response_mode: "direct_post.jwt",
        prefix: "x509_san_dns",
    },
];

/// The Law Society's own claims of the Lawyer offer: no names, they come from the presentation.
pub(crate) fn lawyer_offer_claims() -> Value {
    json!({
        "member_id": "512345",
        "member_status": "practising",
        "called_to_bar": "2015-09-18",
        "expiry_date": "2027-01-31"
    })
}

#[test]
fn lawyer_credential_takes_the_names_of_the_presented_person_credential() {
    const TEST: &str = "lawyer_credential_takes_the_names_of_the_presented_person_credential";
    let Some(client) = node_client(TEST) else {
        return;
    };
    let scenario = Scenario::start();
    let python = python_verifier(TEST);
    let started = Instant::now();
    let province = Instance::province(scenario.dir());

    for (index, case) in MATRIX.into_iter().enumerate() {
        let dir = scenario.dir().join(format!("case-{index}"));
        fs::create_dir_all(&dir).unwrap();
        let law_society = Instance::law_society(&dir, &province, case);
        let context = format!("{case:?}");

        if index == 0 {
            // The names are the presentation's: a back end that sends them is refused.
            let mut claims = lawyer_offer_claims();
            claims["given_names"] = json!("Someone Else");
            claims["family_name"] = json!("Typed In");
            let refused = http(
                "POST",
                &format!("{}/admin/offers", law_society.url),
                None,
                Some(&json!({"credential": "lawyer", "claims": claims})),
            );
            assert_eq!(
                refused.status, 422,
                "a Lawyer offer with names the governance takes from the Person credential: \
                 {refused:?}"
            );
        }

        let person = receive_person(&client, &province, &law_society, &dir, case);
        let (offer_id, lawyer) =
            present_and_receive_lawyer(&client, &province, &law_society, &dir, &person, case, None);
        check_lawyer_flow(&lawyer, &person, case, &law_society);

        let view = offer_view(&law_society, &offer_id);
        assert_eq!(view["state"], "issued", "{context}: {view:#}");
        let verifications = verifications(&view);
        assert!(
            matches!(
                verifications,
                [v] if v["outcome"] == VERIFIED
                    && v["issuer"] == PERSON_ISSUER
                    && v["vct"] == PERSON_VCT
                    && v["prerequisite"] == "person"
            ),
            "{context}: the offer's audit records the one verification, its rule, issuer and \
             type: {view:#}"
        );

        if let Some(python) = &python {
            let verified = python_script(
                python,
                &dir,
                &json!({
                    "resolve": resolve_map(&province, &law_society),
                    "holders": {
                        "person": python_holder(&person["checked"], &person["credential"]),
                        "lawyer": python_holder(&lawyer["checked"], &lawyer["credential"]),
                    },
                }),
                &law_society,
            );
            check_python(&verified, &person, &lawyer, &context);
        }
        drop(law_society);
    }
    // Written to the real stderr, past the test harness's output capture.
    let _ = writeln!(
        std::io::stderr(),
        "{TEST}: {} Lawyer credentials issued after a presentation in {:.1} s{}",
        MATRIX.len(),
        started.elapsed().as_secs_f64(),
        if python.is_some() {
            ", checked by sd-jwt 0.10.4 too"
        } else {
            " (the Python verifier was skipped)"
        }
    );
}

/// What the wallet saw of the successful flow, step by step.
fn check_lawyer_flow(lawyer: &Value, person: &Value, case: Case, law_society: &Instance) {
    let context = format!("{case:?} (what the wallet saw: {lawyer:#})");
    for outcome in ["refused", "accepted", "failure"] {
        assert!(
            lawyer[outcome].is_null(),
            "{case:?}: the flow ran through, yet `{outcome}`: {:#}",
            lawyer[outcome]
        );
    }
    assert_eq!(
        lawyer["offer"]["grants"],
        json!(["authorization_code"]),
        "{context}: the Lawyer offer"
    );
    assert_eq!(lawyer["offer"]["issuer_state"], true, "{context}");
    let server = &lawyer["authorization_server"];
    assert!(
        server["authorization_challenge_endpoint"].is_string(),
        "{context}: the AS metadata"
    );
    assert!(
        server["code_challenge_methods_supported"]
            .as_array()
            .is_some_and(|methods| methods.contains(&json!("S256"))),
        "{context}: PKCE S256"
    );
    assert_eq!(
        lawyer["challenge"]["flow"], "PresentationDuringIssuance",
        "{context}"
    );

    // The request: by reference, signed with the development certificate, for this prefix.
    let request = &lawyer["request"];
    let client_id = request["client_id"].as_str().unwrap_or_default();
    assert!(
        client_id.starts_with(&format!("{}:", case.prefix)),
        "{context}: the client identifier {client_id}"
    );
    if case.prefix == "x509_san_dns" {
        assert_eq!(client_id, "x509_san_dns:localhost", "{context}");
    }
    assert_eq!(
        request["client"],
        json!({
            "prefix": case.prefix,
            "identifier": client_id.split_once(':').map_or("", |(_, id)| id),
            "effective": client_id,
        }),
        "{context}"
    );
    assert!(request["request_uri"].is_string(), "{context}");
    assert!(
        matches!(
            request["request_uri_method"].as_str(),
            None | Some("get" | "post")
        ),
        "{context}: request_uri_method, lower case if present"
    );
    assert_eq!(request["jar"]["send_by"], "reference", "{context}");
    assert_eq!(
        request["jar"]["header"]["typ"], "oauth-authz-req+jwt",
        "{context}"
    );
    assert!(
        request["jar"]["x5c_length"].as_u64() >= Some(1),
        "{context}"
    );
    assert_eq!(request["certificate"]["trusted"], true, "{context}");
    assert_eq!(
        request["certificate"]["signature_verified"], true,
        "{context}"
    );
    assert_eq!(request["version"], 100, "{context}: OpenID4VP 1.0");
    assert_eq!(request["response_type"], "vp_token", "{context}");
    assert_eq!(request["response_mode"], case.response_mode, "{context}");
    let response_uri = request["response_uri"].as_str().unwrap_or_default();
    assert!(
        response_uri.starts_with(&law_society.public_url),
        "{context}: the response URI is the Law Society's public URL"
    );
    assert_eq!(request["nonce"], true, "{context}");

    // The DCQL query the governance's prerequisite compiles to.
    let query = &request["dcql_query"]["credentials"];
    assert_eq!(query.as_array().map(Vec::len), Some(1), "{context}");
    assert_eq!(query[0]["id"], "person", "{context}");
    assert_eq!(query[0]["format"], "dc+sd-jwt", "{context}");
    assert_eq!(
        query[0]["meta"]["vct_values"],
        json!([PERSON_VCT]),
        "{context}"
    );
    let mut paths: Vec<String> = query[0]["claims"]
        .as_array()
        .map(|claims| claims.iter().map(|c| c["path"].to_string()).collect())
        .unwrap_or_default();
    paths.sort();
    assert_eq!(
        paths,
        [r#"["family_name"]"#, r#"["given_names"]"#],
        "{context}: the claims the rule copies"
    );
    assert_eq!(
        lawyer["dcql"],
        json!({"query_id": "person", "frame": {"given_names": true, "family_name": true}}),
        "{context}"
    );

    // The presentation: the two names only, bound to this verifier and request.
    let presentation = &lawyer["presentation"];
    assert_eq!(
        presentation["disclosed"],
        json!(["family_name", "given_names"]),
        "{context}"
    );
    assert_eq!(
        presentation["kb_header"],
        json!({"typ": "kb+jwt", "alg": case.alg}),
        "{context}"
    );
    assert_eq!(
        presentation["kb"]["aud"], client_id,
        "{context}: the full client id"
    );
    if case.response_mode == "direct_post.jwt" {
        let header = &lawyer["response"]["jwe_header"];
        assert_eq!(header["alg"], "ECDH-ES", "{context}");
        assert!(
            matches!(header["enc"].as_str(), Some("A128GCM" | "A256GCM")),
            "{context}"
        );
        assert!(header["kid"].is_string(), "{context}: the verifier's key");
    } else {
        assert_eq!(lawyer["response"]["jwe_header"], Value::Null, "{context}");
    }
    let answer = &lawyer["verifier_response"];
    assert_eq!(answer["status"], 200, "{context}");
    assert!(
        answer["content_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("application/json")),
        "{context}"
    );
    assert!(
        answer["body"]["presentation_during_issuance_session"].is_string(),
        "{context}"
    );
    assert_eq!(lawyer["authorization_code"]["issued"], true, "{context}");
    assert_eq!(lawyer["token"]["token_type"], "Bearer", "{context}");

    // The Lawyer credential: the Law Society's, with the Person credential's names.
    let checked = &lawyer["checked"];
    let person_claims = &person["checked"]["claims"];
    assert_eq!(checked["registered"]["iss"], LAWYER_ISSUER, "{context}");
    assert_eq!(checked["registered"]["vct"], LAWYER_VCT, "{context}");
    assert_eq!(checked["header"]["typ"], "dc+sd-jwt", "{context}");
    assert_eq!(
        checked["issuer_keys"],
        json!({
            "source": "did:web",
            "document_id": LAWYER_ISSUER,
            "kid_found": true,
            "in_assertion_method": true,
        }),
        "{context}: the key from the Law Society's DID document"
    );
    let mut expected = lawyer_offer_claims();
    expected["given_names"] = person_claims["given_names"].clone();
    expected["family_name"] = person_claims["family_name"].clone();
    assert_eq!(
        checked["claims"], expected,
        "{context}: the offer's claims and the presented names"
    );
    assert_eq!(checked["cnf_is_holder_key"], true, "{context}");
    assert_eq!(lawyer["person_cnf_is_lawyer_cnf"], true, "{context}");
    assert_eq!(checked["status"], 0, "{context}: the status list entry");
}

/// Receives a Person credential from the province with a `case.alg` holder key; what the wallet
/// reported (the credential, the private key, and what it checked).
pub(crate) fn receive_person(
    client: &Path,
    province: &Instance,
    law_society: &Instance,
    dir: &Path,
    case: Case,
) -> Value {
    let offer = create_offer(
        province,
        &json!({"credential": "person", "claims": person_claims()}),
    );
    let person = node_script(
        client,
        dir,
        "person",
        &json!({
            "offer": offer["credential_offer"],
            "tx_code": offer["tx_code"],
            "alg": case.alg,
            "resolve": resolve_map(province, law_society),
        }),
        &[province, law_society],
    );
    assert!(
        person["refused"].is_null(),
        "the province refused the Person offer, {case:?}: {person:#}"
    );
    let checked = &person["checked"];
    let context = format!("the Person credential, {case:?}: {checked:#}");
    assert_eq!(checked["registered"]["iss"], PERSON_ISSUER, "{context}");
    assert_eq!(checked["registered"]["vct"], PERSON_VCT, "{context}");
    assert_eq!(
        checked["issuer_keys"],
        json!({
            "source": "did:web",
            "document_id": PERSON_ISSUER,
            "kid_found": true,
            "in_assertion_method": true,
        }),
        "{context}: the key from the province's DID document"
    );
    assert_eq!(checked["cnf_is_holder_key"], true, "{context}");
    assert_eq!(checked["status"], 0, "{context}");
    let mut issued = person_claims();
    issued["region"] = json!("BC");
    assert_eq!(checked["claims"], issued, "{context}");
    person
}

/// Creates a Lawyer offer and runs the wallet's `lawyer` flow on it (spoiled by `tamper`); the
/// offer's id and what the wallet reported.
fn present_and_receive_lawyer(
    client: &Path,
    province: &Instance,
    law_society: &Instance,
    dir: &Path,
    person: &Value,
    case: Case,
    tamper: Option<&str>,
) -> (String, Value) {
    let offer = create_offer(
        law_society,
        &json!({"credential": "lawyer", "claims": lawyer_offer_claims()}),
    );
    let id = offer["id"].as_str().unwrap().to_string();
    let lawyer = node_script(
        client,
        dir,
        "lawyer",
        &json!({
            "offer": offer["credential_offer"],
            "person_credential": person["credential"],
            "holder_jwk_private": person["holder_jwk_private"],
            "alg": case.alg,
            "resolve": resolve_map(province, law_society),
            "tamper": tamper,
        }),
        &[province, law_society],
    );
    (id, lawyer)
}

// --- The wallet spoils one step; the server must refuse it ------------------------------------

/// What the offer's audit must show after a refused attempt.
#[derive(Clone, Copy, Debug)]
enum Audit {
    /// The presentation reached the verifier, which linked it to the offer and refused it.
    Refused,
    /// The presentation verified; the refusal came at a later OAuth step.
    Verified,
    /// A first presentation verified, the replayed one was refused.
    VerifiedThenRefused,
    /// The server cannot link the attempt to this offer (no presentation, an unknown `state`, a
    /// body too large to read): nothing verified.
    NothingVerified,
}

/// Where a spoiled flow must end.
struct Expected {
    /// The wallet's step name (presentation.mjs) the server refuses.
    step: &'static str,
    audit: Audit,
    /// Words of which the server's explanation (error description or audit reason) names at
    /// least one, so that each refusal says what was wrong; empty when the status says enough.
    words: &'static [&'static str],
}

/// Runs the flow with `tamper` under `case` and checks the refusal and that nothing was issued.
fn refused(test: &str, tamper: &str, case: Case, expected: Expected) {
    let Some(client) = node_client(test) else {
        return;
    };
    let scenario = Scenario::start();
    let dir = scenario.dir();
    let province = Instance::province(dir);
    let law_society = Instance::law_society(dir, &province, case);
    let person = receive_person(&client, &province, &law_society, dir, case);
    let (offer_id, lawyer) = present_and_receive_lawyer(
        &client,
        &province,
        &law_society,
        dir,
        &person,
        case,
        Some(tamper),
    );
    let view = offer_view(&law_society, &offer_id);
    let context = format!(
        "{tamper} ({case:?})\nwhat the wallet saw: {lawyer:#}\nthe offer: {view:#}\nthe Law \
         Society's log:\n{}",
        law_society.log()
    );

    assert!(
        lawyer["accepted"].is_null(),
        "{tamper}: the server accepted the spoiled step; {context}"
    );
    let refusal = &lawyer["refused"];
    assert_eq!(
        refusal["step"], expected.step,
        "{tamper}: refused at the step spoiled; {context}"
    );
    let status = refusal["status"].as_u64().unwrap_or(0);
    if tamper == "huge-vp-token" {
        assert!(
            matches!(status, 400 | 413),
            "{tamper}: too large (413, or 400); {context}"
        );
    } else {
        assert!(
            (400..500).contains(&status),
            "{tamper}: a client error; {context}"
        );
        let error = refusal["error"]
            .as_str()
            .or_else(|| refusal["body"]["error"].as_str());
        assert!(
            error.is_some_and(|e| !e.is_empty()),
            "{tamper}: an OAuth error code; {context}"
        );
    }
    if expected.step == "response" {
        assert_eq!(
            lawyer["code_after_refusal"]["accepted"], false,
            "{tamper}: no authorization code after a refused presentation; {context}"
        );
    }
    if tamper == "wrong-pkce" {
        assert_eq!(
            refusal["error"], "invalid_grant",
            "RFC 7636 §4.6; {context}"
        );
    }

    // Nothing was issued, and the audit says what happened.
    assert_ne!(view["state"], "issued", "{context}");
    assert!(
        view["credentials"].as_array().is_none_or(Vec::is_empty),
        "no credential issued; {context}"
    );
    let verifications = verifications(&view);
    let count = |outcome: &str| {
        verifications
            .iter()
            .filter(|v| v["outcome"] == outcome)
            .count()
    };
    let (verified, refused) = (count(VERIFIED), count(REFUSED));
    match expected.audit {
        Audit::Refused => assert!(
            verified == 0 && refused >= 1,
            "{tamper}: the refusal is audited; {context}"
        ),
        Audit::Verified => assert!(
            verified == 1 && refused == 0,
            "{tamper}: the presentation itself verified; {context}"
        ),
        Audit::VerifiedThenRefused => assert!(
            verified == 1 && refused >= 1,
            "{tamper}: the first response verified, the replay refused and audited; {context}"
        ),
        Audit::NothingVerified => assert_eq!(verified, 0, "{tamper}: {context}"),
    }
    for entry in verifications.iter().filter(|v| v["outcome"] == REFUSED) {
        assert!(
            entry["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{tamper}: a refused verification says why; {context}"
        );
    }
    if !expected.words.is_empty() {
        let explanation = [
            refusal["error_description"].as_str().unwrap_or_default(),
            refusal["body"]["error_description"]
                .as_str()
                .unwrap_or_default(),
        ]
        .into_iter()
        .chain(verifications.iter().filter_map(|v| v["reason"].as_str()))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
        assert!(
            expected.words.iter().any(|word| explanation.contains(word)),
            "{tamper}: the explanation names what was wrong (one of {:?}): {explanation:?}; \
             {context}",
            expected.words
        );
    }
}

/// The default case of the refusal tests.
const PLAIN: Case = MATRIX[0];
/// The encrypted response under the hash prefix: the JWE paths of the refusals.
const ENCRYPTED: Case = MATRIX[1];

#[test]
fn presentation_refused_aud_without_prefix() {
    refused(
        "presentation_refused_aud_without_prefix",
        "aud-without-prefix",
        PLAIN,
        Expected {
            step: "response",
            audit: Audit::Refused,
            words: &["aud"],
        },
    );
}

#[test]
fn presentation_refused_wrong_aud() {
    refused(
        "presentation_refused_wrong_aud",
        "wrong-aud",
        ENCRYPTED,
        Expected {
            step: "response",
            audit: Audit::Refused,
            words: &["aud"],
        },
    );
}

#[test]
fn presentation_refused_wrong_nonce() {
    refused(
        "presentation_refused_wrong_nonce",
        "wrong-nonce",
        PLAIN,
        Expected {
            step: "response",
            audit: Audit::Refused,
            words: &["nonce"],
        },
    );
}

#[test]
fn presentation_refused_stale_iat() {
    refused(
        "presentation_refused_stale_iat",
        "stale-iat",
        PLAIN,
        Expected {
            step: "response",
            audit: Audit::Refused,
            words: &["iat", "issued", "stale", "old", "fresh"],
        },
    );
}

#[test]
fn presentation_refused_tampered_disclosure() {
    refused(
        "presentation_refused_tampered_disclosure",
        "tampered-disclosure",
        PLAIN,
        Expected {
            step: "response",
            audit: Audit::Refused,
            words: &["disclosure", "digest"],
        },
    );
}

#[test]
fn presentation_refused_extra_undisclosed() {
    refused(
        "presentation_refused_extra_undisclosed",
        "extra-undisclosed",
        PLAIN,
        Expected {
            step: "response",
            audit: Audit::Refused,
            words: &["family_name"],
        },
    );
}

#[test]
fn presentation_refused_replay() {
    refused(
        "presentation_refused_replay",
        "replay",
        ENCRYPTED,
        Expected {
            step: "response-replay",
            audit: Audit::VerifiedThenRefused,
            words: &["replay", "already", "once", "used"],
        },
    );
}

#[test]
fn presentation_refused_reuse_session() {
    refused(
        "presentation_refused_reuse_session",
        "reuse-session",
        PLAIN,
        Expected {
            step: "authorization-code-reuse",
            audit: Audit::Verified,
            words: &[],
        },
    );
}

#[test]
fn presentation_refused_no_presentation() {
    refused(
        "presentation_refused_no_presentation",
        "no-presentation",
        PLAIN,
        Expected {
            step: "authorization-code",
            audit: Audit::NothingVerified,
            words: &[],
        },
    );
}

#[test]
fn presentation_refused_wrong_pkce() {
    refused(
        "presentation_refused_wrong_pkce",
        "wrong-pkce",
        PLAIN,
        Expected {
            step: "token",
            audit: Audit::Verified,
            words: &[],
        },
    );
}

#[test]
fn presentation_refused_wrong_state() {
    refused(
        "presentation_refused_wrong_state",
        "wrong-state",
        ENCRYPTED,
        Expected {
            step: "response",
            audit: Audit::NothingVerified,
            words: &["state"],
        },
    );
}

#[test]
fn presentation_refused_huge_vp_token() {
    refused(
        "presentation_refused_huge_vp_token",
        "huge-vp-token",
        PLAIN,
        Expected {
            step: "response",
            audit: Audit::NothingVerified,
            words: &[],
        },
    );
}

/// The wallet's tamper helpers, on a Person credential the script issues itself (no server): each
/// spoils exactly what it names, so a refusal in the tests above is the server's doing.
#[test]
fn presentation_tamper_modes_spoil_what_they_name() {
    let Some(client) = node_client("presentation_tamper_modes_spoil_what_they_name") else {
        return;
    };
    let mut node = node(&client, "presentation.mjs");
    node.arg("self-test");
    let run = run_with_timeout(node, SCRIPT_TIMEOUT, "node presentation.mjs self-test");
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "the self-test's summary parses ({e}): {}\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        )
    });
    assert!(run.status.success(), "{summary:#}");
    assert_eq!(
        summary["modes"].as_array().map(Vec::len),
        Some(12),
        "{summary:#}"
    );
    for alg in ["ES256", "EdDSA"] {
        let report = &summary["algs"][alg];
        assert_eq!(
            report["frame"],
            json!({"given_names": true, "family_name": true}),
            "{alg}: dcql matched the two names: {report:#}"
        );
        let mode = |name: &str| &report["modes"][name];
        let context = |name: &str| format!("{alg} {name}: {:#}", report["modes"][name]);
        let names = json!(["family_name", "given_names"]);
        let all = json!({"given_names": "Alex Jordan", "family_name": "Tremblay", "birthdate": "1990-04-17"});

        let honest = mode("honest");
        assert_eq!(honest["disclosed"], names, "{}", context("honest"));
        assert_eq!(honest["kb_header"], json!({"typ": "kb+jwt", "alg": alg}));
        assert_eq!(honest["kb_aud"], "x509_san_dns:localhost");
        assert_eq!(honest["kb_nonce_is_requests"], true);
        assert!(honest["kb_iat_age"].as_i64() <= Some(5));
        assert_eq!(honest["sd_hash_matches"], true);
        assert_eq!(
            honest["sdjwt_verify"],
            json!({"ok": true, "claims": all}),
            "{}",
            context("honest")
        );

        // Only the audience differs; @sd-jwt does not check it (the verifier must).
        assert_eq!(mode("aud-without-prefix")["kb_aud"], "localhost");
        assert_eq!(
            mode("wrong-aud")["kb_aud"],
            "x509_san_dns:another-verifier.example"
        );
        for name in ["aud-without-prefix", "wrong-aud"] {
            assert_eq!(mode(name)["sdjwt_verify"]["ok"], true, "{}", context(name));
            assert_eq!(mode(name)["kb_nonce_is_requests"], true);
        }
        // Another nonce: @sd-jwt refuses it.
        assert_eq!(mode("wrong-nonce")["kb_nonce_is_requests"], false);
        assert_eq!(
            mode("wrong-nonce")["sdjwt_verify"]["ok"],
            false,
            "{}",
            context("wrong-nonce")
        );
        // An hour old; @sd-jwt only checks that iat is there.
        assert!(
            mode("stale-iat")["kb_iat_age"]
                .as_i64()
                .is_some_and(|age| (3600..3610).contains(&age)),
            "{}",
            context("stale-iat")
        );
        assert_eq!(mode("stale-iat")["sdjwt_verify"]["ok"], true);
        // A changed disclosure under a valid key binding: its digest is in no `_sd`, and @sd-jwt
        // silently drops it (the verifier must refuse instead).
        let tampered = mode("tampered-disclosure");
        assert_eq!(
            tampered["disclosed"],
            names,
            "{}",
            context("tampered-disclosure")
        );
        assert_eq!(tampered["sd_hash_matches"], true);
        assert_eq!(tampered["kb_nonce_is_requests"], true);
        assert_eq!(
            tampered["sdjwt_verify"]["claims"]["given_names"],
            Value::Null,
            "{}",
            context("tampered-disclosure")
        );
        // family_name withheld, all else honest.
        let withheld = mode("extra-undisclosed");
        assert_eq!(withheld["disclosed"], json!(["given_names"]));
        assert_eq!(withheld["sdjwt_verify"]["ok"], true);
        assert_eq!(
            withheld["sdjwt_verify"]["claims"]["family_name"],
            Value::Null
        );
        // About 1 MiB.
        assert!(
            mode("huge-vp-token")["bytes"]
                .as_u64()
                .is_some_and(|bytes| bytes >= 1 << 20),
            "{}",
            context("huge-vp-token")
        );
    }
}

// --- Helpers -----------------------------------------------------------------------------------

/// The did:web hosts of the two participants and where the test serves them.
pub(crate) fn resolve_map(province: &Instance, law_society: &Instance) -> Value {
    json!({
        "dev.credentials.gov.bc.example": province.url,
        "dev.credentials.lawsociety.bc.example": law_society.url,
    })
}

/// One holder of `verify_didweb.py`'s state: the credential and the presentation the wallet made
/// of it for a verifier other than trustc.
fn python_holder(checked: &Value, credential: &Value) -> Value {
    json!({
        "credential": credential,
        "presentation": checked["presentation"]["presentation"],
        "aud": checked["presentation"]["aud"],
        "nonce": checked["presentation"]["nonce"],
    })
}

/// What sd-jwt 0.10.4 saw, against what the wallet saw.
fn check_python(verified: &Value, person: &Value, lawyer: &Value, context: &str) {
    assert_eq!(verified["sd_jwt_version"], "0.10.4", "the pinned reference");
    for (name, issuer, wallet) in [
        ("person", PERSON_ISSUER, person),
        ("lawyer", LAWYER_ISSUER, lawyer),
    ] {
        let report = &verified["holders"][name];
        let context = format!("{context}: {name} (what sd-jwt 0.10.4 saw: {report:#})");
        assert_eq!(report["did_document"]["id"], issuer, "{context}");
        assert_eq!(report["header"]["typ"], "dc+sd-jwt", "{context}");
        assert_eq!(
            report["claims"], wallet["checked"]["claims"],
            "{context}: the verified claims"
        );
        assert_eq!(
            report["vct"], wallet["checked"]["registered"]["vct"],
            "{context}"
        );
        assert_eq!(report["pyjwt_verified"], true, "{context}");
        assert_eq!(report["unreferenced_disclosures"], 0, "{context}");
        assert_eq!(
            report["presentation"]["kb_alg"], wallet["alg"],
            "{context}: the key binding verified with the holder key"
        );
        assert!(
            report["presentation"]["wrong_nonce_rejected"].is_string(),
            "{context}"
        );
        assert_eq!(report["status_value"], 0, "{context}");
    }
}

/// `POST /admin/offers` (open with `--dev`); the answer, which must be 201.
pub(crate) fn create_offer(instance: &Instance, request: &Value) -> Value {
    let response = http(
        "POST",
        &format!("{}/admin/offers", instance.url),
        None,
        Some(request),
    );
    assert_eq!(
        response.status,
        201,
        "POST /admin/offers {request}: {response:?}\n{}",
        instance.log()
    );
    response.json()
}

/// `GET /admin/offers/{id}`.
pub(crate) fn offer_view(instance: &Instance, id: &str) -> Value {
    let response: Response = http(
        "GET",
        &format!("{}/admin/offers/{id}", instance.url),
        None,
        None,
    );
    assert_eq!(response.status, 200, "GET /admin/offers/{id}: {response:?}");
    response.json()
}

/// The offer's audit of verifications.
pub(crate) fn verifications(view: &Value) -> &[Value] {
    view["verifications"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
}

/// Runs `presentation.mjs COMMAND INPUT.json` with `input`; its JSON summary. A failure of the
/// wallet itself fails the test with what it said and the servers' logs.
fn node_script(
    client: &Path,
    dir: &Path,
    command: &str,
    input: &Value,
    servers: &[&dyn Logged],
) -> Value {
    let input_path = write_input(dir, &format!("{command}-input.json"), input);
    let mut node = node(client, "presentation.mjs");
    node.arg(command).arg(&input_path);
    script_summary(
        node,
        &format!("node presentation.mjs {command}"),
        "",
        servers,
    )
}

/// Runs `verify_didweb.py` on `state`; its JSON summary.
fn python_script(python: &Path, dir: &Path, state: &Value, law_society: &Instance) -> Value {
    let state_path = write_input(dir, "python-state.json", state);
    let mut command = Command::new(python);
    command
        .arg(repo().join("tests/interop/verify_didweb.py"))
        .arg(&state_path);
    script_summary(command, "python verify_didweb.py", "", &[law_society])
}

// --- Running the scripts: shared with `interop_login.rs` and `interop_journey.rs` ---------------

/// One scenario's hold on the machine: the lock that runs scenarios one at a time, and a fresh
/// folder, removed before the lock is let go.
pub(crate) struct Scenario {
    temporary: TempDir,
    _one: MutexGuard<'static, ()>,
}

impl Scenario {
    /// Waits for the scenario before to end, then makes the folder.
    pub(crate) fn start() -> Scenario {
        let one = ONE_SCENARIO_AT_A_TIME
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Scenario {
            temporary: tempfile::tempdir().unwrap(),
            _one: one,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.temporary.path()
    }
}

/// A process whose log a failed script's message shows: a `trustc serve`, a login provider.
pub(crate) trait Logged {
    fn name(&self) -> &str;
    fn log_text(&self) -> String;
}

impl Logged for ServeProcess {
    fn name(&self) -> &str {
        self.name
    }
    fn log_text(&self) -> String {
        self.log()
    }
}

/// Writes `input` as JSON to `file` in `dir`, for a script to read; its path.
pub(crate) fn write_input(dir: &Path, file: &str, input: &Value) -> PathBuf {
    let path = dir.join(file);
    fs::write(&path, serde_json::to_vec_pretty(input).unwrap()).unwrap();
    path
}

/// `node SCRIPT`, a script of the client folder, run in that folder.
pub(crate) fn node(client: &Path, script: &str) -> Command {
    let mut node = Command::new("node");
    node.arg(client.join(script)).current_dir(client);
    node
}

/// Runs `command`, a script that prints one JSON summary, within [`SCRIPT_TIMEOUT`]; the
/// summary. A run that fails or prints no JSON fails the test with `what` and what it said,
/// `note`, and the logs of `processes`.
pub(crate) fn script_summary(
    command: Command,
    what: &str,
    note: &str,
    processes: &[&dyn Logged],
) -> Value {
    let run = run_with_timeout(command, SCRIPT_TIMEOUT, what);
    let stdout = String::from_utf8_lossy(&run.stdout);
    match serde_json::from_str::<Value>(&stdout) {
        Ok(summary) if run.status.success() => summary,
        _ => panic!(
            "`{what}` failed ({}). {note}\nstdout:\n{stdout}\nstderr:\n{}\n{}",
            run.status,
            String::from_utf8_lossy(&run.stderr),
            processes
                .iter()
                .map(|p| format!("{} log:\n{}", p.name(), p.log_text()))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A live `trustc serve` of the example (`interop_serve.rs`), as the province or the Law Society.
pub(crate) type Instance = ServeProcess;

impl ServeProcess {
    /// The province: issues Person credentials under its dev identifier.
    pub(crate) fn province(dir: &Path) -> ServeProcess {
        ServeProcess::start("province", dir, None, province_arguments)
    }

    /// The Law Society: verifies the Person credential (the province's did:web host mapped to its
    /// loopback address) under `case`'s prefix and response mode, and issues Lawyer credentials.
    pub(crate) fn law_society(dir: &Path, province: &Instance, case: Case) -> ServeProcess {
        ServeProcess::start("law society", dir, None, |port| {
            let (mut args, public_url) = law_society_arguments(port, province);
            args.extend([
                "--client-id-prefix".into(),
                case.prefix.into(),
                "--response-mode".into(),
                case.response_mode.into(),
            ]);
            (args, public_url)
        })
    }
}

/// The province's arguments on `port`, and its public URL.
pub(crate) fn province_arguments(port: u16) -> (Vec<String>, String) {
    (
        vec!["--participant".into(), "bc-digital-identity/bc-gov".into()],
        format!("http://127.0.0.1:{port}"),
    )
}

/// The Law Society's arguments on `port` (its public URL `http://localhost:<port>`, the
/// province's did:web host mapped to its loopback address), and its public URL.
pub(crate) fn law_society_arguments(port: u16, province: &Instance) -> (Vec<String>, String) {
    let public_url = format!("http://localhost:{port}");
    (
        vec![
            "--public-url".into(),
            public_url.clone(),
            "--participant".into(),
            "lsbc-membership/lsbc".into(),
            "--resolve".into(),
            format!("dev.credentials.gov.bc.example={}", province.url),
        ],
        public_url,
    )
}
