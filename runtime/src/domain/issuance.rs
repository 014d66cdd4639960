//! Issuance: a wallet holding an access token proves control of one key or several (key proofs
//! over one fresh `c_nonce`) and receives an SD-JWT VC bound to each key, with exactly the
//! claims, disclosures, validity and a status entry of its own that the governance defines.
//!
//! While its access token lives, an offer answers further credential requests, each with a fresh
//! nonce, until it has yielded the governance's `batch.per_offer` credentials: a wallet whose
//! answer was lost asks again, and a wallet that wants unlinkable presentations sends up to
//! `batch.size` proofs in one request (OpenID4VCI 1.0 batch issuance). A nonce (so a proof) is
//! spent once, whatever else is true of the request that replays it.
//!
//! The steps cost what they must and no more: an access token proves itself ([`Issuer::authorize`],
//! arithmetic only) before the request is read; the proofs are verified before the store is
//! asked; the store's one atomic step spends the nonce, counts the credentials on the offer and
//! draws their status entries; only a refused issuance reads the offer, to say why.
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

/// A credential request: the configuration asked for and the wallet's key proofs.
#[derive(Debug, Clone)]
pub struct CredentialRequest<'a> {
    pub configuration_id: &'a str,
    /// The `jwt` key proofs (`openid4vci-proof+jwt`): at least one, at most the configuration's
    /// batch size, each by its own key and all over the same `c_nonce`. One credential per key,
    /// answered in this order.
    pub proofs: Vec<&'a str>,
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
    /// A key proof is refused; why (naming which of several).
    InvalidProof(String),
    /// More key proofs than the configuration's batch size.
    TooManyProofs {
        sent: usize,
        size: u32,
    },
    /// Two key proofs by the same key (positions from 1): each credential needs a key of its own.
    SameKey {
        first: usize,
        second: usize,
    },
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
    /// The offer already yielded every credential it may (`per_offer`).
    Exhausted {
        issued: i64,
        per_offer: u32,
    },
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
    /// The proofs of one request carry different nonces.
    Different,
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
            IssueError::TooManyProofs { sent, size } => write!(
                f,
                "the request has {sent} key proofs but this credential is issued in batches of \
                 at most {size} (batch_credential_issuance); send at most {size}"
            ),
            IssueError::SameKey { first, second } => write!(
                f,
                "proofs {first} and {second} are signed by the same key: each credential is bound \
                 to a key of its own, sign each proof with a different key"
            ),
            IssueError::InvalidNonce(NonceProblem::Expired) => {
                f.write_str("the proof's nonce has expired; get a new one from the nonce endpoint")
            }
            IssueError::InvalidNonce(NonceProblem::Unknown) => f.write_str(
                "the proof's nonce was not issued by this issuer; get one from the nonce endpoint",
            ),
            IssueError::InvalidNonce(NonceProblem::Spent) => f.write_str(
                "the proof's nonce was already used; get a new one from the nonce endpoint",
            ),
            IssueError::InvalidNonce(NonceProblem::Different) => f.write_str(
                "the proofs carry different nonces; get one from the nonce endpoint and sign \
                 every proof of the request with it",
            ),
            IssueError::InvalidToken(why) => why.fmt(f),
            IssueError::OfferedForAnother { offered, requested } => write!(
                f,
                "the access token was issued for `{offered}`, not `{requested}`"
            ),
            IssueError::Withdrawn => f.write_str("the issuer withdrew this offer"),
            IssueError::Exhausted { issued, per_offer } => write!(
                f,
                "this offer already yielded {issued} credentials, the most it may \
                 ({per_offer}); ask the issuer for a new offer"
            ),
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

    /// Verifies the key proofs and their one nonce, spends the nonce and issues the offer's
    /// claims as one SD-JWT VC per proof, bound to the proof's key, each with a status-list
    /// entry of its own when the governance revokes; in the order of the proofs. Fewer than the
    /// proofs when the offer has less room left (`batch.per_offer`).
    pub async fn issue_credential(
        &self,
        authorized: &Authorized<'_>,
        request: CredentialRequest<'_>,
    ) -> Result<Vec<IssuedCredential>, IssueError> {
        let now = self.clock.now();
        let configuration_id = request.configuration_id;
        let Some(credential) = self.compiled.credential(configuration_id) else {
            return Err(IssueError::UnknownConfiguration(
                configuration_id.to_owned(),
            ));
        };
        let batch = credential.kind.batch;
        // Counted before any signature is verified: a request cannot make the issuer verify
        // more proofs than the governance allows.
        if request.proofs.is_empty() {
            return Err(IssueError::InvalidProof(
                "the request has no key proof: send `proofs: {\"jwt\": [<proof>]}`".into(),
            ));
        }
        if request.proofs.len() > batch.size as usize {
            return Err(IssueError::TooManyProofs {
                sent: request.proofs.len(),
                size: batch.size,
            });
        }
        let policy = ProofPolicy {
            audience: &self.settings.public_url,
            algorithms: &credential.proof_algorithms,
            now,
            max_age: self.settings.proof_max_age,
            max_skew: self.settings.proof_max_skew,
        };
        let several = request.proofs.len() > 1;
        let which = |n: usize, why: String| {
            if several {
                format!("proof {}: {why}", n + 1)
            } else {
                why
            }
        };
        let mut verified = Vec::with_capacity(request.proofs.len());
        for (n, proof) in request.proofs.iter().enumerate() {
            let proof = verify_proof(proof, &policy)
                .map_err(|e| IssueError::InvalidProof(which(n, e.0)))?;
            if proof.nonce.is_none() {
                return Err(IssueError::InvalidProof(which(
                    n,
                    "the proof has no `nonce`: get one from the nonce endpoint".into(),
                )));
            }
            verified.push(proof);
        }
        let nonce = verified[0].nonce.as_deref().unwrap_or_default();
        if verified.iter().any(|p| p.nonce.as_deref() != Some(nonce)) {
            return Err(IssueError::InvalidNonce(NonceProblem::Different));
        }
        let nonce_expires_at = self.nonces.check(nonce, now).map_err(|e| {
            IssueError::InvalidNonce(match e {
                SealError::Expired => NonceProblem::Expired,
                SealError::Unknown => NonceProblem::Unknown,
            })
        })?;
        if several {
            distinct_keys(&verified)?;
        }

        let revocable = credential.kind.revocation == trustc_artifact::Revocation::StatusList;
        let issued = self
            .store
            .issue(&Issue {
                offer_id: authorized.offer_id,
                credential: configuration_id,
                now,
                nonce,
                nonce_expires_at,
                count: verified.len() as i64,
                per_offer: i64::from(batch.per_offer),
                revocable,
                list_id: self.current_list(),
                list_size: self.settings.status_list_size,
            })
            .await
            .map_err(|e| IssueError::Internal(e.into()))?;
        let (claims, count, statuses) = match issued {
            Issued::Issued {
                claims,
                count,
                statuses,
            } => (claims, count, statuses),
            Issued::NonceSpent => return Err(IssueError::InvalidNonce(NonceProblem::Spent)),
            Issued::Exhausted { issued } => {
                return Err(IssueError::Exhausted {
                    issued,
                    per_offer: batch.per_offer,
                });
            }
            Issued::NotRedeemed => {
                return Err(self.not_issued(authorized, configuration_id, now).await);
            }
        };
        let mut claims: Map<String, Value> = serde_json::from_str(&claims)
            .map_err(|e| IssueError::Internal(Internal::new(format!("stored claims: {e}"))))?;
        // The dates the governance sets at issuance (`from: issuance`).
        claims.extend(crate::claims::issuance_claims(credential, now));
        let kind = &credential.kind;
        let exp = kind.validity.as_ref().map(|v| now + v.seconds as i64);
        let vct = kind.vct.as_deref().unwrap_or(&kind.id);
        let identity = self.identity(configuration_id);
        let mut credentials = Vec::with_capacity(count as usize);
        for (n, proof) in verified.iter().take(count as usize).enumerate() {
            let status_uri = statuses.get(n).map(|entry| {
                self.list_used(entry.list_id);
                (entry.idx as u64, self.status_list_uri(entry.list_id))
            });
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
                    holder_jwk: &proof.holder_jwk,
                    status: status_uri.as_ref().map(|(idx, uri)| (*idx, uri.as_str())),
                },
            )
            .await
            .map_err(|e| IssueError::Internal(Internal::new(e.0)))?;
            tracing::info!(
                offer = %authorized.offer_id,
                credential = %configuration_id,
                proof_alg = %proof.alg,
                status_index = status_uri.as_ref().map(|s| s.0),
                "credential issued"
            );
            credentials.push(IssuedCredential { credential: issued });
        }
        Ok(credentials)
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
            // Not `redeemed` or `issued` although a live token of this issuer names it: the
            // offer was issued and revoked concurrently, or its state is one no token reaches.
            tracing::warn!(offer = %authorized.offer_id, state = %offer.state, "an access token names an offer that cannot issue");
            IssueError::InvalidToken(TokenError::Unknown)
        }
    }
}

/// Refuses two proofs of one request by the same key (compared by RFC 7638 thumbprint, so the
/// same key written with other members is the same key).
fn distinct_keys(proofs: &[crate::proof::VerifiedProof]) -> Result<(), IssueError> {
    let mut seen: Vec<String> = Vec::with_capacity(proofs.len());
    for (n, proof) in proofs.iter().enumerate() {
        let thumbprint = crate::dpop::jwk_thumbprint(&proof.holder_jwk)
            .map_err(|e| IssueError::InvalidProof(format!("proof {}: {}", n + 1, e.0)))?;
        if let Some(first) = seen.iter().position(|t| *t == thumbprint) {
            return Err(IssueError::SameKey {
                first: first + 1,
                second: n + 1,
            });
        }
        seen.push(thumbprint);
    }
    Ok(())
}
