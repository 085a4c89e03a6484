//! `/export`: the exportable pages ([`EXPORT_PAGES`](super::EXPORT_PAGES)),
//! rendered into a directory and served from it as a plain file server
//! would (the static frame of `/compare`).
//!
//! The binary renders them when the first request under `/export` asks,
//! not at every start: most runs never open `/compare`, and a start should
//! not write files nobody reads.

use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::AppState;

/// Where the export is, and whether it has been rendered.
#[derive(Debug)]
pub struct ExportDir {
    /// Served under `/export`.
    dir: Arc<Path>,
    /// Set once the pages are there; an error (logged when it happened) is
    /// not tried again, so a broken export costs one attempt, not one per
    /// request.
    rendered: OnceCell<Result<(), ()>>,
}

impl ExportDir {
    /// A directory the pages are rendered into by the first request under
    /// `/export` (concurrent ones wait for that rendering).
    pub fn on_first_request(dir: impl Into<Arc<Path>>) -> Arc<Self> {
        Arc::new(ExportDir {
            dir: dir.into(),
            rendered: OnceCell::new(),
        })
    }
}

/// Answers `request` (its path relative to `/export`) from the export,
/// rendering it first if this is the first request.
pub(super) async fn serve(
    state: AppState,
    static_dir: Arc<Path>,
    export: Arc<ExportDir>,
    request: Request,
) -> Response {
    let rendered = export
        .rendered
        .get_or_init(|| async {
            match super::export(state, &static_dir, false, &export.dir).await {
                Ok(report) => {
                    tracing::info!(dir = %export.dir.display(), pages = report.pages.len(), "pre-rendered the exportable pages");
                    Ok(())
                }
                Err(error) => {
                    tracing::warn!(%error, "could not pre-render the exportable pages; /export is off");
                    Err(())
                }
            }
        })
        .await;
    if rendered.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            "the exported pages could not be rendered\n",
        )
            .into_response();
    }
    match ServeDir::new(&*export.dir).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
