//! Counters and gauges of one [`Engine`](super::Engine), readable at any
//! time: tests use them to see that nothing outlives its client, and the
//! metrics endpoint will export them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What an engine is doing and has done. All counts are since the engine was
/// created.
#[derive(Debug, Default)]
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
