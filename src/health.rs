//! Liveness: `GET /healthz` on every instance, and `suspense-ssr healthcheck`
//! that asks it (the container image's `HEALTHCHECK`, which has no curl).
//!
//! `/healthz` answers `200 ok` whenever the server takes requests. It does
//! not look at the database: an instance whose database is away still serves
//! everything else, answers the rest `503` and recovers by itself (see
//! `docs/postgres.md`), so restarting it would not help; the database's
//! state is on `/metrics` (`board_database_up`). During shutdown the server
//! stops accepting, so the check fails from the first moment of the drain.
//!
//! The probe is a few lines of blocking std I/O rather than an HTTP client
//! crate: one request to one loopback address, a status line to read, and a
//! binary that should not grow a client stack (and TLS) for it.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Where the check is answered.
pub const HEALTH_PATH: &str = "/healthz";

/// The answer to `GET /healthz`: `200`, `ok`, never cached. The server
/// gives it before the routes, whatever the application (see
/// [`crate::observe::ObserveLayer`]).
pub fn healthz() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "ok\n",
    )
        .into_response()
}

/// Asks the server listening on `addr` (an unspecified address such as
/// `0.0.0.0:3000` means this host's loopback) for `/healthz`, within
/// `timeout` for each step; `Ok` on a `200`, else why not.
///
/// ```no_run
/// # use std::time::Duration;
/// let healthy = suspense_ssr::health::probe("127.0.0.1:3000".parse().unwrap(), Duration::from_secs(2));
/// assert!(healthy.is_ok());
/// ```
pub fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let addr = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    };
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {HEALTH_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    // The status line is all it needs: `HTTP/1.1 200 OK`.
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("no answer from {addr}: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head[..read]);
    let status = line.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200") {
        Ok(())
    } else if status.is_empty() {
        Err(format!("{addr} closed the connection without an answer"))
    } else {
        Err(format!("{addr}{HEALTH_PATH} answered {status:?}"))
    }
}
