//! The learned sentiment reader: the 3-class label and the compound score of a message, a
//! sentence or a clause, read by a model over the whole text rather than added up word by word.
//!
//! The model is a multinomial logistic regression over hashed features — the emotion model's
//! features ([`crate::emotion::features`]: word unigrams and bigrams, character 4-grams, emoji,
//! shape, the lexicon's compound bin and the sign and strength of each word that moved it) plus
//! what a lexicon alone cannot weigh: the words in a negation's scope (`not ... worth` is not
//! `worth`), the lexicon's label and its positive and negative shares, the last sentence's score
//! (the one that usually carries the verdict). The one feature function ([`features`]) serves training (`earshot train-sentiment`) and scoring, so
//! there is no train/serve skew. Weights are quantised to i8 per class and embedded in the library
//! (`data/earshot/sentiment.model`, 768 KB).
//!
//! The label is the class with the highest logit once each polar class has its bias and the
//! lexicon's compound has pulled the polar classes toward its sign (the three numbers tuned on dev
//! for macro-recall and macro-F1). The compound lies in the label's band at VADER's ±0.05, as far
//! into it as the label's logit lead over the runner-up class and the lexicon's strength say (the
//! mix tuned on dev for Pearson r): the label is always the one the compound implies, as before.
//! [`Rule`] holds these numbers.

mod masked;
mod train;

use crate::emotion::BUCKETS;
use crate::sentiment::{Evidence, Scores, SentimentScorer};
use crate::types::{Label, Span};

pub use crate::sentiment::eval::Figures;
pub use masked::{Masked, PLACEHOLDER};
pub use train::{encode, train, Encoded, Example, TrainOptions};
pub mod data;
pub mod eval;

/// The three classes, in the model's row order.
pub const CLASSES: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

const ROWS: usize = CLASSES.len();

/// The emotion features' hash, with salts of the sentiment model's own (shifted past the emotion
/// model's).
fn hash_parts(parts: &[&[u8]], salt: u64) -> u32 {
    crate::emotion::hash_parts(parts, salt << 32)
}

/// Words that open a negation's scope.
#[inline]
fn is_negator(w: &[u8]) -> bool {
    if let [.., b'n', b'\'', b't'] = w {
        return true;
    }
    // Most words are not one of these: their length and first letter say so at once.
    if !(2..=7).contains(&w.len())
        || !matches!(w[0], b'n' | b'c' | b'w' | b'h' | b'b' | b'a' | b'd' | b'i')
    {
        return false;
    }
    matches!(
        w,
        b"not"
            | b"no"
            | b"never"
            | b"nothing"
            | b"nobody"
            | b"none"
            | b"nor"
            | b"neither"
            | b"cannot"
            | b"without"
            | b"hardly"
            | b"barely"
            | b"aint"
            | b"dont"
            | b"cant"
            | b"wont"
            | b"isnt"
            | b"didnt"
            | b"doesnt"
    )
}

/// How many words after a negator its scope reaches, at most (it also ends at punctuation and at
/// "but").
const NEGATION_SCOPE: usize = 4;

/// A text's hashed features, computed once for the emotion, signal and sentiment models: the
/// emotion model's ([`crate::emotion::features`]), which the signal model reads too, and after them
/// the words in a negation's scope, which only the sentiment model reads. For an ASCII text one
/// pass over its words gives both; other text is read twice, character by character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFeatures {
    all: Vec<u32>,
    /// How many of `all` are the emotion model's.
    shared: usize,
}

impl TextFeatures {
    /// The features of `text`, whose lexicon reading is `lexicon`.
    pub fn of(text: &str, lexicon: &Scores) -> TextFeatures {
        let mut shared = 0;
        let (mut all, ascii) = crate::emotion::features_then(text, lexicon, |lower, words, out| {
            shared = out.len();
            negation_scopes(lower, words, out);
        });
        if !ascii {
            shared = all.len();
            negation_features_general(text, &mut all);
        }
        TextFeatures { all, shared }
    }

    /// The emotion model's features ([`crate::emotion::features`]), which the signal model reads
    /// too.
    pub fn shared(&self) -> &[u32] {
        &self.all[..self.shared]
    }
}

/// Whether a character ends a negation's scope.
fn ends_scope(c: char) -> bool {
    matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '\n')
}

