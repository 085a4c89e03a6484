//! The HTTPS and HTTP/2 edge of `deploy/nginx.conf`, for real: nginx with a
//! throwaway certificate in front of two instances, spoken to by curl and by
//! Chromium. Plain HTTP only redirects; HTTPS speaks h2 with HSTS on every
//! answer; a streamed page still arrives shell first and part by part; and
//! eight streamed frames of one page progress together over h2, where over
//! HTTP/1.1 the browser's six connections per origin make two of them wait.
//!
//! The frames' parts wait on gates the test opens (one per frame), so what
//! the browser shows before they open is what the protocol allowed, not what
//! a clock did.

use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::response::Html;
use axum::routing::get;
use axum_suspense::Engine;
use serde_json::{Value, json};
use test_kit::chrome::{Browser, Kind};
use test_kit::pages::{Shell, text};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use crate::common::{TestServer, WAIT, get as raw_get, have_tool};
use crate::nginx::{Edge, NGINX, Nginx, certificate};
use test_kit::tls::OPENSSL;

const CURL: &str = "/usr/bin/curl";
const FRAMES: usize = 8;
/// Every frame's gate open.
const ALL: u32 = u32::MAX;

/// Two instances serving `/frames` (eight frames, `/frame/0`…`/frame/7`)
/// whose one part each waits for the gate, behind the TLS edge. Counts the
/// frames that reached an instance.
struct FramesSite {
    nginx: Nginx,
    _instances: [TestServer; 2],
    arrived: Arc<AtomicUsize>,
    /// Bit `i` open: frame `i`'s part is released ([`ALL`] for every one).
    gate: watch::Sender<u32>,
}

impl FramesSite {
    async fn start(name: &str) -> FramesSite {
        let engine = Engine::new();
        let arrived = Arc::new(AtomicUsize::new(0));
        let (gate, open) = watch::channel(0u32);
        let frames: String = (0..FRAMES)
            .map(|i| format!("<iframe id=\"f{i}\" src=\"/frame/{i}\"></iframe>"))
            .collect();
        let index = format!(
            "<!doctype html><html><head><title>frames</title></head><body>{frames}</body></html>"
        );
        let counter = arrived.clone();
        let router = Router::new()
            .route("/frames", get(move || async move { Html(index) }))
            .route(
                "/frame/{i}",
                get(move |UrlPath(i): UrlPath<usize>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let page = engine.page();
                    let mut open = open.clone();
                    let part = page
                        .boundary(text(&format!("frame-{i} waiting")))
                        .no_timeout()
                        .try_suspend(async move {
                            let _ = open.wait_for(|open| open & (1 << i) != 0).await;
                            Ok::<_, Infallible>(text(&format!("frame-{i} done")))
                        });
                    async move { page.stream(Shell { parts: vec![part] }) }
                }),
            );
        let one = TestServer::start(router.clone()).await;
        let two = TestServer::start(router).await;
        let nginx =
            Nginx::start_with(name, [one.addr.port(), two.addr.port()], Edge::Tls, &[]).await;
        FramesSite {
            nginx,
            _instances: [one, two],
            arrived,
            gate,
        }
    }

    fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }
}

fn have_tools(test: &str) -> bool {
    have_tool(test, Path::new(NGINX), "nginx")
        && have_tool(test, Path::new(OPENSSL), "openssl")
        && have_tool(test, Path::new(CURL), "curl")
}

