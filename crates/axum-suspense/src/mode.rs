//! How a page is sent: the three render modes, how a request picks one, and
//! the URL of a page in another mode.

use std::fmt;
use std::str::FromStr;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How a page's boundaries reach the client. A page taken as a handler
/// argument is in the mode its request asks for (see
/// [`EngineBuilder::mode_param`](crate::EngineBuilder::mode_param)); every
/// page's response carries its mode in its extensions, for middleware such
/// as [`BufferedModeLayer`](crate::buffered::BufferedModeLayer).
///
/// ```
/// use axum_suspense::RenderMode;
///
/// let mode: RenderMode = "in-order".parse().unwrap();
/// assert_eq!(mode, RenderMode::InOrder);
/// assert_eq!(RenderMode::Buffered.to_string(), "buffered");
/// assert_eq!(RenderMode::default(), RenderMode::Stream);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RenderMode {
    /// Out of order (the default): the shell with every fallback at once,
    /// then each boundary's content as soon as its data is ready, swapped in
    /// by a small inline script.
    #[default]
    Stream,
    /// In document order, with no script at all: the shell up to the first
    /// boundary, then that boundary's content once ready (each boundary
    /// still runs from the start, concurrently), and so on. No fallbacks: a
    /// browser without JavaScript shows every section as it comes.
    InOrder,
    /// Everything at once: every boundary is awaited, then one complete
    /// document goes out, with no transport markup and no script. For
    /// crawlers, link unfurlers and static export.
    Buffered,
}

impl RenderMode {
    /// Every mode, in the order of their names in messages.
    const ALL: [RenderMode; 3] = [Self::Stream, Self::InOrder, Self::Buffered];

    /// The mode's name, as a request spells it (`?render=in-order`) and as
    /// the optional [`RENDER_MODE_HEADER`](crate::RENDER_MODE_HEADER) gives it.
    ///
    /// ```
    /// assert_eq!(axum_suspense::RenderMode::InOrder.as_str(), "in-order");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::InOrder => "in-order",
            Self::Buffered => "buffered",
        }
    }
}

impl fmt::Display for RenderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RenderMode {
    type Err = UnknownRenderMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| UnknownRenderMode(s.to_owned()))
    }
}

/// A mode name that names no mode; as a handler argument's rejection, the
/// answer to `?render=fast`: `400 Bad Request` with a one-line reason.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_suspense::RenderMode;
///
/// let error = "fast".parse::<RenderMode>().unwrap_err();
/// assert_eq!(error.value(), "fast");
/// assert_eq!(
///     error.to_string(),
///     "unknown render mode \"fast\": expected stream, in-order or buffered"
/// );
/// assert_eq!(error.into_response().status(), 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRenderMode(String);

impl UnknownRenderMode {
    /// The value that was given.
    pub fn value(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnknownRenderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug-quoted and cut short: whatever was sent shows as one
        // escaped line.
        write!(
            f,
            "unknown render mode {:?}: expected stream, in-order or buffered",
            self.0.chars().take(64).collect::<String>()
        )
    }
}

impl std::error::Error for UnknownRenderMode {}

impl IntoResponse for UnknownRenderMode {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{self}\n"),
        )
            .into_response()
    }
}

/// The same path and query in another mode: `mode_param=MODE` instead of
/// any `mode_param`, without the debug parameter, every other parameter
/// kept exactly as sent.
pub(crate) fn url_in_mode(
    path: &str,
    query: Option<&str>,
    mode_param: &str,
    debug_param: Option<&str>,
    mode: RenderMode,
) -> String {
    let mut url = String::with_capacity(path.len() + query.map_or(0, str::len) + 24);
    url.push_str(path);
    url.push('?');
    for pair in query.unwrap_or("").split('&') {
        let name = pair.split('=').next().unwrap_or("");
        if pair.is_empty() || name == mode_param || Some(name) == debug_param {
            continue;
        }
        url.push_str(pair);
        url.push('&');
    }
    url.push_str(mode_param);
    url.push('=');
    url.push_str(mode.as_str());
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_parses_from_its_name() {
        for mode in RenderMode::ALL {
            assert_eq!(mode.as_str().parse::<RenderMode>(), Ok(mode));
        }
    }

    #[test]
    fn another_mode_keeps_the_query() {
        let in_order =
            |path, query, debug| url_in_mode(path, query, "render", debug, RenderMode::InOrder);
        assert_eq!(in_order("/", None, None), "/?render=in-order");
        assert_eq!(
            in_order(
                "/bench",
                Some("delay=2000&render=stream&items=3&debug=1"),
                Some("debug")
            ),
            "/bench?delay=2000&items=3&render=in-order"
        );
        assert_eq!(
            in_order("/p", Some("q=a%26b&&x&debug=1"), None),
            "/p?q=a%26b&x&debug=1&render=in-order"
        );
    }
}
