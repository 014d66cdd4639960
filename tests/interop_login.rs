//! Interoperability of `trustc serve` when a credential is issued after a login (issue #17): a
//! real OpenID Provider, a wallet and a browser we did not write, against the real binary.
//!
//! - The provider is `tests/interop/op.mjs`, the development provider the docs tell issuers to
//!   start in one command: npm `oidc-provider` 9.13.3 (OpenID certified) with test accounts
//!   (`op_accounts.mjs`: alice has everything, bob too low an assurance, carol no birthdate, dave
//!   claims that do not fit their attributes), in `auto` mode (the next login is an account the
//!   test names, no forms) or `dev` mode (its real login and consent forms), its ID tokens and
//!   userinfo signed or also encrypted to trustc's key (`OP_ENCRYPT=1`), and test hooks that spoil
//!   the next ID token (`nonce`, `aud`, `iss`, `exp`, `signature`, `none`), hold or drop the next
//!   token request. The test starts it on a free port (`OP_READY <issuer>`), starts `trustc serve`
//!   on the shipped example with `--login-issuer <provider>=<issuer>` and the client secret in
//!   `TRUSTC_DEV_LOGIN_SECRET`, then registers trustc's callback and key URLs with the provider.
//!   `op_check.mjs` first proves the provider itself with `jose` as the relying party.
//! - The wallet is `tests/interop/login.mjs`: `@openid4vc/openid4vci` and `/oauth2` 0.4.6 (PAR,
//!   PKCE, `issuer_state`, the authorization challenge's `redirect_to_web`, the RFC 9207 `iss`
//!   check, DPoP), a fetch-and-cookie-jar browser between the redirects, and `@sd-jwt/sd-jwt-vc`
//!   checking the credential against the issuer's DID document. Wallet- and issuer-initiated, the
//!   Law Society's login plus the Person presentation, and each bad input a wallet or a provider
//!   can cause: each must be refused at the right step, and nothing issued.
//! - The web journey (`tests/interop/journey_login.mjs`): Debian's Chromium, driven by
//!   playwright-core, from the "Get your credential" page through the provider's login form to
//!   the offer page, whose offer the npm holder redeems.
//!
//! Installation and skipping are `interop.rs`'s (`SKIPPED` without node and npm, or Chromium for
//! the journey, unless `TRUSTC_REQUIRE_INTEROP=1`).

#![cfg(feature = "serve")]

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{repo, stop_child};
use crate::interop::node_client;
use crate::interop_journey::{browser_scenario, screenshots_folder};
use crate::interop_presentation::{
    LAWYER_ISSUER, LAWYER_VCT, Logged, Scenario, VERIFIED, create_offer, law_society_arguments,
    node, offer_view, province_arguments, resolve_map, script_summary, verifications, write_input,
};
use crate::interop_serve::{ServeProcess, http};

/// The example governance's login providers, qualified (`<framework>/<provider>`), as
/// `--login-issuer` names them.
const PROVINCE_PROVIDER: &str = "bc-digital-identity/bc-services-card";
const LAW_SOCIETY_PROVIDER: &str = "lsbc-membership/lsbc-member-portal";
/// The client secret of `trustc-dev` at the provider; trustc reads it from this variable.
const LOGIN_SECRET_VARIABLE: &str = "TRUSTC_DEV_LOGIN_SECRET";
const LOGIN_SECRET: &str = "interop-login-secret-4b9e0c";

const PERSON_ISSUER: &str = "did:web:dev.credentials.gov.bc.example";
const PERSON_VCT: &str = "https://credentials.gov.bc.example/person/v1";
/// Where trustc sends the wallet back (nothing listens there: the browser stops before it).
const WALLET_REDIRECT_URI: &str = "https://wallet.example/callback";
/// How long the provider may take to print `OP_READY`.
const PROVIDER_STARTUP: Duration = Duration::from_secs(20);

// --- The development provider itself ------------------------------------------------------------

#[test]
fn development_provider_signs_each_test_account_in_without_forms() {
    let Some(check) = check_provider(
        "development_provider_signs_each_test_account_in_without_forms",
        Mode::Auto,
        false,
    ) else {
        return;
    };
    assert_accounts(&check);
    assert_eq!(
        check["accounts"]["alice"]["id_token_encrypted"], false,
        "{check:#}"
    );
    assert_eq!(
        check["accounts"]["alice"]["userinfo"]["content_type"], "application/json",
        "{check:#}"
    );
}

#[test]
fn development_provider_encrypts_id_tokens_and_userinfo_to_the_clients_key() {
    let Some(check) = check_provider(
        "development_provider_encrypts_id_tokens_and_userinfo_to_the_clients_key",
        Mode::Auto,
        true,
    ) else {
        return;
    };
    assert_accounts(&check);
    let alice = &check["accounts"]["alice"];
    assert_eq!(alice["id_token_encrypted"], true, "{check:#}");
    assert_eq!(
        (
            &check["id_token_jwe_header"]["alg"],
            &check["id_token_jwe_header"]["enc"]
        ),
        (&json!("ECDH-ES"), &json!("A256GCM")),
        "what trustc_runtime::jwe decrypts: {check:#}"
    );
    assert_eq!(
        alice["userinfo"]["content_type"], "application/jwt",
        "{check:#}"
    );
    assert_eq!(alice["userinfo"]["encrypted"], true, "{check:#}");
    assert_eq!(
        alice["userinfo"]["claims"]["given_name"], "Alice",
        "{check:#}"
    );
}

