//! [`Page`]: the handle a handler builds a page with: its boundaries and
//! the response it becomes; and [`PageBuilder`], which decides what the
//! page is (mode, deadline, overlay, URI) before it has any boundary.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::http::Uri;
use axum::response::Response;
use tokio::time::Instant;

use crate::boundary::{Boundary, BoundaryBuilder};
use crate::engine::Engine;
use crate::error::BoxError;
use crate::mode::RenderMode;
use crate::shared::{PageOptions, PageShared};
use crate::{csp, response};

/// One page being built. Create its boundaries with
/// [`suspend`](Page::suspend) or [`try_suspend`](Page::try_suspend) (also
/// from inside another boundary's future, to nest them), then turn it into
/// a response with [`stream`](Page::stream). Cheap to clone: clones are the
/// same page.
///
/// What a page is (its [`RenderMode`], deadline, overlay) is fixed when it
/// is made: a handler takes it as an argument, set up from its request
/// (see its `FromRequestParts` impl), or takes a [`PageBuilder`] to change
/// that first; other code makes one with [`Engine::page`]. Nothing can
/// change it later, so a clone in a boundary's future cannot change a page
/// that is streaming:
///
/// ```compile_fail
/// let page = axum_suspense::Engine::new().page();
/// page.set_mode(axum_suspense::RenderMode::InOrder); // no such method
/// ```
///
/// ```
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine, List, Text};
///
/// #[derive(Template)]
/// #[template(source = "<html><body><h1>{{ title }}</h1>{{ comments }}</body></html>", ext = "html")]
/// struct PostShell { title: String, comments: Boundary }
///
/// #[derive(Template)]
/// #[template(source = "<p>{{ text }}</p>", ext = "html")]
/// struct Comment { text: String }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let page = Engine::new().page();
/// let comments = page.suspend(Text::new("Loading comments…"), async {
///     // A slow data source.
///     List::new(vec![Comment { text: "First!".into() }])
/// });
/// let response = page.stream(PostShell { title: "Hello".into(), comments });
///
/// // A handler returns `response`; here the body is read whole.
/// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// let html = String::from_utf8(body.to_vec()).unwrap();
/// assert!(html.starts_with(
///     "<html><body><h1>Hello</h1><?start name=\"b0\">Loading comments…<?end>"
/// ));
/// assert!(html.contains("<template for=\"b0\"><p>First!</p></template><?s b0 "));
/// assert!(html.ends_with("></body></html>"));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Page {
    pub(crate) shared: Arc<PageShared>,
}

impl Page {
    /// Creates a boundary that shows `fallback` until `future` gives its
    /// content. The future is first polled right after the shell has been
    /// handed to the connection (a boundary created inside another's future:
    /// as soon as it is created), runs while the page streams, and is dropped
    /// if the client goes away. A panic, or the engine's boundary timeout,
    /// shows the default error content in its place
    /// ([`DEFAULT_ERROR_HTML`](crate::error::DEFAULT_ERROR_HTML),
    /// [`DEFAULT_TIMEOUT_HTML`](crate::error::DEFAULT_TIMEOUT_HTML)); use
    /// [`boundary`](Self::boundary) to choose your own, a name, or a
    /// timeout, and [`try_suspend`](Self::try_suspend) for a future that can
    /// fail.
    ///
    /// ```
    /// use axum_suspense::{Boundary, Engine, Text};
    ///
    /// let page = Engine::new().page();
    /// let part: Boundary = page.suspend(Text::new("Loading…"), async { Text::new("Here.") });
    /// # drop(part);
    /// ```
    pub fn suspend<F, T>(&self, fallback: impl Template, future: F) -> Boundary
    where
        F: Future<Output = T> + Send + 'static,
        T: Template + Send + 'static,
    {
        self.boundary(fallback).suspend(future)
    }

