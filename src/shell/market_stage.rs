//! The market stage (`earshot run --role market`): insights in, trend and alert events out, with
//! each brand's windows kept the Kafka Streams way.
//!
//! ```text
//! insights (keyed by party) ──route: one reading per brand──▶ repartition topic, keyed by brand
//! repartition partition p ──▶ Shard of p (a Market per brand; redb store, changelog partition p)
//!                         ──▶ trends, alerts; each brand window's volume ──▶ volumes topic
//! volumes topic (compacted, read whole by every instance) ──▶ every other brand's Market
//! ```
//!
//! * **Scaled out by the group.** The input and repartition topics are co-partitioned (range
//!   assignment), so the instances split the routing and the brands. Windows, themes and alerts
//!   only ever read one brand; share of voice, which reads every brand of a window, comes from the
//!   volumes topic, a global table: a brand window already emitted goes out again (the next
//!   revision) at the next tick when other brands' volumes of that window changed. A reader keeps
//!   the last event of a `window_id` (a brand's events share a partition); it is the same whether
//!   one instance runs or three, as long as no reading comes later than `allowed_lateness`
//!   (whether one does depends on how the partitions interleave).
//! * **State** moves with its partition: on assignment the partition's store is caught up from the
//!   changelog before any reading of it is handled.
//! * **Counted once.** Each batch (every `market_stage.commit_interval_ms`) flushes the readings,
//!   trends, alerts and volumes, then writes every changed brand to the changelog, then the store
//!   with its checkpoint, and only then commits the input offsets. A brand's state keeps the last
//!   insight offset it took per insight partition, so a redelivered reading (after a crash of this
//!   stage, or of the router before its commit) changes nothing. A trend or alert sent before a
//!   crash may be sent again, with the same id.
//!
//! The loop runs on a thread of its own with librdkafka's blocking clients.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::BaseRecord;
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Guarantee};
use crate::insight::Insight;
use crate::market::heard::Stems;
use crate::market::shard::{self, Reading, Shard, Taken, Volumes};
use crate::market::{Dimension, Output, Policy};
use crate::shell::client::{Callbacks, ClientCtx};
use crate::shell::kafka::{dead_letter_headers, producer_config};
use crate::shell::member::{self, Common, Partitioned};
use crate::shell::metrics::Metrics;
use crate::shell::stage::{
    self, catch_up, ensure_topic, lock, partition_count, Change, Offsets, Sink, StageError,
};
use crate::shell::store::PartitionStore;
use crate::shell::Health;

/// A brand's state may be large (its open windows keep up to 512 messages' theme phrases each):
/// the changelog and the producer take values up to this size.
const MAX_VALUE_BYTES: &str = "16777216";
const MAX_VALUE: usize = 16_777_216;

/// The topics of the stage.
#[derive(Debug, Clone)]
struct Topics {
    input: String,
    repartition: String,
    changelog: String,
    volumes: String,
    trends: String,
    alerts: String,
    dead_letters: String,
}

/// A partition of the repartition topic held here.
struct Held {
    shard: Shard,
    store: PartitionStore,
    /// When it last read a reading (or was assigned).
    heard_at: Instant,
}

