//! The analysis engine: a pure function of an interaction. No I/O, no clocks, no globals, no async.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::emotion::{EmotionModel, Emotions};
use crate::interaction::Interaction;
use crate::mentions::{CompileErrors, Matcher};
use crate::sentiment::{Label, Scores, SentimentScorer};
use crate::signals::{SignalDetector, Signals};
use crate::span::Span;

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
}

/// The sentiment around one mention.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AspectSentiment {
    pub compound: f32,
    pub label: Label,
}

/// Everything the analyzers found in one interaction. Sections whose analyzer does not exist yet
/// stay empty (`[]`) or absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Analysis {
    /// Version of the catalog the mentions were matched against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
    pub mentions: Vec<Mention>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Scores>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emotions: Option<Emotions>,
    /// Context, effort, intents, journey phase, sarcasm, priority and routing.
    #[serde(flatten)]
    pub signals: Signals,
}

/// The analyzer: built once from a catalog, then called for every interaction.
#[derive(Debug)]
pub struct Analyzer {
    catalog: Catalog,
    matcher: Matcher,
    sentiment: SentimentScorer,
    emotions: EmotionModel,
    signals: SignalDetector,
}

/// An analyzer that can't be built.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzerError {
    #[error("{0}")]
    Catalog(#[from] CompileErrors),
    #[error("{0}")]
    Model(#[from] crate::emotion::ModelError),
}

impl Analyzer {
    /// Compiles the catalog's queries (every query error is reported at once) and loads the
    /// bundled emotion model.
    pub fn new(catalog: Catalog) -> Result<Analyzer, AnalyzerError> {
        Ok(Analyzer {
            matcher: Matcher::compile(&catalog)?,
            catalog,
            sentiment: SentimentScorer::new(),
            emotions: EmotionModel::bundled()?,
            signals: SignalDetector::new(),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Analyses one interaction.
    pub fn analyze(&self, interaction: &Interaction) -> Analysis {
        let sentiment = self.sentiment.score(&interaction.text);
        let mut mentions = self.matcher.find(interaction);
        for m in &mut mentions {
            m.sentiment = sentiment
                .sentence_at(m.span.start)
                .map(|s| AspectSentiment {
                    compound: s.compound,
                    label: s.label,
                })
                .or(Some(AspectSentiment {
                    compound: sentiment.compound,
                    label: sentiment.label,
                }));
        }
        let emotions = self.emotions.score(&interaction.text, &sentiment);
        let signals = self
            .signals
            .detect(interaction, &sentiment, &mentions, emotions.intensity);
        Analysis {
            catalog_version: Some(self.catalog.version.clone()),
            mentions,
            sentiment: Some(sentiment),
            emotions: Some(emotions),
            signals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mention_gets_the_sentiment_of_its_sentence() {
        let src = "[[brand]]\nid = \"a\"\nname = \"A\"\nquery = 'acme'\n[[brand]]\nid = \"b\"\nname = \"B\"\nquery = 'bolt'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let i = crate::decode::decode(
            Some(br#"{"platform":"x","id":"1","author":{"id":"a","handle":"h"},"created_at":"2026-01-01T00:00:00Z",
              "text":"Acme support was wonderful. Bolt was awful and slow!"}"#),
            crate::decode::KindHint::Auto,
            Default::default(),
        )
        .unwrap();
        let a = analyzer.analyze(&i);
        let by_brand: Vec<_> = a
            .mentions
            .iter()
            .map(|m| (m.brand.as_str(), m.sentiment.unwrap().label))
            .collect();
        assert_eq!(by_brand, [("a", Label::Positive), ("b", Label::Negative)]);
    }
}
