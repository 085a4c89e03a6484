//! The board's stores, one suite for both: every test runs against SQLite
//! (a fresh file) and PostgreSQL (a fresh database on a real server), and
//! must see the same semantics through the `Store` trait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use suspense_ssr::data::{self, Database, DatabaseOptions, Store};

use crate::common::{PgDatabase, fresh_database, fresh_postgres};

/// A store of each kind, each on a fresh board (with what keeps the
/// PostgreSQL one alive). Without PostgreSQL here, SQLite only (the skip
/// is reported; under CI it fails).
async fn both(name: &str) -> Vec<(&'static str, Arc<dyn Store>, Option<PgDatabase>)> {
    let sqlite = options(Database::Sqlite(fresh_database()));
    let mut stores = vec![(
        "sqlite",
        data::open(&sqlite).await.expect("open sqlite"),
        None,
    )];
    if let Some(pg) = fresh_postgres(name).await {
        let store = data::open(&options(Database::Postgres(pg.url.clone())))
            .await
            .expect("open postgres");
        stores.push(("postgres", store, Some(pg)));
    }
    stores
}

fn options(database: Database) -> DatabaseOptions {
    DatabaseOptions::new(database)
}

/// Every comment of the board, post by post.
async fn all_comments(store: &dyn Store) -> usize {
    let mut n = 0;
    for post in store.recent_posts(1000).await.unwrap() {
        n += store.comments(post.id).await.unwrap().len();
    }
    n
}

