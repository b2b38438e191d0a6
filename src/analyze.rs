//! The analysis engine: a pure function of an interaction. No I/O, no clocks, no globals, no async.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::emotion::{EmotionModel, Emotions};
use crate::interaction::Interaction;
use crate::language::{Language, LanguageDetector, Unread};
use crate::mentions::{CompileErrors, Matcher};
use crate::polarity::SentimentModel;
use crate::privacy::Privacy;
use crate::sentiment::{Scores, SentenceScore, SentimentScorer};
use crate::signals::{SignalDetector, Signals};
use crate::types::{AspectSentiment, Mention};

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
    /// Context, effort, intents, journey phase, sarcasm, priority and routing; absent, as
    /// sentiment and emotions are, for a language the analysers do not read.
    #[serde(flatten)]
    pub signals: Option<Signals>,
    /// Why sentiment, emotions and signals are absent, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<Unread>,
    /// The language the message was read in (the insight's `language` and `language_source`).
    #[serde(skip)]
    pub language: Language,
}

/// The analyzer: built once from a catalog, then called for every interaction.
#[derive(Debug)]
pub struct Analyzer {
    catalog: Catalog,
    matcher: Matcher,
    sentiment: SentimentScorer,
    emotions: EmotionModel,
    polarity: SentimentModel,
    signals: SignalDetector,
    language: LanguageDetector,
    privacy: Privacy,
}

/// An analyzer that can't be built.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzerError {
    // Transparent: the inner error is the whole message, printed once in a chain.
    #[error(transparent)]
    Catalog(#[from] CompileErrors),
    #[error(transparent)]
    Model(#[from] crate::emotion::ModelError),
    #[error(transparent)]
    SentimentModel(#[from] crate::polarity::ModelError),
    #[error(transparent)]
    SignalModel(#[from] crate::signals::model::ModelError),
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
            polarity: SentimentModel::bundled()?,
            signals: SignalDetector::new()?,
            language: LanguageDetector::new(),
            privacy: Privacy::off(),
        })
    }

    /// The same analyser, protecting each message with `privacy` before it reads it.
    pub fn with_privacy(mut self, privacy: Privacy) -> Analyzer {
        self.privacy = privacy;
        self
    }

    /// The same analyser, reading sentiment with `model` instead of the bundled one (to measure a
    /// retrained model before it ships: `earshot eval-aspects --model`).
    pub fn with_sentiment_model(mut self, model: SentimentModel) -> Analyzer {
        self.polarity = model;
        self
    }

    /// How messages are protected before they are analysed ([`Privacy::protect`]).
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Analyses one interaction. One in a language the analysers do not read gets its mentions
    /// only, and the reason ([`Analysis::unread`]).
    pub fn analyze(&self, interaction: &Interaction) -> Analysis {
        let language = self
            .language
            .language(interaction.language.as_deref(), &interaction.text);
        if let Some(unread) = language.unread() {
            return Analysis {
                catalog_version: Some(self.catalog.version.clone()),
                mentions: self.matcher.find_in(interaction, language.tag.as_deref()),
                sentiment: None,
                emotions: None,
                signals: None,
                unread: Some(unread),
                language,
            };
        }
        let text = interaction.text.as_str();
        let lexicon = self.sentiment.score(text);
        // The text's hashed features, once, for the emotion, signal and sentiment models.
        let tf = crate::polarity::TextFeatures::of(text, &lexicon);
        let text_features = tf.shared();
        let emotions = self.emotions.score_features(text, text_features);
        let mut mentions = self.matcher.find_in(interaction, language.tag.as_deref());
        // The signal model learnt from the lexicon's reading: it gets that reading.
        let signals = self.signals.read(
            interaction,
            &lexicon,
            &mut mentions,
            &emotions,
            text_features,
        );
        let features = crate::polarity::features(&lexicon, &tf);
        let sentences = self.sentence_inputs(text, &lexicon);
        for m in &mut mentions {
            let span = (m.span.start, m.span.end);
            let (f, compound) = self.mention_input(text, &lexicon, &features, &sentences, span);
            let r = self.polarity.read(&f, compound);
            m.sentiment = Some(AspectSentiment {
                compound: r.compound,
                label: r.label,
            });
        }
        let sentiment = self.read_sentiment(text, lexicon, &features, &sentences);
        Analysis {
            catalog_version: Some(self.catalog.version.clone()),
            mentions,
            sentiment: Some(sentiment),
            emotions: Some(emotions),
            signals: Some(signals),
            unread: None,
            language,
        }
    }
}

