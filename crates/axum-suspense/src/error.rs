//! Errors: what a failing part's future gives, what the engine makes of a
//! panic or a timeout, and the content shown by default in their place.

use std::fmt;
use std::time::Duration;

pub use crate::mode::UnknownRenderMode;

/// A part's error, whatever its type: the future's error converted with
/// `Into<BoxError>` (as tower does), so its `source()` chain is kept for the
/// log and for [`BoundaryBuilder::on_error_with`](crate::BoundaryBuilder::on_error_with).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Shown in place of a boundary whose future failed or panicked, unless the
/// boundary sets its own with [`BoundaryBuilder::on_error`](crate::BoundaryBuilder::on_error).
pub const DEFAULT_ERROR_HTML: &str =
    r#"<p class="suspense-error" role="alert">This part of the page could not be loaded.</p>"#;

/// Shown in place of a boundary that timed out, unless the boundary sets its
/// own with [`BoundaryBuilder::on_timeout`](crate::BoundaryBuilder::on_timeout) or
/// [`BoundaryBuilder::on_error`](crate::BoundaryBuilder::on_error).
pub const DEFAULT_TIMEOUT_HTML: &str =
    r#"<p class="suspense-error" role="alert">This part of the page took too long to load.</p>"#;

/// The error [`on_error_with`](crate::BoundaryBuilder::on_error_with) is
/// given when a part's future, or the render of its content, panicked.
///
/// ```
/// use axum_suspense::error::{BoxError, Panicked};
///
/// fn message(err: &BoxError) -> String {
///     match err.downcast_ref::<Panicked>() {
///         Some(panic) => format!("a bug: {}", panic.message()),
///         None => err.to_string(),
///     }
/// }
/// # let _ = message;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    pub(crate) message: String,
}

impl Panicked {
    /// The panic's message (`"(not a string)"` if its payload was not one).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl std::error::Error for Panicked {}

/// The error [`on_error_with`](crate::BoundaryBuilder::on_error_with) is
/// given when a part timed out (its own timeout, or its page's deadline or
/// abort), if the boundary has no [`on_timeout`](crate::BoundaryBuilder::on_timeout)
/// content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    pub(crate) after: Option<Duration>,
}

impl TimedOut {
    /// The boundary's own timeout, if that is what passed (`None`: the page
    /// was aborted or its deadline passed).
    pub fn after(&self) -> Option<Duration> {
        self.after
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.after {
            Some(after) => write!(f, "timed out after {after:?}"),
            None => f.write_str("ended by its page's deadline or abort"),
        }
    }
}

impl std::error::Error for TimedOut {}

/// The error [`on_error_with`](crate::BoundaryBuilder::on_error_with) is
/// given when a part's content placed a boundary where it cannot stream and
/// the engine refused it
/// ([`EngineBuilder::refuse_misplaced`](crate::EngineBuilder::refuse_misplaced)):
/// the details are in the log, not in this error, so that error content
/// made from it says nothing of the page's insides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisplacedBoundary;

impl fmt::Display for MisplacedBoundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boundary in this part is where it cannot stream (see the log)")
    }
}

impl std::error::Error for MisplacedBoundary {}

/// `error` and its sources, `": "` between them, for a log line.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
