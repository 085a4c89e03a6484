//! The site's pages pick their render mode from the request: `?render=`,
//! a crawler's user agent, and `400` for an unknown mode.

use crate::common::{TestServer, get, send};

/// No engine markup of any kind: no script, template or comment.
fn assert_plain(body: &str) {
    for markup in ["<script", "<template", "<!--", "<?"] {
        assert!(!body.contains(markup), "{markup} in {body:?}");
    }
}

#[tokio::test]
async fn the_request_picks_the_mode() {
    let (server, _engine) = TestServer::site().await;
    let mode_of = |ua: &'static str, query: &'static str| {
        let addr = server.addr;
        async move {
            let request = format!(
                "GET /bench?boundaries=2&items=1{query} HTTP/1.1\r\nHost: t\r\nUser-Agent: {ua}\r\nConnection: close\r\n\r\n"
            );
            let mut response = send(addr, request.as_bytes()).await;
            let body = response.read_to_end().await.to_owned();
            (response.header("x-render-mode").map(str::to_owned), body)
        }
    };
    let browser = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
    let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    let (mode, body) = mode_of(browser, "").await;
    assert_eq!(mode.as_deref(), Some("stream"));
    assert!(body.contains("<?start name=\"b0\">") && body.contains("<template for=\"b0\">"));
    // A browser without JavaScript is sent to the in-order page.
    assert!(
        body.contains(
            "<head><noscript><meta http-equiv=\"refresh\" content=\"0; url=/bench?boundaries=2&amp;items=1&amp;render=in-order\"></noscript>"
        ),
        "{body}"
    );

    let (mode, bot_body) = mode_of(bot, "").await;
    assert_eq!(mode.as_deref(), Some("buffered"), "a crawler gets buffered");
    assert_plain(&bot_body);
    assert!(bot_body.contains("id=\"s0\"") && bot_body.contains("id=\"s1\""));

    let (mode, _) = mode_of(bot, "&render=stream").await;
    assert_eq!(mode.as_deref(), Some("stream"), "asked for: stream");
    let (mode, body) = mode_of(browser, "&render=in-order").await;
    assert_eq!(mode.as_deref(), Some("in-order"));
    assert_plain(&body);
    let (mode, buffered) = mode_of(browser, "&render=buffered").await;
    assert_eq!(mode.as_deref(), Some("buffered"));
    assert_eq!(
        buffered, bot_body,
        "the same document for crawlers and ?render=buffered"
    );
    assert_eq!(buffered, body, "in-order and buffered end the same");

    let mut response = get(server.addr, "/bench?render=fast").await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.read_to_end().await,
        "unknown render mode \"fast\": expected stream, in-order or buffered\n"
    );
}
