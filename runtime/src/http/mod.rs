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
use tower_http::limit::RequestBodyLimitLayer;
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

/// Requests larger than this are refused (413) before they are read.
const BODY_LIMIT: usize = 64 * 1024;
/// The limit of a wallet's presentation response: twice what the verifier reads of a
/// `vp_token`, so that a larger one is refused by the verifier (and audited), not cut off here.
const RESPONSE_BODY_LIMIT: usize = 2 * MAX_RESPONSE_BYTES;

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
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // A wallet's response carries whole credentials: a larger limit of its own, and the
        // verifier's own limit on the `vp_token` below it, refused with an audit record.
        .merge(
            Router::new()
                .route(
                    &format!("{PRESENTATIONS_PATH}/{{id}}/response"),
                    post(presentation::response),
                )
                .layer(RequestBodyLimitLayer::new(RESPONSE_BODY_LIMIT)),
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
    app = app
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(RequestBodyLimitLayer::new(RESPONSE_BODY_LIMIT))
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

/// The body limit answers 413 in plain text (from the limit layer, or from a handler's body
/// extractor when a body without `Content-Length` runs over), the timeout 408 with no body at
/// all; every error of this API is JSON.
async fn plain_errors_as_problems(
    axum::extract::State(request_timeout): axum::extract::State<std::time::Duration>,
    response: Response,
) -> Response {
    match response.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => errors::Problem::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!("request bodies are limited to {} KiB", BODY_LIMIT / 1024),
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
