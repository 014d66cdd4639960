//! The PostgreSQL backend (sqlx): what several instances behind a load balancer share.
//!
//! Each operation is one statement, so it costs one round trip and is atomic on its own; the
//! credential issuance — offer `redeemed` → `issued`, nonce spent, status entry — is a single
//! statement of data-modifying CTEs. Concurrency is left to PostgreSQL's row locks and unique
//! indexes: a second `UPDATE … WHERE state = 'redeemed'` waits for the first and then finds no
//! row; a second spend of a nonce waits for the first and then violates `spent_nonces_pkey`,
//! which aborts its whole statement (nothing of it is kept). Only revocation, which is rare and
//! reads back what it changed, is a transaction of several statements.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};

use super::{
    Advance, Authorization, AuthorizationAdvance, AuthorizationRequest, Issue, Issued, LoginAudit,
    MIGRATOR, NewOffer, Offer, OfferState, POSTGRES_CONNECTIONS, PendingPresentations,
    Presentation, RecordLogin, Redeem, Redemption, StatusEntry, StoreError, Verdict, Verification,
    distinct_slots, failed, judge, status_index_candidates, unreachable,
};

/// How long `trustc serve` waits at start for a PostgreSQL server that refuses connections.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// A PostgreSQL database. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub(super) struct PgStore {
    pool: PgPool,
    /// The URL with the password hidden, for messages.
    url: String,
}

/// The issuance statement, one atomic step. `offer` locks a `redeemed` or `issued` offer of
/// credential configuration `$5` (the latest version of its row: concurrent requests of one
/// offer count in turn) and grants the request its `$6` credentials or the room left below
/// `$7` (`per_offer`). The offer moves only if something is granted and the nonce was not spent
/// before (`spent_before`); the nonce and one status entry per granted credential (the first
/// of the `$8`/`$9` list and index slots; none when the arrays are empty) are inserted only for
/// an offer that moved (`FROM issued`). A nonce spent concurrently fails on its primary key.
/// One row comes back: the claims and the number granted (null when nothing was issued),
/// whether the nonce was spent before, and the offer's count before (null: no such offer).
const ISSUE: &str = "WITH spent_before AS (\
         SELECT 1 FROM spent_nonces WHERE nonce = $3 AND expires_at = $4), \
     offer AS (SELECT id, claims, issued_count, LEAST($6::bigint, $7::bigint - issued_count) \
         AS granted FROM offers \
         WHERE id = $1 AND state IN ('redeemed', 'issued') AND credential = $5 FOR UPDATE), \
     issued AS (UPDATE offers o SET state = 'issued', issued_at = COALESCE(o.issued_at, $2), \
         issued_count = o.issued_count + offer.granted FROM offer \
         WHERE o.id = offer.id AND offer.granted > 0 AND NOT EXISTS (SELECT 1 FROM spent_before) \
         RETURNING o.id, offer.claims, offer.granted), \
     spent AS (INSERT INTO spent_nonces (nonce, expires_at) SELECT $3, $4 FROM issued), \
     entries AS (INSERT INTO status_entries (list_id, idx, offer_id, revoked, issued_at) \
         SELECT s.list_id, s.idx, issued.id, 0, $2 FROM issued, \
         unnest($8::bigint[], $9::bigint[]) WITH ORDINALITY AS s(list_id, idx, n) \
         WHERE s.n <= issued.granted) \
     SELECT (SELECT claims FROM issued), (SELECT granted FROM issued), \
         EXISTS (SELECT 1 FROM spent_before), (SELECT issued_count FROM offer)";

impl PgStore {
    pub(super) async fn open(
        url: &str,
        shown: String,
        acquire_timeout: Duration,
    ) -> Result<PgStore, StoreError> {
        // A server starting beside the issuer (containers started together) is waited for, up
        // to STARTUP_WAIT; each attempt already retries a refused connection for the acquire timeout.
        let started = std::time::Instant::now();
        let pool = loop {
            match PgStore::pool(url, acquire_timeout).await {
                Ok(pool) => break pool,
                Err(e) if is_outage(&e) && started.elapsed() < STARTUP_WAIT => continue,
                Err(e) => {
                    return Err(StoreError::new(format!(
                        "cannot open the database `{shown}`: {e}"
                    )));
                }
            }
        };
        // sqlx's migrator takes an advisory lock: instances starting together migrate once.
        MIGRATOR.run(&pool).await.map_err(|e| {
            StoreError::new(format!(
                "cannot run the database migrations on `{shown}`: {e}"
            ))
        })?;
        Ok(PgStore { pool, url: shown })
    }

