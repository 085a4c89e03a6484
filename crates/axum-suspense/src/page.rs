//! [`Engine`] and [`Page`]: where boundaries are created and a page becomes a
//! streamed response.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::task::AtomicWaker;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::body::PageBody;
use crate::boundary::{Resolved, render_placing};
use crate::extract::in_order_url;
use crate::mode::RenderMode;
use crate::stats::Stats;
use crate::wire;

/// The response header that names the mode a page was sent in.
pub const RENDER_MODE_HEADER: &str = "x-render-mode";

/// Shared settings and statistics for the pages it makes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

#[derive(Debug)]
struct EngineInner {
    stats: Arc<Stats>,
    /// How long a boundary may take before its timeout content is shown,
    /// unless the boundary sets its own.
    boundary_timeout: Option<Duration>,
    /// How long a page may stream before every boundary still pending is
    /// ended with its timeout content.
    page_deadline: Option<Duration>,
    /// The Content-Security-Policy sent with every page, `{nonce}` standing
    /// for the page's nonce.
    content_security_policy: Option<String>,
    /// Cancelled by [`Engine::abort_all`]; every page's own token is a child.
    abort_all: CancellationToken,
}

/// The policy pages are sent with unless the engine is given another: only
/// the page's own origin, and inline scripts and styles only with the
/// page's nonce (the engine's scripts carry it). No plugins, no `<base>`,
/// forms post to the same origin, and only the same origin may frame it.
pub const DEFAULT_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'self'";

/// Sets up an [`Engine`]; made by [`Engine::builder`].
#[derive(Debug, Clone)]
#[must_use = "an engine is made by `build`"]
pub struct EngineBuilder {
    boundary_timeout: Option<Duration>,
    page_deadline: Option<Duration>,
    content_security_policy: Option<String>,
}

impl EngineBuilder {
    /// How long a boundary may wait for its data before its timeout content
    /// is shown (`None`: for ever), unless the boundary sets its own.
    /// Default: [`Engine::DEFAULT_BOUNDARY_TIMEOUT`].
    pub fn boundary_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.boundary_timeout = timeout;
        self
    }

    /// How long a page may stream, counted from its start (for a page taken
    /// as a handler argument, the handler's start). When it passes, every
    /// boundary still pending shows its timeout content, as if each had
    /// timed out, and the page ends well-formed: React's `abort`. Default:
    /// none. [`Page::set_deadline`] sets it per page.
    pub fn page_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.page_deadline = deadline;
        self
    }

    /// The `Content-Security-Policy` header of every page; each `{nonce}`
    /// in it is replaced by the page's nonce, which every inline script the
    /// engine writes carries. `None` sends no policy. Default:
    /// [`DEFAULT_CONTENT_SECURITY_POLICY`].
    pub fn content_security_policy(mut self, policy: Option<&str>) -> Self {
        self.content_security_policy = policy.map(str::to_owned);
        self
    }

    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                stats: Arc::default(),
                boundary_timeout: self.boundary_timeout,
                page_deadline: self.page_deadline,
                content_security_policy: self.content_security_policy,
                abort_all: CancellationToken::new(),
            }),
        }
    }
}

impl Engine {
    /// The default time a boundary may take: 30 seconds.
    pub const DEFAULT_BOUNDARY_TIMEOUT: Duration = Duration::from_secs(30);

