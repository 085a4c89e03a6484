//! Where in the HTML a boundary's placeholder landed, and whether it can
//! stream from there.
//!
//! A placeholder is markup (`<?start name="b1">…<?end>`, or a marker comment
//! in the in-order and buffered modes), so it works only where the HTML
//! parser reads markup in the body: not inside a tag (`<div title="{{ b }}">`
//! would close the attribute early), a comment, a raw-text element
//! (`<title>`, `<textarea>`, `<script>`, `<style>`, … show or run it as
//! text), a `<template>` (inert) or the `<head>`. The buffered page still
//! looks right in every one of these places, so nothing would say so.
//!
//! The check is a scan, after each render, over the rendered HTML up to its
//! last placeholder: a small tokenizer that only tracks what it must (tags
//! and their quoted values, comments, raw text, `<head>`, `<body>` and
//! `<template>`), jumping from `<` to `<` with `memchr` in text. It runs only
//! for renders that placed a boundary. The placeholders' own bytes are
//! skipped, so a misplaced one cannot confuse the scan of what follows it.
//! Not a parser: a tag name split by a placeholder, or markup written
//! through `|safe`, is judged by the same rules, never by the browser's
//! error recovery.

use std::fmt;

use memchr::memchr;

/// Why a boundary cannot stream where it was put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misplaced {
    /// Inside an attribute's quoted value.
    AttributeValue,
    /// Inside a tag, outside any quoted value.
    Tag,
    /// Inside a comment (or a `<!…>` / `<?…>` the parser treats as one).
    Comment,
    /// Inside an element whose content is text, not markup.
    RawText(&'static str),
    /// Inside a `<template>`, whose content is inert.
    Template,
    /// In the document's head: before `<body>`, or inside `<head>`.
    Head,
    /// Its placeholder is not in the output as written (a filter such as
    /// `|upper` changed it).
    Altered,
    /// Rendered a second time: only one copy can be filled.
    Twice,
    /// Given to a template that never rendered it: nothing would show it.
    NeverRendered,
}

impl fmt::Display for Misplaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misplaced::AttributeValue => f.write_str("inside an attribute value"),
            Misplaced::Tag => f.write_str("inside a tag"),
            Misplaced::Comment => f.write_str("inside a comment"),
            Misplaced::RawText(name) => {
                write!(f, "inside <{name}>, whose content is text, not markup")
            }
            Misplaced::Template => f.write_str("inside a <template>, whose content is inert"),
            Misplaced::Head => f.write_str("in the document's <head> (before <body>)"),
            Misplaced::Altered => {
                f.write_str("written through a filter that changed its placeholder")
            }
            Misplaced::Twice => f.write_str("rendered a second time"),
            Misplaced::NeverRendered => {
                f.write_str("never rendered by the template it was given to")
            }
        }
    }
}

/// Elements whose content the parser takes as text (raw text, escapable raw
/// text, and `<noscript>` and `<plaintext>`, which are text where they
/// matter), lowercase.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// What the scan is in at its position.
#[derive(Debug, Clone, Copy)]
enum State {
    Text,
    /// In a tag; `quote` while in a quoted attribute value.
    Tag {
        kind: TagKind,
        quote: Option<u8>,
    },
    Comment,
    /// `<!…>`, `<?…>`, `</…>` not followed by a letter: to the next `>`.
    Bogus,
    RawText(&'static str),
}

/// The tags whose effect the scan keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Head,
    EndHead,
    Body,
    Template,
    EndTemplate,
    Raw(&'static str),
    /// `<svg>` or `<math>`: foreign content, where no element is raw text.
    Foreign,
    EndForeign,
    Other,
}

/// A forward scan of one render's HTML.
struct Scan<'h> {
    html: &'h [u8],
    at: usize,
    state: State,
    in_head: bool,
    seen_body: bool,
    templates: usize,
    /// Open `<svg>` and `<math>` elements.
    foreign: usize,
}

