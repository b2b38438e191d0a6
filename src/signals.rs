//! The life and intent behind a message: emotional context, customer effort, intents, journey phase,
//! sarcasm — and, from all of the analysis, a priority and a routing.
//!
//! Signals come from a cue lexicon (`data/earshot/cues.tsv`: case-insensitive whole-word phrases),
//! matched in one Aho-Corasick pass, combined with the sentiment and the mentions. Every signal
//! carries the spans of the words that triggered it. Priority and routing rules are all in
//! [`priority`] and [`routing`], documented there.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use crate::analyze::Mention;
use crate::interaction::{Interaction, Kind, Segment};
use crate::sentiment::{Label, Scores};
use crate::span::Span;

const CUES: &str = include_str!("../data/earshot/cues.tsv");

/// A labelled signal with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub label: Cow<'static, str>,
    pub evidence: Vec<Span>,
    /// For `switching`: the competitor's brand id, when the catalog knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitor: Option<String>,
    /// For `need`: the job the customer wants done, as a short phrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// Customer effort: -5 (very hard) to +5 (very easy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub score: i8,
    pub evidence: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sarcasm {
    pub likely: bool,
    pub evidence: Vec<Span>,
}

/// Everything this module finds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signals {
    pub context: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    pub intents: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_phase: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sarcasm: Option<Sarcasm>,
    pub priority: u8,
    pub routing: Vec<Cow<'static, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CueKind {
    Context,
    Effort,
    Intent,
    Phase,
    Sarcasm,
}

#[derive(Debug, Clone)]
struct Cue {
    kind: CueKind,
    label: &'static str,
    weight: i32,
}

/// The cue automaton, built once.
#[derive(Debug, Clone)]
pub struct SignalDetector {
    cues: Vec<Cue>,
    automaton: AhoCorasick,
}

struct Hit<'c> {
    cue: &'c Cue,
    span: Span,
}

fn boundary(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    !word(before) && !word(after)
}

impl Default for SignalDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SignalDetector {
    pub fn new() -> SignalDetector {
        let mut cues = Vec::new();
        let mut patterns = Vec::new();
        for line in CUES
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let cols: Vec<&'static str> = line.split('\t').collect();
            let [kind, label, weight, phrase] = cols[..] else {
                continue;
            };
            let kind = match kind {
                "context" => CueKind::Context,
                "effort" => CueKind::Effort,
                "intent" => CueKind::Intent,
                "phase" => CueKind::Phase,
                "sarcasm" => CueKind::Sarcasm,
                _ => continue,
            };
            cues.push(Cue {
                kind,
                label,
                weight: weight.parse().unwrap_or(1),
            });
            patterns.push(phrase);
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .unwrap_or_else(|_| {
                AhoCorasick::new(Vec::<&str>::new()).expect("empty automaton builds")
            });
        SignalDetector { cues, automaton }
    }

    /// Detects the signals of one interaction, given its sentiment and mentions.
    pub fn detect(
        &self,
        i: &Interaction,
        sentiment: &Scores,
        mentions: &[Mention],
        intensity: u8,
    ) -> Signals {
        let text = i.text.as_str();
        // Overlapping search: "cancel my contract" and "cancel" both count; spans pick the longest.
        let hits: Vec<Hit> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| boundary(text, m.start(), m.end()))
            .map(|m| Hit {
                cue: &self.cues[m.pattern().as_usize()],
                span: Span::new(text, m.start(), m.end()),
            })
            .collect();
        let of = |k: CueKind| hits.iter().filter(move |h| h.cue.kind == k);

        let mut context: Vec<Signal> = Vec::new();
        for h in of(CueKind::Context) {
            push(&mut context, h.cue.label, h.span.clone());
        }

        let effort = {
            let e: Vec<&Hit> = of(CueKind::Effort).collect();
            (!e.is_empty()).then(|| Effort {
                score: e.iter().map(|h| h.cue.weight).sum::<i32>().clamp(-5, 5) as i8,
                evidence: e.iter().map(|h| h.span.clone()).collect(),
            })
        };

