//! Sarcasm: a sarcasm cue ("love that for me") is likely sarcasm when the message also has a
//! negative word, a complaint cue or hard effort, or when the cue is strong on its own.

use super::cues::{CueKind, Hits};
use super::{Effort, Sarcasm};
use crate::sentiment::Scores;
use crate::types::Span;

/// The sarcasm reading: `None` without a sarcasm cue; with one, whether it is likely.
pub(super) fn sarcasm(hits: &Hits, sentiment: &Scores, effort: Option<&Effort>) -> Option<Sarcasm> {
    let evidence: Vec<Span> = hits.of(CueKind::Sarcasm).map(|h| h.span.clone()).collect();
    if evidence.is_empty() {
        return None;
    }
    let negative_word = sentiment.evidence.iter().any(|e| e.valence < 0.0);
    let strong = hits.of(CueKind::Sarcasm).any(|h| h.cue.weight >= 2);
    let likely = strong
        || negative_word
        || hits.of(CueKind::Intent).any(|h| h.cue.label == "complaint")
        || effort.is_some_and(|e| e.score < 0);
    Some(Sarcasm { likely, evidence })
}
