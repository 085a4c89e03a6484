//! The container image and the compose stack, for real, with podman: the
//! `Dockerfile`'s two images build (from local stand-ins for their base
//! images: `scripts/containers/stand-ins`, once per machine); the server's
//! image runs as its own user, answers its health check, streams a page and
//! drains on stop; and `compose.yaml` brings up PostgreSQL, two instances
//! and the HTTPS edge, where a comment posted through the edge is on the
//! page both instances serve, all from one database.
//!
//! Like the browser tests, these skip with a clear message when podman is
//! missing, except under `CI=true`, where they fail (`scripts/test`
//! installs podman, podman-compose and debootstrap as root). A test binary
//! of its own: the image build uses both cores for minutes the first time,
//! and cargo runs test binaries one after another.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use test_kit::tls::Certificate;
use test_kit::{get, have_tool};
use tokio::sync::OnceCell;

const PODMAN: &str = "/usr/bin/podman";
const COMPOSE: &str = "/usr/bin/podman-compose";
const APP: &str = "localhost/suspense-ssr:latest";
const EDGE: &str = "localhost/suspense-ssr-edge:latest";
/// The build stage, tagged so that its layers (the compiled dependencies
/// above all) stay while the previous build's are pruned.
const BUILD: &str = "localhost/suspense-ssr-build:latest";
/// A cold build compiles every dependency in release mode on two cores.
const BUILD_WAIT: Duration = Duration::from_secs(40 * 60);
/// Containers start, PostgreSQL initialises its data directory, health
/// checks pass: slower than anything in the other tests.
const UP_WAIT: Duration = Duration::from_secs(120);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// podman with this project's settings (`scripts/containers/containers.conf`).
fn podman(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .env(
            "CONTAINERS_CONF",
            std::env::var_os("CONTAINERS_CONF")
                .unwrap_or_else(|| root().join("scripts/containers/containers.conf").into()),
        )
        .current_dir(root())
        .stdin(Stdio::null());
    command
}

/// Runs `command` (blocking, on a thread of its own) and returns its output;
/// fails the test, with its stderr, if it fails.
async fn run(what: &str, mut command: Command) -> String {
    let output = output(command.stdout(Stdio::piped()).stderr(Stdio::piped())).await;
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

async fn output(command: &mut Command) -> Output {
    let command = std::mem::replace(command, Command::new("true"));
    let mut command = command;
    tokio::task::spawn_blocking(move || command.output().expect("run"))
        .await
        .unwrap()
}

/// Whether podman (and podman-compose) are here; if not, skipped loudly,
/// or failed under CI.
fn have_podman(test: &str) -> bool {
    have_tool(test, Path::new(PODMAN), "podman")
        && have_tool(test, Path::new(COMPOSE), "podman-compose")
}

/// The stand-in base images, then both images of the Dockerfile: once per
/// test run (layers cached by podman between runs, so a run whose sources
/// did not change builds nothing).
async fn images() {
    static BUILT: OnceCell<()> = OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let started = std::time::Instant::now();
            run(
                "scripts/containers/stand-ins",
                podman(
                    &root()
                        .join("scripts/containers/stand-ins")
                        .to_string_lossy(),
                ),
            )
            .await;
            let rust = run("rustc --version", {
                let mut c = Command::new("rustc");
                c.arg("--version");
                c
            })
            .await;
            let version: Vec<&str> = rust.split([' ', '.']).skip(1).take(2).collect();
            for (target, tag) in [("build", BUILD), ("edge", EDGE), ("app", APP)] {
                let mut build = podman(PODMAN);
                // Docker's image format: OCI's has no HEALTHCHECK (buildah
                // drops it with a warning).
                build.args([
                    "build",
                    "--pull=never",
                    "--format=docker",
                    "--target",
                    target,
                    "-t",
                    tag,
                ]);
                build.arg(format!("--build-arg=RUST_VERSION={}", version.join(".")));
                // crates.io from inside the build, through whatever this
                // host trusts.
                let ca = Path::new("/etc/ssl/certs/ca-certificates.crt");
                if ca.exists() {
                    build.arg(format!("--volume={0}:{0}:ro", ca.display()));
                }
                build.arg(".");
                tokio::time::timeout(
                    BUILD_WAIT,
                    run(&format!("podman build --target {target}"), build),
                )
                .await
                .expect("the image built in time");
            }
            // The previous build's images, now untagged (about 2 GB each
            // time the sources changed): gone, so that test runs on one
            // machine do not fill its disk. The tagged stages and the
            // stand-ins stay, and with them the build cache.
            run("podman image prune", {
                let mut c = podman(PODMAN);
                c.args(["image", "prune", "-f"]);
                c
            })
            .await;
            eprintln!("containers: images ready in {:.0?}", started.elapsed());
        })
        .await;
}

