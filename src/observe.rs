//! What the server shows an operator: one `tracing` span per request, and
//! `GET /metrics` in the Prometheus (OpenMetrics) text format.
//!
//! Each request gets an id (the `X-Request-Id` it came with, as nginx's
//! `$request_id` sends it, if it is a plain token; else a fresh one), sent
//! back in `X-Request-Id`. Its span carries the id, method, route (the
//! router's pattern, not the path: `/posts/{id}`) and status; the body is
//! polled inside the span, so the engine's events about the page's
//! boundaries are the request's. When the last byte leaves, one `INFO`
//! event gives the time to the shell (the first body bytes) and to the last
//! byte, from the request; a client that leaves first gets a `DEBUG` event.
//!
//! `/metrics`: `http_requests_total{method, route, status}`,
//! `http_send_timeouts_total` (connections cut off because the client
//! stopped reading; see [`crate::server`]), the board database's
//! `board_database_up` and `board_database_errors_total{kind}`
//! ([`crate::data::Health`]), plus the engine's statistics
//! ([`Engine::register_metrics`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::Frame;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tracing::field::Empty;

use axum_suspense::Engine;

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

/// The response header that carries the request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The metrics registry and the request counter of one server.
#[derive(Debug)]
pub struct Observability {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    send_timeouts: Counter,
    /// Fresh request ids: a random prefix per process, then a counter.
    id_prefix: u32,
    next_id: AtomicU64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

impl Observability {
    /// A registry with the request counter and, if given, `engine`'s
    /// statistics and the `store`'s health.
    pub fn new(engine: Option<&Engine>, store: Option<&dyn crate::data::Store>) -> Arc<Self> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by method, route and status",
            requests.clone(),
        );
        let send_timeouts = Counter::default();
        registry.register(
            "http_send_timeouts",
            "Connections closed because the client took nothing of its response for the send timeout",
            send_timeouts.clone(),
        );
        if let Some(engine) = engine {
            engine.register_metrics(&mut registry);
        }
        if let Some(store) = store {
            store.health().register(&mut registry);
        }
        let prefix = std::collections::hash_map::RandomState::new();
        let id_prefix = std::hash::BuildHasher::hash_one(&prefix, std::process::id()) as u32;
        Arc::new(Observability {
            registry,
            requests,
            send_timeouts,
            id_prefix,
            next_id: AtomicU64::new(0),
        })
    }

    /// The counter of connections closed by the send timeout (the accept
    /// loop counts them; a clone shares the count).
    pub fn send_timeouts(&self) -> Counter {
        self.send_timeouts.clone()
    }

    /// The metrics, as text.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn request_id(&self, headers: &HeaderMap) -> HeaderValue {
        let given = headers
            .get(REQUEST_ID_HEADER)
            .filter(|id| is_plain_token(id.as_bytes()));
        match given {
            Some(id) => id.clone(),
            None => {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                // `{prefix:08x}-{n:x}` written on the stack: the header value
                // is then the one allocation (a `format!` made two).
                let mut id = [0u8; 8 + 1 + 16];
                let mut len = push_hex(&mut id, 0, u64::from(self.id_prefix), 8);
                id[len] = b'-';
                len = push_hex(&mut id, len + 1, n, 1);
                HeaderValue::from_bytes(&id[..len]).expect("hex digits and a dash")
            }
        }
    }
}

/// Writes `value` in lowercase hex, at least `min` digits, into `out` at
/// `at`; returns where it ended.
fn push_hex(out: &mut [u8], mut at: usize, value: u64, min: u32) -> usize {
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(min);
    for i in (0..digits).rev() {
        out[at] = b"0123456789abcdef"[((value >> (i * 4)) & 0xf) as usize];
        at += 1;
    }
    at
}

