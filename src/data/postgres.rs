//! PostgreSQL, for several instances on one database: tokio-postgres with a
//! deadpool-postgres pool.
//!
//! Why these: tokio-postgres is the asynchronous driver the others build on
//! (pipelining, prepared statements, no C library); deadpool-postgres adds a
//! small pool with the three timeouts this needs (waiting for a free
//! connection, opening one, checking one before reuse) and a prepared
//! statement cache per connection. sqlx would bring a much larger
//! dependency and query macros that want a database at build time; bb8 has
//! no per-connection statement cache.
//!
//! Semantics, as SQLite's: a comment and its post's count in one
//! transaction (the post's row is locked first, so concurrent comments on
//! one post queue instead of losing a count); ids from `RETURNING`; the
//! migrations and the seed in one transaction under an advisory lock, so of
//! several instances starting together exactly one applies them.
//!
//! Every call is bounded: the pool waits at most the connect timeout for a
//! connection, the server ends a statement past `statement_timeout`, and the
//! call as a whole fails as unavailable past both (a server that stopped
//! answering never holds a request). A connection the server closed (a
//! restart) is found closed when it is next taken and replaced, so an
//! instance recovers without a restart of its own.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::database::redact;
use super::{
    Author, AuthorId, Comment, CommentId, CommentOnPost, DataError, DataResult, DatabaseOptions,
    Health, Post, PostId, PostSummary, Store, seed, sqlite::now,
};

/// The key of the advisory lock the migrations run under (any constant the
/// application owns: "SUSPENSE" in ASCII).
const MIGRATION_LOCK: i64 = 0x5355_5350_454E_5345;

/// Schema versions, applied in order; `board_schema.version` says how many
/// have been applied.
const MIGRATIONS: &[&str] = &[
    // 1: the board
    "CREATE TABLE authors (
         id BIGSERIAL PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         bio TEXT NOT NULL DEFAULT ''
     );
     CREATE TABLE posts (
         id BIGSERIAL PRIMARY KEY,
         author_id BIGINT NOT NULL REFERENCES authors(id),
         title TEXT NOT NULL,
         body TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         comment_count BIGINT NOT NULL DEFAULT 0
     );
     CREATE INDEX posts_by_author ON posts(author_id, created_at);
     CREATE INDEX posts_by_time ON posts(created_at);
     CREATE TABLE comments (
         id BIGSERIAL PRIMARY KEY,
         post_id BIGINT NOT NULL REFERENCES posts(id),
         author TEXT NOT NULL,
         body TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         likes BIGINT NOT NULL DEFAULT 0
     );
     CREATE INDEX comments_by_post ON comments(post_id, id);",
];

/// A board in a PostgreSQL database. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    call_timeout: Duration,
    /// The URL without its password; shared, as every call clones the store.
    what: Arc<str>,
    health: Health,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.what)
            .field("status", &self.pool.status())
            .finish()
    }
}

impl From<tokio_postgres::Error> for DataError {
    fn from(error: tokio_postgres::Error) -> Self {
        let unavailable = match error.code() {
            // Ended by statement_timeout, or the server going away.
            Some(code) => [
                SqlState::QUERY_CANCELED,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
            ]
            .contains(code),
            // No answer from the server at all: the connection is gone.
            None => true,
        };
        let message = match error.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => error.to_string(),
        };
        if unavailable {
            DataError::unavailable(message)
        } else {
            DataError::failed(message)
        }
    }
}

impl From<PoolError> for DataError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(error) => error.into(),
            other => DataError::unavailable(format!("connection pool: {other}")),
        }
    }
}

impl PostgresStore {
    /// Connects to `url` with `options`' pool and timeouts, migrates, and
    /// seeds a board that has no posts yet.
    pub async fn open(url: &str, options: &DatabaseOptions) -> DataResult<PostgresStore> {
        let what = redact(url);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| DataError::failed(format!("{what}: {e}")))?;
        config.connect_timeout(options.connect_timeout);
        config.application_name("suspense-ssr");
        // The server ends any statement that runs longer, whatever the
        // client does; other options in the URL are kept.
        let timeout = format!(
            "-c statement_timeout={}",
            options.statement_timeout.as_millis()
        );
        let server_options = match config.get_options() {
            Some(given) => format!("{given} {timeout}"),
            None => timeout,
        };
        config.options(&server_options);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A connection the server closed is seen as closed: replaced.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| DataError::failed(format!("{what}: {e}")))?;
        let store = PostgresStore {
            pool,
            call_timeout: options.call_timeout(),
            health: Health::new(what.clone()),
            what: what.into(),
        };
        let mut client = store.client().await?;
        migrate_and_seed(&mut client, now()).await?;
        Ok(store)
    }

    async fn client(&self) -> DataResult<Object> {
        self.pool.get().await.map_err(|e| {
            let error = DataError::from(e);
            DataError::unavailable(format!("{}: {}", self.what, error.message))
        })
    }

    /// Runs `call` bounded by the call timeout, and counts its outcome.
    fn call<T: Send + 'static>(
        &self,
        call: impl Future<Output = DataResult<T>> + Send + 'static,
    ) -> BoxFuture<'static, DataResult<T>> {
        let (limit, health) = (self.call_timeout, self.health.clone());
        async move { health.watch(limit, call).await }.boxed()
    }

    async fn summaries(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> DataResult<Vec<PostSummary>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client
            .query(&statement, params)
            .await?
            .iter()
            .map(summary)
            .collect())
    }
}

