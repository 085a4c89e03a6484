//! Suspense boundaries: the handle a template renders as a placeholder, and
//! the builder that sets a boundary's options and hands its future to the
//! page (`resolve.rs` runs it).

use std::fmt::{self, Display};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use askama::Template;
use futures::future::AbortHandle;

use crate::mode::RenderMode;
use crate::page::Page;
use crate::resolve::{self, FailureContent};
use crate::shared::PageShared;
use crate::{placement, wire};

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
///
/// ```
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine};
///
/// #[derive(Template)]
/// #[template(source = "<ul>{{ items }}</ul>", ext = "html")]
/// struct Shell { items: Boundary }
/// #[derive(Template)]
/// #[template(source = "<li>Loading…</li>", ext = "html")]
/// struct Loading;
/// #[derive(Template)]
/// #[template(source = "<li>one</li><li>two</li>", ext = "html")]
/// struct Items;
///
/// let page = Engine::new().page();
/// let items = page.suspend(Loading, async { Ok::<_, String>(Items) });
/// // Outside a page's render, a boundary shows only its fallback.
/// assert_eq!(items.to_string(), "<li>Loading…</li>");
/// ```
pub struct Boundary {
    id: u32,
    /// The stream mode's placeholder, whole: the start marker, the fallback
    /// (at `fallback`), the end tags it leaves open, the end marker. Made
    /// once, when the boundary is, and written in one piece.
    placeholder: String,
    fallback: Range<usize>,
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
                RenderMode::Stream => f.write_str(&self.placeholder),
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
            f.write_str(&self.placeholder[self.fallback.clone()])
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
    id: u32,
    placeholder: String,
    fallback: Range<usize>,
    timeout: Option<Duration>,
    on_error: Option<String>,
    on_timeout: Option<String>,
}

impl<'p> BoundaryBuilder<'p> {
    pub(crate) fn new(page: &'p Page, fallback: impl Template) -> Self {
        let id = page.shared.next_id();
        let (placeholder, fallback) = wire::placeholder(id, |out| {
            fallback.render_into(out).map_err(|error| {
                tracing::error!(%error, "boundary fallback failed to render; left empty");
            })
        });
        BoundaryBuilder {
            page,
            id,
            placeholder,
            fallback,
            timeout: page.shared.engine.settings().boundary_timeout,
            on_error: None,
            on_timeout: None,
        }
    }

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
    /// [`DEFAULT_ERROR_HTML`](crate::DEFAULT_ERROR_HTML).
    pub fn on_error(mut self, content: impl Template) -> Self {
        self.on_error = Some(render_or_log(&content, "error content"));
        self
    }

    /// What to show if the future times out. Defaults to the
    /// [`on_error`](Self::on_error) content if set, else
    /// [`DEFAULT_TIMEOUT_HTML`](crate::DEFAULT_TIMEOUT_HTML).
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
        let id = self.id;
        let failure = FailureContent {
            error: self.on_error,
            timeout: self.on_timeout,
        };
        let task = resolve::task(shared, id, future, self.timeout, failure);
        let abort = task.abort.clone();
        shared.register(task);
        Boundary {
            id,
            placeholder: self.placeholder,
            fallback: self.fallback,
            placed: AtomicBool::new(false),
            page: shared.clone(),
            abort,
        }
    }
}

/// Renders a template that is shown as is (fallback, error content). A
/// failure leaves it empty and is logged: there is no better place for it.
fn render_or_log(template: &impl Template, what: &str) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(%error, "boundary {what} failed to render; left empty");
        String::new()
    })
}
