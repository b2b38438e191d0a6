//! The analysis engine: a pure function of an interaction. No I/O, no clocks, no globals, no async.

use std::collections::HashMap;

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
    /// The words of each brand's and its products' names, lower case, by brand id: what the
    /// sentiment model reads as one placeholder ([`crate::polarity::Masked`]).
    names: HashMap<String, Vec<String>>,
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
            names: name_words(&catalog),
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
            let mut mentions = self.matcher.find_in(interaction, language.tag.as_deref());
            self.matcher
                .add_recipient(interaction, language.tag.as_deref(), &mut mentions);
            return Analysis {
                catalog_version: Some(self.catalog.version.clone()),
                mentions,
                sentiment: None,
                emotions: None,
                signals: None,
                unread: Some(unread),
                language,
            };
        }
        let text = interaction.text.as_str();
        let mut mentions = self.matcher.find_in(interaction, language.tag.as_deref());
        // Every model reads the text with the catalog's names masked: a brand is read by what is
        // said of it, not by its name (a brand named Glee is no glee). One lexicon pass and one
        // set of hashed features serve the lexicon's score, the emotion, sentiment and signal
        // models; with no name in the text, the masked text is the text.
        let MaskedReading {
            masked,
            lexicon: read_lexicon,
            features: tf,
            roles,
        } = read_masked(&self.sentiment, &self.names, text, &mentions);
        let read = masked.text();
        let emotions = self.emotions.score_features(text, tf.shared());
        let inputs = self.sentiment_inputs(read, &read_lexicon, &tf, &masked, &mentions);
        for (m, (f, compound)) in mentions.iter_mut().zip(&inputs.mentions) {
            let r = self.polarity.read(f, *compound);
            m.sentiment = Some(AspectSentiment {
                compound: r.compound,
                label: r.label,
            });
        }
        let read_compound = read_lexicon.compound;
        // The lexicon's reading with its words and sentences where they are in the text.
        let lexicon = unmasked(read_lexicon, &masked, text);
        let input = crate::signals::model::TextInput {
            features: tf.shared(),
            roles: roles.as_ref(),
        };
        // The company a ticket was sent to, or the brand a reply answers: its mentions marked, or
        // one with no words appended after the named ones. The message's readings are of the
        // words; it is their target.
        self.matcher
            .add_recipient(interaction, language.tag.as_deref(), &mut mentions);
        let signals = self
            .signals
            .read(interaction, &lexicon, &mut mentions, &emotions, input);
        let sentiment = self.read_sentiment(
            text,
            lexicon,
            read_compound,
            &inputs.features,
            &inputs.sentences,
        );
        // A recipient the words do not name is read as the message is: the message is written
        // to it.
        for m in mentions.iter_mut().filter(|m| m.spanless()) {
            m.sentiment = Some(AspectSentiment {
                compound: sentiment.compound,
                label: sentiment.label,
            });
        }
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
    /// (`lexicon_compound`), and each sentence read by the model on its own. `features`,
    /// `read_compound` and `sentence_inputs` are of the text as the model reads it (names
    /// masked); `lexicon` is the lexicon's reading of the same masked text, its spans moved back
    /// to the text ([`unmasked`]). The evidence is the
    /// lexicon's words where the model agrees with the lexicon's label, and the words the model
    /// weighed most where it overrules it (`overruled`).
    fn read_sentiment(
        &self,
        text: &str,
        lexicon: Scores,
        read_compound: f32,
        features: &[u32],
        sentence_inputs: &[(Vec<u32>, f32)],
    ) -> Scores {
        let reading = self.polarity.read(features, read_compound);
        let overruled = reading.label != lexicon.label;
        let evidence = if overruled {
            self.polarity.evidence(text, reading.label, 3)
        } else {
            lexicon.evidence
        };
        // One sentence is the message; several are each read from their own input. The inputs
        // are of the masked text's sentences; should masking ever change where the text splits
        // (it replaces only letters and digits), each sentence gets the message's reading.
        let aligned = sentence_inputs.len() == lexicon.sentences.len();
        let sentences = lexicon
            .sentences
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r = match sentence_inputs.get(i).filter(|_| aligned) {
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
        let mentions = self.matcher.find_in(interaction, language.tag.as_deref());
        let masked = self.masked(text, &mentions);
        let read = masked.text();
        let lexicon = self.sentiment.score(read);
        let tf = crate::polarity::TextFeatures::of(read, &lexicon);
        let inputs = self.sentiment_inputs(read, &lexicon, &tf, &masked, &mentions);
        mentions
            .into_iter()
            .zip(inputs.mentions)
            .map(|(m, (f, c))| (m, f, c))
            .collect()
    }

    /// What the sentiment model reads of a message: `read` is its text with the names masked,
    /// `lexicon` and `tf` that text's lexicon reading and hashed features; each mention's span is
    /// moved to where it lies in `read`.
    fn sentiment_inputs(
        &self,
        read: &str,
        lexicon: &Scores,
        tf: &crate::polarity::TextFeatures,
        masked: &crate::polarity::Masked,
        mentions: &[Mention],
    ) -> SentimentInputs {
        let features = crate::polarity::features(lexicon, tf);
        let sentences = self.sentence_inputs(read, lexicon);
        let mentions = mentions
            .iter()
            .map(|m| {
                let span = masked.span((m.span.start, m.span.end));
                self.mention_input(read, lexicon, &features, &sentences, span)
            })
            .collect();
        SentimentInputs {
            features,
            sentences,
            mentions,
        }
    }

    /// The text of an interaction as the sentiment model reads it: its brand and product names
    /// masked ([`crate::polarity::Masked`]). What `earshot train-sentiment` and
    /// `eval-sentiment` read a corpus message as.
    pub fn sentiment_text(&self, interaction: &Interaction) -> String {
        let language = self
            .language
            .language(interaction.language.as_deref(), &interaction.text);
        let mentions = self.matcher.find_in(interaction, language.tag.as_deref());
        self.masked(&interaction.text, &mentions).into_string()
    }

    /// `text` with the words of its mentions' names masked: in each mention's span, each word of
    /// the brand's or a product's name, a word that a name word of five letters or more begins
    /// ("Corvids"), and a handle or hashtag that any name word begins ("@larkspurhelp",
    /// "#btfail"). The other words of a span stay: a query's other terms ("acme AND outage",
    /// "corvid NEAR/5 router") are what is said of the brand.
    fn masked<'t>(&self, text: &'t str, mentions: &[Mention]) -> crate::polarity::Masked<'t> {
        mask_names(&self.names, text, mentions)
    }
}

