//! The engine on real sockets, with the timing of every boundary held by the
//! test (gates), never by sleeps.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum_suspense::error::{DEFAULT_ERROR_HTML, DEFAULT_TIMEOUT_HTML};
use axum_suspense::{Boundary, Engine, Page, RenderMode};
use tokio::sync::watch;

use crate::common::{TestServer, eventually, get as http_get, pos};
use crate::pages::{
    SHELL_END, Shell, Text, gates, never, open, open_with, ready, route, take, text,
};

#[derive(Template)]
#[template(
    source = "<div class=\"parent\">{{ text }}{{ child }}</div>",
    ext = "html"
)]
struct Parent {
    text: String,
    child: Boundary,
}

#[tokio::test]
async fn shell_first_then_each_boundary_as_released() {
    let engine = Engine::new();
    let (senders, receivers) = gates(3);
    let (_server, mut response) = open(&engine, move |page| {
        let parts = take(&receivers)
            .into_iter()
            .enumerate()
            .map(|(i, gate)| {
                page.try_suspend(text(&format!("loading-{i}")), async move {
                    gate.await.map(|()| text(&format!("content-{i}")))
                })
            })
            .collect();
        page.stream(Shell { parts })
    })
    .await;
    assert_eq!(response.status(), 200);

    let shell = response.read_until(SHELL_END).await.to_owned();
    for i in 0..3 {
        assert!(
            shell.contains(&format!("loading-{i}")),
            "fallback {i} missing from shell: {shell:?}"
        );
    }
    assert!(
        !shell.contains("content-"),
        "content arrived before any data was released: {shell:?}"
    );
    assert!(
        !shell.contains("</body>"),
        "the tail must wait for the boundaries: {shell:?}"
    );
    response.assert_quiet(Duration::from_millis(100)).await;

    let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
    for i in (0..3).rev() {
        senders[i].take().unwrap().send(()).unwrap();
        let body = response.read_until(&format!("content-{i}")).await;
        for j in 0..i {
            assert!(
                !body.contains(&format!("content-{j}")),
                "content-{j} arrived before its release: {body:?}"
            );
        }
    }
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.ends_with("</body></html>"),
        "page does not end as a document: {body:?}"
    );
    assert!(
        pos(&body, "content-2") < pos(&body, "content-1")
            && pos(&body, "content-1") < pos(&body, "content-0")
    );
    assert_eq!(
        body.matches("<script").count(),
        1,
        "the runtime must be sent once: {body:?}"
    );
    assert_eq!(engine.stats().pending_boundaries(), 0);
}

#[tokio::test]
async fn boundaries_resolving_together_go_out_in_one_chunk() {
    // Current-thread runtime: the release below wakes every boundary before
    // the page's stream runs again, so "at the same moment" is exact.
    let engine = Engine::new();
    let (release, released) = watch::channel(false);
    let (_server, mut response) = open(&engine, move |page| {
        let parts = (0..3)
            .map(|i| {
                let mut released = released.clone();
                page.try_suspend(text("loading"), async move {
                    released
                        .wait_for(|r| *r)
                        .await
                        .map(|_| text(&format!("together-{i}")))
                })
            })
            .collect();
        page.stream(Shell { parts })
    })
    .await;
    response.read_until(SHELL_END).await;
    release.send(true).unwrap();
    response.read_to_end().await;
    let chunk = response
        .chunks
        .iter()
        .find(|c| c.contains("together-"))
        .expect("a chunk with content");
    for i in 0..3 {
        assert!(
            chunk.contains(&format!("together-{i}")),
            "together-{i} not in the same chunk; chunks: {:?}",
            response.chunks
        );
    }
    assert_eq!(
        chunk.matches("<?s b").count(),
        3,
        "each part with its timing, in the one chunk: {chunk:?}"
    );
}

