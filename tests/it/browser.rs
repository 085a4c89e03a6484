//! What a real browser shows while a page streams, and at the end: headless
//! Chromium against the real server, with the page's timing held by gates
//! (or by `/bench`'s own delays, with margins no machine gets near).

use std::convert::Infallible;

use askama::Template;
use serde_json::{Value, json};
use suspense_ssr::engine::{Boundary, Engine, Page};
use tokio::sync::oneshot;

use crate::chrome::Browser;
use crate::common::TestServer;
use crate::pages::{Shell, gated_page, gates, route, section, take, text};

/// Transport markup left in the document: `<template>` elements, comment
/// nodes and `<script>` elements (the test pages have none of their own).
const LEFTOVERS: &str = r#"
    const comments = document.createTreeWalker(document, NodeFilter.SHOW_COMMENT);
    let n = 0;
    while (comments.nextNode()) n++;
    return {
        templates: document.querySelectorAll("template").length,
        comments: n,
        scripts: document.querySelectorAll("body script").length,
    };
"#;

/// The `.text` paragraphs' texts and whether each is rendered visibly.
const TEXTS: &str = r#"
    return [...document.querySelectorAll("p.text")].map(p => [p.textContent, p.checkVisibility()]);
"#;

fn no_leftovers(value: Value) {
    assert_eq!(
        value,
        json!({"templates": 0, "comments": 0, "scripts": 0}),
        "no transport markup may be left in the document"
    );
}

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

#[tokio::test]
async fn progressive_render_in_chromium() {
    let Some(browser) = Browser::launch("progressive_render").await else {
        return;
    };
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
    browser.screenshot("progressive-1-fallbacks").await;

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
            "after releasing {i}"
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
    assert_eq!(
        browser.eval("return document.body.innerHTML", vec![]).await,
        "<main>\
         <div class=\"slot\"><p class=\"text\">section-0</p></div>\
         <div class=\"slot\"><p class=\"text\">section-1</p></div>\
         <div class=\"slot\"><p class=\"text\">section-2</p></div>\
         </main><footer>end</footer>"
    );
    no_leftovers(browser.eval(LEFTOVERS, vec![]).await);

    // The runtime's record: revealed in the order released.
    let revealed = browser
        .eval(
            "const t = window.__suspense; return [0, 1, 2].map(i => t[i].r)",
            vec![],
        )
        .await;
    let r: Vec<f64> = serde_json::from_value(revealed).unwrap();
    assert!(r[2] < r[0] && r[0] < r[1], "reveal times {r:?}");
    browser.screenshot("progressive-2-end").await;
    browser.close().await;
}

