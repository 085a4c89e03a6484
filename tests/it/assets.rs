//! `/static` as a production web server serves it: fingerprinted URLs cached
//! for a year, plain URLs revalidated (304), precompressed brotli and gzip,
//! ranges, HEAD, MIME types, and a 404 for dotfiles, directories and every
//! spelling of a way out of the directory.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use suspense_ssr::assets::{Assets, IMMUTABLE, REVALIDATE};
use suspense_ssr::http;

use crate::common::{RawResponse, TestServer, send};

/// A static directory of its own, beside a file that must never be served.
fn fixture(name: &str) -> PathBuf {
    let root =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("static");
    std::fs::create_dir_all(dir.join("js")).unwrap();
    std::fs::write(root.join("secret.txt"), "TOP-SECRET outside static").unwrap();
    std::fs::write(dir.join(".env"), "TOP-SECRET dotfile").unwrap();
    let css: String = (0..80)
        .map(|i| format!(".rule-{i} {{ color: #{i:03}; }}\n"))
        .collect();
    std::fs::write(dir.join("app.css"), css).unwrap();
    std::fs::write(dir.join("js/app.js"), "console.log('hi');\n".repeat(60)).unwrap();
    std::fs::write(dir.join("tiny.txt"), "small").unwrap();
    std::fs::write(dir.join("dot.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    dir
}

async fn serve(dir: &Path) -> (TestServer, Arc<Assets>) {
    let (assets, report) = Assets::load(dir).expect("load the assets");
    assert_eq!(report.files, 4, "{report:?}");
    let assets = Arc::new(assets);
    let router = Router::new()
        .nest_service("/static", assets.clone().router())
        .layer(http::compression());
    (TestServer::start(router).await, assets)
}

async fn request(server: &TestServer, method: &str, path: &str, headers: &str) -> RawResponse {
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n");
    send(server.addr, request.as_bytes()).await
}

async fn body_of(mut response: RawResponse) -> Vec<u8> {
    response.read_to_end().await;
    response.raw_body.clone()
}

#[tokio::test]
async fn fingerprinted_urls_are_immutable_and_plain_ones_revalidate() {
    let dir = fixture("assets-cache");
    let (server, assets) = serve(&dir).await;
    let css = std::fs::read(dir.join("app.css")).unwrap();
    let url = assets.url("app.css");
    let fingerprint = format!("{:08x}", crc32fast_hash(&css));
    assert_eq!(url, format!("/static/app.{fingerprint}.css"));
    assert_eq!(
        assets.url("js/app.js").rsplit('.').nth(1).map(str::len),
        Some(8)
    );
    assert_eq!(assets.url("missing.css"), "/static/missing.css");

    let response = request(&server, "GET", &url, "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(
        response.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(body_of(response).await, css);

    // An old fingerprint is not this content: 404, not today's file.
    let stale = request(&server, "GET", "/static/app.0badf00d.css", "").await;
    assert_eq!(stale.status(), 404);

    let plain = request(&server, "GET", "/static/app.css", "").await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.header("cache-control"), Some(REVALIDATE));
    let etag = plain.header("etag").expect("an ETag").to_owned();
    let modified = plain
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    let again = request(
        &server,
        "GET",
        "/static/app.css",
        &format!("If-None-Match: {etag}\r\n"),
    )
    .await;
    assert_eq!(again.status(), 304);
    assert_eq!(body_of(again).await, b"");
    let again = request(
        &server,
        "GET",
        "/static/app.css",
        &format!("If-Modified-Since: {modified}\r\n"),
    )
    .await;
    assert_eq!(again.status(), 304);
}

/// The same CRC-32 the server uses (IEEE), bit by bit.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn precompressed_variants_are_made_at_startup_and_chosen_by_accept_encoding() {
    let dir = fixture("assets-precompressed");
    let (server, _assets) = serve(&dir).await;
    for file in ["app.css", "js/app.js"] {
        assert!(dir.join(format!("{file}.br")).is_file(), "{file}.br");
        assert!(dir.join(format!("{file}.gz")).is_file(), "{file}.gz");
    }
    // Not worth it: too small, or not text.
    assert!(!dir.join("tiny.txt.gz").exists() && !dir.join("dot.png.gz").exists());
    let css = std::fs::read(dir.join("app.css")).unwrap();

    let br = request(
        &server,
        "GET",
        "/static/app.css",
        "Accept-Encoding: gzip, br\r\n",
    )
    .await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("vary"), Some("accept-encoding"));
    let compressed = body_of(br).await;
    assert!(
        compressed.len() < css.len() / 4,
        "brotli: {} bytes",
        compressed.len()
    );
    let mut decoded = Vec::new();
    brotli_decompressor::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, css);

    let gz = request(
        &server,
        "GET",
        "/static/app.css",
        "Accept-Encoding: gzip\r\n",
    )
    .await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&body_of(gz).await[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, css);

    let identity = request(&server, "GET", "/static/app.css", "").await;
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(body_of(identity).await, css);
    // The variants are not assets of their own, nor is a file that
    // appeared after startup.
    let variant = request(&server, "GET", "/static/app.css.br", "").await;
    assert_eq!(variant.status(), 404);
    std::fs::write(dir.join("late.txt"), "late").unwrap();
    let late = request(&server, "GET", "/static/late.txt", "").await;
    assert_eq!(late.status(), 404);
}