/// The negation features of an ASCII text given lower-cased (`b`) with its words as ranges of it
/// ([`crate::emotion::ascii_words`]): the same features as the general path.
fn negation_scopes(b: &[u8], words: &[(usize, usize)], out: &mut Vec<u32>) {
    let mut left = 0usize;
    let mut gap_from = 0usize;
    for &(start, end) in words {
        // Punctuation between the last word and this one ends a scope.
        if b[gap_from..start]
            .iter()
            .any(|&c| ends_scope(char::from(c)))
        {
            left = 0;
        }
        gap_from = end;
        let word = &b[start..end];
        if word == b"but" {
            left = 0;
        } else if is_negator(word) {
            left = NEGATION_SCOPE;
        } else if left > 0 {
            out.push(hash_parts(&[word], 1));
            left -= 1;
        }
    }
}

/// The words of `text` inside a negation's scope, as features of their own, read character by
/// character: the path of text that is not ASCII (the model was trained on its features).
fn negation_features_general(text: &str, out: &mut Vec<u32>) {
    // As the ASCII path, which reads the text with its links blanked ([`crate::emotion::features`]).
    let blanked = crate::analysers::links::blank_handles_too(text);
    let text: &str = &blanked;
    let mut word: Vec<u8> = Vec::with_capacity(16);
    let mut left = 0usize;
    let close = |word: &mut Vec<u8>, left: &mut usize, out: &mut Vec<u32>| {
        if word.is_empty() {
            return;
        }
        if word == b"but" {
            *left = 0;
        } else if is_negator(word) {
            *left = NEGATION_SCOPE;
        } else if *left > 0 {
            out.push(hash_parts(&[word], 1));
            *left -= 1;
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '’' {
            if c == '’' {
                word.push(b'\'');
            } else if c.is_ascii() {
                word.push((c as u8).to_ascii_lowercase());
            } else {
                let mut b = [0u8; 4];
                for l in c.to_lowercase() {
                    word.extend_from_slice(l.encode_utf8(&mut b).as_bytes());
                }
            }
        } else {
            close(&mut word, &mut left, out);
            if ends_scope(c) {
                left = 0;
            }
        }
    }
    close(&mut word, &mut left, out);
}

fn bin(x: f32, bins: f32) -> u8 {
    (x * bins).floor().clamp(0.0, bins - 1.0) as u8
}

/// The model's features of a text: its emotion-model features and negation scopes
/// (`text_features`, computed once by the analyser) and the lexicon's reading.
pub fn features(lexicon: &Scores, text_features: &TextFeatures) -> Vec<u32> {
    let mut out = Vec::with_capacity(text_features.all.len() + 8);
    out.extend_from_slice(&text_features.all);
    out.push(hash_parts(&[lexicon.label.as_str().as_bytes()], 2));
    out.push(hash_parts(&[b"pos", &[bin(lexicon.positive, 5.0)]], 3));
    out.push(hash_parts(&[b"neg", &[bin(lexicon.negative, 5.0)]], 3));
    if let [.., last] = lexicon.sentences.as_slice() {
        if lexicon.sentences.len() > 1 {
            let b = bin((last.compound + 1.0) / 2.0, 8.0);
            out.push(hash_parts(&[b"last", &[b]], 4));
        }
    }
    out
}

/// Words that set one clause against another.
fn is_contrast(w: &[u8]) -> bool {
    const CONTRAST: [&[u8]; 6] = [
        b"but",
        b"however",
        b"although",
        b"though",
        b"whereas",
        b"while",
    ];
    CONTRAST.iter().any(|c| w.eq_ignore_ascii_case(c))
}

/// The clause of the sentence `text[start..end]` that holds byte `at`, when the sentence sets
/// clauses against each other ("the app is great but support is useless"); `None` when it is one
/// clause. A contrast word or a semicolon opens the clause after it.
pub fn clause_of(text: &str, start: usize, end: usize, at: usize) -> Option<(usize, usize)> {
    let sentence = text.get(start..end)?;
    let mut cuts: Vec<usize> = Vec::new();
    let mut word_start: Option<usize> = None;
    let check = |ws: usize, we: usize, cuts: &mut Vec<usize>| {
        if ws > 0 && is_contrast(&sentence.as_bytes()[ws..we]) {
            cuts.push(start + ws);
        }
    };
    for (i, c) in sentence.char_indices() {
        if c.is_alphanumeric() || c == '\'' {
            word_start.get_or_insert(i);
        } else {
            if let Some(ws) = word_start.take() {
                check(ws, i, &mut cuts);
            }
            if c == ';' {
                cuts.push(start + i + 1);
            }
        }
    }
    if let Some(ws) = word_start {
        check(ws, sentence.len(), &mut cuts);
    }
    if cuts.is_empty() {
        return None;
    }
    let from = cuts
        .iter()
        .rev()
        .find(|&&c| c <= at)
        .copied()
        .unwrap_or(start);
    let to = cuts.iter().find(|&&c| c > at).copied().unwrap_or(end);
    Some((from, to))
}

/// How many words on each side of a mention, within its clause, are features of the mention.
const WINDOW: usize = 3;

/// The most features [`mention_features`] adds: up to [`WINDOW`] words on each side (with no word
/// on the left, one edge marker in their place).
pub const MENTION_FEATURES: usize = 2 * WINDOW;

/// The words around a mention (`text[start..end]`) within its clause (`text[from..to]`), marked
/// by side: what a brand's own reading turns on ("switched *from* X", "X *is* great", "*to* Y").
/// Added to the clause's features, they make the message model read one brand of several.
pub fn mention_features(
    text: &str,
    (from, to): (usize, usize),
    (start, end): (usize, usize),
    out: &mut Vec<u32>,
) {
    // Only the nearest WINDOW words of each side are read: the clause's other words are not
    // lower-cased at all (lower-casing and replacing every word of both sides cost 4% of the
    // analyser's instructions; callgrind, examples/profile analyse).
    let separator = |c: char| !(c.is_alphanumeric() || c == '\'' || c == '’');
    let before = text.get(from.min(start)..start).unwrap_or_default();
    let after = text.get(end..to.max(end)).unwrap_or_default();
    let mut any_before = false;
    for w in before
        .rsplit(separator)
        .filter(|w| !w.is_empty())
        .take(WINDOW)
    {
        any_before = true;
        out.push(hash_parts(&[b"L", mention_word(w).as_bytes()], 6));
    }
    for w in after
        .split(separator)
        .filter(|w| !w.is_empty())
        .take(WINDOW)
    {
        out.push(hash_parts(&[b"R", mention_word(w).as_bytes()], 6));
    }
    if !any_before {
        out.push(hash_parts(&[b"<first>"], 6));
    }
}

/// A word near a mention as its feature reads it: lower case, a typographic apostrophe as `'`.
fn mention_word(w: &str) -> std::borrow::Cow<'_, str> {
    let lower = crate::analysers::lowercase(w);
    if lower.contains('’') {
        lower.replace('’', "'").into()
    } else {
        lower
    }
}

