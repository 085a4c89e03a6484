//! What a store tells the operator: `board_database_errors_total{kind}`
//! and `board_database_up` on `/metrics`, and one log line when the
//! database goes away and one when it is back (not one per failed call).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{DataError, DataResult};

/// A store's failures and availability. Clones share them.
#[derive(Debug, Clone)]
pub struct Health {
    errors: Family<KindLabel, Counter>,
    up: Gauge,
    down: Arc<AtomicBool>,
    what: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

impl Health {
    /// For the database described as `what` (no password), up.
    pub fn new(what: String) -> Self {
        let up = Gauge::default();
        up.set(1);
        Health {
            errors: Family::default(),
            up,
            down: Arc::new(AtomicBool::new(false)),
            what: what.into(),
        }
    }

    /// Registers `board_database_errors_total{kind="unavailable|failed"}`
    /// and `board_database_up` (1, or 0 since a call found it unavailable
    /// and until one succeeds).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "board_database_errors",
            "Failed database calls: unavailable (down, refused, timed out) or failed (an error from the database)",
            self.errors.clone(),
        );
        registry.register(
            "board_database_up",
            "1 while the board's database answers; 0 since a call found it unavailable, until one succeeds",
            self.up.clone(),
        );
    }

    /// Runs a store's `call`, failing it as unavailable past `limit` (so no
    /// request waits on a database that does not answer), and counts its
    /// outcome.
    pub(super) async fn watch<T>(
        &self,
        limit: Duration,
        call: impl Future<Output = DataResult<T>>,
    ) -> DataResult<T> {
        let result = tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(DataError::unavailable(format!(
                "{}: no answer within {limit:?}",
                self.what
            )))
        });
        self.record(&result);
        result
    }

    /// Counts a call's outcome; logs when the database goes and comes back.
    fn record<T>(&self, result: &DataResult<T>) {
        match result {
            Ok(_) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    self.up.set(1);
                    tracing::info!(database = %self.what, "the database is available again");
                }
            }
            Err(error) => self.record_error(error),
        }
    }

    fn record_error(&self, error: &DataError) {
        let kind = if error.is_unavailable() {
            "unavailable"
        } else {
            "failed"
        };
        self.errors.get_or_create(&KindLabel { kind }).inc();
        if error.is_unavailable() && !self.down.swap(true, Ordering::Relaxed) {
            self.up.set(0);
            tracing::error!(database = %self.what, %error, "the database is unavailable; pages that need it answer 503 until it is back");
        }
    }
}
