//! The customer memory stage (`earshot run --role memory`): insights in, customer insights out, with
//! per-customer state kept the Kafka Streams way.
//!
//! ```text
//! insights ──(resolve the customer key through identity-links)──▶ repartition topic, keyed by customer
//! repartition partition p ──▶ state of p (redb store, changelog partition p) ──▶ customer insights
//! ```
//!
//! * **Identity** is a global table: every instance reads the whole compacted `identity-links`
//!   topic before it starts and follows it after. A link that arrives after the account spoke
//!   moves the account's state: its owner sends a `merge` command keyed by the customer and
//!   deletes its own copy.
//! * **State** moves with its partition. On assignment the partition's store is restored from the
//!   changelog, from the store's checkpoint to the end, before any message of the partition is
//!   handled (the rebalance callback blocks until it is done).
//! * **Counted once.** Each batch (every `memory.commit_interval_ms`) flushes the repartitioned
//!   observations and customer insights, then writes every changed state to the changelog, then
//!   writes the store and its checkpoint in one transaction, and only then commits the input
//!   offsets. A crash anywhere redelivers what was not committed; a state that already holds a
//!   redelivered insight (or merge) skips it by id, so the state counts it once. A customer insight
//!   raised before the crash may be raised again, with the same id: at least once, de-duplicated
//!   by id downstream.
//!
//! The loop runs on a thread of its own with librdkafka's blocking clients.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::util::Timeout;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::config::{Config, Guarantee};
use crate::insight::Insight;
use crate::memory::{self, codec, Applied, Command, CustomerState, Links, Observation};
use crate::privacy::Privacy;
use crate::shell::client::{client_context_via_field, is_fatal, Callbacks, ClientCtx, ErrorLog};
use crate::shell::kafka::{consumer_config, dead_letter_headers, producer_config};
use crate::shell::metrics::Metrics;
use crate::shell::store::{self, PartitionStore, StoreError};
use crate::shell::Health;

/// How long a flush waits for the broker's acknowledgements.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a restore may take before the stage gives up.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(600);
/// Changelog records written to a store per transaction while restoring.
const RESTORE_BATCH: usize = 50_000;

/// A store last written longer ago than this is rebuilt from the changelog, not caught up: half of
/// the changelog's default tombstone retention (`delete.retention.ms`, one day).
const STALE_AFTER_SECS: u64 = 12 * 3600;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A key's new state, encoded (`None`: deleted).
type Change = (String, Option<Vec<u8>>);

/// Why the memory stage stopped.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("delivery failed: {0}")]
    Delivery(String),
    #[error("topic {0} not found")]
    NoTopic(String),
    #[error("restoring partition {0} took longer than {1:?}")]
    RestoreTimeout(i32, Duration),
    #[error("state of {0} in the store or changelog is not valid: {1}")]
    BadState(String, String),
    #[error("a kafka client failed for good (see the error logged before)")]
    Fatal,
}

/// What the delivery callback saw since the last flush.
#[derive(Default)]
struct Deliveries {
    errors: Mutex<Vec<String>>,
    /// Highest acknowledged changelog offset per partition.
    changelog: Mutex<HashMap<i32, i64>>,
}

struct DeliveryCtx {
    changelog_topic: String,
    seen: Arc<Deliveries>,
    client: ClientCtx,
}

client_context_via_field!(DeliveryCtx, StageCtx);

impl ProducerContext for DeliveryCtx {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) if m.topic() == self.changelog_topic => {
                if let Ok(mut c) = self.seen.changelog.lock() {
                    let e = c.entry(m.partition()).or_insert(-1);
                    *e = (*e).max(m.offset());
                }
            }
            Ok(_) => {}
            Err((e, m)) => {
                if let Ok(mut errs) = self.seen.errors.lock() {
                    errs.push(format!("{} [{}]: {e}", m.topic(), m.partition()));
                }
            }
        }
    }
}

/// The topics and settings of the stage.
#[derive(Debug, Clone)]
struct Topics {
    input: String,
    links: String,
    repartition: String,
    changelog: String,
    output: String,
    dead_letters: String,
}