impl Analyzer {
    /// The message's sentiment: the model's label and score, the lexicon's score beside it
    /// (`lexicon_compound`), and each sentence read by the model on its own. The evidence is the
    /// lexicon's words where the model agrees with the lexicon's label, and the words the model
    /// weighed most where it overrules it (`overruled`).
    fn read_sentiment(
        &self,
        text: &str,
        lexicon: Scores,
        features: &[u32],
        sentence_inputs: &[(Vec<u32>, f32)],
    ) -> Scores {
        let reading = self.polarity.read(features, lexicon.compound);
        let overruled = reading.label != lexicon.label;
        let evidence = if overruled {
            self.polarity.evidence(text, reading.label, 3)
        } else {
            lexicon.evidence
        };
        // One sentence is the message; several are each read from their own input.
        let sentences = lexicon
            .sentences
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r = match sentence_inputs.get(i) {
                    Some((f, compound)) => self.polarity.read(f, *compound),
                    None => reading,
                };
                SentenceScore {
                    compound: r.compound,
                    label: r.label,
                    ..*s
                }
            })
            .collect();
        Scores {
            compound: reading.compound,
            lexicon_compound: lexicon.compound,
            label: reading.label,
            overruled,
            evidence,
            sentences,
            ..lexicon
        }
    }

    /// Each sentence's model input (features and lexicon compound) when the message has more
    /// than one, computed once for the sentence scores and the mentions in them; empty otherwise
    /// (the one sentence is the message).
    fn sentence_inputs(&self, text: &str, lexicon: &Scores) -> Vec<(Vec<u32>, f32)> {
        if lexicon.sentences.len() <= 1 {
            return Vec::new();
        }
        lexicon
            .sentences
            .iter()
            .map(|s| {
                let sentence = text.get(s.start..s.end).unwrap_or_default();
                crate::polarity::text_features(sentence, &self.sentiment)
            })
            .collect()
    }

    /// The model's input for a mention at `text[start..end]`: the features of its clause when its
    /// sentence sets one clause against another ("the app is great but support is useless"),
    /// else of its sentence (the message's own when it is one sentence), with the words around
    /// the mention; and that text's lexicon compound.
    fn mention_input(
        &self,
        text: &str,
        lexicon: &Scores,
        message_features: &[u32],
        sentence_inputs: &[(Vec<u32>, f32)],
        (start, end): (usize, usize),
    ) -> (Vec<u32>, f32) {
        let at = lexicon
            .sentences
            .iter()
            .position(|s| s.start <= start && start < s.end);
        let clause = at.and_then(|i| {
            let s = &lexicon.sentences[i];
            crate::polarity::clause_of(text, s.start, s.end, start)
        });
        let sentence = at.and_then(|i| Some((&lexicon.sentences[i], sentence_inputs.get(i)?)));
        let (span, (mut f, compound)) = match (clause, sentence) {
            (Some(c), _) => {
                let t = text.get(c.0..c.1).unwrap_or_default();
                (c, crate::polarity::text_features(t, &self.sentiment))
            }
            (None, Some((s, (f, compound)))) => ((s.start, s.end), (with_room(f), *compound)),
            (None, None) => (
                (0, text.len()),
                (with_room(message_features), lexicon.compound),
            ),
        };
        crate::polarity::mention_features(text, span, (start, end), &mut f);
        (f, compound)
    }

    /// Each mention of an interaction with the model's input for it, as [`Analyzer::analyze`]
    /// reads it: what `earshot train-sentiment` learns per-brand readings from. Empty for a
    /// language the analysers do not read.
    pub fn mention_inputs(&self, interaction: &Interaction) -> Vec<(Mention, Vec<u32>, f32)> {
        let language = self
            .language
            .language(interaction.language.as_deref(), &interaction.text);
        if language.unread().is_some() {
            return Vec::new();
        }
        let text = interaction.text.as_str();
        let lexicon = self.sentiment.score(text);
        let tf = crate::polarity::TextFeatures::of(text, &lexicon);
        let features = crate::polarity::features(&lexicon, &tf);
        let sentences = self.sentence_inputs(text, &lexicon);
        self.matcher
            .find_in(interaction, language.tag.as_deref())
            .into_iter()
            .map(|m| {
                let span = (m.span.start, m.span.end);
                let (f, c) = self.mention_input(text, &lexicon, &features, &sentences, span);
                (m, f, c)
            })
            .collect()
    }
}

