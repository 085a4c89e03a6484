//! Random trees of nested boundaries, released in random orders: whatever
//! the shape and the order, applying the swaps the way the client runtime
//! does must give exactly the fully rendered document.
//!
//! The parts are applied to the page's text by `apply_swaps`, which follows
//! the HTML standard's rules (and the runtime's): `<template for="bI">`
//! replaces the range `<?start name="bI">`…`<?end>` when it is read, and
//! does nothing if that range is not in the document yet. A child sent
//! before its parent would therefore be lost and the comparison would fail.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Router;
use axum::routing::get;
use axum_suspense::{Boundary, Engine, Page, RenderMode};
use tokio::sync::oneshot;

use crate::common::{TestServer, get as http_get};

#[derive(Template)]
#[template(
    source = "<!doctype html><html><body><main>{% for r in roots %}{{ r }}{% endfor %}</main></body></html>",
    ext = "html"
)]
struct Shell {
    roots: Vec<Boundary>,
}

#[derive(Template)]
#[template(source = "<i>loading {{ id }}</i>", ext = "html")]
struct Fallback {
    id: usize,
}

#[derive(Template)]
#[template(
    source = "<div class=\"n{{ id }}\">{{ id }}:{% for c in children %}{{ c }}{% endfor %}</div>",
    ext = "html"
)]
struct Node {
    id: usize,
    children: Vec<Boundary>,
}

/// xorshift64: deterministic per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Tree {
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
    /// Whether a node makes its children before waiting for its own data
    /// (so they can resolve first) or after.
    children_first: Vec<bool>,
}

fn random_tree(rng: &mut Rng) -> Tree {
    let mut tree = Tree {
        roots: Vec::new(),
        children: Vec::new(),
        children_first: Vec::new(),
    };
    fn grow(tree: &mut Tree, rng: &mut Rng, depth: u32) -> usize {
        let id = tree.children.len();
        tree.children.push(Vec::new());
        tree.children_first.push(rng.below(4) != 0);
        if depth < 3 {
            for _ in 0..rng.below(4) {
                if tree.children.len() < 24 {
                    let child = grow(tree, rng, depth + 1);
                    tree.children[id].push(child);
                }
            }
        }
        id
    }
    for _ in 0..1 + rng.below(4) {
        let root = grow(&mut tree, rng, 0);
        tree.roots.push(root);
    }
    tree
}

fn expected(tree: &Tree) -> String {
    fn node(tree: &Tree, id: usize, out: &mut String) {
        out.push_str(&format!("<div class=\"n{id}\">{id}:"));
        for &c in &tree.children[id] {
            node(tree, c, out);
        }
        out.push_str("</div>");
    }
    let mut out = String::from("<!doctype html><html><body><main>");
    for &r in &tree.roots {
        node(tree, r, &mut out);
    }
    out.push_str("</main></body></html>");
    out
}

type Gates = Arc<Mutex<HashMap<usize, oneshot::Receiver<()>>>>;

fn make(page: &Page, tree: &Arc<Tree>, gates: &Gates, id: usize) -> Boundary {
    let gate = gates
        .lock()
        .unwrap()
        .remove(&id)
        .expect("one gate per node");
    let (inner, tree, gates) = (page.clone(), tree.clone(), gates.clone());
    page.try_suspend(Fallback { id }, async move {
        let make_children = || {
            tree.children[id]
                .iter()
                .map(|&c| make(&inner, &tree, &gates, c))
                .collect()
        };
        let children = if tree.children_first[id] {
            let children = make_children();
            let _ = gate.await;
            children
        } else {
            let _ = gate.await;
            make_children()
        };
        Ok::<_, Infallible>(Node { id, children })
    })
}

/// Where the `<template …>` opening at `start` closes, counting nested ones.
fn template_end(html: &str, start: usize) -> usize {
    let mut depth = 0;
    let mut at = start;
    loop {
        let open = html[at..].find("<template").map(|p| p + at);
        let close = html[at..]
            .find("</template>")
            .map(|p| p + at)
            .expect("unclosed template");
        match open {
            Some(o) if o < close => {
                depth += 1;
                at = o + 1;
            }
            _ => {
                depth -= 1;
                at = close + "</template>".len();
                if depth == 0 {
                    return at;
                }
            }
        }
    }
}

