//! The site's prerendered pages: which they are, and what a static tier
//! needs to serve them (`suspense-ssr export` writes
//! the files, `deploy/nginx.conf` serves them with SSI).
//!
//! `/bench` (`crate::bench`) and the board's front page `/` (`board.rs`)
//! are prerendered: a request that leaves the shell as rendered once gets
//! it from memory at once, then its parts; `/_parts/{shell}/bench` and
//! `/_parts/{shell}/board` answer the parts alone, which nginx includes
//! after the exported shells (`{shell}`: the fingerprint of the shell the
//! file holds; another release's gets `409`, and so the stub). When the application cannot be reached, nginx
//! sends [`unavailable`]'s block in the include's place: every part says
//! so, with a link that loads the page again.

use std::path::{Path, PathBuf};

use askama::Template;
use axum::extract::FromRef;
use std::sync::Arc;

use super::AppState;
use crate::bench;
use crate::export::{ExportError, Report, write_whole};
use crate::prerendered::Shells;
use axum_suspense::client::runtime_path;
use axum_suspense::prerender::Prerendered;

/// A prerendered page: where it is served, where its parts are, and the
/// file the export writes for the static tier.
#[derive(Debug, Clone, Copy)]
pub struct PrerenderedPage {
    /// The page's path.
    pub url: &'static str,
    /// What the static tier includes after the shell (`$args`: the
    /// request's query, in nginx; `{shell}`: the shell's fingerprint, which
    /// the parts endpoint checks).
    pub include: &'static str,
    /// The file, relative to the export's directory.
    pub file: &'static str,
}

/// The pages the export writes as shells for the static tier.
pub const PRERENDERED_PAGES: &[PrerenderedPage] = &[
    PrerenderedPage {
        url: "/bench",
        include: "/_parts/{shell}/bench?$args",
        file: "prerendered/bench.html",
    },
    PrerenderedPage {
        url: "/",
        include: "/_parts/{shell}/board?$args",
        file: "prerendered/board.html",
    },
];

impl FromRef<AppState> for Arc<Shells> {
    fn from_ref(state: &AppState) -> Arc<Shells> {
        state.shells.clone()
    }
}

/// The shell of the page at `url` (one of [`PRERENDERED_PAGES`]).
fn shell<'a>(app: &'a AppState, url: &str) -> Option<&'a Prerendered> {
    match url {
        "/bench" => Some(app.shells.bench(|| bench::prerender(&app.engine))),
        "/" => Some(app.shells.board(|| super::board::prerender(app))),
        _ => None,
    }
}

/// What each part of a prerendered page shows when the application cannot
/// be reached: a plain sentence, and a link that loads the page again.
#[derive(Template)]
#[template(path = "unavailable_part.html")]
pub(super) struct Unavailable;

/// Writes [`PRERENDERED_PAGES`] into `out` (each beside, then renamed) and
/// the runtime they link: into `report`'s pages and assets.
pub(super) fn write(app: &AppState, out: &Path, report: &mut Report) -> Result<(), ExportError> {
    for page in PRERENDERED_PAGES {
        let fail = |why: String| ExportError::Page {
            url: page.url.to_owned(),
            why,
        };
        let shell = shell(app, page.url).ok_or_else(|| fail("no prerendered shell".to_owned()))?;
        let include = page
            .include
            .replace("{shell}", &crate::prerendered::fingerprint(shell));
        let html = shell
            .ssi_document(&include, Unavailable)
            .map_err(|error| fail(error.to_string()))?;
        write_whole(&out.join(page.file), html.as_bytes())?;
        report.bytes += html.len() as u64;
        report.pages.push(PathBuf::from(page.file));
    }
    // The runtime the shells link, beside them: the static tier serves it
    // itself, so browsers that need it get it when no instance is up (it
    // applies the unavailable parts).
    let runtime = axum_suspense::client::runtime();
    let path = out
        .join(RUNTIME_DIR)
        .join(runtime_path().trim_start_matches('/'));
    write_whole(&path, runtime.as_bytes())?;
    report.bytes += runtime.len() as u64;
    report.assets += 1;
    Ok(())
}

/// Where the export puts the prerendered pages' files: the shells and the
/// runtime (at its own path below it, `_suspense/runtime.HASH.js`).
pub(super) const RUNTIME_DIR: &str = "prerendered";
