//! gzip for the responses worth it, for the clients that accept it, with
//! no compressor held while a streamed page waits.
//!
//! A deflate compressor keeps its window, hash chains and buffers (about
//! 300 KiB in flate2's Rust backend), and tower-http's compression keeps
//! one for a response's whole life: a browser's held page cost 140 KiB of
//! RSS against 17 for a client that sent no `Accept-Encoding`; 18 now
//! (docs/benchmarks.md, "A browser's held stream").
//!
//! Here the body compresses each chunk as it comes, with a sync flush,
//! which ends the deflate data on a byte boundary after a complete block,
//! and gives the compressor back as soon as the page has nothing more to
//! send. The next chunk takes a fresh one: its blocks continue the same gzip
//! member (a decoder reads one block after another, whoever made them; a
//! fresh compressor only refers back to what it compressed itself). Between
//! chunks a waiting page holds the running CRC-32 and length, nothing else.
//! No crate compresses this way (they keep the stream's compressor, as the
//! format allows), hence this file.
//!
//! Compressed chunks lose only what a chunk could have referred to in the
//! ones before a wait; chunks that follow each other at once share one
//! compressor. Given-back compressors wait, reset, in a small pool per
//! thread for the next page: made and freed each time, their memory came
//! fresh from the kernel at every wait.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    VARY,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Crc, FlushCompress};
use http_body::{Body as _, Frame, SizeHint};
use tower::{Layer, Service};

/// Under this size the headers and the gzip frame eat the gain.
const MIN_SIZE: u64 = 512;

/// Wraps a route in [`Gzip`]: see [`crate::http::compression`].
#[derive(Clone, Copy, Debug)]
pub struct GzipLayer {
    on: bool,
}

impl GzipLayer {
    /// With `on` false, nothing is compressed (`--no-compression`): the
    /// layer stays, so the router's stack is one type either way.
    pub(crate) fn new(on: bool) -> Self {
        GzipLayer { on }
    }
}

impl<S> Layer<S> for GzipLayer {
    type Service = Gzip<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gzip { inner, on: self.on }
    }
}

/// A route whose responses are gzipped (level 1, nginx's default for
/// on-the-fly gzip) when the request accepts gzip and the response is worth
/// it: not small (a known size under 512 bytes), not already encoded, not a
/// range, not a format that is compressed already.
#[derive(Clone, Debug)]
pub struct Gzip<S> {
    inner: S,
    on: bool,
}

impl<S> Service<Request> for Gzip<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GzipFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let wanted = self.on && accepts_gzip(request.headers());
        GzipFuture {
            inner: self.inner.call(request),
            wanted,
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's future; its response gzipped if asked and worth it.
    pub struct GzipFuture<F> {
        #[pin]
        inner: F,
        wanted: bool,
    }
}

impl<F> Future for GzipFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if !*this.wanted || !worth_it(&response) {
            return Poll::Ready(Ok(response));
        }
        let headers = response.headers_mut();
        if !vary_names_accept_encoding(headers) {
            headers.append(VARY, HeaderValue::from_static("accept-encoding"));
        }
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.remove(CONTENT_LENGTH);
        headers.remove(ACCEPT_RANGES);
        Poll::Ready(Ok(response.map(|body| Body::new(GzipBody::new(body)))))
    }
}

fn vary_names_accept_encoding(headers: &HeaderMap) -> bool {
    headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| {
            let name = name.trim();
            name == "*" || name.eq_ignore_ascii_case("accept-encoding")
        })
}

/// Whether gzipping this response gains anything.
fn worth_it(response: &Response) -> bool {
    let headers = response.headers();
    if headers.contains_key(CONTENT_ENCODING) || headers.contains_key(CONTENT_RANGE) {
        return false;
    }
    if response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|size| size < MIN_SIZE)
    {
        return false;
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    // Compressed already (SVG is text), or a stream of events that must
    // not wait in a compressor.
    let compressed = (content_type.starts_with("image/")
        && !content_type.starts_with("image/svg+xml"))
        || [
            "video/",
            "audio/",
            "font/woff",
            "application/zip",
            "application/gzip",
            "application/grpc",
            "text/event-stream",
        ]
        .iter()
        .any(|prefix| content_type.starts_with(prefix));
    !compressed
}

