//! Presentations: the governance's prerequisites, enforced. An offer of a credential whose rules
//! name prerequisites (the Lawyer credential needs the Person credential from a trusted issuer)
//! redeems only after the holder presented them to the issuer's own OpenID4VP 1.0 verifier.
//!
//! The flow, as `@openid4vc/openid4vci` 0.4.6 and Credo implement presentation during issuance
//! (the OAuth 2.0 first-party apps authorization challenge):
//!
//! 1. [`Issuer::challenge`] without `auth_session`: the wallet names the offer (`issuer_state`)
//!    and its PKCE challenge; the issuer makes an OpenID4VP request for it and answers
//!    `insufficient_authorization` with `auth_session` and the request's URL.
//! 2. [`Issuer::request_object`]: the wallet fetches the signed request object (`x5c`, under the
//!    `x509_san_dns:` or `x509_hash:` client identifier; `redirect_uri:` requests go by value,
//!    for development only).
//! 3. [`Issuer::receive_response`]: the wallet posts its `vp_token` (`direct_post`, or encrypted
//!    to a key of this request in `direct_post.jwt`). Each presented credential is verified step
//!    by step ([`crate::presented`]): trust in its issuer first, from the governance alone,
//!    then its keys and status fetched from that issuer only, then signature, type, lifetime,
//!    disclosures, status, key binding, claims. The claims the governance copies are merged into
//!    the offer's, checked against the governance, and the presentation is answered with a
//!    `presentation_during_issuance_session`. A response is accepted once.
//! 4. [`Issuer::challenge`] with `auth_session` and that session: the authorization code.
//! 5. [`Issuer::redeem_authorization_code`]: the code, with the PKCE verifier, for an access token.
//!
//! Every verification, passed or refused, is audited with the offer ([`Verification`]).
//!
//! Where the OpenID4VCI 1.1 draft's interactive authorization differs (the request object in
//! the challenge answer, the response posted back to the challenge endpoint as
//! `openid4vp_response`, `ia:` audiences): steps 2–3 are transport-independent here
//! ([`Issuer::verify_vp_token`] takes the decoded `vp_token`), so that profile needs a new
//! entry point, not a new verifier.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use trustc_artifact::{Prerequisite, Source};

use super::trust::{Trust, admit};
use super::{Internal, Issuer};
use crate::claims::{Stage, check_claims};
use crate::jwe;
use crate::presented::{self, HolderRules, IssuerRules, Refusal};
use crate::secrets::{constant_time_eq, random_token};
use crate::store::{
    Advance, AuthorizationRequest, Offer, Presentation, PresentationState, Verification,
};
use crate::x509::CertificateChain;

/// Where the request objects and responses of presentations are served, below the issuer.
pub const PRESENTATIONS_PATH: &str = "/presentations";
/// The most bytes of a `vp_token` (or an encrypted response) this verifier reads.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// The `kid` of a request's response encryption key.
const RESPONSE_KEY_ID: &str = "response-encryption";
/// The content encryptions accepted for `direct_post.jwt`.
const RESPONSE_ENCRYPTIONS: [&str; 2] = ["A128GCM", "A256GCM"];

/// How the verifier names itself to wallets (OpenID4VP 1.0 §5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIdPrefix {
    /// `x509_san_dns:<host>`: a signed request whose certificate names the public URL's host.
    X509SanDns,
    /// `x509_hash:<sha-256 of the certificate>`: a signed request.
    X509Hash,
    /// `redirect_uri:<response URI>`: an unsigned request (the verifier is not authenticated),
    /// for development only.
    RedirectUri,
}

impl ClientIdPrefix {
    pub fn name(self) -> &'static str {
        match self {
            ClientIdPrefix::X509SanDns => "x509_san_dns",
            ClientIdPrefix::X509Hash => "x509_hash",
            ClientIdPrefix::RedirectUri => "redirect_uri",
        }
    }
}

impl std::str::FromStr for ClientIdPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<ClientIdPrefix, String> {
        [
            ClientIdPrefix::X509SanDns,
            ClientIdPrefix::X509Hash,
            ClientIdPrefix::RedirectUri,
        ]
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| {
            format!(
                "unknown client identifier prefix `{s}` (x509_san_dns, x509_hash or redirect_uri)"
            )
        })
    }
}

/// How the wallet sends its response (OpenID4VP 1.0 §8.2, §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    DirectPost,
    /// Encrypted to a key of the request (ECDH-ES, A128GCM or A256GCM).
    DirectPostJwt,
}

impl ResponseMode {
    pub fn name(self) -> &'static str {
        match self {
            ResponseMode::DirectPost => "direct_post",
            ResponseMode::DirectPostJwt => "direct_post.jwt",
        }
    }
}

impl std::str::FromStr for ResponseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<ResponseMode, String> {
        match s {
            "direct_post" => Ok(ResponseMode::DirectPost),
            "direct_post.jwt" => Ok(ResponseMode::DirectPostJwt),
            _ => Err(format!(
                "unknown response mode `{s}` (direct_post or direct_post.jwt)"
            )),
        }
    }
}

