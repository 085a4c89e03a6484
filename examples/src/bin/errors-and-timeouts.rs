//! Errors, panics and timeouts stay inside their boundary: an `Err`, a
//! panic, a timeout and the page's deadline each show that part's error or
//! timeout content (the engine's defaults, or the boundary's own), and the
//! page still ends well-formed. The log says what happened to each.
//!
//! `cargo run -p examples --bin errors-and-timeouts`, then
//! `curl --no-buffer localhost:3000/`.

use std::time::Duration;

use askama::Template;
use axum::{Router, response::Response, routing::get};
use axum_suspense::{Boundary, Engine, Page};

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Failures</title></head>
<body>
<h1>Every way a part can end</h1>
{% for part in parts %}<section>{{ part }}</section>
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
    text: &'static str,
}

fn text(text: &'static str) -> Text {
    Text { text }
}

async fn wait(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn home(page: Page) -> Response {
    let parts = vec![
        // A future that cannot fail: `suspend`.
        page.suspend(text("Loading a part that works…"), async {
            wait(200).await;
            text("This part resolved.")
        }),
        // An error: the engine's default error content, and a warning in
        // the log with the error's text (never sent to the client).
        page.try_suspend(text("Loading a part whose source fails…"), async {
            wait(300).await;
            Err::<Text, _>("the data source answered 503")
        }),
        // Its own error content, made from the error (named, so the log
        // says `boundary=prices`).
        page.boundary(text("Loading prices…"))
            .name("prices")
            .on_error_with(|error| {
                let io = error.downcast_ref::<std::io::Error>();
                text(if io.is_some() {
                    "Prices are unavailable right now: the price service did not answer."
                } else {
                    "Prices are unavailable right now."
                })
            })
            .try_suspend(async {
                wait(400).await;
                Err::<Text, _>(std::io::Error::other("connection refused"))
            }),
        // A panic is caught and logged like an error.
        page.try_suspend(text("Loading a part with a bug…"), async {
            wait(500).await;
            let empty: Vec<&'static str> = Vec::new();
            Ok::<_, String>(text(empty[0]))
        }),
        // Its own timeout, and its own timeout content.
        page.boundary(text("Loading a slow part…"))
            .timeout(Duration::from_millis(700))
            .on_timeout(text("The slow part took too long; try again later."))
            .try_suspend(async {
                wait(60_000).await;
                Ok::<_, String>(text("never shown"))
            }),
        // No timeout of its own: the page's deadline ends it.
        page.boundary(text("Loading a part that never comes…"))
            .no_timeout()
            .try_suspend(std::future::pending::<Result<Text, String>>()),
    ];
    page.stream(Shell { parts })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // The engine reports every failure with `tracing`: without a
    // subscriber, nothing would say why a part shows its error content.
    tracing_subscriber::fmt::init();
    // Boundaries time out after 5 s unless they say otherwise, and a page
    // may stream for 2 s at most: then whatever is pending shows its
    // timeout content and the page ends.
    let engine = Engine::builder()
        .boundary_timeout(Duration::from_secs(5))
        .page_deadline(Duration::from_secs(2))
        .build();
    let app = Router::new().route("/", get(home)).with_state(engine);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
