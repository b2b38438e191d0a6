//! Training the signal model (`earshot train-signals`) on the corpus: every row goes through the
//! analysis the daemon runs (decode, sentiment, emotions, mentions, cues) into the model's
//! [`features`]; one-vs-rest logistic regression with AdaGrad learns every output, a linear
//! regression the effort scale; thresholds are tuned through [`decide_with`], against quantised
//! weights, on predictions made across batches ([`train_across`], the default) or on the dev
//! split ([`train`]). Deterministic: the same corpus gives the same model file, byte for byte.

use crate::decode::{decode, KindHint, Limits};
use crate::emotion::{f1_of as f1, EmotionModel};
use crate::mentions::Matcher;
use crate::sentiment::SentimentScorer;

use super::corpus::Row;
use super::eval::Counts;
use super::model::{
    decide_with, sigmoid, SignalModel, Target, BUCKETS, LABELS, LIFE_EVENT, MOMENT, OUTPUTS,
    SARCASM,
};
use super::stack::Stack;
use super::SignalDetector;

/// One row, as the model sees it.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub features: Vec<u32>,
    pub target: Target,
    pub truth: [bool; OUTPUTS],
    /// The labelled effort, when the row expresses one.
    pub effort: Option<f32>,
    /// The one output this row teaches, when it comes from a set labelled for that output alone
    /// (sincere text and irony for sarcasm, the complaint batches for the complaint intent);
    /// `None` for a corpus row, which teaches every output.
    pub only: Option<usize>,
    /// Whether the row's labels say a life event's moment (`moment:hard|happy`): the corpus's
    /// training batches do; the other labelled sets (`tests/signals/*.tsv`) do not, and their
    /// life events teach no moment.
    pub rates_moment: bool,
    /// The file of one writer the row comes from, among the extra rows (an irony batch, a
    /// complaint batch that only trains, a labelled set of `tests/signals/`), so that
    /// [`train_across`] deals a writer's rows into one fold together; `None` for a corpus row
    /// (dealt with its batch) or a real text of its own writer (dealt alone).
    pub writer: Option<u32>,
    /// Whether the row is a mention in a message about two brands or more: the only mentions the
    /// per-brand model reads at run time (a message about one brand gives its mentions its own
    /// readings). It learns from every mention; [`cross_batches`] measures these apart.
    pub several_brands: bool,
}

impl Encoded {
    /// Whether the row is labelled for output `out`: a corpus row is labelled for every one,
    /// except that a life event's moment is learnt from the life events alone (hard or happy *as
    /// a life event*: a redundancy the writer files under work is still a hard one), and only
    /// from the rows whose labels say it.
    pub fn labels(&self, out: usize) -> bool {
        self.only.is_none_or(|o| o == out)
            && (out != MOMENT || (self.truth[LIFE_EVENT] && self.rates_moment))
    }
}

/// What turns a corpus row into the model's features: the analysers the daemon runs before the
/// signals, with the corpus's catalog.
pub struct Featurizer {
    pub sentiment: SentimentScorer,
    pub emotions: EmotionModel,
    pub matcher: Matcher,
    pub detector: SignalDetector,
    /// The catalog's name words ([`crate::analyze::name_words`]): the text is read with them
    /// masked, as the analyser reads it.
    pub names: std::collections::HashMap<String, Vec<String>>,
}

/// Why a [`Featurizer`] can't be built.
#[derive(Debug, thiserror::Error)]
pub enum FeaturizerError {
    #[error(transparent)]
    Emotions(#[from] crate::emotion::ModelError),
    #[error("catalog: {0}")]
    Catalog(#[from] crate::mentions::CompileErrors),
}

impl Featurizer {
    /// The featuriser of a catalog's messages, with a detector whose cues and clusters it reads.
    pub fn new(
        catalog: &crate::catalog::Catalog,
        detector: SignalDetector,
    ) -> Result<Featurizer, FeaturizerError> {
        Ok(Featurizer {
            sentiment: SentimentScorer::new(),
            emotions: EmotionModel::bundled()?,
            matcher: Matcher::compile(catalog)?,
            detector,
            names: crate::analyze::name_words(catalog),
        })
    }
}

impl Featurizer {
    /// A corpus row's features and labels; `None` if its input message does not decode (a
    /// corpus error, which `scripts/corpus_check.py` would have caught).
    pub fn encode(&self, row: &Row) -> Option<Encoded> {
        self.encode_input(&row.input(), &row.labels(), row.effort.map(f32::from))
    }

    /// A corpus row's mentions, each with the labels of its brand: one example per mention the
    /// catalog finds (a mention of a brand the row does not label is an example of no reading).
    /// The first mention of each brand carries its labels; later ones of the same brand too.
    pub fn encode_aspects(&self, row: &Row) -> Vec<Encoded> {
        let bytes = row.input().to_string();
        let Ok(i) = decode(Some(bytes.as_bytes()), KindHint::Auto, Limits::default()) else {
            return Vec::new();
        };
        let mut mentions = self.matcher.find(&i);
        // As the analyser reads them: the company a ticket was sent to among them.
        self.matcher
            .add_recipient(&i, i.language.as_deref(), &mut mentions);
        let hits = self.detector.hits(&i.text);
        let target = Target {
            mention: true,
            ..Target::default()
        };
        let several_brands = super::aspect::several_brands(&mentions);
        (0..mentions.len())
            .map(|k| {
                let mut truth = [false; OUTPUTS];
                if let Some(l) = row.mentions.iter().find(|l| l.brand == mentions[k].brand) {
                    for (o, name) in LABELS.iter().enumerate() {
                        truth[o] = l
                            .intents
                            .iter()
                            .any(|x| name.strip_prefix("intent:") == Some(x))
                            || l.phase
                                .as_deref()
                                .is_some_and(|p| name.strip_prefix("phase:") == Some(p));
                    }
                }
                Encoded {
                    features: super::aspect::features(&i.text, i.kind, &mentions, k, &hits),
                    target,
                    truth,
                    effort: None,
                    only: None,
                    rates_moment: false,
                    writer: None,
                    several_brands,
                }
            })
            .collect()
    }

    /// The features of an input message with its expected labels (in the families of
    /// [`super::eval::labels_of`]) and effort, if labelled.
    pub fn encode_input(
        &self,
        input: &serde_json::Value,
        labels: &std::collections::BTreeSet<String>,
        effort: Option<f32>,
    ) -> Option<Encoded> {
        let bytes = input.to_string();
        let i = decode(Some(bytes.as_bytes()), KindHint::Auto, Limits::default()).ok()?;
        let mut mentions = self.matcher.find(&i);
        // The text with its names masked, as the analyser reads it (`Analyzer::analyze`).
        let read = crate::analyze::read_masked(&self.sentiment, &self.names, &i.text, &mentions);
        // Whom the message is sent to, as the analyser reads it: a reply to a brand's account
        // addresses it. The features are of the words (`SignalDetector::read`).
        self.matcher
            .add_recipient(&i, i.language.as_deref(), &mut mentions);
        let target = self.detector.target(&i, &mentions);
        let mentions = crate::types::Mention::named(&mentions);
        let emotions = self
            .emotions
            .score_features(&i.text, read.features.shared());
        let hits = self.detector.hits(&i.text);
        let durations = super::effort::durations(&i.text);
        let mut truth = [false; OUTPUTS];
        for (o, l) in LABELS.iter().enumerate() {
            truth[o] = labels.contains(*l);
        }
        Some(Encoded {
            features: super::model::features(
                &i,
                read.signal_input(),
                &read.lexicon,
                &emotions,
                mentions,
                target,
                &hits,
                &durations,
            ),
            target,
            truth,
            effort,
            only: None,
            rates_moment: labels.iter().any(|l| l.starts_with("moment:")),
            writer: None,
            several_brands: false,
        })
    }

    /// A text labelled for one output alone (`label`, one of [`super::model::LABELS`]: sarcasm
    /// for sincere praise from [`sincere_texts`] and the irony batches, complaint for the
    /// complaint batches; see [`parse_flagged`]) as a timeline post ([`timeline_input`]) that
    /// teaches that output and nothing else: its other labels are unknown. `None` for a label
    /// the model lacks or a text that can't be read.
    pub fn encode_one_label(&self, n: usize, text: &str, label: &str, on: bool) -> Option<Encoded> {
        let out = LABELS.iter().position(|l| *l == label)?;
        let mut e = self.encode_input(&timeline_input(n, text), &Default::default(), None)?;
        e.truth[out] = on;
        e.only = Some(out);
        Some(e)
    }
}

/// The `n`th text labelled for one output alone as the post it is read as, in training and in
/// `earshot eval-sarcasm` and `eval-complaints`: an English tweet from an account of its own,
/// addressed to whatever account its text tags.
pub fn timeline_input(n: usize, text: &str) -> serde_json::Value {
    serde_json::json!({"platform": "twitter", "id": format!("timeline-{n}"),
        "author": {"id": format!("t-{n}"), "handle": format!("timeline{n}")},
        "text": text, "language": "en", "created_at": "2026-11-01T09:00:00Z"})
}

/// One post of the flagged batches: a short text its writer marked for one label, with the
/// sentiment the writer means. The irony batches (`data/earshot/irony/`: timeline text about
/// anything, the flag says ironic) teach sarcasm beyond brands; the complaint batches
/// (`data/earshot/complaints/`: tweets to and about companies, the flag says complaint) teach
/// complaints as real tweets make them, the company tagged anywhere or not at all.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRow {
    pub id: String,
    pub flag: bool,
    pub sentiment: crate::types::Label,
    pub text: String,
}

/// Parses a flagged batch: `id<TAB>flag<TAB>sentiment<TAB>text` lines, the flag `0` or `1`,
/// sentiment `positive`, `negative` or `neutral` (any case); blank lines skipped. A malformed
/// line is an error that names it.
pub fn parse_flagged(file: &str) -> Result<Vec<FlagRow>, String> {
    use crate::types::Label;
    let mut out = Vec::new();
    for (n, line) in file.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let cols: Vec<&str> = line.splitn(4, '\t').collect();
        let [id, flag, sentiment, text] = cols[..] else {
            return Err(bad("expected id<TAB>flag<TAB>sentiment<TAB>text"));
        };
        let flag = match flag {
            "1" => true,
            "0" => false,
            other => return Err(bad(&format!("flag {other:?} is not 0 or 1"))),
        };
        let Some(sentiment) = Label::parse(sentiment) else {
            return Err(bad(&format!("unknown sentiment {sentiment:?}")));
        };
        if text.trim().is_empty() {
            return Err(bad("empty text"));
        }
        out.push(FlagRow {
            id: id.to_string(),
            flag,
            sentiment,
            text: text.to_string(),
        });
    }
    Ok(out)
}

