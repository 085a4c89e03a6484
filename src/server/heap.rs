//! Memory back to the system after a burst of connections.
//!
//! Each open connection holds hyper's buffers and its page while it
//! streams: 10,000 held pages take the server from 9 to 175 MiB. When they
//! end, glibc keeps the freed memory in its arenas, and the server stayed at
//! 154 MiB with nothing open (measured with `measure.py concurrent -c
//! 10000`, docs/benchmarks.md). So once a burst has ended, the heap is
//! trimmed ([`heap_trim::trim`], on the blocking pool).
//!
//! A burst is [`BURST`] connections or more open at once; it has ended when
//! fewer than a quarter of its peak are still open. Sampled every
//! [`EVERY`]: an atomic read. Steady traffic never trims, so memory that
//! will be used again is not given back and faulted in again.
//!
//! `--trim-heap-after-bursts off` turns it off (docs/configuration.md,
//! "Memory after a burst", has the figures against jemalloc, which returns
//! memory by itself, and why this stays on by default).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Connections open at once that make a burst worth trimming after.
pub(crate) const BURST: usize = 256;

/// How often the open connections are counted.
pub(crate) const EVERY: Duration = Duration::from_secs(1);

/// When to trim, from the number of open connections at each sample.
#[derive(Debug, Default)]
pub(crate) struct Bursts {
    /// The most connections open at once since the last trim.
    peak: usize,
}

impl Bursts {
    /// Takes in a sample; if a burst has just ended (trim now), its peak.
    pub(crate) fn ended(&mut self, open: usize) -> Option<usize> {
        let peak = self.peak.max(open);
        let ended = peak >= BURST && open <= peak / 4;
        // The next burst is measured from what is open now.
        self.peak = if ended { open } else { peak };
        ended.then_some(peak)
    }
}

/// Counts the connections open (`max` minus the free `slots`) every
/// [`EVERY`], and trims the heap after each burst, saying so in the log.
/// Runs until its task is aborted (when `serve` returns).
pub(crate) async fn trim_after_bursts(slots: Arc<Semaphore>, max: usize) {
    let mut bursts = Bursts::default();
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let open = max.saturating_sub(slots.available_permits());
        if let Some(peak) = bursts.ended(open) {
            let released = tokio::task::spawn_blocking(heap_trim::trim)
                .await
                .unwrap_or(false);
            tracing::info!(
                peak,
                open,
                released,
                "a burst of connections ended: the heap's free memory went back to the system"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_a_burst_has_ended_and_never_under_steady_traffic() {
        let mut bursts = Bursts::default();
        // Steady traffic below a burst, however long: never.
        for open in [64, 200, 255, 10, 0, 255] {
            assert_eq!(bursts.ended(open), None, "{open}");
        }
        // A burst, still mostly open: not yet.
        for open in [1_000, 10_000, 9_000, 2_600] {
            assert_eq!(bursts.ended(open), None, "{open}");
        }
        // Under a quarter of the peak: once.
        assert_eq!(bursts.ended(2_500), Some(10_000));
        assert_eq!(bursts.ended(2_000), None);
        assert_eq!(bursts.ended(700), None);
        // The peak starts again from what was open at the trim: 2,500 is
        // itself a burst, and at 600 a quarter of it is left; then those
        // 600 close too.
        assert_eq!(bursts.ended(600), Some(2_500));
        assert_eq!(bursts.ended(0), Some(600));
        // A burst that ends at once.
        assert_eq!(bursts.ended(300), None);
        assert_eq!(bursts.ended(0), Some(300));
    }
}
