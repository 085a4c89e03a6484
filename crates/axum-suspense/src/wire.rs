//! The wire format: the exact bytes a streamed page is made of.
//!
//! This is the only module that knows them. In stream mode a page is the
//! HTML standard's out-of-order streaming ("declarative partial updates",
//! WHATWG html#11542): a browser that has it (Chromium 150 and later) puts
//! each part in place as it parses it, with no script; the engine's runtime
//! does the same where the browser does not. A page goes out as three kinds
//! of chunk:
//!
//! 1. **The shell**, up to (not including) its last `</body>`, with every
//!    pending boundary written as a range: `<?start name="bI">`, the
//!    fallback HTML, `<?end>`.
//! 2. **Fragments**, in the order their data resolves: each is the
//!    boundary's HTML in `<template for="bI">` (its content is parsed in
//!    "in template" mode, so `<li>`, `<tr>` and `<td>` survive outside their
//!    parents), then `<?s bI MS [p=J] [o=OUTCOME] [n=NAME]>`: when the server had it
//!    ready (ms from the page's start), its parent boundary if it is nested,
//!    `error` or `timeout` if it shows failure content, and its name if it
//!    has one. The first
//!    fragment chunk starts with the runtime (see [`runtime`]), inline with
//!    the page's CSP nonce, unless the shell already linked it (a browser
//!    that patches natively, when the application serves the runtime file:
//!    [`crate::client::runtime_router`]).
//! 3. **The tail**: the shell's `</body></html>`, held back until every
//!    boundary is in, so the document ends where a document should.
//!
//! A part with data (`suspend_with_data`) starts with its data element, in
//! every mode (see [`push_data`]): `<script type="application/json"
//! data-part="bI" [data-name="NAME"] [data-no-element]>JSON</script>`, the
//! JSON escaped by [`script_json`](crate::client::script_json);
//! `data-no-element` when the part's content does not start with an
//! element. A part without data is sent exactly as if data did not exist.
//!
//! Example: a shell with boundaries 0 and 1 in a list, boundary 1 resolving
//! first, then 0 (line breaks added between chunks):
//!
//! ```text
//! <!doctype html><html><body><ul><?start name="b0"><li>Loading…</li><?end><?start name="b1"><li>Loading…</li><?end></ul>
//!
//! <script nonce="N">(function(){…})();</script><template for="b1"><li>one</li></template><?s b1 3.2>
//!
//! <template for="b0"><li>zero</li></template><?s b0 41.0></body></html>
//! ```
//!
//! Natively the parser replaces everything from `<?start name="b1">` to its
//! `<?end>` with the template's content as the template is parsed, and the
//! template never enters the document. Elsewhere `<?…>` parses as a comment
//! (or an inert processing instruction) and the template stays inert; the
//! runtime applies it once its `<?s …>` has come (so it is complete), in
//! document order. A child boundary's range travels inside its parent's
//! content, so the engine never sends a child's fragment before its
//! parent's (see `body.rs`); both ways, a child's range is in the document
//! when its template comes.
//!
//! Nothing here is taken from input: ids are counters, the fallback and the
//! content are HTML rendered by askama (which escaped every value), so data
//! cannot close the `<template>` or start a marker.

use std::fmt::{self, Write};
use std::ops::Range;
use std::time::Duration;

use crate::decimal::Decimal;
use crate::stats::Outcome;

/// The client runtime as it is sent: `runtime.min.js`, which
/// `scripts/runtime/build` makes from the readable, commented `runtime.js`
/// with terser (`scripts/runtime/build --check`, run by `scripts/test`,
/// fails if the committed file is not that). It observes, or where the
/// browser does not patch natively applies, the page's parts; records
/// [`TIMINGS`]; and dispatches [`REVEAL_EVENT`].
pub fn runtime() -> &'static str {
    include_str!("runtime.min.js")
}

/// Where [`runtime_router`](crate::client::runtime_router) serves the runtime: a name with the
/// runtime's own hash in it (`/_suspense/runtime.1a2b3c4d.js`), so it can be
/// cached for ever and a new version is a new URL.
pub fn runtime_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| hashed_path("runtime", runtime()))
}

