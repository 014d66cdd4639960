//! The admin API for the issuer's own back end: create an offer for claims the back end vouches
//! for, show an offer's state, revoke what an offer issued ([`crate::domain::offers`] and
//! [`crate::domain::revocation`] decide). It sits behind the `TRUSTC_ADMIN_TOKEN` bearer token;
//! `openapi.json` documents it.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ClientAddress;
use super::errors::Problem;
use super::oid4vci::bearer_token;
use crate::domain::Issuer;
use crate::domain::offers::{Grant, LookupError, OfferError, OfferRequest, OfferStatus};
use crate::limits::{RateLimits, RetryAfter};

/// Refuses admin requests without the admin bearer token (unless the runtime runs with `--dev`
/// and no token, which leaves the admin API open). A client address that failed too often in a
/// window is refused (429) until the window ends, whatever token it sends.
pub async fn require_admin_token(
    State(issuer): State<Arc<Issuer>>,
    Extension(limits): Extension<Arc<RateLimits>>,
    ClientAddress(address): ClientAddress,
    request: Request,
    next: Next,
) -> Response {
    let now = issuer.clock.now();
    let failures = &limits.admin_failures_per_address;
    let too_many = |wait: RetryAfter| {
        Problem::too_many_requests(
            wait.duration(),
            format!(
                "too many failed admin authentications from this address (at most {})",
                failures.rate()
            ),
        )
        .into_response()
    };
    if let Some(address) = &address
        && let Err(wait) = failures.blocked(address, now)
    {
        return too_many(wait);
    }
    if !issuer.admits_admin(bearer_token(request.headers())) {
        if let Some(address) = &address
            && let Err(wait) = failures.check(address, now)
        {
            return too_many(wait);
        }
        return Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Admin token required",
            "send `Authorization: Bearer <TRUSTC_ADMIN_TOKEN>`",
        )
        .into_response();
    }
    next.run(request).await
}

/// `POST /admin/offers`.
pub async fn create_offer(
    State(issuer): State<Arc<Issuer>>,
    body: Bytes,
) -> Result<Response, Problem> {
    let offer = issuer
        .create_offer(offer_request(&body)?)
        .await
        .map_err(|e| {
            let detail = e.to_string();
            match e {
                OfferError::Internal(cause) => Problem::internal(cause),
                OfferError::Claims { problems, .. } => unprocessable(detail).with_claims(problems),
                OfferError::UnknownCredential { .. }
                | OfferError::TxCodeRequired { .. }
                | OfferError::PresentationRequired { .. }
                | OfferError::NothingToPresent { .. }
                | OfferError::LoginRequired { .. }
                | OfferError::SubjectWithoutLogin { .. } => unprocessable(detail),
            }
        })?;
    let body = json!({
        "id": offer.id,
        "credential_offer": offer.credential_offer(),
        "credential_offer_uri": offer.credential_offer_uri,
        "tx_code": offer.tx_code,
        "expires_at": offer.expires_at,
        "presentation_required": offer.presentation_required,
        "login_required": offer.login_required,
        "holder_page": issuer.holder_page_url(&offer.id),
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// The body of `POST /admin/offers`: `{"credential", "claims", "tx_code", "grant", "subject"}`.
fn offer_request(body: &[u8]) -> Result<OfferRequest, Problem> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the body is not JSON: {e}")))?;
    let Value::Object(request) = request else {
        return Err(Problem::bad_request(
            "the body must be a JSON object {\"credential\", \"claims\", \"tx_code\"}",
        ));
    };
    if let Some(unknown) = request.keys().find(|k| {
        !matches!(
            k.as_str(),
            "credential" | "claims" | "tx_code" | "grant" | "subject"
        )
    }) {
        return Err(Problem::bad_request(format!(
            "unknown field `{unknown}`; an offer has `credential`, `claims`, `tx_code`, `grant` \
             and `subject`"
        )));
    }
    let credential = match request.get("credential") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`credential` must be a credential type id (a string), not {other}"
            )));
        }
        None => return Err(Problem::bad_request("`credential` is missing")),
    };
    let claims = match request.get("claims") {
        Some(Value::Object(claims)) => claims.clone(),
        None => serde_json::Map::new(),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`claims` must be an object of claim values, not {other}"
            )));
        }
    };
    claims_within_limits(&claims)?;
    let tx_code = match request.get("tx_code") {
        Some(Value::Bool(b)) => Some(*b),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`tx_code` must be true or false, not {other}"
            )));
        }
    };
    let grant = match request.get("grant") {
        None | Some(Value::Null) => None,
        Some(Value::String(g)) if g == "pre-authorized_code" => Some(Grant::PreAuthorized),
        Some(Value::String(g)) if g == "presentation" => Some(Grant::Presentation),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`grant` must be \"pre-authorized_code\" or \"presentation\", not {other}"
            )));
        }
    };
    let subject = match request.get("subject") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`subject` must be the login provider's `sub` of the person the offer is for (a \
                 non-empty string), not {other}"
            )));
        }
    };
    Ok(OfferRequest {
        credential,
        claims,
        tx_code,
        grant,
        subject,
    })
}

