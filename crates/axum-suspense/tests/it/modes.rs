//! The render modes on the wire: in-order writes the document front to back
//! with no script, buffered sends one complete document.

use std::convert::Infallible;
use std::time::Duration;

use axum_suspense::{DEFAULT_ERROR_HTML, Engine, Page, RenderMode};
use tokio::sync::oneshot;

use crate::pages::{Gates, Shell, gated_page, gates, open, section, take, text};

/// A page of gated boundaries in `mode`.
fn gated(mode: RenderMode, gates: Gates) -> impl Fn(Page) -> axum::response::Response + Clone {
    let page = gated_page(&gates, section);
    move |p: Page| {
        p.set_mode(mode);
        page(p)
    }
}

const HEAD: &str =
    "<!doctype html><html><head><title>t</title></head><body><main><div class=\"slot\">";

fn slot(i: usize) -> String {
    format!("<p class=\"text\">section-{i}</p></div>")
}

/// No engine markup of any kind: no script, template or comment.
fn assert_plain(body: &str) {
    for markup in ["<script", "<template", "<!--", "$S"] {
        assert!(!body.contains(markup), "{markup} in {body:?}");
    }
}

#[tokio::test]
async fn in_order_writes_each_section_when_those_before_it_are_in() {
    let engine = Engine::new();
    let (senders, gates) = gates(3);
    let (_server, mut response) = open(&engine, gated(RenderMode::InOrder, gates)).await;
    assert_eq!(response.header("x-render-mode"), Some("in-order"));

    // The shell up to the first boundary, and nothing of any fallback.
    response.read_until(HEAD).await;
    response.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(response.body(), HEAD);

    let [s0, s1, s2]: [oneshot::Sender<()>; 3] = senders.try_into().unwrap();
    // The last one ready first: it waits for those before it.
    s2.send(()).unwrap();
    response.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(response.body(), HEAD);

    s0.send(()).unwrap();
    let after_0 = format!("{HEAD}{}<div class=\"slot\">", slot(0));
    response.read_until(&after_0).await;
    response.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(response.body(), after_0, "section 0, then up to section 1");

    s1.send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert_eq!(
        body,
        format!(
            "{HEAD}{}<div class=\"slot\">{}<div class=\"slot\">{}</main><footer>end</footer></body></html>",
            slot(0),
            slot(1),
            slot(2)
        )
    );
    assert_plain(&body);
    // Three writes at least: the shell, section 0, sections 1 and 2 with the end.
    assert!(response.chunks.len() >= 3, "{:?}", response.chunks);
    assert_eq!(engine.stats().live_boundaries(), 0);
}

#[tokio::test]
async fn buffered_sends_one_complete_document_with_failures_in_place() {
    let engine = Engine::new();
    let (senders, gates) = gates(1);
    let page = move |page: Page| {
        page.set_mode(RenderMode::Buffered);
        let [gate]: [oneshot::Receiver<()>; 1] = take(&gates).try_into().unwrap();
        let nested = page.clone();
        let parts = vec![
            page.suspend(text("loading-0"), async move {
                let inner = nested.suspend(text("loading-inner"), async {
                    Ok::<_, Infallible>(text("inner"))
                });
                let _ = gate.await;
                Ok::<_, Infallible>(Shell { parts: vec![inner] })
            }),
            page.suspend(text("loading-1"), async {
                Err::<crate::pages::Text, _>("the data source is down")
            }),
            page.boundary(text("loading-2"))
                .timeout(Duration::from_millis(1))
                .on_timeout(text("too slow"))
                .suspend(std::future::pending::<Result<crate::pages::Text, Infallible>>()),
        ];
        page.stream(Shell { parts })
    };
    let (_server, mut response) = open(&engine, page).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("x-render-mode"), Some("buffered"));
    // Not a byte until every boundary is in.
    response.assert_quiet(Duration::from_millis(150)).await;
    assert_eq!(response.body(), "");

    senders.into_iter().next().unwrap().send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    let inner_shell = "<!doctype html><html><head><title>t</title></head><body><main><div class=\"slot\"><p class=\"text\">inner</p></div></main><footer>end</footer></body></html>";
    assert_eq!(
        body,
        format!(
            "{HEAD}{inner_shell}</div><div class=\"slot\">{DEFAULT_ERROR_HTML}</div>\
             <div class=\"slot\"><p class=\"text\">too slow</p></div></main><footer>end</footer></body></html>"
        )
    );
    assert_plain(&body);
    assert_eq!(response.chunks.len(), 1, "one write: {:?}", response.chunks);
    assert_eq!(engine.stats().live_boundaries(), 0);
}
