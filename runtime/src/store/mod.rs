//! The issuer's store: offers, access-token hashes, spent nonces and status-list entries, the
//! presentations and logins offers wait for (with their audits), the authorization requests of
//! the authorization code flow and single-use keys (DPoP proofs' `jti`), in
//! SQLite (the default: one file, created on first start) or PostgreSQL (several instances behind
//! a load balancer sharing state). One API, two backends, each built the way its database is
//! fastest:
//!
//! - `sqlite`: in-process (rusqlite). Every operation is a job for ONE connection; whichever
//!   request finds it free runs all the jobs waiting in one transaction, each in its own
//!   savepoint, and commits once (group commit by flat combining): one lock and one commit for
//!   a whole batch instead of for every statement, no thread hand-off, on a page cache that
//!   stays warm.
//! - `postgres`: sqlx pool; every change is one statement (the credential issuance one statement
//!   with data-modifying CTEs), so a request costs as few round trips as possible.
//!
//! Every state change is atomic and guarded (`UPDATE … WHERE state = 'offered' AND …`, a primary
//! key on spent nonces), so any number of `Store`s — in one process or in several replicas — can
//! share a database: exactly one caller redeems a code, spends a nonce or issues an offer. Codes
//! and access tokens name their offer (`<offer id>.<secret>`): they are found by the offer's key
//! and compared in constant time, never looked up by the secret itself. The decisions that do
//! not depend on the database (whether a code redeems, which status index to try next, how a
//! token is hashed) are made here, once, for both backends; `runtime/tests/store.rs` runs the
//! same scenarios on both.
//!
//! Migrations (`runtime/migrations`, embedded; SQLite has its own form of a few) run on connect:
//! PostgreSQL serialises concurrent migrators with an advisory lock, SQLite with its write lock.

/// The columns of a [`Presentation`], in the order the backends' row readers expect them.
macro_rules! presentation_columns {
    () => {
        "id, offer_id, nonce, state, auth_session, client_id, code_challenge, redirect_uri, \
         session, code, code_expires_at, created_at, expires_at"
    };
}

/// The columns of a [`Verification`], in the order the backends' row readers expect them.
macro_rules! verification_columns {
    () => {
        "presentation_id, offer_id, at, prerequisite, issuer, vct, status_uri, status_idx, \
         outcome, reason"
    };
}

/// The columns of an [`Offer`], in the order the backends' row readers expect them.
macro_rules! offer_columns {
    () => {
        "id, pre_authorized_code, tx_code, credential, claims, state, tx_attempts, created_at, \
         expires_at, redeemed_at, access_token_hash, token_expires_at, issued_at, revoked_at, \
         needs_presentation, presented_at, needs_login, subject, logged_in_at, login_subject, \
         issued_count"
    };
}

/// The columns of an [`Authorization`], in the order the backends' row readers expect them.
macro_rules! authorization_columns {
    () => {
        "id, kind, state, credential, offer_id, client_id, redirect_uri, code_challenge, \
         wallet_state, dpop_jkt, provider, login_state, login_nonce, login_verifier, code, \
         code_expires_at, created_at, expires_at"
    };
}

/// The columns of a [`LoginAudit`], in the order the backends' row readers expect them.
macro_rules! login_columns {
    () => {
        "authorization_id, offer_id, at, provider, subject, acr, outcome, reason"
    };
}

mod postgres;
mod sqlite;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;

use crate::secrets::{constant_time_eq, offer_of};

/// Size of the PostgreSQL pool.
pub const POSTGRES_CONNECTIONS: u32 = 16;
/// [`Store::connect`]'s wait for a PostgreSQL connection: a restart of a few seconds is ridden
/// out inside the request; a longer outage is answered unavailable.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an SQLite file's WAL is checkpointed (in the background). Each checkpoint copies
/// every page written since the last one and syncs the file: at 250 ms, pages written again and
/// again (the offers' last page, the status entries' leaves) are copied once for several hundred
/// issuances, with one fsync instead of two and a half; much longer (a second) makes each
/// checkpoint a burst that shows in request latency.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);
/// The most spent nonces one step of [`Store::sweep`] forgets.
pub const SWEEP_CHUNK: i64 = 5_000;

/// One step of [`Store::sweep`]: the oldest spent nonces expired at or before `$1`, at most `$2`
/// of them, a leading range of the table's key. The same SQL on both backends (SQLite binds
/// `$1`, `$2` by position too), like the other steps of [`SWEEPS`].
const SWEEP_STEP: &str = "DELETE FROM spent_nonces WHERE (expires_at, nonce) IN \
     (SELECT expires_at, nonce FROM spent_nonces WHERE expires_at <= $1 \
     ORDER BY expires_at, nonce LIMIT $2)";