/// The document a browser ends with, following the HTML standard's rules
/// for `<template for>` (as the runtime does too): the page read in order,
/// each `<template for="bI">` replacing the range from `<?start name="bI">`
/// to its `<?end>` (nesting counted) the moment it is read, if that range
/// is in the document by then; the runtime's script and the `<?s …>`
/// timings taken out.
fn apply_swaps(body: &str) -> String {
    let mut document = String::new();
    let mut rest = body;
    loop {
        let fragment = rest.find("<template for=\"b");
        let script = rest.find("<script nonce=\"");
        match (fragment, script) {
            (Some(f), s) if s.is_none_or(|s| f < s) => {
                document.push_str(&rest[..f]);
                let end = template_end(rest, f);
                let open_end = rest[f..].find('>').unwrap() + f + 1;
                let id = &rest[f + "<template for=\"b".len()..open_end - 2];
                let content = &rest[open_end..end - "</template>".len()];
                replace_range_of(&mut document, id, content);
                rest = &rest[end..];
                // Its timing.
                assert!(rest.starts_with("<?s b"), "no timing after {id}");
                rest = &rest[rest.find('>').unwrap() + 1..];
            }
            (_, Some(s)) => {
                document.push_str(&rest[..s]);
                let end = rest[s..].find("</script>").unwrap() + s;
                rest = &rest[end + "</script>".len()..];
            }
            _ => {
                document.push_str(rest);
                break;
            }
        }
    }
    document
}

/// Replaces boundary `id`'s range in `document` with `content`; nothing if
/// the range is not there (the part is lost, as in a browser).
fn replace_range_of(document: &mut String, id: &str, content: &str) {
    let start_marker = format!("<?start name=\"b{id}\">");
    let Some(start) = document.find(&start_marker) else {
        return;
    };
    let mut depth = 0;
    let mut at = start + start_marker.len();
    let end = loop {
        let open = document[at..].find("<?start ").map(|p| p + at);
        let close = document[at..]
            .find("<?end>")
            .map(|p| p + at)
            .expect("end marker");
        match open {
            Some(o) if o < close => {
                depth += 1;
                at = o + 1;
            }
            _ if depth > 0 => {
                depth -= 1;
                at = close + 1;
            }
            _ => break close + "<?end>".len(),
        }
    };
    document.replace_range(start..end, content);
}

#[tokio::test]
async fn random_nestings_and_release_orders_end_as_the_full_document() {
    for seed in 1..=40u64 {
        run(seed, RenderMode::Stream).await;
    }
}

/// In document order, with or without holding everything back, the bytes
/// themselves must be the full document: no script, no marker.
#[tokio::test]
async fn random_nestings_in_order_and_buffered_are_the_full_document() {
    for seed in 1..=20u64 {
        run(seed, RenderMode::InOrder).await;
        run(seed, RenderMode::Buffered).await;
    }
}

async fn run(seed: u64, mode: RenderMode) {
    {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let tree = Arc::new(random_tree(&mut rng));
        let nodes = tree.children.len();
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..nodes).map(|_| oneshot::channel::<()>()).unzip();
        let gates: Gates = Arc::new(Mutex::new(receivers.into_iter().enumerate().collect()));

        let engine = Engine::new();
        let router = {
            let (engine, tree, gates) = (engine.clone(), tree.clone(), gates.clone());
            Router::new().route(
                "/",
                get(move || {
                    let page = engine.page_builder().mode(mode).build();
                    let roots = tree
                        .roots
                        .iter()
                        .map(|&r| make(&page, &tree, &gates, r))
                        .collect();
                    async move { page.stream(Shell { roots }) }
                }),
            )
        };
        let server = TestServer::start(router).await;
        let mut response = http_get(server.addr, "/").await;
        match mode {
            RenderMode::Stream => {
                response.read_until("</main>").await;
            }
            RenderMode::InOrder => {
                response.read_until("<main>").await;
            }
            _ => {}
        }

        // Release in a random order, letting the server run a random number
        // of turns between releases: on this current-thread runtime the seed,
        // not the clock, decides the interleaving.
        let mut order: Vec<usize> = (0..nodes).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
        for id in order {
            let _ = senders[id].take().unwrap().send(());
            for _ in 0..rng.below(4) {
                tokio::task::yield_now().await;
            }
        }

        let body = response.read_to_end().await.to_owned();
        let want = expected(&tree);
        if mode == RenderMode::Stream {
            let got = apply_swaps(&body);
            assert_eq!(got, want, "seed {seed}, tree {tree:?}\nbody: {body}");
            assert_eq!(
                body.matches("<script").count(),
                1,
                "seed {seed}: runtime sent once"
            );
        } else {
            assert_eq!(body, want, "{mode} seed {seed}, tree {tree:?}");
        }
        if mode == RenderMode::Buffered {
            assert_eq!(response.chunks.len(), 1, "buffered: one chunk");
        }
        assert_eq!(engine.stats().pending_boundaries(), 0, "seed {seed}");
    }
}
