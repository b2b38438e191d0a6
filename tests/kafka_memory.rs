//! The customer memory stage (`earshot run --role memory`) against a real broker: state restored
//! from the changelog after SIGKILL, duplicates counted once, a late link merging two histories,
//! state moving with its partitions, erasure down to the compacted changelog, and every customer
//! insight valid against its schema.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use earshot::memory::CustomerState;
use earshot::privacy::Privacy;
use rdkafka::producer::{BaseRecord, Producer};

const WAIT: Duration = Duration::from_secs(60);

/// The topics, group and state folder of one memory stage under test.
struct Memory {
    insights: String,
    links: String,
    repartition: String,
    changelog: String,
    output: String,
    dead: String,
    group: String,
    partitions: i32,
}

impl Memory {
    fn new(name: &str, partitions: i32) -> Memory {
        let m = Memory {
            insights: unique(&format!("{name}-insights")),
            links: unique(&format!("{name}-links")),
            repartition: unique(&format!("{name}-repartition")),
            changelog: unique(&format!("{name}-changelog")),
            output: unique(&format!("{name}-customer")),
            dead: unique(&format!("{name}-dlq")),
            group: unique(&format!("{name}-group")),
            partitions,
        };
        create_topics(&[&m.insights, &m.dead], partitions);
        // The changelog as the stage would create it (compacted), but with segments that roll
        // and a cleaner that runs at once, so the erasure test can watch compaction happen.
        let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
            rdkafka::config::ClientConfig::new()
                .set("bootstrap.servers", brokers())
                .create()
                .unwrap();
        let t = rdkafka::admin::NewTopic::new(
            &m.changelog,
            partitions,
            rdkafka::admin::TopicReplication::Fixed(1),
        )
        .set("cleanup.policy", "compact")
        .set("segment.ms", "100")
        .set("min.cleanable.dirty.ratio", "0.01")
        .set("delete.retention.ms", "100")
        .set("min.compaction.lag.ms", "0");
        let res = futures::executor::block_on(
            admin.create_topics([&t], &rdkafka::admin::AdminOptions::new()),
        )
        .unwrap();
        for r in res {
            r.expect("changelog created");
        }
        m
    }

    /// Starts an instance with its own state folder (a fresh machine unless `state` is reused).
    fn start(&self, state: &std::path::Path) -> Daemon {
        self.start_with(state, &[], &self.group)
    }

    /// [`Memory::start`] with more settings, logging to target/e2e-logs/<log>.log.
    fn start_with(&self, state: &std::path::Path, extra: &[(&str, &str)], log: &str) -> Daemon {
        let args = ["run", "--role", "memory"];
        Daemon::spawn(&args, &self.group, &self.dead, log, |cmd| {
            cmd.env("EARSHOT_MEMORY__INPUT_TOPIC", &self.insights)
                .env("EARSHOT_MEMORY__LINKS_TOPIC", &self.links)
                .env("EARSHOT_MEMORY__REPARTITION_TOPIC", &self.repartition)
                .env("EARSHOT_MEMORY__CHANGELOG_TOPIC", &self.changelog)
                .env("EARSHOT_MEMORY__OUTPUT_TOPIC", &self.output)
                .env("EARSHOT_MEMORY__STATE_DIR", state)
                .env("EARSHOT_MEMORY__COMMIT_INTERVAL_MS", "100")
                .envs(extra.iter().copied());
        })
    }

    /// Produces identity links (raw ids, as the CRM writes them); `None` unlinks.
    fn link(&self, links: &[(&str, Option<&str>)]) {
        let p = producer();
        for (account, customer) in links {
            let value = customer.map(|c| serde_json::json!({ "customer": c }).to_string());
            let mut r = BaseRecord::<str, str>::to(&self.links).key(account);
            if let Some(v) = &value {
                r = r.payload(v);
            }
            p.send(r).map_err(|(e, _)| e).expect("queued");
        }
        p.flush(Duration::from_secs(10))
            .expect("links acknowledged");
    }

    /// Produces insights keyed by party, as the analysis stage does.
    fn insights(&self, insights: &[serde_json::Value]) {
        let p = producer();
        for i in insights {
            let key = i["party"]["id"].as_str().unwrap().to_string();
            let value = i.to_string();
            p.send(BaseRecord::to(&self.insights).key(&key).payload(&value))
                .map_err(|(e, _)| e)
                .expect("queued");
        }
        p.flush(Duration::from_secs(10))
            .expect("insights acknowledged");
    }

