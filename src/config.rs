//! Configuration: one TOML file with documented defaults (`config/earshot.toml`), every key
//! overridable by an `EARSHOT_<SECTION>__<KEY>` environment variable (double underscore between
//! levels, e.g. `EARSHOT_KAFKA__BROKERS`). Secrets are never read from the file: the SASL credentials
//! come from `EARSHOT_KAFKA_SASL_USERNAME` and `EARSHOT_KAFKA_SASL_PASSWORD`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::decode::KindHint;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub pipeline: PipelineConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub catalog: CatalogConfig,
    pub privacy: PrivacyConfig,
    /// The customer memory stage (`earshot run --role memory`) and its rules.
    pub memory: MemoryConfig,
    /// The market view: trend windows, themes and alerts (`earshot trends`, `earshot report`,
    /// and the market stage).
    pub market: crate::market::Policy,
    /// The market stage (`earshot run --role market`): its topics and where its state lives.
    pub market_stage: MarketStageConfig,
}

/// The market stage: insights in, trend and alert events out, windows kept per brand partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketStageConfig {
    /// The insight topic it reads (default: kafka.output_topic).
    pub input_topic: Option<String>,
    /// Brand readings keyed by brand; as many partitions as the input topic (created if missing).
    pub repartition_topic: String,
    /// Each brand's windows, compacted, partition for partition with the repartition topic
    /// (created if missing).
    pub changelog_topic: String,
    /// Brand volumes per window, compacted, read whole by every instance: share of voice.
    pub volumes_topic: String,
    /// Trend events (`schemas/trend.v1.json`), keyed by brand.
    pub trends_topic: String,
    /// Alert events (`schemas/alert.v1.json`), keyed by brand.
    pub alerts_topic: String,
    /// One embedded store (redb) per assigned partition lives here.
    pub state_dir: PathBuf,
    /// How often the changed brands are written to the changelog and the store and the offsets
    /// committed (events go out as they are made, not on this beat). A brand's state holds its
    /// open windows: writing it seldom keeps the changelog small; a crash redoes at most this much
    /// (its trend and alert events again, with the same ids).
    pub commit_interval_ms: u64,
    /// A partition that has read nothing for this long closes the windows that have ended by the
    /// clock (less the watermark's delay), as event time would have moved; 0: never.
    pub idle_close_seconds: u64,
}

impl Default for MarketStageConfig {
    fn default() -> Self {
        MarketStageConfig {
            input_topic: None,
            repartition_topic: "earshot-market-repartition".into(),
            changelog_topic: "earshot-market-changelog".into(),
            volumes_topic: "earshot-market-volumes".into(),
            trends_topic: "earshot-trends".into(),
            alerts_topic: "earshot-alerts".into(),
            state_dir: PathBuf::from("state"),
            commit_interval_ms: 10_000,
            idle_close_seconds: 60,
        }
    }
}

/// The customer memory stage: its topics, where its state lives, and its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// The insight topic it reads (default: kafka.output_topic).
    pub input_topic: Option<String>,
    /// Identity links, compacted: key `platform:author id` (or any account id), value
    /// `{"customer": "<customer id>"}`; a tombstone unlinks.
    pub links_topic: String,
    /// Observations re-keyed by customer; as many partitions as the input topic (created if
    /// missing).
    pub repartition_topic: String,
    /// The state's changelog, compacted, partition for partition with the repartition topic
    /// (created if missing).
    pub changelog_topic: String,
    /// Customer insight events (`schemas/customer_insight.v1.json`), keyed by customer key.
    pub output_topic: String,
    /// One embedded store (redb) per assigned partition lives here.
    pub state_dir: PathBuf,
    /// How often outputs are flushed, the state written to the changelog and the store, and the
    /// offsets committed.
    pub commit_interval_ms: u64,
    /// Thresholds, windows and cooldowns of the customer insight rules.
    pub policy: crate::memory::Policy,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            input_topic: None,
            links_topic: "identity-links".into(),
            repartition_topic: "earshot-memory-repartition".into(),
            changelog_topic: "earshot-memory-changelog".into(),
            output_topic: "earshot-customer-insights".into(),
            state_dir: PathBuf::from("state"),
            commit_interval_ms: 200,
            policy: crate::memory::Policy::default(),
        }
    }
}

