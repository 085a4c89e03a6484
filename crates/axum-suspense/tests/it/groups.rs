//! Reveal groups and the batching window on the wire: a forwards member
//! waits for those before it, a together group goes out in one chunk, a
//! member that fails or times out releases those waiting on it, a part
//! outside the group is not held, and a batching window holds what is
//! ready until it passes. Timing is held by gates; assertions are on order
//! and chunks, never on durations. And in browsers (Chromium patching
//! natively with JavaScript on and off, with the polyfill, Firefox ESR):
//! what is shown while a forwards group holds, and the reveal order.

use std::convert::Infallible;
use std::time::Duration;

use axum_suspense::{Engine, Page, RenderMode, RevealGroup, RevealOrder};
use tokio::sync::oneshot;

use crate::common::pos;
use crate::pages::{Gates, Shell, gates, open_with, take, text};

/// What a gate does to its part when it opens.
#[derive(Clone, Copy)]
enum Then {
    Content,
    Fail,
}

/// A page of one part per gate; part `i` joins the group `members[i]`
/// says (`None`: no group); part `i` shows `section-i`, or its error
/// content `failed-i` if `fails[i]`.
fn grouped_page(
    gates: &Gates,
    order: RevealOrder,
    members: Vec<bool>,
    then: Vec<Then>,
) -> impl Fn(Page) -> axum::response::Response + Clone + use<> {
    let gates = gates.clone();
    move |page: Page| {
        let group: RevealGroup = page.group(order);
        let parts = take(&gates)
            .into_iter()
            .enumerate()
            .map(|(i, gate)| {
                let mut builder = page
                    .boundary(text(&format!("loading-{i}")))
                    .no_timeout()
                    .on_error(text(&format!("failed-{i}")));
                if members[i] {
                    builder = builder.group(&group);
                }
                let then = then[i];
                builder.try_suspend(async move {
                    let _ = gate.await;
                    match then {
                        Then::Content => Ok(text(&format!("section-{i}"))),
                        Then::Fail => Err("the source is down"),
                    }
                })
            })
            .collect();
        page.stream(Shell { parts })
    }
}

fn template(i: usize) -> String {
    format!("<template for=\"b{i}\">")
}

const QUIET: Duration = Duration::from_millis(150);

#[tokio::test]
async fn forwards_parts_wait_for_those_before_them_and_others_do_not() {
    let engine = Engine::new();
    let (senders, gates) = gates(4);
    let page = grouped_page(
        &gates,
        RevealOrder::Forwards,
        vec![true, true, true, false],
        vec![Then::Content; 4],
    );
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    response.read_until("<footer>end</footer>").await;
    let [s0, s1, s2, s3]: [oneshot::Sender<()>; 4] = senders.try_into().unwrap();
    s2.send(()).unwrap();
    s1.send(()).unwrap();
    response.assert_quiet(QUIET).await;
    assert!(
        !response.body().contains("<template"),
        "{}",
        response.body()
    );
    // Outside the group: not held.
    s3.send(()).unwrap();
    response.read_until(&template(3)).await;
    response.assert_quiet(QUIET).await;
    s0.send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    let (t0, t1, t2, t3) = (
        pos(&body, &template(0)),
        pos(&body, &template(1)),
        pos(&body, &template(2)),
        pos(&body, &template(3)),
    );
    assert!(t3 < t0 && t0 < t1 && t1 < t2, "order 3, 0, 1, 2: {body}");
    // 0, 1 and 2 went out together once 0 was in.
    let last = response.chunks.last().unwrap();
    assert!(
        [0, 1, 2].iter().all(|&i| last.contains(&template(i))),
        "{:?}",
        response.chunks
    );
}

#[tokio::test]
async fn together_parts_go_out_in_one_chunk_and_a_failure_counts_as_ended() {
    let engine = Engine::new();
    let (senders, gates) = gates(3);
    let page = grouped_page(
        &gates,
        RevealOrder::Together,
        vec![true, true, true],
        vec![Then::Content, Then::Fail, Then::Content],
    );
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    response.read_until("<footer>end</footer>").await;
    let [s0, s1, s2]: [oneshot::Sender<()>; 3] = senders.try_into().unwrap();
    s0.send(()).unwrap();
    response.assert_quiet(QUIET).await;
    s2.send(()).unwrap();
    response.assert_quiet(QUIET).await;
    // The failing member ends the wait: all three, in one chunk.
    s1.send(()).unwrap();
    response.read_to_end().await;
    let parts: Vec<&String> = response
        .chunks
        .iter()
        .filter(|c| c.contains("<template"))
        .collect();
    assert_eq!(parts.len(), 1, "one chunk of parts: {:?}", response.chunks);
    for needle in ["section-0", "failed-1", "section-2", "o=error"] {
        assert!(parts[0].contains(needle), "{needle} in {:?}", parts[0]);
    }
}

