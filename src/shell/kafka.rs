//! The Kafka pipeline: consume, analyse, produce an insight or a dead letter, and store an offset only
//! once the output of that message and of every message before it on its partition is acknowledged.
//!
//! One task runs the loop. It prefers acknowledgements over new messages (a biased select) and stops
//! fetching while `pipeline.max_in_flight` messages await their acknowledgement, so memory stays
//! bounded and a slow broker slows the consumer down instead of piling work up.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::Utc;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use prometheus::IntCounter;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::stream_consumer::StreamConsumer;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::statistics::Statistics;
use rdkafka::util::Timeout;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::analyze::Analyzer;
use crate::config::{Config, Guarantee, KafkaConfig};
use crate::decode::{DecodeError, KindHint, Limits, Reason};
use crate::insight::SourceRef;
use crate::process;
use crate::shell::client::{is_fatal, is_unrecoverable, Callbacks, ClientCtx, ErrorLog};
use crate::shell::exactly_once::{self, Transactions};
use crate::shell::metrics::{Metrics, Observed};
use crate::shell::offsets::{OffsetTracker, Ticket};
use crate::shell::stall;
use crate::shell::watchdog::Watchdog;
use crate::shell::Health;

/// Errors that stop the pipeline (as opposed to bad messages, which become dead letters).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("shutdown deadline of {0:?} passed with {1} consumed messages left uncommitted (their new owner processes them again)")]
    ShutdownDeadline(Duration, u64),
    #[error("shutdown could not commit: {0} consumed messages left uncommitted (their new owner processes them again)")]
    Uncommitted(u64),
    #[error("fatal {client} error: {detail}")]
    Fatal {
        client: &'static str,
        detail: String,
    },
    #[error("{client} cannot go on: {error} ({})", what_mends(.error))]
    Permanent {
        client: &'static str,
        error: KafkaError,
    },
    #[error("could not start {0}")]
    Threads(String),
}

/// Applies security and pass-through settings shared by consumer and producer.
fn common(cfg: &KafkaConfig, c: &mut ClientConfig) {
    common_with_env(cfg, c, |k| std::env::var(k).ok());
}

fn common_with_env(cfg: &KafkaConfig, c: &mut ClientConfig, env: impl Fn(&str) -> Option<String>) {
    c.set("bootstrap.servers", &cfg.brokers)
        .set("security.protocol", &cfg.security_protocol)
        .set("client.id", "earshot")
        // Retry a lost broker (the group coordinator included) at least every second, not every
        // 10 s: commits resume as soon as a restarted broker is back.
        .set("reconnect.backoff.max.ms", "1000");
    if let Some(m) = &cfg.sasl_mechanism {
        c.set("sasl.mechanism", m);
    }
    // Secrets only from the environment.
    if let Some(u) = env("EARSHOT_KAFKA_SASL_USERNAME") {
        c.set("sasl.username", u);
    }
    if let Some(p) = env("EARSHOT_KAFKA_SASL_PASSWORD") {
        c.set("sasl.password", p);
    }
    for (key, path) in [
        ("ssl.ca.location", &cfg.ssl_ca_location),
        ("ssl.certificate.location", &cfg.ssl_certificate_location),
        ("ssl.key.location", &cfg.ssl_key_location),
    ] {
        if let Some(p) = path {
            c.set(key, p.to_string_lossy());
        }
    }
}

/// The consumer's librdkafka settings. Under exactly once, offsets are committed by the
/// producer's transactions only, and transactional inputs are read committed.
pub fn consumer_config(cfg: &KafkaConfig, guarantee: Guarantee) -> ClientConfig {
    let mut c = ClientConfig::new();
    common(cfg, &mut c);
    let auto_commit = guarantee == Guarantee::AtLeastOnce;
    c.set("group.id", &cfg.group_id)
        .set("enable.auto.commit", auto_commit.to_string())
        .set("isolation.level", "read_committed")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", &cfg.auto_offset_reset)
        .set("session.timeout.ms", cfg.session_timeout_ms.to_string())
        .set("partition.assignment.strategy", assignor(cfg))
        .set(
            "statistics.interval.ms",
            cfg.statistics_interval_ms.to_string(),
        )
        // Bound what librdkafka prefetches (64 MiB per consumer by default).
        .set("queued.max.messages.kbytes", "16384");
    if let Some(id) = &cfg.group_instance_id {
        c.set("group.instance.id", id);
    }
    for (k, v) in &cfg.consumer {
        c.set(k, v);
    }
    c
}

/// The admin client's librdkafka settings (the memory and market stages create their topics with
/// it): the brokers and the security settings every client shares, and the security keys of
/// `[kafka.consumer]`, whose other keys (a group, fetch sizes) are no admin's.
pub fn admin_config(cfg: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    common(cfg, &mut c);
    for (key, v) in &cfg.consumer {
        if key.starts_with("sasl") || key.starts_with("ssl") || key == "security.protocol" {
            c.set(key, v);
        }
    }
    c
}

/// The group's assignor. A member that leaves or joins moves only the partitions that must move,
/// and the others keep working through the rebalance (cooperative-sticky; eager rebalancing stops
/// the whole group), but not for static members (`kafka.group_instance_id`, or `group.instance.id`
/// in `[kafka.consumer]`): a
/// static member that rejoins a stable group is given its last assignment and no rebalance runs
/// (KIP-345), while a cooperative rebalance is stable after its first half with the partitions it
/// revoked assigned to no one, until the member that gave them up joins again. Should that member
/// die in between (a kill, a fenced producer), its successor rejoins statically, gets what it had,
/// and the partitions stay unowned for good: the chaos run of 2026-12-03 left 4 of 6 partitions
/// unowned for 300 s. An eager assignment is whole in every generation.
fn assignor(cfg: &KafkaConfig) -> &'static str {
    if cfg.group_instance_id.is_some() || cfg.consumer.contains_key("group.instance.id") {
        "roundrobin"
    } else {
        "cooperative-sticky"
    }
}

/// The producer's librdkafka settings: idempotent, acks from all in-sync replicas; under exactly
/// once, transactional.
pub fn producer_config(cfg: &KafkaConfig, guarantee: Guarantee) -> ClientConfig {
    let mut c = ClientConfig::new();
    common(cfg, &mut c);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", &cfg.compression)
        .set("linger.ms", "5");
    if guarantee == Guarantee::ExactlyOnce {
        let id = cfg.transactional_id.clone().unwrap_or_else(|| {
            // Unique per producer: the process id, the time and a count within the process.
            static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let n = MADE.fetch_add(1, Ordering::Relaxed);
            format!("{}-{}-{nanos:x}-{n}", cfg.group_id, std::process::id())
        });
        // An instance killed with a transaction open holds back read_committed readers of its
        // output partitions until the broker aborts it: 10 s, not librdkafka's 60 s.
        c.set("transactional.id", id)
            .set("transaction.timeout.ms", "10000");
    }
    for (k, v) in &cfg.producer {
        c.set(k, v);
    }
    c
}