    /// Creates a boundary whose future can fail: an `Err` shows the
    /// boundary's error content (by default
    /// [`DEFAULT_ERROR_HTML`](crate::error::DEFAULT_ERROR_HTML)) and is
    /// logged with its sources; otherwise as [`suspend`](Self::suspend).
    /// Any error type that converts into a [`BoxError`] will do (every
    /// `std::error::Error + Send + Sync`, `String`, `&str`).
    ///
    /// ```
    /// use axum_suspense::{Engine, Text};
    ///
    /// async fn load_reviews() -> Result<Text, std::io::Error> {
    ///     Ok(Text::new("Five stars."))
    /// }
    ///
    /// let page = Engine::new().page();
    /// let reviews = page.try_suspend(Text::new("Loading reviews…"), load_reviews());
    /// # drop(reviews);
    /// ```
    pub fn try_suspend<F, T, E>(&self, fallback: impl Template, future: F) -> Boundary
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Template + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.boundary(fallback).try_suspend(future)
    }

    /// Creates a boundary named `name` whose future gives its content and
    /// its data (any `serde::Serialize` value), sent with the part as JSON
    /// for the client: `suspense.on(name, (element, data) => …)` of the
    /// islands module finds it by that name (see
    /// [`client::islands`](crate::client::islands)). Otherwise as
    /// [`suspend`](Self::suspend); see
    /// [`BoundaryBuilder::suspend_with_data`] for the rest (a timeout, error
    /// content, no name).
    ///
    /// ```
    /// use axum_suspense::{Engine, Text};
    ///
    /// let page = Engine::new().page();
    /// let count = page.suspend_with_data("comments", Text::new("…"), async {
    ///     (Text::new("3 comments"), [41, 42, 43])
    /// });
    /// # drop(count);
    /// ```
    ///
    /// # Panics
    ///
    /// If `name` is not a boundary name (see [`BoundaryBuilder::name`]).
    pub fn suspend_with_data<F, T, D>(
        &self,
        name: &'static str,
        fallback: impl Template,
        future: F,
    ) -> Boundary
    where
        F: Future<Output = (T, D)> + Send + 'static,
        T: Template + Send + 'static,
        D: serde::Serialize + Send + 'static,
    {
        self.boundary(fallback).name(name).suspend_with_data(future)
    }

    /// Starts a boundary with options (a name, its own timeout, error and
    /// timeout content); finish it with [`BoundaryBuilder::suspend`] or
    /// [`BoundaryBuilder::try_suspend`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_suspense::{Engine, Text};
    ///
    /// let page = Engine::new().page();
    /// let part = page
    ///     .boundary(Text::new("Loading prices…"))
    ///     .name("prices")
    ///     .timeout(Duration::from_secs(2))
    ///     .on_error(Text::new("Prices are unavailable."))
    ///     .try_suspend(async { Err::<Text, _>("the price service is down") });
    /// # drop(part);
    /// ```
    pub fn boundary(&self, fallback: impl Template) -> BoundaryBuilder<'_> {
        BoundaryBuilder::new(self, fallback)
    }

    /// How the page is sent.
    pub fn mode(&self) -> RenderMode {
        self.shared.mode
    }

    /// Whether the page is sent with the timing overlay.
    pub fn debug(&self) -> bool {
        self.shared.debug
    }

    /// How long the page may stream, counted from its start (`None`: no
    /// limit).
    pub fn deadline(&self) -> Option<Duration> {
        self.shared.deadline
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
        csp::nonce(&self.shared.secret)
    }

    /// Renders `shell` and answers `200 OK` with a body in the page's mode:
    /// the shell with every fallback at once, then each boundary's content
    /// as it resolves. The shell is rendered here, before the response
    /// exists, so a shell that fails to render is a plain `500` and never a
    /// torn page. For another status, pair it with one, as for any axum
    /// response: `(StatusCode::NOT_FOUND, page.stream(shell))`.
    ///
    /// The response carries `Content-Type: text/html; charset=utf-8`,
    /// `Cache-Control: private, no-cache, no-transform`,
    /// `X-Accel-Buffering: no` (so nginx passes the stream through),
    /// `X-Content-Type-Options: nosniff`, the engine's
    /// Content-Security-Policy with this page's nonce, and its
    /// [`RenderMode`] as an extension.
    pub fn stream<S: Template>(self, shell: S) -> Response {
        response::page_response(self.shared, shell)
    }
}

/// Pages are made on an engine: here rather than in `engine.rs`, so that
/// the engine knows nothing of pages.
impl Engine {
    /// A new, empty page with every default of [`PageBuilder`]
    /// ([`RenderMode::Stream`](crate::RenderMode::Stream)), for code that is
    /// not an axum handler (a handler takes [`Page`] as an argument instead,
    /// set up from its request).
    pub fn page(&self) -> Page {
        self.page_builder().build()
    }

    /// Sets up a page other than with the defaults.
    ///
    /// ```
    /// use axum_suspense::{Engine, RenderMode};
    ///
    /// let page = Engine::new().page_builder().mode(RenderMode::Buffered).build();
    /// assert_eq!(page.mode(), RenderMode::Buffered);
    /// ```
    pub fn page_builder(&self) -> PageBuilder {
        PageBuilder::new(self)
    }
}

