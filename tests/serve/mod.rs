//! `trustc serve`: the issuer runtime on the shipped example governance, driven through its router
//! (no socket) as a wallet and as the issuer's back end would. `protocol` covers the success path
//! and every error the issue and the specifications name, on SQLite; `postgres` runs the flow with
//! two instances sharing one throwaway PostgreSQL cluster and races single-use secrets.

mod batch;
mod connections;
mod crash;
mod domain;
mod dpop;
mod journey;
mod limits;
mod login;
mod openapi;
mod postgres;
mod presentation;
mod protocol;
mod secrets;
mod start;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use trustc::build::{BuildOptions, Output, Profile, build};
use trustc_runtime::{Clock, Compiled, Issuer, IssuerKey, Settings, Store};
use trustc_testkit::HolderKey;
pub use trustc_testkit::sdjwt::decode;

use crate::common::repo;

/// The credential issuer identifier of the test issuers.
pub const PUBLIC_URL: &str = "https://issuer.example";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The content type of form posts.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A runtime on an in-memory SQLite database, with a fresh key.
pub async fn instance() -> Instance {
    Instance::start("sqlite::memory:", IssuerKey::generate()).await
}

/// Valid offer claims of the example's Person credential (`region` is a governance constant).
pub fn person_claims() -> Value {
    json!({
        "given_names": "Alex Jordan",
        "family_name": "Tremblay",
        "birthdate": "1990-04-17",
        "locality": "Victoria",
        "issue_date": "2026-01-15",
        "expiry_date": "2031-01-15"
    })
}

/// Valid offer claims of the example's Lawyer credential: the membership facts the back end
/// vouches for (the names come from the holder's Person credential, presented).
pub fn lawyer_claims() -> Value {
    json!({
        "member_id": "512345",
        "member_status": "practising",
        "called_to_bar": "2015-09-18",
        "expiry_date": "2027-01-31"
    })
}

/// Which governance an instance serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Example {
    /// The shipped example, whose credentials are issued after a login.
    Shipped,
    /// The example with its credentials offered by the back end (pre-authorised codes,
    /// `trustc_testkit::example`): what every test of the other flows uses.
    PreAuthorized,
}

/// The example governance compiled for `public_url`, the pre-authorised variant for
/// [`PUBLIC_URL`] once per test binary.
fn example_outputs(public_url: &str, example: Example) -> Vec<Output> {
    static DEFAULT: OnceLock<Vec<Output>> = OnceLock::new();
    let repository = match example {
        Example::Shipped => repo(),
        Example::PreAuthorized => trustc_testkit::example::pre_authorized(&repo()).to_path_buf(),
    };
    let compile = || {
        let options = BuildOptions {
            check: Default::default(),
            environment: trustc_artifact::Environment::Dev,
            profile: Profile::V1,
            credential_issuer: public_url.to_string(),
        };
        let outcome = build(&repository, &options).expect("the example builds");
        assert!(!outcome.outputs.is_empty(), "the example compiles");
        outcome.outputs
    };
    if public_url == PUBLIC_URL && example == Example::PreAuthorized {
        DEFAULT.get_or_init(compile).clone()
    } else {
        compile()
    }
}

/// One runtime instance: the router, its issuer, and the hand that moves its clock.
pub struct Instance {
    pub issuer: Arc<Issuer>,
    pub app: Router,
    pub clock: Arc<AtomicI64>,
}

/// An HTTP answer.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the {} answer is JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an OAuth error answer and returns its description.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, error: &str) -> String {
        let body = self.json();
        assert_eq!(
            (self.status, body["error"].as_str()),
            (status, Some(error)),
            "expected {status} {error}, got: {body:#}"
        );
        body["error_description"]
            .as_str()
            .expect("error_description")
            .to_string()
    }
}

impl Instance {
    /// A runtime on `db` for the example, signing with `key` (instances sharing a database share
    /// the key, as replicas do).
    pub async fn start(db: &str, key: IssuerKey) -> Instance {
        Instance::start_at(db, key, PUBLIC_URL).await
    }

    pub async fn start_at(db: &str, key: IssuerKey, public_url: &str) -> Instance {
        Instance::start_with(db, key, public_url, |_| {}).await
    }