#[tokio::test]
async fn nested_child_resolving_before_parent_waits_for_it() {
    let engine = Engine::new();
    let (senders, receivers) = gates(1);
    let (_server, mut response) = open(&engine, move |page| {
        let gate = take(&receivers).pop().unwrap();
        let inner = page.clone();
        let parent = page.try_suspend(text("parent-loading"), async move {
            // The child's data is ready at once, long before the parent's.
            let child = ready(&inner, "child-loading", "child-content");
            gate.await.map(|()| Parent {
                text: "parent-content".into(),
                child,
            })
        });
        page.stream(Shell {
            parts: vec![parent],
        })
    })
    .await;
    response.read_until(SHELL_END).await;
    // The child resolved, but its placeholder is not on the page yet.
    response.assert_quiet(Duration::from_millis(200)).await;
    assert!(
        !response.body().contains("child-content"),
        "child sent before its parent: {:?}",
        response.body()
    );

    senders.into_iter().next().unwrap().send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    let parent_at = pos(&body, "<template for=\"b0\">");
    let child_at = pos(&body, "<template for=\"b1\">");
    assert!(
        parent_at < child_at,
        "the parent's content must come before the child's: {body:?}"
    );
    let parent_fragment = &body[parent_at..child_at];
    assert!(
        parent_fragment.contains("<?start name=\"b1\"><p class=\"text\">child-loading</p><?end>"),
        "the parent's content must carry the child's placeholder: {parent_fragment:?}"
    );
    assert!(
        pos(&body, "<?s b0 ") < child_at && body[child_at..].contains("<?s b1 "),
        "the parent's timing before the child's fragment: {body:?}"
    );
    assert!(
        body.contains(" p=0>"),
        "the child names its parent: {body:?}"
    );
    assert_eq!(engine.stats().pending_boundaries(), 0);
}

#[derive(Template)]
#[template(
    source = "<!doctype html><html><body><ul id=\"list\"><li>first</li>{{ items }}</ul><table><tbody>{{ rows }}</tbody></table></body></html>",
    ext = "html"
)]
struct ContextShell {
    items: Boundary,
    rows: Boundary,
}

#[derive(Template)]
#[template(
    source = "{% for t in texts %}<li>{{ t }}</li>{% endfor %}",
    ext = "html"
)]
struct Items {
    texts: Vec<&'static str>,
}

#[derive(Template)]
#[template(
    source = "{% for t in texts %}<tr><td>{{ t }}</td></tr>{% endfor %}",
    ext = "html"
)]
struct Rows {
    texts: Vec<&'static str>,
}

#[tokio::test]
async fn boundaries_inside_list_and_table_keep_their_context() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page| {
        let items = page.try_suspend(
            Items {
                texts: vec!["loading"],
            },
            async {
                Ok::<_, Infallible>(Items {
                    texts: vec!["a", "b"],
                })
            },
        );
        let rows = page.try_suspend(
            Rows {
                texts: vec!["loading"],
            },
            async {
                Ok::<_, Infallible>(Rows {
                    texts: vec!["r1", "r2", "r3"],
                })
            },
        );
        page.stream(ContextShell { items, rows })
    })
    .await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains(
            "<ul id=\"list\"><li>first</li><?start name=\"b0\"><li>loading</li><?end></ul>"
        ),
        "list placeholder: {body:?}"
    );
    assert!(
        body.contains("<tbody><?start name=\"b1\"><tr><td>loading</td></tr><?end></tbody>"),
        "table placeholder: {body:?}"
    );
    assert!(
        body.contains("<template for=\"b0\"><li>a</li><li>b</li></template>"),
        "list content: {body:?}"
    );
    assert!(
        body.contains("<template for=\"b1\"><tr><td>r1</td></tr><tr><td>r2</td></tr><tr><td>r3</td></tr></template>"),
        "table content: {body:?}"
    );
}

#[derive(Template)]
#[template(
    source = "<p class=\"custom-error\">comments are resting</p>",
    ext = "html"
)]
struct CustomError;

