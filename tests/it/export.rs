//! Static export: the files hold the complete pages (exactly what buffered
//! SSR sends), reference the assets where the export put them, and a plain
//! file service serves them as the same page.

use std::path::{Path, PathBuf};

use axum::Router;
use suspense_ssr::app::{self, EXPORT_PAGES};
use tower_http::services::ServeDir;

use crate::common::{TestServer, get, site_state, static_dir};

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn export_writes_complete_pages_that_a_file_server_serves_as_ssr_does() {
    let out = out_dir("export");
    let report = app::export(site_state().await, &static_dir(), true, &out)
        .await
        .expect("export");
    assert_eq!(
        report.pages.len(),
        EXPORT_PAGES.len() + app::PRERENDERED_PAGES.len()
    );
    let shell = std::fs::read_to_string(out.join("prerendered/bench.html")).expect("the shell");
    // The include names the shell it is for (its fingerprint, 16 hex
    // digits), which the parts endpoint checks.
    let include = shell
        .split("<!--# include virtual=\"/_parts/")
        .nth(1)
        .unwrap_or_default();
    assert!(
        include.len() > 16
            && include[..16].bytes().all(|b| b.is_ascii_hexdigit())
            && include[16..].starts_with("/bench?$args\"")
            && !shell.contains("<section"),
        "{shell}"
    );
    assert!(report.assets >= 1, "the static files are copied");

    let bench = std::fs::read_to_string(out.join("bench/index.html")).expect("bench page");
    for id in ["s0", "s1", "s2"] {
        assert!(
            bench.contains(&format!("<section id=\"{id}\">")),
            "{id} in {bench}"
        );
    }
    for markup in ["<script", "<template", "<!--", "Loading section"] {
        assert!(!bench.contains(markup), "{markup} in the exported page");
    }
    assert!(bench.ends_with("</body></html>"));
    // The stylesheet it links is where the export put it.
    assert!(bench.contains("href=\"/static/bench.css\""));
    assert_eq!(
        std::fs::read(out.join("static/bench.css")).unwrap(),
        std::fs::read(static_dir().join("bench.css")).unwrap()
    );
    assert!(!out.join("bench/index.html.partial").exists());

    // Served by a plain file service, the page is what buffered SSR sends.
    let files = TestServer::start(Router::new().fallback_service(ServeDir::new(&out))).await;
    let (ssr, _engine) = TestServer::site().await;
    let mut from_files = get(files.addr, "/bench/index.html").await;
    assert_eq!(from_files.status(), 200);
    let from_files = from_files.read_to_end().await.to_owned();
    let mut from_ssr = get(ssr.addr, "/bench?render=buffered").await;
    assert_eq!(from_ssr.header("x-render-mode"), Some("buffered"));
    // Whole, with its length known: the headers waited for the data.
    assert!(from_ssr.header("content-length").is_some());
    assert_eq!(from_files, from_ssr.read_to_end().await);
    let mut css = get(files.addr, "/static/bench.css").await;
    assert_eq!(css.status(), 200);
    css.read_to_end().await;
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test]
async fn compare_frames_the_five_ways() {
    let out = out_dir("compare-export");
    let (server, _engine) = TestServer::site_exported(&out).await;
    // Not at start: the server renders the export when first asked.
    assert!(
        !out.join("compare/bench.html").exists(),
        "the export was rendered before anyone asked for it"
    );
    let mut page = get(server.addr, "/compare?delay=500").await;
    assert_eq!(page.status(), 200);
    let html = page.read_to_end().await.to_owned();
    let frames: Vec<&str> = html
        .split("<iframe src=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(
        frames,
        [
            "/export/compare/bench.html",
            "/bench?items=4&#38;delay=500&#38;render=buffered",
            "/bench?items=4&#38;delay=500&#38;render=in-order",
            "/bench?items=4&#38;delay=500&#38;render=stream",
            "/bench?items=4&#38;delay=500",
        ]
    );
    // The static frame is there, through the file service.
    let mut exported = get(server.addr, "/export/compare/bench.html").await;
    assert_eq!(exported.status(), 200);
    assert!(exported.read_to_end().await.contains("<section id=\"s2\">"));

    let mut bad = get(server.addr, "/compare?delay=soon").await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.read_to_end().await,
        "delay: not a whole number: \"soon\"\n"
    );
    let _ = std::fs::remove_dir_all(&out);
}