/// Decides what a page is before it has any boundary: its [`RenderMode`],
/// deadline, timing overlay and URI. Made by [`Engine::page_builder`], or
/// taken as a handler argument, set up from the request as a [`Page`]
/// argument would be, to change something first:
///
/// ```
/// use std::time::Duration;
/// use askama::Template;
/// use axum::{Router, response::Response, routing::get};
/// use axum_suspense::{Engine, PageBuilder};
///
/// #[derive(Template)]
/// #[template(source = "<html><body>Report</body></html>", ext = "html")]
/// struct Report;
///
/// /// A page that may take longer than the engine's default.
/// async fn report(page: PageBuilder) -> Response {
///     let page = page.deadline(Duration::from_secs(120)).build();
///     page.stream(Report)
/// }
///
/// let app: Router = Router::new().route("/report", get(report)).with_state(Engine::new());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a page is made by `build`"]
pub struct PageBuilder {
    engine: Engine,
    options: PageOptions,
}

impl PageBuilder {
    pub(crate) fn new(engine: &Engine) -> Self {
        PageBuilder {
            engine: engine.clone(),
            options: PageOptions {
                mode: RenderMode::Stream,
                debug: false,
                native: false,
                deadline: engine.settings().page_deadline,
                request_uri: None,
                started: Instant::now(),
                batch: None,
            },
        }
    }

    /// How the page is sent. A builder taken as a handler argument has the
    /// mode its request asks for. Defaults to [`RenderMode::Stream`].
    pub fn mode(mut self, mode: RenderMode) -> Self {
        self.options.mode = mode;
        self
    }

    /// Sends the timing overlay with the page (or not): a small panel that
    /// draws, for each boundary, when its fallback showed, when its content
    /// was revealed and when its data resolved on the server. A builder
    /// taken as a handler argument has it on when its query asks and the
    /// engine allows it ([`EngineBuilder::debug_param`](crate::EngineBuilder::debug_param)).
    /// Defaults to `false`.
    pub fn debug(mut self, on: bool) -> Self {
        self.options.debug = on;
        self
    }

    /// How long the page may stream, counted from its start (for a builder
    /// taken as a handler argument, the handler's start): when it passes,
    /// every boundary still pending shows its timeout content and the page
    /// ends well-formed. Defaults to the engine's
    /// [page deadline](crate::EngineBuilder::page_deadline).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.options.deadline = Some(deadline);
        self
    }

    /// Lets the page stream for as long as its boundaries take (each still
    /// has its own timeout). Defaults to the engine's
    /// [page deadline](crate::EngineBuilder::page_deadline).
    pub fn no_deadline(mut self) -> Self {
        self.options.deadline = None;
        self
    }

    /// The URI the page answers (a `GET`). In stream mode, a browser with
    /// JavaScript off is sent to the same URI in [`RenderMode::InOrder`] (a
    /// `<noscript>` refresh in the `<head>`), if the page has pending
    /// boundaries and the engine has a
    /// [mode parameter](crate::EngineBuilder::mode_param). A builder taken
    /// as a handler argument has the request's (for a `GET` or `HEAD`).
    /// Defaults to none (no refresh).
    pub fn request_uri(mut self, uri: Uri) -> Self {
        self.options.request_uri = Some(uri);
        self
    }

    /// Lets the parts that are ready within `window` of each other share
    /// one chunk (stream mode): once a part is ready, the body waits up to
    /// `window` for more before it writes, so the browser reveals them in
    /// one go, with fewer layout passes and writes, each part up to
    /// `window` later. React's fixed 300 ms reveal throttle, as an opt-in
    /// per page. The last part goes out with the page's end at once.
    /// Defaults to none: each part goes out as soon as it is ready (those
    /// ready in the same poll already share a chunk).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_suspense::Engine;
    ///
    /// let page = Engine::new().page_builder().batch(Duration::from_millis(50)).build();
    /// # drop(page);
    /// ```
    pub fn batch(mut self, window: Duration) -> Self {
        self.options.batch = Some(window);
        self
    }

    pub(crate) fn patches_natively(mut self, native: bool) -> Self {
        self.options.native = native;
        self
    }

    /// The page, fixed as it is now.
    pub fn build(self) -> Page {
        Page {
            shared: Arc::new(PageShared::new(&self.engine, self.options)),
        }
    }
}
