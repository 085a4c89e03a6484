//! Clients that stop reading: the send timeout closes their connections
//! and drops their pages, what a stalled page holds is bounded, and a slow
//! but steady reader is never cut off.
//!
//! Most sockets here have a tiny buffer (the client's receive buffer, and
//! the server's send buffer through its listener, which accepted
//! connections inherit), so the kernel holds only a few KiB and what the
//! server holds shows. The last test reads what the kernel holds, with the
//! server's own send buffer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use askama::Template;
use axum_suspense::{Engine, Page};
use suspense_ssr::server::{ServeOptions, WRITE_BUFFER_BYTES};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::common::{RawResponse, TestServer, WAIT, eventually, get, have_tool, options, send_on};
use crate::pages::{Shell, never, route, text};

/// The smallest buffer the tests ask the kernel for (it doubles it and
/// keeps a floor of about 4.5 KiB).
const TINY_BUFFER: u32 = 4096;

/// Bytes of each part of the large test pages.
const PART_BYTES: usize = 16 * 1024;

/// A part that counts the bytes it renders, so the test knows how much of
/// the page the server has rendered.
#[derive(Template)]
#[template(source = "<p>{{ pad }}</p>", ext = "html")]
struct Part {
    pad: Counted,
}

struct Counted {
    rendered: Arc<AtomicUsize>,
    bytes: usize,
}

impl std::fmt::Display for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rendered.fetch_add(self.bytes, Ordering::Relaxed);
        f.write_str(&"x".repeat(self.bytes))
    }
}

/// `GET /`: `parts` parts of `PART_BYTES`, each ready at once, and, if
/// `endless`, one more that never resolves (so the page cannot end).
/// `rendered` counts the bytes of parts rendered.
pub(crate) fn large_page(
    parts: usize,
    endless: bool,
    rendered: &Arc<AtomicUsize>,
) -> impl Fn(Page) -> axum::response::Response + Clone + Send + Sync + 'static {
    let rendered = rendered.clone();
    move |page: Page| {
        let mut boundaries: Vec<_> = (0..parts)
            .map(|i| {
                let part = Part {
                    pad: Counted {
                        rendered: rendered.clone(),
                        bytes: PART_BYTES,
                    },
                };
                page.try_suspend(text(&format!("loading-{i}")), async move {
                    Ok::<_, Infallible>(part)
                })
            })
            .collect();
        if endless {
            boundaries.push(never(&page, "still loading"));
        }
        page.stream(Shell { parts: boundaries })
    }
}

/// A listener whose connections have a tiny send buffer.
fn tiny_listener() -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(TINY_BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    socket.listen(1024).unwrap()
}

