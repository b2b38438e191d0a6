//! Whether a post names a company or a product the catalog does not list.
//!
//! Brand-directed intents and the journey phase need a target ([`super::model::Target`]). A
//! catalog mention is one; but a stream carries posts about brands no analyst has listed yet (a
//! new competitor, a partner, the brands of a set someone else labelled), and "corvid fiber
//! contract ends in june" is a customer about to leave whether or not Corvid is in the catalog.
//! This model reads whether a post names such a brand, so that its intents and phase are read
//! too, without a catalog entry.
//!
//! It is a logistic regression over the post's words with every *unknown* word masked: a word of
//! three letters or more that a general vocabulary (Reddit comments, tweets and movie reviews,
//! built at training) does not hold becomes `<Name>` (capitalised) or `<name>`. The names
//! themselves are never features, so what it learns is how a brand is spoken of ("the `<name>`
//! app", "switched to `<Name>`", "`<name>` support", "my `<Name>` contract") against how a person,
//! a place, a film or a typo is. Features: the masked words and word pairs, the three words on
//! each side of each masked word (by distance), and how many masked words there are.
//!
//! Training (`earshot train-names`, [`train`]): the corpus's posts (positive where the row names
//! a brand) and the general-timeline posts of `data/earshot/sentiment/` (positive where their
//! readers found a brand named, `data/earshot/names/`), train splits; the threshold is the lowest
//! at which the dev split's general posts that name no brand and tag no account are flagged at
//! most `budget` of the time (the rate of brand-directed readings the signals issue allows on
//! general tweets).

use std::collections::HashMap;

use super::model::ModelError;
use crate::emotion::{FNV_OFFSET, FNV_PRIME};

/// Hashed feature buckets.
pub const BUCKETS: usize = 1 << 18;

const MAGIC: &[u8; 8] = b"ESNAME1\0";

/// The shortest word (in characters) that can be a name: shorter unknown words are mostly
/// abbreviations and typos.
const MIN_NAME: usize = 3;

/// The symbols a post is read as (word symbols are the FNV-1a hash of the lowercased word).
const START: u64 = 1;
const END: u64 = 2;
const NAME_CAPITAL: u64 = 3;
const NAME_LOWER: u64 = 4;
const HANDLE: u64 = 5;

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// SplitMix64's finaliser: every bit of `x` moves every bit of the result.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A feature's bucket: its kind and its symbols, mixed (a feature is hashed per word and per
/// neighbour, so this is a few multiplies, not a byte loop).
fn bucket(kind: u64, a: u64, b: u64) -> u32 {
    (mix(mix(a ^ kind.wrapping_mul(0x9e37_79b9_7f4a_7c15)) ^ b) % BUCKETS as u64) as u32
}

/// Calls `each` with the features of the symbols around position `k` of `s`: the three on each
/// side, by distance (what a masked word's context is).
fn window(s: &[u64], k: usize, mut each: impl FnMut(u32)) {
    for d in 1..=3usize {
        if let Some(&before) = k.checked_sub(d).and_then(|j| s.get(j)) {
            each(bucket(10 + d as u64, before, 0));
        }
        if let Some(&after) = s.get(k + d) {
            each(bucket(20 + d as u64, after, 0));
        }
    }
}

/// One word of a post: its lowercase hash, its length in characters, whether it starts with a
/// capital and whether it has a letter, and its byte range.
#[derive(Debug, Clone, Copy)]
struct Word {
    hash: u64,
    chars: usize,
    capital: bool,
    letter: bool,
    start: usize,
    end: usize,
}

/// The words, handles and punctuation of `text`, in order: a word is a run of letters and digits,
/// a handle `@` and its letters, digits and `_`; any other character but a space is a symbol.
fn words(text: &str, mut each: impl FnMut(Result<Word, u64>)) {
    // A link's id is no name ([`crate::analysers::links`]); blanked, the ranges stay the text's.
    let blanked = crate::analysers::links::blank(text);
    let text: &str = &blanked;
    let mut it = text.char_indices().peekable();
    while let Some((start, c)) = it.next() {
        if c == '@'
            && it
                .peek()
                .is_some_and(|(_, n)| n.is_ascii_alphanumeric() || *n == '_')
        {
            while it
                .peek()
                .is_some_and(|(_, n)| n.is_ascii_alphanumeric() || *n == '_')
            {
                it.next();
            }
            each(Err(HANDLE));
        } else if c.is_alphanumeric() {
            let mut w = Word {
                hash: FNV_OFFSET,
                chars: 0,
                capital: c.is_uppercase(),
                letter: false,
                start,
                end: start + c.len_utf8(),
            };
            let add = |c: char, w: &mut Word| {
                w.chars += 1;
                w.letter |= c.is_alphabetic();
                let mut buf = [0u8; 4];
                for l in c.to_lowercase() {
                    w.hash = fnv(w.hash, l.encode_utf8(&mut buf).as_bytes());
                }
            };
            add(c, &mut w);
            while let Some(&(at, n)) = it.peek() {
                if !n.is_alphanumeric() {
                    break;
                }
                add(n, &mut w);
                w.end = at + n.len_utf8();
                it.next();
            }
            each(Ok(w));
        } else if !c.is_whitespace() {
            let mut buf = [0u8; 4];
            each(Err(fnv(
                FNV_OFFSET ^ 0x5f,
                c.encode_utf8(&mut buf).as_bytes(),
            )));
        }
    }
}

