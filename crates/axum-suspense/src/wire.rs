//! The wire format: the exact bytes a streamed page is made of.
//!
//! This is the only module that knows them. A page goes out as three kinds of
//! chunk:
//!
//! 1. **The shell**, up to (not including) its last `</body>`, with every
//!    pending boundary written as a *placeholder*: an empty `<template>` that
//!    marks where the boundary starts, the fallback HTML, and a comment that
//!    marks where it ends.
//! 2. **Fragments**, in the order their data resolves. Each is the boundary's
//!    HTML inside a `<template>` (its content is parsed in "in template" mode,
//!    so `<li>`, `<tr>` and `<td>` survive outside their parents), followed by
//!    one inline `<script>` per chunk that calls the swap function once per
//!    fragment. The swap function itself is defined in the first such script
//!    of the response and never again. Every script carries the page's
//!    Content-Security-Policy nonce (`N` below), so a strict policy lets it
//!    run.
//! 3. **The tail**: the shell's `</body></html>`, held back until every
//!    boundary is in, so the document ends where a document should.
//!
//! Example: a shell with boundaries 0 and 1 in a list, boundary 1 resolving
//! first, then 0 (line breaks added between chunks):
//!
//! ```text
//! <!doctype html><html><body><ul><template id="B:0"></template><li>Loading…</li><!--/0-->
//! <template id="B:1"></template><li>Loading…</li><!--/1--></ul>
//!
//! <template id="S:1"><li>one</li></template><script nonce="N">$S=function(i,…){…};$S(1)</script>
//!
//! <template id="S:0"><li>zero</li></template><script nonce="N">$S(0)</script></body></html>
//! ```
//!
//! What the swap does for boundary `i`: remove every node from `B:i` up to
//! and including the comment `/i` (the fallback), put the content of `S:i` in
//! their place, remove the `S:i` template and the script that is running. A
//! child boundary's placeholder travels inside its parent's content, so the
//! engine never sends a child's fragment before its parent's (see
//! `body.rs`); when the child's `$S` runs, its placeholder is in the DOM.
//!
//! Nothing here is taken from input: ids are counters, the fallback and the
//! content are HTML rendered by askama (which escaped every value), so data
//! cannot close the `<template>` or the `<script>`.

use std::fmt::{self, Write};
use std::time::Duration;

use crate::stats::Outcome;

/// The client runtime: the swap function, minified by hand (React's `$RC` is
/// 478 bytes). `$S(i, s, o)` reveals boundary `i`, whose data the server had
/// ready `s` ms after the page started (`o`: `"error"` or `"timeout"` when
/// the boundary shows failure content), records both times on the global
/// `__suspense` (see [`TIMINGS`]), and dispatches [`REVEAL_EVENT`] on the
/// document. Readable form:
///
/// ```js
/// $S = function (i, s, o, d, b, t, p, e, n, R, x, c, k) {
///   d = document;
///   R = self.__suspense || (self.__suspense = {});
///   x = R[i] || (R[i] = {});
///   x.s = s;                                        // server: data ready
///   o && (x.o = o);
///   b = d.getElementById("B:" + i);                 // start marker
///   t = d.getElementById("S:" + i);                 // content
///   if (b && t) {
///     p = b.parentNode;
///     // find the end marker among the start marker's siblings; if broken
///     // markup moved it elsewhere, leave the fallback rather than delete
///     // everything after the start marker
///     for (e = b; e && !(e.nodeType == 8 && e.data == "/" + i); ) e = e.nextSibling;
///     if (e) {
///       while ((n = b.nextSibling) != e) p.removeChild(n);   // the fallback
///       p.removeChild(e);
///     }
///     c = t.content.querySelectorAll("template[id^='B:']"); // nested placeholders
///     k = [].slice.call(t.content.childNodes);      // what is revealed
///     p.replaceChild(t.content, b);
///     x.r = n = performance.now();                  // revealed
///     // the nested boundaries' fallbacks show from now on
///     c.forEach(function (e) { R[e.id.slice(2)] = { p: i, f: n } });
///     // tell the page's scripts, so they can enhance the part at once
///     // (selective hydration): nothing waits for DOMContentLoaded
///     d.dispatchEvent(new CustomEvent("suspense:reveal",
///       { detail: { id: i, nodes: k, parent: p } }));
///   }
///   t && t.remove();
///   d.currentScript.remove();                       // leave no instruction behind
/// };
/// ```
pub(crate) const RUNTIME: &str = concat!(
    "$S=function(i,s,o,d,b,t,p,e,n,R,x,c,k){d=document;",
    "R=self.__suspense||(self.__suspense={});x=R[i]||(R[i]={});x.s=s;o&&(x.o=o);",
    "b=d.getElementById(\"B:\"+i);t=d.getElementById(\"S:\"+i);if(b&&t){p=b.parentNode;",
    "for(e=b;e&&!(e.nodeType==8&&e.data==\"/\"+i);)e=e.nextSibling;",
    "if(e){while((n=b.nextSibling)!=e)p.removeChild(n);p.removeChild(e)}",
    "c=t.content.querySelectorAll(\"template[id^='B:']\");k=[].slice.call(t.content.childNodes);",
    "p.replaceChild(t.content,b);x.r=n=performance.now();",
    "c.forEach(function(e){R[e.id.slice(2)]={p:i,f:n}});",
    "d.dispatchEvent(new CustomEvent(\"suspense:reveal\",{detail:{id:i,nodes:k,parent:p}}))}",
    "t&&t.remove();d.currentScript.remove()};",
);

