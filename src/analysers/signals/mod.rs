//! The life and intent behind a message: emotional context, customer effort, intents, journey phase,
//! sarcasm — and, from all of the analysis, a priority and a routing.
//!
//! A learned model ([`model`], trained on the earshot corpus by [`train`]) decides every label,
//! from the text's hashed features, the cue lexicon's hits (`data/earshot/cues.tsv`, matched in
//! one Aho-Corasick pass, [`cues`]), the durations a customer reports ([`effort`]), the emotions,
//! the sentiment and what the message is about. Brand-directed intents and the journey phase need
//! a target: a catalog mention, a ticket, or a post that tags an account. Every signal carries
//! the spans of the words that explain it: the cues of its label when there are, else the words
//! that weigh most for it in the model ([`evidence`]). Priority and routing rules are all in
//! [`priority`] and [`routing`], documented there.

mod aspect;
pub mod clusters;
pub mod corpus;
mod cues;
mod effort;
pub mod eval;
mod evidence;
mod hidden;
mod intents;
pub mod model;
pub mod names;
mod priority;
pub mod roles;
pub mod stack;
pub mod train;

use std::borrow::Cow;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

pub use priority::{priority, routing};

use crate::emotion::Emotions;
use crate::interaction::Interaction;
use crate::sentiment::Scores;
use crate::types::{Mention, Span};
use cues::{Cue, CueKind, Hits};
use model::{family, ModelError, SignalModel, Target, LABELS, LIFE_EVENT, MOMENT};

/// A labelled signal with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub label: Cow<'static, str>,
    pub evidence: Vec<Span>,
    /// For `switching`: the competitor's brand id, when the catalog knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitor: Option<String>,
    /// For `need`: the job the customer wants done, as a short phrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// For `life_event`: `hard` (a loss, an illness, a job lost, a move: a moment to handle with
    /// care) or `happy` (a wedding, a birth, a graduation, a new job, retiring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moment: Option<Cow<'static, str>>,
}

/// Customer effort: -5 (very hard) to +5 (very easy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub score: i8,
    pub evidence: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sarcasm {
    pub likely: bool,
    pub evidence: Vec<Span>,
}

/// Everything this module finds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signals {
    pub context: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    pub intents: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_phase: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sarcasm: Option<Sarcasm>,
    /// The name of a brand the catalog does not list, when that is what the post targets: the
    /// word the names model reads as the brand ([`names::NameModel::likeliest_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlisted_brand: Option<Span>,
    pub priority: u8,
    pub routing: Vec<Cow<'static, str>>,
}

/// The cue automaton and the signal model, built once.
#[derive(Debug, Clone)]
pub struct SignalDetector {
    cues: Vec<Cue>,
    automaton: AhoCorasick,
    model: SignalModel,
    aspects: SignalModel,
    names: names::NameModel,
    clusters: clusters::WordClusters<[u32; 2]>,
}

/// The label of output `o` without its family: `context:work` is `work`.
fn name(o: usize) -> &'static str {
    let l = LABELS[o];
    l.split_once(':').map_or(l, |(_, n)| n)
}

impl SignalDetector {
    /// The cue automaton and the bundled models.
    pub fn new() -> Result<SignalDetector, ModelError> {
        Ok(SignalDetector::with_models(
            SignalModel::bundled()?,
            SignalModel::bundled_aspects()?,
            names::NameModel::bundled()?,
        ))
    }

    /// What `i` targets ([`Target::of`]); a post that targets nothing else is read for a brand
    /// the catalog does not list ([`names`]).
    pub fn target(&self, i: &Interaction, mentions: &[Mention]) -> Target {
        let mut t = Target::of(i, mentions);
        t.unlisted = !t.any() && self.names.names(&i.text);
        t
    }

    /// Reads, for every mention, the intents and the journey phase that concern its brand or
    /// product. A message about one brand is read as a whole: its mentions take the message's
    /// intents and phase (`message`, from [`detect`](Self::detect)). A message about several is
    /// read mention by mention ([`aspect`]).
    pub fn read_mentions(&self, i: &Interaction, mentions: &mut [Mention], message: &Signals) {
        self.read_mentions_with(i, mentions, message, || self.cues(&i.text));
    }

