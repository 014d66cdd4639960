//! The verifier's fetches of a trusted issuer's keys and status lists, against a real HTTP
//! server on 127.0.0.1 that counts what it is asked: what is fetched, what is served from the
//! cache, and what is refused, before anything is fetched where the issuer does not serve.
//!
//! The governance identifiers are the shipped example's kind (`did:web:…`, `https://…`); a
//! [`ResolveOverride`] sends their fetches to the local server, as in development.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use trustc_artifact::{IssuerConfig, Prerequisite};
use trustc_runtime::IssuerKey;
use trustc_runtime::domain::trust::{
    KeyProblem, REFETCH_INTERVAL, ResolveOverride, StatusProblem, Trust, TrustedIssuer, admit,
};
use trustc_runtime::http::client::HttpClient;
use trustc_runtime::status::{INVALID, STATUS_LIST_TYP, StatusList, status_list_token};
use trustc_testkit::HolderKey;
use url::Url;

const NOW: i64 = 1_750_000_000;
const LIFETIME: i64 = 300;

const PROVINCE: &str = "did:web:province.example";
const ISSUER: &str = "https://issuer.example/tenant";
const METADATA_PATH: &str = "/.well-known/jwt-vc-issuer/tenant";
const DID_PATH: &str = "/.well-known/did.json";