#[test]
fn development_provider_logs_in_through_its_login_and_consent_forms() {
    let Some(check) = check_provider(
        "development_provider_logs_in_through_its_login_and_consent_forms",
        Mode::Dev,
        false,
    ) else {
        return;
    };
    assert_accounts(&check);
}

/// Runs `op_check.mjs` against a fresh provider; its summary, with the provider stopped cleanly.
fn check_provider(test: &str, mode: Mode, encrypt: bool) -> Option<Value> {
    let client = node_client(test)?;
    let scenario = Scenario::start();
    let mut provider = Provider::start(&client, scenario.dir(), "provider", mode, encrypt);
    // The test's own hook requests reach it (the other tests steer it so).
    assert_eq!(
        provider.hook("/__test/next-login", &[("account", "bob")]),
        json!({"next_login": "bob"})
    );
    let check = node_summary(
        &client,
        "op_check.mjs",
        &[OsStr::new(&provider.issuer), OsStr::new(mode.name())],
        &[&provider],
        "",
    );
    let status = provider.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "the provider exits 0 on SIGTERM: {status:?}"
    );
    Some(check)
}

/// What every mode of the provider must do for the login tests to mean anything.
fn assert_accounts(check: &Value) {
    let context = format!("{check:#}");
    let issuer = check["issuer"].as_str().unwrap();
    assert!(issuer.starts_with("http://localhost:"), "{context}");
    let discovery = &check["discovery"];
    assert_eq!(discovery["issuer"], issuer, "{context}");
    assert_eq!(discovery["claims_parameter_supported"], true, "{context}");
    assert_eq!(discovery["iss_parameter"], true, "{context}");
    assert_eq!(discovery["pkce"], json!(["S256"]), "{context}");
    assert_eq!(
        discovery["acr_values_supported"],
        json!([
            "urn:example:loa:1",
            "urn:example:loa:2",
            "urn:example:loa:3"
        ]),
        "{context}"
    );
    for claim in [
        "birthdate",
        "address",
        "identity_assurance_level",
        "member_number",
        "member_status",
    ] {
        assert!(
            discovery["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)),
            "{claim}: {context}"
        );
    }
    let claims = |account: &str| &check["accounts"][account]["id_token"]["claims"];
    for account in ["alice", "bob", "carol", "dave"] {
        assert_eq!(
            check["accounts"][account]["id_token"]["valid"], true,
            "{account}: {context}"
        );
        assert_eq!(claims(account)["sub"], account, "{context}");
        assert_eq!(claims(account)["aud"], "trustc-dev", "{context}");
    }
    // The claims of the cases, in the ID token itself (not only at userinfo).
    let alice = claims("alice");
    assert_eq!(
        (
            &alice["given_name"],
            &alice["family_name"],
            &alice["birthdate"]
        ),
        (&json!("Alice"), &json!("Anderson"), &json!("1990-04-01")),
        "{context}"
    );
    assert_eq!(
        alice["address"],
        json!({"locality": "Victoria", "region": "BC", "country": "CA"}),
        "{context}"
    );
    assert_eq!(
        (&alice["identity_assurance_level"], &alice["acr"]),
        (&json!(3), &json!("urn:example:loa:3")),
        "{context}"
    );
    assert_eq!(
        (&alice["member_number"], &alice["member_status"]),
        (&json!("512345"), &json!("practising")),
        "{context}"
    );
    assert_eq!(
        (
            &claims("bob")["identity_assurance_level"],
            &claims("bob")["acr"]
        ),
        (&json!(1), &json!("urn:example:loa:1")),
        "{context}"
    );
    assert_eq!(claims("carol")["birthdate"], Value::Null, "{context}");
    assert_eq!(claims("dave")["birthdate"], "1990-13-45", "{context}");
    assert_eq!(claims("dave")["member_number"], "LS-2024-0042", "{context}");
    assert_eq!(
        check["accounts"]["alice"]["userinfo"]["claims"]["birthdate"], "1990-04-01",
        "{context}"
    );

    // Each tamper spoils exactly what it names, once.
    let tamper = &check["tamper"];
    let expected = [
        (
            "nonce",
            json!({"valid": false, "reason": "nonce", "alg": "RS256"}),
        ),
        (
            "aud",
            json!({"valid": false, "reason": "ERR_JWT_CLAIM_VALIDATION_FAILED", "claim": "aud", "alg": "RS256"}),
        ),
        (
            "iss",
            json!({"valid": false, "reason": "ERR_JWT_CLAIM_VALIDATION_FAILED", "claim": "iss", "alg": "RS256"}),
        ),
        (
            "exp",
            json!({"valid": false, "reason": "ERR_JWT_EXPIRED", "claim": "exp", "alg": "RS256"}),
        ),
        (
            "signature",
            json!({"valid": false, "reason": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "claim": null, "alg": "RS256"}),
        ),
        (
            "none",
            json!({"valid": false, "reason": "ERR_JOSE_ALG_NOT_ALLOWED", "claim": null, "alg": "none"}),
        ),
    ];
    for (what, wanted) in expected {
        assert_eq!(tamper[what], wanted, "tamper {what}: {context}");
    }
    assert_eq!(check["after_tamper"]["valid"], true, "{context}");
    assert_eq!(
        check["replayed_code"],
        json!({"status": 400, "error": "invalid_grant",
               "first_access_token_after": {"status": 401, "error": "invalid_token"}}),
        "{context}"
    );
    assert!(
        check["slow_token_ms"].as_u64().unwrap() >= 1500,
        "{context}"
    );
    assert_eq!(
        check["dropped_token_request"], "UND_ERR_SOCKET",
        "{context}"
    );
    assert_eq!(check["after_drop"], true, "{context}");
    assert_eq!(
        check["unknown_redirect_uri"],
        json!({"status": 400, "mentions": true}),
        "{context}"
    );
}

// --- Logins that issue ------------------------------------------------------------------------

#[test]
fn wallet_initiated_login_issues_the_person_credential_with_the_providers_claims() {
    let Some(world) = World::start(
        "wallet_initiated_login_issues_the_person_credential_with_the_providers_claims",
        false,
    ) else {
        return;
    };
    world.provider.next_login("alice");
    let person = world.wallet_initiated(json!({"alg": "ES256"}));
    check_person(&person, &world.province, "Bearer");
    assert_eq!(person["scope"], "person", "the configuration's scope");
    assert!(
        person["authorization_request"]["request_uri"] == true
            && person["authorization_request"]["parameters"] == json!(["client_id", "request_uri"]),
        "the authorization request went by PAR: {person:#}"
    );
}

#[test]
fn wallet_initiated_login_through_the_authorization_challenge_binds_the_token_with_dpop() {
    let Some(world) = World::start(
        "wallet_initiated_login_through_the_authorization_challenge_binds_the_token_with_dpop",
        false,
    ) else {
        return;
    };
    world.provider.next_login("alice");
    let person = world.wallet_initiated(json!({"alg": "EdDSA", "dpop": true, "via": "challenge"}));
    check_person(&person, &world.province, "DPoP");
    assert_eq!(person["dpop"], true);
}

#[test]
fn wallet_initiated_login_reads_encrypted_id_tokens_and_userinfo() {
    let Some(world) = World::start(
        "wallet_initiated_login_reads_encrypted_id_tokens_and_userinfo",
        true,
    ) else {
        return;
    };
    world.provider.next_login("alice");
    let person = world.wallet_initiated(json!({"alg": "ES256"}));
    check_person(&person, &world.province, "Bearer");
    let log = world.provider.log();
    assert!(
        log.contains("encrypted ID token (ECDH-ES)"),
        "the provider encrypted the ID token: {log}"
    );
    // The key the provider encrypted to: trustc's, for ECDH-ES.
    let keys = http(
        "GET",
        &format!("{}/login/jwks", world.province.url),
        None,
        None,
    );
    assert_eq!(keys.status, 200, "{keys:?}");
    assert!(
        keys.json()["keys"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|key| key["kty"] == "EC"
                && key["crv"] == "P-256"
                && key["d"].is_null()
                && (key["use"] == "enc" || key["alg"] == "ECDH-ES"))),
        "a public P-256 encryption key: {keys:?}"
    );
}

