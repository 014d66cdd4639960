//! The authorization challenge of presentation during issuance, and the authorization code that
//! comes of it: the wallet names the offer and its PKCE challenge, gets an OpenID4VP request,
//! and once its presentation verified, a single-use code the token endpoint redeems with the PKCE
//! verifier.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::{Internal, Issuer};
use crate::secrets::{constant_time_eq, random_token};
use crate::store::{Advance, AuthorizationRequest, Offer, Presentation, PresentationState};

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
    pub state: Option<String>,
    pub resource: Option<String>,
    /// The wallet's DPoP key thumbprint, when it sent a proof.
    pub dpop_jkt: Option<String>,
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
    /// `redirect_to_web`: the credential needs a login, which happens in a browser; the wallet
    /// opens the authorization endpoint with this pushed request.
    RedirectToWeb {
        request_uri: String,
        expires_in: i64,
    },
}

/// Why the challenge endpoint refused.
#[derive(Debug)]
pub enum ChallengeError {
    /// `invalid_request`.
    InvalidRequest(String),
    /// `invalid_session`: the `auth_session` or the presentation's session is unknown, used, or
    /// the presentation did not verify.
    InvalidSession(String),
    /// The offer has [`super::MAX_PENDING_PRESENTATIONS_PER_OFFER`] requests waiting for a
    /// wallet: a new one may be asked for in `retry_after` seconds.
    TooManyRequests {
        retry_after: i64,
    },
    Internal(Internal),
}

impl std::fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChallengeError::InvalidRequest(why) | ChallengeError::InvalidSession(why) => {
                f.write_str(why)
            }
            ChallengeError::TooManyRequests { .. } => write!(
                f,
                "this offer has {} presentation requests waiting for a wallet already",
                super::MAX_PENDING_PRESENTATIONS_PER_OFFER
            ),
            ChallengeError::Internal(cause) => cause.fmt(f),
        }
    }
}

impl From<crate::store::StoreError> for ChallengeError {
    fn from(e: crate::store::StoreError) -> ChallengeError {
        ChallengeError::Internal(e.into())
    }
}

/// A token request of the `authorization_code` grant.
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    pub code: &'a str,
    pub code_verifier: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    /// The thumbprint of the key of the request's DPoP proof, verified and spent
    /// ([`Issuer::accept_dpop_proof`]): bind the token with
    /// `redeem_offer_bound(.., AccessTokenBinding { proven_jkt: this, expected_jkt: the
    /// authorization's dpop_jkt })`.
    pub dpop_jkt: Option<&'a str>,
}

impl Issuer {
    /// The authorization challenge (presentation during issuance).
    pub async fn challenge(&self, request: ChallengeRequest) -> Result<Challenge, ChallengeError> {
        if request.auth_session.is_none() && self.needs_login(&request).await? {
            return self.redirect_to_web(request).await;
        }
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

    /// Whether the challenge is for a credential that needs a login: the offer of
    /// `issuer_state` needs one, or (without an offer) `scope` names a credential of `login`
    /// authentication.
    async fn needs_login(&self, request: &ChallengeRequest) -> Result<bool, ChallengeError> {
        if let Some(offer_id) = request.issuer_state.as_deref() {
            return Ok(self
                .store
                .offer(offer_id)
                .await?
                .is_some_and(|offer| offer.needs_login));
        }
        Ok(request
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter_map(|s| self.compiled.credential(s))
            .any(|c| crate::domain::login::authorize::login_provider(c).is_some()))
    }

    /// The login happens in a browser: the wallet's request is stored as a pushed one and the
    /// wallet is told to open the authorization endpoint with it.
    async fn redirect_to_web(
        &self,
        request: ChallengeRequest,
    ) -> Result<Challenge, ChallengeError> {
        use crate::domain::login::authorize::{AuthorizationParams, RequestError};
        let params = AuthorizationParams {
            response_type: Some("code".into()),
            client_id: request.client_id,
            redirect_uri: request.redirect_uri,
            scope: request.scope,
            issuer_state: request.issuer_state,
            state: request.state,
            code_challenge: request.code_challenge,
            code_challenge_method: request.code_challenge_method,
            resource: request.resource,
            authorization_details: None,
            request_uri: None,
            dpop_jkt: request.dpop_jkt,
        };
        match self.push_authorization(params).await {
            Ok(pushed) => Ok(Challenge::RedirectToWeb {
                request_uri: pushed.request_uri,
                expires_in: pushed.expires_in,
            }),
            Err(RequestError::Internal(cause)) => Err(ChallengeError::Internal(cause)),
            Err(refused) => Err(ChallengeError::InvalidRequest(refused.to_string())),
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
        if let Err(retry_after) = self.room_for_presentation(&offer, now).await? {
            return Err(ChallengeError::TooManyRequests { retry_after });
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

    /// Whether `offer` may have one more request waiting for a wallet at `now`, or in how many
    /// seconds it may ([`super::MAX_PENDING_PRESENTATIONS_PER_OFFER`]).
    pub(in crate::domain) async fn room_for_presentation(
        &self,
        offer: &Offer,
        now: i64,
    ) -> Result<Result<(), i64>, crate::store::StoreError> {
        let pending = self.store.pending_presentations(&offer.id, now).await?;
        if pending.count < super::MAX_PENDING_PRESENTATIONS_PER_OFFER {
            return Ok(Ok(()));
        }
        tracing::info!(offer = %offer.id, pending = pending.count, "presentation requests capped");
        Ok(Err(pending.first_expiry.map_or(1, |at| (at - now).max(1))))
    }

    /// Stores a new OpenID4VP request (`pending`) for `offer`, answerable until the
    /// presentation lifetime or the offer runs out. `authorization` is the wallet's side of a
    /// presentation during issuance, or empty for the holder's web page
    /// ([`super::journey`]).
    pub(in crate::domain) async fn request_presentation(
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

    /// Redeems an authorization code (presentation during issuance) for an access token: the
    /// code once, before it expires, with the PKCE verifier of the challenge that started it.
    pub async fn redeem_authorization_code(
        &self,
        request: CodeRequest<'_>,
    ) -> Result<crate::domain::redemption::AccessToken, crate::domain::redemption::RedeemError>
    {
        use crate::domain::redemption::RedeemError;
        if let Some(redeemed) = self.redeem_login_code(&request).await {
            return redeemed;
        }
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
        // flow: the offer redeems with its own code, once (bound to the key of a DPoP proof, when
        // the token request sent one).
        let binding = crate::domain::redemption::AccessTokenBinding {
            proven_jkt: request.dpop_jkt,
            expected_jkt: None,
        };
        self.redeem_offer_bound(
            &offer.pre_authorized_code,
            offer.tx_code.as_deref(),
            binding,
        )
        .await
    }
}

/// Whether a PKCE value has the S256 shape (43 base64url characters).
pub(crate) fn is_pkce_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