/// The hashes of the words of `texts`, counted.
fn counts<'a>(texts: impl IntoIterator<Item = &'a str>) -> HashMap<u64, u32> {
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for t in texts {
        words(t, |w| {
            if let Ok(w) = w {
                *counts.entry(w.hash).or_default() += 1;
            }
        });
    }
    counts
}

/// Where the known words come from.
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary<'a> {
    /// General text (comments, tweets, reviews): each of its words seen `min_count` times is known.
    pub general: &'a [&'a str],
    /// The domain's text (the corpus): its words seen `min_count` times are known too, except
    /// the words of `names` that general text does not know.
    pub domain: &'a [&'a str],
    /// The brand and product names of the domain's text (its catalog): never learnt from it.
    pub names: &'a [&'a str],
    pub min_count: u32,
}

impl Vocabulary<'_> {
    /// The known words' hashes, as [`words`] gives them.
    fn known(&self) -> rustc_hash::FxHashSet<u64> {
        let general = counts(self.general.iter().copied());
        let domain = counts(self.domain.iter().copied());
        let names = counts(self.names.iter().copied());
        general
            .iter()
            .filter(|(_, n)| **n >= self.min_count)
            .map(|(h, _)| *h)
            .chain(
                domain
                    .iter()
                    .filter(|(h, n)| **n >= self.min_count && !names.contains_key(h))
                    .map(|(h, _)| *h),
            )
            .collect()
    }
}

/// The model as shipped: the known words' hashes, one weight a bucket, a bias and the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct NameModel {
    known: rustc_hash::FxHashSet<u64>,
    weights: Vec<f32>,
    bias: f32,
    threshold: f32,
}

impl NameModel {
    /// The model compiled into the binary (`data/earshot/names.model`).
    pub fn bundled() -> Result<NameModel, ModelError> {
        Self::from_bytes(include_bytes!("../../../data/earshot/names.model"))
    }

    /// The symbols of `text` with unknown words masked.
    fn symbols(&self, text: &str) -> Vec<u64> {
        self.symbols_at(text, |_, _| {})
    }

    /// [`symbols`](Self::symbols), calling `masked` with the symbol's index and the byte range of
    /// every masked word.
    fn symbols_at(&self, text: &str, mut masked: impl FnMut(usize, (usize, usize))) -> Vec<u64> {
        let mut out = Vec::with_capacity(text.len() / 4 + 2);
        out.push(START);
        words(text, |w| {
            let k = out.len();
            out.push(match w {
                Ok(w) => {
                    if w.letter && w.chars >= MIN_NAME && !self.known.contains(&w.hash) {
                        masked(k, (w.start, w.end));
                        if w.capital {
                            NAME_CAPITAL
                        } else {
                            NAME_LOWER
                        }
                    } else {
                        w.hash
                    }
                }
                Err(symbol) => symbol,
            })
        });
        out.push(END);
        out
    }

    /// Calls `each` with every hashed feature of `text`.
    fn visit(&self, text: &str, mut each: impl FnMut(u32)) {
        let s = self.symbols(text);
        let mut names = 0u64;
        for (k, &x) in s.iter().enumerate() {
            each(bucket(1, x, 0));
            if let Some(&next) = s.get(k + 1) {
                each(bucket(2, x, next));
            }
            if x == NAME_CAPITAL || x == NAME_LOWER {
                names += 1;
                window(&s, k, &mut each);
            }
        }
        each(bucket(3, names.min(4), 0));
    }

