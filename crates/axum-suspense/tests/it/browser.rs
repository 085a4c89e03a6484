//! What a real browser shows while a page streams, and at the end: headless
//! Chromium against a minimal axum application, with the page's timing held
//! by gates.

use std::convert::Infallible;

use askama::Template;
use axum_suspense::{Boundary, Engine, Page};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::chrome::{Browser, Kind, LEFTOVERS, no_leftovers, no_leftovers_without_script};
use crate::common::TestServer;
use crate::pages::{Shell, gated_page, gates, route, section, take, text};

/// The `.text` paragraphs' texts and whether each is rendered visibly.
const TEXTS: &str = r#"
    return [...document.querySelectorAll("p.text")].map(p => [p.textContent, p.checkVisibility()]);
"#;

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

/// The kinds a page must stream in: Chromium patching natively with and
/// without JavaScript, and the runtime's polyfill where the browser does
/// not patch. (A browser that neither patches nor runs script gets the
/// in-order page instead: the site's tests.)
const STREAMING_KINDS: [Kind; 3] = [Kind::ALL[0], Kind::ALL[1], Kind::ALL[2]];

#[tokio::test]
async fn progressive_render_in_chromium() {
    for kind in STREAMING_KINDS {
        progressive_render(kind).await;
    }
}

async fn progressive_render(kind: Kind) {
    let Some(browser) = Browser::launch_as("progressive_render", kind).await else {
        return;
    };
    let name = kind.name();
    let engine = Engine::new();
    let (mut senders, gates) = gates(3);
    let server = TestServer::start(route(&engine, gated_page(&gates, section))).await;
    browser.open(&url(&server, "/")).await;

    // The shell is in (its footer comes after every placeholder).
    browser
        .wait_for(
            "the shell",
            "return document.querySelector('footer') !== null",
            vec![],
        )
        .await;
    assert_eq!(
        browser.eval("return document.readyState", vec![]).await,
        "loading",
        "the response is still streaming"
    );
    assert_eq!(
        browser.eval(TEXTS, vec![]).await,
        json!([
            ["loading-0", true],
            ["loading-1", true],
            ["loading-2", true]
        ]),
        "every fallback is visible, no section is"
    );
    browser
        .screenshot(&format!("progressive-{name}-1-fallbacks"))
        .await;

    // Released 2, 0, 1: each appears alone, where it belongs.
    let mut shown = ["loading-0", "loading-1", "loading-2"];
    let mut senders: Vec<Option<oneshot::Sender<()>>> = senders.drain(..).map(Some).collect();
    for i in [2usize, 0, 1] {
        senders[i].take().unwrap().send(()).unwrap();
        let section = format!("section-{i}");
        browser
            .wait_for(
                &section,
                "return [...document.querySelectorAll('p.text')].some(p => p.textContent === arguments[0])",
                vec![json!(section)],
            )
            .await;
        shown[i] = ["section-0", "section-1", "section-2"][i];
        let expected: Vec<Value> = shown.iter().map(|t| json!([t, true])).collect();
        assert_eq!(
            browser.eval(TEXTS, vec![]).await,
            Value::Array(expected),
            "{name}: after releasing {i}"
        );
        if i != 1 {
            assert_eq!(
                browser.eval("return document.readyState", vec![]).await,
                "loading"
            );
        }
    }
    browser.wait_loaded().await;

    // Exactly the template's structure, in document order.
    // (Without JavaScript, the unrun runtime and the timings follow it.)
    assert_eq!(
        browser
            .eval(
                "return document.querySelector('main').outerHTML + document.querySelector('footer').outerHTML",
                vec![]
            )
            .await,
        "<main>\
         <div class=\"slot\"><p class=\"text\">section-0</p></div>\
         <div class=\"slot\"><p class=\"text\">section-1</p></div>\
         <div class=\"slot\"><p class=\"text\">section-2</p></div>\
         </main><footer>end</footer>",
        "{name}"
    );
    if kind.javascript {
        assert_eq!(
            browser
                .eval("return document.body.children.length", vec![])
                .await,
            2,
            "{name}: nothing but the page's own elements"
        );
    }
    if !kind.javascript {
        no_leftovers_without_script(browser.eval(LEFTOVERS, vec![]).await, 3);
        browser
            .screenshot(&format!("progressive-{name}-2-end"))
            .await;
        browser.close().await;
        return;
    }
    no_leftovers(browser.eval(LEFTOVERS, vec![]).await);

    // The runtime's record: revealed in the order released, each once,
    // with the server's times; and it knew which kind of browser it was in
    // (natively it only observed).
    let record = browser
        .eval(
            "const t = window.__suspense; return [[0, 1, 2].map(i => [t[i].r, t[i].s]), t.$.native]",
            vec![],
        )
        .await;
    let (times, native): (Vec<(f64, f64)>, bool) = serde_json::from_value(record).unwrap();
    let r: Vec<f64> = times.iter().map(|t| t.0).collect();
    assert!(r[2] < r[0] && r[0] < r[1], "{name}: reveal times {r:?}");
    assert!(
        times.iter().all(|t| t.1 >= 0.0),
        "{name}: server times {times:?}"
    );
    assert_eq!(
        native, kind.native,
        "{name}: the runtime's test of the browser"
    );
    browser
        .screenshot(&format!("progressive-{name}-2-end"))
        .await;
    browser.close().await;
}

