//! What the stateful stages (`earshot run --role memory`, `--role market`) share: their errors,
//! the producer whose acknowledgements they wait for, the offsets they commit, topics made on
//! start, global tables read whole, and a partition's store caught up from its changelog.
//!
//! Every stage keeps the same order in a batch: outputs acknowledged, then the changed state in
//! the changelog (acknowledged), then the store with its checkpoint, then the input offsets. A
//! crash anywhere redelivers what was not committed, onto a state that may already hold it: each
//! stage's state says what it took, so a redelivery changes it once.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::util::Timeout;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::config::{Guarantee, KafkaConfig};
use crate::shell::client::{client_context_via_field, ClientCtx};
use crate::shell::kafka::consumer_config;
use crate::shell::store::{PartitionStore, StoreError};

/// How long a flush waits for the broker's acknowledgements.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a restore may take before the stage gives up.
pub const RESTORE_TIMEOUT: Duration = Duration::from_secs(600);
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

/// A key's new value, encoded (`None`: deleted).
pub type Change = (String, Option<Vec<u8>>);

/// Why a stage stopped.
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
pub struct Deliveries {
    errors: Mutex<Vec<String>>,
    /// Highest acknowledged changelog offset per partition.
    changelog: Mutex<HashMap<i32, i64>>,
}

/// The producer's context: delivery errors, and the changelog's acknowledged offsets.
pub struct DeliveryCtx {
    changelog_topic: String,
    seen: Arc<Deliveries>,
    client: ClientCtx,
}

client_context_via_field!(DeliveryCtx);

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

/// A stage's producer: every record it sends is acknowledged, or the stage fails.
pub struct Sink {
    pub producer: BaseProducer<DeliveryCtx>,
    deliveries: Arc<Deliveries>,
}

impl Sink {
    /// A producer whose acknowledgements of `changelog_topic` are kept per partition.
    pub fn new(
        config: &ClientConfig,
        changelog_topic: &str,
        client: ClientCtx,
    ) -> Result<Sink, StageError> {
        let deliveries = Arc::new(Deliveries::default());
        let producer = config.create_with_context(DeliveryCtx {
            changelog_topic: changelog_topic.to_string(),
            seen: deliveries.clone(),
            client,
        })?;
        Ok(Sink {
            producer,
            deliveries,
        })
    }

    /// Queues a record with a text key.
    pub fn send(
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

    /// Queues a record, waiting while the producer's queue is full, for at most
    /// [`FLUSH_TIMEOUT`]: a queue that does not drain in that long will not (the producer cannot
    /// deliver), and a stage that waited on forever would never see its shutdown either.
    pub fn send_record<K, P>(&self, record: BaseRecord<'_, K, P>) -> Result<(), StageError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        self.send_within(record, FLUSH_TIMEOUT)
    }

    fn send_within<K, P>(
        &self,
        mut record: BaseRecord<'_, K, P>,
        limit: Duration,
    ) -> Result<(), StageError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        let started = Instant::now();
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    if started.elapsed() >= limit {
                        return Err(StageError::Delivery(format!(
                            "the producer's queue stayed full for {limit:?}: nothing is being delivered"
                        )));
                    }
                    record = r;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }

    /// Waits until everything sent is acknowledged; an error if anything was refused.
    pub fn flush(&self) -> Result<(), StageError> {
        self.producer.flush(Timeout::After(FLUSH_TIMEOUT))?;
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

    /// Forgets the changelog offsets acknowledged so far.
    pub fn clear_acked(&self) {
        if let Ok(mut c) = self.deliveries.changelog.lock() {
            c.clear();
        }
    }

    /// The highest changelog offset acknowledged per partition since [`Sink::clear_acked`].
    pub fn acked(&self) -> HashMap<i32, i64> {
        self.deliveries
            .changelog
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Outputs first, then `changes` in the changelog (partition by partition, acknowledged), then
    /// the stores of the partitions still held, each with the changelog offset it is at.
    pub fn write_changes<'a>(
        &self,
        changelog: &str,
        changes: &HashMap<i32, Vec<Change>>,
        store_of: impl Fn(i32) -> Option<&'a PartitionStore>,
    ) -> Result<(), StageError> {
        self.flush()?;
        self.clear_acked();
        for (p, list) in changes {
            for (key, bytes) in list {
                self.send(changelog, Some(*p), key, bytes.as_deref())?;
            }
        }
        self.flush()?;
        let acked = self.acked();
        for (p, list) in changes {
            // A partition revoked in the meantime has no store here: its new owner restores
            // from the changelog just written.
            if let Some(store) = store_of(*p) {
                let checkpoint = acked.get(p).map(|o| o + 1);
                store.write(
                    list.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                    checkpoint,
                )?;
            }
        }
        Ok(())
    }
}

/// The input offsets of a stage: those handled since the last commit, and those committed.
#[derive(Default)]
pub struct Offsets {
    /// Next offsets to commit, by topic and partition.
    pub pending: BTreeMap<(String, i32), i64>,
    /// Offsets this instance committed last, by topic and partition.
    committed: BTreeMap<(String, i32), i64>,
}

impl Offsets {
    /// A message handled: its offset is committed with the next batch.
    pub fn handled(&mut self, m: &BorrowedMessage<'_>) {
        self.pending
            .insert((m.topic().to_string(), m.partition()), m.offset() + 1);
    }

