//! A part's data (`suspend_with_data`) on the wire: a
//! `<script type="application/json" data-part="bI">` first in the part, in
//! every mode; any data, however hostile, parsed back by a real HTML5
//! parser (html5ever) and then as JSON, comes out as the same value, in its
//! part, and nothing else of the page changes. A part without data is sent
//! byte for byte as before parts had data.

use std::convert::Infallible;

use askama::Template;
use axum_suspense::{Boundary, Engine, Page, RenderMode, Text};
use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::pages::{open, text};
use crate::transport::{apply_swaps, as_parsed, attr, data, descendants, element_name, text_of};

#[derive(Template)]
#[template(
    source = r#"<!doctype html><html><head><title>t</title></head><body><main id="m">{{ a }}</main><ul id="u">{{ b }}</ul><table><tbody id="t">{{ c }}</tbody></table><footer>end</footer></body></html>"#,
    ext = "html"
)]
struct Shell {
    a: Boundary,
    b: Boundary,
    c: Boundary,
}

#[derive(Template)]
#[template(source = r#"<p class="d">{{ data }}</p>{{ inner }}"#, ext = "html")]
struct Paragraph {
    data: String,
    inner: Boundary,
}

#[derive(Template)]
#[template(source = r#"<span class="d">{{ data }}</span>"#, ext = "html")]
struct Span {
    data: String,
}

#[derive(Template)]
#[template(source = r#"<li class="d">{{ data }}</li>"#, ext = "html")]
struct Item {
    data: String,
}

#[derive(Template)]
#[template(source = r#"<tr><td class="d">{{ data }}</td></tr>"#, ext = "html")]
struct Row {
    data: String,
}

async fn after<T>(turns: u8, value: T) -> T {
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
    value
}

/// The data each part carries: the string as a value, as a key, in a list.
fn value(data: &str, part: &str) -> Value {
    json!({ "part": part, "s": data, "list": [1, data, null], data: true })
}

/// A page of four parts with data (one nested in a `<main>`, one in a
/// `<ul>`, one in a `<tbody>`), resolving after the given turns, whole.
fn render(data: &str, turns: [u8; 4], mode: RenderMode) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let page: Page = Engine::new().page_builder().mode(mode).build();
        let d = data.to_owned();
        let inner_page = page.clone();
        let a = page
            .boundary(Text::new("…"))
            .name("main")
            .suspend_with_data({
                let d = d.clone();
                async move {
                    let inner = inner_page
                        .boundary(Text::new("…"))
                        .name("inner")
                        .suspend_with_data(after(
                            turns[3],
                            (Span { data: d.clone() }, value(&d, "inner")),
                        ));
                    let content = Paragraph {
                        data: d.clone(),
                        inner,
                    };
                    after(turns[0], (content, value(&d, "main"))).await
                }
            });
        let b = page.boundary(text("…")).suspend_with_data(after(
            turns[1],
            (Item { data: d.clone() }, value(&d, "item")),
        ));
        let c = page
            .boundary(text("…"))
            .name("row")
            .suspend_with_data(after(turns[2], (Row { data: d.clone() }, value(&d, "row"))));
        let response = page.stream(Shell { a, b, c });
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    })
}

/// Each data element of the document once its parts are in place, in
/// document order: its `data-part`, `data-name`, parsed JSON, and the
/// element after it (the part's first) as `name.class`.
fn data_elements(html: &str) -> Vec<(String, Option<String>, Value, String)> {
    let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html);
    apply_swaps(&dom.document);
    let mut all = Vec::new();
    descendants(&dom.document, &mut all);
    all.iter()
        .filter(|n| {
            element_name(n) == Some("script")
                && attr(n, "type").as_deref() == Some("application/json")
        })
        .map(|script| {
            let json: Value = serde_json::from_str(&text_of(script))
                .unwrap_or_else(|e| panic!("the data does not parse ({e}): {html}"));
            (
                attr(script, "data-part").expect("data-part"),
                attr(script, "data-name"),
                json,
                next_element(script),
            )
        })
        .collect()
}

