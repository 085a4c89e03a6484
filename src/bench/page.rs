//! `GET /bench?boundaries=N&items=K&delay=D`, exactly as
//! `benches/PAGE.md` defines it, so it can be measured beside the peers;
//! and `&reveal=forwards|together` (ours only), the sections in one reveal
//! group of that order, to show what an order costs (the default,
//! `as-ready`, is the page of `benches/PAGE.md`, with no group).

use std::convert::Infallible;
use std::time::Duration;

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;

use super::entities::NamedEntities;
use crate::prerendered::Shells;
use axum_suspense::prerender::{PrerenderError, Prerendered};
use axum_suspense::{Boundary, Engine, Page, PageBuilder, RenderMode, RevealOrder};

/// The data string of every item: it exercises escaping on every item.
const TEXT: &str = r#"Tom & Jerry <say> "hi" & 'bye'"#;

#[derive(Template)]
#[template(path = "bench/shell.html")]
struct Shell {
    sections: Vec<Boundary>,
}

#[derive(Template)]
#[template(path = "bench/fallback.html")]
struct Fallback {
    index: u32,
}

#[derive(Template)]
#[template(path = "bench/section.html")]
struct Section {
    index: u32,
    items: u32,
    text: NamedEntities<'static>,
}

/// The page's parameters, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BenchParams {
    boundaries: u32,
    items: u32,
    delay_ms: u64,
    /// The sections' reveal order: `as-ready` puts them in no group.
    reveal: RevealOrder,
}

/// `GET /bench`: prerendered when the request leaves the shell as it was
/// rendered once ([`prerenderable`]): the shell from memory at once, then
/// the parts; otherwise streamed whole, as any page.
pub(crate) async fn bench(
    State(shells): State<Arc<Shells>>,
    State(engine): State<Engine>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let params = match BenchParams::parse(&query) {
        Ok(params) => params,
        Err(reason) => {
            return crate::http::bad_request(reason);
        }
    };
    let shell = shell(&page, params);
    if prerenderable(&query) && page.mode() == RenderMode::Stream && !page.debug() {
        // A shell that is not the prerendered one: streamed whole.
        return page.stream_prerendered(shells.bench(|| prerender(&engine)), shell);
    }
    page.stream(shell)
}

/// `GET /_parts/{shell}/bench`: the parts alone of `/bench` with the same
/// query, for a static tier that sends the prerendered shell (whose
/// fingerprint is `{shell}`) and includes these (nginx: `deploy/nginx.conf`,
/// reachable only as its subrequest, and only for a query it prerenders).
/// Exposes nothing `/bench` does not: the same parameters, checked the same
/// way, the same data. A shell that is not this release's, or a query that
/// changes it, gets `409`; a refused query, `400`: nginx sends its stub.
pub(crate) async fn bench_parts(
    State(shells): State<Arc<Shells>>,
    State(engine): State<Engine>,
    Path(requested): Path<String>,
    page: PageBuilder,
    RawQuery(query): RawQuery,
) -> Response {
    let prerendered = shells.bench(|| prerender(&engine));
    if !crate::prerendered::holds(&requested, prerendered) {
        return crate::prerendered::shell_conflict();
    }
    let query = query.unwrap_or_default();
    let params = match BenchParams::parse(&query) {
        Ok(params) => params,
        Err(reason) => {
            return crate::http::bad_request(reason);
        }
    };
    let uri = if query.is_empty() {
        Uri::from_static("/bench")
    } else {
        match format!("/bench?{query}").parse() {
            Ok(uri) => uri,
            Err(_) => return crate::http::bad_request("not a query".to_owned()),
        }
    };
    // Whoever asks (a crawler too, if the static tier sent it the shell),
    // in stream mode with no overlay: the file's shell is one.
    let page = page.mode(RenderMode::Stream).debug(false).build();
    let shell = shell(&page, params);
    crate::prerendered::parts_response("/bench", page.stream_parts(prerendered, &uri, shell))
}

/// Whether a request for `/bench` with `query` is the prerendered page: it
/// names nothing that changes the shell (`boundaries`), and asks for no
/// render mode and no overlay (`render=stream` asks for the page streamed
/// whole). `deploy/nginx.conf` decides the same way.
pub(crate) fn prerenderable(query: &str) -> bool {
    !form_urlencoded::parse(query.as_bytes())
        .any(|(name, _)| matches!(&*name, "boundaries" | "render" | "debug"))
}

/// The bench page's shell for the page's default parameters, rendered once
/// (its boundaries' futures never run).
pub(crate) fn prerender(engine: &Engine) -> Result<Prerendered, PrerenderError> {
    let page = engine.page();
    let shell = shell(&page, BenchParams::DEFAULT);
    page.prerender(shell)
}

