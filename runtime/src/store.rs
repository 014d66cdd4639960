//! The issuer's store: offers, access tokens, nonces and status-list entries, in SQLite or
//! PostgreSQL through ONE code path (sqlx's `Any` driver, portable SQL, `$n` placeholders).
//!
//! Every state change is one guarded statement (or one transaction whose guarded `UPDATE` must
//! affect exactly one row), so any number of `Store`s — in one process or in several replicas —
//! can share a database: exactly one caller redeems a code, consumes a nonce or issues an offer.
//!
//! Connections:
//! - SQLite file (`sqlite:path`, `sqlite://path`; created when missing): WAL journal,
//!   `synchronous = NORMAL`, `busy_timeout = 5 s`, foreign keys on. All writes go through ONE
//!   writer connection (a pool of one), reads through a separate pool of [`SQLITE_READERS`]
//!   read-only (`query_only`) connections, so writers of one `Store` never contend for the lock.
//!   The WAL is checkpointed every [`CHECKPOINT_INTERVAL`] by a background task on a connection
//!   of its own (`PASSIVE`), so that the writer's commits never stall on a checkpoint's fsync.
//! - SQLite in memory (`sqlite::memory:`, `mode=memory`): one connection for everything (every
//!   in-memory connection is its own database), never recycled.
//! - PostgreSQL (`postgres://`, `postgresql://`): one pool of [`POSTGRES_CONNECTIONS`]; a
//!   connection is pinged before use only after 10 s idle.
//!
//! Migrations (`runtime/migrations`, embedded) run on connect; PostgreSQL serialises concurrent
//! migrators with an advisory lock, SQLite retries a migration that lost a race.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Row};

/// Size of the PostgreSQL pool.
pub const POSTGRES_CONNECTIONS: u32 = 16;
/// Size of the read pool of an SQLite file (writes have their own single connection).
pub const SQLITE_READERS: u32 = 4;
/// How often an SQLite file's WAL is checkpointed (in the background).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// Random indices tried in one status list before moving on to the next list.
pub const INDEX_ATTEMPTS_PER_LIST: u32 = 16;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");
// `migrate!` embeds the migrations at compile time but does not tell cargo to rebuild when they
// change (sqlx suggests a build script printing `cargo:rerun-if-changed=migrations`); including
// the file makes cargo track it.
const _: &str = include_str!("../migrations/0001_store.sql");

/// A failed store operation; the message says what failed and why.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where an offer is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfferState {
    /// Created; the pre-authorised code can be redeemed.
    Offered,
    /// The code was exchanged for an access token.
    Redeemed,
    /// The credential was issued.
    Issued,
    /// Revoked by the administrator (with every status entry it issued).
    Revoked,
    /// Too many wrong transaction codes: the code can no longer be redeemed.
    Locked,
}

impl OfferState {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Offered => "offered",
            OfferState::Redeemed => "redeemed",
            OfferState::Issued => "issued",
            OfferState::Revoked => "revoked",
            OfferState::Locked => "locked",
        }
    }
}

impl fmt::Display for OfferState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OfferState {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "offered" => OfferState::Offered,
            "redeemed" => OfferState::Redeemed,
            "issued" => OfferState::Issued,
            "revoked" => OfferState::Revoked,
            "locked" => OfferState::Locked,
            other => return Err(StoreError(format!("unknown offer state `{other}`"))),
        })
    }
}

/// An offer to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOffer {
    pub id: String,
    pub pre_authorized_code: String,
    pub tx_code: Option<String>,
    /// The credential configuration id.
    pub credential: String,
    /// The claims to issue, JSON text.
    pub claims: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A stored offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub id: String,
    pub pre_authorized_code: String,
    pub tx_code: Option<String>,
    pub credential: String,
    pub claims: String,
    pub state: OfferState,
    pub tx_attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub issued_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The status-list entry of one issued credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusEntry {
    pub list_id: i64,
    pub idx: i64,
    pub revoked: bool,
    pub issued_at: i64,
}

