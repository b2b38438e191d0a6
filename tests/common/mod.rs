//! Helpers for the end-to-end tests: a real Kafka broker (started by scripts/test.sh and named by
//! `EARSHOT_TEST_KAFKA`), the earshot binary as a child process, and readers for its outputs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

/// The broker's bootstrap address. The end-to-end tests need a real broker: run them through
/// `scripts/test.sh`, which starts one. Without it they fail loudly rather than skip.
pub fn brokers() -> String {
    std::env::var("EARSHOT_TEST_KAFKA").unwrap_or_else(|_| {
        panic!("EARSHOT_TEST_KAFKA is not set: run the end-to-end tests with scripts/test.sh, which starts a real Kafka broker")
    })
}

/// Unique names per test, so tests share one broker without seeing each other's data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub fn create_topics(names: &[&str], partitions: i32) {
    create_topics_at(&brokers(), names, partitions)
}

/// [`create_topics`] on another broker than the shared one.
pub fn create_topics_at(brokers: &str, names: &[&str], partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, partitions, TopicReplication::Fixed(1)))
        .collect();
    let res = futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))
        .expect("create topics");
    for r in res {
        r.expect("topic created");
    }
}

pub fn producer() -> ThreadedProducer<DefaultProducerContext> {
    producer_at(&brokers())
}

pub fn producer_at(brokers: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Sends values (None = tombstone) with keys spread over partitions, and waits for all acks.
pub fn produce(topic: &str, values: &[Option<Vec<u8>>]) {
    produce_at(&brokers(), topic, values)
}

/// [`produce`] to another broker than the shared one.
pub fn produce_at(brokers: &str, topic: &str, values: &[Option<Vec<u8>>]) {
    let p = producer_at(brokers);
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        let mut rec = BaseRecord::to(topic)
            .key(&key)
            .headers(OwnedHeaders::new().insert(rdkafka::message::Header {
                key: "test-seq",
                value: Some(&i.to_string()),
            }));
        if let Some(v) = v {
            rec = rec.payload(v);
        }
        let mut rec = Some(rec);
        loop {
            match p.send(rec.take().expect("record")) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(
                        matches!(
                            e,
                            rdkafka::error::KafkaError::MessageProduction(
                                rdkafka::types::RDKafkaErrorCode::QueueFull
                            )
                        ),
                        "produce failed: {e}"
                    );
                    rec = Some(r);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// One record read back from an output topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: HashMap<String, String>,
}

impl Record {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.value.as_deref().expect("value")).expect("output is JSON")
    }
}

/// Reads a whole topic from the beginning until `done` (shown each new record) says enough, or
/// `timeout` passes.
pub fn read_until(
    topic: &str,
    timeout: Duration,
    done: impl FnMut(&Record) -> bool,
) -> Vec<Record> {
    read_until_at(&brokers(), topic, timeout, done)
}

/// [`read_until`] on another broker than the shared one.
pub fn read_until_at(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&Record) -> bool,
) -> Vec<Record> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    let mut out: Vec<Record> = Vec::new();
    let start = Instant::now();
    let mut finished = false;
    while start.elapsed() < timeout && !finished {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            let mut headers = HashMap::new();
            if let Some(h) = m.headers() {
                for hd in h.iter() {
                    headers.insert(
                        hd.key.to_string(),
                        String::from_utf8_lossy(hd.value.unwrap_or_default()).into_owned(),
                    );
                }
            }
            out.push(Record {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers,
            });
            finished = done(out.last().expect("just pushed"));
        }
    }
    out
}

/// Reads until at least `n` records, or the timeout.
pub fn read_n(topic: &str, n: usize, timeout: Duration) -> Vec<Record> {
    read_n_at(&brokers(), topic, n, timeout)
}

/// [`read_n`] on another broker than the shared one.
pub fn read_n_at(brokers: &str, topic: &str, n: usize, timeout: Duration) -> Vec<Record> {
    if n == 0 {
        return Vec::new();
    }
    let mut seen = 0;
    read_until_at(brokers, topic, timeout, |_| {
        seen += 1;
        seen >= n
    })
}