/// The model's features of `text` read on its own (a sentence, a clause), and its lexicon
/// compound: as [`read_text`] computes them.
pub fn text_features(text: &str, lexicon: &SentimentScorer) -> (Vec<u32>, f32) {
    let scores = lexicon.score(text);
    let tf = TextFeatures::of(text, &scores);
    (features(&scores, &tf), scores.compound)
}

/// What the model reads in `text` on its own: the lexicon and the sentiment model over it, as
/// the analyser runs them on a message, a sentence or a clause.
pub fn read_text(text: &str, lexicon: &SentimentScorer, model: &SentimentModel) -> Reading {
    let (f, compound) = text_features(text, lexicon);
    model.read(&f, compound)
}

/// A model file that can't be read.
#[derive(Debug, thiserror::Error)]
#[error("sentiment model: {0}")]
pub struct ModelError(String);

const MAGIC: &[u8; 8] = b"ESSENT6\0";

/// How the model's three logits become a label and a compound, with the lexicon's compound
/// beside them: two polar biases and the lexicon's pull decide the label, the label's logit lead
/// and the lexicon's strength how far into its band the compound goes. `earshot train-sentiment`
/// tunes it on dev.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// How far the lexicon's compound moves the polar classes' logits: `+pull·lexicon` to the
    /// positive one, `−pull·lexicon` to the negative one.
    pub pull: f32,
    /// Added to the negative class's logit before the likeliest class is taken (neutral's is 0).
    pub negative_bias: f32,
    /// Added to the positive class's logit.
    pub positive_bias: f32,
    /// The lexicon's share in how far into its label's band a polar score goes (the rest is how
    /// far the label's logit is ahead of the runner-up's): the model is sure of most polar texts
    /// alike, the lexicon grades them by the strength of their words.
    pub lexicon_share: f32,
    /// The logit lead that takes the model's share of a polar score `tanh(1)` (76%) of the way
    /// into its band.
    pub lead_scale: f32,
}

impl Default for Rule {
    /// No bias, no pull, the depth from the model's lead alone.
    fn default() -> Self {
        Rule {
            pull: 0.0,
            negative_bias: 0.0,
            positive_bias: 0.0,
            lexicon_share: 0.0,
            lead_scale: 4.0,
        }
    }
}

