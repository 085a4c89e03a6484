//! The runtime as a file of its own, for the browsers that patch natively:
//! their pages link it instead of carrying it (see
//! [`EngineBuilder::external_runtime`](crate::EngineBuilder::external_runtime));
//! and the islands module, which pages link when they want it.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::wire::{islands, islands_path, runtime, runtime_path};

/// A router that serves the runtime at [`runtime_path`] and the islands
/// module at [`islands_path`], each cached for a year (`immutable`: the
/// name changes with the content). Merge it into the
/// application's router and turn on
/// [`EngineBuilder::external_runtime`](crate::EngineBuilder::external_runtime):
///
/// ```
/// use axum::Router;
/// use axum_suspense::{Engine, client::runtime_router};
///
/// let engine = Engine::builder().external_runtime(true).build();
/// let app: Router = Router::new()
///     // .route("/", get(home))
///     .merge(runtime_router())
///     .with_state(engine);
/// ```
pub fn runtime_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(runtime_path(), get(|| async { script(runtime()) }))
        .route(islands_path(), get(|| async { script(islands()) }))
}

/// A script file that never changes under its name.
fn script(source: &'static str) -> axum::response::Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        source,
    )
        .into_response()
}
