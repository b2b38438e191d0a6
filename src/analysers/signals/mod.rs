//! The life and intent behind a message: emotional context, customer effort, intents, journey phase,
//! sarcasm — and, from all of the analysis, a priority and a routing.
//!
//! Signals come from a cue lexicon (`data/earshot/cues.tsv`: case-insensitive whole-word phrases),
//! matched in one Aho-Corasick pass ([`cues`]), combined with the sentiment and the mentions. Each
//! family has a module of its own: [`context`], [`effort`], [`sarcasm`], [`intents`], [`phase`].
//! Every signal carries the spans of the words that triggered it. Priority and routing rules are
//! all in [`priority`] and [`routing`], documented there.

mod context;
pub mod corpus;
mod cues;
mod effort;
pub mod eval;
mod intents;
mod phase;
mod priority;
mod sarcasm;

use std::borrow::Cow;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

pub use priority::{priority, routing};

use crate::interaction::Interaction;
use crate::sentiment::Scores;
use crate::types::{Mention, Span};
use cues::Cue;

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

/// The cue automaton, built once.
#[derive(Debug, Clone)]
pub struct SignalDetector {
    cues: Vec<Cue>,
    automaton: AhoCorasick,
}

impl Default for SignalDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SignalDetector {
    /// Detects the signals of one interaction, given its sentiment, mentions and emotional
    /// intensity: each family in turn, the later ones reading the earlier.
    pub fn detect(
        &self,
        i: &Interaction,
        sentiment: &Scores,
        mentions: &[Mention],
        intensity: u8,
    ) -> Signals {
        let hits = self.hits(&i.text);
        let context = context::context(&hits);
        let effort = effort::effort(&i.text, &hits);
        let sarcasm = sarcasm::sarcasm(&hits, sentiment, effort.as_ref());
        let (intents, won) = intents::intents(
            i,
            &hits,
            sentiment,
            mentions,
            effort.as_ref(),
            sarcasm.as_ref(),
        );
        let journey_phase = phase::phase(&hits, &intents, won, mentions);
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

/// Adds `span` as evidence of the signal `label`, creating the signal if it is not there yet.
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

    #[test]
    fn switching_direction_decides_churn_or_win() {
        let away = analyse("Bye Acme, hello Rival. At least their router works");
        assert!(intents(&away).contains(&"churn_risk".to_string()));
        assert_eq!(away.signals.journey_phase.as_deref(), Some("churn"));
        let win = analyse("Switched from Rival to Acme last week, zero hassle");
        assert!(intents(&win).contains(&"switching".to_string()));
        assert!(!intents(&win).contains(&"churn_risk".to_string()));
        assert_eq!(win.signals.journey_phase.as_deref(), Some("purchase"));
        // No provider on the other side: not a switch.
        let plan = analyse("Can I move to a cheaper Acme plan without a penalty");
        assert!(!intents(&plan).contains(&"switching".to_string()));
    }

    #[test]
    fn durations_are_effort_and_requests_are_not_questions() {
        let wait = analyse("On hold with Acme for 45 minutes and then the line went dead");
        assert!(wait.signals.effort.as_ref().unwrap().score <= -2);
        let quick = analyse("Acme fixed my billing in under five minutes");
        assert!(quick.signals.effort.as_ref().unwrap().score > 0);
        let request = analyse("Can you check why my Acme speed dropped since the weekend?");
        assert!(!intents(&request).contains(&"question".to_string()));
        let question = analyse("Is Acme down for anyone else right now?");
        assert!(intents(&question).contains(&"question".to_string()));
    }

    #[test]
    fn politeness_and_wishes_are_not_praise() {
        let ask = analyse("Please update the billing address on my Acme account, thanks");
        assert!(!intents(&ask).contains(&"praise".to_string()));
        let wish = analyse("Would be great if Acme could sync shared folders offline");
        assert!(!intents(&wish).contains(&"praise".to_string()));
        assert!(intents(&wish).contains(&"need".to_string()));
        let works = analyse("Had zero problems with Acme since I got it");
        assert!(intents(&works).contains(&"praise".to_string()));
        assert!(!intents(&works).contains(&"complaint".to_string()));
    }

    #[test]
    fn no_panic_on_unicode_around_durations() {
        for t in [
            "İİİ 5 minutes",
            "in ５ minutes ✓",
            "for two hours\u{301} on hold",
            "minutes",
            "in",
        ] {
            let _ = analyse(t);
        }
    }

    #[test]
    fn cues_match_typographic_and_missing_apostrophes() {
        for text in [
            "I can't afford Acme anymore",
            "I can\u{2019}t afford Acme anymore",
            "I cant afford Acme anymore",
        ] {
            let a = analyse(text);
            assert!(
                a.signals.context.iter().any(|c| c.label == "money"),
                "{text}"
            );
        }
        // Dropping the apostrophe must not make another word: "i'll" is not "ill" (health).
        assert!(super::cues::spellings("i'll").iter().all(|s| s != "ill"));
    }

    #[test]
    fn context_cues_match_their_inflections_only() {
        let ctx = |t: &str| -> Vec<String> {
            analyse(t)
                .signals
                .context
                .iter()
                .map(|c| c.label.to_string())
                .collect()
        };
        assert!(ctx("Two deadlines today and Acme is down").contains(&"work".to_string()));
        assert!(ctx("Both flights cancelled, Acme roaming useless").contains(&"travel".to_string()));
        // "fee" must not match "feed"; a cue inside a longer word does not count.
        assert!(!ctx("The Acme news feed is slow").contains(&"money".to_string()));
        assert!(!ctx("Acme is unrentable").contains(&"money".to_string()));
    }
}
