//! The short report printed at the end of a file run: counts by kind, sentiment mix, top mentions,
//! customers at risk, the market view's new and rising themes and alerts, and dead letters by
//! reason.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::decode::Reason;
use crate::insight::Insight;
use crate::interaction::Kind;
use crate::market::themes::{Status, Theme};
use crate::market::{Alert, Dimension, Trend};
use crate::memory::{CustomerInsight, Type};
use crate::types::Label;

/// Customers at risk listed in the summary.
const AT_RISK_SHOWN: usize = 3;

/// New or rising themes, and alerts, listed in the summary.
const THEMES_SHOWN: usize = 5;

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub by_kind: BTreeMap<&'static str, u64>,
    pub sentiment: BTreeMap<&'static str, u64>,
    /// Mentions by (brand, product) id.
    pub mentions: HashMap<(String, Option<String>), u64>,
    pub dead_letters: BTreeMap<Reason, u64>,
    /// Insights left unread (no sentiment, emotions or signals), by language.
    pub unread: BTreeMap<String, u64>,
    /// Identity links read.
    pub links: u64,
    /// Customers the memory heard (accounts joined by links count once).
    pub customers: u64,
    /// Customers heard on two channels or more.
    pub multi_channel: u64,
    /// Customer insights by type.
    pub customer_insights: BTreeMap<&'static str, u64>,
    /// The latest `valuable_at_risk` insight of each customer.
    at_risk: HashMap<String, CustomerInsight>,
    /// Trend events emitted, and how many of them were corrections.
    pub trends: u64,
    pub corrections: u64,
    /// Messages too late for some of their market windows.
    pub too_late: u64,
    /// Themes a brand window found new or rising: (brand, theme key) to the window's reading
    /// with the most messages.
    moving_themes: BTreeMap<(String, String), Theme>,
    /// Alerts raised, and the first few of them.
    pub alert_count: u64,
    alerts: Vec<Alert>,
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
    }

    pub fn add_customer_insight(&mut self, c: CustomerInsight) {
        *self.customer_insights.entry(c.kind.as_str()).or_default() += 1;
        if c.kind == Type::ValuableAtRisk {
            self.at_risk.insert(c.customer.key.clone(), c);
        }
    }

    /// The customers at risk, most severe and most recent first.
    pub fn top_at_risk(&self) -> Vec<&CustomerInsight> {
        let mut v: Vec<&CustomerInsight> = self.at_risk.values().collect();
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.occurred_at.cmp(&a.occurred_at))
                .then(a.customer.key.cmp(&b.customer.key))
        });
        v
    }

    pub fn add_trend(&mut self, t: Trend) {
        self.trends += 1;
        self.corrections += u64::from(t.revision > 0);
        if t.dimension != Dimension::Brand {
            return;
        }
        for th in t.themes {
            if th.status == Status::Steady {
                continue;
            }
            let key = (t.brand.clone(), th.key.clone());
            let keep = self
                .moving_themes
                .get(&key)
                .is_none_or(|had| had.count < th.count);
            if keep {
                self.moving_themes.insert(key, th);
            }
        }
    }

    pub fn add_alert(&mut self, a: Alert) {
        self.alert_count += 1;
        if self.alerts.len() < THEMES_SHOWN {
            self.alerts.push(a);
        }
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
            "  customers:    {} ({} on more than one channel; {} identity links)",
            self.customers, self.multi_channel, self.links
        )?;
        let by_type: Vec<String> = Type::ALL
            .iter()
            .map(|t| {
                format!(
                    "{} {}",
                    t.as_str(),
                    self.customer_insights.get(t.as_str()).unwrap_or(&0)
                )
            })
            .collect();
        writeln!(f, "  customer insights: {}", by_type.join(", "))?;
        let at_risk = self.top_at_risk();
        if !at_risk.is_empty() {
            writeln!(f, "  top customers at risk:")?;
            for c in at_risk.iter().take(AT_RISK_SHOWN) {
                writeln!(f, "    {} ({:?}): {}", c.customer.key, c.severity, c.reason)?;
                for e in &c.evidence {
                    writeln!(
                        f,
                        "      {} {:<9} \"{}\"",
                        e.at.format("%Y-%m-%d"),
                        e.channel,
                        e.quote
                    )?;
                }
            }
        }
        writeln!(
            f,
            "  market:       {} trend events ({} corrections), {} alerts, {} messages too late for a window",
            self.trends,
            self.corrections,
            self.alert_count,
            self.too_late
        )?;
        let mut moving: Vec<(&(String, String), &Theme)> = self.moving_themes.iter().collect();
        moving.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        if !moving.is_empty() {
            writeln!(f, "  themes new or rising:")?;
            for ((brand, _), t) in moving.iter().take(THEMES_SHOWN) {
                let status = if t.status == Status::New {
                    "new"
                } else {
                    "rising"
                };
                let quote = t.quotes.first().map_or("", |q| q.text.as_str());
                writeln!(
                    f,
                    "    {brand}: \"{}\" ({status}, {} messages in a window) \"{quote}\"",
                    t.label, t.count
                )?;
            }
        }
        for a in self.alerts.iter().take(THEMES_SHOWN) {
            writeln!(
                f,
                "  alert {} {:?}: {}",
                a.window.start.format("%Y-%m-%d %H:%M"),
                a.severity,
                a.reason
            )?;
        }
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
