//! The two error shapes of the runtime: OAuth/OpenID4VCI error objects (`{"error",
//! "error_description"}`, RFC 6749 §5.2, RFC 6750 §3, OpenID4VCI §8.3.1) on the wallet-facing
//! endpoints, and RFC 9457 problem details on the admin API, the offer and status-list endpoints.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::claims::ClaimProblem;
use crate::domain::Internal;

/// How long a client is asked to wait (`Retry-After`) when the database is unavailable: about
/// what a PostgreSQL restart or fail-over takes.
pub const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// An OAuth-style error answer.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// When to ask again (`Retry-After`, in whole seconds), on 429 and 503.
    pub retry_after: Option<Duration>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 503 `temporarily_unavailable` (RFC 6749 §4.1.2.1) with `Retry-After`, after logging the
    /// cause at warn (the wallet does not see it): the issuer's database cannot be reached, and
    /// the same request may succeed once it can.
    pub fn unavailable(retry_after: Duration, cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "request failed: the database is unavailable");
        OAuthError {
            retry_after: Some(retry_after),
            ..OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                format!(
                    "the issuer cannot reach its database; try again in {} s",
                    retry_after_seconds(retry_after)
                ),
            )
        }
    }

    /// The answer to a failure of the issuer's own: [`OAuthError::unavailable`] for an outage of
    /// the database, [`OAuthError::server`] for anything else.
    pub fn internal(cause: Internal) -> Self {
        if cause.is_unavailable() {
            OAuthError::unavailable(STORE_RETRY_AFTER, cause)
        } else {
            OAuthError::server(cause)
        }
    }

    /// 429 `too_many_requests` (RFC 6585 §4) with `Retry-After` (RFC 9110 §10.2.3): the
    /// description says what was limited, and the answer when to try again.
    pub fn too_many_requests(retry_after: Duration, description: impl std::fmt::Display) -> Self {
        let mut error = OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "{description}; try again in {} s",
                retry_after_seconds(retry_after)
            ),
        );
        error.retry_after = Some(retry_after);
        error
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
        set_retry_after(headers, self.retry_after);
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
    /// When to ask again (`Retry-After`, in whole seconds), on 429 and 503.
    pub retry_after: Option<Duration>,
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
            retry_after: None,
        }
    }

    /// 429 `too-many-requests` (RFC 6585 §4) with `Retry-After`: the detail says what was
    /// limited, and when to try again.
    pub fn too_many_requests(retry_after: Duration, detail: impl std::fmt::Display) -> Self {
        let mut problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
            format!(
                "{detail}; try again in {} s",
                retry_after_seconds(retry_after)
            ),
        );
        problem.retry_after = Some(retry_after);
        problem
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

    /// 503 `service-unavailable` with `Retry-After`, after logging the cause at warn: the
    /// issuer's database cannot be reached, and the same request may succeed once it can.
    pub fn unavailable(retry_after: Duration, cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "request failed: the database is unavailable");
        Problem {
            retry_after: Some(retry_after),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service-unavailable",
                "Service unavailable",
                format!(
                    "the issuer cannot reach its database; try again in {} s",
                    retry_after_seconds(retry_after)
                ),
            )
        }
    }

    /// [`Problem::unavailable`] for an outage of the database, [`Problem::server`] otherwise.
    pub fn internal(cause: Internal) -> Self {
        if cause.is_unavailable() {
            Problem::unavailable(STORE_RETRY_AFTER, cause)
        } else {
            Problem::server(cause)
        }
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
        set_retry_after(headers, self.retry_after);
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"trustc-admin\""),
            );
        }
        response
    }
}

/// `Retry-After` in whole seconds, at least 1 (a fraction is rounded up: never "0").
pub fn retry_after_seconds(retry_after: Duration) -> u64 {
    retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
        .max(1)
}

/// `Retry-After: <seconds>` (RFC 9110 §10.2.3), at least one second, when `retry_after` is set.
pub fn set_retry_after(headers: &mut HeaderMap, retry_after: Option<Duration>) {
    if let Some(retry_after) = retry_after {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after_seconds(retry_after)),
        );
    }
}