    /// Commits the pending offsets (where the consumer's position is further, that: a
    /// transactional input ends its transactions with markers that are never handed out, and a
    /// group that commits the last message's offset + 1 would show a lag of one for ever).
    pub fn commit<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let position = consumer.position().ok();
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in &self.pending {
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
        commit_retrying(consumer, &tpl)?;
        self.note(&tpl);
        self.pending.clear();
        Ok(())
    }

    fn note(&mut self, tpl: &TopicPartitionList) {
        for e in tpl.elements() {
            if let Offset::Offset(x) = e.offset() {
                self.committed
                    .insert((e.topic().to_string(), e.partition()), x);
            }
        }
    }

    /// With nothing pending (the caller says), commits the consumer's position where it passed
    /// the offset committed last: the marker that ends a transaction of a transactional input
    /// arrives after the batch that was committed, and nothing else would ever commit past it
    /// (the group's lag would stay at one, and a drain never end). Everything before the position
    /// was handed out and, nothing being pending, handled.
    pub fn commit_markers<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StageError> {
        if !self.pending.is_empty() {
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
        commit_retrying(consumer, &tpl)?;
        self.note(&tpl);
        Ok(())
    }
}

/// Commits offsets, asking again for up to ten seconds while the group coordinator is moving or
/// loading (a broker restart): those errors pass, and a stage that stopped on them would redo its
/// batch for nothing. Any other error is the caller's.
fn commit_retrying<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    tpl: &TopicPartitionList,
) -> Result<(), StageError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match consumer.commit(tpl, CommitMode::Sync) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() < deadline && passes(&e) => {
                tracing::debug!(error = %e, "commit: coordinator not ready; asking again");
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A commit error that passes by itself.
fn passes(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::BrokerTransportFailure
        )
    )
}

