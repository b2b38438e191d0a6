//! Emotions: scores for the 27 GoEmotions emotions plus neutral, grouped into Ekman's six plus
//! neutral, the dominant emotion and an intensity from 1 to 5.
//!
//! The model is linear: one-vs-rest logistic regression over 2^18 hashed features — lower-cased
//! word unigrams and bigrams, character 4-grams of words (so inflections and misspellings share
//! weight), emoji, a few shape features (ALL CAPS, "!", "?"), and what the sentiment lexicon says
//! of the text (its compound score, binned, and the sign and strength of each word that moved it)
//! — with a separate 7-way head for the Ekman groups. [`features`] is the one feature extractor:
//! training (`earshot train-emotions`, which scores each example's sentiment as the analyser does)
//! and scoring call the same function, so there is no train/serve skew. Weights are quantised to
//! i8 per output and embedded in the library (`data/earshot/emotions.model`, 9 MB); thresholds are
//! tuned on the quantised weights, as they score at runtime.

mod eval;
mod train;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::sentiment::{round3, Scores, SentimentScorer};

pub use eval::{
    dominant_agreement, dominant_agreement_cross_tuned, evaluate, evaluate_cross_tuned,
    parse_goemotions, Example,
};
pub use train::{train, TrainOptions};

/// The 28 GoEmotions labels, in the order of `emotions.txt`.
pub const LABELS: [&str; 28] = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
];

/// Ekman's six plus neutral.
pub const EKMAN: [&str; 7] = [
    "anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral",
];

/// The Ekman group of each GoEmotions label (index into [`EKMAN`]).
pub const EKMAN_OF: [usize; 28] = [
    3, 3, 0, 0, 3, 3, 5, 5, 3, 4, 0, 1, 4, 3, 2, 3, 4, 3, 3, 2, 3, 3, 5, 3, 4, 4, 5, 6,
];

/// Number of hashed feature buckets.
pub const BUCKETS: usize = 1 << 18;

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(crate) const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a over `parts` in sequence, salted per feature kind: stable across builds and platforms
/// (the model depends on it).
pub(crate) fn hash_parts(parts: &[&[u8]], salt: u64) -> u32 {
    let mut h: u64 = FNV_OFFSET ^ salt;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    (h % BUCKETS as u64) as u32
}

/// The bucket of a character 4-gram: the four bytes as one integer, mixed by a multiply (they are
/// a quarter of a text's features, so they get a cheaper hash than FNV's byte loop). The
/// definition [`word_grams`] is checked against.
#[cfg(test)]
fn gram_hash(g: &[u8]) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&g[..4]);
    gram_hash_u32(u32::from_le_bytes(x))
}

pub(crate) fn hash(s: &[u8], salt: u64) -> u32 {
    hash_parts(&[s], salt)
}

/// The bucket [`features`] gives a lower-cased word (apostrophes as `'`): how a model over these
/// features finds the words of a text that weigh for one of its outputs.
pub(crate) fn word_bucket(lower: &[u8]) -> u32 {
    hash(lower, 1)
}

/// The bucket of a character 4-gram given as its four bytes read little-endian.
fn gram_hash_u32(g: u32) -> u32 {
    let v = u64::from(g) ^ 0x9e37_79b9_0000_0000;
    (v.wrapping_mul(0xff51_afd7_ed55_8ccd) >> 40) as u32 % BUCKETS as u32
}

/// The buckets of the character 4-grams of a lower-cased word of four bytes or more, with its
/// boundaries marked ("<anno", "anno", ..., "ing>"), in order; nothing for a shorter word. They
/// carry what inflections and misspellings share ("annoyed", "annoying", "sooo annoyin"). Read
/// straight from the word: the four bytes as a little-endian integer that each next byte shifts
/// in at the top.
pub(crate) fn word_grams(w: &[u8], mask: u32, out: &mut impl Extend<u32>) {
    if let [w0, w1, w2, rest @ ..] = w {
        if rest.is_empty() {
            return;
        }
        let mut g = u32::from_le_bytes([b'<', *w0, *w1, *w2]);
        let first = gram_hash_u32(g) & mask;
        // One extend of a known length: a vector reserves once.
        out.extend(
            std::iter::once(first).chain(rest.iter().chain(b">").map(|&c| {
                g = (g >> 8) | (u32::from(c) << 24);
                gram_hash_u32(g) & mask
            })),
        );
    }
}

/// The features of a text: bucket ids, one per occurrence (a word said twice counts twice).
pub fn features(text: &str, sentiment: &Scores) -> Vec<u32> {
    features_then(text, sentiment, |_, _, _| {}).0
}