/// The least mean rating (VADER's −4..4 scale) of a tweet taken as sincere praise.
pub const SINCERE_RATING: f64 = 1.5;

/// Sincere text from sets people labelled for something else, for sarcasm to learn what praise
/// that means it looks like (the corpus has little of it, and the first model flagged a fifth of
/// real positive comments as ironic): VADER's tweets rated [`SINCERE_RATING`] or more by its
/// raters, of one split ([`crate::polarity::data::split_of`]: training reads the train split,
/// `earshot eval-sarcasm` the test split), and GoEmotions comments with positive emotions only
/// ([`crate::polarity::data::goemotions_label`]), one in `every` by a hash of the comment id.
/// Raters who read a text as praise did not read it as irony.
pub fn sincere_texts(
    vader: &str,
    split: crate::signals::corpus::Split,
    goemotions: &str,
    every: u64,
) -> Result<Vec<String>, String> {
    use crate::polarity::data::{goemotions_label, id_hash, split_of};
    // As written: the texts are read as posts, whose decoding decodes them once.
    let mut out: Vec<String> = crate::sentiment::eval::parse_rated_as_written(vader)
        .map_err(|e| format!("VADER ground truth: {e}"))?
        .into_iter()
        .filter(|r| r.rating >= SINCERE_RATING && split_of(&r.id) == split)
        .map(|r| r.text)
        .collect();
    for row in goemotions_rows(goemotions) {
        let (n, [text, ids, id]) = row?;
        let ids: Vec<usize> = ids
            .split(',')
            .map(|x| x.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("GoEmotions line {}: {e}", n + 1))?;
        let positive_only = goemotions_label(&ids) == Some(crate::types::Label::Positive);
        // "Thank you!!! /s": its raters read the words, its writer meant the opposite. A comment
        // that only talks about the marker is left out too: it is no one's plain praise either.
        let sincere = positive_only && marker_tokens(text).next().is_none();
        if sincere && id_hash(id).is_multiple_of(every.max(1)) {
            out.push(text.to_string());
        }
    }
    Ok(out)
}

/// The byte offsets of `/s` (or `/S`) standing as a token of its own: after the start, a space
/// or punctuation other than `/` ("fun. /s", "fun./s", "^^/s", "(/s)"), and before the end, a
/// space or such punctuation ("/s.", "/s\"", "/s)"). Not "r/sarcasm", "http://x/s" or "/sec".
fn marker_tokens(text: &str) -> impl Iterator<Item = usize> + '_ {
    let edge = |c: Option<char>| {
        c.is_none_or(|c| c.is_whitespace() || (c.is_ascii_punctuation() && c != '/'))
    };
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1)).filter(move |&at| {
        // `/` and `s` are one byte each: `at` and `at + 2` are character boundaries.
        bytes[at] == b'/'
            && matches!(bytes[at + 1], b's' | b'S')
            && edge(text[..at].chars().next_back())
            && edge(text[at + 2..].chars().next())
    })
}

/// The `text<TAB>ids<TAB>id` lines of a GoEmotions file, numbered from 0, blank lines skipped;
/// a line without three columns is an error that names it.
fn goemotions_rows(file: &str) -> impl Iterator<Item = Result<(usize, [&str; 3]), String>> {
    file.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols[..] {
                [text, ids, id] => Ok((n, [text, ids, id])),
                _ => Err(format!(
                    "GoEmotions line {}: expected text<TAB>ids<TAB>id",
                    n + 1
                )),
            }
        })
}

/// Where a Reddit writer marks their own comment sarcastic: the first `/s` standing alone
/// ("Hooray for the cancer! /s"), as a byte offset. `None` when there is none, or when the comment
/// talks about the marker ("you forgot the /s", "not sure if /s", "what does /s even mean")
/// rather than using it.
pub fn sarcasm_marker(text: &str) -> Option<usize> {
    let at = marker_tokens(text).next()?;
    fn word(w: &str) -> std::borrow::Cow<'_, str> {
        crate::analysers::lowercase(w.trim_matches(|c: char| !c.is_alphanumeric()))
    }
    let before: Vec<_> = text[..at]
        .split_whitespace()
        .rev()
        .take(2)
        .map(word)
        .collect();
    let after = text[at + 2..].split_whitespace().next().map(word);
    // The marker as a word of the sentence: "the /s", "your /s", "if /s", "does /s", "forgot
    // to add /s", "/s even", "/s tag".
    const BEFORE: [&str; 20] = [
        "the",
        "a",
        "an",
        "your",
        "that",
        "this",
        "if",
        "does",
        "forgot",
        "forget",
        "missing",
        "need",
        "needs",
        "without",
        "add",
        "use",
        "using",
        "put",
        "include",
        "translate",
    ];
    const TWO_BEFORE: [&str; 8] = [
        "forgot",
        "forget",
        "missing",
        "without",
        "add",
        "put",
        "include",
        "translate",
    ];
    const AFTER: [&str; 5] = ["even", "means", "mean", "tag", "is"];
    let talked_about = before.first().is_some_and(|w| BEFORE.contains(&w.as_ref()))
        || before
            .get(1)
            .is_some_and(|w| TWO_BEFORE.contains(&w.as_ref()))
        || after.is_some_and(|w| AFTER.contains(&w.as_ref()));
    (!talked_about).then_some(at)
}

/// Comments of GoEmotions (`text<TAB>ids<TAB>id` lines) whose writers marked them sarcastic with
/// `/s` ([`sarcasm_marker`]), cut before the marker and unquoted (the TSV's `"…""…""…"`): real
/// sarcasm labelled by the person who meant it, for `earshot eval-sarcasm` to measure recall on.
/// A comment shorter than 8 bytes once cut is left out. Training reads none of them as
/// sarcastic, and no comment with a `/s` at all as sincere ([`sincere_texts`]).
pub fn marked_sarcastic(goemotions: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for row in goemotions_rows(goemotions) {
        let (_, [text, _, _]) = row?;
        let Some(at) = sarcasm_marker(text) else {
            continue;
        };
        let mut said = text[..at].trim();
        if let Some(rest) = said.strip_prefix('"') {
            said = rest;
        }
        let said = said.replace("\"\"", "\"");
        let said = said.trim();
        if said.len() >= 8 {
            out.push(said.to_string());
        }
    }
    Ok(out)
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// How much a positive example of an output weighs against a negative one: most labels are
    /// rare (a context on one message in ten), and without it their recall suffers.
    pub positive_weight: f32,
    /// The least precision sarcasm's threshold must give where it is tuned.
    pub sarcasm_precision: f64,
    /// The least precision the threshold of sarcasm on a message with no target must give where
    /// it is tuned (across folds, with a second reading); `None` reads such a message at the
    /// threshold of one with a target.
    pub untargeted_sarcasm_precision: Option<f64>,
    /// The state of the generator that orders the rows each epoch (7 gives the shipped model): a
    /// different seed is the same training in another order, which shows how much of a change
    /// in the figures the order alone makes.
    pub seed: u64,
    /// Models trained in as many orders (seeds `seed`, `seed + 1`, ...), their weights averaged
    /// before they are quantised: 1 is one model.
    pub shuffles: usize,
    /// Whether a model tuned across batches learns a second reading ([`super::stack`]) from the
    /// first reading's predictions there. The per-brand model does not: on its mentions the
    /// second reading gained nothing (docs/analysis.md, "A second reading").
    pub stack: bool,
    /// Whether the sarcasm output never learns the message's target features
    /// ([`super::model::target_features`]). The message model's is; the per-brand model's
    /// features are of another corner of the hash space, where those buckets mean other things.
    pub sarcasm_blind_to_targets: bool,
    /// Units of a hidden layer beside the linear first reading ([`super::hidden`]); 0 for none.
    pub hidden: usize,
    /// The hidden layer's AdaGrad rate.
    pub hidden_rate: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            // Chosen on the dev split (docs/analysis.md): 8 to 30 epochs, rates 0.005 to 0.3.
            epochs: 12,
            learning_rate: 0.02,
            l2: 1e-6,
            positive_weight: 1.0,
            sarcasm_precision: SARCASM_PRECISION,
            untargeted_sarcasm_precision: Some(UNTARGETED_SARCASM_PRECISION),
            seed: 7,
            shuffles: 1,
            stack: true,
            sarcasm_blind_to_targets: true,
            hidden: 0,
            // The best of the rates measured (docs/analysis.md, "A hidden layer in earshot").
            hidden_rate: 0.005,
        }
    }
}