/// What the runtime records, for tests and tools: `window.__suspense` maps
/// each boundary id to `{s, r, f, p, o}`, all times in ms:
///
/// - `s`: when the server had the boundary's content ready, counted from the
///   page's start on the server (its handler);
/// - `r`: when the content was revealed, on the page's `performance.now()`
///   clock (0 = navigation start);
/// - `f`, `p`: for a nested boundary, its parent's id and when its fallback
///   entered the document (the parent's reveal). The debug overlay also sets
///   `f` for the boundaries that came with the shell;
/// - `o`: `"error"` or `"timeout"` if the boundary shows failure content.
///
/// A browser test reads it with `return window[TIMINGS]`; the first script
/// of a streamed page writes it:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use askama::Template;
/// use axum_suspense::{Boundary, Engine, TIMINGS};
///
/// #[derive(Template)]
/// #[template(source = "<body>{{ part }}</body>", ext = "html")]
/// struct Shell { part: Boundary }
/// #[derive(Template)]
/// #[template(source = "<p>part</p>", ext = "html")]
/// struct Part;
///
/// let page = Engine::new().page();
/// let part = page.suspend(Part, async { Ok::<_, String>(Part) });
/// let body = page.stream(Shell { part }).into_body();
/// let html = axum::body::to_bytes(body, usize::MAX).await.unwrap();
/// let html = std::str::from_utf8(&html).unwrap();
/// assert!(html.contains(&format!("self.{TIMINGS}")));
/// # });
/// ```
pub const TIMINGS: &str = "__suspense";

/// The event the runtime dispatches on `document` after each reveal; its
/// `detail` holds the boundary's `id`, the revealed `nodes` and their
/// `parent` element. A page's own script enhances each part as it arrives
/// (selective hydration):
///
/// ```js
/// document.addEventListener("suspense:reveal", (event) => {
///   for (const node of event.detail.nodes) enhance(node);
/// });
/// ```
///
/// ```
/// assert_eq!(axum_suspense::REVEAL_EVENT, "suspense:reveal");
/// ```
pub const REVEAL_EVENT: &str = "suspense:reveal";

/// The `?debug=1` overlay: a waterfall of the page's boundaries, drawn from
/// [`TIMINGS`] (readable source in `overlay.js`).
const OVERLAY: &str = include_str!("overlay.js");

/// One boundary to reveal, as the instruction script names it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Swap {
    pub(crate) id: u32,
    /// When its content was ready, from the page's start.
    pub(crate) at: Duration,
    pub(crate) outcome: Outcome,
}

/// Writes a pending boundary's placeholder: start marker, fallback, end marker.
pub(crate) fn write_placeholder(out: &mut dyn Write, id: u32, fallback: &str) -> fmt::Result {
    write!(
        out,
        "<template id=\"B:{id}\"></template>{fallback}<!--/{id}-->"
    )
}

/// A page's secret: 128 random bits from the operating system, fresh for
/// every page. Its first 64 bits make the page's markers its own (see
/// [`write_marker`]); all of it, in base64, is the page's
/// Content-Security-Policy nonce (see [`csp_nonce`]).
pub(crate) fn page_secret() -> [u8; 16] {
    let mut secret = [0u8; 16];
    if getrandom::fill(&mut secret).is_err() {
        // No OS randomness (it does not happen on Linux after boot): keyed
        // SipHash of a counter, random per process, rather than no page.
        use std::hash::{BuildHasher, Hasher};
        for half in secret.chunks_mut(8) {
            let word = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            half.copy_from_slice(&word.to_le_bytes());
        }
    }
    secret
}