    /// The hashed features of `text`.
    pub fn features(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 2);
        self.visit(text, |f| out.push(f));
        out
    }

    /// The probability of a post whose features' weights add up to `sum` over `n` features.
    fn probability_of_sum(&self, sum: f32, n: usize) -> f32 {
        let z = sum / (n.max(1) as f32).sqrt() + self.bias;
        1.0 / (1.0 + (-z).exp())
    }

    /// The probability that a post of `features` names a brand.
    fn probability_of(&self, features: &[u32]) -> f32 {
        let sum = features
            .iter()
            .filter_map(|&f| self.weights.get(f as usize))
            .sum::<f32>();
        self.probability_of_sum(sum, features.len())
    }

    /// The probability that `text` names a company or a product.
    pub fn probability(&self, text: &str) -> f32 {
        let (mut sum, mut n) = (0.0f32, 0usize);
        self.visit(text, |f| {
            sum += self.weights.get(f as usize).copied().unwrap_or(0.0);
            n += 1;
        });
        self.probability_of_sum(sum, n)
    }

    /// The byte range of the masked word most likely to be the brand a post names: the one whose
    /// own features (the word pairs it is in, the words around it) weigh most. None when no word
    /// is masked.
    pub fn likeliest_name(&self, text: &str) -> Option<(usize, usize)> {
        let mut at = Vec::new();
        let s = self.symbols_at(text, |k, range| at.push((k, range)));
        let w = |f: u32| self.weights.get(f as usize).copied().unwrap_or(0.0);
        let mut best: Option<(f32, (usize, usize))> = None;
        for (k, range) in at {
            let mut score = 0.0f32;
            if let Some(&before) = k.checked_sub(1).and_then(|j| s.get(j)) {
                score += w(bucket(2, before, s[k]));
            }
            if let Some(&after) = s.get(k + 1) {
                score += w(bucket(2, s[k], after));
            }
            window(&s, k, |f| score += w(f));
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, range));
            }
        }
        best.map(|(_, range)| range)
    }

    /// Whether `text` names a company or a product: its probability at or above the threshold.
    pub fn names(&self, text: &str) -> bool {
        self.probability(text) >= self.threshold
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Sorted, so that the same model is the same bytes.
        let mut vocabulary: Vec<u64> = self.known.iter().copied().collect();
        vocabulary.sort_unstable();
        let mut b = Vec::with_capacity(32 + 8 * vocabulary.len() + 4 * BUCKETS);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(vocabulary.len() as u32).to_le_bytes());
        b.extend_from_slice(&(BUCKETS as u32).to_le_bytes());
        for h in &vocabulary {
            b.extend_from_slice(&h.to_le_bytes());
        }
        for w in &self.weights {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&self.bias.to_le_bytes());
        b.extend_from_slice(&self.threshold.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<NameModel, ModelError> {
        let bad = |m: &str| ModelError::new(format!("names model: {m}"));
        let rest = b
            .strip_prefix(&MAGIC[..])
            .ok_or_else(|| bad("not a names model"))?;
        let u32_at = |b: &[u8], at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
        };
        let words = u32_at(rest, 0).ok_or_else(|| bad("truncated"))? as usize;
        let buckets = u32_at(rest, 4).ok_or_else(|| bad("truncated"))? as usize;
        if buckets != BUCKETS {
            return Err(bad(&format!("{buckets} buckets, expected {BUCKETS}")));
        }
        let want = 8 + 8 * words + 4 * buckets + 8;
        if rest.len() != want {
            return Err(bad(&format!("{} bytes, expected {want}", rest.len())));
        }
        let vocabulary: Vec<u64> = rest[8..8 + 8 * words]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        if !vocabulary.windows(2).all(|w| w[0] < w[1]) {
            return Err(bad("vocabulary not sorted"));
        }
        let floats: Vec<f32> = rest[8 + 8 * words..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        if !floats.iter().all(|x| x.is_finite()) {
            return Err(bad("a weight is not a number"));
        }
        Ok(NameModel {
            known: vocabulary.into_iter().collect(),
            weights: floats[..buckets].to_vec(),
            bias: floats[buckets],
            threshold: floats[buckets + 1],
        })
    }
}

/// Reads labels of whether posts name a brand: `id<TAB>0 or 1<TAB>the name` a line (the name
/// may be empty). A malformed line is an error with its number.
pub fn parse_labels(text: &str) -> Result<HashMap<String, bool>, String> {
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut cols = line.trim_end_matches('\r').split('\t');
        let named = match (cols.next(), cols.next()) {
            (Some(id), Some("1")) => (id, true),
            (Some(id), Some("0")) => (id, false),
            _ => return Err(format!("line {}: expected id<TAB>0 or 1<TAB>name", n + 1)),
        };
        if out.insert(named.0.to_string(), named.1).is_some() {
            return Err(format!("line {}: {} labelled twice", n + 1, named.0));
        }
    }
    Ok(out)
}

