//! The site as shipped: `/bench` as benches/PAGE.md defines it, `/`, and `/static`.

use crate::common::{TestServer, get, pos, send};

#[tokio::test]
async fn bench_sections_arrive_last_first_and_escaped() {
    let (server, engine) = TestServer::site().await;
    let mut response = get(server.addr, "/bench?delay=300&items=4").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    let body = response.read_to_end().await.to_owned();

    let (s0, s1, s2) = (
        pos(&body, "id=\"s0\""),
        pos(&body, "id=\"s1\""),
        pos(&body, "id=\"s2\""),
    );
    assert!(
        s2 < s1 && s1 < s0,
        "sections must arrive s2, s1, s0: {body:?}"
    );
    // Each section came in its own chunk, after the shell's chunk.
    let chunk_of = |id: &str| response.chunks.iter().position(|c| c.contains(id)).unwrap();
    assert!(chunk_of("Loading section 0") < chunk_of("id=\"s2\""));
    assert!(
        chunk_of("id=\"s2\"") < chunk_of("id=\"s1\"")
            && chunk_of("id=\"s1\"") < chunk_of("id=\"s0\"")
    );

    assert_eq!(
        body.matches("Tom &amp; Jerry &lt;say&gt; &quot;hi&quot; &amp; &#39;bye&#39;")
            .count(),
        12,
        "escaped text"
    );
    assert!(!body.contains("<say>"), "unescaped text: {body:?}");
    assert!(body.starts_with("<!doctype html>"), "{body:?}");
    assert!(
        body.ends_with("</html>"),
        "page must end with </html>: {body:?}"
    );
    assert!(
        response.raw_body.ends_with(b"</html>\r\n0\r\n\r\n"),
        "chunked terminator right after </html>"
    );
    assert_eq!(engine.stats().pending_boundaries(), 0);
}

#[tokio::test]
async fn bench_reveal_orders_hold_sections_for_those_before_or_for_all() {
    // Sections resolve last first (s2 at 100 ms, s1 at 200, s0 at 300):
    // forwards holds s2 and s1 until s0 is in, then sends them in document
    // order; together sends all three in one chunk.
    let (server, _engine) = TestServer::site().await;
    for reveal in ["forwards", "together"] {
        let mut response = get(
            server.addr,
            &format!("/bench?delay=300&items=1&reveal={reveal}"),
        )
        .await;
        assert_eq!(response.status(), 200, "{reveal}");
        let body = response.read_to_end().await.to_owned();
        let (s0, s1, s2) = (
            pos(&body, "id=\"s0\""),
            pos(&body, "id=\"s1\""),
            pos(&body, "id=\"s2\""),
        );
        assert!(
            s0 < s1 && s1 < s2,
            "{reveal}: sections in document order: {body:?}"
        );
        let sections: Vec<&String> = response
            .chunks
            .iter()
            .filter(|c| c.contains("<template"))
            .collect();
        assert_eq!(
            sections.len(),
            1,
            "{reveal}: one chunk: {:?}",
            response.chunks
        );
    }
    let mut response = get(server.addr, "/bench?reveal=sideways").await;
    assert_eq!(response.status(), 400);
    assert!(response.read_to_end().await.contains("reveal"));
}

#[tokio::test]
async fn bench_without_delay_and_without_boundaries() {
    let (server, _engine) = TestServer::site().await;
    let mut response = get(server.addr, "/bench").await;
    let body = response.read_to_end().await.to_owned();
    assert_eq!(body.matches("<li>").count(), 60, "3 × 20 items: {body:?}");
    let mut response = get(server.addr, "/bench?boundaries=0").await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains("<main>\n</main>") && !body.contains("<script"),
        "{body:?}"
    );
}

#[tokio::test]
async fn bad_bench_parameters_get_400_with_a_reason() {
    let (server, _engine) = TestServer::site().await;
    for (query, reason) in [
        ("boundaries=65", "boundaries: out of range 0..=64: 65\n"),
        ("items=abc", "items: not a whole number: \"abc\"\n"),
        ("delay=-5", "delay: not a whole number: \"-5\"\n"),
        ("delay=60001", "delay: out of range 0..=60000: 60001\n"),
    ] {
        let mut response = get(server.addr, &format!("/bench?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.read_to_end().await, reason, "{query}");
    }
}

#[tokio::test]
async fn static_files_are_served_and_traversal_is_refused() {
    let (server, _engine) = TestServer::site().await;
    let mut response = get(server.addr, "/static/bench.css").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert!(response.read_to_end().await.contains(".fallback"));

    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E/Cargo.toml",
        "/static/..%2fCargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/.%2e/Cargo.toml",
        "/static/./../Cargo.toml",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut response = send(server.addr, request.as_bytes()).await;
        let status = response.status();
        let body = response.read_to_end().await.to_owned();
        assert_eq!(status, 404, "{path} must be 404; body {body:?}");
        assert!(!body.contains("[package]"), "{path} leaked Cargo.toml");
    }
}

#[tokio::test]
async fn about_explains_and_links_to_bench() {
    let (server, _engine) = TestServer::site().await;
    let mut response = get(server.addr, "/about").await;
    assert_eq!(response.status(), 200);
    let body = response.read_to_end().await.to_owned();
    assert!(body.contains("href=\"/bench?delay=2000\""), "{body:?}");
    let response = get(server.addr, "/nowhere").await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn unknown_paths_get_the_404_page_with_the_path_escaped() {
    let (server, _engine) = TestServer::site().await;
    let mut response = get(server.addr, "/no/%3Cscript%3E").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = response.read_to_end().await;
    assert!(body.contains("<h1>Not found</h1>"), "{body}");
    assert!(body.contains("<code>/no/%3Cscript%3E</code>"), "{body}");
    // The page links its stylesheet by fingerprint.
    assert!(body.contains("href=\"/static/bench."), "{body}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (server, _engine) = TestServer::site().await;
    // Chunked, so the site's own limit (not the server's Content-Length
    // check in front of it) refuses it.
    let big = "a".repeat(20 * 1024);
    let form = format!(
        "POST /posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    for (what, response) in [
        ("a page", get(server.addr, "/bench?render=stream").await),
        ("a prerendered page", get(server.addr, "/bench").await),
        ("the board, prerendered", get(server.addr, "/").await),
        ("the board", get(server.addr, "/?render=stream").await),
        ("a static file", get(server.addr, "/static/bench.css").await),
        ("a 404", get(server.addr, "/nowhere").await),
        ("a 400", get(server.addr, "/bench?render=sideways").await),
        ("a 413", send(server.addr, form.as_bytes()).await),
    ] {
        let header = |name| {
            response
                .header(name)
                .unwrap_or_else(|| panic!("{what}: no {name} in {:?}", response.head))
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header("referrer-policy"), "same-origin", "{what}");
        assert_eq!(header("x-frame-options"), "SAMEORIGIN", "{what}");
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'self'") && !policy.contains("unsafe-inline"),
            "{what}: {policy}"
        );
        // Pages get a nonce for the engine's scripts; nothing else needs
        // one, nor does a prerendered page (its one script is linked).
        let is_page = response.header("x-render-mode").is_some();
        assert_eq!(
            policy.contains("'nonce-"),
            is_page && !matches!(what, "a prerendered page" | "the board, prerendered"),
            "{what}: {policy}"
        );
        assert!(
            is_page
                == matches!(
                    what,
                    "a page" | "a prerendered page" | "the board" | "the board, prerendered"
                ),
            "{what}"
        );
    }
}
