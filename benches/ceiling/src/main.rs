//! `ceiling FILE PORT THREADS`: serves FILE's bytes on 127.0.0.1:PORT with
//! hyper alone, as a full body (`/full`, `Content-Length`, as nginx sends a
//! static file) or as a stream of four chunks (`/chunked`, as a streamed
//! page goes: the shell, then three parts), with the HTTP/1.1 settings
//! suspense-ssr uses. What a request costs in hyper and tokio themselves:
//! the most any server on this stack could do on this machine.
//!
//! `/askama` renders the bench page (benches/PAGE.md's defaults: 3 sections of 20
//! items) with askama on every request, from suspense-ssr's own section
//! template and escaper, in document order into one body: no engine, no
//! axum. What rendering the page's content costs on this stack, however
//! the rest were made. `/askama-escape` is the same with askama's own
//! escaper (numeric entities) instead of suspense-ssr's.
//! `/askama-streamed` streams it as suspense-ssr must at `delay=0`: the
//! shell (fallbacks in place) written first, then, a scheduler turn later,
//! the sections rendered and written together: two writes, not one.
//! `/askama-streamed-50` waits for three tokio timers instead, the last
//! 50 ms on, as the bench page's parts do at `delay=50` (the first byte).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, header};
use hyper_util::rt::{TokioIo, TokioTimer};

// The very escaper the site uses (only std and askama).
#[path = "../../../src/bench/entities.rs"]
mod entities;
use entities::NamedEntities;

const TEXT: &str = r#"Tom & Jerry <say> "hi" & 'bye'"#;

/// The site's section template, with the site's escaper.
#[derive(askama::Template)]
#[template(path = "bench/section.html")]
struct Section {
    index: u32,
    items: u32,
    text: NamedEntities<'static>,
}

/// The same template, escaped by askama.
#[derive(askama::Template)]
#[template(path = "bench/section.html")]
struct AskamaSection {
    index: u32,
    items: u32,
    text: &'static str,
}

/// The shell of the site's `bench/shell.html`, with the sections in place.
#[derive(askama::Template)]
#[template(
    ext = "html",
    source = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Bench</title>\n\
<link rel=\"stylesheet\" href=\"/static/bench.css\"></head>\n<body>\n<header><h1>Bench</h1></header>\n\
<main>\n{% for section in sections %}{{ section|safe }}\n{% endfor %}</main>\n<footer>end of page</footer>\n</body></html>\n"
)]
struct Page<S: std::fmt::Display> {
    sections: Vec<S>,
}

/// Section `index` of the bench page (20 items), with the site's escaper.
fn section(index: u32) -> Section {
    Section {
        index,
        items: 20,
        text: NamedEntities(TEXT),
    }
}

/// The bench page rendered now, by askama alone, its sections made by
/// `section`.
fn render<S: std::fmt::Display>(section: impl Fn(u32) -> S) -> Bytes {
    use askama::Template;
    let page = Page {
        sections: (0..3).map(section).collect(),
    };
    Bytes::from(page.render().expect("the bench page renders"))
}

/// What a body sends next.
enum Step {
    /// These bytes, as one frame.
    Bytes(Bytes),
    /// Nothing yet: wakes itself and returns `Pending`, so hyper writes what
    /// it holds (a streamed page's shell) before the next step.
    Yield,
    /// Section `i` of the bench page, rendered by askama when it is sent.
    Section(u32),
    /// Nothing until these timers have all fired (the bench page's parts
    /// at `delay` > 0, each waiting for its data on a tokio timer).
    Sleep(Vec<Pin<Box<tokio::time::Sleep>>>),
}

/// A body of steps, one frame each.
struct Chunks(std::collections::VecDeque<Step>);

