//! Shared helpers: a server on `127.0.0.1:0` that stops itself, and a raw
//! HTTP/1.1 client that records the exact bytes and chunks of a streamed
//! response, every read under a timeout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use suspense_ssr::config::Config;
use suspense_ssr::data::SqliteStore;
use suspense_ssr::engine::Engine;
use suspense_ssr::server::{self, ServeOptions};
use suspense_ssr::site::{self, AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every wait in the tests is bounded by this (wide: CI machines are slow).
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh board database of its own under `target/tmp`.
pub fn fresh_database() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "board-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("board.sqlite3")
}

/// The site's state on a fresh board with no simulated latency.
pub async fn site_state() -> AppState {
    let store = SqliteStore::open(&fresh_database())
        .await
        .expect("open a fresh board");
    let mut state = AppState::new(Engine::new(), std::sync::Arc::new(store));
    state.latency = suspense_ssr::site::Latency::NONE;
    state
}

/// The line `scripts/test` counts as a skipped test.
pub const SKIP_MARK: &str = "TEST SKIPPED";

/// Whether `tool` exists. If not: under `CI=true` the test fails; elsewhere
/// it says so on the process's real stderr (the harness captures
/// `eprintln!` from passing tests), for `scripts/test` to count, and the
/// caller returns early.
pub fn have_tool(test: &str, tool: &std::path::Path, package: &str) -> bool {
    if tool.exists() {
        return true;
    }
    let why = format!(
        "{} is missing (Debian package {package}; scripts/test installs it when run as root)",
        tool.display()
    );
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: {why}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{SKIP_MARK}: {test}: {why}");
    false
}

pub fn static_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
}

