//! The provider's answer (`/login/callback`): which login of this browser it is for, the ID
//! token (and userinfo) verified, the assurance, the claims copied into the offer as the
//! governance says and checked against it, the subject the offer names; then where the holder
//! goes next. Every login and every refusal of an answer this browser's login can be told from is
//! audited (a provider that could not be reached is only logged: the login goes on); nothing is
//! recorded unless everything held.

use serde_json::{Map, Value};
use trustc_artifact::Source;
use trustc_artifact::claim_path;

use super::provider::{Callback, Expected, LoggedIn, assurance_met};
use crate::claims::{Stage, check_claims};
use crate::compiled::Credential;
use crate::domain::journey::HOLDER_PAGES_PATH;
use crate::domain::{Internal, Issuer};
use crate::secrets::{constant_time_eq, new_offer_id, offer_secret};
use crate::store::{
    Authorization, AuthorizationAdvance, AuthorizationKind, AuthorizationState, LoginAudit,
    NewOffer, OfferState, RecordLogin, StoreError,
};

/// What the provider sent back in the browser's query.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207.
    pub iss: Option<String>,
    /// The provider's refusal (`access_denied` when the person cancelled).
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the holder goes after a verified login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterLogin {
    /// Back to the wallet with the authorization code.
    Wallet(String),
    /// To the holder's page of the offer: present the prerequisites there, or collect the offer.
    HolderPage { offer_id: String },
}

/// Why a callback issued nothing.
#[derive(Debug)]
pub enum CallbackError {
    /// No login of this browser waits for this answer (no or a forged cookie, another or a used
    /// `state`, expired): the page says to start again.
    NoLogin(String),
    /// The provider could not be reached or was too slow: the page offers to try again.
    Unreachable(String),
    /// The login was refused (the provider's error, an ID token that did not verify, too low an
    /// assurance, a claim missing or not fitting, another subject than the offer names). For a
    /// wallet's authorization, `wallet_redirect` hands the refusal to the wallet too.
    Refused {
        reason: String,
        wallet_redirect: Option<String>,
    },
    Internal(Internal),
}

impl std::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallbackError::NoLogin(why) | CallbackError::Unreachable(why) => f.write_str(why),
            CallbackError::Refused { reason, .. } => f.write_str(reason),
            CallbackError::Internal(cause) => cause.fmt(f),
        }
    }
}

impl From<StoreError> for CallbackError {
    fn from(e: StoreError) -> CallbackError {
        CallbackError::Internal(e.into())
    }
}