    /// [`Instance::start_at`] with settings of the test's own (`configure` changes the defaults).
    pub async fn start_with(
        db: &str,
        key: IssuerKey,
        public_url: &str,
        configure: impl FnOnce(&mut Settings),
    ) -> Instance {
        Instance::start_full(db, key, public_url, None, None, configure).await
    }

    /// A runtime for the example that signs holders in with every login provider of the
    /// governance at `login_issuer` (a local OpenID Provider, as `--login-issuer` does), with the
    /// client secret the development provider expects.
    pub async fn start_with_login(db: &str, key: IssuerKey, login_issuer: &str) -> Instance {
        let compiled = Instance::compiled(PUBLIC_URL, None, Example::Shipped);
        Instance::assemble(
            compiled,
            db,
            key,
            PUBLIC_URL,
            None,
            None,
            Some(login_issuer),
            |_| {},
        )
        .await
    }

    /// A runtime that is one participant of the example (`trustc serve --participant`), with a
    /// verifier of its own when given.
    pub async fn start_as(
        db: &str,
        key: IssuerKey,
        public_url: &str,
        participant: &str,
        verifier: Option<trustc_runtime::domain::presentation::Verifier>,
    ) -> Instance {
        Instance::start_full(db, key, public_url, Some(participant), verifier, |_| {}).await
    }

    async fn start_full(
        db: &str,
        key: IssuerKey,
        public_url: &str,
        participant: Option<&str>,
        verifier: Option<trustc_runtime::domain::presentation::Verifier>,
        configure: impl FnOnce(&mut Settings),
    ) -> Instance {
        let compiled = Instance::compiled(public_url, participant, Example::PreAuthorized);
        Instance::assemble(
            compiled,
            db,
            key,
            public_url,
            participant,
            verifier,
            None,
            configure,
        )
        .await
    }

