//! The issuer's rules, apart from the wire: what may be offered, redeemed, issued and revoked,
//! decided on typed requests with typed outcomes and refusals.
//!
//! [`Issuer`] holds what every rule needs (the compiled governance, the store, the signing key,
//! the settings, the clock) and each submodule adds its part of the flow as methods on it:
//! [`offers`] (the back end creates an offer, a wallet fetches it, anyone asks its state),
//! [`redemption`] (a pre-authorised code for an access token), [`issuance`] (`c_nonce`s, access
//! tokens, the key proof, the SD-JWT VC), [`revocation`] (withdrawing an offer, the status
//! lists), [`presentation`] (the OpenID4VP verifier of the prerequisites), [`login`] (the
//! authorization server of the authorization code flow and the relying party of the
//! governance's OpenID Connect providers) and [`journey`] (the holder's web page of an offer,
//! for wallets that take only pre-authorised offers). The refusals are enums whose `Display` is
//! the sentence the caller reads; `http` maps each variant to the status and error code its
//! specification names and nothing else.
//!
//! This layer names no HTTP type (no axum, hyper or status codes) and no SQL: it talks to
//! [`crate::store::Store`]'s typed API, so the same rules serve any transport and are tested
//! without a router (`tests/serve/domain.rs`).

pub mod fetch;
pub mod issuance;
pub mod journey;
pub mod login;
pub mod offers;
pub mod presentation;
pub mod redemption;
pub mod revocation;
pub mod trust;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use std::collections::HashMap;

use crate::compiled::{self, Compiled};
use crate::identity::{self, Identity};
use crate::keys::IssuerKey;
use crate::sealed;
use crate::secrets::constant_time_eq;
use crate::store::{Backend, Store, StoreError};

/// Lifetimes and limits of the runtime. [`Settings::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The credential issuer identifier wallets see (no trailing `/`).
    pub public_url: String,
    /// How long an offer's pre-authorised code can be redeemed, in seconds.
    pub offer_lifetime: i64,
    /// How long an access token can fetch the credential, in seconds.
    pub access_token_lifetime: i64,
    /// How long a `c_nonce` can be used, in seconds.
    pub nonce_lifetime: i64,
    /// Wrong transaction codes after which an offer is invalidated.
    pub tx_code_attempts: i64,
    /// How old a proof's `iat` may be, in seconds.
    pub proof_max_age: i64,
    /// How far in the future a proof's `iat` may be (clock skew), in seconds.
    pub proof_max_skew: i64,
    /// Entries per status list (random indices are drawn from it).
    pub status_list_size: i64,
    /// `ttl` of status list tokens: how long relying parties may cache them, in seconds.
    pub status_list_ttl: i64,
    /// The bearer token of the admin API (`TRUSTC_ADMIN_TOKEN`, fixed); with no
    /// `admin_token_file` either, `None` leaves the admin API open (`--dev` only).
    pub admin_token: Option<String>,
    /// Admin tokens read from a file that is re-read as it changes (`--admin-token-file`), so
    /// that they are rotated without a restart; accepted besides `admin_token`.
    pub admin_token_file: Option<Arc<crate::admin_tokens::AdminTokenFile>>,
    /// How long a connection may take to send a request's head, and may sit idle between
    /// requests; then it is closed. A client that trickles its headers, or opens connections
    /// and sends nothing, cannot hold them for ever.
    pub header_read_timeout: std::time::Duration,
    /// How long a request may take from its head to its answer (reading its body included);
    /// then it is answered 408 with a problem body.
    pub request_timeout: std::time::Duration,
    /// How long a wallet may take to answer a presentation request, in seconds.
    pub presentation_lifetime: i64,
    /// How long an authorization code (after a presentation) can be redeemed, in seconds.
    pub authorization_code_lifetime: i64,
    /// How old a presentation's key-binding JWT may be, in seconds.
    pub key_binding_max_age: i64,
    /// The participant (`<framework>/<participant>`) this issuer is, when the governance has
    /// several: its identifiers are the credentials' `iss`.
    pub participant: Option<String>,
    /// The rate limits and where the client's address is read ([`crate::limits`]).
    pub limits: crate::limits::Limits,
}