/// The issuer's store. Cheap to clone (the pools are shared).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// All writes (for an SQLite file: a pool of exactly one connection).
    writer: AnyPool,
    /// All reads (the same pool as `writer` except for an SQLite file).
    reader: AnyPool,
    /// The URL with any password hidden, for messages.
    url: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("url", &self.inner.url)
            .finish()
    }
}

enum Target {
    SqliteFile(String),
    SqliteMemory(String),
    Postgres(String),
}

macro_rules! offer_query {
    ($tail:literal) => {
        concat!(
            "SELECT id, pre_authorized_code, tx_code, credential, claims, state, tx_attempts, ",
            "created_at, expires_at, redeemed_at, token_expires_at, issued_at, revoked_at ",
            "FROM offers ",
            $tail
        )
    };
}

impl Store {
    /// Opens the database and runs the migrations. Accepts `sqlite:path`, `sqlite://path` (the
    /// file is created when missing unless the URL sets `mode=`), `sqlite::memory:` (or any
    /// `mode=memory` URL), `postgres://...` and `postgresql://...`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let open_failed =
            |e: sqlx::Error| StoreError(format!("cannot open the database `{shown}`: {e}"));
        let (inner, checkpoints) = match classify(url)? {
            Target::SqliteMemory(url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn).await }))
                    .connect(&url)
                    .await
                    .map_err(open_failed)?;
                migrate(&pool, Backend::Sqlite, &shown).await?;
                let inner = Inner {
                    backend: Backend::Sqlite,
                    writer: pool.clone(),
                    reader: pool,
                    url: shown.clone(),
                };
                (inner, None)
            }
            Target::SqliteFile(url) => {
                // The writer first: it creates the file and switches it to WAL before any reader
                // opens it.
                let writer = AnyPoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(Duration::from_secs(60))
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlite_pragmas(conn).await?;
                            sqlite_wal(conn).await?;
                            // Checkpoints run in the background (`checkpointer`), not in the
                            // writer's commits; this is only a safety net.
                            sqlx::query("PRAGMA wal_autocheckpoint = 20000") // pages
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(open_failed)?;
                migrate(&writer, Backend::Sqlite, &shown).await?;
                let reader = AnyPoolOptions::new()
                    .max_connections(SQLITE_READERS)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(Duration::from_secs(60))
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlite_pragmas(conn).await?;
                            sqlx::query("PRAGMA query_only = ON")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(open_failed)?;
                let mut checkpoints = AnyConnection::connect(&url).await.map_err(open_failed)?;
                sqlite_pragmas(&mut checkpoints)
                    .await
                    .map_err(open_failed)?;
                let inner = Inner {
                    backend: Backend::Sqlite,
                    writer,
                    reader,
                    url: shown.clone(),
                };
                (inner, Some(checkpoints))
            }
            Target::Postgres(url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(30))
                    // sqlx would ping before every query (a round trip each); ping only
                    // connections that sat idle, the ones a server restart may have broken.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= Duration::from_secs(10) {
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(open_failed)?;
                migrate(&pool, Backend::Postgres, &shown).await?;
                let inner = Inner {
                    backend: Backend::Postgres,
                    writer: pool.clone(),
                    reader: pool,
                    url: shown.clone(),
                };
                (inner, None)
            }
        };
        let inner = Arc::new(inner);
        if let Some(conn) = checkpoints {
            tokio::spawn(checkpointer(Arc::downgrade(&inner), conn));
        }
        Ok(Store { inner })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Closes the pools (waits for connections in use to be returned) and stops the background
    /// checkpoints. Other clones of this `Store` fail afterwards.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        self.inner.reader.close().await;
    }

    /// Checks that the database answers (health endpoint).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.reader)
            .await
            .map_err(|e| self.failed("reach the database", e))?;
        Ok(())
    }

    pub async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO offers (id, pre_authorized_code, tx_code, credential, claims, state, \
             tx_attempts, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 'offered', 0, $6, $7)",
        )
        .bind(&offer.id)
        .bind(&offer.pre_authorized_code)
        .bind(offer.tx_code.as_deref())
        .bind(&offer.credential)
        .bind(&offer.claims)
        .bind(offer.created_at)
        .bind(offer.expires_at)
        .execute(&self.inner.writer)
        .await
        .map_err(|e| self.failed(&format!("create offer `{}`", offer.id), e))?;
        Ok(())
    }

    pub async fn offer(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(offer_query!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(|e| self.failed(&format!("read offer `{id}`"), e))?;
        row.as_ref().map(offer_from_row).transpose()
    }

    pub async fn offer_by_code(
        &self,
        pre_authorized_code: &str,
    ) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(offer_query!("WHERE pre_authorized_code = $1"))
            .bind(pre_authorized_code)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(|e| self.failed("read an offer by pre-authorized code", e))?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// Counts one wrong transaction code, in one statement; when the count reaches `cap` an
    /// offer still `offered` becomes `locked` in that same statement. Returns the attempts so far
    /// and whether the offer is locked. An unknown offer is an error.
    pub async fn record_wrong_tx_code(
        &self,
        id: &str,
        cap: i64,
    ) -> Result<(i64, bool), StoreError> {
        let what = || format!("count a wrong transaction code for offer `{id}`");
        // `fetch_all`: the statement is stepped to completion (at most one row: `id` is the key).
        let rows = sqlx::query(
            "UPDATE offers SET tx_attempts = tx_attempts + 1, \
             state = CASE WHEN state = 'offered' AND tx_attempts + 1 >= $2 THEN 'locked' ELSE state END \
             WHERE id = $1 RETURNING tx_attempts, state",
        )
        .bind(id)
        .bind(cap)
        .fetch_all(&self.inner.writer)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        let Some(row) = rows.first() else {
            return Err(StoreError(format!("cannot {}: no such offer", what())));
        };
        let attempts: i64 = row.try_get(0).map_err(|e| self.failed(&what(), e))?;
        let state: String = row.try_get(1).map_err(|e| self.failed(&what(), e))?;
        Ok((attempts, state == OfferState::Locked.as_str()))
    }

    /// `offered` → `redeemed` in one statement guarded by `state = 'offered' AND expires_at >
    /// now`, storing the SHA-256 (hex) of the access token and its expiry. `true` only for the
    /// single caller that redeemed it.
    pub async fn redeem(
        &self,
        id: &str,
        access_token: &str,
        token_expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE offers SET state = 'redeemed', redeemed_at = $4, access_token_hash = $2, \
             token_expires_at = $3 WHERE id = $1 AND state = 'offered' AND expires_at > $4",
        )
        .bind(id)
        .bind(token_hash(access_token))
        .bind(token_expires_at)
        .bind(now)
        .execute(&self.inner.writer)
        .await
        .map_err(|e| self.failed(&format!("redeem offer `{id}`"), e))?;
        Ok(done.rows_affected() == 1)
    }

    /// The offer this access token was issued for, while the token has not expired
    /// (`token_expires_at > now`), whatever the offer's state.
    pub async fn offer_by_access_token(
        &self,
        access_token: &str,
        now: i64,
    ) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(offer_query!(
            "WHERE access_token_hash = $1 AND token_expires_at > $2"
        ))
        .bind(token_hash(access_token))
        .bind(now)
        .fetch_optional(&self.inner.reader)
        .await
        .map_err(|e| self.failed("read an offer by access token", e))?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// `redeemed` → `issued` and the offer's status-list entry, in one transaction. `Ok(None)`
    /// (nothing written) unless this caller moved the offer out of `redeemed`. The entry gets a
    /// random index in `[0, list_size)` of list `list_id`; an index already taken is retried
    /// with another random one, and after [`INDEX_ATTEMPTS_PER_LIST`] taken indices the next list
    /// (`list_id + 1`, …) is tried. `revocable == false` issues without a status entry
    /// (`Some(None)`).
    pub async fn issue(
        &self,
        offer_id: &str,
        now: i64,
        list_id: i64,
        list_size: i64,
        revocable: bool,
    ) -> Result<Option<Option<StatusEntry>>, StoreError> {
        let what = || format!("issue offer `{offer_id}`");
        if revocable && list_size < 1 {
            return Err(StoreError(format!(
                "cannot {}: the status list size must be positive (got {list_size})",
                what()
            )));
        }
        let mut tx = self
            .inner
            .writer
            .begin()
            .await
            .map_err(|e| self.failed(&what(), e))?;
        // The write comes first, so an SQLite transaction takes the write lock at once (waiting
        // with busy_timeout) instead of failing to upgrade a read snapshot.
        let moved = sqlx::query(
            "UPDATE offers SET state = 'issued', issued_at = $2 WHERE id = $1 AND state = 'redeemed'",
        )
        .bind(offer_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        if moved.rows_affected() != 1 {
            tx.rollback().await.map_err(|e| self.failed(&what(), e))?;
            return Ok(None);
        }
        let mut entry = None;
        if revocable {
            let mut list = list_id;
            'lists: loop {
                for _ in 0..INDEX_ATTEMPTS_PER_LIST {
                    let idx = rand::thread_rng().gen_range(0..list_size);
                    // ON CONFLICT DO NOTHING rather than catching the unique violation: on
                    // PostgreSQL an error would abort the whole transaction.
                    let inserted = sqlx::query(
                        "INSERT INTO status_entries (list_id, idx, offer_id, revoked, issued_at) \
                         VALUES ($1, $2, $3, 0, $4) ON CONFLICT (list_id, idx) DO NOTHING",
                    )
                    .bind(list)
                    .bind(idx)
                    .bind(offer_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.failed(&what(), e))?;
                    if inserted.rows_affected() == 1 {
                        entry = Some(StatusEntry {
                            list_id: list,
                            idx,
                            revoked: false,
                            issued_at: now,
                        });
                        break 'lists;
                    }
                }
                list = list.checked_add(1).ok_or_else(|| {
                    StoreError(format!("cannot {}: no status list has room", what()))
                })?;
            }
        }
        tx.commit().await.map_err(|e| self.failed(&what(), e))?;
        Ok(Some(entry))
    }

    /// Revokes the offer (any state but `revoked` → `revoked`, `revoked_at = now`) and every
    /// status entry it issued, in one transaction. `None` when there is no such offer; otherwise
    /// its entries (revoking again changes nothing and returns the same entries).
    pub async fn revoke_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<Vec<StatusEntry>>, StoreError> {
        let what = || format!("revoke offer `{id}`");
        let mut tx = self
            .inner
            .writer
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
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.failed(&what(), e))?;
        Ok(Some(entries))
    }

    /// The status entries an offer issued (none for an unknown offer).
    pub async fn statuses_of_offer(&self, id: &str) -> Result<Vec<StatusEntry>, StoreError> {
        let what = || format!("read the status entries of offer `{id}`");
        let rows = sqlx::query(
            "SELECT list_id, idx, revoked, issued_at FROM status_entries WHERE offer_id = $1 \
             ORDER BY list_id, idx",
        )
        .bind(id)
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        rows.iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.failed(&what(), e))
    }

    /// Whether list `list_id` exists (has any entry), and its revoked indices in ascending order.
    pub async fn revoked_indices(&self, list_id: i64) -> Result<(bool, Vec<i64>), StoreError> {
        let what = || format!("read status list {list_id}");
        let revoked: Vec<i64> = sqlx::query_scalar(
            "SELECT idx FROM status_entries WHERE list_id = $1 AND revoked = 1 ORDER BY idx",
        )
        .bind(list_id)
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|e| self.failed(&what(), e))?;
        if !revoked.is_empty() {
            return Ok((true, revoked));
        }
        let exists = sqlx::query("SELECT 1 FROM status_entries WHERE list_id = $1 LIMIT 1")
            .bind(list_id)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(|e| self.failed(&what(), e))?
            .is_some();
        Ok((exists, revoked))
    }

    pub async fn create_nonce(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO nonces (nonce, expires_at) VALUES ($1, $2)")
            .bind(nonce)
            .bind(expires_at)
            .execute(&self.inner.writer)
            .await
            .map_err(|e| self.failed("create a nonce", e))?;
        Ok(())
    }

    /// Deletes the nonce if it has not expired (`expires_at > now`): `true` only for the single
    /// caller that consumed it.
    pub async fn consume_nonce(&self, nonce: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM nonces WHERE nonce = $1 AND expires_at > $2")
            .bind(nonce)
            .bind(now)
            .execute(&self.inner.writer)
            .await
            .map_err(|e| self.failed("consume a nonce", e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes expired nonces (`expires_at <= now`) and nothing else; returns how many.
    pub async fn sweep(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM nonces WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.inner.writer)
            .await
            .map_err(|e| self.failed("delete expired nonces", e))?;
        Ok(done.rows_affected())
    }

    fn failed(&self, what: &str, e: sqlx::Error) -> StoreError {
        StoreError(format!("cannot {what} in `{}`: {e}", self.inner.url))
    }
}

fn classify(url: &str) -> Result<Target, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let params: Vec<&str> = query.map(|q| q.split('&').collect()).unwrap_or_default();
        if path == ":memory:" || params.contains(&"mode=memory") {
            return Ok(Target::SqliteMemory(url.to_owned()));
        }
        if path.is_empty() {
            return Err(StoreError(format!(
                "cannot open the database `{url}`: the SQLite URL names no file"
            )));
        }
        if params.iter().any(|p| p.starts_with("mode=")) {
            return Ok(Target::SqliteFile(url.to_owned()));
        }
        let separator = if query.is_some() { '&' } else { '?' };
        return Ok(Target::SqliteFile(format!("{url}{separator}mode=rwc")));
    }
    Err(StoreError(format!(
        "cannot open the database `{}`: unsupported URL (expected sqlite:PATH, sqlite::memory: or \
         postgres://...)",
        redact(url)
    )))
}

