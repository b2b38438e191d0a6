//! A digest of the sentiment scorer's output, to show that a change meant for speed changes no
//! score: the Debug output of every score over 128,932 texts (the VADER tweets and movie snippets,
//! GoEmotions train and dev, the sample stream, the signal sets, each also upper-cased), one line
//! each, to compare before and after:
//!
//!     cargo run --release --example sentiment_digest | md5sum

use earshot::sentiment::SentimentScorer;
use std::io::Write;
fn main() {
    let s = SentimentScorer::new();
    let mut texts: Vec<String> = Vec::new();
    for f in [
        "data/vader/tweets_GroundTruth.txt",
        "data/vader/movieReviewSnippets_GroundTruth.txt",
    ] {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            if let Some(t) = l.splitn(3, '\t').nth(2) {
                texts.push(t.to_string());
            }
        }
    }
    for f in ["data/goemotions/train.tsv", "data/goemotions/dev.tsv"] {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            if let Some(t) = l.split('\t').next() {
                texts.push(t.to_string());
            }
        }
    }
    for l in std::fs::read_to_string("samples/stream.jsonl")
        .unwrap()
        .lines()
    {
        texts.push(l.to_string());
    }
    for f in [
        "tests/signals/labelled.tsv",
        "tests/signals/holdout.tsv",
        "tests/signals/holdout2.tsv",
    ] {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            texts.push(l.rsplit('\t').next().unwrap().to_string());
        }
    }
    let extra: Vec<String> = texts.iter().map(|t| t.to_uppercase()).collect();
    texts.extend(extra);
    let out = std::io::stdout();
    let mut out = out.lock();
    for t in &texts {
        writeln!(out, "{:?}", s.score(t)).unwrap();
    }
    eprintln!("{} texts", texts.len());
}
