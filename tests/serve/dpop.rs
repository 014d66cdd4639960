//! DPoP-bound access tokens (RFC 9449) against the router: a wallet that sends a `DPoP` proof to
//! the token endpoint gets a token only its key can use at the credential endpoint, and each way
//! a proof or a token can be wrong is refused with the error and challenge RFC 9449 names. The
//! answers are checked against `runtime/openapi.json` as they go.

use axum::body::Body;
use axum::http::request::Builder as RequestBuilder;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use trustc_runtime::dpop::jwk_thumbprint;
use trustc_testkit::HolderKey;

use super::openapi::Api;
use super::{FORM, Instance, PUBLIC_URL, Reply, decode, instance, person_claims};

const TOKEN_URL: &str = "https://issuer.example/token";
const CREDENTIAL_URL: &str = "https://issuer.example/credential";

/// `POST /token` for an admin offer's pre-authorised code, with these `DPoP` headers.
async fn token(instance: &Instance, offer: &Value, dpop: &[&str]) -> Reply {
    let resolved = instance.resolve_offer(offer).await;
    let code = super::pre_authorized_code(&resolved);
    token_for(instance, &code, offer["tx_code"].as_str(), dpop).await
}

async fn token_for(instance: &Instance, code: &str, tx_code: Option<&str>, dpop: &[&str]) -> Reply {
    token_at(instance, "/token", code, tx_code, dpop).await
}

/// The pre-authorised code grant posted to the token endpoint at `path`, with these `DPoP`
/// headers.
async fn token_at(
    instance: &Instance,
    path: &str,
    code: &str,
    tx_code: Option<&str>,
    dpop: &[&str],
) -> Reply {
    let request = Request::post(path).header(header::CONTENT_TYPE, FORM);
    instance
        .send(
            with_dpop(request, dpop)
                .body(Body::from(super::pre_authorized_form(code, tx_code)))
                .unwrap(),
        )
        .await
}

/// `request` with one `DPoP` header for each of `dpop`.
fn with_dpop(mut request: RequestBuilder, dpop: &[&str]) -> RequestBuilder {
    for proof in dpop {
        request = request.header("DPoP", *proof);
    }
    request
}

