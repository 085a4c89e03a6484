//! [`Engine`]: the settings and statistics every page of an application
//! shares, and [`EngineBuilder`], which sets them.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::page::Page;
use crate::stats::Stats;

/// The settings and statistics an application's pages share, and the switch
/// that ends them all at shutdown. Make one at startup, put it in the
/// application's state, and take each page from it: as a handler argument
/// ([`Page`] implements `FromRequestParts` for any state an `Engine` can be
/// taken from with `FromRef`), or with [`Engine::page`].
///
/// Cheap to clone: clones share everything.
///
/// ```
/// use std::time::Duration;
/// use axum_suspense::Engine;
///
/// let engine = Engine::builder()
///     .boundary_timeout(Some(Duration::from_secs(5)))
///     .page_deadline(Some(Duration::from_secs(30)))
///     .build();
/// assert_eq!(engine.stats().active_streams(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

/// What an engine's clones share.
#[derive(Debug)]
pub(crate) struct EngineInner {
    pub(crate) stats: Arc<Stats>,
    pub(crate) settings: Settings,
    /// Cancelled by [`Engine::abort_all`]; every page's own token is a child.
    pub(crate) abort_all: CancellationToken,
}

/// What [`EngineBuilder`] sets; see its methods for what each is for.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) boundary_timeout: Option<Duration>,
    pub(crate) page_deadline: Option<Duration>,
    /// The policy split at each `{nonce}` (which stands for the page's
    /// nonce), once, rather than searched on every page.
    pub(crate) content_security_policy: Option<Vec<String>>,
    pub(crate) mode_param: Option<String>,
    pub(crate) debug_param: Option<String>,
    pub(crate) crawlers_buffered: bool,
    pub(crate) render_mode_header: bool,
    pub(crate) external_runtime: bool,
}

/// The policy pages are sent with unless the engine is given another: the
/// strict, nonce-based policy the engine itself needs and nothing an
/// application would have to undo. Scripts run only from the page's own
/// origin or with the page's nonce (every script the engine writes carries
/// it), no plugins, no `<base>` that could re-point relative URLs.
///
/// Everything else (images, styles, frames, form targets) is the
/// application's to decide: give [`EngineBuilder::content_security_policy`]
/// a policy of your own, keeping `'nonce-{nonce}'` in its `script-src`.
///
/// ```
/// assert_eq!(
///     axum_suspense::DEFAULT_CONTENT_SECURITY_POLICY,
///     "script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'"
/// );
/// ```
pub const DEFAULT_CONTENT_SECURITY_POLICY: &str =
    "script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'";

/// Sets up an [`Engine`]; made by [`Engine::builder`]. Every setting has a
/// default safe for production, named in its method's last sentence.
///
/// ```
/// use axum_suspense::Engine;
///
/// let engine = Engine::builder()
///     .debug_param(Some("debug")) // `?debug=1` draws the timing overlay
///     .render_mode_header(true) // `x-render-mode: stream` on every page
///     .build();
/// # drop(engine);
/// ```
#[derive(Debug, Clone)]
#[must_use = "an engine is made by `build`"]
pub struct EngineBuilder {
    settings: Settings,
}

