//! A boundary where it cannot stream: inside an attribute value, a tag, a
//! comment, a raw-text element, a `<template>` or the `<head>`, or rendered
//! twice, or never. The buffered page would look right in every case, so
//! each is checked when the shell (or a part) renders: refused loudly with
//! `refuse_misplaced` on (the default in debug builds: a `500` and a message
//! that names the boundary, its context and the text around it), logged and
//! left out with it off (release builds: the page whole and well-formed,
//! nothing after the boundary lost).
//!
//! `.ci/run` runs this file in a release build too, where the engine's
//! default is the other one (`the_default_follows_the_build`).

use std::time::Duration;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum_suspense::{Boundary, Engine, Page, RenderMode, Text};
use test_kit::logs::Logs;

/// Runs `make` with this thread's logs captured.
fn logged<R>(make: impl FnOnce() -> R) -> (R, String) {
    let (logs, guard) = Logs::capture(tracing::Level::INFO);
    let result = make();
    drop(guard);
    (result, logs.text())
}

async fn body(response: Response) -> String {
    let bytes = tokio::time::timeout(
        Duration::from_secs(5),
        axum::body::to_bytes(response.into_body(), usize::MAX),
    )
    .await
    .expect("the page ended within 5 s")
    .expect("a readable body");
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// The page's two boundaries: `part`, the one a test misplaces, and
/// `after`, placed right, after it.
fn parts(page: &Page) -> (Boundary, Boundary) {
    let part = page
        .boundary(Text::new("loading part"))
        .name("part")
        .suspend(async { Text::new("PART") });
    let after = page
        .boundary(Text::new("loading after"))
        .name("after")
        .suspend(async { Text::new("AFTER") });
    (part, after)
}

macro_rules! shells {
    ($($name:ident: $source:literal,)*) => {$(
        #[derive(Template)]
        #[template(source = $source, ext = "html")]
        #[allow(dead_code)] // `Never` does not render `part`: that is its point
        struct $name {
            part: Boundary,
            after: Boundary,
        }
    )*};
}

shells! {
    Attribute: "<!doctype html><html><head><title>t</title></head><body><div title=\"{{ part }}\">x</div><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    InTag: "<!doctype html><html><head><title>t</title></head><body><div {{ part }}>x</div><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Comment: "<!doctype html><html><head><title>t</title></head><body><!-- {{ part }} --><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Title: "<!doctype html><html><head><title>{{ part }}</title></head><body><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Textarea: "<!doctype html><html><head><title>t</title></head><body><textarea>{{ part }}</textarea><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Script: "<!doctype html><html><head><title>t</title></head><body><script>let s = \"{{ part }}\";</script><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Style: "<!doctype html><html><head><title>t</title></head><body><style>/* {{ part }} */</style><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    InTemplate: "<!doctype html><html><head><title>t</title></head><body><template><div>{{ part }}</div></template><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Head: "<!doctype html><html><head><meta charset=\"utf-8\">{{ part }}<title>t</title></head><body><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Twice: "<!doctype html><html><head><title>t</title></head><body><main>{{ part }}</main><aside>{{ part }}</aside><p>kept</p>{{ after }}<footer>end</footer></body></html>",
    Never: "<!doctype html><html><head><title>t</title></head><body><p>kept</p>{{ after }}<footer>end</footer></body></html>",
}

/// Renders the shell `S` with the two parts on a page of `engine`, logs
/// captured; then reads the body whole.
async fn render<S: Template>(
    engine: &Engine,
    mode: RenderMode,
    shell: fn(Boundary, Boundary) -> S,
) -> (StatusCode, String, String) {
    let page = engine.page_builder().mode(mode).build();
    let (response, logs) = logged(|| {
        let (part, after) = parts(&page);
        page.stream(shell(part, after))
    });
    let status = response.status();
    (status, body(response).await, logs)
}

/// One context: refused with the check on, left out with it off.
async fn check<S: Template>(
    shell: fn(Boundary, Boundary) -> S,
    context: &str,
    excerpt: &str,
    left: &str,
) {
    for mode in [RenderMode::Stream, RenderMode::Buffered] {
        // Refused: a 500, with a message that says which, where, and shows it.
        let strict = Engine::builder().refuse_misplaced(true).build();
        let (status, page, logs) = render(&strict, mode, shell).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{context} ({mode}): {page}"
        );
        assert!(
            logs.contains(&format!("boundary part (b0) is {context}")),
            "{context} ({mode}): the refusal does not name the boundary and its context: {logs}"
        );
        assert!(
            logs.contains(excerpt),
            "{context} ({mode}): the refusal does not show {excerpt:?}: {logs}"
        );
        assert!(!page.contains("PART"), "{context} ({mode}): {page}");
        eventually_idle(&strict).await;

        // Logged and left out: the page whole and well-formed, the part's
        // future cancelled, the boundary after it streamed.
        let lax = Engine::builder().refuse_misplaced(false).build();
        let (status, page, logs) = render(&lax, mode, shell).await;
        assert_eq!(status, StatusCode::OK, "{context} ({mode}): {page}");
        assert!(
            logs.contains("ERROR")
                && logs.contains(&format!("boundary part (b0) is {context}"))
                && logs.contains("left out of the page"),
            "{context} ({mode}): not logged as an error: {logs}"
        );
        assert!(
            page.contains(left),
            "{context} ({mode}): no {left:?} in {page}"
        );
        assert!(
            page.contains("<p>kept</p>") && page.contains("AFTER"),
            "{context} ({mode}): what follows the boundary was lost: {page}"
        );
        assert!(
            page.contains("<footer>end</footer>") && page.ends_with("</body></html>"),
            "{context} ({mode}): the page did not end well-formed: {page}"
        );
        assert!(
            !page.contains("PART") && !page.contains("name=\"b0\""),
            "{context} ({mode}): the misplaced part reached the page: {page}"
        );
        eventually_idle(&lax).await;
    }
}

