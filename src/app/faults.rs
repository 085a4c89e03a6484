//! `GET /faults?delay=D`: one page whose parts fail in every way a part can:
//! one resolves, one returns an error, one panics, one times out, and one
//! resolves with a nested part that fails. For seeing failure stay inside
//! its boundary, and for the soak test (`benches/soak.sh`).

use std::time::Duration;

use askama::Template;
use axum::extract::RawQuery;
use axum::response::Response;

use crate::assets::filters;
use crate::bench::parse_bounded;
use axum_suspense::{Boundary, Page};

/// The longest `delay` the page takes, in ms.
const MAX_DELAY_MS: u64 = 10_000;

#[derive(Template)]
#[template(path = "faults/shell.html")]
struct Shell {
    delay_ms: u64,
    parts: Vec<Part>,
}

struct Part {
    title: &'static str,
    boundary: Boundary,
}

#[derive(Template)]
#[template(path = "faults/part.html")]
struct Content {
    text: String,
    child: Option<Boundary>,
}

#[derive(Template)]
#[template(path = "faults/fallback.html")]
struct Fallback {
    text: &'static str,
}

/// What every part shows until it ends.
const LOADING: Fallback = Fallback { text: "Loading…" };

#[derive(Template)]
#[template(path = "faults/failure.html")]
struct Failure {
    text: &'static str,
}

pub(crate) async fn faults(page: Page, RawQuery(query): RawQuery) -> Response {
    let delay_ms = match delay(query.as_deref().unwrap_or("")) {
        Ok(delay) => delay,
        Err(reason) => return crate::http::bad_request(reason),
    };
    let at = Schedule {
        start: tokio::time::Instant::now(),
        delay: Duration::from_millis(delay_ms),
    };
    let parts = vec![
        Part {
            title: "Resolves",
            boundary: resolves(&page, at, delay_ms),
        },
        Part {
            title: "Returns an error",
            boundary: returns_an_error(&page, at),
        },
        Part {
            title: "Panics",
            boundary: panics(&page, at),
        },
        Part {
            title: "Times out",
            boundary: times_out(&page, at),
        },
        Part {
            title: "Nested failure",
            boundary: nested_failure(&page, at),
        },
    ];
    page.stream(Shell { delay_ms, parts })
}

/// When each part ends: quarters of the page's delay, counted from the
/// request (not from when each part is first polled).
#[derive(Clone, Copy)]
struct Schedule {
    start: tokio::time::Instant,
    delay: Duration,
}

impl Schedule {
    /// Sleeps until `quarters` quarters of the delay have passed.
    fn after(self, quarters: u32) -> tokio::time::Sleep {
        tokio::time::sleep_until(self.start + self.delay * quarters / 4)
    }
}

/// Resolves at the end of the delay.
fn resolves(page: &Page, at: Schedule, delay_ms: u64) -> Boundary {
    page.boundary(LOADING).try_suspend(async move {
        at.after(4).await;
        Ok::<_, String>(Content {
            text: format!("Resolved after {delay_ms} ms."),
            child: None,
        })
    })
}

/// Its source answers with an error halfway.
fn returns_an_error(page: &Page, at: Schedule) -> Boundary {
    page.boundary(LOADING)
        .on_error(Failure {
            text: "The data source answered with an error; this part shows it.",
        })
        .try_suspend(async move {
            at.after(2).await;
            Err::<Content, _>("the data source said no")
        })
}

/// Its code panics a quarter of the way.
fn panics(page: &Page, at: Schedule) -> Boundary {
    page.boundary(LOADING)
        .on_error(Failure {
            text: "The code behind this part panicked; the panic was caught here.",
        })
        .try_suspend(async move {
            at.after(1).await;
            buggy()
        })
}

/// Its data never comes; its own timeout (the delay) ends it.
fn times_out(page: &Page, at: Schedule) -> Boundary {
    page.boundary(LOADING)
        .timeout(at.delay)
        .on_timeout(Failure {
            text: "This part's data never came; it timed out.",
        })
        .try_suspend(std::future::pending::<Result<Content, String>>())
}

/// Resolves a quarter of the way with a nested part that fails at the end.
fn nested_failure(page: &Page, at: Schedule) -> Boundary {
    let inner = page.clone();
    page.boundary(LOADING).try_suspend(async move {
        at.after(1).await;
        let child = inner
            .boundary(Fallback {
                text: "Loading the nested part…",
            })
            .on_error(Failure {
                text: "This part failed; the rest of the page did not.",
            })
            .try_suspend(async move {
                at.after(3).await;
                Err::<Content, _>("the nested part's source failed")
            });
        Ok::<_, String>(Content {
            text: "This part resolved; the part nested in it fails later.".into(),
            child: Some(child),
        })
    })
}

/// A data source with a bug in it.
fn buggy() -> Result<Content, String> {
    panic!("a bug in this part's code")
}

/// `delay=D` in ms, 0..=10000, default 600.
fn delay(query: &str) -> Result<u64, String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "delay")
        .map_or(Ok(600), |(_, value)| {
            parse_bounded("delay", &value, MAX_DELAY_MS)
        })
}
