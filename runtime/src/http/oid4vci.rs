//! The wallet-facing endpoints of the OpenID4VCI 1.0 pre-authorised code flow: metadata, the
//! credential offer (by reference), token, nonce and credential, plus the issuer's public keys and
//! its status lists. Errors use the codes and statuses OpenID4VCI §6.3 / §8.3.1 and RFC 6749 /
//! RFC 6750 define.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::errors::{OAuthError, Problem};
use super::{no_store, no_store_json};
use crate::Issuer;
use crate::proof::{ProofPolicy, verify_proof};
use crate::sdjwt::{Issuance, issue};
use crate::sealed::{NonceError, SealError};
use crate::secrets::offer_of;
use crate::status::{INVALID, StatusList, status_list_token};
use crate::store::{Issue, Issued, OfferState, Redeem, Redemption};

pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

pub async fn issuer_metadata(State(issuer): State<Arc<Issuer>>) -> Response {
    json_text(issuer.compiled.issuer_metadata_json.clone())
}

pub async fn authorization_server_metadata(State(issuer): State<Arc<Issuer>>) -> Response {
    json_text(issuer.compiled.authorization_server_metadata_json.clone())
}

/// An `application/json` answer from already serialised JSON.
fn json_text(text: impl Into<axum::body::Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text.into(),
    )
        .into_response()
}

/// SD-JWT VC issuer metadata: the keys that verify the credentials (`kid` in their header).
pub async fn jwt_vc_issuer(State(issuer): State<Arc<Issuer>>) -> Response {
    Json(json!({
        "issuer": issuer.settings.public_url,
        "jwks": {"keys": [issuer.key.public_jwk()]},
    }))
    .into_response()
}

/// The credential offer an `openid-credential-offer://?credential_offer_uri=…` points to. It is
/// served while its pre-authorised code can still be redeemed.
pub async fn credential_offer(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let now = issuer.clock.now();
    let offer = issuer.store.offer(&id).await.map_err(Problem::server)?;
    let Some(offer) = offer.filter(|o| o.state == OfferState::Offered && o.expires_at > now) else {
        return Err(Problem::not_found(
            "no such credential offer, or it was used or has expired; ask the issuer for a new one",
        ));
    };
    let mut grant = json!({"pre-authorized_code": offer.pre_authorized_code});
    if offer.tx_code.is_some() {
        grant["tx_code"] =
            tx_code_description(&issuer, &offer.credential, offer.tx_code.as_deref());
    }
    Ok(no_store_json(json!({
        "credential_issuer": issuer.settings.public_url,
        "credential_configuration_ids": [offer.credential],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    })))
}

/// The offer's `tx_code` object: the governance's length, input mode and description.
fn tx_code_description(issuer: &Issuer, credential: &str, code: Option<&str>) -> Value {
    let policy = issuer
        .compiled
        .credential(credential)
        .and_then(|c| c.kind.authentication.tx_code.as_ref());
    let mut object = Map::new();
    let input_mode = match policy.map(|p| p.input_mode) {
        Some(trustc_artifact::InputMode::Text) => "text",
        _ => "numeric",
    };
    object.insert("input_mode".into(), input_mode.into());
    if let Some(code) = code {
        object.insert("length".into(), code.chars().count().into());
    }
    if let Some(description) = policy.and_then(|p| p.description.as_deref()) {
        object.insert("description".into(), description.into());
    }
    Value::Object(object)
}

