//! Nested boundaries: a boundary's content holds boundaries of its own,
//! created inside its future. A child's content never reaches the browser
//! before its parent's, however fast its data is; boundaries sit inside a
//! `<ul>` and a `<table>` with fallbacks that are valid there.
//!
//! `cargo run -p examples --bin nested-boundaries`, then
//! `curl --no-buffer localhost:3000/posts/1`.

use std::time::Duration;

use askama::Template;
use axum::{Router, response::Response, routing::get};
use axum_suspense::{Boundary, Engine, Page};

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>A post</title></head>
<body>
<h1>A post</h1>
<h2>Comments</h2>
<ul>{{ comments }}</ul>
<h2>Scores</h2>
<table><tbody>{{ scores }}</tbody></table>
</body></html>
"#,
    ext = "html"
)]
struct Shell {
    comments: Boundary,
    scores: Boundary,
}

#[derive(Template)]
#[template(source = "<li>{{ text }}</li>", ext = "html")]
struct Item {
    text: &'static str,
}

/// The comments, each with its author's card still to come.
#[derive(Template)]
#[template(
    source = "{% for (text, author) in comments %}<li>{{ text }} ({{ author }})</li>{% endfor %}",
    ext = "html"
)]
struct Comments {
    comments: Vec<(&'static str, Boundary)>,
}

#[derive(Template)]
#[template(source = "<em>{{ name }}</em>", ext = "html")]
struct Author {
    name: &'static str,
}

#[derive(Template)]
#[template(
    source = "<tr><td>{{ name }}</td><td>{{ score }}</td></tr>",
    ext = "html"
)]
struct Row {
    name: &'static str,
    score: &'static str,
}

#[derive(Template)]
#[template(
    source = "{% for (name, score) in rows %}<tr><td>{{ name }}</td><td>{{ score }}</td></tr>{% endfor %}",
    ext = "html"
)]
struct Rows {
    rows: Vec<(&'static str, u32)>,
}

async fn wait(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn post(page: Page) -> Response {
    // The parent: its future creates the children, on the same page.
    let inner = page.clone();
    let loading = Item {
        text: "Loading comments…",
    };
    let comments = page.try_suspend(loading, async move {
        // The children start as soon as they are made, here, while their
        // parent still waits for its own data.
        let comments = [("First!", "ada", 1200), ("Nice post.", "linus", 100)]
            .into_iter()
            .map(|(text, name, ms)| {
                let author = inner.try_suspend(Author { name: "…" }, async move {
                    wait(ms).await;
                    Ok::<_, String>(Author { name })
                });
                (text, author)
            })
            .collect();
        // The second author's data is ready long before its parent is
        // sent: it waits, and goes out right after the parent, in the same
        // chunk.
        wait(600).await;
        Ok::<_, String>(Comments { comments })
    });
    // Inside a <tbody>, a fallback must be a row.
    let scores = page.try_suspend(
        Row {
            name: "Loading scores…",
            score: "",
        },
        async {
            wait(300).await;
            Ok::<_, String>(Rows {
                rows: vec![("ada", 3), ("linus", 2)],
            })
        },
    );
    page.stream(Shell { comments, scores })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/posts/1", get(post))
        .with_state(Engine::new());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