impl<'h> Scan<'h> {
    fn new(html: &'h str) -> Self {
        Scan {
            html: html.as_bytes(),
            at: 0,
            state: State::Text,
            in_head: false,
            seen_body: false,
            templates: 0,
            foreign: 0,
        }
    }

    /// Scans on to `target` and says where that is; `None`: in the body's
    /// text, where a placeholder belongs (or, with `pre_body` set, in text
    /// before any `<body>`: the head only if a `<body>` comes later).
    fn advance(&mut self, target: usize) -> (Option<Misplaced>, bool) {
        while self.at < target {
            let rest = &self.html[self.at..target];
            match self.state {
                State::Text => match memchr(b'<', rest) {
                    None => self.at = target,
                    Some(found) => {
                        self.at += found;
                        self.open_markup(target);
                    }
                },
                State::Comment => match find_comment_end(rest) {
                    None => self.at = target,
                    Some(end) => {
                        self.at += end;
                        self.state = State::Text;
                    }
                },
                State::Bogus => match memchr(b'>', rest) {
                    None => self.at = target,
                    Some(found) => {
                        self.at += found + 1;
                        self.state = State::Text;
                    }
                },
                // Tags and their values are short: a plain loop, not a
                // memchr (whose setup costs more than a few bytes' scan).
                State::Tag {
                    kind,
                    quote: Some(quote),
                } => match rest.iter().position(|&b| b == quote) {
                    None => self.at = target,
                    Some(found) => {
                        self.at += found + 1;
                        self.state = State::Tag { kind, quote: None };
                    }
                },
                State::Tag { kind, quote: None } => {
                    match rest.iter().position(|&b| matches!(b, b'>' | b'"' | b'\'')) {
                        None => self.at = target,
                        Some(found) => {
                            let byte = rest[found];
                            let at = self.at + found;
                            self.at = at + 1;
                            if byte == b'>' {
                                self.close_tag(kind);
                            } else if self.value_starts_at(at) {
                                self.state = State::Tag {
                                    kind,
                                    quote: Some(byte),
                                };
                            }
                            // Else a quote inside a name or an unquoted
                            // value (`title=it's`): text of the tag.
                        }
                    }
                }
                State::RawText(name) => match find_end_tag(rest, name) {
                    None => self.at = target,
                    Some(found) => {
                        self.at += found;
                        self.state = State::Text;
                        // The end tag itself is read as markup: `</`, a name.
                        self.open_markup(target);
                    }
                },
            }
        }
        let misplaced = match self.state {
            State::Text if self.templates > 0 => Some(Misplaced::Template),
            State::Text if self.in_head => Some(Misplaced::Head),
            State::Text => None,
            State::Tag { quote: Some(_), .. } => Some(Misplaced::AttributeValue),
            State::Tag { quote: None, .. } => Some(Misplaced::Tag),
            State::Comment | State::Bogus => Some(Misplaced::Comment),
            State::RawText(name) => Some(Misplaced::RawText(name)),
        };
        (misplaced, misplaced.is_none() && !self.seen_body)
    }

