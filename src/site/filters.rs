//! The site's own askama filters (askama finds them as `filters::NAME` in
//! the scope of each template).

#![allow(unreachable_pub)] // the filter_fn macro generates `pub` items

use askama::filters::Safe;

/// `{{ "bench.css"|asset }}`: the file's fingerprinted URL (cached for a
/// year), see [`crate::assets`].
#[askama::filter_fn]
pub(crate) fn asset(name: &str, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::assets::url(name))
}

/// The benchmark page's escaper: askama escapes with numeric references
/// (`&#38;`); the benchmark's peers and checker expect named ones (`&amp;`),
/// so the data string is escaped with those. Same characters, same safety.
/// The page escapes its text once per section (it is the same on every item).
#[askama::filter_fn]
pub(crate) fn named_entities(text: &str, _: &dyn askama::Values) -> askama::Result<Safe<String>> {
    fn entity(byte: u8) -> Option<&'static str> {
        Some(match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => return None,
        })
    }
    // Sized exactly: a guess that falls short costs a reallocation.
    let grows: usize = text
        .bytes()
        .filter_map(entity)
        .map(|entity| entity.len() - 1)
        .sum();
    let mut out = String::with_capacity(text.len() + grows);
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let Some(entity) = entity(byte) else {
            continue;
        };
        out.push_str(&text[start..at]);
        out.push_str(entity);
        start = at + 1;
    }
    out.push_str(&text[start..]);
    Ok(Safe(out))
}