impl Settings {
    pub fn new(public_url: &str) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            offer_lifetime: 600,
            access_token_lifetime: 300,
            nonce_lifetime: 300,
            tx_code_attempts: 5,
            proof_max_age: 300,
            proof_max_skew: 60,
            status_list_size: 131_072,
            status_list_ttl: 300,
            admin_token: None,
            admin_token_file: None,
            // Longer than the 60 s idle timeout of common load balancers and proxies in front.
            header_read_timeout: std::time::Duration::from_secs(75),
            request_timeout: std::time::Duration::from_secs(30),
            presentation_lifetime: 300,
            authorization_code_lifetime: 60,
            key_binding_max_age: 300,
            participant: None,
            limits: crate::limits::Limits::default(),
        }
    }
}

/// The runtime's time source: the system clock, or a manual one that tests move.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            Clock::Manual(now) => now.load(Ordering::SeqCst),
        }
    }

    /// A manual clock at the current time, and the handle that moves it.
    pub fn manual() -> (Clock, Arc<AtomicI64>) {
        let now = Arc::new(AtomicI64::new(Clock::System.now()));
        (Clock::Manual(now.clone()), now)
    }
}

/// How long past its expiry a spent nonce is remembered: instances whose clocks differ by less
/// than this cannot accept it again.
pub const SPENT_NONCE_GRACE: i64 = 300;

/// A failure that is the issuer's own, not the caller's: the store could not be reached, a stored
/// value does not read back, signing failed. The cause is for the log; the caller is only told
/// to try again later.
///
/// An outage of the store ([`StoreError::is_unavailable`]) stays one here
/// ([`Internal::is_unavailable`]): the HTTP layer answers it 503 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Internal {
    cause: String,
    unavailable: bool,
}

impl Internal {
    pub fn new(cause: String) -> Internal {
        Internal {
            cause,
            unavailable: false,
        }
    }

    /// Whether the cause is an outage of the database: the same request may succeed in a moment.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }

    /// The cause, for the log.
    pub fn cause(&self) -> &str {
        &self.cause
    }
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cause)
    }
}

impl std::error::Error for Internal {}

impl From<StoreError> for Internal {
    fn from(error: StoreError) -> Internal {
        Internal {
            unavailable: error.is_unavailable(),
            cause: error.to_string(),
        }
    }
}

/// Everything the rules need: the compiled governance, the key, the store. Shared by every
/// request (`Arc<Issuer>`).
pub struct Issuer {
    pub compiled: Compiled,
    /// Reached through the rules only (their methods below and in the submodules).
    store: Store,
    pub key: IssuerKey,
    pub settings: Settings,
    pub clock: Clock,
    /// Makes and checks `c_nonce`s (keyed by `key`).
    nonces: sealed::Nonces,
    /// Makes and checks access tokens (keyed by `key`).
    tokens: sealed::AccessTokens,
    /// The status list new credentials go to; moves on when a list is full.
    current_list: AtomicI64,
    /// The OpenID4VP verifier of the prerequisites.
    verifier: presentation::Verifier,
    /// Who the issuer is in each credential type's credentials, by configuration id.
    identities: HashMap<String, Identity>,
    /// The `kid` its status list tokens name ([`Issuer::status_kid`]), decided once.
    status_kid: String,
    /// The relying party of the governance's login providers; `None` when started without
    /// them (a governance without `login` credentials, or a test that needs none).
    login: Option<login::provider::Providers>,
}

/// What `GET /health` reports.
#[derive(Debug)]
pub struct Health<'a> {
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// The compiled configuration's content hash.
    pub configuration: &'a str,
    /// Whether the database answers.
    pub reachable: Result<(), Internal>,
}

impl Issuer {
    /// An issuer whose verifier fetches nothing ([`presentation::offline_verifier`]): enough for
    /// every rule but verifying presentations.
    pub fn new(
        compiled: Compiled,
        store: Store,
        key: IssuerKey,
        settings: Settings,
        clock: Clock,
    ) -> Arc<Issuer> {
        Issuer::with_verifier(
            compiled,
            store,
            key,
            settings,
            clock,
            presentation::offline_verifier(),
        )
    }

    pub fn with_verifier(
        compiled: Compiled,
        store: Store,
        key: IssuerKey,
        settings: Settings,
        clock: Clock,
        verifier: presentation::Verifier,
    ) -> Arc<Issuer> {
        Issuer::with_login(compiled, store, key, settings, clock, verifier, None)
    }

