//! Leptos 0.8 peer of the benchmark page (benches/PAGE.md).
//!
//!   GET /bench?boundaries=N&items=K&delay=D   out-of-order streamed SSR
//!   GET /static/bench.css                      the project's stylesheet (static/bench.css)
//!
//! The page is rendered by `leptos_axum::render_app_to_stream_with_context`,
//! the handler that `render_route` picks for routes with
//! `SsrMode::OutOfOrder`. Only the `ssr` feature is used: there is no client
//! (WASM) build and no hydration script; the out-of-order swap scripts are the
//! inline `<script>`s that tachys writes after each resolved fragment.
//!
//! Env: PORT (default 3003), HOST (default 127.0.0.1), THREADS (tokio worker
//! threads, default: number of cores), BENCH_CSS (path of the stylesheet,
//! default: the repository's static/bench.css, three folders up), DATA (`suspend`, the
//! default: each boundary awaits a plain async block inside `Suspend`;
//! `resource`: each boundary reads a `Resource`, which Leptos also serializes
//! into the stream for hydration).

use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    serve::ListenerExt,
    Router,
};
use leptos::prelude::*;
use std::{sync::OnceLock, time::Duration};

/// The data string of PAGE.md; Leptos escapes it on every item.
const TEXT: &str = "Tom & Jerry <say> \"hi\" & 'bye'";

#[derive(Clone, Copy, Debug)]
struct Params {
    n: u64,
    k: u64,
    delay: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum DataMode {
    Suspend,
    Resource,
}

static DATA_MODE: OnceLock<DataMode> = OnceLock::new();
static CSS: OnceLock<axum::body::Bytes> = OnceLock::new();

// ---------------------------------------------------------------- params

/// name, default, max (min is 0)
const PARAMS: [(&str, u64, u64); 3] = [("boundaries", 3, 64), ("items", 20, 1000), ("delay", 0, 60000)];

fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// Same rules as the React peer: percent-decoded (form encoding), first
/// occurrence of a name wins, digits only, unknown names ignored.
fn parse_params(query: Option<&str>) -> Result<Params, String> {
    let mut raw: [Option<String>; 3] = [None, None, None];
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if let Some(slot) = PARAMS.iter().position(|(p, _, _)| *p == name) {
            if raw[slot].is_none() {
                raw[slot] = Some(value.into_owned());
            }
        }
    }
    let mut out = [0u64; 3];
    for (slot, (name, dflt, max)) in PARAMS.iter().enumerate() {
        out[slot] = match &raw[slot] {
            None => *dflt,
            Some(v) => {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("{name}: not a whole number: {:?}", clip(v, 78)));
                }
                let n = if v.len() > 12 { u64::MAX } else { v.parse::<u64>().unwrap_or(u64::MAX) };
                if n > *max {
                    return Err(format!("{name}: out of range 0..={max}: {}", clip(v, 80)));
                }
                n
            }
        };
    }
    Ok(Params { n: out[0], k: out[1], delay: out[2] })
}

// ---------------------------------------------------------------- data

/// Boundary i's data: after delay * (N - i) / N ms (integer arithmetic), so
/// the last boundary resolves first; when that is 0, immediately (no timer).
async fn section_data(i: u64, p: Params) -> &'static str {
    let ms = p.delay * (p.n - i) / p.n;
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    TEXT
}

// ---------------------------------------------------------------- page

#[component]
fn Section(i: u64, k: u64, text: &'static str) -> impl IntoView {
    view! {
        <section id=format!("s{i}")>
            <h2>{format!("Section {i}")}</h2>
            <ul>
                {(0..k)
                    .map(|j| view! { <li>{format!("Item {i}.{j}: ")}<b>{text}</b></li> })
                    .collect_view()}
            </ul>
        </section>
    }
}

fn boundary(i: u64, p: Params) -> AnyView {
    let fallback = move || view! { <p class="fallback">{format!("Loading section {i}\u{2026}")}</p> };
    match DATA_MODE.get().copied().unwrap_or(DataMode::Suspend) {
        DataMode::Suspend => view! {
            <Suspense fallback>
                {Suspend::new(async move {
                    let text = section_data(i, p).await;
                    view! { <Section i k=p.k text/> }
                })}
            </Suspense>
        }
        .into_any(),
        DataMode::Resource => {
            let data = Resource::new(|| (), move |_| async move { section_data(i, p).await.to_string() });
            view! {
                <Suspense fallback>
                    {Suspend::new(async move {
                        let text: String = data.await;
                        // TEXT is the only value the resource can have
                        let text: &'static str = if text == TEXT { TEXT } else { "?" };
                        view! { <Section i k=p.k text/> }
                    })}
                </Suspense>
            }
            .into_any()
        }
    }
}

fn bench_page() -> impl IntoView {
    let p = use_context::<Params>().expect("Params in context");
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <title>"Bench"</title>
                <link rel="stylesheet" href="/static/bench.css"/>
            </head>
            <body>
                <header>
                    <h1>"Bench"</h1>
                </header>
                <main>{(0..p.n).map(|i| boundary(i, p)).collect_view()}</main>
                <footer>"end of page"</footer>
            </body>
        </html>
    }
}

// ---------------------------------------------------------------- http

fn plain(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn bench(req: Request) -> Response {
    match parse_params(req.uri().query()) {
        Err(reason) => plain(StatusCode::BAD_REQUEST, reason + "\n"),
        Ok(p) => {
            let handler = leptos_axum::render_app_to_stream_with_context(move || provide_context(p), bench_page);
            handler(req).await
        }
    }
}

async fn css() -> Response {
    let mut res = Response::new(Body::from(CSS.get().cloned().unwrap_or_default()));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n".into())
}

fn env_or<T: std::str::FromStr>(name: &str, dflt: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().unwrap_or_else(|_| {
            eprintln!("bad {name}={v}");
            std::process::exit(2)
        }),
        _ => dflt,
    }
}

fn main() {
    let port: u16 = env_or("PORT", 3003);
    let host: String = env_or("HOST", "127.0.0.1".to_string());
    let threads: usize = env_or("THREADS", 0);
    let mode = match std::env::var("DATA").unwrap_or_default().as_str() {
        "" | "suspend" => DataMode::Suspend,
        "resource" => DataMode::Resource,
        other => {
            eprintln!("bad DATA={other} (suspend|resource)");
            std::process::exit(2)
        }
    };
    DATA_MODE.set(mode).unwrap();
    let css_path = std::env::var("BENCH_CSS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../static/bench.css").to_string());
    let css_bytes = std::fs::read(&css_path).unwrap_or_else(|e| {
        eprintln!("cannot read {css_path}: {e}");
        std::process::exit(2)
    });
    CSS.set(css_bytes.into()).unwrap();

    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if threads > 0 {
        rt.worker_threads(threads);
    }
    let rt = rt.build().expect("tokio runtime");
    rt.block_on(async move {
        // Leptos spawns its effects / tasks through any_spawner
        any_spawner::Executor::init_tokio().expect("executor");
        let app = Router::new()
            .route("/bench", get(bench))
            .route("/static/bench.css", get(css))
            .fallback(not_found);
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .unwrap_or_else(|e| {
                eprintln!("cannot listen on {host}:{port}: {e}");
                std::process::exit(1)
            })
            .tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
        eprintln!(
            "leptos peer (pid {}) on http://{host}:{port} data={mode:?} threads={}",
            std::process::id(),
            if threads > 0 { threads.to_string() } else { "auto".into() }
        );
        tokio::spawn(async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            std::process::exit(0);
        });
        axum::serve(listener, app).await.expect("serve");
    });
}