/// Whether `Accept-Encoding` accepts gzip: named with a quality above 0,
/// or not named and `*` accepted.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(quality);
        } else if name == "*" {
            any = Some(quality);
        }
    }
    gzip.or(any).is_some_and(|quality| quality > 0.0)
}

pin_project_lite::pin_project! {
    /// A body gzipped chunk by chunk; see the module's doc.
    pub(crate) struct GzipBody<B> {
        #[pin]
        inner: B,
        // Only while chunks come one after another; given back to the
        // thread's pool whenever the page waits.
        compressor: Option<Compress>,
        crc: Crc,
        header_sent: bool,
        ended: bool,
    }
}

impl<B> GzipBody<B> {
    pub(crate) fn new(inner: B) -> Self {
        GzipBody {
            inner,
            compressor: None,
            crc: Crc::new(),
            header_sent: false,
            ended: false,
        }
    }
}

/// gzip's member header: deflate, no name or time, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A frame's buffer, with room for `capacity` bytes, starting with the
/// member's header if it has not been sent yet.
fn frame_buffer(header_sent: &mut bool, capacity: usize) -> BytesMut {
    let mut out = BytesMut::with_capacity(HEADER.len() + capacity);
    if !std::mem::replace(header_sent, true) {
        out.put_slice(&HEADER);
    }
    out
}

