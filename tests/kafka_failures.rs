//! Failure handling against a real broker: a fatal client error or a record refused for good ends the
//! process, and shutdown keeps its deadline when the broker is gone, under either guarantee. The
//! second test runs a broker of its own (scripts/kafka.sh on free ports), since it stops it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(60);

fn log_of(name: &str) -> String {
    std::fs::read_to_string(log_path(name)).unwrap_or_default()
}

#[test]
fn a_fenced_static_member_exits_non_zero_and_its_successor_carries_on() {
    let s = Setup::new("fenced", 2);
    let n = 400;
    produce(&s.input, &valid_inputs(n));
    // Two instances that claim the same static identity: the second fences the first, which
    // librdkafka reports as a fatal error.
    let identity = [(
        "EARSHOT_KAFKA__CONSUMER",
        r#"{"group.instance.id" = "pod-0"}"#,
    )];
    let first_log = format!("{}-first", s.group);
    let mut first = Daemon::start_logged(&s, &identity, &first_log);
    first.wait_ready(WAIT);
    let some = read_n(&s.output, 50, WAIT);
    assert!(some.len() >= 50, "the first instance works");

    let mut second = Daemon::start_logged(&s, &identity, &format!("{}-second", s.group));
    let started = Instant::now();
    let code = first.wait(WAIT);
    let took = started.elapsed();
    let log = log_of(&first_log);
    assert_eq!(
        code,
        Some(1),
        "a fenced instance exits with an error, not 0 and not hanging; its log:\n{log}"
    );
    assert!(
        log.contains("fatal consumer error") && log.contains("FencedInstanceId"),
        "the exit says why; log:\n{log}"
    );
    assert!(!log.contains("shut down cleanly"), "log:\n{log}");
    eprintln!("fenced: the first instance exited {took:?} after the second started");

    // The successor owns the partitions and finishes the stream: nothing was lost.
    second.wait_ready(WAIT);
    let out = read_distinct(&s.output, n, WAIT, source_of);
    let distinct: std::collections::BTreeSet<(i64, i64)> = out.iter().map(source_of).collect();
    assert_eq!(distinct.len(), n, "every input has its insight");
    assert_eq!(second.get("/healthz").map(|r| r.0), Some(200));
    second.signal("TERM");
    assert_eq!(second.wait(WAIT), Some(0));
}

/// A broker of this test's own, on free ports, stopped when the guard drops.
struct Broker {
    env: Vec<(String, String)>,
    pub address: String,
}

impl Broker {
    fn start() -> Broker {
        let port = free_port();
        let controller = free_port();
        let state = std::env::temp_dir().join(format!("earshot-kafka-test-{port}"));
        let env = vec![
            ("KAFKA_PORT".to_string(), port.to_string()),
            ("KAFKA_CONTROLLER_PORT".to_string(), controller.to_string()),
            (
                "KAFKA_STATE_DIR".to_string(),
                state.to_string_lossy().into_owned(),
            ),
        ];
        let b = Broker {
            env,
            address: format!("127.0.0.1:{port}"),
        };
        b.script("start");
        b
    }

    fn script(&self, what: &str) {
        let ok = Command::new("bash")
            .arg(format!("{}/scripts/kafka.sh", env!("CARGO_MANIFEST_DIR")))
            .arg(what)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .status()
            .expect("scripts/kafka.sh runs")
            .success();
        assert!(ok, "scripts/kafka.sh {what} failed");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.script("stop");
    }
}