    /// Whether a quote at `at`, inside a tag, opens a value: it follows an
    /// `=`, maybe with spaces between.
    fn value_starts_at(&self, at: usize) -> bool {
        self.html[..at]
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'=')
    }

    /// At a `<` in text: what it opens (a tag, a comment, or nothing).
    fn open_markup(&mut self, target: usize) {
        let html = &self.html[..target];
        let next = html.get(self.at + 1).copied();
        let after = html.get(self.at + 2).copied();
        if html[self.at..].starts_with(b"<!--") {
            self.at += 4;
            // `<!-->` and `<!--->` end where they start.
            if html[self.at..].starts_with(b">") {
                self.at += 1;
            } else if html[self.at..].starts_with(b"->") {
                self.at += 2;
            } else {
                self.state = State::Comment;
            }
        } else if next == Some(b'/') && after.is_some_and(|b| b.is_ascii_alphabetic()) {
            let name = tag_name(&html[self.at + 2..]);
            self.at += 2 + name.len();
            let kind = match () {
                () if name.eq_ignore_ascii_case(b"head") => TagKind::EndHead,
                () if name.eq_ignore_ascii_case(b"template") => TagKind::EndTemplate,
                () if name.eq_ignore_ascii_case(b"svg") || name.eq_ignore_ascii_case(b"math") => {
                    TagKind::EndForeign
                }
                () => TagKind::Other,
            };
            self.state = State::Tag { kind, quote: None };
        } else if next.is_some_and(|b| b.is_ascii_alphabetic()) {
            let name = tag_name(&html[self.at + 1..]);
            self.at += 1 + name.len();
            let mut kind = start_tag_kind(name);
            if self.foreign > 0 && matches!(kind, TagKind::Raw(_)) {
                // Inside `<svg>` or `<math>`, `<title>`, `<style>` and
                // `<script>` hold markup like any other element.
                kind = TagKind::Other;
            }
            if self.in_head && kind != TagKind::Head && !in_head_allowed(name) {
                // An element the head cannot hold ends it (`</head>` and
                // `<body>` may be left out): the body has begun.
                self.in_head = false;
                self.seen_body = true;
            }
            self.state = State::Tag { kind, quote: None };
        } else if matches!(next, Some(b'!' | b'?' | b'/')) {
            self.at += 2;
            self.state = State::Bogus;
        } else {
            // A `<` that opens nothing: text.
            self.at += 1;
        }
    }

    /// A tag's `>`: its effect on what follows.
    fn close_tag(&mut self, kind: TagKind) {
        self.state = State::Text;
        // `<svg … />` opens nothing, nor, inside foreign content, `<title/>`.
        let self_closed = self.at >= 2 && self.html[self.at - 2] == b'/';
        if self_closed && (kind == TagKind::Foreign || self.foreign > 0) {
            return;
        }
        match kind {
            TagKind::Head => self.in_head = true,
            TagKind::EndHead => self.in_head = false,
            TagKind::Body => {
                self.in_head = false;
                self.seen_body = true;
            }
            TagKind::Template => self.templates += 1,
            TagKind::EndTemplate => self.templates = self.templates.saturating_sub(1),
            TagKind::Raw(name) => self.state = State::RawText(name),
            TagKind::Foreign => self.foreign += 1,
            TagKind::EndForeign => self.foreign = self.foreign.saturating_sub(1),
            TagKind::Other => {}
        }
    }
}

/// Whether the head may hold an element named `name` (one that does not
/// end it).
fn in_head_allowed(name: &[u8]) -> bool {
    const HEAD: &[&str] = &[
        "base", "link", "meta", "noscript", "script", "style", "template", "title",
    ];
    HEAD.iter()
        .any(|allowed| name.eq_ignore_ascii_case(allowed.as_bytes()))
}

/// What a start tag named `name` is to the scan. Most tags are none of the
/// kept ones: a length and first-letter test turns them away before any
/// name is compared.
fn start_tag_kind(name: &[u8]) -> TagKind {
    if !(3..=9).contains(&name.len())
        || !matches!(
            name[0].to_ascii_lowercase(),
            b'b' | b'h' | b'i' | b'm' | b'n' | b'p' | b's' | b't' | b'x'
        )
    {
        return TagKind::Other;
    }
    if let Some(raw) = RAW_TEXT
        .iter()
        .find(|raw| name.eq_ignore_ascii_case(raw.as_bytes()))
    {
        return TagKind::Raw(raw);
    }
    if name.eq_ignore_ascii_case(b"head") {
        TagKind::Head
    } else if name.eq_ignore_ascii_case(b"body") {
        TagKind::Body
    } else if name.eq_ignore_ascii_case(b"template") {
        TagKind::Template
    } else if name.eq_ignore_ascii_case(b"svg") || name.eq_ignore_ascii_case(b"math") {
        TagKind::Foreign
    } else {
        TagKind::Other
    }
}

/// A tag name: letters, digits, `-` (enough to tell the names the scan
/// keeps from the rest).
fn tag_name(from: &[u8]) -> &[u8] {
    let len = from
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    &from[..len]
}

