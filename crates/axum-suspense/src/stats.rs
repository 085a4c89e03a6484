//! Counters, gauges and histograms of one [`Engine`](crate::Engine),
//! readable at any time: tests use them to see that nothing outlives its
//! client, and `Engine::register_metrics` exports them in a Prometheus
//! registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// What an engine is doing and has done. All counts are since the engine was
/// created.
#[derive(Debug)]
pub struct Stats {
    /// Boundary futures that exist right now (created and not yet dropped).
    live_boundaries: AtomicU64,
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
    abandoned_streams: AtomicU64,
    /// From a page's start to its first chunk leaving the body (the shell;
    /// in buffered mode, the whole page).
    time_to_shell: Histogram,
    /// From a page's start to each boundary's content leaving the body.
    time_to_fragment: Histogram,
}

impl Default for Stats {
    fn default() -> Self {
        // 1 ms to 65 s, doubling: a shell takes about a millisecond, a
        // fragment up to the boundary timeout.
        let buckets = || exponential_buckets(0.001, 2.0, 17);
        Stats {
            live_boundaries: AtomicU64::new(0),
            active_streams: AtomicU64::new(0),
            resolved: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            abandoned_streams: AtomicU64::new(0),
            time_to_shell: Histogram::new(buckets()),
            time_to_fragment: Histogram::new(buckets()),
        }
    }
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    pub live_boundaries: u64,
    pub active_streams: u64,
    pub resolved: u64,
    pub failed: u64,
    pub panicked: u64,
    pub timed_out: u64,
    pub abandoned_streams: u64,
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
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            live_boundaries: self.live_boundaries.load(Relaxed),
            active_streams: self.active_streams.load(Relaxed),
            resolved: self.resolved.load(Relaxed),
            failed: self.failed.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            abandoned_streams: self.abandoned_streams.load(Relaxed),
        }
    }

    /// Boundary futures alive right now.
    pub fn live_boundaries(&self) -> u64 {
        self.live_boundaries.load(Relaxed)
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

    pub(crate) fn record_abandoned(&self) {
        self.abandoned_streams.fetch_add(1, Relaxed);
    }

    pub(crate) fn record_shell(&self, after: Duration) {
        self.time_to_shell.observe(after.as_secs_f64());
    }

    pub(crate) fn record_fragment(&self, after: Duration) {
        self.time_to_fragment.observe(after.as_secs_f64());
    }

    /// See [`Engine::register_metrics`](crate::Engine::register_metrics).
    pub(crate) fn register(self: &Arc<Self>, registry: &mut Registry) {
        let registry = registry.sub_registry_with_prefix("suspense");
        registry.register_with_unit(
            "time_to_shell",
            "From a page's start to its shell leaving the server",
            Unit::Seconds,
            self.time_to_shell.clone(),
        );
        registry.register_with_unit(
            "time_to_fragment",
            "From a page's start to each boundary's content leaving the server",
            Unit::Seconds,
            self.time_to_fragment.clone(),
        );
        registry.register_collector(Box::new(StatsCollector(self.clone())));
    }
}

/// Reads the counters and gauges at each scrape.
#[derive(Debug)]
struct StatsCollector(Arc<Stats>);

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let stats = self.0.snapshot();
        for (name, help, value) in [
            (
                "active_streams",
                "Page bodies streaming now",
                stats.active_streams,
            ),
            (
                "pending_boundaries",
                "Boundaries whose content is not sent yet (their futures are alive)",
                stats.live_boundaries,
            ),
        ] {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let counter = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "boundaries",
            "Boundaries ended, by outcome",
            None,
            counter.metric_type(),
        )?;
        for (outcome, value) in [
            (Outcome::Resolved, stats.resolved),
            (Outcome::Failed, stats.failed),
            (Outcome::Panicked, stats.panicked),
            (Outcome::TimedOut, stats.timed_out),
        ] {
            let labels = [("outcome", outcome.as_str())];
            ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
        }
        let disconnects = ConstCounter::new(stats.abandoned_streams);
        disconnects.encode(encoder.encode_descriptor(
            "client_disconnects",
            "Pages whose client left before their last byte",
            None,
            disconnects.metric_type(),
        )?)?;
        Ok(())
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
        Gauge::Boundaries => &stats.live_boundaries,
        Gauge::Streams => &stats.active_streams,
    }
}
