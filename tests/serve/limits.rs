//! The limits on what an outsider controls (request bodies, JWTs, proofs per request, claims per
//! offer, presentations, header fields) and the rate limits (token requests per code and per
//! client address, wrong transaction codes, failed admin authentications, presentation requests
//! per offer): each refusal's status, body and `Retry-After`, as `docs/serve.md` ("Limits and
//! rate limits") promises. In process through the router, with the client address a socket
//! would give set on the request; the header count and the peer address also on a real socket.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trustc_runtime::domain::presentation::{ClientIdPrefix, ResponseMode};
use trustc_runtime::limits::Rate;
use trustc_runtime::{IssuerKey, Settings};
use trustc_testkit::HolderKey;

use super::openapi::Api;
use super::presentation::world;
use super::{
    ADMIN_TOKEN, FORM, Instance, PUBLIC_URL, Reply, admin_request, instance, lawyer_claims,
    local_path, person_claims, pre_authorized_code, pre_authorized_form,
};

/// A runtime with the settings `configure` leaves.
async fn instance_with(configure: impl FnOnce(&mut Settings)) -> Instance {
    Instance::start_with(
        "sqlite::memory:",
        IssuerKey::generate(),
        PUBLIC_URL,
        configure,
    )
    .await
}

/// The peer address a socket would give a request.
fn from(request: &mut Request<Body>, address: &str) {
    let peer: SocketAddr = format!("{address}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
}

/// A token request of `form` from `address`.
async fn token_from(instance: &Instance, address: &str, form: String) -> Reply {
    let mut request = Request::post("/token")
        .header(header::CONTENT_TYPE, FORM)
        .body(Body::from(form))
        .unwrap();
    from(&mut request, address);
    instance.send(request).await
}

/// The `Retry-After` of a reply, in seconds; asserts it is within `range`.
#[track_caller]
fn retry_after(reply: &Reply, range: std::ops::RangeInclusive<u64>) -> u64 {
    let seconds: u64 = reply
        .headers
        .get(header::RETRY_AFTER)
        .unwrap_or_else(|| panic!("a Retry-After header: {}", reply.text()))
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        range.contains(&seconds),
        "Retry-After {seconds} ∉ {range:?}"
    );
    seconds
}

/// Asserts a problem answer of `status` and `slug`; returns its detail.
#[track_caller]
fn assert_problem(reply: &Reply, status: StatusCode, slug: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = reply.json();
    assert_eq!(body["type"], format!("urn:trustc:problem:{slug}"), "{body}");
    assert_eq!(body["status"], status.as_u16());
    body["detail"].as_str().expect("a detail").to_owned()
}

#[tokio::test]
async fn a_token_request_over_16_kib_is_refused_before_it_is_read() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    let padding = "x".repeat(17 * 1024);
    let form = format!(
        "{}&padding={padding}",
        pre_authorized_form(&code, offer["tx_code"].as_str())
    );
    // Declared too large (refused before a byte is read), and sent without a length (read up
    // to the limit).
    let declared = instance
        .send(
            Request::post("/token")
                .header(header::CONTENT_TYPE, FORM)
                .header(header::CONTENT_LENGTH, form.len())
                .body(Body::from(form.clone()))
                .unwrap(),
        )
        .await;
    let detail = assert_problem(
        &declared,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );
    Api::load().check("post", "/token", &declared);
    assert!(
        detail.contains("a token or authorization request is limited to 16 KiB"),
        "{detail}"
    );
    let unannounced = instance.post("/token", Some(FORM), None, form).await;
    assert_problem(
        &unannounced,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );
    // Nothing was spent: the code still redeems.
    let reply = instance.token(&code, offer["tx_code"].as_str()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_credential_request_has_room_for_a_batch_but_not_over_256_kib() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let token = instance.access_token(&offer).await;
    let holder = HolderKey::es256();
    let proof = instance.fresh_proof(&holder).await;
    // 100 KiB: over the 64 KiB of other requests, read and answered on its merits.
    let roomy = json!({
        "credential_configuration_id": "person",
        "proofs": {"jwt": [proof]},
        "padding": "x".repeat(100 * 1024),
    });
    let reply = instance
        .post_json("/credential", Some(&token), &roomy)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let large = json!({
        "credential_configuration_id": "person",
        "proofs": {"jwt": [proof]},
        "padding": "x".repeat(260 * 1024),
    });
    let reply = instance
        .post_json("/credential", Some(&token), &large)
        .await;
    let detail = assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    Api::load().check("post", "/credential", &reply);
    assert!(
        detail.contains("credential request is limited to 256 KiB"),
        "{detail}"
    );
}