/// The URL with its password (if any) replaced by `***`; works on URLs that do not parse.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_owned();
    };
    format!(
        "{}***{}",
        &url[..authority_start + colon + 1],
        &url[authority_start + at..]
    )
}

async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // busy_timeout (5 s: how long to wait for another connection's lock) first, so that the
    // others wait for a lock instead of failing.
    for pragma in [
        "PRAGMA busy_timeout = 5000",
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = NORMAL",
    ] {
        sqlx::query(pragma).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Switches the file to WAL (persistent in the file). Changing the journal mode needs an
/// exclusive lock that `busy_timeout` does not wait for, so a busy database is retried here.
async fn sqlite_wal(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let mut attempts = 0;
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(sqlx::Error::Configuration(
                    format!("SQLite refused the WAL journal (journal_mode is {mode})").into(),
                ));
            }
            Err(e) if attempts < 100 && is_sqlite_busy(&e) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Checkpoints an SQLite file's WAL every [`CHECKPOINT_INTERVAL`] on its own connection, until
/// the store is dropped or closed. A checkpoint writes the WAL back into the database file and
/// syncs it; run by the writer at commit (SQLite's default) it stalls every write for
/// milliseconds. `PASSIVE` neither waits for nor blocks readers and writers.
async fn checkpointer(store: Weak<Inner>, mut conn: AnyConnection) {
    let mut ticks = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let url = match store.upgrade() {
            Some(inner) if !inner.writer.is_closed() => inner.url.clone(),
            _ => break,
        };
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!("cannot checkpoint the WAL of `{url}`: {e}");
        }
    }
    let _ = conn.close().await;
}

fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes (low byte).
    e.as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

async fn migrate(pool: &AnyPool, backend: Backend, shown: &str) -> Result<(), StoreError> {
    let mut attempts = 0;
    loop {
        match MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            // SQLite has no migration lock: a second instance starting on a fresh file at the
            // same time can lose the race (its transaction is rolled back); the retry finds the
            // migrations applied.
            Err(_) if backend == Backend::Sqlite && attempts < 20 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(25 * attempts)).await;
            }
            Err(e) => {
                return Err(StoreError(format!(
                    "cannot run the database migrations on `{shown}`: {e}"
                )));
            }
        }
    }
}

fn token_hash(token: &str) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn offer_from_row(row: &AnyRow) -> Result<Offer, StoreError> {
    let decode = |e: sqlx::Error| StoreError(format!("cannot read an offer: {e}"));
    let state: String = row.try_get("state").map_err(decode)?;
    Ok(Offer {
        id: row.try_get("id").map_err(decode)?,
        pre_authorized_code: row.try_get("pre_authorized_code").map_err(decode)?,
        tx_code: row.try_get("tx_code").map_err(decode)?,
        credential: row.try_get("credential").map_err(decode)?,
        claims: row.try_get("claims").map_err(decode)?,
        state: state.parse()?,
        tx_attempts: row.try_get("tx_attempts").map_err(decode)?,
        created_at: row.try_get("created_at").map_err(decode)?,
        expires_at: row.try_get("expires_at").map_err(decode)?,
        redeemed_at: row.try_get("redeemed_at").map_err(decode)?,
        token_expires_at: row.try_get("token_expires_at").map_err(decode)?,
        issued_at: row.try_get("issued_at").map_err(decode)?,
        revoked_at: row.try_get("revoked_at").map_err(decode)?,
    })
}

