//! Precision and recall of each customer insight type on labelled customer histories
//! (`tests/memory/scenarios/`): each history is one person's messages across channels, the
//! identity links that join their accounts, and the customer insights a person would raise.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Context, Memory, Type};
use crate::decode::KindHint;
use crate::insight::{Insight, SourceRef};
use crate::signals::eval::Counts;

/// The pipeline, as the command passes it: a message's bytes, its contract and its coordinates to
/// an insight, or `None` for a message that does not decode (this module never runs the pipeline
/// itself; see docs/architecture.md).
pub type Analyse<'a> = &'a dyn Fn(&[u8], KindHint, SourceRef) -> Option<Insight>;

/// One labelled history.
#[derive(Debug, Deserialize)]
pub struct History {
    pub id: String,
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub links: Vec<LinkRow>,
    pub messages: Vec<serde_json::Value>,
    pub expect: Vec<String>,
}

/// An identity link of a history (and of a `--links` file).
#[derive(Debug, Clone, Deserialize)]
pub struct LinkRow {
    pub account: String,
    /// `null` removes the link.
    pub customer: Option<String>,
}

/// Which half of the scenario set a history belongs to: 6 in 10 are the frozen test split,
/// never tuned on; the rest are dev.
pub fn is_test(id: &str) -> bool {
    crate::polarity::data::id_hash(id) % 10 >= 4
}

/// A history that can't be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
}

/// Parses a JSONL file of histories.
pub fn parse(text: &str) -> Result<Vec<History>, ScenarioError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| ScenarioError::Line {
                line: n + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// The figures of one evaluation.
#[derive(Debug, Default)]
pub struct Report {
    pub histories: usize,
    pub messages: usize,
    /// Messages that did not decode (a history's mistake, reported).
    pub dead_letters: usize,
    pub per_type: BTreeMap<&'static str, Counts>,
    /// Histories whose raised set equals the expected set.
    pub exact: usize,
    /// (history id, expected, raised) where they differ.
    pub misses: Vec<(String, Vec<String>, Vec<String>)>,
}

/// The set of customer insight types a history raises, read through the whole pipeline: each
/// message analysed, its insight folded into a fresh memory with the history's links.
pub fn raised(h: &History, analyse: Analyse<'_>, cx: Context) -> (BTreeSet<Type>, usize, usize) {
    raised_traced(h, analyse, cx, &mut |_, _| {})
}

/// One line per message of a history: what the memory read in it and what it raised.
pub fn trace(h: &History, analyse: Analyse<'_>, cx: Context) -> Vec<String> {
    let mut lines = Vec::new();
    raised_traced(h, analyse, cx, &mut |o, raised| {
        lines.push(format!(
            "{} {:<9} us={} intents={:?} message={:?} sentiment={:?} effort={:?} context={:?} \
             products={:?} sarcasm={} -> {:?}\n    {}",
            o.occurred_at.format("%m-%d"),
            o.channel,
            o.about_us,
            o.intents,
            o.message_intents,
            o.sentiment,
            o.effort,
            o.contexts,
            o.products,
            o.sarcasm,
            raised.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            o.quote
        ));
    });
    lines
}

fn raised_traced(
    h: &History,
    analyse: Analyse<'_>,
    cx: Context,
    each: &mut dyn FnMut(&super::Observation, &[super::CustomerInsight]),
) -> (BTreeSet<Type>, usize, usize) {
    let mut memory = Memory::new(cx);
    for l in &h.links {
        memory.link(&l.account, l.customer.as_deref());
    }
    let mut types = BTreeSet::new();
    let mut dead = 0;
    for (n, m) in h.messages.iter().enumerate() {
        let (hint, body) = match (m.get("social_post"), m.get("support_ticket")) {
            (Some(b), _) => (KindHint::SocialPost, b),
            (_, Some(b)) => (KindHint::SupportTicket, b),
            _ => (KindHint::Auto, m),
        };
        let bytes = body.to_string();
        let at = SourceRef {
            topic: h.id.clone(),
            partition: 0,
            offset: n as i64 + 1,
        };
        match analyse(bytes.as_bytes(), hint, at) {
            Some(insight) => {
                let raised = memory.observe(&insight);
                each(&super::Observation::of(&insight), &raised);
                types.extend(raised.iter().map(|c| c.kind));
            }
            None => dead += 1,
        }
    }
    (types, h.messages.len(), dead)
}

/// Runs every history and counts, per type, histories that raised it and should (tp), raised it
/// and should not (fp), and should but did not (fn).
pub fn evaluate(histories: &[History], analyse: Analyse<'_>, cx: impl Fn() -> Context) -> Report {
    let mut r = Report::default();
    for t in Type::ALL {
        r.per_type.insert(t.as_str(), Counts::default());
    }
    for h in histories {
        let (got, messages, dead) = raised(h, analyse, cx());
        r.histories += 1;
        r.messages += messages;
        r.dead_letters += dead;
        let want: BTreeSet<Type> = h.expect.iter().filter_map(|e| Type::parse(e)).collect();
        for t in Type::ALL {
            let c = r.per_type.entry(t.as_str()).or_default();
            match (want.contains(&t), got.contains(&t)) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.fn_ += 1,
                (false, false) => {}
            }
        }
        if want == got {
            r.exact += 1;
        } else {
            r.misses.push((
                h.id.clone(),
                want.iter().map(|t| t.as_str().to_string()).collect(),
                got.iter().map(|t| t.as_str().to_string()).collect(),
            ));
        }
    }
    r
}

impl Report {
    /// All types together.
    pub fn micro(&self) -> Counts {
        let mut c = Counts::default();
        for x in self.per_type.values() {
            c.tp += x.tp;
            c.fp += x.fp;
            c.fn_ += x.fn_;
        }
        c
    }
}