/// `POST /token`: redeems a pre-authorised code (and its transaction code) for an access token.
pub async fn token(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "the token request must be application/x-www-form-urlencoded",
        ));
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        if form.iter().any(|(k, _)| *k == key) {
            return Err(OAuthError::bad_request(
                "invalid_request",
                format!("parameter `{key}` is repeated"),
            ));
        }
        form.push((key.into_owned(), value.into_owned()));
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let grant_type = field("grant_type")
        .ok_or_else(|| OAuthError::bad_request("invalid_request", "`grant_type` is missing"))?;
    if grant_type != PRE_AUTHORIZED_GRANT {
        return Err(OAuthError::bad_request(
            "unsupported_grant_type",
            format!("this issuer supports only the `{PRE_AUTHORIZED_GRANT}` grant"),
        ));
    }
    let code = field("pre-authorized_code").ok_or_else(|| {
        OAuthError::bad_request("invalid_request", "`pre-authorized_code` is missing")
    })?;
    let invalid_grant = |description: &str| OAuthError::bad_request("invalid_grant", description);
    let Some(offer_id) = offer_of(code) else {
        return Err(invalid_grant("the pre-authorized code is not valid"));
    };
    let now = issuer.clock.now();
    let lifetime = issuer.settings.access_token_lifetime;
    let access_token = issuer.tokens.issue(offer_id, now + lifetime);
    let redemption = issuer
        .store
        .redeem(&Redeem {
            code,
            tx_code: field("tx_code"),
            access_token: &access_token,
            token_expires_at: now + lifetime,
            now,
            tx_code_attempts: issuer.settings.tx_code_attempts,
        })
        .await
        .map_err(OAuthError::server)?;
    let (offer_id, credential) = match redemption {
        Redemption::Redeemed {
            offer_id,
            credential,
        } => (offer_id, credential),
        Redemption::UnknownCode => {
            return Err(invalid_grant("the pre-authorized code is not valid"));
        }
        Redemption::Expired => {
            return Err(invalid_grant(
                "the pre-authorized code has expired; ask the issuer for a new offer",
            ));
        }
        Redemption::NotOffered(OfferState::Locked) => {
            return Err(invalid_grant(
                "the pre-authorized code was invalidated after too many wrong transaction codes",
            ));
        }
        Redemption::NotOffered(OfferState::Revoked) => {
            return Err(invalid_grant("the offer was withdrawn by the issuer"));
        }
        Redemption::NotOffered(_) => {
            return Err(invalid_grant("the pre-authorized code was already used"));
        }
        Redemption::TxCodeMissing => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "`tx_code` is missing: this offer requires the transaction code sent to the holder",
            ));
        }
        Redemption::TxCodeUnexpected => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "`tx_code` was sent but this offer has none",
            ));
        }
        Redemption::WrongTxCode { attempts, locked } => {
            let left = issuer.settings.tx_code_attempts - attempts;
            return Err(invalid_grant(&if locked {
                "wrong transaction code; too many attempts, the offer is invalidated".into()
            } else {
                format!("wrong transaction code; {left} attempt(s) left")
            }));
        }
    };
    tracing::info!(offer = %offer_id, credential = %credential, "pre-authorized code redeemed");
    Ok(no_store_json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
    })))
}

/// `POST /nonce`: a fresh single-use `c_nonce` for a key proof. Nothing is stored: the nonce
/// proves its origin and expiry itself ([`crate::sealed`]) and is recorded only when spent.
pub async fn nonce(State(issuer): State<Arc<Issuer>>) -> Response {
    let expires_at = issuer.clock.now() + issuer.settings.nonce_lifetime;
    no_store_json(json!({"c_nonce": issuer.nonces.issue(expires_at)}))
}

