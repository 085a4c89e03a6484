//! Suspense boundaries: the handle a template renders as a placeholder, and
//! the builder that sets a boundary's options and hands its future to the
//! page (`resolve.rs` runs it).

use std::convert::Infallible;
use std::fmt::{self, Display};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use askama::Template;
use futures::FutureExt;
use futures::future::AbortHandle;
use serde::Serialize;

use crate::context::Misplaced;
use crate::error::BoxError;
use crate::group::RevealGroup;
use crate::label::Label;
use crate::mode::RenderMode;
use crate::page::Page;
use crate::placement::{self, Placed};
use crate::resolve::{self, ContentAndData, ContentOnly, FailureContent, Finish};
use crate::shared::PageShared;
use crate::wire;

/// A pending part of a page. Put it in a template (`{{ comments }}`): it
/// renders as its fallback inside a placeholder, and the engine streams the
/// real content into place when it is ready.
///
/// Its fallback and its content must be HTML that is valid where the
/// boundary is placed: rows in a `<tbody>`, items in a `<ul>`. The browser's
/// parser moves misplaced content (an `<em>` straight in a `<tbody>`) out of
/// the boundary's markers, where no swap reaches it.
///
/// Put it where the page's body takes markup: not inside a tag or an
/// attribute value, a comment, a raw-text element (`<title>`,
/// `<textarea>`, `<script>`, `<style>`, …), a `<template>`, or the
/// `<head>`; render it exactly once, in the template it was given to. The
/// engine checks each render: a boundary anywhere else, rendered twice or
/// never rendered refuses the page in a debug build (a panic that names the
/// boundary, where it was and the text around it; the shell becomes a
/// `500`), and in a release build is logged as an error and left out, the
/// page otherwise whole (see
/// [`EngineBuilder::refuse_misplaced`](crate::EngineBuilder::refuse_misplaced)).
/// A boundary dropped before any render is simply cancelled.
///
/// ```
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine, Text};
///
/// #[derive(Template)]
/// #[template(source = "<ul>{{ items }}</ul>", ext = "html")]
/// struct Shell { items: Boundary }
/// #[derive(Template)]
/// #[template(source = "<li>one</li><li>two</li>", ext = "html")]
/// struct Items;
///
/// let page = Engine::new().page();
/// let items = page.suspend(Text::new("Loading…"), async { Items });
/// // Outside a page's render, a boundary shows only its fallback.
/// assert_eq!(items.to_string(), "Loading…");
/// ```
pub struct Boundary {
    label: Label,
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
            .field("id", &self.label.id)
            .field("name", &self.label.name)
            .field("placed", &self.placed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.page.key();
        if self.placed.swap(true, Ordering::AcqRel) {
            // A second copy can never be filled: inside a render of its page
            // that is a misuse, reported with the render; elsewhere (a
            // `to_string` for a log) it shows the fallback.
            if placement::misuse(key, self.label, Misplaced::Twice) {
                return Ok(());
            }
            return f.write_str(&self.placeholder[self.fallback.clone()]);
        }
        let id = self.label.id;
        let name = self.label.name;
        match self.page.mode {
            RenderMode::Stream => {
                let len = self.placeholder.len();
                if placement::place(key, Placed { id, name, len }) {
                    return f.write_str(&self.placeholder);
                }
            }
            // Replaced by the content before it leaves the server.
            RenderMode::InOrder | RenderMode::Buffered => {
                let len = wire::marker_len(id);
                if placement::place(key, Placed { id, name, len }) {
                    return wire::write_marker(f, self.page.nonce, id);
                }
            }
        }
        // Not rendered by this page's engine: nothing will swap it.
        self.placed.store(false, Ordering::Release);
        tracing::warn!(
            boundary = %self.label,
            "boundary rendered outside its page's shell or boundaries; only its fallback is shown"
        );
        f.write_str(&self.placeholder[self.fallback.clone()])
    }
}

/// The placeholder is markup the engine wrote from escaped parts: askama must
/// not escape it again.
impl askama::filters::HtmlSafe for Boundary {}

impl Drop for Boundary {
    fn drop(&mut self) {
        if !self.placed.load(Ordering::Acquire) {
            self.abort.abort();
            self.page.orphan(self.label.id);
            // Dropped by a render of its page (the template it was given is
            // dropped in the render's scope): it was never rendered.
            placement::misuse(self.page.key(), self.label, Misplaced::NeverRendered);
        }
    }
}

