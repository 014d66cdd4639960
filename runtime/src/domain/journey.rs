//! The holder's web journey: a page per offer for wallets that take only pre-authorised offers
//! (BC Wallet today), which cannot present during issuance.
//!
//! For a credential whose governance names prerequisites, the page first shows an OpenID4VP
//! request (the same verifier as [`super::presentation`], a request with no wallet-side
//! authorization). Once a presentation of it verifies, the page shows the credential offer
//! with its pre-authorised code and transaction code, which any OpenID4VCI wallet redeems. For a
//! credential without prerequisites the page shows the offer at once.
//!
//! The page's address is as secret as the offer's, but whoever opens it must not be able to
//! collect the offer that someone else's presentation unlocked. So each browser gets its own
//! request, and the binding of the browser to it (a cookie the page sets, `<request id>.<MAC>`)
//! is what shows the offer once that request verified. A wallet on the same device sends the
//! holder back with the same binding as a response code in the page's address (OpenID4VP 1.0
//! §8.2 and §13.3), so a browser other than the one that showed the request can continue too.
//! Nothing of this is stored: the binding is a MAC under a key derived from the issuer key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trustc_artifact::{Display, Localized};

use super::Issuer;
use super::offers::{LookupError, credential_offer_link};
use crate::secrets::{constant_time_eq, random_token};
use crate::store::{
    Authorization, AuthorizationKind, AuthorizationRequest, AuthorizationState, Offer, OfferState,
    Presentation, PresentationState,
};

/// Where the holder's pages are served, below the issuer: `/offers/{offer id}`.
pub const HOLDER_PAGES_PATH: &str = "/offers";
/// The query parameter of the response code a wallet's redirect carries back to the page.
pub const RESPONSE_CODE_PARAMETER: &str = "response_code";

/// What the holder's page of an offer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderPage {
    /// Present the prerequisites: this browser's OpenID4VP request, answerable until
    /// `expires_at` (Unix seconds).
    Present {
        /// `openid4vp://?client_id=…&request_uri=…` (or the request by value).
        request_url: String,
        expires_at: i64,
    },
    /// A response to this browser's request arrived and is being verified.
    Checking,
    /// This browser's last presentation was refused: why. Trying again makes a new request.
    Refused { reason: String },
    /// The credential offer, for any OpenID4VCI wallet.
    Offer {
        /// `openid-credential-offer://?credential_offer_uri=…`.
        credential_offer: String,
        /// The transaction code, shown once the holder presented in this browser (the
        /// presentation stands for the other channel); `None` otherwise.
        tx_code: Option<String>,
        /// Whether the wallet will ask for a transaction code.
        tx_code_required: bool,
        /// The governance's description of the transaction code.
        tx_code_description: Option<String>,
    },
    /// The prerequisites were presented, but not from this browser: the offer shows where they
    /// were.
    PresentedElsewhere,
    /// The offer can no longer be redeemed.
    Gone(Gone),
    /// Sign in first, with the governance's provider (`provider`, its qualified id), at `url`.
    SignIn { provider: String, url: String },
    /// Signed in (and presented) for a wallet's authorization request: the browser goes back to
    /// the wallet with the authorization code.
    ToWallet { url: String },
    /// The wallet's authorization was handed its code already: the holder goes on in the wallet.
    BackToWallet,
    /// The offer has as many presentation requests waiting as it may
    /// ([`super::presentation::MAX_PENDING_PRESENTATIONS_PER_OFFER`]): try again in
    /// `retry_after` seconds, or go back to the browser that showed one.
    Busy { retry_after: i64 },
}

/// Why an offer's page shows no offer any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Redeemed by a wallet (and perhaps issued).
    Used,
    /// Withdrawn by the issuer.
    Withdrawn,
    /// Not redeemed in time.
    Expired,
    /// Too many wrong transaction codes.
    Locked,
}