/// What outputs may say about people (see `earshot::privacy`). The secret that keys the
/// pseudonyms comes only from the environment: `EARSHOT_PRIVACY_KEY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// `party.id` as a keyed hash, without the customer's name and e-mail address.
    pub pseudonymise: bool,
    /// Replace e-mail addresses, phone numbers and payment card numbers in the text.
    pub redact_text: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            pseudonymise: true,
            redact_text: false,
        }
    }
}

/// One input topic and the contract its messages follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    pub topic: String,
    #[serde(default = "auto_kind")]
    pub kind: KindHint,
}

fn auto_kind() -> KindHint {
    KindHint::Auto
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Comma-separated bootstrap servers.
    pub brokers: String,
    /// Consumer group: every replica uses the same one, and the partitions are split among them.
    pub group_id: String,
    pub inputs: Vec<InputConfig>,
    pub output_topic: String,
    pub dead_letter_topic: String,
    /// Producer compression: none, gzip, snappy, lz4 or zstd.
    pub compression: String,
    /// plaintext, ssl, sasl_plaintext or sasl_ssl.
    pub security_protocol: String,
    /// SASL mechanism when security_protocol is sasl_*: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    pub sasl_mechanism: Option<String>,
    /// CA bundle to verify the brokers' certificates.
    pub ssl_ca_location: Option<PathBuf>,
    /// Client certificate and key, for mutual TLS.
    pub ssl_certificate_location: Option<PathBuf>,
    pub ssl_key_location: Option<PathBuf>,
    /// Where a new group starts reading: earliest or latest.
    pub auto_offset_reset: String,
    /// How long the group waits for a silent member before moving its partitions (heartbeats go
    /// every 3 s). Short, so a killed instance's partitions move within seconds.
    pub session_timeout_ms: u32,
    /// How often librdkafka reports statistics (consumer lag); 0 turns them off.
    pub statistics_interval_ms: u32,
    /// An assigned partition that has messages to read and has not moved for this long (its
    /// broker reachable) has stalled inside the client: the process exits non-zero for the
    /// orchestrator to restart it. Read from the statistics: at least three of their intervals,
    /// and off when they are (`statistics_interval_ms = 0`) or when this is 0. Under exactly
    /// once it must be at least 30 s above the producer's `transaction.timeout.ms`: a partition
    /// waits for a dead instance's open transaction that long before it can start.
    pub stall_timeout_secs: u64,
    /// Extra librdkafka consumer properties, passed through as they are.
    pub consumer: BTreeMap<String, String>,
    /// Extra librdkafka producer properties, passed through as they are.
    pub producer: BTreeMap<String, String>,
    /// Under `pipeline.guarantee = "exactly_once"`: the producer's `transactional.id`. Set it to
    /// something stable per instance (the pod name of a StatefulSet) so that a restarted instance
    /// aborts its predecessor's open transaction at once; unset, each start takes
    /// `<group_id>-<random>` and an open transaction of a killed instance is aborted by the broker
    /// after `transaction.timeout.ms` (10 s).
    pub transactional_id: Option<String>,
    /// The consumer's `group.instance.id` (static membership, KIP-345): set it to something
    /// stable per instance (a StatefulSet's pod name, `EARSHOT_KAFKA__GROUP_INSTANCE_ID` from the
    /// pod's `metadata.name`) and a restarted instance gets its partitions back as soon as it
    /// rejoins, without a rebalance, instead of after `session_timeout_ms`. Two live instances
    /// must never share one. A `group.instance.id` in `[kafka.consumer]` wins over it.
    pub group_instance_id: Option<String>,
}

impl KafkaConfig {
    /// How long a partition may not move before it counts as stalled: `stall_timeout_secs`, but
    /// at least three statistics intervals; zero (off) when either is zero.
    pub fn stall_timeout(&self) -> Duration {
        let interval = self.statistics_interval();
        if self.stall_timeout_secs == 0 || interval.is_zero() {
            return Duration::ZERO;
        }
        Duration::from_secs(self.stall_timeout_secs).max(interval * 3)
    }

