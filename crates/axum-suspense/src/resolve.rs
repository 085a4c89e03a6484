//! A boundary's future, run to its final HTML: its content rendered, with
//! errors and panics contained (the body puts in the error content); and the
//! render of a template with the boundaries it placed. Timeouts and aborts
//! are the body's (`body.rs`).

use std::fmt::{self, Display};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use askama::Template;
use futures::FutureExt;
use futures::future::{AbortHandle, Abortable, CatchUnwind};

use crate::placement;
use crate::shared::{PageShared, Task};
use crate::stats::{Gauge, LiveGuard, Outcome};

/// Shown in place of a boundary whose future failed or panicked, unless the
/// boundary sets its own with [`BoundaryBuilder::on_error`](crate::BoundaryBuilder::on_error).
pub const DEFAULT_ERROR_HTML: &str =
    r#"<p class="suspense-error" role="alert">This part of the page could not be loaded.</p>"#;

/// Shown in place of a boundary that timed out, unless the boundary sets its
/// own with [`BoundaryBuilder::on_timeout`](crate::BoundaryBuilder::on_timeout) or [`BoundaryBuilder::on_error`](crate::BoundaryBuilder::on_error).
pub const DEFAULT_TIMEOUT_HTML: &str =
    r#"<p class="suspense-error" role="alert">This part of the page took too long to load.</p>"#;

/// A boundary's future as the page's body runs it: resolved to its final
/// HTML, counted in the engine's statistics while it lives, logged when it
/// ends, and abortable from its handle. Its timeout and the page's abort
/// are the body's (`body.rs`: one timer and one listener per page, not one
/// per boundary), and so is the failure content it shows then.
pub(crate) fn task<F, T, E>(
    shared: &std::sync::Arc<PageShared>,
    id: u32,
    future: F,
    timeout: Option<Duration>,
    failure: FailureContent,
) -> Task
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Template + Send + 'static,
    E: Display + Send + 'static,
{
    let run = Resolving {
        inner: AssertUnwindSafe(future).catch_unwind(),
        end: Some(End {
            id,
            page_key: shared.key(),
            started: shared.started,
            live: LiveGuard::new(shared.engine.inner.stats.clone(), Gauge::Boundaries),
        }),
    };
    let (abort, registration) = AbortHandle::new_pair();
    Task {
        id,
        future: Abortable::new(run.boxed(), registration),
        abort,
        timeout,
        failure,
    }
}

pin_project_lite::pin_project! {
    /// The part's future with its panics caught, by hand rather than with
    /// `async`, which kept the part's future twice over in its state.
    struct Resolving<F> {
        #[pin]
        inner: CatchUnwind<AssertUnwindSafe<F>>,
        end: Option<End>,
    }
}

/// What a boundary's end needs besides how it ended.
struct End {
    id: u32,
    page_key: usize,
    started: tokio::time::Instant,
    live: LiveGuard,
}

impl<F, T, E> Future for Resolving<F>
where
    F: Future<Output = Result<T, E>>,
    T: Template,
    E: Display,
{
    type Output = Resolved;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Resolved> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let end = this.end.take().expect("polled after it ended");
        let mut resolved = end.resolve(result);
        resolved.at = end.started.elapsed();
        end.live.stats().record(resolved.outcome);
        tracing::debug!(
            boundary = end.id,
            outcome = resolved.outcome.as_str(),
            // From the page's start, as the wire tells the client.
            at_ms = resolved.at.as_secs_f64() * 1000.0,
            "boundary ended"
        );
        Poll::Ready(resolved)
    }
}

/// A boundary's final HTML, ready for the wire.
pub(crate) struct Resolved {
    pub(crate) id: u32,
    /// Its content; empty for a boundary that failed or panicked, whose
    /// error content the body puts in (it holds the boundary's own).
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

/// A boundary's own failure content, if it set any (the default: none, so
/// the engine's defaults).
#[derive(Default)]
pub(crate) struct FailureContent {
    pub(crate) error: Option<String>,
    pub(crate) timeout: Option<String>,
}

impl FailureContent {
    pub(crate) fn error(self) -> String {
        self.error.unwrap_or_else(|| DEFAULT_ERROR_HTML.to_owned())
    }

    /// The timeout content falls back to the error content, then the default.
    pub(crate) fn timeout(self) -> String {
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

impl End {
    /// The boundary's final HTML, for how its future ended.
    fn resolve<T: Template, E: Display>(
        &self,
        ended: std::thread::Result<Result<T, E>>,
    ) -> Resolved {
        let id = self.id;
        match ended {
            Ok(Ok(content)) => {
                let (rendered, placed) = render_placing(self.page_key, &content);
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
                        failed(id, failure.outcome(), placed)
                    }
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(boundary = id, %error, "boundary failed");
                failed(id, Outcome::Failed, Vec::new())
            }
            Err(panic) => {
                let message = panic_message(&*panic);
                tracing::error!(boundary = id, panic = message, "boundary panicked");
                failed(id, Outcome::Panicked, Vec::new())
            }
        }
    }
}

/// A boundary that failed: the body puts in its error content.
fn failed(id: u32, outcome: Outcome, discarded: Vec<u32>) -> Resolved {
    Resolved {
        id,
        html: String::new(),
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
