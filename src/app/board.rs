//! The demo application: a bulletin board whose pages stream.
//!
//! - `GET /`: recent posts in the shell; "popular this week" and "latest
//!   comments" are boundaries. A form to write a post (`POST /posts`).
//! - `GET /posts/{id}`: the post in the shell (a missing post is a 404 page
//!   before any byte is streamed; a non-numeric id a 400); comments, related
//!   posts and the author card are boundaries, the card holding a nested one
//!   (the author's other posts). A comment form (`POST /posts/{id}/comments`).
//! - `POST /comments/{id}/like`.
//!
//! Every form is a plain HTML form (post/redirect/get, `303`); a request
//! with `X-Enhanced: 1` (sent by `static/board.js` once the part is
//! revealed) gets the new comment's HTML or the new count instead, for an
//! update in place. Validation failures re-render the page with `422`, the
//! input kept and the problem next to the field.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::form::Fields;
use super::{AppState, not_found_page};
use crate::assets::filters;
use crate::data::{Author, Comment, CommentOnPost, DataError, Post, PostSummary, Store};
use crate::http::bad_request;
use axum_suspense::prerender::{PrerenderError, Prerendered};
use axum_suspense::{Boundary, Page, PageBuilder, RenderMode};

const NAME_MAX: usize = 60;
const TITLE_MAX: usize = 120;
const POST_MAX: usize = 4000;
const COMMENT_MAX: usize = 2000;

#[derive(Default, Debug)]
struct FieldErrors {
    author: Option<String>,
    title: Option<String>,
    body: Option<String>,
}

impl FieldErrors {
    /// One line per problem, for an enhanced request.
    fn lines(&self) -> String {
        [&self.author, &self.title, &self.body]
            .into_iter()
            .flatten()
            .map(|e| format!("{e}\n"))
            .collect()
    }
}

/// A form as the user left it.
#[derive(Default, Debug)]
struct FormState {
    author: String,
    title: String,
    body: String,
    errors: FieldErrors,
    open: bool,
}

#[derive(Template)]
#[template(path = "board/board.html")]
struct BoardShell {
    recent: Boundary,
    popular: Boundary,
    latest: Boundary,
    form: FormState,
}

/// The recent posts: a part of the front page (its shell is prerendered).
#[derive(Template)]
#[template(path = "board/recent.html")]
struct Recent {
    posts: Vec<PostSummary>,
}

#[derive(Template)]
#[template(path = "board/post.html")]
struct PostShell {
    post: Post,
    paragraphs: Vec<String>,
    author: Boundary,
    comments: Boundary,
    related: Boundary,
    form: FormState,
    latency: String,
    /// The engine's islands module (`suspense.on`), for the comments island.
    islands: &'static str,
}

#[derive(Template)]
#[template(path = "board/loading.html")]
struct Loading {
    what: &'static str,
}

#[derive(Template)]
#[template(path = "board/post_list.html")]
struct PostList {
    posts: Vec<PostSummary>,
}

#[derive(Template)]
#[template(path = "board/latest.html")]
struct Latest {
    comments: Vec<CommentOnPost>,
}

#[derive(Template)]
#[template(path = "board/comments.html")]
struct Comments {
    comments: Vec<Comment>,
}

#[derive(Template)]
#[template(path = "board/comment.html")]
struct CommentItem {
    c: Comment,
}

#[derive(Template)]
#[template(path = "board/author.html")]
struct AuthorCard {
    a: Author,
    more: Boundary,
}

/// A failure before the first byte: `503` when the database is unavailable
/// (with `Retry-After`), `500` for anything else; an HTML page saying so
/// (plain text for an enhanced request), with the user's form filled in
/// again if they were sending one. The cause is logged, never shown.
pub(crate) struct Failure {
    error: DataError,
    form: Option<Resend>,
    enhanced: bool,
}

/// A form to send again, as the user filled it in.
struct Resend {
    action: String,
    class: &'static str,
    author: String,
    title: Option<String>,
    body_label: &'static str,
    body: String,
}

#[derive(Template)]
#[template(path = "board/unavailable.html")]
struct Unavailable<'a> {
    heading: &'static str,
    message: &'static str,
    form: &'a Option<Resend>,
}