    /// An issuer that also signs holders in with the governance's providers.
    pub fn with_login(
        compiled: Compiled,
        store: Store,
        key: IssuerKey,
        settings: Settings,
        clock: Clock,
        verifier: presentation::Verifier,
        login: Option<login::provider::Providers>,
    ) -> Arc<Issuer> {
        let identities: HashMap<String, Identity> = compiled
            .credential_ids()
            .into_iter()
            .filter_map(|id| compiled.credential(id))
            .map(|credential| {
                let kind = &credential.kind;
                let identity = identity::choose(
                    kind,
                    settings.participant.as_deref(),
                    &settings.public_url,
                    &key,
                );
                (kind.id.clone(), identity)
            })
            .collect();
        let status_kid = {
            let mut kids: Vec<&str> = identities.values().map(|i| i.kid.as_str()).collect();
            kids.sort_unstable();
            kids.dedup();
            match kids.as_slice() {
                [one] => (*one).to_owned(),
                _ => key.kid().to_owned(),
            }
        };
        Arc::new(Issuer {
            login,
            identities,
            status_kid,
            verifier,
            compiled,
            store,
            nonces: sealed::Nonces::new(&key),
            tokens: sealed::AccessTokens::new(&key),
            key,
            settings,
            clock,
            current_list: AtomicI64::new(1),
        })
    }

    /// Who the issuer is in the credentials of configuration `id` (borrowed: it is read on
    /// every issuance).
    pub fn identity(&self, id: &str) -> std::borrow::Cow<'_, Identity> {
        match self.identities.get(id) {
            Some(identity) => std::borrow::Cow::Borrowed(identity),
            None => std::borrow::Cow::Owned(Identity {
                iss: self.settings.public_url.clone(),
                kid: self.key.kid().to_owned(),
                named_by_governance: false,
            }),
        }
    }

    /// The `kid` of status list tokens: the DID URL of the issuer's key when it issues as one
    /// DID (verifiers resolving the DID find the key by it), else the key's id.
    pub fn status_kid(&self) -> &str {
        &self.status_kid
    }

    /// The DID documents this issuer serves (its `did:web` identities), by the path they are
    /// served at on their host.
    pub fn did_documents(&self) -> Vec<(String, serde_json::Value)> {
        let mut documents: Vec<(String, serde_json::Value)> = Vec::new();
        for identity in self.identities.values() {
            if let Some(path) = identity::did_web_path(&identity.iss)
                && !documents.iter().any(|(p, _)| *p == path)
            {
                documents.push((path, identity::did_document(&identity.iss, &self.key)));
            }
        }
        documents.sort_by(|a, b| a.0.cmp(&b.0));
        documents
    }

    /// `<public url><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.public_url)
    }

    /// The URI of a status list.
    pub fn status_list_uri(&self, list_id: i64) -> String {
        self.url(&format!("{}/{list_id}", compiled::STATUS_LISTS_PATH))
    }

    fn current_list(&self) -> i64 {
        self.current_list.load(Ordering::Relaxed)
    }

    fn list_used(&self, list_id: i64) {
        self.current_list.fetch_max(list_id, Ordering::Relaxed);
    }

    /// Whether `token` opens the admin API: the fixed admin token or one of the token file's
    /// (a removed one during its grace period), compared in constant time with each of them;
    /// anything, when the runtime runs with neither (`--dev`).
    pub fn admits_admin(&self, token: Option<&str>) -> bool {
        let (fixed, file) = (&self.settings.admin_token, &self.settings.admin_token_file);
        if fixed.is_none() && file.is_none() {
            return true;
        }
        let Some(given) = token else {
            return false;
        };
        // Both are compared (no short circuit), so the time taken does not say which matched.
        let by_fixed = fixed
            .as_deref()
            .is_some_and(|expected| constant_time_eq(expected, given));
        let by_file = file
            .as_ref()
            .is_some_and(|file| file.admits(given, self.clock.now()));
        by_fixed | by_file
    }

    /// Whether the database answers, and what this instance runs.
    pub async fn health(&self) -> Health<'_> {
        Health {
            database: match self.store.backend() {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            configuration: &self.compiled.config.content_hash,
            reachable: self.store.ping().await.map_err(Internal::from),
        }
    }

    /// Lets the store finish its writes and closes the database (at shutdown, once the requests
    /// in flight are answered).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Forgets the spent nonces that expired more than [`SPENT_NONCE_GRACE`] ago (no instance
    /// can accept them any more); how many were forgotten.
    pub async fn forget_spent_nonces(&self) -> Result<u64, Internal> {
        let before = self.clock.now() - SPENT_NONCE_GRACE;
        Ok(self.store.sweep(before).await?)
    }
}
