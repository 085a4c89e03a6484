//! A static file held in memory, answered with a file server's HTTP
//! semantics: `GET` and `HEAD`; the representation chosen from
//! `Accept-Encoding` (brotli, then gzip, then the file itself) with
//! `Vary: Accept-Encoding`; a strong `ETag` per representation and
//! `Last-Modified`; `If-None-Match` / `If-Modified-Since` answered `304`;
//! one `Range` (with `If-Range`) answered `206`, or `416` when it starts past
//! the end; several ranges get the whole file (which HTTP allows).
//!
//! Every header value is made once, at startup: a request costs a map lookup
//! and a few comparisons, with the bytes shared (`Bytes`), never copied.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

impl std::fmt::Debug for MemoryFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryFile")
            .field("content_type", &self.content_type)
            .field("bytes", &self.identity.bytes.len())
            .field("br", &self.br.as_ref().map(|r| r.bytes.len()))
            .field("gzip", &self.gzip.as_ref().map(|r| r.bytes.len()))
            .finish()
    }
}

pub(crate) struct MemoryFile {
    content_type: HeaderValue,
    /// Whole seconds (what HTTP dates carry), and the header.
    last_modified: Option<(SystemTime, HeaderValue)>,
    identity: Representation,
    br: Option<Representation>,
    gzip: Option<Representation>,
}

struct Representation {
    bytes: Bytes,
    etag: HeaderValue,
    /// `Content-Encoding`, if any.
    encoding: Option<HeaderValue>,
}

impl Representation {
    fn new(bytes: Vec<u8>, encoding: Option<&'static str>) -> Self {
        let etag = format!(
            "\"{:08x}-{:x}{}\"",
            crc32fast::hash(&bytes),
            bytes.len(),
            encoding.map_or(String::new(), |e| format!("-{e}"))
        );
        Representation {
            etag: HeaderValue::from_str(&etag).expect("hex digits are a valid header"),
            bytes: Bytes::from(bytes),
            encoding: encoding.map(HeaderValue::from_static),
        }
    }
}

impl MemoryFile {
    pub(crate) fn new(
        path: &Path,
        content: Vec<u8>,
        br: Option<Vec<u8>>,
        gzip: Option<Vec<u8>>,
        modified: Option<SystemTime>,
    ) -> Self {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let content_type = match mime.type_() {
            // Text without a charset would be read as the browser pleases.
            mime::TEXT if mime.get_param(mime::CHARSET).is_none() => {
                format!("{mime}; charset=utf-8")
            }
            _ => mime.to_string(),
        };
        let last_modified = modified.and_then(|time| {
            let seconds = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let value = HeaderValue::from_str(&httpdate::fmt_http_date(time)).ok()?;
            Some((time, value))
        });
        MemoryFile {
            content_type: HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            last_modified,
            identity: Representation::new(content, None),
            // Only where they are smaller.
            br: br
                .filter(|b| b.len() < content_len(&gzip, usize::MAX))
                .map(|b| Representation::new(b, Some("br"))),
            gzip: gzip.map(|g| Representation::new(g, Some("gzip"))),
        }
    }