/// The verifier's configuration: whom it trusts and fetches from, and how it names itself.
pub struct Verifier {
    pub trust: Trust,
    /// The certificate chain of the request objects' signing key (the issuer key); required by
    /// the `x509_*` prefixes.
    pub certificate: Option<CertificateChain>,
    pub prefix: ClientIdPrefix,
    pub response_mode: ResponseMode,
}

/// What the wallet sends to the authorization challenge endpoint.
#[derive(Debug, Clone, Default)]
pub struct ChallengeRequest {
    pub issuer_state: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub redirect_uri: Option<String>,
    pub auth_session: Option<String>,
    pub presentation_during_issuance_session: Option<String>,
}

/// The challenge endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `insufficient_authorization`: present first.
    PresentationRequired {
        auth_session: String,
        /// The OpenID4VP request, `openid4vp://?client_id=…&request_uri=…`.
        presentation: String,
    },
    /// The presentation verified: the authorization code.
    Authorized { authorization_code: String },
}

/// Why the challenge endpoint refused.
#[derive(Debug)]
pub enum ChallengeError {
    /// `invalid_request`.
    InvalidRequest(String),
    /// `invalid_session`: the `auth_session` or the presentation's session is unknown, used, or
    /// the presentation did not verify.
    InvalidSession(String),
    Internal(Internal),
}

impl std::fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChallengeError::InvalidRequest(why) | ChallengeError::InvalidSession(why) => {
                f.write_str(why)
            }
            ChallengeError::Internal(cause) => cause.fmt(f),
        }
    }
}

impl From<crate::store::StoreError> for ChallengeError {
    fn from(e: crate::store::StoreError) -> ChallengeError {
        ChallengeError::Internal(e.into())
    }
}

/// Why a request object cannot be served.
#[derive(Debug)]
pub enum RequestObjectError {
    /// No pending request of that id (unknown, answered, expired, or a `redirect_uri:` request
    /// that goes by value).
    NotFound,
    Internal(Internal),
}

/// A wallet's response, as posted to the request's response URI.
#[derive(Debug, Clone)]
pub enum ResponseForm {
    /// `direct_post`: `vp_token` (JSON text) and `state`.
    Plain {
        vp_token: String,
        state: Option<String>,
    },
    /// `direct_post.jwt`: the encrypted `response`.
    Encrypted { response: String },
    /// The wallet declined or failed (`error`, `error_description`).
    WalletError {
        error: String,
        description: Option<String>,
        state: Option<String>,
    },
}

/// A verified response's answer to the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// For presentation during issuance: what the wallet sends back to the challenge endpoint.
    pub presentation_during_issuance_session: Option<String>,
    /// For the holder's web page: where a wallet on the same device sends the holder back
    /// (OpenID4VP 1.0 §8.2), the page with a response code that binds the browser that opens
    /// it to this presentation ([`super::journey`]).
    pub redirect_uri: Option<String>,
}

/// Why a response was refused (what the wallet reads, OpenID4VP 1.0 §8.5 codes).
#[derive(Debug)]
pub enum ResponseError {
    /// No request of that id, or its `state` is not the request's.
    UnknownRequest,
    /// The request was already answered (a response is accepted once), or has expired.
    AlreadyAnswered,
    Expired,
    /// `invalid_request`: not a response this verifier can read.
    InvalidRequest(String),
    /// The presentation is refused (`access_denied`); why.
    Refused(String),
    Internal(Internal),
}

impl std::fmt::Display for ResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseError::UnknownRequest => {
                f.write_str("no presentation request of this issuer has this id and `state`")
            }
            ResponseError::AlreadyAnswered => f.write_str(
                "this presentation request was already answered: a response is accepted once",
            ),
            ResponseError::Expired => {
                f.write_str("this presentation request has expired; start again")
            }
            ResponseError::InvalidRequest(why) | ResponseError::Refused(why) => f.write_str(why),
            ResponseError::Internal(cause) => cause.fmt(f),
        }
    }
}

/// A token request of the `authorization_code` grant.
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    pub code: &'a str,
    pub code_verifier: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
}

/// What one prerequisite's verification found, for the audit and the merge.
struct Checked {
    prerequisite: String,
    issuer: Option<String>,
    vct: Option<String>,
    status: Option<(String, u64)>,
    outcome: Result<Map<String, Value>, String>,
}

impl Issuer {
    /// The verifier's client identifier for a request (with its prefix).
    pub fn client_id(&self, presentation_id: &str) -> String {
        match self.verifier.prefix {
            ClientIdPrefix::X509SanDns => format!("x509_san_dns:{}", self.public_host()),
            ClientIdPrefix::X509Hash => format!(
                "x509_hash:{}",
                self.verifier
                    .certificate
                    .as_ref()
                    .map(CertificateChain::x509_hash)
                    .unwrap_or_default()
            ),
            ClientIdPrefix::RedirectUri => {
                format!("redirect_uri:{}", self.response_uri(presentation_id))
            }
        }
    }

