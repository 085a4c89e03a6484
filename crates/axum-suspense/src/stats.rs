//! Counters and gauges of one [`Engine`](crate::Engine), readable at any
//! time: tests use them to see that nothing outlives its client, and with
//! the `metrics` feature `Engine::register_metrics` exports them, with two
//! latency histograms, in a Prometheus registry (`metrics.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[cfg(feature = "metrics")]
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// What an engine's pages are doing and have done, since the engine was
/// made; read it with [`Engine::stats`](crate::Engine::stats).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use askama::Template;
/// use axum_suspense::{Engine, Text};
///
/// #[derive(Template)]
/// #[template(source = "<body>{{ part }}</body>", ext = "html")]
/// struct Shell { part: axum_suspense::Boundary }
/// #[derive(Template)]
/// #[template(source = "<p>part</p>", ext = "html")]
/// struct Part;
///
/// let engine = Engine::new();
/// let page = engine.page();
/// let part = page.suspend(Text::new("…"), async { Part });
/// let response = page.stream(Shell { part });
/// assert_eq!(engine.stats().active_streams(), 1);
/// axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// let stats = engine.stats().snapshot();
/// assert_eq!((stats.resolved, stats.pending_boundaries, stats.active_streams), (1, 0, 0));
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Stats {
    /// Boundary futures that exist right now (created and not yet dropped).
    pending_boundaries: AtomicU64,
    /// Streamed page bodies that exist right now.
    active_streams: AtomicU64,
    /// Boundaries whose content rendered.
    resolved: AtomicU64,
    /// Boundaries whose future returned an error, or whose content failed to render.
    failed: AtomicU64,
    /// Boundaries whose future or render panicked.
    panicked: AtomicU64,
    /// Boundaries that did not resolve within their timeout.
    timed_out: AtomicU64,
    /// Streams dropped before their last byte was produced (the client left).
    client_disconnects: AtomicU64,
    /// Time to shell and to each fragment, for Prometheus.
    #[cfg(feature = "metrics")]
    pub(crate) latency: Latency,
}

/// A point-in-time copy of [`Stats`]; counts are since the engine was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Boundary futures alive (created, not yet ended or dropped).
    pub pending_boundaries: u64,
    /// Page bodies alive (streaming, or held).
    pub active_streams: u64,
    /// Boundaries whose content was rendered.
    pub resolved: u64,
    /// Boundaries whose future returned an error or whose content failed to
    /// render.
    pub failed: u64,
    /// Boundaries whose future or render panicked.
    pub panicked: u64,
    /// Boundaries that timed out, or were ended by a page's deadline or
    /// abort.
    pub timed_out: u64,
    /// Pages whose client left before their last byte.
    pub client_disconnects: u64,
}

/// How a boundary ended, for counting and logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Resolved,
    Failed,
    Panicked,
    TimedOut,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Failed => "failed",
            Outcome::Panicked => "panicked",
            Outcome::TimedOut => "timed_out",
        }
    }
}

impl Stats {
    /// All the counts, read now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            pending_boundaries: self.pending_boundaries.load(Relaxed),
            active_streams: self.active_streams.load(Relaxed),
            resolved: self.resolved.load(Relaxed),
            failed: self.failed.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            client_disconnects: self.client_disconnects.load(Relaxed),
        }
    }

    /// Boundary futures alive right now.
    pub fn pending_boundaries(&self) -> u64 {
        self.pending_boundaries.load(Relaxed)
    }

    /// Streamed page bodies alive right now.
    pub fn active_streams(&self) -> u64 {
        self.active_streams.load(Relaxed)
    }

    pub(crate) fn record(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Resolved => &self.resolved,
            Outcome::Failed => &self.failed,
            Outcome::Panicked => &self.panicked,
            Outcome::TimedOut => &self.timed_out,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn record_disconnect(&self) {
        self.client_disconnects.fetch_add(1, Relaxed);
    }

    /// A page's first chunk left its body, `after` its start.
    pub(crate) fn record_shell(&self, after: Duration) {
        #[cfg(feature = "metrics")]
        self.latency.shell(after);
        #[cfg(not(feature = "metrics"))]
        let _ = after;
    }

    /// A boundary's content left its page's body, `after` the page's start.
    pub(crate) fn record_fragment(&self, after: Duration) {
        #[cfg(feature = "metrics")]
        self.latency.fragment(after);
        #[cfg(not(feature = "metrics"))]
        let _ = after;
    }
}

/// Counts one live thing for as long as it exists.
#[derive(Debug)]
pub(crate) struct LiveGuard {
    stats: Arc<Stats>,
    which: Gauge,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Gauge {
    Boundaries,
    Streams,
}

impl LiveGuard {
    pub(crate) fn new(stats: Arc<Stats>, which: Gauge) -> Self {
        gauge(&stats, which).fetch_add(1, Relaxed);
        LiveGuard { stats, which }
    }

    /// The statistics this guard counts in.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        gauge(&self.stats, self.which).fetch_sub(1, Relaxed);
    }
}

fn gauge(stats: &Stats, which: Gauge) -> &AtomicU64 {
    match which {
        Gauge::Boundaries => &stats.pending_boundaries,
        Gauge::Streams => &stats.active_streams,
    }
}

/// Time to shell and to each fragment, kept as histograms (counters and
/// gauges are read from [`Stats`] at each scrape instead).
#[cfg(feature = "metrics")]
#[derive(Debug)]
pub(crate) struct Latency {
    /// From a page's start to its first chunk leaving the body (the shell;
    /// in buffered mode, the whole page).
    pub(crate) shell: Histogram,
    /// From a page's start to each boundary's content leaving the body.
    pub(crate) fragment: Histogram,
}

#[cfg(feature = "metrics")]
impl Default for Latency {
    fn default() -> Self {
        // 1 ms to 65 s, doubling: a shell takes about a millisecond, a
        // fragment up to the boundary timeout.
        let buckets = || exponential_buckets(0.001, 2.0, 17);
        Latency {
            shell: Histogram::new(buckets()),
            fragment: Histogram::new(buckets()),
        }
    }
}

#[cfg(feature = "metrics")]
impl Latency {
    pub(crate) fn shell(&self, after: Duration) {
        self.shell.observe(after.as_secs_f64());
    }

    pub(crate) fn fragment(&self, after: Duration) {
        self.fragment.observe(after.as_secs_f64());
    }
}
