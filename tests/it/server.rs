//! The server around the pages: graceful shutdown and the header-read timeout.

use std::time::Duration;

use suspense_ssr::server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use axum_suspense::Engine;
use axum_suspense::error::DEFAULT_TIMEOUT_HTML;

use tokio::sync::watch;

use crate::common::{TestServer, WAIT, eventually, get, options};
use crate::pages::{SHELL_END, Shell, route, text};

/// `GET /`: a page whose one boundary shows `content` once the test sends
/// `true` on the returned gate, never before.
fn held_page(content: &'static str) -> (watch::Sender<bool>, axum::Router) {
    let (release, released) = watch::channel(false);
    let router = route(&Engine::new(), move |page| {
        let mut released = released.clone();
        let part = page.try_suspend(text("waiting"), async move {
            released.wait_for(|r| *r).await.map(|_| text(content))
        });
        page.stream(Shell { parts: vec![part] })
    });
    (release, router)
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_page_finish() {
    // The page's only boundary waits on a gate the test holds, so the page is
    // certainly in flight when shutdown is asked for.
    let (release, router) = held_page("finished after shutdown");
    let server = TestServer::start(router).await;
    let addr = server.addr;
    let mut response = get(addr, "/").await;
    response.read_until(SHELL_END).await;

    let mut stopping = tokio::spawn(server.stop());
    // Draining: the server waits for the page instead of returning.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut stopping)
            .await
            .is_err(),
        "the server stopped while a page was in flight"
    );
    release.send(true).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains("finished after shutdown") && body.ends_with("</body></html>"),
        "in-flight page cut: {body:?}"
    );
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("server stops after draining")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener must be closed"
    );
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let (server, _engine) = TestServer::site_with(ServeOptions {
        header_read_timeout: Duration::from_millis(200),
        ..options()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "a client that never finishes its headers must be cut off"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer: {text:?}"
    );
}

#[tokio::test]
async fn shutdown_at_the_drain_timeout_ends_pages_with_timeout_content() {
    // A page that would stream for a minute must not hold shutdown longer
    // than the drain timeout, and must not be cut: its pending boundaries
    // end with their timeout content and the document ends.
    let (server, engine) = TestServer::site_with(ServeOptions {
        drain_timeout: Duration::from_millis(200),
        ..options()
    })
    .await;
    let mut response = get(server.addr, "/bench?delay=60000").await;
    response.read_until("Loading section 2").await;
    tokio::time::timeout(WAIT, server.stop())
        .await
        .expect("shutdown must end at the drain timeout")
        .unwrap();
    let body = response.read_to_end().await;
    assert_eq!(
        body.matches(DEFAULT_TIMEOUT_HTML).count(),
        3,
        "each of the 3 pending sections shows its timeout content: {body:?}"
    );
    assert!(body.trim_end().ends_with("</body></html>"), "{body:?}");
    let stats = engine.stats();
    assert_eq!(stats.snapshot().timed_out, 3);
    eventually("the cut page's boundaries are dropped", || {
        stats.pending_boundaries() == 0
    })
    .await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    // One connection allowed: a second client is not served while the
    // first is open, and is served once it closes.
    let (release, router) = held_page("released");
    let server = TestServer::start_with(
        router,
        ServeOptions {
            max_connections: 1,
            ..options()
        },
    )
    .await;
    let mut first = get(server.addr, "/").await;
    first.read_until(SHELL_END).await;

    let addr = server.addr;
    let mut second = tokio::spawn(async move { get(addr, "/").await.status() });
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut second)
            .await
            .is_err(),
        "a second connection was served past the cap of 1"
    );
    release.send(true).unwrap();
    first.read_to_end().await;
    first.hang_up();
    let status = tokio::time::timeout(WAIT, second)
        .await
        .expect("the waiting client is served once a slot is free")
        .unwrap();
    assert_eq!(status, 200);
}

/// A server whose task is dropped (not shut down) leaves no task of its own
/// running: the heap trimmer it starts ends with it.
#[tokio::test]
async fn a_dropped_server_leaves_no_task_behind() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let (_release, router) = held_page("never");
    let server = TestServer::start(router).await;
    // Serving: the accept loop and the trimmer are running.
    let mut response = get(server.addr, "/healthz").await;
    assert_eq!(response.status(), 200);
    response.read_to_end().await;
    assert!(metrics.num_alive_tasks() > before);
    // Dropped: its task is aborted mid-loop.
    drop(server);
    eventually("every task the server started has ended", || {
        metrics.num_alive_tasks() == before
    })
    .await;
}
