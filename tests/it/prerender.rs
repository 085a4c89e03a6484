//! Partial prerendering through `deploy/nginx.conf` for real: nginx sends a
//! prerendered shell from disk and includes the parts an instance streams,
//! in one response. The first tests serve a page whose parts are held by
//! gates (the instances run a router of the test's own, the shell is that
//! page's, written where the file's `$prerendered` points); the last serves
//! the site itself, exported as `suspense-ssr export` does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum_suspense::prerender::Prerendered;
use axum_suspense::{Engine, Html, Page, PageBuilder};
use tokio::sync::watch;

use crate::chrome::{Browser, Kind, LEFTOVERS, no_leftovers, no_leftovers_without_script};
use crate::common::{TestServer, eventually, get, have_tool, pos, send};
use crate::nginx::{Edge, NGINX, Nginx};
use crate::pages::{Shell, text};
use axum_suspense::client::TIMINGS;
use serde_json::json;

/// The parts of the test page: released by the test, one bit each.
type Release = watch::Sender<u32>;

const PARTS: u32 = 3;
/// What part 1 shows when released: it fails.
const FAILING: u32 = 1;

/// The page's shell: the same boundaries for the prerender and for every
/// request. Part `i` waits for its bit; part [`FAILING`] then fails; with
/// `timeout`, part 0 gives up at once.
fn shell(page: &Page, release: &watch::Receiver<u32>, timeout: bool) -> Shell {
    let parts = (0..PARTS)
        .map(|i| {
            let mut release = release.clone();
            let builder = page.boundary(text(&format!("loading-{i}")));
            let builder = if timeout && i == 0 {
                builder.timeout(Duration::from_millis(1))
            } else {
                builder.no_timeout()
            };
            builder.try_suspend(async move {
                let _ = release.wait_for(|bits| bits & (1 << i) != 0).await;
                if i == FAILING {
                    Err("the part's source failed")
                } else {
                    Ok(text(&format!("content-{i}")))
                }
            })
        })
        .collect();
    Shell { parts }
}

/// What the instances saw of each parts request: its query and cookie.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// The instances' router: `/_parts/bench`, the parts alone (`?timeout` makes
/// part 0 time out; a browser not known to patch natively is sent to the
/// in-order page if it has no JavaScript), and `/bench` whole, for a query
/// nginx does not prerender (`render=in-order`).
fn instance(engine: &Engine, prerendered: &Prerendered, release: &Release, seen: &Seen) -> Router {
    let (prerendered, parts_release, seen) =
        (prerendered.clone(), release.subscribe(), seen.clone());
    let page_release = release.subscribe();
    Router::new()
        .route(
            "/_parts/bench",
            axum::routing::get(
                move |page: PageBuilder, RawQuery(query): RawQuery, headers: HeaderMap| {
                    let query = query.unwrap_or_default();
                    let cookie = headers
                        .get("cookie")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().push((query.clone(), cookie));
                    // `?status=N`: the instance answers N with a body of its
                    // own, which must never reach the page.
                    if let Some(status) = query
                        .strip_prefix("status=")
                        .and_then(|code| code.parse::<u16>().ok())
                    {
                        let status = axum::http::StatusCode::from_u16(status).unwrap();
                        let refused = (status, "REFUSED-BY-THE-INSTANCE").into_response();
                        return futures::future::Either::Left(std::future::ready(refused));
                    }
                    let page = page.build();
                    let shell = shell(&page, &parts_release, query.contains("timeout"));
                    let uri = format!("/bench?{query}").parse().unwrap();
                    let parts = page.stream_parts(&prerendered, &uri, shell);
                    futures::future::Either::Right(async move {
                        match parts {
                            Ok(parts) => parts,
                            Err(error) => (axum::http::StatusCode::CONFLICT, error.to_string())
                                .into_response(),
                        }
                    })
                },
            ),
        )
        .route(
            "/bench",
            axum::routing::get(move |page: Page| {
                let shell = shell(&page, &page_release, false);
                async move { page.stream(shell) }
            }),
        )
        .with_state(engine.clone())
}