/// One training or tuning post: its text, whether it names a brand, and whether it is a general
/// post that names none (one the budget counts).
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub names: bool,
    pub general: bool,
}

/// How [`train`] trains.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub epochs: u32,
    pub learning_rate: f32,
    pub l2: f32,
    /// The largest share of the dev split's general posts the threshold may flag.
    pub budget: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // 20, not 10, since 2026-12-06: across writers (`--cross-batches`, 77 batches) the
            // posts naming a brand flagged 0.722 -> 0.732 with general posts flagged 0.034 at both
            // (30 epochs: 0.736 / 0.035).
            epochs: 20,
            learning_rate: 0.5,
            l2: 1e-6,
            budget: 0.02,
        }
    }
}

/// What training measured on dev at the chosen threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuned {
    pub threshold: f32,
    /// Of the dev posts that name a brand, the share flagged.
    pub recall: f64,
    /// Of the dev posts flagged that are not general posts naming none, the share that name a
    /// brand.
    pub precision: f64,
    /// Of the dev split's general posts that name no brand, the share flagged.
    pub general_rate: f64,
}

/// Trains the model on `train`, with the known words of `vocabulary`, and sets its threshold on
/// `dev`: the lowest (in hundredths) that flags at most `budget` of dev's general posts.
/// Deterministic: the same inputs give the same model, byte for byte.
pub fn train(
    vocabulary: Vocabulary,
    train: &[Example],
    dev: &[Example],
    s: Settings,
) -> (NameModel, Tuned) {
    let mut m = NameModel {
        known: vocabulary.known(),
        weights: vec![0.0; BUCKETS],
        bias: 0.0,
        threshold: 0.5,
    };
    let encoded: Vec<(Vec<u32>, f32)> = train
        .iter()
        .map(|e| (m.features(&e.text), if e.names { 1.0 } else { 0.0 }))
        .collect();
    // A fixed shuffle an epoch, from the project's seeded generator.
    let n = encoded.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for epoch in 0..s.epochs {
        crate::lcg::shuffle(&mut order, &mut state);
        let rate = s.learning_rate / (1.0 + epoch as f32);
        for &k in &order {
            let (f, y) = &encoded[k];
            let norm = 1.0 / (f.len().max(1) as f32).sqrt();
            let p = m.probability_of(f);
            let g = (p - y) * rate;
            for &b in f {
                let w = &mut m.weights[b as usize];
                *w -= g * norm + rate * s.l2 * *w;
            }
            m.bias -= g;
        }
    }
    let p: Vec<(f32, &Example)> = dev.iter().map(|e| (m.probability(&e.text), e)).collect();
    let general = p.iter().filter(|(_, e)| e.general).count().max(1) as f64;
    let measure = |t: f32| {
        let flagged = |e: &&(f32, &Example)| e.0 >= t;
        let g = p.iter().filter(|e| e.1.general).filter(flagged).count() as f64;
        let named = p.iter().filter(|e| e.1.names).count().max(1) as f64;
        let tp = p.iter().filter(|e| e.1.names).filter(flagged).count() as f64;
        let fp = p
            .iter()
            .filter(|e| !e.1.names && !e.1.general)
            .filter(flagged)
            .count() as f64;
        Tuned {
            threshold: t,
            recall: tp / named,
            precision: tp / (tp + fp).max(1.0),
            general_rate: g / general,
        }
    };
    let tuned = (1..100)
        .map(|h| measure(h as f32 / 100.0))
        .find(|t| t.general_rate <= f64::from(s.budget))
        .unwrap_or_else(|| measure(0.99));
    m.threshold = tuned.threshold;
    (m, tuned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str, names: bool) -> Example {
        Example {
            text: text.into(),
            names,
            general: !names,
        }
    }

    fn toy() -> Vec<Example> {
        let brands = [
            "Zentrix", "quorbel", "Vallomy", "plinketo", "Drusova", "marvexa",
        ];
        let people = [
            "Aleksi",
            "Brunhilde",
            "Corwenna",
            "Dagomir",
            "Eulalie",
            "Fenwright",
        ];
        let mut out = Vec::new();
        for (k, (b, p)) in brands.iter().zip(&people).enumerate() {
            out.push(post(
                &format!("the {b} app crashed again, support useless"),
                true,
            ));
            out.push(post(
                &format!("switched to {b} last month, the bill is lower"),
                true,
            ));
            out.push(post(&format!("my {b} contract ends in june {k}"), true));
            out.push(post(&format!("{p} scored twice in the second half"), false));
            out.push(post(
                &format!("happy birthday to my sister {p} today"),
                false,
            ));
            out.push(post(
                &format!("{p} said the weather will turn on sunday"),
                false,
            ));
        }
        out
    }

    fn vocabulary() -> Vocabulary<'static> {
        Vocabulary {
            general: &[VOCAB, VOCAB],
            domain: &[DOMAIN, DOMAIN],
            names: &["Zentrix"],
            min_count: 2,
        }
    }

    /// The domain text teaches its own words, not its catalog's names.
    const DOMAIN: &str = "tariff broadband Zentrix";

    const VOCAB: &str = "the app crashed again support useless switched to last month bill is \
        lower my contract ends in june scored twice second half happy birthday sister today said \
        weather will turn on sunday a new phone";

    #[test]
    fn unknown_words_are_masked_and_known_ones_are_not() {
        let (m, _) = train(vocabulary(), &toy(), &toy(), Settings::default());
        let s = m.symbols("The Zentrix app, @help me");
        assert_eq!(s[0], START);
        assert_eq!(s[2], NAME_CAPITAL);
        assert_ne!(s[1], NAME_LOWER, "a known word stays itself");
        assert_eq!(s[3], m.symbols("app")[1]);
        assert!(s.contains(&HANDLE));
        assert_eq!(m.symbols("zentrix")[1], NAME_LOWER);
        assert_ne!(
            m.symbols("tariff")[1],
            NAME_LOWER,
            "the domain's words are known"
        );
        // Short unknown words and numbers are not names.
        assert!(!m.symbols("zq 2026").contains(&NAME_LOWER));
    }

    #[test]
    fn it_learns_how_a_brand_is_spoken_of_not_the_names() {
        let (m, tuned) = train(vocabulary(), &toy(), &toy(), Settings::default());
        // Names it never read, in the two kinds of sentence.
        for brand in [
            "the Ostravel app crashed again",
            "my brixomo contract ends in june",
        ] {
            assert!(m.names(brand), "{brand}");
            assert!(m.probability(brand) > 0.5, "{brand}");
        }
        for person in [
            "Gwendolyn scored twice on sunday",
            "happy birthday Ottoline",
        ] {
            assert!(m.probability(person) < 0.5, "{person}");
        }
        assert!(tuned.general_rate <= 0.02, "{tuned:?}");
    }

    #[test]
    fn the_likeliest_name_is_the_masked_word_spoken_of_as_a_brand() {
        let (m, _) = train(vocabulary(), &toy(), &toy(), Settings::default());
        let text = "Gwendolyn says the Ostravel app crashed again";
        let (start, end) = m.likeliest_name(text).unwrap();
        assert_eq!(&text[start..end], "Ostravel");
        let text = "my brixomo contract ends in june, said Ottoline";
        let (start, end) = m.likeliest_name(text).unwrap();
        assert_eq!(&text[start..end], "brixomo");
        // Byte ranges hold after multi-byte characters.
        let text = "café ✈ the Ostravel app crashed again";
        let (start, end) = m.likeliest_name(text).unwrap();
        assert_eq!(&text[start..end], "Ostravel");
        assert_eq!(m.likeliest_name("the app crashed again"), None);
    }

    #[test]
    fn labels_parse_and_bad_lines_are_errors() {
        let l = parse_labels("s01-0001\t1\tZentrix\ns01-0002\t0\t\n").unwrap();
        assert_eq!(l.get("s01-0001"), Some(&true));
        assert_eq!(l.get("s01-0002"), Some(&false));
        assert!(parse_labels("s01-0001\tyes\tZentrix")
            .unwrap_err()
            .contains("line 1"));
        assert!(parse_labels("a\t1\tx\na\t0\t")
            .unwrap_err()
            .contains("twice"));
    }

    #[test]
    fn training_is_reproducible_and_the_file_reads_back() {
        let (a, _) = train(vocabulary(), &toy(), &toy(), Settings::default());
        let (b, _) = train(vocabulary(), &toy(), &toy(), Settings::default());
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_eq!(NameModel::from_bytes(&a.to_bytes()).unwrap(), a);
        let mut bytes = a.to_bytes();
        bytes.pop();
        assert!(NameModel::from_bytes(&bytes).is_err());
        assert!(NameModel::from_bytes(b"ESNAME0\0").is_err());
    }
}
