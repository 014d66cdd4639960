//! Redemption: a wallet trades the offer's pre-authorised code (and the transaction code the
//! holder was sent) for an access token, once. Five wrong transaction codes invalidate the
//! offer.
//!
//! A wallet that sends a DPoP proof (RFC 9449) with its token request gets a token bound to the
//! proof's key ([`AccessTokenBinding`]); [`Issuer::accept_dpop_proof`] verifies a proof and
//! spends its `jti`, here and at the credential endpoint.

use super::{Internal, Issuer};
use crate::dpop::{self, DpopError, DpopExpectation, DpopProof};
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
    /// The thumbprint of the DPoP key the token is bound to (its `token_type` is then `DPoP`);
    /// `None` for a bearer token.
    pub dpop_jkt: Option<String>,
}

/// The DPoP binding (RFC 9449) of the access token a token request gets.
///
/// The hook for the authorization code grant: when the authorization request named a key
/// (`dpop_jkt`, or the key of the DPoP proof sent with the pushed authorization request), pass
/// it as `expected_jkt`, and the token request must prove that key (RFC 9449 §10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessTokenBinding<'a> {
    /// The thumbprint of the key of the token request's DPoP proof, verified and spent by
    /// [`Issuer::accept_dpop_proof`]; `None` when the request had no proof.
    pub proven_jkt: Option<&'a str>,
    /// The thumbprint the authorization request bound the code to, if it did.
    pub expected_jkt: Option<&'a str>,
}

impl<'a> AccessTokenBinding<'a> {
    /// A bearer token: no proof, and none expected.
    pub const BEARER: AccessTokenBinding<'static> = AccessTokenBinding {
        proven_jkt: None,
        expected_jkt: None,
    };

    /// The key the access token is bound to (`None`: a bearer token), or why the token request
    /// is refused: an authorization bound to a key needs a proof by that key.
    pub fn jkt(&self) -> Result<Option<&'a str>, RedeemError> {
        match (self.expected_jkt, self.proven_jkt) {
            (None, proven) => Ok(proven),
            (Some(expected), Some(proven)) if expected == proven => Ok(Some(proven)),
            (Some(_), Some(_)) => Err(RedeemError::DpopBinding(
                "the DPoP proof is signed by another key than the one the authorization request \
                 named (`dpop_jkt`)",
            )),
            (Some(_), None) => Err(RedeemError::DpopBinding(
                "the authorization request named a DPoP key (`dpop_jkt`): the token request needs \
                 a `DPoP` proof signed by it",
            )),
        }
    }
}

/// Where a DPoP proof was sent, as the wire says it: the proof must name this request.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The `DPoP` header's value.
    pub proof: &'a str,
    /// The request's method (`POST`).
    pub method: &'a str,
    /// The endpoint's path below the issuer's public URL (`/token`, `/credential`).
    pub path: &'a str,
    /// The access token sent with the proof, at the credential endpoint.
    pub access_token: Option<&'a str>,
}

/// Why a DPoP proof was refused (`invalid_dpop_proof`).
#[derive(Debug)]
pub enum DpopRefusal {
    /// The proof itself is wrong; why.
    Invalid(DpopError),
    /// The proof's `jti` was used before.
    Replayed,
    Internal(Internal),
}

impl std::fmt::Display for DpopRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DpopRefusal::Invalid(why) => why.fmt(f),
            DpopRefusal::Replayed => f.write_str(
                "the DPoP proof was used before (its `jti` is spent); make a new proof for each \
                 request",
            ),
            DpopRefusal::Internal(cause) => cause.fmt(f),
        }
    }
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
    /// The authorization was bound to a DPoP key the token request does not prove.
    DpopBinding(&'static str),
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
                "too many wrong transaction codes: the pre-authorized code is invalidated; ask the \
                 issuer for a new offer"
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
                "wrong transaction code; too many wrong transaction codes: the offer is \
                 invalidated; ask the issuer for a new offer"
            }
            RedeemError::WrongTxCode { left, .. } => {
                return write!(f, "wrong transaction code; {left} attempt(s) left");
            }
            RedeemError::Pkce(why) => why,
            RedeemError::DpopBinding(why) => why,
            RedeemError::Internal(cause) => return cause.fmt(f),
        })
    }
}

impl Issuer {
    /// Redeems a pre-authorised code for a bearer access token bound to its offer (single use: of
    /// two racing redemptions, on any instances, one wins).
    pub async fn redeem(&self, request: TokenRequest<'_>) -> Result<AccessToken, RedeemError> {
        self.redeem_bound(request, AccessTokenBinding::BEARER).await
    }