/// [`Analyzer::masked`] with the catalog's name words given (`name_words`): what the analyser and
/// the signal model's trainer read.
pub fn mask_names<'t>(
    names: &HashMap<String, Vec<String>>,
    text: &'t str,
    mentions: &[Mention],
) -> crate::polarity::Masked<'t> {
    let mut ranges = Vec::new();
    let bytes = text.as_bytes();
    for m in mentions {
        let Some(span) = text.get(m.span.start..m.span.end) else {
            continue;
        };
        let names = names.get(&m.brand).map_or(&[][..], Vec::as_slice);
        let mut check = |ws: usize, we: usize| {
            let tagged = ws > 0 && matches!(bytes[ws - 1], b'@' | b'#');
            let lower = crate::analysers::lowercase(&text[ws..we]);
            let named = names.iter().any(|n| {
                *n == lower || ((tagged || n.chars().count() >= 5) && lower.starts_with(n.as_str()))
            });
            if named {
                ranges.push((ws, we));
            }
        };
        let mut word: Option<usize> = None;
        for (i, c) in span.char_indices() {
            if c.is_alphanumeric() {
                word.get_or_insert(m.span.start + i);
            } else if let Some(ws) = word.take() {
                check(ws, m.span.start + i);
            }
        }
        if let Some(ws) = word {
            check(ws, m.span.end);
        }
    }
    crate::polarity::Masked::new(text, ranges)
}

