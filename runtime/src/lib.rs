//! trustc's issuer runtime (`trustc serve`): an OpenID4VCI 1.0 issuer of SD-JWT VCs that issues
//! exactly what the compiled governance (`issuer/config.json`) allows.
//!
//! The data flows load config → HTTP → issue → store: [`compiled`] reads what `trustc build`
//! wrote; [`http`] answers wallets (pre-authorised code flow) and the issuer's back end (admin
//! API); [`claims`], [`proof`], [`sdjwt`] and [`status`] decide and produce what is issued, signed
//! with [`keys`]; [`sealed`] makes the `c_nonce`s and access tokens that prove their own origin,
//! so that neither needs the store to be checked;
//! [`store`] keeps offers, spent nonces and issued statuses in SQLite or PostgreSQL, changing each
//! atomically so several instances can share a database.

pub mod claims;
pub mod compiled;
pub mod holder;
pub mod http;
pub mod keys;
pub mod proof;
pub mod sdjwt;
pub mod sealed;
pub mod secrets;
pub mod status;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use compiled::Compiled;
pub use http::router;
pub use keys::IssuerKey;
pub use store::Store;

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
    /// The bearer token of the admin API; `None` leaves it open (`--dev` only).
    pub admin_token: Option<String>,
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

/// Everything a request handler needs: the compiled governance, the key, the store.
pub struct Issuer {
    pub compiled: Compiled,
    pub store: Store,
    pub key: IssuerKey,
    pub settings: Settings,
    pub clock: Clock,
    /// Makes and checks `c_nonce`s (keyed by `key`).
    pub nonces: sealed::Nonces,
    /// Makes and checks access tokens (keyed by `key`).
    pub tokens: sealed::AccessTokens,
    /// The status list new credentials go to; moves on when a list is full.
    current_list: AtomicI64,
}

impl Issuer {
    pub fn new(
        compiled: Compiled,
        store: Store,
        key: IssuerKey,
        settings: Settings,
        clock: Clock,
    ) -> Arc<Issuer> {
        Arc::new(Issuer {
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
}

/// How often the store forgets spent nonces that have expired.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// How long past its expiry a spent nonce is remembered: instances whose clocks differ by less
/// than this cannot accept it again.
pub const SPENT_NONCE_GRACE: i64 = 300;

/// Serves the issuer on `listener` until Ctrl-C or SIGTERM, finishing requests in flight, then
/// closes the store; forgets expired spent nonces in the background.
pub async fn serve(listener: tokio::net::TcpListener, issuer: Arc<Issuer>) -> std::io::Result<()> {
    let sweeper = {
        let issuer = issuer.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(SWEEP_INTERVAL);
            loop {
                interval.tick().await;
                let before = issuer.clock.now() - SPENT_NONCE_GRACE;
                match issuer.store.sweep(before).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!(removed, "forgot expired spent nonces"),
                    Err(error) => tracing::warn!(%error, "forgetting expired spent nonces failed"),
                }
            }
        })
    };
    // Every answer is written in one piece: send it at once rather than wait (Nagle) for the
    // acknowledgement of the previous one.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, router(issuer.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    sweeper.abort();
    // The requests are answered; let the store finish its writes and close the database.
    issuer.store.close().await;
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
