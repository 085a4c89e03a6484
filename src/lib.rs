//! # suspense-ssr
//!
//! Streaming server-side rendering the way React 18 does it: the page's shell
//! goes out at once with a fallback for each slow part, and each part's real
//! HTML is streamed into place, in whatever order its data arrives, over one
//! chunked response.
//!
//! # Layout
//!
//! Dependencies point one way: `run → config + server + app + data`,
//! `app → bench + prerendered + engine + assets + http + export + data`,
//! `bench → prerendered + engine + assets + http`,
//! `server → engine + observe + http + data`; `engine`, `assets` and
//! `http` know no application, and no module imports `run`.
//!
//! - the engine is the workspace's library crate [`axum_suspense`]
//!   (`crates/axum-suspense`): it knows nothing of any application; its
//!   `lib.rs` maps its own files.
//! - [`app`]: the demo application and the site's router: the board (`/`,
//!   `/posts/{id}`, its forms, its simulated latency), `/about`, `/faults`,
//!   `/export` (the exportable pages, pre-rendered when first asked for),
//!   and the security headers every answer gets.
//! - `bench`: the benchmark page (`/bench`, as `benches/PAGE.md` defines
//!   it), `/compare`, and the escaper `benches/ceiling` includes.
//! - `prerendered`: the prerendered pages' shells, each rendered once on
//!   first use ([`app::Shells`]); each page says how its own is made
//!   (docs/prerendering.md).
//! - [`http`]: general HTTP layers: gzip for pages, without holding a
//!   compressor while a page waits, and the request checks the server puts
//!   before the routes (`414`, `400` without `Host`, `413`).
//! - [`data`]: the board's data behind the `Store` trait; SQLite by default,
//!   PostgreSQL for several instances (waited for at startup with `--db-wait`).
//! - [`export`]: pages rendered in buffered mode into files, plus assets.
//! - [`assets`]: `/static` with content fingerprints (immutable caching),
//!   precompressed brotli/gzip variants made at startup, revalidation;
//!   `assets/memory.rs` answers small files from memory; `/favicon.ico`
//!   answers the directory's icon; `assets/filters.rs` links them from
//!   templates.
//! - [`server`]: the listener, the accept loop with a connection cap, hyper
//!   connections with header and body timeouts and size limits,
//!   TCP_NODELAY, graceful shutdown that ends pending pages with their
//!   timeout content. Beside it, `server/socket.rs`: what each connection
//!   leaves in the kernel (a fixed send buffer, and a reset when the send
//!   timeout gives up on a client); `server/heap.rs`: after a burst of
//!   connections ends, the heap's free memory goes back to the system
//!   (glibc keeps it otherwise).
//! - [`observe`]: `GET /metrics` and the request counts by route; it wraps
//!   the router from outside, and the site reports the route it matched
//!   (`ReportRouteLayer`). The request id and the span per request (id,
//!   route, status, times) are tower-http's, set up in [`http::trace`].
//! - [`health`]: `GET /healthz` (answered by the server before any route)
//!   and the `healthcheck` command that asks it (the container image's
//!   health check).
//! - [`run`]: the server run from its configuration: the engine's page
//!   settings, the store (waited for), the site, then serving until
//!   shutdown.
//! - [`flags`]: the value parsers the option structs share.
//! - [`config`]: command-line flags, each declared once on the struct that
//!   uses it ([`Config`](config::Config), [`ServeOptions`](server::ServeOptions),
//!   [`DatabaseOptions`](data::DatabaseOptions)) and checked as clap parses
//!   it; [`ConfigError`](config::ConfigError) for what no single flag tells.

pub mod app;
pub mod assets;
mod bench;
pub mod config;
pub mod data;
pub mod export;
pub mod flags;
pub mod health;
pub mod http;
pub mod observe;
mod prerendered;
pub mod run;
pub mod server;
