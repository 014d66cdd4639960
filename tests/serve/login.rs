//! The login (`method: login`): trustc in process, as the wallet's authorization server and the
//! relying party of a real OpenID Provider (npm `oidc-provider`, `tests/interop/op.mjs` in auto
//! mode, one per test) on loopback. A small browser follows the redirects between the two with a
//! cookie jar per host, and stops at the wallet's redirect URI. Every bad input the issue names is
//! here at the HTTP level: each refused with the specification's error or a page that says why,
//! nothing issued, the audit keeping the outcome. The npm wallet and Chromium drive the same flows
//! in `tests/interop_login.rs`.
//!
//! Without node or npm the tests print `SKIPPED` (`TRUSTC_REQUIRE_INTEROP=1` makes that a
//! failure).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use trustc_runtime::IssuerKey;
use trustc_testkit::HolderKey;

use super::{ADMIN_TOKEN, Instance, PUBLIC_URL, decode, url_encode};
use crate::interop::node_client;

/// Where the wallet wants the code: the browser stops here.
const WALLET_REDIRECT: &str = "https://wallet.example/callback";
const WALLET_CLIENT: &str = "wallet-test";
/// The PKCE verifier of the wallet's requests, and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

// -------------------------------------------------------------------------------------------
// The OpenID Provider
// -------------------------------------------------------------------------------------------

/// A running `op.mjs`, stopped when dropped.
struct Op {
    child: Child,
    /// Its issuer identifier, `http://localhost:<port>`.
    issuer: String,
}

impl Op {
    /// An auto-mode provider whose client `trustc-dev` redirects to the test issuer's callback;
    /// `None` (after `SKIPPED`) without node.
    fn start(test: &str) -> Option<Op> {
        Op::start_with(test, &[])
    }

    fn start_with(test: &str, env: &[(&str, &str)]) -> Option<Op> {
        let dir = node_client(test)?;
        let mut command = Command::new("node");
        command
            .arg("op.mjs")
            .current_dir(&dir)
            .env("OP_PORT", "0")
            .env("OP_MODE", "auto")
            .env("RP_REDIRECT_URI", format!("{PUBLIC_URL}/login/callback"))
            .env("TRUSTC_DEV_LOGIN_SECRET", "trustc-dev-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("node starts op.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("OP_READY ") {
                    let _ = sender.send(issuer.to_owned());
                }
            }
        });
        let issuer = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(issuer) => issuer,
            Err(_) => {
                let _ = child.kill();
                panic!("op.mjs did not print OP_READY within 30 s");
            }
        };
        Some(Op { child, issuer })
    }

    /// A test hook of the provider (`/__test/...`).
    fn hook(&self, path_and_query: &str) {
        let answer = raw("POST", &format!("{}{path_and_query}", self.issuer), &[], "");
        assert_eq!(answer.status, 200, "{path_and_query}: {}", answer.body);
    }

    fn next_login(&self, account: &str) {
        self.hook(&format!("/__test/next-login?account={account}"));
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        crate::common::stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// An answer of a real HTTP server.
pub(super) struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// One HTTP/1.1 request to a loopback server (`localhost` is 127.0.0.1): the status, the
/// headers (names in lower case) and the body (decoded when chunked).
pub(super) fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> RawAnswer {
    let parsed = url::Url::parse(url).expect("a URL");
    let port = parsed.port_or_known_default().expect("a port");
    let host = parsed.host_str().expect("a host");
    let address = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    let mut stream = TcpStream::connect((address, port)).expect("the server answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let path = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    RawAnswer {
        status,
        body: if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
        headers,
    }
}

/// The payload of a `Transfer-Encoding: chunked` body.
pub(super) fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

// -------------------------------------------------------------------------------------------
// The browser
// -------------------------------------------------------------------------------------------

/// One answer the browser saw.
#[derive(Debug)]
struct Hop {
    url: String,
    status: u16,
    location: Option<String>,
    body: String,
}

/// A browser: a cookie jar per host (ports ignored, as browsers do), redirects followed between
/// the in-process issuer and the provider, stopping at the wallet.
struct Browser<'i> {
    instance: &'i Instance,
    cookies: Vec<(String, String, String)>,
}

