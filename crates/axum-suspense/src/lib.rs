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
//! use axum_suspense::{Boundary, Engine, Page, Text};
//!
//! #[derive(Template)]
//! #[template(source = "<!doctype html><html><body><h1>Hello</h1>{{ news }}</body></html>", ext = "html")]
//! struct Shell { news: Boundary }
//!
//! async fn home(page: Page) -> Response {
//!     let news = page.suspend(Text::new("Loading the news…"), async {
//!         tokio::time::sleep(Duration::from_millis(500)).await; // a slow source
//!         Text::new("Nothing happened today.")
//!     });
//!     page.stream(Shell { news })
//! }
//!
//! let app: Router = Router::new().route("/", get(home)).with_state(Engine::new());
//! // axum::serve(listener, app).await
//! ```
//!
//! The crate's README has a quick start to paste into a new project, and
//! the [`cookbook`] recipes for what comes next (tracing, compression,
//! HTTP/2, a CSP nonce in a layout, timeouts, `<head>`, caching, testing).
//! The repository's `examples/` directory has programs by task: nested
//! boundaries; errors, panics and timeouts; render modes and crawlers; a
//! strict CSP; axum state; graceful shutdown; islands (parts with data)
//! and reveal order.
//!
//! # What the engine guarantees
//!
//! - **Shell first.** The shell, with every fallback, is the first chunk; a
//!   boundary's future is first polled after it has been handed over.
//! - **Completion order, parents first.** Each boundary's content is sent as
//!   soon as it is ready, with those ready together in one chunk; a nested
//!   boundary's content never goes before its parent's. A page can choose
//!   otherwise, on the server: boundaries in a [`RevealGroup`] go out in
//!   its [`RevealOrder`] (forwards, or together), and
//!   [`PageBuilder::batch`] lets parts ready close together share a chunk.
//! - **Parts bring their data.** A boundary's future can give data beside
//!   its content ([`BoundaryBuilder::suspend_with_data`]): inert, escaped
//!   JSON first in the part, in every mode; the client gets it with each
//!   part's reveal event and through the islands module's
//!   `suspense.on(name, …)` ([`client::islands`]).
//! - **One failing part never tears the page.** An `Err`, a panic, a
//!   timeout, the page's deadline or [`Page::abort`] shows that boundary's
//!   error or timeout content; the page still ends well-formed. Errors are
//!   logged with [`tracing`](https://docs.rs/tracing): install a subscriber
//!   (`tracing_subscriber::fmt::init()`) or they are not seen.
//! - **A boundary in the wrong place is caught.** One inside a tag, an
//!   attribute value, a comment, `<title>`, `<textarea>`, `<script>`,
//!   `<style>`, a `<template>` or the `<head>`, or rendered twice or never,
//!   refuses the page in a debug build and is logged and left out in a
//!   release build ([`EngineBuilder::refuse_misplaced`]).
//! - **Nothing outlives its client.** Boundary futures run inside the
//!   response body, not in spawned tasks: when the client leaves, every
//!   one of them is dropped. A client that reads slowly slows its page.
//! - **A strict Content-Security-Policy.** Every inline script the engine
//!   writes carries a per-page nonce, and pages are sent with a policy
//!   without `'unsafe-inline'` ([`DEFAULT_CONTENT_SECURITY_POLICY`]).
//! - **Data stays data.** Fallbacks and content are askama templates
//!   (escaped), or the ready-made [`Text`] (escaped), [`List`] of templates
//!   and [`Html`] (trusted markup, named so); nothing taken from input is
//!   ever written as markup.
//!
//! # Render modes
//!
//! A page is sent in one of three [`RenderMode`]s: `stream` (out of order,
//! the default), `in-order` (no script: each part in document order) and
//! `buffered` (one complete document, for crawlers, which get it by
//! default). A request picks one with `?render=`; see [`EngineBuilder`] for
//! the parameter names, and [`BufferedModeLayer`](buffered::BufferedModeLayer)
//! to send buffered pages with their headers only once they are whole.
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
//! - `metrics` (off by default): `Engine::register_metrics`, the engine's
//!   statistics in a [prometheus-client] registry. [`Engine::stats`] works
//!   without it.
//!
//! [prometheus-client]: https://docs.rs/prometheus-client
//!
//! # Layout of the source
//!
//! Read top-down: a page and its boundaries, then what runs them, then the
//! bytes.
//!
//! - `engine.rs`: [`Engine`] and [`EngineBuilder`], the settings pages
//!   share; `page.rs`: [`Page`], what a handler builds a page with, and
//!   [`PageBuilder`], which fixes what the page is; `extract.rs`: both as
//!   handler arguments, set up from the request (`query.rs` reads its
//!   parameters).
//! - `boundary.rs`: the [`Boundary`] handle (renders as a placeholder) and
//!   [`BoundaryBuilder`]; `content.rs`: [`Text`], [`Html`], [`List`];
//!   `data.rs`: a part's data as JSON safe in a script element;
//!   `group.rs`: [`RevealGroup`] and [`RevealOrder`], and the body's book of
//!   which member may go.
//! - `shared.rs`: the state a page shares with its body, in one place.
//! - `resolve.rs`: a boundary's future run to its final HTML, with errors
//!   and panics contained, and every render checked: `placement.rs` (which
//!   boundaries a render placed) and `context.rs` (whether each landed
//!   where it can stream); `label.rs`: how a boundary is named in logs.
//! - `response.rs`: a rendered shell becomes a response (body, headers);
//!   `csp.rs`: the page's secret, nonce and policy.
//! - `body.rs`: the body stream that runs the boundaries and orders the
//!   chunks.
//! - `wire.rs`: the wire format, with an example of the bytes (`tags.rs`
//!   closes a fallback's open elements, `decimal.rs` writes its numbers);
//!   `runtime.js`
//!   and `overlay.js`: the client runtime and the timing overlay;
//!   `islands.js`: the islands module (`suspense.on`);
//!   `native.rs`: which browsers patch natively; `runtime_route.rs`: the
//!   runtime as a file ([`client`] gathers these).
//! - `prerender.rs`: partial prerendering: a shell rendered once without a
//!   request ([`Page::prerender`], [`prerender::Prerendered`]), the parts
//!   alone per request ([`Page::stream_parts`]), joined by a static tier's
//!   SSI or in process ([`Page::stream_prerendered`]).
//! - `mode.rs`: the render modes; `crawlers.rs`: the crawler list;
//!   `buffered.rs`: [`BufferedModeLayer`](buffered::BufferedModeLayer).
//! - `stats.rs`: [`Stats`](stats::Stats); `metrics.rs`: their Prometheus
//!   export. `error.rs`: errors and default failure content.
//! - `cookbook.md`: the [`cookbook`], each recipe a tested example.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod boundary;
pub mod buffered;
pub mod client;
mod content;
mod context;
pub mod crawlers;
mod csp;
mod data;
mod decimal;
mod engine;
pub mod error;
mod extract;
mod group;
mod label;
#[cfg(feature = "metrics")]
mod metrics;
mod mode;
mod native;
mod page;
mod placement;
pub mod prerender;
mod query;
mod resolve;
mod response;
mod runtime_route;
mod shared;
pub mod stats;
mod tags;
mod wire;

#[doc = include_str!("cookbook.md")]
pub mod cookbook {}

pub use boundary::{Boundary, BoundaryBuilder};
pub use content::{Html, List, Text};
pub use csp::DEFAULT_CONTENT_SECURITY_POLICY;
pub use engine::{Engine, EngineBuilder};
pub use group::{RevealGroup, RevealOrder, UnknownRevealOrder};
pub use mode::RenderMode;
pub use page::{Page, PageBuilder};
pub use response::RENDER_MODE_HEADER;
