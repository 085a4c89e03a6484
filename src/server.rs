//! The server: accepting connections on a bound listener, serving each with
//! hyper, and shutting down gracefully.
//!
//! axum's own `serve` sets no header-read timeout, so connections are served
//! through hyper's HTTP/1.1 builder with a timer, as axum's
//! serve-with-hyper example does.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

use crate::config::Config;
use crate::data::SqliteStore;
use crate::engine::Engine;
use crate::site::{self, AppState};

/// How connections are served.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A client that has not sent a request's headers by then is cut off.
    pub header_read_timeout: Duration,
    /// After shutdown is asked for, how long in-flight responses may take.
    pub drain_timeout: Duration,
}

impl From<&Config> for ServeOptions {
    fn from(config: &Config) -> Self {
        ServeOptions {
            header_read_timeout: config.header_read_timeout,
            drain_timeout: config.drain_timeout,
        }
    }
}

/// How many connections may wait to be accepted. std's default of 128
/// drops SYNs when thousands of clients arrive at once; the kernel caps this
/// at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for serving: address reuse (restarts do not wait out
/// TIME_WAIT) and a deep accept backlog.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves the site on `listener` until `shutdown` completes, then drains.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let engine = Engine::with_boundary_timeout(Some(config.boundary_timeout));
    let store = SqliteStore::open(&config.database)
        .await
        .map_err(|e| io::Error::other(format!("the board's database: {e}")))?;
    tracing::info!(database = %config.database.display(), latency = %config.latency, "board ready");
    let mut state = AppState::new(engine.clone(), Arc::new(store));
    state.compress_pages = config.compress_pages;
    state.latency = config.latency;
    // The static side of `/compare`: the exportable pages, pre-rendered now
    // into a directory of this process's own, served by the file service.
    let export_dir = std::env::temp_dir().join(format!("suspense-ssr-{}", std::process::id()));
    match site::export(state.clone(), &config.static_dir, false, &export_dir).await {
        Ok(report) => {
            tracing::info!(dir = %export_dir.display(), pages = report.pages.len(), "pre-rendered the exportable pages");
            state.export_dir = Some(export_dir.clone());
        }
        Err(error) => {
            tracing::warn!(%error, "could not pre-render the exportable pages; /export is off")
        }
    }
    let router = site::app(state, &config.static_dir);
    let served = serve(listener, router, ServeOptions::from(&config), shutdown).await;
    let _ = std::fs::remove_dir_all(&export_dir);
    served
}

/// Serves `router` on `listener` until `shutdown` completes. Then it stops
/// accepting, lets in-flight responses finish for up to the drain timeout,
/// and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let graceful = GracefulShutdown::new();
    // Tells connections still open after the drain timeout to close now, so
    // their pages (and every boundary) are dropped when `serve` returns.
    let (close_now, closing) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: the listener is
                    // fine, so wait a moment instead of spinning or exiting.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Each chunk of a page is one small write that should leave now, not
        // wait for the previous one to be acknowledged.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "could not set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let mut closing = closing.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                }
                _ = closing.wait_for(|close| *close) => {
                    tracing::debug!(%peer, "connection closed at the drain timeout");
                }
            }
        });
    }

    drop(listener);
    let open = graceful.count();
    tracing::info!(
        open,
        "shutting down: no longer accepting, draining open connections"
    );
    if tokio::time::timeout(options.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(timeout = ?options.drain_timeout, "drain timeout passed; closing the remaining connections");
        let _ = close_now.send(true);
    }
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
