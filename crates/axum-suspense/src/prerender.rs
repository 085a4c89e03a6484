//! Partial prerendering: a page's shell rendered once, without a request,
//! and its parts streamed per request, joined into one response by a static
//! tier (nginx's SSI) or in process.
//!
//! A page whose shell needs nothing of the request (no data, no nonce, no
//! status but `200`, nothing personal) is rendered once with
//! [`Page::prerender`]: the same template and the same boundaries as the
//! streamed page, whose futures are dropped unpolled. Boundary ids are
//! counters in creation order, so a handler that makes its boundaries in the
//! same order makes the same ids for every request. What comes out,
//! [`Prerendered`], is the shell up to its last `</body>` (the *head*: every
//! range, every fallback, and a link to the runtime with no nonce, which a
//! `script-src 'self'` policy lets run) and the rest (the *tail*).
//!
//! Per request, [`Page::stream_parts`] renders the shell again (to place the
//! boundaries and start their futures), checks that it is the prerendered
//! one byte for byte, and answers with the parts alone: a
//! line break (so the first chunk, sent with the headers, is never empty),
//! the `<template for>` fragments of `wire.rs`, in completion order, the runtime
//! never inline (the shell links it), and for a browser that does not patch
//! natively the `<noscript>` refresh to the in-order page first. Joined:
//!
//! ```text
//! head:   <!doctype html>…<?start name="b0">FALLBACK<?end>…<script src="/_suspense/runtime.HASH.js" async></script>
//! parts:  \n<template for="b1">…</template><?s b1 3.2><template for="b0">…</template><?s b0 41.0>
//! tail:   </body></html>
//! ```
//!
//! which is the streamed page's own wire, with the runtime linked for every
//! browser. Two ways to join, the same bytes:
//!
//! - [`Prerendered::ssi_document`]: the file a static server sends, the
//!   parts pulled in with an SSI include (nginx's `ssi on`), and a stub block
//!   sent in their place when the application cannot be reached: every
//!   range's "unavailable" content, as a failed part, so the page still
//!   ends whole;
//! - [`Prerendered::join`]: in process, the head at once from memory, then
//!   the parts' body, then the tail ([`Page::stream_prerendered`] does it
//!   all, and streams the page whole when its shell changed).
//!
//! The file may outlive the release that wrote it (a rolling deploy, an
//! export forgotten): put [`Prerendered::fingerprint`] in its include, and
//! have the parts endpoint refuse another (the static tier then sends its
//! stub), so parts never land in another release's ranges.
//!
//! What cannot be prerendered is refused ([`PrerenderError`]): another mode
//! than stream, the debug overlay (an inline script), a shell that carries
//! the page's CSP nonce, and text an SSI server would take for a command
//! (`<!--#`). The status is the static tier's `200`; a page that must answer
//! otherwise from its data is not one to prerender.

use std::fmt;
use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::http::Uri;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream;

use crate::body::PageBody;
use crate::mode::RenderMode;
use crate::page::Page;
use crate::resolve::{Rendered, render_placing};
use crate::shared::PageShared;
use crate::stats::Outcome;
use crate::{csp, response, wire};

/// A page's shell rendered once, without a request (see
/// [`Page::prerender`]): the bytes before its parts and after them, and what
/// a request's render must match for its parts to fit. Cheap to clone.
///
/// ```
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine, Page, Text};
///
/// #[derive(Template)]
/// #[template(source = "<html><body><h1>News</h1>{{ news }}</body></html>", ext = "html")]
/// struct Shell { news: Boundary }
///
/// /// The same boundaries, in the same order, for the prerender and for
/// /// every request.
/// fn shell(page: &Page) -> Shell {
///     Shell { news: page.suspend(Text::new("Loading…"), async { Text::new("Nothing new.") }) }
/// }
///
/// let page = Engine::new().page();
/// let prerendered = page.clone().prerender(shell(&page)).unwrap();
/// let runtime = axum_suspense::client::runtime_path();
/// assert_eq!(
///     prerendered.head(),
///     format!("<html><body><h1>News</h1><?start name=\"b0\">Loading…<?end>\
///              <script src=\"{runtime}\" async></script>")
/// );
/// assert_eq!(prerendered.tail(), "</body></html>");
/// ```
#[derive(Clone, Debug)]
pub struct Prerendered {
    /// The shell up to its last `</body>`, with the runtime's link.
    head: Bytes,
    /// `</body></html>` (or whatever followed the last `</body>`).
    tail: Bytes,
    /// The shell as rendered, before anything was added: a request's render
    /// equal to it placed the same ranges. (Compared whole: a `memcmp` of
    /// the bytes costs a request less than hashing them again.)
    shell: Box<str>,
    /// FNV-1a of `shell`, for a static tier's include to name it.
    fingerprint: u64,
    /// The ids of the ranges in the shell, in document order.
    boundaries: Vec<u32>,
}

