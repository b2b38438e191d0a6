//! A stateful stage's group member, the same for the memory and the market stage: the rebalance
//! callbacks that flush everything handled before partitions go and restore a partition's state
//! before any of its messages is read, the global table read whole before the first message, and
//! the loop.
//!
//! A stage ([`Partitioned`]) keeps its state per partition of its repartition topic and shares it,
//! behind a mutex, between its loop and these callbacks (librdkafka calls them from inside
//! `poll`, on the loop's thread).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientContext, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::shell::client::{is_fatal, ClientCtx, ErrorLog};
use crate::shell::metrics::Metrics;
use crate::shell::stage::{lock, member_config, plain_consumer_config, read_all, StageError};
use crate::shell::stall;
use crate::shell::Health;

/// What the shared member needs of a stage.
pub trait Partitioned: Send + 'static {
    /// The stage's name in logs: "memory", "market".
    const NAME: &'static str;
    /// The topic whose partitions carry the state.
    fn repartition(&self) -> &str;
    /// Whether partition `p`'s state is held here.
    fn holds(&self, p: i32) -> bool;
    /// Whether no partition's state is held here.
    fn holds_none(&self) -> bool;
    /// Restores partition `p`'s state from its changelog.
    fn restore_partition(&mut self, p: i32) -> Result<(), StageError>;
    /// Lets go of a revoked partition's state.
    fn release(&mut self, p: i32);
    /// Everything handled so far to Kafka and the stores, then the input offsets committed.
    fn flush_all<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StageError>;
    /// Handles one message of the input or the repartition topic.
    fn handle_message(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError>;
    /// What every stage keeps for its member.
    fn common(&mut self) -> &mut Common;
}

/// What every stage keeps for its member: where its client errors are logged, its metrics and
/// health, and where a failure inside a rebalance callback waits for the loop.
pub struct Common {
    pub errors: Arc<ErrorLog>,
    pub metrics: Metrics,
    pub health: Health,
    pub failed: Option<StageError>,
}

/// The member consumer's context: its client callbacks and the stage.
pub struct StageCtx<S> {
    stage: Arc<Mutex<S>>,
    client: ClientCtx,
    /// The partitions the member holds, of its input and its repartition topic.
    assigned: Mutex<BTreeSet<(String, i32)>>,
    /// Partitions that stopped moving with messages to read (see [`crate::shell::stall`]).
    stall: stall::Watch,
}

impl<S: Send + 'static> ClientContext for StageCtx<S> {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        self.client.log(level, fac, message)
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.client.error(error, reason)
    }
    fn stats(&self, stats: rdkafka::Statistics) {
        let assigned = self.assigned.lock().map(|a| a.clone()).unwrap_or_default();
        self.stall.stats(&stats, &assigned, &self.client);
    }
}

