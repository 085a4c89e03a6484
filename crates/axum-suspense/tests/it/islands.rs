//! Parts with data in real browsers: the `suspense:reveal` event carries
//! each part's data, and the islands module's `suspense.on(name, …)` runs
//! once per part whether it was registered before or after the part came,
//! parents before children; hostile data stays data; the strict policy
//! reports nothing (the data element needs no nonce). In Chromium patching
//! natively, in Chromium leaving it to the runtime's polyfill, in Firefox
//! ESR, and on an in-order page (no runtime, no events).

use askama::Template;
use axum_suspense::client::{islands_path, runtime_router};
use axum_suspense::{Boundary, Engine, Page, RenderMode, RevealOrder, Text};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::chrome::{Browser, Kind};
use crate::common::TestServer;
use crate::pages::{Gates, gates, route_with, take};

#[derive(Template)]
#[template(
    source = r#"<!doctype html><html><head><script nonce="{{ nonce }}">
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.violatedDirective));
window.__events = [];
document.addEventListener("suspense:reveal", e => e.detail.name == "card" || window.__events.push([e.detail.id, e.detail.name, e.detail.data]));
window.__cards = [];
((self.suspense ||= {}).q ||= []).push(["card", (element, data) => window.__cards.push([element && element.tagName + "." + element.className, data])]);
</script><script src="{{ islands }}" async></script></head><body><main>{{ early }}{{ a }}{{ hostile }}{{ plain }}</main><div class="row">{{ card_text }}{{ card_element }}{{ card_empty }}</div><footer>end</footer></body></html>"#,
    ext = "html"
)]
struct IslandShell {
    nonce: String,
    islands: &'static str,
    early: Boundary,
    a: Boundary,
    hostile: Boundary,
    plain: Boundary,
    card_text: Boundary,
    card_element: Boundary,
    card_empty: Boundary,
}

#[derive(Template)]
#[template(
    source = r#"
  <article class="{{ class }}">{{ class }}</article>"#,
    ext = "html"
)]
struct Card {
    class: &'static str,
}

#[derive(Template)]
#[template(
    source = r#"<section class="{{ class }}">{{ class }}</section>"#,
    ext = "html"
)]
struct Part {
    class: &'static str,
}

#[derive(Template)]
#[template(source = r#"<section class="a">a{{ child }}</section>"#, ext = "html")]
struct Parent {
    child: Boundary,
}

fn hostile() -> Value {
    json!({
        "close": "</script><script>window.__pwned = 1</script>",
        "comment": "<!--<script>",
        "lines": "a\u{2028}b\u{2029}c",
        "amp": "&amp; &lt; <b>",
    })
}

/// Gates: 0 the parent `a`, 1 its child, 2 `hostile`, 3 the part without
/// data. `early` is ready at once (before the module can have loaded).
fn island_page(gates: &Gates) -> impl Fn(Page) -> axum::response::Response + Clone + use<> {
    let gates = gates.clone();
    move |page: Page| {
        let [g0, g1, g2, g3]: [oneshot::Receiver<()>; 4] = take(&gates).try_into().unwrap();
        let part = |class| Part { class };
        let early = page
            .boundary(part("loading"))
            .name("early")
            .suspend_with_data(async { (Part { class: "early" }, json!({"n": 0})) });
        let inner = page.clone();
        let a = page
            .boundary(part("loading"))
            .name("a")
            .no_timeout()
            .suspend_with_data(async move {
                let _ = g0.await;
                let child = inner
                    .boundary(part("loading"))
                    .name("child")
                    .no_timeout()
                    .suspend_with_data(async move {
                        let _ = g1.await;
                        (Part { class: "child" }, json!([1, 2, 3]))
                    });
                (Parent { child }, json!({"n": 1}))
            });
        let hostile = page
            .boundary(part("loading"))
            .name("hostile")
            .no_timeout()
            .suspend_with_data(async move {
                let _ = g2.await;
                (Part { class: "hostile" }, hostile())
            });
        let plain = page
            .boundary(part("loading"))
            .name("plain")
            .no_timeout()
            .suspend(async move {
                let _ = g3.await;
                Part { class: "plain" }
            });
        // A forwards row of cards with data, registered through the queue
        // before the module loads: one whose part starts with text, one
        // with an element (after white space), one empty.
        let row = page.group(RevealOrder::Forwards);
        let card = || page.boundary(part("loading")).group(&row).name("card");
        let card_text = card().suspend_with_data(async { (Text::new("3 votes"), 0) });
        let card_element = card().suspend_with_data(async { (Card { class: "card" }, 1) });
        let card_empty = card().suspend_with_data(async { (Text::new(""), 2) });
        let nonce = page.csp_nonce();
        page.stream(IslandShell {
            card_text,
            card_element,
            card_empty,
            nonce,
            islands: islands_path(),
            early,
            a,
            hostile,
            plain,
        })
    }
}

