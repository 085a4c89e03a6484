//! The demo's own helpers: the site's server (the binary's `serve`, with its
//! limits) on `127.0.0.1:0`, stopped when dropped, and fresh board
//! databases. The raw client and the browser come from the workspace's
//! `test-kit`.

use std::path::PathBuf;

use axum::Router;
use axum_suspense::Engine;
use suspense_ssr::app::Latency;
use suspense_ssr::app::{self, AppState};
use suspense_ssr::config::Config;
use suspense_ssr::data::{DatabaseOptions, SqliteStore};
use suspense_ssr::server;
pub use suspense_ssr::server::ServeOptions;
use tokio::net::TcpListener;

pub use test_kit::{RawResponse, Served, WAIT, eventually, get, have_tool, pos, send, send_on};

/// A fresh board database of its own under `target/tmp`.
pub fn fresh_database() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "board-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("board.sqlite3")
}

/// The site's state on a fresh board with no simulated latency.
pub async fn site_state() -> AppState {
    let store = SqliteStore::open(&fresh_database())
        .await
        .expect("open a fresh board");
    let mut state = AppState::new(
        suspense_ssr::app::engine().build(),
        std::sync::Arc::new(store),
    );
    state.latency = suspense_ssr::app::Latency::NONE;
    state
}

/// A fresh, empty PostgreSQL database of its own, on the run's shared
/// server (`scripts/test`) or a private one; `None` (after saying why)
/// without PostgreSQL here.
pub async fn fresh_postgres(name: &str) -> Option<PgDatabase> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let server = test_kit::pg::Postgres::for_test(name)?;
    let db = format!(
        "{name}_{}_{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) =
        tokio_postgres::connect(&server.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    Some(PgDatabase {
        url: server.url(&db),
        _server: server,
    })
}

/// A test's database on a PostgreSQL server (kept running while this
/// lives, if the server is the test's own).
pub struct PgDatabase {
    pub url: String,
    _server: test_kit::pg::Postgres,
}

impl PgDatabase {
    /// A client on this database, for checking what was stored.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test's database");
        tokio::spawn(connection);
        client
    }
}

/// The `suspense-ssr` binary, to start as a user does: no stdin, killed if
/// the test drops it.
pub fn binary() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_suspense-ssr"));
    command
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    command
}

/// The address a started binary (its stdout piped) names in its first line
/// of output, `listening on http://ADDR`.
pub async fn listening_addr(child: &mut tokio::process::Child) -> std::net::SocketAddr {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("stdout piped");
    let first = tokio::time::timeout(WAIT, tokio::io::BufReader::new(stdout).lines().next_line())
        .await
        .expect("no output in time")
        .unwrap()
        .expect("a first line");
    first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line must name the address, got {first:?}"))
        .parse()
        .expect("a socket address")
}

pub fn static_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
}

/// The site's server (the binary's accept loop, limits and shutdown) on a
/// loopback port, stopped when dropped; the rest is the kit's [`Served`].
pub struct TestServer(Served);

impl std::ops::Deref for TestServer {
    type Target = Served;

    fn deref(&self) -> &Served {
        &self.0
    }
}

impl TestServer {
    pub async fn start(router: Router) -> Self {
        Self::start_with(router, options()).await
    }

    pub async fn start_with(router: Router, options: ServeOptions) -> Self {
        Self::start_on(Served::bind().await, router, options)
    }

    /// Serves on a listener the test made (with socket options of its own:
    /// accepted connections inherit them).
    pub fn start_on(listener: TcpListener, router: Router, options: ServeOptions) -> Self {
        TestServer(Served::spawn(listener, move |listener, shutdown| {
            server::serve(listener, router, options, shutdown)
        }))
    }

    /// The real site, with an engine the test can watch.
    pub async fn site() -> (Self, Engine) {
        Self::site_with(options()).await
    }

    /// The real site served with `options`, on a fresh board database.
    /// Its pages are aborted at the drain timeout, as the binary's are.
    pub async fn site_with(options: ServeOptions) -> (Self, Engine) {
        let state = site_state().await;
        let engine = state.engine.clone();
        let router = app::app(state, &static_dir());
        let options = ServeOptions {
            engine: Some(engine.clone()),
            ..options
        };
        (Self::start_with(router, options).await, engine)
    }

    /// The real site on the board `database` names, with `latency`, served
    /// as the binary serves it (the store's health on `/metrics`).
    pub async fn board_on(database: &DatabaseOptions, latency: Latency) -> (Self, Engine) {
        let store = suspense_ssr::data::open(database)
            .await
            .expect("open the board");
        let mut state = AppState::new(app::engine().build(), store.clone());
        state.latency = latency;
        let engine = state.engine.clone();
        let router = app::app(state, &static_dir());
        let options = ServeOptions {
            engine: Some(engine.clone()),
            store: Some(store),
            ..options()
        };
        (Self::start_with(router, options).await, engine)
    }

    /// The real site with its exportable pages served under `/export`,
    /// rendered into `dir` by the first request there, as the binary does.
    pub async fn site_exported(dir: &std::path::Path) -> (Self, Engine) {
        let mut state = site_state().await;
        let engine = state.engine.clone();
        state.export = Some(app::ExportDir::on_first_request(dir));
        let router = app::app(state, &static_dir());
        (Self::start_with(router, options()).await, engine)
    }

    /// Asks for shutdown and waits (bounded) for the server to return.
    pub async fn stop(self) -> std::io::Result<()> {
        self.0.stop().await
    }
}

pub fn options() -> ServeOptions {
    Config::with_static_dir(static_dir()).serve
}

/// Makes a test's own `tracing` subscriber (`set_default`, on its thread)
/// see every span and event, whatever other tests run at the same time.
///
/// tracing caches, per callsite, whether any subscriber is interested; a
/// callsite first hit on another test's thread, where none is, can be
/// cached as "never", and this test's span then goes unrecorded. A global
/// subscriber that answers "sometimes" (and records nothing) keeps the
/// question open, so each thread's own subscriber decides.
pub fn keep_tracing_interest_open() {
    use tracing::span::{Attributes, Id, Record};
    use tracing::subscriber::Interest;
    use tracing::{Event, Metadata};

    struct Undecided;
    impl tracing::Subscriber for Undecided {
        fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
            Interest::sometimes()
        }
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            false
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Undecided);
    });
}