/// Everything the loop and the rebalance callbacks share.
struct Stage {
    topics: Topics,
    partitions: i32,
    state_dir: std::path::PathBuf,
    commit_interval: Duration,
    cx: memory::Context,
    privacy: Privacy,
    producer: BaseProducer<DeliveryCtx>,
    deliveries: Arc<Deliveries>,
    restorer: BaseConsumer<ClientCtx>,
    /// Errors said once an interval.
    errors: Arc<ErrorLog>,
    links: Links,
    stores: HashMap<i32, PartitionStore>,
    /// Changed states since the last flush (`None`: deleted), by partition and key.
    dirty: HashMap<(i32, String), Option<CustomerState>>,
    /// Next offsets to commit, by topic and partition.
    offsets: BTreeMap<(String, i32), i64>,
    /// Offsets this instance committed last, by topic and partition.
    committed: BTreeMap<(String, i32), i64>,
    /// Customer insights produced since the last flush, by type (counted once acknowledged).
    raised: HashMap<&'static str, u64>,
    results: HashMap<&'static str, u64>,
    batch_started: Option<Instant>,
    metrics: Metrics,
    health: Health,
    /// A failure inside a rebalance callback, raised by the loop.
    failed: Option<StageError>,
    /// A flush started and did not finish: what the batch holds may not have reached Kafka, so
    /// nothing of it may be committed (not even by the revoke that closing the consumer runs).
    broken: bool,
}

struct StageCtx {
    stage: Arc<Mutex<Stage>>,
    client: ClientCtx,
}