impl From<DataError> for Failure {
    fn from(error: DataError) -> Self {
        Failure {
            error,
            form: None,
            enhanced: false,
        }
    }
}

impl Failure {
    /// Seconds a client should wait before trying again after a `503`.
    const RETRY_AFTER: &str = "5";

    fn resend(mut self, form: Resend, headers: &HeaderMap) -> Self {
        self.form = Some(form);
        self.enhanced = enhanced(headers);
        self
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let unavailable = self.error.is_unavailable();
        let (status, heading, message) = if unavailable {
            tracing::warn!(error = %self.error, "board request failed: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The board is unavailable",
                "The board's database is not answering just now. Try again in a moment.",
            )
        } else {
            tracing::error!(error = %self.error, "board request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The board failed to do that, and the failure has been logged.",
            )
        };
        let mut response = if self.enhanced {
            let saved = if unavailable {
                "Not saved: the board's database is not answering just now. Try again in a moment.\n"
            } else {
                "Not saved: the board failed to do that.\n"
            };
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                saved,
            )
                .into_response()
        } else {
            let page = Unavailable {
                heading,
                message,
                form: &self.form,
            };
            match page.render() {
                Ok(html) => (status, Html(html)).into_response(),
                Err(_) => (status, format!("{message}\n")).into_response(),
            }
        };
        if unavailable {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(Self::RETRY_AFTER),
            );
        }
        response
    }
}

/// A boundary named `name` (in logs and the overlay) whose data comes from
/// `load` after the source's (simulated) latency.
fn slow<T, F>(
    page: &Page,
    name: &'static str,
    what: &'static str,
    latency: Duration,
    load: F,
) -> Boundary
where
    T: Template + Send + 'static,
    F: Future<Output = Result<T, DataError>> + Send + 'static,
{
    page.boundary(Loading { what })
        .name(name)
        .try_suspend(after(latency, load))
}

/// As [`slow`], for a part that also gives data to its island in the
/// browser (`static/board.js`, through `suspense.on(name, …)`).
fn slow_with_data<T, D, F>(
    page: &Page,
    name: &'static str,
    what: &'static str,
    latency: Duration,
    load: F,
) -> Boundary
where
    T: Template + Send + 'static,
    D: serde::Serialize + Send + 'static,
    F: Future<Output = Result<(T, D), DataError>> + Send + 'static,
{
    page.boundary(Loading { what })
        .name(name)
        .try_suspend_with_data(after(latency, load))
}

/// `load`, after the source's (simulated) latency.
async fn after<F: Future>(latency: Duration, load: F) -> F::Output {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    load.await
}

/// The comments island's data: the server's clock and each comment's id
/// and time (Unix seconds), which the page does not show: the island
/// writes "5 minutes ago" beside each and keeps it current.
type CommentTimes = (i64, Vec<[i64; 2]>);

