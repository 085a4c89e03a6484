//! The engine's statistics in a Prometheus (OpenMetrics) registry of
//! `prometheus-client`, behind the `metrics` cargo feature (on by default).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::engine::Engine;
use crate::stats::{Outcome, Stats};

/// Time to shell and to each fragment, kept as histograms (counters and
/// gauges are read from [`Stats`] at each scrape instead).
#[derive(Debug)]
pub(crate) struct Latency {
    /// From a page's start to its first chunk leaving the body (the shell;
    /// in buffered mode, the whole page).
    shell: Histogram,
    /// From a page's start to each boundary's content leaving the body.
    fragment: Histogram,
}

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

impl Latency {
    pub(crate) fn shell(&self, after: Duration) {
        self.shell.observe(after.as_secs_f64());
    }

    pub(crate) fn fragment(&self, after: Duration) {
        self.fragment.observe(after.as_secs_f64());
    }
}

impl Engine {
    /// Adds this engine's statistics to `registry`, under `suspense_`:
    ///
    /// - `active_streams`, `pending_boundaries` (gauges);
    /// - `boundaries_total{outcome="resolved|failed|panicked|timed_out"}`;
    /// - `client_disconnects_total`: pages whose client left before the end;
    /// - `time_to_shell_seconds`, `time_to_fragment_seconds` (histograms,
    ///   from the page's start).
    ///
    /// ```
    /// use prometheus_client::{encoding::text::encode, registry::Registry};
    ///
    /// let engine = axum_suspense::Engine::new();
    /// let mut registry = Registry::default();
    /// engine.register_metrics(&mut registry);
    /// let mut text = String::new();
    /// encode(&mut text, &registry).unwrap();
    /// assert!(text.contains("suspense_active_streams 0"));
    /// assert!(text.contains("suspense_boundaries_total{outcome=\"timed_out\"} 0"));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn register_metrics(&self, registry: &mut Registry) {
        let stats = &self.inner.stats;
        let registry = registry.sub_registry_with_prefix("suspense");
        registry.register_with_unit(
            "time_to_shell",
            "From a page's start to its shell leaving the server",
            Unit::Seconds,
            stats.latency.shell.clone(),
        );
        registry.register_with_unit(
            "time_to_fragment",
            "From a page's start to each boundary's content leaving the server",
            Unit::Seconds,
            stats.latency.fragment.clone(),
        );
        registry.register_collector(Box::new(StatsCollector(stats.clone())));
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
