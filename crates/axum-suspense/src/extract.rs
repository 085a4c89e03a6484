//! A [`Page`] as a handler argument, set up from the request: render mode
//! from `?render=` or the user agent, `?debug=1`, and the no-JavaScript
//! fallback URL.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::mode::{RenderMode, UnknownRenderMode};
use crate::page::{Engine, Page};

/// A page as a handler argument: made on the state's [`Engine`], in the mode
/// the request asks for ([`RenderMode::for_request`]), with the timing
/// overlay on for `debug=1`. An unknown `render` value is answered with
/// `400 Bad Request` before the handler runs.
///
/// ```
/// use askama::Template;
/// use axum::{Router, response::Response, routing::get};
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
/// // Any state the engine can be taken from (`FromRef`) will do.
/// let app: Router = Router::new().route("/", get(hello)).with_state(Engine::new());
/// ```
impl<S> FromRequestParts<S> for Page
where
    Engine: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = BadRenderMode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|value| value.as_bytes());
        let mode = RenderMode::for_request(query, user_agent).map_err(BadRenderMode)?;
        let page = Engine::from_ref(state).page();
        page.set_mode(mode);
        page.set_debug(debug_requested(query));
        if mode == RenderMode::Stream && matches!(parts.method, Method::GET | Method::HEAD) {
            // A clone of the URI shares its bytes; the fallback URL is
            // built only if the page turns out to need it.
            page.set_request_uri(parts.uri.clone());
        }
        Ok(page)
    }
}

/// The answer to an unknown `?render=` value: `400` with a one-line reason.
#[derive(Debug)]
pub struct BadRenderMode(pub UnknownRenderMode);

impl IntoResponse for BadRenderMode {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.0),
        )
            .into_response()
    }
}

/// `debug=1` (or `debug=true`) anywhere in the query.
fn debug_requested(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes())
            .any(|(name, value)| name == "debug" && (value == "1" || value == "true"))
    })
}

/// The same path and query, with `render=in-order` instead of any `render`
/// (the other parameters are kept exactly as sent).
pub(super) fn in_order_url(path: &str, query: Option<&str>) -> String {
    let mut url = String::with_capacity(path.len() + query.map_or(0, str::len) + 16);
    url.push_str(path);
    url.push('?');
    for pair in query.unwrap_or("").split('&') {
        let name = pair.split('=').next().unwrap_or("");
        if pair.is_empty() || name == "render" || name == "debug" {
            continue;
        }
        url.push_str(pair);
        url.push('&');
    }
    url.push_str("render=in-order");
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_asked_for_in_the_query() {
        assert!(debug_requested(Some("debug=1")));
        assert!(debug_requested(Some("delay=10&debug=true")));
        assert!(!debug_requested(Some("debug=0")));
        assert!(!debug_requested(Some("nodebug=1")));
        assert!(!debug_requested(None));
    }

    #[test]
    fn the_no_script_url_keeps_the_query() {
        assert_eq!(in_order_url("/", None), "/?render=in-order");
        assert_eq!(
            in_order_url("/bench", Some("delay=2000&render=stream&items=3&debug=1")),
            "/bench?delay=2000&items=3&render=in-order"
        );
        assert_eq!(
            in_order_url("/p", Some("q=a%26b&&x")),
            "/p?q=a%26b&x&render=in-order"
        );
    }
}
