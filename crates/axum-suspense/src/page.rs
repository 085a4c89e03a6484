//! [`Page`]: the handle a handler builds a page with: its boundaries, its
//! mode and deadline, and the response it becomes.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use crate::boundary::{Boundary, BoundaryBuilder};
use crate::engine::Engine;
use crate::mode::RenderMode;
use crate::shared::PageShared;
use crate::{response, wire};

/// One page being built. Create its boundaries with
/// [`suspend`](Page::suspend) (also from inside another boundary's future,
/// to nest them), then turn it into a response with [`stream`](Page::stream).
/// Cheap to clone: clones are the same page.
///
/// A handler takes it as an argument (see its `FromRequestParts` impl);
/// other code makes one with [`Engine::page`].
///
/// ```
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine};
///
/// #[derive(Template)]
/// #[template(source = "<html><body><h1>{{ title }}</h1>{{ comments }}</body></html>", ext = "html")]
/// struct PostShell { title: String, comments: Boundary }
///
/// #[derive(Template)]
/// #[template(source = "<p>Loading comments…</p>", ext = "html")]
/// struct CommentsFallback;
///
/// #[derive(Template)]
/// #[template(source = "{% for c in comments %}<p>{{ c }}</p>{% endfor %}", ext = "html")]
/// struct CommentsList { comments: Vec<String> }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let page = Engine::new().page();
/// let comments = page.suspend(CommentsFallback, async {
///     // A slow data source; an Err here shows the boundary's error content.
///     Ok::<_, std::io::Error>(CommentsList { comments: vec!["First!".into()] })
/// });
/// let response = page.stream(PostShell { title: "Hello".into(), comments });
///
/// // A handler returns `response`; here the body is read whole.
/// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// let html = String::from_utf8(body.to_vec()).unwrap();
/// assert!(html.starts_with(
///     "<html><body><h1>Hello</h1><?start name=\"b0\"><p>Loading comments…</p><?end>"
/// ));
/// assert!(html.contains("</script><template for=\"b0\"><p>First!</p></template><?s b0 "));
/// assert!(html.ends_with("></body></html>"));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Page {
    pub(crate) shared: Arc<PageShared>,
}

impl Page {
    pub(crate) fn new_on(engine: &Engine) -> Self {
        Page {
            shared: Arc::new(PageShared::new(engine)),
        }
    }

    /// Creates a boundary that shows `fallback` until `future` produces its
    /// content. The future is first polled right after the shell has been
    /// handed to the connection (a boundary created inside another's future:
    /// as soon as it is created), runs while the page streams, and is dropped
    /// if the client goes away. An `Err`, a panic or the engine's boundary
    /// timeout shows the default error content in its place
    /// ([`DEFAULT_ERROR_HTML`](crate::DEFAULT_ERROR_HTML),
    /// [`DEFAULT_TIMEOUT_HTML`](crate::DEFAULT_TIMEOUT_HTML)); use
    /// [`boundary`](Self::boundary) to choose your own, or a timeout.
    ///
    /// ```
    /// use askama::Template;
    /// use axum_suspense::{Boundary, Engine};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<p>{{ text }}</p>", ext = "html")]
    /// struct Text { text: &'static str }
    ///
    /// let page = Engine::new().page();
    /// let part: Boundary = page.suspend(Text { text: "Loading…" }, async {
    ///     Ok::<_, String>(Text { text: "Here." })
    /// });
    /// # drop(part);
    /// ```
    pub fn suspend<F, T, E>(&self, fallback: impl Template, future: F) -> Boundary
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Template + Send + 'static,
        E: Display + Send + 'static,
    {
        self.boundary(fallback).suspend(future)
    }

