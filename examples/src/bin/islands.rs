//! Parts that bring their data and come alive, and the order they appear
//! in, chosen on the server.
//!
//! - Three product cards in a `Forwards` group: each loads at its own pace
//!   (the last one first), and each shows only once those before it have,
//!   top to bottom, with or without JavaScript.
//! - Each card gives its stock level as data beside its HTML
//!   (`suspend_with_data`); the page's script, through the islands module's
//!   `suspense.on("card", (element, data) => …)`, wires the card's button to
//!   that number: the island needs nothing scraped from the HTML.
//! - Two figures in a `Together` group: they appear at once.
//! - A 50 ms batching window: parts ready within 50 ms of each other share
//!   a chunk.
//!
//! `cargo run -p examples --bin islands`, then open http://localhost:3000/
//! (and `curl --no-buffer localhost:3000/` to watch the order).

use std::time::Duration;

use askama::Template;
use axum::{Router, response::Response, routing::get};
use axum_suspense::client::{islands_path, runtime_router};
use axum_suspense::{Boundary, Engine, PageBuilder, RevealOrder, Text};

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Islands</title>
<script src="{{ islands }}" async></script>
<script nonce="{{ nonce }}">
// The islands module loads async: queued on `suspense.q`, the island
// starts whichever of the two scripts runs first.
((self.suspense ||= {}).q ||= []).push(["card", (card, stock) => {
  const button = card.querySelector("button");
  const left = card.querySelector(".left");
  button.disabled = false;
  button.onclick = () => {
    stock -= 1;
    left.textContent = stock + " left";
    button.disabled = stock == 0;
  };
}]);
</script>
</head>
<body>
<h1>Islands</h1>
<ul>{% for card in cards %}{{ card }}{% endfor %}</ul>
<p>{{ views }} · {{ sales }}</p>
</body></html>
"#,
    ext = "html"
)]
struct Shell {
    islands: &'static str,
    nonce: String,
    cards: Vec<Boundary>,
    views: Boundary,
    sales: Boundary,
}

#[derive(Template)]
#[template(
    source = r#"<li class="card"><b>{{ name }}</b> <span class="left">{{ stock }} left</span> <button disabled>Buy</button></li>"#,
    ext = "html"
)]
struct Card {
    name: &'static str,
    stock: u32,
}

#[derive(Template)]
#[template(source = r#"<li class="card">Loading {{ name }}…</li>"#, ext = "html")]
struct CardSkeleton {
    name: &'static str,
}

async fn home(page: PageBuilder) -> Response {
    let page = page.batch(Duration::from_millis(50)).build();
    let row = page.group(RevealOrder::Forwards);
    let cards = [("Kettle", 3, 900), ("Teapot", 5, 600), ("Cups", 12, 300)]
        .into_iter()
        .map(|(name, stock, ms)| {
            page.boundary(CardSkeleton { name })
                .name("card")
                .group(&row)
                .suspend_with_data(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    (Card { name, stock }, stock)
                })
        })
        .collect();
    let figures = page.group(RevealOrder::Together);
    let figure = |label: &'static str, value: u32, ms: u64| {
        page.boundary(Text::new("…"))
            .group(&figures)
            .suspend(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Text::new(format!("{value} {label}"))
            })
    };
    let views = figure("views", 1_204, 200);
    let sales = figure("sales", 37, 700);
    let nonce = page.csp_nonce();
    page.stream(Shell {
        islands: islands_path(),
        nonce,
        cards,
        views,
        sales,
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(home))
        // The islands module (and the runtime) as immutable files.
        .merge(runtime_router())
        .with_state(Engine::new());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