/// One visit of the holder's page.
#[derive(Debug, Clone, Copy, Default)]
pub struct HolderVisit<'a> {
    pub offer_id: &'a str,
    /// The browser's binding to its request, from its cookie.
    pub browser: Option<&'a str>,
    /// The response code of a wallet's redirect: adopted as the browser's binding when valid.
    pub response_code: Option<&'a str>,
    /// The holder asks for a new request after a refusal.
    pub try_again: bool,
    /// The browser's binding to its login, from its login cookie.
    pub login: Option<&'a str>,
}

/// The page of one visit, and the binding the browser is to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderView {
    /// The offered credential type's id.
    pub credential: String,
    pub page: HolderPage,
    /// A new binding of the browser (a new request, or an adopted response code), to set as its
    /// cookie; `None` when it keeps what it has.
    pub browser: Option<String>,
    /// Until when the binding is of use (the offer's expiry), Unix seconds.
    pub binding_expires_at: i64,
}

/// A prerequisite as the page names it, in one locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrerequisiteText {
    /// The prerequisite credential type's name (its id when the configuration has no name).
    pub name: String,
    /// Why the issuer asks for it.
    pub purpose: Option<String>,
}

impl Issuer {
    /// The holder's page of an offer: `<public url>/offers/<id>`.
    pub fn holder_page_url(&self, offer_id: &str) -> String {
        self.url(&format!("{HOLDER_PAGES_PATH}/{offer_id}"))
    }

    /// What the holder's page of an offer shows to this browser, making (or remaking, when the
    /// holder tries again) the browser's presentation request when it needs one. An offer that
    /// was never made, or of a credential type no longer issued here, is not found.
    pub async fn holder_page(&self, visit: HolderVisit<'_>) -> Result<HolderView, LookupError> {
        let now = self.clock.now();
        let offer = self
            .store
            .offer(visit.offer_id)
            .await?
            .ok_or(LookupError::NotFound)?;
        let credential = self
            .compiled
            .credential(&offer.credential)
            .ok_or(LookupError::NotFound)?;
        let view = |page, browser| HolderView {
            credential: offer.credential.clone(),
            page,
            browser,
            binding_expires_at: offer.expires_at,
        };
        if let Some(gone) = gone(&offer, now) {
            return Ok(view(HolderPage::Gone(gone), None));
        }
        let tx_code_description = credential
            .kind
            .authentication
            .tx_code
            .as_ref()
            .and_then(|policy| policy.description.clone());
        let offer_uri = if offer.needs_login {
            self.unlocked_offer_uri(&offer.id)
        } else {
            self.credential_offer_uri(&offer.id)
        };
        let offer_page = |tx_code: Option<String>| HolderPage::Offer {
            credential_offer: credential_offer_link(&offer_uri),
            tx_code_required: offer.tx_code.is_some(),
            tx_code,
            tx_code_description: tx_code_description.clone(),
        };
        // A login in this browser stands for the other channel, as a presentation does: the
        // transaction code is shown.
        let login = if offer.needs_login {
            let mine = self.browser_login(visit.login).await?.filter(|a| {
                a.offer_id.as_deref() == Some(offer.id.as_str())
                    && matches!(
                        a.state,
                        AuthorizationState::LoggedIn
                            | AuthorizationState::CodeIssued
                            | AuthorizationState::Used
                    )
            });
            match mine {
                Some(authorization) => Some(authorization),
                None => {
                    let provider = super::login::authorize::login_provider(credential)
                        .unwrap_or_default()
                        .to_owned();
                    let url = self.url(&format!("{HOLDER_PAGES_PATH}/{}/login", offer.id));
                    return Ok(view(HolderPage::SignIn { provider, url }, None));
                }
            }
        } else {
            None
        };
        if credential.kind.prerequisites.is_empty() {
            // Nothing to present: the page is the offer (and the transaction code goes to the
            // holder another way, as the governance says, unless they signed in here).
            let page = match &login {
                Some(authorization) => {
                    self.after_login_page(authorization, offer_page(offer.tx_code.clone()))
                        .await?
                }
                None => offer_page(None),
            };
            return Ok(view(page, None));
        }

        let adopted = visit
            .response_code
            .filter(|code| self.bound_request(code).is_some());
        let binding = adopted.or(visit.browser);
        let request = match binding.and_then(|b| self.bound_request(b)) {
            Some(id) => self
                .store
                .presentation(id)
                .await?
                .filter(|p| p.offer_id == offer.id && p.authorization.auth_session.is_none()),
            None => None,
        };
        let adopted = adopted.filter(|_| request.is_some()).map(str::to_owned);

        if offer.presented_at.is_some() {
            let page = match (&request, &login) {
                (Some(p), Some(authorization)) if p.state == PresentationState::Verified => {
                    self.after_login_page(authorization, offer_page(offer.tx_code.clone()))
                        .await?
                }
                (Some(p), None) if p.state == PresentationState::Verified => {
                    offer_page(offer.tx_code.clone())
                }
                _ => HolderPage::PresentedElsewhere,
            };
            return Ok(view(page, adopted));
        }
        if let Some(p) = &request {
            let live = p.expires_at > now;
            match p.state {
                PresentationState::Pending if live => {
                    let page = self.present(p, &offer.credential)?;
                    return Ok(view(page, adopted));
                }
                PresentationState::Answered if live => {
                    return Ok(view(HolderPage::Checking, adopted));
                }
                PresentationState::Refused if !visit.try_again => {
                    let reason = self.refusal_reason(p).await?;
                    return Ok(view(HolderPage::Refused { reason }, adopted));
                }
                // Expired, refused and tried again, or (after a crash) stuck: a new request.
                _ => {}
            }
        }
        // Another browser's request is never handed out (it would show that browser's offer):
        // a new request, while the offer has room for one.
        if let Err(retry_after) = self.room_for_presentation(&offer, now).await? {
            return Ok(view(HolderPage::Busy { retry_after }, None));
        }
        let fresh = self
            .request_presentation(random_token(), &offer, AuthorizationRequest::default(), now)
            .await?;
        let page = self.present(&fresh, &offer.credential)?;
        Ok(view(page, Some(self.browser_binding(&fresh.id))))
    }