/// The page's files where nginx's `$prerendered` will point: the shell
/// (with the site's "unavailable" content) and the runtime it links.
fn write_files(dir: &Path, prerendered: &Prerendered) {
    let _ = std::fs::remove_dir_all(dir);
    let runtime = dir.join(axum_suspense::client::runtime_path().trim_start_matches('/'));
    std::fs::create_dir_all(runtime.parent().unwrap()).unwrap();
    std::fs::write(&runtime, axum_suspense::client::runtime()).unwrap();
    let file = prerendered
        .ssi_document("/_parts/bench?$args", Html::trusted(UNAVAILABLE))
        .unwrap();
    std::fs::write(dir.join("bench.html"), file).unwrap();
}

const UNAVAILABLE: &str = "<p class=\"unavailable\">unavailable <a href=\"\">Try again</a></p>";

fn files_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("prerendered-{name}-{}", std::process::id()))
}

async fn nginx_for(name: &str, dir: &Path, upstreams: [u16; 2]) -> Nginx {
    let set = format!("set $prerendered {};", dir.display());
    Nginx::start_with(
        name,
        upstreams,
        Edge::Plain,
        &[("set $prerendered /srv/suspense-ssr/prerendered;", &set)],
    )
    .await
}

fn prerender(engine: &Engine) -> Prerendered {
    let (_, never) = watch::channel(0);
    let page = engine.page();
    let shell = shell(&page, &never, false);
    page.prerender(shell)
        .expect("the test page is prerenderable")
}