/// One answer the server gives at a path.
#[derive(Clone)]
struct Page {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

/// The local server: pages by path (with query), and every path it was asked for.
#[derive(Clone, Default)]
struct Site {
    pages: Arc<Mutex<HashMap<String, Page>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Site {
    fn json(&self, path: &str, body: Value) {
        self.page(path, 200, "application/json", body.to_string());
    }

    fn page(&self, path: &str, status: u16, content_type: &'static str, body: String) {
        self.pages.lock().unwrap().insert(
            path.to_owned(),
            Page {
                status,
                content_type,
                body: body.into_bytes(),
            },
        );
    }

    /// How often `path` was asked for.
    fn hits(&self, path: &str) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    fn total(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

async fn answer(State(site): State<Site>, uri: Uri) -> Response {
    let path = uri
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    site.asked.lock().unwrap().push(path.clone());
    let page = site.pages.lock().unwrap().get(&path).cloned();
    match page {
        Some(page) => (
            StatusCode::from_u16(page.status).unwrap(),
            [(header::CONTENT_TYPE, page.content_type)],
            page.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A running server, and a [`Trust`] whose fetches for the test identifiers' hosts go to it.
struct Fixture {
    site: Site,
    /// `http://127.0.0.1:<port>/`
    base: Url,
    trust: Trust,
}

async fn fixture() -> Fixture {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let site = Site::default();
    let app = Router::new().fallback(answer).with_state(site.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let origin = base.as_str().trim_end_matches('/');
    let overrides = ["province.example", "issuer.example"]
        .iter()
        .map(|host| {
            format!("{host}={origin}")
                .parse::<ResolveOverride>()
                .unwrap()
        })
        .collect();
    let fetch = Arc::new(HttpClient::with_defaults().unwrap());
    Fixture {
        site,
        base,
        trust: Trust::new(fetch, overrides, LIFETIME),
    }
}

/// A compiled configuration whose framework `fw` authorises participant `fw/issuer`, with the
/// identifier `iss`, to issue `fw/person`, and the rule `person` that trusts it.
fn governance(iss: &str) -> (IssuerConfig, Prerequisite) {
    let config: IssuerConfig = serde_json::from_value(json!({
        "format": "trustc/issuer-config/v1",
        "content_hash": "",
        "environment": "dev",
        "credential_issuer": "http://127.0.0.1:8080",
        "frameworks": [{
            "id": "fw", "version": "1.0.0", "name": {"en": "Framework"},
            "authority": {"name": {"en": "Authority"}}, "locales": ["en"],
            "participants": [{"id": "fw/issuer", "name": {"en": "Issuer"},
                              "identifiers": [iss], "issues": ["fw/person"]}],
        }],
        "credentials": [],
    }))
    .unwrap();
    let rule: Prerequisite = serde_json::from_value(json!({
        "id": "person", "credential": "fw/person", "vct": "https://vct.example/person",
        "trusted_issuers": [{"participant": "fw/issuer", "name": {"en": "Issuer"},
                             "identifiers": [iss]}],
        "claims": ["given_names"],
    }))
    .unwrap();
    (config, rule)
}

fn trusted(iss: &str) -> TrustedIssuer {
    let (config, rule) = governance(iss);
    admit(&config, &rule, iss).unwrap()
}

fn kids(keys: &[Value]) -> Vec<&str> {
    keys.iter().map(|k| k["kid"].as_str().unwrap()).collect()
}

/// The province's DID document: `#key-1` (P-256) referenced, `#key-2` (Ed25519) embedded,
/// `#key-3` a verification method but not for assertions, and a method of another DID.
fn did_document(key_1: &Value, key_2: &Value, key_3: &Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": PROVINCE,
        "verificationMethod": [
            {"id": "#key-1", "type": "JsonWebKey", "controller": PROVINCE, "publicKeyJwk": key_1},
            {"id": format!("{PROVINCE}#key-3"), "type": "JsonWebKey", "controller": PROVINCE,
             "publicKeyJwk": key_3},
            {"id": "did:web:other.example#key-9", "type": "JsonWebKey",
             "controller": "did:web:other.example", "publicKeyJwk": key_3},
        ],
        "assertionMethod": [
            "#key-1",
            {"id": format!("{PROVINCE}#key-2"), "type": "JsonWebKey", "controller": PROVINCE,
             "publicKeyJwk": key_2},
            "did:web:other.example#key-9",
            "#missing",
        ],
    })
}

#[tokio::test]
async fn keys_from_a_did_web_document_are_cached_for_their_lifetime() {
    let f = fixture().await;
    let (es256, ed25519, other) = (HolderKey::es256(), HolderKey::ed25519(), HolderKey::es256());
    f.site.json(
        DID_PATH,
        did_document(
            &es256.public_jwk(),
            &ed25519.public_jwk(),
            &other.public_jwk(),
        ),
    );
    let province = trusted(PROVINCE);

    let keys = f.trust.keys(&province, NOW).await.unwrap();
    assert_eq!(
        kids(&keys),
        [
            "did:web:province.example#key-1",
            "did:web:province.example#key-2"
        ]
    );
    assert_eq!(keys[0]["x"], es256.public_jwk()["x"]);
    assert_eq!(keys[1]["crv"], "Ed25519");
    assert_eq!(f.site.hits(DID_PATH), 1);

    // Within the lifetime: the cache, whatever is asked.
    let again = f.trust.keys(&province, NOW + LIFETIME - 1).await.unwrap();
    assert!(Arc::ptr_eq(&keys, &again));
    f.trust
        .keys_with_kid(&province, "did:web:province.example#key-2", NOW + 10)
        .await
        .unwrap();
    assert_eq!(f.site.hits(DID_PATH), 1);

    // At the end of the lifetime: fetched again.
    f.trust.keys(&province, NOW + LIFETIME).await.unwrap();
    assert_eq!(f.site.hits(DID_PATH), 2);
    assert_eq!(f.site.total(), 2);
}

#[tokio::test]
async fn keys_from_sd_jwt_vc_issuer_metadata_inline_or_at_jwks_uri() {
    let f = fixture().await;
    let key = IssuerKey::generate();
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks": {"keys": [key.public_jwk()]}}),
    );
    let issuer = trusted(ISSUER);
    let keys = f.trust.keys(&issuer, NOW).await.unwrap();
    assert_eq!(keys.as_slice(), [key.public_jwk().clone()]);
    assert_eq!(f.site.hits(METADATA_PATH), 1);

    // `jwks_uri` on the identifier's origin (fetched through the override) …
    let f = fixture().await;
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks_uri": "https://issuer.example/keys?v=2"}),
    );
    f.site
        .json("/keys?v=2", json!({"keys": [key.public_jwk()]}));
    let keys = f.trust.keys(&issuer, NOW).await.unwrap();
    assert_eq!(kids(&keys), [key.kid()]);
    assert_eq!(
        (f.site.hits(METADATA_PATH), f.site.hits("/keys?v=2")),
        (1, 1)
    );

    // … or on the local address the override maps it to.
    let f = fixture().await;
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks_uri": f.base.join("/jwks").unwrap().as_str()}),
    );
    f.site.json("/jwks", json!({"keys": [key.public_jwk()]}));
    f.trust.keys(&issuer, NOW).await.unwrap();
    assert_eq!(f.site.hits("/jwks"), 1);
}

#[tokio::test]
async fn a_did_jwk_needs_no_fetch() {
    let f = fixture().await;
    let holder = HolderKey::ed25519();
    let did = format!(
        "did:jwk:{}",
        URL_SAFE_NO_PAD.encode(holder.public_jwk().to_string())
    );
    let keys = f.trust.keys(&trusted(&did), NOW).await.unwrap();
    assert_eq!(kids(&keys), [format!("{did}#0")]);
    assert_eq!(f.site.total(), 0);
}

#[tokio::test]
async fn keys_that_are_not_the_issuers_are_refused() {
    let key = IssuerKey::generate();
    let issuer = trusted(ISSUER);

    // Metadata naming another issuer.
    let f = fixture().await;
    f.site.json(
        METADATA_PATH,
        json!({"issuer": "https://issuer.example", "jwks": {"keys": [key.public_jwk()]}}),
    );
    let problem = f.trust.keys(&issuer, NOW).await.unwrap_err();
    let url = f.base.join(METADATA_PATH).unwrap().to_string();
    assert_eq!(
        problem,
        KeyProblem::WrongIssuer {
            url: url.clone(),
            expected: ISSUER.to_owned(),
            found: "`https://issuer.example`".to_owned(),
        }
    );
    assert_eq!(
        problem.to_string(),
        format!(
            "the SD-JWT VC issuer metadata at {url} has `issuer` `https://issuer.example`, not \
             `https://issuer.example/tenant`: it is not this issuer's"
        )
    );

    // A `jwks_uri` on another origin: refused, and nothing fetched from it.
    let f = fixture().await;
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks_uri": "https://elsewhere.example/jwks"}),
    );
    let problem = f.trust.keys(&issuer, NOW).await.unwrap_err();
    assert!(
        matches!(&problem, KeyProblem::KeySetElsewhere { jwks_uri, allowed, .. }
            if jwks_uri == "https://elsewhere.example/jwks"
                && allowed == &["https://issuer.example".to_owned(),
                                f.base.as_str().trim_end_matches('/').to_owned()]),
        "{problem:?}"
    );
    assert!(
        problem
            .to_string()
            .contains("keys are only fetched from the issuer itself")
    );
    assert_eq!(f.site.total(), 1);

    // A DID document of another DID.
    let f = fixture().await;
    let mut document = did_document(&key.public_jwk().clone(), &json!({}), &json!({}));
    document["id"] = json!("did:web:impostor.example");
    f.site.json(DID_PATH, document);
    let problem = f.trust.keys(&trusted(PROVINCE), NOW).await.unwrap_err();
    assert!(
        matches!(&problem, KeyProblem::WrongDocumentId { expected, found, .. }
            if expected == PROVINCE && found == "`did:web:impostor.example`"),
        "{problem:?}"
    );

    // A published private key: the whole set is refused.
    let f = fixture().await;
    let mut private = HolderKey::es256().public_jwk();
    private["d"] = json!("c2VjcmV0");
    private["kid"] = json!("leaked");
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks": {"keys": [key.public_jwk(), private]}}),
    );
    let problem = f.trust.keys(&issuer, NOW).await.unwrap_err();
    assert_eq!(
        problem.to_string(),
        format!(
            "the key `leaked` at {} contains private key material (`d`): the issuer's keys are \
             refused until it publishes public keys only",
            f.base.join(METADATA_PATH).unwrap()
        )
    );