/// What [`Store::sweep`] forgets, each table in steps of at most `$2` rows that were dead at
/// `$1`, the oldest first: what it forgets, and the step.
///
/// A presentation or an authorization is dead once it expired, its code (if any) expired, and
/// its offer (if any) no longer waits (redeemed or later, or expired): until then the holder's
/// page of the offer may still show it to the browser that made it.
const SWEEPS: [(&str, &str); 4] = [
    ("expired spent nonces", SWEEP_STEP),
    (
        "expired single-use keys",
        "DELETE FROM spent_once WHERE id IN (SELECT id FROM spent_once \
         WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)",
    ),
    (
        "expired authorizations",
        "DELETE FROM authorizations WHERE id IN (SELECT a.id FROM authorizations a \
         LEFT JOIN offers o ON o.id = a.offer_id WHERE a.expires_at <= $1 \
         AND COALESCE(a.code_expires_at, a.expires_at) <= $1 \
         AND (o.id IS NULL OR o.state <> 'offered' OR o.expires_at <= $1) \
         ORDER BY a.expires_at LIMIT $2)",
    ),
    (
        "expired presentations",
        "DELETE FROM presentations WHERE id IN (SELECT p.id FROM presentations p \
         JOIN offers o ON o.id = p.offer_id WHERE p.expires_at <= $1 \
         AND COALESCE(p.code_expires_at, p.expires_at) <= $1 \
         AND (o.state <> 'offered' OR o.expires_at <= $1) \
         ORDER BY p.expires_at LIMIT $2)",
    ),
];

/// The most jobs an SQLite batch commits in one transaction.
pub const SQLITE_MAX_BATCH: usize = 256;
/// Random indices tried in one status list before moving on to the next list.
pub const INDEX_ATTEMPTS_PER_LIST: u32 = 16;

/// The schema: `runtime/migrations/NNNN_*.sql`, in PostgreSQL's SQL, which SQLite runs too
/// unless `runtime/migrations/sqlite/` has its own form of that version ([`SQLITE_FORMS`]).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");
// `migrate!` embeds the migrations at compile time but does not tell cargo to rebuild when they
// change (build.rs prints `cargo:rerun-if-changed=migrations`); including the files makes cargo
// track them too.
const _: [&str; 7] = [
    include_str!("../../migrations/0001_store.sql"),
    include_str!("../../migrations/0002_spent_nonces.sql"),
    include_str!("../../migrations/0003_codes_name_their_offer.sql"),
    include_str!("../../migrations/0004_spent_nonces_by_expiry.sql"),
    include_str!("../../migrations/0005_presentations.sql"),
    include_str!("../../migrations/0006_logins.sql"),
    include_str!("../../migrations/0007_batches.sql"),
];
/// SQLite's own form of the migrations whose SQL differs, by version.
const SQLITE_FORMS: [(i64, &str); 2] = [
    (
        3,
        include_str!("../../migrations/sqlite/0003_codes_name_their_offer.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_spent_nonces_by_expiry.sql"),
    ),
];

/// A failed store operation; the message says what failed and why.
///
/// [`StoreError::is_unavailable`] tells an outage of the database (it cannot be reached, it is
/// restarting, no connection came free in time, SQLite's file stayed locked) from every other
/// failure: the operation did not run, or its outcome is unknown, and the same request may succeed
/// in a moment. The HTTP layer answers such a failure 503 with `Retry-After`, any other 500.
#[derive(Debug, Clone)]
pub struct StoreError {
    message: String,
    unavailable: bool,
}

impl StoreError {
    /// A failure that retrying will not cure (bad data, a constraint, a bug).
    pub fn new(message: String) -> StoreError {
        StoreError {
            message,
            unavailable: false,
        }
    }

    /// The database could not be reached or did not answer in time.
    pub fn unavailable(message: String) -> StoreError {
        StoreError {
            message,
            unavailable: true,
        }
    }

    /// Whether the database was unreachable (a retry may succeed), not refusing or broken.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }

    /// What failed and why.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
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
    /// Credentials were issued (more may be, while the access token lives and the offer has room:
    /// [`Offer::issued_count`]).
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
            other => return Err(StoreError::new(format!("unknown offer state `{other}`"))),
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
    /// The credential's governance names prerequisites: the offer redeems only once they were
    /// presented ([`Offer::presented_at`]).
    pub needs_presentation: bool,
    /// The credential's governance says `method: login`: the offer redeems only once the holder
    /// signed in ([`Offer::logged_in_at`], [`Store::record_login`]).
    pub needs_login: bool,
    /// Who the offer is for: the login provider's `sub` the login must have (`None`: anyone).
    pub subject: Option<String>,
    /// An offer made after a login (its claims are the login's): when, and as whom (`sub`).
    pub logged_in: Option<(i64, String)>,
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
    /// The SHA-256 (hex) of the access token the redemption handed out.
    pub access_token_hash: Option<String>,
    pub token_expires_at: Option<i64>,
    pub issued_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Whether the prerequisites the governance names must be presented before it redeems,
    /// and when they were (their claims are then part of `claims`).
    pub needs_presentation: bool,
    pub presented_at: Option<i64>,
    /// Whether the holder must sign in before it redeems, who it is for (the provider's `sub`),
    /// and when and as whom the holder did (the login's claims are then part of `claims`).
    pub needs_login: bool,
    pub subject: Option<String>,
    pub logged_in_at: Option<i64>,
    pub login_subject: Option<String>,
    /// How many credentials the offer yielded (batch issuance, and requests made again after a
    /// lost answer); `issued_at` is when the first was.
    pub issued_count: i64,
}

