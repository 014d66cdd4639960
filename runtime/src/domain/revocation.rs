//! Revocation: the back end withdraws an offer, which revokes every credential it issued, and
//! relying parties read the result in the signed status lists, rebuilt from the store on each
//! request so a revocation shows at once.

use super::offers::{LookupError, OfferStatus};
use super::{Internal, Issuer};
use crate::status::{INVALID, StatusList, status_list_token};

/// A signed Token Status List (`statuslist+jwt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    pub jwt: String,
    /// How long relying parties may cache it, in seconds (its `ttl`).
    pub ttl: i64,
}

impl Issuer {
    /// Withdraws the offer (it can no longer be redeemed or issue) and revokes every credential
    /// it issued; its state afterwards.
    pub async fn revoke_offer(&self, id: &str) -> Result<OfferStatus, LookupError> {
        let now = self.clock.now();
        self.store
            .revoke_offer(id, now)
            .await?
            .ok_or(LookupError::NotFound)?;
        tracing::info!(offer = %id, "offer revoked");
        self.offer_status(id).await
    }

    /// Status list `list_id` as a signed token: every revoked entry set, the others valid.
    /// `NotFound` for a list no credential was ever issued into.
    pub async fn status_list(&self, list_id: i64) -> Result<StatusListToken, LookupError> {
        let (exists, revoked) = self.store.revoked_indices(list_id).await?;
        if !exists {
            return Err(LookupError::NotFound);
        }
        let internal = |e: String| LookupError::Internal(Internal::new(e));
        let mut list =
            StatusList::new(self.settings.status_list_size as usize, 1).map_err(internal)?;
        for idx in revoked {
            list.set(idx as usize, INVALID).map_err(internal)?;
        }
        let ttl = self.settings.status_list_ttl;
        Ok(StatusListToken {
            jwt: status_list_token(
                &self.key,
                self.status_kid(),
                &self.status_list_uri(list_id),
                &list,
                self.clock.now(),
                ttl,
            ),
            ttl,
        })
    }
}