#[derive(Template)]
#[template(
    source = r#"<!doctype html><html><body><ul id="list">{{ a }}{{ b }}</ul><table><tbody id="rows">{{ r }}</tbody></table><div id="nest">{{ outer }}</div></body></html>"#,
    ext = "html"
)]
struct ContextShell {
    a: Boundary,
    b: Boundary,
    r: Boundary,
    outer: Boundary,
}

#[derive(Template)]
#[template(
    source = "{% for item in items %}<li>{{ item }}</li>{% endfor %}",
    ext = "html"
)]
struct Items {
    items: Vec<String>,
}

#[derive(Template)]
#[template(
    source = "{% for row in rows %}<tr><td>{{ row }}</td><td>cell</td></tr>{% endfor %}",
    ext = "html"
)]
struct Rows {
    rows: Vec<String>,
}

#[derive(Template)]
#[template(
    source = r#"<section class="outer"><p>outer</p><div class="inner">{{ inner }}</div></section>"#,
    ext = "html"
)]
struct Outer {
    inner: Boundary,
}

fn items(items: &[&str]) -> Items {
    Items {
        items: items.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test]
async fn nesting_lists_and_tables_in_chromium() {
    // With JavaScript: natively and by the polyfill.
    for kind in Kind::WITH_JAVASCRIPT {
        nesting_lists_and_tables(kind).await;
    }
}

async fn nesting_lists_and_tables(kind: Kind) {
    let Some(browser) = Browser::launch_as("nesting_and_context", kind).await else {
        return;
    };
    let engine = Engine::new();
    let (senders, gates) = gates(4);
    let page = {
        let gates = gates.clone();
        move |page: Page| {
            let [a, b, r, outer]: [oneshot::Receiver<()>; 4] = take(&gates).try_into().unwrap();
            let a = page
                .boundary(items(&["loading a"]))
                .no_timeout()
                .try_suspend(async {
                    let _ = a.await;
                    Ok::<_, Infallible>(items(&["a1", "a2"]))
                });
            let b = page
                .boundary(items(&["loading b"]))
                .no_timeout()
                .try_suspend(async {
                    let _ = b.await;
                    Ok::<_, Infallible>(items(&["b1", "b2", "b3"]))
                });
            let r = page
                .boundary(Rows {
                    rows: vec!["loading rows".into()],
                })
                .no_timeout()
                .try_suspend(async {
                    let _ = r.await;
                    Ok::<_, Infallible>(Rows {
                        rows: vec!["r1".into(), "r2".into(), "r3".into(), "r4".into()],
                    })
                });
            let nested = page.clone();
            let outer = page
                .boundary(text("loading outer"))
                .no_timeout()
                .try_suspend(async move {
                    // The child's data is ready long before the parent's.
                    let inner = nested.try_suspend(text("loading inner"), async {
                        Ok::<_, Infallible>(text("inner"))
                    });
                    let _ = outer.await;
                    Ok::<_, Infallible>(Outer { inner })
                });
            page.stream(ContextShell { a, b, r, outer })
        }
    };
    let server = TestServer::start(route(&engine, page)).await;
    browser.open(&url(&server, "/")).await;
    browser
        .wait_for(
            "the shell",
            "return document.getElementById('nest') !== null",
            vec![],
        )
        .await;
    // Fallbacks in context: one li each, one row, the outer fallback.
    assert_eq!(
        browser
            .eval(
                "return [[...document.querySelectorAll('#list > li')].map(e => e.textContent),
                         document.querySelectorAll('#rows > tr').length,
                         document.getElementById('nest').textContent]",
                vec![],
            )
            .await,
        json!([["loading a", "loading b"], 1, "loading outer"])
    );

    // Release in an order unlike the document's: b, rows, outer, a.
    let [sa, sb, sr, so]: [oneshot::Sender<()>; 4] = senders.try_into().unwrap();
    sb.send(()).unwrap();
    sr.send(()).unwrap();
    so.send(()).unwrap();
    browser
        .wait_for(
            "b, the rows and the nested pair",
            "return document.querySelectorAll('#rows > tr').length === 4 &&
                    document.querySelector('#nest .inner p')?.textContent === 'inner' &&
                    document.querySelectorAll('#list > li').length === 4",
            vec![],
        )
        .await;
    sa.send(()).unwrap();
    browser.wait_loaded().await;

    let shape = browser
        .eval(
            "const list = document.getElementById('list');
             const rows = document.getElementById('rows');
             return {
                 items: [...list.children].map(e => e.tagName + ':' + e.textContent),
                 rows: [...rows.children].map(e => e.tagName + ':' + e.cells.length + ':' + e.cells[0].textContent),
                 table: rows.parentElement.tagName + '>' + rows.tagName,
                 nest: document.getElementById('nest').innerHTML,
             };",
            vec![],
        )
        .await;
    assert_eq!(
        shape,
        json!({
            "items": ["LI:a1", "LI:a2", "LI:b1", "LI:b2", "LI:b3"],
            "rows": ["TR:2:r1", "TR:2:r2", "TR:2:r3", "TR:2:r4"],
            "table": "TABLE>TBODY",
            "nest": "<section class=\"outer\"><p>outer</p><div class=\"inner\"><p class=\"text\">inner</p></div></section>",
        })
    );
    no_leftovers(browser.eval(LEFTOVERS, vec![]).await);
    // The runtime knew the inner boundary's parent.
    assert_eq!(
        browser.eval("return window.__suspense[4].p", vec![]).await,
        json!(3)
    );
    browser.close().await;
}