/// Trains on `train`, tunes every threshold on `dev`, and returns the model as it ships.
pub fn train(train: &[Encoded], dev: &[Encoded], o: TrainOptions) -> SignalModel {
    let mut model = fit(train, o);
    model.thresholds = tune(&model, dev, o.sarcasm_precision);
    model
}

/// The weights learnt from `train`, averaged over [`TrainOptions::shuffles`] orders and quantised
/// as they ship; every threshold at 0.5.
fn fit(train: &[Encoded], o: TrainOptions) -> SignalModel {
    use rayon::prelude::*;
    let n = o.shuffles.max(1);
    // Each order's model in parallel, summed in a fixed order: the same rows give the same
    // average byte for byte.
    let models: Vec<Weights> = (0..n as u64)
        .into_par_iter()
        .map(|k| weights(train, o, o.seed.wrapping_add(k)))
        .collect();
    // Each part's mean over the orders, added in order (one order's is its own weights).
    let mean = |part: &dyn Fn(&Weights) -> Option<&Vec<f32>>| -> Option<Vec<f32>> {
        let mut sum = vec![0.0f32; part(&models[0])?.len()];
        for v in models.iter().filter_map(part) {
            for (a, b) in sum.iter_mut().zip(v) {
                *a += b / n as f32;
            }
        }
        Some(sum)
    };
    let linear = mean(&|m| Some(&m.linear)).unwrap_or_default();
    let effort = mean(&|m| Some(&m.effort)).unwrap_or_default();
    let mut model = SignalModel::quantised(&linear, &effort);
    if let Some(h) = &models[0].hidden {
        let (table, bias, out) = (
            mean(&|m| m.hidden.as_ref().map(|h| &h.table)),
            mean(&|m| m.hidden.as_ref().map(|h| &h.bias)),
            mean(&|m| m.hidden.as_ref().map(|h| &h.out)),
        );
        if let (Some(t), Some(b), Some(w)) = (table, bias, out) {
            model.hidden = Some(super::hidden::Hidden::quantised(h.units, &t, &b, &w));
        }
    }
    model
}

/// One order's trained weights, unquantised.
struct Weights {
    /// The outputs', feature-major.
    linear: Vec<f32>,
    /// The effort regression's.
    effort: Vec<f32>,
    hidden: Option<super::hidden::Trainer>,
}

/// One order's weights, unquantised: the outputs', the effort regression's and the hidden layer's.
fn weights(train: &[Encoded], o: TrainOptions, seed: u64) -> Weights {
    // Logistic outputs, feature-major as they ship, with AdaGrad's sums of squares.
    let mut w = vec![0.0f32; BUCKETS * OUTPUTS];
    let mut g2 = vec![1e-6f32; BUCKETS * OUTPUTS];
    // The effort regression, on the rows that express effort.
    let mut e = vec![0.0f32; BUCKETS];
    let mut e2 = vec![1e-6f32; BUCKETS];
    let mut hidden = (o.hidden > 0).then(|| super::hidden::Trainer::new(o.hidden, o.seed));
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut state = seed;
    // The sarcasm output never learns from what a message targets (`target_features`).
    let blind: &[u32] = if o.sarcasm_blind_to_targets {
        &super::model::target_features()
    } else {
        &[]
    };
    for _ in 0..o.epochs {
        crate::lcg::shuffle(&mut order, &mut state);
        for &k in &order {
            let x = &train[k];
            let mut z = [0.0f32; OUTPUTS];
            for &f in &x.features {
                let row = &w[f as usize * OUTPUTS..][..OUTPUTS];
                for (zo, wo) in z.iter_mut().zip(row) {
                    *zo += wo;
                }
            }
            if let Some(h) = &mut hidden {
                h.forward(&x.features, &mut z);
            }
            let taught: [bool; OUTPUTS] = std::array::from_fn(|out| x.labels(out));
            if let Some(h) = &mut hidden {
                let d: [f32; OUTPUTS] = std::array::from_fn(|out| {
                    if !taught[out] {
                        return 0.0;
                    }
                    let (y, weight) = if x.truth[out] {
                        (1.0, o.positive_weight)
                    } else {
                        (0.0, 1.0)
                    };
                    weight * (sigmoid(z[out]) - y)
                });
                h.backward(&x.features, &d, o.hidden_rate, o.l2);
            }
            for &f in &x.features {
                let base = f as usize * OUTPUTS;
                let targets = blind.contains(&f);
                for (out, zo) in z.iter().enumerate() {
                    if !taught[out] || (targets && out == SARCASM) {
                        continue;
                    }
                    let (y, weight) = if x.truth[out] {
                        (1.0, o.positive_weight)
                    } else {
                        (0.0, 1.0)
                    };
                    let grad = weight * (sigmoid(*zo) - y) + o.l2 * w[base + out];
                    g2[base + out] += grad * grad;
                    w[base + out] -= o.learning_rate * grad / g2[base + out].sqrt();
                }
            }
            if let Some(target) = x.effort {
                let pred: f32 = x.features.iter().map(|&f| e[f as usize]).sum();
                let grad = (pred - target) / 5.0;
                for &f in &x.features {
                    let g = grad + o.l2 * e[f as usize];
                    e2[f as usize] += g * g;
                    e[f as usize] -= o.learning_rate * g / e2[f as usize].sqrt();
                }
            }
        }
    }
    Weights {
        linear: w,
        effort: e,
        hidden,
    }
}

/// Every row of a batch, train and dev.
fn rows_of(b: &Batch) -> impl Iterator<Item = &Encoded> {
    b.train.iter().chain(&b.dev)
}

/// The fold an extra row (the `k`th) is dealt into for the second reading: its writer's, or, for a
/// row of its own writer, its own.
fn fold_of_extra(k: usize, x: &Encoded, folds: usize) -> usize {
    x.writer.map_or(k, |w| w as usize) % folds
}

/// Trains on every row of `batches` and `extra`, and tunes the thresholds on predictions made
/// across batches: the batches are dealt into `folds` groups, and each group's rows are predicted
/// by a model that learnt from the other groups only. With [`TrainOptions::stack`], the second
/// reading ([`super::stack`]) learns from those predictions too, and the thresholds are tuned on
/// its reading of them. A dev split drawn from the training batches
/// shares their writers, so a model is surer on it than on a writer it has never read, and
/// thresholds tuned there are set for familiar voices; predictions across batches are what a new
/// writer's messages look like to the model. No row is held out of the model that ships.
pub fn train_across(
    batches: &[&Batch],
    extra: &[Encoded],
    o: TrainOptions,
    folds: usize,
) -> SignalModel {
    let folds = folds.clamp(2, batches.len().max(2));
    let mut logits: Vec<[f32; OUTPUTS]> = Vec::new();
    let mut seen: Vec<&Encoded> = Vec::new();
    // With a second reading, the extra rows are dealt into the folds too, so that it learns from
    // a first reading of them made without them: the irony and the sincere texts are most of what
    // sarcasm learns from, and ordinary timeline posts, with no brand to target, are what it
    // reads there. A writer's rows go into one fold together (writer `w` into fold `w % folds`),
    // as a batch does, so that they are read by a model that has not learnt that voice; a row of
    // its own writer (a real text) alone (row `k` into fold `k % folds`). The thresholds are still
    // tuned on the batches' rows alone (those `of_batch`).
    let dealt = |k: usize, g: usize| o.stack && fold_of_extra(k, &extra[k], folds) == g;
    let mut of_batch: Vec<bool> = Vec::new();
    for g in 0..folds {
        let tr: Vec<Encoded> = batches
            .iter()
            .enumerate()
            .filter(|(j, _)| j % folds != g)
            .flat_map(|(_, b)| rows_of(b).cloned())
            .chain(
                extra
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| !dealt(*k, g))
                    .map(|(_, x)| x.clone()),
            )
            .collect();
        let m = fit(&tr, o);
        for (_, b) in batches.iter().enumerate().filter(|(j, _)| j % folds == g) {
            for x in rows_of(b) {
                logits.push(m.logits(&x.features));
                seen.push(x);
                of_batch.push(true);
            }
        }
        for (_, x) in extra.iter().enumerate().filter(|(k, _)| dealt(*k, g)) {
            logits.push(m.logits(&x.features));
            seen.push(x);
            of_batch.push(false);
        }
    }
    let all: Vec<Encoded> = batches
        .iter()
        .flat_map(|b| rows_of(b).cloned())
        .chain(extra.iter().cloned())
        .collect();
    let mut model = fit(&all, o);
    let targets: Vec<Target> = seen.iter().map(|x| x.target).collect();
    let stack = o.stack.then(|| {
        Stack::fit(&logits, &targets, |k, out| {
            seen[k].labels(out).then_some(seen[k].truth[out])
        })
    });
    let probs: Vec<[f32; OUTPUTS]> = match &stack {
        Some(s) => logits
            .iter()
            .zip(&targets)
            .map(|(z, t)| s.probabilities(z, *t))
            .collect(),
        None => logits.iter().map(|z| z.map(sigmoid)).collect(),
    };
    // The rows of `probs` and `seen` that `keep` keeps.
    let select = |keep: &dyn Fn(usize, &Encoded) -> bool| -> (Vec<[f32; OUTPUTS]>, Vec<&Encoded>) {
        probs
            .iter()
            .zip(&seen)
            .enumerate()
            .filter(|(k, (_, x))| keep(*k, x))
            .map(|(_, (p, x))| (*p, *x))
            .unzip()
    };
    // Sarcasm's threshold for messages with no target: on every row read across folds that has
    // none and is labelled for sarcasm (the irony batches' timeline posts, the sincere texts, the
    // batches' rows that aim at no one), when the extra rows were read across folds too.
    if let (true, Some(least)) = (o.stack, o.untargeted_sarcasm_precision) {
        let (p, r) = select(&|_, x| !x.target.any() && x.labels(SARCASM));
        if r.iter().any(|x| x.truth[SARCASM]) {
            model.untargeted_sarcasm = Some(threshold_for(SARCASM, &p, &r, least));
        }
    }
    // Every threshold, sarcasm's for messages with a target too, on the batches' rows, the few
    // with no target among them (tuned on the rows with a target alone, that threshold moved from
    // 0.70 to 0.60 and flagged one more sincere VADER tweet: docs/analysis.md, "Irony batches
    // left out").
    let (p, r) = select(&|k, _| of_batch[k]);
    model.thresholds = tune_on(&p, &r, o.sarcasm_precision);
    model.stack = stack;
    model
}

