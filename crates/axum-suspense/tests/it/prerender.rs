//! Partial prerendering on real sockets: a shell rendered once, its parts
//! streamed per request and joined in process, with the timing of every
//! part held by gates. The shell's bytes must go before any part is ready,
//! the parts in the order released; a request whose shell is not the
//! prerendered one gets no parts; a client that leaves stops them.

use askama::Template;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_suspense::prerender::{PrerenderError, Prerendered};
use axum_suspense::{Engine, Html, Page};

use crate::common::{TestServer, eventually, get as http_get, pos};
use crate::pages::{Gates, Shell, gates, never, take, text};

/// The shell of `n` parts, their futures given: the same boundaries, in the
/// same order, for the prerender and for each request.
fn shell(page: &Page, futures: Vec<tokio::sync::oneshot::Receiver<()>>) -> Shell {
    let parts = futures
        .into_iter()
        .enumerate()
        .map(|(i, gate)| {
            page.boundary(text(&format!("loading-{i}")))
                .no_timeout()
                .try_suspend(async move {
                    gate.await
                        .map(|()| text(&format!("content-{i}")))
                        .map_err(|_| "the test dropped the gate")
                })
        })
        .collect();
    Shell { parts }
}

/// The shell of `n` parts rendered once (its futures never run).
fn prerender(engine: &Engine, n: usize) -> Prerendered {
    let page = engine.page();
    let parts = (0..n)
        .map(|i| never(&page, &format!("loading-{i}")))
        .collect();
    page.prerender(Shell { parts }).expect("prerenderable")
}

/// `/page`: the prerendered shell joined with the parts in process (or the
/// page whole, if its shell is not the prerendered one); `/_parts/page`: the
/// parts alone, as a static tier would include them.
fn router(engine: &Engine, prerendered: Prerendered, gates: Gates) -> Router {
    let parts = {
        let (engine, prerendered, gates) = (engine.clone(), prerendered.clone(), gates.clone());
        move || {
            // The parts endpoint's own URI is not the page's: the page's is given.
            let page = engine.page();
            let shell = shell(&page, take(&gates));
            respond(page.stream_parts(&prerendered, &"/page".parse().unwrap(), shell))
        }
    };
    let engine = engine.clone();
    Router::new()
        .route(
            "/page",
            get(move || {
                let page = engine.page();
                let shell = shell(&page, take(&gates));
                let response = page.stream_prerendered(&prerendered, shell);
                async move { response }
            }),
        )
        .route("/_parts/page", get(move || async move { parts() }))
}

fn respond(parts: Result<Response, PrerenderError>) -> Response {
    match parts {
        Ok(response) => response,
        Err(error) => (axum::http::StatusCode::CONFLICT, error.to_string()).into_response(),
    }
}

#[tokio::test]
async fn the_prerendered_shell_goes_first_then_each_part_as_released() {
    let engine = Engine::new();
    let prerendered = prerender(&engine, 3);
    let (senders, receivers) = gates(3);
    let server = TestServer::start(router(&engine, prerendered.clone(), receivers)).await;
    let mut response = http_get(server.addr, "/page").await;
    assert_eq!(response.status(), 200, "{}", response.head);

    let first = String::from_utf8(response.read_chunks(1).await[0].clone()).unwrap();
    assert_eq!(
        first,
        prerendered.head(),
        "the first chunk is the prerendered head, alone"
    );
    assert!(
        !first.contains("content-") && first.contains("loading-2"),
        "{first:?}"
    );
    response
        .assert_quiet(std::time::Duration::from_millis(100))
        .await;

    let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
    for i in [2, 0, 1] {
        senders[i].take().unwrap().send(()).unwrap();
        response.read_until(&format!("content-{i}")).await;
    }
    let body = response.read_to_end().await.to_owned();
    assert!(body.starts_with(prerendered.head()), "{body:?}");
    assert!(
        pos(&body, "content-2") < pos(&body, "content-0")
            && pos(&body, "content-0") < pos(&body, "content-1"),
        "parts not in the order released: {body:?}"
    );
    assert!(
        body.ends_with(prerendered.tail()) && prerendered.tail() == "</body></html>",
        "{body:?}"
    );
    // One script, linked: nothing inline, nothing with a nonce.
    assert_eq!(body.matches("<script").count(), 1, "{body:?}");
    assert!(!body.contains("nonce"), "{body:?}");
    eventually("no boundary left running", || {
        engine.stats().pending_boundaries() == 0
    })
    .await;
}

