//! The endpoints of the login: the wallet's pushed authorization request (`POST /par`) and
//! authorization endpoint (`GET /authorize`), the provider's redirect back
//! (`GET /login/callback`), a retry when the provider could not be reached, trustc's encryption
//! keys for providers that encrypt (`GET /login/jwks`), and the web journey's sign-in buttons
//! (`/credentials/{credential}`, `/credentials/{credential}/login`, `/offers/{id}/login`).
//! [`crate::domain::login`] decides everything; this module reads the requests, sets and reads
//! the login cookie, and writes redirects, OAuth error objects and pages.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::{OAuthError, STORE_RETRY_AFTER, set_retry_after};
use super::oid4vci::read_form;
use super::pages::{self, LOGIN_COOKIE, LoginProblem};
use crate::domain::login::authorize::{
    AuthorizationParams, AuthorizeError, LoginRedirect, RequestError,
};
use crate::domain::login::callback::{AfterLogin, CallbackError, CallbackParams};
use crate::domain::login::{LOGIN_RETRY_PATH, PAR_PATH};
use crate::domain::redemption::{DpopRefusal, DpopRequest};
use crate::domain::{Internal, Issuer};

/// The authorization request parameters of a form or query.
fn authorization_params(field: impl Fn(&str) -> Option<String>) -> AuthorizationParams {
    AuthorizationParams {
        response_type: field("response_type"),
        client_id: field("client_id"),
        redirect_uri: field("redirect_uri"),
        scope: field("scope"),
        issuer_state: field("issuer_state"),
        state: field("state"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
        resource: field("resource"),
        authorization_details: field("authorization_details"),
        request_uri: field("request_uri"),
        dpop_jkt: field("dpop_jkt"),
    }
}

/// A query string's parameters (the first of each name).
fn query_field(query: &Option<String>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| {
        url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// `POST /par` (RFC 9126): 201 with the `request_uri`.
pub async fn pushed_authorization_request(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = read_form(&headers, &body, "the pushed authorization request")?;
    let mut params = authorization_params(|name| form.get(name).map(str::to_owned));
    // A DPoP proof with the request binds the tokens to its key (RFC 9449 §10.1), as `dpop_jkt`
    // does; the two must agree.
    let invalid_proof = |why: String| OAuthError::bad_request("invalid_dpop_proof", why);
    if let Some(proof) = super::oid4vci::dpop_header(&headers).map_err(invalid_proof)? {
        let proven = issuer
            .accept_dpop_proof(DpopRequest {
                proof,
                method: "POST",
                path: PAR_PATH,
                access_token: None,
            })
            .await
            .map_err(|e| match e {
                DpopRefusal::Internal(cause) => OAuthError::internal(cause),
                refused => invalid_proof(refused.to_string()),
            })?;
        if params
            .dpop_jkt
            .as_deref()
            .is_some_and(|jkt| jkt != proven.jkt)
        {
            return Err(invalid_proof(
                "`dpop_jkt` is not the thumbprint of the DPoP proof's key".into(),
            ));
        }
        params.dpop_jkt = Some(proven.jkt);
    }
    match issuer.push_authorization(params).await {
        Ok(pushed) => {
            let mut response = (
                StatusCode::CREATED,
                axum::Json(json!({
                    "request_uri": pushed.request_uri,
                    "expires_in": pushed.expires_in,
                })),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(RequestError::Internal(cause)) => Err(OAuthError::internal(cause)),
        Err(refused) => Err(OAuthError::bad_request(refused.code(), refused.to_string())),
    }
}

/// `GET /authorize`: to the provider, with the login cookie set.
pub async fn authorize(
    State(issuer): State<Arc<Issuer>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = authorization_params(query_field(&query));
    let result = issuer.authorization_endpoint(params).await;
    let retry = match &query {
        Some(query) => format!("{}?{query}", issuer.authorize_url()),
        None => issuer.authorize_url(),
    };
    to_provider(&issuer, &headers, None, result, &retry)
}

/// `GET /credentials/{credential}`: the web journey's first page.
pub async fn credential_page(
    State(issuer): State<Arc<Issuer>>,
    Path(credential): Path<String>,
    headers: HeaderMap,
) -> Response {
    let provider = issuer
        .self_service(&credential)
        .map(|(_, provider)| provider.to_owned());
    match provider {
        Some(provider) => {
            let sign_in = issuer.url(&format!(
                "{}/{credential}/login",
                crate::domain::login::CREDENTIAL_PAGES_PATH
            ));
            pages::credential_page(&issuer, &headers, &credential, &provider, &sign_in)
        }
        None => pages::not_found_page(&issuer, &headers),
    }
}

/// `GET /credentials/{credential}/login`: the web journey's sign-in of a credential type.
pub async fn credential_login(
    State(issuer): State<Arc<Issuer>>,
    Path(credential): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = issuer.start_credential_login(&credential).await;
    let retry = issuer.url(&format!(
        "{}/{credential}/login",
        crate::domain::login::CREDENTIAL_PAGES_PATH
    ));
    to_provider(&issuer, &headers, Some(&credential), result, &retry)
}

/// `GET /offers/{id}/login`: the holder page's sign-in of an offer.
pub async fn offer_login(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = issuer.start_offer_login(&id).await;
    let retry = issuer.url(&format!("{}/login", issuer.holder_page_path(&id)));
    to_provider(&issuer, &headers, None, result, &retry)
}

/// `GET /login/retry`: the same login again, after the provider could not be reached.
pub async fn retry(State(issuer): State<Arc<Issuer>>, headers: HeaderMap) -> Response {
    let binding = pages::cookie(&headers, LOGIN_COOKIE);
    let result = issuer.retry_login(binding.as_deref()).await;
    let retry = issuer.url(LOGIN_RETRY_PATH);
    to_provider(&issuer, &headers, None, result, &retry)
}

/// The redirect to the provider with the login cookie, or the page (or the wallet's redirect)
/// that says why not.
fn to_provider(
    issuer: &Issuer,
    headers: &HeaderMap,
    credential: Option<&str>,
    result: Result<LoginRedirect, AuthorizeError>,
    retry: &str,
) -> Response {
    match result {
        Ok(login) => {
            let mut response = pages::redirect(&login.provider_url);
            response.headers_mut().append(
                header::SET_COOKIE,
                pages::set_login_cookie(issuer, &login.binding, login.binding_expires_at),
            );
            response
        }
        Err(AuthorizeError::Redirect(url)) => pages::redirect(&url),
        Err(AuthorizeError::Page(why)) => pages::login_problem(
            issuer,
            headers,
            credential,
            LoginProblem::NoSession(&why),
            StatusCode::BAD_REQUEST,
        ),
        Err(AuthorizeError::ProviderUnavailable(why)) => {
            tracing::warn!(%why, "the login provider could not be reached");
            pages::login_problem(
                issuer,
                headers,
                credential,
                LoginProblem::Unavailable {
                    retry,
                    reason: Some(&why),
                },
                StatusCode::BAD_GATEWAY,
            )
        }
        Err(AuthorizeError::NotFound) => pages::not_found_page(issuer, headers),
        Err(AuthorizeError::Internal(cause)) => {
            let status = internal_status(&cause, "a login could not start");
            retry_later(pages::login_problem(
                issuer,
                headers,
                credential,
                LoginProblem::Unavailable {
                    retry,
                    reason: None,
                },
                status,
            ))
        }
    }
}

/// `GET /login/callback`: the provider's answer.
pub async fn callback(
    State(issuer): State<Arc<Issuer>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let field = query_field(&query);
    let params = CallbackParams {
        code: field("code"),
        state: field("state"),
        iss: field("iss"),
        error: field("error"),
        error_description: field("error_description"),
    };
    let binding = pages::cookie(&headers, LOGIN_COOKIE);
    let outcome = issuer.login_callback(binding.as_deref(), params).await;
    // The page of a login that could not go on wears the credential's branding.
    let credential = match &outcome {
        Err(_) => issuer.login_credential(binding.as_deref()).await,
        Ok(_) => None,
    };
    let credential = credential.as_deref();
    match outcome {
        Ok(AfterLogin::Wallet(url)) => pages::redirect(&url),
        Ok(AfterLogin::HolderPage { offer_id }) => {
            pages::redirect(&issuer.url(&issuer.holder_page_path(&offer_id)))
        }
        Err(CallbackError::NoLogin(why)) => pages::login_problem(
            &issuer,
            &headers,
            credential,
            LoginProblem::NoSession(&why),
            StatusCode::BAD_REQUEST,
        ),
        Err(CallbackError::Unreachable(why)) => pages::login_problem(
            &issuer,
            &headers,
            credential,
            LoginProblem::Unavailable {
                retry: &issuer.url(LOGIN_RETRY_PATH),
                reason: Some(&why),
            },
            StatusCode::BAD_GATEWAY,
        ),
        Err(CallbackError::Refused {
            wallet_redirect: Some(url),
            ..
        }) => pages::redirect(&url),
        Err(CallbackError::Refused { reason, .. }) => pages::login_problem(
            &issuer,
            &headers,
            credential,
            LoginProblem::Refused(&reason),
            StatusCode::FORBIDDEN,
        ),
        Err(CallbackError::Internal(cause)) => {
            let status = internal_status(&cause, "a login callback failed");
            retry_later(pages::login_problem(
                &issuer,
                &headers,
                credential,
                LoginProblem::Unavailable {
                    retry: &issuer.url(LOGIN_RETRY_PATH),
                    reason: None,
                },
                status,
            ))
        }
    }
}

/// The status of a page answering a failure of the issuer's own, after logging it: 503 for an
/// outage of the database (logged at warn), 500 otherwise.
fn internal_status(cause: &Internal, what: &str) -> StatusCode {
    if cause.is_unavailable() {
        tracing::warn!(%cause, "{what}: the database is unavailable");
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        tracing::error!(%cause, "{what}");
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// `Retry-After` on a 503 page.
fn retry_later(mut page: Response) -> Response {
    if page.status() == StatusCode::SERVICE_UNAVAILABLE {
        set_retry_after(page.headers_mut(), Some(STORE_RETRY_AFTER));
    }
    page
}

/// `GET /login/jwks`: the public keys providers encrypt ID tokens and userinfo to.
pub async fn jwks(State(issuer): State<Arc<Issuer>>) -> Response {
    let keys = issuer.login_encryption_jwks();
    let mut response = axum::Json(keys).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    response
}