/// The status-list entry of one issued credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusEntry {
    pub list_id: i64,
    pub idx: i64,
    pub revoked: bool,
    pub issued_at: i64,
}

/// A pre-authorised code to redeem, for [`Store::redeem`].
#[derive(Clone, Copy, Debug)]
pub struct Redeem<'a> {
    /// The code, `<offer id>.<secret>` ([`crate::secrets::offer_secret`]).
    pub code: &'a str,
    /// The transaction code the wallet sent, if any.
    pub tx_code: Option<&'a str>,
    /// The access token the redemption hands out (stored only as its SHA-256), and its expiry;
    /// like the code, it names the offer (`<offer id>.<secret>`, [`crate::sealed::AccessTokens`]).
    pub access_token: &'a str,
    pub token_expires_at: i64,
    pub now: i64,
    /// Wrong transaction codes after which the offer is locked.
    pub tx_code_attempts: i64,
}

/// What [`Store::redeem`] did. Every refusal but [`Redemption::WrongTxCode`] changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// The offer is now `redeemed`: the access token fetches its credential.
    Redeemed {
        offer_id: String,
        credential: String,
    },
    /// No offer has this code.
    UnknownCode,
    /// The offer's redemption time is over.
    Expired,
    /// The offer is not waiting for redemption: `redeemed`/`issued` (the code was used),
    /// `revoked` or `locked`.
    NotOffered(OfferState),
    /// The offer needs a transaction code and none was sent.
    TxCodeMissing,
    /// A transaction code was sent for an offer that has none.
    TxCodeUnexpected,
    /// The transaction code was wrong. It was counted: `attempts` so far; `locked` once they
    /// reached the cap (the code can no longer be redeemed).
    WrongTxCode { attempts: i64, locked: bool },
    /// The holder has not signed in for this offer (its credential needs a login).
    NotLoggedIn,
    /// The credential's prerequisites have not been presented for this offer.
    NotPresented,
}

/// What [`Store::redeem`] does with an offer found by its code, decided before anything changes
/// (the same rules for both backends).
enum Verdict {
    Redeem,
    Refuse(Redemption),
    CountWrongTxCode,
}

/// Checks, in this order: the code is the offer's, the offer waits for redemption and has not
/// expired, the holder signed in if it needs a login, its prerequisites were presented if it
/// needs them, and the transaction code is present exactly when the offer has one, and right.
fn judge(offer: &Offer, code: &str, tx_code: Option<&str>, now: i64) -> Verdict {
    if !constant_time_eq(&offer.pre_authorized_code, code) {
        return Verdict::Refuse(Redemption::UnknownCode);
    }
    match offer.state {
        OfferState::Offered if offer.expires_at > now => {}
        OfferState::Offered => return Verdict::Refuse(Redemption::Expired),
        state => return Verdict::Refuse(Redemption::NotOffered(state)),
    }
    if offer.needs_login && offer.logged_in_at.is_none() {
        return Verdict::Refuse(Redemption::NotLoggedIn);
    }
    if offer.needs_presentation && offer.presented_at.is_none() {
        return Verdict::Refuse(Redemption::NotPresented);
    }
    match (offer.tx_code.as_deref(), tx_code) {
        (None, None) => Verdict::Redeem,
        (Some(_), None) => Verdict::Refuse(Redemption::TxCodeMissing),
        (None, Some(_)) => Verdict::Refuse(Redemption::TxCodeUnexpected),
        (Some(expected), Some(given)) if constant_time_eq(expected, given) => Verdict::Redeem,
        (Some(_), Some(_)) => Verdict::CountWrongTxCode,
    }
}

/// One credential request's issuance, for [`Store::issue`]: `count` credentials of one offer.
#[derive(Clone, Copy, Debug)]
pub struct Issue<'a> {
    /// The offer, which must be `redeemed` or `issued`, for credential configuration
    /// `credential`.
    pub offer_id: &'a str,
    pub credential: &'a str,
    pub now: i64,
    /// The `c_nonce` of the key proof, spent by this issuance, and when it expires (it is
    /// remembered as spent until [`Store::sweep`] forgets it after that). The expiry is part of
    /// the nonce (it carries it, [`crate::sealed`]): a nonce is spent as the pair, so the same
    /// nonce must always come with the same expiry.
    pub nonce: &'a str,
    pub nonce_expires_at: i64,
    /// How many credentials the request asks for (its key proofs), at least 1.
    pub count: i64,
    /// The most credentials the offer yields in all (the governance's `per_offer`): a request
    /// gets `count` of them, or as many as are left.
    pub per_offer: i64,
    /// Whether each credential gets a status-list entry of its own, drawn at random from list
    /// `list_id` (`[0, list_size)`), or from the next lists when that one is crowded.
    pub revocable: bool,
    pub list_id: i64,
    pub list_size: i64,
}

