//! Load and measurement tool for `scripts/memory_bench.sh` (not part of the product).
//!
//!     memory_load fill    BROKERS CHANGELOG PARTITIONS COUNT   # COUNT customer states in a changelog
//!     memory_load latency BROKERS INSIGHTS OUTPUT PAIRS RATE   # customer insight latency p50/p99
//!
//! `fill` writes states as the stage writes them (its binary form, partitioned by customer key), each the
//! state of a customer after an e-mail, a tweet and a call about one fault, under its own key.
//! `latency` sends, for each of PAIRS customers, an e-mail insight and then a call insight about
//! the same fault (RATE pairs a second); the call raises `repeated_effort`. It prints the time
//! from sending the call's insight to reading its customer insight.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{KindHint, Limits};
use earshot::insight::{Insight, SourceRef};
use earshot::memory::{self, Context, CustomerState, Observation, Offerings, Policy};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn ticket(n: usize, k: usize, channel: &str, body: &str) -> serde_json::Value {
    serde_json::json!({"id": format!("T-{n}-{k}"), "channel": channel, "status": "open",
        "customer": {"id": format!("CUS-{n}"), "segment": "business", "value_tier": "gold"},
        "subject": "Call routing", "created_at": format!("2026-11-1{k}T09:00:00Z"), "body": body})
}

/// The insights of customer `n`'s e-mail and call, as the analysis stage writes them.
fn pair(analyzer: &Analyzer, n: usize) -> [Insight; 2] {
    let mk = |k: usize, m: serde_json::Value| {
        earshot::process::process(
            Some(m.to_string().as_bytes()),
            KindHint::SupportTicket,
            Limits { max_bytes: 1 << 20 },
            analyzer,
            SourceRef {
                topic: "load".into(),
                partition: 0,
                offset: (n * 10 + k) as i64,
            },
            chrono::Utc::now(),
        )
        .expect("valid ticket")
    };
    [
        mk(1, ticket(n, 1, "email", "Our Larkspur Office Voice call routing sends every inbound call to voicemail since Monday. Please fix it today.")),
        mk(2, ticket(n, 2, "phone", "Second time I'm raising this: Office Voice call routing is still broken and calls go to voicemail. I emailed already.")),
    ]
}

fn producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer")
}

fn send(p: &BaseProducer, mut r: BaseRecord<'_, str, [u8]>) {
    loop {
        match p.send(r) {
            Ok(()) => return,
            Err((_, back)) => {
                r = back;
                p.poll(Duration::from_millis(10));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("sample catalog");
    let analyzer = Analyzer::new(catalog.clone()).expect("analyzer");
    match args.get(1).map(String::as_str) {
        Some("fill") => {
            let (brokers, topic) = (&args[2], &args[3]);
            let partitions: i32 = args[4].parse().expect("partitions");
            let count: usize = args[5].parse().expect("count");
            let cx = Context {
                policy: Policy::default(),
                offerings: Offerings::of(&catalog),
            };
            let mut template = CustomerState::new("template");
            for i in pair(&analyzer, 0) {
                memory::step(&mut template, &Observation::of(&i), &cx);
            }
            let p = producer(brokers);
            let start = Instant::now();
            let mut bytes = 0usize;
            for n in 0..count {
                let key = format!("c_{n:024x}");
                template.key.clone_from(&key);
                let value = memory::codec::encode_state(&template).expect("encodes");
                bytes += value.len();
                let part = memory::partition_of(&key, partitions);
                send(
                    &p,
                    BaseRecord::to(topic)
                        .key(key.as_str())
                        .payload(&value[..])
                        .partition(part),
                );
                p.poll(Duration::ZERO);
            }
            p.flush(Duration::from_secs(300)).expect("flushed");
            println!(
                "filled {count} states ({} MB, {} B each) in {:.1} s",
                bytes / 1_000_000,
                bytes / count.max(1),
                start.elapsed().as_secs_f64()
            );
        }
        Some("latency") => {
            let (brokers, input, output) = (&args[2], &args[3], &args[4]);
            let pairs: usize = args[5].parse().expect("pairs");
            let rate: f64 = args[6].parse().expect("rate");
            let c: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", brokers)
                .set("group.id", format!("latency-{}", std::process::id()))
                .create()
                .expect("consumer");
            let md = c
                .fetch_metadata(Some(output), Duration::from_secs(10))
                .expect("metadata");
            let mut tpl = TopicPartitionList::new();
            for part in md.topics()[0].partitions() {
                tpl.add_partition_offset(output, part.id(), Offset::End)
                    .expect("partition");
            }
            c.assign(&tpl).expect("assign");
            let p: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", brokers)
                .set("linger.ms", "0")
                .create()
                .expect("producer");
            let mut sent: HashMap<String, Instant> = HashMap::new();
            let mut latencies = Vec::new();
            let made: Vec<[Insight; 2]> =
                (0..pairs).map(|n| pair(&analyzer, 1_000_000 + n)).collect();
            let start = Instant::now();
            for (n, [email, call]) in made.iter().enumerate() {
                let due = start + Duration::from_secs_f64(n as f64 / rate);
                while Instant::now() < due {
                    drain(&c, &sent, &mut latencies);
                    p.poll(Duration::ZERO);
                }
                // The time of the call's send: the e-mail goes first, on the same partition.
                sent.insert(call.party.id.clone(), Instant::now());
                for i in [email, call] {
                    let v = serde_json::to_vec(i).expect("encodes");
                    send(
                        &p,
                        BaseRecord::to(input.as_str())
                            .key(i.party.id.as_str())
                            .payload(&v[..]),
                    );
                }
                p.poll(Duration::ZERO);
                drain(&c, &sent, &mut latencies);
            }
            p.flush(Duration::from_secs(10)).expect("flushed");
            let deadline = Instant::now() + Duration::from_secs(30);
            while latencies.len() < pairs && Instant::now() < deadline {
                drain(&c, &sent, &mut latencies);
            }
            latencies.sort_by(f64::total_cmp);
            let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
            if latencies.is_empty() {
                println!("no customer insight arrived");
                std::process::exit(1);
            }
            println!(
                "customer insight latency over {} of {pairs} customers at {rate}/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                latencies.len(),
                pct(0.5),
                pct(0.99),
                latencies[latencies.len() - 1]
            );
        }
        _ => {
            eprintln!("usage: memory_load fill|latency ...");
            std::process::exit(2);
        }
    }
}

/// Reads arrived customer insights; records the latency of each customer's.
fn drain(c: &BaseConsumer, sent: &HashMap<String, Instant>, latencies: &mut Vec<f64>) {
    while let Some(Ok(m)) = c.poll(Duration::ZERO) {
        let Some(v) = m
            .payload()
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
        else {
            continue;
        };
        if v["type"] != "repeated_effort" {
            continue;
        }
        if let Some(t) = v["customer"]["key"].as_str().and_then(|k| sent.get(k)) {
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
}