#[tokio::test]
async fn a_failed_or_timed_out_forwards_member_releases_those_after_it() {
    let engine = Engine::new();
    let (senders, gates) = gates(2);
    let page = grouped_page(
        &gates,
        RevealOrder::Forwards,
        vec![true, true],
        vec![Then::Fail, Then::Content],
    );
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    response.read_until("<footer>end</footer>").await;
    let [s0, s1]: [oneshot::Sender<()>; 2] = senders.try_into().unwrap();
    s1.send(()).unwrap();
    response.assert_quiet(QUIET).await;
    s0.send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert!(pos(&body, "failed-0") < pos(&body, "section-1"), "{body}");

    // A member that never comes, ended by its timeout: the member after it
    // waits for the timeout content, then follows it.
    let page = |page: Page| {
        let group = page.group(RevealOrder::Forwards);
        let stuck = page
            .boundary(text("loading-0"))
            .group(&group)
            .timeout(Duration::from_millis(200))
            .on_timeout(text("timed-out-0"))
            .suspend(std::future::pending::<crate::pages::Text>());
        let ready = page
            .boundary(text("loading-1"))
            .group(&group)
            .try_suspend(async { Ok::<_, Infallible>(text("section-1")) });
        page.stream(Shell {
            parts: vec![stuck, ready],
        })
    };
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        pos(&body, "timed-out-0") < pos(&body, "section-1") && body.contains("o=timeout"),
        "{body}"
    );
}

#[tokio::test]
async fn groups_leave_the_in_order_mode_in_document_order() {
    let engine = Engine::new();
    let (senders, gates) = gates(3);
    let page = grouped_page(
        &gates,
        RevealOrder::Together,
        vec![true, true, true],
        vec![Then::Content; 3],
    );
    let (_server, mut response) = open_with(&engine, |b| b.mode(RenderMode::InOrder), page).await;
    let [s0, s1, s2]: [oneshot::Sender<()>; 3] = senders.try_into().unwrap();
    s0.send(()).unwrap();
    // Not held for the group: the in-order page goes on to section 1.
    response.read_until("section-0").await;
    s1.send(()).unwrap();
    s2.send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert!(pos(&body, "section-1") < pos(&body, "section-2"), "{body}");
}

#[tokio::test]
async fn a_batching_window_holds_ready_parts_until_it_passes() {
    let engine = Engine::new();
    // A window longer than the test: nothing goes out until the last part,
    // with the page's end.
    let (senders, held) = gates(3);
    let page = grouped_page(
        &held,
        RevealOrder::AsReady,
        vec![false; 3],
        vec![Then::Content; 3],
    );
    let (_server, mut response) =
        open_with(&engine, |b| b.batch(Duration::from_secs(3600)), page).await;
    response.read_until("<footer>end</footer>").await;
    let [s0, s1, s2]: [oneshot::Sender<()>; 3] = senders.try_into().unwrap();
    s1.send(()).unwrap();
    response.assert_quiet(QUIET).await;
    s0.send(()).unwrap();
    response.assert_quiet(QUIET).await;
    s2.send(()).unwrap();
    response.read_to_end().await;
    let parts: Vec<&String> = response
        .chunks
        .iter()
        .filter(|c| c.contains("<template"))
        .collect();
    assert_eq!(parts.len(), 1, "{:?}", response.chunks);
    assert!(parts[0].ends_with("</body></html>"), "{:?}", parts[0]);
    assert!(pos(parts[0], &template(1)) < pos(parts[0], &template(0)));

    // A short window: a part goes out once it has passed, with no other
    // part ready, before the next is released.
    let (senders, short) = gates(2);
    let page = grouped_page(
        &short,
        RevealOrder::AsReady,
        vec![false; 2],
        vec![Then::Content; 2],
    );
    let (_server, mut response) =
        open_with(&engine, |b| b.batch(Duration::from_millis(20)), page).await;
    response.read_until("<footer>end</footer>").await;
    let [s0, s1]: [oneshot::Sender<()>; 2] = senders.try_into().unwrap();
    s0.send(()).unwrap();
    response.read_until(&template(0)).await;
    assert!(!response.body().contains(&template(1)));
    s1.send(()).unwrap();
    response.read_to_end().await;
}

/// The paragraphs' texts: fallbacks `loading-i`, parts `section-i`,
/// failures `failed-i`.
const SHOWN: &str = r#"
    return [[...document.querySelectorAll('p.text')].map(p => p.textContent)];