/// The model of `batches` and `extra`: with `across`, [`train_across`] in that many folds; without,
/// [`train`] on the batches' train rows and `extra`, tuned on their dev rows.
pub fn train_batches(
    batches: &[&Batch],
    extra: &[Encoded],
    o: TrainOptions,
    across: Option<usize>,
) -> SignalModel {
    match across {
        Some(folds) => train_across(batches, extra, o, folds),
        None => {
            let tr: Vec<Encoded> = batches
                .iter()
                .flat_map(|b| b.train.iter().cloned())
                .chain(extra.iter().cloned())
                .collect();
            let dv: Vec<Encoded> = batches.iter().flat_map(|b| b.dev.iter().cloned()).collect();
            train(&tr, &dv, o)
        }
    }
}

/// Precision and F1 of (predicted, true) pairs.
fn precision_f1(pairs: impl Iterator<Item = (bool, bool)>) -> (f64, f64) {
    let pairs: Vec<(bool, bool)> = pairs.collect();
    let tp = pairs.iter().filter(|p| p.0 && p.1).count();
    let predicted = pairs.iter().filter(|p| p.0).count();
    let precision = if predicted == 0 {
        0.0
    } else {
        tp as f64 / predicted as f64
    };
    (precision, f1(pairs.into_iter()))
}

/// The least share of the hard life events the moment's threshold must read as hard where it is
/// tuned: a bereavement read as a happy moment leaves support's care list, a wedding read as hard
/// only joins it.
pub const HARD_RECALL: f64 = 0.95;

/// The least precision a sarcasm flag must have where the threshold is tuned: a false flag turns
/// praise into a complaint, so a missed irony costs less than an invented one. 0.9, not the 0.8
/// the flags must keep on text nobody here wrote: tuned at 0.8 they held 0.78–0.88 on the frozen
/// splits (`t01` renamed 0.782, `t01` 0.811, `t02` 0.879), a coin toss at the target
/// (docs/analysis.md, "Sarcasm's precision with a margin").
pub const SARCASM_PRECISION: f64 = 0.9;

/// The least precision a sarcasm flag on a message with no target must have where that threshold
/// is tuned (the timeline posts irony is learnt from, read across folds): such a message has no
/// brand-directed intent for a flag to turn, so the flag needs only the precision the issue asks
/// of irony in real tweets (0.70), with a margin. With each irony batch left out
/// (`--cross-batches --irony-batches`), it holds 0.92 there; 0.70 found more irony at 0.88 but
/// flagged 4.6% of sincere praise (docs/analysis.md, "Irony batches left out").
pub const UNTARGETED_SARCASM_PRECISION: f64 = 0.8;

/// Each output's threshold, chosen for its F1 on `dev` through the decision the runtime makes
/// (the other thresholds held at 0.5 while one is chosen). Sarcasm's is the best F1 among the
/// thresholds with a dev precision of [`SARCASM_PRECISION`] or more (the most precise one if none
/// reaches it).
fn tune(model: &SignalModel, dev: &[Encoded], floor: f64) -> [f32; OUTPUTS] {
    let probs: Vec<[f32; OUTPUTS]> = dev
        .iter()
        .map(|x| model.probabilities(&x.features, x.target))
        .collect();
    let rows: Vec<&Encoded> = dev.iter().collect();
    tune_on(&probs, &rows, floor)
}

/// [`tune`] on predictions already made: `probs[k]` is the model's reading of `dev[k]`.
fn tune_on(probs: &[[f32; OUTPUTS]], dev: &[&Encoded], least: f64) -> [f32; OUTPUTS] {
    let mut chosen = [0.5f32; OUTPUTS];
    for (out, t) in chosen.iter_mut().enumerate() {
        *t = threshold_for(out, probs, dev, least);
    }
    // The phase is one label of eight, chosen by how far each stands above its threshold: their
    // thresholds act together, so they are tuned together, for the family's micro-F1, by
    // coordinate ascent from the thresholds chosen one by one.
    let phase = super::model::family("phase");
    let phase_f1 = |th: &[f32; OUTPUTS]| {
        f1(dev
            .iter()
            .zip(probs)
            .filter(|(x, _)| x.only.is_none())
            .flat_map(|(x, p)| {
                let on = decide_with(p, th, x.target);
                phase.clone().map(move |o| (on[o], x.truth[o]))
            }))
    };
    for _ in 0..2 {
        for out in phase.clone() {
            let mut best = (phase_f1(&chosen), chosen[out]);
            for step in 1..20 {
                let mut th = chosen;
                th[out] = step as f32 * 0.05;
                let score = phase_f1(&th);
                if score > best.0 {
                    best = (score, th[out]);
                }
            }
            chosen[out] = best.1;
        }
    }
    chosen
}

/// Output `out`'s threshold, chosen in steps of 0.05 on `probs` (the model's reading of `dev`)
/// through the decision the runtime makes, every other threshold at 0.5: the best F1; for
/// sarcasm, the best F1 among the thresholds with a precision of `least` or more (the most precise
/// one if none reaches it); for a life event's moment, see [`HARD_RECALL`].
fn threshold_for(out: usize, probs: &[[f32; OUTPUTS]], dev: &[&Encoded], least: f64) -> f32 {
    // (meets the precision floor, F1 or precision, threshold)
    let mut best = (false, -1.0, 0.5);
    for step in 1..20 {
        let t = step as f32 * 0.05;
        let mut th = [0.5f32; OUTPUTS];
        th[out] = t;
        let (precision, score) = precision_f1(
            dev.iter()
                .zip(probs)
                .filter(|(x, _)| x.labels(out))
                .map(|(x, p)| (decide_with(p, &th, x.target)[out], x.truth[out])),
        );
        let candidate = if out == SARCASM {
            let floor = precision >= least;
            (floor, if floor { score } else { precision }, t)
        } else if out == MOMENT {
            // A hard moment read as happy drops a bereavement from support's care list, which
            // costs more than a wedding on it: among the thresholds that keep [`HARD_RECALL`]
            // of the hard ones, the best mean F1 of hard and happy (else the surest recall).
            let pairs: Vec<(bool, bool)> = dev
                .iter()
                .zip(probs)
                .filter(|(x, _)| x.labels(out))
                .map(|(x, p)| (decide_with(p, &th, x.target)[out], x.truth[out]))
                .collect();
            let hard = pairs.iter().filter(|(_, t)| *t).count();
            let found = pairs.iter().filter(|(p, t)| *p && *t).count();
            let recall = found as f64 / hard.max(1) as f64;
            let (_, happy) = precision_f1(pairs.iter().map(|(p, t)| (!p, !t)));
            let floor = recall >= HARD_RECALL;
            (floor, if floor { (score + happy) / 2.0 } else { recall }, t)
        } else {
            (true, score, t)
        };
        if (candidate.0, candidate.1) > (best.0, best.1) {
            best = candidate;
        }
    }
    best.2
}

/// Micro-F1 of each family on `rows`, through the model's decisions; for `moment`, the mean of
/// hard's and happy's F1 on the rows with a life event.
pub fn family_f1(model: &SignalModel, rows: &[Encoded]) -> Vec<(&'static str, f64)> {
    let decided: Vec<[bool; OUTPUTS]> = rows
        .iter()
        .map(|x| model.read(&x.features, x.target))
        .collect();
    super::model::FAMILIES
        .into_iter()
        .map(|name| {
            let outs = super::model::family(name);
            // A row labelled for one output alone counts for that output only.
            let pairs = rows.iter().zip(&decided).flat_map(|(x, on)| {
                outs.clone()
                    .filter(|o| x.labels(*o))
                    .map(move |o| (on[o], x.truth[o]))
            });
            if name == "moment" {
                // Hard or happy: both classes' F1, averaged (hard is the larger).
                let both: Vec<(bool, bool)> = pairs.collect();
                let happy = f1(both.iter().map(|(p, t)| (!p, !t)));
                return (name, (f1(both.iter().copied()) + happy) / 2.0);
            }
            (name, f1(pairs))
        })
        .collect()
}