    /// [`read_mentions`](Self::read_mentions) with the text's cue hits, found by `hits` if a
    /// message about several brands needs them.
    fn read_mentions_with<'s>(
        &'s self,
        i: &Interaction,
        mentions: &mut [Mention],
        message: &Signals,
        hits: impl FnOnce() -> Hits<'s>,
    ) {
        if aspect::several_brands(mentions) {
            aspect::read(&self.aspects, &i.text, i.kind, mentions, &hits());
        } else {
            for m in mentions.iter_mut() {
                m.intents = message.intents.iter().map(|s| s.label.clone()).collect();
                m.journey_phase = message.journey_phase.clone();
            }
        }
    }

    /// [`detect`](Self::detect), then [`read_mentions`](Self::read_mentions), with one pass of
    /// the cue automaton for both.
    pub fn read(
        &self,
        i: &Interaction,
        sentiment: &Scores,
        mentions: &mut [Mention],
        emotions: &Emotions,
        text: model::TextInput,
    ) -> Signals {
        let hits = self.hits(&i.text);
        let signals = self.detect_with(i, sentiment, mentions, emotions, text, &hits);
        self.read_mentions_with(i, mentions, &signals, || hits);
        signals
    }

    /// Detects the signals of one interaction, given its sentiment, its mentions, its emotions and
    /// the text's hashed features (computed once, for the emotion model and this one). The
    /// analyser reads the text with the catalog's names masked ([`crate::analyze::read_masked`]),
    /// as the model was trained; for a text with no name masked in it, these are the same.
    /// `mentions` are as [`crate::mentions::Matcher::add_recipient`] leaves them: a recipient
    /// with no words, if any, last.
    pub fn detect(
        &self,
        i: &Interaction,
        sentiment: &Scores,
        mentions: &[Mention],
        emotions: &Emotions,
        text_features: &[u32],
    ) -> Signals {
        let hits = self.hits(&i.text);
        let text = model::TextInput::of(text_features);
        self.detect_with(i, sentiment, mentions, emotions, text, &hits)
    }

    /// [`detect`](Self::detect) with the text's cue hits.
    fn detect_with(
        &self,
        i: &Interaction,
        sentiment: &Scores,
        mentions: &[Mention],
        emotions: &Emotions,
        input: model::TextInput,
        hits: &Hits,
    ) -> Signals {
        let text = i.text.as_str();
        let durations = effort::durations(text);
        let target = self.target(i, mentions);
        // The message is read from its words: a recipient that they do not name
        // ([`Mention::spanless`], last) says whom the message is sent to (`target`) and who acts
        // on it (`routing`: a reply to a rival's account that weighs leaving is strategy's).
        let all = mentions;
        let mentions = Mention::named(all);
        let features = model::features(
            i, input, sentiment, emotions, mentions, target, hits, &durations,
        );
        let z = self.model.logits(&features);
        let on = self.model.read_logits(&z, target);
        // The text's words, split once, for the labels the cues do not explain.
        let words = std::cell::OnceCell::new();
        let top = |o: usize| {
            words.get_or_init(|| evidence::Words::of(text)).top(
                text,
                self.model.weight_for(o, &z, &features),
                3,
            )
        };
        let explain = |o: usize, kind: CueKind| -> Vec<Span> {
            let cued = cue_spans(hits, kind, name(o));
            if cued.is_empty() {
                top(o)
            } else {
                cued
            }
        };

        let context: Vec<Signal> = family("context")
            .filter(|&o| on[o])
            .map(|o| {
                let mut s = signal(name(o), explain(o, CueKind::Context));
                if o == LIFE_EVENT {
                    s.moment = Some(if on[MOMENT] { "hard" } else { "happy" }.into());
                }
                s
            })
            .collect();

        let effort = family("effort").find(|&o| on[o]).map(|o| {
            let hard = name(o) == "hard";
            let magnitude = self
                .model
                .effort_value(&features)
                .abs()
                .round()
                .clamp(1.0, 5.0) as i8;
            let told = effort::told(hits, &durations);
            Effort {
                score: if hard { -magnitude } else { magnitude },
                evidence: if told.is_empty() { top(o) } else { told },
            }
        });

        let sarcastic = family("sarcasm").any(|o| on[o]);
        let sarcasm_cues = cue_spans(hits, CueKind::Sarcasm, "");
        let sarcasm = (sarcastic || !sarcasm_cues.is_empty()).then(|| Sarcasm {
            likely: sarcastic,
            evidence: if sarcasm_cues.is_empty() {
                family("sarcasm").flat_map(top).collect()
            } else {
                sarcasm_cues
            },
        });

        let mut intents: Vec<Signal> = Vec::new();
        for o in family("intent").filter(|&o| on[o]) {
            let label = name(o);
            // Sarcastic praise is a complaint, never praise.
            if label == "praise" && sarcastic {
                continue;
            }
            let mut s = signal(label, intent_evidence(text, hits, sentiment, label));
            if s.evidence.is_empty() {
                s.evidence = top(o);
            }
            if label == "switching" {
                s.competitor = match intents::switch_direction(text, mentions) {
                    intents::Switch::Away(c) | intents::Switch::Towards(c) => c,
                    intents::Switch::None => None,
                };
            }
            intents.push(s);
        }
        // A need's job is what follows its cue.
        let cued_needs: Vec<Signal> = intents
            .iter()
            .filter(|s| s.label == "need" && !cue_spans(hits, CueKind::Intent, "need").is_empty())
            .cloned()
            .collect();
        let mut cued_needs = cued_needs;
        intents::add_jobs(&mut cued_needs, text);
        for s in intents.iter_mut().filter(|s| s.label == "need") {
            s.job = cued_needs.first().and_then(|n| n.job.clone());
        }
        intents.sort_by(|a, b| a.label.cmp(&b.label));

        let journey_phase: Option<Cow<'static, str>> =
            family("phase").find(|&o| on[o]).map(|o| name(o).into());

        let unlisted_brand = target
            .unlisted
            .then(|| self.names.likeliest_name(text))
            .flatten()
            .map(|(start, end)| Span::new(text, start, end));
        let mut s = Signals {
            context,
            effort,
            intents,
            journey_phase,
            sarcasm,
            unlisted_brand,
            priority: 0,
            routing: Vec::new(),
        };
        s.priority = priority(i, sentiment, &s, emotions.intensity);
        s.routing = routing(&s, all);
        s
    }
}