        let negative_word = sentiment.evidence.iter().any(|e| e.valence < 0.0);
        let sarcasm_hits: Vec<Span> = of(CueKind::Sarcasm).map(|h| h.span.clone()).collect();
        let strong = of(CueKind::Sarcasm).any(|h| h.cue.weight >= 2);
        let sarcastic = !sarcasm_hits.is_empty()
            && (strong
                || negative_word
                || of(CueKind::Intent).any(|h| h.cue.label == "complaint")
                || effort.as_ref().is_some_and(|e| e.score < 0));
        let sarcasm = (!sarcasm_hits.is_empty()).then(|| Sarcasm {
            likely: sarcastic,
            evidence: sarcasm_hits.clone(),
        });

        let mut intents: Vec<Signal> = Vec::new();
        for h in of(CueKind::Intent) {
            push(&mut intents, h.cue.label, h.span.clone());
        }
        // Switching names the competitor when the catalog found one.
        if let Some(sw) = intents.iter_mut().find(|s| s.label == "switching") {
            sw.competitor = mentions
                .iter()
                .find(|m| m.competitor)
                .map(|m| m.brand.clone());
        }
        if intents.iter().any(|s| s.label == "switching")
            && !intents.iter().any(|s| s.label == "churn_risk")
        {
            let ev = intents
                .iter()
                .find(|s| s.label == "switching")
                .map(|s| s.evidence.clone())
                .unwrap_or_default();
            intents.push(Signal {
                label: "churn_risk".into(),
                evidence: ev,
                competitor: None,
                job: None,
            });
        }
        // Needs carry the job: what follows the cue, to the end of its clause, at most 12 words.
        for s in intents.iter_mut().filter(|s| s.label == "need") {
            if let Some(ev) = s.evidence.first() {
                let rest = &text[ev.end..];
                let clause = rest
                    .split(['.', '!', '?', '\n', ',', ';'])
                    .next()
                    .unwrap_or("");
                let job: Vec<&str> = clause.split_whitespace().take(12).collect();
                if !job.is_empty() {
                    s.job = Some(job.join(" "));
                }
            }
        }
        let question_ev: Vec<Span> = text
            .match_indices('?')
            .take(1)
            .map(|(at, _)| Span::new(text, at, at + 1))
            .collect();
        if !question_ev.is_empty() {
            intents.push(Signal {
                label: "question".into(),
                evidence: question_ev,
                competitor: None,
                job: None,
            });
        }
        let neg_ev: Vec<Span> = sentiment
            .evidence
            .iter()
            .filter(|e| e.valence < 0.0)
            .map(|e| e.span.clone())
            .collect();
        let pos_ev: Vec<Span> = sentiment
            .evidence
            .iter()
            .filter(|e| e.valence > 0.0)
            .map(|e| e.span.clone())
            .collect();
        let complaint_cue = intents.iter().any(|s| s.label == "complaint");
        // A complaint: negative words, sarcasm, or a customer describing real effort.
        let hard = effort.as_ref().filter(|e| e.score <= -2);
        if (sentiment.label == Label::Negative || sarcastic || hard.is_some()) && !complaint_cue {
            let mut ev = neg_ev.clone();
            ev.extend(sarcasm_hits.iter().cloned());
            ev.extend(hard.iter().flat_map(|e| e.evidence.iter().cloned()));
            intents.push(Signal {
                label: "complaint".into(),
                evidence: ev,
                competitor: None,
                job: None,
            });
        }
        // Sarcasm is never praise.
        if sentiment.label == Label::Positive && !sarcastic && sentiment.compound >= 0.3 {
            intents.push(Signal {
                label: "praise".into(),
                evidence: pos_ev,
                competitor: None,
                job: None,
            });
        }
        // A ticket is a request for support, unless it only says thanks.
        let thanks_only = intents.iter().all(|s| s.label == "praise") && !intents.is_empty();
        if i.kind == Kind::SupportTicket
            && !thanks_only
            && !intents.iter().any(|s| s.label == "support_request")
        {
            intents.push(Signal {
                label: "support_request".into(),
                evidence: Vec::new(),
                competitor: None,
                job: None,
            });
        }
        intents.sort_by(|a, b| a.label.cmp(&b.label));