/// [`features`], then, for an ASCII text, what `more` adds to them from the words they read (the
/// text lower-cased, and its words as byte ranges of it): a model that reads the same words for
/// features of its own (the sentiment model's negation scopes) does not split the text again.
/// Returns the features and whether `more` was called (it is not for other text).
pub(crate) fn features_then(
    text: &str,
    sentiment: &Scores,
    more: impl FnOnce(&[u8], &[(usize, usize)], &mut Vec<u32>),
) -> (Vec<u32>, bool) {
    // Links and handles are no words ([`crate::analysers::links::blank_handles_too`]): neither
    // their words, nor their grams, nor a `?` or a lower-case letter of theirs in the text's
    // shape.
    let blanked = crate::analysers::links::blank_handles_too(text);
    let text: &str = &blanked;
    if text.is_ascii() {
        (features_ascii(text, sentiment, more), true)
    } else {
        (features_general(text, sentiment), false)
    }
}

/// The bytes of a word in the features' sense: ASCII letters and digits and the apostrophe.
pub(crate) const WORD_BYTE: [bool; 256] = super::word_bytes_and(b'\'');

/// The words of an ASCII text in the features' sense (runs of [`WORD_BYTE`]), as byte ranges
/// appended to `out`. A byte-by-byte loop mispredicts a branch at every word's start and end;
/// this one marks the word bytes of 64 bytes at a time in a mask and visits only its edges.
pub(crate) fn ascii_words(b: &[u8], out: &mut Vec<(usize, usize)>) {
    let mut inside = false;
    let mut start = 0usize;
    for (c, chunk) in b.chunks(64).enumerate() {
        let mut m = 0u64;
        for (i, &x) in chunk.iter().enumerate() {
            m |= u64::from(WORD_BYTE[usize::from(x)]) << i;
        }
        let base = c * 64;
        let before = (m << 1) | u64::from(inside);
        let rise = m & !before;
        let mut fall = !m & before;
        if chunk.len() < 64 {
            // Past the text's end: its last word is closed below.
            fall &= (1u64 << chunk.len()) - 1;
        }
        let mut edges = rise | fall;
        while edges != 0 {
            let i = edges.trailing_zeros() as usize;
            edges &= edges - 1;
            if rise >> i & 1 == 1 {
                start = base + i;
            } else {
                out.push((start, base + i));
            }
        }
        inside = m >> (chunk.len() - 1) & 1 == 1;
    }
    if inside {
        out.push((start, b.len()));
    }
}

/// [`features`] of an ASCII text (most of a stream): the same features in the same order, from
/// one lower-cased copy of the text whose words are ranges of it, without decoding characters.
fn features_ascii(
    text: &str,
    sentiment: &Scores,
    more: impl FnOnce(&[u8], &[(usize, usize)], &mut Vec<u32>),
) -> Vec<u32> {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lower = lower.as_bytes();
    let (mut letters, mut upper) = (0usize, 0usize);
    for &b in bytes {
        letters += usize::from(b.is_ascii_alphabetic());
        upper += usize::from(b.is_ascii_uppercase());
    }
    let mut words: Vec<(usize, usize)> = Vec::with_capacity(bytes.len() / 4 + 1);
    ascii_words(bytes, &mut words);
    // Words, grams and bigrams: about as many features as the text has letters.
    let mut out = Vec::with_capacity(bytes.len() + 16);
    // FNV-1a is one multiply per byte, each waiting for the last: a word's own hash (salt 1),
    // its hash as a bigram's first word (salt 2, "word "), and the bigram that ends with it
    // (continuing the last word's) are three independent chains, run side by side over its bytes.
    let mut bigrams: smallvec::SmallVec<[u32; 64]> = smallvec::SmallVec::new();
    let mut first: Option<u64> = None;
    for &(a, b) in &words {
        let (mut own, mut opens, mut closes) =
            (FNV_OFFSET ^ 1, FNV_OFFSET ^ 2, first.unwrap_or(FNV_OFFSET));
        for &c in &lower[a..b] {
            own = (own ^ u64::from(c)).wrapping_mul(FNV_PRIME);
            opens = (opens ^ u64::from(c)).wrapping_mul(FNV_PRIME);
            closes = (closes ^ u64::from(c)).wrapping_mul(FNV_PRIME);
        }
        out.push((own % BUCKETS as u64) as u32);
        if first.is_some() {
            bigrams.push((closes % BUCKETS as u64) as u32);
        }
        first = Some((opens ^ u64::from(b' ')).wrapping_mul(FNV_PRIME));
    }
    for &(a, b) in &words {
        word_grams(&lower[a..b], u32::MAX, &mut out);
    }
    out.extend_from_slice(&bigrams);
    shape_and_lexicon(text, letters, upper, sentiment, &mut out);
    more(lower, &words, &mut out);
    out
}

