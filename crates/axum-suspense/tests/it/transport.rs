//! The transport is safe for any data: arbitrary strings (markup, comment,
//! template and script terminators, line separators, NULs, what lossy
//! decoding leaves of invalid input) go through a page as boundary data in
//! text, attribute, list, table and nested contexts; the stream is parsed
//! by html5ever, the swaps are applied as the runtime applies them, and the
//! data must come out as text, in its place, with no element injected. The
//! in-order and buffered modes must give the same document.

use std::convert::Infallible;
use std::rc::Rc;

use askama::Template;
use axum_suspense::{Boundary, Engine, Page, RenderMode};
use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use proptest::prelude::*;

#[derive(Template)]
#[template(
    source = r#"<!doctype html><html><head><title>{{ data }}</title></head><body><main id="m">{{ a }}</main><ul id="u">{{ b }}</ul><table><tbody id="t">{{ c }}</tbody></table><footer>end</footer></body></html>"#,
    ext = "html"
)]
struct Shell {
    data: String,
    a: Boundary,
    b: Boundary,
    c: Boundary,
}

/// A fallback, valid where its boundary is (the parser would move an
/// `<em>` out of a `<tbody>`, away from the boundary's markers, as it would
/// any content; that is the page's to get right, as with React).
#[derive(Template)]
#[template(
    source = r#"{% if context == "tbody" %}<tr><td class="f">{{ data }}</td></tr>{% else if context == "ul" %}<li class="f">{{ data }}</li>{% else %}<em class="f">{{ data }}</em>{% endif %}"#,
    ext = "html"
)]
struct Fallback {
    context: &'static str,
    data: String,
}

#[derive(Template)]
#[template(
    source = r#"<p class="d" title="{{ data }}">{{ data }}</p>{{ inner }}"#,
    ext = "html"
)]
struct Paragraph {
    data: String,
    inner: Boundary,
}

#[derive(Template)]
#[template(
    source = r#"<span class="d" title="{{ data }}">{{ data }}</span>"#,
    ext = "html"
)]
struct Span {
    data: String,
}

#[derive(Template)]
#[template(
    source = r#"<li class="d" title="{{ data }}">{{ data }}</li>"#,
    ext = "html"
)]
struct Item {
    data: String,
}

#[derive(Template)]
#[template(
    source = r#"<tr><td class="d" title="{{ data }}">{{ data }}</td></tr>"#,
    ext = "html"
)]
struct Row {
    data: String,
}

/// Ready after `turns` trips through the scheduler, so the boundaries
/// resolve in every order.
async fn after<T>(turns: u8, value: T) -> Result<T, Infallible> {
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
    Ok(value)
}

/// The page, with `data` everywhere and the boundaries resolving after the
/// given numbers of turns, rendered whole in `mode`.
fn render(data: &str, turns: [u8; 4], mode: RenderMode) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let page: Page = Engine::new().page_builder().mode(mode).build();
        let d = || data.to_owned();
        let fallback = |context| Fallback { context, data: d() };
        let inner_page = page.clone();
        let inner_data = d();
        let a = page.try_suspend(fallback("main"), async move {
            let inner = inner_page.try_suspend(
                Fallback {
                    context: "p",
                    data: inner_data.clone(),
                },
                after(
                    turns[3],
                    Span {
                        data: inner_data.clone(),
                    },
                ),
            );
            after(
                turns[0],
                Paragraph {
                    data: inner_data,
                    inner,
                },
            )
            .await
        });
        let b = page.try_suspend(fallback("ul"), after(turns[1], Item { data: d() }));
        let c = page.try_suspend(fallback("tbody"), after(turns[2], Row { data: d() }));
        let response = page.stream(Shell { data: d(), a, b, c });
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    })
}

pub fn parse(html: &str) -> RcDom {
    html5ever::parse_document(RcDom::default(), Default::default()).one(html)
}

pub fn element_name(node: &Handle) -> Option<&str> {
    match &node.data {
        NodeData::Element { name, .. } => Some(&name.local),
        _ => None,
    }
}

pub fn attr(node: &Handle, attr: &str) -> Option<String> {
    match &node.data {
        NodeData::Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|a| &*a.name.local == attr)
            .map(|a| a.value.to_string()),
        _ => None,
    }
}