impl Issuer {
    /// `GET /login/callback`.
    pub async fn login_callback(
        &self,
        binding: Option<&str>,
        params: CallbackParams,
    ) -> Result<AfterLogin, CallbackError> {
        let now = self.clock.now();
        let no_login = |why: &str| CallbackError::NoLogin(why.to_owned());
        let authorization = self.browser_login(binding).await?.ok_or_else(|| {
            no_login(
                "this browser has no sign-in waiting for the provider's answer (it was started \
                 in another browser, or cookies are blocked); start again",
            )
        })?;
        let state_matches = match (&authorization.login_state, params.state.as_deref()) {
            (Some(stored), Some(given)) => constant_time_eq(stored, given),
            _ => false,
        };
        let stale = if authorization.state != AuthorizationState::LoggingIn || !state_matches {
            Some(
                "the provider's answer is not for the sign-in this browser is waiting for (its \
                 `state` is another, or the sign-in finished already); start again",
            )
        } else if authorization.expires_at <= now {
            Some("the sign-in took too long and expired; start again")
        } else {
            None
        };
        if let Some(why) = stale {
            // Audited, but the login itself is left as it is: a forged answer must not spoil the
            // real one, which may still arrive.
            self.audit_login(LoginAudit {
                authorization_id: authorization.id.clone(),
                offer_id: authorization.offer_id.clone(),
                at: now,
                provider: authorization.provider.clone(),
                subject: None,
                acr: None,
                outcome: "refused".into(),
                reason: Some(why.to_owned()),
            })
            .await;
            return Err(no_login(why));
        }
        if let Some(error) = params.error.as_deref() {
            let error = super::provider::authorization_error(
                &authorization.provider,
                error,
                params.error_description.as_deref(),
            );
            if error.is_retryable() {
                return Err(CallbackError::Unreachable(error.to_string()));
            }
            return Err(self
                .refuse_login(&authorization, None, error.to_string())
                .await);
        }
        let Some(code) = params.code.as_deref() else {
            return Err(self
                .refuse_login(
                    &authorization,
                    None,
                    "the provider's answer has no `code`".into(),
                )
                .await);
        };
        let providers = self.providers().map_err(CallbackError::Internal)?;
        let (Some(nonce), Some(verifier)) = (
            authorization.login_nonce.as_deref(),
            authorization.login_verifier.as_deref(),
        ) else {
            return Err(CallbackError::Internal(Internal::new(
                "a login in progress has no nonce or verifier".into(),
            )));
        };
        let logged_in = match providers
            .finish(
                &authorization.provider,
                Callback {
                    code,
                    iss: params.iss.as_deref(),
                },
                Expected {
                    nonce,
                    code_verifier: verifier,
                    redirect_uri: &self.login_callback_url(),
                },
                now,
            )
            .await
        {
            Ok(logged_in) => logged_in,
            Err(error) if error.is_retryable() => {
                tracing::warn!(authorization = %authorization.id, %error, "the login provider could not be reached");
                return Err(CallbackError::Unreachable(error.to_string()));
            }
            Err(error) => {
                return Err(self
                    .refuse_login(&authorization, None, error.to_string())
                    .await);
            }
        };
        match self.accept_login(&authorization, &logged_in, now).await {
            Ok(offer_id) => {
                self.audit_login(LoginAudit {
                    authorization_id: authorization.id.clone(),
                    offer_id: Some(offer_id.clone()),
                    at: now,
                    provider: authorization.provider.clone(),
                    subject: Some(logged_in.subject.clone()),
                    acr: logged_in.acr.clone(),
                    outcome: "logged_in".into(),
                    reason: None,
                })
                .await;
                self.after_login(&authorization.id, offer_id).await
            }
            Err(Refusal::Refused(reason)) => Err(self
                .refuse_login(&authorization, Some(&logged_in), reason)
                .await),
            Err(Refusal::Internal(cause)) => Err(CallbackError::Internal(cause)),
        }
    }

    /// Checks the login against the governance and the offer, and records it: on the offer the
    /// authorization names (issuer-initiated), or on an offer made from it, whose id it returns.
    async fn accept_login(
        &self,
        authorization: &Authorization,
        logged_in: &LoggedIn,
        now: i64,
    ) -> Result<String, Refusal> {
        let credential = self
            .compiled
            .credential(&authorization.credential)
            .ok_or_else(|| Refusal::Refused("the credential is no longer issued here".into()))?;
        // Who signed in comes first: an offer for someone else is refused as such, whatever
        // else is true of the login.
        if let Some(offer_id) = authorization.offer_id.as_deref() {
            let offer = self
                .store
                .offer(offer_id)
                .await
                .map_err(|e| Refusal::Internal(e.into()))?;
            if let Some(subject) = offer.as_ref().and_then(|o| o.subject.as_deref())
                && subject != logged_in.subject
            {
                return Err(Refusal::Refused(OTHER_SUBJECT.into()));
            }
        }
        let rule = credential.kind.authentication.login.as_ref();
        if let Some(assurance) = rule.and_then(|r| r.assurance.as_ref()) {
            assurance_met(assurance, logged_in).map_err(Refusal::Refused)?;
        }
        let from_login = login_claims(credential, &logged_in.claims)?;
        let offer_id = match authorization.offer_id.as_deref() {
            Some(offer_id) => {
                self.record_on_offer(offer_id, credential, from_login, logged_in, now)
                    .await?;
                offer_id.to_owned()
            }
            None => {
                self.offer_from_login(credential, from_login, logged_in, now)
                    .await?
            }
        };
        let moved = self
            .store
            .advance_authorization(&AuthorizationAdvance {
                id: &authorization.id,
                from: AuthorizationState::LoggingIn,
                to: AuthorizationState::LoggedIn,
                unexpired_at: Some(now),
                expires_at: None,
                login: None,
                offer_id: Some(&offer_id),
                code: None,
            })
            .await
            .map_err(|e| Refusal::Internal(e.into()))?;
        if !moved {
            return Err(Refusal::Refused(
                "this sign-in finished already (its answer arrived twice)".into(),
            ));
        }
        tracing::info!(authorization = %authorization.id, offer = %offer_id, "logged in");
        Ok(offer_id)
    }

