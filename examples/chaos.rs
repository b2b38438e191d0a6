//! The chaos run of `scripts/chaos.sh` (not part of the product): an operator's worst day, then an
//! audit of what came out.
//!
//!     chaos BROKERS EARSHOT_BINARY [--messages N] [--partitions P] [--instances I] [--seconds S]
//!           [--guarantee at_least_once|exactly_once] [--static true|false] [--restart-broker CMD]
//!     chaos --trail LOGS PARTITION OFFSET   # what the instance logs in LOGS say of one input
//!
//! A producer feeds N messages (one in twenty malformed) into a P-partition topic over the first
//! two thirds of S seconds, while I earshot instances in one group run; every 2–4 s one of them is
//! SIGKILLed and started again, and halfway through the broker is restarted once (`CMD`, a shell
//! command, e.g. `scripts/kafka.sh restart`). Then the killing stops, the group drains, every
//! instance gets SIGTERM, and the outputs are read back as a `read_committed` reader sees them.
//!
//! The audit: every input must have exactly one insight or dead letter; dead letters must be exactly
//! the malformed inputs; a duplicate must be identical to its original but for `processed_at`
//! (at least once) and there must be none at all (exactly once). It prints one summary line and
//! exits non-zero when a rule is broken.
//!
//! With `--memory M`, M customer memory stages (`earshot run --role memory`) read the insights
//! and are killed with the others (a killed one comes back with its state folder, or half the
//! time with an empty one, as a new machine). After the drain one more stage runs alone, without
//! kills, over the same insights into topics of its own: the clean run. The latest state of every
//! customer in the two changelogs must be equal, and so must the customer insights (by id, a
//! duplicate identical to its original).
//!
//! With `--market K`, K market stages (`earshot run --role market`) read the insights too and are
//! killed with the others (half the time coming back with an empty state folder). After the drain a
//! clean market stage runs alone over the same insights: every window's last trend event must be
//! the same in both runs (but a theme's `new`/`rising` mark, a verdict at close).
//!
//! The sample's parties are spread over ten variants (`p-010` becomes `p-010~3`), so a customer
//! says a few things a minute and not dozens a second.

#[path = "support/sample.rs"]
mod sample;

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Headers};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

/// A small deterministic random source (xorshift64*), seeded from the clock.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