    fn public_host(&self) -> String {
        url::Url::parse(&self.settings.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn response_uri(&self, presentation_id: &str) -> String {
        self.url(&format!("{PRESENTATIONS_PATH}/{presentation_id}/response"))
    }

    pub fn request_uri(&self, presentation_id: &str) -> String {
        self.url(&format!("{PRESENTATIONS_PATH}/{presentation_id}/request"))
    }

    /// The authorization challenge (presentation during issuance).
    pub async fn challenge(&self, request: ChallengeRequest) -> Result<Challenge, ChallengeError> {
        match request.auth_session.as_deref() {
            None => self.start_presentation(request).await,
            Some(auth_session) => {
                let session = request
                    .presentation_during_issuance_session
                    .as_deref()
                    .ok_or_else(|| {
                        ChallengeError::InvalidRequest(
                            "`presentation_during_issuance_session` is missing: answer the \
                             presentation request first"
                                .into(),
                        )
                    })?;
                self.authorize_presented(auth_session, session, request.client_id.as_deref())
                    .await
            }
        }
    }

    async fn start_presentation(
        &self,
        request: ChallengeRequest,
    ) -> Result<Challenge, ChallengeError> {
        let invalid = |why: &str| Err(ChallengeError::InvalidRequest(why.to_owned()));
        let Some(offer_id) = request.issuer_state.as_deref() else {
            return invalid(
                "`issuer_state` is missing: start from the issuer's credential offer, whose \
                 authorization_code grant names it",
            );
        };
        match (
            request.code_challenge.as_deref(),
            request.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) if is_pkce_value(challenge) => {}
            (Some(_), Some("S256")) => {
                return invalid("`code_challenge` is not a base64url SHA-256 (43 characters)");
            }
            (Some(_), method) => {
                return Err(ChallengeError::InvalidRequest(format!(
                    "`code_challenge_method` is {}; this issuer requires S256",
                    method.map_or("missing".into(), |m| format!("`{m}`"))
                )));
            }
            (None, _) => return invalid("`code_challenge` is missing: PKCE (S256) is required"),
        }
        let now = self.clock.now();
        let offer = self
            .store
            .offer(offer_id)
            .await?
            .filter(|o| {
                o.state == crate::store::OfferState::Offered
                    && o.expires_at > now
                    && o.needs_presentation
                    && o.presented_at.is_none()
            })
            .ok_or_else(|| {
                ChallengeError::InvalidRequest(
                    "`issuer_state` names no offer waiting for a presentation (unknown, used, \
                     withdrawn or expired); ask the issuer for a new offer"
                        .into(),
                )
            })?;
        if let Some(scope) = request.scope.as_deref()
            && !scope.split(' ').any(|s| s == offer.credential)
        {
            return Err(ChallengeError::InvalidRequest(format!(
                "`scope` is `{}`, but the offer is for `{}`",
                crate::jose::show(scope),
                offer.credential
            )));
        }
        let id = random_token();
        let auth_session = format!("{id}.{}", random_token());
        let presentation = self
            .request_presentation(
                id,
                &offer,
                AuthorizationRequest {
                    auth_session: Some(auth_session.clone()),
                    client_id: request.client_id,
                    code_challenge: request.code_challenge,
                    redirect_uri: request.redirect_uri,
                },
                now,
            )
            .await?;
        Ok(Challenge::PresentationRequired {
            auth_session,
            presentation: self
                .authorization_request_url(&presentation, &offer.credential)
                .map_err(ChallengeError::Internal)?,
        })
    }

    /// Stores a new OpenID4VP request (`pending`) for `offer`, answerable until the
    /// presentation lifetime or the offer runs out. `authorization` is the wallet's side of a
    /// presentation during issuance, or empty for the holder's web page
    /// ([`super::journey`]).
    pub(super) async fn request_presentation(
        &self,
        id: String,
        offer: &Offer,
        authorization: AuthorizationRequest,
        now: i64,
    ) -> Result<Presentation, crate::store::StoreError> {
        let presentation = Presentation {
            id,
            offer_id: offer.id.clone(),
            nonce: random_token(),
            state: PresentationState::Pending,
            authorization,
            session: None,
            code: None,
            code_expires_at: None,
            created_at: now,
            expires_at: (now + self.settings.presentation_lifetime).min(offer.expires_at),
        };
        self.store.create_presentation(&presentation).await?;
        tracing::info!(offer = %presentation.offer_id, presentation = %presentation.id, "presentation requested");
        Ok(presentation)
    }

    async fn authorize_presented(
        &self,
        auth_session: &str,
        session: &str,
        client_id: Option<&str>,
    ) -> Result<Challenge, ChallengeError> {
        let invalid = || {
            ChallengeError::InvalidSession(
                "the `auth_session` and `presentation_during_issuance_session` name no verified \
                 presentation waiting for its code (unknown, refused, used or expired)"
                    .into(),
            )
        };
        let id = auth_session.split_once('.').map_or("", |(id, _)| id);
        let presentation = self.store.presentation(id).await?.ok_or_else(invalid)?;
        let matches = |stored: &Option<String>, given: &str| {
            stored
                .as_deref()
                .is_some_and(|s| constant_time_eq(s, given))
        };
        if !matches(&presentation.authorization.auth_session, auth_session)
            || !matches(&presentation.session, session)
            || presentation.state != PresentationState::Verified
        {
            return Err(invalid());
        }
        if let (Some(stored), Some(given)) = (&presentation.authorization.client_id, client_id)
            && stored != given
        {
            return Err(ChallengeError::InvalidSession(
                "`client_id` is not the one that started this authorization".into(),
            ));
        }
        let now = self.clock.now();
        let code = format!("{id}.{}", random_token());
        let moved = self
            .store
            .advance_presentation(&Advance {
                id,
                from: PresentationState::Verified,
                to: PresentationState::CodeIssued,
                unexpired_at: None,
                code: Some((&code, now + self.settings.authorization_code_lifetime)),
            })
            .await?;
        if !moved {
            return Err(invalid());
        }
        Ok(Challenge::Authorized {
            authorization_code: code,
        })
    }

    /// The URL a wallet opens to answer a presentation request: by reference for the `x509_*`
    /// prefixes, by value (unsigned) for `redirect_uri:`.
    pub fn authorization_request_url(
        &self,
        presentation: &Presentation,
        credential: &str,
    ) -> Result<String, Internal> {
        let client_id = self.client_id(&presentation.id);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("client_id", &client_id);
        match self.verifier.prefix {
            ClientIdPrefix::RedirectUri => {
                for (name, value) in
                    self.request_parameters(presentation, credential, &client_id)?
                {
                    let text = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if name != "client_id" {
                        query.append_pair(&name, &text);
                    }
                }
            }
            ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash => {
                query.append_pair("request_uri", &self.request_uri(&presentation.id));
                query.append_pair("request_uri_method", "post");
            }
        }
        Ok(format!("openid4vp://?{}", query.finish()))
    }

    /// The authorization request's parameters (OpenID4VP 1.0 §5): what the request object signs.
    fn request_parameters(
        &self,
        presentation: &Presentation,
        credential: &str,
        client_id: &str,
    ) -> Result<Map<String, Value>, Internal> {
        let query = self
            .compiled
            .credential(credential)
            .and_then(|c| c.kind.dcql_query.as_ref())
            .ok_or_else(|| Internal(format!("`{credential}` has no DCQL query")))?;
        let mut client_metadata = json!({
            "vp_formats_supported": {
                "dc+sd-jwt": {
                    "sd-jwt_alg_values": presented::ALGORITHMS,
                    "kb-jwt_alg_values": presented::ALGORITHMS,
                }
            }
        });
        if self.verifier.response_mode == ResponseMode::DirectPostJwt {
            let key = self.response_key(&presentation.id);
            client_metadata["jwks"] = json!({"keys": [jwe::public_jwk(&key, RESPONSE_KEY_ID)]});
            client_metadata["encrypted_response_enc_values_supported"] =
                json!(RESPONSE_ENCRYPTIONS);
        }
        let mut parameters = Map::new();
        parameters.insert("client_id".into(), client_id.into());
        parameters.insert("response_type".into(), "vp_token".into());
        parameters.insert(
            "response_mode".into(),
            self.verifier.response_mode.name().into(),
        );
        parameters.insert(
            "response_uri".into(),
            self.response_uri(&presentation.id).into(),
        );
        parameters.insert("nonce".into(), presentation.nonce.clone().into());
        parameters.insert("state".into(), presentation.id.clone().into());
        parameters.insert(
            "dcql_query".into(),
            serde_json::to_value(query).map_err(|e| Internal(e.to_string()))?,
        );
        parameters.insert("client_metadata".into(), client_metadata);
        Ok(parameters)
    }

    /// The signed request object of a pending request (`oauth-authz-req+jwt`, `x5c`), with the
    /// wallet's `wallet_nonce` when it sent one.
    pub async fn request_object(
        &self,
        presentation_id: &str,
        wallet_nonce: Option<&str>,
    ) -> Result<String, RequestObjectError> {
        if self.verifier.prefix == ClientIdPrefix::RedirectUri {
            return Err(RequestObjectError::NotFound);
        }
        let now = self.clock.now();
        let presentation = self
            .store
            .presentation(presentation_id)
            .await
            .map_err(|e| RequestObjectError::Internal(e.into()))?
            .filter(|p| p.state == PresentationState::Pending && p.expires_at > now)
            .ok_or(RequestObjectError::NotFound)?;
        let offer = self
            .store
            .offer(&presentation.offer_id)
            .await
            .map_err(|e| RequestObjectError::Internal(e.into()))?
            .ok_or(RequestObjectError::NotFound)?;
        let client_id = self.client_id(&presentation.id);
        let mut payload = self
            .request_parameters(&presentation, &offer.credential, &client_id)
            .map_err(RequestObjectError::Internal)?;
        payload.insert("aud".into(), "https://self-issued.me/v2".into());
        payload.insert("iat".into(), now.into());
        payload.insert("exp".into(), presentation.expires_at.into());
        if let Some(nonce) = wallet_nonce {
            payload.insert("wallet_nonce".into(), nonce.into());
        }
        let chain = self.verifier.certificate.as_ref().ok_or_else(|| {
            RequestObjectError::Internal(Internal("the verifier has no certificate".into()))
        })?;
        let header = json!({
            "alg": "ES256",
            "typ": "oauth-authz-req+jwt",
            "x5c": chain.x5c(),
        });
        Ok(self.key.sign_jwt_with(&header, &Value::Object(payload)))
    }

    /// This request's response decryption key: derived from the issuer key and the request id,
    /// so every instance sharing the key can read the response without storing a private key.
    fn response_key(&self, presentation_id: &str) -> p256::SecretKey {
        jwe::session_key(
            &self.key.derive_secret("openid4vp response encryption"),
            presentation_id,
        )
    }

    /// Receives a wallet's response to request `presentation_id`, verifies it and, when it
    /// passes, merges the presented claims into the offer. Refusals after the response was read
    /// are audited with the offer.
    pub async fn receive_response(
        &self,
        presentation_id: &str,
        form: ResponseForm,
    ) -> Result<Accepted, ResponseError> {
        let now = self.clock.now();
        let presentation = self
            .store
            .presentation(presentation_id)
            .await
            .map_err(|e| ResponseError::Internal(e.into()))?
            .ok_or(ResponseError::UnknownRequest)?;
        let read = match form {
            ResponseForm::WalletError {
                error,
                description,
                state,
            } => {
                if state.as_deref() != Some(presentation.id.as_str()) {
                    return Err(self
                        .unread(&presentation, now, ResponseError::UnknownRequest)
                        .await);
                }
                let reason = format!(
                    "the wallet answered `{}`{}",
                    crate::jose::show(&error),
                    description
                        .map(|d| format!(": {}", crate::jose::show(&d)))
                        .unwrap_or_default()
                );
                self.claim_response(&presentation, now).await?;
                self.refuse(&presentation, now, None, reason.clone())
                    .await?;
                return Err(ResponseError::Refused(reason));
            }
            form => self.read_response(&presentation, form),
        };
        let vp_token = match read {
            Ok(vp_token) => vp_token,
            Err(refusal) => return Err(self.unread(&presentation, now, refusal).await),
        };
        self.claim_response(&presentation, now).await?;
        match self.verify_and_merge(&presentation, &vp_token, now).await {
            Ok(accepted) => Ok(accepted),
            Err((checked, reason)) => {
                self.refuse(&presentation, now, checked, reason.clone())
                    .await?;
                Err(ResponseError::Refused(reason))
            }
        }
    }

    /// The `vp_token` of a response to `presentation`, decrypted when the request asked for
    /// `direct_post.jwt`, whose `state` must be the request's.
    fn read_response(
        &self,
        presentation: &Presentation,
        form: ResponseForm,
    ) -> Result<String, ResponseError> {
        let (vp_token, state) = match form {
            ResponseForm::Plain { .. }
                if self.verifier.response_mode == ResponseMode::DirectPostJwt =>
            {
                return Err(ResponseError::InvalidRequest(
                    "this request asked for an encrypted response (`direct_post.jwt`): send \
                     `response`, not `vp_token`"
                        .into(),
                ));
            }
            ResponseForm::Plain { vp_token, state } => (vp_token, state),
            ResponseForm::Encrypted { response } => {
                if self.verifier.response_mode != ResponseMode::DirectPostJwt {
                    return Err(ResponseError::InvalidRequest(
                        "this request asked for `direct_post`, not an encrypted `response`".into(),
                    ));
                }
                let key = self.response_key(&presentation.id);
                let decrypted =
                    jwe::decrypt(&response, &key, &RESPONSE_ENCRYPTIONS).map_err(|e| {
                        ResponseError::InvalidRequest(format!(
                            "the encrypted response does not decrypt with this request's key: {e}"
                        ))
                    })?;
                let payload: Value =
                    serde_json::from_slice(&decrypted.plaintext).map_err(|_| {
                        ResponseError::InvalidRequest(
                            "the decrypted response is not a JSON object".into(),
                        )
                    })?;
                let vp_token = match payload.get("vp_token") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => {
                        return Err(ResponseError::InvalidRequest(
                            "the decrypted response has no `vp_token`".into(),
                        ));
                    }
                };
                let state = payload
                    .get("state")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                (vp_token, state)
            }
            ResponseForm::WalletError { .. } => {
                return Err(ResponseError::InvalidRequest(
                    "a wallet's error is not a response".into(),
                ));
            }
        };
        if state.as_deref() != Some(presentation.id.as_str()) {
            return Err(ResponseError::UnknownRequest);
        }
        Ok(vp_token)
    }

