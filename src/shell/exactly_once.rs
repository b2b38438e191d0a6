//! Exactly once, as Kafka Streams' `exactly_once_v2` does it: the outputs of a time slice of input
//! (insights and dead letters) and the input offsets they come from are committed in one Kafka
//! transaction, so a reader with `isolation.level=read_committed` sees each input's output once, or
//! not yet — never twice, whatever dies when.
//!
//! * One transactional producer per instance. Its offsets travel with the consumer's group
//!   metadata (KIP-447), so an instance the group has moved on without (a zombie: paused, cut
//!   off) is fenced by the group coordinator: its late commit fails and its outputs are aborted.
//!   Messages of partitions revoked while a batch was fetched are dropped, not added to the next
//!   transaction: their next owner reads them from the commit made before the revoke.
//! * A commit runs on a thread of its own while the loop analyses what comes next; those outputs
//!   are held and join the next transaction. If partitions are revoked meanwhile, the held
//!   outputs are dropped and the partitions kept are read again from the last commit.
//! * A transaction commits every `pipeline.transaction_interval_ms`, when it holds
//!   [`TRANSACTION_SIZE`] × `pipeline.max_in_flight` messages, before partitions are revoked (in the rebalance callback,
//!   so their next owner starts exactly where this one's output ends), and on SIGTERM.
//! * A transaction that fails is aborted and every partition is rewound to the end of the last
//!   committed one: its messages are processed again into a new transaction. A fatal error (the
//!   producer fenced by a newer instance with the same `transactional.id`) ends the process.
//! * Every call that blocks on the broker runs under a [`Watchdog`] deadline: librdkafka does not
//!   always keep a transactional call's timeout, and a call stuck past it ends the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::consumer::{Consumer, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::client::{is_fatal, ClientCtx};
use super::kafka::{
    close_within, fatal_error, fill_batch, forget_revoked, refused_record, Clients, Consumed,
    Outcome, Output, PipelineError, Stop, Transformed, Work,
};
use super::metrics::Metrics;
use super::watchdog::{within, Watchdog, NO_TIME};
use crate::decode::KindHint;

/// A transaction commits when it holds this many times `pipeline.max_in_flight` messages, if its
/// interval has not ended first. Its outputs are sent as they come (the producer's queue holds
/// only those not yet acknowledged), so the bound is on what an abort makes the instance read
/// again, not on memory; a commit every `max_in_flight` messages made commits a third of the work.
pub const TRANSACTION_SIZE: usize = 10;

/// How long one transactional call may wait for the broker outside of shutdown.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One consumed message's output, what the output counts as, and the input's timestamp in ms.
type Item = (Output, Outcome, Option<i64>);

/// The open transaction and what the last committed one left behind.
pub struct Transactions {
    producer: FutureProducer<ClientCtx>,
    metrics: Metrics,
    /// Keeps the deadlines of the calls that block on the broker.
    watchdog: Watchdog,
    open: Mutex<Option<Open>>,
    /// Per partition, the offset after the last committed transaction's input (the next to read).
    committed: Arc<Mutex<HashMap<(String, i32), i64>>>,
    /// Set when a transaction was aborted, or outputs held during a commit were dropped because
    /// partitions were revoked: the loop rewinds before it processes more.
    rewind: AtomicBool,
    /// An error raised inside a rebalance callback, for the loop to stop on.
    failure: Mutex<Option<PipelineError>>,
    /// Held by a commit from start to end, and by [`Transactions::add`]: a commit may run on a
    /// thread of its own while the loop analyses what comes next, and a producer has one
    /// transaction at a time, so the next one begins only once the last has committed. A commit
    /// before a revoke (in the rebalance callback) waits here for one in progress.
    committing: Mutex<()>,
}

struct Open {
    started: Instant,
    /// The next offset to read per partition, for the messages whose outputs are in.
    offsets: HashMap<(String, i32), i64>,
    outcomes: Vec<(Outcome, Option<i64>)>,
}