/// [`features`] of any text, character by character.
fn features_general(text: &str, sentiment: &Scores) -> Vec<u32> {
    // Lower-cased words, one buffer; words are ranges of it.
    let mut buf: Vec<u8> = Vec::with_capacity(text.len());
    let mut words: Vec<(usize, usize)> = Vec::with_capacity(32);
    let mut start: Option<usize> = None;
    let mut out = Vec::with_capacity(64);
    let (mut letters, mut upper) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_ascii() {
            // The same rules as below, on the byte.
            let b = c as u8;
            if b.is_ascii_alphabetic() {
                letters += 1;
                upper += usize::from(b.is_ascii_uppercase());
            }
            if b.is_ascii_alphanumeric() || b == b'\'' {
                start.get_or_insert(buf.len());
                buf.push(b.to_ascii_lowercase());
            } else if let Some(s) = start.take() {
                words.push((s, buf.len()));
            }
            continue;
        }
        if c.is_alphabetic() {
            letters += 1;
            upper += usize::from(c.is_uppercase());
        }
        if c.is_alphanumeric() || c == '\'' || c == '’' {
            start.get_or_insert(buf.len());
            // One apostrophe for both spellings of "don't".
            let mut b = [0u8; 4];
            match c {
                '’' => buf.push(b'\''),
                c => {
                    for l in c.to_lowercase() {
                        buf.extend_from_slice(l.encode_utf8(&mut b).as_bytes());
                    }
                }
            }
        } else {
            if let Some(s) = start.take() {
                words.push((s, buf.len()));
            }
            if !c.is_whitespace() && !c.is_ascii() {
                // Emoji and other symbols are features of their own.
                let mut b = [0u8; 4];
                out.push(hash(c.encode_utf8(&mut b).as_bytes(), 3));
            }
        }
    }
    if let Some(s) = start {
        words.push((s, buf.len()));
    }
    let bytes = buf.as_slice();
    for &(a, b) in &words {
        out.push(hash(&bytes[a..b], 1));
    }
    for &(a, b) in &words {
        word_grams(&bytes[a..b], u32::MAX, &mut out);
    }
    for pair in words.windows(2) {
        let (w1, w2) = (&bytes[pair[0].0..pair[0].1], &bytes[pair[1].0..pair[1].1]);
        out.push(hash_parts(&[w1, b" ", w2], 2));
    }
    shape_and_lexicon(text, letters, upper, sentiment, &mut out);
    out
}

/// The features every text has after its words: its shape (capitals, '!', '?'), the bias, and
/// what the lexicon read in it.
fn shape_and_lexicon(
    text: &str,
    letters: usize,
    upper: usize,
    sentiment: &Scores,
    out: &mut Vec<u32>,
) {
    if letters >= 4 && upper == letters {
        out.push(hash(b"<all-caps>", 4));
    }
    if text.contains('!') {
        out.push(hash(b"<bang>", 4));
    }
    if text.contains('?') {
        out.push(hash(b"<question>", 4));
    }
    out.push(hash(b"<bias>", 4));
    // What the sentiment lexicon knows, which GoEmotions' 43k comments may not: the message's
    // compound score in nine bins, and the strength and sign of each word that moved it.
    let bin = ((sentiment.compound + 1.0) * 4.0).floor().clamp(0.0, 8.0) as u8;
    out.push(hash(&[b'c', bin], 8));
    for e in &sentiment.evidence {
        let tag: &[u8] = match e.valence {
            v if v >= 2.0 => b"++",
            v if v > 0.0 => b"+",
            v if v <= -2.0 => b"--",
            _ => b"-",
        };
        out.push(hash(tag, 9));
    }
}

