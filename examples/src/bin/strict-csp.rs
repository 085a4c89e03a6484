//! A strict Content-Security-Policy with the page's own inline script. The
//! application sets its policy (`{nonce}` stands for each page's nonce); the
//! engine's scripts carry the nonce, and so does the page's own script,
//! which takes it from `Page::csp_nonce`. That script listens for
//! `suspense:reveal`, the event the engine dispatches as each part is put
//! in place, to enhance the part at once. An inline script without the
//! nonce (the last one in the page) is refused by the browser.
//!
//! `cargo run -p examples --bin strict-csp`, then open
//! http://localhost:3000/ and the browser's console.

use std::time::Duration;

use askama::Template;
use axum::{Router, response::Response, routing::get};
use axum_suspense::{Boundary, Engine, Page};

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Strict CSP</title>
<script nonce="{{ nonce }}">
document.addEventListener("suspense:reveal", function (event) {
  document.getElementById("log").textContent += "part " + event.detail.id + " revealed\n";
});
</script>
</head>
<body>
<h1>A strict policy</h1>
{{ part }}
<pre id="log"></pre>
<script>document.body.dataset.injected = "yes";</script>
</body></html>
"#,
    ext = "html"
)]
struct Shell {
    nonce: String,
    part: Boundary,
}

#[derive(Template)]
#[template(source = "<p>{{ text }}</p>", ext = "html")]
struct Text {
    text: &'static str,
}

async fn home(page: Page) -> Response {
    let part = page.try_suspend(Text { text: "Loading…" }, async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<_, String>(Text { text: "Here." })
    });
    let nonce = page.csp_nonce();
    page.stream(Shell { nonce, part })
}

/// This site's policy: everything from this origin only, inline scripts and
/// styles only with the page's nonce, no plugins, no `<base>`, forms post
/// here, no framing.
const POLICY: &str = "default-src 'self'; script-src 'nonce-{nonce}'; \
    style-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let engine = Engine::builder().content_security_policy(POLICY).build();
    let app = Router::new().route("/", get(home)).with_state(engine);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