/// Consumer callbacks: rebalances, statistics, commit errors.
pub struct Context {
    client: ClientCtx,
    /// Under exactly once: the transactions, committed before partitions are revoked.
    txn: Option<Arc<Transactions>>,
    metrics: Metrics,
    health: Health,
    /// Partitions revoked since the loop last looked; it forgets their in-flight state.
    revoked: Mutex<Vec<(String, i32)>>,
    assigned: Mutex<BTreeSet<(String, i32)>>,
    /// The last offset the group coordinator confirmed per partition (the next one to read).
    committed: Arc<Mutex<HashMap<(String, i32), i64>>>,
    /// Partitions that stopped moving with messages to read (see [`super::stall`]).
    stall: stall::Watch,
}

impl ClientContext for Context {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        self.client.log(level, fac, message);
    }

    fn stats(&self, stats: Statistics) {
        let assigned = self.assigned.lock().map(|a| a.clone()).unwrap_or_default();
        self.stall.stats(&stats, &assigned, &self.client);
        let mine = |topic: &str, partition: i32| assigned.contains(&(topic.to_string(), partition));
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                if *partition < 0 {
                    continue;
                }
                let labels = [topic.as_str(), &partition.to_string()];
                if mine(topic, *partition) && p.consumer_lag >= 0 {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&labels)
                        .set(p.consumer_lag);
                } else {
                    let _ = self.metrics.consumer_lag.remove_label_values(&labels);
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.client.error(error, reason);
    }
}

/// The (topic, partition) pairs of a partition list.
fn partitions(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if let Some(txn) = &self.txn {
                if !txn.commit_before_revoke(base.group_metadata()) {
                    self.client.fatal.cancel();
                }
            }
            let parts = partitions(tpl);
            tracing::info!(partitions = ?parts, "partitions revoked");
            self.metrics
                .rebalances
                .with_label_values(&["revoked"])
                .inc();
            if let Ok(mut a) = self.assigned.lock() {
                for p in &parts {
                    a.remove(p);
                }
                self.update_assignment(&a);
            }
            self.stall.forget(&parts);
            if let Ok(mut r) = self.revoked.lock() {
                r.extend(parts);
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let parts = partitions(tpl);
                tracing::info!(partitions = ?parts, "partitions assigned");
                self.metrics
                    .rebalances
                    .with_label_values(&["assigned"])
                    .inc();
                if let Ok(mut a) = self.assigned.lock() {
                    a.extend(parts);
                    self.update_assignment(&a);
                }
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => {
                tracing::debug!(?offsets, "offsets committed");
                if let Ok(mut c) = self.committed.lock() {
                    for e in offsets.elements() {
                        if let Offset::Offset(o) = e.offset() {
                            c.insert((e.topic().to_string(), e.partition()), o);
                        }
                    }
                }
            }
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => self.client.errors.warn_kafka("offset commit failed", &e),
        }
    }
}

impl Context {
    /// Whether the consumer holds this partition now.
    pub(super) fn is_assigned(&self, topic: &str, partition: i32) -> bool {
        self.assigned
            .lock()
            .is_ok_and(|a| a.contains(&(topic.to_string(), partition)))
    }

    fn update_assignment(&self, a: &BTreeSet<(String, i32)>) {
        self.metrics.assigned_partitions.set(a.len() as i64);
        self.health.assigned.store(!a.is_empty(), Ordering::Relaxed);
    }
}

/// What a message became: the record to produce and what it counts as.
pub type Transformed = (Output, Outcome);

/// What a finished send reports back to the loop.
struct Delivered {
    ticket: Ticket,
    outcome: Outcome,
    /// Input record's timestamp in milliseconds since the epoch, if it had one.
    event_ms: Option<i64>,
}

pub enum Outcome {
    Insight(Observed),
    DeadLetter(Reason),
}

/// An output record, owned, ready to send (and to send again).
pub struct Output {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// `None` for an insight: librdkafka allocates a header list, and another for each send.
    pub headers: Option<OwnedHeaders>,
}