/// A copy of `features` with room for a mention's own features
/// ([`crate::polarity::mention_features`] adds at most [`crate::polarity::MENTION_FEATURES`]), so
/// adding them does not copy the whole vector again.
fn with_room(features: &[u32]) -> Vec<u32> {
    let mut f = Vec::with_capacity(features.len() + crate::polarity::MENTION_FEATURES);
    f.extend_from_slice(features);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Label;

    fn post(analyzer: &Analyzer, text: &str) -> Analysis {
        let json = serde_json::json!({"platform": "x", "id": "1", "author": {"id": "a", "handle": "h"},
            "created_at": "2026-01-01T00:00:00Z", "text": text});
        let i = crate::decode::decode(
            Some(json.to_string().as_bytes()),
            crate::decode::KindHint::Auto,
            Default::default(),
        )
        .unwrap();
        analyzer.analyze(&i)
    }

    #[test]
    fn each_mention_reads_its_own_clause() {
        // Names the training rows hardly use (Acme once, Zyxo never), so that the clause decides
        // and not what the model learnt of a word: "Bolt", an English word the corpus uses
        // ("bolt-on", "bolt upright"), tips its own reading since the sentiment model read the
        // whole corpus (docs/analysis.md, "The whole corpus").
        let src = "[[brand]]\nid = \"a\"\nname = \"A\"\nquery = 'acme'\n[[brand]]\nid = \"b\"\nname = \"B\"\nquery = 'zyxo'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        for (text, expected) in [
            (
                "The Acme app is great but Zyxo support is useless",
                [("a", Label::Positive), ("b", Label::Negative)],
            ),
            (
                "Zyxo support is useless but the Acme app is great",
                [("b", Label::Negative), ("a", Label::Positive)],
            ),
            (
                "The Zyxo app is great but Acme support is useless",
                [("b", Label::Positive), ("a", Label::Negative)],
            ),
        ] {
            let a = post(&analyzer, text);
            let by_brand: Vec<_> = a
                .mentions
                .iter()
                .map(|m| (m.brand.as_str(), m.sentiment.unwrap().label))
                .collect();
            assert_eq!(by_brand, expected, "{text}");
        }
    }

    #[test]
    fn where_the_model_overrules_the_lexicon_the_evidence_is_what_it_read() {
        let analyzer = Analyzer::new(Catalog::parse("").unwrap()).unwrap();
        let text = "Oh wonderful, the app crashed again";
        let s = post(&analyzer, text).sentiment.unwrap();
        // The lexicon adds up "wonderful"; the model reads the whole message.
        assert!(s.lexicon_compound >= 0.05, "{s:?}");
        assert_eq!(s.label, Label::Negative, "{s:?}");
        assert!(s.overruled);
        assert!(!s.evidence.is_empty());
        for e in &s.evidence {
            assert_eq!(&text[e.span.start..e.span.end], e.span.text.as_str());
            assert!(e.valence < 0.0, "{e:?}");
        }
        assert!(s.evidence.iter().any(|e| e.span.text == "crashed"), "{s:?}");
        // Where they agree, the evidence stays the lexicon's words.
        let s = post(&analyzer, "The support team was wonderful")
            .sentiment
            .unwrap();
        assert!(!s.overruled && s.label == Label::Positive, "{s:?}");
        assert!(
            s.evidence.iter().any(|e| e.span.text == "wonderful"),
            "{s:?}"
        );
        assert_eq!(s.sentences.len(), 1);
        assert_eq!(s.sentences[0].compound, s.compound);
    }
}
