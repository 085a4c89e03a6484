//! The site's own askama filters (askama finds them as `filters::NAME` in
//! the scope of each template).

#![allow(unreachable_pub)] // the filter_fn macro generates `pub` items

/// `{{ "bench.css"|asset }}`: the file's fingerprinted URL (cached for a
/// year), see [`crate::assets`].
#[askama::filter_fn]
pub(crate) fn asset(name: &str, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::assets::url(name))
}
