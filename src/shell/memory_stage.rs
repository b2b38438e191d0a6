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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::BaseRecord;
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::config::{Config, Guarantee};
use crate::insight::Insight;
use crate::memory::{self, codec, Applied, Command, CustomerState, Links, Observation};
use crate::privacy::Privacy;
use crate::shell::client::{Callbacks, ClientCtx};
use crate::shell::kafka::{dead_letter_headers, producer_config};
use crate::shell::member::{self, Common, Partitioned};
use crate::shell::metrics::Metrics;
use crate::shell::stage::{
    self, catch_up, ensure_topic, lock, partition_count, plain_consumer_config, read_all, Change,
    Offsets, Sink,
};
use crate::shell::store::PartitionStore;
use crate::shell::Health;

pub use crate::shell::stage::StageError;

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
    sink: Sink,
    restorer: BaseConsumer<ClientCtx>,
    links: Links,
    stores: HashMap<i32, PartitionStore>,
    /// Changed states since the last flush (`None`: deleted), by partition and key.
    dirty: HashMap<(i32, String), Option<CustomerState>>,
    offsets: Offsets,
    /// Customer insights produced since the last flush, by type (counted once acknowledged).
    raised: HashMap<&'static str, u64>,
    results: HashMap<&'static str, u64>,
    batch_started: Option<Instant>,
    common: Common,
    /// A flush started and did not finish: what the batch holds may not have reached Kafka, so
    /// nothing of it may be committed (not even by the revoke that closing the consumer runs).
    broken: bool,
}

impl Partitioned for Stage {
    const NAME: &'static str = "memory";
    fn repartition(&self) -> &str {
        &self.topics.repartition
    }
    fn holds(&self, p: i32) -> bool {
        self.stores.contains_key(&p)
    }
    fn holds_none(&self) -> bool {
        self.stores.is_empty()
    }
    fn restore_partition(&mut self, p: i32) -> Result<(), StageError> {
        self.restore(p)
    }
    fn release(&mut self, p: i32) {
        self.stores.remove(&p);
    }
    fn flush_all<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StageError> {
        self.flush(consumer)
    }
    fn handle_message(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        self.handle(m)
    }
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }
}

impl Stage {
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
        let topic = m.topic();
        if topic == self.topics.input {
            self.route(m)?;
        } else if topic == self.topics.repartition {
            self.apply(m)?;
        }
        self.offsets.handled(m);
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
        self.sink.send(&topic, Some(p), &key, Some(&payload))
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
        self.sink.send_record(record)
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
                return self.sink.send(&topic, Some(pc), &customer, Some(&payload));
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
            self.sink.send(&output, None, &key, Some(&payload))?;
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
        self.sink.send(&topic, Some(pc), customer, Some(&payload))?;
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
        if self.broken || !self.dirty.is_empty() {
            return Ok(());
        }
        self.offsets.commit_markers(consumer)
    }

    fn flush<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), StageError> {
        if self.broken {
            return Err(StageError::Delivery(
                "an earlier flush failed; its batch is not committed".into(),
            ));
        }
        if self.offsets.pending.is_empty() && self.dirty.is_empty() {
            self.batch_started = None;
            return Ok(());
        }
        self.broken = true;
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
        let stores = &self.stores;
        self.sink
            .write_changes(&self.topics.changelog, &encoded, |p| stores.get(&p))?;
        self.offsets.commit(consumer)?;
        for (t, n) in self.raised.drain() {
            self.common
                .metrics
                .memory_customer_insights
                .with_label_values(&[t])
                .inc_by(n);
        }
        for (r, n) in self.results.drain() {
            self.common
                .metrics
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
        let store = stage::open_store(&self.state_dir, &self.topics.repartition, p)?;
        let restored = catch_up(&self.restorer, &store, &self.topics.changelog, p)?;
        self.stores.insert(p, store);
        let took = started.elapsed();
        self.common
            .metrics
            .memory_restore
            .observe(took.as_secs_f64());
        self.common.metrics.memory_restored_records.inc_by(restored);
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
    let restorer: BaseConsumer<ClientCtx> =
        stage::restorer_config(k, &group).create_with_context(callbacks.ctx("consumer"))?;
    let admin = stage::admin(k)?;
    // The input's partition count sets the repartition and changelog topics' (co-partitioned).
    let partitions = partition_count(&restorer, &topics.input)?;
    let compact = [("cleanup.policy", "compact")];
    ensure_topic(&admin, &topics.repartition, partitions, &[])?;
    ensure_topic(&admin, &topics.changelog, partitions, &compact)?;
    ensure_topic(&admin, &topics.links, 1, &compact)?;
    ensure_topic(&admin, &topics.output, partitions, &[])?;
    let partitions = partition_count(&restorer, &topics.repartition)?;

    let sink = Sink::new(
        &producer_config(k, Guarantee::AtLeastOnce),
        &topics.changelog,
        callbacks.ctx("producer"),
    )?;
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
        sink,
        restorer,
        links: Links::default(),
        stores: HashMap::new(),
        dirty: HashMap::new(),
        offsets: Offsets::default(),
        raised: HashMap::new(),
        results: HashMap::new(),
        batch_started: None,
        common: Common {
            errors: errors.clone(),
            metrics,
            health: health.clone(),
            failed: None,
        },
        broken: false,
    }));

    // The whole identity table before the first insight.
    let links = member::table(
        k,
        &group,
        "links",
        callbacks.ctx("consumer"),
        &topics.links,
        &stage,
        Stage::link_record,
    )?;
    tracing::info!(
        links = lock(&stage).links.len(),
        "memory: identity links loaded"
    );

    let consumer = member::member(
        k,
        &group,
        &stage,
        callbacks.ctx("consumer"),
        &[&topics.input, &topics.repartition],
    )?;
    tracing::info!(
        input = %topics.input,
        repartition = %topics.repartition,
        changelog = %topics.changelog,
        output = %topics.output,
        partitions,
        "memory stage running"
    );

    let mut markers_checked = Instant::now();
    member::run(&consumer, &stage, &fatal, &shutdown, |s, consumer| {
        // A broker away for a moment: the links are read on when it is back.
        stage::follow(
            &links,
            &errors,
            "memory: identity links consumer error",
            |m| s.link_record(m),
        )?;
        if s.batch_started
            .is_some_and(|t| t.elapsed() >= s.commit_interval)
        {
            s.flush(consumer)?;
        } else if s.batch_started.is_none() && markers_checked.elapsed() >= s.commit_interval {
            markers_checked = Instant::now();
            s.commit_markers(consumer)?;
        }
        s.sink.producer.poll(Duration::ZERO);
        Ok(())
    })
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
    read_all(&reader, &m.links_topic, |r| {
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
    let sink = Sink::new(
        &producer_config(k, Guarantee::AtLeastOnce),
        "",
        Callbacks::new().ctx("producer"),
    )?;
    let producer = &sink.producer;
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
    // Acknowledged, or an error: an erasure is never reported done when it was not.
    sink.flush()?;
    Ok(accounts.len())
}
