//! Wall-clock time of each analysis stage over the sample's posts, to see where the analyser's
//! time goes (criterion measures the whole; this splits it):
//!
//!     cargo run --release --example stages [passes]
use std::time::Instant;

use earshot::catalog::Catalog;
use earshot::decode::{decode, KindHint, Limits};
use earshot::emotion::EmotionModel;
use earshot::interaction::Interaction;
use earshot::mentions::Matcher;
use earshot::sentiment::SentimentScorer;
use earshot::signals::SignalDetector;

// The allocator the daemon ships with (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

fn main() {
    let passes: usize = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(50);
    let catalog = Catalog::parse(include_str!("../config/catalog.toml")).expect("catalog");
    let matcher = Matcher::compile(&catalog).expect("compiles");
    let scorer = SentimentScorer::new();
    let emotions = EmotionModel::bundled().expect("model");
    let signals = SignalDetector::new().expect("model");
    let posts: Vec<Interaction> = include_str!("../samples/stream.jsonl")
        .lines()
        .filter_map(|l| decode(Some(l.as_bytes()), KindHint::Auto, Limits::default()).ok())
        .collect();
    let mut t = [0f64; 6];
    let mut sink = 0usize;
    for _ in 0..passes {
        for p in &posts {
            let c = Instant::now();
            let s = scorer.score(&p.text);
            let c1 = Instant::now();
            let f = earshot::emotion::features(&p.text, &s);
            let c2 = Instant::now();
            let e = emotions.score_features(&p.text, &f);
            let c3 = Instant::now();
            let mut m = matcher.find(p);
            let c4 = Instant::now();
            let sig = signals.detect(p, &s, &m, &e, &f);
            let c5 = Instant::now();
            signals.read_mentions(p, &mut m, &sig);
            let c6 = Instant::now();
            for (k, (a, b)) in [(c, c1), (c1, c2), (c2, c3), (c3, c4), (c4, c5), (c5, c6)]
                .into_iter()
                .enumerate()
            {
                t[k] += (b - a).as_secs_f64();
            }
            sink += f.len() + m.len() + sig.intents.len();
        }
    }
    let n = (passes * posts.len()) as f64;
    for (name, v) in [
        "sentiment",
        "features",
        "emotions",
        "mentions",
        "signals",
        "per-mention",
    ]
    .iter()
    .zip(t)
    {
        println!("{name:12} {:8.2} µs", v / n * 1e6);
    }
    println!(
        "total        {:8.2} µs ({} messages, {sink})",
        t.iter().sum::<f64>() / n * 1e6,
        posts.len()
    );
}
