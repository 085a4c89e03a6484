//! [`BufferedModeLayer`]: buffered pages go out whole, headers included.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use crate::mode::RenderMode;
use crate::response::shell_error;

/// Holds each page sent in [`RenderMode::Buffered`] back until it is whole,
/// then answers with all of it at once and a `Content-Length`: the status
/// and headers too wait for the slowest data, as a classic server-rendered
/// page does, and a crawler reads one plain response. Every other response
/// passes untouched (the layer reads the [`RenderMode`] a page's response
/// carries in its extensions).
///
/// Without it a buffered page is still one complete document with no
/// script, sent in one piece at its end, but its headers go first and its
/// body is chunked. A client that leaves while its page is held drops the
/// page, and its boundaries with it, as in the other modes.
///
/// Put it inside any compression layer, so a buffered page is compressed
/// whole:
///
/// ```
/// use askama::Template;
/// use axum::{Router, response::Response, routing::get};
/// use axum_suspense::{Engine, Page, buffered::BufferedModeLayer};
///
/// #[derive(Template)]
/// #[template(source = "<html><body>Hello</body></html>", ext = "html")]
/// struct Hello;
///
/// async fn hello(page: Page) -> Response {
///     page.stream(Hello)
/// }
///
/// let app: Router = Router::new()
///     .route("/", get(hello))
///     .layer(BufferedModeLayer::new())
///     .with_state(Engine::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BufferedModeLayer {
    _private: (),
}

impl BufferedModeLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for BufferedModeLayer {
    type Service = BufferedMode<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BufferedMode { inner }
    }
}

/// The service [`BufferedModeLayer`] wraps an application's service in.
#[derive(Debug, Clone)]
pub struct BufferedMode<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for BufferedMode<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BufferedModeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        BufferedModeFuture {
            state: State::Inner {
                future: self.inner.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`BufferedMode`]: the inner service's, then,
    /// for a buffered page only, the collection of its body. Written by
    /// hand so that every other response passes without a boxed future.
    pub struct BufferedModeFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Inner {
            #[pin]
            future: F,
        },
        Collecting {
            whole: Pin<Box<dyn Future<Output = Response> + Send>>,
        },
    }
}

impl<F, E> Future for BufferedModeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProjection::Inner { future } => {
                    let response = std::task::ready!(future.poll(cx))?;
                    if response.extensions().get::<RenderMode>() != Some(&RenderMode::Buffered) {
                        return Poll::Ready(Ok(response));
                    }
                    state.set(State::Collecting {
                        whole: Box::pin(whole(response)),
                    });
                }
                StateProjection::Collecting { whole } => {
                    return whole.as_mut().poll(cx).map(Ok);
                }
            }
        }
    }
}

/// A buffered page's response with its whole body in one piece.
async fn whole(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        // hyper sets Content-Length for a body of known size (and a
        // compression layer outside this one drops it).
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
        Err(error) => {
            tracing::error!(%error, "buffered page body failed");
            shell_error()
        }
    }
}