/// An admin client with the configured brokers and security settings.
pub fn admin(k: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>, StageError> {
    Ok(super::kafka::admin_config(k).create()?)
}

/// Creates a topic if it does not exist, with `settings` (topic configuration).
pub fn ensure_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    settings: &[(&str, &str)],
) -> Result<(), StageError> {
    let mut t = NewTopic::new(name, partitions, TopicReplication::Fixed(-1));
    for (k, v) in settings {
        t = t.set(k, v);
    }
    let results = futures::executor::block_on(admin.create_topics([&t], &AdminOptions::new()))?;
    for r in results {
        match r {
            Ok(_) => tracing::info!(topic = name, partitions, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => {
                return Err(StageError::Kafka(KafkaError::AdminOp(code))).inspect_err(|_| {
                    tracing::error!(topic = t, "could not create topic");
                })
            }
        }
    }
    Ok(())
}

/// Partitions of a topic, from the broker's metadata. A topic created a moment ago (by this
/// instance or another one starting with it) may take a few seconds to appear: asked again for up
/// to ten seconds.
pub fn partition_count<C: ConsumerContext>(
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

/// A partition's low and high offsets. A topic created a moment ago may have no leader yet: asked
/// again for up to ten seconds.
pub fn watermarks<C: ConsumerContext>(
    c: &BaseConsumer<C>,
    topic: &str,
    p: i32,
) -> Result<(i64, i64), StageError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.fetch_watermarks(topic, p, Timeout::After(Duration::from_secs(30))) {
            Ok(w) => return Ok(w),
            Err(e) if Instant::now() < deadline && !crate::shell::client::is_fatal(&e) => {
                tracing::debug!(topic, partition = p, error = %e, "watermarks not yet known");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads a whole topic (a global table: every partition) from the beginning to its end, and
/// leaves the consumer assigned there to follow it.
pub fn read_all<C: ConsumerContext>(
    reader: &BaseConsumer<C>,
    topic: &str,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> Result<(), StageError>,
) -> Result<(), StageError> {
    let n = partition_count(reader, topic)?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in 0..n {
        let (low, high) = watermarks(reader, topic, p)?;
        tpl.add_partition_offset(topic, p, Offset::Offset(low))?;
        if high > low {
            ends.insert(p, high);
        }
    }
    reader.assign(&tpl)?;
    let deadline = Instant::now() + RESTORE_TIMEOUT;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(StageError::RestoreTimeout(-1, RESTORE_TIMEOUT));
        }
        match reader.poll(Duration::from_millis(200)) {
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
                if let Ok(pos) = reader.position() {
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

/// Hands `each` every record a global table's follower (left assigned by [`read_all`]) has now.
/// A passing error is said once an interval and the table is read on when the broker is back.
pub fn follow<C: ConsumerContext>(
    reader: &BaseConsumer<C>,
    errors: &crate::shell::client::ErrorLog,
    what: &str,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> Result<(), StageError>,
) -> Result<(), StageError> {
    while let Some(r) = reader.poll(Duration::ZERO) {
        match r {
            Ok(m) => each(&m)?,
            Err(e) if crate::shell::client::is_fatal(&e) => return Err(e.into()),
            Err(e) => {
                errors.warn_kafka(what, &e);
                break;
            }
        }
    }
    Ok(())
}

/// Catches partition `p`'s store up with the changelog: from its checkpoint to the end (all of it
/// for a new store, or one older than tombstones live, or one that does not match the changelog).
/// Returns the records read.
pub fn catch_up<C: ConsumerContext>(
    restorer: &BaseConsumer<C>,
    store: &PartitionStore,
    changelog: &str,
    p: i32,
) -> Result<u64, StageError> {
    let started = Instant::now();
    let (low, high) = watermarks(restorer, changelog, p)?;
    let mut from = store.checkpoint()?.unwrap_or(low);
    let stale = store
        .written_at()?
        .is_some_and(|t| now_secs().saturating_sub(t) > STALE_AFTER_SECS);
    if stale {
        // Older than tombstones are kept (delete.retention.ms, a day by default): a delete
        // written meanwhile may be compacted away, so replaying the tail could revive it.
        tracing::info!(
            partition = p,
            changelog,
            "store older than tombstones live; rebuilding it"
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
            changelog,
            "store does not match its changelog; rebuilding it"
        );
        store.clear()?;
        from = low;
    }
    let mut restored = 0u64;
    if from < high {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(changelog, p, Offset::Offset(from))?;
        restorer.assign(&tpl)?;
        let mut batch: Vec<Change> = Vec::new();
        let mut next = from;
        while next < high {
            if started.elapsed() > RESTORE_TIMEOUT {
                return Err(StageError::RestoreTimeout(p, RESTORE_TIMEOUT));
            }
            match restorer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    next = m.offset() + 1;
                    let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                    batch.push((key, m.payload().map(<[u8]>::to_vec)));
                    restored += 1;
                }
                Some(Err(e)) => return Err(e.into()),
                None => {
                    // Compaction may leave no record at the very end: ask where we are.
                    if let Ok(pos) = restorer.position() {
                        if let Some(Offset::Offset(o)) =
                            pos.find_partition(changelog, p).map(|e| e.offset())
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
        restorer.unassign()?;
    }
    Ok(restored)
}

/// Opens partition `p`'s store of `topic` under `dir`.
pub fn open_store(dir: &Path, topic: &str, p: i32) -> Result<PartitionStore, StageError> {
    Ok(PartitionStore::open(&crate::shell::store::path_of(
        dir, topic, p,
    ))?)
}

/// The settings of a consumer that is assigned partitions by hand and joins no group: the
/// configured ones without a static member id (one member id belongs to one group member).
pub fn plain_consumer_config(k: &KafkaConfig) -> ClientConfig {
    let mut c = consumer_config(k, Guarantee::ExactlyOnce);
    c.remove("group.instance.id");
    c
}

/// The consumer of a stage's group, which reads its input and its repartition topic.
pub fn member_config(k: &KafkaConfig, group: &str) -> ClientConfig {
    let mut c = consumer_config(k, Guarantee::ExactlyOnce);
    // Range assignment gives partition i of the input and of the repartition topic to the same
    // member (co-partitioned, as Kafka Streams assigns), so the instances split the keyed work
    // and not only the routing.
    c.set("group.id", group)
        .set("partition.assignment.strategy", "range")
        // A partition of the repartition topic with no commit yet holds records that must be
        // read: never start it at the end.
        .set("auto.offset.reset", "earliest")
        // A restore runs inside the rebalance callback; the member must not be dropped meanwhile.
        .set("max.poll.interval.ms", "900000");
    c
}

/// A restorer: a plain consumer with large fetches (a restore reads a partition end to end; the
/// defaults fetch 1 MB at a time).
pub fn restorer_config(k: &KafkaConfig, group: &str) -> ClientConfig {
    let mut c = plain_consumer_config(k);
    c.set("group.id", format!("{group}-restore"))
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("queued.max.messages.kbytes", "262144");
    c
}

/// Locks a stage shared with its rebalance callbacks.
pub fn lock<T>(stage: &Arc<Mutex<T>>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock is a bug; carry on with the state as it is.
    stage.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_that_stays_full_is_an_error_not_a_hang() {
        // A fault injected without a broker: room for one record and nowhere to deliver it.
        let mut config = rdkafka::ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("queue.buffering.max.messages", "1");
        let sink = Sink::new(
            &config,
            "earshot-test-changelog",
            crate::shell::client::Callbacks::new().ctx("producer"),
        )
        .expect("producer");
        sink.send("earshot-test", None, "k", Some(b"1"))
            .expect("room for one");
        let record = BaseRecord::<str, [u8]>::to("earshot-test")
            .key("k")
            .payload(&b"2"[..]);
        match sink.send_within(record, Duration::from_millis(200)) {
            Err(StageError::Delivery(why)) => assert!(why.contains("stayed full"), "{why}"),
            other => panic!("expected a delivery error, got {other:?}"),
        }
    }
}
