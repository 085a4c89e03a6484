//! Graceful shutdown that ends open pages well-formed. On Ctrl-C or
//! SIGTERM the server stops accepting, and pages in flight get `DRAIN` to
//! finish; then `Engine::abort_all` ends every part still pending with its
//! timeout content, each page sends its closing tags, and the process
//! exits. No client is left with half a document.
//!
//! `cargo run -p examples --bin graceful-shutdown`, then
//! `curl --no-buffer localhost:3000/` and press Ctrl-C in the server's
//! terminal while the page waits.

use std::time::Duration;

use askama::Template;
use axum::{Router, response::Response, routing::get};
use axum_suspense::{Boundary, Engine, Page};

/// How long pages in flight may go on after the signal.
const DRAIN: Duration = Duration::from_secs(1);

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Shutdown</title></head>
<body>
<h1>A page that takes a minute</h1>
{{ slow }}
</body></html>
"#,
    ext = "html"
)]
struct Shell {
    slow: Boundary,
}

#[derive(Template)]
#[template(source = "<p>{{ text }}</p>", ext = "html")]
struct Text {
    text: &'static str,
}

async fn home(page: Page) -> Response {
    let slow = page
        .boundary(Text {
            text: "Loading (for a minute)…",
        })
        .on_timeout(Text {
            text: "The server is restarting; reload in a moment.",
        })
        .no_timeout()
        .try_suspend(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>(Text { text: "Done." })
        });
    page.stream(Shell { slow })
}

/// Completes on Ctrl-C or SIGTERM.
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let engine = Engine::new();
    let app = Router::new()
        .route("/", get(home))
        .with_state(engine.clone());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = async move {
        signal().await;
        println!("shutting down: pages in flight have {DRAIN:?}");
        // axum stops accepting now and waits for open responses; after the
        // drain, whatever is still pending ends with its timeout content,
        // which lets those responses, and then the server, finish.
        tokio::spawn(async move {
            tokio::time::sleep(DRAIN).await;
            engine.abort_all();
        });
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    println!("every page ended; bye");
    Ok(())
}
