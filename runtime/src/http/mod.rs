//! The HTTP surface: the wallet-facing OpenID4VCI endpoints ([`oid4vci`]), the OpenID4VP
//! verifier's ([`presentation`]), the login's ([`login`]: the authorization endpoint, the
//! provider's callback, the web journey's sign-in), the holder's web pages ([`pages`]), the issuer back
//! end's admin API ([`admin`]), metadata, status lists and health, and the connection loop
//! ([`server`]). Handlers are thin: they read the wire into a request of [`crate::domain`], call
//! it, and map its refusals to the error bodies the specifications name ([`errors`]). Nothing
//! here decides what may be issued, and nothing here reaches the store but through the domain.

pub mod admin;
pub mod client;
pub mod errors;
pub mod login;
pub mod oid4vci;
pub mod pages;
pub mod presentation;
pub mod server;
pub mod trace;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use crate::compiled::{
    AUTHORIZATION_CHALLENGE_PATH, CREDENTIAL_OFFERS_PATH, CREDENTIAL_PATH, NONCE_PATH,
    STATUS_LISTS_PATH, TOKEN_PATH,
};
use crate::domain::Issuer;
use crate::domain::journey::HOLDER_PAGES_PATH;
use crate::domain::login::{
    AUTHORIZE_PATH, CREDENTIAL_PAGES_PATH, LOGIN_CALLBACK_PATH, LOGIN_JWKS_PATH, LOGIN_RETRY_PATH,
    PAR_PATH,
};
use crate::domain::presentation::{MAX_RESPONSE_BYTES, PRESENTATIONS_PATH};
use crate::identity;
use crate::limits::RateLimits;

/// The body limit of most requests (the admin API's offers included): larger ones are refused
/// (413) before they are read.
const BODY_LIMIT: usize = 64 * 1024;
/// The body limit of the wallet's form posts (token, pushed authorization and authorization
/// challenge requests): a few codes, a PKCE verifier, a redirect URI, authorization details.
const FORM_BODY_LIMIT: usize = 16 * 1024;
/// The body limit of a credential request: room for a batch of key proofs (the most a request
/// may hold, [`oid4vci::MAX_PROOFS_PER_REQUEST`], of a few KiB each).
const CREDENTIAL_BODY_LIMIT: usize = 256 * 1024;
/// The limit of a wallet's presentation response: twice what the verifier reads of a
/// `vp_token`, so that a larger one is refused by the verifier (and audited), not cut off here.
const RESPONSE_BODY_LIMIT: usize = 2 * MAX_RESPONSE_BYTES;
/// The most header fields a request may carry (a browser sends about 20, a wallet fewer); more
/// are refused with 431 and a problem body.
pub const MAX_HEADERS: usize = 64;

