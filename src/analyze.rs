//! The analysis engine: a pure function of an interaction. No I/O, no clocks, no globals, no async.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::emotion::{EmotionModel, Emotions};
use crate::interaction::{Interaction, Kind};
use crate::language::{Language, LanguageDetector, Unread};
use crate::mentions::{CompileErrors, Matcher};
use crate::privacy::Privacy;
use crate::sentiment::{round3, Scores, SentimentScorer};
use crate::signals::{SignalDetector, Signals};
use crate::types::{AspectSentiment, Label, Mention};

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
        let mut sentiment = self.sentiment.score(&interaction.text);
        // The text's hashed features, once, for the emotion model and the signal model.
        let text_features = crate::emotion::features(&interaction.text, &sentiment);
        let emotions = self
            .emotions
            .score_features(&interaction.text, &text_features);
        // The model learnt from social comments; in a ticket it reads the register of support
        // mail (a closing "Thanks" as gratitude), so a ticket keeps the lexicon's score.
        if interaction.kind == Kind::SocialPost {
            refine_sentiment(&mut sentiment, &emotions, EMOTION_WEIGHT);
        }
        let mut mentions = self.matcher.find_in(interaction, language.tag.as_deref());
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
        let signals = self.signals.detect(
            interaction,
            &sentiment,
            &mentions,
            &emotions,
            &text_features,
        );
        self.signals
            .read_mentions(interaction, &mut mentions, &signals);
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

/// The weight of the emotion model's reading in the message's compound score: an even split
/// between the two estimates.
pub const EMOTION_WEIGHT: f32 = 0.5;

/// Refines the message's compound score with the emotion model, which was trained on 43k
/// human-labelled comments and reads the whole text where the lexicon adds up words (words it
/// lacks, a sentence's tone; not sarcasm): the compound becomes the mean of the lexicon's score and
/// the model's valence ([`Emotions::valence`]), the model weighing `weight` ([`EMOTION_WEIGHT`] in
/// the analyser).
///
/// The model moves the score **within its label, never across it**: the label stays the one the
/// lexicon's evidence supports, so every positive or negative message still points at the words
/// that made it so, and a message with no sentiment word stays neutral. Only the message score
/// changes, and the sentence score when the message is one sentence; the scores of the sentences of
/// a longer message, and so of its mentions, are the lexicon's (the model reads the whole text).
/// `lexicon_compound` keeps the lexicon's own score, and the signals (praise, priority) read it.
///
/// The analyser refines social posts only: support tickets keep the lexicon's score (see
/// [`Analyzer::analyze`]).
pub fn refine_sentiment(scores: &mut Scores, emotions: &Emotions, weight: f32) {
    let lexicon = scores.compound;
    let mixed = (1.0 - weight) * lexicon + weight * emotions.valence();
    // The label's band: positive at 0.05 and above, negative at -0.05 and below.
    let refined = match scores.label {
        Label::Positive => mixed.max(0.05),
        Label::Negative => mixed.min(-0.05),
        Label::Neutral => mixed.clamp(-0.049, 0.049),
    };
    let refined = round3(refined);
    scores.lexicon_compound = lexicon;
    scores.compound = refined;
    if let [only] = scores.sentences.as_mut_slice() {
        only.compound = refined;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn emotions_with(joy: f32, anger: f32) -> Emotions {
        Emotions {
            scores: Vec::new(),
            ekman: [("anger", anger), ("joy", joy), ("neutral", 0.5)]
                .map(|(g, p)| (Cow::Borrowed(g), p))
                .to_vec(),
            labels: Vec::new(),
            dominant: Cow::Borrowed("neutral"),
            dominant_ekman: Cow::Borrowed("neutral"),
            intensity: 1,
        }
    }

    #[test]
    fn the_emotion_model_moves_the_score_within_its_label_never_across() {
        let scorer = SentimentScorer::new();
        for (text, joy, anger, expect) in [
            // Agreement strengthens, doubt weakens; neither crosses the label's band.
            ("This is great", 0.9, 0.0, 0.05..=1.0),
            ("This is great", 0.0, 0.95, 0.05..=0.05),
            ("This is awful", 0.0, 0.0, -1.0..=-0.05),
            ("This is awful", 1.0, 0.0, -0.05..=-0.05),
            // No sentiment word: neutral, whatever the model reads.
            ("The meeting is at 3pm", 1.0, 0.0, 0.0..=0.049),
            ("The meeting is at 3pm", 0.0, 1.0, -0.049..=0.0),
        ] {
            let mut s = scorer.score(text);
            let (lexicon, label) = (s.compound, s.label);
            refine_sentiment(&mut s, &emotions_with(joy, anger), EMOTION_WEIGHT);
            assert_eq!(s.label, label, "{text}");
            assert_eq!(
                Label::from_compound(s.compound),
                label,
                "{text}: {}",
                s.compound
            );
            assert!(
                expect.contains(&s.compound),
                "{text}: {} not in {expect:?}",
                s.compound
            );
            assert_eq!(s.lexicon_compound, lexicon, "{text}");
            // One sentence: it is the message.
            assert_eq!(s.sentences[0].compound, s.compound, "{text}");
        }
        // An even mean of the two readings when both agree on the label.
        let mut s = scorer.score("This is great");
        let lexicon = s.compound;
        refine_sentiment(&mut s, &emotions_with(0.4, 0.1), EMOTION_WEIGHT);
        assert!(
            (s.compound - (lexicon + 0.3) / 2.0).abs() < 1e-3,
            "{}",
            s.compound
        );
        // Several sentences keep their lexicon scores.
        let mut s = scorer.score("Support was wonderful. The app is awful!");
        let before = s.sentences.clone();
        refine_sentiment(&mut s, &emotions_with(0.0, 1.0), EMOTION_WEIGHT);
        assert_eq!(s.sentences, before);
    }

    #[test]
    fn social_posts_are_refined_and_tickets_keep_the_lexicons_score() {
        let analyzer = Analyzer::new(Catalog::parse("").unwrap()).unwrap();
        let text =
            "Sync fails with error 0x80 on shared folders. This is blocking our release. Thanks";
        let post = format!(
            r#"{{"platform":"x","id":"1","author":{{"id":"a","handle":"h"}},"created_at":"2026-01-01T00:00:00Z","text":"{text}"}}"#
        );
        let ticket = format!(
            r#"{{"id":"t1","customer":{{"id":"c"}},"channel":"email","created_at":"2026-01-01T00:00:00Z","body":"{text}"}}"#
        );
        let analyse = |json: &str| {
            let i = crate::decode::decode(
                Some(json.as_bytes()),
                crate::decode::KindHint::Auto,
                Default::default(),
            )
            .unwrap();
            analyzer.analyze(&i).sentiment.unwrap()
        };
        let (post, ticket) = (analyse(&post), analyse(&ticket));
        assert_eq!(ticket.compound, ticket.lexicon_compound);
        assert_eq!(post.lexicon_compound, ticket.lexicon_compound);
        // The model reads the closing "Thanks" as gratitude and pulls the post's score up, within
        // its label.
        assert!(post.compound > post.lexicon_compound, "{post:?}");
        assert_eq!(
            (post.label, ticket.label),
            (Label::Negative, Label::Negative)
        );
    }

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
