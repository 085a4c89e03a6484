//! The render modes on the wire: in-order writes the document front to back
//! with no script, buffered sends one complete document.

use std::convert::Infallible;
use std::time::Duration;

use axum_suspense::error::DEFAULT_ERROR_HTML;
use axum_suspense::{Engine, Page, RenderMode};
use tokio::sync::oneshot;

use crate::common::{RawResponse, TestServer, send};

use crate::pages::{Shell, gated_page, gates, open_with, section, take, text};

const HEAD: &str =
    "<!doctype html><html><head><title>t</title></head><body><main><div class=\"slot\">";

fn slot(i: usize) -> String {
    format!("<p class=\"text\">section-{i}</p></div>")
}

/// No engine markup of any kind: no script, template or comment.
fn assert_plain(body: &str) {
    for markup in ["<script", "<template", "<!--", "$S"] {
        assert!(!body.contains(markup), "{markup} in {body:?}");
    }
}

#[tokio::test]
async fn in_order_writes_each_section_when_those_before_it_are_in() {
    let engine = Engine::builder().render_mode_header(true).build();
    let (senders, gates) = gates(3);
    let (_server, mut response) = open_with(
        &engine,
        |page| page.mode(RenderMode::InOrder),
        gated_page(&gates, section),
    )
    .await;
    assert_eq!(response.header("x-render-mode"), Some("in-order"));

    // The shell up to the first boundary, and nothing of any fallback.
    response.read_until(HEAD).await;
    response.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(response.body(), HEAD);

    let [s0, s1, s2]: [oneshot::Sender<()>; 3] = senders.try_into().unwrap();
    // The last one ready first: it waits for those before it.
    s2.send(()).unwrap();
    response.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(response.body(), HEAD);

    s0.send(()).unwrap();
    let after_0 = format!("{HEAD}{}<div class=\"slot\">", slot(0));
    response.read_until(&after_0).await;
    response.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(response.body(), after_0, "section 0, then up to section 1");

    s1.send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert_eq!(
        body,
        format!(
            "{HEAD}{}<div class=\"slot\">{}<div class=\"slot\">{}</main><footer>end</footer></body></html>",
            slot(0),
            slot(1),
            slot(2)
        )
    );
    assert_plain(&body);
    // Three writes at least: the shell, section 0, sections 1 and 2 with the end.
    assert!(response.chunks.len() >= 3, "{:?}", response.chunks);
    assert_eq!(engine.stats().pending_boundaries(), 0);
}

#[tokio::test]
async fn buffered_sends_one_complete_document_with_failures_in_place() {
    let engine = Engine::builder().render_mode_header(true).build();
    let (senders, gates) = gates(1);
    let page = move |page: Page| {
        let [gate]: [oneshot::Receiver<()>; 1] = take(&gates).try_into().unwrap();
        let nested = page.clone();
        let parts = vec![
            page.try_suspend(text("loading-0"), async move {
                let inner = nested.try_suspend(text("loading-inner"), async {
                    Ok::<_, Infallible>(text("inner"))
                });
                let _ = gate.await;
                Ok::<_, Infallible>(Shell { parts: vec![inner] })
            }),
            page.try_suspend(text("loading-1"), async {
                Err::<crate::pages::Text, _>("the data source is down")
            }),
            page.boundary(text("loading-2"))
                .timeout(Duration::from_millis(1))
                .on_timeout(text("too slow"))
                .try_suspend(std::future::pending::<Result<crate::pages::Text, Infallible>>()),
        ];
        page.stream(Shell { parts })
    };
    let (_server, mut response) =
        open_with(&engine, |page| page.mode(RenderMode::Buffered), page).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("x-render-mode"), Some("buffered"));
    // Not a byte until every boundary is in.
    response.assert_quiet(Duration::from_millis(150)).await;
    assert_eq!(response.body(), "");

    senders.into_iter().next().unwrap().send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    let inner_shell = "<!doctype html><html><head><title>t</title></head><body><main><div class=\"slot\"><p class=\"text\">inner</p></div></main><footer>end</footer></body></html>";
    assert_eq!(
        body,
        format!(
            "{HEAD}{inner_shell}</div><div class=\"slot\">{DEFAULT_ERROR_HTML}</div>\
             <div class=\"slot\"><p class=\"text\">too slow</p></div></main><footer>end</footer></body></html>"
        )
    );
    assert_plain(&body);
    assert_eq!(response.chunks.len(), 1, "one write: {:?}", response.chunks);
    assert_eq!(engine.stats().pending_boundaries(), 0);
}

/// A minimal application with pages taken as handler arguments: one route,
/// two ready boundaries, the buffering layer, and a middleware that reports
/// the mode it reads from the response's extensions.
fn mode_app(engine: Engine) -> axum::Router {
    use axum::http::HeaderValue;
    use axum::routing::get;
    use axum_suspense::buffered::BufferedModeLayer;

    async fn two_parts(page: Page) -> axum::response::Response {
        let parts = vec![
            crate::pages::ready(&page, "loading-0", "part-0"),
            crate::pages::ready(&page, "loading-1", "part-1"),
        ];
        page.stream(Shell { parts })
    }
    axum::Router::new()
        .route("/p", get(two_parts))
        .layer(BufferedModeLayer::new())
        .layer(axum::middleware::map_response(
            |mut response: axum::response::Response| async move {
                let seen = response.extensions().get::<RenderMode>().copied();
                let seen = seen.map_or("none", RenderMode::as_str);
                response
                    .headers_mut()
                    .insert("x-seen-mode", HeaderValue::from_static(seen));
                response
            },
        ))
        .with_state(engine)
}

