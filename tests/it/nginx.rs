//! `deploy/nginx.conf` for real: nginx on a loopback port in front of two
//! instances of the site, with the file's ports and paths rewritten and
//! nothing else changed. The stream stays a stream through the proxy, pages
//! are spread over both instances and keep loading when one goes away, and
//! `/static/` comes from disk with the server's caching rules.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::common::{TestServer, WAIT, get, have_tool, send};
use test_kit::tls::Certificate;

pub(crate) const NGINX: &str = "/usr/sbin/nginx";

pub(crate) struct Nginx {
    child: Child,
    /// The main server's port (HTTPS with [`Edge::Tls`]).
    port: u16,
    /// The plain-HTTP server's port (the redirect to HTTPS).
    http_port: u16,
    prefix: PathBuf,
}

/// How the test talks to the edge's main server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    /// As deployed: TLS and HTTP/2 (for curl and the browser).
    Tls,
    /// The same server with `ssl http2` taken off its `listen` line, for
    /// the tests that speak raw HTTP/1.1 (everything else as deployed).
    Plain,
}

impl Nginx {
    /// Starts nginx (no daemon, no master: one process of this user) with
    /// the deploy file, in front of `upstreams`, for raw HTTP/1.1.
    pub(crate) async fn start(name: &str, upstreams: [u16; 2]) -> Nginx {
        Self::start_with(name, upstreams, Edge::Plain, &[]).await
    }

    /// As [`start`](Self::start), speaking `edge`, with more `(from, to)`
    /// rewrites of the deploy file (each must match once).
    pub(crate) async fn start_with(
        name: &str,
        upstreams: [u16; 2],
        edge: Edge,
        edits: &[(&str, &str)],
    ) -> Nginx {
        let prefix: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("nginx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(prefix.join("tmp")).unwrap();
        let (port, http_port) = (free_port().await, free_port().await);
        let certificate = certificate();

        let file = |name: &str| {
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let instances = replace_once(
            &file("deploy/nginx-upstreams.inc"),
            "server 127.0.0.1:3001",
            &format!("server 127.0.0.1:{}", upstreams[0]),
        );
        let instances = replace_once(
            &instances,
            "server 127.0.0.1:3002",
            &format!("server 127.0.0.1:{}", upstreams[1]),
        );
        std::fs::write(prefix.join("upstreams.inc"), instances).unwrap();
        let p = prefix.display();
        let listen = match edge {
            Edge::Tls => format!("listen 127.0.0.1:{port} ssl http2"),
            Edge::Plain => format!("listen 127.0.0.1:{port}"),
        };
        let mut site = file("deploy/nginx.conf");
        for (from, to) in [
            (
                "include /etc/nginx/suspense-ssr/upstreams.inc;".to_owned(),
                format!("include {p}/upstreams.inc;"),
            ),
            (
                "listen 80;".to_owned(),
                format!("listen 127.0.0.1:{http_port};"),
            ),
            // The address and protocols only: the socket options stay.
            ("listen 443 ssl http2".to_owned(), listen),
            (
                "ssl_certificate /etc/nginx/suspense-ssr/tls/".to_owned(),
                format!("ssl_certificate {}/", certificate.dir.display()),
            ),
            (
                "ssl_certificate_key /etc/nginx/suspense-ssr/tls/".to_owned(),
                format!("ssl_certificate_key {}/", certificate.dir.display()),
            ),
            ("root /var/www/acme;".to_owned(), format!("root {p}/acme;")),
            (
                "root /srv/suspense-ssr;".to_owned(),
                format!("root {};", env!("CARGO_MANIFEST_DIR")),
            ),
        ] {
            site = replace_once(&site, &from, &to);
        }
        let site = edits
            .iter()
            .fold(site, |site, (from, to)| replace_once(&site, from, to));
        std::fs::write(prefix.join("suspense-ssr.conf"), site).unwrap();
        let main = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\n\
             error_log {p}/error.log warn;\nevents {{ worker_connections 512; }}\n\
             http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n\
               access_log off;\n  client_body_temp_path {p}/tmp/body;\n  proxy_temp_path {p}/tmp/proxy;\n\
               fastcgi_temp_path {p}/tmp/fastcgi;\n  uwsgi_temp_path {p}/tmp/uwsgi;\n\
               scgi_temp_path {p}/tmp/scgi;\n  include {p}/suspense-ssr.conf;\n}}\n"
        );
        std::fs::write(prefix.join("nginx.conf"), main).unwrap();

