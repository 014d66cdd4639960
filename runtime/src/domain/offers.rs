//! Offers: the issuer's back end offers a credential for claims it vouches for, checked against
//! the governance before anything is stored; a wallet fetches the offer by reference; the back
//! end asks what became of it.

use rand::Rng;
use serde_json::{Map, Value};
use trustc_artifact::InputMode;

use super::{Internal, Issuer};
use crate::claims::{ClaimProblem, Stage, check_claims};
use crate::compiled::CREDENTIAL_OFFERS_PATH;
use crate::secrets::{new_offer_id, offer_secret};
use crate::store::{LoginAudit, NewOffer, Offer, OfferState, StatusEntry, Verification};

/// Length of a transaction code when the governance does not set one.
const DEFAULT_TX_CODE_LENGTH: u32 = 6;

/// An offer the back end asks for.
#[derive(Debug, Clone)]
pub struct OfferRequest {
    /// The credential type (its configuration id).
    pub credential: String,
    /// The claims the back end vouches for; constants the governance fixes may be left out.
    pub claims: Map<String, Value>,
    /// `Some(true)`: protect the offer with a transaction code even where the governance does
    /// not ask for one; `Some(false)`: without one, which the governance may forbid; `None`: as
    /// the governance says.
    pub tx_code: Option<bool>,
    /// How the wallet redeems the offer; `None`: as the governance says (through a presentation
    /// when it names prerequisites, else with a pre-authorised code).
    pub grant: Option<Grant>,
    /// For a credential of `login` authentication: the provider's `sub` of the person the offer
    /// is meant for; someone else's login is refused.
    pub subject: Option<String>,
}

/// How a wallet redeems an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// A pre-authorised code, at once: only for credentials without prerequisites.
    PreAuthorized,
    /// After presenting the prerequisites the governance names (OpenID4VP): presentation
    /// during issuance (`authorization_code` grant with `issuer_state`), or the holder's web
    /// page, after which the pre-authorised code redeems.
    Presentation,
}

/// An offer made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOffer {
    pub id: String,
    /// Where a wallet fetches the offer.
    pub credential_offer_uri: String,
    /// The transaction code to send the holder another way than the offer.
    pub tx_code: Option<String>,
    /// Until when the pre-authorised code can be redeemed, Unix seconds.
    pub expires_at: i64,
    /// The holder must present the credential's prerequisites first.
    pub presentation_required: bool,
    /// The holder must sign in with the governance's provider first.
    pub login_required: bool,
}

impl CreatedOffer {
    /// The credential offer by reference, for a QR code or a link:
    /// `openid-credential-offer://?credential_offer_uri=…`.
    pub fn credential_offer(&self) -> String {
        credential_offer_link(&self.credential_offer_uri)
    }
}

/// `openid-credential-offer://?credential_offer_uri=<uri>`.
pub(super) fn credential_offer_link(credential_offer_uri: &str) -> String {
    let encoded: String =
        url::form_urlencoded::byte_serialize(credential_offer_uri.as_bytes()).collect();
    format!("openid-credential-offer://?credential_offer_uri={encoded}")
}

/// Why an offer was refused.
#[derive(Debug)]
pub enum OfferError {
    /// The issuer does not issue this credential type over OpenID4VCI.
    UnknownCredential {
        credential: String,
        known: Vec<String>,
    },
    /// The back end asked for no transaction code where the governance requires one.
    TxCodeRequired {
        credential: String,
    },
    /// Claims that do not fit the governance, each with its problem.
    Claims {
        credential: String,
        problems: Vec<ClaimProblem>,
    },
    /// A pre-authorised offer the wallet could redeem without presenting what the governance
    /// requires first.
    PresentationRequired {
        credential: String,
        prerequisites: Vec<String>,
    },
    /// A presentation asked for a credential whose governance names no prerequisite.
    NothingToPresent {
        credential: String,
    },
    /// A pre-authorised offer of a credential the governance issues only after a login.
    LoginRequired {
        credential: String,
    },
    /// A `subject` for a credential whose governance asks for no login.
    SubjectWithoutLogin {
        credential: String,
    },
    Internal(Internal),
}