/// Label-to-score lists written as JSON objects in label order: the event has the shape of a map,
/// the analysis builds a list without sorting or allocating map nodes.
mod as_map {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    type Entries = Vec<(Cow<'static, str>, f32)>;

    pub fn serialize<S: Serializer>(v: &Entries, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(v.iter().map(|(k, x)| (k, x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        let m = BTreeMap::<String, f32>::deserialize(d)?;
        Ok(m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
    }
}

/// Emotion scores of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emotions {
    /// Probability per GoEmotions label (28, including neutral); labels under 0.01 are left out to
    /// keep events small (absent means below 0.01).
    #[serde(with = "as_map")]
    pub scores: Vec<(Cow<'static, str>, f32)>,
    /// Probability per Ekman group (6 plus neutral).
    #[serde(with = "as_map")]
    pub ekman: Vec<(Cow<'static, str>, f32)>,
    /// Labels above their tuned threshold.
    pub labels: Vec<Cow<'static, str>>,
    /// The strongest emotion relative to its threshold (`neutral` when none passes).
    pub dominant: Cow<'static, str>,
    /// Its Ekman group.
    pub dominant_ekman: Cow<'static, str>,
    /// 1 (faint) to 5 (intense).
    pub intensity: u8,
}

impl Emotions {
    /// The model's reading of the text's valence, -1..1: the probability of joy minus those of
    /// anger, disgust, fear and sadness (surprise and neutral count for neither).
    pub fn valence(&self) -> f32 {
        let v: f32 = self
            .ekman
            .iter()
            .map(|(group, p)| match group.as_ref() {
                "joy" => *p,
                "anger" | "disgust" | "fear" | "sadness" => -*p,
                _ => 0.0,
            })
            .sum();
        v.clamp(-1.0, 1.0)
    }
}

/// A linear model: `rows` outputs over [`BUCKETS`] features. Weights are feature-major
/// (`weights[feature * rows + output]`): scoring touches one cache line or two per active feature
/// instead of one per feature and output.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub weights: Vec<f32>,
    pub rows: usize,
}

impl Linear {
    pub fn new(rows: usize) -> Linear {
        Linear {
            weights: vec![0.0; rows * BUCKETS],
            rows,
        }
    }

    /// Probabilities of every output.
    pub fn predict(&self, feats: &[u32]) -> Vec<f32> {
        let mut z = vec![0.0f32; self.rows];
        for &f in feats {
            let w = &self.weights[f as usize * self.rows..(f as usize + 1) * self.rows];
            for (acc, x) in z.iter_mut().zip(w) {
                *acc += x;
            }
        }
        for v in &mut z {
            *v = 1.0 / (1.0 + (-*v).exp());
        }
        z
    }
}

/// The emotion model: a 28-label head and a 7-way Ekman head, as shipped: i8 weights (the f32
/// weights of training are not kept; a running daemon holds 9 MB, not 46).
#[derive(Debug, Clone, PartialEq)]
pub struct EmotionModel {
    /// Both heads quantised, for scoring: see [`Packed`].
    packed: Packed,
    /// Decision threshold of each output: the 28 labels, then the 7 Ekman groups.
    thresholds: [f32; OUTPUTS],
    /// Label indices in alphabetical order of their names, the order events list them in.
    labels_by_name: [usize; LABELS.len()],
    ekman_by_name: [usize; EKMAN.len()],
}

/// The indices of `names` in alphabetical order of the names.
fn by_name<const N: usize>(names: &[&str; N]) -> [usize; N] {
    let mut order: [usize; N] = std::array::from_fn(|i| i);
    order.sort_by_key(|&i| names[i]);
    order
}

/// Outputs of both heads side by side.
const OUTPUTS: usize = LABELS.len() + EKMAN.len();

/// The index of `neutral` in [`LABELS`] (the last).
const NEUTRAL: usize = 27;

/// The share of texts labelled only neutral that should read neutral, on the examples the
/// thresholds are tuned on ([`EmotionModel::tuned_on`]). Each label's threshold at its best F1
/// sits on a flat optimum (GoEmotions' labels are sparse and noisy), and the plateau's lowest
/// point reads faint emotions into neutral texts; which point a 0.05 grid lands on moves with any
/// small change of the weights (dominant-neutral agreement 0.789 for one model, 0.744 for one
/// retrained on 22 changed texts of 43,410). Raising every emotion's threshold by a common margin
/// until this share is reached, with thresholds tuned on one half of dev and scored on the other,
/// on the weights before handles were blanked: neutral texts read neutral 0.803 of the time instead of
/// 0.774, the dominant emotion is one of the gold labels as often (0.562), and the 28 labels'
/// macro-F1 gives up 0.004 (0.401 → 0.397; docs/performance.md, 2026-12-06).
pub const NEUTRAL_KEPT: f64 = 0.80;

/// The highest margin [`EmotionModel::tuned_on`] raises the emotions' thresholds by: past about
/// 1.3 the labels' F1 falls (0.395 / 0.377 at 1.5).
pub const MAX_MARGIN: f32 = 1.3;

/// The weights of both heads as i8, feature-major, with one scale per output: each active feature
/// reads 35 bytes (one cache line) instead of 140 bytes of f32 spread over two arrays. These are
/// exactly the weights of the model file, so scoring, evaluation and the file agree.
#[derive(Debug, Clone, PartialEq)]
struct Packed {
    weights: Vec<i8>,
    scales: [f32; OUTPUTS],
}

impl Packed {
    fn new(labels: &Linear, ekman: &Linear) -> Packed {
        let mut weights = vec![0i8; BUCKETS * OUTPUTS];
        let mut scales = [0.0f32; OUTPUTS];
        let columns = (0..labels.rows)
            .map(|r| (labels, r))
            .chain((0..ekman.rows).map(|r| (ekman, r)));
        for (col, (head, r)) in columns.enumerate() {
            let w = || head.weights.iter().skip(r).step_by(head.rows);
            let scale = quantisation_scale(w());
            scales[col] = scale;
            for (f, x) in w().enumerate() {
                weights[f * OUTPUTS + col] = quantise(*x, scale);
            }
        }
        Packed { weights, scales }
    }

    /// Probabilities of the 28 labels followed by the 7 Ekman groups.
    fn predict(&self, feats: &[u32]) -> [f32; OUTPUTS] {
        // Sums of up to 256 weights of at most 127 fit an i16, whose lanes are twice as many per
        // vector instruction as i32's: accumulate in i16 per chunk, then widen.
        let mut acc = [0i32; OUTPUTS];
        for chunk in feats.chunks(256) {
            let mut part = [0i16; OUTPUTS];
            for &f in chunk {
                let at = f as usize * OUTPUTS;
                if let Some(row) = self.weights.get(at..at + OUTPUTS) {
                    for (a, w) in part.iter_mut().zip(row) {
                        *a += i16::from(*w);
                    }
                }
            }
            for (a, p) in acc.iter_mut().zip(part) {
                *a += i32::from(p);
            }
        }
        let mut out = [0.0f32; OUTPUTS];
        for ((o, a), s) in out.iter_mut().zip(acc).zip(self.scales) {
            *o = 1.0 / (1.0 + (-(a as f32 * s)).exp());
        }
        out
    }
}

fn quantisation_scale<'a>(w: impl Iterator<Item = &'a f32>) -> f32 {
    w.fold(0.0f32, |m, x| m.max(x.abs())).max(1e-9) / 127.0
}

fn quantise(x: f32, scale: f32) -> i8 {
    (x / scale).round().clamp(-127.0, 127.0) as i8
}

/// A model file that can't be read.
#[derive(Debug, thiserror::Error)]
#[error("emotion model: {0}")]
pub struct ModelError(String);

const MAGIC: &[u8; 8] = b"ESEMO1\0\0";

impl EmotionModel {
    /// The model shipped with earshot.
    pub fn bundled() -> Result<EmotionModel, ModelError> {
        Self::from_bytes(include_bytes!("../../../data/earshot/emotions.model"))
    }

    /// Serialises with i8 weights and one scale per output.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for cols in [0..LABELS.len(), LABELS.len()..OUTPUTS] {
            out.extend_from_slice(&(cols.len() as u32).to_le_bytes());
            // On disk each output's weights are contiguous (with its scale and threshold).
            for c in cols {
                out.extend_from_slice(&self.packed.scales[c].to_le_bytes());
                out.extend_from_slice(&self.thresholds[c].to_le_bytes());
                out.extend(
                    self.packed
                        .weights
                        .iter()
                        .skip(c)
                        .step_by(OUTPUTS)
                        .map(|w| *w as u8),
                );
            }
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<EmotionModel, ModelError> {
        if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC {
            return Err(ModelError(
                "not an earshot emotion model (bad magic)".into(),
            ));
        }
        let mut at = MAGIC.len();
        let mut take = |n: usize| -> Result<&[u8], ModelError> {
            let s = b
                .get(at..at + n)
                .ok_or_else(|| ModelError("truncated".into()))?;
            at += n;
            Ok(s)
        };
        let mut packed = Packed {
            weights: vec![0i8; BUCKETS * OUTPUTS],
            scales: [0.0; OUTPUTS],
        };
        let mut thresholds = [0.5f32; OUTPUTS];
        let mut col = 0;
        for want in [LABELS.len(), EKMAN.len()] {
            let rows = u32::from_le_bytes(
                take(4)?
                    .try_into()
                    .map_err(|_| ModelError("header".into()))?,
            ) as usize;
            if rows != want {
                return Err(ModelError(format!(
                    "implausible output count {rows} (expected {want})"
                )));
            }
            for _ in 0..rows {
                packed.scales[col] = f32::from_le_bytes(
                    take(4)?
                        .try_into()
                        .map_err(|_| ModelError("scale".into()))?,
                );
                thresholds[col] = f32::from_le_bytes(
                    take(4)?
                        .try_into()
                        .map_err(|_| ModelError("threshold".into()))?,
                );
                for (f, q) in take(BUCKETS)?.iter().enumerate() {
                    packed.weights[f * OUTPUTS + col] = *q as i8;
                }
                col += 1;
            }
        }
        Ok(EmotionModel::of(packed, thresholds))
    }

    /// A model of two trained heads, quantised as the model file stores them, every threshold
    /// at 0.5 until [`EmotionModel::tuned_on`] picks them.
    pub fn new(labels: &Linear, ekman: &Linear) -> EmotionModel {
        EmotionModel::of(Packed::new(labels, ekman), [0.5; OUTPUTS])
    }

    fn of(packed: Packed, thresholds: [f32; OUTPUTS]) -> EmotionModel {
        EmotionModel {
            packed,
            thresholds,
            labels_by_name: by_name(&LABELS),
            ekman_by_name: by_name(&EKMAN),
        }
    }

    /// The same weights with each output's threshold chosen to maximise its F1 on `examples`, as
    /// the runtime scores them (quantised), then every emotion's (not neutral's, nor the Ekman
    /// groups') raised by the least margin, in steps of 0.05 up to [`MAX_MARGIN`], that keeps
    /// [`NEUTRAL_KEPT`] of the examples labelled only neutral reading neutral.
    pub fn tuned_on(&self, examples: &[Example]) -> EmotionModel {
        let scored = self.predictions(examples);
        let mut m = self.clone();
        for c in 0..OUTPUTS {
            let mut best = (0.0, 0.5);
            for step in 1..20 {
                let t = step as f32 * 0.05;
                let f1 = f1_of(scored.iter().map(|(p, truth)| (p[c] >= t, truth[c])));
                if f1 > best.0 {
                    best = (f1, t);
                }
            }
            m.thresholds[c] = best.1;
        }
        let neutral_only: Vec<&[f32; OUTPUTS]> = scored
            .iter()
            .filter(|(_, truth)| truth[NEUTRAL] && !truth[..NEUTRAL].contains(&true))
            .map(|(p, _)| p)
            .collect();
        let best = m.thresholds;
        let mut margin = 1.0f32;
        loop {
            for (t, b) in m.thresholds[..NEUTRAL].iter_mut().zip(&best) {
                *t = (b * margin).min(0.95);
            }
            let kept = neutral_only
                .iter()
                .filter(|p| dominant(&p[..LABELS.len()], &m.thresholds).0 == NEUTRAL)
                .count();
            if kept as f64 >= NEUTRAL_KEPT * neutral_only.len() as f64 || margin >= MAX_MARGIN {
                break m;
            }
            margin = (margin + 0.05).min(MAX_MARGIN);
        }
    }

    /// Each example's probabilities as the runtime computes them (quantised weights), with its
    /// gold labels and groups in the same 35 columns.
    fn predictions(&self, examples: &[Example]) -> Vec<([f32; OUTPUTS], [bool; OUTPUTS])> {
        let scorer = SentimentScorer::new();
        examples
            .iter()
            .map(|(text, ids)| {
                let mut truth = [false; OUTPUTS];
                for &i in ids {
                    truth[i] = true;
                    truth[LABELS.len() + EKMAN_OF[i]] = true;
                }
                (
                    self.packed.predict(&features(text, &scorer.score(text))),
                    truth,
                )
            })
            .collect()
    }

    /// Scores a text, given its sentiment (the analyser has it already; see [`features`]).
    pub fn score(&self, text: &str, sentiment: &Scores) -> Emotions {
        self.score_features(text, &features(text, sentiment))
    }

    /// [`score`](Self::score) with the text's [`features`] already computed (the analyser
    /// computes them once and shares them with the signal model).
    pub fn score_features(&self, text: &str, f: &[u32]) -> Emotions {
        let all = self.packed.predict(f);
        let (p, e) = all.split_at(LABELS.len());
        let labels: Vec<Cow<'static, str>> = (0..LABELS.len())
            .filter(|&i| p[i] >= self.thresholds[i])
            .map(|i| Cow::Borrowed(LABELS[i]))
            .collect();
        let (dominant, ratio) = dominant(p, &self.thresholds);
        let intensity = if dominant == NEUTRAL {
            1
        } else {
            // Capitals and bangs of the writer's words, not of a link's.
            let text = &*crate::analysers::links::blank(text);
            let caps = text.chars().filter(|c| c.is_uppercase()).count() * 3
                > text.chars().filter(|c| c.is_alphabetic()).count().max(1);
            let bangs = text.matches('!').count();
            let base: u8 = if p[dominant] >= 0.8 || ratio >= 2.5 {
                4
            } else if p[dominant] >= 0.5 || ratio >= 1.6 {
                3
            } else {
                2
            };
            (base + u8::from(caps || bangs >= 2)).min(5)
        };
        Emotions {
            scores: self
                .labels_by_name
                .iter()
                .filter(|&&i| p[i] >= 0.01)
                .map(|&i| (Cow::Borrowed(LABELS[i]), round3(p[i])))
                .collect(),
            ekman: self
                .ekman_by_name
                .iter()
                .map(|&i| (Cow::Borrowed(EKMAN[i]), round3(e[i])))
                .collect(),
            labels,
            dominant: Cow::Borrowed(LABELS[dominant]),
            dominant_ekman: Cow::Borrowed(EKMAN[EKMAN_OF[dominant]]),
            intensity,
        }
    }
}

/// The dominant label of a text whose 28 label probabilities are `p`, and how far above its
/// threshold it is (0 for neutral): the label furthest above its threshold, neutral competing
/// like the others (a faint emotion over a clearly neutral text does not make it emotional).
fn dominant(p: &[f32], thresholds: &[f32; OUTPUTS]) -> (usize, f32) {
    let best = (0..LABELS.len())
        .map(|i| (i, p[i] / thresholds[i].max(1e-3)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match best {
        Some((i, r)) if r >= 1.0 && i != NEUTRAL => (i, r),
        _ => (NEUTRAL, 0.0),
    }
}

/// F1 of (predicted, true) pairs; 0 when nothing is both.
pub(crate) fn f1_of(pairs: impl Iterator<Item = (bool, bool)>) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for pair in pairs {
        match pair {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fn_ += 1.0,
            _ => {}
        }
    }
    if tp == 0.0 {
        0.0
    } else {
        2.0 * tp / (2.0 * tp + fp + fn_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_stable_and_inflections_share_grams() {
        let scorer = SentimentScorer::new();
        let features = |t: &str| features(t, &scorer.score(t));
        let a = features("I LOVE this!! 😍");
        assert_eq!(a, features("I LOVE this!! 😍"));
        assert_ne!(
            features("not happy"),
            features("happy not"),
            "bigrams keep order"
        );
        // "annoyed" and "annoying" are different words but share "<ann", "anno", "nnoy".
        let set = |t: &str| {
            features(t)
                .into_iter()
                .collect::<std::collections::BTreeSet<u32>>()
        };
        // Each word's grams are the windows of "<word>", the longest word's too.
        for w in ["anno", "annoyed", "naïve", "supercalifragilistic"] {
            let marked = format!("<{w}>");
            let want: Vec<u32> = marked.as_bytes().windows(4).map(gram_hash).collect();
            let mut got = Vec::new();
            word_grams(w.as_bytes(), u32::MAX, &mut got);
            assert_eq!(got, want, "{w}");
        }
        let mut none = Vec::new();
        word_grams(b"cat", u32::MAX, &mut none);
        assert!(none.is_empty(), "no grams for a word under four bytes");
        let (x, y) = (set("annoyed"), set("annoying"));
        for g in [b"<ann", b"anno", b"nnoy"] {
            assert!(x.contains(&gram_hash(g)) && y.contains(&gram_hash(g)));
        }
        assert!(
            !y.contains(&hash(b"annoyed", 1)),
            "the words themselves differ"
        );
        assert_eq!(
            set("cat").len(),
            3,
            "short words have no grams: the word, the bias and the compound bin"
        );
    }

    #[test]
    fn the_dominant_label_is_the_furthest_above_its_threshold_and_raising_it_keeps_neutral() {
        let mut p = [0.0f32; 28];
        let mut t = [0.5f32; OUTPUTS];
        p[NEUTRAL] = 0.55; // 1.1 times its threshold
        p[0] = 0.3; // admiration at 1.2 times a threshold of 0.25
        t[0] = 0.25;
        assert_eq!(dominant(&p, &t), (0, 0.3 / 0.25));
        // A margin of 1.15 puts admiration at 1.04 of its threshold: below neutral's 1.1.
        t[0] = 0.25 * 1.15;
        assert_eq!(dominant(&p, &t).0, NEUTRAL);
        // Nothing over its threshold reads neutral.
        p[NEUTRAL] = 0.1;
        t[0] = 0.4;
        assert_eq!(dominant(&p, &t), (NEUTRAL, 0.0));
    }

    #[test]
    fn ascii_words_are_the_runs_of_word_bytes() {
        // The plain loop, against which the mask's edges are checked.
        fn runs(b: &[u8]) -> Vec<(usize, usize)> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if !WORD_BYTE[usize::from(b[i])] {
                    i += 1;
                    continue;
                }
                let s = i;
                while i < b.len() && WORD_BYTE[usize::from(b[i])] {
                    i += 1;
                }
                out.push((s, i));
            }
            out
        }
        let mut texts: Vec<String> = vec![String::new(), "a".into(), " ".into(), "a b".into()];
        // Words across every 64-byte edge, texts of every length around it.
        for len in 1..200 {
            let t: String = (0..len)
                .map(|i| if (i * 7 + len) % 5 == 0 { ' ' } else { 'x' })
                .collect();
            texts.push(t.clone());
            texts.push(format!("{t}."));
            texts.push("y".repeat(len));
        }
        for t in &texts {
            let mut got = Vec::new();
            ascii_words(t.as_bytes(), &mut got);
            assert_eq!(got, runs(t.as_bytes()), "{t:?}");
        }
    }

    /// The models were trained on the features as the character-by-character path computes
    /// them: the ASCII path must give the same ids in the same order.
    #[test]
    fn the_ascii_path_gives_the_general_paths_features() {
        let scorer = SentimentScorer::new();
        let root = env!("CARGO_MANIFEST_DIR");
        let mut texts: Vec<String> = [
            "data/vader/tweets_GroundTruth.txt",
            "data/vader/movieReviewSnippets_GroundTruth.txt",
        ]
        .iter()
        .flat_map(|f| {
            let all = std::fs::read_to_string(format!("{root}/{f}")).expect("VADER data");
            all.lines()
                .filter_map(|l| l.splitn(3, '\t').nth(2).map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect();
        texts.extend(
            [
                "",
                "a",
                "ALL CAPS HERE!",
                "don't  can't'",
                "'quoted' words''",
                "end.",
                "x1 y22 z333 wxyz",
                "#hash @handle http://x.co/a?b=c",
                "abcd",
                "abc",
                "I'M SO MAD?!",
                "\t\nnew\nlines\t",
                "aaaa bbbb",
                "4444 grams_with_underscores",
            ]
            .map(str::to_string),
        );
        let mut ascii = 0;
        for t in texts.iter().filter(|t| t.is_ascii()) {
            let s = scorer.score(t);
            assert_eq!(
                features_ascii(t, &s, |_, _, _| {}),
                features_general(t, &s),
                "{t:?}"
            );
            ascii += 1;
        }
        assert!(ascii > 5000, "only {ascii} ASCII texts compared");
    }

    #[test]
    fn model_round_trips_and_rejects_garbage() {
        let mut labels = Linear::new(LABELS.len());
        labels.weights[5] = 1.0;
        labels.weights[7 * LABELS.len() + 2] = -0.5;
        let mut m = EmotionModel::new(&labels, &Linear::new(EKMAN.len()));
        m.thresholds[3] = 0.35;
        let back = EmotionModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        let weight = |f: usize, c: usize| {
            f32::from(back.packed.weights[f * OUTPUTS + c]) * back.packed.scales[c]
        };
        assert!((weight(0, 5) - 1.0).abs() < 0.01);
        assert!((weight(7, 2) + 0.5).abs() < 0.01);
        assert_eq!(back.thresholds[3], 0.35);
        assert!(EmotionModel::from_bytes(b"nope").is_err());
        assert!(EmotionModel::from_bytes(&m.to_bytes()[..100]).is_err());
    }

    #[test]
    fn learns_a_toy_task() {
        let train: Vec<Example> = (0..200)
            .flat_map(|i| {
                [
                    (format!("thank you so much {i}"), vec![15]),
                    (format!("this is infuriating {i}"), vec![2]),
                ]
            })
            .collect();
        let m = self::train(
            &train,
            &train,
            TrainOptions {
                epochs: 3,
                ..TrainOptions::default()
            },
        );
        let scorer = SentimentScorer::new();
        let score = |t: &str| m.score(t, &scorer.score(t));
        assert_eq!(score("thank you").dominant, "gratitude");
        assert_eq!(score("so infuriating").dominant_ekman, "anger");
    }
}
