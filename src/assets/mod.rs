//! Static assets served the way production web servers serve them.
//!
//! At startup [`Assets::load`] walks the static directory once:
//!
//! - each file gets a **fingerprint**, the CRC-32 of its content in 8 hex
//!   digits, and templates link it as `/static/NAME.FINGERPRINT.EXT`
//!   ([`Assets::url`], or the `asset` filter of the site's templates). That
//!   URL names one content for ever, so it is served with
//!   `Cache-Control: public, max-age=31536000, immutable`. A fingerprint that
//!   is not the file's current one is a `404`: an old URL never gets new
//!   content under a promise of immutability.
//! - the plain URL (`/static/NAME.EXT`) still works, with `no-cache`: the
//!   browser revalidates with the `ETag` / `Last-Modified` it got and is
//!   answered `304 Not Modified` when nothing changed.
//! - text formats get **precompressed** variants written beside them
//!   (`NAME.EXT.br` at brotli quality 11, `NAME.EXT.gz` at gzip level 9),
//!   when missing or older than the file; they are never committed, and a
//!   read-only directory only means compression on the fly instead. The
//!   same files serve nginx (`gzip_static`, see `deploy/nginx.conf`).
//!
//! Files up to 1 MiB (64 MiB in all) are held in memory with their variants
//! and answered from there (`memory.rs`: ranges, `HEAD`, conditional
//! requests, MIME types, `Vary: Accept-Encoding`), the way nginx's page
//! cache and `open_file_cache` spare it the disk. Larger files go through
//! tower-http's `ServeDir`, which reads them from disk per request. Either
//! way a thin layer first maps fingerprinted names, refuses dotfiles,
//! directories and anything that is not one of the files found at startup,
//! and sets the caching headers. Changes on disk are picked up at restart,
//! like the fingerprints.

pub(crate) mod filters;
mod memory;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use memory::MemoryFile;

/// `Cache-Control` of a fingerprinted URL.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a plain URL: use it, but ask first.
pub const REVALIDATE: &str = "public, no-cache";

/// Extensions worth precompressing (text formats).
const COMPRESSIBLE: &[&str] = &[
    "css", "js", "mjs", "html", "htm", "svg", "json", "txt", "xml", "map", "wasm", "ico",
];
/// Below this, a compressed variant saves less than its headers cost.
const MIN_COMPRESS_BYTES: u64 = 512;
/// Files up to this size are held in memory (with their variants)...
const MEMORY_FILE_BYTES: usize = 1024 * 1024;
/// ...as long as all of them together stay under this.
const MEMORY_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// The static directory, with each file's fingerprint.
#[derive(Debug)]
pub struct Assets {
    dir: PathBuf,
    /// Relative path (`/`-separated) → fingerprint.
    fingerprints: HashMap<String, String>,
    /// The files answered from memory, by relative path; the others are
    /// read from disk per request.
    memory: HashMap<String, MemoryFile>,
    /// Bytes held by `memory`.
    in_memory: usize,
}

/// What [`Assets::load`] did, for the startup log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    pub files: usize,
    /// Precompressed variants written now (not those already fresh).
    pub compressed: usize,
    /// Variants that could not be written (read-only directory).
    pub unwritable: usize,
    /// Files answered from memory.
    pub in_memory: usize,
}

impl Assets {
    /// Walks `dir`: fingerprints every file and writes missing or stale
    /// precompressed variants.
    pub fn load(dir: &Path) -> io::Result<(Assets, LoadReport)> {
        let mut assets = Assets {
            dir: dir.to_owned(),
            fingerprints: HashMap::new(),
            memory: HashMap::new(),
            in_memory: 0,
        };
        let mut report = LoadReport::default();
        assets.walk(dir, "", &mut report)?;
        Ok((assets, report))
    }

