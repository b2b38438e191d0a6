//! Texts per second of the sentiment lexicon, of the sentiment as an insight carries it (lexicon,
//! emotion model and sentiment model), and of the whole analyser on one core, over the 4,200
//! tweets of the VADER ground truth, printed as numbers for `scripts/compare.sh` to set beside
//! Python VADER in the same run. Criterion (`cargo bench --bench pipeline`) gives the careful
//! per-message timings; this gives a rate over the same texts another tool reads.
//!
//!     cargo run --release --example speed [SECONDS]

use std::hint::black_box;
use std::time::{Duration, Instant};

use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::interaction::{Interaction, Kind, Party};

// The allocator the daemon ships with (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

/// Runs `f` over `items` in full passes for at least `secs` seconds (after a one-pass warm-up);
/// returns items per second of the fastest of five equal slices of that time.
fn rate<T>(items: &[T], secs: f64, mut f: impl FnMut(&T)) -> f64 {
    for t in items {
        f(t);
    }
    let slice = Duration::from_secs_f64(secs / 5.0);
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < slice {
            for t in items {
                f(t);
            }
            n += items.len();
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let tweets: Vec<&str> = include_str!("../data/vader/tweets_GroundTruth.txt")
        .lines()
        .filter_map(|l| l.splitn(3, '\t').nth(2))
        .collect();
    let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("the sample catalog parses");
    let analyzer = Analyzer::new(catalog).expect("the sample catalog compiles");
    let posts: Vec<Interaction> = tweets
        .iter()
        .enumerate()
        .map(|(n, t)| Interaction {
            kind: Kind::SocialPost,
            id: n.to_string(),
            channel: "twitter".into(),
            party: Party::default(),
            occurred_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            language: Some("en".into()),
            text: (*t).to_string(),
            product_hint: None,
            recipient: None,
            reply_to: None,
            status: None,
        })
        .collect();
    let scorer = earshot::sentiment::SentimentScorer::new();
    let sentiment = rate(&tweets, secs, |t| {
        black_box(scorer.score(t));
    });
    // What an insight's sentiment costs: the lexicon and the sentiment model over its features.
    let model = earshot::polarity::SentimentModel::bundled().expect("bundled sentiment model");
    let with_model = rate(&tweets, secs, |t| {
        black_box(earshot::polarity::read_text(t, &scorer, &model));
    });
    let analyse = rate(&posts, secs, |p| {
        black_box(analyzer.analyze(p));
    });
    println!("texts {}", tweets.len());
    println!("sentiment_per_second {sentiment:.0}");
    println!("sentiment_with_model_per_second {with_model:.0}");
    println!("analyse_per_second {analyse:.0}");
}