/// `POST /credential`: checks the access token, the request and the key proof, then issues the
/// SD-JWT VC bound to the proof's key, with a status-list entry when the governance revokes.
pub async fn credential(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, OAuthError> {
    if uri.query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token")
    }) {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "send the access token in the Authorization header, never in the URL",
        ));
    }
    let token = bearer_token(&headers).ok_or_else(|| {
        OAuthError::invalid_token(
            "the credential request needs `Authorization: Bearer <access token>`",
        )
    })?;
    let now = issuer.clock.now();
    // The token proves itself: the store is asked nothing until the issuing step.
    let offer_id = issuer.tokens.check(token, now).map_err(|e| {
        OAuthError::invalid_token(match e {
            SealError::Expired => "the access token has expired",
            SealError::Unknown => "the access token is unknown",
        })
    })?;

    let request: Value = serde_json::from_slice(&body).map_err(|e| {
        OAuthError::bad_request(
            "invalid_credential_request",
            format!("the credential request is not JSON: {e}"),
        )
    })?;
    let Some(request) = request.as_object() else {
        return Err(OAuthError::bad_request(
            "invalid_credential_request",
            "the credential request must be a JSON object",
        ));
    };
    if request.contains_key("credential_response_encryption") {
        return Err(OAuthError::bad_request(
            "invalid_encryption_parameters",
            "this issuer does not encrypt credential responses",
        ));
    }
    if request.contains_key("proof") {
        return Err(OAuthError::bad_request(
            "invalid_credential_request",
            "`proof` is draft-13 syntax; OpenID4VCI 1.0 sends `proofs: {\"jwt\": [...]}`",
        ));
    }
    let configuration_id = match (
        request.get("credential_configuration_id"),
        request.get("credential_identifier"),
    ) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::bad_request(
                "invalid_credential_request",
                "send either `credential_configuration_id` or `credential_identifier`, not both",
            ));
        }
        (None, Some(identifier)) => {
            return Err(OAuthError::bad_request(
                "unknown_credential_identifier",
                format!(
                    "credential identifier {identifier} is unknown: this issuer issues by \
                     `credential_configuration_id`"
                ),
            ));
        }
        (None, None) => {
            return Err(OAuthError::bad_request(
                "invalid_credential_request",
                "`credential_configuration_id` is missing",
            ));
        }
        (Some(Value::String(id)), None) => id.as_str(),
        (Some(other), None) => {
            return Err(OAuthError::bad_request(
                "invalid_credential_request",
                format!("`credential_configuration_id` must be a string, not {other}"),
            ));
        }
    };
    let Some(credential) = issuer.compiled.credential(configuration_id) else {
        return Err(OAuthError::bad_request(
            "unknown_credential_configuration",
            format!(
                "`{configuration_id}` is not a credential configuration of this issuer \
                 (see credential_configurations_supported)"
            ),
        ));
    };
    let proof = single_jwt_proof(request.get("proofs"))?;
    let policy = ProofPolicy {
        audience: &issuer.settings.public_url,
        algorithms: &credential.proof_algorithms,
        now,
        max_age: issuer.settings.proof_max_age,
        max_skew: issuer.settings.proof_max_skew,
    };
    let verified =
        verify_proof(proof, &policy).map_err(|e| OAuthError::bad_request("invalid_proof", e.0))?;
    let Some(nonce) = verified.nonce.as_deref() else {
        return Err(OAuthError::bad_request(
            "invalid_proof",
            "the proof has no `nonce`: get one from the nonce endpoint",
        ));
    };
    let nonce_expires_at = issuer.nonces.check(nonce, now).map_err(|e| {
        OAuthError::bad_request(
            "invalid_nonce",
            match e {
                NonceError::Expired => {
                    "the proof's nonce has expired; get a new one from the nonce endpoint"
                }
                NonceError::Unknown => {
                    "the proof's nonce was not issued by this issuer; get one from the nonce endpoint"
                }
            },
        )
    })?;

    let revocable = credential.kind.revocation == trustc_artifact::Revocation::StatusList;
    let issued = issuer
        .store
        .issue(&Issue {
            offer_id,
            credential: configuration_id,
            now,
            nonce,
            nonce_expires_at,
            revocable,
            list_id: issuer.current_list(),
            list_size: issuer.settings.status_list_size,
        })
        .await
        .map_err(OAuthError::server)?;
    let (claims, status) = match issued {
        Issued::Issued { claims, status } => (claims, status),
        Issued::NonceSpent => {
            return Err(OAuthError::bad_request(
                "invalid_nonce",
                "the proof's nonce was already used; get a new one from the nonce endpoint",
            ));
        }
        Issued::NotRedeemed => {
            return Err(not_issued(&issuer, token, offer_id, configuration_id, now).await);
        }
    };
    let claims: Map<String, Value> = serde_json::from_str(&claims).map_err(OAuthError::server)?;
    let status_uri = status.as_ref().map(|entry| {
        issuer.list_used(entry.list_id);
        (entry.idx as u64, issuer.status_list_uri(entry.list_id))
    });
    let exp = credential
        .kind
        .validity
        .as_ref()
        .map(|v| now + v.seconds as i64);
    let vct = credential
        .kind
        .vct
        .as_deref()
        .unwrap_or(&credential.kind.id);
    let issued = issue(
        &issuer.key,
        &Issuance {
            issuer: &issuer.settings.public_url,
            vct,
            iat: now,
            exp,
            claims: &claims,
            disclosable: &credential.disclosable,
            holder_jwk: &verified.holder_jwk,
            status: status_uri.as_ref().map(|(idx, uri)| (*idx, uri.as_str())),
        },
    )
    .await
    .map_err(|e| OAuthError::server(e.0))?;
    tracing::info!(
        offer = %offer_id,
        credential = %configuration_id,
        proof_alg = %verified.alg,
        status_index = status_uri.as_ref().map(|s| s.0),
        "credential issued"
    );
    // Written directly: the answer is one long string, and building a JSON value around it
    // only to serialise it again costs more than the rest of this function's JSON.
    Ok(no_store(json_text(format!(
        r#"{{"credentials":[{{"credential":{}}}]}}"#,
        Value::String(issued)
    ))))
}