/// The islands module as it is served: `islands.min.js`, made by
/// `scripts/runtime/build` from the readable `islands.js`. It defines
/// `suspense.on(name, (element, data) => …)`, which runs once for each part
/// named `name` that has data
/// ([`suspend_with_data`](crate::BoundaryBuilder::suspend_with_data)),
/// whether the part came before or after the call, parents before their
/// children, in every render mode. `data` is the part's parsed data;
/// `element` the part's first element, the one right after its data
/// element, or `null` when the part does not start with an element (it
/// starts with text or a nested part, or is empty): never an element
/// outside the part. Give an island one root element. About 720 bytes
/// (460 gzipped), once per browser: a page that wants it links it, once,
/// anywhere (served by [`runtime_router`](crate::client::runtime_router) at
/// [`islands_path`], immutable, allowed by the default policy's `'self'`).
///
/// Both the module and the page's own script load `async`, in either
/// order, so the page registers through the module's queue, which works
/// before and after the module has loaded: a script that runs first puts
/// `[name, callback]` on `suspense.q`, which the module drains when it
/// loads; after that, `suspense.q.push` registers at once.
///
/// ```html
/// <script src="/_suspense/islands.1a2b3c4d.js" async></script>
/// <script src="/static/votes.js" async></script>
/// ```
///
/// ```js
/// // votes.js
/// ((self.suspense ||= {}).q ||= []).push(["votes", (element, data) => {
///   element.querySelector("button").onclick = () => vote(data.id);
/// }]);
/// ```
///
/// (A file, not an inline script: under the engine's default policy an
/// inline script needs the page's nonce,
/// [`Page::csp_nonce`](crate::Page::csp_nonce); and an inline
/// `type="module"` script waits for the whole document, the end of the
/// stream on a streamed page.)
///
/// ```
/// use axum_suspense::client::{islands, islands_path};
///
/// assert!(islands().contains("suspense"));
/// assert!(islands_path().starts_with("/_suspense/islands."));
/// ```
pub fn islands() -> &'static str {
    include_str!("islands.min.js")
}

/// Where [`runtime_router`](crate::client::runtime_router) serves
/// [`islands`]: `/_suspense/islands.HASH.js`, immutable as the runtime's.
pub fn islands_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| hashed_path("islands", islands()))
}

/// `/_suspense/NAME.HASH.js`, with the hash of `source`.
fn hashed_path(name: &str, source: &str) -> String {
    // FNV-1a, 32 bits: a name, not a defence.
    let hash = source.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("/_suspense/{name}.{hash:08x}.js")
}

/// What the runtime records, for tests and tools: `window.__suspense` maps
/// each boundary id to `{s, r, f, p, o, n}`, all times in ms:
///
/// - `s`: when the server had the boundary's content ready, counted from the
///   page's start on the server (its handler);
/// - `r`: when the content was revealed, on the page's `performance.now()`
///   clock (0 = navigation start);
/// - `f`, `p`: for a nested boundary, its parent's id and when its fallback
///   entered the document (the parent's reveal). The debug overlay also sets
///   `f` for the boundaries that came with the shell;
/// - `o`: `"error"` or `"timeout"` if the boundary shows failure content;
/// - `n`: the boundary's name, if it has one
///   ([`BoundaryBuilder::name`](crate::BoundaryBuilder::name)).
///
/// A browser test reads it with `return window[TIMINGS]`; the runtime, the
/// first script of a streamed page, writes it:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine, Text, client::TIMINGS};
///
/// #[derive(Template)]
/// #[template(source = "<body>{{ part }}</body>", ext = "html")]
/// struct Shell { part: Boundary }
/// #[derive(Template)]
/// #[template(source = "<p>part</p>", ext = "html")]
/// struct Part;
///
/// let page = Engine::new().page();
/// let part = page.suspend(Text::new("…"), async { Part });
/// let body = page.stream(Shell { part }).into_body();
/// let html = axum::body::to_bytes(body, usize::MAX).await.unwrap();
/// let html = std::str::from_utf8(&html).unwrap();
/// assert!(html.contains(&format!("self.{TIMINGS}")));
/// # });
/// ```
pub const TIMINGS: &str = "__suspense";

