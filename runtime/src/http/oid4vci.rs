//! The wallet-facing endpoints of the OpenID4VCI 1.0 pre-authorised code flow: metadata, the
//! credential offer (by reference), token, nonce and credential, plus the issuer's public keys and
//! its status lists. Each handler reads the wire into a request of [`crate::domain`], calls it,
//! and maps its refusals to the codes and statuses OpenID4VCI §6.3 / §8.3.1 and RFC 6749 /
//! RFC 6750 define, and for wallets that use DPoP (RFC 9449) the `DPoP` header, the `DPoP`
//! authorization scheme, `token_type: DPoP` and the `invalid_dpop_proof` error.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use super::errors::{OAuthError, Problem};
use super::{ClientAddress, no_store, no_store_json};
use crate::compiled::{CREDENTIAL_PATH, TOKEN_PATH};
use crate::domain::Issuer;
use crate::domain::issuance::{CredentialRequest, DpopAccessError, IssueError, TokenError};
use crate::domain::offers::{LookupError, WalletGrant};
use crate::domain::presentation::CodeRequest;
use crate::domain::redemption::{
    AccessTokenBinding, DpopRefusal, DpopRequest, RedeemError, TokenRequest,
};
use crate::dpop::DPOP_ALGORITHMS;
use crate::limits::RateLimits;
use crate::secrets::offer_of;

pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";

/// A form body (`application/x-www-form-urlencoded`), each parameter once.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a form body; `what` names the request in the refusals.
pub fn read_form(headers: &HeaderMap, body: &[u8], what: &str) -> Result<Form, OAuthError> {
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
            format!("{what} must be application/x-www-form-urlencoded"),
        ));
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        if form.iter().any(|(k, _)| *k == key) {
            return Err(OAuthError::bad_request(
                "invalid_request",
                format!("parameter `{key}` is repeated"),
            ));
        }
        form.push((key.into_owned(), value.into_owned()));
    }
    Ok(Form(form))
}

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
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, Problem> {
    let unlock = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "unlock")
        .map(|(_, v)| v.into_owned());
    let offer = issuer
        .offer_for_wallet(&id, unlock.as_deref())
        .await
        .map_err(|e| match e {
        LookupError::NotFound => Problem::not_found(
            "no such credential offer, or it was used or has expired; ask the issuer for a new one",
        ),
        LookupError::Internal(cause) => Problem::internal(cause),
    })?;
    let grants = match offer.grant {
        WalletGrant::PreAuthorized {
            pre_authorized_code,
            tx_code,
        } => {
            let mut grant = json!({"pre-authorized_code": pre_authorized_code});
            if let Some(hint) = tx_code {
                let mut object = Map::new();
                object.insert("input_mode".into(), hint.input_mode.into());
                object.insert("length".into(), hint.length.into());
                if let Some(description) = hint.description {
                    object.insert("description".into(), description.into());
                }
                grant["tx_code"] = Value::Object(object);
            }
            json!({PRE_AUTHORIZED_GRANT: grant})
        }
        WalletGrant::AuthorizationCode { issuer_state } => {
            json!({"authorization_code": {"issuer_state": issuer_state}})
        }
    };
    Ok(no_store_json(json!({
        "credential_issuer": issuer.settings.public_url,
        "credential_configuration_ids": [offer.credential],
        "grants": grants,
    })))
}