    fn walk(&mut self, dir: &Path, prefix: &str, report: &mut LoadReport) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            let relative = format!("{prefix}{name}");
            if kind.is_dir() {
                self.walk(&entry.path(), &format!("{relative}/"), report)?;
            } else if kind.is_file() && !is_variant(name) {
                let content = std::fs::read(entry.path())?;
                self.fingerprints.insert(
                    relative.clone(),
                    format!("{:08x}", crc32fast::hash(&content)),
                );
                report.files += 1;
                let (br, gz) = precompress(&entry.path(), &content, report);
                let size = content.len()
                    + br.as_ref().map_or(0, Vec::len)
                    + gz.as_ref().map_or(0, Vec::len);
                if content.len() <= MEMORY_FILE_BYTES && self.in_memory + size <= MEMORY_TOTAL_BYTES
                {
                    let modified = entry.metadata()?.modified().ok();
                    self.in_memory += size;
                    report.in_memory += 1;
                    self.memory.insert(
                        relative,
                        MemoryFile::new(&entry.path(), content, br, gz, modified),
                    );
                }
            }
        }
        Ok(())
    }

    /// The URL to link `name` (relative to the static directory) with: the
    /// fingerprinted one if the file exists, else the plain one.
    pub fn url(&self, name: &str) -> String {
        match self.fingerprints.get(name) {
            Some(fingerprint) => format!("/static/{}", fingerprinted(name, fingerprint)),
            None => format!("/static/{name}"),
        }
    }

    /// The file a request path (without `/static/`) names, and whether the
    /// path was fingerprinted. `None` for dotfiles, for a fingerprint that
    /// is not the file's current one, and for anything not found at startup
    /// (directories, precompressed variants, files added since).
    fn resolve(&self, path: &str) -> Option<(String, bool)> {
        if path.split('/').any(|segment| segment.starts_with('.')) {
            return None;
        }
        if let Some((plain, fingerprint)) = split_fingerprint(path)
            && self
                .fingerprints
                .get(&plain)
                .is_some_and(|f| *f == fingerprint)
        {
            return Some((plain, true));
        }
        // A plain name (also one with eight hex digits, `v.12345678.txt`,
        // that is a file of its own): only the files found at startup.
        self.fingerprints
            .contains_key(path)
            .then(|| (path.to_owned(), false))
    }

    /// A router to nest under `/static`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(serve).with_state(self)
    }
}

/// Characters that must stay percent-encoded in a path we hand on.
const PATH_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

async fn serve(State(assets): State<Arc<Assets>>, request: Request) -> Response {
    // Judged as ServeDir will read it: percent-decoded (`%2eenv` is
    // `.env`). Not UTF-8, a NUL or a backslash: no file of ours.
    let raw = request.uri().path().trim_start_matches('/');
    let Ok(path) = percent_decode_str(raw)
        .decode_utf8()
        .map(|p| p.into_owned())
    else {
        return not_found();
    };
    if path.contains(['\0', '\\']) {
        return not_found();
    }
    let Some((file, immutable)) = assets.resolve(&path) else {
        return not_found();
    };
    let cache = if immutable { IMMUTABLE } else { REVALIDATE };
    if let Some(memory) = assets.memory.get(&file) {
        return memory.respond(request.method(), request.headers(), cache);
    }
    let (mut parts, body) = request.into_parts();
    if immutable {
        // ServeDir is asked for the plain name; the query is dropped.
        match Uri::try_from(format!("/{}", utf8_percent_encode(&file, PATH_SET))) {
            Ok(uri) => parts.uri = uri,
            Err(_) => return not_found(),
        }
    }
    let files = ServeDir::new(&assets.dir)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();
    let Ok(mut response) = files.oneshot(Request::from_parts(parts, body)).await;
    match response.status() {
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED => {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response.map(Body::new)
        }
        StatusCode::NOT_FOUND => not_found(),
        _ => response.map(Body::new),
    }
}

pub(crate) fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

/// `dir/app.css` + `3f9c1e2a` → `dir/app.3f9c1e2a.css`.
fn fingerprinted(name: &str, fingerprint: &str) -> String {
    let file_start = name.rfind('/').map_or(0, |at| at + 1);
    match name[file_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let at = file_start + dot;
            format!("{}.{fingerprint}{}", &name[..at], &name[at..])
        }
        _ => format!("{name}.{fingerprint}"),
    }
}