    // Only keys this verifier cannot use.
    let f = fixture().await;
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks": {"keys": [
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "use": "enc"},
        ]}}),
    );
    let problem = f.trust.keys(&issuer, NOW).await.unwrap_err();
    assert!(
        matches!(&problem, KeyProblem::NoUsableKey { reason, .. }
            if reason == "it has 2 key(s), none of them one"),
        "{problem:?}"
    );

    // Not found; not JSON.
    let f = fixture().await;
    let problem = f.trust.keys(&issuer, NOW).await.unwrap_err();
    assert_eq!(
        problem,
        KeyProblem::NotOk {
            url: f.base.join(METADATA_PATH).unwrap().to_string(),
            status: 404
        }
    );
    let f = fixture().await;
    f.site
        .page(METADATA_PATH, 200, "text/html", "<html>".to_owned());
    assert!(matches!(
        f.trust.keys(&issuer, NOW).await.unwrap_err(),
        KeyProblem::NotJson { .. }
    ));
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_every_30_s_and_failures_are_remembered() {
    let f = fixture().await;
    let (old, new) = (IssuerKey::generate(), IssuerKey::generate());
    let issuer = trusted(ISSUER);
    let serve = |key: &IssuerKey| {
        f.site.json(
            METADATA_PATH,
            json!({"issuer": ISSUER, "jwks": {"keys": [key.public_jwk()]}}),
        )
    };
    serve(&old);
    f.trust.keys(&issuer, NOW).await.unwrap();
    serve(&new);
    // The issuer rotated its key; a token names the new one. Too soon after the last fetch:
    // the cached keys, without it (bad tokens cannot make the verifier fetch).
    for _ in 0..5 {
        let keys = f
            .trust
            .keys_with_kid(&issuer, new.kid(), NOW + REFETCH_INTERVAL - 1)
            .await
            .unwrap();
        assert_eq!(kids(&keys), [old.kid()]);
    }
    assert_eq!(f.site.hits(METADATA_PATH), 1);
    // 30 s on: fetched again, once.
    let keys = f
        .trust
        .keys_with_kid(&issuer, new.kid(), NOW + REFETCH_INTERVAL)
        .await
        .unwrap();
    assert_eq!(kids(&keys), [new.kid()]);
    let keys = f
        .trust
        .keys_with_kid(&issuer, "unknown", NOW + REFETCH_INTERVAL + 1)
        .await
        .unwrap();
    assert_eq!(kids(&keys), [new.kid()]);
    assert_eq!(f.site.hits(METADATA_PATH), 2);

    // A failure is remembered for 30 s, then tried again.
    let f = fixture().await;
    f.site.page(METADATA_PATH, 503, "text/plain", "down".into());
    for at in [NOW, NOW + REFETCH_INTERVAL - 1] {
        assert!(matches!(
            f.trust.keys(&issuer, at).await.unwrap_err(),
            KeyProblem::NotOk { status: 503, .. }
        ));
    }
    assert_eq!(f.site.hits(METADATA_PATH), 1);
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks": {"keys": [new.public_jwk()]}}),
    );
    f.trust.keys(&issuer, NOW + REFETCH_INTERVAL).await.unwrap();
    assert_eq!(f.site.hits(METADATA_PATH), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let f = fixture().await;
    let key = IssuerKey::generate();
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks": {"keys": [key.public_jwk()]}}),
    );
    let issuer = trusted(ISSUER);
    let all = futures_all(
        (0..8)
            .map(|_| f.trust.keys(&issuer, NOW))
            .collect::<Vec<_>>(),
    )
    .await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(f.site.hits(METADATA_PATH), 1);
}

