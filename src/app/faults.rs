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
        Err(reason) => {
            return crate::http::bad_request(reason);
        }
    };
    let delay = Duration::from_millis(delay_ms);
    let start = tokio::time::Instant::now();
    let after = move |part: u32| tokio::time::sleep_until(start + delay * part / 4);

    let resolves = page.boundary(LOADING).try_suspend(async move {
        after(4).await;
        Ok::<_, String>(Content {
            text: format!("Resolved after {delay_ms} ms."),
            child: None,
        })
    });
    let errs = page
        .boundary(LOADING)
        .on_error(Failure {
            text: "The data source answered with an error; this part shows it.",
        })
        .try_suspend(async move {
            after(2).await;
            Err::<Content, _>("the data source said no")
        });
    let panics = page
        .boundary(LOADING)
        .on_error(Failure {
            text: "The code behind this part panicked; the panic was caught here.",
        })
        .try_suspend(async move {
            after(1).await;
            buggy()
        });
    let times_out = page
        .boundary(LOADING)
        .timeout(delay)
        .on_timeout(Failure {
            text: "This part's data never came; it timed out.",
        })
        .try_suspend(std::future::pending::<Result<Content, String>>());
    let inner = page.clone();
    let nested = page.boundary(LOADING).try_suspend(async move {
        after(1).await;
        let child = inner
            .boundary(Fallback {
                text: "Loading the nested part…",
            })
            .on_error(Failure {
                text: "This part failed; the rest of the page did not.",
            })
            .try_suspend(async move {
                after(3).await;
                Err::<Content, _>("the nested part's source failed")
            });
        Ok::<_, String>(Content {
            text: "This part resolved; the part nested in it fails later.".into(),
            child: Some(child),
        })
    });
    page.stream(Shell {
        delay_ms,
        parts: vec![
            Part {
                title: "Resolves",
                boundary: resolves,
            },
            Part {
                title: "Returns an error",
                boundary: errs,
            },
            Part {
                title: "Panics",
                boundary: panics,
            },
            Part {
                title: "Times out",
                boundary: times_out,
            },
            Part {
                title: "Nested failure",
                boundary: nested,
            },
        ],
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