/// What [`Store::issue`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issued {
    /// The offer is now `issued`, the nonce spent and `count` more credentials counted: the
    /// offer's claims (as stored, JSON), how many credentials to issue (`count` asked for, fewer
    /// when the offer had less room left) and, if revocable, a status entry for each, in order.
    Issued {
        claims: String,
        count: i64,
        statuses: Vec<StatusEntry>,
    },
    /// Nothing changed: there is no `redeemed` or `issued` offer of that id for that credential
    /// configuration (unknown, revoked, offered for another credential, not redeemed yet).
    NotRedeemed,
    /// Nothing changed: the offer already yielded the `per_offer` credentials it may (`issued`).
    Exhausted { issued: i64 },
    /// Nothing changed: the nonce was spent before (checked first, whatever the offer's state).
    NonceSpent,
}

/// Where an OpenID4VP request made for an offer is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresentationState {
    /// Waiting for the wallet's response.
    Pending,
    /// A response arrived and is being verified; no other response is accepted.
    Answered,
    /// The presentation was verified and its claims merged into the offer.
    Verified,
    /// The presentation was refused.
    Refused,
    /// Presentation during issuance: the authorization code was handed out.
    CodeIssued,
    /// The authorization code was exchanged for an access token.
    Used,
}

impl PresentationState {
    pub fn as_str(self) -> &'static str {
        match self {
            PresentationState::Pending => "pending",
            PresentationState::Answered => "answered",
            PresentationState::Verified => "verified",
            PresentationState::Refused => "refused",
            PresentationState::CodeIssued => "code_issued",
            PresentationState::Used => "used",
        }
    }
}

impl FromStr for PresentationState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        [
            PresentationState::Pending,
            PresentationState::Answered,
            PresentationState::Verified,
            PresentationState::Refused,
            PresentationState::CodeIssued,
            PresentationState::Used,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| StoreError::new(format!("unknown presentation state `{s}` in the database")))
    }
}

/// The wallet's side of a presentation during issuance: who asked, and the PKCE challenge and
/// redirect URI its token request must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The opaque `auth_session` handed to the wallet (`<presentation id>.<secret>`).
    pub auth_session: Option<String>,
    pub client_id: Option<String>,
    /// `code_challenge` (S256).
    pub code_challenge: Option<String>,
    pub redirect_uri: Option<String>,
}

/// An offer's OpenID4VP requests still waiting for a wallet ([`Store::pending_presentations`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingPresentations {
    pub count: i64,
    /// When the first of them expires (Unix seconds); `None` when there are none.
    pub first_expiry: Option<i64>,
}

/// An OpenID4VP request made for an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    pub id: String,
    pub offer_id: String,
    /// The request's `nonce`, which the key-binding JWT must carry.
    pub nonce: String,
    pub state: PresentationState,
    pub authorization: AuthorizationRequest,
    /// Presentation during issuance: the `presentation_during_issuance_session` handed out once
    /// the presentation verified (`<id>.<secret>`).
    pub session: Option<String>,
    /// The authorization code handed out for it (`<id>.<secret>`), and until when it redeems.
    pub code: Option<String>,
    pub code_expires_at: Option<i64>,
    pub created_at: i64,
    /// Until when the wallet may answer.
    pub expires_at: i64,
}

/// A move of a presentation from one state to the next, for [`Store::advance_presentation`].
#[derive(Clone, Debug)]
pub struct Advance<'a> {
    pub id: &'a str,
    pub from: PresentationState,
    pub to: PresentationState,
    /// Only while the request has not expired (`expires_at > now`).
    pub unexpired_at: Option<i64>,
    /// Sets the authorization code and its expiry.
    pub code: Option<(&'a str, i64)>,
}

/// One verification of a presentation, for the audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub presentation_id: String,
    pub offer_id: String,
    pub at: i64,
    /// The governance's prerequisite (its id), when the response got that far.
    pub prerequisite: Option<String>,
    /// The presented credential's `iss`, `vct` and status entry, as far as they were read.
    pub issuer: Option<String>,
    pub vct: Option<String>,
    pub status_uri: Option<String>,
    pub status_idx: Option<i64>,
    /// `verified` or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

/// A login recorded on its offer, for [`Store::record_login`].
#[derive(Clone, Copy, Debug)]
pub struct RecordLogin<'a> {
    pub offer_id: &'a str,
    /// The offer's whole new claims (JSON): its own merged with the login's.
    pub claims: &'a str,
    /// The login's `sub`; an offer for someone ([`Offer::subject`]) takes only theirs.
    pub subject: &'a str,
    pub now: i64,
}

/// Who started an [`Authorization`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationKind {
    /// A wallet (OpenID4VCI authorization code flow): it gets an authorization code.
    Wallet,
    /// The issuer's own web page (the holder's browser): it gets an offer.
    Page,
}

impl AuthorizationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationKind::Wallet => "wallet",
            AuthorizationKind::Page => "page",
        }
    }
}

impl FromStr for AuthorizationKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        [AuthorizationKind::Wallet, AuthorizationKind::Page]
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                StoreError::new(format!("unknown authorization kind `{s}` in the database"))
            })
    }
}

/// Where an [`Authorization`] is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationState {
    /// Stored (PAR, or the page's request); the holder has not been sent to the provider yet.
    Requested,
    /// The holder was sent to the login provider; waiting for its callback.
    LoggingIn,
    /// The provider's callback was checked and the login recorded.
    LoggedIn,
    /// The authorization code was handed out to the wallet.
    CodeIssued,
    /// The authorization code was exchanged for an access token.
    Used,
    /// The login failed or was refused.
    Refused,
}

