//! Measuring the mention engine on a labelled set: precision and recall of brand and product ids.
//!
//! A labelled line is `{"text": ..., "channel": ..., "lang": ..., "author": ..., "expect": [ids]}`,
//! where `expect` lists the brand and product ids a person marks in the text (a product implies its
//! brand, so both are listed). Scoring is per message and id: an id predicted and expected is a true
//! positive, predicted only a false positive, expected only a false negative.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Matcher;
use crate::interaction::{Interaction, Kind, Party};

#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub text: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    pub expect: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        1.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

/// One message the engine got wrong.
#[derive(Debug, Clone)]
pub struct Miss {
    pub text: String,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub messages: usize,
    pub total: Counts,
    pub per_id: BTreeMap<String, Counts>,
    pub misses: Vec<Miss>,
}

impl Labelled {
    /// The interaction this line stands for.
    pub fn interaction(&self) -> Interaction {
        Interaction {
            kind: Kind::SocialPost,
            id: String::new(),
            channel: self.channel.clone().unwrap_or_else(|| "twitter".into()),
            party: Party {
                id: "labelled".into(),
                handle: self.author.clone(),
                ..Party::default()
            },
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
            language: self.lang.clone(),
            // As the daemon reads a post: normalised.
            text: crate::normalize::normalize(&self.text).into_owned(),
            product_hint: None,
            recipient: None,
            reply_to: None,
            status: None,
        }
    }
}

/// Scores the matcher on labelled messages.
pub fn evaluate(matcher: &Matcher, items: &[Labelled]) -> Report {
    let mut r = Report {
        messages: items.len(),
        ..Report::default()
    };
    for item in items {
        let found: BTreeSet<String> = matcher
            .find(&item.interaction())
            .into_iter()
            .flat_map(|m| std::iter::once(m.brand).chain(m.product))
            .collect();
        let expected: BTreeSet<String> = item.expect.iter().cloned().collect();
        for id in found.union(&expected) {
            let c = r.per_id.entry(id.clone()).or_default();
            match (found.contains(id), expected.contains(id)) {
                (true, true) => {
                    c.tp += 1;
                    r.total.tp += 1;
                }
                (true, false) => {
                    c.fp += 1;
                    r.total.fp += 1;
                }
                (false, true) => {
                    c.fn_ += 1;
                    r.total.fn_ += 1;
                }
                (false, false) => {}
            }
        }
        if found != expected {
            r.misses.push(Miss {
                text: item.text.clone(),
                missing: expected.difference(&found).cloned().collect(),
                extra: found.difference(&expected).cloned().collect(),
            });
        }
    }
    r
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<28} {:>5} {:>5} {:>5} {:>9} {:>7}",
            "id", "tp", "fp", "fn", "precision", "recall"
        )?;
        for (id, c) in &self.per_id {
            writeln!(
                f,
                "{:<28} {:>5} {:>5} {:>5} {:>9.3} {:>7.3}",
                id,
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall()
            )?;
        }
        let t = &self.total;
        writeln!(
            f,
            "{:<28} {:>5} {:>5} {:>5} {:>9.3} {:>7.3}",
            format!("all ({} messages)", self.messages),
            t.tp,
            t.fp,
            t.fn_,
            t.precision(),
            t.recall()
        )
    }
}
