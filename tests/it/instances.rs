//! Several instances on one PostgreSQL, behind `deploy/nginx.conf`, and
//! what they do when the database goes away and comes back.

use std::path::Path;
use std::time::Duration;

use axum_suspense::error::DEFAULT_ERROR_HTML;
use suspense_ssr::app::Latency;
use suspense_ssr::data::{Database, DatabaseOptions};

use crate::board::{form, post_form};
use crate::common::{TestServer, WAIT, binary, fresh_postgres, get, have_tool, listening_addr};
use crate::nginx::{NGINX, Nginx};
use crate::observe::sample;

/// The defaults' pool and timeouts (3 s to get a connection: 200 comments
/// at once queue for the 16 of each instance's pool, on a loaded machine).
fn on(url: &str) -> DatabaseOptions {
    DatabaseOptions::new(Database::Postgres(url.to_owned()))
}

async fn metrics(addr: std::net::SocketAddr) -> String {
    get(addr, "/metrics").await.read_to_end().await.to_owned()
}

#[tokio::test]
async fn two_instances_on_one_database_behind_nginx() {
    if !have_tool("two_instances_behind_nginx", Path::new(NGINX), "nginx") {
        return;
    }
    let Some(pg) = fresh_postgres("instances").await else {
        return;
    };
    let (one, _) = TestServer::board_on(&on(&pg.url), Latency::NONE).await;
    let (two, _) = TestServer::board_on(&on(&pg.url), Latency::NONE).await;
    let nginx = Nginx::start("instances", [one.addr.port(), two.addr.port()]).await;

    // A comment through one instance is on the page the other serves.
    let posted = post_form(
        one.addr,
        "/posts/1/comments",
        &form(&[("author", "Uma"), ("body", "written through one")]),
        "",
    )
    .await;
    assert_eq!(posted.status(), 303, "{}", posted.head);
    let mut page = get(two.addr, "/posts/1").await;
    assert!(page.read_to_end().await.contains("written through one"));

    // 200 comments at once through nginx, on two posts: each answered 303,
    // each stored exactly once, and the counts agree with the rows.
    let db = pg.client().await;
    let count = |post: i64| {
        let db = &db;
        async move {
            let row = db
                .query_one(
                    "SELECT comment_count, (SELECT count(*) FROM comments WHERE post_id = $1)
                     FROM posts WHERE id = $1",
                    &[&post],
                )
                .await
                .unwrap();
            (row.get::<_, i64>(0), row.get::<_, i64>(1))
        }
    };
    let before = [count(2).await, count(3).await];
    let addr = nginx.addr();
    let started = std::time::Instant::now();
    let posts = (0..200).map(|i| {
        tokio::spawn(async move {
            let post = 2 + i % 2;
            let body = form(&[("author", "Load"), ("body", &format!("through nginx {i}"))]);
            post_form(addr, &format!("/posts/{post}/comments"), &body, "")
                .await
                .status()
        })
    });
    for status in futures::future::join_all(posts).await {
        assert_eq!(status.unwrap(), 303);
    }
    let took = started.elapsed();
    let stored: i64 = db
        .query_one(
            "SELECT count(DISTINCT body) FROM comments WHERE body LIKE 'through nginx %'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let rows: i64 = db
        .query_one(
            "SELECT count(*) FROM comments WHERE body LIKE 'through nginx %'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        (stored, rows),
        (200, 200),
        "each comment stored exactly once"
    );
    for (post, before) in [2, 3].into_iter().zip(before) {
        let (counted, rows) = count(post).await;
        assert_eq!(counted, rows, "post {post}: count and rows agree");
        assert_eq!(counted, before.0 + 100, "post {post}");
    }
    // Both instances took their share.
    let mut shares: Vec<f64> = Vec::new();
    for instance in [&one, &two] {
        let text = metrics(instance.addr).await;
        let served = sample(
            &text,
            "http_requests_total{method=\"POST\",route=\"/posts/{id}/comments\",status=\"303\"}",
        );
        assert!(
            served >= 20.0,
            "an instance served only {served} of 200: {text}"
        );
        shares.push(served);
    }
    eprintln!(
        "200 comments through nginx in {took:?}; 303s per instance {shares:?} (one's includes the first comment)"
    );
}

/// An instance of the binary on `url`, its log (stderr, at `info`) in
/// `log`: the process and its address.
async fn instance(
    url: &str,
    log: &std::path::Path,
) -> (tokio::process::Child, std::net::SocketAddr) {
    let mut child = binary()
        .args(["serve", "--addr", "127.0.0.1:0", "--static-dir"])
        .arg(crate::common::static_dir())
        .args(["--database", url])
        // The comments part of a post page waits 3 s before it asks the
        // database: long enough to stop it meanwhile.
        .args([
            "--latency",
            "comments=3s,popular=0,latest=0,related=0,author=0,author-posts=0",
        ])
        .args([
            "--db-connect-timeout",
            "500ms",
            "--db-statement-timeout",
            "2s",
        ])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the binary");
    let addr = listening_addr(&mut child).await;
    (child, addr)
}

#[tokio::test]
async fn a_database_outage_is_answered_and_survived() {
    let Some(cluster) = test_kit::pg::PgCluster::start("outage") else {
        return;
    };
    let url = cluster.url("postgres");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let logs = [0, 1].map(|i| dir.join(format!("outage-{}-{i}.log", std::process::id())));
    let log = |i: usize| std::fs::read_to_string(&logs[i]).unwrap_or_default();
    let (one, one_addr) = instance(&url, &logs[0]).await;
    let (two, two_addr) = instance(&url, &logs[1]).await;
    let instances = [one_addr, two_addr];

    // Comments the board acknowledged (303), each with its own text.
    let mut acknowledged = Vec::new();
    let mut n = 0;
    let mut comment = async |addr, acknowledged: &mut Vec<String>| {
        n += 1;
        let text = format!("outage test {n}");
        let response = tokio::time::timeout(
            WAIT,
            post_form(
                addr,
                "/posts/1/comments",
                &form(&[("author", "Vera"), ("body", &text)]),
                "",
            ),
        )
        .await
        .expect("a form post must not hang");
        if response.status() == 303 {
            acknowledged.push(text.clone());
        }
        (response, text)
    };
    for addr in instances {
        let (response, _) = comment(addr, &mut acknowledged).await;
        assert_eq!(response.status(), 303);
    }

    // A page streaming on each instance when the database stops.
    let mut pages = Vec::new();
    for addr in instances {
        let mut page = get(addr, "/posts/1").await;
        assert_eq!(page.status(), 200);
        page.read_until("Loading comments").await;
        pages.push(page);
    }
    cluster.stop();

    for (i, addr) in instances.into_iter().enumerate() {
        // A page whose shell needs the database: a clear 503, at once.
        let mut page = tokio::time::timeout(WAIT, get(addr, "/posts/1"))
            .await
            .expect("no hang");
        assert_eq!(page.status(), 503, "{}", page.head);
        assert_eq!(page.header("retry-after"), Some("5"));
        let body = page.read_to_end().await;
        assert!(body.contains("The board is unavailable"), "{body}");
        // The front page is prerendered: its shell needs nothing of the
        // database, so it comes (a 200) and each part says it failed.
        let mut home = get(addr, "/").await;
        assert_eq!(home.status(), 200, "{}", home.head);
        let home = home.read_to_end().await;
        assert_eq!(
            home.matches(axum_suspense::error::DEFAULT_ERROR_HTML)
                .count(),
            3,
            "{home}"
        );

        // A form: 503, nothing saved, and what the user wrote given back.
        let (mut response, text) = comment(addr, &mut acknowledged).await;
        assert_eq!(response.status(), 503, "{}", response.head);
        let body = response.read_to_end().await;
        assert!(
            body.contains(&text) && body.contains("value=\"Vera\""),
            "{body}"
        );
        assert!(body.contains("Nothing was saved"), "{body}");
        // The enhanced form gets the message as text (the script keeps the
        // textarea as it is).
        let mut enhanced = post_form(
            addr,
            "/posts/1/comments",
            &form(&[("author", "Vera"), ("body", "enhanced")]),
            "X-Enhanced: 1\r\n",
        )
        .await;
        assert_eq!(enhanced.status(), 503);
        assert!(enhanced.read_to_end().await.starts_with("Not saved: "));

        // The operator sees it, on /metrics and in the log.
        let text = metrics(addr).await;
        assert_eq!(sample(&text, "board_database_up"), 0.0, "{text}");
        assert!(
            sample(&text, "board_database_errors_total{kind=\"unavailable\"}") >= 1.0,
            "{text}"
        );
        assert!(log(i).contains("the database is unavailable"), "{}", log(i));
    }
    // The pages that were streaming: the part that needed the database
    // shows its error content, and each page still ends well-formed.
    for mut page in pages {
        let body = tokio::time::timeout(WAIT, page.read_to_end())
            .await
            .expect("the streaming page ends")
            .to_owned();
        assert!(body.contains(DEFAULT_ERROR_HTML), "{body}");
        assert!(body.trim_end().ends_with("</html>"), "{body}");
    }

    // The database is back: both instances recover by themselves.
    cluster.start_again();
    for (i, addr) in instances.into_iter().enumerate() {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (response, _) = comment(addr, &mut acknowledged).await;
            if response.status() == 303 {
                break;
            }
            assert_eq!(response.status(), 503);
            assert!(tokio::time::Instant::now() < deadline, "never recovered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut page = get(addr, "/posts/1").await;
        assert_eq!(page.status(), 200);
        page.read_to_end().await;
        let text = metrics(addr).await;
        assert_eq!(sample(&text, "board_database_up"), 1.0, "{text}");
        assert!(
            log(i).contains("the database is available again"),
            "{}",
            log(i)
        );
    }

    // Every comment the board acknowledged is in the database.
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stored: Vec<String> = db
        .query(
            "SELECT body FROM comments WHERE body LIKE 'outage test %'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for text in &acknowledged {
        assert!(stored.contains(text), "acknowledged but lost: {text}");
    }
    assert!(acknowledged.len() >= 4, "{acknowledged:?}");
    drop((one, two));
    for log in logs {
        let _ = std::fs::remove_file(log);
    }
    drop(cluster);
}
