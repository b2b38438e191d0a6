//! Intents: complaint, praise, question, support request, purchase intent, churn risk, switching
//! (with the competitor), recommendation and need (with the job). The intent cues, then what the
//! rest of the analysis implies: a switch's direction from the mentions, a need's job from its
//! clause, a question from its mark, a complaint or praise from the sentiment, sarcasm and effort,
//! and a support request from a ticket.

use super::cues::{CueKind, Hits};
use super::{push, Effort, Sarcasm, Signal};
use crate::interaction::{Interaction, Kind};
use crate::sentiment::Scores;
use crate::types::{Label, Mention, Span};

/// The intents of a message, sorted by label, and whether it is a win (a switch from a competitor).
pub(super) fn intents(
    i: &Interaction,
    hits: &Hits,
    sentiment: &Scores,
    mentions: &[Mention],
    effort: Option<&Effort>,
    sarcasm: Option<&Sarcasm>,
) -> (Vec<Signal>, bool) {
    let text = i.text.as_str();
    let mut intents: Vec<Signal> = Vec::new();
    for h in hits.of(CueKind::Intent) {
        push(&mut intents, h.cue.label, h.span.clone());
    }
    let won = resolve_switching(&mut intents, text, mentions);
    add_jobs(&mut intents, text);
    // A question: a question mark (of a real question), or a question cue where the post
    // leaves the mark out ("anyone know if the hub works with Sonos").
    if let Some(at) = questions(text).next() {
        push(&mut intents, "question", Span::new(text, at, at + 1));
    }
    infer_complaint_and_praise(&mut intents, text, sentiment, effort, sarcasm);
    // A ticket is a request for support, unless it only says thanks.
    let thanks_only = intents.iter().all(|s| s.label == "praise") && !intents.is_empty();
    if i.kind == Kind::SupportTicket
        && !thanks_only
        && !intents.iter().any(|s| s.label == "support_request")
    {
        intents.push(signal("support_request", Vec::new()));
    }
    intents.sort_by(|a, b| a.label.cmp(&b.label));
    (intents, won)
}

/// A signal inferred from the analysis rather than found as a cue.
fn signal(label: &'static str, evidence: Vec<Span>) -> Signal {
    Signal {
        label: label.into(),
        evidence,
        competitor: None,
        job: None,
    }
}

/// Switching is between providers: it needs a competitor named (or "another network"). Towards a
/// competitor it is churn and names the competitor; away from one it is a win (returns `true`).
/// Without a provider on the other side it is no switch, and is removed.
fn resolve_switching(intents: &mut Vec<Signal>, text: &str, mentions: &[Mention]) -> bool {
    let Some(at) = intents.iter().position(|s| s.label == "switching") else {
        return false;
    };
    match switch_direction(text, mentions) {
        Switch::Away(competitor) => {
            intents[at].competitor = competitor;
            if !intents.iter().any(|s| s.label == "churn_risk") {
                let ev = intents[at].evidence.clone();
                intents.push(signal("churn_risk", ev));
            }
            false
        }
        Switch::Towards(competitor) => {
            intents[at].competitor = competitor;
            true
        }
        Switch::None => {
            intents.remove(at);
            false
        }
    }
}

/// Needs carry the job: what follows the cue, to the end of its clause, at most 12 words.
fn add_jobs(intents: &mut [Signal], text: &str) {
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
}

