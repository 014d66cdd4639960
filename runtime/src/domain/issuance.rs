//! Issuance: a wallet holding an access token proves control of a key (a key proof over a fresh
//! `c_nonce`) and receives the SD-JWT VC bound to it, with exactly the claims, disclosures,
//! validity and status entry the governance defines.
//!
//! The steps cost what they must and no more: an access token proves itself ([`Issuer::authorize`],
//! arithmetic only) before the request is read; the proof is verified before the store is
//! asked; the store's one atomic step spends the nonce, marks the offer issued and draws the
//! status entry; only a refused issuance reads the offer, to say why.
//!
//! A token bound to a DPoP key (RFC 9449) is accepted only with a proof by that key
//! ([`Issuer::authorize_dpop`]), and a bearer token only as a bearer token
//! ([`Issuer::authorize`]): the token says which it is, so neither needs the store.

use serde_json::{Map, Value};

use super::redemption::{DpopRefusal, DpopRequest};
use super::{Internal, Issuer};
use crate::dpop::DpopError;
use crate::proof::{ProofPolicy, verify_proof};
use crate::sdjwt::{Issuance, issue};
use crate::sealed::{OpenedToken, SealError};
use crate::store::{Issue, Issued, OfferState};

/// An access token this issuer handed out, still valid: the only way to [`Issuer::issue_credential`].
#[derive(Debug, Clone, Copy)]
pub struct Authorized<'t> {
    token: &'t str,
    offer_id: &'t str,
}

impl Authorized<'_> {
    /// The offer the token was handed out for.
    pub fn offer_id(&self) -> &str {
        self.offer_id
    }
}

/// Why an access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not one this issuer (or a replica sharing its key) handed out, or its offer is gone.
    Unknown,
    Expired,
    /// A token bound to a DPoP key, sent as a bearer token.
    DpopBound,
    /// A bearer token sent with the DPoP scheme.
    NotDpopBound,
    /// A DPoP proof by another key than the one the token is bound to.
    WrongDpopKey,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenError::Unknown => "the access token is unknown",
            TokenError::Expired => "the access token has expired",
            TokenError::DpopBound => {
                "the access token is bound to a DPoP key: send it as `Authorization: DPoP \
                 <token>` with a `DPoP` proof signed by that key"
            }
            TokenError::NotDpopBound => {
                "the access token is not bound to a DPoP key: send it as `Authorization: Bearer \
                 <token>`"
            }
            TokenError::WrongDpopKey => {
                "the DPoP proof is signed by another key than the one the access token is bound to"
            }
        })
    }
}

/// Why a request with a DPoP-bound access token is refused: the token (`invalid_token`) or the
/// proof (`invalid_dpop_proof`).
#[derive(Debug)]
pub enum DpopAccessError {
    Token(TokenError),
    Proof(DpopRefusal),
}

impl std::fmt::Display for DpopAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DpopAccessError::Token(why) => why.fmt(f),
            DpopAccessError::Proof(why) => why.fmt(f),
        }
    }
}

/// A credential request: the configuration asked for and the wallet's one key proof.
#[derive(Debug, Clone, Copy)]
pub struct CredentialRequest<'a> {
    pub configuration_id: &'a str,
    /// The `jwt` key proof (`openid4vci-proof+jwt`).
    pub proof: &'a str,
}

/// An issued credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    /// The SD-JWT VC in its issued form, `<jwt>~<disclosure>~…~`.
    pub credential: String,
}

/// Why a credential was not issued.
#[derive(Debug)]
pub enum IssueError {
    /// The issuer has no such credential configuration.
    UnknownConfiguration(String),
    /// The key proof is refused; why.
    InvalidProof(String),
    InvalidNonce(NonceProblem),
    /// The access token names no offer redeemed for it.
    InvalidToken(TokenError),
    /// The access token was handed out for another credential configuration.
    OfferedForAnother {
        offered: String,
        requested: String,
    },
    /// The issuer withdrew the offer.
    Withdrawn,
    /// The access token already obtained its credential.
    AlreadyIssued,
    Internal(Internal),
}

/// What is wrong with a proof's `c_nonce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceProblem {
    Expired,
    /// Not handed out by this issuer (or a replica sharing its key).
    Unknown,
    /// Used before.
    Spent,
}