#[tokio::test]
async fn more_than_100_proofs_are_refused_before_any_is_read() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let token = instance.access_token(&offer).await;
    let proofs: Vec<String> = (0..101).map(|i| format!("not.a.proof{i}")).collect();
    let reply = instance
        .post_json(
            "/credential",
            Some(&token),
            &json!({"credential_configuration_id": "person", "proofs": {"jwt": proofs}}),
        )
        .await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_credential_request");
    Api::load().check("post", "/credential", &reply);
    assert!(
        description.contains("101 proofs") && description.contains("at most 100"),
        "{description}"
    );
}

#[tokio::test]
async fn a_jwt_over_32_kib_is_refused_before_it_is_decoded() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let token = instance.access_token(&offer).await;
    // A key proof: three parts of which none decodes; its size is what is refused.
    let huge = format!("{}.{}.sig", "!".repeat(20 * 1024), "!".repeat(20 * 1024));
    let reply = instance.credential(&token, "person", &huge).await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_proof");
    Api::load().check("post", "/credential", &reply);
    assert!(description.contains("at most 32 KiB"), "{description}");
    // A DPoP proof at the token endpoint.
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    let reply = instance
        .send(
            Request::post("/token")
                .header(header::CONTENT_TYPE, FORM)
                .header("dpop", &huge)
                .body(Body::from(pre_authorized_form(
                    &code,
                    offer["tx_code"].as_str(),
                )))
                .unwrap(),
        )
        .await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    Api::load().check("post", "/token", &reply);
    assert!(description.contains("at most 32 KiB"), "{description}");
}