impl Transactions {
    pub fn new(
        producer: FutureProducer<ClientCtx>,
        metrics: Metrics,
        committed: Arc<Mutex<HashMap<(String, i32), i64>>>,
        watchdog: Watchdog,
    ) -> Transactions {
        Transactions {
            producer,
            metrics,
            watchdog,
            open: Mutex::new(None),
            committed,
            rewind: AtomicBool::new(false),
            failure: Mutex::new(None),
            committing: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Open>> {
        // A panic while holding the lock would have ended the process (panic = abort is not set,
        // but the loop does not catch panics); take the data as it is.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a commit in progress on another thread and keeps the next from starting.
    fn one_at_a_time(&self) -> std::sync::MutexGuard<'_, ()> {
        self.committing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Messages in the open transaction.
    pub fn len(&self) -> usize {
        self.lock().as_ref().map_or(0, |o| o.outcomes.len())
    }

    /// How long the open transaction has been open.
    pub fn age(&self) -> Option<Duration> {
        self.lock().as_ref().map(|o| o.started.elapsed())
    }

    /// Adds the outputs of consumed messages to the open transaction (beginning one if none is),
    /// and `next`, the offset after the last of them, per partition. A send that fails aborts the
    /// transaction (and asks for a rewind) unless it is fatal.
    ///
    /// A full queue is waited on for at most [`CALL_TIMEOUT`], and not at all once `shutdown` is
    /// cancelled: then the transaction is dropped here and left open on the broker (which aborts
    /// it, or the next owner's producer fences it), and the error stops the loop, which exits
    /// saying what it left uncommitted. (A chaos run found an instance stuck here for nine minutes after its SIGTERM,
    /// until the broker timed the transaction out.)
    fn add(
        &self,
        items: Vec<Item>,
        next: Vec<((String, i32), i64)>,
        shutdown: &CancellationToken,
    ) -> Result<(), PipelineError> {
        let _one = self.one_at_a_time();
        let mut guard = self.lock();
        if guard.is_none() {
            // Served by librdkafka's own thread without the broker; watched all the same.
            let _watched = self.watchdog.guard("begin_transaction", CALL_TIMEOUT);
            self.producer.begin_transaction()?;
            *guard = Some(Open {
                started: Instant::now(),
                offsets: HashMap::new(),
                outcomes: Vec::new(),
            });
        }
        let Some(open) = guard.as_mut() else {
            return Ok(());
        };
        let mut failed = None;
        let started = Instant::now();
        let give_up = || shutdown.is_cancelled() || started.elapsed() >= CALL_TIMEOUT;
        for (out, outcome, event_ms) in items {
            if let Err(e) = send(&self.producer, &out, &give_up) {
                failed = Some(e);
                break;
            }
            self.metrics.in_flight.inc();
            open.outcomes.push((outcome, event_ms));
        }
        // A failed send's transaction is aborted or dropped below: its offsets never go in.
        if failed.is_none() {
            open.offsets.extend(next);
        }
        drop(guard);
        match failed {
            None => Ok(()),
            Some(e) if is_fatal(&e) || self.producer.client().fatal_error().is_some() => {
                Err(fatal_of(&self.producer, e))
            }
            Some(e) if refused_record(&e) => {
                // Sent again after the rewind, it would be refused again, forever.
                tracing::error!(error = %e, "send refused for good inside a transaction: stopping");
                if let Some(open) = self.lock().take() {
                    self.metrics.in_flight.sub(open.outcomes.len() as i64);
                }
                Err(PipelineError::Permanent {
                    client: "producer",
                    error: e,
                })
            }
            Some(e) if shutdown.is_cancelled() => {
                tracing::error!(error = %e, "shutting down with the producer's queue full: the open transaction is left to the broker to abort");
                // Taken, so that no later commit (the one before the revoke when the consumer
                // closes) commits outputs that were never sent with their inputs' offsets.
                if let Some(open) = self.lock().take() {
                    self.metrics.in_flight.sub(open.outcomes.len() as i64);
                }
                Err(PipelineError::Kafka(e))
            }
            Some(e) => {
                tracing::warn!(error = %e, "send failed inside a transaction: aborting it");
                if let Some(open) = self.lock().as_ref() {
                    self.metrics.in_flight.sub(open.outcomes.len() as i64);
                }
                self.abort(CALL_TIMEOUT)
            }
        }
    }

    /// Commits the open transaction with its input offsets, if one is open. A failure that an
    /// abort mends is aborted (and a rewind asked for); `Err` only when the pipeline cannot go on.
    pub fn commit(
        &self,
        group: Option<ConsumerGroupMetadata>,
        timeout: Duration,
    ) -> Result<(), PipelineError> {
        self.commit_counting(group, timeout, None)
    }

    /// [`Transactions::commit`]; `last` is `Some(messages consumed and not yet committed)` for the
    /// last commit at shutdown, which must end within `timeout` in all (an abort included), and
    /// whose stuck call says what it leaves uncommitted.
    fn commit_counting(
        &self,
        group: Option<ConsumerGroupMetadata>,
        timeout: Duration,
        last: Option<u64>,
    ) -> Result<(), PipelineError> {
        let _one = self.one_at_a_time();
        let Some(open) = self.lock().take() else {
            return Ok(());
        };
        let started = Instant::now();
        let result = self.send_offsets_and_commit(&open, group, timeout, last);
        self.metrics
            .transaction_duration
            .observe(started.elapsed().as_secs_f64());
        let n = open.outcomes.len() as i64;
        self.metrics.in_flight.sub(n);
        match result {
            Ok(()) => {
                tracing::debug!(offsets = ?open.offsets, messages = n, "transaction committed");
                self.metrics
                    .transactions
                    .with_label_values(&["committed"])
                    .inc();
                if let Ok(mut c) = self.committed.lock() {
                    c.extend(open.offsets);
                }
                let now = Utc::now().timestamp_millis();
                for (outcome, event_ms) in open.outcomes {
                    match outcome {
                        Outcome::Insight(a) => self.metrics.observe_insight(&a),
                        Outcome::DeadLetter(r) => self
                            .metrics
                            .dead_letters
                            .with_label_values(&[r.as_str()])
                            .inc(),
                    }
                    if let Some(ms) = event_ms {
                        self.metrics
                            .end_to_end
                            .observe((now - ms).max(0) as f64 / 1000.0);
                    }
                }
                Ok(())
            }
            Err(e) if is_fatal(&e) || self.producer.client().fatal_error().is_some() => {
                Err(fatal_of(&self.producer, e))
            }
            Err(e) if refused_record(&e) => {
                // A record the broker refused for good (a transaction carries the refusal's
                // code): read again after an abort, it would be refused again, forever.
                tracing::error!(error = %e, messages = n, "a record was refused for good: aborting the transaction and stopping");
                let _ = self.abort(timeout.saturating_sub(started.elapsed()).max(NO_TIME));
                Err(PipelineError::Permanent {
                    client: "producer",
                    error: e,
                })
            }
            Err(e) => {
                // The last commit at shutdown must end within its time, abort included.
                let abort_in = match last {
                    Some(_) => timeout.saturating_sub(started.elapsed()),
                    None => timeout,
                };
                if abort_in < NO_TIME {
                    tracing::warn!(error = %e, messages = n, "the last transaction failed with no time left to abort it: the broker will");
                    return Err(PipelineError::Kafka(e));
                }
                tracing::warn!(error = %e, messages = n, "transaction failed: aborting it");
                self.abort(abort_in)
            }
        }
    }

    fn send_offsets_and_commit(
        &self,
        open: &Open,
        group: Option<ConsumerGroupMetadata>,
        timeout: Duration,
        uncommitted: Option<u64>,
    ) -> Result<(), KafkaError> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        if !open.offsets.is_empty() {
            // Without the group's metadata the offsets cannot be sent: abort, read again.
            let group = group.ok_or(KafkaError::ConsumerCommit(RDKafkaErrorCode::State))?;
            let mut tpl = TopicPartitionList::new();
            for ((topic, partition), next) in &open.offsets {
                tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
            }
            let _watched =
                self.watchdog
                    .guard_counting("send_offsets_to_transaction", left(), uncommitted);
            self.producer
                .send_offsets_to_transaction(&tpl, &group, left())?;
        }
        // rust-rdkafka's commit_transaction flushes first, polling in steps of 100 ms that wait
        // out their whole length when the producer's own thread serves the delivery reports: 100
        // ms of every commit, measured. Waiting here for the queue to empty makes that flush
        // return at once.
        while self.producer.in_flight_count() > 0 && !left().is_zero() {
            std::thread::sleep(Duration::from_micros(500));
        }
        // librdkafka: a retriable failure of the commit may simply be called again.
        let _watched = self
            .watchdog
            .guard_counting("commit_transaction", left(), uncommitted);
        loop {
            match self.producer.commit_transaction(left()) {
                Err(KafkaError::Transaction(e)) if e.is_retriable() && !left().is_zero() => {
                    tracing::debug!(error = %e, "transaction commit retried");
                }
                other => return other,
            }
        }
    }

    /// Aborts the open transaction (its outputs are never seen by `read_committed` readers) and
    /// asks the loop to rewind to the last committed offsets.
    fn abort(&self, timeout: Duration) -> Result<(), PipelineError> {
        self.lock().take();
        self.rewind.store(true, Ordering::SeqCst);
        self.metrics
            .transactions
            .with_label_values(&["aborted"])
            .inc();
        let _watched = self.watchdog.guard("abort_transaction", timeout);
        match self.producer.abort_transaction(timeout) {
            Ok(()) => Ok(()),
            Err(e) if is_fatal(&e) || self.producer.client().fatal_error().is_some() => {
                Err(fatal_of(&self.producer, e))
            }
            Err(e) => Err(PipelineError::Kafka(e)),
        }
    }

    /// Called from the rebalance callback before partitions are revoked: commits what is open,
    /// so the partitions' next owner starts right after this instance's committed output.
    pub fn commit_before_revoke(&self, group: Option<ConsumerGroupMetadata>) -> bool {
        match self.commit(group, CALL_TIMEOUT) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "transaction before a revoke failed");
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert(e);
                }
                false
            }
        }
    }

    /// The failure a rebalance callback left, if any.
    pub fn take_failure(&self) -> Option<PipelineError> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    /// Forgets a revoked partition's committed position.
    pub fn forget(&self, topic: &str, partition: i32) {
        if let Ok(mut c) = self.committed.lock() {
            c.remove(&(topic.to_string(), partition));
        }
    }
}

