//! Suspense boundaries: the handle a template renders as a placeholder, and
//! the future that renders the boundary's real content.

use std::fmt::{self, Display};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use askama::Template;
use futures::FutureExt;
use futures::future::{AbortHandle, Abortable};
use tokio_util::sync::CancellationToken;

use crate::mode::RenderMode;
use crate::page::{Page, PageShared, Task};
use crate::placement;
use crate::stats::{Gauge, LiveGuard, Outcome};
use crate::wire;

/// Shown in place of a boundary whose future failed or panicked, unless the
/// boundary sets its own with [`BoundaryBuilder::on_error`].
pub const DEFAULT_ERROR_HTML: &str =
    r#"<p class="suspense-error" role="alert">This part of the page could not be loaded.</p>"#;

/// Shown in place of a boundary that timed out, unless the boundary sets its
/// own with [`BoundaryBuilder::on_timeout`] or [`BoundaryBuilder::on_error`].
pub const DEFAULT_TIMEOUT_HTML: &str =
    r#"<p class="suspense-error" role="alert">This part of the page took too long to load.</p>"#;

/// A pending part of a page. Put it in a template (`{{ comments }}`): it
/// renders as its fallback inside a placeholder, and the engine streams the
/// real content into place when it is ready.
///
/// Its fallback and its content must be HTML that is valid where the
/// boundary is placed: rows in a `<tbody>`, items in a `<ul>`. The browser's
/// parser moves misplaced content (an `<em>` straight in a `<tbody>`) out of
/// the boundary's markers, where no swap reaches it.
///
/// Render each boundary once. Rendered a second time, or outside the page's
/// shell and boundaries, it writes only its fallback, which stays. A
/// boundary dropped without being rendered is cancelled.
pub struct Boundary {
    id: u32,
    fallback: String,
    /// Set once the placeholder has been written; until then, dropping the
    /// handle cancels the boundary.
    placed: AtomicBool,
    page: Arc<PageShared>,
    abort: AbortHandle,
}

impl fmt::Debug for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Boundary")
            .field("id", &self.id)
            .field("placed", &self.placed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = !self.placed.swap(true, Ordering::AcqRel);
        if first && placement::place(self.page.key(), self.id) {
            match self.page.mode() {
                RenderMode::Stream => wire::write_placeholder(f, self.id, &self.fallback),
                // Replaced by the content before it leaves the server.
                RenderMode::InOrder | RenderMode::Buffered => {
                    wire::write_marker(f, self.page.nonce, self.id)
                }
            }
        } else {
            if first {
                // Not rendered by this page's engine: nothing will swap it.
                self.placed.store(false, Ordering::Release);
                tracing::warn!(
                    boundary = self.id,
                    "boundary rendered outside its page's shell or boundaries; only its fallback is shown"
                );
            }
            f.write_str(&self.fallback)
        }
    }
}

/// The placeholder is markup the engine wrote from escaped parts: askama must
/// not escape it again.
impl askama::filters::HtmlSafe for Boundary {}

impl Drop for Boundary {
    fn drop(&mut self) {
        if !self.placed.load(Ordering::Acquire) {
            self.abort.abort();
            self.page.orphan(self.id);
        }
    }
}

/// Sets a boundary's options before its future is given. Made by
/// [`Page::boundary`].
#[must_use = "a boundary is created only by `suspend`"]
pub struct BoundaryBuilder<'p> {
    page: &'p Page,
    fallback: String,
    timeout: Option<Duration>,
    on_error: Option<String>,
    on_timeout: Option<String>,
}

impl Page {
    /// Creates a boundary that shows `fallback` until `future` produces its
    /// content. The future is first polled right after the shell has been
    /// handed to the connection (a boundary created inside another's future:
    /// as soon as it is created), runs while the page streams, and is dropped
    /// if the client goes away. An `Err`, a panic or the engine's boundary
    /// timeout shows the default error content in its place.
    pub fn suspend<F, T, E>(&self, fallback: impl Template, future: F) -> Boundary
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Template + Send + 'static,
        E: Display + Send + 'static,
    {
        self.boundary(fallback).suspend(future)
    }

