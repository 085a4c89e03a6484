//! The server: accepting connections on a bound listener, serving each with
//! hyper, within limits, and shutting down gracefully.
//!
//! axum's own `serve` sets no header-read timeout, so connections are served
//! through hyper's HTTP/1.1 builder with a timer, as axum's
//! serve-with-hyper example does.
//!
//! Limits, each a flag of the binary declared in [`ServeOptions`]:
//!
//! - headers: read within a timeout (else the connection is closed, with a
//!   `408` if anything was sent) and at most so many bytes (`431`);
//! - bodies: each part within a timeout, so trickling cannot hold a handler;
//! - the request target: at most so many bytes (`414`);
//! - connections: at most so many open at once; past that the server stops
//!   accepting until one closes, and new clients wait in the kernel's
//!   backlog (as mini-redis does), instead of being accepted and starved;
//! - request bodies: the site's own limit (`413`);
//! - responses: a client that stops reading is cut off once a write has
//!   made no progress for the send timeout (nginx's `send_timeout`), so
//!   stalled readers cannot keep every connection slot; and while it does
//!   not read, hyper holds at most [`WRITE_BUFFER_BYTES`] of its response
//!   (beyond the kernel's socket buffer), so it cannot hold much memory
//!   either: the page is only rendered as far as the client takes it. The
//!   kernel's share is bounded too: each accepted socket queues few unsent
//!   bytes (`--max-unsent-bytes`), and a connection cut off by the send
//!   timeout is reset, so the kernel keeps none of its unsent bytes
//!   (`server/socket.rs`).
//!
//! Shutdown: stop accepting, let in-flight responses finish for up to the
//! drain timeout, then abort the engine's pages (every pending boundary
//! shows its timeout content, so each page still ends well-formed), give
//! those last bytes a moment to leave, and close what is left.

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
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::task::AbortOnDropHandle;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::data::Store;
use crate::flags;
use crate::http::CheckRequestLayer;
use crate::http::trace::REQUEST_ID_HEADER;
use crate::observe::Observability;
use axum_suspense::Engine;
use socket::TimedSocket;

mod heap;
mod socket;

/// How connections are served: the flags of the binary that concern
/// connections, declared here, where they are used (`--help` shows these
/// comments).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers.
    #[arg(long, default_value = "10s", value_parser = flags::positive_duration)]
    pub header_read_timeout: Duration,
    /// How long a request body may send nothing before the request fails
    /// (with a 4xx), so a client cannot hold a handler by trickling.
    #[arg(long, default_value = "10s", value_parser = flags::positive_duration)]
    pub body_read_timeout: Duration,
    /// How long a response may wait on a client that has stopped reading
    /// (no byte taken) before the connection is closed (with a reset, so
    /// the kernel drops what it still holds of the response) and its page
    /// dropped.
    #[arg(long, default_value = "30s", value_parser = flags::positive_duration)]
    pub send_timeout: Duration,
    /// About how many bytes not yet sent each connection may queue in the
    /// kernel (`TCP_NOTSENT_LOWAT`): what a client that stops reading can
    /// hold there. Bytes in flight are not counted, so a client that reads
    /// keeps the kernel's autotuning. 0: no limit (the send buffer grows up
    /// to `net.ipv4.tcp_wmem`'s maximum, often 4 MiB, and a stalled reader
    /// fills it).
    // `std::option::Option`, spelled out, so clap takes the type as the
    // parser's (0 is `None`) instead of an optional flag.
    #[arg(long, default_value = "65536", value_parser = flags::parse_max_unsent)]
    pub max_unsent_bytes: std::option::Option<u32>,
    /// On shutdown, how long in-flight pages may take to finish.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
    /// Connections open at once; at the cap, new clients wait in the
    /// listen backlog until one closes.
    #[arg(long, default_value = "10000", value_parser = flags::at_least::<1>)]
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; larger
    /// gets 431.
    #[arg(long, default_value = "16384", value_parser = flags::at_least::<1024>)]
    pub max_header_bytes: usize,
    /// Longest request target (path and query), in bytes; longer gets 414.
    #[arg(long, default_value_t = 8 * 1024)]
    pub max_uri_bytes: usize,
    /// Largest request body (the board's forms), in bytes; larger gets 413
    /// (before anything reads it, if its Content-Length says so).
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_body_bytes: usize,
    /// After a burst of connections (256 or more open at once) has fallen
    /// under a quarter of its peak, give the heap's free memory back to the
    /// system (glibc's `malloc_trim`): `on` or `off`. Without it glibc keeps
    /// what a burst freed (154 MiB after 10,000 held pages, against 10.5
    /// MiB with it at `RUST_LOG=warn`; docs/configuration.md). Defaults to
    /// `on`.
    #[arg(
        long,
        value_name = "on|off",
        default_value = "on",
        action = clap::ArgAction::Set,
        value_parser = flags::on_off
    )]
    pub trim_heap_after_bursts: bool,
    /// The engine whose pages are aborted when the drain timeout passes, so
    /// they end with their timeout content instead of being cut.
    #[arg(skip)]
    pub engine: Option<Engine>,
    /// The board's store, whose health `/metrics` shows.
    #[arg(skip)]
    pub store: Option<Arc<dyn Store>>,
}