impl Chunks {
    fn of(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        Chunks(chunks.into_iter().map(Step::Bytes).collect())
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(match self.0.pop_front() {
            None => None,
            Some(Step::Bytes(bytes)) => Some(Ok(Frame::data(bytes))),
            Some(Step::Yield) => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Some(Step::Sleep(mut timers)) => {
                timers.retain_mut(|timer| timer.as_mut().poll(cx).is_pending());
                if !timers.is_empty() {
                    self.0.push_front(Step::Sleep(timers));
                    return Poll::Pending;
                }
                return self.poll_frame(cx);
            }
            Some(Step::Section(index)) => {
                use askama::Template;
                let html = section(index).render().expect("a section renders");
                Some(Ok(Frame::data(Bytes::from(html))))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        // One chunk of bytes: Content-Length; anything else is chunked.
        match (self.0.len(), self.0.front()) {
            (1, Some(Step::Bytes(one))) => http_body::SizeHint::with_exact(one.len() as u64),
            _ => http_body::SizeHint::default(),
        }
    }
}

/// The shell of `/askama-streamed`: the bench page up to its sections, each
/// section's fallback in its place.
#[derive(askama::Template)]
#[template(
    ext = "html",
    source = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Bench</title>\n\
<link rel=\"stylesheet\" href=\"/static/bench.css\"></head>\n<body>\n<header><h1>Bench</h1></header>\n\
<main>\n{% for index in 0..3 %}<p class=\"fallback\">Loading section {{ index }}…</p>\n{% endfor %}"
)]
struct StreamedShell;

/// The bench page as a streamed page goes: the shell rendered and written,
/// a scheduler turn (or, for `delay_ms` > 0, three timers like the bench
/// page's parts, the last at `delay_ms`), then each section rendered and
/// all written together.
fn streamed(delay_ms: u64) -> Chunks {
    use askama::Template;
    let shell = StreamedShell.render().expect("the shell renders");
    let wait = if delay_ms == 0 {
        Step::Yield
    } else {
        let start = tokio::time::Instant::now();
        Step::Sleep(
            (1..=3)
                .map(|i| {
                    Box::pin(tokio::time::sleep_until(
                        start + Duration::from_millis(delay_ms * i / 3),
                    ))
                })
                .collect(),
        )
    };
    let mut steps = std::collections::VecDeque::from([Step::Bytes(Bytes::from(shell)), wait]);
    steps.extend((0..3).map(Step::Section));
    steps.push_back(Step::Bytes(Bytes::from_static(
        b"</main>\n<footer>end of page</footer>\n</body></html>\n",
    )));
    Chunks(steps)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, port, threads] = args.as_slice() else {
        eprintln!("usage: ceiling FILE PORT THREADS");
        std::process::exit(2);
    };
    let page = Bytes::from(std::fs::read(file).expect("read the page"));
    let quarter = page.len() / 4;
    let parts: Vec<Bytes> = (0..4)
        .map(|i| {
            page.slice(
                i * quarter..if i == 3 {
                    page.len()
                } else {
                    (i + 1) * quarter
                },
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.parse().expect("THREADS"))
        .enable_all()
        .build()
        .unwrap();
    let port: u16 = port.parse().expect("PORT");
    // The accept loop on a worker, as suspense-ssr runs it: a connection
    // then starts on the worker that accepted it.
    let serve = async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        println!("listening on http://{}", listener.local_addr().unwrap());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (page, parts) = (page.clone(), parts.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let body = match request.uri().path() {
                        "/chunked" => Chunks::of(parts.clone()),
                        "/askama" => Chunks::of([render(section)]),
                        "/askama-escape" => Chunks::of([render(|index| AskamaSection {
                            index,
                            items: 20,
                            text: TEXT,
                        })]),
                        "/askama-streamed" => streamed(0),
                        "/askama-streamed-50" => streamed(50),
                        _ => Chunks::of([page.clone()]),
                    };
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                                .body(body)
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .max_buf_size(32 * 1024)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    };
    runtime.block_on(async move { tokio::spawn(serve).await.unwrap() });
}