struct Opts {
    brokers: String,
    binary: String,
    messages: usize,
    partitions: i32,
    instances: usize,
    seconds: u64,
    guarantee: String,
    static_membership: bool,
    restart_broker: Option<String>,
    memory: usize,
    market: usize,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Opts {
        brokers: args.first().cloned().unwrap_or_default(),
        binary: args.get(1).cloned().unwrap_or_default(),
        messages: 20_000,
        partitions: 6,
        instances: 3,
        seconds: 60,
        guarantee: "at_least_once".into(),
        static_membership: true,
        restart_broker: None,
        memory: 0,
        market: 0,
    };
    let mut i = 2;
    while i + 1 < args.len() {
        let v = args[i + 1].clone();
        match args[i].as_str() {
            "--messages" => o.messages = v.parse().expect("--messages N"),
            "--partitions" => o.partitions = v.parse().expect("--partitions P"),
            "--instances" => o.instances = v.parse().expect("--instances I"),
            "--seconds" => o.seconds = v.parse().expect("--seconds S"),
            "--guarantee" => o.guarantee = v,
            "--static" => o.static_membership = v == "true",
            "--restart-broker" => o.restart_broker = Some(v),
            "--memory" => o.memory = v.parse().expect("--memory M"),
            "--market" => o.market = v.parse().expect("--market K"),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    assert!(
        !o.brokers.is_empty() && !o.binary.is_empty(),
        "usage: chaos BROKERS EARSHOT_BINARY [options]"
    );
    o
}

/// The inputs the producer delivered: those whose delivery report gave their offset, and how many
/// came without one. An idempotent producer's retry after a broker restart can be acknowledged as
/// a duplicate of a write that already landed, and librdkafka then reports success with no offset
/// (-1001); the audit finds those inputs by reading the input topic back.
#[derive(Clone, Default)]
struct Delivered {
    at: BTreeMap<(i32, i64), bool>,
    no_offset: usize,
}

struct Track(Arc<Mutex<Delivered>>);
impl ClientContext for Track {}
impl ProducerContext for Track {
    type DeliveryOpaque = Box<bool>;
    fn delivery(&self, r: &DeliveryResult<'_>, malformed: Box<bool>) {
        match r {
            Ok(m) => {
                if let Ok(mut s) = self.0.lock() {
                    if m.offset() >= 0 {
                        s.at.insert((m.partition(), m.offset()), *malformed);
                    } else {
                        s.no_offset += 1;
                    }
                }
            }
            Err((e, _)) => eprintln!("chaos: a test input was not delivered: {e}"),
        }
    }
}

/// The malformed inputs' payload (every twentieth input): a dead letter is their only output.
const MALFORMED: &[u8] = b"{\"text\": \"not a whole message";

/// Every input in the input topic, read back: (partition, offset) -> malformed? This, not the
/// delivery reports, is what the instances could read, so it is what the audit checks; the
/// reports are checked against it.
fn inputs_in_topic(brokers: &str, input: &str) -> BTreeMap<(i32, i64), bool> {
    read_all(brokers, input, Duration::from_secs(5))
        .iter()
        .map(|m| {
            (
                (m.partition(), m.offset()),
                m.payload().unwrap_or_default() == MALFORMED,
            )
        })
        .collect()
}

/// One earshot instance of the group.
struct Instance {
    child: Child,
    port: u16,
}

/// A run that stops early (a failed assertion) takes its instances with it, so none is left
/// running against the broker.
impl Drop for Instance {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Which instance: an analyser, a memory or market stage of the chaos, or a clean run's.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Analysis,
    Memory,
    Clean,
    Market,
    MarketClean,
}

fn start(o: &Opts, n: usize, role: Role, names: &Names) -> Instance {
    let port = free_port();
    let file = match role {
        Role::Analysis => format!("instance-{n}"),
        Role::Memory => format!("memory-{n}"),
        Role::Clean => "memory-clean".into(),
        Role::Market => format!("market-{n}"),
        Role::MarketClean => "market-clean".into(),
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{}/{file}.log", names.logs))
        .expect("log file");
    let mut cmd = Command::new(&o.binary);
    cmd.arg("run");
    if matches!(role, Role::Market | Role::MarketClean) {
        let (m, group) = if role == Role::MarketClean {
            (&names.market_clean, format!("{}-clean", names.group))
        } else {
            (&names.market, names.group.clone())
        };
        cmd.args(["--role", "market"])
            .env("EARSHOT_KAFKA__GROUP_ID", group)
            .env("EARSHOT_MARKET_STAGE__INPUT_TOPIC", &names.output)
            .env("EARSHOT_MARKET_STAGE__REPARTITION_TOPIC", &m.repartition)
            .env("EARSHOT_MARKET_STAGE__CHANGELOG_TOPIC", &m.changelog)
            .env("EARSHOT_MARKET_STAGE__VOLUMES_TOPIC", &m.volumes)
            .env("EARSHOT_MARKET_STAGE__TRENDS_TOPIC", &m.trends)
            .env("EARSHOT_MARKET_STAGE__ALERTS_TOPIC", &m.alerts)
            .env(
                "EARSHOT_MARKET_STAGE__STATE_DIR",
                format!("{}/{file}", m.state),
            )
            // A brand's whole state is written each commit: every two seconds, so kills still land
            // between commits.
            .env("EARSHOT_MARKET_STAGE__COMMIT_INTERVAL_MS", "2000")
            .env("EARSHOT_MARKET_STAGE__IDLE_CLOSE_SECONDS", "2")
            // Kills reorder the insights across partitions by minutes of the sample's event time:
            // none may be too late, or the result would depend on the order (as it should).
            .env("EARSHOT_MARKET__ALLOWED_LATENESS_SECONDS", "2592000");
    } else if role != Role::Analysis {
        let (m, group) = if role == Role::Clean {
            (&names.clean, format!("{}-clean", names.group))
        } else {
            (&names.memory, names.group.clone())
        };
        cmd.args(["--role", "memory"])
            .env("EARSHOT_KAFKA__GROUP_ID", group)
            .env("EARSHOT_MEMORY__INPUT_TOPIC", &names.output)
            .env("EARSHOT_MEMORY__LINKS_TOPIC", &m.links)
            .env("EARSHOT_MEMORY__REPARTITION_TOPIC", &m.repartition)
            .env("EARSHOT_MEMORY__CHANGELOG_TOPIC", &m.changelog)
            .env("EARSHOT_MEMORY__OUTPUT_TOPIC", &m.output)
            .env("EARSHOT_MEMORY__STATE_DIR", format!("{}/{file}", m.state));
    } else {
        cmd.env("EARSHOT_KAFKA__GROUP_ID", &names.group);
    }
    cmd.env("EARSHOT_KAFKA__BROKERS", &o.brokers)
        .env(
            "EARSHOT_PRIVACY_KEY",
            "earshot chaos secret, not for production",
        )
        .env(
            "EARSHOT_KAFKA__INPUTS",
            format!("[{{topic = \"{}\", kind = \"auto\"}}]", names.input),
        )
        .env("EARSHOT_KAFKA__OUTPUT_TOPIC", &names.output)
        .env("EARSHOT_KAFKA__DEAD_LETTER_TOPIC", &names.dead)
        .env("EARSHOT_PIPELINE__GUARANTEE", &o.guarantee)
        .env("EARSHOT_HTTP__ADDRESS", format!("127.0.0.1:{port}"))
        .env(
            "EARSHOT_LOG",
            std::env::var("CHAOS_EARSHOT_LOG").unwrap_or_else(|_| {
                "info,earshot::shell::exactly_once=debug,librdkafka=warn".into()
            }),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    if o.static_membership {
        cmd.env(
            "EARSHOT_KAFKA__CONSUMER",
            format!("{{\"group.instance.id\" = \"chaos-{file}\"}}"),
        );
    }
    Instance {
        child: cmd.spawn().expect("earshot starts"),
        port,
    }
}

/// The last `n` lines of a log that are not debug lines, each cut to 300 characters.
fn log_tail(path: &str, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines: Vec<String> = text
        .lines()
        .rev()
        .filter(|l| !l.contains(" DEBUG "))
        .take(n)
        .map(|l| l.chars().take(300).collect())
        .collect();
    lines.reverse();
    lines
}

/// The value of a metric of an instance, if it answers.
fn metric(port: u16, series: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

struct Names {
    input: String,
    output: String,
    dead: String,
    group: String,
    logs: String,
    memory: MemoryNames,
    clean: MemoryNames,
    market: MarketNames,
    market_clean: MarketNames,
}

/// The topics and state folders of a market stage.
struct MarketNames {
    repartition: String,
    changelog: String,
    volumes: String,
    trends: String,
    alerts: String,
    state: String,
}

impl MarketNames {
    fn new(id: &str, run: &str) -> MarketNames {
        MarketNames {
            repartition: format!("chaos-{run}-repartition-{id}"),
            changelog: format!("chaos-{run}-changelog-{id}"),
            volumes: format!("chaos-{run}-volumes-{id}"),
            trends: format!("chaos-{run}-trends-{id}"),
            alerts: format!("chaos-{run}-alerts-{id}"),
            state: format!("target/chaos-state/{id}/{run}"),
        }
    }
}

/// The topics and state folders of a memory stage.
struct MemoryNames {
    links: String,
    repartition: String,
    changelog: String,
    output: String,
    state: String,
}

impl MemoryNames {
    fn new(id: &str, run: &str) -> MemoryNames {
        MemoryNames {
            links: format!("chaos-{run}-links-{id}"),
            repartition: format!("chaos-{run}-repartition-{id}"),
            changelog: format!("chaos-{run}-changelog-{id}"),
            output: format!("chaos-{run}-customer-{id}"),
            state: format!("target/chaos-state/{id}/{run}"),
        }
    }
}

/// A sample message with its party moved to variant `v` (`p-010` becomes `p-010~3`), and the
/// party: the key a source system would give it, so one party's messages stay in order on one
/// partition (as they do in a real stream; the customer memory's state follows that order).
fn with_party_variant(message: &[u8], v: usize) -> (Vec<u8>, Option<String>) {
    let Ok(mut m) = serde_json::from_slice::<serde_json::Value>(message) else {
        return (message.to_vec(), None);
    };
    let mut party = None;
    for who in ["author", "customer"] {
        if let Some(id) = m.get_mut(who).and_then(|a| a.get_mut("id")) {
            if let Some(s) = id.as_str() {
                let s = format!("{s}~{v}");
                party = Some(s.clone());
                *id = serde_json::Value::String(s);
            }
        }
    }
    let bytes = serde_json::to_vec(&m).unwrap_or_else(|_| message.to_vec());
    (bytes, party)
}

fn consumer(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer")
}

/// Reads a whole topic as a read_committed reader sees it: until every partition has said it is at
/// its end and nothing new came for `idle` since, or for at most two minutes (then it says which
/// partitions it did not read to the end). A silence alone is not the end: a partition whose fetch
/// is held up (a slow broker, a retried request) would lose its last records from the audit.
fn read_all(brokers: &str, topic: &str, idle: Duration) -> Vec<rdkafka::message::OwnedMessage> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("chaos-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    let partitions: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    for p in &partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let mut at_end = std::collections::BTreeSet::new();
    let began = Instant::now();
    let mut last = Instant::now();
    while at_end.len() < partitions.len() || last.elapsed() < idle {
        if began.elapsed() > Duration::from_secs(120) {
            let short: Vec<&i32> = partitions.iter().filter(|p| !at_end.contains(*p)).collect();
            eprintln!("chaos: {topic}: partitions {short:?} not read to their end within 120 s");
            break;
        }
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                at_end.remove(&m.partition());
                out.push(m.detach());
                last = Instant::now();
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            _ => {}
        }
    }
    out
}

/// Whether `group`'s committed offsets reached the end of every partition of `topics`.
fn drained(brokers: &str, group: &str, topics: &[&str], partitions: i32) -> bool {
    behind(brokers, group, topics, partitions).is_empty()
}

/// The partitions of `topics` where `group`'s committed offset is short of the end.
fn behind(brokers: &str, group: &str, topics: &[&str], partitions: i32) -> Vec<String> {
    let c = consumer(brokers, group);
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in 0..partitions {
            tpl.add_partition(t, p);
        }
    }
    let got = match c.committed_offsets(tpl, Duration::from_secs(10)) {
        Ok(got) => got,
        Err(e) => return vec![format!("committed offsets not read: {e}")],
    };
    let mut out = Vec::new();
    for t in topics {
        for p in 0..partitions {
            // The end of a topic the group writes itself (the repartition topic) moves while it
            // works: read it after the commits, so a record written since is not missed.
            let (low, end) = c
                .fetch_watermarks(t, p, Duration::from_secs(10))
                .unwrap_or((0, i64::MAX));
            let at = got.find_partition(t, p).map(|e| e.offset());
            // A partition nothing was ever written to (no brand of the market hashes there) has
            // nothing to commit.
            let empty = low == end && !matches!(at, Some(Offset::Offset(_)));
            if !empty && !matches!(at, Some(Offset::Offset(o)) if o >= end) {
                out.push(format!("{t}[{p}] committed {at:?}, end {end}"));
            }
        }
    }
    out
}

/// Until the `role` stage of `group` has read its input and its repartition topic to the end
/// (twice in a row, as routing writes to the second).
fn wait_stage_drained(
    o: &Opts,
    group: &str,
    role: &str,
    repartition: &str,
    output: &str,
    restart: &mut dyn FnMut(),
) {
    let group = format!("{group}-{role}");
    let began = Instant::now();
    let since = chrono::Utc::now();
    let mut in_a_row = 0;
    let mut checks = 0;
    while in_a_row < 2 {
        restart();
        let asked = Instant::now();
        let behind = behind(&o.brokers, &group, &[output, repartition], o.partitions);
        checks += 1;
        if behind.is_empty() {
            in_a_row += 1;
        } else {
            in_a_row = 0;
        }
        // The clocks and the count say how the time went (a failure once read 300 s where the
        // stage's own log ran 35 s).
        assert!(
            began.elapsed() < Duration::from_secs(300),
            "the {role} stage did not drain within 300 s (waiting since {since}, {:.1} s by the \
             monotonic clock, {checks} checks, the last took {:.1} s): {behind:?}",
            began.elapsed().as_secs_f64(),
            asked.elapsed().as_secs_f64()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Prints what the analysers' logs say about one input partition around `offset`: the outputs
/// added to transactions whose range covers it, the commits near it, where the partition started,
/// rewinds, revokes, aborts and errors. A failed CI run keeps only what the run printed, so the
/// audit prints the trail itself.
fn print_trail(logs: &str, partition: i32, offset: i64) {
    let ansi = regex::Regex::new(r"\x1b\[[0-9;]*m").expect("pattern");
    let range = regex::Regex::new(r#"\("[^"]+", (\d+)\), \((\d+), (\d+)\)\)"#).expect("pattern");
    let commit = regex::Regex::new(&format!(r#""[^"]+", {partition}\): (\d+)"#)).expect("pattern");
    let mine = format!("partition={partition} ");
    println!("chaos: the trail of input partition {partition} around offset {offset}:");
    for (name, text) in instance_logs(logs) {
        let mut shown = 0;
        for line in text.lines() {
            let line = ansi.replace_all(line, "");
            let near = |n: i64| (n - offset).abs() <= 300;
            let show = if line.contains("outputs added") {
                range.captures_iter(&line).any(|c| {
                    let n = |i: usize| c[i].parse::<i64>().unwrap_or(-1);
                    n(1) == partition as i64 && n(2) - 3 <= offset && offset < n(3) + 3
                })
            } else if line.contains("transaction committed") {
                commit
                    .captures(&line)
                    .is_some_and(|c| near(c[1].parse().unwrap_or(i64::MIN / 2)))
            } else {
                line.contains(&mine)
                    || [
                        "revoked", "assigned", "abort", "ERROR", "fenced", "SIGTERM", "stopping",
                    ]
                    .iter()
                    .any(|w| line.contains(w))
            };
            if show && shown < 80 {
                shown += 1;
                println!("  {name}: {}", line.get(11..).unwrap_or(&line));
            }
        }
    }
}

/// What the analysers' own exactly-once trail says was committed: per input partition, the ranges
/// of offsets whose outputs went out in a committed transaction, and anything odd found on the way
/// (an add whose message count is short of its ranges: the consumer skipped an offset).
struct Trail {
    /// Per input partition: (first, next, where) of every committed range.
    committed: BTreeMap<i32, Vec<(i64, i64, String)>>,
    transactions: usize,
    /// Transactions committed at the broker whose "transaction committed" line died with their
    /// instance (a kill between the commit and the log line): the next start of the partition
    /// read their end as its committed offset.
    unlogged: usize,
    odd: Vec<String>,
}

fn read_trail(logs: &str) -> Trail {
    trail_of(&instance_logs(logs))
}

/// The analysers' logs in `dir` (`instance-*.log`, every start of an instance appended to its
/// file), as (file name, text), by name.
fn instance_logs(dir: &str) -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("instance-"))
    });
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read_to_string(f).unwrap_or_default())
        })
        .collect()
}

/// A range of one input partition added to a transaction: (partition, first, next, where).
type Added = (i32, i64, i64, String);

/// The trail of the logs given as (file name, text).
fn trail_of(logs: &[(String, String)]) -> Trail {
    let ansi = regex::Regex::new(r"\x1b\[[0-9;]*m").expect("pattern");
    let range = regex::Regex::new(r#"\("[^"]+", (\d+)\), \((\d+), (\d+)\)\)"#).expect("pattern");
    let count = regex::Regex::new(r"messages=(\d+)").expect("pattern");
    // Where a partition starts, as the broker's committed offset says: read and started there,
    // read and sought there (librdkafka started elsewhere), or nothing committed (offset 0).
    let starts_at = regex::Regex::new(r"partition=(\d+) offset=(\d+)").expect("pattern");
    let sought_to =
        regex::Regex::new(r"partition=(\d+) started=\d+ committed=(\d+)").expect("pattern");
    let nothing = regex::Regex::new(r"partition=(\d+) offset=").expect("pattern");
    let mut trail = Trail {
        committed: BTreeMap::new(),
        transactions: 0,
        unlogged: 0,
        odd: Vec::new(),
    };
    // What killed instances left open: per death, (time of its last line, its ranges).
    let mut open_at_death: Vec<(String, Vec<Added>)> = Vec::new();
    // Every start of an input partition: (time, partition, the committed offset it read).
    let mut starts: Vec<(String, i32, i64)> = Vec::new();
    for (name, text) in logs {
        // Ranges added since this instance's last commit or abort.
        let mut pending: Vec<Added> = Vec::new();
        let mut last_time = String::new();
        for line in text.lines() {
            let line = ansi.replace_all(line, "");
            let at = || format!("{name} {}", line.get(11..27).unwrap_or(""));
            if line.contains("http listening") {
                // A new start: what the last one left open died with it, committed or not.
                if !pending.is_empty() {
                    open_at_death.push((last_time.clone(), std::mem::take(&mut pending)));
                }
            } else if line.contains("partition starts at its committed offset")
                || line.contains("partition did not start at its committed offset")
                || line.contains("partition starts with nothing committed")
            {
                let time = line.get(..27).unwrap_or("").to_string();
                let read = if line.contains("nothing committed") {
                    nothing
                        .captures(&line)
                        .map(|c| (c[1].parse::<i64>().unwrap_or(-1), 0))
                } else {
                    starts_at
                        .captures(&line)
                        .or_else(|| sought_to.captures(&line))
                        .map(|c| {
                            let n = |i: usize| c[i].parse::<i64>().unwrap_or(-1);
                            (n(1), n(2))
                        })
                };
                if let Some((p, offset)) = read {
                    starts.push((time, p as i32, offset));
                }
            } else if line.contains("outputs added") {
                let mut span = 0;
                for c in range.captures_iter(&line) {
                    let n = |i: usize| c[i].parse::<i64>().unwrap_or(-1);
                    span += n(3) - n(2);
                    pending.push((n(1) as i32, n(2), n(3), at()));
                }
                let messages = count
                    .captures(&line)
                    .and_then(|c| c[1].parse::<i64>().ok())
                    .unwrap_or(-1);
                if messages != span {
                    trail.odd.push(format!(
                        "{}: {messages} messages added for ranges {span} offsets long",
                        at()
                    ));
                }
            } else if line.contains("transaction committed") {
                trail.transactions += 1;
                for (p, first, next, at) in pending.drain(..) {
                    trail
                        .committed
                        .entry(p)
                        .or_default()
                        .push((first, next, at));
                }
            } else if ["abort", "transaction failed", "stopping", "did not commit"]
                .iter()
                .any(|w| line.contains(w))
            {
                pending.clear();
            }
            if let Some(t) = line.get(..27).filter(|t| t.starts_with("20")) {
                last_time = t.to_string();
            }
        }
        if !pending.is_empty() {
            open_at_death.push((last_time, pending));
        }
    }
    // A kill can land between a commit and its log line. The broker knows: the first start of each
    // partition after the death reads its committed offset. What a dead instance left open is one
    // transaction, committed or aborted as a whole: committed if every partition's next start
    // reads the transaction's end there, aborted if every one reads its beginning; anything else
    // does not add up. A partition no one started again (no message came after the death, so no
    // start was logged) says nothing; with none started, the audit's gaps say what is missing.
    for (died, ranges) in open_at_death {
        let mut span: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
        for (p, first, next, _) in &ranges {
            let e = span.entry(*p).or_insert((*first, *next));
            *e = (e.0.min(*first), e.1.max(*next));
        }
        let mut committed = 0;
        let mut aborted = 0;
        let mut other: Vec<String> = Vec::new();
        for (&p, &(begin, end)) in &span {
            let read = starts
                .iter()
                .filter(|(t, q, _)| *q == p && *t > died)
                .min_by(|a, b| a.0.cmp(&b.0))
                .map(|s| s.2);
            match read {
                Some(r) if r == end => committed += 1,
                Some(r) if r == begin => aborted += 1,
                Some(r) => other.push(format!("[{p}] {begin}..{end} read {r}")),
                None => {}
            }
        }
        if committed > 0 && aborted == 0 && other.is_empty() {
            trail.unlogged += 1;
            for (p, first, next, at) in ranges {
                let at = format!("{at} (commit unlogged)");
                trail
                    .committed
                    .entry(p)
                    .or_default()
                    .push((first, next, at));
            }
        } else if committed > 0 || !other.is_empty() {
            trail.odd.push(format!(
                "a transaction left open at a death ({died}) is neither committed nor aborted by \
                 the next starts: {committed} partitions say committed, {aborted} aborted, {}",
                other.join(", ")
            ));
        }
    }
    trail
}

/// Checks the trail's committed ranges against what was sent: every offset of every input
/// partition committed exactly once. One line per gap or overlap (the first 20).
fn audit_trail(trail: &Trail, sent: &BTreeMap<(i32, i64), bool>) -> Vec<String> {
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    for &(p, off) in sent.keys() {
        let e = ends.entry(p).or_default();
        *e = (*e).max(off + 1);
    }
    let mut out = trail.odd.clone();
    for (&p, &end) in &ends {
        let mut ranges = trail.committed.get(&p).cloned().unwrap_or_default();
        ranges.sort();
        let mut expected = 0;
        let mut last_at = String::from("the start");
        for (first, next, at) in ranges {
            if first > expected {
                out.push(format!(
                    "[{p}] {expected}..{first} never committed (between {last_at} and {at})"
                ));
            } else if first < expected {
                out.push(format!(
                    "[{p}] {first}..{} committed twice ({at}, after {last_at})",
                    expected.min(next)
                ));
            }
            if next > expected {
                expected = next;
                last_at = at;
            }
        }
        if expected < end {
            out.push(format!(
                "[{p}] {expected}..{end} never committed (after {last_at})"
            ));
        }
    }
    out.truncate(20);
    out
}

/// Sends SIGTERM to every instance; how many exited with success.
fn stop_all(instances: &mut [Instance]) -> usize {
    for inst in instances.iter() {
        let _ = Command::new("kill")
            .args(["-TERM", &inst.child.id().to_string()])
            .status();
    }
    instances
        .iter_mut()
        .filter_map(|i| i.child.wait().ok())
        .filter(|s| s.success())
        .count()
}

/// What a memory run left: the latest changelog value of every customer, and every customer
/// insight by id (with how many times it was written, and whether every copy was identical).
struct MemoryRun {
    states: BTreeMap<String, Option<Vec<u8>>>,
    insights: BTreeMap<String, (String, usize, bool)>,
}

fn read_memory(brokers: &str, m: &MemoryNames) -> MemoryRun {
    let idle = Duration::from_secs(5);
    let mut states = BTreeMap::new();
    for r in read_all(brokers, &m.changelog, idle) {
        let key = String::from_utf8_lossy(r.key().unwrap_or_default()).into_owned();
        states.insert(key, r.payload().map(<[u8]>::to_vec));
    }
    let mut insights: BTreeMap<String, (String, usize, bool)> = BTreeMap::new();
    for r in read_all(brokers, &m.output, idle) {
        let text = String::from_utf8_lossy(r.payload().unwrap_or_default()).into_owned();
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("no id: {text}"));
        let e = insights
            .entry(id)
            .or_insert_with(|| (text.clone(), 0, true));
        e.1 += 1;
        e.2 &= e.0 == text;
    }
    MemoryRun { states, insights }
}

/// Compares the chaos run's memory with the clean run's; the summary line and whether they agree.
fn audit_memory(
    chaos: &MemoryRun,
    clean: &MemoryRun,
    clean_run_exited_ok: bool,
    logs: &str,
) -> (String, bool) {
    let live = |r: &MemoryRun| r.states.values().filter(|v| v.is_some()).count();
    let keys: std::collections::BTreeSet<&String> =
        chaos.states.keys().chain(clean.states.keys()).collect();
    let differing: Vec<&&String> = keys
        .iter()
        .filter(|k| {
            chaos.states.get(**k).cloned().flatten() != clean.states.get(**k).cloned().flatten()
        })
        .collect();
    let differ = differing.len();
    // The first few, for a person to compare.
    let mut shown = String::new();
    for k in differing.iter().take(3) {
        for (run, r) in [("chaos", chaos), ("clean", clean)] {
            let v = r.states.get(**k).cloned().flatten().unwrap_or_default();
            shown.push_str(&format!("{run} {k}: {}\n", String::from_utf8_lossy(&v)));
        }
    }
    if !shown.is_empty() {
        let _ = std::fs::write(format!("{logs}/memory-states-that-differ.txt"), shown);
    }
    let missing = clean
        .insights
        .keys()
        .filter(|k| !chaos.insights.contains_key(*k))
        .count();
    let extra = chaos
        .insights
        .keys()
        .filter(|k| !clean.insights.contains_key(*k))
        .count();
    let unlike = chaos
        .insights
        .iter()
        .filter(|(k, (text, _, same))| {
            !same || clean.insights.get(*k).is_some_and(|c| c.0 != *text)
        })
        .count();
    let duplicates: usize = chaos.insights.values().map(|v| v.1 - 1).sum();
    let line = format!(
        "chaos memory: customers {} (clean run {}), states that differ {differ}, customer insights {} (clean run {}), missing {missing}, extra {extra}, duplicates {duplicates} (not identical {unlike}), clean run exit {}",
        live(chaos),
        live(clean),
        chaos.insights.len(),
        clean.insights.len(),
        if clean_run_exited_ok { "ok" } else { "FAILED" },
    );
    let ok = clean_run_exited_ok
        && live(clean) > 0
        && !clean.insights.is_empty()
        && differ == 0
        && missing == 0
        && extra == 0
        && unlike == 0;
    (line, ok)
}

/// Every window's last trend event (a reader's table), without what may differ between runs: the
/// emission's id, the revision number, a theme's status. And how many events were read.
fn read_market(brokers: &str, m: &MarketNames) -> (BTreeMap<String, String>, usize) {
    let events = read_all(brokers, &m.trends, Duration::from_secs(5));
    let mut windows = BTreeMap::new();
    for r in &events {
        let Ok(mut t) =
            serde_json::from_slice::<serde_json::Value>(r.payload().unwrap_or_default())
        else {
            continue;
        };
        let window = t["window_id"].as_str().unwrap_or_default().to_string();
        t["id"] = serde_json::Value::Null;
        t["revision"] = serde_json::Value::Null;
        if let Some(themes) = t["themes"].as_array_mut() {
            for th in themes {
                th["status"] = serde_json::Value::Null;
            }
        }
        windows.insert(window, t.to_string());
    }
    (windows, events.len())
}

/// Compares the chaos run's windows with the clean run's; the summary line and whether they agree.
fn audit_market(
    chaos: &(BTreeMap<String, String>, usize),
    clean: &(BTreeMap<String, String>, usize),
    clean_run_exited_ok: bool,
    logs: &str,
) -> (String, bool) {
    let differing: Vec<&String> = clean
        .0
        .iter()
        .filter(|(k, v)| chaos.0.get(*k).is_some_and(|c| c != *v))
        .map(|(k, _)| k)
        .collect();
    let missing = clean.0.keys().filter(|k| !chaos.0.contains_key(*k)).count();
    let extra = chaos.0.keys().filter(|k| !clean.0.contains_key(*k)).count();
    let mut shown = String::new();
    for k in differing.iter().take(3) {
        shown.push_str(&format!("chaos {}\nclean {}\n", chaos.0[*k], clean.0[*k]));
    }
    if !shown.is_empty() {
        let _ = std::fs::write(format!("{logs}/market-windows-that-differ.txt"), shown);
    }
    let line = format!(
        "chaos market: windows {} (clean run {}), that differ {}, missing {missing}, extra {extra}, trend events {} (clean run {}), clean run exit {}",
        chaos.0.len(),
        clean.0.len(),
        differing.len(),
        chaos.1,
        clean.1,
        if clean_run_exited_ok { "ok" } else { "FAILED" },
    );
    let ok = clean_run_exited_ok
        && !clean.0.is_empty()
        && differing.is_empty()
        && missing == 0
        && extra == 0;
    (line, ok)
}

fn main() {
    // `chaos --trail LOGS PARTITION OFFSET`: the trail of one input in a kept run's logs.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--trail") && args.len() == 5 {
        let (p, off) = (args[3].parse(), args[4].parse());
        print_trail(&args[2], p.expect("PARTITION"), off.expect("OFFSET"));
        return;
    }
    let o = opts();
    let mut rng = Rng(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let names = Names {
        input: format!("chaos-in-{id}"),
        output: format!("chaos-out-{id}"),
        dead: format!("chaos-dlq-{id}"),
        group: format!("chaos-{id}"),
        logs: std::env::var("CHAOS_LOGS").unwrap_or_else(|_| "target/chaos-logs".into()),
        memory: MemoryNames::new(&id, "memory"),
        clean: MemoryNames::new(&id, "clean"),
        market: MarketNames::new(&id, "market"),
        market_clean: MarketNames::new(&id, "market-clean"),
    };
    std::fs::create_dir_all(&names.logs).expect("log dir");
    {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &o.brokers)
            .create()
            .expect("admin");
        let topics = [
            NewTopic::new(&names.input, o.partitions, TopicReplication::Fixed(1)),
            NewTopic::new(&names.output, o.partitions, TopicReplication::Fixed(1)),
            NewTopic::new(&names.dead, 1, TopicReplication::Fixed(1)),
        ];
        for r in futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))
            .expect("create topics")
        {
            r.expect("topic created");
        }
    }

    // Analysers first, then memory stages, then market stages.
    let role_of = |n: usize| {
        if n < o.instances {
            Role::Analysis
        } else if n < o.instances + o.memory {
            Role::Memory
        } else {
            Role::Market
        }
    };
    let mut instances: Vec<Instance> = (0..o.instances + o.memory + o.market)
        .map(|n| start(&o, n, role_of(n), &names))
        .collect();

    // The producer: the first two thirds of the run, at an even pace.
    let delivered: Arc<Mutex<Delivered>> = Arc::default();
    let feeding = Arc::new(AtomicBool::new(true));
    let feeder = {
        let (brokers, input, delivered, feeding) = (
            o.brokers.clone(),
            names.input.clone(),
            delivered.clone(),
            feeding.clone(),
        );
        let (count, span) = (o.messages, Duration::from_secs(o.seconds * 2 / 3));
        std::thread::spawn(move || {
            let p: ThreadedProducer<Track> = ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .set("linger.ms", "5")
                .set("enable.idempotence", "true")
                .set("message.timeout.ms", "300000")
                .create_with_context(Track(delivered))
                .expect("producer");
            let msgs = sample::valid_messages();
            let began = Instant::now();
            for i in 0..count {
                let due = began + span.mul_f64(i as f64 / count as f64);
                if let Some(w) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(w);
                }
                let malformed = i % 20 == 7;
                let (value, party) = if malformed {
                    (MALFORMED.to_vec(), None)
                } else {
                    with_party_variant(&msgs[i % msgs.len()], i / msgs.len() % 10)
                };
                let key = party.unwrap_or_else(|| format!("k{i}"));
                let mut rec = BaseRecord::with_opaque_to(&input, Box::new(malformed))
                    .key(&key)
                    .payload(&value);
                loop {
                    match p.send(rec) {
                        Ok(()) => break,
                        Err((_, r)) => {
                            rec = r;
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    }
                }
            }
            p.flush(Duration::from_secs(300))
                .expect("every input delivered");
            feeding.store(false, Ordering::SeqCst);
        })
    };

    // An instance may die of its own accord (a fatal error, a stalled partition): it is restarted,
    // as an orchestrator would, during the chaos and the drain alike.
    let restart_exited = |instances: &mut Vec<Instance>| {
        for (n, inst) in instances.iter_mut().enumerate() {
            if let Ok(Some(status)) = inst.child.try_wait() {
                eprintln!("chaos: instance {n} exited by itself ({status}); restarting it");
                *inst = start(&o, n, role_of(n), &names);
            }
        }
    };

    // The chaos: a kill every 2-4 s, the broker restarted once halfway.
    let began = Instant::now();
    let mut kills = 0;
    let mut restarts = 0;
    let mut recoveries: Vec<f64> = Vec::new();
    let mut waiting: Vec<(usize, Instant)> = Vec::new();
    let mut next_kill = began + Duration::from_secs(rng.between(2, 4));
    let halfway = began + Duration::from_secs(o.seconds / 2);
    let assigned = "earshot_kafka_assigned_partitions";
    while began.elapsed() < Duration::from_secs(o.seconds) {
        std::thread::sleep(Duration::from_millis(100));
        // Kill-to-reassignment: until the restarted instance holds partitions again.
        waiting.retain(|(n, at)| {
            let inst = &instances[*n];
            if metric(inst.port, assigned).is_some_and(|v| v > 0.0) {
                recoveries.push(at.elapsed().as_secs_f64());
                false
            } else {
                at.elapsed() < Duration::from_secs(120)
            }
        });
        if restarts == 0 && Instant::now() >= halfway {
            if let Some(cmd) = &o.restart_broker {
                eprintln!(
                    "chaos: restarting the broker at {:.0}s",
                    began.elapsed().as_secs_f64()
                );
                let ok = Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "the broker restart failed");
                restarts += 1;
            }
        }
        restart_exited(&mut instances);
        if Instant::now() >= next_kill {
            let n = rng.between(0, (instances.len() - 1) as u64) as usize;
            let _ = instances[n].child.kill();
            let _ = instances[n].child.wait();
            kills += 1;
            let at = Instant::now();
            if role_of(n) == Role::Memory && rng.next().is_multiple_of(2) {
                // A new machine: nothing but what the changelog holds.
                let _ = std::fs::remove_dir_all(format!("{}/memory-{n}", names.memory.state));
            }
            if role_of(n) == Role::Market && rng.next().is_multiple_of(2) {
                let _ = std::fs::remove_dir_all(format!("{}/market-{n}", names.market.state));
            }
            instances[n] = start(&o, n, role_of(n), &names);
            waiting.retain(|(w, _)| *w != n);
            if role_of(n) == Role::Analysis {
                waiting.push((n, at));
            }
            next_kill = Instant::now() + Duration::from_secs(rng.between(2, 4));
        }
    }
    feeder.join().expect("feeder");
    eprintln!("chaos: {kills} kills; feeding done; waiting for the group to drain");
    let drain_began = Instant::now();
    while !drained(&o.brokers, &names.group, &[&names.input], o.partitions) {
        restart_exited(&mut instances);
        if drain_began.elapsed() >= Duration::from_secs(300) {
            // What each analyser says of itself: a live one that holds partitions and commits
            // nothing is stuck; one that does not answer is blocked or gone.
            let state: Vec<String> = instances
                .iter()
                .enumerate()
                .filter(|(n, _)| role_of(*n) == Role::Analysis)
                .map(|(n, i)| {
                    let m = |s| metric(i.port, s).map_or("-".into(), |v| v.to_string());
                    format!(
                        "instance {n}: assigned {}, in flight {}, transactions committed {}",
                        m("earshot_kafka_assigned_partitions"),
                        m("earshot_in_flight_messages"),
                        m(r#"earshot_kafka_transactions_total{result="committed"}"#),
                    )
                })
                .collect();
            // What the analysers last said (their debug trail left out): a stuck one's last
            // words are what a CI run's report needs to say why.
            for n in (0..instances.len()).filter(|n| role_of(*n) == Role::Analysis) {
                eprintln!("chaos: the last of instance-{n}.log (debug lines left out):");
                for line in log_tail(&format!("{}/instance-{n}.log", names.logs), 25) {
                    eprintln!("  {line}");
                }
            }
            panic!(
                "the group did not drain within 300 s: {:?}; {state:?}",
                behind(&o.brokers, &names.group, &[&names.input], o.partitions)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if o.memory > 0 {
        wait_stage_drained(
            &o,
            &names.group,
            "memory",
            &names.memory.repartition,
            &names.output,
            &mut || restart_exited(&mut instances),
        );
    }
    if o.market > 0 {
        wait_stage_drained(
            &o,
            &names.group,
            "market",
            &names.market.repartition,
            &names.output,
            &mut || restart_exited(&mut instances),
        );
        // Idle partitions close their last windows after two seconds.
        std::thread::sleep(Duration::from_secs(6));
    }
    let clean_exits = stop_all(&mut instances);

    // The audit.
    let idle = Duration::from_secs(5);
    let insights = read_all(&o.brokers, &names.output, idle);
    let dead = read_all(&o.brokers, &names.dead, idle);
    let delivered = delivered.lock().expect("delivered").clone();
    let sent = inputs_in_topic(&o.brokers, &names.input);
    // Every input whose report gave an offset is in the topic, and the topic holds as many as
    // were delivered: else the inputs, not earshot, are what went wrong, and the run fails.
    let not_in_topic = delivered
        .at
        .iter()
        .filter(|(k, m)| sent.get(k) != Some(m))
        .count();
    let delivered_all = delivered.at.len() + delivered.no_offset;
    if delivered.no_offset > 0 || not_in_topic > 0 || sent.len() != delivered_all {
        println!(
            "chaos {}: inputs delivered {delivered_all} ({} reported with no offset), in the input topic {}, delivered with an offset but not found there {not_in_topic}",
            o.guarantee,
            delivered.no_offset,
            sent.len()
        );
    }
    let mut outputs: HashMap<(i32, i64), Vec<String>> = HashMap::new();
    for m in &insights {
        let v: serde_json::Value =
            serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or_default();
        let src = (
            v["source"]["partition"].as_i64().unwrap_or(-1) as i32,
            v["source"]["offset"].as_i64().unwrap_or(-1),
        );
        let mut same = v.clone();
        if let Some(obj) = same.as_object_mut() {
            obj.remove("processed_at");
        }
        outputs.entry(src).or_default().push(same.to_string());
    }
    let mut dead_at: HashMap<(i32, i64), usize> = HashMap::new();
    for m in &dead {
        let header = |k: &str| {
            m.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == k)
                    .and_then(|x| x.value)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<i64>().ok())
            })
        };
        if let (Some(p), Some(off)) = (
            header("earshot.source.partition"),
            header("earshot.source.offset"),
        ) {
            *dead_at.entry((p as i32, off)).or_default() += 1;
        }
    }
    let (mut missing, mut duplicates, mut unlike, mut wrong_dead) = (0, 0, 0, 0);
    let mut missing_at = Vec::new();
    for (&src, &malformed) in &sent {
        let ins = outputs.get(&src).map_or(0, Vec::len);
        let dl = dead_at.get(&src).copied().unwrap_or(0);
        if ins + dl == 0 {
            missing += 1;
            missing_at.push(src);
        }
        if malformed && ins > 0 || !malformed && dl > 0 {
            wrong_dead += 1;
        }
        duplicates += (ins + dl).saturating_sub(1);
        if let Some(v) = outputs.get(&src) {
            unlike += v.iter().filter(|x| **x != v[0]).count();
        }
    }
    let unique = outputs.len();
    let expected_dead = sent.values().filter(|m| **m).count();
    recoveries.sort_by(f64::total_cmp);
    // A run whose kills all came before any reassignment could be seen measures none: it says
    // so rather than printing NaN.
    let reassignment = match recoveries.last() {
        None => "none measured".to_string(),
        Some(max) => format!(
            "p50 {:.1} s, max {max:.1} s ({} measured)",
            recoveries[(recoveries.len() - 1) / 2],
            recoveries.len()
        ),
    };
    println!(
        "chaos {}: produced {}, insights {} (unique {unique}), dead letters {} (expected {expected_dead}), missing {missing}, duplicates {duplicates} (not identical {unlike}), misrouted {wrong_dead}, kills {kills}, broker restarts {restarts}, clean exits {clean_exits}/{}, kill-to-reassignment {reassignment}, {} static membership",
        o.guarantee,
        sent.len(),
        insights.len(),
        dead.len(),
        instances.len(),
        if o.static_membership { "with" } else { "without" },
    );
    if !missing_at.is_empty() {
        // Where to look in the instances' logs (their exactly-once trail is at debug level).
        let shown: Vec<String> = missing_at
            .iter()
            .take(20)
            .map(|(p, off)| format!("[{p}]@{off}"))
            .collect();
        println!(
            "chaos {}: missing inputs (partition, offset), the first {}: {}",
            o.guarantee,
            shown.len(),
            shown.join(" ")
        );
        for &(p, off) in missing_at.iter().take(2) {
            print_trail(&names.logs, p, off);
        }
    }
    if o.guarantee == "exactly_once" {
        // The instances' own account, independent of reading the outputs back.
        let trail = read_trail(&names.logs);
        let found = audit_trail(&trail, &sent);
        if found.is_empty() {
            println!(
                "chaos exactly_once trail: {} committed transactions ({} more whose log line a kill cut off, read back from the next start's committed offset); their input ranges cover every offset sent once",
                trail.transactions, trail.unlogged
            );
        } else {
            println!(
                "chaos exactly_once trail: {} committed transactions ({} more whose log line a kill cut off); what does not add up:",
                trail.transactions, trail.unlogged
            );
            for f in found {
                println!("  {f}");
            }
        }
    }
    let mut memory_ok = true;
    if o.memory > 0 {
        // The clean run: one stage, no kills, the same insights.
        let mut clean = vec![start(&o, 0, Role::Clean, &names)];
        wait_stage_drained(
            &o,
            &format!("{}-clean", names.group),
            "memory",
            &names.clean.repartition,
            &names.output,
            &mut || {},
        );
        let clean_exit = stop_all(&mut clean);
        let (line, ok) = audit_memory(
            &read_memory(&o.brokers, &names.memory),
            &read_memory(&o.brokers, &names.clean),
            clean_exit == 1,
            &names.logs,
        );
        println!("{line}");
        memory_ok = ok;
    }
    if o.market > 0 {
        let mut clean = vec![start(&o, 0, Role::MarketClean, &names)];
        wait_stage_drained(
            &o,
            &format!("{}-clean", names.group),
            "market",
            &names.market_clean.repartition,
            &names.output,
            &mut || {},
        );
        std::thread::sleep(Duration::from_secs(6));
        let clean_exit = stop_all(&mut clean);
        let (line, ok) = audit_market(
            &read_market(&o.brokers, &names.market),
            &read_market(&o.brokers, &names.market_clean),
            clean_exit == 1,
            &names.logs,
        );
        println!("{line}");
        memory_ok &= ok;
    }
    let exactly = o.guarantee == "exactly_once";
    let broken = !memory_ok
        || sent.len() != o.messages
        || delivered_all != o.messages
        || not_in_topic > 0
        || missing > 0
        || unlike > 0
        || wrong_dead > 0
        || (exactly && duplicates > 0);
    if broken {
        eprintln!(
            "chaos: FAILED (every input needs exactly one insight or dead letter{}; logs in {})",
            if exactly {
                ", no duplicate at all"
            } else {
                ", duplicates identical"
            },
            names.logs
        );
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[&str]) -> Vec<(String, String)> {
        vec![("instance-0.log".to_string(), lines.join("\n"))]
    }

    const START: &str = "2026-12-03T15:05:15.903485Z  INFO earshot::shell::http: http listening address=127.0.0.1:1";

    fn added(ranges: &[(i32, i64, i64)], messages: i64) -> String {
        let r: Vec<String> = ranges
            .iter()
            .map(|(p, a, b)| format!(r#"(("chaos-in-x", {p}), ({a}, {b}))"#))
            .collect();
        format!(
            "2026-12-03T15:05:43.152787Z DEBUG earshot::shell::exactly_once: outputs added to the transaction ranges=[{}] messages={messages}",
            r.join(", ")
        )
    }

    const COMMITTED: &str = "2026-12-03T15:05:43.418783Z DEBUG earshot::shell::exactly_once: transaction committed offsets={} messages=1";
    const ABORTED: &str = "2026-12-03T15:05:17.734132Z  WARN earshot::shell::exactly_once: transaction failed: aborting it error=x messages=1";

    fn sent(ends: &[(i32, i64)]) -> BTreeMap<(i32, i64), bool> {
        ends.iter()
            .flat_map(|&(p, end)| (0..end).map(move |o| ((p, o), false)))
            .collect()
    }

    #[test]
    fn committed_ranges_that_tile_every_partition_add_up() {
        let a = added(&[(0, 0, 5), (1, 0, 3)], 8);
        let b = added(&[(0, 5, 9)], 4);
        let t = trail_of(&log(&[START, &a, COMMITTED, &b, COMMITTED]));
        assert_eq!(t.transactions, 2);
        assert!(audit_trail(&t, &sent(&[(0, 9), (1, 3)])).is_empty());
    }

    #[test]
    fn an_aborted_add_a_restart_a_gap_and_a_second_commit_are_all_found() {
        let first = added(&[(0, 0, 5)], 5);
        let lost = added(&[(0, 5, 7)], 2);
        let died = added(&[(0, 7, 8)], 1);
        let again = added(&[(0, 8, 10)], 2);
        let twice = added(&[(0, 9, 10)], 1);
        let short = added(&[(1, 0, 4)], 3);
        let t = trail_of(&log(&[
            START, &first, COMMITTED, &lost, ABORTED, &died, START, &again, COMMITTED, &twice,
            COMMITTED, &short, COMMITTED,
        ]));
        let found = audit_trail(&t, &sent(&[(0, 11), (1, 4)]));
        let all = found.join("; ");
        assert!(
            all.contains("3 messages added for ranges 4 offsets long"),
            "{all}"
        );
        assert!(all.contains("[0] 5..8 never committed"), "{all}");
        assert!(all.contains("[0] 9..10 committed twice"), "{all}");
        assert!(all.contains("[0] 10..11 never committed"), "{all}");
        assert_eq!(found.len(), 4, "{all}");
    }

    fn starts(partition: i32, offset: i64, time: &str) -> String {
        format!(
            r#"2026-12-03T15:05:{time}Z DEBUG earshot::shell::exactly_once: partition starts at its committed offset topic="chaos-in-x" partition={partition} offset={offset}"#
        )
    }

    fn sought(partition: i32, started: i64, committed: i64, time: &str) -> String {
        format!(
            r#"2026-12-03T15:05:{time}Z  WARN earshot::shell::exactly_once: partition did not start at its committed offset: seeking there topic="chaos-in-x" partition={partition} started={started} committed={committed}"#
        )
    }

    fn files(logs: &[&[&str]]) -> Vec<(String, String)> {
        logs.iter()
            .enumerate()
            .map(|(k, lines)| (format!("instance-{k}.log"), lines.join("\n")))
            .collect()
    }

    #[test]
    fn a_commit_whose_log_line_a_kill_cut_off_is_read_from_the_next_start() {
        // Instance 0 commits 0..5 and 0..2, adds 5..8 and 2..4, and dies before the commit's log
        // line. The first starts after its death, one in its own log and one in another's, read
        // the transaction's end on both partitions: it was committed. A start before the death,
        // and a later one, do not count.
        let first = added(&[(0, 0, 5), (1, 0, 2)], 7);
        let cut = added(&[(0, 5, 8), (1, 2, 4)], 5);
        let after = added(&[(0, 8, 9)], 1);
        let more = added(&[(1, 4, 6)], 2);
        let early = starts(0, 0, "40.000000");
        let restart_0 = starts(0, 8, "50.000001");
        let elsewhere_1 = starts(1, 4, "50.000002");
        let later_1 = starts(1, 9, "59.000000");
        let t = trail_of(&files(&[
            &[
                START, &early, &first, COMMITTED, &cut, START, &restart_0, &after, COMMITTED,
            ],
            &[START, &elsewhere_1, &more, COMMITTED, &later_1],
        ]));
        assert_eq!((t.transactions, t.unlogged), (3, 1));
        let found = audit_trail(&t, &sent(&[(0, 9), (1, 6)]));
        assert!(found.is_empty(), "{}", found.join("; "));
    }

    #[test]
    fn an_open_transaction_aborted_at_a_death_and_committed_again_adds_up_once() {
        // The next owner of partition 0 finds the dead instance's transaction aborted: librdkafka
        // starts it elsewhere and it seeks to the committed 5, then commits 5..8 itself. A later
        // start (reading 8) must not credit the aborted add too.
        let first = added(&[(0, 0, 5)], 5);
        let lost = added(&[(0, 5, 8)], 3);
        let again = added(&[(0, 5, 8)], 3);
        let t = trail_of(&files(&[
            &[START, &first, COMMITTED, &lost],
            &[
                START,
                &sought(0, 3, 5, "50.000001"),
                &again,
                COMMITTED,
                &starts(0, 8, "59.000000"),
            ],
        ]));
        assert_eq!((t.transactions, t.unlogged), (2, 0));
        let found = audit_trail(&t, &sent(&[(0, 8)]));
        assert!(found.is_empty(), "{}", found.join("; "));
        // Nothing committed at all: the next start reads 0, the add was aborted, a gap remains.
        let t = trail_of(&files(&[
            &[START, &first],
            &[
                START,
                r#"2026-12-03T15:05:50.000001Z DEBUG earshot::shell::exactly_once: partition starts with nothing committed topic="chaos-in-x" partition=0 offset=0"#,
            ],
        ]));
        assert_eq!(t.unlogged, 0);
        let all = audit_trail(&t, &sent(&[(0, 5)])).join("; ");
        assert!(all.contains("[0] 0..5 never committed"), "{all}");
    }

    #[test]
    fn a_transaction_the_next_starts_read_as_half_committed_does_not_add_up() {
        // A transaction is all or nothing: partition 0 reads its end, partition 1 neither end.
        let first = added(&[(0, 0, 5), (1, 0, 2)], 7);
        let cut = added(&[(0, 5, 8), (1, 2, 4)], 5);
        let t = trail_of(&files(&[&[
            START,
            &first,
            COMMITTED,
            &cut,
            START,
            &starts(0, 8, "50.000001"),
            &starts(1, 3, "50.000002"),
        ]]));
        assert_eq!(t.unlogged, 0);
        let all = audit_trail(&t, &sent(&[(0, 8), (1, 4)])).join("; ");
        assert!(all.contains("neither committed nor aborted"), "{all}");
        assert!(all.contains("[1] 2..4 read 3"), "{all}");
    }
}