impl Rule {
    /// The decision's logits of `z` for a text whose lexicon compound is `lexicon`: each polar
    /// class with its bias and the lexicon's pull toward its sign (neutral as it is).
    fn decision(&self, z: [f32; ROWS], lexicon: f32) -> [f32; ROWS] {
        let pull = self.pull * lexicon;
        [
            z[0] + self.negative_bias - pull,
            z[1],
            z[2] + self.positive_bias + pull,
        ]
    }

    /// The label of logits `z` of a text whose lexicon compound is `lexicon`: the class with the
    /// highest decision logit (neutral on a tie, and where a logit is not a number). Comparing
    /// the three classes, not `P(positive) − P(negative)` alone, tells a text the model finds
    /// neutral from one it finds both positive and negative.
    pub fn label(&self, z: [f32; ROWS], lexicon: f32) -> Label {
        label_of(self.decision(z, lexicon))
    }

    /// The label and compound of logits `z` and the lexicon's compound. The compound lies in the
    /// label's band (polar at ±0.05 and beyond, neutral inside): a polar one as far into it as
    /// `tanh(lead / lead_scale)` (the label's decision logit over the runner-up's) and the
    /// lexicon's strength of the same sign say, mixed by `lexicon_share`; a neutral one by the
    /// positive class's lead over the negative one. The lexicon's share in the depth never moves
    /// a score across its band (its pull on the label may change the label).
    pub fn reading(&self, z: [f32; ROWS], lexicon: f32) -> Reading {
        let d = self.decision(z, lexicon);
        let label = label_of(d);
        let (a, k) = (self.lexicon_share, self.lead_scale);
        // In 0..=1; 0 for what is not a number.
        let unit = |x: f32| if x >= 0.0 { x.min(1.0) } else { 0.0 };
        let depth =
            |lead: f32, lexicon: f32| unit(a * unit(lexicon) + (1.0 - a) * unit((lead / k).tanh()));
        let compound = match label {
            Label::Positive => 0.05 + 0.95 * depth(d[2] - d[0].max(d[1]), lexicon),
            Label::Negative => -0.05 - 0.95 * depth(d[0] - d[2].max(d[1]), -lexicon),
            Label::Neutral => {
                let lean = ((d[2] - d[0]) / k).tanh();
                if lean.is_finite() {
                    0.049 * lean
                } else {
                    0.0
                }
            }
        };
        let compound = crate::sentiment::round3(compound).clamp(-1.0, 1.0);
        Reading { compound, label }
    }

    /// Whether the rule can be used: every number finite, a positive lead scale, the lexicon's
    /// share in 0..=1 (what a model file must hold).
    fn is_valid(&self) -> bool {
        [
            self.pull,
            self.negative_bias,
            self.positive_bias,
            self.lexicon_share,
            self.lead_scale,
        ]
        .iter()
        .all(|x| x.is_finite())
            && self.lead_scale > 0.0
            && (0.0..=1.0).contains(&self.lexicon_share)
    }
}

/// The class with the highest logit; neutral on a tie (and where one is not a number).
fn label_of(d: [f32; ROWS]) -> Label {
    if d[2] > d[0] && d[2] > d[1] {
        Label::Positive
    } else if d[0] > d[2] && d[0] > d[1] {
        Label::Negative
    } else {
        Label::Neutral
    }
}

/// The learned sentiment model, as shipped: i8 weights, feature-major (one 3-byte row a feature),
/// one scale per class, and the [`Rule`] tuned on dev.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentModel {
    weights: Vec<i8>,
    scales: [f32; ROWS],
    rule: Rule,
}

/// What the model read in one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// −1..1, the label's band at VADER's ±0.05.
    pub compound: f32,
    pub label: Label,
}

impl SentimentModel {
    /// The model shipped with earshot.
    pub fn bundled() -> Result<SentimentModel, ModelError> {
        Self::from_bytes(include_bytes!("../../../data/earshot/sentiment.model"))
    }