impl<'i> Browser<'i> {
    fn new(instance: &'i Instance) -> Browser<'i> {
        Browser {
            instance,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self, host: &str) -> String {
        self.cookies
            .iter()
            .filter(|(h, _, _)| h == host)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, host: &str, set_cookie: &str) {
        let pair = set_cookie.split(';').next().unwrap_or_default();
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let gone = set_cookie.contains("Max-Age=0") || value.is_empty();
        self.cookies.retain(|(h, n, _)| !(h == host && n == name));
        if !gone {
            self.cookies
                .push((host.to_owned(), name.to_owned(), value.to_owned()));
        }
    }

    /// One GET, no redirect followed.
    async fn get(&mut self, url: &str) -> Hop {
        let parsed = url::Url::parse(url).expect("a URL");
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let cookies = self.cookie_header(&host);
        if let Some(path) = url.strip_prefix(PUBLIC_URL) {
            let mut request = Request::get(if path.is_empty() { "/" } else { path });
            if !cookies.is_empty() {
                request = request.header(header::COOKIE, cookies);
            }
            let reply = self
                .instance
                .send(request.body(Body::empty()).unwrap())
                .await;
            for value in reply.headers.get_all(header::SET_COOKIE) {
                self.keep(&host, value.to_str().unwrap());
            }
            Hop {
                url: url.to_owned(),
                status: reply.status.as_u16(),
                location: reply
                    .headers
                    .get(header::LOCATION)
                    .map(|l| l.to_str().unwrap().to_owned()),
                body: reply.text(),
            }
        } else {
            let headers: Vec<(&str, &str)> = if cookies.is_empty() {
                vec![]
            } else {
                vec![("Cookie", cookies.as_str())]
            };
            let answer = raw("GET", url, &headers, "");
            for (name, value) in &answer.headers {
                if name == "set-cookie" {
                    self.keep(&host, value);
                }
            }
            let location = answer
                .headers
                .iter()
                .find(|(n, _)| n == "location")
                .map(|(_, l)| parsed.join(l).expect("a location").to_string());
            Hop {
                url: url.to_owned(),
                status: answer.status,
                location,
                body: answer.body,
            }
        }
    }

    /// Follows redirects from `url` until an answer that is not one, or a redirect to the
    /// wallet (whose URL is the last hop's `location`).
    async fn follow(&mut self, url: &str) -> Hop {
        let mut url = url.to_owned();
        for _ in 0..20 {
            let hop = self.get(&url).await;
            match &hop.location {
                Some(next) if !next.starts_with(WALLET_REDIRECT) => url = next.clone(),
                _ => return hop,
            }
        }
        panic!("more than 20 redirects from {url}");
    }
}

/// The query parameter `name` of `url`.
fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// -------------------------------------------------------------------------------------------
// The issuer
// -------------------------------------------------------------------------------------------

/// The example issuer (every participant) signing holders in at `op`.
async fn issuer_for(op: &Op) -> Instance {
    Instance::start_with_login("sqlite::memory:", IssuerKey::generate(), &op.issuer).await
}

/// The wallet's pushed authorization request; its `request_uri`.
async fn par(instance: &Instance, fields: &[(&str, &str)]) -> String {
    let reply = instance.post_form("/par", fields).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let body = reply.json();
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    body["request_uri"].as_str().unwrap().to_owned()
}

/// A wallet-initiated request for `credential`'s scope.
fn wallet_request<'a>(scope: &'a str, code_challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", WALLET_CLIENT),
        ("redirect_uri", WALLET_REDIRECT),
        ("scope", scope),
        ("state", "wallet-state-1"),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
        ("resource", PUBLIC_URL),
    ]
}

