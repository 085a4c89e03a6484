//! The embedded default: SQLite through rusqlite (bundled, so there is no
//! system library to install), run on tokio's blocking pool.
//!
//! Why rusqlite and not sqlx: rusqlite is SQLite's own synchronous API with
//! nothing in between; each call here is one short closure on a blocking
//! thread, so no async worker ever waits on disk or on SQLite's lock. sqlx's
//! SQLite driver does the same internally (a thread per connection) behind
//! a much larger dependency (and query macros that want a database at build
//! time). The pool is the few lines below rather than deadpool-sqlite,
//! which pins an older rusqlite.
//!
//! Connections run in WAL mode (readers never wait for the writer),
//! `synchronous=NORMAL`, foreign keys on, and wait up to the statement
//! timeout for the write lock; writes take it at `BEGIN IMMEDIATE`, so two
//! writers never deadlock on an upgrade. At most the pool size's calls run
//! at once.
//!
//! Several processes may open one file at the same moment: the migrations
//! and the seed read what has been done inside the write transaction that
//! does the rest, so exactly one of them applies each.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use futures::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::Semaphore;

use super::{
    Author, AuthorId, Comment, CommentId, CommentOnPost, DataError, DataResult, Database,
    DatabaseOptions, Health, Post, PostId, PostSummary, Store, seed,
};

/// Schema versions, applied in order, each in its own transaction; the
/// database's `user_version` says how many have been applied.
const MIGRATIONS: &[&str] = &[
    // 1: the board
    "CREATE TABLE authors (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         bio TEXT NOT NULL DEFAULT ''
     );
     CREATE TABLE posts (
         id INTEGER PRIMARY KEY,
         author_id INTEGER NOT NULL REFERENCES authors(id),
         title TEXT NOT NULL,
         body TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         comment_count INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX posts_by_author ON posts(author_id, created_at);
     CREATE INDEX posts_by_time ON posts(created_at);
     CREATE TABLE comments (
         id INTEGER PRIMARY KEY,
         post_id INTEGER NOT NULL REFERENCES posts(id),
         author TEXT NOT NULL,
         body TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         likes INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX comments_by_post ON comments(post_id, id);",
];

/// A board in one SQLite file. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    pool_size: usize,
    busy_timeout: Duration,
    call_timeout: Duration,
    health: Health,
}

impl SqliteStore {
    /// Opens (creating the file and its directory if needed), migrates, and
    /// seeds a board that has no posts yet; the default pool and timeouts.
    pub async fn open(path: &Path) -> DataResult<SqliteStore> {
        let options = DatabaseOptions::new(Database::Sqlite(path.to_owned()));
        Self::open_with(path, &options).await
    }

    /// [`open`](Self::open) with `options`' pool size and timeouts.
    pub async fn open_with(path: &Path, options: &DatabaseOptions) -> DataResult<SqliteStore> {
        let store = SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(options.pool_size),
                pool_size: options.pool_size,
                busy_timeout: options.statement_timeout,
                call_timeout: options.call_timeout(),
                health: Health::new(path.display().to_string()),
            }),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DataError::unavailable(format!("{}: {e}", dir.display())))?;
        }
        store.run(|conn| migrate_and_seed(conn, now())).await?;
        Ok(store)
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled connection on the blocking pool.
    fn run<R, F>(&self, f: F) -> BoxFuture<'static, DataResult<R>>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let inner = self.inner.clone();
        async move {
            let call = async {
                let _permit = inner
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| DataError::failed("pool closed"))?;
                let worker = inner.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = worker.checkout()?;
                    let result = f(&mut conn);
                    worker.checkin(conn);
                    result.map_err(|e| error(&worker.path, e))
                })
                .await
                .map_err(|e| DataError::failed(format!("database call failed: {e}")))?
            };
            // The busy timeout bounds the wait for SQLite's lock; this bounds
            // the whole call (the pool's wait included).
            inner.health.watch(inner.call_timeout, call).await
        }
        .boxed()
    }
}

