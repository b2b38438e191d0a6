//! Priority and routing: who should act on a message, and how urgently. Every rule is in the doc
//! comments of [`priority`] and [`routing`].

use std::borrow::Cow;

use super::Signals;
use crate::interaction::{Interaction, Kind, Segment};
use crate::sentiment::Scores;
use crate::types::Mention;

/// Priority 0-100, all rules in one place:
///
/// | rule | points |
/// |---|---|
/// | base | 10 |
/// | complaint | +20 |
/// | churn risk | +20; switching to a competitor +10 more |
/// | effort ≤ -3 | +15 (≤ -1: +5) |
/// | negative sentiment: the lexicon's compound ≤ -0.5 | +10 |
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
    // The lexicon's score, which its evidence explains (the emotion model does not move it).
    if sentiment.lexicon_compound <= -0.5 {
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