#[tokio::test]
async fn the_parts_alone_put_between_head_and_tail_are_the_joined_page() {
    let engine = Engine::new();
    let prerendered = prerender(&engine, 2);
    let (senders, receivers) = gates(2);
    let server = TestServer::start(router(&engine, prerendered.clone(), receivers)).await;
    let mut response = http_get(server.addr, "/_parts/page").await;
    assert_eq!(response.status(), 200, "{}", response.head);
    for sender in senders {
        sender.send(()).unwrap();
    }
    let parts = response.read_to_end().await.to_owned();
    // A browser not known to patch natively (no user agent): sent to the
    // in-order page of the page's own URI if it has no JavaScript.
    let refresh = "\n<noscript><meta http-equiv=\"refresh\" content=\"0; url=/page?render=in-order\"></noscript>";
    assert!(parts.starts_with(refresh), "{parts:?}");
    let fragments = &parts[refresh.len()..];
    assert!(fragments.starts_with("<template for=\"b"), "{parts:?}");
    assert!(
        !parts.contains("loading-") && !parts.contains("<script") && !parts.contains("</body>"),
        "{parts:?}"
    );

    // What an SSI server sends: the file with the include replaced by the
    // parts; the stub block is not sent.
    let file = prerendered
        .ssi_document("/_parts/page?$args", Html::trusted("<p>unavailable</p>"))
        .unwrap();
    let block = file.find("<!--# block").unwrap();
    let include_end = file
        .find("\" -->")
        .map(|at| file[at + 5..].find("\" -->").unwrap() + at + 5 + 5)
        .unwrap();
    let joined = format!("{}{parts}{}", &file[..block], &file[include_end..]);
    assert_eq!(
        joined,
        format!("{}{parts}{}", prerendered.head(), prerendered.tail())
    );
    let stub = &file[block..include_end];
    assert_eq!(stub.matches("<template for=").count(), 2, "{stub:?}");
    assert!(
        stub.contains("<template for=\"b1\"><p>unavailable</p></template><?s b1 0.0 o=error>"),
        "{stub:?}"
    );
}

#[tokio::test]
async fn a_request_whose_shell_is_not_the_prerendered_one_gets_no_parts() {
    let engine = Engine::new();
    // Prerendered with 3 parts; the request makes 2.
    let prerendered = prerender(&engine, 3);
    let (_senders, receivers) = gates(2);
    let server = TestServer::start(router(&engine, prerendered, receivers)).await;
    let mut response = http_get(server.addr, "/_parts/page").await;
    assert_eq!(response.status(), 409, "{}", response.head);
    let body = response.read_to_end().await.to_owned();
    assert!(body.contains("not the prerendered one"), "{body:?}");
    eventually("the request's boundaries dropped", || {
        engine.stats().pending_boundaries() == 0
    })
    .await;
}

/// Regression (issue 28, review): a page joined in process had no
/// Content-Security-Policy from the engine (the parts were sent with none),
/// so a crate user serving `join` served no policy at all.
#[tokio::test]
async fn the_joined_page_has_the_engines_policy_without_a_nonce() {
    for (engine, want) in [
        (
            Engine::new(),
            "script-src 'self'; object-src 'none'; base-uri 'none'",
        ),
        (
            Engine::builder()
                .content_security_policy("default-src 'self'; script-src 'nonce-{nonce}'")
                .build(),
            "default-src 'self'; script-src 'self'",
        ),
    ] {
        let prerendered = prerender(&engine, 1);
        let (senders, receivers) = gates(1);
        let server = TestServer::start(router(&engine, prerendered.clone(), receivers)).await;
        let mut response = http_get(server.addr, "/page").await;
        assert_eq!(response.status(), 200, "{}", response.head);
        let head = response.head.to_ascii_lowercase();
        assert!(
            head.contains(&format!("content-security-policy: {want}\r\n")),
            "policy {want:?} missing: {head}"
        );
        senders.into_iter().for_each(|gate| gate.send(()).unwrap());
        let body = response.read_to_end().await.to_owned();
        assert!(body.starts_with(prerendered.head()), "{body:?}");
    }
}

