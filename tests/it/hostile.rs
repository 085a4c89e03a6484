//! Bad input against the running site: malformed requests, oversized
//! targets and heads, bad encodings, traversal spellings, unknown methods,
//! pipelined garbage. Each gets a 4xx with a reason, or a closed
//! connection; never a 5xx; and a normal page is served after every one.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use suspense_ssr::server::ServeOptions;

use crate::common::{TestServer, WAIT, eventually, get, options};

/// What came back on a connection: every status line, in order, and the
/// whole bytes (the connection is read until the server closes it).
#[derive(Debug)]
struct Answer {
    statuses: Vec<u16>,
    text: String,
}

/// Writes `request`, then reads until the server closes (bounded).
async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // A server may answer and close before the whole request is written.
    let _ = stream.write_all(request).await;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "no end in time for {:?}; got {:?}",
                String::from_utf8_lossy(&request[..request.len().min(200)]),
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let statuses = text
        .match_indices("HTTP/1.")
        .filter(|(at, _)| *at == 0 || text[..*at].ends_with('\n'))
        .filter_map(|(at, _)| text[at..].split(' ').nth(1)?.parse().ok())
        .collect();
    Answer { statuses, text }
}

/// A request with `Connection: close`, so every answer ends with a close.
fn request(line: &str, headers: &str) -> Vec<u8> {
    format!("{line}\r\nHost: x\r\n{headers}Connection: close\r\n\r\n").into_bytes()
}

fn raw(bytes: &[u8]) -> Vec<u8> {
    bytes.to_vec()
}