/// After the drain timeout has aborted the pages, how long their last bytes
/// (timeout content and the end of the document) may take to leave before
/// the connections are closed.
const ABORT_FLUSH: Duration = Duration::from_secs(2);

/// How much of a response hyper holds, written but not yet taken by the
/// socket, before it stops asking the body for more (its default is about
/// 400 KiB). A client that stops reading then holds this, the page's last
/// chunk (the engine's chunks are at most 64 KiB plus one boundary) and
/// whatever the kernel's socket buffers take; boundaries that resolve
/// meanwhile wait, unrendered, until the client reads on.
/// (hyper uses the same figure to bound a request's head as it reads it, so
/// the server sets the larger of this and `max_header_bytes`.)
pub const WRITE_BUFFER_BYTES: usize = 32 * 1024;

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

/// Serves `router` on `listener` until `shutdown` completes. Then it stops
/// accepting, lets in-flight responses finish for up to the drain timeout,
/// and returns.
///
/// The server's own layers (request ids and spans, counting, request
/// checks, the body timeout) wrap the router from outside, and it answers
/// `/metrics` and `/healthz` itself. Requests are counted by the route the router matched if its
/// layers include [`ReportRouteLayer`](crate::observe::ReportRouteLayer)
/// (the site's do), else as `unmatched`.
///
/// Three parts, as mini-redis has them: `accept` (a connection slot,
/// then a connection, backing off while accepting fails), `accepted_socket` (what
/// each accepted socket is set to) and `handle` (one connection's life),
/// then `drain`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_header_size(options.max_header_bytes)
        .max_buf_size(WRITE_BUFFER_BYTES.max(options.max_header_bytes));
    let observability = Observability::new(options.engine.as_ref(), options.store.as_deref());
    let send_timeouts = observability.send_timeouts();
    let (max_uri, max_body) = (options.max_uri_bytes, options.max_body_bytes);
    // Around the router, not in it (`Router::layer` boxes every route and its
    // future once more): the router sees a request only once it has passed
    // these. The router reports the route it matched (`ReportRouteLayer`).
    // Each `.layer()` wraps the ones after it.
    let service = tower::ServiceBuilder::new()
        // Outermost: every answer, refusals included, has an id, a span,
        // and is counted.
        .map_request(crate::http::trace::drop_unplain_request_id)
        .layer(SetRequestIdLayer::new(
            REQUEST_ID_HEADER,
            crate::http::trace::FreshIds::new(),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(crate::http::trace::trace())
        .layer(crate::observe::ObserveLayer(observability))
        .layer(CheckRequestLayer { max_uri, max_body })
        .layer(RequestBodyTimeoutLayer::new(options.body_read_timeout))
        .service(router);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(options.max_connections));
    // Tells connections still open after the drain timeout to close now, so
    // their pages (and every boundary) are dropped when `serve` returns.
    let (close_now, closing) = watch::channel(false);
    tokio::pin!(shutdown);
    // Runs through the drain too; stops when `serve` returns or its future
    // is dropped.
    let _trimmer = options.trim_heap_after_bursts.then(|| {
        AbortOnDropHandle::new(tokio::spawn(heap::trim_after_bursts(
            slots.clone(),
            options.max_connections,
        )))
    });

    loop {
        let (slot, stream, peer) = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            () = &mut shutdown => break,
        };
        let stream = accepted_socket(stream, peer, &options);
        let service = TowerToHyperService::new(service.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(handle(
            connection,
            peer,
            slot,
            closing.clone(),
            send_timeouts.clone(),
            options.send_timeout,
        ));
    }

    drop(listener);
    drain(graceful, &options, close_now).await;
    Ok(())
}