/// Nothing of the page runs on: the misplaced part was cancelled.
async fn eventually_idle(engine: &Engine) {
    let stats = engine.stats();
    crate::common::eventually("no boundary or page of the engine left running", || {
        stats.pending_boundaries() == 0 && stats.active_streams() == 0
    })
    .await;
}

#[tokio::test]
async fn inside_an_attribute_value() {
    check(
        |part, after| Attribute { part, after },
        "inside an attribute value",
        "<div title=\"⟨boundary⟩\">x</div>",
        "<div title=\"\">x</div>",
    )
    .await;
}

#[tokio::test]
async fn inside_a_tag() {
    check(
        |part, after| InTag { part, after },
        "inside a tag",
        "<div ⟨boundary⟩>x</div>",
        "<div >x</div>",
    )
    .await;
}

#[tokio::test]
async fn inside_a_comment() {
    check(
        |part, after| Comment { part, after },
        "inside a comment",
        "<!-- ⟨boundary⟩ -->",
        "<!--  -->",
    )
    .await;
}

#[tokio::test]
async fn inside_the_title() {
    check(
        |part, after| Title { part, after },
        "inside <title>, whose content is text, not markup",
        "<title>⟨boundary⟩</title>",
        "<title></title>",
    )
    .await;
}

#[tokio::test]
async fn inside_a_textarea() {
    check(
        |part, after| Textarea { part, after },
        "inside <textarea>, whose content is text, not markup",
        "<textarea>⟨boundary⟩</textarea>",
        "<textarea></textarea>",
    )
    .await;
}

#[tokio::test]
async fn inside_a_script() {
    check(
        |part, after| Script { part, after },
        "inside <script>, whose content is text, not markup",
        "let s = \"⟨boundary⟩\";",
        "let s = \"\";",
    )
    .await;
}

#[tokio::test]
async fn inside_a_style() {
    check(
        |part, after| Style { part, after },
        "inside <style>, whose content is text, not markup",
        "/* ⟨boundary⟩ */",
        "<style>/*  */</style>",
    )
    .await;
}

#[tokio::test]
async fn inside_a_template() {
    check(
        |part, after| InTemplate { part, after },
        "inside a <template>, whose content is inert",
        "<template><div>⟨boundary⟩</div></template>",
        "<template><div></div></template>",
    )
    .await;
}

#[tokio::test]
async fn in_the_head() {
    check(
        |part, after| Head { part, after },
        "in the document's <head> (before <body>)",
        "<meta charset=\"utf-8\">⟨boundary⟩<title>",
        "<meta charset=\"utf-8\"><title>",
    )
    .await;
}

#[tokio::test]
async fn rendered_twice() {
    for refuse in [true, false] {
        let engine = Engine::builder().refuse_misplaced(refuse).build();
        let (status, page, logs) = render(&engine, RenderMode::Stream, |part, after| Twice {
            part,
            after,
        })
        .await;
        assert!(
            logs.contains("boundary part (b0) is rendered a second time"),
            "refuse={refuse}: {logs}"
        );
        if refuse {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
        } else {
            // The first copy streams; the second is left empty.
            assert_eq!(status, StatusCode::OK);
            assert!(
                page.contains("<aside></aside>") && page.contains("PART"),
                "{page}"
            );
            assert!(
                page.ends_with("</body></html>") && page.contains("AFTER"),
                "{page}"
            );
        }
        eventually_idle(&engine).await;
    }
}

#[tokio::test]
async fn never_rendered() {
    for refuse in [true, false] {
        let engine = Engine::builder().refuse_misplaced(refuse).build();
        let (status, page, logs) = render(&engine, RenderMode::Stream, |part, after| Never {
            part,
            after,
        })
        .await;
        assert!(
            logs.contains("boundary part (b0) is never rendered by the template it was given to"),
            "refuse={refuse}: {logs}"
        );
        if refuse {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
        } else {
            assert_eq!(status, StatusCode::OK);
            assert!(
                page.ends_with("</body></html>") && page.contains("AFTER"),
                "{page}"
            );
        }
        eventually_idle(&engine).await;
    }
}