/// Where `</name` starts in `text`, in any case, followed by a byte that
/// ends a tag name.
fn find_end_tag(text: &[u8], name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = memchr(b'<', &text[from..]) {
        let at = from + found;
        from = at + 1;
        if text.get(at + 1) != Some(&b'/') {
            continue;
        }
        let candidate = &text[at + 2..];
        if candidate.len() >= name.len()
            && candidate[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && candidate
                .get(name.len())
                .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
        {
            return Some(at);
        }
    }
    None
}

/// Where a comment that started before `text` ends: just past its `-->`
/// (a `>` after two dashes; searched by its `>`, a `memchr`, with no
/// searcher to build for a few bytes).
fn find_comment_end(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = memchr(b'>', &text[from..]) {
        let at = from + found;
        if (at >= 2 && &text[at - 2..at] == b"--") || (at >= 3 && &text[at - 3..at] == b"--!") {
            return Some(at + 1);
        }
        from = at + 1;
    }
    None
}

/// Judges the placeholders of one render, one after another in document
/// order (each span after the one before, none overlapping), in one pass
/// over the HTML.
pub(crate) struct Judge<'h> {
    scan: Scan<'h>,
    /// Placeholders in text before any `<body>`, by their order: the head's
    /// if a `<body>` tag comes later.
    before_body: Vec<usize>,
    judged: usize,
}

impl<'h> Judge<'h> {
    pub(crate) fn new(html: &'h str) -> Self {
        Judge {
            scan: Scan::new(html),
            before_body: Vec::new(),
            judged: 0,
        }
    }

    /// Why the placeholder at `span` cannot stream there, if it cannot.
    pub(crate) fn next(&mut self, span: std::ops::Range<usize>) -> Option<Misplaced> {
        let (misplaced, pre_body) = self.scan.advance(span.start);
        if pre_body {
            self.before_body.push(self.judged);
        }
        self.judged += 1;
        // The placeholder is the engine's own markup: skipped whole.
        self.scan.at = span.end;
        misplaced
    }

    /// The placeholders (by their order) that turned out to be in the head:
    /// in text before a `<body>` tag that came after them (a shell without
    /// one, a fragment, is all body).
    pub(crate) fn in_head(mut self) -> Vec<usize> {
        if self.before_body.is_empty() {
            return Vec::new();
        }
        if !self.scan.seen_body {
            // Scanned on to the end, as for the placeholders, so that a
            // `<body` in a script's text or a comment is not taken for one.
            let end = self.scan.html.len();
            self.scan.advance(end);
        }
        if self.scan.seen_body {
            self.before_body
        } else {
            Vec::new()
        }
    }
}

/// Judges each placeholder of one render at once (see [`Judge`]).
#[cfg(test)]
fn judge(html: &str, spans: &[std::ops::Range<usize>]) -> Vec<Option<Misplaced>> {
    let mut judge = Judge::new(html);
    let mut verdicts: Vec<_> = spans.iter().map(|span| judge.next(span.clone())).collect();
    for index in judge.in_head() {
        verdicts[index] = Some(Misplaced::Head);
    }
    verdicts
}