impl<B> http_body::Body for GzipBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        loop {
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Pending => {
                    // Waiting: hold no compressor (the last chunk was
                    // flushed whole).
                    if let Some(compressor) = this.compressor.take() {
                        recycle(compressor);
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if data.is_empty() => continue,
                    Ok(data) => {
                        this.crc.update(&data);
                        let mut out = frame_buffer(this.header_sent, data.len() / 2 + 64);
                        let compressor = this.compressor.get_or_insert_with(fresh);
                        deflate(compressor, &data, FlushCompress::Sync, &mut out);
                        return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                    }
                    // Trailers have no place in a gzip stream's framing
                    // here; the route sends none.
                    Err(_) => continue,
                },
                Poll::Ready(None) => {
                    *this.ended = true;
                    let mut out = frame_buffer(this.header_sent, 32);
                    let mut compressor = this.compressor.take().unwrap_or_else(fresh);
                    // The final block, then CRC-32 and length (mod 2^32).
                    deflate(&mut compressor, &[], FlushCompress::Finish, &mut out);
                    recycle(compressor);
                    out.put_u32_le(this.crc.sum());
                    out.put_u32_le(this.crc.amount());
                    return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Idle compressors kept per thread: made and freed for every wait, their
/// 300 KiB cost fresh pages from the kernel (page faults, zeroing) each
/// time, which more than halved the gzipped page's throughput.
const POOLED: usize = 4;

thread_local! {
    static POOL: std::cell::RefCell<Vec<Compress>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A raw deflate compressor at level 1 (the gzip framing is written here),
/// from this thread's pool when it has one.
fn fresh() -> Compress {
    POOL.with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| Compress::new(Compression::fast(), false))
}

/// Gives a compressor back to this thread's pool, ready for a new stream.
fn recycle(mut compressor: Compress) {
    POOL.with_borrow_mut(|pool| {
        if pool.len() < POOLED {
            compressor.reset();
            pool.push(compressor);
        }
    });
}

/// Compresses all of `input` into `out` and flushes as asked.
fn deflate(compressor: &mut Compress, mut input: &[u8], flush: FlushCompress, out: &mut BytesMut) {
    let mut room = input.len() / 2 + 64;
    loop {
        let start = out.len();
        out.resize(start + room, 0);
        let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
        compressor
            .compress(input, &mut out[start..], flush)
            .expect("deflate does not fail on its own state");
        let written = (compressor.total_out() - before_out) as usize;
        out.truncate(start + written);
        input = &input[(compressor.total_in() - before_in) as usize..];
        // Done once the input is in and the compressor had room to spare:
        // everything it had to flush is out.
        if input.is_empty() && written < room {
            return;
        }
        room *= 2;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, value.parse().unwrap());
        headers
    }

    #[test]
    fn gzip_when_accepted_with_a_quality_above_zero() {
        assert!(accepts_gzip(&headers("gzip")));
        assert!(accepts_gzip(&headers("br, GZIP;q=0.5")));
        assert!(accepts_gzip(&headers("*")));
        assert!(accepts_gzip(&headers("x-gzip")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("*, gzip;q=0")));
        assert!(!accepts_gzip(&headers("*;q=0")));
        assert!(!accepts_gzip(&headers("br")));
        assert!(!accepts_gzip(&headers("identity")));
        assert!(!accepts_gzip(&headers("x-gzip-ish")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    /// A body of chunks, with a wait (one `Pending`) before the ones marked.
    struct Chunks(std::collections::VecDeque<(bool, Bytes)>, bool);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            match self.0.front() {
                None => Poll::Ready(None),
                Some((true, _)) if !self.1 => {
                    self.1 = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Some(_) => {
                    self.1 = false;
                    let (_, chunk) = self.0.pop_front().unwrap();
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
            }
        }
    }

    async fn next(body: &mut GzipBody<Chunks>) -> Option<Bytes> {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
        Some(frame.unwrap().into_data().unwrap())
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("a valid gzip stream");
        out
    }

    #[tokio::test]
    async fn chunks_decode_whole_across_waits_and_fresh_compressors() {
        // Repetitive within and across chunks, so a compressor that kept
        // referring back across a wait would show in the decoded bytes.
        let chunk =
            |i: usize| Bytes::from(format!("<p>part {i} {}</p>", "lorem ipsum ".repeat(40 + i)));
        for waits in [
            [false; 6],
            [true; 6],
            [false, true, false, true, true, false],
        ] {
            let chunks = (0..6).map(|i| (waits[i], chunk(i))).collect();
            let mut body = GzipBody::new(Chunks(chunks, false));
            let mut compressed = Vec::new();
            let mut frames = 0;
            while let Some(data) = next(&mut body).await {
                frames += 1;
                compressed.extend_from_slice(&data);
                // Every frame so far decodes on its own: nothing is held
                // back in a compressor between chunks.
                if frames <= 6 {
                    let mut partial = Vec::new();
                    let mut decoder = flate2::write::GzDecoder::new(&mut partial);
                    std::io::Write::write_all(&mut decoder, &compressed).unwrap();
                    std::io::Write::flush(&mut decoder).unwrap();
                    drop(decoder);
                    let expected: Vec<u8> = (0..frames).flat_map(|i| chunk(i).to_vec()).collect();
                    assert_eq!(partial, expected, "{waits:?}, after {frames} frames");
                }
            }
            assert_eq!(frames, 7, "a frame per chunk and the trailer");
            let expected: Vec<u8> = (0..6).flat_map(|i| chunk(i).to_vec()).collect();
            assert_eq!(gunzip(&compressed), expected, "{waits:?}");
        }
    }

    #[test]
    fn a_waiting_page_holds_no_compressor() {
        let chunk = Bytes::from("lorem ipsum ".repeat(100));
        let chunks = [(false, chunk.clone()), (true, chunk)]
            .into_iter()
            .collect();
        let mut body = GzipBody::new(Chunks(chunks, false));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let poll =
            |body: &mut GzipBody<Chunks>, cx: &mut Context<'_>| Pin::new(body).poll_frame(cx);
        assert!(matches!(poll(&mut body, &mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(body.compressor.is_some(), "held while chunks come");
        assert!(poll(&mut body, &mut cx).is_pending());
        assert!(body.compressor.is_none(), "given back while the page waits");
        assert_eq!(POOL.with_borrow(Vec::len), 1, "to this thread's pool");
        // The next chunk takes it from the pool.
        assert!(matches!(poll(&mut body, &mut cx), Poll::Ready(Some(Ok(_)))));
        assert_eq!(POOL.with_borrow(Vec::len), 0);
    }

    #[tokio::test]
    async fn an_empty_body_is_a_valid_empty_gzip_stream() {
        let mut body = GzipBody::new(Chunks(Default::default(), false));
        let mut compressed = Vec::new();
        while let Some(data) = next(&mut body).await {
            compressed.extend_from_slice(&data);
        }
        assert!(gunzip(&compressed).is_empty());
    }
}