    /// How often librdkafka reports statistics (zero: never).
    pub fn statistics_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.statistics_interval_ms))
    }

    /// Whether the consumers read committed messages only (unless `[kafka.consumer]` says
    /// otherwise).
    pub fn read_committed(&self) -> bool {
        self.consumer
            .get("isolation.level")
            .is_none_or(|v| v == "read_committed")
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group_id: "earshot".into(),
            inputs: vec![
                InputConfig {
                    topic: "social-posts".into(),
                    kind: KindHint::SocialPost,
                },
                InputConfig {
                    topic: "support-tickets".into(),
                    kind: KindHint::SupportTicket,
                },
            ],
            output_topic: "earshot-insights".into(),
            dead_letter_topic: "earshot-dead-letters".into(),
            compression: "lz4".into(),
            security_protocol: "plaintext".into(),
            sasl_mechanism: None,
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            auto_offset_reset: "earliest".into(),
            session_timeout_ms: 10_000,
            statistics_interval_ms: 5_000,
            stall_timeout_secs: 120,
            consumer: BTreeMap::new(),
            producer: BTreeMap::new(),
            transactional_id: None,
            group_instance_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Messages consumed but not yet acknowledged by the broker, at most (backpressure).
    pub max_in_flight: usize,
    /// A message value larger than this becomes a dead letter (`too_large`).
    pub max_message_bytes: usize,
    /// On SIGTERM/SIGINT: how long to finish in-flight work, flush and commit before giving up.
    pub shutdown_timeout_secs: u64,
    /// Threads that analyse a batch of ready messages in parallel; 0 means one per available core.
    pub workers: usize,
    /// Messages already fetched that one loop turn takes and analyses together, at most.
    pub max_batch: usize,
    /// What a consumed message may become downstream: exactly one output (`exactly_once`, Kafka
    /// transactions) or at least one (`at_least_once`: after a crash, some outputs again, with
    /// the same ids).
    pub guarantee: Guarantee,
    /// Under exactly once: how long one transaction collects outputs before it commits them with
    /// their input offsets. Longer is cheaper per message; downstream `read_committed` readers
    /// see the outputs that much later.
    pub transaction_interval_ms: u64,
}

/// The delivery guarantee of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    #[default]
    AtLeastOnce,
    ExactlyOnce,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_in_flight: 1000,
            max_message_bytes: 1024 * 1024,
            shutdown_timeout_secs: 30,
            workers: 0,
            max_batch: 256,
            guarantee: Guarantee::AtLeastOnce,
            transaction_interval_ms: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address of /metrics, /healthz and /readyz.
    pub address: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: "0.0.0.0:9464".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter (`info`, `earshot=debug,rdkafka=warn`); `EARSHOT_LOG` or `RUST_LOG` win.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Catalog file. A relative path is relative to the config file's folder; the default is
    /// `catalog.toml` beside the config file. With no config file and no path set, the commands
    /// use the sample catalog built into the binary ([`crate::catalog::SAMPLE`]).
    pub path: Option<PathBuf>,
    /// How often the daemon checks the catalog file for changes (0: only on SIGHUP).
    pub watch_interval_secs: u64,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            path: None,
            watch_interval_secs: 5,
        }
    }
}