fn next_element(node: &Handle) -> String {
    let parent = node.parent.take().unwrap().upgrade().unwrap();
    node.parent.set(Some(std::rc::Rc::downgrade(&parent)));
    let children = parent.children.borrow();
    let at = children
        .iter()
        .position(|c| std::rc::Rc::ptr_eq(c, node))
        .unwrap();
    children[at + 1..]
        .iter()
        .find(|c| matches!(c.data, NodeData::Element { .. }))
        .map(|c| {
            format!(
                "{}.{}",
                element_name(c).unwrap(),
                attr(c, "class").unwrap_or_default()
            )
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_data_comes_back_as_the_same_value_in_its_part_in_every_mode(
        data in data(),
        turns in any::<[u8; 4]>(),
    ) {
        let turns = turns.map(|t| t % 4);
        // JSON carries the string exactly; the parser's newline and NUL
        // rules never apply (they are `\r`, `\n`, `\u0000` in JSON).
        let expected = vec![
            ("b0".to_owned(), Some("main".to_owned()), value(&data, "main"), "p.d".to_owned()),
            ("b3".to_owned(), Some("inner".to_owned()), value(&data, "inner"), "span.d".to_owned()),
            ("b1".to_owned(), None, value(&data, "item"), "li.d".to_owned()),
            ("b2".to_owned(), Some("row".to_owned()), value(&data, "row"), "tr.".to_owned()),
        ];
        for mode in [RenderMode::Stream, RenderMode::InOrder, RenderMode::Buffered] {
            let html = render(&data, turns, mode);
            prop_assert_eq!(&data_elements(&html), &expected, "{:?}: {}", mode, html);
            // The contents are whole beside their data.
            let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html.as_str());
            apply_swaps(&dom.document);
            let mut all = Vec::new();
            descendants(&dom.document, &mut all);
            let texts: Vec<String> = all
                .iter()
                .filter(|n| attr(n, "class").as_deref() == Some("d"))
                .map(text_of)
                .collect();
            prop_assert_eq!(texts, vec![as_parsed(&data, true); 4], "{:?}", mode);
        }
    }
}

#[tokio::test]
async fn a_part_without_data_is_sent_as_before_and_one_with_data_costs_its_element() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page: Page| {
        let plain = page.try_suspend(text("loading-0"), async {
            Ok::<_, Infallible>(text("plain"))
        });
        let island = page
            .boundary(text("loading-1"))
            .name("votes")
            .suspend_with_data(async { (text("three"), json!({"votes": [1, 2, 3]})) });
        let anonymous = page
            .boundary(text("loading-2"))
            .suspend_with_data(async { (text("x"), ()) });
        let named = page.suspend_with_data("count", text("loading-3"), async {
            (crate::pages::Text { text: "4".into() }, 4)
        });
        page.stream(crate::pages::Shell {
            parts: vec![plain, island, anonymous, named],
        })
    })
    .await;
    let body = response.read_to_end().await.to_owned();
    let fragment = |id: u32| {
        let start = body
            .find(&format!("<template for=\"b{id}\">"))
            .unwrap_or_else(|| panic!("no fragment b{id}: {body}"));
        let end = start + body[start..].find("</template>").unwrap();
        body[start..end + "</template>".len()].to_owned()
    };
    // Exactly the bytes of a part before data existed.
    assert_eq!(
        fragment(0),
        "<template for=\"b0\"><p class=\"text\">plain</p></template>"
    );
    assert_eq!(
        fragment(1),
        "<template for=\"b1\"><script type=\"application/json\" data-part=\"b1\" \
         data-name=\"votes\">{\"votes\":[1,2,3]}</script><p class=\"text\">three</p></template>"
    );
    assert_eq!(
        fragment(2),
        "<template for=\"b2\"><script type=\"application/json\" data-part=\"b2\">null</script>\
         <p class=\"text\">x</p></template>"
    );
    // `Page::suspend_with_data` names its part, as `suspense.on` finds it.
    assert_eq!(
        fragment(3),
        "<template for=\"b3\"><script type=\"application/json\" data-part=\"b3\" \
         data-name=\"count\">4</script><p class=\"text\">4</p></template>"
    );
    assert_eq!(
        body.matches("application/json").count(),
        3,
        "only the parts with data carry an element: {body}"
    );
}