impl std::fmt::Display for OfferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OfferError::UnknownCredential { credential, known } => write!(
                f,
                "`{credential}` is not a credential type this issuer issues over OpenID4VCI \
                 (it issues `{}`)",
                known.join("`, `")
            ),
            OfferError::TxCodeRequired { credential } => write!(
                f,
                "the governance of `{credential}` requires a transaction code; leave out \
                 `tx_code` or set it to true"
            ),
            OfferError::Claims {
                credential,
                problems,
            } => {
                let count = problems.len();
                write!(
                    f,
                    "{count} claim{} of the offer do{} not fit the governance of `{credential}`",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "es" } else { "" }
                )
            }
            OfferError::PresentationRequired {
                credential,
                prerequisites,
            } => write!(
                f,
                "the governance of `{credential}` requires the holder to present `{}` before it \
                 is issued (issuance.prerequisites): an offer the wallet redeems at once cannot \
                 be made; leave out `grant` (or set it to \"presentation\")",
                prerequisites.join("`, `")
            ),
            OfferError::NothingToPresent { credential } => write!(
                f,
                "the governance of `{credential}` names no prerequisite to present; leave out \
                 `grant` (or set it to \"pre-authorized_code\")"
            ),
            OfferError::LoginRequired { credential } => write!(
                f,
                "the governance of `{credential}` issues it only after the holder signs in \
                 (issuance.authentication.method: login): an offer the wallet redeems at once \
                 cannot be made; leave out `grant`"
            ),
            OfferError::SubjectWithoutLogin { credential } => write!(
                f,
                "`subject` names whom a login must be, but the governance of `{credential}` \
                 asks for no login; leave out `subject`"
            ),
            OfferError::Internal(cause) => cause.fmt(f),
        }
    }
}

/// The offer a wallet fetches by reference: what to redeem and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletOffer {
    pub credential: String,
    pub grant: WalletGrant,
}

/// The grant of an offer, as the wallet sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletGrant {
    PreAuthorized {
        pre_authorized_code: String,
        /// Present when the redemption needs a transaction code.
        tx_code: Option<TxCodeHint>,
    },
    /// The holder signs in or presents the prerequisites first: the `authorization_code`
    /// grant, whose `issuer_state` names the offer at the authorization challenge endpoint or in
    /// the authorization request.
    AuthorizationCode { issuer_state: String },
}

/// What a wallet shows the holder about the transaction code it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxCodeHint {
    /// `numeric` or `text`.
    pub input_mode: &'static str,
    /// How many characters it has.
    pub length: usize,
    pub description: Option<String>,
}

/// An offer's state and what it issued, for the back end (never its secrets or claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferStatus {
    pub id: String,
    pub credential: String,
    /// `offered`, `expired`, `redeemed`, `issued`, `revoked` or `locked`.
    pub state: &'static str,
    pub tx_code_required: bool,
    pub tx_code_attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    /// When the first credential was issued, and how many the offer yielded in all (batches,
    /// and requests made again after a lost answer).
    pub issued_at: Option<i64>,
    pub issued_count: i64,
    pub revoked_at: Option<i64>,
    /// When the prerequisites were presented and verified.
    pub presented_at: Option<i64>,
    /// The provider's `sub` the login must have, when the offer names one.
    pub subject: Option<String>,
    /// When the holder signed in (their claims are then part of the offer).
    pub logged_in_at: Option<i64>,
    pub credentials: Vec<IssuedStatus>,
    /// Every verification of a presentation made for the offer, oldest first.
    pub verifications: Vec<Verification>,
    /// Every login for the offer, oldest first.
    pub logins: Vec<LoginAudit>,
}

/// A credential an offer issued, with its status-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedStatus {
    pub issued_at: i64,
    pub idx: i64,
    /// The status list's URI.
    pub uri: String,
    pub revoked: bool,
}

/// An offer that cannot be found, or the store failing to say.
#[derive(Debug)]
pub enum LookupError {
    NotFound,
    Internal(Internal),
}