impl EngineBuilder {
    /// How long a boundary may wait for its data before its timeout content
    /// is shown (`None`: for ever), unless the boundary sets its own with
    /// [`BoundaryBuilder::timeout`](crate::BoundaryBuilder::timeout).
    /// Defaults to [`Engine::DEFAULT_BOUNDARY_TIMEOUT`] (30 seconds).
    pub fn boundary_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.boundary_timeout = timeout;
        self
    }

    /// How long a page may stream, counted from its start (for a page taken
    /// as a handler argument, the handler's start). When it passes, every
    /// boundary still pending shows its timeout content, as if each had
    /// timed out, and the page ends well-formed: React's `abort`.
    /// [`Page::set_deadline`] changes it for one page. Defaults to `None`
    /// (no deadline).
    pub fn page_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.settings.page_deadline = deadline;
        self
    }

    /// The `Content-Security-Policy` header of every page; each `{nonce}`
    /// in it is replaced by the page's nonce, which every inline script the
    /// engine writes carries. Keep `'nonce-{nonce}'` in `script-src`, or the
    /// engine's scripts will not run. `None` sends no policy (for an
    /// application that sets its own header, with [`Page::csp_nonce`]).
    /// Defaults to [`DEFAULT_CONTENT_SECURITY_POLICY`].
    pub fn content_security_policy(mut self, policy: Option<&str>) -> Self {
        self.settings.content_security_policy = policy.map(crate::response::split_policy);
        self
    }

    /// The query parameter a request names its [`RenderMode`](crate::RenderMode)
    /// with (`?render=in-order`), for a page taken as a handler argument.
    /// An unknown value is answered with `400 Bad Request`. `None`: requests
    /// cannot choose, and a browser without JavaScript is not sent to the
    /// in-order page (it needs this parameter). Defaults to `Some("render")`.
    pub fn mode_param(mut self, name: Option<&str>) -> Self {
        self.settings.mode_param = name.map(str::to_owned);
        self
    }

    /// The query parameter that turns on the timing overlay
    /// ([`Page::set_debug`]) for a page taken as a handler argument:
    /// `?NAME=1` or `?NAME=true`. The overlay is harmless (it shows timings
    /// the page already carries), but it is a tool for developers, so a
    /// production application should not offer it to every visitor unless
    /// it means to. Defaults to `None` (no query turns it on).
    pub fn debug_param(mut self, name: Option<&str>) -> Self {
        self.settings.debug_param = name.map(str::to_owned);
        self
    }

    /// Whether a well-known crawler or link unfurler (see
    /// [`is_crawler`](crate::is_crawler)) that names no mode gets its pages
    /// in [`RenderMode::Buffered`](crate::RenderMode::Buffered): one complete
    /// document without script, which every crawler can read. Defaults to
    /// `true`.
    pub fn buffer_for_crawlers(mut self, on: bool) -> Self {
        self.settings.crawlers_buffered = on;
        self
    }

    /// Whether every page names the mode it was sent in, in a
    /// [`RENDER_MODE_HEADER`](crate::RENDER_MODE_HEADER) response header
    /// (`x-render-mode: buffered`), for tests, tools and logs outside the
    /// application. Inside it, middleware reads the mode from the response's
    /// extensions (a [`RenderMode`](crate::RenderMode)) whatever this says.
    /// Defaults to `false`.
    pub fn render_mode_header(mut self, on: bool) -> Self {
        self.settings.render_mode_header = on;
        self
    }

    /// Whether pages for browsers that patch natively (see
    /// [`patches_natively`](crate::patches_natively)) link the runtime at
    /// [`runtime_path`](crate::runtime_path) instead of carrying it inline:
    /// it is then fetched once and cached, and those pages carry no inline
    /// script at all. Turn it on only if the application serves
    /// [`runtime_router`](crate::runtime_router). Other browsers always get
    /// it inline (they need it before any part can show). Defaults to
    /// `false`.
    pub fn external_runtime(mut self, on: bool) -> Self {
        self.settings.external_runtime = on;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                stats: Arc::default(),
                settings: self.settings,
                abort_all: CancellationToken::new(),
            }),
        }
    }
}

impl Engine {
    /// The time a boundary may take unless told otherwise: 30 seconds.
    pub const DEFAULT_BOUNDARY_TIMEOUT: Duration = Duration::from_secs(30);

    /// An engine with every default of [`EngineBuilder`].
    ///
    /// ```
    /// let engine = axum_suspense::Engine::new();
    /// let page = engine.page();
    /// assert_eq!(page.mode(), axum_suspense::RenderMode::Stream);
    /// ```
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Sets up an engine other than with the defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            settings: Settings {
                boundary_timeout: Some(Self::DEFAULT_BOUNDARY_TIMEOUT),
                page_deadline: None,
                content_security_policy: Some(crate::response::split_policy(
                    DEFAULT_CONTENT_SECURITY_POLICY,
                )),
                mode_param: Some("render".to_owned()),
                debug_param: None,
                crawlers_buffered: true,
                render_mode_header: false,
                external_runtime: false,
            },
        }
    }

    /// A new, empty page in [`RenderMode::Stream`](crate::RenderMode::Stream),
    /// for code that is not an axum handler (a handler takes [`Page`] as an
    /// argument instead, set up from its request).
    pub fn page(&self) -> Page {
        Page::new_on(self)
    }

    /// Ends every page of this engine now, those streaming and those still
    /// to come: each pending boundary shows its timeout content, as when a
    /// page's deadline passes, and each page ends well-formed as soon as
    /// that is sent. For shutdown, once in-flight pages have had their time
    /// (see the `graceful-shutdown` example).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use askama::Template;
    /// use axum_suspense::{Boundary, Engine, DEFAULT_TIMEOUT_HTML};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<body>{{ part }}</body>", ext = "html")]
    /// struct Shell { part: Boundary }
    /// #[derive(Template)]
    /// #[template(source = "<p>…</p>", ext = "html")]
    /// struct Waiting;
    ///
    /// let engine = Engine::new();
    /// let page = engine.page();
    /// let part = page.suspend(Waiting, std::future::pending::<Result<Waiting, String>>());
    /// let response = page.stream(Shell { part });
    /// engine.abort_all();
    /// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    /// let html = String::from_utf8(body.to_vec()).unwrap();
    /// assert!(html.contains(DEFAULT_TIMEOUT_HTML) && html.ends_with("</body>"));
    /// # });
    /// ```
    pub fn abort_all(&self) {
        self.inner.abort_all.cancel();
    }

    /// What this engine's pages are doing and have done.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}