/// `dir/app.3f9c1e2a.css` → (`dir/app.css`, `3f9c1e2a`).
fn split_fingerprint(path: &str) -> Option<(String, String)> {
    let file_start = path.rfind('/').map_or(0, |at| at + 1);
    let file = &path[file_start..];
    let mut pieces = file.rsplitn(3, '.');
    let last = pieces.next()?;
    let middle = pieces.next()?;
    let is_fingerprint = |s: &str| {
        s.len() == 8
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match pieces.next() {
        // name.FINGERPRINT.ext
        Some(stem) if is_fingerprint(middle) && !stem.is_empty() => Some((
            format!("{}{stem}.{last}", &path[..file_start]),
            middle.to_owned(),
        )),
        // name.FINGERPRINT (no extension)
        None if is_fingerprint(last) && !middle.is_empty() => {
            Some((format!("{}{middle}", &path[..file_start]), last.to_owned()))
        }
        _ => None,
    }
}

fn is_variant(name: &str) -> bool {
    name.ends_with(".gz") || name.ends_with(".br") || name.ends_with(".partial")
}

/// The brotli and gzip variants of a file: read from `path.br` / `path.gz`
/// when those are fresh, else made now and written there (a directory that
/// cannot be written only loses the files, not the variants). `None` when
/// not worth it.
fn precompress(
    path: &Path,
    content: &[u8],
    report: &mut LoadReport,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let compressible = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSIBLE.contains(&e.to_ascii_lowercase().as_str()));
    // Large files are read from disk per request, without variants (and
    // brotli at quality 11 would hold up the start).
    if !compressible
        || (content.len() as u64) < MIN_COMPRESS_BYTES
        || content.len() > MEMORY_FILE_BYTES
    {
        return (None, None);
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let source_time = modified(path);
    let mut made = [None, None];
    for (slot, (suffix, compress)) in [
        ("br", brotli_bytes as fn(&[u8]) -> io::Result<Vec<u8>>),
        ("gz", gzip_bytes),
    ]
    .into_iter()
    .enumerate()
    {
        let mut variant = path.as_os_str().to_owned();
        variant.push(".");
        variant.push(suffix);
        let variant = PathBuf::from(variant);
        if let (Some(source), Some(done)) = (source_time, modified(&variant))
            && done >= source
            && let Ok(bytes) = std::fs::read(&variant)
        {
            made[slot] = Some(bytes);
            continue;
        }
        let Ok(bytes) = compress(content) else {
            continue;
        };
        // Unique per writer: two servers starting on one directory never
        // write into each other's file.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut partial = variant.clone().into_os_string();
        partial.push(format!(".{}-{n}.partial", std::process::id()));
        let partial = PathBuf::from(partial);
        match std::fs::write(&partial, &bytes).and_then(|()| std::fs::rename(&partial, &variant)) {
            Ok(()) => report.compressed += 1,
            Err(error) => {
                let _ = std::fs::remove_file(&partial);
                report.unwritable += 1;
                tracing::warn!(file = %variant.display(), %error, "cannot write a precompressed variant (it is still served if the file is held in memory)");
            }
        }
        made[slot] = Some(bytes);
    }
    let [br, gz] = made;
    (br, gz)
}

fn gzip_bytes(content: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(content)?;
    encoder.finish()
}

fn brotli_bytes(content: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        encoder.write_all(content)?;
    }
    Ok(out)
}

/// The site's icon, in the static directory; pages link it with
/// `<link rel="icon">`.
pub const FAVICON: &str = "favicon.svg";

/// `GET /favicon.ico`, which browsers ask for on any page that links no icon
/// of its own: [`FAVICON`] from the [`install`]ed directory, answered as
/// `/static/favicon.svg` is (its type, validators, compressed variants), so
/// the question never ends in a `404`.
pub async fn favicon(request: Request) -> Response {
    let Some(assets) = INSTALLED.get() else {
        return not_found();
    };
    let (mut parts, body) = request.into_parts();
    parts.uri = Uri::from_static("/favicon.svg");
    serve(State(assets.clone()), Request::from_parts(parts, body)).await
}

static INSTALLED: OnceLock<Arc<Assets>> = OnceLock::new();

/// Makes `assets` the ones [`url`] links (once per process; later calls
/// are ignored: one process serves one static directory).
pub fn install(assets: Arc<Assets>) {
    let _ = INSTALLED.set(assets);
}

/// The URL to link the static file `name` with: fingerprinted once
/// [`install`]ed, the plain `/static/NAME` before.
pub fn url(name: &str) -> String {
    match INSTALLED.get() {
        Some(assets) => assets.url(name),
        None => format!("/static/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_go_before_the_extension() {
        assert_eq!(fingerprinted("app.css", "0badf00d"), "app.0badf00d.css");
        assert_eq!(
            fingerprinted("js/app.min.js", "0badf00d"),
            "js/app.min.0badf00d.js"
        );
        assert_eq!(fingerprinted("LICENSE", "0badf00d"), "LICENSE.0badf00d");
        assert_eq!(fingerprinted("dir.v/x", "0badf00d"), "dir.v/x.0badf00d");
        assert_eq!(
            split_fingerprint("js/app.min.0badf00d.js"),
            Some(("js/app.min.js".into(), "0badf00d".into()))
        );
        assert_eq!(
            split_fingerprint("LICENSE.0badf00d"),
            Some(("LICENSE".into(), "0badf00d".into()))
        );
        assert_eq!(split_fingerprint("app.css"), None);
        assert_eq!(split_fingerprint("app.0BADF00D.css"), None);
        assert_eq!(split_fingerprint(".0badf00d.css"), None);
    }
}
