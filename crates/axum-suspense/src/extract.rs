//! A [`Page`] as a handler argument, set up from its request: the render
//! mode, the timing overlay, and the URL a browser without JavaScript is
//! sent to.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

use crate::crawlers;
use crate::engine::{Engine, Settings};
use crate::mode::{RenderMode, UnknownRenderMode};
use crate::page::{Page, PageBuilder};

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
        Ok(PageBuilder::from_request_parts(parts, state).await?.build())
    }
}

/// A page's builder as a handler argument, set up from the request as a
/// [`Page`] argument would be (mode, overlay, URI), for a handler that
/// changes something before it builds the page; see [`PageBuilder`].
impl<S> FromRequestParts<S> for PageBuilder
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
        let mode = mode_for_request(settings, query, user_agent)?;
        let debug = settings
            .debug_param
            .as_deref()
            .is_some_and(|param| flag_set(query, param));
        let mut page = engine.page_builder().mode(mode).debug(debug);
        if mode == RenderMode::Stream {
            // Only a streamed page depends on it (the refresh, the runtime).
            page = page.patches_natively(crate::native::patches_natively(&parts.headers));
            if matches!(parts.method, Method::GET | Method::HEAD) {
                // A clone of the URI shares its bytes; the fallback URL is
                // built only if the page turns out to need it.
                page = page.request_uri(parts.uri.clone());
            }
        }
        Ok(page)
    }
}

/// The mode for a request: the mode parameter from the query (its first
/// occurrence) if the engine has one and the query names it, else buffered
/// for a well-known crawler (if the engine says so), else stream.
pub(crate) fn mode_for_request(
    settings: &Settings,
    query: Option<&str>,
    user_agent: Option<&[u8]>,
) -> Result<RenderMode, UnknownRenderMode> {
    let asked = settings
        .mode_param
        .as_deref()
        .and_then(|param| crate::query::first(query?, param));
    match asked {
        Some(value) => value.parse(),
        None if settings.crawlers_buffered && user_agent.is_some_and(crawlers::is_crawler) => {
            Ok(RenderMode::Buffered)
        }
        None => Ok(RenderMode::Stream),
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

    #[test]
    fn the_query_wins_then_the_user_agent() {
        let bot = Some(&b"Mozilla/5.0 (compatible; Googlebot/2.1)"[..]);
        let person = Some(&b"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"[..]);
        let engine = Engine::new();
        let mode = |query, ua| mode_for_request(engine.settings(), query, ua);
        assert_eq!(mode(None, person), Ok(RenderMode::Stream));
        assert_eq!(mode(None, None), Ok(RenderMode::Stream));
        assert_eq!(mode(Some("delay=5"), bot), Ok(RenderMode::Buffered));
        assert_eq!(mode(Some("render=stream"), bot), Ok(RenderMode::Stream));
        assert_eq!(
            mode(Some("render=in-order&render=buffered"), person),
            Ok(RenderMode::InOrder)
        );
        assert_eq!(
            mode(Some("render=in%2Dorder"), person),
            Ok(RenderMode::InOrder)
        );
        let error = mode(Some("render=fast"), person).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown render mode \"fast\": expected stream, in-order or buffered"
        );
        assert!(mode(Some("render="), person).is_err());
    }

    #[test]
    fn the_engine_names_the_parameter_and_the_crawler_rule() {
        let bot = Some(&b"Mozilla/5.0 (compatible; bingbot/2.0)"[..]);
        let engine = Engine::builder()
            .mode_param("view")
            .buffer_for_crawlers(false)
            .build();
        let mode = |query, ua| mode_for_request(engine.settings(), query, ua);
        assert_eq!(mode(Some("view=in-order"), None), Ok(RenderMode::InOrder));
        assert_eq!(mode(Some("render=fast"), None), Ok(RenderMode::Stream));
        assert_eq!(mode(None, bot), Ok(RenderMode::Stream));
        let closed = Engine::builder().no_mode_param().build();
        assert_eq!(
            mode_for_request(closed.settings(), Some("render=fast"), bot),
            Ok(RenderMode::Buffered)
        );
    }
}