impl ConsumerContext for StageCtx {
    fn pre_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let Ok(mut stage) = self.stage.lock() else {
            return;
        };
        // Everything handled so far reaches the changelog, the stores and the committed offsets
        // before the partitions go.
        if let Err(e) = stage.flush(base) {
            stage.failed.get_or_insert(e);
        }
        let repartition = stage.topics.repartition.clone();
        for e in tpl.elements() {
            if e.topic() == repartition {
                stage.stores.remove(&e.partition());
            }
        }
        if stage.stores.is_empty() {
            stage
                .health
                .assigned
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::info!(partitions = ?partitions_of(tpl), "memory: partitions revoked");
        stage
            .metrics
            .rebalances
            .with_label_values(&["revoked"])
            .inc();
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else {
            return;
        };
        let Ok(mut stage) = self.stage.lock() else {
            return;
        };
        stage
            .metrics
            .rebalances
            .with_label_values(&["assigned"])
            .inc();
        tracing::info!(partitions = ?partitions_of(tpl), "memory: partitions assigned");
        let repartition = stage.topics.repartition.clone();
        for e in tpl.elements() {
            if e.topic() != repartition || stage.stores.contains_key(&e.partition()) {
                continue;
            }
            if let Err(err) = stage.restore(e.partition()) {
                stage.failed.get_or_insert(err);
                return;
            }
        }
        stage
            .health
            .assigned
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl Stage {
    fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &str,
        payload: Option<&[u8]>,
    ) -> Result<(), StageError> {
        let mut record = BaseRecord::to(topic).key(key);
        if let Some(p) = payload {
            record = record.payload(p);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        self.send_record(record)
    }

    /// Queues a record, waiting while the producer's queue is full.
    fn send_record<K, P>(&self, mut record: BaseRecord<'_, K, P>) -> Result<(), StageError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }

    fn take_delivery_errors(&self) -> Result<(), StageError> {
        let errs = match self.deliveries.errors.lock() {
            Ok(mut e) => std::mem::take(&mut *e),
            Err(_) => vec!["delivery report lock poisoned".into()],
        };
        match errs.first() {
            None => Ok(()),
            Some(first) => Err(StageError::Delivery(format!(
                "{first} (and {} more)",
                errs.len() - 1
            ))),
        }
    }

    /// The current state of `key` in partition `p`, and whether it is this batch's change: then
    /// it is taken out of the batch (not cloned), and the caller puts back what it has become.
    /// Else it is the store's.
    fn take_state(
        &mut self,
        p: i32,
        key: &str,
    ) -> Result<(Option<CustomerState>, bool), StageError> {
        if let Some(s) = self.dirty.remove(&(p, key.to_string())) {
            return Ok((s, true));
        }
        let Some(store) = self.stores.get(&p) else {
            return Ok((None, false));
        };
        match store.get(key)? {
            None => Ok((None, false)),
            Some(bytes) => codec::decode_state(&bytes)
                .map(|s| (Some(s), false))
                .map_err(|e| StageError::BadState(key.to_string(), e.to_string())),
        }
    }

    fn start_batch(&mut self) {
        self.batch_started.get_or_insert_with(Instant::now);
    }

    fn count(&mut self, result: &'static str) {
        *self.results.entry(result).or_default() += 1;
    }

    /// Handles one consumed message.
    fn handle(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        self.start_batch();
        let (topic, p, offset) = (m.topic().to_string(), m.partition(), m.offset());
        if topic == self.topics.input {
            self.route(m)?;
        } else if topic == self.topics.repartition {
            self.apply(m)?;
        }
        self.offsets.insert((topic, p), offset + 1);
        Ok(())
    }

    /// An insight: its observation goes to its customer's partition of the repartition topic.
    fn route(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        let insight: Insight = match m.payload().map(serde_json::from_slice) {
            Some(Ok(i)) => i,
            Some(Err(e)) => return self.dead_letter(m, "invalid_insight", &e.to_string()),
            None => return self.dead_letter(m, "invalid_insight", "empty message"),
        };
        let mut o = Observation::of(&insight);
        // A source clock far ahead would age out everything and silence the rules for years.
        let now = chrono::Utc::now();
        if o.occurred_at > now + chrono::Duration::days(1) {
            o.occurred_at = now;
        }
        let key = self.links.resolve(&o.account).to_string();
        let payload = codec::encode_command(&Command::Observe(Box::new(o)))
            .map_err(|e| StageError::BadState(key.clone(), e.to_string()))?;
        let p = memory::partition_of(&key, self.partitions);
        let topic = self.topics.repartition.clone();
        self.send(&topic, Some(p), &key, Some(&payload))
    }

    /// A message the stage cannot use: the dead letter topic, as the analysers write it (the
    /// original key and value, `earshot.reason` and the source in headers).
    fn dead_letter(
        &mut self,
        m: &BorrowedMessage<'_>,
        reason: &str,
        why: &str,
    ) -> Result<(), StageError> {
        self.count("invalid");
        let at = crate::insight::SourceRef {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
        };
        let headers = dead_letter_headers(m, &at, reason, why);
        let mut record = BaseRecord::<[u8], [u8]>::to(&self.topics.dead_letters).headers(headers);
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        if let Some(p) = m.payload() {
            record = record.payload(p);
        }
        self.send_record(record)
    }

    /// One record of the identity links topic: a link, an unlink, or a dead letter that says why
    /// it is neither (the links stay as they were).
    fn link_record(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        match memory::parse_link(m.key(), m.payload()) {
            Ok((account, customer)) => self.link(&account, customer.as_deref()),
            Err(e) => {
                tracing::warn!(partition = m.partition(), offset = m.offset(), error = %e, "memory: an identity link is not valid; dead-lettered");
                self.start_batch();
                self.dead_letter(m, "invalid_link", &e.to_string())
            }
        }
    }

    /// A command for one customer of partition `p`.
    fn apply(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        let p = m.partition();
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        let command: Command = match m.payload().map(codec::decode_command) {
            Some(Ok(c)) => c,
            Some(Err(e)) => return self.dead_letter(m, "invalid_command", &e.to_string()),
            None => return self.dead_letter(m, "invalid_command", "empty command"),
        };
        // An account linked after its insight was routed: the observation belongs to the
        // customer, not to a new history of the account's own.
        if let Command::Observe(_) = &command {
            let customer = self.links.resolve(&key).to_string();
            if customer != key {
                let payload = m.payload().unwrap_or_default().to_vec();
                let topic = self.topics.repartition.clone();
                let pc = memory::partition_of(&customer, self.partitions);
                return self.send(&topic, Some(pc), &customer, Some(&payload));
            }
        }
        let (taken, pending) = self.take_state(p, &key)?;
        let (state, applied, raised) = memory::apply(&key, taken, command, &self.cx);
        match applied {
            Applied::Duplicate => {
                self.count("duplicate");
                if pending {
                    // Unchanged, and still this batch's to write.
                    self.dirty.insert((p, key), state);
                }
                return Ok(());
            }
            Applied::Changed => self.count("applied"),
            Applied::Erased => {
                self.count("erased");
                tracing::info!(partition = p, "memory: a customer was erased");
            }
        }
        let output = self.topics.output.clone();
        for c in &raised {
            let payload = serde_json::to_vec(c)
                .map_err(|e| StageError::BadState(key.clone(), e.to_string()))?;
            self.send(&output, None, &key, Some(&payload))?;
            *self.raised.entry(c.kind.as_str()).or_default() += 1;
        }
        self.dirty.insert((p, key), state);
        Ok(())
    }

    /// Applies one identity link; moves the account's own history to its customer when this
    /// instance holds it.
    fn link(&mut self, account_raw: &str, customer_raw: Option<&str>) -> Result<(), StageError> {
        let account = self.privacy.key_of(account_raw);
        let customer = customer_raw.map(|c| self.privacy.key_of(c));
        self.links.set(&account, customer.as_deref());
        if let Some(c) = customer {
            self.migrate(&account, &c)?;
        }
        Ok(())
    }

    /// Sends `account`'s state (if this instance holds it) to `customer`'s partition as a merge,
    /// and deletes it here.
    fn migrate(&mut self, account: &str, customer: &str) -> Result<(), StageError> {
        if account == customer {
            return Ok(());
        }
        let pa = memory::partition_of(account, self.partitions);
        if !self.stores.contains_key(&pa) {
            return Ok(());
        }
        let (state, pending) = self.take_state(pa, account)?;
        let Some(state) = state else {
            if pending {
                self.dirty.insert((pa, account.to_string()), None);
            }
            return Ok(());
        };
        self.start_batch();
        let command = Command::Merge {
            id: memory::merge_id(account, customer),
            state: Box::new(state),
        };
        let payload = codec::encode_command(&command)
            .map_err(|e| StageError::BadState(account.to_string(), e.to_string()))?;
        let topic = self.topics.repartition.clone();
        let pc = memory::partition_of(customer, self.partitions);
        self.send(&topic, Some(pc), customer, Some(&payload))?;
        self.dirty.insert((pa, account.to_string()), None);
        tracing::info!(
            from = pa,
            to = pc,
            "memory: an account's history moves to its linked customer"
        );
        Ok(())
    }

    /// Outputs acknowledged, then the changelog, then the stores, then the offsets.
    /// With nothing pending, commits the consumer's position where it passed the offset committed
    /// last: the marker that ends a transaction of a transactional input arrives after the batch
    /// that was committed, and nothing else would ever commit past it (the group's lag would stay
    /// at one, and a drain never end). Everything before the position was handed out and, nothing
    /// being pending, handled.
    fn commit_markers<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StageError> {
        if self.broken || !self.offsets.is_empty() || !self.dirty.is_empty() {
            return Ok(());
        }
        let Ok(position) = consumer.position() else {
            return Ok(());
        };
        let mut tpl = TopicPartitionList::new();
        for e in position.elements() {
            let key = (e.topic().to_string(), e.partition());
            if let (Offset::Offset(x), Some(&done)) = (e.offset(), self.committed.get(&key)) {
                if x > done {
                    tpl.add_partition_offset(e.topic(), e.partition(), Offset::Offset(x))?;
                }
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        consumer.commit(&tpl, CommitMode::Sync)?;
        for e in tpl.elements() {
            if let Offset::Offset(x) = e.offset() {
                self.committed
                    .insert((e.topic().to_string(), e.partition()), x);
            }
        }
        Ok(())
    }

    fn flush<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), StageError> {
        if self.broken {
            return Err(StageError::Delivery(
                "an earlier flush failed; its batch is not committed".into(),
            ));
        }
        if self.offsets.is_empty() && self.dirty.is_empty() {
            self.batch_started = None;
            return Ok(());
        }
        self.broken = true;
        self.producer.flush(Timeout::After(FLUSH_TIMEOUT))?;
        self.take_delivery_errors()?;
        if let Ok(mut c) = self.deliveries.changelog.lock() {
            c.clear();
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut encoded: HashMap<i32, Vec<Change>> = HashMap::new();
        for ((p, key), state) in dirty {
            let bytes = state
                .as_ref()
                .map(codec::encode_state)
                .transpose()
                .map_err(|e| StageError::BadState(key.clone(), e.to_string()))?;
            encoded.entry(p).or_default().push((key, bytes));
        }
        let changelog = self.topics.changelog.clone();
        for (p, changes) in &encoded {
            for (key, bytes) in changes {
                self.send(&changelog, Some(*p), key, bytes.as_deref())?;
            }
        }
        self.producer.flush(Timeout::After(FLUSH_TIMEOUT))?;
        self.take_delivery_errors()?;
        let acked = self
            .deliveries
            .changelog
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        for (p, changes) in &encoded {
            // A partition revoked in the meantime has no store here: its new owner restores
            // from the changelog just written.
            if let Some(store) = self.stores.get(p) {
                let checkpoint = acked.get(p).map(|o| o + 1);
                store.write(
                    changes.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                    checkpoint,
                )?;
            }
        }
        if !self.offsets.is_empty() {
            // A transactional input ends its transactions with markers that are never handed
            // out: the consumer's position is past them, the last message's offset + 1 is not, and
            // a group that commits the latter would show a lag of one for ever.
            let position = consumer.position().ok();
            let mut tpl = TopicPartitionList::new();
            for ((t, p), o) in &self.offsets {
                let at = position
                    .as_ref()
                    .and_then(|pos| pos.find_partition(t, *p))
                    .and_then(|e| match e.offset() {
                        Offset::Offset(x) if x > *o => Some(x),
                        _ => None,
                    })
                    .unwrap_or(*o);
                tpl.add_partition_offset(t, *p, Offset::Offset(at))?;
            }
            consumer.commit(&tpl, CommitMode::Sync)?;
            for e in tpl.elements() {
                if let Offset::Offset(x) = e.offset() {
                    self.committed
                        .insert((e.topic().to_string(), e.partition()), x);
                }
            }
            self.offsets.clear();
        }
        for (t, n) in self.raised.drain() {
            self.metrics
                .memory_customer_insights
                .with_label_values(&[t])
                .inc_by(n);
        }
        for (r, n) in self.results.drain() {
            self.metrics
                .memory_insights
                .with_label_values(&[r])
                .inc_by(n);
        }
        self.batch_started = None;
        self.broken = false;
        Ok(())
    }

    /// Restores partition `p`'s store from the changelog: from its checkpoint to the end (all of
    /// it for a new store), before any message of `p` is handled. Then moves the history of any
    /// account in it that a link now gives to a customer.
    fn restore(&mut self, p: i32) -> Result<(), StageError> {
        let started = Instant::now();
        let path = store::path_of(&self.state_dir, &self.topics.repartition, p);
        let store = PartitionStore::open(&path)?;
        let topic = self.topics.changelog.clone();
        let (low, high) =
            self.restorer
                .fetch_watermarks(&topic, p, Timeout::After(Duration::from_secs(30)))?;
        let mut from = store.checkpoint()?.unwrap_or(low);
        let stale = store
            .written_at()?
            .is_some_and(|t| now_secs().saturating_sub(t) > STALE_AFTER_SECS);
        if stale {
            // Older than tombstones are kept (delete.retention.ms, a day by default): a delete
            // written meanwhile may be compacted away, so replaying the tail could revive it.
            tracing::info!(
                partition = p,
                "memory: store older than tombstones live; rebuilding it"
            );
            store.clear()?;
            from = low;
        } else if from > high || from < low {
            // The changelog was recreated or truncated under this store: start over from it.
            tracing::warn!(
                partition = p,
                checkpoint = from,
                low,
                high,
                "memory: store does not match its changelog; rebuilding it"
            );
            store.clear()?;
            from = low;
        }
        let mut restored = 0u64;
        if from < high {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, p, Offset::Offset(from))?;
            self.restorer.assign(&tpl)?;
            let mut batch: Vec<Change> = Vec::new();
            let mut next = from;
            while next < high {
                if started.elapsed() > RESTORE_TIMEOUT {
                    return Err(StageError::RestoreTimeout(p, RESTORE_TIMEOUT));
                }
                match self.restorer.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) => {
                        next = m.offset() + 1;
                        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                        batch.push((key, m.payload().map(<[u8]>::to_vec)));
                        restored += 1;
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => {
                        // Compaction may leave no record at the very end: ask where we are.
                        if let Ok(pos) = self.restorer.position() {
                            if let Some(Offset::Offset(o)) =
                                pos.find_partition(&topic, p).map(|e| e.offset())
                            {
                                next = next.max(o);
                            }
                        }
                    }
                }
                if next >= high {
                    store.write(
                        batch.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                        Some(next),
                    )?;
                    batch.clear();
                } else if batch.len() >= RESTORE_BATCH {
                    store.write_lazily(
                        batch.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                        Some(next),
                    )?;
                    batch.clear();
                }
            }
            self.restorer.unassign()?;
        }
        self.stores.insert(p, store);
        let took = started.elapsed();
        self.metrics.memory_restore.observe(took.as_secs_f64());
        self.metrics.memory_restored_records.inc_by(restored);
        tracing::info!(
            partition = p,
            records = restored,
            seconds = took.as_secs_f64(),
            "memory: partition restored from the changelog"
        );
        let linked: Vec<(String, String)> = self
            .links
            .iter()
            .filter(|(a, _)| memory::partition_of(a, self.partitions) == p)
            .map(|(a, c)| (a.to_string(), c.to_string()))
            .collect();
        for (a, c) in linked {
            self.migrate(&a, &c)?;
        }
        Ok(())
    }
}

/// Creates a topic if it does not exist.
fn ensure_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    compact: bool,
) -> Result<(), StageError> {
    let mut t = NewTopic::new(name, partitions, TopicReplication::Fixed(-1));
    if compact {
        t = t.set("cleanup.policy", "compact");
    }
    let results = futures::executor::block_on(admin.create_topics([&t], &AdminOptions::new()))?;
    for r in results {
        match r {
            Ok(_) => tracing::info!(topic = name, partitions, "memory: topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => {
                return Err(StageError::Kafka(KafkaError::AdminOp(code))).inspect_err(|_| {
                    tracing::error!(topic = t, "memory: could not create topic");
                })
            }
        }
    }
    Ok(())
}

/// Partitions of a topic, from the broker's metadata. A topic created a moment ago (by this
/// instance or another one starting with it) may take a few seconds to appear: asked again for up
/// to ten seconds.
fn partition_count<C: rdkafka::consumer::ConsumerContext>(
    c: &BaseConsumer<C>,
    topic: &str,
) -> Result<i32, StageError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let md = c.fetch_metadata(Some(topic), Timeout::After(Duration::from_secs(30)))?;
        let found = md
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.partitions().len() as i32);
        match found {
            Some(n) => return Ok(n),
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            None => return Err(StageError::NoTopic(topic.to_string())),
        }
    }
}

