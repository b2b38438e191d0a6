//! Prints what the mention engine costs at scale: compile time and peak memory for a synthetic catalog,
//! then single-thread matching throughput on tweet-length messages from the sample stream.
//!
//!     cargo run --release --example mention_scale -- 100000
//!
//! Peak memory is the process's VmHWM (Linux), read after compiling.

use std::time::Instant;

use earshot::interaction::Interaction;
use earshot::mentions::{synthetic, Matcher};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let base: Vec<String> = include_str!("../samples/stream.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(String::from))
        .collect();
    let before = peak_rss_mb();
    let catalog = synthetic::catalog(count);
    let start = Instant::now();
    let matcher = Matcher::compile(&catalog).expect("synthetic catalog compiles");
    let compile = start.elapsed();
    let after = peak_rss_mb();
    println!(
        "{count} queries: compile {:.2} s, peak RSS {:.0} MB (before compile {:.0} MB)",
        compile.as_secs_f64(),
        after,
        before
    );
    for every in [10, 1] {
        let msgs: Vec<Interaction> = synthetic::interactions(&base, count, every);
        let avg_len = msgs.iter().map(|m| m.text.len()).sum::<usize>() / msgs.len();
        let rounds = 200;
        let start = Instant::now();
        let mut found = 0usize;
        for _ in 0..rounds {
            for m in &msgs {
                found += matcher.find(m).len();
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let n = rounds * msgs.len();
        println!(
            "  1 in {every} messages names a brand: {:.0} msgs/s on one core ({n} messages, avg {avg_len} bytes, {found} mentions)",
            n as f64 / secs
        );
    }
}
