//! Compressed streamed pages still stream: the compressor flushes after
//! every chunk, so the shell decompresses before any boundary has resolved
//! and each fragment as it comes. Pages are gzipped (level 1); small bodies
//! and clients that accept only brotli get them plain.

use std::io::Write;
use std::time::Duration;

use axum_suspense::Engine;
use suspense_ssr::http;
use tokio::sync::oneshot;

use crate::common::{TestServer, send};
use crate::pages::{SHELL_END, gated_page, gates, route};

/// Decodes a gzip body as it arrives: feed it compressed bytes, read what
/// has been decoded so far.
struct Decoder(flate2::write::GzDecoder<Vec<u8>>);

impl Decoder {
    fn new() -> Self {
        Decoder(flate2::write::GzDecoder::new(Vec::new()))
    }

    fn feed(&mut self, bytes: &[u8]) -> String {
        self.0.write_all(bytes).unwrap();
        self.0.flush().unwrap();
        String::from_utf8_lossy(self.0.get_ref()).into_owned()
    }
}

/// Long enough content that compression is worth it.
fn long_section(i: usize) -> String {
    format!("section-{i} {}", "lorem ipsum ".repeat(50))
}

#[tokio::test]
async fn compressed_pages_flush_the_shell_and_each_fragment() {
    // Pages are gzipped even for a client that prefers brotli (brotli is
    // for the precompressed static files).
    for accept in ["gzip", "br;q=1, gzip;q=0.5"] {
        let encoding = "gzip";
        let engine = Engine::new();
        let (senders, gates) = gates(2);
        let router = route(&engine, gated_page(&gates, long_section)).layer(http::compression());
        let server = TestServer::start(router).await;
        let request = format!(
            "GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {accept}\r\nConnection: close\r\n\r\n"
        );
        let mut response = send(server.addr, request.as_bytes()).await;
        assert_eq!(response.header("content-encoding"), Some(encoding));
        assert_eq!(response.header("vary"), Some("accept-encoding"));
        let mut decoder = Decoder::new();

        // Before any boundary resolves: the shell, whole, decompressed.
        let first = response.read_chunks(1).await[0].clone();
        let shell = decoder.feed(&first);
        assert!(
            shell.contains("loading-0")
                && shell.contains("loading-1")
                && shell.ends_with(SHELL_END),
            "{encoding}: shell from the first chunk: {shell:?}"
        );
        assert!(!shell.contains("section-"));

        // Each fragment decodes as soon as it is sent.
        let [s0, s1]: [oneshot::Sender<()>; 2] = senders.try_into().unwrap();
        s1.send(()).unwrap();
        let mut seen = 1;
        let mut decoded = shell.clone();
        while !decoded.contains("<?s b1 ") {
            let chunks = response.read_chunks(seen + 1).await;
            decoded = decoder.feed(&chunks[seen].clone());
            seen += 1;
        }
        assert!(decoded.contains("section-1") && !decoded.contains("section-0"));
        // Still streaming: nothing more until the other gate opens.
        response.assert_quiet(Duration::from_millis(100)).await;

        s0.send(()).unwrap();
        response.read_to_end().await;
        let whole: Vec<u8> = response.byte_chunks.concat();
        let mut fresh = Decoder::new();
        let page = fresh.feed(&whole);
        assert!(page.ends_with("</body></html>"), "{encoding}: {page:?}");
        assert!(page.contains("section-0") && page.contains("<?s b0 "));
    }
}

#[tokio::test]
async fn small_and_unasked_bodies_stay_plain() {
    let (server, _engine) = TestServer::site().await;
    let ask = |path: &str, accept: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {accept}\r\nConnection: close\r\n\r\n"
        )
    };
    // The 400 is a one-line body: not worth a gzip frame.
    let response = send(server.addr, ask("/bench?items=x", "gzip").as_bytes()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.header("content-encoding"), None);
    // Only brotli accepted: pages stay plain.
    let mut response = send(server.addr, ask("/bench", "br").as_bytes()).await;
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.read_to_end().await.ends_with("</html>"));
    // No Accept-Encoding, no encoding.
    let mut response = send(server.addr, ask("/bench", "identity").as_bytes()).await;
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.read_to_end().await.ends_with("</html>"));
}
