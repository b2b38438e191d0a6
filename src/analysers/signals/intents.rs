//! What the intents the model reads carry beyond their label: a switch's competitor, from the
//! direction of the switch and the mentions; a need's job, from its clause; the question mark of a
//! real question; and which positive words are politeness, not praise.

use super::Signal;
use crate::types::Mention;

/// Needs carry the job: what follows the cue, to the end of its clause, at most 12 words.
pub(super) fn add_jobs(intents: &mut [Signal], text: &str) {
    // A job is said in words, not in a link ([`crate::analysers::links`]).
    let blanked = crate::analysers::links::blank(text);
    let text: &str = &blanked;
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

/// Words VADER rates positive that are politeness in a request, not praise.
pub(super) const POLITE: &[&str] = &[
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

/// Byte offsets of the question marks of real questions: a request phrased as a question ("Can
/// you check...?", "Could someone...?") is a request, not a question.
pub(super) fn questions(text: &str) -> impl Iterator<Item = usize> + '_ {
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
pub(super) enum Switch {
    /// Leaving for a competitor (named when the catalog knows it).
    Away(Option<String>),
    /// Coming from a competitor.
    Towards(Option<String>),
    /// No provider on the other side: not a switch ("move to a cheaper plan").
    None,
}

pub(super) fn switch_direction(text: &str, mentions: &[Mention]) -> Switch {
    let blanked = crate::analysers::links::blank(text);
    let text: &str = &blanked;
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