    /// A response to an existing request that could not be read (wrong mode, a JWE for another
    /// key, another `state`): audited with the request's offer, the request left waiting for
    /// its own wallet's answer.
    async fn unread(
        &self,
        presentation: &Presentation,
        now: i64,
        refusal: ResponseError,
    ) -> ResponseError {
        let reason = refusal.to_string();
        let checked = Checked {
            prerequisite: String::new(),
            issuer: None,
            vct: None,
            status: None,
            outcome: Err(reason.clone()),
        };
        match self.audit(presentation, now, &checked, Some(reason)).await {
            Ok(()) => refusal,
            Err(internal) => internal,
        }
    }

    /// Takes the request for this response: a request is answered once, and not after it expired.
    async fn claim_response(
        &self,
        presentation: &Presentation,
        now: i64,
    ) -> Result<(), ResponseError> {
        let claimed = self
            .store
            .advance_presentation(&Advance {
                id: &presentation.id,
                from: PresentationState::Pending,
                to: PresentationState::Answered,
                unexpired_at: Some(now),
                code: None,
            })
            .await
            .map_err(|e| ResponseError::Internal(e.into()))?;
        if claimed {
            return Ok(());
        }
        let refusal = if presentation.state == PresentationState::Pending {
            ResponseError::Expired
        } else {
            ResponseError::AlreadyAnswered
        };
        // A late or replayed response is a refused verification too, for the audit.
        let checked = Checked {
            prerequisite: String::new(),
            issuer: None,
            vct: None,
            status: None,
            outcome: Err(refusal.to_string()),
        };
        self.audit(presentation, now, &checked, Some(refusal.to_string()))
            .await?;
        Err(refusal)
    }