/// Everything the loop and the rebalance callbacks share.
struct Stage {
    topics: Topics,
    partitions: i32,
    state_dir: std::path::PathBuf,
    commit_interval: Duration,
    /// A partition idle this long closes its windows by the clock (`None`: never).
    idle_after: Option<Duration>,
    policy: Policy,
    stems: Stems,
    sink: Sink,
    restorer: BaseConsumer<ClientCtx>,
    held: BTreeMap<i32, Held>,
    /// Every brand volume emitted anywhere, as the volumes topic has it.
    volumes: Volumes,
    offsets: Offsets,
    /// Events sent since the last flush, by kind (counted once acknowledged), and readings by
    /// result.
    sent: HashMap<&'static str, u64>,
    alerts: Vec<(String, &'static str)>,
    results: HashMap<&'static str, u64>,
    /// Per brand: the start of the latest window its gauges show.
    gauged: HashMap<String, i64>,
    batch_started: Option<Instant>,
    common: Common,
    /// A flush started and did not finish: nothing of its batch may be committed.
    broken: bool,
}

impl Partitioned for Stage {
    const NAME: &'static str = "market";
    fn repartition(&self) -> &str {
        &self.topics.repartition
    }
    fn holds(&self, p: i32) -> bool {
        self.held.contains_key(&p)
    }
    fn holds_none(&self) -> bool {
        self.held.is_empty()
    }
    fn restore_partition(&mut self, p: i32) -> Result<(), StageError> {
        self.restore(p)
    }
    fn release(&mut self, p: i32) {
        if let Some(held) = self.held.remove(&p) {
            // Their new owner shows them now; a stale value here would compete with its.
            for brand in held.shard.brand_names() {
                self.ungauge(brand);
            }
        }
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

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Stage {
    fn start_batch(&mut self) {
        self.batch_started.get_or_insert_with(Instant::now);
    }

    fn count(&mut self, result: &'static str) {
        *self.results.entry(result).or_default() += 1;
    }

    /// Handles one consumed message.
    fn handle(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        self.start_batch();
        if m.topic() == self.topics.input {
            self.route(m)?;
        } else if m.topic() == self.topics.repartition {
            self.apply(m)?;
        }
        self.offsets.handled(m);
        Ok(())
    }

    /// An insight: one reading for each brand it is about, to the brand's partition.
    fn route(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        let mut insight: Insight = match m.payload().map(serde_json::from_slice) {
            Some(Ok(i)) => i,
            Some(Err(e)) => return self.dead_letter(m, "invalid_insight", &e.to_string()),
            None => return self.dead_letter(m, "invalid_insight", "empty message"),
        };
        // A source clock far ahead would move its partition's watermark years on and leave every
        // later message too late (as the memory stage, a day ahead is the most believed).
        let now = chrono::Utc::now();
        if insight.occurred_at > now + chrono::Duration::days(1) {
            insight.occurred_at = now;
        }
        for (brand, reading) in shard::route(&insight, (m.partition(), m.offset()), &mut self.stems)
        {
            let payload = reading
                .encode()
                .map_err(|e| StageError::BadState(brand.clone(), e.to_string()))?;
            let p = crate::memory::partition_of(&brand, self.partitions);
            self.sink
                .send(&self.topics.repartition, Some(p), &brand, Some(&payload))?;
        }
        Ok(())
    }

    /// A reading of one brand of partition `p`.
    fn apply(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        let brand = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        let reading = match m.payload().map(Reading::decode) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return self.dead_letter(m, "invalid_reading", &e.to_string()),
            None => return self.dead_letter(m, "invalid_reading", "empty reading"),
        };
        let Some(held) = self.held.get_mut(&m.partition()) else {
            // Not assigned here (a record handed out during a revoke): its owner reads it.
            return Ok(());
        };
        held.heard_at = Instant::now();
        let (taken, out) = held.shard.observe(&brand, &reading, &self.volumes);
        match taken {
            Taken::Applied => self.count("applied"),
            Taken::Duplicate => self.count("duplicate"),
        }
        self.emit(out)
    }

    /// Sends trends and alerts, and each brand window's volume when the table does not have it.
    fn emit(&mut self, out: Vec<Output>) -> Result<(), StageError> {
        if out.is_empty() {
            return Ok(());
        }
        self.start_batch();
        let alert_size = self.policy.alert_size();
        for o in &out {
            match o {
                Output::Trend(t) => {
                    let payload = serde_json::to_vec(t)
                        .map_err(|e| StageError::BadState(t.key.clone(), e.to_string()))?;
                    self.sink
                        .send(&self.topics.trends, None, &t.brand, Some(&payload))?;
                    *self.sent.entry("trend").or_default() += 1;
                    if t.dimension == Dimension::Brand && t.window.size_seconds == alert_size {
                        self.gauge(t);
                    }
                }
                Output::Alert(a) => {
                    let payload = serde_json::to_vec(a)
                        .map_err(|e| StageError::BadState(a.key.clone(), e.to_string()))?;
                    self.sink
                        .send(&self.topics.alerts, None, &a.brand, Some(&payload))?;
                    *self.sent.entry("alert").or_default() += 1;
                    self.alerts.push((a.brand.clone(), a.severity.as_str()));
                }
            }
            // Every emission's volume, even one the table has: after a restore, a replay may emit
            // an older value before the latest again, and the table (and the compacted topic) must
            // end on the latest. Unchanged values change nothing where they are read.
            if let Some((size, start, brand, volume)) = shard::volume_of(o) {
                let key = format!("{size}/{start}/{brand}");
                self.sink.send(
                    &self.topics.volumes,
                    None,
                    &key,
                    Some(volume.to_string().as_bytes()),
                )?;
            }
        }
        Ok(())
    }

    /// A brand no longer held here: its gauges go.
    fn ungauge(&mut self, brand: &str) {
        self.gauged.remove(brand);
        let m = &self.common.metrics.market;
        for g in [
            &m.window_messages,
            &m.window_net_sentiment,
            &m.window_share_of_voice,
        ] {
            let _ = g.remove_label_values(&[brand]);
        }
    }

    /// The brand's gauges show its latest window.
    fn gauge(&mut self, t: &crate::market::Trend) {
        let start = t.window.start.timestamp();
        let latest = self.gauged.entry(t.brand.clone()).or_insert(i64::MIN);
        if start < *latest {
            return;
        }
        *latest = start;
        let m = &self.common.metrics.market;
        m.window_messages
            .with_label_values(&[&t.brand])
            .set(f64::from(t.volume));
        if let Some(net) = t.sentiment.net {
            m.window_net_sentiment
                .with_label_values(&[&t.brand])
                .set(net);
        }
        if let Some(sov) = t.share_of_voice {
            m.window_share_of_voice
                .with_label_values(&[&t.brand])
                .set(sov);
        }
    }

    /// One record of the volumes topic: its brand's volume to every other brand held here.
    fn volume_record(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        let value = m
            .payload()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u32>().ok());
        let mut parts = key.splitn(3, '/');
        let (Some(size), Some(start), Some(brand), Some(volume)) = (
            parts.next().and_then(|s| s.parse::<u32>().ok()),
            parts.next().and_then(|s| s.parse::<i64>().ok()),
            parts.next(),
            value,
        ) else {
            self.common.errors.warn(
                "market: a volumes record is not `size/start/brand` = volume; skipped",
                &key,
            );
            return Ok(());
        };
        if volume > 1_000_000_000 {
            self.common.errors.warn(
                "market: a volumes record's volume is not believable; skipped",
                &key,
            );
            return Ok(());
        }
        if !self.volumes.set(size, start, brand, volume) {
            return Ok(());
        }
        // The corrections it makes due go out with the next tick's advance.
        for held in self.held.values_mut() {
            held.shard.share(size, start, brand, volume);
        }
        Ok(())
    }