/// [`Counts`] of each output on `rows`, through the model's decisions (a row labelled for one
/// output alone counts for that output only), in the order of [`LABELS`].
pub fn output_counts(model: &SignalModel, rows: &[Encoded]) -> Vec<Counts> {
    let mut counts = vec![Counts::default(); OUTPUTS];
    for x in rows {
        let on = model.read(&x.features, x.target);
        for (o, c) in counts.iter_mut().enumerate().filter(|(o, _)| x.labels(*o)) {
            c.tp += usize::from(on[o] && x.truth[o]);
            c.fp += usize::from(on[o] && !x.truth[o]);
            c.fn_ += usize::from(!on[o] && x.truth[o]);
        }
    }
    counts
}

/// [`Counts`] of each family but the life event's moment (two classes, which [`family_f1`]
/// averages), summed from [`output_counts`], in the order of [`super::model::FAMILIES`].
pub fn family_counts(outputs: &[Counts]) -> Vec<(&'static str, Counts)> {
    super::model::FAMILIES
        .into_iter()
        .filter(|name| *name != "moment")
        .map(|name| {
            let c = super::model::family(name).fold(Counts::default(), |c, o| c.plus(outputs[o]));
            (name, c)
        })
        .collect()
}

/// One batch's examples for [`cross_batches`]: its name, its train and dev rows.
pub struct Batch {
    pub name: String,
    pub train: Vec<Encoded>,
    pub dev: Vec<Encoded>,
}