/// Why a page cannot be prerendered, or why a request's parts do not fit
/// the prerendered shell.
///
/// ```
/// use axum_suspense::{Engine, RenderMode, prerender::PrerenderError};
///
/// #[derive(askama::Template)]
/// #[template(source = "<body>hi</body>", ext = "html")]
/// struct Shell;
///
/// let page = Engine::new().page_builder().mode(RenderMode::InOrder).build();
/// assert!(matches!(page.prerender(Shell), Err(PrerenderError::NotStreamed(RenderMode::InOrder))));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PrerenderError {
    /// The page is not in [`RenderMode::Stream`]: only a streamed page has
    /// parts to send after a shell.
    NotStreamed(RenderMode),
    /// The page has the debug overlay on: an inline script, which needs the
    /// page's nonce.
    Debug,
    /// The shell carries the page's CSP nonce: a per-request secret, which a
    /// file rendered once cannot hold. Link scripts (`script-src 'self'`).
    Nonce,
    /// The shell holds `<!--#`, which an SSI server would run as a command.
    SsiCommand,
    /// The shell failed to render (logged with its cause).
    Render(String),
    /// This request's shell is not the prerendered one (it depends on the
    /// request, or the prerendered one is from another release): its parts
    /// would not fit. A parts endpoint answers an error (the static tier
    /// then sends its stub); in process,
    /// [`Page::stream_prerendered`] streams the page whole instead.
    ShellChanged,
}

impl fmt::Display for PrerenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrerenderError::NotStreamed(mode) => {
                write!(f, "only a streamed page can be prerendered (this one is {mode})")
            }
            PrerenderError::Debug => {
                f.write_str("the debug overlay is an inline script: not in a prerendered shell")
            }
            PrerenderError::Nonce => f.write_str(
                "the shell carries the page's CSP nonce, a per-request secret: not in a prerendered shell",
            ),
            PrerenderError::SsiCommand => {
                f.write_str("the shell holds `<!--#`, which an SSI server would run")
            }
            PrerenderError::Render(why) => write!(f, "the shell failed to render: {why}"),
            PrerenderError::ShellChanged => {
                f.write_str("this request's shell is not the prerendered one")
            }
        }
    }
}

impl std::error::Error for PrerenderError {}