/// The event the runtime dispatches on `document` after each reveal
/// (stream mode; natively and by its polyfill); its `detail` holds the
/// boundary's `id`, its `name` (or `null`), the revealed `nodes` and their
/// `parent` element, and the part's `data`, parsed (`null` if it has none:
/// [`suspend_with_data`](crate::BoundaryBuilder::suspend_with_data)).
/// Where the browser patches natively `nodes` is `[parent]`: the parser
/// does not say which nodes it inserted. A page's own script enhances each
/// part as it arrives (selective hydration):
///
/// ```js
/// document.addEventListener("suspense:reveal", (event) => {
///   for (const node of event.detail.nodes) enhance(node, event.detail.data);
/// });
/// ```
///
/// A listener added late misses the parts already in; the islands module
/// ([`islands`]) does not, and works in every mode.
///
/// ```
/// assert_eq!(axum_suspense::client::REVEAL_EVENT, "suspense:reveal");
/// ```
pub const REVEAL_EVENT: &str = "suspense:reveal";

/// The `?debug=1` overlay: a waterfall of the page's boundaries, drawn from
/// [`TIMINGS`] (readable source in `overlay.js`).
const OVERLAY: &str = include_str!("overlay.js");

/// What the runtime is told of a boundary that is in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Swap {
    pub(crate) id: u32,
    /// When its content was ready, from the page's start.
    pub(crate) at: Duration,
    pub(crate) outcome: Outcome,
    /// The boundary whose content held its range, if it is nested.
    pub(crate) parent: Option<u32>,
    /// Its name, if it has one: 1 to 64 of `A-Z a-z 0-9 _ . : -`, nothing
    /// that needs escaping in a processing instruction.
    pub(crate) name: Option<&'static str>,
}

/// A pending boundary's range: start marker, the fallback `render_fallback`
/// writes, end marker; and where in it the fallback is. A fallback that
/// leaves elements open would put the end marker (and what follows the
/// boundary) inside them, where a browser that patches natively replaces
/// all of it; so their end tags are written before the end marker (see
/// `tags.rs`). A fallback that fails to render is left out.
pub(crate) fn placeholder(
    id: u32,
    render_fallback: impl FnOnce(&mut String) -> Result<(), ()>,
) -> (String, Range<usize>) {
    let mut out = String::with_capacity(128);
    push_range_start(&mut out, id);
    let start = out.len();
    if render_fallback(&mut out).is_err() {
        // A failed render leaves nothing half-written behind.
        out.truncate(start);
    }
    let end = out.len();
    if let Some(closing) = crate::tags::unclosed(&out[start..]) {
        out.push_str(&closing);
    }
    out.push_str("<?end>");
    (out, start..end)
}

/// What every range's start marker begins with.
pub(crate) const RANGE_START: &str = "<?start name=\"b";

/// A range's start marker, `<?start name="bI">`: how the placeholder of
/// boundary `id` begins.
pub(crate) fn push_range_start(out: &mut String, id: u32) {
    out.push_str(RANGE_START);
    out.push_str(Decimal::new(u128::from(id)).as_str());
    out.push_str("\">");
}

/// The marker nonce of a page's secret.
pub(crate) fn marker_nonce(secret: &[u8; 16]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&secret[..8]);
    u64::from_le_bytes(word)
}

/// The length of [`write_marker`]'s marker for boundary `id`.
pub(crate) fn marker_len(id: u32) -> usize {
    "<!--".len() + 16 + ":".len() + Decimal::new(u128::from(id)).as_str().len() + "-->".len()
}

/// In the in-order and buffered modes a boundary is written as a marker the
/// engine replaces with its content before anything leaves the server:
/// `<!--NONCE:i-->`. Escaped data cannot contain `<!--`; the page's random
/// nonce keeps even trusted (`|safe`) HTML from looking like one.
pub(crate) fn write_marker(out: &mut dyn Write, nonce: u64, id: u32) -> fmt::Result {
    write!(out, "<!--{nonce:016x}:{id}-->")
}

/// What every marker of the page with `nonce` starts with.
pub(crate) fn marker_prefix(nonce: u64) -> String {
    format!("<!--{nonce:016x}:")
}