    /// The example compiled for `public_url`, for one participant when given.
    fn compiled(public_url: &str, participant: Option<&str>, example: Example) -> Compiled {
        let outputs = example_outputs(public_url, example);
        let compiled = Compiled::from_files(
            |path| {
                outputs
                    .iter()
                    .find(|o| o.path == path)
                    .map(|o| o.bytes.clone())
                    .ok_or_else(|| trustc_runtime::compiled::LoadError(path.to_string()))
            },
            public_url,
        )
        .expect("the compiled example loads");
        match participant {
            Some(participant) => compiled
                .for_participant(participant)
                .expect("a participant of the example"),
            None => compiled,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn assemble(
        mut compiled: Compiled,
        db: &str,
        key: IssuerKey,
        public_url: &str,
        participant: Option<&str>,
        verifier: Option<trustc_runtime::domain::presentation::Verifier>,
        login_issuer: Option<&str>,
        configure: impl FnOnce(&mut Settings),
    ) -> Instance {
        let login = login_issuer.map(|issuer| {
            for provider in &mut compiled.config.login_providers {
                provider.issuer = issuer.to_owned();
            }
            let client = trustc_runtime::http::client::HttpClient::with_defaults()
                .expect("the outbound client");
            trustc_runtime::domain::login::provider::Providers::new(
                &compiled.config,
                |_| Ok("trustc-dev-secret".to_owned()),
                trustc_runtime::jwe::session_key(&key.derive_secret("login encryption"), "login"),
                Arc::new(client),
            )
            .expect("the login providers")
        });
        let store = Store::connect(db).await.expect("the store opens");
        let mut settings = Settings::new(public_url);
        settings.admin_token = Some(ADMIN_TOKEN.to_string());
        settings.participant = participant.map(str::to_owned);
        configure(&mut settings);
        let (clock, hand) = Clock::manual();
        let verifier =
            verifier.unwrap_or_else(trustc_runtime::domain::presentation::offline_verifier);
        let issuer = Issuer::with_login(compiled, store, key, settings, clock, verifier, login);
        Instance {
            app: trustc_runtime::router(issuer.clone()),
            issuer,
            clock: hand,
        }
    }

    /// Moves this instance's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the body is read")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// A POST of `body` as it is, with a content type and a bearer token when given.
    pub async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        bearer: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::post(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    /// A JSON POST with an optional bearer token.
    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.post(path, Some("application/json"), bearer, body.to_string())
            .await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post(path, Some(FORM), None, url_encode(fields)).await
    }

    /// `POST /admin/offers` that must succeed.
    pub async fn offer(&self, credential: &str, claims: Value) -> Value {
        let reply = self
            .post_json(
                "/admin/offers",
                Some(ADMIN_TOKEN),
                &json!({"credential": credential, "claims": claims}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()
    }

    /// `POST /admin/offers/{id}/revoke` for an admin answer's offer, which must succeed; the
    /// offer as the answer shows it.
    pub async fn revoke(&self, offer: &Value) -> Value {
        let id = offer["id"].as_str().expect("an offer id");
        let reply = self
            .send(admin_request("POST", &format!("/admin/offers/{id}/revoke")))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()
    }

    /// The credential offer an admin answer points to, fetched by reference.
    pub async fn resolve_offer(&self, offer: &Value) -> Value {
        let reply = self.get(&local_path(&offer["credential_offer_uri"])).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()
    }

    /// `POST /token` for an offer fetched by reference.
    pub async fn token(&self, code: &str, tx_code: Option<&str>) -> Reply {
        self.post(
            "/token",
            Some(FORM),
            None,
            pre_authorized_form(code, tx_code),
        )
        .await
    }

    /// Redeems an admin offer; returns the access token.
    pub async fn access_token(&self, offer: &Value) -> String {
        let resolved = self.resolve_offer(offer).await;
        let code = pre_authorized_code(&resolved);
        let reply = self.token(&code, offer["tx_code"].as_str()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn nonce(&self) -> String {
        let reply = self
            .send(Request::post("/nonce").body(Body::empty()).unwrap())
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["c_nonce"]
            .as_str()
            .expect("c_nonce")
            .to_string()
    }

    /// A key proof by `holder` for this issuer, with a fresh nonce, made now.
    pub async fn fresh_proof(&self, holder: &HolderKey) -> String {
        let nonce = self.nonce().await;
        holder.proof(PUBLIC_URL, Some(&nonce), self.now())
    }

    /// `POST /credential` with one `jwt` proof.
    pub async fn credential(&self, token: &str, configuration: &str, proof: &str) -> Reply {
        self.post_json(
            "/credential",
            Some(token),
            &json!({"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}}),
        )
        .await
    }

    /// The whole flow for one credential; returns the admin offer and the issued SD-JWT VC.
    pub async fn issue(
        &self,
        credential: &str,
        claims: Value,
        holder: &HolderKey,
    ) -> (Value, String) {
        let offer = self.offer(credential, claims).await;
        let token = self.access_token(&offer).await;
        let proof = self.fresh_proof(holder).await;
        let reply = self.credential(&token, credential, &proof).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let issued = reply.json()["credentials"][0]["credential"]
            .as_str()
            .expect("credentials[0].credential")
            .to_string();
        (offer, issued)
    }
}

/// The form of a token request of the pre-authorised code grant.
pub fn pre_authorized_form(code: &str, tx_code: Option<&str>) -> String {
    let mut fields = vec![
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ),
        ("pre-authorized_code", code),
    ];
    if let Some(tx_code) = tx_code {
        fields.push(("tx_code", tx_code));
    }
    url_encode(&fields)
}

/// An admin API request (bearer [`ADMIN_TOKEN`]) without a body.
pub fn admin_request(method: &str, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::empty())
        .unwrap()
}

/// The path (and query) of a URL of a test issuer (a JSON string, an absolute URL).
pub fn local_path(url: &Value) -> String {
    let url = url::Url::parse(url.as_str().expect("a URL")).expect("an absolute URL");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

pub fn pre_authorized_code(offer: &Value) -> String {
    offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .expect("pre-authorized_code")
        .to_string()
}

pub fn url_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The status of `idx` in a status list token (1-bit lists), after verifying its signature.
pub fn status_in_list(token: &str, issuer_jwk: &Value, idx: u64) -> u8 {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(issuer_jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the status list token verifies");
    assert_eq!(data.header.typ.as_deref(), Some("statuslist+jwt"));
    let list = trustc_runtime::status::StatusList::decode(
        data.claims["status_list"]["lst"].as_str().unwrap(),
        data.claims["status_list"]["bits"].as_u64().unwrap() as u8,
    )
    .expect("lst decodes");
    list.get(idx as usize).expect("idx is in the list")
}