/// `GET /`: prerendered (its shell rendered once, `AppState::shells`) when
/// the request asks for no mode and no overlay; its parts are the recent
/// posts and the two side panels.
pub(crate) async fn board(
    page: Page,
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Failure> {
    if prerenderable(query.as_deref().unwrap_or(""))
        && page.mode() == RenderMode::Stream
        && !page.debug()
    {
        let prerendered = app.shells.board(|| prerender(&app));
        let shell = board_shell(&page, &app, FormState::default());
        // A shell that is not the prerendered one: streamed whole.
        return Ok(page.stream_prerendered(prerendered, shell));
    }
    render_board(page, &app, FormState::default(), StatusCode::OK).await
}

/// `GET /_parts/{shell}/board`: the parts alone of `/`, for the static
/// tier that sends the prerendered shell whose fingerprint is `{shell}`
/// (nginx includes these). Exposes nothing `/` does not: the same data, for
/// anyone. A shell that is not this release's gets `409`: nginx sends its
/// stub.
pub(crate) async fn board_parts(
    Path(requested): Path<String>,
    page: PageBuilder,
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let prerendered = app.shells.board(|| prerender(&app));
    if !crate::prerendered::holds(&requested, prerendered) {
        return crate::prerendered::shell_conflict();
    }
    let query = query.unwrap_or_default();
    let uri = if query.is_empty() {
        axum::http::Uri::from_static("/")
    } else {
        match format!("/?{query}").parse() {
            Ok(uri) => uri,
            Err(_) => return bad_request("not a query"),
        }
    };
    // In stream mode with no overlay, whatever the query asks: the file's
    // shell is one.
    let page = page.mode(RenderMode::Stream).debug(false).build();
    let shell = board_shell(&page, &app, FormState::default());
    crate::prerendered::parts_response("/", page.stream_parts(prerendered, &uri, shell))
}

/// Whether a request for `/` with `query` is the prerendered page: it asks
/// for no render mode and no overlay. `deploy/nginx.conf` decides the same.
fn prerenderable(query: &str) -> bool {
    !form_urlencoded::parse(query.as_bytes()).any(|(name, _)| matches!(&*name, "render" | "debug"))
}

/// The board's shell rendered once for every request (its boundaries'
/// futures never run).
pub(crate) fn prerender(app: &AppState) -> Result<Prerendered, PrerenderError> {
    let page = app.engine.page();
    let shell = board_shell(&page, app, FormState::default());
    page.prerender(shell)
}

/// The front page's shell: its boundaries made in the same order for the
/// prerender and for every request. Nothing in it comes from the data (the
/// recent posts are a part, so a database that is down shows in the parts,
/// not as a 503) or from the request but `form` (a refused post, given back).
fn board_shell(page: &Page, app: &AppState, form: FormState) -> BoardShell {
    let store = &app.store;
    let recent = {
        let list = store.recent_posts(20);
        slow(
            page,
            "recent",
            "Loading the recent posts…",
            Duration::ZERO,
            async { Ok(Recent { posts: list.await? }) },
        )
    };
    let popular = {
        let list = store.popular_this_week(5);
        slow(
            page,
            "popular",
            "Adding up this week's comments and likes…",
            app.latency.popular,
            async { Ok(PostList { posts: list.await? }) },
        )
    };
    let latest = {
        let list = store.latest_comments(6);
        slow(
            page,
            "latest-comments",
            "Loading the latest comments…",
            app.latency.latest,
            async {
                Ok(Latest {
                    comments: list.await?,
                })
            },
        )
    };
    BoardShell {
        recent,
        popular,
        latest,
        form,
    }
}

async fn render_board(
    page: Page,
    app: &AppState,
    form: FormState,
    status: StatusCode,
) -> Result<Response, Failure> {
    let shell = board_shell(&page, app, form);
    Ok((status, page.stream(shell)).into_response())
}

/// `{id}` as a post or comment id, or why not (a 400).
fn parse_id(raw: &str, what: &str) -> Result<i64, String> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(format!(
            "{what} id must be a positive whole number, not {raw:?}"
        )),
    }
}

pub(crate) async fn post(
    page: Page,
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let id = match parse_id(&raw, "post") {
        Ok(id) => id,
        Err(reason) => return Ok(bad_request(reason)),
    };
    render_post(page, &app, id, FormState::default(), StatusCode::OK).await
}

async fn render_post(
    page: Page,
    app: &AppState,
    id: i64,
    form: FormState,
    status: StatusCode,
) -> Result<Response, Failure> {
    let store: &Arc<dyn Store> = &app.store;
    // Decided before any byte: a missing post is a real 404.
    let Some(post) = store.post(id).await? else {
        return Ok(not_found_page(&format!("/posts/{id}")));
    };
    let latency = app.latency;
    let comments = {
        let list = store.comments(id);
        slow_with_data(
            &page,
            "comments",
            "Loading comments…",
            latency.comments,
            async {
                let comments = list.await?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let times: CommentTimes =
                    (now, comments.iter().map(|c| [c.id, c.created_at]).collect());
                Ok((Comments { comments }, times))
            },
        )
    };
    let related = {
        let list = store.related_posts(id, 5);
        slow(
            &page,
            "related",
            "Finding related posts…",
            latency.related,
            async { Ok(PostList { posts: list.await? }) },
        )
    };
    let author = {
        let (store, inner, author_id) = (store.clone(), page.clone(), post.author_id);
        slow(
            &page,
            "author",
            "Loading the author…",
            latency.author,
            async move {
                let a = store.author(author_id).await?.ok_or_else(|| {
                    DataError::failed(format!("author {author_id} of post {id} is missing"))
                })?;
                // Nested: the author's other posts, slower still.
                let list = store.posts_by(author_id, id, 5);
                let more = slow(
                    &inner,
                    "author-posts",
                    "Loading more posts by this author…",
                    latency.author_posts,
                    async { Ok(PostList { posts: list.await? }) },
                );
                Ok(AuthorCard { a, more })
            },
        )
    };
    let paragraphs = post
        .body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    Ok((
        status,
        page.stream(PostShell {
            post,
            paragraphs,
            author,
            comments,
            related,
            form,
            latency: latency.to_string(),
            islands: axum_suspense::client::islands_path(),
        }),
    )
        .into_response())
}

