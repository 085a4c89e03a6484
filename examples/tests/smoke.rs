//! Every example, built by `cargo test` and run as its own process on a
//! loopback port (`ADDR=127.0.0.1:0`): requested over a real socket with a
//! raw HTTP/1.1 client, the bytes checked. The examples' data sources are
//! real timers (they are programs to watch with curl), so these tests
//! assert what arrives and in which order the engine promises, never how
//! long it took.

use std::net::SocketAddr;
use std::process::Stdio;

use test_kit::{RawResponse, WAIT, get, pos};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A running example, killed when dropped.
struct Example {
    child: Child,
    addr: SocketAddr,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Example {
    async fn start(binary: &str) -> Example {
        let mut child = Command::new(binary)
            .env("ADDR", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(WAIT, stdout.next_line())
            .await
            .expect("the example said where it listens in time")
            .expect("read its stdout")
            .expect("a first line");
        let addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .expect("an address");
        Example {
            child,
            addr,
            stdout,
        }
    }

    async fn get(&self, path: &str) -> RawResponse {
        get(self.addr, path).await
    }

    /// The next line the example prints.
    async fn said(&mut self) -> String {
        tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .expect("the example printed in time")
            .expect("read its stdout")
            .unwrap_or_default()
    }
}

/// The body's text positions of `needles`, which must be in that order.
fn in_order(body: &str, needles: &[&str]) {
    let at: Vec<usize> = needles.iter().map(|n| pos(body, n)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "expected {needles:?} in that order: {body}"
    );
}

#[tokio::test]
async fn quickstart_sends_the_shell_then_each_part() {
    let example = Example::start(env!("CARGO_BIN_EXE_quickstart")).await;
    let mut page = example.get("/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.header("transfer-encoding"), Some("chunked"));
    let shell = page.read_until("Loading the weather…").await.to_owned();
    assert!(
        shell.contains("<h1>Hello, streaming</h1>") && shell.contains("Loading the news…"),
        "{shell}"
    );
    assert!(!shell.contains("Sunny") && !shell.contains("Nothing happened"));
    let body = page.read_to_end().await.to_owned();
    assert!(body.contains(">Sunny, 21 °C.<") && body.contains(">Nothing happened today.<"));
    assert!(body.ends_with("</body>\n</html>\n"), "{body}");
    assert!(
        page.chunks.len() >= 2,
        "the shell and the parts are separate chunks: {:?}",
        page.chunks
    );
}

#[tokio::test]
async fn nested_boundaries_send_each_child_after_its_parent() {
    let example = Example::start(env!("CARGO_BIN_EXE_nested-boundaries")).await;
    let mut page = example.get("/posts/1").await;
    let body = page.read_to_end().await.to_owned();
    // Fragments: the scores, the comments (parent), then the authors: the
    // fast author right after its parent, in the same chunk, though its
    // data came first.
    let parent = page
        .chunks
        .iter()
        .find(|chunk| chunk.contains("<template for=\"b0\">"))
        .expect("the parent's chunk");
    assert!(
        parent.contains("<template for=\"b3\">"),
        "the waiting child goes out with its parent: {parent:?}"
    );
    in_order(
        &body,
        &[
            "<ul><?start name=\"b0\"><li>Loading comments…</li><?end></ul>",
            "<tbody><?start name=\"b1\"><tr><td>Loading scores…</td>",
            "<template for=\"b1\"><tr><td>ada</td><td>3</td></tr>",
            "<template for=\"b0\"><li>First! (<?start name=\"b2\"><em>…</em><?end>)</li>",
            "<template for=\"b3\"><em>linus</em></template>",
            "<template for=\"b2\"><em>ada</em></template>",
        ],
    );
    assert!(body.ends_with("</body></html>\n"), "{body}");
}

#[tokio::test]
async fn errors_panics_and_timeouts_stay_in_their_part() {
    let example = Example::start(env!("CARGO_BIN_EXE_errors-and-timeouts")).await;
    let mut page = example.get("/").await;
    let body = page.read_to_end().await.to_owned();
    for shown in [
        "<p>This part resolved.</p>",
        axum_suspense::error::DEFAULT_ERROR_HTML,
        "<p>Prices are unavailable right now: the price service did not answer.</p>",
        "<p>The slow part took too long; try again later.</p>",
        axum_suspense::error::DEFAULT_TIMEOUT_HTML,
    ] {
        assert!(body.contains(shown), "{shown:?} not in {body}");
    }
    assert_eq!(
        body.matches(axum_suspense::error::DEFAULT_ERROR_HTML)
            .count(),
        2,
        "the error and the panic: {body}"
    );
    assert!(!body.contains("503") && !body.contains("connection refused"));
    assert!(body.ends_with("</body></html>\n"), "{body}");
}

#[tokio::test]
async fn render_modes_follow_the_request_and_the_crawler() {
    let mut example = Example::start(env!("CARGO_BIN_EXE_render-modes")).await;
    let mut streamed = example.get("/").await;
    assert_eq!(streamed.header("x-render-mode"), Some("stream"));
    let body = streamed.read_to_end().await.to_owned();
    in_order(
        &body,
        &[
            "<template for=\"b2\">",
            "<template for=\"b1\">",
            "<template for=\"b0\">",
        ],
    );
    assert_eq!(example.said().await, "page sent in stream mode");

    let mut in_order_page = example.get("/?render=in-order").await;
    let plain = in_order_page.read_to_end().await.to_owned();
    in_order(
        &plain,
        &["<p>Part 1.</p>", "<p>Part 2.</p>", "<p>Part 3.</p>"],
    );
    assert!(
        !plain.contains("<script") && !plain.contains("Loading"),
        "{plain}"
    );
    assert_eq!(example.said().await, "page sent in in-order mode");

    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0 (compatible; bingbot/2.0)\r\nConnection: close\r\n\r\n",
        example.addr
    );
    let mut crawled = test_kit::send(example.addr, request.as_bytes()).await;
    assert_eq!(crawled.header("x-render-mode"), Some("buffered"));
    let whole = crawled.read_to_end().await.to_owned();
    assert_eq!(
        crawled.header("content-length"),
        Some(whole.len().to_string().as_str()),
        "held until whole, then sent with its length"
    );
    assert_eq!(
        whole, plain,
        "a crawler gets the same document, in one piece"
    );
    assert_eq!(crawled.header("vary"), Some("user-agent"));
    assert_eq!(example.said().await, "page sent in buffered mode");

    let mut refused = example.get("/?render=fast").await;
    assert_eq!(refused.status(), 400);
    refused.read_to_end().await;
}

#[tokio::test]
async fn strict_csp_covers_the_pages_own_script() {
    let example = Example::start(env!("CARGO_BIN_EXE_strict-csp")).await;
    let mut page = example.get("/").await;
    let policy = page
        .header("content-security-policy")
        .expect("a policy")
        .to_owned();
    let body = page.read_to_end().await.to_owned();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(
        policy.starts_with("default-src 'self'; script-src 'nonce-"),
        "{policy}"
    );
    assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
    // The page's own script and the engine's carry the nonce; the injected
    // one does not, and a browser refuses it.
    assert_eq!(
        body.matches(&format!("<script nonce=\"{nonce}\">")).count(),
        2,
        "{body}"
    );
    assert_eq!(body.matches("<script").count(), 3, "{body}");
}

#[tokio::test]
async fn axum_state_serves_a_post_and_a_real_404() {
    let example = Example::start(env!("CARGO_BIN_EXE_axum-state")).await;
    let mut page = example.get("/posts/1").await;
    assert_eq!(page.status(), 200);
    let body = page.read_to_end().await.to_owned();
    assert!(body.contains("<h1>Hello</h1>"), "{body}");
    assert!(
        body.contains("<li>First!</li><li>&#60;b&#62;not bold&#60;/b&#62;</li>"),
        "{body}"
    );
    let mut missing = example.get("/posts/2").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.read_to_end().await, "no such post\n");
}

#[tokio::test]
async fn graceful_shutdown_ends_the_open_page_well_formed() {
    let mut example = Example::start(env!("CARGO_BIN_EXE_graceful-shutdown")).await;
    let mut page = example.get("/").await;
    page.read_until("Loading (for a minute)…").await;
    let pid = example.child.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    assert!(example.said().await.starts_with("shutting down"));
    let body = page.read_to_end().await.to_owned();
    assert!(
        body.contains("<p>The server is restarting; reload in a moment.</p>"),
        "{body}"
    );
    assert!(body.ends_with("</body></html>\n"), "{body}");
    assert_eq!(example.said().await, "every page ended; bye");
    let status = tokio::time::timeout(WAIT, example.child.wait())
        .await
        .expect("the example exited in time")
        .expect("wait for it");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn islands_cards_come_forwards_with_their_data_and_figures_together() {
    let example = Example::start(env!("CARGO_BIN_EXE_islands")).await;
    let mut page = example.get("/").await;
    let body = page.read_to_end().await.to_owned();
    // The cards resolve last first; forwards sends them top to bottom.
    in_order(
        &body,
        &[
            "<template for=\"b0\"><script type=\"application/json\" data-part=\"b0\" data-name=\"card\">3</script><li class=\"card\"><b>Kettle</b>",
            "<template for=\"b1\"><script type=\"application/json\" data-part=\"b1\" data-name=\"card\">5</script>",
            "<template for=\"b2\"><script type=\"application/json\" data-part=\"b2\" data-name=\"card\">12</script>",
        ],
    );
    // The two figures, together, in one chunk.
    assert!(
        page.chunks
            .iter()
            .any(|c| c.contains("1204 views") && c.contains("37 sales")),
        "{:?}",
        page.chunks
    );
    let islands = body
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the islands module's link")
        .to_owned();
    let mut module = example.get(&islands).await;
    assert_eq!(module.status(), 200);
    assert!(module.read_to_end().await.contains("suspense"));
}