impl Inner {
    fn checkout(&self) -> DataResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.path, self.busy_timeout).map_err(|e| error(&self.path, e)),
        }
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.pool_size {
            idle.push(conn);
        }
    }
}

/// A lock not had in time, or a file that cannot be opened, is the database
/// being unavailable; the rest are failures.
fn error(path: &Path, error: rusqlite::Error) -> DataError {
    use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked};
    let message = format!("{}: {error}", path.display());
    match error.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | CannotOpen) => DataError::unavailable(message),
        _ => DataError::failed(message),
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Applies the migrations not yet applied and seeds a board without posts,
/// in one write transaction: what has been done is read under the write
/// lock, so of several processes opening one new file at once, one does it
/// all and the others find it done.
fn migrate_and_seed(conn: &mut Connection, now: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tracing::info!(version = version + 1, "database migrated");
    }
    let posts: i64 = tx.query_row("SELECT count(*) FROM posts", [], |r| r.get(0))?;
    if posts == 0 {
        insert_board(&tx, &seed::board(now))?;
        tracing::info!("new board seeded");
    }
    tx.commit()
}

fn insert_board(tx: &rusqlite::Transaction<'_>, board: &seed::Board) -> rusqlite::Result<()> {
    let mut authors = Vec::with_capacity(board.authors.len());
    for (name, bio) in board.authors {
        authors.push(tx.query_row(
            "INSERT INTO authors (name, bio) VALUES (?1, ?2) RETURNING id",
            params![name, bio],
            |r| r.get::<_, i64>(0),
        )?);
    }
    for post in &board.posts {
        let id: i64 = tx.query_row(
            "INSERT INTO posts (author_id, title, body, created_at, comment_count)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![
                authors[post.author],
                post.title,
                post.body,
                post.created_at,
                post.comments.len() as i64
            ],
            |r| r.get(0),
        )?;
        for c in &post.comments {
            tx.execute(
                "INSERT INTO comments (post_id, author, body, created_at, likes)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, c.author, c.body, c.created_at, c.likes],
            )?;
        }
    }
    Ok(())
}

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const SUMMARY: &str = "SELECT p.id, p.title, a.name, p.created_at, p.comment_count
                       FROM posts p JOIN authors a ON a.id = p.author_id";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<PostSummary> {
    Ok(PostSummary {
        id: row.get(0)?,
        title: row.get(1)?,
        author: row.get(2)?,
        created_at: row.get(3)?,
        comment_count: row.get(4)?,
    })
}

fn comment(row: &rusqlite::Row<'_>) -> rusqlite::Result<Comment> {
    Ok(Comment {
        id: row.get(0)?,
        post_id: row.get(1)?,
        author: row.get(2)?,
        body: row.get(3)?,
        created_at: row.get(4)?,
        likes: row.get(5)?,
    })
}

