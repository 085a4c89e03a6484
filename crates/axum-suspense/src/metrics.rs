//! The engine's statistics in a Prometheus (OpenMetrics) registry of
//! `prometheus-client`, behind the `metrics` cargo feature (on by default).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use crate::engine::Engine;
use crate::stats::{Outcome, Stats};

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
                stats.pending_boundaries,
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
        let disconnects = ConstCounter::new(stats.client_disconnects);
        disconnects.encode(encoder.encode_descriptor(
            "client_disconnects",
            "Pages whose client left before their last byte",
            None,
            disconnects.metric_type(),
        )?)?;
        Ok(())
    }
}
