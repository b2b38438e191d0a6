//! Mention matching on tweet-length messages against synthetic catalogs of 1,000 and 100,000
//! queries, one core. One iteration is one message.
//!
//!     cargo bench --bench mentions
//!
//! Compile time and peak memory: `cargo run --release --example mention_scale -- 100000`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use earshot::interaction::Interaction;
use earshot::mentions::{synthetic, Matcher};

fn messages(count: usize, every: usize) -> Vec<Interaction> {
    let base: Vec<String> = include_str!("../samples/stream.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(String::from))
        .collect();
    synthetic::interactions(&base, count, every)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mentions");
    g.throughput(Throughput::Elements(1));
    for count in [1_000usize, 100_000] {
        let matcher = Matcher::compile(&synthetic::catalog(count)).expect("compiles");
        for every in [10usize, 1] {
            let msgs = messages(count, every);
            let mut i = 0usize;
            g.bench_function(format!("{count}_queries_1_in_{every}_named"), |b| {
                b.iter(|| {
                    i = (i + 1) % msgs.len();
                    matcher.find(&msgs[i])
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