/// Every node under `root` in document order (not into template contents,
/// as `getElementById` does not look there).
pub fn descendants(root: &Handle, out: &mut Vec<Handle>) {
    for child in root.children.borrow().iter() {
        out.push(child.clone());
        descendants(child, out);
    }
}

fn detach(node: &Handle) {
    if let Some(parent) = node.parent.take().and_then(|p| p.upgrade()) {
        parent
            .children
            .borrow_mut()
            .retain(|c| !Rc::ptr_eq(c, node));
    }
}

pub fn text_of(node: &Handle) -> String {
    let mut all = Vec::new();
    descendants(node, &mut all);
    all.iter()
        .filter_map(|n| match &n.data {
            NodeData::Text { contents } => Some(contents.borrow().to_string()),
            _ => None,
        })
        .collect()
}

/// A comment's text, if `node` is one (html5ever, like every parser
/// without processing instructions in HTML, makes one of each `<?…>`).
fn comment(node: &Handle) -> Option<String> {
    match &node.data {
        NodeData::Comment { contents } => Some(contents.to_string()),
        _ => None,
    }
}

/// What the runtime does with `<template for="bI">` where the browser does
/// not (see `runtime.js`), which is what the HTML standard has the parser
/// do: the range from `<?start name="bI">` to its `<?end>` (among the start
/// marker's siblings, nesting counted) is replaced by the content.
fn apply(document: &Handle, template: &Handle) {
    let name = attr(template, "for").unwrap();
    let wanted = format!("?start name=\"{name}\"");
    let mut all = Vec::new();
    descendants(document, &mut all);
    let start = all
        .into_iter()
        .find(|n| comment(n).as_deref() == Some(wanted.as_str()))
        .unwrap_or_else(|| panic!("{name} without its range"));
    let parent = start.parent.take().unwrap().upgrade().unwrap();
    start.parent.set(Some(Rc::downgrade(&parent)));
    let mut children = parent.children.borrow_mut();
    let at = children.iter().position(|c| Rc::ptr_eq(c, &start)).unwrap();
    let mut depth = 0;
    let mut end = None;
    for (offset, node) in children[at + 1..].iter().enumerate() {
        match comment(node).as_deref() {
            Some(c) if c.starts_with("?start ") => depth += 1,
            Some("?end") if depth == 0 => {
                end = Some(at + 1 + offset);
                break;
            }
            Some("?end") => depth -= 1,
            _ => {}
        }
    }
    let end = end.unwrap_or_else(|| panic!("no end marker for {name}"));
    let fragment = match &template.data {
        NodeData::Element {
            template_contents, ..
        } => template_contents.borrow().clone().unwrap(),
        _ => unreachable!(),
    };
    let moved: Vec<Handle> = fragment.children.take();
    for node in &moved {
        node.parent.set(Some(Rc::downgrade(&parent)));
    }
    children.splice(at..=end, moved);
    drop(children);
    detach(template);
}

/// Applies every `<template for>` in document order (a parent's before its
/// child's), then takes out what the runtime takes out: its script and the
/// `<?s …>` timings (not the parts' data, `<script type="application/json">`,
/// which stays where it came).
pub fn apply_swaps(document: &Handle) {
    loop {
        let mut all = Vec::new();
        descendants(document, &mut all);
        let Some(template) = all
            .into_iter()
            .find(|n| element_name(n) == Some("template") && attr(n, "for").is_some())
        else {
            break;
        };
        apply(document, &template);
    }
    let mut all = Vec::new();
    descendants(document, &mut all);
    for node in all {
        let timing = comment(&node).is_some_and(|c| c.starts_with("?s b"));
        let data = attr(&node, "type").as_deref() == Some("application/json");
        if timing || (element_name(&node) == Some("script") && !data) {
            detach(&node);
        }
    }
}

