//! A kit for test pages written on the engine: a shell, a text template,
//! a one-route router, gates, and boundaries that are ready at once or never.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use axum_suspense::{Boundary, Engine, Page, PageBuilder};
use tokio::sync::oneshot;

use crate::{RawResponse, Served, get as http_get};

#[derive(Template)]
#[template(
    source = "<!doctype html><html><head><title>t</title></head><body><main>{% for part in parts %}<div class=\"slot\">{{ part }}</div>{% endfor %}</main><footer>end</footer></body></html>",
    ext = "html"
)]
pub struct Shell {
    pub parts: Vec<Boundary>,
}

/// The shell's last line before its held-back tail.
pub const SHELL_END: &str = "<footer>end</footer>";

#[derive(Template)]
#[template(source = "<p class=\"text\">{{ text }}</p>", ext = "html")]
pub struct Text {
    pub text: String,
}

pub fn text(s: &str) -> Text {
    Text { text: s.to_owned() }
}

/// A boundary whose content is ready on its first poll.
pub fn ready(page: &Page, fallback: &str, content: &str) -> Boundary {
    let content = text(content);
    page.try_suspend(text(fallback), async { Ok::<_, Infallible>(content) })
}

/// A boundary that never resolves and never times out.
pub fn never(page: &Page, fallback: &str) -> Boundary {
    page.boundary(text(fallback))
        .no_timeout()
        .try_suspend(std::future::pending::<Result<Text, Infallible>>())
}

/// Receivers handed to the handler once; the test keeps the senders.
pub type Gates = Arc<Mutex<Option<Vec<oneshot::Receiver<()>>>>>;

pub fn gates(n: usize) -> (Vec<oneshot::Sender<()>>, Gates) {
    let (senders, receivers) = (0..n).map(|_| oneshot::channel()).unzip();
    (senders, Arc::new(Mutex::new(Some(receivers))))
}

pub fn take(gates: &Gates) -> Vec<oneshot::Receiver<()>> {
    gates.lock().unwrap().take().expect("page requested once")
}

/// A page of one boundary per gate: fallback `loading-i`, content
/// `content(i)` once gate `i` opens (never times out).
pub fn gated_page(
    gates: &Gates,
    content: fn(usize) -> String,
) -> impl Fn(Page) -> Response + Clone + use<> {
    let gates = gates.clone();
    move |page: Page| {
        let parts = take(&gates)
            .into_iter()
            .enumerate()
            .map(|(i, gate)| {
                page.boundary(text(&format!("loading-{i}")))
                    .no_timeout()
                    .try_suspend(async move {
                        let _ = gate.await;
                        Ok::<_, Infallible>(text(&content(i)))
                    })
            })
            .collect();
        page.stream(Shell { parts })
    }
}

/// `section-i`, the content of most gated test pages.
pub fn section(i: usize) -> String {
    format!("section-{i}")
}

/// `GET /` answered by `page`, on a fresh page of `engine`.
pub fn route(
    engine: &Engine,
    page: impl Fn(Page) -> Response + Clone + Send + Sync + 'static,
) -> Router {
    route_with(engine, |builder| builder, page)
}

/// As [`route`], on a page that `setup` makes (its mode, overlay, deadline).
pub fn route_with(
    engine: &Engine,
    setup: impl Fn(PageBuilder) -> PageBuilder + Clone + Send + Sync + 'static,
    page: impl Fn(Page) -> Response + Clone + Send + Sync + 'static,
) -> Router {
    let engine = engine.clone();
    Router::new().route(
        "/",
        get(move || {
            let page = page.clone();
            let setup = setup.clone();
            let engine = engine.clone();
            async move { page(setup(engine.page_builder()).build()) }
        }),
    )
}

/// Serves `page` and requests it: the server (stopped when dropped) and the
/// response, its head read.
pub async fn open(
    engine: &Engine,
    page: impl Fn(Page) -> Response + Clone + Send + Sync + 'static,
) -> (Served, RawResponse) {
    open_with(engine, |builder| builder, page).await
}

/// As [`open`], on a page that `setup` makes.
pub async fn open_with(
    engine: &Engine,
    setup: impl Fn(PageBuilder) -> PageBuilder + Clone + Send + Sync + 'static,
    page: impl Fn(Page) -> Response + Clone + Send + Sync + 'static,
) -> (Served, RawResponse) {
    let server = Served::start(route_with(engine, setup, page)).await;
    let response = http_get(server.addr, "/").await;
    (server, response)
}
