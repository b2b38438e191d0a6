//! What every stage of the analysis shares: byte spans of the analysed text (the evidence behind
//! every reading), the mentions of brands and products, and the sentiment label. A leaf: it imports
//! no other module of the crate, so the analysers and the [`crate::analyze`] that runs them never
//! import each other.

use std::borrow::Cow;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// A byte range `[start, end)` of the analysed text, with the text it covers. The text is a
/// [`CompactString`]: evidence is mostly single words, which it holds inline (up to 24 bytes)
/// without an allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub text: CompactString,
}

impl Span {
    /// The span `[start, end)` of `source`. Both ends must lie on character boundaries.
    pub fn new(source: &str, start: usize, end: usize) -> Span {
        Span {
            start,
            end,
            text: CompactString::new(source.get(start..end).unwrap_or_default()),
        }
    }
}

/// A brand or product found in the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    pub brand: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    pub competitor: bool,
    #[serde(flatten)]
    pub span: Span,
    /// Sentiment of the sentence the mention is in (aspect-level sentiment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<AspectSentiment>,
    /// The intents that concern this brand or product (aspect level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Cow<'static, str>>,
    /// The writer's journey phase with this brand or product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_phase: Option<Cow<'static, str>>,
}

/// The sentiment around one mention.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AspectSentiment {
    pub compound: f32,
    pub label: Label,
}

/// Sentiment label from the compound score, at VADER's +-0.05 thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Positive,
    Neutral,
    Negative,
}

impl Label {
    pub fn from_compound(c: f32) -> Label {
        if c >= 0.05 {
            Label::Positive
        } else if c <= -0.05 {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }
}
