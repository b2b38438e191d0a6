//! The HTTP listener: `/metrics` (Prometheus text), `/healthz` (alive: no fatal error) and `/readyz` (the consumer holds
//! an assignment and the producer is up).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::shell::metrics::Metrics;
use crate::shell::{kafka, Health};

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    health: Health,
}

/// Binds `address` and serves until `shutdown` is cancelled.
pub async fn serve(
    address: &str,
    metrics: Metrics,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, health });
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "http listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn render_metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

/// Alive unless the pipeline failed for good: then 503 with the error, so the orchestrator restarts
/// the process even before it has exited.
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    match s.health.failure() {
        None => (StatusCode::OK, "ok\n".to_string()),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("failed: {why}\n")),
    }
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if kafka::ready(&s.health) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