    /// An engine with the defaults: boundaries time out after
    /// [`DEFAULT_BOUNDARY_TIMEOUT`](Self::DEFAULT_BOUNDARY_TIMEOUT), pages
    /// have no deadline, and go out with
    /// [`DEFAULT_CONTENT_SECURITY_POLICY`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Sets up an engine other than with the defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            boundary_timeout: Some(Self::DEFAULT_BOUNDARY_TIMEOUT),
            page_deadline: None,
            content_security_policy: Some(DEFAULT_CONTENT_SECURITY_POLICY.to_owned()),
        }
    }

    /// An engine whose boundaries time out after `timeout` (`None`: never)
    /// unless a boundary sets its own; otherwise the defaults.
    pub fn with_boundary_timeout(timeout: Option<Duration>) -> Self {
        Self::builder().boundary_timeout(timeout).build()
    }

    /// The engine [`Page::new`] uses.
    pub fn global() -> &'static Engine {
        static GLOBAL: OnceLock<Engine> = OnceLock::new();
        GLOBAL.get_or_init(Engine::new)
    }

    /// A new, empty page.
    pub fn page(&self) -> Page {
        let secret = wire::page_secret();
        Page {
            shared: Arc::new(PageShared {
                engine: self.clone(),
                state: Mutex::new(PageState {
                    deadline: self.inner.page_deadline,
                    ..PageState::default()
                }),
                next_id: AtomicU32::new(0),
                waker: AtomicWaker::new(),
                started: Instant::now(),
                debug: AtomicBool::new(false),
                mode: AtomicU8::new(RenderMode::Stream as u8),
                nonce: wire::marker_nonce(&secret),
                secret,
                aborted: self.inner.abort_all.child_token(),
            }),
        }
    }

    /// Ends every page of this engine now, those streaming and those still
    /// to come: each pending boundary shows its timeout content, as when a
    /// page's deadline passes, and each page ends well-formed as soon as
    /// that is sent. For shutdown, once in-flight pages have had their time.
    pub fn abort_all(&self) {
        self.inner.abort_all.cancel();
    }

    /// What this engine's pages are doing and have done.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Adds this engine's statistics to `registry`, under `suspense_`:
    ///
    /// - `active_streams`, `pending_boundaries` (gauges);
    /// - `boundaries_total{outcome="resolved|failed|panicked|timed_out"}`;
    /// - `client_disconnects_total`: pages whose client left before the end;
    /// - `time_to_shell_seconds`, `time_to_fragment_seconds` (histograms,
    ///   from the page's start).
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.inner.stats.register(registry);
    }

    pub(crate) fn stats_arc(&self) -> &Arc<Stats> {
        &self.inner.stats
    }

    pub(crate) fn boundary_timeout(&self) -> Option<Duration> {
        self.inner.boundary_timeout
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// One page being built: create its boundaries with [`suspend`](Page::suspend)
/// (also from inside another boundary's future, to nest them), then turn it
/// into a response with [`stream`](Page::stream). Cheap to clone; clones are
/// the same page.
#[derive(Clone, Debug)]
pub struct Page {
    pub(crate) shared: Arc<PageShared>,
}

/// What a page's handles (`Page`, `Boundary`) share with its body stream.
#[derive(Debug)]
pub(crate) struct PageShared {
    pub(crate) engine: Engine,
    /// A std Mutex, not a tokio one: it is held only to move a few items in
    /// or out, never across an await, and never while user code runs.
    state: Mutex<PageState>,
    /// The id of the next boundary: ids are dense per page (the body stream
    /// indexes its slots by them).
    next_id: AtomicU32,
    /// The body stream's waker, so a boundary created or orphaned outside
    /// the stream's own poll still gets noticed.
    waker: AtomicWaker,
    /// When the page was made (for a page taken from a request: when its
    /// handler started). Boundaries' resolution times count from here.
    pub(crate) started: Instant,
    /// Send the timing overlay with the page.
    debug: AtomicBool,
    /// A [`RenderMode`] as its discriminant.
    mode: AtomicU8,
    /// Makes this page's in-order and buffered markers its own (see
    /// `wire::write_marker`).
    pub(crate) nonce: u64,
    /// The page's random secret, whose base64 is its CSP nonce.
    secret: [u8; 16],
    /// Cancelled when the page is aborted ([`Page::abort`], its deadline,
    /// [`Engine::abort_all`]): every pending boundary then ends with its
    /// timeout content.
    pub(crate) aborted: CancellationToken,
}

#[derive(Default)]
struct PageState {
    /// Boundaries created but not yet taken over by the body stream.
    queued: Vec<Task>,
    /// Boundaries taken over by the stream whose handle was dropped without
    /// being rendered: nothing will ever show them, so the stream stops
    /// waiting for them.
    orphans: Vec<u32>,
    /// The body is gone (or was never made): new boundaries are dropped.
    closed: bool,
    /// How long the page may stream, from `started`.
    deadline: Option<Duration>,
    /// Where a browser without JavaScript goes for the in-order page. Taken
    /// when the page is streamed: a clone of the request's URI shares the
    /// request's read buffer, which must not live as long as the stream.
    request_uri: Option<Uri>,
}

impl std::fmt::Debug for PageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageState")
            .field("queued", &self.queued.len())
            .field("orphans", &self.orphans)
            .field("closed", &self.closed)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// A boundary's future, wrapped so it renders its own content (or failure
/// content) and can be aborted from its handle.
pub(crate) struct Task {
    pub(crate) id: u32,
    pub(crate) future: Abortable<BoxFuture<'static, Resolved>>,
    pub(crate) abort: AbortHandle,
}

impl PageShared {
    /// Identifies this page in render scopes.
    pub(crate) fn key(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    fn lock(&self) -> MutexGuard<'_, PageState> {
        // A poisoned lock means a panic while moving items in or out; the
        // state is still consistent (each step is a push or a take).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn mode(&self) -> RenderMode {
        match self.mode.load(Ordering::Relaxed) {
            m if m == RenderMode::InOrder as u8 => RenderMode::InOrder,
            m if m == RenderMode::Buffered as u8 => RenderMode::Buffered,
            _ => RenderMode::Stream,
        }
    }

    /// When the page must end, if ever.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.lock().deadline.map(|after| self.started + after)
    }

    pub(crate) fn next_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register(&self, task: Task) {
        let mut state = self.lock();
        if state.closed {
            drop(state);
            // Dropped outside the lock: dropping a future may drop handles
            // that lock this page again.
            drop(task);
            return;
        }
        state.queued.push(task);
        drop(state);
        self.waker.wake();
    }

    /// A handle was dropped without ever being rendered.
    pub(crate) fn orphan(&self, id: u32) {
        let mut state = self.lock();
        let unqueued = state
            .queued
            .iter()
            .position(|t| t.id == id)
            .map(|at| state.queued.swap_remove(at));
        if unqueued.is_none() && !state.closed {
            state.orphans.push(id);
        }
        drop(state);
        drop(unqueued);
        self.waker.wake();
    }

    /// Hands the stream what happened since it last looked. Registers the
    /// stream's waker first, so nothing that happens after is missed.
    pub(crate) fn take_updates(&self, waker: &std::task::Waker) -> (Vec<Task>, Vec<u32>) {
        self.waker.register(waker);
        let mut state = self.lock();
        (
            std::mem::take(&mut state.queued),
            std::mem::take(&mut state.orphans),
        )
    }

    /// No stream will ever take these boundaries: drop them all.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let queued = std::mem::take(&mut state.queued);
        state.orphans.clear();
        drop(state);
        drop(queued);
    }
}

