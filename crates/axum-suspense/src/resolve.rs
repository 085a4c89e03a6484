//! A boundary's future, run to its final HTML: its content rendered, with
//! errors and panics contained (the body puts in the error content); and the
//! render of a template with the boundaries it placed, each checked for
//! where it landed. Timeouts and aborts are the body's (`body.rs`).

use std::fmt::{self, Display};
use std::future::Future;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use askama::Template;
use futures::FutureExt;
use futures::future::{AbortHandle, Abortable, BoxFuture, CatchUnwind};

use crate::context::{self, Misplaced};
use crate::decimal::Decimal;
use crate::error::{
    self, BoxError, DEFAULT_ERROR_HTML, DEFAULT_TIMEOUT_HTML, MisplacedBoundary, Panicked, TimedOut,
};
use crate::label::Label;
use crate::mode::RenderMode;
use crate::placement;
use crate::stats::{Gauge, LiveGuard, Outcome, Stats};
use crate::wire;

/// A boundary's future, wrapped so it renders its own content and can be
/// aborted from its handle; with what the body needs to end it early: how
/// long it may take and what it shows when it fails or times out.
pub(crate) struct Task {
    pub(crate) label: Label,
    pub(crate) future: Abortable<BoxFuture<'static, Resolved>>,
    pub(crate) abort: AbortHandle,
    pub(crate) timeout: Option<Duration>,
    pub(crate) failure: FailureContent,
    /// The reveal group it joined, if any.
    pub(crate) group: Option<crate::group::RevealGroup>,
}

/// What rendering for a page needs to know of it: taken from the page
/// once, so that a render needs no handle on the page itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderFor {
    /// Identifies the page in render scopes.
    pub(crate) key: usize,
    pub(crate) mode: RenderMode,
    /// The page's marker nonce (in-order and buffered modes).
    pub(crate) nonce: u64,
    pub(crate) refuse_misplaced: bool,
}

/// A boundary's future as the page's body runs it: resolved to its final
/// HTML, counted in the engine's statistics while it lives, logged when it
/// ends, and abortable from its handle. Its timeout and the page's abort
/// are the body's (`body.rs`: one timer and one listener per page, not one
/// per boundary), and so is the failure content it shows then.
pub(crate) fn task<K, F>(
    page: RenderFor,
    started: tokio::time::Instant,
    stats: Arc<Stats>,
    label: Label,
    future: F,
    timeout: Option<Duration>,
    failure: FailureContent,
) -> Task
where
    F: Future + Send + 'static,
    K: Finish<F::Output>,
{
    let run = Resolving::<F, K> {
        finish: std::marker::PhantomData,
        inner: AssertUnwindSafe(future).catch_unwind(),
        end: Some(End {
            label,
            page,
            started,
            live: LiveGuard::new(stats, Gauge::Boundaries),
        }),
    };
    let (abort, registration) = AbortHandle::new_pair();
    Task {
        label,
        future: Abortable::new(run.boxed(), registration),
        abort,
        timeout,
        failure,
        group: None,
    }
}

pin_project_lite::pin_project! {
    /// The part's future with its panics caught, by hand rather than with
    /// `async`, which kept the part's future twice over in its state.
    struct Resolving<F, K> {
        #[pin]
        inner: CatchUnwind<AssertUnwindSafe<F>>,
        end: Option<End>,
        // How its output becomes a part (a type, no data).
        finish: std::marker::PhantomData<fn() -> K>,
    }
}

/// How a boundary's future's output becomes its part (content, and data
/// if it has any): a type rather than a `map` around the future, which cost
/// a layer of polling per part.
pub(crate) trait Finish<O>: 'static {
    type Content: Template + Send + 'static;
    fn finish(output: O) -> Result<Part<Self::Content>, BoxError>;
}

/// Content alone (`suspend`, `try_suspend`): `Result<T, E>`.
pub(crate) struct ContentOnly;

impl<T, E> Finish<Result<T, E>> for ContentOnly
where
    T: Template + Send + 'static,
    E: Into<BoxError>,
{
    type Content = T;

    fn finish(output: Result<T, E>) -> Result<Part<T>, BoxError> {
        match output {
            Ok(content) => Ok(Part {
                content,
                data: None,
            }),
            Err(error) => Err(error.into()),
        }
    }
}