    /// What a browser that signed in sees once nothing is left to present: the offer (the web
    /// journey), or, for a wallet's authorization, the way back to the wallet with its code.
    async fn after_login_page(
        &self,
        authorization: &Authorization,
        offer_page: HolderPage,
    ) -> Result<HolderPage, LookupError> {
        if authorization.kind != AuthorizationKind::Wallet {
            return Ok(offer_page);
        }
        if authorization.state == AuthorizationState::LoggedIn
            && let Some(url) = self.issue_login_code(authorization).await?
        {
            return Ok(HolderPage::ToWallet { url });
        }
        Ok(HolderPage::BackToWallet)
    }

    /// The name of a login provider (its qualified id) in `locale`.
    pub fn login_provider_name(&self, provider: &str, locale: &str) -> String {
        self.compiled
            .config
            .login_provider(provider)
            .and_then(|p| localized(&p.name, locale))
            .unwrap_or_else(|| provider.to_owned())
    }

    fn present(
        &self,
        presentation: &Presentation,
        credential: &str,
    ) -> Result<HolderPage, LookupError> {
        Ok(HolderPage::Present {
            request_url: self
                .authorization_request_url(presentation, credential)
                .map_err(LookupError::Internal)?,
            expires_at: presentation.expires_at,
        })
    }

    /// Why a presentation was refused, from the audit.
    async fn refusal_reason(&self, presentation: &Presentation) -> Result<String, LookupError> {
        let verifications = self
            .store
            .verifications_of_offer(&presentation.offer_id)
            .await?;
        Ok(verifications
            .into_iter()
            .rev()
            .find(|v| v.presentation_id == presentation.id && v.outcome == "refused")
            .and_then(|v| v.reason)
            .unwrap_or_else(|| "the presentation did not verify".to_owned()))
    }