/// The first wait after accepting fails; it doubles on each failure in a
/// row, up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(50);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A free connection slot, then the next connection. At the cap, clients
/// wait in the kernel's backlog instead of being accepted and left
/// unserved. A failed accept (out of file descriptors and the like) leaves
/// the listener fine, so it waits and tries again (never gives up: a server
/// that exits on a descriptor shortage drops every open page with it).
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (OwnedSemaphorePermit, TcpStream, SocketAddr) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (slot, stream, peer),
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}

/// An accepted socket as the server serves it: no delay, a fixed send
/// buffer, writes under the send timeout.
fn accepted_socket(stream: TcpStream, peer: SocketAddr, options: &ServeOptions) -> TimedSocket {
    // Each chunk of a page is one small write that should leave now, not
    // wait for the previous one to be acknowledged.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, %peer, "could not set TCP_NODELAY");
    }
    // What a client that stops reading leaves in the kernel: about this
    // many unsent bytes, not what autotuning would grow the buffer to.
    if let Some(bytes) = options.max_unsent_bytes
        && let Err(error) = socket::limit_unsent(&stream, bytes)
    {
        tracing::debug!(%error, %peer, "could not set TCP_NOTSENT_LOWAT");
    }
    // Every write of the response (page or file) that the socket does not
    // take for `send_timeout` fails with `TimedOut`, which ends the
    // connection with a reset.
    TimedSocket::new(stream, options.send_timeout)
}

/// One connection's life: served until it ends, or until `closing` says
/// the drain timeout has passed. Its `slot` is freed when it ends.
async fn handle(
    connection: impl Future<Output = Result<(), hyper::Error>>,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    mut closing: watch::Receiver<bool>,
    send_timeouts: prometheus_client::metrics::counter::Counter,
    send_timeout: Duration,
) {
    let _slot = slot;
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                if is_send_timeout(&error) {
                    send_timeouts.inc();
                    tracing::warn!(%peer, timeout = ?send_timeout, "send timeout: the client took nothing of the response for that long; connection reset, its page dropped");
                } else {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
            }
        }
        _ = closing.wait_for(|close| *close) => {
            tracing::debug!(%peer, "connection closed at the drain timeout");
        }
    }
}

/// After the listener is closed: lets open connections finish for up to the
/// drain timeout; then ends the engine's pages with their timeout content,
/// gives those bytes [`ABORT_FLUSH`] to leave, and closes what is left.
async fn drain(graceful: GracefulShutdown, options: &ServeOptions, close_now: watch::Sender<bool>) {
    let open = graceful.count();
    tracing::info!(
        open,
        "shutting down: no longer accepting, draining open connections"
    );
    let drained = graceful.shutdown();
    tokio::pin!(drained);
    if tokio::time::timeout(options.drain_timeout, &mut drained)
        .await
        .is_ok()
    {
        return;
    }
    let mut closed = false;
    if let Some(engine) = &options.engine {
        tracing::warn!(timeout = ?options.drain_timeout, "drain timeout passed; ending the pages still streaming with their timeout content");
        engine.abort_all();
        closed = tokio::time::timeout(ABORT_FLUSH, &mut drained)
            .await
            .is_ok();
    }
    if !closed {
        tracing::warn!("closing the remaining connections");
        let _ = close_now.send(true);
    }
}

/// The connection ended because a write timed out: the client stopped
/// reading (the only timer on the connection's writes is the send timeout).
fn is_send_timeout(error: &hyper::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<io::Error>())
        .is_some_and(|error| error.kind() == io::ErrorKind::TimedOut)
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
