//! The prerendered pages' shells (docs/prerendering.md): each rendered
//! once, on first use, and shared by every request. Knows no page: each
//! page's handler says how its shell is made (`crate::bench`,
//! `crate::app`), so the pages depend on this, not the other way round.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_suspense::prerender::{PrerenderError, Prerendered};

/// The shells, each rendered the first time it is asked for (after the
/// site's assets are installed, which the templates link). The site's
/// state holds it in an `Arc`.
#[derive(Debug, Default)]
pub struct Shells {
    bench: OnceLock<Prerendered>,
    board: OnceLock<Prerendered>,
}

impl Shells {
    /// `/bench`'s shell, made by `make` the first time.
    pub(crate) fn bench(
        &self,
        make: impl FnOnce() -> Result<Prerendered, PrerenderError>,
    ) -> &Prerendered {
        self.bench.get_or_init(|| shell("/bench", make))
    }

    /// The board's front page's shell (`/`), made by `make` the first time.
    pub(crate) fn board(
        &self,
        make: impl FnOnce() -> Result<Prerendered, PrerenderError>,
    ) -> &Prerendered {
        self.board.get_or_init(|| shell("/", make))
    }
}

fn shell(url: &str, make: impl FnOnce() -> Result<Prerendered, PrerenderError>) -> Prerendered {
    // Each page's shell takes nothing from data or a request, and carries
    // no nonce: a failure here is a bug in the page's code, found by its
    // tests (tests/it/prerender.rs renders both), not a condition to serve.
    make().unwrap_or_else(|error| panic!("the shell of {url} is not prerenderable: {error}"))
}

/// Whether the file that asks for parts holds `prerendered`: `requested` is
/// the fingerprint in its include's path (`/_parts/{fingerprint}/…`,
/// [`Prerendered::fingerprint`] in 16 hex digits), written by the export.
/// A file from another release (a rolling deploy, an export forgotten) has
/// another, and gets no parts: they would land in its ranges wrongly.
pub(crate) fn holds(requested: &str, prerendered: &Prerendered) -> bool {
    requested == fingerprint(prerendered)
}

/// A shell's fingerprint as the include's path carries it.
pub(crate) fn fingerprint(prerendered: &Prerendered) -> String {
    format!("{:016x}", prerendered.fingerprint())
}

/// A parts endpoint's answer: the parts, or `409 Conflict` when the shell
/// that asks is not this release's (the static tier then sends its stub:
/// every part "unavailable, try again", never parts in the wrong places).
pub(crate) fn parts_response(url: &str, parts: Result<Response, PrerenderError>) -> Response {
    match parts {
        Ok(parts) => parts,
        Err(error @ PrerenderError::ShellChanged) => {
            tracing::warn!(%error, url, "the shell that asks for parts is not this release's");
            shell_conflict()
        }
        Err(error) => {
            tracing::error!(%error, url, "no parts for the prerendered shell");
            crate::http::internal_error()
        }
    }
}

/// `409 Conflict`: the file asking for parts is not this release's shell.
pub(crate) fn shell_conflict() -> Response {
    (
        StatusCode::CONFLICT,
        "the prerendered shell is not this release's: export the site again\n",
    )
        .into_response()
}
