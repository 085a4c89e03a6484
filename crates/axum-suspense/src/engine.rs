//! [`Engine`]: the settings and statistics every page of an application
//! shares, and [`EngineBuilder`], which sets them.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::csp::{DEFAULT_CONTENT_SECURITY_POLICY, Policy};
use crate::stats::Stats;

/// The settings and statistics an application's pages share, and the switch
/// that ends them all at shutdown. Make one at startup, put it in the
/// application's state, and take each page from it: as a handler argument
/// ([`Page`](crate::Page) implements `FromRequestParts` for any state an `Engine` can be
/// taken from with `FromRef`), or with [`Engine::page`].
///
/// Cheap to clone: clones share everything.
///
/// ```
/// use std::time::Duration;
/// use axum_suspense::Engine;
///
/// let engine = Engine::builder()
///     .boundary_timeout(Duration::from_secs(5))
///     .page_deadline(Duration::from_secs(30))
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
    pub(crate) content_security_policy: Option<Policy>,
    pub(crate) mode_param: Option<String>,
    pub(crate) debug_param: Option<String>,
    pub(crate) crawlers_buffered: bool,
    pub(crate) render_mode_header: bool,
    pub(crate) external_runtime: bool,
    pub(crate) refuse_misplaced: bool,
}

/// Sets up an [`Engine`]; made by [`Engine::builder`]. Every setting has a
/// default safe for production, named in its method's last sentence.
///
/// ```
/// use axum_suspense::Engine;
///
/// let engine = Engine::builder()
///     .debug_param("debug") // `?debug=1` draws the timing overlay
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
    /// is shown, unless the boundary sets its own with
    /// [`BoundaryBuilder::timeout`](crate::BoundaryBuilder::timeout).
    /// Defaults to [`Engine::DEFAULT_BOUNDARY_TIMEOUT`] (30 seconds).
    pub fn boundary_timeout(mut self, timeout: Duration) -> Self {
        self.settings.boundary_timeout = Some(timeout);
        self
    }

    /// Lets boundaries wait for their data for ever, unless one sets its own
    /// timeout (a page deadline still ends them). Defaults to
    /// [`Engine::DEFAULT_BOUNDARY_TIMEOUT`] (30 seconds).
    pub fn no_boundary_timeout(mut self) -> Self {
        self.settings.boundary_timeout = None;
        self
    }

    /// How long a page may stream, counted from its start (for a page taken
    /// as a handler argument, the handler's start). When it passes, every
    /// boundary still pending shows its timeout content, as if each had
    /// timed out, and the page ends well-formed: React's `abort`.
    /// [`PageBuilder::deadline`](crate::PageBuilder::deadline) changes it
    /// for one page. Defaults to no deadline.
    pub fn page_deadline(mut self, deadline: Duration) -> Self {
        self.settings.page_deadline = Some(deadline);
        self
    }

    /// The `Content-Security-Policy` header of every page; each `{nonce}`
    /// in it is replaced by the page's nonce, which every inline script the
    /// engine writes carries. Keep `'nonce-{nonce}'` in `script-src`, or the
    /// engine's scripts will not run. Defaults to
    /// [`DEFAULT_CONTENT_SECURITY_POLICY`].
    pub fn content_security_policy(mut self, policy: &str) -> Self {
        self.settings.content_security_policy = Some(Policy::new(policy));
        self
    }

    /// Sends no `Content-Security-Policy` header, for an application that
    /// sets its own (with [`Page::csp_nonce`](crate::Page::csp_nonce) in it). Defaults to
    /// [`DEFAULT_CONTENT_SECURITY_POLICY`].
    pub fn no_content_security_policy(mut self) -> Self {
        self.settings.content_security_policy = None;
        self
    }

    /// The query parameter a request names its [`RenderMode`](crate::RenderMode)
    /// with (`?render=in-order`), for a page taken as a handler argument.
    /// An unknown value is answered with `400 Bad Request`. Defaults to
    /// `"render"`.
    pub fn mode_param(mut self, name: &str) -> Self {
        self.settings.mode_param = Some(name.to_owned());
        self
    }

    /// Lets no request choose its mode; a browser without JavaScript is then
    /// not sent to the in-order page (it needs the parameter). Defaults to
    /// the parameter `"render"`.
    pub fn no_mode_param(mut self) -> Self {
        self.settings.mode_param = None;
        self
    }

    /// The query parameter that turns on the timing overlay
    /// ([`PageBuilder::debug`](crate::PageBuilder::debug)) for a page taken
    /// as a handler argument: `?NAME=1` or `?NAME=true`. The overlay is
    /// harmless (it shows timings the page already carries), but it is a
    /// tool for developers, so a production application should not offer it
    /// to every visitor unless it means to. Defaults to none (no query turns
    /// it on).
    pub fn debug_param(mut self, name: &str) -> Self {
        self.settings.debug_param = Some(name.to_owned());
        self
    }

    /// Whether a well-known crawler or link unfurler (see
    /// [`is_crawler`](crate::crawlers::is_crawler)) that names no mode gets
    /// its pages in [`RenderMode::Buffered`](crate::RenderMode::Buffered):
    /// one complete document without script, which every crawler can read.
    /// Defaults to `true`.
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
    /// [`patches_natively`](crate::client::patches_natively)) link the
    /// runtime at [`runtime_path`](crate::client::runtime_path) instead of
    /// carrying it inline: it is then fetched once and cached, and those
    /// pages carry no inline script at all. Turn it on only if the
    /// application serves [`runtime_router`](crate::client::runtime_router).
    /// Other browsers always get it inline (they need it before any part can
    /// show). Defaults to `false`.
    pub fn external_runtime(mut self, on: bool) -> Self {
        self.settings.external_runtime = on;
        self
    }

    /// Whether a boundary placed where it cannot stream (inside a tag, an
    /// attribute value, a comment, a raw-text element such as `<title>` or
    /// `<textarea>`, a `<template>` or the `<head>`), rendered twice, or
    /// given to a template that never renders it, refuses the page: the
    /// render panics with a message that names the boundary, says where it
    /// was and (for a misplaced one) quotes the text around it, so the shell
    /// is answered with a `500` (a part shows its error content, made from a
    /// [`MisplacedBoundary`](crate::error::MisplacedBoundary) error). Off, each such boundary is
    /// logged as an error and left out of the page, which is otherwise
    /// whole. Defaults to `true` in debug builds (`debug_assertions`) and
    /// `false` in release builds.
    pub fn refuse_misplaced(mut self, on: bool) -> Self {
        self.settings.refuse_misplaced = on;
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
                content_security_policy: Some(Policy::new(DEFAULT_CONTENT_SECURITY_POLICY)),
                mode_param: Some("render".to_owned()),
                debug_param: None,
                crawlers_buffered: true,
                render_mode_header: false,
                external_runtime: false,
                refuse_misplaced: cfg!(debug_assertions),
            },
        }
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
    /// use axum_suspense::{Boundary, Engine, Text, error::DEFAULT_TIMEOUT_HTML};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<body>{{ part }}</body>", ext = "html")]
    /// struct Shell { part: Boundary }
    ///
    /// let engine = Engine::new();
    /// let page = engine.page();
    /// let part = page.suspend(Text::new("…"), std::future::pending::<Text>());
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