    /// Merges the login's claims into an issuer-initiated offer, once, for the subject it names.
    async fn record_on_offer(
        &self,
        offer_id: &str,
        credential: &Credential,
        from_login: Map<String, Value>,
        logged_in: &LoggedIn,
        now: i64,
    ) -> Result<(), Refusal> {
        let internal = |e: StoreError| Refusal::Internal(e.into());
        let offer = self
            .store
            .offer(offer_id)
            .await
            .map_err(internal)?
            .filter(|o| o.state == OfferState::Offered && o.expires_at > now)
            .ok_or_else(|| {
                Refusal::Refused(
                    "the offer is no longer waiting (used, withdrawn or expired); ask the issuer \
                     for a new one"
                        .into(),
                )
            })?;
        if let Some(subject) = offer.subject.as_deref()
            && subject != logged_in.subject
        {
            return Err(Refusal::Refused(OTHER_SUBJECT.into()));
        }
        if let Some(earlier) = offer.login_subject.as_deref() {
            // Signed in before, perhaps in another browser: the same person may go on here.
            return if earlier == logged_in.subject {
                Ok(())
            } else {
                Err(Refusal::Refused(
                    "someone else signed in for this offer already; ask the issuer for a new one"
                        .into(),
                ))
            };
        }
        let mut claims: Map<String, Value> = serde_json::from_str(&offer.claims).map_err(|e| {
            Refusal::Internal(Internal::new(format!(
                "an offer's claims do not read back: {e}"
            )))
        })?;
        claims.extend(from_login);
        let merged = check_claims(credential, &claims, Stage::Login)
            .map_err(|problems| Refusal::Refused(describe_problems(&problems)))?;
        let recorded = self
            .store
            .record_login(&RecordLogin {
                offer_id,
                claims: &Value::Object(merged).to_string(),
                subject: &logged_in.subject,
                now,
            })
            .await
            .map_err(internal)?;
        if !recorded {
            return Err(Refusal::Refused(
                "the offer changed while you signed in (someone else signed in, or it was used \
                 or withdrawn); ask the issuer for a new one"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A new offer from the login's claims (wallet-initiated, or the web journey of a credential
    /// type), already logged in.
    async fn offer_from_login(
        &self,
        credential: &Credential,
        from_login: Map<String, Value>,
        logged_in: &LoggedIn,
        now: i64,
    ) -> Result<String, Refusal> {
        let claims = check_claims(credential, &from_login, Stage::Login)
            .map_err(|problems| Refusal::Refused(describe_problems(&problems)))?;
        let id = new_offer_id();
        let tx_code = credential
            .kind
            .authentication
            .tx_code
            .as_ref()
            .map(super::super::offers::new_tx_code_for);
        let offer = NewOffer {
            pre_authorized_code: offer_secret(&id),
            id,
            tx_code,
            credential: credential.kind.id.clone(),
            claims: Value::Object(claims).to_string(),
            created_at: now,
            expires_at: now + self.settings.offer_lifetime,
            needs_presentation: !credential.kind.prerequisites.is_empty(),
            needs_login: true,
            subject: None,
            logged_in: Some((now, logged_in.subject.clone())),
        };
        self.store
            .create_offer(&offer)
            .await
            .map_err(|e| Refusal::Internal(e.into()))?;
        tracing::info!(offer = %offer.id, credential = %offer.credential, "offer made after a login");
        Ok(offer.id)
    }

    /// Where the holder goes once logged in: the wallet, with its code, when nothing is left to
    /// present; else the holder's page of the offer.
    async fn after_login(
        &self,
        authorization_id: &str,
        offer_id: String,
    ) -> Result<AfterLogin, CallbackError> {
        let authorization = self
            .store
            .authorization(authorization_id)
            .await?
            .ok_or_else(|| {
                CallbackError::Internal(Internal::new("an authorization vanished".into()))
            })?;
        if authorization.kind == AuthorizationKind::Wallet {
            let offer = self.store.offer(&offer_id).await?;
            let presented =
                offer.is_some_and(|o| !o.needs_presentation || o.presented_at.is_some());
            if presented && let Some(redirect) = self.issue_login_code(&authorization).await? {
                return Ok(AfterLogin::Wallet(redirect));
            }
        }
        Ok(AfterLogin::HolderPage { offer_id })
    }

    /// Refuses the login: the authorization cannot be used any more, the audit says why, and a
    /// wallet hears of it at its redirect URI.
    async fn refuse_login(
        &self,
        authorization: &Authorization,
        logged_in: Option<&LoggedIn>,
        reason: String,
    ) -> CallbackError {
        let now = self.clock.now();
        let moved = self
            .store
            .advance_authorization(&AuthorizationAdvance {
                id: &authorization.id,
                from: AuthorizationState::LoggingIn,
                to: AuthorizationState::Refused,
                unexpired_at: None,
                expires_at: None,
                login: None,
                offer_id: None,
                code: None,
            })
            .await;
        if let Err(error) = moved {
            return CallbackError::Internal(error.into());
        }
        tracing::info!(authorization = %authorization.id, %reason, "login refused");
        self.audit_login(LoginAudit {
            authorization_id: authorization.id.clone(),
            offer_id: authorization.offer_id.clone(),
            at: now,
            provider: authorization.provider.clone(),
            subject: logged_in.map(|l| l.subject.clone()),
            acr: logged_in.and_then(|l| l.acr.clone()),
            outcome: "refused".into(),
            reason: Some(reason.clone()),
        })
        .await;
        let wallet_redirect = match (&authorization.kind, authorization.redirect_uri.as_deref()) {
            (AuthorizationKind::Wallet, Some(redirect_uri)) => Some(super::wallet_redirect(
                redirect_uri,
                &[
                    ("error", Some("access_denied")),
                    ("error_description", Some(&reason)),
                    ("state", authorization.wallet_state.as_deref()),
                    ("iss", Some(&self.settings.public_url)),
                ],
            )),
            _ => None,
        };
        CallbackError::Refused {
            reason,
            wallet_redirect,
        }
    }

    /// Where the holder page of an offer is, for [`AfterLogin::HolderPage`].
    pub fn holder_page_path(&self, offer_id: &str) -> String {
        format!("{HOLDER_PAGES_PATH}/{offer_id}")
    }
}

/// The refusal of a login by someone else than the offer names.
const OTHER_SUBJECT: &str = "this offer was made for someone else (the subject who signed in is not the one it names): \
     sign in as the person it is meant for";

enum Refusal {
    Refused(String),
    Internal(Internal),
}

/// The claims the governance copies from the login, by its names; a required one the login
/// lacks is a refusal (its value is checked with the offer's, [`check_claims`]).
fn login_claims(
    credential: &Credential,
    login: &Map<String, Value>,
) -> Result<Map<String, Value>, Refusal> {
    let kind = &credential.kind;
    let mut copied = Map::new();
    let mut missing = Vec::new();
    for source in &kind.claims {
        let Source::Login { claim } = &source.source else {
            continue;
        };
        let path = claim_path::parse(claim).map_err(|e| {
            Refusal::Internal(Internal::new(format!(
                "the compiled login claim path `{claim}` does not parse: {e}"
            )))
        })?;
        match path.lookup(login).filter(|v| !v.is_null()) {
            Some(value) => {
                copied.insert(source.claim.clone(), value.clone());
            }
            None if kind
                .attribute(&source.claim)
                .is_some_and(|attribute| attribute.required) =>
            {
                missing.push(format!("`{claim}` (for `{}`)", source.claim));
            }
            None => {}
        }
    }
    if missing.is_empty() {
        Ok(copied)
    } else {
        Err(Refusal::Refused(format!(
            "the provider did not send {} which the credential requires",
            missing.join(", ")
        )))
    }
}

/// One sentence for the claims problems of a login.
fn describe_problems(problems: &[crate::claims::ClaimProblem]) -> String {
    let details: Vec<&str> = problems.iter().map(|p| p.detail.as_str()).collect();
    format!(
        "what the provider sent does not fit the credential: {}",
        details.join("; ")
    )
}
