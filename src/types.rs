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
    /// The brand's own sentiment (aspect level): the model's reading of the mention's clause or
    /// sentence, with the words around the mention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<AspectSentiment>,
    /// The intents that concern this brand or product (aspect level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Cow<'static, str>>,
    /// The writer's journey phase with this brand or product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_phase: Option<Cow<'static, str>>,
    /// The brand is the company the message was sent to: a support ticket's (its `brand`, else
    /// its product's), or the brand whose account a post replies to (its `in_reply_to_handle`).
    /// A recipient the message's words do not name is a mention with an empty span at 0
    /// ([`Mention::spanless`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recipient: bool,
}

impl Mention {
    /// Whether the mention has no words in the text: a recipient (a ticket's company, the brand
    /// a reply answers) that the words do not name. The readers of the words around a mention
    /// pass it by.
    pub fn spanless(&self) -> bool {
        self.span.start == self.span.end
    }

    /// The mentions the words name: all of `mentions` but a recipient with no words, which
    /// [`crate::mentions::Matcher::add_recipient`] appends last.
    pub fn named(mentions: &[Mention]) -> &[Mention] {
        &mentions[..mentions.iter().take_while(|m| !m.spanless()).count()]
    }
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

    /// The label of its name (`positive`, `neutral`, `negative`, any case), as labelled sets write
    /// it.
    pub fn parse(name: &str) -> Option<Label> {
        [Label::Positive, Label::Neutral, Label::Negative]
            .into_iter()
            .find(|l| name.trim().eq_ignore_ascii_case(l.as_str()))
    }

    /// The label as a rating: 1, 0 or -1.
    pub fn sign(self) -> f64 {
        match self {
            Label::Positive => 1.0,
            Label::Neutral => 0.0,
            Label::Negative => -1.0,
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

/// English function words (lower-cased), never shown as evidence of a learned reading: a weight
/// they carry is a phrase's, not a meaning of their own. A match on the bytes: the compiler
/// branches on the length first, then compares.
pub fn is_function_word(lower: &[u8]) -> bool {
    matches!(
        lower,
        b"a" | b"about"
            | b"after"
            | b"all"
            | b"am"
            | b"an"
            | b"and"
            | b"any"
            | b"are"
            | b"as"
            | b"at"
            | b"be"
            | b"been"
            | b"but"
            | b"by"
            | b"can"
            | b"do"
            | b"for"
            | b"from"
            | b"had"
            | b"has"
            | b"have"
            | b"he"
            | b"her"
            | b"him"
            | b"his"
            | b"i"
            | b"i'm"
            | b"if"
            | b"in"
            | b"is"
            | b"it"
            | b"it's"
            | b"its"
            | b"just"
            | b"me"
            | b"my"
            | b"of"
            | b"on"
            | b"or"
            | b"our"
            | b"she"
            | b"so"
            | b"than"
            | b"that"
            | b"the"
            | b"their"
            | b"them"
            | b"then"
            | b"there"
            | b"they"
            | b"this"
            | b"to"
            | b"up"
            | b"us"
            | b"was"
            | b"we"
            | b"were"
            | b"what"
            | b"with"
            | b"you"
            | b"you're"
            | b"your"
            | b"yours"
    )
}