    /// A model of trained f32 weights (`weights[feature * 3 + class]`), quantised as the file
    /// stores them, with the default [`Rule`] until [`SentimentModel::with_rule`] sets one.
    pub fn quantised(weights: &[f32]) -> SentimentModel {
        let mut scales = [0.0f32; ROWS];
        for (c, s) in scales.iter_mut().enumerate() {
            let max = weights
                .iter()
                .skip(c)
                .step_by(ROWS)
                .fold(0.0f32, |m, x| m.max(x.abs()));
            *s = max.max(1e-9) / 127.0;
        }
        let q = weights
            .iter()
            .enumerate()
            .map(|(i, x)| (x / scales[i % ROWS]).round().clamp(-127.0, 127.0) as i8)
            .collect();
        SentimentModel {
            weights: q,
            scales,
            rule: Rule::default(),
        }
    }

    /// The same weights with another rule.
    pub fn with_rule(mut self, rule: Rule) -> SentimentModel {
        self.rule = rule;
        self
    }

    /// How the logits become a label and a compound.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Class logits (negative, neutral, positive) of a feature list.
    pub fn logits(&self, feats: &[u32]) -> [f32; ROWS] {
        let mut acc = [0i32; ROWS];
        for &f in feats {
            let at = f as usize * ROWS;
            if let Some(row) = self.weights.get(at..at + ROWS) {
                for (a, w) in acc.iter_mut().zip(row) {
                    *a += i32::from(*w);
                }
            }
        }
        std::array::from_fn(|c| acc[c] as f32 * self.scales[c])
    }

    /// The label and compound of logits `z` and the lexicon's compound, by the model's
    /// [`Rule`].
    pub fn reading(&self, z: [f32; ROWS], lexicon: f32) -> Reading {
        self.rule.reading(z, lexicon)
    }

    /// Reads a feature list ([`features`]) of a text whose lexicon compound is `lexicon`.
    pub fn read(&self, feats: &[u32], lexicon: f32) -> Reading {
        self.reading(self.logits(feats), lexicon)
    }

    /// The words of `text` that weigh most for `label` against the other polar label, strongest
    /// first, at most `n`: what the model read where it overrules the lexicon. Their valence is
    /// the word's weight for the label, in logits.
    pub fn evidence(&self, text: &str, label: Label, n: usize) -> Vec<Evidence> {
        let (for_c, against) = match label {
            Label::Positive => (2, 0),
            Label::Negative => (0, 2),
            Label::Neutral => return Vec::new(),
        };
        let sign = if label == Label::Positive { 1.0 } else { -1.0 };
        // The model never read a link's or a handle's words ([`crate::analysers::links`]).
        let blanked = crate::analysers::links::blank_handles_too(text);
        let text: &str = &blanked;
        let mut words: Vec<(f32, usize, usize)> = Vec::new();
        let mut lower: Vec<u8> = Vec::with_capacity(16);
        let mut start = None;
        let push =
            |s: usize, e: usize, lower: &mut Vec<u8>, words: &mut Vec<(f32, usize, usize)>| {
                if !crate::types::is_function_word(lower) {
                    let at = crate::emotion::word_bucket(lower) as usize * ROWS;
                    if let Some(row) = self.weights.get(at..at + ROWS) {
                        let w = f32::from(row[for_c]) * self.scales[for_c]
                            - f32::from(row[against]) * self.scales[against];
                        if w > 0.0 {
                            words.push((w, s, e));
                        }
                    }
                }
                lower.clear();
            };
        for (i, c) in text.char_indices() {
            if c.is_alphanumeric() || c == '\'' || c == '’' {
                start.get_or_insert(i);
                if c == '’' {
                    lower.push(b'\'');
                } else {
                    let mut b = [0u8; 4];
                    for l in c.to_lowercase() {
                        lower.extend_from_slice(l.encode_utf8(&mut b).as_bytes());
                    }
                }
            } else if let Some(s) = start.take() {
                push(s, i, &mut lower, &mut words);
            }
        }
        if let Some(s) = start {
            push(s, text.len(), &mut lower, &mut words);
        }
        words.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        words.dedup_by_key(|w| w.1);
        words
            .into_iter()
            .take(n)
            .map(|(w, s, e)| Evidence {
                span: Span::new(text, s, e),
                valence: sign * crate::sentiment::round3(w),
            })
            .collect()
    }

