//! The market view on one core, without Kafka: insights per second through the window stage (read
//! an insight's brands, themes and sentiment, fold it into every window, close windows as the
//! watermark moves, judge themes and alerts), the memory its open windows hold, and how far behind
//! event time a window's first emission comes.
//!
//! The stream is made of real insights: the bundled sample analysed once, then dealt out over a
//! week of event time in order (ids, parties and times rewritten), with the default policy (hourly
//! and daily windows, alerts on the hour).
//!
//!     cargo run --release --example market_speed [INSIGHTS]

use std::hint::black_box;
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{KindHint, Limits};
use earshot::insight::{Insight, SourceRef};
use earshot::market::shard::{self, Reading, Shard, Volumes};
use earshot::market::{Heard, Market, Output, Policy};

// The allocator the daemon ships with (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("sample catalog");
    let analyzer = Analyzer::new(catalog).expect("analyzer");
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/stream.jsonl"))
            .expect("the sample");
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let pool: Vec<Insight> = sample
        .lines()
        .enumerate()
        .filter_map(|(k, line)| {
            let at = SourceRef {
                topic: "sample".into(),
                partition: 0,
                offset: k as i64,
            };
            let limits = Limits { max_bytes: 1 << 20 };
            earshot::process::process(
                Some(line.as_bytes()),
                KindHint::Auto,
                limits,
                &analyzer,
                at,
                epoch,
            )
            .ok()
        })
        .filter(|i| !i.analysis.mentions.is_empty())
        .collect();
    let start = DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let week_ms = 7 * 86_400_000i64;
    let stream: Vec<Insight> = (0..n)
        .map(|k| {
            let mut i = pool[k % pool.len()].clone();
            i.id = uuid::Uuid::from_u64_pair(k as u64, 1);
            i.party.id = format!("c_{:024x}", (k as u64).wrapping_mul(0x9e37_79b9) % 200_000);
            i.occurred_at = start + Duration::milliseconds(week_ms * k as i64 / n as i64);
            i
        })
        .collect();
    println!(
        "{} insights about {:.2} brands each on average, over 7 days of event time",
        n,
        stream
            .iter()
            .map(|i| i.analysis.mentions.len())
            .sum::<usize>() as f64
            / n as f64
    );

    // Through the whole stage: read each insight, fold it in, emit.
    let mut market = Market::new(Policy::default());
    let (mut trends, mut alerts, mut most_windows, mut most_bytes) = (0u64, 0u64, 0usize, 0usize);
    let t = Instant::now();
    for (k, i) in stream.iter().enumerate() {
        for o in market.observe(i) {
            match o {
                Output::Trend(x) => {
                    black_box(&x);
                    trends += 1
                }
                Output::Alert(_) => alerts += 1,
            }
        }
        if k % 50_000 == 0 && market.open_windows() > most_windows {
            most_windows = market.open_windows();
            most_bytes = market.window_bytes();
        }
    }
    trends += market.finish().len() as u64;
    let whole = t.elapsed();
    println!(
        "read an insight, fold, emit:                {:>9.0} insights/s  ({:.2} µs each; {} trend events, {} alerts)",
        n as f64 / whole.as_secs_f64(),
        whole.as_secs_f64() * 1e6 / n as f64,
        trends,
        alerts
    );

    // The fold alone, from insights already read.
    let mut stems = earshot::market::heard::Stems::default();
    let heard: Vec<Heard> = stream.iter().map(|i| Heard::of(i, &mut stems)).collect();
    let mut market = Market::new(Policy::default());
    let t = Instant::now();
    for h in &heard {
        black_box(market.observe_heard(h, |_| String::from("quote")));
    }
    black_box(market.finish());
    let fold = t.elapsed();
    println!(
        "fold and emit (the window stage's work):    {:>9.0} insights/s  ({:.2} µs each)",
        n as f64 / fold.as_secs_f64(),
        fold.as_secs_f64() * 1e6 / n as f64
    );

    // The market stage's work per insight, without Kafka: route it (one reading per brand, encoded),
    // decode each reading and fold it into its brand's market in a shard, and every `BATCH`
    // insights (a commit interval's worth: ten seconds at 2,000 a second) encode the brands that
    // changed for the changelog.
    const BATCH: usize = 20_000;
    let mut stems = earshot::market::heard::Stems::default();
    let mut shard = Shard::new(Policy::default());
    let volumes = Volumes::default();
    let (mut readings, mut written, mut batches) = (0u64, 0usize, 0u64);
    // Where the time goes: one clock read between steps (tens of nanoseconds against microseconds).
    let mut spent = [Elapsed::ZERO; 4];
    let t = Instant::now();
    for (k, i) in stream.iter().enumerate() {
        let mut at = Instant::now();
        let mut lap = |step: usize, at: &mut Instant| {
            let now = Instant::now();
            spent[step] += now - *at;
            *at = now;
        };
        for (brand, r) in shard::route(i, (0, k as i64), &mut stems) {
            let bytes = r.encode().expect("encode");
            lap(0, &mut at);
            let back = Reading::decode(&bytes).expect("decode");
            lap(1, &mut at);
            black_box(shard.observe(&brand, &back, &volumes));
            lap(2, &mut at);
            readings += 1;
        }
        if k % BATCH == BATCH - 1 {
            written += changelog_bytes(&mut shard);
            batches += 1;
            lap(3, &mut at);
        }
    }
    let staged = t.elapsed();
    println!(
        "stage (route, decode, fold, encode changed brands every {BATCH}): {:>9.0} insights/s  ({:.0} readings/s; changelog {:.0} kB a batch)",
        n as f64 / staged.as_secs_f64(),
        readings as f64 / staged.as_secs_f64(),
        written as f64 / batches.max(1) as f64 / 1e3
    );
    let each = |d: Elapsed| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "  per insight: route and encode its readings {:.2} µs, decode them {:.2} µs, fold {:.2} µs, encode changed brands {:.2} µs",
        each(spent[0]),
        each(spent[1]),
        each(spent[2]),
        each(spent[3])
    );

    // The window stage alone (the repartition topic's side), as the memory stage's per-record work
    // is measured: readings already routed and encoded; decode, fold, and encode the brands that
    // changed once a commit interval. A commit interval (10 s by default) holds more insights the
    // faster they come: every 20,000 is 2,000 insights a second, every 200,000 is 20,000.
    let mut stems = earshot::market::heard::Stems::default();
    let routed: Vec<(String, Vec<u8>)> = stream
        .iter()
        .enumerate()
        .flat_map(|(k, i)| shard::route(i, (0, k as i64), &mut stems))
        .map(|(brand, r)| (brand, r.encode().expect("encode")))
        .collect();
    for batch in [20_000usize, 200_000] {
        let mut shard = Shard::new(Policy::default());
        let (mut written, mut batches) = (0usize, 0u64);
        let t = Instant::now();
        for (k, (brand, bytes)) in routed.iter().enumerate() {
            let r = Reading::decode(bytes).expect("decode");
            black_box(shard.observe(brand, &r, &volumes));
            if k % batch == batch - 1 {
                written += changelog_bytes(&mut shard);
                batches += 1;
            }
        }
        let took = t.elapsed();
        println!(
            "window stage (decode, fold, encode changed brands every {batch} readings): {:>9.0} insights/s  ({:.0} readings/s; changelog {:.0} kB a batch)",
            n as f64 / took.as_secs_f64(),
            routed.len() as f64 / took.as_secs_f64(),
            written as f64 / batches.max(1) as f64 / 1e3
        );
    }

    let policy = Policy::default();
    println!(
        "open windows at most {} (every size, dimension and key; the daily ones stay a day past their end for late messages): {:.0} bytes each, {:.1} MB",
        most_windows,
        most_bytes as f64 / most_windows.max(1) as f64,
        most_bytes as f64 / 1e6
    );
    for size in &policy.window_seconds {
        println!(
            "first emission of a {size} s window: when the watermark passes its end, {} s of event time after it ends (a message waits at most {} s)",
            policy.watermark_delay_seconds,
            u64::from(*size) + u64::from(policy.watermark_delay_seconds)
        );
    }
}

/// Encodes the brands that changed since the last call, as a commit does; returns their bytes.
fn changelog_bytes(shard: &mut Shard) -> usize {
    shard
        .changes()
        .expect("encode")
        .iter()
        .map(|(_, v)| v.len())
        .sum()
}
