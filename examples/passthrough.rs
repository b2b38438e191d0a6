//! The throughput baseline: earshot's Kafka loop (same consumer and producer settings, same
//! at-least-once offset handling, same backpressure) forwarding every message unchanged, with no
//! decoding or analysis. `scripts/throughput.sh` runs it beside `earshot run` on the same broker.
//!
//!     cargo run --release --example passthrough -- --config config/earshot.toml

use earshot::config::Config;
use earshot::shell::kafka::{run_with, Outcome, Output};
use earshot::shell::metrics::{Metrics, Observed};
use earshot::shell::{cancel_on_signal, Health};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

/// The same allocator as `earshot run`, so the baseline differs from it only in the analysis.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args().skip_while(|a| a != "--config").nth(1);
    let config = Config::load(path.as_deref().map(std::path::Path::new))?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let output_topic = config.kafka.output_topic.clone();
    run_with(
        &config,
        Metrics::new(),
        Health::default(),
        shutdown,
        |msg, _| {
            (
                Output {
                    topic: output_topic.clone(),
                    key: msg.key().map(<[u8]>::to_vec),
                    payload: msg.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    headers: None,
                },
                Outcome::Insight(Observed::default()),
            )
        },
    )
    .await?;
    Ok(())
}
