//! Running the server from its configuration: the engine with the page
//! settings, the board's store (waited for), the site, then serving until
//! shutdown. Above the server and the application, which know nothing of
//! the configuration's whole.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::app::{self, AppState, ExportDir};
use crate::config::Config;
use crate::data::{self, Store};
use crate::server::{ServeOptions, serve};

/// Serves the site on `listener` until `shutdown` completes, then drains.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let engine = app::engine()
        .boundary_timeout(config.boundary_timeout)
        .page_deadline(config.page_deadline)
        .build();
    let store = open_store(&config).await?;
    tracing::info!(database = %store.describe(), latency = %config.latency, "board ready");
    // The static side of `/compare`: the exportable pages, rendered by the
    // first request for one into a directory of this process's own (removed
    // when `run` returns), served by the file service.
    let export_dir = std::env::temp_dir().join(format!("suspense-ssr-{}", std::process::id()));
    let state = AppState {
        engine: engine.clone(),
        store: store.clone(),
        latency: config.latency,
        export: Some(ExportDir::on_first_request(export_dir.as_path())),
        compress_pages: !config.no_compression,
        max_body_bytes: config.serve.max_body_bytes,
        shells: Arc::default(),
    };
    let router = app::app(state, &config.static_dir);
    let options = ServeOptions {
        engine: Some(engine),
        store: Some(store),
        ..config.serve
    };
    let served = serve(listener, router, options, shutdown).await;
    let _ = std::fs::remove_dir_all(&export_dir);
    served
}

/// Opens the board's store; while it is unavailable, tries again every
/// second for up to `--db-wait`.
async fn open_store(config: &Config) -> io::Result<Arc<dyn Store>> {
    let deadline = tokio::time::Instant::now() + config.db_wait;
    loop {
        match data::open(&config.database).await {
            Ok(store) => return Ok(store),
            Err(error) if error.is_unavailable() && tokio::time::Instant::now() < deadline => {
                tracing::warn!(database = %config.database.database, %error, "the board's database is unavailable; trying again in 1s (--db-wait)");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => {
                return Err(io::Error::other(format!(
                    "the board's database ({}): {error}",
                    config.database.database
                )));
            }
        }
    }
}
