//! `GET /about`: what this server is, with links to see it stream (the
//! board is `/`).

use askama::Template;
use axum::response::Response;

use crate::assets::filters;
use axum_suspense::Page;

#[derive(Template)]
#[template(path = "about.html")]
struct About {
    /// The `/bench` variants worth opening, with what each shows.
    examples: &'static [(&'static str, &'static str)],
}

const EXAMPLES: &[(&str, &str)] = &[
    (
        "/compare",
        "the same page five ways side by side: static file, buffered, in-order, streamed, prerendered, with timings",
    ),
    (
        "/bench?delay=2000",
        "three sections over two seconds; the last one arrives first",
    ),
    (
        "/bench?delay=3000&boundaries=6&items=5",
        "six small sections, one every half second, bottom up",
    ),
    (
        "/bench?delay=3000&boundaries=6&items=5&debug=1",
        "the same with the timing overlay (debug=1 works on any streamed page): \
         when each fallback showed, when each section was revealed, when the server had its data",
    ),
    (
        "/bench?delay=2000&render=in-order",
        "in document order, no script: nothing of the sections until section 0 (the slowest) is in",
    ),
    (
        "/bench?delay=2000&render=buffered",
        "buffered: nothing at all for two seconds, then the whole page",
    ),
    (
        "/faults?delay=2000",
        "parts that fail, panic and time out, each inside its own boundary, while the page streams on",
    ),
    ("/bench", "no delay: the page as a pure rendering benchmark"),
    (
        "/bench?boundaries=0",
        "no boundaries: the shell alone, in one chunk",
    ),
];

pub(crate) async fn about(page: Page) -> Response {
    page.stream(About { examples: EXAMPLES })
}
