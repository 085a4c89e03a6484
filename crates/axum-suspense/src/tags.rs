//! A tag scanner for a fallback's HTML: the elements it leaves open, so
//! that their end tags go before the boundary's end marker (else a browser
//! that patches natively would replace what follows the boundary too).

/// The end tags of the elements `html` opens and does not close, innermost
/// first, if any. A tag scanner, not a parser: enough for what askama
/// renders (every value escaped, so every `<` is markup); void elements,
/// self-closed tags, comments and the contents of raw-text elements are
/// skipped, and an end tag closes the nearest open element of its name and
/// everything opened inside it (as the parser's does).
pub(crate) fn unclosed(html: &str) -> Option<String> {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr",
    ];
    const RAW: &[&str] = &["script", "style", "textarea", "title", "xmp", "noscript"];
    let bytes = html.as_bytes();
    // Names are slices of `html`, compared without regard to case, on a
    // stack that needs no allocation for the usual nesting: a fallback is
    // scanned on every page.
    let mut open = OpenTags::default();
    let mut at = 0;
    while let Some(found) = html[at..].find('<') {
        at += found + 1;
        if html[at..].starts_with("!--") {
            at = html[at..]
                .find("-->")
                .map_or(html.len(), |end| at + end + 3);
            continue;
        }
        let closing = bytes.get(at) == Some(&b'/');
        let name_at = at + usize::from(closing);
        let len = html[name_at..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .count();
        if len == 0 || !bytes[name_at].is_ascii_alphabetic() {
            continue;
        }
        let name = &html[name_at..name_at + len];
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(name));
        let end = html[name_at..]
            .find('>')
            .map_or(html.len(), |e| name_at + e);
        if closing {
            if let Some(depth) = open.rposition(name) {
                open.truncate(depth);
            }
        } else if html[..end].ends_with('/') || is(VOID) {
        } else if is(RAW) {
            let close = format!("</{}", name.to_ascii_lowercase());
            match html[end..].to_ascii_lowercase().find(&close) {
                Some(c) => at = end + c,
                None => {
                    open.push(name);
                    break;
                }
            }
        } else {
            // A new item closes the open one of its kind (no end tag needed):
            // the same element, or its pair (`td`/`th`, `dt`/`dd`).
            let pair = |n: &str| {
                [["td", "th"], ["dt", "dd"]]
                    .iter()
                    .position(|pair| pair.iter().any(|k| k.eq_ignore_ascii_case(n)))
            };
            let sibling = |top: &str| {
                top.eq_ignore_ascii_case(name) || pair(top).is_some_and(|p| pair(name) == Some(p))
            };
            if is(&["li", "p", "tr", "td", "th", "option", "dt", "dd"])
                && open.last().is_some_and(sibling)
            {
                open.truncate(open.len - 1);
            }
            open.push(name);
        }
        at = at.max(end);
    }
    (open.len > 0).then(|| {
        (0..open.len)
            .rev()
            .map(|depth| format!("</{}>", open.get(depth).to_ascii_lowercase()))
            .collect()
    })
}

/// The open elements' names, innermost last: the first 16 in place, deeper
/// ones on the heap.
#[derive(Default)]
struct OpenTags<'a> {
    inline: [&'a str; 16],
    deeper: Vec<&'a str>,
    len: usize,
}

impl<'a> OpenTags<'a> {
    fn get(&self, depth: usize) -> &'a str {
        match self.inline.get(depth) {
            Some(name) => name,
            None => self.deeper[depth - self.inline.len()],
        }
    }

    fn push(&mut self, name: &'a str) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = name,
            None => self.deeper.push(name),
        }
        self.len += 1;
    }

    fn last(&self) -> Option<&'a str> {
        self.len.checked_sub(1).map(|depth| self.get(depth))
    }

    /// The depth of the innermost open element named `name` (any case).
    fn rposition(&self, name: &str) -> Option<usize> {
        (0..self.len)
            .rev()
            .find(|&depth| self.get(depth).eq_ignore_ascii_case(name))
    }

    /// Closes everything from `depth` in.
    fn truncate(&mut self, depth: usize) {
        self.deeper
            .truncate(depth.saturating_sub(self.inline.len()));
        self.len = self.len.min(depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_elements_are_found_and_closed_innermost_first() {
        for (html, closing) in [
            ("<p>fine</p><img src=x><br/>", None),
            ("<DIV><span>a</span>", Some("</div>")),
            ("<ul><li>one<li>two", Some("</li></ul>")),
            ("<div><p>x</div>", None),
            ("<!-- <div> --><b>bold", Some("</b>")),
            ("<style>p > div { }</style><em>x", Some("</em>")),
            ("<textarea><div></textarea>", None),
            ("a < b and 1<2", None),
            ("<table><tr><td>x", Some("</td></tr></table>")),
            // A cell closes the other kind of cell; a `dd` closes a `dt`.
            ("<tr><TH>h<td>d", Some("</td></tr>")),
            ("<dl><dt>a<dd>b", Some("</dd></dl>")),
            ("<dl><dt>a<li>b", Some("</li></dt></dl>")),
        ] {
            assert_eq!(unclosed(html).as_deref(), closing, "{html}");
        }
        // Deeper than the names kept in place: the rest on the heap, and
        // closed back across the boundary between the two.
        let deep = format!("{}<p>x", "<div>".repeat(20));
        assert_eq!(
            unclosed(&deep).as_deref(),
            Some(format!("</p>{}", "</div>".repeat(20)).as_str())
        );
        let closed_back = format!("{}{}<em>", "<div>".repeat(20), "</div>".repeat(6));
        assert_eq!(
            unclosed(&closed_back).as_deref(),
            Some(format!("</em>{}", "</div>".repeat(14)).as_str())
        );
        let inner_p = format!("{}<p>a<p>b", "<section>".repeat(17));
        assert_eq!(
            unclosed(&inner_p).as_deref(),
            Some(format!("</p>{}", "</section>".repeat(17)).as_str())
        );
    }
}