/// Strings that would break out of the transport if they were not escaped.
const HOSTILE: &[&str] = &[
    "</template><script>window.__pwned = 1</script>",
    "<!--/0--><img src=x onerror=\"window.__pwned = 2\">",
    "</script><script>window.__pwned = 3</script>",
    "<template id=\"B:1\"></template><svg onload=\"window.__pwned = 4\">",
    "$S(0,1);window.__pwned = 5;//",
    "\u{2028}\u{2029}]]><!-- --!> <![CDATA[",
    "<script>window.__pwned = 6</script>",
];

#[tokio::test]
async fn hostile_data_is_text_in_chromium() {
    // Both ways of applying the parts: the parser's and the polyfill's.
    for kind in Kind::WITH_JAVASCRIPT {
        hostile_data_is_text(kind).await;
    }
}

async fn hostile_data_is_text(kind: Kind) {
    let Some(browser) = Browser::launch_as("hostile_data", kind).await else {
        return;
    };
    let engine = Engine::new();
    let server = TestServer::start(route(&engine, |page: Page| {
        let parts = HOSTILE
            .iter()
            .map(|s| {
                let (fallback, content) = (text(s), text(s));
                page.try_suspend(fallback, async move {
                    // The shell goes out alone before any boundary is polled,
                    // so this arrives as a fragment, swapped in by script.
                    tokio::task::yield_now().await;
                    Ok::<_, Infallible>(content)
                })
            })
            .collect();
        page.stream(Shell { parts })
    }))
    .await;
    browser.open(&url(&server, "/")).await;
    browser.wait_loaded().await;
    let texts = browser
        .eval(
            "return [...document.querySelectorAll('p.text')].map(p => p.textContent)",
            vec![],
        )
        .await;
    assert_eq!(texts, json!(HOSTILE), "each string shown as text, in place");
    assert_eq!(
        browser
            .eval(
                "return [window.__pwned === undefined,
                         document.querySelectorAll('img, svg, main script').length]",
                vec![],
            )
            .await,
        json!([true, 0]),
        "no injected script ran, no element was injected"
    );
    no_leftovers(browser.eval(LEFTOVERS, vec![]).await);
    browser.close().await;
}