/// The document after parsing (and, in stream mode, the swaps): its body
/// as element names with their class (the skeleton), the `.d` elements'
/// texts and titles, and the title; anything else (a comment, a template, a
/// script, a stray element) shows in the skeleton.
fn outcome(html: &str) -> (Vec<String>, Vec<(String, String)>, String) {
    let dom = parse(html);
    apply_swaps(&dom.document);
    let mut all = Vec::new();
    descendants(&dom.document, &mut all);
    let body = all
        .iter()
        .find(|n| element_name(n) == Some("body"))
        .unwrap()
        .clone();
    let title = all
        .iter()
        .find(|n| element_name(n) == Some("title"))
        .map(text_of)
        .unwrap_or_default();
    let mut nodes = Vec::new();
    descendants(&body, &mut nodes);
    let mut skeleton = Vec::new();
    let mut data = Vec::new();
    for node in &nodes {
        match &node.data {
            NodeData::Element { name, .. } => {
                skeleton.push(format!(
                    "{}.{}",
                    name.local,
                    attr(node, "class").unwrap_or_default()
                ));
                if attr(node, "class").as_deref() == Some("d") {
                    data.push((text_of(node), attr(node, "title").unwrap_or_default()));
                }
            }
            NodeData::Comment { contents } => skeleton.push(format!("<!--{contents}-->")),
            NodeData::Text { .. } => {}
            _ => skeleton.push("?".into()),
        }
    }
    (skeleton, data, title)
}

/// HTML's input stream turns CR LF and CR into LF; a NUL in text is
/// dropped (in body) and in an attribute or the title becomes U+FFFD.
pub fn as_parsed(data: &str, in_text: bool) -> String {
    let lines = data.replace("\r\n", "\n").replace('\r', "\n");
    if in_text {
        lines.replace('\0', "")
    } else {
        lines.replace('\0', "\u{FFFD}")
    }
}

/// Strings that attack the transport, mixed with arbitrary ones.
pub fn data() -> impl Strategy<Value = String> {
    let hostile = prop::sample::select(vec![
        "</template>",
        "<template id=\"S:0\">",
        "<template id=\"B:1\"></template>",
        "<template for=\"b0\">",
        "<?start name=\"b1\">",
        "<?end>",
        "<?s b0 1.0>",
        "<!--?end-->",
        "<!--",
        "-->",
        "<!--/0-->",
        "<!--/1-->",
        "--!>",
        "</script>",
        "<script>",
        "<script>$S(0)</script>",
        "<!--0000000000000000:0-->",
        "<![CDATA[",
        "]]>",
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;",
        "\"",
        "'",
        "`",
        "=",
        "\u{2028}",
        "\u{2029}",
        "\0",
        "\r\n",
        "\r",
        "\n",
        "<!doctype html>",
        "</body>",
        "</html>",
        "<li>",
        "</tr>",
        "</td>",
        "</title>",
        "<title>",
        "<plaintext>",
        "<svg><![CDATA[x]]></svg>",
        "\u{FFFD}",
        "\u{FEFF}",
        "\u{0085}",
        "\u{200B}",
        "😀",
    ])
    .prop_map(str::to_owned);
    let lossy = prop::collection::vec(any::<u8>(), 0..12)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    // A lone surrogate as UTF-8 (ED A0 80) or CESU-8, decoded lossily.
    let surrogate =
        Just(String::from_utf8_lossy(&[0xED, 0xA0, 0x80, 0xED, 0xBF, 0xBF]).into_owned());
    let piece = prop_oneof![4 => hostile, 2 => any::<String>(), 2 => lossy, 1 => surrogate];
    prop::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn any_data_comes_out_as_text_in_its_place(data in data(), turns in any::<[u8; 4]>()) {
        let turns = turns.map(|t| t % 4);
        let streamed = outcome(&render(&data, turns, RenderMode::Stream));
        let skeleton: Vec<String> = [
            "main.", "p.d", "span.d", "ul.", "li.d", "table.", "tbody.", "tr.", "td.d", "footer.",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        prop_assert_eq!(&streamed.0, &skeleton, "elements injected or transport left behind");
        let expected = (as_parsed(&data, true), as_parsed(&data, false));
        prop_assert_eq!(&streamed.1, &vec![expected; 4]);
        prop_assert_eq!(&streamed.2, &as_parsed(&data, false));
        for mode in [RenderMode::InOrder, RenderMode::Buffered] {
            prop_assert_eq!(&outcome(&render(&data, turns, mode)), &streamed, "{:?}", mode);
        }
    }
}