#[tokio::test]
async fn bench_streams_bottom_up_with_the_overlay() {
    let Some(browser) = Browser::launch("bench_overlay").await else {
        return;
    };
    let (server, _engine) = TestServer::site().await;
    // Sections 3, 2, 1, 0 resolve at 1.2, 2.4, 3.6 and 4.8 s: the first
    // leaves the test over a second to see the fallbacks.
    const DELAY: f64 = 4800.0;
    browser
        .open(&url(
            &server,
            "/bench?boundaries=4&items=3&delay=4800&debug=1",
        ))
        .await;
    browser
        .wait_for(
            "the shell and the overlay",
            "return document.querySelector('footer') && document.getElementById('suspense-debug')",
            vec![],
        )
        .await;
    // Before the first section (1.2 s after the request) the fallbacks show.
    let stage = browser
        .eval(
            "return [document.readyState, document.querySelectorAll('p.fallback').length,
                     document.querySelectorAll('section').length]",
            vec![],
        )
        .await;
    assert_eq!(stage, json!(["loading", 4, 0]), "fallback stage");
    browser.screenshot("bench-1-fallbacks").await;

    browser
        .wait_for(
            "the overlay's last draw",
            "return document.readyState === 'complete' &&
                    document.getElementById('suspense-debug').dataset.state === 'done'",
            vec![],
        )
        .await;
    browser.screenshot("bench-2-end").await;
    // Under the page's strict Content-Security-Policy, the overlay's
    // nonce'd <style> applied and its host was styled through the CSSOM.
    assert_eq!(
        browser
            .eval(
                "const host = document.getElementById('suspense-debug');
                 return [getComputedStyle(host).position,
                         getComputedStyle(host.shadowRoot.querySelector('.p')).backgroundColor]",
                vec![],
            )
            .await,
        json!(["fixed", "rgba(22, 22, 30, 0.93)"])
    );

    let ids = browser
        .eval(
            "return [...document.querySelectorAll('main > *')].map(e => e.tagName + '#' + e.id)",
            vec![],
        )
        .await;
    assert_eq!(
        ids,
        json!(["SECTION#s0", "SECTION#s1", "SECTION#s2", "SECTION#s3"])
    );
    // One script stays: the overlay's own, which drew the panel. Every
    // instruction script removed itself.
    assert_eq!(
        browser.eval(LEFTOVERS, vec![]).await,
        json!({"templates": 0, "comments": 0, "scripts": 1})
    );
    assert_eq!(
        browser
            .eval(
                "return document.querySelector('body script').textContent.includes('suspense-debug')",
                vec![],
            )
            .await,
        json!(true)
    );

    // The overlay's rows, as numbers.
    let rows = browser
        .eval(
            "return [...document.getElementById('suspense-debug').shadowRoot
                         .querySelectorAll('[data-id]')]
                     .map(r => [Number(r.dataset.id), Number(r.dataset.server),
                                Number(r.dataset.fallback), Number(r.dataset.revealed)])",
            vec![],
        )
        .await;
    let rows: Vec<(u32, f64, f64, f64)> = serde_json::from_value(rows).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{rows:?}"
    );
    // The server resolved 3, 2, 1, 0, each no earlier than its delay.
    let mut by_server = rows.clone();
    by_server.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(
        by_server.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 2, 1, 0],
        "{rows:?}"
    );
    for (id, server, fallback, revealed) in &rows {
        let delay = DELAY * f64::from(4 - id) / 4.0;
        assert!(*server >= delay, "boundary {id} resolved before its delay");
        assert!(
            fallback < revealed,
            "boundary {id}: fallback before content"
        );
    }
    // The browser revealed them in that order too.
    let mut by_reveal = rows.clone();
    by_reveal.sort_by(|a, b| a.3.total_cmp(&b.3));
    assert_eq!(
        by_reveal.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 2, 1, 0],
        "{rows:?}"
    );
    // And the overlay shows what the runtime recorded.
    let recorded = browser
        .eval(
            "const t = window.__suspense; return [0, 1, 2, 3].map(i => [t[i].s, t[i].r])",
            vec![],
        )
        .await;
    let recorded: Vec<(f64, f64)> = serde_json::from_value(recorded).unwrap();
    for (row, (s, r)) in rows.iter().zip(&recorded) {
        assert_eq!((row.1, row.3), (*s, *r));
    }
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
    let Some(browser) = Browser::launch("nesting_and_context").await else {
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
                .suspend(async {
                    let _ = a.await;
                    Ok::<_, Infallible>(items(&["a1", "a2"]))
                });
            let b = page
                .boundary(items(&["loading b"]))
                .no_timeout()
                .suspend(async {
                    let _ = b.await;
                    Ok::<_, Infallible>(items(&["b1", "b2", "b3"]))
                });
            let r = page
                .boundary(Rows {
                    rows: vec!["loading rows".into()],
                })
                .no_timeout()
                .suspend(async {
                    let _ = r.await;
                    Ok::<_, Infallible>(Rows {
                        rows: vec!["r1".into(), "r2".into(), "r3".into(), "r4".into()],
                    })
                });
            let nested = page.clone();
            let outer = page
                .boundary(text("loading outer"))
                .no_timeout()
                .suspend(async move {
                    // The child's data is ready long before the parent's.
                    let inner = nested.suspend(text("loading inner"), async {
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
    let Some(browser) = Browser::launch("hostile_data").await else {
        return;
    };
    let engine = Engine::new();
    let server = TestServer::start(route(&engine, |page: Page| {
        let parts = HOSTILE
            .iter()
            .map(|s| {
                let (fallback, content) = (text(s), text(s));
                page.suspend(fallback, async move {
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

#[tokio::test]
async fn without_javascript_a_streamed_page_ends_complete() {
    let Some(browser) = Browser::launch_with("no_javascript", false).await else {
        return;
    };
    let (server, _engine) = TestServer::site().await;
    // Stream mode (the default), sections ready bottom up.
    browser
        .open(&url(&server, "/bench?boundaries=3&items=2&delay=900"))
        .await;
    let ready = browser
        .wait_for(
            "every section",
            "return document.readyState === 'complete' &&
                    document.querySelectorAll('main > section').length === 3 &&
                    location.search",
            vec![],
        )
        .await;
    // The page's scripts never ran: the noscript refresh sent it to the
    // in-order page, which needs none.
    assert_eq!(
        ready,
        json!("?boundaries=3&items=2&delay=900&render=in-order")
    );
    assert_eq!(
        browser
            .eval(
                "return [[...document.querySelectorAll('main > section')].map(s => [s.id, s.checkVisibility()]),
                         document.querySelectorAll('.fallback').length,
                         typeof window.$S]",
                vec![],
            )
            .await,
        json!([[["s0", true], ["s1", true], ["s2", true]], 0, "undefined"])
    );
    no_leftovers(browser.eval(LEFTOVERS, vec![]).await);
    browser.screenshot("no-javascript-end").await;
    browser.close().await;
}

#[tokio::test]
async fn compare_shows_four_frames_with_their_timings() {
    let Some(browser) = Browser::launch("compare").await else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("compare-browser-{}", std::process::id()));
    let (server, _engine) = TestServer::site_exported(&dir).await;
    const DELAY: f64 = 1500.0;
    browser.open(&url(&server, "/compare?delay=1500")).await;
    let timings = browser
        .wait_for(
            "every frame's timings",
            "const figures = [...document.querySelectorAll('figure[data-frame]')];
             const done = figures.length === 4 &&
                 figures.every(f => f.dataset.ttfb && f.dataset.fcp && f.dataset.complete);
             return done && figures.map(f => [f.querySelector('b').textContent,
                 Number(f.dataset.ttfb), Number(f.dataset.fcp), Number(f.dataset.complete),
                 f.querySelector('[data-metric=complete]').textContent]);",
            vec![],
        )
        .await;
    browser.screenshot("compare").await;
    let timings: Vec<(String, f64, f64, f64, String)> = serde_json::from_value(timings).unwrap();
    let names: Vec<&str> = timings.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "Static file",
            "Buffered SSR",
            "In-order streaming",
            "Out-of-order streaming"
        ]
    );
    let [file, buffered, in_order, stream] = [&timings[0], &timings[1], &timings[2], &timings[3]];
    for t in &timings {
        assert!(t.4.ends_with(" ms"), "shown on the page: {t:?}");
        assert!(t.1 <= t.3, "first byte before complete: {t:?}");
    }
    // What the page is about, as orderings the design guarantees: buffered
    // sends its first byte only once the slowest data is in; streaming
    // sends the shell before any data and completes only after it; the file
    // needs no data at all.
    assert!(buffered.1 >= DELAY, "{buffered:?}");
    for streamed in [in_order, stream] {
        assert!(streamed.3 >= DELAY, "{streamed:?}");
        assert!(streamed.1 < buffered.1, "{streamed:?} vs {buffered:?}");
    }
    assert!(file.3 < buffered.1, "{file:?} vs {buffered:?}");
    browser.close().await;
    let _ = std::fs::remove_dir_all(&dir);
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
        let part = page.suspend(text("loading"), async {
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