/// The shell with one boundary per section: made the same way, in the same
/// order, for the prerender and for every request.
fn shell(page: &Page, params: BenchParams) -> Shell {
    let n = params.boundaries;
    // Delays count from the request, not from when each future is first polled.
    let start = tokio::time::Instant::now();
    let group = (params.reveal != RevealOrder::AsReady).then(|| page.group(params.reveal));
    let sections = (0..n)
        .map(|index| {
            // Boundary i resolves after delay * (N - i) / N ms: the last first.
            let wait = params.delay_ms * u64::from(n - index) / u64::from(n);
            let items = params.items;
            let boundary = page
                .boundary(Fallback { index })
                // The page allows delays up to 60 s, beyond the default timeout.
                .timeout(Duration::from_millis(params.delay_ms) + Duration::from_secs(10));
            let boundary = match &group {
                Some(group) => boundary.group(group),
                None => boundary,
            };
            boundary.try_suspend(async move {
                if wait == 0 {
                    // Ready on the next scheduler turn, with no timer.
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep_until(start + Duration::from_millis(wait)).await;
                }
                Ok::<_, Infallible>(Section {
                    index,
                    items,
                    text: NamedEntities(TEXT),
                })
            })
        })
        .collect();
    Shell { sections }
}

impl BenchParams {
    /// The page with no parameters.
    const DEFAULT: BenchParams = BenchParams {
        boundaries: 3,
        items: 20,
        delay_ms: 0,
        reveal: RevealOrder::AsReady,
    };

    /// Parses the query string: whole numbers (digits only) in range, the
    /// first occurrence of a name wins, unknown names are ignored. The error
    /// is a one-line reason.
    pub(crate) fn parse(query: &str) -> Result<Self, String> {
        let mut found: [Option<std::borrow::Cow<'_, str>>; 3] = [None, None, None];
        let mut reveal = None;
        const NAMES: [(&str, u64, u64); 3] = [
            ("boundaries", 3, 64),
            ("items", 20, 1000),
            ("delay", 0, 60_000),
        ];
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if name == "reveal" {
                reveal.get_or_insert(value);
                continue;
            }
            if let Some(slot) = NAMES.iter().position(|(known, _, _)| *known == name) {
                found[slot].get_or_insert(value);
            }
        }
        let mut values = [0u64; 3];
        for (slot, (name, default, max)) in NAMES.iter().enumerate() {
            values[slot] = match &found[slot] {
                None => *default,
                Some(raw) => parse_bounded(name, raw, *max)?,
            };
        }
        let reveal = match reveal {
            None => RevealOrder::AsReady,
            Some(raw) => raw.parse().map_err(|error| {
                let shown: String = raw.chars().take(80).collect();
                format!("reveal: {error}: {shown:?}")
            })?,
        };
        Ok(BenchParams {
            reveal,
            // In range 0..=64 and 0..=1000 by now.
            boundaries: values[0] as u32,
            items: values[1] as u32,
            delay_ms: values[2],
        })
    }
}

pub(crate) fn parse_bounded(name: &str, raw: &str, max: u64) -> Result<u64, String> {
    let shown: String = raw.chars().take(80).collect();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name}: not a whole number: {shown:?}"));
    }
    match raw.parse::<u64>() {
        Ok(value) if value <= max => Ok(value),
        _ => Err(format!("{name}: out of range 0..={max}: {shown}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_with_named_entities() {
        let html = Section {
            index: 1,
            items: 1,
            text: NamedEntities(TEXT),
        }
        .render()
        .unwrap();
        assert!(
            html.contains("<b>Tom &amp; Jerry &lt;say&gt; &quot;hi&quot; &amp; &#39;bye&#39;</b>"),
            "escaped text not found in {html:?}"
        );
    }

    #[test]
    fn defaults_and_first_occurrence() {
        let p = BenchParams::parse("").unwrap();
        assert_eq!(
            p,
            BenchParams {
                boundaries: 3,
                items: 20,
                delay_ms: 0,
                reveal: RevealOrder::AsReady,
            }
        );
        let p = BenchParams::parse("delay=5&delay=9&x=y&items=0&reveal=together&reveal=forwards")
            .unwrap();
        assert_eq!(
            p,
            BenchParams {
                boundaries: 3,
                items: 0,
                delay_ms: 5,
                reveal: RevealOrder::Together,
            }
        );
    }

    #[test]
    fn rejects_with_one_line_reasons() {
        for (query, want) in [
            ("boundaries=65", "boundaries: out of range 0..=64: 65"),
            ("items=-1", "items: not a whole number: \"-1\""),
            ("delay=1e3", "delay: not a whole number: \"1e3\""),
            ("delay=", "delay: not a whole number: \"\""),
            (
                "delay=99999999999999999999999",
                "delay: out of range 0..=60000: 99999999999999999999999",
            ),
            ("items=%20", "items: not a whole number: \" \""),
            (
                "reveal=backwards",
                "reveal: the reveal order is one of as-ready, forwards, together: \"backwards\"",
            ),
        ] {
            assert_eq!(
                BenchParams::parse(query).unwrap_err(),
                want,
                "query {query:?}"
            );
        }
    }
}