    /// Each commit interval: every brand to its partition's watermark, idle partitions' windows
    /// closed by the clock, and the volumes table pruned.
    fn tick(&mut self) -> Result<(), StageError> {
        let now = now_secs();
        let mut out = Vec::new();
        let mut latest = i64::MIN;
        let mut open = 0;
        for held in self.held.values_mut() {
            out.extend(held.shard.advance());
            if self
                .idle_after
                .is_some_and(|after| held.heard_at.elapsed() >= after)
            {
                out.extend(held.shard.idle(now));
            }
            latest = latest.max(held.shard.latest().unwrap_or(i64::MIN));
            open += held.shard.open_windows();
        }
        self.common.metrics.market.open_windows.set(open as i64);
        let keep = i64::from(self.policy.allowed_lateness_seconds)
            + i64::from(self.policy.watermark_delay_seconds)
            + 2 * 86_400;
        // With no partition held (an instance beyond the partition count), the clock.
        let latest = if latest == i64::MIN { now } else { latest };
        self.volumes.prune(latest.saturating_sub(keep));
        self.emit(out)
    }

    /// A message the stage cannot use: the dead letter topic, as the analysers write it.
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

    /// Outputs acknowledged, then the changelog, then the stores, then the offsets.
    fn flush<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), StageError> {
        if self.broken {
            return Err(StageError::Delivery(
                "an earlier flush failed; its batch is not committed".into(),
            ));
        }
        // From here until the offsets are committed, a failure leaves the batch uncommitted (even
        // by the revoke that closing the consumer runs): the changes are taken out of the shards.
        self.broken = true;
        let mut changes: HashMap<i32, Vec<Change>> = HashMap::new();
        for (p, held) in &mut self.held {
            let list = held
                .shard
                .changes()
                .map_err(|e| StageError::BadState(format!("partition {p}"), e.to_string()))?;
            if let Some((key, v)) = list.iter().find(|(_, v)| v.len() > MAX_VALUE) {
                // Said plainly rather than as the producer's "message size too large".
                return Err(StageError::BadState(
                    key.clone(),
                    format!(
                        "{} bytes, more than a changelog value may hold ({MAX_VALUE}): fewer window sizes, products or lines for this brand, or a shorter allowed lateness",
                        v.len()
                    ),
                ));
            }
            if !list.is_empty() {
                changes.insert(*p, list.into_iter().map(|(k, v)| (k, Some(v))).collect());
            }
        }
        if self.offsets.pending.is_empty() && changes.is_empty() && self.sent.is_empty() {
            self.batch_started = None;
            self.broken = false;
            return Ok(());
        }
        let held = &self.held;
        self.sink
            .write_changes(&self.topics.changelog, &changes, |p| {
                held.get(&p).map(|h| &h.store)
            })?;
        self.offsets.commit(consumer)?;
        let m = &self.common.metrics.market;
        for (k, n) in self.sent.drain() {
            m.events.with_label_values(&[k]).inc_by(n);
        }
        for (brand, severity) in self.alerts.drain(..) {
            m.alerts.with_label_values(&[&brand, severity]).inc();
        }
        for (r, n) in self.results.drain() {
            m.readings.with_label_values(&[r]).inc_by(n);
        }
        self.batch_started = None;
        self.broken = false;
        Ok(())
    }