/// Awaits every future, concurrently (on one task).
async fn futures_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// An issuer serving its metadata with `key`, and a list whose entry 7 is revoked.
fn revoked_list() -> StatusList {
    let mut list = StatusList::new(1024, 1).unwrap();
    list.set(7, INVALID).unwrap();
    list
}

fn serve_issuer(f: &Fixture, key: &IssuerKey) {
    f.site.json(
        METADATA_PATH,
        json!({"issuer": ISSUER, "jwks": {"keys": [key.public_jwk()]}}),
    );
}

fn serve_token(f: &Fixture, path: &str, token: String) {
    f.site.page(path, 200, "application/statuslist+jwt", token);
}

#[tokio::test]
async fn a_status_entry_is_read_from_the_issuers_signed_list_and_cached_for_its_ttl() {
    let f = fixture().await;
    let key = IssuerKey::generate();
    serve_issuer(&f, &key);
    let uri = "https://issuer.example/status-lists/1";
    serve_token(
        &f,
        "/status-lists/1",
        status_list_token(&key, key.kid(), uri, &revoked_list(), NOW, 60),
    );
    let issuer = trusted(ISSUER);
    assert_eq!(f.trust.status(&issuer, uri, 7, NOW).await, Ok(INVALID));
    assert_eq!(f.trust.status(&issuer, uri, 6, NOW + 59).await, Ok(0));
    assert_eq!(f.site.hits("/status-lists/1"), 1);
    // The token's `ttl` (60 s, shorter than the keys' 300 s) is over: fetched again.
    assert_eq!(f.trust.status(&issuer, uri, 7, NOW + 60).await, Ok(INVALID));
    assert_eq!(f.site.hits("/status-lists/1"), 2);
    assert_eq!(f.site.hits(METADATA_PATH), 1);

    // Beyond the list.
    assert_eq!(
        f.trust.status(&issuer, uri, 1024, NOW + 60).await,
        Err(StatusProblem::IndexOutOfRange {
            uri: uri.to_owned(),
            idx: 1024,
            entries: 1024
        })
    );

    // A list on the local address the override maps the issuer to is the issuer's too.
    let local = f.base.join("/status-lists/2").unwrap().to_string();
    serve_token(
        &f,
        "/status-lists/2",
        status_list_token(&key, key.kid(), &local, &revoked_list(), NOW, 60),
    );
    assert_eq!(f.trust.status(&issuer, &local, 7, NOW).await, Ok(INVALID));
}