/// Reads the identity links topic from the beginning to its end.
fn read_links<C: ConsumerContext>(
    links: &BaseConsumer<C>,
    topic: &str,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> Result<(), StageError>,
) -> Result<(), StageError> {
    let n = partition_count(links, topic)?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in 0..n {
        let (low, high) =
            links.fetch_watermarks(topic, p, Timeout::After(Duration::from_secs(30)))?;
        tpl.add_partition_offset(topic, p, Offset::Offset(low))?;
        if high > low {
            ends.insert(p, high);
        }
    }
    links.assign(&tpl)?;
    let deadline = Instant::now() + RESTORE_TIMEOUT;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(StageError::RestoreTimeout(-1, RESTORE_TIMEOUT));
        }
        match links.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                each(&m)?;
                if ends
                    .get(&m.partition())
                    .is_some_and(|h| m.offset() + 1 >= *h)
                {
                    ends.remove(&m.partition());
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => {
                if let Ok(pos) = links.position() {
                    ends.retain(|p, h| {
                        !matches!(
                            pos.find_partition(topic, *p).map(|e| e.offset()),
                            Some(Offset::Offset(o)) if o >= *h
                        )
                    });
                }
            }
        }
    }
    Ok(())
}

/// Runs the memory stage until `shutdown` is cancelled or it fails.
pub fn run(
    config: &Config,
    catalog: &Catalog,
    privacy: Privacy,
    metrics: Metrics,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), StageError> {
    let m = &config.memory;
    let k = &config.kafka;
    let topics = Topics {
        input: m
            .input_topic
            .clone()
            .unwrap_or_else(|| k.output_topic.clone()),
        links: m.links_topic.clone(),
        repartition: m.repartition_topic.clone(),
        changelog: m.changelog_topic.clone(),
        output: m.output_topic.clone(),
        dead_letters: k.dead_letter_topic.clone(),
    };
    let group = format!("{}-memory", k.group_id);
    let callbacks = Callbacks::new();
    let (errors, fatal) = (callbacks.errors.clone(), callbacks.fatal.clone());
    let mut plain = plain_consumer_config(k);
    // A restore reads a partition end to end: large fetches (the defaults fetch 1 MB at a time).
    plain
        .set("group.id", format!("{group}-restore"))
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("queued.max.messages.kbytes", "262144");
    let restorer: BaseConsumer<ClientCtx> = plain.create_with_context(callbacks.ctx("consumer"))?;
    let admin: AdminClient<DefaultClientContext> = {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &k.brokers);
        for (key, v) in &k.consumer {
            if key.starts_with("sasl") || key.starts_with("ssl") || key == "security.protocol" {
                c.set(key, v);
            }
        }
        c.create()?
    };
    // The input's partition count sets the repartition and changelog topics' (co-partitioned).
    let partitions = partition_count(&restorer, &topics.input)?;
    ensure_topic(&admin, &topics.repartition, partitions, false)?;
    ensure_topic(&admin, &topics.changelog, partitions, true)?;
    ensure_topic(&admin, &topics.links, 1, true)?;
    ensure_topic(&admin, &topics.output, partitions, false)?;
    let partitions = partition_count(&restorer, &topics.repartition)?;

    let deliveries = Arc::new(Deliveries::default());
    let producer: BaseProducer<DeliveryCtx> = producer_config(k, Guarantee::AtLeastOnce)
        .create_with_context(DeliveryCtx {
            changelog_topic: topics.changelog.clone(),
            seen: deliveries.clone(),
            client: callbacks.ctx("producer"),
        })?;
    health
        .producer_up
        .store(true, std::sync::atomic::Ordering::Relaxed);

    let stage = Arc::new(Mutex::new(Stage {
        topics: topics.clone(),
        partitions,
        state_dir: m.state_dir.clone(),
        commit_interval: Duration::from_millis(m.commit_interval_ms.max(1)),
        cx: memory::Context {
            policy: m.policy.clone(),
            offerings: memory::Offerings::of(catalog),
        },
        privacy,
        producer,
        deliveries,
        restorer,
        errors: errors.clone(),
        links: Links::default(),
        stores: HashMap::new(),
        dirty: HashMap::new(),
        offsets: BTreeMap::new(),
        committed: BTreeMap::new(),
        raised: HashMap::new(),
        results: HashMap::new(),
        batch_started: None,
        metrics,
        health: health.clone(),
        failed: None,
        broken: false,
    }));

    // The whole identity table before the first insight.
    let mut links_config = plain_consumer_config(k);
    links_config.set("group.id", format!("{group}-links"));
    let links: BaseConsumer<ClientCtx> =
        links_config.create_with_context(callbacks.ctx("consumer"))?;
    {
        let mut s = lock(&stage);
        read_links(&links, &topics.links, |m| s.link_record(m))?;
        tracing::info!(links = s.links.len(), "memory: identity links loaded");
    }

    let mut main = consumer_config(k, Guarantee::ExactlyOnce);
    // Range assignment gives partition i of the input and of the repartition topic to the same
    // member (co-partitioned, as Kafka Streams assigns), so the instances split the customers
    // and not only the routing.
    main.set("group.id", &group)
        .set("partition.assignment.strategy", "range")
        // A partition of the repartition topic with no commit yet holds records that must be
        // read: never start it at the end.
        .set("auto.offset.reset", "earliest")
        // A restore runs inside the rebalance callback; the member must not be dropped meanwhile.
        .set("max.poll.interval.ms", "900000");
    let consumer: BaseConsumer<StageCtx> = main.create_with_context(StageCtx {
        stage: stage.clone(),
        client: callbacks.ctx("consumer"),
    })?;
    consumer.subscribe(&[&topics.input, &topics.repartition])?;
    tracing::info!(
        input = %topics.input,
        repartition = %topics.repartition,
        changelog = %topics.changelog,
        output = %topics.output,
        partitions,
        "memory stage running"
    );

    let result = (|| -> Result<(), StageError> {
        let mut markers_checked = Instant::now();
        while !shutdown.is_cancelled() {
            // A fenced static member or a failed producer does not come back: stop, and let the
            // orchestrator start a new process (a zombie holding no partitions helps nobody).
            if fatal.is_cancelled() {
                return Err(StageError::Fatal);
            }
            let polled = consumer.poll(Duration::from_millis(50));
            let mut s = lock(&stage);
            if let Some(e) = s.failed.take() {
                return Err(e);
            }
            match polled {
                Some(Ok(msg)) => s.handle(&msg)?,
                Some(Err(e)) if is_fatal(&e) => return Err(e.into()),
                Some(Err(e)) => s.errors.warn_kafka("memory: consumer error", &e),
                None => {}
            }
            while let Some(r) = links.poll(Duration::ZERO) {
                match r {
                    Ok(m) => s.link_record(&m)?,
                    Err(e) if is_fatal(&e) => return Err(e.into()),
                    Err(e) => {
                        // A broker away for a moment: the links are read on when it is back.
                        s.errors
                            .warn_kafka("memory: identity links consumer error", &e);
                        break;
                    }
                }
            }
            if s.batch_started
                .is_some_and(|t| t.elapsed() >= s.commit_interval)
            {
                s.flush(&consumer)?;
            } else if s.batch_started.is_none() && markers_checked.elapsed() >= s.commit_interval {
                markers_checked = Instant::now();
                s.commit_markers(&consumer)?;
            }
            s.producer.poll(Duration::ZERO);
        }
        lock(&stage).flush(&consumer)
    })();
    if let Err(e) = &result {
        health.fail(e.to_string());
    }
    consumer.unsubscribe();
    result
}