    /// Restores partition `p`: its store caught up from the changelog, every brand read back, and
    /// the volumes known since given to them.
    fn restore(&mut self, p: i32) -> Result<(), StageError> {
        let started = Instant::now();
        let store = stage::open_store(&self.state_dir, &self.topics.repartition, p)?;
        let restored = catch_up(&self.restorer, &store, &self.topics.changelog, p)?;
        let mut shard = Shard::new(self.policy.clone());
        for key in store.keys()? {
            if let Some(value) = store.get(&key)? {
                shard
                    .restore(&key, &value)
                    .map_err(|e| StageError::BadState(key.clone(), e.to_string()))?;
            }
        }
        same_source(&mut shard, &self.topics.input, p)?;
        let brands = shard.brands();
        for (size, start, brand, volume) in self.volumes.each() {
            shard.share(size, start, brand, volume);
        }
        // What the volumes changed goes out now (as the next tick would).
        let out = shard.advance();
        self.held.insert(
            p,
            Held {
                shard,
                store,
                heard_at: Instant::now(),
            },
        );
        self.emit(out)?;
        let took = started.elapsed();
        self.common
            .metrics
            .market
            .restore
            .observe(took.as_secs_f64());
        tracing::info!(
            partition = p,
            records = restored,
            brands,
            seconds = took.as_secs_f64(),
            "market: partition restored from the changelog"
        );
        Ok(())
    }
}

/// Refuses a partition's state built from another insight topic than `input`: its brands'
/// remembered offsets are that topic's, so readings of `input` at offsets they already passed
/// would be taken for redeliveries and dropped without a word. A state that does not say
/// (written by an earlier build) is taken as `input`'s, and says so from its next commit.
fn same_source(shard: &mut Shard, input: &str, p: i32) -> Result<(), StageError> {
    match shard.source() {
        Some(built) if built != input => Err(StageError::BadState(
            format!("market partition {p}"),
            format!(
                "it was built from the insight topic {built:?}, not {input:?}; to read another \
                 topic, give [market_stage] new repartition and changelog topics"
            ),
        )),
        _ => {
            shard.set_source(input);
            Ok(())
        }
    }
}

