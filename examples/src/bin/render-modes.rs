//! Render modes and crawlers: the same page streamed out of order (the
//! default), in document order without script (`?render=in-order`, where a
//! browser without JavaScript is sent), or buffered into one complete
//! document (`?render=buffered`, and what well-known crawlers get).
//! `BufferedModeLayer` holds a buffered page's headers until it is whole and
//! sends it with a `Content-Length`; a middleware of the application's own
//! reads the mode from the response's extensions.
//!
//! `cargo run -p examples --bin render-modes`, then
//! `curl --no-buffer 'localhost:3000/?render=in-order'` or
//! `curl -A Googlebot -i localhost:3000/`.

use std::time::Duration;

use askama::Template;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::{Router, middleware, routing::get};
use axum_suspense::buffered::BufferedModeLayer;
use axum_suspense::{Boundary, Engine, Page, RenderMode};

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Modes</title></head>
<body>
<h1>One page, three ways</h1>
{% for part in parts %}{{ part }}
{% endfor %}</body></html>
"#,
    ext = "html"
)]
struct Shell {
    parts: Vec<Boundary>,
}

#[derive(Template)]
#[template(source = "<p>{{ text }}</p>", ext = "html")]
struct Text {
    text: String,
}

async fn home(page: Page) -> Response {
    // Later parts resolve first: streamed, they arrive bottom-up; in order
    // or buffered, the document is written top to bottom.
    let parts = (1..=3)
        .map(|i| {
            let fallback = Text {
                text: format!("Loading part {i}…"),
            };
            page.try_suspend(fallback, async move {
                tokio::time::sleep(Duration::from_millis(1200 - 300 * i)).await;
                Ok::<_, String>(Text {
                    text: format!("Part {i}."),
                })
            })
        })
        .collect();
    page.stream(Shell { parts })
}

/// The application's own middleware: logs the mode each page went out in.
async fn log_mode(response: Response) -> Response {
    if let Some(mode) = response.extensions().get::<RenderMode>() {
        println!("page sent in {mode} mode");
    }
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let engine = Engine::builder()
        // The request's choice is `?render=` (the default name); crawlers
        // get buffered pages unless they ask (the default too).
        .mode_param("render")
        .buffer_for_crawlers(true)
        // And say it in a header, for curl.
        .render_mode_header(true)
        .build();
    // Each `.layer()` wraps the ones before it: the buffering sees the
    // page's response first.
    let app = Router::new()
        .route("/", get(home))
        .layer(BufferedModeLayer::new())
        .layer(middleware::map_response(log_mode))
        .layer(middleware::map_response(|mut response: Response| async {
            // The user agent picks the mode (crawlers get buffered
            // pages): say so to caches.
            response
                .headers_mut()
                .insert("vary", HeaderValue::from_static("user-agent"));
            response
        }))
        .with_state(engine);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
