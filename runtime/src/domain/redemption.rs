//! Redemption: a wallet trades the offer's pre-authorised code (and the transaction code the
//! holder was sent) for an access token, once. Five wrong transaction codes invalidate the
//! offer.

use super::{Internal, Issuer};
use crate::secrets::offer_of;
use crate::store::{OfferState, Redeem, Redemption};

/// A token request's grant.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub pre_authorized_code: &'a str,
    pub tx_code: Option<&'a str>,
}

/// An access token handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub access_token: String,
    /// Its lifetime, in seconds.
    pub expires_in: i64,
}

/// Why a code was not redeemed. Every refusal but [`RedeemError::WrongTxCode`] changed nothing.
#[derive(Debug)]
pub enum RedeemError {
    /// No offer has this code.
    UnknownCode,
    Expired,
    /// Invalidated after too many wrong transaction codes.
    Locked,
    /// Withdrawn by the issuer.
    Withdrawn,
    /// Redeemed before.
    AlreadyUsed,
    /// The offer needs a transaction code and none was sent.
    TxCodeMissing,
    /// A transaction code was sent for an offer that has none.
    TxCodeUnexpected,
    /// The holder has not signed in with the login provider yet.
    NotLoggedIn,
    /// The credential's prerequisites have not been presented yet.
    NotPresented,
    /// An authorization code whose PKCE verifier, client or redirect URI does not match.
    Pkce(String),
    /// A wrong transaction code, counted: `left` attempts remain; `locked` once none do.
    WrongTxCode {
        left: i64,
        locked: bool,
    },
    Internal(Internal),
}

impl std::fmt::Display for RedeemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedeemError::UnknownCode => "the pre-authorized code is not valid",
            RedeemError::Expired => {
                "the pre-authorized code has expired; ask the issuer for a new offer"
            }
            RedeemError::Locked => {
                "the pre-authorized code was invalidated after too many wrong transaction codes"
            }
            RedeemError::Withdrawn => "the offer was withdrawn by the issuer",
            RedeemError::AlreadyUsed => "the pre-authorized code was already used",
            RedeemError::TxCodeMissing => {
                "`tx_code` is missing: this offer requires the transaction code sent to the holder"
            }
            RedeemError::TxCodeUnexpected => "`tx_code` was sent but this offer has none",
            RedeemError::NotLoggedIn => {
                "the governance requires the holder to sign in before this offer redeems; sign \
                 in first (the offer's authorization_code grant, or the issuer's page for this \
                 offer)"
            }
            RedeemError::NotPresented => {
                "the governance requires the holder to present a credential before this offer \
                 redeems; present it first (the offer's authorization_code grant, or the \
                 issuer's page for this offer)"
            }
            RedeemError::WrongTxCode { locked: true, .. } => {
                "wrong transaction code; too many attempts, the offer is invalidated"
            }
            RedeemError::WrongTxCode { left, .. } => {
                return write!(f, "wrong transaction code; {left} attempt(s) left");
            }
            RedeemError::Pkce(why) => why,
            RedeemError::Internal(cause) => return cause.fmt(f),
        })
    }
}

impl Issuer {
    /// Redeems a pre-authorised code for an access token bound to its offer (single use: of two
    /// racing redemptions, on any instances, one wins).
    pub async fn redeem(&self, request: TokenRequest<'_>) -> Result<AccessToken, RedeemError> {
        self.redeem_offer(request.pre_authorized_code, request.tx_code)
            .await
    }

    /// Redeems an offer's own code (the pre-authorised grant, or an authorization code standing
    /// in for it after a presentation).
    pub(super) async fn redeem_offer(
        &self,
        code: &str,
        tx_code: Option<&str>,
    ) -> Result<AccessToken, RedeemError> {
        let Some(offer_id) = offer_of(code) else {
            return Err(RedeemError::UnknownCode);
        };
        let now = self.clock.now();
        let lifetime = self.settings.access_token_lifetime;
        let access_token = self.tokens.issue(offer_id, now + lifetime);
        let redemption = self
            .store
            .redeem(&Redeem {
                code,
                tx_code,
                access_token: &access_token,
                token_expires_at: now + lifetime,
                now,
                tx_code_attempts: self.settings.tx_code_attempts,
            })
            .await
            .map_err(|e| RedeemError::Internal(e.into()))?;
        match redemption {
            Redemption::Redeemed {
                offer_id,
                credential,
            } => {
                tracing::info!(offer = %offer_id, credential = %credential, "pre-authorized code redeemed");
                Ok(AccessToken {
                    access_token,
                    expires_in: lifetime,
                })
            }
            Redemption::UnknownCode => Err(RedeemError::UnknownCode),
            Redemption::Expired => Err(RedeemError::Expired),
            Redemption::NotOffered(OfferState::Locked) => Err(RedeemError::Locked),
            Redemption::NotOffered(OfferState::Revoked) => Err(RedeemError::Withdrawn),
            Redemption::NotOffered(_) => Err(RedeemError::AlreadyUsed),
            Redemption::TxCodeMissing => Err(RedeemError::TxCodeMissing),
            Redemption::TxCodeUnexpected => Err(RedeemError::TxCodeUnexpected),
            Redemption::NotLoggedIn => Err(RedeemError::NotLoggedIn),
            Redemption::NotPresented => Err(RedeemError::NotPresented),
            Redemption::WrongTxCode { attempts, locked } => Err(RedeemError::WrongTxCode {
                left: self.settings.tx_code_attempts - attempts,
                locked,
            }),
        }
    }
}
