//! `GET /compare?delay=D`: the same benchmark page five ways side by side,
//! each in a frame that reports its own browser timings: the exported static
//! file (web server), buffered SSR, in-order streaming and out-of-order
//! streaming (web application server), and the prerendered shell with its
//! parts streamed (docs/prerendering.md).

use askama::Template;
use axum::extract::RawQuery;
use axum::response::Response;

use super::page::parse_bounded;
use crate::assets::filters;
use axum_suspense::Page;

/// The page every frame shows: small enough to see whole in a frame, and
/// the shape `/bench` is prerendered in (three sections), so that with no
/// `render` it is the prerendered page.
pub(crate) const BENCH: &str = "/bench?items=4";
/// Where the export puts it (served under `/export`).
pub(crate) const EXPORTED: &str = "compare/bench.html";

/// Long enough to see buffered wait and streaming fill in.
const DEFAULT_DELAY_MS: u64 = 2400;

#[derive(Template)]
#[template(path = "compare.html")]
struct Compare {
    delay_ms: u64,
    frames: [Frame; 5],
}

struct Frame {
    title: &'static str,
    what: &'static str,
    src: String,
}

pub(crate) async fn compare(page: Page, RawQuery(query): RawQuery) -> Response {
    let raw = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(name, _)| name == "delay")
        .map(|(_, value)| value.into_owned());
    let delay_ms = match raw.map(|raw| parse_bounded("delay", &raw, 60_000)) {
        None => DEFAULT_DELAY_MS,
        Some(Ok(delay)) => delay,
        Some(Err(reason)) => {
            return crate::http::bad_request(reason);
        }
    };
    let bench = |mode: &str| format!("{BENCH}&delay={delay_ms}&render={mode}");
    page.stream(Compare {
        delay_ms,
        frames: [
            Frame {
                title: "Static file",
                what: "exported once, served from disk by the file service: instant, but fixed",
                src: format!("/export/{EXPORTED}"),
            },
            Frame {
                title: "Buffered SSR",
                what: "rendered per request; nothing is sent until the slowest data is in",
                src: bench("buffered"),
            },
            Frame {
                title: "In-order streaming",
                what: "the shell at once, then each section in document order, no script",
                src: bench("in-order"),
            },
            Frame {
                title: "Out-of-order streaming",
                what: "the shell and fallbacks at once, each section as soon as its data is ready",
                src: bench("stream"),
            },
            Frame {
                title: "Prerendered shell",
                what: "the shell rendered once and sent at once (behind nginx: a file), each section streamed as its data is ready",
                src: format!("{BENCH}&delay={delay_ms}"),
            },
        ],
    })
}