#[test]
fn issuer_initiated_login_offer_issues_to_the_subject_it_names() {
    let Some(world) = World::start(
        "issuer_initiated_login_offer_issues_to_the_subject_it_names",
        false,
    ) else {
        return;
    };
    let offer = world.person_offer_for("alice");
    world.provider.next_login("alice");
    let person = world.issuer_initiated(&offer, json!({"alg": "ES256"}));
    check_person(&person, &world.province, "Bearer");
    assert_eq!(
        person["offer"]["grants"],
        json!(["authorization_code"]),
        "{person:#}"
    );
    assert_eq!(person["offer"]["issuer_state"], true, "{person:#}");
    assert_eq!(
        person["challenge"]["flow"], "Oauth2Redirect",
        "the challenge answered redirect_to_web: {person:#}"
    );
    let view = world.offer_view(&offer);
    assert_eq!(view["state"], "issued", "{view:#}");
}

#[test]
fn lawyer_signs_in_to_the_law_society_and_presents_the_person_credential() {
    const TEST: &str = "lawyer_signs_in_to_the_law_society_and_presents_the_person_credential";
    let Some(world) = World::start(TEST, false) else {
        return;
    };
    // The Person credential first, from the province's login.
    world.provider.next_login("alice");
    let person = world.wallet_initiated(json!({"alg": "ES256"}));
    check_person(&person, &world.province, "Bearer");

    let law_provider = Provider::start(
        &world.client,
        world.dir(),
        "law society provider",
        Mode::Auto,
        false,
    );
    let law_society = law_society(world.dir(), &world.province, &law_provider);
    law_provider.next_login("alice");
    let offer = create_offer(
        &law_society,
        &json!({"credential": "lawyer", "claims": lawyer_offer_claims(), "subject": "alice"}),
    );
    let lawyer = login_script(
        &world.client,
        world.dir(),
        "lawyer",
        &json!({
            "offer": offer["credential_offer"],
            "person_credential": person["credential"],
            "holder_jwk_private": person["holder_jwk_private"],
            "alg": "ES256",
            "resolve": resolve_map(&world.province, &law_society),
            "work": world.dir(),
        }),
        &[
            &world.province,
            &law_society,
            &world.provider,
            &law_provider,
        ],
    );
    let context = format!("{lawyer:#}");
    assert_ran_through(&lawyer);
    assert_eq!(lawyer["login"]["reached_provider"], true, "{context}");
    assert!(
        lawyer["holder_page"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/offers/", law_society.public_url)),
        "after the login, the holder page: {context}"
    );
    assert!(
        lawyer["holder_page"]["presentation_link"]
            .as_str()
            .unwrap()
            .starts_with("openid4vp://"),
        "{context}"
    );
    assert_eq!(
        lawyer["answer"]["verifier_response"]["status"], 200,
        "{context}"
    );
    assert_eq!(lawyer["authorization_response"]["code"], true, "{context}");
    assert_eq!(
        lawyer["authorization_response"]["iss"], law_society.public_url,
        "{context}"
    );
    let checked = &lawyer["checked"];
    assert_eq!(checked["registered"]["iss"], LAWYER_ISSUER, "{context}");
    assert_eq!(checked["registered"]["vct"], LAWYER_VCT, "{context}");
    let mut expected = lawyer_offer_claims();
    // The names from the Person credential, the membership from the Law Society's login.
    expected["given_names"] = json!("Alice");
    expected["family_name"] = json!("Anderson");
    expected["member_id"] = json!("512345");
    expected["member_status"] = json!("practising");
    assert_eq!(checked["claims"], expected, "{context}");
    assert_eq!(checked["cnf_is_holder_key"], true, "{context}");
    let view = offer_view(&law_society, offer["id"].as_str().unwrap());
    assert_eq!(view["state"], "issued", "{view:#}");
    assert!(
        matches!(verifications(&view), [v] if v["outcome"] == VERIFIED),
        "{view:#}"
    );
}

#[test]
fn login_journey_in_chromium_signs_in_at_the_providers_form_and_shows_the_offer() {
    const TEST: &str =
        "login_journey_in_chromium_signs_in_at_the_providers_form_and_shows_the_offer";
    let Some((client, browser, scenario)) = browser_scenario(TEST) else {
        return;
    };
    let dir = scenario.dir();
    let provider = Provider::start(&client, dir, "provider", Mode::Dev, false);
    let province = province(dir, &provider);
    let screenshots = screenshots_folder("journey-login");
    let input = json!({
        "page": format!("{}/credentials/person", province.public_url),
        "chromium": browser,
        "locale": "en-CA",
        "account": "alice",
        "screenshots": screenshots,
        "work": dir,
        "alg": "ES256",
        "resolve": {"dev.credentials.gov.bc.example": province.url},
    });
    let input_path = write_input(dir, "journey-login-input.json", &input);
    let journey = node_summary(
        &client,
        "journey_login.mjs",
        &[input_path.as_os_str()],
        &[&province, &provider],
        &format!("screenshots in {}", screenshots.display()),
    );
    let context = format!("{journey:#}");

    // 1. "Get your credential", in the browser's language, leads to the provider.
    let start = &journey["start"];
    assert_eq!(start["http_status"], 200, "{context}");
    assert_eq!(start["lang"], "en", "{context}");
    assert_eq!(start["scripts"], 0, "{context}");
    assert!(
        start["sign_in_target"]
            .as_str()
            .unwrap()
            .ends_with("/credentials/person/login"),
        "{context}"
    );
    assert!(
        start["sign_in_text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "the way on has a name: {context}"
    );
    assert_eq!(
        start["first_focus"], start["sign_in_text"],
        "the keyboard reaches the way on first: {context}"
    );
    assert_eq!(journey["provider"]["url"], provider.issuer, "{context}");

    // 2. After the provider's forms: the offer, as a QR code and a same-device link.
    let offer = &journey["offer"];
    assert!(
        offer["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/offers/", province.public_url)),
        "{context}"
    );
    assert!(
        offer["offer_link"]
            .as_str()
            .unwrap()
            .starts_with("openid-credential-offer://"),
        "{context}"
    );
    assert_eq!(offer["lang"], "en", "{context}");
    assert_eq!(offer["scripts"], 0, "{context}");
    assert_eq!(offer["refreshes"], false, "{context}");
    assert_eq!(offer["first_focus"], "offer-link", "{context}");
    assert!(
        offer["qr_size"]["width"].as_f64().unwrap() >= 200.0,
        "{context}"
    );
    let policy_problems: Vec<&Value> = journey["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m.as_str()
                .is_some_and(|m| m.contains("Content Security Policy"))
        })
        .collect();
    assert!(policy_problems.is_empty(), "{context}");

    // Another browser with the page's address is not shown the offer: it is asked to sign in
    // (only the person who signed in first may collect it).
    let elsewhere = &journey["elsewhere"];
    assert_eq!(elsewhere["http_status"], 200, "{context}");
    assert!(
        elsewhere["heading"]
            .as_str()
            .is_some_and(|h| h.starts_with("Connectez-vous")),
        "{context}"
    );
    assert_eq!(elsewhere["lang"], "fr", "{context}");
    assert_eq!(elsewhere["offer_link"], false, "{context}");
    assert_eq!(elsewhere["shows_tx_code"], false, "{context}");

    // 3. The offer redeems to alice's Person credential.
    let claims = &journey["redeemed"]["checked"]["claims"];
    assert_login_claims(claims, &context);
    assert_eq!(
        journey["redeemed"]["checked"]["registered"]["iss"], PERSON_ISSUER,
        "{context}"
    );
    for shot in journey["screenshots"].as_array().unwrap() {
        let shot = shot.as_str().unwrap();
        assert!(fs::metadata(shot).is_ok_and(|m| m.len() > 1000), "{shot}");
    }
}