/// The fatal error of the producer, with librdkafka's detail when it has it.
fn fatal_of(producer: &FutureProducer<ClientCtx>, e: KafkaError) -> PipelineError {
    match producer.client().fatal_error() {
        Some((code, message)) => PipelineError::Fatal {
            client: "producer",
            detail: format!("{message} ({code:?})"),
        },
        None => PipelineError::Fatal {
            client: "producer",
            detail: e.to_string(),
        },
    }
}

/// Queues one output, waiting while the producer's queue is full until `give_up` says so: then the
/// queue-full error is returned (the loop must not block past a shutdown, nor forever on a
/// producer that delivers nothing).
fn send(
    producer: &FutureProducer<ClientCtx>,
    out: &Output,
    give_up: &dyn Fn() -> bool,
) -> Result<(), KafkaError> {
    loop {
        // The delivery future is not awaited: the commit waits for every delivery, and fails if
        // one failed.
        match producer.send_result(out.record()) {
            Ok(_) => return Ok(()),
            Err((e @ KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                if give_up() {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The exactly-once loop: consume, analyse, add to the open transaction, commit every interval.
///
/// From the shutdown signal on, the watchdog gives the whole shutdown
/// `pipeline.shutdown_timeout_secs`, whatever the loop's thread is doing: a call that started
/// before the signal with a longer timeout of its own (or anything else that holds the thread)
/// cannot keep the process past its deadline. (A CI run saw an instance that never reached its
/// shutdown path within 20 s of SIGTERM with the broker gone.)
pub(super) async fn run<F, H>(
    work: Work<'_, F, H>,
    clients: Clients,
    txn: Arc<Transactions>,
) -> Result<(), PipelineError>
where
    F: Fn(&BorrowedMessage<'_>, KindHint) -> Transformed + Sync,
    H: Fn(&str) -> KindHint + Sync,
{
    let deadline = Duration::from_secs(work.config.pipeline.shutdown_timeout_secs);
    let done = CancellationToken::new();
    let watcher = {
        let (txn, shutdown, done) = (txn.clone(), work.shutdown.clone(), done.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => txn.watchdog.arm("shutdown", deadline),
                _ = done.cancelled() => {}
            }
        })
    };
    let result = run_loop(work, clients, txn.clone()).await;
    done.cancel();
    let _ = watcher.await;
    txn.watchdog.disarm("shutdown");
    result
}

async fn run_loop<F, H>(
    work: Work<'_, F, H>,
    clients: Clients,
    txn: Arc<Transactions>,
) -> Result<(), PipelineError>
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
        errors: _,
        fatal,
        committed,
    } = clients;
    let started = {
        let _watched = txn.watchdog.guard("init_transactions", CALL_TIMEOUT);
        producer.init_transactions(CALL_TIMEOUT)
    };
    if let Err(e) = started {
        // The consumer has subscribed: dropping it here would wait for the group coordinator
        // without a limit. Closed on a thread of its own, within the shutdown deadline.
        let deadline = Duration::from_secs(config.pipeline.shutdown_timeout_secs);
        close_within(consumer, producer, deadline, None);
        return Err(e.into());
    }
    let interval = Duration::from_millis(config.pipeline.transaction_interval_ms);
    let max_messages = config
        .pipeline
        .max_in_flight
        .saturating_mul(TRANSACTION_SIZE);
    let max_batch = config.pipeline.max_batch.max(1);
    let mut consumed = Consumed::default();
    let mut start = StartCheck::default();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    // A commit runs on a blocking thread of its own while the loop goes on consuming and
    // analysing; what it analyses meanwhile is held, and joins the next transaction once the
    // commit is done (a producer has one transaction at a time). Measured: a commit takes about
    // 12 ms of every 100 ms interval, during which both cores sat idle.
    let mut committing: Option<tokio::task::JoinHandle<Result<(), PipelineError>>> = None;
    let mut held = Held::default();
    let max_held = config.pipeline.max_in_flight.max(1);

    let stop = 'run: loop {
        drop_held_if_revoked(&consumer, &txn, &mut start, &mut consumed, &mut held);
        if committing.is_none() && txn.rewind.swap(false, Ordering::SeqCst) {
            held.clear();
            if let Err(e) = rewind(&consumer, &txn.watchdog, &committed, &mut consumed) {
                break Stop::Failed(e);
            }
        }
        if let Some(e) = txn.take_failure() {
            break Stop::Failed(e);
        }
        tokio::select! {
            biased;
            _ = fatal.cancelled() => break Stop::Fatal,
            _ = shutdown.cancelled() => break Stop::Shutdown,
            done = async { committing.as_mut().expect("checked").await }, if committing.is_some() => {
                committing = None;
                if let Err(e) = joined(done) {
                    break Stop::Failed(e);
                }
                // An aborted commit asked for a rewind: the held outputs are made again.
                if txn.rewind.load(Ordering::SeqCst) {
                    continue;
                }
                if let Err(e) = add_held(&consumer, &txn, &mut start, &mut consumed, &mut held, shutdown) {
                    break Stop::Failed(e);
                }
                if txn.len() >= max_messages {
                    committing = Some(commit_elsewhere(&txn, &consumer));
                }
            }
            _ = tick.tick() => {
                if committing.is_none() && txn.age().is_some_and(|a| a >= interval) {
                    committing = Some(commit_elsewhere(&txn, &consumer));
                }
            }
            msg = consumer.recv() => {
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
                let batch = fill_batch(&consumer, first, max_batch);
                // A transaction aborted in a rebalance callback while these were fetched: they
                // are read again after the rewind, which must know of them.
                if txn.rewind.load(Ordering::SeqCst) {
                    for m in &batch {
                        consumed.note(m.topic(), m.partition(), m.offset());
                    }
                    tracing::debug!(messages = batch.len(), "a rewind is pending: the batch is read again after it");
                    continue;
                }
                // Partitions revoked while these were fetched (what this instance had added to a
                // transaction was committed before the revoke): their next owner reads on from
                // that commit, so their messages here are not this instance's any more.
                let dropped =
                    drop_held_if_revoked(&consumer, &txn, &mut start, &mut consumed, &mut held);
                let batch = assigned_only(&consumer, batch);
                if dropped {
                    // The partitions kept read the held messages again, and these with them.
                    for m in &batch {
                        consumed.note(m.topic(), m.partition(), m.offset());
                    }
                    tracing::debug!(messages = batch.len(), "held outputs dropped after a revoke: the batch is read again after the rewind");
                    continue;
                }
                let batch = match start.check(&consumer, &txn.watchdog, batch) {
                    Ok(b) => b,
                    Err(e) => break Stop::Failed(e),
                };
                if batch.is_empty() {
                    continue;
                }
                let outputs = work.transform(&batch);
                for (msg, (output, outcome)) in batch.iter().zip(outputs) {
                    metrics.consumed.with_label_values(&[msg.topic()]).inc();
                    consumed.note(msg.topic(), msg.partition(), msg.offset());
                    held.push(msg, output, outcome);
                }
                if let Some(pending) = committing.take() {
                    if held.len() < max_held {
                        committing = Some(pending);
                        continue;
                    }
                    // As much is held as may be in flight: wait for the commit.
                    if let Err(e) = joined(pending.await) {
                        break Stop::Failed(e);
                    }
                    if txn.rewind.load(Ordering::SeqCst) {
                        // The commit was aborted: everything since it is read again.
                        continue;
                    }
                }
                if let Err(e) = add_held(&consumer, &txn, &mut start, &mut consumed, &mut held, shutdown) {
                    break 'run Stop::Failed(e);
                }
                if txn.len() >= max_messages {
                    committing = Some(commit_elsewhere(&txn, &consumer));
                }
            }
        }
    };
    // A commit in progress ends before anything else is done with the clients (each of its calls
    // is under the watchdog); what it did decides whether the held outputs may still go out.
    let stop = match committing.take() {
        Some(pending) => match (joined(pending.await), stop) {
            (Err(e), Stop::Shutdown) => Stop::Failed(e),
            (_, stop) => stop,
        },
        None => stop,
    };
    let stop = match stop {
        Stop::Shutdown if !txn.rewind.load(Ordering::SeqCst) => match add_held(
            &consumer,
            &txn,
            &mut start,
            &mut consumed,
            &mut held,
            shutdown,
        ) {
            Ok(()) => Stop::Shutdown,
            Err(e) => Stop::Failed(e),
        },
        stop => stop,
    };

    let deadline = Duration::from_secs(config.pipeline.shutdown_timeout_secs);
    let started = Instant::now();
    let failure = match stop {
        Stop::Shutdown => None,
        Stop::Fatal => Some(
            txn.take_failure()
                .unwrap_or_else(|| fatal_error(&consumer, &producer)),
        ),
        Stop::Failed(e) => Some(e),
    };
    if let Some(e) = failure {
        let uncommitted = consumed.uncommitted(&committed);
        return Err(work.fail(e, consumer, producer, uncommitted));
    }
    tracing::info!(
        open = txn.len(),
        "shutting down: committing the open transaction"
    );
    // A rewind pending now (held outputs dropped after a revoke in the last turn, or an earlier
    // transaction aborted) leaves nothing open to commit: the loop adds nothing while one is. Read
    // before the last commit, whose own abort would set the flag too and must stay a failure.
    let rewind_pending = txn.rewind.load(Ordering::SeqCst);
    // The watchdog's margin is inside the deadline: a commit stuck in librdkafka ends the process
    // by the deadline, saying what it leaves uncommitted.
    let committed_last = txn.commit_counting(
        consumer.group_metadata(),
        within(deadline),
        Some(consumed.uncommitted(&committed)),
    );
    // Messages read since the last commit while a rewind was pending were not committed (their
    // outputs aborted, or never sent): the rewind would have read them again, and now their
    // partitions' next owner does. Leaving them is the rewind, not a failure.
    if committed_last.is_ok() && rewind_pending {
        let unsent = consumed.uncommitted(&committed);
        let to = committed.lock().map(|c| c.clone()).unwrap_or_default();
        consumed.rewind_to(&to);
        tracing::info!(
            messages = unsent,
            "a rewind was pending at shutdown: the messages read since the last commit were not \
             committed (aborted or never sent); their partitions' next owner reads them"
        );
    }
    let left = deadline.saturating_sub(started.elapsed());
    let closed = close_within(consumer, producer, left, None);
    let uncommitted = consumed.uncommitted(&committed);
    if let Err(e) = committed_last {
        tracing::error!(
            error = %e,
            "the last transaction did not commit: {uncommitted} messages left uncommitted (their \
             next owner processes them again)"
        );
        health.fail(e.to_string());
        return Err(e);
    }
    if !closed || uncommitted > 0 {
        return Err(if !closed || started.elapsed() >= deadline {
            PipelineError::ShutdownDeadline(deadline, uncommitted)
        } else {
            PipelineError::Uncommitted(uncommitted)
        });
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The messages of `batch` whose partition the consumer still holds (asked once a partition).
fn assigned_only<'m>(
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
    batch: Vec<BorrowedMessage<'m>>,
) -> Vec<BorrowedMessage<'m>> {
    let mut held: Vec<(i32, String, bool)> = Vec::new();
    batch
        .into_iter()
        .filter(|m| {
            if let Some((_, _, h)) = held
                .iter()
                .find(|(p, t, _)| *p == m.partition() && t == m.topic())
            {
                return *h;
            }
            let h = consumer.context().is_assigned(m.topic(), m.partition());
            held.push((m.partition(), m.topic().to_string(), h));
            h
        })
        .collect()
}

/// Forgets what the loop, the transactions and the start check know of revoked partitions;
/// whether there were any.
fn forget(
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
    txn: &Transactions,
    start: &mut StartCheck,
    consumed: &mut Consumed,
) -> bool {
    let revoked = forget_revoked(consumer, None, consumed);
    for (topic, partition) in &revoked {
        txn.forget(topic, *partition);
        start.forget(topic, *partition);
    }
    !revoked.is_empty()
}

/// Forgets revoked partitions ([`forget`]); if there were any while outputs were held, drops the
/// held outputs and asks the loop to rewind the partitions kept to the last commit, as after an
/// abort: a revoke's commit did not include them, and outputs of a partition now someone else's
/// must not join a later one. Whether it dropped them.
fn drop_held_if_revoked(
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
    txn: &Transactions,
    start: &mut StartCheck,
    consumed: &mut Consumed,
    held: &mut Held,
) -> bool {
    if forget(consumer, txn, start, consumed) && !held.is_empty() {
        held.clear();
        txn.rewind.store(true, Ordering::SeqCst);
        return true;
    }
    false
}

/// Adds the held outputs to the open transaction, unless partitions were revoked since they were
/// analysed ([`drop_held_if_revoked`]).
fn add_held(
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
    txn: &Transactions,
    start: &mut StartCheck,
    consumed: &mut Consumed,
    held: &mut Held,
    shutdown: &CancellationToken,
) -> Result<(), PipelineError> {
    if drop_held_if_revoked(consumer, txn, start, consumed, held) {
        return Ok(());
    }
    held.add_to(txn, shutdown)
}

/// Commits the open transaction on a blocking thread, with the group's metadata as it is now.
fn commit_elsewhere(
    txn: &Arc<Transactions>,
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
) -> tokio::task::JoinHandle<Result<(), PipelineError>> {
    let (txn, group) = (txn.clone(), consumer.group_metadata());
    tokio::task::spawn_blocking(move || txn.commit(group, CALL_TIMEOUT))
}

/// The result of a commit run by [`commit_elsewhere`]; a panic on its thread is an error.
fn joined(
    done: Result<Result<(), PipelineError>, tokio::task::JoinError>,
) -> Result<(), PipelineError> {
    done.unwrap_or_else(|e| {
        Err(PipelineError::Fatal {
            client: "producer",
            detail: format!("the transaction's commit did not finish: {e}"),
        })
    })
}

/// Outputs analysed while a commit was in progress, waiting to join the next transaction.
#[derive(Default)]
struct Held {
    items: Vec<Item>,
    /// Per partition, the offset after the last message held.
    next: Consumed,
}

impl Held {
    fn push(&mut self, msg: &BorrowedMessage<'_>, output: Output, outcome: Outcome) {
        self.next.note(msg.topic(), msg.partition(), msg.offset());
        self.items
            .push((output, outcome, msg.timestamp().to_millis()));
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn clear(&mut self) {
        *self = Held::default();
    }

    /// Adds what is held to the open transaction (beginning one if none is).
    fn add_to(
        &mut self,
        txn: &Transactions,
        shutdown: &CancellationToken,
    ) -> Result<(), PipelineError> {
        if self.is_empty() {
            return Ok(());
        }
        let Held { items, next } = std::mem::take(self);
        // A trail for audits (the chaos run turns it on): which inputs went into which
        // transaction, and which transactions committed.
        tracing::debug!(ranges = ?next.ranges(), messages = items.len(), "outputs added to the transaction");
        txn.add(items, next.next_offsets(), shutdown)
    }
}

/// Where a newly assigned partition really starts.
///
/// librdkafka 2.12 can start a partition at `auto.offset.reset` when its committed offset is
/// still pending in another instance's open transaction (`UNSTABLE_OFFSET_COMMIT`) and the
/// assignment changes meanwhile: its log says "Adding [p] back to pending list because on-going
/// transaction is blocking offset retrieval", then "Starting pending assigned partition [p] at
/// offset INVALID", and it reads from the beginning, which would commit every output of that
/// partition a second time. So the first message of every assigned partition is checked against
/// the group's committed offset, fetched as KIP-447 asks (waiting while a transaction holds it).
/// A partition that did not start there (too early: its outputs would be committed twice; too
/// late, under `auto.offset.reset = "latest"`: messages would be skipped) is sought to it, and its
/// messages of this batch are dropped: they come again from there.
#[derive(Default)]
struct StartCheck {
    /// Per checked partition: the offset its reading must not start below. A list, found
    /// without allocating a key for every message.
    floor: Vec<((String, i32), i64)>,
}

impl StartCheck {
    fn forget(&mut self, topic: &str, partition: i32) {
        self.floor
            .retain(|((t, p), _)| !(*p == partition && t == topic));
    }

    fn floor_of(&self, topic: &str, partition: i32) -> Option<i64> {
        self.floor
            .iter()
            .find(|((t, p), _)| *p == partition && t == topic)
            .map(|(_, f)| *f)
    }

    /// The messages of `batch` that start, or follow, where their partition was committed.
    fn check<'m>(
        &mut self,
        consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
        watchdog: &Watchdog,
        batch: Vec<BorrowedMessage<'m>>,
    ) -> Result<Vec<BorrowedMessage<'m>>, PipelineError> {
        let mut kept = Vec::with_capacity(batch.len());
        let mut sought: Vec<(String, i32)> = Vec::new();
        for msg in batch {
            if sought
                .iter()
                .any(|(t, p)| *p == msg.partition() && t == msg.topic())
            {
                continue;
            }
            let key = || (msg.topic().to_string(), msg.partition());
            let floor = match self.floor_of(msg.topic(), msg.partition()) {
                Some(f) => f,
                None => match committed_offset(consumer, watchdog, msg.topic(), msg.partition())? {
                    Some(committed) if committed != msg.offset() => {
                        tracing::warn!(
                            topic = msg.topic(),
                            partition = msg.partition(),
                            started = msg.offset(),
                            committed,
                            "partition did not start at its committed offset: seeking there"
                        );
                        let _watched = watchdog.guard("seek", CALL_TIMEOUT);
                        consumer.seek(
                            msg.topic(),
                            msg.partition(),
                            Offset::Offset(committed),
                            CALL_TIMEOUT,
                        )?;
                        self.floor.push((key(), committed));
                        sought.push(key());
                        continue;
                    }
                    Some(committed) => {
                        tracing::debug!(
                            topic = msg.topic(),
                            partition = msg.partition(),
                            offset = committed,
                            "partition starts at its committed offset"
                        );
                        self.floor.push((key(), committed));
                        committed
                    }
                    // Nothing committed yet: a new group, where auto.offset.reset decides.
                    None => {
                        tracing::debug!(
                            topic = msg.topic(),
                            partition = msg.partition(),
                            offset = msg.offset(),
                            "partition starts with nothing committed"
                        );
                        self.floor.push((key(), msg.offset()));
                        msg.offset()
                    }
                },
            };
            if msg.offset() >= floor {
                kept.push(msg);
            } else {
                tracing::debug!(
                    topic = msg.topic(),
                    partition = msg.partition(),
                    offset = msg.offset(),
                    floor,
                    "message below its partition's start dropped"
                );
            }
        }
        Ok(kept)
    }
}

/// The group's committed offset of one partition (the next to read), `None` when there is none.
fn committed_offset(
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
    watchdog: &Watchdog,
    topic: &str,
    partition: i32,
) -> Result<Option<i64>, PipelineError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    let got = {
        let _watched = watchdog.guard("committed_offsets", CALL_TIMEOUT);
        consumer.committed_offsets(tpl, CALL_TIMEOUT)?
    };
    let Some(e) = got.find_partition(topic, partition) else {
        return Ok(None);
    };
    e.error()?;
    Ok(match e.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    })
}

