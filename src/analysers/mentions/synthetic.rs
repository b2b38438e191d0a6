//! Deterministic synthetic catalogs for benchmarks: many distinct brand names, each with a query
//! shaped like the ones analysts write (alternatives, a phrase, a hashtag and handle, NEAR, NOT).

use chrono::{DateTime, Utc};

use crate::catalog::{Brand, Catalog};
use crate::interaction::{Interaction, Kind, Party};

const SYLLABLES: &[&str] = &[
    "bra", "cor", "del", "fin", "gal", "hex", "jin", "kor", "lum", "mar", "nov", "opt", "pra",
    "qui", "ros", "syn", "tal", "ulm", "vex", "wor", "xan", "yor", "zen", "ark", "bel", "cir",
    "dun", "eko",
];
const CONTEXT: &[&str] = &[
    "fiber", "cloud", "router", "phone", "app", "laptop", "support", "billing", "plan", "update",
];
const EXCLUDE: &[&str] = &["garden", "recipe", "movie", "song", "football", "weather"];

/// The project's seeded generator ([`crate::lcg`]), so every run builds the same catalog.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        crate::lcg::next(&mut self.0) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next() % xs.len()]
    }
}

/// The `i`-th generated brand name: three syllables and a number keep every name distinct.
pub fn name(i: usize) -> String {
    let n = SYLLABLES.len();
    format!(
        "{}{}{}{}",
        SYLLABLES[i % n],
        SYLLABLES[(i / n) % n],
        SYLLABLES[(i / n / n) % n],
        i / (n * n * n)
    )
}

/// A catalog of `count` brands with one query each.
pub fn catalog(count: usize) -> Catalog {
    let mut rng = Lcg(42);
    let brands = (0..count)
        .map(|i| {
            let n = name(i);
            let query = match rng.next() % 4 {
                0 => format!("{n} OR #{n} OR @{n}help"),
                1 => format!(
                    "\"{n} {}\" OR ({n} NEAR/3 ({} OR {}))",
                    rng.pick(CONTEXT),
                    rng.pick(CONTEXT),
                    rng.pick(CONTEXT)
                ),
                2 => format!(
                    "({n} OR {n}app*) AND NOT ({} OR {})",
                    rng.pick(EXCLUDE),
                    rng.pick(EXCLUDE)
                ),
                _ => format!(
                    "{n} ONEAR/2 {} OR raw:\"{}\"",
                    rng.pick(CONTEXT),
                    n.to_uppercase()
                ),
            };
            Brand {
                id: format!("b{i}"),
                name: n,
                competitor: i % 3 == 0,
                query,
                products: Vec::new(),
            }
        })
        .collect();
    Catalog {
        brands,
        version: format!("synthetic-{count}"),
    }
}

/// Tweet-length messages; every `every`-th names one of the first `count` brands.
pub fn messages(base: &[String], count: usize, every: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    (0..base.len().max(1) * 4)
        .map(|i| {
            let text = base.get(i % base.len().max(1)).cloned().unwrap_or_default();
            if every > 0 && i % every == 0 {
                let n = name(rng.next() % count.max(1));
                format!("{text} {n} {}", rng.pick(CONTEXT))
            } else {
                text
            }
        })
        .collect()
}

/// [`messages`] as English social posts, ready to match.
pub fn interactions(base: &[String], count: usize, every: usize) -> Vec<Interaction> {
    messages(base, count, every)
        .into_iter()
        .map(|text| Interaction {
            kind: Kind::SocialPost,
            id: String::new(),
            channel: "twitter".into(),
            party: Party::default(),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
            language: Some("en".into()),
            text,
            product_hint: None,
            recipient: None,
            reply_to: None,
            status: None,
        })
        .collect()
}