    /// The connection pool, with one connection open.
    async fn pool(url: &str, acquire_timeout: Duration) -> Result<PgPool, sqlx::Error> {
        PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            // While the server is down, sqlx keeps trying to connect until this runs out; then
            // the statement fails as unavailable (`is_outage`), within the request timeout.
            .acquire_timeout(acquire_timeout)
            // sqlx would ping before every query (a round trip each); ping only connections that
            // sat idle, the ones a server restart may have broken.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= Duration::from_secs(10) {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }

    fn failed(&self, what: &str, e: sqlx::Error) -> StoreError {
        if is_outage(&e) {
            unreachable(&self.url, what, e)
        } else {
            failed(&self.url, what, e)
        }
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| self.failed("reach the database", e))?;
        Ok(())
    }

    pub(super) async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO offers (id, pre_authorized_code, tx_code, credential, claims, state, \
             tx_attempts, created_at, expires_at, needs_presentation, needs_login, subject, \
             logged_in_at, login_subject) \
             VALUES ($1, $2, $3, $4, $5, 'offered', 0, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&offer.id)
        .bind(&offer.pre_authorized_code)
        .bind(offer.tx_code.as_deref())
        .bind(&offer.credential)
        .bind(&offer.claims)
        .bind(offer.created_at)
        .bind(offer.expires_at)
        .bind(i64::from(offer.needs_presentation))
        .bind(i64::from(offer.needs_login))
        .bind(offer.subject.as_deref())
        .bind(offer.logged_in.as_ref().map(|(at, _)| *at))
        .bind(offer.logged_in.as_ref().map(|(_, sub)| sub.as_str()))
        .execute(&self.pool)
        .await
        .map_err(|e| self.failed(&format!("create offer `{}`", offer.id), e))?;
        Ok(())
    }

    pub(super) async fn offer(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            offer_columns!(),
            " FROM offers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.failed(&format!("read offer `{id}`"), e))?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// One round trip when the code redeems: an `UPDATE` guarded by exactly the conditions
    /// under which [`judge`] redeems (a racing redeemer of the same code waits for it and then
    /// finds nothing to change). Otherwise the offer is read and judged, to say why, or to count
    /// a wrong transaction code. (The comparisons in SQL are not constant-time, and need not be:
    /// the code is in the offer document its id serves, and a transaction code gets a handful of
    /// attempts, each counted.)
    pub(super) async fn redeem(
        &self,
        offer_id: &str,
        redeem: &Redeem<'_>,
        token_hash: &str,
    ) -> Result<Redemption, StoreError> {
        let what = "redeem a pre-authorized code";
        let redeemed: Option<String> = sqlx::query_scalar(
            "UPDATE offers SET state = 'redeemed', redeemed_at = $3, access_token_hash = $5, \
             token_expires_at = $6 WHERE id = $1 AND pre_authorized_code = $2 \
             AND state = 'offered' AND expires_at > $3 AND tx_code IS NOT DISTINCT FROM $4 \
             AND (logged_in_at IS NOT NULL OR needs_login = 0) \
             AND (presented_at IS NOT NULL OR needs_presentation = 0) RETURNING credential",
        )
        .bind(offer_id)
        .bind(redeem.code)
        .bind(redeem.now)
        .bind(redeem.tx_code)
        .bind(token_hash)
        .bind(redeem.token_expires_at)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.failed(what, e))?;
        if let Some(credential) = redeemed {
            return Ok(Redemption::Redeemed {
                offer_id: offer_id.to_owned(),
                credential,
            });
        }
        let Some(offer) = self.offer(offer_id).await? else {
            return Ok(Redemption::UnknownCode);
        };
        match judge(&offer, redeem.code, redeem.tx_code, redeem.now) {
            Verdict::Refuse(refusal) => Ok(refusal),
            // The guarded `UPDATE` above found it otherwise, and an offer never becomes
            // `offered` again: another instance redeemed it in between.
            Verdict::Redeem => Ok(Redemption::NotOffered(OfferState::Redeemed)),
            Verdict::CountWrongTxCode => {
                let row = sqlx::query(
                    "UPDATE offers SET tx_attempts = tx_attempts + 1, state = CASE \
                     WHEN state = 'offered' AND tx_attempts + 1 >= $2 THEN 'locked' ELSE state END \
                     WHERE id = $1 RETURNING tx_attempts, state",
                )
                .bind(&offer.id)
                .bind(redeem.tx_code_attempts)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.failed(what, e))?;
                let attempts: i64 = row.try_get(0).map_err(|e| self.failed(what, e))?;
                let state: String = row.try_get(1).map_err(|e| self.failed(what, e))?;
                Ok(Redemption::WrongTxCode {
                    attempts,
                    locked: state == OfferState::Locked.as_str(),
                })
            }
        }
    }

    pub(super) async fn issue(&self, issue: &Issue<'_>) -> Result<Issued, StoreError> {
        let what = || format!("issue offer `{}`", issue.offer_id);
        let mut candidates = status_index_candidates(issue.list_id, issue.list_size);
        loop {
            let slots = if issue.revocable {
                distinct_slots(&mut candidates, issue.count as usize).ok_or_else(|| {
                    StoreError::new(format!("cannot {}: no status list has room", what()))
                })?
            } else {
                Vec::new()
            };
            let (lists, indices): (Vec<i64>, Vec<i64>) = slots.iter().copied().unzip();
            let row = sqlx::query_as::<_, (Option<String>, Option<i64>, bool, Option<i64>)>(ISSUE)
                .bind(issue.offer_id)
                .bind(issue.now)
                .bind(issue.nonce)
                .bind(issue.nonce_expires_at)
                .bind(issue.credential)
                .bind(issue.count)
                .bind(issue.per_offer)
                .bind(lists)
                .bind(indices)
                .fetch_one(&self.pool)
                .await;
            match row {
                Ok((_, _, true, _)) => return Ok(Issued::NonceSpent),
                Ok((Some(claims), Some(count), false, _)) => {
                    let statuses = slots
                        .into_iter()
                        .take(count as usize)
                        .map(|(list_id, idx)| StatusEntry {
                            list_id,
                            idx,
                            revoked: false,
                            issued_at: issue.now,
                        })
                        .collect();
                    return Ok(Issued::Issued {
                        claims,
                        count,
                        statuses,
                    });
                }
                Ok((_, _, false, None)) => return Ok(Issued::NotRedeemed),
                Ok((_, _, false, Some(issued))) => return Ok(Issued::Exhausted { issued }),
                Err(e) if violates(&e, "spent_nonces_pkey") => return Ok(Issued::NonceSpent),
                // Another credential has one of those indices: nothing was kept, try others.
                Err(e) if violates(&e, "status_entries_pkey") => continue,
                Err(e) => return Err(self.failed(&what(), e)),
            }
        }
    }

    pub(super) async fn revoke_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<Vec<StatusEntry>>, StoreError> {
        let what = || format!("revoke offer `{id}`");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.failed(&what(), e))?;
        let moved = sqlx::query(
            "UPDATE offers SET state = 'revoked', revoked_at = $2 WHERE id = $1 AND state <> 'revoked'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        if moved.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM offers WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.failed(&what(), e))?
                .is_some();
            if !exists {
                tx.rollback().await.map_err(|e| self.failed(&what(), e))?;
                return Ok(None);
            }
        }
        sqlx::query("UPDATE status_entries SET revoked = 1 WHERE offer_id = $1 AND revoked = 0")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.failed(&what(), e))?;
        let rows = sqlx::query(
            "SELECT list_id, idx, revoked, issued_at FROM status_entries WHERE offer_id = $1 \
             ORDER BY list_id, idx",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        tx.commit().await.map_err(|e| self.failed(&what(), e))?;
        rows.iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|e| self.failed(&what(), e))
    }

    pub(super) async fn statuses_of_offer(&self, id: &str) -> Result<Vec<StatusEntry>, StoreError> {
        self.rows_of_offer(
            "SELECT list_id, idx, revoked, issued_at FROM status_entries WHERE offer_id = $1 \
             ORDER BY list_id, idx",
            id,
            "status entries",
            entry_from_row,
        )
        .await
    }

    /// Every row `sql` selects for offer `id` (its one parameter), read by `read`; `what` names
    /// them in an error.
    async fn rows_of_offer<T>(
        &self,
        sql: &'static str,
        id: &str,
        what: &str,
        read: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let failed = |e| self.failed(&format!("read the {what} of offer `{id}`"), e);
        let rows = sqlx::query(sql)
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        rows.iter()
            .map(read)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)
    }

    pub(super) async fn revoked_indices(
        &self,
        list_id: i64,
    ) -> Result<(bool, Vec<i64>), StoreError> {
        let what = || format!("read status list {list_id}");
        let revoked: Vec<i64> = sqlx::query_scalar(
            "SELECT idx FROM status_entries WHERE list_id = $1 AND revoked = 1 ORDER BY idx",
        )
        .bind(list_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        if !revoked.is_empty() {
            return Ok((true, revoked));
        }
        let exists = sqlx::query("SELECT 1 FROM status_entries WHERE list_id = $1 LIMIT 1")
            .bind(list_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.failed(&what(), e))?
            .is_some();
        Ok((exists, revoked))
    }

    pub(super) async fn create_presentation(
        &self,
        presentation: &Presentation,
    ) -> Result<(), StoreError> {
        let p = presentation;
        sqlx::query(concat!(
            "INSERT INTO presentations (",
            presentation_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&p.id)
        .bind(&p.offer_id)
        .bind(&p.nonce)
        .bind(p.state.as_str())
        .bind(p.authorization.auth_session.as_deref())
        .bind(p.authorization.client_id.as_deref())
        .bind(p.authorization.code_challenge.as_deref())
        .bind(p.authorization.redirect_uri.as_deref())
        .bind(p.session.as_deref())
        .bind(p.code.as_deref())
        .bind(p.code_expires_at)
        .bind(p.created_at)
        .bind(p.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| self.failed(&format!("create presentation `{}`", p.id), e))?;
        Ok(())
    }

    pub(super) async fn pending_presentations(
        &self,
        offer_id: &str,
        now: i64,
    ) -> Result<PendingPresentations, StoreError> {
        let what = || format!("count the pending presentations of offer `{offer_id}`");
        let row = sqlx::query(
            "SELECT COUNT(*), MIN(expires_at) FROM presentations \
             WHERE offer_id = $1 AND state = 'pending' AND expires_at > $2",
        )
        .bind(offer_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        Ok(PendingPresentations {
            count: row.try_get(0).map_err(|e| self.failed(&what(), e))?,
            first_expiry: row.try_get(1).map_err(|e| self.failed(&what(), e))?,
        })
    }

    pub(super) async fn presentation(&self, id: &str) -> Result<Option<Presentation>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            presentation_columns!(),
            " FROM presentations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.failed(&format!("read presentation `{id}`"), e))?;
        row.as_ref().map(presentation_from_row).transpose()
    }

    pub(super) async fn advance_presentation(
        &self,
        advance: &Advance<'_>,
    ) -> Result<bool, StoreError> {
        let (code, code_expires_at) = advance.code.unzip();
        let moved = sqlx::query(
            "UPDATE presentations SET state = $3, code = COALESCE($5, code), \
             code_expires_at = COALESCE($6, code_expires_at) \
             WHERE id = $1 AND state = $2 AND ($4::BIGINT IS NULL OR expires_at > $4)",
        )
        .bind(advance.id)
        .bind(advance.from.as_str())
        .bind(advance.to.as_str())
        .bind(advance.unexpired_at)
        .bind(code)
        .bind(code_expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            self.failed(
                &format!(
                    "move presentation `{}` to {}",
                    advance.id,
                    advance.to.as_str()
                ),
                e,
            )
        })?;
        Ok(moved.rows_affected() == 1)
    }

    /// One statement: the offer's update runs only for a presentation that moved, and the
    /// presentation moves only with an offer that can take the claims (the join).
    pub(super) async fn record_presented(
        &self,
        presentation_id: &str,
        session: &str,
        claims: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let moved: Option<String> = sqlx::query_scalar(
            "WITH p AS (UPDATE presentations SET state = 'verified', session = $2 \
                 WHERE id = $1 AND state = 'answered' AND offer_id IN (SELECT id FROM offers \
                 WHERE state = 'offered' AND presented_at IS NULL) RETURNING offer_id) \
             UPDATE offers SET claims = $3, presented_at = $4 FROM p \
             WHERE offers.id = p.offer_id RETURNING offers.id",
        )
        .bind(presentation_id)
        .bind(session)
        .bind(claims)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| {
            self.failed(
                &format!("record presentation `{presentation_id}` as verified"),
                e,
            )
        })?;
        Ok(moved.is_some())
    }

    pub(super) async fn audit_verification(
        &self,
        verification: &Verification,
    ) -> Result<(), StoreError> {
        let v = verification;
        sqlx::query(concat!(
            "INSERT INTO verifications (",
            verification_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&v.presentation_id)
        .bind(&v.offer_id)
        .bind(v.at)
        .bind(v.prerequisite.as_deref())
        .bind(v.issuer.as_deref())
        .bind(v.vct.as_deref())
        .bind(v.status_uri.as_deref())
        .bind(v.status_idx)
        .bind(&v.outcome)
        .bind(v.reason.as_deref())
        .execute(&self.pool)
        .await
        .map_err(|e| {
            self.failed(
                &format!(
                    "audit a verification of presentation `{}`",
                    v.presentation_id
                ),
                e,
            )
        })?;
        Ok(())
    }

    pub(super) async fn verifications_of_offer(
        &self,
        id: &str,
    ) -> Result<Vec<Verification>, StoreError> {
        self.rows_of_offer(
            concat!(
                "SELECT ",
                verification_columns!(),
                " FROM verifications WHERE offer_id = $1 ORDER BY at, ctid"
            ),
            id,
            "verifications",
            |row| {
                Ok(Verification {
                    presentation_id: row.try_get(0)?,
                    offer_id: row.try_get(1)?,
                    at: row.try_get(2)?,
                    prerequisite: row.try_get(3)?,
                    issuer: row.try_get(4)?,
                    vct: row.try_get(5)?,
                    status_uri: row.try_get(6)?,
                    status_idx: row.try_get(7)?,
                    outcome: row.try_get(8)?,
                    reason: row.try_get(9)?,
                })
            },
        )
        .await
    }

    pub(super) async fn record_login(&self, login: &RecordLogin<'_>) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE offers SET claims = $2, logged_in_at = $4, login_subject = $3 \
             WHERE id = $1 AND state = 'offered' AND expires_at > $4 AND logged_in_at IS NULL \
             AND (subject IS NULL OR subject = $3)",
        )
        .bind(login.offer_id)
        .bind(login.claims)
        .bind(login.subject)
        .bind(login.now)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            self.failed(
                &format!("record the login on offer `{}`", login.offer_id),
                e,
            )
        })?;
        Ok(moved.rows_affected() == 1)
    }

    pub(super) async fn create_authorization(
        &self,
        authorization: &Authorization,
    ) -> Result<(), StoreError> {
        let a = authorization;
        sqlx::query(concat!(
            "INSERT INTO authorizations (",
            authorization_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18)"
        ))
        .bind(&a.id)
        .bind(a.kind.as_str())
        .bind(a.state.as_str())
        .bind(&a.credential)
        .bind(a.offer_id.as_deref())
        .bind(a.client_id.as_deref())
        .bind(a.redirect_uri.as_deref())
        .bind(a.code_challenge.as_deref())
        .bind(a.wallet_state.as_deref())
        .bind(a.dpop_jkt.as_deref())
        .bind(&a.provider)
        .bind(a.login_state.as_deref())
        .bind(a.login_nonce.as_deref())
        .bind(a.login_verifier.as_deref())
        .bind(a.code.as_deref())
        .bind(a.code_expires_at)
        .bind(a.created_at)
        .bind(a.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| self.failed(&format!("create authorization `{}`", a.id), e))?;
        Ok(())
    }

    pub(super) async fn authorization(
        &self,
        id: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            authorization_columns!(),
            " FROM authorizations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.failed(&format!("read authorization `{id}`"), e))?;
        row.as_ref().map(authorization_from_row).transpose()
    }

    pub(super) async fn advance_authorization(
        &self,
        advance: &AuthorizationAdvance<'_>,
    ) -> Result<bool, StoreError> {
        let (login_state, login_nonce, login_verifier) = match advance.login {
            Some((state, nonce, verifier)) => (Some(state), Some(nonce), Some(verifier)),
            None => (None, None, None),
        };
        let (code, code_expires_at) = advance.code.unzip();
        let moved = sqlx::query(
            "UPDATE authorizations SET state = $3, expires_at = COALESCE($5, expires_at), \
             login_state = COALESCE($6, login_state), login_nonce = COALESCE($7, login_nonce), \
             login_verifier = COALESCE($8, login_verifier), offer_id = COALESCE($9, offer_id), \
             code = COALESCE($10, code), code_expires_at = COALESCE($11, code_expires_at) \
             WHERE id = $1 AND state = $2 AND ($4::BIGINT IS NULL OR expires_at > $4)",
        )
        .bind(advance.id)
        .bind(advance.from.as_str())
        .bind(advance.to.as_str())
        .bind(advance.unexpired_at)
        .bind(advance.expires_at)
        .bind(login_state)
        .bind(login_nonce)
        .bind(login_verifier)
        .bind(advance.offer_id)
        .bind(code)
        .bind(code_expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            self.failed(
                &format!(
                    "move authorization `{}` to {}",
                    advance.id,
                    advance.to.as_str()
                ),
                e,
            )
        })?;
        Ok(moved.rows_affected() == 1)
    }

    pub(super) async fn audit_login(&self, login: &LoginAudit) -> Result<(), StoreError> {
        let l = login;
        sqlx::query(concat!(
            "INSERT INTO logins (",
            login_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&l.authorization_id)
        .bind(l.offer_id.as_deref())
        .bind(l.at)
        .bind(&l.provider)
        .bind(l.subject.as_deref())
        .bind(l.acr.as_deref())
        .bind(&l.outcome)
        .bind(l.reason.as_deref())
        .execute(&self.pool)
        .await
        .map_err(|e| {
            self.failed(
                &format!("audit the login of authorization `{}`", l.authorization_id),
                e,
            )
        })?;
        Ok(())
    }

    pub(super) async fn logins_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<LoginAudit>, StoreError> {
        self.rows_of_offer(
            concat!(
                "SELECT ",
                login_columns!(),
                " FROM logins WHERE offer_id = $1 ORDER BY at, ctid"
            ),
            offer_id,
            "logins",
            |row| {
                Ok(LoginAudit {
                    authorization_id: row.try_get(0)?,
                    offer_id: row.try_get(1)?,
                    at: row.try_get(2)?,
                    provider: row.try_get(3)?,
                    subject: row.try_get(4)?,
                    acr: row.try_get(5)?,
                    outcome: row.try_get(6)?,
                    reason: row.try_get(7)?,
                })
            },
        )
        .await
    }

    /// A second spend of a key waits for the first and then finds the conflict.
    pub(super) async fn spend_once(&self, key: &str, expires_at: i64) -> Result<bool, StoreError> {
        let spent = sqlx::query(
            "INSERT INTO spent_once (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(key)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| self.failed("spend a single-use key", e))?;
        Ok(spent.rows_affected() == 1)
    }

    /// One step of a sweep: `step` ([`super::SWEEPS`]) forgetting `what`.
    pub(super) async fn sweep(
        &self,
        what: &str,
        step: &'static str,
        before: i64,
        chunk: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(step)
            .bind(before)
            .bind(chunk)
            .execute(&self.pool)
            .await
            .map_err(|e| self.failed(&format!("forget {what}"), e))?;
        Ok(done.rows_affected())
    }
}

/// Whether `e` is a unique violation of `constraint`.
/// Whether `e` says the database is out of reach rather than refusing the statement: the
/// connection failed or broke (the server stopped, restarted or crashed), no connection came free
/// within the acquire timeout, or the server said it is shutting down, starting up or full
/// (SQLSTATE class 08, connection exception; 57P01–57P03; 53300, too many connections).
fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation() && d.constraint() == Some(constraint))
}