#[tokio::test]
async fn failing_panicking_and_slow_boundaries_stay_inside_their_boundary() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page| {
        let parts = vec![
            ready(&page, "l0", "fine-before"),
            page.try_suspend(text("l1"), async { Err::<Text, _>("database is down") }),
            page.try_suspend(text("l2"), async {
                if true {
                    panic!("boundary bug");
                }
                Ok::<_, Infallible>(text("never"))
            }),
            page.boundary(text("l3"))
                .timeout(Duration::from_millis(50))
                .try_suspend(std::future::pending::<Result<Text, Infallible>>()),
            page.boundary(text("l4"))
                .on_error(CustomError)
                .try_suspend(async { Err::<Text, _>("custom failure") }),
            ready(&page, "l5", "fine-after"),
        ];
        page.stream(Shell { parts })
    })
    .await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.ends_with("</body></html>"),
        "page must end whole: {body:?}"
    );
    assert!(
        body.contains("fine-before") && body.contains("fine-after"),
        "healthy boundaries lost: {body:?}"
    );
    assert!(
        body.contains(&format!(
            "<template for=\"b1\">{DEFAULT_ERROR_HTML}</template>"
        )),
        "error content: {body:?}"
    );
    assert!(
        body.contains(&format!(
            "<template for=\"b2\">{DEFAULT_ERROR_HTML}</template>"
        )),
        "panic content: {body:?}"
    );
    assert!(
        body.contains(&format!(
            "<template for=\"b3\">{DEFAULT_TIMEOUT_HTML}</template>"
        )),
        "timeout content: {body:?}"
    );
    assert!(
        body.contains(
            "<template for=\"b4\"><p class=\"custom-error\">comments are resting</p></template>"
        ),
        "custom error content: {body:?}"
    );
    assert!(
        !body.contains("database is down"),
        "internal errors must not reach the client: {body:?}"
    );
    let stats = engine.stats().snapshot();
    assert_eq!(
        (
            stats.resolved,
            stats.failed,
            stats.panicked,
            stats.timed_out
        ),
        (2, 2, 1, 1),
        "{stats:?}"
    );
}

#[tokio::test]
async fn client_hanging_up_drops_every_boundary() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page| {
        let parts = (0..3).map(|_| never(&page, "waiting")).collect();
        page.stream(Shell { parts })
    })
    .await;
    response.read_until(SHELL_END).await;
    assert_eq!(
        engine.stats().pending_boundaries(),
        3,
        "the boundaries run while the shell is read"
    );
    response.hang_up();
    let stats = engine.stats();
    eventually(
        "every boundary future dropped after the client left",
        || stats.pending_boundaries() == 0 && stats.active_streams() == 0,
    )
    .await;
    assert_eq!(stats.snapshot().client_disconnects, 1);
}

#[tokio::test]
async fn hostile_data_stays_text() {
    const HOSTILE: &str =
        "</template><script>alert(1)</script><!-- ]]> \"quoted\" 'single' </script>";
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page| {
        let parts = vec![ready(&page, HOSTILE, HOSTILE)];
        page.stream(Shell { parts })
    })
    .await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        !body.contains("alert(1)</script>"),
        "script injected: {body:?}"
    );
    assert!(
        !body.contains("</template><script>alert"),
        "template closed by data: {body:?}"
    );
    assert!(
        !body.contains("<!-- ]]>"),
        "comment opened by data: {body:?}"
    );
    // Once in the fallback, once in the content.
    let escaped = "&#60;/template&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;!-- ]]&#62; &#34;quoted&#34; &#39;single&#39;";
    assert_eq!(
        body.matches(escaped).count(),
        2,
        "escaped data not found twice in {body:?}"
    );
    assert_eq!(
        body.matches("<script").count(),
        1,
        "only the engine's script: {body:?}"
    );
}

