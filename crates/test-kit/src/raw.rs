//! A raw HTTP/1.1 client: the head parsed, the body de-chunked, and each
//! HTTP chunk kept as it came, every read under a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::WAIT;

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
    let stream = TcpStream::connect(addr).await.expect("connect");
    send_on(stream, request).await
}

/// Sends raw request bytes on a connection the caller made (with socket
/// options of its own, say) and reads the response head.
pub async fn send_on(mut stream: TcpStream, request: &[u8]) -> RawResponse {
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
        self.read_at_most(64 * 1024, limit, waiting_for).await
    }

    /// Reads one batch of at most `step` bytes; false on end of stream.
    async fn read_at_most(&mut self, step: usize, limit: Duration, waiting_for: &str) -> bool {
        let mut buf = vec![0u8; step];
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

    /// Reads to the end as a slow but steady client does: at most `step`
    /// bytes at a time, with a `pause` after each read. Each read must come
    /// within `WAIT`; the whole may take far longer.
    pub async fn read_paced(&mut self, step: usize, pause: Duration) -> &str {
        while !self.finished
            && self
                .read_at_most(step, WAIT, "the next bytes of a paced read")
                .await
        {
            tokio::time::sleep(pause).await;
        }
        self.read_to_end().await
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