async fn fetch(addr: std::net::SocketAddr, target: &str, ua: &str) -> RawResponse {
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: t\r\nUser-Agent: {ua}\r\nConnection: close\r\n\r\n"
    );
    let mut response = send(addr, request.as_bytes()).await;
    response.read_to_end().await;
    response
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
/// A browser that puts the parts in place itself (Chromium 150 and later).
const PATCHING: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0";
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

#[tokio::test]
async fn the_request_picks_the_mode_and_middleware_reads_it() {
    let server = TestServer::start(mode_app(Engine::new())).await;
    let addr = server.addr;

    let streamed = fetch(addr, "/p?x=1&debug=1", BROWSER).await;
    assert_eq!(streamed.header("x-seen-mode"), Some("stream"));
    assert_eq!(
        streamed.header("x-render-mode"),
        None,
        "no public header unless the engine is asked for it"
    );
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    let body = streamed.body();
    assert!(
        body.contains("<?start name=\"b0\">") && body.contains("<template for=\"b0\">"),
        "{body}"
    );
    assert!(
        body.contains(
            "<head><noscript><meta http-equiv=\"refresh\" content=\"0; url=/p?x=1&amp;debug=1&amp;render=in-order\"></noscript>"
        ),
        "a browser without JavaScript is sent to the in-order page: {body}"
    );
    assert!(
        !body.contains("suspense-debug") && body.matches("<script").count() == 1,
        "?debug=1 is not honoured unless the engine allows it: {body}"
    );
    // A browser that patches natively streams without script: never sent
    // away, and the runtime still comes inline (this engine does not serve
    // it as a file).
    let patching = fetch(addr, "/p", PATCHING).await;
    let body = patching.body();
    assert!(!body.contains("<noscript>"), "{body}");
    assert!(body.contains("<template for=\"b0\">") && body.matches("<script nonce=").count() == 1);

    let crawled = fetch(addr, "/p", BOT).await;
    assert_eq!(
        crawled.header("x-seen-mode"),
        Some("buffered"),
        "a crawler gets buffered"
    );
    assert_eq!(crawled.header("transfer-encoding"), None);
    assert_eq!(
        crawled.header("content-length"),
        Some(crawled.body().len().to_string().as_str()),
        "the buffering layer sends the whole page with its length"
    );
    assert_plain(crawled.body());
    assert!(crawled.body().contains("part-0") && crawled.body().contains("part-1"));

    let asked = fetch(addr, "/p?render=stream", BOT).await;
    assert_eq!(
        asked.header("x-seen-mode"),
        Some("stream"),
        "the query wins"
    );
    let in_order = fetch(addr, "/p?render=in-order", BROWSER).await;
    assert_eq!(in_order.header("x-seen-mode"), Some("in-order"));
    assert_eq!(
        in_order.body(),
        crawled.body(),
        "in-order and buffered end the same"
    );

    let refused = fetch(addr, "/p?render=fast", BROWSER).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.header("x-seen-mode"), Some("none"));
    assert_eq!(
        refused.body(),
        "unknown render mode \"fast\": expected stream, in-order or buffered\n"
    );
}

#[tokio::test]
async fn the_engine_names_the_parameters() {
    let engine = Engine::builder()
        .mode_param("view")
        .debug_param("timings")
        .buffer_for_crawlers(false)
        .render_mode_header(true)
        .build();
    let server = TestServer::start(mode_app(engine)).await;
    let addr = server.addr;

    let page = fetch(addr, "/p?render=fast&timings=1", BOT).await;
    assert_eq!(page.status(), 200, "`render` is just another parameter now");
    assert_eq!(
        page.header("x-render-mode"),
        Some("stream"),
        "crawlers stream too"
    );
    let body = page.body();
    assert_eq!(
        body.matches("<script").count(),
        2,
        "the overlay is on: {body}"
    );
    assert!(
        body.contains("suspense-debug"),
        "the overlay's script: {body}"
    );
    assert!(
        body.contains("url=/p?render=fast&amp;view=in-order\""),
        "the no-JavaScript URL uses the engine's names: {body}"
    );
    let in_order = fetch(addr, "/p?view=in-order", BROWSER).await;
    assert_eq!(in_order.header("x-render-mode"), Some("in-order"));

    let closed = Engine::builder().no_mode_param().build();
    let server = TestServer::start(mode_app(closed)).await;
    let page = fetch(server.addr, "/p?render=fast", BROWSER).await;
    assert_eq!(page.status(), 200);
    assert!(
        !page.body().contains("<noscript>"),
        "without a mode parameter there is no in-order page to send anyone to"
    );
}

#[tokio::test]
async fn patching_browsers_fetch_the_runtime_once_when_it_is_served() {
    let engine = Engine::builder().external_runtime(true).build();
    let app = mode_app(engine).merge(axum_suspense::client::runtime_router());
    let server = TestServer::start(app).await;
    let path = axum_suspense::client::runtime_path();

    // Chromium 150+: the shell links the runtime; no inline script at all.
    let patching = fetch(server.addr, "/p", PATCHING).await;
    let body = patching.body();
    let link = format!("<script src=\"{path}\" nonce=\"");
    let shell = &patching.chunks[0];
    assert!(
        shell.contains(&link) && shell.ends_with("\" async></script>"),
        "{shell}"
    );
    assert_eq!(body.matches("<script").count(), 1, "{body}");
    assert!(!body.contains("self.__suspense"), "{body}");

    // Everything else: inline, as it needs it before any part can show.
    let other = fetch(server.addr, "/p", BROWSER).await;
    assert!(!other.body().contains(&link) && other.body().contains("self.__suspense"));

    // The file: the runtime, cached for ever under its hash's name.
    let file = fetch(server.addr, path, PATCHING).await;
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        file.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(file.body(), axum_suspense::client::runtime());
}