/// A signal with its evidence.
fn signal(label: &'static str, evidence: Vec<Span>) -> Signal {
    Signal {
        label: label.into(),
        evidence,
        competitor: None,
        job: None,
        moment: None,
    }
}

/// The spans of the cues of `kind` with label `label` (any label when it is empty).
fn cue_spans(hits: &Hits, kind: CueKind, label: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for h in hits.of(kind) {
        if (label.is_empty() || h.cue.label == label)
            && !out.iter().any(|s| s.start == h.span.start)
        {
            out.push(h.span.clone());
        }
    }
    out
}

/// What explains an intent besides the model's words: its cues; for a complaint or praise, the
/// negative or positive words of the sentiment (politeness is not praise); for a question, its
/// question mark.
fn intent_evidence(text: &str, hits: &Hits, sentiment: &Scores, label: &str) -> Vec<Span> {
    let mut ev = cue_spans(hits, CueKind::Intent, label);
    match label {
        "complaint" => ev.extend(
            sentiment
                .evidence
                .iter()
                .filter(|e| e.valence < 0.0)
                .map(|e| e.span.clone()),
        ),
        "praise" => ev.extend(
            sentiment
                .evidence
                .iter()
                .filter(|e| {
                    e.valence > 0.0
                        && !intents::POLITE
                            .iter()
                            .any(|p| p.eq_ignore_ascii_case(&e.span.text))
                })
                .map(|e| e.span.clone()),
        ),
        "question" => {
            // A link's query string ("?id=3") asks nothing ([`crate::analysers::links`]).
            let blanked = crate::analysers::links::blank(text);
            let first = intents::questions(&blanked).next();
            if let Some(at) = first {
                ev.push(Span::new(text, at, at + 1));
            }
        }
        _ => {}
    }
    ev.sort_by_key(|s| s.start);
    ev.dedup_by_key(|s| s.start);
    ev
}

