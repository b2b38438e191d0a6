//! A fixed workload for instruction-count profiling (callgrind), which is stable where wall-clock
//! benches on a shared VM are not:
//!
//!     cargo build --release --example profile
//!     valgrind --tool=callgrind --toggle-collect='*profile::work*' target/release/examples/profile analyse 2
//!
//! `analyse` runs the whole analyser over the sample's social posts, `sentiment` the scorer over
//! the VADER tweets, `polarity` the scorer and the learned sentiment model over them, `pipeline`
//! the daemon's per-message work without Kafka (decode, analyse, build and encode the insight)
//! over every line of the sample stream, the malformed ones included; the argument is how many
//! passes. It prints the item count so the per-item instruction cost is the callgrind total
//! divided by it.

use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{decode, KindHint, Limits};
use earshot::insight::SourceRef;
use earshot::interaction::{Interaction, Kind};
use earshot::process::process;
use earshot::sentiment::SentimentScorer;

// The allocator the daemon ships with (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

#[inline(never)]
fn work_analyse(analyzer: &Analyzer, posts: &[Interaction], passes: usize) -> usize {
    let mut n = 0;
    for _ in 0..passes {
        for p in posts {
            n += std::hint::black_box(analyzer.analyze(p)).mentions.len();
        }
    }
    n
}

#[inline(never)]
fn work_sentiment(scorer: &SentimentScorer, tweets: &[&str], passes: usize) -> f32 {
    let mut s = 0.0;
    for _ in 0..passes {
        for t in tweets {
            s += std::hint::black_box(scorer.score(t)).compound;
        }
    }
    s
}

#[inline(never)]
fn work_polarity(
    scorer: &SentimentScorer,
    model: &earshot::polarity::SentimentModel,
    tweets: &[&str],
    passes: usize,
) -> f32 {
    let mut s = 0.0;
    for _ in 0..passes {
        for t in tweets {
            s += std::hint::black_box(earshot::polarity::read_text(t, scorer, model)).compound;
        }
    }
    s
}

#[inline(never)]
fn work_pipeline(analyzer: &Analyzer, lines: &[&str], passes: usize) -> usize {
    let now = chrono::Utc::now();
    let mut bytes = 0;
    for _ in 0..passes {
        for (n, l) in lines.iter().enumerate() {
            let at = SourceRef {
                topic: "profile".into(),
                partition: 0,
                offset: n as i64,
            };
            if let Ok(insight) = process(
                Some(l.as_bytes()),
                KindHint::Auto,
                Limits::default(),
                analyzer,
                at,
                now,
            ) {
                let mut out = Vec::with_capacity(2048);
                serde_json::to_writer(&mut out, &insight).expect("encodes");
                bytes += std::hint::black_box(out).len();
            }
        }
    }
    bytes
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "analyse".into());
    let passes: usize = args.next().and_then(|p| p.parse().ok()).unwrap_or(1);
    match what.as_str() {
        "sentiment" | "polarity" => {
            let tweets: Vec<&str> = include_str!("../data/vader/tweets_GroundTruth.txt")
                .lines()
                .filter_map(|l| l.splitn(3, '\t').nth(2))
                .collect();
            let scorer = SentimentScorer::new();
            let s = if what == "sentiment" {
                work_sentiment(&scorer, &tweets, passes)
            } else {
                let model = earshot::polarity::SentimentModel::bundled().expect("bundled model");
                work_polarity(&scorer, &model, &tweets, passes)
            };
            println!("{} tweets scored ({s:.1})", tweets.len() * passes);
        }
        "pipeline" => {
            let catalog = Catalog::parse(include_str!("../config/catalog.toml")).expect("catalog");
            let analyzer = Analyzer::new(catalog).expect("catalog compiles");
            let lines: Vec<&str> = include_str!("../samples/stream.jsonl").lines().collect();
            let bytes = work_pipeline(&analyzer, &lines, passes);
            println!(
                "{} messages ({bytes} bytes of insights)",
                lines.len() * passes
            );
        }
        _ => {
            let catalog = Catalog::parse(include_str!("../config/catalog.toml")).expect("catalog");
            let analyzer = Analyzer::new(catalog).expect("catalog compiles");
            let posts: Vec<Interaction> = include_str!("../samples/stream.jsonl")
                .lines()
                .filter_map(|l| decode(Some(l.as_bytes()), KindHint::Auto, Limits::default()).ok())
                .filter(|i| i.kind == Kind::SocialPost)
                .collect();
            let n = work_analyse(&analyzer, &posts, passes);
            println!("{} posts analysed ({n} mentions)", posts.len() * passes);
        }
    }
}