#[tokio::test]
async fn a_boundary_never_rendered_is_cancelled() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page| {
        let shown = ready(&page, "l", "shown");
        // Created, then dropped without being put on the page.
        let _forgotten = never(&page, "never");
        page.stream(Shell { parts: vec![shown] })
    })
    .await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains("shown") && !body.contains("never"),
        "{body:?}"
    );
    assert_eq!(
        engine.stats().pending_boundaries(),
        0,
        "the forgotten boundary must be dropped"
    );
}

#[tokio::test]
async fn a_failed_parent_cancels_its_children() {
    let engine = Engine::new();
    let (senders, receivers) = gates(1);
    let (_server, mut response) = open(&engine, move |page| {
        let gate = take(&receivers).pop().unwrap();
        let inner = page.clone();
        let parent = page.try_suspend(text("parent-loading"), async move {
            let _child = never(&inner, "child-loading");
            gate.await.map_err(|_| "gate dropped")?;
            Err::<Parent, _>("parent failed after making a child")
        });
        page.stream(Shell {
            parts: vec![parent],
        })
    })
    .await;
    response.read_until(SHELL_END).await;
    senders.into_iter().next().unwrap().send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains(DEFAULT_ERROR_HTML) && body.ends_with("</body></html>"),
        "{body:?}"
    );
    assert_eq!(
        engine.stats().pending_boundaries(),
        0,
        "the orphaned child must be dropped"
    );
}

#[tokio::test]
async fn streamed_page_headers() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page| page.stream(Shell { parts: vec![] })).await;
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.header("x-accel-buffering"), Some("no"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    let cache = response
        .header("cache-control")
        .expect("cache-control")
        .to_owned();
    assert!(
        cache.contains("no-transform") && cache.contains("private"),
        "cache-control: {cache}"
    );
    response.read_to_end().await;
    assert_eq!(
        response.chunks.len(),
        1,
        "a page without boundaries is one chunk: {:?}",
        response.chunks
    );
}

#[derive(Template)]
#[template(source = "<div class=\"big\">{{ text }}</div>", ext = "html")]
struct Big {
    text: String,
}

#[tokio::test]
async fn a_client_that_stops_reading_stops_the_page() {
    // 64 boundaries of 512 KiB (32 MiB), far more than the loopback socket
    // buffers hold. All are released at once while the client reads nothing:
    // the page must stall after the buffers fill instead of finishing every
    // boundary into memory.
    const BOUNDARIES: usize = 64;
    const SIZE: usize = 512 * 1024;
    let engine = Engine::new();
    let (release, released) = watch::channel(false);
    let (_server, mut response) = open(&engine, move |page| {
        let parts = (0..BOUNDARIES)
            .map(|i| {
                let mut released = released.clone();
                page.try_suspend(text("loading"), async move {
                    released.wait_for(|r| *r).await?;
                    Ok::<_, watch::error::RecvError>(Big {
                        text: format!("{i:04}").repeat(SIZE / 4),
                    })
                })
            })
            .collect();
        page.stream(Shell { parts })
    })
    .await;
    response.read_until(SHELL_END).await;
    release.send(true).unwrap();

    // Wait until the count of finished boundaries stops moving (bounded).
    let stats = engine.stats();
    let mut last = u64::MAX;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = stats.snapshot().resolved;
        if now == last {
            break;
        }
        last = now;
    }
    assert!(
        last < BOUNDARIES as u64,
        "all {BOUNDARIES} boundaries were finished while the client read nothing: the page is buffered"
    );

    let body = response.read_to_end().await;
    // One pass over the 32 MiB: every fragment, with its own content.
    let mut seen = vec![false; BOUNDARIES];
    for (at, _) in body.match_indices("<template for=\"b") {
        let rest = &body[at + 16..];
        let (id, rest) = rest.split_once('"').expect("fragment id");
        let id: usize = id.parse().expect("numeric id");
        let want = format!("><div class=\"big\">{id:04}{id:04}");
        assert!(
            rest.starts_with(&want),
            "fragment {id} does not hold its content"
        );
        seen[id] = true;
    }
    assert!(
        seen.iter().all(|s| *s),
        "fragments missing after reading resumed: {seen:?}"
    );
    assert!(body.ends_with("</body></html>"));
    assert_eq!(stats.snapshot().resolved, BOUNDARIES as u64);
}