    pub(crate) fn respond(
        &self,
        method: &Method,
        request: &HeaderMap,
        cache_control: &'static str,
    ) -> Response {
        let head = *method == Method::HEAD;
        if !head && *method != Method::GET {
            let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let chosen = self.choose(request.get(header::ACCEPT_ENCODING));

        let mut response = status(StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        headers.insert(header::ETAG, chosen.etag.clone());
        if let Some((_, value)) = &self.last_modified {
            headers.insert(header::LAST_MODIFIED, value.clone());
        }
        if self.br.is_some() || self.gzip.is_some() {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }

        if self.not_modified(request, chosen) {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return response;
        }

        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Some(encoding) = &chosen.encoding {
            headers.insert(header::CONTENT_ENCODING, encoding.clone());
        }
        let len = chosen.bytes.len();
        let mut bytes = chosen.bytes.clone();
        if !head && self.range_applies(request, chosen) {
            match request
                .get(header::RANGE)
                .map(|r| parse_range(r.as_bytes(), len))
            {
                Some(Range::Satisfiable(start, end)) => {
                    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                    response.headers_mut().insert(
                        header::CONTENT_RANGE,
                        header_value(format!("bytes {start}-{end}/{len}")),
                    );
                    bytes = bytes.slice(start..=end);
                }
                Some(Range::Unsatisfiable) => {
                    let mut response = status(StatusCode::RANGE_NOT_SATISFIABLE);
                    response.headers_mut().insert(
                        header::CONTENT_RANGE,
                        header_value(format!("bytes */{len}")),
                    );
                    return response;
                }
                Some(Range::Ignored) | None => {}
            }
        }
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        if !head {
            *response.body_mut() = Body::from(bytes);
        }
        response
    }

    /// brotli if accepted and there, else gzip, else the file.
    fn choose(&self, accept: Option<&HeaderValue>) -> &Representation {
        let accept = accept.and_then(|a| a.to_str().ok()).unwrap_or("");
        if let Some(br) = &self.br
            && accepts(accept, "br")
        {
            return br;
        }
        if let Some(gzip) = &self.gzip
            && (accepts(accept, "gzip") || accepts(accept, "x-gzip"))
        {
            return gzip;
        }
        &self.identity
    }

    fn not_modified(&self, request: &HeaderMap, chosen: &Representation) -> bool {
        if let Some(tags) = request.get(header::IF_NONE_MATCH) {
            // Weak comparison, as If-None-Match asks.
            let ours = chosen.etag.as_bytes();
            return tags.as_bytes().split(|&b| b == b',').any(|tag| {
                let tag = tag.trim_ascii();
                tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == ours
            });
        }
        match (&self.last_modified, request.get(header::IF_MODIFIED_SINCE)) {
            (Some((modified, _)), Some(since)) => since
                .to_str()
                .ok()
                .and_then(|s| httpdate::parse_http_date(s).ok())
                .is_some_and(|since| *modified <= since),
            _ => false,
        }
    }

    /// `If-Range`: the range only if the client's copy is this one.
    fn range_applies(&self, request: &HeaderMap, chosen: &Representation) -> bool {
        match request.get(header::IF_RANGE) {
            None => true,
            Some(value) if value.as_bytes().starts_with(b"\"") => value == chosen.etag,
            Some(value) => self
                .last_modified
                .as_ref()
                .is_some_and(|(_, ours)| ours == value),
        }
    }
}

fn content_len(bytes: &Option<Vec<u8>>, default: usize) -> usize {
    bytes.as_ref().map_or(default, Vec::len)
}

/// Whether `Accept-Encoding` allows `coding` (by name or `*`, with q > 0).
fn accepts(accept: &str, coding: &str) -> bool {
    let mut star = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
        if name.eq_ignore_ascii_case(coding) {
            return q > 0.0;
        }
        if name == "*" {
            star = q > 0.0;
        }
    }
    star
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// First and last byte, inclusive.
    Satisfiable(usize, usize),
    Unsatisfiable,
    /// Malformed, not bytes, or several ranges: the whole file.
    Ignored,
}

fn parse_range(value: &[u8], len: usize) -> Range {
    let Some(spec) = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Range::Ignored;
    };
    if spec.contains(',') {
        return Range::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Ignored;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<usize>().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Satisfiable(len - n.min(len), len - 1),
            None => Range::Ignored,
        },
        (first, last) => {
            let Some(start) = number(first) else {
                return Range::Ignored;
            };
            let end = match last {
                "" => len.saturating_sub(1),
                last => match number(last) {
                    Some(end) if end >= start => end.min(len.saturating_sub(1)),
                    _ => return Range::Ignored,
                },
            };
            if start >= len {
                Range::Unsatisfiable
            } else {
                Range::Satisfiable(start, end)
            }
        }
    }
}

fn status(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

fn header_value(value: String) -> HeaderValue {
    HeaderValue::from_str(&value).expect("digits and ASCII are a valid header")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(b"bytes=0-9", 100), Range::Satisfiable(0, 9));
        assert_eq!(parse_range(b"bytes=90-", 100), Range::Satisfiable(90, 99));
        assert_eq!(
            parse_range(b"bytes=90-500", 100),
            Range::Satisfiable(90, 99)
        );
        assert_eq!(parse_range(b"bytes=-10", 100), Range::Satisfiable(90, 99));
        assert_eq!(parse_range(b"bytes=-500", 100), Range::Satisfiable(0, 99));
        assert_eq!(parse_range(b"bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(parse_range(b"bytes=5-1", 100), Range::Ignored);
        assert_eq!(parse_range(b"bytes=0-1,5-6", 100), Range::Ignored);
        assert_eq!(parse_range(b"items=0-1", 100), Range::Ignored);
        assert_eq!(parse_range(b"bytes=+1-2", 100), Range::Ignored);
    }

    #[test]
    fn accept_encoding() {
        assert!(accepts("gzip, br", "br"));
        assert!(accepts("br;q=0.5", "br"));
        assert!(!accepts("br;q=0", "br"));
        assert!(!accepts("gzip", "br"));
        assert!(accepts("*", "br"));
        assert!(!accepts("*, br;q=0", "br"));
        assert!(!accepts("", "gzip"));
    }
}