/// `POST /token`: redeems a pre-authorised code (and its transaction code), or an authorization
/// code, for an access token; bound to the key of the request's DPoP proof when it has one.
///
/// Rate limited per client address (before the request is read) and per pre-authorised code
/// (before it is looked up): 429 `too_many_requests` with `Retry-After`.
pub async fn token(
    State(issuer): State<Arc<Issuer>>,
    Extension(limits): Extension<Arc<RateLimits>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let now = issuer.clock.now();
    if let Some(address) = &address {
        let limiter = &limits.token_per_address;
        limiter.check(address, now).map_err(|wait| {
            OAuthError::too_many_requests(
                wait.duration(),
                format!(
                    "too many token requests from this address (at most {})",
                    limiter.rate()
                ),
            )
        })?;
    }
    let form = read_form(&headers, &body, "the token request")?;
    let field = |name: &str| form.get(name);
    let grant_type = field("grant_type")
        .ok_or_else(|| OAuthError::bad_request("invalid_request", "`grant_type` is missing"))?;
    if grant_type == PRE_AUTHORIZED_GRANT
        && let Some(code) = field("pre-authorized_code")
    {
        // Counted per offer (the code names it): the secret part of the code is not kept.
        let limiter = &limits.token_per_code;
        limiter
            .check(offer_of(code).unwrap_or(code), now)
            .map_err(|wait| {
                OAuthError::too_many_requests(
                    wait.duration(),
                    format!(
                        "too many token requests for this pre-authorized code (at most {})",
                        limiter.rate()
                    ),
                )
            })?;
    }
    let invalid_proof = |why: String| OAuthError::bad_request("invalid_dpop_proof", why);
    // A proof is verified (and its `jti` spent) before the grant is looked at: a refused proof
    // leaves the code unspent.
    let proven = match dpop_header(&headers).map_err(invalid_proof)? {
        None => None,
        Some(proof) => Some(
            issuer
                .accept_dpop_proof(DpopRequest {
                    proof,
                    method: "POST",
                    path: TOKEN_PATH,
                    access_token: None,
                })
                .await
                .map_err(|e| match e {
                    DpopRefusal::Internal(cause) => OAuthError::internal(cause),
                    refused => invalid_proof(refused.to_string()),
                })?,
        ),
    };
    let proven_jkt = proven.as_ref().map(|p| p.jkt.as_str());
    let redeemed = match grant_type {
        PRE_AUTHORIZED_GRANT => {
            let code = field("pre-authorized_code").ok_or_else(|| {
                OAuthError::bad_request("invalid_request", "`pre-authorized_code` is missing")
            })?;
            issuer
                .redeem_bound(
                    TokenRequest {
                        pre_authorized_code: code,
                        tx_code: field("tx_code"),
                    },
                    AccessTokenBinding {
                        proven_jkt,
                        expected_jkt: None,
                    },
                )
                .await
        }
        AUTHORIZATION_CODE_GRANT => {
            let code = field("code")
                .ok_or_else(|| OAuthError::bad_request("invalid_request", "`code` is missing"))?;
            issuer
                .redeem_authorization_code(CodeRequest {
                    code,
                    code_verifier: field("code_verifier"),
                    client_id: field("client_id"),
                    redirect_uri: field("redirect_uri"),
                    dpop_jkt: proven_jkt,
                })
                .await
        }
        _ => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!(
                    "this issuer supports the `{PRE_AUTHORIZED_GRANT}` and \
                     `{AUTHORIZATION_CODE_GRANT}` grants"
                ),
            ));
        }
    };
    let token = redeemed.map_err(|e| match e {
        RedeemError::Internal(cause) => OAuthError::internal(cause),
        RedeemError::TxCodeMissing | RedeemError::TxCodeUnexpected => {
            OAuthError::bad_request("invalid_request", e.to_string())
        }
        RedeemError::DpopBinding(_) => invalid_proof(e.to_string()),
        RedeemError::UnknownCode
        | RedeemError::NotLoggedIn
        | RedeemError::NotPresented
        | RedeemError::Pkce(_)
        | RedeemError::Expired
        | RedeemError::Locked
        | RedeemError::Withdrawn
        | RedeemError::AlreadyUsed
        | RedeemError::WrongTxCode { .. } => {
            OAuthError::bad_request("invalid_grant", e.to_string())
        }
    })?;
    let token_type = if token.dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    };
    Ok(no_store_json(json!({
        "access_token": token.access_token,
        "token_type": token_type,
        "expires_in": token.expires_in,
    })))
}

/// `POST /nonce`: a fresh single-use `c_nonce` for a key proof.
pub async fn nonce(State(issuer): State<Arc<Issuer>>) -> Response {
    no_store_json(json!({"c_nonce": issuer.new_nonce()}))
}

