//! The two error shapes of the runtime: OAuth/OpenID4VCI error objects (`{"error",
//! "error_description"}`, RFC 6749 §5.2, RFC 6750 §3, OpenID4VCI §8.3.1) on the wallet-facing
//! endpoints, and RFC 9457 problem details on the admin API, the offer and status-list endpoints.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::claims::ClaimProblem;

/// An OAuth-style error answer.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    /// 400 with the given error code.
    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// 401 `invalid_token` (RFC 6750), with its `WWW-Authenticate` challenge.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// 500 `server_error`, after logging the cause (which the wallet does not see).
    pub fn server(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the issuer could not complete the request; try again later",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        tracing::debug!(error = self.error, description = %self.description, "refused");
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.error,
                self.description.replace(['"', '\\'], "'")
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// An RFC 9457 problem details answer (`application/problem+json`).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// A stable slug; the `type` is `urn:trustc:problem:<slug>`.
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The claims an offer was refused for.
    pub claims: Vec<ClaimProblem>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            kind,
            title,
            detail: detail.into(),
            claims: Vec::new(),
        }
    }

    /// The problem with the claims an offer was refused for.
    pub fn with_claims(mut self, claims: Vec<ClaimProblem>) -> Self {
        self.claims = claims;
        self
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
            detail,
        )
    }

    /// 500, after logging the cause (which the caller does not see).
    pub fn server(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server-error",
            "Internal error",
            "the issuer could not complete the request; see its log",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:trustc:problem:{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.claims.is_empty() {
            body["claims"] = json!(self.claims);
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"trustc-admin\""),
            );
        }
        response
    }
}