/// The handler shape the engine is for, written as an application would:
/// the page an argument made on the engine in the application's own state
/// (`FromRef`), shell data first (a miss is a real 404 before any byte),
/// then one boundary.
mod handler_shape {
    use std::collections::HashMap;
    use std::sync::Arc;

    use askama::Template;
    use axum::extract::{FromRef, Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum_suspense::{Boundary, Engine, Page};

    #[derive(Clone, FromRef)]
    pub struct App {
        pub engine: Engine,
        pub posts: Arc<HashMap<u64, (String, Vec<String>)>>,
    }

    pub enum AppError {
        NotFound,
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            (StatusCode::NOT_FOUND, "no such post\n").into_response()
        }
    }

    #[derive(Template)]
    #[template(
        source = "<!doctype html><html><body><h1>{{ title }}</h1>{{ comments }}</body></html>",
        ext = "html"
    )]
    struct PostShell {
        title: String,
        comments: Boundary,
    }

    #[derive(Template)]
    #[template(source = "<p>Loading comments…</p>", ext = "html")]
    struct CommentsFallback;

    #[derive(Template)]
    #[template(
        source = "<ul>{% for c in comments %}<li>{{ c }}</li>{% endfor %}</ul>",
        ext = "html"
    )]
    struct CommentsList {
        comments: Vec<String>,
    }

    pub async fn post(
        page: Page,
        State(app): State<App>,
        Path(id): Path<u64>,
    ) -> Result<Response, AppError> {
        let (title, comments) = app.posts.get(&id).cloned().ok_or(AppError::NotFound)?;
        let comments = page.try_suspend(CommentsFallback, async move {
            tokio::task::yield_now().await;
            Ok::<_, std::convert::Infallible>(CommentsList { comments })
        });
        Ok(page.stream(PostShell { title, comments }))
    }
}

#[tokio::test]
async fn the_handler_shape_the_engine_is_for() {
    use axum::routing::get;
    let engine = Engine::new();
    let app = handler_shape::App {
        engine: engine.clone(),
        posts: Arc::new(
            [(
                7,
                (
                    "Hello".to_owned(),
                    vec!["first!".to_owned(), "<b>bold</b>".to_owned()],
                ),
            )]
            .into(),
        ),
    };
    let router = Router::new()
        .route("/posts/{id}", get(handler_shape::post))
        .with_state(app);
    let server = TestServer::start(router).await;

    let mut response = http_get(server.addr, "/posts/7").await;
    assert_eq!(response.status(), 200);
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains("<h1>Hello</h1>") && body.contains("<p>Loading comments…</p>"),
        "{body:?}"
    );
    assert!(
        body.contains("<li>first!</li><li>&#60;b&#62;bold&#60;/b&#62;</li>"),
        "{body:?}"
    );

    let mut response = http_get(server.addr, "/posts/8").await;
    assert_eq!(
        response.status(),
        404,
        "a missing post is decided before any byte of a page"
    );
    assert_eq!(response.read_to_end().await, "no such post\n");
    assert_eq!(
        engine.stats().snapshot().resolved,
        1,
        "the page was made on the app's engine"
    );
}

