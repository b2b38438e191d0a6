//! The customer memory on one core, without Kafka: insights per second through the pure core, and
//! through the memory stage's per-record work (decode the command, read and decode the customer's
//! state, apply, encode the customer insights and the new state); and the state's size per customer.
//!
//! The stream is made of real insights: every message of the scenario set analysed once, then
//! dealt out to synthetic customers (1 to 6 messages each, accounts and ids rewritten), in time
//! order.
//!
//!     cargo run --release --example memory_speed [CUSTOMERS]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{KindHint, Limits};
use earshot::insight::Insight;
use earshot::insight::SourceRef;
use earshot::memory::{self, Command, Context, CustomerState, Observation, Offerings, Policy};

// The allocator the daemon ships with (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

fn main() {
    let customers: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("sample catalog");
    let analyzer = Analyzer::new(catalog.clone()).expect("analyzer");
    let cx = Context {
        policy: Policy::default(),
        offerings: Offerings::of(&catalog),
    };

    // Every scenario message, analysed once.
    let mut pool: Vec<Observation> = Vec::new();
    let mut insights: Vec<Vec<u8>> = Vec::new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/memory/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenario set")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        for h in memory::eval::parse(&text).expect("valid") {
            for (n, m) in h.messages.iter().enumerate() {
                let body = m
                    .get("social_post")
                    .or_else(|| m.get("support_ticket"))
                    .unwrap_or(m);
                let at = SourceRef {
                    topic: h.id.clone(),
                    partition: 0,
                    offset: n as i64,
                };
                if let Ok(i) = earshot::process::process(
                    Some(body.to_string().as_bytes()),
                    KindHint::Auto,
                    Limits { max_bytes: 1 << 20 },
                    &analyzer,
                    at,
                    chrono::DateTime::UNIX_EPOCH,
                ) {
                    pool.push(Observation::of(&i));
                    insights.push(serde_json::to_vec(&i).expect("encodes"));
                }
            }
        }
    }

    // Dealt out to customers: a deterministic generator, so every run measures the same stream.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    let mut stream: Vec<(String, Observation)> = Vec::new();
    for c in 0..customers {
        let key = format!("c_{c:024x}");
        let n = 1 + (next() % 6) as usize;
        for k in 0..n {
            let mut o = pool[(next() % pool.len() as u64) as usize].clone();
            o.account = key.clone();
            o.insight_id = uuid::Uuid::from_u64_pair(c as u64, k as u64);
            o.occurred_at =
                base + chrono::Duration::minutes((k * 1440 + (next() % 1440) as usize) as i64);
            stream.push((key.clone(), o));
        }
    }
    stream.sort_by_key(|(_, o)| o.occurred_at);
    let commands: Vec<(String, Vec<u8>)> = stream
        .iter()
        .map(|(k, o)| {
            let c = Command::Observe(Box::new(o.clone()));
            (
                k.clone(),
                memory::codec::encode_command(&c).expect("encodes"),
            )
        })
        .collect();
    println!(
        "{} insights for {customers} customers ({} distinct analysed messages)",
        stream.len(),
        pool.len()
    );

    // Routing: an insight decoded into its observation (the stage's first step).
    let mut best = Duration::MAX;
    let reps = (stream.len() / insights.len()).max(1);
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..reps {
            for b in &insights {
                let i: Insight = serde_json::from_slice(b).expect("decodes");
                black_box(Observation::of(&i));
            }
        }
        best = best.min(start.elapsed());
    }
    println!(
        "route (decode an insight, observe): {:>9.0} insights/s (mean insight {} B)",
        (reps * insights.len()) as f64 / best.as_secs_f64(),
        insights.iter().map(Vec::len).sum::<usize>() / insights.len()
    );

    // The pure core: states in a map.
    let mut best = Duration::MAX;
    let mut raised = 0usize;
    let mut states: HashMap<String, CustomerState> = HashMap::new();
    for _ in 0..3 {
        states = HashMap::with_capacity(customers);
        raised = 0;
        let start = Instant::now();
        for (k, o) in &stream {
            let s = states
                .entry(k.clone())
                .or_insert_with(|| CustomerState::new(k));
            raised += memory::step(s, o, &cx).map_or(0, |v| v.len());
        }
        best = best.min(start.elapsed());
    }
    println!(
        "core (apply + rules):          {:>9.0} insights/s  ({raised} customer insights raised)",
        stream.len() as f64 / best.as_secs_f64()
    );

    // The stage's per-record work, the store a map of encoded states.
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        stage_records(&commands, customers, &cx);
        best = best.min(start.elapsed());
    }
    println!(
        "stage record (decode, apply, encode state): {:>9.0} insights/s",
        commands.len() as f64 / best.as_secs_f64()
    );

    // Where the stage's per-record time goes, beside the core's.
    let encoded: Vec<Vec<u8>> = states
        .values()
        .map(|s| memory::codec::encode_state(s).expect("encodes"))
        .collect();
    let per = |start: Instant, n: usize| start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    for b in &encoded {
        black_box(memory::codec::decode_state(b).expect("decodes"));
    }
    let decode = per(t, encoded.len());
    let t = Instant::now();
    for s in states.values() {
        black_box(memory::codec::encode_state(s).expect("encodes"));
    }
    let encode = per(t, encoded.len());
    let t = Instant::now();
    for (_, b) in &commands {
        black_box(memory::codec::decode_command(b).expect("decodes"));
    }
    println!(
        "per record: decode a state {decode:.2} µs, encode it {encode:.2} µs, decode a command {:.2} µs",
        per(t, commands.len())
    );

    let mut sizes: Vec<usize> = states
        .values()
        .map(|s| memory::codec::encode_state(s).expect("encodes").len())
        .collect();
    sizes.sort_unstable();
    let total: usize = sizes.iter().sum();
    let pct = |p: f64| sizes[((sizes.len() - 1) as f64 * p) as usize];
    println!(
        "state per customer (binary):     mean {:.0} B, p50 {} B, p99 {} B, max {} B; {} MB for {customers}",
        total as f64 / sizes.len() as f64,
        pct(0.5),
        pct(0.99),
        sizes.last().copied().unwrap_or(0),
        total / 1_000_000
    );
}

/// The stage's per-record work over `commands`, the store a map of encoded states. A function of
/// its own so a profiler can count it alone
/// (`valgrind --tool=callgrind --toggle-collect='*stage_records*'`).
#[inline(never)]
fn stage_records(commands: &[(String, Vec<u8>)], customers: usize, cx: &Context) {
    let mut store: HashMap<String, Vec<u8>> = HashMap::with_capacity(customers);
    for (k, bytes) in commands {
        let command = memory::codec::decode_command(bytes).expect("decodes");
        let state = store
            .get(k)
            .map(|b| memory::codec::decode_state(b).expect("decodes"));
        let (state, _, out) = memory::apply(k, state, command, cx);
        for c in &out {
            black_box(serde_json::to_vec(c).expect("encodes"));
        }
        if let Some(s) = state {
            // The store keeps a copy of the bytes, as redb copies them into its pages; the
            // encoded buffer itself goes to the changelog's producer, which copies it too.
            let bytes = memory::codec::encode_state(&s).expect("encodes");
            store.insert(k.clone(), bytes.as_slice().to_vec());
        }
    }
}