/// Reads until `n` distinct values of `key` (computed per record) were seen, or the timeout.
pub fn read_distinct<K: std::hash::Hash + Eq>(
    topic: &str,
    n: usize,
    timeout: Duration,
    key: impl Fn(&Record) -> K,
) -> Vec<Record> {
    let mut seen = std::collections::HashSet::new();
    read_until(topic, timeout, |r| {
        seen.insert(key(r));
        seen.len() >= n
    })
}

/// (partition, offset) of the input an insight came from.
pub fn source_of(r: &Record) -> (i64, i64) {
    let v = r.json();
    (
        v["source"]["partition"].as_i64().expect("partition"),
        v["source"]["offset"].as_i64().expect("offset"),
    )
}

/// Committed offsets of a group for every partition of a topic (-1 where none).
pub fn committed(group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

/// End offsets (high watermarks) of every partition of a topic.
pub fn end_offsets(topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("consumer");
    (0..partitions)
        .map(|p| {
            c.fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .collect()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Topics and group of one daemon under test.
#[derive(Clone)]
pub struct Setup {
    pub input: String,
    pub output: String,
    pub dead: String,
    pub group: String,
    pub partitions: i32,
}

impl Setup {
    pub fn new(name: &str, partitions: i32) -> Setup {
        Self::new_at(&brokers(), name, partitions)
    }

    /// [`Setup::new`] on another broker than the shared one.
    pub fn new_at(brokers: &str, name: &str, partitions: i32) -> Setup {
        let s = Setup {
            input: unique(&format!("{name}-in")),
            output: unique(&format!("{name}-out")),
            dead: unique(&format!("{name}-dlq")),
            group: unique(&format!("{name}-group")),
            partitions,
        };
        create_topics_at(brokers, &[&s.input, &s.output, &s.dead], partitions);
        s
    }
}

/// Where a group's daemon logs go: target/e2e-logs/<group>.log.
pub fn log_path(group: &str) -> String {
    format!("{}/target/e2e-logs/{group}.log", env!("CARGO_MANIFEST_DIR"))
}

/// Daemon logs go to target/e2e-logs/<group>.log (appended across restarts), to read after a failure.
fn log_file(group: &str) -> Stdio {
    let dir = format!("{}/target/e2e-logs", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&dir).expect("log dir");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/{group}.log"))
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::inherit())
}

/// A running earshot daemon.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
}

impl Daemon {
    pub fn start(s: &Setup) -> Daemon {
        Self::start_with(s, &[])
    }

    pub fn start_with(s: &Setup, extra_env: &[(&str, &str)]) -> Daemon {
        Self::start_logged(s, extra_env, &s.group)
    }

    /// [`Daemon::start_with`], logging to target/e2e-logs/<log>.log ([`log_path`]).
    pub fn start_logged(s: &Setup, extra_env: &[(&str, &str)], log: &str) -> Daemon {
        Self::spawn(&["run"], &s.group, &s.dead, log, |cmd| {
            cmd.env(
                "EARSHOT_KAFKA__INPUTS",
                format!("[{{topic = \"{}\", kind = \"auto\"}}]", s.input),
            )
            .env("EARSHOT_KAFKA__OUTPUT_TOPIC", &s.output)
            .env("EARSHOT_KAFKA__STATISTICS_INTERVAL_MS", "500")
            .envs(extra_env.iter().copied());
        })
    }

    /// `earshot <args>` in consumer group `group`, dead-lettering to `dead`, on the test broker
    /// and a free HTTP port, logging to target/e2e-logs/<log>.log; `configure` adds the rest.
    pub fn spawn(
        args: &[&str],
        group: &str,
        dead: &str,
        log: &str,
        configure: impl FnOnce(&mut Command),
    ) -> Daemon {
        let port = free_port();
        let root = env!("CARGO_MANIFEST_DIR");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_earshot"));
        cmd.args(args)
            .env("EARSHOT_CONFIG", format!("{root}/config/earshot.toml"))
            .env("EARSHOT_KAFKA__BROKERS", brokers())
            .env("EARSHOT_PRIVACY_KEY", TEST_PRIVACY_KEY)
            .env("EARSHOT_KAFKA__GROUP_ID", group)
            .env("EARSHOT_KAFKA__DEAD_LETTER_TOPIC", dead)
            .env("EARSHOT_KAFKA__SESSION_TIMEOUT_MS", "6000")
            .env("EARSHOT_HTTP__ADDRESS", format!("127.0.0.1:{port}"))
            .env("EARSHOT_LOG", "info,librdkafka=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(log));
        configure(&mut cmd);
        let child = cmd.spawn().expect("earshot starts");
        Daemon { child, port }
    }

    /// GET a path of the daemon's HTTP listener: (status, body).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    pub fn wait_ready(&mut self, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some((200, _)) = self.get("/readyz") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("earshot exited before it was ready: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("earshot not ready within {timeout:?}");
    }

    /// Value of a metric line (`name{labels}` exactly as exposed), or 0 when absent.
    pub fn metric(&self, series: &str) -> f64 {
        let (_, body) = self.get("/metrics").expect("metrics answer");
        parse_metric(&body, series)
    }

    /// Waits until `series` reaches `at_least`: a stage counts a batch after its commit, which
    /// ends after its output is already visible to a reader.
    pub fn wait_metric(&self, series: &str, at_least: f64, timeout: Duration) {
        let start = Instant::now();
        while self.metric(series) < at_least && start.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(100));
        }
        let now = self.metric(series);
        assert!(
            now >= at_least,
            "{series} is {now}, never reached {at_least}"
        );
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for exit and returns the exit code (None if killed by a signal).
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("earshot did not exit within {timeout:?}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn parse_metric(body: &str, series: &str) -> f64 {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().ok())?
        })
        .unwrap_or(0.0)
}

pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((status, body))
}

/// Valid mixed inputs: posts and tickets, `n` of them, each with a unique id.
/// The pseudonym secret of the daemons the tests start (`EARSHOT_PRIVACY_KEY`).
pub const TEST_PRIVACY_KEY: &str = "earshot test secret, not for production";

pub fn valid_inputs(n: usize) -> Vec<Option<Vec<u8>>> {
    (0..n)
        .map(|i| {
            let v = if i % 3 == 0 {
                serde_json::json!({
                    "id": format!("T-{i}"),
                    "customer": {"id": format!("c{}", i % 17), "segment": "business"},
                    "channel": "chat",
                    "subject": "Internet down",
                    "body": format!("Larkspur Fiber is down again, ticket number {i}. Please help!"),
                    "messages": [{"from": "customer", "text": "Any update?", "at": "2026-11-20T10:05:00Z"}],
                    "created_at": "2026-11-20T10:00:00Z"
                })
            } else {
                serde_json::json!({
                    "platform": "twitter",
                    "id": format!("tw-{i}"),
                    "author": {"id": format!("a{}", i % 23), "handle": format!("user{i}")},
                    "text": format!("Loving the new Larkspur Hub, message {i} 😍"),
                    "created_at": "2026-11-20T10:00:00Z"
                })
            };
            Some(serde_json::to_vec(&v).expect("json"))
        })
        .collect()
}

/// The compiled JSON Schema of a contract in `schemas/`, with format checks on.
pub fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("schema file");
    let value: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&value)
        .expect("schema compiles")
}

/// Panics with every violation when `instance` does not satisfy `validator`.
pub fn assert_valid(validator: &jsonschema::Validator, instance: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations: {errors:?}\nin {instance}"
    );
}

/// A transactional producer holding `group`'s offset of `topic` [`partition`] in a transaction
/// left open (for ten minutes): a `read_committed` member's offset fetch waits for it
/// (`UNSTABLE_OFFSET_COMMIT`), and librdkafka retries without end, so the partition never starts.
/// Abort the transaction to let it go.
pub fn hold_offset_in_open_transaction(
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
) -> rdkafka::producer::BaseProducer {
    let holder: rdkafka::producer::BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("transactional.id", unique("offset-holder"))
        .set("transaction.timeout.ms", "600000")
        .create()
        .expect("producer");
    let t = Duration::from_secs(30);
    holder.init_transactions(t).expect("init");
    holder.begin_transaction().expect("begin");
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .expect("tpl");
    let metadata = member.group_metadata().expect("group metadata");
    holder
        .send_offsets_to_transaction(&tpl, &metadata, t)
        .expect("offsets in the open transaction");
    holder
}