impl From<crate::store::StoreError> for LookupError {
    fn from(error: crate::store::StoreError) -> LookupError {
        LookupError::Internal(error.into())
    }
}

impl Issuer {
    /// Checks the claims against the governance, decides the transaction code and stores the
    /// offer.
    pub async fn create_offer(&self, request: OfferRequest) -> Result<CreatedOffer, OfferError> {
        let OfferRequest {
            credential: credential_id,
            claims,
            tx_code: wants_tx_code,
            grant,
            subject,
        } = request;
        let Some(credential) = self.compiled.credential(&credential_id) else {
            return Err(OfferError::UnknownCredential {
                known: self
                    .compiled
                    .credential_ids()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                credential: credential_id,
            });
        };
        let prerequisites: Vec<String> = credential
            .kind
            .prerequisites
            .iter()
            .map(|p| p.id.clone())
            .collect();
        let needs_login = super::login::authorize::login_provider(credential).is_some();
        if needs_login && grant == Some(Grant::PreAuthorized) {
            return Err(OfferError::LoginRequired {
                credential: credential_id,
            });
        }
        if !needs_login && subject.is_some() {
            return Err(OfferError::SubjectWithoutLogin {
                credential: credential_id,
            });
        }
        match (grant, prerequisites.is_empty()) {
            (Some(Grant::PreAuthorized), false) => {
                return Err(OfferError::PresentationRequired {
                    credential: credential_id,
                    prerequisites,
                });
            }
            (Some(Grant::Presentation), true) => {
                return Err(OfferError::NothingToPresent {
                    credential: credential_id,
                });
            }
            _ => {}
        }
        let policy = credential.kind.authentication.tx_code.as_ref();
        let tx_code = match (policy, wants_tx_code) {
            (Some(_), Some(false)) => {
                return Err(OfferError::TxCodeRequired {
                    credential: credential_id,
                });
            }
            (Some(policy), _) => Some(new_tx_code(
                policy.length,
                policy.input_mode == InputMode::Text,
            )),
            (None, Some(true)) => Some(new_tx_code(DEFAULT_TX_CODE_LENGTH, false)),
            (None, _) => None,
        };
        let issued_claims = match check_claims(credential, &claims, Stage::Offer) {
            Ok(claims) => claims,
            Err(problems) => {
                return Err(OfferError::Claims {
                    credential: credential_id,
                    problems,
                });
            }
        };
        let now = self.clock.now();
        let id = new_offer_id();
        let offer = NewOffer {
            pre_authorized_code: offer_secret(&id),
            id,
            tx_code,
            credential: credential_id,
            claims: Value::Object(issued_claims).to_string(),
            created_at: now,
            expires_at: now + self.settings.offer_lifetime,
            needs_presentation: !prerequisites.is_empty(),
            needs_login,
            subject,
            logged_in: None,
        };
        self.store
            .create_offer(&offer)
            .await
            .map_err(|e| OfferError::Internal(e.into()))?;
        tracing::info!(offer = %offer.id, credential = %offer.credential, "offer created");
        Ok(CreatedOffer {
            credential_offer_uri: self.credential_offer_uri(&offer.id),
            id: offer.id,
            tx_code: offer.tx_code,
            expires_at: offer.expires_at,
            presentation_required: !prerequisites.is_empty(),
            login_required: needs_login,
        })
    }

    /// Where a wallet fetches offer `id`: `<public url>/credential-offers/<id>`.
    pub fn credential_offer_uri(&self, id: &str) -> String {
        self.url(&format!("{CREDENTIAL_OFFERS_PATH}/{id}"))
    }