/// Sets a boundary's options before its future is given. Made by
/// [`Page::boundary`]; every option has a default, named in its method's
/// last sentence.
///
/// ```
/// use std::time::Duration;
/// use axum_suspense::{Engine, Text};
///
/// let page = Engine::new().page();
/// let prices = page
///     .boundary(Text::new("Loading prices…"))
///     .name("prices")
///     .timeout(Duration::from_secs(2))
///     .on_error_with(|err| Text::new(format!("Prices are unavailable ({err}).")))
///     .try_suspend(async { Err::<Text, _>("the price service is down") });
/// # drop(prices);
/// ```
#[must_use = "a boundary is created only by `suspend` or `try_suspend`"]
pub struct BoundaryBuilder<'p> {
    page: &'p Page,
    id: u32,
    name: Option<&'static str>,
    placeholder: String,
    fallback: Range<usize>,
    timeout: Option<Duration>,
    failure: FailureContent,
    group: Option<RevealGroup>,
}

impl fmt::Debug for BoundaryBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundaryBuilder")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
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
            name: None,
            placeholder,
            fallback,
            timeout: page.shared.engine.settings().boundary_timeout,
            failure: FailureContent::default(),
            group: None,
        }
    }

    /// Names the boundary, for people: logs and error messages say
    /// `boundary=reviews` rather than `boundary=b3`, the `?debug=1` overlay
    /// labels it so, and the client runtime records it (`n` in
    /// [`TIMINGS`](crate::client::TIMINGS)). Several boundaries may share a
    /// name. Defaults to none (the boundary is called `b` and its id).
    ///
    /// # Panics
    ///
    /// If `name` is empty, longer than 64 bytes, or has a character other
    /// than ASCII letters, digits, `_`, `.`, `:` and `-` (it travels on the
    /// wire as it is).
    pub fn name(mut self, name: &'static str) -> Self {
        assert!(
            valid_name(name),
            "boundary name {name:?}: use 1 to 64 of A-Z a-z 0-9 _ . : -"
        );
        self.name = Some(name);
        self
    }

    /// Joins `group`: the boundary's part goes out in the group's
    /// [`RevealOrder`](crate::RevealOrder) (stream mode; members in the order
    /// they were made). Defaults to no group (the part goes out as soon as
    /// it is ready).
    ///
    /// ```
    /// use axum_suspense::{Engine, RevealOrder, Text};
    ///
    /// let page = Engine::new().page();
    /// let stats = page.group(RevealOrder::Together);
    /// let views = page.boundary(Text::new("…")).group(&stats).suspend(async { Text::new("12 views") });
    /// let likes = page.boundary(Text::new("…")).group(&stats).suspend(async { Text::new("3 likes") });
    /// # drop((views, likes));
    /// ```
    ///
    /// # Panics
    ///
    /// If `group` is another page's.
    pub fn group(mut self, group: &RevealGroup) -> Self {
        assert!(
            group.page == self.page.shared.key(),
            "a boundary can only join a reveal group of its own page"
        );
        self.group = Some(*group);
        self
    }

    /// How long the future may take before the timeout content is shown,
    /// counted from when the page's body takes the boundary over (when the
    /// shell, or its parent's content, is sent). Defaults to the engine's
    /// [boundary timeout](crate::EngineBuilder::boundary_timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Lets the future take as long as it takes (the page's deadline, if it
    /// has one, still ends it). Defaults to the engine's
    /// [boundary timeout](crate::EngineBuilder::boundary_timeout).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// What to show if the future fails, panics or (unless
    /// [`on_timeout`](Self::on_timeout) is set) times out. Defaults to
    /// [`DEFAULT_ERROR_HTML`](crate::error::DEFAULT_ERROR_HTML).
    pub fn on_error(mut self, content: impl Template) -> Self {
        self.failure.error = Some(render_or_log(&content, "error content"));
        self.failure.error_with = None;
        self
    }

    /// What to show if the future fails, made from the error: the future's
    /// own (converted to a [`BoxError`], its sources kept), a
    /// [`Panicked`](crate::error::Panicked) if it panicked, a
    /// [`MisplacedBoundary`](crate::error::MisplacedBoundary) if its content
    /// was refused, or a
    /// [`TimedOut`](crate::error::TimedOut) if it timed out and
    /// [`on_timeout`](Self::on_timeout) is not set. Runs at most once, when
    /// the part fails; if it panics, the default is shown. Say nothing in it
    /// that the visitor should not see (an error's text can carry internal
    /// details). Defaults to [`DEFAULT_ERROR_HTML`](crate::error::DEFAULT_ERROR_HTML).
    pub fn on_error_with<C, F>(mut self, content: F) -> Self
    where
        C: Template,
        F: FnOnce(&BoxError) -> C + Send + 'static,
    {
        self.failure.error_with = Some(Box::new(move |error: &BoxError| {
            render_or_log(&content(error), "error content")
        }));
        self.failure.error = None;
        self
    }

    /// What to show if the future times out. Defaults to the
    /// [`on_error`](Self::on_error) or [`on_error_with`](Self::on_error_with)
    /// content if either is set, else
    /// [`DEFAULT_TIMEOUT_HTML`](crate::error::DEFAULT_TIMEOUT_HTML).
    pub fn on_timeout(mut self, content: impl Template) -> Self {
        self.failure.timeout = Some(render_or_log(&content, "timeout content"));
        self
    }

    /// Creates the boundary, with a future that cannot fail; see
    /// [`Page::suspend`].
    pub fn suspend<F, T>(self, future: F) -> Boundary
    where
        F: Future<Output = T> + Send + 'static,
        T: Template + Send + 'static,
    {
        self.try_suspend(future.map(Ok::<T, Infallible>))
    }

    /// Creates the boundary, with a future that can fail; see
    /// [`Page::try_suspend`].
    pub fn try_suspend<F, T, E>(self, future: F) -> Boundary
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Template + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.start::<ContentOnly, F>(future)
    }

    /// Creates the boundary, with a future that gives its content and its
    /// data: any [`Serialize`] value, sent with the part as JSON that never
    /// executes (a `<script type="application/json">` first in the part,
    /// escaped by [`script_json`](crate::client::script_json)), in every
    /// [`RenderMode`]. The client gets it parsed as the `suspense:reveal`
    /// event's `detail.data` and in `suspense.on(name, (element, data) =>
    /// …)` of the islands module (see [`client`](crate::client));
    /// give the boundary a [`name`](Self::name) for that.
    ///
    /// The part's content should start with its root element: `element`
    /// in `suspense.on` is that element, or `null` when the content starts
    /// with text (as here), a nested part, or is empty (the data element
    /// then carries `data-no-element`).
    ///
    /// Data that cannot be serialized (a map whose keys are not strings),
    /// or whose `Serialize` panics, fails the part: it shows its error
    /// content. A part without data
    /// ([`suspend`](Self::suspend)) is sent exactly as before, byte for
    /// byte.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use askama::Template;
    /// use axum_suspense::{Boundary, Engine, Text};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<body>{{ votes }}</body>", ext = "html")]
    /// struct Shell { votes: Boundary }
    ///
    /// let page = Engine::new().page();
    /// let votes = page
    ///     .boundary(Text::new("…"))
    ///     .name("votes")
    ///     .suspend_with_data(async { (Text::new("3 votes"), [7, 8, 9]) });
    /// let body = page.stream(Shell { votes }).into_body();
    /// let html = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    /// assert!(std::str::from_utf8(&html).unwrap().contains(
    ///     r#"<template for="b0"><script type="application/json" data-part="b0" data-name="votes" data-no-element>[7,8,9]</script>3 votes</template>"#
    /// ));
    /// # });
    /// ```
    pub fn suspend_with_data<F, T, D>(self, future: F) -> Boundary
    where
        F: Future<Output = (T, D)> + Send + 'static,
        T: Template + Send + 'static,
        D: Serialize + Send + 'static,
    {
        self.try_suspend_with_data(future.map(Ok::<(T, D), Infallible>))
    }

    /// Creates the boundary, with a future that can fail and otherwise
    /// gives its content and its data; see
    /// [`suspend_with_data`](Self::suspend_with_data) and
    /// [`Page::try_suspend`]. A part that fails sends no data.
    ///
    /// ```
    /// use axum_suspense::{Engine, Text};
    ///
    /// let page = Engine::new().page();
    /// let part = page
    ///     .boundary(Text::new("Loading…"))
    ///     .name("stock")
    ///     .try_suspend_with_data(async { Ok::<_, std::io::Error>((Text::new("In stock"), 12)) });
    /// # drop(part);
    /// ```
    pub fn try_suspend_with_data<F, T, D, E>(self, future: F) -> Boundary
    where
        F: Future<Output = Result<(T, D), E>> + Send + 'static,
        T: Template + Send + 'static,
        D: Serialize + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.start::<ContentAndData, F>(future)
    }

    /// Hands the part's future to the page; `K` makes its output a part.
    fn start<K, F>(self, future: F) -> Boundary
    where
        F: Future + Send + 'static,
        K: Finish<F::Output>,
    {
        let shared = &self.page.shared;
        let label = Label {
            id: self.id,
            name: self.name,
        };
        let mut task = resolve::task::<K, F>(
            shared.render_for(),
            shared.started,
            shared.engine.inner.stats.clone(),
            label,
            future,
            self.timeout,
            self.failure,
        );
        task.group = self.group;
        let abort = task.abort.clone();
        shared.register(task);
        Boundary {
            label,
            placeholder: self.placeholder,
            fallback: self.fallback,
            placed: AtomicBool::new(false),
            page: shared.clone(),
            abort,
        }
    }
}

/// 1 to 64 of `A-Z a-z 0-9 _ . : -`: nothing that needs escaping anywhere
/// the name goes (a log, a processing instruction on the wire, a script).
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// Renders a template that is shown as is (fallback, error content). A
/// failure leaves it empty and is logged: there is no better place for it.
fn render_or_log(template: &impl Template, what: &str) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(%error, "boundary {what} failed to render; left empty");
        String::new()
    })
}