        let has = |l: &str| intents.iter().any(|s| s.label == l);
        let journey_phase: Option<Cow<'static, str>> = if has("churn_risk") || has("switching") {
            Some("churn".into())
        } else if let Some(h) = of(CueKind::Phase).next() {
            Some(h.cue.label.into())
        } else if has("support_request") {
            Some("support".into())
        } else if has("recommendation") {
            Some("loyalty".into())
        } else if has("complaint") || has("praise") || !mentions.is_empty() {
            Some("usage".into())
        } else {
            None
        };

        let mut s = Signals {
            context,
            effort,
            intents,
            journey_phase,
            sarcasm,
            priority: 0,
            routing: Vec::new(),
        };
        s.priority = priority(i, sentiment, &s, intensity);
        s.routing = routing(&s, mentions);
        s
    }
}

fn push(into: &mut Vec<Signal>, label: &'static str, span: Span) {
    match into.iter_mut().find(|s| s.label == label) {
        Some(s) => {
            if !s.evidence.iter().any(|e| e.start == span.start) {
                s.evidence.push(span);
            }
        }
        None => into.push(Signal {
            label: label.into(),
            evidence: vec![span],
            competitor: None,
            job: None,
        }),
    }
}

/// Priority 0-100, all rules in one place:
///
/// | rule | points |
/// |---|---|
/// | base | 10 |
/// | complaint | +20 |
/// | churn risk | +20; switching to a competitor +10 more |
/// | effort ≤ -3 | +15 (≤ -1: +5) |
/// | negative sentiment: compound ≤ -0.5 | +10 |
/// | health, family or money context | +10 |
/// | emotional intensity ≥ 4 | +5 |
/// | business customer, or gold/platinum tier | +10 |
/// | public post by an author with ≥ 10,000 followers, or verified | +10 |
/// | praise or recommendation only (no complaint, no churn) | capped at 30 |
pub fn priority(i: &Interaction, sentiment: &Scores, s: &Signals, intensity: u8) -> u8 {
    let has = |l: &str| s.intents.iter().any(|x| x.label == l);
    let mut p: i32 = 10;
    if has("complaint") {
        p += 20;
    }
    if has("churn_risk") {
        p += 20;
    }
    if has("switching") {
        p += 10;
    }
    match s.effort.as_ref().map(|e| e.score) {
        Some(e) if e <= -3 => p += 15,
        Some(e) if e <= -1 => p += 5,
        _ => {}
    }
    if sentiment.compound <= -0.5 {
        p += 10;
    }
    if s.context
        .iter()
        .any(|c| matches!(c.label.as_ref(), "health" | "family" | "money"))
    {
        p += 10;
    }
    if intensity >= 4 {
        p += 5;
    }
    let tier = i.party.value_tier.as_deref().map(str::to_ascii_lowercase);
    if i.party.segment == Some(Segment::Business)
        || matches!(tier.as_deref(), Some("gold" | "platinum"))
    {
        p += 10;
    }
    if i.kind == Kind::SocialPost
        && (i.party.followers.unwrap_or(0) >= 10_000 || i.party.verified == Some(true))
    {
        p += 10;
    }
    if !has("complaint") && !has("churn_risk") && (has("praise") || has("recommendation")) {
        p = p.min(30);
    }
    p.clamp(0, 100) as u8
}

