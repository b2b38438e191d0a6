//! Themes: the problems and needs a window's messages share, found by the phrases they have in
//! common, and whether a theme is new to its brand or rising faster than the brand's volume.
//!
//! A window keeps each complaint's and need's [`Phrases`] (content words stemmed, unigrams and
//! adjacent bigrams). At emission the themes are chosen greedily, as a set cover: the phrase most
//! messages share (a bigram counts half again, so "call routing" wins over "call" when most say
//! both), then the phrase most of the messages not yet covered share, and so on, each shared by two
//! messages at least. No external service, no model: the same messages give the same themes.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::heard::{Phrases, ThemeKind};

/// A message's phrases, kept by its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    pub insight: Uuid,
    /// Shared by the windows of every size the message falls in.
    pub phrases: Arc<Phrases>,
}

/// How a theme compares with its brand's earlier windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not among the brand's themes of the earlier windows.
    New,
    /// Its share of the brand's volume at least doubled against the earlier windows.
    Rising,
    Steady,
}

/// A quote behind a theme or an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub insight: Uuid,
    pub text: String,
}

/// One theme of a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    /// The phrase as written most often (lower case).
    pub label: String,
    /// The stemmed phrase: the same theme in every window.
    pub key: String,
    pub kind: ThemeKind,
    /// Messages of the window that say it.
    pub count: u32,
    /// `count` over the window's volume.
    pub share: f64,
    pub status: Status,
    pub quotes: Vec<Quote>,
}

/// At most this many quotes a theme.
const QUOTES: usize = 2;

/// A theme must be said by this many messages at least.
const MIN_COUNT: u32 = 2;

/// The themes of `docs`, at most `max`, for a window of `volume` messages. Their status is
/// [`Status::Steady`] until [`History::judge`] compares them with the past.
pub fn select(docs: &[Doc], volume: u32, max: usize) -> Vec<Theme> {
    let mut covered = vec![false; docs.len()];
    // Messages per phrase.
    let mut total: HashMap<(ThemeKind, &str), u32> = HashMap::new();
    for d in docs {
        for g in &d.phrases.grams {
            *total.entry((d.phrases.kind, g.key.as_str())).or_default() += 1;
        }
    }
    // Messages not yet covered per phrase: all of them at first, less each message a theme covers.
    let mut open = total.clone();
    let mut themes = Vec::new();
    while themes.len() < max {
        let best = open
            .iter()
            .map(|(&k, &n)| (k, n))
            .filter(|&(k, n)| n > 0 && total.get(&k).is_some_and(|&t| t >= MIN_COUNT))
            // A phrase inside a theme already chosen ("call" beside "call routing") is that theme.
            .filter(|((kind, key), _)| {
                !themes.iter().any(|t: &Theme| {
                    t.kind == *kind && key.split(' ').all(|w| t.key.split(' ').any(|x| x == w))
                })
            })
            .map(|((kind, key), n)| {
                let words = 1 + key.matches(' ').count() as u32;
                (n * (1 + words), words, kind, key)
            })
            // Highest score, then the longer phrase; then by kind and key, so the choice does not
            // depend on hash order.
            .max_by(|a, b| {
                (a.0, a.1)
                    .cmp(&(b.0, b.1))
                    .then(b.2.cmp(&a.2))
                    .then(b.3.cmp(a.3))
            })
            .map(|(n, _, kind, key)| (n, kind, key));
        let Some((_, kind, key)) = best else { break };
        let mut count = 0;
        let mut labels: HashMap<&str, u32> = HashMap::new();
        let mut quotes = Vec::new();
        for (d, done) in docs.iter().zip(covered.iter_mut()) {
            if d.phrases.kind != kind {
                continue;
            }
            if let Some(g) = d.phrases.grams.iter().find(|g| g.key == key) {
                count += 1;
                *labels.entry(g.label.as_str()).or_default() += 1;
                if !*done {
                    if quotes.len() < QUOTES {
                        quotes.push(Quote {
                            insight: d.insight,
                            text: d.phrases.quote.clone(),
                        });
                    }
                    for g in &d.phrases.grams {
                        if let Some(n) = open.get_mut(&(d.phrases.kind, g.key.as_str())) {
                            *n -= 1;
                        }
                    }
                }
                *done = true;
            }
        }
        let label = labels
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map_or_else(|| key.to_string(), |(l, _)| l.to_string());
        themes.push(Theme {
            label,
            key: key.to_string(),
            kind,
            count,
            share: f64::from(count) / f64::from(volume.max(1)),
            status: Status::Steady,
            quotes,
        });
    }
    themes
}

