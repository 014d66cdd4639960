//! The OpenID4VCI pre-authorised flow and the admin API against the router, on SQLite: what a
//! wallet and the issuer's back end get, and each refusal with the code the specifications name.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use trustc_runtime::IssuerKey;
use trustc_testkit::HolderKey;

use super::{
    ADMIN_TOKEN, Instance, PUBLIC_URL, decode, instance, local_path, person_claims,
    pre_authorized_code, status_in_list,
};

fn issuer_jwk(instance: &Instance) -> Value {
    instance.issuer.key.public_jwk().clone()
}

#[tokio::test]
async fn issues_a_person_credential_bound_to_an_es256_key() {
    let instance = instance().await;
    let holder = HolderKey::es256();
    let offer = instance.offer("person", person_claims()).await;
    assert!(
        offer["credential_offer"]
            .as_str()
            .unwrap()
            .starts_with("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Fcredential-offers%2F")
    );
    let tx_code = offer["tx_code"]
        .as_str()
        .expect("person offers have a tx_code");
    assert!(tx_code.len() == 6 && tx_code.bytes().all(|b| b.is_ascii_digit()));

    let resolved = instance.resolve_offer(&offer).await;
    assert_eq!(resolved["credential_issuer"], PUBLIC_URL);
    assert_eq!(resolved["credential_configuration_ids"], json!(["person"]));
    let grant = &resolved["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
    assert_eq!(grant["tx_code"]["length"], 6);
    assert_eq!(grant["tx_code"]["input_mode"], "numeric");
    assert!(
        grant["tx_code"]["description"]
            .as_str()
            .unwrap()
            .contains("6-digit")
    );

    let token_reply = instance
        .token(&pre_authorized_code(&resolved), Some(tx_code))
        .await;
    assert_eq!(token_reply.status, StatusCode::OK, "{}", token_reply.text());
    assert_eq!(token_reply.headers[header::CACHE_CONTROL], "no-store");
    let token = token_reply.json();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 300);

    let proof = instance.fresh_proof(&holder).await;
    let reply = instance
        .credential(token["access_token"].as_str().unwrap(), "person", &proof)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let issued = reply.json()["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_string();

    let decoded = decode(&issued, &issuer_jwk(&instance));
    assert_eq!(decoded.header["typ"], "dc+sd-jwt");
    assert_eq!(decoded.header["alg"], "ES256");
    // An instance serving every participant (no `--participant`) is none of them: it names
    // its public URL (`serve::presentation` covers the governance's `did:web` identities).
    assert_eq!(decoded.header["kid"], instance.issuer.key.kid());
    let payload = &decoded.payload;
    assert_eq!(payload["iss"], PUBLIC_URL);
    assert_eq!(
        payload["vct"],
        "https://credentials.gov.bc.example/person/v1"
    );
    assert_eq!(payload["iat"], instance.now());
    // P5Y in the governance: five years of 365.25 days.
    assert_eq!(payload["exp"], instance.now() + 157_788_000);
    assert_eq!(payload["cnf"]["jwk"], holder.public_jwk());
    assert_eq!(payload["_sd_alg"], "sha-256");
    let status = &payload["status"]["status_list"];
    assert_eq!(status["uri"], format!("{PUBLIC_URL}/status-lists/1"));
    assert!(status["idx"].as_u64().unwrap() < 131_072);
    // Every Person claim is disclosable: none is plain, each is a disclosure with its value, and
    // the constant `region` comes from the governance.
    let mut expected = person_claims().as_object().unwrap().clone();
    expected.insert("region".into(), json!("BC"));
    assert_eq!(decoded.disclosed, expected);
    assert_eq!(decoded.digests.len(), expected.len());
    for claim in expected.keys() {
        assert!(!payload.contains_key(claim), "`{claim}` is not plain");
    }
}

#[tokio::test]
async fn an_optional_claim_left_out_is_not_issued() {
    let instance = instance().await;
    let mut claims = person_claims();
    claims.as_object_mut().unwrap().remove("locality");
    let (_, issued) = instance.issue("person", claims, &HolderKey::es256()).await;
    let decoded = decode(&issued, &issuer_jwk(&instance));
    assert!(!decoded.disclosed.contains_key("locality"));
    assert_eq!(decoded.digests.len(), 6);
}

#[tokio::test]
async fn wrong_or_reused_pre_authorized_codes_are_invalid_grants() {
    let instance = instance().await;
    let reply = instance.token("not-a-code", Some("123456")).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    let tx_code = offer["tx_code"].as_str();
    assert_eq!(instance.token(&code, tx_code).await.status, StatusCode::OK);
    let description = instance
        .token(&code, tx_code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("already used"), "{description}");
    // The offer is no longer served by reference once redeemed.
    let path = local_path(&offer["credential_offer_uri"]);
    assert_eq!(instance.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn token_requests_must_be_well_formed() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    // The offer has a transaction code: it must be sent.
    instance
        .token(&code, None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    instance
        .post_form("/token", &[("grant_type", "password"), ("username", "x")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    instance
        .post_form("/token", &[("pre-authorized_code", &code)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let json_body = instance
        .post_json("/token", None, &json!({"grant_type": "x"}))
        .await;
    json_body.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // None of these used the code up.
    assert_eq!(
        instance
            .token(&code, offer["tx_code"].as_str())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_tx_code_on_an_offer_without_one_is_refused() {
    let instance = instance().await;
    let claims = person_claims();
    let reply = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "person", "claims": claims, "tx_code": false}),
        )
        .await;
    // The Person governance requires a transaction code: the back end cannot waive it.
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("requires a transaction code")
    );
}

#[tokio::test]
async fn wrong_tx_codes_are_counted_and_the_offer_is_invalidated_at_the_cap() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    let right = offer["tx_code"].as_str().unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (1..5).rev() {
        let description = instance
            .token(&code, Some(wrong))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
        assert!(
            description.contains(&format!("{left} attempt(s) left")),
            "{description}"
        );
    }
    let description = instance
        .token(&code, Some(wrong))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("invalidated"), "{description}");
    // Even the right code no longer works.
    instance
        .token(&code, Some(right))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let id = offer["id"].as_str().unwrap();
    let state = instance
        .send(admin_get(&format!("/admin/offers/{id}")))
        .await
        .json();
    assert_eq!(state["state"], "locked");
    assert_eq!(state["tx_code_attempts"], 5);
}

#[tokio::test]
async fn an_expired_offer_cannot_be_redeemed() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    instance.advance(601);
    let description = instance
        .token(&code, offer["tx_code"].as_str())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
    let id = offer["id"].as_str().unwrap();
    let state = instance
        .send(admin_get(&format!("/admin/offers/{id}")))
        .await
        .json();
    assert_eq!(state["state"], "expired");
}

/// An offer redeemed up to the access token, ready for a credential request.
async fn redeemed(instance: &Instance) -> String {
    let offer = instance.offer("person", person_claims()).await;
    instance.access_token(&offer).await
}

#[tokio::test]
async fn proofs_without_a_nonce_or_with_a_used_one_are_refused() {
    let instance = instance().await;
    let holder = HolderKey::es256();
    let token = redeemed(&instance).await;
    let proof = holder.proof(PUBLIC_URL, None, instance.now());
    let description = instance
        .credential(&token, "person", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    assert!(description.contains("nonce"), "{description}");

    let unknown = holder.proof(PUBLIC_URL, Some("never-issued"), instance.now());
    instance
        .credential(&token, "person", &unknown)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");

    // A nonce works once: the second credential request replaying it is refused.
    let proof = instance.fresh_proof(&holder).await;
    assert_eq!(
        instance.credential(&token, "person", &proof).await.status,
        StatusCode::OK
    );
    let other = redeemed(&instance).await;
    instance
        .credential(&other, "person", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");

    // A nonce expires.
    let nonce = instance.nonce().await;
    instance.advance(301);
    let other = redeemed(&instance).await;
    let proof = holder.proof(PUBLIC_URL, Some(&nonce), instance.now());
    instance
        .credential(&other, "person", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
}

#[tokio::test]
async fn proofs_with_the_wrong_audience_a_stale_iat_no_signature_or_the_wrong_key_are_refused() {
    let instance = instance().await;
    let holder = HolderKey::es256();
    let token = redeemed(&instance).await;
    let now = instance.now();

    let refused = |proof: String, expected: &'static str| {
        let instance = &instance;
        let token = token.clone();
        async move {
            let description = instance
                .credential(&token, "person", &proof)
                .await
                .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
            assert!(
                description.contains(expected),
                "`{description}` mentions `{expected}`"
            );
        }
    };

    let nonce = instance.nonce().await;
    refused(
        holder.proof("https://other.example", Some(&nonce), now),
        "aud",
    )
    .await;
    refused(holder.proof(PUBLIC_URL, Some(&nonce), now - 301), "iat").await;
    refused(holder.proof(PUBLIC_URL, Some(&nonce), now + 3600), "iat").await;

    // alg none: an unsigned token.
    let unsigned = {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let header =
            json!({"typ": "openid4vci-proof+jwt", "alg": "none", "jwk": holder.public_jwk()});
        let payload = json!({"aud": PUBLIC_URL, "iat": now, "nonce": nonce});
        format!("{}.{}.", b64(header), b64(payload))
    };
    refused(unsigned, "none").await;

    // Signed by another key than the one in its `jwk` header.
    let impostor = HolderKey::es256();
    let header = json!({"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": holder.public_jwk()});
    let payload = json!({"aud": PUBLIC_URL, "iat": now, "nonce": nonce});
    refused(impostor.sign_jws(&header, &payload), "signature").await;

    // Wrong typ.
    let header = json!({"typ": "JWT", "alg": "ES256", "jwk": holder.public_jwk()});
    refused(holder.sign_jws(&header, &payload), "typ").await;

    // None of those used the nonce: a good proof with it still works.
    let good = holder.proof(PUBLIC_URL, Some(&nonce), now);
    assert_eq!(
        instance.credential(&token, "person", &good).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn credential_requests_name_a_known_configuration_and_carry_one_jwt_proof() {
    let instance = instance().await;
    let holder = HolderKey::es256();
    let token = redeemed(&instance).await;
    let proof = instance.fresh_proof(&holder).await;

    instance
        .credential(&token, "driver-licence", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown_credential_configuration");
    instance
        .post_json(
            "/credential",
            Some(&token),
            &json!({"credential_identifier": "x", "proofs": {"jwt": [proof]}}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown_credential_identifier");
    // The token was issued for Person, not Lawyer.
    instance
        .credential(&token, "lawyer", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_credential_request");
    instance
        .post_json(
            "/credential",
            Some(&token),
            &json!({"credential_configuration_id": "person"}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    instance
        .post_json(
            "/credential",
            Some(&token),
            &json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof, proof]}}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    instance
        .post_json(
            "/credential",
            Some(&token),
            &json!({"credential_configuration_id": "person", "proofs": {"di_vp": [{}]}}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    instance
        .post_json(
            "/credential",
            Some(&token),
            &json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]},
                    "credential_response_encryption": {"alg": "ECDH-ES", "enc": "A128GCM"}}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_encryption_parameters");
    let garbage = instance
        .post("/credential", None, Some(&token), "{not json")
        .await;
    garbage.assert_error(StatusCode::BAD_REQUEST, "invalid_credential_request");

    // After all that, the proof's nonce is unused and the request succeeds.
    assert_eq!(
        instance.credential(&token, "person", &proof).await.status,
        StatusCode::OK
    );
    // The same proof again is refused for its spent nonce; with a fresh nonce the access
    // token gets another credential (a wallet whose answer was lost asks again: serve::batch).
    instance
        .credential(&token, "person", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    let again = instance.fresh_proof(&holder).await;
    assert_eq!(
        instance.credential(&token, "person", &again).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn access_tokens_are_checked() {
    let instance = instance().await;
    let holder = HolderKey::es256();
    let proof = instance.fresh_proof(&holder).await;
    let body = json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]}});

    let missing = instance.post_json("/credential", None, &body).await;
    missing.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(
        missing.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    instance
        .post_json("/credential", Some("made-up"), &body)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let token = redeemed(&instance).await;
    // A token names its offer under the issuer's seal: moved to another offer, it is no token.
    let (_, sealed) = token.split_once('.').unwrap();
    instance
        .post_json(
            "/credential",
            Some(&format!("0190a1b2c3d4moved.{sealed}")),
            &body,
        )
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    instance
        .post_json(&format!("/credential?access_token={token}"), None, &body)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    instance.advance(301);
    instance
        .post_json("/credential", Some(&token), &body)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

fn admin_get(path: &str) -> Request<Body> {
    super::admin_request("GET", path)
}

fn admin_post(path: &str) -> Request<Body> {
    super::admin_request("POST", path)
}

#[tokio::test]
async fn revoking_an_offer_revokes_its_credential_in_the_status_list() {
    let instance = instance().await;
    let jwk = issuer_jwk(&instance);
    let (offer, issued) = instance
        .issue("person", person_claims(), &HolderKey::es256())
        .await;
    let (_, other) = instance
        .issue("person", person_claims(), &HolderKey::ed25519())
        .await;
    let status = decode(&issued, &jwk).payload["status"]["status_list"].clone();
    let other_idx = decode(&other, &jwk).payload["status"]["status_list"]["idx"]
        .as_u64()
        .unwrap();
    let idx = status["idx"].as_u64().unwrap();
    assert_ne!(idx, other_idx, "each credential has its own index");
    let list_path = local_path(&status["uri"]);

    let list = instance.get(&list_path).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.headers[header::CONTENT_TYPE],
        "application/statuslist+jwt"
    );
    assert_eq!(status_in_list(&list.text(), &jwk, idx), 0);

    let id = offer["id"].as_str().unwrap();
    let revoked = instance
        .send(admin_post(&format!("/admin/offers/{id}/revoke")))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let revoked = revoked.json();
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["credentials"][0]["revoked"], true);
    assert_eq!(revoked["credentials"][0]["status_list"]["idx"], idx);

    let list = instance.get(&list_path).await.text();
    assert_eq!(status_in_list(&list, &jwk, idx), 1);
    assert_eq!(
        status_in_list(&list, &jwk, other_idx),
        0,
        "only that offer's credential"
    );

    // Revoking twice is harmless; unknown offers and lists are 404 problems.
    let again = instance
        .send(admin_post(&format!("/admin/offers/{id}/revoke")))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let unknown = instance.send(admin_post("/admin/offers/nope/revoke")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(
        instance.get("/status-lists/99").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_revoked_offer_issues_nothing() {
    let instance = instance().await;
    let holder = HolderKey::es256();
    // Revoked before the wallet redeemed it.
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    let id = offer["id"].as_str().unwrap();
    instance
        .send(admin_post(&format!("/admin/offers/{id}/revoke")))
        .await;
    instance
        .token(&code, offer["tx_code"].as_str())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Revoked between the token and the credential request.
    let offer = instance.offer("person", person_claims()).await;
    let token = instance.access_token(&offer).await;
    let id = offer["id"].as_str().unwrap();
    instance
        .send(admin_post(&format!("/admin/offers/{id}/revoke")))
        .await;
    let proof = instance.fresh_proof(&holder).await;
    instance
        .credential(&token, "person", &proof)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "credential_request_denied");
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_token() {
    let instance = instance().await;
    let body = json!({"credential": "person", "claims": person_claims()});
    for bearer in [None, Some("wrong-token-wrong-token")] {
        let reply = instance.post_json("/admin/offers", bearer, &body).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(reply.json()["status"], 401);
    }
    let reply = instance.get("/admin/offers/whatever").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn offers_with_claims_outside_the_governance_are_refused_naming_each_claim() {
    let instance = instance().await;
    let claims = json!({
        "given_names": "Alex Jordan",      // taken from the presented Person credential
        "member_id": "12",                 // pattern [0-9]{6}
        "member_status": "suspended",      // not an allowed value
        "called_to_bar": "2015-02-30",     // not a date
        "expiry_date": 20270131,           // wrong type
        "favourite_colour": "green"        // not in the governance
    });
    let reply = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "lawyer", "claims": claims}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = reply.json();
    assert_eq!(body["status"], 422);
    let problems: Vec<(String, String)> = body["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["claim"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("called_to_bar", "format"),
        ("expiry_date", "type"),
        ("favourite_colour", "unknown"),
        ("given_names", "presented"),
        ("member_id", "pattern"),
        ("member_status", "value"),
    ]
    .iter()
    .map(|(c, p)| (c.to_string(), p.to_string()))
    .collect();
    assert_eq!(problems, expected, "{body:#}");

    // A constant the governance fixes cannot be changed by the back end.
    let mut claims = person_claims();
    claims["region"] = json!("ON");
    let reply = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "person", "claims": claims}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["claims"][0]["problem"], "fixed");

    let unknown = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "driver-licence", "claims": {}}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.json()["detail"]
            .as_str()
            .unwrap()
            .contains("lawyer`, `person")
    );

    let malformed = instance
        .post(
            "/admin/offers",
            None,
            Some(ADMIN_TOKEN),
            "{\"credential\": ",
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json()["type"], "urn:trustc:problem:bad-request");
}

#[tokio::test]
async fn the_admin_api_shows_an_offers_progress() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let id = offer["id"].as_str().unwrap();
    let path = format!("/admin/offers/{id}");
    let show = || admin_get(&path);
    let state = instance.send(show()).await.json();
    assert_eq!(state["state"], "offered");
    assert_eq!(state["credential"], "person");
    assert_eq!(state["tx_code_required"], true);
    assert!(
        state.get("claims").is_none(),
        "the state never echoes personal data"
    );

    let token = instance.access_token(&offer).await;
    assert_eq!(instance.send(show()).await.json()["state"], "redeemed");
    let proof = instance.fresh_proof(&HolderKey::es256()).await;
    instance.credential(&token, "person", &proof).await;
    let state = instance.send(show()).await.json();
    assert_eq!(state["state"], "issued");
    assert_eq!(state["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(state["credentials"][0]["revoked"], false);
    assert_eq!(
        instance
            .send(admin_get("/admin/offers/unknown"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn metadata_keys_health_and_the_api_description_are_served() {
    let instance = instance().await;
    let metadata = instance
        .get("/.well-known/openid-credential-issuer")
        .await
        .json();
    assert_eq!(metadata["credential_issuer"], PUBLIC_URL);
    assert_eq!(
        metadata["credential_endpoint"],
        format!("{PUBLIC_URL}/credential")
    );
    assert_eq!(metadata["nonce_endpoint"], format!("{PUBLIC_URL}/nonce"));
    assert!(metadata["credential_configurations_supported"]["lawyer"].is_object());
    let oauth = instance
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(oauth["issuer"], PUBLIC_URL);
    assert_eq!(oauth["token_endpoint"], format!("{PUBLIC_URL}/token"));

    let keys = instance.get("/.well-known/jwt-vc-issuer").await.json();
    assert_eq!(keys["issuer"], PUBLIC_URL);
    assert_eq!(keys["jwks"]["keys"][0]["kid"], instance.issuer.key.kid());
    assert!(
        keys["jwks"]["keys"][0].get("d").is_none(),
        "no private key material"
    );

    let health = instance.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");

    let api = instance.get("/openapi.json").await.json();
    assert!(api["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/admin/offers",
        "/admin/offers/{id}",
        "/admin/offers/{id}/revoke",
    ] {
        assert!(api["paths"][path].is_object(), "OpenAPI documents {path}");
    }
    let missing = instance.get("/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["status"], 404);
}

#[tokio::test]
async fn an_issuer_url_with_a_path_serves_well_known_documents_with_the_path_inserted() {
    let public = "https://issuer.example/lsbc";
    let instance = Instance::start_at("sqlite::memory:", IssuerKey::generate(), public).await;
    let metadata = instance
        .get("/.well-known/openid-credential-issuer/lsbc")
        .await;
    assert_eq!(metadata.status, StatusCode::OK, "{}", metadata.text());
    assert_eq!(metadata.json()["credential_issuer"], public);
    assert_eq!(
        metadata.json()["credential_endpoint"],
        format!("{public}/credential")
    );
    let oauth = instance
        .get("/.well-known/oauth-authorization-server/lsbc")
        .await
        .json();
    assert_eq!(oauth["token_endpoint"], format!("{public}/token"));
    assert_eq!(
        instance.get("/.well-known/jwt-vc-issuer/lsbc").await.status,
        StatusCode::OK
    );
    let nonce = instance
        .send(Request::post("/lsbc/nonce").body(Body::empty()).unwrap())
        .await;
    assert_eq!(nonce.status, StatusCode::OK);
    assert_eq!(
        instance
            .send(Request::post("/nonce").body(Body::empty()).unwrap())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