/// Content and data (`suspend_with_data`): `Result<(T, D), E>`, the data
/// written as JSON for a script element; data that cannot be is the part's
/// error.
pub(crate) struct ContentAndData;

impl<T, D, E> Finish<Result<(T, D), E>> for ContentAndData
where
    T: Template + Send + 'static,
    D: serde::Serialize,
    E: Into<BoxError>,
{
    type Content = T;

    fn finish(output: Result<(T, D), E>) -> Result<Part<T>, BoxError> {
        let (content, data) = output.map_err(Into::into)?;
        let data = crate::data::script_json(&data).map_err(|error| -> BoxError {
            format!("the part's data cannot be written as JSON: {error}").into()
        })?;
        Ok(Part {
            content,
            data: Some(data),
        })
    }
}

/// What a boundary's end needs besides how it ended.
struct End {
    label: Label,
    /// What rendering the content for its page needs.
    page: RenderFor,
    /// The page's start, which its times count from.
    started: tokio::time::Instant,
    live: LiveGuard,
}

impl<F, K> Future for Resolving<F, K>
where
    F: Future,
    K: Finish<F::Output>,
{
    type Output = Resolved;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Resolved> {
        let this = self.project();
        // `finish` runs the application's `Serialize` (a part's data):
        // caught as the future's own panics are, so it costs the part, not
        // the page.
        let result = std::task::ready!(this.inner.poll(cx))
            .and_then(|output| std::panic::catch_unwind(AssertUnwindSafe(|| K::finish(output))));
        let end = this.end.take().expect("polled after it ended");
        let mut resolved = end.resolve(result);
        resolved.at = end.started.elapsed();
        end.live.stats().record(resolved.outcome);
        tracing::debug!(
            boundary = %end.label,
            outcome = resolved.outcome.as_str(),
            // From the page's start, as the wire tells the client.
            at_ms = resolved.at.as_secs_f64() * 1000.0,
            "boundary ended"
        );
        Poll::Ready(resolved)
    }
}

/// What a boundary's future gives: its content, and its data if it has
/// any, already JSON escaped for a script element (`data.rs`). Without
/// data the part's wire bytes are as they were before parts had data.
pub(crate) struct Part<T> {
    pub(crate) content: T,
    pub(crate) data: Option<String>,
}

/// A boundary's final HTML, ready for the wire.
pub(crate) struct Resolved {
    pub(crate) id: u32,
    /// Its content; empty for a boundary that failed or panicked, whose
    /// error content the body puts in (it holds the boundary's own).
    pub(crate) html: String,
    /// Boundaries whose placeholders are in `html`, in document order.
    pub(crate) children: Vec<u32>,
    /// Boundaries placed by a render that then failed, or placed where they
    /// cannot stream: their placeholders never reach the page.
    pub(crate) discarded: Vec<u32>,
    pub(crate) outcome: Outcome,
    /// Why it failed, for its error content.
    pub(crate) error: Option<BoxError>,
    /// When its content (or failure content) was ready, counted from the
    /// page's start; the client runtime records it beside the reveal time.
    pub(crate) at: Duration,
}

/// Makes a boundary's error content from the error.
pub(crate) type ErrorContentFn = Box<dyn FnOnce(&BoxError) -> String + Send>;

/// A boundary's own failure content, if it set any (the default: none, so
/// the engine's defaults).
#[derive(Default)]
pub(crate) struct FailureContent {
    pub(crate) error: Option<String>,
    pub(crate) error_with: Option<ErrorContentFn>,
    pub(crate) timeout: Option<String>,
}

impl FailureContent {
    /// The content for a part that failed with `error`.
    pub(crate) fn error(self, error: &BoxError) -> String {
        if let Some(make) = self.error_with {
            // User code, in the body's poll: a panic here costs the part its
            // own content, not the page.
            match std::panic::catch_unwind(AssertUnwindSafe(|| make(error))) {
                Ok(html) => return html,
                Err(panic) => {
                    tracing::error!(
                        panic = panic_message(&*panic),
                        "a boundary's error content panicked; the default shown"
                    );
                }
            }
        }
        self.error.unwrap_or_else(|| DEFAULT_ERROR_HTML.to_owned())
    }

