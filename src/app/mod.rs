//! The demo application: the site's router and the pages written on the
//! engine as any application would write them (the engine knows nothing of
//! them).
//!
//! - `mod.rs` (here): [`app`], the router of every page, with the site's
//!   security headers, gzip and body limit; [`AppState`]; [`engine`], the
//!   site's engine settings; the 404 page; [`EXPORT_PAGES`] and [`export()`].
//! - `exported.rs`: `/export`, those pages rendered by the first request
//!   that asks for one ([`ExportDir`]).
//! - `prerendered.rs`: the prerendered pages' shells ([`Shells`]), and
//!   their files for a static tier with SSI ([`PRERENDERED_PAGES`]).
//! - `board.rs`: the board, `GET /` and `GET /posts/{id}`, and its forms
//!   (`POST /posts`, `/posts/{id}/comments`, `/comments/{id}/like`);
//!   `form.rs` decodes and validates them.
//! - `latency.rs`: the board's simulated slow sources (`--latency`).
//! - `about.rs`: `GET /about`, what this server is, with links to see it
//!   stream.
//! - `faults.rs`: `GET /faults`, parts that fail in every way a part can.
//! - `/bench` and `/compare` are the benchmark page's (`crate::bench`);
//!   `/static` and `/favicon.ico` are [`crate::assets`]'; gzip is
//!   [`crate::http`]'s.

mod about;
mod board;
mod exported;
mod faults;
mod form;
mod latency;
mod prerendered;

pub use crate::prerendered::Shells;
pub use exported::ExportDir;
pub use latency::Latency;
pub use prerendered::{PRERENDERED_PAGES, PrerenderedPage};

use std::path::Path;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::services::ServeDir;

use crate::assets::{self, Assets, filters};
use crate::bench;
use crate::data::Store;
use crate::export::{self, ExportError, ExportPage, Report};
use axum_suspense::buffered::BufferedModeLayer;
use axum_suspense::{Engine, EngineBuilder};

/// The pages that can be pre-rendered (`suspense-ssr export`): their content
/// does not depend on the request.
pub const EXPORT_PAGES: &[ExportPage] = &[
    ExportPage {
        url: "/about",
        file: "about/index.html",
    },
    ExportPage {
        url: "/bench",
        file: "bench/index.html",
    },
    // The static frame of `/compare`: the page its other frames render.
    ExportPage {
        url: bench::compare::BENCH,
        file: bench::compare::EXPORTED,
    },
];

/// What every handler of the site shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Makes the pages and counts what their boundaries do.
    pub engine: Engine,
    /// The board's data.
    pub store: Arc<dyn Store>,
    /// The board's simulated slow sources.
    pub latency: Latency,
    /// Where an export of [`EXPORT_PAGES`] is (or will be, once asked
    /// for), served under `/export` (the static frame of `/compare`). An
    /// `Arc`: axum clones the state for every request.
    pub export: Option<Arc<ExportDir>>,
    /// gzip pages for clients that accept it (default: on).
    pub compress_pages: bool,
    /// Request bodies (the board's forms) larger than this are refused with
    /// `413` before anything is parsed (default: 16 KiB).
    pub max_body_bytes: usize,
    /// The prerendered pages' shells, each rendered once (on first use).
    pub shells: Arc<Shells>,
}

/// Handlers take their [`Page`](axum_suspense::Page) as an argument, made on
/// this engine.
impl FromRef<AppState> for Engine {
    fn from_ref(state: &AppState) -> Engine {
        state.engine.clone()
    }
}

/// The Content-Security-Policy of the site's pages (`{nonce}`: each page's
/// nonce): only this origin, inline scripts and styles only with the page's
/// nonce, images from this origin or `data:`, no plugins, no `<base>`, forms
/// post here, and only this origin may frame a page (`/compare` frames its
/// own).
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'self'";

/// The engine settings of this site's pages: its own policy, `?debug=1`
/// draws the timing overlay (this is a demonstration), and every page says
/// its mode in `x-render-mode` (the bench scripts and tests read it).
/// Timeouts are added by the caller.
pub fn engine() -> EngineBuilder {
    Engine::builder()
        .content_security_policy(PAGE_CONTENT_SECURITY_POLICY)
        .debug_param("debug")
        .render_mode_header(true)
        // Browsers that patch natively fetch the runtime once (the site
        // serves it: `app`) and their pages carry no inline script.
        .external_runtime(true)
}

impl AppState {
    pub fn new(engine: Engine, store: Arc<dyn Store>) -> Self {
        AppState {
            store,
            latency: Latency::default(),
            export: None,
            compress_pages: true,
            max_body_bytes: 16 * 1024,
            shells: Arc::default(),
            engine,
        }
    }
}

