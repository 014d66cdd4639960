//! The holder's web journey in a real browser: the page a wallet that takes only pre-authorised
//! offers (BC Wallet today) is sent to, driven end to end in headless Chromium.
//!
//! Two live `trustc serve` instances of the shipped example, as in `interop_presentation.rs`
//! (the province issues the Person credential, the Law Society asks for it before it issues the
//! Lawyer credential). The Law Society's back end creates a Lawyer offer; Debian's Chromium,
//! driven by `playwright-core` (`tests/interop/journey.mjs`, pinned in
//! `tests/interop/package-lock.json`; it downloads no browser), opens the offer's `holder_page`
//! and reads the OpenID4VP request from `#presentation-link`; the npm holder of
//! `presentation.mjs` (`answer`) presents the Person credential to it; the page, which reloads
//! itself without JavaScript, moves on to `#offer-link` and `#tx-code`, which the same holder
//! redeems (`redeem`, `@openid4vc/openid4vci`, pre-authorised code and transaction code). The
//! Lawyer credential must carry the Person credential's names. A second browser with only the
//! page's address must not be shown the offer. Screenshots of each step are kept in
//! `target/tmp/journey/` for a person to look at.
//!
//! `SKIPPED` without node and npm, or without Chromium (`/usr/bin/chromium`, or the browser
//! `TRUSTC_CHROMIUM` names; `.ci/run` installs Debian's `chromium`), unless
//! `TRUSTC_REQUIRE_INTEROP=1`.

#![cfg(feature = "serve")]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use crate::interop::{node_client, skip};
use crate::interop_presentation::{
    Instance, LAWYER_ISSUER, LAWYER_VCT, Logged, MATRIX, Scenario, VERIFIED, create_offer,
    lawyer_offer_claims, node, offer_view, receive_person, resolve_map, script_summary,
    verifications, write_input,
};

/// The browser: `TRUSTC_CHROMIUM`, else Debian's `chromium`; `None` (with a `SKIPPED` line)
/// when there is none.
fn chromium(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("TRUSTC_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        return Some(path);
    }
    skip(
        test,
        &format!("Chromium ({})", path.display()),
        "headless Chromium shows the holder's web page; install Debian's `chromium`",
    );
    None
}

/// What a journey in a browser needs: the npm client folder, Chromium, and its turn to run;
/// `None` (with a `SKIPPED` line) without node and npm or without Chromium.
pub(crate) fn browser_scenario(test: &str) -> Option<(PathBuf, PathBuf, Scenario)> {
    let client = node_client(test)?;
    let browser = chromium(test)?;
    Some((client, browser, Scenario::start()))
}

