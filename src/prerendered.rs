//! The prerendered pages' shells (docs/prerendering.md): each rendered
//! once, on first use, and shared by every request. Knows no page: each
//! page's handler says how its shell is made (`crate::bench`,
//! `crate::app`), so the pages depend on this, not the other way round.

use std::sync::OnceLock;

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