/// Why the store would not issue the offer that an access token of this issuer names, for
/// `configuration_id`. Read only on this failure path, so that issuing reads nothing first.
async fn not_issued(
    issuer: &Issuer,
    token: &str,
    offer_id: &str,
    configuration_id: &str,
    now: i64,
) -> OAuthError {
    let offer = match issuer.store.offer_by_access_token(token, now).await {
        Ok(Some(offer)) => offer,
        Ok(None) => {
            tracing::warn!(offer = %offer_id, "an access token of this issuer names no redeemed offer");
            return OAuthError::invalid_token("the access token is unknown");
        }
        Err(error) => return OAuthError::server(error),
    };
    if offer.credential != configuration_id {
        return OAuthError::bad_request(
            "invalid_credential_request",
            format!(
                "the access token was issued for `{}`, not `{configuration_id}`",
                offer.credential
            ),
        );
    }
    OAuthError::bad_request(
        "credential_request_denied",
        if offer.state == OfferState::Revoked {
            "the issuer withdrew this offer"
        } else {
            "this access token already obtained its credential"
        },
    )
}

/// The one `jwt` proof of `proofs` (this issuer has no batch issuance).
fn single_jwt_proof(proofs: Option<&Value>) -> Result<&str, OAuthError> {
    let invalid = |description: &str| OAuthError::bad_request("invalid_proof", description);
    let Some(proofs) = proofs else {
        return Err(invalid(
            "the request has no `proofs`: the credential is bound to the holder's key, send `proofs: {\"jwt\": [<proof>]}`",
        ));
    };
    let Some(proofs) = proofs.as_object() else {
        return Err(invalid(
            "`proofs` must be an object such as {\"jwt\": [<proof>]}",
        ));
    };
    if let Some(other) = proofs.keys().find(|k| *k != "jwt") {
        return Err(invalid(&format!(
            "proof type `{other}` is not supported; this issuer accepts `jwt` proofs"
        )));
    }
    let jwts = proofs
        .get("jwt")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`proofs.jwt` must be an array of proof JWTs"))?;
    match jwts.as_slice() {
        [Value::String(jwt)] => Ok(jwt),
        [_] => Err(invalid("`proofs.jwt` must hold a JWT string")),
        [] => Err(invalid("`proofs.jwt` is empty")),
        _ => Err(invalid(
            "`proofs.jwt` holds several proofs but this issuer has no batch issuance: send one",
        )),
    }
}

/// `GET /status-lists/{id}`: the signed Token Status List, built from the store on each request
/// so a revocation shows at once.
pub async fn status_list(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let list_id: i64 = id
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Problem::not_found(format!("no status list `{id}`")))?;
    let (exists, revoked) = issuer
        .store
        .revoked_indices(list_id)
        .await
        .map_err(Problem::server)?;
    if !exists {
        return Err(Problem::not_found(format!("no status list `{id}`")));
    }
    let mut list =
        StatusList::new(issuer.settings.status_list_size as usize, 1).map_err(Problem::server)?;
    for idx in revoked {
        list.set(idx as usize, INVALID).map_err(Problem::server)?;
    }
    let token = status_list_token(
        &issuer.key,
        &issuer.status_list_uri(list_id),
        &list,
        issuer.clock.now(),
        issuer.settings.status_list_ttl,
    );
    let mut response = token.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/statuslist+jwt"),
    );
    let max_age = format!("max-age={}", issuer.settings.status_list_ttl.min(60));
    if let Ok(value) = HeaderValue::from_str(&max_age) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}