    /// The content for a part that timed out (`after` its own timeout, or
    /// ended by its page): its timeout content, else its error content,
    /// else the default.
    pub(crate) fn timeout(self, after: Option<Duration>) -> String {
        if let Some(html) = self.timeout {
            return html;
        }
        if self.error.is_some() || self.error_with.is_some() {
            let error: BoxError = Box::new(TimedOut { after });
            return self.error(&error);
        }
        DEFAULT_TIMEOUT_HTML.to_owned()
    }
}

/// What every refusal of a misplaced boundary starts with.
const REFUSED: &str = "axum-suspense refused a render: ";

/// Why a template produced no HTML.
#[derive(Debug)]
pub(crate) enum RenderFailure {
    Error(askama::Error),
    Panicked(String),
    /// A misplaced boundary, with the engine's message.
    Refused(String),
}

impl RenderFailure {
    fn outcome(&self) -> Outcome {
        match self {
            RenderFailure::Error(_) | RenderFailure::Refused(_) => Outcome::Failed,
            RenderFailure::Panicked(_) => Outcome::Panicked,
        }
    }

    fn into_error(self) -> BoxError {
        match self {
            RenderFailure::Error(error) => Box::new(error),
            RenderFailure::Panicked(message) => Box::new(Panicked { message }),
            RenderFailure::Refused(_) => Box::new(MisplacedBoundary),
        }
    }
}

impl Display for RenderFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderFailure::Error(error) => write!(f, "render error: {error}"),
            RenderFailure::Panicked(message) => write!(f, "panicked while rendering: {message}"),
            RenderFailure::Refused(message) => f.write_str(message),
        }
    }
}

/// A template rendered for a page, with the boundaries it placed where they
/// can stream.
pub(crate) struct Rendered {
    pub(crate) html: String,
    /// In document order.
    pub(crate) placed: Vec<u32>,
    /// Boundaries left out (misplaced): the caller cancels them.
    pub(crate) cancelled: Vec<u32>,
}

/// A render that produced no HTML, and the boundaries it had placed (none
/// of which will ever be on the page).
pub(crate) struct Failed {
    pub(crate) failure: RenderFailure,
    pub(crate) discarded: Vec<u32>,
}

/// Renders `template` (the shell, or a part's content) for `page` and drops
/// it, with a panic caught; tells which of the page's boundaries it placed,
/// and checks that each is where it can stream (see `context.rs`). The
/// boundaries it leaves out are the caller's to cancel (`cancelled`, or
/// `discarded` when it fails).
///
/// A misplaced boundary, or one rendered twice or never, is an error in the
/// application. With the engine's
/// [`refuse_misplaced`](crate::EngineBuilder::refuse_misplaced) on (debug
/// builds) the render panics, naming the boundary, the context and the text
/// around it: the shell becomes a `500`, a part its error content. Off, each
/// is logged as an error and left out of the page: its placeholder is cut
/// from the HTML (which stays well-formed, everything after it kept) and
/// the boundary is cancelled.
pub(crate) fn render_placing<T: Template>(
    page: RenderFor,
    template: T,
) -> Result<Rendered, Failed> {
    let (outcome, left) = placement::render_scoped(page.key, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            let rendered = render_sized(&template);
            // Inside the scope: a boundary it was given and did not render
            // is dropped here, and noticed.
            drop(template);
            let placements = placement::take();
            match rendered {
                Ok(html) => Ok(check(page, html, placements)),
                Err(error) => Err((error, placements.ids())),
            }
        }))
    });
    match outcome {
        Ok(Ok(rendered)) => Ok(rendered),
        Ok(Err((error, discarded))) => Err(Failed {
            failure: RenderFailure::Error(error),
            discarded,
        }),
        // What it placed before it panicked is still in the scope (a
        // refused render put it back).
        Err(panic) => {
            let message = panic_message(&*panic).to_owned();
            let failure = if message.starts_with(REFUSED) {
                RenderFailure::Refused(message)
            } else {
                RenderFailure::Panicked(message)
            };
            Err(Failed {
                failure,
                discarded: left.ids(),
            })
        }
    }
}

