//! Latency of the market stage through a real broker, for `scripts/market_bench.sh` (not part of
//! the product).
//!
//!     market_load latency BROKERS INSIGHTS.jsonl IN TRENDS RATE SECONDS SIZE DELAY
//!
//! Sends the insights of the file round and round to IN at RATE a second for SECONDS, each said
//! now (its `occurred_at` set to the clock), while a stage reads IN with windows of SIZE seconds
//! and a watermark delay of DELAY seconds. Reads TRENDS and prints, over the brand windows of SIZE,
//! the time from the moment the watermark could close a window (its end plus DELAY) to its first
//! emission's timestamp on the topic: the stage's part of a window's latency (the window and the
//! delay are the rest, by design).

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::DefaultProducerContext;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| {
        eprintln!(
            "usage: market_load latency BROKERS INSIGHTS.jsonl IN TRENDS RATE SECONDS SIZE DELAY"
        );
        std::process::exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if arg(&args, 1) != "latency" {
        eprintln!("unknown command {}", arg(&args, 1));
        std::process::exit(2);
    }
    let brokers = arg(&args, 2).to_string();
    let text = std::fs::read_to_string(arg(&args, 3)).expect("insights file");
    let insights: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("an insight per line"))
        .collect();
    let (input, trends) = (arg(&args, 4).to_string(), arg(&args, 5).to_string());
    let rate: f64 = arg(&args, 6).parse().expect("RATE");
    let seconds: u64 = arg(&args, 7).parse().expect("SECONDS");
    let size: i64 = arg(&args, 8).parse().expect("SIZE");
    let delay: i64 = arg(&args, 9).parse().expect("DELAY");

    let reader = {
        let brokers = brokers.clone();
        std::thread::spawn(move || read(&brokers, &trends, size, delay, seconds))
    };
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let mut i = insights[(sent as usize) % insights.len()].clone();
            i["occurred_at"] = serde_json::Value::String(chrono::Utc::now().to_rfc3339());
            let key = i["party"]["id"].as_str().unwrap_or("").to_string();
            let value = i.to_string();
            let mut rec = BaseRecord::to(&input).key(&key).payload(&value);
            loop {
                match producer.send(rec) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        rec = r;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
    println!("sent {sent} insights in {seconds} s ({rate}/s), each said now");
    let mut lat = reader.join().expect("reader");
    if lat.is_empty() {
        println!("no window of {size} s emitted");
        return;
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    println!(
        "window end + delay ({delay} s) to first emission, {} brand windows of {size} s: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        lat.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        lat[lat.len() - 1]
    );
}

/// First emissions of brand windows of `size`: emission time − (end + delay), in ms.
fn read(brokers: &str, topic: &str, size: i64, delay: i64, seconds: u64) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("market-load-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    // The stage creates the topic: wait for it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let partitions = loop {
        let md = c
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let n = md.topics().first().map_or(0, |t| t.partitions().len());
        if n > 0 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    // Windows end until the stream does; the last closes after the stage's idle timeout.
    let until = Instant::now() + Duration::from_secs(seconds + size as u64 + 30);
    let mut out = Vec::new();
    while Instant::now() < until {
        let Some(Ok(m)) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let Some(at) = m.timestamp().to_millis() else {
            continue;
        };
        let Some(Ok(t)) = m.payload().map(serde_json::from_slice::<serde_json::Value>) else {
            continue;
        };
        if t["dimension"] != "brand"
            || t["revision"] != 0
            || t["window"]["size_seconds"].as_i64() != Some(size)
        {
            continue;
        }
        let end = t["window"]["end"]
            .as_str()
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .map(|e| e.timestamp_millis());
        if let Some(end) = end {
            out.push(at - end - delay * 1000);
        }
    }
    out
}
