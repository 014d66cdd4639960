//! The governance's prerequisites, enforced: the Law Society issues a Lawyer credential only after
//! the holder presented the Person credential the province issued, with the names taken from it.
//!
//! Two runtimes of the shipped example, without sockets: the province (participant
//! `bc-digital-identity/bc-gov`, issuing Person as `did:web:dev.credentials.gov.bc.example`) and
//! the Law Society (`lsbc-membership/lsbc`), whose verifier fetches the province's DID document
//! and status lists through the province's own router (`--resolve` maps the DID's host to it).
//! The holder is made of the test kit's keys and this file's presentation code, so every refusal
//! the npm wallet libraries would never provoke can be sent too.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use trustc_runtime::IssuerKey;
use trustc_runtime::domain::fetch::{Fetch, FetchError, Fetched};
use trustc_runtime::domain::presentation::{ClientIdPrefix, ResponseMode, Verifier};
use trustc_runtime::domain::trust::{ResolveOverride, Trust};
use trustc_runtime::x509::CertificateChain;
use trustc_testkit::HolderKey;

use super::openapi::Api;
use super::{ADMIN_TOKEN, FORM, Instance, PUBLIC_URL, Reply, decode};

/// Where the province runs (the `--resolve` target of its DID's host).
const PROVINCE_URL: &str = "http://127.0.0.1:18081";
pub(super) const PROVINCE_DID: &str = "did:web:dev.credentials.gov.bc.example";
pub(super) const LAWSOCIETY_DID: &str = "did:web:dev.credentials.lawsociety.bc.example";
const PERSON_VCT: &str = "https://credentials.gov.bc.example/person/v1";
pub(super) const LAWYER_VCT: &str = "https://credentials.lawsociety.bc.example/lawyer/v1";