// --- Bad input: the provider's ----------------------------------------------------------------

#[test]
fn login_refused_id_token_with_another_nonce() {
    provider_spoils(
        "login_refused_id_token_with_another_nonce",
        "nonce",
        &["nonce"],
    );
}

#[test]
fn login_refused_id_token_for_another_audience() {
    provider_spoils(
        "login_refused_id_token_for_another_audience",
        "aud",
        &["aud"],
    );
}

#[test]
fn login_refused_id_token_from_another_issuer() {
    provider_spoils(
        "login_refused_id_token_from_another_issuer",
        "iss",
        &["iss"],
    );
}

#[test]
fn login_refused_expired_id_token() {
    provider_spoils("login_refused_expired_id_token", "exp", &["expir"]);
}

#[test]
fn login_refused_id_token_with_a_bad_signature() {
    provider_spoils(
        "login_refused_id_token_with_a_bad_signature",
        "signature",
        &["signature"],
    );
}

#[test]
fn login_refused_unsigned_id_token() {
    provider_spoils(
        "login_refused_unsigned_id_token",
        "none",
        &["alg", "none", "signature", "unsigned"],
    );
}

#[test]
fn login_refused_when_the_assurance_is_too_low() {
    refused_login(
        "login_refused_when_the_assurance_is_too_low",
        |world| world.provider.next_login("bob"),
        &["assurance", "acr", "identity_assurance_level"],
    );
}