impl std::fmt::Display for IssueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueError::UnknownConfiguration(id) => write!(
                f,
                "`{id}` is not a credential configuration of this issuer (see \
                 credential_configurations_supported)"
            ),
            IssueError::InvalidProof(why) => f.write_str(why),
            IssueError::InvalidNonce(NonceProblem::Expired) => {
                f.write_str("the proof's nonce has expired; get a new one from the nonce endpoint")
            }
            IssueError::InvalidNonce(NonceProblem::Unknown) => f.write_str(
                "the proof's nonce was not issued by this issuer; get one from the nonce endpoint",
            ),
            IssueError::InvalidNonce(NonceProblem::Spent) => f.write_str(
                "the proof's nonce was already used; get a new one from the nonce endpoint",
            ),
            IssueError::InvalidToken(why) => why.fmt(f),
            IssueError::OfferedForAnother { offered, requested } => write!(
                f,
                "the access token was issued for `{offered}`, not `{requested}`"
            ),
            IssueError::Withdrawn => f.write_str("the issuer withdrew this offer"),
            IssueError::AlreadyIssued => {
                f.write_str("this access token already obtained its credential")
            }
            IssueError::Internal(cause) => cause.fmt(f),
        }
    }
}

impl Issuer {
    /// A fresh single-use `c_nonce`. Nothing is stored: the nonce proves its origin and expiry
    /// itself ([`crate::sealed`]) and is recorded only when spent.
    pub fn new_nonce(&self) -> String {
        self.nonces
            .issue(self.clock.now() + self.settings.nonce_lifetime)
    }