#[cfg(test)]
mod tests {
    use super::{model, CueKind, SignalDetector};
    use crate::analyze::Analyzer;
    use crate::catalog::Catalog;
    use crate::decode::{decode, KindHint};

    fn analyse(text: &str) -> crate::analyze::Analysis {
        let src = "[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = 'acme'\n[[brand]]\nid = \"rival\"\nname = \"Rival\"\ncompetitor = true\nquery = 'rival'\n";
        let a = Analyzer::new(Catalog::parse(src).unwrap()).unwrap();
        let json = serde_json::json!({"platform": "x", "id": "1", "author": {"id": "a", "handle": "h"},
            "created_at": "2026-01-01T00:00:00Z", "text": text});
        a.analyze(
            &decode(
                Some(json.to_string().as_bytes()),
                KindHint::Auto,
                Default::default(),
            )
            .unwrap(),
        )
    }

    fn intents(a: &crate::analyze::Analysis) -> Vec<String> {
        a.signals
            .as_ref()
            .expect("read")
            .intents
            .iter()
            .map(|s| s.label.to_string())
            .collect()
    }

    fn labels(a: &crate::analyze::Analysis) -> Vec<String> {
        let mut l: Vec<String> = a
            .signals
            .as_ref()
            .expect("read")
            .context
            .iter()
            .map(|c| c.label.to_string())
            .collect();
        l.extend(intents(a));
        l
    }

