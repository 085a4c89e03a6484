//! Streaming server-side rendering for [axum] with [askama], the way React
//! 18 does it: the page's shell goes out at once with a fallback for each
//! slow part (a *suspense boundary*), and each part's real HTML is streamed
//! into place, in whatever order its data arrives, over one chunked
//! response.
//!
//! [axum]: https://docs.rs/axum
//! [askama]: https://docs.rs/askama
//!
//! ```
//! use std::time::Duration;
//! use askama::Template;
//! use axum::{Router, response::Response, routing::get};
//! use axum_suspense::{Boundary, Engine, Page};
//!
//! #[derive(Template)]
//! #[template(source = "<!doctype html><html><body><h1>Hello</h1>{{ news }}</body></html>", ext = "html")]
//! struct Shell { news: Boundary }
//!
//! #[derive(Template)]
//! #[template(source = "<p>{{ text }}</p>", ext = "html")]
//! struct Text { text: String }
//!
//! async fn home(page: Page) -> Response {
//!     let news = page.suspend(Text { text: "Loading the news…".into() }, async {
//!         tokio::time::sleep(Duration::from_millis(500)).await; // a slow source
//!         Ok::<_, std::io::Error>(Text { text: "Nothing happened today.".into() })
//!     });
//!     page.stream(Shell { news })
//! }
//!
//! let app: Router = Router::new().route("/", get(home)).with_state(Engine::new());
//! // axum::serve(listener, app).await
//! ```
//!
//! The crate's README has a quick start to paste into a new project, and
//! its `examples/` directory programs by task: nested boundaries; errors,
//! panics and timeouts; render modes and crawlers; a strict CSP; axum state;
//! graceful shutdown.
//!
//! # What the engine guarantees
//!
//! - **Shell first.** The shell, with every fallback, is the first chunk; a
//!   boundary's future is first polled after it has been handed over.
//! - **Completion order, parents first.** Each boundary's content is sent as
//!   soon as it is ready, with those ready together in one chunk; a nested
//!   boundary's content never goes before its parent's.
//! - **One failing part never tears the page.** An `Err`, a panic, a
//!   timeout, the page's deadline or [`Page::abort`] shows that boundary's
//!   error or timeout content; the page still ends well-formed.
//! - **Nothing outlives its client.** Boundary futures run inside the
//!   response body, not in spawned tasks: when the client leaves, every
//!   one of them is dropped. A client that reads slowly slows its page.
//! - **A strict Content-Security-Policy.** Every inline script the engine
//!   writes carries a per-page nonce, and pages are sent with a policy
//!   without `'unsafe-inline'` ([`DEFAULT_CONTENT_SECURITY_POLICY`]).
//! - **Data stays data.** Fallbacks and content are askama templates
//!   (escaped); nothing taken from input is ever written as markup.
//!
//! # Render modes
//!
//! A page is sent in one of three [`RenderMode`]s: `stream` (out of order,
//! the default), `in-order` (no script: each part in document order) and
//! `buffered` (one complete document, for crawlers, which get it by
//! default). A request picks one with `?render=`; see [`EngineBuilder`] for
//! the parameter names, and [`BufferedModeLayer`] to send buffered pages
//! with their headers only once they are whole.
//!
//! # Serving: clients that stop reading
//!
//! A page's boundaries run only as fast as its client reads: the body
//! renders at most one chunk (64 KiB, or one boundary when it is larger)
//! each time hyper asks for more, and hyper asks only while its write
//! buffer has room. Two things are the server's, not the engine's, and
//! plain `axum::serve` sets neither:
//!
//! - how much hyper holds for a client that has stopped reading: its write
//!   buffer (`hyper::server::conn::http1::Builder::max_buf_size`, about 400
//!   KiB by default), plus the kernel's socket buffer;
//! - how long such a client may hold its connection and its page: a write
//!   timeout on the connection (a send timeout, as nginx's `send_timeout`).
//!
//! The suspense-ssr server serves with hyper's builder for both: a 32 KiB
//! write buffer and a `tokio_io_timeout::TimeoutWriter` around each
//! connection (its `src/server.rs`), or put nginx in front with
//! `proxy_buffering off` and a `send_timeout`.
//!
//! # Cargo features
//!
//! - `metrics` (default): `Engine::register_metrics`, the engine's
//!   statistics in a [prometheus-client] registry. [`Engine::stats`] works
//!   without it.
//!
//! [prometheus-client]: https://docs.rs/prometheus-client
//!
//! # Layout of the source
//!
//! - `engine.rs`: [`Engine`] and [`EngineBuilder`], the settings pages share.
//! - `page.rs`: [`Page`], what a handler builds a page with.
//! - `shared.rs`: the state a page shares with its body, in one place.
//! - `boundary.rs`: the [`Boundary`] handle (renders as a placeholder) and
//!   [`BoundaryBuilder`]; `resolve.rs`: a boundary's future run to its final
//!   HTML, with errors, panics, timeouts and aborts contained.
//! - `response.rs`: a rendered shell becomes a response (headers, CSP).
//! - `body.rs`: the body stream that runs the boundaries and orders the
//!   chunks; `placement.rs`: which placeholders each render wrote.
//! - `wire.rs`: the wire format, with an example of the bytes, and the
//!   client runtime; `overlay.js`: the timing overlay.
//! - `mode.rs`: the render modes; `crawlers.rs`: the crawler list;
//!   `extract.rs`: [`Page`] as a handler argument; `query.rs`: its
//!   parameters read from the query; `buffered.rs`: [`BufferedModeLayer`].
//! - `stats.rs`: [`Stats`]; `metrics.rs`: their Prometheus export.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod boundary;
mod buffered;
mod crawlers;
mod engine;
mod extract;
#[cfg(feature = "metrics")]
mod metrics;
mod mode;
mod native;
mod page;
mod placement;
mod query;
mod resolve;
mod response;
mod runtime_route;
mod shared;
mod stats;
mod wire;

pub use boundary::{Boundary, BoundaryBuilder};
pub use buffered::{BufferedMode, BufferedModeFuture, BufferedModeLayer};
pub use crawlers::{CRAWLER_TOKENS, is_crawler};
pub use engine::{DEFAULT_CONTENT_SECURITY_POLICY, Engine, EngineBuilder};
pub use mode::{RenderMode, UnknownRenderMode};
pub use native::{NATIVE_PATCHING_SINCE, patches_natively};
pub use page::Page;
pub use resolve::{DEFAULT_ERROR_HTML, DEFAULT_TIMEOUT_HTML};
pub use response::RENDER_MODE_HEADER;
pub use runtime_route::runtime_router;
pub use stats::{Stats, StatsSnapshot};
pub use wire::{REVEAL_EVENT, TIMINGS, runtime, runtime_path};
