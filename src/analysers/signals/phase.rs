//! Journey phase: the most specific moment of the customer's journey the message shows.

use std::borrow::Cow;

use super::cues::{CueKind, Hits};
use super::Signal;
use crate::types::Mention;

/// The phase, most specific first: churn, then a win (purchase), then the phase cues in the order
/// of [`PHASE_ORDER`], then what the intents imply; usage for any other message about a brand.
pub(super) fn phase(
    hits: &Hits,
    intents: &[Signal],
    won: bool,
    mentions: &[Mention],
) -> Option<Cow<'static, str>> {
    let has = |l: &str| intents.iter().any(|s| s.label == l);
    let cue_phase = PHASE_ORDER
        .iter()
        .find(|p| hits.of(CueKind::Phase).any(|h| h.cue.label == **p));
    if has("churn_risk") {
        Some("churn".into())
    } else if won {
        Some("purchase".into())
    } else if let Some(p) = cue_phase {
        Some((*p).into())
    } else if has("support_request") {
        Some("support".into())
    } else if has("purchase_intent") {
        Some("consideration".into())
    } else if has("recommendation") {
        Some("loyalty".into())
    } else if has("complaint") || has("praise") || has("need") || !mentions.is_empty() {
        Some("usage".into())
    } else {
        None
    }
}

/// The order in which phase cues decide the phase when several are present: the most specific
/// moment of the journey wins (setting up beats having bought; buying beats comparing).
const PHASE_ORDER: [&str; 6] = [
    "onboarding",
    "purchase",
    "consideration",
    "awareness",
    "loyalty",
    "support",
];