#[test]
fn login_refused_when_a_required_claim_is_missing() {
    refused_login(
        "login_refused_when_a_required_claim_is_missing",
        |world| world.provider.next_login("carol"),
        &["birthdate"],
    );
}

#[test]
fn login_refused_when_a_claim_does_not_fit_its_attribute() {
    refused_login(
        "login_refused_when_a_claim_does_not_fit_its_attribute",
        |world| world.provider.next_login("dave"),
        &["birthdate"],
    );
}

#[test]
fn login_refused_when_the_provider_does_not_answer_in_time() {
    refused_login(
        "login_refused_when_the_provider_does_not_answer_in_time",
        |world| {
            world.provider.next_login("alice");
            // Longer than trustc's outbound timeout (`HttpClient::DEFAULT_TIMEOUT`, 5 s), shorter
            // than its request timeout (30 s).
            world.provider.hook("/__test/slow", &[("ms", "15000")]);
        },
        &["provider"],
    );
}

#[test]
fn login_refused_when_the_provider_is_unreachable() {
    refused_login(
        "login_refused_when_the_provider_is_unreachable",
        |world| {
            world.provider.next_login("alice");
            world.provider.hook("/__test/drop", &[]);
        },
        &["provider"],
    );
}

#[test]
fn login_refused_for_another_subject_than_the_offer_names() {
    let Some(world) = World::start(
        "login_refused_for_another_subject_than_the_offer_names",
        false,
    ) else {
        return;
    };
    let offer = world.person_offer_for("alice");
    // The offer's QR code forwarded to bob, who signs in as himself.
    world.provider.next_login("bob");
    let summary = world.issuer_initiated(&offer, json!({"alg": "ES256"}));
    assert_refused_after_login(&summary, &world.province, &["subject"]);
    let view = world.offer_view(&offer);
    assert_ne!(view["state"], "issued", "{view:#}");
}

/// Starts a world, lets `spoil` set the provider up, runs a wallet-initiated login for the
/// Person credential: it must be refused after the login with a reason naming one of `reasons`.
fn refused_login(test: &str, spoil: impl FnOnce(&World), reasons: &[&str]) {
    let Some(world) = World::start(test, false) else {
        return;
    };
    spoil(&world);
    let summary = world.wallet_initiated(json!({"alg": "ES256"}));
    assert_refused_after_login(&summary, &world.province, reasons);
}

fn provider_spoils(test: &str, what: &str, reasons: &[&str]) {
    refused_login(
        test,
        |world| {
            world.provider.next_login("alice");
            world.provider.hook("/__test/tamper", &[("what", what)]);
        },
        reasons,
    );
    // The provider's own check shows that exactly this claim is wrong (op_check.mjs).
}

