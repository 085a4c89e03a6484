//! `ceiling FILE PORT THREADS`: serves FILE's bytes on 127.0.0.1:PORT with
//! hyper alone, as a full body (`/full`, `Content-Length`, as nginx sends a
//! static file) or as a stream of four chunks (`/chunked`, as a streamed
//! page goes: the shell, then three parts), with the HTTP/1.1 settings
//! suspense-ssr uses. What a request costs in hyper and tokio themselves:
//! the most any server on this stack could do on this machine.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, header};
use hyper_util::rt::{TokioIo, TokioTimer};

/// A body of ready chunks, one frame each.
struct Chunks(Vec<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(if self.0.is_empty() {
            None
        } else {
            Some(Ok(Frame::data(self.0.remove(0))))
        })
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        // `/full` is one exact chunk: Content-Length; `/chunked` is not.
        match self.0.as_slice() {
            [one] => http_body::SizeHint::with_exact(one.len() as u64),
            _ => http_body::SizeHint::default(),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, port, threads] = args.as_slice() else {
        eprintln!("usage: ceiling FILE PORT THREADS");
        std::process::exit(2);
    };
    let page = Bytes::from(std::fs::read(file).expect("read the page"));
    let quarter = page.len() / 4;
    let parts: Vec<Bytes> = (0..4)
        .map(|i| {
            page.slice(
                i * quarter..if i == 3 {
                    page.len()
                } else {
                    (i + 1) * quarter
                },
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.parse().expect("THREADS"))
        .enable_all()
        .build()
        .unwrap();
    let port: u16 = port.parse().expect("PORT");
    // The accept loop on a worker, as suspense-ssr runs it: a connection
    // then starts on the worker that accepted it.
    let serve = async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        println!("listening on http://{}", listener.local_addr().unwrap());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (page, parts) = (page.clone(), parts.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let body = if request.uri().path() == "/chunked" {
                        Chunks(parts.clone())
                    } else {
                        Chunks(vec![page.clone()])
                    };
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                                .body(body)
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .max_buf_size(32 * 1024)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    };
    runtime.block_on(async move { tokio::spawn(serve).await.unwrap() });
}