    async fn refuse(
        &self,
        presentation: &Presentation,
        now: i64,
        checked: Option<Checked>,
        reason: String,
    ) -> Result<(), ResponseError> {
        tracing::info!(offer = %presentation.offer_id, presentation = %presentation.id, %reason, "presentation refused");
        let _ = self
            .store
            .advance_presentation(&Advance {
                id: &presentation.id,
                from: PresentationState::Answered,
                to: PresentationState::Refused,
                unexpired_at: None,
                code: None,
            })
            .await
            .map_err(|e| ResponseError::Internal(e.into()))?;
        let checked = checked.unwrap_or(Checked {
            prerequisite: String::new(),
            issuer: None,
            vct: None,
            status: None,
            outcome: Err(reason.clone()),
        });
        self.audit(presentation, now, &checked, Some(reason)).await
    }

    async fn audit(
        &self,
        presentation: &Presentation,
        now: i64,
        checked: &Checked,
        reason: Option<String>,
    ) -> Result<(), ResponseError> {
        self.store
            .audit_verification(&Verification {
                presentation_id: presentation.id.clone(),
                offer_id: presentation.offer_id.clone(),
                at: now,
                prerequisite: (!checked.prerequisite.is_empty())
                    .then(|| checked.prerequisite.clone()),
                issuer: checked.issuer.clone(),
                vct: checked.vct.clone(),
                status_uri: checked.status.as_ref().map(|(uri, _)| uri.clone()),
                status_idx: checked.status.as_ref().map(|(_, idx)| *idx as i64),
                outcome: if reason.is_some() {
                    "refused"
                } else {
                    "verified"
                }
                .into(),
                reason,
            })
            .await
            .map_err(|e| ResponseError::Internal(e.into()))
    }

