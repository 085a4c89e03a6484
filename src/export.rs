//! Static export: pages rendered in buffered mode into `.html` files, plus
//! the static assets, so any plain file server can serve the result.
//!
//! Each page is requested from the site's own router, in process, with
//! `render=buffered`: the files are exactly what a crawler gets. A page
//! that does not answer `200` in buffered mode stops the export with an
//! error naming it; nothing is left half-written under its name.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use axum_suspense::RenderMode;

/// A page to export: the URL path (and query) it is served at, and the file
/// it becomes, relative to the output directory.
#[derive(Debug, Clone, Copy)]
pub struct ExportPage {
    pub url: &'static str,
    pub file: &'static str,
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Report {
    /// Pages written, relative to the output directory.
    pub pages: Vec<PathBuf>,
    /// Static files copied.
    pub assets: usize,
    pub bytes: u64,
}

/// Why an export stopped.
#[derive(Debug)]
pub enum ExportError {
    Io(PathBuf, io::Error),
    Page { url: String, why: String },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Io(path, error) => write!(f, "{}: {error}", path.display()),
            ExportError::Page { url, why } => write!(f, "page {url}: {why}"),
        }
    }
}

impl std::error::Error for ExportError {}

/// Renders `pages` through `router` into `out`, and copies `static_dir` to
/// `out/static` (if given). `out` is created if needed; existing files of the
/// same names are replaced.
pub async fn export(
    router: Router,
    pages: &[ExportPage],
    static_dir: Option<&Path>,
    out: &Path,
) -> Result<Report, ExportError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| ExportError::Io(path, error)
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut report = Report::default();
    for page in pages {
        let html = render(router.clone(), page.url).await?;
        let relative = safe_relative(page.file).ok_or_else(|| ExportError::Page {
            url: page.url.to_owned(),
            why: format!("{:?} is not a relative path inside the output", page.file),
        })?;
        write_whole(&out.join(&relative), &html)?;
        report.bytes += html.len() as u64;
        report.pages.push(relative);
    }
    if let Some(static_dir) = static_dir {
        copy_tree(static_dir, &out.join("static"), &mut report)?;
    }
    Ok(report)
}

/// One page in buffered mode, whole.
async fn render(router: Router, url: &str) -> Result<Vec<u8>, ExportError> {
    let fail = |why: String| ExportError::Page {
        url: url.to_owned(),
        why,
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let uri = format!("{url}{separator}render={}", RenderMode::Buffered);
    let request = Request::get(&uri)
        .body(Body::empty())
        .map_err(|e| fail(e.to_string()))?;
    let response = router
        .oneshot(request)
        .await
        .map_err(|never| match never {})?;
    if response.status() != StatusCode::OK {
        return Err(fail(format!("answered {}", response.status())));
    }
    // The engine names the mode a page was sent in in the response's
    // extensions; anything else (a static file, a redirect) has none.
    let mode = response.extensions().get::<RenderMode>().copied();
    if mode != Some(RenderMode::Buffered) {
        return Err(fail(format!(
            "not a page rendered in buffered mode ({mode:?})"
        )));
    }
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(body.to_vec())
}

/// `file` as a path that stays inside the output directory.
fn safe_relative(file: &str) -> Option<PathBuf> {
    let path = Path::new(file);
    let mut parts = path.components().peekable();
    (parts.peek().is_some() && parts.all(|c| matches!(c, Component::Normal(_))))
        .then(|| path.to_owned())
}

/// Writes `bytes` to `path`, its directory made first, beside it (as
/// `….partial`, which the edge never serves) then renamed: a reader never
/// sees half a file.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| ExportError::Io(path, error)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(io(&partial))?;
    std::fs::rename(&partial, path).map_err(io(path))
}

/// Copies the regular files of `from` into `to`, recursively, leaving out
/// dotfiles and symbolic links (what the file service would not serve).
fn copy_tree(from: &Path, to: &Path, report: &mut Report) -> Result<(), ExportError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| ExportError::Io(path, error)
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io(&entry.path()))?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, report)?;
        } else if kind.is_file() {
            report.bytes += std::fs::copy(entry.path(), &target).map_err(io(&target))?;
            report.assets += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_relative;

    #[test]
    fn export_files_stay_inside_the_output() {
        assert!(safe_relative("index.html").is_some());
        assert!(safe_relative("bench/index.html").is_some());
        for bad in ["/etc/passwd", "../x.html", "a/../../x.html", "", "./x"] {
            assert!(safe_relative(bad).is_none(), "{bad}");
        }
    }
}