/// The check of a render's placements (see [`render_placing`]); panics
/// when the engine refuses misplaced boundaries and one is.
fn check(page: RenderFor, mut html: String, placements: placement::Placements) -> Rendered {
    if placements.placed.is_empty() && placements.misused.is_empty() {
        return Rendered {
            html,
            placed: Vec::new(),
            cancelled: Vec::new(),
        };
    }
    let mut misplaced: Vec<(Label, Misplaced, Option<Range<usize>>)> = Vec::new();
    let mut placed = Vec::with_capacity(placements.placed.len());
    // The placements the judge saw (those found), by the judge's count,
    // with their spans.
    let mut judged = Vec::with_capacity(placements.placed.len());
    let mut judge = context::Judge::new(&html);
    let mut locate = Locate::new(page);
    for at in &placements.placed {
        let label = Label {
            id: at.id,
            name: at.name,
        };
        let Some(span) = locate.next(&html, at) else {
            misplaced.push((label, Misplaced::Altered, None));
            continue;
        };
        match judge.next(span.clone()) {
            Some(how) => misplaced.push((label, how, Some(span.clone()))),
            None => placed.push(at.id),
        }
        judged.push((label, span));
    }
    for index in judge.in_head() {
        let (label, span) = judged[index].clone();
        placed.retain(|id| *id != label.id);
        misplaced.push((label, Misplaced::Head, Some(span)));
    }
    for &(label, how) in &placements.misused {
        misplaced.push((label, how, None));
    }
    if misplaced.is_empty() {
        return Rendered {
            html,
            placed,
            cancelled: Vec::new(),
        };
    }
    let report = |(label, how, span): &(Label, Misplaced, Option<Range<usize>>)| {
        let near = span
            .clone()
            .map(|span| format!(", here: {}", context::excerpt(&html, span, 48)))
            .unwrap_or_default();
        format!("boundary {label} (b{}) is {how}{near}", label.id)
    };
    if page.refuse_misplaced {
        let reports: Vec<String> = misplaced.iter().map(report).collect();
        // Nothing of this render reaches the page: its boundaries are the
        // caller's to cancel, as for any render that panicked.
        placement::put_back(placements);
        panic!(
            "{REFUSED}{} (a shell answers 500, a part shows its error content; \
             EngineBuilder::refuse_misplaced(false), the default in release builds, logs this \
             as an error and leaves the boundary out)",
            reports.join("; ")
        );
    }
    for entry in &misplaced {
        let done = match entry.1 {
            Misplaced::Twice => "the second copy is left empty, the first streams",
            Misplaced::NeverRendered => "its part is cancelled",
            _ => "left out of the page",
        };
        tracing::error!(boundary = %entry.0, "{}; {done}", report(entry));
    }
    // Cut from the last to the first, so the earlier spans stay where they are.
    let mut cuts: Vec<Range<usize>> = misplaced.iter().filter_map(|m| m.2.clone()).collect();
    cuts.sort_by_key(|span| std::cmp::Reverse(span.start));
    for span in cuts {
        html.replace_range(span, "");
    }
    let cancelled = misplaced
        .iter()
        .filter(|(_, how, _)| match how {
            // Cancelled when it was dropped.
            Misplaced::NeverRendered => false,
            // Its first copy streams; the second was written empty.
            Misplaced::Twice => false,
            _ => true,
        })
        .map(|(label, _, _)| label.id)
        .collect();
    Rendered {
        html,
        placed,
        cancelled,
    }
}

/// Finds each placeholder a render wrote in its HTML, in order, each after
/// the one before: one searcher for what every placeholder starts with, then
/// the id compared in place (a searcher built per boundary cost more than
/// the rest of the check).
struct Locate {
    finder: std::borrow::Cow<'static, memchr::memmem::Finder<'static>>,
    end_of_id: &'static str,
    /// How a placeholder ends: `<?end>`, or a marker's `-->`.
    ends_with: &'static str,
    from: usize,
}

