//! The board's data, behind a small interface ([`Store`]): the pages ask for
//! posts, comments and authors and never see SQL, so another database can
//! take SQLite's place by implementing the trait.
//!
//! - `sqlite.rs`: the embedded default, rusqlite on tokio's blocking pool
//! - `seed.rs`: the few dozen posts, authors and comments of a new board

mod seed;
mod sqlite;

use std::fmt;

use futures::future::BoxFuture;

pub use sqlite::SqliteStore;

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

/// A database failure, for logs (pages show their boundary's error content
/// or a 500; the message never reaches the client).
#[derive(Debug)]
pub struct DataError(pub String);

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database: {}", self.0)
    }
}

impl std::error::Error for DataError {}

pub type DataResult<T> = Result<T, DataError>;

/// Everything the board's pages read and write. Each call is one round trip
/// to the database and never blocks an async worker thread.
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
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
