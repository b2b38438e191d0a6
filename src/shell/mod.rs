//! The imperative shell around the pure core: Kafka, files, HTTP, metrics and signals.

pub mod file;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod offsets;
pub mod reload;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Readiness flags, set by the pipeline and read by `/readyz`.
#[derive(Clone, Default)]
pub struct Health {
    /// The consumer holds at least one partition.
    pub assigned: Arc<AtomicBool>,
    /// The producer has reached a broker.
    pub producer_up: Arc<AtomicBool>,
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