/// A configuration that can't be used. The message names the key and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then the file (if given), then `EARSHOT_*__*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment passed in (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            // Next to the config file unless it says otherwise.
            fig = fig
                .merge(Serialized::default("catalog.path", "catalog.toml"))
                .merge(Toml::file_exact(path));
        }
        // Only variables with a `__` are configuration keys; EARSHOT_LOG, EARSHOT_KAFKA_SASL_* are not.
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("EARSHOT_") && k["EARSHOT_".len()..].contains("__"))
            .collect();
        for (k, v) in vars {
            let key = k["EARSHOT_".len()..].to_lowercase().replace("__", ".");
            fig = fig.merge(Serialized::default(&key, parse_env_value(&v)));
        }
        let mut config: Config = fig.extract().map_err(|e| {
            let mut msg = String::new();
            for err in e {
                if !msg.is_empty() {
                    msg.push('\n');
                }
                msg.push_str(&describe(&err));
            }
            ConfigError::Invalid(msg)
        })?;
        if let Some(dir) = file.and_then(Path::parent) {
            if let Some(path) = config.catalog.path.as_mut().filter(|p| p.is_relative()) {
                *path = dir.join(&*path);
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone can't.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if self.kafka.inputs.is_empty() {
            return bad("kafka.inputs", "at least one input topic is needed".into());
        }
        if !matches!(
            self.kafka.compression.as_str(),
            "none" | "gzip" | "snappy" | "lz4" | "zstd"
        ) {
            return bad(
                "kafka.compression",
                format!(
                    "{:?} is not one of none, gzip, snappy, lz4, zstd",
                    self.kafka.compression
                ),
            );
        }
        if !matches!(
            self.kafka.security_protocol.to_lowercase().as_str(),
            "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl"
        ) {
            return bad(
                "kafka.security_protocol",
                format!(
                    "{:?} is not one of plaintext, ssl, sasl_plaintext, sasl_ssl",
                    self.kafka.security_protocol
                ),
            );
        }
        if !matches!(self.kafka.auto_offset_reset.as_str(), "earliest" | "latest") {
            return bad(
                "kafka.auto_offset_reset",
                format!(
                    "{:?} is not earliest or latest",
                    self.kafka.auto_offset_reset
                ),
            );
        }
        let stall_ms = self.kafka.stall_timeout().as_millis();
        if stall_ms > 0 && self.pipeline.guarantee == Guarantee::ExactlyOnce {
            let txn_ms = self
                .kafka
                .producer
                .get("transaction.timeout.ms")
                .and_then(|v| v.parse::<u128>().ok())
                .unwrap_or(10_000);
            // A partition waits for a dead instance's open transaction that long, then for the
            // broker's abort scan and the client's retries.
            if stall_ms < txn_ms + 30_000 {
                return bad(
                    "kafka.stall_timeout_secs",
                    format!(
                        "must be at least 30 s above the producer's transaction.timeout.ms \
                         ({txn_ms} ms): a partition waits that long for a dead instance's open \
                         transaction"
                    ),
                );
            }
        }
        if self.pipeline.max_in_flight == 0 {
            return bad("pipeline.max_in_flight", "must be at least 1".into());
        }
        if !(1..=3600).contains(&self.pipeline.shutdown_timeout_secs) {
            return bad(
                "pipeline.shutdown_timeout_secs",
                "must be 1 to 3600 (an orchestrator kills the process long before)".into(),
            );
        }
        if self.pipeline.transaction_interval_ms == 0 {
            return bad(
                "pipeline.transaction_interval_ms",
                "must be at least 1".into(),
            );
        }
        if self.pipeline.max_batch == 0 {
            return bad("pipeline.max_batch", "must be at least 1".into());
        }
        if self.pipeline.max_message_bytes == 0 {
            return bad("pipeline.max_message_bytes", "must be at least 1".into());
        }
        if self.http.address.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "http.address",
                format!(
                    "{:?} is not an address like 0.0.0.0:9464",
                    self.http.address
                ),
            );
        }
        self.market.check().map_err(ConfigError::Invalid)?;
        for key in self.kafka.consumer.keys().chain(self.kafka.producer.keys()) {
            if key.contains("password") || key.contains("secret") {
                return bad(
                    &format!("kafka.consumer/producer.{key}"),
                    "secrets come only from the environment (EARSHOT_KAFKA_SASL_PASSWORD)".into(),
                );
            }
        }
        Ok(())
    }
}

/// Environment values are TOML values when they parse as one (`1000`, `true`, `[..]`), else strings.
fn parse_env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