impl Locate {
    fn new(page: RenderFor) -> Self {
        static RANGE_START: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(wire::RANGE_START.as_bytes()));
        match page.mode {
            RenderMode::Stream => Locate {
                finder: std::borrow::Cow::Borrowed(&*RANGE_START),
                end_of_id: "\">",
                ends_with: "<?end>",
                from: 0,
            },
            RenderMode::InOrder | RenderMode::Buffered => Locate {
                finder: std::borrow::Cow::Owned(
                    memchr::memmem::Finder::new(wire::marker_prefix(page.nonce).as_bytes())
                        .into_owned(),
                ),
                end_of_id: "-->",
                ends_with: "-->",
                from: 0,
            },
        }
    }

    /// Where `at`'s placeholder is (`None`: not there as written).
    fn next(&mut self, html: &str, at: &placement::Placed) -> Option<Range<usize>> {
        let prefix = self.finder.needle().len();
        let id = Decimal::new(u128::from(at.id));
        let mut search = self.from;
        loop {
            let start = search + self.finder.find(&html.as_bytes()[search..])?;
            let rest = &html[start + prefix..];
            let end = start + at.len;
            // The whole placeholder as written: its id, and its end where
            // its length says (a filter that changed its length did not
            // leave it as written).
            if rest.starts_with(id.as_str())
                && rest[id.as_str().len()..].starts_with(self.end_of_id)
                && html.is_char_boundary(end)
                && html[..end].ends_with(self.ends_with)
            {
                self.from = end;
                return Some(start..end);
            }
            // Text that only looks like a placeholder (trusted HTML).
            search = start + 1;
        }
    }
}

impl End {
    /// The boundary's final HTML, for how its future ended.
    fn resolve<T: Template, E: Into<BoxError>>(
        &self,
        ended: std::thread::Result<Result<Part<T>, E>>,
    ) -> Resolved {
        let label = self.label;
        match ended {
            Ok(Ok(part)) => match render_placing(self.page, part.content) {
                Ok(rendered) => Resolved {
                    id: label.id,
                    html: match part.data {
                        None => rendered.html,
                        Some(json) => with_data(label, &json, rendered.html),
                    },
                    children: rendered.placed,
                    discarded: rendered.cancelled,
                    outcome: Outcome::Resolved,
                    error: None,
                    at: Duration::ZERO,
                },
                Err(failed) => {
                    if let RenderFailure::Refused(_) = failed.failure {
                        tracing::error!(boundary = %label, failure = %failed.failure, "boundary content refused");
                    } else {
                        tracing::warn!(boundary = %label, failure = %failed.failure, "boundary content failed to render");
                    }
                    let outcome = failed.failure.outcome();
                    let mut resolved = self.failed(outcome, failed.failure.into_error());
                    resolved.discarded = failed.discarded;
                    resolved
                }
            },
            Ok(Err(error)) => {
                let error: BoxError = error.into();
                tracing::warn!(boundary = %label, error = %error::chain(&*error), "boundary failed");
                self.failed(Outcome::Failed, error)
            }
            Err(panic) => {
                let message = panic_message(&*panic).to_owned();
                tracing::error!(boundary = %label, panic = message, "boundary panicked");
                self.failed(Outcome::Panicked, Box::new(Panicked { message }))
            }
        }
    }

    /// A boundary that failed: the body puts in its error content.
    fn failed(&self, outcome: Outcome, error: BoxError) -> Resolved {
        Resolved {
            id: self.label.id,
            html: String::new(),
            children: Vec::new(),
            discarded: Vec::new(),
            outcome,
            error: Some(error),
            at: Duration::ZERO,
        }
    }
}

/// A part's HTML with its data element first (`wire::push_data`).
fn with_data(label: Label, json: &str, html: String) -> String {
    let mut out = String::with_capacity(json.len() + html.len() + 96);
    wire::push_data(&mut out, label.id, label.name, json, &html);
    out.push_str(&html);
    out
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
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