/// The wallet was sent back with an error (or shown trustc's page) after the provider's part, the
/// reason names one of `reasons`, and no credential came of it.
fn assert_refused_after_login(summary: &Value, trustc: &ServeProcess, reasons: &[&str]) {
    let context = format!("{summary:#}");
    assert!(summary["failure"].is_null(), "{context}");
    assert!(summary["accepted"].is_null(), "{context}");
    assert_eq!(summary["login"]["reached_provider"], true, "{context}");
    let refused = &summary["refused"];
    let why = match refused["step"].as_str() {
        // The error redirect to the wallet (RFC 6749 §4.1.2.1, with `iss`).
        Some("authorization-response") => {
            let error = refused["error"].as_str().unwrap_or_default();
            assert!(
                [
                    "access_denied",
                    "server_error",
                    "temporarily_unavailable",
                    "invalid_request"
                ]
                .contains(&error),
                "an OAuth error code: {context}"
            );
            assert_eq!(
                refused["iss"], trustc.public_url,
                "RFC 9207 `iss` on the error: {context}"
            );
            refused["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
        // trustc's own page, at its callback or where the callback sent the browser.
        Some("login") => {
            let page = &refused["page"];
            assert!(
                page["url"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&trustc.public_url),
                "trustc's own page: {context}"
            );
            assert_eq!(summary["login"]["reached_callback"], true, "{context}");
            assert!(page["status"].as_u64().unwrap_or(0) >= 400, "{context}");
            page["text"].as_str().unwrap_or_default().to_string()
        }
        _ => panic!("refused after the login: {context}"),
    };
    let lower = why.to_lowercase();
    assert!(
        reasons.iter().any(|reason| lower.contains(reason)),
        "the refusal says why ({reasons:?}): {why:?}\n{context}"
    );
    assert!(summary["credential"].is_null(), "{context}");
    assert!(
        summary["token"].is_null(),
        "no token after a refused login: {context}"
    );
}

// --- Bad input: the wallet's ------------------------------------------------------------------

#[test]
fn login_refused_reused_par_request_uri() {
    wallet_spoils(
        "login_refused_reused_par_request_uri",
        "reuse-request-uri",
        "authorize-again",
        Page,
    );
}

#[test]
fn login_refused_authorize_for_another_client() {
    wallet_spoils(
        "login_refused_authorize_for_another_client",
        "authorize-other-client",
        "authorize",
        Page,
    );
}

#[test]
fn login_refused_callback_with_another_state() {
    wallet_spoils(
        "login_refused_callback_with_another_state",
        "callback-wrong-state",
        "callback",
        Page,
    );
}

#[test]
fn login_refused_callback_from_another_provider() {
    wallet_spoils(
        "login_refused_callback_from_another_provider",
        "callback-wrong-iss",
        "callback",
        PageOrError,
    );
}

#[test]
fn login_refused_callback_in_a_browser_without_the_login_cookie() {
    wallet_spoils(
        "login_refused_callback_in_a_browser_without_the_login_cookie",
        "callback-no-cookie",
        "callback",
        PageOrError,
    );
}

#[test]
fn login_refused_callback_replayed() {
    let summary = wallet_spoils(
        "login_refused_callback_replayed",
        "callback-replay",
        "callback",
        Page,
    );
    if let Some(summary) = summary {
        assert_eq!(
            (
                &summary["first_callback"]["reached_wallet"],
                &summary["first_callback"]["code"]
            ),
            (&json!(true), &json!(true)),
            "the first callback went through: {summary:#}"
        );
    }
}

#[test]
fn login_refused_token_with_another_pkce_verifier() {
    wallet_spoils(
        "login_refused_token_with_another_pkce_verifier",
        "wrong-pkce",
        "token",
        InvalidGrant,
    );
}

#[test]
fn login_refused_replayed_authorization_code() {
    wallet_spoils(
        "login_refused_replayed_authorization_code",
        "replay-code",
        "token-again",
        InvalidGrant,
    );
}

#[test]
fn login_refused_token_with_another_redirect_uri() {
    wallet_spoils(
        "login_refused_token_with_another_redirect_uri",
        "token-other-redirect-uri",
        "token",
        InvalidGrant,
    );
}

#[test]
fn login_refused_token_for_another_client() {
    wallet_spoils(
        "login_refused_token_for_another_client",
        "token-other-client",
        "token",
        InvalidGrantOrClient,
    );
}

/// How the server must refuse a wallet's bad input.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// trustc's own HTML page with a 4xx status; never a redirect to an unchecked URI.
    Page,
    /// A 4xx page, or an error redirect to the wallet (with `iss`) once the wallet is known.
    PageOrError,
    /// `400 invalid_grant` from the token endpoint.
    InvalidGrant,
    /// `400 invalid_grant` or `401 invalid_client`.
    InvalidGrantOrClient,
}
use Refusal::{InvalidGrant, InvalidGrantOrClient, Page, PageOrError};

/// A wallet-initiated login for the Person credential with `bad` spoiling one step: it must be
/// refused at `step` as `how` says; the summary.
fn wallet_spoils(test: &str, bad: &str, step: &str, how: Refusal) -> Option<Value> {
    let world = World::start(test, false)?;
    world.provider.next_login("alice");
    let summary = world.wallet_initiated(json!({"alg": "ES256", "bad": bad}));
    let context = format!("{how:?} at {step}: {summary:#}");
    assert!(summary["failure"].is_null(), "{context}");
    assert!(
        summary["accepted"].is_null(),
        "the server let it through: {context}"
    );
    let refused = &summary["refused"];
    assert_eq!(refused["step"], step, "{context}");
    let page = |page: &Value| {
        let status = page["status"].as_u64().unwrap_or(0);
        assert!((400..500).contains(&status), "a 4xx page: {context}");
        assert!(
            page["content_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("text/html")),
            "an HTML page for a person: {context}"
        );
        assert!(
            page["text"].as_str().is_some_and(|t| t.len() > 20),
            "the page says why: {context}"
        );
    };
    match how {
        Page => page(&refused["page"]),
        PageOrError => {
            if refused["page"].is_object() {
                page(&refused["page"]);
            } else {
                let response = &refused["authorization_response"];
                assert!(response["error"].is_string(), "{context}");
                assert_eq!(response["code"], false, "{context}");
                assert_eq!(response["iss"], world.province.public_url, "{context}");
            }
        }
        InvalidGrant => {
            assert_eq!(
                (&refused["status"], &refused["error"]),
                (&json!(400), &json!("invalid_grant")),
                "{context}"
            );
        }
        InvalidGrantOrClient => assert!(
            matches!(
                (refused["status"].as_u64(), refused["error"].as_str()),
                (Some(400), Some("invalid_grant")) | (Some(401), Some("invalid_client"))
            ),
            "{context}"
        ),
    }
    assert!(summary["credential"].is_null(), "{context}");
    Some(summary)
}

// --- What a successful login gave ---------------------------------------------------------------

/// The claims of the Person credential that come from alice's login.
fn assert_login_claims(claims: &Value, context: &str) {
    assert_eq!(claims["given_names"], "Alice", "{context}");
    assert_eq!(claims["family_name"], "Anderson", "{context}");
    assert_eq!(claims["birthdate"], "1990-04-01", "{context}");
    assert_eq!(claims["locality"], "Victoria", "{context}");
    assert_eq!(claims["region"], "BC", "{context}");
}

fn assert_ran_through(summary: &Value) {
    for outcome in ["refused", "accepted", "failure"] {
        assert!(
            summary[outcome].is_null(),
            "the flow ran through, yet `{outcome}`: {summary:#}"
        );
    }
}

/// A Person credential issued after alice's login, as the wallet saw it.
fn check_person(person: &Value, province: &ServeProcess, token_type: &str) {
    let context = format!("{person:#}");
    assert_ran_through(person);
    let public = &province.public_url;
    let server = &person["authorization_server"];
    assert_eq!(server["issuer"], public.as_str(), "{context}");
    assert_eq!(
        server["authorization_endpoint"],
        format!("{public}/authorize"),
        "{context}"
    );
    assert_eq!(
        server["pushed_authorization_request_endpoint"],
        format!("{public}/par"),
        "{context}"
    );
    assert_eq!(
        server["authorization_response_iss_parameter_supported"], true,
        "{context}"
    );
    assert_eq!(
        server["code_challenge_methods_supported"],
        json!(["S256"]),
        "{context}"
    );
    assert!(
        server["grant_types_supported"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("authorization_code"))),
        "{context}"
    );
    assert!(
        server["dpop_signing_alg_values_supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("ES256")) && a.contains(&json!("EdDSA"))),
        "{context}"
    );
    let login = &person["login"];
    assert_eq!(
        (
            &login["reached_provider"],
            &login["reached_callback"],
            &login["reached_wallet"]
        ),
        (&json!(true), &json!(true), &json!(true)),
        "wallet → trustc → provider → trustc's callback → wallet: {context}"
    );
    let response = &person["authorization_response"];
    assert_eq!(response["code"], true, "{context}");
    assert_eq!(response["iss"], public.as_str(), "{context}");
    assert_eq!(person["token"]["token_type"], token_type, "{context}");
    let checked = &person["checked"];
    assert_eq!(checked["registered"]["iss"], PERSON_ISSUER, "{context}");
    assert_eq!(checked["registered"]["vct"], PERSON_VCT, "{context}");
    assert_eq!(checked["cnf_is_holder_key"], true, "{context}");
    assert_eq!(checked["status"], 0, "{context}");
    assert_login_claims(&checked["claims"], &context);
}

/// The offer's part of an issuer-initiated Person offer (everything else comes from the login).
fn person_offer_claims() -> Value {
    json!({})
}

/// The Law Society's part of a Lawyer offer: the names come from the Person credential, the
/// membership from the login.
fn lawyer_offer_claims() -> Value {
    json!({"called_to_bar": "2015-09-18", "expiry_date": "2027-01-31"})
}

// --- The world: a provider, the province, the wallet --------------------------------------------

/// One scenario's processes: the province's provider (auto mode) and the province, one at a time.
struct World {
    client: PathBuf,
    // Dropped in this order: trustc, its provider, the folder, and then the next scenario may run.
    province: ServeProcess,
    provider: Provider,
    scenario: Scenario,
}

impl World {
    fn start(test: &str, encrypt: bool) -> Option<World> {
        let client = node_client(test)?;
        let scenario = Scenario::start();
        let provider = Provider::start(&client, scenario.dir(), "provider", Mode::Auto, encrypt);
        let province = province(scenario.dir(), &provider);
        Some(World {
            client,
            province,
            provider,
            scenario,
        })
    }

    fn dir(&self) -> &Path {
        self.scenario.dir()
    }

    /// An issuer-initiated Person offer of the province for `subject`.
    fn person_offer_for(&self, subject: &str) -> Value {
        create_offer(
            &self.province,
            &json!({"credential": "person", "claims": person_offer_claims(), "subject": subject}),
        )
    }

    /// The province's admin view of `offer`.
    fn offer_view(&self, offer: &Value) -> Value {
        offer_view(&self.province, offer["id"].as_str().unwrap())
    }

    /// `login.mjs wallet-initiated` for the Person credential, with `input` added.
    fn wallet_initiated(&self, mut input: Value) -> Value {
        input["issuer"] = json!(self.province.public_url);
        input["credential"] = json!("person");
        input["redirect_uri"] = json!(WALLET_REDIRECT_URI);
        input["resolve"] = json!({"dev.credentials.gov.bc.example": self.province.url});
        login_script(
            &self.client,
            self.dir(),
            "wallet-initiated",
            &input,
            &[&self.province, &self.provider],
        )
    }

    /// `login.mjs issuer-initiated` for an offer the province made.
    fn issuer_initiated(&self, offer: &Value, mut input: Value) -> Value {
        input["offer"] = offer["credential_offer"].clone();
        input["redirect_uri"] = json!(WALLET_REDIRECT_URI);
        input["resolve"] = json!({"dev.credentials.gov.bc.example": self.province.url});
        login_script(
            &self.client,
            self.dir(),
            "issuer-initiated",
            &input,
            &[&self.province, &self.provider],
        )
    }
}

/// The province, signing people in at `provider`.
fn province(dir: &Path, provider: &Provider) -> ServeProcess {
    serve_with_login(
        "province",
        dir,
        provider,
        PROVINCE_PROVIDER,
        province_arguments,
    )
}

/// The Law Society, signing members in at `provider` and verifying the province's Person
/// credential (as `interop_presentation.rs`'s, `x509_san_dns`, encrypted responses).
fn law_society(dir: &Path, province: &ServeProcess, provider: &Provider) -> ServeProcess {
    serve_with_login("law society", dir, provider, LAW_SOCIETY_PROVIDER, |port| {
        law_society_arguments(port, province)
    })
}

/// `trustc serve` of the shipped example with `arguments(port)`, signing people in at `provider`
/// as the governance's `login_provider` (with the client secret in its variable), and made the
/// provider's client.
fn serve_with_login(
    name: &'static str,
    dir: &Path,
    provider: &Provider,
    login_provider: &str,
    arguments: impl Fn(u16) -> (Vec<String>, String),
) -> ServeProcess {
    let login_issuer = format!("{login_provider}={}", provider.issuer);
    let trustc = ServeProcess::start_with_env(
        name,
        &repo(),
        dir,
        None,
        &[(LOGIN_SECRET_VARIABLE, LOGIN_SECRET)],
        |port| {
            let (mut args, public_url) = arguments(port);
            args.extend(["--login-issuer".into(), login_issuer.clone()]);
            (args, public_url)
        },
    );
    provider.serve(&trustc);
    trustc
}

/// Runs `login.mjs COMMAND INPUT.json` with `input`; its JSON summary. A failure of the wallet
/// itself fails the test with what it said and the logs of `processes`.
fn login_script(
    client: &Path,
    dir: &Path,
    command: &str,
    input: &Value,
    processes: &[&dyn Logged],
) -> Value {
    let input_path = write_input(dir, &format!("login-{command}-input.json"), input);
    node_summary(
        client,
        "login.mjs",
        &[OsStr::new(command), input_path.as_os_str()],
        processes,
        "",
    )
}

/// Runs `node SCRIPT ARGS…` in the client folder, with the provider's client secret; its JSON
/// summary. A run that fails or prints no JSON fails the test with what it said, `note`, and the
/// logs of `processes`.
fn node_summary(
    client: &Path,
    script: &str,
    args: &[&OsStr],
    processes: &[&dyn Logged],
    note: &str,
) -> Value {
    let mut node = node(client, script);
    node.args(args).env(LOGIN_SECRET_VARIABLE, LOGIN_SECRET);
    let what = format!(
        "node {script} {}",
        args.first().map_or("".into(), |a| a.to_string_lossy())
    );
    script_summary(node, &what, note, processes)
}

// --- The provider process -----------------------------------------------------------------------

/// How the provider logs people in.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// No forms: the account `/__test/next-login` named.
    Auto,
    /// Its login and consent forms.
    Dev,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Dev => "dev",
        }
    }
}