fn authorize_url(request_uri: &str) -> String {
    format!(
        "{PUBLIC_URL}/authorize?{}",
        url_encode(&[("client_id", WALLET_CLIENT), ("request_uri", request_uri)])
    )
}

/// The wallet's pushed request for the Person credential, with [`VERIFIER`]'s challenge; its
/// `request_uri`.
async fn person_request(instance: &Instance) -> String {
    par(instance, &wallet_request("person", &challenge(VERIFIER))).await
}

/// `fields` with the field `name` set to `value`, or left out when `value` is empty.
fn with_field<'a>(
    fields: &[(&'a str, &'a str)],
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    assert!(
        fields.iter().any(|(n, _)| *n == name),
        "no field `{name}` to change"
    );
    let mut changed: Vec<(&str, &str)> =
        fields.iter().filter(|(n, _)| *n != name).copied().collect();
    if !value.is_empty() {
        changed.push((name, value));
    }
    changed
}

/// The token request of the authorization code grant.
async fn code_token(instance: &Instance, code: &str, verifier: &str) -> super::Reply {
    code_token_with(instance, code, "code_verifier", verifier).await
}

/// The token request of the authorization code grant, as the wallet sends it with
/// [`VERIFIER`] but for the field `name`, set to `value`.
async fn code_token_with(instance: &Instance, code: &str, name: &str, value: &str) -> super::Reply {
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", VERIFIER),
        ("redirect_uri", WALLET_REDIRECT),
        ("client_id", WALLET_CLIENT),
    ];
    instance
        .post_form("/token", &with_field(&fields, name, value))
        .await
}

/// A wallet-initiated login for the Person credential through the browser; the wallet's
/// redirect.
async fn person_login(instance: &Instance) -> String {
    let request_uri = person_request(instance).await;
    log_in(instance, &request_uri).await
}

/// Logs in through the browser for a pushed request and returns the wallet's redirect.
async fn log_in(instance: &Instance, request_uri: &str) -> String {
    let mut browser = Browser::new(instance);
    let hop = browser.follow(&authorize_url(request_uri)).await;
    match hop.location {
        Some(location) => location,
        None => panic!(
            "the login ends at the wallet: {} {}: {}",
            hop.status, hop.url, hop.body
        ),
    }
}

