//! The board, against a fresh database in a temp dir: pages stream, ids are
//! checked before any byte, forms follow post/redirect/get with 422 and 413,
//! a comment and its count move in one transaction, 200 concurrent comments
//! all land, markup in a comment is text; and in Chromium, the enhanced forms
//! update in place while the plain ones still work without JavaScript.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use suspense_ssr::app::{self, AppState, Latency};
use suspense_ssr::data::SqliteStore;

use crate::chrome::Browser;
use crate::common::{RawResponse, TestServer, fresh_database, get, send, static_dir};

struct Board {
    server: TestServer,
    database: PathBuf,
}

async fn board(latency: Latency) -> Board {
    let database = fresh_database();
    let store = SqliteStore::open(&database).await.expect("open the board");
    let mut state = AppState::new(suspense_ssr::app::engine().build(), Arc::new(store));
    state.latency = latency;
    let server = TestServer::start(app::app(state, &static_dir())).await;
    Board { server, database }
}

impl Board {
    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.database).expect("open the test's database")
    }

    fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    async fn post_form(&self, path: &str, body: &str, extra: &str) -> RawResponse {
        post_form(self.server.addr, path, body, extra).await
    }
}

/// `POST path` with a form `body` and `extra` header lines.
pub(crate) async fn post_form(
    addr: SocketAddr,
    path: &str,
    body: &str,
    extra: &str,
) -> RawResponse {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    send(addr, request.as_bytes()).await
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn pages_stream_the_shell_before_their_slow_parts() {
    let slow = Latency {
        comments: Duration::from_millis(200),
        ..Latency::NONE
    };
    let board = board(slow).await;
    let mut page = get(board.server.addr, "/posts/1").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.header("x-render-mode"), Some("stream"));
    page.read_to_end().await;
    // The first chunk is the shell alone: the post, fallbacks, the form.
    let shell = &page.chunks[0];
    assert!(shell.contains("<article class=\"post\">") && shell.contains("id=\"comment-form\""));
    for fallback in [
        "Loading comments…",
        "Finding related posts…",
        "Loading the author…",
    ] {
        assert!(shell.contains(fallback), "{fallback} in the shell");
    }
    assert!(!shell.contains("data-comments"), "comments come later");
    let body = page.body();
    // The author card, then the nested "more by" inside it.
    assert!(body.contains("<div class=\"card\">") && body.contains("More by"));
    assert!(body.ends_with("</html>"));

    let mut home = get(board.server.addr, "/").await;
    home.read_to_end().await;
    assert!(
        home.chunks[0].contains("Recent posts") && home.chunks[0].contains("Adding up this week")
    );
    assert!(home.body().contains("Popular this week"));
}

#[tokio::test]
async fn missing_and_malformed_ids() {
    let board = board(Latency::NONE).await;
    let mut missing = get(board.server.addr, "/posts/999999").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.header("x-render-mode"),
        None,
        "decided before any streaming"
    );
    assert!(missing.read_to_end().await.contains("<h1>Not found</h1>"));
    for bad in [
        "/posts/abc",
        "/posts/-1",
        "/posts/0",
        "/posts/1.5",
        "/posts/%201",
    ] {
        let mut response = get(board.server.addr, bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(
            response
                .read_to_end()
                .await
                .contains("positive whole number")
        );
    }
    let like = board.post_form("/comments/abc/like", "", "").await;
    assert_eq!(like.status(), 400);
    let like = board.post_form("/comments/999999/like", "", "").await;
    assert_eq!(like.status(), 404);
}

