//! When the memory speaks up: the five customer insight rules, each with its severity, evidence and
//! cooldown. Every rule is in this file.

use chrono::Duration;

use super::event::{CustomerInsight, CustomerRef, Severity, Type, SCHEMA};
use super::policy::Policy;
use super::state::{later, CustomerState, Name, Raised, Ref, Trigger};

/// `n` hours, saturating.
fn hours_of(n: i64) -> Duration {
    Duration::try_hours(n).unwrap_or(Duration::MAX)
}

/// Evidence quotes per customer insight.
const EVIDENCE: usize = 6;

fn cooldown_hours(policy: &Policy, t: Type) -> i64 {
    let c = &policy.cooldown_hours;
    match t {
        Type::ValuableAtRisk => c.valuable_at_risk,
        Type::RepeatedEffort => c.repeated_effort,
        Type::LifeContext => c.life_context,
        Type::Advocate => c.advocate,
        Type::CrossLineOpportunity => c.cross_line_opportunity,
    }
}

/// The customer as an event shows it.
pub fn customer_ref(s: &CustomerState) -> CustomerRef {
    CustomerRef {
        key: s.key.clone(),
        segment: s.segment,
        value_tier: s.value_tier.as_ref().map(|t| t.to_string()),
        constituency: s.constituency,
        channels: s.channels.keys().map(|c| c.to_string()).collect(),
        lines: s.lines.iter().map(|l| l.to_string()).collect(),
        interactions: s.interactions,
        sentiment_trend: s.sentiment.mean().map(|m| (m * 1000.0).round() / 1000.0),
        effort_trend: s.effort.mean().map(|m| (m * 100.0).round() / 100.0),
    }
}

/// Oldest first, each message once, at most [`EVIDENCE`] (the first and the latest kept).
fn evidence(mut refs: Vec<Ref>) -> Vec<Ref> {
    refs.sort_by(|a, b| a.at.cmp(&b.at).then(a.insight_id.cmp(&b.insight_id)));
    refs.dedup_by(|a, b| a.insight_id == b.insight_id);
    while refs.len() > EVIDENCE {
        refs.remove(1);
    }
    refs
}

/// A candidate customer insight, before its cooldown is checked.
struct Candidate {
    kind: Type,
    /// Cooldown key: the type, or the type and its detail (a line).
    cooldown_key: String,
    severity: Severity,
    reason: String,
    evidence: Vec<Ref>,
    product: Option<String>,
    competitor: Option<String>,
    context: Option<String>,
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    v.join(", ")
}