#[tokio::test]
async fn a_new_board_is_seeded_the_same_on_both() {
    let stores = both("seeded").await;
    let mut seen = Vec::new();
    for (kind, store, _pg) in &stores {
        let posts = store.recent_posts(1000).await.unwrap();
        assert_eq!(posts.len(), 36, "{kind}");
        for post in &posts {
            let comments = store.comments(post.id).await.unwrap();
            assert_eq!(
                post.comment_count,
                comments.len() as i64,
                "{kind}: {post:?}"
            );
        }
        let first = store.post(posts[0].id).await.unwrap().expect("a post");
        let author = store
            .author(first.author_id)
            .await
            .unwrap()
            .expect("its author");
        assert!(author.post_count >= 1, "{kind}");
        let related = store.related_posts(first.id, 5).await.unwrap();
        let by = store.posts_by(first.author_id, first.id, 5).await.unwrap();
        assert!(
            by.iter()
                .all(|p| p.id != first.id && p.author == author.name)
        );
        let latest = store.latest_comments(6).await.unwrap();
        assert_eq!(latest.len(), 6, "{kind}");
        // The same board: titles, authors, counts and what is related.
        let titles: Vec<_> = posts
            .iter()
            .map(|p| (p.title.clone(), p.author.clone(), p.comment_count))
            .collect();
        let related: Vec<_> = related.into_iter().map(|p| p.title).collect();
        seen.push((titles, related, all_comments(store.as_ref()).await));
    }
    if let [a, b] = &seen[..] {
        assert_eq!(a, b, "sqlite and postgres boards differ");
    }
    // What is not there is `None` (or nothing), not an error.
    for (kind, store, _) in &stores {
        assert!(store.post(999_999).await.unwrap().is_none(), "{kind}");
        assert!(store.author(999_999).await.unwrap().is_none(), "{kind}");
        assert!(
            store.related_posts(999_999, 5).await.unwrap().is_empty(),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn a_comment_and_its_count_move_together() {
    for (kind, store, _pg) in both("comment").await {
        let post = store.recent_posts(1).await.unwrap().remove(0);
        let before = all_comments(store.as_ref()).await;
        let comment = store
            .add_comment(post.id, "Tess".into(), "Hello <b>there</b>".into())
            .await
            .unwrap()
            .expect("the post exists");
        assert!(comment.id > 0, "{kind}");
        assert_eq!((comment.post_id, comment.likes), (post.id, 0), "{kind}");
        let after = store.post(post.id).await.unwrap().unwrap();
        assert_eq!(after.comment_count, post.comment_count + 1, "{kind}");
        let stored = store.comments(post.id).await.unwrap();
        assert_eq!(stored.last(), Some(&comment), "{kind}");
        // On a post that does not exist: nothing stored, nothing counted.
        assert!(
            store
                .add_comment(999_999, "Tess".into(), "lost".into())
                .await
                .unwrap()
                .is_none(),
            "{kind}"
        );
        assert_eq!(all_comments(store.as_ref()).await, before + 1, "{kind}");
        // Likes: the new count and the comment's post; none for no comment.
        assert_eq!(
            store.like_comment(comment.id).await.unwrap(),
            Some((post.id, 1)),
            "{kind}"
        );
        assert_eq!(
            store.like_comment(comment.id).await.unwrap(),
            Some((post.id, 2))
        );
        assert_eq!(store.like_comment(999_999).await.unwrap(), None, "{kind}");
    }
}

#[tokio::test]
async fn ids_come_from_the_database_and_authors_are_reused() {
    for (kind, store, _pg) in both("ids").await {
        let first = store
            .add_post("Newcomer".into(), "First words".into(), "Body".into())
            .await
            .unwrap();
        let second = store
            .add_post("Newcomer".into(), "Second words".into(), "Body".into())
            .await
            .unwrap();
        assert!(second > first, "{kind}: {first} then {second}");
        let (a, b) = (
            store.post(first).await.unwrap().unwrap(),
            store.post(second).await.unwrap().unwrap(),
        );
        assert_eq!(a.author_id, b.author_id, "{kind}: one author, reused");
        assert_eq!(
            store.author(a.author_id).await.unwrap().unwrap().post_count,
            2,
            "{kind}"
        );
        assert_eq!(store.recent_posts(1).await.unwrap()[0].id, second, "{kind}");
    }
}

#[tokio::test]
async fn concurrent_comments_are_each_stored_and_counted_once() {
    for (kind, store, _pg) in both("concurrent").await {
        let posts: Vec<_> = store.recent_posts(2).await.unwrap();
        let before: Vec<i64> = posts.iter().map(|p| p.comment_count).collect();
        let writes = (0..200).map(|i| {
            let store = store.clone();
            let post = posts[i % 2].id;
            tokio::spawn(async move {
                store
                    .add_comment(post, format!("c{i}"), format!("comment {i}"))
                    .await
            })
        });
        let mut ids = Vec::new();
        for write in futures::future::join_all(writes).await {
            ids.push(write.unwrap().unwrap().expect("the post exists").id);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200, "{kind}: every id distinct");
        for (post, before) in posts.iter().zip(before) {
            let stored = store.comments(post.id).await.unwrap();
            let counted = store.post(post.id).await.unwrap().unwrap().comment_count;
            assert_eq!(counted, before + 100, "{kind}");
            assert_eq!(counted, stored.len() as i64, "{kind}");
        }
    }
}

#[tokio::test]
async fn instances_starting_together_migrate_and_seed_once() {
    // Six stores opened at the same moment on one new database (a SQLite
    // file; a PostgreSQL database), as six instances starting together.
    let sqlite = options(Database::Sqlite(fresh_database()));
    let pg = fresh_postgres("together").await;
    let mut targets = vec![("sqlite", sqlite)];
    if let Some(pg) = &pg {
        targets.push(("postgres", options(Database::Postgres(pg.url.clone()))));
    }
    for (kind, options) in targets {
        let opened = futures::future::join_all((0..6).map(|_| data::open(&options))).await;
        let mut stores = Vec::new();
        for store in opened {
            stores.push(store.unwrap_or_else(|e| panic!("{kind}: an instance failed: {e}")));
        }
        for store in &stores {
            assert_eq!(store.recent_posts(1000).await.unwrap().len(), 36, "{kind}");
        }
    }
}

#[tokio::test]
async fn a_database_that_does_not_answer_fails_in_time_as_unavailable() {
    // Nothing listening: refused at once. A listener that accepts and never
    // answers: the connect timeout. Neither hangs, both are "unavailable".
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_port = refused.local_addr().unwrap().port();
    drop(refused);
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    for port in [refused_port, silent_port] {
        let options = DatabaseOptions {
            connect_timeout: Duration::from_millis(300),
            ..options(Database::Postgres(format!(
                "postgres://board@127.0.0.1:{port}/board"
            )))
        };
        let started = Instant::now();
        let error = tokio::time::timeout(crate::common::WAIT, data::open(&options))
            .await
            .expect("open must not hang")
            .expect_err("no database there");
        assert!(error.is_unavailable(), "{error}");
        assert!(error.to_string().contains("127.0.0.1"), "{error}");
        eprintln!("port {port}: {error} after {:?}", started.elapsed());
    }
}