impl AuthorizationState {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationState::Requested => "requested",
            AuthorizationState::LoggingIn => "logging_in",
            AuthorizationState::LoggedIn => "logged_in",
            AuthorizationState::CodeIssued => "code_issued",
            AuthorizationState::Used => "used",
            AuthorizationState::Refused => "refused",
        }
    }
}

impl FromStr for AuthorizationState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        [
            AuthorizationState::Requested,
            AuthorizationState::LoggingIn,
            AuthorizationState::LoggedIn,
            AuthorizationState::CodeIssued,
            AuthorizationState::Used,
            AuthorizationState::Refused,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| {
            StoreError::new(format!("unknown authorization state `{s}` in the database"))
        })
    }
}

/// An authorization request (a wallet's or the issuer's page's), the login transaction it
/// started with the login provider, and the authorization code it ends with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub id: String,
    pub kind: AuthorizationKind,
    pub state: AuthorizationState,
    /// The credential configuration asked for.
    pub credential: String,
    /// The offer it signs in for (issuer-initiated), or the offer the login made.
    pub offer_id: Option<String>,
    /// The wallet's request: its client, redirect URI, PKCE challenge (S256), `state` and the
    /// thumbprint of its DPoP key (`None` on the web journey, or when not sent).
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub wallet_state: Option<String>,
    pub dpop_jkt: Option<String>,
    /// The login provider (its qualified id).
    pub provider: String,
    /// trustc's own request to the provider: its `state`, `nonce` and PKCE verifier.
    pub login_state: Option<String>,
    pub login_nonce: Option<String>,
    pub login_verifier: Option<String>,
    /// The authorization code handed out, and until when it redeems.
    pub code: Option<String>,
    pub code_expires_at: Option<i64>,
    pub created_at: i64,
    /// Until when the request may go on (a move can set a new expiry).
    pub expires_at: i64,
}

/// A move of an authorization from one state to the next, for [`Store::advance_authorization`];
/// the `Some` fields are set with it.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationAdvance<'a> {
    pub id: &'a str,
    pub from: AuthorizationState,
    pub to: AuthorizationState,
    /// Only while the authorization has not expired (`expires_at > this`).
    pub unexpired_at: Option<i64>,
    /// A new `expires_at`.
    pub expires_at: Option<i64>,
    /// `login_state`, `login_nonce` and `login_verifier`.
    pub login: Option<(&'a str, &'a str, &'a str)>,
    pub offer_id: Option<&'a str>,
    /// The authorization code and its expiry.
    pub code: Option<(&'a str, i64)>,
}

impl<'a> AuthorizationAdvance<'a> {
    /// `from` → `to`, whenever, setting nothing else.
    pub fn new(id: &'a str, from: AuthorizationState, to: AuthorizationState) -> Self {
        AuthorizationAdvance {
            id,
            from,
            to,
            unexpired_at: None,
            expires_at: None,
            login: None,
            offer_id: None,
            code: None,
        }
    }
}

/// One login, for the audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoginAudit {
    pub authorization_id: String,
    /// The offer it signed in for, or made (none when refused before one was made).
    pub offer_id: Option<String>,
    pub at: i64,
    /// The login provider (its qualified id).
    pub provider: String,
    /// The login's `sub` and `acr`, as far as they were read.
    pub subject: Option<String>,
    pub acr: Option<String>,
    /// `logged_in` or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

/// The issuer's store. Cheap to clone (its connections are shared).
#[derive(Clone)]
pub struct Store {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Sqlite(Arc<sqlite::SqliteStore>),
    Postgres(postgres::PgStore),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.url())
            .finish()
    }
}