fn describe(e: &figment::error::Error) -> String {
    let key = if e.path.is_empty() {
        String::from("(top level)")
    } else {
        e.path.join(".")
    };
    let origin = match &e.metadata {
        Some(m) if m.name.contains("TOML") => m
            .source
            .as_ref()
            .map(|s| format!(" in {s}"))
            .unwrap_or_default(),
        Some(_) => " (from the environment)".to_string(),
        None => String::new(),
    };
    format!("{key}{origin}: {}", e.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[kafka]\nbrokers = \"file:1\"\ngroup_id = \"g\"\n").unwrap();
        let c = Config::load_with_env(
            Some(&f),
            env(&[
                ("EARSHOT_KAFKA__BROKERS", "env:2"),
                // As the StatefulSets set it, from the pod's name.
                ("EARSHOT_KAFKA__GROUP_INSTANCE_ID", "earshot-memory-0"),
                ("EARSHOT_PIPELINE__MAX_IN_FLIGHT", "7"),
                ("EARSHOT_KAFKA_SASL_PASSWORD", "not config"),
                ("EARSHOT_LOG", "debug"),
            ]),
        )
        .unwrap();
        assert_eq!(c.kafka.brokers, "env:2");
        assert_eq!(c.kafka.group_id, "g");
        assert_eq!(
            c.kafka.group_instance_id.as_deref(),
            Some("earshot-memory-0")
        );
        assert_eq!(c.pipeline.max_in_flight, 7);
        assert_eq!(c.catalog.path, Some(dir.path().join("catalog.toml")));
        let bare = Config::load_with_env(None, env(&[])).unwrap();
        assert_eq!(
            bare.catalog.path, None,
            "no file, no path: the built-in sample"
        );
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[pipeline]\nmax_in_flight = \"many\"\n").unwrap();
        let e = Config::load_with_env(Some(&f), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pipeline.max_in_flight"), "{e}");
        std::fs::write(&f, "[kafka]\nbrokerz = \"x\"\n").unwrap();
        let e = Config::load_with_env(Some(&f), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("brokerz"), "{e}");
        let e = Config::load_with_env(None, env(&[("EARSHOT_KAFKA__COMPRESSION", "brotli")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("kafka.compression"), "{e}");
        for (key, value) in [
            ("EARSHOT_PIPELINE__SHUTDOWN_TIMEOUT_SECS", "0"),
            (
                "EARSHOT_PIPELINE__SHUTDOWN_TIMEOUT_SECS",
                "18446744073709551615",
            ),
            ("EARSHOT_PIPELINE__TRANSACTION_INTERVAL_MS", "0"),
            ("EARSHOT_PIPELINE__GUARANTEE", "at_most_once"),
        ] {
            let e = Config::load_with_env(None, env(&[(key, value)]))
                .unwrap_err()
                .to_string();
            let name = key.trim_start_matches("EARSHOT_PIPELINE__").to_lowercase();
            assert!(
                e.contains(&format!("pipeline.{name}")),
                "{key}={value}: {e}"
            );
        }
        let eos = Config::load_with_env(
            None,
            env(&[("EARSHOT_PIPELINE__GUARANTEE", "exactly_once")]),
        )
        .unwrap();
        assert_eq!(eos.pipeline.guarantee, Guarantee::ExactlyOnce);
    }

    #[test]
    fn a_stall_timeout_fits_the_statistics_and_the_transactions() {
        let load = |pairs: &[(&str, &str)]| Config::load_with_env(None, env(pairs));
        let k = load(&[]).unwrap().kafka;
        assert_eq!(k.stall_timeout(), Duration::from_secs(120));
        assert!(k.read_committed());
        // At least three statistics intervals; off with the statistics.
        let slow = load(&[("EARSHOT_KAFKA__STATISTICS_INTERVAL_MS", "60000")]).unwrap();
        assert_eq!(slow.kafka.stall_timeout(), Duration::from_secs(180));
        let off = load(&[("EARSHOT_KAFKA__STATISTICS_INTERVAL_MS", "0")]).unwrap();
        assert_eq!(off.kafka.stall_timeout(), Duration::ZERO);
        // Under exactly once, 30 s above the transaction timeout.
        let eos = |stall: &str| {
            load(&[
                ("EARSHOT_PIPELINE__GUARANTEE", "exactly_once"),
                ("EARSHOT_KAFKA__STALL_TIMEOUT_SECS", stall),
                (
                    "EARSHOT_KAFKA__PRODUCER",
                    "{\"transaction.timeout.ms\" = \"60000\"}",
                ),
            ])
        };
        let e = eos("60").unwrap_err().to_string();
        assert!(e.contains("kafka.stall_timeout_secs"), "{e}");
        assert!(eos("90").is_ok());
        assert!(eos("0").is_ok(), "off asks nothing");
    }
}