/// A server on a loopback port, stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(router: Router) -> Self {
        Self::start_with(router, options()).await
    }

    pub async fn start_with(router: Router, options: ServeOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve(listener, router, options, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// The real site, with an engine the test can watch.
    pub async fn site() -> (Self, Engine) {
        Self::site_with(options()).await
    }

    /// The real site served with `options`, on a fresh board database.
    /// Its pages are aborted at the drain timeout, as the binary's are.
    pub async fn site_with(options: ServeOptions) -> (Self, Engine) {
        let state = site_state().await;
        let engine = state.engine.clone();
        let router = site::app(state, &static_dir());
        let options = ServeOptions {
            engine: Some(engine.clone()),
            ..options
        };
        (Self::start_with(router, options).await, engine)
    }

    /// The real site with its pages pre-rendered into `dir` and served
    /// under `/export`, as the binary does at startup.
    pub async fn site_exported(dir: &std::path::Path) -> (Self, Engine) {
        let mut state = site_state().await;
        let engine = state.engine.clone();
        site::export(state.clone(), &static_dir(), false, dir)
            .await
            .expect("export the pages");
        state.export_dir = Some(dir.to_owned());
        let router = site::app(state, &static_dir());
        (Self::start_with(router, options()).await, engine)
    }

    /// Asks for shutdown and waits (bounded) for the server to return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.take().expect("not stopped yet").send(());
        let handle = self.handle.take().expect("not stopped yet");
        tokio::time::timeout(WAIT, handle)
            .await
            .expect("server did not stop in time")
            .expect("server task panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

pub fn options() -> ServeOptions {
    let config = Config::with_static_dir(static_dir());
    ServeOptions::from(&config)
}

/// A response read off a raw socket: head parsed, body de-chunked, and each
/// HTTP chunk kept as it came.
pub struct RawResponse {
    stream: TcpStream,
    /// Bytes after the head that are not yet parsed into chunks.
    pending: Vec<u8>,
    /// Every byte received after the head, exactly as it came.
    pub raw_body: Vec<u8>,
    pub head: String,
    pub chunks: Vec<String>,
    /// Every chunk's bytes (for an encoded body, the only record of them:
    /// `chunks` and `body` stay empty).
    pub byte_chunks: Vec<Vec<u8>>,
    body: String,
    finished: bool,
}

/// Sends `GET path` and reads the response head.
pub async fn get(addr: SocketAddr, path: &str) -> RawResponse {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    send(addr, request.as_bytes()).await
}

/// Sends raw request bytes and reads the response head.
pub async fn send(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write request");
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(at) = find(&received, b"\r\n\r\n") {
            break at;
        }
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no response head in time; got {:?}",
                    String::from_utf8_lossy(&received)
                )
            })
            .expect("read head");
        assert!(
            n > 0,
            "connection closed before the head ended; got {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(received[..head_end].to_vec()).expect("head is UTF-8");
    let rest = received[head_end + 4..].to_vec();
    let mut response = RawResponse {
        stream,
        pending: Vec::new(),
        raw_body: Vec::new(),
        head,
        chunks: Vec::new(),
        byte_chunks: Vec::new(),
        body: String::new(),
        finished: false,
    };
    response.absorb(&rest);
    response
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl RawResponse {
    pub fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in head {:?}", self.head))
    }

    /// A header's value (first occurrence, name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    /// The de-chunked body received so far.
    pub fn body(&self) -> &str {
        &self.body
    }

    fn absorb(&mut self, bytes: &[u8]) {
        self.raw_body.extend_from_slice(bytes);
        if !self.is_chunked() {
            self.body.push_str(&String::from_utf8_lossy(bytes));
            return;
        }
        self.pending.extend_from_slice(bytes);
        loop {
            let Some(line_end) = find(&self.pending, b"\r\n") else {
                return;
            };
            let size_line =
                std::str::from_utf8(&self.pending[..line_end]).expect("chunk size line");
            let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
            if size == 0 {
                if find(&self.pending[line_end..], b"\r\n\r\n").is_some() {
                    self.finished = true;
                    self.pending.clear();
                }
                return;
            }
            let data_start = line_end + 2;
            if self.pending.len() < data_start + size + 2 {
                return;
            }
            let data = self.pending[data_start..data_start + size].to_vec();
            assert_eq!(
                &self.pending[data_start + size..data_start + size + 2],
                b"\r\n",
                "chunk not followed by CRLF"
            );
            if self.header("content-encoding").is_none() {
                let text = String::from_utf8(data.clone()).expect("chunk is UTF-8");
                self.body.push_str(&text);
                self.chunks.push(text);
            }
            self.byte_chunks.push(data);
            self.pending.drain(..data_start + size + 2);
        }
    }

    /// Reads one more batch of bytes; false on end of stream.
    async fn read_more(&mut self, limit: Duration, waiting_for: &str) -> bool {
        let mut buf = vec![0u8; 64 * 1024];
        let n = tokio::time::timeout(limit, self.stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {waiting_for}; body so far: {:?}",
                    self.body
                )
            })
            .unwrap_or(0);
        if n == 0 {
            return false;
        }
        self.absorb(&buf[..n]);
        true
    }

    /// Reads until the body contains `needle`; panics with what it saw if
    /// that does not happen in time or the stream ends first.
    pub async fn read_until(&mut self, needle: &str) -> &str {
        while !self.body.contains(needle) {
            let more = self.read_more(WAIT, needle).await;
            assert!(
                more || self.body.contains(needle),
                "stream ended before {needle:?}; body: {:?}",
                self.body
            );
        }
        &self.body
    }

    /// Reads until at least `n` chunks have arrived.
    pub async fn read_chunks(&mut self, n: usize) -> &[Vec<u8>] {
        while self.byte_chunks.len() < n {
            let more = self.read_more(WAIT, &format!("chunk {n}")).await;
            assert!(more, "stream ended after {} chunks", self.byte_chunks.len());
        }
        &self.byte_chunks
    }

    /// Reads to the end of the response and checks it ended properly.
    pub async fn read_to_end(&mut self) -> &str {
        while !self.finished {
            if !self.read_more(WAIT, "the end of the response").await {
                break;
            }
        }
        if self.is_chunked() {
            assert!(
                self.finished,
                "missing terminating chunk; got {:?}",
                String::from_utf8_lossy(&self.raw_body)
            );
            assert!(
                self.raw_body.ends_with(b"\r\n0\r\n\r\n"),
                "body does not end with the chunked terminator: {:?}",
                String::from_utf8_lossy(&self.raw_body)
            );
        }
        &self.body
    }

    /// Asserts that nothing more arrives for `quiet` (a bounded negative check).
    pub async fn assert_quiet(&mut self, quiet: Duration) {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(quiet, self.stream.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) => panic!("connection closed early; body: {:?}", self.body),
            Ok(Ok(n)) => panic!(
                "expected nothing yet, got {:?}; body before: {:?}",
                String::from_utf8_lossy(&buf[..n]),
                self.body
            ),
            Ok(Err(e)) => panic!("read failed: {e}"),
        }
    }

    /// Closes the connection (the client goes away).
    pub fn hang_up(self) {
        drop(self.stream);
    }
}

/// Position of `needle` in `haystack`, or a panic that shows both.
pub fn pos(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found in {haystack:?}"))
}

/// Polls `check` until it holds, for at most `WAIT`.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