#[tokio::test]
async fn a_did_web_issuers_list_verifies_with_its_did_url_kid() {
    let f = fixture().await;
    let holder = HolderKey::es256();
    f.site.json(
        DID_PATH,
        did_document(&holder.public_jwk(), &json!({}), &json!({})),
    );
    let uri = "https://province.example/status/3";
    let token = holder.sign_jws(
        &json!({"typ": STATUS_LIST_TYP, "alg": "ES256", "kid": "did:web:province.example#key-1"}),
        &json!({"sub": uri, "iat": NOW, "ttl": 300,
                "status_list": {"bits": 1, "lst": revoked_list().encode()}}),
    );
    serve_token(&f, "/status/3", token);
    let province = trusted(PROVINCE);
    assert_eq!(f.trust.status(&province, uri, 7, NOW).await, Ok(INVALID));
    assert_eq!(f.trust.status(&province, uri, 8, NOW).await, Ok(0));
    assert_eq!(f.site.total(), 2);
}

#[tokio::test]
async fn a_status_list_elsewhere_is_refused_before_fetching() {
    let f = fixture().await;
    let issuer = trusted(ISSUER);
    for uri in [
        "https://elsewhere.example/status-lists/1",
        "http://issuer.example/status-lists/1",
        "https://issuer.example:8443/status-lists/1",
        "http://127.0.0.1:1/status-lists/1",
    ] {
        let problem = f.trust.status(&issuer, uri, 0, NOW).await.unwrap_err();
        assert!(
            matches!(&problem, StatusProblem::NotOnIssuerOrigin { uri: u, .. } if u == uri),
            "{uri}: {problem:?}"
        );
        assert!(
            problem
                .to_string()
                .contains("status lists are only fetched from the issuer itself"),
            "{problem}"
        );
    }
    assert!(matches!(
        f.trust.status(&issuer, "not a url", 0, NOW).await,
        Err(StatusProblem::NotAUrl { .. })
    ));
    // A did:jwk issuer has no origin at all.
    let did = format!(
        "did:jwk:{}",
        URL_SAFE_NO_PAD.encode(HolderKey::es256().public_jwk().to_string())
    );
    let problem = f
        .trust
        .status(&trusted(&did), "https://issuer.example/s", 0, NOW)
        .await
        .unwrap_err();
    assert!(
        problem.to_string().contains("has no web origin"),
        "{problem}"
    );
    assert_eq!(f.site.total(), 0, "the server saw no request");
}

