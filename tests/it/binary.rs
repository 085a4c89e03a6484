//! The `suspense-ssr` binary as a user runs it: flags, the first line of
//! output, serving, and SIGTERM.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::AsyncBufReadExt;
use tokio::process::Child;

use crate::common::{WAIT, binary, get, listening_addr, static_dir};

/// `suspense-ssr serve` on a free port, a fresh board and `extra` flags:
/// the process and the address its first line of output names.
async fn serve(extra: &[&str]) -> (Child, SocketAddr) {
    let mut child = binary()
        .args(["serve", "--addr", "127.0.0.1:0", "--static-dir"])
        .arg(static_dir())
        .arg("--database")
        .arg(crate::common::fresh_database())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let addr = listening_addr(&mut child).await;
    (child, addr)
}

#[tokio::test]
async fn serves_after_printing_its_address_and_exits_cleanly_on_sigterm() {
    let (mut child, addr) = serve(&[]).await;

    // The health check a container runs: `/healthz` answers, and the
    // `healthcheck` command says so in its exit status.
    let mut health = get(addr, "/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.header("cache-control"), Some("no-store"));
    assert_eq!(health.read_to_end().await, "ok\n");
    let check = |addr: String| async move {
        binary()
            .args(["healthcheck", "--timeout", "5s"])
            .env("SUSPENSE_ADDR", addr)
            .stdout(Stdio::null())
            .output()
            .await
            .unwrap()
    };
    // 0.0.0.0 (as a container's server listens) means this host.
    let healthy = check(format!("0.0.0.0:{}", addr.port())).await;
    assert!(healthy.status.success(), "{healthy:?}");

    // Browsers ask for /favicon.ico on a page that links no icon: the
    // site's icon, not a 404.
    let mut icon = get(addr, "/favicon.ico").await;
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    // Routed by the site, so it carries the site's security headers.
    assert_eq!(
        icon.header("x-frame-options"),
        Some("SAMEORIGIN"),
        "/favicon.ico lacks the site's security headers"
    );
    let icon = icon.read_to_end().await.to_owned();
    assert!(icon.starts_with("<svg"), "{icon:?}");

    let mut response = get(addr, "/bench?boundaries=2&items=1&delay=50").await;
    assert_eq!(response.status(), 200);
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains("id=\"s0\"") && body.ends_with("</html>"),
        "{body:?}"
    );

    terminate(&child);
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the server must exit after SIGTERM")
        .unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let gone = check(addr.to_string()).await;
    assert_eq!(gone.status.code(), Some(1));
    let why = String::from_utf8_lossy(&gone.stderr);
    assert!(
        why.starts_with(&format!("unhealthy: cannot connect to {addr}")),
        "{why}"
    );
}

/// `--sched-slice` reaches every thread of the server, the runtime's
/// workers and its blocking threads included (they inherit it from the main
/// thread), and `off`, the default, leaves the kernel's. On a kernel that keeps no
/// slice per thread (before Linux 6.12) there is nothing to see, and the
/// test says so.
#[tokio::test]
async fn every_thread_gets_the_scheduling_slice_asked_for() {
    let supported = std::thread::spawn(|| {
        sched_slice::request(std::time::Duration::from_micros(100))
            .is_ok_and(|outcome| matches!(outcome, sched_slice::Outcome::Applied(_)))
    })
    .join()
    .unwrap();
    if !supported {
        eprintln!("this kernel keeps no scheduling slice per thread: nothing to check");
        return;
    }
    // Nanoseconds, for each of the process's threads.
    let slices = |child: &Child| {
        let tasks = format!("/proc/{}/task", child.id().expect("running"));
        std::fs::read_dir(tasks)
            .unwrap()
            .map(|task| {
                let sched = std::fs::read_to_string(task.unwrap().path().join("sched")).unwrap();
                let line = sched.lines().find(|l| l.starts_with("se.slice")).unwrap();
                line.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
            })
            .collect::<Vec<_>>()
    };
    let (mut asked, addr) = serve(&["--sched-slice", "300us"]).await;
    // A static file is read on a blocking thread: one exists by now.
    let mut css = get(addr, "/static/bench.css").await;
    assert_eq!(css.status(), 200);
    css.read_to_end().await;
    let threads = slices(&asked);
    assert!(threads.len() >= 3, "main, workers, blocking: {threads:?}");
    assert!(threads.iter().all(|&s| s == 300_000), "{threads:?}");
    asked.kill().await.unwrap();
    // The kernel's slice is not 100 µs: a server that asked for nothing
    // must not show the shortest one either.
    for flags in [&["--sched-slice", "off"][..], &[][..]] {
        let (mut off, _) = serve(flags).await;
        let threads = slices(&off);
        assert!(
            threads.iter().all(|&s| s != 300_000 && s != 100_000),
            "{flags:?}: {threads:?}"
        );
        off.kill().await.unwrap();
    }
}