/// The lexicon's reading of the masked text with its evidence and sentences moved to where they
/// are in `text` (the placeholder has no valence, so no evidence word is a name; an evidence's
/// words are taken from `text` all the same).
fn unmasked(mut scores: Scores, masked: &crate::polarity::Masked, text: &str) -> Scores {
    if masked.is_masked() {
        for e in &mut scores.evidence {
            let (s, e2) = masked.unspan((e.span.start, e.span.end));
            e.span = crate::types::Span::new(text, s, e2);
        }
        for s in &mut scores.sentences {
            (s.start, s.end) = masked.unspan((s.start, s.end));
        }
    }
    scores
}

/// A message's text as every model reads it, with the catalog's names masked
/// ([`read_masked`]): what the analyser and the signal model's trainer compute once.
pub struct MaskedReading<'t> {
    pub masked: crate::polarity::Masked<'t>,
    /// The lexicon's reading of the masked text (its spans are of the masked text).
    pub lexicon: Scores,
    /// The masked text's hashed features.
    pub features: crate::polarity::TextFeatures,
    /// The roles' patch of the masked text; `None` when nothing was masked (the signal model
    /// then patches the text itself).
    pub roles: Option<crate::signals::roles::Patch>,
}

impl MaskedReading<'_> {
    /// What the signal model reads of the text.
    pub fn signal_input(&self) -> crate::signals::model::TextInput<'_> {
        crate::signals::model::TextInput {
            features: self.features.shared(),
            roles: self.roles.as_ref(),
        }
    }
}

/// Reads `text`, whose mentions are `mentions`, with the names of `names` ([`name_words`])
/// masked: one lexicon pass and one feature pass.
pub fn read_masked<'t>(
    lexicon: &SentimentScorer,
    names: &HashMap<String, Vec<String>>,
    text: &'t str,
    mentions: &[Mention],
) -> MaskedReading<'t> {
    let masked = mask_names(names, text, mentions);
    let scores = lexicon.score(masked.text());
    let features = crate::polarity::TextFeatures::of(masked.text(), &scores);
    let roles = masked.is_masked().then(|| roles_in(&masked, mentions));
    MaskedReading {
        masked,
        lexicon: scores,
        features,
        roles,
    }
}

/// The roles' patch of the masked text, its mentions moved to where they are in it: what the
/// signal model reads in place of the names.
fn roles_in(
    masked: &crate::polarity::Masked,
    mentions: &[Mention],
) -> crate::signals::roles::Patch {
    use crate::signals::roles;
    let spots: smallvec::SmallVec<[roles::Spot; 4]> = mentions
        .iter()
        .map(|m| {
            let (s, e) = masked.span((m.span.start, m.span.end));
            (s, e, m.competitor)
        })
        .collect();
    roles::patch_spots(masked.text(), &spots, u32::MAX)
}

/// The sentiment model's inputs for one message ([`Analyzer::sentiment_inputs`]): its features,
/// each sentence's features and lexicon compound, and each mention's.
struct SentimentInputs {
    features: Vec<u32>,
    sentences: Vec<(Vec<u32>, f32)>,
    mentions: Vec<(Vec<u32>, f32)>,
}