/// 1 to 64 letters, digits, `-`, `_` or `.`: safe in a log line and a label.
fn is_plain_token(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Methods as labels: a client can send any token, so the rest are `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The layer around the router, outermost: every request observed, and
/// `GET /metrics` and `GET /healthz` answered before the application's routes
/// (so they cannot clash with them). A tower service with its own future
/// rather than axum's `from_fn`, which boxes every request's future and the
/// rest of the stack.
///
/// It wraps the router from outside, not with `Router::layer`: each
/// `Router::layer` boxes every route and its future once more (about 3,100
/// instructions a request). The router's matched route is not known out
/// here, so the application reports it with [`ReportRouteLayer`], in the
/// layers it gives its own router; without it, requests count as
/// `unmatched`.
#[derive(Clone)]
pub struct ObserveLayer(pub Arc<Observability>);

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            observability: self.0.clone(),
        }
    }
}

/// See [`ObserveLayer`].
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    observability: Arc<Observability>,
}

/// A request the server answers itself, before the routes.
#[derive(Clone, Copy)]
enum Own {
    Metrics,
    Health,
}

impl Own {
    fn path(self) -> &'static str {
        match self {
            Own::Metrics => METRICS_PATH,
            Own::Health => crate::health::HEALTH_PATH,
        }
    }

    fn response(self, observability: &Observability) -> Response {
        match self {
            Own::Metrics => (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                observability.render(),
            )
                .into_response(),
            Own::Health => crate::health::healthz(),
        }
    }
}

/// Any request body: the server hands hyper's on as it is (one box fewer).
impl<S, B> tower_service::Service<axum::http::Request<B>> for Observe<S>
where
    S: tower_service::Service<axum::http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let start = Instant::now();
        let id = self.observability.request_id(request.headers());
        let method = request.method().clone();
        let own = match request.uri().path() {
            METRICS_PATH if method == Method::GET => Some(Own::Metrics),
            crate::health::HEALTH_PATH if matches!(method, Method::GET | Method::HEAD) => {
                Some(Own::Health)
            }
            _ => None,
        };
        let span = tracing::info_span!(
            "request",
            id = %id.to_str().unwrap_or(""),
            method = %method,
            // Recorded by `ReportRoute` once the router has matched.
            route = Empty,
            status = Empty,
            shell_ms = Empty,
            last_byte_ms = Empty,
        );
        let inner = match own {
            Some(own) => {
                span.record("route", tracing::field::display(own.path()));
                None
            }
            None => {
                // The handler's synchronous part runs in the span too.
                let _entered = span.enter();
                Some(self.inner.call(request))
            }
        };
        Observed {
            inner,
            end: Some(ObservedEnd {
                observability: self.observability.clone(),
                span,
                start,
                id,
                method: method_label(&method),
                own,
            }),
        }
    }
}

/// Tells [`Observe`], outside the router, which route the router matched:
/// its pattern (`/posts/{id}`, not the path) goes into the request's span
/// and, through the response's extensions, into the request counter. Put it
/// in the layers given to `Router::layer`, outermost.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportRouteLayer;

impl<S> tower_layer::Layer<S> for ReportRouteLayer {
    type Service = ReportRoute<S>;

    fn layer(&self, inner: S) -> ReportRoute<S> {
        ReportRoute { inner }
    }
}

/// See [`ReportRouteLayer`].
#[derive(Clone, Debug)]
pub struct ReportRoute<S> {
    inner: S,
}

impl<S> tower_service::Service<Request> for ReportRoute<S>
where
    S: tower_service::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Reported<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        if let Some(route) = &route {
            // The request's span is the current one here (`Observe` enters
            // it around the call).
            tracing::Span::current().record("route", tracing::field::display(route.as_str()));
        }
        Reported {
            inner: self.inner.call(request),
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ReportRoute`]: the inner one, then the
    /// matched route put in the response's extensions.
    pub struct Reported<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F, E> std::future::Future for Reported<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(route);
        }
        Poll::Ready(Ok(response))
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Observe`]: the inner one, polled in the
    /// request's span (or, for `/metrics` and `/healthz`, none), then the
    /// response counted, given its id and its body wrapped.
    pub struct Observed<F> {
        #[pin]
        inner: Option<F>,
        end: Option<ObservedEnd>,
    }
}

/// What [`Observed`] needs once the response is there.
struct ObservedEnd {
    observability: Arc<Observability>,
    span: tracing::Span,
    start: Instant,
    id: HeaderValue,
    method: &'static str,
    /// The server answers this request itself.
    own: Option<Own>,
}

impl<F, E> std::future::Future for Observed<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let end = this.end.as_ref().expect("polled after it ended");
        let response = match this.inner.as_pin_mut() {
            Some(inner) => {
                let _entered = end.span.enter();
                match inner.poll(cx) {
                    Poll::Ready(Ok(response)) => response,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            // No inner future: a request the server answers itself.
            None => end
                .own
                .expect("no inner future only for the server's own requests")
                .response(&end.observability),
        };
        let end = this.end.take().expect("checked above");
        Poll::Ready(Ok(end.finish(response)))
    }
}

impl ObservedEnd {
    fn finish(self, mut response: Response) -> Response {
        let status = response.status();
        self.span.record("status", status.as_u16());
        self.observability
            .requests
            .get_or_create(&RequestLabels {
                method: self.method,
                route: match self.own {
                    Some(own) => own.path(),
                    None => response
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str),
                }
                .to_owned(),
                status: status.as_u16(),
            })
            .inc();
        const X_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
        response.headers_mut().insert(X_REQUEST_ID, self.id);
        let (span, start) = (self.span, self.start);
        response.map(|inner| {
            Body::new(ObservedBody {
                inner,
                span,
                start,
                status,
                shell: None,
                bytes: 0,
                ended: false,
            })
        })
    }
}

/// A response body that notes when its first bytes and its last byte left.
struct ObservedBody {
    inner: Body,
    span: tracing::Span,
    start: Instant,
    status: StatusCode,
    shell: Option<Duration>,
    bytes: u64,
    ended: bool,
}

impl ObservedBody {
    fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        let last_byte = self.start.elapsed();
        let shell = self.shell.unwrap_or(last_byte);
        let (shell_ms, last_byte_ms) = (millis(shell), millis(last_byte));
        self.span.record("shell_ms", shell_ms);
        self.span.record("last_byte_ms", last_byte_ms);
        tracing::info!(
            parent: &self.span,
            status = self.status.as_u16(),
            shell_ms,
            last_byte_ms,
            bytes = self.bytes,
            "response sent"
        );
    }
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e4).round() / 10.0
}

impl http_body::Body for ObservedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = {
            let _entered = this.span.enter();
            Pin::new(&mut this.inner).poll_frame(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                    this.shell.get_or_insert_with(|| this.start.elapsed());
                }
                if this.inner.is_end_stream() {
                    this.end();
                }
            }
            Poll::Ready(None) => this.end(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        if !self.ended {
            let after_ms = millis(self.start.elapsed());
            tracing::debug!(parent: &self.span, after_ms, bytes = self.bytes, "client left before the end");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_taken_only_when_plain() {
        let observability = Observability::new(None, None);
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123_x.y"));
        assert_eq!(observability.request_id(&headers), "abc-123_x.y");
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("a b\"c"));
        let fresh = observability.request_id(&headers);
        assert_ne!(fresh, "a b\"c");
        assert!(is_plain_token(fresh.as_bytes()));
        assert_ne!(observability.request_id(&HeaderMap::new()), fresh);
        assert!(!is_plain_token(&[b'a'; 65]) && !is_plain_token(b""));
    }

    #[test]
    fn fresh_request_ids_are_the_prefix_and_the_count_in_hex() {
        let mut out = [0u8; 25];
        let end = push_hex(&mut out, 0, 0xab, 8);
        assert_eq!(&out[..end], b"000000ab");
        let end = push_hex(&mut out, 0, u64::MAX, 1);
        assert_eq!(&out[..end], b"ffffffffffffffff");
        let end = push_hex(&mut out, 0, 0, 1);
        assert_eq!(&out[..end], b"0");
        let observability = Observability::new(None, None);
        let id = observability.request_id(&HeaderMap::new());
        let id = id.to_str().unwrap();
        let (prefix, n) = id.split_once('-').unwrap();
        assert_eq!(prefix, format!("{:08x}", observability.id_prefix));
        assert_eq!(u64::from_str_radix(n, 16).unwrap() + 1, {
            let next = observability.request_id(&HeaderMap::new());
            u64::from_str_radix(next.to_str().unwrap().split_once('-').unwrap().1, 16).unwrap()
        });
    }
}