    /// Customer insights, distinct by id, until `done` says enough.
    fn customer_insights(
        &self,
        timeout: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        read_until(&self.output, timeout, |r| {
            let v = r.json();
            if seen.insert(v["id"].as_str().unwrap().to_string()) {
                out.push(v);
            }
            done(&out)
        });
        out
    }

    /// The latest changelog value of every key (`None`: a tombstone), and every value of `key`
    /// still in the log.
    fn changelog(&self, key: &str) -> (HashMap<String, Option<CustomerState>>, Vec<bool>) {
        let records = read_until(&self.changelog, Duration::from_secs(3), |_| false);
        let mut latest = HashMap::new();
        let mut of_key = Vec::new();
        for r in records {
            let k = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
            let v = r
                .value
                .as_ref()
                .map(|v| earshot::memory::codec::decode_state(v).unwrap());
            if k == key {
                of_key.push(v.is_some());
            }
            latest.insert(k, v);
        }
        (latest, of_key)
    }
}

fn key(id: &str) -> String {
    Privacy::pseudonymising(TEST_PRIVACY_KEY.as_bytes(), false)
        .unwrap()
        .key_of(id)
}

/// Runs messages through `earshot file` with the test secret: the insights the analysis stage
/// would produce for them.
fn analyse(messages: &[serde_json::Value]) -> Vec<serde_json::Value> {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["file", "--links", "/dev/null"])
        .env("EARSHOT_PRIVACY_KEY", TEST_PRIVACY_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for m in messages {
        input.push_str(&m.to_string());
        input.push('\n');
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let insights: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(insights.len(), messages.len());
    insights
}

/// Customer `n`: a gold business customer whose call routing breaks, told by e-mail, on
/// Twitter (account `twitter:u<n>`), then on the phone. Each message is its own insight, with
/// distinct source coordinates.
fn history(n: usize) -> Vec<serde_json::Value> {
    let customer =
        serde_json::json!({"id": format!("CUS-{n}"), "segment": "business", "value_tier": "gold"});
    vec![
        serde_json::json!({"id": format!("T-{n}-1"), "customer": customer, "channel": "email",
            "subject": "Call routing", "status": "open", "created_at": "2026-11-10T09:00:00Z",
            "body": "Our Larkspur Office Voice call routing sends every inbound call to voicemail since Monday. Please fix it today."}),
        serde_json::json!({"platform": "twitter", "id": format!("tw-{n}"),
            "author": {"id": format!("u{n}"), "handle": format!("user{n}")}, "created_at": "2026-11-11T10:00:00Z",
            "text": "@larkspurhelp Office Voice call routing still broken, every call goes to voicemail. Already emailed you about it."}),
        serde_json::json!({"id": format!("T-{n}-3"), "customer": customer, "channel": "phone",
            "subject": "Call routing", "status": "open", "created_at": "2026-11-12T09:00:00Z",
            "body": "Third time I'm raising this: Office Voice call routing is still broken and calls go to voicemail. I tweeted and emailed."}),
    ]
}

fn of_type<'a>(events: &'a [serde_json::Value], t: &str, key: &str) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| e["type"] == t && e["customer"]["key"] == key)
        .collect()
}

fn assert_schema(events: &[serde_json::Value]) {
    let v = schema("customer_insight.v1.json");
    for e in events {
        assert_valid(&v, e);
    }
}