#[tokio::test]
async fn ranges_head_and_types() {
    let dir = fixture("assets-ranges");
    let (server, _assets) = serve(&dir).await;
    let css = std::fs::read(dir.join("app.css")).unwrap();

    let part = request(&server, "GET", "/static/app.css", "Range: bytes=10-19\r\n").await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-19/{}", css.len()).as_str())
    );
    assert_eq!(body_of(part).await, &css[10..20]);
    let beyond = request(&server, "GET", "/static/app.css", "Range: bytes=99999-\r\n").await;
    assert_eq!(beyond.status(), 416);

    let head = request(&server, "HEAD", "/static/app.css", "").await;
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.header("content-length"),
        Some(css.len().to_string().as_str())
    );
    assert_eq!(body_of(head).await, b"");

    for (path, mime) in [
        ("/static/js/app.js", "text/javascript"),
        ("/static/dot.png", "image/png"),
        ("/static/tiny.txt", "text/plain"),
    ] {
        let response = request(&server, "GET", path, "").await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response
                .header("content-type")
                .is_some_and(|t| t.starts_with(mime)),
            "{path}: {:?}",
            response.header("content-type")
        );
    }
}

#[tokio::test]
async fn nothing_outside_the_directory_and_no_dotfiles_or_listings() {
    let dir = fixture("assets-traversal");
    let (server, _assets) = serve(&dir).await;
    for path in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/js/../../secret.txt",
        "/static/..\\secret.txt",
        "/static/..%5csecret.txt",
        "/static/%c0%ae%c0%ae/secret.txt",
        "/static/%c0%ae%c0%ae%c0%afsecret.txt",
        "/static/app.css%00.png",
        "/static/%00",
        "/static//etc/passwd",
        "/static/.env",
        "/static/js/../.env",
        "/static/%2eenv",
        "/static/",
        "/static/js/",
        "/static/js",
    ] {
        let response = request(&server, "GET", path, "").await;
        let status = response.status();
        let body = body_of(response).await;
        assert!(
            status == 404 || status == 400,
            "{path}: {status} (a 4xx, never the file)"
        );
        assert!(
            !String::from_utf8_lossy(&body).contains("TOP-SECRET"),
            "{path} leaked a file"
        );
    }
    // And the files that are there are still served.
    assert_eq!(
        request(&server, "GET", "/static/tiny.txt", "")
            .await
            .status(),
        200
    );
}