/// Seeks every partition this instance consumed back to the end of its last committed
/// transaction (or to the first offset it read, if none committed yet).
fn rewind(
    consumer: &rdkafka::consumer::StreamConsumer<super::kafka::Context>,
    watchdog: &Watchdog,
    committed: &Mutex<HashMap<(String, i32), i64>>,
    consumed: &mut Consumed,
) -> Result<(), PipelineError> {
    let committed = committed.lock().map(|c| c.clone()).unwrap_or_default();
    for ((topic, partition), to) in consumed.rewind_to(&committed) {
        tracing::info!(%topic, partition, offset = to, "rewinding to the last commit (an aborted transaction, or outputs dropped after a revoke)");
        let _watched = watchdog.guard("seek", CALL_TIMEOUT);
        consumer.seek(&topic, partition, Offset::Offset(to), CALL_TIMEOUT)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::client::Callbacks;

    /// A fault injected without a broker: a producer with room for one message and nowhere to
    /// deliver it, so every later send finds its queue full for good.
    fn stuck_producer() -> FutureProducer<ClientCtx> {
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("queue.buffering.max.messages", "1")
            .create_with_context(Callbacks::new().ctx("producer"))
            .expect("producer")
    }

    fn output() -> Output {
        Output {
            topic: "earshot-test".into(),
            key: None,
            payload: b"{}".to_vec(),
            headers: None,
        }
    }

    #[test]
    fn a_full_queue_is_waited_on_only_until_told_to_give_up() {
        let producer = stuck_producer();
        assert!(
            send(&producer, &output(), &|| false).is_ok(),
            "room for one"
        );
        let asked = std::cell::Cell::new(0);
        let give_up = || {
            asked.set(asked.get() + 1);
            asked.get() >= 3
        };
        let err = send(&producer, &output(), &give_up).expect_err("the queue stays full");
        assert!(
            matches!(
                err,
                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
            ),
            "{err}"
        );
        assert_eq!(asked.get(), 3, "it waited while told to, then gave up");
    }
}