#[tokio::test]
async fn status_tokens_that_do_not_hold_are_refused() {
    let key = IssuerKey::generate();
    let issuer = trusted(ISSUER);
    let uri = "https://issuer.example/status-lists/1";
    let path = "/status-lists/1";
    async fn refusal(f: &Fixture, token: String) -> StatusProblem {
        serve_token(f, "/status-lists/1", token);
        let uri = "https://issuer.example/status-lists/1";
        f.trust
            .status(&trusted(ISSUER), uri, 7, NOW)
            .await
            .unwrap_err()
    }

    // A bad signature: the payload changed after signing.
    let f = fixture().await;
    serve_issuer(&f, &key);
    let good = status_list_token(&key, key.kid(), uri, &revoked_list(), NOW, 300);
    let other = status_list_token(
        &key,
        key.kid(),
        uri,
        &StatusList::new(1024, 1).unwrap(),
        NOW,
        300,
    );
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    let problem = refusal(&f, forged).await;
    assert_eq!(
        problem,
        StatusProblem::Token {
            url: f.base.join(path).unwrap().to_string(),
            reason: "status list token signature does not verify with the signer's key (ES256)"
                .to_owned(),
        }
    );
    assert_eq!(
        problem.to_string(),
        format!(
            "the status list token at {} is refused: status list token signature does not \
             verify with the signer's key (ES256)",
            f.base.join(path).unwrap()
        )
    );

    // Signed by a key that is not the issuer's.
    let f = fixture().await;
    serve_issuer(&f, &key);
    let stranger = IssuerKey::generate();
    let problem = refusal(
        &f,
        status_list_token(&stranger, stranger.kid(), uri, &revoked_list(), NOW, 300),
    )
    .await;
    assert!(
        matches!(&problem, StatusProblem::Token { reason, .. } if reason.contains("names none of")),
        "{problem:?}"
    );

    // Another list's token.
    let f = fixture().await;
    serve_issuer(&f, &key);
    let problem = refusal(
        &f,
        status_list_token(
            &key,
            key.kid(),
            "https://issuer.example/status-lists/2",
            &revoked_list(),
            NOW,
            300,
        ),
    )
    .await;
    assert!(
        matches!(&problem, StatusProblem::WrongSubject { expected, found, .. }
            if expected == uri && found == "`https://issuer.example/status-lists/2`"),
        "{problem:?}"
    );

    // Expired (`exp` = iat + ttl, 60 s leeway).
    let f = fixture().await;
    serve_issuer(&f, &key);
    let problem = refusal(
        &f,
        status_list_token(&key, key.kid(), uri, &revoked_list(), NOW - 1000, 300),
    )
    .await;
    assert!(
        matches!(&problem, StatusProblem::Token { reason, .. }
            if reason == "status list token expired 700 s ago (`exp`)"),
        "{problem:?}"
    );

    // No `iat`; another `typ`; no `status_list`.
    let f = fixture().await;
    serve_issuer(&f, &key);
    let list = json!({"bits": 1, "lst": revoked_list().encode()});
    let problem = refusal(
        &f,
        key.sign_jwt(
            &json!({"typ": STATUS_LIST_TYP}),
            &json!({"sub": uri, "status_list": list}),
        ),
    )
    .await;
    assert!(
        matches!(&problem, StatusProblem::Token { reason, .. }
            if reason == "status list token has no `iat` claim"),
        "{problem:?}"
    );
    let f = fixture().await;
    serve_issuer(&f, &key);
    let problem = refusal(
        &f,
        key.sign_jwt(
            &json!({"typ": "JWT"}),
            &json!({"sub": uri, "iat": NOW, "status_list": list}),
        ),
    )
    .await;
    assert!(
        matches!(&problem, StatusProblem::Token { reason, .. } if reason.contains("`typ`")),
        "{problem:?}"
    );
    let f = fixture().await;
    serve_issuer(&f, &key);
    let problem = refusal(
        &f,
        key.sign_jwt(
            &json!({"typ": STATUS_LIST_TYP}),
            &json!({"sub": uri, "iat": NOW}),
        ),
    )
    .await;
    assert!(
        matches!(&problem, StatusProblem::BadList { reason, .. }
            if reason == "it has no `status_list` claim"),
        "{problem:?}"
    );

    // A refusal is remembered for 30 s: no fetch per presentation.
    assert!(f.trust.status(&issuer, uri, 7, NOW + 29).await.is_err());
    assert_eq!(f.site.hits(path), 1);

    // The issuer's keys cannot be had: said as such.
    let f = fixture().await;
    let problem = refusal(
        &f,
        status_list_token(&key, key.kid(), uri, &revoked_list(), NOW, 300),
    )
    .await;
    assert!(
        matches!(
            &problem,
            StatusProblem::Keys(KeyProblem::NotOk { status: 404, .. })
        ),
        "{problem:?}"
    );
}