/// `POST /credential`: the access token first (it proves itself, before the body is read; a
/// DPoP-bound one with the DPoP proof sent with it), then the request, then the domain's
/// issuance.
pub async fn credential(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Refused> {
    if uri.query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token")
    }) {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "send the access token in the Authorization header, never in the URL",
        )
        .into());
    }
    let Some((scheme, token)) = access_token(&headers) else {
        return Err(Refused {
            error: OAuthError::invalid_token(
                "the credential request needs `Authorization: Bearer <access token>`, or \
                 `Authorization: DPoP <access token>` with a `DPoP` proof for a DPoP-bound token",
            ),
            challenge: Challenge::Both,
        });
    };
    let authorized = match scheme {
        Scheme::Bearer => issuer.authorize(token).map_err(|e| Refused {
            // A DPoP-bound token sent as a bearer token is told to use the DPoP scheme.
            challenge: if e == TokenError::DpopBound {
                Challenge::Dpop
            } else {
                Challenge::Bearer
            },
            error: OAuthError::invalid_token(e.to_string()),
        })?,
        Scheme::Dpop => {
            let dpop = |error| Refused {
                error,
                challenge: Challenge::Dpop,
            };
            let invalid_proof = |why: String| {
                dpop(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_dpop_proof",
                    why,
                ))
            };
            let proof = dpop_header(&headers).map_err(invalid_proof)?;
            issuer
                .authorize_dpop(token, proof, "POST", CREDENTIAL_PATH)
                .await
                .map_err(|e| match e {
                    DpopAccessError::Proof(DpopRefusal::Internal(cause)) => {
                        OAuthError::internal(cause).into()
                    }
                    DpopAccessError::Proof(refused) => invalid_proof(refused.to_string()),
                    DpopAccessError::Token(why) => dpop(OAuthError::invalid_token(why.to_string())),
                })?
        }
    };
    let challenge = match scheme {
        Scheme::Bearer => Challenge::Bearer,
        Scheme::Dpop => Challenge::Dpop,
    };
    let body = credential_body(&body)?;
    too_many_proofs(&body)?;
    let issued = issuer
        .issue_credential(&authorized, credential_request(&body)?)
        .await
        .map_err(|e| {
            let error = match &e {
                IssueError::Internal(cause) => return OAuthError::internal(cause.clone()).into(),
                IssueError::InvalidToken(_) => {
                    return Refused {
                        error: OAuthError::invalid_token(e.to_string()),
                        challenge,
                    };
                }
                IssueError::UnknownConfiguration(_) => "unknown_credential_configuration",
                IssueError::InvalidProof(_) | IssueError::SameKey { .. } => "invalid_proof",
                IssueError::InvalidNonce(_) => "invalid_nonce",
                // More proofs than `batch_size`: a parameter value this issuer does not support
                // (OpenID4VCI 1.0 §8.3.1.2), not a proof that fails.
                IssueError::OfferedForAnother { .. } | IssueError::TooManyProofs { .. } => {
                    "invalid_credential_request"
                }
                IssueError::Withdrawn | IssueError::Exhausted { .. } => "credential_request_denied",
            };
            OAuthError::bad_request(error, e.to_string()).into()
        })?;
    // Written directly: the answer is long strings, and building a JSON value around them only
    // to serialise it again costs more than the rest of this function's JSON.
    let mut answer = String::from(r#"{"credentials":["#);
    for (n, issued) in issued.into_iter().enumerate() {
        if n > 0 {
            answer.push(',');
        }
        answer.push_str(r#"{"credential":"#);
        answer.push_str(&Value::String(issued.credential).to_string());
        answer.push('}');
    }
    answer.push_str("]}");
    Ok(no_store(json_text(answer)))
}

/// The authorization schemes of the credential endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `Authorization: Bearer` (RFC 6750), for tokens bound to no key.
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1), for DPoP-bound tokens.
    Dpop,
}

/// Which challenge a 401 carries in `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    Bearer,
    /// `DPoP error=…, algs="ES256 EdDSA"` (RFC 9449 §7.1).
    Dpop,
    /// A bare request: the bearer challenge, and the DPoP one naming its algorithms.
    Both,
}

/// A credential endpoint refusal: an OAuth error, with the challenge its scheme calls for.
#[derive(Debug)]
pub struct Refused {
    pub error: OAuthError,
    pub challenge: Challenge,
}