fn offer_from_row(row: &PgRow) -> Result<Offer, StoreError> {
    let decode = |e: sqlx::Error| StoreError::new(format!("cannot read an offer: {e}"));
    let state: String = row.try_get(5).map_err(decode)?;
    Ok(Offer {
        id: row.try_get(0).map_err(decode)?,
        pre_authorized_code: row.try_get(1).map_err(decode)?,
        tx_code: row.try_get(2).map_err(decode)?,
        credential: row.try_get(3).map_err(decode)?,
        claims: row.try_get(4).map_err(decode)?,
        state: state.parse()?,
        tx_attempts: row.try_get(6).map_err(decode)?,
        created_at: row.try_get(7).map_err(decode)?,
        expires_at: row.try_get(8).map_err(decode)?,
        redeemed_at: row.try_get(9).map_err(decode)?,
        access_token_hash: row.try_get(10).map_err(decode)?,
        token_expires_at: row.try_get(11).map_err(decode)?,
        issued_at: row.try_get(12).map_err(decode)?,
        revoked_at: row.try_get(13).map_err(decode)?,
        needs_presentation: row.try_get::<i64, _>(14).map_err(decode)? != 0,
        presented_at: row.try_get(15).map_err(decode)?,
        needs_login: row.try_get::<i64, _>(16).map_err(decode)? != 0,
        subject: row.try_get(17).map_err(decode)?,
        logged_in_at: row.try_get(18).map_err(decode)?,
        login_subject: row.try_get(19).map_err(decode)?,
        issued_count: row.try_get(20).map_err(decode)?,
    })
}

