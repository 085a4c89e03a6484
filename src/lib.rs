//! # suspense-ssr
//!
//! Streaming server-side rendering the way React 18 does it: the page's shell
//! goes out at once with a fallback for each slow part, and each part's real
//! HTML is streamed into place, in whatever order its data arrives, over one
//! chunked response.
//!
//! # Layout
//!
//! Dependencies point one way: `site → engine + assets + export + data`,
//! `server → site + engine + observe`; `engine` and `assets` know no
//! application.
//!
//! - [`engine`]: knows nothing of any application.
//!   - `engine/page.rs`: [`Engine`](engine::Engine) and [`Page`](engine::Page):
//!     creating boundaries, turning a page into a streamed response, headers.
//!   - `engine/boundary.rs`: the [`Boundary`](engine::Boundary) handle (renders
//!     as a placeholder) and the future that renders its content, with
//!     errors, panics and timeouts contained.
//!   - `engine/body.rs`: the body stream: runs the boundaries, orders the
//!     chunks (shell first, completion order, parents before children; or
//!     front to back in the in-order and buffered modes), cancels everything
//!     when the client leaves.
//!   - `engine/wire.rs`: the wire format and the client swap runtime, with
//!     an example of the bytes; `engine/overlay.js`: the `?debug=1` waterfall.
//!   - `engine/mode.rs`: the render modes (stream, in-order, buffered) and
//!     how a request picks one; `engine/crawlers.rs`: the crawler list;
//!     `engine/extract.rs`: [`Page`](engine::Page) as a handler argument.
//!   - `engine/placement.rs`: which placeholders a render wrote.
//!   - `engine/stats.rs`: counters, gauges and histograms (live boundaries,
//!     time to shell and to each fragment), exportable to Prometheus.
//! - [`site`]: the pages this server ships: the board (`/`, `/posts/{id}`,
//!   its forms), `/about`, `/bench`, `/compare`, `/static`, and `/export`
//!   (the pages pre-rendered at startup).
//! - [`data`]: the board's data behind the `Store` trait; SQLite by default.
//! - [`export`]: pages rendered in buffered mode into files, plus assets.
//! - [`assets`]: `/static` with content fingerprints (immutable caching),
//!   precompressed brotli/gzip variants made at startup, revalidation;
//!   `assets/memory.rs` answers small files from memory.
//! - [`server`]: accept loop with a connection cap, hyper connections with
//!   header and body timeouts and size limits, TCP_NODELAY, graceful
//!   shutdown that ends pending pages with their timeout content.
//! - [`observe`]: a `tracing` span per request (id, route, status, time to
//!   shell and to last byte) and `GET /metrics`.
//! - [`config`]: command-line flags, validated into a [`Config`](config::Config).

pub mod assets;
pub mod config;
pub mod data;
pub mod engine;
pub mod export;
pub mod observe;
pub mod server;
pub mod site;