#[tokio::test]
async fn data_that_cannot_be_json_fails_its_part_with_no_data_sent() {
    let engine = Engine::new();
    let (_server, mut response) = open(&engine, |page: Page| {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), "a key JSON cannot have");
        let bad = page
            .boundary(text("loading-0"))
            .on_error(text("no data"))
            .suspend_with_data(async move { (text("never shown"), map) });
        let failing = page
            .boundary(text("loading-1"))
            .on_error(text("failed"))
            .try_suspend_with_data(async { Err::<(Text, u8), _>("the source is down") });
        page.stream(crate::pages::Shell {
            parts: vec![bad, failing],
        })
    })
    .await;
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains("<template for=\"b0\"><p class=\"text\">no data</p></template><?s b0 ")
            && body.contains("o=error>"),
        "{body}"
    );
    assert!(
        body.contains("<template for=\"b1\"><p class=\"text\">failed</p></template>"),
        "{body}"
    );
    assert!(!body.contains("never shown") && !body.contains("application/json"));
}

/// Data whose `Serialize` panics, as an application's own impl can.
struct PanicsWhenSerialized;

impl serde::Serialize for PanicsWhenSerialized {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("the data's Serialize panicked")
    }
}

#[tokio::test]
async fn a_panic_while_serialising_a_parts_data_costs_that_part_only() {
    // Regression: the part's data was serialized after its future, outside
    // the panic guard, so a panicking `Serialize` tore the connection
    // mid-page. It is the part's error content now (a `Panicked`, as any
    // panic), and the page goes on and ends well-formed.
    let engine = Engine::new();
    let (senders, gates) = crate::pages::gates(1);
    let (_server, mut response) = open(&engine, move |page: Page| {
        let [later]: [tokio::sync::oneshot::Receiver<()>; 1] =
            crate::pages::take(&gates).try_into().unwrap();
        let before = page.try_suspend(text("loading-0"), async {
            Ok::<_, Infallible>(text("section-0"))
        });
        let bad = page
            .boundary(text("loading-1"))
            .name("bad")
            .on_error_with(|error| {
                let panicked = error.downcast_ref::<axum_suspense::error::Panicked>();
                text(&format!(
                    "failed-1 panicked={}",
                    panicked.is_some_and(|p| p.message().contains("Serialize panicked"))
                ))
            })
            .suspend_with_data(async { (text("never shown"), PanicsWhenSerialized) });
        let after = page
            .boundary(text("loading-2"))
            .no_timeout()
            .try_suspend(async move {
                let _ = later.await;
                Ok::<_, Infallible>(text("section-2"))
            });
        page.stream(crate::pages::Shell {
            parts: vec![before, bad, after],
        })
    })
    .await;
    response.read_until("failed-1 panicked=true").await;
    let [later]: [tokio::sync::oneshot::Sender<()>; 1] = senders.try_into().unwrap();
    later.send(()).unwrap();
    let body = response.read_to_end().await.to_owned();
    assert!(
        body.contains(
            "<template for=\"b1\"><p class=\"text\">failed-1 panicked=true</p></template><?s b1 "
        ) && body.contains(" o=error n=bad>"),
        "the part shows its error content, with no data: {body}"
    );
    for needle in ["section-0", "section-2"] {
        assert!(body.contains(needle), "{needle} is in: {body}");
    }
    assert!(
        !body.contains("never shown")
            && !body.contains("application/json")
            && body.ends_with("</body></html>"),
        "{body}"
    );
}