fn authorization_from_row(row: &PgRow) -> Result<Authorization, StoreError> {
    let decode = |e: sqlx::Error| StoreError::new(format!("cannot read an authorization: {e}"));
    let kind: String = row.try_get(1).map_err(decode)?;
    let state: String = row.try_get(2).map_err(decode)?;
    Ok(Authorization {
        id: row.try_get(0).map_err(decode)?,
        kind: kind.parse()?,
        state: state.parse()?,
        credential: row.try_get(3).map_err(decode)?,
        offer_id: row.try_get(4).map_err(decode)?,
        client_id: row.try_get(5).map_err(decode)?,
        redirect_uri: row.try_get(6).map_err(decode)?,
        code_challenge: row.try_get(7).map_err(decode)?,
        wallet_state: row.try_get(8).map_err(decode)?,
        dpop_jkt: row.try_get(9).map_err(decode)?,
        provider: row.try_get(10).map_err(decode)?,
        login_state: row.try_get(11).map_err(decode)?,
        login_nonce: row.try_get(12).map_err(decode)?,
        login_verifier: row.try_get(13).map_err(decode)?,
        code: row.try_get(14).map_err(decode)?,
        code_expires_at: row.try_get(15).map_err(decode)?,
        created_at: row.try_get(16).map_err(decode)?,
        expires_at: row.try_get(17).map_err(decode)?,
    })
}

