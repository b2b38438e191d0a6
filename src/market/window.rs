//! One open window of one key: what its messages add up to so far.

use std::sync::Arc;

use uuid::Uuid;

use super::distinct::Distinct;
use super::heard::{About, Heard, Phrases, INTENTS};
use super::themes::{Doc, Quote};
use crate::emotion::EKMAN;
use crate::types::Label;

/// A window keeps the phrases of at most this many messages for its themes (the counts go on).
pub const MAX_DOCS: usize = 512;

/// A window keeps its this many most negative messages as quotes.
const NEGATIVE_QUOTES: usize = 3;

/// The sums of one window of one key.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Aggregate {
    pub volume: u32,
    /// Distinct party hashes: exact up to 128, then HyperLogLog++ (about 1.6% error).
    customers: Distinct,
    pub positive: u32,
    pub neutral: u32,
    pub negative: u32,
    /// Messages in a language the analysers do not read (no sentiment).
    pub unread: u32,
    /// Messages per dominant emotion group, in [`EKMAN`]'s order.
    pub emotions: [u32; EKMAN.len()],
    /// Messages per intent, in [`super::heard::intents`]'s order.
    pub intents: [u32; INTENTS],
    pub effort_sum: i64,
    pub effort_count: u32,
    /// Stored apart, each message's phrases once (`market/stored.rs`).
    #[serde(skip)]
    pub docs: Vec<Doc>,
    /// The most negative messages, most negative first.
    pub negatives: Vec<(f32, Quote)>,
    /// The revision last emitted, `None` before the window closed.
    pub emitted: Option<u32>,
    /// Its themes' statuses when it closed, against the windows before it: a correction keeps them.
    pub statuses: Vec<(super::heard::ThemeKind, String, super::themes::Status)>,
    /// Changed since its last emission.
    pub dirty: bool,
    /// The themes its messages make, until another message comes (not stored: chosen again).
    #[serde(skip)]
    pub themes: Option<Vec<super::themes::Theme>>,
}

impl Aggregate {
    /// Adds one message's reading of one brand or product; `themes`: keep its phrases for the
    /// window's themes.
    pub fn add(&mut self, h: &Heard, a: &About, themes: bool, quote: impl FnOnce() -> String) {
        self.volume += 1;
        self.customers.insert(h.customer);
        match a.label {
            Some(Label::Positive) => self.positive += 1,
            Some(Label::Neutral) => self.neutral += 1,
            Some(Label::Negative) => self.negative += 1,
            None => self.unread += 1,
        }
        if let Some(e) = h.emotion {
            if let Some(n) = self.emotions.get_mut(usize::from(e)) {
                *n += 1;
            }
        }
        for (k, n) in self.intents.iter_mut().enumerate() {
            if a.intents & (1 << k) != 0 {
                *n += 1;
            }
        }
        if let Some(e) = h.effort {
            self.effort_sum += i64::from(e);
            self.effort_count += 1;
        }
        if let Some(p) = a.phrases.as_ref().filter(|_| themes) {
            // The docs sorted by insight id, the MAX_DOCS lowest kept: the same sample (and the
            // same themes and quotes) in whatever order the messages arrive.
            let at = self.docs.partition_point(|d| d.insight < h.insight);
            if at < MAX_DOCS {
                self.docs.insert(
                    at,
                    Doc {
                        insight: h.insight,
                        phrases: Arc::clone(p),
                    },
                );
                self.docs.truncate(MAX_DOCS);
            }
        }
        if a.label == Some(Label::Negative) {
            // Most negative first, ties by insight id: the same quotes in any arrival order.
            let before = |(c, q): &(f32, Quote)| (*c, q.insight) < (a.compound, h.insight);
            let worse = self.negatives.len() < NEGATIVE_QUOTES
                || self.negatives.last().is_some_and(|x| !before(x));
            if worse {
                let q = (
                    a.compound,
                    Quote {
                        insight: h.insight,
                        text: quote(),
                    },
                );
                let at = self.negatives.partition_point(before);
                self.negatives.insert(at, q);
                self.negatives.truncate(NEGATIVE_QUOTES);
            }
        }
        self.dirty = true;
        self.themes = None;
    }

    pub fn unique_customers(&self) -> u32 {
        u32::try_from(self.customers.estimate()).unwrap_or(u32::MAX)
    }

    /// Messages with a sentiment.
    pub fn read(&self) -> u32 {
        self.positive + self.neutral + self.negative
    }

    /// (positive − negative) / read, `None` when nothing was read.
    pub fn net_sentiment(&self) -> Option<f64> {
        let read = self.read();
        (read > 0).then(|| (f64::from(self.positive) - f64::from(self.negative)) / f64::from(read))
    }

    /// Negative / read.
    pub fn negative_share(&self) -> f64 {
        f64::from(self.negative) / f64::from(self.read().max(1))
    }

    /// Bytes this window holds, roughly, but for its messages' phrases, which the windows of every
    /// size share ([`Aggregate::phrases`]).
    pub fn heap_bytes(&self) -> usize {
        let quotes: usize = self
            .negatives
            .iter()
            .map(|(_, q)| std::mem::size_of::<(f32, Quote)>() + q.text.len())
            .sum();
        std::mem::size_of::<Self>()
            + self.customers.heap_bytes()
            + self.docs.capacity() * std::mem::size_of::<Doc>()
            + quotes
    }

    /// The phrases kept for themes, each with the bytes it holds.
    pub fn phrases(&self) -> impl Iterator<Item = (*const Phrases, usize)> + '_ {
        self.docs.iter().map(|d| {
            let bytes = std::mem::size_of::<Phrases>()
                + d.phrases.quote.len()
                + d.phrases
                    .grams
                    .iter()
                    .map(|g| std::mem::size_of_val(g) + g.key.len() + g.label.len())
                    .sum::<usize>();
            (Arc::as_ptr(&d.phrases), bytes)
        })
    }
}

/// Ids of the window (the same for every revision) and of one emission of it.
pub fn ids(name: &str, revision: u32) -> (Uuid, Uuid) {
    const NAMESPACE: Uuid = Uuid::from_u128(0x2b1f_7d30_94c6_4e0a_8d51_6a3e_c0f2_19b7);
    let window = Uuid::new_v5(&NAMESPACE, name.as_bytes());
    let emission = Uuid::new_v5(&window, &revision.to_be_bytes());
    (window, emission)
}