/// Under at least once and under exactly once (with its transaction open: librdkafka 2.12's
/// `send_offsets_to_transaction` may wait past its timeout for a coordinator that is gone, and the
/// watchdog must end the process by the deadline all the same).
#[test]
fn sigterm_with_the_broker_gone_exits_within_the_deadline_saying_what_is_left() {
    let broker = Broker::start();
    let s = Setup::new_at(&broker.address, "nobroker", 2);
    let x = Setup::new_at(&broker.address, "nobroker-eos", 2);
    let n = 3000;
    produce_at(&broker.address, &s.input, &valid_inputs(n));
    produce_at(&broker.address, &x.input, &valid_inputs(n));
    let deadline_secs = 5;
    let common_env = [
        ("EARSHOT_KAFKA__BROKERS", broker.address.as_str()),
        ("EARSHOT_PIPELINE__SHUTDOWN_TIMEOUT_SECS", "5"),
    ];
    let mut d = Daemon::start_with(
        &s,
        &[
            common_env[0],
            common_env[1],
            // Slow deliveries down so that work is in flight when the broker goes.
            ("EARSHOT_PIPELINE__MAX_IN_FLIGHT", "20"),
        ],
    );
    // One transaction that holds the whole input when the broker goes: it commits only when it
    // has 10 x 1000 messages, or after 10 minutes (the broker lets it live for 2).
    let mut e = Daemon::start_with(
        &x,
        &[
            common_env[0],
            common_env[1],
            ("EARSHOT_PIPELINE__GUARANTEE", "exactly_once"),
            ("EARSHOT_PIPELINE__MAX_IN_FLIGHT", "1000"),
            ("EARSHOT_PIPELINE__TRANSACTION_INTERVAL_MS", "600000"),
            (
                "EARSHOT_KAFKA__PRODUCER",
                r#"{"transaction.timeout.ms" = "120000"}"#,
            ),
            // Above the transaction timeout, as the configuration requires.
            ("EARSHOT_KAFKA__STALL_TIMEOUT_SECS", "180"),
        ],
    );
    d.wait_ready(WAIT);
    e.wait_ready(WAIT);
    assert!(
        common::read_n_at(&broker.address, &s.output, 100, WAIT).len() >= 100,
        "the daemon works before the outage"
    );
    let began = Instant::now();
    while e.metric("earshot_in_flight_messages") < n as f64 {
        assert!(
            began.elapsed() < WAIT,
            "the exactly-once daemon puts the input in its open transaction"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    broker.script("stop");
    std::thread::sleep(Duration::from_secs(1));
    let asked = Instant::now();
    d.signal("TERM");
    e.signal("TERM");
    let code = d.wait(Duration::from_secs(deadline_secs + 15));
    let took = asked.elapsed();
    let log = log_of(&s.group);
    eprintln!("no broker: SIGTERM to exit {took:?}, code {code:?}");
    let eos_code = e.wait(Duration::from_secs(deadline_secs + 15));
    let eos_took = asked.elapsed();
    let eos_log = log_of(&x.group);
    eprintln!("no broker, exactly once: SIGTERM to exit {eos_took:?}, code {eos_code:?}");
    assert!(
        eos_took < Duration::from_secs(deadline_secs + 3) && eos_code == Some(1),
        "exactly once: exit 1 within the {deadline_secs} s deadline, took {eos_took:?}, code {eos_code:?}; log:\n{eos_log}"
    );
    assert!(
        eos_log.contains(&format!("{n} messages left uncommitted")),
        "the exit says how many messages were left; log:\n{eos_log}"
    );
    assert!(
        took < Duration::from_secs(deadline_secs + 3),
        "exit within the {deadline_secs} s deadline (and a little for the process), took {took:?}; log:\n{log}"
    );
    assert_eq!(
        code,
        Some(1),
        "a shutdown that could not commit is an error; log:\n{log}"
    );
    assert!(
        log.contains("left uncommitted"),
        "the exit says how many messages were left; log:\n{log}"
    );
    // librdkafka retries every broker each second and reports each failure: a connection refused
    // and "all brokers down". Each is said once per interval, so a few seconds of outage give at
    // most those two lines per client.
    for client in ["kafka consumer error", "kafka producer error"] {
        let lines = log.lines().filter(|l| l.contains(client)).count();
        assert!(
            lines <= 2,
            "a broker outage is logged once per interval and error, not per attempt ({lines} lines of {client}); log:\n{log}"
        );
    }
    // The loop that reads the consumer gets the same errors the client's callback logged: it
    // does not say them a second time.
    let twice = log
        .lines()
        .filter(|l| l.contains("consume error") && !l.contains("DEBUG"))
        .count();
    assert_eq!(
        twice, 0,
        "a consumer error is logged once, by the client's callback; log:\n{log}"
    );
    assert!(!log.contains('\u{1b}'), "no colour codes in a log file");
}

#[test]
fn exactly_once_through_a_kill_and_a_rebalance_gives_every_input_one_output() {
    let s = Setup::new("eos", 4);
    let n = 6000;
    produce(&s.input, &valid_inputs(n));
    let eos = [
        ("EARSHOT_PIPELINE__GUARANTEE", "exactly_once"),
        ("EARSHOT_PIPELINE__MAX_IN_FLIGHT", "200"),
    ];
    // The reader is read_committed (librdkafka's default): it sees committed transactions only.
    let mut a = Daemon::start_logged(&s, &eos, &format!("{}-a", s.group));
    assert!(read_n(&s.output, 300, WAIT).len() >= 300, "a made progress");
    a.signal("KILL");
    assert_eq!(a.wait(WAIT), None, "killed by the signal");

    // Its successor starts where a's last committed transaction ended (while a's open transaction
    // still holds the offsets, until the broker aborts it); a third instance joins mid-stream, so
    // partitions move while transactions are open.
    let mut b = Daemon::start_logged(&s, &eos, &format!("{}-b", s.group));
    b.wait_ready(WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let mut c = Daemon::start_logged(&s, &eos, &format!("{}-c", s.group));
    let started = Instant::now();
    while committed(&s.group, &s.input, 4) != end_offsets(&s.input, 4) {
        assert!(
            started.elapsed() < WAIT * 2,
            "the group finished the input: committed {:?}, end {:?}",
            committed(&s.group, &s.input, 4),
            end_offsets(&s.input, 4)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Everything committed is readable; read one more than expected to catch a duplicate.
    let out = read_n(&s.output, n + 1, Duration::from_secs(15));
    let sources: std::collections::BTreeSet<(i64, i64)> = out.iter().map(source_of).collect();
    assert_eq!(
        (sources.len(), out.len()),
        (n, n),
        "every input has its output (distinct inputs seen) and only one (records read)"
    );

    let committed_txns = r#"earshot_kafka_transactions_total{result="committed"}"#;
    assert!(b.metric(committed_txns) + c.metric(committed_txns) > 0.0);
    assert!(
        c.metric("earshot_kafka_assigned_partitions") > 0.0,
        "c took partitions"
    );
    for d in [&mut b, &mut c] {
        d.signal("TERM");
        assert_eq!(
            d.wait(WAIT),
            Some(0),
            "a clean exit commits the open transaction"
        );
    }
}

#[test]
fn a_fenced_transactional_producer_exits_non_zero_and_nothing_is_counted_twice() {
    let s = Setup::new("txfenced", 2);
    let n = 400;
    produce(&s.input, &valid_inputs(n));
    // Two instances that claim the same transactional.id: the second's producer fences the first's,
    // a fatal error for the first at its next transactional call.
    let eos = [
        ("EARSHOT_PIPELINE__GUARANTEE", "exactly_once"),
        ("EARSHOT_KAFKA__TRANSACTIONAL_ID", "earshot-pod-0"),
    ];
    let first_log = format!("{}-first", s.group);
    let mut first = Daemon::start_logged(&s, &eos, &first_log);
    first.wait_ready(WAIT);
    assert!(
        read_n(&s.output, 50, WAIT).len() >= 50,
        "the first instance works"
    );

    let mut second = Daemon::start_logged(&s, &eos, &format!("{}-second", s.group));
    second.wait_ready(WAIT);
    // More work: the first instance meets the fencing at its next transaction.
    let more: Vec<_> = valid_inputs(2 * n).into_iter().skip(n).collect();
    produce(&s.input, &more);
    let code = first.wait(WAIT);
    let log = log_of(&first_log);
    assert_eq!(
        code,
        Some(1),
        "a fenced producer ends its process; log:\n{log}"
    );
    assert!(
        log.contains("fatal producer error"),
        "the exit says which client failed and why; log:\n{log}"
    );
    let out = read_n(&s.output, 2 * n + 1, Duration::from_secs(20));
    let sources: std::collections::BTreeSet<(i64, i64)> = out.iter().map(source_of).collect();
    assert_eq!(
        (sources.len(), out.len()),
        (2 * n, 2 * n),
        "every input once, none twice, across the fencing"
    );
    second.signal("TERM");
    assert_eq!(second.wait(WAIT), Some(0));
}

/// A dead-letter topic the broker won't write a keyless record to: compacted.
fn compacted_topic(name: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::config::ClientConfig;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    let res = futures::executor::block_on(admin.create_topics(&[topic], &AdminOptions::new()))
        .expect("create topic");
    for r in res {
        r.expect("topic created");
    }
}

#[test]
fn a_record_the_broker_refuses_for_good_stops_the_instance_instead_of_a_retry_loop() {
    // A malformed keyless input becomes a keyless dead letter, which a compacted topic refuses
    // (INVALID_RECORD) on every attempt. Retried forever, it held the partition with /healthz OK;
    // now the instance exits 1 naming the refusal, and the input stays uncommitted for a fixed
    // configuration to read again.
    for guarantee in ["at_least_once", "exactly_once"] {
        let name = format!("refused-{}", &guarantee[..5]);
        let s = Setup::new(&name, 1);
        let dead = unique(&format!("{name}-compacted-dlq"));
        compacted_topic(&dead);
        produce(&s.input, &valid_inputs(1));
        // Keyless, unlike what `produce` writes.
        let p = producer();
        let bad = b"{\"platform\": \"twitter\", ";
        p.send(rdkafka::producer::BaseRecord::<(), [u8]>::to(&s.input).payload(&bad[..]))
            .map_err(|(e, _)| e)
            .expect("keyless record queued");
        rdkafka::producer::Producer::flush(&p, Duration::from_secs(30)).expect("flush");
        let mut d = Daemon::start_with(
            &s,
            &[
                ("EARSHOT_PIPELINE__GUARANTEE", guarantee),
                ("EARSHOT_KAFKA__DEAD_LETTER_TOPIC", dead.as_str()),
            ],
        );
        let code = d.wait(WAIT);
        let log = log_of(&s.group);
        assert_eq!(
            code,
            Some(1),
            "{guarantee}: a refused record stops the instance; log:\n{log}"
        );
        assert!(
            log.contains("cannot go on") && log.contains("not compacted"),
            "{guarantee}: the exit says what was refused and what to look at; log:\n{log}"
        );
        // The malformed input (offset 1) is not committed: nothing is lost.
        let c = committed(&s.group, &s.input, 1);
        assert!(
            c[0] < 2,
            "{guarantee}: committed {c:?} past the refused dead letter"
        );
    }
}

/// A partition whose committed offset is held by a transaction that never ends (a hanging
/// transaction, or a client waiting on one that never hears it end) has messages and is never
/// read: the stall detector ends the instance, saying which partition and in what state, instead
/// of leaving a live member that holds the partition and reads nothing. Once the transaction
/// ends, a new instance reads everything.
#[test]
fn a_partition_that_never_starts_stalls_and_the_instance_exits_saying_so() {
    use rdkafka::producer::Producer;

    let s = Setup::new("stall", 1);
    let n = 100;
    produce(&s.input, &valid_inputs(n));
    let holder = hold_offset_in_open_transaction(&s.group, &s.input, 0, 10);

    let log = format!("{}-stalled", s.group);
    let mut stalled = Daemon::start_logged(&s, &[("EARSHOT_KAFKA__STALL_TIMEOUT_SECS", "5")], &log);
    let code = stalled.wait(WAIT);
    let text = log_of(&log);
    assert_eq!(
        code,
        Some(1),
        "a stalled instance exits non-zero; log:\n{text}"
    );
    assert!(
        text.contains("partition stalled") && text.contains(&format!("{} [0]", s.input)),
        "the exit names the partition; log:\n{text}"
    );
    assert_eq!(
        read_n(&s.output, 1, Duration::from_secs(2)).len(),
        0,
        "nothing was read while it stalled"
    );

    // The cause gone, a new instance reads on from the committed offset (none: the start).
    holder
        .abort_transaction(Duration::from_secs(30))
        .expect("abort");
    let mut next = Daemon::start_logged(&s, &[], &format!("{}-next", s.group));
    let out = read_distinct(&s.output, n, WAIT, source_of);
    assert_eq!(out.len(), n, "every input has its insight");
    next.signal("TERM");
    assert_eq!(next.wait(WAIT), Some(0));
}
