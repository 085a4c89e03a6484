//! The site this server ships: the index page, the benchmark page and the
//! static files beside them. Pages are written on the engine like any
//! application would write them; the engine knows nothing of them.

mod bench;
mod index;

use std::path::Path;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::services::ServeDir;

use crate::engine::Engine;

/// What every handler of the site shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Makes the pages and counts what their boundaries do.
    pub engine: Engine,
}

/// Handlers take their [`Page`](crate::engine::Page) as an argument, made on
/// this engine.
impl FromRef<AppState> for Engine {
    fn from_ref(state: &AppState) -> Engine {
        state.engine.clone()
    }
}

impl AppState {
    pub fn new(engine: Engine) -> Self {
        AppState { engine }
    }
}

/// The whole site as a router, kept apart from the server so tests can serve
/// it on any listener.
pub fn app(state: AppState, static_dir: &Path) -> Router {
    Router::new()
        .route("/", get(index::index))
        .route("/bench", get(bench::bench))
        // ServeDir rejects `..` and other components that would leave the
        // directory (also once percent-decoded), and answers them with 404.
        .nest_service("/static", ServeDir::new(static_dir))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
}