/// The customer insights an update raises: `triggers` from [`CustomerState::apply`] or
/// [`CustomerState::merge`], `by` the message that made them. Records what it raises in the
/// state's cooldowns.
pub fn evaluate(
    s: &mut CustomerState,
    triggers: &[Trigger],
    by: &Ref,
    policy: &Policy,
) -> Vec<CustomerInsight> {
    let mut candidates = Vec::new();
    // Described only when a rule speaks: most updates raise nothing.
    let who = std::cell::OnceCell::new();
    let who = || who.get_or_init(|| describe(s)).as_str();

    // Repeated effort: the same open problem on another channel.
    for t in triggers {
        if let Trigger::RepeatedEffort(i) = t {
            let Some(p) = s.problems.get(*i) else {
                continue;
            };
            let n = p.channels.len();
            if n < 2 {
                continue;
            }
            candidates.push(Candidate {
                kind: Type::RepeatedEffort,
                cooldown_key: Type::RepeatedEffort.as_str().into(),
                severity: if n >= 3 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                reason: format!(
                    "{} raised the same problem{} on {n} channels ({}) since {}",
                    who(),
                    if p.products.is_empty() {
                        String::new()
                    } else {
                        format!(" with {}", list(&p.products))
                    },
                    list(&p.channels),
                    p.opened_at.format("%Y-%m-%d")
                ),
                evidence: p.refs.clone(),
                product: p.products.iter().next().map(|p| p.to_string()),
                competitor: None,
                context: None,
            });
        }
    }

    // A valuable customer at risk: negative (a negative sentiment trend, or a problem still
    // open), and leaving, or with one problem across channels or products.
    let trend = s.sentiment.mean();
    let negative =
        trend.is_some_and(|t| t <= policy.negative_trend) || s.open_problems().next().is_some();
    if s.valuable(policy) && negative {
        let spread: Vec<_> = s
            .open_problems()
            .filter(|p| p.channels.len() >= 2 || p.products.len() >= 2)
            .collect();
        let open_products: std::collections::BTreeSet<&super::state::Name> =
            s.open_problems().flat_map(|p| &p.products).collect();
        let leaving = s.leaving.clone();
        if leaving.is_some() || !spread.is_empty() || open_products.len() >= 2 {
            let mut why = Vec::new();
            if leaving.is_some() {
                why.push(match &s.switching_to {
                    Some(c) => format!("talks of switching to {c}"),
                    None => "talks of leaving".to_string(),
                });
            }
            if let Some(p) = spread.iter().find(|p| p.channels.len() >= 2) {
                why.push(format!("the same problem on {}", list(&p.channels)));
            }
            if open_products.len() >= 2 {
                why.push(format!("open problems with {}", list(&open_products)));
            }
            let severity = if leaving.is_some() && why.len() > 1 {
                Severity::Critical
            } else {
                Severity::High
            };
            let mut refs: Vec<Ref> = leaving.into_iter().collect();
            refs.extend(s.open_problems().flat_map(|p| p.refs.iter().cloned()));
            candidates.push(Candidate {
                kind: Type::ValuableAtRisk,
                cooldown_key: Type::ValuableAtRisk.as_str().into(),
                severity,
                reason: format!(
                    "{} at risk: sentiment trend {:.2}, {}",
                    who(),
                    trend.unwrap_or(0.0),
                    why.join("; ")
                ),
                evidence: refs,
                product: spread
                    .first()
                    .and_then(|p| p.products.iter().next().map(|p| p.to_string())),
                competitor: s.switching_to.as_ref().map(|c| c.to_string()),
                context: None,
            });
        }
    }

    for t in triggers {
        match t {
            // A hard moment.
            Trigger::NewContext(i) => {
                let Some(c) = s.contexts.get(*i) else {
                    continue;
                };
                candidates.push(Candidate {
                    kind: Type::LifeContext,
                    cooldown_key: Type::LifeContext.as_str().into(),
                    severity: Severity::Medium,
                    reason: format!(
                        "{} is going through a hard moment ({}): let them reach someone who knows",
                        who(),
                        c.label.replace('_', " ")
                    ),
                    evidence: vec![c.evidence.clone()],
                    product: None,
                    competitor: None,
                    context: Some(c.label.to_string()),
                });
            }
            // An advocate: praise again, nothing open, not negative.
            Trigger::Praise => {
                if s.praise.len() >= policy.advocate_praise
                    && s.open_problems().next().is_none()
                    && trend.is_none_or(|t| t >= 0.0)
                {
                    candidates.push(Candidate {
                        kind: Type::Advocate,
                        cooldown_key: Type::Advocate.as_str().into(),
                        severity: Severity::Low,
                        reason: format!(
                            "{} praised or recommended us in {} messages",
                            who(),
                            s.praise.len()
                        ),
                        evidence: s.praise.clone(),
                        product: None,
                        competitor: None,
                        context: None,
                    });
                }
            }
            // A need another line answers.
            Trigger::CrossLine { product, line } => candidates.push(Candidate {
                kind: Type::CrossLineOpportunity,
                cooldown_key: format!("{}:{line}", Type::CrossLineOpportunity.as_str()),
                severity: Severity::Low,
                reason: format!(
                    "{}, on our {} line{}, needs what {product} ({line}) does",
                    who(),
                    list(s.lines.iter().filter(|l| *l != line)),
                    if s.lines.len() > 2 { "s" } else { "" }
                ),
                evidence: vec![by.clone()],
                product: Some(product.clone()),
                competitor: None,
                context: None,
            }),
            Trigger::RepeatedEffort(_) => {}
        }
    }

    let now = by.at;
    let mut out = Vec::new();
    for c in candidates {
        let hours = cooldown_hours(policy, c.kind);
        let severity = c.severity as u8;
        let cooling = s
            .raised
            .get(c.cooldown_key.as_str())
            .is_some_and(|r| now < later(r.at, hours_of(hours)) && severity <= r.severity);
        if cooling {
            continue;
        }
        s.raised
            .insert(Name::from(c.cooldown_key), Raised { at: now, severity });
        out.push(CustomerInsight {
            schema: SCHEMA.to_string(),
            id: CustomerInsight::id_of(&s.key, c.kind, &by.insight_id, c.severity),
            kind: c.kind,
            severity: c.severity,
            customer: customer_ref(s),
            occurred_at: now,
            cooldown_until: later(now, hours_of(hours)),
            reason: c.reason,
            routing: c.kind.routing().iter().map(|r| r.to_string()).collect(),
            evidence: evidence(c.evidence),
            product: c.product,
            competitor: c.competitor,
            context: c.context,
        });
    }
    out
}

/// "A gold business customer", "A customer", ...
fn describe(s: &CustomerState) -> String {
    let mut words = vec!["A".to_string()];
    if let Some(t) = &s.value_tier {
        words.push(t.to_lowercase().to_string());
    }
    match s.segment {
        Some(crate::interaction::Segment::Business) => words.push("business".into()),
        Some(crate::interaction::Segment::Consumer) => words.push("consumer".into()),
        None => {}
    }
    words.push("customer".into());
    words.join(" ")
}