/// Calls the same method on whichever backend the store has.
macro_rules! on_backend {
    ($store:expr, $method:ident($($arg:expr),*)) => {
        match &$store.inner {
            Inner::Sqlite(db) => db.$method($($arg),*).await,
            Inner::Postgres(db) => db.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database and runs the migrations. Accepts `sqlite:path` and `sqlite://path` (the
    /// file is created when missing unless the URL sets `mode=ro` or `mode=rw`),
    /// `sqlite::memory:` (or `mode=memory`), `postgres://...` and `postgresql://...`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Store::connect`], with how long a PostgreSQL statement may wait for a connection
    /// (including reconnecting while the server is down) before it fails as unavailable
    /// ([`StoreError::is_unavailable`]). `trustc serve` keeps it below its request timeout, so a
    /// wallet gets a retryable 503 rather than a timeout. SQLite does not wait on a network.
    pub async fn connect_with(url: &str, acquire_timeout: Duration) -> Result<Store, StoreError> {
        let inner = match classify(url)? {
            Target::Sqlite(target) => Inner::Sqlite(Arc::new(
                sqlite::SqliteStore::open(target, redact(url)).await?,
            )),
            Target::Postgres => {
                Inner::Postgres(postgres::PgStore::open(url, redact(url), acquire_timeout).await?)
            }
        };
        Ok(Store { inner })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database URL with any password hidden.
    pub fn url(&self) -> &str {
        match &self.inner {
            Inner::Sqlite(db) => db.url(),
            Inner::Postgres(db) => db.url(),
        }
    }

    /// Finishes the writes in flight and closes the connections. Other clones of this `Store`
    /// fail afterwards.
    pub async fn close(&self) {
        on_backend!(self, close())
    }

    /// Checks that the database answers (health endpoint).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, ping())
    }

    /// Stores a new offer (`offered`). An id or code already stored is an error.
    pub async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        on_backend!(self, create_offer(offer))
    }

    pub async fn offer(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        on_backend!(self, offer(id))
    }

    /// Stores a new OpenID4VP request (`pending`) for an existing offer.
    pub async fn create_presentation(&self, presentation: &Presentation) -> Result<(), StoreError> {
        on_backend!(self, create_presentation(presentation))
    }

    pub async fn presentation(&self, id: &str) -> Result<Option<Presentation>, StoreError> {
        on_backend!(self, presentation(id))
    }

    /// The offer's requests still waiting for a wallet at `now` (`pending`, unexpired): how many,
    /// and when the first of them expires.
    pub async fn pending_presentations(
        &self,
        offer_id: &str,
        now: i64,
    ) -> Result<PendingPresentations, StoreError> {
        on_backend!(self, pending_presentations(offer_id, now))
    }

    /// Moves a presentation `from` → `to` if it is in `from` (and, if asked, unexpired),
    /// atomically: of callers racing for the same move, exactly one gets `true`.
    pub async fn advance_presentation(&self, advance: &Advance<'_>) -> Result<bool, StoreError> {
        on_backend!(self, advance_presentation(advance))
    }

    /// Records a verified presentation, atomically: the presentation `answered` → `verified` with
    /// its `presentation_during_issuance_session`, and its offer, still `offered` and not yet
    /// presented, gets the merged `claims` and `presented_at`. `false` (nothing changed) when
    /// either is not in that state.
    pub async fn record_presented(
        &self,
        presentation_id: &str,
        session: &str,
        claims: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(
            self,
            record_presented(presentation_id, session, claims, now)
        )
    }

    /// Adds a verification to the audit.
    pub async fn audit_verification(&self, verification: &Verification) -> Result<(), StoreError> {
        on_backend!(self, audit_verification(verification))
    }

    /// The verifications of an offer's presentations, oldest first.
    pub async fn verifications_of_offer(&self, id: &str) -> Result<Vec<Verification>, StoreError> {
        on_backend!(self, verifications_of_offer(id))
    }

    /// Records a login on its offer, in one guarded step: the offer's whole new `claims`,
    /// `logged_in_at` and `login_subject`, only while it is `offered`, unexpired, not signed in
    /// before, and for anyone or for this `subject`. `false` (nothing changed) otherwise.
    pub async fn record_login(&self, login: &RecordLogin<'_>) -> Result<bool, StoreError> {
        on_backend!(self, record_login(login))
    }

    /// Stores a new authorization. An id already stored is an error.
    pub async fn create_authorization(
        &self,
        authorization: &Authorization,
    ) -> Result<(), StoreError> {
        on_backend!(self, create_authorization(authorization))
    }

    pub async fn authorization(&self, id: &str) -> Result<Option<Authorization>, StoreError> {
        on_backend!(self, authorization(id))
    }

    /// Moves an authorization `from` → `to` if it is in `from` (and, if asked, unexpired),
    /// setting what the move carries, atomically: of callers racing for the same move, exactly
    /// one gets `true`.
    pub async fn advance_authorization(
        &self,
        advance: &AuthorizationAdvance<'_>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, advance_authorization(advance))
    }

    /// Adds a login to the audit.
    pub async fn audit_login(&self, login: &LoginAudit) -> Result<(), StoreError> {
        on_backend!(self, audit_login(login))
    }

    /// The logins audited for an offer, oldest first.
    pub async fn logins_of_offer(&self, offer_id: &str) -> Result<Vec<LoginAudit>, StoreError> {
        on_backend!(self, logins_of_offer(offer_id))
    }

    /// Spends a single-use key (a DPoP proof's `jti`): `true` the first time, `false` ever after
    /// — whatever `expires_at` comes with it — until [`Store::sweep`] forgets it, after
    /// `expires_at`. So `expires_at` must be at least when whatever carries the key stops being
    /// accepted by its age. Of callers racing with the same key, exactly one gets `true`.
    pub async fn spend_once(&self, key: &str, expires_at: i64) -> Result<bool, StoreError> {
        on_backend!(self, spend_once(key, expires_at))
    }

    /// Redeems a pre-authorised code, atomically: finds its offer, checks it ([`Redemption`]
    /// lists the refusals, in the order they are checked) and moves it `offered` → `redeemed`
    /// with the access token's SHA-256 and expiry — or counts a wrong transaction code, locking
    /// the offer at the cap. Of callers racing with the same code, exactly one redeems it.
    pub async fn redeem(&self, redeem: &Redeem<'_>) -> Result<Redemption, StoreError> {
        let Some(offer_id) = offer_of(redeem.code) else {
            return Ok(Redemption::UnknownCode);
        };
        on_backend!(
            self,
            redeem(offer_id, redeem, &token_hash(redeem.access_token))
        )
    }

    /// The offer this access token was issued for, while the token has not expired
    /// (`token_expires_at > now`), whatever the offer's state.
    pub async fn offer_by_access_token(
        &self,
        access_token: &str,
        now: i64,
    ) -> Result<Option<Offer>, StoreError> {
        let Some(offer_id) = offer_of(access_token) else {
            return Ok(None);
        };
        let hash = token_hash(access_token);
        Ok(self.offer(offer_id).await?.filter(|offer| {
            offer
                .access_token_hash
                .as_deref()
                .is_some_and(|stored| constant_time_eq(stored, &hash))
                && offer.token_expires_at.is_some_and(|t| t > now)
        }))
    }

    /// Issues up to `count` credentials of a `redeemed` or `issued` offer of the credential
    /// configuration asked for, atomically: the nonce recorded as spent (a nonce spent before is
    /// refused first, whatever the offer's state), the offer `issued` with its count raised by
    /// as many as it has room for (at most `per_offer` in all) and, when revocable, a status-list
    /// entry for each with a random index that no other credential has — all of it or nothing
    /// — and returns the offer's claims, so that issuing needs no read of the offer before it.
    /// See [`Issued`] for the refusals. The indices are drawn from [`status_index_candidates`].
    pub async fn issue(&self, issue: &Issue<'_>) -> Result<Issued, StoreError> {
        if issue.revocable && issue.list_size < 1 {
            return Err(StoreError::new(format!(
                "cannot issue offer `{}`: the status list size must be positive (got {})",
                issue.offer_id, issue.list_size
            )));
        }
        if issue.count < 1 || issue.per_offer < 1 {
            return Err(StoreError::new(format!(
                "cannot issue offer `{}`: {} credentials asked for, at most {} per offer; both \
                 must be positive",
                issue.offer_id, issue.count, issue.per_offer
            )));
        }
        on_backend!(self, issue(issue))
    }

    /// Revokes the offer (any state but `revoked` → `revoked`, `revoked_at = now`) and every
    /// status entry it issued, in one transaction. `None` when there is no such offer; otherwise
    /// its entries (revoking again changes nothing and returns the same entries).
    pub async fn revoke_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<Vec<StatusEntry>>, StoreError> {
        on_backend!(self, revoke_offer(id, now))
    }

    /// The status entries an offer issued (none for an unknown offer), by list and index.
    pub async fn statuses_of_offer(&self, id: &str) -> Result<Vec<StatusEntry>, StoreError> {
        on_backend!(self, statuses_of_offer(id))
    }

    /// Whether list `list_id` exists (has any entry), and its revoked indices in ascending order.
    pub async fn revoked_indices(&self, list_id: i64) -> Result<(bool, Vec<i64>), StoreError> {
        on_backend!(self, revoked_indices(list_id))
    }

    /// Forgets what expired at or before `before`: spent nonces and single-use keys (refused by
    /// their expiry from then on), and presentations and authorizations that are over (they
    /// expired, their codes expired, and their offers no longer wait); returns how many. Offers
    /// and the audits are kept. The oldest go first, in chunks of [`SWEEP_CHUNK`], each its own
    /// short step, so that a large sweep never holds the database for long.
    pub async fn sweep(&self, before: i64) -> Result<u64, StoreError> {
        self.sweep_in_chunks(before, SWEEP_CHUNK).await
    }

    /// [`Store::sweep`] with chunks of `chunk` rows (tests use small ones).
    #[doc(hidden)]
    pub async fn sweep_in_chunks(&self, before: i64, chunk: i64) -> Result<u64, StoreError> {
        let chunk = chunk.max(1);
        let mut total = 0;
        for (what, step) in SWEEPS {
            loop {
                let swept = on_backend!(self, sweep(what, step, before, chunk))?;
                total += swept;
                if swept < chunk as u64 {
                    break;
                }
            }
        }
        Ok(total)
    }
}

/// Where [`Store::connect`] goes.
enum Target {
    Sqlite(sqlite::Target),
    Postgres,
}

fn classify(url: &str) -> Result<Target, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        return sqlite::Target::parse(rest)
            .map(Target::Sqlite)
            .map_err(|why| StoreError::new(format!("cannot open the database `{url}`: {why}")));
    }
    Err(StoreError::new(format!(
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

/// `cannot <what> in `<url>`: <why>`.
fn failed(url: &str, what: &str, why: impl fmt::Display) -> StoreError {
    StoreError::new(format!("cannot {what} in `{url}`: {why}"))
}

/// [`failed`] for an outage: the database could not be reached or did not answer in time.
fn unreachable(url: &str, what: &str, why: impl fmt::Display) -> StoreError {
    StoreError::unavailable(format!(
        "cannot {what} in `{url}`: the database is unavailable: {why}"
    ))
}

/// The SHA-256 (hex) under which an access token is stored.
fn token_hash(token: &str) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// `count` distinct `(list, index)` slots from `candidates`, for the status entries of one
/// request's credentials (`None` when the candidates run out first).
pub fn distinct_slots(
    candidates: &mut impl Iterator<Item = (i64, i64)>,
    count: usize,
) -> Option<Vec<(i64, i64)>> {
    let mut slots: Vec<(i64, i64)> = Vec::with_capacity(count);
    while slots.len() < count {
        let slot = candidates.next()?;
        if !slots.contains(&slot) {
            slots.push(slot);
        }
    }
    Some(slots)
}

/// The `(list, index)` slots an issuance tries, in order, for its status entry:
/// [`INDEX_ATTEMPTS_PER_LIST`] random indices in `[0, list_size)` of list `list_id`, then as many
/// in the next list, and so on (a crowded list is left behind instead of being searched).
pub fn status_index_candidates(list_id: i64, list_size: i64) -> impl Iterator<Item = (i64, i64)> {
    let size = list_size.max(1);
    (list_id..=i64::MAX).flat_map(move |list| {
        (0..INDEX_ATTEMPTS_PER_LIST).map(move |_| (list, rand::thread_rng().gen_range(0..size)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let sqlite = |url: &str| match classify(url) {
            Ok(Target::Sqlite(target)) => target,
            _ => panic!("{url} is an SQLite URL"),
        };
        assert_eq!(sqlite("sqlite::memory:"), sqlite::Target::Memory);
        assert_eq!(sqlite("sqlite://:memory:"), sqlite::Target::Memory);
        assert_eq!(sqlite("sqlite:x?mode=memory"), sqlite::Target::Memory);
        assert_eq!(
            sqlite("sqlite:x.db"),
            sqlite::Target::File {
                path: "x.db".into(),
                create: true,
            }
        );
        assert_eq!(
            sqlite("sqlite:///var/lib/trustc/x.db?mode=rw"),
            sqlite::Target::File {
                path: "/var/lib/trustc/x.db".into(),
                create: false,
            }
        );
        assert!(matches!(
            classify("postgresql://h/db"),
            Ok(Target::Postgres)
        ));
        for (url, why) in [
            ("sqlite:", "names no file"),
            ("sqlite:x.db?cache=shared", "`cache=shared`"),
            ("sqlite:x.db?mode=rwx", "`mode=rwx`"),
            ("sqlite:x.db?mode=ro", "writes"),
        ] {
            let Err(e) = classify(url) else {
                panic!("{url} is refused")
            };
            assert!(
                e.message()
                    .starts_with(&format!("cannot open the database `{url}`:"))
                    && e.message().contains(why),
                "{e}"
            );
        }
        let Err(e) = classify("mysql://u:secret@h/db") else {
            panic!()
        };
        assert!(
            e.message().contains("mysql://u:***@h/db") && !e.message().contains("secret"),
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
    fn authorization_kinds_and_states_round_trip() {
        for kind in [AuthorizationKind::Wallet, AuthorizationKind::Page] {
            assert_eq!(kind.as_str().parse::<AuthorizationKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        for state in [
            AuthorizationState::Requested,
            AuthorizationState::LoggingIn,
            AuthorizationState::LoggedIn,
            AuthorizationState::CodeIssued,
            AuthorizationState::Used,
            AuthorizationState::Refused,
        ] {
            assert_eq!(state.as_str().parse::<AuthorizationState>().unwrap(), state);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{}\"", state.as_str())
            );
        }
        let unknown = "pending".parse::<AuthorizationState>().unwrap_err();
        assert!(
            unknown
                .message()
                .contains("unknown authorization state `pending`"),
            "{unknown}"
        );
        assert!("browser".parse::<AuthorizationKind>().is_err());
    }

    #[test]
    fn sqlite_forms_replace_migrations_that_exist() {
        for (version, _) in SQLITE_FORMS {
            assert!(
                MIGRATOR.iter().any(|m| m.version == version),
                "migrations/sqlite has version {version}, migrations/ does not"
            );
        }
        // Every file in migrations/sqlite/ is one of SQLITE_FORMS (a file added there but not
        // registered would silently not run).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let version: i64 = name.split('_').next().unwrap().parse().unwrap();
            let sql = std::fs::read_to_string(dir.join(&name)).unwrap();
            assert!(
                SQLITE_FORMS.contains(&(version, sql.as_str())),
                "migrations/sqlite/{name} is not in SQLITE_FORMS"
            );
        }
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn status_index_candidates_try_each_list_then_move_on() {
        let tried: Vec<(i64, i64)> = status_index_candidates(7, 4)
            .take(3 * INDEX_ATTEMPTS_PER_LIST as usize)
            .collect();
        let per_list = INDEX_ATTEMPTS_PER_LIST as usize;
        for (n, (list, idx)) in tried.iter().enumerate() {
            assert_eq!(*list, 7 + (n / per_list) as i64, "{tried:?}");
            assert!((0..4).contains(idx), "{tried:?}");
        }
        // Random: a list of 4 shows more than one index in 16 draws.
        let first: std::collections::HashSet<_> =
            tried[..per_list].iter().map(|(_, i)| *i).collect();
        assert!(first.len() > 1, "{tried:?}");
        // The last list ends the sequence instead of overflowing.
        assert_eq!(status_index_candidates(i64::MAX, 1).count(), per_list);
    }
}
