//! The admin API for the issuer's own back end: create an offer for claims the back end vouches
//! for (checked against the governance), show an offer's state, revoke what an offer issued. It
//! sits behind the `TRUSTC_ADMIN_TOKEN` bearer token; `openapi.json` documents it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Value, json};

use super::errors::Problem;
use super::oid4vci::bearer_token;
use crate::Issuer;
use crate::claims::{ClaimProblem, check_claims};
use crate::compiled::CREDENTIAL_OFFERS_PATH;
use crate::secrets::{constant_time_eq, new_offer_id, offer_secret};
use crate::store::{NewOffer, Offer, StatusEntry};

/// Length of a transaction code when the governance does not set one.
const DEFAULT_TX_CODE_LENGTH: u32 = 6;

/// Refuses admin requests without the admin bearer token (unless the runtime runs with `--dev`
/// and no token, which leaves the admin API open).
pub async fn require_admin_token(
    State(issuer): State<Arc<Issuer>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &issuer.settings.admin_token {
        let given = bearer_token(request.headers());
        if !given.is_some_and(|given| constant_time_eq(expected, given)) {
            return Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Admin token required",
                "send `Authorization: Bearer <TRUSTC_ADMIN_TOKEN>`",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// `POST /admin/offers`.
pub async fn create_offer(
    State(issuer): State<Arc<Issuer>>,
    body: Bytes,
) -> Result<Response, Problem> {
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| Problem::bad_request(format!("the body is not JSON: {e}")))?;
    let Some(request) = request.as_object() else {
        return Err(Problem::bad_request(
            "the body must be a JSON object {\"credential\", \"claims\", \"tx_code\"}",
        ));
    };
    if let Some(unknown) = request
        .keys()
        .find(|k| !matches!(k.as_str(), "credential" | "claims" | "tx_code"))
    {
        return Err(Problem::bad_request(format!(
            "unknown field `{unknown}`; an offer has `credential`, `claims` and `tx_code`"
        )));
    }
    let credential_id = match request.get("credential") {
        Some(Value::String(id)) => id.as_str(),
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
    let wants_tx_code = match request.get("tx_code") {
        Some(Value::Bool(b)) => Some(*b),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`tx_code` must be true or false, not {other}"
            )));
        }
    };
    let Some(credential) = issuer.compiled.credential(credential_id) else {
        let known = issuer.compiled.credential_ids().join("`, `");
        return Err(unprocessable(
            format!(
                "`{credential_id}` is not a credential type this issuer issues over OpenID4VCI \
                 (it issues `{known}`)"
            ),
            vec![],
        ));
    };
    let policy = credential.kind.authentication.tx_code.as_ref();
    let tx_code = match (policy, wants_tx_code) {
        (Some(_), Some(false)) => {
            return Err(unprocessable(
                format!(
                    "the governance of `{credential_id}` requires a transaction code; \
                     leave out `tx_code` or set it to true"
                ),
                vec![],
            ));
        }
        (Some(policy), _) => Some(new_tx_code(
            policy.length,
            policy.input_mode == trustc_artifact::InputMode::Text,
        )),
        (None, Some(true)) => Some(new_tx_code(DEFAULT_TX_CODE_LENGTH, false)),
        (None, _) => None,
    };
    let issued_claims = check_claims(credential, &claims).map_err(|problems| {
        let count = problems.len();
        unprocessable(
            format!(
                "{count} claim{} of the offer do{} not fit the governance of `{credential_id}`",
                if count == 1 { "" } else { "s" },
                if count == 1 { "es" } else { "" }
            ),
            problems,
        )
    })?;
    let now = issuer.clock.now();
    let id = new_offer_id();
    let offer = NewOffer {
        pre_authorized_code: offer_secret(&id),
        id,
        tx_code: tx_code.clone(),
        credential: credential_id.to_string(),
        claims: Value::Object(issued_claims).to_string(),
        created_at: now,
        expires_at: now + issuer.settings.offer_lifetime,
    };
    issuer
        .store
        .create_offer(&offer)
        .await
        .map_err(Problem::server)?;
    let offer_uri = issuer.url(&format!("{CREDENTIAL_OFFERS_PATH}/{}", offer.id));
    let encoded: String = url::form_urlencoded::byte_serialize(offer_uri.as_bytes()).collect();
    tracing::info!(offer = %offer.id, credential = %credential_id, "offer created");
    let body = json!({
        "id": offer.id,
        "credential_offer": format!("openid-credential-offer://?credential_offer_uri={encoded}"),
        "credential_offer_uri": offer_uri,
        "tx_code": tx_code,
        "expires_at": offer.expires_at,
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `GET /admin/offers/{id}`: the offer's state and what it issued (never its secrets or claims).
pub async fn show_offer(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let offer = issuer
        .store
        .offer(&id)
        .await
        .map_err(Problem::server)?
        .ok_or_else(|| Problem::not_found(format!("no offer `{id}`")))?;
    let statuses = issuer
        .store
        .statuses_of_offer(&id)
        .await
        .map_err(Problem::server)?;
    Ok(axum::Json(offer_view(&issuer, &offer, &statuses)).into_response())
}

/// `POST /admin/offers/{id}/revoke`: withdraws the offer and revokes every credential it issued.
pub async fn revoke_offer(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let now = issuer.clock.now();
    issuer
        .store
        .revoke_offer(&id, now)
        .await
        .map_err(Problem::server)?
        .ok_or_else(|| Problem::not_found(format!("no offer `{id}`")))?;
    tracing::info!(offer = %id, "offer revoked");
    show_offer(State(issuer), Path(id)).await
}

fn offer_view(issuer: &Issuer, offer: &Offer, statuses: &[StatusEntry]) -> Value {
    let now = issuer.clock.now();
    // An offer whose code or access token ran out before it issued can no longer issue anything.
    let expired = match offer.state {
        crate::store::OfferState::Offered => offer.expires_at <= now,
        crate::store::OfferState::Redeemed => offer.token_expires_at.is_some_and(|t| t <= now),
        _ => false,
    };
    json!({
        "id": offer.id,
        "credential": offer.credential,
        "state": if expired { "expired" } else { offer.state.as_str() },
        "tx_code_required": offer.tx_code.is_some(),
        "tx_code_attempts": offer.tx_attempts,
        "created_at": offer.created_at,
        "expires_at": offer.expires_at,
        "redeemed_at": offer.redeemed_at,
        "issued_at": offer.issued_at,
        "revoked_at": offer.revoked_at,
        "credentials": statuses.iter().map(|s| json!({
            "issued_at": s.issued_at,
            "status_list": {"idx": s.idx, "uri": issuer.status_list_uri(s.list_id)},
            "revoked": s.revoked,
        })).collect::<Vec<_>>(),
    })
}

fn unprocessable(detail: String, claims: Vec<ClaimProblem>) -> Problem {
    let mut problem = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-offer",
        "The offer does not fit the governance",
        detail,
    );
    problem.claims = claims;
    problem
}

/// A fresh transaction code: digits, or (text mode) capitals and digits without look-alikes.
fn new_tx_code(length: u32, text: bool) -> String {
    const DIGITS: &[u8] = b"0123456789";
    const TEXT: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let alphabet = if text { TEXT } else { DIGITS };
    let mut rng = rand::thread_rng();
    (0..length.max(1))
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}
