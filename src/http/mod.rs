//! General HTTP layers, not tied to any page: gzip for pages
//! ([`GzipLayer`]: a streamed page is compressed chunk by chunk, with no
//! compressor held while it waits), the request checks the server puts
//! before the routes ([`CheckRequestLayer`]: `414`, `400` without `Host`,
//! `413`), request ids and a span per request (tower-http's, set up in
//! [`trace`]), and the plain-text refusal every handler may answer with.

mod check;
mod gzip;
pub mod trace;

pub use check::{CheckRequest, CheckRequestLayer};
pub use gzip::{Gzip, GzipFuture, GzipLayer};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// gzip (level 1) when `Accept-Encoding` allows it, for what is worth it
/// (not small bodies, not formats that are compressed already, not
/// responses that already carry a `Content-Encoding`), a streamed page
/// chunk by chunk with no compressor held while it waits (see [`Gzip`]).
pub fn compression() -> GzipLayer {
    GzipLayer::new(true)
}

/// A `500` that tells the client nothing of the cause (it is logged).
pub(crate) fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        "internal error\n",
    )
        .into_response()
}

/// `400 Bad Request` with a one-line reason, as plain text.
pub(crate) fn bad_request(reason: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        format!("{reason}\n"),
    )
        .into_response()
}