/// A brand's themes over its earlier windows: each theme's share of volume, decayed by window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Windows judged so far.
    windows: u32,
    /// The decayed weight of those windows: a theme's decayed share over it is its mean share,
    /// windows without it counting as 0.
    weight: f64,
    share: HashMap<(ThemeKind, String), f64>,
}

/// The weight of a new window in the decayed share.
const NEW_WEIGHT: f64 = 0.3;

/// Windows a brand needs behind it before a theme can be called new.
const WARM_UP: u32 = 3;

/// A history keeps at most this many themes.
const KEEP: usize = 256;

impl History {
    /// Sets each theme's status against the earlier windows, then takes this window in.
    pub fn judge(&mut self, themes: &mut [Theme]) {
        let warm = self.windows >= WARM_UP;
        for t in themes.iter_mut() {
            let before = self.share.get(&(t.kind, t.key.clone())).copied();
            let mean = before.map(|s| s / self.weight.max(f64::MIN_POSITIVE));
            t.status = match mean {
                None if warm => Status::New,
                Some(s) if warm && t.count >= 3 && t.share >= 2.0 * s => Status::Rising,
                _ => Status::Steady,
            };
        }
        self.windows += 1;
        self.weight = self.weight * (1.0 - NEW_WEIGHT) + NEW_WEIGHT;
        for s in self.share.values_mut() {
            *s *= 1.0 - NEW_WEIGHT;
        }
        for t in themes.iter() {
            *self.share.entry((t.kind, t.key.clone())).or_default() += NEW_WEIGHT * t.share;
        }
        self.share.retain(|_, s| *s >= 1e-3);
        if self.share.len() > KEEP {
            let mut all: Vec<_> = self.share.drain().collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(KEEP);
            self.share = all.into_iter().collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::heard::Gram;

    fn doc(n: u128, kind: ThemeKind, grams: &[(&str, &str)]) -> Doc {
        Doc {
            insight: Uuid::from_u128(n),
            phrases: Arc::new(Phrases {
                kind,
                grams: grams
                    .iter()
                    .map(|(k, l)| Gram {
                        key: k.to_string(),
                        label: l.to_string(),
                    })
                    .collect(),
                quote: format!("quote {n}"),
            }),
        }
    }

    #[test]
    fn the_shared_bigram_wins_and_covers_its_messages() {
        let c = ThemeKind::Complaint;
        let docs = vec![
            doc(
                1,
                c,
                &[
                    ("call", "call"),
                    ("call rout", "call routing"),
                    ("rout", "routing"),
                ],
            ),
            doc(
                2,
                c,
                &[
                    ("call", "calls"),
                    ("call rout", "call routing"),
                    ("rout", "routing"),
                ],
            ),
            doc(3, c, &[("call", "call"), ("drop", "dropped")]),
            doc(4, c, &[("bill", "bill"), ("drop", "dropped")]),
            doc(5, c, &[("bill", "bill")]),
        ];
        let t = select(&docs, 10, 5);
        let labels: Vec<&str> = t.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels[0], "call routing", "{t:?}");
        assert_eq!(t[0].count, 2);
        assert!((t[0].share - 0.2).abs() < 1e-9);
        assert_eq!(t[0].quotes.len(), 2);
        // Docs 3, 4 and 5 remain: "drop" (3, 4) and "bill" (4, 5) are both said twice.
        assert_eq!(t.len(), 3, "{t:?}");
        assert!(labels.contains(&"bill") && labels.contains(&"dropped"));
    }

    #[test]
    fn a_phrase_said_once_is_no_theme_and_kinds_stay_apart() {
        let docs = vec![
            doc(1, ThemeKind::Complaint, &[("backup", "backup")]),
            doc(2, ThemeKind::Need, &[("backup", "backups")]),
        ];
        assert!(select(&docs, 2, 5).is_empty());
    }

    #[test]
    fn new_and_rising_against_the_past() {
        let c = ThemeKind::Complaint;
        let theme = |key: &str, count: u32, share: f64| Theme {
            label: key.into(),
            key: key.into(),
            kind: c,
            count,
            share,
            status: Status::Steady,
            quotes: vec![],
        };
        let mut h = History::default();
        for _ in 0..WARM_UP {
            let mut t = vec![theme("bill", 3, 0.1)];
            h.judge(&mut t);
            assert_eq!(
                t[0].status,
                Status::Steady,
                "warming up: nothing is new yet"
            );
        }
        let mut t = vec![theme("bill", 3, 0.1), theme("outag", 2, 0.05)];
        h.judge(&mut t);
        assert_eq!(t[0].status, Status::Steady);
        assert_eq!(t[1].status, Status::New);
        let mut t = vec![theme("bill", 9, 0.4)];
        h.judge(&mut t);
        assert_eq!(t[0].status, Status::Rising);
    }
}