#[tokio::test]
async fn a_page_past_its_deadline_ends_with_timeout_content() {
    // Like React's abort: what is ready is sent, what is still pending shows
    // its timeout content, and the document ends, in every mode.
    for mode in [
        RenderMode::Stream,
        RenderMode::InOrder,
        RenderMode::Buffered,
    ] {
        let engine = Engine::builder()
            .page_deadline(Duration::from_millis(300))
            .build();
        let (_server, mut response) = open_with(
            &engine,
            move |page| page.mode(mode),
            |page| {
                let parts = vec![
                    never(&page, "loading-0"),
                    ready(&page, "loading-1", "ready-1"),
                ];
                page.stream(Shell { parts })
            },
        )
        .await;
        let body = response.read_to_end().await;
        assert!(body.contains("ready-1"), "{mode:?}: {body:?}");
        assert_eq!(
            body.matches(DEFAULT_TIMEOUT_HTML).count(),
            1,
            "{mode:?}: {body:?}"
        );
        assert!(body.ends_with("</body></html>"), "{mode:?}: {body:?}");
        let stats = engine.stats().snapshot();
        assert_eq!((stats.timed_out, stats.resolved), (1, 1), "{mode:?}");
        eventually("the page's boundaries are dropped", || {
            engine.stats().pending_boundaries() == 0
        })
        .await;
    }
}

#[tokio::test]
async fn an_aborted_page_ends_at_once() {
    // The handler hands the page out; the test aborts it while its only
    // boundary waits for ever. The boundary ends with its own timeout
    // content, and the document ends.
    let engine = Engine::new();
    let (handed, mut taken) = watch::channel(None::<Page>);
    let (_server, mut response) = open(&engine, move |page| {
        let part = page
            .boundary(text("loading"))
            .no_timeout()
            .on_timeout(text("ended early"))
            .try_suspend(std::future::pending::<Result<Text, Infallible>>());
        handed.send_replace(Some(page.clone()));
        page.stream(Shell { parts: vec![part] })
    })
    .await;
    response.read_until(SHELL_END).await;
    let page = taken
        .wait_for(Option::is_some)
        .await
        .unwrap()
        .clone()
        .unwrap();
    page.abort();
    let body = response.read_to_end().await;
    assert!(
        body.contains("<template for=\"b0\"><p class=\"text\">ended early</p></template>"),
        "{body:?}"
    );
    assert!(body.ends_with("</body></html>"), "{body:?}");
    assert_eq!(engine.stats().snapshot().timed_out, 1);
}

#[tokio::test]
async fn pages_carry_a_fresh_csp_nonce_on_every_script() {
    let engine = Engine::new();
    let (_server, mut response) = open_with(
        &engine,
        |page| page.debug(true),
        |page| {
            let parts = vec![ready(&page, "loading-0", "ready-0")];
            page.stream(Shell { parts })
        },
    )
    .await;
    let policy = response
        .header("content-security-policy")
        .expect("a policy")
        .to_owned();
    let body = response.read_to_end().await.to_owned();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert_eq!(nonce.len(), 22, "128 bits of base64: {policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(
        policy,
        format!("script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'"),
        "the default policy is the engine's strict minimum, nothing site-specific"
    );
    // The overlay and the instructions: every script carries the nonce.
    assert_eq!(body.matches("<script").count(), 2, "{body:?}");
    assert_eq!(
        body.matches(&format!("<script nonce=\"{nonce}\">")).count(),
        2,
        "{body:?}"
    );
    let again = http_get(_server.addr, "/").await;
    let other = again.header("content-security-policy").unwrap();
    assert_ne!(other, policy, "a nonce is used once");

    let own = Engine::builder()
        .content_security_policy("default-src 'self'; script-src 'nonce-{nonce}'")
        .build();
    let (_server, response) = open(&own, |page| page.stream(Shell { parts: vec![] })).await;
    let policy = response.header("content-security-policy").unwrap();
    assert!(
        policy.starts_with("default-src 'self'; script-src 'nonce-") && !policy.contains("{nonce}"),
        "the application's own policy, with the nonce in place: {policy}"
    );

    let quiet = Engine::builder().no_content_security_policy().build();
    let (_server, response) = open(&quiet, |page| page.stream(Shell { parts: vec![] })).await;
    assert_eq!(response.header("content-security-policy"), None);
}