impl From<OAuthError> for Refused {
    fn from(error: OAuthError) -> Refused {
        Refused {
            error,
            challenge: Challenge::Bearer,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let unauthorized = self.error.status == StatusCode::UNAUTHORIZED;
        let dpop = format!(
            "DPoP error=\"{}\", error_description=\"{}\", algs=\"{}\"",
            self.error.error,
            self.error.description.replace(['"', '\\'], "'"),
            DPOP_ALGORITHMS.join(" ")
        );
        let mut response = self.error.into_response();
        if !unauthorized {
            return response;
        }
        let headers = response.headers_mut();
        match self.challenge {
            Challenge::Bearer => {}
            Challenge::Dpop => {
                if let Ok(value) = HeaderValue::from_str(&dpop) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Challenge::Both => {
                if let Ok(value) =
                    HeaderValue::from_str(&format!("DPoP algs=\"{}\"", DPOP_ALGORITHMS.join(" ")))
                {
                    headers.append(header::WWW_AUTHENTICATE, value);
                }
            }
        }
        response
    }
}

/// The `DPoP` header of a request, if it has one: one compact JWS (RFC 9449 §4.3: not more
/// than one header).
pub(super) fn dpop_header(headers: &HeaderMap) -> Result<Option<&str>, String> {
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("the request has more than one `DPoP` header; send exactly one proof".into());
    }
    value
        .to_str()
        .map(|proof| Some(proof.trim()))
        .map_err(|_| "the `DPoP` header is not a compact JWS".into())
}

/// The scheme and token of an `Authorization: Bearer <token>` or `Authorization: DPoP <token>`
/// header (schemes are case-insensitive).
fn access_token(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((Scheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((Scheme::Dpop, token))
    } else {
        None
    }
}

/// Parses the body of a credential request: a JSON object without the parameters this issuer
/// does not support.
fn credential_body(body: &[u8]) -> Result<Map<String, Value>, OAuthError> {
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        OAuthError::bad_request(
            "invalid_credential_request",
            format!("the credential request is not JSON: {e}"),
        )
    })?;
    let Value::Object(request) = request else {
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
    Ok(request)
}

/// The most key proofs one credential request may hold, whatever the governance's batch size:
/// more are refused before any of them is read.
pub const MAX_PROOFS_PER_REQUEST: usize = 100;

/// Refuses a request with more than [`MAX_PROOFS_PER_REQUEST`] proofs (of all types).
fn too_many_proofs(request: &Map<String, Value>) -> Result<(), OAuthError> {
    let count: usize = request
        .get("proofs")
        .and_then(Value::as_object)
        .map_or(0, |proofs| {
            proofs
                .values()
                .map(|list| list.as_array().map_or(1, Vec::len))
                .sum()
        });
    if count > MAX_PROOFS_PER_REQUEST {
        return Err(OAuthError::bad_request(
            "invalid_credential_request",
            format!(
                "the request holds {count} proofs; at most {MAX_PROOFS_PER_REQUEST} are read in \
                 one credential request"
            ),
        ));
    }
    Ok(())
}

/// The configuration a credential request asks for and its `jwt` proofs.
fn credential_request(request: &Map<String, Value>) -> Result<CredentialRequest<'_>, OAuthError> {
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
    Ok(CredentialRequest {
        configuration_id,
        proofs: jwt_proofs(request.get("proofs"))?,
    })
}

/// The `jwt` proofs of `proofs`, in order (how many the credential allows is the domain's to
/// say: its batch size).
fn jwt_proofs(proofs: Option<&Value>) -> Result<Vec<&str>, OAuthError> {
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
    if jwts.is_empty() {
        return Err(invalid("`proofs.jwt` is empty"));
    }
    jwts.iter()
        .enumerate()
        .map(|(n, jwt)| {
            jwt.as_str().ok_or_else(|| {
                invalid(&format!(
                    "`proofs.jwt[{n}]` must be a JWT string, one proof per key"
                ))
            })
        })
        .collect()
}

/// `GET /status-lists/{id}`: the signed Token Status List, built from the store on each request
/// so a revocation shows at once.
pub async fn status_list(
    State(issuer): State<Arc<Issuer>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found(format!("no status list `{id}`"));
    let list_id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(not_found)?;
    let token = issuer.status_list(list_id).await.map_err(|e| match e {
        LookupError::NotFound => not_found(),
        LookupError::Internal(cause) => Problem::internal(cause),
    })?;
    let mut response = token.jwt.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/statuslist+jwt"),
    );
    let max_age = format!("max-age={}", token.ttl.min(60));
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
