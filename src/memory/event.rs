//! The customer insight event (`schemas/customer_insight.v1.json`): something about one customer
//! that a team acts on, with the messages that show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::state::Ref;
use crate::interaction::{Constituency, Segment};

/// Value of the `schema` field of every customer insight of this version.
pub const SCHEMA: &str = "earshot.customer_insight.v1";

/// Namespace of the deterministic customer insight ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x1c9e_77a0_5b43_4f0e_8d12_93aa_6e04_c5f1);

/// What a team should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    /// A high-value or business customer with a negative trend who signals leaving, or whose
    /// problem spans channels or product lines.
    ValuableAtRisk,
    /// The same open problem raised again on another channel.
    RepeatedEffort,
    /// A customer in a hard moment (bereavement, illness, a move, job loss).
    LifeContext,
    /// Repeated praise or recommendation.
    Advocate,
    /// A need in one product line that another of our lines answers.
    CrossLineOpportunity,
}

impl Type {
    pub const ALL: [Type; 5] = [
        Type::ValuableAtRisk,
        Type::RepeatedEffort,
        Type::LifeContext,
        Type::Advocate,
        Type::CrossLineOpportunity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Type::ValuableAtRisk => "valuable_at_risk",
            Type::RepeatedEffort => "repeated_effort",
            Type::LifeContext => "life_context",
            Type::Advocate => "advocate",
            Type::CrossLineOpportunity => "cross_line_opportunity",
        }
    }

    pub fn parse(s: &str) -> Option<Type> {
        Type::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The teams that act on it (the routing names of the insight events).
    pub fn routing(self) -> &'static [&'static str] {
        match self {
            Type::ValuableAtRisk => &["strategy", "support"],
            Type::RepeatedEffort => &["support"],
            Type::LifeContext => &["support"],
            Type::Advocate => &["marketing"],
            Type::CrossLineOpportunity => &["marketing", "product"],
        }
    }
}

/// How urgently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

impl Severity {
    /// Its name in events and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Who the customer is, as far as the memory may say (no names, no e-mail addresses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRef {
    /// The customer key: pseudonymous when pseudonymisation is on.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constituency: Option<Constituency>,
    /// Channels heard on.
    pub channels: Vec<String>,
    /// Our product lines used or talked about.
    pub lines: Vec<String>,
    /// Messages heard in all.
    pub interactions: u64,
    /// Decayed mean sentiment (-1..1) of the messages about us, if any were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment_trend: Option<f64>,
    /// Decayed mean effort (-5..5), if any was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort_trend: Option<f64>,
}

/// One customer insight event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerInsight {
    pub schema: String,
    /// UUIDv5 of the customer key, the type and the insight that raised it: a redelivered or
    /// replayed insight raises the same id.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: Type,
    pub severity: Severity,
    pub customer: CustomerRef,
    /// When the message that raised it was said (event time).
    #[serde(serialize_with = "crate::insight::rfc3339")]
    pub occurred_at: DateTime<Utc>,
    /// The same type is not raised again for this customer before this time, unless its severity
    /// rises.
    #[serde(serialize_with = "crate::insight::rfc3339")]
    pub cooldown_until: DateTime<Utc>,
    /// One sentence for a person.
    pub reason: String,
    pub routing: Vec<String>,
    /// The messages that show it, oldest first.
    pub evidence: Vec<Ref>,
    /// The product concerned, when there is one (the problem's, or the one that answers a need).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The competitor a customer at risk named, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitor: Option<String>,
    /// The hard moment's context label, for `life_context`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl CustomerInsight {
    /// The deterministic id of a customer insight of `kind` and `severity` raised for `key` by
    /// `insight` (an escalation raised by the same message has an id of its own).
    ///
    /// The name hashed is `key/type/insight id/Severity` (the severity as its Rust name): ids
    /// must stay the same across versions, so a consumer de-duplicating by id is not fooled by an
    /// upgrade. Built by hand, not with `format!`: formatting was a quarter of the rules' time.
    pub fn id_of(key: &str, kind: Type, insight: &Uuid, severity: Severity) -> Uuid {
        let mut buf = Uuid::encode_buffer();
        let insight = insight.hyphenated().encode_lower(&mut buf);
        let severity = match severity {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        };
        let kind = kind.as_str();
        let mut name = String::with_capacity(key.len() + kind.len() + insight.len() + 12);
        for part in [key, "/", kind, "/", insight, "/", severity] {
            name.push_str(part);
        }
        Uuid::new_v5(&ID_NAMESPACE, name.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids of every version so far: `format!("{key}/{type}/{insight}/{severity:?}")`.
    #[test]
    fn ids_are_the_ones_earlier_versions_gave() {
        let insight = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        for kind in [
            Type::ValuableAtRisk,
            Type::RepeatedEffort,
            Type::LifeContext,
            Type::Advocate,
            Type::CrossLineOpportunity,
        ] {
            for severity in [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ] {
                let name = format!("c_1f/{}/{insight}/{severity:?}", kind.as_str());
                assert_eq!(
                    CustomerInsight::id_of("c_1f", kind, &insight, severity),
                    Uuid::new_v5(&ID_NAMESPACE, name.as_bytes())
                );
            }
        }
    }
}