#[tokio::test]
async fn a_comment_round_trip_and_its_count() {
    let board = board(Latency::NONE).await;
    let before = board.count("SELECT comment_count FROM posts WHERE id = 3");
    let response = board
        .post_form(
            "/posts/3/comments",
            &form(&[("author", " Zoë "), ("body", "First line\r\nsecond & last")]),
            "",
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.header("location").unwrap().to_owned();
    assert!(location.starts_with("/posts/3#c"), "{location}");
    assert_eq!(
        board.count("SELECT comment_count FROM posts WHERE id = 3"),
        before + 1
    );

    let mut page = get(board.server.addr, "/posts/3").await;
    let body = page.read_to_end().await;
    assert!(body.contains("<b>Zoë</b>"), "trimmed author");
    assert!(body.contains("First line\nsecond &#38; last"), "{body}");
    assert!(body.contains(&format!("{} comments", before + 1)));

    // Enhanced: the comment's HTML, not a redirect.
    let enhanced = board
        .post_form(
            "/posts/3/comments",
            &form(&[("author", "Ann"), ("body", "in place")]),
            "X-Enhanced: 1\r\n",
        )
        .await;
    let mut enhanced = enhanced;
    assert_eq!(enhanced.status(), 201);
    let html = enhanced.read_to_end().await;
    assert!(html.starts_with("<li class=\"comment\" id=\"c") && html.contains("in place"));

    // A post that does not exist.
    let response = board
        .post_form(
            "/posts/999999/comments",
            &form(&[("author", "A"), ("body", "B")]),
            "",
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn invalid_comments_get_422_with_the_input_kept() {
    let board = board(Latency::NONE).await;
    let before = board.count("SELECT count(*) FROM comments");
    let mut response = board
        .post_form(
            "/posts/2/comments",
            &form(&[("author", "   "), ("body", "keep <b>this</b>")]),
            "",
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.read_to_end().await;
    assert!(
        page.contains("Your name is required"),
        "the problem, next to the field"
    );
    assert!(
        page.contains(">keep &#60;b&#62;this&#60;/b&#62;</textarea>"),
        "input kept: {page}"
    );
    assert!(page.ends_with("</html>"), "still a whole page");

    let long = "x".repeat(2001);
    let mut response = board
        .post_form(
            "/posts/2/comments",
            &form(&[("author", "Al"), ("body", &long)]),
            "",
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .read_to_end()
            .await
            .contains("too long: 2001 characters")
    );

    // Not UTF-8: refused, with what was sent shown back as well as it can be.
    let mut response = board
        .post_form("/posts/2/comments", "author=Al&body=%FF%FE", "")
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .read_to_end()
            .await
            .contains("not valid text (UTF-8)")
    );

    let enhanced = board
        .post_form(
            "/posts/2/comments",
            &form(&[("author", ""), ("body", "")]),
            "X-Enhanced: 1\r\n",
        )
        .await;
    assert_eq!(enhanced.status(), 422);
    assert_eq!(
        board.count("SELECT count(*) FROM comments"),
        before,
        "nothing stored"
    );

    // Bodies over the limit: 413, before anything is parsed.
    let huge = format!("author=A&body={}", "y".repeat(20 * 1024));
    let response = board.post_form("/posts/2/comments", &huge, "").await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn new_posts_and_likes() {
    let board = board(Latency::NONE).await;
    let response = board
        .post_form(
            "/posts",
            &form(&[
                ("author", "Newcomer"),
                ("title", "Hello board"),
                ("body", "Para one.\n\nPara two."),
            ]),
            "",
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.header("location").unwrap().to_owned();
    let mut page = get(board.server.addr, &location).await;
    let body = page.read_to_end().await;
    assert!(body.contains("<h1>Hello board</h1>") && body.contains("<p>Para two.</p>"));
    assert!(body.contains("by Newcomer"));

    let mut invalid = board
        .post_form(
            "/posts",
            &form(&[("author", "X"), ("title", ""), ("body", "b")]),
            "",
        )
        .await;
    assert_eq!(invalid.status(), 422);
    let page = invalid.read_to_end().await;
    assert!(
        page.contains("The title is required")
            && page.contains("<details class=\"new-post\" open>")
    );

    let likes = board.count("SELECT likes FROM comments WHERE id = 1");
    let plain = board.post_form("/comments/1/like", "", "").await;
    assert_eq!(plain.status(), 303);
    assert!(plain.header("location").unwrap().ends_with("#c1"));
    let mut enhanced = board
        .post_form("/comments/1/like", "", "X-Enhanced: 1\r\n")
        .await;
    assert_eq!(enhanced.status(), 200);
    assert_eq!(enhanced.read_to_end().await, (likes + 2).to_string());
}

#[tokio::test]
async fn a_failure_between_the_two_writes_leaves_neither() {
    let board = board(Latency::NONE).await;
    // Make the second write (the count) fail, as a crash or a full disk would.
    board
        .db()
        .execute_batch(
            "CREATE TRIGGER fail_count BEFORE UPDATE OF comment_count ON posts
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    let comments = board.count("SELECT count(*) FROM comments");
    let count = board.count("SELECT comment_count FROM posts WHERE id = 4");
    let response = board
        .post_form(
            "/posts/4/comments",
            &form(&[("author", "A"), ("body", "lost")]),
            "",
        )
        .await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        board.count("SELECT count(*) FROM comments"),
        comments,
        "the insert was rolled back"
    );
    assert_eq!(
        board.count("SELECT comment_count FROM posts WHERE id = 4"),
        count
    );
}

#[tokio::test]
async fn two_hundred_concurrent_comments_all_land_once() {
    let board = board(Latency::NONE).await;
    let before = board.count("SELECT count(*) FROM comments WHERE post_id = 5");
    let addr = board.server.addr;
    let posts: Vec<_> = (0..200)
        .map(|n| {
            tokio::spawn(async move {
                let body = form(&[
                    ("author", "Crowd"),
                    ("body", &format!("comment number {n}")),
                ]);
                post_form(addr, "/posts/5/comments", &body, "")
                    .await
                    .status()
            })
        })
        .collect();
    for post in posts {
        assert_eq!(post.await.unwrap(), 303);
    }
    assert_eq!(
        board.count("SELECT count(*) FROM comments WHERE post_id = 5"),
        before + 200
    );
    assert_eq!(
        board.count("SELECT count(DISTINCT body) FROM comments WHERE author = 'Crowd'"),
        200,
        "each stored once"
    );
    assert_eq!(
        board.count("SELECT comment_count FROM posts WHERE id = 5"),
        board.count("SELECT count(*) FROM comments WHERE post_id = 5"),
    );
}

#[tokio::test]
async fn hostile_comments_are_text() {
    let board = board(Latency::NONE).await;
    let hostile = "</li><script>window.__pwned=1</script><img src=x onerror=alert(1)><!--";
    let response = board
        .post_form(
            "/posts/6/comments",
            &form(&[("author", "<b>Eve</b>"), ("body", hostile)]),
            "",
        )
        .await;
    assert_eq!(response.status(), 303);
    let mut page = get(board.server.addr, "/posts/6").await;
    let body = page.read_to_end().await;
    assert!(!body.contains("<script>window.__pwned") && !body.contains("<img src=x"));
    assert!(
        body.contains("&#60;/li&#62;&#60;script&#62;window.__pwned=1&#60;/script&#62;"),
        "{body}"
    );
    assert!(body.contains("<b>&#60;b&#62;Eve&#60;/b&#62;</b>"));
}

/// A board with the comments slowed, served for a browser.
async fn browser_board() -> Board {
    board(Latency {
        comments: Duration::from_millis(400),
        ..Latency::NONE
    })
    .await
}

#[tokio::test]
async fn enhanced_forms_update_in_place_in_chromium() {
    let Some(browser) = Browser::launch("board_enhanced").await else {
        return;
    };
    let board = browser_board().await;
    browser
        .open(&format!("http://{}/posts/7", board.server.addr))
        .await;
    // Enhanced as soon as the comments are revealed, before the page ends.
    browser
        .wait_for(
            "the comment form enhanced",
            "return document.getElementById('comment-form').dataset.enhanced === '1'",
            vec![],
        )
        .await;
    // A marker that a reload would lose.
    browser.eval("window.__marker = 'kept'", vec![]).await;
    browser
        .type_into("#comment-form input[name=author]", "Browser")
        .await;
    browser
        .type_into("#comment-form textarea[name=body]", "Posted in place")
        .await;
    browser.click("#comment-form button[type=submit]").await;
    let added = browser
        .wait_for(
            "the new comment in the list",
            "const last = document.querySelector('[data-comments]').lastElementChild;
             return last && last.textContent.includes('Posted in place') && last.id",
            vec![],
        )
        .await;
    assert_eq!(
        browser.eval("return window.__marker", vec![]).await,
        json!("kept"),
        "no reload"
    );

    // Its like button works in place too, like the others.
    let selector = format!("#{} form.like button", added.as_str().unwrap());
    browser.click(&selector).await;
    browser
        .wait_for(
            "the like counted in place",
            "return document.querySelector(arguments[0]).textContent.includes('1')",
            vec![json!(format!("#{} .likes", added.as_str().unwrap()))],
        )
        .await;
    assert_eq!(
        browser.eval("return window.__marker", vec![]).await,
        json!("kept")
    );
    assert_eq!(
        board.count("SELECT likes FROM comments WHERE body = 'Posted in place'"),
        1
    );
    browser.screenshot("board-enhanced").await;
    browser.close().await;
}

#[tokio::test]
async fn plain_forms_work_without_javascript_in_chromium() {
    let Some(browser) = Browser::launch_with("board_plain", false).await else {
        return;
    };
    let board = browser_board().await;
    let likes = board.count("SELECT likes FROM comments WHERE id = 1");
    let post: i64 = board.count("SELECT post_id FROM comments WHERE id = 1");
    // In-order (the no-JS path), so every part is in the page.
    browser
        .open(&format!("http://{}/posts/{post}", board.server.addr))
        .await;
    browser
        .wait_for(
            "the in-order page, whole",
            "return document.readyState === 'complete' && document.getElementById('c1') !== null",
            vec![],
        )
        .await;
    browser.click("#c1 form.like button").await;
    browser
        .wait_for(
            "the like, after a redirect back",
            "return document.readyState === 'complete' &&
                    document.querySelector('#c1 .likes')?.textContent === arguments[0]",
            vec![json!((likes + 1).to_string())],
        )
        .await;
    browser
        .type_into("#comment-form input[name=author]", "NoScript")
        .await;
    browser
        .type_into("#comment-form textarea[name=body]", "Plain old form")
        .await;
    browser.click("#comment-form button[type=submit]").await;
    browser
        .wait_for(
            "the comment, after post/redirect/get",
            "return document.readyState === 'complete' &&
                    [...document.querySelectorAll('.comment .text')].some(t => t.textContent === 'Plain old form')",
            vec![],
        )
        .await;
    assert_eq!(
        board.count("SELECT count(*) FROM comments WHERE author = 'NoScript'"),
        1
    );
    browser.close().await;
}

/// What an audit (Lighthouse's accessibility, best-practice and SEO checks)
/// looks for on the board's pages, checked in Chromium: a meta description,
/// an icon the page links and the server answers, and grey text that keeps
/// WCAG's 4.5:1 contrast against what is behind it (the footer and its
/// `code` were 4.29:1).
#[tokio::test]
async fn board_pages_have_a_description_an_icon_and_readable_grey_in_chromium() {
    let Some(browser) = Browser::launch("board_audit").await else {
        return;
    };
    let board = browser_board().await;
    for path in ["/", "/posts/7"] {
        browser
            .open(&format!("http://{}{path}", board.server.addr))
            .await;
        browser.wait_loaded().await;
        let description = browser
            .eval(
                "const m = document.querySelector('meta[name=description]');
                 return m && m.content",
                vec![],
            )
            .await;
        assert!(
            description.as_str().is_some_and(|d| d.len() >= 50),
            "{path}: a meta description of a sentence or more, got {description}"
        );
        browser
            .eval(
                "window.__icon = null;
                 const link = document.querySelector('link[rel=icon]');
                 if (!link) { window.__icon = 'no <link rel=icon>'; return; }
                 fetch(link.href).then(r => { window.__icon = [r.status, r.headers.get('content-type')]; },
                                       e => { window.__icon = String(e); });",
                vec![],
            )
            .await;
        let icon = browser
            .wait_for("the icon's answer", "return window.__icon", vec![])
            .await;
        assert_eq!(
            icon,
            json!([200, "image/svg+xml"]),
            "{path}: the linked icon"
        );
        // Each element's text colour against the first opaque background
        // behind it (the page's own, else white), as WCAG 2 computes it.
        let contrasts = browser
            .eval(
                "const rgb = s => s.match(/[\\d.]+/g).map(Number);
                 const lum = ([r, g, b]) => [r, g, b]
                   .map(c => c / 255)
                   .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
                   .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
                 const behind = el => {
                   for (; el; el = el.parentElement) {
                     const bg = rgb(getComputedStyle(el).backgroundColor);
                     if (bg.length < 4 || bg[3] > 0) return bg;
                   }
                   return [255, 255, 255];
                 };
                 return [...document.querySelectorAll('footer, footer code, small, .meta, .none')]
                   .map(el => {
                     const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(behind(el))];
                     const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                     return [el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''),
                             getComputedStyle(el).color, Math.round(ratio * 100) / 100];
                   });",
                vec![],
            )
            .await;
        let contrasts = contrasts.as_array().expect("a list");
        for wanted in ["footer.foot", "code"] {
            assert!(
                contrasts.iter().any(|c| c[0] == wanted),
                "{path}: no {wanted} measured: {}",
                json!(contrasts)
            );
        }
        for contrast in contrasts {
            assert!(
                contrast[2].as_f64().is_some_and(|ratio| ratio >= 4.5),
                "{path}: {contrast} is under 4.5:1 (all: {})",
                json!(contrasts)
            );
        }
    }
    browser.close().await;
}

/// What the comments island shows: how many comments the list has, how
/// many carry a relative time the island wrote from the part's data,
/// whether every time reads as one, and whether the island marked the list.
const ISLAND: &str = r#"
    const list = document.querySelector('[data-comments]');
    const times = [...document.querySelectorAll('[data-comments] li.comment .by time')];
    return JSON.stringify([
        document.querySelectorAll('[data-comments] li.comment').length,
        times.length,
        times.every(t => /^(just now|\d+ (minute|hour|day)s? ago)$/.test(t.textContent) && t.dateTime.length > 0),
        list?.dataset.island ?? null,
    ]);
"#;

/// The comments island (`static/board.js`, `suspense.on("comments", …)`):
/// each comment's time, from the part's data, beside it, in Chromium
/// patching natively, Chromium with the runtime's polyfill and Firefox ESR;
/// with JavaScript off (Chromium patching natively) the page reads whole,
/// without times.
#[tokio::test]
async fn the_comments_island_gets_its_data_in_every_browser() {
    let board = browser_board().await;
    let comments = board.count("SELECT count(*) FROM comments WHERE post_id = 1");
    assert!(comments > 0, "post 1 has comments in the seed");
    let url = format!("http://{}/posts/1", board.server.addr);
    // Chromium patching natively (JavaScript on and off), Chromium with the
    // polyfill, then Firefox (`None`).
    let kinds = crate::chrome::Kind::ALL;
    for kind in [Some(kinds[0]), Some(kinds[1]), Some(kinds[2]), None] {
        let (name, javascript, browser) = match kind {
            Some(kind) => (
                kind.name(),
                kind.javascript,
                Browser::launch_as("board_island", kind).await,
            ),
            None => (
                "firefox".to_owned(),
                true,
                Browser::launch_firefox("board_island", true).await,
            ),
        };
        let Some(browser) = browser else { return };
        browser.open(&url).await;
        let expected = if javascript {
            json!([comments, comments, true, "times"])
        } else {
            json!([comments, 0, true, null])
        };
        browser.wait_loaded().await;
        if javascript {
            browser
                .wait_for(
                    &format!("{name}: the comments island"),
                    "return document.querySelector('[data-comments]')?.dataset.island === 'times'",
                    vec![],
                )
                .await;
        }
        assert_eq!(
            browser.eval(ISLAND, vec![]).await,
            json!(expected.to_string()),
            "{name}: every comment with its time (JavaScript on), the list whole either way"
        );
        browser.screenshot(&format!("board-island-{name}")).await;
        browser.close().await;
    }
}

/// Regression: `static/board.js` is in the head before the islands
/// module's tag, async and cached for good, so it can run before the
/// parser has reached that tag. It looked for the module's element to wait
/// for, found none, and the comments island never started. It registers
/// through the module's queue now. Here the order is forced: the real
/// `board.js` runs (and is done) in a document with a comments part and no
/// islands module at all; the real module comes after.
#[tokio::test]
async fn the_comments_island_starts_when_board_js_runs_before_the_islands_tag() {
    let board = browser_board().await;
    let Some(browser) = Browser::launch_as("board_island_order", crate::chrome::Kind::ALL[0]).await
    else {
        return;
    };
    let page = format!("http://{}/posts/1", board.server.addr);
    browser.open(&page).await;
    let urls = browser
        .eval(
            "return ['board.', '/_suspense/islands.'].map(s => document.querySelector(`script[src*='${s}']`).src)",
            vec![],
        )
        .await;
    let [board_js, islands] = [urls[0].as_str().unwrap(), urls[1].as_str().unwrap()];
    // A same-origin document with neither script: the module's own file.
    browser.open(islands).await;
    let now = 1_700_000_000;
    browser
        .eval(
            r#"const [src, now] = arguments;
               document.body.innerHTML =
                 `<script type="application/json" data-part="b0" data-name="comments">[${now},[[1,${now - 120}]]]</script>` +
                 `<ol class="comment-list" data-comments><li class="comment" id="c1"><p class="by">Al</p></li></ol>`;
               window.__board = false;
               const s = document.createElement("script");
               s.src = src;
               s.onload = () => (window.__board = true);
               document.head.append(s);
               return true;"#,
            vec![json!(board_js), json!(now)],
        )
        .await;
    browser
        .wait_for("board.js has run", "return window.__board", vec![])
        .await;
    assert_eq!(
        browser
            .eval(
                "return document.querySelector('[data-comments]').dataset.island ?? null",
                vec![]
            )
            .await,
        json!(null),
        "no island before the module"
    );
    browser
        .eval(
            "const s = document.createElement('script'); s.src = arguments[0]; document.head.append(s); return true",
            vec![json!(islands)],
        )
        .await;
    browser
        .wait_for(
            "the comments island, once the module came after board.js",
            "return document.querySelector('[data-comments]').dataset.island === 'times'",
            vec![],
        )
        .await;
    assert_eq!(
        browser
            .eval(
                "return document.querySelectorAll('#c1 .by time').length",
                vec![]
            )
            .await,
        json!(1),
        "the comment got its time"
    );
    browser.close().await;
}