#[derive(Template)]
#[template(
    source = r#"<!doctype html><html><head><script nonce="{{ nonce }}">
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.violatedDirective));
window.__nonced = 1;
</script></head><body><script>window.__unnonced = 1</script><main>{{ part }}</main></body></html>"#,
    ext = "html"
)]
struct PolicyShell {
    nonce: String,
    part: Boundary,
}

#[tokio::test]
async fn a_strict_policy_runs_only_scripts_with_the_page_nonce() {
    // The engine's own scripts (the swap) and the page's nonce'd script run;
    // an inline script without the nonce is blocked, and the browser
    // reports exactly that one violation.
    let Some(browser) = Browser::launch("csp").await else {
        return;
    };
    let engine = Engine::new();
    let server = TestServer::start(route(&engine, |page: Page| {
        let part = page.try_suspend(text("loading"), async {
            tokio::task::yield_now().await;
            Ok::<_, Infallible>(text("content"))
        });
        let nonce = page.csp_nonce();
        page.stream(PolicyShell { nonce, part })
    }))
    .await;
    browser.open(&url(&server, "/")).await;
    browser.wait_loaded().await;
    assert_eq!(
        browser
            .eval(
                "return [window.__nonced, window.__unnonced ?? null, window.__violations,
                         [...document.querySelectorAll('p.text')].map(p => p.textContent),
                         typeof window.__suspense[0].r]",
                vec![],
            )
            .await,
        json!([1, null, ["script-src-elem"], ["content"], "number"])
    );
    browser.close().await;
}

#[derive(Template)]
#[template(
    source = r#"<!doctype html><html><body><main>{{ part }}<p id="after">after the part</p></main><footer>end</footer></body></html>"#,
    ext = "html"
)]
struct BrokenShell {
    part: Boundary,
}

/// A fallback that leaves a `<div>` open: the parser moves the end marker
/// (and what follows) into it.
#[derive(Template)]
#[template(source = r#"<div class="broken">loading"#, ext = "html")]
struct BrokenFallback;

