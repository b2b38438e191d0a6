//! Load and measurement tool for `scripts/throughput.sh` (not part of the product).
//!
//!     kafkaload create  BROKERS PARTITIONS TOPIC...   # create topics
//!     kafkaload produce BROKERS TOPIC COUNT          # preload COUNT sample messages, as fast as possible
//!     kafkaload drain   BROKERS TOPIC COUNT          # wait for COUNT records; print their rate
//!     kafkaload latency BROKERS IN OUT RATE SECONDS  # send at RATE/s, print end-to-end p50/p99
//!
//! `drain` measures from the first to the last output record's timestamp (set by the producer of the
//! pipeline under test), so start-up and group join are not counted.

#[path = "support/sample.rs"]
mod sample;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

type Sent = Arc<Mutex<HashMap<(i32, i64), Instant>>>;

struct Track(Sent);
impl ClientContext for Track {}
impl ProducerContext for Track {
    type DeliveryOpaque = Box<Instant>;
    fn delivery(&self, r: &DeliveryResult<'_>, sent: Box<Instant>) {
        if let Ok(m) = r {
            if let Ok(mut map) = self.0.lock() {
                map.insert((m.partition(), m.offset()), *sent);
            }
        }
    }
}

fn producer(brokers: &str, sent: Sent) -> ThreadedProducer<Track> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create_with_context(Track(sent))
        .expect("producer")
}

fn send(p: &ThreadedProducer<Track>, topic: &str, i: usize, value: &[u8]) {
    let key = format!("k{i}");
    let mut rec = BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
        .key(&key)
        .payload(value);
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((_, r)) => {
                rec = r;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

fn reader(brokers: &str, topic: &str) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafkaload-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    // The topic may not exist yet: the pipeline under test creates it with its first output.
    let md = loop {
        let md = c
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        if !md.topics()[0].partitions().is_empty() {
            break md;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    c
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "create" => {
            use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
            let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
                .set("bootstrap.servers", arg(1))
                .create()
                .expect("admin");
            let partitions: i32 = arg(2).parse().expect("PARTITIONS");
            let topics: Vec<NewTopic> = args[3..]
                .iter()
                .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
                .collect();
            for r in futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))
                .expect("create topics")
            {
                r.expect("topic created");
            }
        }
        "produce" => {
            let count: usize = arg(3).parse().expect("COUNT");
            let p = producer(arg(1), Sent::default());
            let msgs = sample::valid_messages();
            let start = Instant::now();
            for i in 0..count {
                send(&p, arg(2), i, &msgs[i % msgs.len()]);
            }
            p.flush(Duration::from_secs(120)).expect("flush");
            let s = start.elapsed().as_secs_f64();
            eprintln!(
                "produced {count} in {s:.2}s ({:.0} msgs/s)",
                count as f64 / s
            );
        }
        "drain" => {
            let count: usize = arg(3).parse().expect("COUNT");
            let c = reader(arg(1), arg(2));
            let (mut n, mut first, mut last) = (0usize, i64::MAX, i64::MIN);
            let start = Instant::now();
            while n < count && start.elapsed() < Duration::from_secs(600) {
                if let Some(Ok(m)) = c.poll(Duration::from_millis(500)) {
                    n += 1;
                    if let Some(t) = m.timestamp().to_millis() {
                        first = first.min(t);
                        last = last.max(t);
                    }
                }
            }
            let secs = (last - first).max(1) as f64 / 1000.0;
            println!("{:.0}", n as f64 / secs);
            eprintln!("drained {n} records; first to last output {secs:.2}s");
        }
        "latency" => {
            let (brokers, input, output) = (arg(1), arg(2).to_string(), arg(3));
            let rate: f64 = arg(4).parse().expect("RATE");
            let seconds: f64 = arg(5).parse().expect("SECONDS");
            let sent = Sent::default();
            let p = producer(brokers, sent.clone());
            let c = reader(brokers, output);
            let total = (rate * seconds) as usize;
            let msgs = sample::valid_messages();
            let sender = std::thread::spawn(move || {
                let start = Instant::now();
                for i in 0..total {
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    send(&p, &input, i, &msgs[i % msgs.len()]);
                    // Serve delivery callbacks promptly: the send time must be booked before the
                    // output comes back.
                    p.flush(Duration::from_millis(0)).ok();
                }
                p.flush(Duration::from_secs(30)).ok();
            });
            let mut latencies = Vec::with_capacity(total);
            let mut pending: Vec<((i32, i64), Instant)> = Vec::new();
            let start = Instant::now();
            while latencies.len() < total
                && start.elapsed() < Duration::from_secs_f64(seconds + 60.0)
            {
                if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                    let now = Instant::now();
                    let v: serde_json::Value =
                        serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or_default();
                    let src = (
                        v["source"]["partition"].as_i64().unwrap_or(-1) as i32,
                        v["source"]["offset"].as_i64().unwrap_or(-1),
                    );
                    pending.push((src, now));
                }
                let map = sent.lock().expect("lock");
                pending.retain(|(src, at)| match map.get(src) {
                    Some(t) => {
                        latencies.push(at.duration_since(*t).as_secs_f64() * 1000.0);
                        false
                    }
                    None => true,
                });
            }
            sender.join().expect("sender");
            latencies.sort_by(f64::total_cmp);
            let q = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
            println!("{:.1} {:.1} {}", q(0.5), q(0.99), latencies.len());
            eprintln!(
                "latency at {rate}/s over {seconds}s: {} measured, p50 {:.1} ms, p99 {:.1} ms",
                latencies.len(),
                q(0.5),
                q(0.99)
            );
        }
        _ => {
            eprintln!("usage: kafkaload produce|drain|latency ...");
            std::process::exit(2);
        }
    }
}