/// The words of each brand's and its products' names and ids, lower case, two letters or more
/// ("O2", "BT"), by brand id.
pub fn name_words(catalog: &Catalog) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for b in &catalog.brands {
        let mut words: Vec<String> = Vec::new();
        let names = [b.name.as_str(), b.id.as_str()].into_iter().chain(
            b.products
                .iter()
                .flat_map(|p| [p.name.as_str(), p.id.as_str()]),
        );
        for name in names {
            for w in name.split(|c: char| !c.is_alphanumeric()) {
                let w = crate::analysers::lowercase(w).into_owned();
                if w.chars().count() >= 2 && !words.contains(&w) {
                    words.push(w);
                }
            }
        }
        out.insert(b.id.clone(), words);
    }
    out
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

    /// A social post of `text`, decoded as the daemon decodes one.
    /// `json` decoded as the daemon decodes a message.
    fn decoded(json: &serde_json::Value) -> Interaction {
        crate::decode::decode(
            Some(json.to_string().as_bytes()),
            crate::decode::KindHint::Auto,
            Default::default(),
        )
        .unwrap()
    }

    fn interaction(text: &str) -> Interaction {
        let json = serde_json::json!({"platform": "x", "id": "1", "author": {"id": "a", "handle": "h"},
            "created_at": "2026-01-01T00:00:00Z", "text": text});
        decoded(&json)
    }

    fn post(analyzer: &Analyzer, text: &str) -> Analysis {
        analyzer.analyze(&interaction(text))
    }

    /// A support ticket of `body`, sent to the brand `brand` if any, decoded as the daemon
    /// decodes one.
    fn ticket(body: &str, brand: Option<&str>) -> Interaction {
        let mut json = serde_json::json!({"id": "t1", "customer": {"id": "c1"}, "channel": "email",
            "body": body, "created_at": "2026-01-01T00:00:00Z"});
        if let Some(b) = brand {
            json["brand"] = serde_json::json!(b);
        }
        decoded(&json)
    }

    #[test]
    fn a_ticket_s_product_field_names_its_recipient_and_product() {
        let analyzer = Analyzer::new(Catalog::parse(crate::catalog::SAMPLE).unwrap()).unwrap();
        let with_product = |product: &str, brand: Option<&str>| {
            let mut i = ticket(
                "My internet has been down since Monday, please send someone.",
                brand,
            );
            i.product_hint = Some(product.to_string());
            analyzer.analyze(&i).mentions
        };
        // By id or by name, in any case: the product's company, with the product.
        for hint in ["larkspur-fiber", "Larkspur Fiber", " LARKSPUR FIBER "] {
            let ms = with_product(hint, None);
            assert_eq!(ms.len(), 1, "{hint}: {ms:?}");
            assert_eq!(ms[0].brand, "larkspur");
            assert_eq!(ms[0].product.as_deref(), Some("larkspur-fiber"));
            assert!(ms[0].recipient && ms[0].spanless());
        }
        // A product the catalog does not list, or one of another company than the ticket's
        // brand, adds no product; a rival's product alone makes no recipient.
        assert!(with_product("Some Router 3000", None).is_empty());
        let other = with_product("corvid-fiber", Some("larkspur"));
        assert_eq!(other.len(), 1);
        assert_eq!(
            (other[0].brand.as_str(), other[0].product.as_deref()),
            ("larkspur", None)
        );
        assert!(with_product("Corvid Fiber", None).is_empty());
        // A brand id the catalog does not list (a helpdesk's own id) leaves the product to say.
        let ms = with_product("larkspur-fiber", Some("360001234"));
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].product.as_deref(), Some("larkspur-fiber"));
        // A language the analysers do not read keeps its recipient among its mentions.
        let mut german = ticket(
            "Bitte kündigen Sie meinen Vertrag zum Monatsende.",
            Some("larkspur"),
        );
        german.language = Some("de".into());
        let a = analyzer.analyze(&german);
        assert!(a.unread.is_some());
        assert_eq!(a.mentions.len(), 1);
        assert!(a.mentions[0].recipient && a.mentions[0].spanless());
    }

    #[test]
    fn a_ticket_s_recipient_is_a_mention_read_per_brand() {
        let src = "[[brand]]\nid = \"larkspur\"\nname = \"Larkspur\"\nquery = 'larkspur'\n\
                   [[brand]]\nid = \"corvid\"\nname = \"Corvid\"\nquery = 'corvid'\ncompetitor = true\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let body =
            "Please cancel my broadband at the end of the month, I have signed up with Corvid.";
        let without = analyzer.analyze(&ticket(body, None));
        let with = analyzer.analyze(&ticket(body, Some("larkspur")));
        let brands = |a: &Analysis| {
            a.mentions
                .iter()
                .map(|m| (m.brand.clone(), m.recipient, m.spanless()))
                .collect::<Vec<_>>()
        };
        assert_eq!(brands(&without), [("corvid".to_string(), false, false)]);
        // The company written to is a mention with no words, after the named ones.
        assert_eq!(
            brands(&with),
            [
                ("corvid".to_string(), false, false),
                ("larkspur".to_string(), true, true)
            ]
        );
        let recipient = &with.mentions[1];
        assert_eq!((recipient.span.start, recipient.span.end), (0, 0));
        assert!(recipient.span.text.is_empty());
        let (s, m) = (
            with.sentiment.as_ref().unwrap(),
            recipient.sentiment.unwrap(),
        );
        assert_eq!((m.compound, m.label), (s.compound, s.label));
        // The message is read from its words alone: the same signals and sentiment either way.
        assert_eq!(with.signals, without.signals);
        assert_eq!(with.sentiment, without.sentiment);
        // A named recipient is marked; an id the catalog does not list changes nothing.
        let named = analyzer.analyze(&ticket(
            "Larkspur broadband is down again",
            Some("larkspur"),
        ));
        assert_eq!(brands(&named), [("larkspur".to_string(), true, false)]);
        let unknown = analyzer.analyze(&ticket(body, Some("tidewire")));
        assert_eq!(brands(&unknown), brands(&without));
        // The recipient is in the insight's contract: a mention of no words, marked.
        let event = serde_json::to_value(&with.mentions[1]).unwrap();
        assert_eq!(event["recipient"], true);
        assert_eq!(
            (event["start"].as_u64(), event["end"].as_u64()),
            (Some(0), Some(0))
        );
        assert!(serde_json::to_value(&with.mentions[0])
            .unwrap()
            .get("recipient")
            .is_none());
    }

    /// A post of `text` replying to the account `handle`, decoded as the daemon decodes one.
    fn reply(text: &str, handle: &str) -> Interaction {
        reply_by(text, handle, "someone")
    }

    /// The same, written by the account `author`.
    fn reply_by(text: &str, handle: &str, author: &str) -> Interaction {
        let json = serde_json::json!({"platform": "twitter", "id": "p1",
            "author": {"id": "a1", "handle": author}, "text": text,
            "in_reply_to": "1700000000", "in_reply_to_handle": handle,
            "created_at": "2026-01-01T00:00:00Z"});
        decoded(&json)
    }

    #[test]
    fn a_reply_is_sent_to_the_brand_whose_account_it_answers() {
        let src = "[[brand]]\nid = \"larkspur\"\nname = \"Larkspur\"\n\
                   query = '(larkspur OR @larkspurhelp) AND NOT garden*'\n\
                   [[brand.product]]\nid = \"larkspur-fiber\"\nname = \"Larkspur Fiber\"\n\
                   query = '\"larkspur fiber\" OR @larkspurfiber'\n\
                   [[brand]]\nid = \"corvid\"\nname = \"Corvid\"\nquery = 'corvid'\ncompetitor = true\n\
                   [[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = 'acme OR @shared'\n\
                   [[brand]]\nid = \"bolt\"\nname = \"Bolt\"\nquery = 'bolt OR @shared'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let brands = |text: &str, handle: &str| {
            let i = reply(text, handle);
            analyzer
                .analyze(&i)
                .mentions
                .iter()
                .map(|m| {
                    (
                        m.brand.clone(),
                        m.product.clone(),
                        m.recipient,
                        m.spanless(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let text = "still nothing here, router blinking orange since 7";
        // The handle as platforms give it, with or without its '@', in any case.
        for handle in ["larkspurhelp", "@LarkspurHelp", " larkspur "] {
            assert_eq!(
                brands(text, handle),
                [("larkspur".into(), None, true, true)],
                "{handle}"
            );
        }
        // A product's account names the product too.
        assert_eq!(
            brands(text, "larkspurfiber"),
            [(
                "larkspur".into(),
                Some("larkspur-fiber".to_string()),
                true,
                true
            )]
        );
        // An account no query matches (a person's, or one that only begins with a brand's
        // name), one that two brands' queries match, or none, names no recipient.
        // So does a handle that is no single handle as texts write them, which would read as
        // another ("larkspur-fan" as @larkspur).
        for handle in [
            "sam_k_1987",
            "shared",
            "larkspurgardens",
            "",
            "larkspur-fan",
            "@ larkspur",
            "larkspur fan",
        ] {
            assert!(brands(text, handle).is_empty(), "{handle}");
        }
        // A brand's account answering its own post, or another account of the same brand's,
        // writes to no one.
        for (to, by) in [
            ("larkspurhelp", "LarkspurHelp"),
            ("larkspur", "larkspurhelp"),
        ] {
            let a = analyzer.analyze(&reply_by("Update: engineers are on site.", to, by));
            assert!(a.mentions.is_empty(), "{to} by {by}: {:?}", a.mentions);
        }
        // The handle is read in the language the post is read in (a `lang:` scope).
        let scoped = Analyzer::new(
            Catalog::parse(
                "[[brand]]\nid = \"larkspur\"\nname = \"Larkspur\"\n\
                 query = '@larkspurhelp AND lang:en'\n",
            )
            .unwrap(),
        )
        .unwrap();
        let english = "The broadband has been down since this morning and nobody can tell me why.";
        let i = reply(english, "larkspurhelp");
        assert_eq!(i.language, None);
        let a = scoped.analyze(&i);
        assert_eq!(a.language.tag.as_deref(), Some("en"));
        assert_eq!(a.mentions.len(), 1, "{:?}", a.mentions);
        // The brand named in the reply is marked; a rival named beside it keeps its own mention.
        assert_eq!(
            brands("Larkspur down again", "larkspurhelp"),
            [("larkspur".into(), None, true, false)]
        );
        assert_eq!(
            brands("Corvid never did this to me", "larkspurhelp"),
            [
                ("corvid".into(), None, false, false),
                ("larkspur".into(), None, true, true)
            ]
        );
        // A reply to a brand's account addresses the brand, as a post starting with its
        // @handle does; a reply to a person's addresses no brand. The message is read from its
        // words either way: what it is sent to is its target.
        let target = |i: &Interaction| {
            let mut mentions = analyzer.matcher().find(i);
            analyzer
                .matcher()
                .add_recipient(i, i.language.as_deref(), &mut mentions);
            crate::signals::model::Target::of(i, &mentions)
        };
        let to_brand = target(&reply(text, "larkspurhelp"));
        assert!(to_brand.addressed && !to_brand.mention && !to_brand.ticket);
        assert!(target(&interaction(&format!("@larkspurhelp {text}"))).addressed);
        for i in [
            reply(text, "sam_k_1987"),
            reply(text, "@"),
            interaction(text),
        ] {
            assert!(!target(&i).any(), "{:?}", i.reply_to);
        }
    }

    #[test]
    fn each_mention_reads_its_own_clause() {
        let src = "[[brand]]\nid = \"a\"\nname = \"Acme\"\nquery = 'acme'\n[[brand]]\nid = \"b\"\nname = \"Bolt\"\nquery = 'bolt'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        for (text, expected) in [
            (
                "The Acme app is great but Bolt support is useless",
                [("a", Label::Positive), ("b", Label::Negative)],
            ),
            (
                "Bolt support is useless but the Acme app is great",
                [("b", Label::Negative), ("a", Label::Positive)],
            ),
            (
                "The Bolt app is great but Acme support is useless",
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
    fn the_sentiment_model_reads_what_is_said_of_a_brand_not_its_name() {
        // "Bolt" is an English word of a few training rows, "Glee" a word the lexicon rates
        // positive, "Larkspur" a brand of the training corpus, "Qwyx" a name nobody wrote: the
        // model reads every name as one placeholder, so the same words give the same readings
        // whatever the brands are called. So does the lexicon: a brand named Glee is no glee.
        let analyzer = |x: &str, y: &str| {
            let src = format!(
                "[[brand]]\nid = \"{x}\"\nname = \"{x}\"\nquery = '{x} OR @{x}help'\n\
                 [[brand]]\nid = \"{y}\"\nname = \"{y} Telecom\"\n\
                 query = '\"{y} telecom\" OR ({y} NEAR/2 router)'\n"
            );
            Analyzer::new(Catalog::parse(&src).unwrap()).unwrap()
        };
        let template =
            "Left Y Telecom for @Xhelp last month. The Y router kept dropping, but X is \
                        flawless";
        let reading = |x: &str, y: &str| {
            let text = template.replace('X', &capital(x)).replace('Y', &capital(y));
            let a = post(&analyzer(x, y), &text);
            let s = a.sentiment.unwrap();
            let mentions: Vec<_> = a
                .mentions
                .iter()
                .map(|m| (m.span.text.to_string(), m.sentiment.unwrap()))
                .collect();
            ((s.compound, s.label), mentions, s.lexicon_compound)
        };
        let (message, mentions, lexicon) = reading("bolt", "glee");
        let spans: Vec<&str> = mentions.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            spans,
            ["Glee Telecom", "@Bolthelp", "Glee router", "Bolt"],
            "{mentions:?}"
        );
        let labels = |m: &[(String, AspectSentiment)]| -> Vec<Label> {
            m.iter().map(|(_, s)| s.label).collect()
        };
        assert_eq!(labels(&mentions)[2], Label::Negative, "{mentions:?}");
        assert_eq!(labels(&mentions)[3], Label::Positive, "{mentions:?}");
        for (x, y) in [("qwyx", "zembla"), ("larkspur", "corvid")] {
            let (m, ms, l) = reading(x, y);
            assert_eq!(m, message, "{x} {y}");
            assert_eq!(l, lexicon, "the lexicon reads 'Glee' as a name: {x} {y}");
            let scores = |m: &[(String, AspectSentiment)]| -> Vec<AspectSentiment> {
                m.iter().map(|(_, s)| *s).collect()
            };
            assert_eq!(scores(&ms), scores(&mentions), "{x} {y}: {ms:?}");
        }
    }

    #[test]
    fn only_the_names_in_a_mention_are_masked() {
        let src = "[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = 'acme AND (outage OR refund)'\n\
                   [[brand]]\nid = \"bt\"\nname = \"BT\"\nquery = 'bt OR @bthelp OR (bt NEAR/3 broadband)'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let masked = |text: &str| analyzer.sentiment_text(&interaction(text));
        // A query's other terms are what is said of the brand: they stay.
        assert_eq!(
            masked("Acme outage again, #fail, no refund"),
            "brandname outage again, #fail, no refund"
        );
        // A name in capitals stays in capitals; a handle a name begins is masked, its @ kept.
        assert_eq!(
            masked("BT BROADBAND IS DOWN AGAIN @bthelp"),
            "BRANDNAME BROADBAND IS DOWN AGAIN @brandname"
        );
        // No mention, nothing masked.
        assert_eq!(masked("acme is a word here"), "acme is a word here");
    }

    #[test]
    fn the_signal_model_reads_the_same_words_and_roles_in_the_masked_text() {
        let src = "[[brand]]\nid = \"corvid\"\nname = \"Corvid Telecom\"\ncompetitor = true\n\
            query = 'corvid* OR @corvidhelp OR #corvidfail OR (telecom NEAR/2 outage)'\n\
            [[brand]]\nid = \"larkspur\"\nname = \"Larkspur\"\n\
            query = 'larkspur OR larkspurs OR @larkspurhelp OR (larkspur NEAR/4 router)'\n\
            [[brand.product]]\nid = \"hub\"\nname = \"Larkspur Hub\"\nquery = '\"larkspur hub\"'\n\
            [[brand]]\nid = \"bt\"\nname = \"BT\"\nquery = 'bt OR @bthelp'\n\
            [[brand]]\nid = \"cafe\"\nname = \"Café Noir\"\ncompetitor = true\nquery = '\"café noir\"'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let sorted = |mut v: Vec<u32>| {
            v.sort_unstable();
            v
        };
        for text in [
            "Leaving Corvid for Larkspur next month, finally",
            "Corvid Telecom outage again and @corvidhelp says nothing #corvidfail",
            "BT IS DOWN AGAIN @bthelp!!! not happy",
            "larkspur hub keeps dropping, the Larkspur router is fine though?",
            "Corvids are all the same. Larkspurs too",
            "The lounge at Café Noir was lovely 😍 but the Larkspur wifi there is awful",
            "@larkspurhelp my Larkspur Hub died, don't tell me to restart it",
            "Corvid’s app can’t load my bill, Corvid support isn’t answering",
        ] {
            let i = interaction(text);
            // The text as decoded (normalised: the last one's apostrophes are plain).
            let text = i.text.as_str();
            let mentions = analyzer.matcher.find_in(&i, Some("en"));
            let read = read_masked(&analyzer.sentiment, &analyzer.names, text, &mentions);
            assert!(read.masked.is_masked(), "{text}");
            let ours = read
                .roles
                .as_ref()
                .expect("a masked text has its roles' patch");
            let lexicon = analyzer.sentiment.score(text);
            // No name here is a word the lexicon rates: both readings are the same.
            assert_eq!(read.lexicon.compound, lexicon.compound, "{text}");
            // The same roles, with the same neighbours, go in ...
            let theirs = crate::signals::roles::patch(text, &mentions, u32::MAX);
            assert!(!ours.add.is_empty(), "{text}");
            assert_eq!(
                sorted(ours.add.to_vec()),
                sorted(theirs.add.to_vec()),
                "{text}"
            );
            // ... and, the mentions' words taken out, the same features of the words around them
            // stay.
            let mut masked = crate::emotion::features(read.masked.text(), &read.lexicon);
            crate::signals::roles::take_out_all(&mut masked, &ours.take);
            let mut plain = crate::emotion::features(text, &lexicon);
            crate::signals::roles::take_out_all(&mut plain, &theirs.take);
            assert_eq!(
                sorted(masked),
                sorted(plain),
                "{text} ({})",
                read.masked.text()
            );
        }
    }

    fn capital(s: &str) -> String {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_phones_apostrophe_and_an_apis_escapes_read_as_typed() {
        let analyzer = Analyzer::new(Catalog::parse("").unwrap()).unwrap();
        // `post` reads a text as the daemon decodes it (normalised, [`crate::normalize`]).
        let curly = post(&analyzer, "I don’t like this phone")
            .sentiment
            .unwrap();
        let plain = post(&analyzer, "I don't like this phone")
            .sentiment
            .unwrap();
        // The negation is read: the lexicon's "like" is turned, not counted as praise.
        assert!(curly.lexicon_compound < 0.0, "{curly:?}");
        assert_eq!(
            (curly.compound, curly.lexicon_compound, curly.label),
            (plain.compound, plain.lexicon_compound, plain.label)
        );
        // Twitter's escaped heart is a heart, in the evidence of the decoded text.
        let heart = post(&analyzer, "I hope you feel better &lt;3")
            .sentiment
            .unwrap();
        assert!(
            heart.evidence.iter().any(|e| e.span.text == "<3"),
            "{heart:?}"
        );
    }

    #[test]
    fn a_link_or_a_retweets_credit_changes_no_reading() {
        let src = "[[brand]]\nid = \"a\"\nname = \"Acme\"\nquery = 'acme OR @acmehelp'\n";
        let analyzer = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        // What a reading says, without where: a credit before the text moves every span.
        let reading = |a: &Analysis| {
            let s = a.sentiment.as_ref().unwrap();
            let g = a.signals.as_ref().unwrap();
            let labels = |v: &[crate::signals::Signal]| {
                v.iter().map(|x| x.label.to_string()).collect::<Vec<_>>()
            };
            (
                (s.label, s.compound, s.lexicon_compound),
                a.emotions.as_ref().unwrap().labels.clone(),
                (
                    labels(&g.context),
                    labels(&g.intents),
                    g.journey_phase.clone(),
                ),
                g.effort.as_ref().map(|e| e.score),
                g.sarcasm.is_some(),
                a.mentions
                    .iter()
                    .map(|m| m.brand.clone())
                    .collect::<Vec<_>>(),
            )
        };
        for text in [
            "This Acme update is terrible, nothing works and support hung up on me",
            "@acmehelp my order never arrived, I want a refund",
            "Honestly the new Acme app is brilliant, setup took two minutes",
            "Italy has not voted on leaving the EU",
        ] {
            let plain = reading(&post(&analyzer, text));
            for changed in [
                format!("{text} https://t.co/Xb7Lq2ZkPa"),
                format!("{text}\npic.twitter.com/q8LmZ1xkPa www.acme.example/status"),
                format!("RT @maya_k22: {text}"),
            ] {
                assert_eq!(reading(&post(&analyzer, &changed)), plain, "{changed}");
            }
        }
        // The link stays in the text; no evidence points into it.
        let text = "This Acme update is terrible https://t.co/Xb7Lq2ZkPa";
        let a = post(&analyzer, text);
        let s = a.sentiment.unwrap();
        assert_eq!(s.label, Label::Negative, "{s:?}");
        assert!(s.evidence.iter().all(|e| e.span.end <= 28), "{s:?}");
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
