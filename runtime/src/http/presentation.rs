//! The wallet-facing endpoints of presentation during issuance: the authorization challenge
//! endpoint (OAuth 2.0 first-party apps, as `@openid4vc/openid4vci` 0.4.6 and Credo use it), the
//! OpenID4VP request objects (by reference, GET or POST) and the response endpoint
//! (`direct_post`, `direct_post.jwt`). [`crate::domain::presentation`] decides everything; this
//! module reads the forms and writes the answers the specifications name.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::OAuthError;
use super::no_store_json;
use super::oid4vci::read_form;
use crate::domain::Issuer;
use crate::domain::presentation::{
    Challenge, ChallengeError, ChallengeRequest, RequestObjectError, ResponseError, ResponseForm,
};

/// `POST /authorize-challenge`: the first call answers `insufficient_authorization` with the
/// OpenID4VP request; the second, after the presentation, the authorization code.
pub async fn authorization_challenge(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = read_form(&headers, &body, "the authorization challenge request")?;
    let field = |name: &str| form.get(name).map(str::to_owned);
    let request = ChallengeRequest {
        issuer_state: field("issuer_state"),
        client_id: field("client_id"),
        scope: field("scope"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
        redirect_uri: field("redirect_uri"),
        auth_session: field("auth_session"),
        presentation_during_issuance_session: field("presentation_during_issuance_session"),
        state: field("state"),
        resource: field("resource"),
        dpop_jkt: field("dpop_jkt"),
    };
    match issuer.challenge(request).await {
        Ok(Challenge::PresentationRequired {
            auth_session,
            presentation,
        }) => {
            // FiPA answers the challenge with an error object; `@openid4vc` 0.4.6 and Credo
            // take any non-2xx status, and their own tests use 400.
            let body = json!({
                "error": "insufficient_authorization",
                "error_description": "present the credentials the governance requires first",
                "auth_session": auth_session,
                "presentation": presentation,
            });
            let mut response = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Ok(Challenge::Authorized { authorization_code }) => Ok(no_store_json(
            json!({"authorization_code": authorization_code}),
        )),
        Ok(Challenge::RedirectToWeb {
            request_uri,
            expires_in,
        }) => {
            // The credential needs a login, which happens in a browser: the wallet opens the
            // authorization endpoint with this pushed request (FiPA `redirect_to_web`).
            let body = json!({
                "error": "redirect_to_web",
                "error_description": "the holder signs in with the governance's provider in a browser",
                "request_uri": request_uri,
                "expires_in": expires_in,
            });
            let mut response = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(ChallengeError::InvalidRequest(why)) => {
            Err(OAuthError::bad_request("invalid_request", why))
        }
        Err(ChallengeError::InvalidSession(why)) => {
            Err(OAuthError::bad_request("invalid_session", why))
        }
        Err(e @ ChallengeError::TooManyRequests { retry_after }) => {
            Err(OAuthError::too_many_requests(
                std::time::Duration::from_secs(retry_after.max(1) as u64),
                e,
            ))
        }
        Err(ChallengeError::Internal(cause)) => Err(OAuthError::internal(cause)),
    }
}

/// `GET`/`POST /presentations/{id}/request`: the signed request object
/// (`application/oauth-authz-req+jwt`). A POST's `wallet_nonce` is echoed; the rest of its form
/// (the wallet's metadata) is not needed.
pub async fn request_object(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let wallet_nonce = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "wallet_nonce")
        .map(|(_, v)| v.into_owned());
    match issuer.request_object(&id, wallet_nonce.as_deref()).await {
        Ok(jwt) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/oauth-authz-req+jwt"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            jwt,
        )
            .into_response()),
        Err(RequestObjectError::NotFound) => Err(OAuthError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_uri",
            "no pending presentation request has this id (unknown, answered or expired)",
        )),
        Err(RequestObjectError::Internal(cause)) => Err(OAuthError::internal(cause)),
    }
}

/// `POST /presentations/{id}/response`: the wallet's response (OpenID4VP 1.0 §8.2). On success
/// 200 with a JSON object (`presentation_during_issuance_session` for presentation during
/// issuance, `redirect_uri` back to the holder's page for its requests); refusals as OpenID4VP
/// error objects.
pub async fn response(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = read_form(&headers, &body, "the authorization response")?;
    let state = form.get("state").map(str::to_owned);
    let received = if let Some(error) = form.get("error") {
        ResponseForm::WalletError {
            error: error.to_owned(),
            description: form.get("error_description").map(str::to_owned),
            state,
        }
    } else if let Some(response) = form.get("response") {
        ResponseForm::Encrypted {
            response: response.to_owned(),
        }
    } else if let Some(vp_token) = form.get("vp_token") {
        ResponseForm::Plain {
            vp_token: vp_token.to_owned(),
            state,
        }
    } else {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "the response has neither `vp_token` (direct_post) nor `response` (direct_post.jwt)",
        ));
    };
    match issuer.receive_response(&id, received).await {
        Ok(accepted) => {
            let mut body = serde_json::Map::new();
            if let Some(session) = accepted.presentation_during_issuance_session {
                body.insert(
                    "presentation_during_issuance_session".into(),
                    session.into(),
                );
            }
            if let Some(redirect_uri) = accepted.redirect_uri {
                body.insert("redirect_uri".into(), redirect_uri.into());
            }
            Ok(no_store_json(serde_json::Value::Object(body)))
        }
        Err(e) => {
            let description = e.to_string();
            Err(match e {
                ResponseError::UnknownRequest
                | ResponseError::AlreadyAnswered
                | ResponseError::Expired
                | ResponseError::InvalidRequest(_) => {
                    OAuthError::bad_request("invalid_request", description)
                }
                ResponseError::Refused(_) => OAuthError::bad_request("access_denied", description),
                ResponseError::Internal(cause) => OAuthError::internal(cause),
            })
        }
    }
}