fn summaries(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<PostSummary>> {
    let mut statement = conn.prepare_cached(sql)?;
    statement.query_map(params, summary)?.collect()
}

impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.inner.path.display())
    }

    fn health(&self) -> &Health {
        &self.inner.health
    }

    fn recent_posts(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        self.run(move |conn| {
            summaries(
                conn,
                &format!("{SUMMARY} ORDER BY p.created_at DESC, p.id DESC LIMIT ?1"),
                [limit],
            )
        })
    }

    fn popular_this_week(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        let since = now() - 7 * 24 * 3600;
        self.run(move |conn| {
            summaries(
                conn,
                "SELECT p.id, p.title, a.name, p.created_at, p.comment_count
                 FROM posts p JOIN authors a ON a.id = p.author_id
                 LEFT JOIN comments c ON c.post_id = p.id
                 WHERE p.created_at >= ?1
                 GROUP BY p.id
                 ORDER BY p.comment_count + coalesce(sum(c.likes), 0) DESC, p.id DESC
                 LIMIT ?2",
                params![since, limit],
            )
        })
    }

    fn latest_comments(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<CommentOnPost>>> {
        self.run(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT c.id, c.post_id, c.author, c.body, c.created_at, c.likes, p.title
                 FROM comments c JOIN posts p ON p.id = c.post_id
                 ORDER BY c.id DESC LIMIT ?1",
            )?;
            statement
                .query_map([limit], |row| {
                    Ok(CommentOnPost {
                        comment: comment(row)?,
                        post_title: row.get(6)?,
                    })
                })?
                .collect()
        })
    }

    fn post(&self, id: PostId) -> BoxFuture<'static, DataResult<Option<Post>>> {
        self.run(move |conn| {
            conn.prepare_cached(
                "SELECT p.id, p.title, p.body, p.author_id, a.name, p.created_at, p.comment_count
                 FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = ?1",
            )?
            .query_row([id], |row| {
                Ok(Post {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    body: row.get(2)?,
                    author_id: row.get(3)?,
                    author: row.get(4)?,
                    created_at: row.get(5)?,
                    comment_count: row.get(6)?,
                })
            })
            .optional()
        })
    }

    fn comments(&self, post: PostId) -> BoxFuture<'static, DataResult<Vec<Comment>>> {
        self.run(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, post_id, author, body, created_at, likes
                 FROM comments WHERE post_id = ?1 ORDER BY id",
            )?;
            statement.query_map([post], comment)?.collect()
        })
    }

    fn related_posts(
        &self,
        post: PostId,
        limit: u32,
    ) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        self.run(move |conn| {
            let title: Option<String> = conn
                .query_row("SELECT title FROM posts WHERE id = ?1", [post], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(title) = title else {
                return Ok(Vec::new());
            };
            let candidates = summaries(
                conn,
                &format!("{SUMMARY} WHERE p.id != ?1 ORDER BY p.created_at DESC LIMIT 500"),
                [post],
            )?;
            Ok(super::related(&title, candidates, limit))
        })
    }

    fn author(&self, id: AuthorId) -> BoxFuture<'static, DataResult<Option<Author>>> {
        self.run(move |conn| {
            conn.prepare_cached(
                "SELECT a.id, a.name, a.bio, (SELECT count(*) FROM posts WHERE author_id = a.id)
                 FROM authors a WHERE a.id = ?1",
            )?
            .query_row([id], |row| {
                Ok(Author {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    bio: row.get(2)?,
                    post_count: row.get(3)?,
                })
            })
            .optional()
        })
    }

    fn posts_by(
        &self,
        author: AuthorId,
        except: PostId,
        limit: u32,
    ) -> BoxFuture<'static, DataResult<Vec<PostSummary>>> {
        self.run(move |conn| {
            summaries(
                conn,
                &format!(
                    "{SUMMARY} WHERE p.author_id = ?1 AND p.id != ?2
                     ORDER BY p.created_at DESC, p.id DESC LIMIT ?3"
                ),
                params![author, except, limit],
            )
        })
    }

    fn add_comment(
        &self,
        post: PostId,
        author: String,
        body: String,
    ) -> BoxFuture<'static, DataResult<Option<Comment>>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM posts WHERE id = ?1)",
                [post],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(None);
            }
            let created_at = now();
            tx.execute(
                "INSERT INTO comments (post_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![post, author, body, created_at],
            )?;
            let id = tx.last_insert_rowid();
            // The count moves with the comment or not at all: if this
            // fails, dropping `tx` rolls the insert back.
            tx.execute(
                "UPDATE posts SET comment_count = comment_count + 1 WHERE id = ?1",
                [post],
            )?;
            tx.commit()?;
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
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO authors (name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
                [&author],
            )?;
            let author_id: AuthorId =
                tx.query_row("SELECT id FROM authors WHERE name = ?1", [&author], |r| {
                    r.get(0)
                })?;
            tx.execute(
                "INSERT INTO posts (author_id, title, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![author_id, title, body, now()],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
    }

    fn like_comment(&self, id: CommentId) -> BoxFuture<'static, DataResult<Option<(PostId, i64)>>> {
        self.run(move |conn| {
            conn.prepare_cached(
                "UPDATE comments SET likes = likes + 1 WHERE id = ?1 RETURNING post_id, likes",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
        })
    }
}
