//! The per-message path without Kafka: decode, analyse, encode, over the bundled sample stream.
//!
//!     cargo bench --bench pipeline
//!
//! Criterion reports time per iteration; an iteration is one message, so msgs/s = 1 / time.
//!
//! The allocator is the daemon's (mimalloc, see `src/main.rs`), so the figures are those of the
//! analysis as it runs in `earshot run`.

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{decode, KindHint, Limits};
use earshot::insight::SourceRef;
use earshot::process::process;
use earshot::sentiment::SentimentScorer;

#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

fn sample() -> Vec<Vec<u8>> {
    let text = include_str!("../samples/stream.jsonl");
    text.lines()
        .map(|l| l.as_bytes().to_vec())
        .filter(|l| decode(Some(l), KindHint::Auto, Limits::default()).is_ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let catalog = Catalog::parse(include_str!("../config/catalog.toml")).expect("catalog");
    let analyzer = Analyzer::new(catalog).expect("catalog compiles");
    let messages = sample();
    let texts: Vec<String> = messages
        .iter()
        .map(|m| {
            decode(Some(m), KindHint::Auto, Limits::default())
                .expect("valid")
                .text
        })
        .collect();

    let mut g = c.benchmark_group("per_message");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("decode_analyse_encode", |b| {
        b.iter(|| {
            i = next(i, messages.len());
            let at = SourceRef {
                topic: "bench".into(),
                partition: 0,
                offset: i as i64,
            };
            let insight = process(
                Some(&messages[i]),
                KindHint::Auto,
                Limits::default(),
                &analyzer,
                at,
                Utc::now(),
            )
            .expect("valid");
            serde_json::to_vec(&insight).expect("encodes")
        })
    });
    let mut i = 0usize;
    g.bench_function("decode", |b| {
        b.iter(|| {
            i = next(i, messages.len());
            decode(Some(&messages[i]), KindHint::Auto, Limits::default()).expect("valid")
        })
    });
    let interactions: Vec<_> = messages
        .iter()
        .map(|m| decode(Some(m), KindHint::Auto, Limits::default()).expect("valid"))
        .collect();
    let mut i = 0usize;
    g.bench_function("analyse", |b| {
        b.iter(|| {
            i = next(i, interactions.len());
            analyzer.analyze(&interactions[i])
        })
    });
    let mut i = 0usize;
    g.bench_function("mentions", |b| {
        b.iter(|| {
            i = next(i, interactions.len());
            analyzer.matcher().find(&interactions[i])
        })
    });
    let insights: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(n, m)| {
            let at = SourceRef {
                topic: "bench".into(),
                partition: 0,
                offset: n as i64,
            };
            process(
                Some(m),
                KindHint::Auto,
                Limits::default(),
                &analyzer,
                at,
                Utc::now(),
            )
            .expect("valid")
        })
        .collect();
    let mut i = 0usize;
    g.bench_function("encode", |b| {
        b.iter(|| {
            i = next(i, insights.len());
            serde_json::to_vec(&insights[i]).expect("encodes")
        })
    });
    let scorer = SentimentScorer::new();
    let mut i = 0usize;
    g.bench_function("sentiment", |b| {
        b.iter(|| {
            i = next(i, texts.len());
            scorer.score(&texts[i])
        })
    });
    g.finish();

    // The measure: tweet-length texts. The sentiment scorer over the 4,200 real tweets of
    // the VADER ground truth (81 characters on average); the whole analyser over the sample's
    // social posts (74 characters on average; tickets, twice as long, are left out here).
    let tweets: Vec<&str> = include_str!("../data/vader/tweets_GroundTruth.txt")
        .lines()
        .filter_map(|l| l.splitn(3, '\t').nth(2))
        .collect();
    let posts: Vec<_> = interactions
        .iter()
        .filter(|i| i.kind == earshot::interaction::Kind::SocialPost)
        .collect();
    let mut g = c.benchmark_group("tweet_length");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("sentiment", |b| {
        b.iter(|| {
            i = next(i, tweets.len());
            scorer.score(tweets[i])
        })
    });
    // The sentiment an insight carries: the lexicon and the learned model over its features.
    let model = earshot::polarity::SentimentModel::bundled().expect("bundled sentiment model");
    let mut i = 0usize;
    g.bench_function("sentiment_with_model", |b| {
        b.iter(|| {
            i = next(i, tweets.len());
            earshot::polarity::read_text(tweets[i], &scorer, &model)
        })
    });
    let mut i = 0usize;
    g.bench_function("analyse", |b| {
        b.iter(|| {
            i = next(i, posts.len());
            analyzer.analyze(posts[i])
        })
    });
    g.finish();
}

/// The index after `i` in a list of `len`, wrapping: a compare instead of the integer division of
/// `%` (tens of cycles), which the bench would otherwise count as the scorer's.
#[inline(always)]
fn next(i: usize, len: usize) -> usize {
    if i + 1 >= len {
        0
    } else {
        i + 1
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
