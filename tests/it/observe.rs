//! What an operator sees: `/metrics` after a known mix of pages, and the
//! request span and boundary events in the logs.

use crate::common::{TestServer, eventually, get, send};
use test_kit::logs::Logs;

/// The value of the sample named exactly `series` (name and labels).
pub(crate) fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in {metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_and_logs_tell_what_each_page_did() {
    // The test's runtime is single-threaded: the server and every boundary
    // run on this thread, under this subscriber.
    crate::common::keep_tracing_interest_open();
    let (logs, _guard) = Logs::capture(tracing::Level::DEBUG);

    let (server, engine) = TestServer::site().await;
    // Every way a part can end, in one page.
    let mut faults = get(server.addr, "/faults?delay=40").await;
    assert_eq!(faults.status(), 200);
    let id = faults
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    let body = faults.read_to_end().await.to_owned();
    for text in [
        "Resolved after 40 ms.",
        "The data source answered with an error",
        "The code behind this part panicked",
        "This part&#39;s data never came; it timed out.",
        "This part resolved; the part nested in it fails later.",
        "This part failed; the rest of the page did not.",
    ] {
        assert!(body.contains(text), "{text:?} not in {body:?}");
    }
    assert!(body.ends_with("</html>"), "{body:?}");
    // A client that leaves mid-page.
    let mut left = get(server.addr, "/bench?delay=5000").await;
    left.read_until("Loading section 2").await;
    left.hang_up();
    eventually("the left page's boundaries are dropped", || {
        engine.stats().pending_boundaries() == 0 && engine.stats().active_streams() == 0
    })
    .await;
    assert_eq!(get(server.addr, "/nowhere").await.status(), 404);
    // Answered by the server itself, before the site's routes.
    let mut health = get(server.addr, "/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.read_to_end().await, "ok\n");

    let mut scrape = get(server.addr, "/metrics").await;
    assert_eq!(scrape.status(), 200);
    assert!(
        scrape
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let metrics = scrape.read_to_end().await.to_owned();
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
    for (series, value) in [
        (
            r#"http_requests_total{method="GET",route="/faults",status="200"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="GET",route="/bench",status="200"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="GET",route="unmatched",status="404"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="GET",route="/healthz",status="200"}"#,
            1.0,
        ),
        // resolves, and the nested part's parent
        (r#"suspense_boundaries_total{outcome="resolved"}"#, 2.0),
        // returns an error, and the nested part
        (r#"suspense_boundaries_total{outcome="failed"}"#, 2.0),
        (r#"suspense_boundaries_total{outcome="panicked"}"#, 1.0),
        (r#"suspense_boundaries_total{outcome="timed_out"}"#, 1.0),
        ("suspense_client_disconnects_total", 1.0),
        ("suspense_pending_boundaries", 0.0),
        ("suspense_active_streams", 0.0),
        // /faults and the page that was left
        ("suspense_time_to_shell_seconds_count", 2.0),
        // the six parts of /faults
        ("suspense_time_to_fragment_seconds_count", 6.0),
    ] {
        assert_eq!(sample(&metrics, series), value, "{series}");
    }

    // An id the client (nginx's `$request_id`) sends is kept, when it is a
    // plain token; anything else is replaced with a fresh one.
    let with_id = |id: &str| {
        format!(
            "GET /nowhere HTTP/1.1\r\nHost: t\r\nX-Request-Id: {id}\r\nConnection: close\r\n\r\n"
        )
    };
    let given = send(server.addr, with_id("edge-4f2a.9_x").as_bytes()).await;
    assert_eq!(given.header("x-request-id"), Some("edge-4f2a.9_x"));
    let forged = send(server.addr, with_id("x route=/admin").as_bytes()).await;
    let fresh = forged.header("x-request-id").expect("a fresh id");
    assert!(!fresh.contains(' ') && fresh != id, "{fresh}");

    // The request's span: its id (the one sent back), route, status and the
    // time to the response's head, then the body's time; the boundaries'
    // events in it, and the page's end when its client left.
    let logs = logs.text();
    let span = format!("request{{id={id} method=GET route=/faults status=200");
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(&span)).collect();
    let ended = |outcome: &str| {
        lines
            .iter()
            .filter(|l| {
                l.contains("boundary ended") && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .count()
    };
    assert_eq!(
        [
            ended("resolved"),
            ended("failed"),
            ended("panicked"),
            ended("timed_out")
        ],
        [2, 2, 1, 1],
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("boundary panicked") && l.contains("ERROR")),
        "{logs}"
    );
    let sent = lines
        .iter()
        .find(|l| l.contains("response sent"))
        .unwrap_or_else(|| panic!("no response event in {logs}"));
    assert!(
        sent.contains(" INFO ") && sent.contains("head_ms=") && sent.contains("body_ms="),
        "{sent}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("route=/bench")
                && l.contains("dropped before its end (client gone)")),
        "{logs}"
    );
}