fn form(path: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Each case: a name, the bytes sent, and the statuses expected on that
/// connection, in order (`[]`: the connection is closed without an answer).
fn cases() -> Vec<(&'static str, Vec<u8>, &'static [u16])> {
    let long = |n: usize| "a".repeat(n);
    let many_headers: String = (0..200).map(|i| format!("X-{i}: v\r\n")).collect();
    vec![
        // Malformed request lines: hyper answers 400 and closes.
        ("no target", raw(b"GET\r\n\r\n"), &[400]),
        ("no version", raw(b"GET /\r\n\r\n"), &[400]),
        ("HTTP/9.9", raw(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"), &[400]),
        ("HTTP/2.0 over HTTP/1", raw(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), &[400]),
        ("a fourth field", raw(b"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n"), &[400]),
        ("binary", raw(b"\x00\x01\x02\xff garbage\r\n\r\n"), &[400]),
        ("a TLS hello", raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), &[400]),
        ("a header without a colon", request("GET / HTTP/1.1", "Nonsense\r\n"), &[400]),
        ("a NUL in a header", request("GET / HTTP/1.1", "X-A: a\0b\r\n"), &[400]),
        ("no Host in HTTP/1.1", raw(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), &[400]),
        // Oversized targets and heads.
        ("a 10 KB target", request(&format!("GET /bench?x={} HTTP/1.1", long(10_000)), ""), &[414]),
        ("a 20 KB target", request(&format!("GET /bench?x={} HTTP/1.1", long(20_000)), ""), &[431]),
        ("a 70 KB target", request(&format!("GET /{} HTTP/1.1", long(70_000)), ""), &[431]),
        ("a 20 KB header", request("GET / HTTP/1.1", &format!("X-Big: {}\r\n", long(20_000))), &[431]),
        ("200 headers", request("GET / HTTP/1.1", &many_headers), &[431]),
        // Invalid percent-encoding and invalid UTF-8.
        ("%zz in a post id", request("GET /posts/%zz HTTP/1.1", ""), &[400]),
        ("%zz in a static path", request("GET /static/%zz.css HTTP/1.1", ""), &[404]),
        ("a lone %", request("GET /% HTTP/1.1", ""), &[404]),
        ("%zz in the query", request("GET /bench?delay=%zz HTTP/1.1", ""), &[400]),
        ("%ff in the query", request("GET /bench?items=%ff HTTP/1.1", ""), &[400]),
        ("%ff as the render mode", request("GET /?render=%ff HTTP/1.1", ""), &[400]),
        ("a raw 0xff in the query", raw(b"GET /bench?items=\xff HTTP/1.1\r\nHost: x\r\n\r\n"), &[400]),
        ("a raw 0xff in the path", raw(b"GET /posts/\xff HTTP/1.1\r\nHost: x\r\n\r\n"), &[400]),
        ("a post id past u64", request("GET /posts/99999999999999999999999 HTTP/1.1", ""), &[400]),
        ("a negative post id", request("GET /posts/-1 HTTP/1.1", ""), &[400]),
        ("%ff in a form", form("/posts", b"author=%ff&title=t&body=b"), &[422]),
        ("raw 0xff in a form", form("/posts", b"author=\xff\xfe&title=t&body=b"), &[422]),
        ("raw 0xff in a comment", form("/posts/1/comments", b"author=\xff&body=\xfe"), &[422]),
        ("a like of no id", form("/comments/abc/like", b""), &[400]),
        // Path traversal, every spelling: 404, and nothing leaks.
        ("..", request("GET /static/../Cargo.toml HTTP/1.1", ""), &[404]),
        ("%2e%2e", request("GET /static/%2e%2e/Cargo.toml HTTP/1.1", ""), &[404]),
        ("..%2f", request("GET /static/..%2fCargo.toml HTTP/1.1", ""), &[404]),
        ("..%5c", request("GET /static/..%5cCargo.toml HTTP/1.1", ""), &[404]),
        ("..\\", request("GET /static/..\\Cargo.toml HTTP/1.1", ""), &[404]),
        ("//etc/passwd", request("GET //etc/passwd HTTP/1.1", ""), &[404]),
        ("/export/..", request("GET /export/../Cargo.toml HTTP/1.1", ""), &[404]),
        ("absolute-form ..", request("GET http://x/static/../../Cargo.toml HTTP/1.1", ""), &[404]),
        ("%00", request("GET /static/bench.css%00.txt HTTP/1.1", ""), &[404]),
        // Unknown and unwanted methods.
        ("BREW", request("BREW / HTTP/1.1", ""), &[405]),
        ("TRACE", request("TRACE / HTTP/1.1", ""), &[405]),
        ("DELETE", request("DELETE /posts/1 HTTP/1.1", ""), &[405]),
        ("a lowercase get", request("get / HTTP/1.1", ""), &[405]),
        ("CONNECT", request("CONNECT x:443 HTTP/1.1", ""), &[404]),
        ("OPTIONS *", request("OPTIONS * HTTP/1.1", ""), &[404]),
        // Framing: lengths and encodings.
        ("Content-Length: abc", request("POST /posts HTTP/1.1", "Content-Length: abc\r\n"), &[400]),
        ("two Content-Lengths", request("POST /posts HTTP/1.1", "Content-Length: 1\r\nContent-Length: 2\r\n"), &[400]),
        // hyper follows the chunked framing (an empty form here: 422),
        // ignores the length and closes after answering (RFC 9112 §6.3): a
        // smuggled second request is never read.
        (
            "Content-Length and chunked, then a smuggled request",
            raw(b"POST /posts HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
                  Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"),
            &[422],
        ),
        (
            "a bad chunk size",
            raw(b"POST /posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
            &[400],
        ),
        ("Transfer-Encoding: gzip", request("POST /posts HTTP/1.1", "Transfer-Encoding: gzip\r\n"), &[400]),
        ("a 100 KB form announced", request("POST /posts HTTP/1.1", "Expect: 100-continue\r\nContent-Length: 100000\r\n"), &[413]),
        // Pipelining: what came before the garbage is answered.
        (
            "pipelined garbage",
            raw(b"GET /bench?boundaries=0 HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE GARBAGE\r\n\r\n"),
            &[200, 400],
        ),
        (
            "two pipelined requests",
            raw(b"GET /bench?boundaries=1 HTTP/1.1\r\nHost: x\r\n\r\n\
                  GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            &[200, 404],
        ),
        // Abrupt ends.
        ("half a request line", raw(b"GET /bench?bound"), &[]),
    ]
}

#[tokio::test]
async fn bad_input_gets_4xx_or_a_close_and_never_stops_the_server() {
    let (server, engine) = TestServer::site().await;
    let addr = server.addr;
    // Normal clients, all along.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let normal = tokio::spawn(async move {
        let mut served = 0;
        while !*stopped.borrow() {
            let mut page = get(addr, "/bench?boundaries=2&items=2").await;
            assert_eq!(page.status(), 200, "a normal request failed");
            assert!(page.read_to_end().await.ends_with("</html>"));
            served += 1;
            tokio::task::yield_now().await;
        }
        served
    });

    let mut failures = Vec::new();
    for (name, bytes, expected) in cases() {
        // A client that sends half a request line and stops is cut off by
        // the header-read timeout; here it hangs up instead.
        let answer = if expected.is_empty() {
            hang_up_after(addr, &bytes).await
        } else {
            exchange(addr, &bytes).await
        };
        if answer.statuses.iter().any(|s| *s >= 500) || answer.statuses != expected {
            failures.push(format!(
                "{name}: expected {expected:?}, got {:?}",
                answer.statuses
            ));
        }
        if answer.text.contains("[package]") {
            failures.push(format!("{name}: Cargo.toml leaked"));
        }
        // The server's own refusals say why in their body.
        let own = answer
            .statuses
            .iter()
            .any(|s| [400, 413, 414, 422].contains(s))
            && answer.text.contains("content-type: text/plain");
        if own
            && answer
                .text
                .split("\r\n\r\n")
                .nth(1)
                .is_none_or(|b| b.trim().is_empty())
        {
            failures.push(format!("{name}: a plain-text refusal without a reason"));
        }
        let mut after = get(addr, "/bench?boundaries=1").await;
        assert_eq!(after.status(), 200, "after {name}");
        after.read_to_end().await;
    }
    stop.send(true).unwrap();
    let served = tokio::time::timeout(WAIT, normal).await.unwrap().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(served > 0);
    eventually("every page's boundaries are gone", || {
        engine.stats().pending_boundaries() == 0
    })
    .await;
}

/// Sends `bytes` and closes, without reading: what a client that gives up
/// mid-request does.
async fn hang_up_after(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    drop(stream);
    Answer {
        statuses: Vec::new(),
        text: String::new(),
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_fails_the_request() {
    // A form that announces 100 bytes and sends 10: the handler does not
    // wait for ever, and the client hears why.
    let (server, _engine) = TestServer::site_with(ServeOptions {
        body_read_timeout: Duration::from_millis(300),
        ..options()
    })
    .await;
    let started = tokio::time::Instant::now();
    let answer = exchange(
        server.addr,
        b"POST /posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nauthor=abc",
    )
    .await;
    assert_eq!(answer.statuses.len(), 1, "{answer:?}");
    assert!((400..500).contains(&answer.statuses[0]), "{answer:?}");
    assert!(started.elapsed() < WAIT);
}