impl Output {
    /// The record to hand the producer (one per attempt: a send takes its header list).
    pub(super) fn record(&self) -> FutureRecord<'_, [u8], [u8]> {
        let mut record = FutureRecord::to(&self.topic).payload(self.payload.as_slice());
        if let Some(h) = &self.headers {
            record = record.headers(h.clone());
        }
        if let Some(k) = &self.key {
            record = record.key(k.as_slice());
        }
        record
    }

    /// A dead letter that fits in `max_record` bytes: as it is when it does; else without the
    /// input's value (its size in `earshot.payload_omitted`), then if need be without the input's
    /// own headers (only `ours`, earshot's, kept), then without its key. Its `earshot.source.*`
    /// headers still say where to read the input.
    pub fn fit(mut self, ours: &[(&'static str, String)], max_record: usize) -> Output {
        if self.record_bytes() <= max_record {
            return self;
        }
        let omitted = ("earshot.payload_omitted", self.payload.len().to_string());
        self.payload = Vec::new();
        let headers = self.headers.take().unwrap_or_default();
        self.headers = Some(with_headers(headers, std::slice::from_ref(&omitted)));
        if self.record_bytes() <= max_record {
            return self;
        }
        let mut only_ours = ours.to_vec();
        only_ours.push(omitted);
        self.headers = Some(with_headers(OwnedHeaders::new(), &only_ours));
        if self.record_bytes() <= max_record {
            return self;
        }
        self.key = None;
        self
    }
}

/// Runs the pipeline until `shutdown` is cancelled, then drains, flushes and commits.
pub async fn run(
    config: &Config,
    analyzer: Arc<ArcSwap<Analyzer>>,
    metrics: Metrics,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), PipelineError> {
    let limits = Limits {
        max_bytes: config.pipeline.max_message_bytes,
    };
    let kcfg = &config.kafka;
    let max_record = max_record_bytes(kcfg);
    run_with(config, metrics, health, shutdown, |msg, hint| {
        // The current catalog, swapped atomically by reloads; a message sees one catalog throughout.
        process(msg, hint, limits, &analyzer.load(), kcfg, max_record)
    })
    .await
}

/// The loop itself, with the per-message work passed in: `run` analyses; the pass-through baseline
/// of `scripts/throughput.sh` forwards bytes unchanged through the very same loop.
pub async fn run_with<F>(
    config: &Config,
    metrics: Metrics,
    health: Health,
    shutdown: CancellationToken,
    transform: F,
) -> Result<(), PipelineError>
where
    F: Fn(&BorrowedMessage<'_>, KindHint) -> Transformed + Sync,
{
    let kcfg = &config.kafka;
    let callbacks = Callbacks::new();
    let (errors, fatal) = (callbacks.errors.clone(), callbacks.fatal.clone());
    let committed = Arc::new(Mutex::new(HashMap::new()));
    let guarantee = config.pipeline.guarantee;
    let producer: FutureProducer<ClientCtx> =
        producer_config(kcfg, guarantee).create_with_context(callbacks.ctx("producer"))?;
    let txn = match guarantee {
        Guarantee::ExactlyOnce => Some(Arc::new(Transactions::new(
            producer.clone(),
            metrics.clone(),
            committed.clone(),
            exit_when_stuck(health.clone(), metrics.in_flight.clone())?,
        ))),
        Guarantee::AtLeastOnce => None,
    };
    let context = Context {
        client: callbacks.ctx("consumer"),
        txn: txn.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
        revoked: Mutex::new(Vec::new()),
        assigned: Mutex::new(BTreeSet::new()),
        // Under exactly once the transactions say what is committed, not the consumer.
        committed: if txn.is_some() {
            Arc::new(Mutex::new(HashMap::new()))
        } else {
            committed.clone()
        },
        stall: stall::Watch::of(&config.kafka),
    };
    let consumer: StreamConsumer<Context> =
        consumer_config(kcfg, guarantee).create_with_context(context)?;
    {
        // The producer is up once it has reached a broker. A thread of its own, not the runtime's
        // blocking pool: the runtime waits for that pool when it shuts down.
        let p = producer.clone();
        let up = health.producer_up.clone();
        let stop = shutdown.clone();
        std::thread::spawn(move || {
            while !stop.is_cancelled()
                && p.client()
                    .fetch_metadata(None, Duration::from_secs(2))
                    .is_err()
            {}
            up.store(true, Ordering::Relaxed);
        });
    }
    let topics: Vec<&str> = kcfg.inputs.iter().map(|i| i.topic.as_str()).collect();
    consumer.subscribe(&topics)?;
    tracing::info!(?topics, group = %kcfg.group_id, output = %kcfg.output_topic, "consuming");

    let pool = worker_pool(config.pipeline.workers)?;
    let hint_of = |topic: &str| {
        kcfg.inputs
            .iter()
            .find(|i| i.topic == topic)
            .map_or(KindHint::Auto, |i| i.kind)
    };
    let clients = Clients {
        consumer,
        producer,
        errors,
        fatal,
        committed,
    };
    let work = Work {
        config,
        metrics: &metrics,
        health: &health,
        shutdown: &shutdown,
        transform: &transform,
        hint_of: &hint_of,
        pool: pool.as_ref(),
    };
    match txn {
        Some(txn) => exactly_once::run(work, clients, txn).await,
        None => at_least_once(work, clients).await,
    }
}

/// The watchdog of the blocking client calls (see [`super::watchdog`]): a call stuck past its
/// deadline fails `/healthz` and ends the process with status 1, for the orchestrator to restart
/// it. Nothing else can end it: the loop's thread is inside librdkafka.
fn exit_when_stuck(
    health: Health,
    in_flight: prometheus::IntGauge,
) -> Result<Watchdog, PipelineError> {
    Watchdog::spawn(move |mut stuck| {
        // Under exactly once, the messages in flight are those of the open transaction.
        stuck.uncommitted = stuck
            .uncommitted
            .or_else(|| u64::try_from(in_flight.get()).ok());
        tracing::error!(
            call = stuck.call,
            waited_seconds = stuck.waited.as_secs_f64(),
            uncommitted = stuck.uncommitted,
            "{stuck}: exiting, for the orchestrator to restart the instance (the broker aborts \
             its open transaction, and its partitions are read again from the last commit)"
        );
        health.fail(stuck.to_string());
        std::process::exit(1);
    })
    .map_err(|e| PipelineError::Threads(format!("the watchdog thread: {e}")))
}

/// What either loop works with, besides the clients.
pub(super) struct Work<'a, F, H> {
    pub config: &'a Config,
    pub metrics: &'a Metrics,
    pub health: &'a Health,
    pub shutdown: &'a CancellationToken,
    /// The per-message work: decode, analyse, encode (or forward bytes, for the baseline).
    pub transform: &'a F,
    /// The contract of a topic's messages.
    pub hint_of: &'a H,
    pub pool: Option<&'a rayon::ThreadPool>,
}

impl<F, H> Work<'_, F, H>
where
    F: Fn(&BorrowedMessage<'_>, KindHint) -> Transformed + Sync,
    H: Fn(&str) -> KindHint + Sync,
{
    /// Transforms a batch of messages in parallel, outputs in the batch's order.
    pub(super) fn transform(&self, batch: &[BorrowedMessage<'_>]) -> Vec<Transformed> {
        transform_batch(batch, self.transform, self.hint_of, self.metrics, self.pool)
    }

    /// Stops for good after `e`: says what is left uncommitted (re-read by the partitions' next
    /// owner), fails `/healthz`, and closes the clients within the shutdown deadline.
    pub(super) fn fail(
        &self,
        e: PipelineError,
        consumer: StreamConsumer<Context>,
        producer: FutureProducer<ClientCtx>,
        uncommitted: u64,
    ) -> PipelineError {
        tracing::error!(error = %e, uncommitted, "stopping");
        self.health.fail(e.to_string());
        close_within(
            consumer,
            producer,
            Duration::from_secs(self.config.pipeline.shutdown_timeout_secs),
            None,
        );
        e
    }
}

/// After `first`, takes what else the consumer has already fetched, without waiting, up to
/// `limit` messages in all.
pub(super) fn fill_batch<'c>(
    consumer: &'c StreamConsumer<Context>,
    first: BorrowedMessage<'c>,
    limit: usize,
) -> Vec<BorrowedMessage<'c>> {
    let mut batch = vec![first];
    while batch.len() < limit {
        match consumer.recv().now_or_never() {
            Some(Ok(m)) => batch.push(m),
            Some(Err(e)) => {
                // The client's error callback has logged it (once an interval).
                tracing::debug!(error = %e, "consume error");
                break;
            }
            None => break,
        }
    }
    batch
}

/// Both clients of an instance and what their callbacks share with the loop.
pub(super) struct Clients {
    pub consumer: StreamConsumer<Context>,
    pub producer: FutureProducer<ClientCtx>,
    pub errors: Arc<ErrorLog>,
    /// Cancelled by a client's fatal error.
    pub fatal: CancellationToken,
    /// Per partition, the next offset the last confirmed commit covers.
    pub committed: Arc<Mutex<HashMap<(String, i32), i64>>>,
}

/// The at-least-once loop: every output is sent on its own, and a partition's offset is stored for
/// the consumer's periodic commit once its outputs up to there are acknowledged.
async fn at_least_once<F, H>(work: Work<'_, F, H>, clients: Clients) -> Result<(), PipelineError>
where
    F: Fn(&BorrowedMessage<'_>, KindHint) -> Transformed + Sync,
    H: Fn(&str) -> KindHint + Sync,
{
    let Work {
        config,
        metrics,
        health,
        shutdown,
        ..
    } = work;
    let Clients {
        consumer,
        producer,
        errors,
        fatal,
        committed,
    } = clients;
    let max_in_flight = config.pipeline.max_in_flight;
    let max_batch = config.pipeline.max_batch.max(1);
    let mut tracker = OffsetTracker::new();
    let mut consumed = Consumed::default();
    let mut in_flight = FuturesUnordered::new();

    let stop = 'run: loop {
        forget_revoked(&consumer, Some(&mut tracker), &mut consumed);
        tokio::select! {
            biased;
            _ = fatal.cancelled() => break Stop::Fatal,
            _ = shutdown.cancelled() => break Stop::Shutdown,
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                // With the deliveries already acknowledged besides this one: their offsets are
                // stored once a partition, not once a message.
                let mut stored = Stored::default();
                let mut next = Some(done);
                while let Some(done) = next {
                    match done {
                        Ok(done) => settle(&mut tracker, metrics, done, &mut stored),
                        Err(e) => break 'run Stop::Failed(e),
                    }
                    next = in_flight.next().now_or_never().flatten();
                }
                stored.store(&consumer);
            }
            msg = consumer.recv(), if in_flight.len() < max_in_flight => {
                forget_revoked(&consumer, Some(&mut tracker), &mut consumed);
                let first = match msg {
                    Ok(m) => m,
                    // The client's error callback has logged it (once an interval); a fatal one,
                    // or an unrecoverable one that kept coming back, has cancelled `fatal`.
                    Err(e) if is_fatal(&e) => break Stop::Fatal,
                    Err(e) => {
                        tracing::debug!(error = %e, "consume error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Take what else is already fetched, up to the batch and in-flight limits: the
                // batch is analysed in parallel, then sent in consumed order.
                let limit = max_batch.min(max_in_flight - in_flight.len());
                let batch = fill_batch(&consumer, first, limit);
                let outputs = work.transform(&batch);
                for (msg, (output, outcome)) in batch.iter().zip(outputs) {
                    metrics.consumed.with_label_values(&[msg.topic()]).inc();
                    metrics.in_flight.inc();
                    consumed.note(msg.topic(), msg.partition(), msg.offset());
                    let ticket = tracker.start(msg.topic(), msg.partition(), msg.offset());
                    let event_ms = msg.timestamp().to_millis();
                    in_flight.push(deliver(producer.clone(), metrics.produce_retries.clone(), errors.clone(), output, ticket, outcome, event_ms));
                }
            }
        }
    };

    let deadline = Duration::from_secs(config.pipeline.shutdown_timeout_secs);
    let started = Instant::now();
    let failure = match stop {
        Stop::Shutdown => None,
        Stop::Fatal => Some(fatal_error(&consumer, &producer)),
        Stop::Failed(e) => Some(e),
    };
    if let Some(e) = failure {
        // The client is dead or can never succeed: nothing more can be produced or committed.
        drop(in_flight);
        let uncommitted = consumed.uncommitted(&committed);
        return Err(work.fail(e, consumer, producer, uncommitted));
    }

    tracing::info!(in_flight = in_flight.len(), "shutting down: draining");
    let drained = tokio::time::timeout(deadline, async {
        while let Some(done) = in_flight.next().await {
            let mut stored = Stored::default();
            match done {
                Ok(done) => settle(&mut tracker, metrics, done, &mut stored),
                Err(e) => return Err(e),
            }
            stored.store(&consumer);
        }
        Ok(())
    })
    .await;
    drop(in_flight);
    if let Ok(Err(e)) = drained {
        health.fail(e.to_string());
        close_within(
            consumer,
            producer,
            deadline.saturating_sub(started.elapsed()),
            None,
        );
        return Err(e);
    }
    // Flush, commit, leave the group and close both clients, each of which can wait on a broker
    // without a limit of its own: all of it on a thread of its own, waited for until the deadline.
    let left = deadline.saturating_sub(started.elapsed());
    let committed_all = close_within(consumer, producer, left, Some(&errors));
    let uncommitted = consumed.uncommitted(&committed);
    if drained.is_err() || !committed_all || uncommitted > 0 {
        // Past the deadline, or a commit that failed (the broker gone, the partitions lost) in
        // time: each said as what it was.
        return Err(if drained.is_err() || started.elapsed() >= deadline {
            PipelineError::ShutdownDeadline(deadline, uncommitted)
        } else {
            PipelineError::Uncommitted(uncommitted)
        });
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Why the loop stopped.
pub(super) enum Stop {
    Shutdown,
    /// A client reported a fatal error.
    Fatal,
    /// A delivery failed in a way no retry can mend.
    Failed(PipelineError),
}

/// The fatal error of whichever client has one.
pub(super) fn fatal_error(
    consumer: &StreamConsumer<Context>,
    producer: &FutureProducer<ClientCtx>,
) -> PipelineError {
    let found = match consumer.client().fatal_error() {
        Some((code, message)) => Some(("consumer", format!("{message} ({code:?})"))),
        None => producer
            .client()
            .fatal_error()
            .map(|(code, message)| ("producer", format!("{message} ({code:?})"))),
    };
    // Not fatal to librdkafka, but unrecoverable: the callback kept which client said what.
    let (client, detail) = found
        .or_else(|| consumer.context().client.cause())
        .unwrap_or(("client", "reported without detail".to_string()));
    PipelineError::Fatal { client, detail }
}

/// Flushes the producer, commits the stored offsets (when `commit` gives the error log to report
/// a failure to), leaves the group and closes both clients on a thread of its own, and waits for
/// it at most `limit`. Returns whether all of it finished and the commit succeeded. Past the
/// limit the thread is left behind: the process is about to exit.
pub(super) fn close_within(
    consumer: StreamConsumer<Context>,
    producer: FutureProducer<ClientCtx>,
    limit: Duration,
    commit: Option<&Arc<ErrorLog>>,
) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let commit = commit.cloned();
    let spawned = std::thread::Builder::new()
        .name("earshot-close".into())
        .spawn(move || {
            let started = Instant::now();
            let mut ok = true;
            if let Some(errors) = commit {
                if let Err(e) = producer.flush(Timeout::After(limit)) {
                    errors.warn_kafka("producer flush failed", &e);
                    ok = false;
                }
                match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                    Err(e) => {
                        errors.warn_kafka("final commit failed", &e);
                        ok = false;
                    }
                }
            }
            consumer.unsubscribe();
            drop(consumer);
            drop(producer);
            tracing::debug!(elapsed = ?started.elapsed(), "clients closed");
            let _ = tx.send(ok);
        });
    if spawned.is_err() {
        return false;
    }
    match rx.recv_timeout(limit) {
        Ok(ok) => ok,
        Err(_) => {
            tracing::error!(?limit, "the Kafka clients did not close in time");
            false
        }
    }
}

/// The worker pool of the analysis: `workers` threads in all, the loop's own one included (0: one
/// per available core).
fn worker_pool(workers: usize) -> Result<Option<rayon::ThreadPool>, PipelineError> {
    let workers = match workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    if workers <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers - 1)
        .thread_name(|i| format!("earshot-worker-{i}"))
        .build()
        .map(Some)
        .map_err(|e| PipelineError::Threads(format!("the analysis worker threads: {e}")))
}

/// Per partition, the first offset consumed and the next one to consume: what would be read again
/// if nothing more were committed. A list, not a map: an instance holds a few partitions, and
/// [`Consumed::note`], called for every message, then finds its own without allocating a key.
#[derive(Default)]
pub(super) struct Consumed(Vec<PartitionRange>);

/// A partition and the offsets read from it: the first, and the one after the last.
pub(super) type PartitionRange = ((String, i32), (i64, i64));

impl Consumed {
    pub(super) fn note(&mut self, topic: &str, partition: i32, offset: i64) {
        match self
            .0
            .iter_mut()
            .find(|((t, p), _)| *p == partition && t == topic)
        {
            Some((_, range)) => range.1 = range.1.max(offset + 1),
            None => self
                .0
                .push(((topic.to_string(), partition), (offset, offset + 1))),
        }
    }

    fn forget(&mut self, topic: &str, partition: i32) {
        self.0
            .retain(|((t, p), _)| !(*p == partition && t == topic));
    }

    /// Where each partition is read again from after an aborted transaction: the end of its last
    /// commit, or the first offset read. The partitions start over from there.
    pub(super) fn rewind_to(
        &mut self,
        committed: &HashMap<(String, i32), i64>,
    ) -> Vec<((String, i32), i64)> {
        let mut out = Vec::new();
        for (p, (first, next)) in self.0.iter_mut() {
            let to = committed.get(p).copied().unwrap_or(*first).max(*first);
            if to < *next {
                *next = to;
                out.push((p.clone(), to));
            }
        }
        out.sort();
        out
    }

    /// Per partition, the first offset noted and the offset after the last.
    pub(super) fn ranges(&self) -> &[PartitionRange] {
        &self.0
    }

    /// Per partition, the offset after the last message noted.
    pub(super) fn next_offsets(self) -> Vec<((String, i32), i64)> {
        self.0.into_iter().map(|(p, (_, next))| (p, next)).collect()
    }

    /// Consumed messages beyond the last confirmed commit of their partition.
    pub(super) fn uncommitted(&self, committed: &Mutex<HashMap<(String, i32), i64>>) -> u64 {
        let committed = committed.lock().map(|c| c.clone()).unwrap_or_default();
        self.0
            .iter()
            .map(|&(ref p, (first, next))| {
                let from = committed.get(p).copied().unwrap_or(first).max(first);
                (next - from).max(0) as u64
            })
            .sum()
    }
}

/// Below this many messages a batch is transformed on the loop's own thread: handing work to another
/// thread costs more than a few messages' analysis.
const MIN_PARALLEL_BATCH: usize = 16;

/// Transforms a batch of messages, in parallel on the calling thread (the first share) and the
/// pool's threads (one share each), and returns the outputs in the batch's order.
pub(super) fn transform_batch<F, H>(
    batch: &[BorrowedMessage<'_>],
    transform: &F,
    hint_of: &H,
    metrics: &Metrics,
    pool: Option<&rayon::ThreadPool>,
) -> Vec<Transformed>
where
    F: Fn(&BorrowedMessage<'_>, KindHint) -> Transformed + Sync,
    H: Fn(&str) -> KindHint + Sync,
{
    in_shares(
        batch,
        |msg| transform(msg, hint_of(msg.topic())),
        |seconds| metrics.processing.observe(seconds),
        pool,
    )
}

/// Maps `f` over `items`, in parallel on the calling thread (the first share) and the pool's
/// threads (one share each), and returns the results in the items' order. `observe` gets each
/// item's processing time in seconds.
///
/// The pool's threads live as long as the pipeline: threads started per batch cost a fresh stack
/// and a cold allocator heap each time.
fn in_shares<M: Sync, T: Send>(
    items: &[M],
    f: impl Fn(&M) -> T + Sync,
    observe: impl Fn(f64) + Sync,
    pool: Option<&rayon::ThreadPool>,
) -> Vec<T> {
    // One clock read per item: each item's processing ends where the next one's starts.
    let run = |chunk: &[M]| {
        let mut out = Vec::with_capacity(chunk.len());
        let mut started = Instant::now();
        for item in chunk {
            out.push(f(item));
            let now = Instant::now();
            observe(now.duration_since(started).as_secs_f64());
            started = now;
        }
        out
    };
    let Some(pool) = pool.filter(|_| items.len() >= MIN_PARALLEL_BATCH) else {
        return run(items);
    };
    let share = items.len().div_ceil(pool.current_num_threads() + 1);
    let mut chunks = items.chunks(share);
    let Some(own) = chunks.next() else {
        return Vec::new();
    };
    let mut parts: Vec<Vec<T>> = chunks.clone().map(|_| Vec::new()).collect();
    let mut outputs = Vec::new();
    // A panic in a spawned share is re-raised here when the scope ends: the analysis does not
    // panic on any input (fuzzed), and if it ever did, no share's messages are dropped silently.
    pool.in_place_scope(|scope| {
        for (chunk, part) in chunks.zip(parts.iter_mut()) {
            let run = &run;
            scope.spawn(move |_| *part = run(chunk));
        }
        outputs = run(own);
    });
    outputs.reserve(items.len() - outputs.len());
    for part in parts {
        outputs.extend(part);
    }
    outputs
}

/// Bytes reserved for an encoded insight event.
const EVENT_CAPACITY: usize = 2048;

/// librdkafka's default `message.max.bytes`: the largest record the producer sends.
const DEFAULT_MAX_RECORD_BYTES: usize = 1_000_000;

/// What a record costs besides its key, value and headers, at most: librdkafka counts 40 bytes
/// (`RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD`); the rest is room.
const RECORD_OVERHEAD: usize = 256;

/// The largest record the producer will send: its `message.max.bytes` (`kafka.producer`), else
/// librdkafka's default. A larger one is refused at once, on every retry.
pub fn max_record_bytes(cfg: &KafkaConfig) -> usize {
    cfg.producer
        .get("message.max.bytes")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_RECORD_BYTES)
}

/// A header list's size in a record, at most (two length varints of up to 5 bytes a header). The
/// names are measured, not decoded: rdkafka's `Headers::get` panics on a name that is not UTF-8,
/// and an input's headers are whatever its producer wrote.
fn headers_bytes(h: &OwnedHeaders) -> usize {
    use rdkafka::bindings::{rd_kafka_header_get_all, rd_kafka_headers_t};
    let raw =
        h.as_borrowed() as *const rdkafka::message::BorrowedHeaders as *const rd_kafka_headers_t;
    let mut total = 0;
    for idx in 0..h.count() {
        let mut name: *const std::ffi::c_char = std::ptr::null();
        let mut value: *const std::ffi::c_void = std::ptr::null();
        let mut size = 0usize;
        // SAFETY: `raw` is the header list `h` owns (rdkafka's `BorrowedHeaders` is that pointer,
        // as `as_borrowed` casts it), alive for this call; `idx` is below its count; librdkafka
        // writes a NUL-terminated name it owns and the value's size.
        let err = unsafe { rd_kafka_header_get_all(raw, idx, &mut name, &mut value, &mut size) };
        if err != rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            break;
        }
        let name_len = if name.is_null() {
            0
        } else {
            // SAFETY: a NUL-terminated string librdkafka owns, alive while `h` is.
            unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes().len()
        };
        total += name_len + size + 10;
    }
    total
}

impl Output {
    /// The record's size as the producer counts it against `message.max.bytes`, at most.
    pub fn record_bytes(&self) -> usize {
        self.key.as_ref().map_or(0, Vec::len)
            + self.payload.len()
            + self.headers.as_ref().map_or(0, headers_bytes)
            + RECORD_OVERHEAD
    }
}

/// Decodes and analyses one message into the record to produce. Pure but for the clock. An
/// insight larger than `max_record` bytes becomes a dead letter (`insight_too_large`), and a dead
/// letter that would be too large goes without the input's value (`earshot.payload_omitted`): the
/// producer refuses such records on every retry, which would hold the partition forever.
pub fn process(
    msg: &BorrowedMessage<'_>,
    hint: KindHint,
    limits: Limits,
    analyzer: &Analyzer,
    cfg: &KafkaConfig,
    max_record: usize,
) -> (Output, Outcome) {
    let at = SourceRef {
        topic: msg.topic().to_string(),
        partition: msg.partition(),
        offset: msg.offset(),
    };
    let decoded = process::process(
        msg.payload(),
        hint,
        limits,
        analyzer,
        at.clone(),
        Utc::now(),
    )
    .and_then(|insight| {
        // Events run to 1-2 KB: start there rather than growing from 128 bytes by doubling.
        let mut payload = Vec::with_capacity(EVENT_CAPACITY);
        match serde_json::to_writer(&mut payload, &insight) {
            Ok(()) if payload.len() + insight.party.id.len() + RECORD_OVERHEAD > max_record => {
                Err(DecodeError {
                    reason: Reason::InsightTooLarge,
                    message: format!(
                        "its insight event is {} bytes, over the producer's limit of {max_record} bytes (kafka.producer message.max.bytes)",
                        payload.len()
                    ),
                })
            }
            Ok(()) => Ok((insight.party.id.into_bytes(), payload, insight.analysis)),
            // Encoding our own types can't fail on valid data; if it ever does, it is a dead letter.
            Err(e) => Err(DecodeError {
                reason: Reason::SchemaViolation,
                message: format!("insight could not be encoded: {e}"),
            }),
        }
    });
    match decoded {
        Ok((key, payload, analysis)) => (
            Output {
                topic: cfg.output_topic.clone(),
                key: Some(key),
                payload,
                headers: None,
            },
            Outcome::Insight(Observed::of(analysis)),
        ),
        Err(e) => {
            tracing::debug!(topic = %at.topic, partition = at.partition, offset = at.offset, reason = %e.reason, message = %e.message, "dead letter");
            (
                dead_letter(msg, &at, &e, cfg, max_record),
                Outcome::DeadLetter(e.reason),
            )
        }
    }
}

/// The dead letter of a message: its original key, value and headers, plus `earshot.*` headers with
/// the reason, a human message and the source coordinates.
fn dead_letter(
    msg: &BorrowedMessage<'_>,
    at: &SourceRef,
    e: &DecodeError,
    cfg: &KafkaConfig,
    max_record: usize,
) -> Output {
    let ours = earshot_headers(msg, at, e.reason.as_str(), &e.message);
    let original = msg.headers().map(|h| h.detach()).unwrap_or_default();
    Output {
        topic: cfg.dead_letter_topic.clone(),
        key: msg.key().map(<[u8]>::to_vec),
        payload: msg.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        headers: Some(with_headers(original, &ours)),
    }
    .fit(&ours, max_record)
}

/// The longest `earshot.message` a dead letter carries: a serde error can quote a whole input.
const MAX_MESSAGE_HEADER: usize = 1024;

/// A dead letter's own headers: `earshot.reason`, `earshot.message` (cut to
/// [`MAX_MESSAGE_HEADER`] bytes) and the source coordinates (`earshot.source.topic`,
/// `.partition`, `.offset`, `.timestamp`).
fn earshot_headers(
    msg: &BorrowedMessage<'_>,
    at: &SourceRef,
    reason: &str,
    message: &str,
) -> Vec<(&'static str, String)> {
    let mut ours = vec![
        ("earshot.reason", reason.to_string()),
        ("earshot.message", capped(message, MAX_MESSAGE_HEADER)),
        ("earshot.source.topic", at.topic.clone()),
        ("earshot.source.partition", at.partition.to_string()),
        ("earshot.source.offset", at.offset.to_string()),
    ];
    if let Some(t) = msg.timestamp().to_millis() {
        ours.push(("earshot.source.timestamp", t.to_string()));
    }
    ours
}

/// `s` cut to at most `max` bytes on a character boundary, with an ellipsis when cut.
fn capped(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `headers` with `ours` added after them.
fn with_headers(mut headers: OwnedHeaders, ours: &[(&'static str, String)]) -> OwnedHeaders {
    for (key, value) in ours {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_str()),
        });
    }
    headers
}

/// A dead letter's headers: the message's own (copied whole, their names never decoded: a name
/// that is not UTF-8 would make rdkafka's `Headers::get` panic), plus [`earshot_headers`]. Every
/// stage writes its dead letters this way, so one consumer reads them all.
pub fn dead_letter_headers(
    msg: &BorrowedMessage<'_>,
    at: &SourceRef,
    reason: &str,
    message: &str,
) -> OwnedHeaders {
    let original = msg.headers().map(|h| h.detach()).unwrap_or_default();
    with_headers(original, &earshot_headers(msg, at, reason, message))
}

/// Sends one output until the broker acknowledges it. A failed delivery is retried (with backoff)
/// rather than dropped: its offset must not be committed, and everything after it waits for it.
async fn deliver(
    producer: FutureProducer<ClientCtx>,
    retries: IntCounter,
    errors: Arc<ErrorLog>,
    out: Output,
    ticket: Ticket,
    outcome: Outcome,
    event_ms: Option<i64>,
) -> Result<Delivered, PipelineError> {
    let mut backoff = Duration::from_millis(100);
    loop {
        match producer.send(out.record(), Timeout::Never).await {
            Ok(_) => {
                return Ok(Delivered {
                    ticket,
                    outcome,
                    event_ms,
                })
            }
            Err((e, _)) => {
                if let Some((code, message)) = producer.client().fatal_error() {
                    return Err(PipelineError::Fatal {
                        client: "producer",
                        detail: format!("{message} ({code:?})"),
                    });
                }
                if permanent(&e) {
                    return Err(PipelineError::Permanent {
                        client: "producer",
                        error: e,
                    });
                }
                retries.inc();
                errors.warn_kafka("delivery failed; retrying", &e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Whether a delivery error can never succeed on a retry: the credentials or the ACLs are wrong,
/// or the broker refuses the record itself (too large for the topic, or a record the topic can't
/// take, such as one without a key on a compacted topic). Every other error (timeouts, a broker
/// down, a leader moving, a full queue) is retried.
pub(super) fn permanent(e: &KafkaError) -> bool {
    is_unrecoverable(e) || refused_record(e)
}

/// Whether the broker or the producer refuses the record itself: no retry, abort or wait mends it.
pub(super) fn refused_record(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

/// What mends a permanent error, for its message.
fn what_mends(e: &KafkaError) -> &'static str {
    if refused_record(e) {
        "the topic refuses the record: check that its max.message.bytes is at least the producer's message.max.bytes, and that it is not compacted (a dead letter may have no key)"
    } else {
        "authentication or authorization; fix the credentials or ACLs"
    }
}

/// Committable offsets that advanced, per partition, to store together.
#[derive(Default)]
struct Stored(Vec<(String, i32, i64)>);

impl Stored {
    fn advance(&mut self, topic: &str, partition: i32, next: i64) {
        match self
            .0
            .iter_mut()
            .find(|(t, p, _)| *p == partition && t == topic)
        {
            Some((_, _, n)) => *n = (*n).max(next),
            None => self.0.push((topic.to_string(), partition, next)),
        }
    }

    /// Stores the offsets for the consumer's periodic commit.
    fn store(self, consumer: &StreamConsumer<Context>) {
        if self.0.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, next) in &self.0 {
            // An offset after an acknowledged message is never negative, the one kind librdkafka
            // refuses (and a refused one would stay in the list as INVALID).
            if *next >= 0 {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next));
            }
        }
        match consumer.store_offsets(&tpl) {
            Ok(()) => {}
            // A partition was revoked meanwhile: its new owner reads from the last commit.
            Err(KafkaError::StoreOffset(RDKafkaErrorCode::State)) => {}
            Err(e) => tracing::warn!(error = %e, "storing offsets failed"),
        }
    }
}

/// Books an acknowledged output and notes the partition's committable offset if it advanced.
fn settle(tracker: &mut OffsetTracker, metrics: &Metrics, done: Delivered, stored: &mut Stored) {
    metrics.in_flight.dec();
    match &done.outcome {
        Outcome::Insight(a) => metrics.observe_insight(a),
        Outcome::DeadLetter(r) => metrics.dead_letters.with_label_values(&[r.as_str()]).inc(),
    }
    if let Some(ms) = done.event_ms {
        let lag = (Utc::now().timestamp_millis() - ms).max(0) as f64 / 1000.0;
        metrics.end_to_end.observe(lag);
    }
    if let Some(next) = tracker.ack(&done.ticket) {
        stored.advance(&done.ticket.topic, done.ticket.partition, next);
    }
}

/// Drops what the loop tracks of the partitions revoked since it last looked, and returns them.
pub(super) fn forget_revoked(
    consumer: &StreamConsumer<Context>,
    mut tracker: Option<&mut OffsetTracker>,
    consumed: &mut Consumed,
) -> Vec<(String, i32)> {
    let revoked = match consumer.context().revoked.lock() {
        Ok(mut r) => std::mem::take(&mut *r),
        Err(_) => return Vec::new(),
    };
    for (topic, partition) in &revoked {
        if let Some(t) = tracker.as_deref_mut() {
            t.revoke(topic, *partition);
        }
        consumed.forget(topic, *partition);
    }
    revoked
}

/// Whether the readiness flags say the pipeline can work.
pub fn ready(health: &Health) -> bool {
    health.assigned.load(Ordering::Relaxed) && health.producer_up.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'h>(h: &'h OwnedHeaders, key: &str) -> Option<&'h [u8]> {
        (0..h.count())
            .map(|i| h.get(i))
            .find(|x| x.key == key)
            .and_then(|x| x.value)
    }

    fn ours() -> Vec<(&'static str, String)> {
        vec![
            ("earshot.reason", "insight_too_large".into()),
            ("earshot.source.offset", "42".into()),
        ]
    }

    fn dead(payload_len: usize, own_headers: usize) -> Output {
        let mut headers = OwnedHeaders::new();
        let big = "h".repeat(100);
        for i in 0..own_headers {
            let key = format!("input.header.{i}");
            headers = headers.insert(Header {
                key: &key,
                value: Some(big.as_str()),
            });
        }
        headers = with_headers(headers, &ours());
        Output {
            topic: "dead".into(),
            key: Some(b"party".to_vec()),
            payload: vec![b'x'; payload_len],
            headers: Some(headers),
        }
    }

    #[test]
    fn a_dead_letter_that_fits_is_sent_as_it_is() {
        let out = dead(10_000, 3).fit(&ours(), 20_000);
        assert_eq!(out.payload.len(), 10_000);
        let h = out.headers.as_ref().expect("headers");
        assert_eq!(h.count(), 5);
        assert_eq!(header(h, "earshot.payload_omitted"), None);
    }

    #[test]
    fn a_dead_letter_too_large_goes_without_the_value_and_says_how_large_it_was() {
        let out = dead(30_000, 3).fit(&ours(), 20_000);
        assert!(out.payload.is_empty());
        assert!(out.record_bytes() <= 20_000);
        let h = out.headers.as_ref().expect("headers");
        assert_eq!(header(h, "earshot.payload_omitted"), Some(&b"30000"[..]));
        // Where to read the input, and why it is here, are still said; so are its own headers.
        assert_eq!(header(h, "earshot.source.offset"), Some(&b"42"[..]));
        assert_eq!(header(h, "earshot.reason"), Some(&b"insight_too_large"[..]));
        assert!(header(h, "input.header.2").is_some());
    }

    #[test]
    fn a_dead_letter_whose_own_headers_are_too_large_keeps_earshots_only() {
        let out = dead(500, 300).fit(&ours(), 20_000);
        assert!(out.payload.is_empty());
        assert!(out.record_bytes() <= 20_000, "{}", out.record_bytes());
        let h = out.headers.as_ref().expect("headers");
        assert_eq!(header(h, "input.header.0"), None);
        assert_eq!(header(h, "earshot.payload_omitted"), Some(&b"500"[..]));
        assert_eq!(header(h, "earshot.source.offset"), Some(&b"42"[..]));
    }

    #[test]
    fn a_dead_letter_whose_key_alone_is_too_large_goes_without_it() {
        let mut out = dead(100, 0);
        out.key = Some(vec![b'k'; 30_000]);
        let out = out.fit(&ours(), 20_000);
        assert_eq!(out.key, None);
        assert!(out.record_bytes() <= 20_000);
        let h = out.headers.as_ref().expect("headers");
        assert_eq!(header(h, "earshot.reason"), Some(&b"insight_too_large"[..]));
    }

    #[test]
    fn a_long_error_message_is_cut_on_a_character_boundary() {
        let quoted = format!("invalid type: string \"{}\"", "é".repeat(2_000));
        let cut = capped(&quoted, MAX_MESSAGE_HEADER);
        assert!(cut.len() <= MAX_MESSAGE_HEADER, "{}", cut.len());
        assert!(cut.starts_with("invalid type: string"));
        assert!(cut.ends_with('…'));
        assert_eq!(capped("short", MAX_MESSAGE_HEADER), "short");
    }

    #[test]
    fn the_producers_limit_is_its_message_max_bytes() {
        let mut cfg = KafkaConfig::default();
        assert_eq!(max_record_bytes(&cfg), 1_000_000);
        cfg.producer
            .insert("message.max.bytes".into(), "20000".into());
        assert_eq!(max_record_bytes(&cfg), 20_000);
    }

    #[test]
    fn a_refused_record_and_wrong_credentials_are_permanent_and_an_outage_is_not() {
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::InvalidRecord,
            RDKafkaErrorCode::TopicAuthorizationFailed,
        ] {
            assert!(permanent(&KafkaError::MessageProduction(code)), "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::QueueFull,
            RDKafkaErrorCode::NotLeaderForPartition,
        ] {
            assert!(!permanent(&KafkaError::MessageProduction(code)), "{code:?}");
        }
        let e = PipelineError::Permanent {
            client: "producer",
            error: KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
        };
        assert!(e.to_string().contains("max.message.bytes"), "{e}");
    }

    #[test]
    fn shares_run_on_the_pool_and_come_back_in_order() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        let main = std::thread::current().id();
        for n in [
            0,
            1,
            MIN_PARALLEL_BATCH - 1,
            MIN_PARALLEL_BATCH,
            17,
            256,
            1001,
        ] {
            let items: Vec<usize> = (0..n).collect();
            let observed = std::sync::atomic::AtomicUsize::new(0);
            let out = in_shares(
                &items,
                |i| (i * 7, std::thread::current().id()),
                |_| {
                    observed.fetch_add(1, Ordering::Relaxed);
                },
                Some(&pool),
            );
            let values: Vec<usize> = out.iter().map(|(v, _)| *v).collect();
            assert_eq!(values, items.iter().map(|i| i * 7).collect::<Vec<_>>());
            assert_eq!(
                observed.load(Ordering::Relaxed),
                n,
                "one observation per item"
            );
            let on_pool = out.iter().filter(|(_, t)| *t != main).count();
            if n >= MIN_PARALLEL_BATCH {
                // The caller takes the first quarter; the pool's three threads the rest.
                assert_eq!(on_pool, n - n.div_ceil(4), "batch of {n}");
            } else {
                assert_eq!(on_pool, 0, "a small batch stays on the caller");
            }
        }
        // Without a pool, everything runs on the caller.
        let out = in_shares(&[1, 2, 3], |i| *i, |_| {}, None);
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[test]
    fn security_settings_pass_through_and_secrets_come_from_the_environment() {
        let cfg = KafkaConfig {
            security_protocol: "sasl_ssl".into(),
            sasl_mechanism: Some("SCRAM-SHA-512".into()),
            // A real bundle: librdkafka loads it when the client is created.
            ssl_ca_location: Some("/etc/ssl/certs/ca-certificates.crt".into()),
            producer: [("linger.ms".to_string(), "20".to_string())].into(),
            ..KafkaConfig::default()
        };
        let mut c = ClientConfig::new();
        common_with_env(&cfg, &mut c, |k| match k {
            "EARSHOT_KAFKA_SASL_USERNAME" => Some("svc".into()),
            "EARSHOT_KAFKA_SASL_PASSWORD" => Some("s3cret".into()),
            _ => None,
        });
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(
            c.get("ssl.ca.location"),
            Some("/etc/ssl/certs/ca-certificates.crt")
        );
        assert_eq!(c.get("sasl.username"), Some("svc"));
        assert_eq!(c.get("sasl.password"), Some("s3cret"));
        // The stages' admin client connects as securely as their consumers (it once took only
        // `[kafka.consumer]`'s keys and spoke plaintext to a SASL_SSL cluster).
        let a = admin_config(&cfg);
        assert_eq!(a.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(a.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(
            a.get("ssl.ca.location"),
            Some("/etc/ssl/certs/ca-certificates.crt")
        );
        assert_eq!(a.get("group.id"), None);
        let p = producer_config(&cfg, Guarantee::AtLeastOnce);
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("transactional.id"), None);
        assert_eq!(
            p.get("linger.ms"),
            Some("20"),
            "pass-through wins over defaults"
        );
        let consumer = consumer_config(&cfg, Guarantee::AtLeastOnce);
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("true"));
        assert_eq!(
            consumer.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        // Static members are assigned eagerly (see `assignor`); a strategy given in
        // `[kafka.consumer]` wins over either.
        let mut static_member = cfg.clone();
        static_member
            .consumer
            .insert("group.instance.id".into(), "earshot-0".into());
        let consumer = consumer_config(&static_member, Guarantee::ExactlyOnce);
        assert_eq!(
            consumer.get("partition.assignment.strategy"),
            Some("roundrobin")
        );
        static_member.consumer.insert(
            "partition.assignment.strategy".into(),
            "cooperative-sticky".into(),
        );
        let consumer = consumer_config(&static_member, Guarantee::ExactlyOnce);
        assert_eq!(
            consumer.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        // The same static member named by its own key (what an environment variable can set per
        // pod): round robin, and the pass-through still wins.
        let keyed = KafkaConfig {
            group_instance_id: Some("earshot-memory-1".into()),
            ..cfg.clone()
        };
        let consumer = consumer_config(&keyed, Guarantee::AtLeastOnce);
        assert_eq!(consumer.get("group.instance.id"), Some("earshot-memory-1"));
        assert_eq!(
            consumer.get("partition.assignment.strategy"),
            Some("roundrobin")
        );
        let mut both = keyed.clone();
        both.consumer
            .insert("group.instance.id".into(), "from-pass-through".into());
        assert_eq!(
            consumer_config(&both, Guarantee::AtLeastOnce).get("group.instance.id"),
            Some("from-pass-through")
        );
        assert_eq!(
            crate::shell::stage::plain_consumer_config(&keyed).get("group.instance.id"),
            None,
            "a consumer outside the group is no static member"
        );
        // Exactly once: offsets go only through the transactions, one transactional id per start
        // unless the config names one.
        let consumer = consumer_config(&cfg, Guarantee::ExactlyOnce);
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("isolation.level"), Some("read_committed"));
        let a = producer_config(&cfg, Guarantee::ExactlyOnce);
        let b = producer_config(&cfg, Guarantee::ExactlyOnce);
        assert!(a.get("transactional.id").is_some());
        assert_ne!(a.get("transactional.id"), b.get("transactional.id"));
        let named = KafkaConfig {
            transactional_id: Some("earshot-0".into()),
            ..cfg.clone()
        };
        assert_eq!(
            producer_config(&named, Guarantee::ExactlyOnce).get("transactional.id"),
            Some("earshot-0")
        );
        // librdkafka accepts the SCRAM/TLS combination (built with SSL support).
        let created: KafkaResult<rdkafka::producer::BaseProducer> = c.create();
        assert!(created.is_ok(), "{:?}", created.err());
    }

    /// What the shutdown of exactly once relies on after a pending rewind: messages read past the
    /// last commit count as uncommitted until the rewind takes them back, and no further.
    #[test]
    fn a_rewind_takes_back_what_was_read_past_the_commit() {
        let mut consumed = Consumed::default();
        for offset in 10..20 {
            consumed.note("in", 0, offset);
        }
        for offset in 5..8 {
            consumed.note("in", 1, offset);
        }
        let committed = Mutex::new(HashMap::from([(("in".to_string(), 0), 14)]));
        // Partition 0: 14..20 past its commit; partition 1 never committed: all three.
        assert_eq!(consumed.uncommitted(&committed), 6 + 3);
        let to = committed.lock().expect("not poisoned").clone();
        let rewound = consumed.rewind_to(&to);
        assert_eq!(
            rewound,
            vec![(("in".to_string(), 0), 14), (("in".to_string(), 1), 5)]
        );
        assert_eq!(consumed.uncommitted(&committed), 0);
        // A second rewind has nothing to take back.
        assert!(consumed.rewind_to(&to).is_empty());
    }
}