"#;

async fn orders_in(browser: crate::chrome::Browser, label: &str, javascript: bool) {
    let engine = Engine::new();
    // Forwards: 0, 1 (fails), 2; released 2, 1, 0.
    let (senders, held) = gates(3);
    let page = grouped_page(
        &held,
        RevealOrder::Forwards,
        vec![true; 3],
        vec![Then::Content, Then::Fail, Then::Content],
    );
    let server = crate::common::TestServer::start(crate::pages::route(&engine, page)).await;
    browser.open(&format!("http://{}/", server.addr)).await;
    if javascript {
        browser
            .eval(
                "window.__revealed = [];
                 document.addEventListener('suspense:reveal', e => window.__revealed.push(e.detail.id));",
                vec![],
            )
            .await;
    }
    browser
        .wait_for(
            "the shell",
            "return !!document.querySelector('footer')",
            vec![],
        )
        .await;
    let [s0, s1, s2]: [oneshot::Sender<()>; 3] = senders.try_into().unwrap();
    s2.send(()).unwrap();
    s1.send(()).unwrap();
    // Held on the server: a bounded look that nothing moved (as
    // `assert_quiet` on the wire tests above).
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        browser.eval(SHOWN, vec![]).await,
        serde_json::json!([["loading-0", "loading-1", "loading-2"]]),
        "{label}: 2 and 1 wait for 0"
    );
    s0.send(()).unwrap();
    browser.wait_loaded().await;
    assert_eq!(
        browser.eval(SHOWN, vec![]).await,
        serde_json::json!([["section-0", "failed-1", "section-2"]]),
        "{label}: all in, the failure in its place"
    );
    if javascript {
        assert_eq!(
            browser.eval("return window.__revealed", vec![]).await,
            serde_json::json!([0, 1, 2]),
            "{label}: revealed forwards"
        );
    }

    // Together: 0 ready alone shows nothing; with 1, both.
    let (senders, held) = gates(2);
    let page = grouped_page(
        &held,
        RevealOrder::Together,
        vec![true; 2],
        vec![Then::Content; 2],
    );
    let server = crate::common::TestServer::start(crate::pages::route(&engine, page)).await;
    browser.open(&format!("http://{}/", server.addr)).await;
    browser
        .wait_for(
            "the shell",
            "return !!document.querySelector('footer')",
            vec![],
        )
        .await;
    let [s0, s1]: [oneshot::Sender<()>; 2] = senders.try_into().unwrap();
    s0.send(()).unwrap();
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        browser.eval(SHOWN, vec![]).await,
        serde_json::json!([["loading-0", "loading-1"]]),
        "{label}: 0 waits for 1"
    );
    s1.send(()).unwrap();
    browser.wait_loaded().await;
    assert_eq!(
        browser.eval(SHOWN, vec![]).await,
        serde_json::json!([["section-0", "section-1"]]),
        "{label}: together"
    );
    browser.close().await;
}

#[tokio::test]
async fn group_orders_hold_in_the_browser_with_a_failure_in_the_group() {
    use crate::chrome::{Browser, Kind};
    for kind in [Kind::ALL[0], Kind::ALL[1], Kind::ALL[2]] {
        let Some(browser) = Browser::launch_as("groups", kind).await else {
            return;
        };
        orders_in(browser, &kind.name(), kind.javascript).await;
    }
    let Some(browser) = Browser::launch_firefox("groups", true).await else {
        return;
    };
    orders_in(browser, "firefox", true).await;
}

#[derive(askama::Template)]
#[template(source = r#"<div class="outer">{{ inner }}</div>"#, ext = "html")]
struct Outer {
    inner: axum_suspense::Boundary,
}

#[tokio::test]
async fn a_forwards_member_rendered_in_a_later_members_content_follows_it() {
    // b0 joins first but is rendered inside b1's content: b0 cannot go
    // before b1 (its placeholder is not out), and must not hold b1 back
    // (neither could ever go). b1, then b0, right after it.
    let engine = Engine::new();
    let page = |page: Page| {
        let group = page.group(RevealOrder::Forwards);
        let inner = page
            .boundary(text("loading-0"))
            .group(&group)
            .try_suspend(async { Ok::<_, Infallible>(text("section-0")) });
        let outer = page
            .boundary(text("loading-1"))
            .group(&group)
            .no_timeout()
            .try_suspend(async move {
                tokio::task::yield_now().await;
                Ok::<_, Infallible>(Outer { inner })
            });
        page.stream(Shell { parts: vec![outer] })
    };
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        pos(&body, &template(1)) < pos(&body, &template(0)),
        "{body}"
    );
    assert!(body.contains("section-0") && body.ends_with("</body></html>"));
}