/// Routing, all rules in one place: **support** for support requests, complaints and questions;
/// **product** for needs and feature requests; **marketing** for praise, recommendations and the
/// awareness and consideration phases; **strategy** for churn risk and switching (share of voice).
pub fn routing(s: &Signals, mentions: &[Mention]) -> Vec<Cow<'static, str>> {
    let has = |l: &str| s.intents.iter().any(|x| x.label == l);
    let phase = s.journey_phase.as_deref();
    let mut r: Vec<Cow<'static, str>> = Vec::new();
    if has("support_request") || has("complaint") || has("question") {
        r.push("support".into());
    }
    if has("need") {
        r.push("product".into());
    }
    if has("praise")
        || has("recommendation")
        || matches!(phase, Some("awareness" | "consideration"))
    {
        r.push("marketing".into());
    }
    if has("churn_risk")
        || has("switching")
        || (mentions.iter().any(|m| m.competitor)
            && matches!(phase, Some("consideration" | "churn")))
    {
        r.push("strategy".into());
    }
    r
}

#[cfg(test)]
mod tests {
    use crate::analyze::Analyzer;
    use crate::catalog::Catalog;
    use crate::decode::{decode, KindHint};

    fn analyse(text: &str) -> crate::analyze::Analysis {
        let src = "[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = 'acme'\n[[brand]]\nid = \"rival\"\nname = \"Rival\"\ncompetitor = true\nquery = 'rival'\n";
        let a = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let json = serde_json::json!({"platform": "x", "id": "1", "author": {"id": "a", "handle": "h"},
            "created_at": "2026-01-01T00:00:00Z", "text": text});
        a.analyze(
            &decode(
                Some(json.to_string().as_bytes()),
                KindHint::Auto,
                Default::default(),
            )
            .unwrap(),
        )
    }

    fn intents(a: &crate::analyze::Analysis) -> Vec<String> {
        a.signals
            .intents
            .iter()
            .map(|s| s.label.to_string())
            .collect()
    }

    #[test]
    fn context_effort_and_priority() {
        let a = analyse(
            "My dad is in hospital and your Acme app logged me out again. Third time I'm calling!",
        );
        let ctx: Vec<_> = a.signals.context.iter().map(|c| c.label.as_ref()).collect();
        assert!(
            ctx.contains(&"family") && ctx.contains(&"health"),
            "{ctx:?}"
        );
        assert!(a.signals.effort.as_ref().unwrap().score <= -4);
        assert!(intents(&a).contains(&"complaint".to_string()));
        assert!(a.signals.priority >= 50, "{}", a.signals.priority);
        assert!(a.signals.routing.iter().any(|r| r == "support"));
        let easy = analyse("Acme sorted it in two minutes, brilliant");
        assert!(easy.signals.effort.as_ref().unwrap().score >= 4);
        assert!(easy.signals.priority <= 30);
    }

    #[test]
    fn sarcasm_is_never_praise() {
        let a = analyse("Great, another Acme update that breaks everything");
        assert!(a.signals.sarcasm.as_ref().unwrap().likely);
        assert!(!intents(&a).contains(&"praise".to_string()));
        assert!(intents(&a).contains(&"complaint".to_string()));
        let plain = analyse("Great update from Acme, love it");
        assert!(plain.signals.sarcasm.is_none());
        assert!(intents(&plain).contains(&"praise".to_string()));
    }

    #[test]
    fn switching_names_the_competitor_and_needs_carry_the_job() {
        let a = analyse("Switching to Rival next month, Acme is too slow");
        let sw = a
            .signals
            .intents
            .iter()
            .find(|s| s.label == "switching")
            .unwrap();
        assert_eq!(sw.competitor.as_deref(), Some("rival"));
        assert!(intents(&a).contains(&"churn_risk".to_string()));
        assert_eq!(a.signals.journey_phase.as_deref(), Some("churn"));
        assert!(a.signals.routing.iter().any(|r| r == "strategy"));
        let n = analyse("I wish the Acme app could schedule wifi off for the kids, please");
        let need = n
            .signals
            .intents
            .iter()
            .find(|s| s.label == "need")
            .unwrap();
        assert_eq!(
            need.job.as_deref(),
            Some("the Acme app could schedule wifi off for the kids")
        );
        assert!(n.signals.routing.iter().any(|r| r == "product"));
    }
}
