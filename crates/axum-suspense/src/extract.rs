//! A [`Page`] as a handler argument, set up from its request: the render
//! mode, the timing overlay, and the URL a browser without JavaScript is
//! sent to.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

use crate::engine::Engine;
use crate::mode::{RenderMode, UnknownRenderMode};
use crate::page::Page;

/// A page as a handler argument: made on the state's [`Engine`] (any state
/// it can be taken from with `FromRef`), in the mode the request asks for
/// (see [`EngineBuilder::mode_param`](crate::EngineBuilder::mode_param) and
/// [`EngineBuilder::buffer_for_crawlers`](crate::EngineBuilder::buffer_for_crawlers)),
/// with the timing overlay on if the engine lets the query ask for it
/// ([`EngineBuilder::debug_param`](crate::EngineBuilder::debug_param)). An
/// unknown mode is answered with `400 Bad Request` ([`UnknownRenderMode`])
/// before the handler runs.
///
/// ```
/// use askama::Template;
/// use axum::{Router, extract::FromRef, response::Response, routing::get};
/// use axum_suspense::{Engine, Page};
///
/// #[derive(Template)]
/// #[template(source = "<html><body>Hello</body></html>", ext = "html")]
/// struct Hello;
///
/// async fn hello(page: Page) -> Response {
///     page.stream(Hello)
/// }
///
/// // The application's own state, with the engine in it.
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     engine: Engine,
///     greeting: &'static str,
/// }
///
/// let state = AppState { engine: Engine::new(), greeting: "hi" };
/// let app: Router = Router::new().route("/", get(hello)).with_state(state);
/// ```
impl<S> FromRequestParts<S> for Page
where
    Engine: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UnknownRenderMode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let engine = Engine::from_ref(state);
        let settings = engine.settings();
        let query = parts.uri.query();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|value| value.as_bytes());
        let mode = RenderMode::for_request(settings, query, user_agent)?;
        let debug = settings
            .debug_param
            .as_deref()
            .is_some_and(|param| flag_set(query, param));
        let page = engine.page();
        page.set_mode(mode);
        page.set_debug(debug);
        if mode == RenderMode::Stream {
            // Only a streamed page depends on it (the refresh, the runtime).
            page.shared
                .set_patches_natively(crate::native::patches_natively(&parts.headers));
        }
        if mode == RenderMode::Stream && matches!(parts.method, Method::GET | Method::HEAD) {
            // A clone of the URI shares its bytes; the fallback URL is
            // built only if the page turns out to need it.
            page.set_request_uri(parts.uri.clone());
        }
        Ok(page)
    }
}

/// `NAME=1` (or `NAME=true`) anywhere in the query.
fn flag_set(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|query| {
        crate::query::values(query, name).any(|value| value == "1" || value == "true")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_set_in_the_query() {
        assert!(flag_set(Some("debug=1"), "debug"));
        assert!(flag_set(Some("delay=10&debug=true"), "debug"));
        assert!(!flag_set(Some("debug=0"), "debug"));
        assert!(!flag_set(Some("nodebug=1"), "debug"));
        assert!(!flag_set(None, "debug"));
    }
}