/// Fetches from a runtime's router, in process: the province as the Law Society's verifier
/// reaches it.
struct RouterFetch {
    app: Router,
    /// Every URL asked for, to prove what was (not) fetched.
    seen: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl Fetch for RouterFetch {
    async fn get(&self, url: &url::Url, accept: &str) -> Result<Fetched, FetchError> {
        self.seen.lock().unwrap().push(url.to_string());
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let response = self
            .app
            .clone()
            .oneshot(
                Request::get(path)
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .map_err(|e| FetchError(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| FetchError(e.to_string()))?
            .to_bytes()
            .to_vec();
        Ok(Fetched {
            status,
            content_type,
            body,
        })
    }
}

/// The province and the Law Society, and a holder with a Person credential.
pub(super) struct World {
    pub(super) province: Instance,
    pub(super) society: Instance,
    fetched: Arc<RouterFetch>,
    pub(super) holder: HolderKey,
    pub(super) person: String,
    person_offer: Value,
    /// The last Lawyer credential issued, as issued.
    lawyer: std::sync::Mutex<String>,
    /// The OpenAPI document the answers must fit.
    api: Api,
}

pub(super) async fn world(prefix: ClientIdPrefix, mode: ResponseMode, holder: HolderKey) -> World {
    let province = Instance::start_as(
        "sqlite::memory:",
        IssuerKey::generate(),
        PROVINCE_URL,
        "bc-digital-identity/bc-gov",
        None,
    )
    .await;
    let fetched = Arc::new(RouterFetch {
        app: province.app.clone(),
        seen: Default::default(),
    });
    let key = IssuerKey::generate();
    let certificate =
        CertificateChain::self_signed(&key, "issuer.example", province.now() - 60, 30).unwrap();
    let verifier = Verifier {
        trust: Trust::new(
            fetched.clone(),
            vec![
                ResolveOverride::from_str(&format!(
                    "dev.credentials.gov.bc.example={PROVINCE_URL}"
                ))
                .unwrap(),
            ],
            300,
        ),
        certificate: Some(certificate),
        prefix,
        response_mode: mode,
    };
    let society = Instance::start_as(
        "sqlite::memory:",
        key,
        PUBLIC_URL,
        "lsbc-membership/lsbc",
        Some(verifier),
    )
    .await;
    let person_offer = province.offer("person", super::person_claims()).await;
    let token = province.access_token(&person_offer).await;
    let nonce = province.nonce().await;
    let proof = holder.proof(PROVINCE_URL, Some(&nonce), province.now());
    let reply = province.credential(&token, "person", &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let person = reply.json()["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        province,
        society,
        fetched,
        holder,
        person,
        person_offer,
        lawyer: Default::default(),
        api: Api::load(),
    }
}

/// [`world`] with an `x509_hash:` verifier answered in `direct_post` by an ES256 holder.
async fn plain_world() -> World {
    world(
        ClientIdPrefix::X509Hash,
        ResponseMode::DirectPost,
        HolderKey::es256(),
    )
    .await
}

/// A Lawyer offer from the Law Society's back end: membership facts, no names.
pub(super) fn lawyer_facts() -> Value {
    json!({
        "member_id": "512345",
        "member_status": "practising",
        "called_to_bar": "2015-09-18",
        "expiry_date": "2027-01-31"
    })
}

/// The wallet's side of one presentation during issuance, up to the request it must answer.
struct Started {
    offer: Value,
    verifier: String,
    auth_session: String,
    request: Value,
}

const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl World {
    fn last_lawyer(&self) -> String {
        self.lawyer.lock().unwrap().clone()
    }

    async fn start(&self) -> Started {
        let offer = self.society.offer("lawyer", lawyer_facts()).await;
        assert_eq!(offer["presentation_required"], true);
        let resolved = self.society.resolve_offer(&offer).await;
        let issuer_state = resolved["grants"]["authorization_code"]["issuer_state"]
            .as_str()
            .expect("an authorization_code grant with issuer_state")
            .to_owned();
        assert!(
            resolved["grants"]
                .get("urn:ietf:params:oauth:grant-type:pre-authorized_code")
                .is_none(),
            "no pre-authorised code before the presentation: {resolved:#}"
        );
        let challenge = pkce_challenge(PKCE_VERIFIER);
        let reply = self
            .society
            .post_form(
                "/authorize-challenge",
                &[
                    ("issuer_state", &issuer_state),
                    ("client_id", "wallet-app"),
                    ("scope", "lawyer"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "insufficient_authorization");
        self.api.check("post", "/authorize-challenge", &reply);
        let body = reply.json();
        let auth_session = body["auth_session"].as_str().unwrap().to_owned();
        let request = self
            .open_request(body["presentation"].as_str().unwrap())
            .await;
        Started {
            offer,
            verifier: PKCE_VERIFIER.into(),
            auth_session,
            request,
        }
    }

    /// The OpenID4VP request an `openid4vp://` URL names: the signed request object fetched by
    /// reference (checked, and golden-tested), or the parameters by value.
    pub(super) async fn open_request(&self, presentation: &str) -> Value {
        let url = url::Url::parse(presentation).unwrap();
        assert_eq!(url.scheme(), "openid4vp");
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        match query.get("request_uri") {
            Some(request_uri) => {
                let path = request_uri.strip_prefix(PUBLIC_URL).unwrap();
                let reply = self.society.post(path, Some(FORM), None, "").await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
                assert_eq!(
                    reply.headers[header::CONTENT_TYPE],
                    "application/oauth-authz-req+jwt"
                );
                self.api
                    .check("post", "/presentations/{id}/request", &reply);
                let jwt = reply.text();
                let (header, payload) = jwt_parts(&jwt);
                assert_eq!(header["typ"], "oauth-authz-req+jwt");
                assert!(header["x5c"].is_array(), "{header:#}");
                assert_eq!(
                    payload["client_id"].as_str(),
                    query.get("client_id").map(String::as_str)
                );
                golden_request_object(&header, &payload);
                payload
            }
            None => {
                let mut request = serde_json::Map::new();
                for (name, value) in &query {
                    let value = serde_json::from_str(value).unwrap_or(Value::String(value.clone()));
                    request.insert(name.clone(), value);
                }
                Value::Object(request)
            }
        }
    }

    /// The holder's presentation of its Person credential for `request`, disclosing `claims`.
    pub(super) fn present(
        &self,
        request: &Value,
        claims: &[&str],
        kb: impl FnOnce(&mut Value),
    ) -> String {
        let mut parts = self.person.split('~');
        let jwt = parts.next().unwrap();
        let mut presented = format!("{jwt}~");
        for disclosure in parts.filter(|d| !d.is_empty()) {
            let decoded: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(disclosure).unwrap()).unwrap();
            if claims.iter().any(|c| decoded[1] == *c) {
                presented.push_str(disclosure);
                presented.push('~');
            }
        }
        let mut payload = json!({
            "aud": request["client_id"],
            "nonce": request["nonce"],
            "iat": self.society.now(),
            "sd_hash": URL_SAFE_NO_PAD.encode(Sha256::digest(presented.as_bytes())),
        });
        kb(&mut payload);
        let kb_jwt = self.holder.sign_jws(
            &json!({"typ": "kb+jwt", "alg": self.holder.alg()}),
            &payload,
        );
        presented + &kb_jwt
    }

    /// Posts `vp_token` to the request's response URI (encrypted when the request asks).
    pub(super) async fn respond(&self, request: &Value, vp_token: &Value) -> Reply {
        let path = request["response_uri"]
            .as_str()
            .unwrap()
            .strip_prefix(PUBLIC_URL)
            .unwrap()
            .to_owned();
        let state = request["state"].as_str().unwrap();
        if request["response_mode"] == "direct_post.jwt" {
            let jwk = &request["client_metadata"]["jwks"]["keys"][0];
            let bare = json!({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]});
            let public = p256::PublicKey::from_jwk_str(&bare.to_string()).unwrap();
            let plaintext = json!({"vp_token": vp_token, "state": state}).to_string();
            let jwe = trustc_runtime::jwe::encrypt(
                plaintext.as_bytes(),
                &public,
                "A128GCM",
                jwk["kid"].as_str(),
                b"wallet",
                request["nonce"].as_str().unwrap().as_bytes(),
            )
            .unwrap();
            self.society.post_form(&path, &[("response", &jwe)]).await
        } else {
            self.society
                .post_form(
                    &path,
                    &[("vp_token", &vp_token.to_string()), ("state", state)],
                )
                .await
        }
    }

    /// Presents the holder's Person credential (both names disclosed) for `started` and returns
    /// the `access_denied` refusal's description.
    async fn refusal(&self, started: &Started) -> String {
        let presentation = self.present(&started.request, &["given_names", "family_name"], |_| {});
        self.respond(&started.request, &json!({"person": [presentation]}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "access_denied")
    }

    /// The second authorization challenge: the `auth_session` with the presentation's session.
    async fn second_challenge(&self, started: &Started, session: &str) -> Reply {
        self.society
            .post_form(
                "/authorize-challenge",
                &[
                    ("auth_session", &started.auth_session),
                    ("presentation_during_issuance_session", session),
                ],
            )
            .await
    }

    /// The rest of the flow after a verified presentation: code, token, credential.
    async fn finish(&self, started: &Started, session: &str) -> Value {
        let reply = self
            .society
            .post_form(
                "/authorize-challenge",
                &[
                    ("auth_session", &started.auth_session),
                    ("presentation_during_issuance_session", session),
                    ("client_id", "wallet-app"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        self.api.check("post", "/authorize-challenge", &reply);
        let code = reply.json()["authorization_code"]
            .as_str()
            .unwrap()
            .to_owned();
        let reply = self
            .society
            .post_form(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", &started.verifier),
                    ("client_id", "wallet-app"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        let proof = self.society.fresh_proof(&self.holder).await;
        let reply = self.society.credential(&token, "lawyer", &proof).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let lawyer = reply.json()["credentials"][0]["credential"]
            .as_str()
            .unwrap()
            .to_owned();
        *self.lawyer.lock().unwrap() = lawyer.clone();
        let key = self.society.issuer.key.public_jwk().clone();
        claims_of(&lawyer, &key)
    }

    /// The Law Society's record of an offer (admin API).
    pub(super) async fn record(&self, offer: &Value) -> Value {
        let id = offer["id"].as_str().unwrap();
        let reply = self
            .society
            .send(super::admin_request("GET", &format!("/admin/offers/{id}")))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()
    }
}

/// Every claim of an issued SD-JWT VC (plain and disclosed), its signature checked.
pub(super) fn claims_of(sd_jwt: &str, key: &Value) -> Value {
    let decoded = decode(sd_jwt, key);
    let mut claims = decoded.payload;
    claims.extend(decoded.disclosed);
    Value::Object(claims)
}

/// The request object, golden-tested with what changes per run (ids, nonces, times, keys)
/// replaced by what it stands for: one snapshot per client identifier prefix and response mode.
fn golden_request_object(header: &Value, payload: &Value) {
    let mut header = header.clone();
    header["x5c"] = json!(["<the certificate chain, leaf first>"]);
    let mut payload = payload.clone();
    let client_id = payload["client_id"].as_str().unwrap().to_owned();
    let (prefix, _) = client_id.split_once(':').unwrap();
    if prefix == "x509_hash" {
        payload["client_id"] = json!("x509_hash:<sha-256 of the certificate>");
    }
    let id = payload["state"].as_str().unwrap().to_owned();
    let text = serde_json::to_string(&payload)
        .unwrap()
        .replace(&id, "<request id>");
    let mut payload: Value = serde_json::from_str(&text).unwrap();
    payload["nonce"] = json!("<nonce>");
    payload["iat"] = json!("<now>");
    payload["exp"] = json!("<now + 300>");
    let mode = payload["response_mode"].as_str().unwrap().to_owned();
    if let Some(key) = payload.pointer_mut("/client_metadata/jwks/keys/0") {
        key["x"] = json!("<x>");
        key["y"] = json!("<y>");
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(crate::common::repo().join("tests/snapshots/serve"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let name = format!("request_object_{prefix}_{}", mode.replace('.', "_"));
    let rendered =
        serde_json::to_string_pretty(&json!({"header": header, "payload": payload})).unwrap();
    settings.bind(|| insta::assert_snapshot!(name, rendered));
}

fn jwt_parts(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut next =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}

#[tokio::test]
async fn a_lawyer_credential_takes_its_names_from_the_person_credential_presented() {
    for (prefix, mode, holder) in [
        (
            ClientIdPrefix::X509SanDns,
            ResponseMode::DirectPost,
            HolderKey::es256(),
        ),
        (
            ClientIdPrefix::X509Hash,
            ResponseMode::DirectPostJwt,
            HolderKey::ed25519(),
        ),
        (
            ClientIdPrefix::RedirectUri,
            ResponseMode::DirectPost,
            HolderKey::es256(),
        ),
    ] {
        let world = world(prefix, mode, holder).await;
        let province_key = world.province.issuer.key.public_jwk().clone();
        let person = claims_of(&world.person, &province_key);
        assert_eq!(
            person["iss"], PROVINCE_DID,
            "the province signs as its governance DID"
        );
        let started = world.start().await;
        let client_id = started.request["client_id"].as_str().unwrap();
        assert!(
            client_id.starts_with(&format!("{}:", prefix.name())),
            "{client_id}"
        );
        assert_eq!(started.request["response_mode"], mode.name());
        assert_eq!(
            started.request["dcql_query"],
            json!({"credentials": [{
                "id": "person",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PERSON_VCT]},
                "claims": [{"path": ["given_names"]}, {"path": ["family_name"]}]
            }]})
        );
        let presentation = world.present(&started.request, &["given_names", "family_name"], |_| {});
        let reply = world
            .respond(&started.request, &json!({"person": [presentation]}))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{:?}: {}",
            prefix,
            reply.text()
        );
        let session = reply.json()["presentation_during_issuance_session"]
            .as_str()
            .expect("presentation_during_issuance_session")
            .to_owned();
        let lawyer = world.finish(&started, &session).await;
        assert_eq!(lawyer["given_names"], person["given_names"]);
        assert_eq!(lawyer["family_name"], person["family_name"]);
        // What the governance never discloses is issued in plain text (in the signed payload).
        let plain = decode(&world.last_lawyer(), world.society.issuer.key.public_jwk());
        assert_eq!(plain.payload["member_id"], "512345");
        assert_eq!(plain.payload["member_status"], "practising");
        assert!(plain.disclosed.contains_key("given_names"));
        assert_eq!(lawyer["iss"], LAWSOCIETY_DID);
        assert_eq!(lawyer["vct"], LAWYER_VCT);
        assert!(lawyer.get("birthdate").is_none());

        let record = world.record(&started.offer).await;
        assert_eq!(record["state"], "issued", "{record:#}");
        let verifications = record["verifications"].as_array().unwrap();
        assert_eq!(verifications.len(), 1, "{record:#}");
        assert_eq!(verifications[0]["outcome"], "verified");
        assert_eq!(verifications[0]["prerequisite"], "person");
        assert_eq!(verifications[0]["issuer"], PROVINCE_DID);
        assert_eq!(verifications[0]["vct"], PERSON_VCT);
        assert!(
            verifications[0]["status_list"]["uri"]
                .as_str()
                .unwrap()
                .starts_with(PROVINCE_URL)
        );
        assert!(verifications[0].get("given_names").is_none());
        let seen = world.fetched.seen.lock().unwrap().clone();
        assert!(
            seen.iter().all(|url| url.starts_with(PROVINCE_URL)),
            "fetched only from the trusted issuer: {seen:?}"
        );
    }
}

#[tokio::test]
async fn the_admin_api_enforces_the_prerequisites() {
    let world = plain_world().await;
    let mut with_names = lawyer_facts();
    with_names["given_names"] = json!("Mallory");
    let reply = world
        .society
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "lawyer", "claims": with_names}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    let problem = reply.json();
    assert_eq!(problem["claims"][0]["claim"], "given_names");
    assert_eq!(problem["claims"][0]["problem"], "presented");
    assert!(
        problem["claims"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("prerequisite `person`"),
        "{problem:#}"
    );
    let reply = world
        .society
        .post_json(
            "/admin/offers",
            Some(ADMIN_TOKEN),
            &json!({"credential": "lawyer", "claims": lawyer_facts(), "grant": "pre-authorized_code"}),
        )
        .await;
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
            .contains("`person`")
    );

    // The offer's own code does not redeem before the presentation, whoever learns it.
    let started = world.start().await;
    let id = started.offer["id"].as_str().unwrap();
    let offer = world.society.issuer.offer_status(id).await.unwrap();
    assert_eq!(offer.state, "offered");
    let reply = world.second_challenge(&started, "made-up").await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_session");
}

/// Each bad presentation is refused with its reason, audited, and issues nothing.
#[tokio::test]
async fn bad_presentations_are_refused_and_audited() {
    type Tamper = fn(&World, &Value) -> Value;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "aud without prefix",
            |w, r| {
                let aud = r["client_id"]
                    .as_str()
                    .unwrap()
                    .split_once(':')
                    .unwrap()
                    .1
                    .to_owned();
                json!({"person": [w.present(r, &["given_names", "family_name"], |p| p["aud"] = json!(aud))]})
            },
            "aud",
        ),
        (
            "another nonce",
            |w, r| json!({"person": [w.present(r, &["given_names", "family_name"], |p| p["nonce"] = json!("another"))]}),
            "nonce",
        ),
        (
            "a stale key binding",
            |w, r| {
                let old = w.society.now() - 3600;
                json!({"person": [w.present(r, &["given_names", "family_name"], |p| p["iat"] = json!(old))]})
            },
            "iat",
        ),
        (
            "a claim not disclosed",
            |w, r| json!({"person": [w.present(r, &["given_names"], |_| {})]}),
            "family_name",
        ),
        (
            "a tampered disclosure",
            |w, r| {
                let good = w.present(r, &["given_names", "family_name"], |_| {});
                let mut parts: Vec<String> = good.split('~').map(str::to_owned).collect();
                let forged =
                    URL_SAFE_NO_PAD.encode(json!(["salt", "given_names", "Mallory"]).to_string());
                parts[1] = forged;
                json!({"person": [parts.join("~")]})
            },
            "disclosures",
        ),
        (
            "no presentation for the rule",
            |_, _| json!({"other": ["x"]}),
            "person",
        ),
        (
            "a huge vp_token",
            |_, _| json!({"person": ["a".repeat(300 * 1024)]}),
            "bytes",
        ),
    ];
    for (name, tamper, reason) in cases {
        let world = plain_world().await;
        let started = world.start().await;
        let vp_token = tamper(&world, &started.request);
        let reply = world.respond(&started.request, &vp_token).await;
        let description = reply.assert_error(StatusCode::BAD_REQUEST, "access_denied");
        assert!(description.contains(reason), "{name}: {description}");
        world
            .api
            .check("post", "/presentations/{id}/response", &reply);
        let record = world.record(&started.offer).await;
        assert_eq!(record["state"], "offered", "{name}: {record:#}");
        let verifications = record["verifications"].as_array().unwrap();
        assert_eq!(verifications.len(), 1, "{name}: {record:#}");
        assert_eq!(verifications[0]["outcome"], "refused", "{name}");
        assert!(
            verifications[0]["reason"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{name}: {record:#}"
        );
        // Nothing came of it: no code for this session.
        let reply = world.second_challenge(&started, "x").await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_session");
    }
}

#[tokio::test]
async fn a_response_is_accepted_once_and_only_for_its_request() {
    let world = world(
        ClientIdPrefix::X509SanDns,
        ResponseMode::DirectPost,
        HolderKey::es256(),
    )
    .await;
    let started = world.start().await;
    let presentation = world.present(&started.request, &["given_names", "family_name"], |_| {});
    let vp_token = json!({"person": [presentation]});
    // Another `state` than the request's.
    let path = started.request["response_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    let reply = world
        .society
        .post_form(
            &path,
            &[("vp_token", &vp_token.to_string()), ("state", "unknown")],
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let reply = world.respond(&started.request, &vp_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let session = reply.json()["presentation_during_issuance_session"]
        .as_str()
        .unwrap()
        .to_owned();
    let replayed = world.respond(&started.request, &vp_token).await;
    let description = replayed.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(description.contains("once"), "{description}");
    // A wrong PKCE verifier does not redeem the code, and the code then is spent.
    let reply = world.second_challenge(&started, &session).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let code = reply.json()["authorization_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = world
        .society
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                (
                    "code_verifier",
                    "another-verifier-of-the-right-length-0123456789",
                ),
            ],
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The session gives one code.
    let reply = world.second_challenge(&started, &session).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_session");
}

#[tokio::test]
async fn untrusted_revoked_and_foreign_credentials_are_refused_before_or_after_fetching() {
    // The trusted province's credential, revoked after it was issued: refused after its status
    // list was fetched.
    let world = plain_world().await;
    world.province.revoke(&world.person_offer).await;
    let started = world.start().await;
    let description = world.refusal(&started).await;
    assert!(description.contains("revoked"), "{description}");

    // An issuer outside the trust list: nothing is fetched for it.
    let world = self::plain_world().await;
    let started = world.start().await;
    let before = world.fetched.seen.lock().unwrap().len();
    let stranger = HolderKey::es256();
    let forged_jwt = stranger.sign_jws(
        &json!({"typ": "dc+sd-jwt", "alg": "ES256"}),
        &json!({"iss": "https://stranger.example", "vct": PERSON_VCT, "_sd_alg": "sha-256",
                "given_names": "Mallory", "family_name": "M", "cnf": {"jwk": world.holder.public_jwk()}}),
    );
    let presented = format!("{forged_jwt}~");
    let kb = world.holder.sign_jws(
        &json!({"typ": "kb+jwt", "alg": world.holder.alg()}),
        &json!({"aud": started.request["client_id"], "nonce": started.request["nonce"],
                "iat": world.society.now(),
                "sd_hash": URL_SAFE_NO_PAD.encode(Sha256::digest(presented.as_bytes()))}),
    );
    let reply = world
        .respond(&started.request, &json!({"person": [presented + &kb]}))
        .await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "access_denied");
    assert!(description.contains("stranger.example"), "{description}");
    assert_eq!(
        world.fetched.seen.lock().unwrap().len(),
        before,
        "nothing fetched for an untrusted issuer"
    );
}

/// A Person credential that expired, one of another type from the trusted issuer, a JWE for
/// another key and a response with another `state`: each refused with its reason and audited.
#[tokio::test]
async fn expired_foreign_type_wrong_key_and_wrong_state_are_refused_and_audited() {
    // Expired: the Person credential is valid for five years; the Law Society's clock is six
    // years on (the offer made then).
    let world = plain_world().await;
    world.society.advance(6 * 366 * 86_400);
    let started = world.start().await;
    let description = world.refusal(&started).await;
    assert!(description.contains("expired"), "{description}");

    // Another type, signed by the trusted issuer's own key under its DID.
    let world = self::plain_world().await;
    let started = world.start().await;
    let key = &world.province.issuer.key;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_value(json!({"given_names": "Alex", "family_name": "Tremblay"})).unwrap();
    let disclosable = vec!["given_names".to_owned(), "family_name".to_owned()];
    let other_type = trustc_runtime::sdjwt::issue(
        key,
        &trustc_runtime::sdjwt::Issuance {
            issuer: PROVINCE_DID,
            kid: &format!("{PROVINCE_DID}#{}", key.kid()),
            vct: "https://credentials.gov.bc.example/library-card/v1",
            iat: world.province.now(),
            exp: None,
            claims: &claims,
            disclosable: &disclosable,
            holder_jwk: &world.holder.public_jwk(),
            status: None,
        },
    )
    .await
    .unwrap();
    let forged = World {
        person: other_type,
        ..world
    };
    let description = forged.refusal(&started).await;
    assert!(description.contains("library-card"), "{description}");
    let record = forged.record(&started.offer).await;
    assert_eq!(record["verifications"][0]["outcome"], "refused");
    assert_eq!(record["state"], "offered");

    // A JWE for another key, and a response with another `state`: refused, audited, and the
    // request still waits for its own wallet, which then succeeds.
    let world = self::world(
        ClientIdPrefix::X509SanDns,
        ResponseMode::DirectPostJwt,
        HolderKey::ed25519(),
    )
    .await;
    let started = world.start().await;
    let path = started.request["response_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    let stranger = trustc_runtime::jwe::session_key(&[7; 32], "another request");
    let jwe = trustc_runtime::jwe::encrypt(
        br#"{"vp_token":{},"state":"x"}"#,
        &stranger.public_key(),
        "A128GCM",
        Some("response-encryption"),
        b"wallet",
        b"nonce",
    )
    .unwrap();
    let reply = world.society.post_form(&path, &[("response", &jwe)]).await;
    let description = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(description.contains("does not decrypt"), "{description}");
    let presentation = world.present(&started.request, &["given_names", "family_name"], |_| {});
    let mut wrong_state = started.request.clone();
    wrong_state["state"] = json!("another-state");
    let reply = world
        .respond(&wrong_state, &json!({"person": [presentation.clone()]}))
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let record = world.record(&started.offer).await;
    let refused: Vec<&Value> = record["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 2, "{record:#}");
    let reply = world
        .respond(&started.request, &json!({"person": [presentation]}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}