/// Removes a container or a compose project when dropped (the test failed
/// or not): runs the command it holds.
struct Cleanup(Command);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.0.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (bounded) until `podman healthcheck run NAME` passes: the image's
/// own HEALTHCHECK (podman runs none on a timer without systemd).
async fn healthy(name: &str) {
    let deadline = tokio::time::Instant::now() + UP_WAIT;
    loop {
        let checked = output(podman(PODMAN).args(["healthcheck", "run", name])).await;
        if checked.status.success() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let logs = output(podman(PODMAN).args(["logs", name])).await;
            panic!(
                "{name} not healthy in {UP_WAIT:?}: {}\n{}{}",
                String::from_utf8_lossy(&checked.stderr),
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn the_image_builds_runs_as_its_own_user_streams_and_drains() {
    let test = "the_image_builds_runs_as_its_own_user_streams_and_drains";
    if !have_podman(test) {
        return;
    }
    images().await;

    // What the image says about itself.
    let config = run("podman image inspect", {
        let mut c = podman(PODMAN);
        c.args([
            "image",
            "inspect",
            "--format",
            "{{.Config.User}}|{{json .Config.Healthcheck.Test}}|{{.Config.Entrypoint}}",
            APP,
        ]);
        c
    })
    .await;
    assert_eq!(
        config,
        "suspense:suspense|[\"CMD\",\"suspense-ssr\",\"healthcheck\"]|[suspense-ssr]"
    );

    // Runs, answers its health check, and streams a page.
    let name = format!("suspense-test-app-{}", std::process::id());
    let port = free_port();
    let _cleanup = Cleanup({
        let mut c = podman(PODMAN);
        c.args(["rm", "-f", "-t", "0", &name]);
        c
    });
    run("podman run", {
        let mut c = podman(PODMAN);
        c.args([
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &format!("127.0.0.1:{port}:3000"),
            APP,
        ]);
        c
    })
    .await;
    healthy(&name).await;
    let uid = run("podman exec id", {
        let mut c = podman(PODMAN);
        c.args(["exec", &name, "id", "-u"]);
        c
    })
    .await;
    assert_eq!(uid, "10001", "not root");

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut page = get(addr, "/bench?boundaries=3&items=2&delay=1500").await;
    assert_eq!(page.status(), 200);
    let shell = page.read_until("</footer>").await.to_owned();
    assert!(
        shell.contains("Loading section 2") && !shell.contains("id=\"s2\""),
        "{shell}"
    );
    page.read_until("id=\"s2\"").await;
    assert!(page.read_to_end().await.ends_with("</html>"));
    // The static files, with the variants the build made.
    let css = get(addr, "/static/bench.css").await;
    assert_eq!(css.status(), 200);

    // `podman stop` sends SIGTERM: a page in flight still ends whole, and
    // the server exits 0 after the drain.
    let mut streaming = get(addr, "/bench?boundaries=2&items=1&delay=3000").await;
    streaming.read_until("</footer>").await;
    let stop = {
        let mut c = podman(PODMAN);
        c.args(["stop", "-t", "30", &name]);
        tokio::spawn(run("podman stop", c))
    };
    assert!(
        streaming.read_to_end().await.ends_with("</html>"),
        "the page ended well-formed"
    );
    stop.await.unwrap();
    let exit = run("podman inspect", {
        let mut c = podman(PODMAN);
        c.args(["inspect", "--format", "{{.State.ExitCode}}", &name]);
        c
    })
    .await;
    assert_eq!(exit, "0", "a clean exit on SIGTERM");
}

/// curl to the edge over HTTPS, trusting the test's certificate.
fn curl(tls: &Certificate, https_port: u16, args: &[&str]) -> Command {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "30", "--cacert"])
        .arg(tls.chain())
        .arg("--resolve")
        .arg(format!("localhost:{https_port}:127.0.0.1"))
        .args(args);
    c
}

/// curl's arguments to print `url`'s response head and drop its body.
fn head_only(url: &str) -> [&str; 5] {
    ["-D", "-", "-o", "/dev/null", url]
}

/// One instance's own `/metrics`, read from inside its container (not
/// published, and hidden at the edge): bash's /dev/tcp, as the image has
/// no HTTP client but the server's own probe.
async fn metrics(container: &str) -> String {
    run("metrics", {
        let mut c = podman(PODMAN);
        c.args([
            "exec", container, "bash", "-c",
            "exec 3<>/dev/tcp/127.0.0.1/3000; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
        ]);
        c
    })
    .await
}

/// `http_requests_total` for `route` and `status`, summed over methods.
fn requests(metrics: &str, route: &str, status: u16) -> u64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn compose_runs_two_instances_on_one_postgres_behind_the_https_edge() {
    let test = "compose_runs_two_instances_on_one_postgres_behind_the_https_edge";
    if !have_podman(test) || !have_tool(test, Path::new(test_kit::tls::OPENSSL), "openssl") {
        return;
    }
    images().await;
    let project = format!("suspense-test-{}", std::process::id());
    let work: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&project);
    let tls = Certificate::make(&work.join("tls"));
    let (http_port, https_port) = (free_port(), free_port());
    let password = format!("pw-{}-{}", std::process::id(), free_port());
    let compose = |args: &[&str]| {
        let mut c = podman(COMPOSE);
        c.args(["-f", "compose.yaml", "-p", &project])
            .args(args)
            .env("POSTGRES_PASSWORD", &password)
            .env("TLS_DIR", &tls.dir)
            .env("EDGE_BIND", "127.0.0.1")
            .env("HTTP_PORT", http_port.to_string())
            .env("HTTPS_PORT", https_port.to_string());
        c
    };
    // Down, volumes and all, however the test ends.
    let _cleanup = Cleanup(compose(&["down", "-v", "-t", "20"]));
    run("podman-compose up", compose(&["up", "-d"])).await;
    let name = |service: &str| format!("{project}_{service}_1");
    for service in ["db", "app1", "app2"] {
        healthy(&name(service)).await;
    }

    // Plain HTTP redirects; HTTPS answers over h2 with HSTS.
    let redirect = run("curl http", {
        let mut c = Command::new("curl");
        c.args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .arg(format!("http://localhost:{http_port}/posts/1"));
        c
    })
    .await;
    assert_eq!(redirect, "301 https://localhost/posts/1");
    let deadline = tokio::time::Instant::now() + UP_WAIT;
    let head = loop {
        // The edge starts last; give it a moment to listen.
        let out = output(&mut curl(
            &tls,
            https_port,
            &head_only(&format!(
                "https://localhost:{https_port}/bench?boundaries=2&items=1"
            )),
        ))
        .await;
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edge never answered: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(head.starts_with("HTTP/2 200"), "{head}");
    assert!(
        head.contains("strict-transport-security: max-age=63072000"),
        "{head}"
    );
    // The static files from the edge's own copy, precompressed.
    let css = run(
        "curl css",
        curl(
            &tls,
            https_port,
            &[
                &["-H", "Accept-Encoding: gzip"][..],
                &head_only(&format!("https://localhost:{https_port}/static/compare.js")),
            ]
            .concat(),
        ),
    )
    .await;
    assert!(css.contains("content-encoding: gzip"), "{css}");
    // The prerendered /bench: the shell from the edge's own copy (its
    // runtime link, from the export), the parts from an instance.
    let prerendered = run(
        "curl prerendered",
        curl(
            &tls,
            https_port,
            &[&format!("https://localhost:{https_port}/bench?items=1")],
        ),
    )
    .await;
    assert!(
        prerendered.contains("async></script>\n<") && prerendered.contains("id=\"s0\""),
        "the exported shell, then the parts: {prerendered}"
    );
    assert!(!prerendered.contains("<!--#"), "{prerendered}");

    // A comment through the edge, stored once in the one database, is on
    // the post's page whichever instance serves it.
    let marker = format!("posted through the edge {}", std::process::id());
    let posted = run(
        "curl post",
        curl(
            &tls,
            https_port,
            &[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--data-urlencode",
                "author=Compose",
                "--data-urlencode",
                &format!("body={marker}"),
                &format!("https://localhost:{https_port}/posts/1/comments"),
            ],
        ),
    )
    .await;
    assert_eq!(posted, "303");
    for _ in 0..8 {
        let page = run(
            "curl page",
            curl(
                &tls,
                https_port,
                &[&format!("https://localhost:{https_port}/posts/1")],
            ),
        )
        .await;
        assert!(
            page.contains(&marker) && page.trim_end().ends_with("</html>"),
            "{page}"
        );
    }
    let (one, two) = (metrics(&name("app1")).await, metrics(&name("app2")).await);
    let (a, b) = (
        requests(&one, "/posts/{id}", 200),
        requests(&two, "/posts/{id}", 200),
    );
    assert!(
        a >= 1 && b >= 1 && a + b == 8,
        "both instances served the page: {a} and {b}"
    );
    assert!(one.contains("board_database_up 1") && two.contains("board_database_up 1"));
    let stored = run("psql", {
        let mut c = podman(PODMAN);
        c.args([
            "exec",
            &name("db"),
            "psql",
            "-U",
            "suspense",
            "-d",
            "board",
            "-tAc",
        ])
        .arg(format!(
            "SELECT count(*) FROM comments WHERE body = '{marker}'"
        ));
        c
    })
    .await;
    assert_eq!(stored, "1");
}
