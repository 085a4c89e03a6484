//! Compression only for the requests that ask for it.
//!
//! tower-http's `Compression` wraps every response body, asked or not, in an
//! enum sized for its largest encoder, and axum then boxes that body: about
//! 6 KiB a response, held for as long as a page streams, even for a client
//! that sent no `Accept-Encoding` at all. This layer sends a request that
//! accepts gzip through the compression service and every other one
//! straight to the route, whose body then goes out as it is. Applied with
//! `Router::layer`, so it runs per route (after routing: the matched path
//! is still known to the middleware outside).

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::header::ACCEPT_ENCODING;
use axum::response::Response;
use futures::TryFutureExt;
use futures::future::{Either, MapOk};
use tower::{Layer, Service};
use tower_http::compression::predicate::Predicate;
use tower_http::compression::{Compression, CompressionBody, CompressionLayer};

/// Wraps a route in [`GzipWhenAsked`].
#[derive(Clone)]
pub(crate) struct GzipWhenAskedLayer<P> {
    compression: CompressionLayer<P>,
    on: bool,
}

impl<P> GzipWhenAskedLayer<P> {
    /// With `on` false, nothing is compressed (`--no-compression`): the
    /// layer stays, so the router's stack is one type either way.
    pub(crate) fn new(compression: CompressionLayer<P>, on: bool) -> Self {
        GzipWhenAskedLayer { compression, on }
    }
}

impl<S, P: Clone> Layer<S> for GzipWhenAskedLayer<P> {
    type Service = GzipWhenAsked<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        GzipWhenAsked {
            inner,
            compression: self.compression.clone(),
            on: self.on,
        }
    }
}

/// A route, compressed for the requests that accept gzip. It holds the
/// route once (axum clones a route's service for every request, so holding
/// a compressed copy beside it would clone it twice).
#[derive(Clone)]
pub(crate) struct GzipWhenAsked<S, P> {
    inner: S,
    compression: CompressionLayer<P>,
    on: bool,
}

type Boxed = fn(axum::http::Response<CompressionBody<Body>>) -> Response;

impl<S, P> Service<Request> for GzipWhenAsked<S, P>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
    P: Predicate,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<MapOk<<Compression<S, P> as Service<Request>>::Future, Boxed>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if self.on && accepts_gzip(request.headers()) {
            // The route that was polled ready goes into the compression
            // service; a clone stays for the next call.
            let clone = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, clone);
            let boxed: Boxed = |response| response.map(Body::new);
            Either::Left(self.compression.layer(ready).call(request).map_ok(boxed))
        } else {
            Either::Right(self.inner.call(request))
        }
    }
}

/// Whether `Accept-Encoding` names gzip or anything (`*`); the compression
/// service then weighs the q-values itself.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|coding| coding.split(';').next().unwrap_or("").trim())
        .any(|coding| coding.eq_ignore_ascii_case("gzip") || coding == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_or_anything() {
        let accepts = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT_ENCODING, value.parse().unwrap());
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip"));
        assert!(accepts("br, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("br"));
        assert!(!accepts("identity"));
        assert!(!accepts("x-gzip-ish"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