/// The marker nonce of a page's secret.
pub(crate) fn marker_nonce(secret: &[u8; 16]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&secret[..8]);
    u64::from_le_bytes(word)
}

/// The Content-Security-Policy nonce of a page's secret: 22 characters of
/// base64 (a `base64-value` as CSP defines it).
pub(crate) fn csp_nonce(secret: &[u8; 16]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret)
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
    let mut tag = String::with_capacity(url.len() + 64);
    tag.push_str("<noscript><meta http-equiv=\"refresh\" content=\"0; url=");
    for c in url.chars() {
        match c {
            '&' => tag.push_str("&amp;"),
            '"' => tag.push_str("&quot;"),
            '<' => tag.push_str("&lt;"),
            '>' => tag.push_str("&gt;"),
            c => tag.push(c),
        }
    }
    tag.push_str("\"></noscript>");
    let at = find_ascii_case_insensitive(head.as_bytes(), b"<head")
        .filter(|&at| {
            // `<head>` or `<head …>`, not `<header>`
            matches!(
                head.as_bytes().get(at + 5),
                Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')
            )
        })
        .and_then(|at| head[at..].find('>').map(|close| at + close + 1));
    match at {
        Some(at) => head.insert_str(at, &tag),
        // A `<noscript>` before the doctype would put the page in quirks
        // mode; without a head, the end of the shell is the safe place.
        None => head.push_str(&tag),
    }
}

fn find_ascii_case_insensitive(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Appends a resolved boundary's content, ready to be swapped in.
pub(crate) fn push_fragment(out: &mut String, id: u32, html: &str) {
    // Writing to a String cannot fail.
    let _ = write!(out, "<template id=\"S:{id}\">");
    out.push_str(html);
    out.push_str("</template>");
}

/// Appends the one script that swaps the given fragments in, in order; with
/// `with_runtime` it first defines the swap function.
/// The script carries the page's CSP `nonce`, so a policy without
/// `'unsafe-inline'` lets it run.
pub(crate) fn push_instructions(out: &mut String, swaps: &[Swap], with_runtime: bool, nonce: &str) {
    push_script_open(out, nonce);
    if with_runtime {
        out.push_str(RUNTIME);
    }
    for (n, swap) in swaps.iter().enumerate() {
        if n > 0 {
            out.push(';');
        }
        // Tenths of a millisecond are plenty beside the client's clock.
        let ms = swap.at.as_secs_f64() * 1000.0;
        let _ = write!(out, "$S({},{ms:.1}", swap.id);
        match swap.outcome {
            Outcome::Resolved => {}
            Outcome::Failed | Outcome::Panicked => out.push_str(",\"error\""),
            Outcome::TimedOut => out.push_str(",\"timeout\""),
        }
        out.push(')');
    }
    out.push_str("</script>");
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
            RUNTIME.len() <= 700,
            "the swap runtime grew to {} bytes, over the 700-byte budget",
            RUNTIME.len()
        );
    }

    #[test]
    fn scripts_cannot_end_early() {
        // Inside <script>, `</script` (any case) ends the element, and
        // `<!--` starts the legacy escape that can swallow it.
        for source in [RUNTIME, OVERLAY] {
            assert!(source.contains(&format!("self.{TIMINGS}")));
            assert!(source == OVERLAY || source.contains(&format!("\"{REVEAL_EVENT}\"")));
            let lower = source.to_ascii_lowercase();
            assert!(!lower.contains("</script") && !lower.contains("<!--"));
        }
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
        assert_eq!(csp_nonce(&secret), "BwcHBwcHBwcHBwcHBwcHBw");
        assert_ne!(page_secret(), page_secret());
        let prefix = marker_prefix(0xab);
        let mut text = String::from("<p>a</p><!--00000000000000ab:x--><!--00000000000000ab:");
        write_marker(&mut text, 0xab, 7).unwrap();
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
    }

    #[test]
    fn instructions_batch_in_one_script() {
        let swap = |id, ms, outcome| Swap {
            id,
            at: Duration::from_micros(ms),
            outcome,
        };
        let mut out = String::new();
        push_instructions(
            &mut out,
            &[
                swap(3, 1_260, Outcome::Resolved),
                swap(1, 30_000_040, Outcome::TimedOut),
                swap(0, 7, Outcome::Panicked),
            ],
            false,
            "bm9uY2U",
        );
        assert_eq!(
            out,
            "<script nonce=\"bm9uY2U\">$S(3,1.3);$S(1,30000.0,\"timeout\");$S(0,0.0,\"error\")</script>"
        );
    }
}