/// The credential an access token collects, decoded.
async fn collect(
    instance: &Instance,
    token: &str,
    configuration: &str,
) -> trustc_testkit::sdjwt::Decoded {
    let holder = HolderKey::es256();
    let proof = instance.fresh_proof(&holder).await;
    let reply = instance.credential(token, configuration, &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let issued = reply.json()["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    decode(&issued, instance.issuer.key.public_jwk())
}

async fn admin_offer(instance: &Instance, body: Value) -> Value {
    let reply = instance
        .post_json("/admin/offers", Some(ADMIN_TOKEN), &body)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

async fn admin_show(instance: &Instance, id: &str) -> Value {
    let reply = instance
        .send(super::admin_request("GET", &format!("/admin/offers/{id}")))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

// -------------------------------------------------------------------------------------------
// The flows
// -------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wallet_signs_the_holder_in_and_collects_a_person_credential_with_the_login_claims() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    let metadata = instance
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        format!("{PUBLIC_URL}/par")
    );
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{PUBLIC_URL}/authorize")
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );

    let back = person_login(&instance).await;
    assert!(back.starts_with(WALLET_REDIRECT), "{back}");
    assert_eq!(query(&back, "iss").as_deref(), Some(PUBLIC_URL));
    assert_eq!(query(&back, "state").as_deref(), Some("wallet-state-1"));
    let code = query(&back, "code").expect("a code");

    let token = code_token(&instance, &code, VERIFIER).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let access_token = token.json()["access_token"].as_str().unwrap().to_owned();
    let credential = collect(&instance, &access_token, "person").await;
    assert_eq!(credential.disclosed["given_names"], "Alice");
    assert_eq!(credential.disclosed["family_name"], "Anderson");
    assert_eq!(credential.disclosed["birthdate"], "1990-04-01");
    assert_eq!(credential.disclosed["locality"], "Victoria");
    assert_eq!(credential.disclosed["region"], "BC");
    // The dates the governance sets at issuance: today, and five years on (`validity: P5Y`).
    let issued = credential.disclosed["issue_date"]
        .as_str()
        .unwrap()
        .to_owned();
    let expires = credential.disclosed["expiry_date"]
        .as_str()
        .unwrap()
        .to_owned();
    let year = |date: &str| date[..4].parse::<i32>().unwrap();
    assert_eq!(issued.len(), 10, "{issued}");
    assert_eq!(year(&expires), year(&issued) + 5, "{issued} {expires}");
    let today = instance.now().div_euclid(86_400);
    let days = |date: &str| {
        // Days since 1970-01-01 of a date, to compare with the issuer's clock.
        let (y, m, d) = (
            year(date) as i64,
            date[5..7].parse::<i64>().unwrap(),
            date[8..10].parse::<i64>().unwrap(),
        );
        let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
        365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469
    };
    assert_eq!(days(&issued), today, "{issued}");

    // The code is single use: replayed at trustc, it is an invalid grant.
    code_token(&instance, &code, VERIFIER)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn pushed_requests_are_checked_before_anything_is_stored() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    let code_challenge = challenge(VERIFIER);
    let good = wallet_request("person", &code_challenge);
    let with = |name: &'static str, value: &'static str| with_field(&good, name, value);
    for (fields, error, about) in [
        (
            with("response_type", "token"),
            "unsupported_response_type",
            "code",
        ),
        (with("client_id", ""), "invalid_request", "client_id"),
        (with("redirect_uri", ""), "invalid_request", "redirect_uri"),
        (
            with("redirect_uri", "https://wallet.example/cb#frag"),
            "invalid_request",
            "fragment",
        ),
        (with("code_challenge", ""), "invalid_request", "PKCE"),
        (
            with("code_challenge_method", "plain"),
            "invalid_request",
            "S256",
        ),
        (with("scope", "unknown"), "invalid_scope", "unknown"),
        (with("scope", ""), "invalid_scope", "names no credential"),
        (
            with("resource", "https://other.example"),
            "invalid_request",
            "resource",
        ),
    ] {
        let reply = instance.post_form("/par", &fields).await;
        let description = reply.assert_error(StatusCode::BAD_REQUEST, error);
        assert!(description.contains(about), "{error}: {description}");
    }
    // A request URI may not itself be pushed.
    let mut pushed = good.clone();
    pushed.push(("request_uri", "urn:ietf:params:oauth:request_uri:x"));
    instance
        .post_form("/par", &pushed)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn request_uris_work_once_for_their_client_before_they_expire() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;

    // Another client may not use it (the page says so; nothing is sent to the provider).
    let request_uri = person_request(&instance).await;
    let mut browser = Browser::new(&instance);
    let other = format!(
        "{PUBLIC_URL}/authorize?{}",
        url_encode(&[("client_id", "someone-else"), ("request_uri", &request_uri)])
    );
    let hop = browser.get(&other).await;
    assert_eq!(hop.status, 400, "{}", hop.body);
    assert!(hop.body.contains("client_id"), "{}", hop.body);

    // Used once, then never again.
    let back = log_in(&instance, &request_uri).await;
    assert!(query(&back, "code").is_some(), "{back}");
    let again = browser.get(&authorize_url(&request_uri)).await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("used already or has expired"),
        "{}",
        again.body
    );

    // Expired: 90 seconds.
    let late = person_request(&instance).await;
    instance.advance(91);
    let hop = Browser::new(&instance).get(&authorize_url(&late)).await;
    assert_eq!(hop.status, 400, "{}", hop.body);

    // An unknown one.
    let hop = Browser::new(&instance)
        .get(&authorize_url("urn:ietf:params:oauth:request_uri:nope"))
        .await;
    assert_eq!(hop.status, 400);
    assert!(
        hop.body.contains(r#"id="reason""#),
        "the page says why: {}",
        hop.body
    );
}

#[tokio::test]
async fn codes_need_their_verifier_client_and_exact_redirect_uri_once_and_in_time() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    let code = logged_in_code(&instance).await;
    let wrong = "x".repeat(43);
    let description = code_token(&instance, &code, &wrong)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("code_verifier"), "{description}");
    let description = code_token_with(
        &instance,
        &code,
        "redirect_uri",
        "https://wallet.example/other",
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("redirect_uri"), "{description}");
    let description = code_token_with(&instance, &code, "client_id", "someone-else")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("client_id"), "{description}");
    // The refusals above spent nothing: the right request still redeems.
    assert_eq!(
        code_token(&instance, &code, VERIFIER).await.status,
        StatusCode::OK
    );

    // A code lives 60 seconds.
    let late = logged_in_code(&instance).await;
    instance.advance(61);
    code_token(&instance, &late, VERIFIER)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// A wallet-initiated login for the Person credential, through to its authorization code.