/// A complaint from negative words (unless the customer says something works), sarcasm, or a
/// customer describing real effort; praise from positive words that are not politeness, a
/// question or a wish. Sarcasm is never praise.
fn infer_complaint_and_praise(
    intents: &mut Vec<Signal>,
    text: &str,
    sentiment: &Scores,
    effort: Option<&Effort>,
    sarcasm: Option<&Sarcasm>,
) {
    let sarcastic = sarcasm.is_some_and(|s| s.likely);
    let neg_ev: Vec<Span> = sentiment
        .evidence
        .iter()
        .filter(|e| e.valence < 0.0)
        .map(|e| e.span.clone())
        .collect();
    // "Please", "help" and "thanks" are polite, not praise; and a positive word in a question
    // ("which one has better support?") or a wish ("would be great if") is not praise either.
    let need_starts: Vec<usize> = intents
        .iter()
        .filter(|s| s.label == "need")
        .flat_map(|s| s.evidence.iter().map(|e| e.start))
        .collect();
    let pos_ev: Vec<Span> = sentiment
        .evidence
        .iter()
        .filter(|e| e.valence > 0.0 && !POLITE.iter().any(|p| p.eq_ignore_ascii_case(&e.span.text)))
        .filter(|e| !in_question_or_wish(text, e.span.start, &need_starts))
        .map(|e| e.span.clone())
        .collect();
    // Sarcasm is never praise.
    let praise_cue = !sarcastic && intents.iter().any(|s| s.label == "praise");
    if sarcastic {
        intents.retain(|s| s.label != "praise");
    }
    let complaint_cue = intents.iter().any(|s| s.label == "complaint");
    // A complaint: negative words (unless the customer says something works), sarcasm, or a
    // customer describing real effort.
    let hard = effort.filter(|e| e.score <= -2);
    if ((sentiment.label == Label::Negative && !praise_cue) || sarcastic || hard.is_some())
        && !complaint_cue
    {
        let mut ev = neg_ev;
        ev.extend(sarcasm.iter().flat_map(|s| s.evidence.iter().cloned()));
        ev.extend(hard.iter().flat_map(|e| e.evidence.iter().cloned()));
        intents.push(signal("complaint", ev));
    }
    if sentiment.label == Label::Positive
        && !sarcastic
        && !praise_cue
        // Praise is what the words say: the lexicon's score, which `pos_ev` explains.
        && sentiment.lexicon_compound >= 0.3
        && !pos_ev.is_empty()
    {
        intents.push(signal("praise", pos_ev));
    }
}

/// Words VADER rates positive that are politeness in a request, not praise.
const POLITE: &[&str] = &[
    "please",
    "help",
    "helps",
    "thanks",
    "thank",
    "like",
    "want",
    "wish",
    "hope",
    "sure",
    "ok",
    "okay",
    "kind",
    "regards",
    "welcome",
    "yes",
    "care",
    "free",
    "fine",
    "well",
    "hi",
    "hello",
    "dear",
    "appreciate",
    "appreciated",
    "grateful",
    "priority",
    "safe",
    "safer",
    "secure",
];

/// Where the sentence holding byte `at` starts: after the last sentence end before it.
fn sentence_start(text: &str, at: usize) -> usize {
    text[..at].rfind(['.', '!', '?', '\n']).map_or(0, |p| p + 1)
}

/// Whether byte `at` lies in a question (its sentence ends with "?") or after a wish in the same
/// sentence.
fn in_question_or_wish(text: &str, at: usize, wishes: &[usize]) -> bool {
    let end = text[at..]
        .find(['.', '!', '?', '\n'])
        .map_or(text.len(), |p| at + p);
    let start = sentence_start(text, at);
    text[end..].starts_with('?') || wishes.iter().any(|w| (start..=at).contains(w))
}

/// Byte offsets of the question marks of real questions: a request phrased as a question ("Can
/// you check...?", "Could someone...?") is a request, not a question.
fn questions(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.match_indices('?')
        .map(|(at, _)| at)
        .filter(move |&at| {
            let sentence = text[sentence_start(text, at)..at].trim_start();
            ![
                "can you",
                "could you",
                "can someone",
                "could someone",
                "can somebody",
                "would you",
                "will you",
                "please",
                "can i get",
                "could i get",
            ]
            .iter()
            .any(|p| {
                sentence
                    .get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
            })
        })
}

/// Which way a switch goes, seen from the brand the catalog listens for.
enum Switch {
    /// Leaving for a competitor (named when the catalog knows it).
    Away(Option<String>),
    /// Coming from a competitor.
    Towards(Option<String>),
    /// No provider on the other side: not a switch ("move to a cheaper plan").
    None,
}

fn switch_direction(text: &str, mentions: &[Mention]) -> Switch {
    let lower_before = |at: usize| -> String {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(24)
            .map_or(0, |(i, _)| i);
        text[from..at].to_lowercase()
    };
    let competitor = mentions.iter().find(|m| m.competitor);
    let Some(c) = competitor else {
        let lower = text.to_lowercase();
        let other = [
            "another network",
            "another provider",
            "another supplier",
            "a new provider",
        ]
        .iter()
        .any(|p| lower.contains(p));
        return if other {
            Switch::Away(None)
        } else {
            Switch::None
        };
    };
    let before = lower_before(c.span.start);
    let before = before.trim_end();
    let from_words = [
        "from",
        "left",
        "ditched",
        "bye",
        "leaving",
        "dumped",
        "after years with",
    ];
    let source = from_words.iter().any(|w| before.ends_with(w));
    // "switched from Corvid to Larkspur", "left Skylane for Larkspur": the competitor is the source.
    if source {
        return Switch::Towards(Some(c.brand.clone()));
    }
    Switch::Away(Some(c.brand.clone()))
}
