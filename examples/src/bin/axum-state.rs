//! Axum state with `FromRef`: the engine lives in the application's own
//! state beside its data, and handlers take both a `Page` (made on that
//! engine) and `State`. What the shell needs is loaded first, so a missing
//! post is a real `404` before any byte of a page; what can wait is a
//! boundary.
//!
//! `cargo run -p examples --bin axum-state`, then
//! `curl --no-buffer localhost:3000/posts/1` (and `/posts/2`, a 404).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use axum_suspense::{Boundary, Engine, Page};

/// The application's state: cheap to clone, the engine one of its parts.
#[derive(Clone, FromRef)]
struct AppState {
    engine: Engine,
    posts: Arc<HashMap<u32, Post>>,
}

#[derive(Clone)]
struct Post {
    title: String,
    comments: Vec<String>,
}

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<ul>{{ comments }}</ul>
</body></html>
"#,
    ext = "html"
)]
struct PostShell {
    title: String,
    comments: Boundary,
}

#[derive(Template)]
#[template(source = "<li>Loading comments…</li>", ext = "html")]
struct Loading;

#[derive(Template)]
#[template(
    source = "{% for c in comments %}<li>{{ c }}</li>{% endfor %}",
    ext = "html"
)]
struct Comments {
    comments: Vec<String>,
}

/// The application's error: a status and a message, never internals.
enum AppError {
    NotFound,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such post\n").into_response(),
        }
    }
}

async fn post(
    page: Page,
    State(posts): State<Arc<HashMap<u32, Post>>>,
    Path(id): Path<u32>,
) -> Result<Response, AppError> {
    let post = posts.get(&id).cloned().ok_or(AppError::NotFound)?;
    let comments = page.try_suspend(Loading, async move {
        // The slow query.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<_, String>(Comments {
            comments: post.comments,
        })
    });
    Ok(page.stream(PostShell {
        title: post.title,
        comments,
    }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let hello = Post {
        title: "Hello".to_owned(),
        comments: vec!["First!".to_owned(), "<b>not bold</b>".to_owned()],
    };
    let state = AppState {
        engine: Engine::new(),
        posts: Arc::new(HashMap::from([(1, hello)])),
    };
    let app = Router::new()
        .route("/posts/{id}", get(post))
        .with_state(state);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