    #[test]
    fn brand_directed_readings_need_a_target() {
        for text in [
            "Italy has not voted on leaving the EU",
            "Switching to decaf and cancelling my gym membership, new year new me",
            "My contract at work ends in June, time to look for something new",
            "Can't believe he's leaving for Madrid after ten years",
        ] {
            let a = analyse(text);
            assert!(a.mentions.is_empty(), "{text}");
            for l in intents(&a) {
                assert!(
                    !model::BRAND_DIRECTED.contains(&format!("intent:{l}").as_str()),
                    "{text}: {l}"
                );
            }
            assert_eq!(
                a.signals.as_ref().expect("read").journey_phase,
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn clear_cases_read_as_people_would() {
        let a = analyse(
            "My dad is in hospital and your Acme app logged me out again. Third time I'm calling!",
        );
        for l in ["family", "health", "complaint"] {
            assert!(labels(&a).contains(&l.to_string()), "{l}: {:?}", labels(&a));
        }
        // Base 10, complaint +20, health or family +10 (docs of `priority`).
        assert!(
            a.signals.as_ref().expect("read").priority >= 40,
            "{}",
            a.signals.as_ref().expect("read").priority
        );
        assert!(a
            .signals
            .as_ref()
            .expect("read")
            .routing
            .iter()
            .any(|r| r == "support"));
        let q = analyse("Is Acme down for anyone else right now?");
        assert!(
            intents(&q).contains(&"question".to_string()),
            "{:?}",
            intents(&q)
        );
        let wait = analyse("On hold with Acme for 45 minutes and then the line went dead");
        assert!(wait
            .signals
            .as_ref()
            .expect("read")
            .effort
            .as_ref()
            .is_some_and(|e| e.score < 0));
        let win = analyse("Switched from Rival to Acme last week, zero hassle");
        let sw = win
            .signals
            .as_ref()
            .expect("read")
            .intents
            .iter()
            .find(|s| s.label == "switching");
        assert_eq!(sw.and_then(|s| s.competitor.as_deref()), Some("rival"));
    }

    #[test]
    fn sarcasm_is_never_praise_and_evidence_points_at_the_text() {
        for text in [
            "Great, another Acme update that breaks everything",
            "Love spending my Saturday on hold with Acme",
            "Great update from Acme, love it",
            "Acme sorted it in two minutes, brilliant",
            "I wish the Acme app could schedule wifi off for the kids, please",
            "Cancelling Acme tomorrow, Rival is half the price",
        ] {
            let a = analyse(text);
            if a.signals
                .as_ref()
                .expect("read")
                .sarcasm
                .as_ref()
                .is_some_and(|s| s.likely)
            {
                assert!(!intents(&a).contains(&"praise".to_string()), "{text}");
            }
            let sig = a.signals.as_ref().expect("read");
            let spans = sig
                .context
                .iter()
                .chain(&sig.intents)
                .flat_map(|s| &s.evidence)
                .chain(sig.effort.iter().flat_map(|e| &e.evidence))
                .chain(sig.sarcasm.iter().flat_map(|s| &s.evidence));
            for sp in spans {
                assert_eq!(&text[sp.start..sp.end], sp.text.as_str(), "{text}");
            }
            for s in sig.context.iter().chain(&sig.intents) {
                if s.label != "support_request" {
                    assert!(
                        !s.evidence.is_empty(),
                        "{text}: {} has no evidence",
                        s.label
                    );
                }
            }
        }
    }

    #[test]
    fn a_label_without_cues_is_explained_by_the_words_its_decision_weighs() {
        // The detector's evidence for a label the cues do not explain is the top words by
        // `weight_for` (the second reading's view), not by the first reading's own weight.
        use super::{evidence::Words, CueKind, Hits};
        use crate::decode::{decode, KindHint};
        let src = "[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = 'acme'\n";
        let catalog = Catalog::parse(src).unwrap();
        let matcher = crate::mentions::Matcher::compile(&catalog).unwrap();
        let lexicon_scorer = crate::sentiment::SentimentScorer::new();
        let emotion_model = crate::emotion::EmotionModel::bundled().unwrap();
        let d = SignalDetector::new().unwrap();
        let (mut checked, mut differ) = (0, 0);
        for text in [
            "Skylane raised prices again",
            "Moved flats last week and the Acme router still is not set up, three calls so far",
            "Acme support sorted my refund in ten minutes, honestly impressed",
            "Thinking about getting the Acme family plan now the twins are older",
            "My mum is in hospital and I can't get into my Acme account to pay her bills",
            "Been with Acme twelve years and I'd tell anyone to go with them",
            "Wish the Acme app let me split a bill with my flatmates",
            "Flight at 6am and the Acme boarding pass won't load",
        ] {
            let json = serde_json::json!({"platform": "x", "id": "1",
                "author": {"id": "a", "handle": "h"},
                "created_at": "2026-01-01T00:00:00Z", "text": text});
            let i = decode(
                Some(json.to_string().as_bytes()),
                KindHint::Auto,
                Default::default(),
            )
            .unwrap();
            let lexicon = lexicon_scorer.score(text);
            let tf = crate::polarity::TextFeatures::of(text, &lexicon);
            let emotions = emotion_model.score_features(text, tf.shared());
            let mentions = matcher.find_in(&i, None);
            let hits: Hits = d.hits(text);
            let signals = d.detect(&i, &lexicon, &mentions, &emotions, tf.shared());
            let target = d.target(&i, &mentions);
            let features = model::features(
                &i,
                model::TextInput::of(tf.shared()),
                &lexicon,
                &emotions,
                &mentions,
                target,
                &hits,
                &super::effort::durations(text),
            );
            let z = d.model.logits(&features);
            let words = Words::of(text);
            // A label's evidence must be its top words by `weight_for`; count where the first
            // reading's own weights would have picked others.
            let mut check = |label: &str, evidence: &[crate::types::Span]| {
                let o = model::LABELS.iter().position(|l| *l == label).unwrap();
                let want = words.top(text, d.model.weight_for(o, &z, &features), 3);
                assert_eq!(evidence, want.as_slice(), "{text}: {label}");
                checked += 1;
                differ += usize::from(words.top(text, |f| d.model.weight(f, o), 3) != want);
            };
            for s in &signals.context {
                if super::cue_spans(&hits, CueKind::Context, &s.label).is_empty() {
                    check(&format!("context:{}", s.label), &s.evidence);
                }
            }
            for s in &signals.intents {
                if super::intent_evidence(text, &hits, &lexicon, &s.label).is_empty() {
                    check(&format!("intent:{}", s.label), &s.evidence);
                }
            }
            if let Some(e) = signals
                .effort
                .as_ref()
                .filter(|_| super::effort::told(&hits, &super::effort::durations(text)).is_empty())
            {
                let label = if e.score < 0 {
                    "effort:hard"
                } else {
                    "effort:easy"
                };
                check(label, &e.evidence);
            }
        }
        // The check means something: some labels were explained by words, and for some of them
        // the first reading's own weights would have picked other words.
        assert!(checked >= 4, "{checked} labels checked");
        assert!(differ >= 1, "{differ} of {checked} differ");
    }

    #[test]
    fn one_brand_mentions_take_the_messages_readings() {
        let a = analyse("The Acme app keeps crashing and Acme support never answers");
        assert!(a.mentions.len() >= 2);
        for m in &a.mentions {
            let mine: Vec<String> = m.intents.iter().map(|i| i.to_string()).collect();
            assert_eq!(mine, intents(&a));
            assert_eq!(
                m.journey_phase,
                a.signals.as_ref().expect("read").journey_phase
            );
        }
    }

    #[test]
    fn no_panic_on_unicode_around_durations() {
        for t in [
            "İİİ 5 minutes",
            "in ５ minutes ✓",
            "for two hours\u{301} on hold",
            "minutes",
            "in",
        ] {
            let _ = analyse(t);
        }
    }

    fn cue_labels(text: &str, kind: CueKind) -> Vec<&'static str> {
        let d = SignalDetector::new().unwrap();
        let hits = d.hits(text);
        let labels: Vec<&'static str> = hits.of(kind).map(|h| h.cue.label).collect();
        labels
    }

    #[test]
    fn hits_carry_the_model_features_of_each_known_words_clusters_and_cues_alone_none() {
        let d = SignalDetector::new().unwrap();
        let text = "My flight was cancelled, the toddler cried, zzqxv";
        let table = super::clusters::WordClusters::bundled();
        let mut want = Vec::new();
        table.each(text, |c| want.push(super::model::cluster_features(c)));
        assert!(want.len() >= 5, "{} known words", want.len());
        assert_eq!(d.hits(text).clusters(), &want[..]);
        // Coarse and fine are hashed apart: a feature id is not its cluster number.
        let flight = table.of("flight").unwrap();
        assert_ne!(
            super::model::cluster_features(flight)[0],
            u32::from(flight[0])
        );
        assert_ne!(
            super::model::cluster_features([3, 3])[0],
            super::model::cluster_features([3, 3])[1]
        );
        let cues = d.cues(text);
        assert!(cues.clusters().is_empty());
        assert_eq!(
            cues.all().map(|h| h.cue.label).collect::<Vec<_>>(),
            d.hits(text).all().map(|h| h.cue.label).collect::<Vec<_>>()
        );
    }

    #[test]
    fn cues_match_typographic_and_missing_apostrophes() {
        for text in [
            "I can't afford Acme anymore",
            "I can\u{2019}t afford Acme anymore",
            "I cant afford Acme anymore",
        ] {
            assert!(
                cue_labels(text, CueKind::Context).contains(&"money"),
                "{text}"
            );
        }
        // Dropping the apostrophe must not make another word: "i'll" is not "ill" (health).
        assert!(super::cues::spellings("i'll").iter().all(|s| s != "ill"));
    }

    #[test]
    fn context_cues_match_their_inflections_only() {
        assert!(
            cue_labels("Two deadlines today and Acme is down", CueKind::Context).contains(&"work")
        );
        assert!(cue_labels(
            "Both flights cancelled, Acme roaming useless",
            CueKind::Context
        )
        .contains(&"travel"));
        // "fee" must not match "feed"; a cue inside a longer word does not count.
        assert!(!cue_labels("The Acme news feed is slow", CueKind::Context).contains(&"money"));
        assert!(!cue_labels("Acme is unrentable", CueKind::Context).contains(&"money"));
    }
}