    /// Checks a bearer access token without the store: it must be one this issuer handed out,
    /// unexpired, and bound to no DPoP key.
    pub fn authorize<'t>(&self, access_token: &'t str) -> Result<Authorized<'t>, TokenError> {
        let opened = self.open_token(access_token)?;
        if opened.jkt.is_some() {
            return Err(TokenError::DpopBound);
        }
        Ok(Authorized {
            token: access_token,
            offer_id: opened.offer_id,
        })
    }

    /// Checks a DPoP-bound access token and the DPoP proof sent with it (`proof`: the `DPoP`
    /// header, for a `method` request to `path` below the public URL): the token as
    /// [`Issuer::authorize`] does (before any signature is verified), bound to a key; then the
    /// proof, its `ath` the token's hash, its key the token's; then its `jti`, spent once.
    pub async fn authorize_dpop<'t>(
        &self,
        access_token: &'t str,
        proof: Option<&str>,
        method: &str,
        path: &str,
    ) -> Result<Authorized<'t>, DpopAccessError> {
        let opened = self
            .open_token(access_token)
            .map_err(DpopAccessError::Token)?;
        let Some(bound_to) = opened.jkt else {
            return Err(DpopAccessError::Token(TokenError::NotDpopBound));
        };
        let Some(proof) = proof else {
            return Err(DpopAccessError::Proof(DpopRefusal::Invalid(DpopError(
                "the request has no `DPoP` header: a DPoP-bound access token needs a DPoP proof \
                 with each request"
                    .into(),
            ))));
        };
        let verified = self
            .verify_dpop_proof(&DpopRequest {
                proof,
                method,
                path,
                access_token: Some(access_token),
            })
            .map_err(DpopAccessError::Proof)?;
        if verified.jkt != bound_to {
            return Err(DpopAccessError::Token(TokenError::WrongDpopKey));
        }
        self.spend_dpop_proof(&verified)
            .await
            .map_err(DpopAccessError::Proof)?;
        Ok(Authorized {
            token: access_token,
            offer_id: opened.offer_id,
        })
    }

    /// An access token this issuer handed out, unexpired.
    fn open_token<'t>(&self, access_token: &'t str) -> Result<OpenedToken<'t>, TokenError> {
        self.tokens
            .check(access_token, self.clock.now())
            .map_err(|e| match e {
                SealError::Expired => TokenError::Expired,
                SealError::Unknown => TokenError::Unknown,
            })
    }

    /// Verifies the key proof and its nonce, spends the nonce and issues the offer's claims as
    /// an SD-JWT VC bound to the proof's key, with a status-list entry when the governance
    /// revokes.
    pub async fn issue_credential(
        &self,
        authorized: &Authorized<'_>,
        request: CredentialRequest<'_>,
    ) -> Result<IssuedCredential, IssueError> {
        let now = self.clock.now();
        let configuration_id = request.configuration_id;
        let Some(credential) = self.compiled.credential(configuration_id) else {
            return Err(IssueError::UnknownConfiguration(
                configuration_id.to_owned(),
            ));
        };
        let policy = ProofPolicy {
            audience: &self.settings.public_url,
            algorithms: &credential.proof_algorithms,
            now,
            max_age: self.settings.proof_max_age,
            max_skew: self.settings.proof_max_skew,
        };
        let verified =
            verify_proof(request.proof, &policy).map_err(|e| IssueError::InvalidProof(e.0))?;
        let Some(nonce) = verified.nonce.as_deref() else {
            return Err(IssueError::InvalidProof(
                "the proof has no `nonce`: get one from the nonce endpoint".into(),
            ));
        };
        let nonce_expires_at = self.nonces.check(nonce, now).map_err(|e| {
            IssueError::InvalidNonce(match e {
                SealError::Expired => NonceProblem::Expired,
                SealError::Unknown => NonceProblem::Unknown,
            })
        })?;

        let revocable = credential.kind.revocation == trustc_artifact::Revocation::StatusList;
        let issued = self
            .store
            .issue(&Issue {
                offer_id: authorized.offer_id,
                credential: configuration_id,
                now,
                nonce,
                nonce_expires_at,
                revocable,
                list_id: self.current_list(),
                list_size: self.settings.status_list_size,
            })
            .await
            .map_err(|e| IssueError::Internal(e.into()))?;
        let (claims, status) = match issued {
            Issued::Issued { claims, status } => (claims, status),
            Issued::NonceSpent => return Err(IssueError::InvalidNonce(NonceProblem::Spent)),
            Issued::NotRedeemed => {
                return Err(self.not_issued(authorized, configuration_id, now).await);
            }
        };
        let mut claims: Map<String, Value> = serde_json::from_str(&claims)
            .map_err(|e| IssueError::Internal(Internal::new(format!("stored claims: {e}"))))?;
        // The dates the governance sets at issuance (`from: issuance`).
        claims.extend(crate::claims::issuance_claims(credential, now));
        let status_uri = status.as_ref().map(|entry| {
            self.list_used(entry.list_id);
            (entry.idx as u64, self.status_list_uri(entry.list_id))
        });
        let kind = &credential.kind;
        let exp = kind.validity.as_ref().map(|v| now + v.seconds as i64);
        let vct = kind.vct.as_deref().unwrap_or(&kind.id);
        let identity = self.identity(configuration_id);
        let issued = issue(
            &self.key,
            &Issuance {
                issuer: &identity.iss,
                kid: &identity.kid,
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
        .map_err(|e| IssueError::Internal(Internal::new(e.0)))?;
        tracing::info!(
            offer = %authorized.offer_id,
            credential = %configuration_id,
            proof_alg = %verified.alg,
            status_index = status_uri.as_ref().map(|s| s.0),
            "credential issued"
        );
        Ok(IssuedCredential { credential: issued })
    }

    /// Why the store would not issue the offer that an access token of this issuer names, for
    /// `configuration_id`. Read only on this failure path, so that issuing reads nothing first.
    async fn not_issued(
        &self,
        authorized: &Authorized<'_>,
        configuration_id: &str,
        now: i64,
    ) -> IssueError {
        let offer = match self
            .store
            .offer_by_access_token(authorized.token, now)
            .await
        {
            Ok(Some(offer)) => offer,
            Ok(None) => {
                tracing::warn!(offer = %authorized.offer_id, "an access token of this issuer names no redeemed offer");
                return IssueError::InvalidToken(TokenError::Unknown);
            }
            Err(error) => return IssueError::Internal(error.into()),
        };
        if offer.credential != configuration_id {
            return IssueError::OfferedForAnother {
                offered: offer.credential,
                requested: configuration_id.to_owned(),
            };
        }
        if offer.state == OfferState::Revoked {
            IssueError::Withdrawn
        } else {
            IssueError::AlreadyIssued
        }
    }
}