/// A connection with a tiny receive buffer.
async fn tiny_client(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(TINY_BUFFER).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Asks for `path` on a tiny connection and never reads a byte.
pub(crate) async fn stalled_reader(addr: SocketAddr, path: &str) -> TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tiny_client(addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The tiny listener's send buffer kept (not the server's own), and the
/// send timeout at `timeout`.
fn with_send_timeout(timeout: Duration) -> ServeOptions {
    ServeOptions {
        send_timeout: timeout,
        max_unsent_bytes: None,
        ..options()
    }
}

#[tokio::test]
async fn a_stalled_reader_is_cut_off_and_its_page_dropped() {
    // 256 parts of 16 KiB (4 MiB), all ready at once, and one that never
    // resolves; the client asks and never reads.
    let engine = Engine::new();
    let rendered = Arc::new(AtomicUsize::new(0));
    let router = route(&engine, large_page(256, true, &rendered));
    let server = TestServer::start_on(
        tiny_listener(),
        router,
        with_send_timeout(Duration::from_millis(300)),
    );
    let stalled = stalled_reader(server.addr, "/").await;

    let stats = engine.stats();
    // The send timeout closes the connection: the page and every boundary
    // (the endless one too) are dropped.
    eventually("the stalled page is dropped", || {
        stats.snapshot().client_disconnects == 1
    })
    .await;
    assert_eq!(stats.active_streams(), 0);
    eventually("its boundaries are dropped", || {
        stats.pending_boundaries() == 0
    })
    .await;

    // Rendered while stalled: what the kernel's tiny buffers took (a few
    // KiB), hyper's write buffer, and one chunk of the page (at most 64 KiB
    // and a part); not the 4 MiB of the page. (hyper's default buffer would
    // have taken 400 KiB.)
    let rendered = rendered.load(Ordering::Relaxed);
    eprintln!("rendered for a stalled reader: {} KiB", rendered / 1024);
    let bound = 16 * 1024 + WRITE_BUFFER_BYTES + 64 * 1024 + PART_BYTES;
    assert!(
        rendered <= bound,
        "rendered {rendered} bytes of parts for a reader that took none (bound {bound})"
    );

    // The operator sees why.
    let mut metrics = get(server.addr, "/metrics").await;
    let metrics = metrics.read_to_end().await;
    assert!(
        metrics.contains("http_send_timeouts_total 1\n"),
        "{metrics}"
    );
    // And the client finds its connection closed: what was buffered, then
    // the end, without the rest of the page.
    let mut received = Vec::new();
    let read = tokio::time::timeout(crate::common::WAIT, async {
        use tokio::io::AsyncReadExt;
        let mut stalled = stalled;
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stalled.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the stalled connection must be closed");
    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 200"), "{received:.200}");
    assert!(!received.contains("</html>"), "the page cannot have ended");
}

#[tokio::test]
async fn a_slow_but_steady_reader_gets_the_whole_page() {
    // 16 parts of 16 KiB read 4 KiB at a time with a pause after each read:
    // the whole takes several send timeouts, but each write progresses well
    // within one.
    let engine = Engine::new();
    let rendered = Arc::new(AtomicUsize::new(0));
    let router = route(&engine, large_page(16, false, &rendered));
    let timeout = Duration::from_millis(500);
    let server = TestServer::start_on(tiny_listener(), router, with_send_timeout(timeout));
    let stream = tiny_client(server.addr).await;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let mut response: RawResponse = send_on(stream, request.as_bytes()).await;
    let started = std::time::Instant::now();
    let body = response
        .read_paced(4096, Duration::from_millis(30))
        .await
        .to_owned();
    let took = started.elapsed();
    assert_eq!(body.matches(&"x".repeat(PART_BYTES)).count(), 16);
    assert!(
        body.ends_with("</body></html>"),
        "{:.200}",
        &body[body.len() - 200..]
    );
    assert!(
        took > timeout,
        "the read took {took:?}, not longer than the send timeout: it proves nothing"
    );
    assert_eq!(engine.stats().snapshot().client_disconnects, 0);
}

#[tokio::test]
async fn stalled_readers_at_the_connection_cap_free_their_slots() {
    // 50 connections allowed, 50 clients that ask and stop reading: a 51st
    // waits in the backlog until the send timeout frees a slot, then gets
    // its page.
    let engine = Engine::new();
    let rendered = Arc::new(AtomicUsize::new(0));
    let big = route(&engine, large_page(64, true, &rendered));
    let small = route(&engine, |page: Page| page.stream(Shell { parts: vec![] }));
    let router = axum::Router::new().nest_service("/big", big).merge(small);
    let server = TestServer::start_on(
        tiny_listener(),
        router,
        ServeOptions {
            max_connections: 50,
            // Long enough that all 50 are in before the first is cut off,
            // on a loaded machine too (500 ms was not, at load 12).
            ..with_send_timeout(Duration::from_millis(2000))
        },
    );
    let mut stalled = Vec::new();
    for _ in 0..50 {
        stalled.push(stalled_reader(server.addr, "/big").await);
    }
    let stats = engine.stats();
    eventually("all 50 stalled pages are being served", || {
        stats.active_streams() == 50
    })
    .await;

    let mut visitor = get(server.addr, "/").await;
    assert_eq!(visitor.status(), 200);
    let body = visitor.read_to_end().await;
    assert!(body.ends_with("</html>"), "{body}");
    eventually("every stalled page is dropped", || {
        stats.active_streams() == 0
    })
    .await;
    assert_eq!(stats.snapshot().client_disconnects, 50);
    drop(stalled);
}

#[tokio::test]
async fn stalled_readers_of_static_files_are_cut_off_too() {
    // A file served from memory (512 KiB) and one read from disk (4 MiB),
    // each asked for by a client that never reads.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("stalled-static-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mid.bin"), vec![b'm'; 512 * 1024]).unwrap();
    std::fs::write(dir.join("big.bin"), vec![b'b'; 4 * 1024 * 1024]).unwrap();
    let (assets, _) = suspense_ssr::assets::Assets::load(&dir).unwrap();
    let router = axum::Router::new().nest_service("/static", std::sync::Arc::new(assets).router());
    let server = TestServer::start_on(
        tiny_listener(),
        router,
        with_send_timeout(Duration::from_millis(300)),
    );
    let mid = stalled_reader(server.addr, "/static/mid.bin").await;
    let big = stalled_reader(server.addr, "/static/big.bin").await;

    let deadline = tokio::time::Instant::now() + crate::common::WAIT;
    loop {
        let mut metrics = get(server.addr, "/metrics").await;
        if metrics
            .read_to_end()
            .await
            .contains("http_send_timeouts_total 2\n")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the two stalled readers were never cut off"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((mid, big));
}

/// `ss`, which shows each socket's memory in the kernel.
const SS: &str = "/usr/bin/ss";

/// The server's side of the connection from `client`, as `ss -tm` shows
/// it: its state (`ESTAB`, `FIN-WAIT-1`, …) and the bytes of the host's
/// memory its send queue holds (`skmem`'s `w`: the data and the kernel's
/// overhead; 0 where `ss` shows no `skmem`). `None` once it is gone.
fn server_side(server: SocketAddr, client: SocketAddr) -> Option<(String, u64)> {
    let filter = format!("sport = :{} and dport = :{}", server.port(), client.port());
    let output = std::process::Command::new(SS)
        .args(["-tmnH", "state", "all", &filter])
        .output()
        .expect("run ss");
    assert!(output.status.success(), "ss {filter}: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let state = text.split_whitespace().next()?.to_owned();
    let queued = text
        .split("skmem:(")
        .nth(1)
        .and_then(|skmem| {
            skmem
                .split([',', ')'])
                .find_map(|field| field.strip_prefix('w')?.parse().ok())
        })
        .unwrap_or(0);
    Some((state, queued))
}

/// The most a stalled connection may hold in the kernel.
const KERNEL_BOUND: u64 = 256 * 1024;

/// A client that stops reading costs the host little in the kernel too, and
/// nothing once the send timeout has cut it off.
///
/// Linux grows an accepted socket's send buffer by itself (up to
/// `net.ipv4.tcp_wmem`'s maximum, often 4 MiB) and a reader that takes
/// nothing lets it fill; and a normal close keeps the unsent bytes, as an
/// orphan in `FIN-WAIT-1`, for as long as the client keeps its window shut.
/// The server bounds each socket's unsent bytes (`--max-unsent-bytes`) and
/// resets a connection the send timeout cuts off. Read with `ss -tm`: the
/// server's side of the one connection, sampled while it is stalled, then
/// gone right after the timeout.
#[tokio::test]
async fn a_stalled_reader_holds_little_in_the_kernel_and_nothing_after_the_send_timeout() {
    if !have_tool(
        "a_stalled_reader_holds_little_in_the_kernel",
        std::path::Path::new(SS),
        "iproute2",
    ) {
        return;
    }
    // A 4 MiB page that never ends, on a plain listener: the send buffer is
    // the server's default.
    let engine = Engine::new();
    let rendered = Arc::new(AtomicUsize::new(0));
    let router = route(&engine, large_page(256, true, &rendered));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = TestServer::start_on(
        listener,
        router,
        ServeOptions {
            send_timeout: Duration::from_secs(1),
            ..options()
        },
    );
    let stalled = stalled_reader(server.addr, "/").await;
    let client = stalled.local_addr().unwrap();

    // While the client takes nothing: the server's send queue, sampled until
    // the send timeout ends the connection.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut peak = 0;
    let mut last = loop {
        match server_side(server.addr, client) {
            Some((state, queued)) if state == "ESTAB" => peak = peak.max(queued),
            other => break other,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled connection was never cut off (its send queue peaked at {peak} bytes)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!("a stalled reader's send queue in the kernel peaked at {peak} bytes");
    assert!(
        peak >= 32 * 1024,
        "the send queue peaked at {peak} bytes: the buffer never filled, so this measured nothing"
    );
    assert!(
        peak <= KERNEL_BOUND,
        "a stalled reader held {peak} bytes in the kernel (bound {KERNEL_BOUND})"
    );

    // The send timeout reset the connection: the server's side is gone, not
    // an orphan holding its queue until the client drains it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Some(seen) = last {
        assert!(
            tokio::time::Instant::now() < deadline,
            "after the send timeout the server's socket is still there: {seen:?} (state, bytes queued)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        last = server_side(server.addr, client);
    }
    let mut metrics = get(server.addr, "/metrics").await;
    let metrics = metrics.read_to_end().await;
    assert!(
        metrics.contains("http_send_timeouts_total 1\n"),
        "the connection must have ended by the send timeout: {metrics}"
    );
    // And the client sees a reset after what its buffer held, not a clean
    // end (which would mean the rest was still on its way).
    let ended = tokio::time::timeout(WAIT, async {
        use tokio::io::AsyncReadExt;
        let mut stalled = stalled;
        let mut buf = [0u8; 16 * 1024];
        let mut received = 0;
        loop {
            match stalled.read(&mut buf).await {
                Ok(0) => return (received, None),
                Ok(n) => received += n,
                Err(error) => return (received, Some(error.kind())),
            }
        }
    })
    .await
    .expect("the connection must be over");
    assert_eq!(
        ended.1,
        Some(std::io::ErrorKind::ConnectionReset),
        "the client read {} bytes, then {:?}",
        ended.0,
        ended.1
    );
}
