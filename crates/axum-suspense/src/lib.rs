//! The streaming engine. It knows nothing of any application: a page is an
//! askama shell plus suspense boundaries, and the engine turns it into one
//! chunked response.
//!
//! - [`page`](Page): creating boundaries and streaming a page (`page.rs`)
//! - [`Boundary`]: the placeholder handle and the future that fills it,
//!   with failure, panic and timeout handling (`boundary.rs`)
//! - the body stream that runs the boundaries and orders the chunks (`body.rs`)
//! - the wire format, with an example of the bytes (`wire.rs`)
//! - render modes, stream, in-order and buffered (`mode.rs`), the crawler
//!   list (`crawlers.rs`), and the `Page` handler argument (`extract.rs`)
//! - which placeholders a render wrote (`placement.rs`)
//! - counters and gauges (`stats.rs`)
//!
//! A page with one boundary, streamed and read back whole:
//!
//! ```
//! use askama::Template;
//! use axum_suspense::{Boundary, Engine};
//!
//! #[derive(Template)]
//! #[template(source = "<html><body><h1>{{ title }}</h1>{{ comments }}</body></html>", ext = "html")]
//! struct PostShell { title: String, comments: Boundary }
//!
//! #[derive(Template)]
//! #[template(source = "<p>Loading comments…</p>", ext = "html")]
//! struct CommentsFallback;
//!
//! #[derive(Template)]
//! #[template(source = "{% for c in comments %}<p>{{ c }}</p>{% endfor %}", ext = "html")]
//! struct CommentsList { comments: Vec<String> }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = Engine::new();
//! let page = engine.page();
//! let comments = page.suspend(CommentsFallback, async {
//!     // A slow data source; an Err here shows the boundary's error content.
//!     Ok::<_, std::io::Error>(CommentsList { comments: vec!["First!".into()] })
//! });
//! let response = page.stream(PostShell { title: "Hello".into(), comments });
//!
//! // An axum handler returns `response`; here the body is read whole.
//! let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
//! let html = String::from_utf8(body.to_vec()).unwrap();
//! assert!(html.starts_with(
//!     "<html><body><h1>Hello</h1><template id=\"B:0\"></template><p>Loading comments…</p><!--/0-->"
//! ));
//! assert!(html.contains("<template id=\"S:0\"><p>First!</p></template><script nonce=\""));
//! assert!(html.contains("$S(0,") && html.ends_with(")</script></body></html>"));
//! # });
//! ```

mod body;
mod boundary;
mod crawlers;
mod extract;
mod mode;
mod page;
mod placement;
mod stats;
mod wire;

pub use boundary::{Boundary, BoundaryBuilder, DEFAULT_ERROR_HTML, DEFAULT_TIMEOUT_HTML};
pub use crawlers::{CRAWLER_TOKENS, is_crawler};
pub use extract::BadRenderMode;
pub use mode::{RenderMode, UnknownRenderMode};
pub use page::{
    DEFAULT_CONTENT_SECURITY_POLICY, Engine, EngineBuilder, Page, RENDER_MODE_HEADER,
    whole_when_buffered,
};
pub use stats::{Stats, StatsSnapshot};
pub use wire::{REVEAL_EVENT, TIMINGS};