#[test]
fn state_survives_sigkill_and_duplicates_count_once() {
    let m = Memory::new("mem-kill", 3);
    let h = analyse(&history(1));
    m.link(&[("twitter:u1", Some("CUS-1"))]);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = m.start(dir_a.path());
    a.wait_ready(WAIT);
    // The e-mail and the tweet, the tweet twice (a redelivery upstream).
    m.insights(&[h[0].clone(), h[1].clone(), h[1].clone()]);
    let k = key("CUS-1");
    let first = m.customer_insights(WAIT, |e| !of_type(e, "repeated_effort", &k).is_empty());
    let effort = of_type(&first, "repeated_effort", &k);
    assert_eq!(effort.len(), 1, "{first:?}");
    assert_eq!(effort[0]["severity"], "medium");
    // Wait until the batch reached the changelog, then kill without warning.
    let start = Instant::now();
    while m
        .changelog(&k)
        .0
        .get(&k)
        .and_then(|s| s.as_ref())
        .map(|s| s.interactions)
        != Some(2)
        && start.elapsed() < WAIT
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (latest, _) = m.changelog(&k);
    let state = latest[&k].as_ref().expect("state in the changelog");
    assert_eq!(state.interactions, 2, "the duplicate counted once");
    a.signal("KILL");
    assert_eq!(a.wait(WAIT), None);

    // Another machine: empty state folder; it restores from the changelog.
    let mut b = m.start(dir_b.path());
    b.wait_ready(WAIT);
    m.insights(&[h[2].clone()]);
    let all = m.customer_insights(WAIT, |e| {
        of_type(e, "repeated_effort", &k)
            .iter()
            .any(|x| x["severity"] == "high")
    });
    let high: Vec<_> = of_type(&all, "repeated_effort", &k)
        .into_iter()
        .filter(|x| x["severity"] == "high")
        .collect();
    assert_eq!(high.len(), 1, "the call is the third channel: {all:?}");
    let channels: Vec<&str> = high[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["email", "twitter", "phone"]);
    assert!(b.metric("earshot_memory_restored_records_total") >= 1.0);
    b.wait_metric(
        "earshot_memory_insights_total{result=\"applied\"}",
        1.0,
        WAIT,
    );
    assert_schema(&all);
    b.signal("TERM");
    assert_eq!(b.wait(WAIT), Some(0));
    let (latest, _) = m.changelog(&k);
    assert_eq!(latest[&k].as_ref().unwrap().interactions, 3);
}