    /// The offer a `credential_offer_uri` points to, while its pre-authorised code can still be
    /// redeemed (a used, withdrawn or expired offer is not found). An offer that needs a login
    /// shows its pre-authorised code only through the address the holder's page gives the
    /// browser that signed in (`unlock`, [`Issuer::unlocked_offer_uri`]): the address the issuer
    /// sent, forwarded, still asks whoever follows it to sign in.
    pub async fn offer_for_wallet(
        &self,
        id: &str,
        unlock: Option<&str>,
    ) -> Result<WalletOffer, LookupError> {
        let now = self.clock.now();
        let offer = self.store.offer(id).await?;
        let Some(offer) = offer.filter(|o| o.state == OfferState::Offered && o.expires_at > now)
        else {
            return Err(LookupError::NotFound);
        };
        let unlocked =
            unlock.is_some_and(|u| crate::secrets::constant_time_eq(u, &self.unlock_mac(id)));
        if (offer.needs_presentation && offer.presented_at.is_none())
            || (offer.needs_login && (offer.logged_in_at.is_none() || !unlocked))
        {
            return Ok(WalletOffer {
                credential: offer.credential,
                grant: WalletGrant::AuthorizationCode {
                    issuer_state: offer.id,
                },
            });
        }
        let tx_code = offer.tx_code.as_deref().map(|code| {
            let policy = self
                .compiled
                .credential(&offer.credential)
                .and_then(|c| c.kind.authentication.tx_code.as_ref());
            TxCodeHint {
                input_mode: policy.map(|p| p.input_mode).unwrap_or_default().name(),
                length: code.chars().count(),
                description: policy.and_then(|p| p.description.clone()),
            }
        });
        Ok(WalletOffer {
            credential: offer.credential,
            grant: WalletGrant::PreAuthorized {
                pre_authorized_code: offer.pre_authorized_code,
                tx_code,
            },
        })
    }

    /// The credential offer URI the holder's page shows the browser that signed in for an offer
    /// that needs a login: with the proof that it did (`?unlock=<MAC of the offer id>`).
    pub fn unlocked_offer_uri(&self, id: &str) -> String {
        format!(
            "{}?unlock={}",
            self.credential_offer_uri(id),
            self.unlock_mac(id)
        )
    }

    fn unlock_mac(&self, id: &str) -> String {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let secret = self.key.derive_secret("credential offer unlock");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The offer's state and the credentials it issued.
    pub async fn offer_status(&self, id: &str) -> Result<OfferStatus, LookupError> {
        let offer = self.store.offer(id).await?.ok_or(LookupError::NotFound)?;
        let statuses = self.store.statuses_of_offer(id).await?;
        let verifications = self.store.verifications_of_offer(id).await?;
        let logins = self.store.logins_of_offer(id).await?;
        Ok(self.status_of(offer, &statuses, verifications, logins))
    }

    fn status_of(
        &self,
        offer: Offer,
        statuses: &[StatusEntry],
        verifications: Vec<Verification>,
        logins: Vec<LoginAudit>,
    ) -> OfferStatus {
        let now = self.clock.now();
        // An offer whose code or access token ran out before it issued can no longer issue.
        let expired = match offer.state {
            OfferState::Offered => offer.expires_at <= now,
            OfferState::Redeemed => offer.token_expires_at.is_some_and(|t| t <= now),
            _ => false,
        };
        OfferStatus {
            state: if expired {
                "expired"
            } else {
                offer.state.as_str()
            },
            tx_code_required: offer.tx_code.is_some(),
            tx_code_attempts: offer.tx_attempts,
            created_at: offer.created_at,
            expires_at: offer.expires_at,
            redeemed_at: offer.redeemed_at,
            issued_at: offer.issued_at,
            issued_count: offer.issued_count,
            revoked_at: offer.revoked_at,
            presented_at: offer.presented_at,
            subject: offer.subject,
            logged_in_at: offer.logged_in_at,
            verifications,
            logins,
            credentials: statuses
                .iter()
                .map(|s| IssuedStatus {
                    issued_at: s.issued_at,
                    idx: s.idx,
                    uri: self.status_list_uri(s.list_id),
                    revoked: s.revoked,
                })
                .collect(),
            id: offer.id,
            credential: offer.credential,
        }
    }
}

/// A fresh transaction code as the governance's policy says.
pub(super) fn new_tx_code_for(policy: &trustc_artifact::TxCode) -> String {
    new_tx_code(policy.length, policy.input_mode == InputMode::Text)
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