impl Page {
    /// A new page on the [global engine](Engine::global).
    pub fn new() -> Self {
        Engine::global().page()
    }

    /// Sends the timing overlay with this page (or not): a small panel that
    /// draws, for each boundary, when its fallback showed, when its content
    /// was revealed and when its data resolved on the server. A page taken
    /// as a handler argument turns it on by itself for `?debug=1`.
    pub fn set_debug(&self, on: bool) {
        self.shared.debug.store(on, Ordering::Relaxed);
    }

    /// Whether this page is sent with the timing overlay.
    pub fn debug(&self) -> bool {
        self.shared.debug.load(Ordering::Relaxed)
    }

    /// Chooses how the page is sent (default: [`RenderMode::Stream`]). Set it
    /// before the shell or any boundary is rendered, that is before
    /// [`stream`](Self::stream). A page taken as a handler argument has it
    /// set from `?render=` and the user agent already.
    pub fn set_mode(&self, mode: RenderMode) {
        self.shared.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// How the page will be sent.
    pub fn mode(&self) -> RenderMode {
        self.shared.mode()
    }

    /// The URI this page answers (a `GET`). In stream mode, a browser with
    /// JavaScript off is sent to the same URI with `render=in-order` (a
    /// `<noscript>` refresh in the `<head>`), if the page has pending
    /// boundaries. Set by the handler-argument extractor; the first value
    /// set stays.
    pub fn set_request_uri(&self, uri: Uri) {
        self.shared.lock().request_uri.get_or_insert(uri);
    }

    /// How long this page may stream, counted from its start (`None`: no
    /// limit); see [`EngineBuilder::page_deadline`], whose value a page
    /// starts with. Set it before [`stream`](Self::stream).
    pub fn set_deadline(&self, deadline: Option<Duration>) {
        self.shared.lock().deadline = deadline;
    }

    /// Ends the page now: every boundary still pending, and any created
    /// later, shows its timeout content, and the page ends well-formed as
    /// soon as that is sent. React's `abort`.
    pub fn abort(&self) {
        self.shared.aborted.cancel();
    }

    /// The page's Content-Security-Policy nonce: every inline script the
    /// engine writes carries it. An application's own inline scripts and
    /// styles in the shell can carry it too (`nonce="{{ nonce }}"`).
    pub fn csp_nonce(&self) -> String {
        wire::csp_nonce(&self.shared.secret)
    }

    /// Renders `shell` and answers `200 OK` with a streamed body: the shell
    /// with every fallback at once, then each boundary's content as it
    /// resolves. See [`stream_with_status`](Self::stream_with_status).
    pub fn stream<S: Template>(self, shell: S) -> Response {
        self.stream_with_status(StatusCode::OK, shell)
    }

    /// Renders `shell` and answers with `status` and a streamed body.
    ///
    /// The shell is rendered here, before the response exists, so a shell
    /// that fails to render is a plain `500` and never a torn page.
    pub fn stream_with_status<S: Template>(self, status: StatusCode, shell: S) -> Response {
        let (rendered, placed) = render_placing(self.shared.key(), &shell);
        // The shell's handles are dropped here; those it placed stay alive.
        drop(shell);
        let html = match rendered {
            Ok(html) => html,
            Err(failure) => {
                tracing::error!(%failure, "page shell failed to render");
                self.shared.close();
                return shell_error();
            }
        };
        let mode = self.mode();
        let nonce = self.csp_nonce();
        let policy = self.shared.engine.inner.content_security_policy.as_deref();
        let policy = policy.and_then(|policy| {
            let mut value = String::with_capacity(policy.len() + 2 * nonce.len());
            let mut parts = policy.split("{nonce}");
            value.push_str(parts.next().unwrap_or(""));
            for part in parts {
                value.push_str(&nonce);
                value.push_str(part);
            }
            // One allocation, handed over without a copy.
            HeaderValue::try_from(value).ok()
        });
        let body = match mode {
            RenderMode::Stream => {
                let (mut head, tail) = wire::split_shell(html);
                // Only now, and only when something is pending: most
                // responses never need the URL.
                let uri = self.shared.lock().request_uri.take();
                if !placed.is_empty()
                    && let Some(uri) = uri
                {
                    let url = in_order_url(uri.path(), uri.query());
                    wire::insert_no_script_refresh(&mut head, &url);
                }
                if self.debug() {
                    // Right after the shell: it runs while the page is still
                    // loading, when every first-level fallback is in the
                    // document.
                    wire::push_overlay(&mut head, &nonce);
                }
                PageBody::new(self.shared, head, tail, placed, nonce)
            }
            RenderMode::InOrder | RenderMode::Buffered => {
                PageBody::in_document_order(self.shared, html, mode == RenderMode::Buffered)
            }
        };
        let mut response = Response::new(Body::from_stream(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // nginx (and other proxies that honour it) pass the stream through
        // instead of buffering it.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        // A dynamic page: browsers revalidate, shared caches do not store,
        // and no proxy may rewrite (and so buffer) it.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache, no-transform"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(RENDER_MODE_HEADER, HeaderValue::from_static(mode.as_str()));
        if let Some(policy) = policy {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        response
    }
}

/// Holds a buffered page back until it is whole, then answers with all of it
/// at once and a `Content-Length`: the headers too wait for the slowest
/// data, as a classic server-rendered page does, and a crawler reads one
/// plain response. Other responses pass untouched. Use it as
/// `router.layer(axum::middleware::map_response(whole_when_buffered))`.
///
/// A client that leaves while the page is held drops it, and its boundaries
/// with it, as in the other modes.
pub async fn whole_when_buffered(response: Response) -> Response {
    let buffered = response
        .headers()
        .get(RENDER_MODE_HEADER)
        .is_some_and(|mode| mode == RenderMode::Buffered.as_str());
    if !buffered {
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        // hyper sets Content-Length for a body of known size.
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
        Err(error) => {
            tracing::error!(%error, "buffered page body failed");
            shell_error()
        }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::new()
    }
}

fn shell_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "internal error: the page could not be rendered\n",
    )
        .into_response()
}