#[tokio::test]
async fn nginx_sends_the_prerendered_shell_then_the_parts_as_they_are_ready() {
    if !have_tool("nginx_prerendered", Path::new(NGINX), "nginx") {
        return;
    }
    let engine = Engine::new();
    let prerendered = prerender(&engine);
    let dir = files_dir("gated");
    write_files(&dir, &prerendered);
    let (release, _) = watch::channel(0u32);
    let seen = Seen::default();
    let one = TestServer::start(instance(&engine, &prerendered, &release, &seen)).await;
    let two = TestServer::start(instance(&engine, &prerendered, &release, &seen)).await;
    let nginx = nginx_for("gated", &dir, [one.addr.port(), two.addr.port()]).await;

    let request = b"GET /bench?delay=7&x=%3Cy%3E HTTP/1.1\r\nHost: t\r\nCookie: session=abc\r\nConnection: close\r\n\r\n";
    let mut page = send(nginx.addr(), request).await;
    assert_eq!(page.status(), 200, "{}", page.head);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("default-src 'self'") && !policy.contains("nonce"),
        "{policy:?}"
    );
    // The shell, whole, before any part is ready.
    page.read_until("async></script>").await;
    eventually("the instance runs the parts", || {
        engine.stats().pending_boundaries() == PARTS as u64
    })
    .await;
    let shell = page.body();
    assert!(
        shell.starts_with(prerendered.head()) && !shell.contains("<template"),
        "the shell alone first: {shell:?}"
    );
    assert_eq!(
        seen.lock().unwrap().clone(),
        [("delay=7&x=%3Cy%3E".to_owned(), "session=abc".to_owned())],
        "the include carries the page's query and cookie"
    );

    // The parts as they are released: 2, then 1 (which fails), then 0.
    release.send_modify(|bits| *bits |= 1 << 2);
    let first = page.read_until("content-2").await.to_owned();
    assert!(
        !first.contains("<template for=\"b0\"") && !first.contains("<template for=\"b1\""),
        "{first:?}"
    );
    release.send_modify(|bits| *bits |= 1 << FAILING);
    let second = page.read_until("<template for=\"b1\"").await;
    assert!(!second.contains("content-0"), "{second:?}");
    release.send_modify(|bits| *bits |= 1);
    let body = page.read_to_end().await.to_owned();
    assert!(
        body.starts_with(prerendered.head()) && body.ends_with(prerendered.tail()),
        "{body:?}"
    );
    assert!(
        pos(&body, "content-2") < pos(&body, "<template for=\"b1\"")
            && pos(&body, "<template for=\"b1\"") < pos(&body, "content-0"),
        "parts in the order they were ready: {body:?}"
    );
    assert!(
        body.contains(&format!(
            "<template for=\"b1\">{}</template><?s b1 ",
            axum_suspense::error::DEFAULT_ERROR_HTML
        )),
        "{body:?}"
    );
    assert!(
        body.contains(" o=error>"),
        "the failed part says so: {body:?}"
    );
    assert!(
        !body.contains("unavailable"),
        "no stub when the parts came: {body:?}"
    );
    assert_eq!(
        body.matches("<template for=").count(),
        PARTS as usize,
        "{body:?}"
    );

    // A part that times out: its timeout content, the page whole.
    release.send_replace(!1);
    let mut page = get(nginx.addr(), "/bench?timeout=1").await;
    let body = page.read_to_end().await.to_owned();
    assert!(
        body.contains(axum_suspense::error::DEFAULT_TIMEOUT_HTML) && body.contains("o=timeout"),
        "{body:?}"
    );
    assert!(body.ends_with(prerendered.tail()), "{body:?}");

    // Regression (issue 28, review): an instance that answers anything but
    // its parts gives the stub, never its body pasted into the page (nginx
    // intercepted only 400, 403, 404, 409 and 5xx).
    for status in [301, 401, 405, 409, 413, 429, 500, 501] {
        let mut page = get(nginx.addr(), &format!("/bench?status={status}")).await;
        assert_eq!(page.status(), 200, "{}", page.head);
        let body = page.read_to_end().await.to_owned();
        assert!(
            !body.contains("REFUSED-BY-THE-INSTANCE"),
            "the instance's {status} pasted into the page: {body:?}"
        );
        assert_eq!(
            body.matches(UNAVAILABLE).count(),
            PARTS as usize,
            "{status}: every part unavailable: {body:?}"
        );
        assert!(body.ends_with(prerendered.tail()), "{body:?}");
    }

    // The parts are for nginx's include only.
    let parts = get(nginx.addr(), "/_parts/bench").await;
    assert_eq!(parts.status(), 404, "{}", parts.head);

    // The runtime the shell links comes from the files, for a year.
    let runtime = get(nginx.addr(), axum_suspense::client::runtime_path()).await;
    assert_eq!(runtime.status(), 200, "{}", runtime.head);
    assert_eq!(
        runtime.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    // A client that leaves: nginx closes the include's connection and the
    // instance drops the parts.
    release.send_replace(0);
    let mut left = get(nginx.addr(), "/bench").await;
    left.read_until("async></script>").await;
    eventually("the parts run", || {
        engine.stats().pending_boundaries() == PARTS as u64
    })
    .await;
    left.hang_up();
    eventually("the parts stop with the client", || {
        engine.stats().pending_boundaries() == 0
    })
    .await;

    // One instance of two down: nothing changes for the reader.
    release.send_replace(u32::MAX);
    one.stop().await.unwrap();
    for _ in 0..4 {
        let mut page = get(nginx.addr(), "/bench").await;
        let body = page.read_to_end().await.to_owned();
        assert!(
            body.contains("content-0")
                && body.contains("content-2")
                && !body.contains("unavailable"),
            "{body:?}"
        );
    }

    // Both down: the shell at once all the same, each part unavailable,
    // with a way to try again; still a 200.
    two.stop().await.unwrap();
    let mut page = get(nginx.addr(), "/bench?delay=1").await;
    assert_eq!(page.status(), 200, "{}", page.head);
    let body = page.read_to_end().await.to_owned();
    assert!(
        body.starts_with(prerendered.head()) && body.ends_with(prerendered.tail()),
        "{body:?}"
    );
    for i in 0..PARTS {
        assert!(
            body.contains(&format!(
                "<template for=\"b{i}\">{UNAVAILABLE}</template><?s b{i} 0.0 o=error>"
            )),
            "part {i} says it is unavailable: {body:?}"
        );
    }
    assert!(
        !body.contains("<!--#"),
        "no SSI command reaches the reader: {body:?}"
    );
    let runtime = get(nginx.addr(), axum_suspense::client::runtime_path()).await;
    assert_eq!(
        runtime.status(),
        200,
        "the runtime, from the files, with no instance up"
    );
    // A page that cannot be prerendered: the error page.
    let about = get(nginx.addr(), "/about").await;
    assert_eq!(about.status(), 502, "{}", about.head);
}