/// The settings of a consumer that is assigned partitions by hand and joins no group: the
/// configured ones without a static member id (one member id belongs to one group member).
fn plain_consumer_config(k: &crate::config::KafkaConfig) -> ClientConfig {
    let mut c = consumer_config(k, Guarantee::ExactlyOnce);
    c.remove("group.instance.id");
    c
}

fn lock(stage: &Arc<Mutex<Stage>>) -> std::sync::MutexGuard<'_, Stage> {
    // A panic while holding the lock is a bug; carry on with the state as it is.
    stage.lock().unwrap_or_else(|p| p.into_inner())
}

/// Erases a customer: an erasure command to the customer's partition (the owner deletes the state
/// and writes a tombstone to the changelog) and a tombstone for every identity link to them.
/// Returns the accounts unlinked.
pub fn forget(config: &Config, privacy: &Privacy, customer: &str) -> Result<usize, StageError> {
    let m = &config.memory;
    let k = &config.kafka;
    let mut plain = plain_consumer_config(k);
    plain.set("group.id", format!("{}-memory-forget", k.group_id));
    let reader: BaseConsumer = plain.create()?;
    let partitions = partition_count(&reader, &m.repartition_topic)?;
    let mut accounts = Vec::new();
    read_links(&reader, &m.links_topic, |r| {
        // A record that is not a valid link changed nothing (the stage dead-letters it).
        match memory::parse_link(r.key(), r.payload()) {
            Ok((a, Some(c))) if c == customer => {
                accounts.retain(|x| *x != a);
                accounts.push(a);
            }
            Ok((a, _)) => accounts.retain(|x| *x != a),
            Err(_) => {}
        }
        Ok(())
    })?;
    let seen = Arc::new(Deliveries::default());
    let producer: BaseProducer<DeliveryCtx> = producer_config(k, Guarantee::AtLeastOnce)
        .create_with_context(DeliveryCtx {
            changelog_topic: String::new(),
            seen: seen.clone(),
            client: Callbacks::new().ctx("producer"),
        })?;
    let key = privacy.key_of(customer);
    let payload = codec::encode_command(&Command::Forget)
        .map_err(|e| StageError::BadState(key.clone(), e.to_string()))?;
    let p = memory::partition_of(&key, partitions);
    producer
        .send(
            BaseRecord::to(&m.repartition_topic)
                .key(&key)
                .payload(&payload)
                .partition(p),
        )
        .map_err(|(e, _)| e)?;
    for a in &accounts {
        producer
            .send(BaseRecord::<str, [u8]>::to(&m.links_topic).key(a.as_str()))
            .map_err(|(e, _)| e)?;
        // And any history the account still has of its own.
        let ak = privacy.key_of(a);
        producer
            .send(
                BaseRecord::to(&m.repartition_topic)
                    .key(&ak)
                    .payload(&payload)
                    .partition(memory::partition_of(&ak, partitions)),
            )
            .map_err(|(e, _)| e)?;
    }
    producer.flush(Timeout::After(FLUSH_TIMEOUT))?;
    // Acknowledged, or an error: an erasure is never reported done when it was not.
    let errors = seen.errors.lock().map(|e| e.clone()).unwrap_or_default();
    if let Some(first) = errors.first() {
        return Err(StageError::Delivery(first.clone()));
    }
    Ok(accounts.len())
}