#[tokio::test]
async fn an_offer_with_too_many_or_too_large_claims_is_refused() {
    let instance = instance().await;
    let mut claims = serde_json::Map::new();
    for i in 0..101 {
        claims.insert(format!("claim_{i}"), json!("x"));
    }
    let reply = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "person", "claims": claims}),
        )
        .await;
    let detail = assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    Api::load().check("post", "/admin/offers", &reply);
    assert!(
        detail.contains("101 claims") && detail.contains("at most 100"),
        "{detail}"
    );
    let mut claims = person_claims();
    claims["given_names"] = json!("x".repeat(33 * 1024));
    let reply = instance
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "person", "claims": claims}),
        )
        .await;
    let detail = assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    assert!(
        detail.contains("claim `given_names`") && detail.contains("at most 32 KiB"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_presentation_response_is_read_to_512_kib_and_its_vp_token_to_256_kib() {
    let world = world(
        ClientIdPrefix::X509Hash,
        ResponseMode::DirectPost,
        HolderKey::es256(),
    )
    .await;
    let society = &world.society;
    let offer = society.offer("lawyer", lawyer_claims()).await;
    let page = society.get(&local_path(&offer["holder_page"])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let request_id = presentation_of(&page);
    let path = format!("/presentations/{request_id}/response");
    let respond = |vp_token: String| {
        let form = super::url_encode(&[("vp_token", &vp_token), ("state", &request_id)]);
        society.post(&path, Some(FORM), None, form)
    };
    // Over the body limit: refused before it is read.
    let reply = respond("x".repeat(600 * 1024)).await;
    let detail = assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    let api = Api::load();
    api.check("post", "/presentations/{id}/response", &reply);
    assert!(detail.contains("512 KiB"), "{detail}");
    // Within the body, over the verifier's limit: refused, and audited with the offer.
    let reply = respond("x".repeat(300 * 1024)).await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "access_denied");
    api.check("post", "/presentations/{id}/response", &reply);
    assert!(
        description.contains("at most 262144 are accepted"),
        "{description}"
    );
    let id = offer["id"].as_str().unwrap();
    let state = society
        .send(admin_request("GET", &format!("/admin/offers/{id}")))
        .await
        .json();
    let verifications = state["verifications"].as_array().unwrap();
    assert!(
        verifications
            .iter()
            .any(|v| v["outcome"] == "refused" && v["reason"].as_str().unwrap().contains("262144")),
        "{state:#}"
    );
    // A presented credential whose issuer JWT is over 32 KiB (in a presentation of 40 KiB, under
    // the 64 KiB one presented credential may have): refused before it is decoded.
    let page = society.get(&local_path(&offer["holder_page"])).await;
    let request_id = presentation_of(&page);
    let issuer_jwt = format!("{}.{}.sig", "e".repeat(20 * 1024), "e".repeat(20 * 1024));
    let vp_token = json!({"person": [format!("{issuer_jwt}~kb.jwt.sig")]}).to_string();
    let form = super::url_encode(&[("vp_token", &vp_token), ("state", &request_id)]);
    let reply = society
        .post(
            &format!("/presentations/{request_id}/response"),
            Some(FORM),
            None,
            form,
        )
        .await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "access_denied");
    assert!(
        description.contains("the issuer JWT of the presentation has")
            && description.contains("a JWT of at most 32 KiB is accepted"),
        "{description}"
    );
}

/// The id of the presentation request a holder's page made for this browser (its cookie's).
fn presentation_of(page: &Reply) -> String {
    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap();
    let value = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value)
        .unwrap();
    value.split('.').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_request_with_more_than_64_header_fields_gets_431() {
    let instance = instance().await;
    let mut request = Request::get("/health");
    for i in 0..65 {
        request = request.header(format!("x-filler-{i}"), "1");
    }
    let reply = instance.send(request.body(Body::empty()).unwrap()).await;
    let detail = assert_problem(
        &reply,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request-header-fields-too-large",
    );
    Api::load().check("get", "/health", &reply);
    assert!(
        detail.contains("at most 64 header fields") && detail.contains("has 65"),
        "{detail}"
    );
    let mut request = Request::get("/health");
    for i in 0..60 {
        request = request.header(format!("x-filler-{i}"), "1");
    }
    let reply = instance.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn token_requests_are_limited_per_pre_authorized_code() {
    let instance = instance().await;
    let offer = instance.offer("person", person_claims()).await;
    let code = pre_authorized_code(&instance.resolve_offer(&offer).await);
    // Ten requests a minute per code (without the transaction code: nothing is counted in the
    // store, each is refused on its merits).
    for _ in 0..10 {
        instance
            .token(&code, None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let reply = instance.token(&code, offer["tx_code"].as_str()).await;
    let description = reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(
        description.contains("too many token requests for this pre-authorized code")
            && description.contains("10 per minute")
            && description.contains("try again in"),
        "{description}"
    );
    let wait = retry_after(&reply, 1..=60);
    Api::load().check("post", "/token", &reply);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    // Another offer's code is not held back; this one redeems once the minute is over.
    let other = instance.offer("person", person_claims()).await;
    let other_code = pre_authorized_code(&instance.resolve_offer(&other).await);
    let reply = instance.token(&other_code, other["tx_code"].as_str()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    instance.advance(wait as i64);
    let reply = instance.token(&code, offer["tx_code"].as_str()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn token_requests_are_limited_per_client_address() {
    let instance = instance_with(|settings| {
        settings.limits.token_per_address = Rate::per_minute(3);
    })
    .await;
    for _ in 0..3 {
        token_from(&instance, "192.0.2.1", "grant_type=nonsense".into())
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let reply = token_from(&instance, "192.0.2.1", "grant_type=nonsense".into()).await;
    let description = reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(
        description.contains("too many token requests from this address (at most 3 per minute)"),
        "{description}"
    );
    let wait = retry_after(&reply, 1..=60);
    // Another address is counted apart; this one is let in again after the wait.
    token_from(&instance, "192.0.2.2", "grant_type=nonsense".into())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    instance.advance(wait as i64);
    token_from(&instance, "192.0.2.1", "grant_type=nonsense".into())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn behind_a_proxy_the_client_address_is_the_last_of_the_header_the_operator_names() {
    let instance = instance_with(|settings| {
        settings.limits.token_per_address = Rate::per_minute(1);
        settings.limits.client_address_header = Some("x-forwarded-for".into());
    })
    .await;
    let send = |forwarded: &'static str| {
        let mut request = Request::post("/token")
            .header(header::CONTENT_TYPE, FORM)
            .header("x-forwarded-for", forwarded)
            .body(Body::from("grant_type=nonsense"))
            .unwrap();
        // Every request comes through the same proxy.
        from(&mut request, "10.0.0.1");
        instance.send(request)
    };
    send("203.0.113.9, 198.51.100.1")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    // What the client wrote before the proxy's entry does not make it someone else.
    send("203.0.113.10, 198.51.100.1")
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    send("198.51.100.2")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn five_wrong_transaction_codes_lock_the_offer_in_the_store() {
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
        assert!(description.contains(&format!("{left} attempt(s) left")));
    }
    let description = instance
        .token(&code, Some(wrong))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        description.contains("too many wrong transaction codes")
            && description.contains("ask the issuer for a new offer"),
        "{description}"
    );
    // Locked, the right code included, and in the store: a second instance on the same
    // database (a replica, or this one restarted) sees it too.
    let description = instance
        .token(&code, Some(right))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        description.contains("too many wrong transaction codes: the pre-authorized code is invalidated; ask the issuer for a new offer"),
        "{description}"
    );
    let id = offer["id"].as_str().unwrap();
    let state = instance
        .send(admin_request("GET", &format!("/admin/offers/{id}")))
        .await
        .json();
    assert_eq!(
        (&state["state"], &state["tx_code_attempts"]),
        (&json!("locked"), &json!(5))
    );
}

#[tokio::test]
async fn failed_admin_authentications_are_limited_per_client_address() {
    let instance = instance().await;
    let admin_from = |address: &str, token: &str| {
        let mut request = Request::get("/admin/offers/none")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        from(&mut request, address);
        instance.send(request)
    };
    for _ in 0..10 {
        let reply = admin_from("192.0.2.7", "guess").await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let reply = admin_from("192.0.2.7", "guess").await;
    let detail = assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
    assert!(
        detail.contains(
            "too many failed admin authentications from this address (at most 10 per minute)"
        ) && detail.contains("try again in"),
        "{detail}"
    );
    let wait = retry_after(&reply, 1..=60);
    Api::load().check("get", "/admin/offers/{id}", &reply);
    // The right token from that address waits too; from another, it works.
    let reply = admin_from("192.0.2.7", ADMIN_TOKEN).await;
    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
    let reply = admin_from("192.0.2.8", ADMIN_TOKEN).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
    instance.advance(wait as i64);
    let reply = admin_from("192.0.2.7", ADMIN_TOKEN).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn presentation_requests_per_offer_are_capped_while_they_wait() {
    let instance = instance().await;
    let offer = instance.offer("lawyer", lawyer_claims()).await;
    let page = local_path(&offer["holder_page"]);
    // Ten browsers without the page's cookie: ten requests.
    let mut first = None;
    for _ in 0..10 {
        let reply = instance.get(&page).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        first.get_or_insert_with(|| {
            reply.headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        });
    }
    instance.advance(10);
    // The eleventh waits until the first expires (the requests live 300 s).
    let reply = instance.get(&page).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    let wait = retry_after(&reply, 290..=290);
    let api = Api::load();
    api.check("get", "/offers/{id}", &reply);
    let html = reply.text();
    assert!(
        html.contains("Too many requests for this offer") && html.contains("290 seconds"),
        "{html}"
    );
    assert!(reply.headers.get(header::SET_COOKIE).is_none());
    // A browser that has its request keeps it.
    let mine = instance
        .send(
            Request::get(&page)
                .header(header::COOKIE, first.as_deref().unwrap())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    // A wallet's authorization challenge for the offer is held back the same way.
    let resolved = instance.resolve_offer(&offer).await;
    let issuer_state = resolved["grants"]["authorization_code"]["issuer_state"]
        .as_str()
        .unwrap();
    let reply = instance
        .post_form(
            "/authorize-challenge",
            &[
                ("issuer_state", issuer_state),
                ("client_id", "wallet-app"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let description = reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(
        description.contains("10 presentation requests waiting"),
        "{description}"
    );
    retry_after(&reply, 290..=290);
    api.check("post", "/authorize-challenge", &reply);
    // Once the first requests expired, there is room again.
    instance.advance(wait as i64);
    let reply = instance.get(&page).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// `trustc serve` on a loopback socket (through `serve_until`), for what only a socket has: the
/// peer's address and hyper's own parsing of the head.
async fn serving(
    configure: impl FnOnce(&mut Settings),
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let instance = instance_with(configure).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(trustc_runtime::serve_until(
        listener,
        instance.issuer.clone(),
        std::future::pending(),
    ));
    (addr, task)
}

/// Sends `head` (and nothing else) on a new connection; the status line and body of the answer.
async fn raw(addr: SocketAddr, head: String) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test]
async fn on_a_socket_header_fields_are_counted_and_the_peer_is_the_client_address() {
    let (addr, task) = serving(|settings| {
        settings.limits.token_per_address = Rate::per_minute(1);
    })
    .await;
    let fillers = |n: usize| {
        (0..n)
            .map(|i| format!("x-filler-{i}: 1\r\n"))
            .collect::<String>()
    };
    let (status, body) = raw(
        addr,
        format!(
            "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{}\r\n",
            fillers(70)
        ),
    )
    .await;
    assert!(status.contains("431"), "{status}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        problem["type"],
        "urn:trustc:problem:request-header-fields-too-large"
    );
    // Beyond hyper's own limit (100), hyper answers 431 itself, without a body.
    let (status, _) = raw(
        addr,
        format!(
            "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{}\r\n",
            fillers(120)
        ),
    )
    .await;
    assert!(status.contains("431"), "{status}");
    // The loopback peer is one client address: its second token request in the minute waits.
    let token = || {
        let form = "grant_type=nonsense";
        format!(
            "POST /token HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: {FORM}\r\n\
             content-length: {}\r\n\r\n{form}",
            form.len()
        )
    };
    let (status, _) = raw(addr, token()).await;
    assert!(status.contains("400"), "{status}");
    let (status, body) = raw(addr, token()).await;
    assert!(status.contains("429"), "{status}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "too_many_requests"
    );
    task.abort();
}