    /// Starts a boundary with options; finish it with
    /// [`BoundaryBuilder::suspend`].
    pub fn boundary(&self, fallback: impl Template) -> BoundaryBuilder<'_> {
        BoundaryBuilder {
            page: self,
            fallback: render_or_log(&fallback, "fallback"),
            timeout: self.shared.engine.boundary_timeout(),
            on_error: None,
            on_timeout: None,
        }
    }
}

impl BoundaryBuilder<'_> {
    /// How long the future may take before the timeout content is shown.
    /// Defaults to the engine's boundary timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Lets the future take as long as it takes. Defaults to the engine's
    /// boundary timeout.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// What to show if the future fails, panics or (unless
    /// [`on_timeout`](Self::on_timeout) is set) times out. Defaults to
    /// [`DEFAULT_ERROR_HTML`].
    pub fn on_error(mut self, content: impl Template) -> Self {
        self.on_error = Some(render_or_log(&content, "error content"));
        self
    }

    /// What to show if the future times out. Defaults to the
    /// [`on_error`](Self::on_error) content if set, else
    /// [`DEFAULT_TIMEOUT_HTML`].
    pub fn on_timeout(mut self, content: impl Template) -> Self {
        self.on_timeout = Some(render_or_log(&content, "timeout content"));
        self
    }

    /// Creates the boundary; see [`Page::suspend`].
    pub fn suspend<F, T, E>(self, future: F) -> Boundary
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Template + Send + 'static,
        E: Display + Send + 'static,
    {
        let shared = &self.page.shared;
        let id = shared.next_id();
        let failure = FailureContent {
            error: self.on_error,
            timeout: self.on_timeout,
        };
        let live = LiveGuard::new(shared.engine.stats_arc().clone(), Gauge::Boundaries);
        let key = shared.key();
        let started = shared.started;
        let timeout = self.timeout;
        let aborted = shared.aborted.clone();
        let created = tokio::time::Instant::now();
        let run = async move {
            let mut resolved = resolve(id, key, future, timeout, aborted, failure).await;
            resolved.at = started.elapsed();
            live.stats().record(resolved.outcome);
            tracing::debug!(
                boundary = id,
                outcome = resolved.outcome.as_str(),
                ms = created.elapsed().as_secs_f64() * 1000.0,
                "boundary ended"
            );
            resolved
        };
        let (abort, registration) = AbortHandle::new_pair();
        shared.register(Task {
            id,
            future: Abortable::new(run.boxed(), registration),
            abort: abort.clone(),
        });
        Boundary {
            id,
            fallback: self.fallback,
            placed: AtomicBool::new(false),
            page: shared.clone(),
            abort,
        }
    }
}

/// A boundary's final HTML, ready for the wire.
pub(crate) struct Resolved {
    pub(crate) id: u32,
    pub(crate) html: String,
    /// Boundaries whose placeholders are in `html`, in document order.
    pub(crate) children: Vec<u32>,
    /// Boundaries placed by a render that then failed: their placeholders
    /// never reach the page.
    pub(crate) discarded: Vec<u32>,
    pub(crate) outcome: Outcome,
    /// When its content (or failure content) was ready, counted from the
    /// page's start; the client runtime records it beside the reveal time.
    pub(crate) at: Duration,
}

/// A boundary's own failure content, if it set any.
struct FailureContent {
    error: Option<String>,
    timeout: Option<String>,
}

impl FailureContent {
    fn error(self) -> String {
        self.error.unwrap_or_else(|| DEFAULT_ERROR_HTML.to_owned())
    }

    /// The timeout content falls back to the error content, then the default.
    fn timeout(self) -> String {
        self.timeout
            .or(self.error)
            .unwrap_or_else(|| DEFAULT_TIMEOUT_HTML.to_owned())
    }
}

/// Why a template produced no HTML.
#[derive(Debug)]
pub(crate) enum RenderFailure {
    Error(askama::Error),
    Panicked(String),
}

impl RenderFailure {
    fn outcome(&self) -> Outcome {
        match self {
            RenderFailure::Error(_) => Outcome::Failed,
            RenderFailure::Panicked(_) => Outcome::Panicked,
        }
    }
}