async fn logged_in_code(instance: &Instance) -> String {
    query(&person_login(instance).await, "code").expect("a code")
}

/// A new browser that followed a wallet-initiated login for the Person credential up to the
/// provider's redirect to trustc's callback, and that callback URL, not opened yet.
async fn person_login_to_callback(instance: &Instance) -> (Browser<'_>, String) {
    let request_uri = person_request(instance).await;
    let mut browser = Browser::new(instance);
    let callback = callback_url(&mut browser, &request_uri).await;
    (browser, callback)
}

/// Follows from the authorization URL up to the provider's redirect to trustc's callback, and
/// returns that callback URL without opening it.
async fn callback_url(browser: &mut Browser<'_>, request_uri: &str) -> String {
    let mut url = authorize_url(request_uri);
    for _ in 0..20 {
        let hop = browser.get(&url).await;
        let next = hop
            .location
            .unwrap_or_else(|| panic!("a redirect: {}", hop.body));
        if next.starts_with(&format!("{PUBLIC_URL}/login/callback")) {
            return next;
        }
        url = next;
    }
    panic!("no callback");
}

#[tokio::test]
async fn the_callback_belongs_to_the_browser_and_state_that_started_the_login_once() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    // An offer of the back end's, so that the audit shows what happened to its login.
    let offer = admin_offer(&instance, json!({"credential": "person"})).await;
    let id = offer["id"].as_str().unwrap();
    let code_challenge = challenge(VERIFIER);
    let mut fields = wallet_request("person", &code_challenge);
    fields.push(("issuer_state", id));
    let request_uri = par(&instance, &fields).await;
    let mut browser = Browser::new(&instance);
    let callback = callback_url(&mut browser, &request_uri).await;

    // Another browser (no login cookie) cannot finish it.
    let elsewhere = Browser::new(&instance).get(&callback).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    assert!(
        elsewhere.body.contains("another browser"),
        "{}",
        elsewhere.body
    );

    // Another `state` is not this login's.
    let state = query(&callback, "state").unwrap();
    let forged = callback.replace(&state, "forged-state");
    let hop = browser.get(&forged).await;
    assert_eq!(hop.status, 400, "{}", hop.body);
    assert!(hop.body.contains("state"), "{}", hop.body);

    // The real answer goes on to the wallet, once.
    let hop = browser.get(&callback).await;
    let back = hop.location.expect("back to the wallet");
    assert!(query(&back, "code").is_some(), "{back}");
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.body);

    // The forged and the replayed answers are in the audit, around the login.
    let logins = admin_show(&instance, id).await["logins"].clone();
    let outcomes: Vec<&str> = logins
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["refused", "logged_in", "refused"], "{logins:#}");
    assert!(
        logins[0]["reason"].as_str().unwrap().contains("`state`"),
        "{logins:#}"
    );
}