/// Up to `width` bytes of `html` on either side of `span`, with the span
/// shown as `⟨boundary⟩`, on one line: what an error message quotes.
pub(crate) fn excerpt(html: &str, span: std::ops::Range<usize>, width: usize) -> String {
    let mut start = span.start.saturating_sub(width);
    while !html.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (span.end + width).min(html.len());
    while !html.is_char_boundary(end) {
        end += 1;
    }
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    format!(
        "…{}⟨boundary⟩{}…",
        one_line(&html[start..span.start]),
        one_line(&html[span.end..end])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Judges the text with `@` standing for one placeholder each.
    fn verdicts(template: &str) -> Vec<Option<Misplaced>> {
        let mut html = String::new();
        let mut spans = Vec::new();
        for (i, piece) in template.split('@').enumerate() {
            if i > 0 {
                let start = html.len();
                // A placeholder with quotes and a `>` of its own, as the
                // real ones have.
                html.push_str("<?start name=\"b0\"><p class=\"f\">…</p><?end>");
                spans.push(start..html.len());
            }
            html.push_str(piece);
        }
        judge(&html, &spans)
    }

    fn one(template: &str) -> Option<Misplaced> {
        let all = verdicts(template);
        assert_eq!(all.len(), 1, "{template}");
        all[0]
    }

    #[test]
    fn placeholders_in_the_body_are_fine() {
        for ok in [
            "<!doctype html><html><head><title>t</title></head><body><main>@</main></body></html>",
            "<html><body class=\"x\" data-x='>'>@</body></html>",
            "<ul>@</ul>",
            "<p>a < b</p>@",
            "<html><head></head><body><script>var s = '<title>';</script>@</body>",
            "<body><textarea></textarea ><title>x</TITLE>@<!-- c -->",
            "<body><template><p>x</p></template>@",
            "<body><!---->@",
            "<body><!-->@",
            "<body><!--->@",
            "<body><!-- x --!>@",
            "<body><svg><script href=\"a.js\"/></svg>@",
            "<body><svg><title/></svg>@",
            "<body><svg><title>x</title></svg>@",
            "<body><math><style>x</style></math>@",
            "<!doctype html><head><title>t</title><main>@</main>",
            "<body><a title=it's>x</a>@",
            "<body><script>a='</script.'</script>@",
            "<main>@</main><script>x='<body>'</script><!-- <body> -->",
        ] {
            assert_eq!(one(ok), None, "{ok}");
        }
    }

    #[test]
    fn every_context_where_a_placeholder_cannot_stream_is_named() {
        for (template, expected) in [
            ("<body><div title=\"@\">", Misplaced::AttributeValue),
            ("<body><div title='x @'>", Misplaced::AttributeValue),
            ("<body><div @>", Misplaced::Tag),
            ("<body><div title=@>", Misplaced::Tag),
            ("<body><!-- @ -->", Misplaced::Comment),
            ("<body><title>@</title>", Misplaced::RawText("title")),
            (
                "<body><TEXTAREA rows=2>@</textarea>",
                Misplaced::RawText("textarea"),
            ),
            ("<body><script>@</script>", Misplaced::RawText("script")),
            ("<body><style>@</style>", Misplaced::RawText("style")),
            ("<body><template><p>@</p></template>", Misplaced::Template),
            ("<html><head>@</head><body></body>", Misplaced::Head),
            ("<!doctype html><html>@<body></body>", Misplaced::Head),
            ("<html><head><meta charset=utf-8>@", Misplaced::Head),
        ] {
            assert_eq!(one(template), Some(expected), "{template}");
        }
    }

    #[test]
    fn a_placeholder_before_body_is_in_the_head_whatever_follows() {
        assert_eq!(
            verdicts("<!doctype html><html>@<body>@</body>"),
            [Some(Misplaced::Head), None]
        );
        assert_eq!(
            verdicts("<body><svg/>@<title>@</title>"),
            [None, Some(Misplaced::RawText("title"))]
        );
    }

    #[test]
    fn a_misplaced_placeholder_does_not_confuse_the_rest() {
        assert_eq!(
            verdicts("<body><div title=\"@\">@</div><p title='@'></p>@"),
            [
                Some(Misplaced::AttributeValue),
                None,
                Some(Misplaced::AttributeValue),
                None
            ]
        );
        assert_eq!(
            verdicts("<body><title>@</title>@"),
            [Some(Misplaced::RawText("title")), None]
        );
    }

    #[test]
    fn excerpts_stay_on_char_boundaries_and_one_line() {
        let html = "<p>é\nlong text</p><?start>x<?end><b>ünicode</b>";
        let start = html.find("<?start").unwrap();
        let end = html.find("<b>").unwrap();
        let text = excerpt(html, start..end, 6);
        assert!(text.contains("⟨boundary⟩"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}