impl Page {
    /// Renders the page's shell once, for every request to come: the
    /// boundaries' futures are dropped without being polled, and the
    /// result holds the shell with every fallback and a link to the runtime
    /// ([`runtime_path`](crate::client::runtime_path), with no nonce: serve
    /// [`runtime_router`](crate::client::runtime_router) and allow
    /// `script-src 'self'`). Refused for a page that is not in stream mode,
    /// has the debug overlay, or whose shell carries the page's nonce.
    ///
    /// Make the boundaries in the same order as for a request (one function
    /// that builds the shell for both), so their ids are the same; each
    /// request then answers [`stream_parts`](Self::stream_parts).
    ///
    /// ```
    /// use askama::Template;
    /// use axum_suspense::{Boundary, Engine, Text, prerender::PrerenderError};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<html><body><script nonce=\"{{ nonce }}\">go()</script>{{ part }}</body></html>", ext = "html")]
    /// struct Personal { nonce: String, part: Boundary }
    ///
    /// let page = Engine::new().page();
    /// let part = page.suspend(Text::new("…"), async { Text::new("!") });
    /// let shell = Personal { nonce: page.csp_nonce(), part };
    /// assert!(matches!(page.prerender(shell), Err(PrerenderError::Nonce)));
    /// ```
    pub fn prerender<S: Template>(self, shell: S) -> Result<Prerendered, PrerenderError> {
        let shared = self.shared;
        let rendered = render_shell(&shared, shell);
        // No body will run these boundaries: their futures go now.
        shared.close();
        let rendered = rendered?;
        let nonce = csp::nonce(&shared.secret);
        if rendered.html.contains(&nonce) {
            return Err(PrerenderError::Nonce);
        }
        if rendered.html.contains("<!--#") {
            return Err(PrerenderError::SsiCommand);
        }
        let shell: Box<str> = rendered.html.as_str().into();
        let fingerprint = fingerprint(&shell);
        let (mut head, tail) = wire::split_shell(rendered.html);
        if !rendered.placed.is_empty() {
            // Every browser gets it linked: one shell for all of them.
            head.push_str("<script src=\"");
            head.push_str(wire::runtime_path());
            head.push_str("\" async></script>");
        }
        Ok(Prerendered {
            head: Bytes::from(head),
            tail: Bytes::from(tail),
            shell,
            fingerprint,
            boundaries: rendered.placed,
        })
    }

    /// Answers a request for a prerendered page with its parts alone: the
    /// shell is rendered (placing the boundaries, whose futures then run as
    /// for [`stream`](Self::stream)) and checked against `prerendered`, and
    /// the body is each part's fragment in completion order, the runtime
    /// never inline (the shell links it); for a browser that does not patch
    /// natively, first a `<noscript>` refresh to `page_uri` (the page's own
    /// path and query, not the parts endpoint's) in the in-order mode. What
    /// a static tier includes after the head, or [`Prerendered::join`] puts
    /// between head and tail. For a page that joins in process, see
    /// [`stream_prerendered`](Self::stream_prerendered).
    ///
    /// The response has the page's headers and the engine's
    /// Content-Security-Policy with no nonce (each nonce source is `'self'`:
    /// the joined page's scripts are linked), which [`Prerendered::join`]
    /// keeps. Errors, with nothing sent: the page is not in stream mode, has
    /// the debug overlay, its shell fails to render, or it is not the
    /// prerendered one ([`PrerenderError::ShellChanged`]: it depends on the
    /// request; a parts endpoint answers an error, `409`, so the static
    /// tier sends its stub).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use askama::Template;
    /// use axum::http::Uri;
    /// use axum_suspense::{Boundary, Engine, Page, Text};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<html><body>{{ news }}</body></html>", ext = "html")]
    /// struct Shell { news: Boundary }
    /// fn shell(page: &Page) -> Shell {
    ///     Shell { news: page.suspend(Text::new("Loading…"), async { Text::new("Nothing new.") }) }
    /// }
    ///
    /// let engine = Engine::new();
    /// let once = engine.page();
    /// let prerendered = once.clone().prerender(shell(&once)).unwrap();
    ///
    /// let page = engine.page();
    /// let parts = page.clone().stream_parts(&prerendered, &Uri::from_static("/news"), shell(&page)).unwrap();
    /// assert_eq!(parts.headers()["content-security-policy"], "script-src 'self'; object-src 'none'; base-uri 'none'");
    /// let body = axum::body::to_bytes(parts.into_body(), usize::MAX).await.unwrap();
    /// let body = std::str::from_utf8(&body).unwrap();
    /// // Not known to patch natively: sent to the page in order without JavaScript.
    /// assert!(body.starts_with("\n<noscript><meta http-equiv=\"refresh\" content=\"0; url=/news?render=in-order\"></noscript>"), "{body}");
    /// assert!(body.contains("<template for=\"b0\">Nothing new.</template><?s b0 "), "{body}");
    /// # });
    /// ```
    pub fn stream_parts<S: Template>(
        self,
        prerendered: &Prerendered,
        page_uri: &Uri,
        shell: S,
    ) -> Result<Response, PrerenderError> {
        let shared = self.shared;
        let rendered = match render_shell(&shared, shell) {
            Ok(rendered) => rendered,
            Err(error) => {
                shared.close();
                return Err(error);
            }
        };
        if *rendered.html != *prerendered.shell {
            shared.close();
            return Err(PrerenderError::ShellChanged);
        }
        Ok(parts_response(shared, rendered, Some(page_uri)))
    }

