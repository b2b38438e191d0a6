//! The imperative shell around the pure core: Kafka, files, HTTP, metrics and signals.

pub mod client;
mod exactly_once;
pub mod file;
pub mod http;
pub mod kafka;
pub mod market;
pub mod market_stage;
pub mod member;
pub mod memory_stage;
pub mod metrics;
pub mod offsets;
pub mod reload;
pub mod stage;
pub mod stall;
pub mod store;
pub mod watchdog;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// Liveness and readiness, set by the pipeline and read by `/healthz` and `/readyz`.
#[derive(Clone, Default)]
pub struct Health {
    /// The consumer holds at least one partition.
    pub assigned: Arc<AtomicBool>,
    /// The producer has reached a broker.
    pub producer_up: Arc<AtomicBool>,
    /// Set when the pipeline failed for good (a fatal client error): `/healthz` fails with it.
    pub failed: Arc<Mutex<Option<String>>>,
}

impl Health {
    /// Marks the process failed: `/healthz` answers 503 with `why` from now on.
    pub fn fail(&self, why: String) {
        if let Ok(mut f) = self.failed.lock() {
            f.get_or_insert(why);
        }
    }

    /// Why the process failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }
}

/// Resolves when SIGTERM or SIGINT arrives, and cancels `token`.
pub async fn cancel_on_signal(token: tokio_util::sync::CancellationToken) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = token.cancelled() => return,
    }
    token.cancel();
}

#[cfg(test)]
mod tests {
    use super::Health;

    #[test]
    fn a_failure_is_kept_and_the_first_one_wins() {
        let h = Health::default();
        assert_eq!(h.failure(), None);
        let seen_by_http = h.clone();
        h.fail("fenced".into());
        h.fail("later".into());
        assert_eq!(seen_by_http.failure().as_deref(), Some("fenced"));
    }
}