/// Applies what is missing of the schema and seeds an empty board, in one
/// transaction under the migration lock: instances that start together
/// wait for the first, then find it done.
async fn migrate_and_seed(client: &mut Object, now: i64) -> DataResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS board_schema (version INTEGER NOT NULL)")
        .await?;
    let done: i32 = match tx
        .query_opt("SELECT version FROM board_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO board_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "UPDATE board_schema SET version = $1",
            &[&(version as i32 + 1)],
        )
        .await?;
        tracing::info!(version = version + 1, "database migrated");
    }
    let posts: i64 = tx
        .query_one("SELECT count(*) FROM posts", &[])
        .await?
        .get(0);
    if posts == 0 {
        let board = seed::board(now);
        let mut authors = Vec::with_capacity(board.authors.len());
        for (name, bio) in board.authors {
            let row = tx
                .query_one(
                    "INSERT INTO authors (name, bio) VALUES ($1, $2) RETURNING id",
                    &[name, bio],
                )
                .await?;
            authors.push(row.get::<_, i64>(0));
        }
        for post in &board.posts {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO posts (author_id, title, body, created_at, comment_count)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[
                        &authors[post.author],
                        &post.title,
                        &post.body,
                        &post.created_at,
                        &(post.comments.len() as i64),
                    ],
                )
                .await?
                .get(0);
            for c in &post.comments {
                tx.execute(
                    "INSERT INTO comments (post_id, author, body, created_at, likes)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&id, &c.author, &c.body, &c.created_at, &c.likes],
                )
                .await?;
            }
        }
        tracing::info!("new board seeded");
    }
    tx.commit().await?;
    Ok(())
}

const SUMMARY: &str = "SELECT p.id, p.title, a.name, p.created_at, p.comment_count
                       FROM posts p JOIN authors a ON a.id = p.author_id";

fn summary(row: &Row) -> PostSummary {
    PostSummary {
        id: row.get(0),
        title: row.get(1),
        author: row.get(2),
        created_at: row.get(3),
        comment_count: row.get(4),
    }
}

fn comment(row: &Row) -> Comment {
    Comment {
        id: row.get(0),
        post_id: row.get(1),
        author: row.get(2),
        body: row.get(3),
        created_at: row.get(4),
        likes: row.get(5),
    }
}

impl Store for PostgresStore {
    fn describe(&self) -> String {
        self.what.to_string()
    }

    fn health(&self) -> &Health {
        &self.health
    }

    fn recent_posts(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        let this = self.clone();
        self.call(async move {
            this.summaries(
                &format!("{SUMMARY} ORDER BY p.created_at DESC, p.id DESC LIMIT $1"),
                &[&i64::from(limit)],
            )
            .await
        })
    }

    fn popular_this_week(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        let this = self.clone();
        let since = now() - 7 * 24 * 3600;
        self.call(async move {
            this.summaries(
                "SELECT p.id, p.title, a.name, p.created_at, p.comment_count
                 FROM posts p JOIN authors a ON a.id = p.author_id
                 LEFT JOIN comments c ON c.post_id = p.id
                 WHERE p.created_at >= $1
                 GROUP BY p.id, a.name
                 ORDER BY p.comment_count + coalesce(sum(c.likes), 0) DESC, p.id DESC
                 LIMIT $2",
                &[&since, &i64::from(limit)],
            )
            .await
        })
    }

    fn latest_comments(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<CommentOnPost>>> {
        let this = self.clone();
        self.call(async move {
            let client = this.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT c.id, c.post_id, c.author, c.body, c.created_at, c.likes, p.title
                     FROM comments c JOIN posts p ON p.id = c.post_id
                     ORDER BY c.id DESC LIMIT $1",
                )
                .await?;
            Ok(client
                .query(&statement, &[&i64::from(limit)])
                .await?
                .iter()
                .map(|row| CommentOnPost {
                    comment: comment(row),
                    post_title: row.get(6),
                })
                .collect())
        })
    }