/// Runs the market stage until `shutdown` is cancelled or it fails.
pub fn run(
    config: &Config,
    metrics: Metrics,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), StageError> {
    let s = &config.market_stage;
    let k = &config.kafka;
    let topics = Topics {
        input: s
            .input_topic
            .clone()
            .unwrap_or_else(|| k.output_topic.clone()),
        repartition: s.repartition_topic.clone(),
        changelog: s.changelog_topic.clone(),
        volumes: s.volumes_topic.clone(),
        trends: s.trends_topic.clone(),
        alerts: s.alerts_topic.clone(),
        dead_letters: k.dead_letter_topic.clone(),
    };
    let group = format!("{}-market", k.group_id);
    let callbacks = Callbacks::new();
    let (errors, fatal) = (callbacks.errors.clone(), callbacks.fatal.clone());
    let restorer: BaseConsumer<ClientCtx> =
        stage::restorer_config(k, &group).create_with_context(callbacks.ctx("consumer"))?;
    let admin = stage::admin(k)?;
    // The input's partition count sets the repartition and changelog topics' (co-partitioned).
    let partitions = partition_count(&restorer, &topics.input)?;
    let changelog = [
        ("cleanup.policy", "compact"),
        ("max.message.bytes", MAX_VALUE_BYTES),
    ];
    // Volumes of windows long gone are deleted after a week (no one writes their tombstones).
    let volumes = [
        ("cleanup.policy", "compact,delete"),
        ("retention.ms", "604800000"),
    ];
    ensure_topic(&admin, &topics.repartition, partitions, &[])?;
    ensure_topic(&admin, &topics.changelog, partitions, &changelog)?;
    ensure_topic(&admin, &topics.volumes, partitions, &volumes)?;
    ensure_topic(&admin, &topics.trends, partitions, &[])?;
    ensure_topic(&admin, &topics.alerts, partitions, &[])?;
    let partitions = partition_count(&restorer, &topics.repartition)?;

    let mut producer = producer_config(k, Guarantee::AtLeastOnce);
    producer.set("message.max.bytes", MAX_VALUE_BYTES);
    let sink = Sink::new(&producer, &topics.changelog, callbacks.ctx("producer"))?;
    health
        .producer_up
        .store(true, std::sync::atomic::Ordering::Relaxed);

    let stage = Arc::new(Mutex::new(Stage {
        topics: topics.clone(),
        partitions,
        state_dir: s.state_dir.clone(),
        commit_interval: Duration::from_millis(s.commit_interval_ms.max(1)),
        idle_after: (s.idle_close_seconds > 0).then(|| Duration::from_secs(s.idle_close_seconds)),
        policy: config.market.clone(),
        stems: Stems::default(),
        sink,
        restorer,
        held: BTreeMap::new(),
        volumes: Volumes::default(),
        offsets: Offsets::default(),
        sent: HashMap::new(),
        alerts: Vec::new(),
        results: HashMap::new(),
        gauged: HashMap::new(),
        batch_started: None,
        common: Common {
            errors: errors.clone(),
            metrics,
            health: health.clone(),
            failed: None,
        },
        broken: false,
    }));

    // The whole volumes table before the first reading.
    let volumes = member::table(
        k,
        &group,
        "volumes",
        callbacks.ctx("consumer"),
        &topics.volumes,
        &stage,
        Stage::volume_record,
    )?;
    tracing::info!(
        volumes = lock(&stage).volumes.len(),
        "market: volumes table loaded"
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
        volumes = %topics.volumes,
        trends = %topics.trends,
        alerts = %topics.alerts,
        partitions,
        "market stage running"
    );

    let mut ticked = Instant::now();
    member::run(&consumer, &stage, &fatal, &shutdown, |st, consumer| {
        stage::follow(&volumes, &errors, "market: volumes consumer error", |m| {
            st.volume_record(m)
        })?;
        // Quiet brands' windows close on a beat of a second (or the commit's, if shorter).
        if ticked.elapsed() >= st.commit_interval.min(Duration::from_secs(1)) {
            ticked = Instant::now();
            st.tick()?;
            if st.batch_started.is_none() && !st.broken {
                st.offsets.commit_markers(consumer)?;
            }
        }
        if st
            .batch_started
            .is_some_and(|t| t.elapsed() >= st.commit_interval)
        {
            st.flush(consumer)?;
        }
        st.sink.producer.poll(Duration::ZERO);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_built_from_another_insight_topic_is_refused() {
        let mut built = Shard::new(Policy::default());
        // A state that does not say is taken as the configured topic's, and says so from then.
        assert!(same_source(&mut built, "insights-a", 3).is_ok());
        assert_eq!(built.source(), Some("insights-a"));
        let changes = built.changes().expect("encodes");
        assert!(changes.iter().any(|(k, _)| k == shard::SOURCE));
        assert!(built.changes().expect("encodes").is_empty(), "written once");

        let read_back = || {
            let mut s = Shard::new(Policy::default());
            for (k, v) in &changes {
                s.restore(k, v).expect("reads back");
            }
            s
        };
        let mut same = read_back();
        assert!(same_source(&mut same, "insights-a", 3).is_ok());
        assert!(
            same.changes().expect("encodes").is_empty(),
            "nothing new to write"
        );

        let err = same_source(&mut read_back(), "insights-b", 3)
            .expect_err("another topic")
            .to_string();
        assert!(
            err.contains("partition 3")
                && err.contains("\"insights-a\"")
                && err.contains("\"insights-b\""),
            "{err}"
        );
    }
}
