//! The connection loop: accepts TCP connections and serves each over HTTP/1 with the router,
//! with the timeouts that keep slow or idle clients from holding connections, until shutdown;
//! then it lets the requests in flight finish and closes the store. Each request carries its
//! connection's peer address (`ConnectInfo`), for the limits per client address. The expired spent nonces are
//! forgotten in the background meanwhile.

use std::sync::Arc;

use tower::ServiceExt;

use crate::domain::Issuer;

/// How often the store forgets spent nonces that have expired.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
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
                match issuer.forget_spent_nonces().await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!(removed, "forgot expired spent nonces"),
                    Err(error) => tracing::warn!(%error, "forgetting expired spent nonces failed"),
                }
            }
        })
    };
    let app = super::router(issuer.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper's own limit of 100 header fields stays (beyond it, a bare 431); the router refuses
    // more than `MAX_HEADERS` with a problem body.
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(issuer.settings.header_read_timeout);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
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
        // The peer's address goes with each request, for the limits per client address.
        let service = hyper_util::service::TowerToHyperService::new(app.clone().map_request(
            move |mut request: axum::extract::Request<_>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
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
    issuer.close().await;
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
