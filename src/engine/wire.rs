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
//!    of the response and never again.
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
//! <template id="S:1"><li>one</li></template><script>$S=function(i,…){…};$S(1)</script>
//!
//! <template id="S:0"><li>zero</li></template><script>$S(0)</script></body></html>
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

/// The client runtime: the swap function, minified by hand (React's `$RC` is
/// 478 bytes). Readable form:
///
/// ```js
/// $S = function (i, d, b, t, p, e, n) {
///   d = document;
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
///     p.replaceChild(t.content, b);
///   }
///   t && t.remove();
///   d.currentScript.remove();                       // leave no instruction behind
/// };
/// ```
pub(crate) const RUNTIME: &str = concat!(
    "$S=function(i,d,b,t,p,e,n){d=document;b=d.getElementById(\"B:\"+i);",
    "t=d.getElementById(\"S:\"+i);if(b&&t){p=b.parentNode;",
    "for(e=b;e&&!(e.nodeType==8&&e.data==\"/\"+i);)e=e.nextSibling;",
    "if(e){while((n=b.nextSibling)!=e)p.removeChild(n);p.removeChild(e)}",
    "p.replaceChild(t.content,b)}t&&t.remove();d.currentScript.remove()};",
);

/// Writes a pending boundary's placeholder: start marker, fallback, end marker.
pub(crate) fn write_placeholder(out: &mut dyn Write, id: u32, fallback: &str) -> fmt::Result {
    write!(
        out,
        "<template id=\"B:{id}\"></template>{fallback}<!--/{id}-->"
    )
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
pub(crate) fn push_instructions(out: &mut String, ids: &[u32], with_runtime: bool) {
    out.push_str("<script>");
    if with_runtime {
        out.push_str(RUNTIME);
    }
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            out.push(';');
        }
        let _ = write!(out, "$S({id})");
    }
    out.push_str("</script>");
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
            RUNTIME.len() <= 400,
            "the swap runtime grew to {} bytes, over the 400-byte budget",
            RUNTIME.len()
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
    fn instructions_batch_in_one_script() {
        let mut out = String::new();
        push_instructions(&mut out, &[3, 1], false);
        assert_eq!(out, "<script>$S(3);$S(1)</script>");
    }
}