#[tokio::test]
async fn id_tokens_wrong_in_any_way_are_refused_and_nothing_is_issued() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    for (what, about) in [
        ("nonce", "nonce"),
        ("aud", "aud"),
        ("iss", "iss"),
        ("exp", "exp"),
        ("signature", "signature"),
        ("none", "alg"),
    ] {
        op.hook(&format!("/__test/tamper?what={what}"));
        let back = person_login(&instance).await;
        assert_eq!(
            query(&back, "error").as_deref(),
            Some("access_denied"),
            "{what}: {back}"
        );
        assert!(query(&back, "code").is_none());
        assert_eq!(query(&back, "state").as_deref(), Some("wallet-state-1"));
        assert_eq!(query(&back, "iss").as_deref(), Some(PUBLIC_URL));
        let description = query(&back, "error_description").unwrap_or_default();
        assert!(
            description.to_lowercase().contains(about),
            "{what}: the reason names `{about}`: {description}"
        );
    }
}

#[tokio::test]
async fn too_low_an_assurance_or_a_claim_missing_or_unfit_is_refused() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    for (account, about) in [
        ("bob", "assurance"),
        ("carol", "birthdate"),
        ("dave", "birthdate"),
    ] {
        op.next_login(account);
        let back = person_login(&instance).await;
        assert_eq!(
            query(&back, "error").as_deref(),
            Some("access_denied"),
            "{account}: {back}"
        );
        let description = query(&back, "error_description").unwrap_or_default();
        assert!(description.contains(about), "{account}: {description}");
    }
}

