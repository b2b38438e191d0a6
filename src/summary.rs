//! The short report printed at the end of a file run: counts by kind, sentiment mix, top mentions and
//! dead letters by reason.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::decode::Reason;
use crate::insight::Insight;
use crate::interaction::Kind;
use crate::types::Label;

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub by_kind: BTreeMap<&'static str, u64>,
    pub sentiment: BTreeMap<&'static str, u64>,
    /// Mentions by (brand, product) id.
    pub mentions: HashMap<(String, Option<String>), u64>,
    pub dead_letters: BTreeMap<Reason, u64>,
    /// Insights left unread (no sentiment, emotions or signals), by language.
    pub unread: BTreeMap<String, u64>,
    /// People seen on more than one channel, by party id.
    channels_by_party: HashMap<String, std::collections::BTreeSet<String>>,
}

impl Summary {
    pub fn add_insight(&mut self, i: &Insight) {
        *self.by_kind.entry(i.source.kind.as_str()).or_default() += 1;
        if let Some(s) = &i.analysis.sentiment {
            *self.sentiment.entry(s.label.as_str()).or_default() += 1;
        }
        if let Some(u) = &i.analysis.unread {
            *self.unread.entry(u.language.clone()).or_default() += 1;
        }
        for m in &i.analysis.mentions {
            *self
                .mentions
                .entry((m.brand.clone(), m.product.clone()))
                .or_default() += 1;
        }
        self.channels_by_party
            .entry(i.party.id.clone())
            .or_default()
            .insert(i.source.channel.clone());
    }

    pub fn add_dead_letter(&mut self, r: Reason) {
        *self.dead_letters.entry(r).or_default() += 1;
    }

    pub fn insights(&self) -> u64 {
        self.by_kind.values().sum()
    }

    pub fn dead_letter_count(&self) -> u64 {
        self.dead_letters.values().sum()
    }

    /// People heard on two channels or more.
    pub fn cross_channel_people(&self) -> usize {
        self.channels_by_party
            .values()
            .filter(|c| c.len() > 1)
            .count()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.insights();
        writeln!(
            f,
            "earshot summary: {} insights, {} dead letters",
            total,
            self.dead_letter_count()
        )?;
        let kinds: Vec<String> = [Kind::SocialPost, Kind::SupportTicket]
            .iter()
            .map(|k| {
                format!(
                    "{} {}",
                    k.as_str(),
                    self.by_kind.get(k.as_str()).unwrap_or(&0)
                )
            })
            .collect();
        writeln!(f, "  by kind:      {}", kinds.join(", "))?;
        let pct = |n: u64| {
            if total == 0 {
                0.0
            } else {
                100.0 * n as f64 / total as f64
            }
        };
        let mix: Vec<String> = [Label::Positive, Label::Neutral, Label::Negative]
            .iter()
            .map(|l| {
                let n = *self.sentiment.get(l.as_str()).unwrap_or(&0);
                format!("{} {} ({:.0}%)", l.as_str(), n, pct(n))
            })
            .collect();
        writeln!(f, "  sentiment:    {}", mix.join(", "))?;
        if !self.unread.is_empty() {
            let by: Vec<String> = self
                .unread
                .iter()
                .map(|(l, n)| format!("{l} {n}"))
                .collect();
            writeln!(
                f,
                "  not read (language): {} (mentions only: no sentiment, emotions or signals)",
                by.join(", ")
            )?;
        }
        let mut top: Vec<_> = self.mentions.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        if top.is_empty() {
            writeln!(f, "  top mentions: none")?;
        } else {
            writeln!(f, "  top mentions:")?;
            for ((brand, product), n) in top.iter().take(10) {
                match product {
                    Some(p) => writeln!(f, "    {n:>5}  {brand} / {p}")?,
                    None => writeln!(f, "    {n:>5}  {brand}")?,
                }
            }
        }
        writeln!(
            f,
            "  people on more than one channel: {}",
            self.cross_channel_people()
        )?;
        if self.dead_letters.is_empty() {
            writeln!(f, "  dead letters: none")?;
        } else {
            let dl: Vec<String> = self
                .dead_letters
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            writeln!(f, "  dead letters: {}", dl.join(", "))?;
        }
        Ok(())
    }
}
