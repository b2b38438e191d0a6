//! The output contract: one insight event per consumed message (`schemas/insight.v1.json`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::analyze::Analysis;
use crate::interaction::{Interaction, Kind, Party, TicketStatus};
use crate::language::LanguageSource;

/// Value of the `schema` field of every insight event of this version.
pub const SCHEMA: &str = "earshot.insight.v1";

/// Namespace of the deterministic insight ids (UUIDv5 over the source coordinates).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f0c_3a52_8f1e_4b5d_9a0e_2c7d_41e5_b8a3);

/// Where a message came from. For Kafka: topic, partition, offset. For a file run: the file name (or
/// `stdin`) as topic, partition 0, and the 1-based line number as offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl SourceRef {
    /// The insight id of this source position: the same coordinates always give the same id, so a
    /// redelivered message yields a duplicate that downstream can drop by id.
    pub fn insight_id(&self) -> Uuid {
        let name = format!("{}/{}/{}", self.topic, self.partition, self.offset);
        Uuid::new_v5(&ID_NAMESPACE, name.as_bytes())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub kind: Kind,
    pub channel: String,
    /// The source system's id of the post or ticket.
    pub id: String,
    /// A ticket's status when the ticket was read (`solved` and `closed` mean resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
}

/// One insight event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "InsightIn")]
pub struct Insight {
    pub schema: String,
    pub id: Uuid,
    pub source: Source,
    #[serde(serialize_with = "rfc3339")]
    pub occurred_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub processed_at: DateTime<Utc>,
    pub party: Party,
    /// The source's language tag, or the detected ISO 639-1 code when the source gave none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether `language` is the source's or detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_source: Option<LanguageSource>,
    /// The text that was analysed; every byte span in the insight points into it.
    pub text: String,
    #[serde(flatten)]
    pub analysis: Analysis,
}

/// An insight as it is read back: the fields [`Insight`] writes, its analysis and signals
/// flattened into the top level, read in one pass. serde reads a `#[serde(flatten)]` field by
/// buffering every field it does not know first and reading them again, twice here (the analysis,
/// then its signals): that was half the time of reading an insight, which the memory stage does
/// for every one. The signals are there when all their required fields are, as with the flattened
/// `Option<Signals>`.
#[derive(Deserialize)]
struct InsightIn {
    schema: String,
    id: Uuid,
    source: Source,
    occurred_at: DateTime<Utc>,
    processed_at: DateTime<Utc>,
    party: Party,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    language_source: Option<LanguageSource>,
    text: String,
    #[serde(default)]
    catalog_version: Option<String>,
    mentions: Vec<crate::types::Mention>,
    #[serde(default)]
    sentiment: Option<crate::sentiment::Scores>,
    #[serde(default)]
    emotions: Option<crate::emotion::Emotions>,
    #[serde(default)]
    unread: Option<crate::language::Unread>,
    #[serde(default)]
    context: Option<Vec<crate::signals::Signal>>,
    #[serde(default)]
    effort: Option<crate::signals::Effort>,
    #[serde(default)]
    intents: Option<Vec<crate::signals::Signal>>,
    #[serde(default)]
    journey_phase: Option<std::borrow::Cow<'static, str>>,
    #[serde(default)]
    sarcasm: Option<crate::signals::Sarcasm>,
    #[serde(default)]
    unlisted_brand: Option<crate::types::Span>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    routing: Option<Vec<std::borrow::Cow<'static, str>>>,
}

impl From<InsightIn> for Insight {
    fn from(i: InsightIn) -> Insight {
        let signals = match (i.context, i.intents, i.priority, i.routing) {
            (Some(context), Some(intents), Some(priority), Some(routing)) => {
                Some(crate::signals::Signals {
                    context,
                    effort: i.effort,
                    intents,
                    journey_phase: i.journey_phase,
                    sarcasm: i.sarcasm,
                    unlisted_brand: i.unlisted_brand,
                    priority,
                    routing,
                })
            }
            _ => None,
        };
        Insight {
            schema: i.schema,
            id: i.id,
            source: i.source,
            occurred_at: i.occurred_at,
            processed_at: i.processed_at,
            party: i.party,
            language: i.language,
            language_source: i.language_source,
            text: i.text,
            analysis: Analysis {
                catalog_version: i.catalog_version,
                mentions: i.mentions,
                sentiment: i.sentiment,
                emotions: i.emotions,
                signals,
                unread: i.unread,
                language: Default::default(),
            },
        }
    }
}

/// A timestamp as chrono's own serialization writes it (RFC 3339, `Z`, as many fraction digits as
/// it needs), through chrono's RFC 3339 writer instead of its general formatting machinery: the
/// two timestamps of an event cost 4.6k instructions that way, a tenth of the whole encoding.
pub(crate) fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

impl Insight {
    /// Builds the event. `processed_at` is passed in so the core stays free of clocks.
    pub fn new(
        at: SourceRef,
        interaction: Interaction,
        analysis: Analysis,
        processed_at: DateTime<Utc>,
    ) -> Insight {
        Insight {
            schema: SCHEMA.to_string(),
            id: at.insight_id(),
            source: Source {
                topic: at.topic,
                partition: at.partition,
                offset: at.offset,
                kind: interaction.kind,
                channel: interaction.channel,
                id: interaction.id,
                status: interaction.status,
            },
            occurred_at: interaction.occurred_at,
            processed_at,
            party: interaction.party,
            language: analysis.language.tag.clone(),
            language_source: analysis.language.tag.as_ref().and(analysis.language.source),
            text: interaction.text,
            analysis,
        }
    }
}

/// Times that try a writer of RFC 3339 text: the epoch, every count of fractional digits, and
/// years from before the common era to past 9999.
#[cfg(test)]
pub(crate) fn awkward_times() -> Vec<DateTime<Utc>> {
    let base = DateTime::parse_from_rfc3339("2026-11-16T06:26:00Z")
        .expect("valid")
        .with_timezone(&Utc);
    let mut cases = vec![DateTime::<Utc>::UNIX_EPOCH, base];
    for nanos in [1, 999, 1_000, 120_000, 1_000_000, 392_540_294, 999_999_999] {
        cases.push(base + chrono::Duration::nanoseconds(nanos));
    }
    for years in [-3000, -1, 1, 500, 8000] {
        cases.push(base + chrono::Duration::days(365 * years));
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_serialize_as_chrono_does() {
        #[derive(Serialize)]
        struct Ours(#[serde(serialize_with = "rfc3339")] DateTime<Utc>);
        let mut cases = awkward_times();
        cases.push(Utc::now());
        for t in cases {
            assert_eq!(
                serde_json::to_string(&Ours(t)).expect("encodes"),
                serde_json::to_string(&t).expect("encodes"),
                "{t:?}"
            );
        }
    }

    #[test]
    fn ids_are_deterministic_per_coordinate() {
        let a = SourceRef {
            topic: "t".into(),
            partition: 1,
            offset: 7,
        };
        let b = a.clone();
        let c = SourceRef {
            offset: 8,
            ..a.clone()
        };
        assert_eq!(a.insight_id(), b.insight_id());
        assert_ne!(a.insight_id(), c.insight_id());
    }
}