impl Display for RenderFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderFailure::Error(error) => write!(f, "render error: {error}"),
            RenderFailure::Panicked(message) => write!(f, "panicked while rendering: {message}"),
        }
    }
}

/// Renders `template` for page `page_key` with a panic caught, and tells
/// which of the page's boundaries it placed (the shell's, or a parent's
/// children).
pub(crate) fn render_placing<T: Template>(
    page_key: usize,
    template: &T,
) -> (Result<String, RenderFailure>, Vec<u32>) {
    let (rendered, placed) = placement::render_scoped(page_key, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| render_sized(template)))
    });
    let rendered = match rendered {
        Ok(Ok(html)) => Ok(html),
        Ok(Err(error)) => Err(RenderFailure::Error(error)),
        Err(panic) => Err(RenderFailure::Panicked(panic_message(&*panic).to_owned())),
    };
    (rendered, placed)
}

async fn resolve<F, T, E>(
    id: u32,
    page_key: usize,
    future: F,
    timeout: Option<Duration>,
    aborted: CancellationToken,
    failure_content: FailureContent,
) -> Resolved
where
    F: Future<Output = Result<T, E>>,
    T: Template,
    E: Display,
{
    let caught = AssertUnwindSafe(future).catch_unwind();
    let limited = async {
        match timeout {
            Some(limit) => tokio::time::timeout(limit, caught).await.ok(),
            None => Some(caught.await),
        }
    };
    let finished = tokio::select! {
        // Data that is ready wins over an abort in the same poll.
        biased;
        finished = limited => finished,
        () = aborted.cancelled() => {
            tracing::debug!(boundary = id, "page aborted (deadline or shutdown); timeout content shown");
            return failed_with(id, Outcome::TimedOut, failure_content.timeout(), Vec::new());
        }
    };
    let failed = |outcome, html, discarded| failed_with(id, outcome, html, discarded);
    match finished {
        Some(Ok(Ok(content))) => {
            let (rendered, placed) = render_placing(page_key, &content);
            // Dropping the content drops the handles it rendered; they stay alive.
            drop(content);
            match rendered {
                Ok(html) => Resolved {
                    id,
                    html,
                    children: placed,
                    discarded: Vec::new(),
                    outcome: Outcome::Resolved,
                    at: Duration::ZERO,
                },
                Err(failure) => {
                    tracing::warn!(boundary = id, %failure, "boundary content failed to render");
                    failed(failure.outcome(), failure_content.error(), placed)
                }
            }
        }
        Some(Ok(Err(error))) => {
            tracing::warn!(boundary = id, %error, "boundary failed");
            failed(Outcome::Failed, failure_content.error(), Vec::new())
        }
        Some(Err(panic)) => {
            let message = panic_message(&*panic);
            tracing::error!(boundary = id, panic = message, "boundary panicked");
            failed(Outcome::Panicked, failure_content.error(), Vec::new())
        }
        None => {
            tracing::warn!(boundary = id, ?timeout, "boundary timed out");
            failed(Outcome::TimedOut, failure_content.timeout(), Vec::new())
        }
    }
}

/// A boundary that shows failure content.
fn failed_with(id: u32, outcome: Outcome, html: String, discarded: Vec<u32>) -> Resolved {
    Resolved {
        id,
        html,
        children: Vec::new(),
        discarded,
        outcome,
        at: Duration::ZERO,
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// Renders into a buffer of at least 2 KiB: askama's size hint only counts
/// a template's literal text, so a fragment with a loop would otherwise grow
/// its buffer by doubling a handful of times.
pub(crate) fn render_sized<T: Template>(template: &T) -> askama::Result<String> {
    const MIN_CAPACITY: usize = 2048;
    let mut html = String::with_capacity(T::SIZE_HINT.max(MIN_CAPACITY));
    template.render_into(&mut html)?;
    Ok(html)
}

/// Renders a template that is shown as is (fallback, error content). A
/// failure leaves it empty and is logged: there is no better place for it.
fn render_or_log(template: &impl Template, what: &str) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(%error, "boundary {what} failed to render; left empty");
        String::new()
    })
}