    /// Serialises: magic, the rule (the lexicon's pull, its share in the depth, the two polar
    /// biases, the lead scale), then per class its scale and its weights.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let r = &self.rule;
        for x in [
            r.pull,
            r.lexicon_share,
            r.negative_bias,
            r.positive_bias,
            r.lead_scale,
        ] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for c in 0..ROWS {
            out.extend_from_slice(&self.scales[c].to_le_bytes());
            out.extend(self.weights.iter().skip(c).step_by(ROWS).map(|w| *w as u8));
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<SentimentModel, ModelError> {
        let want = MAGIC.len() + 20 + ROWS * (4 + BUCKETS);
        match b.get(..MAGIC.len()) {
            Some(m) if m == &MAGIC[..] => {}
            Some(b"ESSENT5\0") => {
                return Err(ModelError(
                    "a model of an earlier earshot (format 5, a threshold pair): retrain it with \
                     `earshot train-sentiment`"
                        .into(),
                ))
            }
            _ => {
                return Err(ModelError(
                    "not an earshot sentiment model (bad magic)".into(),
                ))
            }
        }
        if b.len() != want {
            return Err(ModelError(format!("{} bytes, expected {want}", b.len())));
        }
        let f32_at = |at: usize| {
            let mut x = [0u8; 4];
            x.copy_from_slice(&b[at..at + 4]);
            f32::from_le_bytes(x)
        };
        let rule = Rule {
            pull: f32_at(MAGIC.len()),
            lexicon_share: f32_at(MAGIC.len() + 4),
            negative_bias: f32_at(MAGIC.len() + 8),
            positive_bias: f32_at(MAGIC.len() + 12),
            lead_scale: f32_at(MAGIC.len() + 16),
        };
        if !rule.is_valid() {
            return Err(ModelError(format!("a rule that can't be used: {rule:?}")));
        }
        let mut m = SentimentModel {
            weights: vec![0; BUCKETS * ROWS],
            scales: [0.0; ROWS],
            rule,
        };
        let mut at = MAGIC.len() + 20;
        for c in 0..ROWS {
            m.scales[c] = f32_at(at);
            if !(m.scales[c].is_finite() && m.scales[c] > 0.0) {
                return Err(ModelError(format!(
                    "class {c}: a weight scale that can't be used ({})",
                    m.scales[c]
                )));
            }
            at += 4;
            for (f, q) in b[at..at + BUCKETS].iter().enumerate() {
                m.weights[f * ROWS + c] = *q as i8;
            }
            at += BUCKETS;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_negator` as it was first written: the length and first-letter filter must not change
    /// its answer for any word.
    #[test]
    fn the_negator_filter_changes_no_answer() {
        const NEGATORS: [&str; 19] = [
            "not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "cannot",
            "without", "hardly", "barely", "aint", "dont", "cant", "wont", "isnt", "didnt",
            "doesnt",
        ];
        let first = |w: &[u8]| NEGATORS.iter().any(|n| n.as_bytes() == w) || w.ends_with(b"n't");
        let root = env!("CARGO_MANIFEST_DIR");
        let lexicon = std::fs::read_to_string(format!("{root}/data/vader/vader_lexicon.txt"))
            .expect("VADER lexicon");
        let words: Vec<String> = lexicon
            .lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::to_lowercase)
            .chain(NEGATORS.iter().map(|n| n.to_string()))
            .chain(["", "n", "don't", "won't", "isn't", "n't", "nots", "a"].map(str::to_string))
            .collect();
        for w in &words {
            assert_eq!(is_negator(w.as_bytes()), first(w.as_bytes()), "{w:?}");
        }
        assert!(words.len() > 7000);
    }

    /// The model was trained on the negation features of the character-by-character path: the
    /// ASCII path must give the same ids in the same order.
    #[test]
    fn the_ascii_path_gives_the_general_paths_negation_features() {
        let root = env!("CARGO_MANIFEST_DIR");
        let all = std::fs::read_to_string(format!("{root}/data/vader/tweets_GroundTruth.txt"))
            .expect("VADER tweets");
        let mut texts: Vec<&str> = all
            .lines()
            .filter_map(|l| l.splitn(3, '\t').nth(2))
            .collect();
        texts.extend([
            "not good, but great",
            "I don't like it. Never again: no way",
            "NOT HAPPY NOT HAPPY",
            "isn't it? can't say\nwon't say",
            "no",
            "",
            "nothing works but the wifi; barely",
        ]);
        let (mut n, mut fired) = (0, 0);
        for t in texts.into_iter().filter(|t| t.is_ascii()) {
            let (mut a, mut g) = (Vec::new(), Vec::new());
            negation_features(t, &mut a);
            negation_features_general(t, &mut g);
            assert_eq!(a, g, "{t:?}");
            n += 1;
            fired += usize::from(!a.is_empty());
        }
        assert!(
            n > 3000 && fired > 300,
            "{n} texts compared, {fired} with a negation"
        );
    }

    /// `mention_features` as it was written first (every word of both sides lower-cased): the
    /// model was trained on these features, so the faster form must give the same ones.
    fn mention_features_first(
        text: &str,
        (from, to): (usize, usize),
        (start, end): (usize, usize),
    ) -> Vec<u32> {
        let mut out = Vec::new();
        let words = |s: &str| -> Vec<String> {
            s.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
                .filter(|w| !w.is_empty())
                .map(|w| w.to_lowercase().replace('’', "'"))
                .collect()
        };
        let before = words(text.get(from.min(start)..start).unwrap_or_default());
        let after = words(text.get(end..to.max(end)).unwrap_or_default());
        for w in before.iter().rev().take(WINDOW) {
            out.push(hash_parts(&[b"L", w.as_bytes()], 6));
        }
        for w in after.iter().take(WINDOW) {
            out.push(hash_parts(&[b"R", w.as_bytes()], 6));
        }
        if before.is_empty() {
            out.push(hash_parts(&[b"<first>"], 6));
        }
        out
    }

    #[test]
    fn mention_features_are_those_the_model_was_trained_on() {
        let texts = [
            "I switched from Corvid to Larkspur and it’s GREAT, honestly",
            "Larkspur",
            "  ,, Corvid!! ",
            "Der Larkspur Router ist eine Katastrophe, seit drei Tagen",
            "can't believe CORVID's app… again?! @corvid_help #fail",
            "Ünïcödé wörds Λarkspur ΣΟΦΟΣ end",
        ];
        for text in texts {
            let cuts: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for &start in &cuts {
                for &end in cuts.iter().filter(|&&e| e >= start).take(12) {
                    for (from, to) in [(0, text.len()), (start, end), (0, end), (start, text.len())]
                    {
                        let mut ours = Vec::new();
                        mention_features(text, (from, to), (start, end), &mut ours);
                        assert_eq!(
                            ours,
                            mention_features_first(text, (from, to), (start, end)),
                            "{text:?} clause {from}..{to} mention {start}..{end}"
                        );
                    }
                }
            }
        }
    }

    /// The negation features of a text, as [`TextFeatures::of`] gives them.
    fn negation_features(text: &str, out: &mut Vec<u32>) {
        static SCORER: std::sync::OnceLock<SentimentScorer> = std::sync::OnceLock::new();
        let lexicon = SCORER.get_or_init(SentimentScorer::new).score(text);
        let tf = TextFeatures::of(text, &lexicon);
        assert_eq!(tf.shared(), crate::emotion::features(text, &lexicon));
        out.extend_from_slice(&tf.all[tf.shared..]);
    }

    #[test]
    fn negation_reaches_a_few_words_and_stops_at_punctuation_and_but() {
        let mut a = Vec::new();
        negation_features("not worth it. worth it", &mut a);
        assert_eq!(a, [hash_parts(&[b"worth"], 1), hash_parts(&[b"it"], 1)]);
        let mut b = Vec::new();
        negation_features("I don't hate it but love it", &mut b);
        assert_eq!(b, [hash_parts(&[b"hate"], 1), hash_parts(&[b"it"], 1)]);
        let mut c = Vec::new();
        negation_features("never a one two three four five", &mut c);
        assert_eq!(c.len(), NEGATION_SCOPE);
    }

    #[test]
    fn a_mention_reads_its_own_clause() {
        let t = "Intro. The app is great but support is useless; billing fine.";
        let (s, e) = (7, t.len());
        let clause = |word: &str| {
            let at = t.find(word).unwrap();
            clause_of(t, s, e, at).map(|(a, b)| &t[a..b])
        };
        assert_eq!(clause("app"), Some("The app is great "));
        assert_eq!(clause("support"), Some("but support is useless;"));
        assert_eq!(clause("billing"), Some(" billing fine."));
        assert_eq!(clause_of("The app is great.", 0, 17, 4), None);
        // A sentence that opens with the contrast word is one clause.
        assert_eq!(clause_of("But the app is great.", 0, 21, 8), None);
    }

    #[test]
    fn the_label_is_the_likeliest_class_after_biases_and_the_lexicons_pull() {
        let m = Rule {
            pull: 1.0,
            negative_bias: 0.4,
            positive_bias: 0.2,
            ..Rule::default()
        };
        // The biases alone: equal logits read negative (0.4 > 0.2 > 0).
        assert_eq!(m.label([0.0, 0.0, 0.0], 0.0), Label::Negative);
        assert_eq!(m.label([0.0, 1.0, 0.0], 0.0), Label::Neutral);
        // The lexicon pulls a polar class past neutral, and pushes the other one back.
        assert_eq!(m.label([0.0, 1.0, 0.0], 0.9), Label::Positive);
        assert_eq!(m.label([0.0, 1.0, 0.0], -0.9), Label::Negative);
        assert_eq!(m.label([1.0, 0.0, 0.5], 0.5), Label::Positive);
        // A tie goes to neutral, and so does a logit that is not a number.
        assert_eq!(m.label([-0.4, 0.0, -0.2], 0.0), Label::Neutral);
        assert_eq!(m.label([f32::NAN, 0.0, 3.0], 0.0), Label::Neutral);
    }

    #[test]
    fn the_compound_lies_in_its_labels_band_and_grows_with_the_model_and_the_lexicon() {
        let mut steps: Vec<f32> = (-8..=8).map(|i| i as f32 * 0.75).collect();
        steps.extend([
            1e-7,
            -1e-7,
            0.1 + 1e-7,
            1e30,
            -1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        let lexicons = [-1.0, -0.95, -0.4, 0.0, 1e-7, 0.3, 0.9, 1.0, f32::NAN];
        let (mut polar, mut neutral) = (0, 0);
        for (share, k) in [(0.0, 4.0), (0.2, 4.0), (0.5, 0.5), (1.0, 8.0)] {
            let rule = Rule {
                pull: 0.5,
                negative_bias: 0.1,
                positive_bias: -0.1,
                lexicon_share: share,
                lead_scale: k,
            };
            for &neg in &steps {
                for &pos in &steps {
                    for &lex in &lexicons {
                        let r = rule.reading([neg, 0.0, pos], lex);
                        let at = format!("{neg} {pos} {lex} {share} {k}");
                        assert!(r.compound.is_finite(), "{at}");
                        assert!((-1.0..=1.0).contains(&r.compound), "{at}");
                        assert_eq!(Label::from_compound(r.compound), r.label, "{at}");
                        if r.label == Label::Neutral {
                            neutral += 1;
                        } else {
                            polar += 1;
                        }
                    }
                }
            }
        }
        assert!(polar > 1000 && neutral > 1000, "{polar} {neutral}");
        // Surer of positive, further into the band; the same for negative.
        let m = Rule {
            lexicon_share: 0.5,
            lead_scale: 2.0,
            ..Rule::default()
        };
        let pos = |p: f32, lex: f32| m.reading([0.0, 0.0, p], lex).compound;
        assert!(pos(4.0, 0.0) > pos(1.0, 0.0) && pos(1.0, 0.0) >= 0.05);
        let neg = |n: f32| m.reading([n, 0.0, 0.0], 0.0).compound;
        assert!(neg(4.0) < neg(1.0) && neg(1.0) <= -0.05);
        // Graded by the lexicon within the label's band, never across it.
        let (strong, weak, against) = (pos(3.0, 0.9), pos(3.0, 0.1), pos(3.0, -0.9));
        assert!(strong > weak && weak > against && against >= 0.05);
        assert_eq!(m.reading([3.0, 0.0, 0.0], 0.9).label, Label::Negative);
    }

    #[test]
    fn the_model_file_round_trips_and_rejects_garbage() {
        let m = SentimentModel::bundled().unwrap();
        assert_eq!(SentimentModel::from_bytes(&m.to_bytes()).unwrap(), m);
        assert!(SentimentModel::from_bytes(b"nope").is_err());
        assert!(SentimentModel::from_bytes(&m.to_bytes()[..100]).is_err());
        // A rule or a scale that can't be used is refused, not read as a NaN score.
        let with = |at: usize, x: f32| {
            let mut b = m.to_bytes();
            b[at..at + 4].copy_from_slice(&x.to_le_bytes());
            SentimentModel::from_bytes(&b)
        };
        let header = MAGIC.len();
        assert!(with(header, f32::NAN).is_err()); // the pull
        assert!(with(header + 4, 1.5).is_err()); // the lexicon's share
        assert!(with(header + 16, -4.0).is_err()); // the lead scale
        assert!(with(header + 16, 0.0).is_err());
        assert!(with(header + 20, f32::INFINITY).is_err()); // the first class's scale
        assert!(with(header + 4, 1.0).is_ok());
        // A model of the format before: told apart from garbage.
        let mut old = m.to_bytes();
        old[..8].copy_from_slice(b"ESSENT5\0");
        let e = SentimentModel::from_bytes(&old).unwrap_err().to_string();
        assert!(e.contains("retrain"), "{e}");
    }
}