/// Sends the process SIGTERM.
fn terminate(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[tokio::test]
async fn bad_flags_get_a_clear_error() {
    for (args, want) in [
        (
            vec!["--threads", "0"],
            "'--threads <THREADS>': must be at least 1",
        ),
        (
            vec!["--static-dir", "/nonexistent/dir"],
            "--static-dir /nonexistent/dir: not a directory",
        ),
        (vec!["--addr", "nowhere"], "invalid value 'nowhere'"),
        (vec!["--boundary-timeout", "soon"], "invalid value 'soon'"),
        (
            vec!["--database", "mysql://root:hunter2@db/board"],
            "--database mysql://root:***@db/board: unsupported scheme \"mysql\"",
        ),
        (
            vec!["--db-pool-size", "0"],
            "'--db-pool-size <DB_POOL_SIZE>': must be at least 1",
        ),
        (
            vec!["--send-timeout", "0s"],
            "'--send-timeout <SEND_TIMEOUT>': must be more than zero",
        ),
        (
            vec!["--page-deadline", "0s"],
            "'--page-deadline <PAGE_DEADLINE>': must be more than zero",
        ),
        (
            vec!["--max-connections", "0"],
            "'--max-connections <MAX_CONNECTIONS>': must be at least 1",
        ),
        (
            vec!["--max-header-bytes", "100"],
            "'--max-header-bytes <MAX_HEADER_BYTES>': must be at least 1024",
        ),
        (
            vec!["--sched-slice", "50us"],
            "must be between 100µs and 100ms (the kernel's bounds), or off",
        ),
        (vec!["--sched-slice", "soon"], "invalid value 'soon'"),
        (
            vec!["--max-unsent-bytes", "100"],
            "must be 0 (no limit) or at least 4096",
        ),
        (
            vec!["--max-uri-bytes", "20000"],
            "--max-uri-bytes: must be between 256 and --max-header-bytes (16384)",
        ),
    ] {
        let output = tokio::time::timeout(WAIT, binary().args(&args).output())
            .await
            .expect("the binary must exit at once")
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "a password on stderr: {stderr}"
        );
        assert!(
            stderr.contains(want),
            "{args:?}: stderr {stderr:?} lacks {want:?}"
        );
    }
}