    /// Starts a boundary with options (its own timeout, error and timeout
    /// content); finish it with [`BoundaryBuilder::suspend`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use askama::Template;
    /// use axum_suspense::Engine;
    ///
    /// #[derive(Template)]
    /// #[template(source = "<p>{{ text }}</p>", ext = "html")]
    /// struct Text { text: &'static str }
    ///
    /// let page = Engine::new().page();
    /// let part = page
    ///     .boundary(Text { text: "Loading prices…" })
    ///     .timeout(Duration::from_secs(2))
    ///     .on_error(Text { text: "Prices are unavailable." })
    ///     .suspend(async { Err::<Text, _>("the price service is down") });
    /// # drop(part);
    /// ```
    pub fn boundary(&self, fallback: impl Template) -> BoundaryBuilder<'_> {
        BoundaryBuilder::new(self, fallback)
    }

    /// Sends the timing overlay with this page (or not): a small panel that
    /// draws, for each boundary, when its fallback showed, when its content
    /// was revealed and when its data resolved on the server. A page taken
    /// as a handler argument has it on when its query asks and the engine
    /// allows it ([`EngineBuilder::debug_param`](crate::EngineBuilder::debug_param)).
    /// Defaults to off.
    pub fn set_debug(&self, on: bool) {
        self.shared.set_debug(on);
    }

    /// Whether this page is sent with the timing overlay.
    pub fn debug(&self) -> bool {
        self.shared.debug()
    }

    /// Chooses how the page is sent. Set it before
    /// [`stream`](Self::stream), and before the shell or any boundary is
    /// rendered. A page taken as a handler argument has it set from its
    /// request already. Defaults to [`RenderMode::Stream`].
    ///
    /// ```
    /// use axum_suspense::{Engine, RenderMode};
    ///
    /// let page = Engine::new().page();
    /// page.set_mode(RenderMode::Buffered);
    /// assert_eq!(page.mode(), RenderMode::Buffered);
    /// ```
    pub fn set_mode(&self, mode: RenderMode) {
        self.shared.set_mode(mode);
    }

    /// How the page will be sent.
    pub fn mode(&self) -> RenderMode {
        self.shared.mode()
    }

    /// The URI this page answers (a `GET`). In stream mode, a browser with
    /// JavaScript off is sent to the same URI in
    /// [`RenderMode::InOrder`] (a `<noscript>` refresh in the `<head>`), if
    /// the page has pending boundaries and the engine has a
    /// [mode parameter](crate::EngineBuilder::mode_param). A page taken as a
    /// handler argument has it set already; the first value set stays.
    pub fn set_request_uri(&self, uri: Uri) {
        self.shared.set_request_uri(uri);
    }

    /// How long this page may stream, counted from its start (`None`: no
    /// limit); see [`EngineBuilder::page_deadline`](crate::EngineBuilder::page_deadline),
    /// whose value a page starts with. Set it before [`stream`](Self::stream).
    pub fn set_deadline(&self, deadline: Option<Duration>) {
        self.shared.set_deadline(deadline);
    }

    /// Ends the page now: every boundary still pending, and any created
    /// later, shows its timeout content, and the page ends well-formed as
    /// soon as that is sent. React's `abort`.
    pub fn abort(&self) {
        self.shared.aborted.cancel();
    }

    /// The page's Content-Security-Policy nonce (22 characters of base64,
    /// fresh for every page): every inline script the engine writes carries
    /// it. The application's own inline scripts and styles in the shell can
    /// carry it too (`<script nonce="{{ nonce }}">`).
    ///
    /// ```
    /// let page = axum_suspense::Engine::new().page();
    /// assert_eq!(page.csp_nonce().len(), 22);
    /// assert_ne!(page.csp_nonce(), axum_suspense::Engine::new().page().csp_nonce());
    /// ```
    pub fn csp_nonce(&self) -> String {
        wire::csp_nonce(&self.shared.secret)
    }

    /// Renders `shell` and answers `200 OK` with a streamed body: the shell
    /// with every fallback at once, then each boundary's content as it
    /// resolves. See [`stream_with_status`](Self::stream_with_status).
    pub fn stream<S: Template>(self, shell: S) -> Response {
        self.stream_with_status(StatusCode::OK, shell)
    }

    /// Renders `shell` and answers with `status` and a body in the page's
    /// mode. The shell is rendered here, before the response exists, so a
    /// shell that fails to render is a plain `500` and never a torn page.
    ///
    /// The response carries `Content-Type: text/html; charset=utf-8`,
    /// `Cache-Control: private, no-cache, no-transform`,
    /// `X-Accel-Buffering: no` (so nginx passes the stream through),
    /// `X-Content-Type-Options: nosniff`, the engine's
    /// Content-Security-Policy with this page's nonce, and its
    /// [`RenderMode`] as an extension.
    pub fn stream_with_status<S: Template>(self, status: StatusCode, shell: S) -> Response {
        response::page_response(self.shared, status, &shell)
    }
}