        let child = Command::new(NGINX)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start nginx");
        let deadline = tokio::time::Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx did not listen on {port}: {}",
                std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Nginx {
            child,
            port,
            http_port,
            prefix,
        }
    }

    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// `https://localhost:PORT` (the certificate's name).
    pub(crate) fn https(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// The plain-HTTP server (the redirect).
    pub(crate) fn http_addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.http_port).into()
    }

    /// The directory it runs in (`acme/` is the ACME challenge's root).
    pub(crate) fn prefix(&self) -> &Path {
        &self.prefix
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The run's throwaway certificate (made once, on first use).
pub(crate) fn certificate() -> &'static Certificate {
    static CERTIFICATE: std::sync::OnceLock<Certificate> = std::sync::OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Certificate::make(&dir)
    })
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "deploy/nginx.conf: {from:?} once"
    );
    text.replacen(from, to, 1)
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn nginx_in_front_streams_balances_and_survives_an_instance() {
    if !have_tool("nginx_in_front", Path::new(NGINX), "nginx") {
        return;
    }
    let (one, engine_one) = TestServer::site().await;
    let (two, engine_two) = TestServer::site().await;
    let nginx = Nginx::start("deploy", [one.addr.port(), two.addr.port()]).await;

    // The stream through the proxy: the shell before any section, then the
    // sections one by one as they resolve (s2 at 1 s, s1 at 2 s, s0 at 3 s).
    let mut page = get(nginx.addr(), "/bench?delay=3000&items=2").await;
    assert_eq!(page.status(), 200);
    let shell = page.read_until("</footer>").await.to_owned();
    assert!(
        shell.contains("Loading section 0") && !shell.contains("<section"),
        "{shell}"
    );
    let first = page.read_until("id=\"s2\"").await.to_owned();
    assert!(!first.contains("id=\"s1\""), "s2 alone first");
    let second = page.read_until("id=\"s1\"").await.to_owned();
    assert!(!second.contains("id=\"s0\""), "then s1");
    // nginx's request id reached the instance, which sent it back.
    let id = page.header("x-request-id").unwrap_or_default();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "nginx's $request_id: {id:?}"
    );
    assert!(page.read_to_end().await.ends_with("</html>"));
    assert!(
        page.chunks.len() >= 4,
        "one chunk per write, as the server wrote them: {:?}",
        page.chunks.len()
    );

    // Spread over both instances.
    for _ in 0..12 {
        let mut page = get(nginx.addr(), "/bench?boundaries=1&items=1").await;
        assert_eq!(page.status(), 200);
        page.read_to_end().await;
    }
    let (a, b) = (
        engine_one.stats().snapshot().resolved,
        engine_two.stats().snapshot().resolved,
    );
    assert!(a >= 2 && b >= 2, "both instances serve: {a} and {b}");

    // One instance goes away; pages keep loading through the other.
    one.stop().await.unwrap();
    for _ in 0..8 {
        let mut page = get(nginx.addr(), "/bench?boundaries=2&items=1").await;
        assert_eq!(page.status(), 200);
        assert!(page.read_to_end().await.contains("id=\"s0\""));
    }

    // Static files from disk, with the server's caching rules.
    let css = get(nginx.addr(), "/static/bench.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.header("cache-control"), Some("public, no-cache"));
    assert!(css.header("etag").is_some());
    let fingerprinted = suspense_ssr::assets::url("bench.css");
    assert_ne!(
        fingerprinted, "/static/bench.css",
        "the site installed its assets"
    );
    let mut css = get(nginx.addr(), &fingerprinted).await;
    assert_eq!(css.status(), 200);
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(css.read_to_end().await.contains("font"));
    let request = b"GET /static/compare.js HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n";
    let js = send(nginx.addr(), request).await;
    assert_eq!(js.header("content-encoding"), Some("gzip"), "gzip_static");
    for hidden in [
        "/static/.gitignore",
        "/static/",
        "/static/../Cargo.toml",
        // Scraped and checked per instance, never through the balancer.
        "/metrics",
        "/healthz",
    ] {
        let response = get(nginx.addr(), hidden).await;
        assert!(
            matches!(response.status(), 400 | 403 | 404),
            "{hidden}: {}",
            response.status()
        );
    }
    drop(two);
}

#[tokio::test]
async fn nginx_cuts_off_a_stalled_reader_and_the_instance_drops_its_page() {
    // nginx's send_timeout (1 s here, 20 s in the file) is below the
    // instances' --send-timeout (30 s; an hour here, so that only nginx can
    // act): a client that stops reading is cut off at the edge, and nginx
    // closing its upstream connection makes the instance drop the page (and
    // its boundaries).
    if !have_tool("nginx_cuts_off_a_stalled_reader", Path::new(NGINX), "nginx") {
        return;
    }
    let engine = axum_suspense::Engine::new();
    let rendered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // 64 MiB of parts and one that never resolves: more than every buffer
    // on the way (the kernel's, nginx's) can take.
    let page = crate::stalled::large_page(4096, true, &rendered);
    let patient = || crate::common::ServeOptions {
        send_timeout: Duration::from_secs(3600),
        ..crate::common::options()
    };
    let one = TestServer::start_with(crate::pages::route(&engine, page.clone()), patient()).await;
    let two = TestServer::start_with(crate::pages::route(&engine, page), patient()).await;
    let nginx = Nginx::start_with(
        "stalled",
        [one.addr.port(), two.addr.port()],
        Edge::Plain,
        &[("send_timeout 20s;", "send_timeout 1s;")],
    )
    .await;
    let _stalled = crate::stalled::stalled_reader(nginx.addr(), "/").await;
    let stats = engine.stats();
    crate::common::eventually("the instance drops the stalled page", || {
        stats.snapshot().client_disconnects == 1
    })
    .await;
    crate::common::eventually("its boundaries are dropped", || {
        stats.pending_boundaries() == 0 && stats.active_streams() == 0
    })
    .await;
}
