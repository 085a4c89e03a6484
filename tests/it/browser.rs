//! What a real browser shows of the site's pages: headless Chromium against
//! the real server, `/bench` streaming with its overlay (timed by its own
//! delays, with margins no machine gets near), the no-JavaScript path and
//! `/compare`. The engine's own browser tests are in its crate.

use serde_json::json;

use crate::chrome::{Browser, LEFTOVERS, no_leftovers};
use crate::common::TestServer;

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.addr)
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