/// The figures of one batch left out in [`cross_batches`] (of one group of batches, with
/// `groups`).
pub struct LeftOut {
    /// The batch's name (the group's batches', joined by `+`).
    pub name: String,
    /// Micro-F1 per family, in the order of [`family_f1`] (for `moment`, the mean of hard's and
    /// happy's F1 on the life events).
    pub f1: Vec<(&'static str, f64)>,
    /// The same on the rows of messages about two brands or more ([`Encoded::several_brands`]);
    /// `None` when the batch has none (every message row, which is not a mention).
    pub f1_several_brands: Option<Vec<(&'static str, f64)>>,
    /// Per output, the labels the model got right, gave wrongly and missed on the rows left out
    /// ([`output_counts`]), which callers add up over the batches for precision and recall.
    pub outputs: Vec<Counts>,
}

/// Leave-one-batch-out: for each batch, a model trained by [`train_batches`] on the other batches
/// (and `extra`) is measured on every row of the batch left out. Each batch was written by its own
/// writer, so this measures how the settings carry to a voice the model has never read, which a
/// dev split drawn from the training batches cannot. With `groups`, a group of batches is left
/// out at a time instead (batch `j` in group `j % groups`): as many models as groups, each trained
/// as the shipped one is on the rest, so the full form (thresholds tuned across batches) takes
/// minutes, not hours.
pub fn cross_batches(
    batches: &[Batch],
    extra: &[Encoded],
    o: TrainOptions,
    across: Option<usize>,
    groups: Option<usize>,
) -> Vec<LeftOut> {
    let groups = groups.map_or(batches.len(), |g| g.clamp(2, batches.len().max(2)));
    use rayon::prelude::*;
    // Each left-out group's model on its own core; collected in order. Group `g` is batches
    // `g`, `g + groups`, ...
    (0..groups)
        .into_par_iter()
        .map(|g| {
            let others: Vec<&Batch> = batches
                .iter()
                .enumerate()
                .filter(|(j, _)| j % groups != g)
                .map(|(_, b)| b)
                .collect();
            let held: Vec<&Batch> = batches.iter().skip(g).step_by(groups).collect();
            let m = train_batches(&others, extra, o, across);
            let all: Vec<Encoded> = held.iter().flat_map(|b| rows_of(b).cloned()).collect();
            let several: Vec<Encoded> = all.iter().filter(|x| x.several_brands).cloned().collect();
            let names: Vec<&str> = held.iter().map(|b| b.name.as_str()).collect();
            LeftOut {
                name: names.join("+"),
                f1: family_f1(&m, &all),
                outputs: output_counts(&m, &all),
                f1_several_brands: (!several.is_empty()).then(|| family_f1(&m, &several)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output the toy tasks learn.
    fn complaint() -> usize {
        LABELS
            .iter()
            .position(|l| *l == "intent:complaint")
            .unwrap()
    }

    /// A message about a brand.
    const TARGETED: Target = Target {
        mention: true,
        ticket: false,
        addressed: false,
        unlisted: false,
    };

    /// A toy row: feature `f`, feature 3 on every row, a complaint or not, with an effort of -3
    /// for a complaint when `effort` is set.
    /// A featuriser as training builds one, with the catalog and signal detector given.
    fn featurizer(catalog: &str, detector: SignalDetector) -> Featurizer {
        Featurizer::new(&crate::catalog::Catalog::parse(catalog).unwrap(), detector).unwrap()
    }

    fn toy(f: u32, is_complaint: bool, effort: bool) -> Encoded {
        let mut truth = [false; OUTPUTS];
        truth[complaint()] = is_complaint;
        Encoded {
            features: vec![f, 3],
            target: TARGETED,
            truth,
            effort: (effort && is_complaint).then_some(-3.0),
            only: None,
            rates_moment: false,
            writer: None,
            several_brands: false,
        }
    }

    #[test]
    fn a_row_for_one_output_tunes_that_output_alone() {
        let praise = LABELS.iter().position(|l| *l == "intent:praise").unwrap();
        let c = complaint();
        // Corpus rows: praise read 0.7 where it is true, 0.2 where not; complaint 0.1, never true.
        let mut rows = Vec::new();
        let mut probs = Vec::new();
        for k in 0..20 {
            let mut x = toy(1, false, false);
            x.truth[praise] = k % 2 == 0;
            let mut p = [0.0f32; OUTPUTS];
            p[praise] = if k % 2 == 0 { 0.7 } else { 0.2 };
            p[c] = 0.1;
            rows.push(x);
            probs.push(p);
        }
        // Complaint-only rows: complaints read at 0.3, and praise at 0.5, which they don't label
        // (counted as not praise, they would lift praise's threshold over 0.5).
        for _ in 0..20 {
            let mut x = toy(2, true, false);
            x.only = Some(c);
            let mut p = [0.0f32; OUTPUTS];
            p[praise] = 0.5;
            p[c] = 0.3;
            rows.push(x);
            probs.push(p);
        }
        let refs: Vec<&Encoded> = rows.iter().collect();
        let t = tune_on(&probs, &refs, SARCASM_PRECISION);
        assert!(t[praise] > 0.2 && t[praise] < 0.5, "{}", t[praise]);
        assert!(t[c] > 0.1 && t[c] <= 0.3, "{}", t[c]);
    }

    #[test]
    fn a_life_event_s_moment_is_learnt_from_life_events_alone() {
        // Feature 1 is said in 20 hard life events, in 60 messages with no life event at all (a
        // redundancy filed under work) and in 60 life events of a set that does not say their
        // moment; feature 2 in 20 happy life events. Taught by all of them, feature 1 would read
        // as not hard (120 against 20).
        let row = |f: u32, life: bool, hard: bool, rated: bool| {
            let mut truth = [false; OUTPUTS];
            truth[LIFE_EVENT] = life;
            truth[MOMENT] = hard;
            Encoded {
                features: vec![f, 3],
                target: TARGETED,
                truth,
                effort: None,
                only: None,
                rates_moment: rated,
                writer: None,
                several_brands: false,
            }
        };
        let data: Vec<Encoded> = (0..20)
            .map(|_| row(1, true, true, true))
            .chain((0..20).map(|_| row(2, true, false, true)))
            .chain((0..60).map(|_| row(1, false, false, true)))
            .chain((0..60).map(|_| row(1, true, false, false)))
            .collect();
        let m = fit(&data, TrainOptions::default());
        // The messages without a life event taught nothing about moments: feature 1 is hard.
        assert!(m.predict(&[1, 3])[MOMENT] > 0.6, "{:?}", m.predict(&[1, 3]));
        assert!(m.predict(&[2, 3])[MOMENT] < 0.4, "{:?}", m.predict(&[2, 3]));
        assert!(!data[40].labels(MOMENT) && data[0].labels(MOMENT) && data[40].labels(0));
        assert!(!data[100].labels(MOMENT) && data[100].labels(LIFE_EVENT));
    }

    #[test]
    fn the_moment_s_threshold_keeps_the_hard_ones() {
        // Ten sure hard life events, one unsure (0.3); ten sure happy ones, two unsure (0.35).
        let row = |hard: bool| {
            let mut truth = [false; OUTPUTS];
            truth[LIFE_EVENT] = true;
            truth[MOMENT] = hard;
            Encoded {
                features: vec![1],
                target: TARGETED,
                truth,
                effort: None,
                only: None,
                rates_moment: true,
                writer: None,
                several_brands: false,
            }
        };
        let mut rows = Vec::new();
        let mut probs = Vec::new();
        for (hard, p, n) in [
            (true, 0.9, 10),
            (true, 0.3, 1),
            (false, 0.2, 10),
            (false, 0.35, 2),
        ] {
            for _ in 0..n {
                rows.push(row(hard));
                let mut q = [0.0f32; OUTPUTS];
                q[MOMENT] = p;
                probs.push(q);
            }
        }
        let dev: Vec<&Encoded> = rows.iter().collect();
        // The best mean F1 alone would be 0.4 (hard recall 10 of 11, under HARD_RECALL).
        let t = tune_on(&probs, &dev, SARCASM_PRECISION)[MOMENT];
        assert!(t > 0.2 && t <= 0.3, "{t}");
    }

    #[test]
    fn a_row_for_one_output_teaches_that_output_alone() {
        let sarcasm = super::super::model::family("sarcasm").start;
        let data: Vec<Encoded> = (0..40).map(|k| toy(1 + k % 2, k % 2 == 0, false)).collect();
        // Feature 1 (the complaints' feature) also on sincere rows that teach sarcasm alone.
        let sincere: Vec<Encoded> = (0..40)
            .map(|_| Encoded {
                only: Some(sarcasm),
                ..toy(1, false, false)
            })
            .collect();
        let o = TrainOptions::default();
        let alone = fit(&data, o);
        let with: Vec<Encoded> = data.iter().cloned().chain(sincere).collect();
        let both = fit(&with, o);
        let p = |m: &SignalModel| m.predict(&[1, 3]);
        // Sarcasm learnt from them: feature 1 now says "not sarcastic" more surely.
        assert!(p(&both)[sarcasm] < p(&alone)[sarcasm]);
        // The complaint output did not: feature 1 reads as a complaint as surely as without
        // them, where the same rows teaching every output would have taught "no complaint".
        let everything: Vec<Encoded> = with
            .iter()
            .cloned()
            .map(|x| Encoded { only: None, ..x })
            .collect();
        let taught = fit(&everything, o);
        let (a, b, t) = (
            p(&alone)[complaint()],
            p(&both)[complaint()],
            p(&taught)[complaint()],
        );
        assert!((a - b).abs() < 0.02, "{a} {b}");
        assert!(t < a - 0.1, "{t} {a}");
    }

    #[test]
    fn the_sarcasm_output_never_learns_what_a_message_targets() {
        let sarcasm = super::super::model::family("sarcasm").start;
        let targets = super::super::model::target_features();
        // Every sarcastic complaint names a brand of its own, as a competitor's, with a product:
        // the target features are perfect cues for both outputs.
        let data: Vec<Encoded> = (0..40)
            .map(|k| {
                let yes = k % 2 == 0;
                let mut x = toy(3, yes, false);
                x.truth[sarcasm] = yes;
                if yes {
                    x.features.extend_from_slice(&targets);
                }
                x
            })
            .collect();
        let w = weights(&data, TrainOptions::default(), 7).linear;
        for &f in &targets {
            let row = &w[f as usize * OUTPUTS..][..OUTPUTS];
            assert_eq!(row[sarcasm], 0.0, "feature {f}");
            assert!(row[complaint()] > 0.1, "feature {f}: {}", row[complaint()]);
        }
    }

    #[test]
    fn a_message_aimed_at_brands_carries_every_target_feature() {
        // The features the sarcasm output is kept from are the ones the featuriser emits: a
        // post that tags an account and names our product and a competitor's has all nine.
        let f = featurizer(crate::catalog::SAMPLE, SignalDetector::untrained().unwrap());
        let post = |text: &str| {
            let input = serde_json::json!({
                "platform": "twitter",
                "id": "1",
                "author": {"id": "a1", "handle": "u1"},
                "created_at": "2026-12-01T00:00:00Z",
                "text": text,
            });
            f.encode_input(&input, &Default::default(), None)
                .expect("a post")
        };
        let x =
            post("@LarkspurHelp my Larkspur Fiber is down again, Corvid Telecom never did this");
        for t in super::super::model::target_features() {
            assert!(x.features.contains(&t), "{t}");
        }
        // A post aimed at nothing has none of them.
        let x = post("down again");
        for t in super::super::model::target_features() {
            assert!(!x.features.contains(&t), "{t}");
        }
    }

    #[test]
    fn training_features_do_not_depend_on_the_detectors_models() {
        // Training featurises with untrained models (`SignalDetector::untrained`), so a build
        // whose model shape changed can train; that is only sound if the features are the same
        // as with the bundled models, ticket and post, with and without a brand.
        let with = |detector| featurizer(crate::catalog::SAMPLE, detector);
        let (bundled, untrained) = (
            with(SignalDetector::new().unwrap()),
            with(SignalDetector::untrained().unwrap()),
        );
        let labels = std::collections::BTreeSet::new();
        let mut compared = 0;
        // Every message of the sample stream: posts and tickets, with brands and without.
        for line in include_str!("../../../samples/stream.jsonl").lines() {
            let Ok(input) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let a = bundled.encode_input(&input, &labels, None);
            let b = untrained.encode_input(&input, &labels, None);
            assert_eq!(a.is_some(), b.is_some(), "{line}");
            if let (Some(a), Some(b)) = (a, b) {
                assert!(!a.features.is_empty());
                assert_eq!(a.features, b.features, "{line}");
                assert_eq!(a.target, b.target);
                compared += 1;
            }
        }
        assert!(compared > 300, "{compared}");
    }

    #[test]
    fn the_model_reads_each_feature_left_once_the_names_are_taken_out() {
        // The model reads each feature of the text once, the mentions' names taken out (each
        // one occurrence; the text has every one of them): `present` against the plain
        // definition, over the sample stream (the sample catalog) and a corpus batch (60 brands,
        // handles, hashtags, typographic apostrophes, emoji).
        let featurizer = |catalog: &str| featurizer(catalog, SignalDetector::untrained().unwrap());
        let sets = [
            (
                featurizer(crate::catalog::SAMPLE),
                include_str!("../../../samples/stream.jsonl"),
            ),
            (
                featurizer(include_str!("../../../data/earshot/corpus/catalog.toml")),
                include_str!("../../../data/earshot/corpus/batches/b01.jsonl"),
            ),
        ];
        let (mut compared, mut with_names, mut repeated) = (0, 0, 0);
        for (f, lines) in &sets {
            for line in lines.lines() {
                // A corpus row gives its message; a line of the stream is one.
                let bytes = match serde_json::from_str::<Row>(line) {
                    Ok(row) => row.input().to_string(),
                    Err(_) => line.to_string(),
                };
                let Ok(i) = decode(Some(bytes.as_bytes()), KindHint::Auto, Limits::default())
                else {
                    continue;
                };
                // As the daemon and training read it: the names masked.
                let mentions = f.matcher.find(&i);
                let r = crate::analyze::read_masked(&f.sentiment, &f.names, &i.text, &mentions);
                let emotions = f.emotions.score_features(&i.text, r.features.shared());
                let hits = f.detector.hits(&i.text);
                let durations = super::super::effort::durations(&i.text);
                let target = f.detector.target(&i, &mentions);
                let args = (&i, r.signal_input(), &r.lexicon, &emotions, &mentions[..]);
                let read = super::super::model::features(
                    args.0, args.1, args.2, args.3, args.4, target, &hits, &durations,
                );
                let (all, taken) = super::super::model::features_but_taken(
                    args.0, args.1, args.2, args.3, args.4, target, &hits, &durations,
                );
                // What the model reads is the plain definition: one occurrence of each taken
                // feature out, then each feature once.
                let mut plain = all.clone();
                super::super::roles::take_out(&mut plain, &taken);
                assert_eq!(plain.len() + taken.len(), all.len(), "{}", i.text);
                plain.sort_unstable();
                plain.dedup();
                let mut once = read.clone();
                once.sort_unstable();
                assert_eq!(once, plain, "{}", i.text);
                repeated += usize::from(read.len() < all.len() - taken.len());
                compared += 1;
                with_names += usize::from(!taken.is_empty());
            }
        }
        // Names were taken out, and features said twice read once, in most messages.
        assert!(
            compared > 700 && with_names > 500 && repeated > 600,
            "{compared} {with_names} {repeated}"
        );
    }

    #[test]
    fn a_text_labelled_for_one_output_teaches_that_output_alone() {
        let featurizer = featurizer("", SignalDetector::untrained().unwrap());
        for (label, text) in [
            ("sarcasm", "so glad the rain waited for my walk home"),
            (
                "intent:complaint",
                "so @BrightwellRail cancelled my 8:15 again",
            ),
        ] {
            let out = LABELS.iter().position(|l| *l == label).unwrap();
            for on in [true, false] {
                let e = featurizer.encode_one_label(3, text, label, on).unwrap();
                assert_eq!(e.only, Some(out));
                assert_eq!(e.truth[out], on);
                assert_eq!(e.truth.iter().filter(|t| **t).count(), usize::from(on));
                assert!(!e.features.is_empty());
            }
        }
        // The tagged company is the post's target.
        let e = featurizer
            .encode_one_label(
                1,
                "so @BrightwellRail cancelled my 8:15 again",
                "sarcasm",
                false,
            )
            .unwrap();
        assert!(e.target.addressed && e.target.any());
        assert!(featurizer
            .encode_one_label(1, "rain again", "intent:nonsense", true)
            .is_none());
    }

    #[test]
    fn flagged_rows_parse_and_bad_lines_are_named() {
        let rows = parse_flagged(
            "i01-0001\t1\tnegative\tlove a 6am fire alarm\n\ni01-0002\t0\tpositive\tsun's out!\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].flag && !rows[1].flag);
        assert_eq!(rows[0].sentiment, crate::types::Label::Negative);
        assert_eq!(rows[1].text, "sun's out!");
        assert_eq!(
            parse_flagged("a\t1\tneg\tx").unwrap_err(),
            "line 1: unknown sentiment \"neg\""
        );
        assert!(parse_flagged("a\t2\tneutral\tx")
            .unwrap_err()
            .contains("not 0 or 1"));
        assert!(parse_flagged("a\t1\tneutral").is_err());
        assert!(parse_flagged("a\t1\tneutral\t  ").is_err());
    }

    #[test]
    fn sincere_texts_are_rated_praise_of_one_split_and_positive_comments() {
        use crate::polarity::data::split_of;
        use crate::signals::corpus::Split;
        // Ids 1..40 fall in every split; all rated 2.0 but id 5, rated 1.0.
        let vader: String = (1..40)
            .map(|i| format!("{i}\t{}\ttweet {i}\n", if i == 5 { 1.0 } else { 2.0 }))
            .collect();
        let train = sincere_texts(&vader, Split::Train, "", 1).unwrap();
        let expected: Vec<String> = (1..40)
            .filter(|i| *i != 5 && split_of(&i.to_string()) == Split::Train)
            .map(|i| format!("tweet {i}"))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(train, expected);
        // GoEmotions: 17 is joy, 2 anger, 27 neutral; a comment with any negative label is out.
        let emotion = |n: &str| crate::emotion::LABELS.iter().position(|l| *l == n).unwrap();
        let goemotions = format!(
            "so glad\t{joy}\tc1\nugh\t{anger}\tc2\nglad but mad\t{joy},{anger}\tc3\n",
            joy = emotion("joy"),
            anger = emotion("anger"),
        );
        assert_eq!(
            sincere_texts("", Split::Test, &goemotions, 1).unwrap(),
            vec!["so glad".to_string()]
        );
        assert!(sincere_texts("", Split::Test, "no columns here", 1).is_err());
        // A positive comment its writer marked sarcastic is not sincere.
        let marked = format!("Thank you!!! /s\t{joy}\tc4\n", joy = emotion("joy"));
        assert!(sincere_texts("", Split::Test, &marked, 1)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_writer_s_sarcasm_marker_is_found_and_talk_about_it_is_not() {
        for (text, at) in [
            ("Hooray for the cancer! /s", 23),
            ("/s obviously", 0),
            ("Great idea /s (I like him)", 11),
            ("I love Arkansas. /s.", 17),
            ("Surely you jest./s", 16),
            ("what a life? /S", 13),
            ("so brave ^^^/s", 12),
            ("\"Just fantastic. /s\"", 17),
        ] {
            assert_eq!(sarcasm_marker(text), Some(at), "{text}");
        }
        for not in [
            "You forgot the /s friend.",
            "I think you're missing a /s",
            "Not sure if /s but he is right",
            "What does /s even mean?",
            "you forgot your /s",
            "hard to tell without that /s",
            "forgot to add /s",
            "see r/sarcasm",
            "http://example.com/s",
            "1/sec is fine",
            "plain text",
        ] {
            assert_eq!(sarcasm_marker(not), None, "{not}");
        }
        let goemotions = "Wow, what a great plan. /s\t0\tc1\nYou forgot the /s\t27\tc2\nok /s\t27\tc3\n\"So \"\"brave\"\" of you /s\"\t0\tc4\n";
        assert_eq!(
            marked_sarcastic(goemotions).unwrap(),
            vec!["Wow, what a great plan.", "So \"brave\" of you"]
        );
        assert!(marked_sarcastic("no columns here").is_err());
    }

    #[test]
    fn learns_a_separable_toy_task_and_is_reproducible() {
        // Feature 1 means "complaint", feature 2 "praise"; feature 3 is on every row.
        let out = complaint();
        let data: Vec<Encoded> = (0..40).map(|k| toy(1 + k % 2, k % 2 == 0, true)).collect();
        let o = TrainOptions::default();
        let m = train(&data, &data, o);
        let on = |f: u32| m.decide(&m.predict(&[f, 3]), data[0].target)[out];
        assert!(on(1) && !on(2));
        assert!(
            m.effort_value(&[1, 3]) < -1.0,
            "{}",
            m.effort_value(&[1, 3])
        );
        // No target, no complaint.
        assert!(!m.decide(&m.predict(&[1, 3]), Target::default())[out]);
        assert_eq!(train(&data, &data, o).to_bytes(), m.to_bytes());
    }

    #[test]
    fn a_hidden_layer_learns_what_no_word_says_alone_and_trains_the_same_bytes_twice() {
        // A complaint is feature 1 or feature 2, not both and not neither: no weight per feature
        // reads that, a hidden layer can.
        let out = complaint();
        let rows = |k: usize| {
            let (a, b) = (k % 4 == 1 || k % 4 == 3, k % 4 >= 2);
            let mut x = toy(9, a != b, false);
            x.features = [a.then_some(1), b.then_some(2), Some(3)]
                .into_iter()
                .flatten()
                .collect();
            x
        };
        let data: Vec<Encoded> = (0..80).map(rows).collect();
        let linear = TrainOptions {
            epochs: 60,
            ..TrainOptions::default()
        };
        let layered = TrainOptions {
            hidden: 32,
            hidden_rate: 0.02,
            ..linear
        };
        let right = |m: &SignalModel| {
            data.iter()
                .filter(|x| (m.predict(&x.features)[out] >= 0.5) == x.truth[out])
                .count()
        };
        let m = fit(&data, layered);
        assert_eq!(right(&m), data.len());
        assert!(right(&fit(&data, linear)) < data.len());
        // Byte for byte the same model from the same rows, and read back as it was written.
        let bytes = m.to_bytes();
        assert_eq!(fit(&data, layered).to_bytes(), bytes);
        assert_eq!(SignalModel::from_bytes(&bytes).unwrap(), m);
    }

    #[test]
    fn averaged_orders_learn_the_task_and_train_the_same_bytes_twice() {
        let out = complaint();
        let data: Vec<Encoded> = (0..40).map(|k| toy(1 + k % 2, k % 2 == 0, true)).collect();
        let one = TrainOptions::default();
        let three = TrainOptions { shuffles: 3, ..one };
        let m = fit(&data, three);
        let on = |f: u32| m.decide(&m.predict(&[f, 3]), TARGETED)[out];
        assert!(on(1) && !on(2));
        assert!(m.effort_value(&[1, 3]) < -1.0);
        assert_eq!(fit(&data, three).to_bytes(), m.to_bytes());
        // The average of three orders is another model than the first order's alone.
        assert_ne!(fit(&data, one).to_bytes(), m.to_bytes());
    }

    #[test]
    fn training_across_batches_learns_every_row_and_is_reproducible() {
        let (out, target) = (complaint(), TARGETED);
        let row = |f: u32, is_complaint: bool| toy(f, is_complaint, false);
        // Feature 1 is a complaint in every batch's train rows; feature 7, only in dev rows.
        let batches: Vec<Batch> = (0..4)
            .map(|b| Batch {
                name: format!("b{b}"),
                train: (0..30).map(|k| row(1 + k % 2, k % 2 == 0)).collect(),
                dev: (0..10).map(|k| row(7 + k % 2, k % 2 == 0)).collect(),
            })
            .collect();
        let refs: Vec<&Batch> = batches.iter().collect();
        let m = train_across(&refs, &[], TrainOptions::default(), 2);
        let on = |m: &SignalModel, f: u32| m.read(&[f, 3], target)[out];
        assert!(
            m.stacked(),
            "a model tuned across batches reads its outputs twice"
        );
        assert!(on(&m, 1) && !on(&m, 2));
        assert!(on(&m, 7) && !on(&m, 8), "the dev rows are learnt from");
        let bytes = m.to_bytes();
        assert_eq!(
            train_across(&refs, &[], TrainOptions::default(), 2).to_bytes(),
            bytes
        );
        // Without the second reading, the same first reading and decisions.
        let once = TrainOptions {
            stack: false,
            ..TrainOptions::default()
        };
        let m1 = train_across(&refs, &[], once, 2);
        assert!(!m1.stacked());
        assert_eq!(m1.logits(&[1, 3]), m.logits(&[1, 3]));
        assert!(on(&m1, 1) && !on(&m1, 2) && on(&m1, 7) && !on(&m1, 8));
        // Tuned on the dev split, the model never learns feature 7 and can't tell it from 8.
        let tr: Vec<Encoded> = batches.iter().flat_map(|b| b.train.clone()).collect();
        let dv: Vec<Encoded> = batches.iter().flat_map(|b| b.dev.clone()).collect();
        let d = train(&tr, &dv, TrainOptions::default());
        assert_eq!(on(&d, 7), on(&d, 8));
    }

    #[test]
    fn a_writer_s_extra_rows_are_dealt_into_one_fold_and_real_texts_one_by_one() {
        let row = |writer: Option<u32>| Encoded {
            writer,
            ..toy(1, true, false)
        };
        let extra: Vec<Encoded> = (0..40)
            .map(|k| row((k % 2 == 0).then_some(7 + (k % 4) as u32)))
            .collect();
        let fold = |k: usize| fold_of_extra(k, &extra[k], 5);
        // Writers 7 and 9: every row of each in one fold, the two in different folds.
        for k in (0..40).step_by(2) {
            assert_eq!(fold(k), fold(k % 4), "row {k}");
        }
        assert_ne!(fold(0), fold(2));
        // Rows of their own writers go round the folds.
        let own: std::collections::BTreeSet<usize> = (1..40).step_by(2).map(fold).collect();
        assert_eq!(own.len(), 5);
    }

    #[test]
    fn the_extra_rows_teach_the_second_reading_too() {
        use super::super::stack::{at, INPUTS};
        let sarcasm = super::super::model::family("sarcasm").start;
        // The batches carry no irony; the extra rows, labelled for sarcasm alone, do (feature 5).
        let batches: Vec<Batch> = (0..4)
            .map(|b| Batch {
                name: format!("b{b}"),
                train: (0..30).map(|k| toy(1 + k % 2, k % 2 == 0, false)).collect(),
                dev: Vec::new(),
            })
            .collect();
        let refs: Vec<&Batch> = batches.iter().collect();
        let extra: Vec<Encoded> = (0..60)
            .map(|k| {
                // One in three, so that both folds get both kinds.
                let ironic = k % 3 == 0;
                let mut truth = [false; OUTPUTS];
                truth[sarcasm] = ironic;
                Encoded {
                    features: vec![if ironic { 5 } else { 6 }, 3],
                    target: Target::default(),
                    truth,
                    effort: None,
                    only: Some(sarcasm),
                    rates_moment: false,
                    writer: None,
                    several_brands: false,
                }
            })
            .collect();
        let m = train_across(&refs, &extra, TrainOptions::default(), 2);
        // Learnt from the batches' rows alone, sarcasm's second reading would be one class and
        // keep the first reading; dealt into the folds, the extra rows teach it.
        let s = m.stack.as_ref().expect("a second reading");
        let identity = Stack::identity();
        assert!((0..INPUTS).any(|k| s.weights[at(k, sarcasm)] != identity.weights[at(k, sarcasm)]));
        let none = Target::default();
        let (ironic, plain) = (
            m.probabilities(&[5, 3], none)[sarcasm],
            m.probabilities(&[6, 3], none)[sarcasm],
        );
        let t = m.thresholds[sarcasm];
        assert!(ironic > t + 0.1 && plain < t, "{ironic} {plain} {t}");
        // The extra rows aim at no one: they tune sarcasm's threshold for messages that do not.
        let u = m
            .untargeted_sarcasm
            .expect("a threshold for messages with no target");
        assert!(ironic >= u && plain < u, "{ironic} {plain} {u}");
        assert!(m.read(&[5, 3], none)[sarcasm] && !m.read(&[6, 3], none)[sarcasm]);
        // Without a precision for it (`--one-sarcasm-threshold`), there is none, and the rest
        // of the model is the same.
        let one = train_across(
            &refs,
            &extra,
            TrainOptions {
                untargeted_sarcasm_precision: None,
                ..TrainOptions::default()
            },
            2,
        );
        assert_eq!(one.untargeted_sarcasm, None);
        let mut without = m.clone();
        without.untargeted_sarcasm = None;
        assert_eq!(one.to_bytes(), without.to_bytes());
        // The complaint's is learnt from the batches.
        assert!((0..INPUTS)
            .any(|k| { s.weights[at(k, complaint())] != identity.weights[at(k, complaint())] }));
        assert_eq!(
            train_across(&refs, &extra, TrainOptions::default(), 2).to_bytes(),
            m.to_bytes()
        );
    }

    /// A writer's batch of toy rows, 40 to train and 10 for dev: feature 1 a complaint and
    /// feature 2 not, or, `flipped`, the other way round.
    fn writer_batch(name: &str, flipped: bool) -> Batch {
        let rows = |n: usize| {
            (0..n)
                .map(|k| toy(1 + k as u32 % 2, (k % 2 == 0) != flipped, false))
                .collect()
        };
        Batch {
            name: name.into(),
            train: rows(40),
            dev: rows(10),
        }
    }

    #[test]
    fn cross_batches_measures_the_batch_left_out() {
        // Two writers agree that feature 1 is a complaint; a third labels it the other way round.
        let batches = [
            writer_batch("b1", false),
            writer_batch("b2", false),
            writer_batch("b3", true),
        ];
        let results = cross_batches(&batches, &[], TrainOptions::default(), None, None);
        let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b1", "b2", "b3"]);
        let intents = |k: usize| {
            results[k]
                .f1
                .iter()
                .find(|(f, _)| *f == "intent")
                .map(|(_, f1)| *f1)
                .unwrap()
        };
        // b1 and b2 are read by a model that learnt from a writer who agrees with them (and one
        // who does not); b3 by one that learnt only from writers who disagree with it.
        assert!(intents(2) < 0.1, "{}", intents(2));
        assert!(intents(0) > intents(2) && intents(1) > intents(2));
        // The counts' micro-F1 is the family's, for every family they count (and at least one
        // of them above nothing).
        let mut read = 0.0f64;
        for r in &results {
            for (name, c) in family_counts(&r.outputs) {
                let f1 = r.f1.iter().find(|(f, _)| *f == name).unwrap().1;
                assert!(
                    (c.f1() - f1).abs() < 1e-9,
                    "{name}: {} against {f1}",
                    c.f1()
                );
                read = read.max(f1);
            }
        }
        assert!(read > 0.05, "{read}");
        // No row of these batches is a mention in a message about several brands.
        assert!(results.iter().all(|r| r.f1_several_brands.is_none()));
    }

    #[test]
    fn counts_read_a_row_labelled_for_one_output_for_that_output_alone() {
        let rows: Vec<Encoded> = (0..40).map(|k| toy(1 + k % 2, k % 2 == 0, false)).collect();
        let m = train(&rows, &rows, TrainOptions::default());
        let mut ironic = toy(1, true, false);
        ironic.only = Some(SARCASM);
        ironic.truth[SARCASM] = true;
        for (o, c) in output_counts(&m, &[ironic]).iter().enumerate() {
            assert_eq!(
                c.tp + c.fp + c.fn_,
                usize::from(o == SARCASM),
                "{}",
                LABELS[o]
            );
        }
        // A corpus row counts for every output, its complaint among them.
        let counts = output_counts(&m, &rows[..1]);
        assert_eq!(counts[complaint()].tp + counts[complaint()].fn_, 1);
    }

    #[test]
    fn cross_batches_in_groups_leaves_every_nth_batch_out_together() {
        // Batches 1 and 3 label feature 1 a complaint, batches 2 and 4 the other way round: left
        // out in two groups (1 + 3, 2 + 4), each group is read by a model that learnt only from
        // writers who disagree with it.
        let batches = [
            writer_batch("b1", false),
            writer_batch("b2", true),
            writer_batch("b3", false),
            writer_batch("b4", true),
        ];
        let results = cross_batches(&batches, &[], TrainOptions::default(), None, Some(2));
        let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b1+b3", "b2+b4"]);
        for r in &results {
            let counts = family_counts(&r.outputs);
            let intents = counts.iter().find(|(f, _)| *f == "intent").unwrap().1;
            // Every row of the group is read (25 complaints a batch), and every intent given is
            // wrong.
            assert_eq!(intents.tp + intents.fn_, 2 * 25, "{}", r.name);
            assert!(intents.fp > 0 && intents.precision() < 0.1, "{intents:?}");
            assert!(counts.iter().all(|(f, _)| *f != "moment"));
        }
        // As many groups as batches, or more, is each batch left out alone.
        let alone = cross_batches(&batches, &[], TrainOptions::default(), None, None);
        let names: Vec<&str> = alone.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b1", "b2", "b3", "b4"]);
        for groups in [4, 9] {
            let each = cross_batches(&batches, &[], TrainOptions::default(), None, Some(groups));
            assert_eq!(each.len(), 4);
            for (a, b) in alone.iter().zip(&each) {
                assert_eq!(
                    (&a.name, &a.outputs),
                    (&b.name, &b.outputs),
                    "{groups} groups"
                );
            }
        }
    }

    #[test]
    fn cross_batches_measures_the_mentions_of_several_brands_apart() {
        // Every fourth row is a mention in a message about several brands: feature 1, a
        // complaint, which the model learns. Of the other rows (feature 2) one in three is a
        // complaint too, which it cannot tell: all rows read worse than the several brands' ones,
        // and the rows about one brand alone would read no complaint right at all.
        let row = |k: usize| Encoded {
            several_brands: k.is_multiple_of(4),
            ..toy(
                if k.is_multiple_of(4) { 1 } else { 2 },
                k % 4 != 1 && k % 4 != 2,
                false,
            )
        };
        let batch = |name: &str| Batch {
            name: name.into(),
            train: (0..40).map(row).collect(),
            dev: (0..12).map(row).collect(),
        };
        let batches = [batch("b1"), batch("b2"), batch("b3")];
        let results = cross_batches(&batches, &[], TrainOptions::default(), None, None);
        let intents = |f1: &[(&str, f64)]| {
            f1.iter()
                .find(|(f, _)| *f == "intent")
                .map(|(_, f1)| *f1)
                .unwrap()
        };
        for r in &results {
            let several = intents(r.f1_several_brands.as_deref().unwrap());
            let all = intents(&r.f1);
            // (Intents the toy rows never carry fire too, thresholds tuned on nothing: both figures
            // are low, but the several brands' rows lose none of their complaints.)
            assert!(several > 1.5 * all, "{}: {several} against {all}", r.name);
        }
    }
}
