//! The streaming engine. It knows nothing of any application: a page is an
//! askama shell plus suspense boundaries, and the engine turns it into one
//! chunked response.
//!
//! - [`page`](Page): creating boundaries and streaming a page (`page.rs`)
//! - [`Boundary`]: the placeholder handle and the future that fills it,
//!   with failure, panic and timeout handling (`boundary.rs`)
//! - the body stream that runs the boundaries and orders the chunks (`body.rs`)
//! - the wire format, with an example of the bytes (`wire.rs`)
//! - which placeholders a render wrote (`placement.rs`)
//! - counters and gauges (`stats.rs`)
//!
//! ```ignore
//! async fn post(State(app): State<App>, Path(id): Path<u64>) -> Result<Response, AppError> {
//!     let post = app.db.post(id).await?;        // a miss is a real 404, before any byte is sent
//!     let page = app.engine.page();
//!     let comments = page.suspend(CommentsFallback, async move {
//!         app.db.comments(id).await.map(|c| CommentsList { comments: c })
//!     });
//!     Ok(page.stream(PostShell { post, comments })) // `{{ comments }}` renders its fallback
//! }
//! ```

mod body;
mod boundary;
mod page;
mod placement;
mod stats;
mod wire;

pub use boundary::{Boundary, BoundaryBuilder, DEFAULT_ERROR_HTML, DEFAULT_TIMEOUT_HTML};
pub use page::{Engine, Page};
pub use stats::{Stats, StatsSnapshot};