/// A part whose content puts a nested boundary in an attribute.
#[derive(Template)]
#[template(
    source = "<p title=\"{{ inner }}\">part</p><p>rest of the part</p>",
    ext = "html"
)]
struct BadPart {
    inner: Boundary,
}

#[derive(Template)]
#[template(
    source = "<!doctype html><html><body>{{ part }}<footer>end</footer></body></html>",
    ext = "html"
)]
struct OnePart {
    part: Boundary,
}

#[tokio::test]
async fn inside_a_part_the_part_fails_or_loses_only_the_boundary() {
    for refuse in [true, false] {
        let engine = Engine::builder().refuse_misplaced(refuse).build();
        let page = engine.page();
        let nested = page.clone();
        let part = page
            .boundary(Text::new("loading"))
            .on_error_with(|error| {
                let misplaced = error
                    .downcast_ref::<axum_suspense::error::MisplacedBoundary>()
                    .is_some();
                Text::new(if misplaced { "MISPLACED" } else { "OTHER" })
            })
            .suspend(async move {
                BadPart {
                    inner: nested
                        .boundary(Text::new("inner"))
                        .name("inner")
                        .suspend(async { Text::new("INNER") }),
                }
            });
        let response = page.stream(OnePart { part });
        let (logs, _guard) = Logs::capture(tracing::Level::INFO);
        let page = body(response).await;
        let logs = logs.text();
        assert!(
            logs.contains("boundary inner (b1) is inside an attribute value"),
            "refuse={refuse}: {logs}"
        );
        assert!(page.ends_with("</body></html>"), "{page}");
        assert!(!page.contains("INNER"), "{page}");
        if refuse {
            // Its error content, made from an error that tells nothing of
            // the page's insides (the details are in the log).
            assert!(
                page.contains(">MISPLACED</template>") && !page.contains("refused"),
                "a refused part shows its error content: {page}"
            );
        } else {
            assert!(
                page.contains("<p title=\"\">part</p><p>rest of the part</p>"),
                "{page}"
            );
        }
        eventually_idle(&engine).await;
    }
}

#[tokio::test]
async fn the_default_follows_the_build() {
    // Debug builds refuse; release builds log and leave out (.ci/run runs
    // this file with --release too).
    let (status, page, logs) = render(&Engine::new(), RenderMode::Stream, |part, after| {
        Attribute { part, after }
    })
    .await;
    assert!(
        logs.contains("boundary part (b0) is inside an attribute value"),
        "{logs}"
    );
    if cfg!(debug_assertions) {
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
    } else {
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            page.contains("<div title=\"\">x</div>") && page.contains("AFTER"),
            "{page}"
        );
    }
}

#[tokio::test]
async fn a_well_placed_boundary_is_not_judged_by_text_that_looks_like_markup() {
    #[derive(Template)]
    #[template(
        source = "<!doctype html><html><head><title>a &lt; b</title><script>let t = '<title>';</script></head><body class=\"x\" data-y='>'><!-- <textarea> --><p title=\"<head>\">{{ data }}</p>{{ part }}{{ after }}</body></html>",
        ext = "html"
    )]
    struct Tricky {
        data: String,
        part: Boundary,
        after: Boundary,
    }
    let engine = Engine::builder().refuse_misplaced(true).build();
    let (status, page, logs) = render(&engine, RenderMode::Stream, |part, after| Tricky {
        data: "<title> \" ' <!--".into(),
        part,
        after,
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{logs}\n{page}");
    assert!(page.contains("PART") && page.contains("AFTER"), "{page}");
    assert!(!logs.contains("ERROR"), "{logs}");
}

#[tokio::test]
async fn a_named_boundary_is_named_in_the_log_and_on_the_wire() {
    let engine = Engine::new();
    let page = engine.page();
    let part = page
        .boundary(Text::new("loading"))
        .name("reviews")
        .try_suspend(async { Err::<Text, _>(std::io::Error::other("the review service is down")) });
    let response = page.stream(OnePart { part });
    let (logs, _guard) = Logs::capture(tracing::Level::INFO);
    let page = body(response).await;
    let logs = logs.text();
    assert!(page.contains(" o=error n=reviews>"), "{page}");
    assert!(
        logs.contains("boundary=reviews") && logs.contains("the review service is down"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_altered_placeholder_does_not_shift_the_verdicts_after_it() {
    #[derive(Template)]
    #[template(
        source = "<html><head><title>t</title></head>{{ part|upper }}{{ after }}<body><p>kept</p></body></html>",
        ext = "html"
    )]
    struct AlteredThenHead {
        part: Boundary,
        after: Boundary,
    }
    let engine = Engine::builder().refuse_misplaced(false).build();
    let (status, page, logs) = render(&engine, RenderMode::Stream, |part, after| AlteredThenHead {
        part,
        after,
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        logs.contains("boundary part (b0) is written through a filter"),
        "{logs}"
    );
    assert!(
        logs.contains("boundary after (b1) is in the document's <head>"),
        "the head verdict went to the wrong boundary: {logs}"
    );
    assert!(
        page.contains("<p>kept</p>") && page.ends_with("</body></html>"),
        "{page}"
    );
    eventually_idle(&engine).await;
}
