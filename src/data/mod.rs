//! The board's data, behind a small interface ([`Store`]): the pages ask for
//! posts, comments and authors and never see SQL. Two stores implement it
//! with the same semantics (a comment and its post's count in one
//! transaction, ids from the database, migrations that run once however
//! many instances start together):
//!
//! - `sqlite.rs`: the embedded default, rusqlite on tokio's blocking pool;
//! - `postgres.rs`: PostgreSQL, for several instances on one database;
//! - `database.rs`: which one a `--database` value names, and the pool's
//!   settings;
//! - `health.rs`: what the stores tell the operator (metrics, the log);
//! - `seed.rs`: the few dozen posts, authors and comments of a new board.

mod database;
mod health;
mod postgres;
mod seed;
mod sqlite;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

pub use database::{Database, DatabaseOptions};
pub use health::Health;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Opens the store `options` name: migrated, and seeded if new.
pub async fn open(options: &DatabaseOptions) -> DataResult<Arc<dyn Store>> {
    Ok(match &options.database {
        Database::Sqlite(path) => Arc::new(SqliteStore::open_with(path, options).await?),
        Database::Postgres(url) => Arc::new(PostgresStore::open(url, options).await?),
    })
}

pub type PostId = i64;
pub type CommentId = i64;
pub type AuthorId = i64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSummary {
    pub id: PostId,
    pub title: String,
    pub author: String,
    pub created_at: i64,
    pub comment_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub id: PostId,
    pub title: String,
    pub body: String,
    pub author_id: AuthorId,
    pub author: String,
    pub created_at: i64,
    pub comment_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub post_id: PostId,
    pub author: String,
    pub body: String,
    pub created_at: i64,
    pub likes: i64,
}

/// A comment with the title of its post, for "latest comments".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentOnPost {
    pub comment: Comment,
    pub post_title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub id: AuthorId,
    pub name: String,
    pub bio: String,
    pub post_count: i64,
}

/// A database failure, for logs (pages show their boundary's error content,
/// or a 503 or 500 page; the message never reaches the client).
#[derive(Debug)]
pub struct DataError {
    unavailable: bool,
    message: String,
}

impl DataError {
    /// The database could not be reached in time (down, refusing, out of
    /// connections, too slow): a `503`, worth trying again.
    pub fn unavailable(message: impl Into<String>) -> Self {
        DataError {
            unavailable: true,
            message: message.into(),
        }
    }

    /// The database answered with an error, or the data is not what the
    /// code expects: a bug, a `500`.
    pub fn failed(message: impl Into<String>) -> Self {
        DataError {
            unavailable: false,
            message: message.into(),
        }
    }

    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.unavailable {
            "unavailable"
        } else {
            "failed"
        };
        write!(f, "database {kind}: {}", self.message)
    }
}

impl std::error::Error for DataError {}

pub type DataResult<T> = Result<T, DataError>;

/// Lowercase words of four letters or more.
fn words(title: &str) -> Vec<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .collect()
}

/// The `limit` candidates sharing the most words with `title`, newest first
/// among equals (the same ranking on every store).
fn related(title: &str, candidates: Vec<PostSummary>, limit: u32) -> Vec<PostSummary> {
    let wanted = words(title);
    let mut scored: Vec<(usize, PostSummary)> = candidates
        .into_iter()
        .map(|p| {
            let shared = words(&p.title)
                .iter()
                .filter(|w| wanted.contains(w))
                .count();
            (shared, p)
        })
        .filter(|(shared, _)| *shared > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.created_at.cmp(&a.1.created_at)));
    scored
        .into_iter()
        .take(limit as usize)
        .map(|(_, p)| p)
        .collect()
}

/// Everything the board's pages read and write. Each call is one round trip
/// to the database and never blocks an async worker thread.
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
    /// Which database this is (a path, or a URL without its password), for
    /// the log.
    fn describe(&self) -> String;
    /// Its failures and availability, for `/metrics`.
    fn health(&self) -> &Health;
    /// The newest posts.
    fn recent_posts(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<PostSummary>>>;
    /// Posts of the last seven days with the most comments and likes.
    fn popular_this_week(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<PostSummary>>>;
    /// The newest comments anywhere, with their posts' titles.
    fn latest_comments(&self, limit: u32) -> BoxFuture<'static, DataResult<Vec<CommentOnPost>>>;
    fn post(&self, id: PostId) -> BoxFuture<'static, DataResult<Option<Post>>>;
    /// A post's comments, oldest first.
    fn comments(&self, post: PostId) -> BoxFuture<'static, DataResult<Vec<Comment>>>;
    /// Other posts that share words with this one's title.
    fn related_posts(
        &self,
        post: PostId,
        limit: u32,
    ) -> BoxFuture<'static, DataResult<Vec<PostSummary>>>;
    fn author(&self, id: AuthorId) -> BoxFuture<'static, DataResult<Option<Author>>>;
    /// An author's newest posts, but `except`.
    fn posts_by(
        &self,
        author: AuthorId,
        except: PostId,
        limit: u32,
    ) -> BoxFuture<'static, DataResult<Vec<PostSummary>>>;
    /// Stores a comment and counts it on its post, in one transaction.
    /// `None` if the post does not exist.
    fn add_comment(
        &self,
        post: PostId,
        author: String,
        body: String,
    ) -> BoxFuture<'static, DataResult<Option<Comment>>>;
    /// Creates a post (and its author, if new).
    fn add_post(
        &self,
        author: String,
        title: String,
        body: String,
    ) -> BoxFuture<'static, DataResult<PostId>>;
    /// Adds a like; the comment's post and its new count, `None` if there
    /// is no such comment.
    fn like_comment(&self, id: CommentId) -> BoxFuture<'static, DataResult<Option<(PostId, i64)>>>;
}
