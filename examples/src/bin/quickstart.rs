use std::time::Duration;

use askama::Template;
use axum::{Router, response::Response, routing::get};
use axum_suspense::{Boundary, Engine, Page, Text};

/// The page's shell: sent at once, with a fallback in place of each part.
#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>Quick start</title></head>
<body>
<h1>Hello, streaming</h1>
<p>{{ news }}</p>
<p>{{ weather }}</p>
</body>
</html>
"#,
    ext = "html"
)]
struct Shell {
    news: Boundary,
    weather: Boundary,
}

/// A slow data source that can fail: a database, another service.
async fn fetch(text: &'static str, ms: u64) -> Result<Text, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(Text::new(text))
}

async fn home(page: Page) -> Response {
    let news = page.try_suspend(
        Text::new("Loading the news…"),
        fetch("Nothing happened today.", 2000),
    );
    let weather = page
        .boundary(Text::new("Loading the weather…"))
        .name("weather")
        .on_error(Text::new("No weather today."))
        .try_suspend(fetch("Sunny, 21 °C.", 1000));
    page.stream(Shell { news, weather })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Without a subscriber, a part that fails shows its error content and
    // nothing says why.
    tracing_subscriber::fmt::init();
    let app = Router::new()
        .route("/", get(home))
        .with_state(Engine::new());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