    /// Where a wallet sends the holder back after a verified presentation of the holder's page:
    /// the page, with the response code that binds the browser to the request.
    pub(super) fn holder_page_return(&self, presentation: &Presentation) -> String {
        format!(
            "{}?{RESPONSE_CODE_PARAMETER}={}",
            self.holder_page_url(&presentation.offer_id),
            self.browser_binding(&presentation.id)
        )
    }

    /// `<request id>.<MAC of the id>`: proves the browser was shown that request.
    fn browser_binding(&self, presentation_id: &str) -> String {
        format!("{presentation_id}.{}", self.binding_mac(presentation_id))
    }

    /// The request a binding names, when its MAC is right.
    fn bound_request<'b>(&self, binding: &'b str) -> Option<&'b str> {
        let (id, mac) = binding.split_once('.')?;
        (!id.is_empty() && constant_time_eq(&self.binding_mac(id), mac)).then_some(id)
    }

    fn binding_mac(&self, presentation_id: &str) -> String {
        let secret = self.key.derive_secret("holder page browser binding");
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(presentation_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The locales of the holder's page of `credential`: its framework's, in the framework's
    /// order; without a credential (an unknown offer), every framework's.
    pub fn holder_locales(&self, credential: Option<&str>) -> Vec<String> {
        let framework = credential
            .and_then(|id| self.compiled.credential(id))
            .map(|c| c.kind.framework.as_str());
        let mut locales: Vec<String> = Vec::new();
        for f in &self.compiled.config.frameworks {
            if framework.is_none_or(|id| id == f.id) {
                for locale in &f.locales {
                    if !locales.contains(locale) {
                        locales.push(locale.clone());
                    }
                }
            }
        }
        locales
    }

    /// How wallets show `credential` in `locale` (the first display when none has that locale).
    pub fn credential_display(&self, credential: &str, locale: &str) -> Option<&Display> {
        let displays = &self.compiled.credential(credential)?.kind.display;
        displays
            .iter()
            .find(|d| d.locale.eq_ignore_ascii_case(locale))
            .or_else(|| displays.first())
    }

    /// The prerequisites of `credential` as the page names them, in `locale`.
    pub fn prerequisite_texts(&self, credential: &str, locale: &str) -> Vec<PrerequisiteText> {
        let Some(credential) = self.compiled.credential(credential) else {
            return Vec::new();
        };
        credential
            .kind
            .prerequisites
            .iter()
            .map(|prerequisite| {
                let name = self
                    .compiled
                    .config
                    .credentials
                    .iter()
                    .find(|c| format!("{}/{}", c.framework, c.id) == prerequisite.credential)
                    .and_then(|c| localized(&c.name, locale))
                    .unwrap_or_else(|| prerequisite.id.clone());
                PrerequisiteText {
                    name,
                    purpose: prerequisite
                        .purpose
                        .as_ref()
                        .and_then(|p| localized(p, locale)),
                }
            })
            .collect()
    }
}

/// Why an offer can no longer be redeemed, if it cannot.
fn gone(offer: &Offer, now: i64) -> Option<Gone> {
    match offer.state {
        OfferState::Offered if offer.expires_at > now => None,
        OfferState::Offered => Some(Gone::Expired),
        OfferState::Redeemed | OfferState::Issued => Some(Gone::Used),
        OfferState::Revoked => Some(Gone::Withdrawn),
        OfferState::Locked => Some(Gone::Locked),
    }
}

/// A text in `locale`, else in its language (`fr` for `fr-CA`), else the first there is.
fn localized(text: &Localized, locale: &str) -> Option<String> {
    let language = locale.split('-').next().unwrap_or(locale);
    text.iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(locale))
        .or_else(|| text.iter().find(|(l, _)| l.eq_ignore_ascii_case(language)))
        .or_else(|| text.iter().next())
        .map(|(_, t)| t.clone())
}
