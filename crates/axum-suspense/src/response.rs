//! A rendered shell becomes a response: the body for the page's mode, and
//! the headers every page carries.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::body::PageBody;
use crate::mode::{self, RenderMode};
use crate::resolve::render_placing;
use crate::shared::PageShared;
use crate::wire;

/// The response header that names the mode a page was sent in, when the
/// engine is set to send it
/// ([`EngineBuilder::render_mode_header`](crate::EngineBuilder::render_mode_header)).
///
/// ```
/// assert_eq!(axum_suspense::RENDER_MODE_HEADER, "x-render-mode");
/// ```
pub const RENDER_MODE_HEADER: &str = "x-render-mode";

/// Renders `shell` for the page and answers with `status` and a body in the
/// page's mode.
pub(crate) fn page_response<S: Template>(
    shared: Arc<PageShared>,
    status: StatusCode,
    shell: &S,
) -> Response {
    let (rendered, placed) = render_placing(shared.key(), shell);
    let html = match rendered {
        Ok(html) => html,
        Err(failure) => {
            tracing::error!(%failure, "page shell failed to render");
            shared.close();
            return shell_error();
        }
    };
    let settings = shared.engine.settings();
    let mode = shared.mode();
    let nonce = wire::csp_nonce(&shared.secret);
    let policy = settings
        .content_security_policy
        .as_deref()
        .and_then(|parts| policy_with_nonce(parts, &nonce));
    let render_mode_header = settings.render_mode_header;
    let body = match mode {
        RenderMode::InOrder | RenderMode::Buffered => {
            PageBody::in_document_order(shared, html, mode == RenderMode::Buffered)
        }
        RenderMode::Stream => {
            let (mut head, tail) = wire::split_shell(html);
            // Only now, and only when something is pending: most responses
            // never need the URL.
            let uri = shared.take_request_uri();
            // A browser that patches natively streams without script, so
            // it is never sent away from the stream.
            let native = shared.patches_natively();
            if !placed.is_empty()
                && !native
                && let Some(uri) = uri
                && let Some(param) = settings.mode_param.as_deref()
            {
                let url = mode::url_in_mode(
                    uri.path(),
                    uri.query(),
                    param,
                    settings.debug_param.as_deref(),
                    RenderMode::InOrder,
                );
                wire::insert_no_script_refresh(&mut head, &url);
            }
            if shared.debug() {
                // Right after the shell: it runs while the page is still
                // loading, when every first-level fallback is in the
                // document.
                wire::push_overlay(&mut head, &nonce);
            }
            // Those browsers fetch the runtime once, if the application
            // serves it; everything else carries it inline, with the first
            // fragment.
            let linked = native && settings.external_runtime && !placed.is_empty();
            if linked {
                wire::push_runtime_link(&mut head, &nonce);
            }
            PageBody::streaming(shared, head, tail, placed, nonce, linked)
        }
    };
    let mut response = Response::new(Body::from_stream(body));
    // Room for the engine's headers and an application's usual few more
    // (security headers), so the map is not grown and rehashed on the way.
    *response.headers_mut() = HeaderMap::with_capacity(12);
    *response.status_mut() = status;
    response.extensions_mut().insert(mode);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // nginx (and other proxies that honour it) pass the stream through
    // instead of buffering it.
    // Names made at compile time (`from_static` at run time validates).
    const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
    const X_RENDER_MODE: HeaderName = HeaderName::from_static(RENDER_MODE_HEADER);
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    // A dynamic page: browsers revalidate, shared caches do not store, and
    // no proxy may rewrite (and so buffer) it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache, no-transform"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if render_mode_header {
        headers.insert(X_RENDER_MODE, HeaderValue::from_static(mode.as_str()));
    }
    if let Some(policy) = policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// The pieces of `policy` between its `{nonce}`s (one piece if it has none).
pub(crate) fn split_policy(policy: &str) -> Vec<String> {
    policy.split("{nonce}").map(str::to_owned).collect()
}

/// The policy whose pieces [`split_policy`] made, with `nonce` between them:
/// built in one allocation of the right size (this runs for every page),
/// handed to the header without a copy.
fn policy_with_nonce(parts: &[String], nonce: &str) -> Option<HeaderValue> {
    let len =
        parts.iter().map(String::len).sum::<usize>() + parts.len().saturating_sub(1) * nonce.len();
    let mut value = String::with_capacity(len);
    for (at, part) in parts.iter().enumerate() {
        if at > 0 {
            value.push_str(nonce);
        }
        value.push_str(part);
    }
    HeaderValue::try_from(value).ok()
}

/// A page that could not be rendered at all: a plain `500`, with nothing of
/// the failure (it is logged) for the client.
pub(crate) fn shell_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "internal error: the page could not be rendered\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_goes_wherever_the_policy_says() {
        let nonce = "abc+/=";
        let value = |policy: &str| policy_with_nonce(&split_policy(policy), nonce).unwrap();
        assert_eq!(
            value("script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'"),
            "script-src 'nonce-abc+/='; style-src 'nonce-abc+/='"
        );
        assert_eq!(value("{nonce}"), "abc+/=");
        assert_eq!(value("default-src 'self'"), "default-src 'self'");
        assert_eq!(value(""), "");
    }
}