#[test]
fn a_late_link_merges_two_histories_and_forget_erases_them() {
    let m = Memory::new("mem-link", 2);
    let h = analyse(&history(2));
    let dir = tempfile::tempdir().unwrap();
    let mut d = m.start(dir.path());
    d.wait_ready(WAIT);
    // The e-mail and the tweet before anyone knows the account is hers: two customers.
    m.insights(&[h[0].clone(), h[1].clone()]);
    let (k, account) = (key("CUS-2"), key("twitter:u2"));
    let start = Instant::now();
    while !(m.changelog(&k).0.contains_key(&k) && m.changelog(&account).0.contains_key(&account))
        && start.elapsed() < WAIT
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(m
        .customer_insights(Duration::from_secs(2), |_| false)
        .is_empty());
    // Link records that are not links: dead letters that say why, and no link.
    let p = producer();
    for value in [&br#"{"user": "CUS-9"}"#[..], &[0xff, 0xfe][..], b"  "] {
        p.send(
            BaseRecord::<str, [u8]>::to(&m.links)
                .key("twitter:u2")
                .payload(value),
        )
        .map_err(|(e, _)| e)
        .expect("queued");
    }
    p.flush(Duration::from_secs(10)).expect("acknowledged");
    let dead = read_n(&m.dead, 3, WAIT);
    assert_eq!(dead.len(), 3, "{dead:?}");
    for d in &dead {
        assert_eq!(d.headers["earshot.reason"], "invalid_link", "{d:?}");
        assert_eq!(d.headers["earshot.source.topic"], m.links);
        assert_eq!(d.key.as_deref(), Some(&b"twitter:u2"[..]));
    }
    assert_eq!(
        dead[1].value.as_deref(),
        Some(&[0xff, 0xfe][..]),
        "the original value"
    );
    assert!(
        m.changelog(&account).0[&account].is_some(),
        "the account still has its own history"
    );
    // The CRM links the account: the tweet's history moves to her, and the same problem on two
    // channels is repeated effort.
    m.link(&[("twitter:u2", Some("CUS-2"))]);
    let events = m.customer_insights(WAIT, |e| !of_type(e, "repeated_effort", &k).is_empty());
    assert_eq!(
        of_type(&events, "repeated_effort", &k).len(),
        1,
        "{events:?}"
    );
    let start = Instant::now();
    loop {
        let (latest, _) = m.changelog(&account);
        if latest.get(&account) == Some(&None) || start.elapsed() > WAIT {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (latest, _) = m.changelog(&k);
    assert_eq!(
        latest.get(&account),
        Some(&None),
        "the account's own state is gone"
    );
    let joined = latest[&k].as_ref().unwrap();
    assert_eq!(joined.interactions, 2);
    assert!(joined.accounts.contains(account.as_str()));
    assert_schema(&events);

    // Erasure.
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["forget", "CUS-2"])
        .env(
            "EARSHOT_CONFIG",
            format!("{}/config/earshot.toml", env!("CARGO_MANIFEST_DIR")),
        )
        .env("EARSHOT_KAFKA__BROKERS", brokers())
        .env("EARSHOT_PRIVACY_KEY", TEST_PRIVACY_KEY)
        .env("EARSHOT_MEMORY__LINKS_TOPIC", &m.links)
        .env("EARSHOT_MEMORY__REPARTITION_TOPIC", &m.repartition)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 identity link(s) removed"), "{said}");
    let start = Instant::now();
    while m.changelog(&k).0.get(&k) != Some(&None) && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(m.changelog(&k).0.get(&k), Some(&None), "a tombstone");
    d.wait_metric(
        "earshot_memory_insights_total{result=\"erased\"}",
        1.0,
        WAIT,
    );
    d.signal("TERM");
    assert_eq!(d.wait(WAIT), Some(0));
    // Nothing in the store...
    for p in 0..m.partitions {
        let path = earshot::shell::store::path_of(dir.path(), &m.repartition, p);
        if path.exists() {
            let store = earshot::shell::store::PartitionStore::open(&path).unwrap();
            assert_eq!(store.get(&k).unwrap(), None);
            assert_eq!(store.get(&account).unwrap(), None);
        }
    }
    // ...and, once the log cleaner has compacted the changelog, no state of hers in it.
    roll_segments(&m.changelog, m.partitions);
    let start = Instant::now();
    let mut left = usize::MAX;
    while start.elapsed() < Duration::from_secs(90) {
        let (_, values) = m.changelog(&k);
        left = values.iter().filter(|v| **v).count();
        if left == 0 {
            break;
        }
        roll_segments(&m.changelog, m.partitions);
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(left, 0, "the compacted changelog still holds her state");
    // And no link to her is left.
    let links = read_until(&m.links, Duration::from_secs(3), |_| false);
    let last: HashMap<String, bool> = links
        .iter()
        .map(|r| {
            (
                String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned(),
                r.value.is_some(),
            )
        })
        .collect();
    assert_eq!(last.get("twitter:u2"), Some(&false));
}

/// Closes the active segment of every partition (a record after `segment.ms`), so the cleaner
/// can compact what was written before.
fn roll_segments(topic: &str, partitions: i32) {
    std::thread::sleep(Duration::from_millis(150));
    let p = producer();
    for part in 0..partitions {
        p.send(
            BaseRecord::<str, str>::to(topic)
                .key("__roll")
                .partition(part),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

#[test]
fn two_instances_split_customers_and_state_moves_with_a_rebalance() {
    let m = Memory::new("mem-group", 4);
    let n = 16;
    let histories: Vec<Vec<serde_json::Value>> =
        (100..100 + n).map(|c| analyse(&history(c))).collect();
    let links: Vec<(String, String)> = (100..100 + n)
        .map(|c| (format!("twitter:u{c}"), format!("CUS-{c}")))
        .collect();
    m.link(
        &links
            .iter()
            .map(|(a, c)| (a.as_str(), Some(c.as_str())))
            .collect::<Vec<_>>(),
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = m.start(dir_a.path());
    let mut b = m.start(dir_b.path());
    a.wait_ready(WAIT);
    b.wait_ready(WAIT);
    let first: Vec<serde_json::Value> = histories.iter().flat_map(|h| h[..2].to_vec()).collect();
    m.insights(&first);
    let events = m.customer_insights(WAIT, |e| {
        e.iter().filter(|x| x["type"] == "repeated_effort").count() >= n
    });
    assert_eq!(
        events
            .iter()
            .filter(|x| x["type"] == "repeated_effort")
            .count(),
        n,
        "each customer once"
    );
    // Counted once the batch is committed, a moment after its outputs are out.
    let applied = "earshot_memory_insights_total{result=\"applied\"}";
    let start = Instant::now();
    while a.metric(applied) + b.metric(applied) < (2 * n) as f64 && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ca, cb) = (a.metric(applied), b.metric(applied));
    assert!(
        ca > 0.0 && cb > 0.0,
        "both instances hold customers: {ca} + {cb}"
    );
    assert_eq!(ca + cb, (2 * n) as f64);
    // a leaves; its partitions and their state move to b.
    a.signal("TERM");
    assert_eq!(a.wait(WAIT), Some(0));
    let third: Vec<serde_json::Value> = histories.iter().map(|h| h[2].clone()).collect();
    m.insights(&third);
    let events = m.customer_insights(WAIT, |e| {
        e.iter()
            .filter(|x| x["type"] == "repeated_effort" && x["severity"] == "high")
            .count()
            >= n
    });
    let high: HashSet<&str> = events
        .iter()
        .filter(|x| x["type"] == "repeated_effort" && x["severity"] == "high")
        .map(|x| x["customer"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(high.len(), n, "every customer's history survived the move");
    assert_schema(&events);
    b.signal("TERM");
    assert_eq!(b.wait(WAIT), Some(0));
}

/// The stage's member judges its partitions as the analysers do: an input partition that never
/// starts (its offset held by a transaction that never ends) while insights wait ends the stage
/// with exit 1, naming the partition, instead of a live member that holds it and reads nothing.
#[test]
fn a_stalled_input_partition_ends_the_stage_saying_so() {
    use rdkafka::producer::Producer;

    let m = Memory::new("mem-stall", 1);
    m.insights(&analyse(&history(1)));
    // The stage's member is in the group `<group_id>-memory`.
    let member = format!("{}-memory", m.group);
    let holder = hold_offset_in_open_transaction(&member, &m.insights, 0, 1);
    let dir = tempfile::tempdir().unwrap();
    let log = format!("{}-stalled", m.group);
    let mut stage = m.start_with(
        dir.path(),
        &[
            ("EARSHOT_KAFKA__STATISTICS_INTERVAL_MS", "500"),
            ("EARSHOT_KAFKA__STALL_TIMEOUT_SECS", "5"),
        ],
        &log,
    );
    let code = stage.wait(WAIT);
    let text = std::fs::read_to_string(log_path(&log)).unwrap_or_default();
    assert_eq!(
        code,
        Some(1),
        "a stalled stage exits non-zero; log:\n{text}"
    );
    // librdkafka fetches the committed offsets of a member's whole assignment at once: the held
    // one keeps the repartition topic's partition from starting too, and either is named.
    let named = [&m.insights, &m.repartition]
        .iter()
        .any(|t| text.contains(&format!("{t} [0] has not moved")));
    assert!(
        text.contains("partition stalled") && named,
        "the exit names the partition; log:\n{text}"
    );
    holder
        .abort_transaction(Duration::from_secs(30))
        .expect("abort");
}

/// An idle member whose input is transactional (the analysers' output under exactly once) is not
/// a stalled one, though its input ends in a commit marker that no message hands to the stage:
/// idle for over twice the stall timeout, it keeps running.
#[test]
fn an_idle_stage_on_a_transactional_input_is_not_taken_for_stalled() {
    let m = Memory::new("mem-idle", 1);
    let h = analyse(&history(1));
    m.link(&[("twitter:u1", Some("CUS-1"))]);
    let p: rdkafka::producer::BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("transactional.id", unique("mem-idle-tx"))
        .create()
        .expect("producer");
    let t = Duration::from_secs(30);
    p.init_transactions(t).expect("init");
    p.begin_transaction().expect("begin");
    for i in &h {
        let key = i["party"]["id"].as_str().unwrap().to_string();
        let value = i.to_string();
        p.send(BaseRecord::to(&m.insights).key(&key).payload(&value))
            .map_err(|(e, _)| e)
            .expect("queued");
    }
    p.commit_transaction(t).expect("committed");
    let dir = tempfile::tempdir().unwrap();
    let log = format!("{}-idle", m.group);
    let mut stage = m.start_with(
        dir.path(),
        &[
            ("EARSHOT_KAFKA__STATISTICS_INTERVAL_MS", "500"),
            ("EARSHOT_KAFKA__STALL_TIMEOUT_SECS", "3"),
        ],
        &log,
    );
    // Read through: the member's committed offset passes the last message.
    let member = format!("{}-memory", m.group);
    let began = Instant::now();
    while committed(&member, &m.insights, 1)[0] < h.len() as i64 && began.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(200));
    }
    let at = committed(&member, &m.insights, 1)[0];
    assert!(
        at >= h.len() as i64,
        "the stage read its input (committed {at})"
    );
    // Idle for well over twice the stall timeout.
    std::thread::sleep(Duration::from_secs(8));
    let text = std::fs::read_to_string(log_path(&log)).unwrap_or_default();
    assert!(
        matches!(stage.child.try_wait(), Ok(None)),
        "an idle stage keeps running; log:\n{text}"
    );
    assert_eq!(
        stage.get("/healthz").map(|r| r.0),
        Some(200),
        "log:\n{text}"
    );
    assert!(!text.contains("partition stalled"), "log:\n{text}");
    stage.signal("TERM");
    assert_eq!(stage.wait(WAIT), Some(0));
}