/// curl for the edge, trusting only the throwaway certificate, with
/// `localhost` resolved to the loopback address (the certificate's name).
fn curl_command(nginx: &Nginx) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(CURL);
    command
        .args(["-sS", "--max-time", "30", "--cacert"])
        .arg(certificate().chain())
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", nginx.addr().port()))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs curl with `args` against the edge: its standard output.
async fn curl(nginx: &Nginx, args: &[&str]) -> String {
    let out = tokio::time::timeout(WAIT, curl_command(nginx).args(args).output())
        .await
        .expect("curl in time")
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_edge_redirects_to_https_and_speaks_h2_with_hsts() {
    if !have_tools("the_edge_redirects_to_https") {
        return;
    }
    let (one, _) = TestServer::site().await;
    let (two, _) = TestServer::site().await;
    let nginx = Nginx::start_with("edge", [one.addr.port(), two.addr.port()], Edge::Tls, &[]).await;
    let https = nginx.https();

    // Plain HTTP: a permanent redirect to the same place over HTTPS...
    let redirect = raw_get(nginx.http_addr(), "/posts/1?sort=new").await;
    assert_eq!(redirect.status(), 301);
    assert_eq!(
        redirect.header("location"),
        Some("https://127.0.0.1/posts/1?sort=new"),
        "the request's host and target, kept"
    );
    // ...except the ACME challenge, served from its webroot.
    let challenge = nginx.prefix().join("acme/.well-known/acme-challenge");
    std::fs::create_dir_all(&challenge).unwrap();
    std::fs::write(challenge.join("token-1"), "token-1.key").unwrap();
    let mut acme = raw_get(nginx.http_addr(), "/.well-known/acme-challenge/token-1").await;
    assert_eq!(acme.status(), 200);
    assert_eq!(acme.read_to_end().await, "token-1.key");

    // HTTPS: HTTP/2, TLS 1.3, and HSTS on pages, static files (whose
    // locations set headers of their own) and errors alike.
    for path in [
        "/".to_owned(),
        "/static/bench.css".to_owned(),
        suspense_ssr::assets::url("bench.css"),
        "/metrics".to_owned(),
    ] {
        let head = curl(
            &nginx,
            &[
                "--http2",
                "-o",
                "/dev/null",
                "-D",
                "-",
                &format!("{https}{path}"),
            ],
        )
        .await;
        assert!(head.starts_with("HTTP/2 "), "{path}: {head}");
        assert!(
            head.contains("strict-transport-security: max-age=63072000\r\n"),
            "{path}: {head}"
        );
    }
    let version = curl(
        &nginx,
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &format!("{https}/about"),
        ],
    )
    .await;
    assert_eq!(version, "2", "curl's default over TLS (ALPN) is h2");
    // A client that stops at TLS 1.2 still gets in, with a forward-secret
    // AEAD cipher.
    let verbose = curl_command(&nginx)
        .args(["-v", "--tls-max", "1.2", "-o", "/dev/null"])
        .arg(format!("{https}/about"))
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(verbose.status.success(), "{log}");
    assert!(
        log.contains("SSL connection using TLSv1.2 / ECDHE-"),
        "{log}"
    );
}

