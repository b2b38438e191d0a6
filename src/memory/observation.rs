//! What the customer memory keeps of one insight: the few facts its rules read, taken once from the
//! full event so the state never depends on the event's whole shape.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::insight::Insight;
use crate::interaction::{Constituency, Kind, Segment, TicketStatus};

/// A sentiment this positive is praise without the word for it.
pub const STRONG: f32 = 0.5;

/// A sentiment this positive is praise whatever else the message is read as.
pub const VERY: f32 = 0.75;

/// The longest quote kept as evidence, in bytes (cut at a character boundary).
pub const QUOTE_BYTES: usize = 200;

/// One insight, as the customer memory reads it (and as the memory stage's repartition topic
/// carries it, in the binary form of [`super::codec`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The insight's id: the evidence a customer insight points to, and the key that makes a
    /// redelivered insight count once.
    pub insight_id: Uuid,
    /// The account that spoke (`party.id`): a ticket's customer id or a post's `platform:author`.
    pub account: String,
    #[serde(with = "super::codec::stamp")]
    pub occurred_at: DateTime<Utc>,
    pub kind: Kind,
    /// Platform of a post or channel of a ticket.
    pub channel: String,
    pub segment: Option<Segment>,
    pub value_tier: Option<String>,
    pub constituency: Option<Constituency>,
    pub status: Option<TicketStatus>,
    /// The message is addressed to us: a ticket, or a post that mentions one of our brands.
    pub about_us: bool,
    /// Intents that concern our brands: a ticket's or a one-brand message's intents, or the
    /// intents the per-mention reader gave our brands' mentions.
    pub intents: Vec<String>,
    /// Intents of the whole message (a switch to a competitor is read here).
    pub message_intents: Vec<String>,
    /// Our products mentioned, with their lines.
    pub products: Vec<(String, Option<String>)>,
    /// Brands mentioned: (id, competitor).
    pub brands: Vec<(String, bool)>,
    /// The competitor a switching intent names, if any.
    pub switching_to: Option<String>,
    /// The sentiment (-1..1) towards us, when it was read: the message's, or, in a message about
    /// several brands, the mean of our mentions' own readings.
    pub sentiment: Option<f32>,
    /// Effort -5..5, when there was any.
    pub effort: Option<i8>,
    /// Context labels (`life_event`, `health`, `work`, ...); a life event read as a happy moment
    /// is `life_event:happy` ([`context_label`]).
    pub contexts: Vec<String>,
    pub journey_phase: Option<String>,
    pub sarcasm: bool,
    /// The jobs of `need` intents, and the text, for matching needs against products.
    pub jobs: Vec<String>,
    /// The beginning of the text, for evidence.
    pub quote: String,
    /// The whole (possibly redacted) text of a message that asks (a question, a need, a wish to
    /// buy): needs are matched against it. Empty for the others, which nothing reads it from.
    pub text: String,
}

/// A context's label as the memory keeps it: a life event read as a happy moment (a wedding, a
/// birth, retiring) is `life_event:happy`, so that the policy's hard contexts (`life_event`,
/// `health`) take only the hard ones.
fn context_label(c: &crate::signals::Signal) -> String {
    match c.moment.as_deref() {
        Some("happy") => format!("{}:happy", c.label),
        _ => c.label.to_string(),
    }
}