fn presentation_from_row(row: &PgRow) -> Result<Presentation, StoreError> {
    let decode = |e: sqlx::Error| StoreError::new(format!("cannot read a presentation: {e}"));
    let state: String = row.try_get(3).map_err(decode)?;
    Ok(Presentation {
        id: row.try_get(0).map_err(decode)?,
        offer_id: row.try_get(1).map_err(decode)?,
        nonce: row.try_get(2).map_err(decode)?,
        state: state.parse()?,
        authorization: AuthorizationRequest {
            auth_session: row.try_get(4).map_err(decode)?,
            client_id: row.try_get(5).map_err(decode)?,
            code_challenge: row.try_get(6).map_err(decode)?,
            redirect_uri: row.try_get(7).map_err(decode)?,
        },
        session: row.try_get(8).map_err(decode)?,
        code: row.try_get(9).map_err(decode)?,
        code_expires_at: row.try_get(10).map_err(decode)?,
        created_at: row.try_get(11).map_err(decode)?,
        expires_at: row.try_get(12).map_err(decode)?,
    })
}

fn entry_from_row(row: &PgRow) -> Result<StatusEntry, sqlx::Error> {
    Ok(StatusEntry {
        list_id: row.try_get("list_id")?,
        idx: row.try_get("idx")?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
        issued_at: row.try_get("issued_at")?,
    })
}
