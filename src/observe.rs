//! What the server shows an operator: `GET /metrics` in the Prometheus
//! (OpenMetrics) text format, and the route of each request in its span
//! (the span itself and the request id are tower-http's, set up in
//! [`crate::http::trace`]).
//!
//! `/metrics`: `http_requests_total{method, route, status}`,
//! `http_send_timeouts_total` (connections cut off because the client
//! stopped reading; see [`crate::server`]), the board database's
//! `board_database_up` and `board_database_errors_total{kind}`
//! ([`crate::data::Health`]), plus the engine's statistics
//! ([`Engine::register_metrics`]).
//!
//! Counting is ours: tower-http has no metrics layer, and the count needs
//! the route the router matched (its pattern, `/posts/{id}`, not the path).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use axum_suspense::Engine;

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

/// The metrics registry and the request counter of one server.
#[derive(Debug)]
pub struct Observability {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    send_timeouts: Counter,
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
        Arc::new(Observability {
            registry,
            requests,
            send_timeouts,
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

/// The layer around the router: every request counted, and
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
        let method = request.method();
        let own = match request.uri().path() {
            METRICS_PATH if method == Method::GET => Some(Own::Metrics),
            crate::health::HEALTH_PATH if matches!(*method, Method::GET | Method::HEAD) => {
                Some(Own::Health)
            }
            _ => None,
        };
        let method = method_label(method);
        let inner = match own {
            Some(own) => {
                tracing::Span::current().record("route", tracing::field::display(own.path()));
                None
            }
            None => Some(self.inner.call(request)),
        };
        Observed {
            inner,
            end: Some(ObservedEnd {
                observability: self.observability.clone(),
                method,
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
    /// The response future of [`Observe`]: the inner one (or, for
    /// `/metrics` and `/healthz`, none), then the response counted.
    pub struct Observed<F> {
        #[pin]
        inner: Option<F>,
        end: Option<ObservedEnd>,
    }
}

/// What [`Observed`] needs once the response is there.
struct ObservedEnd {
    observability: Arc<Observability>,
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
        let response = match this.inner.as_pin_mut() {
            Some(inner) => std::task::ready!(inner.poll(cx))?,
            // No inner future: a request the server answers itself.
            None => {
                let end = this.end.as_ref().expect("polled after it ended");
                end.own
                    .expect("no inner future only for the server's own requests")
                    .response(&end.observability)
            }
        };
        let end = this.end.take().expect("polled after it ended");
        end.count(&response);
        Poll::Ready(Ok(response))
    }
}

impl ObservedEnd {
    fn count(self, response: &Response) {
        let route = match self.own {
            Some(own) => own.path(),
            None => response
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str),
        };
        self.observability
            .requests
            .get_or_create(&RequestLabels {
                method: self.method,
                route: route.to_owned(),
                status: response.status().as_u16(),
            })
            .inc();
    }
}