/// The first [`QUOTE_BYTES`] of a text on one line, cut at a character boundary.
pub fn quote(text: &str) -> String {
    let mut end = text.len().min(QUOTE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut q: String = text[..end]
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    if end < text.len() {
        q.push('…');
    }
    q
}

/// Whether a message asks: a need, a question or a wish to buy, or a question mark.
fn asks(intents: &[String], text: &str) -> bool {
    intents
        .iter()
        .any(|x| x == "need" || x == "question" || x == "purchase_intent")
        || text.contains('?')
}

/// The message's compound, or in a message about several brands the mean of our mentions'.
fn own_sentiment(i: &Insight, own: &[&crate::types::Mention], one_brand: bool) -> Option<f32> {
    let message = i.analysis.sentiment.as_ref().map(|s| s.compound);
    if one_brand || own.is_empty() {
        return message;
    }
    let readings: Vec<f32> = own
        .iter()
        .filter_map(|m| m.sentiment.map(|s| s.compound))
        .collect();
    if readings.is_empty() {
        return message;
    }
    Some(readings.iter().sum::<f32>() / readings.len() as f32)
}

impl Observation {
    /// Reads the facts the memory keeps from an insight.
    pub fn of(i: &Insight) -> Observation {
        let a = &i.analysis;
        let own: Vec<_> = a.mentions.iter().filter(|m| !m.competitor).collect();
        let one_brand = a.mentions.iter().all(|m| m.brand == a.mentions[0].brand);
        let message_intents: Vec<String> = a
            .signals
            .iter()
            .flat_map(|s| s.intents.iter().map(|x| x.label.to_string()))
            .collect();
        let about_us = i.source.kind == Kind::SupportTicket || !own.is_empty();
        // A ticket is written to us: all of it is about us, whatever competitor it names.
        let intents: Vec<String> = if !about_us {
            Vec::new()
        } else if one_brand || own.is_empty() || i.source.kind == Kind::SupportTicket {
            let mut v = message_intents.clone();
            v.extend(
                own.iter()
                    .flat_map(|m| m.intents.iter().map(|x| x.to_string())),
            );
            v.sort();
            v.dedup();
            v
        } else {
            let mut v: Vec<String> = own
                .iter()
                .flat_map(|m| m.intents.iter().map(|x| x.to_string()))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut products: Vec<(String, Option<String>)> = own
            .iter()
            .filter_map(|m| m.product.clone().map(|p| (p, m.line.clone())))
            .collect();
        products.dedup();
        let mut brands: Vec<(String, bool)> = a
            .mentions
            .iter()
            .map(|m| (m.brand.clone(), m.competitor))
            .collect();
        brands.sort();
        brands.dedup();
        let signals = a.signals.as_ref();
        let switching_to = signals.and_then(|s| {
            s.intents
                .iter()
                .find(|x| x.label == "switching")
                .and_then(|x| x.competitor.clone())
        });
        let jobs = signals
            .map(|s| {
                s.intents
                    .iter()
                    .filter_map(|x| x.job.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let asks = asks(&message_intents, &i.text);
        Observation {
            insight_id: i.id,
            account: i.party.id.clone(),
            occurred_at: i.occurred_at,
            kind: i.source.kind,
            channel: i.source.channel.clone(),
            segment: i.party.segment,
            value_tier: i.party.value_tier.clone(),
            constituency: i.party.constituency,
            status: i.source.status,
            about_us,
            intents,
            message_intents,
            products,
            brands,
            switching_to,
            sentiment: own_sentiment(i, &own, one_brand),
            effort: signals.and_then(|s| s.effort.as_ref().map(|e| e.score)),
            contexts: signals
                .map(|s| s.context.iter().map(context_label).collect())
                .unwrap_or_default(),
            journey_phase: signals.and_then(|s| s.journey_phase.as_ref().map(|p| p.to_string())),
            sarcasm: signals
                .and_then(|s| s.sarcasm.as_ref())
                .is_some_and(|s| s.likely),
            jobs,
            quote: quote(&i.text),
            text: if asks { i.text.clone() } else { String::new() },
        }
    }

    pub fn has_intent(&self, label: &str) -> bool {
        self.intents.iter().any(|x| x == label)
    }

    /// A complaint or support request about us: a problem is open. Not a message this positive
    /// about us: that is thanks for a problem solved ("ransomware hit us, Cloud Drive restored
    /// everything"), whatever words of trouble it tells the story with.
    /// So is a sarcastic message, and talk of leaving us in a negative message: the problem is
    /// still there.
    pub fn raises_problem(&self) -> bool {
        let s = self.sentiment.unwrap_or(0.0);
        self.about_us
            && ((self.has_intent("complaint") || self.has_intent("support_request")) && s < VERY
                || self.sarcasm && s < STRONG
                || self.has_intent("churn_risk") && s <= -0.05)
    }

    /// Praise or a recommendation of us, meant: not sarcastic, and either read as praise and not
    /// negative (strongly positive if it also complains), or strongly positive about us and
    /// neither a complaint nor a request for help.
    pub fn praises(&self) -> bool {
        if !self.about_us || self.sarcasm {
            return false;
        }
        let s = self.sentiment.unwrap_or(0.0);
        let complains = self.has_intent("complaint");
        let praise = self.has_intent("praise") || self.has_intent("recommendation");
        (praise && s > -0.05 && (!complains || s >= STRONG))
            || s >= VERY
            || (s >= STRONG
                && !complains
                && !self.has_intent("support_request")
                && !self.signals_leaving())
    }

    /// A question, a need or a wish to buy: something one of our products may answer.
    pub fn asks(&self) -> bool {
        asks(&self.message_intents, &self.text)
    }

    /// The customer says they may leave: churn risk or a switch, about us or to a competitor.
    pub fn signals_leaving(&self) -> bool {
        self.intents
            .iter()
            .chain(&self.message_intents)
            .any(|x| x == "churn_risk" || x == "switching")
    }

    /// A resolved ticket.
    pub fn resolves(&self) -> bool {
        matches!(
            self.status,
            Some(TicketStatus::Solved | TicketStatus::Closed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_one_line_and_cut_at_a_character() {
        assert_eq!(quote("a\nb"), "a b");
        let long = "é".repeat(150);
        let q = quote(&long);
        assert!(q.ends_with('…'));
        assert!(q.len() <= QUOTE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn a_happy_life_event_is_kept_apart_from_the_hard_contexts() {
        let signal = |label: &'static str, moment: Option<&'static str>| crate::signals::Signal {
            label: label.into(),
            evidence: Vec::new(),
            competitor: None,
            job: None,
            moment: moment.map(Into::into),
        };
        assert_eq!(
            context_label(&signal("life_event", Some("happy"))),
            "life_event:happy"
        );
        assert_eq!(
            context_label(&signal("life_event", Some("hard"))),
            "life_event"
        );
        assert_eq!(context_label(&signal("health", None)), "health");
        let hard = crate::memory::Policy::default().hard_contexts;
        assert!(hard.contains(&context_label(&signal("life_event", Some("hard")))));
        assert!(!hard.contains(&context_label(&signal("life_event", Some("happy")))));
    }
}