    /// Answers a request for a prerendered page in process: the head from
    /// `prerendered`'s memory at once, then the parts, then the tail
    /// ([`stream_parts`](Self::stream_parts) and [`Prerendered::join`]), with
    /// the no-script refresh to the page's own
    /// [`request_uri`](crate::PageBuilder::request_uri). When the page is not
    /// one to prerender (another mode, the overlay) it is
    /// [streamed](Self::stream) as asked; when its shell is not the
    /// prerendered one (it depends on the request), it is streamed whole
    /// from the render just done, with its nonce and policy: never parts in
    /// the wrong places.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use askama::Template;
    /// use axum_suspense::{Boundary, Engine, Page, Text};
    ///
    /// #[derive(Template)]
    /// #[template(source = "<html><body><h1>{{ title }}</h1>{{ news }}</body></html>", ext = "html")]
    /// struct Shell { title: &'static str, news: Boundary }
    /// fn shell(page: &Page, title: &'static str) -> Shell {
    ///     Shell { title, news: page.suspend(Text::new("Loading…"), async { Text::new("Nothing new.") }) }
    /// }
    ///
    /// let engine = Engine::new();
    /// let once = engine.page();
    /// let prerendered = once.clone().prerender(shell(&once, "News")).unwrap();
    ///
    /// let page = engine.page();
    /// let joined = page.clone().stream_prerendered(&prerendered, shell(&page, "News"));
    /// let body = axum::body::to_bytes(joined.into_body(), usize::MAX).await.unwrap();
    /// assert!(body.starts_with(prerendered.head().as_bytes()));
    ///
    /// // Another title: not the prerendered shell, so the page whole.
    /// let page = engine.page();
    /// let whole = page.clone().stream_prerendered(&prerendered, shell(&page, "Olds"));
    /// let body = axum::body::to_bytes(whole.into_body(), usize::MAX).await.unwrap();
    /// let body = std::str::from_utf8(&body).unwrap();
    /// assert!(body.starts_with("<html><body><h1>Olds</h1>"), "{body}");
    /// assert!(body.contains("<template for=\"b0\">Nothing new.</template>"), "{body}");
    /// # });
    /// ```
    pub fn stream_prerendered<S: Template>(self, prerendered: &Prerendered, shell: S) -> Response {
        if self.shared.mode != RenderMode::Stream || self.shared.debug {
            return self.stream(shell);
        }
        let shared = self.shared;
        let rendered = match render_shell(&shared, shell) {
            Ok(rendered) => rendered,
            Err(_) => {
                // Logged with its cause.
                shared.close();
                return response::shell_error();
            }
        };
        if *rendered.html != *prerendered.shell {
            tracing::warn!(
                "this request's shell is not the prerendered one: the page is streamed whole"
            );
            return response::rendered_response(shared, rendered);
        }
        prerendered.join(parts_response(shared, rendered, None))
    }
}