fn entry_from_row(row: &AnyRow) -> Result<StatusEntry, sqlx::Error> {
    Ok(StatusEntry {
        list_id: row.try_get("list_id")?,
        idx: row.try_get("idx")?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
        issued_at: row.try_get("issued_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(matches!(
            classify("sqlite::memory:"),
            Ok(Target::SqliteMemory(_))
        ));
        assert!(matches!(
            classify("sqlite://:memory:"),
            Ok(Target::SqliteMemory(_))
        ));
        assert!(matches!(
            classify("sqlite:x?mode=memory"),
            Ok(Target::SqliteMemory(_))
        ));
        assert!(
            matches!(classify("sqlite:x.db"), Ok(Target::SqliteFile(u)) if u == "sqlite:x.db?mode=rwc")
        );
        assert!(
            matches!(classify("sqlite://x.db?cache=private"), Ok(Target::SqliteFile(u)) if u == "sqlite://x.db?cache=private&mode=rwc")
        );
        assert!(
            matches!(classify("sqlite:x.db?mode=ro"), Ok(Target::SqliteFile(u)) if u == "sqlite:x.db?mode=ro")
        );
        assert!(matches!(
            classify("postgresql://h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(classify("sqlite:").is_err());
        let Err(e) = classify("mysql://u:secret@h/db") else {
            panic!()
        };
        assert!(
            e.0.contains("mysql://u:***@h/db") && !e.0.contains("secret"),
            "{e}"
        );
        assert_eq!(
            redact("postgres://u:p@ss@h:1/db?x=@"),
            "postgres://u:***@h:1/db?x=@"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
    }

    #[test]
    fn states_round_trip() {
        for state in [
            OfferState::Offered,
            OfferState::Redeemed,
            OfferState::Issued,
            OfferState::Revoked,
            OfferState::Locked,
        ] {
            assert_eq!(state.as_str().parse::<OfferState>().unwrap(), state);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{state}\"")
            );
        }
        assert!("used".parse::<OfferState>().is_err());
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