fn enhanced(headers: &HeaderMap) -> bool {
    headers.get("x-enhanced").is_some_and(|v| v == "1")
}

fn see_other(location: String) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn unprocessable(lines: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        lines,
    )
        .into_response()
}

pub(crate) async fn add_comment(
    page: Page,
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let id = match parse_id(&raw, "post") {
        Ok(id) => id,
        Err(reason) => return Ok(bad_request(reason)),
    };
    let fields = Fields::parse(&body);
    let author = fields.text("author", "Your name", NAME_MAX);
    let text = fields.text("body", "The comment", COMMENT_MAX);
    let (author, text) = match (author, text) {
        (Ok(author), Ok(text)) => (author, text),
        (author, text) => {
            let errors = FieldErrors {
                author: author.err(),
                body: text.err(),
                title: None,
            };
            if enhanced(&headers) {
                return Ok(unprocessable(errors.lines()));
            }
            let form = FormState {
                author: fields.raw("author").to_owned(),
                body: fields.raw("body").to_owned(),
                errors,
                ..FormState::default()
            };
            return render_post(page, &app, id, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let resend = Resend {
        action: format!("/posts/{id}/comments"),
        class: "comment-form",
        author: author.clone(),
        title: None,
        body_label: "Comment",
        body: text.clone(),
    };
    let added = app.store.add_comment(id, author, text).await;
    let Some(comment) = added.map_err(|e| Failure::from(e).resend(resend, &headers))? else {
        return Ok(not_found_page(&format!("/posts/{id}")));
    };
    if enhanced(&headers) {
        let id = comment.id;
        let html = CommentItem { c: comment }
            .render()
            .map_err(|e| Failure::from(DataError::failed(e.to_string())))?;
        let mut response = (StatusCode::CREATED, Html(html)).into_response();
        if let Ok(value) = HeaderValue::from_str(&format!("/posts/{}#c{id}", raw)) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return Ok(response);
    }
    Ok(see_other(format!("/posts/{id}#c{}", comment.id)))
}

pub(crate) async fn add_post(
    page: Page,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let fields = Fields::parse(&body);
    let author = fields.text("author", "Your name", NAME_MAX);
    let title = fields.text("title", "The title", TITLE_MAX);
    let text = fields.text("body", "The text", POST_MAX);
    let (author, title, text) = match (author, title, text) {
        (Ok(a), Ok(t), Ok(b)) => (a, t, b),
        (author, title, text) => {
            let errors = FieldErrors {
                author: author.err(),
                title: title.err(),
                body: text.err(),
            };
            if enhanced(&headers) {
                return Ok(unprocessable(errors.lines()));
            }
            let form = FormState {
                author: fields.raw("author").to_owned(),
                title: fields.raw("title").to_owned(),
                body: fields.raw("body").to_owned(),
                errors,
                open: true,
            };
            return render_board(page, &app, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let resend = Resend {
        action: "/posts".into(),
        class: "post-form",
        author: author.clone(),
        title: Some(title.clone()),
        body_label: "Text",
        body: text.clone(),
    };
    let added = app.store.add_post(author, title, text).await;
    let id = added.map_err(|e| Failure::from(e).resend(resend, &headers))?;
    Ok(see_other(format!("/posts/{id}")))
}

pub(crate) async fn like(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let id = match parse_id(&raw, "comment") {
        Ok(id) => id,
        Err(reason) => return Ok(bad_request(reason)),
    };
    let Some((post, likes)) = app.store.like_comment(id).await? else {
        return Ok(not_found_page(&format!("/comments/{id}")));
    };
    if enhanced(&headers) {
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            likes.to_string(),
        )
            .into_response());
    }
    Ok(see_other(format!("/posts/{post}#c{id}")))
}