#[test]
fn the_holders_page_leads_a_browser_from_the_presentation_to_the_lawyer_credential() {
    const TEST: &str =
        "the_holders_page_leads_a_browser_from_the_presentation_to_the_lawyer_credential";
    let Some((client, browser, scenario)) = browser_scenario(TEST) else {
        return;
    };
    let started = Instant::now();
    let dir = scenario.dir();
    // EdDSA holder key, encrypted responses, `x509_hash:` requests.
    let case = MATRIX[1];
    let province = Instance::province(dir);
    let law_society = Instance::law_society(dir, &province, case);
    let person = receive_person(&client, &province, &law_society, dir, case);

    let offer = create_offer(
        &law_society,
        &json!({"credential": "lawyer", "claims": lawyer_offer_claims()}),
    );
    let page = offer["holder_page"].as_str().unwrap();
    let id = offer["id"].as_str().unwrap();
    assert_eq!(page, format!("{}/offers/{id}", law_society.public_url));
    let screenshots = screenshots_folder("journey");
    let journey = run_journey(
        &client,
        dir,
        &json!({
            "page": page,
            "chromium": browser,
            "locale": "en-CA",
            "screenshots": screenshots,
            "work": dir,
            "person_credential": person["credential"],
            "holder_jwk_private": person["holder_jwk_private"],
            "alg": case.alg,
            "resolve": resolve_map(&province, &law_society),
        }),
        &[&province, &law_society],
    );
    let context = format!("{journey:#}");

    // 1. The page asks for the Person credential, in the browser's language, in the Law
    //    Society's colours, reloading itself, without scripts; the keyboard reaches the link.
    let present = &journey["present"];
    assert_eq!(present["http_status"], 200, "{context}");
    assert_eq!(present["lang"], "en", "{context}");
    assert_eq!(
        present["heading"], "Step 1 of 2: present your Person credential",
        "{context}"
    );
    assert!(
        present["status"]
            .as_str()
            .unwrap()
            .starts_with("Waiting for your wallet"),
        "{context}"
    );
    assert_eq!(present["status_live"], "polite", "{context}");
    assert_eq!(present["refreshes"], true, "{context}");
    assert_eq!(present["scripts"], 0, "{context}");
    assert_eq!(
        (&present["header_background"], &present["header_color"]),
        (&json!("rgb(0, 71, 90)"), &json!("rgb(255, 255, 255)")),
        "the credential's branding, applied under the page's CSP: {context}"
    );
    assert_eq!(present["first_focus"], "presentation-link", "{context}");
    assert!(
        present["qr_size"]["width"].as_f64().unwrap() >= 200.0,
        "{context}"
    );
    assert!(
        present["presentation_link"]
            .as_str()
            .unwrap()
            .starts_with("openid4vp://?client_id=x509_hash%3A"),
        "{context}"
    );

    // 2. The npm holder presented, and the verifier sends a same-device wallet back to the page.
    let answer = &journey["answer"]["verifier_response"];
    assert_eq!(answer["status"], 200, "{context}");
    assert!(
        answer["body"]["redirect_uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{page}?response_code=")),
        "{context}"
    );

    // 3. The page moved on by itself to the offer and its transaction code.
    let shown = &journey["offer"];
    assert!(shown["reloads"].as_u64().unwrap() >= 1, "{context}");
    assert_eq!(
        shown["status"], "Your credential is ready: add it to your wallet.",
        "{context}"
    );
    assert_eq!(shown["offer_link"], offer["credential_offer"], "{context}");
    assert_eq!(shown["tx_code"], offer["tx_code"], "{context}");
    assert_eq!(shown["refreshes"], false, "{context}");
    assert_eq!(shown["presentation_link_left"], false, "{context}");

    // Another browser with the page's address, in French, is not shown the offer.
    let elsewhere = &journey["elsewhere"];
    assert_eq!(elsewhere["http_status"], 403, "{context}");
    assert_eq!(elsewhere["lang"], "fr", "{context}");
    assert_eq!(
        elsewhere["heading"], "Cette offre est recueillie ailleurs",
        "{context}"
    );
    assert_eq!(elsewhere["offer_link"], false, "{context}");
    assert_eq!(elsewhere["shows_tx_code"], false, "{context}");
    let policy_problems: Vec<&Value> = journey["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m.as_str()
                .is_some_and(|m| m.contains("Content Security Policy") || m.contains("Refused"))
        })
        .collect();
    assert!(
        policy_problems.is_empty(),
        "the page keeps its own policy: {context}"
    );

    // 4. The holder redeemed the offer; the Lawyer credential has the Person credential's names.
    let lawyer = &journey["redeemed"]["checked"];
    assert_eq!(lawyer["registered"]["iss"], LAWYER_ISSUER, "{context}");
    assert_eq!(lawyer["registered"]["vct"], LAWYER_VCT, "{context}");
    let names = &person["checked"]["claims"];
    assert_eq!(
        (
            &lawyer["claims"]["given_names"],
            &lawyer["claims"]["family_name"]
        ),
        (&names["given_names"], &names["family_name"]),
        "{context}"
    );
    assert_eq!(lawyer["claims"]["member_id"], "512345", "{context}");
    assert_eq!(lawyer["cnf_is_holder_key"], true, "{context}");
    let view = offer_view(&law_society, id);
    assert_eq!(view["state"], "issued", "{view:#}");
    assert!(
        matches!(verifications(&view), [v] if v["outcome"] == VERIFIED),
        "{view:#}"
    );

    let shots: Vec<&str> = journey["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(shots.len(), 3, "{context}");
    for shot in &shots {
        assert!(fs::metadata(shot).is_ok_and(|m| m.len() > 1000), "{shot}");
    }
    // Written to the real stderr, past the test harness's output capture.
    let _ = writeln!(
        std::io::stderr(),
        "{TEST}: the Lawyer credential through the holder's page in Chromium in {:.1} s; \
         screenshots: {}",
        started.elapsed().as_secs_f64(),
        shots.join(", ")
    );
}

/// Runs `journey.mjs` on `input`; its JSON summary. A failure fails the test with what the
/// script said and the servers' logs.
fn run_journey(client: &Path, dir: &Path, input: &Value, servers: &[&dyn Logged]) -> Value {
    let input_path = write_input(dir, "journey-input.json", input);
    let mut node = node(client, "journey.mjs");
    node.arg(&input_path);
    script_summary(node, "node journey.mjs", "", servers)
}

/// `target/tmp/<name>/`, emptied, for a journey's screenshots: kept after the test for a person
/// to look at.
pub(crate) fn screenshots_folder(name: &str) -> PathBuf {
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&screenshots);
    screenshots
}