/// Regression (issue 28, review): a request whose shell was not the
/// prerendered one had no way but an error (`stream_parts` consumed the
/// page and shell, so both sites answered 500); in process it is now the
/// page streamed whole.
#[tokio::test]
async fn in_process_a_shell_that_changed_is_streamed_whole() {
    let engine = Engine::new();
    // Prerendered with 3 parts; the request makes 2.
    let prerendered = prerender(&engine, 3);
    let (senders, receivers) = gates(2);
    let server = TestServer::start(router(&engine, prerendered.clone(), receivers)).await;
    let mut response = http_get(server.addr, "/page").await;
    assert_eq!(response.status(), 200, "{}", response.head);
    senders.into_iter().for_each(|gate| gate.send(()).unwrap());
    let body = response.read_to_end().await.to_owned();
    assert!(!body.starts_with(prerendered.head()), "{body:?}");
    assert!(
        body.contains("content-0") && body.contains("content-1") && !body.contains("loading-2"),
        "{body:?}"
    );
    // Streamed whole: with the page's own nonce and policy.
    assert!(body.contains("nonce="), "{body:?}");
    assert!(
        response.head.to_ascii_lowercase().contains("'nonce-"),
        "{}",
        response.head
    );
}

#[tokio::test]
async fn a_client_that_leaves_stops_the_parts() {
    let engine = Engine::new();
    let prerendered = prerender(&engine, 2);
    let (_senders, receivers) = gates(2);
    let server = TestServer::start(router(&engine, prerendered.clone(), receivers)).await;
    let mut response = http_get(server.addr, "/page").await;
    response.read_until("loading-1").await;
    eventually("both parts running", || {
        engine.stats().pending_boundaries() == 2
    })
    .await;
    response.hang_up();
    eventually("the parts dropped with the client", || {
        engine.stats().pending_boundaries() == 0
    })
    .await;
    drop(server);
}

#[test]
fn what_cannot_be_in_a_prerendered_shell_is_refused() {
    #[derive(Template)]
    #[template(
        source = "<body><style nonce=\"{{ nonce }}\">p{}</style>{{ part }}</body>",
        ext = "html"
    )]
    struct Styled {
        nonce: String,
        part: axum_suspense::Boundary,
    }
    let engine = Engine::new();
    let page = engine.page();
    let part = never(&page, "…");
    let refused = page.clone().prerender(Styled {
        nonce: page.csp_nonce(),
        part,
    });
    assert!(matches!(refused, Err(PrerenderError::Nonce)), "{refused:?}");

    let page = engine.page_builder().debug(true).build();
    let refused = page.clone().prerender(Shell {
        parts: vec![never(&page, "…")],
    });
    assert!(matches!(refused, Err(PrerenderError::Debug)), "{refused:?}");

    #[derive(Template)]
    #[template(source = "<body>{{ trusted|safe }}{{ part }}</body>", ext = "html")]
    struct Ssi {
        trusted: &'static str,
        part: axum_suspense::Boundary,
    }
    let page = engine.page();
    let refused = page.clone().prerender(Ssi {
        trusted: "<!--# exec cmd=\"id\" -->",
        part: never(&page, "…"),
    });
    assert!(
        matches!(refused, Err(PrerenderError::SsiCommand)),
        "{refused:?}"
    );
    assert_eq!(
        engine.stats().pending_boundaries(),
        0,
        "a refused shell leaves no boundary behind"
    );
}