#[tokio::test]
async fn export_writes_the_pages_and_says_where() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("binary-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = tokio::time::timeout(
        WAIT,
        binary()
            .arg("export")
            .arg("--out")
            .arg(&out)
            .arg("--static-dir")
            .arg(static_dir())
            .arg("--database")
            .arg(crate::common::fresh_database())
            .output(),
    )
    .await
    .expect("export must finish")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(&format!("{}", out.join("bench/index.html").display())));
    assert!(stdout.contains("exported 5 pages and"), "{stdout}");
    assert!(out.join("prerendered/bench.html").is_file(), "{stdout}");
    assert!(out.join("prerendered/board.html").is_file(), "{stdout}");
    assert!(out.join("about/index.html").is_file() && out.join("static/bench.css").is_file());

    let missing = binary()
        .args([
            "export",
            "--out",
            "/tmp/x",
            "--static-dir",
            "/nonexistent/dir",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test]
async fn sigterm_ends_a_streaming_page_with_its_timeout_content_and_exits_0() {
    // The binary as deployed: a page that would stream for a minute is in
    // flight when SIGTERM comes; at the drain timeout its pending sections
    // show their timeout content, the document ends, and the process exits 0.
    let (mut child, addr) = serve(&["--drain-timeout", "300ms"]).await;
    let mut page = get(addr, "/bench?delay=60000&items=1").await;
    page.read_until("Loading section 2").await;

    terminate(&child);
    let body = page.read_to_end().await.to_owned();
    assert_eq!(
        body.matches(axum_suspense::error::DEFAULT_TIMEOUT_HTML)
            .count(),
        3,
        "{body:?}"
    );
    assert!(body.trim_end().ends_with("</body></html>"), "{body:?}");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the server must exit after the drain")
        .unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

/// `suspense-ssr serve` on a free port, no latency, `extra` flags, and the
/// database left to `DATABASE_URL` (which the caller sets).
fn serve_from_env(extra: &[&str]) -> tokio::process::Command {
    let mut command = binary();
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--latency", "0"])
        .args(extra)
        .arg("--static-dir")
        .arg(static_dir());
    command
}

#[tokio::test]
async fn database_url_selects_postgres_and_an_unreachable_one_is_a_clear_error() {
    let Some(pg) = crate::common::fresh_postgres("binary").await else {
        return;
    };
    // DATABASE_URL, no --database flag: the board on PostgreSQL.
    let mut child = serve_from_env(&[])
        .env("DATABASE_URL", &pg.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let addr = listening_addr(&mut child).await;
    let mut page = get(addr, "/posts/1").await;
    assert_eq!(page.status(), 200);
    page.read_to_end().await;
    let posts: i64 = pg
        .client()
        .await
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(posts, 36, "migrated and seeded by the binary");
    terminate(&child);
    assert!(child.wait().await.unwrap().success());

    // Nothing there: the binary says so and exits, without the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = tokio::time::timeout(
        WAIT,
        binary()
            .args(["serve", "--addr", "127.0.0.1:0", "--static-dir"])
            .arg(static_dir())
            .arg("--database")
            .arg(format!("postgres://board:hunter2@127.0.0.1:{port}/board"))
            .output(),
    )
    .await
    .expect("exits at once")
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("postgres://board:***@127.0.0.1:{port}/board"))
            && stderr.contains("unavailable"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn db_wait_starts_once_a_late_database_comes_up() {
    // A stack starting together (compose): the database is not up yet when
    // the server starts. With --db-wait the server keeps trying, says so,
    // and serves the board once it answers.
    if !test_kit::pg::have_postgres("db_wait_starts_once_a_late_database_comes_up") {
        return;
    }
    let Some(cluster) = test_kit::pg::PgCluster::start("db-wait") else {
        return;
    };
    cluster.stop();
    let mut child = serve_from_env(&["--db-wait", "120s"])
        .env("DATABASE_URL", cluster.url("postgres"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let addr = listening_addr(&mut child).await;
    let mut log = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::time::timeout(WAIT, async {
        while let Some(line) = log.next_line().await.unwrap() {
            assert!(
                !line.contains('\x1b'),
                "no colour codes in a piped log: {line:?}"
            );
            if line.contains("unavailable; trying again in 1s (--db-wait)") {
                return;
            }
        }
        panic!("the server exited instead of waiting");
    })
    .await
    .expect("a line saying it waits");
    cluster.start_again();
    let mut page = get(addr, "/posts/1").await;
    assert_eq!(page.status(), 200);
    assert!(page.read_to_end().await.ends_with("</html>"));
    terminate(&child);
    assert!(child.wait().await.unwrap().success());
}
