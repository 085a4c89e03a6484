//! Request ids and one `tracing` span per request, from tower-http's
//! [`SetRequestIdLayer`], [`PropagateRequestIdLayer`] and [`TraceLayer`];
//! what is ours is only what they leave to the user:
//!
//! - which ids are taken from the client: `X-Request-Id` (as nginx's
//!   `$request_id` sends it) only if it is a plain token, 1 to 64 letters,
//!   digits, `-`, `_` or `.` ([`drop_unplain_request_id`]), since the id goes
//!   into every log line of the request; else a fresh one ([`FreshIds`]);
//! - the span ([`request_span`]): the id, the method, the route (recorded
//!   by the router's layers once it has matched, see
//!   [`ReportRouteLayer`](crate::observe::ReportRouteLayer)), the status and
//!   the time to the response's head;
//! - one `INFO` event when the last byte of the body has left
//!   ([`response_sent`]), with the body's time and size.
//!
//! The body is polled inside the span, so the engine's events about a
//! page's boundaries are the request's.
//!
//! Cost, counted by `benches/instructions.sh` on `/bench?delay=0`: 4,975
//! instructions a request more than the hand-written layers these replaced
//! at `RUST_LOG=warn` (137,441 against 132,466, +3.8%), none at the default
//! `info` (159,091 against 159,767): within `benches/ab.sh`'s noise, so no
//! hand-written copy.
//!
//! [`SetRequestIdLayer`]: tower_http::request_id::SetRequestIdLayer
//! [`PropagateRequestIdLayer`]: tower_http::request_id::PropagateRequestIdLayer

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use tower_http::request_id::{MakeRequestId, RequestId};
use tower_http::trace::{HttpMakeClassifier, TraceLayer};
use tracing::Span;
use tracing::field::Empty;

/// The header that carries the request's id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// tower-http's [`TraceLayer`] as the server sets it up.
pub type Trace<B> = TraceLayer<
    HttpMakeClassifier,
    fn(&Request<B>) -> Span,
    (),
    fn(&Response<axum::body::Body>, Duration, &Span),
    (),
    fn(Option<&HeaderMap>, Duration, &Span),
    (),
>;

/// The server's [`TraceLayer`]: a span per request ([`request_span`]), its
/// status and head time recorded when the response's head is ready
/// ([`record_head`]), one event when the body has ended ([`response_sent`]);
/// no other event (failures are the engine's and the handlers' to log).
pub fn trace<B>() -> Trace<B> {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request<B>) -> Span)
        .on_request(())
        .on_response(record_head as fn(&Response<axum::body::Body>, Duration, &Span))
        .on_body_chunk(())
        .on_eos(response_sent as fn(Option<&HeaderMap>, Duration, &Span))
        .on_failure(())
}

/// The request's span: `request{id method route status head_ms}`.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        // Recorded by `ReportRoute` once the router has matched.
        route = Empty,
        status = Empty,
        head_ms = Empty,
    )
}

/// Records the status and the time from the request to the response's head.
pub fn record_head(response: &Response<axum::body::Body>, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("head_ms", millis(latency));
}

/// The one `INFO` event of a request, when its body has ended: the time from
/// the response's head to its last byte. (A client that leaves first gets
/// none; the engine counts the pages it left.)
pub fn response_sent(_trailers: Option<&HeaderMap>, body: Duration, span: &Span) {
    tracing::info!(parent: span, body_ms = millis(body), "response sent");
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e4).round() / 10.0
}

/// Removes an `X-Request-Id` that is not a plain token, so that
/// [`SetRequestIdLayer`](tower_http::request_id::SetRequestIdLayer) (which
/// keeps whatever the client sent) makes a fresh one instead.
pub fn drop_unplain_request_id<B>(mut request: Request<B>) -> Request<B> {
    if request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .is_some_and(|id| !is_plain_token(id.as_bytes()))
    {
        request.headers_mut().remove(&REQUEST_ID_HEADER);
    }
    request
}

/// 1 to 64 letters, digits, `-`, `_` or `.`: safe in a log line and a label.
fn is_plain_token(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Fresh request ids: a random prefix per process, then a counter, in hex
/// (`1f2e3d4c-2a`): shorter than a UUID in every log line, and unique across
/// the instances behind one edge.
#[derive(Clone, Debug)]
pub struct FreshIds {
    prefix: u32,
    next: std::sync::Arc<AtomicU64>,
}

impl FreshIds {
    /// A new prefix, a count from 0.
    pub fn new() -> Self {
        let random = std::collections::hash_map::RandomState::new();
        FreshIds {
            prefix: std::hash::BuildHasher::hash_one(&random, std::process::id()) as u32,
            next: Default::default(),
        }
    }
}

impl Default for FreshIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for FreshIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-{n:x}", self.prefix);
        Some(RequestId::new(HeaderValue::try_from(id).ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_taken_only_when_plain() {
        let with = |id: &'static str| {
            let request = Request::builder()
                .header(REQUEST_ID_HEADER, id)
                .body(())
                .unwrap();
            drop_unplain_request_id(request)
                .headers()
                .get(REQUEST_ID_HEADER)
                .cloned()
        };
        assert_eq!(with("abc-123_x.y").unwrap(), "abc-123_x.y");
        assert_eq!(with("a b\"c"), None);
        assert!(!is_plain_token(&[b'a'; 65]) && !is_plain_token(b""));
    }

    #[test]
    fn fresh_request_ids_are_the_prefix_and_the_count_in_hex() {
        let mut ids = FreshIds::new();
        let request = Request::new(());
        let id = |ids: &mut FreshIds| {
            let id = ids.make_request_id(&request).unwrap();
            id.header_value().to_str().unwrap().to_owned()
        };
        let (first, second) = (id(&mut ids), id(&mut ids));
        assert_eq!(first, format!("{:08x}-0", ids.prefix));
        assert_eq!(second, format!("{:08x}-1", ids.prefix));
        assert!(is_plain_token(first.as_bytes()));
    }
}
