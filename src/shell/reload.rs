//! Live catalog changes: on SIGHUP, or when the catalog file's content changes (checked every
//! `catalog.watch_interval_secs`), the new catalog compiles on a blocking thread and replaces the old
//! one atomically; the pipeline picks it up at its next message. A catalog with errors is rejected:
//! the old one stays, the errors are logged, and `earshot_catalog_reload_failures_total` counts it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use crate::analyze::Analyzer;
use crate::catalog::Catalog;
use crate::shell::metrics::Metrics;

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The I/O error is part of the message, not a `source`: printed with its chain, it would
    /// appear twice.
    #[error("cannot read the catalog {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// Reads, parses and compiles a catalog file.
pub fn load(path: &Path) -> Result<(Analyzer, String), LoadError> {
    let source = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let invalid = |message: String| LoadError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let catalog = Catalog::parse(&source).map_err(|e| invalid(e.to_string()))?;
    let analyzer = Analyzer::new(catalog).map_err(|e| invalid(e.to_string()))?;
    Ok((analyzer, source))
}

/// Watches the catalog until `shutdown`, swapping in every new catalog that compiles.
pub async fn watch(
    path: PathBuf,
    mut current_source: String,
    analyzer: Arc<ArcSwap<Analyzer>>,
    metrics: Metrics,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; catalog reloads only on file change");
            None
        }
    };
    let polling = !interval.is_zero();
    let mut tick = tokio::time::interval(if polling {
        interval
    } else {
        Duration::from_secs(3600)
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let forced = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = async { match hup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending::<()>().await } } => true,
            _ = tick.tick(), if polling => false,
        };
        if !forced {
            // Cheap check first: only compile when the content changed.
            match tokio::fs::read_to_string(&path).await {
                Ok(s) if s == current_source => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "catalog file unreadable; keeping the current catalog");
                    continue;
                }
            }
        }
        let p = path.clone();
        match tokio::task::spawn_blocking(move || load(&p)).await {
            Ok(Ok((new, source))) => {
                let version = new.catalog().version.clone();
                let queries = new.matcher().len();
                if source == current_source && !forced {
                    continue;
                }
                // The new catalog, the same privacy settings.
                let privacy = analyzer.load().privacy().clone();
                analyzer.store(Arc::new(new.with_privacy(privacy)));
                current_source = source;
                metrics.catalog_reloads.inc();
                tracing::info!(%version, queries, trigger = if forced { "SIGHUP" } else { "file change" }, "catalog reloaded");
            }
            Ok(Err(e)) => {
                metrics.catalog_reload_failures.inc();
                tracing::error!(error = %e, "catalog rejected; keeping the current catalog");
                // Don't report the same broken content every tick.
                if let Ok(s) = std::fs::read_to_string(&path) {
                    current_source = s;
                }
            }
            Err(e) => {
                metrics.catalog_reload_failures.inc();
                tracing::error!(error = %e, "catalog compile task failed");
            }
        }
    }
}