#[tokio::test]
async fn nginx_joins_the_exported_site_to_the_same_bytes_as_the_instance() {
    if !have_tool("nginx_prerendered_site", Path::new(NGINX), "nginx") {
        return;
    }
    let dir = files_dir("site");
    let _ = std::fs::remove_dir_all(&dir);
    let state = crate::common::site_state().await;
    let report = suspense_ssr::app::export(state, &crate::common::static_dir(), false, &dir)
        .await
        .expect("export");
    assert!(
        report
            .pages
            .iter()
            .any(|page| page == Path::new("prerendered/bench.html")),
        "{report:?}"
    );
    let (one, _) = TestServer::site().await;
    let (two, _) = TestServer::site().await;
    let nginx = nginx_for(
        "site",
        &dir.join("prerendered"),
        [one.addr.port(), two.addr.port()],
    )
    .await;

    // Through nginx (the exported file and an instance's parts), and from
    // the instance alone (the same shell from memory, the same parts).
    let normal = |body: &str| {
        // The times at which the server had each part differ, and so may
        // the order of parts ready together: each part's time left out, the
        // parts sorted.
        let mut out = String::new();
        let mut rest = body;
        while let Some(at) = rest.find("<?s b") {
            let end = rest[at..].find('>').unwrap() + at;
            let id: String = rest[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            out.push_str(&rest[..at]);
            out.push_str(&format!("<?s b{id} T>"));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        let first = out.find("<template for=").unwrap_or(out.len());
        let last = out.rfind("</body>").unwrap_or(out.len()).max(first);
        let mut parts: Vec<&str> = out[first..last]
            .split("<template for=")
            .filter(|part| !part.is_empty())
            .collect();
        parts.sort_unstable();
        format!("{}{}{}", &out[..first], parts.concat(), &out[last..])
    };
    let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    for (path, agent) in [
        ("/bench?delay=0&items=2", chromium),
        ("/bench?delay=0&items=2", "curl/8"),
        ("/", chromium),
        ("/", "curl/8"),
    ] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nUser-Agent: {agent}\r\nConnection: close\r\n\r\n"
        );
        let mut edge = send(nginx.addr(), request.as_bytes()).await;
        let mut direct = send(one.addr, request.as_bytes()).await;
        let (edge, direct) = (
            edge.read_to_end().await.to_owned(),
            direct.read_to_end().await.to_owned(),
        );
        assert_eq!(edge.matches("<template for=").count(), 3, "{edge:?}");
        assert!(
            !edge.contains("unavailable") && !edge.contains("could not be loaded"),
            "{edge:?}"
        );
        assert_eq!(
            normal(&edge),
            normal(&direct),
            "the same page with or without the edge ({path}, {agent})"
        );
        // The engine's one script is linked (the board links its own too);
        // the refresh only for a browser that does not patch natively.
        let scripts = if path == "/" { 2 } else { 1 };
        assert_eq!(edge.matches("<script").count(), scripts, "{edge:?}");
        assert_eq!(edge.contains("<noscript>"), agent != chromium, "{edge:?}");
    }
    // Regression (issue 28, review): nginx's choice and the application's
    // agreed only for plain names (`$arg_debug` is empty for `?debug`,
    // `?render=`, `?%64ebug=1`), so these got the shell with every part
    // unavailable. Now anything not plainly the prerendered page goes to
    // the instances whole: the edge answers as an instance does directly
    // (the page, or the same 400), a crawler too (buffered, no fallbacks).
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    for (path, agent) in [
        ("/?debug", chromium),
        ("/?render=", chromium),
        ("/?%64ebug=1", chromium),
        ("/?%72ender=in-order", "curl/8"),
        ("/bench?debug", chromium),
        ("/bench?boundaries=", chromium),
        ("/bench?items=x", chromium),
        ("/bench?items=5000", chromium),
        ("/bench?%64elay=0&render", chromium),
        ("/bench?delay=0&items=2", googlebot),
        ("/", googlebot),
        ("/?x=1", "Twitterbot/1.0"),
    ] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nUser-Agent: {agent}\r\nConnection: close\r\n\r\n"
        );
        let mut edge = send(nginx.addr(), request.as_bytes()).await;
        let mut direct = send(one.addr, request.as_bytes()).await;
        let (edge_status, direct_status) = (edge.status(), direct.status());
        // The instance's policy carries the page's nonce; the prerendered
        // location's, nginx's own, none.
        let nonced = |policy: Option<&str>| policy.unwrap_or_default().contains("'nonce-");
        let (edge_nonced, direct_nonced) = (
            nonced(edge.header("content-security-policy")),
            nonced(direct.header("content-security-policy")),
        );
        let (edge, direct) = (
            edge.read_to_end().await.to_owned(),
            direct.read_to_end().await.to_owned(),
        );
        assert_eq!(
            edge_status, direct_status,
            "{path} ({agent}): the edge's status is the instance's: {edge:?}"
        );
        assert!(
            !edge.contains("This part is unavailable right now."),
            "{path} ({agent}): a stub with the instances up: {edge:?}"
        );
        assert_eq!(
            edge.matches("<template for=").count(),
            direct.matches("<template for=").count(),
            "{path} ({agent}): {edge:?}"
        );
        if edge_status == 200 {
            assert!(
                edge_nonced && direct_nonced,
                "{path} ({agent}): the page from an instance, not the shell: {edge:?}"
            );
        } else {
            assert_eq!(edge, direct, "{path} ({agent}): the same refusal");
        }
        if agent.contains("bot") {
            assert!(
                !edge.contains("<template for=") && !edge.contains("<noscript>"),
                "{path}: a crawler gets the page buffered, not fallbacks: {edge:?}"
            );
        }
    }
    let request = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: {googlebot}\r\nConnection: close\r\n\r\n"
    );
    let mut crawled = send(nginx.addr(), request.as_bytes()).await;
    let crawled = crawled.read_to_end().await.to_owned();
    assert!(
        crawled.contains("<h1>Recent posts</h1>") && !crawled.contains("Loading the recent posts"),
        "a crawler gets the recent posts: {crawled:?}"
    );

    // A query that changes the shell: the instances stream it whole.
    let mut whole = get(nginx.addr(), "/bench?boundaries=2&delay=0").await;
    let whole = whole.read_to_end().await.to_owned();
    assert!(
        whole.contains("id=\"s1\"") && !whole.contains("Loading section 2"),
        "{whole:?}"
    );

    // Regression (issue 28, review): a file that is not this release's
    // shell (a rolling deploy, an export forgotten) got this release's
    // parts, in ranges that need not be theirs. Its include names another
    // shell now: the instance answers 409, the reader gets the stub.
    let file = dir.join("prerendered/bench.html");
    let exported = std::fs::read_to_string(&file).unwrap();
    let at =
        exported.find("include virtual=\"/_parts/").unwrap() + "include virtual=\"/_parts/".len();
    let fingerprint = exported[at..at + 16].to_owned();
    let stale = format!("/_parts/{fingerprint}/bench").replace(&fingerprint, "0123456789abcdef");
    let conflict = get(one.addr, &stale).await;
    assert_eq!(conflict.status(), 409, "{}", conflict.head);
    let current = get(one.addr, &format!("/_parts/{fingerprint}/bench")).await;
    assert_eq!(current.status(), 200, "{}", current.head);
    std::fs::write(&file, exported.replace(&fingerprint, "0123456789abcdef")).unwrap();
    let mut old = get(nginx.addr(), "/bench").await;
    assert_eq!(old.status(), 200, "{}", old.head);
    let old = old.read_to_end().await.to_owned();
    assert_eq!(
        old.matches("This part is unavailable right now.").count(),
        3,
        "another release's shell: every part unavailable: {old:?}"
    );
    assert!(
        !old.contains("<section"),
        "no part in another shell: {old:?}"
    );
    std::fs::write(&file, exported).unwrap();

    // Every instance down: the board's shell all the same, each of its
    // parts unavailable; a page that is not prerendered, nginx's 502.
    one.stop().await.unwrap();
    two.stop().await.unwrap();
    let mut board = get(nginx.addr(), "/").await;
    assert_eq!(board.status(), 200, "{}", board.head);
    let board = board.read_to_end().await.to_owned();
    assert!(board.contains("<h1>Recent posts</h1>"), "{board:?}");
    assert_eq!(
        board.matches("This part is unavailable right now.").count(),
        3,
        "{board:?}"
    );
    let post = get(nginx.addr(), "/posts/1").await;
    assert_eq!(post.status(), 502, "{}", post.head);
}