/// The OpenAPI 3.1 description of the runtime's HTTP API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// The runtime's routes. The credential issuer identifier's path (if any) prefixes every route;
/// the well-known documents are served with that path inserted after `/.well-known/<name>` as
/// OpenID4VCI 1.0 and RFC 8414 require, and also below the prefix for draft-13 wallets.
pub fn router(issuer: Arc<Issuer>) -> Router {
    let prefix = url_path(&issuer.settings.public_url);
    let request_timeout = issuer.settings.request_timeout;
    let admin = Router::new()
        .route("/admin/offers", post(admin::create_offer))
        .route("/admin/offers/{id}", get(admin::show_offer))
        .route("/admin/offers/{id}/revoke", post(admin::revoke_offer))
        .route_layer(middleware::from_fn_with_state(
            issuer.clone(),
            admin::require_admin_token,
        ));
    let well_known = Router::new()
        .route(
            "/.well-known/openid-credential-issuer",
            get(oid4vci::issuer_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oid4vci::authorization_server_metadata),
        )
        .route("/.well-known/jwt-vc-issuer", get(oid4vci::jwt_vc_issuer));
    let api = Router::new()
        .route(TOKEN_PATH, post(oid4vci::token))
        .route(NONCE_PATH, post(oid4vci::nonce))
        .route(CREDENTIAL_PATH, post(oid4vci::credential))
        .route(
            &format!("{CREDENTIAL_OFFERS_PATH}/{{id}}"),
            get(oid4vci::credential_offer),
        )
        .route(
            &format!("{STATUS_LISTS_PATH}/{{id}}"),
            get(oid4vci::status_list),
        )
        .route(
            AUTHORIZATION_CHALLENGE_PATH,
            post(presentation::authorization_challenge),
        )
        .route(
            &format!("{PRESENTATIONS_PATH}/{{id}}/request"),
            get(presentation::request_object).post(presentation::request_object),
        )
        .route(
            &format!("{HOLDER_PAGES_PATH}/{{id}}"),
            get(pages::holder_page).post(pages::try_again),
        )
        .route(
            &format!("{HOLDER_PAGES_PATH}/{{id}}/login"),
            get(login::offer_login),
        )
        .route(PAR_PATH, post(login::pushed_authorization_request))
        .route(AUTHORIZE_PATH, get(login::authorize))
        .route(LOGIN_CALLBACK_PATH, get(login::callback))
        .route(LOGIN_RETRY_PATH, get(login::retry))
        .route(LOGIN_JWKS_PATH, get(login::jwks))
        .route(
            &format!("{CREDENTIAL_PAGES_PATH}/{{credential}}"),
            get(login::credential_page),
        )
        .route(
            &format!("{CREDENTIAL_PAGES_PATH}/{{credential}}/login"),
            get(login::credential_login),
        )
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(admin)
        .merge(well_known.clone())
        // A wallet's response carries whole credentials: a larger body limit of its own
        // ([`body_limit`]), and the verifier's own limit on the `vp_token` below it, refused
        // with an audit record.
        .route(
            &format!("{PRESENTATIONS_PATH}/{{id}}/response"),
            post(presentation::response),
        );
    let mut app = if prefix.is_empty() {
        api
    } else {
        let mut inserted = Router::new();
        for name in [
            "openid-credential-issuer",
            "oauth-authorization-server",
            "jwt-vc-issuer",
        ] {
            let handler = match name {
                "openid-credential-issuer" => get(oid4vci::issuer_metadata),
                "oauth-authorization-server" => get(oid4vci::authorization_server_metadata),
                _ => get(oid4vci::jwt_vc_issuer),
            };
            inserted = inserted.route(&format!("/.well-known/{name}{prefix}"), handler);
        }
        Router::new().nest(&prefix, api).merge(inserted)
    };
    // The DID document of a `did:web` issuer: at the host's `/.well-known/did.json` (answered 404
    // by an issuer that signs as no such DID), or at `/<path>/did.json` for a DID with a path.
    let documents = issuer.did_documents();
    let root = documents
        .iter()
        .find(|(path, _)| path == identity::ROOT_DID_PATH)
        .map(|(_, document)| bytes::Bytes::from(document.to_string()));
    app = app.route(
        identity::ROOT_DID_PATH,
        get(move || did_document(root.clone())),
    );
    for (path, document) in documents {
        if path != identity::ROOT_DID_PATH {
            let document = Some(bytes::Bytes::from(document.to_string()));
            app = app.route(&path, get(move || did_document(document.clone())));
        }
    }
    let limits = Arc::new(RateLimits::new(&issuer.settings.limits));
    app = app
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(prefix.clone(), limit_body))
        .layer(middleware::from_fn(limit_headers))
        .layer(axum::Extension(limits))
        // A request whose body trickles in (or whose answer cannot be had) in time: 408.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::map_response_with_state(
            request_timeout,
            plain_errors_as_problems,
        ))
        .layer(trace::layer());
    app.with_state(issuer)
}

/// The path of a URL without its trailing `/` (`https://h/lsbc` → `/lsbc`, `https://h` → ``).
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(i) => after_scheme[i..].trim_end_matches('/').to_string(),
        None => String::new(),
    }
}

async fn health(axum::extract::State(issuer): axum::extract::State<Arc<Issuer>>) -> Response {
    let health = issuer.health().await;
    match health.reachable {
        Ok(()) => axum::Json(json!({
            "status": "ok",
            "database": health.database,
            "configuration": health.configuration,
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable", "database": health.database})),
            )
                .into_response()
        }
    }
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

/// A 413 in plain text (a handler's body extractor, should one run over its own limit), the
/// timeout 408 with no body at all: every error of this API is JSON.
async fn plain_errors_as_problems(
    axum::extract::State(request_timeout): axum::extract::State<std::time::Duration>,
    response: Response,
) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes() == b"application/problem+json");
    match response.status() {
        _ if is_problem => response,
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => errors::Problem::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            "the request body is larger than this endpoint reads",
        )
        .into_response(),
        axum::http::StatusCode::REQUEST_TIMEOUT => errors::Problem::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "Request timeout",
            format!(
                "the request was not received and answered within {} s",
                request_timeout.as_secs_f64()
            ),
        )
        .into_response(),
        _ => response,
    }
}