/// The whole site as a router, kept apart from the server so tests can serve
/// it on any listener.
pub fn app(state: AppState, static_dir: &Path) -> Router {
    let mut router = Router::new()
        .route("/", get(board::board))
        // The parts of the prerendered `/`, for the static tier.
        .route("/_parts/{shell}/board", get(board::board_parts))
        .route("/posts", post(board::add_post))
        .route("/posts/{id}", get(board::post))
        .route("/posts/{id}/comments", post(board::add_comment))
        .route("/comments/{id}/like", post(board::like))
        .route("/about", get(about::about))
        .route("/bench", get(bench::bench))
        // The parts of the prerendered `/bench`, for the static tier.
        .route("/_parts/{shell}/bench", get(bench::bench_parts))
        .route("/compare", get(bench::compare::compare))
        .route("/faults", get(faults::faults))
        .merge(axum_suspense::client::runtime_router())
        .nest_service("/static", static_files(static_dir))
        // Browsers ask for `/favicon.ico` on pages that link no icon (the
        // board's link theirs): the same icon, not a 404. (After
        // `static_files`, which installs the directory it answers from.)
        .route("/favicon.ico", get(assets::favicon));
    if let Some(export) = state.export.clone() {
        let (state, static_dir): (_, Arc<Path>) = (state.clone(), static_dir.into());
        router = router.nest_service(
            "/export",
            tower::service_fn(move |request| {
                let served =
                    exported::serve(state.clone(), static_dir.clone(), export.clone(), request);
                async move { Ok::<_, std::convert::Infallible>(served.await) }
            }),
        );
    }
    let compress = state.compress_pages;
    let max_body = state.max_body_bytes;
    // One layer of several (a `ServiceBuilder`): each `Router::layer` boxes
    // the routes and their futures once more.
    let router = router.fallback(not_found).layer(
        ServiceBuilder::new()
            // The server counts requests by the route matched here.
            .layer(crate::observe::ReportRouteLayer)
            // Outside the buffering, so a buffered page is compressed whole
            // and a streamed one chunk by chunk (the compressor flushes
            // whatever each chunk gave before waiting for the next); only
            // for the requests that accept gzip (see `crate::http::Gzip`).
            .layer(crate::http::GzipLayer::new(compress))
            .map_response(security_headers)
            // Buffered pages go out whole, headers included, when done.
            .layer(BufferedModeLayer::new())
            // Forms are small: a body that turns out bigger is refused with
            // 413 (the server refuses one whose Content-Length is bigger
            // before it reaches the site).
            .layer(DefaultBodyLimit::max(max_body)),
    );
    router.with_state(state)
}

/// For every response that does not set its own: a policy that allows only
/// this origin (pages set theirs, with the page's script nonce), framing
/// by this origin only (`/compare` frames its own pages), no MIME sniffing,
/// and no referrer sent to other origins.
fn security_headers<B>(mut response: Response<B>) -> Response<B> {
    use axum::http::{HeaderName, HeaderValue, header};
    const HEADERS: [(HeaderName, HeaderValue); 4] = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; object-src 'none'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'self'",
            ),
        ),
        // For browsers older than `frame-ancestors`.
        (
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ];
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.entry(name).or_insert(value);
    }
    response
}

/// `/static`: fingerprinted, precompressed, cached (see [`crate::assets`]).
/// The directory is walked once per call; the first call of the process
/// also makes it the one templates link with the `asset` filter.
fn static_files(static_dir: &Path) -> Router {
    match Assets::load(static_dir) {
        Ok((assets, report)) => {
            tracing::debug!(?report, dir = %static_dir.display(), "static assets");
            let assets = Arc::new(assets);
            assets::install(assets.clone());
            assets.router()
        }
        Err(error) => {
            // Still served, without fingerprints or precompressed variants.
            tracing::warn!(%error, dir = %static_dir.display(), "cannot walk the static directory");
            Router::new().fallback_service(ServeDir::new(static_dir))
        }
    }
}

/// Renders [`EXPORT_PAGES`] in buffered mode into `out`, with a copy of
/// `static_dir` when given, and the shells of [`PRERENDERED_PAGES`] for a
/// static tier with SSI.
pub async fn export(
    state: AppState,
    static_dir: &Path,
    copy_static: bool,
    out: &Path,
) -> Result<Report, ExportError> {
    let shells_state = state.clone();
    // The router first: it installs the assets the shells link.
    let router = app(state, static_dir);
    let mut report =
        export::export(router, EXPORT_PAGES, copy_static.then_some(static_dir), out).await?;
    prerendered::write(&shells_state, out, &mut report)?;
    Ok(report)
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound<'a> {
    /// Escaped by askama; at most 200 characters of it.
    path: &'a str,
}

/// The 404 page: HTML for people, short, with a way back.
async fn not_found(uri: Uri) -> Response {
    not_found_page(uri.path())
}

/// The 404 page for `path`.
pub(crate) fn not_found_page(path: &str) -> Response {
    let end = (0..=path.len().min(200))
        .rev()
        .find(|&at| path.is_char_boundary(at))
        .unwrap_or(0);
    let path = &path[..end];
    match (NotFound { path }).render() {
        Ok(html) => (StatusCode::NOT_FOUND, Html(html)).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}