/// Registers a recorder for `names` (each call of a callback pushed as
/// `[tag, name, element's class, data]`).
const REGISTER: &str = r#"
    const [tag, names] = arguments;
    window.__on ||= [];
    for (const name of names)
        suspense.on(name, (element, data) => window.__on.push([tag, name, element.className, data]));
    return true;
"#;

async fn islands_in(browser: Browser, label: &str, mode: RenderMode) {
    let engine = Engine::new();
    let (senders, gates) = gates(4);
    let app =
        route_with(&engine, move |b| b.mode(mode), island_page(&gates)).merge(runtime_router());
    let server = TestServer::start(app).await;
    browser.open(&format!("http://{}/", server.addr)).await;
    let streamed = mode == RenderMode::Stream;
    if streamed {
        browser
            .wait_for(
                "the islands module and the early part",
                "return typeof window.suspense?.on == 'function' && !!document.querySelector('section.early')",
                vec![],
            )
            .await;
        // Registered now: `early` came before (runs at once), the others
        // after.
        browser
            .eval(
                REGISTER,
                vec![
                    json!("first"),
                    json!(["early", "a", "child", "hostile", "plain"]),
                ],
            )
            .await;
    }
    let mut senders: Vec<Option<oneshot::Sender<()>>> = senders.into_iter().map(Some).collect();
    for gate in [0usize, 1, 2, 3] {
        senders[gate].take().unwrap().send(()).unwrap();
        if streamed {
            let class = ["a", "child", "hostile", "plain"][gate];
            browser
                .wait_for(
                    class,
                    &format!("return !!document.querySelector('section.{class}')"),
                    vec![],
                )
                .await;
        }
    }
    browser.wait_loaded().await;
    if !streamed {
        browser
            .wait_for(
                "the islands module",
                "return typeof window.suspense?.on == 'function'",
                vec![],
            )
            .await;
        browser
            .eval(
                REGISTER,
                vec![
                    json!("first"),
                    json!(["early", "a", "child", "hostile", "plain"]),
                ],
            )
            .await;
    }
    // Registered once every part is in: each runs once, at once.
    browser
        .eval(REGISTER, vec![json!("late"), json!(["child", "a"])])
        .await;
    // Registered through the queue, after the module has loaded: at once.
    browser
        .eval(
            "window.__late_cards = [];
             ((self.suspense ||= {}).q ||= []).push(['card', (e, d) => window.__late_cards.push([e && e.tagName, d])]);
             return true",
            vec![],
        )
        .await;
    assert_eq!(
        browser
            .eval("return [window.__cards, window.__late_cards]", vec![])
            .await,
        json!([
            [[null, 0], ["ARTICLE.card", 1], [null, 2]],
            [[null, 0], ["ARTICLE", 1], [null, 2]]
        ]),
        "{label}: queued before the module and after it, each card's callback ran once, \
         with its own element or null, never the next card's"
    );
    let on = browser.eval("return window.__on", vec![]).await;
    let early = json!({"n": 0});
    let a = json!({"n": 1});
    let child = json!([1, 2, 3]);
    assert_eq!(
        on,
        json!([
            ["first", "early", "early", early],
            ["first", "a", "a", a],
            ["first", "child", "child", child],
            ["first", "hostile", "hostile", hostile()],
            ["late", "child", "child", child],
            ["late", "a", "a", a],
        ]),
        "{label}: suspense.on ran once per part with data, parents first, early and late"
    );
    let seen = browser
        .eval(
            "return [window.__events, window.__violations, window.__pwned ?? null,
                     [...document.querySelectorAll('section')].map(s => s.className)]",
            vec![],
        )
        .await;
    let events = if streamed {
        json!([
            [0, "early", early],
            [1, "a", a],
            [7, "child", child],
            [2, "hostile", hostile()],
            [3, "plain", null],
        ])
    } else {
        json!([])
    };
    assert_eq!(
        seen,
        json!([
            events,
            [],
            null,
            ["early", "a", "child", "hostile", "plain"]
        ]),
        "{label}: the events' data, no policy violation, no script from the data, every part in"
    );
    browser.close().await;
}

#[tokio::test]
async fn islands_get_their_data_once_in_chromium() {
    for kind in Kind::WITH_JAVASCRIPT {
        let Some(browser) = Browser::launch_as("islands", kind).await else {
            return;
        };
        islands_in(browser, &kind.name(), RenderMode::Stream).await;
    }
    let Some(browser) = Browser::launch_as("islands", Kind::ALL[0]).await else {
        return;
    };
    islands_in(browser, "in-order", RenderMode::InOrder).await;
}

#[tokio::test]
async fn islands_get_their_data_once_in_firefox() {
    let Some(browser) = Browser::launch_firefox("islands", true).await else {
        return;
    };
    islands_in(browser, "firefox", RenderMode::Stream).await;
}