/// The prerendered page through nginx in every kind of browser: Chromium
/// patching natively or not, with JavaScript on or off, and Firefox ESR with
/// and without it. Each shows the shell's fallbacks before any part is
/// ready, each part in its place as it is released, and ends with every
/// part once and no transport left; without JavaScript a browser that does
/// not patch is sent to the in-order page, which ends whole.
#[tokio::test]
async fn the_prerendered_page_in_every_browser() {
    if !have_tool("prerendered_browsers", Path::new(NGINX), "nginx") {
        return;
    }
    let engine = Engine::new();
    let prerendered = prerender(&engine);
    let dir = files_dir("browsers");
    write_files(&dir, &prerendered);
    let (release, _) = watch::channel(0u32);
    let seen = Seen::default();
    let one = TestServer::start(instance(&engine, &prerendered, &release, &seen)).await;
    let two = TestServer::start(instance(&engine, &prerendered, &release, &seen)).await;
    let nginx = nginx_for("browsers", &dir, [one.addr.port(), two.addr.port()]).await;
    let url = format!("http://{}/bench?delay=1", nginx.addr());
    let firefox_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";

    let mut kinds: Vec<(String, Option<Kind>, bool)> = Kind::ALL
        .into_iter()
        .map(|kind| {
            // Without JavaScript and without native patching: a browser the
            // server knows does not patch (Firefox's user agent).
            let kind = Kind {
                agent: (!kind.javascript && !kind.native).then_some(firefox_agent),
                ..kind
            };
            (kind.name(), Some(kind), kind.javascript)
        })
        .collect();
    kinds.push(("firefox-js".to_owned(), None, true));
    kinds.push(("firefox-nojs".to_owned(), None, false));
    for (name, kind, javascript) in kinds {
        let browser = match kind {
            Some(kind) => Browser::launch_as("prerendered_browsers", kind).await,
            None => Browser::launch_firefox("prerendered_browsers", javascript).await,
        };
        let Some(browser) = browser else {
            continue;
        };
        let patches = kind.is_some_and(|kind| kind.native);
        release.send_replace(0);
        browser.open_path(&url).await;
        let redirected = !javascript && !patches;
        if !redirected {
            browser
                .wait_for(
                    "the prerendered shell",
                    "return document.querySelector('footer') !== null && document.querySelectorAll('p.text').length === 3",
                    vec![],
                )
                .await;
            assert_eq!(
                browser
                    .eval(
                        "return [...document.querySelectorAll('p.text')].map(p => p.textContent)",
                        vec![]
                    )
                    .await,
                json!(["loading-0", "loading-1", "loading-2"]),
                "{name}: the shell's fallbacks before any part"
            );
            release.send_modify(|bits| *bits |= 1 << 2);
            browser
                .wait_for(
                    "part 2 alone, in place",
                    "return [...document.querySelectorAll('.slot')].map(s => s.textContent).join('|') === 'loading-0|loading-1|content-2'",
                    vec![],
                )
                .await;
            browser
                .screenshot(&format!("prerendered-{name}-1-part-2"))
                .await;
        }
        release.send_replace(u32::MAX);
        browser
            .wait_for(
                "every part",
                "return document.readyState === 'complete' && [...document.querySelectorAll('.slot')].map(s => s.textContent).join('|') === 'content-0|This part of the page could not be loaded.|content-2'",
                vec![],
            )
            .await;
        let leftovers = browser.eval(LEFTOVERS, vec![]).await;
        if javascript {
            no_leftovers(leftovers);
            let native = browser
                .eval(&format!("return window.{TIMINGS}.$.native"), vec![])
                .await;
            assert_eq!(
                native,
                json!(patches),
                "{name}: the runtime's test of the browser"
            );
            let outcomes = browser
                .eval(
                    &format!("return [0, 1, 2].map(i => window.{TIMINGS}[i].o || null)"),
                    vec![],
                )
                .await;
            assert_eq!(
                outcomes,
                json!([null, "error", null]),
                "{name}: each part once, as it ended"
            );
        } else if patches {
            no_leftovers_without_script(leftovers, 3);
        } else {
            no_leftovers(leftovers);
            let search = browser.eval("return location.search", vec![]).await;
            assert!(
                search
                    .as_str()
                    .unwrap_or_default()
                    .contains("render=in-order"),
                "{name}: {search}"
            );
        }
        browser
            .screenshot(&format!("prerendered-{name}-2-end"))
            .await;
        browser.close().await;
    }

    // Every instance down: the shell, and each part says it is unavailable
    // (put in place by the parser, or by the runtime nginx serves itself).
    one.stop().await.unwrap();
    two.stop().await.unwrap();
    for kind in Kind::WITH_JAVASCRIPT {
        let Some(browser) = Browser::launch_as("prerendered_browsers", kind).await else {
            continue;
        };
        browser.open(&url).await;
        browser
            .wait_for(
                "every part unavailable",
                "return document.readyState === 'complete' && [...document.querySelectorAll('.slot')].every(s => s.textContent === 'unavailable Try again')",
                vec![],
            )
            .await;
        no_leftovers(browser.eval(LEFTOVERS, vec![]).await);
        let outcomes = browser
            .eval(
                &format!("return [0, 1, 2].map(i => window.{TIMINGS}[i].o)"),
                vec![],
            )
            .await;
        assert_eq!(
            outcomes,
            json!(["error", "error", "error"]),
            "{}",
            kind.name()
        );
        browser
            .screenshot(&format!("prerendered-{}-3-down", kind.name()))
            .await;
        browser.close().await;
    }
}

/// `deploy/nginx.conf` sends the engine's crawlers to the instances (which
/// buffer the page for them) with a list of its own: the two must be the
/// same tokens, or a crawler the engine knows gets a shell of fallbacks.
#[test]
fn nginx_knows_the_engines_crawlers() {
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf"))
        .expect("deploy/nginx.conf");
    let start = conf
        .find("map $http_user_agent $suspense_crawler {")
        .expect("the crawlers' map");
    let map = &conf[start..start + conf[start..].find("\n}").expect("the map's end")];
    let tokens: Vec<&str> = map
        .lines()
        .filter_map(|line| line.trim().strip_prefix("\"~*"))
        .map(|line| {
            line.strip_suffix("\" crawler;")
                .expect("`\"~*token\" crawler;`")
        })
        .collect();
    assert_eq!(
        tokens,
        axum_suspense::crawlers::CRAWLER_TOKENS,
        "deploy/nginx.conf's crawlers are not the engine's (crates/axum-suspense/src/crawlers.rs)"
    );
    // Matched as regular expressions: a token must mean itself.
    for token in tokens {
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" -_!".contains(&b)),
            "{token:?} would be read as a pattern"
        );
    }
}