    async fn verify_and_merge(
        &self,
        presentation: &Presentation,
        vp_token: &str,
        now: i64,
    ) -> Result<Accepted, (Option<Checked>, String)> {
        let fail = |why: String| (None, why);
        let offer = self
            .store
            .offer(&presentation.offer_id)
            .await
            .map_err(|e| fail(format!("the issuer could not read the offer: {e}")))?
            .ok_or_else(|| fail("the offer is gone".into()))?;
        let credential = self
            .compiled
            .credential(&offer.credential)
            .ok_or_else(|| fail(format!("`{}` is no longer issued here", offer.credential)))?;
        let token = self
            .verify_vp_token(presentation, vp_token, &credential.kind.prerequisites, now)
            .await?;

        let mut claims: Map<String, Value> = serde_json::from_str(&offer.claims)
            .map_err(|e| fail(format!("the offer's stored claims do not read back: {e}")))?;
        for source in &credential.kind.claims {
            if let Source::Prerequisite {
                prerequisite,
                claim,
            } = &source.source
                && let Some(value) = token
                    .iter()
                    .find(|c| &c.prerequisite == prerequisite)
                    .and_then(|c| c.outcome.as_ref().ok())
                    .and_then(|presented| presented.get(claim))
            {
                claims.insert(source.claim.clone(), value.clone());
            }
        }
        let merged = check_claims(credential, &claims, Stage::Issuance).map_err(|problems| {
            fail(format!(
                "the presented claims do not fit the governance of `{}`: {}",
                credential.kind.id,
                problems
                    .iter()
                    .map(|p| p.detail.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let session = format!("{}.{}", presentation.id, random_token());
        let recorded = self
            .store
            .record_presented(
                &presentation.id,
                &session,
                &Value::Object(merged).to_string(),
                now,
            )
            .await
            .map_err(|e| fail(format!("the issuer could not record the presentation: {e}")))?;
        if !recorded {
            return Err(fail(
                "the offer no longer waits for a presentation (withdrawn, expired or presented)"
                    .into(),
            ));
        }
        for checked in &token {
            self.audit(presentation, now, checked, None)
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        tracing::info!(offer = %presentation.offer_id, presentation = %presentation.id, "presentation verified");
        let during_issuance = presentation.authorization.auth_session.is_some();
        Ok(Accepted {
            presentation_during_issuance_session: during_issuance.then_some(session),
            redirect_uri: (!during_issuance).then(|| self.holder_page_return(presentation)),
        })
    }

    /// Verifies a `vp_token` (`{"<credential query id>": ["<presentation>"]}`) against the
    /// prerequisites: one verified presentation per prerequisite. Independent of how the
    /// response arrived.
    async fn verify_vp_token(
        &self,
        presentation: &Presentation,
        vp_token: &str,
        prerequisites: &[Prerequisite],
        now: i64,
    ) -> Result<Vec<Checked>, (Option<Checked>, String)> {
        let fail = |why: String| (None, why);
        if vp_token.len() > MAX_RESPONSE_BYTES {
            return Err(fail(format!(
                "the `vp_token` has {} bytes; at most {MAX_RESPONSE_BYTES} are accepted",
                vp_token.len()
            )));
        }
        let Ok(Value::Object(token)) = serde_json::from_str::<Value>(vp_token) else {
            return Err(fail(
                "`vp_token` is not a JSON object of presentations by credential query id".into(),
            ));
        };
        let client_id = self.client_id(&presentation.id);
        let mut checked = Vec::with_capacity(prerequisites.len());
        for prerequisite in prerequisites {
            let presented = match token.get(&prerequisite.id) {
                Some(Value::String(one)) => one.as_str(),
                Some(Value::Array(items)) if items.len() == 1 => {
                    items[0].as_str().ok_or_else(|| {
                        fail(format!(
                            "`vp_token.{}` holds no presentation string",
                            prerequisite.id
                        ))
                    })?
                }
                Some(Value::Array(items)) => {
                    return Err(fail(format!(
                        "`vp_token.{}` holds {} presentations; the query asks for one",
                        prerequisite.id,
                        items.len()
                    )));
                }
                _ => {
                    return Err(fail(format!(
                        "`vp_token` has no presentation for `{}`, which the governance requires",
                        prerequisite.id
                    )));
                }
            };
            let one = self
                .verify_presented(
                    prerequisite,
                    presented,
                    &client_id,
                    &presentation.nonce,
                    now,
                )
                .await;
            match &one.outcome {
                Ok(_) => checked.push(one),
                Err(why) => {
                    let why = format!("`{}`: {why}", prerequisite.id);
                    return Err((Some(one), why));
                }
            }
        }
        Ok(checked)
    }

    /// One presented credential, step by step; the outcome says where it stopped.
    async fn verify_presented(
        &self,
        prerequisite: &Prerequisite,
        presented: &str,
        client_id: &str,
        nonce: &str,
        now: i64,
    ) -> Checked {
        let mut checked = Checked {
            prerequisite: prerequisite.id.clone(),
            issuer: None,
            vct: None,
            status: None,
            outcome: Err(String::new()),
        };
        checked.outcome = self
            .verify_steps(prerequisite, presented, client_id, nonce, now, &mut checked)
            .await;
        checked
    }

    async fn verify_steps(
        &self,
        prerequisite: &Prerequisite,
        presented: &str,
        client_id: &str,
        nonce: &str,
        now: i64,
        checked: &mut Checked,
    ) -> Result<Map<String, Value>, String> {
        let parsed = presented::parse(presented).map_err(|e| e.to_string())?;
        let iss = parsed
            .claimed_issuer()
            .ok_or("the credential has no `iss`")?
            .to_owned();
        checked.issuer = Some(iss.clone());
        checked.vct = parsed.claimed_vct().map(str::to_owned);
        // Trust comes from the governance alone, before anything is fetched.
        let trusted =
            admit(&self.compiled.config, prerequisite, &iss).map_err(|e| e.to_string())?;
        let trust: &Trust = &self.verifier.trust;
        let keys = match super::trust::unverified_kid(presented_issuer_jwt(presented)) {
            Some(kid) => trust.keys_with_kid(&trusted, &kid, now).await,
            None => trust.keys(&trusted, now).await,
        }
        .map_err(|e| e.to_string())?;
        let vct = prerequisite
            .vct
            .as_deref()
            .ok_or("the rule's credential type has no SD-JWT VC type")?;
        let issued = parsed
            .verify_issued(&IssuerRules {
                keys: &keys,
                vct,
                now,
                skew: self.settings.proof_max_skew,
            })
            .map_err(|e: Refusal| e.to_string())?;
        if issued.has_unreadable_status() {
            return Err(
                "the credential's `status` is not a `status_list` with `uri` and `idx`".into(),
            );
        }
        if let Some((uri, idx)) = issued.status() {
            checked.status = Some((uri.to_owned(), idx));
            let value = trust
                .status(&trusted, uri, idx, now)
                .await
                .map_err(|e| e.to_string())?;
            if value != 0 {
                return Err(format!(
                    "the credential's status is {} (entry {idx} of {}): it was revoked or suspended",
                    match value {
                        1 => "INVALID".to_owned(),
                        2 => "SUSPENDED".to_owned(),
                        other => format!("0x{other:02x}"),
                    },
                    crate::jose::show(uri)
                ));
            }
        }
        issued
            .verify_holder(&HolderRules {
                audience: client_id,
                nonce,
                now,
                max_age: self.settings.key_binding_max_age,
                skew: self.settings.proof_max_skew,
                claims: &prerequisite.claims,
            })
            .map_err(|e| e.to_string())
    }

    /// Redeems an authorization code (presentation during issuance) for an access token: the
    /// code once, before it expires, with the PKCE verifier of the challenge that started it.
    pub async fn redeem_authorization_code(
        &self,
        request: CodeRequest<'_>,
    ) -> Result<super::redemption::AccessToken, super::redemption::RedeemError> {
        use super::redemption::RedeemError;
        let now = self.clock.now();
        let id = request.code.split_once('.').map_or("", |(id, _)| id);
        let presentation = self
            .store
            .presentation(id)
            .await
            .map_err(|e| RedeemError::Internal(e.into()))?
            .filter(|p| {
                p.code
                    .as_deref()
                    .is_some_and(|c| constant_time_eq(c, request.code))
            })
            .ok_or(RedeemError::UnknownCode)?;
        match presentation.state {
            PresentationState::CodeIssued => {}
            _ => return Err(RedeemError::AlreadyUsed),
        }
        if presentation.code_expires_at.is_none_or(|t| t <= now) {
            return Err(RedeemError::Expired);
        }
        let auth = &presentation.authorization;
        if let Some(challenge) = &auth.code_challenge {
            let Some(verifier) = request.code_verifier else {
                return Err(RedeemError::Pkce("`code_verifier` is missing".into()));
            };
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !constant_time_eq(&computed, challenge) {
                return Err(RedeemError::Pkce(
                    "`code_verifier` does not match the `code_challenge` of the authorization"
                        .into(),
                ));
            }
        }
        if let (Some(stored), Some(given)) = (&auth.client_id, request.client_id)
            && stored != given
        {
            return Err(RedeemError::Pkce(
                "`client_id` is not the one the code was issued to".into(),
            ));
        }
        if let Some(stored) = &auth.redirect_uri
            && request.redirect_uri != Some(stored.as_str())
        {
            return Err(RedeemError::Pkce(
                "`redirect_uri` is not the one of the authorization".into(),
            ));
        }
        let used = self
            .store
            .advance_presentation(&Advance {
                id,
                from: PresentationState::CodeIssued,
                to: PresentationState::Used,
                unexpired_at: None,
                code: None,
            })
            .await
            .map_err(|e| RedeemError::Internal(e.into()))?;
        if !used {
            return Err(RedeemError::AlreadyUsed);
        }
        let offer = self
            .store
            .offer(&presentation.offer_id)
            .await
            .map_err(|e| RedeemError::Internal(e.into()))?
            .ok_or(RedeemError::UnknownCode)?;
        // The presentation and PKCE stand in for the transaction code of the pre-authorised
        // flow: the offer redeems with its own code, once.
        self.redeem_offer(&offer.pre_authorized_code, offer.tx_code.as_deref())
            .await
    }
}

/// The issuer JWT of a presentation (before its first `~`).
fn presented_issuer_jwt(presented: &str) -> &str {
    presented.split('~').next().unwrap_or_default()
}

/// Whether a PKCE value has the S256 shape (43 base64url characters).
fn is_pkce_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The verifier that fetches nothing: a runtime started without outbound HTTP (tests of rules
/// that never verify a presentation).
pub fn offline_verifier() -> Verifier {
    Verifier {
        trust: Trust::new(Arc::new(super::fetch::Offline), Vec::new(), 300),
        certificate: None,
        prefix: ClientIdPrefix::RedirectUri,
        response_mode: ResponseMode::DirectPost,
    }
}