/// `POST /credential` with this `Authorization` header and these `DPoP` headers, and a fresh
/// key proof by `holder`.
async fn credential(
    instance: &Instance,
    authorization: Option<String>,
    dpop: &[&str],
    holder: &HolderKey,
) -> Reply {
    let proof = instance.fresh_proof(holder).await;
    let body = json!({"credential_configuration_id": "person", "proofs": {"jwt": [proof]}});
    let mut request = Request::post("/credential").header(header::CONTENT_TYPE, "application/json");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    instance
        .send(
            with_dpop(request, dpop)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
}

/// `POST /credential` with `Authorization: DPoP <access_token>` and this one DPoP proof.
async fn credential_with_proof(
    instance: &Instance,
    access_token: &str,
    proof: &str,
    holder: &HolderKey,
) -> Reply {
    let authorization = Some(format!("DPoP {access_token}"));
    credential(instance, authorization, &[proof], holder).await
}

/// `POST /credential` with `Authorization: DPoP <access_token>` and a DPoP proof for it that
/// `signer` makes now.
async fn credential_signed_by(
    instance: &Instance,
    signer: &HolderKey,
    access_token: &str,
    holder: &HolderKey,
) -> Reply {
    let proof = signer.dpop_proof("POST", CREDENTIAL_URL, Some(access_token), instance.now());
    credential_with_proof(instance, access_token, &proof, holder).await
}

/// A DPoP-bound access token for a new Person offer, bound to `wallet`'s key.
async fn bound_token(instance: &Instance, wallet: &HolderKey) -> String {
    let offer = instance.offer("person", person_claims()).await;
    let proof = wallet.dpop_proof("POST", TOKEN_URL, None, instance.now());
    let reply = token(instance, &offer, &[&proof]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["token_type"], "DPoP");
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// Asserts a 401 of the credential endpoint: its error, and a `DPoP` challenge naming it and the
/// algorithms (RFC 9449 §7.1); returns the description.
#[track_caller]
fn assert_dpop_challenge(reply: &Reply, error: &str) -> String {
    let description = reply.assert_error(StatusCode::UNAUTHORIZED, error);
    let challenge = reply.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with(&format!("DPoP error=\"{error}\", error_description=\""))
            && challenge.ends_with(", algs=\"ES256 EdDSA\""),
        "{challenge}"
    );
    description
}

#[tokio::test]
async fn a_wallet_that_asks_gets_a_token_only_its_key_can_use() {
    let api = Api::load();
    let instance = instance().await;
    for wallet in [HolderKey::es256(), HolderKey::ed25519()] {
        // The credential's key need not be the DPoP key.
        let holder = HolderKey::ed25519();
        let offer = instance.offer("person", person_claims()).await;
        let proof = wallet.dpop_proof("POST", TOKEN_URL, None, instance.now());
        let reply = token(&instance, &offer, &[&proof]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let answer = api.check("post", "/token", &reply);
        assert_eq!(answer["token_type"], "DPoP");
        let access_token = answer["access_token"].as_str().unwrap();
        // The token names its key's thumbprint (and the offer, as every token does).
        let jkt = jwk_thumbprint(&wallet.public_jwk()).unwrap();
        assert!(access_token.ends_with(&format!(".{jkt}")), "{access_token}");

        let reply = credential_signed_by(&instance, &wallet, access_token, &holder).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let issued = api.check("post", "/credential", &reply)["credentials"][0]["credential"]
            .as_str()
            .unwrap()
            .to_owned();
        let decoded = decode(&issued, instance.issuer.key.public_jwk());
        assert_eq!(decoded.payload["cnf"]["jwk"], holder.public_jwk());
        assert_eq!(decoded.disclosed["family_name"], "Tremblay");
    }
    // Without a proof, the same flow gets a bearer token, as before.
    let offer = instance.offer("person", person_claims()).await;
    let reply = token(&instance, &offer, &[]).await;
    assert_eq!(api.check("post", "/token", &reply)["token_type"], "Bearer");
}

#[tokio::test]
async fn a_proof_is_used_once() {
    let instance = instance().await;
    let wallet = HolderKey::es256();
    // At the token endpoint: the replayed proof is refused and the code stays unspent.
    let offer = instance.offer("person", person_claims()).await;
    let resolved = instance.resolve_offer(&offer).await;
    let code = super::pre_authorized_code(&resolved);
    let tx_code = offer["tx_code"].as_str();
    let first = wallet.dpop_proof("POST", TOKEN_URL, None, instance.now());
    let other_offer = instance.offer("person", person_claims()).await;
    assert_eq!(
        token(&instance, &other_offer, &[&first]).await.status,
        StatusCode::OK
    );
    let description = token_for(&instance, &code, tx_code, &[&first])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    assert!(description.contains("was used before"), "{description}");
    let fresh = wallet.dpop_proof("POST", TOKEN_URL, None, instance.now());
    let reply = token_for(&instance, &code, tx_code, &[&fresh]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let access_token = reply.json()["access_token"].as_str().unwrap().to_owned();

    // At the credential endpoint: a proof that was refused for another reason (here, the key
    // proof's nonce) is spent all the same; a new one goes through.
    let holder = HolderKey::es256();
    let proof = wallet.dpop_proof("POST", CREDENTIAL_URL, Some(&access_token), instance.now());
    let stale_nonce = holder.proof(PUBLIC_URL, Some("never-issued"), instance.now());
    let body = json!({"credential_configuration_id": "person", "proofs": {"jwt": [stale_nonce]}});
    let reply = instance
        .send(
            Request::post("/credential")
                .header(header::AUTHORIZATION, format!("DPoP {access_token}"))
                .header("DPoP", &proof)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_nonce");
    let reply = credential_with_proof(&instance, &access_token, &proof, &holder).await;
    let description = assert_dpop_challenge(&reply, "invalid_dpop_proof");
    assert!(description.contains("was used before"), "{description}");
    let reply = credential_signed_by(&instance, &wallet, &access_token, &holder).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_proof_for_another_request_or_time_is_refused_at_the_token_endpoint() {
    let api = Api::load();
    let instance = instance().await;
    let wallet = HolderKey::ed25519();
    let offer = instance.offer("person", person_claims()).await;
    let now = instance.now();
    let claims = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = json!({"jti": format!("jti-{}", rand_suffix()), "htm": "POST", "htu": TOKEN_URL, "iat": now});
        edit(claims.as_object_mut().unwrap());
        wallet.dpop_jws(&claims)
    };
    let alg_none = {
        use base64::Engine;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": wallet.public_jwk()});
        format!(
            "{}.{}.",
            b64(&header),
            b64(&json!({"jti": "x", "htm": "POST", "htu": TOKEN_URL, "iat": now}))
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (
            claims(&|c| drop(c.insert("htu".into(), json!(CREDENTIAL_URL)))),
            "DPoP proof `htu` is `https://issuer.example/credential`, but the request is for \
             `https://issuer.example/token`",
        ),
        (
            claims(&|c| drop(c.insert("htm".into(), json!("GET")))),
            "DPoP proof `htm` is `GET`, but the request is a POST",
        ),
        (
            claims(&|c| drop(c.insert("iat".into(), json!(now - 301)))),
            "DPoP proof `iat` is 301 s old; at most 300 s is accepted",
        ),
        (
            claims(&|c| drop(c.remove("jti"))),
            "DPoP proof has no `jti` claim",
        ),
        (
            alg_none,
            "DPoP proof `alg` is `none`: an unsigned DPoP proof is not accepted",
        ),
        ("not a proof".to_owned(), "DPoP proof is not a compact JWS"),
    ];
    for (proof, expected) in &cases {
        let reply = token(&instance, &offer, &[proof]).await;
        let description = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
        assert!(description.starts_with(expected), "{description}");
        api.check("post", "/token", &reply);
    }
    // Two proofs at once.
    let one = wallet.dpop_proof("POST", TOKEN_URL, None, now);
    let two = wallet.dpop_proof("POST", TOKEN_URL, None, now);
    let description = token(&instance, &offer, &[&one, &two])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    assert!(
        description.contains("more than one `DPoP` header"),
        "{description}"
    );
    // None of these spent the code: a good proof still redeems it.
    let proof = wallet.dpop_proof("POST", TOKEN_URL, None, now);
    assert_eq!(
        token(&instance, &offer, &[&proof]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_proof_for_another_request_time_or_token_is_refused_at_the_credential_endpoint() {
    let api = Api::load();
    let instance = instance().await;
    let wallet = HolderKey::es256();
    let holder = HolderKey::es256();
    let access_token = bound_token(&instance, &wallet).await;
    let dpop = Some(format!("DPoP {access_token}"));
    let now = instance.now();
    let cases = [
        (
            wallet.dpop_proof("POST", TOKEN_URL, Some(&access_token), now),
            "DPoP proof `htu` is `https://issuer.example/token`, but the request is for \
             `https://issuer.example/credential`",
        ),
        (
            wallet.dpop_proof("PUT", CREDENTIAL_URL, Some(&access_token), now),
            "DPoP proof `htm` is `PUT`, but the request is a POST",
        ),
        (
            wallet.dpop_proof("POST", CREDENTIAL_URL, Some("another token"), now),
            "DPoP proof `ath` is not the SHA-256 of the access token sent with it",
        ),
        (
            wallet.dpop_proof("POST", CREDENTIAL_URL, None, now),
            "DPoP proof has no `ath` claim",
        ),
        (
            wallet.dpop_proof("POST", CREDENTIAL_URL, Some(&access_token), now + 61),
            "DPoP proof `iat` is 61 s in the future",
        ),
    ];
    for (proof, expected) in &cases {
        let reply = credential(&instance, dpop.clone(), &[proof], &holder).await;
        let description = assert_dpop_challenge(&reply, "invalid_dpop_proof");
        assert!(description.starts_with(expected), "{description}");
        api.check("post", "/credential", &reply);
    }
    // No proof at all.
    let reply = credential(&instance, dpop.clone(), &[], &holder).await;
    let description = assert_dpop_challenge(&reply, "invalid_dpop_proof");
    assert!(description.contains("no `DPoP` header"), "{description}");
    // A proof made now is stale once the clock has moved past its lifetime (and the token with
    // it: a fresh token shows the proof's own refusal).
    let access_token = bound_token(&instance, &wallet).await;
    let proof = wallet.dpop_proof("POST", CREDENTIAL_URL, Some(&access_token), instance.now());
    instance.advance(250);
    let fresh_token = bound_token(&instance, &wallet).await;
    let old = wallet.dpop_proof(
        "POST",
        CREDENTIAL_URL,
        Some(&fresh_token),
        instance.now() - 301,
    );
    let reply = credential_with_proof(&instance, &fresh_token, &old, &holder).await;
    let description = assert_dpop_challenge(&reply, "invalid_dpop_proof");
    assert!(description.contains("s old"), "{description}");
    instance.advance(51);
    let reply = credential_with_proof(&instance, &access_token, &proof, &holder).await;
    let description = assert_dpop_challenge(&reply, "invalid_token");
    assert_eq!(description, "the access token has expired");
    // All of these left the credential to be fetched with a good proof.
    let reply = credential_signed_by(&instance, &wallet, &fresh_token, &holder).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_bound_token_needs_its_key_and_the_dpop_scheme() {
    let api = Api::load();
    let instance = instance().await;
    let wallet = HolderKey::es256();
    let holder = HolderKey::es256();
    let access_token = bound_token(&instance, &wallet).await;

    // Sent as a bearer token: refused, and told to use DPoP.
    let reply = credential(
        &instance,
        Some(format!("Bearer {access_token}")),
        &[],
        &holder,
    )
    .await;
    let description = assert_dpop_challenge(&reply, "invalid_token");
    assert!(description.contains("bound to a DPoP key"), "{description}");
    api.check("post", "/credential", &reply);
    // Even with a good proof beside it.
    let proof = wallet.dpop_proof("POST", CREDENTIAL_URL, Some(&access_token), instance.now());
    let reply = credential(
        &instance,
        Some(format!("Bearer {access_token}")),
        &[&proof],
        &holder,
    )
    .await;
    assert_dpop_challenge(&reply, "invalid_token");

    // A proof by another key, however well made.
    let thief = HolderKey::es256();
    let reply = credential_signed_by(&instance, &thief, &access_token, &holder).await;
    let description = assert_dpop_challenge(&reply, "invalid_token");
    assert_eq!(
        description,
        "the DPoP proof is signed by another key than the one the access token is bound to"
    );
    api.check("post", "/credential", &reply);

    // The token with its thumbprint swapped for the thief's is no token of this issuer.
    let (unbound, _) = access_token.rsplit_once('.').unwrap();
    let swapped = format!("{unbound}.{}", jwk_thumbprint(&thief.public_jwk()).unwrap());
    let reply = credential_signed_by(&instance, &thief, &swapped, &holder).await;
    assert_eq!(
        assert_dpop_challenge(&reply, "invalid_token"),
        "the access token is unknown"
    );

    // A bearer token sent with the DPoP scheme.
    let offer = instance.offer("person", person_claims()).await;
    let bearer = instance.access_token(&offer).await;
    let reply = credential_signed_by(&instance, &wallet, &bearer, &holder).await;
    let description = assert_dpop_challenge(&reply, "invalid_token");
    assert!(
        description.contains("not bound to a DPoP key"),
        "{description}"
    );

    // No token at all: both challenges.
    let reply = credential(&instance, None, &[], &holder).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let challenges: Vec<&str> = reply
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(challenges[1], "DPoP algs=\"ES256 EdDSA\"");
    api.check("post", "/credential", &reply);

    // The owner still gets the credential.
    let reply = credential_signed_by(&instance, &wallet, &access_token, &holder).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn an_issuer_below_a_path_names_its_endpoints_with_it() {
    let instance = Instance::start_at(
        "sqlite::memory:",
        trustc_runtime::IssuerKey::generate(),
        "https://issuer.example/tenant",
    )
    .await;
    let wallet = HolderKey::ed25519();
    let reply = instance
        .post_json(
            "/tenant/admin/offers",
            Some(super::ADMIN_TOKEN),
            &json!({"credential": "person", "claims": person_claims()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let offer = reply.json();
    let resolved = instance.resolve_offer(&offer).await;
    let code = super::pre_authorized_code(&resolved);
    let tx_code = offer["tx_code"].as_str();
    let wrong = wallet.dpop_proof("POST", TOKEN_URL, None, instance.now());
    token_at(&instance, "/tenant/token", &code, tx_code, &[&wrong])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let right = wallet.dpop_proof(
        "POST",
        "https://issuer.example/tenant/token",
        None,
        instance.now(),
    );
    let reply = token_at(&instance, "/tenant/token", &code, tx_code, &[&right]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["token_type"], "DPoP");
}

/// A few random characters, so that proofs made in one test have distinct `jti`s.
fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Two instances sharing a database (and the key, as replicas do): a proof used on one is spent
/// for the other, and of two racing uses one wins.
async fn replicas_spend_a_proof_once(db: &str) {
    let key = trustc_runtime::IssuerKey::generate();
    let pem = key.to_pkcs8_pem();
    let a = Instance::start(db, key).await;
    let b = Instance::start(db, trustc_runtime::IssuerKey::from_pem(&pem).unwrap()).await;
    let wallet = HolderKey::es256();
    let proof = wallet.dpop_proof("POST", TOKEN_URL, None, a.now());
    let first = a.offer("person", person_claims()).await;
    let second = b.offer("person", person_claims()).await;
    assert_eq!(token(&a, &first, &[&proof]).await.status, StatusCode::OK);
    token(&b, &second, &[&proof])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    let raced = wallet.dpop_proof("POST", TOKEN_URL, None, a.now());
    let third = a.offer("person", person_claims()).await;
    let headers = [raced.as_str()];
    let (one, two) = tokio::join!(token(&a, &second, &headers), token(&b, &third, &headers));
    let statuses = [one.status, two.status];
    assert!(
        statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::BAD_REQUEST),
        "{statuses:?}: {} / {}",
        one.text(),
        two.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_postgres_spend_a_proof_once() {
    let Some(db) = trustc_testkit::postgres::database("serve_dpop_replay") else {
        return;
    };
    replicas_spend_a_proof_once(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_sqlite_file_spend_a_proof_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("issuer.db").display());
    replicas_spend_a_proof_once(&db).await;
}