#[tokio::test]
async fn the_shell_is_on_the_wire_before_any_part_is_first_polled() {
    // Shell first, at the socket: the body hands the shell to hyper and
    // yields once, so hyper has written it before any part's future is
    // first polled (a part's first poll may register timers, start I/O or
    // do synchronous work; none of it delays the first byte). The part
    // looks at the client's socket (a clone of it) on its first poll: on
    // loopback, bytes written are in the peer's buffer when the write
    // returns.
    let engine = Engine::new();
    let client: Arc<Mutex<Option<std::net::TcpStream>>> = Arc::default();
    let peek = client.clone();
    let server = TestServer::start(route(&engine, move |page| {
        let peek = peek.lock().unwrap().take().expect("requested once");
        let part = page.try_suspend(text("loading"), async move {
            let mut seen = vec![0u8; 64 * 1024];
            let n = peek.peek(&mut seen).unwrap_or(0);
            let on_the_wire = String::from_utf8_lossy(&seen[..n]).contains(SHELL_END);
            Ok::<_, Infallible>(text(if on_the_wire {
                "the-shell-was-on-the-wire"
            } else {
                "the-shell-was-not-yet-written"
            }))
        });
        page.stream(Shell { parts: vec![part] })
    }))
    .await;
    let stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream.set_nonblocking(true).unwrap();
    *client.lock().unwrap() = Some(stream.try_clone().unwrap());
    let stream = tokio::net::TcpStream::from_std(stream).unwrap();
    let mut response = test_kit::send_on(
        stream,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    let page = response.read_to_end().await;
    assert!(page.contains("the-shell-was-on-the-wire"), "{page}");
}

#[tokio::test]
async fn the_page_timer_moves_up_for_a_boundary_made_later_with_an_earlier_timeout() {
    // One timer per page, set when the body waits: here first for the slow
    // part's 600 ms. The child made later, when its gated parent resolves,
    // times out after 30 ms, so the timer must move up to it. If it did not,
    // both would end at 600 ms, in id order: the slow part (b0) first.
    let engine = Engine::new();
    let (senders, receivers) = gates(1);
    let (_server, mut response) = open(&engine, move |page| {
        let gate = take(&receivers).pop().unwrap();
        let slow = page
            .boundary(text("slow-loading"))
            .timeout(Duration::from_millis(600))
            .try_suspend(std::future::pending::<Result<Text, Infallible>>());
        let inner = page.clone();
        let parent = page
            .boundary(text("parent-loading"))
            .no_timeout()
            .try_suspend(async move {
                gate.await.map_err(|_| "gate dropped")?;
                let child = inner
                    .boundary(text("child-loading"))
                    .timeout(Duration::from_millis(30))
                    .try_suspend(std::future::pending::<Result<Text, Infallible>>());
                Ok::<_, &str>(Parent {
                    text: "parent-content".to_owned(),
                    child,
                })
            });
        page.stream(Shell {
            parts: vec![slow, parent],
        })
    })
    .await;
    response.read_until(SHELL_END).await;
    // Nothing is due yet: the body has gone to wait, its timer set.
    response.assert_quiet(Duration::from_millis(50)).await;
    senders.into_iter().next().unwrap().send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    let child = pos(
        &body,
        &format!("<template for=\"b2\">{DEFAULT_TIMEOUT_HTML}</template>"),
    );
    let slow = pos(
        &body,
        &format!("<template for=\"b0\">{DEFAULT_TIMEOUT_HTML}</template>"),
    );
    assert!(pos(&body, "parent-content") < child, "{body:?}");
    assert!(
        child < slow,
        "the child timed out with the slow part: {body:?}"
    );
    assert!(body.ends_with("</body></html>"), "{body:?}");
}
