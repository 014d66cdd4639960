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
pub mod http;
pub mod jose;
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
    /// How long a connection may take to send a request's head, and may sit idle between
    /// requests; then it is closed. A client that trickles its headers, or opens connections
    /// and sends nothing, cannot hold them for ever.
    pub header_read_timeout: std::time::Duration,
    /// How long a request may take from its head to its answer (reading its body included);
    /// then it is answered 408 with a problem body.
    pub request_timeout: std::time::Duration,
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
            // Longer than the 60 s idle timeout of common load balancers and proxies in front.
            header_read_timeout: std::time::Duration::from_secs(75),
            request_timeout: std::time::Duration::from_secs(30),
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
pub async fn serve(listener: tokio::net::TcpListener, issuer: Arc<Issuer>) {
    serve_until(listener, issuer, shutdown_signal()).await;
}

/// [`serve`] until `shutdown` completes instead of a signal: then no connection is accepted,
/// idle ones are closed, and the requests in flight are answered before the store is closed.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    issuer: Arc<Issuer>,
    shutdown: impl std::future::Future<Output = ()>,
) {
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
    let app = router(issuer.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(issuer.settings.header_read_timeout);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(error) => {
                    tokio::select! {
                        () = wait_after_accept_error(error) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        // Every answer is written in one piece: send it at once rather than wait (Nagle) for
        // the acknowledgement of the previous one.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection =
            connections.watch(http.serve_connection(hyper_util::rt::TokioIo::new(tcp), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // A client that went away, or one closed for taking too long to send its head.
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    // No new connections; the idle ones close, those with a request in flight finish it.
    tracing::info!("shutting down");
    drop(listener);
    connections.shutdown().await;
    sweeper.abort();
    // The requests are answered; let the store finish its writes and close the database.
    issuer.store.close().await;
}

/// After a failed `accept`: a connection the client gave up on is nothing; running out of file
/// descriptors (or any other failure) is logged and waited out for a second, instead of
/// spinning on an error that the next call returns again.
async fn wait_after_accept_error(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; trying again in a second");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
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
}