#[tokio::test]
async fn an_offer_for_a_subject_is_refused_to_anyone_else_and_the_audit_says_so() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    // The Person credential takes everything from the login: the back end names whom it is for.
    let offer = admin_offer(
        &instance,
        json!({"credential": "person", "subject": "alice"}),
    )
    .await;
    assert_eq!(offer["login_required"], true);
    let id = offer["id"].as_str().unwrap();
    let resolved = instance.resolve_offer(&offer).await;
    assert_eq!(resolved["grants"]["authorization_code"]["issuer_state"], id);

    let code_challenge = challenge(VERIFIER);
    let mut fields = wallet_request("person", &code_challenge);
    fields.push(("issuer_state", id));
    op.next_login("carol");
    let request_uri = par(&instance, &fields).await;
    let back = log_in(&instance, &request_uri).await;
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert!(
        query(&back, "error_description")
            .unwrap()
            .contains("someone else"),
        "{back}"
    );

    op.next_login("alice");
    let request_uri = par(&instance, &fields).await;
    let back = log_in(&instance, &request_uri).await;
    let code = query(&back, "code").expect("alice gets a code");
    let token = code_token(&instance, &code, VERIFIER).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());

    let shown = admin_show(&instance, id).await;
    assert_eq!(shown["state"], "redeemed");
    assert_eq!(shown["subject"], "alice");
    assert!(shown["logged_in_at"].is_i64());
    let logins = shown["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 2, "{shown:#}");
    assert_eq!(
        (logins[0]["outcome"].as_str(), logins[0]["subject"].as_str()),
        (Some("refused"), Some("carol"))
    );
    assert!(
        logins[0]["reason"]
            .as_str()
            .unwrap()
            .contains("someone else")
    );
    assert_eq!(
        (logins[1]["outcome"].as_str(), logins[1]["subject"].as_str()),
        (Some("logged_in"), Some("alice"))
    );
    // No claim values in the audit.
    assert!(!shown.to_string().contains("Anderson"), "{shown}");
}

#[tokio::test]
async fn a_slow_or_unreachable_provider_gets_a_page_that_tries_again() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    let (mut browser, callback) = person_login_to_callback(&instance).await;
    // The token request waits longer than trustc's 5 s.
    op.hook("/__test/slow?ms=6500&times=1");
    let hop = browser.get(&callback).await;
    assert_eq!(hop.status, 502, "{}", hop.body);
    assert!(hop.body.contains(r#"id="retry""#), "{}", hop.body);
    assert!(hop.body.contains("/login/retry"), "{}", hop.body);
    // Trying again signs in anew and reaches the wallet.
    let hop = browser.follow(&format!("{PUBLIC_URL}/login/retry")).await;
    let back = hop.location.expect("to the wallet");
    assert!(query(&back, "code").is_some(), "{back}");

    // A provider that is not there at all.
    drop(op);
    let request_uri = person_request(&instance).await;
    let hop = Browser::new(&instance)
        .get(&authorize_url(&request_uri))
        .await;
    // Discovery is cached; without it the page says the provider cannot be reached.
    assert!(
        hop.status == 502 || hop.location.is_some(),
        "{} {}",
        hop.status,
        hop.body
    );
}

#[tokio::test]
async fn the_web_journey_shows_the_offer_only_to_the_browser_that_signed_in() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    let mut browser = Browser::new(&instance);
    let page = browser
        .get(&format!("{PUBLIC_URL}/credentials/person"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"id="sign-in""#), "{}", page.body);
    assert!(
        page.body.contains("/credentials/person/login"),
        "{}",
        page.body
    );

    let hop = browser
        .follow(&format!("{PUBLIC_URL}/credentials/person/login"))
        .await;
    assert_eq!(hop.status, 200, "{}", hop.body);
    assert!(
        hop.url.starts_with(&format!("{PUBLIC_URL}/offers/")),
        "{}",
        hop.url
    );
    let link = between(&hop.body, r#"id="offer-link" href=""#, "\"").replace("&amp;", "&");
    let offer_uri = query(&link, "credential_offer_uri").expect("an offer by reference");
    assert!(offer_uri.contains("unlock="), "{offer_uri}");
    // The example's Person credential has no transaction code: the login authenticates.
    assert!(!hop.body.contains(r#"id="tx-code""#), "no transaction code");

    // The plain address asks whoever opens it to sign in; the page's unlocks the code.
    let plain = offer_uri.split('?').next().unwrap();
    let locked = instance
        .get(plain.strip_prefix(PUBLIC_URL).unwrap())
        .await
        .json();
    assert!(
        locked["grants"]["authorization_code"]["issuer_state"].is_string(),
        "{locked}"
    );
    let unlocked = instance
        .get(offer_uri.strip_prefix(PUBLIC_URL).unwrap())
        .await
        .json();
    let code = super::pre_authorized_code(&unlocked);
    let token = instance.token(&code, None).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let access_token = token.json()["access_token"].as_str().unwrap().to_owned();
    let credential = collect(&instance, &access_token, "person").await;
    assert_eq!(credential.disclosed["given_names"], "Alice");

    // Another browser opening the offer's page is asked to sign in.
    let offer_page = hop.url.clone();
    let other = Browser::new(&instance).get(&offer_page).await;
    assert!(
        other.body.contains(r#"id="sign-in""#) || other.status == 404,
        "{}",
        other.body
    );
}

#[tokio::test]
async fn the_authorization_challenge_sends_a_login_credential_to_the_browser() {
    let Some(op) = Op::start("serve::login") else {
        return;
    };
    let instance = issuer_for(&op).await;
    let code_challenge = challenge(VERIFIER);
    let reply = instance
        .post_form(
            "/authorize-challenge",
            &[
                ("client_id", WALLET_CLIENT),
                ("scope", "person"),
                ("redirect_uri", WALLET_REDIRECT),
                ("code_challenge", &code_challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "redirect_to_web");
    let request_uri = body["request_uri"].as_str().unwrap();
    let back = log_in(&instance, request_uri).await;
    assert!(query(&back, "code").is_some(), "{back}");
}

/// The text between `start` and the next `end`.
fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` in {text}"))
        + start.len();
    let to = text[from..].find(end).expect("the end") + from;
    text[from..to].to_owned()
}