#[tokio::test]
async fn members_that_wait_on_each_other_across_groups_do_not_hang_the_page() {
    // Regression: forwards A, B and forwards C, D, with A rendered in D's
    // content and C in B's. B waited for A, whose placeholder waited for
    // D, which waited for C, whose placeholder waited for B: the page
    // never ended (it has no deadline by default). Now one of them goes
    // out of turn (B, the first group's), and the rest follow in turn.
    let engine = Engine::new();
    let (senders, gates) = gates(2);
    let page = move |page: Page| {
        let [gate_b, gate_d]: [oneshot::Receiver<()>; 2] = take(&gates).try_into().unwrap();
        let first = page.group(RevealOrder::Forwards);
        let second = page.group(RevealOrder::Forwards);
        let member = |group: &RevealGroup, i: usize| {
            page.boundary(text(&format!("loading-{i}")))
                .group(group)
                .no_timeout()
        };
        let a = member(&first, 0).try_suspend(async { Ok::<_, Infallible>(text("section-a")) });
        let c = member(&second, 1).try_suspend(async { Ok::<_, Infallible>(text("section-c")) });
        let b = member(&first, 2).try_suspend(async move {
            let _ = gate_b.await;
            Ok::<_, Infallible>(Outer { inner: c })
        });
        let d = member(&second, 3).try_suspend(async move {
            let _ = gate_d.await;
            Ok::<_, Infallible>(Outer { inner: a })
        });
        page.stream(Shell { parts: vec![b, d] })
    };
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    response.read_until("<footer>end</footer>").await;
    for sender in senders {
        sender.send(()).unwrap();
    }
    // `read_to_end` fails if the page does not end (in its timeout) or
    // ends without its terminating chunk.
    let body = response.read_to_end().await.to_owned();
    assert!(body.ends_with("</body></html>"), "{body}");
    // Ids: a 0, c 1, b 2, d 3. B out of turn, then C (its placeholder
    // came with B), D, and A (its placeholder came with D).
    let (a, c, b, d) = (
        pos(&body, &template(0)),
        pos(&body, &template(1)),
        pos(&body, &template(2)),
        pos(&body, &template(3)),
    );
    assert!(b < c && c < d && d < a, "order b, c, d, a: {body}");
    for needle in ["section-a", "section-c"] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
}

#[tokio::test]
async fn a_together_group_waits_for_a_member_made_in_a_poll_that_filled_a_chunk() {
    // Regression: when a chunk filled up (64 KiB) the body returned before
    // taking over the boundaries the parts just ended had made; the groups
    // were released next, so a together group went out without the member
    // its member had just made (that one followed on its own). X and Y in
    // a together group, Z made by X's future and joining it too, and P (not
    // grouped, over 64 KiB) ending in the same poll, after them.
    let engine = Engine::new();
    let page = |page: Page| {
        let together = page.group(RevealOrder::Together);
        let inner = page.clone();
        let x = page
            .boundary(text("loading-x"))
            .group(&together)
            .no_timeout()
            .try_suspend(async move {
                let z = inner
                    .boundary(text("loading-z"))
                    .group(&together)
                    .no_timeout()
                    .try_suspend(async {
                        tokio::task::yield_now().await;
                        Ok::<_, Infallible>(text("section-z"))
                    });
                Ok::<_, Infallible>(Outer { inner: z })
            });
        let y = page
            .boundary(text("loading-y"))
            .group(&together)
            .try_suspend(async { Ok::<_, Infallible>(text("section-y")) });
        let big = "p".repeat(70 * 1024);
        let p = page
            .boundary(text("loading-p"))
            .try_suspend(async move { Ok::<_, Infallible>(text(&big)) });
        page.stream(Shell {
            parts: vec![x, y, p],
        })
    };
    let (_server, mut response) = open_with(&engine, |b| b, page).await;
    response.read_to_end().await;
    // Ids: x 0, y 1, p 2, z 3.
    let with_x: Vec<&String> = response
        .chunks
        .iter()
        .filter(|c| c.contains(&template(0)))
        .collect();
    assert_eq!(with_x.len(), 1, "{:?}", response.chunks.len());
    for i in [1, 3] {
        assert!(
            with_x[0].contains(&template(i)),
            "b{i} goes with b0, together: chunks {:?}",
            response
                .chunks
                .iter()
                .map(|c| c.chars().take(300).collect::<String>())
                .collect::<Vec<_>>()
        );
    }
}
