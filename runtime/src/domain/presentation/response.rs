//! The wallet's response: read (decrypted for `direct_post.jwt`), claimed once, each presented
//! credential verified step by step, the copied claims merged into the offer's and checked, and
//! every outcome audited.

use serde_json::{Map, Value};
use trustc_artifact::{Prerequisite, Source};

use super::*;
use crate::claims::{Stage, check_claims};
use crate::domain::trust::{Trust, admit};
use crate::domain::{Internal, Issuer};
use crate::jwe;
use crate::presented::{self, HolderRules, IssuerRules, Refusal};
use crate::secrets::random_token;
use crate::store::{Advance, Presentation, PresentationState, Verification};

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
    /// it to this presentation ([`crate::domain::journey`]).
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

/// What one prerequisite's verification found, for the audit and the merge.
struct Checked {
    prerequisite: String,
    issuer: Option<String>,
    vct: Option<String>,
    status: Option<(String, u64)>,
    outcome: Result<Map<String, Value>, String>,
}

impl Checked {
    /// A refusal before any presented credential was read (the response as a whole).
    fn before_any(reason: String) -> Checked {
        Checked {
            prerequisite: String::new(),
            issuer: None,
            vct: None,
            status: None,
            outcome: Err(reason),
        }
    }
}

impl Issuer {
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
        let checked = Checked::before_any(reason.clone());
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
        let checked = Checked::before_any(refusal.to_string());
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
        let checked = checked.unwrap_or(Checked::before_any(reason.clone()));
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
            ..Checked::before_any(String::new())
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
        let keys = match crate::domain::trust::unverified_kid(presented_issuer_jwt(presented)) {
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
}

/// The issuer JWT of a presentation (before its first `~`).
fn presented_issuer_jwt(presented: &str) -> &str {
    presented.split('~').next().unwrap_or_default()
}