/// The most claims one offer may hold (a governance's credential has a few dozen attributes).
pub const MAX_OFFER_CLAIMS: usize = 100;
/// The most bytes of one claim's value, as JSON: room for a text, or a portrait as base64.
pub const MAX_CLAIM_VALUE_BYTES: usize = 32 * 1024;

/// Refuses an offer's claims beyond [`MAX_OFFER_CLAIMS`] or with a value larger than
/// [`MAX_CLAIM_VALUE_BYTES`], before the governance is asked about them.
fn claims_within_limits(claims: &serde_json::Map<String, Value>) -> Result<(), Problem> {
    if claims.len() > MAX_OFFER_CLAIMS {
        return Err(Problem::bad_request(format!(
            "`claims` has {} claims; an offer holds at most {MAX_OFFER_CLAIMS}",
            claims.len()
        )));
    }
    for (name, value) in claims {
        let size = value.to_string().len();
        if size > MAX_CLAIM_VALUE_BYTES {
            return Err(Problem::bad_request(format!(
                "claim `{}` has {size} bytes as JSON; a claim value holds at most {} KiB",
                crate::jose::show(name),
                MAX_CLAIM_VALUE_BYTES / 1024
            )));
        }
    }
    Ok(())
}

/// `GET /admin/offers/{id}`: the offer's state and what it issued (never its secrets or claims).
pub async fn show_offer(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let status = issuer
        .offer_status(&id)
        .await
        .map_err(|e| lookup_problem(e, &id))?;
    Ok(axum::Json(offer_view(&status)).into_response())
}

/// `POST /admin/offers/{id}/revoke`: withdraws the offer and revokes every credential it issued.
pub async fn revoke_offer(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let status = issuer
        .revoke_offer(&id)
        .await
        .map_err(|e| lookup_problem(e, &id))?;
    Ok(axum::Json(offer_view(&status)).into_response())
}

fn lookup_problem(error: LookupError, id: &str) -> Problem {
    match error {
        LookupError::NotFound => Problem::not_found(format!("no offer `{id}`")),
        LookupError::Internal(cause) => Problem::internal(cause),
    }
}

fn offer_view(offer: &OfferStatus) -> Value {
    json!({
        "id": offer.id,
        "credential": offer.credential,
        "state": offer.state,
        "tx_code_required": offer.tx_code_required,
        "tx_code_attempts": offer.tx_code_attempts,
        "created_at": offer.created_at,
        "expires_at": offer.expires_at,
        "redeemed_at": offer.redeemed_at,
        "issued_at": offer.issued_at,
        "issued_count": offer.issued_count,
        "revoked_at": offer.revoked_at,
        "presented_at": offer.presented_at,
        "subject": offer.subject,
        "logged_in_at": offer.logged_in_at,
        "credentials": offer.credentials.iter().map(|s| json!({
            "issued_at": s.issued_at,
            "status_list": {"idx": s.idx, "uri": s.uri},
            "revoked": s.revoked,
        })).collect::<Vec<_>>(),
        "verifications": offer.verifications.iter().map(|v| json!({
            "presentation": v.presentation_id,
            "at": v.at,
            "prerequisite": v.prerequisite,
            "issuer": v.issuer,
            "vct": v.vct,
            "status_list": v.status_uri.as_ref().map(|uri| json!({"idx": v.status_idx, "uri": uri})),
            "outcome": v.outcome,
            "reason": v.reason,
        })).collect::<Vec<_>>(),
        "logins": offer.logins.iter().map(|l| json!({
            "at": l.at,
            "provider": l.provider,
            "subject": l.subject,
            "acr": l.acr,
            "outcome": l.outcome,
            "reason": l.reason,
        })).collect::<Vec<_>>(),
    })
}

fn unprocessable(detail: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-offer",
        "The offer does not fit the governance",
        detail,
    )
}
