//! A rendered shell becomes a response: the body for the page's mode, and
//! the headers every page carries.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::body::PageBody;
use crate::mode::{self, RenderMode};
use crate::resolve::{Rendered, render_placing};
use crate::shared::PageShared;
use crate::{csp, wire};

/// The response header that names the mode a page was sent in, when the
/// engine is set to send it
/// ([`EngineBuilder::render_mode_header`](crate::EngineBuilder::render_mode_header)).
///
/// ```
/// assert_eq!(axum_suspense::RENDER_MODE_HEADER, "x-render-mode");
/// ```
pub const RENDER_MODE_HEADER: &str = "x-render-mode";

/// Renders `shell` for the page and answers `200 OK` with a body in the
/// page's mode.
pub(crate) fn page_response<S: Template>(shared: Arc<PageShared>, shell: S) -> Response {
    let rendered = match render_placing(shared.render_for(), shell) {
        Ok(rendered) => {
            for id in &rendered.cancelled {
                shared.orphan(*id);
            }
            rendered
        }
        Err(failed) => {
            tracing::error!(failure = %failed.failure, "page shell failed to render");
            shared.close();
            return shell_error();
        }
    };
    rendered_response(shared, rendered)
}

/// Answers `200 OK` with a shell already rendered for the page (its
/// boundaries placed), in the page's mode.
pub(crate) fn rendered_response(shared: Arc<PageShared>, rendered: Rendered) -> Response {
    let nonce = csp::nonce(&shared.secret);
    let settings = shared.engine.settings();
    let policy = settings
        .content_security_policy
        .as_ref()
        .and_then(|policy| policy.with_nonce(&nonce));
    let mode = shared.mode;
    let render_mode_header = settings.render_mode_header;
    let body = match mode {
        RenderMode::InOrder | RenderMode::Buffered => {
            PageBody::in_document_order(shared, rendered.html, mode == RenderMode::Buffered)
        }
        RenderMode::Stream => streaming_body(shared, rendered, nonce),
    };
    let mut response = Response::new(Body::from_stream(body));
    // Room for the engine's headers and an application's usual few more
    // (security headers), so the map is not grown and rehashed on the way.
    *response.headers_mut() = HeaderMap::with_capacity(12);
    response.extensions_mut().insert(mode);
    page_headers(
        response.headers_mut(),
        policy,
        render_mode_header.then_some(mode),
    );
    response
}

/// For a browser that does not patch natively, without JavaScript, which
/// would keep the fallbacks: a `<noscript>` refresh in `head` to `uri` in the
/// in-order mode (browsers act on it in the body too). A browser that
/// patches natively streams without script, so it is never sent away.
pub(crate) fn push_no_script_refresh(shared: &PageShared, uri: Option<&Uri>, head: &mut String) {
    let settings = shared.engine.settings();
    if !shared.native
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
        wire::insert_no_script_refresh(head, &url);
    }
}

/// The stream mode's body: the shell's head (with what the page needs before
/// any part: the no-script refresh, the overlay, the runtime's link), then
/// the parts, then the shell's tail.
fn streaming_body(shared: Arc<PageShared>, rendered: Rendered, nonce: String) -> PageBody {
    let settings = shared.engine.settings();
    let (mut head, tail) = wire::split_shell(rendered.html);
    let pending = !rendered.placed.is_empty();
    if pending {
        // Only now, and only when something is pending: most responses
        // never need the URL.
        let uri = shared.take_request_uri();
        push_no_script_refresh(&shared, uri.as_ref(), &mut head);
    }
    if shared.debug {
        // Right after the shell: it runs while the page is still loading,
        // when every first-level fallback is in the document.
        wire::push_overlay(&mut head, &nonce);
    }
    // Those browsers fetch the runtime once, if the application serves it;
    // everything else carries it inline, with the first fragment.
    let linked = shared.native && settings.external_runtime && pending;
    if linked {
        wire::push_runtime_link(&mut head, &nonce);
    }
    PageBody::streaming(shared, head, tail, rendered.placed, nonce, linked)
}

/// The headers every page carries.
pub(crate) fn page_headers(
    headers: &mut HeaderMap,
    policy: Option<HeaderValue>,
    mode: Option<RenderMode>,
) {
    // Names made at compile time (`from_static` at run time validates).
    const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
    const X_RENDER_MODE: HeaderName = HeaderName::from_static(RENDER_MODE_HEADER);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // nginx (and other proxies that honour it) pass the stream through
    // instead of buffering it.
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
    if let Some(mode) = mode {
        headers.insert(X_RENDER_MODE, HeaderValue::from_static(mode.as_str()));
    }
    if let Some(policy) = policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
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