#[tokio::test]
async fn broken_fallback_markup_never_deletes_what_follows() {
    // Both ways of applying: the part shows, and the paragraph after the
    // boundary is still there (the runtime keeps the fallback rather than
    // delete up to an end marker it cannot find among its siblings).
    for kind in Kind::WITH_JAVASCRIPT {
        let Some(browser) = Browser::launch_as("broken_fallback", kind).await else {
            return;
        };
        let engine = Engine::new();
        let (mut senders, gates) = gates(1);
        let server = TestServer::start(route(&engine, move |page: Page| {
            let gate = take(&gates).pop().unwrap();
            let part = page
                .boundary(BrokenFallback)
                .no_timeout()
                .try_suspend(async move {
                    let _ = gate.await;
                    Ok::<_, Infallible>(text("the part"))
                });
            page.stream(BrokenShell { part })
        }))
        .await;
        browser.open(&url(&server, "/")).await;
        browser
            .wait_for(
                "the shell",
                "return document.querySelector('footer') !== null",
                vec![],
            )
            .await;
        senders.pop().unwrap().send(()).unwrap();
        browser.wait_loaded().await;
        let seen = browser
            .eval(
                "return [document.querySelector('#after') && document.querySelector('#after').textContent,
                         [...document.querySelectorAll('p.text')].map(p => p.textContent)]",
                vec![],
            )
            .await;
        assert_eq!(
            seen,
            json!(["after the part", ["the part"]]),
            "{}: what follows the boundary survives, and the part shows once",
            kind.name()
        );
        browser.close().await;
    }
}

/// A page as the engine will write it once boundaries have names: stamps
/// with an ` n=NAME` field, anywhere after the time. Written by hand (with
/// the engine's runtime) so that the runtime's side is tested before the
/// engine's; boundary 2 is nested in boundary 1's content.
fn named_page() -> String {
    format!(
        r#"<!doctype html><html><head><script>
window.__reveals = [];
document.addEventListener("suspense:reveal", e => window.__reveals.push([e.detail.id, e.detail.name]));
</script></head><body><main><?start name="b0"><p class="text">loading-0</p><?end><?start name="b1"><p class="text">loading-1</p><?end></main><footer>end</footer><script>{runtime}</script><template for="b1"><div class="slot"><p class="text">section-1</p><?start name="b2"><p class="text">loading-2</p><?end></div></template><?s b1 1.5 n=reviews o=error><template for="b0"><p class="text">section-0</p></template><?s b0 2.0><template for="b2"><p class="text">section-2</p></template><?s b2 3.5 p=1 n=reviews.author:1_x-Y></body></html>"#,
        runtime = axum_suspense::client::runtime()
    )
}

#[tokio::test]
async fn boundary_names_are_recorded_and_told() {
    // Both ways of applying: the name is on the record (`n`) and in the
    // event (`name`, null without one), and the other fields still parse.
    for kind in Kind::WITH_JAVASCRIPT {
        let Some(browser) = Browser::launch_as("boundary_names", kind).await else {
            return;
        };
        let name = kind.name();
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|| async { axum::response::Html(named_page()) }),
        );
        let server = TestServer::start(app).await;
        browser.open(&url(&server, "/")).await;
        browser.wait_loaded().await;
        let texts = browser
            .eval(
                "return [...document.querySelectorAll('p.text')].map(p => p.textContent)",
                vec![],
            )
            .await;
        assert_eq!(
            texts,
            json!(["section-0", "section-1", "section-2"]),
            "{name}: every part in place"
        );
        let seen = browser
            .eval(
                "const t = window.__suspense;
                 return {
                     names: [0, 1, 2].map(i => t[i].n ?? null),
                     outcome: t[1].o,
                     nested: [t[2].p, t[2].f === t[1].r, t[2].s],
                     reveals: window.__reveals,
                     native: t.$.native,
                 };",
                vec![],
            )
            .await;
        assert_eq!(
            seen,
            json!({
                "names": [null, "reviews", "reviews.author:1_x-Y"],
                "outcome": "error",
                "nested": [1, true, 3.5],
                "reveals": [[1, "reviews"], [0, null], [2, "reviews.author:1_x-Y"]],
                "native": kind.native,
            }),
            "{name}: what the runtime recorded and told"
        );
        no_leftovers(browser.eval(LEFTOVERS, vec![]).await);
        browser.close().await;
    }
}