/// A running `op.mjs` on a free loopback port; stopped (SIGTERM, then SIGKILL) when dropped.
struct Provider {
    name: &'static str,
    /// `None` once stopped.
    child: Option<Child>,
    /// `http://localhost:<port>`, exactly as its discovery names it.
    issuer: String,
    /// `http://127.0.0.1:<port>`, for the test's own requests.
    url: String,
    log: PathBuf,
}

impl Provider {
    fn start(client: &Path, dir: &Path, name: &'static str, mode: Mode, encrypt: bool) -> Provider {
        let log = dir.join(format!("{}.log", name.replace(' ', "-")));
        let mut command = Command::new("node");
        command
            .arg(client.join("op.mjs"))
            .current_dir(client)
            .env("OP_PORT", "0")
            .env("OP_MODE", mode.name())
            .env(LOGIN_SECRET_VARIABLE, LOGIN_SECRET)
            .env_remove("OP_ISSUER")
            .env_remove("RP_REDIRECT_URI")
            .env_remove("RP_JWKS_URI")
            .env_remove("OP_CLIENT_AUTH")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap());
        if encrypt {
            command.env("OP_ENCRYPT", "1");
        } else {
            command.env_remove("OP_ENCRYPT");
        }
        let mut child = command.spawn().expect("node op.mjs starts");
        // The first line is `OP_READY <issuer>`; anything after it goes to the log.
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut rest = OpenOptions::new().append(true).open(&log).unwrap();
        let (ready, issuer) = mpsc::channel();
        thread::spawn(move || {
            let mut ready = Some(ready);
            for line in stdout.lines().map_while(Result::ok) {
                match line.strip_prefix("OP_READY ") {
                    Some(issuer) if ready.is_some() => {
                        let _ = ready.take().unwrap().send(issuer.to_string());
                    }
                    _ => {
                        let _ = writeln!(rest, "{line}");
                    }
                }
            }
        });
        let started = Instant::now();
        let issuer = issuer.recv_timeout(PROVIDER_STARTUP).unwrap_or_else(|_| {
            stop_child(&mut child, Duration::from_secs(1));
            panic!(
                "the {name} (node op.mjs) did not print OP_READY within {:.0} s:\n{}",
                started.elapsed().as_secs_f64(),
                fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let url = issuer.replacen("://localhost:", "://127.0.0.1:", 1);
        Provider {
            name,
            child: Some(child),
            issuer,
            url,
            log,
        }
    }

    /// `POST <hook>?<query>` on the provider; its JSON answer, which must be 200.
    fn hook(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in query {
            encoded.append_pair(name, value);
        }
        let address = format!("{}{path}?{}", self.url, encoded.finish());
        let response = http("POST", &address, None, None);
        assert_eq!(
            response.status,
            200,
            "POST {address}: {response:?}\n{}",
            self.log()
        );
        response.json()
    }

    /// Makes `trustc` the provider's client: its callback and its encryption key.
    fn serve(&self, trustc: &ServeProcess) {
        let public = &trustc.public_url;
        self.hook(
            "/__test/client",
            &[
                ("redirect_uri", &format!("{public}/login/callback")),
                ("jwks_uri", &format!("{public}/login/jwks")),
            ],
        );
    }

    /// The account the next login signs in.
    fn next_login(&self, account: &str) {
        self.hook("/__test/next-login", &[("account", account)]);
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it (SIGTERM, then SIGKILL after five seconds); its exit status, `None` when it had
    /// to be killed or was stopped before.
    fn stop(&mut self) -> Option<ExitStatus> {
        stop_child(&mut self.child.take()?, Duration::from_secs(5))
    }
}

impl Logged for Provider {
    fn name(&self) -> &str {
        self.name
    }
    fn log_text(&self) -> String {
        self.log()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}