    fn post(&self, id: PostId) -> BoxFuture<'static, DataResult<Option<Post>>> {
        let this = self.clone();
        self.call(async move {
            let client = this.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT p.id, p.title, p.body, p.author_id, a.name, p.created_at, p.comment_count
                     FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = $1",
                )
                .await?;
            Ok(client
                .query_opt(&statement, &[&id])
                .await?
                .map(|row| Post {
                    id: row.get(0),
                    title: row.get(1),
                    body: row.get(2),
                    author_id: row.get(3),
                    author: row.get(4),
                    created_at: row.get(5),
                    comment_count: row.get(6),
                }))
        })
    }

    fn comments(&self, post: PostId) -> BoxFuture<'static, DataResult<Vec<Comment>>> {
        let this = self.clone();
        self.call(async move {
            let client = this.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT id, post_id, author, body, created_at, likes
                     FROM comments WHERE post_id = $1 ORDER BY id",
                )
                .await?;
            Ok(client
                .query(&statement, &[&post])
                .await?
                .iter()
                .map(comment)
                .collect())
        })
    }

    fn related_posts(
        &self,
        post: PostId,
        limit: u32,
    ) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        let this = self.clone();
        self.call(async move {
            let title: Option<String> = {
                let client = this.client().await?;
                let statement = client
                    .prepare_cached("SELECT title FROM posts WHERE id = $1")
                    .await?;
                client
                    .query_opt(&statement, &[&post])
                    .await?
                    .map(|row| row.get(0))
            };
            let Some(title) = title else {
                return Ok(Vec::new());
            };
            let candidates = this
                .summaries(
                    &format!("{SUMMARY} WHERE p.id != $1 ORDER BY p.created_at DESC LIMIT 500"),
                    &[&post],
                )
                .await?;
            Ok(super::related(&title, candidates, limit))
        })
    }

    fn author(&self, id: AuthorId) -> BoxFuture<'static, DataResult<Option<Author>>> {
        let this = self.clone();
        self.call(async move {
            let client = this.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT a.id, a.name, a.bio, (SELECT count(*) FROM posts WHERE author_id = a.id)
                     FROM authors a WHERE a.id = $1",
                )
                .await?;
            Ok(client
                .query_opt(&statement, &[&id])
                .await?
                .map(|row| Author {
                    id: row.get(0),
                    name: row.get(1),
                    bio: row.get(2),
                    post_count: row.get(3),
                }))
        })
    }

    fn posts_by(
        &self,
        author: AuthorId,
        except: PostId,
        limit: u32,
    ) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        let this = self.clone();
        self.call(async move {
            this.summaries(
                &format!(
                    "{SUMMARY} WHERE p.author_id = $1 AND p.id != $2
                     ORDER BY p.created_at DESC, p.id DESC LIMIT $3"
                ),
                &[&author, &except, &i64::from(limit)],
            )
            .await
        })
    }

    fn add_comment(
        &self,
        post: PostId,
        author: String,
        body: String,
    ) -> BoxFuture<'static, DataResult<Option<Comment>>> {
        let this = self.clone();
        self.call(async move {
            let mut client = this.client().await?;
            let tx = client.transaction().await?;
            // The post's row first: it is locked until the commit, so
            // comments on one post are counted one after the other.
            let counted = tx
                .query_opt(
                    "UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1 RETURNING id",
                    &[&post],
                )
                .await?;
            if counted.is_none() {
                return Ok(None);
            }
            let created_at = now();
            let id: CommentId = tx
                .query_one(
                    "INSERT INTO comments (post_id, author, body, created_at)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&post, &author, &body, &created_at],
                )
                .await?
                .get(0);
            // Both or neither: an error before this drops `tx`, which rolls
            // the count back.
            tx.commit().await?;
            Ok(Some(Comment {
                id,
                post_id: post,
                author,
                body,
                created_at,
                likes: 0,
            }))
        })
    }

    fn add_post(
        &self,
        author: String,
        title: String,
        body: String,
    ) -> BoxFuture<'static, DataResult<PostId>> {
        let this = self.clone();
        self.call(async move {
            let mut client = this.client().await?;
            let tx = client.transaction().await?;
            // The author's id, new or not, in one statement (a no-op update
            // makes RETURNING give the existing row).
            let author_id: AuthorId = tx
                .query_one(
                    "INSERT INTO authors (name) VALUES ($1)
                     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                    &[&author],
                )
                .await?
                .get(0);
            let id: PostId = tx
                .query_one(
                    "INSERT INTO posts (author_id, title, body, created_at)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&author_id, &title, &body, &now()],
                )
                .await?
                .get(0);
            tx.commit().await?;
            Ok(id)
        })
    }

    fn like_comment(&self, id: CommentId) -> BoxFuture<'static, DataResult<Option<(PostId, i64)>>> {
        let this = self.clone();
        self.call(async move {
            let client = this.client().await?;
            let statement = client
                .prepare_cached(
                    "UPDATE comments SET likes = likes + 1 WHERE id = $1 RETURNING post_id, likes",
                )
                .await?;
            Ok(client
                .query_opt(&statement, &[&id])
                .await?
                .map(|row| (row.get(0), row.get(1))))
        })
    }
}