#[tokio::test]
async fn a_page_streams_over_h2_shell_first_then_its_part() {
    if !have_tools("a_page_streams_over_h2") {
        return;
    }
    let site = FramesSite::start("h2-stream").await;
    let mut curl = curl_command(&site.nginx)
        .args(["--no-buffer", "--http2", "-w", "\n%{http_version}"])
        .arg(format!("{}/frame/3", site.nginx.https()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = curl.stdout.take().unwrap();
    let mut seen = Vec::new();
    // The shell with the part's fallback, through TLS and h2, while the
    // part still waits.
    tokio::time::timeout(WAIT, async {
        while !String::from_utf8_lossy(&seen).contains("</footer>") {
            let mut buf = [0u8; 4096];
            let n = out.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "the stream ended early: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the shell in time");
    let shell = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        shell.contains("frame-3 waiting") && !shell.contains("frame-3 done"),
        "{shell}"
    );
    site.gate.send_replace(ALL);
    tokio::time::timeout(WAIT, out.read_to_end(&mut seen))
        .await
        .expect("the rest in time")
        .unwrap();
    let page = String::from_utf8_lossy(&seen);
    assert!(page.contains("frame-3 done"), "{page}");
    assert!(
        page.trim_end().ends_with("</html>\n2"),
        "h2 to the end: {page}"
    );
}

/// Each frame: `none` (not yet requested, or nothing shown), `waiting`
/// (its shell, the part pending) or `done`; and the protocol it came over.
const FRAME_STATES: &str = "return [...document.querySelectorAll('iframe')].map(f => {
    const d = f.contentDocument;
    const t = d && d.body ? d.body.textContent : '';
    const nav = f.contentWindow.performance.getEntriesByType('navigation')[0];
    return [t.includes('done') ? 'done' : t.includes('waiting') ? 'waiting' : 'none',
            nav ? nav.nextHopProtocol : ''];
})";

fn states(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|f| {
            (
                f[0].as_str().unwrap().to_owned(),
                f[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn count(states: &[(String, String)], state: &str) -> usize {
    states.iter().filter(|(s, _)| s == state).count()
}

/// Opens the frames page in Chromium (over h2, or HTTP/1.1 with
/// `--disable-http2`) and returns the browser once `streaming` frames show
/// their shells with the gate still closed.
async fn frames_in_chromium(test: &str, site: &FramesSite, h2: bool) -> Option<Browser> {
    let mut args = vec![format!(
        "--ignore-certificate-errors-spki-list={}",
        certificate().spki
    )];
    if !h2 {
        args.push("--disable-http2".to_owned());
    }
    let browser = Browser::launch_with_args(test, Kind::ALL[0], args).await?;
    browser
        .open(&format!("{}/frames", site.nginx.https()))
        .await;
    let protocol = browser
        .wait_for(
            "the frames page's protocol",
            "const n = performance.getEntriesByType('navigation')[0]; return n && n.nextHopProtocol",
            vec![],
        )
        .await;
    assert_eq!(protocol, json!(if h2 { "h2" } else { "http/1.1" }));
    Some(browser)
}

#[tokio::test]
async fn over_h2_eight_streamed_frames_progress_together() {
    let test = "over_h2_eight_streamed_frames_progress_together";
    if !have_tools(test) {
        return;
    }
    let site = FramesSite::start("h2-frames").await;
    let Some(browser) = frames_in_chromium(test, &site, true).await else {
        return;
    };
    // All eight shells, on one connection, while every part still waits.
    let shown = browser
        .wait_for(
            "all eight frames' shells",
            &format!("const s = (() => {{ {FRAME_STATES} }})(); return s.every(f => f[0] === 'waiting') && s"),
            vec![],
        )
        .await;
    let shown = states(&shown);
    assert!(shown.iter().all(|(_, p)| p == "h2"), "{shown:?}");
    assert_eq!(site.arrived(), FRAMES);
    browser.screenshot("edge-h2-frames-waiting").await;
    // Then every part, in place.
    site.gate.send_replace(ALL);
    browser
        .wait_for(
            "all eight frames' parts",
            &format!("return (() => {{ {FRAME_STATES} }})().every(f => f[0] === 'done')"),
            vec![],
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn over_http1_two_of_eight_streamed_frames_wait_for_a_connection() {
    let test = "over_http1_two_of_eight_streamed_frames_wait";
    if !have_tools(test) {
        return;
    }
    let site = FramesSite::start("h1-frames").await;
    let Some(browser) = frames_in_chromium(test, &site, false).await else {
        return;
    };
    // Six shells: the browser's six connections to this origin, each held
    // by a page that is still streaming.
    browser
        .wait_for(
            "six frames' shells",
            &format!(
                "return (() => {{ {FRAME_STATES} }})().filter(f => f[0] === 'waiting').length === 6"
            ),
            vec![],
        )
        .await;
    let held = states(&browser.eval(FRAME_STATES, vec![]).await);
    assert_eq!(count(&held, "waiting"), 6, "{held:?}");
    assert_eq!(count(&held, "none"), 2, "{held:?}");
    assert_eq!(site.arrived(), 6, "the two were never sent");
    browser.screenshot("edge-http1-frames-waiting").await;
    // One frame ends: its connection comes free, and one of the two
    // waiting frames, and only one, is sent on it.
    let first = held.iter().position(|(s, _)| s == "waiting").unwrap();
    site.gate.send_replace(1 << first);
    let one_freed = browser
        .wait_for(
            "one frame done, the seventh sent",
            &format!(
                "const s = (() => {{ {FRAME_STATES} }})();
                 const n = k => s.filter(f => f[0] === k).length;
                 return n('done') === 1 && n('waiting') === 6 && s"
            ),
            vec![],
        )
        .await;
    assert_eq!(count(&states(&one_freed), "none"), 1, "{one_freed:?}");
    assert_eq!(site.arrived(), 7, "one connection freed, one frame sent");
    // Every gate open: the rest end, and the last frame is sent at last
    // (its part, the gate open, comes at once).
    site.gate.send_replace(ALL);
    let done = browser
        .wait_for(
            "all eight frames' parts",
            &format!("const s = (() => {{ {FRAME_STATES} }})(); return s.every(f => f[0] === 'done') && s"),
            vec![],
        )
        .await;
    assert!(states(&done).iter().all(|(_, p)| p == "http/1.1"));
    assert_eq!(site.arrived(), FRAMES);
    browser.close().await;
}