/// The next marker in `text` from byte `from`: its start, its end, its id.
pub(crate) fn find_marker(text: &str, from: usize, prefix: &str) -> Option<(usize, usize, u32)> {
    let mut at = from;
    while let Some(found) = text[at..].find(prefix) {
        let start = at + found;
        let digits_at = start + prefix.len();
        let digits = text[digits_at..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let end = digits_at + digits;
        if digits > 0
            && text[end..].starts_with("-->")
            && let Ok(id) = text[digits_at..end].parse()
        {
            return Some((start, end + 3, id));
        }
        at = digits_at;
    }
    None
}

/// In stream mode, sends a browser without JavaScript (which would keep the
/// fallbacks for ever) to the in-order page: a `<noscript>` refresh right
/// after `<head …>`, or at the start if the shell has no `<head>`. With
/// scripting on, a `<noscript>` in the head is inert text.
pub(crate) fn insert_no_script_refresh(head: &mut String, url: &str) {
    const OPEN: &str = "<noscript><meta http-equiv=\"refresh\" content=\"0; url=";
    const CLOSE: &str = "\"></noscript>";
    // Room for the URL with a few escapes: the tag is made in one allocation.
    let mut tag = String::with_capacity(OPEN.len() + url.len() + 32 + CLOSE.len());
    tag.push_str(OPEN);
    for c in url.chars() {
        match c {
            '&' => tag.push_str("&amp;"),
            '"' => tag.push_str("&quot;"),
            '<' => tag.push_str("&lt;"),
            '>' => tag.push_str("&gt;"),
            c => tag.push(c),
        }
    }
    tag.push_str(CLOSE);
    let at = find_head_tag(head).and_then(|at| head[at..].find('>').map(|close| at + close + 1));
    match at {
        Some(at) => head.insert_str(at, &tag),
        // A `<noscript>` before the doctype would put the page in quirks
        // mode; without a head, the end of the shell is the safe place.
        None => head.push_str(&tag),
    }
}

/// Where the first `<head>` or `<head …>` tag (not `<header>`) starts, in
/// any case. Looks only at each `<` (a memchr), not at every byte.
fn find_head_tag(html: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut from = 0;
    while let Some(found) = html[from..].find('<') {
        let at = from + found;
        if bytes
            .get(at + 1..at + 5)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"head"))
            && matches!(
                bytes.get(at + 5),
                Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')
            )
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Appends a resolved boundary's content for its range, then what the
/// runtime is told of it.
pub(crate) fn push_fragment(out: &mut String, swap: &Swap, html: &str) {
    // Pieces and integers pushed as they are: `write!` costs more here
    // than the rest of a small fragment.
    let id = Decimal::new(u128::from(swap.id));
    out.push_str("<template for=\"b");
    out.push_str(id.as_str());
    out.push_str("\">");
    out.push_str(html);
    // Tenths of a millisecond are plenty beside the client's clock.
    let tenths = (swap.at.as_micros() + 50) / 100;
    out.push_str("</template><?s b");
    out.push_str(id.as_str());
    out.push(' ');
    out.push_str(Decimal::new(tenths / 10).as_str());
    out.push('.');
    out.push_str(Decimal::new(tenths % 10).as_str());
    if let Some(parent) = swap.parent {
        out.push_str(" p=");
        out.push_str(Decimal::new(u128::from(parent)).as_str());
    }
    match swap.outcome {
        Outcome::Resolved => {}
        Outcome::Failed | Outcome::Panicked => out.push_str(" o=error"),
        Outcome::TimedOut => out.push_str(" o=timeout"),
    }
    if let Some(name) = swap.name {
        out.push_str(" n=");
        out.push_str(name);
    }
    out.push('>');
}

/// What every part's data element starts with (see [`push_data`]).
pub(crate) const DATA_START: &str = "<script type=\"application/json\" data-part=\"b";

/// Appends the data element of a part whose content is `html`, written
/// first in the part's content in every mode: `<script
/// type="application/json" data-part="bI" [data-name="NAME"]
/// [data-no-element]>JSON</script>`. `json` comes from
/// [`script_json`](crate::data::script_json) (nothing in it can end the
/// element); the name needs no escaping (see [`Swap::name`]). First, so
/// that a part's data comes before its nested parts' in document order
/// (parents before children), and the element after it is the part's
/// first when the part starts with one. When it does not (text, a nested
/// part's placeholder, a comment, nothing: see [`starts_with_element`]),
/// `data-no-element` says so: the next element in the document is then
/// not the part's (the islands module gives `null`).
pub(crate) fn push_data(out: &mut String, id: u32, name: Option<&str>, json: &str, html: &str) {
    out.push_str(DATA_START);
    out.push_str(Decimal::new(u128::from(id)).as_str());
    out.push('"');
    if let Some(name) = name {
        out.push_str(" data-name=\"");
        out.push_str(name);
        out.push('"');
    }
    if !starts_with_element(html) {
        out.push_str(" data-no-element");
    }
    out.push('>');
    out.push_str(json);
    out.push_str("</script>");
}

/// Whether `html` starts, after ASCII whitespace, with a start tag: `<`
/// and a letter. What the HTML parser makes of it is then the first node
/// after the whitespace, an element, and the part's own.
pub(crate) fn starts_with_element(html: &str) -> bool {
    let mut rest = html
        .trim_start_matches(['\t', '\n', '\x0c', '\r', ' '])
        .bytes();
    rest.next() == Some(b'<') && rest.next().is_some_and(|b| b.is_ascii_alphabetic())
}

/// Appends the runtime, inline, with the page's CSP `nonce` (so a policy
/// without `'unsafe-inline'` lets it run).
pub(crate) fn push_runtime(out: &mut String, nonce: &str) {
    push_script_open(out, nonce);
    out.push_str(runtime());
    out.push_str("</script>");
}

/// Appends a link to the runtime file, loaded while the page streams. It
/// carries the nonce too, for policies that allow scripts by nonce only.
pub(crate) fn push_runtime_link(out: &mut String, nonce: &str) {
    out.push_str("<script src=\"");
    out.push_str(runtime_path());
    out.push_str("\" nonce=\"");
    out.push_str(nonce);
    out.push_str("\" async></script>");
}

/// Appends the debug overlay's script (with the page's CSP `nonce`, which
/// it also gives the `<style>` it makes).
pub(crate) fn push_overlay(out: &mut String, nonce: &str) {
    push_script_open(out, nonce);
    out.push_str(OVERLAY);
    out.push_str("</script>");
}

/// `<script nonce="…">`: the nonce is base64 (letters, digits, `+`, `/`),
/// nothing that needs escaping in an attribute.
fn push_script_open(out: &mut String, nonce: &str) {
    out.push_str("<script nonce=\"");
    out.push_str(nonce);
    out.push_str("\">");
}

/// Splits a rendered shell into the part sent at once and the tail held back
/// until every boundary is in: the split is at the last `</body` (any case),
/// and a shell without one keeps nothing back.
pub(crate) fn split_shell(mut html: String) -> (String, String) {
    match rfind_ascii_case_insensitive(html.as_bytes(), b"</body") {
        Some(at) => {
            let tail = html.split_off(at);
            (html, tail)
        }
        None => (html, String::new()),
    }
}

fn rfind_ascii_case_insensitive(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .rev()
        .find(|&at| haystack[at..at + needle.len()].eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_is_small() {
        assert!(
            runtime().len() <= 1100,
            "the runtime grew to {} bytes, over its 1,100-byte budget",
            runtime().len()
        );
        assert!(
            runtime_path().starts_with("/_suspense/runtime.") && runtime_path().ends_with(".js")
        );
        // 721 bytes (458 gzipped) with the queue and `data-no-element`.
        assert!(
            islands().len() <= 760,
            "islands grew to {} bytes, over its 760-byte budget",
            islands().len()
        );
        assert_ne!(runtime_path(), islands_path());
    }

    #[test]
    fn scripts_cannot_end_early() {
        // Inside <script>, `</script` (any case) ends the element, and
        // `<!--` starts the legacy escape that can swallow it.
        for source in [runtime(), OVERLAY, islands()] {
            assert!(source.contains(&format!("self.{TIMINGS}")));
            assert!(source == OVERLAY || source.contains(&format!("\"{REVEAL_EVENT}\"")));
            let lower = source.to_ascii_lowercase();
            assert!(!lower.contains("</script") && !lower.contains("<!--"));
        }
    }

    #[test]
    fn a_part_starts_with_an_element_only_if_its_first_tag_opens_one() {
        for html in ["<section>", "\n  <li class=x>", "<x-card>", "<B>"] {
            assert!(starts_with_element(html), "{html:?}");
        }
        for html in [
            "",
            " \n",
            "3 votes <button>",
            "<?start name=\"b2\">",
            "<!--0123456789abcdef:2-->",
            "</p><p>",
            "< b>",
            "&lt;b>",
        ] {
            assert!(!starts_with_element(html), "{html:?}");
        }
        let mut out = String::new();
        push_data(&mut out, 4, Some("n"), "1", "3 votes");
        push_data(&mut out, 5, None, "2", "<p>x</p>");
        assert_eq!(
            out,
            "<script type=\"application/json\" data-part=\"b4\" data-name=\"n\" \
             data-no-element>1</script><script type=\"application/json\" data-part=\"b5\">2</script>"
        );
    }

    #[test]
    fn shell_splits_at_last_body_close() {
        let (head, tail) = split_shell("<html><BODY>x</Body ></html>".to_string());
        assert_eq!(head, "<html><BODY>x");
        assert_eq!(tail, "</Body ></html>");
        let (head, tail) = split_shell("<p>fragment</p>".to_string());
        assert_eq!((head.as_str(), tail.as_str()), ("<p>fragment</p>", ""));
    }

    #[test]
    fn markers_are_found_by_their_prefix_only() {
        let secret = [7u8; 16];
        assert_eq!(marker_nonce(&secret), 0x0707_0707_0707_0707);
        let prefix = marker_prefix(0xab);
        let mut text = String::from("<p>a</p><!--00000000000000ab:x--><!--00000000000000ab:");
        let before = text.len();
        write_marker(&mut text, 0xab, 7).unwrap();
        assert_eq!(text.len() - before, marker_len(7));
        text.push_str("<!--00000000000000ac:8-->");
        let (start, end, id) = find_marker(&text, 0, &prefix).unwrap();
        assert_eq!((&text[start..end], id), ("<!--00000000000000ab:7-->", 7));
        assert_eq!(find_marker(&text, end, &prefix), None);
    }

    #[test]
    fn the_no_script_refresh_goes_in_the_head() {
        let mut head =
            String::from("<!doctype html><html><HEAD lang=x><title>t</title></head><body><header>");
        insert_no_script_refresh(&mut head, "/b?x=1&render=in-order");
        assert_eq!(
            head,
            "<!doctype html><html><HEAD lang=x><noscript><meta http-equiv=\"refresh\" \
             content=\"0; url=/b?x=1&amp;render=in-order\"></noscript><title>t</title></head><body><header>"
        );
        let mut bare = String::from("<header>h</header>");
        insert_no_script_refresh(&mut bare, "/");
        assert!(bare.starts_with("<header>h</header><noscript>"));
        // `<head` as the start of another name is passed over, not taken.
        let mut late = String::from("<x-heading></x-heading><head>");
        insert_no_script_refresh(&mut late, "/");
        assert!(late.starts_with("<x-heading></x-heading><head><noscript>"));
        let mut header_first = String::from("<headers><head>");
        insert_no_script_refresh(&mut header_first, "/");
        assert!(header_first.starts_with("<headers><head><noscript>"));
    }

    #[test]
    fn a_fragment_says_when_it_was_ready_and_how_it_ended() {
        let swap = |id, ms, outcome, parent| Swap {
            id,
            at: Duration::from_micros(ms),
            outcome,
            parent,
            name: None,
        };
        let mut out = String::new();
        push_fragment(
            &mut out,
            &swap(3, 1_260, Outcome::Resolved, None),
            "<li>x</li>",
        );
        push_fragment(
            &mut out,
            &swap(1, 30_000_040, Outcome::TimedOut, Some(0)),
            "t",
        );
        push_fragment(
            &mut out,
            &Swap {
                name: Some("reviews"),
                ..swap(0, 7, Outcome::Panicked, None)
            },
            "",
        );
        assert_eq!(
            out,
            "<template for=\"b3\"><li>x</li></template><?s b3 1.3>\
             <template for=\"b1\">t</template><?s b1 30000.0 p=0 o=timeout>\
             <template for=\"b0\"></template><?s b0 0.0 o=error n=reviews>"
        );
        let fallback = |html: &'static str| {
            move |out: &mut String| {
                out.push_str(html);
                Ok(())
            }
        };
        let (whole, range) = placeholder(2, fallback("<p>…</p>"));
        assert_eq!(whole, "<?start name=\"b2\"><p>…</p><?end>");
        assert_eq!(&whole[range], "<p>…</p>");
        let (broken, range) = placeholder(0, fallback("<div class=\"x\"><p>loading"));
        assert_eq!(
            broken,
            "<?start name=\"b0\"><div class=\"x\"><p>loading</p></div><?end>"
        );
        assert_eq!(&broken[range], "<div class=\"x\"><p>loading");
        let (failed, range) = placeholder(12, |out| {
            out.push_str("<p>half");
            Err(())
        });
        assert_eq!(failed, "<?start name=\"b12\"><?end>");
        assert!(range.is_empty());
    }
}
