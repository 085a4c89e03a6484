//! The demo's own helpers: the site's server (the binary's `serve`, with its
//! limits) on `127.0.0.1:0`, stopped when dropped, and fresh board
//! databases. The raw client and the browser come from the workspace's
//! `test-kit`.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum_suspense::Engine;
use suspense_ssr::config::Config;
use suspense_ssr::data::SqliteStore;
use suspense_ssr::server::{self, ServeOptions};
use suspense_ssr::site::{self, AppState};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use test_kit::{RawResponse, WAIT, eventually, get, have_tool, pos, send};

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
        suspense_ssr::site::engine().build(),
        std::sync::Arc::new(store),
    );
    state.latency = suspense_ssr::site::Latency::NONE;
    state
}

pub fn static_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
}

/// A server on a loopback port, stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(router: Router) -> Self {
        Self::start_with(router, options()).await
    }

    pub async fn start_with(router: Router, options: ServeOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve(listener, router, options, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            shutdown: Some(tx),
            handle: Some(handle),
        }
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
        let router = site::app(state, &static_dir());
        let options = ServeOptions {
            engine: Some(engine.clone()),
            ..options
        };
        (Self::start_with(router, options).await, engine)
    }

    /// The real site with its pages pre-rendered into `dir` and served
    /// under `/export`, as the binary does at startup.
    pub async fn site_exported(dir: &std::path::Path) -> (Self, Engine) {
        let mut state = site_state().await;
        let engine = state.engine.clone();
        site::export(state.clone(), &static_dir(), false, dir)
            .await
            .expect("export the pages");
        state.export_dir = Some(dir.to_owned());
        let router = site::app(state, &static_dir());
        (Self::start_with(router, options()).await, engine)
    }

    /// Asks for shutdown and waits (bounded) for the server to return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.take().expect("not stopped yet").send(());
        let handle = self.handle.take().expect("not stopped yet");
        tokio::time::timeout(WAIT, handle)
            .await
            .expect("server did not stop in time")
            .expect("server task panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

pub fn options() -> ServeOptions {
    let config = Config::with_static_dir(static_dir());
    ServeOptions::from(&config)
}