impl<S: Partitioned> ConsumerContext for StageCtx<S> {
    fn pre_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let parts = partitions_of(tpl);
        if let Ok(mut a) = self.assigned.lock() {
            for p in &parts {
                a.remove(p);
            }
        }
        self.stall.forget(&parts);
        let Ok(mut stage) = self.stage.lock() else {
            return;
        };
        // Everything handled so far reaches the changelog, the stores and the committed offsets
        // before the partitions go.
        if let Err(e) = stage.flush_all(base) {
            stage.common().failed.get_or_insert(e);
        }
        let repartition = stage.repartition().to_string();
        for e in tpl.elements() {
            if e.topic() == repartition {
                stage.release(e.partition());
            }
        }
        if stage.holds_none() {
            stage
                .common()
                .health
                .assigned
                .store(false, Ordering::Relaxed);
        }
        tracing::info!(partitions = ?parts, "{}: partitions revoked", S::NAME);
        stage
            .common()
            .metrics
            .rebalances
            .with_label_values(&["revoked"])
            .inc();
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else {
            return;
        };
        if let Ok(mut a) = self.assigned.lock() {
            a.extend(partitions_of(tpl));
        }
        let Ok(mut stage) = self.stage.lock() else {
            return;
        };
        stage
            .common()
            .metrics
            .rebalances
            .with_label_values(&["assigned"])
            .inc();
        tracing::info!(partitions = ?partitions_of(tpl), "{}: partitions assigned", S::NAME);
        let repartition = stage.repartition().to_string();
        for e in tpl.elements() {
            if e.topic() != repartition || stage.holds(e.partition()) {
                continue;
            }
            if let Err(err) = stage.restore_partition(e.partition()) {
                stage.common().failed.get_or_insert(err);
                return;
            }
        }
        stage
            .common()
            .health
            .assigned
            .store(true, Ordering::Relaxed);
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

/// The stage's member of `group`, subscribed to `topics` (the input and the repartition topic).
pub fn member<S: Partitioned>(
    k: &KafkaConfig,
    group: &str,
    stage: &Arc<Mutex<S>>,
    client: ClientCtx,
    topics: &[&str],
) -> Result<BaseConsumer<StageCtx<S>>, StageError> {
    let consumer: BaseConsumer<StageCtx<S>> =
        member_config(k, group).create_with_context(StageCtx {
            stage: stage.clone(),
            client,
            assigned: Mutex::new(BTreeSet::new()),
            stall: stall::Watch::of(k),
        })?;
    consumer.subscribe(topics)?;
    Ok(consumer)
}

/// A global table (every partition of `topic`) read whole into the stage before its first
/// message, by a consumer of its own group (`{group}-{suffix}`), which is returned assigned at the
/// table's end to follow it ([`crate::shell::stage::follow`]).
pub fn table<S>(
    k: &KafkaConfig,
    group: &str,
    suffix: &str,
    client: ClientCtx,
    topic: &str,
    stage: &Arc<Mutex<S>>,
    mut each: impl FnMut(&mut S, &BorrowedMessage<'_>) -> Result<(), StageError>,
) -> Result<BaseConsumer<ClientCtx>, StageError> {
    let mut config = plain_consumer_config(k);
    config.set("group.id", format!("{group}-{suffix}"));
    let reader: BaseConsumer<ClientCtx> = config.create_with_context(client)?;
    let mut st = lock(stage);
    read_all(&reader, topic, |m| each(&mut st, m))?;
    Ok(reader)
}

/// One turn of a stage's loop: stops on a fatal client error (a fenced static member or a failed
/// producer does not come back: the orchestrator starts a new process, as a zombie holding no
/// partitions helps nobody) or on a failure a rebalance callback left; else polls the member for
/// at most 50 ms and handles what came. Returns the stage, locked, for the rest of the turn.
pub fn turn<'a, S: Partitioned>(
    consumer: &BaseConsumer<StageCtx<S>>,
    stage: &'a Arc<Mutex<S>>,
    fatal: &CancellationToken,
) -> Result<MutexGuard<'a, S>, StageError> {
    if fatal.is_cancelled() {
        return Err(StageError::Fatal);
    }
    let polled = consumer.poll(Duration::from_millis(50));
    let mut st = lock(stage);
    if let Some(e) = st.common().failed.take() {
        return Err(e);
    }
    match polled {
        Some(Ok(msg)) => st.handle_message(&msg)?,
        Some(Err(e)) if is_fatal(&e) => return Err(e.into()),
        Some(Err(e)) => st
            .common()
            .errors
            .warn_kafka(&format!("{}: consumer error", S::NAME), &e),
        None => {}
    }
    Ok(st)
}

/// The stage's loop until `shutdown`: a [`turn`], then `each` with the stage still locked; at the
/// end everything handled is flushed ([`Partitioned::flush_all`]). A failure is the stage's
/// health's before it is returned; the member leaves its group either way.
pub fn run<S: Partitioned>(
    consumer: &BaseConsumer<StageCtx<S>>,
    stage: &Arc<Mutex<S>>,
    fatal: &CancellationToken,
    shutdown: &CancellationToken,
    mut each: impl FnMut(&mut S, &BaseConsumer<StageCtx<S>>) -> Result<(), StageError>,
) -> Result<(), StageError> {
    let result = (|| {
        while !shutdown.is_cancelled() {
            let mut st = turn(consumer, stage, fatal)?;
            each(&mut st, consumer)?;
        }
        lock(stage).flush_all(consumer)
    })();
    if let Err(e) = &result {
        lock(stage).common().health.fail(e.to_string());
    }
    consumer.unsubscribe();
    result
}