/// The parts of a shell that is the prerendered one, with the refresh to
/// `page_uri` (else the page's request URI) for a browser that does not
/// patch natively.
fn parts_response(shared: Arc<PageShared>, rendered: Rendered, page_uri: Option<&Uri>) -> Response {
    // Never an empty first chunk: it goes out with the headers, so a
    // proxy that joins (nginx's SSI) reads body with them. (nginx takes
    // an include whose first output is empty, a bare flush, for one
    // that sent nothing, and adds its stub after the parts.) A line
    // break between the shell and the parts is nothing on the page.
    let mut head = String::from("\n");
    if !rendered.placed.is_empty() {
        let taken;
        let uri = match page_uri {
            Some(uri) => Some(uri),
            None => {
                taken = shared.take_request_uri();
                taken.as_ref()
            }
        };
        response::push_no_script_refresh(&shared, uri, &mut head);
    }
    let settings = shared.engine.settings();
    let mode = shared.mode;
    let render_mode_header = settings.render_mode_header;
    // The joined page has no nonce: its policy is the engine's with each
    // nonce source `'self'` (the runtime is linked from the page's origin).
    let policy = settings
        .content_security_policy
        .as_ref()
        .and_then(csp::Policy::without_nonce);
    let nonce = csp::nonce(&shared.secret);
    let body = PageBody::streaming(shared, head, String::new(), rendered.placed, nonce, true);
    let mut response = Response::new(Body::from_stream(body));
    response.extensions_mut().insert(mode);
    response::page_headers(
        response.headers_mut(),
        policy,
        render_mode_header.then_some(mode),
    );
    response
}

/// Renders a shell for prerendering or for its parts, with what both refuse.
fn render_shell<S: Template>(shared: &PageShared, shell: S) -> Result<Rendered, PrerenderError> {
    if shared.mode != RenderMode::Stream {
        drop(shell);
        return Err(PrerenderError::NotStreamed(shared.mode));
    }
    if shared.debug {
        drop(shell);
        return Err(PrerenderError::Debug);
    }
    match render_placing(shared.render_for(), shell) {
        Ok(rendered) => {
            for id in &rendered.cancelled {
                shared.orphan(*id);
            }
            Ok(rendered)
        }
        Err(failed) => {
            tracing::error!(failure = %failed.failure, "prerendered shell failed to render");
            Err(PrerenderError::Render(failed.failure.to_string()))
        }
    }
}