/// The body limit of the endpoint at `path` (below the issuer's path) and what it is called.
fn body_limit(path: &str) -> (usize, &'static str) {
    if path == CREDENTIAL_PATH {
        (CREDENTIAL_BODY_LIMIT, "a credential request")
    } else if [TOKEN_PATH, PAR_PATH, AUTHORIZATION_CHALLENGE_PATH].contains(&path) {
        (FORM_BODY_LIMIT, "a token or authorization request")
    } else if path.starts_with(PRESENTATIONS_PATH) && path.ends_with("/response") {
        (RESPONSE_BODY_LIMIT, "a presentation response")
    } else {
        (BODY_LIMIT, "a request to this endpoint")
    }
}

/// Reads a request's body up to its endpoint's limit ([`body_limit`]), or answers 413 with a
/// problem naming the limit: at once when `Content-Length` says it is larger, else as soon as
/// more arrived. Handlers then take the body whole.
async fn limit_body(
    axum::extract::State(prefix): axum::extract::State<String>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let path = request.uri().path();
    let (limit, what) = body_limit(path.strip_prefix(prefix.as_str()).unwrap_or(path));
    let too_large = || {
        errors::Problem::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!(
                "{what} is limited to {} KiB; this one is larger",
                limit / 1024
            ),
        )
        .into_response()
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Err(error) if is_length_limit(&error) => too_large(),
        // The client went away or sent a broken body: nobody reads this answer.
        Err(error) => {
            errors::Problem::bad_request(format!("the request body could not be read: {error}"))
                .into_response()
        }
    }
}

/// Whether reading a body failed on its length limit (this one's, or the backstop's).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Refuses a request with more than [`MAX_HEADERS`] header fields: 431 with a problem body.
async fn limit_headers(request: axum::extract::Request, next: middleware::Next) -> Response {
    let count = request.headers().len();
    if count > MAX_HEADERS {
        return errors::Problem::new(
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request-header-fields-too-large",
            "Too many header fields",
            format!(
                "a request may carry at most {MAX_HEADERS} header fields; this one has {count}"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// The address of the client that sent a request, for the limits per address: the last value of
/// the header the operator named (`--client-address-header`, set by their reverse proxy) when
/// the request has it, else the TCP peer's IP address; as [`crate::limits::client_key`] counts
/// it (an IPv6 address by its /64). `None` when neither is known (a router
/// driven without a socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub Option<String>);

impl axum::extract::FromRequestParts<Arc<Issuer>> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        issuer: &Arc<Issuer>,
    ) -> Result<Self, Self::Rejection> {
        let from_header = issuer
            .settings
            .limits
            .client_address_header
            .as_deref()
            .and_then(|name| parts.headers.get_all(name).iter().next_back())
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(crate::limits::client_key);
        let peer = || {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| crate::limits::client_key(&info.0.ip().to_string()))
        };
        Ok(ClientAddress(from_header.or_else(peer)))
    }
}

async fn did_document(document: Option<bytes::Bytes>) -> Response {
    match document {
        Some(document) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/did+json"),
            )],
            document,
        )
            .into_response(),
        None => errors::Problem::not_found(
            "this issuer does not sign as a did:web (start it with --participant for a \
             participant whose identifier in this environment is one)",
        )
        .into_response(),
    }
}

async fn not_found(uri: axum::http::Uri) -> errors::Problem {
    errors::Problem::not_found(format!("nothing is served at `{}`", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> errors::Problem {
    errors::Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("`{}` does not answer {method}", uri.path()),
    )
}

/// A `Cache-Control: no-store` JSON answer.
pub fn no_store_json(value: serde_json::Value) -> Response {
    no_store(axum::Json(value).into_response())
}

/// `response` with `Cache-Control: no-store` (it carries a secret or a single-use value).
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