    /// [`Issuer::redeem`], the access token bound as `binding` says (a DPoP key, or none).
    pub async fn redeem_bound(
        &self,
        request: TokenRequest<'_>,
        binding: AccessTokenBinding<'_>,
    ) -> Result<AccessToken, RedeemError> {
        self.redeem_offer_bound(request.pre_authorized_code, request.tx_code, binding)
            .await
    }

    /// Redeems an offer's own code (the pre-authorised grant, or an authorization code standing
    /// in for it after a login or a presentation) for an access token bound as `binding` says; a
    /// binding the request does not satisfy is refused before the code is spent.
    pub(super) async fn redeem_offer_bound(
        &self,
        code: &str,
        tx_code: Option<&str>,
        binding: AccessTokenBinding<'_>,
    ) -> Result<AccessToken, RedeemError> {
        let Some(offer_id) = offer_of(code) else {
            return Err(RedeemError::UnknownCode);
        };
        let jkt = binding.jkt()?;
        let now = self.clock.now();
        let lifetime = self.settings.access_token_lifetime;
        let access_token = self.tokens.issue(offer_id, jkt, now + lifetime);
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
                tracing::info!(offer = %offer_id, credential = %credential, dpop = jkt.is_some(), "pre-authorized code redeemed");
                Ok(AccessToken {
                    access_token,
                    expires_in: lifetime,
                    dpop_jkt: jkt.map(str::to_owned),
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

    /// Verifies a DPoP proof for the request `request` describes (RFC 9449 §4.3: the proof's
    /// signature by its own public key, `typ`, `alg`, a fresh `iat`, `htm`, `htu` and, with an
    /// access token, `ath`), then spends its `jti` in the store, once across instances, for as
    /// long as the proof would be accepted. The proof's key thumbprint is then the caller's to
    /// bind a token to, or to compare with a token's.
    pub async fn accept_dpop_proof(
        &self,
        request: DpopRequest<'_>,
    ) -> Result<DpopProof, DpopRefusal> {
        let proof = self.verify_dpop_proof(&request)?;
        self.spend_dpop_proof(&proof).await?;
        Ok(proof)
    }

    /// [`Issuer::accept_dpop_proof`] without spending the `jti`.
    pub(super) fn verify_dpop_proof(
        &self,
        request: &DpopRequest<'_>,
    ) -> Result<DpopProof, DpopRefusal> {
        let url = format!("{}{}", self.settings.public_url, request.path);
        dpop::verify_proof(
            request.proof,
            &DpopExpectation {
                method: request.method,
                url: &url,
                access_token: request.access_token,
                now: self.clock.now(),
                max_age: self.settings.proof_max_age,
                max_skew: self.settings.proof_max_skew,
            },
        )
        .map_err(DpopRefusal::Invalid)
    }

    /// A proof's `jti` is used once while the proof is fresh.
    pub(super) async fn spend_dpop_proof(&self, proof: &DpopProof) -> Result<(), DpopRefusal> {
        let first = self
            .store
            .spend_once(&proof.replay_key(), proof.replay_until)
            .await
            .map_err(|e| DpopRefusal::Internal(e.into()))?;
        if first {
            Ok(())
        } else {
            Err(DpopRefusal::Replayed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    const OTHER: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    fn binding(
        proven: Option<&'static str>,
        expected: Option<&'static str>,
    ) -> AccessTokenBinding<'static> {
        AccessTokenBinding {
            proven_jkt: proven,
            expected_jkt: expected,
        }
    }

    #[test]
    fn a_token_is_bound_to_the_proven_key_and_an_authorization_names_the_key_it_needs() {
        // Nothing expected: bound to the proof's key, or a bearer token without one.
        assert_eq!(AccessTokenBinding::BEARER.jkt().unwrap(), None);
        assert_eq!(binding(Some(KEY), None).jkt().unwrap(), Some(KEY));
        // An authorization bound to a key: only a proof by that key redeems it.
        assert_eq!(binding(Some(KEY), Some(KEY)).jkt().unwrap(), Some(KEY));
        let other = binding(Some(OTHER), Some(KEY)).jkt().unwrap_err();
        assert!(
            other
                .to_string()
                .starts_with("the DPoP proof is signed by another key"),
            "{other}"
        );
        let missing = binding(None, Some(KEY)).jkt().unwrap_err();
        assert!(
            matches!(missing, RedeemError::DpopBinding(_))
                && missing.to_string().contains("needs a `DPoP` proof"),
            "{missing}"
        );
    }
}