/// FNV-1a, 64 bits: tells two renders of a shell apart (not a defence: the
/// shell is the application's own).
fn fingerprint(html: &str) -> u64 {
    html.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The SSI block's name in [`Prerendered::ssi_document`].
const STUB_BLOCK: &str = "suspense_parts_unavailable";

impl Prerendered {
    /// The shell up to its last `</body>`, with the runtime's link: what is
    /// sent at once.
    ///
    /// ```
    /// # use askama::Template;
    /// #[derive(Template)]
    /// #[template(source = "<body>static</body>", ext = "html")]
    /// struct Shell;
    /// let prerendered = axum_suspense::Engine::new().page().prerender(Shell).unwrap();
    /// assert_eq!(prerendered.head(), "<body>static"); // nothing pending: no runtime
    /// ```
    pub fn head(&self) -> &str {
        // Made from a String.
        std::str::from_utf8(&self.head).unwrap_or_default()
    }

    /// What follows the parts: the shell from its last `</body>` on.
    ///
    /// ```
    /// # use askama::Template;
    /// #[derive(Template)]
    /// #[template(source = "<body>static</body></html>", ext = "html")]
    /// struct Shell;
    /// let prerendered = axum_suspense::Engine::new().page().prerender(Shell).unwrap();
    /// assert_eq!(prerendered.tail(), "</body></html>");
    /// ```
    pub fn tail(&self) -> &str {
        std::str::from_utf8(&self.tail).unwrap_or_default()
    }

    /// The ids of the shell's ranges, in document order (`b0` is 0).
    ///
    /// ```
    /// # use askama::Template;
    /// # use axum_suspense::{Boundary, Engine, Text};
    /// #[derive(Template)]
    /// #[template(source = "<body>{{ a }}{{ b }}</body>", ext = "html")]
    /// struct Shell { a: Boundary, b: Boundary }
    /// let page = Engine::new().page();
    /// let (a, b) = (page.suspend(Text::new("a"), async { Text::new("A") }),
    ///               page.suspend(Text::new("b"), async { Text::new("B") }));
    /// assert_eq!(page.prerender(Shell { a, b }).unwrap().boundaries(), [0, 1]);
    /// ```
    pub fn boundaries(&self) -> &[u32] {
        &self.boundaries
    }

    /// What tells this shell from another: a hash (FNV-1a, 64 bits) of the
    /// shell as rendered, which [`Page::stream_parts`] compares with each
    /// request's render. Put it in the include of
    /// [`ssi_document`](Self::ssi_document) (e.g. `/_parts/{fingerprint:016x}/page?$args`)
    /// and have the parts endpoint refuse another, so a file exported by
    /// another release (boundaries reordered, added) gets the stub, never
    /// parts in the wrong places.
    ///
    /// ```
    /// # use askama::Template;
    /// #[derive(Template)]
    /// #[template(source = "<body>{{ title }}</body>", ext = "html")]
    /// struct Shell { title: &'static str }
    /// let engine = axum_suspense::Engine::new();
    /// let one = engine.page().prerender(Shell { title: "One" }).unwrap();
    /// let again = engine.page().prerender(Shell { title: "One" }).unwrap();
    /// let two = engine.page().prerender(Shell { title: "Two" }).unwrap();
    /// assert_eq!(one.fingerprint(), again.fingerprint());
    /// assert_ne!(one.fingerprint(), two.fingerprint());
    /// ```
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The file a static server with SSI sends (nginx: `ssi on`): the head,
    /// then the parts pulled in from `include` (a path of the same server,
    /// e.g. `/_parts/page?$args`, which answers with
    /// [`Page::stream_parts`]), then the tail. If the include fails (the
    /// application is down, or answers an error), the server sends a stub
    /// block instead: `unavailable` in every range, as a part that failed
    /// (`o=error`), so the page ends whole and says which parts are
    /// missing. Joined by the server, the bytes are those of
    /// [`join`](Self::join). Put the [`fingerprint`](Self::fingerprint) in
    /// `include`, for the parts endpoint to check. Refused (an error): an
    /// `include` that holds `"`, `-->` or `<!--#`, and an `unavailable`
    /// whose HTML holds `<!--#` or `-->` (the server would take either for
    /// SSI: a command, or the end of one).
    ///
    /// ```
    /// # use askama::Template;
    /// # use axum_suspense::{Boundary, Engine, Html, Text};
    /// #[derive(Template)]
    /// #[template(source = "<body>{{ part }}</body>", ext = "html")]
    /// struct Shell { part: Boundary }
    /// let page = Engine::new().page();
    /// let part = page.suspend(Text::new("…"), async { Text::new("!") });
    /// let prerendered = page.prerender(Shell { part }).unwrap();
    /// let file = prerendered
    ///     .ssi_document("/_parts/page?$args", Html::trusted("<p>Unavailable. <a href=\"\">Retry</a></p>"))
    ///     .unwrap();
    /// assert!(file.starts_with(prerendered.head()));
    /// assert!(file.ends_with(
    ///     "<!--# block name=\"suspense_parts_unavailable\" -->\
    ///      <template for=\"b0\"><p>Unavailable. <a href=\"\">Retry</a></p></template><?s b0 0.0 o=error>\
    ///      <!--# endblock --><!--# include virtual=\"/_parts/page?$args\" \
    ///      stub=\"suspense_parts_unavailable\" --></body>"
    /// ));
    /// ```
    pub fn ssi_document(
        &self,
        include: &str,
        unavailable: impl Template,
    ) -> Result<String, askama::Error> {
        if include.contains('"') || include.contains("-->") || include.contains("<!--#") {
            return Err(askama::Error::custom(
                "an SSI include path cannot hold `\"`, `-->` or `<!--#`",
            ));
        }
        let unavailable = unavailable.render()?;
        if unavailable.contains("<!--#") || unavailable.contains("-->") {
            return Err(askama::Error::custom(
                "the unavailable content cannot hold `<!--#` or `-->` (SSI)",
            ));
        }
        let mut out = String::with_capacity(
            self.head.len() + self.tail.len() + (unavailable.len() + 64) * self.boundaries.len(),
        );
        out.push_str(self.head());
        out.push_str("<!--# block name=\"");
        out.push_str(STUB_BLOCK);
        out.push_str("\" -->");
        for &id in &self.boundaries {
            let swap = wire::Swap {
                id,
                at: std::time::Duration::ZERO,
                outcome: Outcome::Failed,
                parent: None,
                name: None,
            };
            wire::push_fragment(&mut out, &swap, &unavailable);
        }
        out.push_str("<!--# endblock --><!--# include virtual=\"");
        out.push_str(include);
        out.push_str("\" stub=\"");
        out.push_str(STUB_BLOCK);
        out.push_str("\" -->");
        out.push_str(self.tail());
        Ok(out)
    }

    /// Joins in process what a static tier joins with SSI: the head, from
    /// memory, as the first chunk (before any part is polled), then the
    /// body of `parts` ([`Page::stream_parts`]), then the tail; with the
    /// parts' status and headers (their policy is the engine's, with no
    /// nonce).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use askama::Template;
    /// # use axum_suspense::{Boundary, Engine, Page, Text};
    /// #[derive(Template)]
    /// #[template(source = "<html><body>{{ news }}</body></html>", ext = "html")]
    /// struct Shell { news: Boundary }
    /// fn shell(page: &Page) -> Shell {
    ///     Shell { news: page.suspend(Text::new("Loading…"), async { Text::new("Nothing new.") }) }
    /// }
    /// let engine = Engine::new();
    /// let once = engine.page();
    /// let prerendered = once.clone().prerender(shell(&once)).unwrap();
    /// let page = engine.page();
    /// let uri = axum::http::Uri::from_static("/");
    /// let response = prerendered.join(page.clone().stream_parts(&prerendered, &uri, shell(&page)).unwrap());
    /// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    /// let body = std::str::from_utf8(&body).unwrap();
    /// assert!(body.starts_with(prerendered.head()));
    /// assert!(body.contains("<template for=\"b0\">Nothing new.</template>"));
    /// assert!(body.ends_with("></body></html>"));
    /// # });
    /// ```
    pub fn join(&self, parts: Response) -> Response {
        let (head, body) = parts.into_parts();
        let stream = stream::once(std::future::ready(Ok::<_, axum::Error>(self.head.clone())))
            .chain(body.into_data_stream())
            .chain(stream::once(std::future::ready(Ok::<_, axum::Error>(
                self.tail.clone(),
            ))));
        Response::from_parts(head, Body::from_stream(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Html, Text};

    #[derive(Template)]
    #[template(source = "<body>{{ part }}</body>", ext = "html")]
    struct Shell {
        part: crate::Boundary,
    }

    fn prerendered() -> Prerendered {
        let page = Engine::new().page();
        let part = page.suspend(Text::new("…"), async { Text::new("!") });
        page.prerender(Shell { part }).unwrap()
    }

    #[test]
    fn ssi_document_refuses_what_ssi_would_read_as_its_own() {
        let prerendered = prerendered();
        for include in [
            "/_parts/\"x",
            "/_parts/x-->",
            "/_parts/<!--#echo var=\"x\" -->",
            "/a<!--#b",
        ] {
            assert!(
                prerendered
                    .ssi_document(include, Html::trusted("<p>unavailable</p>"))
                    .is_err(),
                "include {include:?} accepted"
            );
        }
        for unavailable in [
            "<!--# echo var=\"HTTP_COOKIE\" -->",
            "<!-- a comment -->",
            "x-->y",
        ] {
            assert!(
                prerendered
                    .ssi_document("/_parts/x?$args", Html::trusted(unavailable))
                    .is_err(),
                "unavailable {unavailable:?} accepted"
            );
        }
        let file = prerendered
            .ssi_document(
                "/_parts/x?$args",
                Html::trusted("<p>unavailable <!-- no --></p>".replace("<!-- no -->", "")),
            )
            .unwrap();
        assert_eq!(file.matches("<!--#").count(), 3, "{file}");
    }
}
